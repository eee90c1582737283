// `dps-cost dashboard` and `dps-cost workflow`: the Dynatrace-native delivery files. Everything
// is checked before anything is written; a usage error (exit 2) writes nothing.
import { readFileSync } from "node:fs";
import { UsageError, parse } from "./common.js";

export const DASHBOARD_HELP = `usage: dps-cost dashboard [--out <file>]

Writes the Dashboards-app document (upload it: Dashboards › Upload): subscription details,
account level details, forecast, cost and usage per environment and capability, chargeback,
data freshness and health; variables Account and Currency.

  --out <file>             write to this file (atomically); default: stdout
  -h, --help               this help
`;

export const WORKFLOW_HELP = `usage: dps-cost workflow [--accounts <uuid,…> --loop] [--cron <expr>] [--out <file>] [--format yaml|json]

Writes a workflow whose Run JavaScript task runs the dps-cost Workflow file (the script is the
shipped dps-cost-workflow.js byte for byte; edit its CONFIG after the import).

  --cron <expr>            schedule, five-field cron in UTC (default "0 6 * * *": daily 06:00 UTC)
  --loop                   one loop iteration per account (withItems), bounded concurrency,
                           only failed iterations are retried; needs --accounts
  --accounts <uuid,…>      the loop items: account UUIDs (each must be in the script's CONFIG)
  --concurrency <n>        iterations at the same time with --loop (1-20, default 4)
  --format yaml|json       yaml: the template the Workflows app imports (default);
                           json: the body of POST /platform/automation/v1/workflows
  --out <file>             write to this file (atomically); default: stdout
  -h, --help               this help
`;

const DASHBOARD_OPTIONS = { out: { type: "string" }, help: { type: "boolean", short: "h" } };
const WORKFLOW_OPTIONS = {
  accounts: { type: "string" },
  cron: { type: "string" },
  loop: { type: "boolean" },
  concurrency: { type: "string" },
  format: { type: "string" },
  out: { type: "string" },
  help: { type: "boolean", short: "h" },
};

async function emit(text, values, { stdout }) {
  if (values.out === undefined) {
    stdout.write(text);
    return 0;
  }
  const { writeFileAtomic } = await import("./report.js");
  writeFileAtomic(values.out, text);
  return 0;
}

/** `dps-cost dashboard`; resolves to the exit code. */
export async function dashboardCommand(args, io) {
  const { values } = parse(args, DASHBOARD_OPTIONS);
  if (values.help) {
    io.stdout.write(DASHBOARD_HELP);
    return 0;
  }
  if (values.out === "") throw new UsageError("--out needs a file name");
  const { dashboardJson } = await import("../dashboard.js");
  return emit(dashboardJson(), values, io);
}

/** `dps-cost workflow`; resolves to the exit code. */
export async function workflowCommand(args, io) {
  const { values } = parse(args, WORKFLOW_OPTIONS);
  if (values.help) {
    io.stdout.write(WORKFLOW_HELP);
    return 0;
  }
  if (values.out === "") throw new UsageError("--out needs a file name");
  const format = values.format ?? "yaml";
  if (format !== "yaml" && format !== "json") throw new UsageError(`--format must be yaml or json, got ${JSON.stringify(format)}`);
  let concurrency;
  if (values.concurrency !== undefined) {
    if (!values.loop) throw new UsageError("--concurrency needs --loop");
    if (!/^\d+$/.test(values.concurrency)) throw new UsageError(`--concurrency must be a whole number, got ${JSON.stringify(values.concurrency)}`);
    concurrency = Number(values.concurrency);
  }
  const accounts =
    values.accounts === undefined
      ? undefined
      : values.accounts
          .split(",")
          .map((a) => a.trim())
          .filter((a) => a !== "");
  if (accounts !== undefined && accounts.length === 0) throw new UsageError("--accounts needs at least one account UUID");
  const { workflowApiJson, workflowTemplateYaml } = await import("../workflow-template.js");
  const script = readFileSync(new URL("../dps-cost-workflow.js", import.meta.url), "utf8");
  const options = { accounts, cron: values.cron, loop: values.loop === true, concurrency };
  let text;
  try {
    text = format === "json" ? workflowApiJson(script, options) : workflowTemplateYaml(script, options);
  } catch (e) {
    if (e instanceof TypeError) throw new UsageError(e.message);
    throw e;
  }
  return emit(text, values, io);
}
