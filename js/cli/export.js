// `dps-cost export`: the per-environment daily cost of one or more accounts as FinOps FOCUS rows
// (1.3 by default, or 1.2 / 1.4; CSV or JSON) or as a plain table, allocated by Datadog rules when
// --rules is given; or the FOCUS Contract Commitment dataset (--dataset contract-commitment). The
// data comes from the library's `exportCost(config)`; the file is written atomically (temp file
// + rename: on failure nothing is left behind). Without --out the rows go to stdout.
import { UsageError, describeError, isDpsError, parse, progressFetch } from "./common.js";
import { REPORT_OPTIONS, reportConfig, writeFileAtomic } from "./report.js";

export const FORMATS = ["focus", "focus-json", "csv", "json", "parquet"];

/** The library's option names → the flags that set them (for INVALID_INPUT messages). */
const FLAGS = { format: "--format", focusVersion: "--focus-version", dataset: "--dataset", from: "--from", to: "--to" };

export const EXPORT_HELP = `usage: dps-cost export [options]

Exports the daily cost of one or more accounts per environment and capability (v3, every
page), with the day's usage, as:
  focus        FinOps FOCUS CSV, RFC 4180, CRLF (default): every column of the FOCUS version
               in the specification's order, then x_CapabilityKey, x_SubscriptionId
               (1.3: 65 columns, ContractApplied links each row to the DPS commitment;
               1.4: 65 columns, no ProviderName/PublisherName; 1.2: 57 columns
               + the 1.3 Allocated* columns with --rules)
  focus-json   the same rows as a JSON array of objects
  csv, json    a plain table: date, account, subscription, environment, capability, cost,
               currency, usage, unit, tags (+ allocationRule, allocatedTags with --rules)
  parquet      the FOCUS rows as a Parquet file (needs --out): money DECIMAL(18,6), exact;
               dates TIMESTAMP (UTC); JSON columns as strings; quantities DOUBLE
Costs are exact decimals (micro-units); pieces of an allocated line add up to it exactly.
--dataset contract-commitment writes the FOCUS Contract Commitment dataset instead: one row
per commitment term of each subscription (1.3: 13 columns, 1.4: 30, then x_ columns with the
cost applied in the window, consumed and remaining budget, days remaining); focus, focus-json
or parquet.

options (environment variable in brackets):
  --format <f>             focus | focus-json | csv | json | parquet (default focus)
  --focus-version <v>      1.2 | 1.3 | 1.4 (default 1.3)
  --dataset <d>            cost-and-usage | contract-commitment (default cost-and-usage)
  --out <file>             write the rows to this file (atomically); default: stdout
  --from <date>            first day, YYYY-MM-DD (default: 35 days before --to)
  --to <date>              day after the last, YYYY-MM-DD (default: today)
  --window-days <n>        days before --to when --from is absent, 1..400 (default 35)
  --environment <id>       only these environments (repeatable or a comma list)
  --capability <key>       only these capabilities (repeatable or a comma list)
  --rules <file>           Datadog custom allocation rules JSON: allocate before exporting
  --account <uuid>         account UUID; repeatable or a comma list [DT_ACCOUNT_UUID]
  --client-id <id>         OAuth client id, dt0s02.… [DT_CLIENT_ID]
                           the client secret is read from DT_CLIENT_SECRET
                           per account: DT_CLIENT_ID_<UUID> and DT_CLIENT_SECRET_<UUID>
  --client-secret <secret> discouraged (visible in the process list)
  --api-url <url>          Account Management API (default https://api.dynatrace.com) [DT_API_URL]
  --sso-url <url>          token endpoint (default https://sso.dynatrace.com/sso/oauth2/token) [DT_SSO_URL]
  --now <iso>              what "today" is (default: now)
  --timeout-ms <n>         abort each HTTP attempt after n ms (default 30000)
  --json                   with --out: print a JSON summary {out, format, rows, columns, warnings}
  -q, --quiet              no progress on stderr
  -h, --help               this help

exit codes: 0 ok, 1 the export failed (the error code is printed on stderr; no file is written),
2 usage error
`;

// The report's options (accounts, credentials, window, filters, rules, --out, --json) and --format.
const EXPORT_OPTIONS = { ...REPORT_OPTIONS, format: { type: "string" }, "focus-version": { type: "string" }, dataset: { type: "string" } };

/** Runs `dps-cost export`; resolves to the exit code. */
export async function exportCommand(args, { stdout, stderr, env }) {
  const { values } = parse(args, EXPORT_OPTIONS);
  if (values.help) {
    stdout.write(EXPORT_HELP);
    return 0;
  }
  const format = values.format ?? "focus";
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(", ")}, got ${JSON.stringify(format)}`);
  if (values.json && values.out === undefined) throw new UsageError("--json needs --out (without it the rows themselves go to stdout)");
  if (format === "parquet" && values.out === undefined) {
    // Before any request: a binary file never goes to a terminal or a text pipe.
    stderr.write(`error: ${describeError({ name: "DpsCostError", code: "INVALID_INPUT", field: "--out", message: "--format parquet writes a binary file: give --out <file> (nothing was written)" })}\n`);
    return 2;
  }
  // Accounts, credentials, window, filters and rules as for `report`.
  const config = reportConfig(values, env, (line) => stderr.write(`${line}\n`));
  config.format = format;
  // Checked by the library before any request (INVALID_INPUT naming the flag, exit 2).
  if (values["focus-version"] !== undefined) config.focusVersion = values["focus-version"];
  if (values.dataset !== undefined) config.dataset = values.dataset;

  const log = values.quiet ? () => {} : (line) => stderr.write(`${line}\n`);
  const lib = await import("../node.js");
  log(`dps-cost ${lib.version()}: export (${format}, FOCUS ${config.focusVersion ?? "1.3"}${config.dataset ? `, ${config.dataset}` : ""}) for ${config.accounts.map((a) => a.accountUuid).join(", ")}${values.out ? ` → ${values.out}` : ""}`);
  config.fetch = progressFetch(log);
  let result;
  try {
    result = await lib.exportCost(config);
  } catch (e) {
    const flag = isDpsError(e) && e.code === "INVALID_INPUT" ? FLAGS[e.field] : undefined;
    stderr.write(`error: ${flag ? describeError({ ...errorFields(e), field: flag }) : describeError(e)}\n`);
    return isDpsError(e) && e.code === "INVALID_INPUT" ? 2 : 1;
  }
  for (const w of result.warnings) stderr.write(`warning: ${w}\n`);
  if (values.out === undefined) {
    stdout.write(result.text);
    if (!result.text.endsWith("\n")) stdout.write("\n");
    log(`${result.rows} rows, ${result.columns.length} columns`);
    return 0;
  }
  try {
    const content = result.parquet ?? result.text;
    const path = writeFileAtomic(values.out, content);
    log(`wrote ${values.out}: ${result.rows} rows, ${result.columns.length} columns, ${((result.parquet?.byteLength ?? Buffer.byteLength(result.text)) / 1024).toFixed(1)} KiB`);
    stdout.write(
      values.json
        ? `${JSON.stringify({ out: path, format: result.format, focusVersion: result.focusVersion, dataset: result.dataset, rows: result.rows, columns: result.columns, warnings: result.warnings }, null, 2)}\n`
        : `${values.out}\n`,
    );
  } catch (e) {
    stderr.write(`error: ${e?.code ? `${e.code}: ${e.message}` : describeError(e)}\n`);
    return 1;
  }
  return 0;
}

/** The fields describeError reads, from a DpsCostError. */
function errorFields(e) {
  return { name: e.name, code: e.code, status: e.status, field: e.field, message: e.message };
}
