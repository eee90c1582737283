// dps-cost — Dynatrace Workflow "Run JavaScript" action.
//
// Paste this whole file into a Run JavaScript task. It reads each account's OAuth client from
// the credential vault, fetches the active DPS subscription and its daily cost, builds business
// events (dps.subscription.status, dps.cost2.booked) and ingests them into this environment.
// With an `allocation` block it also splits the per-environment cost of the days it syncs by
// Datadog custom allocation rules and ingests dps.cost.allocated events (chargeback by team).
// The task result is a small JSON summary (no secrets, no tokens).
// As a loop task (withItems), each iteration syncs only its item: an account UUID of CONFIG, or
// {account, families: [...]} for a slice of its event families (the slices of one account name
// subscriptionStatus and costBooked in exactly one of them).
//
// Before the first run:
//  1. Create an OAuth client per account (scope account-uac-read) and store it in the
//     credential vault as "Username and password": username = client id (dt0s02.…),
//     password = client secret. Scope: AppEngine; "Allow access without app context" on.
//  2. Allow the outbound hosts sso.dynatrace.com and api.dynatrace.com
//     (Settings › General › External requests).
//  3. The workflow actor needs environment-api:credentials:read and permission to ingest
//     business events (storage:events:write).
//  4. Fill in CONFIG below.

// ================================ CONFIG — edit here ================================
const CONFIG = {
  // One entry per Dynatrace account.
  accounts: [
    {
      accountUuid: "00000000-0000-0000-0000-000000000000", // from myaccount.dynatrace.com (?account-uuid=…)
      name: "My account", // shown in events and the summary
      credentialId: "CREDENTIALS_VAULT-0000000000000000", // username = client id, password = client secret
      // subscriptionUuid: "…",                            // optional: default is the ACTIVE subscription
    },
  ],

  // Account Management API and SSO token endpoint (defaults are Dynatrace SaaS).
  apiUrl: "https://api.dynatrace.com",
  ssoUrl: "https://sso.dynatrace.com/sso/oauth2/token",

  // Where the business events go. The relative platform path ingests into this environment
  // with the workflow's own identity (no token needed). Set `ingest: null` for a dry run.
  ingest: {
    url: "/platform/classic/environment-api/v2/bizevents/ingest",
    // credentialId: "CREDENTIALS_VAULT-…", // optional, for another target: an OAuth client
    //                                      // (username/password, with accountUuid + scope below)
    //                                      // or an API token (token credential)
    // accountUuid: "…", scope: "storage:events:write",
  },

  // Days re-read and re-sent every run: restated bookings replace old values under the same
  // event.id (dashboards use `dedup event.id, sort: {timestamp desc}`).
  windowDays: 35,
  // Set to true for the first run only: send dps.cost2.booked for every booked day (backfill).
  fullHistory: false,
  // Event families beyond the two dashboard kinds (dps.subscription.status, dps.cost2.booked).
  include: { environmentCost: true, environmentUsage: true, forecast: true, allocation: true, costAllocated: true },

  // Optional chargeback: split the per-environment cost of the synced days (by cost center
  // first, when include.allocation is on) with Datadog custom allocation rules; one
  // dps.cost.allocated event per allocated or unallocated line. Either the rules inline, in
  // Datadog's JSON
  // (GET /api/v2/cost/arbitrary_rule's reply, or the array of its `data`):
  //   allocation: { rules: { data: [{ id: "1", type: "arbitrary_rule", attributes: { … } }] } },
  // or fetched from Datadog, the keys in the credential vault as "Username and password"
  // (username = API key, password = application key with cloud_cost_management_read; allow the
  // outbound host api.<site>):
  //   allocation: { credentialId: "CREDENTIALS_VAULT-…", site: "datadoghq.eu" },
  // `breakdown: "PRODUCT"` (or "NONE") instead of the default "COSTCENTER".
  allocation: null,

  // Fail the task when any account fails or any event is rejected (the summary goes to the log).
  failOnError: true,
  // Run deadline: no new request is started after this many ms (the runtime stops a task at
  // 120 s); what was built is still ingested and the task returns ok: false, code "DEADLINE".
  deadlineMs: 100000,

  // Optional: after the ingest, write the FOCUS CSV of the synced days (windowDays) (the bytes `dps-cost export` writes
  // for the same accounts, days and version) to an HTTPS URL. Allow its host as above. Either
  // PUT to a pre-signed object-store URL (S3, GCS, Azure SAS; the signature stays in the URL):
  //   export: { url: "https://bucket.s3.eu-west-1.amazonaws.com/dps/focus.csv?X-Amz-…", focusVersion: "1.3" },
  //   (Azure: x-ms-blob-type: BlockBlob is added; other headers: headers: { "x-amz-acl": "…" })
  // or POST to a webhook, its header's value from a vault credential of type "Token":
  //   export: { url: "https://finops.example.com/ingest/dps", method: "POST",
  //             header: "Authorization", scheme: "Bearer", credentialId: "CREDENTIALS_VAULT-…" },
  // The result's `delivery` says rows, bytes, HTTP status, attempts, host and path (never the
  // query string or the token); a failed delivery fails the task (the events are ingested).
  export: null,
};
// ============================== end of CONFIG ======================================

// Everything below is generated by dps-cost; no need to edit it.
import { isDpsCostError, sync, version } from "dps-cost/inline"; // @dps-cost:inline (build.mjs inlines the bundle here)

const DPS_ACTION_CREDENTIALS_PATH = "/platform/classic/environment-api/v2/credentials/";

/** CONFIG with the caller's payload overrides (the function executor and tests pass them). */
function dpsActionSettings(payload) {
  const p = payload && typeof payload === "object" && !Array.isArray(payload) ? payload : {};
  const pick = (key) => (p[key] !== undefined ? p[key] : CONFIG[key]);
  return {
    accounts: pick("accounts") || [],
    apiUrl: pick("apiUrl"),
    ssoUrl: pick("ssoUrl"),
    ingest: p.dryRun === true ? null : pick("ingest"),
    failOnError: pick("failOnError") !== false,
    windowDays: pick("windowDays"),
    fullHistory: pick("fullHistory") === true,
    include: pick("include"),
    deadlineMs: pick("deadlineMs"),
    allocation: pick("allocation"),
    export: pick("export"),
    now: p.now,
    credentialsPath: p.credentialsPath || DPS_ACTION_CREDENTIALS_PATH,
  };
}

const DPS_ACTION_FAMILIES = ["subscriptionStatus", "costBooked", "environmentCost", "environmentUsage", "forecast", "allocation", "costAllocated"];

/** This iteration's loop item: the `loopItemValue` parameter, else the action execution's. */
async function dpsActionLoopItem(p) {
  if (p.loopItemValue !== undefined) return p.loopItemValue;
  const id = p.actionExecutionId ?? p.action_execution_id ?? globalThis.dtRuntime?.callerServiceMetadata?.workflowActionExecutionId;
  if (!id) return undefined;
  const res = await fetch(`/platform/automation/v1/action-executions/${encodeURIComponent(id)}`, { headers: { accept: "application/json" } });
  if (res.status !== 200) throw new Error(`dps-cost: reading action execution ${id} failed with HTTP ${res.status}`);
  const loopItem = (await res.json()).loopItem;
  const keys = loopItem && typeof loopItem === "object" ? Object.keys(loopItem) : [];
  return keys.length ? loopItem[keys[0]] : undefined;
}

/** Narrows the settings to the loop item's account (and families); INVALID_INPUT if it is not one. */
function dpsActionShard(item, settings) {
  const account = typeof item === "string" ? item : item?.account;
  const families = typeof item === "string" ? undefined : item?.families;
  const found = settings.accounts.find((a) => a && a.accountUuid === account);
  const badFamilies = families !== undefined && (!Array.isArray(families) || families.some((f) => !DPS_ACTION_FAMILIES.includes(f)));
  if (!found || badFamilies || (typeof item !== "string" && Object.keys(item || {}).some((k) => k !== "account" && k !== "families"))) {
    const e = new Error(
      `dps-cost: INVALID_INPUT: loop item ${JSON.stringify(item)} ` +
        (found ? `has families other than ${DPS_ACTION_FAMILIES.join(", ")}` : "names no account of CONFIG.accounts"),
    );
    e.code = "INVALID_INPUT";
    throw e;
  }
  settings.accounts = [found];
  if (families) settings.include = Object.fromEntries(DPS_ACTION_FAMILIES.map((f) => [f, families.includes(f)]));
  return { account, ...(families ? { families } : {}) };
}

/** Reads one credential vault entry; returns its details (never logged, never returned). */
async function dpsActionCredential(id, settings) {
  if (typeof id !== "string" || !/^CREDENTIALS_VAULT-[A-Za-z0-9]+$/.test(id)) {
    throw new Error(`dps-cost: invalid credential vault id ${JSON.stringify(String(id)).slice(0, 60)}`);
  }
  const res = await fetch(settings.credentialsPath + encodeURIComponent(id) + "/details", {
    headers: { accept: "application/json" },
  });
  if (res.status !== 200) {
    throw new Error(
      `dps-cost: reading credential ${id} failed with HTTP ${res.status} ` +
        "(AppEngine scope, 'allow access without app context' and environment-api:credentials:read needed)",
    );
  }
  return res.json();
}

async function dpsActionAccount(account, settings) {
  if (!account || typeof account.accountUuid !== "string") {
    throw new Error("dps-cost: every CONFIG.accounts entry needs an accountUuid");
  }
  const out = { accountUuid: account.accountUuid };
  if (account.name !== undefined) out.name = account.name;
  if (account.subscriptionUuid !== undefined) out.subscriptionUuid = account.subscriptionUuid;
  if (account.credentialId !== undefined) {
    const c = await dpsActionCredential(account.credentialId, settings);
    if (typeof c.username !== "string" || typeof c.password !== "string") {
      throw new Error(`dps-cost: credential ${account.credentialId} must be of type "Username and password"`);
    }
    out.clientId = c.username;
    out.clientSecret = c.password;
  } else {
    out.clientId = account.clientId;
    out.clientSecret = account.clientSecret;
  }
  return out;
}

async function dpsActionIngest(ingest, settings) {
  if (!ingest) return null;
  const { credentialId, ...rest } = ingest;
  if (credentialId === undefined) return rest;
  const c = await dpsActionCredential(credentialId, settings);
  if (typeof c.token === "string") return { ...rest, apiToken: c.token };
  if (typeof c.username === "string" && typeof c.password === "string") {
    return { scope: "storage:events:write", ...rest, clientId: c.username, clientSecret: c.password };
  }
  throw new Error(`dps-cost: ingest credential ${credentialId} must be a token or username/password`);
}

/** CONFIG.allocation for sync(): inline rules as they are; a vault entry becomes the Datadog keys. */
async function dpsActionAllocation(allocation, settings) {
  if (allocation === undefined || allocation === null) return undefined;
  const { credentialId, site, baseUrl, ...rest } = allocation;
  if (credentialId === undefined) return allocation; // sync() checks the rules (RULE_INVALID) before any request
  const c = await dpsActionCredential(credentialId, settings);
  if (typeof c.username !== "string" || typeof c.password !== "string") {
    throw new Error(`dps-cost: Datadog credential ${credentialId} must be of type "Username and password" (username = API key, password = application key)`);
  }
  return { ...rest, datadog: { apiKey: c.username, applicationKey: c.password, site, baseUrl } };
}

/**
 * The `export` option of sync: CONFIG.export with its credential read from the vault (a token
 * becomes `secret`, the value of `header`); everything else is checked by dps-cost.
 */
async function dpsActionExport(exp, settings, shard) {
  if (!exp) return null;
  if (shard) {
    const e = new Error("dps-cost: INVALID_INPUT (export): CONFIG.export is not supported in a loop iteration (every iteration would write the same URL); deliver from a task without withItems");
    e.code = "INVALID_INPUT";
    throw e;
  }
  const { credentialId, ...rest } = exp;
  if (credentialId === undefined) return rest;
  const c = await dpsActionCredential(credentialId, settings);
  if (typeof c.token !== "string") throw new Error(`dps-cost: export credential ${credentialId} must be of type "Token"`);
  return { ...rest, secret: c.token };
}

/** The delivery's part of the task result, field by field (host and path only, no secret). */
function dpsActionDelivery(d) {
  return {
    ok: d.ok === true,
    ...(d.code ? { code: d.code, message: d.message } : {}),
    method: d.method,
    host: d.host,
    path: d.path,
    focusVersion: d.focusVersion,
    rows: d.rows,
    bytes: d.bytes,
    status: d.status,
    attempts: d.attempts,
    ...(d.warnings?.length ? { warnings: d.warnings } : {}),
  };
}

/** The task result: counts and totals only, built field by field so nothing secret can leak. */
function dpsActionResult(summary) {
  const events = summary.events || {};
  const rejected = Array.isArray(events.rejected) ? events.rejected : [];
  const failed = Array.isArray(events.failed) ? events.failed : [];
  const warnings = (summary.accounts || []).flatMap((a) => (a.costAllocated?.warnings || []).map((w) => `${a.name}: ${w}`));
  return {
    ok: summary.ok === true,
    ...(summary.code ? { code: summary.code } : {}),
    ...(summary.incomplete?.length ? { incomplete: summary.incomplete } : {}),
    dryRun: summary.dryRun === true,
    version: version(),
    accounts: (summary.accounts || []).map((a) => {
      const s = a.subscription;
      return {
        accountUuid: a.accountUuid,
        name: a.name,
        ok: a.ok === true,
        ...(a.error ? { error: { code: a.error.code, message: a.error.message, status: a.error.status } } : {}),
        ...(s
          ? {
              subscription: {
                uuid: s.uuid,
                name: s.name,
                currency: s.currency,
                budget: s.budget,
                used: s.used,
                percentUsed: s.percentUsed,
                periodStart: s.periodStart,
                periodEnd: s.periodEnd,
                daysRemaining: s.daysRemaining,
              },
            }
          : {}),
        costDays: a.costDays,
        firstDay: a.firstDay,
        lastDay: a.lastDay,
        costToDate: a.costToDate,
        ...(a.reconciliation ? { reconciliation: a.reconciliation } : {}),
        events: a.events,
        ...(a.errors?.length
          ? { errors: a.errors.map((f) => ({ family: f.family, code: f.code, message: f.message, status: f.status })) }
          : {}),
        ...(a.costAllocated
          ? {
              costAllocated: {
                source: a.costAllocated.source,
                rules: a.costAllocated.rules,
                lines: a.costAllocated.lines,
                linesAllocated: a.costAllocated.linesAllocated,
                linesUnallocated: a.costAllocated.linesUnallocated,
                totals: a.costAllocated.totals, // per currency: input, output (exact decimals, micro-units), equal
                ...(a.costAllocated.warnings ? { warnings: a.costAllocated.warnings } : {}),
              },
            }
          : {}),
      };
    }),
    ...(warnings.length ? { warnings } : {}),
    events: {
      built: events.built,
      sent: events.sent,
      accepted: events.accepted,
      rejected: rejected.length,
      rejectedSample: rejected.slice(0, 5).map((r) => ({ index: r.index, eventId: r.eventId, message: r.message })),
      notDelivered: failed.reduce((n, f) => n + (f.count || 0), 0),
      batches: events.batches,
      ...(events.error ? { error: { code: events.error.code, message: events.error.message } } : {}),
    },
    ...(summary.delivery ? { delivery: dpsActionDelivery(summary.delivery) } : {}),
  };
}

/** `sync`, its refusal of the config (INVALID_INPUT, before any request) with code and option in the message. */
async function dpsActionSync(config) {
  try {
    return await sync(config);
  } catch (e) {
    if (isDpsCostError(e) && !String(e.message).startsWith(e.code)) e.message = `${e.code}${e.field ? ` (${e.field})` : ""}: ${e.message}`;
    throw e;
  }
}

export default async function (payload) {
  const settings = dpsActionSettings(payload);
  if (settings.accounts.length === 0) throw new Error("dps-cost: CONFIG.accounts is empty");
  const item = await dpsActionLoopItem(payload && typeof payload === "object" ? payload : {});
  const shard = item === undefined ? undefined : dpsActionShard(item, settings);
  console.log(
    `dps-cost ${version()}: ${shard ? `loop item ${JSON.stringify(shard)}` : `${settings.accounts.length} account(s)`}, ${settings.ingest ? "ingest" : "dry run"}`,
  );
  const accounts = [];
  for (const account of settings.accounts) accounts.push(await dpsActionAccount(account, settings));
  const ingest = await dpsActionIngest(settings.ingest, settings);
  const allocation = await dpsActionAllocation(settings.allocation, settings);
  const exportOption = await dpsActionExport(settings.export, settings, shard);
  const summary = await dpsActionSync({
    accounts,
    apiUrl: settings.apiUrl,
    ssoUrl: settings.ssoUrl,
    ingest,
    windowDays: settings.windowDays,
    fullHistory: settings.fullHistory,
    ...(settings.include ? { include: settings.include } : {}),
    ...(settings.deadlineMs ? { deadlineMs: settings.deadlineMs } : {}),
    ...(allocation ? { allocation } : {}),
    ...(settings.now ? { now: settings.now } : {}),
    ...(exportOption ? { export: exportOption } : {}),
  });
  const result = dpsActionResult(summary);
  if (result.delivery) {
    const d = result.delivery;
    if (!d.ok && !result.code) result.code = d.code;
    console.log(`dps-cost: export ${d.ok ? "delivered" : `failed (${d.code})`}: ${d.method} ${d.host}${d.path}, ${d.rows} rows, ${d.bytes} bytes, HTTP ${d.status ?? "-"}, ${d.attempts} attempt(s)`);
  }
  if (shard) result.shard = shard;
  console.log(
    `dps-cost: events built ${result.events.built}, sent ${result.events.sent}, ` +
      `accepted ${result.events.accepted}, rejected ${result.events.rejected}`,
  );
  for (const w of result.warnings || []) console.log(`dps-cost: WARNING ${w}`);
  if (result.code === "DEADLINE") {
    // Not killed silently: what was built is stored; the next run (same ids) completes the rest.
    // A loop iteration fails, so that the task's retry (failed iterations only) runs it again.
    const note = `dps-cost: DEADLINE after ${settings.deadlineMs} ms; incomplete: ${JSON.stringify(result.incomplete)}`;
    console.log(note);
    if (shard) {
      console.log(JSON.stringify(result));
      throw new Error(`${note}; shard ${JSON.stringify(shard)}`);
    }
    return result;
  }
  if (!result.ok && settings.failOnError) {
    const failed = result.accounts
      .filter((a) => !a.ok)
      .map((a) => `${a.name || a.accountUuid}: ${[a.error?.code, ...(a.errors || []).map((f) => `${f.family} ${f.code}`)].filter(Boolean).join(", ")}`);
    console.log(JSON.stringify(result));
    const lost = `${result.events.rejected} event(s) rejected, ${result.events.notDelivered} not delivered`;
    if (result.delivery && !result.delivery.ok) failed.push(`export: ${result.delivery.code}: ${result.delivery.message}`);
    throw new Error(`dps-cost sync failed (${[...failed, lost].join("; ")})`);
  }
  return result;
}
