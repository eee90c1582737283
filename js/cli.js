#!/usr/bin/env node
// dps-cost command line. Progress goes to stderr, results to stdout.
// Exit codes: 0 ok · 1 the run failed or was partial · 2 usage error.
import { parseArgs } from "node:util";

const HELP = `usage: dps-cost <command> [options]

commands:
  sync       fetch the active DPS subscription and daily cost of an account,
             build business events and ingest them (or --dry-run)
  emulator   run the local Dynatrace emulator (see: dps-cost emulator --help)

sync options (environment variable in brackets):
  --account <uuid>         account UUID [DT_ACCOUNT_UUID]
  --name <name>            account display name [DT_ACCOUNT_NAME]
  --client-id <id>         OAuth client id, dt0s02.… [DT_CLIENT_ID]
  --client-secret <secret> discouraged (visible in the process list): set DT_CLIENT_SECRET
  --subscription <uuid>    subscription to read (default: the active one) [DT_SUBSCRIPTION_UUID]
  --api-url <url>          Account Management API (default https://api.dynatrace.com) [DT_API_URL]
  --sso-url <url>          token endpoint (default https://sso.dynatrace.com/sso/oauth2/token) [DT_SSO_URL]
  --ingest-url <url>       bizevents ingest endpoint [DT_INGEST_URL]
  --environment-url <url>  environment to ingest into, when no --ingest-url [DT_ENVIRONMENT_URL]
  --now <iso>              the time the run is for (default: now)
  --dry-run                fetch and build events, ingest nothing
  --json                   print the summary as JSON
  --quiet                  no progress on stderr
  ingest credentials: DT_INGEST_CLIENT_ID + DT_INGEST_CLIENT_SECRET (OAuth client with
  storage:events:write; DT_INGEST_ACCOUNT_UUID defaults to the account) or DT_INGEST_API_TOKEN.
  Without an ingest URL the run is a dry run.

  -h, --help               this help
  -v, --version            the dps-cost version
`;

class UsageError extends Error {}

const SYNC_OPTIONS = {
  account: { type: "string" },
  name: { type: "string" },
  "client-id": { type: "string" },
  "client-secret": { type: "string" },
  subscription: { type: "string" },
  "api-url": { type: "string" },
  "sso-url": { type: "string" },
  "ingest-url": { type: "string" },
  "environment-url": { type: "string" },
  now: { type: "string" },
  "dry-run": { type: "boolean" },
  json: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  help: { type: "boolean", short: "h" },
};

/** The bizevents ingest URL for an environment URL (live: classic API, apps: platform API). */
export function ingestUrlForEnvironment(envUrl, { apiToken } = {}) {
  let u;
  try {
    u = new URL(envUrl);
  } catch {
    throw new UsageError(`--environment-url is not a URL: ${envUrl}`);
  }
  const base = u.origin + u.pathname.replace(/\/+$/, "");
  // Platform paths accept only Bearer tokens; an API token must use the classic (live) path.
  if (u.hostname.includes(".apps.")) {
    return apiToken
      ? `${base.replace(".apps.", ".live.")}/api/v2/bizevents/ingest`
      : `${base}/platform/classic/environment-api/v2/bizevents/ingest`;
  }
  return `${base}/api/v2/bizevents/ingest`;
}

function syncConfig(values, env, warn) {
  const need = (flag, envName) => {
    const v = values[flag] ?? env[envName];
    if (v === undefined || v === "") throw new UsageError(`missing --${flag} (or ${envName})`);
    return v;
  };
  if (values["client-secret"] !== undefined) {
    warn("warning: --client-secret is visible in the process list; prefer the DT_CLIENT_SECRET environment variable");
  }
  const account = {
    accountUuid: need("account", "DT_ACCOUNT_UUID"),
    clientId: need("client-id", "DT_CLIENT_ID"),
    clientSecret: values["client-secret"] ?? env.DT_CLIENT_SECRET,
  };
  if (!account.clientSecret) throw new UsageError("missing DT_CLIENT_SECRET (or --client-secret)");
  const name = values.name ?? env.DT_ACCOUNT_NAME;
  if (name) account.name = name;
  const subscription = values.subscription ?? env.DT_SUBSCRIPTION_UUID;
  if (subscription) account.subscriptionUuid = subscription;

  const config = { accounts: [account] };
  const apiUrl = values["api-url"] ?? env.DT_API_URL;
  const ssoUrl = values["sso-url"] ?? env.DT_SSO_URL;
  if (apiUrl) config.apiUrl = apiUrl;
  if (ssoUrl) config.ssoUrl = ssoUrl;
  if (values.now) config.now = values.now;

  const apiToken = env.DT_INGEST_API_TOKEN || undefined;
  const ingestClientId = env.DT_INGEST_CLIENT_ID || undefined;
  const ingestClientSecret = env.DT_INGEST_CLIENT_SECRET || undefined;
  const envUrl = values["environment-url"] ?? env.DT_ENVIRONMENT_URL;
  let url = values["ingest-url"] ?? env.DT_INGEST_URL;
  if (!url && envUrl) url = ingestUrlForEnvironment(envUrl, { apiToken });

  if (values["dry-run"] || !url) {
    if (!values["dry-run"]) warn("no ingest URL (--ingest-url / DT_INGEST_URL / DT_ENVIRONMENT_URL): dry run");
    config.ingest = null;
    return config;
  }
  const ingest = { url };
  if (apiToken) {
    ingest.apiToken = apiToken;
  } else if (ingestClientId || ingestClientSecret) {
    if (!ingestClientId || !ingestClientSecret) {
      throw new UsageError("set both DT_INGEST_CLIENT_ID and DT_INGEST_CLIENT_SECRET");
    }
    ingest.clientId = ingestClientId;
    ingest.clientSecret = ingestClientSecret;
    ingest.accountUuid = env.DT_INGEST_ACCOUNT_UUID || account.accountUuid;
    ingest.scope = env.DT_INGEST_SCOPE || "storage:events:write";
  } else if (!url.startsWith("/")) {
    throw new UsageError(
      "ingest needs credentials: DT_INGEST_CLIENT_ID + DT_INGEST_CLIENT_SECRET, or DT_INGEST_API_TOKEN (or use --dry-run)",
    );
  }
  config.ingest = ingest;
  return config;
}

/** A FetchLike that reports each request (method, host and path; never headers or bodies). */
function progressFetch(log) {
  return async (url, init) => {
    const t0 = Date.now();
    const where = (() => {
      try {
        const u = new URL(url);
        return u.host + u.pathname;
      } catch {
        return String(url).split("?")[0];
      }
    })();
    try {
      const res = await fetch(url, init);
      log(`  ${init?.method ?? "GET"} ${where} → ${res.status} (${Date.now() - t0} ms)`);
      return res;
    } catch (e) {
      log(`  ${init?.method ?? "GET"} ${where} → network error (${Date.now() - t0} ms)`);
      throw e;
    }
  };
}

function describeError(e) {
  if (e && typeof e === "object" && typeof e.code === "string" && e.name === "DpsCostError") {
    const status = e.status !== undefined && e.status !== null ? ` [HTTP ${e.status}]` : "";
    const field = e.field ? ` (${e.field})` : "";
    return `${e.code}${status}${field}: ${e.message}`;
  }
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

async function runSync(args, { stdout, stderr, env }) {
  let values;
  try {
    ({ values } = parseArgs({ args, options: SYNC_OPTIONS, strict: true, allowPositionals: false }));
  } catch (e) {
    throw new UsageError(e.message);
  }
  if (values.help) {
    stdout.write(HELP);
    return 0;
  }
  const log = values.quiet ? () => {} : (line) => stderr.write(`${line}\n`);
  const config = syncConfig(values, env, (line) => stderr.write(`${line}\n`));
  const { sync, version } = await import("./node.js");
  const { formatSummary } = await import("./format.js");
  log(
    `dps-cost ${version()}: sync account ${config.accounts[0].accountUuid}` +
      (config.ingest ? ` → ${config.ingest.url}` : " (dry run)"),
  );
  config.fetch = progressFetch(log);
  let summary;
  try {
    summary = await sync(config);
  } catch (e) {
    stderr.write(`error: ${describeError(e)}\n`);
    return 1;
  }
  if (values.json) stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else stdout.write(formatSummary(summary));
  if (!summary.ok) log("sync finished with failures");
  return summary.ok ? 0 : 1;
}

/**
 * Runs the CLI with `argv` (without node and script). Resolves to the exit code.
 * @param {string[]} argv
 */
export async function runCli(argv, io = { stdout: process.stdout, stderr: process.stderr, env: process.env }) {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === "-h" || command === "--help" || command === "help") {
      (command === undefined ? io.stderr : io.stdout).write(HELP);
      return command === undefined ? 2 : 0;
    }
    if (command === "-v" || command === "--version") {
      const { version } = await import("./node.js");
      io.stdout.write(`${version()}\n`);
      return 0;
    }
    if (command === "sync") return await runSync(rest, io);
    if (command === "emulator") {
      const { runEmulatorCli } = await import("./emulator/cli.js");
      try {
        // Resolves once the emulator listens (it keeps the process alive until SIGINT/SIGTERM).
        await runEmulatorCli(rest);
      } catch (e) {
        if (e instanceof TypeError || String(e?.code).startsWith("ERR_PARSE_ARGS")) throw new UsageError(e.message);
        throw e;
      }
      return 0;
    }
    throw new UsageError(`unknown command: ${command}`);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`dps-cost: ${e.message}\nrun \`dps-cost --help\` for usage\n`);
      return 2;
    }
    io.stderr.write(`error: ${describeError(e)}\n`);
    return 1;
  }
}

// Run when executed (directly or through the npm bin link), not when imported.
const { realpathSync } = await import("node:fs");
const { pathToFileURL } = await import("node:url");
const invoked = process.argv[1] ? pathToFileURL(realpathSync(process.argv[1])).href : "";
if (invoked === import.meta.url) {
  const code = await runCli(process.argv.slice(2));
  process.exitCode = code;
}
