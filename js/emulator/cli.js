#!/usr/bin/env node
// dps-cost emulator CLI.
//
//   node js/emulator/cli.js [--port N] [--host 127.0.0.1] [--now ISO] [--token-ttl SECONDS]
//                           [--profile default|large] [--v2-environment-endpoints removed|deprecated]
//                           [--store-events full|ids] [--quiet]
//
// Prints ONE line of JSON to stdout: {"url": …, "config": …}. Logs one line per request to
// stderr (method, path, status, duration; never query strings, bodies or credentials). Stops on
// SIGINT / SIGTERM.

import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startEmulator } from "./index.js";

const USAGE = `Usage: dps-cost emulator [--port N] [--host 127.0.0.1] [--now ISO] [--token-ttl SECONDS]
                         [--profile default|large] [--v2-environment-endpoints removed|deprecated]
                         [--store-events full|ids] [--quiet]

Starts the local Dynatrace emulator (SSO token endpoint, Account Management API: subscriptions,
usage, cost, forecast, events, rate cards, cost allocation, allow lists, environments; bizevents
ingest, credential vault) and prints {"url","config"} as one JSON line on stdout.

  --port N            port to listen on (default 0 = a free port)
  --host H            address to bind (default 127.0.0.1)
  --now ISO           the emulator's "now" (default: the real time); data is deterministic for a given now
  --token-ttl S       lifetime of issued access tokens in seconds (default 300)
  --profile P         "default" (accounts A and B) or "large" (20 accounts × 50 environments × 40 capabilities)
  --v2-environment-endpoints M
                      "removed" (default: the v2 per-environment endpoints answer 410) or "deprecated" (200 with
                      Deprecation/Sunset/Link headers)
  --store-events M    "full" (default: every ingested event is kept) or "ids" (only the distinct event.ids and
                      counts per event.type: for millions of events)
  --quiet             do not log requests to stderr
  -h, --help          show this help`;

/**
 * Parse argv (without `node` and the script) and start the emulator. Resolves with the running
 * emulator once it listens and its JSON line is printed; stops it on SIGINT/SIGTERM.
 * @param {string[]} [argv]
 * @param {{ stdout?: NodeJS.WritableStream, stderr?: NodeJS.WritableStream, handleSignals?: boolean }} [io]
 */
export async function runEmulatorCli(argv = process.argv.slice(2), io = {}) {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string", default: "0" },
      host: { type: "string", default: "127.0.0.1" },
      now: { type: "string" },
      "token-ttl": { type: "string", default: "300" },
      profile: { type: "string", default: "default" },
      "v2-environment-endpoints": { type: "string", default: "removed" },
      "store-events": { type: "string", default: "full" },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    stdout.write(`${USAGE}\n`);
    return null;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`--port must be an integer between 0 and 65535, got '${values.port}'`);
  }
  const ttl = Number(values["token-ttl"]);
  if (!Number.isFinite(ttl) || ttl <= 0) {
    throw new TypeError(`--token-ttl must be a positive number of seconds, got '${values["token-ttl"]}'`);
  }
  if (values.now !== undefined && Number.isNaN(Date.parse(values.now))) {
    throw new TypeError(`--now must be an ISO date/time, got '${values.now}'`);
  }

  const emu = await startEmulator({
    port,
    host: values.host,
    now: values.now,
    tokenTtlSeconds: ttl,
    profile: values.profile,
    v2EnvironmentEndpoints: values["v2-environment-endpoints"],
    storeEvents: values["store-events"],
    logger: values.quiet ? null : (line) => stderr.write(`[emulator] ${line}\n`),
  });
  stdout.write(`${JSON.stringify({ url: emu.url, config: emu.config })}\n`);

  if (io.handleSignals !== false) {
    let stopping = false;
    const stop = (signal) => {
      if (stopping) return;
      stopping = true;
      if (!values.quiet) stderr.write(`[emulator] ${signal}: stopping\n`);
      emu.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  }
  return emu;
}

function isMain() {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  runEmulatorCli().catch((err) => {
    process.stderr.write(`dps-cost emulator: ${err?.message ?? err}\n\n${USAGE}\n`);
    process.exit(2);
  });
}
