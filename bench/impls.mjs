// The implementations of the pipeline raw /cost reply JSON text → sorted cost-to-date →
// bizevents JSON text that the benchmark compares. All produce the events of dps-cost's
// `buildBizevents` (src/events/bizevents.rs): `dps.subscription.status`, then one
// `dps.cost2.booked` per day in start-time order, with the deterministic `event.id`
// (src/events/event_id.rs), times normalised to `YYYY-MM-DDTHH:MM:SS.sssZ`, a missing `endTime`
// as start + 1 day, absent optional fields left out.

const PROVIDER = "dps4ma.ingester";
const TYPE_STATUS = "dps.subscription.status";
const TYPE_COST = "dps.cost2.booked";
const DAY_MS = 86_400_000;

// ---------------------------------------------------------------------------------------------
// event.id: FNV-1a 128 over the UTF-8 parts, each followed by 0x1f; version 8, RFC 4122 variant.
// The 128-bit state is 8 limbs of 16 bits (little-endian) in a plain array, so every step stays
// in exact small-integer arithmetic. prime = 2^88 + 0x13b, so h·prime = h·0x13b + (h << 88).

const OFFSET = [0xc58d, 0x6295, 0x2175, 0x62b8, 0x0142, 0x07bb, 0x272e, 0x6c62];
const HEX4 = Array.from({ length: 65536 }, (_, i) => i.toString(16).padStart(4, "0"));
const utf8 = new TextEncoder();

/** Continues the hash `h` (8 limbs, updated in place) over `bytes` (a Uint8Array or an ASCII string) and 0x1f. */
function fnv(h, bytes) {
  let h0 = h[0], h1 = h[1], h2 = h[2], h3 = h[3], h4 = h[4], h5 = h[5], h6 = h[6], h7 = h[7];
  const ascii = typeof bytes === "string";
  const n = bytes.length;
  for (let i = 0; i <= n; i++) {
    h0 ^= i === n ? 0x1f : ascii ? bytes.charCodeAt(i) : bytes[i];
    // h·0x13b + (h << 88): limbs 5-7 also get h0-h2 shifted up by 8 bits.
    let t = h0 * 0x13b;
    const n0 = t & 0xffff;
    t = h1 * 0x13b + (t >>> 16);
    const n1 = t & 0xffff;
    t = h2 * 0x13b + (t >>> 16);
    const n2 = t & 0xffff;
    t = h3 * 0x13b + (t >>> 16);
    const n3 = t & 0xffff;
    t = h4 * 0x13b + (t >>> 16);
    const n4 = t & 0xffff;
    t = h5 * 0x13b + (t >>> 16) + ((h0 << 8) & 0xffff);
    const n5 = t & 0xffff;
    t = h6 * 0x13b + (t >>> 16) + (((h1 << 8) & 0xffff) | (h0 >>> 8));
    const n6 = t & 0xffff;
    t = h7 * 0x13b + (t >>> 16) + (((h2 << 8) & 0xffff) | (h1 >>> 8));
    h7 = t & 0xffff;
    h0 = n0; h1 = n1; h2 = n2; h3 = n3; h4 = n4; h5 = n5; h6 = n6;
  }
  h[0] = h0; h[1] = h1; h[2] = h2; h[3] = h3; h[4] = h4; h[5] = h5; h[6] = h6; h[7] = h7;
}

function fnvPart(h, s) {
  let ascii = true;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) ascii = false;
  fnv(h, ascii ? s : utf8.encode(s));
}

function idOf(h) {
  const v4 = (h[4] & 0x0fff) | 0x8000; // version 8: bits 76-79, the top nibble of limb 4
  const v3 = (h[3] & 0x3fff) | 0x8000; // RFC 4122 variant: bits 62-63 = 10, the top of limb 3
  return `${HEX4[h[7]]}${HEX4[h[6]]}-${HEX4[h[5]]}-${HEX4[v4]}-${HEX4[v3]}-${HEX4[h[2]]}${HEX4[h[1]]}${HEX4[h[0]]}`;
}

/** The id of the parts (the natural key). */
export function eventId(parts) {
  const h = new Int32Array(OFFSET);
  for (const p of parts) fnvPart(h, p);
  return idOf(h);
}

/** A hash state after a shared prefix: `.id(day)` costs only the day's bytes. */
export function eventIdPrefix(parts) {
  const base = new Int32Array(OFFSET);
  for (const p of parts) fnvPart(base, p);
  const h = new Int32Array(8);
  return {
    /** `last`: a normalised timestamp (ASCII). */
    id(last) {
      h.set(base);
      fnv(h, last);
      return idOf(h);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Shared by the JS versions: the status event (once per run, not a hot path).

function statusEvent(sub, accountUuid, nowIso) {
  const day = new Date(Date.parse(nowIso)).toISOString().slice(0, 10);
  const account = sub.account?.uuid ?? accountUuid;
  const b = sub.budget ?? {};
  const p = sub.currentPeriod ?? {};
  return {
    "event.id": eventId([TYPE_STATUS, accountUuid, sub.uuid, day]),
    "event.type": TYPE_STATUS,
    "event.provider": PROVIDER,
    uuid: sub.uuid,
    account: JSON.stringify({ uuid: account }),
    "account.uuid": account,
    name: sub.name ?? undefined,
    budget: b.total ?? undefined,
    used: b.used ?? undefined,
    currency: b.currencyCode ? b.currencyCode : "USD",
    startTime: p.startTime ?? undefined,
    endTime: p.endTime ?? undefined,
    daysRemaining: p.daysRemaining ?? undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// 1. The seed's algorithm (seeds/003: requestDailyCosts + postProcessCosts +
//    createSubscriptionBizEvent/createCostBizEvent + JSON.stringify), with its bugs fixed: a
//    consistent comparator (equal times → 0, so the sort is stable), `account` flattened to the
//    JSON string Grail stores, the event.id, times normalised, a missing endTime filled in.
//    Still: `new Date()` twice per comparison, a float running sum, one object per event.

function normalizeTime(s) {
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? s : d.toISOString();
}

export function seedPipeline(text, { accountUuid, accountName, subscription, now }) {
  const costResponse = JSON.parse(text);
  if (costResponse.error || costResponse.data === undefined) throw new Error("no daily costs found");
  const cost = costResponse.data;
  cost.sort((a, b) => {
    const da = new Date(a.startTime);
    const db = new Date(b.startTime);
    return da > db ? 1 : da < db ? -1 : 0;
  });
  let cumulatedCosts = 0;
  for (const curCost of cost) {
    cumulatedCosts += curCost.value;
    curCost.costToDate = cumulatedCosts;
  }
  const events = [statusEvent(subscription, accountUuid, now)];
  for (const c of cost) {
    const startTime = normalizeTime(c.startTime);
    events.push({
      "event.id": eventId([TYPE_COST, accountUuid, subscription.uuid, startTime]),
      "event.type": TYPE_COST,
      "event.provider": PROVIDER,
      lastBookingDate: c.lastBookingDate == null ? undefined : normalizeTime(c.lastBookingDate),
      subscriptionUuid: subscription.uuid,
      accountUuid,
      accountName,
      startTime,
      endTime: c.endTime == null ? new Date(new Date(c.startTime).getTime() + DAY_MS).toISOString() : normalizeTime(c.endTime),
      value: c.value,
      costToDate: c.costToDate,
    });
  }
  return JSON.stringify(events);
}

// ---------------------------------------------------------------------------------------------
// 2. Tuned JavaScript: parse once, each timestamp read once into a numeric key (a hand-written
//    parser for the two forms the API sends, Date.parse otherwise), sort an index array by the
//    numeric keys, times already in the normalised form reused, the event.id hash of the shared
//    prefix computed once, one same-shape object per event and one JSON.stringify.
//    Money is summed in floats like every JS version (dps-cost sums exact decimals).

const D0 = 48;
function digits(s, at, n) {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i) - D0;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

function daysFromCivil(y, m, d) {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Epoch ms of `YYYY-MM-DDTHH:MM:SS(.sss)Z`; NaN for anything else (the caller falls back). */
function fastIsoMs(s) {
  const len = s.length;
  if ((len !== 24 && len !== 20) || s.charCodeAt(len - 1) !== 90 /* Z */ || s.charCodeAt(10) !== 84 /* T */) return NaN;
  const y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2);
  const h = digits(s, 11, 2), mi = digits(s, 14, 2), se = digits(s, 17, 2);
  const ms = len === 24 ? digits(s, 20, 3) : 0;
  if ((y | mo | d | h | mi | se | ms) < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59) return NaN;
  if (len === 24 && s.charCodeAt(19) !== 46) return NaN;
  // Day-of-month overflow (Feb 30) is what Date.parse rejects: let it decide.
  if (d > 28) return Date.parse(s);
  return daysFromCivil(y, mo, d) * DAY_MS + ((h * 60 + mi) * 60 + se) * 1000 + ms;
}

function timeMs(s) {
  const v = fastIsoMs(s);
  return Number.isNaN(v) ? Date.parse(s) : v;
}

/** The normalised form of a time text whose ms `t` is known (NaN: not a time, kept). */
function normalized(s, t) {
  if (Number.isNaN(t)) return s;
  if (s.length === 24 && s.charCodeAt(19) === 46 && s.charCodeAt(23) === 90) return s;
  if (s.length === 20 && s.charCodeAt(19) === 90) return `${s.slice(0, 19)}.000Z`;
  return new Date(t).toISOString();
}

export function tunedPipeline(text, { accountUuid, accountName, subscription, now }) {
  const data = JSON.parse(text).data;
  if (!Array.isArray(data)) throw new Error("no daily costs found");
  const n = data.length;
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const k = timeMs(data[i].startTime);
    if (Number.isNaN(k)) throw new Error(`data[${i}].startTime is not a timestamp`);
    keys[i] = k;
  }
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => keys[a] - keys[b] || a - b);

  const subscriptionUuid = subscription.uuid;
  const ids = eventIdPrefix([TYPE_COST, accountUuid, subscriptionUuid]);
  // One object shape for every event; JSON.stringify (V8's fast path for same-shape objects and
  // its C++ number printing) beats building the text in JS (measured: ~4× faster than template
  // literals + join, ~2.5× faster than += concatenation).
  const events = new Array(n + 1);
  events[0] = statusEvent(subscription, accountUuid, now);
  let sum = 0;
  for (let j = 0; j < n; j++) {
    const i = order[j];
    const r = data[i];
    const t = keys[i];
    sum += r.value;
    const startTime = normalized(r.startTime, t);
    const lbd = r.lastBookingDate;
    events[j + 1] = {
      "event.id": ids.id(startTime),
      "event.type": TYPE_COST,
      "event.provider": PROVIDER,
      lastBookingDate: lbd == null ? undefined : normalized(lbd, timeMs(lbd)),
      subscriptionUuid,
      accountUuid,
      accountName,
      startTime,
      endTime: r.endTime == null ? new Date(t + DAY_MS).toISOString() : normalized(r.endTime, timeMs(r.endTime)),
      value: r.value,
      costToDate: sum,
    };
  }
  return JSON.stringify(events);
}

// ---------------------------------------------------------------------------------------------
// 3. dps-cost through its public JS API (text in, text out).

export function dpsCostPipeline(pkg) {
  return (text, opts) => pkg.costEventsFromJson(text, opts);
}

// 4. The practical limit: parse and print the records, nothing else.
export function barePipeline(text) {
  return JSON.stringify(JSON.parse(text).data);
}

// ---------------------------------------------------------------------------------------------
// Equivalence: same events, same order, same fields and values; costToDate within a micro-unit
// (the JS versions sum floats, dps-cost sums exact decimals).

export function compareEvents(name, want, got) {
  const a = JSON.parse(want);
  const b = JSON.parse(got);
  if (a.length !== b.length) throw new Error(`${name}: ${b.length} events, want ${a.length}`);
  let maxDrift = 0;
  for (let i = 0; i < a.length; i++) {
    const ka = Object.keys(a[i]);
    const kb = Object.keys(b[i]);
    if (ka.join() !== kb.join()) throw new Error(`${name}: event ${i} fields ${kb.join()} want ${ka.join()}`);
    for (const k of ka) {
      if (k === "costToDate") {
        const d = Math.abs(a[i][k] - b[i][k]);
        maxDrift = Math.max(maxDrift, d);
        if (!(d < 1e-6)) throw new Error(`${name}: event ${i} costToDate ${b[i][k]} want ${a[i][k]} (off by ${d})`);
      } else if (a[i][k] !== b[i][k]) {
        throw new Error(`${name}: event ${i} ${k} = ${JSON.stringify(b[i][k])}, want ${JSON.stringify(a[i][k])}`);
      }
    }
  }
  return { events: a.length, maxDrift };
}
