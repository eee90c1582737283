// Allocation end to end from the packed package: Dynatrace per-environment cost and the
// cost-center breakdown from the emulator, Datadog rules from the emulator's Datadog routes,
// costLines() → allocate(): exact conservation, audit tags, unallocatable cost kept.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { ACCOUNT_A, NOW, installedPackage, startPackagedEmulator } from "./helpers.mjs";

const pkg = await installedPackage();
const { DpsClient, allocate, costLines, datadogRules, ingest, isDpsCostError } = await pkg.import("dps-cost");

let emu;
let lines;
let rules;
before(async () => {
  emu = await startPackagedEmulator();
  const c = emu.config;
  const a = c.accounts.find((x) => x.accountUuid === ACCOUNT_A);
  const client = new DpsClient({ accountUuid: a.accountUuid, clientId: a.clientId, clientSecret: a.clientSecret, ssoUrl: c.ssoUrl, apiUrl: c.apiUrl });
  try {
    const sub = await client.activeSubscription();
    const environments = await client.environmentCost(sub.uuid, { startTime: "2026-11-15T00:00:00Z", endTime: "2026-11-22T00:00:00Z" });
    const breakdown = { field: "COSTCENTER", environments: [] };
    for (const env of environments) {
      const records = await client.costAllocation(sub.uuid, { field: "COSTCENTER", environmentId: env.environmentId, from: "2026-11-15", to: "2026-11-21" });
      breakdown.environments.push({ environmentId: env.environmentId, records });
    }
    lines = costLines({ accountUuid: a.accountUuid, subscriptionUuid: sub.uuid, accountName: a.name, environments, breakdown, environmentTags: { abc12345: { env: "prod" } } });
  } finally {
    client.free();
  }
  rules = await datadogRules({ baseUrl: c.datadog.baseUrl, apiKey: c.datadog.apiKey, applicationKey: c.datadog.applicationKey });
});
after(() => emu?.close());

const micros = (x) => Math.round(x * 1e6);

test("cost lines carry the Dynatrace tag model and the cost-center split", () => {
  assert.ok(lines.length > 100);
  for (const l of lines) {
    assert.equal(l.tags.provider, "dynatrace");
    assert.equal(l.tags.account, ACCOUNT_A);
    assert.ok(l.tags.environment && l.tags.capability && l.date.match(/^2026-11-\d\d$/));
  }
  assert.ok(lines.some((l) => l.tags.costcenter), "some lines carry a cost center");
  assert.ok(lines.some((l) => l.tags.environment === "abc12345" && l.tags.env === "prod"));
});

test("allocate conserves every micro-unit, tags what it allocated and keeps what it could not", () => {
  const r = allocate({ lines, rules });
  for (const [cur, t] of Object.entries(r.totals)) assert.equal(t.outputMicros, t.inputMicros, cur);
  const inTotal = lines.reduce((n, l) => n + micros(l.cost), 0);
  const outTotal = r.lines.reduce((n, l) => n + l.costMicros, 0);
  assert.equal(outTotal, inTotal);
  const byRule = Object.fromEntries(r.rules.map((x) => [x.ruleName, x]));
  assert.ok(byRule["log-queries-to-teams"].linesAllocated > 0);
  assert.ok(byRule["staging-by-production-spend"].linesAllocated > 0);
  const teams = new Set(r.lines.filter((l) => l.ruleName === "log-queries-to-teams").map((l) => l.tags.team));
  assert.deepEqual([...teams].sort(), ["platform", "web-shop"]);
  for (const l of r.lines.filter((x) => x.status === "allocated")) {
    assert.ok(l.tags.allocated_by_rule && l.ruleId && l.method && typeof l.ratio === "number", JSON.stringify(l));
  }
  for (const l of r.lines.filter((x) => x.status === "unallocated")) {
    assert.equal(l.tags.allocation_status, "unallocated");
    assert.ok(l.reason);
  }
  const staging = r.lines.filter((l) => l.ruleName === "staging-by-production-spend" && l.status === "allocated");
  assert.ok(staging.every((l) => l.tags.costcenter), "staging cost went to production's cost centers");
});

test("per-destination summary, allocation bizevents (ingested once each) and FOCUS columns", async () => {
  const r = allocate({ lines, rules, output: { events: true, focus: true } });
  // what each team received equals the allocated lines of that destination
  for (const d of r.destinations) {
    const got = r.lines
      .filter((l) => l.status === "allocated" && l.ruleId === d.ruleId && JSON.stringify(l.destinationTags) === JSON.stringify(d.tags))
      .reduce((n, l) => n + l.costMicros, 0);
    assert.equal(got, Object.values(d.costs).reduce((n, c) => n + c, 0), JSON.stringify(d.tags));
  }
  const touched = r.lines.filter((l) => l.status !== "unchanged");
  assert.equal(r.events.length, touched.length);
  assert.equal(new Set(r.events.map((e) => e["event.id"])).size, r.events.length, "distinct ids");
  for (const e of r.events) {
    assert.equal(e["event.type"], "dps.cost.allocated");
    assert.ok(Object.values(e).every((v) => v === null || typeof v !== "object"), "flat");
  }
  await fetch(`${emu.url}/__emulator/events`, { method: "DELETE" });
  const report = await ingest({ url: emu.config.ingestUrl, apiToken: emu.config.ingest.apiToken, events: r.events });
  assert.equal(report.accepted, r.events.length);
  const stored = await (await fetch(`${emu.url}/__emulator/events?type=dps.cost.allocated`)).json();
  assert.equal(stored.distinctIds, r.events.length);
  assert.equal(r.focus.length, r.lines.length);
  const allocatedRows = r.focus.filter((row, i) => r.lines[i].status === "allocated");
  assert.ok(allocatedRows.length > 0);
  for (const row of allocatedRows) {
    assert.ok(row.AllocatedMethodId, JSON.stringify(row));
    const details = JSON.parse(row.AllocatedMethodDetails);
    assert.ok(Array.isArray(details.Elements) && typeof details.Elements[0].AllocatedRatio === "number");
  }
});

test("bad input is a typed error naming the field", () => {
  const cases = [
    [{ lines: [{ ...lines[0], cost: NaN }], rules }, "INVALID_INPUT", "lines[0].cost"],
    [{ lines, rules: { data: [{ ...rules.data[0], attributes: { ...rules.data[0].attributes, strategy: { method: "percent", allocated_by: [{ allocated_tags: [{ key: "team", value: "x" }], percentage: 1.2 }] } } }] } }, "RULE_INVALID", undefined],
    [{ lines, rules: { data: [{ ...rules.data[0], attributes: { ...rules.data[0].attributes, costs_to_allocate: [{ condition: "resembles", tag: "x", value: "y" }] } }] } }, "RULE_INVALID", undefined],
    [{ lines, rules, extra: 1 }, "INVALID_INPUT", undefined],
  ];
  for (const [input, code, field] of cases) {
    let e;
    try {
      allocate(input);
    } catch (x) {
      e = x;
    }
    assert.ok(isDpsCostError(e), String(e));
    assert.equal(e.code, code, e.message);
    if (field) assert.equal(e.field, field);
  }
});
