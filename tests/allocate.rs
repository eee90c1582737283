//! Cost allocation with Datadog custom allocation rules: every fixture parsed, the 19
//! `based_on_timeseries` validation cases, the test vectors of `reference/allocation.md` §3,
//! and property tests for conservation and for non-matching lines.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;
use std::fs;

use dps_cost::allocate::{
    allocate, check_based_on_timeseries, parse_rules, sort_rules, validate_rule, AllocatedLine,
    AllocationInput, AllocationResult, ArbitraryCostUpsertRequest, ArbitraryRule,
    ArbitraryRuleResponse, ArbitraryRuleResponseArray, CostLine, DriverPoint, LineStatus,
};
use proptest::prelude::*;
use serde_json::{json, Value};

fn fixture_dir() -> String {
    format!("{}/tests/fixtures/datadog", env!("CARGO_MANIFEST_DIR"))
}

fn read_json(rel: &str) -> Value {
    let path = format!("{}/{rel}", fixture_dir());
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn fixture_files(dir: &str) -> Vec<String> {
    let path = format!("{}/{dir}", fixture_dir());
    let mut files: Vec<String> = fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .map(|e| e.unwrap_or_else(|e| panic!("{e}")).file_name())
        .map(|n| format!("{dir}/{}", n.to_string_lossy()))
        .filter(|n| n.ends_with(".json"))
        .collect();
    files.sort();
    files
}

fn rule(v: Value) -> ArbitraryRule {
    serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"))
}

fn tags(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn line(date: &str, cost: f64, kv: &[(&str, &str)]) -> CostLine {
    CostLine {
        id: None,
        date: date.to_string(),
        cost,
        currency: "USD".to_string(),
        tags: tags(kv),
    }
}

fn run(lines: Vec<CostLine>, rules: Vec<ArbitraryRule>) -> AllocationResult {
    allocate(&AllocationInput {
        lines,
        rules,
        drivers: BTreeMap::new(),
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Allocated micro-units per value of `key` among lines of `status`.
fn by_tag(lines: &[AllocatedLine], key: &str) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for l in lines.iter().filter(|l| l.status == LineStatus::Allocated) {
        *out.entry(l.tags.get(key).cloned().unwrap_or_default())
            .or_insert(0) += l.cost_micros;
    }
    out
}

fn assert_conserved(input: &[CostLine], result: &AllocationResult) {
    for (cur, t) in &result.totals {
        assert_eq!(t.input_micros, t.output_micros, "{cur}");
    }
    // Per source line too.
    let mut per_source: BTreeMap<usize, i64> = BTreeMap::new();
    for l in &result.lines {
        *per_source.entry(l.source_index).or_insert(0) += l.cost_micros;
    }
    for (i, l) in input.iter().enumerate() {
        let want = (l.cost * 1e6).round() as i64;
        assert_eq!(per_source.get(&i).copied().unwrap_or(0), want, "line {i}");
    }
    for l in &result.lines {
        if l.status == LineStatus::Allocated {
            assert!(l.tags.contains_key("allocated_by_rule"), "{l:?}");
        }
    }
}

// ---------------------------------------------------------------- fixtures

/// Every rule body in every fixture: (file, where, JSON text).
fn all_rule_bodies() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for file in fixture_files("openapi-examples") {
        let v = read_json(&file);
        out.push((file.clone(), "example".into(), v.to_string()));
    }
    for dir in [
        "api-client-python-cassettes",
        "terraform-provider-cassettes",
    ] {
        for file in fixture_files(dir) {
            let v = read_json(&file);
            let interactions = v["interactions"].as_array().cloned().unwrap_or_default();
            assert!(!interactions.is_empty(), "{file}");
            for (i, it) in interactions.iter().enumerate() {
                let url = it["url"].as_str().unwrap_or("");
                if url.ends_with("/reorder") {
                    continue;
                }
                for side in ["request_body", "response_body"] {
                    let body = &it[side];
                    if body.get("data").is_some() && it["status"].as_u64() == Some(200)
                        || side == "request_body" && body.get("data").is_some()
                    {
                        out.push((file.clone(), format!("[{i}].{side}"), body.to_string()));
                    }
                }
            }
        }
    }
    out
}

#[test]
fn every_fixture_rule_parses_and_validates() {
    let bodies = all_rule_bodies();
    assert!(bodies.len() > 100, "{}", bodies.len());
    let mut rules_seen = 0;
    let mut invalid = Vec::new();
    for (file, at, text) in &bodies {
        let rules = parse_rules(text).unwrap_or_else(|e| panic!("{file} {at}: {e}"));
        for r in &rules {
            rules_seen += 1;
            if let Err(e) = validate_rule(r) {
                assert_eq!(e.code(), "RULE_INVALID");
                invalid.push((r.id.clone(), r.name().to_string(), e.to_string()));
            }
        }
    }
    assert!(rules_seen > bodies.len() - 1, "{rules_seen}");
    // The only invalid rule in the fixtures: the disabled OpenAPI example 289, a
    // proportional_timeseries rule without based_on_timeseries.
    assert!(!invalid.is_empty());
    for (id, name, msg) in &invalid {
        assert_eq!(
            (id.as_str(), name.as_str()),
            ("289", "test-s3-timeseries"),
            "{msg}"
        );
        assert!(msg.contains("strategy.based_on_timeseries"), "{msg}");
        assert!(msg.contains("\"test-s3-timeseries\" (id 289)"), "{msg}");
    }
}

#[test]
fn openapi_examples_parse_exactly() {
    let list: ArbitraryRuleResponseArray = serde_json::from_value(read_json(
        "openapi-examples/ArbitraryRuleResponseArray.example.json",
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<&str> = list.data.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["19", "311", "289", "523"]);
    let r19 = &list.data[0];
    let shares = r19
        .attributes
        .strategy
        .as_ref()
        .and_then(|s| s.allocated_by.clone())
        .unwrap_or_default();
    assert_eq!(shares[0].percentage, Some(0.34));
    assert_eq!(shares[1].percentage, Some(0.66));
    assert_eq!(shares[1].allocated_tags[0].value, "csm-agentless");
    assert_eq!(r19.attributes.processing_status.as_deref(), Some("done"));
    let f = &r19.attributes.costs_to_allocate.clone().unwrap_or_default()[0];
    assert_eq!((f.condition.as_str(), f.values.clone()), ("like", None));
    assert!(!list.data[2].enabled());

    let one: ArbitraryRuleResponse = serde_json::from_value(read_json(
        "openapi-examples/ArbitraryRuleResponse.example.json",
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(one.data.id, "123");
    let c = one
        .data
        .attributes
        .costs_to_allocate
        .clone()
        .unwrap_or_default();
    assert_eq!(c[1].value.as_deref(), Some(""));
    assert_eq!(
        c[1].values.clone(),
        Some(vec!["production".to_string(), "staging".to_string()])
    );
    validate_rule(&one.data).unwrap_or_else(|e| panic!("{e}"));

    let upsert: ArbitraryCostUpsertRequest = serde_json::from_value(read_json(
        "openapi-examples/ArbitraryCostUpsertRequest.example.json",
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(upsert.data.kind.as_deref(), Some("upsert_arbitrary_rule"));
    assert_eq!(upsert.data.id, "");
    validate_rule(&upsert.data).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn cassette_shapes() {
    // GET carries processing_status "error"; create does not.
    let get = read_json(
        "api-client-python-cassettes/test_get_custom_allocation_rule_returns_ok_response.json",
    );
    let rules = parse_rules(&get["interactions"][0]["response_body"].to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        rules[0].attributes.processing_status.as_deref(),
        Some("error")
    );
    assert_eq!(rules[0].id, "683");
    // The update request sends "values": [] beside "value"; still valid.
    let upd = read_json(
        "api-client-python-cassettes/test_update_custom_allocation_rule_returns_ok_response.json",
    );
    let rules = parse_rules(&upd["interactions"][0]["request_body"].to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    validate_rule(&rules[0]).unwrap_or_else(|e| panic!("{e}"));

    // Before the first reorder two rules share order_id 1: ties go by numeric id.
    let v = read_json(
        "terraform-provider-cassettes/TestAccDatadogCustomAllocationRuleOrder_Update.json",
    );
    let interactions = v["interactions"].as_array().cloned().unwrap_or_default();
    let mut saw_duplicate = false;
    for it in &interactions {
        if it["method"] == "GET"
            && it["url"]
                .as_str()
                .is_some_and(|u| u.ends_with("arbitrary_rule"))
        {
            let mut rules =
                parse_rules(&it["response_body"].to_string()).unwrap_or_else(|e| panic!("{e}"));
            let orders: Vec<Option<i64>> = rules.iter().map(|r| r.attributes.order_id).collect();
            let mut dedup = orders.clone();
            dedup.sort();
            dedup.dedup();
            if dedup.len() < orders.len() {
                saw_duplicate = true;
            }
            sort_rules(&mut rules);
            for w in rules.windows(2) {
                let (a, b) = (&w[0], &w[1]);
                let ka = (a.attributes.order_id, a.id.parse::<u64>().unwrap_or(0));
                let kb = (b.attributes.order_id, b.id.parse::<u64>().unwrap_or(0));
                assert!(ka <= kb, "{ka:?} {kb:?}");
            }
        }
    }
    assert!(
        saw_duplicate,
        "the cassette has a duplicate order_id before reorder"
    );

    // Bad shapes are DECODE errors with a path.
    let e = parse_rules(r#"{"data":[{"id":"1","attributes":{"order_id":"x"}}]}"#)
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    assert_eq!(e.code(), "DECODE");
    assert_eq!(e.field(), Some("data[0].attributes.order_id"));
    // Unknown fields are ignored; numeric ids accepted.
    let r = parse_rules(r#"{"data":{"id":7,"surprise":1,"attributes":{"new_field":true}}}"#)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r[0].id, "7");
}

// ---------------------------------------------------------------- validation

#[test]
fn based_on_timeseries_validation_cases() {
    let cases = read_json("validation/based_on_timeseries_validation_cases.json");
    let cases = cases["cases"].as_array().cloned().unwrap_or_default();
    assert_eq!(cases.len(), 19);
    for c in &cases {
        let name = c["name"].as_str().unwrap_or("");
        let got = check_based_on_timeseries(&c["based_on_timeseries"]);
        if c["expect_valid"] == true {
            assert!(got.is_ok(), "{name}: {got:?}");
            // Also valid inside a whole rule.
            let r = rule(json!({"id":"1","attributes":{
                "rule_name":"ts","provider":["aws"],
                "costs_to_allocate":[{"condition":"is","tag":"aws_product","value":"AmazonEC2"}],
                "strategy":{"method":"proportional_timeseries","granularity":"daily",
                            "based_on_timeseries": c["based_on_timeseries"]}}}));
            validate_rule(&r).unwrap_or_else(|e| panic!("{name}: {e}"));
        } else {
            let e = got.err().unwrap_or_else(|| panic!("{name}: accepted"));
            assert_eq!(
                Some(e.summary.as_str()),
                c["error_summary"].as_str(),
                "{name}"
            );
            if let Some(d) = c["error_detail_contains"].as_str() {
                assert!(e.detail.contains(d), "{name}: {:?} lacks {d:?}", e.detail);
            }
            let r = rule(json!({"id":"9","attributes":{
                "rule_name":"ts","provider":["aws"],
                "costs_to_allocate":[],
                "strategy":{"method":"proportional_timeseries","granularity":"daily",
                            "based_on_timeseries": c["based_on_timeseries"]}}}));
            let e = validate_rule(&r)
                .err()
                .unwrap_or_else(|| panic!("{name}: rule accepted"));
            assert_eq!(e.code(), "RULE_INVALID");
            assert!(e
                .field()
                .unwrap_or("")
                .starts_with("strategy.based_on_timeseries"));
        }
    }
    // A JSON string holding the request (Terraform's form) is read as JSON.
    let text = json!({"queries":[{"name":"q","data_source":"metrics"}]}).to_string();
    assert!(check_based_on_timeseries(&Value::String(text)).is_ok());
}

fn percent_rule(shares: &[f64]) -> ArbitraryRule {
    let by: Vec<Value> = shares
        .iter()
        .enumerate()
        .map(|(i, p)| json!({"allocated_tags":[{"key":"team","value":format!("t{i}")}],"percentage":p}))
        .collect();
    rule(
        json!({"id":"5","attributes":{"rule_name":"pct","provider":["aws"],
        "costs_to_allocate":[{"condition":"is","tag":"aws_product","value":"support"}],
        "strategy":{"method":"percent","allocated_by":by}}}),
    )
}

#[test]
fn validation_per_method() {
    // Σ > 1 + 1e-9.
    let e = validate_rule(&percent_rule(&[0.5, 0.6]))
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    assert_eq!(e.code(), "RULE_INVALID");
    assert_eq!(e.field(), Some("strategy.allocated_by"));
    assert!(e.to_string().contains("\"pct\" (id 5)"), "{e}");
    // Widened f32 shares fail; f64 shares pass; 0.6+0.3+0.1 passes.
    let widened = [f64::from(0.34f32), f64::from(0.66f32)];
    assert!(validate_rule(&percent_rule(&widened)).is_err());
    validate_rule(&percent_rule(&[0.34, 0.66])).unwrap_or_else(|e| panic!("{e}"));
    validate_rule(&percent_rule(&[0.6, 0.3, 0.1])).unwrap_or_else(|e| panic!("{e}"));
    let e = validate_rule(&percent_rule(&[0.5, -0.1]))
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    assert_eq!(e.field(), Some("strategy.allocated_by[1].percentage"));

    let base = |strategy: Value, filters: Value| {
        rule(
            json!({"id":"77","attributes":{"rule_name":"r","provider":["aws"],
            "costs_to_allocate":filters,"strategy":strategy}}),
        )
    };
    let ok_filter = json!([{"condition":"is","tag":"a","value":"b"}]);
    let cases: Vec<(Value, Value, &str)> = vec![
        (
            json!({"method":"even","granularity":"daily"}),
            ok_filter.clone(),
            "strategy.allocated_by_tag_keys",
        ),
        (
            json!({"method":"proportional","allocated_by_tag_keys":["team"]}),
            ok_filter.clone(),
            "strategy.granularity",
        ),
        (
            json!({"method":"proportional","granularity":"weekly","allocated_by_tag_keys":["team"]}),
            ok_filter.clone(),
            "strategy.granularity",
        ),
        (
            json!({"method":"usage_metric"}),
            ok_filter.clone(),
            "strategy.method",
        ),
        (
            json!({"method":"percent"}),
            ok_filter.clone(),
            "strategy.allocated_by",
        ),
        (
            json!({"method":"proportional_timeseries","granularity":"daily"}),
            ok_filter.clone(),
            "strategy.based_on_timeseries",
        ),
        (
            json!({"method":"even","granularity":"daily","allocated_by_tag_keys":["t"]}),
            json!([{"condition":"is untagged","tag":"a","value":""}]),
            "costs_to_allocate[0].condition",
        ),
        (
            json!({"method":"even","granularity":"daily","allocated_by_tag_keys":["t"]}),
            json!([{"condition":"in","tag":"a","value":"x","values":["x"]}]),
            "costs_to_allocate[0].value",
        ),
        (
            json!({"method":"even","granularity":"daily","allocated_by_tag_keys":["t"]}),
            json!([{"condition":"in","tag":"a","value":""}]),
            "costs_to_allocate[0].values",
        ),
        (
            json!({"method":"even","granularity":"daily","allocated_by_tag_keys":["t"]}),
            json!([{"condition":"is","tag":"a","value":"x","values":["y"]}]),
            "costs_to_allocate[0].values",
        ),
        (
            json!({"method":"even","granularity":"daily","allocated_by_tag_keys":["t"],
                "based_on_costs":[{"condition":"like","tag":"a"}]}),
            ok_filter.clone(),
            "strategy.based_on_costs[0].value",
        ),
        (
            json!({"method":"proportional_timeseries","granularity":"daily",
                "evaluate_grouped_by_tag_keys":["env"],
                "based_on_timeseries":{"queries":[{"name":"q","data_source":"metrics","query":"sum:x{*} by {team}"}]}}),
            ok_filter.clone(),
            "strategy.evaluate_grouped_by_tag_keys[0]",
        ),
    ];
    for (strategy, filters, field) in cases {
        let r = base(strategy.clone(), filters);
        let e = validate_rule(&r)
            .err()
            .unwrap_or_else(|| panic!("accepted {strategy}"));
        assert_eq!(e.code(), "RULE_INVALID");
        assert_eq!(e.field(), Some(field), "{strategy}: {e}");
        assert!(e.to_string().contains("\"r\" (id 77)"), "{e}");
    }
    let e = validate_rule(&base(
        json!({"method":"even","granularity":"daily","allocated_by_tag_keys":["t"]}),
        json!([{"condition":"is all values","tag":"a","value":""}]),
    ))
    .err()
    .unwrap_or_else(|| panic!("accepted"));
    assert!(e.to_string().contains("is all values"), "{e}");
    // Group-by present: fine.
    validate_rule(&base(
        json!({"method":"proportional_timeseries","granularity":"monthly",
            "evaluate_grouped_by_tag_keys":["env"],
            "based_on_timeseries":{"queries":[{"name":"q","data_source":"metrics","query":"sum:x{*} by {team,env}"}]}}),
        ok_filter,
    ))
    .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn invalid_enabled_rule_stops_allocation_disabled_is_ignored() {
    let bad = percent_rule(&[0.7, 0.7]);
    let input = AllocationInput {
        lines: vec![line("2025-01-01", 1.0, &[("provider", "aws")])],
        rules: vec![bad.clone()],
        drivers: BTreeMap::new(),
    };
    let e = allocate(&input).err().unwrap_or_else(|| panic!("accepted"));
    assert_eq!(e.code(), "RULE_INVALID");
    let mut disabled = bad;
    disabled.attributes.enabled = Some(false);
    let r = run(input.lines.clone(), vec![disabled]);
    assert_eq!(r.lines[0].status, LineStatus::Unchanged);
    assert_eq!(r.rules[0].position, None);
}

#[test]
fn bad_lines_are_invalid_input() {
    let mut l = line("2025-13-01", 1.0, &[]);
    let e = allocate(&AllocationInput {
        lines: vec![line("2025-01-01", 1.0, &[]), l.clone()],
        ..Default::default()
    })
    .err()
    .unwrap_or_else(|| panic!("accepted"));
    assert_eq!(
        (e.code(), e.field()),
        ("INVALID_INPUT", Some("lines[1].date"))
    );
    l.date = "2025-01-01".into();
    l.cost = f64::NAN;
    let e = allocate(&AllocationInput {
        lines: vec![l],
        ..Default::default()
    })
    .err()
    .unwrap_or_else(|| panic!("accepted"));
    assert_eq!(e.field(), Some("lines[0].cost"));
}

// ---------------------------------------------------------------- §3 vectors

#[test]
fn vector_1_percent_60_30_10() {
    let r = percent_rule(&[0.6, 0.3, 0.1]);
    let lines = vec![
        line(
            "2025-01-01",
            1000.0,
            &[("provider", "aws"), ("aws_product", "support")],
        ),
        line(
            "2025-01-01",
            250.0,
            &[("provider", "aws"), ("aws_product", "ec2")],
        ),
    ];
    let out = run(lines.clone(), vec![r]);
    assert_conserved(&lines, &out);
    let got = by_tag(&out.lines, "team");
    assert_eq!(got["t0"], 600_000_000);
    assert_eq!(got["t1"], 300_000_000);
    assert_eq!(got["t2"], 100_000_000);
    assert!(out
        .lines
        .iter()
        .all(|l| l.status != LineStatus::Unallocated));
    let ec2 = out.lines.last().unwrap_or_else(|| panic!("no lines"));
    assert_eq!(ec2.status, LineStatus::Unchanged);
    assert_eq!(ec2.tags, lines[1].tags);
    assert_eq!(ec2.cost, 250.0);
    let first = &out.lines[0];
    assert_eq!(first.tags["allocated_by_rule"], "pct");
    assert_eq!(first.tags["allocated_by_rule_id"], "5");
    assert_eq!(first.tags["allocation_method"], "percent");
    assert_eq!(first.tags["allocation_ratio"], "0.6");
    assert_eq!(first.tags["aws_product"], "support");
    let s = &out.rules[0];
    assert_eq!(
        (s.lines_matched, s.lines_allocated, s.lines_unallocated),
        (1, 3, 0)
    );
    assert_eq!(s.costs["USD"].allocated_micros, 1_000_000_000);
}

#[test]
fn vector_2_openapi_rule_19() {
    let list: ArbitraryRuleResponseArray = serde_json::from_value(read_json(
        "openapi-examples/ArbitraryRuleResponseArray.example.json",
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let r19 = list.data[0].clone();
    let lines = vec![
        line(
            "2025-01-01",
            200.0,
            &[("provider", "gcp"), ("service", "orgstore-csm-api")],
        ),
        line(
            "2025-01-01",
            100.0,
            &[("provider", "gcp"), ("service", "orgstore-csm-worker")],
        ),
        line(
            "2025-01-01",
            50.0,
            &[("provider", "gcp"), ("service", "billing")],
        ),
        line(
            "2025-01-01",
            70.0,
            &[("provider", "aws"), ("service", "orgstore-csm-api")],
        ),
    ];
    let out = run(lines.clone(), vec![r19]);
    assert_conserved(&lines, &out);
    let of = |src: usize| -> Vec<(String, i64)> {
        out.lines
            .iter()
            .filter(|l| l.source_index == src && l.status == LineStatus::Allocated)
            .map(|l| (l.tags["team"].clone(), l.cost_micros))
            .collect()
    };
    assert_eq!(
        of(0),
        [
            ("csm-activation".into(), 68_000_000),
            ("csm-agentless".into(), 132_000_000)
        ]
    );
    assert_eq!(
        of(1),
        [
            ("csm-activation".into(), 34_000_000),
            ("csm-agentless".into(), 66_000_000)
        ]
    );
    for src in [2, 3] {
        let l: Vec<&AllocatedLine> = out.lines.iter().filter(|l| l.source_index == src).collect();
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].status, LineStatus::Unchanged);
        assert_eq!(l[0].tags, lines[src].tags);
    }
}

fn even_or_prop(method: &str) -> ArbitraryRule {
    rule(
        json!({"id":"3","attributes":{"rule_name":method,"provider":["aws"],
        "costs_to_allocate":[{"condition":"is","tag":"aws_product","value":"support"}],
        "strategy":{"method":method,"granularity":"daily","allocated_by_tag_keys":["team"],
            "based_on_costs":[{"condition":"is","tag":"aws_product","value":"ec2","values":null}]}}}),
    )
}

fn ec2(cost: f64, team: &str) -> CostLine {
    line(
        "2025-01-01",
        cost,
        &[("provider", "aws"), ("aws_product", "ec2"), ("team", team)],
    )
}

#[test]
fn vector_3_even_based_on_costs() {
    let lines = vec![
        line(
            "2025-01-01",
            90.0,
            &[("provider", "aws"), ("aws_product", "support")],
        ),
        ec2(600.0, "A"),
        ec2(300.0, "B"),
        ec2(100.0, "C"),
        line(
            "2025-01-01",
            500.0,
            &[("provider", "aws"), ("aws_product", "s3"), ("team", "D")],
        ),
    ];
    let out = run(lines.clone(), vec![even_or_prop("even")]);
    assert_conserved(&lines, &out);
    let got = by_tag(&out.lines, "team");
    assert_eq!(
        got,
        BTreeMap::from([
            ("A".into(), 30_000_000),
            ("B".into(), 30_000_000),
            ("C".into(), 30_000_000)
        ])
    );
    // Destination lines themselves are unchanged.
    for i in 1..5 {
        let l: Vec<_> = out.lines.iter().filter(|l| l.source_index == i).collect();
        assert_eq!((l.len(), l[0].status), (1, LineStatus::Unchanged));
    }
}

/// The `even` reproducer of issue 14 in the JSON the JS API takes: `even` splits across the
/// destination values with matching spend (§2d), so a team whose matching spend nets to zero
/// or less on the day (or in the month) gets nothing.
fn even_credit_input(granularity: &str, team_b: &[(&str, f64)]) -> AllocationInput {
    let mut lines = vec![
        json!({"date":"2025-01-01","cost":10,"currency":"USD","tags":{"provider":"aws","aws_product":"support"}}),
        json!({"date":"2025-01-01","cost":300,"currency":"USD","tags":{"provider":"aws","aws_product":"ec2","team":"a"}}),
    ];
    for (date, cost) in team_b {
        lines.push(json!({"date":date,"cost":cost,"currency":"USD","tags":{"provider":"aws","aws_product":"ec2","team":"b"}}));
    }
    let text = json!({"lines": lines, "rules":[{"id":"1","type":"arbitrary_rule","attributes":{
        "rule_name":"even-credit","provider":["aws"],"type":"shared","enabled":true,"order_id":1,
        "costs_to_allocate":[{"condition":"is","tag":"aws_product","value":"support"}],
        "strategy":{"method":"even","granularity":granularity,"allocated_by_tag_keys":["team"],
            "based_on_costs":[{"condition":"is","tag":"aws_product","value":"ec2"}]}}}]})
    .to_string();
    dps_cost::model::decode_input("input", &text).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn even_skips_destinations_without_positive_matching_spend() {
    for (granularity, team_b) in [
        ("daily", vec![("2025-01-01", -50.0)]),
        ("daily", vec![("2025-01-01", 0.0)]),
        // Monthly: b's spend over the month nets to -30 (a day of +20 does not make it count).
        ("monthly", vec![("2025-01-01", -50.0), ("2025-01-17", 20.0)]),
        ("monthly", vec![("2025-01-09", 0.0)]),
    ] {
        let input = even_credit_input(granularity, &team_b);
        let out = allocate(&input).unwrap_or_else(|e| panic!("{e}"));
        assert_conserved(&input.lines, &out);
        assert_eq!(
            by_tag(&out.lines, "team"),
            BTreeMap::from([("a".into(), 10_000_000)]),
            "{granularity} {team_b:?}"
        );
    }
    // The control: with positive spend b counts, daily and monthly (-50 + 70 = 20 in January).
    for (granularity, team_b) in [
        ("daily", vec![("2025-01-01", 1.0)]),
        ("monthly", vec![("2025-01-01", -50.0), ("2025-01-17", 70.0)]),
    ] {
        let input = even_credit_input(granularity, &team_b);
        let out = allocate(&input).unwrap_or_else(|e| panic!("{e}"));
        assert_conserved(&input.lines, &out);
        assert_eq!(
            by_tag(&out.lines, "team"),
            BTreeMap::from([("a".into(), 5_000_000), ("b".into(), 5_000_000)]),
            "{granularity} {team_b:?}"
        );
    }
}

#[test]
fn even_without_based_on_costs_counts_every_value_seen() {
    // §2d: without `based_on_costs`, `even` uses all values seen for the tag keys, whatever
    // their spend.
    let lines = vec![
        line(
            "2025-01-01",
            10.0,
            &[("provider", "aws"), ("aws_product", "support")],
        ),
        ec2(300.0, "a"),
        ec2(-50.0, "b"),
        ec2(0.0, "c"),
    ];
    let r = rule(
        json!({"id":"3","attributes":{"rule_name":"even","provider":["aws"],
        "costs_to_allocate":[{"condition":"is","tag":"aws_product","value":"support"}],
        "strategy":{"method":"even","granularity":"daily","allocated_by_tag_keys":["team"]}}}),
    );
    let out = run(lines.clone(), vec![r]);
    assert_conserved(&lines, &out);
    let got = by_tag(&out.lines, "team");
    assert_eq!(got.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
    assert_eq!(got.values().sum::<i64>(), 10_000_000);
}

#[test]
fn vector_4_proportional_based_on_costs() {
    let lines = vec![
        line(
            "2025-01-01",
            100.0,
            &[("provider", "aws"), ("aws_product", "support")],
        ),
        ec2(600.0, "A"),
        ec2(300.0, "B"),
        ec2(100.0, "C"),
    ];
    let out = run(lines.clone(), vec![even_or_prop("proportional")]);
    assert_conserved(&lines, &out);
    let got = by_tag(&out.lines, "team");
    assert_eq!(
        got,
        BTreeMap::from([
            ("A".into(), 60_000_000),
            ("B".into(), 30_000_000),
            ("C".into(), 10_000_000)
        ])
    );
    assert_eq!(out.lines[0].tags["allocation_ratio"], "0.6");
}

fn vector5_lines() -> Vec<CostLine> {
    let d = "2025-01-01";
    vec![
        line(
            d,
            100.0,
            &[("provider", "aws"), ("service", "shared"), ("env", "prod")],
        ),
        line(
            d,
            50.0,
            &[
                ("provider", "aws"),
                ("service", "shared"),
                ("env", "staging"),
            ],
        ),
        line(
            d,
            300.0,
            &[("provider", "aws"), ("team", "A"), ("env", "prod")],
        ),
        line(
            d,
            100.0,
            &[("provider", "aws"), ("team", "B"), ("env", "prod")],
        ),
        line(
            d,
            10.0,
            &[("provider", "aws"), ("team", "A"), ("env", "staging")],
        ),
        line(
            d,
            40.0,
            &[("provider", "aws"), ("team", "B"), ("env", "staging")],
        ),
    ]
}

fn shared_rule(strategy: Value) -> ArbitraryRule {
    rule(
        json!({"id":"50","attributes":{"rule_name":"shared","provider":["aws"],
        "costs_to_allocate":[{"condition":"is","tag":"service","value":"shared"}],
        "strategy":strategy}}),
    )
}

#[test]
fn vector_5_partitioned_by_env() {
    let lines = vector5_lines();
    let partitioned = shared_rule(json!({"method":"proportional","granularity":"daily",
        "allocated_by_tag_keys":["team"],"evaluate_grouped_by_tag_keys":["env"]}));
    let out = run(lines.clone(), vec![partitioned]);
    assert_conserved(&lines, &out);
    let per = |src: usize| -> Vec<(String, i64)> {
        out.lines
            .iter()
            .filter(|l| l.source_index == src && l.status == LineStatus::Allocated)
            .map(|l| (l.tags["team"].clone(), l.cost_micros))
            .collect()
    };
    assert_eq!(per(0), [("A".into(), 75_000_000), ("B".into(), 25_000_000)]);
    assert_eq!(per(1), [("A".into(), 10_000_000), ("B".into(), 40_000_000)]);
    assert_eq!(out.lines[0].tags["env"], "prod");

    let flat = shared_rule(json!({"method":"proportional","granularity":"daily",
        "allocated_by_tag_keys":["team"]}));
    let out = run(lines.clone(), vec![flat]);
    assert_conserved(&lines, &out);
    let got = by_tag(&out.lines, "team");
    assert_eq!(got["A"], 103_333_333);
    assert_eq!(got["B"], 46_666_667);
}

fn ts_rule(granularity: &str) -> ArbitraryRule {
    shared_rule(
        json!({"method":"proportional_timeseries","granularity":granularity,
        "based_on_timeseries":{"response_format":"timeseries",
            "queries":[{"name":"query1","data_source":"metrics",
                        "query":"sum:postgresql.queries.time{*} by {user}.as_count()"}],
            "formulas":[{"formula":"query1"}]}}),
    )
}

fn point(date: &str, user: &str, value: f64) -> DriverPoint {
    DriverPoint {
        date: date.into(),
        tags: tags(&[("user", user)]),
        value,
    }
}

#[test]
fn vector_6_granularity() {
    let lines = vec![
        line(
            "2025-03-01",
            10.0,
            &[("provider", "aws"), ("service", "shared")],
        ),
        line(
            "2025-03-02",
            10.0,
            &[("provider", "aws"), ("service", "shared")],
        ),
    ];
    let drivers = BTreeMap::from([(
        "query1".to_string(),
        vec![
            point("2025-03-01", "A", 1.0),
            point("2025-03-01", "B", 1.0),
            point("2025-03-02", "A", 3.0),
            point("2025-03-02", "B", 1.0),
            // Another month: ignored by both.
            point("2025-04-01", "B", 100.0),
        ],
    )]);
    let per = |out: &AllocationResult, src: usize| -> Vec<i64> {
        out.lines
            .iter()
            .filter(|l| l.source_index == src && l.status == LineStatus::Allocated)
            .map(|l| l.cost_micros)
            .collect()
    };
    let daily = allocate(&AllocationInput {
        lines: lines.clone(),
        rules: vec![ts_rule("daily")],
        drivers: drivers.clone(),
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_conserved(&lines, &daily);
    assert_eq!(per(&daily, 0), [5_000_000, 5_000_000]);
    assert_eq!(per(&daily, 1), [7_500_000, 2_500_000]);
    let monthly = allocate(&AllocationInput {
        lines: lines.clone(),
        rules: vec![ts_rule("monthly")],
        drivers,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_conserved(&lines, &monthly);
    assert_eq!(per(&monthly, 0), [6_666_667, 3_333_333]);
    assert_eq!(per(&monthly, 1), [6_666_667, 3_333_333]);
    assert_eq!(monthly.lines[0].tags["user"], "A");
}

#[test]
fn vector_7_proportional_timeseries() {
    let lines = vec![line(
        "2025-03-01",
        40.0,
        &[("provider", "aws"), ("service", "shared")],
    )];
    let drivers = BTreeMap::from([(
        "query1".to_string(),
        vec![
            point("2025-03-01", "A", 300.0),
            point("2025-03-01", "B", 100.0),
        ],
    )]);
    let out = allocate(&AllocationInput {
        lines: lines.clone(),
        rules: vec![ts_rule("daily")],
        drivers,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_conserved(&lines, &out);
    assert_eq!(
        by_tag(&out.lines, "user"),
        BTreeMap::from([("A".into(), 30_000_000), ("B".into(), 10_000_000)])
    );
    assert_eq!(
        out.lines[0].tags["allocation_method"],
        "proportional_timeseries"
    );
    // No driver series: unallocated, nothing lost.
    let out = run(lines.clone(), vec![ts_rule("daily")]);
    assert_conserved(&lines, &out);
    assert_eq!(out.lines[0].status, LineStatus::Unallocated);
    assert_eq!(out.lines[0].tags["allocation_reason"], "no driver data");
}

#[test]
fn vector_8_and_of_filters() {
    let r = rule(
        json!({"id":"8","attributes":{"rule_name":"and","provider":["aws"],
        "costs_to_allocate":[
            {"condition":"is","tag":"aws_product","value":"ec2"},
            {"condition":"in","tag":"aws_usage_type","value":"",
             "values":["BoxUsage:m7g.16xlarge","BoxUsage:c6g.8xlarge"]}],
        "strategy":{"method":"percent","allocated_by":[
            {"allocated_tags":[{"key":"team","value":"X"}],"percentage":1.0}]}}}),
    );
    let mk = |p: &str, u: &str| {
        line(
            "2025-01-01",
            1.0,
            &[
                ("provider", "aws"),
                ("aws_product", p),
                ("aws_usage_type", u),
            ],
        )
    };
    let lines = vec![
        mk("ec2", "BoxUsage:m7g.16xlarge"),
        mk("ec2", "BoxUsage:c6g.8xlarge"),
        mk("ec2", "BoxUsage:t3.micro"),
        mk("rds", "BoxUsage:m7g.16xlarge"),
    ];
    let out = run(lines.clone(), vec![r]);
    assert_conserved(&lines, &out);
    let status: Vec<LineStatus> = out.lines.iter().map(|l| l.status).collect();
    assert_eq!(
        status,
        [
            LineStatus::Allocated,
            LineStatus::Allocated,
            LineStatus::Unchanged,
            LineStatus::Unchanged
        ]
    );
}

// ---------------------------------------------------------------- contract details

#[test]
fn order_first_match_and_disabled() {
    let mk = |id: &str, order: i64, team: &str, enabled: bool| {
        rule(
            json!({"id":id,"attributes":{"rule_name":format!("r{id}"),"provider":["aws"],
            "enabled":enabled,"order_id":order,
            "costs_to_allocate":[{"condition":"is","tag":"aws_product","value":"support"}],
            "strategy":{"method":"percent","allocated_by":[
                {"allocated_tags":[{"key":"team","value":team}],"percentage":1}]}}}),
        )
    };
    let lines = vec![line(
        "2025-01-01",
        9.0,
        &[("provider", "aws"), ("aws_product", "support")],
    )];
    // order_id 1 beats 2; the tie on order_id 1 goes to the smaller numeric id (9 < 10).
    let rules = vec![
        mk("3", 2, "late", true),
        mk("10", 1, "tie-big", true),
        mk("9", 1, "tie-small", true),
        mk("1", 0, "off", false),
    ];
    let out = run(lines.clone(), rules);
    assert_conserved(&lines, &out);
    assert_eq!(out.lines.len(), 1);
    assert_eq!(out.lines[0].tags["team"], "tie-small");
    assert_eq!(out.lines[0].rule_id.as_deref(), Some("9"));
    let order: Vec<(&str, Option<usize>)> = out
        .rules
        .iter()
        .map(|s| (s.rule_id.as_str(), s.position))
        .collect();
    assert_eq!(
        order,
        [("9", Some(0)), ("10", Some(1)), ("3", Some(2)), ("1", None)]
    );
    assert_eq!(out.rules[1].lines_matched, 0);
    assert_eq!(out.rules[1].costs.len(), 0);
}

#[test]
fn unallocated_cases_keep_money() {
    // Percent below 1: remainder stays.
    let lines = vec![line(
        "2025-01-01",
        10.0,
        &[("provider", "aws"), ("aws_product", "support")],
    )];
    let out = run(lines.clone(), vec![percent_rule(&[0.25, 0.25])]);
    assert_conserved(&lines, &out);
    let last = &out.lines[2];
    assert_eq!(last.status, LineStatus::Unallocated);
    assert_eq!(last.cost_micros, 5_000_000);
    assert_eq!(last.tags["allocation_status"], "unallocated");
    assert_eq!(
        last.reason.as_deref(),
        Some("percentages sum to less than 1")
    );
    assert_eq!(out.rules[0].costs["USD"].unallocated_micros, 5_000_000);
    // 0.6 + 0.3 + 0.1 (0.9999999999999999) is full allocation.
    let out = run(lines.clone(), vec![percent_rule(&[0.6, 0.3, 0.1])]);
    assert!(out.lines.iter().all(|l| l.status == LineStatus::Allocated));

    // No destinations at all.
    let out = run(lines.clone(), vec![even_or_prop("proportional")]);
    assert_conserved(&lines, &out);
    assert_eq!(out.lines.len(), 1);
    assert_eq!(out.lines[0].status, LineStatus::Unallocated);
    assert_eq!(out.lines[0].tags["allocation_reason"], "no destinations");
    assert_eq!(out.lines[0].tags["allocated_by_rule"], "proportional");

    // Partition without candidates.
    let mut lines = vector5_lines();
    lines.push(line(
        "2025-01-01",
        7.0,
        &[("provider", "aws"), ("service", "shared"), ("env", "dev")],
    ));
    let r = shared_rule(json!({"method":"even","granularity":"daily",
        "allocated_by_tag_keys":["team"],"evaluate_grouped_by_tag_keys":["env"]}));
    let out = run(lines.clone(), vec![r]);
    assert_conserved(&lines, &out);
    let dev: Vec<_> = out.lines.iter().filter(|l| l.source_index == 6).collect();
    assert_eq!(dev.len(), 1);
    assert_eq!(
        dev[0].reason.as_deref(),
        Some("no destinations in partition")
    );

    // Zero total weight: destinations whose spend is zero.
    let lines = vec![
        line(
            "2025-01-01",
            3.0,
            &[("provider", "aws"), ("aws_product", "support")],
        ),
        ec2(0.0, "A"),
    ];
    let out = run(lines.clone(), vec![even_or_prop("proportional")]);
    assert_conserved(&lines, &out);
    assert_eq!(out.lines[0].reason.as_deref(), Some("zero total weight"));
}

#[test]
fn filters_narrow_destinations_and_multi_key_tuples() {
    let d = "2025-01-01";
    let lines = vec![
        line(d, 10.0, &[("provider", "aws"), ("aws_product", "support")]),
        line(
            d,
            1.0,
            &[("provider", "aws"), ("team", "A"), ("env", "prod")],
        ),
        line(
            d,
            1.0,
            &[("provider", "aws"), ("team", "A"), ("env", "dev")],
        ),
        line(
            d,
            2.0,
            &[("provider", "aws"), ("team", "B"), ("env", "prod")],
        ),
        line(d, 5.0, &[("provider", "aws"), ("team", "C")]),
    ];
    let r = rule(
        json!({"id":"1","attributes":{"rule_name":"multi","provider":["aws"],
        "costs_to_allocate":[{"condition":"is","tag":"aws_product","value":"support"}],
        "strategy":{"method":"even","granularity":"daily","allocated_by_tag_keys":["team","env"],
            "allocated_by_filters":[{"condition":"!=","tag":"env","value":"dev"}]}}}),
    );
    let out = run(lines.clone(), vec![r]);
    assert_conserved(&lines, &out);
    let dests: Vec<(String, String, i64)> = out
        .lines
        .iter()
        .filter(|l| l.status == LineStatus::Allocated)
        .map(|l| (l.tags["team"].clone(), l.tags["env"].clone(), l.cost_micros))
        .collect();
    assert_eq!(
        dests,
        [
            ("A".into(), "prod".into(), 5_000_000),
            ("B".into(), "prod".into(), 5_000_000)
        ]
    );
}

#[test]
fn ties_go_to_the_first_destination_value() {
    let lines = vec![
        line(
            "2025-01-01",
            0.000001,
            &[("provider", "aws"), ("aws_product", "support")],
        ),
        ec2(1.0, "C"),
        ec2(1.0, "A"),
        ec2(1.0, "B"),
    ];
    let out = run(lines.clone(), vec![even_or_prop("even")]);
    assert_conserved(&lines, &out);
    let got: Vec<(String, i64)> = out
        .lines
        .iter()
        .filter(|l| l.source_index == 0)
        .map(|l| (l.tags["team"].clone(), l.cost_micros))
        .collect();
    assert_eq!(got, [("A".into(), 1), ("B".into(), 0), ("C".into(), 0)]);
}

#[test]
fn dynatrace_lines_and_output_json() {
    let r = rule(
        json!({"id":"1","attributes":{"rule_name":"dt","provider":["dynatrace"],
        "costs_to_allocate":[{"condition":"like","tag":"capability","value":"Log*"}],
        "strategy":{"method":"proportional","granularity":"monthly","allocated_by_tag_keys":["costcenter"]}}}),
    );
    let dt = |date: &str, cost: f64, cap: &str, cc: Option<&str>| {
        let mut t = vec![
            ("provider", "dynatrace"),
            ("environment", "abc12345"),
            ("capability", cap),
        ];
        if let Some(cc) = cc {
            t.push(("costcenter", cc));
        }
        line(date, cost, &t)
    };
    let lines = vec![
        dt("2025-05-01", 0.3, "Log Management", None),
        dt("2025-05-02", 0.1, "Log Analytics", None),
        dt("2025-05-01", 2.0, "Full-Stack Monitoring", Some("R&D")),
        dt("2025-05-20", 1.0, "Full-Stack Monitoring", Some("Sales")),
    ];
    let out = run(lines.clone(), vec![r]);
    assert_conserved(&lines, &out);
    let got = by_tag(&out.lines, "costcenter");
    assert_eq!(got["R&D"], 266_667);
    assert_eq!(got["Sales"], 133_333);
    let text = serde_json::to_string(&out).unwrap_or_else(|e| panic!("{e}"));
    assert!(text.contains("\"costMicros\":200000"), "{text}");
    assert!(text.contains("\"status\":\"allocated\""));
    let input: AllocationInput = serde_json::from_value(json!({
        "lines":[{"date":"2025-01-01","cost":1.5,"currency":"EUR","tags":{"provider":"x"}}]}))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        allocate(&input).unwrap_or_else(|e| panic!("{e}")).lines[0].cost,
        1.5
    );
}

// ---------------------------------------------------------------- properties

fn arb_rule() -> impl Strategy<Value = ArbitraryRule> {
    let percent = proptest::collection::vec(0u32..=1000, 1..5).prop_map(|ws| {
        let total: u32 = ws.iter().sum::<u32>().max(1);
        let by: Vec<Value> = ws
            .iter()
            .enumerate()
            .map(|(i, w)| {
                json!({"allocated_tags":[{"key":"team","value":format!("p{i}")}],
                       "percentage": f64::from(*w) / f64::from(total.max(1000))})
            })
            .collect();
        json!({"method":"percent","allocated_by":by})
    });
    let keyed = (
        prop_oneof![Just("even"), Just("proportional")],
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(m, monthly, part)| {
            let mut s = json!({"method":m,"granularity":if monthly {"monthly"} else {"daily"},
                "allocated_by_tag_keys":["team"]});
            if part {
                s["evaluate_grouped_by_tag_keys"] = json!(["env"]);
            }
            s
        });
    prop_oneof![percent, keyed].prop_map(|s| {
        rule(
            json!({"id":"1","attributes":{"rule_name":"p","provider":["aws"],
            "costs_to_allocate":[{"condition":"is","tag":"kind","value":"shared"}],
            "strategy":s}}),
        )
    })
}

fn arb_line() -> impl Strategy<Value = CostLine> {
    (
        -1_000_000_000i64..10_000_000_000i64,
        1u32..4,
        prop_oneof![Just("shared"), Just("direct"), Just("other")],
        proptest::option::of(prop_oneof![Just("A"), Just("B"), Just("C")]),
        proptest::option::of(prop_oneof![Just("prod"), Just("dev")]),
        any::<bool>(),
    )
        .prop_map(|(micros, day, kind, team, env, aws)| {
            let mut t = vec![
                ("kind", kind),
                ("provider", if aws { "aws" } else { "gcp" }),
            ];
            if let Some(team) = team {
                t.push(("team", team));
            }
            if let Some(env) = env {
                t.push(("env", env));
            }
            // Costs with up to 9 decimals (micro-unit rounding included).
            let cost = micros as f64 / 1e3 / 1e3 + if micros % 7 == 0 { 1e-9 } else { 0.0 };
            line(&format!("2025-0{day}-1{day}"), cost, &t)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn conservation_to_the_micro_unit(lines in proptest::collection::vec(arb_line(), 0..40), r in arb_rule()) {
        let result = allocate(&AllocationInput { lines: lines.clone(), rules: vec![r], drivers: BTreeMap::new() })
            .unwrap_or_else(|e| panic!("{e}"));
        let mut per_source: BTreeMap<usize, i128> = BTreeMap::new();
        for l in &result.lines {
            *per_source.entry(l.source_index).or_insert(0) += i128::from(l.cost_micros);
        }
        let mut total_in = 0i128;
        for (i, l) in lines.iter().enumerate() {
            let want = dps_cost::allocate::money::micros_from_f64(l.cost).unwrap_or_else(|| panic!("cost"));
            total_in += want;
            prop_assert_eq!(per_source.get(&i).copied().unwrap_or(0), want);
        }
        let total_out: i128 = result.lines.iter().map(|l| i128::from(l.cost_micros)).sum();
        prop_assert_eq!(total_in, total_out);
    }

    #[test]
    fn non_matching_lines_unchanged(lines in proptest::collection::vec(arb_line(), 0..40), r in arb_rule()) {
        let result = allocate(&AllocationInput { lines: lines.clone(), rules: vec![r], drivers: BTreeMap::new() })
            .unwrap_or_else(|e| panic!("{e}"));
        for (i, l) in lines.iter().enumerate() {
            let matched = l.tags.get("kind").map(String::as_str) == Some("shared")
                && l.tags.get("provider").map(String::as_str) == Some("aws");
            let out: Vec<&AllocatedLine> = result.lines.iter().filter(|o| o.source_index == i).collect();
            if !matched {
                prop_assert_eq!(out.len(), 1);
                prop_assert_eq!(out[0].status, LineStatus::Unchanged);
                prop_assert_eq!(&out[0].tags, &l.tags);
                prop_assert_eq!(out[0].cost, l.cost);
                prop_assert_eq!(&out[0].date, &l.date);
            } else {
                prop_assert!(out.iter().all(|o| o.status != LineStatus::Unchanged));
                prop_assert!(out.iter().all(|o| o.tags.get("allocated_by_rule").map(String::as_str) == Some("p")));
            }
        }
        // Output order follows input order.
        let idx: Vec<usize> = result.lines.iter().map(|l| l.source_index).collect();
        prop_assert!(idx.windows(2).all(|w| w[0] <= w[1]));
    }
}

#[test]
fn openapi_rule_523_null_conditions() {
    let list: ArbitraryRuleResponseArray = serde_json::from_value(read_json(
        "openapi-examples/ArbitraryRuleResponseArray.example.json",
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    // All four example rules together: 289 is disabled (and invalid), so it is skipped.
    let d = "2025-02-03";
    let lines = vec![
        // msk without a product tag: source of 523.
        line(d, 12.0, &[("provider", "aws"), ("aws_product", "msk")]),
        // msk with a product tag: a destination of 523 (based_on_costs `product is not "null"`).
        line(
            d,
            30.0,
            &[
                ("provider", "aws"),
                ("aws_product", "msk"),
                ("product", "P1"),
            ],
        ),
        // s3 in staging: source of 311 (even over teams with s3 spend).
        line(
            d,
            9.0,
            &[
                ("provider", "aws"),
                ("env", "staging"),
                ("aws_product", "ec2"),
            ],
        ),
        line(
            d,
            4.0,
            &[("provider", "aws"), ("aws_product", "s3"), ("team", "X")],
        ),
        line(
            d,
            5.0,
            &[("provider", "aws"), ("aws_product", "s3"), ("team", "Y")],
        ),
    ];
    let out = run(lines.clone(), list.data.clone());
    assert_conserved(&lines, &out);
    let src0: Vec<&AllocatedLine> = out.lines.iter().filter(|l| l.source_index == 0).collect();
    assert_eq!(src0.len(), 1);
    assert_eq!(src0[0].status, LineStatus::Allocated);
    assert_eq!(src0[0].rule_id.as_deref(), Some("523"));
    assert_eq!(src0[0].cost_micros, 12_000_000);
    let src2: Vec<(String, i64)> = out
        .lines
        .iter()
        .filter(|l| l.source_index == 2)
        .map(|l| (l.tags["team"].clone(), l.cost_micros))
        .collect();
    assert_eq!(src2, [("X".into(), 4_500_000), ("Y".into(), 4_500_000)]);
    assert_eq!(out.lines[1].status, LineStatus::Unchanged);
    let ids: Vec<(&str, Option<usize>)> = out
        .rules
        .iter()
        .map(|s| (s.rule_id.as_str(), s.position))
        .collect();
    assert_eq!(
        ids,
        [
            ("19", Some(0)),
            ("311", Some(1)),
            ("523", Some(2)),
            ("289", None)
        ]
    );
}

#[test]
fn currencies_are_weighted_apart_and_even_timeseries() {
    let mut eur = ec2(100.0, "B");
    eur.currency = "EUR".into();
    let mut src_eur = line(
        "2025-01-01",
        10.0,
        &[("provider", "aws"), ("aws_product", "support")],
    );
    src_eur.currency = "EUR".into();
    let lines = vec![
        line(
            "2025-01-01",
            10.0,
            &[("provider", "aws"), ("aws_product", "support")],
        ),
        src_eur,
        ec2(100.0, "A"),
        eur,
    ];
    let out = run(lines.clone(), vec![even_or_prop("proportional")]);
    assert_conserved(&lines, &out);
    let teams: Vec<(usize, String, String)> = out
        .lines
        .iter()
        .filter(|l| l.status == LineStatus::Allocated)
        .map(|l| (l.source_index, l.currency.clone(), l.tags["team"].clone()))
        .collect();
    assert_eq!(
        teams,
        [(0, "USD".into(), "A".into()), (1, "EUR".into(), "B".into())]
    );
    assert_eq!(out.totals["EUR"].input_micros, 110_000_000);

    let mut r = ts_rule("daily");
    if let Some(s) = r.attributes.strategy.as_mut() {
        s.method = Some("even_timeseries".into());
    }
    let lines = vec![line(
        "2025-03-01",
        1.0,
        &[("provider", "aws"), ("service", "shared")],
    )];
    let drivers = BTreeMap::from([(
        "query1".to_string(),
        vec![
            point("2025-03-01", "A", 300.0),
            point("2025-03-01", "B", 100.0),
            point("2025-03-01", "C", 0.0),
        ],
    )]);
    let out = allocate(&AllocationInput {
        lines: lines.clone(),
        rules: vec![r],
        drivers,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_conserved(&lines, &out);
    assert_eq!(
        by_tag(&out.lines, "user"),
        BTreeMap::from([("A".into(), 500_000), ("B".into(), 500_000)])
    );
}

/// A line as JSON without `sourceIndex`, for comparing outputs as multisets.
fn without_index(l: &AllocatedLine) -> String {
    let mut v = serde_json::to_value(l).unwrap_or_else(|e| panic!("{e}"));
    if let Some(o) = v.as_object_mut() {
        o.remove("sourceIndex");
    }
    v.to_string()
}

fn arb_rules() -> impl Strategy<Value = Vec<ArbitraryRule>> {
    proptest::collection::vec(
        (arb_rule(), prop_oneof![Just("shared"), Just("direct")]),
        1..4,
    )
    .prop_map(|rs| {
        rs.into_iter()
            .enumerate()
            .map(|(i, (mut r, kind))| {
                r.id = format!("{}", 10 + i);
                r.attributes.rule_name = Some(format!("rule{i}"));
                r.attributes.costs_to_allocate =
                    Some(vec![dps_cost::allocate::Filter::value("kind", "is", kind)]);
                r
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn output_independent_of_input_order(
        (lines, shuffled) in proptest::collection::vec(arb_line(), 0..40)
            .prop_flat_map(|l| (Just(l.clone()), Just(l).prop_shuffle())),
        rules in arb_rules(),
    ) {
        let a = allocate(&AllocationInput { lines, rules: rules.clone(), drivers: BTreeMap::new() })
            .unwrap_or_else(|e| panic!("{e}"));
        let b = allocate(&AllocationInput { lines: shuffled, rules, drivers: BTreeMap::new() })
            .unwrap_or_else(|e| panic!("{e}"));
        let mut la: Vec<String> = a.lines.iter().map(without_index).collect();
        let mut lb: Vec<String> = b.lines.iter().map(without_index).collect();
        la.sort();
        lb.sort();
        prop_assert_eq!(la, lb);
        prop_assert_eq!(a.rules, b.rules);
        prop_assert_eq!(a.totals, b.totals);
    }

    #[test]
    fn audit_fields_on_every_touched_line(
        lines in proptest::collection::vec(arb_line(), 0..40),
        rules in arb_rules(),
    ) {
        let result = allocate(&AllocationInput { lines: lines.clone(), rules, drivers: BTreeMap::new() })
            .unwrap_or_else(|e| panic!("{e}"));
        let audit = [
            "allocated_by_rule",
            "allocated_by_rule_id",
            "allocation_method",
            "allocation_ratio",
            "allocation_status",
            "allocation_reason",
        ];
        for l in &result.lines {
            let tag = |k: &str| l.tags.get(k).map(String::as_str);
            match l.status {
                LineStatus::Unchanged => {
                    prop_assert!(audit.iter().all(|k| !l.tags.contains_key(*k)), "{:?}", l.tags);
                    prop_assert!(l.rule_id.is_none() && l.method.is_none() && l.ratio.is_none() && l.reason.is_none());
                    prop_assert_eq!(&l.tags, &lines[l.source_index].tags);
                }
                LineStatus::Allocated => {
                    let id = l.rule_id.clone().unwrap_or_default();
                    prop_assert!(!id.is_empty());
                    prop_assert_eq!(tag("allocated_by_rule_id"), Some(id.as_str()));
                    prop_assert_eq!(tag("allocated_by_rule"), l.rule_name.as_deref());
                    prop_assert!(tag("allocated_by_rule").is_some_and(|n| n.starts_with("rule")));
                    prop_assert_eq!(tag("allocation_method"), l.method.as_deref());
                    prop_assert!(l.method.as_deref().is_some_and(|m| !m.is_empty()));
                    let ratio = l.ratio.unwrap_or(f64::NAN);
                    // A `percent` share of 0 gives a 0 line with ratio 0.
                    prop_assert!((0.0..=1.0 + 1e-9).contains(&ratio), "ratio {}", ratio);
                    prop_assert_eq!(tag("allocation_ratio").map(str::parse::<f64>), Some(Ok(ratio)));
                    prop_assert_eq!(tag("allocation_status"), Some("allocated"));
                    prop_assert!(tag("allocation_reason").is_none() && l.reason.is_none());
                }
                LineStatus::Unallocated => {
                    prop_assert_eq!(tag("allocation_status"), Some("unallocated"));
                    let reason = l.reason.clone().unwrap_or_default();
                    prop_assert!(!reason.is_empty());
                    prop_assert_eq!(tag("allocation_reason"), Some(reason.as_str()));
                    prop_assert!(l.rule_id.is_some());
                    prop_assert_eq!(tag("allocated_by_rule_id"), l.rule_id.as_deref());
                }
            }
        }
    }
}

#[test]
fn destination_summary_per_rule_and_tag_value() {
    // Two rules: percent over products (0.6 / 0.3, 0.1 unallocated), and vector 5's
    // partitioned proportional split over teams.
    let mut pct = percent_rule(&[0.6, 0.3]);
    pct.attributes.order_id = Some(1);
    let mut part = shared_rule(json!({"method":"proportional","granularity":"daily",
        "allocated_by_tag_keys":["team"],"evaluate_grouped_by_tag_keys":["env"]}));
    part.attributes.order_id = Some(2);
    let mut lines = vector5_lines();
    lines.push(line(
        "2025-01-01",
        10.0,
        &[("provider", "aws"), ("aws_product", "support")],
    ));
    // 1 micro-unit × 0.9 rounds down to 0 allocated: the line stays unallocated.
    lines.push(line(
        "2025-01-02",
        0.000001,
        &[("provider", "aws"), ("aws_product", "support")],
    ));
    let out = run(lines.clone(), vec![part, pct]);
    assert_conserved(&lines, &out);
    type Dest = (String, Vec<(String, String)>, usize, BTreeMap<String, i128>);
    let got: Vec<Dest> = out
        .destinations
        .iter()
        .map(|d| {
            (
                d.rule_id.clone(),
                d.tags.clone().into_iter().collect(),
                d.lines,
                d.costs.clone(),
            )
        })
        .collect();
    let usd = |m: i128| BTreeMap::from([("USD".to_string(), m)]);
    let kv = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
    assert_eq!(
        got,
        [
            ("5".into(), kv("team", "t0"), 2, usd(6_000_000)),
            ("5".into(), kv("team", "t1"), 2, usd(3_000_000)),
            ("50".into(), kv("team", "A"), 2, usd(85_000_000)),
            ("50".into(), kv("team", "B"), 2, usd(65_000_000)),
        ]
    );
    assert_eq!(out.destinations[0].rule_name, "pct");
    assert_eq!(out.destinations[2].method, "proportional");
    // Destinations equal the allocated lines, exactly.
    let allocated: i128 = out
        .lines
        .iter()
        .filter(|l| l.status == LineStatus::Allocated)
        .map(|l| i128::from(l.cost_micros))
        .sum();
    let summed: i128 = out.destinations.iter().map(|d| d.costs["USD"]).sum();
    assert_eq!(allocated, summed);
    let roll = dps_cost::allocate::summary::by_tag(&out.destinations);
    assert_eq!(roll["team"]["A"]["USD"], 85_000_000);
    assert_eq!(roll["team"]["t0"]["USD"], 6_000_000);
    // In the JSON result.
    let v = serde_json::to_value(&out).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        v["destinations"][2],
        json!({"ruleId":"50","ruleName":"shared","method":"proportional",
            "tags":{"team":"A"},"lines":2,"costs":{"USD":85_000_000}})
    );
}

#[test]
fn focus_allocation_columns() {
    use dps_cost::allocate::focus_allocation_rows;
    // percent 0.6 / 0.3 of a support line (0.1 stays as the remainder row), one unchanged line.
    let mut src = line(
        "2025-01-01",
        10.0,
        &[
            ("provider", "aws"),
            ("aws_product", "support"),
            ("team", "ops"),
        ],
    );
    src.id = Some("L1".into());
    let lines = vec![
        src,
        line(
            "2025-01-01",
            250.0,
            &[("provider", "aws"), ("aws_product", "ec2")],
        ),
    ];
    let out = run(lines.clone(), vec![percent_rule(&[0.6, 0.3])]);
    assert_conserved(&lines, &out);
    let rows = focus_allocation_rows(&out);
    assert_eq!(rows.len(), out.lines.len());
    assert_eq!(rows.len(), 4);
    let v = serde_json::to_value(&rows).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        v[0],
        json!({"AllocatedMethodId":"5",
            "AllocatedMethodDetails":"{\"Elements\":[{\"AllocatedRatio\":0.6,\"x_AllocationMethod\":\"percent\",\"x_RuleName\":\"pct\",\"x_SourceIndex\":0,\"x_SourceLineId\":\"L1\"}]}",
            "AllocatedResourceId":null,"AllocatedResourceName":null,
            "AllocatedTags":"{\"team\":\"t0\"}",
            // The source's own `team` is replaced by the destination's: not repeated in Tags.
            "Tags":"{\"aws_product\":\"support\",\"provider\":\"aws\"}"})
    );
    // The remainder row keeps the ratios of the origin summing to 1.
    let details: Vec<Value> = rows[..3]
        .iter()
        .map(|r| {
            serde_json::from_str(r.allocated_method_details.as_deref().unwrap_or("null"))
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    let sum: f64 = details
        .iter()
        .map(|d| {
            d["Elements"][0]["AllocatedRatio"]
                .as_f64()
                .unwrap_or(f64::NAN)
        })
        .sum();
    assert!((sum - 1.0).abs() < 1e-9, "{sum}");
    assert_eq!(
        details[2]["Elements"][0]["x_AllocationStatus"],
        "unallocated"
    );
    assert_eq!(
        details[2]["Elements"][0]["x_AllocationReason"],
        "percentages sum to less than 1"
    );
    assert_eq!(rows[2].allocated_tags.as_deref(), Some("{}"));
    // Allocated tags never repeat a tag of Tags; audit tags are not in Tags.
    for r in &rows[..3] {
        let at: BTreeMap<String, String> =
            serde_json::from_str(r.allocated_tags.as_deref().unwrap_or("{}"))
                .unwrap_or_else(|e| panic!("{e}"));
        let t: BTreeMap<String, String> =
            serde_json::from_str(&r.tags).unwrap_or_else(|e| panic!("{e}"));
        assert!(at.keys().all(|k| !t.contains_key(k)));
        assert!(t.keys().all(|k| !k.starts_with("allocat")));
    }
    // The unchanged line: no allocation columns, its own tags.
    assert_eq!(
        v[3],
        json!({"AllocatedMethodId":null,"AllocatedMethodDetails":null,"AllocatedResourceId":null,
            "AllocatedResourceName":null,"AllocatedTags":null,
            "Tags":"{\"aws_product\":\"ec2\",\"provider\":\"aws\"}"})
    );
    assert_eq!(rows[3].line_index, 3);
}

#[test]
fn allocation_bizevents() {
    use dps_cost::events::allocation::cost_allocated_events;
    let mut part = shared_rule(json!({"method":"proportional","granularity":"daily",
        "allocated_by_tag_keys":["team"],"evaluate_grouped_by_tag_keys":["env"]}));
    part.attributes.order_id = Some(2);
    let mut lines = vector5_lines();
    let mut support = line(
        "2025-01-01",
        10.0,
        &[("provider", "aws"), ("aws_product", "support")],
    );
    support.id = Some("S1".into());
    lines.push(support);
    let rules = vec![part, percent_rule(&[0.6, 0.3])];
    let out = run(lines.clone(), rules.clone());
    let events = cost_allocated_events(&out);
    // 2 × 2 partitioned shares, 2 percent shares + 1 remainder; unchanged lines are no events.
    assert_eq!(events.len(), 7);
    let ids: std::collections::BTreeSet<&str> =
        events.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids.len(), events.len(), "ids are distinct");
    // Deterministic: the same input, or the lines in another order, give the same events.
    let again = cost_allocated_events(&run(lines.clone(), rules.clone()));
    assert_eq!(events, again);
    let mut reversed = lines.clone();
    reversed.reverse();
    let mut a: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap_or_default())
        .collect();
    let mut b: Vec<String> = cost_allocated_events(&run(reversed, rules))
        .iter()
        .map(|e| serde_json::to_string(e).unwrap_or_default())
        .collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    // Flat, with tags as `tag.<key>` / `destination.<key>`, no timestamp.
    let v = serde_json::to_value(&events[0]).unwrap_or_else(|e| panic!("{e}"));
    let id = v["event.id"].as_str().unwrap_or_default().to_string();
    assert_eq!(id.len(), 36);
    assert_eq!(
        v,
        json!({"event.id": id, "event.type":"dps.cost.allocated","event.provider":"dps4ma.ingester",
            "schemaVersion":1,"date":"2025-01-01","startTime":"2025-01-01T00:00:00.000Z",
            "endTime":"2025-01-02T00:00:00.000Z","cost":75.0,"costMicros":75_000_000,
            "currency":"USD","allocationStatus":"allocated","ruleId":"50","ruleName":"shared",
            "method":"proportional","ratio":0.75,
            "tag.env":"prod","tag.provider":"aws","tag.service":"shared","tag.team":"A",
            "destination.team":"A"})
    );
    assert!(v.get("timestamp").is_none());
    assert!(v
        .as_object()
        .is_some_and(|o| o.values().all(|x| !x.is_object() && !x.is_array())));
    let rest = events
        .iter()
        .find(|e| e.allocation_status == "unallocated")
        .unwrap_or_else(|| panic!("no remainder"));
    assert_eq!(rest.cost_micros, 1_000_000);
    assert_eq!(rest.source_line_id.as_deref(), Some("S1"));
    assert_eq!(
        rest.reason.as_deref(),
        Some("percentages sum to less than 1")
    );
    assert!(!rest.tags.keys().any(|k| k.starts_with("destination.")));
    // Ids pinned: they must never change between releases.
    assert_eq!(
        dps_cost::events::event_id::event_id(&[
            "dps.cost.allocated",
            "2025-01-01",
            "USD",
            "id:S1",
            "5",
            "unallocated",
            "{}"
        ]),
        rest.event_id
    );
    assert_eq!(rest.event_id, "5e8a0428-54a8-8fe3-af97-c39e187c3980");
}
