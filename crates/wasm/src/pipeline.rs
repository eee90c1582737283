//! `costEventsFromJson`: the cost pipeline with text on both sides of the boundary. The reply
//! text crosses once (`TextEncoder.encodeInto` straight into wasm memory), the events come back
//! as one string (`TextDecoder`): no JS objects are built or walked per record. Measured against
//! the value-passing exports in BENCHMARKS.md.

use js_sys::JsString;
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use dps_cost_client::clock::now_or_clock;
use dps_cost_core::error::Error;
use dps_cost_core::events::cost_json::{cost_events_json, PipelineContext};
use dps_cost_core::model::subscription::SubscriptionDetails;
use dps_cost_core::validate::check_uuid;

use super::convert::{from_js, utf8_of};
use super::js_err;
use super::transport::JsClock;

#[derive(Deserialize, tsify::Tsify)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CostEventsOptions {
    account_uuid: String,
    /// Shown in dashboards; default the account UUID.
    #[serde(default)]
    account_name: Option<String>,
    subscription: SubscriptionDetails,
    /// ISO-8601; default now. Picks the day of the subscription snapshot's event.id.
    #[serde(default)]
    now: Option<String>,
}

/// `buildBizevents` from the `/cost` reply's JSON text (`{"data":[…]}` or the record array) to
/// the events' JSON text (the same events, byte for byte `JSON.stringify`-compatible): the
/// fast path for large histories. Errors name the JSON path (`data[3].value`).
#[wasm_bindgen(js_name = costEventsFromJson)]
pub fn cost_events_from_json(
    #[wasm_bindgen(unchecked_param_type = "string")] reply: JsValue,
    #[wasm_bindgen(unchecked_param_type = "CostEventsOptions")] options: JsValue,
) -> Result<String, JsValue> {
    let run = || -> Result<String, Error> {
        let reply = reply
            .dyn_ref::<JsString>()
            .ok_or_else(|| Error::invalid("reply", "must be a string (the reply's JSON text)"))?;
        let reply = utf8_of(reply)
            .or_else(|| reply.as_string())
            .ok_or_else(|| Error::invalid("reply", "is not valid text"))?;
        let o: CostEventsOptions = from_js("options", &options)?;
        let account = check_uuid("options.accountUuid", &o.account_uuid)?;
        let now_ms = now_or_clock(&JsClock, "options.now", o.now.as_deref())?;
        let name = o.account_name.clone().unwrap_or_else(|| account.clone());
        cost_events_json(
            &reply,
            &PipelineContext {
                subscription: &o.subscription,
                account_uuid: &account,
                account_name: &name,
                now_ms,
            },
        )
    };
    run().map_err(js_err)
}
