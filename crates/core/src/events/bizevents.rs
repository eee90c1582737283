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
/// Cost of one capability in one environment on one day.
pub const TYPE_ENV_COST: &str = "dps.environment.cost";
/// Usage of one capability in one environment on one day.
pub const TYPE_ENV_USAGE: &str = "dps.environment.usage";
/// Dynatrace's forecast for the subscription, one snapshot per UTC day.
pub const TYPE_FORECAST: &str = "dps.forecast";
/// One cost-center or product share of an environment's daily capability cost.
pub const TYPE_ALLOCATION: &str = "dps.cost.allocation";
/// One per account and sync run: what the run did (the dashboard's freshness and health tiles).
pub const TYPE_SYNC_RUN: &str = "dps.sync.run";
/// `schemaVersion` of the event kinds above (the two seed-003 kinds stay exactly as they were).
pub const SCHEMA_VERSION: u32 = 1;
/// `key` of the share no cost center or product claims (`key: null` in the API).
pub const UNALLOCATED: &str = "unallocated";

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
    /// When the current period's daily records differ from `used` beyond the tolerance
    /// (`process::reconcile`): their sum, `used − recordsSum` and the first day they cover.
    #[serde(rename = "recordsSum", skip_serializing_if = "Option::is_none")]
    pub records_sum: Option<f64>,
    #[serde(rename = "usedDifference", skip_serializing_if = "Option::is_none")]
    pub used_difference: Option<f64>,
    #[serde(rename = "recordsFirstDay", skip_serializing_if = "Option::is_none")]
    pub records_first_day: Option<String>,
}

impl SubscriptionStatusEvent {
    /// Carries a reconciliation warning (see the fields).
    pub fn reconciliation(&mut self, r: Option<&crate::process::reconcile::Reconciliation>) {
        if let Some(r) = r {
            self.records_sum = Some(r.records_sum);
            self.used_difference = Some(r.difference);
            self.records_first_day = r.first_day_covered.clone();
        }
    }
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

/// Who an event belongs to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventContext {
    #[serde(rename = "accountUuid")]
    pub account_uuid: String,
    #[serde(rename = "accountName")]
    pub account_name: String,
    #[serde(rename = "subscriptionUuid")]
    pub subscription_uuid: String,
}

/// The fields every event kind of schema version 1 starts with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventHead {
    #[serde(rename = "event.id")]
    pub event_id: String,
    #[serde(rename = "event.type")]
    pub event_type: &'static str,
    #[serde(rename = "event.provider")]
    pub event_provider: &'static str,
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    #[serde(flatten)]
    pub context: EventContext,
}

impl EventHead {
    fn new(event_type: &'static str, ctx: &EventContext, key: &[&str]) -> Self {
        let mut parts = vec![
            event_type,
            ctx.account_uuid.as_str(),
            ctx.subscription_uuid.as_str(),
        ];
        parts.extend_from_slice(key);
        EventHead {
            event_id: event_id(&parts),
            event_type,
            event_provider: PROVIDER,
            schema_version: SCHEMA_VERSION,
            context: ctx.clone(),
        }
    }
}

/// `dps.environment.cost` / `dps.environment.usage`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnvironmentEvent {
    #[serde(flatten)]
    pub head: EventHead,
    #[serde(rename = "environmentId")]
    pub environment_id: String,
    #[serde(rename = "clusterId", skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    #[serde(rename = "capabilityKey")]
    pub capability_key: String,
    #[serde(rename = "capabilityName", skip_serializing_if = "Option::is_none")]
    pub capability_name: Option<String>,
    #[serde(rename = "startTime")]
    pub start_time: String,
    #[serde(rename = "endTime")]
    pub end_time: String,
    pub value: f64,
    /// Cost events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(rename = "bookingDate", skip_serializing_if = "Option::is_none")]
    pub booking_date: Option<String>,
    /// Usage events.
    #[serde(rename = "unitMeasure", skip_serializing_if = "Option::is_none")]
    pub unit_measure: Option<String>,
    #[serde(rename = "lastModifiedTime", skip_serializing_if = "Option::is_none")]
    pub last_modified_time: Option<String>,
}

/// `dps.forecast`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastEvent {
    #[serde(flatten)]
    pub head: EventHead,
    #[serde(rename = "snapshotDate")]
    pub snapshot_date: String,
    #[serde(rename = "forecastMedian", skip_serializing_if = "Option::is_none")]
    pub forecast_median: Option<f64>,
    #[serde(rename = "forecastLower", skip_serializing_if = "Option::is_none")]
    pub forecast_lower: Option<f64>,
    #[serde(rename = "forecastUpper", skip_serializing_if = "Option::is_none")]
    pub forecast_upper: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<f64>,
    #[serde(rename = "forecastBudgetPct", skip_serializing_if = "Option::is_none")]
    pub forecast_budget_pct: Option<f64>,
    #[serde(rename = "forecastBudgetDate", skip_serializing_if = "Option::is_none")]
    pub forecast_budget_date: Option<String>,
    #[serde(rename = "forecastCreatedAt", skip_serializing_if = "Option::is_none")]
    pub forecast_created_at: Option<String>,
}

/// `dps.cost.allocation`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AllocationEvent {
    #[serde(flatten)]
    pub head: EventHead,
    #[serde(rename = "environmentId")]
    pub environment_id: String,
    /// `COSTCENTER` or `PRODUCT`.
    pub field: &'static str,
    /// The cost center or product, or `unallocated`.
    pub key: String,
    pub allocated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capability: Option<String>,
    #[serde(rename = "startTime")]
    pub start_time: String,
    #[serde(rename = "endTime")]
    pub end_time: String,
    pub costs: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<f64>,
}

/// `dps.sync.run`: one per account and run, sent after the account's other events so that it
/// can say how many of them were accepted. Its id is the account and the run's `now`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncRunEvent {
    #[serde(rename = "event.id")]
    pub event_id: String,
    #[serde(rename = "event.type")]
    pub event_type: &'static str,
    #[serde(rename = "event.provider")]
    pub event_provider: &'static str,
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    #[serde(rename = "accountUuid")]
    pub account_uuid: String,
    #[serde(rename = "accountName")]
    pub account_name: String,
    #[serde(rename = "subscriptionUuid", skip_serializing_if = "Option::is_none")]
    pub subscription_uuid: Option<String>,
    /// The run's "now" (ISO-8601), the same for every account of the run.
    #[serde(rename = "runAt")]
    pub run_at: String,
    /// dps-cost version that ran.
    pub version: &'static str,
    /// Everything of this account was fetched and stored.
    pub ok: bool,
    /// The first error's code (account, family, ingest or `DEADLINE`), absent when `ok`.
    #[serde(rename = "errorCode", skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Families not (completely) fetched, comma-separated; absent when none.
    #[serde(rename = "incompleteFamilies", skip_serializing_if = "Option::is_none")]
    pub incomplete_families: Option<String>,
    #[serde(rename = "dryRun")]
    pub dry_run: bool,
    /// This account's other events in this run: built, accepted, rejected, not delivered.
    #[serde(rename = "eventsBuilt")]
    pub events_built: usize,
    #[serde(rename = "eventsAccepted")]
    pub events_accepted: usize,
    #[serde(rename = "eventsRejected")]
    pub events_rejected: usize,
    #[serde(rename = "eventsNotDelivered")]
    pub events_not_delivered: usize,
    #[serde(rename = "costDays")]
    pub cost_days: usize,
}

/// What a [`SyncRunEvent`] reports, gathered by the sync.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncRunFacts {
    pub account_uuid: String,
    pub account_name: String,
    pub subscription_uuid: Option<String>,
    pub ok: bool,
    pub error_code: Option<String>,
    pub incomplete_families: Vec<&'static str>,
    pub dry_run: bool,
    pub events_built: usize,
    pub events_accepted: usize,
    pub events_rejected: usize,
    pub events_not_delivered: usize,
    pub cost_days: usize,
}

/// `dps.sync.run` of one account in the run of `now_ms`.
pub fn sync_run_event(facts: SyncRunFacts, now_ms: i64) -> SyncRunEvent {
    let run_at = format_iso_ms(now_ms);
    SyncRunEvent {
        event_id: event_id(&[TYPE_SYNC_RUN, &facts.account_uuid, &run_at]),
        event_type: TYPE_SYNC_RUN,
        event_provider: PROVIDER,
        schema_version: SCHEMA_VERSION,
        account_uuid: facts.account_uuid,
        account_name: facts.account_name,
        subscription_uuid: facts.subscription_uuid,
        run_at,
        version: env!("CARGO_PKG_VERSION"),
        ok: facts.ok,
        error_code: facts.error_code,
        incomplete_families: if facts.incomplete_families.is_empty() {
            None
        } else {
            Some(facts.incomplete_families.join(","))
        },
        dry_run: facts.dry_run,
        events_built: facts.events_built,
        events_accepted: facts.events_accepted,
        events_rejected: facts.events_rejected,
        events_not_delivered: facts.events_not_delivered,
        cost_days: facts.cost_days,
    }
}

/// Any event, serialized as a flat object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(
    feature = "tsify",
    derive(tsify::Tsify),
    tsify(type = "Record<string, string | number | boolean | null>")
)]
#[serde(untagged)]
pub enum Bizevent {
    SubscriptionStatus(SubscriptionStatusEvent),
    CostBooked(CostBookedEvent),
    Environment(EnvironmentEvent),
    Forecast(ForecastEvent),
    Allocation(AllocationEvent),
    SyncRun(SyncRunEvent),
}

impl Bizevent {
    pub fn id(&self) -> &str {
        match self {
            Bizevent::SubscriptionStatus(e) => &e.event_id,
            Bizevent::CostBooked(e) => &e.event_id,
            Bizevent::Environment(e) => &e.head.event_id,
            Bizevent::Forecast(e) => &e.head.event_id,
            Bizevent::Allocation(e) => &e.head.event_id,
            Bizevent::SyncRun(e) => &e.event_id,
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS.sssZ` of an API timestamp (the API sends `…00.000Z` and `…00Z`); text
/// that is not a timestamp is kept as it is.
fn normalize_time(s: &str) -> String {
    parse_timestamp_ms(s).map_or_else(|| s.to_string(), format_iso_ms)
}

/// A record's start and end, normalised; a missing end is the start plus one day.
fn day_bounds(start: &str, end: Option<&str>) -> (String, String) {
    let start_ms = parse_timestamp_ms(start);
    let start_time = normalize_time(start);
    let end_time = match (end, start_ms) {
        (Some(e), _) => normalize_time(e),
        (None, Some(ms)) => format_iso_ms(ms + ms_per_day()),
        (None, None) => start_time.clone(),
    };
    (start_time, end_time)
}

/// What distinguishes a cost record from a usage record in [`environment_event`].
struct Measure<'a> {
    event_type: &'static str,
    capability_key: &'a str,
    capability_name: Option<&'a String>,
    start_time: &'a str,
    end_time: Option<&'a str>,
    value: f64,
    currency: Option<&'a String>,
    booking_date: Option<&'a String>,
    unit_measure: Option<&'a String>,
}

fn environment_event(
    ctx: &EventContext,
    environment_id: &str,
    cluster_id: Option<&str>,
    m: Measure<'_>,
    last_modified_time: Option<&str>,
) -> EnvironmentEvent {
    let (start_time, end_time) = day_bounds(m.start_time, m.end_time);
    EnvironmentEvent {
        head: EventHead::new(
            m.event_type,
            ctx,
            &[
                environment_id,
                cluster_id.unwrap_or(""),
                m.capability_key,
                &start_time,
            ],
        ),
        environment_id: environment_id.to_string(),
        cluster_id: cluster_id.map(str::to_string),
        capability_key: m.capability_key.to_string(),
        capability_name: m.capability_name.cloned(),
        start_time,
        end_time,
        value: m.value,
        currency: m.currency.cloned(),
        booking_date: m.booking_date.cloned(),
        unit_measure: m.unit_measure.cloned(),
        last_modified_time: last_modified_time.map(str::to_string),
    }
}

/// `dps.environment.cost` of one v3 record.
pub fn environment_cost_event(
    ctx: &EventContext,
    environment_id: &str,
    cluster_id: Option<&str>,
    r: &crate::model::usage::EnvCostRecord,
    last_modified_time: Option<&str>,
) -> EnvironmentEvent {
    let m = Measure {
        event_type: TYPE_ENV_COST,
        capability_key: &r.capability_key,
        capability_name: r.capability_name.as_ref(),
        start_time: &r.start_time,
        end_time: r.end_time.as_deref(),
        value: r.value,
        currency: r.currency_code.as_ref(),
        booking_date: r.booking_date.as_ref(),
        unit_measure: None,
    };
    environment_event(ctx, environment_id, cluster_id, m, last_modified_time)
}

/// `dps.environment.usage` of one v3 record.
pub fn environment_usage_event(
    ctx: &EventContext,
    environment_id: &str,
    cluster_id: Option<&str>,
    r: &crate::model::usage::UsageRecord,
    last_modified_time: Option<&str>,
) -> EnvironmentEvent {
    let m = Measure {
        event_type: TYPE_ENV_USAGE,
        capability_key: &r.capability_key,
        capability_name: r.capability_name.as_ref(),
        start_time: &r.start_time,
        end_time: r.end_time.as_deref(),
        value: r.value,
        currency: None,
        booking_date: None,
        unit_measure: r.unit_measure.as_ref(),
    };
    environment_event(ctx, environment_id, cluster_id, m, last_modified_time)
}

/// `dps.forecast` snapshot of `now_ms`'s UTC day.
pub fn forecast_event(
    ctx: &EventContext,
    f: &crate::model::forecast::Forecast,
    now_ms: i64,
) -> ForecastEvent {
    let snapshot_date = format_date(now_ms.div_euclid(ms_per_day()));
    ForecastEvent {
        head: EventHead::new(TYPE_FORECAST, ctx, &[&snapshot_date]),
        snapshot_date,
        forecast_median: f.forecast_median,
        forecast_lower: f.forecast_lower,
        forecast_upper: f.forecast_upper,
        budget: f.budget,
        forecast_budget_pct: f.forecast_budget_pct,
        forecast_budget_date: f.forecast_budget_date.clone(),
        forecast_created_at: f.forecast_created_at.clone(),
    }
}

/// `dps.cost.allocation` of one breakdown record (`key: null` → `unallocated`).
pub fn allocation_event(
    ctx: &EventContext,
    environment_id: &str,
    field: &'static str,
    r: &crate::model::allocation::AllocationRecord,
) -> AllocationEvent {
    let (start_time, end_time) = day_bounds(&r.date, None);
    let key = r
        .key
        .clone()
        .filter(|k| !k.is_empty())
        .unwrap_or_else(|| UNALLOCATED.to_string());
    let allocated = r.key.as_deref().is_some_and(|k| !k.is_empty());
    // The id separates a real key named "unallocated" from the unallocated share.
    let id_key = if allocated {
        format!("k:{key}")
    } else {
        "unallocated".to_string()
    };
    AllocationEvent {
        head: EventHead::new(
            TYPE_ALLOCATION,
            ctx,
            &[
                environment_id,
                field,
                &id_key,
                r.capability.as_deref().unwrap_or(""),
                &start_time,
            ],
        ),
        environment_id: environment_id.to_string(),
        field,
        key,
        allocated,
        capability: r.capability.clone(),
        start_time,
        end_time,
        costs: r.costs,
        usage: r.usage,
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
        records_sum: None,
        used_difference: None,
        records_first_day: None,
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
    let (start_time, end_time) = day_bounds(&r.start_time, r.end_time.as_deref());
    CostBookedEvent {
        event_id: event_id(&[
            TYPE_COST_BOOKED,
            account_uuid,
            subscription_uuid,
            &start_time,
        ]),
        event_type: TYPE_COST_BOOKED,
        event_provider: PROVIDER,
        last_booking_date: r.last_booking_date.as_deref().map(normalize_time),
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
