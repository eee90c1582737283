// Tests of the embedded Dynatrace emulator itself (js/emulator). Run: node --test tests/js/emulator.test.mjs

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { once } from "node:events";
import { request as httpRequest } from "node:http";
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
    ["missing scope", (e) => accountFields(e, 1, { scope: "account-uac-read storage:events:write account-uac-write" }), /OAuth client is missing following scopes \[storage:events:write account-uac-write\]$/],
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
    datadog: { ...e.config.datadog, baseUrl: e.url },
    delivery: { ...e.config.delivery, webhookUrl: `${e.url}/__webhook/focus`, presignUrl: `${e.url}/__emulator/presign` },
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
    const notifications = await get(emu, `/v2/accounts/${A}/notifications`, tokenA);
    assert.equal(notifications.status, 404);
    assert.match(notifications.text, /emulator: no route for GET/);
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

// ---------------------------------------------------------------------------------------------
// v2 of the emulator: usage, v3 per-environment paging, deprecated v2, forecast, events, rate
// cards, cost allocation, allow lists, environments v1, new faults, request log, large profile.

const SCOPE_ALL = "account-uac-read account-uac-write account-env-read";

async function call(e, method, path, { token, json, body, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  let payload = body;
  if (json !== undefined) {
    h["Content-Type"] = "application/json";
    payload = JSON.stringify(json);
  }
  const res = await fetch(`${e.url}${path}`, { method, headers: h, body: payload });
  const text = await res.text();
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, text, json: parsed };
}

function qs(params) {
  return new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null)).toString();
}

function assertAccountError(res, status, message) {
  assert.equal(res.status, status, res.text);
  assert.equal(res.json.error, true);
  assert.equal(res.json.payload, null);
  assert.equal(typeof res.json.message, "string");
  if (message) assert.match(res.json.message, message);
}

/** Follow a v3 query through every page (the full query re-sent each time). */
async function allV3Pages(e, token, account, sub, kind, params) {
  const pages = [];
  let key = null;
  for (let i = 0; i < 1000; i++) {
    const res = await get(e, `/sub/v3/accounts/${account}/subscriptions/${sub}/environments/${kind}?${qs({ ...params, "page-key": key })}`, token);
    assert.equal(res.status, 200, res.text);
    pages.push(res.json);
    key = res.json.nextPageKey;
    if (key === null) return pages;
    assert.equal(typeof key, "string");
  }
  throw new Error("too many pages");
}

/** Follow a cost-allocation query (page-key alone after the first page). */
async function allAllocationPages(e, token, sub, params) {
  const pages = [];
  let res = await get(e, `/v1/subscriptions/${sub}/cost-allocation?${qs(params)}`, token);
  for (let i = 0; i < 1000; i++) {
    assert.equal(res.status, 200, res.text);
    pages.push(res.json);
    if (res.json.nextPageKey === undefined || res.json.nextPageKey === null) return pages;
    res = await get(e, `/v1/subscriptions/${sub}/cost-allocation?${qs({ "page-key": res.json.nextPageKey })}`, token);
  }
  throw new Error("too many pages");
}

const dayIso = (ms) => new Date(ms).toISOString().slice(0, 10);
const TODAY_MS = Date.parse("2026-11-23T00:00:00Z");
const WINDOW = { startTime: "2026-10-19T00:00:00Z", endTime: "2026-11-23T00:00:00Z" }; // 35 days, to yesterday

describe("v2 API: scopes and config", () => {
  let rw;
  before(async () => {
    rw = await accountToken(emu, 0, { scope: SCOPE_ALL });
  });

  test("config lists each client's granted scopes, the profile and the v2 mode", () => {
    assert.deepEqual(emu.config.accounts[0].scopes, ["account-uac-read", "account-uac-write", "account-env-read"]);
    assert.deepEqual(emu.config.accounts[1].scopes, ["account-uac-read", "account-env-read"]);
    assert.equal(emu.config.profile, "default");
    assert.equal(emu.config.v2EnvironmentEndpoints, "removed");
  });

  test("A's client gets all three scopes; B's client cannot get account-uac-write", async () => {
    const fields = accountFields(emu, 0);
    delete fields.scope;
    assert.equal((await requestToken(emu, fields)).body.scope, SCOPE_ALL);
    const b = await requestToken(emu, accountFields(emu, 1, { scope: "account-uac-read account-uac-write" }));
    assert.equal(b.status, 400);
    assert.match(b.body.error_description, /missing following scopes \[account-uac-write\]/);
  });

  test("every route enforces its scope with a 403 account error", async () => {
    const envOnly = await accountToken(emu, 0, { scope: "account-env-read" });
    const uacOnly = await accountToken(emu, 0, { scope: "account-uac-read" });
    const s = subA.uuid;
    const uacRead = [
      `/sub/v2/accounts/${A}/subscriptions/${s}/usage`,
      `/sub/v3/accounts/${A}/subscriptions/${s}/environments/cost?${qs(WINDOW)}`,
      `/sub/v3/accounts/${A}/subscriptions/${s}/environments/usage?${qs(WINDOW)}`,
      `/sub/v2/accounts/${A}/subscriptions/forecast`,
      `/sub/v2/accounts/${A}/subscriptions/events`,
      `/sub/v1/accounts/${A}/rate-cards`,
      `/v1/subscriptions/${s}/cost-allocation?field=COSTCENTER&environment-id=abc12345`,
      `/v1/accounts/${A}/settings/costcenters`,
      `/v1/accounts/${A}/settings/products`,
    ];
    for (const path of uacRead) {
      assertAccountError(await get(emu, path, envOnly), 403, /account-uac-read/);
      assert.equal((await get(emu, path, rw)).status, 200, path);
    }
    assertAccountError(await get(emu, `/env/v1/accounts/${A}/environments`, uacOnly), 403, /account-env-read/);
    assert.equal((await get(emu, `/env/v1/accounts/${A}/environments`, envOnly)).status, 200);
    const body = { values: [{ key: "scope-test" }] };
    for (const [method, path, json] of [
      ["POST", `/v1/accounts/${A}/settings/costcenters`, body],
      ["PUT", `/v1/accounts/${A}/settings/products`, body],
      ["DELETE", `/v1/accounts/${A}/settings/costcenters/finance`, undefined],
    ]) {
      assertAccountError(await call(emu, method, path, { token: uacOnly, json }), 403, /account-uac-write/);
    }
    const tokB = await accountToken(emu, 1);
    assertAccountError(await call(emu, "POST", `/v1/accounts/${B}/settings/costcenters`, { token: tokB, json: body }), 403, /account-uac-write/);
    assert.equal((await get(emu, `/v1/accounts/${B}/settings/costcenters`, tokB)).status, 200);
    // The usual account rules apply too: other account → 401, no token → 401.
    assertAccountError(await get(emu, `/sub/v2/accounts/${B}/subscriptions/forecast`, rw), 401, /No valid session/);
    assertAccountError(await get(emu, `/sub/v1/accounts/${A}/rate-cards`), 401);
  });
});

describe("v2 API: usage", () => {
  let tok;
  before(async () => {
    tok = await accountToken(emu, 0);
  });

  test("one record per capability per day; usage × rate-card price = /cost per day", async () => {
    const usage = await get(emu, `/sub/v2/accounts/${A}/subscriptions/${subA.uuid}/usage`, tok);
    assert.equal(usage.status, 200);
    assert.deepEqual(Object.keys(usage.json), ["data", "lastModifiedTime"]);
    assert.equal(usage.json.lastModifiedTime, "2026-11-23T06:00:00.000Z");
    const rec = usage.json.data[0];
    assert.deepEqual(Object.keys(rec), ["capabilityKey", "capabilityName", "startTime", "endTime", "value", "unitMeasure"]);
    const cost = (await get(emu, `/sub/v2/accounts/${A}/subscriptions/${subA.uuid}/cost`, tok)).json.data;
    assert.equal(usage.json.data.length, cost.length * 8);
    const cards = (await get(emu, `/sub/v1/accounts/${A}/rate-cards`, tok)).json;
    const card = cards.find((c) => c.startTime === subA.startTime);
    const price = Object.fromEntries(card.capabilities.map((c) => [c.key, Number(c.price)]));
    const unit = Object.fromEntries(card.capabilities.map((c) => [c.key, c.quotedUnitOfMeasure]));
    const perDay = new Map();
    for (const r of usage.json.data) {
      assert.equal(r.unitMeasure, unit[r.capabilityKey]);
      assert.ok(r.value > 0);
      perDay.set(r.startTime, (perDay.get(r.startTime) ?? 0) + r.value * price[r.capabilityKey]);
    }
    for (const c of cost) assert.ok(close(perDay.get(c.startTime), c.value, 1e-9), `${c.startTime}: ${perDay.get(c.startTime)} vs ${c.value}`);
  });

  test("filters: environmentIds and capabilityKeys; clusterIds matches nothing on SaaS; unknown → 400", async () => {
    const base = `/sub/v2/accounts/${A}/subscriptions/${subA.uuid}/usage`;
    const all = (await get(emu, `${base}?capabilityKeys=FULLSTACK_MONITORING`, tok)).json.data;
    const prod = (await get(emu, `${base}?capabilityKeys=FULLSTACK_MONITORING&environmentIds=abc12345`, tok)).json.data;
    const stag = (await get(emu, `${base}?capabilityKeys=FULLSTACK_MONITORING&environmentIds=def67890`, tok)).json.data;
    assert.ok(all.every((r) => r.capabilityKey === "FULLSTACK_MONITORING"));
    all.forEach((r, i) => assert.ok(close(r.value, prod[i].value + stag[i].value, 1e-12)));
    assert.deepEqual((await get(emu, `${base}?clusterIds=c1`, tok)).json.data, []);
    assert.deepEqual((await get(emu, `/sub/v2/accounts/${A}/subscriptions/${subA.uuid}/cost?clusterIds=c1`, tok)).json.data, []);
    assertAccountError(await get(emu, `${base}?environmentIds=nope`, tok), 400, /environmentIds/);
    assertAccountError(await get(emu, `${base}?capabilityKeys=NOPE`, tok), 400, /capabilityKeys/);
  });
});

describe("v3 per-environment cost and usage", () => {
  let tok;
  const path = (kind, sub = subA.uuid, acct = A) => `/sub/v3/accounts/${acct}/subscriptions/${sub}/environments/${kind}`;
  before(async () => {
    tok = await accountToken(emu, 0);
  });

  test("first page: default page size 20, grouped by environment, opaque base64 nextPageKey", async () => {
    const res = await get(emu, `${path("cost")}?${qs(WINDOW)}`, tok);
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.json), ["data", "lastModifiedTime", "nextPageKey"]);
    const group = res.json.data[0];
    assert.deepEqual(Object.keys(group), ["clusterId", "environmentId", "cost"]);
    assert.equal(group.clusterId, null);
    assert.equal(group.environmentId, "abc12345");
    assert.equal(res.json.data.reduce((n, g) => n + g.cost.length, 0), 20);
    assert.deepEqual(Object.keys(group.cost[0]), ["startTime", "endTime", "value", "currencyCode", "capabilityKey", "capabilityName", "bookingDate"]);
    assert.equal(group.cost[0].startTime, "2026-10-19T00:00:00.000Z");
    assert.equal(group.cost[0].currencyCode, "USD");
    assert.match(res.json.nextPageKey, /^[A-Za-z0-9+/]+={0,2}$/);
    const usage = await get(emu, `${path("usage")}?${qs(WINDOW)}`, tok);
    assert.deepEqual(Object.keys(usage.json.data[0]), ["clusterId", "environmentId", "usage"]);
    assert.deepEqual(Object.keys(usage.json.data[0].usage[0]), ["capabilityKey", "capabilityName", "startTime", "endTime", "value", "unitMeasure"]);
  });

  test("all pages (full query re-sent) = every env × capability × day once; sums equal /cost per day", async () => {
    const pages = await allV3Pages(emu, tok, A, subA.uuid, "cost", { ...WINDOW, "page-size": 50 });
    const seen = new Set();
    const perDay = new Map();
    const envsPerPage = pages.map((p) => p.data.map((g) => g.environmentId));
    for (const p of pages) {
      for (const g of p.data) {
        for (const r of g.cost) {
          const id = `${g.environmentId}|${r.capabilityKey}|${r.startTime}`;
          assert.ok(!seen.has(id), `duplicate ${id}`);
          seen.add(id);
          perDay.set(r.startTime, (perDay.get(r.startTime) ?? 0) + r.value);
        }
      }
    }
    assert.equal(seen.size, 2 * 35 * 8);
    assert.equal(pages.length, Math.ceil(560 / 50));
    assert.equal(pages.at(-1).nextPageKey, null);
    // One environment recurs across pages (the page boundary falls inside its records).
    assert.ok(envsPerPage.some((envs, i) => i > 0 && envs[0] === envsPerPage[i - 1].at(-1)), JSON.stringify(envsPerPage));
    const cost = (await get(emu, `/sub/v2/accounts/${A}/subscriptions/${subA.uuid}/cost`, tok)).json.data;
    const inWindow = cost.filter((c) => Date.parse(c.startTime) >= Date.parse(WINDOW.startTime));
    assert.equal(inWindow.length, 35);
    for (const c of inWindow) assert.ok(close(perDay.get(c.startTime), c.value, 1e-12), c.startTime);
    // Another page size gives the same records.
    const small = await allV3Pages(emu, tok, A, subA.uuid, "cost", { ...WINDOW, "page-size": 7 });
    const flat = (ps) => ps.flatMap((p) => p.data.flatMap((g) => g.cost.map((r) => `${g.environmentId}|${r.capabilityKey}|${r.startTime}|${r.value}`)));
    assert.deepEqual(flat(small).sort(), flat(pages).sort());
  });

  test("usage pages sum over environments to the v2 usage; cost = usage × price per record", async () => {
    const window = { startTime: "2026-11-10T00:00:00Z", endTime: "2026-11-13T00:00:00Z", "page-size": 50 };
    const usagePages = await allV3Pages(emu, tok, A, subA.uuid, "usage", window);
    const costPages = await allV3Pages(emu, tok, A, subA.uuid, "cost", window);
    const price = Object.fromEntries((await get(emu, `/sub/v1/accounts/${A}/rate-cards`, tok)).json.at(-1).capabilities.map((c) => [c.key, Number(c.price)]));
    const costOf = new Map(costPages.flatMap((p) => p.data.flatMap((g) => g.cost.map((r) => [`${g.environmentId}|${r.capabilityKey}|${r.startTime}`, r.value]))));
    const sum = new Map();
    for (const g of usagePages.flatMap((p) => p.data)) {
      for (const r of g.usage) {
        assert.ok(close(r.value * price[r.capabilityKey], costOf.get(`${g.environmentId}|${r.capabilityKey}|${r.startTime}`), 1e-12));
        const k = `${r.capabilityKey}|${r.startTime}`;
        sum.set(k, (sum.get(k) ?? 0) + r.value);
      }
    }
    const v2 = (await get(emu, `/sub/v2/accounts/${A}/subscriptions/${subA.uuid}/usage`, tok)).json.data;
    const matched = v2.filter((r) => sum.has(`${r.capabilityKey}|${r.startTime}`));
    assert.equal(matched.length, 3 * 8);
    for (const r of matched) assert.ok(close(sum.get(`${r.capabilityKey}|${r.startTime}`), r.value, 1e-12));
  });

  test("page-size: > 50, < 1 or not a number → 400; 50 is fine", async () => {
    for (const size of ["51", "0", "-1", "ten"]) {
      assertAccountError(await get(emu, `${path("cost")}?${qs({ ...WINDOW, "page-size": size })}`, tok), 400, /page-size/);
    }
    const ok = await get(emu, `${path("cost")}?${qs({ ...WINDOW, "page-size": 50 })}`, tok);
    assert.equal(ok.json.data.reduce((n, g) => n + g.cost.length, 0), 50);
  });

  test("startTime/endTime required — also with a page-key (the full query must be re-sent)", async () => {
    assertAccountError(await get(emu, `${path("cost")}?${qs({ endTime: WINDOW.endTime })}`, tok), 400, /^'startTime' must be provided$/);
    assertAccountError(await get(emu, `${path("cost")}?${qs({ startTime: WINDOW.startTime })}`, tok), 400, /^'endTime' must be provided$/);
    const first = await get(emu, `${path("cost")}?${qs(WINDOW)}`, tok);
    const key = first.json.nextPageKey;
    assertAccountError(await get(emu, `${path("cost")}?${qs({ "page-key": key })}`, tok), 400, /^'endTime' must be provided$/);
    assertAccountError(await get(emu, `${path("cost")}?${qs({ "page-key": key, endTime: WINDOW.endTime })}`, tok), 400, /^'startTime' must be provided$/);
    assert.equal((await get(emu, `${path("cost")}?${qs({ ...WINDOW, "page-key": key })}`, tok)).status, 200);
    assertAccountError(await get(emu, `${path("cost")}?startTime=2026-10-19T00:00:00&endTime=${WINDOW.endTime}`, tok), 400, /startTime.*ISO-8601/);
    assertAccountError(await get(emu, `${path("cost")}?startTime=${WINDOW.endTime}&endTime=${WINDOW.startTime}`, tok), 400, /endTime/);
  });

  test("a page-key is bound to its query: changed window, filter, page size or kind → 400; garbage → 400", async () => {
    const q = { ...WINDOW, environmentIds: "abc12345", "page-size": 10 };
    const key = (await get(emu, `${path("cost")}?${qs(q)}`, tok)).json.nextPageKey;
    assert.equal((await get(emu, `${path("cost")}?${qs({ ...q, "page-key": key })}`, tok)).status, 200);
    for (const changed of [
      { ...q, startTime: "2026-10-20T00:00:00Z" },
      { ...q, endTime: "2026-11-22T00:00:00Z" },
      { ...q, environmentIds: "def67890" },
      { ...q, capabilityKeys: "COMPUTE" },
      { ...q, "page-size": 11 },
    ]) {
      assertAccountError(await get(emu, `${path("cost")}?${qs({ ...changed, "page-key": key })}`, tok), 400, /page-key does not match the query/);
    }
    assertAccountError(await get(emu, `${path("usage")}?${qs({ ...q, "page-key": key })}`, tok), 400, /page-key does not match the query/);
    const tampered = `${key.slice(0, 10)}${key[10] === "A" ? "B" : "A"}${key.slice(11)}`;
    for (const bad of ["garbage", "eyJ9", tampered, `${key}x`]) {
      assertAccountError(await get(emu, `${path("cost")}?${qs({ ...q, "page-key": bad })}`, tok), 400, /page-key/);
    }
  });

  test("windows: startTime inclusive, endTime exclusive, clipped to the data; empty window → no pages", async () => {
    const records = async (startTime, endTime) =>
      (await allV3Pages(emu, tok, A, subA.uuid, "cost", { startTime, endTime, "page-size": 50, capabilityKeys: "COMPUTE" }))
        .flatMap((p) => p.data.flatMap((g) => g.cost.map((r) => `${g.environmentId} ${r.startTime.slice(0, 10)}`)));
    assert.deepEqual(await records("2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"), ["abc12345 2026-11-01", "def67890 2026-11-01"]);
    assert.deepEqual(await records("2026-11-01T00:00:01Z", "2026-11-02T00:00:01Z"), ["abc12345 2026-11-02", "def67890 2026-11-02"]);
    assert.deepEqual(await records("2026-11-20T00:00:00Z", "2027-01-01T00:00:00Z"), [
      "abc12345 2026-11-20", "abc12345 2026-11-21", "abc12345 2026-11-22",
      "def67890 2026-11-20", "def67890 2026-11-21", "def67890 2026-11-22",
    ]);
    const before = await get(emu, `${path("cost")}?${qs({ startTime: "2020-01-01T00:00:00Z", endTime: "2020-02-01T00:00:00Z" })}`, tok);
    assert.deepEqual([before.json.data, before.json.nextPageKey], [[], null]);
    // The B account uses second-precision timestamps here too.
    const tokB = await accountToken(emu, 1);
    const b = await get(emu, `${path("cost", subB.uuid, B)}?${qs(WINDOW)}`, tokB);
    assert.equal(b.json.data[0].cost[0].startTime, "2026-10-19T00:00:00Z");
    assert.equal(b.json.data[0].cost[0].currencyCode, "EUR");
  });

  test("filters as on v2: environmentIds, capabilityKeys, clusterIds (nothing on SaaS); unknown → 400", async () => {
    const pages = await allV3Pages(emu, tok, A, subA.uuid, "cost", { ...WINDOW, environmentIds: "def67890", capabilityKeys: "COMPUTE,EVENTS_INGEST", "page-size": 50 });
    const recs = pages.flatMap((p) => p.data.flatMap((g) => g.cost.map((r) => [g.environmentId, r.capabilityKey])));
    assert.equal(recs.length, 70);
    assert.ok(recs.every(([env, cap]) => env === "def67890" && ["COMPUTE", "EVENTS_INGEST"].includes(cap)));
    const cluster = await get(emu, `${path("cost")}?${qs({ ...WINDOW, clusterIds: "x" })}`, tok);
    assert.deepEqual([cluster.json.data, cluster.json.nextPageKey], [[], null]);
    assertAccountError(await get(emu, `${path("cost")}?${qs({ ...WINDOW, environmentIds: "zzz" })}`, tok), 400, /environmentIds/);
  });
});

describe("deprecated v2 per-environment endpoints", () => {
  test("410 Gone by default (before authentication), naming the v3 successor", async () => {
    for (const kind of ["cost", "usage"]) {
      const res = await get(emu, `/sub/v2/accounts/${A}/subscriptions/${subA.uuid}/environments/${kind}`);
      assert.equal(res.status, 410);
      assert.deepEqual(res.json, {
        error: true,
        message: `This endpoint was removed on 2027-01-11. Use /sub/v3/accounts/{accountUuid}/subscriptions/{subscriptionUuid}/environments/${kind} instead.`,
        payload: null,
      });
    }
  });

  test("v2EnvironmentEndpoints: 'deprecated' → 200 unpaged with Deprecation, Sunset and Link headers", async () => {
    const dep = await startEmulator({ now: NOW, v2EnvironmentEndpoints: "deprecated" });
    try {
      assert.equal(dep.config.v2EnvironmentEndpoints, "deprecated");
      const tok = await accountToken(dep, 0);
      const p = (kind) => `/sub/v2/accounts/${A}/subscriptions/${subA.uuid}/environments/${kind}?${qs(WINDOW)}`;
      const res = await get(dep, p("cost"), tok);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("deprecation"), "@1781481600");
      assert.equal(res.headers.get("sunset"), "Mon, 11 Jan 2027 00:00:00 GMT");
      assert.equal(res.headers.get("link"), `<${dep.url}/sub/v3/accounts/${A}/subscriptions/${subA.uuid}/environments/cost>; rel="successor-version"`);
      assert.deepEqual(Object.keys(res.json), ["data", "lastModifiedTime"]);
      assert.deepEqual(res.json.data.map((g) => Object.keys(g)), [["environmentId", "cost"], ["environmentId", "cost"]]);
      const v3 = await allV3Pages(dep, tok, A, subA.uuid, "cost", { ...WINDOW, "page-size": 50 });
      const flat = (groups) => groups.flatMap((g) => g.cost.map((r) => JSON.stringify([g.environmentId, r]))).sort();
      assert.deepEqual(flat(res.json.data), flat(v3.flatMap((pg) => pg.data)));
      const usage = await get(dep, p("usage"), tok);
      assert.equal(usage.status, 200);
      assert.ok(usage.json.data[0].usage.length > 0);
      assert.match(usage.headers.get("link"), /environments\/usage>; rel="successor-version"$/);
      assert.equal((await get(dep, p("cost"))).status, 401);
    } finally {
      await dep.close();
    }
    await assert.rejects(startEmulator({ now: NOW, v2EnvironmentEndpoints: "maybe" }), /v2EnvironmentEndpoints/);
  });
});

describe("forecast, events, rate cards", () => {
  let tok;
  before(async () => {
    tok = await accountToken(emu, 0);
  });

  test("forecast: trailing-28-day run rate to the commitment end, ±8 % band, budget date from the data", async () => {
    const res = await get(emu, `/sub/v2/accounts/${A}/subscriptions/forecast`, tok);
    assert.equal(res.status, 200);
    const f = res.json;
    assert.deepEqual(Object.keys(f), ["forecastMedian", "forecastLower", "forecastUpper", "budget", "forecastBudgetPct", "forecastBudgetDate", "forecastCreatedAt"]);
    const details = (await get(emu, `/sub/v2/accounts/${A}/subscriptions/${subA.uuid}`, tok)).json;
    assert.equal(f.budget, details.budget.total);
    const cost = sortByStart((await get(emu, `/sub/v2/accounts/${A}/subscriptions/${subA.uuid}/cost`, tok)).json.data);
    const rate = cost.slice(-28).reduce((s, c) => s + c.value, 0) / 28;
    const remaining = (Date.parse(`${details.endTime}T00:00:00Z`) - TODAY_MS) / DAY + 1;
    const used = details.budget.used;
    assert.ok(Math.abs(f.forecastMedian - (used + rate * remaining)) < 0.02, `${f.forecastMedian} vs ${used + rate * remaining}`);
    assert.ok(Math.abs(f.forecastUpper - f.forecastMedian - 0.08 * rate * remaining) < 0.02);
    assert.ok(Math.abs(f.forecastMedian - f.forecastLower - 0.08 * rate * remaining) < 0.02);
    assert.ok(Math.abs(f.forecastBudgetPct - (f.forecastMedian / f.budget) * 100) < 0.01);
    assert.ok(f.forecastMedian > f.budget, "the growth makes the forecast overrun the budget");
    const crossing = Math.ceil((f.budget - used) / rate) - 1;
    assert.equal(f.forecastBudgetDate, dayIso(TODAY_MS + crossing * DAY));
    assert.ok(f.forecastBudgetDate < details.endTime);
    assert.equal(f.forecastCreatedAt, "2026-11-23T06:00:00.000Z");
    assert.equal((await get(emu, `/sub/v2/accounts/${B}/subscriptions/forecast`, await accountToken(emu, 1))).json.forecastCreatedAt, "2026-11-23T06:00:00Z");
  });

  test("events: a handful of budget, forecast and cost events; eventType and time filters", async () => {
    const base = `/sub/v2/accounts/${A}/subscriptions/events`;
    const all = await get(emu, base, tok);
    assert.equal(all.status, 200);
    assert.ok(Array.isArray(all.json));
    assert.ok(all.json.length >= 5 && all.json.length <= 60, String(all.json.length));
    for (const ev of all.json) {
      assert.deepEqual(Object.keys(ev), ["environmentUuid", "capability", "date", "createdAt", "severity", "message", "eventType", "notificationLevel"]);
      assert.match(ev.date, /^\d{4}-\d{2}-\d{2}$/);
      assert.ok(Date.parse(ev.createdAt) <= Date.parse(NOW));
      assert.ok(["INFO", "WARNING", "CRITICAL"].includes(ev.severity));
    }
    const types = new Set(all.json.map((e) => e.eventType));
    assert.deepEqual([...types].sort(), ["budget", "cost", "forecast"]);
    const budget = all.json.filter((e) => e.eventType === "budget");
    assert.ok(budget.some((e) => /50%/.test(e.message) && e.date >= subA.startTime), "active term crossed 50 %");
    assert.ok(!budget.some((e) => /75%/.test(e.message) && e.date >= subA.startTime), "active term is ~60 % used");
    assert.ok(all.json.filter((e) => e.eventType === "cost").every((e) => ["abc12345", "def67890"].includes(e.environmentUuid) && e.capability));
    assert.ok(all.json.some((e) => e.eventType === "forecast" && /Forecast exceeds 100%/.test(e.message)));
    for (const type of ["cost", "forecast", "budget"]) {
      const only = (await get(emu, `${base}?eventType=${type}`, tok)).json;
      assert.deepEqual(only, all.json.filter((e) => e.eventType === type));
    }
    const windowed = (await get(emu, `${base}?startTime=2026-10-01T00:00:00Z&endTime=2026-11-01T00:00:00Z`, tok)).json;
    assert.deepEqual(windowed, all.json.filter((e) => e.date >= "2026-10-01" && e.date < "2026-11-01"));
    assertAccountError(await get(emu, `${base}?eventType=spend`, tok), 400, /eventType/);
    assertAccountError(await get(emu, `${base}?startTime=yesterday`, tok), 400, /startTime/);
  });

  test("rate cards: one per regular term, prices as strings, capabilities of the subscription", async () => {
    const res = await get(emu, `/sub/v1/accounts/${A}/rate-cards`, tok);
    assert.equal(res.status, 200);
    assert.equal(res.json.length, 2);
    const [expired, active] = res.json;
    assert.deepEqual(Object.keys(active), ["quoteNumber", "startTime", "endTime", "currencyCode", "capabilities"]);
    assert.deepEqual([active.startTime, active.endTime, active.currencyCode], [subA.startTime, subA.endTime, "USD"]);
    assert.ok(expired.endTime < active.startTime);
    assert.notEqual(expired.quoteNumber, active.quoteNumber);
    const details = (await get(emu, `/sub/v2/accounts/${A}/subscriptions/${subA.uuid}`, tok)).json;
    assert.deepEqual(active.capabilities.map((c) => c.key), details.capabilities.map((c) => c.key));
    for (const c of active.capabilities) {
      assert.deepEqual(Object.keys(c), ["key", "name", "quotedPrice", "quotedUnitOfMeasure", "price", "startTime", "endTime", "deploymentType"]);
      assert.equal(typeof c.price, "string");
      assert.equal(typeof c.quotedPrice, "string");
      assert.match(c.price, /^\d+\.\d+$/);
      assert.ok(Number(c.price) <= Number(c.quotedPrice));
      assert.equal(c.deploymentType, "SAAS");
    }
    assert.ok(active.capabilities.some((c) => c.price === "0.0035"));
    const b = (await get(emu, `/sub/v1/accounts/${B}/rate-cards`, await accountToken(emu, 1))).json;
    assert.ok(b.every((card) => card.currencyCode === "EUR"));
  });
});

describe("cost allocation", () => {
  let tok;
  const base = () => `/v1/subscriptions/${subA.uuid}/cost-allocation`;
  before(async () => {
    tok = await accountToken(emu, 0);
  });

  test("first page: records, nextPageKey, environmentId, field; page-size 100 by default", async () => {
    const res = await get(emu, `${base()}?field=COSTCENTER&environment-id=abc12345`, tok);
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.json), ["records", "nextPageKey", "environmentId", "field"]);
    assert.equal(res.json.records.length, 100);
    assert.deepEqual(Object.keys(res.json.records[0]), ["date", "capability", "key", "costs", "usage"]);
    assert.equal(res.json.records[0].date, subA.startTime);
    assert.deepEqual([res.json.environmentId, res.json.field], ["abc12345", "COSTCENTER"]);
    assert.match(res.json.nextPageKey, /^[A-Za-z0-9+/]+={0,2}$/);
  });

  test("splits over 3–4 allow-listed keys plus unallocated sum to the v3 per-environment cost", async () => {
    const v3 = await allV3Pages(emu, tok, A, subA.uuid, "cost", { startTime: "2026-11-10T00:00:00Z", endTime: "2026-11-17T00:00:00Z", "page-size": 50 });
    const v3usage = await allV3Pages(emu, tok, A, subA.uuid, "usage", { startTime: "2026-11-10T00:00:00Z", endTime: "2026-11-17T00:00:00Z", "page-size": 50 });
    const want = new Map(v3.flatMap((p) => p.data.flatMap((g) => g.cost.map((r) => [`${g.environmentId}|${r.startTime.slice(0, 10)}|${r.capabilityKey}`, r.value]))));
    const wantUsage = new Map(v3usage.flatMap((p) => p.data.flatMap((g) => g.usage.map((r) => [`${g.environmentId}|${r.startTime.slice(0, 10)}|${r.capabilityKey}`, r.value]))));
    const seeds = {
      COSTCENTER: ["department-A", "department-B", "platform-team", "finance", "R&D"],
      PRODUCT: ["Web Shop", "Mobile App", "Payments API", "Search"],
    };
    for (const field of ["COSTCENTER", "PRODUCT"]) {
      for (const env of ["abc12345", "def67890"]) {
        const pages = await allAllocationPages(emu, tok, subA.uuid, { field, "environment-id": env, from: "2026-11-10", to: "2026-11-16" });
        assert.ok(pages.length >= 2, "several pages");
        assert.ok(!("nextPageKey" in pages.at(-1)), "the last page has no nextPageKey");
        assert.ok(pages.every((p) => p.environmentId === env && p.field === field));
        const records = pages.flatMap((p) => p.records);
        const keys = new Set(records.map((r) => r.key).filter((k) => k !== null));
        assert.ok(keys.size >= 3 && keys.size <= 4, [...keys].join());
        for (const k of keys) assert.ok(seeds[field].includes(k), k);
        const sums = new Map();
        const usage = new Map();
        for (const r of records) {
          const id = `${env}|${r.date}|${r.capability}`;
          sums.set(id, (sums.get(id) ?? 0) + r.costs);
          usage.set(id, (usage.get(id) ?? 0) + r.usage);
          if (["LOG_MANAGEMENT_QUERY", "COMPUTE"].includes(r.capability)) assert.equal(r.key, null, "query and AppEngine costs are not allocated");
          assert.ok(r.costs >= 0);
        }
        assert.equal(sums.size, 7 * 8);
        for (const [id, v] of sums) {
          assert.ok(close(v, want.get(id), 1e-9), `${id}: ${v} vs ${want.get(id)}`);
          assert.ok(close(usage.get(id), wantUsage.get(id), 1e-9), id);
        }
        const unallocated = records.filter((r) => r.key === null && r.capability === "FULLSTACK_MONITORING");
        assert.ok(unallocated.every((r) => r.costs > 0), "an unallocated share exists");
      }
    }
  });

  test("from/to are inclusive dates; no data in the last 24 h", async () => {
    const one = await allAllocationPages(emu, tok, subA.uuid, { field: "PRODUCT", "environment-id": "abc12345", from: "2026-11-01", to: "2026-11-01" });
    assert.deepEqual([...new Set(one.flatMap((p) => p.records.map((r) => r.date)))], ["2026-11-01"]);
    const recent = await allAllocationPages(emu, tok, subA.uuid, { field: "PRODUCT", "environment-id": "abc12345", from: "2026-11-18", to: "2026-11-23", "page-size": 500 });
    const dates = [...new Set(recent.flatMap((p) => p.records.map((r) => r.date)))];
    assert.deepEqual(dates, ["2026-11-18", "2026-11-19", "2026-11-20", "2026-11-21"], "yesterday (2026-11-22) is not reported yet");
  });

  test("page-key must be sent alone; parameters validated", async () => {
    const first = await get(emu, `${base()}?${qs({ field: "COSTCENTER", "environment-id": "abc12345", "page-size": 10 })}`, tok);
    const key = first.json.nextPageKey;
    const next = await get(emu, `${base()}?${qs({ "page-key": key })}`, tok);
    assert.equal(next.status, 200);
    assert.equal(next.json.records.length, 10);
    assert.notDeepEqual(next.json.records, first.json.records);
    for (const extra of [{ field: "COSTCENTER" }, { "environment-id": "abc12345" }, { "page-size": 10 }, { from: "2026-01-01" }, { foo: "bar" }]) {
      assertAccountError(await get(emu, `${base()}?${qs({ "page-key": key, ...extra })}`, tok), 400, /page-key/);
    }
    assertAccountError(await get(emu, `${base()}?${qs({ "page-key": "bm9wZQ==" })}`, tok), 400, /page-key/);
    assertAccountError(await get(emu, `/v1/subscriptions/${subA.uuid.replace(/^5/, "6")}/cost-allocation?${qs({ "page-key": key })}`, tok), 404);
    const expired = (await get(emu, `/sub/v2/accounts/${A}/subscriptions`, tok)).json.data.find((s) => s.status === "EXPIRED");
    assertAccountError(await get(emu, `/v1/subscriptions/${expired.uuid}/cost-allocation?${qs({ "page-key": key })}`, tok), 400, /does not match/);
    const bad = [
      [{ "environment-id": "abc12345" }, /'field' must be provided/],
      [{ field: "COSTCENTER" }, /'environment-id' must be provided/],
      [{ field: "TEAM", "environment-id": "abc12345" }, /field/],
      [{ field: "COSTCENTER", "environment-id": "nope" }, /environment-id/],
      [{ field: "COSTCENTER", "environment-id": "abc12345", "page-size": 501 }, /page-size/],
      [{ field: "COSTCENTER", "environment-id": "abc12345", "page-size": 0 }, /page-size/],
      [{ field: "COSTCENTER", "environment-id": "abc12345", from: "2026-11-31" }, /from/],
      [{ field: "COSTCENTER", "environment-id": "abc12345", to: "20261101" }, /to/],
      [{ field: "COSTCENTER", "environment-id": "abc12345", from: "2026-11-02", to: "2026-11-01" }, /from/],
    ];
    for (const [params, message] of bad) assertAccountError(await get(emu, `${base()}?${qs(params)}`, tok), 400, message);
    const max = await get(emu, `${base()}?${qs({ field: "COSTCENTER", "environment-id": "abc12345", "page-size": 500 })}`, tok);
    assert.equal(max.json.records.length, 500);
  });

  test("the token's account must own the subscription: other account → 404, unbound → 403, none → 401", async () => {
    const q = `?${qs({ field: "COSTCENTER", "environment-id": "ghi13579" })}`;
    assertAccountError(await get(emu, `/v1/subscriptions/${subB.uuid}/cost-allocation${q}`, tok), 404, /Cannot get requested resource/);
    assert.equal((await get(emu, `/v1/subscriptions/${subB.uuid}/cost-allocation${q}`, await accountToken(emu, 1))).status, 200);
    const fields = accountFields(emu, 0);
    delete fields.resource;
    const unbound = (await requestToken(emu, fields)).body.access_token;
    assertAccountError(await get(emu, `/v1/subscriptions/${subA.uuid}/cost-allocation${q}`, unbound), 403, /resource=urn:dtaccount/);
    assertAccountError(await get(emu, `/v1/subscriptions/${subA.uuid}/cost-allocation${q}`), 401, /No valid session/);
    assertAccountError(await get(emu, `/v1/subscriptions/not-a-uuid/cost-allocation${q}`, tok), 400, /subscription-uuid/);
  });
});

describe("environments v1", () => {
  test("tenantResources and managementZoneResources", async () => {
    const tok = await accountToken(emu, 0);
    const res = await get(emu, `/env/v1/accounts/${A}/environments`, tok);
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.json), ["tenantResources", "managementZoneResources"]);
    assert.deepEqual(res.json.tenantResources, [{ name: "Production", id: "abc12345" }, { name: "Staging", id: "def67890" }]);
    assert.ok(res.json.managementZoneResources.length >= 2);
    for (const mz of res.json.managementZoneResources) {
      assert.deepEqual(Object.keys(mz), ["parent", "name", "id"]);
      assert.ok(["abc12345", "def67890"].includes(mz.parent));
      assert.match(mz.id, /^-?\d+$/);
    }
    assert.equal((await get(emu, `/env/v2/accounts/${A}/environments`, tok)).json.data.length, 2);
  });
});

describe("allow lists (cost centers, products)", () => {
  let rw;
  const cc = `/v1/accounts/${A}/settings/costcenters`;
  const pr = `/v1/accounts/${A}/settings/products`;
  const list = async (path) => {
    const keys = [];
    for (let page = 1; page < 100; page++) {
      const res = await get(emu, `${path}?page=${page}&page-size=7`, rw);
      assert.equal(res.status, 200, res.text);
      keys.push(...res.json.records.map((r) => r.key));
      if (!res.json.hasNextPage) return keys;
    }
    throw new Error("too many pages");
  };
  const values = (keys) => ({ values: keys.map((key) => ({ key })) });
  before(async () => {
    rw = await accountToken(emu, 0, { scope: SCOPE_ALL });
  });
  after(async () => {
    await call(emu, "PUT", cc, { token: rw, json: values(["department-A", "department-B", "platform-team", "finance", "R&D"]) });
    await call(emu, "PUT", pr, { token: rw, json: values(["Web Shop", "Mobile App", "Payments API", "Search"]) });
  });

  test("GET: seeded values, 1-based pages, hasNextPage; default page-size 20; bad paging → 400", async () => {
    const res = await get(emu, cc, rw);
    assert.deepEqual(res.json, { records: ["department-A", "department-B", "platform-team", "finance", "R&D"].map((key) => ({ key })), hasNextPage: false });
    assert.deepEqual(await get(emu, `${cc}?page=1&page-size=2`, rw).then((r) => r.json), { records: [{ key: "department-A" }, { key: "department-B" }], hasNextPage: true });
    assert.deepEqual(await get(emu, `${cc}?page=3&page-size=2`, rw).then((r) => r.json), { records: [{ key: "R&D" }], hasNextPage: false });
    assert.deepEqual(await get(emu, `${cc}?page=9&page-size=2`, rw).then((r) => r.json), { records: [], hasNextPage: false });
    assert.deepEqual((await get(emu, pr, rw)).json.records.map((r) => r.key), ["Web Shop", "Mobile App", "Payments API", "Search"]);
    const tokB = await accountToken(emu, 1);
    assert.ok((await get(emu, `/v1/accounts/${B}/settings/costcenters`, tokB)).json.records.some((r) => r.key === "Kundenservice München"));
    for (const q of ["page=0", "page=-1", "page=x", "page-size=0", "page-size=501"]) assertAccountError(await get(emu, `${cc}?${q}`, rw), 400, /page/);
    await call(emu, "PUT", pr, { token: rw, json: values(Array.from({ length: 45 }, (_, i) => `p-${i}`)) });
    const page = (await get(emu, pr, rw)).json;
    assert.deepEqual([page.records.length, page.hasNextPage], [20, true]);
  });

  test("POST adds (204); duplicates with existing keys or within the body → 400 and nothing is added", async () => {
    await call(emu, "PUT", cc, { token: rw, json: values(["department-A", "finance"]) });
    const add = await call(emu, "POST", cc, { token: rw, json: values(["marketing", "sre"]) });
    assert.equal(add.status, 204);
    assert.equal(add.text, "");
    assert.deepEqual(await list(cc), ["department-A", "finance", "marketing", "sre"]);
    assertAccountError(await call(emu, "POST", cc, { token: rw, json: values(["new-1", "finance"]) }), 400, /'finance' already exists/);
    assertAccountError(await call(emu, "POST", cc, { token: rw, json: values(["new-2", "new-2"]) }), 400, /duplicate.*'new-2'/);
    assert.deepEqual(await list(cc), ["department-A", "finance", "marketing", "sre"]);
    assertAccountError(await call(emu, "POST", cc, { token: rw, body: "{nope", headers: { "Content-Type": "application/json" } }), 400, /Malformed JSON/);
    assertAccountError(await call(emu, "POST", cc, { token: rw, json: { keys: ["x"] } }), 400, /values/);
    assertAccountError(await call(emu, "POST", cc, { token: rw, json: values([""]) }), 400, /empty/);
    assertAccountError(await call(emu, "POST", cc, { token: rw, json: values(["x".repeat(257)]) }), 400, /256/);
    assert.equal((await call(emu, "POST", cc, { token: rw, json: values(["y".repeat(256)]) })).status, 204);
  });

  test("PUT replaces all (204); duplicates in the body → 400; at most 250 values (PUT and POST)", async () => {
    assert.equal((await call(emu, "PUT", cc, { token: rw, json: values(["a", "b"]) })).status, 204);
    assert.deepEqual(await list(cc), ["a", "b"]);
    assertAccountError(await call(emu, "PUT", cc, { token: rw, json: values(["c", "d", "c"]) }), 400, /duplicate.*'c'/);
    assert.deepEqual(await list(cc), ["a", "b"]);
    const many = (n, prefix = "cc") => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
    assertAccountError(await call(emu, "PUT", cc, { token: rw, json: values(many(251)) }), 400, /at most 250/);
    assert.equal((await call(emu, "PUT", cc, { token: rw, json: values(many(250)) })).status, 204);
    assert.equal((await list(cc)).length, 250);
    assertAccountError(await call(emu, "POST", cc, { token: rw, json: values(["one-more"]) }), 400, /at most 250.*251/);
    assert.equal((await call(emu, "PUT", cc, { token: rw, json: values(many(249)) })).status, 204);
    assertAccountError(await call(emu, "POST", cc, { token: rw, json: values(["x1", "x2"]) }), 400, /at most 250/);
    assert.equal((await call(emu, "POST", cc, { token: rw, json: values(["x1"]) })).status, 204);
    assert.equal((await call(emu, "PUT", cc, { token: rw, json: values([]) })).status, 204);
    assert.deepEqual(await list(cc), []);
  });

  test("DELETE percent-decodes hostile keys; unknown key → 404; empty or too long → 400", async () => {
    const hostile = ["a b", "x/y", "what?", "#hash", "100%", "50%25", "a+b", "Zürich €", "日本語", "emoji 🚀", "&=;", "'\"<>", " lead", "R&D"];
    assert.equal((await call(emu, "PUT", pr, { token: rw, json: values(hostile) })).status, 204);
    assert.deepEqual(await list(pr), hostile);
    for (const key of hostile) {
      const res = await call(emu, "DELETE", `${pr}/${encodeURIComponent(key)}`, { token: rw });
      assert.equal(res.status, 204, `${key}: ${res.text}`);
    }
    assert.deepEqual(await list(pr), []);
    assertAccountError(await call(emu, "DELETE", `${pr}/${encodeURIComponent("never-there")}`, { token: rw }), 404, /'never-there' does not exist in the product field/);
    assertAccountError(await call(emu, "DELETE", `${pr}/`, { token: rw }), 400, /empty/);
    assertAccountError(await call(emu, "DELETE", `${pr}/${"k".repeat(257)}`, { token: rw }), 400, /256/);
    assertAccountError(await call(emu, "DELETE", `${pr}/%E0%A4%A`, { token: rw }), 400, /percent-encoding/);
    const get405 = await get(emu, `${pr}/x`, rw);
    assert.equal(get405.status, 405);
    // "." and ".." cannot go through fetch (URL parsing removes dot segments, even encoded ones);
    // the emulator routes on the raw path, so a raw client can delete them.
    assert.equal((await call(emu, "PUT", pr, { token: rw, json: values([".", ".."]) })).status, 204);
    for (const raw of ["%2E", "%2E%2E"]) {
      const status = await new Promise((resolve, reject) => {
        const opts = { host: "127.0.0.1", port: emu.port, path: `${pr}/${raw}`, method: "DELETE", headers: { Authorization: `Bearer ${rw}` } };
        const r = httpRequest(opts, (res) => {
          res.resume();
          resolve(res.statusCode);
        });
        r.on("error", reject);
        r.end();
      });
      assert.equal(status, 204, raw);
    }
    assert.deepEqual(await list(pr), []);
  });
});

describe("faults (v2) and the request log", () => {
  let tok;
  before(async () => {
    await clearControl(emu);
    tok = await accountToken(emu, 0);
  });
  after(async () => {
    await clearControl(emu);
  });

  test("afterCalls lets n matching calls pass, then applies `times` times", async () => {
    await clearControl(emu);
    const added = await addFault(emu, { method: "GET", path: "/subscriptions$", status: 503, afterCalls: 2, times: 2 });
    assert.equal(added.status, 201);
    assert.equal(added.json.faults[0].afterCalls, 2);
    const path = `/sub/v2/accounts/${A}/subscriptions`;
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await get(emu, path, tok)).status);
    assert.deepEqual(statuses, [200, 200, 503, 503, 200]);
    const log = (await get(emu, "/__emulator/requests")).json;
    assert.deepEqual(log.map((r) => [r.status, r.fault, r.faultKind]), [
      [200, false, null], [200, false, null], [503, true, "status"], [503, true, "status"], [200, false, null],
    ]);
  });

  test("dropConnection destroys the socket without a response; the log still records it", async () => {
    await clearControl(emu);
    await addFault(emu, { path: "/forecast$", dropConnection: true });
    await assert.rejects(fetch(`${emu.url}/sub/v2/accounts/${A}/subscriptions/forecast`, { headers: { Authorization: `Bearer ${tok}` } }));
    assert.equal((await get(emu, `/sub/v2/accounts/${A}/subscriptions/forecast`, tok)).status, 200);
    const log = (await get(emu, "/__emulator/requests")).json;
    assert.equal(log.length, 2);
    assert.deepEqual([log[0].status, log[0].fault, log[0].faultKind, log[0].dropped], [null, true, "dropConnection", true]);
    assert.equal(log[1].dropped, false);
  });

  test("malformed: 200 application/json with the real body truncated", async () => {
    await clearControl(emu);
    const path = `/sub/v2/accounts/${A}/subscriptions/${subA.uuid}`;
    const real = await get(emu, path, tok);
    await addFault(emu, { method: "GET", path: "/subscriptions/[^/]+$", malformed: true });
    const bad = await get(emu, path, tok);
    assert.equal(bad.status, 200);
    assert.equal(bad.headers.get("content-type"), "application/json");
    assert.equal(bad.json, undefined, "not parseable");
    assert.ok(bad.text.length > 0 && real.text.startsWith(bad.text));
    await addFault(emu, { path: "bizevents/ingest$", malformed: true });
    const ing = await postEvents(emu, ingestPath, [{ a: 1 }], `Api-Token ${emu.config.ingest.apiToken}`);
    assert.equal(ing.status, 202, "a write keeps its real status");
    assert.throws(() => JSON.parse(ing.text));
    assert.equal((await storedEvents(emu)).events.length, 1, "a malformed answer to a write still means it was processed");
  });

  test("dropAfterProcessing: the ingest is stored, then the socket is destroyed", async () => {
    await clearControl(emu);
    await addFault(emu, { method: "POST", path: "bizevents/ingest$", dropAfterProcessing: true });
    const events = [{ "event.id": "drop-1", "event.type": "t" }, { "event.id": "drop-2", "event.type": "t" }];
    const token = await ingestToken(emu);
    await assert.rejects(
      fetch(`${emu.url}${ingestPath}`, { method: "POST", headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" }, body: JSON.stringify(events) }),
    );
    const stored = (await storedEvents(emu)).events;
    assert.deepEqual(stored.map((e) => e["event.id"]), ["drop-1", "drop-2"]);
    const log = (await get(emu, "/__emulator/requests")).json.filter((r) => r.path === ingestPath);
    assert.equal(log.length, 1);
    assert.deepEqual([log[0].status, log[0].handledStatus, log[0].dropped, log[0].faultKind], [null, 202, true, "dropAfterProcessing"]);
  });

  test("reject rule: listed ids/types get a partial 400, the rest is stored; distinctIds counts ids", async () => {
    await clearControl(emu);
    const r = await fetch(`${emu.url}/__emulator/reject`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ eventIds: ["bad-1"], eventTypes: ["bad.type"] }),
    });
    assert.equal(r.status, 204);
    const token = await ingestToken(emu);
    const events = [
      { "event.id": "ok-1", "event.type": "t" },
      { "event.id": "bad-1", "event.type": "t" },
      { "event.id": "ok-2", "event.type": "bad.type" },
      { "event.id": "ok-1", "event.type": "t" },
    ];
    const res = await fetch(`${emu.url}${ingestPath}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify(events),
    });
    assert.equal(res.status, 400);
    const body = await res.json();
    assert.deepEqual(body.errors.map((e) => [e.index, e.id]), [[1, "bad-1"], [2, "ok-2"]]);
    const stored = await (await fetch(`${emu.url}/__emulator/events`)).json();
    assert.deepEqual(stored.events.map((e) => e["event.id"]), ["ok-1", "ok-1"]);
    assert.equal(stored.distinctIds, 1);
    const bad = await fetch(`${emu.url}/__emulator/reject`, { method: "POST", body: JSON.stringify({ ids: [] }) });
    assert.equal(bad.status, 400);
    await fetch(`${emu.url}/__emulator/events`, { method: "DELETE" });
    assert.equal((await fetch(`${emu.url}${ingestPath}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify(events),
    })).status, 202, "clearing the events clears the rules");
  });

  test("Retry-After as an HTTP date with retryAfterDate", async () => {
    await clearControl(emu);
    await addFault(emu, { path: "/rate-cards$", status: 429, retryAfter: 3, retryAfterDate: true });
    const before = Date.now();
    const res = await get(emu, `/sub/v1/accounts/${A}/rate-cards`, tok);
    assert.equal(res.status, 429);
    const header = res.headers.get("retry-after");
    assert.match(header, /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    const at = Date.parse(header);
    assert.ok(at >= before + 2000 && at <= Date.now() + 4000, `${header}`);
  });

  test("invalid new fault specs → 400", async () => {
    for (const spec of [
      { path: "x", status: 500, dropConnection: true },
      { path: "x", malformed: true, dropAfterProcessing: true },
      { path: "x", status: 500, afterCalls: -1 },
      { path: "x", dropConnection: "yes" },
      { path: "x", malformed: true, retryAfterDate: true },
      { path: "x", delayMs: 10, body: "{}" },
    ]) {
      assert.equal((await addFault(emu, spec)).status, 400, JSON.stringify(spec));
    }
  });

  test("request log: full query string with secret-looking values redacted; no credentials anywhere", async () => {
    await clearControl(emu);
    const jwtish = tok;
    const q = `startTime=2026-11-01T00%3A00%3A00Z&endTime=2026-11-02T00:00:00Z&environmentIds=abc12345&environmentIds=def67890&client_secret=${encodeURIComponent(emu.config.accounts[0].clientSecret)}&x=${jwtish}&y=${emu.config.accounts[1].clientSecret}`;
    await get(emu, `/sub/v3/accounts/${A}/subscriptions/${subA.uuid}/environments/cost?${q}`, tok);
    const res = await get(emu, "/__emulator/requests");
    const [entry] = res.json;
    assert.equal(
      entry.queryString,
      "startTime=2026-11-01T00%3A00%3A00Z&endTime=2026-11-02T00:00:00Z&environmentIds=abc12345&environmentIds=def67890&client_secret=[redacted]&x=[redacted]&y=[redacted]",
    );
    assert.equal(entry.query.client_secret, "[redacted]");
    assert.equal(entry.query.x, "[redacted]");
    assert.equal(entry.auth, "Bearer");
    for (const secret of [tok, emu.config.accounts[0].clientSecret, emu.config.accounts[1].clientSecret]) assert.ok(!res.text.includes(secret));
  });
});

describe("large profile", () => {
  test("20 accounts × 50 environments × 40 capabilities; a v3 page is cheap", async () => {
    const rss0 = process.memoryUsage().rss;
    const t0 = Date.now();
    const big = await startEmulator({ now: NOW, profile: "large" });
    try {
      const started = Date.now() - t0;
      const c = big.config;
      assert.equal(c.profile, "large");
      assert.equal(c.accounts.length, 20);
      assert.deepEqual(c.accounts.map((a) => a.clientId), Array.from({ length: 20 }, (_, i) => `dt0s02.EMULRG${String(i + 1).padStart(2, "0")}`));
      assert.equal(new Set(c.accounts.map((a) => a.accountUuid)).size, 20);
      const envIds = new Set();
      for (const a of c.accounts) {
        assert.match(a.accountUuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        assert.match(a.clientSecret, new RegExp(`^${a.clientId.replace(".", "\\.")}\\.[0-9a-f]{64}$`));
        assert.deepEqual(a.scopes, ["account-uac-read", "account-uac-write", "account-env-read"]);
        assert.equal(a.environments.length, 50);
        for (const e of a.environments) envIds.add(e.id);
      }
      assert.equal(envIds.size, 1000, "environment ids are unique");
      assert.equal(Object.keys(c.credentialVault).length, 20);
      // Deterministic identities.
      const again = await startEmulator({ now: NOW, profile: "large" });
      assert.deepEqual(again.config.accounts.map((a) => [a.accountUuid, a.environments]), c.accounts.map((a) => [a.accountUuid, a.environments]));
      await again.close();

      const acct = c.accounts[4];
      const tok = await accountToken(big, 4);
      const subs = (await get(big, `/sub/v2/accounts/${acct.accountUuid}/subscriptions`, tok)).json.data;
      const active = subs.find((s) => s.status === "ACTIVE");
      const t1 = Date.now();
      const page = await get(
        big,
        `/sub/v3/accounts/${acct.accountUuid}/subscriptions/${active.uuid}/environments/cost?${qs({ ...WINDOW, "page-size": 50 })}`,
        tok,
      );
      const firstPageMs = Date.now() - t1;
      assert.equal(page.status, 200);
      assert.equal(page.json.data.reduce((n, g) => n + g.cost.length, 0), 50);
      assert.ok(page.json.nextPageKey);
      const t2 = Date.now();
      let key = page.json.nextPageKey;
      for (let i = 0; i < 20; i++) {
        const next = await get(big, `/sub/v3/accounts/${acct.accountUuid}/subscriptions/${active.uuid}/environments/cost?${qs({ ...WINDOW, "page-size": 50, "page-key": key })}`, tok);
        assert.equal(next.status, 200);
        key = next.json.nextPageKey;
      }
      const twentyPagesMs = Date.now() - t2;
      const t3 = Date.now();
      const details = (await get(big, `/sub/v2/accounts/${acct.accountUuid}/subscriptions/${active.uuid}`, tok)).json;
      const detailsMs = Date.now() - t3;
      assert.equal(details.capabilities.length, 40);
      assert.ok(details.budget.used > 0 && details.budget.total > details.budget.used);
      const alloc = await get(big, `/v1/subscriptions/${active.uuid}/cost-allocation?${qs({ field: "PRODUCT", "environment-id": acct.environments[7].id, "page-size": 500 })}`, tok);
      assert.equal(alloc.json.records.length, 500);
      const rssMb = (process.memoryUsage().rss - rss0) / 1e6;
      // A 35-day window of this account has 50 × 35 × 40 = 70 000 records; nothing is materialised.
      console.log(
        `# large profile: start ${started} ms, first v3 page ${firstPageMs} ms, 20 more pages ${twentyPagesMs} ms, ` +
          `subscription details (budget over 765 days × 2000 series) ${detailsMs} ms, RSS growth ${rssMb.toFixed(1)} MB`,
      );
    } finally {
      await big.close();
    }
    await assert.rejects(startEmulator({ now: NOW, profile: "huge" }), /profile/);
  });

  test("v3 pages are the same JSON as the object-built records", async () => {
    const { createDataset } = await import("../../js/emulator/data.js");
    const { largeProfile } = await import("../../js/emulator/large.js");
    const { environmentView } = await import("../../js/emulator/reports.js");
    for (const profile of [undefined, largeProfile()]) {
      const ds = createDataset({ now: NOW, ...(profile ? { profile } : {}) });
      for (const account of ds.accounts.slice(0, 2)) {
        for (const sub of account.subscriptions) {
          for (const kind of ["cost", "usage"]) {
            const envIdx = account.environments.map((_, i) => i).slice(0, 3);
            const v = environmentView(account, sub, kind, { envIdx, capIdx: [2, 0, 1], first: account.lastDay - 34, nDays: 35 });
            for (const [from, to] of [[0, v.total], [7, Math.min(173, v.total)], [0, 1], [5, 5]]) {
              for (const withCluster of [true, false]) {
                assert.equal(v.groupedJson(from, to, withCluster), JSON.stringify(v.grouped(from, to, withCluster)));
              }
            }
          }
        }
      }
    }
  });

  test('storeEvents: "ids" keeps only distinct ids and counts per type', async () => {
    const e = await startEmulator({ now: NOW, storeEvents: "ids" });
    try {
      const auth = `Api-Token ${e.config.ingest.apiToken}`;
      const ts = new Date(Date.parse(NOW) - 3_600_000).toISOString();
      const events = [
        { "event.id": "a", "event.type": "t1", timestamp: ts },
        { "event.id": "b", "event.type": "t1", timestamp: ts },
        { "event.id": "a", "event.type": "t1", timestamp: ts },
        { "event.type": "t2" },
        { "event.id": "old", "event.type": "t2", timestamp: "2020-01-01T00:00:00Z" },
        7,
      ];
      const res = await postEvents(e, ingestPath, events, auth);
      assert.equal(res.status, 400);
      const body = await storedEvents(e);
      assert.deepEqual(body.events, []);
      assert.equal(body.distinctIds, 3);
      assert.deepEqual(body.stats, { requests: 1, received: 6, stored: 4, droppedOld: 1, rejected: 1 });
      assert.deepEqual(body.types, { t1: 3, t2: 1 });
      await fetch(`${e.url}/__emulator/events`, { method: "DELETE" });
      assert.equal((await storedEvents(e)).distinctIds, 0);
    } finally {
      await e.close();
    }
    await assert.rejects(startEmulator({ now: NOW, storeEvents: "all" }), /storeEvents/);
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

describe("Datadog custom allocation rules", () => {
  const fixture = JSON.parse(
    readFileSync(new URL("../fixtures/datadog/openapi-examples/ArbitraryRuleResponseArray.example.json", import.meta.url), "utf8"),
  );
  let dd;
  before(async () => {
    dd = await startEmulator({ port: 0, now: "2026-11-23T10:00:00Z", datadogRules: fixture });
  });
  after(() => dd.close());
  const headers = (over = {}) => ({ "DD-API-KEY": dd.config.datadog.apiKey, "DD-APPLICATION-KEY": dd.config.datadog.applicationKey, ...over });

  test("list and get serve the recorded rules; keys are checked; both 404 bodies are JSON:API", async () => {
    const list = await fetch(`${dd.url}/api/v2/cost/arbitrary_rule`, { headers: headers() });
    assert.equal(list.status, 200);
    assert.match(list.headers.get("content-type"), /application\/vnd\.api\+json/);
    assert.deepEqual(await list.json(), fixture);
    const one = await fetch(`${dd.url}/api/v2/cost/arbitrary_rule/${fixture.data[0].id}`, { headers: headers() });
    assert.deepEqual((await one.json()).data, fixture.data[0]);
    const missing = await fetch(`${dd.url}/api/v2/cost/arbitrary_rule/999999`, { headers: headers() });
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).errors[0].title, "Not found");
    const wrong = await fetch(`${dd.url}/api/v2/cost/arbitrary_rule`, { headers: headers({ "DD-API-KEY": "nope" }) });
    assert.equal(wrong.status, 403);
    assert.deepEqual(await wrong.json(), { errors: ["Forbidden"] });
  });

  test("the default rules target Dynatrace cost-line tags", async () => {
    const d = await startEmulator({ port: 0, now: "2026-11-23T10:00:00Z" });
    try {
      const r = await (await fetch(`${d.url}/api/v2/cost/arbitrary_rule`, { headers: { "DD-API-KEY": d.config.datadog.apiKey, "DD-APPLICATION-KEY": d.config.datadog.applicationKey } })).json();
      assert.deepEqual(r.data.map((x) => x.attributes.strategy.method), ["percent", "proportional", "even"]);
      assert.ok(r.data.every((x) => x.attributes.provider.includes("dynatrace")));
    } finally {
      await d.close();
    }
  });
});

describe("delivery targets (uploads.js)", () => {
  const control = async (method, path, body) => fetch(`${emu.url}${path}`, { method, ...(body ? { body: JSON.stringify(body) } : {}) });
  const presign = async (key, expiresIn) => (await (await control("POST", "/__emulator/presign", { key, ...(expiresIn !== undefined ? { expiresIn } : {}) })).json()).url;

  test("a pre-signed PUT is kept byte for byte; a wrong, missing or expired signature is 403; no length is 411", async () => {
    await control("DELETE", "/__emulator/uploads");
    const url = await presign("a/focus.csv");
    const body = Buffer.from("h1,h2\r\nä,\"x,y\"\r\n", "utf8");
    assert.equal((await fetch(url, { method: "PUT", body })).status, 200);
    const bad = url.replace(/X-Emu-Signature=([0-9a-f])/, (_m, c) => `X-Emu-Signature=${c === "a" ? "b" : "a"}`);
    const r = await fetch(bad, { method: "PUT", body });
    assert.equal(r.status, 403);
    assert.match(await r.text(), /SignatureDoesNotMatch/);
    assert.equal((await fetch(url.split("?")[0], { method: "PUT", body })).status, 403);
    assert.equal((await fetch(url.replace("a/focus.csv", "b/focus.csv"), { method: "PUT", body })).status, 403, "the signature covers the path");
    assert.equal((await fetch(await presign("old.csv", -1), { method: "PUT", body })).status, 403, "expired");
    const stream = new ReadableStream({ start(c) { c.enqueue(body); c.close(); } });
    const chunked = await fetch(url, { method: "PUT", body: stream, duplex: "half" });
    assert.equal(chunked.status, 411, "a chunked PUT is refused, as S3 does");
    const { uploads } = await (await control("GET", "/__emulator/uploads")).json();
    assert.equal(uploads.length, 1);
    assert.equal(uploads[0].path, "/__upload/a/focus.csv");
    const kept = Buffer.from(await (await control("GET", `/__emulator/uploads/${uploads[0].index}`)).arrayBuffer());
    assert.equal(Buffer.compare(kept, body), 0);
    // The request log never keeps the signature.
    const log = await (await control("GET", "/__emulator/requests")).json();
    assert.ok(log.filter((q) => q.path.startsWith("/__upload/")).every((q) => !/X-Emu-Signature=[0-9a-f]/.test(q.queryString)));
  });

  test("the webhook takes a POST with its bearer token (also chunked) and refuses others with 401", async () => {
    await control("DELETE", "/__emulator/uploads");
    const { webhookUrl, webhookToken, webhookCredentialId } = emu.config.delivery;
    assert.equal((await fetch(webhookUrl, { method: "POST", body: "x", headers: { authorization: "Bearer nope" } })).status, 401);
    assert.equal((await fetch(webhookUrl, { method: "POST", body: "x" })).status, 401);
    const stream = new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode("a,b\r\n")); c.close(); } });
    const r = await fetch(webhookUrl, { method: "POST", body: stream, duplex: "half", headers: { authorization: `Bearer ${webhookToken}` } });
    assert.equal(r.status, 202);
    const { uploads } = await (await control("GET", "/__emulator/uploads")).json();
    assert.deepEqual(uploads.map((u) => [u.kind, u.bytes, u.transferEncoding]), [["webhook", 5, "chunked"]]);
    // Its token is a vault entry of type Token (not an account client).
    const cred = await fetch(`${emu.url}/platform/classic/environment-api/v2/credentials/${webhookCredentialId}/details`);
    assert.equal((await cred.json()).token, webhookToken);
    assert.ok(!Object.keys(emu.config.credentialVault).includes(webhookCredentialId));
  });
});
