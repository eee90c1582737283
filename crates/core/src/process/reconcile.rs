//! The subscription's own figure against the daily records.
//!
//! `budget.used` — what the subscription says was spent in its current period — is authoritative
//! for "used", the budget status and the forecast's starting point. The daily records of the
//! period should sum to it; they do not when the history covers only part of the period (an
//! account whose cost history starts after the period did), when a day is missing, or while the
//! last day's bookings are still arriving. Within [`tolerance`] — the larger of 1.00 in the
//! subscription's currency and 0.5 % of `budget.used` — the two agree; beyond it a
//! [`Reconciliation`] says by how much and from which day the records cover the period, and the
//! report (with a warning, [`Reconciliation::message`]), the sync summary and the subscription
//! event carry it.
//!
//! Money is exact ([`Amount`]); the `f64` fields are for display.

use serde::Serialize;

use crate::money::Amount;
use crate::time::format_date;

/// One currency unit in [`Amount`] units (10⁻¹²).
const ONE: i128 = 1_000_000_000_000;

/// A difference between `budget.used` and the records' sum beyond [`tolerance`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct Reconciliation {
    /// `budget.used`.
    pub used: f64,
    /// The daily records' sum over the current period.
    pub records_sum: f64,
    /// `used − recordsSum` (positive: spend the records do not show).
    pub difference: f64,
    /// The first day of the period with a record (`YYYY-MM-DD`), `null` when none.
    pub first_day_covered: Option<String>,
}

impl Reconciliation {
    /// The same as one sentence (the report's warning; the sync summary and events carry the
    /// fields only, so the Workflow module has no text formatting for it).
    pub fn message(&self) -> String {
        let cents = |v: f64| Amount::from_f64(v).map_or_else(String::new, Amount::to_cents_text);
        let covered = match &self.first_day_covered {
            Some(d) => format!("records from {d} on"),
            None => "no record in the period".to_string(),
        };
        format!(
            "budget.used is {} but the daily cost records of the period sum to {} ({covered}): a difference of {}; used %, status and forecasts start from budget.used",
            cents(self.used),
            cents(self.records_sum),
            cents(self.difference),
        )
    }
}

/// How far the records' sum may be from `budget.used` and still agree: the larger of 1.00 and
/// 0.5 % of `used`.
pub fn tolerance(used: Amount) -> Amount {
    Amount((used.0.abs() / 200).max(ONE))
}

/// `None` when `records_sum` agrees with `used` (see [`tolerance`]), else what differs.
/// `first_day` is the first day of the period with a record.
pub fn reconcile(
    used: Amount,
    records_sum: Amount,
    first_day: Option<i64>,
) -> Option<Reconciliation> {
    let difference = used.checked_sub(records_sum)?;
    if difference.0.abs() <= tolerance(used).0 {
        return None;
    }
    Some(Reconciliation {
        used: used.to_f64(),
        records_sum: records_sum.to_f64(),
        difference: difference.to_f64(),
        first_day_covered: first_day.map(format_date),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(v: f64) -> Amount {
        Amount::from_f64(v).unwrap_or_else(|| panic!("{v}"))
    }

    #[test]
    fn within_tolerance_agrees() {
        // 0.5 % of 10,000 is 50.
        assert_eq!(reconcile(a(10_000.0), a(9_950.0), Some(0)), None);
        assert_eq!(reconcile(a(10_000.0), a(10_050.0), Some(0)), None);
        // Below 200 the floor of 1.00 applies.
        assert_eq!(reconcile(a(100.0), a(99.0), Some(0)), None);
        assert!(reconcile(a(100.0), a(98.99), Some(0)).is_some());
    }

    #[test]
    fn beyond_tolerance_says_by_how_much_and_from_when() {
        let r = reconcile(a(449_580.0), a(160_000.1), Some(20_523))
            .unwrap_or_else(|| panic!("differs"));
        assert_eq!(r.difference, 289_579.9);
        assert_eq!(r.first_day_covered.as_deref(), Some("2026-03-11"));
        let m = r.message();
        assert!(m.contains("449580.00"), "{m}");
        assert!(m.contains("160000.10"), "{m}");
        assert!(m.contains("289579.90"), "{m}");
        assert!(m.contains("2026-03-11"), "{m}");
        // More in the records than used: a negative difference.
        let r = reconcile(a(100.0), a(150.0), None).unwrap_or_else(|| panic!("differs"));
        assert_eq!(r.difference, -50.0);
        assert!(r.message().contains("no record in the period"));
        assert!(r.message().contains("-50.00"));
    }

    #[test]
    fn cents_text_rounds_half_to_even() {
        assert_eq!(a(0.125).to_cents_text(), "0.12");
        assert_eq!(a(0.135).to_cents_text(), "0.14");
        assert_eq!(a(-3.5).to_cents_text(), "-3.50");
        assert_eq!(Amount::ZERO.to_cents_text(), "0.00");
    }
}
