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
