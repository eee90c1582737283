//! Numbers across the JSON boundary (issue 14): every number the project reads from JSON — JS
//! inputs, Account Management replies, Datadog rules, driver series — is parsed correctly
//! rounded, so the f64 Rust holds is the one JS's `JSON.parse` gives for the same text, and the
//! micro-units of a cost equal those of its decimal text rounded as the contract says.
//!
//! The reference side never goes through serde_json: JS's text of a double is built here from
//! ryu's shortest digits (ECMAScript `Number::toString`), std's `str::parse::<f64>` (correctly
//! rounded, as `JSON.parse` is) stands for JS, and micro-units come from the decimal digits by
//! integer arithmetic.
#![cfg(not(target_arch = "wasm32"))]

use dps_cost::allocate::engine::AllocationInput;
use dps_cost::allocate::money::micros_from_f64;
use dps_cost::allocate::parse_rules;
use dps_cost::model::cost::CostRecord;
use dps_cost::model::{decode, decode_input};
use proptest::prelude::*;

/// The shortest round-trip digits of a finite, non-zero `v` as (negative, digits, n) with
/// |v| = 0.digits × 10ⁿ (ECMAScript's k digits and n). ryu's digits: where two shortest
/// candidates are equally near, it takes the even one, as ECMAScript does (Rust's own `{:e}`
/// takes the larger: 175896247309775.125 prints as …775.13 there, …775.12 in JS).
fn shortest(v: f64) -> (bool, String, i32) {
    let mut buf = ryu::Buffer::new();
    let text = buf.format_finite(v);
    let (neg, text) = match text.strip_prefix('-') {
        Some(t) => (true, t),
        None => (false, text),
    };
    let (mantissa, exp) = text.split_once(['e', 'E']).unwrap_or((text, "0"));
    let exp: i32 = exp.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all = format!("{int}{frac}");
    let lead = all.len() - all.trim_start_matches('0').len();
    let digits = all.trim_matches('0').to_string();
    // value = 0.digits × 10^n: the first significant digit sits at int.len() - lead places
    // before the point.
    let n = exp + int.len() as i32 - lead as i32;
    (neg, digits, n)
}

/// `Number.prototype.toString` (and so `JSON.stringify`) of a finite double (ECMA-262
/// Number::toString, radix 10).
fn js_text(v: f64) -> String {
    if v == 0.0 {
        return "0".into(); // also -0: JSON.stringify(-0) is "0"
    }
    let (neg, d, n) = shortest(v);
    let k = d.len() as i32;
    let body = if k <= n && n <= 21 {
        format!("{d}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &d[..n as usize], &d[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{d}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let sign = if e < 0 { '-' } else { '+' };
        if k == 1 {
            format!("{d}e{sign}{}", e.abs())
        } else {
            format!("{}.{}e{sign}{}", &d[..1], &d[1..], e.abs())
        }
    };
    if neg {
        format!("-{body}")
    } else {
        body
    }
}

/// Rounds `num / 10^shift` half to even (non-negative `num`).
fn div_pow10_half_even(num: u128, shift: u32) -> u128 {
    if shift > 38 {
        return 0; // num < 10^38 / 2 for every caller (at most 24 digits)
    }
    let d = 10u128.pow(shift);
    let (q, r) = (num / d, num % d);
    match (2 * r).cmp(&d) {
        std::cmp::Ordering::Less => q,
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal => q + (q & 1),
    }
}

/// The micro-units of a decimal text (`-12.5`, `1.5e-7`, `3e+21`): its exact value rounded to
/// 10⁻¹² half to even, then to 10⁻⁶ half to even (the contract's money rule). `None` past 10¹⁸.
fn micros_of_text(text: &str) -> Option<i128> {
    let (neg, t) = match text.strip_prefix('-') {
        Some(t) => (true, t),
        None => (false, text),
    };
    let (mantissa, exp) = match t.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.trim_start_matches('+').parse::<i32>().ok()?),
        None => (t, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    let exp10 = exp - frac.len() as i32; // value = digits × 10^exp10
    let digits = if digits.is_empty() { "0" } else { digits };
    if digits.len() > 24 {
        return None;
    }
    let n: u128 = digits.parse().ok()?;
    let shift12 = exp10 + 12; // units of 10⁻¹² = n × 10^shift12
    let units = if shift12 >= 0 {
        n.checked_mul(10u128.checked_pow(shift12 as u32)?)?
    } else {
        div_pow10_half_even(n, (-shift12) as u32)
    };
    if units > 1_000_000_000_000_000_000_000_000_000_000 {
        return None; // 10¹⁸ currency units
    }
    let micros = div_pow10_half_even(units, 6) as i128;
    Some(if neg { -micros } else { micros })
}

/// The project's readers of a number: a JS input (`allocate`'s lines, drivers and a `percent`
/// share), an Account Management cost reply, and a Datadog rule list. Each returns the f64 it
/// holds for `text`.
fn read_everywhere(text: &str) -> [f64; 4] {
    let input: AllocationInput = decode_input(
        "input",
        &format!(
            r#"{{"lines":[{{"date":"2025-01-01","cost":{text},"currency":"USD","tags":{{}}}}],
                "drivers":{{"q":[{{"date":"2025-01-01","value":{text}}}]}}}}"#
        ),
    )
    .unwrap_or_else(|e| panic!("{text}: {e}"));
    let records: Vec<CostRecord> = decode(
        "cost",
        &format!(r#"[{{"startTime":"2025-01-01T00:00:00Z","value":{text},"currencyCode":"EUR"}}]"#),
    )
    .unwrap_or_else(|e| panic!("{text}: {e}"));
    let rules = parse_rules(&format!(
        r#"{{"data":[{{"id":"1","type":"arbitrary_rule","attributes":{{"rule_name":"r",
            "provider":["aws"],"costs_to_allocate":[],"strategy":{{"method":"percent",
            "allocated_by":[{{"allocated_tags":[{{"key":"team","value":"a"}}],"percentage":{text}}}]}}}}}}]}}"#
    ))
    .unwrap_or_else(|e| panic!("{text}: {e}"));
    let share = rules[0]
        .attributes
        .strategy
        .as_ref()
        .and_then(|s| s.allocated_by.as_ref())
        .and_then(|a| a[0].percentage)
        .unwrap_or(f64::NAN);
    [
        input.lines[0].cost,
        input.drivers["q"][0].value,
        records[0].value,
        share,
    ]
}

fn check_text(text: &str) {
    let js: f64 = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
    for (i, got) in read_everywhere(text).into_iter().enumerate() {
        assert_eq!(
            got.to_bits(),
            js.to_bits(),
            "reader {i} read {text} as {got:e}, JS as {js:e}"
        );
    }
}

#[test]
fn js_text_is_ecmascripts_number_to_string() {
    for (v, want) in [
        (1.0, "1"),
        (-0.5, "-0.5"),
        (123456.789, "123456.789"),
        (1e21, "1e+21"),
        (1.5e21, "1.5e+21"),
        (1e20, "100000000000000000000"),
        (1e-6, "0.000001"),
        (1e-7, "1e-7"),
        (1.25e-7, "1.25e-7"),
        (0.1 + 0.2, "0.30000000000000004"),
        (5e-324, "5e-324"),
        (f64::MAX, "1.7976931348623157e+308"),
    ] {
        assert_eq!(js_text(v), want);
    }
}

#[test]
fn micros_of_text_rounds_half_to_even() {
    assert_eq!(micros_of_text("-1834943.0390625"), Some(-1_834_943_039_062));
    assert_eq!(micros_of_text("0.0000015"), Some(2));
    assert_eq!(micros_of_text("0.0000025"), Some(2));
    assert_eq!(micros_of_text("2.5e-6"), Some(2));
    assert_eq!(micros_of_text("1e-300"), Some(0));
    // Money is held to 10⁻¹² (half to even), then rounded to micro-units: digits past the 12th
    // decimal do not break a tie at the 7th.
    assert_eq!(micros_of_text("1.0000005000001"), Some(1_000_000));
    assert_eq!(micros_of_text("1.000000500001"), Some(1_000_001));
    assert_eq!(micros_of_text("3e+21"), None);
}

/// The fuzzer's `allocate` crash (issue 14, base64 `LS4sAPUH/wEAAAq//zvB`, replayed as
/// `fuzz/regressions/allocate/`): a cost one ULP from -1834943.0390625 went out as JSON and came
/// back as -1834943.0390625 itself, exactly half a micro-unit, which rounds the other way. The
/// numbers on both sides of that boundary must come back as sent.
#[test]
fn half_micro_boundary_survives_the_json_round_trip() {
    let boundary: f64 = -1834943.0390625; // exactly representable: …039062.5 micro-units
    for v in [
        boundary,
        f64::from_bits(boundary.to_bits() + 1),
        f64::from_bits(boundary.to_bits() - 1),
    ] {
        let text = js_text(v);
        check_text(&text);
        assert_eq!(
            micros_from_f64(read_everywhere(&text)[0]),
            micros_of_text(&text),
            "{text}"
        );
    }
    // The two neighbours round away from the boundary, each to its own side.
    let up = js_text(f64::from_bits(boundary.to_bits() + 1)); // larger magnitude
    assert_eq!(micros_of_text(&up), Some(-1_834_943_039_063));
}

#[test]
fn long_and_unusual_decimal_texts_read_as_js_reads_them() {
    for text in [
        "0.1000000000000000055511151231257827",
        "9007199254740993",
        "2.2250738585072011e-308",
        "2.2250738585072012e-308",
        "1.00000000000000011102230246251565404236316680908203125",
        "1.00000000000000011102230246251565404236316680908203124",
        "1.00000000000000011102230246251565404236316680908203126",
        "-0.000000000000000000000000000001",
        "123456789012345678901234567890",
        "4.9406564584124654e-324",
        "1e-400",
        "0E+0",
        "-0.0",
    ] {
        check_text(text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    /// Every finite double, by random bit patterns: JS's text of it reads back as the same
    /// double everywhere, and its micro-units equal the decimal reference.
    #[test]
    fn js_text_of_any_double_reads_back_exactly(bits in any::<u64>()) {
        let v = f64::from_bits(bits);
        prop_assume!(v.is_finite());
        let text = js_text(v);
        let got = read_everywhere(&text);
        for g in got {
            prop_assert_eq!(g.to_bits(), if v == 0.0 { 0 } else { bits }, "{} → {:e}", text, g);
        }
        if v.abs() < 1e18 {
            prop_assert_eq!(micros_from_f64(got[0]), micros_of_text(&text), "{}", text);
        }
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3_000))]

    /// Money-sized costs with up to six decimals and one more digit near the half micro-unit.
    #[test]
    fn money_sized_values_keep_their_micro_units(units in -10_000_000_000_000_000i64..10_000_000_000_000_000, tail in 0u8..10) {
        let text = format!("{}.{:06}{tail}", units / 1_000_000, (units % 1_000_000).unsigned_abs());
        let text = if units < 0 && units / 1_000_000 == 0 { format!("-{text}") } else { text };
        let js: f64 = text.parse().unwrap_or(f64::NAN);
        let got = read_everywhere(&text);
        prop_assert_eq!(got[0].to_bits(), js.to_bits(), "{}", text);
        prop_assert_eq!(micros_from_f64(got[0]), micros_of_text(&js_text(js)), "{}", text);
    }

    /// Arbitrary decimal texts of up to 25 significant digits and any exponent, as a user may
    /// type them: read as JS's `JSON.parse` reads them.
    #[test]
    fn any_decimal_text_reads_as_js_reads_it(
        neg in any::<bool>(), int in "[1-9][0-9]{0,12}", frac in "[0-9]{0,12}", exp in -330i32..330
    ) {
        let sign = if neg { "-" } else { "" };
        let text = if frac.is_empty() { format!("{sign}{int}e{exp}") } else { format!("{sign}{int}.{frac}e{exp}") };
        let js: f64 = text.parse().unwrap_or(f64::NAN);
        prop_assume!(js.is_finite());
        check_text(&text);
    }
}
