// The packed, installed npm package against the emulator (also shipped in the package).
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  ACCOUNT_A,
  ACCOUNT_B,
  NOW,
  assertNoSecret,
  cargoVersion,
  clearEvents,
  close,
  installedPackage,
  repoRoot,
  runAsync,
  runningTotals,
  secretsOf,
  startPackagedEmulator,
  storedEvents,
} from "./helpers.mjs";

const pkg = await installedPackage();
const main = await pkg.import("dps-cost");
const inline = await pkg.import("dps-cost/inline");

let emu;
let config;
let secrets;
let A;
let B;
const WRONG_SECRET = "dt0s02.EMUACCTA.0000000000000000000000000000000000000000000000000000000000000bad";

before(async () => {
  emu = await startPackagedEmulator();
  config = emu.config;
  secrets = [...secretsOf(config), WRONG_SECRET];
  A = config.accounts.find((a) => a.accountUuid === ACCOUNT_A);
  B = config.accounts.find((a) => a.accountUuid === ACCOUNT_B);
  assert.ok(A && B, "the emulator serves accounts A and B");
});
after(() => emu?.close());

const creds = (a) => ({ accountUuid: a.accountUuid, clientId: a.clientId, clientSecret: a.clientSecret });
const ingestClient = () => ({
  clientId: config.ingest.clientId,
  clientSecret: config.ingest.clientSecret,
  accountUuid: config.ingest.accountUuid,
  scope: config.ingest.scope,
});

describe("entry points", () => {
  test('"dps-cost" resolves to the node entry and "dps-cost/inline" to inline.js', () => {
    assert.match(main.__resolved, /\/node_modules\/dps-cost\/node\.js$/);
    assert.match(inline.__resolved, /\/node_modules\/dps-cost\/inline\.js$/);
  });

  test("version() equals Cargo.toml's version, in every entry", async () => {
    const want = cargoVersion();
    assert.equal(main.version(), want);
    assert.equal(inline.version(), want);
    const node = await pkg.import("dps-cost/node");
    assert.equal(node.version(), want);
    const manifest = JSON.parse(readFileSync(join(pkg.pkgDir, "package.json"), "utf8"));
    assert.equal(manifest.version, want);
  });

  test("no default export; the contract's functions are exported", () => {
    for (const m of [main, inline]) {
      assert.equal("default" in m, false);
      for (const name of ["version", "isDpsCostError", "getToken", "DpsClient", "costToDate", "buildBizevents", "ingest", "sync"]) {
        assert.equal(typeof m[name], "function", `${name} is exported`);
      }
    }
  });

  test("inline.js needs neither fetch nor fs to load", () => {
    const src = readFileSync(join(pkg.pkgDir, "inline.js"), "utf8");
    assert.doesNotMatch(src, /from\s+["']node:fs["']|require\(/);
    // Anywhere: the generated part is minified onto few lines.
    assert.doesNotMatch(src, /\bexport\s+default\b|\bas\s+default\b/);
    assert.match(src, /\binitSync\(\{\s*module:\s*__dpsCostUnpack\(/);
  });

  test("the shipped .d.ts files' DpsCostErrorCode union equals CODES in crates/core/src/error.rs", () => {
    const src = readFileSync(join(repoRoot, "crates", "core", "src", "error.rs"), "utf8");
    const list = /^error_codes!\(([^)]*)\);/m.exec(src);
    assert.ok(list, "error.rs: the error_codes!( … ); list");
    const codes = list[1].split(",").map((c) => c.trim()).filter(Boolean);
    assert.ok(codes.includes("TIMEOUT") && codes.length >= 19, codes.join(" "));
    for (const file of ["dps_cost.d.ts", "dps_cost_inline.d.ts"]) {
      const dts = readFileSync(join(pkg.pkgDir, file), "utf8");
      const union = /export type DpsCostErrorCode =([^;]*);/.exec(dts);
      assert.ok(union, `${file}: DpsCostErrorCode`);
      const members = [...union[1].matchAll(/"([A-Z_]+)"/g)].map((m) => m[1]);
      assert.deepEqual(members, codes, `${file}: the union differs from CODES`);
      assert.doesNotMatch(union[1], /string\s*&/, `${file}: the union is closed`);
      assert.equal(dts.match(/interface DpsCostError\b/g)?.length, 1, `${file}: DpsCostError declared once`);
      assert.match(dts, /isDpsCostError\(value: unknown\): value is DpsCostError;/);
      assert.ok(dts.startsWith('/// <reference lib="esnext.disposable" />'), `${file}: brings esnext.disposable`);
    }
    for (const file of ["index.d.ts", "inline.d.ts"]) {
      assert.doesNotMatch(readFileSync(join(pkg.pkgDir, file), "utf8"), /DpsCostError\b/, `${file} declares nothing by hand`);
    }
  });

  test("isDpsCostError rejects look-alikes", () => {
    for (const m of [main, inline]) {
      assert.equal(m.isDpsCostError(new Error("x")), false);
      assert.equal(m.isDpsCostError({ name: "DpsCostError", code: "X", message: "m" }), false);
      assert.equal(m.isDpsCostError("DpsCostError"), false);
      assert.equal(m.isDpsCostError(null), false);
      assert.equal(m.isDpsCostError(undefined), false);
    }
  });
});

describe("getToken", () => {
  test("returns a bearer token for valid client credentials", async () => {
    const t = await main.getToken({ ...creds(A), ssoUrl: config.ssoUrl });
    assert.equal(typeof t.accessToken, "string");
    assert.ok(t.accessToken.length > 10);
    assert.match(t.tokenType, /^bearer$/i);
    assert.ok(t.expiresIn > 0 && t.expiresIn <= 300, `expiresIn ${t.expiresIn}`);
    assert.ok(t.resource === null || t.resource.includes(A.accountUuid));
  });

  test("the inline entry gets a token too", async () => {
    const t = await inline.getToken({ ...creds(B), ssoUrl: config.ssoUrl });
    assert.ok(t.accessToken.length > 10);
  });

  test("a wrong secret rejects with a real DpsCostError without the secret", async () => {
    await assert.rejects(main.getToken({ ...creds(A), clientSecret: WRONG_SECRET, ssoUrl: config.ssoUrl }), (e) => {
      assert.ok(e instanceof Error, "an Error, not a string or plain object");
      assert.equal(e.name, "DpsCostError");
      assert.equal(e.code, "AUTH_INVALID_CLIENT");
      assert.equal(e.status, 400);
      assert.equal(main.isDpsCostError(e), true);
      assert.equal(inline.isDpsCostError(e), true, "the guard is structural across entries");
      assertNoSecret(`${e.message}\n${e.stack}\n${JSON.stringify(e)}`, secrets, "the error");
      return true;
    });
  });

  test("an unreachable SSO URL rejects with NETWORK", async () => {
    await assert.rejects(main.getToken({ ...creds(A), ssoUrl: "http://127.0.0.1:9/sso/oauth2/token" }), (e) => {
      assert.equal(e.code, "NETWORK");
      return true;
    });
  });
});

describe("DpsClient and the pure functions", () => {
  let client;
  let active;
  let details;
  let costs;

  before(async () => {
    client = new main.DpsClient({ ...creds(A), ssoUrl: config.ssoUrl, apiUrl: config.apiUrl });
    active = await client.activeSubscription();
    details = await client.subscription(active.uuid);
    costs = await client.dailyCost(active.uuid);
  });
  after(() => client?.free());

  test("activeSubscription is the ACTIVE REGULAR one", async () => {
    assert.equal(active.status, "ACTIVE");
    assert.equal(active.type, "REGULAR");
    const all = await client.subscriptions();
    assert.ok(all.length >= 2, "the emulator also serves an expired subscription");
    assert.ok(all.some((s) => s.uuid === active.uuid));
  });

  test("subscription details carry the budget and the current period", () => {
    assert.equal(details.uuid, active.uuid);
    assert.equal(typeof details.budget.total, "number");
    assert.equal(typeof details.budget.used, "number");
    assert.equal(details.budget.currencyCode, "USD");
    assert.ok(details.currentPeriod);
  });

  test("dailyCost returns one record per day", () => {
    assert.ok(costs.length > 30, `${costs.length} records`);
    for (const r of costs) {
      assert.equal(typeof r.startTime, "string");
      assert.equal(typeof r.value, "number");
    }
    assert.equal(new Set(costs.map((r) => r.startTime)).size, costs.length);
  });

  test("dailyCost with an environment filter", async () => {
    const env = A.environments[0].id;
    const filtered = await client.dailyCost(active.uuid, { environmentIds: [env] });
    assert.ok(filtered.length > 0);
    const total = (rs) => rs.reduce((s, r) => s + r.value, 0);
    assert.ok(total(filtered) < total(costs), "one environment costs less than all");
  });

  test("costToDate sorts by startTime and adds the running total", () => {
    const out = main.costToDate(costs);
    assert.equal(out.length, costs.length);
    const sorted = [...costs].sort((x, y) => Date.parse(x.startTime) - Date.parse(y.startTime));
    assert.deepEqual(
      out.map((r) => r.startTime),
      sorted.map((r) => r.startTime),
    );
    const want = runningTotals(sorted.map((r) => r.value));
    out.forEach((r, i) => assert.ok(close(r.costToDate, want[i]), `day ${i}: ${r.costToDate} vs ${want[i]}`));
    assert.ok(close(out.at(-1).costToDate, details.budget.used), "the total equals the budget used");
  });

  test("costToDate is stable for equal start times", () => {
    const day = (d) => `2026-01-0${d}T00:00:00Z`;
    const out = main.costToDate([
      { startTime: day(2), endTime: day(3), value: 2 },
      { startTime: day(1), endTime: day(2), value: 1 },
      { startTime: day(2), endTime: day(3), value: 3 },
    ]);
    assert.deepEqual(
      out.map((r) => [r.value, r.costToDate]),
      [
        [1, 1],
        [2, 3],
        [3, 6],
      ],
    );
  });

  test("buildBizevents: one subscription status and one flat cost event per day, deterministic ids", () => {
    const input = { accountUuid: A.accountUuid, accountName: A.name, subscription: details, costs, now: NOW };
    const events = main.buildBizevents(input);
    assert.equal(events.length, 1 + costs.length);
    assert.equal(events[0]["event.type"], "dps.subscription.status");
    for (const e of events.slice(1)) assert.equal(e["event.type"], "dps.cost2.booked");
    for (const e of events) {
      assert.equal(typeof e["event.id"], "string");
      assert.equal(typeof e["event.provider"], "string");
      for (const [k, v] of Object.entries(e)) {
        assert.ok(v === null || ["string", "number", "boolean"].includes(typeof v), `${k} is flat`);
      }
    }
    assert.equal(new Set(events.map((e) => e["event.id"])).size, events.length, "ids are unique");
    const again = main.buildBizevents({ ...input, costs: [...costs].reverse() });
    assert.deepEqual(
      again.map((e) => e["event.id"]),
      events.map((e) => e["event.id"]),
    );
    assert.ok(close(events.at(-1).costToDate, details.budget.used));
  });
});

describe("ingest", () => {
  const sample = () => {
    const subscription = {
      uuid: "00000000-0000-4000-8000-000000000001",
      type: "REGULAR",
      subType: null,
      name: "Test",
      status: "ACTIVE",
      startTime: "2026-01-01",
      endTime: "2026-12-31",
      account: { uuid: A.accountUuid },
      budget: { total: 100, used: 6, currencyCode: "USD" },
      currentPeriod: { startTime: "2026-01-01", endTime: "2026-12-31", daysRemaining: 38 },
      periods: [],
      capabilities: [],
    };
    const costs = [1, 2, 3].map((d) => ({
      startTime: `2026-11-0${d}T00:00:00.000Z`,
      endTime: `2026-11-0${d + 1}T00:00:00.000Z`,
      value: d,
      currencyCode: "USD",
    }));
    return main.buildBizevents({ accountUuid: A.accountUuid, subscription, costs, now: NOW });
  };

  test("202: every event accepted and stored", async () => {
    await clearEvents(emu);
    const events = sample();
    const { accessToken } = await main.getToken({ ...ingestClient(), ssoUrl: config.ssoUrl });
    const r = await main.ingest({ url: config.ingestUrl, events, accessToken });
    assert.equal(r.sent, events.length);
    assert.equal(r.accepted, r.sent);
    assert.deepEqual(r.rejected, []);
    const stored = await storedEvents(emu);
    assert.deepEqual(stored.map((e) => e["event.id"]).sort(), events.map((e) => e["event.id"]).sort());
  });

  test("202 with a classic API token", async () => {
    const events = sample();
    const r = await main.ingest({ url: config.ingestUrl, events, apiToken: config.ingest.apiToken });
    assert.equal(r.accepted, events.length);
  });

  test("partial 400: rejected lists the index and event id, the rest is accepted", async () => {
    const events = sample();
    const body = JSON.stringify({ errors: [{ id: events[1]["event.id"], index: 1, message: "invalid event", source: null }] });
    const fault = await fetch(`${emu.url}/__emulator/faults`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ method: "POST", path: "bizevents/ingest$", status: 400, times: 1, body }),
    });
    assert.equal(fault.status, 201);
    try {
      const r = await main.ingest({ url: config.ingestUrl, events, apiToken: config.ingest.apiToken });
      assert.equal(r.sent, events.length);
      assert.equal(r.rejected.length, 1);
      assert.equal(r.rejected[0].index, 1);
      assert.equal(r.rejected[0].eventId, events[1]["event.id"]);
      assert.equal(r.accepted, events.length - 1);
    } finally {
      await fetch(`${emu.url}/__emulator/faults`, { method: "DELETE" });
    }
  });

  test("through a caller-supplied fetch: JSON body, bearer token; relative URL without token sends no Authorization", async () => {
    const events = sample();
    const seen = [];
    const fetchLike = async (url, init) => {
      seen.push({ url, init });
      return { status: 202, headers: { get: () => null }, text: async () => "" };
    };
    const r1 = await main.ingest({ url: "https://example.invalid/api/v2/bizevents/ingest", events, accessToken: "tok", fetch: fetchLike });
    assert.equal(r1.accepted, events.length);
    const h1 = Object.fromEntries(Object.entries(seen[0].init.headers).map(([k, v]) => [k.toLowerCase(), v]));
    assert.equal(seen[0].init.method, "POST");
    assert.match(h1["content-type"], /^application\/json/);
    assert.equal(h1.authorization, "Bearer tok");
    assert.deepEqual(
      JSON.parse(seen[0].init.body).map((e) => e["event.id"]),
      events.map((e) => e["event.id"]),
    );
    const relative = "/platform/classic/environment-api/v2/bizevents/ingest";
    const r2 = await main.ingest({ url: relative, events, fetch: fetchLike });
    assert.equal(r2.accepted, events.length);
    assert.equal(seen[1].url, relative);
    const h2 = Object.keys(seen[1].init.headers).map((k) => k.toLowerCase());
    assert.equal(h2.includes("authorization"), false);
  });
});

describe("sync", () => {
  const syncConfig = (extra = {}) => ({
    accounts: [
      { ...creds(A), name: A.name },
      { ...creds(B), name: B.name },
    ],
    ssoUrl: config.ssoUrl,
    apiUrl: config.apiUrl,
    now: NOW,
    ingest: { url: config.ingestUrl, ...ingestClient() },
    ...extra,
  });

  test("end to end: every event lands exactly once; a second run repeats the same event ids", async () => {
    await clearEvents(emu);
    const s1 = await main.sync(syncConfig());
    assertNoSecret(JSON.stringify(s1), secrets, "the summary");
    assert.equal(s1.ok, true, JSON.stringify(s1.accounts.map((a) => a.error)));
    assert.equal(s1.dryRun, false);
    assert.equal(s1.accounts.length, 2);
    for (const a of s1.accounts) {
      assert.equal(a.ok, true);
      assert.ok(a.costDays > 30);
      assert.ok(a.subscription);
      assert.ok(close(a.costToDate, a.subscription.used), `${a.name}: cost to date = used`);
      assert.ok(close(a.subscription.percentUsed, (100 * a.subscription.used) / a.subscription.budget));
    }
    const names = s1.accounts.map((a) => a.name);
    assert.deepEqual(names, [A.name, B.name]);
    const perAccount = (a) => Object.values(a.events).reduce((n, c) => n + c, 0);
    assert.equal(s1.events.built, s1.accounts.reduce((n, a) => n + perAccount(a), 0));
    for (const a of s1.accounts) {
      const e = a.events;
      assert.equal(e.subscriptionStatus, 1);
      assert.equal(e.costBooked, 35, `${a.name}: the 35-day window of booked days`);
      assert.ok(e.environmentCost > 0 && e.environmentUsage > 0 && e.allocation > 0, JSON.stringify(e));
      assert.equal(e.forecast, 1);
      assert.equal(e.syncRun, 1, "one dps.sync.run per account");
      assert.deepEqual(a.errors ?? [], []);
    }
    const stored = await storedEvents(emu);
    const types = new Set(stored.map((e) => e["event.type"]));
    assert.deepEqual([...types].sort(), [
      "dps.cost.allocation", "dps.cost2.booked", "dps.environment.cost", "dps.environment.usage", "dps.forecast", "dps.subscription.status",
      "dps.sync.run",
    ]);
    assert.equal(s1.events.sent, s1.events.built);
    assert.equal(s1.events.accepted, s1.events.built);
    assert.deepEqual(s1.events.rejected, []);

    const first = await storedEvents(emu);
    assert.equal(first.length, s1.events.built, "stored = built");
    const ids1 = first.map((e) => e["event.id"]);
    assert.equal(new Set(ids1).size, ids1.length, "no event stored twice");

    const s2 = await main.sync(syncConfig());
    assert.equal(s2.ok, true);
    const both = await storedEvents(emu);
    assert.equal(both.length, 2 * first.length);
    const ids2 = both.slice(first.length).map((e) => e["event.id"]);
    assert.deepEqual([...ids2].sort(), [...ids1].sort(), "the second run has the same event ids");
  });

  test("fullHistory sends every booked day", async () => {
    await clearEvents(emu);
    const s = await main.sync(syncConfig({ ingest: null, fullHistory: true, include: { environmentCost: false, environmentUsage: false, forecast: false, allocation: false } }));
    assert.equal(s.ok, true);
    for (const a of s.accounts) assert.equal(a.events.costBooked, a.costDays);
    // per account: the status event, every booked day, the dps.sync.run
    assert.equal(s.events.built, 2 * 2 + s.accounts.reduce((n, a) => n + a.costDays, 0));
  });

  test("dry run: events built, nothing sent", async () => {
    await clearEvents(emu);
    const s = await main.sync(syncConfig({ ingest: null }));
    assert.equal(s.ok, true);
    assert.equal(s.dryRun, true);
    assert.ok(s.events.built > 0);
    assert.equal(s.events.sent, 0);
    assert.equal((await storedEvents(emu)).length, 0);
  });

  test("one failing account: the other still syncs, the error has a code and no secret", async () => {
    await clearEvents(emu);
    const cfg = syncConfig({ ingest: null });
    cfg.accounts[0].clientSecret = WRONG_SECRET;
    const s = await main.sync(cfg);
    assertNoSecret(JSON.stringify(s), secrets, "the summary");
    assert.equal(s.ok, false);
    assert.equal(s.accounts[0].ok, false);
    assert.equal(s.accounts[0].error.code, "AUTH_INVALID_CLIENT");
    assert.equal(s.accounts[1].ok, true);
  });
});

describe("CLI (the package's bin)", () => {
  const cliEnv = (a, extra = {}) => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DT_ACCOUNT_UUID: a.accountUuid,
    DT_CLIENT_ID: a.clientId,
    DT_CLIENT_SECRET: a.clientSecret,
    DT_INGEST_CLIENT_ID: config.ingest.clientId,
    DT_INGEST_CLIENT_SECRET: config.ingest.clientSecret,
    DT_INGEST_ACCOUNT_UUID: config.ingest.accountUuid,
    ...extra,
  });
  const cli = (args, env) => runAsync(process.execPath, [pkg.bin, ...args], { env, cwd: pkg.projectDir });
  const urls = () => ["--api-url", config.apiUrl, "--sso-url", config.ssoUrl, "--now", NOW];

  test("dps-cost sync --json: exit 0, JSON on stdout, progress on stderr, no secret", async () => {
    await clearEvents(emu);
    const r = await cli(["sync", "--json", ...urls(), "--ingest-url", config.ingestUrl, "--name", A.name], cliEnv(A));
    assertNoSecret(r.stdout, secrets, "stdout");
    assertNoSecret(r.stderr, secrets, "stderr");
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.ok, true);
    assert.equal(summary.accounts[0].accountUuid, A.accountUuid);
    assert.equal(summary.events.accepted, summary.events.built);
    assert.match(r.stderr, /dps-cost \d+\.\d+\.\d+/);
    assert.match(r.stderr, /POST .*\/sso\/oauth2\/token → 200/);
    assert.equal((await storedEvents(emu)).length, summary.events.built);
  });

  test("dps-cost sync (text): a readable summary", async () => {
    const r = await cli(["sync", "--dry-run", ...urls()], cliEnv(B));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /budget\s+[\d,.]+ EUR/);
    assert.match(r.stdout, /events \(dry run\): built \d+, sent 0/);
  });

  test("a failed run exits 1 and prints the code, never the secret", async () => {
    const r = await cli(["sync", "--dry-run", ...urls()], cliEnv(A, { DT_CLIENT_SECRET: WRONG_SECRET }));
    assert.equal(r.code, 1);
    assertNoSecret(r.stdout + r.stderr, secrets, "the output");
    assert.match(r.stdout + r.stderr, /AUTH_INVALID_CLIENT/);
  });

  test("usage errors exit 2; --help and --version exit 0", async () => {
    const env = { PATH: process.env.PATH };
    assert.equal((await cli(["sync"], env)).code, 2);
    assert.equal((await cli(["frobnicate"], env)).code, 2);
    assert.equal((await cli(["sync", "--no-such-flag"], cliEnv(A))).code, 2);
    const help = await cli(["--help"], env);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /usage: dps-cost/);
    const v = await cli(["--version"], env);
    assert.equal(v.code, 0);
    assert.equal(v.stdout.trim(), cargoVersion());
  });
});

describe("README examples", () => {
  // Blocks marked with a `<!-- test -->` line right before a ```js fence run in the consumer
  // project against the emulator, with DT_ACCOUNT_UUID, DT_CLIENT_ID, DT_CLIENT_SECRET,
  // DT_SSO_URL and DT_API_URL set. Sources: the package's README and the repo's README.md.
  const sources = [
    ["package README", join(pkg.pkgDir, "README.md")],
    ["repo README", join(repoRoot, "README.md")],
  ].filter(([, f]) => existsSync(f));
  const blocks = sources.flatMap(([label, f]) =>
    [...readFileSync(f, "utf8").matchAll(/<!--\s*test\s*-->\s*\n```(?:js|javascript|mjs)\n([\s\S]*?)\n```/g)].map(
      (m, i) => ({ label: `${label} example ${i + 1}`, code: m[1] }),
    ),
  );

  test("the package README has tested examples", () => {
    assert.ok(
      blocks.some((b) => b.label.startsWith("package")),
      "no ```js block marked <!-- test --> in the package README",
    );
  });

  blocks.forEach(({ label, code }, i) => {
    test(`${label} runs`, async () => {
      const file = join(pkg.projectDir, `readme-example-${i + 1}.mjs`);
      writeFileSync(file, code);
      const r = await runAsync(process.execPath, [file], {
        cwd: pkg.projectDir,
        env: {
          PATH: process.env.PATH,
          DT_ACCOUNT_UUID: A.accountUuid,
          DT_CLIENT_ID: A.clientId,
          DT_CLIENT_SECRET: A.clientSecret,
          DT_SSO_URL: config.ssoUrl,
          DT_API_URL: config.apiUrl,
        },
      });
      assert.equal(r.code, 0, `${label} failed:\n${r.stderr}`);
      assertNoSecret(r.stdout + r.stderr, secrets, "the example's output");
    });
  });
});
