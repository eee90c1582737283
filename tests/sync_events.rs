//! The full sync: every event family, the trailing window, deterministic ids, a failing family,
//! and a 200,000-event run that streams page by page in batches under the 5 MiB limit.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::cell::{Cell, RefCell};
use std::collections::HashSet;

use common::sync::{options, run, sent_events, sub_url, ACC, API, INGEST, SSO, SUB, TOKEN};
use common::{block_on, serve_account, Replay};
use dps_cost::clock::FixedClock;
use dps_cost::http::{HttpClient, HttpRequest, HttpResponse, Method, RetryPolicy};
use dps_cost::ingest::MAX_BATCH_BYTES;
use dps_cost::sync::{run_sync, FAMILIES};

fn replay() -> Replay {
    let r = Replay::new();
    serve_account(&r, SSO, API, ACC, SUB, TOKEN);
    let v3 = format!("{API}/sub/v3/accounts/{ACC}/subscriptions/{SUB}/environments");
    r.on(Method::Get, &format!("{v3}/cost"), vec![
        Ok(HttpResponse::new(200, r#"{"data":[{"environmentId":"env-a","cost":[
            {"startTime":"2024-10-22T00:00:00Z","endTime":"2024-10-23T00:00:00Z","value":1.25,"currencyCode":"USD","capabilityKey":"LOGS","capabilityName":"Logs","bookingDate":"2024-10-23"},
            {"startTime":"2024-10-22T00:00:00Z","endTime":"2024-10-23T00:00:00Z","value":2.5,"currencyCode":"USD","capabilityKey":"HOSTS"}]}],
            "lastModifiedTime":"2024-10-27T06:00:00Z","nextPageKey":"K1"}"#)),
        Ok(HttpResponse::new(200, r#"{"data":[{"environmentId":"env-a","cost":[{"startTime":"2024-10-23T00:00:00Z","value":3,"capabilityKey":"LOGS"}]},
            {"environmentId":"env-b","clusterId":"c-1","cost":[{"startTime":"2024-10-22T00:00:00Z","value":4,"capabilityKey":"LOGS"}]}],
            "lastModifiedTime":"2024-10-27T06:00:00Z","nextPageKey":null}"#)),
    ]);
    r.ok(Method::Get, &format!("{v3}/usage"), 200, r#"{"data":[{"environmentId":"env-a","usage":[{"startTime":"2024-10-22T00:00:00Z","value":12.5,"capabilityKey":"LOGS","unitMeasure":"GiB"}]}]}"#);
    r.ok(Method::Get, &sub_url("/forecast"), 200, r#"{"forecastMedian":900000,"forecastLower":850000,"forecastUpper":950000,"budget":1000000,"forecastBudgetPct":90,"forecastBudgetDate":null,"forecastCreatedAt":"2024-10-27T05:00:00Z"}"#);
    r.ok(Method::Get, &format!("{API}/v1/subscriptions/{SUB}/cost-allocation"), 200,
        r#"{"records":[{"date":"2024-10-22","capability":"LOGS","key":"team-a","costs":1,"usage":10},{"date":"2024-10-22","capability":"LOGS","key":null,"costs":0.25}]}"#);
    r.ok(Method::Post, INGEST, 202, "");
    r
}

/// `include` with only the named families on.
fn only(families: &[&str]) -> serde_json::Value {
    let include: serde_json::Map<String, serde_json::Value> = FAMILIES
        .iter()
        .map(|f| (f.to_string(), families.contains(f).into()))
        .collect();
    serde_json::json!({ "include": include })
}

/// The ids of the data events sent (not the run event, which every run sends).
fn data_ids(http: &Replay) -> Vec<String> {
    let mut ids: Vec<String> = sent_events(http)
        .iter()
        .filter(|e| e["event.type"] != "dps.sync.run")
        .filter_map(|e| e["event.id"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

#[test]
fn every_family_is_built_sent_and_counted() {
    let http = replay();
    let s = run(&http, serde_json::json!({}));
    assert!(s.ok, "{s:#?}");
    let c = &s.accounts[0].events;
    assert_eq!(
        (
            c.subscription_status,
            c.cost_booked,
            c.environment_cost,
            c.environment_usage,
            c.forecast,
            c.allocation,
            c.sync_run
        ),
        (1, 4, 4, 1, 1, 8, 1)
    );
    // 19 data events + the account's dps.sync.run
    assert_eq!(
        (
            s.events.built,
            s.events.report.sent,
            s.events.report.accepted
        ),
        (20, 20, 20)
    );
    let events = sent_events(&http);
    assert_eq!(events.len(), 20);
    let ids: HashSet<&str> = events
        .iter()
        .filter_map(|e| e["event.id"].as_str())
        .collect();
    assert_eq!(ids.len(), 20, "every event has its own id");
    for e in &events {
        assert_eq!(e["event.provider"], "dps4ma.ingester");
        assert!(e.get("timestamp").is_none());
        assert!(
            e.as_object()
                .is_some_and(|o| o.values().all(|v| !v.is_object() && !v.is_array())),
            "flat: {e}"
        );
    }
    let of = |t: &str| {
        events
            .iter()
            .filter(|e| e["event.type"] == t)
            .cloned()
            .collect::<Vec<_>>()
    };
    let env_cost = of("dps.environment.cost");
    assert_eq!(env_cost[0]["schemaVersion"], 1);
    assert_eq!(env_cost[0]["startTime"], "2024-10-22T00:00:00.000Z");
    assert_eq!(env_cost[0]["lastModifiedTime"], "2024-10-27T06:00:00Z");
    assert_eq!(env_cost[3]["clusterId"], "c-1");
    assert_eq!(
        env_cost[2]["endTime"], "2024-10-24T00:00:00.000Z",
        "a missing endTime is the next day"
    );
    assert_eq!(of("dps.environment.usage")[0]["unitMeasure"], "GiB");
    assert_eq!(of("dps.forecast")[0]["snapshotDate"], "2024-10-27");
    let alloc = of("dps.cost.allocation");
    let keys: Vec<(&str, bool, &str)> = alloc
        .iter()
        .map(|e| {
            (
                e["key"].as_str().unwrap_or(""),
                e["allocated"].as_bool().unwrap_or(true),
                e["field"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        &keys[..4],
        &[
            ("team-a", true, "COSTCENTER"),
            ("unallocated", false, "COSTCENTER"),
            ("team-a", true, "PRODUCT"),
            ("unallocated", false, "PRODUCT")
        ]
    );
    // the window is sent in full with every v3 page, and allocation asks for the window's dates
    let v3 = http.requests_to("/environments/cost");
    assert!(v3.iter().all(|r| r
        .url
        .contains("startTime=2024-09-22T00%3A00%3A00.000Z&endTime=2024-10-27T00%3A00%3A00.000Z")));
    assert!(v3[1].url.ends_with("&page-key=K1"));
    let alloc_reqs = http.requests_to("/cost-allocation");
    assert_eq!(
        alloc_reqs.len(),
        4,
        "two environments × two fields, one page each"
    );
    assert!(alloc_reqs[0].url.contains("from=2024-09-22&to=2024-10-26"));
}

#[test]
fn a_second_run_sends_the_same_ids() {
    let ids = |http: &Replay| {
        sent_events(http)
            .iter()
            .filter_map(|e| e["event.id"].as_str().map(str::to_string))
            .collect::<Vec<_>>()
    };
    let (a, b) = (replay(), replay());
    run(&a, serde_json::json!({}));
    run(&b, serde_json::json!({}));
    assert_eq!(ids(&a), ids(&b));
    assert_eq!(sent_events(&a), sent_events(&b));
}

#[test]
fn the_window_limits_booked_days_unless_full_history() {
    let http = replay();
    let s = run(
        &http,
        serde_json::json!({ "windowDays": 2, "include": { "environmentCost": false, "environmentUsage": false, "forecast": false, "allocation": false } }),
    );
    assert_eq!(
        s.accounts[0].events.cost_booked, 1,
        "only 2024-10-25 falls in [10-25, 10-27)"
    );
    assert_eq!(
        s.accounts[0].cost_to_date, 1234.8776901234,
        "cost-to-date still over the whole history"
    );
    let http = replay();
    let s = run(
        &http,
        serde_json::json!({ "windowDays": 2, "fullHistory": true }),
    );
    assert_eq!(s.accounts[0].events.cost_booked, 4);
    for (v, field) in [
        (serde_json::json!({"windowDays": 0}), "windowDays"),
        (serde_json::json!({"windowDays": 401}), "windowDays"),
    ] {
        let e = options(v).validate().err().unwrap_or_else(|| panic!());
        assert_eq!(e.field(), Some(field));
    }
}

#[test]
fn a_failing_family_is_reported_and_the_rest_still_sent() {
    let http = replay();
    http.ok(
        Method::Get,
        &sub_url("/forecast"),
        404,
        r#"{"error":true,"message":"No forecast yet","payload":null}"#,
    );
    http.ok(Method::Get, &format!("{API}/v1/subscriptions/{SUB}/cost-allocation"), 400, r#"{"error":true,"message":"Cost allocation is not available for this subscription","payload":null}"#);
    let s = run(&http, serde_json::json!({}));
    assert!(!s.ok);
    let errs: Vec<(&str, &str)> = s.accounts[0]
        .errors
        .iter()
        .map(|e| (e.family, e.error.code.as_str()))
        .collect();
    assert_eq!(
        errs,
        vec![("forecast", "NOT_FOUND"), ("allocation", "HTTP_STATUS")]
    );
    assert!(s.accounts[0].errors[1]
        .error
        .message
        .contains("not available"));
    assert_eq!(
        s.events.report.accepted, 11,
        "status, 4 booked days, 4 + 1 environment events, the run event"
    );
}

/// Serves an endless v3 listing (page n → key n+1 until `pages`) and records ingest bodies.
struct Generated {
    pages: usize,
    per_page: usize,
    bodies: RefCell<Vec<usize>>,
    events: Cell<usize>,
    max_page_bytes: Cell<usize>,
}

impl HttpClient for Generated {
    async fn send(&self, r: &HttpRequest) -> dps_cost::Result<HttpResponse> {
        let url = r.url.as_str();
        let body = if url.starts_with(SSO) {
            TOKEN.to_string()
        } else if url.contains("/environments/cost") {
            let page: usize = url
                .split("page-key=")
                .nth(1)
                .and_then(|k| k.parse().ok())
                .unwrap_or(0);
            let records: Vec<String> = (0..self.per_page)
                .map(|i| format!(r#"{{"startTime":"2024-10-{:02}T00:00:00Z","value":{}.125,"currencyCode":"USD","capabilityKey":"CAP_{}"}}"#, 1 + (page + i) % 26, i, (page * self.per_page + i) % 997))
                .collect();
            let next = if page + 1 < self.pages {
                format!(r#""{}""#, page + 1)
            } else {
                "null".into()
            };
            let body = format!(
                r#"{{"data":[{{"environmentId":"env-{}","cost":[{}]}}],"nextPageKey":{next}}}"#,
                page % 50,
                records.join(",")
            );
            self.max_page_bytes
                .set(self.max_page_bytes.get().max(body.len()));
            body
        } else if url.starts_with(INGEST) {
            let b = r.body.as_deref().unwrap_or("");
            self.bodies.borrow_mut().push(b.len());
            self.events
                .set(self.events.get() + b.matches("\"event.id\"").count());
            return Ok(HttpResponse::new(202, ""));
        } else if url.contains("/cost") {
            r#"{"data":[]}"#.into()
        } else if url.ends_with("/subscriptions") {
            format!(r#"{{"data":[{{"uuid":"{SUB}","type":"REGULAR","status":"ACTIVE"}}]}}"#)
        } else {
            format!(r#"{{"uuid":"{SUB}"}}"#)
        };
        Ok(HttpResponse::new(200, body))
    }
    async fn sleep(&self, _ms: u64) {}
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[test]
fn two_hundred_thousand_events_stream_in_batches_under_the_limit() {
    let http = Generated {
        pages: 4_000,
        per_page: 50,
        bodies: RefCell::new(Vec::new()),
        events: Cell::new(0),
        max_page_bytes: Cell::new(0),
    };
    let cfg = options(serde_json::json!({ "include": { "environmentCost": true, "environmentUsage": false, "forecast": false, "allocation": false } }))
        .validate()
        .unwrap_or_else(|e| panic!("{e}"));
    let s = block_on(run_sync(&http, &FixedClock(0), &cfg, RetryPolicy::NONE));
    assert!(s.ok, "{:?}", s.events);
    assert_eq!(s.accounts[0].events.environment_cost, 200_000);
    assert_eq!(
        (s.events.report.sent, s.events.report.accepted),
        (200_002, 200_002),
        "200,000 environment events, the status event, the run event"
    );
    assert_eq!(http.events.get(), 200_002, "every event sent exactly once");
    let bodies = http.bodies.borrow();
    assert!(
        bodies.iter().all(|b| *b <= MAX_BATCH_BYTES),
        "largest batch {} bytes",
        bodies.iter().max().unwrap_or(&0)
    );
    assert_eq!(s.events.report.batches, bodies.len());
    eprintln!(
        "200,001 events in {} batches (largest {} bytes, limit {MAX_BATCH_BYTES}); largest page {} bytes; peak RSS of the test process {:?} KiB",
        bodies.len(),
        bodies.iter().max().unwrap_or(&0),
        http.max_page_bytes.get(),
        peak_rss_kib()
    );
}

#[test]
fn family_shards_of_one_account_send_together_what_one_run_sends() {
    let whole = replay();
    assert!(run(&whole, serde_json::json!({})).ok);
    let want = data_ids(&whole);
    let mut union = Vec::new();
    for shard in [
        &["subscriptionStatus", "costBooked"][..],
        &["environmentCost"],
        &["environmentUsage"],
        &["forecast"],
        &["allocation"],
    ] {
        let http = replay();
        let s = run(&http, only(shard));
        assert!(s.ok, "{shard:?}: {s:#?}");
        let ids = data_ids(&http);
        assert!(!ids.is_empty(), "{shard:?} sent nothing");
        // Only the seed shard reads the daily cost; the allocation shard reads the environment
        // cost pages for the environments (and sends none of them).
        let daily_cost = format!("/subscriptions/{SUB}/cost");
        let reads_cost = http
            .requests_to(&daily_cost)
            .iter()
            .any(|r| r.url.ends_with(&daily_cost) || r.url.contains(&format!("{daily_cost}?")));
        assert_eq!(reads_cost, shard.contains(&"costBooked"), "{shard:?}");
        let cost_pages = http.requests_to("/environments/cost").len();
        let reads_pages = shard == ["environmentCost"] || shard == ["allocation"];
        assert_eq!(cost_pages, if reads_pages { 2 } else { 0 }, "{shard:?}");
        union.extend(ids);
    }
    union.sort();
    assert_eq!(
        union, want,
        "the shards' union is the whole run, each id once"
    );
}

#[test]
fn an_allocation_shard_finds_the_environments_in_the_cost_pages_and_sends_only_allocation() {
    let http = replay();
    let s = run(&http, only(&["allocation"]));
    assert!(s.ok, "{s:#?}");
    let c = &s.accounts[0].events;
    // env-a and env-b (from the cost pages, which are read, not sent) × two fields × 2 records.
    assert_eq!((c.environment_cost, c.allocation), (0, 8));
    let types: HashSet<String> = sent_events(&http)
        .iter()
        .filter_map(|e| e["event.type"].as_str().map(str::to_string))
        .collect();
    let want: HashSet<String> = ["dps.cost.allocation", "dps.sync.run"]
        .map(str::to_string)
        .into();
    assert_eq!(types, want);
    assert_eq!(
        http.requests_to("/environments/cost").len(),
        2,
        "both cost pages read"
    );
}
