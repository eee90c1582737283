// The Dynatrace runtime tests' shared part (layer dt-runtime): the shipped Workflow file copied
// into a scratch folder, and one task of it run in @dynatrace/js-runtime by
// tests/js/dt-runtime-run.cjs (its own process; its last stdout line is the task's outcome).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { NOW, installedPackage, repoRoot, runAsync } from "./helpers.mjs";

export const WORKFLOW_FILE = join(repoRoot, "dist", "dps-cost-workflow.js");
const RUNNER = join(repoRoot, "tests", "js", "dt-runtime-run.cjs");

// The runtime is installed at test time: a no-op when `node scripts/setup.mjs --test` already did.
const { ensureDtRuntime } = await import(pathToFileURL(join(repoRoot, "scripts", "setup.mjs")).href);
ensureDtRuntime();

/** A new scratch folder (`prefix` + random) holding a copy of the shipped Workflow file. */
export function workflowCopy(prefix) {
  assert.ok(existsSync(WORKFLOW_FILE), `${WORKFLOW_FILE} is missing: run \`npm run build\``);
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const file = join(dir, "dps-cost-workflow.js");
  copyFileSync(WORKFLOW_FILE, file);
  return { dir, file };
}

/**
 * Runs one task (`job`: `{file, payload, timeoutSeconds, config}`) in the runtime and fails
 * unless the runner exits 0. Resolves with the runner's answer (`{ok, result | error, …}`) and
 * its stderr.
 */
export async function runTask(job, { timeout = 120_000 } = {}) {
  const r = await runAsync(process.execPath, [RUNNER], { input: JSON.stringify(job), cwd: repoRoot, timeout });
  assert.equal(r.code, 0, `runner failed:\n${r.stderr.slice(-4000)}`);
  return { answer: JSON.parse(r.stdout.trim().split("\n").pop()), stderr: r.stderr };
}

/**
 * The packaged emulator's large profile in its own process (so its CPU and memory are not the
 * runtime's), storing event ids only: `{ child, emu, close }`, `emu` its config line.
 */
export async function startLargeEmulator() {
  const pkg = await installedPackage();
  const child = spawn(
    process.execPath,
    [join(pkg.pkgDir, "emulator", "cli.js"), "--profile", "large", "--store-events", "ids", "--now", NOW, "--quiet"],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const exited = new Promise((resolve) => child.once("exit", (code) => resolve(`the emulator exited (${code})`)));
  const line = await Promise.race([new Promise((resolve) => createInterface({ input: child.stdout }).once("line", resolve)), exited]);
  assert.ok(line.startsWith("{"), line);
  const close = async () => {
    if (child.exitCode !== null) return;
    const gone = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await gone;
  };
  return { child, emu: JSON.parse(line), close };
}

/** The emulator's request log: the requests and their count per `method route status`, ids masked. */
export async function requestsByRoute(emu) {
  const requests = await (await fetch(`${emu.url}/__emulator/requests`)).json();
  const byRoute = {};
  for (const q of requests) {
    const route = q.path
      .replace(/\/accounts\/[^/]+/, "/accounts/{a}")
      .replace(/\/subscriptions\/[0-9a-f-]{36}/, "/subscriptions/{s}");
    const k = `${q.method} ${route} ${q.status}`;
    byRoute[k] = (byRoute[k] ?? 0) + 1;
  }
  return { requests, byRoute };
}
