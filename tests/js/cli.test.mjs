// The package's command line against the emulator: every command with --json (exit 0, exactly
// one JSON document, the library's data), readable output, --help, one failure per exit code,
// and a secret scan over the stdout and stderr of every run.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ACCOUNT_A, ACCOUNT_B, NOW, installedPackage, runAsync, secretsOf, startPackagedEmulator } from "./helpers.mjs";
import { Transcript, addFaults, clearFaults, clearRequestLog, requestLog, tapTokens } from "./support.mjs";

const pkg = await installedPackage();
const main = await pkg.import("dps-cost");

const T = new Transcript();
const TIMEOUT = { timeout: 60_000 };
const WINDOW = { startTime: "2026-10-19T00:00:00.000Z", endTime: "2026-11-23T00:00:00.000Z" };
const WRONG_SECRET = "dt0s02.EMUACCTA.0000000000000000000000000000000000000000000000000000000000000bad";

let emu;
let config;
let tap;
let A;
let B;
let lib; // a DpsClient of A, for the expected data
let active;

before(async () => {
  emu = await startPackagedEmulator();
  config = emu.config;
  tap = tapTokens(emu);
  A = config.accounts.find((a) => a.accountUuid === ACCOUNT_A);
  B = config.accounts.find((a) => a.accountUuid === ACCOUNT_B);
  lib = new main.DpsClient({ accountUuid: A.accountUuid, clientId: A.clientId, clientSecret: A.clientSecret, ssoUrl: config.ssoUrl, apiUrl: config.apiUrl });
  active = await lib.activeSubscription();
});
after(async () => {
  lib?.free();
  await emu?.close();
});

/** The environment of a CLI run for account `a` (only what it needs; the secret only here). */
const envOf = (a, extra = {}) => ({
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  DT_ACCOUNT_UUID: a.accountUuid,
  DT_CLIENT_ID: a.clientId,
  DT_CLIENT_SECRET: a.clientSecret,
  DT_API_URL: config.apiUrl,
  DT_SSO_URL: config.ssoUrl,
  ...extra,
});

/** Runs `dps-cost …args`; records its output for the secret scan. */
async function cli(args, env = envOf(A)) {
  const r = await runAsync(process.execPath, [pkg.bin, ...args], { env, cwd: pkg.projectDir, timeout: 60_000 });
  T.cli(args.join(" "), r);
  return r;
}

/** Runs with --json, expects exit 0 and exactly one JSON document; returns it. */
async function json(args, env) {
  const r = await cli([args[0], "--json", ...args.slice(1)], env);
  assert.equal(r.code, 0, `dps-cost ${args.join(" ")}: exit ${r.code}\n${r.stderr}`);
  let doc;
  assert.doesNotThrow(() => {
    doc = JSON.parse(r.stdout);
  }, `stdout of dps-cost ${args.join(" ")} is one JSON document`);
  assert.match(r.stderr, /^dps-cost \d+\.\d+\.\d+: /m, "progress on stderr");
  return doc;
}

describe("every command with --json: exit 0, one JSON document, the library's data", () => {
  test("subscriptions, forecast, events, rate-cards, environments", TIMEOUT, async () => {
    const [subs, forecast, events, budget, cards, envs] = await Promise.all([
      json(["subscriptions"]),
      json(["forecast"]),
      json(["events"]),
      json(["events", "--event-type", "budget", "--from", "2026-01-01", "--to", "2026-11-23T00:00:00Z"]),
      json(["rate-cards"]),
      json(["environments"]),
    ]);
    assert.deepEqual(subs, await lib.subscriptions());
    assert.deepEqual(forecast, await lib.forecast());
    assert.deepEqual(events, await lib.events());
    assert.deepEqual(budget, await lib.events({ eventType: "budget", startTime: "2026-01-01T00:00:00Z", endTime: "2026-11-23T00:00:00Z" }));
    assert.deepEqual(cards, await lib.rateCards());
    assert.deepEqual(envs, await lib.environments());
  });

  test("cost and usage (default: the active subscription)", TIMEOUT, async () => {
    const [cost, recent, usage, filtered] = await Promise.all([
      json(["cost"]),
      json(["cost", "--from", "2026-11-01", "--to", "2026-11-08", "--subscription", active.uuid]),
      json(["usage", "--capability", "COMPUTE,EVENTS_INGEST", "--environment", "abc12345"]),
      json(["cost", "--environment", "abc12345", "--environment", "def67890", "--capability", "COMPUTE"]),
    ]);
    const expected = main.costToDate(await lib.dailyCost(active.uuid));
    assert.deepEqual(cost, expected);
    assert.deepEqual(recent, expected.filter((r) => r.startTime >= "2026-11-01" && r.startTime < "2026-11-08"));
    assert.equal(recent.length, 7);
    assert.deepEqual(usage, await lib.subscriptionUsage(active.uuid, { capabilityKeys: ["COMPUTE", "EVENTS_INGEST"], environmentIds: ["abc12345"] }));
    assert.deepEqual(filtered, main.costToDate(await lib.dailyCost(active.uuid, { environmentIds: ["abc12345", "def67890"], capabilityKeys: ["COMPUTE"] })));
  });

  test("env-cost and env-usage: the last 35 days ending today 00:00Z by default", TIMEOUT, async () => {
    await clearRequestLog(emu);
    const [cost, usage, one] = await Promise.all([
      json(["env-cost", "--now", NOW]),
      json(["env-usage", "--now", NOW, "--page-size", "25"]),
      json(["env-cost", "--from", "2026-11-01", "--to", "2026-11-08T00:00:00Z", "--environment", "def67890", "--capability", "COMPUTE"]),
    ]);
    const v3 = (await requestLog(emu)).filter((r) => r.path.includes("/sub/v3/"));
    assert.ok(v3.every((r) => r.query.startTime === WINDOW.startTime || r.query.startTime === "2026-11-01T00:00:00.000Z"));
    assert.ok(v3.some((r) => r.query["page-size"] === "25"));
    assert.deepEqual(cost, await lib.environmentCost(active.uuid, WINDOW));
    assert.deepEqual(usage, await lib.environmentUsage(active.uuid, WINDOW));
    assert.deepEqual(
      one,
      await lib.environmentCost(active.uuid, { startTime: "2026-11-01T00:00:00Z", endTime: "2026-11-08T00:00:00Z", environmentIds: ["def67890"], capabilityKeys: ["COMPUTE"] }),
    );
    assert.equal(one[0].records.length, 7);
  });

  test("cost-allocation: cost centers and products of one environment", TIMEOUT, async () => {
    const [cc, products] = await Promise.all([
      json(["cost-allocation", "--environment", "abc12345", "--from", "2026-11-01", "--to", "2026-11-03"]),
      json(["cost-allocation", "--environment", "def67890", "--field", "product", "--from", "2026-11-01", "--to", "2026-11-03", "--page-size", "40"]),
    ]);
    assert.deepEqual(cc, await lib.costAllocation(active.uuid, { field: "COSTCENTER", environmentId: "abc12345", from: "2026-11-01", to: "2026-11-03" }));
    assert.deepEqual(products, await lib.costAllocation(active.uuid, { field: "PRODUCT", environmentId: "def67890", from: "2026-11-01", to: "2026-11-03" }));
    assert.ok(cc.some((r) => r.key === null));
  });

  test("costcenters and products: list, add, replace, delete with hostile keys", TIMEOUT, async () => {
    const hostile = ["a/b", "x?y#z", "100%", "ü ß", "../etc", "-dash"];
    // The two lists are independent: exercised side by side.
    const roundTrip = async (list) => {
      const seeded = await json([list, "list"]);
      assert.deepEqual(seeded, await lib.listKeys(list));
      assert.deepEqual(await json([list, "add", "--", ...hostile]), { list, action: "add", keys: hostile });
      assert.deepEqual(await json([list, "list"]), [...seeded, ...hostile]);
      assert.deepEqual(await json([list, "delete", "--", "-dash"]), { list, action: "delete", keys: ["-dash"] });
      assert.deepEqual(await json([list, "replace", "ü ß", "R&D"]), { list, action: "replace", keys: ["ü ß", "R&D"] });
      assert.deepEqual(await lib.listKeys(list), ["ü ß", "R&D"]);
      await json([list, "replace", ...seeded]);
      assert.deepEqual(await lib.listKeys(list), seeded);
    };
    await Promise.all([roundTrip("costcenters"), roundTrip("products")]);
  });

  test("sync --dry-run --json still works next to the new commands", TIMEOUT, async () => {
    const s = await json(["sync", "--dry-run", "--now", NOW]);
    assert.equal(s.ok, true);
    assert.equal(s.dryRun, true);
  });
});

describe("readable output and help", () => {
  test("tables and summaries on stdout, progress on stderr", TIMEOUT, async () => {
    const runs = await Promise.all([
      cli(["subscriptions"]),
      cli(["cost", "--from", "2026-11-20"]),
      cli(["env-cost", "--now", NOW]),
      cli(["cost-allocation", "--environment", "abc12345", "--from", "2026-11-01", "--to", "2026-11-03"]),
      cli(["forecast"]),
      cli(["products", "list"]),
      cli(["rate-cards", "--quiet"]),
    ]);
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    const [subs, cost, envCost, alloc, forecast, products, cards] = runs;
    assert.match(subs.stdout, new RegExp(`${active.uuid}\\s+ACTIVE\\s+REGULAR`));
    assert.match(cost.stdout, /^2026-11-22\s+[\d,.]+\s+[\d,.]+$/m);
    assert.match(cost.stdout, /3 days, [\d,.]+ USD in these days, cost to date [\d,.]+ USD/);
    assert.match(envCost.stdout, /^abc12345\s+total\s+[\d,.]+$/m);
    assert.match(envCost.stdout, /2 environments, 2026-10-19 … 2026-11-22, total [\d,.]+ USD/);
    assert.match(alloc.stdout, /^\(unallocated\)\s+[\d,.]+\s+[\d.]+ %$/m);
    assert.match(forecast.stdout, /^forecast \/ budget\s+[\d.]+ %$/m);
    assert.equal(products.stdout, `${(await lib.listKeys("products")).join("\n")}\n`);
    assert.match(cards.stdout, /FULLSTACK_MONITORING\s+Full-Stack Monitoring\s+0\.0085\s+GiB-hour/);
    assert.equal(cards.stderr, "", "--quiet: nothing on stderr");
    assert.match(subs.stderr, /GET [^ ]+\/sub\/v2\/accounts\/[^ ]+\/subscriptions → 200/);
    assert.doesNotMatch(subs.stdout, /^\s*[[{]/, "not JSON");
  });

  test("--help for every command exits 0 and lists its options", TIMEOUT, async () => {
    const commands = ["subscriptions", "cost", "usage", "env-cost", "env-usage", "forecast", "events", "rate-cards", "cost-allocation", "environments", "costcenters", "products", "sync"];
    const runs = await Promise.all(commands.map((c) => cli([c, "--help"], { PATH: process.env.PATH })));
    runs.forEach((r, i) => {
      assert.equal(r.code, 0, commands[i]);
      assert.match(r.stdout, new RegExp(`^usage: dps-cost ${commands[i]}`), commands[i]);
      assert.match(r.stdout, /DT_CLIENT_SECRET/);
    });
    assert.match(runs[3].stdout, /--page-size/);
    assert.match(runs[8].stdout, /--field/);
    const top = await cli(["--help"], { PATH: process.env.PATH });
    assert.equal(top.code, 0);
    for (const c of commands) assert.match(top.stdout, new RegExp(`^  ${c} `, "m"));
  });
});

describe("exit codes", () => {
  test("usage errors exit 2 before any request", TIMEOUT, async () => {
    await clearRequestLog(emu);
    const cases = [
      [["nonsense"], envOf(A)],
      [["cost", "--no-such-flag"], envOf(A)],
      [["cost"], { PATH: process.env.PATH }],
      [["cost"], { ...envOf(A), DT_CLIENT_SECRET: "" }],
      [["cost", "--from", "last tuesday"], envOf(A)],
      [["env-cost", "--from", "2026-11-08", "--to", "2026-11-01"], envOf(A)],
      [["env-cost", "--page-size", "51"], envOf(A)],
      [["events", "--event-type", "weather"], envOf(A)],
      [["cost-allocation"], envOf(A)],
      [["cost-allocation", "--environment", "abc12345", "--field", "team"], envOf(A)],
      [["cost-allocation", "--environment", "abc12345", "--from", "2026-11-01T00:00:00Z"], envOf(A)],
      [["costcenters"], envOf(A)],
      [["costcenters", "rename", "a", "b"], envOf(A)],
      [["costcenters", "delete", "a", "b"], envOf(A)],
      [["costcenters", "add"], envOf(A)],
      [["products", "list", "extra"], envOf(A)],
      [["cost", "--timeout-ms", "0"], envOf(A)],
      [["forecast", "--api-url", "http://example.com"], envOf(A)],
      [["cost", "--subscription", "not-a-uuid"], envOf(A)],
    ];
    const runs = await Promise.all(cases.map(([args, env]) => cli(args, env)));
    runs.forEach((r, i) => {
      assert.equal(r.code, 2, `dps-cost ${cases[i][0].join(" ")}: exit ${r.code}\n${r.stderr}`);
      assert.equal(r.stdout, "", "nothing on stdout");
      assert.ok(r.stderr.length > 0);
    });
    // Only the library-checked ones get as far as a token request; none reaches the API.
    assert.deepEqual((await requestLog(emu)).filter((r) => !r.path.startsWith("/sso/")), []);
    // Duplicates are refused by the library before any write: also a usage error.
    const dup = await cli(["costcenters", "add", "x", "x"]);
    assert.equal(dup.code, 2);
    assert.match(dup.stderr, /INVALID_INPUT \(keys\[1\]\)/);
  });

  test("a wrong secret exits 1 with AUTH_INVALID_CLIENT on stderr, never the secret", TIMEOUT, async () => {
    for (const args of [["cost"], ["costcenters", "add", "k"], ["env-cost", "--json"]]) {
      const r = await cli(args, envOf(A, { DT_CLIENT_SECRET: WRONG_SECRET }));
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^error: AUTH_INVALID_CLIENT \[HTTP 400\]: /m);
      assert.equal(r.stdout, "");
    }
  });

  test("API failures exit 1 with their code: missing scope, not found, bad gateway, malformed body", TIMEOUT, async () => {
    const write = await cli(["costcenters", "add", "sneaky"], envOf(B));
    assert.equal(write.code, 1);
    assert.match(write.stderr, /^error: AUTH_MISSING_SCOPE/m);
    const missing = await cli(["cost", "--subscription", "00000000-0000-4000-8000-000000000000"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: NOT_FOUND \[HTTP 404\]/m);
    try {
      await addFaults(emu, [
        { path: "/subscriptions/forecast$", status: 500 },
        { path: "/rate-cards$", malformed: true },
      ]);
      const [f, c] = await Promise.all([cli(["forecast"]), cli(["rate-cards", "--json"])]);
      assert.equal(f.code, 1);
      assert.match(f.stderr, /^error: HTTP_STATUS \[HTTP 500\]/m);
      assert.equal(c.code, 1);
      assert.match(c.stderr, /^error: DECODE/m);
      assert.equal(c.stdout, "", "no partial JSON on stdout");
    } finally {
      await clearFaults(emu);
    }
  });

  test("--client-secret works but warns that it is visible in the process list", TIMEOUT, async () => {
    const r = await cli(["forecast", "--client-secret", A.clientSecret], { ...envOf(A), DT_CLIENT_SECRET: "" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: --client-secret is visible in the process list/);
  });
});

test("secret scan: no client secret, access token or API token in any CLI output", TIMEOUT, async (t) => {
  const real = [];
  for (const a of [A, B]) {
    real.push((await main.getToken({ accountUuid: a.accountUuid, clientId: a.clientId, clientSecret: a.clientSecret, ssoUrl: config.ssoUrl })).accessToken);
  }
  const secrets = [...secretsOf(config), WRONG_SECRET, ...real, ...tap.tokens];
  const coverage = T.scan(secrets);
  assert.ok(coverage.byKind["cli stderr"] >= 60, `${coverage.byKind["cli stderr"]} runs`);
  const line = `secret scan (cli): ${coverage.items / 2} runs (stdout + stderr), ${coverage.bytes} bytes, ${coverage.secrets} secrets (${tap.tokens.size} issued tokens)`;
  t.diagnostic(line);
  process.stderr.write(`${line}\n`);
});
