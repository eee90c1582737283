// The Account Management commands of the dps-cost command line. Each command declares its
// options, checks them (usage errors before any request), calls one DpsClient method and renders
// the result: with --json exactly the method's result as one JSON document, otherwise a table.
import { readFileSync } from "node:fs";
import {
  CONNECTION_HELP,
  CONNECTION_OPTIONS,
  DAY_MS,
  UsageError,
  clientOptions,
  dateFlag,
  describeError,
  flagOrEnv,
  instantFlag,
  intFlag,
  isDpsError,
  iso,
  listFlag,
  parse,
  progressFetch,
  startOfDay,
} from "./common.js";
import { day, fields, money, num, pct, sumBy, table, text } from "./table.js";

// ---------------------------------------------------------------------------------------------
// Option sets and their help lines.

const OPT = {
  rules: { type: "string" },
  breakdown: { type: "string" },
  tag: { type: "string", multiple: true },
  "datadog-site": { type: "string" },
  subscription: { type: "string" },
  from: { type: "string" },
  to: { type: "string" },
  now: { type: "string" },
  environment: { type: "string", multiple: true },
  capability: { type: "string", multiple: true },
  cluster: { type: "string", multiple: true },
  field: { type: "string" },
  "event-type": { type: "string" },
  "page-size": { type: "string" },
};

const HELP_LINE = {
  subscription: "--subscription <uuid>    subscription (default: the active one) [DT_SUBSCRIPTION_UUID]",
  environment: "--environment <id>       only these environments (repeatable or a comma list)",
  capability: "--capability <key>       only these capabilities, e.g. LOG_MANAGEMENT_INGEST (repeatable/commas)",
  cluster: "--cluster <id>           only these clusters (Managed; repeatable/commas)",
};

const pick = (...names) => Object.fromEntries(names.map((n) => [n, OPT[n]]));

/** `{environmentIds?, capabilityKeys?, clusterIds?}` from the filter flags. */
function filterOf(values) {
  const f = {};
  const e = listFlag(values, "environment");
  const c = listFlag(values, "capability");
  const k = listFlag(values, "cluster");
  if (e) f.environmentIds = e;
  if (c) f.capabilityKeys = c;
  if (k) f.clusterIds = k;
  return f;
}

/** `--from`/`--to` as a local filter on records' `startTime` (`from` inclusive, `to` exclusive). */
function localWindow(values) {
  const from = instantFlag(values, "from");
  const to = instantFlag(values, "to");
  if (from !== undefined && to !== undefined && to <= from) throw new UsageError("--to must be after --from");
  return (r) => {
    const t = Date.parse(r.startTime);
    return (from === undefined || t >= from) && (to === undefined || t < to);
  };
}

/** The v3 window: `--from`/`--to`, by default the 35 days ending today 00:00Z (`--now`'s day). */
export function envWindow(values, nowMs = Date.now()) {
  const now = values.now === undefined ? nowMs : instantFlag(values, "now");
  let end = instantFlag(values, "to");
  let start = instantFlag(values, "from");
  if (end === undefined) end = startOfDay(now);
  if (start === undefined) start = end - 35 * DAY_MS;
  if (end <= start) throw new UsageError("--to must be after --from");
  return { startTime: iso(start), endTime: iso(end) };
}

const currencyOf = (records) => records.find((r) => r.currencyCode)?.currencyCode ?? "";

// ---------------------------------------------------------------------------------------------
// Renderers.

function costText(records) {
  if (records.length === 0) return "no cost records\n";
  const cur = currencyOf(records);
  const rows = records.map((r) => [day(r.startTime), money(r.value), money(r.costToDate)]);
  const total = records.reduce((s, r) => s + r.value, 0);
  return (
    table([{ title: "day" }, { title: `cost ${cur}`.trim(), align: "right" }, { title: "cost to date", align: "right" }], rows) +
    `${records.length} days, ${money(total)} ${cur} in these days, cost to date ${money(records.at(-1).costToDate)} ${cur}\n`
  );
}

function usageText(records) {
  if (records.length === 0) return "no usage records\n";
  const byCap = new Map();
  for (const r of records) {
    const c = byCap.get(r.capabilityKey) ?? { name: r.capabilityName, unit: r.unitMeasure, days: new Set(), total: 0, last: null };
    c.days.add(day(r.startTime));
    c.total += r.value;
    if (!c.last || r.startTime > c.last.startTime) c.last = r;
    byCap.set(r.capabilityKey, c);
  }
  const rows = [...byCap].map(([key, c]) => [key, c.name, c.unit, String(c.days.size), num(c.total), `${num(c.last.value)} (${day(c.last.startTime)})`]);
  const days = [...new Set(records.map((r) => day(r.startTime)))].sort();
  return (
    table(
      [
        { title: "capability" },
        { title: "name" },
        { title: "unit" },
        { title: "days", align: "right" },
        { title: "total", align: "right" },
        { title: "latest day", align: "right" },
      ],
      rows,
    ) + `${records.length} records, ${days[0]} … ${days.at(-1)}\n`
  );
}

function envText(kind) {
  return (envs, input) => {
    const window = `${day(input.query.startTime)} … ${day(iso(Date.parse(input.query.endTime) - 1))}`;
    if (envs.every((e) => e.records.length === 0)) return `no ${kind} records for ${window}\n`;
    const all = envs.flatMap((e) => e.records);
    const cur = kind === "cost" ? currencyOf(all) : "";
    const rows = [];
    for (const e of envs) {
      const byCap = sumBy(e.records, (r) => r.capabilityKey, (r) => r.value);
      const units = new Map(e.records.map((r) => [r.capabilityKey, r.unitMeasure]));
      for (const [cap, v] of byCap) {
        rows.push(kind === "cost" ? [e.environmentId, cap, money(v)] : [e.environmentId, cap, num(v), text(units.get(cap))]);
      }
      if (kind === "cost") rows.push([e.environmentId, "total", money(e.records.reduce((s, r) => s + r.value, 0))]);
    }
    const columns =
      kind === "cost"
        ? [{ title: "environment" }, { title: "capability" }, { title: `cost ${cur}`.trim(), align: "right" }]
        : [{ title: "environment" }, { title: "capability" }, { title: "usage", align: "right" }, { title: "unit" }];
    const total = kind === "cost" ? `, total ${money(all.reduce((s, r) => s + r.value, 0))} ${cur}` : "";
    return `${table(columns, rows)}${envs.length} environment${envs.length === 1 ? "" : "s"}, ${window}${total}\n`;
  };
}

function forecastText(f) {
  return fields([
    ["forecast (median)", money(f.forecastMedian)],
    ["forecast range", `${money(f.forecastLower)} … ${money(f.forecastUpper)}`],
    ["budget", money(f.budget)],
    ["forecast / budget", pct(f.forecastBudgetPct)],
    ["budget reached on", text(f.forecastBudgetDate)],
    ["forecast created", text(f.forecastCreatedAt)],
  ]);
}

function eventsText(events) {
  if (events.length === 0) return "no events\n";
  const rows = events.map((e) => [text(e.date), text(e.eventType), text(e.severity), text(e.environmentUuid ?? e.capability), text(e.message)]);
  return `${table([{ title: "date" }, { title: "type" }, { title: "severity" }, { title: "scope" }, { title: "message" }], rows)}${events.length} events\n`;
}

function rateCardsText(cards) {
  if (cards.length === 0) return "no rate cards\n";
  return cards
    .map((c) => {
      const head = `rate card ${text(c.quoteNumber)}: ${text(c.startTime)} … ${text(c.endTime)} (${text(c.currencyCode)})\n`;
      const rows = (c.capabilities ?? []).map((k) => [k.key, text(k.name), text(k.price), text(k.quotedUnitOfMeasure), text(k.quotedPrice)]);
      return (
        head +
        table(
          [{ title: "capability" }, { title: "name" }, { title: "price", align: "right" }, { title: "unit" }, { title: "list price", align: "right" }],
          rows,
        )
      );
    })
    .join("\n");
}

function allocationText(records, input) {
  const what = input.query.field === "PRODUCT" ? "product" : "cost center";
  if (records.length === 0) return `no cost allocation records for ${input.query.environmentId}\n`;
  const byKey = sumBy(records, (r) => r.key, (r) => r.costs);
  const total = [...byKey.values()].reduce((s, v) => s + v, 0);
  const rows = [...byKey]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => [k === null ? "(unallocated)" : k, money(v), pct(total ? (100 * v) / total : 0)]);
  rows.push(["total", money(total), pct(100)]);
  const days = [...new Set(records.map((r) => r.date))].sort();
  return (
    table([{ title: what }, { title: "cost", align: "right" }, { title: "share", align: "right" }], rows) +
    `environment ${input.query.environmentId}, ${days.length} days (${days[0]} … ${days.at(-1)}), ${records.length} records\n`
  );
}

function environmentsText(envs) {
  if (envs.length === 0) return "no environments\n";
  const rows = envs.map((e) => [e.id, text(e.name), e.active === null || e.active === undefined ? "–" : e.active ? "yes" : "no", text(e.url)]);
  return table([{ title: "id" }, { title: "name" }, { title: "active" }, { title: "url" }], rows);
}

function subscriptionsText(subs) {
  if (subs.length === 0) return "no subscriptions\n";
  const rows = subs.map((s) => [s.uuid, text(s.status), [s.type, s.subType].filter(Boolean).join("/") || "–", text(s.startTime), text(s.endTime), text(s.name)]);
  return table([{ title: "uuid" }, { title: "status" }, { title: "type" }, { title: "start" }, { title: "end" }, { title: "name" }], rows);
}

// ---------------------------------------------------------------------------------------------
// The commands.

const ALLOCATION_FIELDS = { costcenter: "COSTCENTER", product: "PRODUCT" };

/** @type {Record<string, {summary: string, args?: string, about?: string, options: object, help: string[],
 *   positionals?: boolean, subscription?: boolean, prepare?: Function, run: Function, text: Function}>} */
export const COMMANDS = {
  subscriptions: {
    summary: "list the account's subscriptions",
    options: {},
    help: [],
    run: (client) => client.subscriptions(),
    text: subscriptionsText,
  },
  cost: {
    summary: "daily cost of a subscription with the running cost-to-date",
    about: "--json prints costToDate(dailyCost(…)): the records sorted by day, each with costToDate.",
    options: pick("subscription", "from", "to", "environment", "capability", "cluster"),
    help: [
      HELP_LINE.subscription,
      "--from <iso> --to <iso>  only the days in [from, to) (the running total still counts every day)",
      HELP_LINE.environment,
      HELP_LINE.capability,
      HELP_LINE.cluster,
    ],
    subscription: true,
    prepare: (values) => ({ filter: filterOf(values), keep: localWindow(values) }),
    run: async (client, input, { lib, subscription }) =>
      lib.costToDate(await client.dailyCost(subscription, input.filter)).filter(input.keep),
    text: costText,
  },
  usage: {
    summary: "daily usage of a subscription per capability",
    about: "The readable output sums the usage per capability; --json prints every record.",
    options: pick("subscription", "from", "to", "environment", "capability", "cluster"),
    help: [
      HELP_LINE.subscription,
      "--from <iso> --to <iso>  only the days in [from, to)",
      HELP_LINE.environment,
      HELP_LINE.capability,
      HELP_LINE.cluster,
    ],
    subscription: true,
    prepare: (values) => ({ filter: filterOf(values), keep: localWindow(values) }),
    run: async (client, input, { subscription }) => (await client.subscriptionUsage(subscription, input.filter)).filter(input.keep),
    text: usageText,
  },
  "env-cost": {
    summary: "cost per environment, capability and day (v3, every page)",
    about: "--json prints [{environmentId, clusterId, records}].",
    options: pick("subscription", "from", "to", "now", "environment", "capability", "cluster", "page-size"),
    help: [
      HELP_LINE.subscription,
      "--from <iso> --to <iso>  window (default: the 35 days ending today 00:00Z)",
      "--now <iso>              what \"today\" is (default: now)",
      HELP_LINE.environment,
      HELP_LINE.capability,
      HELP_LINE.cluster,
      "--page-size <n>          records per page, 1..50 (default 50)",
    ],
    subscription: true,
    prepare: (values) => envPrepare(values),
    run: (client, input, { subscription }) => client.environmentCost(subscription, input.query),
    text: envText("cost"),
  },
  "env-usage": {
    summary: "usage per environment, capability and day (v3, every page)",
    about: "--json prints [{environmentId, clusterId, records}].",
    options: pick("subscription", "from", "to", "now", "environment", "capability", "cluster", "page-size"),
    help: [
      HELP_LINE.subscription,
      "--from <iso> --to <iso>  window (default: the 35 days ending today 00:00Z)",
      "--now <iso>              what \"today\" is (default: now)",
      HELP_LINE.environment,
      HELP_LINE.capability,
      HELP_LINE.cluster,
      "--page-size <n>          records per page, 1..50 (default 50)",
    ],
    subscription: true,
    prepare: (values) => envPrepare(values),
    run: (client, input, { subscription }) => client.environmentUsage(subscription, input.query),
    text: envText("usage"),
  },
  forecast: {
    summary: "Dynatrace's cost forecast for the active subscription",
    options: {},
    help: [],
    run: (client) => client.forecast(),
    text: forecastText,
  },
  events: {
    summary: "cost, forecast and budget events",
    options: pick("from", "to", "event-type"),
    help: ["--from <iso> --to <iso>  only events in [from, to)", "--event-type <type>      cost, forecast or budget"],
    prepare: (values) => {
      const q = {};
      const from = instantFlag(values, "from");
      const to = instantFlag(values, "to");
      if (from !== undefined && to !== undefined && to <= from) throw new UsageError("--to must be after --from");
      if (from !== undefined) q.startTime = iso(from);
      if (to !== undefined) q.endTime = iso(to);
      const t = values["event-type"];
      if (t !== undefined) {
        if (!["cost", "forecast", "budget"].includes(t)) throw new UsageError(`--event-type must be cost, forecast or budget, got ${JSON.stringify(t)}`);
        q.eventType = t;
      }
      return { query: q };
    },
    run: (client, input) => client.events(input.query),
    text: eventsText,
  },
  "rate-cards": {
    summary: "the account's rate cards (prices are exact decimal strings)",
    options: {},
    help: [],
    run: (client) => client.rateCards(),
    text: rateCardsText,
  },
  "cost-allocation": {
    summary: "cost of one environment per cost center or product (every page)",
    about: "The readable output sums the cost per key ((unallocated) = key null); --json prints every record.",
    options: pick("subscription", "environment", "field", "from", "to", "page-size"),
    help: [
      HELP_LINE.subscription,
      "--environment <id>       the environment (required, exactly one)",
      "--field <f>              costcenter (default) or product",
      "--from <date> --to <date>  days YYYY-MM-DD, both inclusive (default: the API's)",
      "--page-size <n>          records per page (default: the API's)",
    ],
    subscription: true,
    prepare: (values) => {
      const envs = listFlag(values, "environment");
      if (!envs || envs.length !== 1) throw new UsageError("cost-allocation needs exactly one --environment <id>");
      const raw = (values.field ?? "costcenter").toLowerCase();
      const field = ALLOCATION_FIELDS[raw];
      if (!field) throw new UsageError(`--field must be costcenter or product, got ${JSON.stringify(values.field)}`);
      const query = { field, environmentId: envs[0] };
      const from = dateFlag(values, "from");
      const to = dateFlag(values, "to");
      if (from && to && to < from) throw new UsageError("--to must not be before --from");
      if (from) query.from = from;
      if (to) query.to = to;
      const pageSize = intFlag(values, "page-size", { min: 1, max: 10_000 });
      if (pageSize !== undefined) query.pageSize = pageSize;
      return { query };
    },
    run: (client, input, { subscription }) => client.costAllocation(subscription, input.query),
    text: allocationText,
  },
  allocate: {
    summary: "split per-environment cost with Datadog custom allocation rules (exact micro-units)",
    about:
      "Rules: --rules <file> (a Datadog list/single-rule response, an upsert request or an array of rules),\n" +
      "or read from Datadog with DD_API_KEY + DD_APP_KEY (site: --datadog-site or DD_SITE, e.g. datadoghq.eu).\n" +
      "--json prints the whole allocation result: every line with its audit tags, per-rule summaries, totals.",
    options: pick("subscription", "from", "to", "now", "environment", "capability", "cluster", "rules", "breakdown", "tag", "datadog-site"),
    help: [
      HELP_LINE.subscription,
      "--from <iso> --to <iso>  window (default: the 35 days ending today 00:00Z)",
      "--rules <file>           Datadog custom allocation rules as JSON",
      "--datadog-site <site>    Datadog site for DD_API_KEY/DD_APP_KEY [DD_SITE]",
      "--breakdown <field>      costcenter or product: tag the lines from the cost-allocation API",
      "--tag <env>:<key>=<v>    an extra tag on an environment's lines (repeatable), e.g. abc12345:team=shop",
      HELP_LINE.environment,
      HELP_LINE.capability,
    ],
    subscription: true,
    prepareWithEnv: allocatePrepare,
    run: async (client, input, { lib, subscription, account }) => {
      const environments = await client.environmentCost(subscription, input.query);
      let breakdown;
      if (input.breakdown) {
        const day = (iso) => iso.slice(0, 10);
        const to = new Date(Date.parse(input.query.endTime) - DAY_MS).toISOString();
        breakdown = { field: input.breakdown, environments: [] };
        for (const e of environments) {
          const records = await client.costAllocation(subscription, { field: input.breakdown, environmentId: e.environmentId, from: day(input.query.startTime), to: day(to) });
          breakdown.environments.push({ environmentId: e.environmentId, records });
        }
      }
      const rules = input.rules ?? (await lib.datadogRules(input.datadog));
      const lines = lib.costLines({ accountUuid: account, subscriptionUuid: subscription, environments, environmentTags: input.environmentTags, ...(breakdown ? { breakdown } : {}) });
      return lib.allocate({ lines, rules });
    },
    text: allocateText,
  },
  environments: {
    summary: "the account's environments (scope account-env-read)",
    options: {},
    help: [],
    run: (client) => client.environments(),
    text: environmentsText,
  },
};

// Allocation: `dps-cost allocate (--rules FILE | DD_API_KEY + DD_APP_KEY) [window, filters]`.
function allocatePrepare(values, env) {
  const { query } = envPrepare(values);
  let breakdown;
  if (values.breakdown !== undefined) {
    breakdown = { costcenter: "COSTCENTER", product: "PRODUCT" }[values.breakdown.toLowerCase()];
    if (!breakdown) throw new UsageError(`--breakdown must be costcenter or product, got ${JSON.stringify(values.breakdown)}`);
  }
  const environmentTags = {};
  for (const t of values.tag ?? []) {
    const m = /^([^:=]+):([^=]+)=(.*)$/.exec(t);
    if (!m) throw new UsageError(`--tag must be <environment>:<key>=<value>, got ${JSON.stringify(t)}`);
    (environmentTags[m[1]] ??= {})[m[2]] = m[3];
  }
  let rules;
  let datadog;
  if (values.rules !== undefined) {
    let text;
    try {
      text = readFileSync(values.rules, "utf8");
    } catch (e) {
      throw new UsageError(`--rules: cannot read ${values.rules}: ${e.code ?? e.message}`);
    }
    try {
      rules = JSON.parse(text);
    } catch (e) {
      throw new UsageError(`--rules: ${values.rules} is not JSON: ${e.message}`);
    }
  } else {
    const apiKey = env.DD_API_KEY;
    const applicationKey = env.DD_APP_KEY ?? env.DD_APPLICATION_KEY;
    if (!apiKey || !applicationKey) {
      throw new UsageError("give --rules <file> (Datadog's rule JSON) or DD_API_KEY and DD_APP_KEY to read the rules from Datadog");
    }
    datadog = { apiKey, applicationKey };
    if (env.DD_API_URL) datadog.baseUrl = env.DD_API_URL;
    else if (values["datadog-site"] ?? env.DD_SITE) datadog.site = values["datadog-site"] ?? env.DD_SITE;
  }
  return { query, breakdown, environmentTags, rules, datadog };
}

function allocateText(r) {
  const rows = r.rules.map((x) => {
    const c = Object.values(x.costs ?? {});
    const sum = (k) => c.reduce((n, v) => n + Number(v[k] ?? 0), 0) / 1e6;
    return [x.ruleName, x.method, x.enabled ? String(x.linesMatched) : "disabled", money(sum("allocatedMicros")), money(sum("unallocatedMicros"))];
  });
  const columns = [
    { title: "rule" },
    { title: "method" },
    { title: "lines", align: "right" },
    { title: "allocated", align: "right" },
    { title: "unallocated", align: "right" },
  ];
  const lines = [table(columns, rows).trimEnd()];
  for (const [cur, t] of Object.entries(r.totals)) {
    lines.push(`total ${cur}: in ${money(Number(t.inputMicros) / 1e6)}, out ${money(Number(t.outputMicros) / 1e6)}${t.inputMicros === t.outputMicros ? " (conserved)" : " (MISMATCH)"}`);
  }
  return `${lines.join("\n")}\n`;
}

function envPrepare(values) {
  const query = { ...envWindow(values), ...filterOf(values) };
  const pageSize = intFlag(values, "page-size", { min: 1, max: 50 });
  if (pageSize !== undefined) query.pageSize = pageSize;
  return { query };
}

// Allow lists: `dps-cost costcenters|products list|add|replace|delete [keys…]`.
const LIST_ACTIONS = {
  list: { min: 0, max: 0, run: (client, list) => client.listKeys(list) },
  add: { min: 1, max: Infinity, run: (client, list, keys) => client.addKeys(list, keys) },
  replace: { min: 1, max: Infinity, run: (client, list, keys) => client.replaceKeys(list, keys) },
  delete: { min: 1, max: 1, run: (client, list, keys) => client.deleteKey(list, keys[0]) },
};

function allowListCommand(list, noun) {
  return {
    summary: `${noun} allow list: list | add <key…> | replace <key…> | delete <key>`,
    args: "list | add <key>… | replace <key>… | delete <key>",
    about:
      `list prints the keys (one per line; --json: an array). add appends keys (scope account-uac-write;\n` +
      `duplicates and more than 250 values are refused before any request), replace sets the whole\n` +
      `list, delete removes one key. Put keys that start with "-" after "--".`,
    options: {},
    help: [],
    positionals: true,
    prepare: (_values, positionals) => {
      const [action, ...keys] = positionals;
      const a = LIST_ACTIONS[action];
      if (!a) throw new UsageError(`${list}: expected list, add, replace or delete${action === undefined ? "" : `, got ${JSON.stringify(action)}`}`);
      if (keys.length < a.min || keys.length > a.max) {
        throw new UsageError(
          a.max === 0 ? `${list} list takes no keys` : a.max === 1 ? `${list} ${action} takes exactly one key` : `${list} ${action} needs at least one key`,
        );
      }
      return { action, keys };
    },
    run: async (client, input) => {
      const r = await LIST_ACTIONS[input.action].run(client, list, input.keys);
      return input.action === "list" ? r : { list, action: input.action, keys: input.keys };
    },
    text: (r, input) => {
      if (input.action === "list") return r.length === 0 ? `the ${noun} list is empty\n` : `${r.join("\n")}\n`;
      const verb = { add: "added to", replace: "replaced the", delete: "deleted from" }[input.action];
      const n = `${input.keys.length} key${input.keys.length === 1 ? "" : "s"}`;
      return input.action === "replace" ? `${verb} ${noun} list with ${n}\n` : `${n} ${verb} the ${noun} list\n`;
    },
  };
}

COMMANDS.costcenters = allowListCommand("costcenters", "cost center");
COMMANDS.products = allowListCommand("products", "product");

// ---------------------------------------------------------------------------------------------
// Running a command.

export function commandHelp(name) {
  const c = COMMANDS[name];
  const lines = [`usage: dps-cost ${name}${c.args ? ` ${c.args}` : ""} [options]`, "", `${c.summary[0].toUpperCase()}${c.summary.slice(1)}.`];
  if (c.about) lines.push(c.about);
  if (c.help.length) lines.push("", "options:", ...c.help.map((l) => `  ${l}`));
  return `${lines.join("\n")}\n\n${CONNECTION_HELP}\nexit codes: 0 ok, 1 the request failed (the error code is printed on stderr), 2 usage error\n`;
}

/** Runs an Account Management command; resolves to the exit code. */
export async function runCommand(name, args, { stdout, stderr, env }) {
  const cmd = COMMANDS[name];
  const { values, positionals } = parse(args, { ...CONNECTION_OPTIONS, ...cmd.options }, { positionals: cmd.positionals });
  if (values.help) {
    stdout.write(commandHelp(name));
    return 0;
  }
  const input = cmd.prepareWithEnv ? cmd.prepareWithEnv(values, env) : cmd.prepare ? cmd.prepare(values, positionals) : {};
  const log = values.quiet ? () => {} : (line) => stderr.write(`${line}\n`);
  const options = clientOptions(values, env, (line) => stderr.write(`${line}\n`));
  const lib = await import("../node.js");
  options.fetch = progressFetch(log);
  log(`dps-cost ${lib.version()}: ${name} for account ${options.accountUuid}`);

  let client;
  try {
    client = new lib.DpsClient(options);
    let subscription;
    if (cmd.subscription) {
      subscription = flagOrEnv(values, "subscription", env, "DT_SUBSCRIPTION_UUID");
      if (!subscription) {
        const active = await client.activeSubscription();
        subscription = active.uuid;
        log(`active subscription: ${text(active.name)} (${active.uuid})`);
      }
    }
    const result = await cmd.run(client, input, { lib, subscription, log, account: options.accountUuid });
    stdout.write(values.json ? `${JSON.stringify(result ?? null, null, 2)}\n` : cmd.text(result, input));
    return 0;
  } catch (e) {
    stderr.write(`error: ${describeError(e)}\n`);
    // INVALID_INPUT: the library refused an option before sending anything — a usage error.
    return isDpsError(e) && e.code === "INVALID_INPUT" ? 2 : 1;
  } finally {
    client?.free();
  }
}
