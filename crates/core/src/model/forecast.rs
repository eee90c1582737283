//! `GET …/subscriptions/forecast` and `GET …/subscriptions/events`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct Forecast {
    #[serde(default)]
    pub forecast_median: Option<f64>,
    #[serde(default)]
    pub forecast_lower: Option<f64>,
    #[serde(default)]
    pub forecast_upper: Option<f64>,
    #[serde(default)]
    pub budget: Option<f64>,
    #[serde(default)]
    pub forecast_budget_pct: Option<f64>,
    #[serde(default)]
    pub forecast_budget_date: Option<String>,
    #[serde(default)]
    pub forecast_created_at: Option<String>,
}

/// A cost, forecast or budget event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionEvent {
    #[serde(default)]
    pub environment_uuid: Option<String>,
    #[serde(default)]
    pub capability: Option<String>,
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub event_type: Option<String>,
    #[serde(default)]
    pub notification_level: Option<String>,
}

/// The documented reply is a bare array; a `{"data": […]}` wrapper is accepted too.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum EventsReply {
    Bare(Vec<SubscriptionEvent>),
    Wrapped { data: Vec<SubscriptionEvent> },
}

impl EventsReply {
    pub fn into_vec(self) -> Vec<SubscriptionEvent> {
        match self {
            EventsReply::Bare(v) | EventsReply::Wrapped { data: v } => v,
        }
    }
}
