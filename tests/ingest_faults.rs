//! Ingest against an endpoint with a 1 MB request limit that also answers 500 after storing
//! some batches (issue 15's two decisions): a 500 is retried, bounded, like 502/503/504, so the
//! run ends complete; and the limit a 413 shows is used by every later batch instead of being
//! found again per batch.

mod common;

use std::cell::{Cell, RefCell};
use std::collections::HashSet;

use common::block_on;
use dps_cost::clock::FixedClock;
use dps_cost::http::{HttpClient, HttpRequest, HttpResponse, RetryPolicy};
use dps_cost::ingest::{ingest, IngestAuth, IngestTarget, PreparedEvent, MAX_BATCH_BYTES};

const LIMIT: usize = 1_000_000;

/// Refuses bodies over [`LIMIT`] with 413; stores the rest, but answers every `fail_every`th
/// stored batch with 500 (after storing it).
struct Endpoint {
    fail_every: usize,
    requests: Cell<usize>,
    refused: Cell<usize>,
    stored_batches: Cell<usize>,
    errors_500: Cell<usize>,
    stored: RefCell<Vec<String>>,
}

impl Endpoint {
    fn new(fail_every: usize) -> Self {
        Endpoint {
            fail_every,
            requests: Cell::new(0),
            refused: Cell::new(0),
            stored_batches: Cell::new(0),
            errors_500: Cell::new(0),
            stored: RefCell::default(),
        }
    }
}

impl HttpClient for Endpoint {
    async fn send(&self, request: &HttpRequest) -> dps_cost::Result<HttpResponse> {
        self.requests.set(self.requests.get() + 1);
        let body = request.body.clone().unwrap_or_default();
        if body.len() > LIMIT {
            self.refused.set(self.refused.get() + 1);
            return Ok(HttpResponse::new(413, "Payload Too Large"));
        }
        let events: Vec<serde_json::Value> =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}"));
        for e in &events {
            let id = e["event.id"].as_str().unwrap_or_else(|| panic!("no id"));
            self.stored.borrow_mut().push(id.to_string());
        }
        self.stored_batches.set(self.stored_batches.get() + 1);
        if self.stored_batches.get() % self.fail_every == 0 {
            self.errors_500.set(self.errors_500.get() + 1);
            return Ok(HttpResponse::new(
                500,
                r#"{"error":{"code":500,"message":"Internal Server Error"}}"#,
            ));
        }
        Ok(HttpResponse::new(202, ""))
    }
    async fn sleep(&self, _ms: u64) {}
}

/// `n` events of about 100 KB: 45 of them fill a 4.5 MB batch.
fn events(n: usize) -> Vec<PreparedEvent> {
    (0..n)
        .map(|i| {
            let id = format!("ev-{i}");
            let json = serde_json::json!({"event.id": id, "pad": "x".repeat(99_950)});
            PreparedEvent::from_serialize(Some(&id), &json).unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
}

fn target() -> IngestTarget {
    IngestTarget::new(
        "https://env.example.test/api/v2/bizevents/ingest",
        IngestAuth::None,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_1_mb_endpoint_that_answers_500_after_storing_ends_complete_and_learns_the_limit_once() {
    let n = 450; // ten 4.5 MB batches at the default limit
    const { assert!(45 * 100_000 <= MAX_BATCH_BYTES) };
    let endpoint = Endpoint::new(7);
    let report = block_on(ingest(
        &endpoint,
        &FixedClock(1_800_000_000_000),
        &target(),
        &events(n),
        RetryPolicy::default(),
    ))
    .unwrap_or_else(|e| panic!("{e}"));

    // (a) every 500 came after the batch was stored; repeating it made the run complete
    assert!(
        endpoint.errors_500.get() >= 10,
        "{}",
        endpoint.errors_500.get()
    );
    assert!(
        report.is_complete(),
        "500s after storing must not end in failed batches: {:?}",
        report.failed
    );
    assert_eq!((report.sent, report.accepted), (n, n));
    let stored: HashSet<String> = endpoint.stored.borrow().iter().cloned().collect();
    assert_eq!(stored.len(), n, "every event stored");
    assert_eq!(
        report.retries as usize,
        endpoint.errors_500.get(),
        "one repeat per 500"
    );

    // (b) the 1 MB limit is found once (4.5 → 2.25 → 1.1 → 0.56 MB), not once per batch
    // (which was 3 refusals × 10 batches = 30)
    assert_eq!(
        endpoint.refused.get(),
        3,
        "413s in {} requests",
        endpoint.requests.get()
    );
}

#[test]
fn a_500_that_persists_is_given_up_after_the_policy_s_attempts() {
    let endpoint = Endpoint::new(1); // every stored batch answers 500
    let retry = RetryPolicy {
        max_attempts: 3,
        ..RetryPolicy::default()
    };
    let report = block_on(ingest(
        &endpoint,
        &FixedClock(1_800_000_000_000),
        &target(),
        &events(5),
        retry,
    ));
    // nothing accepted and a failure: `ingest` makes that an error, with the server's message
    let e = report.err().unwrap_or_else(|| panic!("an error"));
    assert_eq!((e.code(), e.status()), ("INGEST_FAILED", Some(500)));
    assert_eq!(endpoint.requests.get(), 3, "bounded by maxAttempts");
}
