//! The cost report and the FOCUS export of one or more accounts: fetch, then the pure builders
//! ([`crate::process::charts::build_report`], [`crate::export::focus`]).
//!
//! Per account: token → subscription (configured or active) → its details → daily cost of the
//! subscription → per-environment cost (v3, every page) over the window → for the report the
//! Dynatrace forecast, for the export the per-environment usage; environment names when the
//! client may read them. Optional parts (forecast, names) that fail become `warnings`; anything
//! else fails the whole call: a report or export never silently misses an account.

use std::collections::BTreeMap;

use crate::hash::HashMap;

use serde::Deserialize;

use crate::allocate::engine::{allocate, AllocationInput, AllocationResult, CostLine};
use crate::allocate::lines::{cost_lines, CostLinesInput};
use crate::allocate::rules::parse_rules;
use crate::api::usage::{EnvQuery, MAX_V3_PAGE_SIZE};
use crate::api::AccountApi;
use crate::clock::Clock;
use crate::config::{AccountConfig, AccountOptions, SyncConfig, SyncOptions};
use crate::error::{field_under, Error, Result};
use crate::export::contract_commitment::{
    applied_per_term, check_terms, commitment_table, CommitmentTerm, CommitmentTermInput,
};
use crate::export::focus::{
    focus_from_allocation, focus_from_lines, FocusContext, FocusDataset, FocusTable, FocusVersion,
    FocusWriter, LineRows,
};
use crate::http::{HttpClient, RetryOptions};
use crate::model::usage::{EnvironmentRecords, UsageRecord};
use crate::process::charts::{build_report, AccountData, ReportData, ReportInput};
use crate::time::{format_date, ms_per_day, parse_date, parse_timestamp_ms};

/// Options of `reportData` and `exportCost` (JS objects, CLI).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(
    feature = "tsify",
    derive(tsify::Tsify),
    tsify(rename = "ReportConfig")
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReportOptions {
    /// The accounts, as for `sync`.
    #[cfg_attr(feature = "tsify", tsify(type = "SyncAccount[]"))]
    pub accounts: Vec<AccountOptions>,
    #[serde(default)]
    pub sso_url: Option<String>,
    #[serde(default)]
    pub api_url: Option<String>,
    #[serde(default)]
    pub environment_ids: Option<Vec<String>>,
    #[serde(default)]
    pub capability_keys: Option<Vec<String>>,
    /// What "now" is (ISO-8601; default: the clock).
    #[serde(default)]
    pub now: Option<String>,
    #[serde(default)]
    pub retry: Option<RetryOptions>,
    /// Days of per-environment data (default 35), ending yesterday; `from`/`to` override.
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[cfg_attr(feature = "tsify", tsify(optional, type = "number"))]
    pub window_days: Option<u32>,
    /// First day (`YYYY-MM-DD`, inclusive) of the per-environment data.
    #[serde(default)]
    pub from: Option<String>,
    /// Last day (`YYYY-MM-DD`, exclusive).
    #[serde(default)]
    pub to: Option<String>,
    /// Datadog custom allocation rules (an array of rules, or `{data: [...]}`).
    #[serde(default)]
    #[cfg_attr(feature = "tsify", tsify(type = "unknown"))]
    pub rules: Option<serde_json::Value>,
    /// Extra tags per environment id (as `costLines`).
    #[serde(default)]
    pub environment_tags: Option<BTreeMap<String, BTreeMap<String, String>>>,
    /// Export only: `focus` (FOCUS CSV, default), `focus-json`, `csv` or `json` (the plain
    /// table: date, account, environment, capability, cost, usage, tags), or `parquet` (the
    /// FOCUS columns typed, `export::columnar`; the JS API writes the file).
    #[serde(default)]
    #[cfg_attr(feature = "tsify", tsify(type = "ExportFormat"))]
    pub format: Option<String>,
    /// Export only: the FOCUS version, `1.2`, `1.3` (default) or `1.4`.
    #[serde(default)]
    #[cfg_attr(feature = "tsify", tsify(type = "FocusVersion"))]
    pub focus_version: Option<String>,
    /// Export only: `cost-and-usage` (default) or `contract-commitment` (FOCUS 1.3+: one row per
    /// commitment term of each subscription; formats `focus` and `focus-json`).
    #[serde(default)]
    #[cfg_attr(feature = "tsify", tsify(type = "FocusDataset"))]
    pub dataset: Option<String>,
}

/// Checked options.
pub struct ReportConfig {
    pub sync: SyncConfig,
    /// Day numbers: [from, to).
    pub from_day: Option<i64>,
    pub to_day: Option<i64>,
    pub rules: Option<serde_json::Value>,
    pub environment_tags: BTreeMap<String, BTreeMap<String, String>>,
    pub format: ExportFormat,
    pub version: FocusVersion,
    pub dataset: FocusDataset,
}

/// What `exportCost` writes. In JS its [`name`](ExportFormat::name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "tsify",
    derive(tsify::Tsify),
    tsify(type = "\"focus\" | \"focus-json\" | \"csv\" | \"json\" | \"parquet\"")
)]
pub enum ExportFormat {
    FocusCsv,
    FocusJson,
    Csv,
    Json,
    /// The FOCUS columns as typed columns (`export::columnar`), for the JS API's Parquet writer.
    Parquet,
}

impl ExportFormat {
    /// `focus` (the default when absent), `focus-json`, `csv`, `json` or `parquet`; `field` names
    /// the option.
    pub fn parse(field: &str, value: Option<&str>) -> Result<ExportFormat> {
        Ok(match value {
            None | Some("focus") => ExportFormat::FocusCsv,
            Some("focus-json") => ExportFormat::FocusJson,
            Some("csv") => ExportFormat::Csv,
            Some("json") => ExportFormat::Json,
            Some("parquet") => ExportFormat::Parquet,
            Some(other) => {
                return Err(Error::invalid(
                    field,
                    format!(
                        "must be focus, focus-json, csv, json or parquet, got `{}`",
                        other.chars().take(20).collect::<String>()
                    ),
                ))
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::FocusCsv => "focus",
            ExportFormat::FocusJson => "focus-json",
            ExportFormat::Csv => "csv",
            ExportFormat::Json => "json",
            ExportFormat::Parquet => "parquet",
        }
    }

    /// JSON (an array of row objects) rather than CSV.
    pub fn is_json(self) -> bool {
        matches!(self, ExportFormat::FocusJson | ExportFormat::Json)
    }

    /// The plain table rather than the FOCUS columns.
    pub fn is_plain(self) -> bool {
        matches!(self, ExportFormat::Csv | ExportFormat::Json)
    }

    /// The row writer of this format for `table`'s rows.
    pub fn writer(self, table: &FocusTable) -> FocusWriter {
        FocusWriter::new(
            &table.columns,
            self.is_json(),
            table.layout(self.is_plain()),
        )
    }

    /// The table in this format.
    pub fn render(self, table: &FocusTable) -> String {
        self.writer(table).render(table)
    }
}

fn day_flag(field: &str, v: &Option<String>) -> Result<Option<i64>> {
    match v {
        None => Ok(None),
        Some(s) => parse_date(s)
            .or_else(|| parse_timestamp_ms(s).map(|ms| ms.div_euclid(ms_per_day())))
            .map(Some)
            .ok_or_else(|| Error::invalid(field, "is not a date (YYYY-MM-DD)")),
    }
}

impl ReportOptions {
    /// Checks everything before any request.
    pub fn validate(self) -> Result<ReportConfig> {
        let from_day = day_flag("from", &self.from)?;
        let to_day = day_flag("to", &self.to)?;
        if let (Some(f), Some(t)) = (from_day, to_day) {
            if t <= f {
                return Err(Error::invalid("to", "must be after from"));
            }
            if t - f > 400 {
                return Err(Error::invalid("to", "the window is at most 400 days"));
            }
        }
        let format = ExportFormat::parse("format", self.format.as_deref())?;
        let version = FocusVersion::parse("focusVersion", self.focus_version.as_deref())?;
        let dataset = FocusDataset::parse("dataset", self.dataset.as_deref())?;
        dataset.check("dataset", version)?;
        if dataset == FocusDataset::ContractCommitment && format.is_plain() {
            return Err(Error::invalid(
                "format",
                "the contract-commitment dataset is written as focus (CSV), focus-json or parquet",
            ));
        }
        if let Some(r) = &self.rules {
            // The caller's rules: a shape error is the caller's input, named from `rules`.
            parse_rules(&r.to_string()).map_err(|e| match e {
                Error::Decode { path, message, .. } => Error::InvalidInput {
                    field: field_under("rules", &path),
                    message,
                },
                other => other.under("rules"),
            })?;
        }
        let sync = SyncOptions {
            accounts: self.accounts,
            sso_url: self.sso_url,
            api_url: self.api_url,
            environment_ids: self.environment_ids,
            capability_keys: self.capability_keys,
            now: self.now,
            retry: self.retry,
            window_days: self.window_days,
            ..SyncOptions::default()
        }
        .validate()?;
        Ok(ReportConfig {
            sync,
            from_day,
            to_day,
            rules: self.rules,
            environment_tags: self.environment_tags.unwrap_or_default(),
            format,
            version,
            dataset,
        })
    }
}

/// One account's data and what the export needs besides.
struct Fetched {
    data: AccountData,
    usage: Vec<EnvironmentRecords<UsageRecord>>,
    subscription_uuid: String,
}

impl ReportConfig {
    /// The per-environment window [start, end) as day numbers.
    fn window(&self, now_ms: i64) -> (i64, i64) {
        let today = now_ms.div_euclid(ms_per_day());
        let end = self.to_day.unwrap_or(today);
        let start = self
            .from_day
            .unwrap_or(end - i64::from(self.sync.window_days));
        (start, end)
    }
}

async fn fetch_account<C: HttpClient>(
    http: &C,
    clock: &dyn Clock,
    cfg: &ReportConfig,
    account: &AccountConfig,
    window: (i64, i64),
    for_export: bool,
    warnings: &mut Vec<String>,
) -> Result<Fetched> {
    let api = AccountApi::new(
        http,
        clock,
        cfg.sync.endpoints.clone(),
        account.creds.clone(),
        None,
    )
    .with_retry(cfg.sync.retry);
    let uuid = account.creds.account_uuid.clone();
    let sub_uuid = match &account.subscription_uuid {
        Some(s) => s.clone(),
        None => api.active_subscription().await?.uuid,
    };
    let subscription = api.subscription(&sub_uuid).await?;
    // The export needs the subscription's daily cost only for the commitment (1.3+): what the
    // term consumed before the window.
    let daily = if for_export && cfg.version == FocusVersion::V1_2 {
        Vec::new()
    } else {
        api.daily_cost(&sub_uuid, &cfg.sync.filter).await?
    };
    let query = EnvQuery {
        start_ms: window.0 * ms_per_day(),
        end_ms: window.1 * ms_per_day(),
        filter: cfg.sync.filter.clone(),
        page_size: MAX_V3_PAGE_SIZE,
    };
    let environments = api.environment_cost(&sub_uuid, &query).await?;
    let usage = if for_export {
        api.environment_usage(&sub_uuid, &query).await?
    } else {
        Vec::new()
    };
    let dynatrace_forecast = if for_export {
        None
    } else {
        match api.forecast().await {
            Ok(f) => Some(f),
            Err(e) => {
                warnings.push(format!(
                    "account {uuid}: the Dynatrace forecast is not shown ({}: {})",
                    e.code(),
                    e
                ));
                None
            }
        }
    };
    let mut environment_names = BTreeMap::new();
    match api.environments().await {
        Ok(list) => {
            for e in list {
                if let Some(n) = e.name.filter(|n| !n.is_empty()) {
                    environment_names.insert(e.id, n);
                }
            }
        }
        Err(e) => warnings.push(format!(
            "account {uuid}: environment names are not shown ({})",
            e.code()
        )),
    }
    if for_export && account.name.is_none() {
        warnings.push(format!(
            "account {uuid}: no name configured, so BillingAccountName repeats the account id \
             (FOCUS: BillingAccountName MUST NOT be null when the provider supports account \
             display names; set the account's `name`)"
        ));
    }
    let account_name = account.name.clone().unwrap_or_else(|| uuid.clone());
    Ok(Fetched {
        data: AccountData {
            account_uuid: uuid,
            account_name,
            subscription,
            daily,
            environments,
            environment_names,
            dynatrace_forecast,
        },
        usage,
        subscription_uuid: sub_uuid,
    })
}

async fn fetch_all<C: HttpClient>(
    http: &C,
    clock: &dyn Clock,
    cfg: &ReportConfig,
    for_export: bool,
) -> Result<(Vec<Fetched>, Vec<String>, i64)> {
    let now_ms = cfg.sync.now_ms.unwrap_or_else(|| clock.now_ms());
    let window = cfg.window(now_ms);
    let mut warnings = Vec::new();
    let mut out = Vec::with_capacity(cfg.sync.accounts.len());
    for account in &cfg.sync.accounts {
        out.push(
            fetch_account(http, clock, cfg, account, window, for_export, &mut warnings).await?,
        );
    }
    Ok((out, warnings, now_ms))
}

/// Cost lines of every account (tags per `costLines`), in account order.
fn lines_of(fetched: &[Fetched], cfg: &ReportConfig) -> Result<Vec<CostLine>> {
    let mut lines = Vec::new();
    for f in fetched {
        let currency = f
            .data
            .subscription
            .budget
            .as_ref()
            .and_then(|b| b.currency_code.clone());
        lines.extend(cost_lines(&CostLinesInput {
            account_uuid: f.data.account_uuid.clone(),
            subscription_uuid: f.subscription_uuid.clone(),
            account_name: Some(f.data.account_name.clone()),
            environments: f.data.environments.clone(),
            breakdown: None,
            environment_tags: cfg.environment_tags.clone(),
            currency,
        })?);
    }
    Ok(lines)
}

fn allocation_of(lines: Vec<CostLine>, cfg: &ReportConfig) -> Result<Option<AllocationResult>> {
    let Some(rules) = &cfg.rules else {
        return Ok(None);
    };
    let rules = parse_rules(&rules.to_string())?;
    Ok(Some(allocate(&AllocationInput {
        lines,
        rules,
        drivers: Default::default(),
    })?))
}

/// The report of every account (see the module documentation).
pub async fn report_data<C: HttpClient>(
    http: &C,
    clock: &dyn Clock,
    cfg: &ReportConfig,
) -> Result<ReportData> {
    let (fetched, warnings, now_ms) = fetch_all(http, clock, cfg, false).await?;
    let allocation = if cfg.rules.is_some() {
        allocation_of(lines_of(&fetched, cfg)?, cfg)?
    } else {
        None
    };
    let (start, end) = cfg.window(now_ms);
    build_report(&ReportInput {
        accounts: fetched.into_iter().map(|f| f.data).collect(),
        allocation,
        now_ms,
        window_days: u32::try_from(end - start).unwrap_or(35),
        warnings,
    })
}

/// The FOCUS rows of every account's per-environment cost in the window (allocated by `rules`
/// when given), with the warnings.
pub async fn export_focus<C: HttpClient>(
    http: &C,
    clock: &dyn Clock,
    cfg: &ReportConfig,
) -> Result<(FocusTable, Vec<String>)> {
    let (fetched, warnings, now_ms) = fetch_all(http, clock, cfg, true).await?;
    let (lines, ctx) = export_input(&fetched, cfg, now_ms)?;
    let allocation = allocation_of(lines.clone(), cfg)?;
    if cfg.dataset == FocusDataset::ContractCommitment {
        // The applied cost of the rows the Cost and Usage export of the same options writes.
        let applied = match &allocation {
            Some(result) => applied_per_term(
                &ctx.commitments,
                result.lines.iter().filter_map(|l| {
                    Some((
                        l.tags.get("subscription").map(String::as_str),
                        parse_date(&l.date)?,
                        i128::from(l.cost_micros),
                    ))
                }),
            ),
            None => applied_per_term(
                &ctx.commitments,
                lines.iter().filter_map(|l| {
                    Some((
                        l.tags.get("subscription").map(String::as_str),
                        parse_date(&l.date)?,
                        crate::allocate::money::micros_from_f64(l.cost)?,
                    ))
                }),
            ),
        };
        let table = commitment_table(&ctx.commitments, &applied, cfg.version, now_ms)?;
        return Ok((table, warnings));
    }
    let table = match allocation {
        Some(result) => focus_from_allocation(&result, &ctx)?,
        None => focus_from_lines(&lines, &ctx)?,
    };
    Ok((table, warnings))
}

/// The Cost and Usage rows of `export_focus` without rules, as [`LineRows`] (CSV, a chunk at a
/// time): what the Workflow's delivery sends. The same requests, lines and context as the
/// export, so the same bytes; the allocation engine is not linked. With the warnings.
pub async fn export_rows<C: HttpClient>(
    http: &C,
    clock: &dyn Clock,
    cfg: &ReportConfig,
) -> Result<(LineRows, Vec<String>)> {
    let (fetched, warnings, now_ms) = fetch_all(http, clock, cfg, true).await?;
    let (lines, ctx) = export_input(&fetched, cfg, now_ms)?;
    drop(fetched);
    Ok((LineRows::new(lines, ctx, false)?, warnings))
}

/// The cost lines of the fetched accounts and the context of their rows (names, usage, the
/// commitment terms the rows draw down).
fn export_input(
    fetched: &[Fetched],
    cfg: &ReportConfig,
    now_ms: i64,
) -> Result<(Vec<CostLine>, FocusContext)> {
    let mut ctx = FocusContext {
        version: cfg.version,
        ..FocusContext::default()
    };
    if cfg.version != FocusVersion::V1_2 {
        let (start, _) = cfg.window(now_ms);
        for f in fetched {
            ctx.commitments.extend(terms_of(f, start)?);
        }
    }
    let mut usage: HashMap<(String, String, String), (f64, String)> = HashMap::default();
    for f in fetched {
        for (id, name) in &f.data.environment_names {
            ctx.environment_names.insert(id.clone(), name.clone());
        }
        for env in &f.data.environments {
            for r in &env.records {
                if let Some(n) = &r.capability_name {
                    ctx.capability_names
                        .insert(r.capability_key.clone(), n.clone());
                }
            }
        }
        for env in &f.usage {
            for r in &env.records {
                let Some(day) = parse_timestamp_ms(&r.start_time) else {
                    continue;
                };
                let date = format_date(day.div_euclid(ms_per_day()));
                let unit = r.unit_measure.clone().unwrap_or_default();
                if unit.is_empty() || !r.value.is_finite() {
                    continue;
                }
                let slot = usage
                    .entry((env.environment_id.clone(), r.capability_key.clone(), date))
                    .or_insert((0.0, unit));
                slot.0 += r.value;
            }
        }
    }
    ctx.usage = usage;
    let lines = lines_of(fetched, cfg)?;
    Ok((lines, ctx))
}

/// The commitment terms of one account's subscription (`export::contract_commitment`): its
/// `periods`, else its current period, else its own start and end; the budget and currency of
/// `budget` (the API gives one budget: each term is taken to commit it); what each term consumed
/// before `window_start` from the subscription's daily cost; `budget.used` for the current term.
fn terms_of(f: &Fetched, window_start: i64) -> Result<Vec<CommitmentTerm>> {
    let s = &f.data.subscription;
    let Some(currency) = s.budget.as_ref().and_then(|b| b.currency_code.clone()) else {
        return Ok(Vec::new());
    };
    let date = |v: &Option<String>| {
        v.as_deref().and_then(|t| {
            parse_date(t).or_else(|| parse_timestamp_ms(t).map(|ms| ms.div_euclid(ms_per_day())))
        })
    };
    let mut periods: Vec<(i64, i64)> = s
        .periods
        .iter()
        .flatten()
        .filter_map(|p| Some((date(&p.start_time)?, date(&p.end_time)?)))
        .collect();
    let current = s
        .current_period
        .as_ref()
        .and_then(|p| Some((date(&p.start_time)?, date(&p.end_time)?)));
    if periods.is_empty() {
        periods.extend(current.or_else(|| Some((date(&s.start_time)?, date(&s.end_time)?))));
    }
    periods.sort_unstable();
    periods.dedup();
    let contract_start = date(&s.start_time).or(periods.first().map(|p| p.0));
    let contract_end = date(&s.end_time).or(periods.last().map(|p| p.1));
    let mut inputs = Vec::with_capacity(periods.len());
    for (start, end) in periods {
        let mut before = crate::money::Amount::ZERO;
        for r in &f.data.daily {
            let Some(day) = date(&Some(r.start_time.clone())) else {
                continue;
            };
            if day >= start && day < window_start && day <= end {
                before = before
                    .checked_add(crate::money::Amount::from_f64(r.value).unwrap_or_default())
                    .unwrap_or(before);
            }
        }
        let is_current = current.is_some_and(|c| c.0 == start);
        inputs.push(CommitmentTermInput {
            subscription_uuid: f.subscription_uuid.clone(),
            account_uuid: f.data.account_uuid.clone(),
            subscription_name: s.name.clone(),
            start: format_date(start),
            end: format_date(end),
            contract_start: contract_start.map(format_date),
            contract_end: contract_end.map(format_date),
            budget: s.budget.as_ref().and_then(|b| b.total),
            currency: currency.clone(),
            consumed_before: Some(before.to_f64()),
            used: if is_current {
                s.budget.as_ref().and_then(|b| b.used)
            } else {
                None
            },
        });
    }
    check_terms(&inputs, "subscription.periods")
}
