#!/usr/bin/env node
// Writes the fuzz seed corpora (fuzz/seeds/<target>/) from the test fixtures: the embedded
// emulator's real responses (js/emulator), the Datadog rule fixtures
// (tests/fixtures/datadog), tests/fixtures, and the documented
// error-body shapes. Deterministic (fixed emulator clock). Arrays are shortened to a few items
// so every seed stays small (the whole set is well under 1 MB).
//
//   node fuzz/seeds.mjs
//
// Input layouts match the targets' doc comments (fuzz/fuzz_targets/*.rs).
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startEmulator } from "../js/emulator/index.js";
import { CLIENTS } from "../js/emulator/data.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const out = join(here, "seeds");
const DATADOG = join(root, "tests", "fixtures", "datadog");
const SEP = "\n--\n";
const MAX_SEED = 16 * 1024;

const seeds = new Map(); // target → Map(name → Buffer)
function seed(target, name, bytes) {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
  if (buf.length > MAX_SEED) return;
  if (!seeds.has(target)) seeds.set(target, new Map());
  seeds.get(target).set(name.replace(/[^A-Za-z0-9_.-]/g, "_"), buf);
}
const withHeader = (bytes, text) => Buffer.concat([Buffer.from(bytes), Buffer.from(text)]);

/** Keeps at most `n` items of every array, recursively. */
function shrink(v, n = 3) {
  if (Array.isArray(v)) return v.slice(0, n).map((x) => shrink(x, n));
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shrink(x, n)]));
  return v;
}
const small = (text) => {
  try {
    return JSON.stringify(shrink(JSON.parse(text)));
  } catch {
    return text.slice(0, 2000);
  }
};

// --- The emulator: token replies and every Account Management payload -------------------------
const emu = await startEmulator({ port: 0, host: "127.0.0.1", now: "2026-11-23T10:00:00Z" });
try {
  const client = CLIENTS[0];
  const tokenReply = async (form) => {
    const r = await fetch(`${emu.url}/sso/oauth2/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form).toString(),
    });
    return { status: r.status, body: await r.text() };
  };
  const good = {
    grant_type: "client_credentials",
    client_id: client.clientId,
    client_secret: client.clientSecret,
    scope: "account-uac-read account-env-read account-uac-write",
    resource: `urn:dtaccount:${client.accountUuid}`,
  };
  const replies = {
    ok: await tokenReply(good),
    bad_secret: await tokenReply({ ...good, client_secret: "dt0s02.WRONG" }),
    bad_scope: await tokenReply({ ...good, scope: "storage:events:write" }),
    bad_resource: await tokenReply({ ...good, resource: "urn:dtaccount:nope" }),
    no_grant: await tokenReply({ client_id: client.clientId }),
  };
  // token_response: byte 0 = status (0 → 200; 9/10/11 → 400/401/403 via status_of), byte 1 = Retry-After flavour.
  const statusByte = { 200: 0, 400: 9, 401: 10, 403: 11, 429: 14, 500: 15 };
  for (const [name, r] of Object.entries(replies)) {
    seed("token_response", `emulator_${name}`, withHeader([statusByte[r.status] ?? 15, 0], r.body));
  }
  const token = JSON.parse(replies.ok.body).access_token;

  const a = client.accountUuid;
  const get = async (path) => {
    const r = await fetch(`${emu.url}${path}`, { headers: { authorization: `Bearer ${token}`, accept: "application/json" } });
    return { status: r.status, body: await r.text() };
  };
  const subs = JSON.parse((await get(`/sub/v2/accounts/${a}/subscriptions`)).body);
  const s = subs.data?.[0]?.uuid ?? "00000000-0000-0000-0000-000000000000";
  const envs = JSON.parse((await get(`/env/v2/accounts/${a}/environments`)).body);
  const env = envs.data?.[0]?.id ?? envs.tenantResources?.[0]?.tenantUuid ?? "abc12345";
  const win = "startTime=2026-11-01T00:00:00Z&endTime=2026-11-03T00:00:00Z";
  // Follows nextPageKey for up to three pages: the bodies joined with the page separator.
  const paged = async (path, keyParam) => {
    const bodies = [];
    let key = null;
    for (let i = 0; i < 3; i++) {
      const sep = path.includes("?") ? "&" : "?";
      const r = await get(key ? `${path}${sep}${keyParam}=${encodeURIComponent(key)}` : path);
      bodies.push(small(r.body));
      key = JSON.parse(r.body).nextPageKey;
      if (!key) break;
    }
    return bodies.join(SEP);
  };
  // api_payloads: byte 0 = endpoint (see the target), byte 1 = flavour (0: all 200).
  const endpoints = [
    [0, "subscriptions", `/sub/v2/accounts/${a}/subscriptions`],
    [1, "active_subscription", `/sub/v2/accounts/${a}/subscriptions`],
    [2, "subscription_details", `/sub/v2/accounts/${a}/subscriptions/${s}`],
    [3, "cost", `/sub/v2/accounts/${a}/subscriptions/${s}/cost?${win}`],
    [4, "usage", `/sub/v2/accounts/${a}/subscriptions/${s}/usage?${win}`],
    [5, "env_cost_v3", `/sub/v3/accounts/${a}/subscriptions/${s}/environments/cost?${win}&page-size=2`, "page-key"],
    [6, "env_usage_v3", `/sub/v3/accounts/${a}/subscriptions/${s}/environments/usage?${win}&page-size=2`, "page-key"],
    [7, "env_cost_v2", `/sub/v2/accounts/${a}/subscriptions/${s}/environments/cost?${win}`],
    [8, "env_usage_v2", `/sub/v2/accounts/${a}/subscriptions/${s}/environments/usage?${win}`],
    [9, "cost_allocation_cc", `/v1/subscriptions/${s}/cost-allocation?field=COSTCENTER&environment-id=${env}&page-size=2`, "page-key"],
    [10, "cost_allocation_product", `/v1/subscriptions/${s}/cost-allocation?field=PRODUCT&environment-id=${env}&page-size=2`, "page-key"],
    [11, "forecast", `/sub/v2/accounts/${a}/subscriptions/forecast`],
    [12, "events", `/sub/v2/accounts/${a}/subscriptions/events`],
    [13, "rate_cards", `/sub/v1/accounts/${a}/rate-cards`],
    [14, "environments", `/env/v2/accounts/${a}/environments`],
    [15, "environments_v1", `/env/v1/accounts/${a}/environments`],
    [0x8f, "allow_list_costcenters", `/v1/accounts/${a}/settings/costcenters`],
  ];
  const bodies = {};
  for (const [sel, name, path, keyParam] of endpoints) {
    const text = keyParam ? await paged(path, keyParam) : small((await get(path)).body);
    bodies[name] = text;
    seed("api_payloads", `emulator_${name}`, withHeader([sel, 0], text));
  }
  // Error bodies of the account family, and a 429 with Retry-After on the first page.
  const notFound = await get(`/sub/v2/accounts/${a}/subscriptions/00000000-0000-4000-8000-000000000000`);
  seed("api_payloads", "emulator_404", withHeader([2, 0x80 | 0x0c], notFound.body));
  seed("api_payloads", "rate_limited_then_ok", withHeader([0, 0x80 | 0x0e], `{"error":true,"message":"slow down"}${SEP}${bodies.subscriptions}`));

  // cost_lines: byte 0 even = cost-line builder input, odd = cost-to-date records.
  const envCost = JSON.parse(bodies.env_cost_v3.split(SEP)[0]);
  const alloc = JSON.parse(bodies.cost_allocation_cc.split(SEP)[0]);
  const environments = (envCost.data ?? []).map((e) => ({ environmentId: e.environmentId, clusterId: e.clusterId ?? null, records: e.cost ?? e.records ?? [] }));
  const linesInput = {
    accountUuid: a,
    subscriptionUuid: s,
    accountName: "ACME",
    environments,
    breakdown: { field: "COSTCENTER", environments: [{ environmentId: env, records: alloc.records ?? alloc.data ?? [] }] },
    environmentTags: { [env]: { team: "web" } },
    currency: "EUR",
  };
  seed("cost_lines", "emulator_lines", withHeader([0], JSON.stringify(linesInput)));
  seed("cost_lines", "emulator_lines_no_breakdown", withHeader([2], JSON.stringify({ ...linesInput, breakdown: null })));
  const cost = JSON.parse(bodies.cost);
  seed("cost_lines", "emulator_cost_to_date", withHeader([1], JSON.stringify(cost.data ?? [])));
} finally {
  await emu.close();
}

// --- tests/fixtures ----------------------------------------------------------------------------
const fixtures = join(root, "tests", "fixtures");
for (const [f, sel] of [["subscriptions.json", 0], ["subscription_details.json", 2], ["cost.json", 3]]) {
  const p = join(fixtures, f);
  if (existsSync(p)) seed("api_payloads", `fixture_${f}`, withHeader([sel, 0], small(readFileSync(p, "utf8"))));
}
const costFixture = join(fixtures, "cost.json");
if (existsSync(costFixture)) {
  const data = JSON.parse(readFileSync(costFixture, "utf8")).data ?? [];
  seed("cost_lines", "fixture_cost_to_date", withHeader([1], JSON.stringify(shrink(data, 6))));
}

// --- Datadog rule JSON ---------------------------------------------------------------------------
const walk = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)]));
{
  for (const file of walk(DATADOG).filter((f) => f.endsWith(".json")).sort()) {
    const base = file.slice(DATADOG.length + 1).replace(/\.json$/, "");
    const doc = JSON.parse(readFileSync(file, "utf8"));
    if (Array.isArray(doc.interactions)) {
      doc.interactions.forEach((it, i) => {
        for (const [kind, body] of [["req", it.request_body], ["res", it.response_body]]) {
          if (body && typeof body === "object" && "data" in body) seed("datadog_rules", `${base}_${i}_${kind}`, JSON.stringify(body));
        }
      });
    } else if (Array.isArray(doc.cases)) {
      // based_on_timeseries validation cases, each inside a rule.
      doc.cases.forEach((c, i) => {
        const rule = {
          data: {
            id: String(i), type: "arbitrary_rule",
            attributes: {
              rule_name: c.name ?? `case ${i}`, provider: ["aws"], enabled: true,
              costs_to_allocate: [{ tag: "aws_product", condition: "is", value: "AmazonEC2" }],
              strategy: { method: "proportional_timeseries", granularity: "daily", based_on_timeseries: c.based_on_timeseries },
            },
          },
        };
        seed("datadog_rules", `${base}_${i}`, JSON.stringify(rule));
      });
    } else if (doc && typeof doc === "object") {
      seed("datadog_rules", base, JSON.stringify(doc.value ?? doc));
    }
  }
}

// --- Ingest replies (the shapes of events/ingest.rs) --------------------------------------------
// byte 0 = event count - 1 (+0x40: events carry ids); byte 1 = retry flavour; replies `S:body`,
// S = one status byte for status_of (9 = 400, 13 = 413, 10 = 401, 14 = 429).
const ingest = {
  all_accepted: [0x43, 0, ""],
  partial_index: [0x44, 0, '\t:{"error":{"code":400,"message":"2 events invalid","errors":[{"index":1,"message":"bad"},{"index":3,"message":"worse"}]}}'],
  partial_flat: [0x44, 0, '\t:{"errors":[{"id":"ev-2","message":"duplicate"},{"index":99}]}'],
  whole_400: [0x04, 0, '\t:{"error":{"code":400,"message":"Invalid JSON"}}'],
  split_413: [0x47, 0, `\r:{"error":{"code":413,"message":"too large"}}${SEP}${SEP}\r:too large${SEP}`],
  unauthorized: [0x05, 0, '\n:{"error":{"code":401,"message":"Invalid token"}}'],
  rate_limited_retry: [0x03, 1, `\u000e:{"error":{"code":429,"message":"slow down"}}${SEP}`],
};
for (const [name, [n, flavour, text]] of Object.entries(ingest)) seed("ingest_reply", name, withHeader([n, flavour], text));

// --- Scalars: byte 0 = parser (0 money, 1 split, 2 time, 3 days, 4 decimal, 5 JSON, 6 ids/URLs) ----
const f64s = (...xs) => Buffer.concat(xs.map((x) => { const b = Buffer.alloc(8); b.writeDoubleLE(x); return b; }));
const scalars = {
  money_cents: [0, f64s(0.1, 0.2)],
  money_big: [0, f64s(123456789.123456, -1e-7)],
  split: [1, Buffer.concat([f64s(1234.56), Buffer.from(new BigInt64Array([3n, 4n, 5n]).buffer)])],
  time_iso: [2, "2026-11-23T10:00:00.123+01:30"],
  time_date: [2, "2024-02-29"],
  time_http: [2, "Wed, 21 Oct 2015 07:28:00 GMT"],
  days: [3, f64s(1e-300)],
  decimal: [4, "0.0035"],
  decimal_neg: [4, " -12.50 "],
  json_error: [5, '{"data":[{"value":1},{"value":"x"}'],
  json_nested: [5, '{"error":{"message":"nope","errors":[{"title":"t","detail":"d"}]}}'],
  uuid: [6, "3F7C2D1E-8A4B-4C6D-9E0F-1A2B3C4D5E6F"],
  url: [6, "https://api.dynatrace.com/"],
  url_loopback: [6, "http://127.0.0.1:8080/base/"],
  keys: [6, "CC-1,CC 2,ü/?#%"],
};
for (const [name, [mode, body]] of Object.entries(scalars)) seed("scalars", name, withHeader([mode], body));

// --- Write ---------------------------------------------------------------------------------------
rmSync(out, { recursive: true, force: true });
let total = 0;
let count = 0;
for (const [target, files] of [...seeds.entries()].sort()) {
  const dir = join(out, target);
  mkdirSync(dir, { recursive: true });
  const written = new Set();
  for (const [name, buf] of [...files.entries()].sort()) {
    const hash = createHash("sha1").update(buf).digest("hex").slice(0, 8);
    if (written.has(hash)) continue; // same bytes under another name
    written.add(hash);
    writeFileSync(join(dir, `${name}-${hash}`), buf);
    total += buf.length;
    count += 1;
  }
}
process.stderr.write(`seeds: ${count} files, ${(total / 1024).toFixed(1)} KiB in ${out}\n`);
