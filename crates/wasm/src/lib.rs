//! dps-cost-wasm: the JavaScript bindings of dps-cost, and the only crate with
//! `#[wasm_bindgen]`. JS-callable wrappers over `dps-cost-client` and `dps-cost-core`: every
//! failure becomes a real `Error` (`name` "DpsCostError", `code`, `status`, `field`).
//!
//! Built for `wasm32-unknown-unknown` only; on other targets the crate is empty.
#![cfg(target_arch = "wasm32")]

#[cfg(feature = "full")]
mod allocate;
#[cfg(feature = "full")]
mod allocate_input_js;
#[cfg(feature = "full")]
mod allocate_lines_js;
#[cfg(feature = "bench-boundary")]
mod boundary;
#[cfg(feature = "contract")]
mod client;
#[cfg(feature = "contract")]
mod contract;
mod convert;
mod heap;
#[doc(hidden)]
pub mod panic;
#[cfg(feature = "contract")]
mod pipeline;
#[cfg(feature = "full")]
mod report;
mod transport;

#[cfg(feature = "contract")]
pub use client::DpsClient;
#[cfg(feature = "contract")]
pub use contract::{build_bizevents_js, cost_to_date, get_token, ingest};

use js_sys::{Promise, Reflect};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use convert::{error_to_js, from_js, to_js};
use dps_cost_client::sync::{run_sync, SyncOptions};
use dps_cost_core::error::Error;
use transport::{JsClock, Transport};

/// What exists only in JS: the `fetch` option's function type, and that option merged into the
/// interfaces generated from the Rust option types (declaration merging adds it to their fields).
/// The other exports' merges sit next to them (contract.rs, report.rs, `datadogRules` below).
#[wasm_bindgen(typescript_custom_section)]
const TS_FETCH: &str = r#"
/** A fetch-compatible function; the global `fetch` fits. (JS only.) */
export type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body?: string }) =>
  Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>;
export interface SyncConfig { fetch?: FetchLike }
"#;

/// The `fetch` option of `datadogRules` (JS only).
#[cfg(feature = "full")]
#[wasm_bindgen(typescript_custom_section)]
const TS_DATADOG_FETCH: &str = "export interface DatadogOptions { fetch?: FetchLike }";

pub(crate) fn js_err(e: Error) -> JsValue {
    error_to_js(&e)
}

pub(crate) fn promise<F, T>(f: F) -> Promise
where
    F: std::future::Future<Output = Result<T, Error>> + 'static,
    T: Serialize,
{
    // Boxed as a trait object: `future_to_promise` is then compiled once, not once per method.
    let boxed: std::pin::Pin<Box<dyn std::future::Future<Output = Result<JsValue, JsValue>>>> =
        Box::pin(async move {
            match f.await {
                Ok(v) => to_js(&v),
                Err(e) => Err(js_err(e)),
            }
        });
    future_to_promise(boxed)
}

/// The library version.
#[wasm_bindgen]
pub fn version() -> String {
    dps_cost_core::VERSION.to_string()
}

/// Whether `value` is an error thrown by dps-cost: an `Error` named "DpsCostError" with a string
/// `code`. Only `error_to_js` builds those, and its codes are `Error::code()`'s, which a native
/// test keeps equal to `CODES` (the `DpsCostErrorCode` union); so the guard does not look the code
/// up (that would cost the Workflow module bytes for no behaviour).
#[wasm_bindgen(js_name = isDpsCostError, unchecked_return_type = "value is DpsCostError")]
pub fn is_dps_cost_error(
    #[wasm_bindgen(unchecked_param_type = "unknown")] value: &JsValue,
) -> bool {
    value.is_instance_of::<js_sys::Error>()
        && Reflect::get(value, &JsValue::from_str("name"))
            .ok()
            .and_then(|n| n.as_string())
            .as_deref()
            == Some("DpsCostError")
        && Reflect::get(value, &JsValue::from_str("code"))
            .map(|c| c.is_string())
            .unwrap_or(false)
}

/// The whole pipeline for every account: token → subscription → daily cost → cost-to-date →
/// bizevents → ingest (unless `ingest` is absent: dry run). Rejects only on invalid config.
#[wasm_bindgen(unchecked_return_type = "Promise<SyncSummary>")]
pub fn sync(#[wasm_bindgen(unchecked_param_type = "SyncConfig")] config: JsValue) -> Promise {
    let parts = from_js::<SyncOptions>("config", &config)
        .and_then(|o| o.validate())
        .and_then(|c| Transport::from_options(&config).map(|t| (t, c)));
    promise(async move {
        let (transport, cfg) = parts?;
        let retry = cfg.retry;
        Ok(run_sync(&transport, &JsClock, &cfg, retry).await)
    })
}

/// Options of `datadogRules`.
#[cfg(feature = "full")]
#[derive(serde::Deserialize, tsify::Tsify)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DatadogOptions {
    api_key: dps_cost_client::auth::Secret,
    application_key: dps_cost_client::auth::Secret,
    #[serde(default)]
    site: Option<String>,
    #[serde(default)]
    base_url: Option<String>,
    #[serde(default)]
    rule_id: Option<String>,
    #[serde(default)]
    retry: Option<dps_cost_client::http::RetryOptions>,
}

/// Datadog custom allocation rules as Datadog returns them (`ArbitraryRuleResponseArray`, or
/// `ArbitraryRuleResponse` with `ruleId`). `site`: `datadoghq.com` (default), `datadoghq.eu`,
/// `us3`, `us5`, `ap1`, `ap2`, `ddog-gov.com`, …; or `baseUrl`.
#[cfg(feature = "full")]
#[wasm_bindgen(js_name = datadogRules, unchecked_return_type = "Promise<unknown>")]
pub fn datadog_rules(
    #[wasm_bindgen(unchecked_param_type = "DatadogOptions")] options: JsValue,
) -> Promise {
    let parts = from_js::<DatadogOptions>("options", &options).and_then(|o| {
        let transport = Transport::from_options(&options)?;
        let base =
            dps_cost_client::api::datadog::api_base(o.site.as_deref(), o.base_url.as_deref())?;
        let retry = o.retry.unwrap_or_default().policy()?;
        let api = dps_cost_client::api::datadog::DatadogApi::new(
            transport,
            JsClock,
            base,
            o.api_key,
            o.application_key,
        )?
        .with_retry(retry);
        Ok((api, o.rule_id))
    });
    promise(async move {
        let (api, rule_id) = parts?;
        let body = match rule_id {
            Some(id) => api.rule_json(&id).await?,
            None => api.list_rules_json().await?,
        };
        dps_cost_core::model::decode::<serde_json::Value>("Datadog rules", &body)
    })
}
