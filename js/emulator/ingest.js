// Business events ingest: body validation, per-event checks, enrichment and the in-memory store.

import { randomUUID } from "node:crypto";

export const MAX_INGEST_BYTES = 5 * 1024 * 1024;
const MAX_AGE_MS = 24 * 3_600_000;

export const STORE_EVENTS_MODES = ["full", "ids"];

/**
 * The event store. `mode` "full" (default) keeps every enriched event; "ids" keeps only the
 * distinct `event.id`s (a Set) and counts per `event.type` — for huge volumes (the large
 * profile's 1.4 M events would otherwise cost ~1 GB of heap).
 */
export function createEventStore({ mode = "full" } = {}) {
  if (!STORE_EVENTS_MODES.includes(mode)) {
    throw new TypeError(`emulator: storeEvents must be one of ${STORE_EVENTS_MODES.join(", ")}, got ${JSON.stringify(mode)}`);
  }
  const store = {
    mode,
    events: [],
    /** "ids" mode: the distinct event.ids and the number of stored events per event.type. */
    ids: new Set(),
    /** "ids" mode: an order-independent digest of the distinct ids (two 32-bit sums of hashes). */
    idsDigest: [0, 0],
    types: new Map(),
    /** "ids" mode: per event.type and currency, the sum of `costMicros` over the distinct ids. */
    costMicros: new Map(),
    stats: { requests: 0, received: 0, stored: 0, droppedOld: 0, rejected: 0 },
    /** Test rule: events whose event.id or event.type is listed here are rejected (partial 400). */
    reject: { ids: new Set(), types: new Set() },
    clear() {
      store.events = [];
      store.ids = new Set();
      store.idsDigest = [0, 0];
      store.types = new Map();
      store.costMicros = new Map();
      store.stats = { requests: 0, received: 0, stored: 0, droppedOld: 0, rejected: 0 };
      store.reject = { ids: new Set(), types: new Set() };
    },
    /** How many distinct event.ids are stored (Grail appends; dashboards dedup by id). */
    distinctIds() {
      if (store.mode === "ids") return store.ids.size;
      return new Set(store.events.map((e) => e["event.id"])).size;
    },
  };
  return store;
}

/** Epoch number → ms, read by magnitude as Dynatrace does (s, ms, µs, ns). */
function epochToMs(n) {
  const a = Math.abs(n);
  if (a <= 1e11) return n * 1000;
  if (a <= 1e14) return n;
  if (a <= 1e17) return n / 1000;
  return n / 1e6;
}

/** Two independent 32-bit hashes of an id (FNV-1a and a multiplicative one), for the digest. */
function idHashes(id) {
  let a = 0x811c9dc5;
  let b = 0x9e3779b9;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x85ebca6b) ^ (b >>> 13);
  }
  return [a >>> 0, b >>> 0];
}

/** Parse an event `timestamp` to epoch ms, or null when it is unusable. */
export function parseEventTimestamp(value) {
  if (typeof value === "number") return Number.isFinite(value) ? epochToMs(value) : null;
  if (typeof value !== "string") return null;
  const s = value.trim();
  if (s === "") return null;
  if (/^-?\d+(\.\d+)?$/.test(s)) return epochToMs(Number(s));
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? null : ms;
}

function describe(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}

/**
 * Check the media type. Returns null when acceptable, else a message. Only `application/json`
 * (any parameters, e.g. `; charset=utf-8`) is supported by the emulator; CloudEvents media types
 * and everything else get 415.
 */
export function checkIngestContentType(contentType) {
  const mediaType = String(contentType ?? "").split(";")[0].trim().toLowerCase();
  if (mediaType === "application/json") return null;
  return `Unsupported content type '${mediaType || "(none)"}'. The emulator accepts application/json (one object or an array of objects).`;
}

/**
 * Ingest a parsed JSON body (one value or an array). Valid items are enriched and stored,
 * events older than ingest − 24 h are silently dropped, non-objects are reported.
 * Returns `{ status: 202 }` or `{ status: 400, body: { errors } }`.
 */
export function ingestParsed(store, parsed, ingestMs) {
  const items = Array.isArray(parsed) ? parsed : [parsed];
  const ingestIso = new Date(ingestMs).toISOString();
  const errors = [];
  store.stats.requests += 1;
  store.stats.received += items.length;
  items.forEach((item, index) => {
    if (item === null || typeof item !== "object" || Array.isArray(item)) {
      errors.push({
        id: null,
        index,
        message: `Invalid business event: expected a JSON object but got ${describe(item)}`,
        source: null,
      });
      store.stats.rejected += 1;
      return;
    }
    if (store.reject.ids.has(item["event.id"]) || store.reject.types.has(item["event.type"])) {
      errors.push({
        id: typeof item["event.id"] === "string" ? item["event.id"] : null,
        index,
        message: "Invalid business event: rejected by an emulator test rule (POST /__emulator/reject)",
        source: null,
      });
      store.stats.rejected += 1;
      return;
    }
    if (store.mode === "ids") {
      const ts = item.timestamp !== undefined && item.timestamp !== null ? parseEventTimestamp(item.timestamp) : null;
      if (ts !== null && ts < ingestMs - MAX_AGE_MS) {
        store.stats.droppedOld += 1;
        return;
      }
      const raw = item["event.id"];
      const id = raw === undefined || raw === null || raw === "" ? randomUUID() : String(raw);
      if (!store.ids.has(id)) {
        store.ids.add(id);
        const [h1, h2] = idHashes(id);
        store.idsDigest = [(store.idsDigest[0] + h1) >>> 0, (store.idsDigest[1] + h2) >>> 0];
        // Exact money checks without keeping the events (dps.cost.allocated carries costMicros).
        if (Number.isSafeInteger(item.costMicros) && typeof item.currency === "string") {
          const key = `${item["event.type"]}|${item.currency}`;
          store.costMicros.set(key, (store.costMicros.get(key) ?? 0n) + BigInt(item.costMicros));
        }
      }
      const type = item["event.type"] ?? null;
      store.types.set(type, (store.types.get(type) ?? 0) + 1);
      store.stats.stored += 1;
      return;
    }
    const event = {};
    for (const [key, value] of Object.entries(item)) {
      // Grail stores nested objects and arrays as JSON strings.
      event[key] = value !== null && typeof value === "object" ? JSON.stringify(value) : value;
    }
    const hasTimestamp = event.timestamp !== undefined && event.timestamp !== null;
    const ts = hasTimestamp ? parseEventTimestamp(event.timestamp) : null;
    if (ts === null) {
      event.timestamp = ingestIso;
    } else if (ts < ingestMs - MAX_AGE_MS) {
      store.stats.droppedOld += 1;
      return;
    }
    event["event.kind"] = "BIZ_EVENT";
    if (event["event.id"] === undefined || event["event.id"] === null || event["event.id"] === "") {
      event["event.id"] = randomUUID();
    }
    store.events.push(event);
    store.stats.stored += 1;
  });
  if (errors.length > 0) return { status: 400, body: { errors } };
  return { status: 202 };
}
