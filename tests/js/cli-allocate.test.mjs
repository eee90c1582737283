// `dps-cost allocate` from the installed package against the emulator: rules from Datadog (the
// emulator's routes) or from a file, the cost-center breakdown, exit codes, no secret printed.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { ACCOUNT_A, NOW, assertNoSecret, installedPackage, runAsync, secretsOf, startPackagedEmulator } from "./helpers.mjs";

const pkg = await installedPackage();
let emu;
let env;
before(async () => {
  emu = await startPackagedEmulator();
  const c = emu.config;
  const a = c.accounts.find((x) => x.accountUuid === ACCOUNT_A);
  env = {
    PATH: process.env.PATH,
    DT_ACCOUNT_UUID: a.accountUuid,
    DT_CLIENT_ID: a.clientId,
    DT_CLIENT_SECRET: a.clientSecret,
    DT_SSO_URL: c.ssoUrl,
    DT_API_URL: c.apiUrl,
    DD_API_URL: c.datadog.baseUrl,
    DD_API_KEY: c.datadog.apiKey,
    DD_APP_KEY: c.datadog.applicationKey,
  };
});
after(() => emu?.close());

const cli = (args, e = env) => runAsync(process.execPath, [pkg.bin, "allocate", "--now", NOW, ...args], { env: e, cwd: pkg.projectDir, timeout: 60_000 });
const secrets = () => [...secretsOf(emu.config), emu.config.datadog.apiKey, emu.config.datadog.applicationKey];

test("rules from Datadog, cost-center breakdown, --json: conserved to the micro-unit", async () => {
  const r = await cli(["--breakdown", "costcenter", "--tag", "abc12345:team=shop", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  for (const t of Object.values(result.totals)) assert.equal(t.outputMicros, t.inputMicros);
  assert.deepEqual(result.rules.map((x) => x.method), ["percent", "proportional", "even"]);
  assert.ok(result.lines.some((l) => l.tags.team === "shop" && l.tags.costcenter));
  assertNoSecret(r.stdout + r.stderr, secrets(), "the CLI output");
});

test("rules from a file; the readable table says conserved", async () => {
  const dir = mkdtempSync(join(tmpdir(), "dps-rules-"));
  const file = join(dir, "rules.json");
  writeFileSync(file, JSON.stringify([{ id: "7", type: "arbitrary_rule", attributes: {
    rule_name: "all-logs-60-40", provider: ["dynatrace"], type: "shared", enabled: true, order_id: 1,
    costs_to_allocate: [{ condition: "like", tag: "capability", value: "LOG_*" }],
    strategy: { method: "percent", allocated_by: [
      { allocated_tags: [{ key: "team", value: "a" }], percentage: 0.6 },
      { allocated_tags: [{ key: "team", value: "b" }], percentage: 0.4 }] } } }]));
  const r = await cli(["--rules", file]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /all-logs-60-40\s+percent/);
  assert.match(r.stdout, /\(conserved\)/);
});

test("usage errors exit 2 before any request; an invalid rule exits 1 with RULE_INVALID", async () => {
  const { DD_API_KEY: _k, ...noKeys } = env;
  for (const [args, e, pattern] of [
    [[], noKeys, /--rules <file>.*DD_API_KEY/],
    [["--rules", "/nonexistent/rules.json"], env, /cannot read/],
    [["--breakdown", "team"], env, /costcenter or product/],
    [["--tag", "nonsense"], env, /<environment>:<key>=<value>/],
  ]) {
    const r = await cli(args, e);
    assert.equal(r.code, 2, `${args}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
  }
  const dir = mkdtempSync(join(tmpdir(), "dps-rules-"));
  const file = join(dir, "bad.json");
  writeFileSync(file, JSON.stringify({ data: [{ id: "1", type: "arbitrary_rule", attributes: { rule_name: "x", provider: ["dynatrace"], type: "shared", enabled: true,
    costs_to_allocate: [{ condition: "is", tag: "capability", value: "X" }], strategy: { method: "percent", allocated_by: [{ allocated_tags: [{ key: "t", value: "v" }], percentage: 1.5 }] } } }] }));
  const r = await cli(["--rules", file]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /RULE_INVALID/);
  assertNoSecret(r.stdout + r.stderr, secrets(), "the CLI output");
});
