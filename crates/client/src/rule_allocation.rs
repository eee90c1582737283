//! Allocation by Datadog custom allocation rules inside the sync (the Workflow's `allocation`
//! block, `sync({allocation})`): what to allocate with and how the result is reported.
//!
//! - The rules come inline (any shape [`parse_rules`] reads) or from Datadog (`GET
//!   /api/v2/cost/arbitrary_rule`, once per run, with [`DatadogApi`] and its 429 /
//!   `X-RateLimit-Reset` handling). Every enabled rule is validated before any event is sent:
//!   inline rules when the configuration is validated (`RULE_INVALID` before any request),
//!   fetched ones right after the fetch, before any account starts.
//! - The lines are the window's per-environment cost ([`cost_lines`], the tag model of
//!   `reference/allocation.md` §2h), split by the cost-center (or product) breakdown when the
//!   `allocation` family reads it: [`LineCollector`] keeps the cost records of the window
//!   (trimmed) until an environment's breakdown has been read, then turns that environment into
//!   compact lines ([`CompactLines`]), so memory holds the compact lines and one environment's
//!   records, not every `CostLine`.
//! - The engine ([`AllocationStream`](crate::allocate::AllocationStream)) gives each output line to [`EventSink`], which turns the
//!   allocated and unallocated ones into `dps.cost.allocated` events ([`cost_allocated_event`]:
//!   deterministic ids, so a re-run sends the same ids).
//! - [`RuleAllocationSummary`]: per currency, input and output in micro-units and whether they
//!   are equal; a warning when the rules allocated nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::allocate::compact::{CompactLines, Strings};
use crate::allocate::lines::{cost_lines, Breakdown, CostLinesInput, EnvironmentBreakdown};
use crate::allocate::money::micros_to_string;
use crate::allocate::sink::{LineSink, OutLine};
use crate::allocate::{parse_rules, validate_rule, AllocationSummary, ArbitraryRule, LineStatus};
use crate::api::datadog::{api_base, DatadogApi};
use crate::auth::Secret;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::events::allocation::cost_allocated_event;
use crate::http::{BaseUrl, HttpClient, RetryPolicy};
use crate::ingest::PreparedEvent;
use crate::model::allocation::{AllocationField, AllocationRecord};
use crate::model::usage::{EnvCostRecord, EnvironmentRecords};

/// The `allocation` option as the caller gives it: `rules` (Datadog's JSON) or `datadog` (keys
/// and site), and the breakdown the lines are split by.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[cfg_attr(feature = "tsify", tsify(rename = "SyncAllocation"))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleAllocationOptions {
    /// Datadog custom allocation rules: `{"data": [rules]}`, `{"data": rule}` or `[rules]`.
    #[serde(default)]
    #[cfg_attr(feature = "tsify", tsify(optional, type = "unknown"))]
    pub rules: Option<serde_json::Value>,
    /// Fetch the rules from Datadog instead.
    #[serde(default)]
    #[cfg_attr(feature = "tsify", tsify(optional, type = "SyncAllocationDatadog"))]
    pub datadog: Option<DatadogRuleSource>,
    /// `COSTCENTER` (default), `PRODUCT` or `NONE`: the cost-allocation breakdown that tags the
    /// lines (`costcenter` / `product`) when the `allocation` family is on.
    #[serde(default)]
    #[cfg_attr(
        feature = "tsify",
        tsify(optional, type = "\"COSTCENTER\" | \"PRODUCT\" | \"NONE\"")
    )]
    pub breakdown: Option<String>,
}

/// Datadog keys and site (the Workflow action reads them from the credential vault).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[cfg_attr(feature = "tsify", tsify(rename = "SyncAllocationDatadog"))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DatadogRuleSource {
    pub api_key: Secret,
    pub application_key: Secret,
    /// `datadoghq.com` (default), `datadoghq.eu`, `us3`, `us5`, `ap1`, …
    #[serde(default)]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub site: Option<String>,
    /// Instead of `site`: an explicit API base (https, or http on loopback: the emulator).
    #[serde(default)]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub base_url: Option<String>,
}

/// Where the rules come from, validated.
#[derive(Debug, Clone)]
pub enum RuleSource {
    Inline(Vec<ArbitraryRule>),
    Datadog {
        base: BaseUrl,
        api_key: Secret,
        application_key: Secret,
    },
}

/// A validated [`RuleAllocationOptions`].
#[derive(Debug, Clone)]
pub struct RuleAllocationConfig {
    pub source: RuleSource,
    /// The breakdown field; `None`: lines are not split by cost center or product.
    pub breakdown: Option<AllocationField>,
}

impl RuleAllocationOptions {
    /// Checks everything before any request: one source, inline rules parsed and validated
    /// (`RULE_INVALID` naming the rule and the field), keys well formed, the site known.
    pub fn validate(self) -> Result<RuleAllocationConfig> {
        let breakdown = match self.breakdown.as_deref() {
            None => Some(AllocationField::Costcenter),
            Some(b) if b.eq_ignore_ascii_case("none") => None,
            Some(b) => Some(AllocationField::parse(b).map_err(|_| {
                Error::invalid(
                    "allocation.breakdown",
                    "must be COSTCENTER, PRODUCT or NONE",
                )
            })?),
        };
        let source = match (self.rules, self.datadog) {
            (Some(rules), None) => {
                let rules = parse_rules(&rules.to_string())?;
                check_rules(&rules)?;
                RuleSource::Inline(rules)
            }
            (None, Some(d)) => {
                for (field, key) in [
                    ("allocation.datadog.apiKey", &d.api_key),
                    ("allocation.datadog.applicationKey", &d.application_key),
                ] {
                    let k = key.expose();
                    if k.trim().is_empty() || k.chars().any(|c| c.is_control() || c.is_whitespace())
                    {
                        return Err(Error::invalid(
                            field,
                            "must be a non-empty key without white space",
                        ));
                    }
                }
                RuleSource::Datadog {
                    base: api_base(d.site.as_deref(), d.base_url.as_deref())?,
                    api_key: d.api_key,
                    application_key: d.application_key,
                }
            }
            _ => return Err(Error::invalid(
                "allocation",
                "give exactly one of `rules` (Datadog's rule JSON) and `datadog` (keys and site)",
            )),
        };
        Ok(RuleAllocationConfig { source, breakdown })
    }
}

/// Every enabled rule validated (disabled rules are never run, as in the engine).
pub fn check_rules(rules: &[ArbitraryRule]) -> Result<()> {
    rules
        .iter()
        .filter(|r| r.enabled())
        .try_for_each(validate_rule)
}

/// The rules of `cfg`: inline, or fetched from Datadog and validated. A 401/403 from Datadog
/// says that the keys were refused (code `UNAUTHORIZED` / `FORBIDDEN`, never a key).
pub async fn resolve_rules<C: HttpClient>(
    http: &C,
    clock: &dyn Clock,
    cfg: &RuleAllocationConfig,
    retry: RetryPolicy,
) -> Result<Vec<ArbitraryRule>> {
    let (base, api_key, application_key) = match &cfg.source {
        RuleSource::Inline(rules) => return Ok(rules.clone()),
        RuleSource::Datadog {
            base,
            api_key,
            application_key,
        } => (base, api_key, application_key),
    };
    let api = DatadogApi::new(
        http,
        clock,
        base.clone(),
        api_key.clone(),
        application_key.clone(),
    )?
    .with_retry(retry);
    let body = api.list_rules_json().await.map_err(|e| match e {
        Error::Http {
            status: status @ (401 | 403),
            method,
            endpoint,
            message,
            retry_after_secs,
        } => Error::Http {
            status,
            method,
            endpoint,
            message: format!(
                "Datadog refused the API key or application key ({message}); check the \
                 credential vault entry (username = API key, password = application key, with \
                 cloud_cost_management_read) and the site"
            ),
            retry_after_secs,
        },
        other => other,
    })?;
    let rules = parse_rules(&body)?;
    check_rules(&rules)?;
    Ok(rules)
}

/// The window's per-environment cost, collected as it is paged, turned into compact lines one
/// environment at a time (see the module).
pub struct LineCollector {
    input: CostLinesInput,
    /// Breakdown field (`None`: no split).
    breakdown: Option<AllocationField>,
    lines: CompactLines,
}

impl LineCollector {
    pub fn new(
        account_uuid: &str,
        account_name: &str,
        subscription_uuid: &str,
        breakdown: Option<AllocationField>,
    ) -> Self {
        LineCollector {
            input: CostLinesInput {
                account_uuid: account_uuid.to_string(),
                subscription_uuid: subscription_uuid.to_string(),
                account_name: Some(account_name.to_string()),
                environments: Vec::new(),
                breakdown: None,
                environment_tags: BTreeMap::new(),
                currency: None,
            },
            breakdown,
            lines: CompactLines::new(),
        }
    }

    /// The breakdown field whose records [`LineCollector::add_environment`] wants.
    pub fn breakdown(&self) -> Option<AllocationField> {
        self.breakdown
    }

    /// One cost record of a page (only what [`cost_lines`] reads is kept).
    pub fn push(&mut self, env: &str, cluster: Option<&str>, r: &EnvCostRecord) {
        let record = EnvCostRecord {
            start_time: r.start_time.clone(),
            end_time: None,
            value: r.value,
            currency_code: r.currency_code.clone(),
            capability_key: r.capability_key.clone(),
            capability_name: None,
            booking_date: None,
        };
        let envs = &mut self.input.environments;
        match envs
            .iter_mut()
            .find(|e| e.environment_id == env && e.cluster_id.as_deref() == cluster)
        {
            Some(e) => e.records.push(record),
            None => envs.push(EnvironmentRecords {
                cluster_id: cluster.map(str::to_string),
                environment_id: env.to_string(),
                records: vec![record],
            }),
        }
    }

    /// Turns the records of `env` into compact lines, split by `breakdown` (that environment's
    /// records of the breakdown field), and drops them.
    pub fn add_environment(
        &mut self,
        env: &str,
        breakdown: Option<Vec<AllocationRecord>>,
    ) -> Result<()> {
        let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.input.environments)
            .into_iter()
            .partition(|e| e.environment_id == env);
        self.input.environments = mine;
        self.input.breakdown = match (self.breakdown, breakdown) {
            (Some(field), Some(records)) => Some(Breakdown {
                field: field.as_str().to_string(),
                environments: vec![EnvironmentBreakdown {
                    environment_id: env.to_string(),
                    records,
                }],
            }),
            _ => None,
        };
        let out = cost_lines(&self.input);
        self.input.environments = rest;
        self.input.breakdown = None;
        for l in out? {
            self.lines
                .push(l.id.as_deref(), &l.date, l.cost, &l.currency, &l.tags);
        }
        Ok(())
    }

    /// The compact lines: every environment not added yet is added without a breakdown.
    pub fn finish(mut self) -> Result<CompactLines> {
        while let Some(env) = self
            .input
            .environments
            .first()
            .map(|e| e.environment_id.clone())
        {
            self.add_environment(&env, None)?;
        }
        Ok(self.lines)
    }
}

/// Turns the engine's output lines into `dps.cost.allocated` events (unchanged lines are not
/// events), serialized once.
#[derive(Default)]
pub struct EventSink {
    pub events: Vec<PreparedEvent>,
}

impl LineSink for EventSink {
    fn line(&mut self, strings: &Strings, line: &OutLine<'_>) -> Result<()> {
        if line.status == LineStatus::Unchanged {
            return Ok(());
        }
        if let Some(e) = cost_allocated_event(&line.to_allocated(strings)) {
            self.events
                .push(PreparedEvent::from_serialize(Some(&e.event_id), &e)?);
        }
        Ok(())
    }
}

/// One currency's totals: what went in and what came out, exact.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct ConservedTotals {
    /// Input, output, allocated and unallocated cost as exact decimals (`"1234.567890"`).
    pub input: String,
    pub output: String,
    pub allocated: String,
    pub unallocated: String,
    #[cfg_attr(feature = "tsify", tsify(type = "number"))]
    pub input_micros: i128,
    #[cfg_attr(feature = "tsify", tsify(type = "number"))]
    pub output_micros: i128,
    /// Output equals input to the micro-unit.
    pub equal: bool,
}

/// What the rule allocation of one account did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct RuleAllocationSummary {
    /// `inline` or `datadog`.
    pub source: &'static str,
    /// Enabled rules.
    pub rules: usize,
    /// Source lines (environment × capability × day, × cost center with the breakdown).
    pub lines: usize,
    pub lines_allocated: usize,
    pub lines_unallocated: usize,
    /// Per currency.
    pub totals: BTreeMap<String, ConservedTotals>,
    /// E.g. that the rules allocated nothing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "tsify", tsify(optional))]
    pub warnings: Vec<String>,
}

impl RuleAllocationSummary {
    /// From the engine's summary; `rules`: the rule set run.
    pub fn of(
        cfg: &RuleAllocationConfig,
        rules: &[ArbitraryRule],
        lines: usize,
        s: &AllocationSummary,
    ) -> Self {
        // (currency, allocated, unallocated): a handful of currencies at most.
        let mut split: Vec<(&str, i128, i128)> = Vec::new();
        for r in &s.rules {
            for (cur, c) in &r.costs {
                let i = match split.iter().position(|e| e.0 == cur) {
                    Some(i) => i,
                    None => {
                        split.push((cur, 0, 0));
                        split.len() - 1
                    }
                };
                split[i].1 += c.allocated_micros;
                split[i].2 += c.unallocated_micros;
            }
        }
        let totals: BTreeMap<String, ConservedTotals> =
            crate::allocate::order::map_of(s.totals.iter().map(|(cur, t)| {
                let (a, u) = split
                    .iter()
                    .find(|e| e.0 == cur)
                    .map_or((0, 0), |e| (e.1, e.2));
                (
                    cur.clone(),
                    ConservedTotals {
                        input: micros_to_string(t.input_micros),
                        output: micros_to_string(t.output_micros),
                        allocated: micros_to_string(a),
                        unallocated: micros_to_string(u),
                        input_micros: t.input_micros,
                        output_micros: t.output_micros,
                        equal: t.input_micros == t.output_micros,
                    },
                )
            }));
        let enabled = rules.iter().filter(|r| r.enabled()).count();
        let lines_allocated = s.rules.iter().map(|r| r.lines_allocated).sum();
        let mut warnings = Vec::new();
        if split.iter().all(|e| e.1 == 0) {
            let matched: usize = s.rules.iter().map(|r| r.lines_matched).sum();
            warnings.push(if enabled == 0 {
                "the rule set has no enabled rule: nothing was allocated".to_string()
            } else if matched == 0 {
                format!(
                    "no rule allocated anything: none of the {enabled} enabled rule(s) matched \
                     any of the {lines} line(s) (check each rule's provider, dynatrace, and its \
                     costs_to_allocate tags)"
                )
            } else {
                format!(
                    "no rule allocated anything: {matched} line(s) matched, but every one stayed \
                     unallocated (no destination with a weight; see allocation_reason)"
                )
            });
        }
        RuleAllocationSummary {
            source: match cfg.source {
                RuleSource::Inline(_) => "inline",
                RuleSource::Datadog { .. } => "datadog",
            },
            rules: enabled,
            lines,
            lines_allocated,
            lines_unallocated: s.rules.iter().map(|r| r.lines_unallocated).sum(),
            totals,
            warnings,
        }
    }
}
