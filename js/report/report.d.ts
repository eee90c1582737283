// Types of "dps-cost/report": the HTML cost report and its charts (Chart.js 4).

// The report's data types are the package's, generated from the Rust types (crates/core
// process/charts.rs) into dps_cost.d.ts; this module re-exports them and declares only what
// exists in JS alone (the render options and functions, ReportError).
import type { ReportData } from "./dps_cost.js";
export type {
  AccountFigures,
  AccountReport,
  AllocationChart,
  AllocationItem,
  Band,
  Band as ForecastBand,
  BandPoint,
  BurnUp,
  Charts,
  Cumulative,
  Reconciliation,
  ReportData,
  Series,
  Stacked,
} from "./dps_cost.js";

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
