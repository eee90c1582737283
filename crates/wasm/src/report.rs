//! Report, export and forecast exports: `reportData`, `exportCost`, `focusExport`,
//! `forecastSpend`. Built with the `full` feature only (the node and web entries).

use std::collections::BTreeMap;

use dps_cost_core::hash::HashMap;

use js_sys::{Promise, Reflect};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use dps_cost_client::report::{
    export_focus, report_data, ExportFormat, ReportConfig, ReportOptions,
};
use dps_cost_core::allocate::engine::{AllocationInput, CostLine};
use dps_cost_core::allocate::money::micros_from_f64;
use dps_cost_core::allocate::rules::parse_rules;
use dps_cost_core::error::Error;
use dps_cost_core::export::columnar::{typed_columns, TypedColumn};
use dps_cost_core::export::contract_commitment::{
    applied_per_term, check_terms, commitment_table, CommitmentTermInput,
};
use dps_cost_core::export::focus::{
    FocusContext, FocusDataset, FocusStream, FocusTable, FocusVersion,
};
use dps_cost_core::process::forecast::forecast;
use dps_cost_core::time::parse_date;
use dps_cost_core::time::parse_timestamp_ms;

use super::allocate::{chunk_size, closed_error, make_iterable, stream_options, MAX_JS_STRING};
use super::convert::{from_js, to_js};
use super::transport::{JsClock, Transport};
use super::{js_err, promise};

/// JS only: the `fetch` option of `reportData` / `exportCost` (merged into the interface
/// generated from `ReportOptions`), and the iterator protocol of `FocusExportStream`
/// (`make_iterable` gives it at run time).
#[wasm_bindgen(typescript_custom_section)]
const TS_REPORT_JS_ONLY: &str = r#"
export interface ReportConfig { fetch?: FetchLike }
export interface CostExport {
  /** format "parquet" only: the Parquet file, written by the package's JS entry (hyparquet-writer)
   * from the typed columns the module gives it. */
  parquet?: Uint8Array;
}
export interface FocusExportStream {
  /** The stream itself (`for (const text of focusExportStream(input))`). */
  [Symbol.iterator](): FocusExportStream;
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

/// What `exportCost`, `focusExport` and `contractCommitmentExport` return.
#[derive(Serialize, tsify::Tsify)]
#[tsify(rename = "CostExport")]
#[serde(rename_all = "camelCase")]
struct ExportResult {
    #[tsify(type = "ExportFormat")]
    format: &'static str,
    #[tsify(type = "FocusVersion")]
    focus_version: &'static str,
    #[tsify(type = "FocusDataset")]
    dataset: &'static str,
    /// The columns of `text`.
    columns: Vec<&'static str>,
    rows: usize,
    /// CSV (RFC 4180, CRLF, header line) or a JSON array of row objects.
    text: String,
    warnings: Vec<String>,
    /// `parquet` only: the typed columns the JS entry writes as Parquet (then drops), so
    /// never seen by a caller.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional, type = "never")]
    parquet_columns: Option<Vec<TypedColumn>>,
}

fn export_result(
    table: FocusTable,
    format: ExportFormat,
    version: FocusVersion,
    dataset: FocusDataset,
    warnings: Vec<String>,
) -> Result<ExportResult, Error> {
    let columns = match format {
        ExportFormat::Csv | ExportFormat::Json => table.plain().columns,
        ExportFormat::FocusCsv | ExportFormat::FocusJson | ExportFormat::Parquet => {
            table.columns.clone()
        }
    };
    let (text, parquet_columns) = match format {
        ExportFormat::Parquet => (String::new(), Some(typed_columns(&table)?)),
        _ => (format.render(&table), None),
    };
    Ok(ExportResult {
        format: format.name(),
        focus_version: version.name(),
        dataset: dataset.name(),
        rows: table.rows.len(),
        text,
        columns,
        warnings,
        parquet_columns,
    })
}

/// `focusExport`, `focusExportStream` and `contractCommitmentExport` write text: Parquet comes
/// from `exportCost` (its JS entry writes the file).
fn text_format(field: &str, value: Option<&str>) -> Result<ExportFormat, Error> {
    let format = ExportFormat::parse(field, value)?;
    if format == ExportFormat::Parquet {
        return Err(Error::invalid(
            field,
            "parquet is written by exportCost (dps-cost export --format parquet --out FILE)",
        ));
    }
    Ok(format)
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
        export_result(table, cfg.format, cfg.version, cfg.dataset, warnings)
    })
}

/// Day usage of one environment × capability (`focusExport`).
#[derive(Deserialize, tsify::Tsify)]
#[tsify(rename = "FocusUsage")]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UsageInput {
    environment_id: String,
    capability_key: String,
    date: String,
    value: f64,
    unit: String,
}

/// The input of `focusExport` and `focusExportStream`.
#[derive(Deserialize, tsify::Tsify)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FocusExportInput {
    /// Cost lines (costLines output).
    lines: Vec<CostLine>,
    /// Allocate them first with these Datadog rules: adds the FOCUS 1.3 Allocated* columns.
    #[serde(default)]
    #[tsify(type = "unknown")]
    rules: Option<serde_json::Value>,
    #[serde(default)]
    capability_names: BTreeMap<String, String>,
    #[serde(default)]
    environment_names: BTreeMap<String, String>,
    /// Day usage per environment × capability, shared between split pieces by cost.
    #[serde(default)]
    #[tsify(type = "FocusUsage[]")]
    usage: Vec<UsageInput>,
    #[serde(default)]
    #[tsify(type = "ExportFormat")]
    format: Option<String>,
    /// Default "1.3".
    #[serde(default)]
    #[tsify(optional, type = "FocusVersion")]
    focus_version: Option<String>,
    /// DPS commitment terms the rows draw down (ContractApplied, 1.3+).
    #[serde(default)]
    #[tsify(optional, type = "CommitmentTerm[]")]
    commitments: Vec<CommitmentTermInput>,
}

/// The checked input of `focusExport` / `focusExportStream` as a [`FocusStream`] (allocated
/// first when `rules` are given).
fn focus_stream(input: &JsValue) -> Result<(FocusStream, ExportFormat, FocusVersion), Error> {
    let i: FocusExportInput = from_js("input", input)?;
    let format = text_format("input.format", i.format.as_deref())?;
    let version = FocusVersion::parse("input.focusVersion", i.focus_version.as_deref())?;
    let commitments = check_terms(&i.commitments, "input.commitments")?;
    let mut usage = HashMap::default();
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
        version,
        commitments,
    };
    let (json, plain) = (format.is_json(), format.is_plain());
    let stream = match i.rules {
        Some(r) => {
            let rules = parse_rules(&r.to_string())?;
            let input = AllocationInput {
                lines: i.lines,
                rules,
                drivers: Default::default(),
            };
            FocusStream::from_allocation(input, ctx, json, plain)?
        }
        None => FocusStream::from_lines(i.lines, ctx, json, plain)?,
    };
    Ok((stream, format, version))
}

/// Rows per chunk when `focusExport` drains its stream.
const EXPORT_CHUNK_ROWS: usize = 20_000;

/// FOCUS rows from cost lines, without fetching (see `exportCost`): the concatenation of
/// `focusExportStream`'s chunks. A text that would pass V8's maximum string length is refused
/// (`INVALID_INPUT`, field `lines`): use `focusExportStream`.
#[wasm_bindgen(js_name = focusExport, unchecked_return_type = "CostExport")]
pub fn focus_export_js(
    #[wasm_bindgen(unchecked_param_type = "FocusExportInput")] input: JsValue,
) -> Result<JsValue, JsValue> {
    let run = || -> Result<(ExportResult, String), Error> {
        let (mut stream, format, version) = focus_stream(&input)?;
        let mut text = String::new();
        let mut units = 0usize;
        while let Some(chunk) = stream.next_chunk(EXPORT_CHUNK_ROWS)? {
            units += if chunk.is_ascii() {
                chunk.len()
            } else {
                chunk.chars().map(char::len_utf16).sum()
            };
            if units > MAX_JS_STRING {
                return Err(Error::invalid(
                    "lines",
                    format!(
                        "make an export too large for one string: after {} rows the text \
                         passes V8's maximum string length ({MAX_JS_STRING} characters); use \
                         focusExportStream(input, {{ chunkRows }}) for inputs this large",
                        stream.rows()
                    ),
                ));
            }
            text.push_str(&chunk);
        }
        let head = ExportResult {
            format: format.name(),
            focus_version: version.name(),
            dataset: FocusDataset::CostAndUsage.name(),
            columns: stream.columns().to_vec(),
            rows: stream.rows(),
            text: String::new(),
            warnings: Vec::new(),
            parquet_columns: None,
        };
        Ok((head, text))
    };
    let (head, text) = run().map_err(js_err)?;
    // The text goes across as a string of its own: inside the result's JSON text it would be
    // escaped (longer) and parsed again.
    let text = JsValue::from_str(&text);
    let obj = to_js(&head)?;
    Reflect::set(&obj, &JsValue::from_str("text"), &text)?;
    Ok(obj)
}

/// Options of `focusExportStream`.
#[derive(Deserialize, Default, tsify::Tsify)]
#[tsify(rename = "FocusExportStreamOptions")]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FocusStreamOptions {
    /// Rows per chunk (an integer ≥ 1, default 10000).
    #[serde(default, deserialize_with = "dps_cost_core::validate::present")]
    #[tsify(optional, type = "number")]
    chunk_rows: Option<usize>,
}

/// The iterator `focusExportStream` returns: `next()` gives `{done: false, value: text}` (the
/// first chunk starts with the CSV header or `[`, the last JSON chunk ends with `]`), then
/// `{done: true}`; `return()` (`break` in `for…of`) drops the input at once, and using the
/// stream afterwards throws `INVALID_INPUT` (field `stream`). `free()` releases the object.
#[wasm_bindgen(js_name = FocusExportStream)]
pub struct FocusExportStreamJs {
    stream: Option<Box<FocusStream>>,
    chunk: usize,
    format: ExportFormat,
    columns: Vec<&'static str>,
    rows: usize,
}

#[wasm_bindgen(js_class = FocusExportStream)]
impl FocusExportStreamJs {
    /// The next chunk of text, or `{done: true}` after the last.
    #[wasm_bindgen(js_name = next, unchecked_return_type = "IteratorResult<string, undefined>")]
    pub fn next_chunk(&mut self) -> Result<JsValue, JsValue> {
        let Some(stream) = self.stream.as_mut() else {
            return Err(closed_error());
        };
        let chunk = match stream.next_chunk(self.chunk) {
            Ok(c) => c,
            Err(e) => {
                self.stream = None;
                return Err(js_err(e));
            }
        };
        self.rows = stream.rows();
        let r = js_sys::Object::new();
        let done = chunk.is_none();
        Reflect::set(&r, &JsValue::from_str("done"), &JsValue::from_bool(done))?;
        let value = chunk.map_or(JsValue::UNDEFINED, |c| JsValue::from_str(&c));
        Reflect::set(&r, &JsValue::from_str("value"), &value)?;
        Ok(r.into())
    }

    /// Closes the stream early (what `for…of` calls on `break`).
    #[wasm_bindgen(
        js_name = "return",
        unchecked_return_type = "IteratorResult<string, undefined>"
    )]
    pub fn close(&mut self) -> Result<JsValue, JsValue> {
        if !self.stream.as_ref().is_some_and(|s| s.is_done()) {
            self.stream = None;
        }
        let r = js_sys::Object::new();
        Reflect::set(&r, &JsValue::from_str("done"), &JsValue::TRUE)?;
        Reflect::set(&r, &JsValue::from_str("value"), &JsValue::UNDEFINED)?;
        Ok(r.into())
    }

    /// `focus`, `focus-json`, `csv` or `json`.
    #[wasm_bindgen(getter)]
    pub fn format(&self) -> String {
        self.format.name().to_string()
    }

    /// The columns of the text.
    #[wasm_bindgen(getter)]
    pub fn columns(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.to_string()).collect()
    }

    /// Rows given so far (all rows once done).
    #[wasm_bindgen(getter)]
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Whether the last chunk has been given.
    #[wasm_bindgen(getter)]
    pub fn done(&self) -> bool {
        self.stream.as_ref().is_some_and(|s| s.is_done())
    }
}

/// `focusExport` as a stream of text chunks of `options.chunkRows` rows (default 10,000): their
/// concatenation is `focusExport(input).text`. Input errors come now (with rules, the
/// allocation's first pass runs now too); a bad row's error with the chunk holding it.
#[wasm_bindgen(js_name = focusExportStream, unchecked_return_type = "FocusExportStream")]
pub fn focus_export_stream(
    #[wasm_bindgen(unchecked_param_type = "FocusExportInput")] input: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "FocusExportStreamOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let run = || -> Result<FocusExportStreamJs, Error> {
        let o: FocusStreamOptions = stream_options(Some(&options))?;
        let chunk = chunk_size("options.chunkRows", o.chunk_rows, 10_000)?;
        let (stream, format, _) = focus_stream(&input)?;
        Ok(FocusExportStreamJs {
            columns: stream.columns().to_vec(),
            stream: Some(Box::new(stream)),
            chunk,
            format,
            rows: 0,
        })
    };
    let s = run().map_err(js_err)?;
    let v = JsValue::from(s);
    make_iterable(&v);
    Ok(v)
}

/// The input of `contractCommitmentExport`: the terms, and the cost lines whose ContractApplied
/// they sum.
#[derive(Deserialize, tsify::Tsify)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ContractCommitmentInput {
    #[tsify(type = "CommitmentTerm[]")]
    commitments: Vec<CommitmentTermInput>,
    #[serde(default)]
    lines: Vec<CostLine>,
    /// "1.3" (default) or "1.4".
    #[serde(default)]
    #[tsify(optional, type = "\"1.3\" | \"1.4\"")]
    focus_version: Option<String>,
    #[serde(default)]
    #[tsify(optional, type = "\"focus\" | \"focus-json\"")]
    format: Option<String>,
    /// ISO-8601; lifecycle status and days remaining are as of this instant.
    now: String,
}

/// The FOCUS Contract Commitment dataset (1.3: 13 columns, 1.4: 30, then the `x_` columns) of
/// DPS commitment terms, without fetching (see `exportCost` with `dataset:
/// "contract-commitment"`); `x_AppliedCost` sums the ContractApplied of `lines` as
/// `focusExport` writes them.
#[wasm_bindgen(js_name = contractCommitmentExport, unchecked_return_type = "CostExport")]
pub fn contract_commitment_export_js(
    #[wasm_bindgen(unchecked_param_type = "ContractCommitmentInput")] input: JsValue,
) -> Result<JsValue, JsValue> {
    let run = || -> Result<ExportResult, Error> {
        let i: ContractCommitmentInput = from_js("input", &input)?;
        let version = FocusVersion::parse("input.focusVersion", i.focus_version.as_deref())?;
        FocusDataset::ContractCommitment.check("input.focusVersion", version)?;
        let format = text_format("input.format", i.format.as_deref())?;
        if format.is_plain() {
            return Err(Error::invalid(
                "input.format",
                "the contract-commitment dataset is written as focus (CSV) or focus-json",
            ));
        }
        let now_ms = parse_timestamp_ms(&i.now)
            .ok_or_else(|| Error::invalid("input.now", "is not an ISO-8601 timestamp"))?;
        let terms = check_terms(&i.commitments, "input.commitments")?;
        let applied = applied_per_term(
            &terms,
            i.lines.iter().filter_map(|l| {
                Some((
                    l.tags.get("subscription").map(String::as_str),
                    parse_date(&l.date)?,
                    micros_from_f64(l.cost)?,
                ))
            }),
        );
        let table = commitment_table(&terms, &applied, version, now_ms)?;
        export_result(
            table,
            format,
            version,
            FocusDataset::ContractCommitment,
            Vec::new(),
        )
    };
    to_js(&run().map_err(js_err)?)
}

/// The input of `forecastSpend`.
#[derive(Deserialize, tsify::Tsify)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ForecastInput {
    /// Daily cost, oldest first, one value per consecutive day. A `Float64Array` is read straight
    /// from memory (then absent here); a missing `Option` is `None` without `#[serde(default)]`,
    /// which keeps the field required in the TypeScript.
    #[tsify(type = "number[] | Float64Array")]
    history: Option<Vec<f64>>,
    /// The day of `history[0]` (YYYY-MM-DD): fixes the weekdays.
    first_date: String,
    /// Days to forecast (0..=3660).
    horizon: u32,
}

/// The model behind a `forecastSpend` result.
#[derive(Serialize, tsify::Tsify)]
#[tsify(rename = "ForecastModel")]
#[serde(rename_all = "camelCase")]
struct ModelOut {
    /// The best candidate by cross-validation: "robust trend", "robust exponential trend",
    /// "damped-trend ETS", "trailing 28-day mean", "seasonal naive", "mean of trend, damped trend
    /// and trailing mean", or "short history: mean" (fewer than 28 days: flat, ±50 % band).
    kind: &'static str,
    /// The candidates combined (the best three by cross-validation, weights ∝ 1 / error).
    #[tsify(type = "ForecastWeight[]")]
    weights: Vec<WeightOut>,
    /// Days the best candidate was fitted on.
    window: usize,
    /// Per weekday, Monday first (all 1: no weekly pattern detected).
    weekday_factors: [f64; 7],
    /// Per day of the month, 1st first (1: no pattern on that day).
    month_day_factors: Vec<f64>,
    /// Index in history of the first day after the last level shift, or null.
    change_point: Option<usize>,
    level: f64,
    slope: f64,
    sigma: f64,
    /// Mean absolute % error (as a fraction) of the combination in cross-validation; null: not
    /// checked.
    cv_error: Option<f64>,
    /// Cross-validation origins behind the band.
    cv_origins: usize,
}

/// One candidate of the combination and its weight.
#[derive(Serialize, tsify::Tsify)]
#[tsify(rename = "ForecastWeight")]
struct WeightOut {
    kind: &'static str,
    weight: f64,
}

/// What `forecastSpend` returns.
#[derive(Serialize, tsify::Tsify)]
#[tsify(rename = "SpendForecast")]
struct ForecastOut {
    /// Expected cost of each day after the history.
    daily: Vec<f64>,
    /// Cumulative expected cost, and its 90 % band.
    cumulative: Vec<f64>,
    lower: Vec<f64>,
    upper: Vec<f64>,
    #[tsify(type = "ForecastModel")]
    model: ModelOut,
}

/// Forecast of daily spend: detected weekly and day-of-month seasonality, level shifts, and the
/// best candidates by rolling-origin cross-validation, with a 90 % band from their own errors
/// (see README "Forecast" for the model and its backtest).
#[wasm_bindgen(js_name = forecastSpend, unchecked_return_type = "SpendForecast")]
pub fn forecast_spend_js(
    #[wasm_bindgen(unchecked_param_type = "ForecastInput")] input: JsValue,
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
        let f = forecast(&history, first, i.horizon as usize).map_err(|e| e.under("input"))?;
        Ok(ForecastOut {
            daily: f.daily,
            cumulative: f.cumulative,
            lower: f.lower,
            upper: f.upper,
            model: ModelOut {
                kind: f.model.kind.name(),
                weights: f
                    .model
                    .weights
                    .iter()
                    .map(|(k, w)| WeightOut {
                        kind: k.name(),
                        weight: *w,
                    })
                    .collect(),
                window: f.model.window,
                weekday_factors: f.model.weekday_factors,
                month_day_factors: f.model.month_day_factors.to_vec(),
                change_point: f.model.change_point,
                level: f.model.level,
                slope: f.model.slope,
                sigma: f.model.sigma,
                cv_error: f.model.cv_error,
                cv_origins: f.model.cv_origins,
            },
        })
    };
    to_js(&run().map_err(js_err)?)
}
