// The workflow template (dist/dps-cost-workflow.yaml, shipped in the package, written by
// `dps-cost workflow`): the shape the Workflows app exports ({metadata, workflow}, schemaVersion
// 3, task name = key, a valid cron), the task's script = the Workflow file byte for byte (read
// back with a real YAML parser, `yaml` 2.9.1, a devDependency), the loop options, bad input.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { parse as parseYaml } from "yaml";

import { installedPackage, repoRoot, runAsync } from "./helpers.mjs";

const pkg = await installedPackage();
const script = readFileSync(join(repoRoot, "dist", "dps-cost-workflow.js"), "utf8");
const templateText = readFileSync(join(repoRoot, "dist", "dps-cost-workflow.yaml"), "utf8");
const { cronProblem, yamlLiteral } = await pkg.importFile("workflow-template.js");
const work = mkdtempSync(join(tmpdir(), "dps-cost-template-"));
after(() => rmSync(work, { recursive: true, force: true }));

const A = "3f7c2d1e-8a4b-4c6d-9e0f-1a2b3c4d5e6f";
const B = "7b1e4f2a-3c5d-4e6f-8a9b-0c1d2e3f4a5b";
const cli = (...args) => runAsync(pkg.bin, ["workflow", ...args]);

/** The checks every workflow (template or API JSON) must pass; returns its one task. */
function checkWorkflow(wf) {
  assert.equal(wf.schemaVersion, 3);
  assert.equal(wf.type, "STANDARD", "Run JavaScript needs a STANDARD workflow");
  assert.ok(typeof wf.title === "string" && wf.title.length > 0);
  const tasks = Object.entries(wf.tasks);
  assert.equal(tasks.length, 1);
  for (const [key, t] of tasks) assert.equal(t.name, key, "task name equals its key");
  const [, task] = tasks[0];
  assert.equal(task.action, "dynatrace.automations:run-javascript");
  assert.deepEqual(task.predecessors, []);
  assert.equal(task.input.script, script, "the task's script is the Workflow file byte for byte");
  const s = wf.trigger.schedule;
  assert.equal(s.trigger.type, "cron");
  assert.equal(cronProblem(s.trigger.cron), null, s.trigger.cron);
  assert.equal(s.timezone, "UTC");
  assert.equal(s.isActive, true);
  assert.equal(s.rule, null, "the cron is in trigger.cron, not in rule");
  return task;
}

describe("workflow template", () => {
  test("dist/ and the package carry the same template; the default is daily at 06:00 UTC, no loop", async () => {
    assert.equal(readFileSync(join(pkg.pkgDir, "dps-cost-workflow.yaml"), "utf8"), templateText);
    assert.equal(readFileSync(join(pkg.pkgDir, "dps-cost-workflow.js"), "utf8"), script);
    const doc = parseYaml(templateText);
    assert.deepEqual(Object.keys(doc), ["metadata", "workflow"]);
    assert.equal(doc.metadata.version, "1");
    assert.ok(doc.metadata.dependencies.apps.some((a) => a.id === "dynatrace.automations"));
    const task = checkWorkflow(doc.workflow);
    assert.equal(doc.workflow.trigger.schedule.trigger.cron, "0 6 * * *");
    assert.equal(task.withItems, undefined);
    // The script is a literal block scalar, not a one-line string.
    assert.match(templateText, /\n {8}script: \|\n {10}\/\/ dps-cost/);
    const r = await cli();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, templateText, "`dps-cost workflow` without options writes the shipped template");
  });

  test("--loop --accounts: one iteration per account, bounded concurrency, only failed iterations retried", async () => {
    const r = await cli("--loop", "--accounts", `${A},${B}`, "--cron", "30 5 * * 1-5", "--concurrency", "2");
    assert.equal(r.code, 0, r.stderr);
    const wf = parseYaml(r.stdout).workflow;
    const task = checkWorkflow(wf);
    assert.equal(wf.trigger.schedule.trigger.cron, "30 5 * * 1-5");
    assert.equal(task.withItems, `item in ${JSON.stringify([A, B])}`);
    assert.equal(task.concurrency, 2);
    assert.deepEqual(task.retry, { count: 2, delay: 60, failedLoopIterationsOnly: true });
  });

  test("--format json: the Automation API body; --out writes the same", async () => {
    const r = await cli("--format", "json", "--loop", "--accounts", A);
    assert.equal(r.code, 0, r.stderr);
    const wf = JSON.parse(r.stdout);
    const task = checkWorkflow(wf);
    assert.equal(wf.isPrivate, false);
    assert.equal(task.withItems, `item in ${JSON.stringify([A])}`);
    const out = join(work, "wf.json");
    const w = await cli("--format", "json", "--loop", "--accounts", A, "--out", out);
    assert.equal(w.code, 0, w.stderr);
    assert.equal(readFileSync(out, "utf8"), r.stdout);
  });

  test("bad input exits 2 with a clear message and writes nothing", async () => {
    const cases = [
      [["--cron", "0 25 * * *"], /invalid cron "0 25 \* \* \*": hour field "25" is out of range 0-23/],
      [["--cron", "daily"], /invalid cron "daily": has 1 field/],
      [["--cron", "*/0 * * * *"], /step must be at least 1/],
      [["--loop", "--accounts", "not-an-account"], /invalid account "not-an-account"/],
      [["--loop"], /--loop needs --accounts/],
      [["--accounts", A], /--accounts needs --loop/],
      [["--account", A], /Unknown option '--account'/],
      [["--format", "xml"], /--format must be yaml or json/],
      [["--loop", "--accounts", A, "--concurrency", "0"], /invalid concurrency 0/],
    ];
    for (const [args, message] of cases) {
      const out = join(work, "never.yaml");
      const r = await cli(...args, "--out", out);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(" "));
      assert.equal(r.stdout, "");
      assert.equal(existsSync(out), false, `${args.join(" ")}: nothing written`);
    }
  });

  test("cron validation accepts the usual forms", () => {
    for (const ok of ["0 6 * * *", "*/15 * * * *", "0 0 1 JAN,JUL *", "0 8-18/2 * * MON-FRI", "59 23 31 12 7"]) assert.equal(cronProblem(ok), null, ok);
    for (const bad of ["", "* * * *", "60 * * * *", "* * 0 * *", "* * * 13 *", "* * * * 8", "5-1 * * * *", "a * * * *"]) {
      assert.notEqual(cronProblem(bad), null, JSON.stringify(bad));
    }
  });

  test("the literal block carries any script byte for byte, or refuses it", () => {
    for (const s of ["a\n", "a", "a\n\n\n", "x\n  indented\n\n\tTab\n", "\nfirst line empty\n", "trailing spaces   \n  \n"]) {
      const lit = yamlLiteral(s, 2);
      if (lit === null) continue;
      const text = `k: ${lit[0]}\n${lit.slice(1).join("\n")}\n`;
      assert.equal(parseYaml(text).k, s, JSON.stringify(s));
    }
    assert.equal(yamlLiteral("  starts indented\n", 2), null);
    assert.equal(yamlLiteral("cr\r\n", 2), null);
  });
});
