//! The whole core against a replay transport: exact requests, token caching, every error code,
//! ingest outcomes, seed-003 compatibility and golden files.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::cell::Cell;

use common::{assert_golden, block_on, fixture, serve_account, Replay};
use dps_cost::api::cost::CostFilter;
use dps_cost::api::{AccountApi, Endpoints};
use dps_cost::auth::Credentials;
use dps_cost::clock::{Clock, FixedClock};
use dps_cost::events::bizevents::build_bizevents;
use dps_cost::http::{HttpResponse, Method, RetryPolicy};
use dps_cost::ingest::{ingest, IngestAuth, IngestTarget, PreparedEvent};
use dps_cost::model::subscription::SubscriptionDetails;
use dps_cost::process::cost_to_date::cost_to_date;
use dps_cost::sync::{run_sync, SyncOptions};
use dps_cost::time::parse_timestamp_ms;
use dps_cost::Error;

const SSO: &str = "https://sso.example.test/sso/oauth2/token";
const API: &str = "https://api.example.test";
const ACC: &str = "4f3c4f3c-c4f3-c4f3-c4f3-c4f3c4f3c4f3";
const ACC2: &str = "7b1e4f2a-3c5d-4e6f-8a9b-0c1d2e3f4a5b";
const SUB: &str = "c4f3c4f3-c4f3-c4f3-c4f3-c4f3c4f3c4f3";
const SECRET: &str = "dt0s02.CLIENTA.SUPERSECRETVALUE0123456789";
const TOKEN_BODY: &str = r#"{"scope":"account-uac-read","token_type":"Bearer","expires_in":300,"access_token":"eyJTOKEN-A","resource":"urn:dtaccount:x"}"#;
const NOW: &str = "2024-10-27T08:00:00Z";
const INGEST: &str = "https://abc12345.live.dynatrace.com/api/v2/bizevents/ingest";

struct StepClock(Cell<i64>);
impl Clock for StepClock {
    fn now_ms(&self) -> i64 {
        self.0.get()
    }
}

fn now_ms() -> i64 {
    parse_timestamp_ms(NOW).unwrap_or_else(|| unreachable!())
}

fn endpoints() -> Endpoints {
    Endpoints::new(Some(SSO), Some(API)).unwrap_or_else(|e| panic!("{e}"))
}

fn creds() -> Credentials {
    Credentials::new("", ACC, "dt0s02.CLIENTA", SECRET).unwrap_or_else(|e| panic!("{e}"))
}

fn sub_url(rest: &str) -> String {
    format!("{API}/sub/v2/accounts/{ACC}/subscriptions{rest}")
}

/// A replay serving one healthy account.
fn healthy() -> Replay {
    let r = Replay::new();
    serve_account(&r, SSO, API, ACC, SUB, TOKEN_BODY);
    r
}

fn options(json: serde_json::Value) -> SyncOptions {
    serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"))
}

fn one_account(ingest: serde_json::Value) -> SyncOptions {
    options(serde_json::json!({
        "accounts": [{ "accountUuid": ACC, "clientId": "dt0s02.CLIENTA", "clientSecret": SECRET, "name": "ACME Global" }],
        "ssoUrl": SSO, "apiUrl": API, "now": NOW, "ingest": ingest,
        // the seed-003 kinds over the whole history: what these tests are about
        "fullHistory": true, "include": seed_only()
    }))
}

/// Only the two seed-003 event kinds.
fn seed_only() -> serde_json::Value {
    serde_json::json!({ "environmentCost": false, "environmentUsage": false, "forecast": false, "allocation": false })
}

#[test]
fn token_is_requested_once_and_renewed_30s_before_expiry() {
    let http = healthy();
    let clock = StepClock(Cell::new(now_ms()));
    let api = AccountApi::new(&http, &clock, endpoints(), creds(), None);
    block_on(async {
        api.subscriptions().await.unwrap_or_else(|e| panic!("{e}"));
        clock.0.set(now_ms() + 269_000);
        api.subscriptions().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            http.requests_to(SSO).len(),
            1,
            "cached token reused until 30 s before expiry"
        );
        clock.0.set(now_ms() + 270_000);
        api.subscriptions().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(http.requests_to(SSO).len(), 2, "renewed 30 s before expiry");
    });
    let token = &http.requests_to(SSO)[0];
    assert_eq!(
        token.header_value("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let body = token.body.clone().unwrap_or_default();
    for part in [
        "grant_type=client_credentials",
        "client_id=dt0s02.CLIENTA",
        "scope=account-uac-read",
        &format!("resource=urn%3Adtaccount%3A{ACC}"),
    ] {
        assert!(body.contains(part), "{part} missing in token body");
    }
    for api_call in http.requests_to("/subscriptions") {
        assert_eq!(
            api_call.header_value("authorization"),
            Some("Bearer eyJTOKEN-A")
        );
    }
}

#[test]
fn a_401_refreshes_the_token_once_then_reports_unauthorized() {
    let http = healthy();
    http.on(
        Method::Get,
        &sub_url(""),
        vec![
            Ok(HttpResponse::new(
                401,
                r#"{"error":true,"message":"No valid session provided","payload":null}"#,
            )),
            Ok(HttpResponse::new(200, fixture("subscriptions.json"))),
        ],
    );
    let clock = FixedClock(now_ms());
    let api = AccountApi::new(&http, &clock, endpoints(), creds(), None);
    let subs = block_on(api.subscriptions()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(subs.len(), 3);
    assert_eq!(http.requests_to(SSO).len(), 2);

    let http = healthy();
    http.ok(
        Method::Get,
        &sub_url(""),
        401,
        r#"{"error":true,"message":"No valid session provided","payload":null}"#,
    );
    let api = AccountApi::new(&http, &clock, endpoints(), creds(), None);
    let e = block_on(api.subscriptions())
        .err()
        .unwrap_or_else(|| panic!());
    assert_eq!((e.code(), e.status()), ("UNAUTHORIZED", Some(401)));
    assert!(e.to_string().contains("No valid session provided"));
    assert_eq!(http.requests_to(SSO).len(), 2, "exactly one refresh");
}

#[test]
fn subscriptions_active_details_and_cost() {
    let http = healthy();
    let clock = FixedClock(now_ms());
    let api = AccountApi::new(&http, &clock, endpoints(), creds(), None);
    block_on(async {
        let active = api
            .active_subscription()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(active.uuid, SUB);
        let d = api
            .subscription(SUB)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.budget.as_ref().and_then(|b| b.total), Some(1_000_000.0));
        assert_eq!(
            d.current_period.as_ref().and_then(|p| p.days_remaining),
            Some(312)
        );
        let filter = CostFilter {
            environment_ids: vec!["abc12345".into(), "def67890".into()],
            capability_keys: vec!["LOG_MANAGEMENT_INGEST".into()],
            cluster_ids: vec![],
        };
        let cost = api
            .daily_cost(SUB, &filter)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cost.len(), 4);
    });
    let cost_req = http.requests_to("/cost");
    assert_eq!(
        cost_req[0].url,
        sub_url(&format!(
            "/{SUB}/cost?environmentIds=abc12345%2Cdef67890&capabilityKeys=LOG_MANAGEMENT_INGEST"
        ))
    );
    // seed-003 defect: the cost request went out without Authorization.
    assert_eq!(
        cost_req[0].header_value("authorization"),
        Some("Bearer eyJTOKEN-A")
    );
}

#[test]
fn every_api_error_has_its_code() {
    let clock = FixedClock(now_ms());
    let cases: Vec<(u16, &str, &str)> = vec![
        (
            403,
            r#"{"error":true,"message":"Forbidden","payload":null}"#,
            "FORBIDDEN",
        ),
        (
            404,
            r#"{"error":true,"message":"Cannot get requested resource.","payload":null}"#,
            "NOT_FOUND",
        ),
        (
            429,
            r#"{"error":true,"message":"Too many requests","payload":null}"#,
            "RATE_LIMITED",
        ),
        (
            500,
            r#"{"error":{"code":500,"message":"boom"}}"#,
            "HTTP_STATUS",
        ),
        (
            200,
            r#"{"data":[{"startTime":"2024-10-22T00:00:00Z","value":"12"}]}"#,
            "DECODE",
        ),
        (200, r#"{"data":"#, "DECODE"),
        (200, r#"{"lastModifiedTime":"x"}"#, "DECODE"),
    ];
    for (status, body, code) in cases {
        let http = healthy();
        http.ok(Method::Get, &sub_url(&format!("/{SUB}/cost")), status, body);
        let api = AccountApi::new(&http, &clock, endpoints(), creds(), None);
        let e = block_on(api.daily_cost(SUB, &CostFilter::default()))
            .err()
            .unwrap_or_else(|| panic!("{status}"));
        assert_eq!(e.code(), code, "{status} {body}: {e}");
    }
    // a decode error keeps the JSON path
    let http = healthy();
    http.ok(Method::Get, &sub_url(&format!("/{SUB}/cost")), 200, r#"{"data":[{"startTime":"2024-10-22T00:00:00Z","value":1},{"startTime":"2024-10-23T00:00:00Z","value":"12"}]}"#);
    let api = AccountApi::new(&http, &clock, endpoints(), creds(), None);
    let e = block_on(api.daily_cost(SUB, &CostFilter::default()))
        .err()
        .unwrap_or_else(|| panic!());
    assert_eq!(e.field(), Some("data[1].value"));

    // network failures are retried, then reported
    let http = healthy();
    http.on(
        Method::Get,
        &sub_url(""),
        vec![Err(Error::Network {
            endpoint: String::new(),
            message: "refused".into(),
        })],
    );
    let api = AccountApi::new(&http, &clock, endpoints(), creds(), None);
    let e = block_on(api.subscriptions())
        .err()
        .unwrap_or_else(|| panic!());
    assert_eq!(e.code(), "NETWORK");
    assert_eq!(http.requests_to("/subscriptions").len(), 4);
    assert_eq!(*http.sleeps.borrow(), vec![1_000, 2_000, 4_000]);

    // path identifiers are validated before any request
    let http = healthy();
    let api = AccountApi::new(&http, &clock, endpoints(), creds(), None);
    let e = block_on(api.subscription("../../x"))
        .err()
        .unwrap_or_else(|| panic!());
    assert_eq!(
        (e.code(), e.field()),
        ("INVALID_INPUT", Some("subscriptionUuid"))
    );
    assert!(http.log.borrow().is_empty());
}

#[test]
fn token_errors_have_their_codes_and_never_the_secret() {
    let clock = FixedClock(now_ms());
    let cases = [
        (
            400,
            r#"{"error":"invalid_request","error_description":"Invalid OAuth2 request. UNSUCCESSFUL_OAUTH_ACCESS_TOKEN_VALIDATION_FAILED | Invalid client"}"#,
            "AUTH_INVALID_CLIENT",
        ),
        (
            400,
            r#"{"error":"invalid_request","error_description":"x | OAuth client is missing following scopes [account-uac-read]"}"#,
            "AUTH_MISSING_SCOPE",
        ),
        (500, "<html>oops</html>", "AUTH_FAILED"),
    ];
    for (status, body, code) in cases {
        let http = healthy();
        http.ok(Method::Post, SSO, status, body);
        let api = AccountApi::new(&http, &clock, endpoints(), creds(), None);
        let e = block_on(api.subscriptions())
            .err()
            .unwrap_or_else(|| panic!());
        assert_eq!(e.code(), code);
        assert!(!format!("{e} {e:?}").contains("SUPERSECRET"));
    }
}

#[test]
fn no_active_subscription() {
    let http = healthy();
    http.ok(Method::Get, &sub_url(""), 200, r#"{"data":[{"uuid":"0a0b0c0d-0000-4000-8000-000000000001","type":"REGULAR","status":"EXPIRED"}]}"#);
    let clock = FixedClock(now_ms());
    let api = AccountApi::new(&http, &clock, endpoints(), creds(), None);
    let e = block_on(api.active_subscription())
        .err()
        .unwrap_or_else(|| panic!());
    assert_eq!(e.code(), "NO_ACTIVE_SUBSCRIPTION");
}

fn seed_details() -> SubscriptionDetails {
    serde_json::from_str(&fixture("subscription_details.json")).unwrap_or_else(|e| panic!("{e}"))
}

/// seed-003 prints these two events; ours must carry the same fields with the same values
/// (plus `event.id`, and `account` flattened the way Grail stores it).
#[test]
fn events_match_seed_003_field_for_field() {
    let costs = cost_to_date(vec![serde_json::from_str(
        r#"{"startTime":"2024-10-22T00:00:00.000Z","endTime":"2024-10-23T00:00:00.000Z","value":0.0098,"lastBookingDate":"2024-10-22T00:00:00.000Z"}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"))])
    .unwrap_or_else(|e| panic!("{e}"));
    let events = build_bizevents(
        &seed_details(),
        "c4f3c4f3-c4f3-c4f3-c4f3-c4f3c4f3c4f3",
        "ACME Global",
        &costs,
        now_ms(),
    );
    let v = serde_json::to_value(&events).unwrap_or_else(|e| panic!("{e}"));
    let status = &v[0];
    let seed_status = serde_json::json!({
        "event.type": "dps.subscription.status", "event.provider": "dps4ma.ingester",
        "uuid": "c4f3c4f3-c4f3-c4f3-c4f3-c4f3c4f3c4f3", "name": "Dynatrace Platform Subscription For You",
        "budget": 1000000.0, "used": 27328.8794184588, "currency": "USD",
        "startTime": "2024-09-26", "endTime": "2025-09-25", "daysRemaining": 312
    });
    for (k, want) in seed_status.as_object().unwrap_or_else(|| unreachable!()) {
        assert_eq!(&status[k], want, "status field {k}");
    }
    assert_eq!(
        status["account"],
        r#"{"uuid":"4f3c4f3c-c4f3-c4f3-c4f3-c4f3c4f3c4f3"}"#
    );
    assert_eq!(
        status["account.uuid"],
        "4f3c4f3c-c4f3-c4f3-c4f3-c4f3c4f3c4f3"
    );
    let seed_cost = serde_json::json!({
        "event.type": "dps.cost2.booked", "event.provider": "dps4ma.ingester",
        "lastBookingDate": "2024-10-22T00:00:00.000Z", "subscriptionUuid": "c4f3c4f3-c4f3-c4f3-c4f3-c4f3c4f3c4f3",
        "accountUuid": "c4f3c4f3-c4f3-c4f3-c4f3-c4f3c4f3c4f3", "accountName": "ACME Global",
        "startTime": "2024-10-22T00:00:00.000Z", "endTime": "2024-10-23T00:00:00.000Z",
        "value": 0.0098, "costToDate": 0.0098
    });
    let mut expected_keys: Vec<&str> = seed_cost
        .as_object()
        .unwrap_or_else(|| unreachable!())
        .keys()
        .map(String::as_str)
        .collect();
    expected_keys.push("event.id");
    expected_keys.sort_unstable();
    let mut keys: Vec<&str> = v[1]
        .as_object()
        .unwrap_or_else(|| unreachable!())
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys, expected_keys,
        "cost event has exactly the seed's fields plus event.id"
    );
    for (k, want) in seed_cost.as_object().unwrap_or_else(|| unreachable!()) {
        assert_eq!(&v[1][k], want, "cost field {k}");
    }
    for e in v.as_array().unwrap_or_else(|| unreachable!()) {
        assert!(
            e.get("timestamp").is_none(),
            "no timestamp: Dynatrace drops events older than 24 h"
        );
        assert!(
            e.as_object()
                .unwrap_or_else(|| unreachable!())
                .values()
                .all(|x| !x.is_object() && !x.is_array()),
            "flat"
        );
    }
}

#[test]
fn sync_dry_run_golden() {
    let http = healthy();
    let clock = FixedClock(0);
    let cfg = one_account(serde_json::Value::Null)
        .validate()
        .unwrap_or_else(|e| panic!("{e}"));
    let summary = block_on(run_sync(&http, &clock, &cfg, RetryPolicy::NONE));
    assert!(summary.ok && summary.dry_run);
    // 4 cost days + the status event + the account's dps.sync.run
    assert_eq!(summary.events.built, 6);
    assert_eq!(summary.accounts[0].events.sync_run, 1);
    assert_eq!(summary.events.report.sent, 0, "dry run sends nothing");
    let text = serde_json::to_string_pretty(&summary).unwrap_or_else(|e| panic!("{e}"));
    assert!(!text.contains("SUPERSECRET") && !text.contains("eyJTOKEN"));
    assert_golden("sync_dry_run_summary.json", &(text + "\n"));
}

#[test]
fn sync_ingests_every_event_once_with_golden_bodies() {
    let run = || {
        let http = healthy();
        http.ok(Method::Post, INGEST, 202, "");
        let cfg = one_account(serde_json::json!({ "url": INGEST, "accessToken": "eyJINGEST" }))
            .validate()
            .unwrap_or_else(|e| panic!("{e}"));
        let summary = block_on(run_sync(&http, &FixedClock(0), &cfg, RetryPolicy::NONE));
        (summary, http.requests_to(INGEST))
    };
    let (summary, sent) = run();
    assert!(summary.ok, "{summary:?}");
    assert_eq!(
        (
            summary.events.report.sent,
            summary.events.report.accepted,
            summary.events.report.batches
        ),
        (6, 6, 2)
    );
    // the account's events, then its dps.sync.run alone (it reports what became of them)
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[0].header_value("authorization"),
        Some("Bearer eyJINGEST")
    );
    assert_eq!(
        sent[0].header_value("content-type"),
        Some("application/json; charset=utf-8")
    );
    let body: serde_json::Value = serde_json::from_str(sent[0].body.as_deref().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}"));
    let pretty = serde_json::to_string_pretty(&body).unwrap_or_else(|e| panic!("{e}")) + "\n";
    assert_golden("events_one_account.json", &pretty);
    // cost events are cost events (seed-003 sent the status event in their place), in day order
    let types: Vec<&str> = body
        .as_array()
        .unwrap_or_else(|| unreachable!())
        .iter()
        .map(|e| e["event.type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        types,
        [
            "dps.subscription.status",
            "dps.cost2.booked",
            "dps.cost2.booked",
            "dps.cost2.booked",
            "dps.cost2.booked"
        ]
    );
    let ctd: Vec<f64> = body.as_array().unwrap_or_else(|| unreachable!())[1..]
        .iter()
        .map(|e| e["costToDate"].as_f64().unwrap_or(f64::NAN))
        .collect();
    assert_eq!(ctd, [0.0098, 0.1098, 0.3098, 1234.8776901234]);
    let run_body: serde_json::Value = serde_json::from_str(sent[1].body.as_deref().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}"));
    let ev = &run_body[0];
    assert_eq!(run_body.as_array().map(Vec::len), Some(1));
    assert_eq!(ev["event.type"], "dps.sync.run");
    assert_eq!(ev["event.provider"], "dps4ma.ingester");
    assert_eq!(ev["accountUuid"], ACC);
    assert_eq!(ev["runAt"], "2024-10-27T08:00:00.000Z");
    assert_eq!(ev["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(ev["ok"], true);
    assert_eq!(ev["dryRun"], false);
    assert_eq!(
        (
            &ev["eventsBuilt"],
            &ev["eventsAccepted"],
            &ev["eventsRejected"],
            &ev["eventsNotDelivered"]
        ),
        (&5.into(), &5.into(), &0.into(), &0.into())
    );
    assert!(ev.get("errorCode").is_none() && ev.get("incompleteFamilies").is_none());
    // a second run sends the very same ids
    let (_, again) = run();
    assert_eq!(again[0].body, sent[0].body);
    assert_eq!(
        again[1].body, sent[1].body,
        "the run event's id is per account and run"
    );
}

#[test]
fn one_failing_account_does_not_stop_the_others() {
    let http = healthy();
    http.ok(Method::Post, INGEST, 202, "");
    let acc2_subs = format!("{API}/sub/v2/accounts/{ACC2}/subscriptions");
    http.ok(
        Method::Get,
        &acc2_subs,
        403,
        r#"{"error":true,"message":"Forbidden","payload":null}"#,
    );
    let cfg = options(serde_json::json!({
        "accounts": [
            { "accountUuid": ACC, "clientId": "dt0s02.CLIENTA", "clientSecret": SECRET },
            { "accountUuid": ACC2, "clientId": "dt0s02.CLIENTB", "clientSecret": "dt0s02.CLIENTB.X" }
        ],
        "ssoUrl": SSO, "apiUrl": API, "now": NOW, "ingest": { "url": INGEST, "apiToken": "dt0c01.TOKEN" },
        "fullHistory": true, "include": seed_only()
    }))
    .validate()
    .unwrap_or_else(|e| panic!("{e}"));
    let s = block_on(run_sync(&http, &FixedClock(0), &cfg, RetryPolicy::NONE));
    assert!(!s.ok);
    assert!(s.accounts[0].ok);
    assert_eq!(
        s.accounts[1].error.as_ref().map(|e| e.code.as_str()),
        Some("FORBIDDEN")
    );
    assert_eq!(
        s.events.report.accepted, 7,
        "the healthy account's events were still ingested, and both run events"
    );
    let runs: Vec<serde_json::Value> = http
        .requests_to(INGEST)
        .iter()
        .filter_map(|r| serde_json::from_str::<serde_json::Value>(r.body.as_deref()?).ok())
        .flat_map(|b| b.as_array().cloned().unwrap_or_default())
        .filter(|e| e["event.type"] == "dps.sync.run")
        .collect();
    assert_eq!(runs.len(), 2);
    let failed = runs
        .iter()
        .find(|e| e["accountUuid"] == ACC2)
        .unwrap_or_else(|| panic!("no run event of {ACC2}"));
    assert_eq!(failed["ok"], false);
    assert_eq!(failed["errorCode"], "FORBIDDEN");
    assert_eq!(failed["eventsBuilt"], 0);
    assert_eq!(
        failed["incompleteFamilies"], "subscriptionStatus,costBooked",
        "seed-only run: the two seed kinds are what is missing"
    );
    assert_ne!(runs[0]["event.id"], runs[1]["event.id"]);
    assert_eq!(
        http.requests_to(INGEST)[0].header_value("authorization"),
        Some("Api-Token dt0c01.TOKEN")
    );
}

#[test]
fn ingest_with_oauth_client_fetches_a_storage_events_write_token() {
    let http = healthy();
    http.ok(Method::Post, INGEST, 202, "");
    let cfg = one_account(serde_json::json!({ "url": INGEST, "clientId": "dt0s02.INGEST", "clientSecret": "dt0s02.INGEST.S", "accountUuid": ACC }))
        .validate()
        .unwrap_or_else(|e| panic!("{e}"));
    let s = block_on(run_sync(&http, &FixedClock(0), &cfg, RetryPolicy::NONE));
    assert!(s.ok);
    let tokens = http.requests_to(SSO);
    assert_eq!(tokens.len(), 2);
    assert!(tokens[0]
        .body
        .as_deref()
        .unwrap_or("")
        .contains("scope=storage%3Aevents%3Awrite"));
}

fn prepared(n: usize) -> Vec<PreparedEvent> {
    (0..n)
        .map(|i| PreparedEvent {
            id: Some(format!("id-{i}")),
            json: format!(r#"{{"event.id":"id-{i}","n":{i}}}"#),
        })
        .collect()
}

fn target() -> IngestTarget {
    IngestTarget::new(
        INGEST,
        IngestAuth::Bearer(dps_cost::auth::Secret::new("eyJ")),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn ingest_partial_400_reports_exactly_the_rejected_events() {
    let http = Replay::new();
    http.ok(Method::Post, INGEST, 400, r#"{"errors":[{"id":null,"index":1,"message":"attribute too long","source":null},{"id":"id-3","message":"bad","source":null}]}"#);
    let r = block_on(ingest(
        &http,
        &FixedClock(0),
        &target(),
        &prepared(4),
        RetryPolicy::NONE,
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.accepted, 2);
    let rejected: Vec<(usize, Option<&str>)> = r
        .rejected
        .iter()
        .map(|x| (x.index, x.event_id.as_deref()))
        .collect();
    assert_eq!(rejected, vec![(1, Some("id-1")), (3, Some("id-3"))]);
    assert!(!r.is_complete());
}

#[test]
fn ingest_413_splits_and_429_waits_for_retry_after() {
    let http = Replay::new();
    http.on(
        Method::Post,
        INGEST,
        vec![
            Ok(HttpResponse::new(413, "")),
            Ok(HttpResponse::new(429, "").with_header("Retry-After", "3")),
            Ok(HttpResponse::new(202, "")),
            Ok(HttpResponse::new(202, "")),
        ],
    );
    let r = block_on(ingest(
        &http,
        &FixedClock(0),
        &target(),
        &prepared(4),
        RetryPolicy::default(),
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(r.is_complete(), "{r:?}");
    assert_eq!((r.accepted, r.batches, r.retries), (4, 3, 1));
    assert_eq!(*http.sleeps.borrow(), vec![3_000]);
    let bodies: Vec<usize> = http
        .log
        .borrow()
        .iter()
        .map(|q| q.body.as_deref().unwrap_or("").matches("event.id").count())
        .collect();
    assert_eq!(bodies, vec![4, 2, 2, 2]);
}

#[test]
fn ingest_total_failures_are_errors_and_partial_failures_are_reported() {
    let http = Replay::new();
    http.ok(
        Method::Post,
        INGEST,
        401,
        r#"{"error":{"code":401,"message":"Unsupported authorization scheme"}}"#,
    );
    let e = block_on(ingest(
        &http,
        &FixedClock(0),
        &target(),
        &prepared(3),
        RetryPolicy::NONE,
    ))
    .err()
    .unwrap_or_else(|| panic!());
    assert_eq!((e.code(), e.status()), ("UNAUTHORIZED", Some(401)));

    let http = Replay::new();
    http.ok(Method::Post, INGEST, 503, "");
    let e = block_on(ingest(
        &http,
        &FixedClock(0),
        &target(),
        &prepared(3),
        RetryPolicy {
            max_attempts: 3,
            base_delay_ms: 10,
            max_delay_ms: 100,
            ..RetryPolicy::default()
        },
    ))
    .err()
    .unwrap_or_else(|| panic!());
    assert_eq!((e.code(), e.status()), ("INGEST_FAILED", Some(503)));
    assert_eq!(http.log.borrow().len(), 3);

    // the summary of a sync whose ingest lost events is not ok and says INGEST_PARTIAL
    let http = healthy();
    http.ok(
        Method::Post,
        INGEST,
        400,
        r#"{"errors":[{"index":0,"message":"nope"}]}"#,
    );
    let cfg = one_account(serde_json::json!({ "url": INGEST, "accessToken": "eyJ" }))
        .validate()
        .unwrap_or_else(|e| panic!("{e}"));
    let s = block_on(run_sync(&http, &FixedClock(0), &cfg, RetryPolicy::NONE));
    assert!(!s.ok);
    assert_eq!(
        s.events.error.as_ref().map(|e| e.code.as_str()),
        Some("INGEST_PARTIAL")
    );
    assert_eq!(s.events.report.accepted, 4);

    // when the ingest token cannot be had, nothing is reported as sent successfully
    let http = healthy();
    http.on(
        Method::Post,
        SSO,
        // the ingest token is asked for first, before any account data is fetched
        vec![
            Ok(HttpResponse::new(
                400,
                r#"{"error":"invalid_request","error_description":"bad client"}"#,
            )),
            Ok(HttpResponse::new(200, TOKEN_BODY)),
        ],
    );
    let cfg = one_account(serde_json::json!({ "url": INGEST, "clientId": "dt0s02.I", "clientSecret": "dt0s02.I.S", "accountUuid": ACC }))
        .validate()
        .unwrap_or_else(|e| panic!("{e}"));
    let s = block_on(run_sync(&http, &FixedClock(0), &cfg, RetryPolicy::NONE));
    assert!(!s.ok);
    assert_eq!(
        s.events.error.as_ref().map(|e| e.code.as_str()),
        Some("AUTH_INVALID_CLIENT")
    );
    assert_eq!(s.events.report.accepted, 0);
    assert_eq!(
        s.events.report.not_delivered(),
        6,
        "5 events + the run event"
    );
}

#[test]
fn invalid_configs_are_rejected_before_any_request() {
    let base = || {
        serde_json::json!({
            "accounts": [{ "accountUuid": ACC, "clientId": "dt0s02.CLIENTA", "clientSecret": SECRET }],
            "ssoUrl": SSO, "apiUrl": API
        })
    };
    let cases: Vec<(serde_json::Value, &str)> = vec![
        (serde_json::json!({"accounts": []}), "accounts"),
        (
            {
                let mut v = base();
                v["accounts"][0]["accountUuid"] = "not-a-uuid".into();
                v
            },
            "accounts[0].accountUuid",
        ),
        (
            {
                let mut v = base();
                v["accounts"][0]["clientSecret"] = "".into();
                v
            },
            "accounts[0].clientSecret",
        ),
        (
            {
                let mut v = base();
                v["apiUrl"] = "http://api.example.test".into();
                v
            },
            "apiUrl",
        ),
        (
            {
                let mut v = base();
                v["export"] = serde_json::json!({"url": "http://bucket.example.test/f.csv?sig=1"});
                v
            },
            "export.url",
        ),
        (
            {
                let mut v = base();
                v["export"] = serde_json::json!({"url": "https://bucket.example.test/f.csv", "focusVersion": "1.9"});
                v
            },
            "export.focusVersion",
        ),
        (
            {
                let mut v = base();
                v["ssoUrl"] = "sso.dynatrace.com".into();
                v
            },
            "ssoUrl",
        ),
        (
            {
                let mut v = base();
                v["now"] = "yesterday".into();
                v
            },
            "now",
        ),
        (
            {
                let mut v = base();
                v["ingest"] = serde_json::json!({"url": INGEST});
                v
            },
            // The same rule and field as the JS ingest()'s `options.accessToken`.
            "ingest.accessToken",
        ),
        (
            {
                let mut v = base();
                v["ingest"] =
                    serde_json::json!({"url": INGEST, "accessToken": "a", "apiToken": "b"});
                v
            },
            "ingest",
        ),
        (
            {
                let mut v = base();
                v["ingest"] = serde_json::json!({"url": "https://x.apps.dynatrace.com/platform/classic/environment-api/v2/bizevents/ingest", "apiToken": "b"});
                v
            },
            "ingest.apiToken",
        ),
        (
            {
                let mut v = base();
                v["environmentIds"] = serde_json::json!(["a,b"]);
                v
            },
            "environmentIds[0]",
        ),
        (
            {
                let mut v = base();
                let a = v["accounts"][0].clone();
                v["accounts"] = serde_json::json!([a.clone(), a]);
                v
            },
            "accounts[1].accountUuid",
        ),
    ];
    for (json, field) in cases {
        let e = options(json)
            .validate()
            .err()
            .unwrap_or_else(|| panic!("{field} accepted"));
        assert_eq!((e.code(), e.field()), ("INVALID_INPUT", Some(field)), "{e}");
        assert!(!e.to_string().contains("SUPERSECRET"));
    }
    // unknown option names are typos, not silently ignored
    let e =
        dps_cost::model::decode_input::<SyncOptions>("config", r#"{"accounts":[],"apiURL":"x"}"#)
            .err()
            .unwrap_or_else(|| panic!());
    assert_eq!(e.code(), "INVALID_INPUT");
    assert!(e.to_string().contains("apiURL"), "{e}");
    // Debug of a config never shows the secret
    assert!(!format!("{:?}", options(base())).contains("SUPERSECRET"));
}

/// A clock that moves 10 ms forward every time it is read.
struct TickClock(Cell<i64>);

impl dps_cost::clock::Clock for TickClock {
    fn now_ms(&self) -> i64 {
        let t = self.0.get() + 10;
        self.0.set(t);
        t
    }
}

#[test]
fn a_passed_deadline_starts_no_request_sends_what_was_built_and_says_what_is_missing() {
    let http = healthy();
    http.ok(Method::Post, INGEST, 202, "");
    let mut json = serde_json::json!({
        "accounts": [{ "accountUuid": ACC, "clientId": "dt0s02.CLIENTA", "clientSecret": SECRET }],
        "ssoUrl": SSO, "apiUrl": API, "now": NOW, "ingest": { "url": INGEST, "apiToken": "dt0c01.TOKEN" },
        "deadlineMs": 1, "include": seed_only()
    });
    let cfg = options(json.clone())
        .validate()
        .unwrap_or_else(|e| panic!("{e}"));
    let s = block_on(run_sync(
        &http,
        &TickClock(Cell::new(0)),
        &cfg,
        RetryPolicy::NONE,
    ));
    assert!(!s.ok);
    assert_eq!(s.code, Some("DEADLINE"));
    assert_eq!(
        s.accounts[0].error.as_ref().map(|e| e.code.as_str()),
        Some("DEADLINE")
    );
    assert_eq!(s.incomplete.len(), 1);
    assert_eq!(
        s.incomplete[0].families,
        ["subscriptionStatus", "costBooked"],
        "the families this run asked for (seed kinds only)"
    );
    // no Account Management request was started; only the run event was ingested
    assert!(http.requests_to(&sub_url("")).is_empty());
    assert_eq!(s.events.built, 1);
    assert_eq!(s.events.report.accepted, 1);
    let body: serde_json::Value = serde_json::from_str(
        http.requests_to(INGEST)[0]
            .body
            .as_deref()
            .unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(body[0]["event.type"], "dps.sync.run");
    assert_eq!(body[0]["errorCode"], "DEADLINE");
    assert_eq!(body[0]["ok"], false);

    // a deadline that does not pass changes nothing
    json["deadlineMs"] = 3_600_000.into();
    let cfg = options(json.clone())
        .validate()
        .unwrap_or_else(|e| panic!("{e}"));
    let s = block_on(run_sync(
        &healthy_with_ingest(),
        &TickClock(Cell::new(0)),
        &cfg,
        RetryPolicy::NONE,
    ));
    assert!(s.code.is_none() && s.incomplete.is_empty(), "{s:?}");

    for bad in [0, 3_600_001] {
        json["deadlineMs"] = bad.into();
        let e = options(json.clone()).validate().err();
        assert_eq!(e.map(|e| e.code()), Some("INVALID_INPUT"), "{bad}");
    }
}

fn healthy_with_ingest() -> Replay {
    let http = healthy();
    http.ok(Method::Post, INGEST, 202, "");
    http
}
