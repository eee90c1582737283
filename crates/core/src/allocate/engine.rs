//! The allocation engine (contract §2): cost lines in, allocated lines out, money conserved to
//! the micro-unit. Pure: no I/O, no clock.
//!
//! Per source line (one day, one currency): its owner is the first enabled rule (§2a order)
//! whose `provider` contains the line's `provider` tag and whose `costs_to_allocate` all hold
//! (§2b). The owner splits the line over its destinations by the method's weights (computed per
//! day or per calendar month, per partition); what cannot be split stays as an `unallocated`
//! line with a reason (§2e). Output order: input line order, each source line's allocated lines
//! in destination value order, then its unallocated remainder.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::filter::matches_all;
use super::money::{
    bound_weights, largest_remainder, micros_from_f64, micros_to_f64, ONE_SHARE, SHARE_TOLERANCE,
};
use super::rules::{rule_order, ArbitraryRule, Filter, Strategy};
use super::summary::{DestinationSummary, DestinationTotals};
use super::validate::{query_group_by, validate_rule};
use crate::error::{Error, Result};
use crate::money::Amount;
use crate::time::{civil_from_days, parse_date};

/// Tag: the rule that allocated the line (Datadog's result tag).
pub const TAG_RULE: &str = "allocated_by_rule";
/// Tag: that rule's id.
pub const TAG_RULE_ID: &str = "allocated_by_rule_id";
/// Tag: that rule's method.
pub const TAG_METHOD: &str = "allocation_method";
/// Tag: the line's share of the source line (decimal text).
pub const TAG_RATIO: &str = "allocation_ratio";
/// Tag: `allocated` or `unallocated`.
pub const TAG_STATUS: &str = "allocation_status";
/// Tag: why cost stayed unallocated.
pub const TAG_REASON: &str = "allocation_reason";
/// Every tag the engine adds to an output line (left out where the source tags are wanted).
pub const AUDIT_TAGS: [&str; 6] = [
    TAG_RULE,
    TAG_RULE_ID,
    TAG_METHOD,
    TAG_RATIO,
    TAG_STATUS,
    TAG_REASON,
];

/// Largest |cost| accepted per line (keeps every product of the split inside i128).
pub const MAX_COST: f64 = 1e12;

/// One input cost line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct CostLine {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub cost: f64,
    pub currency: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// One point of a driver series (`proportional_timeseries`): the metric value of one group on
/// one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct DriverPoint {
    pub date: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    pub value: f64,
}

/// Driver series keyed by query name (or by formula text).
pub type Drivers = BTreeMap<String, Vec<DriverPoint>>;

/// Everything [`allocate`] needs. `rules` are Datadog rule objects (`{id, type, attributes}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AllocationInput {
    pub lines: Vec<CostLine>,
    #[serde(default)]
    pub rules: Vec<ArbitraryRule>,
    #[serde(default)]
    pub drivers: Drivers,
}

/// What became of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub enum LineStatus {
    /// No rule matched: the input line, unchanged.
    Unchanged,
    /// A share of a source line given to a destination.
    Allocated,
    /// Cost a rule owned but could not allocate.
    Unallocated,
}

/// One output line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct AllocatedLine {
    /// Index of the source line in the input.
    pub source_index: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    pub date: String,
    /// The nearest `f64` to `cost_micros` × 10⁻⁶.
    pub cost: f64,
    /// Exact cost in micro-units of the currency.
    pub cost_micros: i64,
    pub currency: String,
    /// Source tags, then destination tags, then the audit tags.
    pub tags: BTreeMap<String, String>,
    pub status: LineStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The share of the source line (weight / total weight).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Allocated lines: the destination tags the rule gave the line (also in `tags`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub destination_tags: BTreeMap<String, String>,
}

/// Matched, allocated and unallocated cost of one rule in one currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct CostTotals {
    pub matched_micros: i128,
    pub allocated_micros: i128,
    pub unallocated_micros: i128,
}

/// Per-rule summary, in execution order (disabled rules last, with `position: None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct RuleSummary {
    pub rule_id: String,
    pub rule_name: String,
    pub method: String,
    pub enabled: bool,
    /// 0-based place in the execution order; `None` for disabled rules.
    pub position: Option<usize>,
    pub lines_matched: usize,
    /// Allocated output lines produced.
    pub lines_allocated: usize,
    /// Source lines (or remainders) left unallocated.
    pub lines_unallocated: usize,
    /// Per currency.
    pub costs: BTreeMap<String, CostTotals>,
}

/// Input and output totals per currency (always equal; checked).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct CurrencyTotals {
    pub input_micros: i128,
    pub output_micros: i128,
}

/// The result of [`allocate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllocationResult {
    pub lines: Vec<AllocatedLine>,
    pub rules: Vec<RuleSummary>,
    pub totals: BTreeMap<String, CurrencyTotals>,
    /// What each destination received, per rule (execution order) and destination tags.
    #[serde(default)]
    pub destinations: Vec<DestinationSummary>,
}

/// A prepared source line: exact micro-units, day and month, and its owner (index into the
/// enabled rules in execution order).
struct Prepared {
    micros: i128,
    day: i64,
    month: i64,
    owner: Option<usize>,
}

struct Point<'a> {
    tags: &'a BTreeMap<String, String>,
    units: i128,
    day: i64,
    month: i64,
}

/// Weights of one (window, partition, currency) group: destination values → weight.
type Weights = BTreeMap<Vec<String>, i128>;
type GroupKey = (i64, Vec<Option<String>>, String);

/// A rule's weights: the destination keys, the weights per group, and whether a driver series
/// was found (timeseries methods).
struct RuleWeights {
    keys: Vec<String>,
    groups: BTreeMap<GroupKey, Weights>,
    has_driver: bool,
}

/// A rule's plan for one source line.
enum Plan {
    Split {
        /// Destination tags, in destination value order.
        dests: Vec<Vec<(String, String)>>,
        weights: Vec<i128>,
        denominator: i128,
        /// Reason for any remainder (percent < 1).
        remainder_reason: &'static str,
    },
    Unallocated(String),
}

/// What [`AllocationStream::finish`] returns: everything of an [`AllocationResult`] but the
/// lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct AllocationSummary {
    pub rules: Vec<RuleSummary>,
    pub totals: BTreeMap<String, CurrencyTotals>,
    pub destinations: Vec<DestinationSummary>,
}

/// The allocation as a stream: [`AllocationStream::new`] makes the first pass (lines and driver
/// points checked, rules validated, owners found, every owning rule's weights computed); then
/// [`AllocationStream::next_source`] produces the output lines of one source line at a time, in
/// [`allocate`]'s order, accumulating the rule summaries, destination totals and currency
/// totals as it goes; [`AllocationStream::finish`] checks conservation and returns them. No
/// output line is kept: memory is the input plus the weights.
///
/// `input` may be borrowed (what [`allocate`] does) or owned (`AllocationStream<'static>`, for a
/// stream that outlives its caller's frame).
pub struct AllocationStream<'a> {
    input: Cow<'a, AllocationInput>,
    prepared: Vec<Prepared>,
    /// Enabled rules in execution order (indices into `input.rules`).
    enabled: Vec<usize>,
    /// Weights of every rule that owns a line, by position in `enabled`.
    weights: BTreeMap<usize, RuleWeights>,
    summaries: Vec<RuleSummary>,
    totals: BTreeMap<String, CurrencyTotals>,
    dest_totals: DestinationTotals,
    next: usize,
    finished: bool,
}

/// Applies `rules` to `lines` (contract §2). Enabled rules are validated first (`RULE_INVALID`);
/// lines and driver points with a bad date or a non-finite cost are `INVALID_INPUT` naming
/// `lines[i].cost` / `drivers.<query>[i].value`. The same as draining an [`AllocationStream`].
pub fn allocate(input: &AllocationInput) -> Result<AllocationResult> {
    let mut stream = AllocationStream::new(Cow::Borrowed(input))?;
    let mut lines = Vec::with_capacity(input.lines.len());
    while stream.next_source(&mut lines)? {}
    let AllocationSummary {
        rules,
        totals,
        destinations,
    } = stream.finish()?;
    Ok(AllocationResult {
        lines,
        rules,
        totals,
        destinations,
    })
}

impl<'a> AllocationStream<'a> {
    /// The first pass (see the type). Errors as [`allocate`]'s.
    pub fn new(input: Cow<'a, AllocationInput>) -> Result<AllocationStream<'a>> {
        let mut prepared = prepare_lines(&input.lines)?;
        let points = prepare_drivers(&input.drivers)?;

        let mut enabled: Vec<usize> = (0..input.rules.len())
            .filter(|&i| input.rules[i].enabled())
            .collect();
        enabled.sort_by(|&a, &b| rule_order(&input.rules[a], &input.rules[b]));
        for &r in &enabled {
            validate_rule(&input.rules[r])?;
        }
        let mut disabled: Vec<usize> = (0..input.rules.len())
            .filter(|&i| !input.rules[i].enabled())
            .collect();
        disabled.sort_by(|&a, &b| rule_order(&input.rules[a], &input.rules[b]));

        // §2b: first match wins.
        for (p, line) in prepared.iter_mut().zip(&input.lines) {
            p.owner = enabled
                .iter()
                .position(|&r| rule_matches(&input.rules[r], &line.tags));
        }

        let summaries: Vec<RuleSummary> = enabled
            .iter()
            .enumerate()
            .map(|(i, &r)| summary_of(&input.rules[r], Some(i)))
            .chain(disabled.iter().map(|&r| summary_of(&input.rules[r], None)))
            .collect();

        // Weights per rule, built once for rules that own a line.
        let mut weights: BTreeMap<usize, RuleWeights> = BTreeMap::new();
        for p in &prepared {
            if let Some(ri) = p.owner {
                if let std::collections::btree_map::Entry::Vacant(slot) = weights.entry(ri) {
                    let rule = &input.rules[enabled[ri]];
                    slot.insert(rule_weights(
                        rule,
                        ri,
                        &input.lines,
                        &prepared,
                        &points,
                        &input.drivers,
                    ));
                }
            }
        }
        drop(points);
        Ok(AllocationStream {
            input,
            prepared,
            enabled,
            weights,
            summaries,
            totals: BTreeMap::new(),
            dest_totals: DestinationTotals::default(),
            next: 0,
            finished: false,
        })
    }

    /// The input the stream allocates.
    pub fn input(&self) -> &AllocationInput {
        &self.input
    }

    /// Number of source lines.
    pub fn source_lines(&self) -> usize {
        self.prepared.len()
    }

    /// Index of the next source line (= source lines done).
    pub fn position(&self) -> usize {
        self.next
    }

    /// Whether every source line has been produced.
    pub fn is_done(&self) -> bool {
        self.next >= self.prepared.len()
    }

    /// Appends the output lines of the next source line to `out`; `false` when every source
    /// line has been produced (nothing appended).
    pub fn next_source(&mut self, out: &mut Vec<AllocatedLine>) -> Result<bool> {
        let i = self.next;
        let Some(p) = self.prepared.get(i) else {
            return Ok(false);
        };
        self.next += 1;
        let input: &AllocationInput = &self.input;
        let line = &input.lines[i];
        let start = out.len();
        let totals = match self.totals.get_mut(&line.currency) {
            Some(t) => t,
            None => self.totals.entry(line.currency.clone()).or_default(),
        };
        totals.input_micros += p.micros;
        match p.owner {
            None => {
                out.push(output_line(
                    i,
                    line,
                    p.micros,
                    line.tags.clone(),
                    LineStatus::Unchanged,
                )?);
            }
            Some(ri) => {
                let rule = &input.rules[self.enabled[ri]];
                let Some(weights) = self.weights.get(&ri) else {
                    return Err(Error::Internal {
                        message: format!("line {i}: no weights for rule {}", rule.id),
                    });
                };
                let plan = plan_for(rule, p, line, weights);
                let summary = &mut self.summaries[ri];
                summary.lines_matched += 1;
                let totals_rule = summary.costs.entry(line.currency.clone()).or_default();
                totals_rule.matched_micros += p.micros;
                match plan {
                    Plan::Unallocated(reason) => {
                        let tags = audit_tags(&line.tags, &[], rule, None, Some(&reason));
                        let mut l = output_line(i, line, p.micros, tags, LineStatus::Unallocated)?;
                        set_rule(&mut l, rule, None, Some(reason));
                        totals_rule.unallocated_micros += p.micros;
                        summary.lines_unallocated += 1;
                        out.push(l);
                    }
                    Plan::Split {
                        dests,
                        weights,
                        denominator,
                        remainder_reason,
                    } => {
                        let shares = largest_remainder(p.micros, &weights, denominator);
                        let mut allocated = 0i128;
                        for ((dest, w), share) in dests.into_iter().zip(&weights).zip(&shares) {
                            let ratio = *w as f64 / denominator as f64;
                            let tags = audit_tags(&line.tags, &dest, rule, Some(ratio), None);
                            let mut l = output_line(i, line, *share, tags, LineStatus::Allocated)?;
                            set_rule(&mut l, rule, Some(ratio), None);
                            allocated += share;
                            self.dest_totals.add(ri, &dest, &line.currency, *share);
                            l.destination_tags = dest.into_iter().collect();
                            summary.lines_allocated += 1;
                            out.push(l);
                        }
                        totals_rule.allocated_micros += allocated;
                        let rest = p.micros - allocated;
                        let weight_sum: i128 = weights.iter().sum();
                        if rest != 0 || weight_sum < denominator {
                            let ratio = (denominator - weight_sum) as f64 / denominator as f64;
                            let reason = remainder_reason.to_string();
                            let tags =
                                audit_tags(&line.tags, &[], rule, Some(ratio), Some(&reason));
                            let mut l = output_line(i, line, rest, tags, LineStatus::Unallocated)?;
                            set_rule(&mut l, rule, Some(ratio), Some(reason));
                            totals_rule.unallocated_micros += rest;
                            summary.lines_unallocated += 1;
                            out.push(l);
                        }
                    }
                }
            }
        }
        let produced: i128 = out[start..].iter().map(|l| i128::from(l.cost_micros)).sum();
        if let Some(t) = self.totals.get_mut(&line.currency) {
            t.output_micros += produced;
        }
        Ok(true)
    }

    /// After the last source line: checks that every currency's output equals its input to the
    /// micro-unit (`INTERNAL` if not) and returns the summaries. `INTERNAL` before the end or
    /// when called twice.
    pub fn finish(&mut self) -> Result<AllocationSummary> {
        if !self.is_done() || self.finished {
            return Err(Error::Internal {
                message: format!(
                    "allocation stream finished at source line {} of {}{}",
                    self.next,
                    self.prepared.len(),
                    if self.finished { " (again)" } else { "" }
                ),
            });
        }
        self.finished = true;
        if let Some((c, t)) = self
            .totals
            .iter()
            .find(|(_, t)| t.input_micros != t.output_micros)
        {
            return Err(Error::Internal {
                message: format!(
                    "allocation did not conserve {c}: {} in, {} out (micro-units)",
                    t.input_micros, t.output_micros
                ),
            });
        }
        let input: &AllocationInput = &self.input;
        let enabled = &self.enabled;
        let destinations = std::mem::take(&mut self.dest_totals).finish(|pos| {
            enabled.get(pos).map(|&r| {
                let r = &input.rules[r];
                (r.id.as_str(), r.name(), r.method())
            })
        });
        Ok(AllocationSummary {
            rules: std::mem::take(&mut self.summaries),
            totals: std::mem::take(&mut self.totals),
            destinations,
        })
    }
}

fn prepare_lines(lines: &[CostLine]) -> Result<Vec<Prepared>> {
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let day = parse_date(&line.date).ok_or_else(|| {
                Error::invalid(format!("lines[{i}].date"), "is not a YYYY-MM-DD date")
            })?;
            if !line.cost.is_finite() || line.cost.abs() > MAX_COST {
                return Err(Error::invalid(
                    format!("lines[{i}].cost"),
                    format!("must be a finite number within ±1e12, got {}", line.cost),
                ));
            }
            let micros = micros_from_f64(line.cost).ok_or_else(|| {
                Error::invalid(format!("lines[{i}].cost"), "is not a representable amount")
            })?;
            Ok(Prepared {
                micros,
                day,
                month: month_of(day),
                owner: None,
            })
        })
        .collect()
}

fn prepare_drivers(drivers: &Drivers) -> Result<BTreeMap<&str, Vec<Point<'_>>>> {
    let mut out = BTreeMap::new();
    for (name, series) in drivers {
        let mut points = Vec::with_capacity(series.len());
        for (i, p) in series.iter().enumerate() {
            let day = parse_date(&p.date).ok_or_else(|| {
                Error::invalid(
                    format!("drivers.{name}[{i}].date"),
                    "is not a YYYY-MM-DD date",
                )
            })?;
            let units = Amount::from_f64(p.value).ok_or_else(|| {
                Error::invalid(
                    format!("drivers.{name}[{i}].value"),
                    "must be a finite number (NaN, Infinity and null are not allowed)",
                )
            })?;
            points.push(Point {
                tags: &p.tags,
                units: units.0,
                day,
                month: month_of(day),
            });
        }
        out.insert(name.as_str(), points);
    }
    Ok(out)
}

fn month_of(day: i64) -> i64 {
    let (y, m, _) = civil_from_days(day);
    y * 12 + i64::from(m)
}

fn rule_matches(rule: &ArbitraryRule, tags: &BTreeMap<String, String>) -> bool {
    let a = &rule.attributes;
    let provider_ok = match tags.get("provider") {
        Some(p) => a.provider.iter().flatten().any(|x| x == p),
        None => false,
    };
    provider_ok && matches_all(a.costs_to_allocate.as_deref().unwrap_or(&[]), tags)
}

fn summary_of(r: &ArbitraryRule, position: Option<usize>) -> RuleSummary {
    RuleSummary {
        rule_id: r.id.clone(),
        rule_name: r.name().to_string(),
        method: r.method().to_string(),
        enabled: r.enabled(),
        position,
        lines_matched: 0,
        lines_allocated: 0,
        lines_unallocated: 0,
        costs: BTreeMap::new(),
    }
}

fn strategy(rule: &ArbitraryRule) -> Strategy {
    rule.attributes.strategy.clone().unwrap_or_default()
}

fn monthly(s: &Strategy) -> bool {
    s.granularity.as_deref() == Some("monthly")
}

fn partition_of(keys: &[String], tags: &BTreeMap<String, String>) -> Vec<Option<String>> {
    keys.iter().map(|k| tags.get(k).cloned()).collect()
}

fn dest_of(keys: &[String], tags: &BTreeMap<String, String>) -> Option<Vec<String>> {
    keys.iter().map(|k| tags.get(k).cloned()).collect()
}

/// Weights of every (window, partition, currency) group for one rule. Timeseries rules use the
/// currency key "" (metric weights apply to every currency).
fn rule_weights(
    rule: &ArbitraryRule,
    ri: usize,
    lines: &[CostLine],
    prepared: &[Prepared],
    points: &BTreeMap<&str, Vec<Point<'_>>>,
    drivers: &Drivers,
) -> RuleWeights {
    let s = strategy(rule);
    let method = s.method.as_deref().unwrap_or("");
    let monthly = monthly(&s);
    let part_keys = s.evaluate_grouped_by_tag_keys.clone().unwrap_or_default();
    let narrow: Vec<Filter> = s
        .allocated_by_filters
        .iter()
        .flatten()
        .chain(s.evaluate_grouped_by_filters.iter().flatten())
        .cloned()
        .collect();
    let mut groups: BTreeMap<GroupKey, Weights> = BTreeMap::new();
    let mut keys: Vec<String> = Vec::new();
    let mut has_driver = false;
    match method {
        "even" | "proportional" => {
            keys = s.allocated_by_tag_keys.clone().unwrap_or_default();
            let based: &[Filter] = s.based_on_costs.as_deref().unwrap_or(&[]);
            for (l, c) in lines.iter().zip(prepared) {
                if c.owner == Some(ri) {
                    continue; // the rule's own source lines are not destinations
                }
                if !matches_all(based, &l.tags) || !matches_all(&narrow, &l.tags) {
                    continue;
                }
                let Some(dest) = dest_of(&keys, &l.tags) else {
                    continue;
                };
                let window = if monthly { c.month } else { c.day };
                let key = (
                    window,
                    partition_of(&part_keys, &l.tags),
                    l.currency.clone(),
                );
                let w = groups.entry(key).or_default().entry(dest).or_insert(0);
                *w += c.micros;
            }
            if method == "even" {
                // §2d: `even` splits across the destination values that have matching spend in
                // the window: with `based_on_costs`, a value whose matching spend nets to zero
                // or less is no destination (as for `proportional`); without it, every value
                // seen counts.
                let seen_counts = based.is_empty();
                for g in groups.values_mut() {
                    for w in g.values_mut() {
                        *w = i128::from(seen_counts || *w > 0);
                    }
                }
            }
        }
        "proportional_timeseries" | "even_timeseries" => {
            let Some((query, series)) = driver_series(&s, points) else {
                return RuleWeights {
                    keys,
                    groups,
                    has_driver,
                };
            };
            has_driver = true;
            keys = timeseries_dest_keys(&s, query, &part_keys, drivers);
            if keys.is_empty() {
                return RuleWeights {
                    keys,
                    groups,
                    has_driver,
                };
            }
            for p in series {
                let Some(dest) = dest_of(&keys, p.tags) else {
                    continue;
                };
                if !matches_all(&narrow, p.tags) {
                    continue;
                }
                let window = if monthly { p.month } else { p.day };
                let key = (window, partition_of(&part_keys, p.tags), String::new());
                let w = groups.entry(key).or_default().entry(dest).or_insert(0);
                *w = w.saturating_add(p.units);
            }
            if method == "even_timeseries" {
                for g in groups.values_mut() {
                    for w in g.values_mut() {
                        *w = i128::from(*w > 0);
                    }
                }
            }
        }
        _ => {}
    }
    RuleWeights {
        keys,
        groups,
        has_driver,
    }
}

/// The driver series of a timeseries rule: the first formula's text, else the query it names,
/// else the first query with a series.
fn driver_series<'p, 'a>(
    s: &Strategy,
    points: &'p BTreeMap<&'a str, Vec<Point<'a>>>,
) -> Option<(&'a str, &'p Vec<Point<'a>>)> {
    let ts = s.based_on_timeseries.as_ref()?;
    let parsed;
    let ts = match ts {
        serde_json::Value::String(t) => {
            parsed = serde_json::from_str::<serde_json::Value>(t).ok()?;
            &parsed
        }
        v => v,
    };
    let mut names: Vec<String> = Vec::new();
    if let Some(f) = ts
        .get("formulas")
        .and_then(|f| f.get(0))
        .and_then(|f| f.get("formula"))
        .and_then(|f| f.as_str())
    {
        names.push(f.trim().to_string());
    }
    if let Some(serde_json::Value::Array(qs)) = ts.get("queries") {
        names.extend(
            qs.iter()
                .filter_map(|q| q.get("name").and_then(|n| n.as_str()))
                .map(str::to_string),
        );
    }
    names
        .iter()
        .find_map(|n| points.get_key_value(n.as_str()))
        .map(|(k, v)| (*k, v))
}

/// Destination keys of a timeseries rule: `allocated_by_tag_keys`, else the query's group-by,
/// else every tag key of the series; partition keys excluded in the last two cases.
fn timeseries_dest_keys(
    s: &Strategy,
    query: &str,
    part_keys: &[String],
    drivers: &Drivers,
) -> Vec<String> {
    if let Some(keys) = s.allocated_by_tag_keys.as_ref().filter(|k| !k.is_empty()) {
        return keys.clone();
    }
    let mut keys: Vec<String> = Vec::new();
    let ts = s.based_on_timeseries.as_ref().and_then(|v| match v {
        serde_json::Value::String(t) => serde_json::from_str::<serde_json::Value>(t).ok(),
        v => Some(v.clone()),
    });
    if let Some(serde_json::Value::Array(qs)) = ts.as_ref().and_then(|t| t.get("queries")) {
        if let Some(q) = qs
            .iter()
            .find(|q| q.get("name").and_then(|n| n.as_str()) == Some(query))
        {
            if let Some(facets) = q.get("group_by").and_then(|g| g.as_array()) {
                keys.extend(
                    facets
                        .iter()
                        .filter_map(|g| g.get("facet").and_then(|f| f.as_str()))
                        .map(str::to_string),
                );
            }
            for text in [
                q.get("query").and_then(|t| t.as_str()),
                q.get("base_query")
                    .and_then(|b| b.get("query"))
                    .and_then(|t| t.as_str()),
            ]
            .into_iter()
            .flatten()
            {
                if keys.is_empty() {
                    keys.extend(query_group_by(text));
                }
            }
        }
    }
    if keys.is_empty() {
        let mut all: Vec<String> = drivers
            .get(query)
            .into_iter()
            .flatten()
            .flat_map(|p| p.tags.keys().cloned())
            .collect();
        all.sort();
        all.dedup();
        keys = all;
    }
    keys.retain(|k| !part_keys.contains(k));
    let mut seen = Vec::new();
    keys.retain(|k| {
        let new = !seen.contains(k);
        seen.push(k.clone());
        new
    });
    keys
}

fn plan_for(rule: &ArbitraryRule, p: &Prepared, line: &CostLine, rw: &RuleWeights) -> Plan {
    let none = Strategy::default();
    let s = rule.attributes.strategy.as_ref().unwrap_or(&none);
    let method = s.method.as_deref().unwrap_or("");
    if method == "percent" {
        let mut entries: Vec<(Vec<(String, String)>, i128)> = s
            .allocated_by
            .iter()
            .flatten()
            .map(|share| {
                let tags = share
                    .allocated_tags
                    .iter()
                    .map(|t| (t.key.clone(), t.value.clone()))
                    .collect();
                let w = share
                    .percentage
                    .and_then(Amount::from_f64)
                    .map_or(0, |a| a.0.max(0));
                (tags, w)
            })
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let sum: i128 = entries.iter().map(|e| e.1).sum();
        let denominator = if sum >= ONE_SHARE - SHARE_TOLERANCE {
            sum
        } else {
            ONE_SHARE
        };
        let (dests, weights) = entries.into_iter().unzip();
        return Plan::Split {
            dests,
            weights,
            denominator,
            remainder_reason: "percentages sum to less than 1",
        };
    }
    let part_keys: &[String] = s.evaluate_grouped_by_tag_keys.as_deref().unwrap_or(&[]);
    let timeseries = method.ends_with("_timeseries");
    let window = if monthly(s) { p.month } else { p.day };
    let key = (
        window,
        partition_of(part_keys, &line.tags),
        if timeseries {
            String::new()
        } else {
            line.currency.clone()
        },
    );
    let Some(group) = rw.groups.get(&key).filter(|g| !g.is_empty()) else {
        let reason = if timeseries && !rw.has_driver {
            "no driver data"
        } else if part_keys.is_empty() {
            "no destinations"
        } else {
            "no destinations in partition"
        };
        return Plan::Unallocated(reason.to_string());
    };
    let mut dests = Vec::new();
    let mut weights = Vec::new();
    for (values, w) in group {
        if *w <= 0 {
            continue;
        }
        dests.push(
            rw.keys
                .iter()
                .cloned()
                .zip(values.iter().cloned())
                .collect(),
        );
        weights.push(*w);
    }
    bound_weights(&mut weights);
    let denominator: i128 = weights.iter().sum();
    if denominator <= 0 {
        return Plan::Unallocated("zero total weight".to_string());
    }
    Plan::Split {
        dests,
        weights,
        denominator,
        remainder_reason: "rounding",
    }
}

fn audit_tags(
    source: &BTreeMap<String, String>,
    dest: &[(String, String)],
    rule: &ArbitraryRule,
    ratio: Option<f64>,
    reason: Option<&str>,
) -> BTreeMap<String, String> {
    let mut tags = source.clone();
    for (k, v) in dest {
        tags.insert(k.clone(), v.clone());
    }
    tags.insert(TAG_RULE.into(), rule.name().to_string());
    tags.insert(TAG_RULE_ID.into(), rule.id.clone());
    tags.insert(TAG_METHOD.into(), rule.method().to_string());
    if let Some(r) = ratio {
        tags.insert(TAG_RATIO.into(), format!("{r}"));
    }
    match reason {
        Some(reason) => {
            tags.insert(TAG_STATUS.into(), "unallocated".into());
            tags.insert(TAG_REASON.into(), reason.to_string());
        }
        None => {
            tags.insert(TAG_STATUS.into(), "allocated".into());
        }
    }
    tags
}

fn output_line(
    index: usize,
    line: &CostLine,
    micros: i128,
    tags: BTreeMap<String, String>,
    status: LineStatus,
) -> Result<AllocatedLine> {
    let cost_micros = i64::try_from(micros).map_err(|_| Error::Internal {
        message: format!("line {index}: {micros} micro-units exceed i64"),
    })?;
    Ok(AllocatedLine {
        source_index: index,
        source_id: line.id.clone(),
        date: line.date.clone(),
        cost: if status == LineStatus::Unchanged {
            line.cost
        } else {
            micros_to_f64(micros)
        },
        cost_micros,
        currency: line.currency.clone(),
        tags,
        status,
        rule_id: None,
        rule_name: None,
        method: None,
        ratio: None,
        reason: None,
        destination_tags: BTreeMap::new(),
    })
}

fn set_rule(
    line: &mut AllocatedLine,
    rule: &ArbitraryRule,
    ratio: Option<f64>,
    reason: Option<String>,
) {
    line.rule_id = Some(rule.id.clone());
    line.rule_name = Some(rule.name().to_string());
    line.method = Some(rule.method().to_string());
    line.ratio = ratio;
    line.reason = reason;
}
