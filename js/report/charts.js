// The charts of the dps-cost HTML report, drawn with Chart.js. The same code runs inside the
// self-contained report page (render.js inlines this file as a module script) and in a web
// developer's page (`import { renderCharts } from "dps-cost/report"`).
//
// This file has no imports and touches the DOM only through createElement/textContent, so
// names from the data (accounts, capabilities, destinations) can never become markup.

/** The report data version this code draws. */
export const REPORT_SCHEMA_VERSION = 1;

/** Tableau 10: distinguishable, colour-blind tolerant, prints well. */
export const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

/** Colours of the burn-up chart. */
export const BURNUP_COLORS = {
  actual: "#1f4e79",
  median: "#e8710a",
  band: "rgba(232, 113, 10, 0.16)",
  straightLine: "#6b7280",
  budget: "#c62828",
  today: "#9ca3af",
};

const UNALLOCATED_COLOR = "#c7ccd4";
const FONT_FAMILY = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
const TEXT_COLOR = "#374151";
const GRID_COLOR = "#eceef1";

/** An Error with a stable `code`, like the library's DpsCostError. */
export class ReportError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "DpsCostReportError";
    this.code = code;
  }
}

/** Throws REPORT_DATA_INVALID unless `data` looks like ReportData of schema version 1. */
export function checkReportData(data) {
  const fail = (what) => {
    throw new ReportError("REPORT_DATA_INVALID", `report data: ${what}`);
  };
  if (data === null || typeof data !== "object") fail("not an object");
  if (data.schemaVersion !== REPORT_SCHEMA_VERSION) {
    fail(`schemaVersion ${JSON.stringify(data.schemaVersion)} is not ${REPORT_SCHEMA_VERSION}`);
  }
  if (!Array.isArray(data.accounts)) fail("accounts is not an array");
  if (typeof data.currency !== "string") fail("currency is not a string");
  const charts = data.charts;
  if (charts === null || typeof charts !== "object") fail("charts is missing");
  for (const k of ["dailyByCapability", "dailyByEnvironment", "dailyByAccount"]) {
    const s = charts[k];
    if (!s || !Array.isArray(s.dates) || !Array.isArray(s.series)) fail(`charts.${k} is not a stacked series`);
    for (const x of s.series) {
      if (!Array.isArray(x.values) || x.values.length !== s.dates.length) fail(`charts.${k}: series ${JSON.stringify(x.key)} has ${x.values?.length} values for ${s.dates.length} dates`);
    }
  }
  if (charts.allocation !== null && charts.allocation !== undefined && !Array.isArray(charts.allocation.items)) {
    fail("charts.allocation.items is not an array");
  }
  for (const a of data.accounts) {
    if (!a || !a.burnUp || !Array.isArray(a.burnUp.actual) || !Array.isArray(a.burnUp.forecast) || !Array.isArray(a.burnUp.straightLine)) {
      fail(`account ${JSON.stringify(a?.accountUuid)} has no burnUp series`);
    }
  }
  return data;
}

/** Money formatting: the currency with 2 decimals; an unknown currency code falls back to "1,234.50 XYZ". */
export function moneyFormat(currency, locale = "en-US") {
  let full;
  let compact;
  try {
    full = new Intl.NumberFormat(locale, { style: "currency", currency, minimumFractionDigits: 2, maximumFractionDigits: 2 });
    compact = new Intl.NumberFormat(locale, { style: "currency", currency, notation: "compact", maximumFractionDigits: 1 });
  } catch {
    const n = new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    const c = new Intl.NumberFormat(locale, { notation: "compact", maximumFractionDigits: 1 });
    const suffix = currency ? ` ${currency}` : "";
    return { full: (v) => n.format(v) + suffix, compact: (v) => c.format(v) + suffix };
  }
  return { full: (v) => full.format(v), compact: (v) => compact.format(v) };
}

const dateFmt = (locale, opts) => new Intl.DateTimeFormat(locale, { timeZone: "UTC", ...opts });
const parseDay = (s) => new Date(`${s}T00:00:00Z`);
const addDays = (s, n) => new Date(parseDay(s).getTime() + n * 86_400_000).toISOString().slice(0, 10);

/** Every day from `start` (inclusive) to `end` (exclusive), "YYYY-MM-DD". */
export function daysBetween(start, end) {
  const out = [];
  for (let d = start; d < end && out.length < 4000; d = addDays(d, 1)) out.push(d);
  return out;
}

const isNum = (v) => typeof v === "number" && Number.isFinite(v);

/** The number of finite values in the datasets of a Chart.js config, counting only real data. */
const pointsOf = (datasets) => datasets.reduce((n, d) => n + (d.dpsPoints ?? d.data.filter(isNum).length), 0);

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function baseOptions(fmt, locale) {
  const font = { family: FONT_FAMILY, size: 12 };
  const dayLabel = dateFmt(locale, { month: "short", day: "numeric" });
  const dayLong = dateFmt(locale, { weekday: "short", year: "numeric", month: "short", day: "numeric" });
  return {
    dayLabel,
    dayLong,
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      devicePixelRatio: Math.max(2, globalThis.devicePixelRatio || 1),
      interaction: { mode: "index", intersect: false },
      color: TEXT_COLOR,
      font,
      plugins: {
        legend: {
          position: "bottom",
          labels: { font, color: TEXT_COLOR, boxWidth: 12, boxHeight: 12, padding: 14 },
        },
        tooltip: {
          titleFont: { ...font, weight: "600" },
          bodyFont: font,
          callbacks: {
            label: (ctx) => (isNum(ctx.parsed.y) || isNum(ctx.parsed.x) ? `${ctx.dataset.label}: ${fmt.full(ctx.chart.options.indexAxis === "y" ? ctx.parsed.x : ctx.parsed.y)}` : ""),
          },
        },
      },
    },
  };
}

/** Marks the container once Chart.js has drawn: `data-points` = how many values the chart holds. */
function drawnPlugin(box, points) {
  return {
    id: "dpsCostDrawn",
    afterRender() {
      box.setAttribute("data-points", String(points));
    },
  };
}

/** Vertical dotted lines at category labels (the burn-up's "as of" day, the exhaustion date). */
function markerPlugin(markers) {
  return {
    id: "dpsCostMarker",
    afterDatasetsDraw(chart) {
      const { top, bottom } = chart.chartArea;
      const ctx = chart.ctx;
      markers.forEach(({ label, text, color }, i) => {
        const index = chart.data.labels.indexOf(label);
        if (index < 0) return;
        const x = chart.scales.x.getPixelForValue(index);
        if (!isNum(x)) return;
        ctx.save();
        ctx.strokeStyle = color;
        ctx.lineWidth = 1;
        ctx.setLineDash([2, 3]);
        ctx.beginPath();
        ctx.moveTo(x, top);
        ctx.lineTo(x, bottom);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.fillStyle = color;
        ctx.font = `11px ${FONT_FAMILY}`;
        ctx.textAlign = "right";
        ctx.fillText(text, x - 4, bottom - 6 - 14 * i);
        ctx.restore();
      });
    },
  };
}

function card(parent, { id, title, subtitle, height, kind, colors }) {
  const figure = el("figure", "chart-card");
  const caption = el("figcaption");
  caption.append(el("h3", undefined, title));
  if (subtitle) caption.append(el("p", "chart-subtitle", subtitle));
  const box = el("div", "chart");
  box.id = id;
  box.setAttribute("data-chart", kind);
  box.setAttribute("data-series-colors", colors.join(","));
  box.style.position = "relative";
  box.style.height = `${height}px`;
  const canvas = el("canvas");
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", subtitle ? `${title}: ${subtitle}` : title);
  box.append(canvas);
  figure.append(caption, box);
  parent.append(figure);
  return { box, canvas };
}

function burnUpConfig(account, fmt, base) {
  const b = account.burnUp;
  const last = b.actual.at(-1);
  const labels = daysBetween(account.periodStart, account.periodEnd);
  // Labels cover the period; series the contract gives outside it are still shown.
  for (const p of [...b.actual, ...b.forecast, ...b.straightLine]) if (!labels.includes(p.date)) labels.push(p.date);
  labels.sort();
  const at = new Map(labels.map((d, i) => [d, i]));
  const series = (points, pick) => {
    const data = labels.map(() => null);
    for (const p of points) data[at.get(p.date)] = pick(p);
    return data;
  };
  // The forecast lines start at the last actual day so that they join the actual line.
  const join = (data, value) => {
    if (last && isNum(value)) data[at.get(last.date)] = value;
    return data;
  };
  const c = BURNUP_COLORS;
  const line = { pointRadius: 0, pointHoverRadius: 0, pointStyle: "line", tension: 0, spanGaps: false };
  const datasets = [
    { label: "Actual (cumulative)", data: series(b.actual, (p) => p.cumulative), borderColor: c.actual, backgroundColor: c.actual, borderWidth: 2.5, ...line, order: 1, dpsPoints: b.actual.length },
    {
      label: "Forecast lower",
      data: join(series(b.forecast, (p) => p.lower), last?.cumulative),
      borderColor: "transparent",
      backgroundColor: "transparent",
      borderWidth: 0,
      ...line,
      order: 4,
      dpsLegend: false,
      dpsPoints: 0,
    },
    {
      label: "Forecast band",
      data: join(series(b.forecast, (p) => p.upper), last?.cumulative),
      borderColor: "transparent",
      backgroundColor: c.band,
      borderWidth: 0,
      fill: "-1",
      ...line,
      pointStyle: "rect",
      order: 4,
      dpsPoints: 0,
    },
    { label: "Forecast (median)", data: join(series(b.forecast, (p) => p.median), last?.cumulative), borderColor: c.median, backgroundColor: c.median, borderWidth: 2, ...line, order: 2, dpsPoints: b.forecast.length },
    {
      label: "Straight line",
      data: join(series(b.straightLine, (p) => p.cumulative), last?.cumulative),
      borderColor: c.straightLine,
      backgroundColor: c.straightLine,
      borderWidth: 1.5,
      borderDash: [6, 4],
      ...line,
      order: 3,
      dpsPoints: b.straightLine.length,
    },
  ];
  const budget = b.budget ?? account.figures?.budget;
  if (isNum(budget)) {
    datasets.push({ label: "Budget", data: labels.map(() => budget), borderColor: c.budget, backgroundColor: c.budget, borderWidth: 1.5, ...line, pointHoverRadius: 0, order: 0, dpsPoints: 1 });
  }
  const { options, dayLabel, dayLong } = base;
  return {
    type: "line",
    data: { labels, datasets },
    options: {
      ...options,
      plugins: {
        ...options.plugins,
        legend: { ...options.plugins.legend, labels: { ...options.plugins.legend.labels, usePointStyle: true, pointStyleWidth: 22, filter: (item, d) => d.datasets[item.datasetIndex].dpsLegend !== false, sort: (a, b) => a.datasetIndex - b.datasetIndex } },
        tooltip: {
          ...options.plugins.tooltip,
          filter: (item) => item.dataset.dpsLegend !== false && isNum(item.parsed.y),
          callbacks: {
            ...options.plugins.tooltip.callbacks,
            title: (items) => (items[0] ? dayLong.format(parseDay(items[0].label)) : ""),
            label: (ctx) => {
              if (ctx.dataset.label === "Forecast band") {
                const lower = ctx.chart.data.datasets[1].data[ctx.dataIndex];
                return `Forecast band: ${fmt.full(lower)} – ${fmt.full(ctx.parsed.y)}`;
              }
              return `${ctx.dataset.label}: ${fmt.full(ctx.parsed.y)}`;
            },
          },
        },
      },
      scales: {
        x: {
          grid: { display: false },
          ticks: { color: TEXT_COLOR, font: options.font, autoSkip: true, maxTicksLimit: 12, maxRotation: 0, callback: (v) => dayLabel.format(parseDay(labels[v])) },
        },
        y: { beginAtZero: true, grid: { color: GRID_COLOR }, ticks: { color: TEXT_COLOR, font: options.font, callback: (v) => fmt.compact(v) } },
      },
    },
    plugins: [
      markerPlugin([
        ...(last ? [{ label: last.date, text: `as of ${dayLabel.format(parseDay(last.date))}`, color: "#6b7280" }] : []),
        ...(account.figures?.exhaustionDate ? [{ label: account.figures.exhaustionDate, text: `budget exhausted ${dayLabel.format(parseDay(account.figures.exhaustionDate))}`, color: c.budget }] : []),
      ]),
    ],
  };
}

function stackedConfig(stacked, fmt, base) {
  const { options, dayLabel, dayLong } = base;
  const datasets = stacked.series.map((s, i) => ({
    label: s.label || s.key,
    data: s.values,
    backgroundColor: PALETTE[i % PALETTE.length],
    borderWidth: 0,
    borderSkipped: false,
    barPercentage: 0.9,
    categoryPercentage: 0.9,
  }));
  return {
    type: "bar",
    data: { labels: stacked.dates, datasets },
    options: {
      ...options,
      plugins: {
        ...options.plugins,
        tooltip: {
          ...options.plugins.tooltip,
          filter: (item) => isNum(item.parsed.y) && item.parsed.y !== 0,
          callbacks: {
            ...options.plugins.tooltip.callbacks,
            title: (items) => (items[0] ? dayLong.format(parseDay(items[0].label)) : ""),
            footer: (items) => (items[0] && isNum(stacked.total?.[items[0].dataIndex]) ? `Total: ${fmt.full(stacked.total[items[0].dataIndex])}` : ""),
          },
        },
      },
      scales: {
        x: { stacked: true, grid: { display: false }, ticks: { color: TEXT_COLOR, font: options.font, autoSkip: true, maxTicksLimit: 12, maxRotation: 0, callback: (v) => dayLabel.format(parseDay(stacked.dates[v])) } },
        y: { stacked: true, beginAtZero: true, grid: { color: GRID_COLOR }, ticks: { color: TEXT_COLOR, font: options.font, callback: (v) => fmt.compact(v) } },
      },
    },
  };
}

function allocationConfig(allocation, fmt, base) {
  const { options } = base;
  const items = [...allocation.items].sort((a, b) => b.cost - a.cost);
  const labels = items.map((i) => i.destination);
  const values = items.map((i) => i.cost);
  const colors = items.map(() => PALETTE[0]);
  if (isNum(allocation.unallocated) && allocation.unallocated !== 0) {
    labels.push("Unallocated");
    values.push(allocation.unallocated);
    colors.push(UNALLOCATED_COLOR);
  }
  const pct = (v) => (isNum(allocation.total) && allocation.total !== 0 ? ` (${((100 * v) / allocation.total).toFixed(1)}%)` : "");
  return {
    type: "bar",
    data: { labels, datasets: [{ label: "Cost", data: values, backgroundColor: colors, borderWidth: 0, barPercentage: 0.8, categoryPercentage: 0.9 }] },
    options: {
      ...options,
      indexAxis: "y",
      interaction: { mode: "nearest", axis: "y", intersect: false },
      plugins: {
        ...options.plugins,
        legend: { display: false },
        tooltip: { ...options.plugins.tooltip, callbacks: { label: (ctx) => `${fmt.full(ctx.parsed.x)}${pct(ctx.parsed.x)}` } },
      },
      scales: {
        x: { beginAtZero: true, grid: { color: GRID_COLOR }, ticks: { color: TEXT_COLOR, font: options.font, callback: (v) => fmt.compact(v) } },
        y: { grid: { display: false }, ticks: { color: TEXT_COLOR, font: { ...options.font, size: 12 } } },
      },
    },
    colors: [...new Set(colors)],
  };
}

const DAILY = [
  ["dailyByCapability", "chart-daily-capability", "capability", "Daily cost by capability"],
  ["dailyByEnvironment", "chart-daily-environment", "environment", "Daily cost by environment"],
  ["dailyByAccount", "chart-daily-account", "account", "Daily cost by account"],
];

/**
 * Draws every chart of the report into `container` (appended; the container is not cleared):
 * a burn-up per account, daily cost stacked by capability, environment and account, and the
 * allocation by destination (a note instead when `data.charts.allocation` is null).
 *
 * Each chart's box has a stable id (`chart-burnup-<accountUuid>`, `chart-daily-capability`,
 * `chart-daily-environment`, `chart-daily-account`, `chart-allocation`) and gets
 * `data-points="<n>"` once Chart.js has drawn it.
 *
 * @param {HTMLElement} container
 * @param {object} data ReportData (schemaVersion 1)
 * @param {{ Chart?: Function, locale?: string }} [options] Chart: the Chart.js constructor
 *   (default: globalThis.Chart, which the report page and Chart.js' UMD build define)
 * @returns {{ charts: { id: string, points: number }[], destroy(): void }}
 */
export function renderCharts(container, data, options = {}) {
  const Chart = options.Chart ?? globalThis.Chart;
  if (typeof Chart !== "function") {
    throw new ReportError(
      "CHART_LIBRARY_MISSING",
      "renderCharts needs Chart.js 4: pass { Chart } (import Chart from \"chart.js/auto\") or load chart.umd.js so that globalThis.Chart is set",
    );
  }
  if (!container || typeof container.append !== "function") throw new ReportError("REPORT_DATA_INVALID", "renderCharts: container is not an element");
  checkReportData(data);
  const locale = options.locale ?? "en-US";
  const fmt = moneyFormat(data.currency, locale);
  const base = baseOptions(fmt, locale);
  const drawn = [];
  const instances = [];
  const draw = (box, canvas, config) => {
    const points = pointsOf(config.data.datasets);
    for (const d of config.data.datasets) {
      delete d.dpsPoints;
    }
    const { colors, ...chartConfig } = config;
    chartConfig.plugins = [...(chartConfig.plugins ?? []), drawnPlugin(box, points)];
    instances.push(new Chart(canvas, chartConfig));
    drawn.push({ id: box.id, points });
  };

  const burnups = el("section", "report-section");
  burnups.append(el("h2", undefined, "Burn-up against budget"));
  const grid = el("div", "chart-grid");
  burnups.append(grid);
  for (const a of data.accounts) {
    const money = moneyFormat(a.currency || data.currency, locale);
    const f = a.figures ?? {};
    const parts = [`${a.subscriptionName || a.subscriptionUuid}`, `${a.periodStart} – ${addDays(a.periodEnd, -1)}`];
    if (isNum(f.budget)) parts.push(`budget ${money.full(f.budget)}`);
    if (f.exhaustionDate) parts.push(`budget exhausted ${f.exhaustionDate}`);
    const config = burnUpConfig(a, money, base);
    const { box, canvas } = card(grid, {
      id: `chart-burnup-${a.accountUuid}`,
      title: a.accountName || a.accountUuid,
      subtitle: parts.join(" · "),
      height: 320,
      kind: "burnup",
      colors: [BURNUP_COLORS.actual, BURNUP_COLORS.median, ...(isNum(a.burnUp.budget ?? f.budget) ? [BURNUP_COLORS.budget] : [])],
    });
    draw(box, canvas, config);
  }
  if (data.accounts.length === 0) grid.append(el("p", "note", "No accounts in this report."));
  container.append(burnups);

  const daily = el("section", "report-section");
  daily.append(el("h2", undefined, "Daily cost"));
  for (const [key, id, kind, title] of DAILY) {
    const s = data.charts[key];
    const range = s.dates.length ? `${s.dates[0]} – ${s.dates.at(-1)}` : "no days";
    const total = Array.isArray(s.total) ? s.total.filter(isNum).reduce((x, y) => x + y, 0) : 0;
    const config = stackedConfig(s, fmt, base);
    const { box, canvas } = card(daily, {
      id,
      title,
      subtitle: `${range} · ${fmt.full(total)} in total · all accounts`,
      height: 300,
      kind: `daily-${kind}`,
      colors: config.data.datasets.map((d) => d.backgroundColor),
    });
    draw(box, canvas, config);
  }
  container.append(daily);

  const alloc = el("section", "report-section");
  const a = data.charts.allocation;
  alloc.append(el("h2", undefined, a ? `Allocation by ${a.by}` : "Allocation"));
  if (a) {
    const config = allocationConfig(a, fmt, base);
    const rows = config.data.labels.length;
    const { box, canvas } = card(alloc, {
      id: "chart-allocation",
      title: `Cost by ${a.by}`,
      subtitle: `${fmt.full(a.total)} in total · ${fmt.full(a.unallocated)} unallocated`,
      height: Math.max(140, 48 + 34 * rows),
      kind: "allocation",
      colors: config.colors,
    });
    draw(box, canvas, config);
  } else {
    alloc.append(el("p", "note", "No allocation rules were given, so there is no allocation chart (dps-cost report --rules FILE)."));
  }
  container.append(alloc);

  // Canvases keep their pixel size when printing unless resized for the print layout.
  const resize = () => instances.forEach((c) => c.resize());
  const win = globalThis.window;
  win?.addEventListener?.("beforeprint", resize);
  win?.addEventListener?.("afterprint", resize);
  return {
    charts: drawn,
    destroy() {
      win?.removeEventListener?.("beforeprint", resize);
      win?.removeEventListener?.("afterprint", resize);
      for (const c of instances) c.destroy();
    },
  };
}
