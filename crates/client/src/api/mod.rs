//! The Dynatrace Account Management API, one file per area. [`AccountApi`] holds one account's
//! OAuth client, its tokens (one per scope set, single flight), the transport and the clock.

pub mod allocation;
pub mod cost;
pub mod datadog;
pub mod environments;
pub mod forecast;
pub mod paging;
pub mod rate_cards;
pub mod settings;
pub mod subscriptions;
pub mod usage;

use serde::de::DeserializeOwned;

use crate::auth::{
    parse_token_response, token_request, AccessToken, Credentials, TokenStore, DEFAULT_SSO_URL,
    SCOPE_ACCOUNT_READ,
};
use crate::clock::Clock;
use crate::error::Result;
use crate::http::{
    send_with_retry, status_error, BaseUrl, HttpClient, HttpRequest, HttpResponse, Method,
    RetryPolicy,
};
use crate::protocol::refresh::{Refresh, RefreshStep};

pub const DEFAULT_API_URL: &str = "https://api.dynatrace.com";
/// Reads environments.
pub const SCOPE_ENV_READ: &str = "account-env-read";
/// Writes cost-center and product allow lists.
pub const SCOPE_ACCOUNT_WRITE: &str = "account-uac-write";

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
    retry: RetryPolicy,
) -> Result<AccessToken> {
    let request = token_request(sso, creds, scope);
    let response = send_with_retry(http, clock, &request, retry).await?;
    parse_token_response(&response, clock.now_ms())
}

/// One account's API access: credentials, tokens, transport and clock.
pub struct AccountApi<C: HttpClient, K: Clock> {
    http: C,
    clock: K,
    endpoints: Endpoints,
    creds: Credentials,
    scope: String,
    tokens: TokenStore,
    retry: RetryPolicy,
}

impl<C: HttpClient, K: Clock> AccountApi<C, K> {
    /// `scope` is the scope of [`AccountApi::token`] (default `account-uac-read`); each endpoint
    /// asks for the scope it needs.
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
            tokens: TokenStore::default(),
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

    pub fn clock(&self) -> &K {
        &self.clock
    }

    /// A token with the client's configured scope.
    pub async fn token(&self) -> Result<AccessToken> {
        let scope = self.scope.clone();
        self.token_for(&scope).await
    }

    /// A token with `scope`: cached until 30 s before expiry, one request for concurrent callers.
    pub async fn token_for(&self, scope: &str) -> Result<AccessToken> {
        self.tokens
            .get(
                scope,
                || self.clock.now_ms(),
                || {
                    fetch_token(
                        &self.http,
                        &self.clock,
                        &self.endpoints.sso,
                        &self.creds,
                        scope,
                        self.retry,
                    )
                },
            )
            .await
    }

    /// Sends `request` with a token of `scope`; a 401 drops that token and tries once more with
    /// a new one ([`Refresh`]). Returns the request sent and the final response (any status). Not generic, so
    /// the retry and token logic exist once in the wasm, whatever the endpoint.
    pub async fn send(
        &self,
        scope: &str,
        request: &HttpRequest,
    ) -> Result<(HttpRequest, HttpResponse)> {
        let mut refresh = Refresh::new();
        loop {
            let token = self.token_for(scope).await?;
            let authorized = request
                .clone()
                .header("Authorization", token.authorization());
            let response =
                send_with_retry(&self.http, &self.clock, &authorized, self.retry).await?;
            match refresh.after(&response) {
                RefreshStep::Refresh => self.tokens.invalidate(scope),
                RefreshStep::Done => return Ok((authorized, response)),
            }
        }
    }

    /// GET `segments` under the API base with `query`; the body of a 2xx answer.
    pub async fn get_body(
        &self,
        scope: &str,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<String> {
        let url = self.endpoints.api.join(segments, query);
        let (request, response) = self
            .send(
                scope,
                &HttpRequest::get(url).header("Accept", "application/json"),
            )
            .await?;
        if !response.is_success() {
            return Err(status_error(&request, &response));
        }
        Ok(response.body)
    }

    /// GET `segments` under the API base with `query`, decoded as `T`.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        what: &'static str,
        scope: &str,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<T> {
        let body = self.get_body(scope, segments, query).await?;
        crate::model::decode(what, &body)
    }

    /// A write (`POST`/`PUT` with a JSON body, or `DELETE`) that answers 2xx without a body we need.
    pub async fn write(
        &self,
        scope: &str,
        method: Method,
        segments: &[&str],
        body: Option<String>,
    ) -> Result<()> {
        let url = self.endpoints.api.join(segments, &[]);
        let request = match (body, method) {
            (Some(b), m) => HttpRequest::json(m, url, b),
            (None, Method::Delete) => HttpRequest::delete(url),
            (None, m) => HttpRequest::json(m, url, String::new()),
        };
        let (request, response) = self.send(scope, &request).await?;
        if !response.is_success() {
            return Err(status_error(&request, &response));
        }
        Ok(())
    }
}

/// `{"data": [...], "lastModifiedTime"}`: the reply of the subscription-wide `/cost` and `/usage`.
#[derive(serde::Deserialize)]
#[serde(bound(deserialize = "T: serde::Deserialize<'de>"))]
struct DataReply<T> {
    #[serde(default)]
    data: Option<Vec<T>>,
}

impl<C: HttpClient, K: Clock> AccountApi<C, K> {
    /// `GET /sub/v2/accounts/{a}/subscriptions/{s}/{leaf}` with the filter: the `data` records.
    pub(crate) async fn subscription_records<T: DeserializeOwned>(
        &self,
        what: &'static str,
        subscription_uuid: &str,
        leaf: &str,
        filter: &cost::CostFilter,
    ) -> Result<Vec<T>> {
        let sub = require("subscriptionUuid", subscription_uuid)?;
        let query = filter.query()?;
        let account = self.account_uuid().to_string();
        let segments = [
            "sub",
            "v2",
            "accounts",
            &account,
            "subscriptions",
            &sub,
            leaf,
        ];
        let reply: DataReply<T> = self
            .get_json(what, SCOPE_ACCOUNT_READ, &segments, &query)
            .await?;
        reply
            .data
            .ok_or_else(|| crate::error::Error::decode(what, "data", "missing", None))
    }
}

/// Checks the path identifiers of one call.
pub(crate) fn require(field: &str, value: &str) -> Result<String> {
    crate::validate::check_uuid(field, value)
}
