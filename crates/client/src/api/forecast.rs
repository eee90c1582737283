//! `GET …/subscriptions/forecast` and `GET …/subscriptions/events`.

use crate::auth::SCOPE_ACCOUNT_READ;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::http::HttpClient;
use crate::model::forecast::{EventsReply, Forecast, SubscriptionEvent};
use crate::time::{format_iso_ms, parse_timestamp_ms};

use super::AccountApi;

/// `eventType` of the events endpoint.
pub const EVENT_TYPES: [&str; 3] = ["cost", "forecast", "budget"];

/// Optional filters of the events endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub event_type: Option<String>,
}

impl EventQuery {
    pub fn params(&self) -> Result<Vec<(&'static str, String)>> {
        let mut q = Vec::new();
        for (name, v) in [("startTime", &self.start_time), ("endTime", &self.end_time)] {
            if let Some(v) = v {
                let ms = parse_timestamp_ms(v)
                    .ok_or_else(|| Error::invalid(name, "is not an ISO-8601 timestamp"))?;
                q.push((name, format_iso_ms(ms)));
            }
        }
        if let Some(t) = &self.event_type {
            if !EVENT_TYPES.contains(&t.as_str()) {
                return Err(Error::invalid(
                    "eventType",
                    format!("must be one of {}", EVENT_TYPES.join(", ")),
                ));
            }
            q.push(("eventType", t.clone()));
        }
        Ok(q)
    }
}

impl<C: HttpClient, K: Clock> AccountApi<C, K> {
    /// Dynatrace's own forecast for the active subscription (median, band, budget date).
    pub async fn forecast(&self) -> Result<Forecast> {
        let account = self.account_uuid().to_string();
        self.get_json(
            "forecast",
            SCOPE_ACCOUNT_READ,
            &[
                "sub",
                "v2",
                "accounts",
                &account,
                "subscriptions",
                "forecast",
            ],
            &[],
        )
        .await
    }

    /// Cost, forecast and budget events.
    pub async fn subscription_events(&self, query: &EventQuery) -> Result<Vec<SubscriptionEvent>> {
        let account = self.account_uuid().to_string();
        let reply: EventsReply = self
            .get_json(
                "subscription events",
                SCOPE_ACCOUNT_READ,
                &["sub", "v2", "accounts", &account, "subscriptions", "events"],
                &query.params()?,
            )
            .await?;
        Ok(reply.into_vec())
    }
}
