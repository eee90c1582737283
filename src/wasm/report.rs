//! Report, export and forecast exports: `reportData`, `exportCost`, `focusExport`,
//! `forecastSpend`. Built with the `full` feature only (the node and web entries).

use std::collections::{BTreeMap, HashMap};

use js_sys::Promise;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use crate::allocate::engine::{allocate, AllocationInput, CostLine};
use crate::allocate::rules::parse_rules;
use crate::error::Error;
use crate::export::focus::{focus_from_allocation, focus_from_lines, FocusContext, FocusTable};
use crate::process::forecast::forecast;
use crate::report::{export_focus, report_data, ExportFormat, ReportConfig, ReportOptions};
use crate::time::parse_date;

use super::convert::{from_js, to_js};
use super::transport::{JsClock, Transport};
use super::{js_err, promise};

#[wasm_bindgen(typescript_custom_section)]
const TS_REPORT_TYPES: &str = r#"
/** Options of reportData and exportCost: the accounts as for sync, and the data window. */
export interface ReportConfig {
  accounts: { accountUuid: string; clientId: string; clientSecret: string; name?: string; subscriptionUuid?: string }[];
  ssoUrl?: string;
  apiUrl?: string;
  environmentIds?: string[];
  capabilityKeys?: string[];
  /** ISO-8601; default now. */
  now?: string;
  retry?: RetryOptions;
  /** Days of per-environment data ending yesterday (default 35); from/to override. */
  windowDays?: number;
  /** First day (YYYY-MM-DD, inclusive) and last day (exclusive) of per-environment data. */
  from?: string;
  to?: string;
  /** Datadog custom allocation rules (array, or {data: [...]}): allocation chart / allocated FOCUS rows. */
  rules?: unknown;
  /** Extra tags per environment id (as costLines). */
  environmentTags?: Record<string, Record<string, string>>;
  /** exportCost only: "focus" (FOCUS 1.2 CSV, default), "focus-json", or the plain table as "csv" / "json". */
  format?: "focus" | "focus-json" | "csv" | "json";
  fetch?: FetchLike;
}

export interface Band { median: number; lower: number; upper: number }
export interface Stacked { dates: string[]; series: { key: string; label: string; values: number[] }[]; total: number[] }
export interface ReportData {
  schemaVersion: 1;
  generatedAt: string;
  /** Last day with cost data (YYYY-MM-DD). */
  asOf: string | null;
  currency: string;
  warnings: string[];
  accounts: {
    accountUuid: string; accountName: string; subscriptionUuid: string; subscriptionName: string;
    currency: string;
    /** YYYY-MM-DD; periodEnd exclusive. */
    periodStart: string; periodEnd: string;
    figures: {
      budget: number | null; costToDate: number; budgetUsedPercent: number | null;
      daysElapsed: number; daysLeft: number; last7DayAverage: number;
      forecastPeriodEnd: Band; straightLinePeriodEnd: number; dynatraceForecast: Band | null;
      exhaustionDate: string | null; exhaustionDateEarliest: string | null; exhaustionDateLatest: string | null;
    };
    burnUp: {
      budget: number | null;
      actual: { date: string; cumulative: number }[];
      forecast: { date: string; median: number; lower: number; upper: number }[];
      straightLine: { date: string; cumulative: number }[];
    };
  }[];
  charts: {
    dailyByCapability: Stacked; dailyByEnvironment: Stacked; dailyByAccount: Stacked;
    allocation: { by: string; items: { destination: string; cost: number }[]; unallocated: number; total: number } | null;
  };
}

export interface CostExport {
  format: "focus" | "focus-json" | "csv" | "json";
  /** The columns of `text`. */
  columns: string[];
  rows: number;
  /** CSV (RFC 4180, CRLF, header line) or a JSON array of row objects. */
  text: string;
  warnings: string[];
}

export interface FocusExportInput {
  /** Cost lines (costLines output). */
  lines: CostLine[];
  /** Allocate them first with these Datadog rules: adds the FOCUS 1.3 Allocated* columns. */
  rules?: unknown;
  capabilityNames?: Record<string, string>;
  environmentNames?: Record<string, string>;
  /** Day usage per environment × capability, shared between split pieces by cost. */
  usage?: { environmentId: string; capabilityKey: string; date: string; value: number; unit: string }[];
  format?: "focus" | "focus-json" | "csv" | "json";
}

export interface SpendForecast {
  /** Expected cost of each day after the history. */
  daily: number[];
  /** Cumulative expected cost, and its 90 % band. */
  cumulative: number[]; lower: number[]; upper: number[];
  model: { window: number; weekdayFactors: number[]; level: number; slope: number; sigma: number };
}
"#;

/// The checked options and the transport of `reportData` / `exportCost` (before any request).
fn report_parts(config: &JsValue) -> Result<(Transport, ReportConfig), Error> {
    let cfg = from_js::<ReportOptions>("config", config)?.validate()?;
    Ok((Transport::from_options(config)?, cfg))
}

/// The cost report data of one or more accounts: key figures, burn-up with our forecast band
/// (and the Dynatrace forecast), daily cost stacked by capability / environment / account, and
/// allocation by destination when `rules` are given.
#[wasm_bindgen(js_name = reportData, unchecked_return_type = "Promise<ReportData>")]
pub fn report_data_js(
    #[wasm_bindgen(unchecked_param_type = "ReportConfig")] config: JsValue,
) -> Promise {
    let parts = report_parts(&config);
    promise(async move {
        let (transport, cfg) = parts?;
        report_data(&transport, &JsClock, &cfg).await
    })
}

#[derive(Serialize)]
struct ExportResult {
    format: &'static str,
    columns: Vec<&'static str>,
    rows: usize,
    text: String,
    warnings: Vec<String>,
}

fn export_result(table: FocusTable, format: ExportFormat, warnings: Vec<String>) -> ExportResult {
    let columns = match format {
        ExportFormat::Csv | ExportFormat::Json => table.plain().columns,
        ExportFormat::FocusCsv | ExportFormat::FocusJson => table.columns.clone(),
    };
    ExportResult {
        format: format.name(),
        rows: table.rows.len(),
        text: format.render(&table),
        columns,
        warnings,
    }
}

/// The accounts' per-environment cost in the window as FOCUS 1.2 rows (CSV or JSON; usage as
/// PricingQuantity) or as the plain table; allocated by `rules` when given (plus the FOCUS 1.3
/// Allocated* columns).
#[wasm_bindgen(js_name = exportCost, unchecked_return_type = "Promise<CostExport>")]
pub fn export_cost_js(
    #[wasm_bindgen(unchecked_param_type = "ReportConfig")] config: JsValue,
) -> Promise {
    let parts = report_parts(&config);
    promise(async move {
        let (transport, cfg) = parts?;
        let (table, warnings) = export_focus(&transport, &JsClock, &cfg).await?;
        Ok(export_result(table, cfg.format, warnings))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UsageInput {
    environment_id: String,
    capability_key: String,
    date: String,
    value: f64,
    unit: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FocusExportInput {
    lines: Vec<CostLine>,
    #[serde(default)]
    rules: Option<serde_json::Value>,
    #[serde(default)]
    capability_names: BTreeMap<String, String>,
    #[serde(default)]
    environment_names: BTreeMap<String, String>,
    #[serde(default)]
    usage: Vec<UsageInput>,
    #[serde(default)]
    format: Option<String>,
}

/// FOCUS rows from cost lines, without fetching (see `exportCost`).
#[wasm_bindgen(js_name = focusExport, unchecked_return_type = "CostExport")]
pub fn focus_export_js(
    #[wasm_bindgen(unchecked_param_type = "FocusExportInput")] input: JsValue,
) -> Result<JsValue, JsValue> {
    let run = || -> Result<ExportResult, Error> {
        let i: FocusExportInput = from_js("input", &input)?;
        let format = ExportFormat::parse("input.format", i.format.as_deref())?;
        let mut usage = HashMap::new();
        for (n, u) in i.usage.into_iter().enumerate() {
            if parse_date(&u.date).is_none() {
                return Err(Error::invalid(
                    format!("input.usage[{n}].date"),
                    "is not a YYYY-MM-DD date",
                ));
            }
            if !u.value.is_finite() || u.value < 0.0 {
                return Err(Error::invalid(
                    format!("input.usage[{n}].value"),
                    "must be a finite number ≥ 0",
                ));
            }
            let slot = usage
                .entry((u.environment_id, u.capability_key, u.date))
                .or_insert((0.0, u.unit));
            slot.0 += u.value;
        }
        let ctx = FocusContext {
            capability_names: i.capability_names,
            environment_names: i.environment_names,
            usage,
        };
        let table = match i.rules {
            Some(r) => {
                let rules = parse_rules(&r.to_string())?;
                let result = allocate(&AllocationInput {
                    lines: i.lines,
                    rules,
                    drivers: Default::default(),
                })?;
                focus_from_allocation(&result, &ctx)?
            }
            None => focus_from_lines(&i.lines, &ctx)?,
        };
        Ok(export_result(table, format, Vec::new()))
    };
    to_js(&run().map_err(js_err)?)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ForecastInput {
    /// Daily cost, oldest first, one value per consecutive day (absent here when it came as a
    /// `Float64Array`, read directly from memory).
    #[serde(default)]
    history: Option<Vec<f64>>,
    /// The day of `history[0]` (YYYY-MM-DD): fixes the weekdays.
    first_date: String,
    /// Days to forecast (0..=3660).
    horizon: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ModelOut {
    window: usize,
    weekday_factors: [f64; 7],
    level: f64,
    slope: f64,
    sigma: f64,
}

#[derive(Serialize)]
struct ForecastOut {
    daily: Vec<f64>,
    cumulative: Vec<f64>,
    lower: Vec<f64>,
    upper: Vec<f64>,
    model: ModelOut,
}

/// Forecast of daily spend: weekly seasonality × trend, with a 90 % band (see README
/// "Forecast" for the model and its backtest against the straight line).
#[wasm_bindgen(js_name = forecastSpend, unchecked_return_type = "SpendForecast")]
pub fn forecast_spend_js(
    #[wasm_bindgen(
        unchecked_param_type = "{ history: number[] | Float64Array; firstDate: string; horizon: number }"
    )]
    input: JsValue,
) -> Result<JsValue, JsValue> {
    let run = || -> Result<ForecastOut, Error> {
        // A Float64Array is copied straight from its memory: measured 5–50× faster than the
        // JSON path for long series (bench/boundary.mjs, BENCHMARKS.md).
        let raw = js_sys::Reflect::get(&input, &JsValue::from_str("history")).ok();
        let typed = raw
            .filter(|h| h.is_instance_of::<js_sys::Float64Array>())
            .map(|h| js_sys::Float64Array::from(h).to_vec());
        let i: ForecastInput = if typed.is_some() {
            let rest = js_sys::Object::assign(
                &js_sys::Object::new(),
                &js_sys::Object::from(input.clone()),
            );
            let _ = js_sys::Reflect::delete_property(&rest, &JsValue::from_str("history"));
            from_js("input", &rest)?
        } else {
            from_js("input", &input)?
        };
        let history = match (typed, i.history) {
            (Some(t), _) => t,
            (None, Some(h)) => h,
            (None, None) => return Err(Error::invalid("input.history", "is required")),
        };
        let first = parse_date(&i.first_date)
            .ok_or_else(|| Error::invalid("input.firstDate", "is not a YYYY-MM-DD date"))?;
        if i.horizon > 3660 {
            return Err(Error::invalid("input.horizon", "must be 0..=3660 days"));
        }
        let f = forecast(&history, first, i.horizon as usize).map_err(|e| match e {
            Error::InvalidInput { field, message } => Error::InvalidInput {
                field: format!("input.{field}"),
                message,
            },
            other => other,
        })?;
        Ok(ForecastOut {
            daily: f.daily,
            cumulative: f.cumulative,
            lower: f.lower,
            upper: f.upper,
            model: ModelOut {
                window: f.model.window,
                weekday_factors: f.model.weekday_factors,
                level: f.model.level,
                slope: f.model.slope,
                sigma: f.model.sigma,
            },
        })
    };
    to_js(&run().map_err(js_err)?)
}
