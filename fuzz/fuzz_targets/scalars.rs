//! The small parsers of outside text and numbers: money (`money::Amount`, the allocation
//! split `allocate::money`), time (`time::parse_*`, `format_*`, `http::retry_after_ms`),
//! decimals of rate cards, JSON error paths (`model::json_path_at`, `model::decode`), ids,
//! UUIDs, URLs and allow-list keys (`validate`, `http::BaseUrl`, `api::settings::check_keys`).
//!
//! Input: byte 0 picks the parser; the rest is its text (or the raw bytes of its numbers).
//! Invariants: parse→format→parse round trips (dates, timestamps, decimals), exact money
//! (negation symmetry, error bound of the 10⁻¹² rounding, percent of itself is 100, splits that
//! sum to the total), typed errors naming their field.
#![no_main]

use dps_cost::allocate::money::{bound_weights, largest_remainder, micros_from_f64, micros_to_f64};
use dps_cost::api::settings::check_keys;
use dps_cost::http::{error_message, retry_after_ms, BaseUrl, HttpResponse};
use dps_cost::model::rate_card::Decimal;
use dps_cost::model::{decode, json_path_at};
use dps_cost::money::Amount;
use dps_cost::time::{
    civil_from_days, days_from_civil, format_date, format_iso_ms, parse_date, parse_http_date_ms,
    parse_timestamp_ms,
};
use dps_cost::validate::{check_id, check_uuid};
use dps_cost_fuzz::check_error;
use libfuzzer_sys::fuzz_target;

fn f64_at(b: &[u8], i: usize) -> f64 {
    let mut a = [0u8; 8];
    for (k, x) in a.iter_mut().enumerate() {
        *x = b.get(i * 8 + k).copied().unwrap_or(0);
    }
    f64::from_le_bytes(a)
}

fn i64_at(b: &[u8], i: usize) -> i64 {
    f64_at(b, i).to_bits() as i64
}

fn money(b: &[u8]) {
    let v = f64_at(b, 0);
    let w = f64_at(b, 1);
    match Amount::from_f64(v) {
        None => assert!(!v.is_finite() || v.abs() > 1e23, "{v} rejected"),
        Some(a) => {
            assert_eq!(Amount::from_f64(-v), Some(Amount(-a.0)), "negation of {v}");
            let back = a.to_f64();
            assert!(back.is_finite());
            let err = (back - v).abs();
            assert!(
                err <= 5e-13 + v.abs() * f64::EPSILON,
                "{v} → {a:?} → {back}"
            );
            if a.0 > 0 {
                assert_eq!(a.percent_of(a), Some(100.0));
            }
            if let Some(b) = Amount::from_f64(w) {
                assert_eq!(a.checked_add(b), b.checked_add(a));
                assert_eq!(a.checked_add(b).map(|s| s.0), Some(a.0 + b.0));
            }
            let m = micros_from_f64(v).expect("in range");
            assert!((m * 1_000_000 - a.0).abs() <= 500_000, "micros of {v}");
            if m.abs() < 1 << 53 {
                assert_eq!(
                    micros_from_f64(micros_to_f64(m)),
                    Some(m),
                    "micros round trip {m}"
                );
            }
        }
    }
}

fn split(b: &[u8]) {
    let total = i128::from(i64_at(b, 0)) % 1_000_000_000_000_000_000;
    let mut weights: Vec<i128> = b
        .get(8..)
        .unwrap_or(&[])
        .chunks(8)
        .take(16)
        .enumerate()
        .map(|(i, _)| {
            let w = i64_at(&b[8..], i);
            i128::from(w.unsigned_abs()) * if w & 1 == 1 { 1_000_000_000_000 } else { 1 }
        })
        .collect();
    bound_weights(&mut weights);
    assert!(weights
        .iter()
        .all(|w| (0..=1_000_000_000_000_000_000).contains(w)));
    let sum: i128 = weights.iter().sum();
    if sum == 0 {
        return;
    }
    let shares = largest_remainder(total, &weights, sum);
    assert_eq!(shares.len(), weights.len());
    assert_eq!(
        shares.iter().sum::<i128>(),
        total,
        "split of {total} over {weights:?}"
    );
    for (s, w) in shares.iter().zip(&weights) {
        let exact = total * w / sum; // |total|·w ≤ 10³⁶ fits i128
        assert!((s - exact).abs() <= 1, "share {s} vs {exact}");
    }
    // A denominator above the weights leaves a remainder, never more than the total.
    let shares = largest_remainder(total, &weights, sum * 2);
    let given: i128 = shares.iter().sum();
    assert!(given.abs() <= total.abs());
}

fn time(text: &str) {
    if let Some(day) = parse_date(text) {
        assert_eq!(format_date(day), text, "date round trip");
        assert_eq!(parse_timestamp_ms(text), Some(day * 86_400_000));
    }
    if let Some(ms) = parse_timestamp_ms(text) {
        let iso = format_iso_ms(ms);
        assert_eq!(parse_timestamp_ms(&iso), Some(ms), "{text} → {ms} → {iso}");
        let (y, m, d) = civil_from_days(ms.div_euclid(86_400_000));
        assert_eq!(days_from_civil(y, m, d), ms.div_euclid(86_400_000));
    }
    if let Some(ms) = parse_http_date_ms(text) {
        assert!(parse_timestamp_ms(&format_iso_ms(ms)) == Some(ms));
    }
    let r = HttpResponse::new(429, "").with_header("Retry-After", text);
    for now in [0, 1_740_787_200_000, i64::MIN, i64::MAX] {
        let _ = retry_after_ms(&r, now);
    }
}

fn days(b: &[u8]) {
    let z = i64_at(b, 0) % 1_000_000_000; // ±2.7 million years
    let (y, m, d) = civil_from_days(z);
    assert!((1..=12).contains(&m) && (1..=31).contains(&d));
    assert_eq!(days_from_civil(y, m, d), z);
}

fn decimal(text: &str) {
    if let Some(d) = Decimal::parse(text) {
        assert_eq!(d.as_str(), text.trim());
        assert_eq!(Decimal::parse(d.as_str()), Some(d.clone()));
        let json = serde_json::to_string(&d).expect("serializable");
        let back: Decimal = serde_json::from_str(&json).expect("decimal JSON round trip");
        assert_eq!(back, d);
    }
}

fn json(text: &str) {
    for (line, col) in [
        (0, 0),
        (1, 0),
        (1, text.len()),
        (usize::MAX, usize::MAX),
        (2, 3),
    ] {
        let _ = json_path_at(text, line, col);
    }
    if let Err(e) = decode::<serde_json::Value>("payload", text) {
        check_error(&e);
        assert_eq!(e.code(), "DECODE");
    }
    let m = error_message(text);
    let _ = m;
}

fn ids(text: &str) {
    match check_uuid("accountUuid", text) {
        Ok(u) => assert_eq!(
            check_uuid("accountUuid", &u).ok().as_ref(),
            Some(&u),
            "uuid normal form is stable"
        ),
        Err(e) => check_error(&e),
    }
    if let Err(e) = check_id("environmentId", text) {
        check_error(&e);
    }
    match BaseUrl::parse("apiUrl", text) {
        Ok(u) => {
            let again = BaseUrl::parse("apiUrl", u.as_str())
                .unwrap_or_else(|e| panic!("{text:?} → {:?}: {e}", u.as_str()));
            assert_eq!(again.as_str(), u.as_str(), "BaseUrl normal form is stable");
            let _ = u.join(&["a", text, ".."], &[("q", text.to_string())]);
        }
        Err(e) => check_error(&e),
    }
    let keys: Vec<String> = text.split(',').map(str::to_string).collect();
    if let Err(e) = check_keys(&keys, &[]) {
        check_error(&e);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match mode % 7 {
        0 => money(rest),
        1 => split(rest),
        2 => time(&text),
        3 => days(rest),
        4 => decimal(&text),
        5 => json(&text),
        _ => ids(&text),
    }
});
