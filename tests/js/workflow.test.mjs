// The Workflow action file (dist/dps-cost-workflow.js) in the real Dynatrace JavaScript runtime
// (@dynatrace/js-runtime 1.135.0, installed at test time with --no-save: Developer Terms).
//
// Locally the runtime routes relative fetches (`/platform/…`) to config.devProxyUrl with
// `Authorization: Bearer <config.token>`; devProxyUrl is the emulator, so the credential vault
// read and the relative bizevents ingest run for real.
import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  NOW,
  assertNoSecret,
  cargoVersion,
  clearEvents,
  emulatorToken,
  installedPackage,
  secretsOf,
  startPackagedEmulator,
  storedEvents,
} from "./helpers.mjs";
import { WORKFLOW_FILE, runTask, workflowCopy } from "./runtime.mjs";

const WORKFLOW = WORKFLOW_FILE;
const WINDOW_WARNING = /accessed the global `window`/;

let emu;
let config;
let secrets;
let platformToken;
let work;
const stderrs = [];

/** Runs `file` in the runtime with `payload`; resolves with the runner's JSON answer. */
async function runInRuntime(file, payload, configOverrides = {}) {
  const job = {
    file,
    payload,
    timeoutSeconds: 60,
    config: { devProxyUrl: emu.url, environmentUrl: emu.url, token: platformToken, ...configOverrides },
  };
  const { answer, stderr } = await runTask(job);
  stderrs.push(stderr);
  return { ...answer, stderr };
}

before(async () => {
  emu = await startPackagedEmulator();
  config = emu.config;
  // The runtime's own identity for relative /platform calls: a valid emulator token.
  platformToken = await emulatorToken(config, config.ingest);
  secrets = [...secretsOf(config), platformToken];
  work = workflowCopy("dps-cost-workflow-").dir;
});

after(async () => {
  await emu?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the action file", () => {
  const src = () => readFileSync(WORKFLOW, "utf8");

  test("has exactly one export default, no eval / new Function, no window", () => {
    const s = src();
    const defaults = (s.match(/\bexport\s+default\b/g) || []).length + (s.match(/\bas\s+default\b/g) || []).length;
    assert.equal(defaults, 1, "exactly one default export");
    assert.doesNotMatch(s, /\beval\s*\(/);
    assert.doesNotMatch(s, /\bnew\s+Function\b/);
    // js-sys' global() carries an accessor that reads `window` only when globalThis is missing;
    // that it never runs is checked below (the runtime warns whenever `window` is touched).
    // (The bundle is minified: any formatting, any local name.)
    const rest = s.replace(/const \w+\s*=\s*typeof window\s*===\s*(["'])undefined\1\s*\?\s*undefined\s*:\s*window;/g, "");
    assert.doesNotMatch(rest, /\bwindow\b/);
    // Also mid-line and without spaces (`import{x}from"y"`): the bundle is minified.
    assert.doesNotMatch(s, /(?:^|[;}])\s*import\s*[\w$*{][^;]*?\bfrom\s*["']/m, "no import statements (no npm in the runtime)");
    // The wasm is inlined and instantiated synchronously at import (the glue's fetch-based async
    // init stays in the file but is never called; the runtime runs below prove it).
    assert.match(s, /\binitSync\(\{\s*module:\s*__dpsCostUnpack\("[^"\\]+",\s*\d+\)\s*\}\);\n/);
  });

  test("starts with the CONFIG block", () => {
    const s = src();
    const config = s.indexOf("const CONFIG = {");
    assert.ok(config > 0 && config < 4000, "CONFIG is near the top");
    assert.ok(config < s.indexOf("function initSync"), "CONFIG comes before the bundle");
  });
});

describe("in the Dynatrace runtime", () => {
  test("inline.js loads with unsafe-eval off (version smoke)", async () => {
    const pkg = await installedPackage();
    const file = join(work, "inline-smoke.js");
    writeFileSync(
      file,
      readFileSync(join(pkg.pkgDir, "inline.js"), "utf8") +
        "\nexport default async function () { return { version: version(), guard: isDpsCostError(new Error('x')) }; }\n",
    );
    const r = await runInRuntime(file, {});
    assert.equal(r.ok, true, r.error);
    assert.deepEqual(r.result, { version: cargoVersion(), guard: false });
  });

  test("credential vault + relative ingest: every event lands once, the result holds no secret", async () => {
    await clearEvents(emu);
    await fetch(`${emu.url}/__emulator/requests`, { method: "DELETE" });
    const names = Object.fromEntries(config.accounts.map((a) => [a.accountUuid, a.name]));
    const accounts = Object.entries(config.credentialVault).map(([credentialId, accountUuid]) => ({
      accountUuid,
      name: names[accountUuid],
      credentialId,
    }));
    const r = await runInRuntime(join(work, "dps-cost-workflow.js"), {
      accounts,
      apiUrl: config.apiUrl,
      ssoUrl: config.ssoUrl,
      now: NOW,
    });
    assert.equal(r.ok, true, r.error);
    const result = r.result;
    assertNoSecret(JSON.stringify(result), secrets, "the task result");
    assert.ok(JSON.stringify(result).length < 1_000_000, "the result stays under 1 MB");
    assert.equal(result.ok, true, JSON.stringify(result.accounts));
    assert.equal(result.dryRun, false);
    assert.equal(result.version, cargoVersion());
    assert.equal(result.accounts.length, accounts.length);
    for (const a of result.accounts) {
      assert.equal(a.ok, true);
      assert.ok(a.costDays > 30);
      assert.equal(typeof a.subscription.percentUsed, "number");
    }
    assert.ok(result.events.built > 0);
    assert.equal(result.events.accepted, result.events.built);
    assert.equal(result.events.rejected, 0);

    const stored = await storedEvents(emu);
    assert.equal(stored.length, result.events.built, "stored = built");
    assert.equal(new Set(stored.map((e) => e["event.id"])).size, stored.length, "each event exactly once");

    const requests = await (await fetch(`${emu.url}/__emulator/requests`)).json();
    const paths = requests.map((q) => `${q.method} ${q.path} ${q.status} ${q.auth}`);
    for (const { credentialId } of accounts) {
      assert.ok(
        paths.some((p) => p.startsWith(`GET /platform/classic/environment-api/v2/credentials/${credentialId}/details 200`)),
        `the vault entry ${credentialId} was read through the relative path:\n${paths.join("\n")}`,
      );
    }
    assert.ok(
      paths.some((p) => /^POST \/platform\/classic\/environment-api\/v2\/bizevents\/ingest 202 Bearer$/.test(p)),
      `the events went through the relative platform ingest with the runtime's identity:\n${paths.join("\n")}`,
    );
  });

  test("direct credentials (payload) + absolute ingest with an OAuth client", async () => {
    await clearEvents(emu);
    const a = config.accounts[0];
    const r = await runInRuntime(join(work, "dps-cost-workflow.js"), {
      accounts: [{ accountUuid: a.accountUuid, name: a.name, clientId: a.clientId, clientSecret: a.clientSecret }],
      apiUrl: config.apiUrl,
      ssoUrl: config.ssoUrl,
      now: NOW,
      ingest: {
        url: config.ingestUrl,
        clientId: config.ingest.clientId,
        clientSecret: config.ingest.clientSecret,
        accountUuid: config.ingest.accountUuid,
        scope: config.ingest.scope,
      },
    });
    assert.equal(r.ok, true, r.error);
    assertNoSecret(JSON.stringify(r.result), secrets, "the task result");
    assert.equal(r.result.ok, true);
    assert.equal((await storedEvents(emu)).length, r.result.events.built);
  });

  test("dry run sends nothing", async () => {
    await clearEvents(emu);
    const a = config.accounts[1];
    const r = await runInRuntime(join(work, "dps-cost-workflow.js"), {
      accounts: [{ accountUuid: a.accountUuid, clientId: a.clientId, clientSecret: a.clientSecret }],
      apiUrl: config.apiUrl,
      ssoUrl: config.ssoUrl,
      dryRun: true,
    });
    assert.equal(r.ok, true, r.error);
    assert.equal(r.result.dryRun, true);
    assert.equal(r.result.events.sent, 0);
    assert.equal((await storedEvents(emu)).length, 0);
  });

  test("a failing account fails the task with its code and without the secret", async () => {
    const a = config.accounts[0];
    const wrong = `${a.clientSecret.slice(0, -4)}beef`;
    const r = await runInRuntime(join(work, "dps-cost-workflow.js"), {
      accounts: [{ accountUuid: a.accountUuid, name: a.name, clientId: a.clientId, clientSecret: wrong }],
      apiUrl: config.apiUrl,
      ssoUrl: config.ssoUrl,
      ingest: null,
    });
    assert.equal(r.ok, false);
    assert.match(r.error, /AUTH_INVALID_CLIENT/);
    assertNoSecret(r.error + r.stderr, [...secrets, wrong], "the task error and log");
  });

  test("an unknown credential vault id fails the task clearly", async () => {
    const r = await runInRuntime(join(work, "dps-cost-workflow.js"), {
      accounts: [{ accountUuid: config.accounts[0].accountUuid, credentialId: "CREDENTIALS_VAULT-FFFFFFFFFFFFFFFF" }],
      apiUrl: config.apiUrl,
      ssoUrl: config.ssoUrl,
    });
    assert.equal(r.ok, false);
    assert.match(r.error, /CREDENTIALS_VAULT-FFFFFFFFFFFFFFFF.*HTTP 40\d/);
  });

  test("the runtime never warned about `window`", () => {
    assert.ok(stderrs.length > 0);
    for (const s of stderrs) assert.doesNotMatch(s, WINDOW_WARNING);
  });
});
