// Deterministic, realistic input for the cost pipeline benchmark: the reply of
// GET /sub/v2/accounts/{a}/subscriptions/{s}/cost as the API (and js/emulator/dps.js) sends it:
// `{"data":[{startTime, endTime, value, currencyCode, lastBookingDate}, …], "lastModifiedTime"}`,
// one record per day, in blocks of 31 days with the newest block first (the order the emulator
// serves, so every implementation really sorts), values with 15 significant digits like real data.

const DAY_MS = 86_400_000;
/** 2000-01-01: 1,000,000 days later is still a four-digit year (4737). */
const FIRST_DAY = Date.UTC(2000, 0, 1) / DAY_MS;

export const ACCOUNT_UUID = "c4f3c4f3-c4f3-c4f3-c4f3-c4f3c4f3c4f3";
export const ACCOUNT_NAME = "ACME Global";
export const NOW = "2026-01-15T08:30:00.000Z";
export const SUBSCRIPTION = Object.freeze({
  uuid: "5d0c8a7e-1b2f-4c3d-8e4f-a0b1c2d3e4f5",
  type: "REGULAR",
  subType: null,
  name: "ACME Global - Dynatrace Platform Subscription",
  status: "ACTIVE",
  startTime: "2025-09-26",
  endTime: "2026-09-25",
  account: { uuid: ACCOUNT_UUID },
  budget: { total: 1000000, used: 27328.8794184588, currencyCode: "USD" },
  currentPeriod: { startTime: "2025-09-26", endTime: "2026-09-25", daysRemaining: 253 },
  periods: [],
  capabilities: [{ key: "FULLSTACK_MONITORING", name: "Full-Stack Monitoring" }],
});

/** mulberry32: a small deterministic PRNG. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function stamp(day, style) {
  const iso = new Date(day * DAY_MS).toISOString();
  return style === "seconds" ? `${iso.slice(0, 19)}Z` : iso;
}

/**
 * The reply text for `n` days. `style`: "millis" (`…T00:00:00.000Z`) or "seconds" (`…T00:00:00Z`),
 * the two forms real data has.
 */
export function costReplyText(n, { style = "millis", seed = 42 } = {}) {
  const next = rng(seed);
  const blocks = [];
  for (let start = 0; start < n; start += 31) {
    const block = [];
    for (let i = start; i < Math.min(n, start + 31); i++) {
      const day = FIRST_DAY + i;
      const startTime = stamp(day, style);
      // A growing daily spend with noise, rounded like real data (15 significant digits).
      const value = Number(((1200 + i * 0.01) * (0.6 + 0.8 * next())).toPrecision(15));
      block.push({ startTime, endTime: stamp(day + 1, style), value, currencyCode: "USD", lastBookingDate: startTime });
    }
    blocks.push(block);
  }
  const data = blocks.reverse().flat();
  return JSON.stringify({ data, lastModifiedTime: stamp(FIRST_DAY + n, style) });
}
