//! The pipeline: accounts → tokens → subscription → daily cost → cost-to-date → bizevents →
//! ingest → summary. One failing account does not stop the others; the summary says what
//! happened to each, and `ok` is true only when everything was fetched and stored.

use futures_util::stream::{self, StreamExt};
use serde::Serialize;

use crate::api::allocation::{AllocationField, AllocationQuery};
use crate::api::paging::{next_page, Cursor};
use crate::api::usage::{EnvMetric, EnvQuery, MAX_V3_PAGE_SIZE};
use crate::api::{fetch_token, AccountApi};
use crate::clock::Clock;
#[cfg(feature = "delivery")]
use crate::delivery::{deliver, DeliverySummary};
use crate::error::{field_under, Error, Result};
use crate::events::bizevents::{
    allocation_event, cost_booked_event, environment_cost_event, environment_usage_event,
    forecast_event, subscription_status_event, sync_run_event, Bizevent, EventContext,
    SyncRunFacts,
};
use crate::http::{HttpClient, RetryPolicy};
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

pub use crate::config::{
    AccountConfig, AccountOptions, IncludeOptions, IngestAuthConfig, IngestOptions, SyncConfig,
    SyncOptions, DEFAULT_CONCURRENCY, DEFAULT_WINDOW_DAYS, MAX_DEADLINE_MS,
};

/// The event families of one account, as the summary and `dps.sync.run` name them
/// (`costAllocated` only where the rule allocation is built in: not in inline.js's module).
pub const FAMILIES: &[&str] = if cfg!(feature = "allocation-rules") {
    &ALL_FAMILIES
} else {
    ALL_FAMILIES.split_at(ALL_FAMILIES.len() - 1).0
};
const ALL_FAMILIES: [&str; 7] = [
    "subscriptionStatus",
    "costBooked",
    "environmentCost",
    "environmentUsage",
    "forecast",
    "allocation",
    "costAllocated",
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
    /// What the `allocation` rules did (absent without rules, or when they could not run).
    #[cfg(feature = "allocation-rules")]
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub cost_allocated: Option<crate::rule_allocation::RuleAllocationSummary>,
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
    /// `dps.cost.allocated`: the lines the `allocation` rules produced.
    #[cfg(feature = "allocation-rules")]
    pub cost_allocated: usize,
    /// The account's `dps.sync.run` event (1), sent after the others.
    pub sync_run: usize,
}

impl EventCounts {
    /// Every event of the account but its `dps.sync.run`.
    pub fn data_events(&self) -> usize {
        #[cfg(feature = "allocation-rules")]
        let rules = self.cost_allocated;
        #[cfg(not(feature = "allocation-rules"))]
        let rules = 0;
        self.subscription_status
            + self.cost_booked
            + self.environment_cost
            + self.environment_usage
            + self.forecast
            + self.allocation
            + rules
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
    /// The `export` delivery (absent without one); `ok` is false when it failed.
    #[cfg(feature = "delivery")]
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub delivery: Option<DeliverySummary>,
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
#[allow(clippy::too_many_arguments)]
async fn sync_account<C: HttpClient>(
    http: &C,
    clock: &dyn Clock,
    cfg: &SyncConfig,
    account: &AccountConfig,
    now_ms: i64,
    target: Option<&IngestTarget>,
    deadline: Deadline,
    rules: RulesForRun<'_>,
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
        #[cfg(feature = "allocation-rules")]
        cost_allocated: None,
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
        rules,
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

/// What every step of one account's run reads.
struct AccountRun<'a, C: HttpClient> {
    api: &'a AccountApi<&'a C, &'a dyn Clock>,
    clock: &'a dyn Clock,
    cfg: &'a SyncConfig,
    ctx: &'a EventContext,
    sub_uuid: &'a str,
    deadline: Deadline,
    now_ms: i64,
    /// Days since the epoch, now.
    today: i64,
}

/// One account's events, in order: its subscription, then the booked days, the environment
/// families, the forecast and the allocation, each sent as it is fetched.
#[allow(clippy::too_many_arguments)]
async fn account_events<C: HttpClient>(
    http: &C,
    clock: &dyn Clock,
    cfg: &SyncConfig,
    account: &AccountConfig,
    name: &str,
    now_ms: i64,
    deadline: Deadline,
    rules: RulesForRun<'_>,
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
    let run = AccountRun {
        api: &api,
        clock,
        cfg,
        ctx: &ctx,
        sub_uuid: &sub_uuid,
        deadline,
        now_ms,
        today: now_ms.div_euclid(ms_per_day()),
    };
    if cfg.include.subscription_status || cfg.include.cost_booked {
        send_status_and_booked_days(&run, &details, sender, summary).await?;
    }
    // The rule allocation's lines, collected from the cost pages (and split by the breakdown
    // that the allocation family reads); `None` without rules.
    let mut lines = rule_lines(&run, rules, name);
    let mut environments = send_environment_families(&run, sender, summary, &mut lines).await;
    if cfg.include.forecast {
        let outcome = send_forecast(&run, sender).await;
        if outcome.is_ok() {
            summary.events.forecast += 1;
        }
        record(summary, "forecast", outcome);
    }
    // The rule allocation needs every cost line of the window (and the breakdown): a failed
    // cost family fails it too, rather than splitting part of the window.
    #[cfg(feature = "allocation-rules")]
    let mut input_error = summary
        .errors
        .iter()
        .find(|f| f.family == "environmentCost")
        .map(|f| f.error.clone());
    if cfg.include.allocation || lines.is_some() {
        let outcome =
            match environments_for_allocation(&run, &mut environments, sender, &mut lines).await {
                Ok(()) if cfg.include.allocation => {
                    send_allocation(&run, &environments, sender, summary, &mut lines).await
                }
                other => other,
            };
        #[cfg(feature = "allocation-rules")]
        if let Err(e) = &outcome {
            input_error = input_error.or_else(|| Some(ErrorInfo::from(e)));
        }
        if cfg.include.allocation {
            record(summary, "allocation", outcome);
        }
    }
    #[cfg(feature = "allocation-rules")]
    send_rule_allocation(&run, rules, lines, input_error, sender, summary).await;
    Ok(())
}

/// The rules of this run for the accounts: `None` without an `allocation` option (or with the
/// `costAllocated` family off), else the rules or why there are none (Datadog refused the keys,
/// a rule is invalid: the family's error, the account's other families are still synced).
#[cfg(feature = "allocation-rules")]
type RulesForRun<'a> = Option<&'a Result<Vec<crate::allocate::ArbitraryRule>>>;
#[cfg(not(feature = "allocation-rules"))]
type RulesForRun<'a> = Option<&'a std::convert::Infallible>;

#[cfg(feature = "allocation-rules")]
type Lines = Option<crate::rule_allocation::LineCollector>;
#[cfg(not(feature = "allocation-rules"))]
type Lines = Option<std::convert::Infallible>;

/// The line collector of an account whose rules are there.
#[cfg(feature = "allocation-rules")]
fn rule_lines<C: HttpClient>(run: &AccountRun<'_, C>, rules: RulesForRun<'_>, name: &str) -> Lines {
    let cfg = run.cfg.allocation.as_ref()?;
    rules?.as_ref().ok()?;
    let breakdown = if run.cfg.include.allocation {
        cfg.breakdown
    } else {
        None
    };
    Some(crate::rule_allocation::LineCollector::new(
        &run.ctx.account_uuid,
        name,
        &run.ctx.subscription_uuid,
        breakdown,
    ))
}

#[cfg(not(feature = "allocation-rules"))]
fn rule_lines<C: HttpClient>(_: &AccountRun<'_, C>, _: RulesForRun<'_>, _: &str) -> Lines {
    None
}

/// Allocates the collected lines by the rules and sends a `dps.cost.allocated` event per
/// allocated and unallocated line as the engine produces it; the summary gets the totals.
#[cfg(feature = "allocation-rules")]
async fn send_rule_allocation<C: HttpClient>(
    run: &AccountRun<'_, C>,
    rules: RulesForRun<'_>,
    lines: Lines,
    input_error: Option<ErrorInfo>,
    sender: &mut BatchSender<'_, C, dyn Clock + '_>,
    summary: &mut AccountSummary,
) {
    use crate::allocate::{AllocationStream, Drivers};
    use crate::rule_allocation::{EventSink, RuleAllocationSummary};
    let (Some(cfg), Some(rules)) = (run.cfg.allocation.as_ref(), rules) else {
        return;
    };
    if let (Ok(_), Some(error)) = (rules, input_error) {
        summary.errors.push(FamilyError {
            family: "costAllocated",
            error,
        });
        return;
    }
    let outcome = async {
        let rules = rules.as_ref().map_err(Clone::clone)?;
        let lines = lines
            .ok_or_else(|| Error::Internal {
                message: "rule allocation without its lines".into(),
            })?
            .finish()?;
        let n = lines.len();
        run.deadline
            .check(run.clock, "the cost was allocated by the rules")?;
        let mut stream = AllocationStream::from_compact(lines, rules.clone(), &Drivers::new())?;
        let mut sink = EventSink::default();
        while stream.next_into(&mut sink)? {
            for e in sink.events.drain(..) {
                sender.push(e).await;
                summary.events.cost_allocated += 1;
            }
        }
        let s = stream.finish_totals()?;
        Ok::<_, Error>(RuleAllocationSummary::of(cfg, rules, n, &s))
    }
    .await;
    match outcome {
        Ok(s) => summary.cost_allocated = Some(s),
        Err(e) => record(summary, "costAllocated", Err(e)),
    }
}

impl<C: HttpClient> AccountRun<'_, C> {
    /// The first day of the window, in epoch ms.
    fn window_start_ms(&self) -> i64 {
        (self.today - i64::from(self.cfg.window_days)) * ms_per_day()
    }
}

/// The two seed-003 kinds: the subscription snapshot and the booked days (cost-to-date over the
/// whole history; events for the window unless a backfill is asked for). The daily cost comes
/// first: the snapshot carries its reconciliation with `budget.used`; a failure to fetch it, or
/// the deadline passed before it, still sends the snapshot, then ends the account's run.
async fn send_status_and_booked_days<C: HttpClient>(
    run: &AccountRun<'_, C>,
    details: &SubscriptionDetails,
    sender: &mut BatchSender<'_, C, dyn Clock + '_>,
    summary: &mut AccountSummary,
) -> Result<()> {
    let costs = match run.deadline.check(run.clock, "the daily cost was fetched") {
        Err(e) => Err(e),
        Ok(()) => run.api.daily_cost(run.sub_uuid, &run.cfg.filter).await,
    }
    .and_then(|daily| {
        cost_to_date(daily).map_err(|e| match e {
            Error::InvalidInput { field, message } => {
                Error::decode("daily cost", field_under("data", &field), message, None)
            }
            other => other,
        })
    });
    summary.reconciliation = match &costs {
        Ok(costs) => reconcile_period(details, costs),
        Err(_) => None,
    };
    if run.cfg.include.subscription_status {
        let mut status = subscription_status_event(details, &run.ctx.account_uuid, run.now_ms);
        status.reconciliation(summary.reconciliation.as_ref());
        emit(sender, Bizevent::SubscriptionStatus(status)).await?;
        summary.events.subscription_status += 1;
    }
    let costs = costs?;
    let day = |s: &str| parse_timestamp_ms(s).map(|ms| format_date(ms.div_euclid(ms_per_day())));
    summary.cost_days = costs.len();
    summary.first_day = costs.first().and_then(|c| day(&c.record.start_time));
    summary.last_day = costs.last().and_then(|c| day(&c.record.start_time));
    summary.cost_to_date = costs.last().map_or(0.0, |c| c.cost_to_date);
    let window_start_ms = run.window_start_ms();
    for c in &costs {
        let in_window =
            parse_timestamp_ms(&c.record.start_time).is_some_and(|ms| ms >= window_start_ms);
        if run.cfg.include.cost_booked && (run.cfg.full_history || in_window) {
            emit(
                sender,
                Bizevent::CostBooked(cost_booked_event(
                    c,
                    &run.ctx.subscription_uuid,
                    &run.ctx.account_uuid,
                    &run.ctx.account_name,
                )),
            )
            .await?;
            summary.events.cost_booked += 1;
        }
    }
    Ok(())
}

/// The window's v3 query: every page at the largest page size.
fn env_query<C: HttpClient>(run: &AccountRun<'_, C>) -> EnvQuery {
    EnvQuery {
        start_ms: run.window_start_ms(),
        end_ms: run.today * ms_per_day(),
        filter: run.cfg.filter.clone(),
        page_size: MAX_V3_PAGE_SIZE,
    }
}

/// Per environment, capability and day, page by page (v3): cost, then usage. A failing family
/// is recorded and the other still sent. Returns the environments seen (for allocation).
async fn send_environment_families<C: HttpClient>(
    run: &AccountRun<'_, C>,
    sender: &mut BatchSender<'_, C, dyn Clock + '_>,
    summary: &mut AccountSummary,
    lines: &mut Lines,
) -> Vec<String> {
    let mut environments: Vec<String> = Vec::new();
    let query = env_query(run);
    let ctx = run.ctx;
    if run.cfg.include.environment_cost {
        let outcome = env_pages::<_, EnvCostRecord>(
            run.api,
            EnvMetric::Cost,
            run.sub_uuid,
            &query,
            |env, cluster, r, lm| {
                if !environments.iter().any(|e| e == env) {
                    environments.push(env.to_string());
                }
                collect(lines, env, cluster, r);
                Some(Bizevent::Environment(environment_cost_event(
                    ctx, env, cluster, r, lm,
                )))
            },
            sender,
            &mut summary.events.environment_cost,
            run.deadline,
        )
        .await;
        record(summary, "environmentCost", outcome);
    }
    if run.cfg.include.environment_usage {
        let outcome = env_pages::<_, UsageRecord>(
            run.api,
            EnvMetric::Usage,
            run.sub_uuid,
            &query,
            |env, cluster, r, lm| {
                if !environments.iter().any(|e| e == env) {
                    environments.push(env.to_string());
                }
                Some(Bizevent::Environment(environment_usage_event(
                    ctx, env, cluster, r, lm,
                )))
            },
            sender,
            &mut summary.events.environment_usage,
            run.deadline,
        )
        .await;
        record(summary, "environmentUsage", outcome);
    }
    environments
}

/// A cost record for the rule allocation's lines.
#[cfg(feature = "allocation-rules")]
fn collect(lines: &mut Lines, env: &str, cluster: Option<&str>, r: &EnvCostRecord) {
    if let Some(l) = lines {
        l.push(env, cluster, r);
    }
}

#[cfg(not(feature = "allocation-rules"))]
fn collect(_: &mut Lines, _: &str, _: Option<&str>, _: &EnvCostRecord) {}

/// The environments whose allocation is fetched when no environment family ran in this run (a
/// loop shard of allocation alone): those of the window's cost pages, read but not sent. (The
/// environment list would need another scope, `account-env-read`, and lists environments with
/// no cost in the window.) The rule allocation's lines are collected from the same pages when
/// the cost family did not run.
async fn environments_for_allocation<C: HttpClient>(
    run: &AccountRun<'_, C>,
    environments: &mut Vec<String>,
    sender: &mut BatchSender<'_, C, dyn Clock + '_>,
    lines: &mut Lines,
) -> Result<()> {
    if run.cfg.include.environment_cost || (run.cfg.include.environment_usage && lines.is_none()) {
        return Ok(());
    }
    let mut read = 0;
    env_pages::<_, EnvCostRecord>(
        run.api,
        EnvMetric::Cost,
        run.sub_uuid,
        &env_query(run),
        |env, cluster, r, _| {
            if !environments.iter().any(|e| e == env) {
                environments.push(env.to_string());
            }
            collect(lines, env, cluster, r);
            None
        },
        sender,
        &mut read,
        run.deadline,
    )
    .await
}

/// The subscription's forecast, as one event.
async fn send_forecast<C: HttpClient>(
    run: &AccountRun<'_, C>,
    sender: &mut BatchSender<'_, C, dyn Clock + '_>,
) -> Result<()> {
    run.deadline.check(run.clock, "the forecast was fetched")?;
    let f = run.api.forecast().await?;
    emit(
        sender,
        Bizevent::Forecast(forecast_event(run.ctx, &f, run.now_ms)),
    )
    .await
}

/// Cost per cost center and product of every environment seen, for the window, all pages.
/// With rules, the breakdown field's records of each environment split its lines (`lines`).
/// Past the deadline, allocation is incomplete even when no environment was seen yet.
#[cfg_attr(not(feature = "allocation-rules"), allow(unused_variables))]
async fn send_allocation<C: HttpClient>(
    run: &AccountRun<'_, C>,
    environments: &[String],
    sender: &mut BatchSender<'_, C, dyn Clock + '_>,
    summary: &mut AccountSummary,
    lines: &mut Lines,
) -> Result<()> {
    let (deadline, clock) = (run.deadline, run.clock);
    deadline.check(clock, "cost allocation was fetched")?;
    let (from, to) = (
        format_date(run.today - i64::from(run.cfg.window_days)),
        format_date(run.today - 1),
    );
    for env in environments {
        #[cfg(feature = "allocation-rules")]
        let mut kept = Vec::new();
        for field in [AllocationField::Costcenter, AllocationField::Product] {
            #[cfg(feature = "allocation-rules")]
            let keep = wants_breakdown(lines, field);
            let q = &AllocationQuery {
                field,
                environment_id: env.clone(),
                from: Some(from.clone()),
                to: Some(to.clone()),
                page_size: None,
            };
            let (api, sub_uuid) = (run.api, run.sub_uuid);
            let mut cursor = Cursor::new();
            while let Some(page) = next_page(&mut cursor, |key| async move {
                deadline.check(clock, "every allocation page was fetched")?;
                api.cost_allocation_page(sub_uuid, q, key.as_deref()).await
            })
            .await?
            {
                for r in &page.records {
                    emit(
                        sender,
                        Bizevent::Allocation(allocation_event(run.ctx, env, field.as_str(), r)),
                    )
                    .await?;
                    summary.events.allocation += 1;
                }
                #[cfg(feature = "allocation-rules")]
                if keep {
                    kept.extend(page.records);
                }
            }
        }
        #[cfg(feature = "allocation-rules")]
        add_environment(lines, env, kept)?;
    }
    Ok(())
}

/// Whether the rule allocation's lines are split by `field`.
#[cfg(feature = "allocation-rules")]
fn wants_breakdown(lines: &Lines, field: AllocationField) -> bool {
    lines.as_ref().and_then(|l| l.breakdown()) == Some(field)
}

/// One environment's lines, split by its breakdown records.
#[cfg(feature = "allocation-rules")]
fn add_environment(
    lines: &mut Lines,
    env: &str,
    kept: Vec<crate::model::allocation::AllocationRecord>,
) -> Result<()> {
    match lines {
        Some(l) => {
            let split = l.breakdown().is_some();
            l.add_environment(env, split.then_some(kept))
        }
        None => Ok(()),
    }
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
        "subscriptionStatus" => cfg.include.subscription_status,
        "costBooked" => cfg.include.cost_booked,
        "environmentCost" => cfg.include.environment_cost,
        "environmentUsage" => cfg.include.environment_usage,
        "forecast" => cfg.include.forecast,
        "allocation" => cfg.include.allocation,
        #[cfg(feature = "allocation-rules")]
        "costAllocated" => cfg.include.cost_allocated && cfg.allocation.is_some(),
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

/// Follows every page of a v3 listing, turning each record into an event as it arrives (`None`:
/// the record is only read).
#[allow(clippy::too_many_arguments)]
async fn env_pages<C: HttpClient, T: serde::de::DeserializeOwned>(
    api: &AccountApi<&C, &dyn Clock>,
    metric: EnvMetric,
    sub_uuid: &str,
    query: &EnvQuery,
    mut to_event: impl FnMut(&str, Option<&str>, &T, Option<&str>) -> Option<Bizevent>,
    sender: &mut BatchSender<'_, C, dyn Clock + '_>,
    count: &mut usize,
    deadline: Deadline,
) -> Result<()> {
    let mut cursor = Cursor::new();
    while let Some(page) = next_page(&mut cursor, |key| async move {
        deadline.check(*api.clock(), "every environment page was fetched")?;
        api.environment_page::<T>(metric, sub_uuid, query, key.as_deref())
            .await
    })
    .await?
    {
        for env in &page.environments {
            for r in &env.records {
                let event = to_event(
                    &env.environment_id,
                    env.cluster_id.as_deref(),
                    r,
                    page.last_modified_time.as_deref(),
                );
                if let Some(event) = event {
                    emit(sender, event).await?;
                    *count += 1;
                }
            }
        }
    }
    Ok(())
}

#[cfg(feature = "allocation-rules")]
async fn resolve_rules_for_run<C: HttpClient>(
    http: &C,
    clock: &dyn Clock,
    cfg: &SyncConfig,
    deadline: Deadline,
) -> Option<Result<Vec<crate::allocate::ArbitraryRule>>> {
    let a = cfg
        .allocation
        .as_ref()
        .filter(|_| cfg.include.cost_allocated)?;
    Some(
        match deadline.check(clock, "the allocation rules were fetched") {
            Err(e) => Err(e),
            Ok(()) => crate::rule_allocation::resolve_rules(http, clock, a, cfg.retry).await,
        },
    )
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
    // The rules, once per run and before any account's events (a Datadog fetch is checked
    // against the deadline like every other request).
    #[cfg(feature = "allocation-rules")]
    let rules = resolve_rules_for_run(http, clock, cfg, deadline).await;
    #[cfg(not(feature = "allocation-rules"))]
    let rules: Option<std::convert::Infallible> = None;
    let rules = rules.as_ref();
    let results: Vec<(AccountSummary, IngestReport)> = stream::iter(cfg.accounts.iter())
        .map(|account| {
            sync_account(
                http,
                clock,
                cfg,
                account,
                now_ms,
                target.as_ref(),
                deadline,
                rules,
            )
        })
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
    // Delivery: independent of the ingest (it runs whatever became of the events).
    #[cfg(feature = "delivery")]
    let delivery = match &cfg.delivery {
        Some(d) => Some(deliver(http, clock, cfg, d, deadline.at_ms).await),
        None => None,
    };
    #[cfg(feature = "delivery")]
    let ok = ok && delivery.as_ref().is_none_or(|d| d.ok);
    SyncSummary {
        #[cfg(feature = "delivery")]
        delivery,
        ok,
        code: deadline_hit.then_some("DEADLINE"),
        incomplete,
        dry_run,
        now: crate::time::format_iso_ms(now_ms),
        accounts,
        events,
    }
}
