//! The JS boundary, run by wasm-bindgen-test in Node and in headless Chromium: values in and out,
//! real `Error` objects with `code`, and the pipeline through a caller-supplied fetch function
//! (a route table that answers 501 for unknown routes).
#![cfg(target_arch = "wasm32")]

use dps_cost_wasm as wasm;
use js_sys::{Array, Reflect, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

#[wasm_bindgen(inline_js = r#"
export function makeFetch(routesJson) {
  const routes = JSON.parse(routesJson);
  const calls = [];
  const respond = (status, body, headers) => ({
    status,
    headers: { get: (n) => (headers || {})[n.toLowerCase()] ?? null },
    text: async () => body ?? "",
  });
  const f = async (url, init) => {
    calls.push({ url, method: init.method, headers: init.headers, body: init.body });
    const key = init.method + " " + url.split("?")[0];
    const list = routes[key];
    if (!list) return respond(501, "stub: no route for " + key);
    const r = list.length > 1 ? list.shift() : list[0];
    return respond(r.status, r.body, r.headers);
  };
  f.calls = calls;
  return f;
}
export function neverAnswers() { return () => new Promise(() => {}); }
export async function collectPages(iterable, stopAfter) {
  const pages = [];
  for await (const page of iterable) { pages.push(page); if (pages.length === stopAfter) break; }
  return pages;
}
export function withNaN(records) { records[1].value = NaN; return records; }
export function setProp(o, k, v) { o[k] = v; return o; }
"#)]
extern "C" {
    #[wasm_bindgen(js_name = makeFetch)]
    fn make_fetch(routes: &str) -> js_sys::Function;
    #[wasm_bindgen(js_name = neverAnswers)]
    fn never_answers() -> js_sys::Function;
    #[wasm_bindgen(js_name = collectPages)]
    fn collect_pages(iterable: &JsValue, stop_after: u32) -> js_sys::Promise;
    #[wasm_bindgen(js_name = withNaN)]
    fn with_nan(records: JsValue) -> JsValue;
    #[wasm_bindgen(js_name = setProp)]
    fn set_prop(o: JsValue, k: &str, v: JsValue) -> JsValue;
}

const ACC: &str = "3f7c2d1e-8a4b-4c6d-9e0f-1a2b3c4d5e6f";
const SUB: &str = "5d0c8a7e-1b2f-4c3d-8e4f-a0b1c2d3e4f5";
const SSO: &str = "https://sso.test/sso/oauth2/token";
const API: &str = "https://api.test";
const INGEST: &str = "https://abc.live.test/api/v2/bizevents/ingest";
const SECRET: &str = "dt0s02.EMU.SECRET-VALUE-123";

fn js(json: &str) -> JsValue {
    JSON::parse(json).unwrap_or_else(|_| panic!("bad test json"))
}

fn get(v: &JsValue, k: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED)
}

fn routes() -> String {
    let token = r#"{"access_token":"eyJ.TOKEN","token_type":"Bearer","expires_in":300,"scope":"account-uac-read"}"#;
    serde_json::json!({
        format!("POST {SSO}"): [{"status": 200, "body": token}],
        format!("GET {API}/sub/v2/accounts/{ACC}/subscriptions"): [{"status": 200, "body": format!(r#"{{"data":[{{"uuid":"{SUB}","type":"REGULAR","status":"ACTIVE","startTime":"2025-10-19"}}]}}"#)}],
        format!("GET {API}/sub/v2/accounts/{ACC}/subscriptions/{SUB}"): [{"status": 200, "body": format!(r#"{{"uuid":"{SUB}","name":"DPS","budget":{{"total":1000,"used":3.5,"currencyCode":"EUR"}},"currentPeriod":{{"startTime":"2025-10-19","endTime":"2027-10-18","daysRemaining":329}}}}"#)}],
        format!("GET {API}/sub/v2/accounts/{ACC}/subscriptions/{SUB}/cost"): [{"status": 200, "body": r#"{"data":[{"startTime":"2026-11-02T00:00:00Z","endTime":"2026-11-03T00:00:00Z","value":2.5},{"startTime":"2026-11-01T00:00:00.000Z","endTime":"2026-11-02T00:00:00.000Z","value":1}]}"#}],
        format!("POST {INGEST}"): [{"status": 202, "body": ""}]
    })
    .to_string()
}

fn sync_config(fetch: &js_sys::Function) -> JsValue {
    let cfg = js(&format!(
        r#"{{"accounts":[{{"accountUuid":"{ACC}","clientId":"dt0s02.EMU","clientSecret":"{SECRET}","name":"ACME"}}],
            "ssoUrl":"{SSO}","apiUrl":"{API}","now":"2026-11-23T10:00:00Z","ingest":{{"url":"{INGEST}","accessToken":"eyJ.INGEST"}},
            "include":{{"environmentCost":false,"environmentUsage":false,"forecast":false,"allocation":false}}}}"#
    ));
    set_prop(cfg, "fetch", fetch.into())
}

async fn rejection(p: js_sys::Promise) -> JsValue {
    match JsFuture::from(p).await {
        Ok(v) => panic!("expected a rejection, got {v:?}"),
        Err(e) => e,
    }
}

fn assert_dps_error(e: &JsValue, code: &str) {
    assert!(
        e.is_instance_of::<js_sys::Error>(),
        "a real Error, not a string: {e:?}"
    );
    assert_eq!(get(e, "name").as_string().as_deref(), Some("DpsCostError"));
    assert_eq!(get(e, "code").as_string().as_deref(), Some(code), "{e:?}");
    assert!(wasm::is_dps_cost_error(e));
    let message = get(e, "message").as_string().unwrap_or_default();
    assert!(
        !message.contains(SECRET) && !message.contains("eyJ."),
        "no secret in {message}"
    );
}

#[wasm_bindgen_test]
fn version_is_the_crate_version() {
    assert_eq!(wasm::version(), env!("CARGO_PKG_VERSION"));
}

#[wasm_bindgen_test]
fn cost_to_date_sorts_and_sums_across_the_boundary() {
    let out = wasm::cost_to_date(js(r#"[{"startTime":"2024-10-23T00:00:00Z","value":0.2,"extra":1},{"startTime":"2024-10-22T00:00:00.000Z","value":0.1}]"#))
        .unwrap_or_else(|_| panic!("costToDate failed"));
    let arr = Array::from(&out);
    assert_eq!(arr.length(), 2);
    assert_eq!(get(&arr.get(0), "value").as_f64(), Some(0.1));
    assert_eq!(get(&arr.get(1), "costToDate").as_f64(), Some(0.3));
    assert!(get(&arr.get(0), "costToDate").as_f64().is_some());
}

#[wasm_bindgen_test]
fn bad_values_throw_real_errors_naming_the_field() {
    let recs = with_nan(js(
        r#"[{"startTime":"2024-10-22","value":1},{"startTime":"2024-10-23","value":2}]"#,
    ));
    let e = wasm::cost_to_date(recs)
        .err()
        .unwrap_or_else(|| panic!("NaN accepted"));
    assert_dps_error(&e, "INVALID_INPUT");
    assert_eq!(
        get(&e, "field").as_string().as_deref(),
        Some("records[1].value")
    );

    let e = wasm::cost_to_date(js(r#"[{"startTime":"not a date","value":1}]"#))
        .err()
        .unwrap_or_else(|| panic!());
    assert_dps_error(&e, "INVALID_INPUT");
    assert_eq!(
        get(&e, "field").as_string().as_deref(),
        Some("records[0].startTime")
    );

    let e = wasm::cost_to_date(js(r#"{"not":"an array"}"#))
        .err()
        .unwrap_or_else(|| panic!());
    assert_dps_error(&e, "INVALID_INPUT");
    let e = wasm::cost_to_date(JsValue::UNDEFINED)
        .err()
        .unwrap_or_else(|| panic!());
    assert_dps_error(&e, "INVALID_INPUT");
}

#[wasm_bindgen_test]
fn bizevents_are_flat_deterministic_and_untimestamped() {
    let input = format!(
        r#"{{"accountUuid":"{ACC}","accountName":"ACME","now":"2026-11-23T10:00:00Z",
            "subscription":{{"uuid":"{SUB}","budget":{{"total":10,"used":1}},"currentPeriod":{{"startTime":"2025-10-19","endTime":"2027-10-18","daysRemaining":3}}}},
            "costs":[{{"startTime":"2026-11-02T00:00:00Z","value":2}},{{"startTime":"2026-11-01T00:00:00Z","value":1}}]}}"#
    );
    let a = Array::from(&wasm::build_bizevents_js(js(&input)).unwrap_or_else(|_| panic!()));
    let b = Array::from(&wasm::build_bizevents_js(js(&input)).unwrap_or_else(|_| panic!()));
    assert_eq!(a.length(), 3);
    assert_eq!(
        get(&a.get(0), "event.type").as_string().as_deref(),
        Some("dps.subscription.status")
    );
    assert_eq!(
        get(&a.get(0), "currency").as_string().as_deref(),
        Some("USD")
    );
    assert_eq!(
        get(&a.get(1), "startTime").as_string().as_deref(),
        Some("2026-11-01T00:00:00.000Z")
    );
    assert_eq!(get(&a.get(2), "costToDate").as_f64(), Some(3.0));
    for i in 0..3 {
        assert_eq!(
            get(&a.get(i), "event.id").as_string(),
            get(&b.get(i), "event.id").as_string()
        );
        assert!(get(&a.get(i), "timestamp").is_undefined());
    }
}

#[wasm_bindgen_test]
async fn sync_through_a_caller_fetch_function() {
    let fetch = make_fetch(&routes());
    let summary = JsFuture::from(wasm::sync(sync_config(&fetch)))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        get(&summary, "ok").as_bool(),
        Some(true),
        "{:?}",
        JSON::stringify(&summary)
    );
    let events = get(&summary, "events");
    // The account's 3 events, then its dps.sync.run event in a request of its own.
    assert_eq!(get(&events, "accepted").as_f64(), Some(4.0));
    let account = Array::from(&get(&summary, "accounts")).get(0);
    assert_eq!(get(&account, "costToDate").as_f64(), Some(3.5));
    assert_eq!(
        get(&get(&account, "subscription"), "percentUsed").as_f64(),
        Some(0.35)
    );
    let text = JSON::stringify(&summary)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default();
    assert!(
        !text.contains(SECRET) && !text.contains("eyJ."),
        "summary holds no secret"
    );
    // the exact requests: the cost call is authorised, ingest is one JSON array of the
    // account's events, then one of its run event
    let calls = Array::from(&get(&fetch, "calls"));
    let cost = calls
        .iter()
        .find(|c| {
            get(c, "url")
                .as_string()
                .unwrap_or_default()
                .ends_with("/cost")
        })
        .unwrap_or_else(|| panic!("no cost call"));
    assert_eq!(
        get(&get(&cost, "headers"), "Authorization")
            .as_string()
            .as_deref(),
        Some("Bearer eyJ.TOKEN")
    );
    let ingests: Vec<JsValue> = calls
        .iter()
        .filter(|c| get(c, "url").as_string().as_deref() == Some(INGEST))
        .collect();
    assert_eq!(ingests.len(), 2, "ingest calls");
    let body = |c: &JsValue| {
        Array::from(
            &JSON::parse(&get(c, "body").as_string().unwrap_or_default())
                .unwrap_or_else(|_| panic!()),
        )
    };
    assert_eq!(body(&ingests[0]).length(), 3);
    let run = body(&ingests[1]);
    assert_eq!(run.length(), 1);
    assert_eq!(
        get(&run.get(0), "event.type").as_string().as_deref(),
        Some("dps.sync.run")
    );
}

#[wasm_bindgen_test]
async fn sync_config_errors_reject_with_the_field() {
    let fetch = make_fetch("{}");
    let cfg = set_prop(
        js(r#"{"accounts":[{"accountUuid":"nope","clientId":"a","clientSecret":"b"}]}"#),
        "fetch",
        fetch.into(),
    );
    let e = rejection(wasm::sync(cfg)).await;
    assert_dps_error(&e, "INVALID_INPUT");
    assert_eq!(
        get(&e, "field").as_string().as_deref(),
        Some("accounts[0].accountUuid")
    );

    let cfg = set_prop(
        js(r#"{"accounts":[]}"#),
        "fetch",
        JsValue::from_str("not a function"),
    );
    let e = rejection(wasm::sync(cfg)).await;
    assert_dps_error(&e, "INVALID_INPUT");
}

#[wasm_bindgen_test]
async fn unknown_routes_and_oauth_errors_surface_as_codes() {
    // account API not in the table: 501 from the stub → HTTP_STATUS, reported per account
    let mut r: serde_json::Value = serde_json::from_str(&routes()).unwrap_or_default();
    if let Some(o) = r.as_object_mut() {
        o.retain(|k, _| k.starts_with("POST"));
    }
    let fetch = make_fetch(&r.to_string());
    let summary = JsFuture::from(wasm::sync(sync_config(&fetch)))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(get(&summary, "ok").as_bool(), Some(false));
    let account = Array::from(&get(&summary, "accounts")).get(0);
    assert_eq!(
        get(&get(&account, "error"), "code").as_string().as_deref(),
        Some("HTTP_STATUS")
    );

    let bad = serde_json::json!({ format!("POST {SSO}"): [{"status": 400, "body": r#"{"error":"invalid_request","error_description":"Invalid client"}"#}] });
    let fetch = make_fetch(&bad.to_string());
    let opts = set_prop(
        js(&format!(
            r#"{{"accountUuid":"{ACC}","clientId":"dt0s02.EMU","clientSecret":"{SECRET}","ssoUrl":"{SSO}"}}"#
        )),
        "fetch",
        fetch.into(),
    );
    let e = rejection(wasm::get_token(opts)).await;
    assert_dps_error(&e, "AUTH_INVALID_CLIENT");
    assert_eq!(get(&e, "status").as_f64(), Some(400.0));
}

#[wasm_bindgen_test]
async fn ingest_reports_partial_rejections() {
    let r = serde_json::json!({ format!("POST {INGEST}"): [{"status": 400, "body": r#"{"errors":[{"index":1,"message":"bad event","id":null,"source":null}]}"#}] });
    let fetch = make_fetch(&r.to_string());
    let opts = set_prop(
        js(&format!(
            r#"{{"url":"{INGEST}","accessToken":"eyJ.X","events":[{{"event.id":"a"}},{{"event.id":"b"}}]}}"#
        )),
        "fetch",
        fetch.into(),
    );
    let report = JsFuture::from(wasm::ingest(opts))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(get(&report, "accepted").as_f64(), Some(1.0));
    let rejected = Array::from(&get(&report, "rejected"));
    assert_eq!(
        get(&rejected.get(0), "eventId").as_string().as_deref(),
        Some("b")
    );

    let opts = js(&format!(
        r#"{{"url":"{INGEST}","accessToken":"x","events":[1]}}"#
    ));
    let e = rejection(wasm::ingest(opts)).await;
    assert_dps_error(&e, "INVALID_INPUT");
    assert_eq!(
        get(&e, "field").as_string().as_deref(),
        Some("options.events[0]")
    );
}

fn client_with(fetch: &js_sys::Function, extra: &str) -> wasm::DpsClient {
    let opts = set_prop(
        js(&format!(
            r#"{{"accountUuid":"{ACC}","clientId":"dt0s02.EMU","clientSecret":"{SECRET}","ssoUrl":"{SSO}","apiUrl":"{API}"{extra}}}"#
        )),
        "fetch",
        fetch.into(),
    );
    wasm::DpsClient::new(opts).unwrap_or_else(|e| panic!("{e:?}"))
}

#[wasm_bindgen_test]
async fn environment_cost_pages_are_a_for_await_iterator() {
    let page = |env: &str, next: Option<&str>| {
        serde_json::json!({"data": [{"environmentId": env, "cost": [{"startTime": "2026-11-01T00:00:00Z", "value": 1, "capabilityKey": "X"}]}], "nextPageKey": next}).to_string()
    };
    let mut r: serde_json::Value = serde_json::from_str(&routes()).unwrap_or_default();
    r[format!("GET {API}/sub/v3/accounts/{ACC}/subscriptions/{SUB}/environments/cost")] = serde_json::json!([
        {"status": 200, "body": page("a", Some("K1"))},
        {"status": 200, "body": page("b", Some("K2"))},
        {"status": 200, "body": page("c", None)}
    ]);
    let fetch = make_fetch(&r.to_string());
    let client = client_with(&fetch, "");
    let query =
        js(r#"{"startTime":"2026-11-01T00:00:00Z","endTime":"2026-11-04T00:00:00Z","pageSize":1}"#);
    let iter = client
        .environment_cost_pages(SUB.to_string(), query.clone())
        .unwrap_or_else(|e| panic!("{e:?}"));
    let pages = Array::from(
        &JsFuture::from(collect_pages(&iter, 0))
            .await
            .unwrap_or_else(|e| panic!("{e:?}")),
    );
    assert_eq!(pages.length(), 3);
    let first = Array::from(&get(&pages.get(0), "environments")).get(0);
    assert_eq!(
        get(&first, "environmentId").as_string().as_deref(),
        Some("a")
    );
    // `break` after the first page stops: no further request
    let fetch = make_fetch(&r.to_string());
    let client = client_with(&fetch, "");
    let iter = client
        .environment_cost_pages(SUB.to_string(), query)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let pages = Array::from(
        &JsFuture::from(collect_pages(&iter, 1))
            .await
            .unwrap_or_else(|e| panic!("{e:?}")),
    );
    assert_eq!(pages.length(), 1);
    let calls = Array::from(&get(&fetch, "calls"));
    let v3 = calls
        .iter()
        .filter(|c| {
            get(c, "url")
                .as_string()
                .unwrap_or_default()
                .contains("/sub/v3/")
        })
        .count();
    assert_eq!(v3, 1);
    // a bad query throws synchronously with the field
    let e = client
        .environment_cost_pages(
            SUB.to_string(),
            js(r#"{"startTime":"2026-11-01","endTime":"2026-11-02","pageSize":51}"#),
        )
        .err()
        .unwrap_or_else(|| panic!());
    assert_dps_error(&e, "INVALID_INPUT");
    assert_eq!(get(&e, "field").as_string().as_deref(), Some("pageSize"));
}

#[wasm_bindgen_test]
async fn a_request_that_never_answers_times_out() {
    let fetch = never_answers();
    let client = client_with(
        &fetch,
        r#","retry":{"maxAttempts":2,"baseDelayMs":1,"timeoutMs":50}"#,
    );
    let e = rejection(client.subscriptions()).await;
    assert_dps_error(&e, "TIMEOUT");
    let opts = set_prop(
        js(r#"{"accountUuid":"x","clientId":"a","clientSecret":"b","retry":{"maxAttempts":0}}"#),
        "fetch",
        fetch.into(),
    );
    let e = wasm::DpsClient::new(opts).err().unwrap_or_else(|| panic!());
    assert_dps_error(&e, "INVALID_INPUT");
}
