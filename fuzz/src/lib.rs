//! Helpers shared by the fuzz targets: a scripted transport, byte splitting, and the invariants
//! every error of dps-cost must satisfy.

use std::cell::RefCell;
use std::collections::VecDeque;

use dps_cost::http::{HttpClient, HttpRequest, HttpResponse, Method};
use dps_cost::{Error, Result};

/// A fixed "now" (2025-03-01T00:00:00Z) for everything that reads the clock.
pub const NOW_MS: i64 = 1_740_787_200_000;

/// Splits fuzz input into pieces at the separator `\n--\n` (what the seed script writes between
/// pages). Invalid UTF-8 is replaced, so every byte string is a usable body.
pub fn pieces(data: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(data);
    text.split("\n--\n").map(str::to_string).collect()
}

/// An HTTP status chosen by one byte: mostly 200, sometimes the statuses the code branches on.
pub fn status_of(b: u8) -> u16 {
    const STATUSES: [u16; 16] = [
        200, 200, 200, 200, 200, 200, 200, 201, 204, 400, 401, 403, 404, 413, 429, 500,
    ];
    STATUSES[usize::from(b % 16)]
}

/// Answers token requests with a valid token and every other request with the next scripted
/// response; once the script is exhausted, 404 (so a paging loop always ends).
pub struct Scripted {
    responses: RefCell<VecDeque<HttpResponse>>,
    pub log: RefCell<Vec<HttpRequest>>,
}

impl Scripted {
    pub fn new(responses: Vec<HttpResponse>) -> Self {
        Scripted {
            responses: RefCell::new(responses.into()),
            log: RefCell::new(Vec::new()),
        }
    }
}

impl HttpClient for Scripted {
    async fn send(&self, request: &HttpRequest) -> Result<HttpResponse> {
        self.log.borrow_mut().push(request.clone());
        if request.method == Method::Post && request.url.contains("/sso/oauth2/token") {
            return Ok(HttpResponse::new(
                200,
                r#"{"access_token":"fuzz-token","token_type":"Bearer","expires_in":300}"#,
            ));
        }
        Ok(self
            .responses
            .borrow_mut()
            .pop_front()
            .unwrap_or_else(|| HttpResponse::new(404, r#"{"error":{"message":"exhausted"}}"#)))
    }

    async fn sleep(&self, _ms: u64) {}
}

/// What every error must satisfy: a stable code (upper-case ASCII), never `INTERNAL` (that is a
/// broken invariant of dps-cost itself), a non-empty field for the kinds that name one, and a
/// non-empty message.
pub fn check_error(e: &Error) {
    let code = e.code();
    assert!(
        !code.is_empty() && code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
        "bad code {code:?}"
    );
    assert_ne!(code, "INTERNAL", "internal error: {e}");
    match code {
        "INVALID_INPUT" | "DECODE" | "RULE_INVALID" | "AUTH_MISSING_SCOPE" => {
            let field = e.field().unwrap_or("");
            assert!(!field.is_empty(), "{code} without a field: {e}");
        }
        _ => {}
    }
    assert!(!e.to_string().is_empty());
    assert!(!e.detail().is_empty());
}

/// `value` → JSON → `T` → JSON must give the same JSON text (decode→encode→decode).
pub fn round_trip<T>(what: &'static str, value: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let text = serde_json::to_string(value).expect("serializable");
    let again: T = match dps_cost::model::decode(what, &text) {
        Ok(v) => v,
        Err(e) => panic!("{what}: re-decoding our own encoding failed: {e}\n{text}"),
    };
    assert_eq!(&again, value, "{what}: decode(encode(x)) != x\n{text}");
}
