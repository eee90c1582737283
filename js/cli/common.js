// Shared pieces of the dps-cost command line: usage errors, option parsing, credentials, the
// progress-reporting fetch and error rendering. Nothing here prints a secret: credentials are
// only ever passed to the library, and requests are logged as method, host and path.
import { parseArgs } from "node:util";

/** A command-line mistake: exit code 2, with a hint to `--help`. */
export class UsageError extends Error {}

/** Options every Account Management command takes (sync has its own, overlapping set). */
export const CONNECTION_OPTIONS = {
  account: { type: "string" },
  "client-id": { type: "string" },
  "client-secret": { type: "string" },
  "api-url": { type: "string" },
  "sso-url": { type: "string" },
  "timeout-ms": { type: "string" },
  json: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  help: { type: "boolean", short: "h" },
};

export const CONNECTION_HELP = `connection options (environment variable in brackets):
  --account <uuid>         account UUID [DT_ACCOUNT_UUID]
  --client-id <id>         OAuth client id, dt0s02.… [DT_CLIENT_ID]
                           the client secret is read from DT_CLIENT_SECRET only
  --client-secret <secret> discouraged (visible in the process list)
  --api-url <url>          Account Management API (default https://api.dynatrace.com) [DT_API_URL]
  --sso-url <url>          token endpoint (default https://sso.dynatrace.com/sso/oauth2/token) [DT_SSO_URL]
  --timeout-ms <n>         abort each HTTP attempt after n ms (default 30000)
  --json                   print exactly one JSON document on stdout
  -q, --quiet              no progress on stderr
  -h, --help               this help
`;

/** `parseArgs` that turns its errors into usage errors. */
export function parse(args, options, { positionals = false } = {}) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: positionals });
  } catch (e) {
    throw new UsageError(e.message);
  }
}

export const SECRET_FLAG_WARNING =
  "warning: --client-secret is visible in the process list; prefer the DT_CLIENT_SECRET environment variable";

/** The value of a flag or its environment variable; empty strings count as unset. */
export function flagOrEnv(values, flag, env, envName) {
  const v = values[flag] ?? env[envName];
  return v === undefined || v === "" ? undefined : v;
}

/** `ClientOptions` for `new DpsClient` from the connection flags and environment. */
export function clientOptions(values, env, warn) {
  if (values["client-secret"] !== undefined) warn(SECRET_FLAG_WARNING);
  const need = (flag, envName) => {
    const v = flagOrEnv(values, flag, env, envName);
    if (v === undefined) throw new UsageError(`missing --${flag} (or ${envName})`);
    return v;
  };
  const options = {
    accountUuid: need("account", "DT_ACCOUNT_UUID"),
    clientId: need("client-id", "DT_CLIENT_ID"),
    clientSecret: values["client-secret"] || env.DT_CLIENT_SECRET,
  };
  if (!options.clientSecret) throw new UsageError("missing DT_CLIENT_SECRET");
  const apiUrl = flagOrEnv(values, "api-url", env, "DT_API_URL");
  const ssoUrl = flagOrEnv(values, "sso-url", env, "DT_SSO_URL");
  if (apiUrl) options.apiUrl = apiUrl;
  if (ssoUrl) options.ssoUrl = ssoUrl;
  const retry = retryOptions(values);
  if (retry) options.retry = retry;
  return options;
}

/** `{timeoutMs}` from `--timeout-ms`, or undefined. */
export function retryOptions(values) {
  if (values["timeout-ms"] === undefined) return undefined;
  return { timeoutMs: intFlag(values, "timeout-ms", { min: 1, max: 600_000 }) };
}

/** An integer flag within bounds, or undefined when absent. */
export function intFlag(values, flag, { min, max }) {
  const raw = values[flag];
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(`--${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

/** A repeatable flag that also takes comma lists: `--environment a,b --environment c`. */
export function listFlag(values, flag) {
  const raw = values[flag];
  if (raw === undefined) return undefined;
  const items = (Array.isArray(raw) ? raw : [raw])
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter((v) => v !== "");
  if (items.length === 0) throw new UsageError(`--${flag} needs a value`);
  return [...new Set(items)];
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const INSTANT_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;
export const DAY_MS = 86_400_000;

function validDate(s) {
  const m = DATE_RE.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3];
}

/** An ISO date (midnight UTC) or date-time with a zone → epoch ms; usage error otherwise. */
export function instantFlag(values, flag) {
  const raw = values[flag];
  if (raw === undefined) return undefined;
  if (validDate(raw)) return Date.parse(`${raw}T00:00:00Z`);
  const ms = INSTANT_RE.test(raw) && validDate(raw.slice(0, 10)) ? Date.parse(raw) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new UsageError(`--${flag} must be an ISO-8601 date or date-time with a zone (2026-10-01, 2026-10-01T00:00:00Z), got ${JSON.stringify(raw)}`);
  }
  return ms;
}

/** A `YYYY-MM-DD` date flag (cost allocation works on whole days). */
export function dateFlag(values, flag) {
  const raw = values[flag];
  if (raw === undefined) return undefined;
  if (!validDate(raw)) throw new UsageError(`--${flag} must be a date YYYY-MM-DD, got ${JSON.stringify(raw)}`);
  return raw;
}

export const iso = (ms) => new Date(ms).toISOString();
export const startOfDay = (ms) => Math.floor(ms / DAY_MS) * DAY_MS;

/** A FetchLike that reports each request (method, host and path; never headers, query or body). */
export function progressFetch(log) {
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
    const method = init?.method ?? "GET";
    try {
      const res = await fetch(url, init);
      log(`  ${method} ${where} → ${res.status} (${Date.now() - t0} ms)`);
      return res;
    } catch (e) {
      const what = e?.name === "AbortError" || init?.signal?.aborted ? "aborted (timeout)" : "network error";
      log(`  ${method} ${where} → ${what} (${Date.now() - t0} ms)`);
      throw e;
    }
  };
}

export const isDpsError = (e) =>
  e !== null && typeof e === "object" && e.name === "DpsCostError" && typeof e.code === "string";

/** `CODE [HTTP s] (field): message` for a DpsCostError, `Name: message` for anything else. */
export function describeError(e) {
  if (isDpsError(e)) {
    const status = e.status !== undefined && e.status !== null ? ` [HTTP ${e.status}]` : "";
    const field = e.field ? ` (${e.field})` : "";
    return `${e.code}${status}${field}: ${e.message}`;
  }
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
