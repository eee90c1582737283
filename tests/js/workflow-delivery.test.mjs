// The Workflow file's `export` block in the real Dynatrace JavaScript runtime: the window's FOCUS
// CSV goes to the emulator's pre-signed PUT target and to its webhook (token from the credential
// vault), and what the targets store is, byte for byte, what `dps-cost export` writes for the
// same accounts, window and FOCUS version. Faults (429 with Retry-After, 503) are retried; a
// refused delivery fails the run with its code while the events are still ingested; bad export
// options are INVALID_INPUT naming the option, before anything is sent. Nothing shown (result,
// log, error) holds the URL's signature or the token.
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  ACCOUNT_A,
  ACCOUNT_B,
  NOW,
  assertNoSecret,
  clearEvents,
  emulatorToken,
  installedPackage,
  runAsync,
  secretsOf,
  startPackagedEmulator,
  storedEvents,
} from "./helpers.mjs";
import { runTask, workflowCopy } from "./runtime.mjs";


let emu, config, pkg, secrets, platformToken, work;
const reference = {};

async function runInRuntime(payload) {
  const job = {
    file: join(work, "dps-cost-workflow.js"),
    payload,
    timeoutSeconds: 90,
    config: { devProxyUrl: emu.url, environmentUrl: emu.url, token: platformToken },
  };
  const { answer, stderr } = await runTask(job);
  return { ...answer, stderr };
}

/** `dps-cost export` of both accounts at NOW (default window), as bytes. */
async function cliExport(version) {
  const file = join(work, `export-${version}.csv`);
  const suffix = (u) => u.toUpperCase().replace(/-/g, "_");
  const [A, B] = [ACCOUNT_A, ACCOUNT_B].map((u) => config.accounts.find((a) => a.accountUuid === u));
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DT_API_URL: config.apiUrl,
    DT_SSO_URL: config.ssoUrl,
    [`DT_CLIENT_ID_${suffix(A.accountUuid)}`]: A.clientId,
    [`DT_CLIENT_SECRET_${suffix(A.accountUuid)}`]: A.clientSecret,
    [`DT_CLIENT_ID_${suffix(B.accountUuid)}`]: B.clientId,
    [`DT_CLIENT_SECRET_${suffix(B.accountUuid)}`]: B.clientSecret,
  };
  const args = ["export", "--account", `${A.accountUuid},${B.accountUuid}`, "--now", NOW, "--focus-version", version, "--out", file, "-q"];
  const r = await runAsync(process.execPath, [pkg.bin, ...args], { env, cwd: pkg.projectDir });
  assert.equal(r.code, 0, r.stderr);
  return readFileSync(file);
}

/** The two accounts through the vault, without names (the CLI has none: the same BillingAccountName). */
const accounts = () =>
  Object.entries(config.credentialVault)
    .map(([credentialId, accountUuid]) => ({ accountUuid, credentialId }))
    .sort((x, y) => [ACCOUNT_A, ACCOUNT_B].indexOf(x.accountUuid) - [ACCOUNT_A, ACCOUNT_B].indexOf(y.accountUuid));

const base = (extra) => ({ accounts: accounts(), apiUrl: config.apiUrl, ssoUrl: config.ssoUrl, now: NOW, ...extra });

async function control(method, path, body) {
  const res = await fetch(`${emu.url}${path}`, { method, ...(body ? { body: JSON.stringify(body) } : {}) });
  assert.ok(res.status < 300, `${method} ${path} → ${res.status}`);
  return res.status === 204 ? null : res.headers.get("content-type")?.includes("json") ? res.json() : Buffer.from(await res.arrayBuffer());
}

async function presign(key) {
  return (await control("POST", "/__emulator/presign", { key })).url;
}

async function uploads() {
  return (await control("GET", "/__emulator/uploads")).uploads;
}

async function reset() {
  await clearEvents(emu);
  await control("DELETE", "/__emulator/uploads");
  await control("DELETE", "/__emulator/requests");
  await control("DELETE", "/__emulator/faults");
}

/** Nothing shown holds the signature, the token or a client secret. */
function assertHidden(r, signature) {
  const shown = JSON.stringify(r.result ?? null) + (r.error ?? "") + r.stderr;
  assertNoSecret(shown, [...secrets, signature].filter(Boolean), "the task result, error and log");
  assert.doesNotMatch(shown, /X-Emu-Signature|X-Emu-Expires/, "no query string");
}

before(async () => {
  pkg = await installedPackage();
  emu = await startPackagedEmulator();
  config = emu.config;
  platformToken = await emulatorToken(config, config.ingest);
  secrets = [...secretsOf(config), platformToken, config.delivery.webhookToken];
  work = workflowCopy("dps-cost-delivery-").dir;
  reference["1.3"] = await cliExport("1.3");
  reference["1.4"] = await cliExport("1.4");
});

after(async () => {
  await emu?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the Workflow's export block in the Dynatrace runtime", () => {
  test("pre-signed PUT: the stored bytes are dps-cost export's; a 429 (Retry-After) and a 503 are retried", async () => {
    await reset();
    await control("POST", "/__emulator/faults", [
      { method: "PUT", path: "^/__upload/", status: 429, retryAfter: 1 },
      { method: "PUT", path: "^/__upload/", status: 503 },
    ]);
    const url = await presign("finops/dps-focus-1.3.csv");
    const signature = new URL(url).searchParams.get("X-Emu-Signature");
    const r = await runInRuntime(base({ export: { url } }));
    assert.equal(r.ok, true, r.error);
    assertHidden(r, signature);
    const d = r.result.delivery;
    assert.equal(r.result.ok, true, JSON.stringify(d));
    assert.equal(d.ok, true);
    assert.equal(d.method, "PUT");
    assert.equal(d.host, new URL(url).host);
    assert.equal(d.path, "/__upload/finops/dps-focus-1.3.csv");
    assert.equal(d.focusVersion, "1.3");
    assert.equal(d.status, 200);
    assert.equal(d.attempts, 3, "429, 503, then 200");
    const stored = await uploads();
    assert.equal(stored.length, 1, "one upload kept (the faults answered before the store)");
    const body = await control("GET", `/__emulator/uploads/${stored[0].index}`);
    assert.equal(Buffer.compare(body, reference["1.3"]), 0, `the stored CSV is dps-cost export's (${body.length} vs ${reference["1.3"].length} bytes)`);
    assert.equal(d.bytes, reference["1.3"].length);
    assert.equal(d.rows, reference["1.3"].toString("utf8").split("\r\n").length - 2, "data rows: lines minus header and the final CRLF");
    assert.equal(stored[0].contentLength, String(body.length), "sent with Content-Length (object stores need it)");
    assert.equal(stored[0].transferEncoding, null);
    assert.equal(stored[0].contentType, "text/csv; charset=utf-8");
    const puts = (await control("GET", "/__emulator/requests")).filter((q) => q.method === "PUT").map((q) => q.status);
    assert.deepEqual(puts, [429, 503, 200]);
    // Delivery is independent of the ingest: the events are there too.
    assert.equal((await storedEvents(emu)).length, r.result.events.built);
    assert.match(r.stderr + JSON.stringify(r.result), /delivered|"ok":true/);
  });

  test("webhook POST with a vault token, FOCUS 1.4: streamed (chunked), the bytes are dps-cost export --focus-version 1.4's", async () => {
    await reset();
    const r = await runInRuntime(
      base({
        export: {
          url: config.delivery.webhookUrl,
          method: "POST",
          header: "Authorization",
          scheme: "Bearer",
          credentialId: config.delivery.webhookCredentialId,
          focusVersion: "1.4",
        },
      }),
    );
    assert.equal(r.ok, true, r.error);
    assertHidden(r);
    const d = r.result.delivery;
    assert.equal(d.ok, true, JSON.stringify(d));
    assert.deepEqual([d.method, d.status, d.attempts, d.focusVersion], ["POST", 202, 1, "1.4"]);
    const stored = await uploads();
    assert.equal(stored.length, 1);
    assert.equal(stored[0].transferEncoding, "chunked", "a webhook body is streamed as it is produced");
    const body = await control("GET", `/__emulator/uploads/${stored[0].index}`);
    assert.equal(Buffer.compare(body, reference["1.4"]), 0, "the stored CSV is dps-cost export --focus-version 1.4's");
    assert.notEqual(Buffer.compare(reference["1.3"], reference["1.4"]), 0);
    const reads = (await control("GET", "/__emulator/requests")).map((q) => `${q.method} ${q.path} ${q.status}`);
    assert.ok(reads.includes(`GET /platform/classic/environment-api/v2/credentials/${config.delivery.webhookCredentialId}/details 200`), reads.join("\n"));
  });

  test("a refused delivery: ok false with its code, the events still ingested, nothing shown of the signature", async () => {
    await reset();
    const url = await presign("finops/refused.csv");
    const signature = new URL(url).searchParams.get("X-Emu-Signature");
    const tampered = url.replace(/X-Emu-Signature=([0-9a-f])/, (_m, c) => `X-Emu-Signature=${c === "0" ? "1" : "0"}`);
    const r = await runInRuntime(base({ export: { url: tampered }, failOnError: false }));
    assert.equal(r.ok, true, r.error);
    assertHidden(r, signature);
    assertHidden(r, new URL(tampered).searchParams.get("X-Emu-Signature"));
    assert.equal(r.result.ok, false);
    assert.equal(r.result.code, "FORBIDDEN");
    assert.deepEqual([r.result.delivery.ok, r.result.delivery.status, r.result.delivery.attempts], [false, 403, 1]);
    assert.equal((await uploads()).length, 0);
    assert.ok(r.result.events.built > 0);
    assert.equal((await storedEvents(emu)).length, r.result.events.built, "ingest does not depend on the delivery");
    // With failOnError (the default) the task fails, naming the code; still no signature.
    const failed = await runInRuntime(base({ export: { url: tampered } }));
    assert.equal(failed.ok, false);
    assert.match(failed.error, /export: FORBIDDEN/);
    assertHidden(failed, new URL(tampered).searchParams.get("X-Emu-Signature"));
  });

  test("bad export options: INVALID_INPUT naming the option, nothing fetched, ingested or uploaded", async () => {
    const url = await presign("finops/never.csv");
    for (const [exp, field] of [
      [{ url: "http://example.com/focus.csv" }, "export.url"],
      [{ url: "not a url" }, "export.url"],
      [{ url, focusVersion: "9.9" }, "export.focusVersion"],
      [{ url, method: "PATCH" }, "export.method"],
    ]) {
      await reset();
      const r = await runInRuntime(base({ export: exp }));
      assert.equal(r.ok, false, JSON.stringify(exp));
      assert.match(r.error, /INVALID_INPUT/, r.error);
      assert.ok(r.error.includes(field), `${r.error} names ${field}`);
      assertHidden(r, new URL(url).searchParams.get("X-Emu-Signature"));
      assert.equal((await storedEvents(emu)).length, 0);
      assert.equal((await uploads()).length, 0);
      const apiCalls = (await control("GET", "/__emulator/requests")).filter((q) => !q.path.includes("/credentials/"));
      assert.deepEqual(apiCalls, [], "no request but the vault reads");
    }
  });
});
