//! Usage of the whole subscription (v2) and per environment (v3), and per-environment cost (v3).

use serde::{Deserialize, Serialize};

/// `GET …/{sub}/usage`: one record per capability and day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct UsageRecord {
    pub capability_key: String,
    #[serde(default)]
    pub capability_name: Option<String>,
    pub start_time: String,
    #[serde(default)]
    pub end_time: Option<String>,
    pub value: f64,
    #[serde(default)]
    pub unit_measure: Option<String>,
}

/// One day of one capability's cost in one environment (v3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct EnvCostRecord {
    pub start_time: String,
    #[serde(default)]
    pub end_time: Option<String>,
    pub value: f64,
    #[serde(default)]
    pub currency_code: Option<String>,
    pub capability_key: String,
    #[serde(default)]
    pub capability_name: Option<String>,
    #[serde(default)]
    pub booking_date: Option<String>,
}

/// An environment's records; one environment can arrive in pieces on several pages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
pub struct EnvironmentRecords<T> {
    #[serde(default)]
    pub cluster_id: Option<String>,
    pub environment_id: String,
    #[serde(default, alias = "cost", alias = "usage")]
    pub records: Vec<T>,
}

/// One page of `/sub/v3/…/environments/cost|usage`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
pub struct EnvironmentPage<T> {
    #[serde(default)]
    pub data: Option<Vec<EnvironmentRecords<T>>>,
    #[serde(default)]
    pub last_modified_time: Option<String>,
    #[serde(default)]
    pub next_page_key: Option<String>,
}
