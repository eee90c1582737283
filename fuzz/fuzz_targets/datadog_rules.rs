//! Datadog custom allocation rule JSON (`allocate::rules::parse_rules`, every response shape)
//! and rule validation (`allocate::validate::validate_rule`, `check_based_on_timeseries`,
//! `query_group_by`), plus the filter matcher on the rules' own tags.
//!
//! Input: the rule JSON text.
//! Invariants: parse errors are DECODE with a path; validation errors are RULE_INVALID naming a
//! field; parsed rules survive encode→parse unchanged (as a list response); `rule_order` is a
//! total order (sorting is idempotent and agrees with the comparator); filters never panic.
#![no_main]

use std::cmp::Ordering;
use std::collections::BTreeMap;

use dps_cost::allocate::filter::{glob, matches_all};
use dps_cost::allocate::rules::{parse_rules, rule_order, sort_rules, ArbitraryRuleResponseArray};
use dps_cost::allocate::validate::{check_based_on_timeseries, query_group_by, validate_rule};
use dps_cost_fuzz::check_error;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let rules = match parse_rules(text) {
        Ok(r) => r,
        Err(e) => {
            check_error(&e);
            assert_eq!(e.code(), "DECODE", "{e}");
            return;
        }
    };
    // encode → parse round trip, as the list response.
    let list = ArbitraryRuleResponseArray {
        data: rules.clone(),
        meta: None,
    };
    let encoded = serde_json::to_string(&list).expect("serializable");
    let again = parse_rules(&encoded).unwrap_or_else(|e| panic!("re-parse failed: {e}\n{encoded}"));
    assert_eq!(again, rules, "parse(encode(rules)) != rules\n{encoded}");

    for rule in &rules {
        match validate_rule(rule) {
            Ok(()) => {
                assert!(!rule.name().is_empty(), "a valid rule has a name");
                assert!(!rule.method().is_empty(), "a valid rule has a method");
            }
            Err(e) => {
                check_error(&e);
                assert_eq!(e.code(), "RULE_INVALID", "{e}");
            }
        }
        if let Some(s) = &rule.attributes.strategy {
            if let Some(ts) = &s.based_on_timeseries {
                if let Err(e) = check_based_on_timeseries(ts) {
                    assert!(!e.summary.is_empty() && !e.detail.is_empty(), "{e:?}");
                }
                if let Some(q) = ts.as_str() {
                    let keys = query_group_by(q);
                    assert!(keys.iter().all(|k| !k.is_empty() && k.trim() == k));
                }
            }
        }
        // The filters of the rule against tags made from its own filter values.
        let mut tags = BTreeMap::new();
        for f in rule.attributes.costs_to_allocate.iter().flatten() {
            if let Some(v) = &f.value {
                tags.insert(f.tag.clone(), v.clone());
                assert!(glob(v, v), "glob({v:?}, itself) is false");
            }
        }
        let _ = matches_all(
            rule.attributes.costs_to_allocate.as_deref().unwrap_or(&[]),
            &tags,
        );
    }

    // rule_order is a total order: antisymmetric, and sort is idempotent.
    for a in rules.iter().take(8) {
        assert_eq!(rule_order(a, a), Ordering::Equal);
        for b in rules.iter().take(8) {
            assert_eq!(rule_order(a, b), rule_order(b, a).reverse());
        }
    }
    let mut sorted = rules.clone();
    sort_rules(&mut sorted);
    assert!(sorted
        .windows(2)
        .all(|w| rule_order(&w[0], &w[1]) != Ordering::Greater));
    let mut twice = sorted.clone();
    sort_rules(&mut twice);
    assert_eq!(twice, sorted);
});
