//! Caller-supplied cost JSON: the Dynatrace cost-line builder (`allocate::lines::cost_lines`,
//! per-environment cost plus a cost-allocation breakdown) and cost-to-date
//! (`process::cost_to_date`), both decoded with `model::decode_input` as the JS boundary does.
//!
//! Input: byte 0 picks the entry point (even: cost lines, odd: cost-to-date); the rest is JSON.
//! Invariants: errors are INVALID_INPUT naming a field; cost lines conserve each record's cost
//! to the micro-unit (breakdown pieces + rest = record), carry the base tags and one date per
//! line; cost-to-date keeps every record, is sorted by start time and ends at the exact sum.
#![no_main]

use dps_cost::allocate::lines::{cost_lines, CostLinesInput};
use dps_cost::allocate::money::micros_from_f64;
use dps_cost::model::cost::CostRecord;
use dps_cost::model::decode_input;
use dps_cost::money::Amount;
use dps_cost::process::cost_to_date::cost_to_date;
use dps_cost::time::{parse_date, parse_timestamp_ms};
use dps_cost_fuzz::check_error;
use libfuzzer_sys::fuzz_target;

/// Below this every micro amount is an exact f64 (2^53 micros ≈ 9e9 units).
const EXACT: f64 = 9.0e9;

fn lines(text: &str) {
    let input: CostLinesInput = match decode_input("costLines", text) {
        Ok(i) => i,
        Err(e) => {
            check_error(&e);
            assert_eq!(e.code(), "INVALID_INPUT", "{e}");
            return;
        }
    };
    let out = match cost_lines(&input) {
        Ok(o) => o,
        Err(e) => {
            check_error(&e);
            assert_eq!(e.code(), "INVALID_INPUT", "{e}");
            return;
        }
    };
    let records: Vec<_> = input
        .environments
        .iter()
        .flat_map(|e| e.records.iter())
        .collect();
    assert!(out.len() >= records.len(), "a record produced no line");
    for l in &out {
        assert!(parse_date(&l.date).is_some(), "line date {:?}", l.date);
        assert_eq!(
            l.tags.get("provider").map(String::as_str),
            Some("dynatrace")
        );
        assert_eq!(l.tags.get("account"), Some(&input.account_uuid));
        assert!(l.tags.contains_key("environment") && l.tags.contains_key("capability"));
    }
    let small = records.iter().all(|r| r.value.abs() < EXACT)
        && input
            .breakdown
            .iter()
            .flat_map(|b| b.environments.iter())
            .flat_map(|e| e.records.iter())
            .all(|r| r.costs.abs() < EXACT);
    if small {
        let want: i128 = records
            .iter()
            .map(|r| micros_from_f64(r.value).expect("accepted"))
            .sum();
        let got: i128 = out
            .iter()
            .map(|l| micros_from_f64(l.cost).expect("finite"))
            .sum();
        assert_eq!(got, want, "cost lines do not add up to the records");
    }
}

fn to_date(text: &str) {
    let records: Vec<CostRecord> = match decode_input("records", text) {
        Ok(r) => r,
        Err(e) => {
            check_error(&e);
            return;
        }
    };
    match cost_to_date(records.clone()) {
        Ok(out) => {
            assert_eq!(out.len(), records.len());
            let keys: Vec<i64> = out
                .iter()
                .map(|r| parse_timestamp_ms(&r.record.start_time).expect("accepted"))
                .collect();
            assert!(
                keys.windows(2).all(|w| w[0] <= w[1]),
                "not sorted by start time"
            );
            let mut sum = Amount::ZERO;
            for r in &records {
                sum = sum
                    .checked_add(Amount::from_f64(r.value).expect("accepted"))
                    .expect("no overflow");
            }
            if let Some(last) = out.last() {
                assert_eq!(
                    last.cost_to_date,
                    sum.to_f64(),
                    "last cost-to-date != exact sum"
                );
            }
            // Running totals are the prefix sums of the sorted records.
            let mut running = Amount::ZERO;
            for o in &out {
                running = running
                    .checked_add(Amount::from_f64(o.record.value).expect("accepted"))
                    .expect("no overflow");
                assert_eq!(o.cost_to_date, running.to_f64());
            }
        }
        Err(e) => {
            check_error(&e);
            assert_eq!(e.code(), "INVALID_INPUT", "{e}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    if mode % 2 == 0 {
        lines(text);
    } else {
        to_date(text);
    }
});
