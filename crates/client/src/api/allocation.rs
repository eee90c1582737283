//! `GET /v1/subscriptions/{subscription-uuid}/cost-allocation`: cost per cost center or product.
//! Later pages carry `page-key` alone (the API rejects it together with other parameters).

use crate::auth::SCOPE_ACCOUNT_READ;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::http::HttpClient;
use crate::model::allocation::{AllocationPage, AllocationRecord, RawAllocationRecord};
use crate::time::parse_date;
use crate::validate::check_id;

use super::paging::{next_page, Cursor, Page};
use super::{require, AccountApi};

pub use crate::model::allocation::AllocationField;

/// The first page's query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationQuery {
    pub field: AllocationField,
    pub environment_id: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub page_size: Option<u32>,
}

impl AllocationQuery {
    /// Validates the environment id and the `YYYY-MM-DD` dates (`from <= to`).
    pub fn params(&self) -> Result<Vec<(&'static str, String)>> {
        check_id("environmentId", &self.environment_id)?;
        let mut q = vec![
            ("field", self.field.as_str().to_string()),
            ("environment-id", self.environment_id.clone()),
        ];
        let mut days = [None, None];
        for (i, (name, v)) in [("from", &self.from), ("to", &self.to)]
            .into_iter()
            .enumerate()
        {
            if let Some(v) = v {
                days[i] = Some(
                    parse_date(v)
                        .ok_or_else(|| Error::invalid(name, "must be a date YYYY-MM-DD"))?,
                );
                q.push((name, v.clone()));
            }
        }
        if let [Some(f), Some(t)] = days {
            if f > t {
                return Err(Error::invalid("to", "must not be before from"));
            }
        }
        if let Some(n) = self.page_size {
            if n == 0 {
                return Err(Error::invalid("pageSize", "must be at least 1"));
            }
            q.push(("page-size", n.to_string()));
        }
        Ok(q)
    }
}

/// One page of the breakdown.
#[derive(Debug, Clone, PartialEq)]
pub struct AllocationRecords {
    pub records: Vec<AllocationRecord>,
    pub next_page_key: Option<String>,
}

impl Page for AllocationRecords {
    fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
    fn next_page_key(&self) -> Option<&str> {
        self.next_page_key.as_deref()
    }
}

fn records_of(page: AllocationPage) -> Result<AllocationRecords> {
    let mut records = Vec::new();
    for (i, r) in page.records.unwrap_or_default().into_iter().enumerate() {
        records.push(match r {
            RawAllocationRecord::Object(o) => o,
            RawAllocationRecord::Text(t) => serde_json::from_str(&t).map_err(|e| {
                Error::decode("cost allocation", format!("records[{i}]"), e, Some(&t))
            })?,
        });
    }
    Ok(AllocationRecords {
        records,
        next_page_key: page.next_page_key,
    })
}

impl<C: HttpClient, K: Clock> AccountApi<C, K> {
    /// One page: the full query for the first, `page-key` alone for the rest.
    pub async fn cost_allocation_page(
        &self,
        subscription_uuid: &str,
        query: &AllocationQuery,
        page_key: Option<&str>,
    ) -> Result<AllocationRecords> {
        let sub = require("subscriptionUuid", subscription_uuid)?;
        let params = match page_key {
            Some(k) => vec![("page-key", k.to_string())],
            None => query.params()?,
        };
        let page: AllocationPage = self
            .get_json(
                "cost allocation",
                SCOPE_ACCOUNT_READ,
                &["v1", "subscriptions", &sub, "cost-allocation"],
                &params,
            )
            .await?;
        records_of(page)
    }

    /// Every page of the breakdown. `key: null` is the unallocated share.
    pub async fn cost_allocation(
        &self,
        subscription_uuid: &str,
        query: &AllocationQuery,
    ) -> Result<Vec<AllocationRecord>> {
        query.params()?;
        let mut cursor = Cursor::new();
        let mut out = Vec::new();
        while let Some(page) = next_page(&mut cursor, |key| async move {
            self.cost_allocation_page(subscription_uuid, query, key.as_deref())
                .await
        })
        .await?
        {
            out.extend(page.records);
        }
        Ok(out)
    }
}
