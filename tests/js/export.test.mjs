// `dps-cost export` and the library's exportCost / focusExport / reportData / forecastSpend
// against the emulator: the FOCUS file passes the column-metadata check (every FOCUS 1.2 / 1.3 / 1.4
// column, its type, format and nulls), its money adds up exactly to the API's, the formats agree,
// the report's figures agree with the API's daily cost, and failures leave no file behind.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ACCOUNT_A, ACCOUNT_B, installedPackage, repoRoot, runAsync, secretsOf, assertNoSecret, startPackagedEmulator } from "./helpers.mjs";

const pkg = await installedPackage();
const lib = await pkg.import("dps-cost");
const META = JSON.parse(readFileSync(join(repoRoot, "tests", "fixtures", "focus", "focus_1_2_columns.json"), "utf8")).columns;
const metaOf = (file) => JSON.parse(readFileSync(join(repoRoot, "tests", "fixtures", "focus", file), "utf8")).columns;

let emu;
let config;
let A;
let B;
let dir;
let secrets;

before(async () => {
  emu = await startPackagedEmulator();
  config = emu.config;
  secrets = secretsOf(config);
  A = config.accounts.find((a) => a.accountUuid === ACCOUNT_A);
  B = config.accounts.find((a) => a.accountUuid === ACCOUNT_B);
  dir = mkdtempSync(join(tmpdir(), "dps-cost-export-"));
});
after(async () => {
  await emu?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const accountOf = (a) => ({ accountUuid: a.accountUuid, clientId: a.clientId, clientSecret: a.clientSecret, name: a.name });
const base = () => ({ accounts: [accountOf(A), accountOf(B)], ssoUrl: config.ssoUrl, apiUrl: config.apiUrl, now: config.now });

const envOf = (a) => ({
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  DT_CLIENT_ID: a.clientId,
  DT_CLIENT_SECRET: a.clientSecret,
  DT_API_URL: config.apiUrl,
  DT_SSO_URL: config.ssoUrl,
});

async function cli(args, env = envOf(A)) {
  const r = await runAsync(process.execPath, [pkg.bin, ...args], { env, cwd: pkg.projectDir, timeout: 120_000 });
  assertNoSecret(r.stdout + r.stderr, secrets, `dps-cost ${args.join(" ")}`);
  return r;
}

/** RFC 4180 with CRLF records. */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\r") {
      assert.equal(text[i + 1], "\n", "CRLF");
      i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += c;
  }
  assert.equal(row.length + field.length, 0, "the file ends with CRLF");
  return rows;
}

const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const DECIMAL = /^-?\d+\.\d+$/;
const UNIT = /^[A-Z0-9][A-Za-z0-9]*([- ][A-Z0-9][A-Za-z0-9]*)*$/;
const ALLOWED = {
  ChargeCategory: ["Usage", "Purchase", "Tax", "Credit", "Adjustment"],
  ChargeClass: ["Correction"],
  ChargeFrequency: ["One-Time", "Recurring", "Usage-Based"],
  ServiceCategory: ["Management and Governance", "Other"],
  ServiceSubcategory: ["Observability"],
};

/** Every metadata column: present; each value of its type and format; null only if allowed. */
function checkFocus(header, rows) {
  assert.equal(META.length, 57);
  let cells = 0;
  for (const col of META) {
    const i = header.indexOf(col.column_id);
    assert.ok(i >= 0, `column ${col.column_id} is missing`);
    const format = col.value_format.toLowerCase().replace(/[- ]/g, "");
    for (const [n, row] of rows.entries()) {
      const v = row[i];
      const at = `row ${n} ${col.column_id}`;
      if (v === "" || v === null) {
        assert.ok(col.allows_nulls, `${at}: null where the column allows none`);
        continue;
      }
      cells++;
      if (col.data_type === "Decimal") assert.match(String(v), DECIMAL, at);
      else if (col.data_type === "Date/Time") assert.match(v, DATETIME, at);
      else if (col.data_type === "JSON") {
        const o = typeof v === "string" ? JSON.parse(v) : v;
        assert.equal(typeof o, "object", at);
        for (const x of Object.values(o)) assert.ok(x === null || typeof x !== "object", `${at}: KeyValueFormat is flat`);
      } else {
        assert.equal(typeof v, "string", at);
        if (format === "currencyformat") assert.match(v, /^[A-Z]{3}$/, at);
        if (format.startsWith("unitformat")) assert.match(v, UNIT, at);
        if (format === "allowedvalues") assert.ok(ALLOWED[col.column_id]?.includes(v), `${at}: ${v} is not allowed`);
      }
    }
  }
  return cells;
}

/** Decimal text → integer micro-units (exact). */
function micros(s) {
  const neg = s.startsWith("-");
  const [int, frac = ""] = s.replace("-", "").split(".");
  const v = BigInt(int) * 1_000_000n + BigInt(`${frac}000000`.slice(0, 6));
  return neg ? -v : v;
}
const microsOf = (n) => micros(n.toFixed(6));
/** A JS number's shortest decimal form in 10⁻¹² units (exact for the API's 15-digit values). */
function picos(n) {
  const t = String(n);
  assert.ok(!/e/i.test(t), `plain decimal expected, got ${t}`);
  const neg = t.startsWith("-");
  const [int, frac = ""] = t.replace("-", "").split(".");
  const v = BigInt(int) * 10n ** 12n + BigInt(`${frac}000000000000`.slice(0, 12));
  return neg ? -v : v;
}
/** 10⁻¹² units → micro-units, half away from zero. */
const picosToMicros = (p) => (p >= 0n ? (p + 500_000n) / 1_000_000n : -((-p + 500_000n) / 1_000_000n));

describe("dps-cost export --format focus", () => {
  let file;
  let header;
  let rows;
  before(async () => {
    file = join(dir, "focus.csv");
    const r = await cli(["export", "--account", `${A.accountUuid},${B.accountUuid}`, "--now", config.now, "--from", "2026-10-20", "--to", "2026-11-03", "--out", file, "--json"], {
      ...envOf(A),
      [`DT_CLIENT_ID_${B.accountUuid.toUpperCase().replace(/-/g, "_")}`]: B.clientId,
      [`DT_CLIENT_SECRET_${B.accountUuid.toUpperCase().replace(/-/g, "_")}`]: B.clientSecret,
    });
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.format, "focus");
    [header, ...rows] = parseCsv(readFileSync(file, "utf8"));
    assert.equal(summary.rows, rows.length);
    assert.deepEqual(summary.columns, header);
  });

  test("every FOCUS 1.2 column is present, typed and formatted; nulls only where allowed", () => {
    // A: 2 environments, B: 1; 8 capabilities; 14 days.
    assert.equal(rows.length, 3 * 8 * 14);
    const cells = checkFocus(header, rows);
    assert.ok(cells >= rows.length * 28, `${cells} cells checked`);
  });

  test("one day per row, in its calendar month; both currencies; usage in UnitFormat", () => {
    const col = (name) => header.indexOf(name);
    for (const r of rows) {
      const start = Date.parse(r[col("ChargePeriodStart")]);
      assert.equal(Date.parse(r[col("ChargePeriodEnd")]) - start, 86_400_000);
      const d = new Date(start);
      assert.equal(r[col("BillingPeriodStart")], new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)).toISOString().replace(".000", ""));
      assert.equal(r[col("BillingPeriodEnd")], new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)).toISOString().replace(".000", ""));
      assert.ok(Number(r[col("PricingQuantity")]) > 0);
    }
    assert.deepEqual([...new Set(rows.map((r) => r[col("BillingCurrency")]))].sort(), ["EUR", "USD"]);
    assert.ok(rows.some((r) => r[col("PricingUnit")] === "GiB-Hours"));
    assert.deepEqual([...new Set(rows.map((r) => r[col("SubAccountName")]))].sort(), ["Production", "Production EU", "Staging"]);
  });

  test("BilledCost adds up to the API's per-environment cost to the micro-unit", async () => {
    const client = new lib.DpsClient({ accountUuid: A.accountUuid, clientId: A.clientId, clientSecret: A.clientSecret, ssoUrl: config.ssoUrl, apiUrl: config.apiUrl });
    try {
      const sub = await client.activeSubscription();
      const envs = await client.environmentCost(sub.uuid, { startTime: "2026-10-20T00:00:00Z", endTime: "2026-11-03T00:00:00Z" });
      let want = 0n;
      for (const e of envs) for (const r of e.records) want += microsOf(r.value);
      const i = header.indexOf("BilledCost");
      const acct = header.indexOf("BillingAccountId");
      const got = rows.filter((r) => r[acct] === A.accountUuid).reduce((s, r) => s + micros(r[i]), 0n);
      assert.equal(got, want);
    } finally {
      client.free();
    }
  });
});

describe("export formats and failures", () => {
  test("focus-json, csv and json carry the same rows as the FOCUS CSV", async () => {
    const cfg = { ...base(), from: "2026-11-01", to: "2026-11-04" };
    const focus = await lib.exportCost(cfg);
    const focusJson = await lib.exportCost({ ...cfg, format: "focus-json" });
    const plain = await lib.exportCost({ ...cfg, format: "json" });
    const plainCsv = await lib.exportCost({ ...cfg, format: "csv" });
    const [header, ...rows] = parseCsv(focus.text);
    const objects = JSON.parse(focusJson.text);
    assert.equal(objects.length, rows.length);
    checkFocus(focusJson.columns, objects.map((o) => focusJson.columns.map((c) => (o[c] === null ? "" : typeof o[c] === "number" ? String(o[c]) : o[c]))));
    const table = JSON.parse(plain.text);
    assert.deepEqual(plain.columns, ["date", "accountUuid", "accountName", "subscriptionUuid", "environmentId", "environmentName", "capabilityKey", "capabilityName", "cost", "currency", "usage", "unit", "tags"]);
    assert.equal(table.length, rows.length);
    const [plainHeader, ...plainRows] = parseCsv(plainCsv.text);
    assert.deepEqual(plainHeader, plain.columns);
    for (const [n, r] of rows.entries()) {
      assert.equal(String(table[n].cost), String(Number(r[header.indexOf("BilledCost")])));
      assert.equal(plainRows[n][plainHeader.indexOf("cost")], r[header.indexOf("BilledCost")]);
      assert.equal(table[n].date, r[header.indexOf("ChargePeriodStart")].slice(0, 10));
      assert.equal(table[n].capabilityKey, r[header.indexOf("x_CapabilityKey")]);
    }
  });

  test("--rules allocates first: FOCUS 1.3 Allocated* columns, ratios of an origin sum to 1, money unchanged", async () => {
    const rules = [
      {
        id: "42",
        type: "arbitrary_rule",
        attributes: {
          rule_name: "logs by team",
          provider: ["dynatrace"],
          type: "shared",
          enabled: true,
          order_id: 1,
          costs_to_allocate: [{ condition: "is", tag: "capability", value: "LOG_MANAGEMENT_INGEST" }],
          strategy: { method: "percent", allocated_by: [{ allocated_tags: [{ key: "team", value: "web" }], percentage: 0.6 }, { allocated_tags: [{ key: "team", value: "data" }], percentage: 0.4 }] },
        },
      },
    ];
    const cfg = { ...base(), accounts: [accountOf(A)], from: "2026-11-01", to: "2026-11-03" };
    const plain = await lib.exportCost(cfg);
    const allocated = await lib.exportCost({ ...cfg, rules });
    const [h0, ...r0] = parseCsv(plain.text);
    const [h1, ...r1] = parseCsv(allocated.text);
    for (const c of ["AllocatedMethodId", "AllocatedMethodDetails", "AllocatedResourceId", "AllocatedResourceName", "AllocatedTags"]) assert.ok(h1.includes(c), c);
    checkFocus(h1, r1);
    const sum = (h, rows) => rows.reduce((s, r) => s + micros(r[h.indexOf("BilledCost")]), 0n);
    assert.equal(sum(h1, r1), sum(h0, r0));
    assert.equal(r1.length, r0.length + 2 * 2 * 1, "2 environments × 2 days of log ingest split in two");
    const ratio = new Map();
    for (const r of r1) {
      const d = r[h1.indexOf("AllocatedMethodDetails")];
      if (!d) continue;
      assert.equal(r[h1.indexOf("AllocatedMethodId")], "42");
      const e = JSON.parse(d).Elements[0];
      ratio.set(e.x_SourceIndex, (ratio.get(e.x_SourceIndex) ?? 0) + e.AllocatedRatio);
    }
    assert.equal(ratio.size, 4);
    for (const v of ratio.values()) assert.ok(Math.abs(v - 1) < 1e-9);
  });

  test("a failing account fails the export and leaves no file", async () => {
    const file = join(dir, "never.csv");
    const r = await cli(["export", "--account", A.accountUuid, "--now", config.now, "--out", file], { ...envOf(A), DT_CLIENT_SECRET: `${A.clientSecret.slice(0, -3)}bad` });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /AUTH_INVALID_CLIENT|AUTH_FAILED|UNAUTHORIZED/);
    assert.equal(existsSync(file), false);
    assert.deepEqual(
      (await import("node:fs")).readdirSync(dir).filter((f) => f.includes("never")),
      [],
      "no temp file either",
    );
  });

  test("usage errors exit 2 before any request", async () => {
    for (const args of [
      ["export", "--format", "xlsx"],
      ["export", "--from", "2026-11-05", "--to", "2026-11-01"],
      ["export", "--from", "2026-02-30"],
      ["export", "--json"],
      ["export", "--window-days", "0"],
    ]) {
      const r = await cli([...args, "--account", A.accountUuid]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stdout, "");
    }
    await assert.rejects(lib.exportCost({ ...base(), format: "xlsx" }), (e) => e.code === "INVALID_INPUT" && e.field === "format");
    await assert.rejects(lib.exportCost({ ...base(), from: "2026-11-05", to: "2026-11-01" }), (e) => e.code === "INVALID_INPUT" && e.field === "to");
  });

  test("dps-cost export --help and help export describe the formats", async () => {
    for (const args of [["export", "--help"], ["help", "export"]]) {
      const r = await cli(args);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /focus-json/);
    }
  });
});

describe("reportData and forecastSpend", () => {
  test("figures agree with the API's daily cost and the charts with each other", async () => {
    const r = await lib.reportData({ ...base(), windowDays: 28 });
    assert.equal(r.schemaVersion, 1);
    assert.equal(r.accounts.length, 2);
    assert.equal(r.currency, "USD");
    assert.ok(r.warnings.some((w) => w.includes("EUR")));
    const client = new lib.DpsClient({ accountUuid: A.accountUuid, clientId: A.clientId, clientSecret: A.clientSecret, ssoUrl: config.ssoUrl, apiUrl: config.apiUrl });
    try {
      const sub = await client.activeSubscription();
      const daily = await client.dailyCost(sub.uuid);
      const a = r.accounts.find((x) => x.accountUuid === A.accountUuid);
      const inPeriod = daily.filter((d) => d.startTime.slice(0, 10) >= a.periodStart && d.startTime.slice(0, 10) <= r.asOf);
      // The exact sum of the API's values (not of rounded ones), to the micro-unit.
      const want = picosToMicros(inPeriod.reduce((s, d) => s + picos(d.value), 0n));
      assert.equal(microsOf(a.figures.costToDate), want);
      assert.equal(a.burnUp.actual.at(-1).cumulative, a.figures.costToDate);
      assert.equal(a.burnUp.forecast.length, a.figures.daysLeft);
      assert.equal(a.burnUp.forecast.at(-1).median, a.figures.forecastPeriodEnd.median);
      const f = a.figures;
      assert.ok(f.forecastPeriodEnd.lower <= f.forecastPeriodEnd.median && f.forecastPeriodEnd.median <= f.forecastPeriodEnd.upper);
      assert.ok(f.dynatraceForecast && f.dynatraceForecast.median > 0, "the emulator's /forecast answered");
      // The emulator's costs grow: our forecast lies above the straight line.
      assert.ok(f.forecastPeriodEnd.median > f.straightLinePeriodEnd);
    } finally {
      client.free();
    }
    for (const chart of [r.charts.dailyByCapability, r.charts.dailyByEnvironment, r.charts.dailyByAccount]) {
      assert.equal(chart.dates.length, 28);
      assert.equal(chart.dates.at(-1), r.asOf);
      chart.total.forEach((t, i) => assert.ok(Math.abs(chart.series.reduce((s, x) => s + x.values[i], 0) - t) < 1e-6));
    }
    assert.equal(r.charts.allocation, null);
    assertNoSecret(JSON.stringify(r), secrets, "reportData result");
  });

  test("forecastSpend recovers a weekly pattern with a trend and refuses bad input with the field", () => {
    const week = [1.1, 1.1, 1.1, 1.1, 1.1, 0.75, 0.75]; // from a Monday
    const history = Array.from({ length: 98 }, (_, t) => (200 + t) * week[t % 7]);
    const f = lib.forecastSpend({ history, firstDate: "2026-01-05", horizon: 14 });
    for (let h = 0; h < 14; h++) {
      const t = 98 + h;
      assert.ok(Math.abs(f.daily[h] - (200 + t) * week[t % 7]) < 1e-6, `day ${t}`);
    }
    assert.equal(f.cumulative.length, 14);
    // The model says what it chose: a noise-free trend is the robust trend alone, no level
    // shift, no day-of-month pattern, checked on its own history.
    assert.equal(f.model.kind, "robust trend");
    assert.deepEqual(f.model.weights, [{ kind: "robust trend", weight: 1 }]);
    assert.equal(f.model.changePoint, null);
    assert.deepEqual(f.model.monthDayFactors, Array(31).fill(1));
    assert.ok(f.model.cvOrigins >= 4, `${f.model.cvOrigins}`);
    // A short history: the documented fallback (mean, ±50 %), never a confident band.
    const s = lib.forecastSpend({ history: [10, 12, 14], firstDate: "2026-01-05", horizon: 2 });
    assert.equal(s.model.kind, "short history: mean");
    assert.deepEqual(s.cumulative, [12, 24]);
    assert.deepEqual(s.lower, [6, 12]);
    assert.deepEqual(s.upper, [18, 36]);
    // A Float64Array (the fast path) gives the same forecast and the same checks.
    // (Within 1e-9: the JSON path may read a 17-digit number 1 ULP off, see fuzz/RESULTS.md.)
    const g = lib.forecastSpend({ history: Float64Array.from(history), firstDate: "2026-01-05", horizon: 14 });
    for (const k of ["daily", "cumulative", "lower", "upper"]) g[k].forEach((v, i) => assert.ok(Math.abs(v - f[k][i]) <= 1e-9 * Math.abs(f[k][i]), `${k}[${i}]`));
    assert.throws(() => lib.forecastSpend({ history: Float64Array.from([1, Number.NaN]), firstDate: "2026-01-05", horizon: 1 }), (e) => e.code === "INVALID_INPUT" && e.field === "input.history[1]");
    assert.throws(() => lib.forecastSpend({ firstDate: "2026-01-05", horizon: 1 }), (e) => e.code === "INVALID_INPUT" && e.field === "input.history");
    assert.throws(() => lib.forecastSpend({ history: [1, Number.NaN], firstDate: "2026-01-05", horizon: 1 }), (e) => e.code === "INVALID_INPUT" && /history/.test(e.field));
    assert.throws(() => lib.forecastSpend({ history: [1], firstDate: "2026-02-30", horizon: 1 }), (e) => e.code === "INVALID_INPUT" && e.field === "input.firstDate");
    assert.throws(() => lib.forecastSpend({ history: [1], firstDate: "2026-01-05", horizon: -1 }), (e) => e.code === "INVALID_INPUT");
  });
});

/** Columns of `file`, exactly and in order, then only x_ columns; values typed; nulls only where the
 * metadata allows them (or the normative text, for the four columns it settles as not null). */
function checkVersion(header, rows, file, n) {
  const meta = metaOf(file);
  assert.equal(meta.length, n);
  assert.deepEqual(header.slice(0, n), meta.map((c) => c.column_id), `${file}: presence and order`);
  assert.ok(header.slice(n).every((c) => c.startsWith("x_")), header.slice(n).join());
  const NOT_NULL = ["ContractCommitmentId", "ContractId", "PricingCurrency", "PricingCurrencyEffectiveCost"];
  for (const [i, col] of meta.entries()) {
    const format = col.value_format.toLowerCase().replace(/[- ]/g, "");
    for (const [r, row] of rows.entries()) {
      const v = row[i];
      const at = `${file} row ${r} ${col.column_id}`;
      if (v === "") {
        assert.ok(col.allows_nulls === "True" && !NOT_NULL.includes(col.column_id), `${at}: null`);
        continue;
      }
      if (col.data_type === "Decimal") assert.match(v, DECIMAL, at);
      else if (col.data_type === "Date/Time") assert.match(v, DATETIME, at);
      else if (col.data_type === "JSON") assert.equal(typeof JSON.parse(v), "object", at);
      else if (format === "allowedvalues") assert.ok(col.allowed_values.includes(v), `${at}: ${v}`);
      else if (format === "currencyformat") assert.match(v, /^[A-Z]{3}$/, at);
    }
  }
}

describe("FOCUS versions and the Contract Commitment dataset", () => {
  const env2 = () => ({
    ...envOf(A),
    [`DT_CLIENT_ID_${B.accountUuid.toUpperCase().replace(/-/g, "_")}`]: B.clientId,
    [`DT_CLIENT_SECRET_${B.accountUuid.toUpperCase().replace(/-/g, "_")}`]: B.clientSecret,
  });
  const window = () => ["--now", config.now, "--from", "2026-10-20", "--to", "2026-11-03"];

  test("1.3 is the default; 1.2 and 1.4 on request; each passes its metadata", async () => {
    const cfg = { ...base(), from: "2026-11-01", to: "2026-11-04" };
    const v13 = await lib.exportCost(cfg);
    const v12 = await lib.exportCost({ ...cfg, focusVersion: "1.2" });
    const v14 = await lib.exportCost({ ...cfg, focusVersion: "1.4" });
    assert.equal(v13.focusVersion, "1.3");
    assert.equal(v13.dataset, "cost-and-usage");
    const [h12, ...r12] = parseCsv(v12.text);
    const [h13, ...r13] = parseCsv(v13.text);
    const [h14, ...r14] = parseCsv(v14.text);
    assert.equal(h12.length, 57 + 2);
    assert.deepEqual(h12.slice(0, 57), META.map((c) => c.column_id));
    checkVersion(h13, r13, "focus_1_3_columns.json", 65);
    checkVersion(h14, r14, "focus_1_4_columns.json", 65);
    assert.ok(!h14.includes("ProviderName") && !h14.includes("PublisherName"));
    assert.equal(r12.length, r13.length);
    assert.equal(r13.length, r14.length);
    for (const r of r13) {
      assert.equal(r[h13.indexOf("ServiceProviderName")], "Dynatrace");
      const ca = JSON.parse(r[h13.indexOf("ContractApplied")]);
      assert.deepEqual(Object.keys(ca.Elements[0]).sort(), ["ContractCommitmentAppliedCost", "ContractCommitmentAppliedQuantity", "ContractCommitmentAppliedUnit", "ContractCommitmentId", "ContractId"]);
      assert.equal(ca.Elements[0].ContractId, r[h13.indexOf("x_SubscriptionId")]);
    }
    // Money is the same in every version.
    const sum = (h, rows) => rows.reduce((s, r) => s + micros(r[h.indexOf("BilledCost")]), 0n);
    assert.equal(sum(h13, r13), sum(h12, r12));
    assert.equal(sum(h14, r14), sum(h12, r12));
  });

  test("--dataset contract-commitment: one row per term; the rows' applied cost adds up to x_AppliedCost exactly", async () => {
    for (const [v, n] of [["1.3", 13], ["1.4", 30]]) {
      const costFile = join(dir, `cost-${v}.csv`);
      const ccFile = join(dir, `cc-${v}.csv`);
      const args = ["export", "--account", `${A.accountUuid},${B.accountUuid}`, ...window(), "--focus-version", v];
      const r1 = await cli([...args, "--out", costFile], env2());
      assert.equal(r1.code, 0, r1.stderr);
      const r2 = await cli([...args, "--dataset", "contract-commitment", "--out", ccFile, "--json"], env2());
      assert.equal(r2.code, 0, r2.stderr);
      const summary = JSON.parse(r2.stdout);
      assert.equal(summary.dataset, "contract-commitment");
      const [hc, ...rc] = parseCsv(readFileSync(ccFile, "utf8"));
      checkVersion(hc, rc, `focus_1_${v.slice(2)}_contract_commitment_columns.json`, n);
      assert.equal(rc.length, 2, "one term per account's subscription");
      const [h, ...rows] = parseCsv(readFileSync(costFile, "utf8"));
      const applied = new Map();
      for (const r of rows) {
        const text = r[h.indexOf("ContractApplied")];
        if (!text) continue;
        const id = JSON.parse(text).Elements[0].ContractCommitmentId;
        const cost = /"ContractCommitmentAppliedCost":(-?[0-9.]+)/.exec(text)[1];
        applied.set(id, (applied.get(id) ?? 0n) + micros(cost));
      }
      for (const c of rc) {
        const id = c[hc.indexOf("ContractCommitmentId")];
        assert.equal(applied.get(id) ?? 0n, micros(c[hc.indexOf("x_AppliedCost")]), `${v} ${id}`);
        assert.equal(c[hc.indexOf("ContractCommitmentCategory")], "Spend");
      }
    }
  });

  test("unknown version or dataset: INVALID_INPUT naming the option, exit 2, nothing written", async () => {
    for (const [args, flag] of [
      [["--focus-version", "1.5"], "--focus-version"],
      [["--dataset", "invoices"], "--dataset"],
      [["--dataset", "contract-commitment", "--focus-version", "1.2"], "--dataset"],
    ]) {
      const file = join(dir, "bad-input.csv");
      const r = await cli(["export", "--account", A.accountUuid, ...args, "--out", file]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`INVALID_INPUT \\(${flag}\\)`));
      assert.equal(r.stdout, "");
      assert.equal(existsSync(file), false);
    }
    await assert.rejects(lib.exportCost({ ...base(), focusVersion: "2.0" }), (e) => e.code === "INVALID_INPUT" && e.field === "focusVersion");
    await assert.rejects(lib.exportCost({ ...base(), dataset: "x" }), (e) => e.code === "INVALID_INPUT" && e.field === "dataset");
  });

  test("an account without a name: one warning saying what FOCUS requires", async () => {
    const r = await lib.exportCost({ ...base(), accounts: [{ ...accountOf(A), name: undefined }], from: "2026-11-01", to: "2026-11-02" });
    const w = r.warnings.filter((x) => x.includes("BillingAccountName"));
    assert.equal(w.length, 1, r.warnings.join("\n"));
    assert.match(w[0], /MUST NOT be null/);
  });

  test("contractCommitmentExport: the pure dataset from terms and lines", () => {
    const lines = [{ date: "2026-03-02", cost: 60, currency: "EUR", tags: { account: "a", subscription: "s" } }, { date: "2026-03-03", cost: 60, currency: "EUR", tags: { account: "a", subscription: "s" } }];
    const commitments = [{ subscriptionUuid: "s", accountUuid: "a", start: "2026-01-01", end: "2026-12-31", budget: 100, currency: "EUR", consumedBefore: 10 }];
    const cc = lib.contractCommitmentExport({ commitments, lines, focusVersion: "1.4", now: "2026-03-04T00:00:00Z", format: "focus-json" });
    const [row] = JSON.parse(cc.text);
    assert.equal(row.x_AppliedCost, 90);
    assert.equal(row.ContractCommitmentLifecycleStatus, "Exhausted");
    const cost = lib.focusExport({ lines, commitments, format: "focus-json" });
    const applied = JSON.parse(cost.text).map((r) => r.ContractApplied?.Elements[0].ContractCommitmentAppliedCost ?? 0);
    assert.deepEqual(applied, [60, 30], "the crossing day applies the covered part only");
    assert.throws(() => lib.contractCommitmentExport({ commitments, now: "2026-03-04T00:00:00Z", focusVersion: "1.2" }), (e) => e.code === "INVALID_INPUT" && e.field === "input.focusVersion");
  });
});
