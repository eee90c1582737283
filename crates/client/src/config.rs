//! The sync's configuration: the options as the caller gives them (JS object, CLI config, JSON)
//! and [`SyncOptions::validate`], which checks all of them before any request is made. Shared by
//! the sync and the report.

use serde::Deserialize;

use crate::api::cost::CostFilter;
use crate::api::Endpoints;
use crate::auth::{Credentials, Secret, SCOPE_EVENTS_WRITE};
use crate::error::{Error, Result};
use crate::http::{RetryOptions, RetryPolicy};
use crate::ingest::{IngestAuth, IngestTarget};
use crate::time::parse_timestamp_ms;

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
    /// Split the window's per-environment cost with Datadog custom allocation rules (inline or
    /// fetched from Datadog) and send `dps.cost.allocated` events (`crate::rule_allocation`).
    #[cfg(feature = "allocation-rules")]
    #[serde(default)]
    #[cfg_attr(feature = "tsify", tsify(optional, type = "SyncAllocation"))]
    pub allocation: Option<crate::rule_allocation::RuleAllocationOptions>,
    /// Delivery of the window's FOCUS CSV to an HTTPS URL after the ingest (`delivery.rs`).
    #[cfg(feature = "delivery")]
    #[serde(default)]
    #[cfg_attr(feature = "tsify", tsify(optional, type = "SyncExport"))]
    pub export: Option<crate::delivery::DeliveryOptions>,
}

/// Event families to build, all on by default. The two seed-003 kinds are off only in a loop
/// shard that leaves them to another shard of the same account (`{account, families}`).
#[derive(Debug, Clone, Copy, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct IncludeOptions {
    /// `dps.subscription.status` (with the reconciliation of `budget.used`).
    pub subscription_status: bool,
    /// `dps.cost2.booked`, one per booked day of the window (or all with `fullHistory`).
    pub cost_booked: bool,
    pub environment_cost: bool,
    pub environment_usage: bool,
    pub forecast: bool,
    /// `dps.cost.allocation`: cost per cost center and product (the Account Management API's
    /// breakdown); with rules, it also tags the lines the rules split.
    pub allocation: bool,
    /// `dps.cost.allocated`: the lines split by the `allocation` rules (nothing without them).
    #[cfg(feature = "allocation-rules")]
    pub cost_allocated: bool,
}

impl Default for IncludeOptions {
    fn default() -> Self {
        IncludeOptions {
            subscription_status: true,
            cost_booked: true,
            environment_cost: true,
            environment_usage: true,
            forecast: true,
            allocation: true,
            #[cfg(feature = "allocation-rules")]
            cost_allocated: true,
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
    /// Rule allocation, validated (inline rules checked already).
    #[cfg(feature = "allocation-rules")]
    pub allocation: Option<crate::rule_allocation::RuleAllocationConfig>,
    /// Where the window's FOCUS CSV goes (`export`), checked.
    #[cfg(feature = "delivery")]
    pub delivery: Option<crate::delivery::Delivery>,
}

/// Longest run deadline accepted (one hour).
pub const MAX_DEADLINE_MS: u64 = 3_600_000;

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
        #[cfg(feature = "allocation-rules")]
        let allocation = match self.allocation {
            None => None,
            Some(a) => Some(a.validate()?),
        };
        #[cfg(feature = "delivery")]
        let delivery = self.export.map(|e| e.validate()).transpose()?;
        Ok(SyncConfig {
            #[cfg(feature = "allocation-rules")]
            allocation,
            #[cfg(feature = "delivery")]
            delivery,
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

/// The ingest target and how its requests get authorised. The credential rule itself is
/// [`IngestAuth::resolve`], shared with the JS `ingest()`.
fn ingest_config(i: IngestOptions) -> Result<(IngestTarget, IngestAuthConfig)> {
    let client = i.client_id.is_some() || i.client_secret.is_some();
    let auth = IngestAuth::resolve("ingest.", &i.url, i.access_token, i.api_token, Some(client))?;
    let target = IngestTarget::new(&i.url, auth.clone())?;
    if !client {
        return Ok((target, IngestAuthConfig::Ready(auth)));
    }
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
    let scope = i.scope.unwrap_or_else(|| SCOPE_EVENTS_WRITE.to_string());
    Ok((target, IngestAuthConfig::Client { creds, scope }))
}
