//! Datadog's rate limits, the Datadog way: a 429 carries `X-RateLimit-Limit`, `-Period`,
//! `-Remaining` and `-Reset` (seconds until the window resets) and no `Retry-After`.
//! `DatadogApi` against a transport that keeps Datadog's fixed windows (the emulator's rule,
//! js/emulator/datadog.js) on a virtual clock: waiting moves the clock, nothing sleeps.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::cell::{Cell, RefCell};

use common::block_on;
use dps_cost::api::datadog::{api_base, DatadogApi};
use dps_cost::auth::Secret;
use dps_cost::clock::Clock;
use dps_cost::http::{HttpClient, HttpRequest, HttpResponse, RetryPolicy};
use dps_cost::Result;

/// Fixed windows of `period_ms` from time 0, `limit` requests each; the first window is spent
/// already (another client of the same organisation used it up).
struct Windows {
    limit: u32,
    period_ms: i64,
    now: Cell<i64>,
    used: Cell<(i64, u32)>,
    /// Virtual time of each request, and the waits asked for.
    sent: RefCell<Vec<i64>>,
    slept: RefCell<Vec<u64>>,
}

impl Windows {
    fn new(limit: u32, period_secs: i64, start_ms: i64) -> Windows {
        Windows {
            limit,
            period_ms: period_secs * 1000,
            now: Cell::new(start_ms),
            used: Cell::new((0, limit)),
            sent: RefCell::new(Vec::new()),
            slept: RefCell::new(Vec::new()),
        }
    }
}

impl HttpClient for Windows {
    async fn send(&self, _: &HttpRequest) -> Result<HttpResponse> {
        let now = self.now.get();
        self.sent.borrow_mut().push(now);
        let start = now - now % self.period_ms;
        let (window, mut count) = self.used.get();
        if window != start {
            count = 0;
        }
        let ok = count < self.limit;
        if ok {
            count += 1;
        }
        self.used.set((start, count));
        let reset_secs = (start + self.period_ms - now + 999) / 1000;
        let mut r = if ok {
            HttpResponse::new(200, r#"{"data":[]}"#)
        } else {
            HttpResponse::new(429, r#"{"errors":["Too many requests"]}"#)
        };
        for (k, v) in [
            ("X-RateLimit-Limit", self.limit.to_string()),
            ("X-RateLimit-Period", (self.period_ms / 1000).to_string()),
            ("X-RateLimit-Remaining", (self.limit - count).to_string()),
            ("X-RateLimit-Reset", reset_secs.to_string()),
        ] {
            r.headers.push((k.to_string(), v));
        }
        Ok(r)
    }

    async fn sleep(&self, ms: u64) {
        self.slept.borrow_mut().push(ms);
        self.now.set(self.now.get() + ms as i64);
    }
}

struct VirtualClock<'a>(&'a Windows);

impl Clock for VirtualClock<'_> {
    fn now_ms(&self) -> i64 {
        self.0.now.get()
    }
}

fn api(w: &Windows, policy: RetryPolicy) -> DatadogApi<&Windows, VirtualClock<'_>> {
    let base = api_base(None, Some("https://api.datadoghq.eu")).unwrap_or_else(|e| panic!("{e}"));
    DatadogApi::new(
        w,
        VirtualClock(w),
        base,
        Secret::new("DDAPIKEY0123"),
        Secret::new("DDAPPKEY4567"),
    )
    .unwrap_or_else(|e| panic!("{e}"))
    .with_retry(policy)
}

#[test]
fn a_window_of_a_few_seconds_is_waited_out_exactly() {
    // 6-second windows, 1.5 s into a spent one: one 429, a wait of 5 s (the reset, rounded up
    // to whole seconds as Datadog sends it), then the rules.
    let w = Windows::new(1, 6, 1_500);
    let rules = block_on(api(&w, RetryPolicy::default()).list_rules_json());
    assert_eq!(rules.ok().as_deref(), Some(r#"{"data":[]}"#));
    assert_eq!(*w.sent.borrow(), vec![1_500, 6_500]);
    assert_eq!(*w.slept.borrow(), vec![5_000]);
}

#[test]
fn a_window_of_tens_of_seconds_is_waited_out_within_the_budget() {
    // 30-second windows: the wait (29 s) passes the longest backoff step (20 s) but fits the
    // default 60 s budget; before, four attempts were spent within ~7 s of backoff.
    let w = Windows::new(1, 30, 1_500);
    let rules = block_on(api(&w, RetryPolicy::default()).list_rules_json());
    assert!(rules.is_ok(), "{rules:?}");
    assert_eq!(*w.sent.borrow(), vec![1_500, 30_500]);
    assert_eq!(*w.slept.borrow(), vec![29_000]);
}

#[test]
fn a_window_past_the_budget_fails_at_once_saying_when_it_resets() {
    // Budget 10 s: waiting 29 s cannot fit, so no attempt is wasted inside the closed window.
    let w = Windows::new(1, 30, 1_500);
    let policy = RetryPolicy {
        budget_ms: 10_000,
        ..RetryPolicy::default()
    };
    let e = block_on(api(&w, policy).list_rules_json())
        .err()
        .unwrap_or_else(|| panic!("no error"));
    assert_eq!(e.code(), "RATE_LIMITED");
    match &e {
        dps_cost::Error::Http {
            status,
            retry_after_secs,
            ..
        } => assert_eq!((*status, *retry_after_secs), (429, Some(29)), "{e}"),
        other => panic!("{other}"),
    }
    assert_eq!(w.sent.borrow().len(), 1);
    assert!(w.slept.borrow().is_empty());
}

#[test]
fn several_requests_per_window_share_it() {
    // 3 requests per 2-second window, 7 rule reads in a row: the client waits only when the
    // window is spent, and only until it resets.
    let w = Windows::new(3, 2, 0);
    w.used.set((0, 0));
    let dd = api(&w, RetryPolicy::default());
    for _ in 0..7 {
        assert!(block_on(dd.list_rules_json()).is_ok());
    }
    assert_eq!(*w.slept.borrow(), vec![2_000, 2_000]);
    let sent = w.sent.borrow();
    assert_eq!(
        sent.len(),
        9,
        "7 reads, 2 of them after one 429 each: {sent:?}"
    );
}
