// The dashboard document (dist/dps-cost-dashboard.json, shipped as dps-cost/dashboard.json,
// written by `dps-cost dashboard`): its structure, its queries against the event schema the
// event builders produce, and the numbers its key tiles show, computed by the queries' own text
// (tests/js/dql.mjs) over the events the emulator stored after real syncs, against the API's own
// totals.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { checkAgainstSchema, evaluate, parse } from "./dql.mjs";
import { ACCOUNT_A, ACCOUNT_B, NOW, close, installedPackage, repoRoot, runAsync, startPackagedEmulator } from "./helpers.mjs";

const pkg = await installedPackage();
const lib = await pkg.import("dps-cost");
const shipped = readFileSync(join(pkg.pkgDir, "dps-cost-dashboard.json"), "utf8");
const doc = JSON.parse(shipped);

const KNOWN_VISUALIZATIONS = new Set([
  "lineChart", "areaChart", "barChart", "bandChart", "categoricalBarChart", "pieChart", "donutChart",
  "singleValue", "meterBar", "gauge", "table", "raw", "recordList", "histogram", "honeycomb", "heatmap", "scatterplot",
]);
const dataTiles = () => Object.entries(doc.tiles).filter(([, t]) => t.type === "data");
const tileByTitle = (title) => {
  const found = dataTiles().find(([, t]) => t.title === title);
  assert.ok(found, `a tile titled ${JSON.stringify(title)}`);
  return found[1];
};
const allQueries = () => [
  ...dataTiles().map(([id, t]) => [`tile ${id} (${t.title})`, t.query]),
  ...doc.variables.map((v) => [`variable ${v.key}`, v.input]),
];

describe("dashboard document: structure", () => {
  test("the package, dist/ and `dps-cost dashboard [--out]` carry the same document", async () => {
    assert.equal(readFileSync(join(repoRoot, "dist", "dps-cost-dashboard.json"), "utf8"), shipped);
    const r = await runAsync(pkg.bin, ["dashboard"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, shipped);
    const dir = mkdtempSync(join(tmpdir(), "dps-cost-dashboard-"));
    try {
      const out = join(dir, "d.json");
      const w = await runAsync(pkg.bin, ["dashboard", "--out", out]);
      assert.equal(w.code, 0, w.stderr);
      assert.equal(readFileSync(out, "utf8"), shipped);
      const bad = await runAsync(pkg.bin, ["dashboard", "--nope"]);
      assert.equal(bad.code, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("top-level keys of a version-21 Dashboards document", () => {
    for (const k of ["version", "variables", "tiles", "layouts"]) assert.ok(k in doc, `required key ${k}`);
    assert.equal(doc.version, 21);
    assert.equal(doc.importedWithCode, false);
    assert.ok(Array.isArray(doc.variables));
    assert.deepEqual(Object.keys(doc).sort(), ["annotations", "importedWithCode", "layouts", "settings", "tiles", "variables", "version"]);
  });

  test("every tile has a layout (and every layout a tile); the 24-column grid holds them without overlap", () => {
    assert.deepEqual(Object.keys(doc.layouts).sort(), Object.keys(doc.tiles).sort());
    const taken = new Map();
    for (const [id, l] of Object.entries(doc.layouts)) {
      for (const k of ["x", "y", "w", "h"]) assert.ok(Number.isInteger(l[k]), `${id}.${k} is an integer`);
      assert.ok(l.x >= 0 && l.y >= 0 && l.w >= 1 && l.h >= 1, `${id}: ${JSON.stringify(l)}`);
      assert.ok(l.x + l.w <= 24, `${id} fits the 24 columns: ${JSON.stringify(l)}`);
      for (let x = l.x; x < l.x + l.w; x++) {
        for (let y = l.y; y < l.y + l.h; y++) {
          const other = taken.get(`${x},${y}`);
          assert.equal(other, undefined, `tile ${id} overlaps tile ${other} at (${x}, ${y})`);
          taken.set(`${x},${y}`, id);
        }
      }
    }
  });

  test("every data tile has a title, a query and a known visualization; markdown tiles have content", () => {
    assert.ok(dataTiles().length >= 20);
    for (const [id, t] of Object.entries(doc.tiles)) {
      assert.ok(["data", "markdown"].includes(t.type), `${id}: type ${t.type}`);
      if (t.type === "markdown") {
        assert.equal(typeof t.content, "string");
        continue;
      }
      assert.ok(typeof t.title === "string" && t.title.length > 0, id);
      assert.ok(typeof t.query === "string" && t.query.startsWith("fetch bizevents"), `${id}: query`);
      assert.ok(KNOWN_VISUALIZATIONS.has(t.visualization), `${id}: visualization ${t.visualization}`);
      assert.equal(typeof t.visualizationSettings, "object");
      assert.equal(typeof t.querySettings, "object");
      if (t.visualization === "singleValue") {
        // the field the tile shows is a column of the query's result
        const field = t.visualizationSettings.singleValue.recordField;
        assert.ok(t.query.includes(`${field} =`), `${id}: recordField ${field} is a result column`);
      }
    }
  });

  test("the sections and tiles the issue lists, and the Account and Currency variables", () => {
    const headers = Object.values(doc.tiles)
      .filter((t) => t.type === "markdown")
      .map((t) => t.content.split("\n")[0]);
    assert.deepEqual(headers, [
      "## Subscription details",
      "## Account level details",
      "## Forecast and advanced cost management",
      "## Cost and usage per environment and capability",
      "## Chargeback",
      "## Data freshness and health",
    ]);
    for (const title of [
      "Commitment period start", "Commitment period end", "Budget used to date", "Days remaining", "Budget used %",
      "Subscription forecast", "Daily cost per account", "Cumulative cost per account (burn-up)", "Forecast per account",
      "Cost per capability", "Cost per environment", "Cost per cost center", "Cost per product",
      "Allocated cost by Datadog rule", "Allocated cost by destination", "Last sync per account", "Events in the last runs",
      "Failed runs (7 days)",
    ]) tileByTitle(title);
    assert.deepEqual(doc.variables.map((v) => [v.key, v.type, v.multiple]), [["Account", "query", true], ["Currency", "query", true]]);
  });

  test("every query filters on the dps-cost provider and keeps the newest copy of each event first", () => {
    for (const [where, query] of allQueries()) {
      const stages = parse(query);
      const filter = stages[1];
      assert.equal(filter.cmd, "filter", `${where}: the second stage is a filter`);
      assert.match(query.split("\n")[1], /^\| filter event\.provider == "dps4ma\.ingester" and event\.type == "[a-z0-9.]+"$/, where);
      const dedups = stages.map((s, i) => [s, i]).filter(([s]) => s.cmd === "dedup");
      assert.ok(dedups.length >= 1, `${where}: dedup`);
      const [first, at] = dedups[0];
      assert.deepEqual(first.args[0].e, { k: "field", name: "event.id" }, `${where}: the first dedup is on event.id`);
      assert.deepEqual(
        first.args[1],
        { named: "sort", list: [{ e: { k: "field", name: "timestamp" }, dir: "desc" }] },
        `${where}: sort:{timestamp desc}`,
      );
      // nothing but filters between the fetch and the dedup: every later stage sees newest copies
      assert.ok(stages.slice(1, at).every((s) => s.cmd === "filter"), `${where}: only filters before the dedup`);
      // the variables a query uses are the dashboard's
      for (const v of query.match(/\$[A-Za-z]+/g) ?? []) {
        assert.ok(doc.variables.some((x) => `$${x.key}` === v), `${where}: ${v} is a dashboard variable`);
      }
    }
  });
});

// ---- against real events ----

let emu;
let config;
let stored; // the emulator's stored events after two clean syncs, in arrival order
let storedAll; // … and after the failed run and the allocated lines
let schema; // {event.type: Set(field)}
let api; // per account: the API's own figures

const syncConfig = (extra = {}) => ({
  accounts: [ACCOUNT_A, ACCOUNT_B]
    .map((id) => config.accounts.find((a) => a.accountUuid === id))
    .map((a) => ({ accountUuid: a.accountUuid, clientId: a.clientId, clientSecret: a.clientSecret, name: a.name })),
  ssoUrl: config.ssoUrl,
  apiUrl: config.apiUrl,
  now: NOW,
  ingest: { url: config.ingestUrl, apiToken: config.ingest.apiToken },
  ...extra,
});

const DAY = 86_400_000;
const isoDay = (ms) => new Date(ms).toISOString().slice(0, 10);

/** The API's own totals for one account over the sync's window (35 days before NOW's day). */
async function apiFigures(account) {
  const client = new lib.DpsClient({ accountUuid: account.accountUuid, clientId: account.clientId, clientSecret: account.clientSecret, ssoUrl: config.ssoUrl, apiUrl: config.apiUrl });
  try {
    const sub = await client.activeSubscription();
    const details = await client.subscription(sub.uuid);
    const daily = await client.dailyCost(sub.uuid);
    const today = Math.floor(Date.parse(NOW) / DAY) * DAY;
    const envs = await client.environmentCost(sub.uuid, { startTime: new Date(today - 35 * DAY).toISOString(), endTime: new Date(today).toISOString() });
    const perCapability = {};
    for (const env of envs) {
      for (const r of env.records) {
        const k = `${r.capabilityKey}|${r.currencyCode}`;
        perCapability[k] = (perCapability[k] ?? 0) + r.value;
      }
    }
    const perCostCenter = {};
    for (const env of envs) {
      const records = await client.costAllocation(sub.uuid, { field: "COSTCENTER", environmentId: env.environmentId, from: isoDay(today - 35 * DAY), to: isoDay(today - DAY) });
      for (const r of records) {
        const k = r.key ?? "unallocated";
        perCostCenter[k] = (perCostCenter[k] ?? 0) + r.costs;
      }
    }
    return {
      costToDate: daily.reduce((s, r) => s + r.value, 0),
      used: details.budget.used,
      budget: details.budget.total,
      currency: details.budget.currencyCode,
      daysRemaining: details.currentPeriod.daysRemaining,
      perCapability,
      perCostCenter,
    };
  } finally {
    client.free();
  }
}

async function storedEvents() {
  const body = await (await fetch(`${emu.url}/__emulator/events`)).json();
  return body.events;
}

before(async () => {
  emu = await startPackagedEmulator();
  config = emu.config;
  // Two full syncs (every family): the second stores a second copy of every event, which is
  // what `dedup event.id` is for.
  for (let i = 0; i < 2; i++) {
    const s = await lib.sync(syncConfig());
    assert.equal(s.ok, true, JSON.stringify(s.accounts.map((a) => a.errors ?? a.error)));
  }
  stored = await storedEvents();
  // The failure fields of dps.sync.run (errorCode, incompleteFamilies) exist only on a failed
  // run: one more run, one day later, whose forecast fails.
  await fetch(`${emu.url}/__emulator/faults`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ path: "/subscriptions/forecast$", status: 500, times: 10 }),
  });
  const failed = await lib.sync(syncConfig({ now: new Date(Date.parse(NOW) + DAY).toISOString(), retry: { maxAttempts: 1 } }));
  assert.equal(failed.ok, false);
  await fetch(`${emu.url}/__emulator/faults`, { method: "DELETE" });
  // dps.cost.allocated: Datadog rules over a week of one account's cost lines.
  const a = config.accounts.find((x) => x.accountUuid === ACCOUNT_A);
  const client = new lib.DpsClient({ accountUuid: a.accountUuid, clientId: a.clientId, clientSecret: a.clientSecret, ssoUrl: config.ssoUrl, apiUrl: config.apiUrl });
  let lines;
  try {
    const sub = await client.activeSubscription();
    const environments = await client.environmentCost(sub.uuid, { startTime: "2026-11-15T00:00:00Z", endTime: "2026-11-22T00:00:00Z" });
    const breakdown = { field: "COSTCENTER", environments: [] };
    for (const env of environments) {
      const records = await client.costAllocation(sub.uuid, { field: "COSTCENTER", environmentId: env.environmentId, from: "2026-11-15", to: "2026-11-21" });
      breakdown.environments.push({ environmentId: env.environmentId, records });
    }
    lines = lib.costLines({ accountUuid: a.accountUuid, subscriptionUuid: sub.uuid, accountName: a.name, environments, breakdown });
  } finally {
    client.free();
  }
  const rules = await lib.datadogRules({ baseUrl: config.datadog.baseUrl, apiKey: config.datadog.apiKey, applicationKey: config.datadog.applicationKey });
  const allocated = lib.allocate({ lines, rules, output: { events: true } });
  const report = await lib.ingest({ url: config.ingestUrl, apiToken: config.ingest.apiToken, events: allocated.events });
  assert.equal(report.accepted, allocated.events.length);

  // The schema: every field name each event type carries, as the builders made them and the
  // store kept them.
  storedAll = await storedEvents();
  schema = {};
  for (const e of storedAll) {
    const fields = (schema[e["event.type"]] ??= new Set());
    for (const k of Object.keys(e)) fields.add(k);
  }

  api = {};
  for (const id of [ACCOUNT_A, ACCOUNT_B]) api[id] = await apiFigures(config.accounts.find((x) => x.accountUuid === id));
});
after(() => emu?.close());

describe("dashboard queries against the event schema", () => {
  test("the schema comes from the builders: every family, the run event, the allocated lines", () => {
    assert.deepEqual(Object.keys(schema).sort(), [
      "dps.cost.allocated", "dps.cost.allocation", "dps.cost2.booked", "dps.environment.cost",
      "dps.environment.usage", "dps.forecast", "dps.subscription.status", "dps.sync.run",
    ]);
    for (const f of ["runAt", "ok", "version", "eventsBuilt", "eventsAccepted", "eventsRejected", "eventsNotDelivered", "errorCode", "incompleteFamilies"]) {
      assert.ok(schema["dps.sync.run"].has(f), `dps.sync.run has ${f}`);
    }
  });

  test("every query names only event types and fields the events carry", () => {
    for (const [where, query] of allQueries()) {
      const { problems } = checkAgainstSchema(query, schema);
      assert.deepEqual(problems, [], `${where}:\n${query}`);
    }
  });

  test("the check fails on a renamed field or an unknown event type (it can fail)", () => {
    const q = tileByTitle("Cost to date").query;
    assert.ok(checkAgainstSchema(q.replace("sum(costToDate)", "sum(costToDat)"), schema).problems.some((p) => p.includes("costToDat")));
    const renamed = { ...schema, "dps.cost2.booked": new Set([...schema["dps.cost2.booked"]].filter((f) => f !== "costToDate")) };
    assert.ok(checkAgainstSchema(q, renamed).problems.length > 0, "without the builders' costToDate the tile is flagged");
    assert.ok(checkAgainstSchema(q.replace('"dps.cost2.booked"', '"dps.cost.booked"'), schema).problems.length > 0);
  });
});

describe("the key tiles show the API's own totals (computed from the stored events by the tiles' DQL)", () => {
  const run = (title, vars) => evaluate(tileByTitle(title).query, stored, vars);
  const varsFor = (account) => ({ Account: [account], Currency: [api[account].currency] });

  test("the store holds two copies of every event: without dedup the sums would double", () => {
    const ids = stored.map((e) => e["event.id"]);
    assert.equal(ids.length, 2 * new Set(ids).size);
  });

  for (const [name, account] of [["A", ACCOUNT_A], ["B", ACCOUNT_B]]) {
    test(`account ${name}: cost to date, budget used, budget used %, days remaining`, () => {
      const want = api[account];
      const [ctd] = run("Cost to date", varsFor(account));
      assert.ok(close(ctd.costToDate, want.costToDate), `cost to date ${ctd.costToDate} vs API ${want.costToDate}`);
      const [used] = run("Budget used to date", varsFor(account));
      assert.ok(close(used.used, want.used));
      const [pct] = run("Budget used %", varsFor(account));
      assert.ok(close(pct.budgetUsedPct, (100 * want.used) / want.budget), `${pct.budgetUsedPct} vs ${(100 * want.used) / want.budget}`);
      assert.deepEqual(Object.keys(pct), ["budgetUsedPct"]);
      const [days] = run("Days remaining", varsFor(account));
      assert.equal(days.daysRemaining, want.daysRemaining);
    });

    test(`account ${name}: cost per capability over the window`, () => {
      const rows = run("Cost per capability", varsFor(account));
      const got = Object.fromEntries(rows.map((r) => [`${r.capabilityKey}|${r.currency}`, r.cost]));
      assert.deepEqual(Object.keys(got).sort(), Object.keys(api[account].perCapability).sort());
      for (const [k, v] of Object.entries(api[account].perCapability)) assert.ok(close(got[k], v), `${k}: ${got[k]} vs API ${v}`);
      // sorted by cost, descending
      assert.deepEqual(rows.map((r) => r.cost), [...rows.map((r) => r.cost)].sort((a, b) => b - a));
    });

    test(`account ${name}: cost per cost center, unallocated included`, () => {
      const rows = run("Cost per cost center", varsFor(account));
      const got = Object.fromEntries(rows.map((r) => [r.key, r.costs]));
      assert.deepEqual(Object.keys(got).sort(), Object.keys(api[account].perCostCenter).sort());
      assert.ok("unallocated" in got, "the unallocated share is shown");
      for (const [k, v] of Object.entries(api[account].perCostCenter)) assert.ok(close(got[k], v), `${k}: ${got[k]} vs API ${v}`);
    });
  }

  test("the burn-up's last point per account is the cost to date", () => {
    for (const account of [ACCOUNT_A, ACCOUNT_B]) {
      const [series] = run("Cumulative cost per account (burn-up)", { Account: [account] });
      assert.ok(close(series.costToDate.at(-1), api[account].costToDate));
    }
  });

  test("freshness: the last run of each account says what it built and what was accepted", () => {
    const all = (title, vars) => evaluate(tileByTitle(title).query, storedAll, vars);
    const rows = all("Last sync per account", { Account: [ACCOUNT_A, ACCOUNT_B] });
    assert.equal(rows.length, 2);
    for (const r of rows) {
      // the latest run is the one whose forecast failed
      assert.equal(r.ok, false);
      assert.equal(r.errorCode, "HTTP_STATUS");
      assert.equal(r.incompleteFamilies, "forecast");
      assert.equal(r.eventsAccepted, r.eventsBuilt);
      assert.equal(r.version, lib.version());
    }
    assert.equal(all("Failed runs (7 days)", { Account: [ACCOUNT_A, ACCOUNT_B] }).length, 2);
    // before the failed run, the last runs were clean
    for (const r of run("Last sync per account", { Account: [ACCOUNT_A, ACCOUNT_B] })) assert.equal(r.ok, true);
  });

  test("the variables list the accounts and currencies", () => {
    const [account, currency] = doc.variables.map((v) => evaluate(v.input, stored, {}));
    assert.deepEqual(account.map((r) => r.account), [ACCOUNT_A, ACCOUNT_B].sort());
    assert.deepEqual(currency.map((r) => r.currency), [api[ACCOUNT_A].currency, api[ACCOUNT_B].currency].sort());
  });
});
