//! Bizevent ingest: batches under the 5 MiB request limit, 413 splits, 429/5xx retries, and a
//! report that says exactly which events were stored, rejected or not delivered.

use serde::{Deserialize, Serialize};

use crate::auth::Secret;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::http::{error_message, send_counting, BaseUrl, HttpClient, HttpRequest, RetryPolicy};
use crate::process::sort_by_key_stable;

/// Dynatrace refuses requests over 5 MiB with 413; stay clearly below.
pub const MAX_BATCH_BYTES: usize = 4_500_000;
/// Events per request.
pub const MAX_BATCH_EVENTS: usize = 5_000;
/// The ingest path inside a Dynatrace environment; relative inside a Workflow.
pub const PLATFORM_INGEST_PATH: &str = "/platform/classic/environment-api/v2/bizevents/ingest";

/// How ingest requests are authorised.
#[derive(Debug, Clone)]
pub enum IngestAuth {
    /// No header: a Workflow's relative `/platform/…` call carries the caller's identity.
    None,
    /// `Authorization: Bearer …` (OAuth, `storage:events:write`).
    Bearer(Secret),
    /// `Authorization: Api-Token …` (classic `/api/v2/bizevents/ingest` only).
    ApiToken(Secret),
}

/// Where events go.
#[derive(Debug, Clone)]
pub struct IngestTarget {
    pub url: String,
    pub auth: IngestAuth,
}

impl IngestTarget {
    /// Validates `url`: an https (or loopback http) URL, or a relative `/platform/…` path.
    pub fn new(url: &str, auth: IngestAuth) -> Result<Self> {
        let url = url.trim();
        let url = if url.starts_with("/platform/") {
            if url.contains("..") || url.contains(['?', '#']) {
                return Err(Error::invalid(
                    "ingest.url",
                    "a relative ingest URL must be a plain /platform/… path",
                ));
            }
            url.to_string()
        } else {
            BaseUrl::parse("ingest.url", url)?.as_str().to_string()
        };
        if matches!(auth, IngestAuth::ApiToken(_)) && url.contains("/platform/") {
            return Err(Error::invalid(
                "ingest.apiToken",
                "platform ingest paths accept only Bearer tokens; use the classic /api/v2/bizevents/ingest URL for an Api-Token",
            ));
        }
        Ok(IngestTarget { url, auth })
    }
}

/// An event serialized once, with its id kept for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedEvent {
    pub id: Option<String>,
    pub json: String,
}

impl PreparedEvent {
    pub fn from_serialize<T: Serialize>(id: Option<&str>, event: &T) -> Result<Self> {
        let json = serde_json::to_string(event).map_err(|e| Error::Internal {
            message: format!("event serialization: {e}"),
        })?;
        Ok(PreparedEvent {
            id: id.map(str::to_string),
            json,
        })
    }
}

/// One event the server (or the size limit) refused; retrying it will not help.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct Rejected {
    /// Position in the order the events were handed over (per account in a sync).
    pub index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_uuid: Option<String>,
    pub event_id: Option<String>,
    pub message: String,
}

/// Events that were not delivered (after retries), e.g. the service stayed unavailable.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct FailedBatch {
    pub first_index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_uuid: Option<String>,
    pub count: usize,
    #[cfg_attr(feature = "tsify", tsify(type = "DpsCostErrorCode"))]
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub message: String,
}

/// What happened to every event handed to [`ingest`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct IngestReport {
    pub sent: usize,
    pub accepted: usize,
    pub rejected: Vec<Rejected>,
    pub failed: Vec<FailedBatch>,
    pub batches: usize,
    pub retries: u32,
}

impl IngestReport {
    /// Every event stored.
    pub fn is_complete(&self) -> bool {
        self.rejected.is_empty() && self.failed.is_empty() && self.accepted == self.sent
    }

    pub fn not_delivered(&self) -> usize {
        self.failed.iter().map(|f| f.count).sum()
    }
}

fn body_of(events: &[PreparedEvent]) -> String {
    let mut body =
        String::with_capacity(events.iter().map(|e| e.json.len() + 1).sum::<usize>() + 2);
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

#[derive(Deserialize)]
struct PartialReply {
    #[serde(default)]
    errors: Option<Vec<PartialError>>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct PartialError {
    #[serde(default)]
    index: Option<usize>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// The per-event errors of a partial 400, as batch-relative indices. `None` if the body is not
/// that shape (then the whole request failed).
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

/// Sends events in batches as they come (`push`), so a sync of millions of events never holds
/// more than one batch: each batch stays under [`MAX_BATCH_BYTES`] (measured on the exact body)
/// and [`MAX_BATCH_EVENTS`]. Without a target (a dry run) events are only counted. It never
/// fails as a whole: a batch that could not be delivered is listed in `failed`; after a 401/403
/// nothing more is sent (it would fail the same way) and the rest is listed too.
pub struct BatchSender<'a, C: HttpClient, K: Clock + ?Sized> {
    http: &'a C,
    clock: &'a K,
    target: Option<&'a IngestTarget>,
    retry: RetryPolicy,
    buf: Vec<PreparedEvent>,
    buf_bytes: usize,
    /// Index (in push order) of the first buffered event.
    buf_start: usize,
    pushed: usize,
    attempts: u32,
    fatal: Option<FailedBatch>,
    report: IngestReport,
}

impl<'a, C: HttpClient, K: Clock + ?Sized> BatchSender<'a, C, K> {
    /// `target: None` is a dry run.
    pub fn new(
        http: &'a C,
        clock: &'a K,
        target: Option<&'a IngestTarget>,
        retry: RetryPolicy,
    ) -> Self {
        BatchSender {
            http,
            clock,
            target,
            retry,
            buf: Vec::new(),
            buf_bytes: 2,
            buf_start: 0,
            pushed: 0,
            attempts: 0,
            fatal: None,
            report: IngestReport::default(),
        }
    }

    /// Events handed over so far.
    pub fn pushed(&self) -> usize {
        self.pushed
    }

    /// Adds an event, sending the buffered batch first if this one would not fit.
    pub async fn push(&mut self, event: PreparedEvent) {
        self.pushed += 1;
        if self.target.is_none() {
            return;
        }
        self.report.sent += 1;
        let add = event.json.len() + usize::from(!self.buf.is_empty());
        if !self.buf.is_empty()
            && (self.buf_bytes + add > MAX_BATCH_BYTES || self.buf.len() >= MAX_BATCH_EVENTS)
        {
            self.flush().await;
        }
        self.buf_bytes += event.json.len() + usize::from(!self.buf.is_empty());
        self.buf.push(event);
    }

    /// Sends what is buffered.
    pub async fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.buf);
        let start = self.buf_start;
        self.buf_start += batch.len();
        self.buf_bytes = 2;
        self.deliver(batch, start).await;
    }

    /// Sends the rest and returns the report.
    pub async fn finish(mut self) -> IngestReport {
        self.flush().await;
        let mut report = self.report;
        report.retries = self
            .attempts
            .saturating_sub(u32::try_from(report.batches).unwrap_or(u32::MAX));
        sort_by_key_stable(&mut report.rejected, |r| key_of(r.index));
        sort_by_key_stable(&mut report.failed, |f| key_of(f.first_index));
        report
    }

    /// One batch, split in halves on 413 until it fits.
    async fn deliver(&mut self, events: Vec<PreparedEvent>, first_index: usize) {
        let Some(target) = self.target else { return };
        let mut work: Vec<(usize, Vec<PreparedEvent>)> = vec![(first_index, events)];
        while let Some((start, batch)) = work.pop() {
            if let Some(f) = &self.fatal {
                self.report.failed.push(FailedBatch {
                    first_index: start,
                    count: batch.len(),
                    ..f.clone()
                });
                continue;
            }
            let body = body_of(&batch);
            if batch.len() == 1 && body.len() > MAX_BATCH_BYTES {
                self.report.rejected.push(Rejected {
                    account_uuid: None,
                    index: start,
                    event_id: batch[0].id.clone(),
                    message: format!(
                        "event is {} bytes; the ingest limit is 5 MiB per request",
                        body.len() - 2
                    ),
                });
                continue;
            }
            // Repeating a batch is safe: every event carries a deterministic `event.id`.
            let mut request =
                HttpRequest::post(target.url.clone(), "application/json; charset=utf-8", body)
                    .idempotent(true);
            match &target.auth {
                IngestAuth::None => {}
                IngestAuth::Bearer(t) => {
                    request = request.header("Authorization", format!("Bearer {}", t.expose()))
                }
                IngestAuth::ApiToken(t) => {
                    request = request.header("Authorization", format!("Api-Token {}", t.expose()))
                }
            }
            self.report.batches += 1;
            let response = match send_counting(
                self.http,
                self.clock,
                &request,
                self.retry,
                &mut self.attempts,
            )
            .await
            {
                Ok(r) => r,
                Err(e) => {
                    self.report.failed.push(FailedBatch {
                        account_uuid: None,
                        first_index: start,
                        count: batch.len(),
                        code: e.code().to_string(),
                        status: e.status(),
                        message: e.detail(),
                    });
                    continue;
                }
            };
            match response.status {
                200..=299 => self.report.accepted += batch.len(),
                413 if batch.len() > 1 => {
                    let mut first = batch;
                    let second = first.split_off(first.len() / 2);
                    let mid = start + first.len();
                    work.push((mid, second));
                    work.push((start, first));
                }
                413 => self.report.rejected.push(Rejected {
                    account_uuid: None,
                    index: start,
                    event_id: batch[0].id.clone(),
                    message: "payload too large (413) even as a single event".to_string(),
                }),
                400 => match partial_errors(&response.body, &batch) {
                    Some(errors) => {
                        self.report.accepted += batch.len() - errors.len();
                        self.report
                            .rejected
                            .extend(errors.into_iter().map(|(i, message)| Rejected {
                                account_uuid: None,
                                index: start + i,
                                event_id: batch[i].id.clone(),
                                message,
                            }));
                    }
                    None => self.report.failed.push(FailedBatch {
                        account_uuid: None,
                        first_index: start,
                        count: batch.len(),
                        code: "INGEST_FAILED".to_string(),
                        status: Some(400),
                        message: error_message(&response.body),
                    }),
                },
                status => {
                    let failed = FailedBatch {
                        account_uuid: None,
                        first_index: start,
                        count: batch.len(),
                        code: status_code_name(status).to_string(),
                        status: Some(status),
                        message: error_message(&response.body),
                    };
                    if matches!(status, 401 | 403) {
                        self.fatal = Some(failed.clone());
                    }
                    self.report.failed.push(failed);
                }
            }
        }
    }
}

/// Sends `events` in batches and reports the fate of each one (see [`BatchSender`]).
pub async fn ingest_report<C: HttpClient, K: Clock + ?Sized>(
    http: &C,
    clock: &K,
    target: &IngestTarget,
    events: &[PreparedEvent],
    retry: RetryPolicy,
) -> IngestReport {
    let mut sender = BatchSender::new(http, clock, Some(target), retry);
    for e in events {
        sender.push(e.clone()).await;
    }
    sender.finish().await
}

fn status_code_name(status: u16) -> &'static str {
    match status {
        401 => "UNAUTHORIZED",
        403 => "FORBIDDEN",
        429 => "RATE_LIMITED",
        _ => "INGEST_FAILED",
    }
}

/// [`ingest_report`], but a run in which nothing was stored and something failed is an error
/// (the first failure's), so a caller cannot mistake it for success.
pub async fn ingest<C: HttpClient, K: Clock + ?Sized>(
    http: &C,
    clock: &K,
    target: &IngestTarget,
    events: &[PreparedEvent],
    retry: RetryPolicy,
) -> Result<IngestReport> {
    let report = ingest_report(http, clock, target, events, retry).await;
    if report.accepted == 0 {
        if let Some(f) = report.failed.first() {
            return Err(match f.code.as_str() {
                "UNAUTHORIZED" | "FORBIDDEN" | "RATE_LIMITED" => Error::Http {
                    status: f.status.unwrap_or(0),
                    method: "POST",
                    endpoint: endpoint_for_error(&target.url),
                    message: f.message.clone(),
                    retry_after_secs: None,
                },
                "TIMEOUT" => Error::Timeout {
                    endpoint: endpoint_for_error(&target.url),
                    ms: retry.timeout_ms,
                },
                "NETWORK" => Error::Network {
                    endpoint: endpoint_for_error(&target.url),
                    message: f.message.clone(),
                },
                _ => Error::IngestFailed {
                    status: f.status.unwrap_or(0),
                    message: f.message.clone(),
                },
            });
        }
    }
    Ok(report)
}

fn endpoint_for_error(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or(url).to_string()
}

/// An event index as a sort key (indices fit: they count events in memory).
fn key_of(index: usize) -> i64 {
    i64::try_from(index).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(n: usize) -> PreparedEvent {
        PreparedEvent {
            id: Some(format!("id{n}")),
            json: format!("{{\"n\":{n}}}"),
        }
    }

    /// Records the bodies it is sent and answers 202.
    #[cfg(not(target_arch = "wasm32"))]
    struct Sink(std::cell::RefCell<Vec<String>>);

    #[cfg(not(target_arch = "wasm32"))]
    impl HttpClient for Sink {
        async fn send(&self, r: &HttpRequest) -> Result<crate::http::HttpResponse> {
            self.0.borrow_mut().push(r.body.clone().unwrap_or_default());
            Ok(crate::http::HttpResponse::new(202, ""))
        }
        async fn sleep(&self, _ms: u64) {}
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn batches_respect_bytes_and_count() {
        let target = IngestTarget::new(PLATFORM_INGEST_PATH, IngestAuth::None)
            .unwrap_or_else(|e| panic!("{e}"));
        let big = PreparedEvent {
            id: None,
            json: format!("\"{}\"", "x".repeat(MAX_BATCH_BYTES / 3)),
        };
        let events: Vec<PreparedEvent> = (0..7)
            .map(|_| big.clone())
            .chain((0..MAX_BATCH_EVENTS + 1).map(ev))
            .collect();
        let sink = Sink(std::cell::RefCell::new(Vec::new()));
        let report = pollster::block_on(ingest_report(
            &sink,
            &crate::clock::FixedClock(0),
            &target,
            &events,
            RetryPolicy::NONE,
        ));
        assert!(report.is_complete());
        let bodies = sink.0.borrow();
        assert!(bodies.iter().all(|b| b.len() <= MAX_BATCH_BYTES));
        let counts: Vec<usize> = bodies
            .iter()
            .map(|b| {
                serde_json::from_str::<Vec<serde_json::Value>>(b)
                    .map(|v| v.len())
                    .unwrap_or(0)
            })
            .collect();
        // two big events per batch (three would pass the byte limit), then the count limit
        assert_eq!(&counts[..4], &[2, 2, 2, 1 + MAX_BATCH_EVENTS - 1]);
        assert_eq!(counts.iter().sum::<usize>(), events.len());
        assert!(
            pollster::block_on(ingest_report(
                &sink,
                &crate::clock::FixedClock(0),
                &target,
                &[],
                RetryPolicy::NONE
            ))
            .batches
                == 0
        );
    }

    #[test]
    fn targets() {
        assert!(IngestTarget::new(PLATFORM_INGEST_PATH, IngestAuth::None).is_ok());
        assert!(IngestTarget::new(
            "https://abc.live.dynatrace.com/api/v2/bizevents/ingest",
            IngestAuth::ApiToken(Secret::new("t"))
        )
        .is_ok());
        let e = IngestTarget::new(
            "https://abc.apps.dynatrace.com/platform/classic/environment-api/v2/bizevents/ingest",
            IngestAuth::ApiToken(Secret::new("t")),
        );
        assert_eq!(
            e.err()
                .and_then(|e| e.field().map(str::to_string))
                .as_deref(),
            Some("ingest.apiToken")
        );
        assert!(IngestTarget::new("/platform/../x", IngestAuth::None).is_err());
        assert!(IngestTarget::new("http://evil.example/ingest", IngestAuth::None).is_err());
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
}
