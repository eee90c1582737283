// Account Management API handlers: subscriptions, usage and cost (v2, v3, deprecated v2
// per-environment), forecast, events, rate cards, cost allocation, allow lists, environments.
// Error bodies: {"error":true,"message":…,"payload":null}.

import { ALLOW_LIST_FIELDS } from "./allowlists.js";
import {
  accountError,
  authorizeAccount,
  authorizeTokenAccount,
  findSubscription,
  listParam,
  parseJsonBody,
  sendEmpty,
  sendJson,
  sendJsonText,
} from "./common.js";
import {
  costRecords,
  dateToDay,
  lastModifiedTime,
  subscriptionDetails,
  subscriptionListItem,
} from "./data.js";
import { fingerprint } from "./paging.js";
import {
  ALLOCATION_FIELDS,
  EVENT_TYPES,
  accountEvents,
  allocationView,
  allocationWindow,
  environmentView,
  forecast,
  managementZones,
  rateCards,
  usageRecords,
  windowDays,
} from "./reports.js";

const UAC_READ = "account-uac-read";
const UAC_WRITE = "account-uac-write";
const ENV_READ = "account-env-read";

export const V3_PAGE_SIZE = { default: 20, max: 50 };
export const ALLOCATION_PAGE_SIZE = { default: 100, max: 500 };
export const ALLOW_LIST_PAGE_SIZE = { default: 20, max: 500 };
export const V2_ENVIRONMENTS_DEPRECATED = "2026-06-15";
export const V2_ENVIRONMENTS_SUNSET = "2027-01-11";

// ---------------------------------------------------------------------------------------------
// Parameter helpers. Each sends the 400 and returns undefined on failure.

const ISO_INSTANT_RE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:?\d{2}))?$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

function validYmd(y, m, d) {
  const t = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
  return t.getUTCFullYear() === Number(y) && t.getUTCMonth() === Number(m) - 1 && t.getUTCDate() === Number(d);
}

/** ISO-8601 date or date-time with a zone (`Z` or ±hh:mm) → epoch ms, or null. */
export function parseInstant(value) {
  const m = ISO_INSTANT_RE.exec(value);
  if (!m) return null;
  const [, y, mo, d, hh, mi, ss, frac, zone] = m;
  if (!validYmd(y, mo, d)) return null;
  if (hh === undefined) return Date.UTC(Number(y), Number(mo) - 1, Number(d));
  if (Number(hh) > 23 || Number(mi) > 59 || Number(ss ?? 0) > 59) return null;
  const z = zone === "Z" ? "Z" : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
  const ms = Date.parse(`${y}-${mo}-${d}T${hh}:${mi}:${ss ?? "00"}.${(frac ?? "").padEnd(3, "0").slice(0, 3)}${z}`);
  return Number.isNaN(ms) ? null : ms;
}

function instantParam(ctx, name, { required }) {
  const raw = ctx.url.searchParams.get(name);
  if (raw === null || raw === "") {
    if (required) accountError(ctx.res, 400, `'${name}' must be provided`);
    return required ? undefined : null;
  }
  const ms = parseInstant(raw);
  if (ms === null) {
    accountError(
      ctx.res,
      400,
      `Invalid value for query parameter '${name}': '${raw}' is not an ISO-8601 date-time in UTC (e.g. 2021-05-01T15:11:00Z)`,
    );
    return undefined;
  }
  return ms;
}

function intParam(ctx, name, { def, min, max }) {
  const raw = ctx.url.searchParams.get(name);
  if (raw === null || raw === "") return def;
  if (!/^-?\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer between ${min} and ${max}`;
    accountError(ctx.res, 400, `Invalid value for query parameter '${name}': '${raw}' (must be ${range})`);
    return undefined;
  }
  return Number(raw);
}

function dateParam(ctx, name) {
  const raw = ctx.url.searchParams.get(name);
  if (raw === null || raw === "") return null;
  const m = DATE_RE.exec(raw);
  if (!m || !validYmd(m[1], m[2], m[3])) {
    accountError(ctx.res, 400, `Invalid value for query parameter '${name}': '${raw}' is not a date in the format YYYY-MM-DD`);
    return undefined;
  }
  return dateToDay(raw);
}

/**
 * `environmentIds`, `capabilityKeys`, `clusterIds` filters. Unknown environments or capabilities
 * → 400. SaaS environments have no cluster (`clusterId: null`), so any `clusterIds` filter
 * matches nothing (`none: true`).
 */
function filters(ctx, account) {
  const environmentIds = listParam(ctx.url, "environmentIds");
  const capabilityKeys = listParam(ctx.url, "capabilityKeys");
  const clusterIds = listParam(ctx.url, "clusterIds");
  for (const id of environmentIds ?? []) {
    if (!account.envIndex.has(id)) {
      accountError(ctx.res, 400, `Invalid value for query parameter 'environmentIds': unknown environment '${id}'`);
      return null;
    }
  }
  for (const key of capabilityKeys ?? []) {
    if (!account.capIndex.has(key)) {
      accountError(ctx.res, 400, `Invalid value for query parameter 'capabilityKeys': unknown capability '${key}'`);
      return null;
    }
  }
  return {
    environmentIds,
    capabilityKeys,
    clusterIds,
    none: clusterIds !== null,
    envIdx: environmentIds ? environmentIds.map((id) => account.envIndex.get(id)) : account.environments.map((_, i) => i),
    capIdx: capabilityKeys ? capabilityKeys.map((k) => account.capIndex.get(k)) : account.capabilities.map((_, i) => i),
  };
}

// ---------------------------------------------------------------------------------------------
// Subscriptions, v2 usage and cost.

export function handleListSubscriptions(ctx, [rawAccount]) {
  const account = authorizeAccount(ctx, rawAccount, UAC_READ);
  if (!account) return;
  sendJson(ctx.res, 200, { data: account.subscriptions.map(subscriptionListItem) });
}

export function handleSubscriptionDetails(ctx, [rawAccount, rawSub]) {
  const account = authorizeAccount(ctx, rawAccount, UAC_READ);
  if (!account) return;
  const sub = findSubscription(ctx, account, rawSub);
  if (!sub) return;
  sendJson(ctx.res, 200, subscriptionDetails(ctx.state.dataset, account, sub));
}

export function handleSubscriptionCost(ctx, [rawAccount, rawSub]) {
  const account = authorizeAccount(ctx, rawAccount, UAC_READ);
  if (!account) return;
  const sub = findSubscription(ctx, account, rawSub);
  if (!sub) return;
  const f = filters(ctx, account);
  if (!f) return;
  sendJson(ctx.res, 200, {
    data: f.none ? [] : costRecords(account, sub, f.environmentIds, f.capabilityKeys),
    lastModifiedTime: lastModifiedTime(ctx.state.dataset, account),
  });
}

export function handleSubscriptionUsage(ctx, [rawAccount, rawSub]) {
  const account = authorizeAccount(ctx, rawAccount, UAC_READ);
  if (!account) return;
  const sub = findSubscription(ctx, account, rawSub);
  if (!sub) return;
  const f = filters(ctx, account);
  if (!f) return;
  sendJson(ctx.res, 200, {
    data: f.none ? [] : usageRecords(account, sub, f.envIdx, f.capIdx),
    lastModifiedTime: lastModifiedTime(ctx.state.dataset, account),
  });
}

// ---------------------------------------------------------------------------------------------
// Per-environment usage and cost: v3 (paged) and the deprecated v2.

export function handleEnvironmentsV3(ctx, [rawAccount, rawSub, kind]) {
  const { state, res } = ctx;
  const account = authorizeAccount(ctx, rawAccount, UAC_READ);
  if (!account) return;
  const sub = findSubscription(ctx, account, rawSub);
  if (!sub) return;
  // The real API checks endTime first: a request with only `page-key` fails with
  // "'endTime' must be provided" (the full query must be re-sent with every page).
  const endMs = instantParam(ctx, "endTime", { required: true });
  if (endMs === undefined) return;
  const startMs = instantParam(ctx, "startTime", { required: true });
  if (startMs === undefined) return;
  if (endMs < startMs) return accountError(res, 400, "'endTime' must not be before 'startTime'");
  const pageSize = intParam(ctx, "page-size", { def: V3_PAGE_SIZE.default, min: 1, max: V3_PAGE_SIZE.max });
  if (pageSize === undefined) return;
  const f = filters(ctx, account);
  if (!f) return;

  const win = f.none ? { first: 0, nDays: 0 } : windowDays(account, sub, startMs, endMs);
  const view = environmentView(account, sub, kind, { envIdx: f.envIdx, capIdx: f.capIdx, first: win.first, nDays: win.nDays });
  const sorted = (xs) => (xs ? [...xs].sort() : null);
  const q = fingerprint([
    kind,
    account.accountUuid,
    sub.uuid,
    startMs,
    endMs,
    sorted(f.environmentIds),
    sorted(f.capabilityKeys),
    sorted(f.clusterIds),
    pageSize,
  ]);

  let offset = 0;
  const rawKey = ctx.url.searchParams.get("page-key");
  if (rawKey !== null && rawKey !== "") {
    const key = state.pageKeys.decode(rawKey);
    if (!key || key.t !== "v3" || !Number.isInteger(key.o) || key.o <= 0) {
      return accountError(res, 400, `Invalid value for query parameter 'page-key': not a page key issued by this API (percent-encode it: it is base64)`);
    }
    if (key.q !== q || key.k !== kind || key.s !== sub.uuid) {
      return accountError(
        res,
        400,
        "Invalid value for query parameter 'page-key': the page-key does not match the query (re-send startTime, endTime, the filters and page-size unchanged with every page)",
      );
    }
    if (key.o >= view.total) return accountError(res, 400, "Invalid value for query parameter 'page-key': beyond the last page");
    offset = key.o;
  }
  const end = Math.min(view.total, offset + pageSize);
  // Same JSON as sendJson({data: view.grouped(…), lastModifiedTime, nextPageKey}), by concatenation.
  const nextPageKey = end < view.total ? state.pageKeys.encode({ t: "v3", k: kind, s: sub.uuid, q, o: end }) : null;
  sendJsonText(
    res,
    200,
    `{"data":${view.groupedJson(offset, end, true)},"lastModifiedTime":${JSON.stringify(lastModifiedTime(state.dataset, account))},"nextPageKey":${JSON.stringify(nextPageKey)}}`,
  );
}

function httpDate(dateString) {
  return new Date(`${dateString}T00:00:00Z`).toUTCString();
}

export function handleEnvironmentsV2(ctx, [rawAccount, rawSub, kind]) {
  const { state, res } = ctx;
  const successor = `/sub/v3/accounts/{accountUuid}/subscriptions/{subscriptionUuid}/environments/${kind}`;
  if (state.v2EnvironmentEndpoints !== "deprecated") {
    // Removed endpoints answer 410 before any authentication.
    return accountError(res, 410, `This endpoint was removed on ${V2_ENVIRONMENTS_SUNSET}. Use ${successor} instead.`);
  }
  const account = authorizeAccount(ctx, rawAccount, UAC_READ);
  if (!account) return;
  const sub = findSubscription(ctx, account, rawSub);
  if (!sub) return;
  const startMs = instantParam(ctx, "startTime", { required: false });
  if (startMs === undefined) return;
  const endMs = instantParam(ctx, "endTime", { required: false });
  if (endMs === undefined) return;
  const f = filters(ctx, account);
  if (!f) return;
  const win = f.none ? { first: 0, nDays: 0 } : windowDays(account, sub, startMs ?? -8.64e15, endMs ?? 8.64e15);
  const view = environmentView(account, sub, kind, { envIdx: f.envIdx, capIdx: f.capIdx, first: win.first, nDays: win.nDays });
  const link = `${state.baseUrl}/sub/v3/accounts/${account.accountUuid}/subscriptions/${sub.uuid}/environments/${kind}`;
  sendJson(
    res,
    200,
    { data: view.grouped(0, view.total, false), lastModifiedTime: lastModifiedTime(state.dataset, account) },
    {
      Deprecation: `@${Date.parse(`${V2_ENVIRONMENTS_DEPRECATED}T00:00:00Z`) / 1000}`,
      Sunset: httpDate(V2_ENVIRONMENTS_SUNSET),
      Link: `<${link}>; rel="successor-version"`,
    },
  );
}

// ---------------------------------------------------------------------------------------------
// Forecast, events, rate cards.

export function handleForecast(ctx, [rawAccount]) {
  const account = authorizeAccount(ctx, rawAccount, UAC_READ);
  if (!account) return;
  const body = forecast(ctx.state.dataset, account);
  if (!body) return accountError(ctx.res, 404, "Cannot get requested resource.");
  sendJson(ctx.res, 200, body);
}

export function handleEvents(ctx, [rawAccount]) {
  const account = authorizeAccount(ctx, rawAccount, UAC_READ);
  if (!account) return;
  const startMs = instantParam(ctx, "startTime", { required: false });
  if (startMs === undefined) return;
  const endMs = instantParam(ctx, "endTime", { required: false });
  if (endMs === undefined) return;
  const rawType = ctx.url.searchParams.get("eventType");
  let type = null;
  if (rawType !== null && rawType !== "") {
    type = rawType.toLowerCase();
    if (!EVENT_TYPES.includes(type)) {
      return accountError(ctx.res, 400, `Invalid value for query parameter 'eventType': '${rawType}' (allowed: ${EVENT_TYPES.join(", ")})`);
    }
  }
  const events = accountEvents(ctx.state.dataset, account).filter((ev) => {
    const ms = Date.parse(`${ev.date}T00:00:00Z`);
    return (type === null || ev.eventType === type) && (startMs === null || ms >= startMs) && (endMs === null || ms < endMs);
  });
  sendJson(ctx.res, 200, events);
}

export function handleRateCards(ctx, [rawAccount]) {
  const account = authorizeAccount(ctx, rawAccount, UAC_READ);
  if (!account) return;
  sendJson(ctx.res, 200, rateCards(account));
}

// ---------------------------------------------------------------------------------------------
// Cost allocation.

export function handleCostAllocation(ctx, [rawSub]) {
  const { state, res } = ctx;
  const account = authorizeTokenAccount(ctx, UAC_READ);
  if (!account) return;
  // A subscription of another account answers 404 like an unknown one (nothing leaks).
  const sub = findSubscription(ctx, account, rawSub, "subscription-uuid");
  if (!sub) return;
  const params = ctx.url.searchParams;
  const rawKey = params.get("page-key");
  let query;
  if (rawKey !== null && rawKey !== "") {
    const others = [...new Set([...params.keys()])].filter((n) => n !== "page-key");
    if (others.length > 0) {
      return accountError(
        res,
        400,
        `When 'page-key' is set, no other query parameter may be sent (got: ${others.join(", ")}); the page key carries the whole query`,
      );
    }
    const key = state.pageKeys.decode(rawKey);
    if (!key || key.t !== "alloc" || !Number.isInteger(key.o) || key.o <= 0) {
      return accountError(res, 400, "Invalid value for query parameter 'page-key': not a page key issued by this API (percent-encode it: it is base64)");
    }
    if (key.s !== sub.uuid) {
      return accountError(res, 400, "Invalid value for query parameter 'page-key': the page-key does not match the subscription in the path");
    }
    query = key;
  } else {
    const field = params.get("field");
    if (field === null || field === "") return accountError(res, 400, "'field' must be provided (COSTCENTER or PRODUCT)");
    if (!Object.hasOwn(ALLOCATION_FIELDS, field)) {
      return accountError(res, 400, `Invalid value for query parameter 'field': '${field}' (allowed: COSTCENTER, PRODUCT)`);
    }
    const env = params.get("environment-id");
    if (env === null || env === "") return accountError(res, 400, "'environment-id' must be provided");
    if (!account.envIndex.has(env)) {
      return accountError(res, 400, `Invalid value for query parameter 'environment-id': unknown environment '${env}'`);
    }
    const from = dateParam(ctx, "from");
    if (from === undefined) return;
    const to = dateParam(ctx, "to");
    if (to === undefined) return;
    if (from !== null && to !== null && from > to) return accountError(res, 400, "'from' must not be after 'to'");
    const ps = intParam(ctx, "page-size", { def: ALLOCATION_PAGE_SIZE.default, min: 1, max: ALLOCATION_PAGE_SIZE.max });
    if (ps === undefined) return;
    query = { t: "alloc", s: sub.uuid, f: field, e: env, from, to, ps, o: 0 };
  }
  const envIndex = account.envIndex.get(query.e);
  if (envIndex === undefined) return accountError(res, 400, "Invalid value for query parameter 'page-key'");
  const win = allocationWindow(state.dataset, account, sub, query.from, query.to);
  const view = allocationView(account, sub, envIndex, query.f, win);
  if (query.o >= view.total && query.o > 0) {
    return accountError(res, 400, "Invalid value for query parameter 'page-key': beyond the last page");
  }
  const end = Math.min(view.total, query.o + query.ps);
  const body = { records: view.slice(query.o, end) };
  // The last page has no nextPageKey at all (clients must accept absent as well as null).
  if (end < view.total) body.nextPageKey = state.pageKeys.encode({ ...query, o: end });
  body.environmentId = query.e;
  body.field = query.f;
  sendJson(res, 200, body);
}

// ---------------------------------------------------------------------------------------------
// Allow lists (cost centers, products).

export function handleAllowListGet(ctx, [rawAccount, segment]) {
  const account = authorizeAccount(ctx, rawAccount, UAC_READ);
  if (!account) return;
  const page = intParam(ctx, "page", { def: 1, min: 1, max: Number.MAX_SAFE_INTEGER });
  if (page === undefined) return;
  const pageSize = intParam(ctx, "page-size", { def: ALLOW_LIST_PAGE_SIZE.default, min: 1, max: ALLOW_LIST_PAGE_SIZE.max });
  if (pageSize === undefined) return;
  sendJson(ctx.res, 200, ctx.state.allowLists.page(account, ALLOW_LIST_FIELDS[segment], page, pageSize));
}

function allowListWrite(ctx, [rawAccount, segment], mode) {
  const account = authorizeAccount(ctx, rawAccount, UAC_WRITE);
  if (!account) return;
  const parsed = parseJsonBody(ctx);
  if (!parsed.ok) return accountError(ctx.res, 400, parsed.message);
  const lists = ctx.state.allowLists;
  const field = ALLOW_LIST_FIELDS[segment];
  const result = mode === "add" ? lists.add(account, field, parsed.value) : lists.replace(account, field, parsed.value);
  if (result.status === 204) return sendEmpty(ctx.res, 204);
  accountError(ctx.res, result.status, result.message);
}

export const handleAllowListPost = (ctx, params) => allowListWrite(ctx, params, "add");
export const handleAllowListPut = (ctx, params) => allowListWrite(ctx, params, "replace");

export function handleAllowListDelete(ctx, [rawAccount, segment, key]) {
  const account = authorizeAccount(ctx, rawAccount, UAC_WRITE);
  if (!account) return;
  const result = ctx.state.allowLists.remove(account, ALLOW_LIST_FIELDS[segment], key);
  if (result.status === 204) return sendEmpty(ctx.res, 204);
  accountError(ctx.res, result.status, result.message);
}

// ---------------------------------------------------------------------------------------------
// Environments.

export function handleEnvironments(ctx, [rawAccount]) {
  const account = authorizeAccount(ctx, rawAccount, ENV_READ);
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

export function handleEnvironmentsV1(ctx, [rawAccount]) {
  const account = authorizeAccount(ctx, rawAccount, ENV_READ);
  if (!account) return;
  sendJson(ctx.res, 200, {
    tenantResources: account.environments.map((e) => ({ name: e.name, id: e.id })),
    managementZoneResources: managementZones(account),
  });
}

// ---------------------------------------------------------------------------------------------
// Route table of the account API (server.js prepends the SSO route and appends the others).

export const ACCOUNT_ROUTES = [
  { re: /^\/sub\/v2\/accounts\/([^/]+)\/subscriptions$/, methods: { GET: handleListSubscriptions } },
  { re: /^\/sub\/v2\/accounts\/([^/]+)\/subscriptions\/forecast$/, methods: { GET: handleForecast } },
  { re: /^\/sub\/v2\/accounts\/([^/]+)\/subscriptions\/events$/, methods: { GET: handleEvents } },
  { re: /^\/sub\/v2\/accounts\/([^/]+)\/subscriptions\/([^/]+)$/, methods: { GET: handleSubscriptionDetails } },
  { re: /^\/sub\/v2\/accounts\/([^/]+)\/subscriptions\/([^/]+)\/cost$/, methods: { GET: handleSubscriptionCost } },
  { re: /^\/sub\/v2\/accounts\/([^/]+)\/subscriptions\/([^/]+)\/usage$/, methods: { GET: handleSubscriptionUsage } },
  { re: /^\/sub\/v2\/accounts\/([^/]+)\/subscriptions\/([^/]+)\/environments\/(cost|usage)$/, methods: { GET: handleEnvironmentsV2 } },
  { re: /^\/sub\/v3\/accounts\/([^/]+)\/subscriptions\/([^/]+)\/environments\/(cost|usage)$/, methods: { GET: handleEnvironmentsV3 } },
  { re: /^\/sub\/v1\/accounts\/([^/]+)\/rate-cards$/, methods: { GET: handleRateCards } },
  { re: /^\/v1\/subscriptions\/([^/]+)\/cost-allocation$/, methods: { GET: handleCostAllocation } },
  {
    re: /^\/v1\/accounts\/([^/]+)\/settings\/(costcenters|products)$/,
    methods: { GET: handleAllowListGet, POST: handleAllowListPost, PUT: handleAllowListPut },
  },
  { re: /^\/v1\/accounts\/([^/]+)\/settings\/(costcenters|products)\/([^/]*)$/, methods: { DELETE: handleAllowListDelete } },
  { re: /^\/env\/v2\/accounts\/([^/]+)\/environments$/, methods: { GET: handleEnvironments } },
  { re: /^\/env\/v1\/accounts\/([^/]+)\/environments$/, methods: { GET: handleEnvironmentsV1 } },
];
