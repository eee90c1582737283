//! Chart data and the cost report (`ReportData`): series ready to plot, computed from the
//! fetched data without I/O.
//!
//! - **Burn-up** per account: the period's cumulative cost, our forecast to the end of the
//!   period with its 90 % band, the straight line, and the budget.
//! - **Daily cost stacked** by capability, environment or account over a window of days: the
//!   largest [`MAX_SERIES`] − 1 series by total, the rest summed as "Other".
//! - **Allocation by destination**: what each destination received from the allocation rules.
//!
//! Sums are exact ([`Amount`]) and converted to `f64` once, for plotting. Charts mix only one
//! currency: accounts in another currency than the first are left out of the stacked charts
//! (and named in `warnings`).

use std::collections::BTreeMap;

use crate::hash::HashMap;

use serde::Serialize;

use crate::allocate::engine::{AllocationResult, LineStatus};
use crate::error::Result;
use crate::model::cost::CostRecord;
use crate::model::forecast::Forecast as DynatraceForecast;
use crate::model::subscription::SubscriptionDetails;
use crate::model::usage::{EnvCostRecord, EnvironmentRecords};
use crate::money::Amount;
use crate::process::forecast::{crossing, forecast};
use crate::process::reconcile::{reconcile, Reconciliation};
use crate::time::{format_date, format_iso_ms, ms_per_day, parse_date, parse_timestamp_ms};

/// Series per stacked chart, "Other" included.
pub const MAX_SERIES: usize = 12;
/// Destinations in the allocation chart, "Other" included.
pub const MAX_DESTINATIONS: usize = 20;

/// Everything fetched for one account.
#[derive(Debug, Clone)]
pub struct AccountData {
    pub account_uuid: String,
    pub account_name: String,
    pub subscription: SubscriptionDetails,
    /// Daily cost of the subscription (any order).
    pub daily: Vec<CostRecord>,
    /// Per-environment cost in the window.
    pub environments: Vec<EnvironmentRecords<EnvCostRecord>>,
    /// Environment id → name.
    pub environment_names: BTreeMap<String, String>,
    /// What `/subscriptions/forecast` answered, if it did.
    pub dynatrace_forecast: Option<DynatraceForecast>,
}

/// What [`build_report`] needs.
#[derive(Debug, Clone)]
pub struct ReportInput {
    pub accounts: Vec<AccountData>,
    pub allocation: Option<AllocationResult>,
    pub now_ms: i64,
    /// Days in the stacked charts (ending on the last day with cost data).
    pub window_days: u32,
    pub warnings: Vec<String>,
}

/// What `reportData(config)` resolves to, and what the report draws.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct ReportData {
    #[cfg_attr(feature = "tsify", tsify(type = "1"))]
    pub schema_version: u32,
    /// "2026-11-23T10:00:00Z"
    pub generated_at: String,
    /// "2026-11-22": the last day with cost data; null when there is none yet.
    pub as_of: Option<String>,
    /// ISO 4217, e.g. "USD".
    pub currency: String,
    pub warnings: Vec<String>,
    pub accounts: Vec<AccountReport>,
    pub charts: Charts,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct Charts {
    pub daily_by_capability: Stacked,
    pub daily_by_environment: Stacked,
    pub daily_by_account: Stacked,
    /// null when no allocation rules were given.
    pub allocation: Option<AllocationChart>,
}

/// Money totals at the period end: the median and the band around it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct Band {
    pub median: f64,
    pub lower: f64,
    pub upper: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(
    feature = "tsify",
    derive(tsify::Tsify),
    tsify(rename = "AccountFigures")
)]
#[serde(rename_all = "camelCase")]
pub struct Figures {
    /// Commitment of the period; null when the subscription has none.
    pub budget: Option<f64>,
    /// Spend in the period: the subscription's budget.used when it has one (authoritative), else
    /// the daily records' sum up to `asOf`.
    pub cost_to_date: f64,
    pub budget_used_percent: Option<f64>,
    pub days_elapsed: i64,
    pub days_left: i64,
    /// Average cost per day over the last 7 days.
    pub last7_day_average: f64,
    /// Our forecast of the total at the period end.
    pub forecast_period_end: Band,
    /// The naive burn-rate projection, for comparison.
    pub straight_line_period_end: f64,
    /// Dynatrace's /forecast, when it answered.
    pub dynatrace_forecast: Option<Band>,
    /// "YYYY-MM-DD" when the median cumulative crosses the budget; null if not before periodEnd.
    pub exhaustion_date: Option<String>,
    /// From the upper band.
    pub exhaustion_date_earliest: Option<String>,
    /// From the lower band.
    pub exhaustion_date_latest: Option<String>,
    /// `budget.used` and the daily records' sum differ beyond the tolerance (absent when they
    /// agree, or without `budget.used`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reconciliation: Option<Reconciliation>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct Cumulative {
    pub date: String,
    pub cumulative: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct BandPoint {
    pub date: String,
    pub median: f64,
    pub lower: f64,
    pub upper: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct BurnUp {
    pub budget: Option<f64>,
    /// First day with a record in the period (periodStart when complete)..asOf; ends on costToDate.
    pub actual: Vec<Cumulative>,
    /// asOf+1..periodEnd-1, cumulative.
    pub forecast: Vec<BandPoint>,
    /// asOf+1..periodEnd-1.
    pub straight_line: Vec<Cumulative>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct AccountReport {
    pub account_uuid: String,
    pub account_name: String,
    pub subscription_uuid: String,
    pub subscription_name: String,
    pub currency: String,
    /// "YYYY-MM-DD"
    pub period_start: String,
    /// "YYYY-MM-DD", exclusive.
    pub period_end: String,
    #[cfg_attr(feature = "tsify", tsify(type = "AccountFigures"))]
    pub figures: Figures,
    pub burn_up: BurnUp,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct Series {
    pub key: String,
    pub label: String,
    pub values: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct Stacked {
    pub dates: Vec<String>,
    pub series: Vec<Series>,
    pub total: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct AllocationItem {
    pub destination: String,
    pub cost: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct AllocationChart {
    pub by: String,
    pub items: Vec<AllocationItem>,
    pub unallocated: f64,
    pub total: f64,
}

fn day_of(s: &str) -> Option<i64> {
    parse_timestamp_ms(s).map(|ms| ms.div_euclid(ms_per_day()))
}

/// A period bound as a day number: dates are inclusive (`endTime: 2025-09-25` is the last day),
/// a timestamp is exclusive (`…T00:00:00Z` of the day after), `exclusive_end` picks the side.
fn bound(s: &str, exclusive_end: bool) -> Option<i64> {
    if let Some(d) = parse_date(s) {
        return Some(if exclusive_end { d + 1 } else { d });
    }
    let ms = parse_timestamp_ms(s)?;
    let d = ms.div_euclid(ms_per_day());
    Some(if exclusive_end && ms.rem_euclid(ms_per_day()) != 0 {
        d + 1
    } else {
        d
    })
}

/// Exact sums of amounts per key.
#[derive(Default)]
struct Sums<K: Ord>(BTreeMap<K, Amount>);

impl<K: Ord> Sums<K> {
    fn add(&mut self, k: K, v: f64, field: &str) -> Result<()> {
        let a = Amount::from_f64(v).ok_or_else(|| {
            crate::Error::invalid(
                field,
                format!("must be a finite number below 1e24, got {v}"),
            )
        })?;
        let slot = self.0.entry(k).or_insert(Amount::ZERO);
        *slot = slot
            .checked_add(a)
            .ok_or_else(|| crate::Error::invalid(field, "the sum overflows"))?;
        Ok(())
    }
}

fn currency_of(a: &AccountData) -> String {
    a.subscription
        .budget
        .as_ref()
        .and_then(|b| b.currency_code.clone())
        .or_else(|| a.daily.iter().find_map(|r| r.currency_code.clone()))
        .unwrap_or_else(|| "USD".into())
}

fn account_report(a: &AccountData, today: i64) -> Result<(AccountReport, BTreeMap<i64, Amount>)> {
    let mut by_day: Sums<i64> = Sums::default();
    for (i, r) in a.daily.iter().enumerate() {
        let field = format!("accounts.{}.daily[{i}]", a.account_uuid);
        let day = day_of(&r.start_time).ok_or_else(|| {
            crate::Error::invalid(format!("{field}.startTime"), "is not an ISO-8601 timestamp")
        })?;
        if day < today {
            by_day.add(day, r.value, &format!("{field}.value"))?;
        }
    }
    let by_day = by_day.0;
    let first = by_day.keys().next().copied().unwrap_or(today - 1);
    let as_of = by_day.keys().next_back().copied().unwrap_or(today - 1);
    let period = a.subscription.current_period.as_ref();
    let start = period
        .and_then(|p| p.start_time.as_deref())
        .or(a.subscription.start_time.as_deref())
        .and_then(|s| bound(s, false))
        .unwrap_or(first);
    let end = period
        .and_then(|p| p.end_time.as_deref())
        .or(a.subscription.end_time.as_deref())
        .and_then(|s| bound(s, true))
        .unwrap_or(as_of + 1)
        .max(as_of + 1);

    // The records of the period, day by day from the first one (days before it are not known
    // to have cost nothing: they are not drawn; days without a record after it cost 0).
    let mut records_sum = Amount::ZERO;
    let first_covered = by_day.range(start..=as_of).next().map(|(d, _)| *d);
    let mut period_values = Vec::new();
    let mut running = Vec::new();
    for day in first_covered.unwrap_or(as_of + 1)..=as_of {
        let v = by_day.get(&day).copied().unwrap_or(Amount::ZERO);
        records_sum = records_sum
            .checked_add(v)
            .ok_or_else(|| crate::Error::invalid("daily", "the sum overflows"))?;
        period_values.push(v.to_f64());
        running.push((day, records_sum));
    }
    // `budget.used` is authoritative (see `process::reconcile`): the cost to date, the used %,
    // the status and the forecasts' starting point. What the records do not show is put before
    // their first day, so the burn-up ends on `budget.used`.
    let used = a
        .subscription
        .budget
        .as_ref()
        .and_then(|b| b.used)
        .and_then(Amount::from_f64);
    let reconciliation = used.and_then(|u| reconcile(u, records_sum, first_covered));
    let spent = used.unwrap_or(records_sum);
    let offset = spent
        .checked_sub(records_sum)
        .ok_or_else(|| crate::Error::invalid("budget.used", "the difference overflows"))?;
    let mut actual = Vec::with_capacity(running.len());
    for (day, sum) in running {
        actual.push(Cumulative {
            date: format_date(day),
            cumulative: sum
                .checked_add(offset)
                .ok_or_else(|| crate::Error::invalid("budget.used", "the sum overflows"))?
                .to_f64(),
        });
    }
    let cost_to_date = spent.to_f64();
    let days_elapsed = (as_of - start + 1).max(0);
    let days_left = (end - as_of - 1).max(0);
    let horizon = usize::try_from(days_left).unwrap_or(0);

    // The model sees the whole history (previous periods included) up to as_of.
    let history: Vec<f64> = (first..=as_of)
        .map(|d| by_day.get(&d).map_or(0.0, |v| v.to_f64()))
        .collect();
    let (fc, straight_rate) = if history.is_empty() {
        (None, 0.0)
    } else {
        let rate = if days_elapsed > 0 {
            cost_to_date / days_elapsed as f64
        } else {
            0.0
        };
        (Some(forecast(&history, first, horizon)?), rate)
    };
    let budget = a.subscription.budget.as_ref().and_then(|b| b.total);
    let date_after = |i: usize| format_date(as_of + 1 + i as i64);
    let mut forecast_points = Vec::with_capacity(horizon);
    let mut straight_points = Vec::with_capacity(horizon);
    let (mut median, mut lower, mut upper) = (cost_to_date, cost_to_date, cost_to_date);
    if let Some(f) = &fc {
        for i in 0..horizon {
            forecast_points.push(BandPoint {
                date: date_after(i),
                median: cost_to_date + f.cumulative[i],
                lower: cost_to_date + f.lower[i],
                upper: cost_to_date + f.upper[i],
            });
            straight_points.push(Cumulative {
                date: date_after(i),
                cumulative: cost_to_date + straight_rate * (i + 1) as f64,
            });
        }
        if let (Some(m), Some(l), Some(u)) = (f.cumulative.last(), f.lower.last(), f.upper.last()) {
            (median, lower, upper) = (cost_to_date + m, cost_to_date + l, cost_to_date + u);
        }
    }
    // Exhaustion: already crossed (in the actuals), or where each forecast line crosses.
    let mut exhaustion = [None, None, None];
    if let Some(b) = budget.filter(|b| *b > 0.0) {
        if let Some(p) = actual.iter().find(|p| p.cumulative >= b) {
            exhaustion = [
                Some(p.date.clone()),
                Some(p.date.clone()),
                Some(p.date.clone()),
            ];
        } else if let Some(f) = &fc {
            let at = |c: &[f64]| crossing(cost_to_date, c, b).map(date_after);
            exhaustion = [at(&f.cumulative), at(&f.upper), at(&f.lower)];
        }
    }
    let [exhaustion_date, exhaustion_date_earliest, exhaustion_date_latest] = exhaustion;
    let last7: Vec<f64> = period_values.iter().rev().take(7).copied().collect();
    let last7_day_average = if last7.is_empty() {
        0.0
    } else {
        last7.iter().sum::<f64>() / last7.len() as f64
    };
    let dynatrace_forecast = a.dynatrace_forecast.as_ref().and_then(|f| {
        Some(Band {
            median: f.forecast_median?,
            lower: f.forecast_lower.or(f.forecast_median)?,
            upper: f.forecast_upper.or(f.forecast_median)?,
        })
    });
    let budget_used_percent = budget
        .and_then(Amount::from_f64)
        .and_then(|b| spent.percent_of(b));
    let report = AccountReport {
        account_uuid: a.account_uuid.clone(),
        account_name: a.account_name.clone(),
        subscription_uuid: a.subscription.uuid.clone(),
        subscription_name: a
            .subscription
            .name
            .clone()
            .unwrap_or_else(|| a.subscription.uuid.clone()),
        currency: currency_of(a),
        period_start: format_date(start),
        period_end: format_date(end),
        figures: Figures {
            budget,
            cost_to_date,
            budget_used_percent,
            days_elapsed,
            days_left,
            last7_day_average,
            forecast_period_end: Band {
                median,
                lower,
                upper,
            },
            straight_line_period_end: cost_to_date + straight_rate * horizon as f64,
            dynatrace_forecast,
            exhaustion_date,
            exhaustion_date_earliest,
            exhaustion_date_latest,
            reconciliation,
        },
        burn_up: BurnUp {
            budget,
            actual,
            forecast: forecast_points,
            straight_line: straight_points,
        },
    };
    Ok((report, by_day))
}

/// Stacked series over `days` from exact per-(key, day) sums: the largest `MAX_SERIES - 1` keys
/// by total, the rest as "Other".
fn stacked(
    days: &[i64],
    sums: &BTreeMap<(String, i64), Amount>,
    labels: &HashMap<String, String>,
) -> Stacked {
    let index: HashMap<i64, usize> = days.iter().enumerate().map(|(i, d)| (*d, i)).collect();
    let mut per_key: BTreeMap<&str, Vec<Amount>> = BTreeMap::new();
    for ((key, day), v) in sums {
        if let Some(&i) = index.get(day) {
            let row = per_key
                .entry(key.as_str())
                .or_insert_with(|| vec![Amount::ZERO; days.len()]);
            row[i] = row[i].checked_add(*v).unwrap_or(row[i]);
        }
    }
    let total_of = |row: &[Amount]| {
        row.iter()
            .fold(Amount::ZERO, |s, v| s.checked_add(*v).unwrap_or(s))
    };
    let mut ranked: Vec<(&str, Vec<Amount>, Amount)> = per_key
        .into_iter()
        .map(|(k, row)| {
            let t = total_of(&row);
            (k, row, t)
        })
        .collect();
    ranked.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(b.0)));
    let mut series = Vec::new();
    let mut other: Option<Vec<Amount>> = None;
    for (n, (key, row, _)) in ranked.into_iter().enumerate() {
        if n < MAX_SERIES - 1 {
            series.push(Series {
                key: key.to_string(),
                label: labels.get(key).cloned().unwrap_or_else(|| key.to_string()),
                values: row.iter().map(|v| v.to_f64()).collect(),
            });
        } else {
            let o = other.get_or_insert_with(|| vec![Amount::ZERO; days.len()]);
            for (slot, v) in o.iter_mut().zip(&row) {
                *slot = slot.checked_add(*v).unwrap_or(*slot);
            }
        }
    }
    if let Some(o) = other {
        series.push(Series {
            key: "other".into(),
            label: "Other".into(),
            values: o.iter().map(|v| v.to_f64()).collect(),
        });
    }
    let mut total = vec![Amount::ZERO; days.len()];
    for ((_, day), v) in sums {
        if let Some(&i) = index.get(day) {
            total[i] = total[i].checked_add(*v).unwrap_or(total[i]);
        }
    }
    Stacked {
        dates: days.iter().map(|d| format_date(*d)).collect(),
        series,
        total: total.iter().map(|v| v.to_f64()).collect(),
    }
}

/// Allocation by destination: the allocated cost per destination (its tags `k=v, …`), the
/// largest `MAX_DESTINATIONS - 1` and "Other", plus what stayed unallocated. Only `currency`.
pub fn allocation_chart(result: &AllocationResult, currency: &str) -> AllocationChart {
    let mut by_dest: BTreeMap<String, i128> = BTreeMap::new();
    let mut by_key: Vec<String> = Vec::new();
    let (mut unallocated, mut total) = (0i128, 0i128);
    for line in result.lines.iter().filter(|l| l.currency == currency) {
        let micros = i128::from(line.cost_micros);
        total += micros;
        if line.status == LineStatus::Allocated && !line.destination_tags.is_empty() {
            for k in line.destination_tags.keys() {
                if !by_key.contains(k) {
                    by_key.push(k.clone());
                }
            }
            let dest = line
                .destination_tags
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ");
            *by_dest.entry(dest).or_default() += micros;
        } else {
            unallocated += micros;
        }
    }
    let mut ranked: Vec<(String, i128)> = by_dest.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let to_f64 = |m: i128| m as f64 / 1e6;
    let mut items = Vec::new();
    let mut other = 0i128;
    for (n, (destination, micros)) in ranked.into_iter().enumerate() {
        if n < MAX_DESTINATIONS - 1 {
            items.push(AllocationItem {
                destination,
                cost: to_f64(micros),
            });
        } else {
            other += micros;
        }
    }
    if other != 0 {
        items.push(AllocationItem {
            destination: "Other".into(),
            cost: to_f64(other),
        });
    }
    AllocationChart {
        by: by_key.join(", "),
        items,
        unallocated: to_f64(unallocated),
        total: to_f64(total),
    }
}

/// The whole report: per-account figures and burn-up, stacked daily charts, allocation.
pub fn build_report(input: &ReportInput) -> Result<ReportData> {
    let today = input.now_ms.div_euclid(ms_per_day());
    let mut warnings = input.warnings.clone();
    let currency = input
        .accounts
        .first()
        .map(currency_of)
        .unwrap_or_else(|| "USD".into());
    let mut accounts = Vec::new();
    let mut by_account: BTreeMap<(String, i64), Amount> = BTreeMap::new();
    let mut by_capability: Sums<(String, i64)> = Sums::default();
    let mut by_environment: Sums<(String, i64)> = Sums::default();
    let mut capability_labels: HashMap<String, String> = HashMap::default();
    let mut environment_labels: HashMap<String, String> = HashMap::default();
    let mut account_labels: HashMap<String, String> = HashMap::default();
    for a in &input.accounts {
        let (report, daily) = account_report(a, today)?;
        if let Some(r) = &report.figures.reconciliation {
            warnings.push(format!(
                "account {} ({}): {}",
                a.account_name,
                a.account_uuid,
                r.message()
            ));
        }
        if report.currency != currency {
            warnings.push(format!(
                "account {} ({}) is billed in {}, not {currency}: it is left out of the stacked charts",
                a.account_name, a.account_uuid, report.currency
            ));
        } else {
            account_labels.insert(a.account_uuid.clone(), a.account_name.clone());
            for (day, v) in daily {
                by_account.insert((a.account_uuid.clone(), day), v);
            }
            for env in &a.environments {
                let label = match a.environment_names.get(&env.environment_id) {
                    Some(n) if n != &env.environment_id => format!("{n} ({})", env.environment_id),
                    _ => env.environment_id.clone(),
                };
                environment_labels.insert(env.environment_id.clone(), label);
                for (i, r) in env.records.iter().enumerate() {
                    let Some(day) = day_of(&r.start_time) else {
                        return Err(crate::Error::invalid(
                            format!(
                                "accounts.{}.environments.{}.records[{i}].startTime",
                                a.account_uuid, env.environment_id
                            ),
                            "is not an ISO-8601 timestamp",
                        ));
                    };
                    let field = format!(
                        "accounts.{}.environments.{}.records[{i}].value",
                        a.account_uuid, env.environment_id
                    );
                    by_capability.add((r.capability_key.clone(), day), r.value, &field)?;
                    by_environment.add((env.environment_id.clone(), day), r.value, &field)?;
                    if let Some(n) = &r.capability_name {
                        capability_labels.insert(r.capability_key.clone(), n.clone());
                    }
                }
            }
        }
        accounts.push(report);
    }
    let as_of = accounts
        .iter()
        .filter_map(|a| a.burn_up.actual.last().map(|p| p.date.clone()))
        .max();
    let last = as_of.as_deref().and_then(parse_date).unwrap_or(today - 1);
    let days: Vec<i64> = (last - i64::from(input.window_days.max(1)) + 1..=last).collect();
    let allocation = input
        .allocation
        .as_ref()
        .map(|r| allocation_chart(r, &currency));
    Ok(ReportData {
        schema_version: 1,
        generated_at: format_iso_ms(input.now_ms),
        as_of,
        currency,
        warnings,
        accounts,
        charts: Charts {
            daily_by_capability: stacked(&days, &by_capability.0, &capability_labels),
            daily_by_environment: stacked(&days, &by_environment.0, &environment_labels),
            daily_by_account: stacked(&days, &by_account, &account_labels),
            allocation,
        },
    })
}
