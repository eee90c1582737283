//! Sorts daily cost by start time and adds the running total ("cost-to-date").

use crate::error::{Error, Result};
use crate::model::cost::{CostRecord, CostToDateRecord};
use crate::money::Amount;
use crate::time::parse_timestamp_ms;

/// Checks every record, then sorts by start time (stable: equal times keep input order; each
/// timestamp is parsed once) and adds `costToDate`. Non-finite values and unparseable times are
/// rejected with the record's index in `field` (e.g. `[3].value`).
pub fn cost_to_date(records: Vec<CostRecord>) -> Result<Vec<CostToDateRecord>> {
    let mut keyed: Vec<(i64, Amount, CostRecord)> = Vec::with_capacity(records.len());
    for (i, r) in records.into_iter().enumerate() {
        let key = parse_timestamp_ms(&r.start_time).ok_or_else(|| {
            Error::invalid(
                format!("[{i}].startTime"),
                format!("`{}` is not an ISO-8601 timestamp", short(&r.start_time)),
            )
        })?;
        let amount = Amount::from_f64(r.value).ok_or_else(|| {
            Error::invalid(
                format!("[{i}].value"),
                format!("must be a finite number below 1e24, got {}", r.value),
            )
        })?;
        keyed.push((key, amount, r));
    }
    super::sort_by_key_stable(&mut keyed, |(k, _, _)| *k);
    let mut sum = Amount::ZERO;
    let mut out = Vec::with_capacity(keyed.len());
    for (_, amount, record) in keyed {
        sum = sum
            .checked_add(amount)
            .ok_or_else(|| Error::invalid("value", "the running total overflows"))?;
        out.push(CostToDateRecord {
            record,
            cost_to_date: sum.to_f64(),
        });
    }
    Ok(out)
}

fn short(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(not(target_arch = "wasm32"))]
    use proptest::prelude::*;

    fn rec(start: &str, value: f64) -> CostRecord {
        CostRecord {
            start_time: start.into(),
            end_time: None,
            value,
            currency_code: None,
            last_booking_date: None,
        }
    }

    #[test]
    fn sorts_across_timestamp_forms_and_sums() {
        let out = cost_to_date(vec![
            rec("2024-10-23T00:00:00Z", 2.0),
            rec("2024-10-22T00:00:00.000Z", 1.0),
            rec("2024-10-24", 3.5),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let got: Vec<(f64, f64)> = out
            .iter()
            .map(|r| (r.record.value, r.cost_to_date))
            .collect();
        assert_eq!(got, vec![(1.0, 1.0), (2.0, 3.0), (3.5, 6.5)]);
    }

    #[test]
    fn equal_timestamps_keep_input_order() {
        let out = cost_to_date(vec![
            rec("2024-01-02", 1.0),
            rec("2024-01-01", 5.0),
            rec("2024-01-02T00:00:00Z", 2.0),
            rec("2024-01-02", 3.0),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let values: Vec<f64> = out.iter().map(|r| r.record.value).collect();
        assert_eq!(values, vec![5.0, 1.0, 2.0, 3.0]);
    }

    #[test]
    fn decimal_sum_is_exact_where_naive_drifts() {
        let recs: Vec<CostRecord> = (0..1000)
            .map(|i| rec(&crate::time::format_iso_ms(i64::from(i) * 86_400_000), 0.1))
            .collect();
        let naive: f64 = recs.iter().map(|r| r.value).sum();
        assert_ne!(naive, 100.0);
        let out = cost_to_date(recs).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.last().map(|r| r.cost_to_date), Some(100.0));
        let out = cost_to_date(vec![rec("2024-01-01", 0.1), rec("2024-01-02", 0.2)])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out[1].cost_to_date, 0.3);
    }

    #[test]
    fn rejects_bad_records_naming_the_field() {
        for (recs, field) in [
            (
                vec![rec("2024-01-01", 1.0), rec("2024-01-02", f64::NAN)],
                "[1].value",
            ),
            (vec![rec("2024-01-01", f64::INFINITY)], "[0].value"),
            (
                vec![rec("2024-01-01", 1.0), rec("yesterday", 1.0)],
                "[1].startTime",
            ),
        ] {
            let e = cost_to_date(recs).err().unwrap_or_else(|| panic!());
            assert_eq!((e.code(), e.field()), ("INVALID_INPUT", Some(field)));
        }
        assert!(cost_to_date(Vec::new())
            .map(|v| v.is_empty())
            .unwrap_or(false));
    }

    #[cfg(not(target_arch = "wasm32"))]
    proptest! {
        #[test]
        fn order_independent_and_last_equals_sum(mut cents in proptest::collection::vec(0u32..10_000_000, 1..200), seed in any::<u64>()) {
            // Distinct days, values in cents: the result must not depend on input order.
            let recs: Vec<CostRecord> = cents.iter().enumerate()
                .map(|(i, c)| rec(&crate::time::format_iso_ms(i as i64 * 86_400_000), f64::from(*c) / 100.0)).collect();
            let sorted = cost_to_date(recs.clone()).unwrap_or_else(|e| panic!("{e}"));
            let mut shuffled = recs;
            let n = shuffled.len();
            for i in 0..n { shuffled.swap(i, (seed as usize).wrapping_mul(i + 7) % n); }
            let again = cost_to_date(shuffled).unwrap_or_else(|e| panic!("{e}"));
            prop_assert_eq!(&sorted, &again);
            let exact_cents: u64 = cents.drain(..).map(u64::from).sum();
            let last = sorted.last().map(|r| r.cost_to_date).unwrap_or(0.0);
            prop_assert_eq!((last * 100.0).round() as u64, exact_cents);
        }
    }
}
