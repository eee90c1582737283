// The Workflow action's `allocation` block (issue 18, item 2) in the real Dynatrace runtime
// (@dynatrace/js-runtime, as tests/js/workflow.test.mjs runs it) against the embedded emulator:
// rules inline and from Datadog with the keys in the credential vault, dps.cost.allocated events
// with stable ids, exact per-currency conservation in the task result, and the bad inputs — an
// invalid rule (RULE_INVALID before any event), keys Datadog refuses (the family fails, the
// account's other families are still synced), rules that allocate nothing (a warning).
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { evaluate } from "./dql.mjs";
import {
  NOW,
  assertNoSecret,
  clearEvents,
  decimalMicros,
  emulatorToken,
  repoRoot,
  secretsOf,
  startPackagedEmulator,
  storedEvents,
} from "./helpers.mjs";
import { runTask, workflowCopy } from "./runtime.mjs";


let emu;
let config;
let secrets;
let platformToken;
let file;
let work;

/** Datadog rules for the emulator's accounts: LOG_MANAGEMENT_QUERY 60/40 to two teams, and the
 * unallocated cost-center remainder of Full-Stack Monitoring split evenly over the cost centers
 * per environment (a partition). */
const RULES = {
  data: [
    {
      id: "201",
      type: "arbitrary_rule",
      attributes: {
        rule_name: "log-queries-to-teams",
        provider: ["dynatrace"],
        type: "shared",
        enabled: true,
        order_id: 1,
        costs_to_allocate: [{ condition: "is", tag: "capability", value: "LOG_MANAGEMENT_QUERY" }],
        strategy: {
          method: "percent",
          allocated_by: [
            { allocated_tags: [{ key: "team", value: "platform" }], percentage: 0.6 },
            { allocated_tags: [{ key: "team", value: "web-shop" }], percentage: 0.4 },
          ],
        },
      },
    },
    {
      id: "202",
      type: "arbitrary_rule",
      attributes: {
        rule_name: "fullstack-rest-even",
        provider: ["dynatrace"],
        type: "shared",
        enabled: true,
        order_id: 2,
        costs_to_allocate: [
          { condition: "is", tag: "capability", value: "FULLSTACK_MONITORING" },
          { condition: "is", tag: "costcenter", value: "null" },
        ],
        strategy: { method: "even", granularity: "daily", allocated_by_tag_keys: ["costcenter"], evaluate_grouped_by_tag_keys: ["environment"] },
      },
    },
  ],
};

async function runInRuntime(payload) {
  const job = {
    file,
    payload: { apiUrl: config.apiUrl, ssoUrl: config.ssoUrl, now: NOW, ...payload },
    timeoutSeconds: 60,
    config: { devProxyUrl: emu.url, environmentUrl: emu.url, token: platformToken },
  };
  const { answer, stderr } = await runTask(job);
  return { ...answer, stderr };
}

/** Every account of the emulator, its OAuth client from the credential vault. */
const vaultAccounts = () =>
  Object.entries(config.credentialVault).map(([credentialId, accountUuid]) => ({ accountUuid, credentialId }));

const requests = async () => (await fetch(`${emu.url}/__emulator/requests`)).json();

before(async () => {
  emu = await startPackagedEmulator();
  config = emu.config;
  platformToken = await emulatorToken(config, config.ingest);
  secrets = [...secretsOf(config), config.datadog.apiKey, config.datadog.applicationKey, platformToken];
  ({ dir: work, file } = workflowCopy("dps-cost-chargeback-"));
});

after(async () => {
  await emu?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the allocation block in the Dynatrace runtime", () => {
  test("inline rules: dps.cost.allocated events, exact per-currency totals, a re-run adds no id", async () => {
    await clearEvents(emu);
    const r = await runInRuntime({ accounts: vaultAccounts(), allocation: { rules: RULES } });
    assert.equal(r.ok, true, r.error);
    const result = r.result;
    assertNoSecret(JSON.stringify(result) + r.stderr, secrets, "the task result and log");
    assert.equal(result.ok, true, JSON.stringify(result.accounts));
    assert.equal(result.warnings, undefined);
    const stored = await storedEvents(emu);
    const allocated = stored.filter((e) => e["event.type"] === "dps.cost.allocated");
    let counted = 0;
    for (const a of result.accounts) {
      const ca = a.costAllocated;
      assert.equal(ca.source, "inline");
      assert.equal(ca.rules, 2);
      assert.ok(ca.linesAllocated > 0, JSON.stringify(ca));
      counted += a.events.costAllocated;
      for (const [cur, t] of Object.entries(ca.totals)) {
        assert.equal(t.equal, true);
        assert.equal(t.input, t.output, `${a.accountUuid} ${cur}: output = input`);
        // the window's per-environment cost of this account, as the stored cost events have it
        const input = stored
          .filter((e) => e["event.type"] === "dps.environment.cost" && e.accountUuid === a.accountUuid && e.currency === cur)
          .reduce((n, e) => n + decimalMicros(e.value), 0n);
        assert.equal(decimalMicros(t.input), input, `${a.accountUuid} ${cur}: the input is every environment cost line`);
        const events = allocated
          .filter((e) => e["tag.account"] === a.accountUuid && e.currency === cur)
          .reduce((n, e) => n + BigInt(e.costMicros), 0n);
        assert.equal(events, decimalMicros(t.allocated) + decimalMicros(t.unallocated), `${a.accountUuid} ${cur}: the events carry allocated + unallocated`);
      }
    }
    assert.equal(allocated.length, counted);
    assert.ok(allocated.some((e) => e["destination.team"] === "platform" && e.ruleName === "log-queries-to-teams"));
    assert.ok(allocated.some((e) => e["destination.costcenter"] && e.ruleName === "fullstack-rest-even" && e["tag.environment"]));
    assert.ok(allocated.every((e) => e["event.provider"] === "dps4ma.ingester" && typeof e.costMicros === "number"));
    const ids = new Set(stored.map((e) => e["event.id"]));
    assert.equal(ids.size, stored.length, "each event once");

    // The README's chargeback DQL, evaluated over the stored events: per team and currency what
    // the allocated events carry.
    const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
    const blocks = [...readme.matchAll(/```dql\n([\s\S]*?)```/g)].map((m) => m[1]).filter((q) => q.includes("destination.team"));
    assert.equal(blocks.length, 1, "one chargeback-by-team query in the README");
    const rows = evaluate(blocks[0], stored);
    const want = {};
    for (const e of allocated.filter((e) => e.allocationStatus === "allocated" && e["destination.team"])) {
      const k = `${e["destination.team"]}|${e.currency}`;
      want[k] = (want[k] ?? 0n) + BigInt(e.costMicros);
    }
    assert.deepEqual(rows.map((r) => `${r["destination.team"]}|${r.currency}`).sort(), Object.keys(want).sort());
    for (const r of rows) {
      const exact = Number(want[`${r["destination.team"]}|${r.currency}`]) / 1e6;
      assert.ok(Math.abs(r.cost - exact) < 1e-6 * Math.max(1, Math.abs(exact)), `${r["destination.team"]} ${r.currency}: ${r.cost} vs ${exact}`);
    }
    assert.ok(rows.every((r, i) => i === 0 || rows[i - 1].cost >= r.cost), "sorted by cost, descending");

    const again = await runInRuntime({ accounts: vaultAccounts(), allocation: { rules: RULES } });
    assert.equal(again.result.ok, true);
    const after = await storedEvents(emu);
    assert.equal(after.length, stored.length * 2, "the re-run sent every event again");
    assert.equal(new Set(after.map((e) => e["event.id"])).size, ids.size, "and added no new id");
  });

  test("rules from Datadog, the keys from the credential vault (username = API key, password = application key)", async () => {
    await clearEvents(emu);
    await fetch(`${emu.url}/__emulator/requests`, { method: "DELETE" });
    const [first] = vaultAccounts();
    const r = await runInRuntime({
      accounts: [first],
      allocation: { credentialId: config.datadog.credentialId, baseUrl: config.datadog.baseUrl },
    });
    assert.equal(r.ok, true, r.error);
    assertNoSecret(JSON.stringify(r.result) + r.stderr, secrets, "the task result and log");
    assert.equal(r.result.ok, true, JSON.stringify(r.result.accounts));
    const ca = r.result.accounts[0].costAllocated;
    assert.equal(ca.source, "datadog");
    assert.equal(ca.rules, 3, "the emulator's Datadog rules");
    assert.ok(Object.values(ca.totals).every((t) => t.equal && t.input === t.output));
    const log = (await requests()).map((q) => `${q.method} ${q.path} ${q.status}`);
    assert.ok(log.includes(`GET /platform/classic/environment-api/v2/credentials/${config.datadog.credentialId}/details 200`), log.join("\n"));
    assert.equal(log.filter((l) => l === "GET /api/v2/cost/arbitrary_rule 200").length, 1, "the rules are read once");
    const stored = await storedEvents(emu);
    assert.equal(stored.filter((e) => e["event.type"] === "dps.cost.allocated").length, r.result.accounts[0].events.costAllocated);
  });

  test("keys Datadog refuses: the family fails with a clear error, the account's other families are synced", async () => {
    await clearEvents(emu);
    const [first] = vaultAccounts();
    const real = emu.state.datadog.apiKey;
    emu.state.datadog.apiKey = "ddrotatedapikey000000000000000000"; // rotated in Datadog, stale in the vault
    try {
      const allocation = { credentialId: config.datadog.credentialId, baseUrl: config.datadog.baseUrl };
      const r = await runInRuntime({ accounts: [first], allocation, failOnError: false });
      assert.equal(r.ok, true, r.error);
      assertNoSecret(JSON.stringify(r.result) + r.stderr, secrets, "the task result and log");
      const a = r.result.accounts[0];
      assert.equal(r.result.ok, false);
      assert.equal(a.ok, false);
      assert.equal(a.error, undefined, "the account itself ran");
      assert.deepEqual(a.errors.map((e) => [e.family, e.code, e.status]), [["costAllocated", "FORBIDDEN", 403]]);
      assert.match(a.errors[0].message, /Datadog refused the API key or application key/);
      assert.equal(a.costAllocated, undefined);
      const stored = await storedEvents(emu);
      const types = new Set(stored.map((e) => e["event.type"]));
      for (const t of ["dps.subscription.status", "dps.cost2.booked", "dps.environment.cost", "dps.environment.usage", "dps.forecast", "dps.cost.allocation", "dps.sync.run"]) {
        assert.ok(types.has(t), `${t} still synced`);
      }
      assert.ok(!types.has("dps.cost.allocated"));
      assert.equal(stored.length, r.result.events.accepted);

      // With failOnError (the default) the task fails, naming the family and the code.
      const failed = await runInRuntime({ accounts: [first], allocation });
      assert.equal(failed.ok, false);
      assert.match(failed.error, /costAllocated FORBIDDEN/);
      assertNoSecret(failed.error + failed.stderr, secrets, "the task error and log");
    } finally {
      emu.state.datadog.apiKey = real;
    }
  });

  test("an invalid rule: RULE_INVALID naming the rule and the field, before any request or event", async () => {
    await clearEvents(emu);
    await fetch(`${emu.url}/__emulator/requests`, { method: "DELETE" });
    const bad = structuredClone(RULES);
    bad.data[1].attributes.strategy.method = "by_vibes";
    const r = await runInRuntime({ accounts: vaultAccounts(), allocation: { rules: bad } });
    assert.equal(r.ok, false);
    assert.match(r.error, /RULE_INVALID/);
    assert.match(r.error, /fullstack-rest-even/);
    assert.match(r.error, /strategy\.method/);
    assert.equal((await storedEvents(emu)).length, 0, "no event sent");
    const log = await requests();
    assert.ok(!log.some((q) => q.path.startsWith("/sso/") || q.path.includes("/ingest")), JSON.stringify(log.map((q) => q.path)));
  });

  test("rules that allocate nothing: a warning in the result, not a silent success", async () => {
    await clearEvents(emu);
    const none = structuredClone(RULES);
    for (const rule of none.data) rule.attributes.provider = ["aws"];
    const r = await runInRuntime({ accounts: vaultAccounts().slice(0, 1), allocation: { rules: none } });
    assert.equal(r.ok, true, r.error);
    assert.equal(r.result.ok, true);
    assert.equal(r.result.warnings.length, 1);
    assert.match(r.result.warnings[0], /no rule allocated anything/);
    assert.match(r.result.accounts[0].costAllocated.warnings[0], /none of the 2 enabled rule\(s\) matched/);
    assert.equal(r.result.accounts[0].events.costAllocated, 0);
  });
});
