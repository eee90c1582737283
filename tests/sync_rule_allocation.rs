//! Allocation by Datadog rules inside the sync (`allocation`): the lines of the window split by
//! the cost-center breakdown, `dps.cost.allocated` events with stable ids, per-currency
//! conservation in the summary, rules fetched from Datadog before any event is sent, and the
//! bad inputs (an invalid rule, refused keys, rules that allocate nothing).
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::collections::{BTreeMap, HashSet};

use common::sync::{options, run, sent_events, sub_url, ACC, API, INGEST, SSO, SUB, TOKEN};
use common::{serve_account, Replay};
use dps_cost::http::{HttpResponse, Method};

const DD_RULES: &str = "https://api.datadoghq.eu/api/v2/cost/arbitrary_rule";
const DD_API_KEY: &str = "ddapikey0123456789abcdef01234567";
const DD_APP_KEY: &str = "ddappkey0123456789abcdef0123456789abcdef";

/// One account: env-a (LOGS, HOSTS) and env-b (LOGS) over two days, 10.75 USD in all; the
/// cost-allocation breakdown splits env-a's LOGS of 2024-10-22 (1.25) into team-a 1.00 and an
/// unallocated 0.25.
fn replay() -> Replay {
    let r = Replay::new();
    serve_account(&r, SSO, API, ACC, SUB, TOKEN);
    let v3 = format!("{API}/sub/v3/accounts/{ACC}/subscriptions/{SUB}/environments");
    r.on(Method::Get, &format!("{v3}/cost"), vec![
        Ok(HttpResponse::new(200, r#"{"data":[{"environmentId":"env-a","cost":[
            {"startTime":"2024-10-22T00:00:00Z","endTime":"2024-10-23T00:00:00Z","value":1.25,"currencyCode":"USD","capabilityKey":"LOGS","capabilityName":"Logs","bookingDate":"2024-10-23"},
            {"startTime":"2024-10-22T00:00:00Z","endTime":"2024-10-23T00:00:00Z","value":2.5,"currencyCode":"USD","capabilityKey":"HOSTS"}]}],
            "lastModifiedTime":"2024-10-27T06:00:00Z","nextPageKey":"K1"}"#)),
        Ok(HttpResponse::new(200, r#"{"data":[{"environmentId":"env-a","cost":[{"startTime":"2024-10-23T00:00:00Z","value":3,"currencyCode":"USD","capabilityKey":"LOGS"}]},
            {"environmentId":"env-b","clusterId":"c-1","cost":[{"startTime":"2024-10-22T00:00:00Z","value":4,"currencyCode":"USD","capabilityKey":"LOGS"}]}],
            "lastModifiedTime":"2024-10-27T06:00:00Z","nextPageKey":null}"#)),
    ]);
    r.ok(Method::Get, &format!("{v3}/usage"), 200, r#"{"data":[{"environmentId":"env-a","usage":[{"startTime":"2024-10-22T00:00:00Z","value":12.5,"capabilityKey":"LOGS","unitMeasure":"GiB"}]}]}"#);
    r.ok(Method::Get, &sub_url("/forecast"), 200, r#"{"forecastMedian":900000,"forecastLower":850000,"forecastUpper":950000,"budget":1000000,"forecastBudgetPct":90,"forecastBudgetDate":null,"forecastCreatedAt":"2024-10-27T05:00:00Z"}"#);
    let alloc = format!("{API}/v1/subscriptions/{SUB}/cost-allocation");
    r.ok(Method::Get, &alloc, 200, r#"{"records":[]}"#);
    r.ok(Method::Get, &format!("{alloc}?field=COSTCENTER&environment-id=env-a"), 200,
        r#"{"records":[{"date":"2024-10-22","capability":"LOGS","key":"team-a","costs":1,"usage":10},{"date":"2024-10-22","capability":"LOGS","key":null,"costs":0.25}]}"#);
    r.ok(Method::Post, INGEST, 202, "");
    r
}

/// Datadog's rule JSON: LOGS 60/40 to two teams; cost center team-a's cost split evenly over
/// the products of env-b (none there: unallocated); the rest untouched.
fn rules() -> serde_json::Value {
    serde_json::json!({"data": [
        {"id": "11", "type": "arbitrary_rule", "attributes": {
            "rule_name": "team-a-by-product", "provider": ["dynatrace"], "type": "shared", "enabled": true, "order_id": 1,
            "costs_to_allocate": [{"condition": "is", "tag": "costcenter", "value": "team-a"}],
            "strategy": {"method": "even", "granularity": "daily", "allocated_by_tag_keys": ["product"]}}},
        {"id": "12", "type": "arbitrary_rule", "attributes": {
            "rule_name": "logs-to-teams", "provider": ["dynatrace"], "type": "shared", "enabled": true, "order_id": 2,
            "costs_to_allocate": [{"condition": "is", "tag": "capability", "value": "LOGS"}],
            "strategy": {"method": "percent", "allocated_by": [
                {"allocated_tags": [{"key": "team", "value": "platform"}], "percentage": 0.6},
                {"allocated_tags": [{"key": "team", "value": "web"}], "percentage": 0.4}]}}}
    ]})
}

fn of_type(events: &[serde_json::Value], t: &str) -> Vec<serde_json::Value> {
    events
        .iter()
        .filter(|e| e["event.type"] == t)
        .cloned()
        .collect()
}

fn micros(e: &serde_json::Value) -> i64 {
    e["costMicros"].as_i64().unwrap_or(i64::MIN)
}

#[test]
fn inline_rules_split_the_window_by_cost_center_and_conserve_every_currency() {
    let http = replay();
    let s = run(
        &http,
        serde_json::json!({ "allocation": { "rules": rules() } }),
    );
    assert!(s.ok, "{s:#?}");
    let a = &s.accounts[0];
    let summary = a
        .cost_allocated
        .as_ref()
        .unwrap_or_else(|| panic!("{a:#?}"));
    // 4 cost records; env-a LOGS 2024-10-22 split into team-a (1.00) and the rest (0.25)
    assert_eq!(
        (summary.source, summary.rules, summary.lines),
        ("inline", 2, 5)
    );
    let usd = &summary.totals["USD"];
    assert_eq!(
        (usd.input_micros, usd.output_micros),
        (10_750_000, 10_750_000)
    );
    assert!(usd.equal);
    assert_eq!(
        (usd.input.as_str(), usd.output.as_str()),
        ("10.75", "10.75")
    );
    assert!(summary.warnings.is_empty(), "{:?}", summary.warnings);

    let events = sent_events(&http);
    let allocated = of_type(&events, "dps.cost.allocated");
    assert_eq!(allocated.len(), a.events.cost_allocated);
    // team-a's 1.00 (no product there: unallocated) + 3 LOGS lines × 2 teams; HOSTS unchanged
    assert_eq!(allocated.len(), 1 + 3 * 2);
    let ids: HashSet<&str> = allocated
        .iter()
        .filter_map(|e| e["event.id"].as_str())
        .collect();
    assert_eq!(ids.len(), allocated.len(), "one id per event");
    let team_a: Vec<&serde_json::Value> = allocated
        .iter()
        .filter(|e| e["tag.costcenter"] == "team-a")
        .collect();
    assert_eq!(team_a.len(), 1);
    assert_eq!(
        (
            team_a[0]["allocationStatus"].as_str(),
            team_a[0]["ruleName"].as_str(),
            micros(team_a[0])
        ),
        (Some("unallocated"), Some("team-a-by-product"), 1_000_000)
    );
    let mut by_team: BTreeMap<String, i64> = BTreeMap::new();
    for e in allocated
        .iter()
        .filter(|e| e["allocationStatus"] == "allocated")
    {
        *by_team
            .entry(e["destination.team"].as_str().unwrap_or("?").to_string())
            .or_default() += micros(e);
        assert_eq!(e["tag.account"], ACC);
        assert_eq!(e["tag.account_name"], "ACME");
        assert_eq!(e["tag.provider"], "dynatrace");
    }
    // LOGS: 0.25 (env-a rest) + 3 + 4 = 7.25 → 60 % / 40 %
    assert_eq!(
        by_team,
        BTreeMap::from([("platform".into(), 4_350_000), ("web".into(), 2_900_000)])
    );
    // input = allocated + unallocated + unchanged HOSTS (2.50)
    let out: i64 = allocated.iter().map(micros).sum::<i64>() + 2_500_000;
    assert_eq!(out, 10_750_000);
    // the other families are there as without rules
    assert_eq!(of_type(&events, "dps.environment.cost").len(), 4);
    assert_eq!(
        of_type(&events, "dps.cost.allocation").len(),
        a.events.allocation
    );
    let run_event = &of_type(&events, "dps.sync.run")[0];
    assert_eq!(run_event["eventsBuilt"], a.events.data_events());
}

#[test]
fn a_rerun_sends_the_same_allocated_ids() {
    let ids = |http: &Replay| {
        let mut v: Vec<String> = of_type(&sent_events(http), "dps.cost.allocated")
            .iter()
            .filter_map(|e| e["event.id"].as_str().map(str::to_string))
            .collect();
        v.sort();
        v
    };
    let (a, b) = (replay(), replay());
    run(
        &a,
        serde_json::json!({ "allocation": { "rules": rules() } }),
    );
    run(
        &b,
        serde_json::json!({ "allocation": { "rules": rules() } }),
    );
    assert!(!ids(&a).is_empty());
    assert_eq!(ids(&a), ids(&b));
}

#[test]
fn an_allocation_shard_reads_the_cost_pages_and_sends_the_same_allocated_events() {
    let full = replay();
    run(
        &full,
        serde_json::json!({ "allocation": { "rules": rules() } }),
    );
    let shard = replay();
    let include = serde_json::json!({"subscriptionStatus": false, "costBooked": false, "environmentCost": false,
        "environmentUsage": false, "forecast": false, "allocation": true, "costAllocated": true});
    let s = run(
        &shard,
        serde_json::json!({ "allocation": { "rules": rules() }, "include": include }),
    );
    assert!(s.ok, "{s:#?}");
    let sent = sent_events(&shard);
    let types: HashSet<&str> = sent
        .iter()
        .filter_map(|e| e["event.type"].as_str())
        .collect();
    assert_eq!(
        types,
        HashSet::from(["dps.cost.allocation", "dps.cost.allocated", "dps.sync.run"])
    );
    assert_eq!(
        of_type(&sent, "dps.cost.allocated"),
        of_type(&sent_events(&full), "dps.cost.allocated")
    );
    assert!(
        shard
            .requests_to(&format!("{SUB}/cost"))
            .iter()
            .all(|r| r.url.contains("/cost-allocation")),
        "no daily cost read"
    );
}

#[test]
fn without_the_breakdown_the_lines_carry_no_cost_center() {
    let http = replay();
    let s = run(
        &http,
        serde_json::json!({ "allocation": { "rules": rules(), "breakdown": "NONE" } }),
    );
    let summary = s.accounts[0]
        .cost_allocated
        .as_ref()
        .unwrap_or_else(|| panic!("{s:#?}"));
    assert_eq!(summary.lines, 4);
    let allocated = of_type(&sent_events(&http), "dps.cost.allocated");
    assert!(allocated.iter().all(|e| e.get("tag.costcenter").is_none()));
    assert_eq!(allocated.len(), 3 * 2, "every LOGS line to the two teams");
}

#[test]
fn rules_fetched_from_datadog_before_any_event_with_the_keys_as_headers() {
    let http = replay();
    http.ok(Method::Get, DD_RULES, 200, &rules().to_string());
    let dd = serde_json::json!({ "apiKey": DD_API_KEY, "applicationKey": DD_APP_KEY, "site": "datadoghq.eu" });
    let s = run(
        &http,
        serde_json::json!({ "allocation": { "datadog": dd } }),
    );
    assert!(s.ok, "{s:#?}");
    assert_eq!(
        s.accounts[0]
            .cost_allocated
            .as_ref()
            .map(|c| (c.source, c.rules)),
        Some(("datadog", 2))
    );
    let log = http.log.borrow();
    let first_dd = log.iter().position(|r| r.url.starts_with(DD_RULES));
    let first_ingest = log.iter().position(|r| r.url == INGEST);
    assert!(first_dd < first_ingest, "the rules come before any event");
    let dd_reqs = http.requests_to("datadoghq.eu");
    assert_eq!(dd_reqs.len(), 1, "once per run");
    assert_eq!(dd_reqs[0].header_value("DD-API-KEY"), Some(DD_API_KEY));
    assert_eq!(
        dd_reqs[0].header_value("DD-APPLICATION-KEY"),
        Some(DD_APP_KEY)
    );
    let summary = format!("{s:?}{}", serde_json::to_string(&s).unwrap_or_default());
    assert!(!summary.contains(DD_API_KEY) && !summary.contains(DD_APP_KEY));
    assert_eq!(of_type(&sent_events(&http), "dps.cost.allocated").len(), 7);
}

#[test]
fn refused_keys_fail_the_allocated_family_only() {
    let http = replay();
    http.ok(Method::Get, DD_RULES, 403, r#"{"errors":["Forbidden"]}"#);
    let dd =
        serde_json::json!({ "apiKey": DD_API_KEY, "applicationKey": DD_APP_KEY, "site": "eu" });
    let s = run(
        &http,
        serde_json::json!({ "allocation": { "datadog": dd } }),
    );
    assert!(!s.ok);
    let a = &s.accounts[0];
    assert!(a.error.is_none(), "the account itself ran");
    assert_eq!(a.errors.len(), 1, "{:?}", a.errors);
    let e = &a.errors[0];
    assert_eq!(
        (e.family, e.error.code.as_str(), e.error.status),
        ("costAllocated", "FORBIDDEN", Some(403))
    );
    assert!(
        e.error
            .message
            .contains("Datadog refused the API key or application key"),
        "{}",
        e.error.message
    );
    let text = format!("{s:?}{}", serde_json::to_string(&s).unwrap_or_default());
    assert!(!text.contains(DD_API_KEY) && !text.contains(DD_APP_KEY));
    assert!(s.incomplete[0].families.contains(&"costAllocated"));
    // every other family was still built and sent
    let events = sent_events(&http);
    assert_eq!(of_type(&events, "dps.cost.allocated").len(), 0);
    assert_eq!(of_type(&events, "dps.environment.cost").len(), 4);
    assert_eq!(
        of_type(&events, "dps.cost.allocation").len(),
        a.events.allocation
    );
    assert_eq!(
        of_type(&events, "dps.sync.run")[0]["incompleteFamilies"],
        "costAllocated"
    );
}

#[test]
fn an_invalid_inline_rule_is_refused_before_any_request() {
    let mut bad = rules();
    bad["data"][1]["attributes"]["strategy"]["allocated_by"][0]["percentage"] = 0.7.into();
    let e = options(serde_json::json!({ "allocation": { "rules": bad } }))
        .validate()
        .err()
        .unwrap_or_else(|| panic!("validated"));
    assert_eq!(e.code(), "RULE_INVALID");
    let msg = e.to_string();
    assert!(
        msg.contains("logs-to-teams") && msg.contains("allocated_by"),
        "{msg}"
    );
    for bad in [
        serde_json::json!({}),
        serde_json::json!({ "rules": rules(), "datadog": { "apiKey": "a", "applicationKey": "b" } }),
        serde_json::json!({ "rules": rules(), "breakdown": "TEAM" }),
        serde_json::json!({ "datadog": { "apiKey": "a b", "applicationKey": "b" } }),
        serde_json::json!({ "datadog": { "apiKey": "a", "applicationKey": "b", "site": "nowhere" } }),
    ] {
        let e = options(serde_json::json!({ "allocation": bad.clone() }))
            .validate()
            .err();
        assert_eq!(e.map(|e| e.code()), Some("INVALID_INPUT"), "{bad}");
    }
}

#[test]
fn an_invalid_fetched_rule_sends_no_allocated_event() {
    let http = replay();
    let mut bad = rules();
    bad["data"][0]["attributes"]["costs_to_allocate"][0]["condition"] = "resembles".into();
    http.ok(Method::Get, DD_RULES, 200, &bad.to_string());
    let dd = serde_json::json!({ "apiKey": DD_API_KEY, "applicationKey": DD_APP_KEY, "site": "datadoghq.eu" });
    let s = run(
        &http,
        serde_json::json!({ "allocation": { "datadog": dd } }),
    );
    assert!(!s.ok);
    let e = &s.accounts[0].errors[0];
    assert_eq!(
        (e.family, e.error.code.as_str()),
        ("costAllocated", "RULE_INVALID")
    );
    assert!(
        e.error.message.contains("team-a-by-product") && e.error.message.contains("condition"),
        "{}",
        e.error.message
    );
    let events = sent_events(&http);
    assert_eq!(of_type(&events, "dps.cost.allocated").len(), 0);
    assert_eq!(of_type(&events, "dps.environment.cost").len(), 4);
}

#[test]
fn rules_that_allocate_nothing_warn() {
    let http = replay();
    let mut none = rules();
    for r in none["data"].as_array_mut().into_iter().flatten() {
        r["attributes"]["provider"] = serde_json::json!(["aws"]);
    }
    let s = run(
        &http,
        serde_json::json!({ "allocation": { "rules": none } }),
    );
    assert!(s.ok, "a warning, not a failure");
    let summary = s.accounts[0]
        .cost_allocated
        .as_ref()
        .unwrap_or_else(|| panic!("{s:#?}"));
    assert_eq!(summary.warnings.len(), 1);
    assert!(
        summary.warnings[0].contains("no rule allocated anything"),
        "{:?}",
        summary.warnings
    );
    assert_eq!(
        summary.totals["USD"].input_micros,
        summary.totals["USD"].output_micros
    );
    assert_eq!(of_type(&sent_events(&http), "dps.cost.allocated").len(), 0);
    let json = serde_json::to_value(&s).unwrap_or_default();
    assert!(json["accounts"][0]["costAllocated"]["warnings"][0].is_string());
}

#[test]
fn a_failed_cost_family_fails_the_allocation_instead_of_splitting_part_of_the_window() {
    let http = replay();
    let v3 = format!("{API}/sub/v3/accounts/{ACC}/subscriptions/{SUB}/environments");
    // the first page, then a 500 for the second: the window's lines are incomplete
    http.on(Method::Get, &format!("{v3}/cost?"), vec![
        Ok(HttpResponse::new(200, r#"{"data":[{"environmentId":"env-a","cost":[{"startTime":"2024-10-22T00:00:00Z","value":1.25,"currencyCode":"USD","capabilityKey":"LOGS"}]}],"nextPageKey":"K1"}"#)),
        Ok(HttpResponse::new(500, r#"{"error":{"code":500,"message":"boom"}}"#)),
    ]);
    let s = run(
        &http,
        serde_json::json!({ "allocation": { "rules": rules() } }),
    );
    assert!(!s.ok);
    let families: Vec<(&str, &str)> = s.accounts[0]
        .errors
        .iter()
        .map(|e| (e.family, e.error.code.as_str()))
        .collect();
    assert_eq!(
        families,
        vec![
            ("environmentCost", "HTTP_STATUS"),
            ("costAllocated", "HTTP_STATUS")
        ]
    );
    assert!(s.accounts[0].cost_allocated.is_none());
    assert_eq!(of_type(&sent_events(&http), "dps.cost.allocated").len(), 0);
    assert!(s.incomplete[0].families.contains(&"costAllocated"));
}
