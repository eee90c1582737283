//! Bizevent ingest: batches under the 5 MiB request limit, 413 splits, 429/5xx retries, and a
//! report that says exactly which events were stored, rejected or not delivered. The decisions
//! are [`crate::protocol::batch::Batcher`]'s; [`BatchSender`] sends what it asks for.

use serde::Serialize;

use crate::auth::Secret;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::http::{send_with, BaseUrl, HttpClient, RetryPolicy};
use crate::protocol::retry::Retry;

pub use crate::protocol::batch::{ingest_request, Batcher};

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

impl IngestAuth {
    /// How ingest requests are authorised, from the credentials as given: the one rule for the
    /// JS `ingest()` and the sync. At most one of an access token, an API token and an OAuth
    /// client (`oauth_client`: `Some(given)` where the caller accepts one, as the sync does;
    /// its token is fetched at run time, so it resolves to [`IngestAuth::None`] here). None at
    /// all only for a relative `/platform/…` URL, which a Workflow calls as its own identity.
    /// Fields are named under `prefix` (`"ingest."`, `"options."`).
    pub fn resolve(
        prefix: &str,
        url: &str,
        access_token: Option<Secret>,
        api_token: Option<Secret>,
        oauth_client: Option<bool>,
    ) -> Result<IngestAuth> {
        let choices = match oauth_client {
            Some(_) => {
                "accessToken, apiToken or an OAuth client (clientId + clientSecret + accountUuid)"
            }
            None => "accessToken or apiToken",
        };
        match (access_token, api_token, oauth_client == Some(true)) {
            (Some(t), None, false) => Ok(IngestAuth::Bearer(t)),
            (None, Some(t), false) => Ok(IngestAuth::ApiToken(t)),
            (None, None, true) => Ok(IngestAuth::None),
            (None, None, false) if url.trim().starts_with("/platform/") => Ok(IngestAuth::None),
            (None, None, false) => Err(Error::invalid(
                format!("{prefix}accessToken"),
                format!("an absolute ingest URL needs {choices}"),
            )),
            _ => Err(Error::invalid(
                prefix.trim_end_matches('.'),
                format!("give one of {choices}, not more"),
            )),
        }
    }
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

/// Sends events in batches as they come (`push`), so a sync of millions of events never holds
/// more than one batch: the async driver of [`Batcher`], which decides everything (batch sizes
/// under [`MAX_BATCH_BYTES`] and [`MAX_BATCH_EVENTS`], 413 splits and the learned limit, partial
/// 400s, 401/403); this only sends, retrying per the policy (a 500 included: see
/// [`Retry::repeating_500`]). Without a target (a dry run) events are only counted. It never
/// fails as a whole: a batch that could not be delivered is listed in `failed`.
pub struct BatchSender<'a, C: HttpClient, K: Clock + ?Sized> {
    http: &'a C,
    clock: &'a K,
    retry: RetryPolicy,
    batcher: Batcher,
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
            retry,
            batcher: Batcher::new(target.cloned()),
        }
    }

    /// Events handed over so far.
    pub fn pushed(&self) -> usize {
        self.batcher.pushed()
    }

    /// Adds an event, sending the buffered batch first if this one would not fit.
    pub async fn push(&mut self, event: PreparedEvent) {
        self.batcher.push(event);
        self.send_ready().await;
    }

    /// Sends what is buffered.
    pub async fn flush(&mut self) {
        self.batcher.flush();
        self.send_ready().await;
    }

    /// Sends the rest and returns the report.
    pub async fn finish(mut self) -> IngestReport {
        self.flush().await;
        self.batcher.finish()
    }

    /// Sends every request the batcher has ready, handing each outcome back.
    async fn send_ready(&mut self) {
        while let Some(request) = self.batcher.next_request() {
            let mut retry = Retry::new(self.retry, self.clock.now_ms()).repeating_500(true);
            let outcome = send_with(self.http, self.clock, &request, &mut retry).await;
            self.batcher.on_reply(outcome, retry.attempts());
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
