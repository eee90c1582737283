//! FOCUS export (1.2, 1.3 and 1.4) of arbitrary cost lines (`export::focus::focus_from_lines`)
//! and of allocation output (`focus_from_allocation`), with CSV and JSON rendering.
//!
//! Input: a structured `arbitrary` value: the FOCUS version, cost lines (dates incl. invalid ones, amounts,
//! currencies incl. invalid codes, the tag model's tags, extra tags), usage per
//! environment × capability × day, names, and optional `percent` shares for one rule.
//! Invariants: one row per line with the version's columns in order (then the custom ones, then
//! in 1.2 the Allocated* ones for allocation output); BilledCost = EffectiveCost = ListCost =
//! ContractedCost = the line's cost exact to the micro-unit; split usage adds back up; the JSON
//! rendering parses with one object per row and every column; the CSV has the header first;
//! allocation rows sum per currency to the engine's totals; errors are INVALID_INPUT with a field.
#![no_main]

use std::collections::BTreeMap;

use dps_cost::hash::HashMap;

use arbitrary::Arbitrary;
use dps_cost::allocate::engine::{allocate, AllocationInput, CostLine};
use dps_cost::allocate::money::micros_from_f64;
use dps_cost::allocate::rules::{
    AllocatedBy, AllocatedTag, ArbitraryRule, Filter, RuleAttributes, Strategy,
};
use dps_cost::export::focus::{
    allocation_columns, focus_from_allocation, focus_from_lines, line_columns, Cell, FocusContext,
    FocusTable,
};
use dps_cost::export::focus_columns::FocusVersion;
use dps_cost_fuzz::check_error;
use libfuzzer_sys::fuzz_target;

const ENVS: [&str; 3] = ["abc12345", "def67890", ""];
const CAPS: [&str; 4] = ["LOGS_INGEST", "HOST_MONITORING", "x", ""];
const CURRENCIES: [&str; 5] = ["USD", "EUR", "usd", "", "EURO"];
const UNITS: [&str; 5] = ["GiB-hour", "host-hour", "session", "GiB scanned", ""];
const KEYS: [&str; 5] = ["team", "costcenter", "product", "provider", "account"];
const VALUES: [&str; 5] = ["a", "b", "dynatrace", "\"quoted\",\r\n", ""];

fn date(b: u8) -> String {
    match b {
        0..=30 => format!("2025-12-{:02}", b + 1),
        31..=58 => format!("2026-02-{:02}", b - 30),
        59 => "2026-02-29".into(),
        60 => "2026-01-01T00:00:00Z".into(),
        _ => format!("2026-03-{:02}", b % 28 + 1),
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
            Amount::Micros(m) => *m as f64 / 1e6,
            Amount::Raw(v) => *v,
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Line {
    day: u8,
    cost: Amount,
    currency: u8,
    account: bool,
    env: Option<u8>,
    cap: Option<u8>,
    tags: Vec<(u8, u8)>,
}

#[derive(Arbitrary, Debug)]
struct Input {
    version: u8,
    lines: Vec<Line>,
    usage: Vec<(u8, u8, u8, Amount, u8)>,
    names: Vec<(u8, u8)>,
    shares: Option<Vec<(u8, u8)>>,
}

/// A decimal cell's value in micro-units (`-12.5` → -12_500_000); `None` beyond 6 decimals.
fn micros_of(cell: &Cell) -> Option<i128> {
    let Cell::Decimal(s) = cell else { return None };
    let (neg, s) = s
        .strip_prefix('-')
        .map_or((false, s.as_str()), |r| (true, r));
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 6 {
        return None;
    }
    let v = int.parse::<i128>().ok()? * 1_000_000 + format!("{frac:0<6}").parse::<i128>().ok()?;
    Some(if neg { -v } else { v })
}

fn col(t: &FocusTable, name: &str) -> usize {
    t.columns
        .iter()
        .position(|c| *c == name)
        .expect("a FOCUS column")
}

/// Checks shape and renderings; returns each row's BilledCost in micro-units.
fn check_table(t: &FocusTable, version: FocusVersion, allocation: bool) -> Vec<i128> {
    let expected = if allocation {
        allocation_columns(version)
    } else {
        line_columns(version)
    };
    assert_eq!(
        t.columns,
        expected,
        "the columns of FOCUS {}",
        version.name()
    );
    assert_eq!(
        &t.columns[..version.cost_columns().len()],
        version.cost_columns(),
        "the version's columns first"
    );
    let columns = t.columns.len();
    let billed = col(t, "BilledCost");
    let mut costs = Vec::with_capacity(t.rows.len());
    for r in &t.rows {
        assert_eq!(r.len(), columns, "a row without every column");
        let m = micros_of(&r[billed]).unwrap_or_else(|| panic!("BilledCost {:?}", r[billed]));
        for same in ["EffectiveCost", "ListCost", "ContractedCost"] {
            assert_eq!(r[col(t, same)], r[billed], "{same} != BilledCost");
        }
        costs.push(m);
    }
    let json: serde_json::Value =
        serde_json::from_str(&t.to_json()).unwrap_or_else(|e| panic!("to_json is not JSON: {e}"));
    let rows = json.as_array().expect("an array");
    assert_eq!(rows.len(), t.rows.len());
    for r in rows {
        assert_eq!(r.as_object().expect("an object").len(), columns);
        assert!(r["Tags"].is_object(), "Tags is an object");
    }
    // The plain table: same rows, valid JSON.
    let plain = t.plain();
    assert_eq!(plain.rows.len(), t.rows.len());
    assert!(plain.rows.iter().all(|r| r.len() == plain.columns.len()));
    let p: serde_json::Value = serde_json::from_str(&plain.to_json())
        .unwrap_or_else(|e| panic!("plain to_json is not JSON: {e}"));
    assert_eq!(p.as_array().map(Vec::len), Some(t.rows.len()));
    assert!(plain.to_csv().starts_with(&plain.columns.join(",")));
    let csv = t.to_csv();
    assert!(csv.starts_with(&format!("{}\r\n", t.columns.join(","))));
    costs
}

fuzz_target!(|input: Input| {
    let lines: Vec<CostLine> = input
        .lines
        .iter()
        .map(|l| {
            let mut tags: BTreeMap<String, String> = l
                .tags
                .iter()
                .map(|(k, v)| {
                    (
                        KEYS[usize::from(*k) % 5].to_string(),
                        VALUES[usize::from(*v) % 5].to_string(),
                    )
                })
                .collect();
            tags.insert("provider".into(), "dynatrace".into());
            if l.account {
                tags.insert("account".into(), "acc-1".into());
            }
            if let Some(e) = l.env {
                tags.insert("environment".into(), ENVS[usize::from(e) % 3].into());
            }
            if let Some(c) = l.cap {
                tags.insert("capability".into(), CAPS[usize::from(c) % 4].into());
            }
            CostLine {
                id: None,
                date: date(l.day),
                cost: l.cost.f64(),
                currency: CURRENCIES[usize::from(l.currency) % 5].into(),
                tags,
            }
        })
        .collect();
    let version = [FocusVersion::V1_2, FocusVersion::V1_3, FocusVersion::V1_4]
        [usize::from(input.version) % 3];
    let mut ctx = FocusContext {
        version,
        ..FocusContext::default()
    };
    for (e, c, d, q, u) in &input.usage {
        ctx.usage.insert(
            (
                ENVS[usize::from(*e) % 3].into(),
                CAPS[usize::from(*c) % 4].into(),
                date(*d),
            ),
            (q.f64(), UNITS[usize::from(*u) % 5].into()),
        );
    }
    for (c, n) in &input.names {
        ctx.capability_names.insert(
            CAPS[usize::from(*c) % 4].into(),
            VALUES[usize::from(*n) % 5].into(),
        );
        ctx.environment_names.insert(
            ENVS[usize::from(*c) % 3].into(),
            VALUES[usize::from(*n) % 5].into(),
        );
    }

    match focus_from_lines(&lines, &ctx) {
        Ok(t) => {
            assert_eq!(t.rows.len(), lines.len());
            let costs = check_table(&t, version, false);
            for (m, l) in costs.iter().zip(&lines) {
                assert_eq!(
                    Some(*m),
                    micros_from_f64(l.cost),
                    "BilledCost is not the line's cost"
                );
            }
            // Usage split between the pieces of one environment × capability × day adds back up.
            let mut groups: HashMap<(String, String, String), (f64, f64, bool)> =
                HashMap::default();
            for (r, l) in t.rows.iter().zip(&lines) {
                if let (Some(e), Some(c)) = (l.tags.get("environment"), l.tags.get("capability")) {
                    let key = (e.clone(), c.clone(), l.date.clone());
                    let g = groups.entry(key).or_default();
                    match &r[col(&t, "PricingQuantity")] {
                        Cell::Decimal(s) => {
                            let v = s.parse::<f64>().expect("a number");
                            g.0 += v;
                            g.1 += v.abs();
                        }
                        _ => g.2 = true,
                    }
                }
            }
            for (key, (sum, abs_sum, missing)) in groups {
                if let (false, Some((q, _))) = (missing, ctx.usage.get(&key)) {
                    if q.abs() < 1e12 && abs_sum < 1e15 {
                        let tolerance = 1e-9 * abs_sum.max(q.abs()).max(1.0);
                        assert!((sum - q).abs() <= tolerance, "usage {q} split into {sum}");
                    }
                }
            }
        }
        Err(e) => {
            check_error(&e);
            assert_eq!(e.code(), "INVALID_INPUT", "{e}");
        }
    }

    // Through the engine: one percent rule over the lines, then the allocation export.
    let rules = input.shares.as_ref().map(|shares| {
        vec![ArbitraryRule {
            id: "1".into(),
            kind: Some("arbitrary_rule".into()),
            attributes: RuleAttributes {
                rule_name: Some("split".into()),
                provider: Some(vec!["dynatrace".into()]),
                costs_to_allocate: Some(vec![Filter::value("provider", "is", "dynatrace")]),
                strategy: Some(Strategy {
                    method: Some("percent".into()),
                    allocated_by: Some(
                        shares
                            .iter()
                            .map(|(v, p)| AllocatedBy {
                                allocated_tags: vec![AllocatedTag {
                                    key: "team".into(),
                                    value: VALUES[usize::from(*v) % 5].into(),
                                }],
                                percentage: Some(f64::from(*p) / 510.0),
                            })
                            .collect(),
                    ),
                    ..Strategy::default()
                }),
                ..RuleAttributes::default()
            },
        }]
    });
    let engine = AllocationInput {
        lines,
        rules: rules.unwrap_or_default(),
        drivers: BTreeMap::new(),
    };
    let Ok(result) = allocate(&engine) else {
        return;
    };
    match focus_from_allocation(&result, &ctx) {
        Ok(t) => {
            assert_eq!(t.rows.len(), result.lines.len());
            let costs = check_table(&t, version, true);
            let mut per_currency: BTreeMap<&str, i128> = BTreeMap::new();
            for (m, l) in costs.iter().zip(&result.lines) {
                assert_eq!(*m, i128::from(l.cost_micros));
                *per_currency.entry(&l.currency).or_default() += m;
            }
            for (c, total) in per_currency {
                assert_eq!(
                    total, result.totals[c].input_micros,
                    "FOCUS rows of {c} do not add up"
                );
            }
        }
        Err(e) => {
            check_error(&e);
            assert_eq!(e.code(), "INVALID_INPUT", "{e}");
        }
    }
});
