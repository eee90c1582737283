// Human-readable rendering of a dps-cost SyncSummary (used by the CLI and `npm start`).
// Prints counts, totals and error codes only — a summary never holds secrets.

const money = (v) =>
  typeof v === "number" ? v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 }) : "–";
const pct = (v) => (typeof v === "number" ? `${v.toFixed(1)} %` : "–");
const text = (v) => (v === undefined || v === null || v === "" ? "–" : String(v));

/**
 * @param {any} summary a SyncSummary as returned by `sync`
 * @returns {string} several lines, ending with a newline
 */
export function formatSummary(summary) {
  const lines = [];
  for (const a of summary.accounts ?? []) {
    const title = a.name && a.name !== a.accountUuid ? `${a.name} (${a.accountUuid})` : text(a.accountUuid);
    lines.push(`${title}  ${a.ok ? "ok" : "FAILED"}`);
    if (a.error) {
      const status = a.error.status !== undefined && a.error.status !== null ? ` [HTTP ${a.error.status}]` : "";
      lines.push(`  error            ${text(a.error.code)}${status}: ${text(a.error.message)}`);
    }
    const s = a.subscription;
    if (s) {
      const cur = s.currency ? ` ${s.currency}` : "";
      lines.push(`  subscription     ${text(s.name)} (${text(s.uuid)})`);
      lines.push(`  period           ${text(s.periodStart)} … ${text(s.periodEnd)}`);
      lines.push(`  budget           ${money(s.budget)}${cur}`);
      lines.push(`  used             ${money(s.used)}${cur} (${pct(s.percentUsed)})`);
      lines.push(`  days remaining   ${text(s.daysRemaining)}`);
    }
    if (a.costDays !== undefined) {
      const span = a.firstDay ? ` (${a.firstDay} … ${text(a.lastDay)})` : "";
      lines.push(`  cost days        ${text(a.costDays)}${span}`);
      lines.push(`  cost to date     ${money(a.costToDate)}${s?.currency ? ` ${s.currency}` : ""}`);
    }
    const r = a.reconciliation;
    if (r) {
      lines.push(`  WARNING          budget.used ${money(r.used)} but the period's daily records sum to ${money(r.recordsSum)} (${r.firstDayCovered ? `from ${text(r.firstDayCovered)}` : "none"}): ${money(r.difference)} not in the records`);
    }
    const ev = a.events;
    if (ev) {
      lines.push(
        `  events           status ${ev.subscriptionStatus}, booked days ${ev.costBooked}, ` +
          `environment cost ${ev.environmentCost}, usage ${ev.environmentUsage}, forecast ${ev.forecast}, allocation ${ev.allocation}`,
      );
    }
    for (const f of a.errors ?? []) {
      const status = f.status !== undefined && f.status !== null ? ` [HTTP ${f.status}]` : "";
      lines.push(`  ${f.family} failed ${text(f.code)}${status}: ${text(f.message)}`);
    }
  }
  const e = summary.events ?? {};
  const rejected = Array.isArray(e.rejected) ? e.rejected : [];
  lines.push(
    `events${summary.dryRun ? " (dry run)" : ""}: built ${text(e.built)}, sent ${text(e.sent)}, ` +
      `accepted ${text(e.accepted)}, rejected ${rejected.length}` +
      (e.batches !== undefined ? `, batches ${e.batches}` : ""),
  );
  for (const r of rejected.slice(0, 10)) lines.push(`  rejected #${r.index} ${text(r.eventId)}: ${text(r.message)}`);
  const failed = Array.isArray(e.failed) ? e.failed : [];
  const notDelivered = failed.reduce((n, f) => n + (f.count || 0), 0);
  if (notDelivered) lines.push(`  not delivered ${notDelivered}: ${text(failed[0].code)} ${text(failed[0].message)}`);
  if (e.error) lines.push(`  events error ${text(e.error.code)}: ${text(e.error.message)}`);
  if (rejected.length > 10) lines.push(`  … ${rejected.length - 10} more rejected`);
  lines.push(summary.ok ? "result: ok" : "result: FAILED");
  return lines.join("\n") + "\n";
}
