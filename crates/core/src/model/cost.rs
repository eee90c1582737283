//! Daily cost: `GET /sub/v2/accounts/{a}/subscriptions/{s}/cost`.

use serde::{Deserialize, Serialize};

/// One booked day. `value` is the day's cost over all capabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct CostRecord {
    pub start_time: String,
    #[serde(default)]
    pub end_time: Option<String>,
    pub value: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_booking_date: Option<String>,
}

/// A cost record with its running total, in start-time order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct CostToDateRecord {
    #[serde(flatten)]
    pub record: CostRecord,
    pub cost_to_date: f64,
}
