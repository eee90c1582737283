//! Ingest batching, once and without I/O: events are packed into requests under the byte and
//! count limits; the caller sends each request and hands the reply back. The replies decide
//! what happens next: a 413 splits the batch in halves and teaches the limit to every later
//! batch, a partial 400 maps the server's per-event errors to the events, a 401/403 ends the
//! sending (everything after it would fail the same way), and the report says what became of
//! every event.

use crate::error::Result;
use crate::http::{error_message, HttpRequest, HttpResponse};
use crate::ingest::{
    FailedBatch, IngestAuth, IngestReport, IngestTarget, PreparedEvent, Rejected, MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
};
use crate::process::sort_by_key_stable;

/// Events to send as one request, from position `start` of the input.
#[derive(Debug)]
struct Batch {
    start: usize,
    events: Vec<PreparedEvent>,
}

impl Batch {
    /// The request body's length: `[` + events joined by `,` + `]`.
    fn bytes(&self) -> usize {
        body_bytes(&self.events)
    }

    /// The two halves (by count), first half first.
    fn halves(mut self) -> (Batch, Batch) {
        let second = self.events.split_off(self.events.len() / 2);
        let mid = self.start + self.events.len();
        (
            self,
            Batch {
                start: mid,
                events: second,
            },
        )
    }

    fn failed(&self, code: &str, status: Option<u16>, message: String) -> FailedBatch {
        FailedBatch {
            account_uuid: None,
            first_index: self.start,
            count: self.events.len(),
            code: code.to_string(),
            status,
            message,
        }
    }

    fn rejected(&self, i: usize, message: String) -> Rejected {
        Rejected {
            account_uuid: None,
            index: self.start + i,
            event_id: self.events.get(i).and_then(|e| e.id.clone()),
            message,
        }
    }
}

/// The ingest batching state (see the module docs). Drive it as: [`Batcher::push`] each event
/// (or [`Batcher::flush`] at the end), then while [`Batcher::next_request`] gives a request,
/// send it and hand the outcome to [`Batcher::on_reply`]; [`Batcher::finish`] gives the report.
/// Without a target (a dry run) events are only counted and no request is made.
#[derive(Debug)]
pub struct Batcher {
    target: Option<IngestTarget>,
    /// The largest body a batch of several events may have: [`MAX_BATCH_BYTES`], or less once
    /// a 413 has shown the server's limit.
    limit_bytes: usize,
    buf: Vec<PreparedEvent>,
    buf_bytes: usize,
    /// Input position of the first buffered event.
    buf_start: usize,
    pushed: usize,
    /// Batches waiting to be sent; the last is next.
    waiting: Vec<Batch>,
    /// The batch of the request handed out and not yet answered.
    in_flight: Option<Batch>,
    attempts: u32,
    /// After a 401/403: the failure every later batch gets without being sent.
    fatal: Option<FailedBatch>,
    report: IngestReport,
}

impl Batcher {
    /// `target: None` is a dry run.
    pub fn new(target: Option<IngestTarget>) -> Self {
        Batcher {
            target,
            limit_bytes: MAX_BATCH_BYTES,
            buf: Vec::new(),
            buf_bytes: 2,
            buf_start: 0,
            pushed: 0,
            waiting: Vec::new(),
            in_flight: None,
            attempts: 0,
            fatal: None,
            report: IngestReport::default(),
        }
    }

    /// Events handed over so far.
    pub fn pushed(&self) -> usize {
        self.pushed
    }

    /// The body size later batches are built to.
    pub fn limit_bytes(&self) -> usize {
        self.limit_bytes
    }

    /// Adds an event; when it does not fit the buffered batch, that batch is ready to send
    /// first ([`Batcher::next_request`]).
    pub fn push(&mut self, event: PreparedEvent) {
        self.pushed += 1;
        if self.target.is_none() {
            return;
        }
        self.report.sent += 1;
        let add = event.json.len() + usize::from(!self.buf.is_empty());
        if !self.buf.is_empty()
            && (self.buf_bytes + add > self.limit_bytes || self.buf.len() >= MAX_BATCH_EVENTS)
        {
            self.flush();
        }
        self.buf_bytes += event.json.len() + usize::from(!self.buf.is_empty());
        self.buf.push(event);
    }

    /// Makes the buffered events a batch to send.
    pub fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let events = std::mem::take(&mut self.buf);
        let start = self.buf_start;
        self.buf_start += events.len();
        self.buf_bytes = 2;
        self.waiting.push(Batch { start, events });
    }

    /// The next request to send, or `None` when no batch is waiting (or a request is still
    /// unanswered). Batches that cannot be sent are reported on the way: a single event over
    /// the 5 MiB limit is rejected, and after a 401/403 every batch fails as that one did.
    pub fn next_request(&mut self) -> Option<HttpRequest> {
        if self.in_flight.is_some() {
            return None;
        }
        let target = self.target.as_ref()?;
        while let Some(batch) = self.waiting.pop() {
            if let Some(f) = &self.fatal {
                self.report.failed.push(FailedBatch {
                    first_index: batch.start,
                    count: batch.events.len(),
                    ..f.clone()
                });
                continue;
            }
            let bytes = batch.bytes();
            if batch.events.len() == 1 && bytes > MAX_BATCH_BYTES {
                let message = format!(
                    "event is {} bytes; the ingest limit is 5 MiB per request",
                    bytes - 2
                );
                self.report.rejected.push(batch.rejected(0, message));
                continue;
            }
            if batch.events.len() > 1 && bytes > self.limit_bytes {
                // Built before a 413 taught the limit: split without asking the server again.
                let (first, second) = batch.halves();
                self.waiting.push(second);
                self.waiting.push(first);
                continue;
            }
            let request = ingest_request(target, body_of(&batch.events));
            self.report.batches += 1;
            self.in_flight = Some(batch);
            return Some(request);
        }
        None
    }

    /// The outcome of the request [`Batcher::next_request`] gave, after `attempts` attempts
    /// (the retries are the driver's: [`crate::protocol::retry::Retry`]).
    pub fn on_reply(&mut self, outcome: Result<HttpResponse>, attempts: u32) {
        let Some(batch) = self.in_flight.take() else {
            return;
        };
        self.attempts = self.attempts.saturating_add(attempts);
        let response = match outcome {
            Ok(r) => r,
            Err(e) => {
                let failed = batch.failed(e.code(), e.status(), e.detail());
                self.report.failed.push(failed);
                return;
            }
        };
        match response.status {
            200..=299 => self.report.accepted += batch.events.len(),
            413 if batch.events.len() > 1 => {
                let (first, second) = batch.halves();
                // The server refused this size: later batches are built no larger than the
                // larger half, which is about to be tried.
                self.limit_bytes = self.limit_bytes.min(first.bytes().max(second.bytes()));
                self.waiting.push(second);
                self.waiting.push(first);
            }
            413 => self.report.rejected.push(batch.rejected(
                0,
                "payload too large (413) even as a single event".to_string(),
            )),
            400 => match partial_errors(&response.body, &batch.events) {
                Some(errors) => {
                    self.report.accepted += batch.events.len() - errors.len();
                    for (i, message) in errors {
                        self.report.rejected.push(batch.rejected(i, message));
                    }
                }
                None => self.report.failed.push(batch.failed(
                    "INGEST_FAILED",
                    Some(400),
                    error_message(&response.body),
                )),
            },
            status => {
                let failed = batch.failed(
                    status_code_name(status),
                    Some(status),
                    error_message(&response.body),
                );
                if matches!(status, 401 | 403) {
                    self.fatal = Some(failed.clone());
                }
                self.report.failed.push(failed);
            }
        }
    }

    /// The report: every event handed over is counted once as accepted, rejected or failed.
    /// Events the caller did not have sent (buffered, waiting or unanswered) are failed.
    pub fn finish(mut self) -> IngestReport {
        self.flush();
        let unsent = self
            .in_flight
            .take()
            .into_iter()
            .chain(self.waiting.drain(..));
        for batch in unsent {
            let failed = batch.failed("INGEST_FAILED", None, "not sent".to_string());
            self.report.failed.push(failed);
        }
        let mut report = self.report;
        report.retries = self
            .attempts
            .saturating_sub(u32::try_from(report.batches).unwrap_or(u32::MAX));
        sort_by_key_stable(&mut report.rejected, |r| key_of(r.index));
        sort_by_key_stable(&mut report.failed, |f| key_of(f.first_index));
        report
    }
}

/// The request that sends `body` to `target`. Repeating it is safe: every event carries a
/// deterministic `event.id`.
pub fn ingest_request(target: &IngestTarget, body: String) -> HttpRequest {
    let request = HttpRequest::post(target.url.clone(), "application/json; charset=utf-8", body)
        .idempotent(true);
    match &target.auth {
        IngestAuth::None => request,
        IngestAuth::Bearer(t) => request.header("Authorization", format!("Bearer {}", t.expose())),
        IngestAuth::ApiToken(t) => {
            request.header("Authorization", format!("Api-Token {}", t.expose()))
        }
    }
}

fn body_bytes(events: &[PreparedEvent]) -> usize {
    events.iter().map(|e| e.json.len()).sum::<usize>() + events.len().saturating_sub(1) + 2
}

fn body_of(events: &[PreparedEvent]) -> String {
    let mut body = String::with_capacity(body_bytes(events));
    body.push('[');
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&e.json);
    }
    body.push(']');
    body
}

/// The `code` of a batch refused with `status`.
pub fn status_code_name(status: u16) -> &'static str {
    match status {
        401 => "UNAUTHORIZED",
        403 => "FORBIDDEN",
        429 => "RATE_LIMITED",
        _ => "INGEST_FAILED",
    }
}

#[derive(serde::Deserialize)]
struct PartialReply {
    #[serde(default)]
    errors: Option<Vec<PartialError>>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(serde::Deserialize)]
struct PartialError {
    #[serde(default)]
    index: Option<usize>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// The per-event errors of a partial 400, as batch-relative indices (by `index`, else by event
/// `id`). `None` if the body is not that shape, or names an event not in the batch (then the
/// whole request failed).
fn partial_errors(body: &str, batch: &[PreparedEvent]) -> Option<Vec<(usize, String)>> {
    let reply: PartialReply = serde_json::from_str(body).ok()?;
    let errors = reply.errors.or_else(|| {
        reply
            .error
            .and_then(|e| serde_json::from_value(e.get("errors")?.clone()).ok())
    })?;
    if errors.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(errors.len());
    for e in errors {
        let index = e.index.filter(|i| *i < batch.len()).or_else(|| {
            let id = e.id.as_deref()?;
            batch.iter().position(|b| b.id.as_deref() == Some(id))
        })?;
        out.push((index, e.message.unwrap_or_else(|| "rejected".to_string())));
    }
    sort_by_key_stable(&mut out, |(i, _)| key_of(*i));
    out.dedup_by_key(|(i, _)| *i);
    Some(out)
}

/// An event index as a sort key (indices fit: they count events in memory).
pub(crate) fn key_of(index: usize) -> i64 {
    i64::try_from(index).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Secret;
    use crate::error::Error;
    use crate::ingest::PLATFORM_INGEST_PATH;

    fn target() -> IngestTarget {
        IngestTarget::new(
            "https://env.example.test/api/v2/bizevents/ingest",
            IngestAuth::ApiToken(Secret::new("t0ken")),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn ev(n: usize) -> PreparedEvent {
        PreparedEvent {
            id: Some(format!("id{n}")),
            json: format!("{{\"n\":{n}}}"),
        }
    }

    /// An event whose JSON is `bytes` long.
    fn sized(n: usize, bytes: usize) -> PreparedEvent {
        let head = format!("{{\"n\":{n},\"p\":\"");
        PreparedEvent {
            id: Some(format!("id{n}")),
            json: format!("{head}{}\"}}", "x".repeat(bytes - head.len() - 2)),
        }
    }

    fn count(request: &HttpRequest) -> usize {
        serde_json::from_str::<Vec<serde_json::Value>>(request.body.as_deref().unwrap_or(""))
            .map(|v| v.len())
            .unwrap_or(0)
    }

    fn first_n(request: &HttpRequest) -> u64 {
        serde_json::from_str::<Vec<serde_json::Value>>(request.body.as_deref().unwrap_or(""))
            .ok()
            .and_then(|v| v.first()?.get("n")?.as_u64())
            .unwrap_or(u64::MAX)
    }

    fn reply(status: u16, body: &str) -> Result<HttpResponse> {
        Ok(HttpResponse::new(status, body))
    }

    /// Pushes `events`, flushes, and answers every request with `answer`; the requests made.
    fn run(
        b: &mut Batcher,
        events: impl IntoIterator<Item = PreparedEvent>,
        mut answer: impl FnMut(&HttpRequest) -> Result<HttpResponse>,
    ) -> Vec<HttpRequest> {
        let mut sent = Vec::new();
        let mut drain = |b: &mut Batcher, sent: &mut Vec<HttpRequest>| {
            while let Some(r) = b.next_request() {
                b.on_reply(answer(&r), 1);
                sent.push(r);
            }
        };
        for e in events {
            b.push(e);
            drain(b, &mut sent);
        }
        b.flush();
        drain(b, &mut sent);
        sent
    }

    #[test]
    fn a_request_is_an_idempotent_json_post_with_the_target_auth() {
        let mut b = Batcher::new(Some(target()));
        b.push(ev(0));
        b.push(ev(1));
        assert!(
            b.next_request().is_none(),
            "nothing is sent before the batch is full"
        );
        b.flush();
        let r = b.next_request().unwrap_or_else(|| panic!("a request"));
        assert_eq!(r.body.as_deref(), Some(r#"[{"n":0},{"n":1}]"#));
        assert_eq!(r.header_value("authorization"), Some("Api-Token t0ken"));
        assert!(
            r.idempotent,
            "ids are deterministic: a repeat stores nothing twice"
        );
        assert!(b.next_request().is_none(), "one request at a time");
        b.on_reply(reply(202, ""), 1);
        let report = b.finish();
        assert!(report.is_complete());
        assert_eq!((report.sent, report.accepted, report.batches), (2, 2, 1));
    }

    #[test]
    fn batches_respect_bytes_and_count() {
        let big = PreparedEvent {
            id: None,
            json: format!("\"{}\"", "x".repeat(MAX_BATCH_BYTES / 3)),
        };
        let events: Vec<PreparedEvent> = (0..7)
            .map(|_| big.clone())
            .chain((0..MAX_BATCH_EVENTS + 1).map(ev))
            .collect();
        let total = events.len();
        let mut b = Batcher::new(Some(target()));
        let sent = run(&mut b, events, |_| reply(202, ""));
        assert!(b.finish().is_complete());
        assert!(sent
            .iter()
            .all(|r| r.body.as_ref().map_or(0, String::len) <= MAX_BATCH_BYTES));
        let counts: Vec<usize> = sent.iter().map(count).collect();
        // two big events per batch (three would pass the byte limit), then the count limit
        assert_eq!(&counts[..4], &[2, 2, 2, 1 + MAX_BATCH_EVENTS - 1]);
        assert_eq!(counts.iter().sum::<usize>(), total);
        assert!(run(&mut Batcher::new(Some(target())), [], |_| reply(202, "")).is_empty());
    }

    #[test]
    fn a_dry_run_counts_and_sends_nothing() {
        let mut b = Batcher::new(None);
        assert!(run(&mut b, (0..10).map(ev), |_| reply(500, "")).is_empty());
        assert_eq!(b.pushed(), 10);
        assert_eq!(b.finish(), IngestReport::default());
    }

    #[test]
    fn a_413_splits_the_batch_and_the_next_request_is_its_first_half() {
        let mut b = Batcher::new(Some(target()));
        for n in 0..4 {
            b.push(ev(n));
        }
        b.flush();
        let r = b.next_request().unwrap_or_else(|| panic!());
        assert_eq!(count(&r), 4);
        b.on_reply(reply(413, ""), 1);
        let r = b.next_request().unwrap_or_else(|| panic!());
        assert_eq!((count(&r), first_n(&r)), (2, 0));
        b.on_reply(reply(413, ""), 1);
        let r = b.next_request().unwrap_or_else(|| panic!());
        assert_eq!((count(&r), first_n(&r)), (1, 0));
        b.on_reply(reply(202, ""), 1);
        let r = b.next_request().unwrap_or_else(|| panic!());
        assert_eq!((count(&r), first_n(&r)), (1, 1));
        b.on_reply(reply(413, ""), 1);
        // the second half of the first split: no longer than the learned limit, so it goes
        // out as one request
        let r = b.next_request().unwrap_or_else(|| panic!());
        assert_eq!(
            (count(&r), first_n(&r)),
            (1, 2),
            "split to the learned limit"
        );
        b.on_reply(reply(202, ""), 1);
        let r = b.next_request().unwrap_or_else(|| panic!());
        assert_eq!((count(&r), first_n(&r)), (1, 3));
        b.on_reply(reply(202, ""), 1);
        assert!(b.next_request().is_none());
        let report = b.finish();
        assert_eq!(report.accepted, 3);
        assert_eq!(report.rejected.len(), 1);
        assert_eq!(report.rejected[0].index, 1);
        assert_eq!(report.rejected[0].event_id.as_deref(), Some("id1"));
        assert!(report.rejected[0].message.contains("413"));
    }

    #[test]
    fn once_a_413_shows_the_limit_later_batches_are_built_to_it() {
        // a server that takes at most 1 MB; batches of ~4.5 MB at first
        let limit = 1_000_000;
        let events: Vec<PreparedEvent> = (0..200).map(|n| sized(n, 100_000)).collect();
        let mut b = Batcher::new(Some(target()));
        let mut refused = 0;
        let sent = run(&mut b, events, |r| {
            if r.body.as_ref().map_or(0, String::len) > limit {
                refused += 1;
                reply(413, "")
            } else {
                reply(202, "")
            }
        });
        let report = b.finish();
        assert!(report.is_complete(), "{report:?}");
        assert!(sent.len() > 20, "many batches: {}", sent.len());
        // 4.5 MB → 2.25 → 1.1 → 0.56 MB: three refusals teach the limit, once for the run
        assert_eq!(refused, 3, "{} requests", sent.len());
        assert!(b_limit_after(limit) <= limit);
        assert_eq!(report.batches, sent.len());
    }

    /// The limit a batcher learns from a server that refuses bodies over `limit`.
    fn b_limit_after(limit: usize) -> usize {
        let mut b = Batcher::new(Some(target()));
        run(&mut b, (0..50).map(|n| sized(n, 100_000)), |r| {
            reply(
                if r.body.as_ref().map_or(0, String::len) > limit {
                    413
                } else {
                    202
                },
                "",
            )
        });
        let learned = b.limit_bytes();
        assert!(
            learned > limit / 2,
            "never below half the server's limit: {learned}"
        );
        learned
    }

    #[test]
    fn a_partial_400_maps_each_error_to_its_event() {
        let mut b = Batcher::new(Some(target()));
        b.push(PreparedEvent {
            id: Some("first".into()),
            json: "{}".into(),
        });
        b.flush();
        let r = b.next_request().unwrap_or_else(|| panic!());
        b.on_reply(reply(202, ""), 1);
        assert_eq!(count(&r), 1);
        for n in 1..5 {
            b.push(ev(n));
        }
        b.flush();
        assert!(b.next_request().is_some());
        // by index and by id, out of order, one twice
        b.on_reply(
            reply(
                400,
                r#"{"error":{"code":400,"errors":[{"index":3,"message":"too long"},{"id":"id2","message":"bad type"},{"index":3,"message":"again"}]}}"#,
            ),
            1,
        );
        let report = b.finish();
        assert_eq!(report.accepted, 3);
        let rejected: Vec<(usize, Option<&str>, &str)> = report
            .rejected
            .iter()
            .map(|r| (r.index, r.event_id.as_deref(), r.message.as_str()))
            .collect();
        assert_eq!(
            rejected,
            [(2, Some("id2"), "bad type"), (4, Some("id4"), "too long")],
            "indices count from the first event handed over"
        );
    }

    #[test]
    fn partial_reply_shapes() {
        let batch: Vec<PreparedEvent> = (0..3).map(ev).collect();
        let p = partial_errors(
            r#"{"errors":[{"id":null,"index":2,"message":"bad","source":null}]}"#,
            &batch,
        );
        assert_eq!(p, Some(vec![(2, "bad".to_string())]));
        let p = partial_errors(
            r#"{"error":{"code":400,"errors":[{"id":"id1","message":"x"}]}}"#,
            &batch,
        );
        assert_eq!(p, Some(vec![(1, "x".to_string())]));
        assert_eq!(
            partial_errors(r#"{"error":{"code":400,"message":"bad json"}}"#, &batch),
            None
        );
        assert_eq!(partial_errors(r#"{"errors":[{"index":9}]}"#, &batch), None);
    }

    #[test]
    fn a_400_without_event_errors_fails_the_batch() {
        let mut b = Batcher::new(Some(target()));
        run(&mut b, (0..3).map(ev), |_| {
            reply(400, r#"{"error":{"code":400,"message":"bad json"}}"#)
        });
        let report = b.finish();
        assert_eq!(report.failed.len(), 1);
        let f = &report.failed[0];
        assert_eq!(
            (
                f.first_index,
                f.count,
                f.code.as_str(),
                f.status,
                f.message.as_str()
            ),
            (0, 3, "INGEST_FAILED", Some(400), "bad json")
        );
    }

    #[test]
    fn after_a_401_nothing_more_is_sent() {
        let mut b = Batcher::new(Some(target()));
        let events: Vec<PreparedEvent> = (0..3 * MAX_BATCH_EVENTS).map(ev).collect();
        let sent = run(&mut b, events, |_| {
            reply(401, r#"{"error":{"message":"no"}}"#)
        });
        assert_eq!(sent.len(), 1, "the first refusal ends the sending");
        let report = b.finish();
        assert_eq!(report.not_delivered(), 3 * MAX_BATCH_EVENTS);
        assert!(report
            .failed
            .iter()
            .all(|f| f.code == "UNAUTHORIZED" && f.status == Some(401)));
        assert_eq!(
            report
                .failed
                .iter()
                .map(|f| f.first_index)
                .collect::<Vec<_>>(),
            [0, MAX_BATCH_EVENTS, 2 * MAX_BATCH_EVENTS]
        );
    }

    #[test]
    fn an_event_over_5_mib_is_rejected_without_a_request() {
        let mut b = Batcher::new(Some(target()));
        let huge = sized(1, MAX_BATCH_BYTES + 10);
        let sent = run(&mut b, [ev(0), huge, ev(2)], |_| reply(202, ""));
        assert_eq!(sent.iter().map(count).sum::<usize>(), 2);
        let report = b.finish();
        assert_eq!(report.accepted, 2);
        assert_eq!(report.rejected.len(), 1);
        assert_eq!(report.rejected[0].index, 1);
        assert!(report.rejected[0].message.contains("5 MiB"));
    }

    #[test]
    fn transport_failures_and_other_statuses_fail_the_batch_with_their_code() {
        for (outcome, code, status) in [
            (
                Err(Error::Network {
                    endpoint: "x".into(),
                    message: "reset".into(),
                }),
                "NETWORK",
                None,
            ),
            (reply(429, ""), "RATE_LIMITED", Some(429)),
            (reply(403, ""), "FORBIDDEN", Some(403)),
            (reply(500, ""), "INGEST_FAILED", Some(500)),
        ] {
            let mut b = Batcher::new(Some(target()));
            b.push(ev(0));
            b.flush();
            assert!(b.next_request().is_some());
            b.on_reply(outcome, 4);
            let report = b.finish();
            assert_eq!(report.failed.len(), 1);
            assert_eq!(
                (report.failed[0].code.as_str(), report.failed[0].status),
                (code, status)
            );
            assert_eq!(report.retries, 3, "attempts beyond one per batch");
        }
    }

    #[test]
    fn events_never_sent_are_reported_not_lost() {
        let mut b = Batcher::new(Some(target()));
        b.push(ev(0));
        b.flush();
        assert!(b.next_request().is_some());
        b.push(ev(1));
        let report = b.finish();
        assert_eq!(report.sent, 2);
        assert_eq!(report.not_delivered(), 2);
        assert!(!report.is_complete());
    }

    #[test]
    fn a_relative_target_sends_no_authorization() {
        let t = IngestTarget::new(PLATFORM_INGEST_PATH, IngestAuth::None)
            .unwrap_or_else(|e| panic!("{e}"));
        let r = ingest_request(&t, "[]".into());
        assert_eq!(r.url, PLATFORM_INGEST_PATH);
        assert_eq!(r.header_value("authorization"), None);
    }
}
