//! Delivery of the sync window's FOCUS CSV to an HTTPS URL (the Workflow's `export` block, the
//! `export` option of `sync`): a PUT to a pre-signed object-store URL (S3, GCS, Azure: the URL
//! carries its own signature in the query string) or a POST to a webhook with a header whose
//! value is a secret (a vault token).
//!
//! The rows are `dps-cost export`'s (the same requests, lines and writer: [`export_rows`]), so
//! the bytes are the CLI's for the same accounts, window and FOCUS version. The body is produced
//! a chunk of rows at a time and read again from the start for each attempt (never one string):
//! with `Content-Length` for a PUT (object stores require it), `Transfer-Encoding: chunked` for
//! a POST ([`Transfer`]). 429 (honouring `Retry-After`) and 5xx but 501 are repeated within the
//! retry budget and before the run deadline: the body is the same bytes every time, so a repeat
//! replaces (PUT) or repeats (POST) the same document. What the summary, errors and logs show of
//! the target is its host and path: never the query string (the signature) nor the secret.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use crate::auth::Secret;
use crate::clock::Clock;
use crate::config::SyncConfig;
use crate::error::{Error, Result};
use crate::export::focus::{FocusDataset, FocusVersion, LineRows};
use crate::http::{
    send_body_with, BodySource, HttpClient, HttpRequest, HttpResponse, Method, RetryPolicy,
    Transfer,
};
use crate::protocol::retry::Retry;
use crate::report::{export_rows, ExportFormat, ReportConfig};

/// Rows per chunk of the body (~700 bytes a row at 1.3: ~0.7 MB a chunk).
pub const CHUNK_ROWS: usize = 1_000;

/// The `export` option as the caller gives it. `Debug` leaves out the URL's query string (a
/// pre-signed URL's signature) and the secret.
#[derive(Clone, Default, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[cfg_attr(feature = "tsify", tsify(rename = "SyncExport"))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeliveryOptions {
    /// `https://…` (`http://` only to a loopback host); a pre-signed URL keeps its query string.
    pub url: String,
    /// `PUT` (default: an object store) or `POST` (a webhook).
    #[serde(default)]
    pub method: Option<String>,
    /// Extra headers that are not secret (`{"x-ms-blob-type": "BlockBlob"}`); `Content-Type` is
    /// `text/csv; charset=utf-8` unless given here.
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    /// The header that carries `secret` (e.g. `Authorization`).
    #[serde(default)]
    pub header: Option<String>,
    /// The secret header's value (the Workflow reads it from the credential vault).
    #[serde(default)]
    #[cfg_attr(feature = "tsify", tsify(type = "string"))]
    pub secret: Option<Secret>,
    /// Written before the secret with a space (`Bearer` → `Authorization: Bearer <secret>`).
    #[serde(default)]
    pub scheme: Option<String>,
    /// `length` (default for PUT: `Content-Length`, the body held once) or `chunked` (default
    /// for POST: streamed as produced).
    #[serde(default)]
    #[cfg_attr(feature = "tsify", tsify(type = "\"length\" | \"chunked\""))]
    pub transfer: Option<String>,
    /// The FOCUS version of the CSV: `1.2`, `1.3` (default) or `1.4`.
    #[serde(default)]
    #[cfg_attr(feature = "tsify", tsify(type = "FocusVersion"))]
    pub focus_version: Option<String>,
}

/// A checked [`DeliveryOptions`]. `Debug` shows the target's host and path only.
#[derive(Clone)]
pub struct Delivery {
    url: String,
    host: String,
    path: String,
    method: Method,
    headers: Vec<(String, String)>,
    secret: Option<(String, Secret)>,
    transfer: Transfer,
    version: FocusVersion,
}

/// `url` without its query string: `…?` marks that there was one.
fn url_without_query(url: &str) -> String {
    match url.split_once('?') {
        Some((base, _)) => format!("{base}?…"),
        None => url.to_string(),
    }
}

impl std::fmt::Debug for DeliveryOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryOptions")
            .field("url", &url_without_query(&self.url))
            .field("method", &self.method)
            .field("headers", &self.headers)
            .field("header", &self.header)
            .field("secret", &self.secret)
            .field("scheme", &self.scheme)
            .field("transfer", &self.transfer)
            .field("focus_version", &self.focus_version)
            .finish()
    }
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("host", &self.host)
            .field("path", &self.path)
            .field("method", &self.method)
            .field("headers", &self.headers)
            .field("secret", &self.secret.as_ref().map(|(name, s)| (name, s)))
            .field("transfer", &self.transfer)
            .field("version", &self.version)
            .finish()
    }
}

/// Headers a caller may not set: the transport decides them.
const RESERVED: [&str; 5] = [
    "content-length",
    "transfer-encoding",
    "host",
    "connection",
    "expect",
];

fn check_header_name(field: &str, name: &str) -> Result<()> {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return Err(Error::invalid(field, "is not an HTTP header name"));
    }
    if RESERVED.iter().any(|r| name.eq_ignore_ascii_case(r)) {
        return Err(Error::invalid(
            field,
            "is set by the transport, not by CONFIG",
        ));
    }
    Ok(())
}

fn check_header_value(field: &str, value: &str) -> Result<()> {
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(Error::invalid(field, "must not contain CR, LF or NUL"));
    }
    Ok(())
}

impl DeliveryOptions {
    /// Checks everything before any request; each error names its option under `export.`.
    pub fn validate(self) -> Result<Delivery> {
        let (url, host, path) = target("export.url", &self.url)?;
        let method = match self
            .method
            .as_deref()
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            None | Some("PUT") => Method::Put,
            Some("POST") => Method::Post,
            Some(_) => return Err(Error::invalid("export.method", "must be PUT or POST")),
        };
        let transfer = match self.transfer.as_deref() {
            None if method == Method::Put => Transfer::Length,
            None | Some("chunked") => Transfer::Chunked,
            Some("length") => Transfer::Length,
            Some(_) => {
                return Err(Error::invalid(
                    "export.transfer",
                    "must be length or chunked",
                ))
            }
        };
        let version = FocusVersion::parse("export.focusVersion", self.focus_version.as_deref())?;
        let mut headers = Vec::new();
        for (name, value) in self.headers.unwrap_or_default() {
            let field = format!("export.headers.{name}");
            check_header_name(&field, &name)?;
            check_header_value(&field, &value)?;
            headers.push((name, value));
        }
        let has =
            |h: &[(String, String)], n: &str| h.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
        if !has(&headers, "content-type") {
            headers.push(("Content-Type".into(), "text/csv; charset=utf-8".into()));
        }
        // Azure's Put Blob needs the blob type; a pre-signed (SAS) URL cannot carry it.
        if method == Method::Put
            && host.ends_with(".blob.core.windows.net")
            && !has(&headers, "x-ms-blob-type")
        {
            headers.push(("x-ms-blob-type".into(), "BlockBlob".into()));
        }
        let secret = match (self.header, self.secret) {
            (None, None) => None,
            (Some(name), Some(secret)) => {
                check_header_name("export.header", &name)?;
                if has(&headers, &name) {
                    return Err(Error::invalid("export.header", "is also in export.headers"));
                }
                let value = match self.scheme {
                    Some(s) => {
                        check_header_name("export.scheme", &s)?;
                        format!("{s} {}", secret.expose())
                    }
                    None => secret.expose().to_string(),
                };
                if value.trim().is_empty() {
                    return Err(Error::invalid("export.secret", "is empty"));
                }
                check_header_value("export.secret", &value)?;
                Some((name, Secret::new(value)))
            }
            (Some(_), None) => {
                return Err(Error::invalid(
                    "export.secret",
                    "is required with export.header",
                ))
            }
            (None, Some(_)) => {
                return Err(Error::invalid("export.header", "is required with a secret"))
            }
        };
        Ok(Delivery {
            url,
            host,
            path,
            method,
            headers,
            secret,
            transfer,
            version,
        })
    }
}

/// `(url, host, path)` of a delivery URL: `https://` (or `http://` to a loopback host), a host,
/// no user-info and no fragment; the query string is kept in the URL only.
fn target(field: &str, raw: &str) -> Result<(String, String, String)> {
    let raw = raw.trim();
    let rest = if let Some(r) = raw.strip_prefix("https://") {
        r
    } else if let Some(r) = raw.strip_prefix("http://") {
        let host = crate::http::host_of(r);
        if !crate::http::is_loopback(host) {
            return Err(Error::invalid(
                field,
                format!(
                    "`http://` is only allowed for loopback hosts, got host `{host}`; use https"
                ),
            ));
        }
        r
    } else {
        return Err(Error::invalid(field, "must be an absolute https:// URL"));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let odd = |c: char| c.is_whitespace() || c.is_control();
    if crate::http::host_of(rest).is_empty()
        || authority.contains('@')
        || rest.contains('#')
        || rest.contains(odd)
    {
        return Err(Error::invalid(
            field,
            "must be a URL with a host, without user-info or fragment",
        ));
    }
    let after = &rest[authority.len()..];
    let path = after.split('?').next().unwrap_or("");
    let path = if path.is_empty() { "/" } else { path };
    Ok((raw.to_string(), authority.to_string(), path.to_string()))
}

impl Delivery {
    /// The FOCUS version written.
    pub fn version(&self) -> FocusVersion {
        self.version
    }

    /// How the body goes on the wire.
    pub fn transfer(&self) -> Transfer {
        self.transfer
    }

    /// The upload request without its body (the body comes from a [`BodySource`]). Safe to
    /// repeat: the same bytes every time.
    pub fn request(&self) -> HttpRequest {
        let mut r = HttpRequest::get(self.url.clone());
        r.method = self.method;
        r.headers = self.headers.clone();
        if let Some((name, value)) = &self.secret {
            r.headers.push((name.clone(), value.expose().to_string()));
        }
        r.idempotent(true)
    }

    /// `host/path`, what may be shown.
    fn shown(&self) -> String {
        format!("{}{}", self.host, self.path)
    }

    /// `text` without the URL's query string and the secret (a transport's message may quote
    /// the URL it was given).
    fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        if let Some((_, q)) = self.url.split_once('?') {
            if !q.is_empty() {
                out = out.replace(q, "…");
            }
        }
        if let Some((_, s)) = &self.secret {
            out = out.replace(s.expose(), "…");
        }
        out
    }

    fn summary(&self) -> DeliverySummary {
        DeliverySummary {
            ok: false,
            code: None,
            message: None,
            method: self.method.as_str(),
            host: self.host.clone(),
            path: self.path.clone(),
            focus_version: self.version.name(),
            rows: 0,
            bytes: 0,
            status: None,
            attempts: 0,
            warnings: Vec::new(),
        }
    }
}

/// What a delivery did. Holds the target's host and path only: no query string, no secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct DeliverySummary {
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional, type = "DpsCostErrorCode"))]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub message: Option<String>,
    pub method: &'static str,
    pub host: String,
    pub path: String,
    pub focus_version: &'static str,
    /// Data rows (the header line not counted).
    pub rows: usize,
    /// Bytes of the body (of the last attempt).
    pub bytes: u64,
    /// The last answer's HTTP status.
    pub status: Option<u16>,
    /// Upload attempts made.
    pub attempts: u32,
    /// The export's warnings (e.g. an account without a name).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub warnings: Vec<String>,
}

/// The CSV body: [`LineRows`] a chunk at a time, counting bytes.
pub struct CsvBody {
    rows: LineRows,
    bytes: u64,
}

impl CsvBody {
    pub fn new(rows: LineRows) -> Self {
        CsvBody { rows, bytes: 0 }
    }
}

impl BodySource for CsvBody {
    fn rewind(&mut self) {
        self.rows.rewind();
        self.bytes = 0;
    }

    fn next_chunk(&mut self) -> Result<Option<String>> {
        let chunk = self.rows.next_chunk(CHUNK_ROWS)?;
        if let Some(c) = &chunk {
            self.bytes += c.len() as u64;
        }
        Ok(chunk)
    }
}

/// `policy` cut to what is left before `deadline_at` (ms, the clock's time): no retry waits past
/// it and no attempt runs past it. `None` when the deadline has passed.
pub fn policy_before(
    policy: RetryPolicy,
    now_ms: i64,
    deadline_at: Option<i64>,
) -> Option<RetryPolicy> {
    let Some(at) = deadline_at else {
        return Some(policy);
    };
    let left = u64::try_from(at.saturating_sub(now_ms))
        .ok()
        .filter(|l| *l > 0)?;
    Some(RetryPolicy {
        budget_ms: policy.budget_ms.min(left),
        timeout_ms: policy.timeout_ms.min(left),
        ..policy
    })
}

/// The retry policy of an upload: the sync's, with at least 2 minutes per attempt (a large body
/// takes a while), before the deadline.
fn upload_policy(sync: RetryPolicy) -> RetryPolicy {
    RetryPolicy {
        timeout_ms: sync.timeout_ms.max(120_000),
        ..sync
    }
}

/// Sends `body` as `delivery` says, repeating 429/5xx within `policy` (see the module
/// documentation); the summary of the upload.
pub async fn upload<C: HttpClient, K: Clock + ?Sized>(
    http: &C,
    clock: &K,
    delivery: &Delivery,
    body: Rc<RefCell<CsvBody>>,
    policy: RetryPolicy,
) -> DeliverySummary {
    let mut summary = delivery.summary();
    summary.rows = body.borrow().rows.len();
    let source: Rc<RefCell<dyn BodySource>> = body.clone();
    let mut retry = Retry::new(policy, clock.now_ms()).repeating_500(true);
    let outcome = send_body_with(
        http,
        clock,
        &delivery.request(),
        &source,
        delivery.transfer,
        &mut retry,
    )
    .await;
    summary.attempts = retry.attempts();
    summary.bytes = body.borrow().bytes;
    match outcome {
        Ok(r) if r.is_success() => {
            summary.ok = true;
            summary.status = Some(r.status);
        }
        Ok(r) => fail_status(&mut summary, delivery, &r),
        Err(e) => {
            summary.code = Some(e.code().to_string());
            summary.message = Some(delivery.scrub(&format!(
                "{} {}: {}",
                delivery.method.as_str(),
                delivery.shown(),
                e
            )));
        }
    }
    summary
}

/// The code of a refused upload (as for any API: `RATE_LIMITED`, `FORBIDDEN`, `HTTP_STATUS`, …)
/// and a message naming host and path only (the answer's body may quote the signed URL).
fn fail_status(summary: &mut DeliverySummary, delivery: &Delivery, r: &HttpResponse) {
    let e = Error::Http {
        status: r.status,
        method: delivery.method.as_str(),
        endpoint: String::new(),
        message: String::new(),
        retry_after_secs: None,
    };
    summary.status = Some(r.status);
    summary.code = Some(e.code().to_string());
    summary.message = Some(format!(
        "{} {} answered HTTP {}{}",
        delivery.method.as_str(),
        delivery.shown(),
        r.status,
        if summary.attempts > 1 {
            format!(" after {} attempts", summary.attempts)
        } else {
            String::new()
        }
    ));
}

/// Delivers the FOCUS CSV of `cfg`'s accounts and window: fetches the rows as `dps-cost export`
/// does, then [`upload`]s them. No request starts after `deadline_at` (`DEADLINE`).
pub async fn deliver<C: HttpClient>(
    http: &C,
    clock: &dyn Clock,
    cfg: &SyncConfig,
    delivery: &Delivery,
    deadline_at: Option<i64>,
) -> DeliverySummary {
    let mut summary = delivery.summary();
    let deadline = |s: &mut DeliverySummary| {
        let e = Error::Deadline {
            after_ms: cfg.deadline_ms.unwrap_or(0),
            what: "the export was delivered".to_string(),
        };
        s.code = Some(e.code().to_string());
        s.message = Some(e.to_string());
    };
    if policy_before(cfg.retry, clock.now_ms(), deadline_at).is_none() {
        deadline(&mut summary);
        return summary;
    }
    let report = ReportConfig {
        sync: cfg.clone(),
        from_day: None,
        to_day: None,
        rules: None,
        environment_tags: BTreeMap::new(),
        format: ExportFormat::FocusCsv,
        version: delivery.version,
        dataset: FocusDataset::CostAndUsage,
    };
    let (rows, warnings) = match export_rows(http, clock, &report).await {
        Ok(r) => r,
        Err(e) => {
            summary.code = Some(e.code().to_string());
            summary.message = Some(e.to_string());
            return summary;
        }
    };
    let Some(policy) = policy_before(upload_policy(cfg.retry), clock.now_ms(), deadline_at) else {
        deadline(&mut summary);
        summary.rows = rows.len();
        summary.warnings = warnings;
        return summary;
    };
    let mut summary = upload(
        http,
        clock,
        delivery,
        Rc::new(RefCell::new(CsvBody::new(rows))),
        policy,
    )
    .await;
    summary.warnings = warnings;
    summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allocate::engine::CostLine;
    use crate::clock::FixedClock;
    use crate::export::focus::{focus_from_lines, FocusContext};

    fn opts(json: serde_json::Value) -> Result<Delivery> {
        serde_json::from_value::<DeliveryOptions>(json)
            .map_err(|e| Error::invalid("export", e.to_string()))?
            .validate()
    }

    fn field(json: serde_json::Value) -> Option<String> {
        opts(json).err().and_then(|e| e.field().map(str::to_string))
    }

    const SIGNED: &str =
        "https://bucket.s3.eu-west-1.amazonaws.com/focus/dps.csv?X-Amz-Expires=900&X-Amz-Signature=abc123sig";

    #[test]
    fn debug_shows_neither_the_signature_nor_the_secret() {
        let json = serde_json::json!({
            "url": SIGNED, "method": "POST", "header": "Authorization", "scheme": "Bearer",
            "secret": "tok-very-secret-1"
        });
        let raw: DeliveryOptions = serde_json::from_value(json).unwrap_or_default();
        let checked = opts(serde_json::json!({
            "url": SIGNED, "method": "POST", "header": "Authorization", "scheme": "Bearer",
            "secret": "tok-very-secret-1"
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        for text in [format!("{raw:?}"), format!("{checked:?}")] {
            assert!(!text.contains("abc123sig"), "{text}");
            assert!(!text.contains("X-Amz-Signature"), "{text}");
            assert!(!text.contains("tok-very-secret-1"), "{text}");
            assert!(text.contains("bucket.s3.eu-west-1.amazonaws.com"), "{text}");
        }
    }

    #[test]
    fn bad_options_name_the_option() {
        use serde_json::json;
        for (o, f) in [
            (json!({"url": "http://example.com/x"}), "export.url"),
            (json!({"url": "ftp://example.com/x"}), "export.url"),
            (json!({"url": "https://"}), "export.url"),
            (json!({"url": "https://u:p@example.com/x"}), "export.url"),
            (json!({"url": "https://example.com/x#f"}), "export.url"),
            (json!({"url": "https://exa mple.com/x"}), "export.url"),
            (
                json!({"url": SIGNED, "focusVersion": "2.0"}),
                "export.focusVersion",
            ),
            (json!({"url": SIGNED, "method": "GET"}), "export.method"),
            (
                json!({"url": SIGNED, "transfer": "gzip"}),
                "export.transfer",
            ),
            (
                json!({"url": SIGNED, "headers": {"Content-Length": "1"}}),
                "export.headers.Content-Length",
            ),
            (
                json!({"url": SIGNED, "headers": {"X-A": "a\r\nb: c"}}),
                "export.headers.X-A",
            ),
            (
                json!({"url": SIGNED, "headers": {"bad name": "x"}}),
                "export.headers.bad name",
            ),
            (
                json!({"url": SIGNED, "header": "Authorization"}),
                "export.secret",
            ),
            (json!({"url": SIGNED, "secret": "t0k3n"}), "export.header"),
            (
                json!({"url": SIGNED, "header": "Authorization", "secret": " "}),
                "export.secret",
            ),
        ] {
            assert_eq!(field(o.clone()).as_deref(), Some(f), "{o}");
        }
        assert!(opts(json!({"url": "http://127.0.0.1:8080/u?sig=1"})).is_ok());
        assert!(opts(json!({"url": SIGNED, "focusVersion": "1.4"})).is_ok());
    }

    #[test]
    fn the_request_is_a_value_with_the_headers_and_the_secret() {
        let d = opts(serde_json::json!({"url": SIGNED})).unwrap_or_else(|e| panic!("{e}"));
        let r = d.request();
        assert_eq!(r.method, Method::Put);
        assert_eq!(r.url, SIGNED);
        assert!(r.idempotent);
        assert_eq!(
            r.header_value("content-type"),
            Some("text/csv; charset=utf-8")
        );
        assert_eq!(d.transfer(), Transfer::Length);
        assert_eq!(d.version(), FocusVersion::V1_3);
        // Azure: the blob type is added unless given.
        let az = opts(
            serde_json::json!({"url": "https://acct.blob.core.windows.net/c/f.csv?sv=1&sig=s"}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            az.request().header_value("x-ms-blob-type"),
            Some("BlockBlob")
        );
        // A webhook: POST, chunked, the secret header with its scheme; Debug hides it.
        let hook = opts(serde_json::json!({"url": "https://hooks.example.com/finops", "method": "post",
            "header": "Authorization", "scheme": "Bearer", "secret": "t0k3n", "headers": {"X-Source": "dps"}}))
        .unwrap_or_else(|e| panic!("{e}"));
        let r = hook.request();
        assert_eq!(r.method, Method::Post);
        assert_eq!(hook.transfer(), Transfer::Chunked);
        assert_eq!(r.header_value("authorization"), Some("Bearer t0k3n"));
        assert_eq!(r.header_value("x-source"), Some("dps"));
        assert!(!format!("{r:?}{hook:?}").contains("t0k3n"));
    }

    /// Answers in turn; records each attempt's body.
    struct Script {
        answers: RefCell<Vec<Result<HttpResponse>>>,
        bodies: RefCell<Vec<String>>,
        sleeps: RefCell<Vec<u64>>,
    }

    impl HttpClient for Script {
        async fn send(&self, request: &HttpRequest) -> Result<HttpResponse> {
            self.bodies
                .borrow_mut()
                .push(request.body.clone().unwrap_or_default());
            let mut a = self.answers.borrow_mut();
            if a.is_empty() {
                return Ok(HttpResponse::new(599, "script: no answer left"));
            }
            a.remove(0)
        }
        async fn sleep(&self, ms: u64) {
            self.sleeps.borrow_mut().push(ms);
        }
    }

    fn script(answers: Vec<Result<HttpResponse>>) -> Script {
        Script {
            answers: RefCell::new(answers),
            bodies: RefCell::new(Vec::new()),
            sleeps: RefCell::new(Vec::new()),
        }
    }

    fn lines() -> Vec<CostLine> {
        (1..=25)
            .map(|d| CostLine {
                id: None,
                date: format!("2026-03-{d:02}"),
                cost: 10.0 + f64::from(d) / 8.0,
                currency: "USD".into(),
                tags: BTreeMap::from([
                    ("account".to_string(), "acc".to_string()),
                    ("environment".to_string(), "env1".to_string()),
                    ("capability".to_string(), "LOGS".to_string()),
                ]),
            })
            .collect()
    }

    fn body() -> (Rc<RefCell<CsvBody>>, String) {
        let want = focus_from_lines(&lines(), &FocusContext::default())
            .unwrap_or_else(|e| panic!("{e}"))
            .to_csv();
        let rows = LineRows::new(lines(), FocusContext::default(), false)
            .unwrap_or_else(|e| panic!("{e}"));
        (Rc::new(RefCell::new(CsvBody::new(rows))), want)
    }

    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 4,
        base_delay_ms: 1_000,
        max_delay_ms: 20_000,
        budget_ms: 60_000,
        timeout_ms: 120_000,
    };

    #[test]
    fn a_429_waits_for_retry_after_a_5xx_backs_off_and_each_attempt_sends_the_whole_body() {
        let d = opts(serde_json::json!({"url": SIGNED})).unwrap_or_else(|e| panic!("{e}"));
        let http = script(vec![
            Ok(HttpResponse::new(429, "").with_header("Retry-After", "3")),
            Ok(HttpResponse::new(503, "")),
            Ok(HttpResponse::new(500, "")),
            Ok(HttpResponse::new(200, "")),
        ]);
        let (b, want) = body();
        let s = pollster::block_on(upload(&http, &FixedClock(0), &d, b, POLICY));
        assert!(s.ok, "{s:?}");
        assert_eq!((s.status, s.attempts, s.rows), (Some(200), 4, 25));
        assert_eq!(s.bytes, want.len() as u64);
        assert_eq!(*http.sleeps.borrow(), [3_000, 2_000, 4_000]);
        assert_eq!(http.bodies.borrow().len(), 4);
        assert!(
            http.bodies.borrow().iter().all(|b| *b == want),
            "each attempt: the whole CSV"
        );
        assert_eq!(
            (s.host.as_str(), s.path.as_str()),
            ("bucket.s3.eu-west-1.amazonaws.com", "/focus/dps.csv")
        );
        let shown = serde_json::to_string(&s).unwrap_or_default();
        assert!(
            !shown.contains("Signature") && !shown.contains("abc123sig"),
            "{shown}"
        );
    }

    #[test]
    fn a_refusal_is_final_and_the_budget_ends_the_retries() {
        let d = opts(serde_json::json!({"url": SIGNED})).unwrap_or_else(|e| panic!("{e}"));
        for (status, code) in [
            (403, "FORBIDDEN"),
            (400, "HTTP_STATUS"),
            (501, "HTTP_STATUS"),
        ] {
            let http = script(vec![Ok(HttpResponse::new(
                status,
                format!("<Error>{SIGNED}</Error>"),
            ))]);
            let s = pollster::block_on(upload(&http, &FixedClock(0), &d, body().0, POLICY));
            assert!(!s.ok);
            assert_eq!(
                (s.code.as_deref(), s.status, s.attempts),
                (Some(code), Some(status), 1)
            );
            let shown = serde_json::to_string(&s).unwrap_or_default();
            assert!(
                !shown.contains("abc123sig") && !shown.contains("X-Amz"),
                "{shown}"
            );
        }
        // 429s until the attempts are spent: RATE_LIMITED; a wait is never shorter than the
        // server's Retry-After (1 s here) nor than the backoff.
        let http = script(
            (0..4)
                .map(|_| Ok(HttpResponse::new(429, "").with_header("Retry-After", "1")))
                .collect(),
        );
        let s = pollster::block_on(upload(&http, &FixedClock(0), &d, body().0, POLICY));
        assert_eq!((s.code.as_deref(), s.attempts), (Some("RATE_LIMITED"), 4));
        assert_eq!(*http.sleeps.borrow(), [1_000, 2_000, 4_000]);
        // A Retry-After longer than what is left before the deadline: no wait, the 429 stands.
        let p = policy_before(POLICY, 0, Some(5_000)).unwrap_or(RetryPolicy::NONE);
        assert_eq!((p.budget_ms, p.timeout_ms), (5_000, 5_000));
        let http = script(vec![Ok(
            HttpResponse::new(429, "").with_header("Retry-After", "10")
        )]);
        let s = pollster::block_on(upload(&http, &FixedClock(0), &d, body().0, p));
        assert_eq!((s.code.as_deref(), s.attempts), (Some("RATE_LIMITED"), 1));
        assert!(http.sleeps.borrow().is_empty());
        assert!(policy_before(POLICY, 5_000, Some(5_000)).is_none());
    }

    #[test]
    fn transport_errors_never_show_the_query_or_the_secret() {
        let d = opts(serde_json::json!({"url": SIGNED, "method": "POST", "header": "X-Key", "secret": "s3cr3t"}))
            .unwrap_or_else(|e| panic!("{e}"));
        let e = Error::Network {
            endpoint: "x".into(),
            message: format!("error sending request for url ({SIGNED}) with s3cr3t"),
        };
        let http = script((0..4).map(|_| Err(e.clone())).collect());
        let s = pollster::block_on(upload(&http, &FixedClock(0), &d, body().0, POLICY));
        assert_eq!((s.code.as_deref(), s.attempts), (Some("NETWORK"), 4));
        let shown = serde_json::to_string(&s).unwrap_or_default();
        assert!(
            !shown.contains("abc123sig") && !shown.contains("s3cr3t"),
            "{shown}"
        );
    }
}
