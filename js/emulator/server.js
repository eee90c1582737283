// HTTP routing and handlers of the dps-cost emulator.
//
// Families of routes and their error body shapes:
//   sso      POST /sso/oauth2/token                     {"error":"invalid_request","error_description":…}
//   account  /sub/v2/…, /env/v2/…                        {"error":true,"message":…,"payload":null}
//   classic  /api/v2/bizevents/ingest                     {"error":{"code":…,"message":…}}
//   platform /platform/classic/environment-api/v2/…       {"error":{"code":…,"message":…}}
//   control  /__emulator/…                                plain JSON for tests
// A path no route knows gets 404 text/plain "emulator: no route for METHOD PATH", so a missing
// route never looks like an API error.

import { STATUS_CODES } from "node:http";
import { parseAuthorization, authKind } from "./auth.js";
import {
  costRecords,
  lastModifiedTime,
  subscriptionDetails,
  subscriptionListItem,
} from "./data.js";
import { MAX_INGEST_BYTES, checkIngestContentType, ingestParsed } from "./ingest.js";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NO_SESSION = "No valid session provided";
const INGEST_SCOPES = ["storage:events:write", "openpipeline:bizevents:ingest"];
const API_TOKEN_ON_PLATFORM =
  "Unsupported authorization scheme 'Api-Token'. Dynatrace platform APIs require the authorization scheme 'Bearer'.";
const SECRET_QUERY_KEY = /secret|token|password|authorization/i;
const MAX_REQUEST_LOG = 50_000;

// ---------------------------------------------------------------------------------------------
// Response helpers.

function setCors(res) {
  res.setHeader("Access-Control-Allow-Origin", "*");
  res.setHeader("Access-Control-Allow-Headers", "Authorization, Content-Type");
  res.setHeader("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS");
  res.setHeader("Access-Control-Expose-Headers", "Retry-After");
}

function sendJson(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sendText(res, status, text, headers = {}) {
  const body = `${text}\n`;
  res.writeHead(status, {
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

function sendEmpty(res, status, headers = {}) {
  res.writeHead(status, { "Content-Length": 0, ...headers });
  res.end();
}

function accountError(res, status, message) {
  sendJson(res, status, { error: true, message, payload: null });
}

function platformError(res, status, message) {
  sendJson(res, status, { error: { code: status, message } });
}

function familyOf(path) {
  if (path.startsWith("/sso/")) return "sso";
  if (path.startsWith("/sub/") || path.startsWith("/env/") || path.startsWith("/v1/") || path.startsWith("/v2/")) {
    return "account";
  }
  if (path.startsWith("/api/")) return "classic";
  if (path.startsWith("/platform/")) return "platform";
  return "other";
}

function sendErrorForFamily(res, family, status, message, headers = {}) {
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) {
    sendEmpty(res, status, headers);
  } else if (family === "account") {
    sendJson(res, status, { error: true, message, payload: null }, headers);
  } else if (family === "sso") {
    sendJson(res, status, { error: "temporarily_unavailable", error_description: message }, headers);
  } else {
    sendJson(res, status, { error: { code: status, message } }, headers);
  }
}

function noRoute(ctx) {
  sendText(ctx.res, 404, `emulator: no route for ${ctx.method} ${ctx.path}`, { "X-Emulator-No-Route": "1" });
}

// ---------------------------------------------------------------------------------------------
// Request body.

function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (chunk) => {
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
      } else if (!tooLarge) {
        chunks.push(chunk);
      }
    });
    req.on("end", () => resolve({ buffer: tooLarge ? null : Buffer.concat(chunks), size, tooLarge }));
    req.on("error", reject);
  });
}

function parseJsonBody(ctx) {
  const text = ctx.body.buffer.toString("utf8");
  if (text.trim() === "") return { ok: false, message: "Request body is empty" };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, message: `Malformed JSON in request body: ${err.message}` };
  }
}

// ---------------------------------------------------------------------------------------------
// Account Management API.

/**
 * Authenticate and authorise an account API call. Sends the error response and returns null on
 * failure. Order: valid token (401) → well-formed account UUID (400) → token bound to an account
 * (403) → bound to this account (401) → scope (403).
 */
function authorizeAccount(ctx, rawAccount, requiredScope) {
  const { state, res } = ctx;
  const auth = parseAuthorization(ctx.req.headers.authorization);
  const record = auth && auth.scheme === "Bearer" ? state.tokens.lookup(auth.credentials) : null;
  if (!record) {
    accountError(res, 401, NO_SESSION);
    return null;
  }
  if (!UUID_RE.test(rawAccount)) {
    accountError(res, 400, `Invalid value for path parameter 'accountUuid': '${rawAccount}' is not a valid UUID`);
    return null;
  }
  if (record.accountUuid === null) {
    accountError(
      res,
      403,
      "Access denied: the token is not bound to an account; request it with resource=urn:dtaccount:<accountUuid>",
    );
    return null;
  }
  if (record.accountUuid.toLowerCase() !== rawAccount.toLowerCase()) {
    accountError(res, 401, NO_SESSION);
    return null;
  }
  if (!record.scopes.has(requiredScope)) {
    accountError(res, 403, `Access denied: the token lacks the scope '${requiredScope}'`);
    return null;
  }
  const account = state.dataset.account(record.accountUuid);
  if (!account) {
    accountError(res, 404, "Cannot get requested resource.");
    return null;
  }
  return account;
}

function findSubscription(ctx, account, rawSub) {
  if (!UUID_RE.test(rawSub)) {
    accountError(ctx.res, 400, `Invalid value for path parameter 'subscriptionUuid': '${rawSub}' is not a valid UUID`);
    return null;
  }
  const sub = account.subscriptions.find((s) => s.uuid.toLowerCase() === rawSub.toLowerCase());
  if (!sub) {
    accountError(ctx.res, 404, "Cannot get requested resource.");
    return null;
  }
  return sub;
}

/** Comma-separated (or repeated) query filter → array, or null when absent/empty. */
function listParam(url, name) {
  const values = url.searchParams
    .getAll(name)
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter((v) => v !== "");
  return values.length > 0 ? [...new Set(values)] : null;
}

function handleListSubscriptions(ctx, [rawAccount]) {
  const account = authorizeAccount(ctx, rawAccount, "account-uac-read");
  if (!account) return;
  sendJson(ctx.res, 200, { data: account.subscriptions.map(subscriptionListItem) });
}

function handleSubscriptionDetails(ctx, [rawAccount, rawSub]) {
  // Sub-resources the emulator does not implement yet must not look like a malformed UUID.
  if (rawSub === "forecast" || rawSub === "events") return noRoute(ctx);
  const account = authorizeAccount(ctx, rawAccount, "account-uac-read");
  if (!account) return;
  const sub = findSubscription(ctx, account, rawSub);
  if (!sub) return;
  sendJson(ctx.res, 200, subscriptionDetails(ctx.state.dataset, account, sub));
}

function handleSubscriptionCost(ctx, [rawAccount, rawSub]) {
  const account = authorizeAccount(ctx, rawAccount, "account-uac-read");
  if (!account) return;
  const sub = findSubscription(ctx, account, rawSub);
  if (!sub) return;
  const environmentIds = listParam(ctx.url, "environmentIds");
  const capabilityKeys = listParam(ctx.url, "capabilityKeys");
  for (const id of environmentIds ?? []) {
    if (!account.environments.some((e) => e.id === id)) {
      return accountError(ctx.res, 400, `Invalid value for query parameter 'environmentIds': unknown environment '${id}'`);
    }
  }
  for (const key of capabilityKeys ?? []) {
    if (!account.capabilities.some((c) => c.key === key)) {
      return accountError(ctx.res, 400, `Invalid value for query parameter 'capabilityKeys': unknown capability '${key}'`);
    }
  }
  sendJson(ctx.res, 200, {
    data: costRecords(account, sub, environmentIds, capabilityKeys),
    lastModifiedTime: lastModifiedTime(ctx.state.dataset, account),
  });
}

function handleEnvironments(ctx, [rawAccount]) {
  const account = authorizeAccount(ctx, rawAccount, "account-env-read");
  if (!account) return;
  sendJson(ctx.res, 200, {
    data: account.environments.map((e) => ({
      id: e.id,
      name: e.name,
      active: true,
      url: `https://${e.id}.live.dynatrace.com`,
    })),
  });
}

// ---------------------------------------------------------------------------------------------
// Environment / platform APIs.

/**
 * Authenticate an environment-API call. `platform`: Bearer only, and no header at all is accepted
 * (a Workflow's relative fetch). Otherwise (classic /api/v2): Bearer or the configured Api-Token.
 * Returns true when the request may proceed; sends the error otherwise.
 */
function authorizeEnvironment(ctx, { platform, requiredScopes }) {
  const { state, res } = ctx;
  const auth = parseAuthorization(ctx.req.headers.authorization);
  if (!auth) {
    if (platform) return true;
    platformError(res, 401, "Missing authorization parameter.");
    return false;
  }
  if (auth.scheme === "Api-Token") {
    if (platform) {
      platformError(res, 401, API_TOKEN_ON_PLATFORM);
      return false;
    }
    if (auth.credentials !== state.apiToken) {
      platformError(res, 401, "Token Authentication failed");
      return false;
    }
    return true;
  }
  if (auth.scheme !== "Bearer") {
    platformError(res, 401, `Unsupported authorization scheme '${auth.scheme}'.`);
    return false;
  }
  const record = state.tokens.lookup(auth.credentials);
  if (!record) {
    platformError(res, 401, "Authentication failed: the bearer token is invalid or expired.");
    return false;
  }
  if (requiredScopes && !requiredScopes.some((s) => record.scopes.has(s))) {
    platformError(res, 403, `Forbidden: the token lacks one of the scopes [${requiredScopes.join(" ")}]`);
    return false;
  }
  return true;
}

function handleIngest(ctx, _params, { platform }) {
  const { res, body } = ctx;
  if (body.tooLarge) {
    return platformError(res, 413, `Payload too large: the request body exceeds ${MAX_INGEST_BYTES} bytes`);
  }
  if (!authorizeEnvironment(ctx, { platform, requiredScopes: INGEST_SCOPES })) return;
  const typeError = checkIngestContentType(ctx.req.headers["content-type"]);
  if (typeError) return platformError(res, 415, typeError);
  const parsed = parseJsonBody(ctx);
  if (!parsed.ok) return platformError(res, 400, parsed.message);
  const result = ingestParsed(ctx.state.events, parsed.value, ctx.state.clock());
  if (result.status === 202) return sendEmpty(res, 202);
  sendJson(res, result.status, result.body);
}

function handleCredentialDetails(ctx, [rawId]) {
  if (!authorizeEnvironment(ctx, { platform: true, requiredScopes: null })) return;
  const entry = ctx.state.credentials.find((c) => c.id === rawId);
  if (!entry) return platformError(ctx.res, 404, `Credentials with id '${rawId}' not found`);
  sendJson(ctx.res, 200, entry.details);
}

// ---------------------------------------------------------------------------------------------
// SSO.

function handleToken(ctx) {
  const result = ctx.state.tokens.issue(ctx.req.headers["content-type"], ctx.body.buffer?.toString("utf8") ?? "");
  sendJson(ctx.res, result.status, result.body, { "Cache-Control": "no-store" });
}

// ---------------------------------------------------------------------------------------------
// Control API.

function controlConfig(ctx) {
  sendJson(ctx.res, 200, ctx.state.config());
}

function controlHealth(ctx) {
  sendJson(ctx.res, 200, { ok: true, now: new Date(ctx.state.clock()).toISOString(), tokens: ctx.state.tokens.size });
}

function controlEvents(ctx) {
  const type = ctx.url.searchParams.get("type");
  const provider = ctx.url.searchParams.get("provider");
  const store = ctx.state.events;
  const events = store.events.filter(
    (e) => (type === null || e["event.type"] === type) && (provider === null || e["event.provider"] === provider),
  );
  sendJson(ctx.res, 200, { events, stats: { ...store.stats } });
}

function controlClearEvents(ctx) {
  ctx.state.events.clear();
  sendEmpty(ctx.res, 204);
}

function controlRequests(ctx) {
  sendJson(ctx.res, 200, ctx.state.requests);
}

function controlClearRequests(ctx) {
  ctx.state.requests.length = 0;
  sendEmpty(ctx.res, 204);
}

function controlFaults(ctx) {
  sendJson(ctx.res, 200, { faults: ctx.state.faults.map(publicFault) });
}

function controlClearFaults(ctx) {
  ctx.state.faults.length = 0;
  sendEmpty(ctx.res, 204);
}

function publicFault(f) {
  const { regex: _regex, ...rest } = f;
  return rest;
}

/** Validate one fault spec; returns `{ fault }` or `{ error }`. */
export function validateFault(spec, id) {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) return { error: "a fault must be a JSON object" };
  const known = ["method", "path", "status", "times", "retryAfter", "delayMs", "body", "contentType", "expireTokens"];
  const unknown = Object.keys(spec).filter((k) => !known.includes(k));
  if (unknown.length > 0) return { error: `unknown fault field(s): ${unknown.join(", ")}` };
  if (typeof spec.path !== "string" || spec.path === "") return { error: "'path' (a regular expression string) is required" };
  let regex;
  try {
    regex = new RegExp(spec.path);
  } catch (err) {
    return { error: `'path' is not a valid regular expression: ${err.message}` };
  }
  if (spec.method !== undefined && (typeof spec.method !== "string" || spec.method === "")) {
    return { error: "'method' must be a non-empty string" };
  }
  if (spec.status !== undefined && !(Number.isInteger(spec.status) && spec.status >= 100 && spec.status <= 599)) {
    return { error: "'status' must be an integer HTTP status (100-599)" };
  }
  const times = spec.times ?? 1;
  if (!(Number.isInteger(times) && times >= 1)) return { error: "'times' must be a positive integer" };
  if (spec.retryAfter !== undefined && !(typeof spec.retryAfter === "number" && spec.retryAfter >= 0)) {
    return { error: "'retryAfter' must be a non-negative number of seconds" };
  }
  if (spec.delayMs !== undefined && !(typeof spec.delayMs === "number" && spec.delayMs >= 0 && spec.delayMs <= 600_000)) {
    return { error: "'delayMs' must be a number between 0 and 600000" };
  }
  if (spec.body !== undefined && typeof spec.body !== "string") return { error: "'body' must be a string" };
  if (spec.contentType !== undefined && typeof spec.contentType !== "string") return { error: "'contentType' must be a string" };
  if (spec.expireTokens !== undefined && typeof spec.expireTokens !== "boolean") return { error: "'expireTokens' must be a boolean" };
  if (spec.status === undefined && spec.delayMs === undefined && spec.expireTokens !== true) {
    return { error: "a fault needs at least one of 'status', 'delayMs' or 'expireTokens'" };
  }
  return {
    fault: {
      id,
      method: spec.method?.toUpperCase() ?? null,
      path: spec.path,
      regex,
      status: spec.status ?? null,
      remaining: times,
      retryAfter: spec.retryAfter ?? (spec.status === 429 ? 1 : null),
      delayMs: spec.delayMs ?? 0,
      body: spec.body ?? null,
      contentType: spec.contentType ?? null,
      expireTokens: spec.expireTokens === true,
    },
  };
}

function controlAddFaults(ctx) {
  const parsed = parseJsonBody(ctx);
  if (!parsed.ok) return sendJson(ctx.res, 400, { error: parsed.message });
  const specs = Array.isArray(parsed.value) ? parsed.value : [parsed.value];
  const added = [];
  for (const spec of specs) {
    const { fault, error } = validateFault(spec, ctx.state.nextFaultId());
    if (error) return sendJson(ctx.res, 400, { error: `invalid fault: ${error}` });
    added.push(fault);
  }
  ctx.state.faults.push(...added);
  sendJson(ctx.res, 201, { faults: added.map(publicFault) });
}

function takeFault(state, method, path) {
  const i = state.faults.findIndex((f) => (f.method === null || f.method === method) && f.regex.test(path));
  if (i === -1) return null;
  const fault = state.faults[i];
  fault.remaining -= 1;
  if (fault.remaining <= 0) state.faults.splice(i, 1);
  return fault;
}

function sendFault(ctx, fault) {
  const headers = {};
  if (fault.retryAfter !== null) headers["Retry-After"] = String(fault.retryAfter);
  if (fault.body !== null) {
    ctx.res.writeHead(fault.status, {
      "Content-Type": fault.contentType ?? "application/json",
      "Content-Length": Buffer.byteLength(fault.body),
      ...headers,
    });
    ctx.res.end(fault.body);
    return;
  }
  const reason = `${STATUS_CODES[fault.status] ?? "Error"} (emulator fault)`;
  sendErrorForFamily(ctx.res, familyOf(ctx.path), fault.status, reason, headers);
}

// ---------------------------------------------------------------------------------------------
// Route table.

const ROUTES = [
  { re: /^\/sso\/oauth2\/token$/, methods: { POST: handleToken } },
  { re: /^\/sub\/v2\/accounts\/([^/]+)\/subscriptions$/, methods: { GET: handleListSubscriptions } },
  { re: /^\/sub\/v2\/accounts\/([^/]+)\/subscriptions\/([^/]+)$/, methods: { GET: handleSubscriptionDetails } },
  { re: /^\/sub\/v2\/accounts\/([^/]+)\/subscriptions\/([^/]+)\/cost$/, methods: { GET: handleSubscriptionCost } },
  { re: /^\/env\/v2\/accounts\/([^/]+)\/environments$/, methods: { GET: handleEnvironments } },
  {
    re: /^\/api\/v2\/bizevents\/ingest$/,
    checksSize: true,
    methods: { POST: (ctx, p) => handleIngest(ctx, p, { platform: false }) },
  },
  {
    re: /^\/platform\/classic\/environment-api\/v2\/bizevents\/ingest$/,
    checksSize: true,
    methods: { POST: (ctx, p) => handleIngest(ctx, p, { platform: true }) },
  },
  { re: /^\/platform\/classic\/environment-api\/v2\/credentials\/([^/]+)\/details$/, methods: { GET: handleCredentialDetails } },
  { re: /^\/__emulator\/config$/, methods: { GET: controlConfig } },
  { re: /^\/__emulator\/health$/, methods: { GET: controlHealth } },
  { re: /^\/__emulator\/events$/, methods: { GET: controlEvents, DELETE: controlClearEvents } },
  { re: /^\/__emulator\/requests$/, methods: { GET: controlRequests, DELETE: controlClearRequests } },
  { re: /^\/__emulator\/faults$/, methods: { GET: controlFaults, POST: controlAddFaults, DELETE: controlClearFaults } },
];

function redactedQuery(url) {
  const query = {};
  for (const [key, value] of url.searchParams) {
    query[key] = SECRET_QUERY_KEY.test(key) ? "[redacted]" : value;
  }
  return query;
}

/** The `(req, res)` handler for `http.createServer`. */
export function createRequestHandler(state) {
  return function emulatorHandler(req, res) {
    handle(state, req, res).catch((err) => {
      state.logger?.(`emulator: internal error on ${req.method} ${req.url?.split("?")[0]}: ${err?.message ?? err}`);
      if (!res.headersSent) sendText(res, 500, `emulator: internal error: ${err?.message ?? err}`);
      else res.destroy();
    });
  };
}

async function handle(state, req, res) {
  const started = Date.now();
  const method = String(req.method).toUpperCase();
  const rawUrl = req.url ?? "/";
  // Concatenate rather than resolve, so that "//x" stays a path instead of becoming a host.
  const url = rawUrl.startsWith("/") ? new URL(`http://emulator.invalid${rawUrl}`) : new URL(rawUrl, "http://emulator.invalid");
  const path = url.pathname;
  const isControl = path === "/__emulator" || path.startsWith("/__emulator/");
  setCors(res);
  res.setHeader("Server", "dps-cost-emulator");

  const entry = {
    time: new Date(state.clock()).toISOString(),
    method,
    path,
    query: redactedQuery(url),
    status: null,
    auth: authKind(req.headers.authorization),
    fault: false,
  };
  res.on("finish", () => {
    entry.status = res.statusCode;
    if (!isControl) {
      state.requests.push(entry);
      if (state.requests.length > MAX_REQUEST_LOG) state.requests.splice(0, state.requests.length - MAX_REQUEST_LOG);
    }
    state.logger?.(`${method} ${path} ${res.statusCode} ${Date.now() - started}ms${entry.fault ? " (fault)" : ""}`);
  });

  const body = await readBody(req, MAX_INGEST_BYTES);
  const ctx = { state, req, res, method, url, path, body };

  if (method === "OPTIONS") {
    return sendEmpty(res, 204, { "Access-Control-Max-Age": "600" });
  }

  if (!isControl) {
    const fault = takeFault(state, method, path);
    if (fault) {
      entry.fault = true;
      if (fault.delayMs > 0) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault.expireTokens) state.tokens.expireAll();
      if (fault.status !== null) return sendFault(ctx, fault);
    }
  }

  for (const route of ROUTES) {
    const m = route.re.exec(path);
    if (!m) continue;
    const handler = route.methods[method];
    if (!handler) {
      const allowed = [...Object.keys(route.methods), "OPTIONS"].join(", ");
      return sendText(res, 405, `emulator: method ${method} not allowed for ${path} (allowed: ${allowed})`, {
        Allow: allowed,
      });
    }
    let params;
    try {
      params = m.slice(1).map((p) => decodeURIComponent(p));
    } catch {
      return sendErrorForFamily(res, familyOf(path), 400, "Malformed percent-encoding in the request path");
    }
    if (body.tooLarge && !route.checksSize) {
      return sendErrorForFamily(res, familyOf(path), 413, "Payload too large");
    }
    return handler(ctx, params);
  }
  return noRoute(ctx);
}
