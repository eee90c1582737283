// The DpsCostError guard. Every failure from dps-cost is a real Error with name "DpsCostError",
// a stable string `code`, `status` (HTTP status or undefined) and `field` (or undefined).

/**
 * @param {unknown} e
 * @returns {boolean} true when `e` is an error thrown by dps-cost
 */
export function isDpsCostError(e) {
  return e instanceof Error && e.name === "DpsCostError" && typeof /** @type {any} */ (e).code === "string";
}
