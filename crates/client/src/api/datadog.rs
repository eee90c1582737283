//! Datadog custom allocation rules ("arbitrary rules"): `GET /api/v2/cost/arbitrary_rule` and
//! `/{rule_id}`, with `DD-API-KEY` / `DD-APPLICATION-KEY` and the site chosen by name. The
//! bodies are returned as JSON text for the rule parser (`crate::allocate`).

use crate::auth::Secret;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::http::{send_with_retry, status_error, BaseUrl, HttpClient, HttpRequest, RetryPolicy};

/// Datadog sites and their API hosts.
pub const SITES: &[(&str, &str)] = &[
    ("datadoghq.com", "https://api.datadoghq.com"),
    ("us1", "https://api.datadoghq.com"),
    ("us3.datadoghq.com", "https://api.us3.datadoghq.com"),
    ("us3", "https://api.us3.datadoghq.com"),
    ("us5.datadoghq.com", "https://api.us5.datadoghq.com"),
    ("us5", "https://api.us5.datadoghq.com"),
    ("datadoghq.eu", "https://api.datadoghq.eu"),
    ("eu", "https://api.datadoghq.eu"),
    ("eu1", "https://api.datadoghq.eu"),
    ("ap1.datadoghq.com", "https://api.ap1.datadoghq.com"),
    ("ap1", "https://api.ap1.datadoghq.com"),
    ("ap2.datadoghq.com", "https://api.ap2.datadoghq.com"),
    ("ap2", "https://api.ap2.datadoghq.com"),
    ("uk1.datadoghq.com", "https://api.uk1.datadoghq.com"),
    ("uk1", "https://api.uk1.datadoghq.com"),
    ("ddog-gov.com", "https://api.ddog-gov.com"),
    ("us1-fed", "https://api.ddog-gov.com"),
    ("us2.ddog-gov.com", "https://api.us2.ddog-gov.com"),
];

/// The API base of a site name (`datadoghq.eu`, `us5`, …), or of an explicit base URL (https, or
/// http on loopback for the emulator).
pub fn api_base(site: Option<&str>, base_url: Option<&str>) -> Result<BaseUrl> {
    match (site, base_url) {
        (Some(_), Some(_)) => Err(Error::invalid("site", "give site or baseUrl, not both")),
        (_, Some(url)) => BaseUrl::parse("baseUrl", url),
        (site, None) => {
            let name = site.unwrap_or("datadoghq.com").trim().to_ascii_lowercase();
            let name = name.strip_prefix("app.").unwrap_or(&name);
            let url = SITES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, u)| *u)
                .ok_or_else(|| {
                    let known: Vec<&str> = SITES
                        .iter()
                        .map(|(n, _)| *n)
                        .filter(|n| n.contains('.'))
                        .collect();
                    Error::invalid(
                        "site",
                        format!(
                            "unknown Datadog site `{}`; one of {}",
                            name.chars().take(40).collect::<String>(),
                            known.join(", ")
                        ),
                    )
                })?;
            BaseUrl::parse("site", url)
        }
    }
}

/// Read access to a Datadog organisation's custom allocation rules.
pub struct DatadogApi<C: HttpClient, K: Clock> {
    http: C,
    clock: K,
    base: BaseUrl,
    api_key: Secret,
    application_key: Secret,
    retry: RetryPolicy,
}

impl<C: HttpClient, K: Clock> DatadogApi<C, K> {
    pub fn new(
        http: C,
        clock: K,
        base: BaseUrl,
        api_key: Secret,
        application_key: Secret,
    ) -> Result<Self> {
        for (field, key) in [("apiKey", &api_key), ("applicationKey", &application_key)] {
            let k = key.expose();
            if k.trim().is_empty() || k.chars().any(|c| c.is_control() || c.is_whitespace()) {
                return Err(Error::invalid(
                    field,
                    "must be a non-empty key without white space",
                ));
            }
        }
        Ok(DatadogApi {
            http,
            clock,
            base,
            api_key,
            application_key,
            retry: RetryPolicy::default(),
        })
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    async fn get(&self, segments: &[&str]) -> Result<String> {
        let request = HttpRequest::get(self.base.join(segments, &[]))
            .header("Accept", "application/json")
            .header("DD-API-KEY", self.api_key.expose())
            .header("DD-APPLICATION-KEY", self.application_key.expose());
        let response = send_with_retry(&self.http, &self.clock, &request, self.retry).await?;
        if !response.is_success() {
            return Err(status_error(&request, &response));
        }
        Ok(response.body)
    }

    /// `ArbitraryRuleResponseArray` as JSON text.
    pub async fn list_rules_json(&self) -> Result<String> {
        self.get(&["api", "v2", "cost", "arbitrary_rule"]).await
    }

    /// `ArbitraryRuleResponse` of one rule (`rule_id` is an int64) as JSON text.
    pub async fn rule_json(&self, rule_id: &str) -> Result<String> {
        if rule_id.is_empty() || rule_id.len() > 19 || !rule_id.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(Error::invalid("ruleId", "must be a numeric rule id"));
        }
        self.get(&["api", "v2", "cost", "arbitrary_rule", rule_id])
            .await
    }
}
