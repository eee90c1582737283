//! Bizevent ingest replies (`ingest::ingest_report` / `ingest`): partial 400 reports
//! (`errors[].index|id`, nested `error.errors`), 413 splitting, 401/403 short-circuit, retries.
//!
//! Input: byte 0 = number of events (1..=64) and whether they carry ids, byte 1 = batch count
//! limit flavour; the rest is split at `\n--\n` into replies, each `STATUS:body` where STATUS
//! is one byte run through `status_of` (or a plain 200 body).
//! Invariants: every event is accounted for exactly once (accepted + rejected + failed = sent),
//! rejected indices are distinct and in range and carry the event's id, failed batches have a
//! code, and `ingest` fails only when nothing was accepted.
#![no_main]

use std::collections::BTreeSet;

use dps_cost::clock::FixedClock;
use dps_cost::http::{HttpResponse, RetryPolicy};
use dps_cost::ingest::{ingest, ingest_report, IngestAuth, IngestTarget, PreparedEvent};
use dps_cost_fuzz::{check_error, pieces, status_of, Scripted, NOW_MS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let n = usize::from(data[0] % 64) + 1;
    let with_ids = data[0] & 0x40 != 0;
    let events: Vec<PreparedEvent> = (0..n)
        .map(|i| {
            let id = format!("ev-{i}");
            PreparedEvent::from_serialize(
                with_ids.then_some(id.as_str()),
                &serde_json::json!({"event.id": id, "event.type": "fuzz", "n": i}),
            )
            .expect("serializable")
        })
        .collect();
    let replies: Vec<HttpResponse> = pieces(&data[2..])
        .into_iter()
        .map(|p| {
            let mut chars = p.chars();
            match (chars.next(), p.get(1..2)) {
                (Some(c), Some(":")) => HttpResponse::new(
                    status_of(c as u32 as u8),
                    p.get(2..).unwrap_or("").to_string(),
                ),
                _ => HttpResponse::new(200, p),
            }
        })
        .collect();
    let retry = RetryPolicy {
        max_attempts: 1 + u32::from(data[1] % 3),
        base_delay_ms: 0,
        max_delay_ms: 0,
        budget_ms: 1,
        timeout_ms: 1000,
    };
    let target = IngestTarget::new(
        "https://abc12345.live.dynatrace.com/api/v2/bizevents/ingest",
        IngestAuth::ApiToken(dps_cost::auth::Secret::new("dt0c01.fuzz")),
    )
    .expect("valid target");

    let http = Scripted::new(replies.clone());
    let report = pollster::block_on(ingest_report(
        &http,
        &FixedClock(NOW_MS),
        &target,
        &events,
        retry,
    ));
    assert_eq!(report.sent, n, "sent");
    let rejected: BTreeSet<usize> = report.rejected.iter().map(|r| r.index).collect();
    assert_eq!(
        rejected.len(),
        report.rejected.len(),
        "an event rejected twice: {report:?}"
    );
    for r in &report.rejected {
        assert!(r.index < n, "rejected index out of range: {report:?}");
        assert_eq!(
            r.event_id, events[r.index].id,
            "rejected event id: {report:?}"
        );
        assert!(!r.message.is_empty());
    }
    let mut failed = BTreeSet::new();
    for f in &report.failed {
        assert!(!f.code.is_empty() && f.count > 0, "{report:?}");
        for i in f.first_index..f.first_index + f.count {
            assert!(
                i < n && !rejected.contains(&i) && failed.insert(i),
                "failed batch overlaps: {report:?}"
            );
        }
    }
    assert_eq!(
        report.accepted + report.rejected.len() + report.not_delivered(),
        n,
        "events lost or counted twice: {report:?}"
    );
    assert!(report.batches >= 1);

    // `ingest` over the same replies: an error only when nothing at all was stored.
    let http = Scripted::new(replies);
    match pollster::block_on(ingest(&http, &FixedClock(NOW_MS), &target, &events, retry)) {
        Ok(again) => assert_eq!(again, report, "same replies, same report"),
        Err(e) => {
            check_error(&e);
            assert_eq!(
                report.accepted, 0,
                "ingest failed although events were stored: {e}"
            );
        }
    }
});
