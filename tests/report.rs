//! The report's figures and chart series (`process::charts::build_report`) on synthetic data
//! with known answers.

use std::collections::BTreeMap;

use dps_cost::model::cost::CostRecord;
use dps_cost::model::forecast::Forecast;
use dps_cost::model::subscription::{Budget, Period, SubscriptionDetails};
use dps_cost::model::usage::{EnvCostRecord, EnvironmentRecords};
use dps_cost::process::charts::{build_report, AccountData, ReportData, ReportInput, MAX_SERIES};
use dps_cost::time::{format_date, parse_date};

fn day(s: &str) -> i64 {
    parse_date(s).unwrap_or_else(|| panic!("{s}"))
}

fn subscription(budget: f64, currency: &str) -> SubscriptionDetails {
    SubscriptionDetails {
        uuid: "5d0c8a7e-1b2f-4c3d-8e4f-a0b1c2d3e4f5".into(),
        kind: Some("REGULAR".into()),
        sub_type: None,
        name: Some("DPS".into()),
        status: Some("ACTIVE".into()),
        start_time: Some("2026-01-01".into()),
        end_time: Some("2026-12-31".into()),
        account: None,
        budget: Some(Budget {
            total: Some(budget),
            used: None,
            currency_code: Some(currency.into()),
        }),
        current_period: Some(Period {
            start_time: Some("2026-01-01".into()),
            end_time: Some("2026-12-31".into()),
            days_remaining: None,
        }),
        periods: None,
        capabilities: None,
    }
}

/// Daily cost `f(i)` for day i from 2026-01-01 to 2026-06-30 (181 days), records reversed.
fn daily(f: impl Fn(usize) -> f64) -> Vec<CostRecord> {
    let start = day("2026-01-01");
    let mut v: Vec<CostRecord> = (0..181)
        .map(|i| CostRecord {
            start_time: format!("{}T00:00:00.000Z", format_date(start + i as i64)),
            end_time: None,
            value: f(i),
            currency_code: Some("USD".into()),
            last_booking_date: None,
        })
        .collect();
    v.reverse();
    v
}

/// The report of one account at NOW over a 35-day window, without allocation.
fn report_of(a: AccountData) -> ReportData {
    build_report(&ReportInput {
        accounts: vec![a],
        allocation: None,
        now_ms: NOW,
        window_days: 35,
        warnings: Vec::new(),
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

fn account(uuid: &str, budget: f64, currency: &str, f: impl Fn(usize) -> f64) -> AccountData {
    AccountData {
        account_uuid: uuid.into(),
        account_name: format!("acct {uuid}"),
        subscription: subscription(budget, currency),
        daily: daily(f),
        environments: Vec::new(),
        environment_names: BTreeMap::new(),
        dynatrace_forecast: None,
    }
}

const NOW: i64 = 1_782_864_000_000; // 2026-07-01T00:00:00Z

#[test]
fn flat_spend_figures_are_exact_and_consistent() {
    // 100.10 a day: after 181 days 18,118.10; 184 days left → 36,536.50 at the end.
    let mut a = account("a", 30_000.0, "USD", |_| 100.10);
    a.dynatrace_forecast = Some(Forecast {
        forecast_median: Some(36_000.0),
        forecast_lower: Some(35_000.0),
        forecast_upper: None,
        budget: None,
        forecast_budget_pct: None,
        forecast_budget_date: None,
        forecast_created_at: None,
    });
    let r = report_of(a);
    let acc = &r.accounts[0];
    let f = &acc.figures;
    assert_eq!(r.as_of.as_deref(), Some("2026-06-30"));
    assert_eq!(
        (acc.period_start.as_str(), acc.period_end.as_str()),
        ("2026-01-01", "2027-01-01")
    );
    assert_eq!(f.cost_to_date, 18_118.1, "exact decimal sum");
    assert_eq!((f.days_elapsed, f.days_left), (181, 184));
    assert!((f.straight_line_period_end - 36_536.5).abs() < 1e-6);
    assert!(
        (f.forecast_period_end.median - 36_536.5).abs() < 1e-6,
        "flat: ours = straight"
    );
    assert!(f.forecast_period_end.lower <= f.forecast_period_end.median);
    assert!(f.forecast_period_end.upper >= f.forecast_period_end.median);
    assert!((f.last7_day_average - 100.1).abs() < 1e-9);
    assert_eq!(f.budget_used_percent, Some(60.393666666667));
    let dt = f
        .dynatrace_forecast
        .as_ref()
        .unwrap_or_else(|| panic!("dynatrace"));
    assert_eq!(
        (dt.median, dt.lower, dt.upper),
        (36_000.0, 35_000.0, 36_000.0)
    );
    // 30,000 is crossed when 18,118.10 + 100.10·k ≥ 30,000 → k = 119 → 2026-10-27.
    assert_eq!(f.exhaustion_date.as_deref(), Some("2026-10-27"));
    let b = &acc.burn_up;
    assert_eq!(b.actual.len(), 181);
    assert_eq!(b.actual.last().map(|p| p.cumulative), Some(18_118.1));
    assert_eq!(b.forecast.len(), 184);
    assert_eq!(
        b.forecast.first().map(|p| p.date.as_str()),
        Some("2026-07-01")
    );
    assert_eq!(
        b.forecast.last().map(|p| p.date.as_str()),
        Some("2026-12-31")
    );
    assert_eq!(
        b.forecast.last().map(|p| p.median),
        Some(f.forecast_period_end.median)
    );
    assert_eq!(b.straight_line.len(), 184);
}

#[test]
fn growth_is_forecast_above_the_straight_line_and_exhausts_earlier() {
    // Growing 1 % a week with a weekend dip: the straight line lags.
    let a = account("a", 60_000.0, "USD", |i| {
        let weekend = matches!((i + 3) % 7, 5 | 6); // 2026-01-01 is a Thursday
        (100.0 + 1.0 * i as f64) * if weekend { 0.7 } else { 1.1 }
    });
    let r = report_of(a);
    let f = &r.accounts[0].figures;
    assert!(f.forecast_period_end.median > f.straight_line_period_end * 1.2);
    let ours = f
        .exhaustion_date
        .clone()
        .unwrap_or_else(|| panic!("exhausts"));
    let earliest = f.exhaustion_date_earliest.clone().unwrap_or_default();
    let latest = f
        .exhaustion_date_latest
        .clone()
        .unwrap_or_else(|| "9999".into());
    assert!(earliest <= ours && ours <= latest);
    // The median crosses the budget exactly on that date.
    let b = &r.accounts[0].burn_up;
    let i = b.forecast.iter().position(|p| p.date == ours).unwrap_or(0);
    assert!(b.forecast[i].median >= 60_000.0 && (i == 0 || b.forecast[i - 1].median < 60_000.0));
}

fn env(id: &str, records: Vec<(String, &str, f64)>) -> EnvironmentRecords<EnvCostRecord> {
    EnvironmentRecords {
        cluster_id: None,
        environment_id: id.into(),
        records: records
            .into_iter()
            .map(|(d, cap, v)| EnvCostRecord {
                start_time: format!("{d}T00:00:00Z"),
                end_time: None,
                value: v,
                currency_code: Some("USD".into()),
                capability_key: cap.into(),
                capability_name: Some(format!("{cap} name")),
                booking_date: None,
            })
            .collect(),
    }
}

#[test]
fn stacked_series_sum_to_the_total_and_fold_into_other() {
    let start = day("2026-06-01");
    let mut a = account("a", 1e9, "USD", |_| 10.0);
    // 20 capabilities over 30 days in one environment, 0.1 + cap index a day each.
    let recs: Vec<(String, String, f64)> = (0..30)
        .flat_map(|d| {
            (0..20).map(move |c| (format_date(start + d), format!("CAP{c:02}"), 0.1 + c as f64))
        })
        .collect();
    a.environments = vec![env(
        "env1",
        recs.iter()
            .map(|(d, c, v)| (d.clone(), c.as_str(), *v))
            .collect(),
    )];
    a.environment_names
        .insert("env1".into(), "Production".into());
    let b = account("b", 1e9, "EUR", |_| 5.0);
    let r = build_report(&ReportInput {
        accounts: vec![a, b],
        allocation: None,
        now_ms: NOW,
        window_days: 35,
        warnings: Vec::new(),
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.currency, "USD");
    assert!(
        r.warnings.iter().any(|w| w.contains("EUR")),
        "{:?}",
        r.warnings
    );
    let cap = &r.charts.daily_by_capability;
    assert_eq!(cap.dates.len(), 35);
    assert_eq!(cap.dates.last().map(String::as_str), Some("2026-06-30"));
    assert_eq!(cap.series.len(), MAX_SERIES);
    assert_eq!(cap.series[0].key, "CAP19", "largest first");
    assert_eq!(cap.series[0].label, "CAP19 name");
    assert_eq!(cap.series.last().map(|s| s.label.as_str()), Some("Other"));
    for (i, t) in cap.total.iter().enumerate() {
        let s: f64 = cap.series.iter().map(|s| s.values[i]).sum();
        assert!((s - t).abs() < 1e-9, "day {i}: {s} vs {t}");
    }
    // 20 caps: Σ(0.1 + c) = 2 + 190 = 192 a day in June, 0 before.
    assert_eq!(cap.total[5], 192.0);
    assert_eq!(cap.total[0], 0.0);
    let env = &r.charts.daily_by_environment;
    assert_eq!(env.series.len(), 1);
    assert_eq!(env.series[0].label, "Production (env1)");
    let acc = &r.charts.daily_by_account;
    assert_eq!(acc.series.len(), 1, "the EUR account is left out");
    assert!(acc.series[0].values.iter().all(|v| *v == 10.0));
}

#[test]
fn bad_daily_values_name_the_record() {
    let a = account("a", 1.0, "USD", |i| if i == 7 { f64::NAN } else { 1.0 });
    let e = build_report(&ReportInput {
        accounts: vec![a],
        allocation: None,
        now_ms: NOW,
        window_days: 35,
        warnings: Vec::new(),
    })
    .err()
    .unwrap_or_else(|| panic!("NaN accepted"));
    assert_eq!(e.code(), "INVALID_INPUT");
    assert!(
        e.field().is_some_and(|f| f.ends_with(".value")),
        "{:?}",
        e.field()
    );
}

#[test]
fn null_numbers_are_refused_not_defaulted() {
    // JSON.stringify turns NaN and Infinity into null: an explicit null must not mean "default".
    let account = r#"{"accountUuid":"3f7c2d1e-8a4b-4c6d-9e0f-1a2b3c4d5e6f","clientId":"dt0s02.A","clientSecret":"dt0s02.A.x"}"#;
    let cases = [
        (
            format!(r#"{{"accounts":[{account}],"concurrency":null}}"#),
            "concurrency",
        ),
        (
            format!(r#"{{"accounts":[{account}],"windowDays":null}}"#),
            "windowDays",
        ),
        (
            format!(r#"{{"accounts":[{account}],"retry":{{"maxAttempts":null}}}}"#),
            "retry.maxAttempts",
        ),
    ];
    for (text, field) in &cases {
        let e = dps_cost::model::decode_input::<dps_cost::sync::SyncOptions>("config", text)
            .err()
            .unwrap_or_else(|| panic!("{text} accepted"));
        assert_eq!(
            (e.code(), e.field()),
            ("INVALID_INPUT", Some(*field)),
            "{e}"
        );
    }
    let text = format!(r#"{{"accounts":[{account}],"windowDays":null}}"#);
    let e = dps_cost::model::decode_input::<dps_cost::report::ReportOptions>("config", &text)
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    assert_eq!(e.field(), Some("windowDays"));
    // Absent is still the default.
    let ok = format!(r#"{{"accounts":[{account}]}}"#);
    assert!(dps_cost::model::decode_input::<dps_cost::sync::SyncOptions>("config", &ok).is_ok());
}

/// The account of issue 19: the daily-cost history covers only the last 90 days of a period
/// that began 264 days earlier; `budget.used` covers all of it.
#[test]
fn truncated_history_reconciles_with_budget_used() {
    let start = day("2026-01-01");
    let now_day = start + 264; // 2026-09-22
    let first = now_day - 90; // 2026-06-24
    let daily: Vec<CostRecord> = (first..now_day)
        .map(|d| CostRecord {
            start_time: format!("{}T00:00:00.000Z", format_date(d)),
            end_time: None,
            value: 1_800.1,
            currency_code: Some("EUR".into()),
            last_booking_date: None,
        })
        .collect();
    let mut a = account("t", 672_000.0, "EUR", |_| 0.0);
    a.daily = daily;
    if let Some(b) = a.subscription.budget.as_mut() {
        b.used = Some(449_580.0);
    }
    let r = build_report(&ReportInput {
        accounts: vec![a],
        allocation: None,
        now_ms: now_day * 86_400_000,
        window_days: 35,
        warnings: Vec::new(),
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let acc = &r.accounts[0];
    let f = &acc.figures;
    // Authoritative: budget.used, not the records' 162,009.
    assert_eq!(f.cost_to_date, 449_580.0);
    assert_eq!(f.budget_used_percent, Some(66.901785714286));
    assert_eq!((f.days_elapsed, f.days_left), (264, 101));
    let rec = f
        .reconciliation
        .as_ref()
        .unwrap_or_else(|| panic!("no reconciliation"));
    assert_eq!(rec.records_sum, 162_009.0);
    assert_eq!(rec.difference, 287_571.0, "exact: 449,580 − 90 × 1,800.10");
    assert_eq!(rec.first_day_covered.as_deref(), Some("2026-06-24"));
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    assert!(
        r.warnings[0].contains("287571.00") && r.warnings[0].contains("2026-06-24"),
        "{}",
        r.warnings[0]
    );
    // The burn-up starts on the first record (no zero-spend days before it) and ends on
    // budget.used.
    let b = &acc.burn_up;
    assert_eq!(b.actual.len(), 90);
    assert_eq!(b.actual[0].date, "2026-06-24");
    assert_eq!(b.actual[0].cumulative, 287_571.0 + 1_800.1);
    assert_eq!(b.actual.last().map(|p| p.cumulative), Some(449_580.0));
    // Both projections start from budget.used.
    let rate = 449_580.0 / 264.0;
    assert!((b.straight_line[0].cumulative - (449_580.0 + rate)).abs() < 1e-6);
    assert!((f.straight_line_period_end - (449_580.0 + rate * 101.0)).abs() < 1e-6);
    let first_fc = &b.forecast[0];
    assert!(first_fc.median > 449_580.0 && first_fc.median < 449_580.0 + 2.0 * 1_800.1);
    assert!(
        (f.forecast_period_end.median - (449_580.0 + 1_800.1 * 101.0)).abs() < 1.0,
        "flat 1,800.10 a day from budget.used: {}",
        f.forecast_period_end.median
    );
}

#[test]
fn budget_used_within_tolerance_needs_no_warning() {
    // 181 days of 100.10 = 18,118.10; used 18,150 is within 0.5 % (90.59).
    let mut a = account("a", 30_000.0, "USD", |_| 100.10);
    if let Some(b) = a.subscription.budget.as_mut() {
        b.used = Some(18_150.0);
    }
    let r = report_of(a);
    let f = &r.accounts[0].figures;
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(f.reconciliation, None);
    assert_eq!(f.cost_to_date, 18_150.0, "budget.used is still the figure");
    assert_eq!(r.accounts[0].burn_up.actual.len(), 181);
    assert_eq!(
        r.accounts[0].burn_up.actual.last().map(|p| p.cumulative),
        Some(18_150.0)
    );
}
