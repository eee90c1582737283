//! `GET /sub/v2/accounts/{a}/subscriptions/{s}/cost`: daily cost of the subscription.

use crate::clock::Clock;
use crate::error::Result;
use crate::http::HttpClient;
use crate::model::cost::CostRecord;
use crate::validate::check_id;

use super::AccountApi;

/// Optional filters of the cost and usage endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CostFilter {
    pub environment_ids: Vec<String>,
    pub capability_keys: Vec<String>,
    /// Managed clusters (DPS for Hybrid).
    pub cluster_ids: Vec<String>,
}

impl CostFilter {
    /// Validated query pairs (comma-separated lists; empty lists are not sent).
    pub fn query(&self) -> Result<Vec<(&'static str, String)>> {
        let mut q = Vec::new();
        for (name, list) in [
            ("environmentIds", &self.environment_ids),
            ("capabilityKeys", &self.capability_keys),
            ("clusterIds", &self.cluster_ids),
        ] {
            for (i, v) in list.iter().enumerate() {
                check_id(&format!("{name}[{i}]"), v)?;
            }
            if !list.is_empty() {
                q.push((name, list.join(",")));
            }
        }
        Ok(q)
    }
}

impl<C: HttpClient, K: Clock> AccountApi<C, K> {
    /// Daily cost records as the API returns them (in its order).
    pub async fn daily_cost(
        &self,
        subscription_uuid: &str,
        filter: &CostFilter,
    ) -> Result<Vec<CostRecord>> {
        self.subscription_records("daily cost", subscription_uuid, "cost", filter)
            .await
    }
}
