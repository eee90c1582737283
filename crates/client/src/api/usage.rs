//! Usage of the subscription (v2), and per-environment cost and usage (v3, cursor paged; the
//! deprecated v2 per-environment endpoints answer 410 Gone after 2027-01-11).

use serde::de::DeserializeOwned;

use crate::auth::SCOPE_ACCOUNT_READ;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::http::{status_error, HttpClient, HttpRequest};
use crate::model::usage::{EnvCostRecord, EnvironmentPage, EnvironmentRecords, UsageRecord};
use crate::time::{format_iso_ms, parse_timestamp_ms};

use super::cost::CostFilter;
use super::paging::{next_page, Cursor, Page};
use super::{require, AccountApi};

pub use crate::model::usage::UsageRecord as SubscriptionUsageRecord;

/// The largest `page-size` the v3 endpoints accept (more is a 400).
pub const MAX_V3_PAGE_SIZE: u32 = 50;

/// A usage record of one environment (v3).
pub type EnvUsageRecord = UsageRecord;

/// Which per-environment listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvMetric {
    Cost,
    Usage,
}

impl EnvMetric {
    fn segment(self) -> &'static str {
        match self {
            EnvMetric::Cost => "cost",
            EnvMetric::Usage => "usage",
        }
    }
}

/// The v3 query: a time window (required by the API), filters and page size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvQuery {
    pub start_ms: i64,
    pub end_ms: i64,
    pub filter: CostFilter,
    pub page_size: u32,
}

impl EnvQuery {
    /// Validates an ISO-8601 window (`start < end`) and the page size (1..=50; default 50).
    pub fn new(start: &str, end: &str, filter: CostFilter, page_size: Option<u32>) -> Result<Self> {
        let start_ms = parse_timestamp_ms(start)
            .ok_or_else(|| Error::invalid("startTime", "is not an ISO-8601 timestamp"))?;
        let end_ms = parse_timestamp_ms(end)
            .ok_or_else(|| Error::invalid("endTime", "is not an ISO-8601 timestamp"))?;
        if end_ms <= start_ms {
            return Err(Error::invalid("endTime", "must be after startTime"));
        }
        let page_size = page_size.unwrap_or(MAX_V3_PAGE_SIZE);
        if page_size == 0 || page_size > MAX_V3_PAGE_SIZE {
            return Err(Error::invalid(
                "pageSize",
                format!("must be 1..={MAX_V3_PAGE_SIZE}"),
            ));
        }
        filter.query()?;
        Ok(EnvQuery {
            start_ms,
            end_ms,
            filter,
            page_size,
        })
    }

    /// The full query, sent again with every page (the API rejects `page-key` alone).
    pub fn params(&self, page_key: Option<&str>) -> Result<Vec<(&'static str, String)>> {
        let mut q = vec![
            ("startTime", format_iso_ms(self.start_ms)),
            ("endTime", format_iso_ms(self.end_ms)),
        ];
        q.extend(self.filter.query()?);
        q.push(("page-size", self.page_size.to_string()));
        if let Some(k) = page_key {
            q.push(("page-key", k.to_string()));
        }
        Ok(q)
    }
}

/// One fetched page of a per-environment listing.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvPage<T> {
    pub environments: Vec<EnvironmentRecords<T>>,
    pub next_page_key: Option<String>,
    pub last_modified_time: Option<String>,
}

impl<T> Page for EnvPage<T> {
    /// No environment on the page has a record.
    fn is_empty(&self) -> bool {
        self.environments.iter().all(|e| e.records.is_empty())
    }
    fn next_page_key(&self) -> Option<&str> {
        self.next_page_key.as_deref()
    }
}

/// Appends `page` to `merged`, joining an environment that continues from an earlier page.
pub fn merge_environments<T>(
    merged: &mut Vec<EnvironmentRecords<T>>,
    page: Vec<EnvironmentRecords<T>>,
) {
    for env in page {
        match merged
            .iter_mut()
            .find(|m| m.environment_id == env.environment_id && m.cluster_id == env.cluster_id)
        {
            Some(m) => m.records.extend(env.records),
            None => merged.push(env),
        }
    }
}

impl<C: HttpClient, K: Clock> AccountApi<C, K> {
    /// Usage of the whole subscription, per capability and day.
    pub async fn subscription_usage(
        &self,
        subscription_uuid: &str,
        filter: &CostFilter,
    ) -> Result<Vec<UsageRecord>> {
        self.subscription_records("subscription usage", subscription_uuid, "usage", filter)
            .await
    }

    /// One page of `/sub/v3/…/environments/{cost|usage}`.
    pub async fn environment_page<T: DeserializeOwned>(
        &self,
        metric: EnvMetric,
        subscription_uuid: &str,
        query: &EnvQuery,
        page_key: Option<&str>,
    ) -> Result<EnvPage<T>> {
        let sub = require("subscriptionUuid", subscription_uuid)?;
        let account = self.account_uuid().to_string();
        let what = match metric {
            EnvMetric::Cost => "environment cost page",
            EnvMetric::Usage => "environment usage page",
        };
        let page: EnvironmentPage<T> = self
            .get_json(
                what,
                SCOPE_ACCOUNT_READ,
                &[
                    "sub",
                    "v3",
                    "accounts",
                    &account,
                    "subscriptions",
                    &sub,
                    "environments",
                    metric.segment(),
                ],
                &query.params(page_key)?,
            )
            .await?;
        Ok(EnvPage {
            environments: page.data.unwrap_or_default(),
            next_page_key: page.next_page_key,
            last_modified_time: page.last_modified_time,
        })
    }

    /// Every page of a per-environment listing, environments merged across pages.
    pub async fn environment_records<T: DeserializeOwned>(
        &self,
        metric: EnvMetric,
        subscription_uuid: &str,
        query: &EnvQuery,
    ) -> Result<Vec<EnvironmentRecords<T>>> {
        let mut cursor = Cursor::new();
        let mut merged = Vec::new();
        while let Some(page) = next_page(&mut cursor, |key| async move {
            self.environment_page::<T>(metric, subscription_uuid, query, key.as_deref())
                .await
        })
        .await?
        {
            merge_environments(&mut merged, page.environments);
        }
        Ok(merged)
    }

    /// Per-environment cost per capability and day (v3, all pages).
    pub async fn environment_cost(
        &self,
        subscription_uuid: &str,
        query: &EnvQuery,
    ) -> Result<Vec<EnvironmentRecords<EnvCostRecord>>> {
        self.environment_records(EnvMetric::Cost, subscription_uuid, query)
            .await
    }

    /// Per-environment usage per capability and day (v3, all pages).
    pub async fn environment_usage(
        &self,
        subscription_uuid: &str,
        query: &EnvQuery,
    ) -> Result<Vec<EnvironmentRecords<UsageRecord>>> {
        self.environment_records(EnvMetric::Usage, subscription_uuid, query)
            .await
    }

    /// The deprecated v2 per-environment listing (unpaged). After its removal the API answers
    /// 410 Gone; that becomes a `GONE` error naming the v3 replacement.
    pub async fn environment_records_v2<T: DeserializeOwned>(
        &self,
        metric: EnvMetric,
        subscription_uuid: &str,
        filter: &CostFilter,
    ) -> Result<Vec<EnvironmentRecords<T>>> {
        let sub = require("subscriptionUuid", subscription_uuid)?;
        let account = self.account_uuid().to_string();
        let url = self.endpoints().api.join(
            &[
                "sub",
                "v2",
                "accounts",
                &account,
                "subscriptions",
                &sub,
                "environments",
                metric.segment(),
            ],
            &filter.query()?,
        );
        let (request, response) = self
            .send(
                SCOPE_ACCOUNT_READ,
                &HttpRequest::get(url).header("Accept", "application/json"),
            )
            .await?;
        if response.status == 410 {
            let replacement = format!(
                "/sub/v3/accounts/{account}/subscriptions/{sub}/environments/{}",
                metric.segment()
            );
            return Err(Error::Http {
                status: 410,
                method: "GET",
                endpoint: request.endpoint(),
                message: format!(
                    "the v2 per-environment endpoint was removed (410 Gone); use {replacement} (startTime/endTime required, cursor paged) — `environmentCost`/`environmentUsage` in dps-cost"
                ),
                retry_after_secs: None,
            });
        }
        if !response.is_success() {
            return Err(status_error(&request, &response));
        }
        let page: EnvironmentPage<T> =
            crate::model::decode("environment listing (v2)", &response.body)?;
        Ok(page.data.unwrap_or_default())
    }
}
