//! OAuth client credentials: the token request as a value, the reply parsed, a cache.

use crate::hash::{HashMap, HashSet};
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::http::{form_encode, BaseUrl, HttpRequest, HttpResponse};
use crate::validate::check_uuid;

pub const DEFAULT_SSO_URL: &str = "https://sso.dynatrace.com/sso/oauth2/token";
/// The scope that reads DPS subscription, cost and usage data.
pub const SCOPE_ACCOUNT_READ: &str = "account-uac-read";
/// The scope that writes bizevents.
pub const SCOPE_EVENTS_WRITE: &str = "storage:events:write";
/// A cached token is renewed this long before it expires.
pub const REFRESH_MARGIN_MS: i64 = 30_000;
/// Assumed lifetime when the server omits `expires_in` (Dynatrace tokens live 300 s).
const DEFAULT_EXPIRES_IN: i64 = 300;

/// A string that must never be shown: `Debug` and `Display` print `<redacted>`.
#[derive(Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify), tsify(type = "string"))]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// An OAuth client of one Dynatrace account.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub account_uuid: String,
    pub client_id: String,
    pub client_secret: Secret,
}

impl Credentials {
    /// Validates the account UUID and that id and secret are present. `prefix` names the
    /// options in errors (e.g. `accounts[1].`).
    pub fn new(
        prefix: &str,
        account_uuid: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Result<Self> {
        let account_uuid = check_uuid(&format!("{prefix}accountUuid"), account_uuid)?;
        if client_id.trim().is_empty() {
            return Err(Error::invalid(format!("{prefix}clientId"), "is empty"));
        }
        if client_secret.trim().is_empty() {
            return Err(Error::invalid(format!("{prefix}clientSecret"), "is empty"));
        }
        if client_id.contains(char::is_whitespace) {
            return Err(Error::invalid(
                format!("{prefix}clientId"),
                "contains white space",
            ));
        }
        Ok(Credentials {
            account_uuid,
            client_id: client_id.to_string(),
            client_secret: Secret::new(client_secret),
        })
    }
}

/// The token request: form-encoded client credentials, `scope` and `resource` always sent.
pub fn token_request(sso_url: &BaseUrl, creds: &Credentials, scope: &str) -> HttpRequest {
    let resource = format!("urn:dtaccount:{}", creds.account_uuid);
    let body = form_encode(&[
        ("grant_type", "client_credentials"),
        ("client_id", &creds.client_id),
        ("client_secret", creds.client_secret.expose()),
        ("scope", scope),
        ("resource", &resource),
    ]);
    // Safe to repeat: a token request creates nothing.
    HttpRequest::post(
        sso_url.as_str().to_string(),
        "application/x-www-form-urlencoded",
        body,
    )
    .header("Accept", "application/json")
    .idempotent(true)
}

/// A bearer token and when it stops being usable.
#[derive(Clone, Debug)]
pub struct AccessToken {
    pub token: Secret,
    pub token_type: String,
    pub expires_in_secs: i64,
    pub scope: Option<String>,
    pub resource: Option<String>,
    /// Epoch ms at which the server said it expires.
    pub expires_at_ms: i64,
}

impl AccessToken {
    /// Usable now, with the refresh margin left.
    pub fn is_fresh(&self, now_ms: i64) -> bool {
        now_ms < self.expires_at_ms - REFRESH_MARGIN_MS
    }

    pub fn authorization(&self) -> String {
        format!("Bearer {}", self.token.expose())
    }
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: Option<String>,
    token_type: Option<String>,
    expires_in: Option<serde_json::Value>,
    scope: Option<String>,
    resource: Option<String>,
}

#[derive(Deserialize)]
struct OAuthErrorReply {
    error: Option<serde_json::Value>,
    error_description: Option<String>,
    message: Option<String>,
}

/// Reads the token endpoint's reply. The body is never copied into an error on success paths
/// (it holds the token); OAuth errors surface `error_description`.
pub fn parse_token_response(response: &HttpResponse, now_ms: i64) -> Result<AccessToken> {
    if response.is_success() {
        let reply: TokenReply = serde_json::from_str(&response.body)
            .map_err(|e| Error::decode("token response", "$", strip_serde_excerpt(&e), None))?;
        let token = reply
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Error::decode("token response", "access_token", "missing or empty", None)
            })?;
        let expires_in = match reply.expires_in {
            None | Some(serde_json::Value::Null) => DEFAULT_EXPIRES_IN,
            Some(v) => v
                .as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    Error::decode(
                        "token response",
                        "expires_in",
                        "not a positive integer",
                        None,
                    )
                })?,
        };
        return Ok(AccessToken {
            token: Secret::new(token),
            token_type: reply.token_type.unwrap_or_else(|| "Bearer".to_string()),
            expires_in_secs: expires_in,
            scope: reply.scope,
            resource: reply.resource,
            expires_at_ms: now_ms.saturating_add(expires_in.saturating_mul(1000)),
        });
    }
    let status = response.status;
    if status == 429 {
        return Err(Error::Http {
            status,
            method: "POST",
            endpoint: "token endpoint".to_string(),
            message: "too many token requests".to_string(),
            retry_after_secs: crate::http::retry_after_secs(response),
        });
    }
    let reply: Option<OAuthErrorReply> = serde_json::from_str(&response.body).ok();
    let (error, description) = match reply {
        Some(r) => {
            let error = match r.error {
                Some(serde_json::Value::String(s)) => Some(s),
                Some(serde_json::Value::Object(o)) => o
                    .get("message")
                    .and_then(|m| m.as_str())
                    .map(|m| format!("error: {m}")),
                _ => None,
            };
            (error, r.error_description.or(r.message))
        }
        None => (None, None),
    };
    match (error, description) {
        (Some(error), description) if matches!(status, 400 | 401 | 403) => {
            let description = description.unwrap_or_else(|| error.clone());
            if let Some(missing) = missing_scopes(&description) {
                Err(Error::AuthMissingScope {
                    status,
                    missing,
                    description,
                })
            } else {
                Err(Error::AuthInvalidClient {
                    status,
                    error,
                    description,
                })
            }
        }
        (_, Some(message)) => Err(Error::AuthFailed { status, message }),
        _ => Err(Error::AuthFailed {
            status,
            message: crate::http::error_message(&response.body),
        }),
    }
}

/// `… missing following scopes [a b]` → `a b`.
fn missing_scopes(description: &str) -> Option<String> {
    let at = description.find("missing following scopes")?;
    let rest = &description[at..];
    let open = rest.find('[')?;
    let close = rest[open..].find(']')? + open;
    Some(rest[open + 1..close].trim().to_string())
}

/// serde_json messages quote the input near the error; from a token body that could be the
/// token itself. Keep only the category and position.
fn strip_serde_excerpt(e: &serde_json::Error) -> String {
    format!(
        "invalid JSON ({:?} error at line {} column {})",
        e.classify(),
        e.line(),
        e.column()
    )
}

/// Tokens of one OAuth client, one per scope set, each renewed 30 s before it expires. Callers
/// that want the same scope while its token is being fetched wait for that one request instead
/// of sending their own ("single flight"); if it fails they all get its error.
#[derive(Debug, Default)]
pub struct TokenStore {
    state: RefCell<StoreState>,
}

#[derive(Debug, Default)]
struct StoreState {
    tokens: HashMap<String, AccessToken>,
    pending: HashSet<String>,
    /// Last failure per scope, with the generation it happened in.
    failures: HashMap<String, (u64, Error)>,
    generation: u64,
    waiters: Vec<Waker>,
}

/// Ends a fetch even if its future is dropped: clears `pending` and wakes the waiters.
struct PendingGuard<'a> {
    store: &'a TokenStore,
    scope: &'a str,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        let mut st = self.store.state.borrow_mut();
        st.pending.remove(self.scope);
        st.generation += 1;
        for w in st.waiters.drain(..) {
            w.wake();
        }
    }
}

/// Resolves once `scope` is no longer being fetched.
struct WaitFor<'a> {
    store: &'a TokenStore,
    scope: &'a str,
}

impl Future for WaitFor<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = self.store.state.borrow_mut();
        if st.pending.contains(self.scope) {
            st.waiters.push(cx.waker().clone());
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }
}

impl TokenStore {
    /// A fresh cached token for `scope`, else the result of `fetch` (run once for all
    /// concurrent callers).
    pub async fn get<F, Fut>(
        &self,
        scope: &str,
        now_ms: impl Fn() -> i64,
        fetch: F,
    ) -> Result<AccessToken>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<AccessToken>>,
    {
        let started_gen = self.state.borrow().generation;
        loop {
            {
                let st = self.state.borrow();
                if let Some(t) = st.tokens.get(scope).filter(|t| t.is_fresh(now_ms())) {
                    return Ok(t.clone());
                }
                if let Some((gen, e)) = st.failures.get(scope) {
                    if *gen > started_gen {
                        return Err(e.clone());
                    }
                }
                if !st.pending.contains(scope) {
                    break;
                }
            }
            WaitFor { store: self, scope }.await;
        }
        self.state.borrow_mut().pending.insert(scope.to_string());
        let guard = PendingGuard { store: self, scope };
        let result = fetch().await;
        {
            let mut st = self.state.borrow_mut();
            match &result {
                Ok(t) => {
                    st.tokens.insert(scope.to_string(), t.clone());
                    st.failures.remove(scope);
                }
                Err(e) => {
                    let gen = st.generation + 1;
                    st.failures.insert(scope.to_string(), (gen, e.clone()));
                }
            }
        }
        drop(guard);
        result
    }

    /// Forgets the token of `scope` (after a 401).
    pub fn invalidate(&self, scope: &str) {
        self.state.borrow_mut().tokens.remove(scope);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials::new(
            "",
            "3f7c2d1e-8a4b-4c6d-9e0f-1a2b3c4d5e6f",
            "dt0s02.ABC",
            "dt0s02.ABC.s3cr3t&x=1",
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn request_is_form_encoded_with_scope_and_resource() {
        let sso = BaseUrl::parse("ssoUrl", DEFAULT_SSO_URL).unwrap_or_else(|e| panic!("{e}"));
        let r = token_request(&sso, &creds(), "account-uac-read account-env-read");
        assert_eq!(r.url, DEFAULT_SSO_URL);
        assert_eq!(
            r.header_value("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(
            r.body.as_deref(),
            Some(
                "grant_type=client_credentials&client_id=dt0s02.ABC&client_secret=dt0s02.ABC.s3cr3t%26x%3D1\
                 &scope=account-uac-read%20account-env-read\
                 &resource=urn%3Adtaccount%3A3f7c2d1e-8a4b-4c6d-9e0f-1a2b3c4d5e6f"
            )
        );
        assert!(!format!("{:?}", creds()).contains("s3cr3t"));
    }

    #[test]
    fn parses_success_and_expiry() {
        let body = r#"{"scope":"account-uac-read","token_type":"Bearer","expires_in":300,"access_token":"eyJ.tok","resource":"urn:dtaccount:x"}"#;
        let t = parse_token_response(&HttpResponse::new(200, body), 1_000)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.expires_at_ms, 301_000);
        assert!(t.is_fresh(1_000 + 269_999));
        assert!(!t.is_fresh(1_000 + 270_000));
        assert_eq!(t.authorization(), "Bearer eyJ.tok");
        assert!(!format!("{t:?}").contains("eyJ.tok"));
    }

    #[test]
    fn oauth_errors_are_typed() {
        let bad = r#"{"error":"invalid_request","error_description":"Invalid OAuth2 request. UNSUCCESSFUL_OAUTH_ACCESS_TOKEN_VALIDATION_FAILED | Invalid client"}"#;
        let e = parse_token_response(&HttpResponse::new(400, bad), 0)
            .err()
            .unwrap_or_else(|| panic!());
        assert_eq!(e.code(), "AUTH_INVALID_CLIENT");
        assert_eq!(e.status(), Some(400));
        assert!(e.to_string().contains("Invalid client"));

        let scope = r#"{"error":"invalid_request","error_description":"x | OAuth client is missing following scopes [settings:objects:read]"}"#;
        let e = parse_token_response(&HttpResponse::new(400, scope), 0)
            .err()
            .unwrap_or_else(|| panic!());
        assert_eq!(e.code(), "AUTH_MISSING_SCOPE");
        assert!(e.to_string().contains("settings:objects:read"));

        let e = parse_token_response(&HttpResponse::new(502, "<html>bad gateway"), 0)
            .err()
            .unwrap_or_else(|| panic!());
        assert_eq!(e.code(), "AUTH_FAILED");
    }

    #[test]
    fn throttling_is_not_a_client_rejection_and_token_requests_are_retryable() {
        let e = parse_token_response(
            &HttpResponse::new(429, r#"{"error":"too_many_requests"}"#)
                .with_header("Retry-After", "2"),
            0,
        )
        .err()
        .unwrap_or_else(|| panic!());
        assert_eq!((e.code(), e.status()), ("RATE_LIMITED", Some(429)));
        let e = parse_token_response(&HttpResponse::new(503, r#"{"error":"unavailable"}"#), 0)
            .err()
            .unwrap_or_else(|| panic!());
        assert_eq!(e.code(), "AUTH_FAILED");
        let sso = BaseUrl::parse("ssoUrl", DEFAULT_SSO_URL).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            token_request(&sso, &creds(), "x").idempotent,
            "a token request may be repeated after a network error"
        );
    }

    #[test]
    fn malformed_success_never_echoes_the_body() {
        for body in [
            r#"{"access_token":"SECRETTOKEN","expires_in":"soon"}"#,
            r#"{"access_token":"SECRETTOKEN""#,
            "{}",
        ] {
            let e = parse_token_response(&HttpResponse::new(200, body), 0)
                .err()
                .unwrap_or_else(|| panic!());
            assert_eq!(e.code(), "DECODE");
            assert!(!format!("{e} {e:?}").contains("SECRETTOKEN"), "{e:?}");
        }
    }
}
