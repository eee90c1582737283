// The sync under every ingest fault, against the packed package and the emulator: whatever
// happens, the emulator's store holds exactly the expected set of distinct event ids (nothing
// lost, nothing extra), the report says what happened, and a run that lost anything is not ok.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { ACCOUNT_A, ACCOUNT_B, NOW, assertNoSecret, clearEvents, installedPackage, secretsOf, startPackagedEmulator } from "./helpers.mjs";

const pkg = await installedPackage();
const { sync } = await pkg.import("dps-cost");

let emu;
let config;
let expected; // Set of event ids of a fault-free run
let baselineBatches;
const INGEST_PATH = "bizevents/ingest$";

before(async () => {
  emu = await startPackagedEmulator();
  config = emu.config;
});
after(() => emu?.close());

const syncConfig = (extra = {}) => ({
  accounts: config.accounts
    .filter((a) => a.accountUuid === ACCOUNT_A || a.accountUuid === ACCOUNT_B)
    .map((a) => ({ accountUuid: a.accountUuid, clientId: a.clientId, clientSecret: a.clientSecret, name: a.name })),
  ssoUrl: config.ssoUrl,
  apiUrl: config.apiUrl,
  now: NOW,
  ingest: { url: config.ingestUrl, clientId: config.ingest.clientId, clientSecret: config.ingest.clientSecret, accountUuid: config.ingest.accountUuid },
  retry: { baseDelayMs: 5, maxDelayMs: 1500, timeoutMs: 5000 },
  ...extra,
});

async function store() {
  const body = await (await fetch(`${emu.url}/__emulator/events`)).json();
  return { events: body.events, ids: new Set(body.events.map((e) => e["event.id"])), distinct: body.distinctIds };
}

async function fault(spec) {
  const r = await fetch(`${emu.url}/__emulator/faults`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(spec) });
  assert.equal(r.status, 201, await r.text());
}

async function clearAll() {
  await clearEvents(emu);
  await fetch(`${emu.url}/__emulator/faults`, { method: "DELETE" });
}

const sameSet = (a, b) => a.size === b.size && [...a].every((x) => b.has(x));

describe("ingest under faults", () => {
  test("baseline: a fault-free run stores every built event once", async () => {
    await clearAll();
    const s = await sync(syncConfig());
    assert.equal(s.ok, true, JSON.stringify(s.events.error));
    const st = await store();
    assert.equal(st.events.length, s.events.built);
    assert.equal(st.distinct, s.events.built, "no id twice");
    assert.equal(s.events.accepted, s.events.built);
    assert.ok(s.events.batches >= 2, `several batches (${s.events.batches})`);
    expected = st.ids;
    baselineBatches = s.events.batches;
    assertNoSecret(JSON.stringify(s), secretsOf(config), "the summary");
  });

  const recovering = [
    ["429 with Retry-After, twice", { status: 429, retryAfter: 1, times: 2 }],
    ["503, twice", { status: 503, times: 2 }],
    ["connection dropped before processing", { dropConnection: true, times: 1 }],
    ["connection dropped after the events were stored", { dropAfterProcessing: true, times: 1 }],
    ["413: the batch is split", { status: 413, times: 1 }],
    ["a broken body on a 202", { malformed: true, times: 1 }],
  ];
  for (const [name, spec] of recovering) {
    test(`recovers: ${name}`, { timeout: 60_000 }, async () => {
      await clearAll();
      await fault({ method: "POST", path: INGEST_PATH, ...spec });
      const s = await sync(syncConfig());
      assert.equal(s.ok, true, `${name}: ${JSON.stringify(s.events.error)} ${JSON.stringify(s.events.failed)}`);
      assert.equal(s.events.accepted, s.events.built);
      assert.deepEqual(s.events.rejected, []);
      assert.deepEqual(s.events.failed, []);
      const st = await store();
      assert.ok(sameSet(st.ids, expected), `${name}: distinct ids = the expected set (${st.ids.size} vs ${expected.size})`);
      if (spec.status === 413) {
        assert.equal(s.events.batches, baselineBatches + 2, "the refused request, then its two halves");
      }
      if (spec.dropAfterProcessing) {
        assert.ok(st.events.length > st.distinct, "the retried batch was stored twice by the server (Grail appends)");
      } else {
        assert.equal(st.events.length, st.distinct, "stored once");
      }
      if (spec.status === 429 || spec.status === 503) assert.ok(s.events.retries >= 2, `retries ${s.events.retries}`);
    });
  }

  test("rejected events are reported by id and the run is not ok", async () => {
    await clearAll();
    await fetch(`${emu.url}/__emulator/reject`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ eventTypes: ["dps.forecast"] }) });
    const s = await sync(syncConfig());
    assert.equal(s.ok, false);
    assert.equal(s.events.error.code, "INGEST_PARTIAL");
    assert.equal(s.events.rejected.length, 2, "one forecast event per account");
    const st = await store();
    const rejectedIds = new Set(s.events.rejected.map((r) => r.eventId));
    assert.equal(rejectedIds.size, 2);
    for (const id of rejectedIds) assert.ok(expected.has(id) && !st.ids.has(id));
    assert.ok(sameSet(new Set([...st.ids, ...rejectedIds]), expected), "stored + rejected = expected");
    assert.equal(s.events.accepted, s.events.built - 2);
    assert.deepEqual(new Set(s.events.rejected.map((r) => r.accountUuid)), new Set([ACCOUNT_A, ACCOUNT_B]));
  });

  test("a service that stays down: nothing is reported as stored that was not", { timeout: 60_000 }, async () => {
    await clearAll();
    await fault({ method: "POST", path: INGEST_PATH, status: 503, times: 1000 });
    const s = await sync(syncConfig({ retry: { maxAttempts: 2, baseDelayMs: 5, timeoutMs: 5000 } }));
    assert.equal(s.ok, false);
    assert.equal(s.events.accepted, 0);
    const notDelivered = s.events.failed.reduce((n, f) => n + f.count, 0);
    assert.equal(notDelivered, s.events.built);
    assert.ok(s.events.failed.every((f) => f.code === "INGEST_FAILED" && f.status === 503));
    assert.equal((await store()).events.length, 0);
  });

  test("a second run adds no new distinct ids", async () => {
    await clearAll();
    await sync(syncConfig());
    const once = await store();
    await sync(syncConfig());
    const twice = await store();
    assert.ok(sameSet(once.ids, twice.ids));
    assert.equal(twice.distinct, once.distinct);
    assert.equal(twice.events.length, 2 * once.events.length);
  });
});
