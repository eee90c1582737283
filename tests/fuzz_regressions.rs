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
