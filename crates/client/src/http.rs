//! Requests are plain values; a transport sends them. The send loop lives here, once; when to
//! send again is decided by [`crate::protocol::retry::Retry`].

use std::fmt;

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::protocol::retry::{Retry, RetryStep};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

/// An HTTP request as a value. `Debug` never shows header values that carry credentials,
/// nor the body (which may be a form with a client secret).
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    /// Abort the request after this long (set from the [`RetryPolicy`] when sent).
    pub timeout_ms: Option<u64>,
    /// Safe to send again when the outcome is unknown (network error, timeout, 502/504).
    /// GET, PUT and DELETE are; a POST only when its builder says so (token requests, ingest
    /// with deterministic event ids).
    pub idempotent: bool,
}

impl HttpRequest {
    pub fn get(url: String) -> Self {
        HttpRequest {
            method: Method::Get,
            url,
            headers: Vec::new(),
            body: None,
            timeout_ms: None,
            idempotent: true,
        }
    }

    /// A request with a JSON body (`PUT`, or a non-idempotent `POST`).
    pub fn json(method: Method, url: String, body: String) -> Self {
        HttpRequest {
            method,
            url,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Some(body),
            timeout_ms: None,
            idempotent: method != Method::Post,
        }
    }

    /// A `DELETE`.
    pub fn delete(url: String) -> Self {
        HttpRequest {
            method: Method::Delete,
            url,
            headers: Vec::new(),
            body: None,
            timeout_ms: None,
            idempotent: true,
        }
    }

    /// Marks a request as safe to repeat (see [`HttpRequest::idempotent`]).
    pub fn idempotent(mut self, yes: bool) -> Self {
        self.idempotent = yes;
        self
    }

    pub fn post(url: String, content_type: &str, body: String) -> Self {
        HttpRequest {
            method: Method::Post,
            url,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: Some(body),
            timeout_ms: None,
            idempotent: false,
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// The header's value, by case-insensitive name.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The URL without its query string: what errors and logs may show.
    pub fn endpoint(&self) -> String {
        endpoint_of(&self.url)
    }
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| {
                let secret = k.eq_ignore_ascii_case("authorization")
                    || k.to_ascii_lowercase().contains("key")
                    || k.to_ascii_lowercase().contains("token");
                (k.as_str(), if secret { "<redacted>" } else { v.as_str() })
            })
            .collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.endpoint())
            .field("headers", &headers)
            .field("body_bytes", &self.body.as_ref().map(String::len))
            .finish()
    }
}

/// The parts of a response the core reads. Transports copy at least the headers named in
/// [`HttpResponse::READ_HEADERS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub const READ_HEADERS: &'static [&'static str] = &[
        "content-type",
        "retry-after",
        "deprecation",
        "sunset",
        "link",
        // Datadog's rate limits (the retry decision reads `-reset`; the others are kept for
        // errors and logs).
        "x-ratelimit-limit",
        "x-ratelimit-period",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ];

    pub fn new(status: u16, body: impl Into<String>) -> Self {
        HttpResponse {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn endpoint_of(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or(url).to_string()
}

/// A request body produced in chunks (an upload too large to hold as one string), read from
/// the start again for every attempt.
pub trait BodySource {
    /// Starts over: the next chunk is the first.
    fn rewind(&mut self);
    /// The next chunk, `None` after the last.
    fn next_chunk(&mut self) -> Result<Option<String>>;
}

/// How a [`BodySource`] goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transfer {
    /// With `Content-Length`: the transport holds the bytes once (object stores require the
    /// length: S3 refuses `Transfer-Encoding: chunked` on a PUT, Azure's Put Blob needs it).
    Length,
    /// `Transfer-Encoding: chunked`, each chunk sent as it is produced (only one is held).
    Chunked,
}

/// Sends requests. Implemented by the wasm transports (global `fetch`, or a caller's function)
/// and by the test transports. A transport returns `Ok` for every HTTP answer, whatever its
/// status, and `Err(Error::Network)` only when there was no answer.
#[allow(async_fn_in_trait)]
pub trait HttpClient {
    async fn send(&self, request: &HttpRequest) -> Result<HttpResponse>;

    /// Sends `request` with the body `body` gives from its start (`request.body` is ignored).
    /// The default collects the chunks into one string and calls [`HttpClient::send`] (test
    /// transports); the wasm transport streams them as `transfer` says.
    async fn send_body(
        &self,
        request: &HttpRequest,
        body: &std::rc::Rc<std::cell::RefCell<dyn BodySource>>,
        transfer: Transfer,
    ) -> Result<HttpResponse> {
        let _ = transfer;
        let mut text = String::new();
        {
            let mut b = body.borrow_mut();
            b.rewind();
            while let Some(chunk) = b.next_chunk()? {
                text.push_str(&chunk);
            }
        }
        let mut request = request.clone();
        request.body = Some(text);
        self.send(&request).await
    }

    /// Waits `ms` milliseconds (between retries).
    async fn sleep(&self, ms: u64);

    /// A uniform random number in `[0, 1)` for retry jitter. The default, 1.0, means no jitter
    /// (plain exponential backoff), which keeps test transports deterministic.
    fn jitter(&self) -> f64 {
        1.0
    }
}

impl<T: HttpClient + ?Sized> HttpClient for &T {
    async fn send(&self, request: &HttpRequest) -> Result<HttpResponse> {
        (**self).send(request).await
    }
    async fn send_body(
        &self,
        request: &HttpRequest,
        body: &std::rc::Rc<std::cell::RefCell<dyn BodySource>>,
        transfer: Transfer,
    ) -> Result<HttpResponse> {
        (**self).send_body(request, body, transfer).await
    }
    async fn sleep(&self, ms: u64) {
        (**self).sleep(ms).await
    }
    fn jitter(&self) -> f64 {
        (**self).jitter()
    }
}

impl<T: HttpClient + ?Sized> HttpClient for std::rc::Rc<T> {
    async fn send(&self, request: &HttpRequest) -> Result<HttpResponse> {
        (**self).send(request).await
    }
    async fn send_body(
        &self,
        request: &HttpRequest,
        body: &std::rc::Rc<std::cell::RefCell<dyn BodySource>>,
        transfer: Transfer,
    ) -> Result<HttpResponse> {
        (**self).send_body(request, body, transfer).await
    }
    async fn sleep(&self, ms: u64) {
        (**self).sleep(ms).await
    }
    fn jitter(&self) -> f64 {
        (**self).jitter()
    }
}

/// When and how often a request is tried again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Upper bound of the first backoff; doubles each time ("full jitter" draws below it).
    pub base_delay_ms: u64,
    /// Upper bound of one delay, including a server's `Retry-After`.
    pub max_delay_ms: u64,
    /// No retry starts once this much time has passed since the first attempt (fits the 120 s
    /// Workflow limit with room for the rest of the run).
    pub budget_ms: u64,
    /// Each attempt is aborted after this long.
    pub timeout_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay_ms: 1_000,
            max_delay_ms: 20_000,
            budget_ms: 60_000,
            timeout_ms: 30_000,
        }
    }
}

impl RetryPolicy {
    pub const NONE: RetryPolicy = RetryPolicy {
        max_attempts: 1,
        base_delay_ms: 0,
        max_delay_ms: 0,
        budget_ms: 0,
        timeout_ms: 30_000,
    };

    /// The delay after failed attempt number `attempt` (1-based): full jitter below the
    /// exponential backoff (`jitter` in `[0, 1]`), but never less than the server's `Retry-After`.
    pub fn delay_ms(&self, attempt: u32, retry_after_ms: Option<u64>, jitter: f64) -> u64 {
        let backoff = self
            .base_delay_ms
            .saturating_mul(1u64 << (attempt - 1).min(20))
            .min(self.max_delay_ms);
        let jittered = (backoff as f64 * jitter.clamp(0.0, 1.0)) as u64;
        retry_after_ms
            .map_or(jittered, |r| r.max(jittered))
            .min(self.max_delay_ms)
    }
}

/// Caller overrides of the [`RetryPolicy`] (JS/CLI option `retry`): retries (429/503 always;
/// 502/504, network errors and timeouts for reads) and timeouts.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetryOptions {
    /// Attempts in all, 1..10 (default 4).
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[cfg_attr(feature = "tsify", tsify(optional, type = "number"))]
    pub max_attempts: Option<u32>,
    /// First backoff bound in ms, doubled each time, full jitter (default 1000).
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[cfg_attr(feature = "tsify", tsify(optional, type = "number"))]
    pub base_delay_ms: Option<u64>,
    /// Longest single wait in ms, Retry-After included (default 20000).
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[cfg_attr(feature = "tsify", tsify(optional, type = "number"))]
    pub max_delay_ms: Option<u64>,
    /// No retry starts after this many ms (default 60000).
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[cfg_attr(feature = "tsify", tsify(optional, type = "number"))]
    pub budget_ms: Option<u64>,
    /// Each attempt is aborted after this many ms (default 30000).
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[cfg_attr(feature = "tsify", tsify(optional, type = "number"))]
    pub timeout_ms: Option<u64>,
}

impl RetryOptions {
    /// The default policy with these overrides, checked for sane bounds.
    pub fn policy(&self) -> Result<RetryPolicy> {
        let d = RetryPolicy::default();
        let p = RetryPolicy {
            max_attempts: self.max_attempts.unwrap_or(d.max_attempts),
            base_delay_ms: self.base_delay_ms.unwrap_or(d.base_delay_ms),
            max_delay_ms: self.max_delay_ms.unwrap_or(d.max_delay_ms),
            budget_ms: self.budget_ms.unwrap_or(d.budget_ms),
            timeout_ms: self.timeout_ms.unwrap_or(d.timeout_ms),
        };
        if !(1..=10).contains(&p.max_attempts) {
            return Err(Error::invalid("retry.maxAttempts", "must be 1..=10"));
        }
        if p.timeout_ms == 0 || p.timeout_ms > 600_000 {
            return Err(Error::invalid("retry.timeoutMs", "must be 1..=600000"));
        }
        if p.max_delay_ms > 600_000 || p.budget_ms > 3_600_000 {
            return Err(Error::invalid(
                "retry",
                "delays above 10 minutes and budgets above 1 hour are not allowed",
            ));
        }
        Ok(p)
    }
}

/// `Retry-After` in milliseconds: delta-seconds, or an HTTP date (needs `now_ms`).
pub fn retry_after_ms(response: &HttpResponse, now_ms: i64) -> Option<u64> {
    let v = response.header("retry-after")?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(secs.saturating_mul(1000));
    }
    let at = crate::time::parse_http_date_ms(v)?;
    Some(u64::try_from(at.saturating_sub(now_ms)).unwrap_or(0))
}

/// `Retry-After` given in seconds, else Datadog's `X-RateLimit-Reset` (rounded up), for errors.
pub fn retry_after_secs(response: &HttpResponse) -> Option<u64> {
    response
        .header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .or_else(|| rate_limit_reset_ms(response).map(|ms| ms.div_ceil(1000)))
}

/// Datadog's rate-limit answer: `X-RateLimit-Reset`, the seconds until the current window
/// ends (an integer; a decimal is read too), in ms. Datadog sends it with `X-RateLimit-Limit`,
/// `-Period` and `-Remaining` on every reply of a limited endpoint, and no `Retry-After`.
pub fn rate_limit_reset_ms(response: &HttpResponse) -> Option<u64> {
    let v = response.header("x-ratelimit-reset")?.trim();
    // Digits, optionally `.` and digits, read by hand: `str::parse::<f64>` would bring core's
    // float parser (~20 KB) into the Workflow module.
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    let digits = |s: &str| !s.is_empty() && s.len() <= 12 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !(frac.is_empty() || digits(frac)) {
        return None;
    }
    let secs: u64 = int.parse().ok()?;
    // Milliseconds from the first three fractional digits, rounded up by any further one.
    let mut ms = 0u64;
    for (i, b) in frac.bytes().enumerate() {
        let d = u64::from(b - b'0');
        if i < 3 {
            ms = ms * 10 + d;
        } else if d > 0 {
            ms += 1;
            break;
        }
    }
    for _ in frac.len()..3 {
        ms *= 10;
    }
    let total = secs.checked_mul(1000)?.checked_add(ms)?;
    // A window longer than a day is no answer to wait for: treat it as absent.
    (total <= 86_400_000).then_some(total)
}

/// Sends `request`, retrying per `policy` (the decision: [`Retry`]). Returns the last response,
/// whatever its status; only a final transport failure is an `Err`.
pub async fn send_with_retry<C: HttpClient, K: Clock + ?Sized>(
    client: &C,
    clock: &K,
    request: &HttpRequest,
    policy: RetryPolicy,
) -> Result<HttpResponse> {
    let mut attempts = 0;
    send_counting(client, clock, request, policy, &mut attempts).await
}

/// [`send_with_retry`], adding the number of attempts made to `attempts`.
pub async fn send_counting<C: HttpClient, K: Clock + ?Sized>(
    client: &C,
    clock: &K,
    request: &HttpRequest,
    policy: RetryPolicy,
    attempts: &mut u32,
) -> Result<HttpResponse> {
    let mut retry = Retry::new(policy, clock.now_ms());
    let outcome = send_with(client, clock, request, &mut retry).await;
    *attempts += retry.attempts();
    outcome
}

/// Sends `request` until `retry` says the outcome stands: the one send loop.
pub async fn send_with<C: HttpClient, K: Clock + ?Sized>(
    client: &C,
    clock: &K,
    request: &HttpRequest,
    retry: &mut Retry,
) -> Result<HttpResponse> {
    let request = retry.request(request);
    loop {
        let outcome = client.send(&request).await;
        match retry.after(&request, &outcome, clock.now_ms(), client.jitter()) {
            RetryStep::After(ms) => client.sleep(ms).await,
            RetryStep::Done | RetryStep::GiveUp => return outcome,
        }
    }
}

/// [`send_with`] for a request whose body comes from `body` (each attempt reads it from the
/// start).
pub async fn send_body_with<C: HttpClient, K: Clock + ?Sized>(
    client: &C,
    clock: &K,
    request: &HttpRequest,
    body: &std::rc::Rc<std::cell::RefCell<dyn BodySource>>,
    transfer: Transfer,
    retry: &mut Retry,
) -> Result<HttpResponse> {
    let request = retry.request(request);
    loop {
        let outcome = client.send_body(&request, body, transfer).await;
        match retry.after(&request, &outcome, clock.now_ms(), client.jitter()) {
            RetryStep::After(ms) => client.sleep(ms).await,
            RetryStep::Done | RetryStep::GiveUp => return outcome,
        }
    }
}

/// Turns a non-success response into [`Error::Http`], reading either error body shape:
/// `{"error": true, "message": …}` (account API) or `{"error": {"code", "message"}}` (platform).
pub fn status_error(request: &HttpRequest, response: &HttpResponse) -> Error {
    Error::Http {
        status: response.status,
        method: request.method.as_str(),
        endpoint: request.endpoint(),
        message: error_message(&response.body),
        retry_after_secs: retry_after_secs(response),
    }
}

/// The human message inside an error body, or the start of the body.
pub fn error_message(body: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let from_json = parsed.as_ref().and_then(|v| {
        let nested = v
            .get("error")
            .and_then(|e| e.get("message"))
            .and_then(|m| m.as_str());
        let flat = v.get("message").and_then(|m| m.as_str());
        let oauth = v.get("error_description").and_then(|m| m.as_str());
        nested.or(flat).or(oauth).map(str::to_string).or_else(|| {
            // JSON:API (Datadog): {"errors": ["Bad Request"]} or {"errors": [{"title", "detail"}]}
            let errors = v.get("errors")?.as_array()?;
            let parts: Vec<String> = errors
                .iter()
                .filter_map(|e| match e {
                    serde_json::Value::String(s) => Some(s.clone()),
                    o => {
                        let title = o.get("title").and_then(|t| t.as_str());
                        let detail = o.get("detail").and_then(|t| t.as_str());
                        match (title, detail) {
                            (Some(t), Some(d)) => Some(format!("{t}: {d}")),
                            (t, d) => t.or(d).map(str::to_string),
                        }
                    }
                })
                .collect();
            (!parts.is_empty()).then(|| parts.join("; "))
        })
    });
    match from_json {
        Some(m) => m,
        None if body.trim().is_empty() => "(empty body)".to_string(),
        None => crate::error::snippet(body.trim()),
    }
}

// ---- URLs ---------------------------------------------------------------------------------

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `application/x-www-form-urlencoded` body of `pairs`.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A validated base URL (scheme + host [+ path prefix]), without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(String);

impl BaseUrl {
    /// Accepts `https://…`, and `http://` only for loopback hosts (the emulator, tests).
    pub fn parse(field: &str, raw: &str) -> Result<Self> {
        let raw = raw.trim();
        let rest = if let Some(r) = raw.strip_prefix("https://") {
            r
        } else if let Some(r) = raw.strip_prefix("http://") {
            let host = host_of(r);
            if !is_loopback(host) {
                return Err(Error::invalid(
                    field,
                    format!("`http://` is only allowed for loopback hosts, got host `{host}`; use https"),
                ));
            }
            r
        } else {
            return Err(Error::invalid(field, "must be an absolute https:// URL"));
        };
        let host = host_of(rest);
        let odd = |c: char| c.is_whitespace() || c.is_control();
        if host.is_empty() || rest.contains(['?', '#', '@']) || rest.contains(odd) {
            return Err(Error::invalid(
                field,
                "must be a plain URL: scheme, host, optional path",
            ));
        }
        Ok(BaseUrl(raw.trim_end_matches('/').to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// This base plus path segments (each percent-encoded) and query pairs.
    pub fn join(&self, segments: &[&str], query: &[(&str, String)]) -> String {
        let mut url = self.0.clone();
        for s in segments {
            url.push('/');
            url.push_str(&encode_component(s));
        }
        let mut sep = '?';
        for (k, v) in query {
            url.push(sep);
            url.push_str(&encode_component(k));
            url.push('=');
            url.push_str(&encode_component(v));
            sep = '&';
        }
        url
    }
}

pub(crate) fn host_of(rest: &str) -> &str {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().map_or("", |h| h);
    }
    authority.split(':').next().unwrap_or("")
}

pub(crate) fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host == "::1"
        || host.strip_prefix("127.").is_some_and(|r| {
            r.split('.').count() == 3 && r.split('.').all(|p| p.parse::<u8>().is_ok())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_rules() {
        assert!(BaseUrl::parse("apiUrl", "https://api.dynatrace.com/").is_ok());
        assert!(BaseUrl::parse("apiUrl", "http://127.0.0.1:8080").is_ok());
        assert!(BaseUrl::parse("apiUrl", "http://localhost:1").is_ok());
        assert!(BaseUrl::parse("apiUrl", "http://[::1]:1").is_ok());
        for bad in [
            "http://api.dynatrace.com",
            "http://127.0.0.1.evil.com",
            "ftp://x",
            "api.dynatrace.com",
            "https://",
            "https://user:pw@host",
            "https://h/p?q=1",
        ] {
            let err = BaseUrl::parse("apiUrl", bad).err();
            assert_eq!(
                err.as_ref().map(Error::code),
                Some("INVALID_INPUT"),
                "{bad}"
            );
            assert_eq!(err.as_ref().and_then(Error::field), Some("apiUrl"));
        }
    }

    #[test]
    fn join_encodes_segments_and_query() {
        let b = BaseUrl::parse("x", "https://h/base/").unwrap_or_else(|_| unreachable!());
        assert_eq!(
            b.join(&["a b", "../x?#%"], &[("k", "v,w z".into())]),
            "https://h/base/a%20b/..%2Fx%3F%23%25?k=v%2Cw%20z"
        );
    }

    #[test]
    fn debug_redacts_credentials() {
        let r = HttpRequest::post(
            "https://h/t?x=1".into(),
            "a/b",
            "client_secret=s3cr3t".into(),
        )
        .header("Authorization", "Bearer tok3n")
        .header("DD-API-KEY", "k3y");
        let d = format!("{r:?}");
        assert!(
            !d.contains("s3cr3t") && !d.contains("tok3n") && !d.contains("k3y"),
            "{d}"
        );
        assert!(!d.contains("x=1"));
    }

    #[test]
    fn error_bodies_both_shapes() {
        assert_eq!(
            error_message(r#"{"error":true,"message":"Cannot get","payload":null}"#),
            "Cannot get"
        );
        assert_eq!(
            error_message(r#"{"error":{"code":400,"message":"Bad"}}"#),
            "Bad"
        );
        assert_eq!(
            error_message(r#"{"errors":["Bad Request"]}"#),
            "Bad Request"
        );
        assert_eq!(
            error_message(
                r#"{"errors":[{"status":"404","title":"Not found","detail":"The requested resource was not found"}]}"#
            ),
            "Not found: The requested resource was not found"
        );
        assert_eq!(error_message(""), "(empty body)");
        assert_eq!(error_message("<html>oops"), "<html>oops");
    }

    #[test]
    fn delays_double_jitter_and_honour_retry_after() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay_ms(1, None, 1.0), 1_000);
        assert_eq!(p.delay_ms(2, None, 1.0), 2_000);
        assert_eq!(p.delay_ms(3, None, 0.5), 2_000);
        assert_eq!(p.delay_ms(3, Some(7_000), 0.1), 7_000);
        assert_eq!(p.delay_ms(1, Some(3_600_000), 1.0), 20_000);
        assert_eq!(p.delay_ms(30, None, 1.0), 20_000);
    }

    #[test]
    fn retry_after_as_seconds_or_http_date() {
        let r =
            HttpResponse::new(429, "").with_header("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT");
        let at = crate::time::parse_http_date_ms("Wed, 21 Oct 2015 07:28:00 GMT").unwrap_or(0);
        assert_eq!(retry_after_ms(&r, at - 5_000), Some(5_000));
        assert_eq!(retry_after_ms(&r, at + 5_000), Some(0));
        let r = HttpResponse::new(429, "").with_header("retry-after", " 12 ");
        assert_eq!(retry_after_ms(&r, 0), Some(12_000));
        assert_eq!(
            retry_after_ms(
                &HttpResponse::new(429, "").with_header("Retry-After", "soon"),
                0
            ),
            None
        );
    }
}
