// Datadog custom allocation rules ("arbitrary rules"), read-only: GET /api/v2/cost/arbitrary_rule
// and /{rule_id}, with DD-API-KEY / DD-APPLICATION-KEY. Tests pass the recorded Datadog
// fixtures as `startEmulator({ datadogRules })`; by default the emulator serves example rules in
// Datadog's schema that target the tags dps-cost puts on Dynatrace cost lines (provider,
// environment, capability, costcenter, product).

import { sendJson } from "./common.js";

const JSON_API = { "Content-Type": "application/vnd.api+json" };

const filter = (tag, condition, value) =>
  Array.isArray(value) ? { condition, tag, value: "", values: value } : { condition, tag, value, values: null };

function rule(id, order, name, costs, strategy) {
  return {
    id: String(id),
    type: "arbitrary_rule",
    attributes: {
      costs_to_allocate: costs,
      created: "2026-10-01T08:00:00Z",
      enabled: true,
      last_modified_user_uuid: "emulator",
      order_id: order,
      processing_status: "done",
      provider: ["dynatrace"],
      rule_name: name,
      strategy,
      type: "shared",
      updated: "2026-10-01T08:00:00Z",
      version: 1,
    },
  };
}

/** Example rules for the emulator's Dynatrace data (an `ArbitraryRuleResponseArray`). */
export function defaultDatadogRules() {
  const data = [
    rule(101, 1, "log-queries-to-teams", [filter("capability", "is", "LOG_MANAGEMENT_QUERY")], {
      method: "percent",
      allocated_by: [
        { allocated_tags: [{ key: "team", value: "platform" }], percentage: 0.6 },
        { allocated_tags: [{ key: "team", value: "web-shop" }], percentage: 0.4 },
      ],
    }),
    rule(102, 2, "staging-by-production-spend", [filter("environment", "is", "def67890")], {
      method: "proportional",
      granularity: "daily",
      allocated_by_tag_keys: ["costcenter"],
      based_on_costs: [filter("environment", "is", "abc12345")],
    }),
    rule(103, 3, "appengine-even-by-product", [filter("capability", "in", ["COMPUTE"])], {
      method: "even",
      granularity: "daily",
      allocated_by_tag_keys: ["product"],
    }),
  ];
  return { data, meta: { total_count: data.length } };
}

function authorized(ctx) {
  const dd = ctx.state.datadog;
  const h = ctx.req.headers;
  if (h["dd-api-key"] === dd.apiKey && h["dd-application-key"] === dd.applicationKey) return true;
  sendJson(ctx.res, 403, { errors: ["Forbidden"] }, JSON_API);
  return false;
}

/**
 * Datadog's rate limits when the emulator has `datadogRateLimit`: fixed windows of `periodMs`,
 * `limit` requests each; every reply carries X-RateLimit-Limit, -Period, -Remaining and -Reset
 * (whole seconds until the window resets, rounded up), and a spent window answers 429 with
 * Datadog's body and no Retry-After. Returns the headers to send, or null after sending the 429.
 */
function rateLimited(ctx) {
  const rl = ctx.state.datadog.rateLimit;
  if (!rl) return JSON_API;
  rl.requests++;
  const now = rl.elapsed();
  const window = Math.floor(now / rl.periodMs);
  if (window !== rl.window) {
    rl.window = window;
    rl.used = 0;
  }
  const ok = rl.used < rl.limit;
  if (ok) rl.used++;
  const headers = {
    ...JSON_API,
    "X-RateLimit-Limit": String(rl.limit),
    "X-RateLimit-Period": String(rl.periodMs / 1000),
    "X-RateLimit-Remaining": String(rl.limit - rl.used),
    "X-RateLimit-Reset": String(Math.ceil(((window + 1) * rl.periodMs - now) / 1000)),
  };
  if (ok) return headers;
  sendJson(ctx.res, 429, { errors: ["Too many requests"] }, headers);
  return null;
}

export function handleDatadogList(ctx) {
  if (!authorized(ctx)) return;
  const headers = rateLimited(ctx);
  if (!headers) return;
  const rules = ctx.state.datadog.rules;
  sendJson(ctx.res, 200, rules, headers);
}

export function handleDatadogGet(ctx, [id]) {
  if (!authorized(ctx)) return;
  if (!rateLimited(ctx)) return;
  const found = (ctx.state.datadog.rules.data ?? []).find((r) => r.id === id);
  if (!found) {
    return sendJson(ctx.res, 404, { errors: [{ status: "404", title: "Not found", detail: "The requested resource was not found" }] }, JSON_API);
  }
  sendJson(ctx.res, 200, { data: found }, JSON_API);
}
