// The Workflow file as a loop task's iteration, and its run deadline, in the real Dynatrace
// runtime (@dynatrace/js-runtime) against the emulator:
// - the script of the workflow template (read back from dist/dps-cost-workflow.yaml) runs;
// - the loop item comes from the `loopItemValue` parameter, or only from the action-execution
//   route (GET /platform/automation/v1/action-executions/{id}, relative, as the SDK calls it);
// - an item naming an account that is not in CONFIG fails that iteration with INVALID_INPUT and
//   ingests nothing;
// - a slow emulator and a short deadline: the task returns ok:false, code DEADLINE, what is
//   incomplete; what it stored is exactly what it reports accepted; a second run completes it.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parse as parseYaml } from "yaml";

import { ACCOUNT_A, ACCOUNT_B, NOW, assertNoSecret, clearEvents, emulatorToken, repoRoot, secretsOf, startPackagedEmulator, storedEvents } from "./helpers.mjs";
import { runTask } from "./runtime.mjs";


let emu;
let config;
let platformToken;
let secrets;
let work;
let script; // the workflow template's task script, written to a file

async function runInRuntime(payload) {
  const job = { file: script, payload, timeoutSeconds: 110, config: { devProxyUrl: emu.url, environmentUrl: emu.url, token: platformToken } };
  const { answer, stderr } = await runTask(job, { timeout: 180_000 });
  return { ...answer, stderr };
}

/** Both test accounts through the credential vault, as CONFIG would list them. */
function vaultAccounts() {
  const names = Object.fromEntries(config.accounts.map((a) => [a.accountUuid, a.name]));
  return Object.entries(config.credentialVault)
    .filter(([, uuid]) => uuid === ACCOUNT_A || uuid === ACCOUNT_B)
    .map(([credentialId, accountUuid]) => ({ accountUuid, name: names[accountUuid], credentialId }));
}
const base = (extra = {}) => ({ accounts: vaultAccounts(), apiUrl: config.apiUrl, ssoUrl: config.ssoUrl, now: NOW, ...extra });
const accountOf = (e) => e.accountUuid ?? e["account.uuid"];

before(async () => {
  emu = await startPackagedEmulator();
  config = emu.config;
  platformToken = await emulatorToken(config, config.ingest);
  secrets = [...secretsOf(config), platformToken];
  work = mkdtempSync(join(tmpdir(), "dps-cost-workflow-loop-"));
  const template = parseYaml(readFileSync(join(repoRoot, "dist", "dps-cost-workflow.yaml"), "utf8"));
  const [task] = Object.values(template.workflow.tasks);
  assert.equal(task.input.script, readFileSync(join(repoRoot, "dist", "dps-cost-workflow.js"), "utf8"), "the template's script is the shipped file");
  script = join(work, "task.js");
  writeFileSync(script, task.input.script);
});

after(async () => {
  await emu?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("loop iterations", () => {
  test("loopItemValue: the iteration syncs only its account and says which shard it was", async () => {
    await clearEvents(emu);
    const r = await runInRuntime(base({ loopItemValue: ACCOUNT_A }));
    assert.equal(r.ok, true, r.error);
    assertNoSecret(JSON.stringify(r.result) + r.stderr, secrets, "the result and log");
    assert.deepEqual(r.result.shard, { account: ACCOUNT_A });
    assert.equal(r.result.ok, true);
    assert.deepEqual(r.result.accounts.map((a) => a.accountUuid), [ACCOUNT_A]);
    const stored = await storedEvents(emu);
    assert.equal(stored.length, r.result.events.built);
    assert.ok(stored.every((e) => accountOf(e) === ACCOUNT_A), "only the item's account");
    assert.ok(stored.some((e) => e["event.type"] === "dps.sync.run"));
  });

  test("action-execution route only: the item (account + families) is read through the relative path", async () => {
    await clearEvents(emu);
    await fetch(`${emu.url}/__emulator/requests`, { method: "DELETE" });
    const item = { account: ACCOUNT_B, families: ["environmentCost"] };
    const reg = await fetch(`${emu.url}/__emulator/action-executions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: "ae-dps-cost-1", loopItem: { item } }),
    });
    assert.equal(reg.status, 204);
    const r = await runInRuntime(base({ actionExecutionId: "ae-dps-cost-1" }));
    assert.equal(r.ok, true, r.error);
    assert.deepEqual(r.result.shard, item);
    assert.equal(r.result.ok, true);
    const types = new Set((await storedEvents(emu)).map((e) => e["event.type"]));
    // A slice builds what it names: the seed kinds come from the slice that names them.
    assert.deepEqual([...types].sort(), ["dps.environment.cost", "dps.sync.run"]);
    assert.ok((await storedEvents(emu)).every((e) => accountOf(e) === ACCOUNT_B));
    const requests = await (await fetch(`${emu.url}/__emulator/requests`)).json();
    assert.ok(
      requests.some((q) => q.method === "GET" && q.path === "/platform/automation/v1/action-executions/ae-dps-cost-1" && q.status === 200),
      "the action execution was read",
    );
  });

  test("an item naming an account not in CONFIG fails the iteration with INVALID_INPUT and ingests nothing", async () => {
    await clearEvents(emu);
    const unknown = "00000000-1111-4222-8333-444444444444";
    const r = await runInRuntime(base({ loopItemValue: unknown }));
    assert.equal(r.ok, false);
    assert.match(r.error, /INVALID_INPUT/);
    assert.ok(r.error.includes(unknown), r.error);
    assert.equal((await storedEvents(emu)).length, 0);
    const bad = await runInRuntime(base({ loopItemValue: { account: ACCOUNT_A, families: ["nope"] } }));
    assert.equal(bad.ok, false);
    assert.match(bad.error, /INVALID_INPUT.*nope/);
    assert.equal((await storedEvents(emu)).length, 0);
  });
});

describe("run deadline", () => {
  test("a slow API and a short deadline: ok:false, DEADLINE, what is incomplete; the next run completes the rest", async () => {
    // The reference: what one unhurried run stores.
    await clearEvents(emu);
    const ref = await runInRuntime(base());
    assert.equal(ref.ok, true, ref.error);
    assert.equal(ref.result.ok, true);
    const refIds = new Set((await storedEvents(emu)).map((e) => e["event.id"]));

    await clearEvents(emu);
    // Every Account Management request takes at least 300 ms; the deadline is 1 s: there are
    // far more than four such requests, so the deadline passes whatever the machine's speed.
    const f = await fetch(`${emu.url}/__emulator/faults`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ path: "^/(sub|v1)/", delayMs: 300, times: 100000 }),
    });
    assert.equal(f.status, 201, await f.text());
    let partial;
    try {
      partial = await runInRuntime(base({ deadlineMs: 1000 }));
    } finally {
      await fetch(`${emu.url}/__emulator/faults`, { method: "DELETE" });
    }
    assert.equal(partial.ok, true, `the task returned (it was not killed): ${partial.error}`);
    const res = partial.result;
    assert.equal(res.ok, false);
    assert.equal(res.code, "DEADLINE");
    assert.ok(res.incomplete.length > 0);
    for (const i of res.incomplete) {
      assert.ok([ACCOUNT_A, ACCOUNT_B].includes(i.accountUuid));
      assert.ok(i.families.length > 0);
    }
    const stored = await storedEvents(emu);
    assert.equal(stored.length, res.events.accepted, "what was built before the deadline was stored");
    assert.ok(stored.every((e) => refIds.has(e["event.id"])), "the same ids as the reference");
    for (const e of stored.filter((x) => x["event.type"] === "dps.sync.run")) {
      assert.equal(e.ok, false);
      assert.equal(e.errorCode, "DEADLINE");
    }

    // As a loop iteration, a deadline fails the iteration (so that the task's retry of failed
    // iterations runs it again), saying DEADLINE, what is incomplete and which shard it was.
    await fetch(`${emu.url}/__emulator/faults`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ path: "^/(sub|v1)/", delayMs: 300, times: 100000 }),
    });
    let looped;
    try {
      looped = await runInRuntime(base({ deadlineMs: 1000, loopItemValue: ACCOUNT_B }));
    } finally {
      await fetch(`${emu.url}/__emulator/faults`, { method: "DELETE" });
    }
    assert.equal(looped.ok, false);
    assert.match(looped.error, /DEADLINE.*incomplete.*shard \{"account":"7b1e4f2a/s);

    // The next run (no deadline pressure) completes the rest under the same ids.
    const rest = await runInRuntime(base());
    assert.equal(rest.ok, true, rest.error);
    assert.equal(rest.result.ok, true);
    const union = new Set((await storedEvents(emu)).map((e) => e["event.id"]));
    assert.deepEqual([...union].sort(), [...refIds].sort());
  });
});
