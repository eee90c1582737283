#!/usr/bin/env node
// dps-cost command line. Results go to stdout (with --json exactly one JSON document), progress
// and errors to stderr. Exit codes: 0 ok · 1 the run failed or was partial · 2 usage error.
// The commands live in ./cli/ (sync.js, commands.js, report.js, export.js); this file dispatches.
import { COMMANDS, commandHelp, runCommand } from "./cli/commands.js";
import { UsageError, describeError } from "./cli/common.js";
import { runSync } from "./cli/sync.js";

export { ingestUrlForEnvironment } from "./cli/sync.js";

const pad = (s) => s.padEnd(17);
const HELP = `usage: dps-cost <command> [options]        dps-cost <command> --help for its options

commands:
  ${pad("sync")}fetch the active subscription and daily cost of an account, build business
  ${pad("")}events and ingest them (or --dry-run)
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${pad(name)}${c.summary}`)
  .join("\n")}
  ${pad("export")}daily cost per environment and capability as FinOps FOCUS 1.3 (or 1.2, 1.4; CSV/JSON) or a
  ${pad("")}plain table, optionally allocated by Datadog rules
  ${pad("report")}write the cost report (key figures and charts) as one self-contained HTML file
  ${pad("dashboard")}write the Dashboards-app document to upload (dashboard.json)
  ${pad("workflow")}write the workflow template to import (schedule, Run JavaScript task, --loop)
  ${pad("emulator")}run the local Dynatrace emulator (see: dps-cost emulator --help)

common options (environment variable in brackets):
  --account <uuid>         account UUID [DT_ACCOUNT_UUID]
  --client-id <id>         OAuth client id, dt0s02.… [DT_CLIENT_ID]
                           the client secret is read from DT_CLIENT_SECRET
  --api-url <url>          Account Management API (default https://api.dynatrace.com) [DT_API_URL]
  --sso-url <url>          token endpoint (default https://sso.dynatrace.com/sso/oauth2/token) [DT_SSO_URL]
  --subscription <uuid>    subscription (default: the active one)
  --from, --to             ISO dates or date-times (cost-allocation: dates YYYY-MM-DD)
  --environment, --capability, --cluster   filters, repeatable or comma lists
  --timeout-ms <n>         abort each HTTP attempt after n ms
  --json                   machine output: exactly one JSON document on stdout
  -q, --quiet              no progress on stderr

  -h, --help               this help
  -v, --version            the dps-cost version

exit codes: 0 ok, 1 failed (the error code is printed on stderr), 2 usage error
`;

/**
 * Runs the CLI with `argv` (without node and script). Resolves to the exit code.
 * @param {string[]} argv
 */
export async function runCli(argv, io = { stdout: process.stdout, stderr: process.stderr, env: process.env }) {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === "-h" || command === "--help" || command === "help") {
      if (command === "help" && rest[0] !== undefined) {
        if (rest[0] === "sync") return await runSync(["--help"], io);
        if (rest[0] === "report") return await (await import("./cli/report.js")).report(["--help"], io);
        if (rest[0] === "export") return await (await import("./cli/export.js")).exportCommand(["--help"], io);
        if (rest[0] === "dashboard") return await (await import("./cli/delivery.js")).dashboardCommand(["--help"], io);
        if (rest[0] === "workflow") return await (await import("./cli/delivery.js")).workflowCommand(["--help"], io);
        if (!Object.hasOwn(COMMANDS, rest[0])) throw new UsageError(`unknown command: ${rest[0]}`);
        io.stdout.write(commandHelp(rest[0]));
        return 0;
      }
      (command === undefined ? io.stderr : io.stdout).write(HELP);
      return command === undefined ? 2 : 0;
    }
    if (command === "-v" || command === "--version") {
      const { version } = await import("./node.js");
      io.stdout.write(`${version()}\n`);
      return 0;
    }
    if (command === "sync") return await runSync(rest, io);
    if (command === "report") return await (await import("./cli/report.js")).report(rest, io);
    if (command === "export") return await (await import("./cli/export.js")).exportCommand(rest, io);
    if (command === "dashboard") return await (await import("./cli/delivery.js")).dashboardCommand(rest, io);
    if (command === "workflow") return await (await import("./cli/delivery.js")).workflowCommand(rest, io);
    if (Object.hasOwn(COMMANDS, command)) return await runCommand(command, rest, io);
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
      io.stderr.write(`dps-cost: ${e.message}\nrun \`dps-cost ${Object.hasOwn(COMMANDS, command) || ["sync", "report", "export", "dashboard", "workflow"].includes(command) ? `${command} ` : ""}--help\` for usage\n`);
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
