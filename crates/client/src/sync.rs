//! The pipeline: accounts → tokens → subscription → daily cost → cost-to-date → bizevents →
//! ingest → summary. One failing account does not stop the others; the summary says what
//! happened to each, and `ok` is true only when everything was fetched and stored.

use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

use crate::api::allocation::{AllocationField, AllocationQuery};
use crate::api::cost::CostFilter;
use crate::api::paging::Cursor;
use crate::api::usage::{EnvMetric, EnvQuery, MAX_V3_PAGE_SIZE};
use crate::api::{fetch_token, AccountApi, Endpoints};
use crate::auth::{Credentials, Secret, SCOPE_EVENTS_WRITE};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::events::bizevents::{
    allocation_event, cost_booked_event, environment_cost_event, environment_usage_event,
    forecast_event, subscription_status_event, sync_run_event, Bizevent, EventContext,
    SyncRunFacts,
};
use crate::http::{HttpClient, RetryOptions, RetryPolicy};
use crate::ingest::{
    BatchSender, FailedBatch, IngestAuth, IngestReport, IngestTarget, PreparedEvent,
};
use crate::model::cost::CostToDateRecord;
use crate::model::subscription::SubscriptionDetails;
use crate::model::usage::{EnvCostRecord, UsageRecord};
use crate::money::Amount;
use crate::process::cost_to_date::cost_to_date;
use crate::process::reconcile::{reconcile, Reconciliation};
use crate::time::{format_date, ms_per_day, parse_date, parse_timestamp_ms};

/// Accounts fetched at the same time by default.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// One account as the caller describes it (JS object, CLI config, JSON).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[cfg_attr(feature = "tsify", tsify(rename = "SyncAccount"))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountOptions {
    pub account_uuid: String,
    pub client_id: String,
    pub client_secret: Secret,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub subscription_uuid: Option<String>,
}

/// Where and how to ingest.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[cfg_attr(feature = "tsify", tsify(rename = "SyncIngest"))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IngestOptions {
    pub url: String,
    #[serde(default)]
    pub access_token: Option<Secret>,
    #[serde(default)]
    pub api_token: Option<Secret>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<Secret>,
    #[serde(default)]
    pub account_uuid: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
}

/// The whole sync configuration. `ingest: null`/absent is a dry run.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[cfg_attr(feature = "tsify", tsify(rename = "SyncConfig"))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyncOptions {
    #[cfg_attr(feature = "tsify", tsify(type = "SyncAccount[]"))]
    pub accounts: Vec<AccountOptions>,
    #[serde(default)]
    pub sso_url: Option<String>,
    #[serde(default)]
    pub api_url: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "tsify", tsify(type = "SyncIngest | null"))]
    pub ingest: Option<IngestOptions>,
    #[serde(default)]
    pub environment_ids: Option<Vec<String>>,
    #[serde(default)]
    pub capability_keys: Option<Vec<String>>,
    /// Overrides "now" (ISO-8601), for reproducible runs.
    #[serde(default)]
    pub now: Option<String>,
    /// Accounts fetched at the same time (1..=16, default 4).
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[cfg_attr(feature = "tsify", tsify(optional, type = "number"))]
    pub concurrency: Option<usize>,
    /// Retry and timeout overrides.
    #[serde(default)]
    pub retry: Option<RetryOptions>,
    /// Days re-read and re-sent every run (1..=400, default 35): restated bookings replace old
    /// values under the same `event.id`.
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[cfg_attr(feature = "tsify", tsify(optional, type = "number"))]
    pub window_days: Option<u32>,
    /// Send `dps.cost2.booked` for every booked day, not only the window (a first run's backfill).
    #[serde(default)]
    pub full_history: Option<bool>,
    /// Which event families beyond the two seed-003 kinds (all on by default).
    #[serde(default)]
    pub include: Option<IncludeOptions>,
    /// Run deadline in ms from the start of the run (1..=3,600,000; none by default): after it,
    /// no new API request is started; what was built is still sent and the summary says what
    /// is incomplete (`code: "DEADLINE"`).
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[cfg_attr(feature = "tsify", tsify(optional, type = "number"))]
    pub deadline_ms: Option<u64>,
}

/// Event families to build; `dps.subscription.status` and `dps.cost2.booked` are always built.
#[derive(Debug, Clone, Copy, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct IncludeOptions {
    pub environment_cost: bool,
    pub environment_usage: bool,
    pub forecast: bool,
    pub allocation: bool,
}

impl Default for IncludeOptions {
    fn default() -> Self {
        IncludeOptions {
            environment_cost: true,
            environment_usage: true,
            forecast: true,
            allocation: true,
        }
    }
}

/// Days re-read every run by default.
pub const DEFAULT_WINDOW_DAYS: u32 = 35;

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

/// How the ingest request is authorised, once validated.
#[derive(Debug, Clone)]
pub enum IngestAuthConfig {
    Ready(IngestAuth),
    Client { creds: Credentials, scope: String },
}

#[derive(Debug, Clone)]
pub struct AccountConfig {
    pub creds: Credentials,
    pub name: Option<String>,
    pub subscription_uuid: Option<String>,
}

/// A validated [`SyncOptions`].
#[derive(Debug, Clone)]
pub struct SyncConfig {
    pub accounts: Vec<AccountConfig>,
    pub endpoints: Endpoints,
    pub ingest: Option<(IngestTarget, IngestAuthConfig)>,
    pub filter: CostFilter,
    pub now_ms: Option<i64>,
    pub concurrency: usize,
    pub retry: RetryPolicy,
    pub window_days: u32,
    pub full_history: bool,
    pub include: IncludeOptions,
    pub deadline_ms: Option<u64>,
}

/// Longest run deadline accepted (one hour).
pub const MAX_DEADLINE_MS: u64 = 3_600_000;

/// The event families of one account, as the summary and `dps.sync.run` name them.
pub const FAMILIES: [&str; 6] = [
    "subscriptionStatus",
    "costBooked",
    "environmentCost",
    "environmentUsage",
    "forecast",
    "allocation",
];

/// When the run stops starting requests.
#[derive(Debug, Clone, Copy)]
struct Deadline {
    at_ms: Option<i64>,
    after_ms: u64,
}

impl Deadline {
    fn start(clock: &dyn Clock, after_ms: Option<u64>) -> Self {
        Deadline {
            at_ms: after_ms.map(|ms| {
                clock
                    .now_ms()
                    .saturating_add(i64::try_from(ms).unwrap_or(i64::MAX))
            }),
            after_ms: after_ms.unwrap_or(0),
        }
    }

    /// `Err(DEADLINE)` once the deadline has passed.
    fn check(&self, clock: &dyn Clock, what: &str) -> Result<()> {
        match self.at_ms {
            Some(at) if clock.now_ms() >= at => Err(Error::Deadline {
                after_ms: self.after_ms,
                what: what.to_string(),
            }),
            _ => Ok(()),
        }
    }
}

impl SyncOptions {
    /// Checks everything before any request is made.
    pub fn validate(self) -> Result<SyncConfig> {
        if self.accounts.is_empty() {
            return Err(Error::invalid(
                "accounts",
                "at least one account is required",
            ));
        }
        let mut accounts = Vec::with_capacity(self.accounts.len());
        for (i, a) in self.accounts.iter().enumerate() {
            let prefix = format!("accounts[{i}].");
            let creds = Credentials::new(
                &prefix,
                &a.account_uuid,
                &a.client_id,
                a.client_secret.expose(),
            )?;
            if accounts
                .iter()
                .any(|c: &AccountConfig| c.creds.account_uuid == creds.account_uuid)
            {
                return Err(Error::invalid(
                    format!("{prefix}accountUuid"),
                    "the same account is listed twice",
                ));
            }
            let subscription_uuid = match &a.subscription_uuid {
                Some(s) => Some(crate::validate::check_uuid(
                    &format!("{prefix}subscriptionUuid"),
                    s,
                )?),
                None => None,
            };
            accounts.push(AccountConfig {
                creds,
                name: a.name.clone().filter(|n| !n.trim().is_empty()),
                subscription_uuid,
            });
        }
        let endpoints = Endpoints::new(self.sso_url.as_deref(), self.api_url.as_deref())?;
        let ingest = match self.ingest {
            None => None,
            Some(i) => Some(ingest_config(i)?),
        };
        let filter = CostFilter {
            environment_ids: self.environment_ids.unwrap_or_default(),
            capability_keys: self.capability_keys.unwrap_or_default(),
            cluster_ids: Vec::new(),
        };
        filter.query()?;
        let now_ms = match self.now {
            None => None,
            Some(n) => Some(
                parse_timestamp_ms(&n)
                    .ok_or_else(|| Error::invalid("now", "is not an ISO-8601 timestamp"))?,
            ),
        };
        let concurrency = self.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
        if !(1..=16).contains(&concurrency) {
            return Err(Error::invalid("concurrency", "must be 1..=16"));
        }
        let retry = self.retry.unwrap_or_default().policy()?;
        let window_days = self.window_days.unwrap_or(DEFAULT_WINDOW_DAYS);
        if !(1..=400).contains(&window_days) {
            return Err(Error::invalid("windowDays", "must be 1..=400"));
        }
        if let Some(d) = self.deadline_ms {
            if !(1..=MAX_DEADLINE_MS).contains(&d) {
                return Err(Error::invalid("deadlineMs", "must be 1..=3600000"));
            }
        }
        Ok(SyncConfig {
            deadline_ms: self.deadline_ms,
            window_days,
            full_history: self.full_history.unwrap_or(false),
            include: self.include.unwrap_or_default(),
            retry,
            concurrency,
            accounts,
            endpoints,
            ingest,
            filter,
            now_ms,
        })
    }
}

fn ingest_config(i: IngestOptions) -> Result<(IngestTarget, IngestAuthConfig)> {
    let given = [
        i.access_token.is_some(),
        i.api_token.is_some(),
        i.client_id.is_some() || i.client_secret.is_some(),
    ];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(Error::invalid(
            "ingest",
            "give one of accessToken, apiToken, or clientId + clientSecret + accountUuid",
        ));
    }
    let (auth, client) = if let Some(t) = i.access_token {
        (IngestAuth::Bearer(t), None)
    } else if let Some(t) = i.api_token {
        (IngestAuth::ApiToken(t), None)
    } else if i.client_id.is_some() || i.client_secret.is_some() {
        let account = i
            .account_uuid
            .as_deref()
            .ok_or_else(|| Error::invalid("ingest.accountUuid", "is required with clientId"))?;
        let creds = Credentials::new(
            "ingest.",
            account,
            i.client_id.as_deref().unwrap_or(""),
            i.client_secret.as_ref().map_or("", Secret::expose),
        )?;
        (IngestAuth::None, Some(creds))
    } else {
        if !i.url.trim().starts_with("/platform/") {
            return Err(Error::invalid(
                "ingest",
                "an absolute ingest URL needs accessToken, apiToken or an OAuth client",
            ));
        }
        (IngestAuth::None, None)
    };
    let target = IngestTarget::new(&i.url, auth.clone())?;
    let auth = match client {
        Some(creds) => IngestAuthConfig::Client {
            creds,
            scope: i.scope.unwrap_or_else(|| SCOPE_EVENTS_WRITE.to_string()),
        },
        None => IngestAuthConfig::Ready(auth),
    };
    Ok((target, auth))
}

/// An error as the summary shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct ErrorInfo {
    #[cfg_attr(feature = "tsify", tsify(type = "DpsCostErrorCode"))]
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

impl From<&Error> for ErrorInfo {
    fn from(e: &Error) -> Self {
        ErrorInfo {
            code: e.code().to_string(),
            message: e.to_string(),
            status: e.status(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionSummary {
    pub uuid: String,
    pub name: Option<String>,
    pub currency: String,
    pub budget: Option<f64>,
    pub used: Option<f64>,
    pub percent_used: Option<f64>,
    pub period_start: Option<String>,
    pub period_end: Option<String>,
    pub days_remaining: Option<i64>,
}

impl SubscriptionSummary {
    fn of(d: &SubscriptionDetails) -> Self {
        let budget = d.budget.as_ref().and_then(|b| b.total);
        let used = d.budget.as_ref().and_then(|b| b.used);
        SubscriptionSummary {
            uuid: d.uuid.clone(),
            name: d.name.clone(),
            currency: d
                .budget
                .as_ref()
                .and_then(|b| b.currency_code.clone())
                .unwrap_or_else(|| "USD".into()),
            budget,
            used,
            percent_used: match (
                budget.and_then(Amount::from_f64),
                used.and_then(Amount::from_f64),
            ) {
                (Some(b), Some(u)) => u.percent_of(b),
                _ => None,
            },
            period_start: d.current_period.as_ref().and_then(|p| p.start_time.clone()),
            period_end: d.current_period.as_ref().and_then(|p| p.end_time.clone()),
            days_remaining: d.current_period.as_ref().and_then(|p| p.days_remaining),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct AccountSummary {
    pub account_uuid: String,
    pub name: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription: Option<SubscriptionSummary>,
    pub cost_days: usize,
    pub first_day: Option<String>,
    pub last_day: Option<String>,
    pub cost_to_date: f64,
    /// `budget.used` and the current period's daily records differ beyond the tolerance
    /// (`process::reconcile`); absent when they agree.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reconciliation: Option<Reconciliation>,
    /// Events built per family.
    pub events: EventCounts,
    /// Families that could not be fetched (the others were still sent).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub errors: Vec<FamilyError>,
}

/// Events built per family for one account.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct EventCounts {
    pub subscription_status: usize,
    pub cost_booked: usize,
    pub environment_cost: usize,
    pub environment_usage: usize,
    pub forecast: usize,
    pub allocation: usize,
    /// The account's `dps.sync.run` event (1), sent after the others.
    pub sync_run: usize,
}

impl EventCounts {
    /// Every event of the account but its `dps.sync.run`.
    pub fn data_events(&self) -> usize {
        self.subscription_status
            + self.cost_booked
            + self.environment_cost
            + self.environment_usage
            + self.forecast
            + self.allocation
    }
}

/// What a run left undone for one account (after a deadline or an error).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct Incomplete {
    pub account_uuid: String,
    pub families: Vec<&'static str>,
    #[cfg_attr(feature = "tsify", tsify(type = "DpsCostErrorCode"))]
    pub code: String,
}

/// A failed event family of one account.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct FamilyError {
    pub family: &'static str,
    #[serde(flatten)]
    pub error: ErrorInfo,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct EventsSummary {
    pub built: usize,
    #[serde(flatten)]
    pub report: IngestReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
}

/// What a sync did. Holds no secret and no token.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct SyncSummary {
    pub ok: bool,
    /// `DEADLINE` when the run deadline stopped it (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional, type = "\"DEADLINE\""))]
    pub code: Option<&'static str>,
    /// Per account, the families not (completely) fetched; absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub incomplete: Vec<Incomplete>,
    pub dry_run: bool,
    pub now: String,
    pub accounts: Vec<AccountSummary>,
    pub events: EventsSummary,
}

/// `budget.used` against the daily records of the current period (from its start on; all of
/// them when the start is unknown).
fn reconcile_period(
    details: &SubscriptionDetails,
    costs: &[CostToDateRecord],
) -> Option<Reconciliation> {
    let used = details
        .budget
        .as_ref()
        .and_then(|b| b.used)
        .and_then(Amount::from_f64)?;
    let start = details
        .current_period
        .as_ref()
        .and_then(|p| p.start_time.as_deref())
        .and_then(|s| {
            parse_date(s).or_else(|| parse_timestamp_ms(s).map(|ms| ms.div_euclid(ms_per_day())))
        });
    let mut sum = Amount::ZERO;
    let mut first = None;
    for c in costs {
        let Some(day) =
            parse_timestamp_ms(&c.record.start_time).map(|ms| ms.div_euclid(ms_per_day()))
        else {
            continue;
        };
        if start.is_some_and(|s| day < s) {
            continue;
        }
        first = first.or(Some(day));
        // Checked by cost_to_date already (finite, below 10²⁴).
        sum = sum.checked_add(Amount::from_f64(c.record.value)?)?;
    }
    reconcile(used, sum, first)
}

/// Serializes and hands one event to the sender; counts it per family.
async fn emit<C: HttpClient, K: Clock + ?Sized>(
    sender: &mut BatchSender<'_, C, K>,
    event: Bizevent,
) -> Result<()> {
    let prepared = PreparedEvent::from_serialize(Some(event.id()), &event)?;
    sender.push(prepared).await;
    Ok(())
}

/// Everything one account contributes: fetched page by page and sent as it comes, so memory
/// holds one page and one batch, whatever the account's size.
async fn sync_account<C: HttpClient>(
    http: &C,
    clock: &dyn Clock,
    cfg: &SyncConfig,
    account: &AccountConfig,
    now_ms: i64,
    target: Option<&IngestTarget>,
    deadline: Deadline,
) -> (AccountSummary, IngestReport) {
    let name = account
        .name
        .clone()
        .unwrap_or_else(|| account.creds.account_uuid.clone());
    let mut summary = AccountSummary {
        account_uuid: account.creds.account_uuid.clone(),
        name: name.clone(),
        ok: true,
        error: None,
        subscription: None,
        cost_days: 0,
        first_day: None,
        last_day: None,
        cost_to_date: 0.0,
        reconciliation: None,
        events: EventCounts::default(),
        errors: Vec::new(),
    };
    let mut sender = BatchSender::new(http, clock, target, cfg.retry);
    if let Err(e) = account_events(
        http,
        clock,
        cfg,
        account,
        &name,
        now_ms,
        deadline,
        &mut sender,
        &mut summary,
    )
    .await
    {
        summary.ok = false;
        summary.error = Some(ErrorInfo::from(&e));
    }
    if !summary.errors.is_empty() {
        summary.ok = false;
    }
    let mut report = sender.finish().await;
    let lost = report.rejected.len() + report.not_delivered();
    // The run event: in a second batch, so that it can say what became of the others.
    let facts = SyncRunFacts {
        account_uuid: account.creds.account_uuid.clone(),
        account_name: name,
        subscription_uuid: summary.subscription.as_ref().map(|s| s.uuid.clone()),
        ok: summary.ok && lost == 0,
        error_code: first_code(&summary).or_else(|| (lost > 0).then(|| "INGEST_PARTIAL".into())),
        incomplete_families: incomplete_families(&summary, cfg),
        dry_run: target.is_none(),
        events_built: summary.events.data_events(),
        events_accepted: report.accepted,
        events_rejected: report.rejected.len(),
        events_not_delivered: report.not_delivered(),
        cost_days: summary.cost_days,
    };
    let run_event = Bizevent::SyncRun(sync_run_event(facts, now_ms));
    let mut run_sender = BatchSender::new(http, clock, target, cfg.retry);
    match emit(&mut run_sender, run_event).await {
        Ok(()) => summary.events.sync_run += 1,
        Err(e) => summary.errors.push(FamilyError {
            family: "syncRun",
            error: ErrorInfo::from(&e),
        }),
    }
    let run_report = run_sender.finish().await;
    let offset = report.sent;
    report.sent += run_report.sent;
    report.accepted += run_report.accepted;
    report.batches += run_report.batches;
    report.retries += run_report.retries;
    report
        .rejected
        .extend(run_report.rejected.into_iter().map(|mut r| {
            r.index += offset;
            r
        }));
    report
        .failed
        .extend(run_report.failed.into_iter().map(|mut f| {
            f.first_index += offset;
            f
        }));
    for r in &mut report.rejected {
        r.account_uuid = Some(account.creds.account_uuid.clone());
    }
    for f in &mut report.failed {
        f.account_uuid = Some(account.creds.account_uuid.clone());
    }
    (summary, report)
}

#[allow(clippy::too_many_arguments)]
async fn account_events<C: HttpClient>(
    http: &C,
    clock: &dyn Clock,
    cfg: &SyncConfig,
    account: &AccountConfig,
    name: &str,
    now_ms: i64,
    deadline: Deadline,
    sender: &mut BatchSender<'_, C, dyn Clock + '_>,
    summary: &mut AccountSummary,
) -> Result<()> {
    let api = AccountApi::new(
        http,
        clock,
        cfg.endpoints.clone(),
        account.creds.clone(),
        None,
    )
    .with_retry(cfg.retry);
    deadline.check(clock, "the subscription was fetched")?;
    let sub_uuid = match &account.subscription_uuid {
        Some(s) => s.clone(),
        None => api.active_subscription().await?.uuid,
    };
    let details = api.subscription(&sub_uuid).await?;
    summary.subscription = Some(SubscriptionSummary::of(&details));
    let ctx = EventContext {
        account_uuid: account.creds.account_uuid.clone(),
        account_name: name.to_string(),
        subscription_uuid: details.uuid.clone(),
    };
    let today = now_ms.div_euclid(ms_per_day());
    let window_start_ms = (today - i64::from(cfg.window_days)) * ms_per_day();
    let window_end_ms = today * ms_per_day();

    // The two seed-003 kinds: the subscription snapshot and the booked days (cost-to-date over
    // the whole history; events for the window unless a backfill is asked for). The daily cost
    // comes first: the snapshot carries its reconciliation with `budget.used`; a failure to
    // fetch it, or the deadline passed before it, still sends the snapshot, then ends the run.
    let costs = match deadline.check(clock, "the daily cost was fetched") {
        Err(e) => Err(e),
        Ok(()) => api.daily_cost(&sub_uuid, &cfg.filter).await,
    }
    .and_then(|daily| {
        cost_to_date(daily).map_err(|e| match e {
            Error::InvalidInput { field, message } => {
                Error::decode("daily cost", format!("data{field}"), message, None)
            }
            other => other,
        })
    });
    summary.reconciliation = match &costs {
        Ok(costs) => reconcile_period(&details, costs),
        Err(_) => None,
    };
    let mut status = subscription_status_event(&details, &ctx.account_uuid, now_ms);
    status.reconciliation(summary.reconciliation.as_ref());
    emit(sender, Bizevent::SubscriptionStatus(status)).await?;
    summary.events.subscription_status += 1;
    let costs = costs?;
    let day = |s: &str| parse_timestamp_ms(s).map(|ms| format_date(ms.div_euclid(ms_per_day())));
    summary.cost_days = costs.len();
    summary.first_day = costs.first().and_then(|c| day(&c.record.start_time));
    summary.last_day = costs.last().and_then(|c| day(&c.record.start_time));
    summary.cost_to_date = costs.last().map_or(0.0, |c| c.cost_to_date);
    for c in &costs {
        let in_window =
            parse_timestamp_ms(&c.record.start_time).is_some_and(|ms| ms >= window_start_ms);
        if cfg.full_history || in_window {
            emit(
                sender,
                Bizevent::CostBooked(cost_booked_event(
                    c,
                    &ctx.subscription_uuid,
                    &ctx.account_uuid,
                    name,
                )),
            )
            .await?;
            summary.events.cost_booked += 1;
        }
    }
    drop(costs);

    // Per environment, capability and day, page by page (v3).
    let mut environments: Vec<String> = Vec::new();
    let query = EnvQuery {
        start_ms: window_start_ms,
        end_ms: window_end_ms,
        filter: cfg.filter.clone(),
        page_size: MAX_V3_PAGE_SIZE,
    };
    if cfg.include.environment_cost {
        let outcome = env_pages::<_, EnvCostRecord>(
            &api,
            EnvMetric::Cost,
            &sub_uuid,
            &query,
            |env, cluster, r, lm| {
                if !environments.iter().any(|e| e == env) {
                    environments.push(env.to_string());
                }
                Bizevent::Environment(environment_cost_event(&ctx, env, cluster, r, lm))
            },
            sender,
            &mut summary.events.environment_cost,
            deadline,
        )
        .await;
        record(summary, "environmentCost", outcome);
    }
    if cfg.include.environment_usage {
        let outcome = env_pages::<_, UsageRecord>(
            &api,
            EnvMetric::Usage,
            &sub_uuid,
            &query,
            |env, cluster, r, lm| {
                if !environments.iter().any(|e| e == env) {
                    environments.push(env.to_string());
                }
                Bizevent::Environment(environment_usage_event(&ctx, env, cluster, r, lm))
            },
            sender,
            &mut summary.events.environment_usage,
            deadline,
        )
        .await;
        record(summary, "environmentUsage", outcome);
    }
    if cfg.include.forecast {
        let outcome = async {
            deadline.check(clock, "the forecast was fetched")?;
            let f = api.forecast().await?;
            emit(sender, Bizevent::Forecast(forecast_event(&ctx, &f, now_ms))).await
        }
        .await;
        if outcome.is_ok() {
            summary.events.forecast += 1;
        }
        record(summary, "forecast", outcome);
    }
    if cfg.include.allocation {
        // Past the deadline, allocation is incomplete even when no environment was seen yet.
        if let Err(e) = deadline.check(clock, "cost allocation was fetched") {
            record(summary, "allocation", Err(e));
            return Ok(());
        }
    }
    if cfg.include.allocation && !environments.is_empty() {
        let (from, to) = (
            format_date(today - i64::from(cfg.window_days)),
            format_date(today - 1),
        );
        let outcome = async {
            for env in &environments {
                for field in [AllocationField::Costcenter, AllocationField::Product] {
                    let q = AllocationQuery {
                        field,
                        environment_id: env.clone(),
                        from: Some(from.clone()),
                        to: Some(to.clone()),
                        page_size: None,
                    };
                    let mut cursor = Cursor::new();
                    while !cursor.is_done() {
                        deadline.check(clock, "every allocation page was fetched")?;
                        let page = api
                            .cost_allocation_page(&sub_uuid, &q, cursor.key())
                            .await?;
                        let empty = page.records.is_empty();
                        for r in &page.records {
                            emit(
                                sender,
                                Bizevent::Allocation(allocation_event(
                                    &ctx,
                                    env,
                                    field.as_str(),
                                    r,
                                )),
                            )
                            .await?;
                            summary.events.allocation += 1;
                        }
                        cursor.advance(if empty { None } else { page.next_page_key });
                    }
                }
            }
            Ok(())
        }
        .await;
        record(summary, "allocation", outcome);
    }
    Ok(())
}

/// The code of an account's first failure (account level, then family level).
fn first_code(summary: &AccountSummary) -> Option<String> {
    summary
        .error
        .as_ref()
        .map(|e| e.code.clone())
        .or_else(|| summary.errors.first().map(|f| f.error.code.clone()))
}

/// The families of an account that a run did not (completely) fetch.
fn incomplete_families(summary: &AccountSummary, cfg: &SyncConfig) -> Vec<&'static str> {
    let wanted = |f: &&&str| match **f {
        "environmentCost" => cfg.include.environment_cost,
        "environmentUsage" => cfg.include.environment_usage,
        "forecast" => cfg.include.forecast,
        "allocation" => cfg.include.allocation,
        _ => true,
    };
    if summary.error.is_some() {
        // The account stopped before or while fetching its daily cost: the status event is
        // built once the subscription is known; everything else is missing.
        let from = usize::from(summary.events.subscription_status > 0);
        return FAMILIES[from..].iter().filter(wanted).copied().collect();
    }
    summary.errors.iter().map(|e| e.family).collect()
}

fn record(summary: &mut AccountSummary, family: &'static str, outcome: Result<()>) {
    if let Err(e) = outcome {
        summary.errors.push(FamilyError {
            family,
            error: ErrorInfo::from(&e),
        });
    }
}

/// Follows every page of a v3 listing, turning each record into an event as it arrives.
#[allow(clippy::too_many_arguments)]
async fn env_pages<C: HttpClient, T: serde::de::DeserializeOwned>(
    api: &AccountApi<&C, &dyn Clock>,
    metric: EnvMetric,
    sub_uuid: &str,
    query: &EnvQuery,
    mut to_event: impl FnMut(&str, Option<&str>, &T, Option<&str>) -> Bizevent,
    sender: &mut BatchSender<'_, C, dyn Clock + '_>,
    count: &mut usize,
    deadline: Deadline,
) -> Result<()> {
    let mut cursor = Cursor::new();
    while !cursor.is_done() {
        deadline.check(*api.clock(), "every environment page was fetched")?;
        let page = api
            .environment_page::<T>(metric, sub_uuid, query, cursor.key())
            .await?;
        let empty = page.environments.iter().all(|e| e.records.is_empty());
        for env in &page.environments {
            for r in &env.records {
                emit(
                    sender,
                    to_event(
                        &env.environment_id,
                        env.cluster_id.as_deref(),
                        r,
                        page.last_modified_time.as_deref(),
                    ),
                )
                .await?;
                *count += 1;
            }
        }
        cursor.advance(if empty { None } else { page.next_page_key });
    }
    Ok(())
}

/// Runs the whole pipeline. Errors are returned only for an invalid configuration; everything
/// that goes wrong later is in the summary (`ok: false`).
pub async fn run_sync<C: HttpClient>(
    http: &C,
    clock: &dyn Clock,
    cfg: &SyncConfig,
    retry: RetryPolicy,
) -> SyncSummary {
    let cfg = &SyncConfig {
        retry,
        ..cfg.clone()
    };
    let deadline = Deadline::start(clock, cfg.deadline_ms);
    let now_ms = cfg.now_ms.unwrap_or_else(|| clock.now_ms());
    let dry_run = cfg.ingest.is_none();
    let mut events = EventsSummary {
        built: 0,
        report: IngestReport::default(),
        error: None,
    };
    // The ingest token first: without it nothing can be stored, and the run says so.
    let target = match &cfg.ingest {
        None => None,
        Some((target, IngestAuthConfig::Ready(_))) => Some(target.clone()),
        Some((target, IngestAuthConfig::Client { creds, scope })) => {
            match fetch_token(http, clock, &cfg.endpoints.sso, creds, scope, cfg.retry).await {
                Ok(t) => Some(IngestTarget {
                    url: target.url.clone(),
                    auth: IngestAuth::Bearer(t.token),
                }),
                Err(e) => {
                    events.error = Some(ErrorInfo::from(&e));
                    None
                }
            }
        }
    };
    let results: Vec<(AccountSummary, IngestReport)> = stream::iter(cfg.accounts.iter())
        .map(|account| sync_account(http, clock, cfg, account, now_ms, target.as_ref(), deadline))
        .buffered(cfg.concurrency)
        .collect()
        .await;
    let mut accounts = Vec::with_capacity(results.len());
    let mut incomplete = Vec::new();
    let mut deadline_hit = false;
    for (summary, report) in results {
        let e = &summary.events;
        events.built += e.data_events() + e.sync_run;
        let families = incomplete_families(&summary, cfg);
        if !families.is_empty() {
            let code = first_code(&summary).unwrap_or_default();
            deadline_hit |=
                code == "DEADLINE" || summary.errors.iter().any(|f| f.error.code == "DEADLINE");
            incomplete.push(Incomplete {
                account_uuid: summary.account_uuid.clone(),
                families,
                code,
            });
        }
        events.report.sent += report.sent;
        events.report.accepted += report.accepted;
        events.report.batches += report.batches;
        events.report.retries += report.retries;
        events.report.rejected.extend(report.rejected);
        events.report.failed.extend(report.failed);
        accounts.push(summary);
    }
    if !dry_run && target.is_none() {
        // No ingest token: every built event is undelivered.
        events.report.sent = events.built;
        events.report.failed.push(FailedBatch {
            first_index: 0,
            count: events.built,
            code: events
                .error
                .as_ref()
                .map_or("INGEST_FAILED".to_string(), |e| e.code.clone()),
            status: events.error.as_ref().and_then(|e| e.status),
            message: events
                .error
                .as_ref()
                .map_or(String::new(), |e| e.message.clone()),
            account_uuid: None,
        });
    }
    let ingest_ok = dry_run || events.report.is_complete();
    let ok = accounts.iter().all(|a| a.ok) && ingest_ok && events.error.is_none();
    if events.error.is_none() && !ingest_ok {
        let lost = events.report.rejected.len() + events.report.not_delivered();
        events.error = Some(ErrorInfo::from(&Error::IngestPartial {
            sent: events.report.sent,
            rejected: lost,
            message: "see events.rejected and events.failed".to_string(),
        }));
    }
    SyncSummary {
        ok,
        code: deadline_hit.then_some("DEADLINE"),
        incomplete,
        dry_run,
        now: crate::time::format_iso_ms(now_ms),
        accounts,
        events,
    }
}
