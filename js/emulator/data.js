// Deterministic synthetic data for the dps-cost emulator: identities, subscriptions and daily
// costs. Everything here is a pure function of (`now`, `seed`): two datasets built with the same
// inputs are identical. No Math.random.

import { createHash } from "node:crypto";

export const DAY_MS = 86_400_000;

/** The subscription span generated before "today" (the active subscription starts this many days ago). */
export const HISTORY_DAYS = 400;

// ---------------------------------------------------------------------------------------------
// Fixed identities (see the shared contract). Secrets are fake, fixed and derived from labels.

function fakeHex64(label) {
  return createHash("sha256").update(`dps-cost-emulator:${label}`).digest("hex");
}

export const ACCOUNT_A_UUID = "3f7c2d1e-8a4b-4c6d-9e0f-1a2b3c4d5e6f";
export const ACCOUNT_B_UUID = "7b1e4f2a-3c5d-4e6f-8a9b-0c1d2e3f4a5b";

export const CLIENT_SCOPES_ACCOUNT = ["account-uac-read", "account-env-read"];
export const CLIENT_SCOPES_INGEST = ["storage:events:write"];

/** OAuth clients known to the SSO endpoint. */
export const CLIENTS = [
  {
    clientId: "dt0s02.EMUACCTA",
    clientSecret: `dt0s02.EMUACCTA.${fakeHex64("EMUACCTA")}`,
    accountUuid: ACCOUNT_A_UUID,
    scopes: CLIENT_SCOPES_ACCOUNT,
  },
  {
    clientId: "dt0s02.EMUACCTB",
    clientSecret: `dt0s02.EMUACCTB.${fakeHex64("EMUACCTB")}`,
    accountUuid: ACCOUNT_B_UUID,
    scopes: CLIENT_SCOPES_ACCOUNT,
  },
  {
    clientId: "dt0s02.EMUINGST",
    clientSecret: `dt0s02.EMUINGST.${fakeHex64("EMUINGST")}`,
    accountUuid: ACCOUNT_A_UUID,
    scopes: CLIENT_SCOPES_INGEST,
  },
];

/** Classic API token (`Api-Token` scheme) accepted by /api/v2/bizevents/ingest. */
export const API_TOKEN = `dt0c01.EMUAPITOKEN0000000000000.${fakeHex64("EMUAPITOKEN").toUpperCase()}`;

export const CREDENTIAL_VAULT = [
  { id: "CREDENTIALS_VAULT-A1B2C3D4E5F60001", clientId: "dt0s02.EMUACCTA", accountUuid: ACCOUNT_A_UUID },
  { id: "CREDENTIALS_VAULT-A1B2C3D4E5F60002", clientId: "dt0s02.EMUACCTB", accountUuid: ACCOUNT_B_UUID },
];

/**
 * Capability catalogue: base daily cost (at environment scale 1, at the start of the active
 * subscription), yearly linear growth, weekend factor and noise amplitude.
 */
export const CAPABILITIES = [
  { key: "FULLSTACK_MONITORING", name: "Full-Stack Monitoring", base: 312.5, growth: 0.32, weekend: 0.68, noise: 0.04 },
  { key: "INFRASTRUCTURE_MONITORING", name: "Infrastructure Monitoring", base: 84.2, growth: 0.22, weekend: 0.7, noise: 0.05 },
  { key: "LOG_MANAGEMENT_INGEST", name: "Log Management & Analytics - Ingest & Process", base: 138.9, growth: 0.55, weekend: 0.62, noise: 0.09 },
  { key: "LOG_MANAGEMENT_RETAIN", name: "Log Management & Analytics - Retain", base: 46.3, growth: 0.7, weekend: 0.66, noise: 0.03 },
  { key: "LOG_MANAGEMENT_QUERY", name: "Log Management & Analytics - Query", base: 29.7, growth: 0.48, weekend: 0.6, noise: 0.14 },
  { key: "EVENTS_INGEST", name: "Events - Ingest & Process", base: 11.8, growth: 0.4, weekend: 0.64, noise: 0.1 },
  { key: "REAL_USER_MONITORING", name: "Real User Monitoring", base: 61.4, growth: 0.3, weekend: 0.61, noise: 0.07 },
  { key: "COMPUTE", name: "AppEngine Functions - Small", base: 3.9, growth: 0.9, weekend: 0.65, noise: 0.12 },
];

const CAPABILITY_KEYS_A = CAPABILITIES.map((c) => c.key);
const CAPABILITY_KEYS_B = CAPABILITIES.map((c) => c.key);

/**
 * Account definitions. `timestampStyle` picks the cost timestamp format: "millis" →
 * `2024-10-22T00:00:00.000Z`, "seconds" → `2024-10-22T00:00:00Z` (real data has both).
 */
export const ACCOUNTS = [
  {
    accountUuid: ACCOUNT_A_UUID,
    name: "ACME Global",
    currencyCode: "USD",
    timestampStyle: "millis",
    clientId: "dt0s02.EMUACCTA",
    environments: [
      { id: "abc12345", name: "Production", scale: 1.0 },
      { id: "def67890", name: "Staging", scale: 0.22 },
    ],
    capabilityKeys: CAPABILITY_KEYS_A,
    subscriptions: {
      active: { uuid: "5d0c8a7e-1b2f-4c3d-8e4f-a0b1c2d3e4f5", name: "ACME Global - Dynatrace Platform Subscription" },
      expired: { uuid: "2a9e6b1c-7d3f-4a5b-9c6d-e7f8a9b0c1d2", name: "ACME Global - Dynatrace Platform Subscription (previous term)" },
      trial: { uuid: "9f8e7d6c-5b4a-4c3d-a2b1-0f1e2d3c4b5a", name: "ACME Global - AppEngine trial" },
    },
  },
  {
    accountUuid: ACCOUNT_B_UUID,
    name: "ACME Europe",
    currencyCode: "EUR",
    timestampStyle: "seconds",
    clientId: "dt0s02.EMUACCTB",
    environments: [{ id: "ghi13579", name: "Production EU", scale: 0.55 }],
    capabilityKeys: CAPABILITY_KEYS_B,
    subscriptions: {
      active: { uuid: "c4d5e6f7-a8b9-4c0d-9e1f-2a3b4c5d6e7f", name: "ACME Europe - Dynatrace Platform Subscription" },
      expired: { uuid: "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b", name: "ACME Europe - Dynatrace Platform Subscription (previous term)" },
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Seeded PRNG and hashing.

/** mulberry32: tiny, fast, good-enough 32-bit PRNG. Returns a function yielding floats in [0, 1). */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a 32-bit hash of a string. */
export function hash32(str) {
  let h = 0x811c9dc5;
  for (let i = 0; i < str.length; i++) {
    h ^= str.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Dates. A "day number" is the count of whole UTC days since 1970-01-01.

export function parseNow(now) {
  if (now === undefined || now === null) return Date.now();
  if (now instanceof Date) return now.getTime();
  if (typeof now === "number") {
    if (!Number.isFinite(now)) throw new TypeError("emulator: `now` must be a finite number of ms");
    return now;
  }
  const ms = Date.parse(String(now));
  if (Number.isNaN(ms)) throw new TypeError(`emulator: cannot parse now=${JSON.stringify(now)} as an ISO date`);
  return ms;
}

export function dayNumber(ms) {
  return Math.floor(ms / DAY_MS);
}

/** `YYYY-MM-DD` of a day number. */
export function dayToDate(day) {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** Day number of a `YYYY-MM-DD` string. */
export function dateToDay(date) {
  return Math.floor(Date.parse(`${date}T00:00:00Z`) / DAY_MS);
}

/** Calendar arithmetic: the same month/day `years` later (Feb 29 rolls to Mar 1). */
export function addYears(day, years) {
  const d = new Date(day * DAY_MS);
  return dayNumber(Date.UTC(d.getUTCFullYear() + years, d.getUTCMonth(), d.getUTCDate()));
}

/** Midnight timestamp of a day in the account's style. */
export function dayTimestamp(day, style) {
  const iso = new Date(day * DAY_MS).toISOString(); // ....T00:00:00.000Z
  return style === "seconds" ? `${iso.slice(0, 19)}Z` : iso;
}

function formatInstant(ms, style) {
  const iso = new Date(ms).toISOString();
  return style === "seconds" ? `${iso.slice(0, 19)}Z` : iso;
}

/** Round like real data: 15 significant digits (e.g. 27328.8794184588). */
export function roundLikeReal(x) {
  return Number(x.toPrecision(15));
}

/** 0 = Sunday … 6 = Saturday. Day 0 (1970-01-01) was a Thursday. */
export function weekday(day) {
  return (((day + 4) % 7) + 7) % 7;
}

// ---------------------------------------------------------------------------------------------
// The dataset.

/**
 * Build the dataset for a given `now`.
 * @param {{ now?: string|number|Date, seed?: string }} [options]
 */
export function createDataset(options = {}) {
  const nowMs = parseNow(options.now);
  const seed = options.seed ?? "dps-cost-emulator-v1";
  const today = dayNumber(nowMs);
  const yesterday = today - 1;
  const growthOrigin = today - HISTORY_DAYS; // active subscription start

  const capabilityByKey = new Map(CAPABILITIES.map((c) => [c.key, c]));

  const accounts = ACCOUNTS.map((def) => {
    const activeStart = today - HISTORY_DAYS;
    const activeEnd = addYears(activeStart, 2) - 1;
    const expiredEnd = activeStart - 1;
    const expiredStart = addYears(activeStart, -1);

    const subs = [];
    subs.push({
      ...def.subscriptions.expired,
      kind: "expired",
      type: "REGULAR",
      status: "EXPIRED",
      startDay: expiredStart,
      endDay: expiredEnd,
    });
    subs.push({
      ...def.subscriptions.active,
      kind: "active",
      type: "REGULAR",
      status: "ACTIVE",
      startDay: activeStart,
      endDay: activeEnd,
    });
    if (def.subscriptions.trial) {
      const trialStart = today - 20;
      subs.push({
        ...def.subscriptions.trial,
        kind: "trial",
        type: "TRIAL",
        status: "ACTIVE",
        startDay: trialStart,
        endDay: trialStart + 29,
      });
    }

    // Daily cost per environment × capability for every day from the earliest subscription
    // start up to and including yesterday.
    const firstDay = Math.min(...subs.map((s) => s.startDay));
    const nDays = Math.max(0, yesterday - firstDay + 1);
    const capabilities = def.capabilityKeys.map((k) => capabilityByKey.get(k));
    /** @type {Map<string, Map<string, Float64Array>>} env id → capability key → values */
    const costs = new Map();
    for (const env of def.environments) {
      const perCap = new Map();
      for (const cap of capabilities) {
        const values = new Float64Array(nDays);
        for (let i = 0; i < nDays; i++) {
          const day = firstDay + i;
          values[i] = dailyCost(seed, def, env, cap, day, growthOrigin);
        }
        perCap.set(cap.key, values);
      }
      costs.set(env.id, perCap);
    }

    const account = {
      accountUuid: def.accountUuid,
      name: def.name,
      currencyCode: def.currencyCode,
      timestampStyle: def.timestampStyle,
      clientId: def.clientId,
      environments: def.environments.map(({ id, name }) => ({ id, name })),
      capabilities: capabilities.map(({ key, name }) => ({ key, name })),
      firstDay,
      lastDay: yesterday,
      costs,
      subscriptions: subs,
    };

    // Budgets: used = exact sum of everything booked so far; total chosen so that the active
    // subscription is ~60 % used (and its growth makes the forecast overrun before the end),
    // the expired one ~97 % used, the trial has no commitment.
    for (const sub of subs) {
      const daily = dailyTotals(account, sub, null, null);
      let sum = 0;
      for (const v of daily.values) sum += v;
      sub.used = sub.kind === "trial" ? 0 : roundLikeReal(sum);
      if (sub.kind === "active") sub.total = Math.ceil(sub.used / 0.6 / 10_000) * 10_000;
      else if (sub.kind === "expired") sub.total = Math.ceil(sub.used / 0.97 / 10_000) * 10_000;
      else sub.total = 0;
    }
    return account;
  });

  const accountByUuid = new Map(accounts.map((a) => [a.accountUuid, a]));

  return {
    nowMs,
    seed,
    today,
    yesterday,
    accounts,
    account(uuid) {
      return accountByUuid.get(uuid) ?? null;
    },
  };
}

function dailyCost(seed, accountDef, env, cap, day, growthOrigin) {
  const rng = mulberry32(hash32(`${seed}|${accountDef.accountUuid}|${env.id}|${cap.key}|${day}`));
  const t = (day - growthOrigin) / 365;
  const growth = Math.max(0.25, 1 + cap.growth * t);
  const wd = weekday(day);
  const season = wd === 0 || wd === 6 ? cap.weekend : 1;
  const noise = 1 + cap.noise * (2 * rng() - 1);
  // Rare incident spikes (about one day in 150 per series) make charts less boring.
  const spike = rng() < 1 / 150 ? 1.35 + rng() * 0.5 : 1;
  const v = cap.base * env.scale * growth * season * noise * spike;
  return roundLikeReal(v > 0 ? v : 0);
}

/**
 * Daily totals of a subscription from its start to min(end, yesterday), summed over the given
 * environment ids × capability keys (null = all). Returns `{ startDay, values: number[] }` in
 * chronological order.
 */
export function dailyTotals(account, sub, environmentIds, capabilityKeys) {
  const lastDay = Math.min(sub.endDay, account.lastDay);
  const envIds = environmentIds ?? account.environments.map((e) => e.id);
  const capKeys = capabilityKeys ?? account.capabilities.map((c) => c.key);
  const values = [];
  for (let day = sub.startDay; day <= lastDay; day++) {
    if (sub.kind === "trial") {
      values.push(0);
      continue;
    }
    const i = day - account.firstDay;
    let sum = 0;
    for (const envId of envIds) {
      const perCap = account.costs.get(envId);
      for (const key of capKeys) sum += perCap.get(key)[i];
    }
    values.push(roundLikeReal(sum));
  }
  return { startDay: sub.startDay, values };
}

/**
 * Cost records (`GET …/cost` `data`) for a subscription, deliberately NOT in chronological order:
 * blocks of 31 days in reverse block order (each block ascending), so clients must sort.
 */
export function costRecords(account, sub, environmentIds, capabilityKeys) {
  const { startDay, values } = dailyTotals(account, sub, environmentIds, capabilityKeys);
  const style = account.timestampStyle;
  const records = values.map((value, i) => {
    const day = startDay + i;
    const startTime = dayTimestamp(day, style);
    return {
      startTime,
      endTime: dayTimestamp(day + 1, style),
      value,
      currencyCode: account.currencyCode,
      lastBookingDate: startTime,
    };
  });
  const blocks = [];
  for (let i = 0; i < records.length; i += 31) blocks.push(records.slice(i, i + 31));
  return blocks.reverse().flat();
}

/** `lastModifiedTime` of cost responses: today 06:00Z, or `now` if that is still in the future. */
export function lastModifiedTime(dataset, account) {
  const sixAm = dataset.today * DAY_MS + 6 * 3_600_000;
  const ms = Math.min(sixAm, Math.floor(dataset.nowMs / 60_000) * 60_000);
  return formatInstant(ms, account.timestampStyle);
}

export function subscriptionListItem(sub) {
  return {
    uuid: sub.uuid,
    type: sub.type,
    subType: null,
    name: sub.name,
    status: sub.status,
    startTime: dayToDate(sub.startDay),
    endTime: dayToDate(sub.endDay),
  };
}

export function subscriptionDetails(dataset, account, sub) {
  return {
    ...subscriptionListItem(sub),
    account: { uuid: account.accountUuid },
    budget: { total: sub.total, used: sub.used, currencyCode: account.currencyCode },
    currentPeriod: {
      startTime: dayToDate(sub.startDay),
      endTime: dayToDate(sub.endDay),
      daysRemaining: Math.max(0, sub.endDay - dataset.today),
    },
    periods: [],
    capabilities: account.capabilities.map(({ key, name }) => ({ key, name })),
  };
}
