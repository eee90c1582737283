// Tests of the embedded Dynatrace emulator itself (js/emulator). Run: node --test tests/js/emulator.test.mjs

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { runEmulatorCli } from "../../js/emulator/cli.js";
import { startEmulator } from "../../js/emulator/index.js";

const NOW = "2026-11-23T10:00:00Z";
const A = "3f7c2d1e-8a4b-4c6d-9e0f-1a2b3c4d5e6f";
const B = "7b1e4f2a-3c5d-4e6f-8a9b-0c1d2e3f4a5b";
const OAUTH_PREFIX = "Invalid OAuth2 request. UNSUCCESSFUL_OAUTH_ACCESS_TOKEN_VALIDATION_FAILED | ";
const DAY = 86_400_000;
const CLI = fileURLToPath(new URL("../../js/emulator/cli.js", import.meta.url));

// ---------------------------------------------------------------------------------------------
// Helpers.

async function requestToken(emu, fields, contentType = "application/x-www-form-urlencoded") {
  const body = contentType.startsWith("application/json") ? JSON.stringify(fields) : new URLSearchParams(fields).toString();
  const res = await fetch(`${emu.url}/sso/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": contentType },
    body,
  });
  return { status: res.status, body: await res.json() };
}

function accountFields(emu, index, extra = {}) {
  const acct = emu.config.accounts[index];
  return {
    grant_type: "client_credentials",
    client_id: acct.clientId,
    client_secret: acct.clientSecret,
    scope: "account-uac-read account-env-read",
    resource: `urn:dtaccount:${acct.accountUuid}`,
    ...extra,
  };
}

async function accountToken(emu, index, extra = {}) {
  const { status, body } = await requestToken(emu, accountFields(emu, index, extra));
  assert.equal(status, 200, JSON.stringify(body));
  return body.access_token;
}

async function ingestToken(emu) {
  const { clientId, clientSecret, scope } = emu.config.ingest;
  const { status, body } = await requestToken(emu, {
    grant_type: "client_credentials",
    client_id: clientId,
    client_secret: clientSecret,
    scope,
  });
  assert.equal(status, 200);
  return body.access_token;
}

async function get(emu, path, token) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const res = await fetch(`${emu.url}${path}`, { headers });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

async function post(emu, path, { body, headers = {} }) {
  const res = await fetch(`${emu.url}${path}`, { method: "POST", headers, body });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

const ingestPath = "/api/v2/bizevents/ingest";
const platformIngestPath = "/platform/classic/environment-api/v2/bizevents/ingest";

function postEvents(emu, path, events, auth, contentType = "application/json") {
  const headers = { "Content-Type": contentType };
  if (auth) headers.Authorization = auth;
  return post(emu, path, { body: typeof events === "string" ? events : JSON.stringify(events), headers });
}

async function storedEvents(emu, query = "") {
  return (await get(emu, `/__emulator/events${query}`)).json;
}

async function clearControl(emu) {
  await fetch(`${emu.url}/__emulator/events`, { method: "DELETE" });
  await fetch(`${emu.url}/__emulator/requests`, { method: "DELETE" });
  await fetch(`${emu.url}/__emulator/faults`, { method: "DELETE" });
}

async function addFault(emu, spec) {
  const res = await fetch(`${emu.url}/__emulator/faults`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(spec),
  });
  return { status: res.status, json: await res.json() };
}

async function activeSubscription(emu, index, token) {
  const acct = emu.config.accounts[index];
  const list = await get(emu, `/sub/v2/accounts/${acct.accountUuid}/subscriptions`, token);
  return list.json.data.find((s) => s.status === "ACTIVE" && s.type === "REGULAR");
}

function sortByStart(records) {
  return [...records].sort((x, y) => Date.parse(x.startTime) - Date.parse(y.startTime));
}

function close(a, b, rel = 1e-9) {
  return Math.abs(a - b) <= rel * Math.max(1, Math.abs(a), Math.abs(b));
}

// ---------------------------------------------------------------------------------------------

let emu;
let tokenA;
let tokenB;
let subA;
let subB;
before(async () => {
  emu = await startEmulator({ port: 0, now: NOW });
  tokenA = await accountToken(emu, 0);
  tokenB = await accountToken(emu, 1);
  subA = await activeSubscription(emu, 0, tokenA);
  subB = await activeSubscription(emu, 1, tokenB);
});
after(async () => {
  await emu.close();
});

describe("config", () => {
  test("startEmulator returns url, port and the contract's config", async () => {
    assert.match(emu.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(emu.url, `http://127.0.0.1:${emu.port}`);
    const served = await get(emu, "/__emulator/config");
    assert.equal(served.status, 200);
    assert.deepEqual(served.json, emu.config);
    const c = emu.config;
    assert.equal(c.ssoUrl, `${emu.url}/sso/oauth2/token`);
    assert.equal(c.apiUrl, emu.url);
    assert.equal(c.ingestUrl, `${emu.url}/api/v2/bizevents/ingest`);
    assert.equal(c.platformIngestUrl, `${emu.url}/platform/classic/environment-api/v2/bizevents/ingest`);
    assert.deepEqual(
      c.accounts.map((a) => [a.accountUuid, a.name, a.clientId, a.environments]),
      [
        [A, "ACME Global", "dt0s02.EMUACCTA", [{ id: "abc12345", name: "Production" }, { id: "def67890", name: "Staging" }]],
        [B, "ACME Europe", "dt0s02.EMUACCTB", [{ id: "ghi13579", name: "Production EU" }]],
      ],
    );
    assert.match(c.accounts[0].clientSecret, /^dt0s02\.EMUACCTA\.[0-9a-f]{64}$/);
    assert.match(c.accounts[1].clientSecret, /^dt0s02\.EMUACCTB\.[0-9a-f]{64}$/);
    assert.equal(c.ingest.accountUuid, A);
    assert.equal(c.ingest.clientId, "dt0s02.EMUINGST");
    assert.match(c.ingest.clientSecret, /^dt0s02\.EMUINGST\.[0-9a-f]{64}$/);
    assert.equal(c.ingest.scope, "storage:events:write");
    assert.match(c.ingest.apiToken, /^dt0c01\.EMUAPITOKEN[0-9A-Z]{13}\.[0-9A-F]{64}$/);
    assert.deepEqual(c.credentialVault, {
      "CREDENTIALS_VAULT-A1B2C3D4E5F60001": A,
      "CREDENTIALS_VAULT-A1B2C3D4E5F60002": B,
    });
    assert.equal(c.now, "2026-11-23T10:00:00.000Z");
  });
});

describe("token endpoint", () => {
  test("issues a JWT-looking bearer token bound to the account", async () => {
    const { status, body } = await requestToken(emu, accountFields(emu, 0));
    assert.equal(status, 200);
    assert.deepEqual(Object.keys(body).sort(), ["access_token", "expires_in", "resource", "scope", "token_type"]);
    assert.equal(body.token_type, "Bearer");
    assert.equal(body.expires_in, 300);
    assert.equal(body.scope, "account-uac-read account-env-read");
    assert.equal(body.resource, `urn:dtaccount:${A}`);
    assert.match(body.access_token, /^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const again = await requestToken(emu, accountFields(emu, 0));
    assert.notEqual(again.body.access_token, body.access_token);
  });

  test("without scope grants all the client's scopes; without resource there is no binding", async () => {
    const fields = accountFields(emu, 1);
    delete fields.scope;
    delete fields.resource;
    const { status, body } = await requestToken(emu, fields);
    assert.equal(status, 200);
    assert.equal(body.scope, "account-uac-read account-env-read");
    assert.equal(body.resource, null);
  });

  test("accepts a charset parameter on the form content type", async () => {
    const { status } = await requestToken(emu, accountFields(emu, 0), "application/x-www-form-urlencoded; charset=UTF-8");
    assert.equal(status, 200);
  });

  const failures = [
    ["wrong secret", (e) => accountFields(e, 0, { client_secret: `${e.config.accounts[0].clientId}.${"0".repeat(64)}` }), /Invalid client: wrong client secret/],
    ["secret of another client", (e) => accountFields(e, 0, { client_secret: e.config.accounts[1].clientSecret }), /Invalid client/],
    ["unknown client", (e) => accountFields(e, 0, { client_id: "dt0s02.NOSUCH", client_secret: "dt0s02.NOSUCH.abc" }), /unknown OAuth client 'dt0s02.NOSUCH'/],
    ["missing scope", (e) => accountFields(e, 0, { scope: "account-uac-read storage:events:write account-uac-write" }), /OAuth client is missing following scopes \[storage:events:write account-uac-write\]$/],
    ["bad resource", (e) => accountFields(e, 0, { resource: `urn:dtaccount:${B}` }), /Invalid resource/],
    ["malformed resource", (e) => accountFields(e, 0, { resource: A }), /Invalid resource/],
    ["missing grant_type", (e) => accountFields(e, 0, { grant_type: "" }), /Missing required parameter 'grant_type'/],
    ["unsupported grant_type", (e) => accountFields(e, 0, { grant_type: "password" }), /Unsupported grant type 'password'/],
    ["missing client_id", (e) => accountFields(e, 0, { client_id: "" }), /Missing required parameter 'client_id'/],
    ["missing client_secret", (e) => accountFields(e, 0, { client_secret: "" }), /Missing required parameter 'client_secret'/],
  ];
  for (const [name, fields, message] of failures) {
    test(`400 invalid_request: ${name}`, async () => {
      const { status, body } = await requestToken(emu, fields(emu));
      assert.equal(status, 400);
      assert.equal(body.error, "invalid_request");
      assert.ok(body.error_description.startsWith(OAUTH_PREFIX), body.error_description);
      assert.match(body.error_description, message);
      assert.ok(!body.error_description.includes(emu.config.accounts[0].clientSecret));
    });
  }

  test("400 on a JSON body (wrong content type)", async () => {
    const { status, body } = await requestToken(emu, accountFields(emu, 0), "application/json");
    assert.equal(status, 400);
    assert.equal(body.error, "invalid_request");
    assert.match(body.error_description, /content type 'application\/json'/);
  });

  test("GET on the token endpoint is 405", async () => {
    const res = await get(emu, "/sso/oauth2/token");
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "POST, OPTIONS");
  });

  test("tokens expire after tokenTtlSeconds", async () => {
    const short = await startEmulator({ now: NOW, tokenTtlSeconds: 1 });
    try {
      const { body } = await requestToken(short, accountFields(short, 0));
      assert.equal(body.expires_in, 1);
      const ok = await get(short, `/sub/v2/accounts/${A}/subscriptions`, body.access_token);
      assert.equal(ok.status, 200);
      await new Promise((r) => setTimeout(r, 1050));
      const expired = await get(short, `/sub/v2/accounts/${A}/subscriptions`, body.access_token);
      assert.equal(expired.status, 401);
      assert.deepEqual(expired.json, { error: true, message: "No valid session provided", payload: null });
    } finally {
      await short.close();
    }
  });
});

describe("account API auth", () => {
  const path = `/sub/v2/accounts/${A}/subscriptions`;
  const noSession = { error: true, message: "No valid session provided", payload: null };

  test("no token, unknown token, wrong scheme → 401", async () => {
    assert.deepEqual((await get(emu, path)).json, noSession);
    const unknown = await get(emu, path, "eyJhbGciOiJIUzI1NiJ9.e30.nope");
    assert.equal(unknown.status, 401);
    assert.deepEqual(unknown.json, noSession);
    const res = await fetch(`${emu.url}${path}`, { headers: { Authorization: `Api-Token ${emu.config.ingest.apiToken}` } });
    assert.equal(res.status, 401);
  });

  test("token of another account → 401", async () => {
    const res = await get(emu, path, tokenB);
    assert.equal(res.status, 401);
    assert.deepEqual(res.json, noSession);
  });

  test("token without account binding → 403", async () => {
    const fields = accountFields(emu, 0);
    delete fields.resource;
    const { body } = await requestToken(emu, fields);
    const res = await get(emu, path, body.access_token);
    assert.equal(res.status, 403);
    assert.equal(res.json.error, true);
    assert.equal(res.json.payload, null);
    assert.match(res.json.message, /resource=urn:dtaccount/);
  });

  test("token lacking account-uac-read → 403; account-env-read still reads environments", async () => {
    const token = await accountToken(emu, 0, { scope: "account-env-read" });
    const res = await get(emu, path, token);
    assert.equal(res.status, 403);
    assert.match(res.json.message, /account-uac-read/);
    const envs = await get(emu, `/env/v2/accounts/${A}/environments`, token);
    assert.equal(envs.status, 200);
    assert.deepEqual(
      envs.json.data.map((e) => [e.id, e.name, e.active]),
      [["abc12345", "Production", true], ["def67890", "Staging", true]],
    );
    const uacOnly = await accountToken(emu, 0, { scope: "account-uac-read" });
    assert.equal((await get(emu, `/env/v2/accounts/${A}/environments`, uacOnly)).status, 403);
  });

  test("ingest token cannot read account data", async () => {
    const { clientId, clientSecret } = emu.config.ingest;
    const { body } = await requestToken(emu, {
      grant_type: "client_credentials",
      client_id: clientId,
      client_secret: clientSecret,
      resource: `urn:dtaccount:${A}`,
    });
    assert.equal((await get(emu, path, body.access_token)).status, 403);
  });

  test("malformed account UUID in the path → 400 naming the parameter", async () => {
    const res = await get(emu, "/sub/v2/accounts/not-a-uuid/subscriptions", tokenA);
    assert.equal(res.status, 400);
    assert.equal(res.json.error, true);
    assert.match(res.json.message, /accountUuid/);
  });
});

describe("subscriptions", () => {
  test("list: data[] of list items; one ACTIVE REGULAR per account; A has a TRIAL too", async () => {
    const a = await get(emu, `/sub/v2/accounts/${A}/subscriptions`, tokenA);
    assert.equal(a.status, 200);
    assert.deepEqual(Object.keys(a.json), ["data"]);
    assert.equal(a.json.data.length, 3);
    for (const s of a.json.data) {
      assert.deepEqual(Object.keys(s), ["uuid", "type", "subType", "name", "status", "startTime", "endTime"]);
      assert.equal(s.subType, null);
      assert.match(s.startTime, /^\d{4}-\d{2}-\d{2}$/);
      assert.match(s.endTime, /^\d{4}-\d{2}-\d{2}$/);
    }
    assert.deepEqual(
      a.json.data.map((s) => [s.type, s.status]),
      [["REGULAR", "EXPIRED"], ["REGULAR", "ACTIVE"], ["TRIAL", "ACTIVE"]],
    );
    const b = await get(emu, `/sub/v2/accounts/${B}/subscriptions`, tokenB);
    assert.deepEqual(b.json.data.map((s) => [s.type, s.status]), [["REGULAR", "EXPIRED"], ["REGULAR", "ACTIVE"]]);

    // Dates: active started 400 days before today, runs 2 years; the expired one ended the day before.
    assert.equal(subA.startTime, "2025-10-19");
    assert.equal(subA.endTime, "2027-10-18");
    const expired = a.json.data[0];
    assert.equal(expired.endTime, "2025-10-18");
    assert.equal(expired.startTime, "2024-10-19");
  });

  test("details: SubscriptionDto with budget ~60 % used and a period", async () => {
    const res = await get(emu, `/sub/v2/accounts/${A}/subscriptions/${subA.uuid}`, tokenA);
    assert.equal(res.status, 200);
    const d = res.json;
    assert.deepEqual(Object.keys(d), [
      "uuid", "type", "subType", "name", "status", "startTime", "endTime",
      "account", "budget", "currentPeriod", "periods", "capabilities",
    ]);
    assert.deepEqual(d.account, { uuid: A });
    assert.equal(d.budget.currencyCode, "USD");
    const pct = d.budget.used / d.budget.total;
    assert.ok(pct > 0.55 && pct < 0.65, `usage ${pct}`);
    assert.deepEqual(d.currentPeriod, { startTime: "2025-10-19", endTime: "2027-10-18", daysRemaining: 329 });
    assert.deepEqual(d.periods, []);
    assert.equal(d.capabilities.length, 8);
    assert.deepEqual(d.capabilities.find((c) => c.key === "COMPUTE"), { key: "COMPUTE", name: "AppEngine Functions - Small" });
    assert.ok(d.capabilities.some((c) => c.key === "LOG_MANAGEMENT_INGEST" && c.name === "Log Management & Analytics - Ingest & Process"));

    // used = the sum of every cost booked so far
    const cost = await get(emu, `/sub/v2/accounts/${A}/subscriptions/${subA.uuid}/cost`, tokenA);
    const sum = cost.json.data.reduce((s, r) => s + r.value, 0);
    assert.ok(close(sum, d.budget.used, 1e-9), `${sum} vs ${d.budget.used}`);

    // The forecast runs over: the recent daily run rate × remaining days exceeds the remaining budget.
    const recent = sortByStart(cost.json.data).slice(-30);
    const rate = recent.reduce((s, r) => s + r.value, 0) / recent.length;
    assert.ok(d.budget.used + rate * d.currentPeriod.daysRemaining > d.budget.total);

    const b = await get(emu, `/sub/v2/accounts/${B}/subscriptions/${subB.uuid}`, tokenB);
    assert.equal(b.json.budget.currencyCode, "EUR");
  });

  test("unknown subscription → 404; malformed → 400 naming the parameter; other account's → 404", async () => {
    const notFound = await get(emu, `/sub/v2/accounts/${A}/subscriptions/00000000-0000-4000-8000-000000000000`, tokenA);
    assert.equal(notFound.status, 404);
    assert.deepEqual(notFound.json, { error: true, message: "Cannot get requested resource.", payload: null });
    const bad = await get(emu, `/sub/v2/accounts/${A}/subscriptions/xyz`, tokenA);
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error, true);
    assert.equal(bad.json.payload, null);
    assert.match(bad.json.message, /subscriptionUuid/);
    const badCost = await get(emu, `/sub/v2/accounts/${A}/subscriptions/xyz/cost`, tokenA);
    assert.equal(badCost.status, 400);
    const other = await get(emu, `/sub/v2/accounts/${A}/subscriptions/${subB.uuid}`, tokenA);
    assert.equal(other.status, 404);
  });
});

describe("cost", () => {
  const costPath = (acct, sub, query = "") => `/sub/v2/accounts/${acct}/subscriptions/${sub}/cost${query}`;

  test("one record per day from subscription start to yesterday, not in chronological order", async () => {
    const res = await get(emu, costPath(A, subA.uuid), tokenA);
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.json), ["data", "lastModifiedTime"]);
    assert.equal(res.json.lastModifiedTime, "2026-11-23T06:00:00.000Z");
    const data = res.json.data;
    assert.equal(data.length, 400);
    const sorted = sortByStart(data);
    assert.notDeepEqual(data, sorted, "records must not come sorted");
    assert.equal(sorted[0].startTime, "2025-10-19T00:00:00.000Z");
    assert.equal(sorted.at(-1).startTime, "2026-11-22T00:00:00.000Z");
    const seen = new Set();
    sorted.forEach((r, i) => {
      assert.deepEqual(Object.keys(r), ["startTime", "endTime", "value", "currencyCode", "lastBookingDate"]);
      assert.equal(Date.parse(r.startTime), Date.parse(sorted[0].startTime) + i * DAY);
      assert.equal(Date.parse(r.endTime), Date.parse(r.startTime) + DAY);
      assert.equal(r.lastBookingDate, r.startTime);
      assert.equal(r.currencyCode, "USD");
      assert.ok(Number.isFinite(r.value) && r.value > 0);
      seen.add(r.startTime);
    });
    assert.equal(seen.size, 400);
    assert.ok(data.some((r) => !Number.isInteger(r.value * 1e6)), "values carry many decimals");
  });

  test("timestamp formats: account A with millis, account B without", async () => {
    const a = await get(emu, costPath(A, subA.uuid), tokenA);
    const b = await get(emu, costPath(B, subB.uuid), tokenB);
    for (const r of a.json.data) {
      assert.match(r.startTime, /^\d{4}-\d{2}-\d{2}T00:00:00\.000Z$/);
      assert.match(r.endTime, /^\d{4}-\d{2}-\d{2}T00:00:00\.000Z$/);
    }
    for (const r of b.json.data) {
      assert.match(r.startTime, /^\d{4}-\d{2}-\d{2}T00:00:00Z$/);
      assert.match(r.endTime, /^\d{4}-\d{2}-\d{2}T00:00:00Z$/);
      assert.equal(r.currencyCode, "EUR");
    }
    assert.equal(b.json.data.length, 400);
    assert.equal(b.json.lastModifiedTime, "2026-11-23T06:00:00Z");
  });

  test("filters: env A + env B = unfiltered; capabilities sum to the total", async () => {
    const byDay = async (query) => {
      const res = await get(emu, costPath(A, subA.uuid, query), tokenA);
      assert.equal(res.status, 200, res.text);
      return new Map(res.json.data.map((r) => [r.startTime, r.value]));
    };
    const all = await byDay("");
    const prod = await byDay("?environmentIds=abc12345");
    const staging = await byDay("?environmentIds=def67890");
    const both = await byDay("?environmentIds=abc12345,def67890");
    assert.equal(prod.size, 400);
    for (const [day, v] of all) {
      assert.ok(close(prod.get(day) + staging.get(day), v), day);
      assert.ok(close(both.get(day), v), day);
      assert.ok(prod.get(day) > staging.get(day));
    }
    const details = await get(emu, `/sub/v2/accounts/${A}/subscriptions/${subA.uuid}`, tokenA);
    const perCap = await Promise.all(details.json.capabilities.map((c) => byDay(`?capabilityKeys=${c.key}`)));
    for (const [day, v] of all) {
      const s = perCap.reduce((acc, m) => acc + m.get(day), 0);
      assert.ok(close(s, v), day);
    }
    const combo = await byDay("?environmentIds=def67890&capabilityKeys=FULLSTACK_MONITORING,COMPUTE");
    const stagingFs = await byDay("?environmentIds=def67890&capabilityKeys=FULLSTACK_MONITORING");
    const stagingCompute = await byDay("?environmentIds=def67890&capabilityKeys=COMPUTE");
    for (const [day, v] of combo) assert.ok(close(stagingFs.get(day) + stagingCompute.get(day), v), day);
  });

  test("unknown environment or capability in a filter → 400", async () => {
    const env = await get(emu, costPath(A, subA.uuid, "?environmentIds=abc12345,ghi13579"), tokenA);
    assert.equal(env.status, 400);
    assert.equal(env.json.error, true);
    assert.match(env.json.message, /environmentIds.*ghi13579/);
    const cap = await get(emu, costPath(A, subA.uuid, "?capabilityKeys=NOPE"), tokenA);
    assert.equal(cap.status, 400);
    assert.match(cap.json.message, /capabilityKeys/);
  });

  test("realistic shape: weekends cheaper, costs grow over the year", async () => {
    const res = await get(emu, costPath(A, subA.uuid), tokenA);
    const sorted = sortByStart(res.json.data);
    let weekend = 0;
    let weekendN = 0;
    let weekday = 0;
    let weekdayN = 0;
    for (const r of sorted) {
      const wd = new Date(r.startTime).getUTCDay();
      if (wd === 0 || wd === 6) {
        weekend += r.value;
        weekendN++;
      } else {
        weekday += r.value;
        weekdayN++;
      }
    }
    const ratio = weekend / weekendN / (weekday / weekdayN);
    assert.ok(ratio > 0.55 && ratio < 0.75, `weekend ratio ${ratio}`);
    const avg = (rs) => rs.reduce((s, r) => s + r.value, 0) / rs.length;
    const growth = avg(sorted.slice(-28)) / avg(sorted.slice(0, 28));
    assert.ok(growth > 1.25 && growth < 1.7, `growth ${growth}`);
  });

  test("expired subscription has a full year of costs; the trial books zero", async () => {
    const list = await get(emu, `/sub/v2/accounts/${A}/subscriptions`, tokenA);
    const expired = list.json.data.find((s) => s.status === "EXPIRED");
    const trial = list.json.data.find((s) => s.type === "TRIAL");
    const e = await get(emu, costPath(A, expired.uuid), tokenA);
    assert.equal(e.json.data.length, 365);
    const ed = await get(emu, `/sub/v2/accounts/${A}/subscriptions/${expired.uuid}`, tokenA);
    assert.equal(ed.json.currentPeriod.daysRemaining, 0);
    assert.ok(ed.json.budget.used <= ed.json.budget.total);
    const t = await get(emu, costPath(A, trial.uuid), tokenA);
    assert.equal(t.json.data.length, 20);
    assert.ok(t.json.data.every((r) => r.value === 0));
  });

  test("determinism: two emulators with the same now serve identical data", async () => {
    const other = await startEmulator({ now: NOW });
    const shifted = await startEmulator({ now: "2026-11-24T10:00:00Z" });
    try {
      const t2 = await accountToken(other, 0);
      for (const path of [
        `/sub/v2/accounts/${A}/subscriptions`,
        `/sub/v2/accounts/${A}/subscriptions/${subA.uuid}`,
        costPath(A, subA.uuid),
        costPath(A, subA.uuid, "?environmentIds=def67890"),
      ]) {
        const x = await get(emu, path, tokenA);
        const y = await get(other, path, t2);
        assert.equal(x.text, y.text, path);
      }
      const tB = await accountToken(other, 1);
      assert.equal((await get(emu, costPath(B, subB.uuid), tokenB)).text, (await get(other, costPath(B, subB.uuid), tB)).text);
      assert.deepEqual(other.config, { ...emu.config, ...urls(other) });

      // A day later: same subscription UUIDs, everything shifted by one day.
      const t3 = await accountToken(shifted, 0);
      const s3 = await activeSubscription(shifted, 0, t3);
      assert.equal(s3.uuid, subA.uuid);
      assert.equal(s3.startTime, "2025-10-20");
      const c3 = await get(shifted, costPath(A, s3.uuid), t3);
      assert.equal(c3.json.data.length, 400);
      assert.equal(sortByStart(c3.json.data).at(-1).startTime, "2026-11-23T00:00:00.000Z");
    } finally {
      await other.close();
      await shifted.close();
    }
  });
});

function urls(e) {
  return {
    ssoUrl: `${e.url}/sso/oauth2/token`,
    apiUrl: e.url,
    ingestUrl: `${e.url}/api/v2/bizevents/ingest`,
    platformIngestUrl: `${e.url}/platform/classic/environment-api/v2/bizevents/ingest`,
  };
}

describe("bizevents ingest", () => {
  let ingestBearer;
  before(async () => {
    ingestBearer = await ingestToken(emu);
  });

  test("202 for a Bearer token with storage:events:write; events stored in order and enriched", async () => {
    await clearControl(emu);
    const events = [
      { "event.type": "dps.cost2.booked", "event.provider": "test", value: 1.5, "event.id": "fixed-1" },
      { "event.type": "dps.subscription.status", "event.provider": "test", budget: 10 },
      { "event.type": "dps.cost2.booked", "event.provider": "test", value: 2.5, nested: { a: 1 }, list: [1, 2] },
    ];
    const res = await postEvents(emu, ingestPath, events, `Bearer ${ingestBearer}`);
    assert.equal(res.status, 202);
    assert.equal(res.text, "");
    const { events: stored, stats } = await storedEvents(emu);
    assert.equal(stored.length, 3);
    assert.deepEqual(stored.map((e) => e["event.type"]), events.map((e) => e["event.type"]));
    for (const e of stored) {
      assert.equal(e["event.kind"], "BIZ_EVENT");
      assert.equal(typeof e["event.id"], "string");
      assert.ok(Math.abs(Date.parse(e.timestamp) - Date.parse(NOW)) < 60_000, e.timestamp);
    }
    assert.equal(stored[0]["event.id"], "fixed-1");
    assert.match(stored[1]["event.id"], /^[0-9a-f-]{36}$/);
    assert.equal(stored[2].nested, '{"a":1}');
    assert.equal(stored[2].list, "[1,2]");
    assert.deepEqual(stats, { requests: 1, received: 3, stored: 3, droppedOld: 0, rejected: 0 });

    const booked = await storedEvents(emu, "?type=dps.cost2.booked");
    assert.equal(booked.events.length, 2);
  });

  test("one object (not an array), with Api-Token and a charset, is accepted", async () => {
    await clearControl(emu);
    const res = await postEvents(
      emu,
      ingestPath,
      { "event.type": "single" },
      `Api-Token ${emu.config.ingest.apiToken}`,
      "application/json; charset=utf-8",
    );
    assert.equal(res.status, 202);
    assert.equal((await storedEvents(emu)).events.length, 1);
  });

  test("partial 400: valid items stored, invalid ones reported by index", async () => {
    await clearControl(emu);
    const res = await postEvents(
      emu,
      platformIngestPath,
      [{ "event.type": "ok", n: 0 }, 42, null, "text", [1], { "event.type": "ok", n: 5 }],
      `Bearer ${ingestBearer}`,
    );
    assert.equal(res.status, 400);
    assert.deepEqual(Object.keys(res.json), ["errors"]);
    assert.deepEqual(res.json.errors.map((e) => e.index), [1, 2, 3, 4]);
    for (const e of res.json.errors) {
      assert.equal(e.id, null);
      assert.equal(e.source, null);
      assert.equal(typeof e.message, "string");
    }
    const { events, stats } = await storedEvents(emu);
    assert.deepEqual(events.map((e) => e.n), [0, 5]);
    assert.deepEqual(stats, { requests: 1, received: 6, stored: 2, droppedOld: 0, rejected: 4 });
  });

  test("413 above 5 MiB; exactly 5 MiB is accepted", async () => {
    await clearControl(emu);
    const limit = 5 * 1024 * 1024;
    const make = (size) => {
      const skeleton = JSON.stringify([{ pad: "" }]);
      return JSON.stringify([{ pad: "x".repeat(size - skeleton.length) }]);
    };
    const atLimit = make(limit);
    assert.equal(Buffer.byteLength(atLimit), limit);
    assert.equal((await postEvents(emu, ingestPath, atLimit, `Bearer ${ingestBearer}`)).status, 202);
    const over = await postEvents(emu, ingestPath, make(limit + 1), `Bearer ${ingestBearer}`);
    assert.equal(over.status, 413);
    assert.equal(over.json.error.code, 413);
    assert.equal((await storedEvents(emu)).events.length, 1);
  });

  test("malformed JSON and empty body → 400; other content types → 415", async () => {
    await clearControl(emu);
    const bad = await postEvents(emu, ingestPath, '[{"a":1},', `Bearer ${ingestBearer}`);
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, 400);
    assert.match(bad.json.error.message, /Malformed JSON/);
    const empty = await postEvents(emu, ingestPath, "", `Bearer ${ingestBearer}`);
    assert.equal(empty.status, 400);
    const text = await postEvents(emu, ingestPath, "{}", `Bearer ${ingestBearer}`, "text/plain");
    assert.equal(text.status, 415);
    assert.equal(text.json.error.code, 415);
    const cloud = await postEvents(emu, ingestPath, "{}", `Bearer ${ingestBearer}`, "application/cloudevent+json");
    assert.equal(cloud.status, 415);
    assert.equal((await storedEvents(emu)).events.length, 0);
  });

  test("authorization rules of the classic and platform paths", async () => {
    await clearControl(emu);
    const ev = [{ "event.type": "auth-check" }];
    const apiToken = `Api-Token ${emu.config.ingest.apiToken}`;

    const platformApiToken = await postEvents(emu, platformIngestPath, ev, apiToken);
    assert.equal(platformApiToken.status, 401);
    assert.deepEqual(platformApiToken.json, {
      error: {
        code: 401,
        message:
          "Unsupported authorization scheme 'Api-Token'. Dynatrace platform APIs require the authorization scheme 'Bearer'.",
      },
    });
    assert.equal((await postEvents(emu, ingestPath, ev, "Api-Token dt0c01.WRONG.WRONG")).status, 401);
    const none = await postEvents(emu, ingestPath, ev, null);
    assert.equal(none.status, 401);
    assert.equal(none.json.error.code, 401);
    assert.equal((await postEvents(emu, ingestPath, ev, "Bearer not-a-token")).status, 401);
    const accountScoped = await postEvents(emu, ingestPath, ev, `Bearer ${tokenA}`);
    assert.equal(accountScoped.status, 403);
    assert.equal(accountScoped.json.error.code, 403);
    assert.equal((await postEvents(emu, platformIngestPath, ev, `Bearer ${tokenA}`)).status, 403);
    assert.equal((await storedEvents(emu)).events.length, 0);

    // A Workflow's relative fetch: no Authorization header at all on the platform path.
    assert.equal((await postEvents(emu, platformIngestPath, ev, null)).status, 202);
    assert.equal((await postEvents(emu, platformIngestPath, ev, `Bearer ${ingestBearer}`)).status, 202);
    assert.equal((await postEvents(emu, ingestPath, ev, apiToken)).status, 202);
    assert.equal((await storedEvents(emu)).events.length, 3);
  });

  test("events older than ingest − 24 h are silently dropped; carried timestamps are kept", async () => {
    await clearControl(emu);
    const now = Date.parse(NOW);
    const res = await postEvents(
      emu,
      ingestPath,
      [
        { n: "old-iso", timestamp: new Date(now - 25 * 3_600_000).toISOString() },
        { n: "old-seconds", timestamp: Math.floor((now - 48 * 3_600_000) / 1000) },
        { n: "recent-iso", timestamp: new Date(now - 23 * 3_600_000).toISOString() },
        { n: "recent-ms", timestamp: now - 60_000 },
        { n: "garbage", timestamp: "not a date" },
      ],
      `Bearer ${ingestBearer}`,
    );
    assert.equal(res.status, 202);
    const { events, stats } = await storedEvents(emu);
    assert.deepEqual(events.map((e) => e.n), ["recent-iso", "recent-ms", "garbage"]);
    assert.equal(events[0].timestamp, new Date(now - 23 * 3_600_000).toISOString());
    assert.equal(events[1].timestamp, now - 60_000);
    assert.ok(Math.abs(Date.parse(events[2].timestamp) - now) < 60_000);
    assert.deepEqual(stats, { requests: 1, received: 5, stored: 3, droppedOld: 2, rejected: 0 });
  });

  test("DELETE /__emulator/events clears events and stats", async () => {
    await postEvents(emu, platformIngestPath, [{ a: 1 }], null);
    await fetch(`${emu.url}/__emulator/events`, { method: "DELETE" });
    const { events, stats } = await storedEvents(emu);
    assert.equal(events.length, 0);
    assert.equal(stats.received, 0);
  });
});

describe("faults", () => {
  test("429 with Retry-After for the next n matching requests, then success", async () => {
    await clearControl(emu);
    const added = await addFault(emu, { method: "GET", path: "/subscriptions$", status: 429, times: 2, retryAfter: 0 });
    assert.equal(added.status, 201);
    const path = `/sub/v2/accounts/${A}/subscriptions`;
    for (let i = 0; i < 2; i++) {
      const res = await get(emu, path, tokenA);
      assert.equal(res.status, 429);
      assert.equal(res.headers.get("retry-after"), "0");
      assert.equal(res.json.error, true);
      assert.equal(res.json.payload, null);
    }
    assert.equal((await get(emu, path, tokenA)).status, 200);
    const log = (await get(emu, "/__emulator/requests")).json;
    assert.deepEqual(log.map((r) => [r.status, r.fault]), [[429, true], [429, true], [200, false]]);
  });

  test("default Retry-After for 429 is 1 s; the method filter applies; platform paths get platform bodies", async () => {
    await clearControl(emu);
    await addFault(emu, { method: "POST", path: "bizevents/ingest$", status: 429 });
    assert.equal((await get(emu, `/sub/v2/accounts/${A}/subscriptions`, tokenA)).status, 200);
    const res = await postEvents(emu, platformIngestPath, [{}], null);
    assert.equal(res.status, 429);
    assert.equal(res.headers.get("retry-after"), "1");
    assert.equal(res.json.error.code, 429);
    assert.equal((await postEvents(emu, platformIngestPath, [{}], null)).status, 202);
  });

  test("5xx with a custom (malformed) body, delays, and the token endpoint", async () => {
    await clearControl(emu);
    await addFault(emu, { path: "/cost$", status: 200, body: '{"data":[{"startTime":', times: 1 });
    const malformed = await get(emu, `/sub/v2/accounts/${A}/subscriptions/${subA.uuid}/cost`, tokenA);
    assert.equal(malformed.status, 200);
    assert.equal(malformed.text, '{"data":[{"startTime":');
    assert.equal(malformed.headers.get("content-type"), "application/json");

    await addFault(emu, { path: "^/sso/oauth2/token$", status: 503 });
    const sso = await requestToken(emu, accountFields(emu, 0));
    assert.equal(sso.status, 503);
    assert.equal(typeof sso.body.error, "string");

    await addFault(emu, { path: "/subscriptions$", delayMs: 150 });
    const t0 = Date.now();
    const slow = await get(emu, `/sub/v2/accounts/${A}/subscriptions`, tokenA);
    assert.equal(slow.status, 200);
    assert.ok(Date.now() - t0 >= 140);
  });

  test("expireTokens invalidates every issued token", async () => {
    await clearControl(emu);
    const token = await accountToken(emu, 0);
    await addFault(emu, { path: "/subscriptions$", expireTokens: true });
    const res = await get(emu, `/sub/v2/accounts/${A}/subscriptions`, token);
    assert.equal(res.status, 401);
    assert.equal(res.json.message, "No valid session provided");
    // Everyone re-authenticates (the suite's shared tokens too).
    tokenA = await accountToken(emu, 0);
    tokenB = await accountToken(emu, 1);
    assert.equal((await get(emu, `/sub/v2/accounts/${A}/subscriptions`, tokenA)).status, 200);
  });

  test("invalid fault specs → 400; GET lists; DELETE clears", async () => {
    await clearControl(emu);
    assert.equal((await addFault(emu, { path: "(", status: 500 })).status, 400);
    assert.equal((await addFault(emu, { status: 500 })).status, 400);
    assert.equal((await addFault(emu, { path: "x" })).status, 400);
    assert.equal((await addFault(emu, { path: "x", status: 500, times: 0 })).status, 400);
    assert.equal((await addFault(emu, { path: "x", status: 500, bogus: 1 })).status, 400);
    assert.equal((await addFault(emu, [{ path: "/never$", status: 500, times: 3 }])).status, 201);
    const listed = (await get(emu, "/__emulator/faults")).json.faults;
    assert.equal(listed.length, 1);
    assert.equal(listed[0].remaining, 3);
    await fetch(`${emu.url}/__emulator/faults`, { method: "DELETE" });
    assert.equal((await get(emu, "/__emulator/faults")).json.faults.length, 0);
  });
});

describe("routing, CORS, request log", () => {
  test("OPTIONS preflight → 204 with CORS headers", async () => {
    const res = await fetch(`${emu.url}/sub/v2/accounts/${A}/subscriptions`, {
      method: "OPTIONS",
      headers: { Origin: "http://example.test", "Access-Control-Request-Method": "GET" },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    assert.match(res.headers.get("access-control-allow-headers"), /Authorization/);
    assert.match(res.headers.get("access-control-allow-headers"), /Content-Type/);
    for (const m of ["GET", "POST", "PUT", "DELETE", "OPTIONS"]) {
      assert.match(res.headers.get("access-control-allow-methods"), new RegExp(m));
    }
    assert.equal(res.headers.get("access-control-expose-headers"), "Retry-After");
  });

  test("CORS headers on normal and error responses", async () => {
    for (const res of [await get(emu, "/__emulator/config"), await get(emu, `/sub/v2/accounts/${A}/subscriptions`), await get(emu, "/nope")]) {
      assert.equal(res.headers.get("access-control-allow-origin"), "*");
      assert.equal(res.headers.get("access-control-expose-headers"), "Retry-After");
    }
  });

  test("unknown route → 404 text 'emulator: no route for METHOD PATH'; wrong method → 405", async () => {
    const res = await get(emu, "/sub/v2/accounts/x/unknown?y=1");
    assert.equal(res.status, 404);
    assert.match(res.headers.get("content-type"), /^text\/plain/);
    assert.equal(res.text.trim(), "emulator: no route for GET /sub/v2/accounts/x/unknown");
    const doubleSlash = await get(emu, "//sso/oauth2/token");
    assert.equal(doubleSlash.text.trim(), "emulator: no route for GET //sso/oauth2/token");
    const forecast = await get(emu, `/sub/v2/accounts/${A}/subscriptions/forecast`, tokenA);
    assert.equal(forecast.status, 404);
    assert.match(forecast.text, /emulator: no route for GET/);
    const del = await fetch(`${emu.url}/sub/v2/accounts/${A}/subscriptions`, { method: "DELETE" });
    assert.equal(del.status, 405);
    assert.equal(del.headers.get("allow"), "GET, OPTIONS");
    const put = await fetch(`${emu.url}${ingestPath}`, { method: "PUT" });
    assert.equal(put.status, 405);
  });

  test("request log records method, path, query, status and auth scheme — never credentials", async () => {
    await clearControl(emu);
    await requestToken(emu, accountFields(emu, 0));
    await get(emu, `/sub/v2/accounts/${A}/subscriptions/${subA.uuid}/cost?environmentIds=abc12345`, tokenA);
    await postEvents(emu, ingestPath, [{}], `Api-Token ${emu.config.ingest.apiToken}`);
    await postEvents(emu, platformIngestPath, [{}], null);
    await get(emu, "/__emulator/config");
    const res = await get(emu, "/__emulator/requests");
    const log = res.json;
    assert.deepEqual(
      log.map((r) => [r.method, r.path, r.status, r.auth]),
      [
        ["POST", "/sso/oauth2/token", 200, null],
        ["GET", `/sub/v2/accounts/${A}/subscriptions/${subA.uuid}/cost`, 200, "Bearer"],
        ["POST", ingestPath, 202, "Api-Token"],
        ["POST", platformIngestPath, 202, null],
      ],
    );
    assert.deepEqual(log[1].query, { environmentIds: "abc12345" });
    for (const secret of [tokenA, emu.config.ingest.apiToken, emu.config.accounts[0].clientSecret]) {
      assert.ok(!res.text.includes(secret));
    }
    await fetch(`${emu.url}/__emulator/requests`, { method: "DELETE" });
    assert.deepEqual((await get(emu, "/__emulator/requests")).json, []);
  });
});

describe("credential vault", () => {
  test("details of both contract entries", async () => {
    for (const [id, index] of [["CREDENTIALS_VAULT-A1B2C3D4E5F60001", 0], ["CREDENTIALS_VAULT-A1B2C3D4E5F60002", 1]]) {
      const res = await get(emu, `/platform/classic/environment-api/v2/credentials/${id}/details`);
      assert.equal(res.status, 200);
      const acct = emu.config.accounts[index];
      assert.deepEqual(Object.keys(res.json), [
        "id", "name", "description", "owner", "ownerAccessOnly", "scope", "type", "username", "password",
      ]);
      assert.equal(res.json.id, id);
      assert.equal(res.json.description, acct.accountUuid);
      assert.equal(res.json.owner, "emulator");
      assert.equal(res.json.ownerAccessOnly, false);
      assert.equal(res.json.scope, "APP_ENGINE");
      assert.equal(res.json.type, "USERNAME_PASSWORD");
      assert.equal(res.json.username, acct.clientId);
      assert.equal(res.json.password, acct.clientSecret);
    }
  });

  test("unknown id → 404 platform error; Api-Token → 401; bad bearer → 401", async () => {
    const res = await get(emu, "/platform/classic/environment-api/v2/credentials/CREDENTIALS_VAULT-NOPE/details");
    assert.equal(res.status, 404);
    assert.equal(res.json.error.code, 404);
    assert.equal(typeof res.json.error.message, "string");
    const id = "CREDENTIALS_VAULT-A1B2C3D4E5F60001";
    const apiTok = await fetch(`${emu.url}/platform/classic/environment-api/v2/credentials/${id}/details`, {
      headers: { Authorization: `Api-Token ${emu.config.ingest.apiToken}` },
    });
    assert.equal(apiTok.status, 401);
    assert.equal((await get(emu, `/platform/classic/environment-api/v2/credentials/${id}/details`, "bogus")).status, 401);
  });
});

describe("CLI", () => {
  test("runEmulatorCli prints one JSON line and serves", async () => {
    let out = "";
    const stdout = new Writable({
      write(chunk, _enc, cb) {
        out += chunk;
        cb();
      },
    });
    const lines = [];
    const stderr = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const running = await runEmulatorCli(["--port", "0", "--now", NOW, "--token-ttl", "60"], { stdout, stderr, handleSignals: false });
    try {
      assert.equal(out.split("\n").filter(Boolean).length, 1);
      const printed = JSON.parse(out);
      assert.equal(printed.url, running.url);
      assert.deepEqual(printed.config, running.config);
      const { body } = await requestToken(running, accountFields(running, 0));
      assert.equal(body.expires_in, 60);
      await get(running, `/sub/v2/accounts/${A}/subscriptions`, body.access_token);
      const log = lines.join("");
      assert.match(log, /POST \/sso\/oauth2\/token 200/);
      assert.match(log, /GET \/sub\/v2\/accounts\/[0-9a-f-]+\/subscriptions 200/);
      assert.ok(!log.includes(body.access_token));
      assert.ok(!log.includes(running.config.accounts[0].clientSecret));
    } finally {
      await running.close();
    }
    await assert.rejects(runEmulatorCli(["--port", "nope"], { stdout, stderr, handleSignals: false }), /--port/);
    await assert.rejects(runEmulatorCli(["--bogus"], { stdout, stderr, handleSignals: false }));
  });

  test("node js/emulator/cli.js starts, prints its URL and stops on SIGTERM", async () => {
    const child = spawn(process.execPath, [CLI, "--port", "0", "--now", NOW, "--quiet"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.setEncoding("utf8");
    await new Promise((resolve, reject) => {
      child.stdout.on("data", (d) => {
        out += d;
        if (out.includes("\n")) resolve();
      });
      child.once("exit", (code) => reject(new Error(`exited early with ${code}`)));
    });
    const { url, config } = JSON.parse(out.split("\n")[0]);
    const res = await fetch(`${url}/__emulator/config`);
    assert.deepEqual(await res.json(), config);
    child.kill("SIGTERM");
    const [code] = await once(child, "exit");
    assert.equal(code, 0);
  });
});
