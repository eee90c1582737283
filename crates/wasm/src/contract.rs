//! The contract's JS API beyond `sync` (feature `contract`): `getToken`, `costToDate`,
//! `buildBizevents`, `ingest`, and the client options `DpsClient` shares. The Workflow file's
//! module is built without it.

use js_sys::Promise;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use dps_cost_client::api::{fetch_token, Endpoints};
use dps_cost_client::auth::{Credentials, Secret, SCOPE_ACCOUNT_READ};
use dps_cost_client::clock::now_or_clock;
use dps_cost_client::http::{RetryOptions, RetryPolicy};
use dps_cost_client::ingest::{IngestAuth, IngestTarget, PreparedEvent};
use dps_cost_core::error::Error;
use dps_cost_core::events::bizevents::build_bizevents;
use dps_cost_core::model::cost::CostRecord;
use dps_cost_core::model::subscription::SubscriptionDetails;
use dps_cost_core::process::cost_to_date::cost_to_date as core_cost_to_date;
use dps_cost_core::validate::check_uuid;

use super::convert::{from_js, to_js};
use super::transport::{JsClock, Transport};
use super::{js_err, promise};

/// JS only: the `fetch` option (merged into the generated interfaces), and `ClientOptions`, the
/// name `new DpsClient` gives the options it shares with `getToken` (one Rust type).
#[wasm_bindgen(typescript_custom_section)]
const TS_FETCH_OPTIONS: &str = r#"
export interface TokenOptions { fetch?: FetchLike }
export type ClientOptions = TokenOptions;
export interface IngestOptions { fetch?: FetchLike }
"#;

/// Options of `getToken` and `new DpsClient` (`ClientOptions`).
#[derive(Deserialize, tsify::Tsify)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TokenOptions {
    account_uuid: String,
    client_id: String,
    client_secret: Secret,
    /// Space-separated; default "account-uac-read".
    #[serde(default)]
    scope: Option<String>,
    /// Default https://sso.dynatrace.com/sso/oauth2/token
    #[serde(default)]
    sso_url: Option<String>,
    /// Default https://api.dynatrace.com (`DpsClient`).
    #[serde(default)]
    api_url: Option<String>,
    #[serde(default)]
    retry: Option<RetryOptions>,
}

#[derive(Serialize, tsify::Tsify)]
#[serde(rename_all = "camelCase")]
struct TokenInfo {
    access_token: String,
    token_type: String,
    expires_in: i64,
    scope: Option<String>,
    resource: Option<String>,
}

/// What a client needs, validated from its options.
pub(crate) struct ClientParts {
    pub transport: Transport,
    pub endpoints: Endpoints,
    pub creds: Credentials,
    pub scope: String,
    pub retry: RetryPolicy,
}

pub(crate) fn client_parts(options: &JsValue) -> Result<ClientParts, Error> {
    let o: TokenOptions = from_js("options", options)?;
    let retry = o.retry.unwrap_or_default().policy()?;
    let transport = Transport::from_options(options)?;
    let endpoints = Endpoints::new(o.sso_url.as_deref(), o.api_url.as_deref())?;
    let creds = Credentials::new("", &o.account_uuid, &o.client_id, o.client_secret.expose())?;
    let scope = o
        .scope
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| SCOPE_ACCOUNT_READ.to_string());
    Ok(ClientParts {
        transport,
        endpoints,
        creds,
        scope,
        retry,
    })
}

/// Gets an OAuth access token (client credentials) for one account.
#[wasm_bindgen(js_name = getToken, unchecked_return_type = "Promise<TokenInfo>")]
pub fn get_token(
    #[wasm_bindgen(unchecked_param_type = "TokenOptions")] options: JsValue,
) -> Promise {
    let parts = client_parts(&options);
    promise(async move {
        let p = parts?;
        let t = fetch_token(
            &p.transport,
            &JsClock,
            &p.endpoints.sso,
            &p.creds,
            &p.scope,
            p.retry,
        )
        .await?;
        Ok(TokenInfo {
            access_token: t.token.expose().to_string(),
            token_type: t.token_type,
            expires_in: t.expires_in_secs,
            scope: t.scope,
            resource: t.resource,
        })
    })
}

/// Sorts daily cost by start time (stable) and adds the running total `costToDate`.
#[wasm_bindgen(js_name = costToDate, unchecked_return_type = "CostToDateRecord[]")]
pub fn cost_to_date(
    #[wasm_bindgen(unchecked_param_type = "CostRecord[]")] records: JsValue,
) -> Result<JsValue, JsValue> {
    // The JSON path of an element (`[3].value`) is named from the argument.
    let records: Vec<CostRecord> =
        from_js("records", &records).map_err(|e| js_err(e.under("records")))?;
    let out = core_cost_to_date(records).map_err(|e| js_err(e.under("records")))?;
    to_js(&out)
}

#[derive(Deserialize, tsify::Tsify)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BizeventInput {
    account_uuid: String,
    /// Shown in dashboards; default the account UUID.
    #[serde(default)]
    account_name: Option<String>,
    subscription: SubscriptionDetails,
    /// Raw daily cost records, any order.
    costs: Vec<CostRecord>,
    /// ISO-8601; default now. Picks the day of the subscription snapshot's event.id.
    #[serde(default)]
    now: Option<String>,
}

/// Builds `dps.subscription.status` and one `dps.cost2.booked` per day (seed-003 schema, flat,
/// deterministic `event.id`, no `timestamp`).
#[wasm_bindgen(js_name = buildBizevents, unchecked_return_type = "Bizevent[]")]
pub fn build_bizevents_js(
    #[wasm_bindgen(unchecked_param_type = "BizeventInput")] input: JsValue,
) -> Result<JsValue, JsValue> {
    let i: BizeventInput = from_js("input", &input).map_err(js_err)?;
    let account = check_uuid("input.accountUuid", &i.account_uuid).map_err(js_err)?;
    let now_ms = now_or_clock(&JsClock, "input.now", i.now.as_deref()).map_err(js_err)?;
    let costs = core_cost_to_date(i.costs).map_err(|e| js_err(e.under("input.costs")))?;
    let name = i.account_name.unwrap_or_else(|| account.clone());
    to_js(&build_bizevents(
        &i.subscription,
        &account,
        &name,
        &costs,
        now_ms,
    ))
}

#[derive(Deserialize, tsify::Tsify)]
#[tsify(rename = "IngestOptions")]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct IngestInput {
    /// https://{env}.live.dynatrace.com/api/v2/bizevents/ingest,
    /// https://{env}.apps.dynatrace.com/platform/classic/environment-api/v2/bizevents/ingest, or
    /// inside a Workflow the relative /platform/classic/environment-api/v2/bizevents/ingest (no
    /// token needed).
    url: String,
    #[tsify(type = "Bizevent[]")]
    events: Vec<serde_json::Value>,
    /// OAuth bearer token (storage:events:write).
    #[serde(default)]
    access_token: Option<Secret>,
    /// Classic API token (bizevents.ingest), classic URL only.
    #[serde(default)]
    api_token: Option<Secret>,
    #[serde(default)]
    retry: Option<RetryOptions>,
}

type IngestParts = (Transport, IngestTarget, Vec<PreparedEvent>, RetryPolicy);

fn ingest_parts(options: &JsValue) -> Result<IngestParts, Error> {
    let i: IngestInput = from_js("options", options)?;
    let transport = Transport::from_options(options)?;
    let auth = IngestAuth::resolve("options.", &i.url, i.access_token, i.api_token, None)?;
    let target = IngestTarget::new(&i.url, auth)?;
    let mut prepared = Vec::with_capacity(i.events.len());
    for (n, e) in i.events.iter().enumerate() {
        if !e.is_object() {
            return Err(Error::invalid(
                format!("options.events[{n}]"),
                "must be an object",
            ));
        }
        let id = e.get("event.id").and_then(|v| v.as_str());
        prepared.push(PreparedEvent::from_serialize(id, e)?);
    }
    let retry = i.retry.unwrap_or_default().policy()?;
    Ok((transport, target, prepared, retry))
}

/// Sends bizevents (batched under 5 MiB, 413 split, 429/5xx retried) and reports the fate of each.
/// Throws when nothing was stored and something failed; otherwise resolves with the report.
#[wasm_bindgen(unchecked_return_type = "Promise<IngestReport>")]
pub fn ingest(#[wasm_bindgen(unchecked_param_type = "IngestOptions")] options: JsValue) -> Promise {
    let parts = ingest_parts(&options);
    promise(async move {
        let (transport, target, events, retry) = parts?;
        dps_cost_client::ingest::ingest(&transport, &JsClock, &target, &events, retry).await
    })
}
