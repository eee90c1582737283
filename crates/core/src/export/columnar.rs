//! A [`FocusTable`] as typed columns, for a columnar file writer (Parquet, in the JS API): each
//! column's type from the FOCUS column metadata (tests/fixtures/focus; the test
//! `columnar_types_follow_the_metadata` checks every column of every version and dataset).
//!
//! | FOCUS data type | column | Parquet (what the JS writer makes of it) |
//! |---|---|---|
//! | Decimal, money (`…Cost`, `…UnitPrice`, `x_…Cost`) | `decimal` | `DECIMAL(18, 6)` on INT64: the unscaled micro-units, exact |
//! | Decimal, other (quantities, percentages, `x_DaysRemaining`) | `double` | `DOUBLE`: the API's own binary number, the value the CSV's shortest round-trip text names |
//! | Date/Time | `timestamp` | `TIMESTAMP(MILLIS, isAdjustedToUTC)` |
//! | JSON | `json` | `STRING` (the JSON text) |
//! | String | `string` | `STRING` |
//!
//! Money is carried as the unscaled integer in decimal text, so no step on the way (JSON, JS
//! numbers) can round it; a money cell with more than 6 decimals, or at or beyond 10^12 (18
//! digits at scale 6), is refused rather than rounded.

use serde::Serialize;
use serde_json::Value;

use super::focus::{Cell, FocusTable};
use crate::error::{Error, Result};
use crate::time::parse_timestamp_ms;

/// Scale of the money columns: micro-units, as every amount dps-cost computes.
pub const MONEY_SCALE: u32 = 6;
/// Precision of the money columns: the most an INT64 DECIMAL holds.
pub const MONEY_PRECISION: u32 = 18;

/// The Date/Time columns of every version and dataset.
const DATE_TIME: [&str; 10] = [
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ContractCommitmentCreated",
    "ContractCommitmentLastUpdated",
    "ContractCommitmentPeriodEnd",
    "ContractCommitmentPeriodStart",
    "ContractPeriodEnd",
    "ContractPeriodStart",
];

/// The JSON columns of every version and dataset.
const JSON: [&str; 7] = [
    "AllocatedMethodDetails",
    "AllocatedTags",
    "CommitmentProgramEligibilityDetails",
    "ContractApplied",
    "ContractCommitmentApplicability",
    "SkuPriceDetails",
    "Tags",
];

/// The Decimal columns that are not money.
const DOUBLE: [&str; 7] = [
    "CommitmentDiscountQuantity",
    "ConsumedQuantity",
    "ContractCommitmentDiscountPercentage",
    "ContractCommitmentPaymentUpfrontPercentage",
    "ContractCommitmentQuantity",
    "PricingQuantity",
    "x_DaysRemaining",
];

/// How a column is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ColumnType {
    /// Money: values are the unscaled integers (micro-units) as decimal text.
    Decimal,
    /// Values are numbers.
    Double,
    /// Values are milliseconds since 1970-01-01T00:00:00Z.
    Timestamp,
    /// Values are the JSON text.
    Json,
    /// Values are the text.
    String,
}

impl ColumnType {
    /// The type of the column named `name` (any version, either dataset).
    pub fn of(name: &str) -> ColumnType {
        if DATE_TIME.contains(&name) {
            ColumnType::Timestamp
        } else if JSON.contains(&name) {
            ColumnType::Json
        } else if DOUBLE.contains(&name) {
            ColumnType::Double
        } else if name.ends_with("Cost") || name.ends_with("UnitPrice") {
            ColumnType::Decimal
        } else {
            ColumnType::String
        }
    }
}

/// One column: its name, type and values (null where the cell is null).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TypedColumn {
    pub name: &'static str,
    #[serde(rename = "type")]
    pub column_type: ColumnType,
    /// `decimal` only: 6.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale: Option<u32>,
    /// `decimal` only: 18.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precision: Option<u32>,
    pub values: Vec<Value>,
}

/// The unscaled micro-units of a decimal text (`-12.5` → `-12500000`), if it has at most 6
/// decimals, no exponent and fewer than 19 digits at scale 6.
pub fn unscaled_micros(s: &str) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty()
        || frac.len() > MONEY_SCALE as usize
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut v: i64 = 0;
    let padded = frac.bytes().chain(std::iter::repeat(b'0')).take(6);
    for b in int.bytes().chain(padded) {
        v = v.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    if v >= 10_i64.pow(MONEY_PRECISION) {
        return None;
    }
    Some(if neg { -v } else { v })
}

fn cell_value(column: &str, t: ColumnType, cell: &Cell, row: usize) -> Result<Value> {
    let bad =
        |what: &str| Error::invalid("format", format!("parquet: {column} of row {row} {what}"));
    let text = match cell {
        Cell::Null => return Ok(Value::Null),
        Cell::Text(s) | Cell::Decimal(s) | Cell::Json(s) => s,
    };
    Ok(match t {
        ColumnType::Decimal => Value::String(
            unscaled_micros(text)
                .ok_or_else(|| {
                    bad("is not an amount with at most 6 decimals below 10^12 (DECIMAL(18, 6))")
                })?
                .to_string(),
        ),
        ColumnType::Double => text
            .parse::<f64>()
            .ok()
            .and_then(|v| serde_json::Number::from_f64(v).map(Value::Number))
            .ok_or_else(|| bad("is not a finite number"))?,
        ColumnType::Timestamp => {
            Value::from(parse_timestamp_ms(text).ok_or_else(|| bad("is not a UTC date and time"))?)
        }
        ColumnType::Json | ColumnType::String => Value::String(text.clone()),
    })
}

/// The table as typed columns, in its column order.
pub fn typed_columns(table: &FocusTable) -> Result<Vec<TypedColumn>> {
    table
        .columns
        .iter()
        .enumerate()
        .map(|(i, &name)| {
            let t = ColumnType::of(name);
            let values = table
                .rows
                .iter()
                .enumerate()
                .map(|(n, r)| cell_value(name, t, &r[i], n))
                .collect::<Result<Vec<_>>>()?;
            let money = t == ColumnType::Decimal;
            Ok(TypedColumn {
                name,
                column_type: t,
                scale: money.then_some(MONEY_SCALE),
                precision: money.then_some(MONEY_PRECISION),
                values,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micro_units_are_exact_or_refused() {
        assert_eq!(unscaled_micros("100.123457"), Some(100_123_457));
        assert_eq!(unscaled_micros("-0.5"), Some(-500_000));
        assert_eq!(unscaled_micros("7.0"), Some(7_000_000));
        assert_eq!(unscaled_micros("0.29"), Some(290_000));
        assert_eq!(
            unscaled_micros("999999999999.999999"),
            Some(999_999_999_999_999_999)
        );
        assert_eq!(unscaled_micros("1000000000000.0"), None, "19 digits");
        assert_eq!(unscaled_micros("0.0000001"), None, "7 decimals");
        assert_eq!(unscaled_micros("1e3"), None);
        assert_eq!(unscaled_micros(""), None);
        assert_eq!(unscaled_micros(".5"), None);
    }

    #[test]
    fn types_by_name() {
        assert_eq!(ColumnType::of("BilledCost"), ColumnType::Decimal);
        assert_eq!(
            ColumnType::of("x_RemainingCommitmentCost"),
            ColumnType::Decimal
        );
        assert_eq!(ColumnType::of("ListUnitPrice"), ColumnType::Decimal);
        assert_eq!(ColumnType::of("PricingQuantity"), ColumnType::Double);
        assert_eq!(ColumnType::of("ChargePeriodStart"), ColumnType::Timestamp);
        assert_eq!(ColumnType::of("ContractApplied"), ColumnType::Json);
        assert_eq!(ColumnType::of("x_SubscriptionId"), ColumnType::String);
    }

    #[test]
    fn an_inexact_amount_is_refused_naming_the_option() {
        let t = FocusTable {
            columns: vec!["BilledCost"],
            rows: vec![vec![Cell::Decimal("1.0000001".into())]],
            allocated: false,
        };
        let e = typed_columns(&t)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("format") && e.contains("BilledCost"), "{e}");
    }
}
