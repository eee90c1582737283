// `dps-cost sync`: the pipeline for one account (subscription, daily cost, bizevents, ingest).
import { SECRET_FLAG_WARNING, UsageError, describeError, isDpsError, parse, progressFetch, retryOptions } from "./common.js";

export const SYNC_HELP = `usage: dps-cost sync [options]

Fetches the active DPS subscription and daily cost of an account, builds business events and
ingests them (or --dry-run). Exit 0 when everything was stored, 1 when anything failed.

options (environment variable in brackets):
  --account <uuid>         account UUID [DT_ACCOUNT_UUID]
  --name <name>            account display name [DT_ACCOUNT_NAME]
  --client-id <id>         OAuth client id, dt0s02.… [DT_CLIENT_ID]
                           the client secret is read from DT_CLIENT_SECRET
  --client-secret <secret> discouraged (visible in the process list)
  --subscription <uuid>    subscription to read (default: the active one) [DT_SUBSCRIPTION_UUID]
  --api-url <url>          Account Management API (default https://api.dynatrace.com) [DT_API_URL]
  --sso-url <url>          token endpoint (default https://sso.dynatrace.com/sso/oauth2/token) [DT_SSO_URL]
  --ingest-url <url>       bizevents ingest endpoint [DT_INGEST_URL]
  --environment-url <url>  environment to ingest into, when no --ingest-url [DT_ENVIRONMENT_URL]
  --now <iso>              the time the run is for (default: now)
  --timeout-ms <n>         abort each HTTP attempt after n ms (default 30000)
  --dry-run                fetch and build events, ingest nothing
  --json                   print the summary as JSON
  -q, --quiet              no progress on stderr
  -h, --help               this help

ingest credentials: DT_INGEST_CLIENT_ID + DT_INGEST_CLIENT_SECRET (OAuth client with
storage:events:write; DT_INGEST_ACCOUNT_UUID defaults to the account) or DT_INGEST_API_TOKEN.
Without an ingest URL the run is a dry run.
`;

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
  "timeout-ms": { type: "string" },
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
  if (values["client-secret"] !== undefined) warn(SECRET_FLAG_WARNING);
  const account = {
    accountUuid: need("account", "DT_ACCOUNT_UUID"),
    clientId: need("client-id", "DT_CLIENT_ID"),
    clientSecret: values["client-secret"] || env.DT_CLIENT_SECRET,
  };
  if (!account.clientSecret) throw new UsageError("missing DT_CLIENT_SECRET");
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
  const retry = retryOptions(values);
  if (retry) config.retry = retry;

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

/** Runs `dps-cost sync`; resolves to the exit code. */
export async function runSync(args, { stdout, stderr, env }) {
  const { values } = parse(args, SYNC_OPTIONS);
  if (values.help) {
    stdout.write(SYNC_HELP);
    return 0;
  }
  const log = values.quiet ? () => {} : (line) => stderr.write(`${line}\n`);
  const config = syncConfig(values, env, (line) => stderr.write(`${line}\n`));
  const { sync, version } = await import("../node.js");
  const { formatSummary } = await import("../format.js");
  log(
    `dps-cost ${version()}: sync account ${config.accounts[0].accountUuid}` +
      (config.ingest ? ` → ${config.ingest.url}` : " (dry run)"),
  );
  config.fetch = progressFetch(log);
  let summary;
  try {
    summary = await sync(config);
  } catch (e) {
    // sync rejects only on an invalid configuration: a usage error.
    stderr.write(`error: ${describeError(e)}\n`);
    return isDpsError(e) && e.code === "INVALID_INPUT" ? 2 : 1;
  }
  if (values.json) stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else stdout.write(formatSummary(summary));
  if (!summary.ok) log("sync finished with failures");
  return summary.ok ? 0 : 1;
}
