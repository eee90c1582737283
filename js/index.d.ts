// dps-cost — public types: the wasm-bindgen declarations plus the error guard.
// The glue's default export (the async init) is not part of the public API: every entry
// (node, web, inline) has already initialised the module when its import resolves.
export * from "./dps_cost.js";

/** Stable error codes of dps-cost (new codes may be added; branch on the ones you handle). */
export type DpsCostErrorCode =
  | "INVALID_INPUT"
  | "DECODE"
  | "AUTH_INVALID_CLIENT"
  | "AUTH_FAILED"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "HTTP_STATUS"
  | "RATE_LIMITED"
  | "NETWORK"
  | "NO_ACTIVE_SUBSCRIPTION"
  | "INGEST_PARTIAL"
  | "INGEST_FAILED"
  | "DEADLINE"
  | "INTERNAL"
  | (string & {});

/** Every failure of dps-cost: a real `Error`. Its message never contains a secret or token. */
export interface DpsCostError extends Error {
  readonly name: "DpsCostError";
  /** Stable code to branch on. */
  readonly code: DpsCostErrorCode;
  /** HTTP status of the failed response, when there was one. */
  readonly status?: number;
  /** JSON path or option name the error is about, when there is one. */
  readonly field?: string;
}

/** True when `e` was thrown by dps-cost. */
export declare function isDpsCostError(e: unknown): e is DpsCostError;
