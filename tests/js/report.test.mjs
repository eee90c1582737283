// The HTML cost report from the installed package ("dps-cost/report", `dps-cost report`) in
// headless Chromium (Debian's, driven by playwright-core): every chart draws its data, the page
// makes no request at all, hostile names stay text, and the full-page screenshot
// (test-results/report.png) shows every chart's colours inside its box.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ACCOUNT_A, ACCOUNT_B, NOW, assertNoSecret, installedPackage, repoRoot, runAsync, secretsOf, startPackagedEmulator } from "./helpers.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
// TOOLCHAIN.md: the flags Debian's Chromium needs here (playwright adds --headless itself).
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];
const TIMEOUT = { timeout: 120_000 };
const RESULTS = join(repoRoot, "test-results");

const pkg = await installedPackage();
const report = await pkg.import("dps-cost/report");
const lib = await pkg.import("dps-cost");
const fixture = JSON.parse(readFileSync(join(repoRoot, "tests", "js", "fixtures", "report-sample.json"), "utf8"));

const chartIds = (data) => [
  ...data.accounts.map((a) => `chart-burnup-${a.accountUuid}`),
  "chart-daily-capability",
  "chart-daily-environment",
  "chart-daily-account",
  ...(data.charts.allocation ? ["chart-allocation"] : []),
];

let context;
let profile;
let decoder; // a blank page that decodes screenshots (the browser is the PNG decoder)

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run \`node scripts/setup.mjs --test\``);
  const { chromium } = await import("playwright-core");
  profile = mkdtempSync(join(tmpdir(), "dps-cost-report-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
    deviceScaleFactor: 1,
  });
  decoder = await context.newPage();
});

after(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/**
 * Opens `html` in a fresh page with every request blocked and recorded; waits for the charts.
 * Returns the page and what it saw: requests, dialogs, errors, and each chart's box.
 */
async function openReport(html) {
  const page = await context.newPage();
  const seen = { requests: [], dialogs: [], problems: [] };
  await page.route("**/*", (route) => {
    seen.requests.push(route.request().url());
    return route.abort("blockedbyclient");
  });
  page.on("request", (r) => seen.requests.push(r.url()));
  page.on("dialog", (d) => {
    seen.dialogs.push(d.message());
    return d.dismiss();
  });
  page.on("pageerror", (e) => seen.problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") seen.problems.push(`console ${m.type()}: ${m.text()}`);
  });
  await page.setContent(html, { waitUntil: "load" });
  await page.waitForSelector('#charts:not([data-state="pending"])', { timeout: 60_000 });
  const state = await page.getAttribute("#charts", "data-state");
  assert.equal(state, "done", `charts: ${await page.textContent("#charts")}`);
  const charts = await page.$$eval("[data-chart]", (els) =>
    els.map((e) => {
      const r = e.getBoundingClientRect();
      return {
        id: e.id,
        points: Number(e.getAttribute("data-points")),
        colors: (e.getAttribute("data-series-colors") || "").split(",").filter(Boolean),
        box: { x: Math.round(r.left + window.scrollX), y: Math.round(r.top + window.scrollY), w: Math.round(r.width), h: Math.round(r.height) },
      };
    }),
  );
  return { page, seen, charts };
}

/**
 * Per chart box of a PNG screenshot: pixels that differ from the box's background, and pixels
 * within a small distance of any of the chart's series colours (the data, not axes or text).
 */
async function pixelCounts(png, charts) {
  return decoder.evaluate(
    async ({ b64, charts }) => {
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const canvas = document.createElement("canvas");
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      const ctx = canvas.getContext("2d", { willReadFrequently: true });
      ctx.drawImage(img, 0, 0);
      const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
      return charts.map(({ id, box, colors }) => {
        const { data } = ctx.getImageData(box.x, box.y, box.w, box.h);
        const bg = [data[0], data[1], data[2]];
        const want = colors.map(rgb);
        let nonBackground = 0;
        let series = 0;
        const perColor = want.map(() => 0);
        for (let i = 0; i < data.length; i += 4) {
          const p = [data[i], data[i + 1], data[i + 2]];
          if (Math.max(...p.map((v, k) => Math.abs(v - bg[k]))) > 8) nonBackground++;
          want.forEach((c, j) => {
            if (Math.max(...p.map((v, k) => Math.abs(v - c[k]))) <= 24) {
              perColor[j]++;
              series++;
            }
          });
        }
        return { id, area: box.w * box.h, nonBackground, series, perColor, size: [canvas.width, canvas.height] };
      });
    },
    { b64: png.toString("base64"), charts },
  );
}

/** The checks every rendered report must pass; returns the pixel counts. */
async function assertReportDrawn(data, html, screenshotName) {
  const { page, seen, charts } = await openReport(html);
  try {
    assert.deepEqual(
      charts.map((c) => c.id),
      chartIds(data),
      "one chart per account burn-up, three daily charts, and the allocation chart when there is one",
    );
    for (const c of charts) {
      assert.ok(c.points > 0, `${c.id}: data-points=${c.points}`);
      assert.ok(c.box.w > 300 && c.box.h > 100, `${c.id}: box ${JSON.stringify(c.box)}`);
      assert.ok(c.colors.length > 0, `${c.id}: no series colours`);
    }
    mkdirSync(RESULTS, { recursive: true });
    const png = await page.screenshot({ path: join(RESULTS, screenshotName), fullPage: true });
    const counts = await pixelCounts(png, charts);
    for (const c of counts) {
      assert.ok(c.size[1] >= Math.max(...charts.map((x) => x.box.y + x.box.h)), "the full-page screenshot holds every chart");
      assert.ok(c.nonBackground > c.area * 0.02, `${c.id}: only ${c.nonBackground} of ${c.area} pixels differ from the background`);
      assert.ok(c.series > c.area * 0.002, `${c.id}: only ${c.series} of ${c.area} pixels have a series colour (${JSON.stringify(c.perColor)})`);
      assert.ok(c.perColor[0] > 50, `${c.id}: the first series' colour shows in ${c.perColor[0]} pixels`);
    }
    assert.deepEqual(seen.requests, [], "the report makes no request at all");
    assert.deepEqual(seen.dialogs, []);
    assert.deepEqual(seen.problems, [], "no page errors, console errors or warnings");
    return { page, counts };
  } catch (e) {
    await page.close();
    throw e;
  }
}

describe("renderReportHtml (dps-cost/report) with the sample ReportData", () => {
  test("the subpath export: renderer, charts, and no charting library in the wasm web entry", () => {
    for (const name of ["renderReportHtml", "renderCharts", "checkReportData", "jsonForScript", "escapeHtml"]) {
      assert.equal(typeof report[name], "function", name);
    }
    assert.match(report.CHART_JS_VERSION, /^4\.\d+\.\d+$/);
    assert.match(report.__resolved, /\/report\/render\.js$/);
    const web = readFileSync(join(pkg.pkgDir, "web.js"), "utf8") + readFileSync(join(pkg.pkgDir, "dps_cost.js"), "utf8");
    assert.doesNotMatch(web, /chart\.js|Chart\.js|chartjs/i);
    assert.ok(existsSync(join(pkg.pkgDir, "report.d.ts")));
  });

  test("one self-contained file: Chart.js inline with its licence header, no URL loaded, data as JSON", () => {
    const html = report.renderReportHtml(fixture);
    assert.ok(html.startsWith("<!doctype html>"));
    assert.match(html, /\/\*!\s*\n \* Chart\.js v4\.\d+\.\d+[\s\S]{0,120}Released under the MIT License/);
    assert.doesNotMatch(html, /<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=/i, "no external script, stylesheet or image");
    assert.doesNotMatch(html, /@import|@font-face/i);
    assert.equal(html.match(/<script\b/gi).length, 3, "library, data, drawing code");
    const json = /<script type="application\/json" id="dps-cost-report-data">([^<]*)<\/script>/.exec(html);
    assert.ok(json, "the data block");
    assert.deepEqual(JSON.parse(json[1]), fixture);
    assert.doesNotMatch(html, /\beval\s*\(|\bnew\s+Function\b/);
    assert.match(html, /\$1,250,000\.00/, "money with the currency and 2 decimals");
    assert.match(html, /\$1,104,822\.44/);
  });

  test("a reconciliation with budget.used shows the records' sum and first day, and the warning", () => {
    const data = structuredClone(fixture);
    const f = data.accounts[0].figures;
    f.reconciliation = { used: f.costToDate, recordsSum: 1234.5, difference: f.costToDate - 1234.5, firstDayCovered: "2026-06-24" };
    data.warnings = [...data.warnings, "account x: budget.used is … (records from 2026-06-24 on)"];
    const html = report.renderReportHtml(data);
    assert.match(html, /records: [^<]*1,234\.50[^<]* from 2026-06-24/);
    assert.match(html, /records from 2026-06-24 on/);
    const plain = report.renderReportHtml(fixture);
    assert.doesNotMatch(plain, /records: /);
  });

  test("rejects data of another shape with a typed error", () => {
    const bad = [
      { ...fixture, schemaVersion: 2 },
      { ...fixture, accounts: null },
      { ...fixture, charts: { ...fixture.charts, dailyByAccount: { dates: ["2026-11-01"], series: [{ key: "a", label: "a", values: [] }], total: [1] } } },
      null,
    ];
    for (const data of bad) {
      assert.throws(() => report.renderReportHtml(data), (e) => e instanceof Error && e.code === "REPORT_DATA_INVALID");
    }
  });

  test("jsonForScript escapes </script>, <!-- and U+2028/2029", () => {
    const s = report.jsonForScript({ a: "</script><!--\u2028\u2029&" });
    assert.doesNotMatch(s, /[<>&\u2028\u2029]/);
    assert.deepEqual(JSON.parse(s), { a: "</script><!--\u2028\u2029&" });
  });

  test("in Chromium: every chart drew its data, no request, screenshot test-results/report.png", TIMEOUT, async (t) => {
    const html = report.renderReportHtml(fixture);
    t.diagnostic(`report HTML: ${(Buffer.byteLength(html) / 1024).toFixed(1)} KiB`);
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, "report.html"), html);
    const { page, counts } = await assertReportDrawn(fixture, html, "report.png");
    // The key figures table: one column per account, the hand-made figures formatted.
    const heads = await page.$$eval("table.figures thead .account", (els) => els.map((e) => e.textContent));
    assert.deepEqual(heads, fixture.accounts.map((a) => a.accountName));
    const table = await page.textContent("table.figures");
    for (const want of ["$1,257,681.31", "$1,235,862.72 – $1,279,499.90", "$1,236,994.45", "$1,276,546.53", "2026-12-30", "88.4%", "not available"]) {
      assert.ok(table.includes(want), `key figures show ${want}`);
    }
    assert.match(await page.textContent(".warnings"), /HTTP 503/);
    for (const c of counts) t.diagnostic(`${c.id}: ${c.nonBackground} non-background, ${c.series} series-colour pixels of ${c.area} (${c.perColor.join("/")})`);
    // The burn-up draws actual, median and budget colours; the allocation its bars.
    const burnup = counts.find((c) => c.id === `chart-burnup-${fixture.accounts[0].accountUuid}`);
    assert.ok(burnup.perColor.every((n) => n > 50), `burn-up colours: ${JSON.stringify(burnup.perColor)}`);
    await page.close();
  });

  test("without allocation rules: a note instead of the allocation chart, the rest drawn", TIMEOUT, async () => {
    const data = structuredClone(fixture);
    data.charts.allocation = null;
    data.accounts = data.accounts.slice(0, 1);
    const { page } = await assertReportDrawn(data, report.renderReportHtml(data), "report-no-allocation.png");
    assert.equal(await page.$("#chart-allocation"), null);
    assert.match(await page.textContent("#charts"), /No allocation rules were given/);
    await page.close();
  });

  test("an empty daily chart has no data points, and the pixel check sees that", TIMEOUT, async () => {
    // The negative control of the checks above: a chart without data must not pass them.
    const data = structuredClone(fixture);
    data.charts.dailyByEnvironment = { dates: [], series: [], total: [] };
    const { page, seen, charts } = await openReport(report.renderReportHtml(data));
    const env = charts.find((c) => c.id === "chart-daily-environment");
    assert.equal(env.points, 0);
    assert.deepEqual(env.colors, []);
    const png = await page.screenshot({ fullPage: true });
    const [count] = await pixelCounts(png, [{ ...env, colors: ["#4e79a7"] }]);
    assert.ok(count.series < count.area * 0.002, `no bars drawn: ${count.series} pixels`);
    assert.deepEqual(seen.requests, []);
    await page.close();
  });

  test("without the page's Content-Security-Policy it still requests nothing", TIMEOUT, async () => {
    const html = report.renderReportHtml(fixture).replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, "");
    assert.doesNotMatch(html, /Content-Security-Policy/);
    const { page } = await assertReportDrawn(fixture, html, "report-no-csp.png");
    await page.close();
  });

  test("hostile names render as text and execute nothing", TIMEOUT, async () => {
    const EVIL = "</script><script>window.__pwned=1;alert(1)</script>";
    const data = structuredClone(fixture);
    data.accounts[0].accountName = EVIL;
    data.accounts[0].subscriptionName = "<img src=x onerror=window.__pwned=2>";
    data.accounts[1].accountName = "<!--<script>window.__pwned=3</script>\u2028\u2029 & 'q' \"dq\"";
    data.charts.dailyByCapability.series[0].label = EVIL;
    data.charts.dailyByAccount.series[0].label = EVIL;
    data.charts.allocation.items[0].destination = "</SCRIPT ><script>alert(4)</script>";
    data.charts.allocation.by = "<b>costcenter</b>";
    data.warnings = [EVIL];
    const html = report.renderReportHtml(data);
    assert.equal(html.match(/<script\b/gi).length, 3, "no script element was injected");
    assert.doesNotMatch(html, /<img\b/i);
    const { page } = await assertReportDrawn(data, html, "report-hostile.png");
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.equal(await page.$$eval("img", (els) => els.length), 0);
    assert.equal(await page.$$eval("script", (els) => els.length), 3);
    const heads = await page.$$eval("table.figures thead .account", (els) => els.map((e) => e.textContent));
    assert.deepEqual(heads, [data.accounts[0].accountName, data.accounts[1].accountName]);
    assert.equal(await page.textContent(".warnings li"), EVIL);
    assert.equal(await page.textContent(`figure:has(#chart-burnup-${data.accounts[0].accountUuid}) h3`), EVIL);
    assert.equal(await page.textContent("#charts section:last-child h2"), "Allocation by <b>costcenter</b>");
    const roundTrip = await page.evaluate(() => JSON.parse(document.getElementById("dps-cost-report-data").textContent));
    assert.deepEqual(roundTrip, data);
    await page.close();
  });
});

describe("dps-cost report (the CLI) against the emulator", () => {
  let emu;
  let dir;
  before(async () => {
    emu = await startPackagedEmulator();
    dir = mkdtempSync(join(tmpdir(), "dps-cost-report-"));
  });
  after(async () => {
    await emu?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const envFor = (extra = {}) => {
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, DT_API_URL: emu.config.apiUrl, DT_SSO_URL: emu.config.ssoUrl, ...extra };
    for (const a of emu.config.accounts) {
      const suffix = a.accountUuid.toUpperCase().replace(/[^A-Z0-9]/g, "_");
      env[`DT_CLIENT_ID_${suffix}`] = a.clientId;
      env[`DT_CLIENT_SECRET_${suffix}`] = a.clientSecret;
    }
    return env;
  };
  const cli = (args, env = envFor()) => runAsync(process.execPath, [pkg.bin, "report", ...args], { env, cwd: dir, timeout: 90_000 });
  const leftovers = () => readdirSync(dir).filter((f) => f.endsWith(".tmp"));

  test("usage errors exit 2 and write nothing", TIMEOUT, async () => {
    const cases = [
      [[], /missing --account/],
      [["--account", ACCOUNT_A], /missing --client-id/, { PATH: process.env.PATH }],
      [["--account", ACCOUNT_A, "--rules", join(dir, "missing.json")], /--rules: cannot read/],
      [["--account", ACCOUNT_A, "--bogus"], /Unknown option/],
    ];
    for (const [args, re, env] of cases) {
      const r = await cli(args, env ?? envFor());
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
    assert.deepEqual(readdirSync(dir), []);
  });

  test("the atomic write leaves nothing behind when it fails", async () => {
    const { writeFileAtomic } = await pkg.importFile("cli/report.js");
    const ok = join(dir, "atomic.html");
    writeFileAtomic(ok, "one");
    writeFileAtomic(ok, "two");
    assert.equal(readFileSync(ok, "utf8"), "two");
    mkdirSync(join(dir, "a-directory"));
    assert.throws(() => writeFileAtomic(join(dir, "a-directory"), "x"), (e) => e.code === "REPORT_WRITE_FAILED");
    assert.throws(() => writeFileAtomic(join(dir, "no-such-dir", "r.html"), "x"), (e) => e.code === "REPORT_WRITE_FAILED");
    assert.deepEqual(leftovers(), []);
    rmSync(ok);
    rmSync(join(dir, "a-directory"), { recursive: true });
  });

  const hasReportData = typeof lib.reportData === "function";
  test(
    "writes one HTML file whose charts all draw in Chromium; --json prints the same ReportData",
    { ...TIMEOUT, skip: hasReportData ? false : "reportData() is not exported by this build yet" },
    async () => {
      const args = ["--account", `${ACCOUNT_A},${ACCOUNT_B}`, "--now", NOW];
      const r = await cli([...args, "--out", "out.html"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /wrote out\.html: [\d.]+ KiB/);
      assertNoSecret(r.stdout + r.stderr, secretsOf(emu.config), "the CLI output");
      const html = readFileSync(join(dir, "out.html"), "utf8");
      assertNoSecret(html, secretsOf(emu.config), "the report");
      assert.deepEqual(leftovers(), []);
      const j = await cli([...args, "--json"]);
      assert.equal(j.code, 0, j.stderr);
      const data = JSON.parse(j.stdout);
      assert.equal(data.schemaVersion, 1);
      assert.deepEqual(
        data.accounts.map((a) => a.accountUuid).sort(),
        [ACCOUNT_A, ACCOUNT_B].sort(),
      );
      const { page } = await assertReportDrawn(data, html, "report-emulator.png");
      await page.close();
    },
  );
});
