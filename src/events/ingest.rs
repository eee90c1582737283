//! Bizevent ingest: batches under the 5 MiB request limit, 413 splits, 429/5xx retries, and a
//! report that says exactly which events were stored, rejected or not delivered.

use serde::{Deserialize, Serialize};

use crate::auth::Secret;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::http::{error_message, send_counting, BaseUrl, HttpClient, HttpRequest, RetryPolicy};

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
#[serde(rename_all = "camelCase")]
pub struct Rejected {
    pub index: usize,
    pub event_id: Option<String>,
    pub message: String,
}

/// Events that were not delivered (after retries), e.g. the service stayed unavailable.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailedBatch {
    pub first_index: usize,
    pub count: usize,
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub message: String,
}

/// What happened to every event handed to [`ingest`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
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

/// Splits `events` into index ranges of at most `max_bytes` request body bytes and `max_events`
/// events. An event that alone exceeds `max_bytes` gets a range of its own (the caller rejects it).
pub fn plan_batches(
    events: &[PreparedEvent],
    max_bytes: usize,
    max_events: usize,
) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 2; // "[" and "]"
    for (i, e) in events.iter().enumerate() {
        let add = e.json.len() + usize::from(i > start);
        if i > start && (bytes + add > max_bytes || i - start >= max_events) {
            out.push(start..i);
            start = i;
            bytes = 2;
        }
        bytes += e.json.len() + usize::from(i > start);
    }
    if start < events.len() {
        out.push(start..events.len());
    }
    out
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
    out.sort_by_key(|(i, _)| *i);
    out.dedup_by_key(|(i, _)| *i);
    Some(out)
}

/// Sends `events` in batches and reports the fate of each one. Never fails as a whole: a
/// batch that could not be delivered is listed in `failed`; after a 401/403 the remaining
/// batches are not tried (they would fail the same way) and are listed too.
pub async fn ingest_report<C: HttpClient, K: Clock + ?Sized>(
    http: &C,
    clock: &K,
    target: &IngestTarget,
    events: &[PreparedEvent],
    retry: RetryPolicy,
) -> IngestReport {
    let mut report = IngestReport {
        sent: events.len(),
        ..IngestReport::default()
    };
    let mut work: Vec<std::ops::Range<usize>> =
        plan_batches(events, MAX_BATCH_BYTES, MAX_BATCH_EVENTS);
    work.reverse();
    let mut attempts = 0u32;
    let mut fatal: Option<FailedBatch> = None;
    while let Some(range) = work.pop() {
        let batch = &events[range.clone()];
        if let Some(f) = &fatal {
            report.failed.push(FailedBatch {
                first_index: range.start,
                count: batch.len(),
                ..f.clone()
            });
            continue;
        }
        let body = body_of(batch);
        if batch.len() == 1 && body.len() > MAX_BATCH_BYTES {
            report.rejected.push(Rejected {
                index: range.start,
                event_id: batch[0].id.clone(),
                message: format!(
                    "event is {} bytes; the ingest limit is 5 MiB per request",
                    body.len() - 2
                ),
            });
            continue;
        }
        let mut request =
            HttpRequest::post(target.url.clone(), "application/json; charset=utf-8", body)
                // Repeating a batch is safe: every event carries a deterministic `event.id`.
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
        report.batches += 1;
        let outcome = send_counting(http, clock, &request, retry, &mut attempts).await;
        let response = match outcome {
            Ok(r) => r,
            Err(e) => {
                report.failed.push(FailedBatch {
                    first_index: range.start,
                    count: batch.len(),
                    code: e.code().to_string(),
                    status: e.status(),
                    message: e.to_string(),
                });
                continue;
            }
        };
        match response.status {
            200..=299 => report.accepted += batch.len(),
            413 if batch.len() > 1 => {
                let mid = range.start + batch.len() / 2;
                work.push(mid..range.end);
                work.push(range.start..mid);
            }
            413 => report.rejected.push(Rejected {
                index: range.start,
                event_id: batch[0].id.clone(),
                message: "payload too large (413) even as a single event".to_string(),
            }),
            400 => match partial_errors(&response.body, batch) {
                Some(errors) => {
                    report.accepted += batch.len() - errors.len();
                    report
                        .rejected
                        .extend(errors.into_iter().map(|(i, message)| Rejected {
                            index: range.start + i,
                            event_id: batch[i].id.clone(),
                            message,
                        }));
                }
                None => report.failed.push(FailedBatch {
                    first_index: range.start,
                    count: batch.len(),
                    code: "INGEST_FAILED".to_string(),
                    status: Some(400),
                    message: error_message(&response.body),
                }),
            },
            status => {
                let code = if matches!(status, 401 | 403) {
                    status_code_name(status)
                } else {
                    "INGEST_FAILED"
                };
                let failed = FailedBatch {
                    first_index: range.start,
                    count: batch.len(),
                    code: code.to_string(),
                    status: Some(status),
                    message: error_message(&response.body),
                };
                if matches!(status, 401 | 403) {
                    fatal = Some(failed.clone());
                }
                report.failed.push(failed);
            }
        }
    }
    report.retries = attempts.saturating_sub(u32::try_from(report.batches).unwrap_or(u32::MAX));
    report.rejected.sort_by_key(|r| r.index);
    report.failed.sort_by_key(|f| f.first_index);
    report
}

fn status_code_name(status: u16) -> &'static str {
    match status {
        401 => "UNAUTHORIZED",
        403 => "FORBIDDEN",
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
                "UNAUTHORIZED" | "FORBIDDEN" => Error::Http {
                    status: f.status.unwrap_or(0),
                    method: "POST",
                    endpoint: endpoint_for_error(&target.url),
                    message: f.message.clone(),
                    retry_after_secs: None,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(n: usize) -> PreparedEvent {
        PreparedEvent {
            id: Some(format!("id{n}")),
            json: format!("{{\"n\":{n}}}"),
        }
    }

    #[test]
    fn batches_respect_bytes_and_count() {
        let events: Vec<PreparedEvent> = (0..10).map(ev).collect(); // each 7 bytes
        assert_eq!(plan_batches(&events, 1_000, 4), vec![0..4, 4..8, 8..10]);
        // 2 + 7 + 1 + 7 = 17 bytes for two events
        assert_eq!(plan_batches(&events[..3], 17, 100), vec![0..2, 2..3]);
        assert_eq!(plan_batches(&events[..3], 16, 100), vec![0..1, 1..2, 2..3]);
        assert!(plan_batches(&[], 10, 10).is_empty());
        for b in plan_batches(&events, 30, 100) {
            assert!(body_of(&events[b]).len() <= 30);
        }
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
