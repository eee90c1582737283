// Response helpers, error shapes, query helpers and the account-API authorisation shared by the
// route handlers (server.js, dps.js).

import { parseAuthorization } from "./auth.js";

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const NO_SESSION = "No valid session provided";
export const NOT_FOUND = "Cannot get requested resource.";

// ---------------------------------------------------------------------------------------------
// Responses.

export function setCors(res) {
  res.setHeader("Access-Control-Allow-Origin", "*");
  res.setHeader("Access-Control-Allow-Headers", "Authorization, Content-Type, DD-API-KEY, DD-APPLICATION-KEY");
  res.setHeader("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS");
  res.setHeader("Access-Control-Expose-Headers", "Retry-After");
}

export function sendJson(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Like sendJson, for a body that is already JSON text. */
export function sendJsonText(res, status, text, headers = {}) {
  // One Buffer (the text is often a rope of many concatenated pieces: encode it once here rather
  // than in the socket write).
  const body = Buffer.from(text, "utf8");
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": body.length,
    ...headers,
  });
  res.end(body);
}

export function sendText(res, status, text, headers = {}) {
  const body = `${text}\n`;
  res.writeHead(status, {
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

export function sendEmpty(res, status, headers = {}) {
  res.writeHead(status, { "Content-Length": 0, ...headers });
  res.end();
}

export function accountError(res, status, message, headers = {}) {
  sendJson(res, status, { error: true, message, payload: null }, headers);
}

export function platformError(res, status, message) {
  sendJson(res, status, { error: { code: status, message } });
}

export function familyOf(path) {
  if (path.startsWith("/sso/")) return "sso";
  if (path.startsWith("/sub/") || path.startsWith("/env/") || path.startsWith("/v1/") || path.startsWith("/v2/")) {
    return "account";
  }
  if (path.startsWith("/api/")) return "classic";
  if (path.startsWith("/platform/")) return "platform";
  return "other";
}

export function sendErrorForFamily(res, family, status, message, headers = {}) {
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

export function noRoute(ctx) {
  sendText(ctx.res, 404, `emulator: no route for ${ctx.method} ${ctx.path}`, { "X-Emulator-No-Route": "1" });
}

// ---------------------------------------------------------------------------------------------
// Request helpers.

export function parseJsonBody(ctx) {
  const text = ctx.body.buffer.toString("utf8");
  if (text.trim() === "") return { ok: false, message: "Request body is empty" };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, message: `Malformed JSON in request body: ${err.message}` };
  }
}

/** Comma-separated (or repeated) query filter → array, or null when absent/empty. */
export function listParam(url, name) {
  const values = url.searchParams
    .getAll(name)
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter((v) => v !== "");
  return values.length > 0 ? [...new Set(values)] : null;
}

// ---------------------------------------------------------------------------------------------
// Account Management API authorisation.

function bearerRecord(ctx) {
  const auth = parseAuthorization(ctx.req.headers.authorization);
  return auth && auth.scheme === "Bearer" ? ctx.state.tokens.lookup(auth.credentials) : null;
}

function unboundError(res) {
  accountError(
    res,
    403,
    "Access denied: the token is not bound to an account; request it with resource=urn:dtaccount:<accountUuid>",
  );
}

function scopeError(res, scope) {
  accountError(res, 403, `Access denied: the token lacks the scope '${scope}'`);
}

/**
 * Authenticate and authorise an account API call with the account in the path. Sends the error
 * response and returns null on failure. Order: valid token (401) → well-formed account UUID
 * (400) → token bound to an account (403) → bound to this account (401) → scope (403).
 */
export function authorizeAccount(ctx, rawAccount, requiredScope) {
  const { state, res } = ctx;
  const record = bearerRecord(ctx);
  if (!record) {
    accountError(res, 401, NO_SESSION);
    return null;
  }
  if (!UUID_RE.test(rawAccount)) {
    accountError(res, 400, `Invalid value for path parameter 'accountUuid': '${rawAccount}' is not a valid UUID`);
    return null;
  }
  if (record.accountUuid === null) {
    unboundError(res);
    return null;
  }
  if (record.accountUuid.toLowerCase() !== rawAccount.toLowerCase()) {
    accountError(res, 401, NO_SESSION);
    return null;
  }
  if (!record.scopes.has(requiredScope)) {
    scopeError(res, requiredScope);
    return null;
  }
  const account = state.dataset.account(record.accountUuid);
  if (!account) {
    accountError(res, 404, NOT_FOUND);
    return null;
  }
  return account;
}

/**
 * Authorise a call without an account in the path (cost allocation): the token's account is the
 * one. valid token (401) → bound (403) → scope (403).
 */
export function authorizeTokenAccount(ctx, requiredScope) {
  const { state, res } = ctx;
  const record = bearerRecord(ctx);
  if (!record) {
    accountError(res, 401, NO_SESSION);
    return null;
  }
  if (record.accountUuid === null) {
    unboundError(res);
    return null;
  }
  if (!record.scopes.has(requiredScope)) {
    scopeError(res, requiredScope);
    return null;
  }
  const account = state.dataset.account(record.accountUuid);
  if (!account) {
    accountError(res, 404, NOT_FOUND);
    return null;
  }
  return account;
}

/** The account's subscription `rawSub`: 400 malformed UUID, 404 unknown (or another account's). */
export function findSubscription(ctx, account, rawSub, paramName = "subscriptionUuid") {
  if (!UUID_RE.test(rawSub)) {
    accountError(ctx.res, 400, `Invalid value for path parameter '${paramName}': '${rawSub}' is not a valid UUID`);
    return null;
  }
  const sub = account.subscriptions.find((s) => s.uuid.toLowerCase() === rawSub.toLowerCase());
  if (!sub) {
    accountError(ctx.res, 404, NOT_FOUND);
    return null;
  }
  return sub;
}
