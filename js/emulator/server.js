// HTTP routing and handlers of the dps-cost emulator.
//
// Families of routes and their error body shapes:
//   sso      POST /sso/oauth2/token                     {"error":"invalid_request","error_description":…}
//   account  /sub/…, /env/…, /v1/…                       {"error":true,"message":…,"payload":null}   (dps.js)
//   classic  /api/v2/bizevents/ingest                     {"error":{"code":…,"message":…}}
//   platform /platform/classic/environment-api/v2/…       {"error":{"code":…,"message":…}}
//   upload   /__upload/… (pre-signed PUT), /__webhook/… (POST with a bearer token)   (uploads.js)
//   control  /__emulator/…                                plain JSON for tests
// A path no route knows gets 404 text/plain "emulator: no route for METHOD PATH", so a missing
// route never looks like an API error.

import { STATUS_CODES } from "node:http";
import { parseAuthorization, authKind } from "./auth.js";
import {
  familyOf,
  noRoute,
  parseJsonBody,
  platformError,
  sendEmpty,
  sendErrorForFamily,
  sendJson,
  sendText,
  setCors,
} from "./common.js";
import { ACCOUNT_ROUTES } from "./dps.js";
import { MAX_INGEST_BYTES, checkIngestContentType, ingestParsed } from "./ingest.js";
import { handleDatadogGet, handleDatadogList } from "./datadog.js";
import {
  MAX_UPLOAD_BYTES,
  UPLOAD_PREFIX,
  WEBHOOK_PREFIX,
  controlClearUploads,
  controlPresign,
  controlUploadBody,
  controlUploads,
  handleUpload,
  handleWebhook,
} from "./uploads.js";

const INGEST_SCOPES = ["storage:events:write", "openpipeline:bizevents:ingest"];
const API_TOKEN_ON_PLATFORM =
  "Unsupported authorization scheme 'Api-Token'. Dynatrace platform APIs require the authorization scheme 'Bearer'.";
const SECRET_QUERY_KEY = /secret|token|password|passwd|authorization|api[-_]?key|credential|assertion|signature|^sig$/i;
const SECRET_QUERY_VALUE = /dt0[a-z]\d{2}\.[A-Za-z0-9]{4,}|eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+/;
const REDACTED = "[redacted]";
const MAX_REQUEST_LOG = 50_000;

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
  const entry = [...ctx.state.credentials, ...ctx.state.tokenCredentials].find((c) => c.id === rawId);
  if (!entry) return platformError(ctx.res, 404, `Credentials with id '${rawId}' not found`);
  sendJson(ctx.res, 200, entry.details);
}

/**
 * `GET /platform/automation/v1/action-executions/{id}`: what the AutomationEngine answers a task
 * asking for its own execution (the SDK's `actionExecution()`): `loopItem` is keyed by the loop
 * variable's name. Executions are registered with `POST /__emulator/action-executions`.
 */
function handleActionExecution(ctx, [rawId]) {
  if (!authorizeEnvironment(ctx, { platform: true, requiredScopes: null })) return;
  const execution = ctx.state.actionExecutions.get(decodeURIComponent(rawId));
  if (!execution) return platformError(ctx.res, 404, `Action execution '${rawId}' not found`);
  sendJson(ctx.res, 200, execution);
}

/** `POST /__emulator/action-executions {"id", "loopItem"?, …}`: registers one action execution. */
function controlAddActionExecution(ctx) {
  let spec;
  try {
    spec = JSON.parse(ctx.body.buffer?.toString("utf8") || "{}");
  } catch {
    return sendText(ctx.res, 400, "emulator: an action execution must be JSON");
  }
  if (typeof spec.id !== "string" || spec.id === "") return sendText(ctx.res, 400, "emulator: an action execution needs an id");
  ctx.state.actionExecutions.set(spec.id, { state: "RUNNING", ...spec });
  sendEmpty(ctx.res, 204);
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
  const body = { events, stats: { ...store.stats }, distinctIds: store.distinctIds() };
  // "ids" mode keeps no events: counts per event.type instead (type/provider filters do not apply).
  if (store.mode === "ids") {
    body.types = Object.fromEntries([...store.types].map(([t, n]) => [String(t), n]));
    // Two stores hold the same set of ids when their counts and digests are equal.
    body.idsDigest = store.idsDigest.map((h) => h.toString(16).padStart(8, "0")).join("");
    // Σ costMicros per "event.type|currency" over the distinct ids, as exact decimal strings.
    body.costMicros = Object.fromEntries([...store.costMicros].map(([k, n]) => [k, String(n)]));
  }
  sendJson(ctx.res, 200, body);
}

/** `POST /__emulator/reject {"eventIds"?: [...], "eventTypes"?: [...]}`: those events get a partial 400. */
function controlReject(ctx) {
  let spec;
  try {
    spec = JSON.parse(ctx.body.buffer?.toString("utf8") || "{}");
  } catch {
    return sendText(ctx.res, 400, "emulator: reject rule must be JSON");
  }
  const ids = spec.eventIds ?? [];
  const types = spec.eventTypes ?? [];
  const unknown = Object.keys(spec).filter((k) => k !== "eventIds" && k !== "eventTypes");
  if (unknown.length || !Array.isArray(ids) || !Array.isArray(types)) {
    return sendText(ctx.res, 400, "emulator: reject rule is {eventIds?: string[], eventTypes?: string[]}");
  }
  for (const id of ids) ctx.state.events.reject.ids.add(id);
  for (const t of types) ctx.state.events.reject.types.add(t);
  sendEmpty(ctx.res, 204);
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

const FAULT_FIELDS = [
  "method",
  "path",
  "status",
  "times",
  "afterCalls",
  "retryAfter",
  "retryAfterDate",
  "delayMs",
  "body",
  "contentType",
  "expireTokens",
  "dropConnection",
  "malformed",
  "dropAfterProcessing",
];
const RESPONSE_KINDS = ["status", "dropConnection", "malformed", "dropAfterProcessing"];

/** Validate one fault spec; returns `{ fault }` or `{ error }`. */
export function validateFault(spec, id) {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) return { error: "a fault must be a JSON object" };
  const unknown = Object.keys(spec).filter((k) => !FAULT_FIELDS.includes(k));
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
  const afterCalls = spec.afterCalls ?? 0;
  if (!(Number.isInteger(afterCalls) && afterCalls >= 0)) return { error: "'afterCalls' must be a non-negative integer" };
  if (spec.retryAfter !== undefined && !(typeof spec.retryAfter === "number" && spec.retryAfter >= 0)) {
    return { error: "'retryAfter' must be a non-negative number of seconds" };
  }
  if (spec.delayMs !== undefined && !(typeof spec.delayMs === "number" && spec.delayMs >= 0 && spec.delayMs <= 600_000)) {
    return { error: "'delayMs' must be a number between 0 and 600000" };
  }
  if (spec.body !== undefined && typeof spec.body !== "string") return { error: "'body' must be a string" };
  if (spec.contentType !== undefined && typeof spec.contentType !== "string") return { error: "'contentType' must be a string" };
  for (const flag of ["expireTokens", "dropConnection", "malformed", "dropAfterProcessing", "retryAfterDate"]) {
    if (spec[flag] !== undefined && typeof spec[flag] !== "boolean") return { error: `'${flag}' must be a boolean` };
  }
  const kinds = RESPONSE_KINDS.filter((k) => (k === "status" ? spec.status !== undefined : spec[k] === true));
  if (kinds.length > 1) return { error: `use only one of 'status', 'dropConnection', 'malformed', 'dropAfterProcessing' (got ${kinds.join(", ")})` };
  if (kinds.length === 0 && spec.delayMs === undefined && spec.expireTokens !== true) {
    return {
      error: "a fault needs at least one of 'status', 'dropConnection', 'malformed', 'dropAfterProcessing', 'delayMs' or 'expireTokens'",
    };
  }
  for (const field of ["retryAfter", "retryAfterDate", "body", "contentType"]) {
    if (spec[field] !== undefined && spec.status === undefined) return { error: `'${field}' needs 'status'` };
  }
  const kind = kinds[0] ?? (spec.expireTokens === true ? "expireTokens" : "delay");
  return {
    fault: {
      id,
      kind,
      method: spec.method?.toUpperCase() ?? null,
      path: spec.path,
      regex,
      status: spec.status ?? null,
      remaining: times,
      afterCalls,
      retryAfter: spec.retryAfter ?? (spec.status === 429 || spec.retryAfterDate === true ? 1 : null),
      retryAfterDate: spec.retryAfterDate === true,
      delayMs: spec.delayMs ?? 0,
      body: spec.body ?? null,
      contentType: spec.contentType ?? null,
      expireTokens: spec.expireTokens === true,
      dropConnection: spec.dropConnection === true,
      malformed: spec.malformed === true,
      dropAfterProcessing: spec.dropAfterProcessing === true,
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

/**
 * The fault for this request, if any. Every matching fault still in its `afterCalls` phase
 * counts the request (and lets it pass); the first matching fault past that phase applies.
 */
function takeFault(state, method, path) {
  let chosen = null;
  for (const f of state.faults) {
    if (!((f.method === null || f.method === method) && f.regex.test(path))) continue;
    if (f.afterCalls > 0) {
      f.afterCalls -= 1;
      continue;
    }
    if (chosen === null) chosen = f;
  }
  if (chosen) {
    chosen.remaining -= 1;
    if (chosen.remaining <= 0) state.faults.splice(state.faults.indexOf(chosen), 1);
  }
  return chosen;
}

function retryAfterValue(fault) {
  if (!fault.retryAfterDate) return String(fault.retryAfter);
  // An HTTP date on the real clock (clients compare it with their own clock, not the emulator's).
  return new Date(Math.ceil((Date.now() + fault.retryAfter * 1000) / 1000) * 1000).toUTCString();
}

function sendFault(ctx, fault) {
  const headers = {};
  if (fault.retryAfter !== null) headers["Retry-After"] = retryAfterValue(fault);
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

/** Run `fn` with the response captured instead of sent. Resolves `{ status, body }`. */
async function captureResponse(res, fn) {
  const captured = { status: null, chunks: [] };
  const saved = { writeHead: res.writeHead, write: res.write, end: res.end };
  const add = (chunk) => {
    if (chunk !== undefined && chunk !== null && typeof chunk !== "function") captured.chunks.push(Buffer.from(chunk));
  };
  res.writeHead = (status) => {
    captured.status = status;
    return res;
  };
  res.write = (chunk) => {
    add(chunk);
    return true;
  };
  res.end = (chunk) => {
    add(chunk);
    return res;
  };
  try {
    await fn();
  } finally {
    Object.assign(res, saved);
  }
  return { status: captured.status, body: Buffer.concat(captured.chunks) };
}

/** A proper prefix of a JSON object/array text is never valid JSON. */
function truncateJson(text) {
  const trimmed = text.trimEnd();
  if (trimmed.length < 2 || !/^[[{]/.test(trimmed)) return '{"data":[{"startTime":';
  return trimmed.slice(0, Math.max(1, Math.floor(trimmed.length / 2)));
}

// ---------------------------------------------------------------------------------------------
// Route table.

const ROUTES = [
  { re: /^\/sso\/oauth2\/token$/, methods: { POST: handleToken } },
  ...ACCOUNT_ROUTES,
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
  { re: /^\/platform\/automation\/v1\/action-executions\/([^/]+)$/, methods: { GET: handleActionExecution } },
  { re: /^\/api\/v2\/cost\/arbitrary_rule$/, methods: { GET: handleDatadogList } },
  { re: /^\/api\/v2\/cost\/arbitrary_rule\/([^/]+)$/, methods: { GET: handleDatadogGet } },
  { re: /^\/__upload\/.+$/, checksSize: true, methods: { PUT: handleUpload } },
  { re: /^\/__webhook\/[^/]+$/, checksSize: true, methods: { POST: handleWebhook } },
  { re: /^\/__emulator\/presign$/, methods: { POST: controlPresign } },
  { re: /^\/__emulator\/uploads$/, methods: { GET: controlUploads, DELETE: controlClearUploads } },
  { re: /^\/__emulator\/uploads\/(\d+)$/, methods: { GET: controlUploadBody } },
  { re: /^\/__emulator\/config$/, methods: { GET: controlConfig } },
  { re: /^\/__emulator\/health$/, methods: { GET: controlHealth } },
  { re: /^\/__emulator\/events$/, methods: { GET: controlEvents, DELETE: controlClearEvents } },
  { re: /^\/__emulator\/reject$/, methods: { POST: controlReject } },
  { re: /^\/__emulator\/action-executions$/, methods: { POST: controlAddActionExecution } },
  { re: /^\/__emulator\/requests$/, methods: { GET: controlRequests, DELETE: controlClearRequests } },
  { re: /^\/__emulator\/faults$/, methods: { GET: controlFaults, POST: controlAddFaults, DELETE: controlClearFaults } },
];

function isSecretParam(key, value) {
  return SECRET_QUERY_KEY.test(key) || SECRET_QUERY_VALUE.test(value);
}

function redactedQuery(url) {
  const query = {};
  for (const [key, value] of url.searchParams) {
    query[key] = isSecretParam(key, value) ? REDACTED : value;
  }
  return query;
}

/** The raw query string (as sent, without `?`) with secret-looking values replaced. */
function redactedQueryString(rawUrl) {
  const q = rawUrl.indexOf("?");
  if (q === -1) return "";
  return rawUrl
    .slice(q + 1)
    .split("#")[0]
    .split("&")
    .map((part) => {
      const eq = part.indexOf("=");
      const rawKey = eq === -1 ? part : part.slice(0, eq);
      const rawValue = eq === -1 ? "" : part.slice(eq + 1);
      const decode = (s) => {
        try {
          return decodeURIComponent(s.replace(/\+/g, " "));
        } catch {
          return s;
        }
      };
      return isSecretParam(decode(rawKey), decode(rawValue)) ? `${rawKey}=${REDACTED}` : part;
    })
    .join("&");
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
  // Route on the raw path (as a server sees it): no dot-segment normalisation, so an encoded
  // "%2E" or "%2F" inside a segment stays inside it.
  const path = rawUrl.startsWith("/") ? rawUrl.split("?")[0].split("#")[0] : url.pathname;
  const isControl = path === "/__emulator" || path.startsWith("/__emulator/");
  setCors(res);
  res.setHeader("Server", "dps-cost-emulator");

  const entry = {
    time: new Date(state.clock()).toISOString(),
    method,
    path,
    query: redactedQuery(url),
    queryString: redactedQueryString(rawUrl),
    status: null,
    auth: authKind(req.headers.authorization),
    fault: false,
    faultKind: null,
    dropped: false,
  };
  if (!isControl) {
    // Logged on arrival (so dropped and in-flight requests are visible too); `status` is the
    // status actually written, set when the head is written.
    state.requests.push(entry);
    if (state.requests.length > MAX_REQUEST_LOG) state.requests.splice(0, state.requests.length - MAX_REQUEST_LOG);
  }
  const writeHead = res.writeHead;
  res.writeHead = function recordStatus(status, ...rest) {
    entry.status = status;
    return writeHead.call(this, status, ...rest);
  };
  res.on("close", () => {
    const flags = `${entry.fault ? " (fault)" : ""}${entry.dropped ? " (dropped)" : ""}`;
    state.logger?.(`${method} ${path} ${entry.status ?? "-"} ${Date.now() - started}ms${flags}`);
  });

  const isUpload = path.startsWith(UPLOAD_PREFIX) || path.startsWith(WEBHOOK_PREFIX);
  const body = await readBody(req, isUpload ? MAX_UPLOAD_BYTES : MAX_INGEST_BYTES);
  const ctx = { state, req, res, method, url, path, body };

  if (method === "OPTIONS") {
    return sendEmpty(res, 204, { "Access-Control-Max-Age": "600" });
  }

  let mode = null;
  if (!isControl) {
    const fault = takeFault(state, method, path);
    if (fault) {
      entry.fault = true;
      entry.faultId = fault.id;
      entry.faultKind = fault.kind;
      if (fault.delayMs > 0) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault.expireTokens) state.tokens.expireAll();
      if (fault.dropConnection) {
        entry.dropped = true;
        req.socket.destroy();
        return;
      }
      if (fault.status !== null) return sendFault(ctx, fault);
      if (fault.malformed) mode = "malformed";
      if (fault.dropAfterProcessing) mode = "dropAfterProcessing";
    }
  }

  if (mode === null) return dispatch(ctx);

  const captured = await captureResponse(res, () => dispatch(ctx));
  entry.handledStatus = captured.status;
  if (mode === "dropAfterProcessing") {
    entry.dropped = true;
    req.socket.destroy();
    return;
  }
  // `malformed`: the request was handled as usual (a write was applied), and the answer keeps
  // its status but carries a broken JSON body. A GET answers 200 with its body cut short.
  const isWrite = method !== "GET" && method !== "HEAD";
  const status = isWrite ? captured.status : 200;
  if (status === 204 || status === 304) {
    res.writeHead(status);
    res.end();
    return;
  }
  const text = captured.body.toString("utf8");
  const truncated = text ? truncateJson(text) : '{"error":';
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(truncated) });
  res.end(truncated);
}

function dispatch(ctx) {
  const { res, method, path, body } = ctx;
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
