//! The seed-003 ("DPS for Hybrid" dashboard) events, field for field, flat, with `event.id`.
//! `timestamp` is never set: Dynatrace stamps the ingest time, and events older than 24 h
//! would be dropped. The cost day travels in `startTime`/`endTime`.

use serde::Serialize;

use crate::events::event_id::event_id;
use crate::model::cost::CostToDateRecord;
use crate::model::subscription::SubscriptionDetails;
use crate::time::{format_date, format_iso_ms, ms_per_day, parse_timestamp_ms};

/// `event.provider` of every event dps-cost builds (the dashboard filters on it).
pub const PROVIDER: &str = "dps4ma.ingester";
pub const TYPE_SUBSCRIPTION_STATUS: &str = "dps.subscription.status";
pub const TYPE_COST_BOOKED: &str = "dps.cost2.booked";

/// `dps.subscription.status`: one snapshot per account and UTC day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubscriptionStatusEvent {
    #[serde(rename = "event.id")]
    pub event_id: String,
    #[serde(rename = "event.type")]
    pub event_type: &'static str,
    #[serde(rename = "event.provider")]
    pub event_provider: &'static str,
    pub uuid: String,
    /// As Grail stored the seed's nested `{uuid}`: a JSON string (kept so dashboards match).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The same, flat.
    #[serde(rename = "account.uuid", skip_serializing_if = "Option::is_none")]
    pub account_uuid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used: Option<f64>,
    pub currency: String,
    #[serde(rename = "startTime", skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(rename = "endTime", skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    #[serde(rename = "daysRemaining", skip_serializing_if = "Option::is_none")]
    pub days_remaining: Option<i64>,
}

/// `dps.cost2.booked`: one per account and booked day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostBookedEvent {
    #[serde(rename = "event.id")]
    pub event_id: String,
    #[serde(rename = "event.type")]
    pub event_type: &'static str,
    #[serde(rename = "event.provider")]
    pub event_provider: &'static str,
    #[serde(rename = "lastBookingDate", skip_serializing_if = "Option::is_none")]
    pub last_booking_date: Option<String>,
    #[serde(rename = "subscriptionUuid")]
    pub subscription_uuid: String,
    #[serde(rename = "accountUuid")]
    pub account_uuid: String,
    #[serde(rename = "accountName")]
    pub account_name: String,
    #[serde(rename = "startTime")]
    pub start_time: String,
    #[serde(rename = "endTime")]
    pub end_time: String,
    pub value: f64,
    #[serde(rename = "costToDate")]
    pub cost_to_date: f64,
}

/// Either event, serialized as a flat object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Bizevent {
    SubscriptionStatus(SubscriptionStatusEvent),
    CostBooked(CostBookedEvent),
}

impl Bizevent {
    pub fn id(&self) -> &str {
        match self {
            Bizevent::SubscriptionStatus(e) => &e.event_id,
            Bizevent::CostBooked(e) => &e.event_id,
        }
    }
}

/// The subscription snapshot of `now_ms`'s UTC day.
pub fn subscription_status_event(
    sub: &SubscriptionDetails,
    account_uuid: &str,
    now_ms: i64,
) -> SubscriptionStatusEvent {
    let day = format_date(now_ms.div_euclid(ms_per_day()));
    let account = sub
        .account
        .as_ref()
        .map(|a| a.uuid.clone())
        .unwrap_or_else(|| account_uuid.to_string());
    let budget = sub.budget.as_ref();
    let period = sub.current_period.as_ref();
    SubscriptionStatusEvent {
        event_id: event_id(&[TYPE_SUBSCRIPTION_STATUS, account_uuid, &sub.uuid, &day]),
        event_type: TYPE_SUBSCRIPTION_STATUS,
        event_provider: PROVIDER,
        uuid: sub.uuid.clone(),
        account: Some(serde_json::json!({ "uuid": account }).to_string()),
        account_uuid: Some(account),
        name: sub.name.clone(),
        budget: budget.and_then(|b| b.total),
        used: budget.and_then(|b| b.used),
        currency: budget
            .and_then(|b| b.currency_code.clone())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| "USD".to_string()),
        start_time: period.and_then(|p| p.start_time.clone()),
        end_time: period.and_then(|p| p.end_time.clone()),
        days_remaining: period.and_then(|p| p.days_remaining),
    }
}

/// One cost event. Times are normalised to `YYYY-MM-DDTHH:MM:SS.sssZ` (the API sends both
/// `…00.000Z` and `…00Z`); a missing `endTime` is the start plus one day.
pub fn cost_booked_event(
    rec: &CostToDateRecord,
    subscription_uuid: &str,
    account_uuid: &str,
    account_name: &str,
) -> CostBookedEvent {
    let r = &rec.record;
    let start_ms = parse_timestamp_ms(&r.start_time);
    let norm = |s: &str| parse_timestamp_ms(s).map_or_else(|| s.to_string(), format_iso_ms);
    let start_time = norm(&r.start_time);
    let end_time = match (&r.end_time, start_ms) {
        (Some(e), _) => norm(e),
        (None, Some(ms)) => format_iso_ms(ms + ms_per_day()),
        (None, None) => start_time.clone(),
    };
    CostBookedEvent {
        event_id: event_id(&[
            TYPE_COST_BOOKED,
            account_uuid,
            subscription_uuid,
            &start_time,
        ]),
        event_type: TYPE_COST_BOOKED,
        event_provider: PROVIDER,
        last_booking_date: r.last_booking_date.as_deref().map(norm),
        subscription_uuid: subscription_uuid.to_string(),
        account_uuid: account_uuid.to_string(),
        account_name: account_name.to_string(),
        start_time,
        end_time,
        value: r.value,
        cost_to_date: rec.cost_to_date,
    }
}

/// The status event followed by one cost event per record (records already in cost-to-date
/// order).
pub fn build_bizevents(
    sub: &SubscriptionDetails,
    account_uuid: &str,
    account_name: &str,
    costs: &[CostToDateRecord],
    now_ms: i64,
) -> Vec<Bizevent> {
    let mut out = Vec::with_capacity(costs.len() + 1);
    out.push(Bizevent::SubscriptionStatus(subscription_status_event(
        sub,
        account_uuid,
        now_ms,
    )));
    out.extend(costs.iter().map(|c| {
        Bizevent::CostBooked(cost_booked_event(c, &sub.uuid, account_uuid, account_name))
    }));
    out
}
