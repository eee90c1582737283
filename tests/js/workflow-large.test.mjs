// The Workflow action file (dist/dps-cost-workflow.js) in the real Dynatrace JavaScript runtime on
// the emulator's large profile: 20 accounts × 50 environments × 40 capabilities, a 35-day window,
// per-environment cost events only → 1.4 M events ingested through the relative platform path.
// Requirement: the task completes within the runtime's limits (timeoutSeconds 120; the 256 MB
// memory limit is not enforced by the local runtime, so the peak RSS is measured and printed).
// On a machine too slow for that, the action's run deadline (100 s) returns a partial result
// (code DEADLINE) and the test runs the task again until it completes: the final store must be
// the same either way.
//
// The emulator runs in its own process (`emulator/cli.js --profile large --store-events ids`) so
// it does not share an event loop with the runtime; the runtime runs in dt-runtime-run.cjs (its own
// process, napi). Printed to stderr: wall time, peak RSS of the runtime process, request counts per
// route family, events. Nothing but the runtime's own 120 s limit is asserted about time.
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { NOW, assertNoSecret, clearEvents, clearRequests, emulatorToken, secretsOf } from "./helpers.mjs";
import { requestsByRoute, runTask, startLargeEmulator, workflowCopy } from "./runtime.mjs";

const TIMEOUT_SECONDS = 120;
const WINDOW_DAYS = 35;
// All 20 accounts; DPS_LARGE_ACCOUNTS=n runs the first n (for measuring by hand).
const ACCOUNTS = Number(process.env.DPS_LARGE_ACCOUNTS || 20);
// DPS_LARGE_DRY_RUN=1: the same sync without ingest (measures the fetch + wasm part alone).
const DRY_RUN = process.env.DPS_LARGE_DRY_RUN === "1";


let child;
let closeEmulator;
let emu; // { url, config }
let work;

/** CPU time (user + system, ms) of a process so far, from /proc (null where there is none). */
function cpuMsOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime in clock ticks (USER_HZ 100)
  } catch {
    return null;
  }
}

/** Peak RSS (VmHWM) of a process, e.g. "181 MiB", or "n/a". */
function peakRssOf(pid) {
  try {
    const kb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]);
    return `${(kb / 1024).toFixed(0)} MiB`;
  } catch {
    return "n/a";
  }
}

const report = (line) => process.stderr.write(`[workflow-large] ${line}\n`);

before(async () => {
  ({ child, emu, close: closeEmulator } = await startLargeEmulator());
  work = workflowCopy("dps-cost-workflow-large-").dir;
});

after(async () => {
  await closeEmulator?.();
  if (work) rmSync(work, { recursive: true, force: true });
});

test(`large profile: ${ACCOUNTS} accounts × 50 environments × 40 capabilities × ${WINDOW_DAYS} days in the runtime within ${TIMEOUT_SECONDS} s`, { timeout: 600_000 }, async () => {
  const config = emu.config;
  const accounts = config.accounts.slice(0, ACCOUNTS);
  const platformToken = await emulatorToken(config, config.ingest);
  await clearRequests(emu);
  await clearEvents(emu);

  const job = {
    file: join(work, "dps-cost-workflow.js"),
    timeoutSeconds: TIMEOUT_SECONDS,
    payload: {
      accounts: accounts.map((a) => ({ accountUuid: a.accountUuid, name: a.name, clientId: a.clientId, clientSecret: a.clientSecret })),
      apiUrl: config.apiUrl,
      ssoUrl: config.ssoUrl,
      now: NOW,
      ...(DRY_RUN ? { dryRun: true } : {}),
      windowDays: WINDOW_DAYS,
      include: { environmentCost: true, environmentUsage: false, forecast: false, allocation: false },
      // ingest: CONFIG's default, the relative platform path with the runtime's identity
    },
    config: { devProxyUrl: emu.url, environmentUrl: emu.url, token: platformToken },
  };
  const emuCpu0 = cpuMsOf(child.pid);
  const t0 = Date.now();
  let out = (await runTask(job, { timeout: 300_000 })).answer;
  const wallMs = Date.now() - t0;
  // The action's run deadline (CONFIG.deadlineMs, 100 s) stops a run that would not finish in the
  // runtime's 120 s (a slow or busy machine): it returns ok:false, code DEADLINE, with what it
  // stored. Then the next run completes the rest under the same ids (at most 4 more runs; how
  // many depends on the machine, what is stored in the end does not).
  const partials = [];
  for (let run = 0; run < 4; run++) {
    if (!(out.ok && out.result?.code === "DEADLINE")) break;
    partials.push(out.result);
    report(`run ${run + 1} stopped at the deadline (code DEADLINE, accepted ${out.result.events.accepted}, incomplete ${out.result.incomplete.length} account(s)); running again`);
    out = (await runTask(job, { timeout: 300_000 })).answer;
  }
  const emuCpuMs = emuCpu0 === null ? null : cpuMsOf(child.pid) - emuCpu0;
  const emuPeak = peakRssOf(child.pid);

  const { requests, byRoute } = await requestsByRoute(emu);
  const store = await (await fetch(`${emu.url}/__emulator/events`)).json();
  const mb = (kb) => `${(kb / 1024).toFixed(0)} MiB`;
  report(`wall time ${(wallMs / 1000).toFixed(1)} s (runner process: start, runtime load, task)`);
  const m = out.memory;
  report(`runtime process RSS: ${mb(m.rssBeforeKb)} before the task, peak ${mb(m.maxRssKb)} (ru_maxrss, Node + runtime)`);
  report(`CPU during the task: runtime process ${m.cpuUserMs} ms user + ${m.cpuSystemMs} ms system; emulator process ${emuCpuMs} ms (peak RSS ${emuPeak})`);
  report(`requests ${requests.length}: ${JSON.stringify(byRoute)}`);
  report(`emulator store: ${JSON.stringify({ stats: store.stats, distinctIds: store.distinctIds, types: store.types })}`);
  report(`result events: ${JSON.stringify(out.result?.events ?? null)}`);
  if (!out.ok) report(`task error: ${out.error}`);

  assert.equal(out.ok, true, `the task failed in the runtime: ${out.error}`);
  for (const p of partials) {
    // a partial run was not killed: it returned, stored what it reports accepted, said what is missing
    assert.equal(p.ok, false);
    assert.ok(p.incomplete.every((i) => i.code === "DEADLINE" && i.families.length > 0), JSON.stringify(p.incomplete));
    assert.equal(p.events.rejected + p.events.notDelivered, 0);
  }
  const result = out.result;
  assertNoSecret(JSON.stringify(result), [...secretsOf(config), platformToken], "the task result");
  assert.equal(result.ok, true, JSON.stringify(result.accounts.filter((a) => !a.ok)));
  assert.equal(result.accounts.length, accounts.length);
  if (DRY_RUN) return;
  assert.equal(result.events.rejected, 0);
  assert.equal(result.events.notDelivered, 0);
  assert.equal(result.events.accepted, result.events.built);
  // the complete run sent every id; a partial run before it stored a subset of the same ids
  assert.equal(store.distinctIds, result.events.accepted, "accepted = distinct ids stored");
  const accepted = partials.reduce((n, p) => n + p.events.accepted, result.events.accepted);
  assert.equal(store.stats.stored, accepted, "every run stored exactly what it reports accepted (no event twice within a run)");

  // 1.4 M environment-capability-day cost events + one status event per account + booked days.
  const records = accounts.length * 50 * 40 * WINDOW_DAYS;
  const sum = (k) => result.accounts.reduce((n, a) => n + a.events[k], 0);
  assert.equal(sum("environmentCost"), records, "one cost event per environment × capability × day");
  assert.equal(sum("subscriptionStatus"), accounts.length, "one status event per account");
  for (const k of ["environmentUsage", "forecast", "allocation"]) assert.equal(sum(k), 0, `${k} is off`);
  const booked = sum("costBooked");
  assert.ok(booked >= accounts.length * (WINDOW_DAYS - 1), `booked days ${booked}`);
  assert.equal(sum("syncRun"), accounts.length, "one dps.sync.run per account");
  assert.equal(result.events.accepted, records + accounts.length + booked + accounts.length);
  if (partials.length === 0) {
    assert.deepEqual(store.types, {
      "dps.subscription.status": accounts.length,
      "dps.cost2.booked": booked,
      "dps.environment.cost": records,
      "dps.sync.run": accounts.length,
    });
  }
});
