#!/usr/bin/env node
// `npm start`: setup, build, then one sync run through the built package (dist/pkg).
//
// With DT_ACCOUNT_UUID, DT_CLIENT_ID and DT_CLIENT_SECRET set, the run goes against real
// Dynatrace through the package's CLI (ingest only when DT_ENVIRONMENT_URL or DT_INGEST_URL and
// ingest credentials are given, otherwise a dry run). Otherwise the embedded emulator is started
// on a free port and every emulated account is synced, with ingest, through dist/pkg/node.js.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { logger, main, root, runAsync, ScriptError } from "./lib.mjs";

const log = logger("start");
const NOW_FIXED = process.env.DPS_COST_NOW; // optional: fix the emulator's and the run's "now"

async function step(name, script, args = []) {
  log(name);
  const code = await runAsync(process.execPath, [join(root, "scripts", script), ...args]);
  if (code !== 0) throw new ScriptError(`${name} failed (exit ${code})`);
}

async function realRun() {
  const env = process.env;
  const hasIngestTarget = Boolean(env.DT_ENVIRONMENT_URL || env.DT_INGEST_URL);
  const hasIngestCreds = Boolean(env.DT_INGEST_API_TOKEN || (env.DT_INGEST_CLIENT_ID && env.DT_INGEST_CLIENT_SECRET));
  const dryRun = !(hasIngestTarget && hasIngestCreds);
  log(
    `DT_ACCOUNT_UUID/DT_CLIENT_ID/DT_CLIENT_SECRET are set: syncing real Dynatrace` +
      (dryRun ? " as a dry run (set DT_ENVIRONMENT_URL plus DT_INGEST_API_TOKEN or DT_INGEST_CLIENT_ID/SECRET to ingest)" : " with ingest"),
  );
  const args = [join(root, "dist", "pkg", "cli.js"), "sync", ...(dryRun ? ["--dry-run"] : [])];
  return runAsync(process.execPath, args);
}

async function emulatorRun() {
  const { startEmulator } = await import(pathToFileURL(join(root, "js", "emulator", "index.js")).href);
  const pkg = await import(pathToFileURL(join(root, "dist", "pkg", "node.js")).href);
  const { formatSummary } = await import(pathToFileURL(join(root, "dist", "pkg", "format.js")).href);
  const emu = await startEmulator({ port: 0, host: "127.0.0.1", ...(NOW_FIXED ? { now: NOW_FIXED } : {}) });
  try {
    const c = emu.config;
    log(`emulator on ${emu.url} (${c.accounts.length} accounts); dps-cost ${pkg.version()} from dist/pkg/node.js`);
    log("no DT_ACCOUNT_UUID/DT_CLIENT_ID/DT_CLIENT_SECRET: syncing the emulator's accounts");
    const t0 = Date.now();
    const summary = await pkg.sync({
      accounts: c.accounts.map((a) => ({
        accountUuid: a.accountUuid,
        name: a.name,
        clientId: a.clientId,
        clientSecret: a.clientSecret,
      })),
      ssoUrl: c.ssoUrl,
      apiUrl: c.apiUrl,
      ...(NOW_FIXED ? { now: NOW_FIXED } : {}),
      ingest: {
        url: c.ingestUrl,
        clientId: c.ingest.clientId,
        clientSecret: c.ingest.clientSecret,
        accountUuid: c.ingest.accountUuid,
        scope: c.ingest.scope,
      },
    });
    const ms = Date.now() - t0;
    process.stdout.write(`\n${formatSummary(summary)}`);
    const stored = await (await fetch(`${emu.url}/__emulator/events`)).json();
    const count = Array.isArray(stored) ? stored.length : (stored.events?.length ?? 0);
    process.stdout.write(`emulator stored ${count} events; sync took ${ms} ms\n`);
    return summary.ok ? 0 : 1;
  } finally {
    await emu.close();
  }
}

main("start", async () => {
  await step("setup", "setup.mjs");
  await step("build", "build.mjs");
  const env = process.env;
  if (env.DT_ACCOUNT_UUID && env.DT_CLIENT_ID && env.DT_CLIENT_SECRET) return realRun();
  return emulatorRun();
});
