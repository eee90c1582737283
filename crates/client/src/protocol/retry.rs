//! When a request is sent again, once: which answers are worth repeating, how long to wait, and
//! when the attempts or the time budget are spent.

use crate::error::Result;
use crate::http::{rate_limit_reset_ms, retry_after_ms, HttpRequest, HttpResponse, RetryPolicy};

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryStep {
    /// The outcome is final (a success, or an answer that repeating cannot change).
    Done,
    /// Send the same request again after this many milliseconds.
    After(u64),
    /// Repeating could help, but the attempts or the time budget are spent: the outcome stands.
    GiveUp,
}

/// The retry state of one request. 429 and 503 are always repeated (the server did not process
/// the request); for an idempotent request also 502, 504, network errors and timeouts, and 500
/// when [`Retry::repeating_500`] says so.
///
/// How long to wait: the backoff, or the server's `Retry-After` (capped at the policy's longest
/// delay). A 429 with Datadog's `X-RateLimit-Reset` and no `Retry-After` waits exactly until the
/// window resets, however long, when that still fits the time budget; when it does not, the
/// 429 stands at once (no attempt is spent on a window that is certain to still be closed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Retry {
    policy: RetryPolicy,
    started_ms: i64,
    attempts: u32,
    repeat_500: bool,
}

impl Retry {
    /// A request first sent at `started_ms`.
    pub fn new(policy: RetryPolicy, started_ms: i64) -> Self {
        Retry {
            policy,
            started_ms,
            attempts: 0,
            repeat_500: false,
        }
    }

    /// Also repeats a 500 of an idempotent request. Ingest asks for it: its events carry
    /// deterministic ids, so a repeat stores nothing twice, and an endpoint may answer 500
    /// after it stored the batch.
    pub fn repeating_500(mut self, yes: bool) -> Self {
        self.repeat_500 = yes;
        self
    }

    /// Attempts made so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// `request` as each attempt sends it: with the policy's timeout unless it has its own.
    pub fn request(&self, request: &HttpRequest) -> HttpRequest {
        let mut request = request.clone();
        request.timeout_ms = request.timeout_ms.or(Some(self.policy.timeout_ms));
        request
    }

    /// Records an attempt of `request` that ended in `outcome` at `now_ms`; `jitter` in `[0, 1]`
    /// scales the backoff (see [`RetryPolicy::delay_ms`]).
    pub fn after(
        &mut self,
        request: &HttpRequest,
        outcome: &Result<HttpResponse>,
        now_ms: i64,
        jitter: f64,
    ) -> RetryStep {
        self.attempts += 1;
        let Some(retry_after) = self.worth_repeating(request, outcome, now_ms) else {
            return RetryStep::Done;
        };
        let reset = match outcome {
            Ok(r) if r.status == 429 && retry_after.is_none() => rate_limit_reset_ms(r),
            _ => None,
        };
        let delay = match reset {
            Some(ms) => ms,
            None => self.policy.delay_ms(self.attempts, retry_after, jitter),
        };
        let elapsed = u64::try_from(now_ms.saturating_sub(self.started_ms)).unwrap_or(0);
        if self.attempts >= self.policy.max_attempts
            || elapsed.saturating_add(delay) > self.policy.budget_ms
        {
            return RetryStep::GiveUp;
        }
        RetryStep::After(delay)
    }

    /// `Some(the server's Retry-After)` when sending `request` again may change the outcome.
    fn worth_repeating(
        &self,
        request: &HttpRequest,
        outcome: &Result<HttpResponse>,
        now_ms: i64,
    ) -> Option<Option<u64>> {
        let idempotent = request.idempotent;
        match outcome {
            Ok(r) if matches!(r.status, 429 | 503) => Some(retry_after_ms(r, now_ms)),
            Ok(r) if idempotent && matches!(r.status, 502 | 504) => Some(None),
            Ok(r) if idempotent && self.repeat_500 && r.status == 500 => Some(None),
            Err(e) if idempotent && e.is_retryable() => Some(None),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 4,
        base_delay_ms: 1_000,
        max_delay_ms: 20_000,
        budget_ms: 60_000,
        timeout_ms: 30_000,
    };

    fn get() -> HttpRequest {
        HttpRequest::get("https://h/x".into())
    }

    fn post() -> HttpRequest {
        HttpRequest::post("https://h/x".into(), "a/b", String::new())
    }

    fn reply(status: u16) -> Result<HttpResponse> {
        Ok(HttpResponse::new(status, ""))
    }

    fn dropped() -> Result<HttpResponse> {
        Err(Error::Network {
            endpoint: "https://h/x".into(),
            message: "connection reset".into(),
        })
    }

    /// The steps after each outcome in turn, all at `now_ms` 0, without jitter.
    fn steps(
        retry: &mut Retry,
        request: &HttpRequest,
        outcomes: &[Result<HttpResponse>],
    ) -> Vec<RetryStep> {
        outcomes
            .iter()
            .map(|o| retry.after(request, o, 0, 1.0))
            .collect()
    }

    /// A Datadog 429: `X-RateLimit-*` headers, no `Retry-After`.
    fn datadog_429(reset_secs: &str) -> Result<HttpResponse> {
        let mut r = HttpResponse::new(429, r#"{"errors":["Too many requests"]}"#);
        for (k, v) in [
            ("X-RateLimit-Limit", "60"),
            ("X-RateLimit-Period", "60"),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", reset_secs),
        ] {
            r.headers.push((k.to_string(), v.to_string()));
        }
        Ok(r)
    }

    #[test]
    fn a_datadog_429_waits_until_the_window_resets_within_the_budget() {
        // A few seconds: exactly the reset, not the backoff (1 s here).
        let mut r = Retry::new(POLICY, 0);
        assert_eq!(
            r.after(&get(), &datadog_429("6"), 0, 1.0),
            RetryStep::After(6_000)
        );
        // Tens of seconds: past the longest single delay (20 s), still inside the 60 s budget.
        let mut r = Retry::new(POLICY, 0);
        assert_eq!(
            r.after(&get(), &datadog_429("30"), 0, 1.0),
            RetryStep::After(30_000)
        );
        // After 40 s already spent, a 30 s window no longer fits: the 429 stands at once.
        let mut r = Retry::new(POLICY, 0);
        assert_eq!(
            r.after(&get(), &datadog_429("30"), 40_000, 1.0),
            RetryStep::GiveUp
        );
        // A decimal reset is rounded up to the ms; a reset of 0 retries at once.
        let mut r = Retry::new(POLICY, 0);
        assert_eq!(
            r.after(&get(), &datadog_429("1.2345"), 0, 1.0),
            RetryStep::After(1_235)
        );
        let mut r = Retry::new(POLICY, 0);
        assert_eq!(
            r.after(&get(), &datadog_429("0"), 0, 1.0),
            RetryStep::After(0)
        );
        // Unreadable or absurd resets: the ordinary backoff.
        for bad in ["soon", "-3", "1e9", "NaN"] {
            let mut r = Retry::new(POLICY, 0);
            assert_eq!(
                r.after(&get(), &datadog_429(bad), 0, 1.0),
                RetryStep::After(1_000),
                "{bad}"
            );
        }
        // A Retry-After wins over the reset (and keeps its cap).
        let mut with_both = datadog_429("30");
        if let Ok(resp) = with_both.as_mut() {
            resp.headers.push(("Retry-After".into(), "2".into()));
        }
        let mut r = Retry::new(POLICY, 0);
        assert_eq!(r.after(&get(), &with_both, 0, 1.0), RetryStep::After(2_000));
        // The attempt limit still holds.
        let mut r = Retry::new(POLICY, 0);
        let steps: Vec<RetryStep> = (0..4)
            .map(|i| r.after(&get(), &datadog_429("1"), i * 1_000, 1.0))
            .collect();
        assert_eq!(steps.last(), Some(&RetryStep::GiveUp));
    }

    #[test]
    fn success_and_client_errors_are_final() {
        for status in [200, 202, 204, 400, 401, 403, 404, 409, 410, 413, 500] {
            let mut r = Retry::new(POLICY, 0);
            assert_eq!(
                r.after(&get(), &reply(status), 0, 1.0),
                RetryStep::Done,
                "{status}"
            );
            assert_eq!(r.attempts(), 1);
        }
    }

    #[test]
    fn throttling_and_unavailable_back_off_doubling_until_the_attempts_are_spent() {
        for status in [429, 503] {
            for request in [get(), post()] {
                let mut r = Retry::new(POLICY, 0);
                assert_eq!(
                    steps(
                        &mut r,
                        &request,
                        &[reply(status), reply(status), reply(status), reply(status)]
                    ),
                    [
                        RetryStep::After(1_000),
                        RetryStep::After(2_000),
                        RetryStep::After(4_000),
                        RetryStep::GiveUp
                    ],
                    "{status} {:?}",
                    request.method
                );
            }
        }
    }

    #[test]
    fn unknown_outcomes_are_repeated_only_when_idempotent() {
        for outcome in [reply(502), reply(504), dropped()] {
            let mut r = Retry::new(POLICY, 0);
            assert_eq!(r.after(&get(), &outcome, 0, 1.0), RetryStep::After(1_000));
            let mut r = Retry::new(POLICY, 0);
            assert_eq!(r.after(&post(), &outcome, 0, 1.0), RetryStep::Done);
        }
    }

    #[test]
    fn a_500_is_repeated_only_when_asked_and_idempotent() {
        let ingest = post().idempotent(true);
        let mut r = Retry::new(POLICY, 0).repeating_500(true);
        assert_eq!(
            steps(&mut r, &ingest, &[reply(500), reply(500), reply(202)]),
            [
                RetryStep::After(1_000),
                RetryStep::After(2_000),
                RetryStep::Done
            ]
        );
        let mut r = Retry::new(POLICY, 0).repeating_500(true);
        assert_eq!(r.after(&post(), &reply(500), 0, 1.0), RetryStep::Done);
        let mut r = Retry::new(POLICY, 0);
        assert_eq!(r.after(&ingest, &reply(500), 0, 1.0), RetryStep::Done);
    }

    #[test]
    fn retry_after_is_honoured_and_the_budget_ends_it() {
        let throttled = Ok(HttpResponse::new(429, "").with_header("Retry-After", "7"));
        let mut r = Retry::new(POLICY, 0);
        assert_eq!(r.after(&get(), &throttled, 0, 0.1), RetryStep::After(7_000));
        // 55 s gone: a 7 s wait would pass the 60 s budget
        assert_eq!(r.after(&get(), &throttled, 55_000, 0.1), RetryStep::GiveUp);
        // a clock that went backwards counts as no time gone
        let mut r = Retry::new(POLICY, 10_000);
        assert_eq!(
            r.after(&get(), &reply(503), 0, 1.0),
            RetryStep::After(1_000)
        );
    }

    #[test]
    fn no_retries_policy_gives_up_at_once() {
        let mut r = Retry::new(RetryPolicy::NONE, 0);
        assert_eq!(r.after(&get(), &reply(503), 0, 1.0), RetryStep::GiveUp);
    }

    #[test]
    fn each_attempt_carries_the_timeout() {
        let r = Retry::new(POLICY, 0);
        assert_eq!(r.request(&get()).timeout_ms, Some(30_000));
        let mut own = get();
        own.timeout_ms = Some(5);
        assert_eq!(r.request(&own).timeout_ms, Some(5));
    }
}
