// Deterministic synthetic data for the dps-cost emulator: identities, subscriptions and daily
// costs. Everything here is a pure function of (`now`, `seed`, `profile`): two datasets built
// with the same inputs are identical. No Math.random.
//
// Costs are never materialised per (environment × capability × day): `account.costAt(e, c, day)`
// computes one value from a seeded PRNG on demand (the per-series hash prefix is cached), and
// only the per-day totals of the unfiltered account (one number per day) are cached lazily. This
// keeps the "large" profile (20 accounts × 50 environments × 40 capabilities × ~765 days) cheap.

import { createHash } from "node:crypto";

export const DAY_MS = 86_400_000;

/** The subscription span generated before "today" (the active subscription starts this many days ago). */
export const HISTORY_DAYS = 400;

// ---------------------------------------------------------------------------------------------
// Fixed identities (see the shared contract). Secrets are fake, fixed and derived from labels.

export function fakeHex64(label) {
  return createHash("sha256").update(`dps-cost-emulator:${label}`).digest("hex");
}

export const ACCOUNT_A_UUID = "3f7c2d1e-8a4b-4c6d-9e0f-1a2b3c4d5e6f";
export const ACCOUNT_B_UUID = "7b1e4f2a-3c5d-4e6f-8a9b-0c1d2e3f4a5b";

/** Scopes of account B's client (read only). */
export const CLIENT_SCOPES_ACCOUNT = ["account-uac-read", "account-env-read"];
/** Scopes of account A's client (and of the large profile's clients): read, allow-list writes, environments. */
export const CLIENT_SCOPES_ACCOUNT_RW = ["account-uac-read", "account-uac-write", "account-env-read"];
export const CLIENT_SCOPES_INGEST = ["storage:events:write"];

/** OAuth clients known to the SSO endpoint (default profile). */
export const CLIENTS = [
  {
    clientId: "dt0s02.EMUACCTA",
    clientSecret: `dt0s02.EMUACCTA.${fakeHex64("EMUACCTA")}`,
    accountUuid: ACCOUNT_A_UUID,
    scopes: CLIENT_SCOPES_ACCOUNT_RW,
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
 * subscription), yearly linear growth, weekend factor and noise amplitude; the rate card's unit,
 * quoted (list) price and booked price (strings, as the API sends them); `allocated: false` for
 * capabilities the cost-allocation report does not split (query and AppEngine costs are not
 * exported: they appear as unallocated only).
 *
 * Usage is derived from cost: usage = cost / price (so cost = usage × price to 15 digits).
 */
export const CAPABILITIES = [
  { key: "FULLSTACK_MONITORING", name: "Full-Stack Monitoring", base: 312.5, growth: 0.32, weekend: 0.68, noise: 0.04, unit: "GiB-hour", quotedPrice: "0.01", price: "0.0085", allocated: true },
  { key: "INFRASTRUCTURE_MONITORING", name: "Infrastructure Monitoring", base: 84.2, growth: 0.22, weekend: 0.7, noise: 0.05, unit: "host-hour", quotedPrice: "0.04", price: "0.034", allocated: true },
  { key: "LOG_MANAGEMENT_INGEST", name: "Log Management & Analytics - Ingest & Process", base: 138.9, growth: 0.55, weekend: 0.62, noise: 0.09, unit: "GiB", quotedPrice: "0.2", price: "0.17", allocated: true },
  { key: "LOG_MANAGEMENT_RETAIN", name: "Log Management & Analytics - Retain", base: 46.3, growth: 0.7, weekend: 0.66, noise: 0.03, unit: "GiB-day", quotedPrice: "0.0007", price: "0.0006", allocated: true },
  { key: "LOG_MANAGEMENT_QUERY", name: "Log Management & Analytics - Query", base: 29.7, growth: 0.48, weekend: 0.6, noise: 0.14, unit: "GiB scanned", quotedPrice: "0.0035", price: "0.0035", allocated: false },
  { key: "EVENTS_INGEST", name: "Events - Ingest & Process", base: 11.8, growth: 0.4, weekend: 0.64, noise: 0.1, unit: "GiB", quotedPrice: "0.2", price: "0.17", allocated: true },
  { key: "REAL_USER_MONITORING", name: "Real User Monitoring", base: 61.4, growth: 0.3, weekend: 0.61, noise: 0.07, unit: "session", quotedPrice: "0.00225", price: "0.0019", allocated: true },
  { key: "COMPUTE", name: "AppEngine Functions - Small", base: 3.9, growth: 0.9, weekend: 0.65, noise: 0.12, unit: "GiB-hour", quotedPrice: "0.08", price: "0.08", allocated: false },
];

const CAPABILITY_KEYS_A = CAPABILITIES.map((c) => c.key);
const CAPABILITY_KEYS_B = CAPABILITIES.map((c) => c.key);

/**
 * Account definitions. `timestampStyle` picks the cost timestamp format: "millis" →
 * `2024-10-22T00:00:00.000Z`, "seconds" → `2024-10-22T00:00:00Z` (real data has both).
 * `allowLists` seeds the cost-center / product allow lists (and the cost-allocation splits).
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
    allowLists: {
      costcenter: ["department-A", "department-B", "platform-team", "finance", "R&D"],
      product: ["Web Shop", "Mobile App", "Payments API", "Search"],
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
    allowLists: {
      costcenter: ["department-A", "sre-emea", "marketing", "Kundenservice München"],
      product: ["Web Shop", "Checkout EU", "Data Platform"],
    },
  },
];

/** The default profile: accounts A and B, the ingest client, the credential vault. */
export const DEFAULT_PROFILE = {
  name: "default",
  accounts: ACCOUNTS,
  capabilities: CAPABILITIES,
  clients: CLIENTS,
  credentialVault: CREDENTIAL_VAULT,
  ingestClientId: "dt0s02.EMUINGST",
};

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

const FNV_OFFSET = 0x811c9dc5;

/** FNV-1a 32-bit hash of a string. */
export function hash32(str) {
  return hashContinue(FNV_OFFSET, str);
}

/** Continue an FNV-1a hash: `hashContinue(hash32(a), b) === hash32(a + b)`. */
export function hashContinue(h, str) {
  for (let i = 0; i < str.length; i++) {
    h ^= str.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A seeded PRNG for a label (convenience for small deterministic choices). */
export function rngFor(label) {
  return mulberry32(hash32(label));
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

export function formatInstant(ms, style) {
  const iso = new Date(ms).toISOString();
  return style === "seconds" ? `${iso.slice(0, 19)}Z` : iso;
}

/** Round like real data: 15 significant digits (e.g. 27328.8794184588). */
export function roundLikeReal(x) {
  return Number(x.toPrecision(15));
}

const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

/**
 * 15 significant digits by arithmetic: ~10× faster than `roundLikeReal`, but not bit-identical
 * to it in every case (the large profile uses it; the default profile keeps its exact numbers).
 */
export function fastRound15(x) {
  if (x === 0 || !Number.isFinite(x)) return x;
  const p = 14 - Math.floor(Math.log10(x < 0 ? -x : x));
  if (p > 0 && p <= 22) {
    const s = POW10[p];
    return Math.round(x * s) / s;
  }
  if (p <= 0 && p >= -22) {
    const s = POW10[-p];
    return Math.round(x / s) * s;
  }
  return roundLikeReal(x);
}

/** 0 = Sunday … 6 = Saturday. Day 0 (1970-01-01) was a Thursday. */
export function weekday(day) {
  return (((day + 4) % 7) + 7) % 7;
}

// ---------------------------------------------------------------------------------------------
// The dataset.

/**
 * Build the dataset for a given `now`.
 * @param {{ now?: string|number|Date, seed?: string, profile?: object }} [options]
 *   `profile`: a profile definition (DEFAULT_PROFILE or the large one from large.js).
 */
export function createDataset(options = {}) {
  const nowMs = parseNow(options.now);
  const seed = options.seed ?? "dps-cost-emulator-v1";
  const profile = options.profile ?? DEFAULT_PROFILE;
  const today = dayNumber(nowMs);
  const yesterday = today - 1;
  const growthOrigin = today - HISTORY_DAYS; // active subscription start

  const capabilityByKey = new Map(profile.capabilities.map((c) => [c.key, c]));
  const accounts = profile.accounts.map((def) =>
    buildAccount(def, { seed, today, yesterday, growthOrigin, capabilityByKey, fastRounding: profile.fastRounding === true }),
  );
  const accountByUuid = new Map(accounts.map((a) => [a.accountUuid, a]));

  return {
    nowMs,
    seed,
    profile: profile.name,
    today,
    yesterday,
    accounts,
    account(uuid) {
      return accountByUuid.get(String(uuid).toLowerCase()) ?? null;
    },
  };
}

function buildAccount(def, { seed, today, yesterday, growthOrigin, capabilityByKey, fastRounding }) {
  const activeStart = today - HISTORY_DAYS;
  const activeEnd = addYears(activeStart, 2) - 1;
  const expiredEnd = activeStart - 1;
  const expiredStart = addYears(activeStart, -1);

  const subs = [];
  subs.push({ ...def.subscriptions.expired, kind: "expired", type: "REGULAR", status: "EXPIRED", startDay: expiredStart, endDay: expiredEnd });
  subs.push({ ...def.subscriptions.active, kind: "active", type: "REGULAR", status: "ACTIVE", startDay: activeStart, endDay: activeEnd });
  if (def.subscriptions.trial) {
    const trialStart = today - 20;
    subs.push({ ...def.subscriptions.trial, kind: "trial", type: "TRIAL", status: "ACTIVE", startDay: trialStart, endDay: trialStart + 29 });
  }

  // Costs exist per environment × capability for every day from the earliest subscription start
  // up to and including yesterday.
  const firstDay = Math.min(...subs.map((s) => s.startDay));
  const lastDay = yesterday;
  const capDefs = def.capabilityKeys.map((k) => capabilityByKey.get(k));
  const envDefs = def.environments;
  const nCap = capDefs.length;
  const capPrice = Float64Array.from(capDefs, (c) => Number(c.price));
  const round = fastRounding ? fastRound15 : roundLikeReal;

  const dayStrings = [];
  const dayString = (day) => dayStrings[day - firstDay] ?? (dayStrings[day - firstDay] = String(day));

  // FNV state after `${seed}|${account}|${env}|${cap}|` per series; the day digits are hashed on top.
  let prefixes = null;
  function seriesPrefixes() {
    if (prefixes === null) {
      prefixes = new Uint32Array(envDefs.length * nCap);
      const base = hash32(`${seed}|${def.accountUuid}|`);
      envDefs.forEach((env, e) => {
        const envHash = hashContinue(base, `${env.id}|`);
        capDefs.forEach((cap, c) => {
          prefixes[e * nCap + c] = hashContinue(envHash, `${cap.key}|`);
        });
      });
    }
    return prefixes;
  }

  const account = {
    accountUuid: def.accountUuid,
    name: def.name,
    currencyCode: def.currencyCode,
    timestampStyle: def.timestampStyle,
    clientId: def.clientId,
    environments: envDefs.map(({ id, name }) => ({ id, name })),
    capabilities: capDefs.map(({ key, name }) => ({ key, name })),
    capabilityDefs: capDefs,
    capPrice,
    round,
    allowListSeeds: def.allowLists ?? { costcenter: [], product: [] },
    firstDay,
    lastDay,
    growthOrigin,
    subscriptions: subs,
    envIndex: new Map(envDefs.map((e, i) => [e.id, i])),
    capIndex: new Map(capDefs.map((c, i) => [c.key, i])),

    /** Daily cost of environment `e` × capability `c` (indexes) on `day`; 0 outside the data. */
    costAt(e, c, day) {
      if (day < firstDay || day > lastDay) return 0;
      const h = hashContinue(seriesPrefixes()[e * nCap + c], dayString(day));
      return generate(h, capDefs[c], envDefs[e].scale, day, growthOrigin, null, round);
    },

    /** Like costAt, plus the spike factor (1 = no spike) in `out.spike`. */
    costDetailAt(e, c, day, out) {
      out.spike = 1;
      if (day < firstDay || day > lastDay) return 0;
      const h = hashContinue(seriesPrefixes()[e * nCap + c], dayString(day));
      return generate(h, capDefs[c], envDefs[e].scale, day, growthOrigin, out, round);
    },

    /** Daily usage of `e` × `c` on `day`: cost / price, 15 significant digits. */
    usageAt(e, c, day) {
      const cost = account.costAt(e, c, day);
      return cost === 0 ? 0 : round(cost / capPrice[c]);
    },
  };

  // Unfiltered daily totals (one number per day), computed on first use.
  let totals = null;
  account.dailyTotalAt = (day) => {
    if (day < firstDay || day > lastDay) return 0;
    if (totals === null) {
      totals = new Float64Array(lastDay - firstDay + 1);
      for (let d = firstDay; d <= lastDay; d++) {
        let sum = 0;
        for (let e = 0; e < envDefs.length; e++) {
          for (let c = 0; c < nCap; c++) sum += account.costAt(e, c, d);
        }
        totals[d - firstDay] = round(sum);
      }
    }
    return totals[day - firstDay];
  };

  // Budgets: used = exact sum of everything booked so far; total chosen so that the active
  // subscription is ~60 % used (and its growth makes the forecast overrun before the end), the
  // expired one ~97 % used, the trial has no commitment. Computed lazily (large profile).
  for (const sub of subs) {
    let budget = null;
    const compute = () => {
      if (budget === null) {
        let sum = 0;
        const last = Math.min(sub.endDay, lastDay);
        for (let day = sub.startDay; day <= last; day++) sum += sub.kind === "trial" ? 0 : account.dailyTotalAt(day);
        const used = sub.kind === "trial" ? 0 : round(sum);
        let total = 0;
        if (sub.kind === "active") total = Math.ceil(used / 0.6 / 10_000) * 10_000;
        else if (sub.kind === "expired") total = Math.ceil(used / 0.97 / 10_000) * 10_000;
        budget = { used, total };
      }
      return budget;
    };
    Object.defineProperty(sub, "used", { enumerable: false, get: () => compute().used });
    Object.defineProperty(sub, "total", { enumerable: false, get: () => compute().total });
  }
  return account;
}

/**
 * One daily cost value from the series hash `h`. Base × linear growth × weekend factor ×
 * seeded noise (× a rare spike), 15 significant digits. `out.spike` receives the spike factor.
 */
function generate(h, cap, scale, day, growthOrigin, out, round) {
  const t = (day - growthOrigin) / 365;
  const growth = Math.max(0.25, 1 + cap.growth * t);
  const wd = weekday(day);
  const season = wd === 0 || wd === 6 ? cap.weekend : 1;
  // mulberry32(h) inlined (same sequence as `mulberry32(h)`), no closure per value.
  let a = (h + 0x6d2b79f5) >>> 0;
  const noise = 1 + cap.noise * (2 * mulberryOut(a) - 1);
  a = (a + 0x6d2b79f5) >>> 0;
  // Rare incident spikes (about one day in 150 per series) make charts less boring.
  let spike = 1;
  if (mulberryOut(a) < 1 / 150) {
    a = (a + 0x6d2b79f5) >>> 0;
    spike = 1.35 + mulberryOut(a) * 0.5;
  }
  if (out) out.spike = spike;
  const v = cap.base * scale * growth * season * noise * spike;
  return round(v > 0 ? v : 0);
}

/** The output function of mulberry32 for the state `a`. */
function mulberryOut(a) {
  let t = a;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** Resolve environment ids / capability keys (null = all) to index arrays, in the given order. */
export function resolveIndexes(account, environmentIds, capabilityKeys) {
  const envIdx = environmentIds ? environmentIds.map((id) => account.envIndex.get(id)) : account.environments.map((_, i) => i);
  const capIdx = capabilityKeys ? capabilityKeys.map((k) => account.capIndex.get(k)) : account.capabilities.map((_, i) => i);
  return { envIdx, capIdx };
}

/**
 * Daily totals of a subscription from its start to min(end, yesterday), summed over the given
 * environment ids × capability keys (null = all). Returns `{ startDay, values: number[] }` in
 * chronological order.
 */
export function dailyTotals(account, sub, environmentIds, capabilityKeys) {
  const lastDay = Math.min(sub.endDay, account.lastDay);
  const values = [];
  const unfiltered = environmentIds === null && capabilityKeys === null;
  const { envIdx, capIdx } = resolveIndexes(account, environmentIds, capabilityKeys);
  for (let day = sub.startDay; day <= lastDay; day++) {
    if (sub.kind === "trial") {
      values.push(0);
      continue;
    }
    if (unfiltered) {
      values.push(account.dailyTotalAt(day));
      continue;
    }
    let sum = 0;
    for (const e of envIdx) {
      for (const c of capIdx) sum += account.costAt(e, c, day);
    }
    values.push(account.round(sum));
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
