//! The allocation engine with arbitrary rules (`allocate::engine::allocate`) and the FOCUS
//! allocation columns of its output (`allocate::focus`), plus the per-tag roll-up.
//!
//! Input: a structured `arbitrary` value: cost lines (dates over two months, two currencies,
//! tags from a small vocabulary so rules match), rules of every method with filters, shares,
//! granularities and `based_on_timeseries`, and driver series.
//! Invariants: money is conserved to the micro-unit, per source line and per currency; every
//! output line of a source line has its date and currency; allocated lines carry their rule;
//! FOCUS ratios of one split sum to 1; errors are typed (never INTERNAL) and name a field;
//! the input survives JSON encode→decode.
#![no_main]

use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use dps_cost::allocate::engine::{allocate, AllocationInput, CostLine, DriverPoint, LineStatus};
use dps_cost::allocate::focus::{focus_allocation_rows, is_allocation_row};
use dps_cost::allocate::money::{micros_from_f64, micros_to_f64};
use dps_cost::allocate::rules::{
    AllocatedBy, AllocatedTag, ArbitraryRule, Filter, RuleAttributes, Strategy,
};
use dps_cost::allocate::summary::by_tag;
use dps_cost_fuzz::check_error;
use libfuzzer_sys::fuzz_target;

const KEYS: [&str; 8] = [
    "provider",
    "team",
    "env",
    "service",
    "costcenter",
    "product",
    "capability",
    "",
];
const VALUES: [&str; 10] = [
    "dynatrace",
    "aws",
    "a",
    "b",
    "c",
    "team-*",
    "?",
    "",
    "null",
    "x y",
];
const CONDITIONS: [&str; 12] = [
    "is",
    "=",
    "is not",
    "!=",
    "contains",
    "does not contain",
    "like",
    "not like",
    "in",
    "not in",
    "IS",
    "",
];
const METHODS: [&str; 7] = [
    "even",
    "percent",
    "proportional",
    "proportional_timeseries",
    "even_timeseries",
    "bogus",
    "",
];
const CURRENCIES: [&str; 3] = ["USD", "EUR", ""];
const QUERIES: [&str; 3] = ["q1", "q2", "q1 + q2"];

fn key(b: u8) -> String {
    KEYS[usize::from(b) % KEYS.len()].to_string()
}
fn value(b: u8) -> String {
    VALUES[usize::from(b) % VALUES.len()].to_string()
}
fn date(b: u8) -> String {
    match b {
        0..=30 => format!("2025-01-{:02}", b + 1),
        31..=58 => format!("2025-02-{:02}", b - 30),
        59 => "2025-02-30".into(),
        60 => "not a date".into(),
        _ => format!("2025-03-{:02}", b % 28 + 1),
    }
}

#[derive(Arbitrary, Debug)]
enum Amount {
    Cents(i32),
    Micros(i64),
    Raw(f64),
}
impl Amount {
    fn f64(&self) -> f64 {
        match self {
            Amount::Cents(c) => f64::from(*c) / 100.0,
            Amount::Micros(m) => (*m % 2_000_000_000_000_000) as f64 / 1e6,
            Amount::Raw(v) => *v,
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Line {
    id: Option<u8>,
    day: u8,
    cost: Amount,
    currency: u8,
    tags: Vec<(u8, u8)>,
}

#[derive(Arbitrary, Debug)]
struct AFilter {
    tag: u8,
    condition: u8,
    value: Option<u8>,
    values: Option<Vec<u8>>,
}
impl AFilter {
    fn build(&self) -> Filter {
        Filter {
            tag: key(self.tag),
            condition: CONDITIONS[usize::from(self.condition) % CONDITIONS.len()].to_string(),
            value: self.value.map(value),
            values: self
                .values
                .as_ref()
                .map(|v| v.iter().map(|b| value(*b)).collect()),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Share {
    tags: Vec<(u8, u8)>,
    percentage: Option<Amount>,
}

#[derive(Arbitrary, Debug)]
struct Rule {
    id: u16,
    textual_id: bool,
    enabled: Option<bool>,
    order_id: Option<i8>,
    named: bool,
    provider: Option<Vec<u8>>,
    costs: Option<Vec<AFilter>>,
    method: u8,
    granularity: Option<u8>,
    allocated_by_tag_keys: Option<Vec<u8>>,
    allocated_by_filters: Option<Vec<AFilter>>,
    allocated_by: Option<Vec<Share>>,
    based_on_costs: Option<Vec<AFilter>>,
    timeseries: Option<(u8, Vec<u8>)>,
    evaluate_grouped_by_tag_keys: Option<Vec<u8>>,
    evaluate_grouped_by_filters: Option<Vec<AFilter>>,
}

impl Rule {
    fn build(&self) -> ArbitraryRule {
        let filters =
            |f: &Option<Vec<AFilter>>| f.as_ref().map(|v| v.iter().map(AFilter::build).collect());
        let keys = |k: &Option<Vec<u8>>| k.as_ref().map(|v| v.iter().map(|b| key(*b)).collect());
        let timeseries = self.timeseries.as_ref().map(|(q, group)| {
            let by: Vec<String> = group.iter().map(|b| key(*b)).collect();
            let queries: Vec<serde_json::Value> = QUERIES[..2]
                .iter()
                .take(usize::from(q % 3))
                .map(|name| {
                    serde_json::json!({
                        "name": name, "data_source": "metrics",
                        "query": format!("sum:requests{{*}} by {{{}}}", by.join(","))
                    })
                })
                .collect();
            let mut ts = serde_json::json!({"queries": queries});
            if q & 4 != 0 {
                ts["formulas"] = serde_json::json!([{"formula": QUERIES[usize::from(q >> 3) % 3]}]);
            }
            if q & 0x80 != 0 {
                serde_json::Value::String(ts.to_string())
            } else {
                ts
            }
        });
        ArbitraryRule {
            id: if self.textual_id {
                format!("r{}", self.id)
            } else {
                self.id.to_string()
            },
            kind: Some("arbitrary_rule".into()),
            attributes: RuleAttributes {
                costs_to_allocate: filters(&self.costs),
                enabled: self.enabled,
                order_id: self.order_id.map(i64::from),
                provider: self
                    .provider
                    .as_ref()
                    .map(|p| p.iter().map(|b| value(*b)).collect()),
                rule_name: self.named.then(|| format!("rule {}", self.id)),
                strategy: Some(Strategy {
                    method: Some(METHODS[usize::from(self.method) % METHODS.len()].to_string()),
                    granularity: self
                        .granularity
                        .map(|g| ["daily", "monthly", "weekly"][usize::from(g) % 3].to_string()),
                    allocated_by: self.allocated_by.as_ref().map(|s| {
                        s.iter()
                            .map(|s| AllocatedBy {
                                allocated_tags: s
                                    .tags
                                    .iter()
                                    .map(|(k, v)| AllocatedTag {
                                        key: key(*k),
                                        value: value(*v),
                                    })
                                    .collect(),
                                percentage: s.percentage.as_ref().map(Amount::f64),
                            })
                            .collect()
                    }),
                    allocated_by_tag_keys: keys(&self.allocated_by_tag_keys),
                    allocated_by_filters: filters(&self.allocated_by_filters),
                    based_on_costs: filters(&self.based_on_costs),
                    based_on_timeseries: timeseries,
                    evaluate_grouped_by_tag_keys: keys(&self.evaluate_grouped_by_tag_keys),
                    evaluate_grouped_by_filters: filters(&self.evaluate_grouped_by_filters),
                }),
                ..RuleAttributes::default()
            },
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Point {
    query: u8,
    day: u8,
    tags: Vec<(u8, u8)>,
    value: Amount,
}

#[derive(Arbitrary, Debug)]
struct Input {
    lines: Vec<Line>,
    rules: Vec<Rule>,
    points: Vec<Point>,
}

fn tags(kv: &[(u8, u8)]) -> BTreeMap<String, String> {
    kv.iter().map(|(k, v)| (key(*k), value(*v))).collect()
}

fuzz_target!(|input: Input| {
    let mut drivers: BTreeMap<String, Vec<DriverPoint>> = BTreeMap::new();
    for p in &input.points {
        drivers
            .entry(QUERIES[usize::from(p.query) % 3].to_string())
            .or_default()
            .push(DriverPoint {
                date: date(p.day),
                tags: tags(&p.tags),
                value: p.value.f64(),
            });
    }
    let engine_input = AllocationInput {
        lines: input
            .lines
            .iter()
            .map(|l| CostLine {
                id: l.id.map(|i| format!("line-{i}")),
                date: date(l.day),
                cost: l.cost.f64(),
                currency: CURRENCIES[usize::from(l.currency) % 3].to_string(),
                tags: tags(&l.tags),
            })
            .collect(),
        rules: input.rules.iter().map(Rule::build).collect(),
        drivers,
    };
    // The engine's input is JSON at the JS boundary: it must survive a round trip (finite numbers).
    if engine_input.lines.iter().all(|l| l.cost.is_finite())
        && engine_input
            .drivers
            .values()
            .flatten()
            .all(|p| p.value.is_finite())
        && engine_input
            .rules
            .iter()
            .flat_map(|r| r.attributes.strategy.iter())
            .flat_map(|s| s.allocated_by.iter().flatten())
            .all(|a| a.percentage.is_none_or(f64::is_finite))
    {
        let text = serde_json::to_string(&engine_input).expect("serializable");
        let again: AllocationInput =
            dps_cost::model::decode_input("input", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        // Numbers are read correctly rounded (serde_json's `float_roundtrip`): every cost, driver
        // value and percentage comes back as the same f64, so the same micro-units.
        assert_eq!(again, engine_input, "AllocationInput encode→decode");
    }

    let result = match allocate(&engine_input) {
        Ok(r) => r,
        Err(e) => {
            check_error(&e);
            assert!(matches!(e.code(), "INVALID_INPUT" | "RULE_INVALID"), "{e}");
            return;
        }
    };

    // Money conserved: per source line and per currency, to the micro-unit.
    let mut per_source: BTreeMap<usize, i128> = BTreeMap::new();
    let mut per_currency: BTreeMap<&str, (i128, i128)> = BTreeMap::new();
    for l in &result.lines {
        let src = &engine_input.lines[l.source_index];
        assert_eq!(l.date, src.date);
        assert_eq!(l.currency, src.currency);
        assert_eq!(l.source_id, src.id);
        if l.status == LineStatus::Unchanged {
            assert_eq!(
                l.cost.to_bits(),
                src.cost.to_bits(),
                "an unchanged line keeps its cost"
            );
        } else {
            assert_eq!(
                l.cost,
                micros_to_f64(i128::from(l.cost_micros)),
                "cost is not the nearest f64 of cost_micros"
            );
        }
        *per_source.entry(l.source_index).or_default() += i128::from(l.cost_micros);
        per_currency.entry(&l.currency).or_default().1 += i128::from(l.cost_micros);
        match l.status {
            LineStatus::Unchanged => assert!(l.rule_id.is_none() && l.destination_tags.is_empty()),
            LineStatus::Allocated => {
                assert!(l.rule_id.is_some() && l.method.is_some());
                let r = l.ratio.expect("allocated lines have a ratio");
                assert!((0.0..=1.0 + 1e-9).contains(&r), "ratio {r}");
                for (k, v) in &l.destination_tags {
                    assert_eq!(l.tags.get(k), Some(v), "destination tag missing from tags");
                }
            }
            LineStatus::Unallocated => assert!(l.reason.as_deref().is_some_and(|r| !r.is_empty())),
        }
    }
    for (i, src) in engine_input.lines.iter().enumerate() {
        let micros = micros_from_f64(src.cost).expect("accepted lines have a cost in range");
        assert_eq!(
            per_source.get(&i).copied().unwrap_or(0),
            micros,
            "line {i} not conserved: {src:?}"
        );
        per_currency.entry(&src.currency).or_default().0 += micros;
    }
    for (c, (input_micros, output_micros)) in &per_currency {
        assert_eq!(input_micros, output_micros, "currency {c:?}");
        let t = &result.totals[*c];
        assert_eq!(
            (t.input_micros, t.output_micros),
            (*input_micros, *output_micros)
        );
    }
    // Per-rule summaries agree with the lines.
    for s in &result.rules {
        for t in s.costs.values() {
            assert_eq!(
                t.matched_micros,
                t.allocated_micros + t.unallocated_micros,
                "rule {}",
                s.rule_id
            );
        }
    }

    // FOCUS allocation columns: one row per line; the ratios of one split sum to 1.
    let rows = focus_allocation_rows(&result);
    let mut ratio_sum: BTreeMap<usize, f64> = BTreeMap::new();
    for (row, line) in rows.iter().zip(&result.lines) {
        assert_eq!(row.allocated_method_id.is_some(), is_allocation_row(line));
        let tags: serde_json::Value = serde_json::from_str(&row.tags).expect("Tags is JSON");
        assert!(tags.is_object());
        if let Some(details) = &row.allocated_method_details {
            let d: serde_json::Value = serde_json::from_str(details).expect("details are JSON");
            for e in d["Elements"].as_array().expect("Elements") {
                *ratio_sum.entry(line.source_index).or_default() +=
                    e["AllocatedRatio"].as_f64().expect("AllocatedRatio");
            }
            let allocated: serde_json::Value =
                serde_json::from_str(row.allocated_tags.as_deref().expect("AllocatedTags"))
                    .expect("JSON");
            for k in allocated.as_object().expect("object").keys() {
                assert!(
                    tags.get(k).is_none(),
                    "AllocatedTags repeats a tag of Tags: {k}"
                );
            }
        }
    }
    assert_eq!(rows.len(), result.lines.len());
    for (i, sum) in ratio_sum {
        assert!(
            (sum - 1.0).abs() < 1e-6,
            "FOCUS ratios of line {i} sum to {sum}"
        );
    }
    let _ = by_tag(&result.destinations);
});
