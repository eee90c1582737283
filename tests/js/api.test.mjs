// Every DpsClient method of the packed package against the emulator (default profile, fixed
// now): shapes, values cross-checked between endpoints, paging, scopes, allow-list round trips,
// request counts, and a secret scan over everything the library returned, threw or logged.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ACCOUNT_A, ACCOUNT_B, NOW, close, installedPackage, secretsOf, startPackagedEmulator, storedEvents, clearEvents } from "./helpers.mjs";
import { Transcript, clearRequestLog, requestLog, tapTokens } from "./support.mjs";

const pkg = await installedPackage();
const main = await pkg.import("dps-cost");

const T = new Transcript();
const TIMEOUT = { timeout: 30_000 };
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DAY = 86_400_000;
/** The 35 days ending today 00:00Z (today = NOW's day). */
const WINDOW = { startTime: "2026-10-19T00:00:00Z", endTime: "2026-11-23T00:00:00Z" };
const WINDOW_DAYS = 35;
const HOSTILE_KEYS = ["a/b", "x?y#z", "100%", "ü ß", "../etc"];

let emu;
let config;
let tap;
let A;
let B;
let stopConsole;
let ca; // DpsClient of account A
let cb; // DpsClient of account B
let activeA;
let activeB;

before(async () => {
  emu = await startPackagedEmulator();
  config = emu.config;
  tap = tapTokens(emu);
  stopConsole = T.captureConsole();
  A = config.accounts.find((a) => a.accountUuid === ACCOUNT_A);
  B = config.accounts.find((a) => a.accountUuid === ACCOUNT_B);
  ca = client(A);
  cb = client(B);
  activeA = await rec("activeSubscription A", ca.activeSubscription());
  activeB = await rec("activeSubscription B", cb.activeSubscription());
});
after(async () => {
  stopConsole?.();
  ca?.free();
  cb?.free();
  await emu?.close();
});

function client(a, extra = {}) {
  return new main.DpsClient({
    accountUuid: a.accountUuid,
    clientId: a.clientId,
    clientSecret: a.clientSecret,
    ssoUrl: config.ssoUrl,
    apiUrl: config.apiUrl,
    ...extra,
  });
}

/** Awaits a library call, recording its value (or error) for the secret scan. */
async function rec(where, promise) {
  try {
    return T.value(where, await promise);
  } catch (e) {
    throw T.error(where, e);
  }
}

/** Asserts a rejection with a real DpsCostError of `code`; returns the error. */
async function rejects(where, promiseOrFn, code, more = {}) {
  let error;
  try {
    await (typeof promiseOrFn === "function" ? promiseOrFn() : promiseOrFn);
  } catch (e) {
    error = T.error(where, e);
  }
  assert.ok(error, `${where}: expected ${code}, but it resolved`);
  assert.ok(error instanceof Error, `${where}: a real Error`);
  assert.equal(error.name, "DpsCostError", `${where}: name`);
  assert.equal(main.isDpsCostError(error), true);
  assert.equal(error.code, code, `${where}: ${error.code}: ${error.message}`);
  for (const [k, v] of Object.entries(more)) assert.equal(error[k], v, `${where}: ${k}`);
  return error;
}

const dayOf = (iso) => iso.slice(0, 10);
const sumBy = (items, key, value) => {
  const m = new Map();
  for (const x of items) m.set(key(x), (m.get(key(x)) ?? 0) + value(x));
  return m;
};
const apiRequests = async () => (await requestLog(emu)).filter((r) => !r.path.startsWith("/sso/"));

describe("subscriptions", () => {
  test("subscriptions(): every subscription with its fields", TIMEOUT, async () => {
    const subs = await rec("subscriptions A", ca.subscriptions());
    assert.equal(subs.length, 3);
    for (const s of subs) {
      assert.match(s.uuid, UUID_RE);
      assert.match(s.startTime, /^\d{4}-\d{2}-\d{2}/);
      assert.match(s.endTime, /^\d{4}-\d{2}-\d{2}/);
      assert.equal(typeof s.name, "string");
    }
    assert.deepEqual(subs.map((s) => `${s.status}/${s.type}`).sort(), ["ACTIVE/REGULAR", "ACTIVE/TRIAL", "EXPIRED/REGULAR"]);
    assert.equal((await rec("subscriptions B", cb.subscriptions())).length, 2);
  });

  test("activeSubscription(): the ACTIVE REGULAR one, as listed", TIMEOUT, async () => {
    const subs = await rec("subscriptions A", ca.subscriptions());
    assert.deepEqual(activeA, subs.find((s) => s.status === "ACTIVE" && s.type === "REGULAR"));
    assert.equal(activeB.status, "ACTIVE");
    assert.notEqual(activeA.uuid, activeB.uuid);
  });

  test("subscription(uuid): budget, current period, capabilities", TIMEOUT, async () => {
    for (const [c, active, currency] of [
      [ca, activeA, "USD"],
      [cb, activeB, "EUR"],
    ]) {
      const d = await rec("subscription", c.subscription(active.uuid));
      assert.equal(d.uuid, active.uuid);
      assert.equal(d.budget.currencyCode, currency);
      assert.ok(d.budget.total > d.budget.used && d.budget.used > 0);
      assert.ok(Number.isInteger(d.currentPeriod.daysRemaining) && d.currentPeriod.daysRemaining >= 0);
      assert.equal(d.capabilities.length, 8);
      for (const k of d.capabilities) assert.match(k.key, /^[A-Z_]+$/);
    }
  });

  test("unknown subscription → NOT_FOUND; malformed UUID → INVALID_INPUT before any request", TIMEOUT, async () => {
    await rejects("subscription unknown", ca.subscription("00000000-0000-4000-8000-000000000000"), "NOT_FOUND", { status: 404 });
    await clearRequestLog(emu);
    await rejects("subscription malformed", ca.subscription("not-a-uuid"), "INVALID_INPUT", { field: "subscriptionUuid" });
    assert.deepEqual(await requestLog(emu), []);
  });
});

describe("daily cost and usage", () => {
  test("dailyCost(): one record per booked day, summing to budget.used", TIMEOUT, async () => {
    const d = await rec("subscription A", ca.subscription(activeA.uuid));
    const cost = await rec("dailyCost A", ca.dailyCost(activeA.uuid));
    assert.equal(cost.length, 400, "400 days since the subscription started, up to yesterday");
    assert.equal(new Set(cost.map((r) => dayOf(r.startTime))).size, cost.length);
    for (const r of cost) {
      assert.ok(Number.isFinite(r.value) && r.value >= 0);
      assert.equal(r.currencyCode, "USD");
    }
    assert.ok(close(cost.reduce((s, r) => s + r.value, 0), d.budget.used));
    const withTotals = main.costToDate(cost);
    assert.ok(close(withTotals.at(-1).costToDate, d.budget.used));
  });

  test("dailyCost() filters: environments partition the total; all capabilities = unfiltered; clusters match nothing on SaaS", TIMEOUT, async () => {
    const all = sumBy(await rec("dailyCost", ca.dailyCost(activeA.uuid)), (r) => dayOf(r.startTime), (r) => r.value);
    const parts = await Promise.all(A.environments.map((e) => rec("dailyCost env", ca.dailyCost(activeA.uuid, { environmentIds: [e.id] }))));
    const summed = sumBy(parts.flat(), (r) => dayOf(r.startTime), (r) => r.value);
    assert.equal(summed.size, all.size);
    for (const [day, v] of all) assert.ok(close(summed.get(day), v), day);
    const d = await rec("subscription", ca.subscription(activeA.uuid));
    const caps = await rec("dailyCost caps", ca.dailyCost(activeA.uuid, { capabilityKeys: d.capabilities.map((c) => c.key) }));
    for (const r of caps) assert.ok(close(r.value, all.get(dayOf(r.startTime))));
    assert.deepEqual(await rec("dailyCost cluster", ca.dailyCost(activeA.uuid, { clusterIds: ["cluster-1"] })), []);
  });

  test("subscriptionUsage(): usage × rate-card price = the day's cost (1e-6)", TIMEOUT, async () => {
    const usage = await rec("subscriptionUsage A", ca.subscriptionUsage(activeA.uuid));
    assert.equal(usage.length, 400 * 8);
    for (const r of usage.slice(0, 16)) {
      assert.match(r.capabilityKey, /^[A-Z_]+$/);
      assert.equal(typeof r.unitMeasure, "string");
      assert.ok(Number.isFinite(r.value));
    }
    const cards = await rec("rateCards A", ca.rateCards());
    const card = cards.find((c) => c.startTime === activeA.startTime);
    const price = new Map(card.capabilities.map((k) => [k.key, Number(k.price)]));
    const costByDay = sumBy(usage, (r) => dayOf(r.startTime), (r) => r.value * price.get(r.capabilityKey));
    const cost = await rec("dailyCost A", ca.dailyCost(activeA.uuid));
    assert.equal(costByDay.size, cost.length);
    for (const r of cost) assert.ok(close(costByDay.get(dayOf(r.startTime)), r.value), dayOf(r.startTime));
  });
});

describe("per-environment cost and usage (v3)", () => {
  test("environmentCost(): every environment once; summed over environments and capabilities = /cost per day (1e-6)", TIMEOUT, async () => {
    for (const [c, a, active] of [
      [ca, A, activeA],
      [cb, B, activeB],
    ]) {
      const envs = await rec("environmentCost", c.environmentCost(active.uuid, WINDOW));
      assert.deepEqual(envs.map((e) => e.environmentId), a.environments.map((e) => e.id), "each environment once, merged across pages");
      for (const e of envs) {
        assert.equal(e.clusterId, null);
        assert.equal(e.records.length, WINDOW_DAYS * 8);
        for (const r of e.records) {
          assert.ok(r.startTime >= "2026-10-19" && r.startTime < "2026-11-23", r.startTime);
          assert.match(r.capabilityKey, /^[A-Z_]+$/);
          assert.ok(Number.isFinite(r.value));
        }
      }
      const v3 = sumBy(envs.flatMap((e) => e.records), (r) => dayOf(r.startTime), (r) => r.value);
      const cost = (await rec("dailyCost", c.dailyCost(active.uuid))).filter((r) => r.startTime >= "2026-10-19");
      assert.equal(cost.length, WINDOW_DAYS);
      assert.equal(v3.size, WINDOW_DAYS);
      for (const r of cost) assert.ok(close(v3.get(dayOf(r.startTime)), r.value), `${a.name} ${dayOf(r.startTime)}`);
    }
  });

  test("environmentUsage(): summed over environments = subscriptionUsage per day and capability", TIMEOUT, async () => {
    const envs = await rec("environmentUsage", ca.environmentUsage(activeA.uuid, WINDOW));
    assert.equal(envs.length, 2);
    const v3 = sumBy(envs.flatMap((e) => e.records), (r) => `${dayOf(r.startTime)} ${r.capabilityKey}`, (r) => r.value);
    const usage = (await rec("subscriptionUsage", ca.subscriptionUsage(activeA.uuid))).filter((r) => r.startTime >= "2026-10-19");
    assert.equal(v3.size, usage.length);
    for (const r of usage) assert.ok(close(v3.get(`${dayOf(r.startTime)} ${r.capabilityKey}`), r.value));
  });

  test("environmentCost() filters: one environment = its share of the unfiltered read", TIMEOUT, async () => {
    const all = await rec("environmentCost", ca.environmentCost(activeA.uuid, WINDOW));
    const one = await rec("environmentCost env", ca.environmentCost(activeA.uuid, { ...WINDOW, environmentIds: ["def67890"] }));
    assert.deepEqual(one, all.filter((e) => e.environmentId === "def67890"));
    const cap = await rec("environmentCost cap", ca.environmentCost(activeA.uuid, { ...WINDOW, capabilityKeys: ["COMPUTE"] }));
    assert.deepEqual(
      cap,
      all.map((e) => ({ ...e, records: e.records.filter((r) => r.capabilityKey === "COMPUTE") })),
    );
  });

  test("environmentCostPages(): every page once, in order; the pages merge to environmentCost()", TIMEOUT, async () => {
    const query = { ...WINDOW, pageSize: 20 };
    await clearRequestLog(emu);
    const pages = [];
    for await (const page of ca.environmentCostPages(activeA.uuid, query)) pages.push(T.value("environmentCostPages", page));
    const log = (await apiRequests()).filter((r) => r.path.includes("/environments/cost"));
    const total = 2 * WINDOW_DAYS * 8;
    assert.equal(pages.length, Math.ceil(total / 20));
    assert.equal(log.length, pages.length, "one request per page");
    assert.equal(log[0].query["page-key"], undefined);
    const keys = log.slice(1).map((r) => r.query["page-key"]);
    assert.equal(new Set(keys).size, keys.length, "no page fetched twice");
    assert.deepEqual(keys, pages.slice(0, -1).map((p) => p.nextPageKey));
    assert.equal(pages.at(-1).nextPageKey, null);
    for (const p of pages) assert.equal(p.environments.reduce((n, e) => n + e.records.length, 0) > 0, true);
    const merged = [];
    for (const p of pages) {
      for (const e of p.environments) {
        const m = merged.find((x) => x.environmentId === e.environmentId);
        if (m) m.records.push(...e.records);
        else merged.push({ ...e, records: [...e.records] });
      }
    }
    assert.deepEqual(merged, await rec("environmentCost", ca.environmentCost(activeA.uuid, query)));
  });

  test("environmentUsagePages(): for await … break stops after the pages read", TIMEOUT, async () => {
    await clearRequestLog(emu);
    const it = ca.environmentUsagePages(activeA.uuid, { ...WINDOW, pageSize: 10 });
    let n = 0;
    for await (const page of it) {
      T.value("environmentUsagePages", page);
      assert.ok(page.nextPageKey);
      if (++n === 2) break;
    }
    assert.deepEqual(await it.next(), { done: true, value: undefined });
    const log = (await apiRequests()).filter((r) => r.path.includes("/environments/usage"));
    assert.equal(log.length, 2, "no page after the break");
  });

  test("page iterators check their query before any request", TIMEOUT, async () => {
    await clearRequestLog(emu);
    assert.throws(() => ca.environmentCostPages(activeA.uuid, { ...WINDOW, pageSize: 51 }), (e) => T.error("pages", e).code === "INVALID_INPUT");
    assert.throws(() => ca.environmentUsagePages(activeA.uuid, { startTime: WINDOW.endTime, endTime: WINDOW.startTime }), (e) => e.code === "INVALID_INPUT");
    await rejects("environmentCost no window", ca.environmentCost(activeA.uuid, { startTime: "yesterday", endTime: WINDOW.endTime }), "INVALID_INPUT");
    assert.deepEqual(await requestLog(emu), []);
  });

  test("environmentCostV2 / environmentUsageV2 (removed) → GONE naming the v3 path", TIMEOUT, async () => {
    const e1 = await rejects("environmentCostV2", ca.environmentCostV2(activeA.uuid), "GONE", { status: 410 });
    assert.match(e1.message, /\/sub\/v3\/accounts\/[^ ]+\/environments\/cost/);
    const e2 = await rejects("environmentUsageV2", ca.environmentUsageV2(activeA.uuid, { environmentIds: ["abc12345"] }), "GONE", { status: 410 });
    assert.match(e2.message, /\/sub\/v3\/accounts\/[^ ]+\/environments\/usage/);
  });
});

describe("forecast, events, rate cards", () => {
  test("forecast(): median within its band, budget = the subscription's, percentage consistent", TIMEOUT, async () => {
    const f = await rec("forecast", ca.forecast());
    const d = await rec("subscription", ca.subscription(activeA.uuid));
    assert.equal(f.budget, d.budget.total);
    assert.ok(f.forecastLower <= f.forecastMedian && f.forecastMedian <= f.forecastUpper);
    assert.ok(f.forecastMedian > d.budget.used);
    assert.ok(Math.abs(f.forecastBudgetPct - (100 * f.forecastMedian) / f.budget) < 0.01);
    assert.match(f.forecastBudgetDate, /^\d{4}-\d{2}-\d{2}$/);
    assert.match(f.forecastCreatedAt, /^2026-11-23T/);
    const fb = await rec("forecast B", cb.forecast());
    assert.equal(fb.budget, (await rec("subscription B", cb.subscription(activeB.uuid))).budget.total);
  });

  test("events(): sorted, typed; eventType and time filters select exactly the matching ones", TIMEOUT, async () => {
    const all = await rec("events", ca.events());
    assert.equal(all.length, 18);
    assert.deepEqual(all.map((e) => e.date), [...all.map((e) => e.date)].sort());
    for (const e of all) assert.ok(["cost", "forecast", "budget"].includes(e.eventType), e.eventType);
    for (const type of ["cost", "forecast", "budget"]) {
      assert.deepEqual(await rec("events type", ca.events({ eventType: type })), all.filter((e) => e.eventType === type));
    }
    const window = { startTime: "2026-01-01T00:00:00Z", endTime: "2026-11-01T00:00:00Z" };
    const inWindow = await rec("events window", ca.events(window));
    assert.ok(inWindow.length > 0 && inWindow.length < all.length);
    assert.deepEqual(inWindow, all.filter((e) => e.date >= "2026-01-01" && e.date < "2026-11-01"));
    assert.equal((await rec("events B", cb.events())).length, 14);
    await clearRequestLog(emu);
    await rejects("events bad type", ca.events({ eventType: "weather" }), "INVALID_INPUT", { field: "eventType" });
    assert.deepEqual(await requestLog(emu), []);
  });

  test("rateCards(): one card per REGULAR term; prices are exact decimal strings", TIMEOUT, async () => {
    const cards = await rec("rateCards", ca.rateCards());
    const subs = await rec("subscriptions", ca.subscriptions());
    assert.deepEqual(cards.map((c) => c.startTime).sort(), subs.filter((s) => s.type === "REGULAR").map((s) => s.startTime).sort());
    for (const c of cards) {
      assert.equal(c.currencyCode, "USD");
      assert.equal(c.capabilities.length, 8);
      for (const k of c.capabilities) {
        assert.equal(typeof k.price, "string");
        assert.match(k.price, /^\d+(\.\d+)?$/);
        assert.match(k.quotedPrice, /^\d+(\.\d+)?$/);
        assert.ok(Number(k.quotedPrice) >= Number(k.price));
      }
    }
    const fullstack = cards[0].capabilities.find((k) => k.key === "FULLSTACK_MONITORING");
    assert.equal(fullstack.price, "0.0085", "not 0.008499999…");
  });
});

describe("cost allocation", () => {
  const Q = { field: "COSTCENTER", environmentId: "abc12345", from: "2026-11-01", to: "2026-11-07" };

  test("costAllocation(): per (day, capability) the keys and the unallocated share sum to the v3 cost (1e-6)", TIMEOUT, async () => {
    const seeded = { COSTCENTER: await rec("listKeys", ca.listKeys("costcenters")), PRODUCT: await rec("listKeys", ca.listKeys("products")) };
    for (const q of [Q, { ...Q, field: "PRODUCT", environmentId: "def67890" }]) {
      const records = await rec("costAllocation", ca.costAllocation(activeA.uuid, q));
      const days = [...new Set(records.map((r) => r.date))].sort();
      assert.deepEqual(days, ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05", "2026-11-06", "2026-11-07"]);
      assert.ok(records.some((r) => r.key === null), "an unallocated share");
      for (const r of records) {
        assert.ok(r.key === null || seeded[q.field].includes(r.key), `key ${r.key}`);
        assert.ok(Number.isFinite(r.costs));
      }
      const alloc = sumBy(records, (r) => `${r.date} ${r.capability}`, (r) => r.costs);
      const [env] = await rec(
        "environmentCost",
        ca.environmentCost(activeA.uuid, { startTime: `${q.from}T00:00:00Z`, endTime: "2026-11-08T00:00:00Z", environmentIds: [q.environmentId] }),
      );
      assert.equal(alloc.size, env.records.length);
      for (const r of env.records) assert.ok(close(alloc.get(`${dayOf(r.startTime)} ${r.capabilityKey}`), r.value), `${dayOf(r.startTime)} ${r.capabilityKey}`);
    }
  });

  test("costAllocationPages(): later pages send page-key alone; each page once; break stops", TIMEOUT, async () => {
    const q = { ...Q, pageSize: 50 };
    await clearRequestLog(emu);
    const pages = [];
    for await (const p of ca.costAllocationPages(activeA.uuid, q)) pages.push(T.value("costAllocationPages", p));
    const log = (await apiRequests()).filter((r) => r.path.endsWith("/cost-allocation"));
    assert.ok(pages.length > 2);
    assert.equal(log.length, pages.length);
    assert.equal(log[0].query.field, "COSTCENTER");
    for (const r of log.slice(1)) assert.deepEqual(Object.keys(r.query), ["page-key"]);
    assert.equal(new Set(log.map((r) => r.queryString)).size, log.length, "no page fetched twice");
    assert.ok(!pages.at(-1).nextPageKey);
    assert.deepEqual(pages.flatMap((p) => p.records), await rec("costAllocation", ca.costAllocation(activeA.uuid, q)));

    await clearRequestLog(emu);
    const it = ca.costAllocationPages(activeA.uuid, q);
    for await (const p of it) {
      T.value("costAllocationPages", p);
      break;
    }
    assert.deepEqual(await it.next(), { done: true, value: undefined });
    assert.equal((await apiRequests()).length, 1);
  });

  test("invalid queries → INVALID_INPUT before any request", TIMEOUT, async () => {
    await clearRequestLog(emu);
    await rejects("costAllocation field", ca.costAllocation(activeA.uuid, { ...Q, field: "TEAM" }), "INVALID_INPUT", { field: "field" });
    await rejects("costAllocation date", ca.costAllocation(activeA.uuid, { ...Q, from: "2026-11-01T00:00:00Z" }), "INVALID_INPUT", { field: "from" });
    await rejects("costAllocation order", ca.costAllocation(activeA.uuid, { ...Q, from: "2026-11-08" }), "INVALID_INPUT");
    assert.throws(() => ca.costAllocationPages(activeA.uuid, { ...Q, pageSize: 0 }), (e) => T.error("pages", e).code === "INVALID_INPUT");
    assert.deepEqual(await requestLog(emu), []);
  });
});

describe("environments", () => {
  test("environments() and environmentsV1() list the account's environments", TIMEOUT, async () => {
    for (const [c, a] of [
      [ca, A],
      [cb, B],
    ]) {
      const envs = await rec("environments", c.environments());
      assert.deepEqual(envs.map((e) => ({ id: e.id, name: e.name })), a.environments);
      for (const e of envs) {
        assert.equal(e.active, true);
        assert.equal(e.url, `https://${e.id}.live.dynatrace.com`);
      }
      const v1 = await rec("environmentsV1", c.environmentsV1());
      assert.deepEqual(v1.tenantResources.map((e) => e.id), a.environments.map((e) => e.id));
      assert.ok(v1.managementZoneResources.length >= a.environments.length);
      for (const z of v1.managementZoneResources) {
        assert.ok(a.environments.some((e) => e.id === z.parent));
        assert.match(z.id, /^-?\d+$/);
      }
    }
  });
});

describe("allow lists", () => {
  const mutations = async () =>
    (await requestLog(emu)).filter((r) => r.path.includes("/settings/") && r.method !== "GET");

  test("round trip with hostile keys: add, list, replace, delete", TIMEOUT, async () => {
    const seeded = await rec("listKeys", ca.listKeys("costcenters"));
    assert.deepEqual(seeded, ["department-A", "department-B", "platform-team", "finance", "R&D"]);
    await rec("addKeys", ca.addKeys("costcenters", HOSTILE_KEYS));
    assert.deepEqual(await rec("listKeys", ca.listKeys("costcenters")), [...seeded, ...HOSTILE_KEYS]);

    const replacement = ["R&D", ...HOSTILE_KEYS.slice().reverse(), "Kundenservice München"];
    await rec("replaceKeys", ca.replaceKeys("costcenters", replacement));
    assert.deepEqual(await rec("listKeys", ca.listKeys("costcenters")), replacement);

    await clearRequestLog(emu);
    for (const key of HOSTILE_KEYS) await rec("deleteKey", ca.deleteKey("costcenters", key));
    assert.deepEqual(await rec("listKeys", ca.listKeys("costcenters")), ["R&D", "Kundenservice München"]);
    const deletes = (await mutations()).map((r) => r.path.split("/settings/costcenters/")[1]);
    assert.deepEqual(deletes, ["a%2Fb", "x%3Fy%23z", "100%25", "%C3%BC%20%C3%9F", "..%2Fetc"], "each key percent-encoded into one path segment");

    await rec("replaceKeys", ca.replaceKeys("costcenters", seeded));
    assert.deepEqual(await rec("listKeys", ca.listKeys("costcenters")), seeded);
  });

  test("products: add then delete leaves the list as it was", TIMEOUT, async () => {
    const before = await rec("listKeys", ca.listKeys("products"));
    await rec("addKeys", ca.addKeys("products", ["Data Lake ü"]));
    assert.deepEqual(await rec("listKeys", ca.listKeys("products")), [...before, "Data Lake ü"]);
    await rec("deleteKey", ca.deleteKey("products", "Data Lake ü"));
    assert.deepEqual(await rec("listKeys", ca.listKeys("products")), before);
    await rejects("deleteKey unknown", ca.deleteKey("products", "no such key"), "NOT_FOUND", { status: 404 });
  });

  test("duplicates and 251 values → INVALID_INPUT before any request", TIMEOUT, async () => {
    const many = Array.from({ length: 251 }, (_, i) => `cc-${i}`);
    await clearRequestLog(emu);
    await rejects("addKeys dup", ca.addKeys("costcenters", ["x", "y", "x"]), "INVALID_INPUT", { field: "keys[2]" });
    await rejects("replaceKeys dup", ca.replaceKeys("products", ["p", "p"]), "INVALID_INPUT", { field: "keys[1]" });
    await rejects("addKeys 251", ca.addKeys("costcenters", many), "INVALID_INPUT", { field: "keys" });
    await rejects("replaceKeys 251", ca.replaceKeys("costcenters", many), "INVALID_INPUT", { field: "keys" });
    await rejects("addKeys empty key", ca.addKeys("costcenters", [""]), "INVALID_INPUT");
    await rejects("listKeys bad list", ca.listKeys("teams"), "INVALID_INPUT");
    assert.deepEqual(await requestLog(emu), [], "no request at all");
    await rec("replaceKeys 250", ca.replaceKeys("costcenters", many.slice(0, 250)));
    assert.equal((await rec("listKeys", ca.listKeys("costcenters"))).length, 250, "250 is the limit, not beyond it");
    await rec("replaceKeys", ca.replaceKeys("costcenters", ["department-A", "department-B", "platform-team", "finance", "R&D"]));
  });

  test("a key already on the list → INVALID_INPUT after reading the list, nothing written", TIMEOUT, async () => {
    await rec("replaceKeys", ca.replaceKeys("costcenters", ["department-A", "department-B", "platform-team", "finance", "R&D"]));
    await clearRequestLog(emu);
    await rejects("addKeys existing", ca.addKeys("costcenters", ["new", "finance"]), "INVALID_INPUT", { field: "keys[1]" });
    const log = await requestLog(emu);
    assert.deepEqual(log.filter((r) => !r.path.startsWith("/sso/")).map((r) => r.method), ["GET"]);
    // 245 + 5 = 250 fits; one more does not.
    await rec("addKeys 245", ca.addKeys("costcenters", Array.from({ length: 245 }, (_, i) => `cc-${i}`)));
    await clearRequestLog(emu);
    await rejects("addKeys 251st", ca.addKeys("costcenters", ["one-too-many"]), "INVALID_INPUT", { field: "keys" });
    assert.deepEqual((await mutations()).length, 0);
    await rec("replaceKeys", ca.replaceKeys("costcenters", ["department-A", "department-B", "platform-team", "finance", "R&D"]));
  });

  test("scopes: account B (no account-uac-write) cannot write; its list is unchanged", TIMEOUT, async () => {
    const before = await rec("listKeys B", cb.listKeys("costcenters"));
    await clearRequestLog(emu);
    // The SSO endpoint refuses a token with a scope the client lacks, so nothing reaches the API.
    await rejects("addKeys B", cb.addKeys("costcenters", ["sneaky"]), "AUTH_MISSING_SCOPE");
    await rejects("deleteKey B", cb.deleteKey("costcenters", before[0]), "AUTH_MISSING_SCOPE");
    assert.deepEqual(await mutations(), []);
    // An SSO that ignores the requested scope hands out a read-only token: the API answers 403.
    const scopeless = async (url, init) => {
      if (String(url).endsWith("/sso/oauth2/token")) {
        const form = new URLSearchParams(init.body);
        form.delete("scope");
        init = { ...init, body: form.toString() };
      }
      return fetch(url, init);
    };
    const cb2 = client(B, { fetch: scopeless });
    try {
      await rejects("addKeys B scopeless", cb2.addKeys("costcenters", ["sneaky"]), "FORBIDDEN", { status: 403 });
      await rejects("replaceKeys B scopeless", cb2.replaceKeys("costcenters", ["sneaky"]), "FORBIDDEN", { status: 403 });
      await rejects("deleteKey B scopeless", cb2.deleteKey("costcenters", before[0]), "FORBIDDEN", { status: 403 });
    } finally {
      cb2.free();
    }
    assert.deepEqual(await rec("listKeys B", cb.listKeys("costcenters")), before);
  });

  // Regression (core 01fb1bd): "." and ".." would be dot segments, which every WHATWG URL parser
  // (fetch included) resolves away, also when encoded as %2E (`new URL("http://h/a/b/%2E%2E")`
  // is "/a/"), sending the DELETE to another resource (…/settings/). They must be refused.
  test("dot keys: deleteKey(\".\") / (\"..\") delete that key or refuse with INVALID_INPUT, never another URL", TIMEOUT, async (t) => {
    const before = await rec("listKeys", ca.listKeys("products"));
    await rec("addKeys dots", ca.addKeys("products", [".", ".."]));
    t.after(() => ca.replaceKeys("products", before));
    const problems = [];
    for (const key of [".", ".."]) {
      await clearRequestLog(emu);
      let outcome;
      try {
        await ca.deleteKey("products", key);
        outcome = "ok";
      } catch (e) {
        outcome = T.error("deleteKey dot", e).code;
      }
      const sent = (await mutations()).map((r) => `${r.method} ${r.path}`);
      const fine = outcome === "INVALID_INPUT" ? sent.length === 0 : outcome === "ok" && sent.every((x) => /\/settings\/products\/[^/]+$/.test(x));
      if (!fine) problems.push(`deleteKey(${JSON.stringify(key)}) → ${outcome}, sent: ${sent.join(", ")}`);
    }
    assert.deepEqual(problems, []);
  });
});

describe("request counts", () => {
  let counts;

  test("a full sync of both accounts: one token per account and scope, each resource read once", TIMEOUT, async () => {
    await clearRequestLog(emu);
    await clearEvents(emu);
    tap.requests.length = 0;
    const summary = await rec(
      "sync",
      main.sync({
        accounts: [A, B].map((a) => ({ accountUuid: a.accountUuid, clientId: a.clientId, clientSecret: a.clientSecret, name: a.name })),
        ssoUrl: config.ssoUrl,
        apiUrl: config.apiUrl,
        now: NOW,
        concurrency: 2,
        ingest: {
          url: config.ingestUrl,
          clientId: config.ingest.clientId,
          clientSecret: config.ingest.clientSecret,
          accountUuid: config.ingest.accountUuid,
          scope: config.ingest.scope,
        },
      }),
    );
    assert.equal(summary.ok, true);
    const tokens = tap.requests.map((r) => `${r.clientId} ${r.scope}`).sort();
    assert.deepEqual(tokens, [`${A.clientId} account-uac-read`, `${B.clientId} account-uac-read`, `${config.ingest.clientId} ${config.ingest.scope}`]);
    const log = (await requestLog(emu)).filter((r) => !r.path.startsWith("/sso/"));
    assert.ok(log.every((r) => r.status >= 200 && r.status < 300), "no request failed or was retried");
    // Every read (path + full query, page keys included) exactly once; ingest posts are the batches.
    const reads = sumBy(log.filter((r) => r.method === "GET"), (r) => `${r.path}?${r.queryString}`, () => 1);
    for (const [read, n] of reads) assert.equal(n, 1, `fetched ${n} times: ${read}`);
    const posts = log.filter((r) => r.method === "POST");
    assert.ok(posts.every((r) => r.path === "/api/v2/bizevents/ingest"));
    assert.equal(posts.length, summary.events.batches);
    assert.equal((await storedEvents(emu)).length, summary.events.built);
    const label = (p) =>
      p.replace(ACCOUNT_A, "{A}").replace(ACCOUNT_B, "{B}").replace(activeA.uuid, "{sA}").replace(activeB.uuid, "{sB}");
    const byPath = sumBy(log, (r) => `${r.method} ${label(r.path)}`, () => 1);
    counts = { sync: { tokenRequests: tokens.length, apiRequests: log.length, requestsByPath: Object.fromEntries(byPath) } };
  });

  test("a paged environmentCost read: one token request, each page fetched exactly once", TIMEOUT, async () => {
    const c = client(A);
    try {
      await clearRequestLog(emu);
      tap.requests.length = 0;
      const envs = await rec("environmentCost", c.environmentCost(activeA.uuid, { ...WINDOW, pageSize: 20 }));
      assert.equal(envs.reduce((n, e) => n + e.records.length, 0), 2 * WINDOW_DAYS * 8);
      assert.deepEqual(tap.requests.map((r) => `${r.clientId} ${r.scope}`), [`${A.clientId} account-uac-read`]);
      const log = (await requestLog(emu)).filter((r) => !r.path.startsWith("/sso/"));
      const pages = Math.ceil((2 * WINDOW_DAYS * 8) / 20);
      assert.equal(log.length, pages);
      assert.equal(new Set(log.map((r) => r.query["page-key"] ?? "")).size, pages, "each page once");
      counts.environmentCost = { tokenRequests: tap.requests.length, pageRequests: log.length, records: 2 * WINDOW_DAYS * 8, pageSize: 20 };
    } finally {
      c.free();
    }
    process.stderr.write(`\nrequest counts: ${JSON.stringify(counts, null, 2)}\n`);
  });
});

test("secret scan: no client secret, access token or API token in anything the library produced", TIMEOUT, async (t) => {
  // Real access tokens of every client and scope, on top of every token the emulator issued.
  const real = [];
  for (const [a, scopes] of [
    [A, ["account-uac-read", "account-uac-write", "account-env-read"]],
    [B, ["account-uac-read", "account-env-read"]],
  ]) {
    for (const scope of scopes) {
      real.push((await main.getToken({ accountUuid: a.accountUuid, clientId: a.clientId, clientSecret: a.clientSecret, scope, ssoUrl: config.ssoUrl })).accessToken);
    }
  }
  const ingest = config.ingest;
  real.push((await main.getToken({ accountUuid: ingest.accountUuid, clientId: ingest.clientId, clientSecret: ingest.clientSecret, scope: ingest.scope, ssoUrl: config.ssoUrl })).accessToken);
  const secrets = [...secretsOf(config), ...real, ...tap.tokens];
  const coverage = T.scan(secrets);
  assert.ok(coverage.items > 100, `${coverage.items} items scanned`);
  assert.ok(tap.tokens.size >= 10);
  const line = `secret scan (api): ${coverage.items} items, ${coverage.bytes} bytes, ${coverage.secrets} secrets (${tap.tokens.size} issued tokens) — ${JSON.stringify(coverage.byKind)}`;
  t.diagnostic(line);
  process.stderr.write(`${line}\n`);
});
