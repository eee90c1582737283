// Types of "dps-cost/report": the HTML cost report and its charts (Chart.js 4).

/** Money totals at the period end: the median and the band around it. */
export interface ForecastBand {
  median: number;
  lower: number;
  upper: number;
}

export interface AccountFigures {
  /** Commitment of the period; null when the subscription has none. */
  budget: number | null;
  /** Spend in the period: the subscription's budget.used when it has one (authoritative), else the daily records' sum up to `asOf`. */
  costToDate: number;
  budgetUsedPercent: number | null;
  daysElapsed: number;
  daysLeft: number;
  /** Average cost per day over the last 7 days. */
  last7DayAverage: number;
  /** Our forecast of the total at the period end. */
  forecastPeriodEnd: ForecastBand;
  /** The naive burn-rate projection, for comparison. */
  straightLinePeriodEnd: number;
  /** Dynatrace's /forecast, when it answered. */
  dynatraceForecast: ForecastBand | null;
  /** "YYYY-MM-DD" when the median cumulative crosses the budget; null if not before periodEnd. */
  exhaustionDate: string | null;
  /** From the upper band. */
  exhaustionDateEarliest: string | null;
  /** From the lower band. */
  exhaustionDateLatest: string | null;
  /** budget.used and the period's daily records differ beyond the tolerance (1.00 or 0.5 %, the larger). */
  reconciliation?: {
    used: number; recordsSum: number; difference: number; firstDayCovered: string | null;
  };
}

export interface BurnUp {
  budget: number | null;
  /** First day with a record in the period (periodStart when complete)..asOf; ends on costToDate. */
  actual: { date: string; cumulative: number }[];
  /** asOf+1..periodEnd-1, cumulative */
  forecast: { date: string; median: number; lower: number; upper: number }[];
  /** asOf+1..periodEnd-1 */
  straightLine: { date: string; cumulative: number }[];
}

export interface AccountReport {
  accountUuid: string;
  accountName: string;
  subscriptionUuid: string;
  subscriptionName: string;
  currency: string;
  /** "YYYY-MM-DD" */
  periodStart: string;
  /** "YYYY-MM-DD", exclusive */
  periodEnd: string;
  figures: AccountFigures;
  burnUp: BurnUp;
}

export interface Stacked {
  dates: string[];
  series: { key: string; label: string; values: number[] }[];
  total: number[];
}

export interface AllocationChart {
  by: string;
  items: { destination: string; cost: number }[];
  unallocated: number;
  total: number;
}

/** What `reportData(config)` resolves to, and what the report draws. */
export interface ReportData {
  schemaVersion: 1;
  /** "2026-11-23T10:00:00Z" */
  generatedAt: string;
  /** "2026-11-22": the last day with cost data; null when there is none yet. */
  asOf: string | null;
  /** ISO 4217, e.g. "USD". */
  currency: string;
  warnings: string[];
  accounts: AccountReport[];
  charts: {
    dailyByCapability: Stacked;
    dailyByEnvironment: Stacked;
    dailyByAccount: Stacked;
    /** null when no allocation rules were given. */
    allocation: AllocationChart | null;
  };
}

export interface RenderReportOptions {
  /** The page title (default "DPS cost report — <asOf>"). */
  title?: string;
  /** BCP 47 locale for numbers and dates (default "en-US"). */
  locale?: string;
}

/** The Chart.js constructor (Chart.js 4), e.g. `import Chart from "chart.js/auto"`. */
export type ChartConstructor = new (canvas: HTMLCanvasElement, config: any) => { destroy(): void; resize(): void };

export interface RenderChartsOptions {
  /** Default: globalThis.Chart (set by Chart.js' UMD build, as in the report page). */
  Chart?: ChartConstructor;
  /** BCP 47 locale for numbers and dates (default "en-US"). */
  locale?: string;
}

export interface RenderedCharts {
  /** Each drawn chart's box id and how many values it holds. */
  charts: { id: string; points: number }[];
  /** Destroys the Chart.js instances and removes the print listeners. */
  destroy(): void;
}

/** An error of the report code, with a stable `code`. */
export declare class ReportError extends Error {
  readonly name: "DpsCostReportError";
  readonly code: "REPORT_DATA_INVALID" | "CHART_LIBRARY_MISSING" | "REPORT_ASSET_INVALID";
}

export declare const REPORT_SCHEMA_VERSION: 1;
/** The version of Chart.js inlined into the report. */
export declare const CHART_JS_VERSION: string;

/**
 * The report as one self-contained HTML document (inline CSS, Chart.js, data and drawing code;
 * no request of any kind). Throws ReportError REPORT_DATA_INVALID on data of another shape.
 */
export declare function renderReportHtml(data: ReportData, options?: RenderReportOptions): string;

/**
 * Draws the report's charts into `container` (appended): a burn-up per account, daily cost
 * stacked by capability, environment and account, allocation by destination. Chart boxes get
 * ids `chart-burnup-<accountUuid>`, `chart-daily-capability`, `chart-daily-environment`,
 * `chart-daily-account`, `chart-allocation` and `data-points="<n>"` once drawn.
 */
export declare function renderCharts(container: HTMLElement, data: ReportData, options?: RenderChartsOptions): RenderedCharts;

/** Throws ReportError REPORT_DATA_INVALID unless `data` has the shape of ReportData. */
export declare function checkReportData(data: unknown): ReportData;

/** Text for HTML element content and attribute values. */
export declare function escapeHtml(s: unknown): string;

/** JSON safe inside `<script type="application/json">` (no `</script>`, `<!--`, U+2028/2029). */
export declare function jsonForScript(value: unknown): string;
