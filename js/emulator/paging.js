// Opaque page keys: standard base64 (with `+`, `/`, `=`: clients must percent-encode them) of a
// small JSON payload plus an HMAC, so a key cannot be forged or edited, and the server can check
// that it is used with the query it was issued for.

import { createHash, createHmac } from "node:crypto";

const BASE64_RE = /^[A-Za-z0-9+/]+={0,2}$/;

/** @param {string} secret */
export function createPageKeys(secret) {
  const mac = (text) => createHmac("sha256", secret).update(text).digest("base64").slice(0, 22);
  return {
    /** Encode a JSON-able payload as an opaque key. */
    encode(payload) {
      const p = JSON.stringify(payload);
      return Buffer.from(JSON.stringify({ p, m: mac(p) }), "utf8").toString("base64");
    },
    /** Decode a key; null when it is not one of ours (garbage, edited, truncated). */
    decode(raw) {
      if (typeof raw !== "string" || raw.length % 4 !== 0 || !BASE64_RE.test(raw)) return null;
      try {
        const outer = JSON.parse(Buffer.from(raw, "base64").toString("utf8"));
        if (!outer || typeof outer.p !== "string" || outer.m !== mac(outer.p)) return null;
        return JSON.parse(outer.p);
      } catch {
        return null;
      }
    },
  };
}

/** A short fingerprint of a normalised query (what a page key is bound to). */
export function fingerprint(parts) {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 16);
}
