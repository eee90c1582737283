//! The Dynatrace Account Management API, one file per area. [`AccountApi`] holds one account's
//! OAuth client, its cached token and the transport.

pub mod cost;
pub mod subscriptions;

use std::cell::RefCell;

use serde::de::DeserializeOwned;

use crate::auth::{
    parse_token_response, token_request, AccessToken, Credentials, TokenCache, DEFAULT_SSO_URL,
    SCOPE_ACCOUNT_READ,
};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::http::{send_with_retry, status_error, BaseUrl, HttpClient, HttpRequest, RetryPolicy};

pub const DEFAULT_API_URL: &str = "https://api.dynatrace.com";

/// Where the endpoints are.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub sso: BaseUrl,
    pub api: BaseUrl,
}

impl Endpoints {
    /// Validated endpoints; `None` means the real Dynatrace hosts.
    pub fn new(sso_url: Option<&str>, api_url: Option<&str>) -> Result<Self> {
        Ok(Endpoints {
            sso: BaseUrl::parse("ssoUrl", sso_url.unwrap_or(DEFAULT_SSO_URL))?,
            api: BaseUrl::parse("apiUrl", api_url.unwrap_or(DEFAULT_API_URL))?,
        })
    }
}

/// Fetches a token for `creds` (no cache).
pub async fn fetch_token<C: HttpClient, K: Clock + ?Sized>(
    http: &C,
    clock: &K,
    sso: &BaseUrl,
    creds: &Credentials,
    scope: &str,
) -> Result<AccessToken> {
    let request = token_request(sso, creds, scope);
    // A token request is safe to repeat: it creates nothing.
    let response = send_with_retry(http, &request, RetryPolicy::default()).await?;
    parse_token_response(&response, clock.now_ms())
}

/// One account's API access: credentials, scope, token cache, transport and clock.
pub struct AccountApi<C: HttpClient, K: Clock> {
    http: C,
    clock: K,
    endpoints: Endpoints,
    creds: Credentials,
    scope: String,
    cache: RefCell<TokenCache>,
    retry: RetryPolicy,
}

impl<C: HttpClient, K: Clock> AccountApi<C, K> {
    pub fn new(
        http: C,
        clock: K,
        endpoints: Endpoints,
        creds: Credentials,
        scope: Option<&str>,
    ) -> Self {
        AccountApi {
            http,
            clock,
            endpoints,
            creds,
            scope: scope.unwrap_or(SCOPE_ACCOUNT_READ).to_string(),
            cache: RefCell::new(TokenCache::default()),
            retry: RetryPolicy::default(),
        }
    }

    /// Replaces the retry policy (tests use [`RetryPolicy::NONE`]).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn account_uuid(&self) -> &str {
        &self.creds.account_uuid
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// A fresh token, from the cache while it has more than 30 s left.
    pub async fn token(&self) -> Result<AccessToken> {
        let now = self.clock.now_ms();
        if let Some(t) = self.cache.borrow().get(now) {
            return Ok(t.clone());
        }
        let token = fetch_token(
            &self.http,
            &self.clock,
            &self.endpoints.sso,
            &self.creds,
            &self.scope,
        )
        .await?;
        self.cache.borrow_mut().put(token.clone());
        Ok(token)
    }

    /// GET `segments` under the API base with `query`, authorised, decoded as `T`. A 401 drops
    /// the cached token and tries once more with a new one.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        what: &'static str,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<T> {
        let url = self.endpoints.api.join(segments, query);
        let mut refreshed = false;
        loop {
            let token = self.token().await?;
            let request = HttpRequest::get(url.clone())
                .header("Accept", "application/json")
                .header("Authorization", token.authorization());
            let response = send_with_retry(&self.http, &request, self.retry).await?;
            if response.status == 401 && !refreshed {
                self.cache.borrow_mut().clear();
                refreshed = true;
                continue;
            }
            if !response.is_success() {
                return Err(status_error(&request, &response));
            }
            return crate::model::decode(what, &response.body);
        }
    }
}

/// Checks the path identifiers of one call.
pub(crate) fn require(field: &str, value: &str) -> Result<String> {
    crate::validate::check_uuid(field, value)
}

#[allow(dead_code)]
fn _assert_error_is_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Error>();
}
