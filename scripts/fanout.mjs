#!/usr/bin/env node
// Fan-out scale run (issue 16, not part of `npm test`: it takes minutes): the emulator's large
// profile (20 accounts × 50 environments × 40 capabilities) with EVERY event family on, synced
// as loop shards — one Run JavaScript task per account, as a `--loop` workflow runs it — in the
// real Dynatrace runtime (@dynatrace/js-runtime), several at a time. Then:
//   - every shard finished within the runtime's 120 s (timeoutSeconds 120) and its peak RSS is
//     reported (the local runtime does not enforce 256 MB, so it is measured);
//   - the union of the ids the shards stored equals the ids of a single-process reference run
//     (the package's sync() over all accounts into a second emulator): same count and same
//     order-independent digest of the distinct ids (emulator "ids" store mode);
//   - no duplicates (events stored = distinct ids);
//   - a re-run of every shard adds no new id.
//
//   node scripts/fanout.mjs [--accounts N] [--concurrency C] [--no-reference] [--no-rerun]
//
// Needs `npm run build` and the runtime (`node scripts/setup.mjs --test`). Prints one JSON line
// with the figures at the end; exit 1 when a check fails.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { root } from "./lib.mjs";

const NOW = "2026-11-23T10:00:00Z";
const { values } = parseArgs({
  options: {
    accounts: { type: "string", default: "20" },
    concurrency: { type: "string", default: "2" },
    "no-reference": { type: "boolean" },
    "no-rerun": { type: "boolean" },
  },
});
const ACCOUNTS = Number(values.accounts);
const CONCURRENCY = Number(values.concurrency);
const PKG = join(root, "dist", "pkg");
const WORKFLOW = join(root, "dist", "dps-cost-workflow.js");
const RUNNER = join(root, "tests", "js", "dt-runtime-run.cjs");
const log = (line) => process.stderr.write(`[fanout] ${line}\n`);
/** Retries of a failed iteration (the template's `retry.count`). */
const RETRIES = 2;

async function startEmulator() {
  const child = spawn(process.execPath, ["--max-old-space-size=8192", join(PKG, "emulator", "cli.js"), "--profile", "large", "--store-events", "ids", "--now", NOW, "--quiet"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const line = await new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the emulator exited (${code})`)));
    createInterface({ input: child.stdout }).once("line", resolve);
  });
  const info = JSON.parse(line);
  return { child, url: info.url, config: info.config };
}

async function stop(emu) {
  if (emu.child.exitCode !== null) return;
  const gone = new Promise((resolve) => emu.child.once("exit", resolve));
  emu.child.kill("SIGTERM");
  await gone;
}

async function store(emu) {
  const body = await (await fetch(`${emu.url}/__emulator/events`)).json();
  return { stored: body.stats.stored, distinct: body.distinctIds, digest: body.idsDigest, types: body.types };
}

async function platformToken(config) {
  const body = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: config.ingest.clientId,
    client_secret: config.ingest.clientSecret,
    scope: config.ingest.scope,
    resource: `urn:dtaccount:${config.ingest.accountUuid}`,
  });
  const res = await fetch(config.ssoUrl, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body });
  if (res.status !== 200) throw new Error(`token ${res.status}`);
  return (await res.json()).access_token;
}

/** One shard in its own runtime process; resolves {item, ok, ms, maxRssKb, result|error}. */
function runShard(emu, token, accounts, item) {
  const job = {
    file: WORKFLOW,
    timeoutSeconds: 120,
    payload: { accounts, apiUrl: emu.config.apiUrl, ssoUrl: emu.config.ssoUrl, now: NOW, loopItemValue: item },
    config: { devProxyUrl: emu.url, environmentUrl: emu.url, token },
  };
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RUNNER], { cwd: root, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (err += c));
    child.on("exit", () => {
      const ms = Date.now() - t0;
      try {
        const r = JSON.parse(out.trim().split("\n").pop());
        resolve({ item, ok: r.ok && r.result?.ok === true, ms, maxRssKb: r.memory?.maxRssKb, result: r.result, error: r.error });
      } catch {
        resolve({ item, ok: false, ms, error: `runner output: ${out.slice(-500)} ${err.slice(-2000)}` });
      }
    });
    child.stdin.end(JSON.stringify(job));
  });
}

async function runShards(emu, label) {
  const all = emu.config.accounts.slice(0, ACCOUNTS);
  const accounts = all.map((a) => ({ accountUuid: a.accountUuid, name: a.name, clientId: a.clientId, clientSecret: a.clientSecret }));
  const queue = all.map((a) => a.accountUuid);
  const results = [];
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (queue.length) {
        const item = queue.shift();
        // As the template's loop task: a failed iteration (e.g. stopped by the run deadline) is
        // retried alone, at most RETRIES times; the ids are deterministic, so a retry completes it.
        for (let attempt = 1; attempt <= 1 + RETRIES; attempt++) {
          // The runtime's own identity for relative /platform calls: a fresh emulator token per
          // task (they live 300 s, as in Dynatrace; a run of all shards takes longer).
          const r = await runShard(emu, await platformToken(emu.config), accounts, item);
          r.attempt = attempt;
          results.push(r);
          log(`${label} shard ${item} attempt ${attempt}: ${r.ok ? "ok" : `FAILED ${String(r.error ?? JSON.stringify(r.result?.events)).split("\n")[0].slice(0, 300)}`} ${(r.ms / 1000).toFixed(1)} s, peak RSS ${((r.maxRssKb ?? 0) / 1024).toFixed(0)} MiB, events ${r.result?.events?.accepted ?? "-"}`);
          if (r.ok) break;
        }
      }
    }),
  );
  return { results, wallMs: Date.now() - t0 };
}

async function reference() {
  const emu = await startEmulator();
  try {
    const { sync } = await import(pathToFileURL(join(PKG, "node.js")).href);
    const c = emu.config;
    const t0 = Date.now();
    const summary = await sync({
      accounts: c.accounts.slice(0, ACCOUNTS).map((a) => ({ accountUuid: a.accountUuid, name: a.name, clientId: a.clientId, clientSecret: a.clientSecret })),
      apiUrl: c.apiUrl,
      ssoUrl: c.ssoUrl,
      now: NOW,
      ingest: { url: c.ingestUrl, apiToken: c.ingest.apiToken },
    });
    const ms = Date.now() - t0;
    const s = await store(emu);
    log(`reference (one process, sync() over ${ACCOUNTS} accounts): ok ${summary.ok}, ${(ms / 1000).toFixed(1)} s, ${JSON.stringify(s)}`);
    return { ok: summary.ok, ms, ...s };
  } finally {
    await stop(emu);
  }
}

async function main() {
  for (const f of [WORKFLOW, join(PKG, "emulator", "cli.js")]) if (!existsSync(f)) throw new Error(`${f} is missing: run \`npm run build\``);
  const { ensureDtRuntime } = await import(pathToFileURL(join(root, "scripts", "setup.mjs")).href);
  ensureDtRuntime();
  const checks = [];
  const check = (ok, what) => {
    checks.push({ ok, what });
    log(`${ok ? "PASS" : "FAIL"} ${what}`);
  };
  const emu = await startEmulator();
  let figures;
  try {
    const first = await runShards(emu, "run 1");
    const after1 = await store(emu);
    log(`after run 1: ${JSON.stringify(after1)}`);
    const slowest = first.results.reduce((a, b) => (b.ms > a.ms ? b : a));
    const largest = first.results.reduce((a, b) => ((b.maxRssKb ?? 0) > (a.maxRssKb ?? 0) ? b : a));
    const finals = first.results.filter((r) => r.ok);
    const retried = first.results.filter((r) => r.attempt > 1).map((r) => r.item);
    const accepted = finals.reduce((n, r) => n + (r.result?.events?.accepted ?? 0), 0);
    check(finals.length === ACCOUNTS, `every shard ok (${finals.length}/${ACCOUNTS}; ${retried.length} needed a retry)`);
    check(first.results.every((r) => r.ms < 120_000 && (r.ok || /DEADLINE/.test(r.error ?? ""))), `every attempt returned within 120 s (slowest ${(slowest.ms / 1000).toFixed(1)} s); a failed one only by the DEADLINE`);
    check(accepted === after1.distinct, `the shards' final attempts accepted ${accepted} = distinct ids stored (no id outside them)`);
    if (retried.length === 0) check(after1.stored === after1.distinct, `no duplicates: stored ${after1.stored} = distinct ids ${after1.distinct}`);
    else log(`stored ${after1.stored} events for ${after1.distinct} distinct ids: a retried shard re-sent its first part under the same ids (Grail appends; the dashboard keeps the newest copy)`);
    figures = {
      accounts: ACCOUNTS,
      shards: first.results.length,
      concurrency: CONCURRENCY,
      events: after1.distinct,
      types: after1.types,
      wallMs: first.wallMs,
      attempts: first.results.length,
      retriedShards: retried.length,
      stored: after1.stored,
      slowestShard: { item: slowest.item, ms: slowest.ms, attempt: slowest.attempt },
      largestShardPeakRssMiB: Math.round((largest.maxRssKb ?? 0) / 1024),
      peakRssItem: largest.item,
    };
    if (!values["no-rerun"]) {
      const second = await runShards(emu, "run 2");
      const after2 = await store(emu);
      check(second.results.filter((r) => r.ok).length === ACCOUNTS, "re-run: every shard ok");
      check(after2.distinct === after1.distinct && after2.digest === after1.digest, `re-run adds no id (distinct ${after2.distinct}, digest ${after2.digest})`);
      figures.rerunWallMs = second.wallMs;
    }
    figures.digest = after1.digest;
  } finally {
    await stop(emu);
  }
  if (!values["no-reference"]) {
    const ref = await reference();
    check(ref.ok, "reference run ok");
    check(ref.distinct === figures.events && ref.digest === figures.digest, `union of shard ids = reference ids (${ref.distinct}, ${ref.digest})`);
    figures.referenceMs = ref.ms;
  }
  process.stdout.write(`${JSON.stringify({ ok: checks.every((c) => c.ok), figures, checks })}\n`);
  return checks.every((c) => c.ok) ? 0 : 1;
}

main().then(
  (code) => (process.exitCode = code),
  (e) => {
    process.stderr.write(`[fanout] ${e.stack ?? e}\n`);
    process.exitCode = 1;
  },
);
