// Chargeback at Workflow scale (issue 18, item 3): the Workflow action file
// (dist/dps-cost-workflow.js) in the real Dynatrace JavaScript runtime, one task, one large
// account of the emulator's large profile — 50 environments × 40 capabilities × a 35-day window,
// split by the cost-center breakdown (`include.allocation`) — allocated by 20 Datadog rules
// mixing percent, even, proportional and partitions (tests/fixtures/workflow/chargeback-rules.json),
// every allocated and unallocated line ingested as a dps.cost.allocated event through the
// relative platform path.
//
// Asserted: the task completes (one task; the runtime's own limits, timeoutSeconds 120, are the
// environment — no timed assertion); its memory above the loaded runtime stays within the
// runtime's 256 MB (peak RSS, not time: it does not depend on the machine's speed); conservation is exact per currency: the action's input
// equals the window's per-environment cost read independently through the package's
// `DpsClient.environmentCost`, its output equals its input, and the emulator's Σ costMicros of the
// stored dps.cost.allocated events equals allocated + unallocated; a re-run adds no new id. The
// emulator runs in its own process storing ids only (`--store-events ids`). Printed to stderr (and
// recorded in BENCHMARKS.md): wall time, peak RSS of the runtime process, events, requests.
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { NOW, assertNoSecret, clearEvents, clearRequests, decimalMicros, emulatorToken, installedPackage, repoRoot, secretsOf } from "./helpers.mjs";
import { requestsByRoute, runTask, startLargeEmulator, workflowCopy } from "./runtime.mjs";

const RULES = JSON.parse(readFileSync(join(repoRoot, "tests", "fixtures", "workflow", "chargeback-rules.json"), "utf8"));
const TIMEOUT_SECONDS = 120;
const WINDOW_DAYS = 35;
const DAY_MS = 86_400_000;


let closeEmulator;
let emu; // { url, config }
let work;
const report = (line) => process.stderr.write(`[workflow-chargeback-large] ${line}\n`);

before(async () => {
  assert.equal(RULES.data.length, 20);
  ({ emu, close: closeEmulator } = await startLargeEmulator());
  work = workflowCopy("dps-cost-chargeback-large-").dir;
});

after(async () => {
  await closeEmulator?.();
  if (work) rmSync(work, { recursive: true, force: true });
});

test(`one large account, cost-center breakdown, 20 rules: one task in the runtime within 256 MB, exact conservation, a re-run adds no id`, { timeout: 900_000 }, async () => {
  const config = emu.config;
  const account = config.accounts[0];
  const platformToken = await emulatorToken(config, config.ingest);
  await clearRequests(emu);
  await clearEvents(emu);

  const job = {
    file: join(work, "dps-cost-workflow.js"),
    timeoutSeconds: TIMEOUT_SECONDS,
    payload: {
      accounts: [{ accountUuid: account.accountUuid, name: account.name, clientId: account.clientId, clientSecret: account.clientSecret }],
      apiUrl: config.apiUrl,
      ssoUrl: config.ssoUrl,
      now: NOW,
      windowDays: WINDOW_DAYS,
      include: { environmentCost: true, environmentUsage: false, forecast: false, allocation: true, costAllocated: true },
      allocation: { rules: RULES },
      // ingest: CONFIG's default, the relative platform path with the runtime's identity
    },
    config: { devProxyUrl: emu.url, environmentUrl: emu.url, token: platformToken },
  };
  const runOnce = async () => {
    const t0 = Date.now();
    const { answer: out } = await runTask(job, { timeout: 300_000 });
    const wallMs = Date.now() - t0;
    const m = out.memory;
    report(`wall time ${(wallMs / 1000).toFixed(1)} s (runner process: start, runtime load, task)`);
    report(`runtime process RSS: ${(m.rssBeforeKb / 1024).toFixed(0)} MiB before the task, peak ${(m.maxRssKb / 1024).toFixed(0)} MiB (ru_maxrss, Node + runtime); CPU ${m.cpuUserMs} ms user + ${m.cpuSystemMs} ms system`);
    if (!out.ok) report(`task error: ${out.error}`);
    assert.equal(out.ok, true, `the task failed in the runtime: ${out.error}`);
    // The task's memory within the runtime's 256 MB: the process's peak RSS above what it held
    // with the runtime loaded (Node and the runtime are the host's, not the task's). Measured
    // 160–198 MiB (the spread is garbage-collection timing); what it allocates does not depend
    // on the machine's speed.
    const taskBytes = (m.maxRssKb - m.rssBeforeKb) * 1024;
    assert.ok(taskBytes <= 256e6, `the task took ${(taskBytes / 1e6).toFixed(0)} MB above the loaded runtime (limit 256 MB)`);
    return out.result;
  };
  const eventsOf = async () => (await fetch(`${emu.url}/__emulator/events`)).json();

  const result = await runOnce();
  const { requests, byRoute } = await requestsByRoute(emu);
  const store = await eventsOf();
  report(`requests ${requests.length}: ${JSON.stringify(byRoute)}`);
  report(`emulator store: ${JSON.stringify({ stats: store.stats, distinctIds: store.distinctIds, types: store.types })}`);
  report(`result events: ${JSON.stringify(result.events)}; per family ${JSON.stringify(result.accounts[0].events)}`);
  report(`costAllocated: ${JSON.stringify(result.accounts[0].costAllocated)}`);

  assertNoSecret(JSON.stringify(result), [...secretsOf(config), platformToken], "the task result");
  assert.equal(result.ok, true, JSON.stringify(result.accounts));
  assert.equal(result.code, undefined, "completed in one task (no DEADLINE)");
  const a = result.accounts[0];
  const ca = a.costAllocated;
  assert.equal(ca.source, "inline");
  assert.equal(ca.rules, 20);
  assert.equal(ca.warnings, undefined, "the rules allocate");
  assert.equal(result.warnings, undefined);
  // every environment × capability × day, and more pieces where the cost-center breakdown splits
  assert.equal(a.events.environmentCost, 50 * 40 * WINDOW_DAYS);
  assert.ok(ca.lines > 50 * 40 * WINDOW_DAYS, `lines ${ca.lines}`);
  assert.ok(ca.linesAllocated > ca.lines / 2 && ca.linesUnallocated > 0, JSON.stringify(ca));

  // Conservation, exact: input = the window's cost read independently; output = input;
  // the stored events' Σ costMicros = allocated + unallocated.
  const { DpsClient } = await (await installedPackage()).import("dps-cost");
  const client = new DpsClient({ accountUuid: account.accountUuid, clientId: account.clientId, clientSecret: account.clientSecret, ssoUrl: config.ssoUrl, apiUrl: config.apiUrl });
  const today = Math.floor(Date.parse(NOW) / DAY_MS) * DAY_MS;
  let independent;
  try {
    const sub = await client.activeSubscription();
    const envs = await client.environmentCost(sub.uuid, {
      startTime: new Date(today - WINDOW_DAYS * DAY_MS).toISOString(),
      endTime: new Date(today).toISOString(),
    });
    independent = {};
    for (const e of envs) for (const r of e.records) independent[r.currencyCode] = (independent[r.currencyCode] ?? 0n) + decimalMicros(r.value);
  } finally {
    client.free();
  }
  assert.deepEqual(Object.keys(ca.totals).sort(), Object.keys(independent).sort());
  for (const [cur, t] of Object.entries(ca.totals)) {
    assert.equal(t.equal, true, cur);
    assert.equal(t.input, t.output, `${cur}: output = input to the micro-unit`);
    assert.equal(decimalMicros(t.input), independent[cur], `${cur}: the input is the window's whole per-environment cost`);
    assert.equal(BigInt(t.inputMicros), decimalMicros(t.input));
    const stored = BigInt(store.costMicros[`dps.cost.allocated|${cur}`] ?? "0");
    assert.equal(stored, decimalMicros(t.allocated) + decimalMicros(t.unallocated), `${cur}: Σ costMicros of the stored events`);
  }

  // Every event stored once; the allocated events are the ones the result counts.
  assert.equal(result.events.rejected, 0);
  assert.equal(result.events.notDelivered, 0);
  assert.equal(result.events.accepted, result.events.built);
  assert.equal(store.distinctIds, result.events.accepted, "accepted = distinct ids stored");
  assert.equal(store.stats.stored, result.events.accepted, "no event twice within the run");
  assert.equal(store.types["dps.cost.allocated"], a.events.costAllocated);
  assert.ok(a.events.costAllocated > 100_000, `allocated events ${a.events.costAllocated}`);

  // A re-run adds no new id (the same ids; Grail appends, dashboards dedup by event.id).
  const again = await runOnce();
  assert.equal(again.ok, true);
  assert.deepEqual(again.accounts[0].costAllocated.totals, ca.totals);
  const store2 = await eventsOf();
  report(`re-run: accepted ${again.events.accepted}; store ${JSON.stringify({ stats: store2.stats, distinctIds: store2.distinctIds })}`);
  assert.equal(store2.stats.stored, store.stats.stored + again.events.accepted, "the re-run was stored");
  assert.equal(store2.distinctIds, store.distinctIds, "a re-run adds no new id");
  assert.equal(store2.idsDigest, store.idsDigest, "the same set of ids");
  assert.deepEqual(store2.costMicros, store.costMicros);
});
