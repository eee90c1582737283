// The bad-input catalogue (issue 8, part 3), JS and CLI side, against the packed package and the
// emulator. One table per public entry point: every row must fail with a DpsCostError of the
// row's `code` (and `field`, where given) and leave nothing behind: no event in the emulator's
// store, no allow-list change, no CLI output that looks like success, no --out file.
// The Rust tables are tests/catalogue.rs; README "Errors" summarises all of them.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { ACCOUNT_A, NOW, assertNoSecret, clearEvents, installedPackage, runAsync, secretsOf, startPackagedEmulator, storedEvents } from "./helpers.mjs";

const pkg = await installedPackage();
const lib = await pkg.import("dps-cost");
const { DpsClient, allocate, allocateStream, buildBizevents, costEventsFromJson, costLines, costToDate, datadogRules, exportCost, focusExport, focusExportStream, forecastSpend, getToken, ingest, isDpsCostError, reportData, sync } = lib;

const SUB = "5d0c8a7e-1b2f-4c3d-8e4f-a0b1c2d3e4f5";
const LONG = "x".repeat(100_000);
let emu;
let config;
let A;
let secrets;
let tmp;

before(async () => {
  emu = await startPackagedEmulator();
  config = emu.config;
  A = config.accounts.find((a) => a.accountUuid === ACCOUNT_A);
  secrets = secretsOf(config);
  tmp = mkdtempSync(join(tmpdir(), "dps-cost-catalogue-"));
});
after(async () => {
  await emu?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const creds = () => ({ accountUuid: A.accountUuid, clientId: A.clientId, clientSecret: A.clientSecret, ssoUrl: config.ssoUrl, apiUrl: config.apiUrl });
const FAST = { maxAttempts: 1, timeoutMs: 5_000 };

/** Runs `call` (sync or async) and returns the error it must throw or reject with. */
async function failure(call) {
  let value;
  try {
    value = await call();
  } catch (e) {
    return e;
  }
  assert.fail(`succeeded with ${JSON.stringify(value)?.slice(0, 300)}`);
}

/**
 * One table: rows of [what, call, code, field?, todo?]; each must fail exactly so, with no
 * secret. `todo` marks a known, not yet fixed bug (shown as TODO, not failing the run).
 */
function table(entry, rows, afterEach, beforeEach) {
  describe(entry, () => {
    for (const [what, call, code, field, todo] of rows) {
      test(what, { todo }, async () => {
        if (beforeEach) await beforeEach();
        const e = await failure(call);
        assert.ok(isDpsCostError(e), `not a DpsCostError: ${e?.stack ?? e}`);
        assert.equal(e.code, code, e.message);
        if (field !== undefined) assert.equal(e.field, field, e.message);
        assertNoSecret(`${e.message}\n${e.stack}\n${JSON.stringify(e)}`, secrets, `${entry} / ${what}`);
        if (afterEach) await afterEach();
      });
    }
  });
}

const cost = (startTime, value) => ({ startTime, value, currencyCode: "USD" });

table("costToDate", [
  ["not an array", () => costToDate({}), "INVALID_INPUT", "records"],
  ["undefined", () => costToDate(undefined), "INVALID_INPUT", "records"],
  ["wrong type: value string", () => costToDate([cost("2024-01-01", "1")]), "INVALID_INPUT", "records[0].value"],
  ["missing startTime", () => costToDate([{ value: 1 }]), "INVALID_INPUT", "records[0].startTime"],
  ["NaN", () => costToDate([cost("2024-01-01", 1), cost("2024-01-02", NaN)]), "INVALID_INPUT", "records[1].value"],
  ["Infinity", () => costToDate([cost("2024-01-01", Infinity)]), "INVALID_INPUT", "records[0].value"],
  ["huge number", () => costToDate([cost("2024-01-01", 1e300)]), "INVALID_INPUT", "records[0].value"],
  ["BigInt", () => costToDate([cost("2024-01-01", 1n)]), "INVALID_INPUT", "records"],
  ["invalid date", () => costToDate([cost("2024-02-30", 1)]), "INVALID_INPUT", "records[0].startTime"],
  ["invalid time zone", () => costToDate([cost("2024-01-01T00:00:00+24:00", 1)]), "INVALID_INPUT", "records[0].startTime"],
  ["very long string", () => costToDate([cost(LONG, 1)]), "INVALID_INPUT", "records[0].startTime"],
  ["cyclic value", () => { const r = cost("2024-01-01", 1); r.self = r; return costToDate([r]); }, "INVALID_INPUT", "records"],
]);

const subscription = { uuid: SUB, type: "DPS", subType: "REGULAR", name: "s", status: "ACTIVE", startTime: "2024-01-01", endTime: "2025-01-01",
  account: null, budget: null, currentPeriod: null, periods: null, capabilities: null };
table("buildBizevents", [
  ["missing subscription", () => buildBizevents({ accountUuid: ACCOUNT_A, costs: [] }), "INVALID_INPUT", "subscription"],
  ["invalid UUID", () => buildBizevents({ accountUuid: "../x", subscription, costs: [] }), "INVALID_INPUT", "input.accountUuid"],
  ["invalid now", () => buildBizevents({ accountUuid: ACCOUNT_A, subscription, costs: [], now: "2024-13-01T00:00:00Z" }), "INVALID_INPUT", "input.now"],
  ["NaN cost", () => buildBizevents({ accountUuid: ACCOUNT_A, subscription, costs: [cost("2024-01-01", NaN)] }), "INVALID_INPUT", "costs[0].value"],
  ["unknown option", () => buildBizevents({ accountUuid: ACCOUNT_A, subscription, costs: [], timestamp: 1 }), "INVALID_INPUT", "timestamp"],
]);

table("getToken", [
  ["no options", () => getToken(), "INVALID_INPUT", "options"],
  ["invalid UUID", () => getToken({ ...creds(), accountUuid: "not-a-uuid" }), "INVALID_INPUT", "accountUuid"],
  ["missing clientSecret", () => getToken({ accountUuid: A.accountUuid, clientId: A.clientId }), "INVALID_INPUT", "clientSecret"],
  ["http:// non-loopback ssoUrl", () => getToken({ ...creds(), ssoUrl: "http://sso.example.com/token" }), "INVALID_INPUT", "ssoUrl"],
  ["wrong secret", () => getToken({ ...creds(), clientSecret: "dt0s02.WRONG.secret", retry: FAST }), "AUTH_INVALID_CLIENT"],
  ["retry out of range", () => getToken({ ...creds(), retry: { maxAttempts: 99 } }), "INVALID_INPUT", "retry.maxAttempts"],
  ["fetch not a function", () => getToken({ ...creds(), fetch: 42 }), "INVALID_INPUT", "fetch"],
]);

describe("DpsClient", () => {
  test("constructor rejects bad options", async () => {
    for (const [o, field] of [
      [{ ...creds(), accountUuid: "3f7c2d1e-8a4b-4c6d-9e0f-1a2b3c4d5e6f?" }, "accountUuid"],
      [{ ...creds(), apiUrl: "http://api.example.com" }, "apiUrl"],
      [{ ...creds(), unknown: 1 }, "unknown"],
    ]) {
      const e = await failure(() => new DpsClient(o));
      assert.ok(isDpsCostError(e), String(e));
      assert.equal(e.code, "INVALID_INPUT");
      assert.equal(e.field, field);
    }
  });
});

let client;
const withClient = (f) => () => {
  client ??= new DpsClient({ ...creds(), retry: FAST });
  return f(client);
};
table("DpsClient methods", [
  ["subscription: ../", withClient((c) => c.subscription("../../accounts")), "INVALID_INPUT", "subscriptionUuid"],
  ["subscription: ? and #", withClient((c) => c.subscription(`${SUB}?x#y`)), "INVALID_INPUT", "subscriptionUuid"],
  ["subscription: %", withClient((c) => c.subscription("%2e%2e")), "INVALID_INPUT", "subscriptionUuid"],
  ["subscription: unknown", withClient((c) => c.subscription("00000000-0000-4000-8000-000000000000")), "NOT_FOUND"],
  ["dailyCost: empty environment id", withClient((c) => c.dailyCost(SUB, { environmentIds: [""] })), "INVALID_INPUT", "environmentIds[0]"],
  ["dailyCost: unknown filter", withClient((c) => c.dailyCost(SUB, { environments: ["a"] })), "INVALID_INPUT", "environments"],
  ["environmentCost: no window", withClient((c) => c.environmentCost(SUB, {})), "INVALID_INPUT", "startTime"],
  ["environmentCost: invalid date", withClient((c) => c.environmentCost(SUB, { startTime: "2024-02-30", endTime: "2024-03-01" })), "INVALID_INPUT", "startTime"],
  ["environmentCost: end before start", withClient((c) => c.environmentCost(SUB, { startTime: "2024-03-01", endTime: "2024-02-01" })), "INVALID_INPUT", "endTime"],
  ["environmentCost: page size negative", withClient((c) => c.environmentCost(SUB, { startTime: "2024-02-01", endTime: "2024-03-01", pageSize: -1 })), "INVALID_INPUT", "pageSize"],
  ["costAllocation: unknown field", withClient((c) => c.costAllocation(SUB, { field: "TEAM", environmentId: "abc12345" })), "INVALID_INPUT", "field"],
  ["events: invalid eventType", withClient((c) => c.events({ eventType: 7 })), "INVALID_INPUT", "eventType"],
  ["listKeys: unknown list", withClient((c) => c.listKeys("teams")), "INVALID_INPUT", "list"],
  ["deleteKey: ..", withClient((c) => c.deleteKey("products", "..")), "INVALID_INPUT", "key"],
]);

describe("DpsClient writes: nothing partial", () => {
  test("addKeys with a duplicate or an empty key changes nothing", async () => {
    const c = new DpsClient({ ...creds(), scope: "account-uac-read account-uac-write", retry: FAST });
    try {
      const before = await c.listKeys("costcenters");
      for (const keys of [["NEW-1", "NEW-1"], ["NEW-2", ""], ["NEW-3", LONG]]) {
        const e = await failure(() => c.addKeys("costcenters", keys));
        assert.equal(e.code, "INVALID_INPUT", e.message);
        assert.match(e.field, /^keys\[1\]$/);
      }
      assert.deepEqual(await c.listKeys("costcenters"), before);
    } finally {
      c.free();
    }
  });
});

const emptyStore = async () => assert.deepEqual(await storedEvents(emu), [], "nothing may be stored");
const event = { "event.id": "catalogue-1", "event.type": "dps.test", "event.provider": "dps4ma.ingester" };
const ingestUrl = () => config.ingestUrl;
describe("ingest (store checked after each row)", () => {
  before(() => clearEvents(emu));
  table("ingest", [
    ["no options", () => ingest(), "INVALID_INPUT", "options"],
    ["http:// non-loopback", () => ingest({ url: "http://env.example.com/api/v2/bizevents/ingest", accessToken: "t", events: [event] }), "INVALID_INPUT", "ingest.url"],
    ["relative ../", () => ingest({ url: "/platform/../x", events: [event] }), "INVALID_INPUT", "ingest.url"],
    ["relative ?", () => ingest({ url: "/platform/classic/environment-api/v2/bizevents/ingest?x=1", events: [event] }), "INVALID_INPUT", "ingest.url"],
    ["relative #", () => ingest({ url: "/platform/x#y", events: [event] }), "INVALID_INPUT", "ingest.url"],
    ["no token", () => ingest({ url: ingestUrl(), events: [event] }), "INVALID_INPUT", "options.accessToken"],
    ["both tokens", () => ingest({ url: ingestUrl(), accessToken: "a", apiToken: "b", events: [event] }), "INVALID_INPUT", "options"],
    ["event not an object", () => ingest({ url: ingestUrl(), accessToken: "a", events: [event, 7] }), "INVALID_INPUT", "options.events[1]"],
    ["events not an array", () => ingest({ url: ingestUrl(), accessToken: "a", events: event }), "INVALID_INPUT", "events"],
    ["wrong token: refused, nothing stored", () => ingest({ url: ingestUrl(), accessToken: "not-a-token", events: [event], retry: FAST }), "UNAUTHORIZED"],
  ], emptyStore);
});

describe("sync (store checked after each row)", () => {
  before(() => clearEvents(emu));
  const base = () => ({ accounts: [{ accountUuid: A.accountUuid, clientId: A.clientId, clientSecret: A.clientSecret }], ssoUrl: config.ssoUrl, apiUrl: config.apiUrl, now: NOW,
    ingest: { url: config.ingestUrl, clientId: config.ingest.clientId, clientSecret: config.ingest.clientSecret, accountUuid: config.ingest.accountUuid } });
  table("sync", [
    ["empty accounts", () => sync({ ...base(), accounts: [] }), "INVALID_INPUT", "accounts"],
    ["invalid UUID", () => sync({ ...base(), accounts: [{ ...base().accounts[0], accountUuid: "x" }] }), "INVALID_INPUT", "accounts[0].accountUuid"],
    ["duplicate accounts", () => sync({ ...base(), accounts: [base().accounts[0], base().accounts[0]] }), "INVALID_INPUT", "accounts[1].accountUuid"],
    ["http:// ingest", () => sync({ ...base(), ingest: { ...base().ingest, url: "http://env.example.com/api/v2/bizevents/ingest" } }), "INVALID_INPUT", "ingest.url"],
    ["NaN concurrency", () => sync({ ...base(), concurrency: NaN }), "INVALID_INPUT", "concurrency"],
    ["huge windowDays", () => sync({ ...base(), windowDays: 1e9 }), "INVALID_INPUT", "windowDays"],
    ["invalid now", () => sync({ ...base(), now: "yesterday" }), "INVALID_INPUT", "now"],
    ["unknown include", () => sync({ ...base(), include: { everything: true } }), "INVALID_INPUT", "include.everything"],
  ], emptyStore, () => clearEvents(emu));
});

const line = { date: "2024-01-01", cost: 1, currency: "USD", tags: { provider: "dynatrace", capability: "X" } };
const rule = (strategy) => ({ id: "1", type: "arbitrary_rule", attributes: { rule_name: "r", provider: ["dynatrace"], type: "shared", enabled: true, order_id: 1,
  costs_to_allocate: [{ condition: "is", tag: "capability", value: "X" }], strategy } });
const pct = (p) => ({ method: "percent", allocated_by: [{ allocated_tags: [{ key: "team", value: "a" }], percentage: p }] });
table("allocate", [
  ["no input", () => allocate(), "INVALID_INPUT", "input"],
  ["missing lines", () => allocate({ rules: [] }), "INVALID_INPUT", "lines"],
  ["NaN cost", () => allocate({ lines: [{ ...line, cost: NaN }], rules: [] }), "INVALID_INPUT", "lines[0].cost"],
  ["invalid date", () => allocate({ lines: [{ ...line, date: "2024-02-30" }], rules: [] }), "INVALID_INPUT", "lines[0].date"],
  ["unknown method", () => allocate({ lines: [line], rules: [rule({ ...pct(1), method: "fair" })] }), "RULE_INVALID", "strategy.method"],
  ["negative percentage", () => allocate({ lines: [line], rules: [rule(pct(-0.5))] }), "RULE_INVALID", "strategy.allocated_by[0].percentage"],
  ["percentages above 100%", () => allocate({ lines: [line], rules: [rule(pct(1.5))] }), "RULE_INVALID"],
  ["unknown output", () => allocate({ lines: [line], rules: [], output: { csv: true } }), "INVALID_INPUT", "output.csv"],
]);

const envs = [{ environmentId: "abc12345", cost: [{ startTime: "2024-01-01T00:00:00Z", value: 1.5, currencyCode: "USD", capabilityKey: "X" }] }];
table("costLines", [
  ["invalid account UUID", () => costLines({ accountUuid: "acme", subscriptionUuid: SUB, environments: envs }), "INVALID_INPUT", "accountUuid"],
  ["invalid subscription UUID", () => costLines({ accountUuid: ACCOUNT_A, subscriptionUuid: "../x", environments: envs }), "INVALID_INPUT", "subscriptionUuid"],
  ["unknown breakdown field", () => costLines({ accountUuid: ACCOUNT_A, subscriptionUuid: SUB, environments: envs, breakdown: { field: "TEAM", environments: [] } }), "INVALID_INPUT", "breakdown.field"],
  ["Infinity value", () => costLines({ accountUuid: ACCOUNT_A, subscriptionUuid: SUB, environments: [{ ...envs[0], cost: [{ ...envs[0].cost[0], value: Infinity }] }] }), "INVALID_INPUT"],
]);

table("datadogRules", [
  ["missing keys", () => datadogRules({}), "INVALID_INPUT", "apiKey"],
  ["unknown site", () => datadogRules({ apiKey: "k", applicationKey: "a", site: "datadoghq.evil" }), "INVALID_INPUT", "site"],
  ["http:// baseUrl", () => datadogRules({ apiKey: "k", applicationKey: "a", baseUrl: "http://api.datadoghq.com" }), "INVALID_INPUT", "baseUrl"],
  ["site and baseUrl", () => datadogRules({ apiKey: "k", applicationKey: "a", site: "us5", baseUrl: "https://x.test" }), "INVALID_INPUT", "site"],
  ["non-numeric ruleId", () => datadogRules({ apiKey: "k", applicationKey: "a", baseUrl: config.datadogUrl ?? "https://127.0.0.1:1", ruleId: "../1" }), "INVALID_INPUT", "ruleId"],
]);

// reportData / exportCost: options checked before any request; a failing account fails the call.
const reportBase = () => ({ accounts: [{ accountUuid: A.accountUuid, clientId: A.clientId, clientSecret: A.clientSecret }], ssoUrl: config.ssoUrl, apiUrl: config.apiUrl, now: NOW, retry: FAST });
for (const [name, fn] of [["reportData", reportData], ["exportCost", exportCost]]) {
  table(name, [
    ["not an object", () => fn("x"), "INVALID_INPUT"],
    ["no accounts", () => fn({ ...reportBase(), accounts: [] }), "INVALID_INPUT", "accounts"],
    ["unknown option", () => fn({ ...reportBase(), frobnicate: 1 }), "INVALID_INPUT"],
    ["invalid account UUID", () => fn({ ...reportBase(), accounts: [{ ...reportBase().accounts[0], accountUuid: "../x" }] }), "INVALID_INPUT", "accounts[0].accountUuid"],
    ["http:// non-loopback API", () => fn({ ...reportBase(), apiUrl: "http://api.example.com" }), "INVALID_INPUT"],
    ["NaN windowDays", () => fn({ ...reportBase(), windowDays: NaN }), "INVALID_INPUT", "windowDays"],
    ["huge windowDays", () => fn({ ...reportBase(), windowDays: 1e9 }), "INVALID_INPUT", "windowDays"],
    ["invalid date", () => fn({ ...reportBase(), from: "2026-02-30" }), "INVALID_INPUT", "from"],
    ["to before from", () => fn({ ...reportBase(), from: "2026-11-05", to: "2026-11-01" }), "INVALID_INPUT", "to"],
    ["window over 400 days", () => fn({ ...reportBase(), from: "2024-01-01", to: "2026-01-01" }), "INVALID_INPUT", "to"],
    ["unknown format", () => fn({ ...reportBase(), format: "xlsx" }), "INVALID_INPUT", "format"],
    ["bad rules", () => fn({ ...reportBase(), rules: [rule(pct(-1))] }), "RULE_INVALID"],
    ["wrong secret", () => fn({ ...reportBase(), accounts: [{ ...reportBase().accounts[0], clientSecret: "dt0s02.WRONG.secret" }] }), "AUTH_INVALID_CLIENT"],
  ]);
}

// allocateStream: allocate's input errors at the call, plus its own options.
table("allocateStream", [
  ["no input", () => allocateStream(), "INVALID_INPUT", "input"],
  ["missing lines", () => allocateStream({ rules: [] }), "INVALID_INPUT", "lines"],
  ["missing rules", () => allocateStream({ lines: [line] }), "INVALID_INPUT", "rules"],
  ["NaN cost", () => allocateStream({ lines: [{ ...line, cost: NaN }], rules: [] }), "INVALID_INPUT", "lines[0].cost"],
  ["invalid date", () => allocateStream({ lines: [{ ...line, date: "2024-02-30" }], rules: [] }), "INVALID_INPUT", "lines[0].date"],
  ["unknown method", () => allocateStream({ lines: [line], rules: [rule({ ...pct(1), method: "fair" })] }), "RULE_INVALID", "strategy.method"],
  ["unknown output", () => allocateStream({ lines: [line], rules: [], output: { csv: true } }), "INVALID_INPUT", "output.csv"],
  ["chunkLines 0", () => allocateStream({ lines: [line], rules: [] }, { chunkLines: 0 }), "INVALID_INPUT", "options.chunkLines"],
  ["negative chunkLines", () => allocateStream({ lines: [line], rules: [] }, { chunkLines: -5 }), "INVALID_INPUT", "options.chunkLines"],
  ["NaN chunkLines", () => allocateStream({ lines: [line], rules: [] }, { chunkLines: NaN }), "INVALID_INPUT", "options.chunkLines"],
  ["null chunkLines", () => allocateStream({ lines: [line], rules: [] }, { chunkLines: null }), "INVALID_INPUT", "options.chunkLines"],
  ["fractional chunkLines", () => allocateStream({ lines: [line], rules: [] }, { chunkLines: 2.5 }), "INVALID_INPUT", "options.chunkLines"],
  ["chunkLines as text", () => allocateStream({ lines: [line], rules: [] }, { chunkLines: "100" }), "INVALID_INPUT", "options.chunkLines"],
  ["huge chunkLines", () => allocateStream({ lines: [line], rules: [] }, { chunkLines: 1e12 }), "INVALID_INPUT", "options.chunkLines"],
  ["unknown option", () => allocateStream({ lines: [line], rules: [] }, { chunk: 10 }), "INVALID_INPUT", "options.chunk"],
  ["options not an object", () => allocateStream({ lines: [line], rules: [] }, 7), "INVALID_INPUT", "options"],
  ["next() after break", () => { const s = allocateStream({ lines: [line, line], rules: [] }, { chunkLines: 1 }); for (const _ of s) break; return s.next(); }, "INVALID_INPUT", "stream"],
  ["summary() before the end", () => allocateStream({ lines: [line], rules: [] }).summary(), "INVALID_INPUT", "stream"],
]);

const focusLine = { date: "2024-01-31", cost: 1.5, currency: "USD", tags: { account: ACCOUNT_A, environment: "abc12345", capability: "X" } };
table("focusExport", [
  ["no lines", () => focusExport({}), "INVALID_INPUT", "lines"],
  ["invalid date", () => focusExport({ lines: [{ ...focusLine, date: "2024-02-30" }] }), "INVALID_INPUT", "lines[0].date"],
  ["date with a time zone", () => focusExport({ lines: [{ ...focusLine, date: "2024-01-31T00:00:00+02:00" }] }), "INVALID_INPUT", "lines[0].date"],
  ["NaN cost", () => focusExport({ lines: [{ ...focusLine, cost: NaN }] }), "INVALID_INPUT", "lines[0].cost"],
  ["huge cost", () => focusExport({ lines: [{ ...focusLine, cost: 1e300 }] }), "INVALID_INPUT", "lines[0].cost"],
  ["lower-case currency", () => focusExport({ lines: [{ ...focusLine, currency: "usd" }] }), "INVALID_INPUT", "lines[0].currency"],
  ["no account tag", () => focusExport({ lines: [{ ...focusLine, tags: {} }] }), "INVALID_INPUT", "lines[0].tags.account"],
  ["unknown format", () => focusExport({ lines: [focusLine], format: "xml" }), "INVALID_INPUT", "input.format"],
  ["bad usage date", () => focusExport({ lines: [focusLine], usage: [{ environmentId: "abc12345", capabilityKey: "X", date: "x", value: 1, unit: "GiB" }] }), "INVALID_INPUT", "input.usage[0].date"],
  ["negative usage", () => focusExport({ lines: [focusLine], usage: [{ environmentId: "abc12345", capabilityKey: "X", date: "2024-01-31", value: -1, unit: "GiB" }] }), "INVALID_INPUT", "input.usage[0].value"],
  ["bad rules", () => focusExport({ lines: [focusLine], rules: [rule(pct(2))] }), "RULE_INVALID"],
]);

// focusExportStream: focusExport's input errors at the call; a bad row's with the chunk holding it.
table("focusExportStream", [
  ["no lines", () => focusExportStream({}), "INVALID_INPUT", "lines"],
  ["NaN cost", () => focusExportStream({ lines: [{ ...focusLine, cost: NaN }] }), "INVALID_INPUT", "lines[0].cost"],
  ["unknown format", () => focusExportStream({ lines: [focusLine], format: "xml" }), "INVALID_INPUT", "input.format"],
  ["bad rules", () => focusExportStream({ lines: [focusLine], rules: [rule(pct(2))] }), "RULE_INVALID"],
  ["invalid date (first chunk)", () => focusExportStream({ lines: [{ ...focusLine, date: "2024-02-30" }] }).next(), "INVALID_INPUT", "lines[0].date"],
  ["no account tag (second chunk)", () => { const s = focusExportStream({ lines: [focusLine, { ...focusLine, tags: {} }] }, { chunkRows: 1 }); s.next(); return s.next(); }, "INVALID_INPUT", "lines[1].tags.account"],
  ["chunkRows 0", () => focusExportStream({ lines: [focusLine] }, { chunkRows: 0 }), "INVALID_INPUT", "options.chunkRows"],
  ["NaN chunkRows", () => focusExportStream({ lines: [focusLine] }, { chunkRows: NaN }), "INVALID_INPUT", "options.chunkRows"],
  ["fractional chunkRows", () => focusExportStream({ lines: [focusLine] }, { chunkRows: 0.5 }), "INVALID_INPUT", "options.chunkRows"],
  ["unknown option", () => focusExportStream({ lines: [focusLine] }, { chunkLines: 5 }), "INVALID_INPUT", "options.chunkLines"],
  ["next() after break", () => { const s = focusExportStream({ lines: [focusLine, focusLine] }, { chunkRows: 1 }); for (const _ of s) break; return s.next(); }, "INVALID_INPUT", "stream"],
]);

table("forecastSpend", [
  ["no input", () => forecastSpend(undefined), "INVALID_INPUT", "input"],
  ["empty history", () => forecastSpend({ history: [], firstDate: "2026-01-05", horizon: 3 }), "INVALID_INPUT", "input.history"],
  ["NaN in history", () => forecastSpend({ history: [1, NaN], firstDate: "2026-01-05", horizon: 3 }), "INVALID_INPUT"],
  ["negative cost", () => forecastSpend({ history: [1, -2], firstDate: "2026-01-05", horizon: 3 }), "INVALID_INPUT", "input.history[1]"],
  ["invalid date", () => forecastSpend({ history: [1], firstDate: "2026-02-30", horizon: 3 }), "INVALID_INPUT", "input.firstDate"],
  ["horizon too long", () => forecastSpend({ history: [1], firstDate: "2026-01-05", horizon: 100_000 }), "INVALID_INPUT", "input.horizon"],
  ["wrong type", () => forecastSpend({ history: "1,2", firstDate: "2026-01-05", horizon: 3 }), "INVALID_INPUT"],
]);

table("costEventsFromJson", [
  ["malformed JSON", () => costEventsFromJson("{", { accountUuid: ACCOUNT_A, subscription }), "INVALID_INPUT"],
  ["NaN value", () => costEventsFromJson('{"data":[{"startTime":"2024-01-01T00:00:00Z","value":NaN}]}', { accountUuid: ACCOUNT_A, subscription }), "INVALID_INPUT"],
  ["invalid date", () => costEventsFromJson('{"data":[{"startTime":"2024-02-30T00:00:00Z","value":1}]}', { accountUuid: ACCOUNT_A, subscription }), "INVALID_INPUT"],
  ["invalid account UUID", () => costEventsFromJson('{"data":[]}', { accountUuid: "../x", subscription }), "INVALID_INPUT", "options.accountUuid"],
]);

// ---------------------------------------------------------------------------------------------
// CLI: exit 2 (usage / INVALID_INPUT before any request) or 1 (failed), the code on stderr,
// nothing on stdout, no --out file.

const cliEnv = (extra = {}) => ({ PATH: process.env.PATH, HOME: process.env.HOME, DT_ACCOUNT_UUID: A.accountUuid, DT_CLIENT_ID: A.clientId,
  DT_CLIENT_SECRET: A.clientSecret, DT_API_URL: config.apiUrl, DT_SSO_URL: config.ssoUrl, ...extra });

describe("CLI", () => {
  const rows = [
    ["unknown command", ["frobnicate"], {}, 2, /unknown command/],
    ["unknown flag", ["cost", "--frobnicate"], {}, 2, /frobnicate/],
    ["invalid account UUID", ["subscriptions"], { DT_ACCOUNT_UUID: "not-a-uuid" }, 2, /INVALID_INPUT/],
    ["missing secret", ["subscriptions"], { DT_CLIENT_SECRET: "" }, 2, /secret|DT_CLIENT_SECRET/i],
    ["http:// non-loopback API", ["subscriptions"], { DT_API_URL: "http://api.example.com" }, 2, /INVALID_INPUT/],
    ["hostile subscription", ["cost", "--subscription", "../../x"], {}, 2, /INVALID_INPUT/],
    ["invalid date", ["env-cost", "--from", "2024-02-30", "--to", "2024-03-01"], {}, 2, /INVALID_INPUT|date/],
    ["end before start", ["env-cost", "--from", "2024-03-01", "--to", "2024-02-01"], {}, 2, /INVALID_INPUT|--to must be after --from/],
    ["page size NaN", ["env-cost", "--page-size", "NaN"], {}, 2, /page-size|INVALID_INPUT/],
    ["unknown allocation field", ["cost-allocation", "--environment", "abc12345", "--field", "team"], {}, 2, /field|INVALID_INPUT/],
    ["duplicate keys", ["costcenters", "add", "DUP", "DUP"], {}, 2, /INVALID_INPUT/],
    ["wrong secret", ["subscriptions"], { DT_CLIENT_SECRET: "dt0s02.WRONG.secret" }, 1, /AUTH_INVALID_CLIENT/],
    ["export: unknown format", ["export", "--format", "xlsx", "--out", "x.csv"], {}, 2, /--format/],
    ["export: invalid date", ["export", "--from", "2024-02-30", "--out", "x.csv"], {}, 2, /--from/],
    ["export: window too long", ["export", "--window-days", "401", "--out", "x.csv"], {}, 2, /window-days/],
    ["export: wrong secret", ["export", "--out", "x.csv"], { DT_CLIENT_SECRET: "dt0s02.WRONG.secret" }, 1, /AUTH_INVALID_CLIENT/],
    ["report: bad rules file", ["report", "--rules", "/nonexistent/rules.json"], {}, 2, /--rules/],
  ];
  for (const [what, args, env, exit, stderr] of rows) {
    test(what, async () => {
      const r = await runAsync(process.execPath, [pkg.bin, ...args, "--json"], { env: cliEnv(env), cwd: pkg.projectDir, timeout: 60_000 });
      assert.equal(r.code, exit, `exit ${r.code}\n${r.stderr}`);
      assert.match(r.stderr, stderr);
      assert.equal(r.stdout.trim(), "", `stdout must be empty: ${r.stdout.slice(0, 200)}`);
      assertNoSecret(r.stdout + r.stderr, secrets, `cli ${what}`);
    });
  }

  test("allocate with a bad rules file: no output", async () => {
    const rules = join(tmp, "rules.json");
    writeFileSync(rules, JSON.stringify([rule(pct(-1))]));
    const r = await runAsync(process.execPath, [pkg.bin, "allocate", "--rules", rules, "--json"], { env: cliEnv(), cwd: pkg.projectDir, timeout: 60_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /RULE_INVALID/);
    assert.equal(r.stdout.trim(), "");
  });

  test("a failed command with --out leaves no file", async (t) => {
    const help = await runAsync(process.execPath, [pkg.bin, "report", "--help"], { env: cliEnv(), cwd: pkg.projectDir });
    if (help.code !== 0) return t.skip("no report command in this build");
    const out = join(tmp, "report.html");
    const r = await runAsync(process.execPath, [pkg.bin, "report", "--out", out], { env: cliEnv({ DT_CLIENT_SECRET: "dt0s02.WRONG.secret" }), cwd: pkg.projectDir, timeout: 60_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /AUTH_INVALID_CLIENT/);
    assert.equal(existsSync(out), false, "a failed run must not leave a partial --out file");
  });
});
