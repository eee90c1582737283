//! The pipeline: accounts → tokens → subscription → daily cost → cost-to-date → bizevents →
//! ingest → summary. One failing account does not stop the others; the summary says what
//! happened to each, and `ok` is true only when everything was fetched and stored.

use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

use crate::api::cost::CostFilter;
use crate::api::{fetch_token, AccountApi, Endpoints};
use crate::auth::{Credentials, Secret, SCOPE_EVENTS_WRITE};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::events::bizevents::{build_bizevents, Bizevent};
use crate::events::ingest::{ingest_report, IngestAuth, IngestReport, IngestTarget, PreparedEvent};
use crate::http::{HttpClient, RetryOptions, RetryPolicy};
use crate::model::subscription::SubscriptionDetails;
use crate::money::Amount;
use crate::process::cost_to_date::cost_to_date;
use crate::time::{format_date, ms_per_day, parse_timestamp_ms};

/// Accounts fetched at the same time by default.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// One account as the caller describes it (JS object, CLI config, JSON).
#[derive(Debug, Clone, Default, Deserialize)]
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
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyncOptions {
    pub accounts: Vec<AccountOptions>,
    #[serde(default)]
    pub sso_url: Option<String>,
    #[serde(default)]
    pub api_url: Option<String>,
    #[serde(default)]
    pub ingest: Option<IngestOptions>,
    #[serde(default)]
    pub environment_ids: Option<Vec<String>>,
    #[serde(default)]
    pub capability_keys: Option<Vec<String>>,
    /// Overrides "now" (ISO-8601), for reproducible runs.
    #[serde(default)]
    pub now: Option<String>,
    /// Accounts fetched at the same time (1..=16, default 4).
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// Retry and timeout overrides.
    #[serde(default)]
    pub retry: Option<RetryOptions>,
}

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
        Ok(SyncConfig {
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
#[serde(rename_all = "camelCase")]
pub struct ErrorInfo {
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
}

#[derive(Debug, Clone, PartialEq, Serialize)]
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
#[serde(rename_all = "camelCase")]
pub struct SyncSummary {
    pub ok: bool,
    pub dry_run: bool,
    pub now: String,
    pub accounts: Vec<AccountSummary>,
    pub events: EventsSummary,
}

/// One account's summary and events.
type AccountData = (AccountSummary, Vec<Bizevent>);

/// Fetches one account's data and builds its events.
async fn sync_account<C: HttpClient>(
    http: &C,
    clock: &dyn Clock,
    cfg: &SyncConfig,
    account: &AccountConfig,
    now_ms: i64,
    retry: RetryPolicy,
) -> Result<(AccountSummary, Vec<Bizevent>)> {
    let api = AccountApi::new(
        http,
        clock,
        cfg.endpoints.clone(),
        account.creds.clone(),
        None,
    )
    .with_retry(retry);
    let sub_uuid = match &account.subscription_uuid {
        Some(s) => s.clone(),
        None => api.active_subscription().await?.uuid,
    };
    let details = api.subscription(&sub_uuid).await?;
    let costs =
        cost_to_date(api.daily_cost(&sub_uuid, &cfg.filter).await?).map_err(|e| match e {
            Error::InvalidInput { field, message } => {
                Error::decode("daily cost", format!("data{field}"), message, None)
            }
            other => other,
        })?;
    let name = account
        .name
        .clone()
        .unwrap_or_else(|| account.creds.account_uuid.clone());
    let events = build_bizevents(&details, &account.creds.account_uuid, &name, &costs, now_ms);
    let day = |s: Option<&String>| {
        s.and_then(|s| parse_timestamp_ms(s))
            .map(|ms| format_date(ms.div_euclid(ms_per_day())))
    };
    let summary = AccountSummary {
        account_uuid: account.creds.account_uuid.clone(),
        name,
        ok: true,
        error: None,
        subscription: Some(SubscriptionSummary::of(&details)),
        cost_days: costs.len(),
        first_day: day(costs.first().map(|c| &c.record.start_time)),
        last_day: day(costs.last().map(|c| &c.record.start_time)),
        cost_to_date: costs.last().map_or(0.0, |c| c.cost_to_date),
    };
    Ok((summary, events))
}

/// Runs the whole pipeline. Errors are returned only for an invalid configuration; everything
/// that goes wrong later is in the summary (`ok: false`).
pub async fn run_sync<C: HttpClient>(
    http: &C,
    clock: &dyn Clock,
    cfg: &SyncConfig,
    retry: RetryPolicy,
) -> SyncSummary {
    let now_ms = cfg.now_ms.unwrap_or_else(|| clock.now_ms());
    let mut accounts = Vec::with_capacity(cfg.accounts.len());
    let mut prepared: Vec<PreparedEvent> = Vec::new();
    let mut build_error: Option<ErrorInfo> = None;
    let results: Vec<(&AccountConfig, Result<AccountData>)> = stream::iter(cfg.accounts.iter())
        .map(|account| async move {
            (
                account,
                sync_account(http, clock, cfg, account, now_ms, retry).await,
            )
        })
        .buffered(cfg.concurrency)
        .collect()
        .await;
    for (account, result) in results {
        match result {
            Ok((summary, events)) => {
                for e in &events {
                    match PreparedEvent::from_serialize(Some(e.id()), e) {
                        Ok(p) => prepared.push(p),
                        Err(err) => build_error = Some(ErrorInfo::from(&err)),
                    }
                }
                accounts.push(summary);
            }
            Err(e) => accounts.push(AccountSummary {
                account_uuid: account.creds.account_uuid.clone(),
                name: account
                    .name
                    .clone()
                    .unwrap_or_else(|| account.creds.account_uuid.clone()),
                ok: false,
                error: Some(ErrorInfo::from(&e)),
                subscription: None,
                cost_days: 0,
                first_day: None,
                last_day: None,
                cost_to_date: 0.0,
            }),
        }
    }
    let built = prepared.len();
    let mut events = EventsSummary {
        built,
        report: IngestReport::default(),
        error: build_error,
    };
    let dry_run = cfg.ingest.is_none();
    if let Some((target, auth)) = &cfg.ingest {
        if !prepared.is_empty() {
            let target = match auth {
                IngestAuthConfig::Ready(_) => Ok(target.clone()),
                IngestAuthConfig::Client { creds, scope } => {
                    fetch_token(http, clock, &cfg.endpoints.sso, creds, scope, retry)
                        .await
                        .map(|t| IngestTarget {
                            url: target.url.clone(),
                            auth: IngestAuth::Bearer(t.token),
                        })
                }
            };
            match target {
                Ok(target) => {
                    events.report = ingest_report(http, clock, &target, &prepared, retry).await
                }
                Err(e) => {
                    events.report.sent = prepared.len();
                    events
                        .report
                        .failed
                        .push(crate::events::ingest::FailedBatch {
                            first_index: 0,
                            count: prepared.len(),
                            code: e.code().to_string(),
                            status: e.status(),
                            message: e.to_string(),
                        });
                    events.error = Some(ErrorInfo::from(&e));
                }
            }
        }
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
        dry_run,
        now: crate::time::format_iso_ms(now_ms),
        accounts,
        events,
    }
}
