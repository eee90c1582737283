// `dps-cost report`: the cost report of one or more accounts as one self-contained HTML file
// (key figures, burn-up against budget with the forecast band, daily cost stacked by capability,
// environment and account, allocation by destination). The data comes from the library's
// `reportData(config)`; the page from `renderReportHtml` (dps-cost/report). The file is written
// atomically: a temp file next to it, renamed into place; on failure nothing is left behind.
import { randomBytes } from "node:crypto";
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { SECRET_FLAG_WARNING, UsageError, dateFlag, describeError, flagOrEnv, intFlag, isDpsError, listFlag, parse, progressFetch, retryOptions } from "./common.js";

export const REPORT_HELP = `usage: dps-cost report [options]

Writes the cost report of one or more accounts as ONE self-contained HTML file: key figures
(budget, cost to date, forecast at period end with its band, straight-line and Dynatrace
forecasts, budget exhaustion date), a burn-up chart per account, daily cost stacked by
capability, environment and account, and allocation by destination (with --rules). The file
needs no network to be viewed or printed.

options (environment variable in brackets):
  --account <uuid>         account UUID; repeatable or a comma list [DT_ACCOUNT_UUID]
  --client-id <id>         OAuth client id, dt0s02.… [DT_CLIENT_ID]
                           the client secret is read from DT_CLIENT_SECRET
                           per account: DT_CLIENT_ID_<UUID> and DT_CLIENT_SECRET_<UUID>
                           (<UUID> upper-case with _ for -) override them
  --client-secret <secret> discouraged (visible in the process list)
  --api-url <url>          Account Management API (default https://api.dynatrace.com) [DT_API_URL]
  --sso-url <url>          token endpoint (default https://sso.dynatrace.com/sso/oauth2/token) [DT_SSO_URL]
  --rules <file>           allocation rules (Datadog custom allocation rules JSON); optional
  --out <file>             the HTML file to write (default dps-cost-report.html)
  --window-days <n>        days in the daily stacked charts, 1..400 (default 35)
  --from, --to <date>      or exactly these days (YYYY-MM-DD, --to exclusive)
  --environment <id>       only these environments (repeatable or a comma list)
  --capability <key>       only these capabilities (repeatable or a comma list)
  --now <iso>              the time the report is for (default: now)
  --timeout-ms <n>         abort each HTTP attempt after n ms (default 30000)
  --json                   print the report data (ReportData) as JSON instead of writing HTML
  -q, --quiet              no progress on stderr
  -h, --help               this help
`;

export const REPORT_OPTIONS = {
  account: { type: "string", multiple: true },
  "client-id": { type: "string" },
  "client-secret": { type: "string" },
  "api-url": { type: "string" },
  "sso-url": { type: "string" },
  rules: { type: "string" },
  out: { type: "string" },
  from: { type: "string" },
  to: { type: "string" },
  "window-days": { type: "string" },
  environment: { type: "string", multiple: true },
  capability: { type: "string", multiple: true },
  now: { type: "string" },
  "timeout-ms": { type: "string" },
  json: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  help: { type: "boolean", short: "h" },
};

export const DEFAULT_OUT = "dps-cost-report.html";

/** An error of the report command with a stable `code`. */
export class ReportCommandError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "DpsCostReportError";
    this.code = code;
  }
}

/** The environment-variable suffix of an account: upper-case, `-` → `_`. */
export const accountEnvSuffix = (uuid) => uuid.toUpperCase().replace(/[^A-Z0-9]/g, "_");

/** The `reportData` config (SyncOptions-like) from the flags and environment; usage errors first. */
export function reportConfig(values, env, warn) {
  if (values["client-secret"] !== undefined) warn(SECRET_FLAG_WARNING);
  const uuids = listFlag(values, "account") ?? listFlag({ account: env.DT_ACCOUNT_UUID || undefined }, "account");
  if (!uuids) throw new UsageError("missing --account (or DT_ACCOUNT_UUID)");
  const accounts = uuids.map((accountUuid) => {
    const suffix = accountEnvSuffix(accountUuid);
    const clientId = env[`DT_CLIENT_ID_${suffix}`] || flagOrEnv(values, "client-id", env, "DT_CLIENT_ID");
    const clientSecret = env[`DT_CLIENT_SECRET_${suffix}`] || values["client-secret"] || env.DT_CLIENT_SECRET;
    if (!clientId) throw new UsageError(`missing --client-id (or DT_CLIENT_ID, or DT_CLIENT_ID_${suffix}) for account ${accountUuid}`);
    if (!clientSecret) throw new UsageError(`missing DT_CLIENT_SECRET (or DT_CLIENT_SECRET_${suffix}) for account ${accountUuid}`);
    return { accountUuid, clientId, clientSecret };
  });
  const config = { accounts };
  const apiUrl = flagOrEnv(values, "api-url", env, "DT_API_URL");
  const ssoUrl = flagOrEnv(values, "sso-url", env, "DT_SSO_URL");
  if (apiUrl) config.apiUrl = apiUrl;
  if (ssoUrl) config.ssoUrl = ssoUrl;
  if (values.now !== undefined) config.now = values.now;
  const retry = retryOptions(values);
  if (retry) config.retry = retry;
  if (values.rules !== undefined) {
    let text;
    try {
      text = readFileSync(values.rules, "utf8");
    } catch (e) {
      throw new UsageError(`--rules: cannot read ${values.rules}: ${e.code ?? e.message}`);
    }
    try {
      config.rules = JSON.parse(text);
    } catch (e) {
      throw new UsageError(`--rules: ${values.rules} is not JSON: ${e.message}`);
    }
  }
  if (values.out === "") throw new UsageError("--out needs a file name");
  if (values.from !== undefined) config.from = dateFlag(values, "from");
  if (values.to !== undefined) config.to = dateFlag(values, "to");
  if (config.from !== undefined && config.to !== undefined && config.to <= config.from) throw new UsageError("--to must be after --from");
  const windowDays = intFlag(values, "window-days", { min: 1, max: 400 });
  if (windowDays !== undefined) config.windowDays = windowDays;
  const environments = listFlag(values, "environment");
  const capabilities = listFlag(values, "capability");
  if (environments) config.environmentIds = environments;
  if (capabilities) config.capabilityKeys = capabilities;
  return config;
}

/**
 * Writes `content` to `path` atomically: a temp file in the same directory, renamed into place.
 * On failure the temp file is removed and ReportCommandError REPORT_WRITE_FAILED is thrown.
 */
export function writeFileAtomic(path, content) {
  const target = resolve(path);
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    writeFileSync(tmp, content, { flag: "wx", mode: 0o644 });
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new ReportCommandError("REPORT_WRITE_FAILED", `cannot write ${path}: ${e.code ?? e.message}`);
  }
  return target;
}

/** Runs `dps-cost report`; resolves to the exit code. */
export async function report(args, { stdout, stderr, env }) {
  const { values } = parse(args, REPORT_OPTIONS);
  if (values.help) {
    stdout.write(REPORT_HELP);
    return 0;
  }
  const log = values.quiet ? () => {} : (line) => stderr.write(`${line}\n`);
  const config = reportConfig(values, env, (line) => stderr.write(`${line}\n`));
  const out = values.out ?? DEFAULT_OUT;
  const lib = await import("../node.js");
  log(`dps-cost ${lib.version()}: report for ${config.accounts.map((a) => a.accountUuid).join(", ")}${values.json ? "" : ` → ${out}`}`);
  if (typeof lib.reportData !== "function") {
    stderr.write("error: REPORT_UNAVAILABLE: this build of dps-cost has no reportData()\n");
    return 1;
  }
  config.fetch = progressFetch(log);
  let data;
  try {
    data = await lib.reportData(config);
  } catch (e) {
    stderr.write(`error: ${describeError(e)}\n`);
    return isDpsError(e) && e.code === "INVALID_INPUT" ? 2 : 1;
  }
  for (const w of data.warnings ?? []) stderr.write(`warning: ${w}\n`);
  if (values.json) {
    stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    return 0;
  }
  const { renderReportHtml } = await import("../report/render.js");
  try {
    const html = renderReportHtml(data);
    writeFileAtomic(out, html);
    const charts = data.accounts.length + 3 + (data.charts.allocation ? 1 : 0);
    log(`wrote ${out}: ${(Buffer.byteLength(html) / 1024).toFixed(1)} KiB, ${data.accounts.length} account(s), ${charts} charts, cost data as of ${data.asOf}`);
    stdout.write(`${out}\n`);
  } catch (e) {
    stderr.write(`error: ${e?.code ? `${e.code}: ${e.message}` : describeError(e)}\n`);
    return 1;
  }
  return 0;
}
