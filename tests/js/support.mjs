// Test support for api/faults/cli tests: the emulator's control API (request log, faults), a tap
// on every access token the emulator issues, and a transcript of everything the library and the
// CLI produced, scanned for secrets at the end of each file.
import { inspect } from "node:util";

/** Fast retries: the fault matrix stays well under a minute. */
// timeoutMs is the one figure here a slow machine could reach without any fault: a fault-free
// reply must always come well within it (300 ms did not, once, on a 2-core machine at load 12:
// a timed-out attempt the cell did not expect). The "delay" faults wait timeoutMs + 200 ms.
export const FAST_RETRY = Object.freeze({ maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 50, budgetMs: 8_000, timeoutMs: 1_000 });

async function control(emu, method, what, body) {
  const res = await fetch(`${emu.url}/__emulator/${what}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${method} /__emulator/${what} → ${res.status}: ${await res.text()}`);
  return res.status === 204 ? null : res.json();
}

/** The emulator's request log (`GET /__emulator/requests`). */
export const requestLog = (emu) => control(emu, "GET", "requests");
export const clearRequestLog = (emu) => control(emu, "DELETE", "requests");
/** Adds one fault spec or an array of them. */
export const addFaults = (emu, spec) => control(emu, "POST", "faults", spec);
export const clearFaults = (emu) => control(emu, "DELETE", "faults");

/**
 * Taps the (in-process) emulator's token endpoint: every access token it issues, to whomever
 * (library calls, CLI processes, sync), goes to `tokens`; every request is listed in `requests`
 * as `{clientId, scope, status}` (never the secret).
 */
export function tapTokens(emu) {
  const tap = { tokens: new Set(), requests: [] };
  const store = emu.state.tokens;
  const issue = store.issue.bind(store);
  store.issue = (contentType, body) => {
    const r = issue(contentType, body);
    const form = new URLSearchParams(body);
    tap.requests.push({ clientId: form.get("client_id"), scope: form.get("scope"), status: r.status });
    if (r?.body?.access_token) tap.tokens.add(r.body.access_token);
    return r;
  };
  return tap;
}

/** Everything a test run produced, as text, with where it came from. */
export class Transcript {
  constructor() {
    this.items = [];
    this.counts = {};
  }

  #push(kind, where, text) {
    this.items.push({ kind, where, text });
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
  }

  /** A returned value: its JSON and its full inspection. */
  value(where, v) {
    let json;
    try {
      json = JSON.stringify(v);
    } catch {
      json = "";
    }
    this.#push("value", where, `${json}\n${inspect(v, { depth: null, showHidden: true, maxArrayLength: null, maxStringLength: null })}`);
    return v;
  }

  /** A thrown error: message, stack, every own property, JSON and inspection (cause included). */
  error(where, e) {
    const parts = [String(e?.message), String(e?.stack)];
    if (e !== null && typeof e === "object") {
      for (const k of Object.getOwnPropertyNames(e)) parts.push(`${k}=${String(e[k])}`);
      try {
        parts.push(JSON.stringify(e));
      } catch {
        /* cyclic */
      }
    }
    parts.push(inspect(e, { depth: null, showHidden: true }));
    this.#push("error", where, parts.join("\n"));
    return e;
  }

  /** Output of a CLI run. */
  cli(where, { stdout, stderr }) {
    this.#push("cli stdout", where, stdout);
    this.#push("cli stderr", where, stderr);
  }

  /** Captures console.* of this process (the library's own logging) until the returned stop(). */
  captureConsole() {
    const saved = {};
    for (const m of ["log", "info", "warn", "error", "debug", "trace"]) {
      saved[m] = console[m];
      console[m] = (...args) => {
        this.#push("console", m, args.map((a) => (typeof a === "string" ? a : inspect(a, { depth: null }))).join(" "));
        saved[m](...args);
      };
    }
    return () => Object.assign(console, saved);
  }

  /** Throws naming the first secret found (by a safe prefix); returns coverage numbers. */
  scan(secrets) {
    const list = [...new Set(secrets)].filter((s) => typeof s === "string" && s.length >= 8);
    let bytes = 0;
    for (const { kind, where, text } of this.items) {
      bytes += text.length;
      for (const s of list) {
        if (text.includes(s)) throw new Error(`${kind} of ${where} contains a secret (${s.slice(0, 12)}…)`);
      }
    }
    return { items: this.items.length, bytes, secrets: list.length, byKind: { ...this.counts } };
  }
}

/** Runs `fn`, recording its value or error; resolves `{ok, value}` or `{ok: false, error}`. */
export async function settle(transcript, where, fn) {
  try {
    return { ok: true, value: transcript.value(where, await fn()) };
  } catch (e) {
    return { ok: false, error: transcript.error(where, e) };
  }
}
