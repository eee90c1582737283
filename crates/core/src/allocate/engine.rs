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
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

use super::compact::{CompactLines, Strings, Tag};
use super::filter::matches_all;
use super::money::{
    bound_weights, largest_remainder_into, micros_from_f64, micros_to_f64, ONE_SHARE,
    SHARE_TOLERANCE,
};
use super::order::{map_of, sort_by};
use super::rules::{rule_order, ArbitraryRule, Filter, Strategy};
use super::sink::{LineSink, OutLine, RuleRef};
use super::summary::DestinationSummary;
use super::validate::{query_group_by, validate_rule};
use crate::error::{Error, Result};
use crate::hash::IdMap as HashMap;
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
/// No id / not computed.
const NONE: u32 = u32::MAX;

struct Point<'a> {
    tags: &'a BTreeMap<String, String>,
    units: i128,
    day: i64,
    month: i64,
}

/// A split computed once per (window, partition, currency) group of a rule, and applied to
/// every source line of the group.
struct SplitPlan {
    /// Destinations (indices into the rule's destination table), in destination value order.
    dests: Vec<u32>,
    weights: Vec<i128>,
    weight_sum: i128,
    denominator: i128,
    /// Per destination: the ratio and the id of its tag text.
    ratios: Vec<(f64, u32)>,
    /// The unallocated remainder's ratio and tag text.
    remainder: (f64, u32),
    remainder_reason: u32,
}

#[derive(Clone, Copy)]
enum PlanRef {
    Split(u32),
    Unallocated(u32),
}

/// A destination: its tags as the rule gives them (the destination summary's key), and sorted
/// by key text with later duplicates winning (the output line's tags).
struct Dest {
    pairs: Vec<Tag>,
    sorted: Vec<Tag>,
}

/// (allocated lines, micro-units per currency id).
type DestTotal = (usize, Vec<(u32, i128)>);
/// The same by currency code.
type DestSummaryTotal = (usize, BTreeMap<String, i128>);

/// Everything the engine knows about one enabled rule that owns lines.
struct RulePlan {
    rule: RuleRef,
    monthly: bool,
    timeseries: bool,
    /// Percent rules: their one plan.
    percent: Option<u32>,
    part_keys: Vec<Option<u32>>,
    partitions: HashMap<Vec<u32>, u32>,
    /// Partition id of each tag set (`NONE`: not computed yet).
    source_partition: Vec<u32>,
    groups: HashMap<(i64, u32, u32), PlanRef>,
    missing_reason: u32,
    plans: Vec<SplitPlan>,
    dests: Vec<Dest>,
    dest_ids: HashMap<Vec<Tag>, u32>,
    dest_totals: Vec<DestTotal>,
}

/// Interned audit strings.
struct Audit {
    rule: u32,
    rule_id: u32,
    method: u32,
    ratio: u32,
    status: u32,
    reason: u32,
    allocated: u32,
    unallocated: u32,
}

/// The allocation as a stream: [`AllocationStream::new`] makes the first pass (lines and driver
/// points checked, rules validated, owners found, every owning rule's splits computed per
/// window and partition); then [`AllocationStream::next_into`] gives the output lines of one
/// source line at a time to a [`LineSink`], in [`allocate`]'s order, accumulating the rule
/// summaries, destination totals and currency totals as it goes; [`AllocationStream::finish`]
/// checks conservation and returns them. No output line is kept: memory is the compact input
/// ([`CompactLines`]) plus the splits.
pub struct AllocationStream<'a> {
    lines: CompactLines,
    rules: Vec<ArbitraryRule>,
    micros: Vec<i64>,
    day: Vec<i32>,
    month: Vec<i32>,
    /// Owner of each tag set: index into `enabled`, or `NONE`.
    owner: Vec<u32>,
    /// Enabled rules in execution order (indices into `rules`).
    enabled: Vec<usize>,
    /// Plans of every rule that owns a line, by position in `enabled`.
    plans: Vec<Option<RulePlan>>,
    audit: Audit,
    summaries: Vec<RuleSummary>,
    /// Per rule position: (currency id, totals).
    rule_costs: Vec<Vec<(u32, CostTotals)>>,
    totals: Vec<(u32, CurrencyTotals)>,
    /// Scratch: merged tags of one output line, and a merge buffer.
    merged: Vec<Tag>,
    merge_tmp: Vec<Tag>,
    shares: Vec<i128>,
    rems: Vec<(i128, usize)>,
    /// Order of every tag key's text (by string id; `NONE` for strings that are no key), so
    /// merging tags compares numbers.
    key_rank: Vec<u32>,
    next: usize,
    finished: bool,
    _input: PhantomData<&'a AllocationInput>,
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

/// Compares two string ids by their text.
fn cmp_ids(s: &Strings, a: u32, b: u32) -> Ordering {
    if a == b {
        Ordering::Equal
    } else {
        s.str(a).cmp(s.str(b))
    }
}

/// Merges tag lists sorted by key text (`rank`: the order of each key's text); on equal keys
/// `b` wins.
fn merge_into(rank: &[u32], a: &[Tag], b: &[Tag], out: &mut Vec<Tag>) {
    out.clear();
    let r = |k: u32| rank.get(k as usize).copied().unwrap_or(NONE);
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match r(a[i].0).cmp(&r(b[j].0)) {
            Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            Ordering::Equal => {
                out.push(b[j]);
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
}

/// Tags sorted by key text, a later duplicate key replacing an earlier one (a `BTreeMap` built
/// by inserting them in order).
fn sorted_tags(s: &Strings, pairs: &[Tag]) -> Vec<Tag> {
    let mut v: Vec<(usize, Tag)> = pairs.iter().copied().enumerate().collect();
    sort_by(&mut v, |a, b| {
        cmp_ids(s, a.1 .0, b.1 .0).then(b.0.cmp(&a.0))
    });
    v.dedup_by(|later, first| later.1 .0 == first.1 .0);
    v.into_iter().map(|(_, t)| t).collect()
}

fn tag_map(s: &Strings, tags: &[Tag]) -> BTreeMap<String, String> {
    map_of(
        tags.iter()
            .map(|&(k, v)| (s.str(k).to_string(), s.str(v).to_string())),
    )
}

fn find_or_insert<T: Default>(v: &mut Vec<(u32, T)>, key: u32) -> &mut T {
    let i = match v.iter().position(|e| e.0 == key) {
        Some(i) => i,
        None => {
            v.push((key, T::default()));
            v.len() - 1
        }
    };
    &mut v[i].1
}

impl<'a> AllocationStream<'a> {
    /// The first pass (see the type). Errors as [`allocate`]'s.
    pub fn new(input: Cow<'a, AllocationInput>) -> Result<AllocationStream<'a>> {
        let (lines, rules, drivers) = match input {
            Cow::Borrowed(i) => (
                CompactLines::from_lines(&i.lines),
                i.rules.clone(),
                Cow::Borrowed(&i.drivers),
            ),
            Cow::Owned(i) => {
                let lines = CompactLines::from_lines(&i.lines);
                (lines, i.rules, Cow::Owned(i.drivers))
            }
        };
        AllocationStream::from_compact(lines, rules, &drivers)
    }

    /// The first pass over lines already in compact form (a caller that reads its input in
    /// chunks). Errors as [`allocate`]'s.
    pub fn from_compact(
        mut lines: CompactLines,
        rules: Vec<ArbitraryRule>,
        drivers: &Drivers,
    ) -> Result<AllocationStream<'a>> {
        // Lines, in input order: date, then cost (the errors of `allocate`).
        let n = lines.len();
        let mut micros = Vec::with_capacity(n);
        let mut day = Vec::with_capacity(n);
        let mut month = Vec::with_capacity(n);
        // Day and month per date string (by string id), parsed once.
        let mut dates: Vec<Option<Option<(i32, i32)>>> = vec![None; lines.strings.len()];
        for i in 0..n {
            let d = lines.date[i];
            let dm = *dates[d as usize].get_or_insert_with(|| {
                parse_date(lines.strings.str(d)).and_then(|day| {
                    Some((i32::try_from(day).ok()?, i32::try_from(month_of(day)).ok()?))
                })
            });
            let Some((dd, mm)) = dm else {
                return Err(Error::invalid(
                    format!("lines[{i}].date"),
                    "is not a YYYY-MM-DD date",
                ));
            };
            let cost = lines.cost[i];
            if !cost.is_finite() || cost.abs() > MAX_COST {
                return Err(Error::invalid(
                    format!("lines[{i}].cost"),
                    format!("must be a finite number within ±1e12, got {cost}"),
                ));
            }
            let m = micros_from_f64(cost)
                .and_then(|m| i64::try_from(m).ok())
                .ok_or_else(|| {
                    Error::invalid(format!("lines[{i}].cost"), "is not a representable amount")
                })?;
            micros.push(m);
            day.push(dd);
            month.push(mm);
        }
        let points = prepare_drivers(drivers)?;

        let mut enabled: Vec<usize> = (0..rules.len()).filter(|&i| rules[i].enabled()).collect();
        sort_by(&mut enabled, |&a, &b| rule_order(&rules[a], &rules[b]));
        for &r in &enabled {
            validate_rule(&rules[r])?;
        }
        let mut disabled: Vec<usize> = (0..rules.len()).filter(|&i| !rules[i].enabled()).collect();
        sort_by(&mut disabled, |&a, &b| rule_order(&rules[a], &rules[b]));

        // §2b: first match wins. The owner depends on the tags only: once per tag set.
        let maps: Vec<BTreeMap<String, String>> = lines
            .tagsets
            .iter()
            .map(|t| tag_map(&lines.strings, t))
            .collect();
        let owner: Vec<u32> = maps
            .iter()
            .map(|tags| {
                enabled
                    .iter()
                    .position(|&r| rule_matches(&rules[r], tags))
                    .map_or(NONE, |p| p as u32)
            })
            .collect();

        let summaries: Vec<RuleSummary> = enabled
            .iter()
            .enumerate()
            .map(|(i, &r)| summary_of(&rules[r], Some(i)))
            .chain(disabled.iter().map(|&r| summary_of(&rules[r], None)))
            .collect();

        let strings = &mut lines.strings;
        let audit = Audit {
            rule: strings.id(TAG_RULE),
            rule_id: strings.id(TAG_RULE_ID),
            method: strings.id(TAG_METHOD),
            ratio: strings.id(TAG_RATIO),
            status: strings.id(TAG_STATUS),
            reason: strings.id(TAG_REASON),
            allocated: strings.id("allocated"),
            unallocated: strings.id("unallocated"),
        };

        // Plans of the rules that own a line, built once.
        let mut owns = vec![false; enabled.len()];
        for &o in &owner {
            if o != NONE {
                owns[o as usize] = true;
            }
        }
        let mut stream = AllocationStream {
            micros,
            day,
            month,
            owner,
            plans: Vec::new(),
            audit,
            summaries,
            rule_costs: vec![Vec::new(); enabled.len()],
            totals: Vec::new(),
            merged: Vec::new(),
            merge_tmp: Vec::new(),
            shares: Vec::new(),
            rems: Vec::new(),
            key_rank: Vec::new(),
            next: 0,
            finished: false,
            _input: PhantomData,
            lines,
            rules,
            enabled,
        };
        let mut plans = Vec::with_capacity(owns.len());
        for (ri, owns) in owns.iter().enumerate() {
            plans.push(if *owns {
                Some(stream.rule_plan(ri, &maps, &points, drivers))
            } else {
                None
            });
        }
        stream.plans = plans;
        stream.key_rank = key_ranks(&stream.lines, &stream.plans, &stream.audit);
        Ok(stream)
    }

    /// The interned strings the output lines' ids refer to.
    pub fn strings(&self) -> &Strings {
        &self.lines.strings
    }

    /// Number of source lines.
    pub fn source_lines(&self) -> usize {
        self.lines.len()
    }

    /// Index of the next source line (= source lines done).
    pub fn position(&self) -> usize {
        self.next
    }

    /// Whether every source line has been produced.
    pub fn is_done(&self) -> bool {
        self.next >= self.lines.len()
    }

    /// Appends the output lines of the next source line to `out`; `false` when every source
    /// line has been produced (nothing appended).
    pub fn next_source(&mut self, out: &mut Vec<AllocatedLine>) -> Result<bool> {
        self.next_into(out)
    }

    /// Gives the output lines of the next source line to `sink`; `false` when every source
    /// line has been produced.
    pub fn next_into<S: LineSink + ?Sized>(&mut self, sink: &mut S) -> Result<bool> {
        let i = self.next;
        if i >= self.lines.len() {
            return Ok(false);
        }
        self.next += 1;
        let lines = &self.lines;
        let s = &lines.strings;
        let micros = i128::from(self.micros[i]);
        let currency = lines.currency[i];
        let set = lines.tagset[i];
        let source_tags = lines.tags(i);
        find_or_insert(&mut self.totals, currency).input_micros += micros;
        let base = OutLine {
            source_index: i,
            source_id: lines.id(i),
            date: lines.date[i],
            cost: lines.cost[i],
            cost_micros: self.micros[i],
            currency,
            tags: source_tags,
            status: LineStatus::Unchanged,
            rule: None,
            ratio: None,
            reason: None,
            destination_tags: &[],
        };
        let owner = self.owner[set as usize];
        if owner == NONE {
            sink.line(s, &base)?;
            find_or_insert(&mut self.totals, currency).output_micros += micros;
            return Ok(true);
        }
        let ri = owner as usize;
        let Some(plan) = self.plans[ri].as_mut() else {
            return Err(Error::Internal {
                message: format!("line {i}: no plan for rule position {ri}"),
            });
        };
        let a = &self.audit;
        let rule = plan.rule;
        let summary = &mut self.summaries[ri];
        summary.lines_matched += 1;
        let costs = find_or_insert(&mut self.rule_costs[ri], currency);
        costs.matched_micros += micros;
        let window = if plan.monthly {
            i64::from(self.month[i])
        } else {
            i64::from(self.day[i])
        };
        let plan_ref = match plan.percent {
            Some(p) => PlanRef::Split(p),
            None => {
                let part = partition_id(plan, set, &lines.tagsets[set as usize]);
                let cur = if plan.timeseries { NONE } else { currency };
                match plan.groups.get(&(window, part, cur)) {
                    Some(r) => *r,
                    None => PlanRef::Unallocated(plan.missing_reason),
                }
            }
        };
        let mut produced = 0i128;
        let merged = &mut self.merged;
        let tmp = &mut self.merge_tmp;
        let rank = &self.key_rank;
        let rule_audit = [
            (a.rule, rule.name),
            (a.rule_id, rule.id),
            (a.method, rule.method),
        ];
        match plan_ref {
            PlanRef::Unallocated(reason) => {
                let audit = [
                    rule_audit[0],
                    rule_audit[1],
                    rule_audit[2],
                    (a.reason, reason),
                    (a.status, a.unallocated),
                ];
                merge_into(rank, source_tags, &audit, merged);
                sink.line(
                    s,
                    &OutLine {
                        cost: micros_to_f64(micros),
                        tags: merged,
                        status: LineStatus::Unallocated,
                        rule: Some(rule),
                        reason: Some(reason),
                        ..base
                    },
                )?;
                costs.unallocated_micros += micros;
                summary.lines_unallocated += 1;
                produced += micros;
            }
            PlanRef::Split(p) => {
                let sp = &plan.plans[p as usize];
                let shares = &mut self.shares;
                largest_remainder_into(micros, &sp.weights, sp.denominator, shares, &mut self.rems);
                let mut allocated = 0i128;
                for (j, share) in shares.iter().enumerate() {
                    let d = sp.dests[j] as usize;
                    let (ratio, ratio_text) = sp.ratios[j];
                    let dest = &plan.dests[d];
                    let audit = [
                        rule_audit[0],
                        rule_audit[1],
                        rule_audit[2],
                        (a.ratio, ratio_text),
                        (a.status, a.allocated),
                    ];
                    merge_into(rank, source_tags, &dest.sorted, tmp);
                    merge_into(rank, tmp, &audit, merged);
                    let cost_micros = checked_micros(i, *share)?;
                    sink.line(
                        s,
                        &OutLine {
                            cost: micros_to_f64(*share),
                            cost_micros,
                            tags: merged,
                            status: LineStatus::Allocated,
                            rule: Some(rule),
                            ratio: Some(ratio),
                            destination_tags: &dest.sorted,
                            ..base
                        },
                    )?;
                    allocated += share;
                    let t = &mut plan.dest_totals[d];
                    t.0 += 1;
                    *find_or_insert(&mut t.1, currency) += share;
                    summary.lines_allocated += 1;
                }
                costs.allocated_micros += allocated;
                produced += allocated;
                let rest = micros - allocated;
                if rest != 0 || sp.weight_sum < sp.denominator {
                    let (ratio, ratio_text) = sp.remainder;
                    let audit = [
                        rule_audit[0],
                        rule_audit[1],
                        rule_audit[2],
                        (a.ratio, ratio_text),
                        (a.reason, sp.remainder_reason),
                        (a.status, a.unallocated),
                    ];
                    merge_into(rank, source_tags, &audit, merged);
                    sink.line(
                        s,
                        &OutLine {
                            cost: micros_to_f64(rest),
                            cost_micros: checked_micros(i, rest)?,
                            tags: merged,
                            status: LineStatus::Unallocated,
                            rule: Some(rule),
                            ratio: Some(ratio),
                            reason: Some(sp.remainder_reason),
                            ..base
                        },
                    )?;
                    costs.unallocated_micros += rest;
                    summary.lines_unallocated += 1;
                    produced += rest;
                }
            }
        }
        find_or_insert(&mut self.totals, currency).output_micros += produced;
        Ok(true)
    }

    /// After the last source line: checks that every currency's output equals its input to the
    /// micro-unit (`INTERNAL` if not) and returns the summaries. `INTERNAL` before the end or
    /// when called twice.
    pub fn finish(&mut self) -> Result<AllocationSummary> {
        let mut summary = self.finish_totals()?;
        summary.destinations = self.destinations();
        Ok(summary)
    }

    /// [`AllocationStream::finish`] without the destination summaries (`destinations` empty):
    /// for a caller that reports totals only (`sync`'s rule allocation), so that its module
    /// need not carry the destination roll-up.
    pub fn finish_totals(&mut self) -> Result<AllocationSummary> {
        if !self.is_done() || self.finished {
            return Err(Error::Internal {
                message: format!(
                    "allocation stream finished at source line {} of {}{}",
                    self.next,
                    self.lines.len(),
                    if self.finished { " (again)" } else { "" }
                ),
            });
        }
        self.finished = true;
        let s = &self.lines.strings;
        let totals: BTreeMap<String, CurrencyTotals> = map_of(
            self.totals
                .drain(..)
                .map(|(c, t)| (s.str(c).to_string(), t)),
        );
        if let Some((c, t)) = totals
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
        let mut summaries = std::mem::take(&mut self.summaries);
        for (ri, costs) in self.rule_costs.drain(..).enumerate() {
            if let Some(summary) = summaries.get_mut(ri) {
                summary.costs = map_of(costs.into_iter().map(|(c, t)| (s.str(c).to_string(), t)));
            }
        }
        Ok(AllocationSummary {
            rules: summaries,
            totals,
            destinations: Vec::new(),
        })
    }

    /// What each destination received, per rule (execution order) and destination tags.
    fn destinations(&self) -> Vec<DestinationSummary> {
        let s = &self.lines.strings;
        let mut destinations = Vec::new();
        for (pos, plan) in self.plans.iter().enumerate() {
            let Some(plan) = plan else { continue };
            let rule = &self.rules[self.enabled[pos]];
            let mut per_rule: BTreeMap<Vec<(String, String)>, DestSummaryTotal> = BTreeMap::new();
            for (d, (lines, costs)) in plan.dest_totals.iter().enumerate() {
                if *lines == 0 {
                    continue;
                }
                let key = plan.dests[d]
                    .pairs
                    .iter()
                    .map(|&(k, v)| (s.str(k).to_string(), s.str(v).to_string()))
                    .collect();
                let costs = map_of(costs.iter().map(|&(c, m)| (s.str(c).to_string(), m)));
                per_rule.insert(key, (*lines, costs));
            }
            destinations.extend(per_rule.into_iter().map(|(dest, (lines, costs))| {
                DestinationSummary {
                    rule_id: rule.id.clone(),
                    rule_name: rule.name().to_string(),
                    method: rule.method().to_string(),
                    tags: map_of(dest),
                    lines,
                    costs,
                }
            }));
        }
        destinations
    }

    /// The plan of the rule at position `ri` (see [`RulePlan`]).
    fn rule_plan(
        &mut self,
        ri: usize,
        maps: &[BTreeMap<String, String>],
        points: &BTreeMap<&str, Vec<Point<'_>>>,
        drivers: &Drivers,
    ) -> RulePlan {
        let rule = &self.rules[self.enabled[ri]];
        let strings = &mut self.lines.strings;
        let s = strategy(rule);
        let method = s.method.as_deref().unwrap_or("");
        let timeseries = method.ends_with("_timeseries");
        let part_key_names = s.evaluate_grouped_by_tag_keys.clone().unwrap_or_default();
        let missing = if part_key_names.is_empty() {
            "no destinations"
        } else {
            "no destinations in partition"
        };
        let mut plan = RulePlan {
            rule: RuleRef {
                id: strings.id(&rule.id),
                name: strings.id(rule.name()),
                method: strings.id(rule.method()),
            },
            monthly: monthly(&s),
            timeseries,
            percent: None,
            part_keys: part_key_names.iter().map(|k| strings.get(k)).collect(),
            partitions: HashMap::default(),
            source_partition: vec![NONE; self.lines.tagsets.len()],
            groups: HashMap::default(),
            missing_reason: strings.id(missing),
            plans: Vec::new(),
            dests: Vec::new(),
            dest_ids: HashMap::default(),
            dest_totals: Vec::new(),
        };
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
            sort_by(&mut entries, |a, b| a.0.cmp(&b.0));
            let sum: i128 = entries.iter().map(|e| e.1).sum();
            let denominator = if sum >= ONE_SHARE - SHARE_TOLERANCE {
                sum
            } else {
                ONE_SHARE
            };
            let mut dests = Vec::new();
            let mut weights = Vec::new();
            for (tags, w) in entries {
                let pairs: Vec<Tag> = tags
                    .iter()
                    .map(|(k, v)| (strings.id(k), strings.id(v)))
                    .collect();
                dests.push(dest_id(&mut plan, strings, pairs));
                weights.push(w);
            }
            let sp = split_plan(
                strings,
                dests,
                weights,
                denominator,
                "percentages sum to less than 1",
            );
            plan.plans.push(sp);
            plan.percent = Some(0);
            return plan;
        }

        let narrow: Vec<Filter> = s
            .allocated_by_filters
            .iter()
            .flatten()
            .chain(s.evaluate_grouped_by_filters.iter().flatten())
            .cloned()
            .collect();
        // (window, partition, currency) → destination → weight.
        let mut groups: HashMap<(i64, u32, u32), HashMap<u32, i128>> = HashMap::default();
        let mut has_driver = false;
        match method {
            "even" | "proportional" => {
                let dest_keys = s.allocated_by_tag_keys.clone().unwrap_or_default();
                let key_ids: Vec<Option<u32>> = dest_keys.iter().map(|k| strings.get(k)).collect();
                let based: &[Filter] = s.based_on_costs.as_deref().unwrap_or(&[]);
                // Per tag set: its destination (or NONE: not a candidate) and partition.
                let mut cand: Vec<(u32, u32)> = Vec::with_capacity(maps.len());
                for (t, tags) in maps.iter().enumerate() {
                    let set = &self.lines.tagsets[t];
                    let candidate = self.owner[t] != ri as u32
                        && matches_all(based, tags)
                        && matches_all(&narrow, tags);
                    let dest = if candidate {
                        key_ids
                            .iter()
                            .map(|k| k.and_then(|k| tag_value(set, k)))
                            .collect::<Option<Vec<u32>>>()
                            .map(|values| {
                                let pairs = key_ids
                                    .iter()
                                    .zip(values)
                                    .map(|(k, v)| (k.unwrap_or(NONE), v))
                                    .collect();
                                dest_id(&mut plan, strings, pairs)
                            })
                    } else {
                        None
                    };
                    let part = match dest {
                        Some(_) => partition_id(&mut plan, t as u32, set),
                        None => NONE,
                    };
                    cand.push((dest.unwrap_or(NONE), part));
                }
                // One hash lookup a candidate line: (window, partition, currency, destination).
                let mut sums: HashMap<(i64, u32, u32, u32), i128> = HashMap::default();
                let windows = if plan.monthly { &self.month } else { &self.day };
                for (i, &t) in self.lines.tagset.iter().enumerate() {
                    let (dest, part) = cand[t as usize];
                    if dest == NONE {
                        continue;
                    }
                    let key = (i64::from(windows[i]), part, self.lines.currency[i], dest);
                    *sums.entry(key).or_insert(0) += i128::from(self.micros[i]);
                }
                for ((window, part, currency, dest), w) in sums {
                    groups
                        .entry((window, part, currency))
                        .or_default()
                        .insert(dest, w);
                }
                if method == "even" {
                    let seen_counts = based.is_empty();
                    for g in groups.values_mut() {
                        for w in g.values_mut() {
                            *w = i128::from(seen_counts || *w > 0);
                        }
                    }
                }
            }
            "proportional_timeseries" | "even_timeseries" => {
                if let Some((query, series)) = driver_series(&s, points) {
                    has_driver = true;
                    let dest_keys = timeseries_dest_keys(&s, query, &part_key_names, drivers);
                    if !dest_keys.is_empty() {
                        for p in series {
                            let Some(values) = dest_of(&dest_keys, p.tags) else {
                                continue;
                            };
                            if !matches_all(&narrow, p.tags) {
                                continue;
                            }
                            let pairs: Vec<Tag> = dest_keys
                                .iter()
                                .zip(&values)
                                .map(|(k, v)| (strings.id(k), strings.id(v)))
                                .collect();
                            let dest = dest_id(&mut plan, strings, pairs);
                            let part_values: Vec<u32> = part_key_names
                                .iter()
                                .map(|k| p.tags.get(k).map_or(NONE, |v| strings.id(v)))
                                .collect();
                            // Partition values of driver points may be new strings: the key
                            // ids are looked up again.
                            plan.part_keys =
                                part_key_names.iter().map(|k| strings.get(k)).collect();
                            let part = intern_partition(&mut plan, part_values);
                            let window = if plan.monthly { p.month } else { p.day };
                            let w = groups
                                .entry((window, part, NONE))
                                .or_default()
                                .entry(dest)
                                .or_insert(0);
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
                }
            }
            _ => {}
        }
        if timeseries && !has_driver {
            plan.missing_reason = strings.id("no driver data");
        }
        let zero = strings.id("zero total weight");
        for (key, weights) in groups {
            if weights.is_empty() {
                continue;
            }
            // Destination value order (the values' texts, key by key).
            let mut entries: Vec<(u32, i128)> =
                weights.into_iter().filter(|(_, w)| *w > 0).collect();
            sort_by(&mut entries, |a, b| {
                let (pa, pb) = (
                    &plan.dests[a.0 as usize].pairs,
                    &plan.dests[b.0 as usize].pairs,
                );
                pa.iter()
                    .zip(pb)
                    .map(|(x, y)| cmp_ids(strings, x.1, y.1))
                    .find(|o| o.is_ne())
                    .unwrap_or(Ordering::Equal)
            });
            let (dests, mut weights): (Vec<u32>, Vec<i128>) = entries.into_iter().unzip();
            bound_weights(&mut weights);
            let denominator: i128 = weights.iter().sum();
            let r = if denominator <= 0 {
                PlanRef::Unallocated(zero)
            } else {
                let sp = split_plan(strings, dests, weights, denominator, "rounding");
                plan.plans.push(sp);
                PlanRef::Split((plan.plans.len() - 1) as u32)
            };
            plan.groups.insert(key, r);
        }
        plan
    }
}

/// The order of every tag key's text, by string id (see `AllocationStream::key_rank`).
fn key_ranks(lines: &CompactLines, plans: &[Option<RulePlan>], a: &Audit) -> Vec<u32> {
    let s = &lines.strings;
    let mut keys: Vec<u32> = lines
        .tagsets
        .iter()
        .flat_map(|t| t.iter().map(|t| t.0))
        .collect();
    for p in plans.iter().flatten() {
        keys.extend(p.dests.iter().flat_map(|d| d.sorted.iter().map(|t| t.0)));
    }
    keys.extend([a.rule, a.rule_id, a.method, a.ratio, a.status, a.reason]);
    keys.sort_unstable();
    keys.dedup();
    sort_by(&mut keys, |x, y| s.str(*x).cmp(s.str(*y)));
    let mut rank = vec![NONE; s.len()];
    for (r, k) in keys.into_iter().enumerate() {
        rank[k as usize] = r as u32;
    }
    rank
}

/// The value of tag `key` in a tag set.
fn tag_value(set: &[Tag], key: u32) -> Option<u32> {
    set.iter().find(|t| t.0 == key).map(|t| t.1)
}

fn intern_partition(plan: &mut RulePlan, values: Vec<u32>) -> u32 {
    let next = plan.partitions.len() as u32;
    *plan.partitions.entry(values).or_insert(next)
}

/// The partition id of tag set `t` under the rule's partition keys (memoized).
fn partition_id(plan: &mut RulePlan, t: u32, set: &[Tag]) -> u32 {
    let known = plan.source_partition[t as usize];
    if known != NONE {
        return known;
    }
    let values: Vec<u32> = plan
        .part_keys
        .iter()
        .map(|k| k.and_then(|k| tag_value(set, k)).unwrap_or(NONE))
        .collect();
    let id = intern_partition(plan, values);
    plan.source_partition[t as usize] = id;
    id
}

fn dest_id(plan: &mut RulePlan, strings: &Strings, pairs: Vec<Tag>) -> u32 {
    if let Some(&d) = plan.dest_ids.get(&pairs) {
        return d;
    }
    let d = plan.dests.len() as u32;
    plan.dests.push(Dest {
        sorted: sorted_tags(strings, &pairs),
        pairs: pairs.clone(),
    });
    plan.dest_totals.push((0, Vec::new()));
    plan.dest_ids.insert(pairs, d);
    d
}

fn split_plan(
    strings: &mut Strings,
    dests: Vec<u32>,
    weights: Vec<i128>,
    denominator: i128,
    remainder_reason: &str,
) -> SplitPlan {
    let weight_sum: i128 = weights.iter().sum();
    let mut ratio = |r: f64| (r, strings.id(&format!("{r}")));
    let ratios = weights
        .iter()
        .map(|w| ratio(*w as f64 / denominator as f64))
        .collect();
    let remainder = ratio((denominator - weight_sum) as f64 / denominator as f64);
    SplitPlan {
        dests,
        weights,
        weight_sum,
        denominator,
        ratios,
        remainder,
        remainder_reason: strings.id(remainder_reason),
    }
}

fn checked_micros(index: usize, micros: i128) -> Result<i64> {
    i64::try_from(micros).map_err(|_| Error::Internal {
        message: format!("line {index}: {micros} micro-units exceed i64"),
    })
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

fn dest_of(keys: &[String], tags: &BTreeMap<String, String>) -> Option<Vec<String>> {
    keys.iter().map(|k| tags.get(k).cloned()).collect()
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
        sort_by(&mut all, String::cmp);
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
