//! Bench-only exports (cargo feature `bench-boundary`, never in a shipped build): the same work
//! behind three boundary styles, so `bench/boundary.mjs` can measure the crossing itself.
//!
//! - `costToDate` (shipped): JS values → `JSON.stringify` → serde_json … serde_json →
//!   `JSON.parse` → JS values.
//! - `costToDateSwb`: JS values ↔ Rust through serde-wasm-bindgen (no JSON text).
//! - `costToDateText`: JSON text in, JSON text out (the caller parses if it wants objects).
//! - `forecastSpendTyped`: a `Float64Array` in and out, against `forecastSpend`'s JSON path.

use wasm_bindgen::prelude::*;

use dps_cost_core::error::Error;
use dps_cost_core::model::cost::CostRecord;
use dps_cost_core::process::cost_to_date::cost_to_date;
use dps_cost_core::process::forecast::forecast;

use super::js_err;

/// `costToDate` with serde-wasm-bindgen on both sides.
#[wasm_bindgen(js_name = costToDateSwb)]
pub fn cost_to_date_swb(records: JsValue) -> Result<JsValue, JsValue> {
    let records: Vec<CostRecord> = serde_wasm_bindgen::from_value(records)
        .map_err(|e| js_err(Error::invalid("records", e)))?;
    let out = cost_to_date(records).map_err(js_err)?;
    let ser = serde_wasm_bindgen::Serializer::json_compatible();
    serde::Serialize::serialize(&out, &ser).map_err(|e| {
        js_err(Error::Internal {
            message: e.to_string(),
        })
    })
}

/// `costToDate` with JSON text on both sides.
#[wasm_bindgen(js_name = costToDateText)]
pub fn cost_to_date_text(records: &str) -> Result<String, JsValue> {
    let records: Vec<CostRecord> =
        dps_cost_core::model::decode_input("records", records).map_err(js_err)?;
    let out = cost_to_date(records).map_err(js_err)?;
    serde_json::to_string(&out).map_err(|e| {
        js_err(Error::Internal {
            message: e.to_string(),
        })
    })
}

/// The cumulative median forecast as a `Float64Array`, from a `Float64Array` history.
#[wasm_bindgen(js_name = forecastSpendTyped)]
pub fn forecast_spend_typed(
    history: &[f64],
    first_day: i32,
    horizon: u32,
) -> Result<Vec<f64>, JsValue> {
    forecast(history, i64::from(first_day), horizon as usize)
        .map(|f| f.cumulative)
        .map_err(js_err)
}
