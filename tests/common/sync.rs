//! The one account the sync tests run against (sync_events.rs, sync_rule_allocation.rs): its
//! endpoints, ids and token reply, the options of a run with overrides, the run itself, and the
//! events it sent.

use dps_cost::clock::FixedClock;
use dps_cost::http::RetryPolicy;
use dps_cost::sync::{run_sync, SyncOptions, SyncSummary};

use super::{block_on, Replay};

pub const SSO: &str = "https://sso.example.test/sso/oauth2/token";
pub const API: &str = "https://api.example.test";
pub const ACC: &str = "4f3c4f3c-c4f3-c4f3-c4f3-c4f3c4f3c4f3";
pub const SUB: &str = "c4f3c4f3-c4f3-c4f3-c4f3-c4f3c4f3c4f3";
pub const INGEST: &str = "https://abc12345.live.dynatrace.com/api/v2/bizevents/ingest";
pub const TOKEN: &str = r#"{"token_type":"Bearer","expires_in":300,"access_token":"eyJT"}"#;

/// The account's subscription API URL ending in `rest`.
pub fn sub_url(rest: &str) -> String {
    format!("{API}/sub/v2/accounts/{ACC}/subscriptions{rest}")
}

/// The sync options of the account, `extra`'s top-level fields replacing the defaults.
pub fn options(extra: serde_json::Value) -> SyncOptions {
    let mut v = serde_json::json!({
        "accounts": [{ "accountUuid": ACC, "clientId": "dt0s02.A", "clientSecret": "dt0s02.A.S", "name": "ACME" }],
        "ssoUrl": SSO, "apiUrl": API, "now": "2024-10-27T08:00:00Z",
        "ingest": { "url": INGEST, "accessToken": "eyJI" }
    });
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"))
}

/// One sync over `http` with [`options`]`(extra)`, no retries, the clock at 0.
pub fn run(http: &Replay, extra: serde_json::Value) -> SyncSummary {
    let cfg = options(extra).validate().unwrap_or_else(|e| panic!("{e}"));
    block_on(run_sync(http, &FixedClock(0), &cfg, RetryPolicy::NONE))
}

/// Every event the ingest requests carried, in order.
pub fn sent_events(http: &Replay) -> Vec<serde_json::Value> {
    http.requests_to(INGEST)
        .iter()
        .flat_map(|r| {
            serde_json::from_str::<Vec<serde_json::Value>>(r.body.as_deref().unwrap_or("[]"))
                .unwrap_or_default()
        })
        .collect()
}
