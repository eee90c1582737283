//! The DPS commitment in FOCUS 1.3 / 1.4: the Contract Commitment dataset and the
//! `ContractApplied` object that links each Cost and Usage row to it
//! (`reference/focus-1.3-dps-commitment.md`).
//!
//! A DPS subscription is a spend commitment: a budget in the billing currency over a term that
//! daily usage cost draws down. So:
//! - `ContractId` = the subscription UUID; `ContractCommitmentId` = `<subscription>/<term start
//!   YYYY-MM-DD>` (one per term; unique within the provider; its parent is the `ContractId`);
//! - `ContractCommitmentCategory` `Spend`, `ContractCommitmentCost` the budget,
//!   `ContractCommitmentQuantity`/`Unit` null;
//! - the term is `[start, end)` in UTC (the API's inclusive end date + 1 day);
//! - `ContractApplied` on a charge row inside a term:
//!   `{"Elements":[{"ContractId","ContractCommitmentId","ContractCommitmentAppliedCost",
//!   "ContractCommitmentAppliedQuantity":null,"ContractCommitmentAppliedUnit":null}]}` — all five
//!   keys (required by 1.3 with the errata; valid under the 1.4 JSON Schema). The applied cost is
//!   the part of the row's `BilledCost` the budget still covers: [`CommitmentLedger`] walks the
//!   days of the term in date order from the budget left at the first exported day; a day that
//!   crosses exhaustion has its rows applied in input order until the budget is used up (the row
//!   that crosses gets the covered part only); rows after exhaustion, outside every term, or of
//!   another subscription get `ContractApplied` null. Money is exact micro-units throughout, so
//!   the `ContractCommitmentAppliedCost` of the rows of a term adds up exactly to the term's
//!   `x_AppliedCost`.
//!
//! Custom columns of the Contract Commitment rows (documented in the README):
//! - `x_BillingAccountId`: the account of the subscription;
//! - `x_AppliedCost`: Σ `ContractCommitmentAppliedCost` of the Cost and Usage rows of the same
//!   export (window) with this `ContractCommitmentId`;
//! - `x_ConsumedCost`: consumed from the term's start to the end of the window (what was
//!   consumed before the window, from the subscription's daily cost, plus `x_AppliedCost`);
//! - `x_RemainingCommitmentCost`: `ContractCommitmentCost − x_ConsumedCost`, at least 0;
//! - `x_DaysRemaining`: whole days from "now" to the term's end, at least 0.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::json;

use super::focus::{Cell, FocusTable};
use super::focus_columns::FocusVersion;
use crate::allocate::money::{micros_from_f64, micros_to_string};
use crate::error::{Error, Result};
use crate::hash::HashMap;
use crate::time::{civil_from_days, format_date, ms_per_day, parse_date};

/// The custom columns of the Contract Commitment dataset, after the FOCUS ones.
pub const COMMITMENT_CUSTOM_COLUMNS: [&str; 5] = [
    "x_BillingAccountId",
    "x_AppliedCost",
    "x_ConsumedCost",
    "x_RemainingCommitmentCost",
    "x_DaysRemaining",
];

/// The provider, invoice issuer and host of every DPS charge.
pub const PROVIDER: &str = "Dynatrace";

/// One commitment term of a subscription, as callers give it (JS `commitments`, or built from
/// the subscription details by the client).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(
    feature = "tsify",
    derive(tsify::Tsify),
    tsify(rename = "CommitmentTerm")
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommitmentTermInput {
    /// The subscription UUID (`ContractId`); rows match it by their `subscription` tag.
    pub subscription_uuid: String,
    /// The account (`x_BillingAccountId`).
    pub account_uuid: String,
    /// The subscription's name (in `ContractCommitmentDescription`).
    #[serde(default)]
    pub subscription_name: Option<String>,
    /// First day of the term (`YYYY-MM-DD`, inclusive).
    pub start: String,
    /// Last day of the term (`YYYY-MM-DD`, inclusive, as the Account Management API writes it).
    pub end: String,
    /// First and last day (inclusive) of the whole contract; default: the term.
    #[serde(default)]
    pub contract_start: Option<String>,
    #[serde(default)]
    pub contract_end: Option<String>,
    /// The committed budget (absent: no limit is known, every in-term cost is applied).
    #[serde(default)]
    pub budget: Option<f64>,
    /// ISO 4217.
    pub currency: String,
    /// Cost consumed in the term before the first day of the export's rows.
    #[serde(default)]
    pub consumed_before: Option<f64>,
    /// What the API reports as used so far (`budget.used`): lifecycle `Exhausted` when ≥ budget.
    #[serde(default)]
    pub used: Option<f64>,
}

/// A checked term: days and micro-units.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitmentTerm {
    pub contract_id: String,
    pub commitment_id: String,
    pub account_uuid: String,
    pub subscription_name: Option<String>,
    /// `[start_day, end_day)`.
    pub start_day: i64,
    pub end_day: i64,
    pub contract_start_day: i64,
    pub contract_end_day: i64,
    pub budget_micros: Option<i128>,
    pub currency: String,
    pub consumed_before_micros: i128,
    pub used_micros: Option<i128>,
}

fn money(field: &str, v: Option<f64>) -> Result<Option<i128>> {
    v.map(|x| {
        micros_from_f64(x)
            .filter(|m| *m >= 0)
            .ok_or_else(|| Error::invalid(field, "must be a finite amount ≥ 0"))
    })
    .transpose()
}

impl CommitmentTermInput {
    /// Checks the term; `field` names it in errors (`commitments[0]`).
    pub fn check(&self, field: &str) -> Result<CommitmentTerm> {
        let day = |name: &str, v: &str| {
            parse_date(v).ok_or_else(|| {
                Error::invalid(format!("{field}.{name}"), "is not a YYYY-MM-DD date")
            })
        };
        let start_day = day("start", &self.start)?;
        let end_day = day("end", &self.end)? + 1;
        if end_day <= start_day {
            return Err(Error::invalid(
                format!("{field}.end"),
                "must not be before start",
            ));
        }
        let contract_start_day = match &self.contract_start {
            Some(s) => day("contractStart", s)?,
            None => start_day,
        };
        let contract_end_day = match &self.contract_end {
            Some(s) => day("contractEnd", s)? + 1,
            None => end_day,
        };
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(Error::invalid(
                format!("{field}.currency"),
                "must be an ISO 4217 code such as USD",
            ));
        }
        if self.subscription_uuid.is_empty() {
            return Err(Error::invalid(
                format!("{field}.subscriptionUuid"),
                "is required",
            ));
        }
        Ok(CommitmentTerm {
            contract_id: self.subscription_uuid.clone(),
            commitment_id: format!("{}/{}", self.subscription_uuid, format_date(start_day)),
            account_uuid: self.account_uuid.clone(),
            subscription_name: self.subscription_name.clone(),
            start_day,
            end_day,
            contract_start_day: contract_start_day.min(start_day),
            contract_end_day: contract_end_day.max(end_day),
            budget_micros: money(&format!("{field}.budget"), self.budget)?,
            currency: self.currency.clone(),
            consumed_before_micros: money(
                &format!("{field}.consumedBefore"),
                self.consumed_before,
            )?
            .unwrap_or(0),
            used_micros: money(&format!("{field}.used"), self.used)?,
        })
    }
}

/// Checks every term (`commitments[i]`).
pub fn check_terms(terms: &[CommitmentTermInput], field: &str) -> Result<Vec<CommitmentTerm>> {
    terms
        .iter()
        .enumerate()
        .map(|(i, t)| t.check(&format!("{field}[{i}]")))
        .collect()
}

/// Draws the charge rows down from each term's budget (see the module documentation): build it
/// with every row's (subscription, day, cost) first, then [`CommitmentLedger::apply`] row by row.
#[derive(Debug, Clone, Default)]
pub struct CommitmentLedger {
    terms: Vec<CommitmentTerm>,
    /// subscription → term indexes.
    by_subscription: HashMap<String, Vec<usize>>,
    /// (term, day) → budget left for that day's rows (absent: no limit).
    left: HashMap<(usize, i64), i128>,
    /// (term, day) → total cost of the day's rows (first pass).
    day_totals: BTreeMap<(usize, i64), i128>,
    /// Σ applied per term.
    applied: Vec<i128>,
    ready: bool,
}

/// What a row draws from a term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub term: usize,
    pub micros: i128,
}

impl CommitmentLedger {
    pub fn new(terms: Vec<CommitmentTerm>) -> CommitmentLedger {
        let mut by_subscription: HashMap<String, Vec<usize>> = HashMap::default();
        for (i, t) in terms.iter().enumerate() {
            by_subscription
                .entry(t.contract_id.clone())
                .or_default()
                .push(i);
        }
        CommitmentLedger {
            applied: vec![0; terms.len()],
            terms,
            by_subscription,
            ..CommitmentLedger::default()
        }
    }

    pub fn terms(&self) -> &[CommitmentTerm] {
        &self.terms
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    fn term_of(&self, subscription: Option<&str>, day: i64) -> Option<usize> {
        self.by_subscription
            .get(subscription?)?
            .iter()
            .copied()
            .find(|&i| self.terms[i].start_day <= day && day < self.terms[i].end_day)
    }

    /// First pass: a row of `subscription` on `day` costing `micros`.
    pub fn add(&mut self, subscription: Option<&str>, day: i64, micros: i128) {
        if let Some(t) = self.term_of(subscription, day) {
            *self.day_totals.entry((t, day)).or_default() += micros;
        }
    }

    /// After the first pass: the budget left at the start of each day, in date order.
    fn prepare(&mut self) {
        self.ready = true;
        let mut left: Vec<Option<i128>> = self
            .terms
            .iter()
            .map(|t| t.budget_micros.map(|b| b - t.consumed_before_micros))
            .collect();
        for (&(t, day), &total) in &self.day_totals {
            if let Some(l) = left[t] {
                self.left.insert((t, day), l);
                left[t] = Some(l - total);
            }
        }
    }

    /// Second pass, in row order: what the row draws from its term (`None`: no term applies or
    /// the budget is used up).
    pub fn apply(&mut self, subscription: Option<&str>, day: i64, micros: i128) -> Option<Applied> {
        if !self.ready {
            self.prepare();
        }
        let t = self.term_of(subscription, day)?;
        let applied = if self.terms[t].budget_micros.is_none() {
            micros
        } else {
            let left = self.left.entry((t, day)).or_insert(0);
            let a = if micros <= 0 {
                micros
            } else {
                micros.min((*left).max(0))
            };
            *left -= a;
            a
        };
        if applied == 0 && micros != 0 {
            return None;
        }
        self.applied[t] += applied;
        Some(Applied {
            term: t,
            micros: applied,
        })
    }

    /// Σ applied per term so far.
    pub fn applied(&self) -> &[i128] {
        &self.applied
    }

    /// The `ContractApplied` cell of a row.
    pub fn contract_applied(&self, a: Option<Applied>) -> Cell {
        let Some(a) = a else { return Cell::Null };
        let t = &self.terms[a.term];
        let cost = decimal_text(a.micros);
        // The cost is written as the exact decimal, not through f64.
        Cell::Json(format!(
            "{{\"Elements\":[{{\"ContractId\":{},\"ContractCommitmentId\":{},\"ContractCommitmentAppliedCost\":{cost},\"ContractCommitmentAppliedQuantity\":null,\"ContractCommitmentAppliedUnit\":null}}]}}",
            json!(t.contract_id),
            json!(t.commitment_id),
        ))
    }
}

/// The applied cost per term of rows given as (subscription, day, micro-units) — what the
/// `ContractApplied` cells of the same rows add up to (two passes over `rows`).
pub fn applied_per_term<'a, I>(terms: &[CommitmentTerm], rows: I) -> Vec<i128>
where
    I: Iterator<Item = (Option<&'a str>, i64, i128)> + Clone,
{
    let mut ledger = CommitmentLedger::new(terms.to_vec());
    for (s, d, m) in rows.clone() {
        ledger.add(s, d, m);
    }
    for (s, d, m) in rows {
        ledger.apply(s, d, m);
    }
    ledger.applied
}

/// A decimal with a point (`7.0`, `12.5`).
fn decimal_text(micros: i128) -> String {
    let s = micros_to_string(micros);
    if s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
}

fn instant(day: i64) -> String {
    format!("{}T00:00:00Z", format_date(day))
}

/// "1 Year", "3 Years", "6 Months", "90 Days": the term's length in the largest whole unit.
pub fn duration_type(start_day: i64, end_day: i64) -> String {
    let (y0, m0, d0) = civil_from_days(start_day);
    let (y1, m1, d1) = civil_from_days(end_day);
    let months = (y1 - y0) * 12 + i64::from(m1) - i64::from(m0);
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    if d0 == d1 && months > 0 {
        if months % 12 == 0 {
            return plural(months / 12, "Year");
        }
        return plural(months, "Month");
    }
    plural(end_day - start_day, "Day")
}

/// The term's `ContractCommitmentType` and the word the description uses for it: "annual" only
/// for a term of one year (365 or 366 days), since a DPS period can be longer or cut short.
pub fn term_labels(start_day: i64, end_day: i64) -> (&'static str, String) {
    let days = end_day - start_day;
    if days == 365 || days == 366 {
        ("DPS annual commitment", "annual".to_string())
    } else {
        ("DPS spend commitment", format!("{days}-day"))
    }
}

/// The 1.4 lifecycle status at `today` from the period and the budget used.
pub fn lifecycle_status(t: &CommitmentTerm, consumed: i128, today: i64) -> &'static str {
    if today < t.start_day {
        "Pending"
    } else if today >= t.end_day {
        "Expired"
    } else if t
        .budget_micros
        .is_some_and(|b| consumed.max(t.used_micros.unwrap_or(0)) >= b)
    {
        "Exhausted"
    } else {
        "Active"
    }
}

/// The Contract Commitment rows of `terms` (FOCUS `version` 1.3 or 1.4, then the
/// [`COMMITMENT_CUSTOM_COLUMNS`]), with `applied[i]` the applied cost of term `i` over the
/// export's Cost and Usage rows and `now_ms` what "now" is.
pub fn commitment_table(
    terms: &[CommitmentTerm],
    applied: &[i128],
    version: FocusVersion,
    now_ms: i64,
) -> Result<FocusTable> {
    if version == FocusVersion::V1_2 {
        return Err(Error::invalid(
            "dataset",
            "contract-commitment needs FOCUS 1.3 or 1.4 (focusVersion)",
        ));
    }
    let today = now_ms.div_euclid(ms_per_day());
    let now_text = {
        let secs = now_ms.div_euclid(1000);
        let day = secs.div_euclid(86_400);
        let s = secs.rem_euclid(86_400);
        format!(
            "{}T{:02}:{:02}:{:02}Z",
            format_date(day),
            s / 3600,
            s / 60 % 60,
            s % 60
        )
    };
    let mut columns: Vec<&'static str> = version.commitment_columns().to_vec();
    columns.extend(COMMITMENT_CUSTOM_COLUMNS);
    let mut rows = Vec::with_capacity(terms.len());
    for (i, t) in terms.iter().enumerate() {
        let applied = applied.get(i).copied().unwrap_or(0);
        let consumed = t.consumed_before_micros + applied;
        let text = |s: &str| Cell::Text(s.to_string());
        let dec = |m: i128| Cell::Decimal(decimal_text(m));
        let budget = t.budget_micros.map_or(Cell::Null, dec);
        let (kind, term) = term_labels(t.start_day, t.end_day);
        let description = format!(
            "Dynatrace Platform Subscription{}: {term} spend commitment, {} to {}",
            t.subscription_name
                .as_deref()
                .map(|n| format!(" {n}"))
                .unwrap_or_default(),
            format_date(t.start_day),
            format_date(t.end_day - 1)
        );
        let mut cells = Vec::with_capacity(columns.len());
        for col in version.commitment_columns() {
            cells.push(match *col {
                "BillingCurrency" | "PricingCurrency" => text(&t.currency),
                "ContractCommitmentApplicability" => {
                    Cell::Json("{\"IsGlobalScope\":true}".to_string())
                }
                "ContractCommitmentBenefitCategory" => text("Discount"),
                "ContractCommitmentCategory" => text("Spend"),
                "ContractCommitmentCost" | "PricingCurrencyContractCommitmentCost" => {
                    budget.clone()
                }
                "ContractCommitmentCreated" => Cell::Text(instant(t.contract_start_day)),
                "ContractCommitmentDescription" => Cell::Text(description.clone()),
                "ContractCommitmentDurationType" => {
                    Cell::Text(duration_type(t.start_day, t.end_day))
                }
                "ContractCommitmentFulfillmentInterval" => text("Full Period"),
                "ContractCommitmentId" => text(&t.commitment_id),
                "ContractCommitmentLastUpdated" => Cell::Text(now_text.clone()),
                "ContractCommitmentLifecycleStatus" => text(lifecycle_status(t, consumed, today)),
                "ContractCommitmentModel" => text("Discontinuous"),
                "ContractCommitmentOfferCategory" => text("Negotiated"),
                "ContractCommitmentPaymentInterval" => text("Annual"),
                "ContractCommitmentPaymentModel" => text("All Upfront"),
                "ContractCommitmentPaymentUpfrontPercentage" => dec(1_000_000),
                "ContractCommitmentPeriodEnd" => Cell::Text(instant(t.end_day)),
                "ContractCommitmentPeriodStart" => Cell::Text(instant(t.start_day)),
                "ContractCommitmentType" => text(kind),
                "ContractId" => text(&t.contract_id),
                "ContractPeriodEnd" => Cell::Text(instant(t.contract_end_day)),
                "ContractPeriodStart" => Cell::Text(instant(t.contract_start_day)),
                "InvoiceIssuerName" | "ServiceProviderName" => text(PROVIDER),
                // ContractCommitmentQuantity, ContractCommitmentUnit (a Spend commitment),
                // ContractCommitmentDiscountPercentage (no single discount is known).
                _ => Cell::Null,
            });
        }
        cells.push(text(&t.account_uuid));
        cells.push(dec(applied));
        cells.push(dec(consumed));
        cells.push(
            t.budget_micros
                .map_or(Cell::Null, |b| dec((b - consumed).max(0))),
        );
        cells.push(Cell::Decimal(format!(
            "{}.0",
            (t.end_day - today.max(t.start_day)).max(0)
        )));
        rows.push(cells);
    }
    Ok(FocusTable {
        columns,
        rows,
        allocated: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(budget: Option<f64>, before: f64) -> CommitmentTerm {
        CommitmentTermInput {
            subscription_uuid: "s".into(),
            account_uuid: "a".into(),
            subscription_name: None,
            start: "2026-01-01".into(),
            end: "2026-12-31".into(),
            contract_start: None,
            contract_end: None,
            budget,
            currency: "USD".into(),
            consumed_before: Some(before),
            used: None,
        }
        .check("t")
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_day_crossing_exhaustion_applies_the_covered_part_only() {
        let mut l = CommitmentLedger::new(vec![term(Some(100.0), 70.0)]);
        let d = parse_date("2026-03-01").unwrap_or(0);
        // Rows given out of date order: day d+1 first.
        let rows = [
            (d + 1, 10_000_000),
            (d, 20_000_000),
            (d, 15_000_000),
            (d + 2, 5),
        ];
        for (day, m) in rows {
            l.add(Some("s"), day, m);
        }
        let got: Vec<_> = rows
            .iter()
            .map(|(day, m)| l.apply(Some("s"), *day, *m).map(|a| a.micros))
            .collect();
        assert_eq!(got, vec![None, Some(20_000_000), Some(10_000_000), None]);
        assert_eq!(l.applied(), &[30_000_000]);
        assert_eq!(l.apply(Some("other"), d, 1), None);
        assert_eq!(
            l.apply(Some("s"), parse_date("2027-01-01").unwrap_or(0), 1),
            None
        );
    }

    #[test]
    fn the_term_and_its_labels() {
        let t = term(Some(1000.0), 0.0);
        assert_eq!(t.commitment_id, "s/2026-01-01");
        assert_eq!(duration_type(t.start_day, t.end_day), "1 Year");
        assert_eq!(duration_type(t.start_day, t.start_day + 45), "45 Days");
        assert_eq!(duration_type(t.start_day, t.start_day + 90), "3 Months");
        assert_eq!(
            term_labels(t.start_day, t.end_day),
            ("DPS annual commitment", "annual".to_string())
        );
        assert_eq!(
            term_labels(t.start_day, t.start_day + 730),
            ("DPS spend commitment", "730-day".to_string())
        );
        let day = |s| parse_date(s).unwrap_or(0);
        assert_eq!(lifecycle_status(&t, 0, day("2025-12-31")), "Pending");
        assert_eq!(lifecycle_status(&t, 10, day("2026-06-01")), "Active");
        assert_eq!(
            lifecycle_status(&t, 1_000_000_000, day("2026-06-01")),
            "Exhausted"
        );
        assert_eq!(lifecycle_status(&t, 0, day("2027-01-01")), "Expired");
    }
}
