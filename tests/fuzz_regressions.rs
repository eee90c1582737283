//! Inputs found by the fuzz targets (fuzz/, `node scripts/fuzz.mjs`), minimised, each with the
//! invariant it broke. Native `cargo test`; the fuzzers need not be installed.

use dps_cost::http::{retry_after_ms, HttpResponse};

/// fuzz target `scalars` (crash-e3ed678d): an HTTP-date `Retry-After` with a clock at
/// `i64::MIN` overflowed `at - now_ms` (a debug-build panic; a wrapped delay in release).
#[test]
fn retry_after_http_date_with_extreme_clock_does_not_overflow() {
    let r = HttpResponse::new(429, "").with_header("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT");
    // Far in the past: the date is i64::MAX ms away at most; saturates instead of overflowing.
    assert_eq!(retry_after_ms(&r, i64::MIN), Some(i64::MAX as u64));
    // Far in the future: the date has passed, no wait.
    assert_eq!(retry_after_ms(&r, i64::MAX), Some(0));
    // The ordinary case is unchanged: 2015-10-21T07:28:00Z is 1_445_412_480_000 ms.
    assert_eq!(retry_after_ms(&r, 1_445_412_470_000), Some(10_000));
}

/// fuzz target `allocate` (crash-2eaa43d7): a line no rule owns with a sub-micro cost
/// (1.26e-321). The engine keeps an unchanged line's cost exactly as given while `cost_micros`
/// is the rounded micro-unit count (0 here); the totals are still conserved. (The harness had
/// assumed `cost` = `cost_micros` × 10⁻⁶ for every line; that holds for split lines only.)
#[test]
fn allocate_unchanged_sub_micro_cost_is_kept_and_totals_conserve() {
    use dps_cost::allocate::engine::{allocate, AllocationInput, CostLine, LineStatus};
    let tiny = f64::from_bits(255); // 1.26e-321, subnormal
    let input = AllocationInput {
        lines: vec![
            CostLine {
                id: None,
                date: "2025-01-04".into(),
                cost: tiny,
                currency: "USD".into(),
                tags: [("provider".to_string(), "aws".to_string())].into(),
            },
            CostLine {
                id: Some("b".into()),
                date: "2025-01-05".into(),
                cost: 0.1234567,
                currency: "USD".into(),
                tags: Default::default(),
            },
        ],
        ..Default::default()
    };
    let result = allocate(&input).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(result.lines.len(), 2);
    assert!(result
        .lines
        .iter()
        .all(|l| l.status == LineStatus::Unchanged));
    assert_eq!(result.lines[0].cost.to_bits(), tiny.to_bits());
    assert_eq!(result.lines[0].cost_micros, 0);
    assert_eq!(result.lines[1].cost, 0.1234567);
    assert_eq!(result.lines[1].cost_micros, 123_457);
    let usd = &result.totals["USD"];
    assert_eq!((usd.input_micros, usd.output_micros), (123_457, 123_457));
}

/// fuzz target `scalars` (crash-c553b23a): `json_path_at` with a column near `usize::MAX` (it is
/// public; serde_json never reports such a column, but a caller may pass anything) overflowed
/// `offset + column`. It now clamps to the end of the text.
#[test]
fn json_path_at_huge_column_does_not_overflow() {
    use dps_cost::model::json_path_at;
    let text = "{\"error\":{\"me\u{1}\n\"}}";
    assert_eq!(json_path_at(text, 2, usize::MAX), "");
    assert_eq!(json_path_at(text, usize::MAX, usize::MAX), "");
    // Ordinary positions still give the path.
    assert_eq!(json_path_at(r#"{"data":[1,"x"]}"#, 1, 14), "data[1]");
}

/// fuzz target `allocate` (crash-c7a871e4): a cost of 1.8888789003107943e-306 written as JSON
/// and read back through `decode_input` came back 1 ULP off (…946e-306), because serde_json was
/// built without `float_roundtrip`. Issue 14's crash (`fuzz/regressions/allocate/`, base64
/// `LS4sAPUH/wEAAAq//zvB`) is the case where that ULP moves a micro-unit: a cost one ULP from
/// -1834943.0390625 (exactly half a micro-unit) came back as -1834943.0390625 itself. Numbers
/// are now read correctly rounded: every cost comes back as the same double.
#[test]
fn allocation_input_json_keeps_micro_units_of_extreme_floats() {
    use dps_cost::allocate::engine::{AllocationInput, CostLine};
    use dps_cost::allocate::money::micros_from_f64;
    for cost in [
        1.8888789003107943e-306,
        0.30000000000000004,
        1234.5678901234567,
        1e12,
        -1834943.0390625,
        f64::from_bits((-1834943.0390625f64).to_bits() + 1),
        f64::from_bits((-1834943.0390625f64).to_bits() - 1),
        -3.6893488147418585e19,
    ] {
        let input = AllocationInput {
            lines: vec![CostLine {
                id: None,
                date: "2025-01-01".into(),
                cost,
                currency: "USD".into(),
                tags: Default::default(),
            }],
            ..Default::default()
        };
        let text = serde_json::to_string(&input).unwrap_or_else(|e| panic!("{e}"));
        let again: AllocationInput =
            dps_cost::model::decode_input("input", &text).unwrap_or_else(|e| panic!("{e}"));
        let back = again.lines[0].cost;
        assert_eq!(
            micros_from_f64(back),
            micros_from_f64(cost),
            "{cost} → {back}"
        );
        assert_eq!(back.to_bits(), cost.to_bits(), "{cost} → {back}");
    }
}

/// fuzz target `scalars` (crash-50cfe56d): a base URL with a control character inside
/// (`…\u{b}/`) was accepted, and its normal form changed when parsed again (the trailing `\u{b}`
/// got trimmed the second time). Whitespace and control characters are now refused.
#[test]
fn base_url_refuses_control_characters() {
    use dps_cost::http::BaseUrl;
    for raw in [
        "http://127.0.0.1:2039/base\u{b}/",
        "https://api.dynatrace.com/a\tb",
        "https://api.dynatrace.com/\u{0}",
        "https://api.dynatrace.com\n/x",
    ] {
        let e = BaseUrl::parse("apiUrl", raw)
            .err()
            .unwrap_or_else(|| panic!("{raw:?} accepted"));
        assert_eq!((e.code(), e.field()), ("INVALID_INPUT", Some("apiUrl")));
    }
    let ok = BaseUrl::parse("apiUrl", " https://api.dynatrace.com/base/ ")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ok.as_str(), "https://api.dynatrace.com/base");
    let again = BaseUrl::parse("apiUrl", ok.as_str()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again, ok);
}
