//! The streaming forms: `AllocationStream` drained line by line gives `allocate()`'s lines,
//! order and summaries; `FocusStream` chunks, concatenated, give the whole table's text in
//! every format (with and without rules and usage); finishing early is an error.
#![cfg(not(target_arch = "wasm32"))]

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use dps_cost::allocate::{
    allocate, parse_rules, AllocationInput, AllocationStream, CostLine, DriverPoint,
};
use dps_cost::export::allocation_json::LinesJson;
use dps_cost::export::focus::{focus_from_allocation, focus_from_lines, FocusContext, FocusStream};
use dps_cost::report::ExportFormat;
use proptest::prelude::*;
use serde_json::json;

include!("stream_input.rs.inc");

const FORMATS: [ExportFormat; 4] = [
    ExportFormat::FocusCsv,
    ExportFormat::FocusJson,
    ExportFormat::Csv,
    ExportFormat::Json,
];

/// Drains a stream in pieces of `per_call` source lines, checking its position as it goes.
fn drain(
    input: &AllocationInput,
    per_call: usize,
) -> (
    Vec<dps_cost::allocate::AllocatedLine>,
    dps_cost::allocate::AllocationSummary,
) {
    let mut s = AllocationStream::new(Cow::Borrowed(input)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.source_lines(), input.lines.len());
    let mut all = Vec::new();
    loop {
        let mut chunk = Vec::new();
        let mut more = true;
        for _ in 0..per_call {
            more = s.next_source(&mut chunk).unwrap_or_else(|e| panic!("{e}"));
            if !more {
                break;
            }
        }
        // Output lines of one source line stay together and carry its index.
        assert!(chunk
            .windows(2)
            .all(|w| w[0].source_index <= w[1].source_index));
        all.extend(chunk);
        assert_eq!(s.position(), all.last().map_or(0, |l| l.source_index + 1));
        if !more || s.is_done() {
            break;
        }
    }
    assert!(s.is_done());
    let summary = s.finish().unwrap_or_else(|e| panic!("{e}"));
    assert!(s.finish().is_err(), "finish twice");
    (all, summary)
}

fn usage_for(lines: &[CostLine]) -> HashMap<(String, String, String), (f64, String)> {
    lines
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 4 != 1)
        .filter_map(|(i, l)| {
            Some((
                (
                    l.tags.get("environment")?.clone(),
                    l.tags.get("capability")?.clone(),
                    l.date.clone(),
                ),
                (1.5 + i as f64, "GiB-hour".to_string()),
            ))
        })
        .collect()
}

/// Every chunk concatenated, checking chunk sizes and the row count.
fn focus_text(mut s: FocusStream, rows_per_chunk: usize) -> (String, usize) {
    let mut text = String::new();
    let mut chunks = 0;
    while let Some(chunk) = s
        .next_chunk(rows_per_chunk)
        .unwrap_or_else(|e| panic!("{e}"))
    {
        text.push_str(&chunk);
        chunks += 1;
        assert!(s.rows() <= chunks * rows_per_chunk.max(1));
    }
    assert!(s.is_done());
    assert_eq!(
        s.next_chunk(rows_per_chunk)
            .unwrap_or_else(|e| panic!("{e}")),
        None
    );
    (text, s.rows())
}

#[test]
fn stream_equals_allocate_on_the_bench_shape() {
    for (n, rules) in [(3000, 20), (500, 5), (0, 3), (40, 0)] {
        let input = bench_input(n, rules);
        let whole = allocate(&input).unwrap_or_else(|e| panic!("{e}"));
        for per_call in [1, 7, 1000] {
            let (lines, summary) = drain(&input, per_call);
            assert_eq!(lines, whole.lines, "{n} × {rules}, {per_call} per call");
            assert_eq!(summary.rules, whole.rules);
            assert_eq!(summary.totals, whole.totals);
            assert_eq!(summary.destinations, whole.destinations);
        }
    }
}

/// The lines' JSON text written straight from the engine's views (`LinesJson`, the fast path)
/// is `serde_json`'s text of `allocate()`'s lines (the oracle), byte for byte.
fn lines_json_is_serde(input: &AllocationInput) {
    let whole = allocate(input).unwrap_or_else(|e| panic!("{e}"));
    let want = whole
        .lines
        .iter()
        .map(|l| serde_json::to_string(l).unwrap_or_else(|e| panic!("{e}")))
        .collect::<Vec<_>>()
        .join(",");
    let mut s = AllocationStream::new(Cow::Borrowed(input)).unwrap_or_else(|e| panic!("{e}"));
    let mut sink = LinesJson::default();
    while s.next_into(&mut sink).unwrap_or_else(|e| panic!("{e}")) {}
    assert_eq!(sink.count, whole.lines.len());
    let (text, units) = sink.take();
    assert_eq!(text, want);
    assert_eq!(units, want.encode_utf16().count());
    assert_eq!(
        s.finish().ok().map(|f| f.destinations),
        Some(whole.destinations)
    );
}

#[test]
fn lines_json_fast_path_equals_serde_on_the_bench_shape() {
    for (n, rules) in [(3000, 20), (500, 5), (0, 3), (40, 0)] {
        lines_json_is_serde(&bench_input(n, rules));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any tag text (quotes, backslashes, control and non-ASCII characters, a tag the rule's
    /// destination overrides) and any cost: the fast path's text is serde's.
    #[test]
    fn lines_json_fast_path_equals_serde_on_any_text(
        values in proptest::collection::vec("[a-c\"\\\\\u{1}\n é😀]{0,6}", 1..6),
        costs in proptest::collection::vec(-1e6f64..1e6, 1..6),
        id in proptest::option::of("[a-z\"\u{7f}😀]{0,4}"),
    ) {
        let lines: Vec<CostLine> = costs.iter().enumerate().map(|(i, c)| CostLine {
            id: id.clone(),
            date: "2026-11-01".into(),
            cost: *c,
            currency: "EU\"R".into(),
            tags: BTreeMap::from([
                ("provider".to_string(), "dynatrace".to_string()),
                ("team".to_string(), values[i % values.len()].clone()),
                (values[(i + 1) % values.len()].clone(), "x\ty".to_string()),
            ]),
        }).collect();
        let rules = parse_rules(&json!([
            {"id": "1", "attributes": {"rule_name": "p\"1", "provider": ["dynatrace"], "order_id": 1,
              "costs_to_allocate": [{"condition": "is", "tag": "team", "value": values[0]}],
              "strategy": {"method": "percent", "allocated_by": [
                {"allocated_tags": [{"key": "team", "value": "ä"}], "percentage": 0.3},
                {"allocated_tags": [{"key": "zz", "value": "\u{1}"}], "percentage": 0.3}]}}},
            {"id": "2", "attributes": {"rule_name": "even", "provider": ["dynatrace"], "order_id": 2,
              "costs_to_allocate": [{"condition": "is not", "tag": "team", "value": values[0]}],
              "strategy": {"method": "even", "granularity": "daily", "allocated_by_tag_keys": ["team"]}}}
        ]).to_string()).unwrap_or_else(|e| panic!("{e}"));
        lines_json_is_serde(&AllocationInput { lines, rules, drivers: Default::default() });
    }
}

#[test]
fn finish_before_the_end_is_an_error() {
    let input = bench_input(10, 2);
    let mut s = AllocationStream::new(Cow::Borrowed(&input)).unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    assert!(s.next_source(&mut out).unwrap_or_else(|e| panic!("{e}")));
    let e = s.finish().err().unwrap_or_else(|| panic!("finished early"));
    assert_eq!(e.code(), "INTERNAL");
}

#[test]
fn stream_errors_are_allocate_errors() {
    let mut input = bench_input(20, 3);
    input.lines[7].date = "2025-02-30".into();
    let a = allocate(&input)
        .err()
        .map(|e| (e.code(), e.field().map(str::to_string)));
    let b = AllocationStream::new(Cow::Owned(input))
        .err()
        .map(|e| (e.code(), e.field().map(str::to_string)));
    assert_eq!(a, b);
    assert_eq!(
        a,
        Some(("INVALID_INPUT", Some("lines[7].date".to_string())))
    );
}

#[test]
fn focus_stream_equals_the_table_in_every_format() {
    let input = bench_input(600, 20);
    for usage in [false, true] {
        let ctx = FocusContext {
            usage: if usage {
                usage_for(&input.lines)
            } else {
                HashMap::new()
            },
            ..FocusContext::default()
        };
        let allocated = allocate(&input).unwrap_or_else(|e| panic!("{e}"));
        let table_a = focus_from_allocation(&allocated, &ctx).unwrap_or_else(|e| panic!("{e}"));
        let table_l = focus_from_lines(&input.lines, &ctx).unwrap_or_else(|e| panic!("{e}"));
        for format in FORMATS {
            for rows in [1, 333, 100_000] {
                let s = FocusStream::from_allocation(
                    input.clone(),
                    ctx.clone(),
                    format.is_json(),
                    format.is_plain(),
                )
                .unwrap_or_else(|e| panic!("{e}"));
                let (text, n) = focus_text(s, rows);
                assert_eq!(n, table_a.rows.len());
                assert!(
                    text == format.render(&table_a),
                    "allocation {format:?} {rows} usage={usage}"
                );
                let s = FocusStream::from_lines(
                    input.lines.clone(),
                    ctx.clone(),
                    format.is_json(),
                    format.is_plain(),
                )
                .unwrap_or_else(|e| panic!("{e}"));
                let (text, n) = focus_text(s, rows);
                assert_eq!(n, table_l.rows.len());
                assert!(
                    text == format.render(&table_l),
                    "lines {format:?} {rows} usage={usage}"
                );
            }
        }
    }
}

#[test]
fn focus_stream_of_nothing_is_the_header() {
    let s = FocusStream::from_lines(Vec::new(), FocusContext::default(), true, false)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(focus_text(s, 10), ("[]".to_string(), 0));
    let s = FocusStream::from_lines(Vec::new(), FocusContext::default(), false, true)
        .unwrap_or_else(|e| panic!("{e}"));
    let (text, rows) = focus_text(s, 10);
    assert!(
        text.starts_with("date,accountUuid,")
            && text.ends_with("\r\n")
            && text.matches("\r\n").count() == 1
    );
    assert_eq!(rows, 0);
}

fn arb_input() -> impl Strategy<Value = AllocationInput> {
    let line = (
        0usize..6,
        -500_000i64..5_000_000,
        0usize..4,
        0usize..3,
        0usize..5,
        any::<bool>(),
    );
    (proptest::collection::vec(line, 0..40), proptest::collection::vec((0usize..5, 0usize..4), 0..4))
        .prop_map(|(ls, rs)| {
            let lines = ls
                .into_iter()
                .enumerate()
                .map(|(i, (day, micros, env, cap, cc, eur))| {
                    let mut tags = BTreeMap::from([
                        ("provider".to_string(), "dynatrace".to_string()),
                        ("account".to_string(), "acc".to_string()),
                        ("environment".to_string(), format!("env-{env}")),
                        ("capability".to_string(), format!("cap-{cap}")),
                    ]);
                    if cc > 0 {
                        tags.insert("costcenter".to_string(), format!("cc-{cc}"));
                    }
                    CostLine {
                        id: (i % 2 == 0).then(|| format!("l{i}")),
                        date: format!("2025-01-{:02}", 28 + day).replace("2025-01-32", "2025-02-01").replace("2025-01-33", "2025-02-02"),
                        cost: micros as f64 / 1e6,
                        currency: if eur { "EUR" } else { "USD" }.to_string(),
                        tags,
                    }
                })
                .collect();
            let rules: Vec<serde_json::Value> = rs
                .into_iter()
                .enumerate()
                .map(|(k, (method, cap))| {
                    let strategy = match method {
                        0 => json!({"method": "percent", "allocated_by": [
                            {"allocated_tags": [{"key": "product", "value": "a"}], "percentage": 0.6},
                            {"allocated_tags": [{"key": "product", "value": "b"}], "percentage": 0.3}]}),
                        1 => json!({"method": "even", "granularity": "daily", "allocated_by_tag_keys": ["costcenter"]}),
                        2 => json!({"method": "proportional", "granularity": "monthly", "allocated_by_tag_keys": ["costcenter"]}),
                        3 => json!({"method": "proportional", "granularity": "daily", "allocated_by_tag_keys": ["costcenter"], "evaluate_grouped_by_tag_keys": ["environment"]}),
                        _ => json!({"method": "proportional_timeseries", "granularity": "daily",
                            "based_on_timeseries": {"queries": [{"name": "q", "data_source": "metrics", "query": "sum:x{*} by {team}"}]}}),
                    };
                    json!({"id": format!("{}", 10 + k), "type": "arbitrary_rule", "attributes": {
                        "rule_name": format!("r{k}"), "order_id": k, "enabled": true, "provider": ["dynatrace"],
                        "costs_to_allocate": [{"condition": "is", "tag": "capability", "value": format!("cap-{cap}")}],
                        "strategy": strategy}})
                })
                .collect();
            let drivers = BTreeMap::from([(
                "q".to_string(),
                (0..3)
                    .map(|d| DriverPoint {
                        date: format!("2025-01-{:02}", 28 + d),
                        tags: BTreeMap::from([("team".to_string(), format!("t{}", d % 2))]),
                        value: 1.0 + d as f64,
                    })
                    .collect(),
            )]);
            AllocationInput {
                lines,
                rules: parse_rules(&json!(rules).to_string()).unwrap_or_else(|e| panic!("{e}")),
                drivers,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn stream_is_allocate_and_conserves(input in arb_input(), per_call in 1usize..5) {
        let whole = allocate(&input).unwrap_or_else(|e| panic!("{e}"));
        let (lines, summary) = drain(&input, per_call);
        prop_assert_eq!(&lines, &whole.lines);
        prop_assert_eq!(&summary.rules, &whole.rules);
        prop_assert_eq!(&summary.totals, &whole.totals);
        prop_assert_eq!(&summary.destinations, &whole.destinations);
        let mut out: BTreeMap<String, i128> = BTreeMap::new();
        for l in &lines {
            *out.entry(l.currency.clone()).or_default() += i128::from(l.cost_micros);
        }
        let mut inp: BTreeMap<String, i128> = BTreeMap::new();
        for l in &input.lines {
            *inp.entry(l.currency.clone()).or_default() += (l.cost * 1e6).round() as i128;
        }
        prop_assert_eq!(out, inp);
    }

    #[test]
    fn focus_chunks_concatenate_to_the_table(input in arb_input(), rows in 1usize..9, f in 0usize..4, usage in any::<bool>()) {
        let format = FORMATS[f];
        let ctx = FocusContext {
            usage: if usage { usage_for(&input.lines) } else { HashMap::new() },
            ..FocusContext::default()
        };
        let whole = allocate(&input).unwrap_or_else(|e| panic!("{e}"));
        let table = focus_from_allocation(&whole, &ctx).unwrap_or_else(|e| panic!("{e}"));
        let s = FocusStream::from_allocation(input, ctx, format.is_json(), format.is_plain())
            .unwrap_or_else(|e| panic!("{e}"));
        let (text, n) = focus_text(s, rows);
        prop_assert_eq!(n, table.rows.len());
        prop_assert_eq!(text, format.render(&table));
    }
}
