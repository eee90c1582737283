// The installed package's web entry in headless Chromium (Debian's, driven by playwright-core):
// a page imports "dps-cost" (import map → web.js), syncs against the emulator (CORS) and shows
// the summary. The screenshot goes to test-results/.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize, sep } from "node:path";
import { after, before, test } from "node:test";
import { NOW, assertNoSecret, installedPackage, repoRoot, secretsOf, startPackagedEmulator, storedEvents } from "./helpers.mjs";

export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
// TOOLCHAIN.md: the flags Debian's Chromium needs here (playwright adds --headless itself).
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".ts": "text/plain; charset=utf-8",
  ".md": "text/plain; charset=utf-8",
};

/** Serves the test page at /, the emulator config at /config.json and the package at /pkg/. */
function staticServer(pkgDir, config) {
  const page = join(repoRoot, "tests", "js", "browser", "index.html");
  const server = createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    const send = (status, type, body) => {
      res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
      res.end(body);
    };
    if (path === "/" || path === "/index.html") return send(200, MIME[".html"], readFileSync(page));
    if (path === "/config.json") return send(200, MIME[".json"], JSON.stringify({ ...config, now: NOW }));
    if (path === "/favicon.ico") return send(204, "text/plain", "");
    if (path.startsWith("/pkg/")) {
      const file = normalize(join(pkgDir, decodeURIComponent(path.slice(5))));
      if (file.startsWith(pkgDir + sep) && existsSync(file)) {
        return send(200, MIME[extname(file)] ?? "application/octet-stream", readFileSync(file));
      }
    }
    send(404, "text/plain", `not found: ${path}`);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

let emu;
let server;
let context;
let profile;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run \`node scripts/setup.mjs --test\``);
  const pkg = await installedPackage();
  emu = await startPackagedEmulator();
  server = await staticServer(pkg.pkgDir, emu.config);
  const { chromium } = await import("playwright-core");
  profile = mkdtempSync(join(tmpdir(), "dps-cost-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
});

after(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await new Promise((r) => (server ? server.close(r) : r()));
  await emu?.close();
});

test("the web entry syncs against the emulator and renders the summary", async () => {
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`);
  });
  const url = `http://127.0.0.1:${server.address().port}/`;
  await page.goto(url);
  await page.waitForSelector('#status:is([data-state="done"], [data-state="error"])', { timeout: 60_000 });

  mkdirSync(join(repoRoot, "test-results"), { recursive: true });
  await page.screenshot({ path: join(repoRoot, "test-results", "browser-sync.png"), fullPage: true });

  const state = await page.getAttribute("#status", "data-state");
  const result = JSON.parse(await page.textContent("#result"));
  assert.equal(state, "done", JSON.stringify(result));
  assert.equal(result.ok, true);
  assert.equal(result.guard, false);
  assert.equal(result.accounts.length, 2);
  for (const a of result.accounts) {
    assert.equal(a.ok, true);
    assert.ok(a.costDays > 30);
  }
  assert.equal(result.events.accepted, result.events.built);
  assert.equal(result.events.rejected, 0);
  assert.equal((await storedEvents(emu)).length, result.events.built, "the emulator stored every event");

  const version = await page.textContent("#version");
  const pkg = await installedPackage();
  assert.equal(version, JSON.parse(readFileSync(join(pkg.pkgDir, "package.json"), "utf8")).version);
  const shown = await page.textContent("body");
  assertNoSecret(shown, secretsOf(emu.config).slice(), "the page");
  assert.match(shown, /ACME Global/);
  assert.deepEqual(problems, [], "no console errors or warnings (e.g. a wrong wasm MIME type)");
  await page.close();
});
