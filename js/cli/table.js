// Plain-text tables and number formats for the command line's readable output.

const isNum = (v) => typeof v === "number" && Number.isFinite(v);

/** `1,234.57` (2 decimals), or `–`. */
export const money = (v) =>
  isNum(v) ? v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 }) : "–";

/** Up to `digits` decimals with thousands separators, or `–`. */
export const num = (v, digits = 2) => (isNum(v) ? v.toLocaleString("en-US", { maximumFractionDigits: digits }) : "–");

export const pct = (v) => (isNum(v) ? `${v.toFixed(1)} %` : "–");

export const text = (v) => (v === undefined || v === null || v === "" ? "–" : String(v));

/** The `YYYY-MM-DD` of an ISO timestamp (or the text as it is). */
export const day = (v) => (typeof v === "string" && /^\d{4}-\d{2}-\d{2}/.test(v) ? v.slice(0, 10) : text(v));

/** Control characters (a hostile key or message) are shown escaped, never sent to the terminal. */
const clean = (s) => String(s).replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

/**
 * A table: `columns` = [{title, align?: "left"|"right"}], `rows` = arrays of cell strings.
 * Returns lines joined with newlines, ending with one.
 */
export function table(columns, rows) {
  const cells = rows.map((r) => r.map((c) => clean(text(c))));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((r) => r[i].length)));
  const line = (r) =>
    r
      .map((c, i) => (columns[i].align === "right" ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  const out = [line(columns.map((c) => c.title)), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)];
  return `${out.join("\n")}\n`;
}

/** `label  value` lines with aligned values. */
export function fields(pairs) {
  const w = Math.max(...pairs.map(([k]) => k.length));
  return `${pairs.map(([k, v]) => `${k.padEnd(w)}  ${clean(text(v))}`).join("\n")}\n`;
}

/** Sums `value(x)` per `key(x)`, keeping first-seen order. */
export function sumBy(items, key, value) {
  const m = new Map();
  for (const x of items) {
    const k = key(x);
    m.set(k, (m.get(k) ?? 0) + value(x));
  }
  return m;
}
