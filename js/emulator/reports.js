// Derived reports over the dataset: usage, per-environment (v3) records and pages, forecast,
// events, rate cards, management zones and the cost-allocation breakdown. Pure functions of the
// dataset; every record is computed from (account, environment, capability, day) on demand, so a
// page costs O(page size) whatever the size of the account.

import { createHash } from "node:crypto";
import { DAY_MS, dayTimestamp, dayToDate, formatInstant, hash32, hashContinue, mulberry32, rngFor } from "./data.js";

const HOUR_MS = 3_600_000;

export function regularSubscriptions(account) {
  return account.subscriptions.filter((s) => s.type === "REGULAR");
}

export function activeSubscription(account) {
  return account.subscriptions.find((s) => s.status === "ACTIVE" && s.type === "REGULAR") ?? null;
}

function round2(x) {
  return Math.round(x * 100) / 100;
}

function round6(x) {
  return Math.round(x * 1e6) / 1e6;
}

function money(account, x) {
  return `${account.currencyCode} ${x.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

// ---------------------------------------------------------------------------------------------
// v2 usage for the whole subscription.

/**
 * `GET …/usage` records: one per capability per day (summed over the environments), in
 * chronological order (day, then capability in catalogue order). `envIdx`/`capIdx`: index arrays.
 */
export function usageRecords(account, sub, envIdx, capIdx) {
  const last = Math.min(sub.endDay, account.lastDay);
  const style = account.timestampStyle;
  const out = [];
  for (let day = sub.startDay; day <= last; day++) {
    const startTime = dayTimestamp(day, style);
    const endTime = dayTimestamp(day + 1, style);
    for (const c of capIdx) {
      let sum = 0;
      if (sub.kind !== "trial") for (const e of envIdx) sum += account.usageAt(e, c, day);
      const cap = account.capabilityDefs[c];
      out.push({
        capabilityKey: cap.key,
        capabilityName: cap.name,
        startTime,
        endTime,
        value: account.round(sum),
        unitMeasure: cap.unit,
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Per-environment records (v3 pages, deprecated v2).

/**
 * The days of a subscription inside [startMs, endMs) (a day is in when its start is), clipped
 * to the data (up to yesterday). `{ first, last, nDays }`.
 */
export function windowDays(account, sub, startMs, endMs) {
  const first = Math.max(sub.startDay, Math.ceil(startMs / DAY_MS));
  const last = Math.min(sub.endDay, account.lastDay, Math.ceil(endMs / DAY_MS) - 1);
  return { first, last, nDays: Math.max(0, last - first + 1) };
}

/**
 * A flattened view of the per-environment records of a query: environment-major, then day,
 * then capability. `kind`: "cost" | "usage". Records are computed on demand by offset.
 */
export function environmentView(account, sub, kind, { envIdx, capIdx, first, nDays }) {
  const perEnv = nDays * capIdx.length;
  const total = envIdx.length * perEnv;
  const style = account.timestampStyle;
  const trial = sub.kind === "trial";

  function recordAt(o) {
    const ei = Math.floor(o / perEnv);
    const r = o - ei * perEnv;
    const di = Math.floor(r / capIdx.length);
    const c = capIdx[r - di * capIdx.length];
    const e = envIdx[ei];
    const day = first + di;
    const cap = account.capabilityDefs[c];
    const startTime = dayTimestamp(day, style);
    const endTime = dayTimestamp(day + 1, style);
    if (kind === "usage") {
      return {
        e,
        item: {
          capabilityKey: cap.key,
          capabilityName: cap.name,
          startTime,
          endTime,
          value: trial ? 0 : account.usageAt(e, c, day),
          unitMeasure: cap.unit,
        },
      };
    }
    return {
      e,
      item: {
        startTime,
        endTime,
        value: trial ? 0 : account.costAt(e, c, day),
        currencyCode: account.currencyCode,
        capabilityKey: cap.key,
        capabilityName: cap.name,
        bookingDate: startTime,
      },
    };
  }

  /** Records [from, to) grouped by environment (consecutive runs); `withCluster` adds clusterId. */
  function grouped(from, to, withCluster) {
    const data = [];
    let group = null;
    for (let o = from; o < to; o++) {
      const { e, item } = recordAt(o);
      const environmentId = account.environments[e].id;
      if (!group || group.environmentId !== environmentId) {
        group = withCluster ? { clusterId: null, environmentId, [kind]: [] } : { environmentId, [kind]: [] };
        data.push(group);
      }
      group[kind].push(item);
    }
    return data;
  }

  // The same records as JSON text, built by string concatenation (no per-record objects, one
  // timestamp string per day): what the v3 pages of the large profile are served with.
  const jsonDays = [];
  const capJson = new Map();
  const envJson = new Map();
  const currencyJson = JSON.stringify(account.currencyCode);
  function dayJson(di) {
    let d = jsonDays[di];
    if (d === undefined) {
      const day = first + di;
      const start = JSON.stringify(dayTimestamp(day, style));
      const end = JSON.stringify(dayTimestamp(day + 1, style));
      d = { day, start, end };
      jsonDays[di] = d;
    }
    return d;
  }
  function capFragment(c) {
    let f = capJson.get(c);
    if (f === undefined) {
      const cap = account.capabilityDefs[c];
      f = {
        names: `"capabilityKey":${JSON.stringify(cap.key)},"capabilityName":${JSON.stringify(cap.name)}`,
        unit: `,"unitMeasure":${JSON.stringify(cap.unit)}}`,
      };
      capJson.set(c, f);
    }
    return f;
  }
  function envFragment(e, withCluster) {
    const k = withCluster ? e : -1 - e;
    let f = envJson.get(k);
    if (f === undefined) {
      const id = JSON.stringify(account.environments[e].id);
      f = `{${withCluster ? '"clusterId":null,' : ""}"environmentId":${id},"${kind}":[`;
      envJson.set(k, f);
    }
    return f;
  }

  /** `JSON.stringify(grouped(from, to, withCluster))`, without building the objects. */
  function groupedJson(from, to, withCluster) {
    const nCap = capIdx.length;
    let out = "[";
    let lastE = -1;
    for (let o = from; o < to; o++) {
      const ei = Math.floor(o / perEnv);
      const r = o - ei * perEnv;
      const di = Math.floor(r / nCap);
      const c = capIdx[r - di * nCap];
      const e = envIdx[ei];
      if (ei !== lastE) {
        if (lastE !== -1) out += "]},";
        out += envFragment(e, withCluster);
        lastE = ei;
      } else {
        out += ",";
      }
      const d = dayJson(di);
      const f = capFragment(c);
      if (kind === "usage") {
        const value = trial ? 0 : account.usageAt(e, c, d.day);
        out += `{${f.names},"startTime":${d.start},"endTime":${d.end},"value":${value}${f.unit}`;
      } else {
        const value = trial ? 0 : account.costAt(e, c, d.day);
        out += `{"startTime":${d.start},"endTime":${d.end},"value":${value},"currencyCode":${currencyJson},${f.names},"bookingDate":${d.start}}`;
      }
    }
    if (lastE !== -1) out += "]}";
    return `${out}]`;
  }

  return { total, recordAt, grouped, groupedJson };
}

// ---------------------------------------------------------------------------------------------
// Forecast.

function trailingRate(account, sub, asOfDay) {
  // Average daily spend over the 28 days before `asOfDay` (within the subscription).
  const from = Math.max(sub.startDay, asOfDay - 28);
  const to = Math.min(sub.endDay, account.lastDay, asOfDay - 1);
  let sum = 0;
  let n = 0;
  for (let d = from; d <= to; d++) {
    sum += account.dailyTotalAt(d);
    n += 1;
  }
  return n > 0 ? sum / n : 0;
}

/**
 * `GET S/forecast` of the active REGULAR subscription (null when there is none): trailing-28-day
 * average run rate × the days left (today … commitment end), band ±8 % on the projected part.
 */
export function forecast(dataset, account) {
  const sub = activeSubscription(account);
  if (!sub) return null;
  const today = dataset.today;
  const used = sub.used;
  const budget = sub.total;
  const rate = trailingRate(account, sub, today);
  const remaining = Math.max(0, sub.endDay - today + 1);
  const projection = rate * remaining;
  const median = used + projection;

  let budgetDay = null;
  if (budget > 0) {
    if (used >= budget) {
      let cum = 0;
      for (let d = sub.startDay; d <= Math.min(sub.endDay, account.lastDay); d++) {
        cum += account.dailyTotalAt(d);
        if (cum >= budget) {
          budgetDay = d;
          break;
        }
      }
    } else if (rate > 0) {
      const day = today + Math.ceil((budget - used) / rate) - 1;
      if (day <= sub.endDay) budgetDay = day;
    }
  }
  return {
    forecastMedian: round2(median),
    forecastLower: round2(used + projection * 0.92),
    forecastUpper: round2(used + projection * 1.08),
    budget,
    forecastBudgetPct: budget > 0 ? round2((median / budget) * 100) : null,
    forecastBudgetDate: budgetDay === null ? null : dayToDate(budgetDay),
    forecastCreatedAt: createdAt(dataset, account, today),
  };
}

/** 06:00Z of `day` (when the daily booking run publishes), capped at `now`. */
function createdAt(dataset, account, day) {
  const ms = Math.min(day * DAY_MS + 6 * HOUR_MS, Math.floor(dataset.nowMs / 60_000) * 60_000);
  return formatInstant(ms, account.timestampStyle);
}

// ---------------------------------------------------------------------------------------------
// Events.

export const EVENT_TYPES = ["cost", "forecast", "budget"];
const SPIKE_LOOKBACK_DAYS = 90;
const eventCache = new WeakMap();

/**
 * Budget, cost and forecast events of an account (cached), sorted by date:
 *  - budget: the days each REGULAR subscription's cumulative spend crossed 50/75/90/100 %;
 *  - cost: generator spikes of an environment × capability in the last 90 days, compared with
 *    the average of the 7 days before;
 *  - forecast: the first day of the active term (after its first 28 days) the forecast as of
 *    that day exceeded 100 % and 110 % of the budget.
 * Events whose booking run (06:00Z the day after, for budget/cost) is after `now` are omitted.
 */
export function accountEvents(dataset, account) {
  const cached = eventCache.get(account);
  if (cached) return cached;
  const events = [];
  const style = account.timestampStyle;
  const bookedAt = (day) => (day + 1) * DAY_MS + 6 * HOUR_MS;
  const push = (ev, atMs) => {
    if (atMs > dataset.nowMs) return;
    events.push({ ...ev, createdAt: formatInstant(atMs, style) });
  };

  // Budget thresholds.
  for (const sub of regularSubscriptions(account)) {
    if (!(sub.total > 0)) continue;
    const thresholds = [
      [50, "INFO"],
      [75, "WARNING"],
      [90, "WARNING"],
      [100, "CRITICAL"],
    ];
    let ti = 0;
    let cum = 0;
    for (let d = sub.startDay; d <= Math.min(sub.endDay, account.lastDay) && ti < thresholds.length; d++) {
      cum += account.dailyTotalAt(d);
      while (ti < thresholds.length && cum >= (thresholds[ti][0] / 100) * sub.total) {
        const [pct, severity] = thresholds[ti];
        push(
          {
            environmentUuid: null,
            capability: null,
            date: dayToDate(d),
            severity,
            message: `Budget threshold of ${pct}% reached for '${sub.name}': ${money(account, cum)} of ${money(account, sub.total)} used (${round2((cum / sub.total) * 100)}%).`,
            eventType: "budget",
            notificationLevel: "ACCOUNT",
          },
          bookedAt(d),
        );
        ti += 1;
      }
    }
  }

  // Cost spikes.
  const detail = { spike: 1 };
  const from = Math.max(account.firstDay + 7, account.lastDay - SPIKE_LOOKBACK_DAYS + 1);
  for (let e = 0; e < account.environments.length; e++) {
    for (let c = 0; c < account.capabilityDefs.length; c++) {
      for (let d = from; d <= account.lastDay; d++) {
        const value = account.costDetailAt(e, c, d, detail);
        if (detail.spike === 1) continue;
        let before = 0;
        for (let k = 1; k <= 7; k++) before += account.costAt(e, c, d - k);
        before /= 7;
        const pct = before > 0 ? Math.round((value / before - 1) * 100) : 100;
        if (pct < 10) continue;
        const env = account.environments[e];
        const cap = account.capabilityDefs[c];
        push(
          {
            environmentUuid: env.id,
            capability: cap.key,
            date: dayToDate(d),
            severity: pct >= 60 ? "WARNING" : "INFO",
            message: `Cost spike: ${cap.name} in ${env.name} (${env.id}) cost ${money(account, value)} on ${dayToDate(d)}, ${pct}% above its 7-day average of ${money(account, before)}.`,
            eventType: "cost",
            notificationLevel: "ENVIRONMENT",
          },
          bookedAt(d),
        );
      }
    }
  }

  // Forecast over budget (first day > 100 % and > 110 %).
  const sub = activeSubscription(account);
  if (sub && sub.total > 0) {
    const start = sub.startDay + 28;
    let cum = 0;
    for (let d = sub.startDay; d < start; d++) cum += account.dailyTotalAt(d);
    const levels = [
      [100, "WARNING"],
      [110, "CRITICAL"],
    ];
    let li = 0;
    for (let d = start; d <= dataset.today && li < levels.length; d++) {
      const rate = trailingRate(account, sub, d);
      const median = cum + rate * Math.max(0, sub.endDay - d + 1);
      const pct = (median / sub.total) * 100;
      while (li < levels.length && pct > levels[li][0]) {
        push(
          {
            environmentUuid: null,
            capability: null,
            date: dayToDate(d),
            severity: levels[li][1],
            message: `Forecast exceeds ${levels[li][0]}% of the budget of '${sub.name}': ${money(account, median)} projected at the end of the commitment (${round2(pct)}% of ${money(account, sub.total)}).`,
            eventType: "forecast",
            notificationLevel: "ACCOUNT",
          },
          d * DAY_MS + 6 * HOUR_MS,
        );
        li += 1;
      }
      cum += account.dailyTotalAt(d);
    }
  }

  const typeOrder = { budget: 0, forecast: 1, cost: 2 };
  events.sort((x, y) => (x.date < y.date ? -1 : x.date > y.date ? 1 : typeOrder[x.eventType] - typeOrder[y.eventType]));
  // Field order as documented.
  const shaped = events.map((ev) => ({
    environmentUuid: ev.environmentUuid,
    capability: ev.capability,
    date: ev.date,
    createdAt: ev.createdAt,
    severity: ev.severity,
    message: ev.message,
    eventType: ev.eventType,
    notificationLevel: ev.notificationLevel,
  }));
  eventCache.set(account, shaped);
  return shaped;
}

// ---------------------------------------------------------------------------------------------
// Rate cards.

/** One rate card per REGULAR subscription (its term); prices are strings. */
export function rateCards(account) {
  return regularSubscriptions(account).map((sub) => {
    const startTime = dayToDate(sub.startDay);
    const endTime = dayToDate(sub.endDay);
    return {
      quoteNumber: `Q-${String(hash32(`quote|${sub.uuid}`) % 100_000_000).padStart(8, "0")}`,
      startTime,
      endTime,
      currencyCode: account.currencyCode,
      capabilities: account.capabilityDefs.map((c) => ({
        key: c.key,
        name: c.name,
        quotedPrice: c.quotedPrice,
        quotedUnitOfMeasure: c.unit,
        price: c.price,
        startTime,
        endTime,
        deploymentType: "SAAS",
      })),
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Management zones (environments v1).

const ZONE_NAMES = ["Web Shop", "Payments", "Kubernetes", "Databases", "Frontend", "Backend", "Mobile", "Batch jobs"];

export function managementZones(account) {
  const zones = [];
  for (const env of account.environments) {
    const rng = rngFor(`zones|${account.accountUuid}|${env.id}`);
    const n = 1 + Math.floor(rng() * 3);
    const names = [...ZONE_NAMES];
    for (let i = 0; i < n; i++) {
      const name = names.splice(Math.floor(rng() * names.length), 1)[0];
      const digest = createHash("sha256").update(`mz|${account.accountUuid}|${env.id}|${name}`).digest("hex");
      zones.push({ parent: env.id, name: `${env.name} - ${name}`, id: BigInt.asIntN(64, BigInt(`0x${digest.slice(0, 16)}`)).toString() });
    }
  }
  return zones;
}

// ---------------------------------------------------------------------------------------------
// Cost allocation.

export const ALLOCATION_FIELDS = { COSTCENTER: "costcenter", PRODUCT: "product" };

/**
 * The allocation plan of one environment for one field: 3–4 keys of the account's seeded allow
 * list with base weights, and the allocated fraction (the rest is unallocated, `key: null`).
 */
export function allocationPlan(account, envIndex, field) {
  const env = account.environments[envIndex];
  const pool = account.allowListSeeds[ALLOCATION_FIELDS[field]] ?? [];
  const rng = rngFor(`allocation|${account.accountUuid}|${env.id}|${field}`);
  const n = Math.min(pool.length, 3 + Math.floor(rng() * 2));
  const candidates = [...pool];
  const keys = [];
  const weights = [];
  for (let i = 0; i < n; i++) {
    keys.push(candidates.splice(Math.floor(rng() * candidates.length), 1)[0]);
    weights.push(0.4 + rng() * 1.6);
  }
  const allocated = 0.75 + rng() * 0.17;
  return { keys, weights, allocated, seed: hash32(`allocation-day|${account.accountUuid}|${env.id}|${field}|`) };
}

/** The shares of the plan's keys on one day (small daily jitter); their sum is < 1. */
function dayShares(plan, day) {
  const rng = mulberry32(hashContinue(plan.seed, String(day)));
  const w = plan.weights.map((x) => x * (1 + 0.1 * (2 * rng() - 1)));
  const total = w.reduce((a, b) => a + b, 0);
  const allocated = plan.allocated * (1 + 0.03 * (2 * rng() - 1));
  return w.map((x) => (allocated * x) / total);
}

/**
 * The days of a cost-allocation query: [fromDay, toDay] ∩ the subscription ∩ the report data,
 * which ends the day before yesterday (the last 24 h are missing).
 */
export function allocationWindow(dataset, account, sub, fromDay, toDay) {
  const first = Math.max(sub.startDay, account.firstDay, fromDay ?? -Infinity);
  const last = Math.min(sub.endDay, dataset.today - 2, toDay ?? Infinity);
  return { first, last, nDays: Math.max(0, last - first + 1) };
}

/**
 * Flattened allocation records (day, capability, then the plan's keys and null) computed on
 * demand. Allocated shares are rounded to 1e-6; the unallocated record takes the remainder, so
 * the records of a (day, capability) sum to the environment's cost (and usage) for it.
 */
export function allocationView(account, sub, envIndex, field, win) {
  const plan = allocationPlan(account, envIndex, field);
  const caps = account.capabilityDefs;
  const perCap = caps.map((c) => (c.allocated ? plan.keys.length + 1 : 1));
  const perDay = perCap.reduce((a, b) => a + b, 0);
  const total = win.nDays * perDay;
  const trial = sub.kind === "trial";

  function dayRecords(day) {
    const date = dayToDate(day);
    const shares = dayShares(plan, day);
    const out = [];
    caps.forEach((cap, c) => {
      const cost = trial ? 0 : account.costAt(envIndex, c, day);
      const usage = trial ? 0 : account.usageAt(envIndex, c, day);
      let costSum = 0;
      let usageSum = 0;
      if (cap.allocated) {
        plan.keys.forEach((key, i) => {
          const costs = round6(cost * shares[i]);
          const u = round6(usage * shares[i]);
          costSum += costs;
          usageSum += u;
          out.push({ date, capability: cap.key, key, costs, usage: u });
        });
      }
      out.push({
        date,
        capability: cap.key,
        key: null,
        costs: account.round(cost - costSum),
        usage: account.round(usage - usageSum),
      });
    });
    return out;
  }

  function slice(from, to) {
    const records = [];
    let di = Math.floor(from / perDay);
    let j = from - di * perDay;
    for (let o = from; o < to && di < win.nDays; di++, j = 0) {
      const recs = dayRecords(win.first + di);
      for (; j < recs.length && o < to; j++, o++) records.push(recs[j]);
    }
    return records;
  }

  return { total, perDay, plan, slice };
}
