//! Every Account Management endpoint against the replay transport: the exact request (method,
//! path, query, scope of the token), the decoded result, paging and the HTTP behaviour.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::cell::Cell;

use common::{block_on, Replay};
use dps_cost::api::allocation::{AllocationField, AllocationQuery};
use dps_cost::api::cost::CostFilter;
use dps_cost::api::forecast::EventQuery;
use dps_cost::api::settings::AllowList;
use dps_cost::api::usage::{EnvMetric, EnvQuery};
use dps_cost::api::{AccountApi, Endpoints};
use dps_cost::auth::Credentials;
use dps_cost::clock::{Clock, FixedClock};
use dps_cost::http::{HttpResponse, Method, RetryPolicy};
use dps_cost::model::usage::EnvCostRecord;
use dps_cost::Error;

const SSO: &str = "https://sso.example.test/sso/oauth2/token";
const API: &str = "https://api.example.test";
const ACC: &str = "3f7c2d1e-8a4b-4c6d-9e0f-1a2b3c4d5e6f";
const SUB: &str = "5d0c8a7e-1b2f-4c3d-8e4f-a0b1c2d3e4f5";
const TOKEN: &str = r#"{"token_type":"Bearer","expires_in":300,"access_token":"eyJTOKEN"}"#;

fn api(http: &Replay) -> AccountApi<&Replay, FixedClock> {
    let creds =
        Credentials::new("", ACC, "dt0s02.A", "dt0s02.A.SECRET").unwrap_or_else(|e| panic!("{e}"));
    AccountApi::new(
        http,
        FixedClock(1_800_000_000_000),
        Endpoints::new(Some(SSO), Some(API)).unwrap_or_else(|e| panic!("{e}")),
        creds,
        None,
    )
    .with_retry(RetryPolicy {
        max_attempts: 3,
        base_delay_ms: 100,
        max_delay_ms: 10_000,
        budget_ms: 60_000,
        timeout_ms: 5_000,
    })
}

fn replay() -> Replay {
    let r = Replay::new();
    r.ok(Method::Post, SSO, 200, TOKEN);
    r
}

fn urls(http: &Replay, fragment: &str) -> Vec<String> {
    http.requests_to(fragment)
        .into_iter()
        .map(|r| r.url)
        .collect()
}

fn token_scopes(http: &Replay) -> Vec<String> {
    http.requests_to(SSO)
        .iter()
        .map(|r| {
            let body = r.body.clone().unwrap_or_default();
            body.split('&')
                .find_map(|p| p.strip_prefix("scope="))
                .unwrap_or("")
                .replace("%3A", ":")
                .replace("%20", " ")
        })
        .collect()
}

fn ok<T>(r: dps_cost::Result<T>) -> T {
    r.unwrap_or_else(|e| panic!("{e} ({})", e.code()))
}

fn err<T: std::fmt::Debug>(r: dps_cost::Result<T>) -> Error {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e,
    }
}

#[test]
fn subscription_usage_request_and_decode() {
    let http = replay();
    http.ok(Method::Get, &format!("{API}/sub/v2/accounts/{ACC}/subscriptions/{SUB}/usage"), 200,
        r#"{"data":[{"capabilityKey":"LOG_MANAGEMENT_INGEST","capabilityName":"Logs","startTime":"2026-11-01T00:00:00Z","endTime":"2026-11-02T00:00:00Z","value":12.5,"unitMeasure":"GiB","extra":true}],"lastModifiedTime":"x"}"#);
    let filter = CostFilter {
        environment_ids: vec!["abc".into()],
        capability_keys: vec![],
        cluster_ids: vec!["c1".into(), "c2".into()],
    };
    let usage = ok(block_on(api(&http).subscription_usage(SUB, &filter)));
    assert_eq!(
        (usage[0].value, usage[0].unit_measure.as_deref()),
        (12.5, Some("GiB"))
    );
    assert_eq!(urls(&http, "/usage"), vec![format!("{API}/sub/v2/accounts/{ACC}/subscriptions/{SUB}/usage?environmentIds=abc&clusterIds=c1%2Cc2")]);
    assert_eq!(token_scopes(&http), vec!["account-uac-read"]);
}

fn env_page(envs: &[(&str, &[&str])], next: Option<&str>) -> String {
    let data: Vec<serde_json::Value> = envs
        .iter()
        .map(|(env, days)| {
            serde_json::json!({"clusterId": null, "environmentId": env, "cost": days.iter().map(|d| serde_json::json!({
                "startTime": format!("{d}T00:00:00Z"), "endTime": null, "value": 1.5, "currencyCode": "USD", "capabilityKey": "FULLSTACK_MONITORING", "bookingDate": d
            })).collect::<Vec<_>>()})
        })
        .collect();
    serde_json::json!({"data": data, "lastModifiedTime": "x", "nextPageKey": next}).to_string()
}

#[test]
fn v3_environment_cost_pages_resend_the_full_query_and_merge_environments() {
    let http = replay();
    let url = format!("{API}/sub/v3/accounts/{ACC}/subscriptions/{SUB}/environments/cost");
    http.on(
        Method::Get,
        &url,
        vec![
            Ok(HttpResponse::new(
                200,
                env_page(&[("env-a", &["2026-11-01", "2026-11-02"])], Some("K1")),
            )),
            Ok(HttpResponse::new(
                200,
                env_page(
                    &[("env-a", &["2026-11-03"]), ("env-b", &["2026-11-01"])],
                    Some("K2"),
                ),
            )),
            Ok(HttpResponse::new(
                200,
                env_page(&[("env-b", &["2026-11-02"])], None),
            )),
        ],
    );
    let filter = CostFilter {
        environment_ids: vec![],
        capability_keys: vec!["FULLSTACK_MONITORING".into()],
        cluster_ids: vec![],
    };
    let q = ok(EnvQuery::new(
        "2026-11-01T00:00:00Z",
        "2026-11-04",
        filter,
        Some(2),
    ));
    let envs = ok(block_on(api(&http).environment_cost(SUB, &q)));
    let shape: Vec<(&str, usize)> = envs
        .iter()
        .map(|e| (e.environment_id.as_str(), e.records.len()))
        .collect();
    assert_eq!(shape, vec![("env-a", 3), ("env-b", 2)]);
    let base = format!("{url}?startTime=2026-11-01T00%3A00%3A00.000Z&endTime=2026-11-04T00%3A00%3A00.000Z&capabilityKeys=FULLSTACK_MONITORING&page-size=2");
    assert_eq!(
        urls(&http, "/environments/cost"),
        vec![
            base.clone(),
            format!("{base}&page-key=K1"),
            format!("{base}&page-key=K2")
        ]
    );
    assert_eq!(http.requests_to(SSO).len(), 1, "one token for all pages");
}

#[test]
fn v3_paging_stops_on_a_repeated_or_empty_key() {
    let http = replay();
    let url = format!("{API}/sub/v3/accounts/{ACC}/subscriptions/{SUB}/environments/usage");
    http.on(Method::Get, &url, vec![
        Ok(HttpResponse::new(200, r#"{"data":[{"environmentId":"e","usage":[{"capabilityKey":"X","startTime":"2026-11-01","value":1}]}],"nextPageKey":"SAME"}"#)),
        Ok(HttpResponse::new(200, r#"{"data":[{"environmentId":"e","usage":[{"capabilityKey":"X","startTime":"2026-11-02","value":1}]}],"nextPageKey":"SAME"}"#)),
        Ok(HttpResponse::new(200, r#"{"data":[],"nextPageKey":"NEVER"}"#)),
    ]);
    let q = ok(EnvQuery::new(
        "2026-11-01",
        "2026-11-03",
        CostFilter::default(),
        None,
    ));
    let envs = ok(block_on(api(&http).environment_usage(SUB, &q)));
    assert_eq!(envs[0].records.len(), 2);
    assert_eq!(
        http.requests_to("/environments/usage").len(),
        2,
        "a repeated key ends the listing"
    );
}

#[test]
fn v3_query_is_validated_before_any_request() {
    for (start, end, size, field) in [
        ("2026-11-01", "2026-11-02", Some(51), "pageSize"),
        ("2026-11-01", "2026-11-02", Some(0), "pageSize"),
        ("yesterday", "2026-11-02", None, "startTime"),
        ("2026-11-02", "2026-11-01", None, "endTime"),
        ("2026-11-01", "2026-11-01", None, "endTime"),
    ] {
        let e = err(EnvQuery::new(start, end, CostFilter::default(), size));
        assert_eq!((e.code(), e.field()), ("INVALID_INPUT", Some(field)));
    }
}

#[test]
fn removed_v2_environment_endpoints_name_the_v3_replacement() {
    let http = replay();
    http.ok(
        Method::Get,
        &format!("{API}/sub/v2/accounts/{ACC}/subscriptions/{SUB}/environments/cost"),
        410,
        r#"{"error":true,"message":"Gone","payload":null}"#,
    );
    let e = err(block_on(
        api(&http).environment_records_v2::<EnvCostRecord>(
            EnvMetric::Cost,
            SUB,
            &CostFilter::default(),
        ),
    ));
    assert_eq!((e.code(), e.status()), ("GONE", Some(410)));
    assert!(
        e.to_string().contains(&format!(
            "/sub/v3/accounts/{ACC}/subscriptions/{SUB}/environments/cost"
        )),
        "{e}"
    );

    let http = replay();
    http.ok(
        Method::Get,
        &format!("{API}/sub/v2/accounts/{ACC}/subscriptions/{SUB}/environments/cost"),
        200,
        &env_page(&[("e1", &["2026-11-01"])], None),
    );
    let envs = ok(block_on(
        api(&http).environment_records_v2::<EnvCostRecord>(
            EnvMetric::Cost,
            SUB,
            &CostFilter::default(),
        ),
    ));
    assert_eq!(envs[0].records.len(), 1);
}

#[test]
fn forecast_and_events() {
    let http = replay();
    http.ok(Method::Get, &format!("{API}/sub/v2/accounts/{ACC}/subscriptions/forecast"), 200,
        r#"{"forecastMedian":1200.5,"forecastLower":1100,"forecastUpper":1300,"budget":1000,"forecastBudgetPct":120.05,"forecastBudgetDate":"2027-03-01","forecastCreatedAt":"2026-11-23T06:00:00Z"}"#);
    http.ok(Method::Get, &format!("{API}/sub/v2/accounts/{ACC}/subscriptions/events"), 200,
        r#"[{"environmentUuid":"e","capability":"LOGS","date":"2026-11-20","createdAt":"x","severity":"WARN","message":"75 % used","eventType":"budget","notificationLevel":"ACCOUNT"}]"#);
    let a = api(&http);
    let f = ok(block_on(a.forecast()));
    assert_eq!(
        (f.forecast_median, f.forecast_budget_date.as_deref()),
        (Some(1200.5), Some("2027-03-01"))
    );
    let q = EventQuery {
        start_time: Some("2026-11-01".into()),
        end_time: None,
        event_type: Some("budget".into()),
    };
    let ev = ok(block_on(a.subscription_events(&q)));
    assert_eq!(ev[0].message.as_deref(), Some("75 % used"));
    assert_eq!(urls(&http, "/events"), vec![format!("{API}/sub/v2/accounts/{ACC}/subscriptions/events?startTime=2026-11-01T00%3A00%3A00.000Z&eventType=budget")]);
    let bad = EventQuery {
        event_type: Some("spend".into()),
        ..EventQuery::default()
    };
    assert_eq!(
        err(block_on(a.subscription_events(&bad))).field(),
        Some("eventType")
    );
}

#[test]
fn rate_card_prices_stay_exact() {
    let http = replay();
    http.ok(Method::Get, &format!("{API}/sub/v1/accounts/{ACC}/rate-cards"), 200,
        r#"[{"quoteNumber":"Q-1","startTime":"2025-10-19","endTime":"2027-10-18","currencyCode":"USD","capabilities":[{"key":"LOGS","name":"Logs","quotedPrice":"0.20","quotedUnitOfMeasure":"GiB","price":"0.0035","deploymentType":"SAAS"}]}]"#);
    let cards = ok(block_on(api(&http).rate_cards()));
    let cap = &cards[0].capabilities[0];
    assert_eq!(
        (
            cap.price.as_ref().map(|d| d.as_str()),
            cap.quoted_price.as_ref().map(|d| d.as_str())
        ),
        (Some("0.0035"), Some("0.20"))
    );
    let http = replay();
    http.ok(
        Method::Get,
        &format!("{API}/sub/v1/accounts/{ACC}/rate-cards"),
        200,
        r#"[{"capabilities":[{"key":"X","price":"cheap"}]}]"#,
    );
    let e = err(block_on(api(&http).rate_cards()));
    assert_eq!(
        (e.code(), e.field()),
        ("DECODE", Some("[0].capabilities[0]"))
    );
}

#[test]
fn cost_allocation_sends_page_key_alone_on_later_pages() {
    let http = replay();
    let url = format!("{API}/v1/subscriptions/{SUB}/cost-allocation");
    http.on(Method::Get, &url, vec![
        Ok(HttpResponse::new(200, r#"{"records":[{"date":"2026-11-01","capability":"LOGS","key":"department-A","costs":10,"usage":2000},{"date":"2026-11-01","capability":"LOGS","key":null,"costs":2.5}],"nextPageKey":"UEFHRTI=","environmentId":"abc12345","field":"COSTCENTER"}"#)),
        Ok(HttpResponse::new(200, r#"{"records":["{\"date\":\"2026-11-02\",\"capability\":\"LOGS\",\"key\":\"web shop\",\"costs\":1}"],"environmentId":"abc12345","field":"COSTCENTER"}"#)),
    ]);
    let q = AllocationQuery {
        field: AllocationField::Costcenter,
        environment_id: "abc12345".into(),
        from: Some("2026-11-01".into()),
        to: Some("2026-11-02".into()),
        page_size: Some(2),
    };
    let recs = ok(block_on(api(&http).cost_allocation(SUB, &q)));
    let keys: Vec<Option<&str>> = recs.iter().map(|r| r.key.as_deref()).collect();
    assert_eq!(keys, vec![Some("department-A"), None, Some("web shop")]);
    assert_eq!(urls(&http, "/cost-allocation"), vec![
        format!("{url}?field=COSTCENTER&environment-id=abc12345&from=2026-11-01&to=2026-11-02&page-size=2"),
        format!("{url}?page-key=UEFHRTI%3D"),
    ]);
    for (q, field) in [
        (
            AllocationQuery {
                from: Some("2026-11-31".into()),
                ..q.clone()
            },
            "from",
        ),
        (
            AllocationQuery {
                from: Some("2026-11-03".into()),
                ..q.clone()
            },
            "to",
        ),
        (
            AllocationQuery {
                environment_id: "a,b".into(),
                ..q.clone()
            },
            "environmentId",
        ),
    ] {
        assert_eq!(
            err(block_on(api(&http).cost_allocation(SUB, &q))).field(),
            Some(field)
        );
    }
    assert_eq!(err(AllocationField::parse("TEAM")).field(), Some("field"));
}

#[test]
fn environments_use_the_env_read_scope() {
    let http = replay();
    http.ok(Method::Get, &format!("{API}/env/v2/accounts/{ACC}/environments"), 200, r#"{"data":[{"id":"abc12345","name":"Production","active":true,"url":"https://abc12345.live.dynatrace.com"}]}"#);
    http.ok(Method::Get, &format!("{API}/env/v1/accounts/{ACC}/environments"), 200, r#"{"tenantResources":[{"name":"Production","id":"abc12345"}],"managementZoneResources":[{"parent":"abc12345","name":"mz","id":"1"}]}"#);
    let a = api(&http);
    assert_eq!(ok(block_on(a.environments()))[0].id, "abc12345");
    assert_eq!(
        ok(block_on(a.environments_v1()))
            .management_zone_resources
            .len(),
        1
    );
    assert_eq!(
        token_scopes(&http),
        vec!["account-env-read"],
        "one token, reused"
    );
}

fn keys(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn allow_lists_list_all_pages_check_before_writing_and_encode_keys() {
    let http = replay();
    let base = format!("{API}/v1/accounts/{ACC}/settings/costcenters");
    // routes with the query in the prefix: the longest matching prefix answers
    http.ok(
        Method::Get,
        &format!("{base}?page=1&"),
        200,
        r#"{"records":[{"key":"department-A"}],"hasNextPage":true}"#,
    );
    http.ok(
        Method::Get,
        &format!("{base}?page=2&"),
        200,
        r#"{"records":[{"key":"web shop"}],"hasNextPage":false}"#,
    );
    http.ok(Method::Post, &base, 204, "");
    http.ok(Method::Put, &base, 204, "");
    http.ok(Method::Delete, &base, 204, "");
    let a = api(&http);
    assert_eq!(
        ok(block_on(a.list_keys(AllowList::CostCenters))),
        keys(&["department-A", "web shop"])
    );
    assert_eq!(
        urls(&http, "/costcenters"),
        vec![
            format!("{base}?page=1&page-size=100"),
            format!("{base}?page=2&page-size=100")
        ]
    );

    // a duplicate of an existing key is caught before the POST
    let e = err(block_on(
        a.add_keys(AllowList::CostCenters, &keys(&["new", "department-A"])),
    ));
    assert_eq!((e.code(), e.field()), ("INVALID_INPUT", Some("keys[1]")));
    assert!(http
        .log
        .borrow()
        .iter()
        .all(|r| r.method != Method::Post || r.url == SSO));

    ok(block_on(
        a.add_keys(AllowList::CostCenters, &keys(&["team ü/?#%"])),
    ));
    let post = http
        .log
        .borrow()
        .iter()
        .rev()
        .find(|r| r.method == Method::Post && r.url == base)
        .cloned()
        .unwrap_or_else(|| panic!("no POST"));
    assert_eq!(
        post.body.as_deref(),
        Some(r#"{"values":[{"key":"team ü/?#%"}]}"#)
    );
    assert_eq!(post.header_value("content-type"), Some("application/json"));

    ok(block_on(
        a.replace_keys(AllowList::CostCenters, &keys(&["a", "b"])),
    ));
    ok(block_on(a.delete_key(AllowList::CostCenters, "team ü/?#%")));
    let delete = http
        .log
        .borrow()
        .iter()
        .rev()
        .find(|r| r.method == Method::Delete)
        .cloned()
        .unwrap_or_else(|| panic!("no DELETE"));
    assert_eq!(delete.url, format!("{base}/team%20%C3%BC%2F%3F%23%25"));
    assert!(token_scopes(&http).contains(&"account-uac-write".to_string()));

    for dots in [".", ".."] {
        let before = http.log.borrow().len();
        assert_eq!(
            err(block_on(a.delete_key(AllowList::CostCenters, dots))).field(),
            Some("key")
        );
        assert_eq!(http.log.borrow().len(), before, "nothing sent for {dots}");
    }

    let too_many: Vec<String> = (0..251).map(|i| format!("k{i}")).collect();
    assert_eq!(
        err(block_on(a.replace_keys(AllowList::CostCenters, &too_many))).field(),
        Some("keys")
    );
}

#[test]
fn a_server_400_on_a_write_is_reported_with_its_reason() {
    let http = replay();
    let base = format!("{API}/v1/accounts/{ACC}/settings/products");
    http.ok(
        Method::Put,
        &base,
        400,
        r#"{"error":true,"message":"Duplicate keys: [x]","payload":null}"#,
    );
    let e = err(block_on(
        api(&http).replace_keys(AllowList::Products, &keys(&["x"])),
    ));
    assert_eq!((e.code(), e.status()), ("HTTP_STATUS", Some(400)));
    assert!(e.to_string().contains("Duplicate keys: [x]"));
}

#[test]
fn concurrent_callers_share_one_token_request() {
    let http = replay();
    http.ok(
        Method::Get,
        &format!("{API}/sub/v2/accounts/{ACC}/subscriptions"),
        200,
        r#"{"data":[]}"#,
    );
    http.ok(
        Method::Get,
        &format!("{API}/sub/v1/accounts/{ACC}/rate-cards"),
        200,
        "[]",
    );
    http.ok(
        Method::Get,
        &format!("{API}/sub/v2/accounts/{ACC}/subscriptions/forecast"),
        200,
        "{}",
    );
    let a = api(&http);
    let (x, y, z) = block_on(async {
        futures_util::future::join3(a.subscriptions(), a.rate_cards(), a.forecast()).await
    });
    ok(x);
    ok(y);
    ok(z);
    assert_eq!(http.requests_to(SSO).len(), 1);
}

#[test]
fn a_failed_token_request_fails_every_waiting_caller_once() {
    let http = Replay::new();
    http.ok(
        Method::Post,
        SSO,
        400,
        r#"{"error":"invalid_request","error_description":"Invalid client"}"#,
    );
    let a = api(&http);
    let (x, y) =
        block_on(async { futures_util::future::join(a.subscriptions(), a.rate_cards()).await });
    assert_eq!(
        (err(x).code(), err(y).code()),
        ("AUTH_INVALID_CLIENT", "AUTH_INVALID_CLIENT")
    );
    assert_eq!(http.requests_to(SSO).len(), 1);
}

struct Ticking(Cell<i64>);
impl Clock for Ticking {
    fn now_ms(&self) -> i64 {
        let t = self.0.get();
        self.0.set(t + 25_000);
        t
    }
}

#[test]
fn retries_honour_http_date_retry_after_and_the_time_budget() {
    let http = replay();
    let url = format!("{API}/sub/v2/accounts/{ACC}/subscriptions");
    http.on(
        Method::Get,
        &url,
        vec![
            Ok(HttpResponse::new(429, "")
                .with_header("Retry-After", "Tue, 15 Mar 2027 08:00:07 GMT")),
            Ok(HttpResponse::new(200, r#"{"data":[]}"#)),
        ],
    );
    let now = dps_cost::time::parse_timestamp_ms("2027-03-15T08:00:00Z").unwrap_or(0);
    let creds =
        Credentials::new("", ACC, "dt0s02.A", "dt0s02.A.S").unwrap_or_else(|e| panic!("{e}"));
    let a = AccountApi::new(
        &http,
        FixedClock(now),
        Endpoints::new(Some(SSO), Some(API)).unwrap_or_else(|e| panic!("{e}")),
        creds.clone(),
        None,
    );
    ok(block_on(a.subscriptions()));
    assert_eq!(*http.sleeps.borrow(), vec![7_000]);

    // every clock read advances 25 s: the 60 s budget allows one retry, then gives up
    let http = replay();
    http.ok(
        Method::Get,
        &url,
        503,
        r#"{"error":true,"message":"unavailable","payload":null}"#,
    );
    let a = AccountApi::new(
        &http,
        Ticking(Cell::new(now)),
        Endpoints::new(Some(SSO), Some(API)).unwrap_or_else(|e| panic!("{e}")),
        creds,
        None,
    )
    .with_retry(RetryPolicy {
        max_attempts: 10,
        base_delay_ms: 1_000,
        max_delay_ms: 20_000,
        budget_ms: 60_000,
        timeout_ms: 1_000,
    });
    let e = err(block_on(a.subscriptions()));
    assert_eq!(e.code(), "HTTP_STATUS");
    assert!(
        http.requests_to("/subscriptions").len() < 4,
        "bounded by the time budget, not by 10 attempts"
    );
}

#[test]
fn non_idempotent_posts_are_not_retried_blindly() {
    let base = format!("{API}/v1/accounts/{ACC}/settings/costcenters");
    for (status, expected_posts) in [(502, 1), (504, 1), (429, 3), (503, 3)] {
        let http = replay();
        http.ok(
            Method::Get,
            &base,
            200,
            r#"{"records":[],"hasNextPage":false}"#,
        );
        http.ok(Method::Post, &base, status, "");
        let _ = block_on(api(&http).add_keys(AllowList::CostCenters, &keys(&["x"])));
        let posts = http
            .log
            .borrow()
            .iter()
            .filter(|r| r.method == Method::Post && r.url == base)
            .count();
        assert_eq!(posts, expected_posts, "status {status}");
    }
    let http = replay();
    http.ok(
        Method::Get,
        &base,
        200,
        r#"{"records":[],"hasNextPage":false}"#,
    );
    http.on(
        Method::Post,
        &base,
        vec![Err(Error::Timeout {
            endpoint: String::new(),
            ms: 5,
        })],
    );
    let e = err(block_on(
        api(&http).add_keys(AllowList::CostCenters, &keys(&["x"])),
    ));
    assert_eq!(e.code(), "TIMEOUT");
    assert_eq!(
        http.log
            .borrow()
            .iter()
            .filter(|r| r.method == Method::Post && r.url == base)
            .count(),
        1
    );
}

#[test]
fn timeouts_are_retried_for_reads_and_every_request_carries_the_timeout() {
    let http = replay();
    let url = format!("{API}/sub/v2/accounts/{ACC}/subscriptions");
    http.on(
        Method::Get,
        &url,
        vec![
            Err(Error::Timeout {
                endpoint: url.clone(),
                ms: 5_000,
            }),
            Ok(HttpResponse::new(200, r#"{"data":[]}"#)),
        ],
    );
    ok(block_on(api(&http).subscriptions()));
    assert_eq!(http.requests_to("/subscriptions").len(), 2);
    assert!(http
        .log
        .borrow()
        .iter()
        .all(|r| r.timeout_ms == Some(5_000)));
}

mod datadog {
    use super::*;
    use dps_cost::api::datadog::{api_base, DatadogApi};
    use dps_cost::auth::Secret;

    const DD: &str = "https://api.datadoghq.eu";

    fn dd(http: &Replay) -> DatadogApi<&Replay, FixedClock> {
        let base = api_base(Some("datadoghq.eu"), None).unwrap_or_else(|e| panic!("{e}"));
        DatadogApi::new(
            http,
            FixedClock(0),
            base,
            Secret::new("DDAPIKEY0123"),
            Secret::new("DDAPPKEY4567"),
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .with_retry(RetryPolicy {
            max_attempts: 3,
            base_delay_ms: 10,
            max_delay_ms: 5_000,
            budget_ms: 60_000,
            timeout_ms: 5_000,
        })
    }

    #[test]
    fn sites_by_name_or_base_url() {
        for (site, base) in [
            ("datadoghq.com", "https://api.datadoghq.com"),
            ("us3", "https://api.us3.datadoghq.com"),
            ("us5.datadoghq.com", "https://api.us5.datadoghq.com"),
            ("datadoghq.eu", "https://api.datadoghq.eu"),
            ("ap1", "https://api.ap1.datadoghq.com"),
            ("ap2", "https://api.ap2.datadoghq.com"),
            ("ddog-gov.com", "https://api.ddog-gov.com"),
            ("app.datadoghq.eu", "https://api.datadoghq.eu"),
        ] {
            assert_eq!(ok(api_base(Some(site), None)).as_str(), base, "{site}");
        }
        assert_eq!(
            ok(api_base(None, None)).as_str(),
            "https://api.datadoghq.com"
        );
        assert_eq!(
            ok(api_base(None, Some("http://127.0.0.1:9"))).as_str(),
            "http://127.0.0.1:9"
        );
        assert_eq!(
            err(api_base(Some("datadoghq.cn"), None)).field(),
            Some("site")
        );
        assert_eq!(
            err(api_base(None, Some("http://evil.example"))).field(),
            Some("baseUrl")
        );
    }

    #[test]
    fn list_and_get_send_both_keys_and_retry_429() {
        let http = Replay::new();
        http.on(
            Method::Get,
            &format!("{DD}/api/v2/cost/arbitrary_rule"),
            vec![
                Ok(
                    HttpResponse::new(429, r#"{"errors":["Too many requests"]}"#)
                        .with_header("Retry-After", "1"),
                ),
                Ok(HttpResponse::new(200, r#"{"data":[]}"#)),
            ],
        );
        let api = dd(&http);
        assert_eq!(ok(block_on(api.list_rules_json())), r#"{"data":[]}"#);
        let sent = &http.log.borrow()[1];
        assert_eq!(sent.header_value("dd-api-key"), Some("DDAPIKEY0123"));
        assert_eq!(
            sent.header_value("dd-application-key"),
            Some("DDAPPKEY4567")
        );
        assert!(
            !format!("{sent:?}").contains("DDAPIKEY0123")
                && !format!("{sent:?}").contains("DDAPPKEY4567")
        );
        assert_eq!(*http.sleeps.borrow(), vec![1_000]);
    }

    #[test]
    fn both_404_shapes_are_not_found_with_the_reason() {
        for (body, reason) in [
            (
                r#"{"errors":[{"title":"Generic Error","detail":"rpc error: code = NotFound desc = error getting arbitrary cost rule: record not found"}]}"#,
                "record not found",
            ),
            (
                r#"{"errors":[{"status":"404","title":"Not found","detail":"The requested resource was not found"}]}"#,
                "The requested resource was not found",
            ),
        ] {
            let http = Replay::new();
            http.ok(
                Method::Get,
                &format!("{DD}/api/v2/cost/arbitrary_rule/683"),
                404,
                body,
            );
            let e = err(block_on(dd(&http).rule_json("683")));
            assert_eq!((e.code(), e.status()), ("NOT_FOUND", Some(404)));
            assert!(e.to_string().contains(reason), "{e}");
            assert!(!e.to_string().contains("DDAPIKEY"));
        }
        let http = Replay::new();
        assert_eq!(
            err(block_on(dd(&http).rule_json("../x"))).field(),
            Some("ruleId")
        );
        assert!(http.log.borrow().is_empty());
        let base = ok(api_base(None, None));
        let e = DatadogApi::new(
            &http,
            FixedClock(0),
            base,
            Secret::new(""),
            Secret::new("x"),
        )
        .err()
        .unwrap_or_else(|| panic!("empty key accepted"));
        assert_eq!(e.field(), Some("apiKey"));
    }
}
