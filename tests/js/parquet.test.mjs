// `dps-cost export --format parquet` and `exportCost({format: "parquet"})` against the emulator:
// the file is read back by an independent reader (DuckDB, from the test venv .venv-focus that
// `setup --test` installs) and equals the CSV of the same export row for row; money is an exact
// DECIMAL(18,6), dates are UTC timestamps, JSON columns strings. Parquet to stdout (no --out) is
// INVALID_INPUT naming --out, before any request, with nothing written.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ACCOUNT_A, ACCOUNT_B, installedPackage, repoRoot, runAsync, secretsOf, assertNoSecret, startPackagedEmulator } from "./helpers.mjs";

const pkg = await installedPackage();
const lib = await pkg.import("dps-cost");
const PYTHON = join(repoRoot, ".venv-focus", "bin", "python");
const READBACK = join(repoRoot, "tests", "js", "parquet_readback.py");

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
  dir = mkdtempSync(join(tmpdir(), "dps-cost-parquet-"));
});
after(async () => {
  await emu?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const idOf = (a) => a.accountUuid.toUpperCase().replace(/-/g, "_");
const env2 = () => ({
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  [`DT_CLIENT_ID_${idOf(A)}`]: A.clientId,
  [`DT_CLIENT_SECRET_${idOf(A)}`]: A.clientSecret,
  [`DT_CLIENT_ID_${idOf(B)}`]: B.clientId,
  [`DT_CLIENT_SECRET_${idOf(B)}`]: B.clientSecret,
  DT_API_URL: config.apiUrl,
  DT_SSO_URL: config.ssoUrl,
});

async function cli(args, env = env2()) {
  const r = await runAsync(process.execPath, [pkg.bin, ...args], { env, cwd: pkg.projectDir, timeout: 120_000 });
  assertNoSecret(r.stdout + r.stderr, secrets, `dps-cost ${args.join(" ")}`);
  return r;
}

async function readBack(parquetFile, csvFile) {
  assert.ok(existsSync(PYTHON), `${PYTHON} is missing: run node scripts/setup.mjs --test`);
  const r = await runAsync(PYTHON, [READBACK, parquetFile, csvFile], { timeout: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const RULES = [
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

describe("export --format parquet", () => {
  const window = () => ["--account", `${A.accountUuid},${B.accountUuid}`, "--now", config.now, "--from", "2026-10-20", "--to", "2026-11-03"];

  test("read back by DuckDB, every export equals its CSV row for row, with exact DECIMAL money and UTC timestamps", async () => {
    const rulesFile = join(dir, "rules.json");
    (await import("node:fs")).writeFileSync(rulesFile, JSON.stringify(RULES));
    const cases = [
      ["1.3 cost", ["--focus-version", "1.3"]],
      ["1.2 cost", ["--focus-version", "1.2"]],
      ["1.4 cost", ["--focus-version", "1.4"]],
      ["1.3 allocated", ["--rules", rulesFile]],
      ["1.3 commitment", ["--dataset", "contract-commitment"]],
      ["1.4 commitment", ["--dataset", "contract-commitment", "--focus-version", "1.4"]],
    ];
    for (const [name, args] of cases) {
      const csvFile = join(dir, `${name.replace(/ /g, "-")}.csv`);
      const pqFile = join(dir, `${name.replace(/ /g, "-")}.parquet`);
      const c = await cli(["export", ...window(), ...args, "--out", csvFile]);
      assert.equal(c.code, 0, `${name}: ${c.stderr}`);
      const p = await cli(["export", ...window(), ...args, "--format", "parquet", "--out", pqFile, "--json"]);
      assert.equal(p.code, 0, `${name}: ${p.stderr}`);
      const summary = JSON.parse(p.stdout);
      assert.equal(summary.format, "parquet");
      assert.equal(readFileSync(pqFile).subarray(0, 4).toString(), "PAR1");
      const r = await readBack(pqFile, csvFile);
      assert.deepEqual(r.mismatches, [], name);
      assert.ok(r.rows > 0, name);
      assert.equal(r.rows, summary.rows, name);
      const typeOf = (col) => r.types[r.columns.indexOf(col)];
      if (name.includes("commitment")) {
        assert.equal(typeOf("ContractCommitmentCost"), "DECIMAL(18,6)");
        assert.equal(typeOf("x_RemainingCommitmentCost"), "DECIMAL(18,6)");
        assert.equal(typeOf("ContractCommitmentPeriodStart"), "TIMESTAMP WITH TIME ZONE");
      } else {
        for (const col of ["BilledCost", "EffectiveCost", "ListCost", "ContractedCost"]) assert.equal(typeOf(col), "DECIMAL(18,6)", `${name} ${col}`);
        for (const col of ["ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart", "BillingPeriodEnd"]) assert.equal(typeOf(col), "TIMESTAMP WITH TIME ZONE", `${name} ${col}`);
        assert.equal(typeOf("Tags"), "VARCHAR");
        assert.equal(typeOf("PricingQuantity"), "DOUBLE");
        if (!name.startsWith("1.2")) assert.equal(typeOf("ContractApplied"), "VARCHAR");
      }
    }
  });

  test("exportCost({format: 'parquet'}): the file's bytes, no text, the same rows", async () => {
    const cfg = { accounts: [A, B].map((a) => ({ accountUuid: a.accountUuid, clientId: a.clientId, clientSecret: a.clientSecret, name: a.name })), ssoUrl: config.ssoUrl, apiUrl: config.apiUrl, now: config.now, from: "2026-11-01", to: "2026-11-04" };
    const csv = await lib.exportCost(cfg);
    const pq = await lib.exportCost({ ...cfg, format: "parquet" });
    assert.equal(pq.format, "parquet");
    assert.ok(pq.parquet instanceof Uint8Array);
    assert.equal(pq.text, "");
    assert.equal(pq.parquetColumns, undefined);
    assert.equal(pq.rows, csv.rows);
    assert.deepEqual(pq.columns, csv.columns);
    assert.equal(Buffer.from(pq.parquet.subarray(-4)).toString(), "PAR1");
    // The pure functions write text only: Parquet is exportCost's.
    assert.throws(() => lib.focusExport({ lines: [], format: "parquet" }), (e) => e.code === "INVALID_INPUT" && e.field === "input.format");
  });

  test("parquet without --out: INVALID_INPUT naming --out, exit 2, before any request, nothing written", async () => {
    const before = readdirSync(dir).length;
    const r = await cli(["export", ...window(), "--format", "parquet"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /INVALID_INPUT \(--out\)/);
    assert.equal(r.stdout, "");
    assert.doesNotMatch(r.stderr, /GET |POST /, "no request");
    assert.equal(readdirSync(dir).length, before);
  });
});
