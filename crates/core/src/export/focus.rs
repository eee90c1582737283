//! FinOps FOCUS Cost and Usage rows from DPS cost lines (`reference/focus.md`), in FOCUS 1.2,
//! 1.3 (the default) or 1.4 ([`FocusVersion`]).
//!
//! One row per cost line (environment × capability × day, or a piece of one split by cost
//! center / product or by allocation rules). Every column of the version, in the
//! specification's order ([`FocusVersion::cost_columns`]), then the `x_` columns
//! ([`CUSTOM_COLUMNS`]). In 1.2 (byte-identical to what dps-cost wrote before 1.3), rows built
//! from allocation output add the five FOCUS 1.3 `Allocated*` columns after those.
//!
//! 1.3 and 1.4 add: `ServiceProviderName` = `HostProviderName` = `Dynatrace`; `ContractApplied`
//! linking the row to its DPS commitment term (`export::contract_commitment`); the `Allocated*`
//! columns (null unless the row comes from allocation rules). 1.4 drops `ProviderName` and
//! `PublisherName` and has `InvoiceDetailId` and `CommitmentProgramEligibilityDetails` (null:
//! no invoice detail, no commitment-discount program). In 1.3 and 1.4 `PricingCurrency` =
//! `BillingCurrency` and `PricingCurrencyEffectiveCost` = `EffectiveCost` (not null once
//! present).
//!
//! Mapping (see the reference for why):
//! - `BilledCost` = `EffectiveCost` = `ListCost` = `ContractedCost` = the line's cost, exact to
//!   the micro-unit, written as a plain decimal with a point (`12.5`, `7.0`).
//! - `BillingAccountId`/`Name`: the account; `SubAccountId`/`Name`/`Type`: the environment.
//! - `ChargePeriodStart`/`End`: the day, `T00:00:00Z` → next day (end exclusive);
//!   `BillingPeriodStart`/`End`: the calendar month containing the day.
//! - `ChargeCategory` `Usage`, `ChargeClass` null, `ChargeFrequency` `Usage-Based`.
//! - `ServiceName`, `ChargeDescription`: the capability's name (its key when unknown);
//!   `ServiceCategory` `Management and Governance`, `ServiceSubcategory` `Observability`;
//!   `ProviderName` = `PublisherName` = `InvoiceIssuerName` = `Dynatrace`.
//! - `PricingQuantity`/`ConsumedQuantity`: the day's usage of the environment × capability (when
//!   given), shared between the pieces of a split in proportion to their cost, so the pieces add
//!   back up to the origin; `PricingUnit`/`ConsumedUnit`: its unit in UnitFormat (`GiB-Hours`).
//! - `Tags`: the line's tags without the ones that became columns (provider, account,
//!   subscription, environment, cluster, capability) — e.g. `{"costcenter":"finance"}` or `{}`.
//! - Everything else is null.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::hash::HashMap;
use std::fmt::Write as _;

use serde_json::json;

use crate::allocate::engine::{
    AllocatedLine, AllocationInput, AllocationResult, AllocationStream, CostLine,
};
use crate::allocate::focus::{focus_allocation_row, ALLOCATED_COLUMNS};
use crate::allocate::money::micros_from_f64;
use crate::error::{Error, Result};
use crate::export::contract_commitment::{CommitmentLedger, CommitmentTerm, PROVIDER};
pub use crate::export::focus_columns::{FocusDataset, FocusVersion};
use crate::time::{civil_from_days, days_from_civil, format_date, parse_date};

/// The 57 FOCUS 1.2 columns, alphabetically (the specification's order).
pub const FOCUS_COLUMNS: [&str; 57] = [
    "AvailabilityZone",
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingAccountType",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "CapacityReservationId",
    "CapacityReservationStatus",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountQuantity",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "CommitmentDiscountUnit",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceId",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingCurrency",
    "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "ServiceSubcategory",
    "SkuId",
    "SkuMeter",
    "SkuPriceDetails",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "SubAccountType",
    "Tags",
];

/// Custom columns (FOCUS allows `x_`-prefixed ones) after the 57: the capability key and the
/// subscription.
pub const CUSTOM_COLUMNS: [&str; 2] = ["x_CapabilityKey", "x_SubscriptionId"];

/// Tags that became columns and are left out of `Tags`.
const COLUMN_TAGS: [&str; 7] = [
    "provider",
    "account",
    "account_name",
    "subscription",
    "environment",
    "cluster",
    "capability",
];

/// One cell of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Text(String),
    /// A decimal as text (`12.5`): a number in JSON, unquoted in CSV.
    Decimal(String),
    /// A JSON object as text (`Tags`, `AllocatedMethodDetails`, `AllocatedTags`).
    Json(String),
}

/// The rows of an export with their header.
#[derive(Debug, Clone, PartialEq)]
pub struct FocusTable {
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
    /// Rows of allocation output ([`focus_from_allocation`]): the plain table then carries the
    /// allocation columns. Decided by where the rows come from, not by whether the `Allocated*`
    /// columns exist (1.3 and 1.4 always have them).
    pub allocated: bool,
}

/// Names and usage the cost lines do not carry.
#[derive(Debug, Clone, Default)]
pub struct FocusContext {
    /// Capability key → name.
    pub capability_names: BTreeMap<String, String>,
    /// Environment id → name.
    pub environment_names: BTreeMap<String, String>,
    /// (environment id, capability key, `YYYY-MM-DD`) → (quantity, unit as the API writes it).
    pub usage: HashMap<(String, String, String), (f64, String)>,
    /// The FOCUS version written (default 1.3).
    pub version: FocusVersion,
    /// The DPS commitment terms the rows draw down (`ContractApplied`, 1.3+).
    pub commitments: Vec<CommitmentTerm>,
}

/// A unit in FOCUS UnitFormat: words capitalised, time units plural (`GiB-hour` → `GiB-Hours`,
/// `host-hour` → `Host-Hours`, `session` → `Sessions`, `GiB scanned` → `GiB Scanned`).
pub fn unit_format(unit: &str) -> String {
    const PLURAL: [(&str, &str); 12] = [
        ("second", "Seconds"),
        ("minute", "Minutes"),
        ("hour", "Hours"),
        ("day", "Days"),
        ("week", "Weeks"),
        ("month", "Months"),
        ("year", "Years"),
        ("session", "Sessions"),
        ("request", "Requests"),
        ("event", "Events"),
        ("host", "Hosts"),
        ("span", "Spans"),
    ];
    let word = |w: &str, last: bool| -> String {
        let lower = w.to_ascii_lowercase();
        if let Some((_, p)) = PLURAL
            .iter()
            .find(|(s, p)| lower == *s || lower == p.to_ascii_lowercase())
        {
            // A count noun is plural when it is the whole unit or its last part; a time unit always.
            let time = matches!(
                lower.trim_end_matches('s'),
                "second" | "minute" | "hour" | "day" | "week" | "month" | "year"
            );
            if time || last {
                return (*p).to_string();
            }
            let mut s = p.to_string();
            s.pop();
            return s;
        }
        let mut c = w.chars();
        match c.next() {
            Some(f) => f.to_uppercase().chain(c).collect(),
            None => String::new(),
        }
    };
    let parts: Vec<&str> = unit.split_whitespace().collect();
    let n = parts.len();
    parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let pieces: Vec<&str> = part.split('-').collect();
            let m = pieces.len();
            pieces
                .iter()
                .enumerate()
                .map(|(j, p)| word(p, i + 1 == n && j + 1 == m))
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A decimal with a point: `7` → `7.0`, `12.5` stays.
fn decimal(s: String) -> Cell {
    if s.contains('.') || s.contains('e') || s.contains('E') {
        Cell::Decimal(s)
    } else {
        Cell::Decimal(format!("{s}.0"))
    }
}

fn micros_decimal(micros: i128) -> Cell {
    decimal(crate::allocate::money::micros_to_string(micros))
}

fn f64_decimal(v: f64) -> Cell {
    // Display of f64 never uses an exponent and round-trips.
    decimal(format!("{v}"))
}

fn instant(day: i64) -> String {
    format!("{}T00:00:00Z", format_date(day))
}

fn month_bounds(day: i64) -> (i64, i64) {
    let (y, m, _) = civil_from_days(day);
    let start = days_from_civil(y, m, 1);
    let end = if m == 12 {
        days_from_civil(y + 1, 1, 1)
    } else {
        days_from_civil(y, m + 1, 1)
    };
    (start, end)
}

/// What a row is made of.
struct Line<'a> {
    date: &'a str,
    micros: i128,
    currency: &'a str,
    tags: &'a BTreeMap<String, String>,
    /// Tags for the `Tags` column (allocation rows: without destination and audit tags).
    tag_column: Option<String>,
}

fn tag<'a>(tags: &'a BTreeMap<String, String>, k: &str) -> Option<&'a str> {
    tags.get(k).map(String::as_str)
}

/// (environment, capability, `YYYY-MM-DD`) → (total micros of the lines, line count).
type Groups = HashMap<(String, String, String), (i128, usize)>;

/// Share of the day's usage per line: (environment, capability, date) → total micros of the
/// lines, so each piece gets usage × its cost / total. Only keys with usage are kept (no other
/// key is ever looked up).
fn group_add(groups: &mut Groups, ctx: &FocusContext, l: &Line<'_>) {
    if ctx.usage.is_empty() {
        return;
    }
    if let (Some(e), Some(c)) = (tag(l.tags, "environment"), tag(l.tags, "capability")) {
        let key = (e.to_string(), c.to_string(), l.date.to_string());
        if ctx.usage.contains_key(&key) {
            let slot = groups.entry(key).or_default();
            slot.0 += l.micros;
            slot.1 += 1;
        }
    }
}

fn group_totals(lines: &[Line<'_>], ctx: &FocusContext) -> Groups {
    let mut out = Groups::default();
    for l in lines {
        group_add(&mut out, ctx, l);
    }
    out
}

/// The day of a line, checked.
fn line_day(n: usize, l: &Line<'_>) -> Result<i64> {
    parse_date(l.date)
        .ok_or_else(|| Error::invalid(format!("lines[{n}].date"), "is not a YYYY-MM-DD date"))
}

/// A row's cells (see the module documentation); `ledger` gives `ContractApplied` (1.3+),
/// `allocated` the `Allocated*` cells of an allocation row. In 1.2 the caller appends those.
fn row(
    n: usize,
    l: &Line<'_>,
    ctx: &FocusContext,
    groups: &Groups,
    ledger: &mut CommitmentLedger,
    allocated: Option<&[Cell; 5]>,
) -> Result<Vec<Cell>> {
    let day = line_day(n, l)?;
    let account = tag(l.tags, "account").ok_or_else(|| {
        Error::invalid(
            format!("lines[{n}].tags.account"),
            "is required (the billing account)",
        )
    })?;
    if l.currency.len() != 3 || !l.currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(Error::invalid(
            format!("lines[{n}].currency"),
            "must be an ISO 4217 code such as USD",
        ));
    }
    let capability = tag(l.tags, "capability");
    let service = capability
        .map(|c| ctx.capability_names.get(c).map_or(c, String::as_str))
        .unwrap_or("Dynatrace Platform Subscription");
    let environment = tag(l.tags, "environment");
    let (mut quantity, mut unit) = (Cell::Null, Cell::Null);
    if let (Some(e), Some(c)) = (environment, capability) {
        let key = (e.to_string(), c.to_string(), l.date.to_string());
        if let Some((q, u)) = ctx.usage.get(&key) {
            let (total, count) = groups.get(&key).copied().unwrap_or((l.micros, 1));
            let share = if count <= 1 {
                Some(*q)
            } else if total != 0 {
                Some(*q * (l.micros as f64 / total as f64))
            } else {
                None
            };
            if let Some(s) = share.filter(|s| s.is_finite()) {
                quantity = f64_decimal(s);
                unit = Cell::Text(unit_format(u));
            }
        }
    }
    let tags_json = match &l.tag_column {
        Some(t) => t.clone(),
        None => {
            let rest: BTreeMap<&str, &str> = l
                .tags
                .iter()
                .filter(|(k, _)| !COLUMN_TAGS.contains(&k.as_str()))
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            json!(rest).to_string()
        }
    };
    let (bp_start, bp_end) = month_bounds(day);
    let cost = micros_decimal(l.micros);
    let text = |s: &str| Cell::Text(s.to_string());
    let opt = |s: Option<&str>| s.map_or(Cell::Null, |v| Cell::Text(v.to_string()));
    let version = ctx.version;
    let contract_applied = if version == FocusVersion::V1_2 {
        Cell::Null
    } else {
        let a = ledger.apply(tag(l.tags, "subscription"), day, l.micros);
        ledger.contract_applied(a)
    };
    let columns = version.cost_columns();
    let mut cells = Vec::with_capacity(columns.len() + CUSTOM_COLUMNS.len() + 5);
    for &col in columns {
        cells.push(match col {
            "BilledCost" | "EffectiveCost" | "ListCost" | "ContractedCost" => cost.clone(),
            "BillingAccountId" => text(account),
            "BillingAccountName" => opt(tag(l.tags, "account_name")),
            "BillingAccountType" => text("Account"),
            "BillingCurrency" => text(l.currency),
            "BillingPeriodStart" => Cell::Text(instant(bp_start)),
            "BillingPeriodEnd" => Cell::Text(instant(bp_end)),
            "ChargeCategory" => text("Usage"),
            "ChargeDescription" => text(service),
            "ChargeFrequency" => text("Usage-Based"),
            "ChargePeriodStart" => Cell::Text(instant(day)),
            "ChargePeriodEnd" => Cell::Text(instant(day + 1)),
            "ConsumedQuantity" | "PricingQuantity" => quantity.clone(),
            "ConsumedUnit" | "PricingUnit" => unit.clone(),
            "InvoiceIssuerName" | "ProviderName" | "PublisherName" => text(PROVIDER),
            "ServiceProviderName" | "HostProviderName" => text(PROVIDER),
            // 1.3's text and 1.4's table: MUST NOT be null once the column is present (1.2
            // leaves them null, as it always has). Priced and billed in the same currency.
            "PricingCurrency" if version != FocusVersion::V1_2 => text(l.currency),
            "PricingCurrencyEffectiveCost" if version != FocusVersion::V1_2 => cost.clone(),
            "ContractApplied" => contract_applied.clone(),
            "AllocatedMethodId"
            | "AllocatedMethodDetails"
            | "AllocatedResourceId"
            | "AllocatedResourceName"
            | "AllocatedTags" => match allocated {
                Some(a) => ALLOCATED_COLUMNS
                    .iter()
                    .position(|c| *c == col)
                    .map_or(Cell::Null, |i| a[i].clone()),
                None => Cell::Null,
            },
            "ServiceCategory" => text("Management and Governance"),
            "ServiceName" => text(service),
            "ServiceSubcategory" => text("Observability"),
            "SubAccountId" => opt(environment),
            "SubAccountName" => {
                opt(environment.map(|e| ctx.environment_names.get(e).map_or(e, String::as_str)))
            }
            "SubAccountType" => {
                if environment.is_some() {
                    text("Environment")
                } else {
                    Cell::Null
                }
            }
            "Tags" => Cell::Json(tags_json.clone()),
            _ => Cell::Null,
        });
    }
    cells.push(opt(capability));
    cells.push(opt(tag(l.tags, "subscription")));
    if let (FocusVersion::V1_2, Some(a)) = (version, allocated) {
        cells.extend(a.iter().cloned());
    }
    Ok(cells)
}

/// The commitment ledger of `ctx` with the first pass over `lines` done (1.3+; empty for 1.2).
/// A line whose date does not parse is left out here and refused when its row is built.
fn ledger_of<'a, 'b: 'a>(
    ctx: &FocusContext,
    lines: impl Iterator<Item = &'a Line<'b>>,
) -> CommitmentLedger {
    let mut ledger = CommitmentLedger::new(if ctx.version == FocusVersion::V1_2 {
        Vec::new()
    } else {
        ctx.commitments.clone()
    });
    if !ledger.is_empty() {
        for l in lines {
            if let Some(day) = parse_date(l.date) {
                ledger.add(tag(l.tags, "subscription"), day, l.micros);
            }
        }
    }
    ledger
}

/// Rows of cost lines (as `costLines` builds them), in input order, in `ctx.version`.
pub fn focus_from_lines(lines: &[CostLine], ctx: &FocusContext) -> Result<FocusTable> {
    let mut prepared = Vec::with_capacity(lines.len());
    for (n, l) in lines.iter().enumerate() {
        let micros = micros_from_f64(l.cost).ok_or_else(|| {
            Error::invalid(
                format!("lines[{n}].cost"),
                "must be a finite amount below 1e24",
            )
        })?;
        prepared.push(Line {
            date: &l.date,
            micros,
            currency: &l.currency,
            tags: &l.tags,
            tag_column: None,
        });
    }
    let groups = group_totals(&prepared, ctx);
    let mut ledger = ledger_of(ctx, prepared.iter());
    let rows = prepared
        .iter()
        .enumerate()
        .map(|(n, l)| row(n, l, ctx, &groups, &mut ledger, None))
        .collect::<Result<Vec<_>>>()?;
    Ok(FocusTable {
        columns: line_columns(ctx.version),
        rows,
        allocated: false,
    })
}

/// The columns of rows from cost lines: the version's, then the custom ones.
pub fn line_columns(version: FocusVersion) -> Vec<&'static str> {
    let mut columns = version.cost_columns().to_vec();
    columns.extend(CUSTOM_COLUMNS);
    columns
}

/// The columns of rows from allocation output: [`line_columns`], then in 1.2 the five
/// `Allocated*` (1.3 and 1.4 have them among their own).
pub fn allocation_columns(version: FocusVersion) -> Vec<&'static str> {
    let mut columns = line_columns(version);
    if version == FocusVersion::V1_2 {
        columns.extend(ALLOCATED_COLUMNS);
    }
    columns
}

/// The parts of an allocation output line's row: its [`Line`] (the `Tags` column without the
/// destination, audit and column tags) and its `Allocated*` cells.
fn allocation_line(l: &AllocatedLine, index: usize) -> (Line<'_>, [Cell; 5]) {
    let a = focus_allocation_row(index, l);
    // `a.tags` drops destination/audit tags; drop the column tags too.
    let tags: BTreeMap<String, serde_json::Value> =
        serde_json::from_str(&a.tags).unwrap_or_default();
    let rest: BTreeMap<&String, &serde_json::Value> = tags
        .iter()
        .filter(|(k, _)| !COLUMN_TAGS.contains(&k.as_str()))
        .collect();
    let line = Line {
        date: &l.date,
        micros: i128::from(l.cost_micros),
        currency: &l.currency,
        tags: &l.tags,
        tag_column: Some(json!(rest).to_string()),
    };
    let opt = |s: Option<String>| s.map_or(Cell::Null, Cell::Text);
    let json_opt = |s: Option<String>| s.map_or(Cell::Null, Cell::Json);
    let cells = [
        opt(a.allocated_method_id),
        json_opt(a.allocated_method_details),
        opt(a.allocated_resource_id),
        opt(a.allocated_resource_name),
        json_opt(a.allocated_tags),
    ];
    (line, cells)
}

/// FOCUS rows of allocation output: the 57 columns plus the five FOCUS 1.3 `Allocated*`
/// columns (see `allocate::focus`). Each row's cost is the output line's exact cost.
pub fn focus_from_allocation(result: &AllocationResult, ctx: &FocusContext) -> Result<FocusTable> {
    let parts: Vec<_> = result
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| allocation_line(l, i))
        .collect();
    let mut groups = Groups::default();
    for (l, _) in &parts {
        group_add(&mut groups, ctx, l);
    }
    let mut ledger = ledger_of(ctx, parts.iter().map(|(l, _)| l));
    let mut rows = Vec::with_capacity(parts.len());
    for (n, (l, a)) in parts.into_iter().enumerate() {
        rows.push(row(n, &l, ctx, &groups, &mut ledger, Some(&a))?);
    }
    Ok(FocusTable {
        columns: allocation_columns(ctx.version),
        rows,
        allocated: true,
    })
}

fn csv_field(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// The plain export's columns: (name, FOCUS column it is read from); the last
/// [`PLAIN_ALLOCATION_COLUMNS`] only for rows of allocation output.
pub const PLAIN_COLUMNS: [(&str, &str); 15] = [
    ("date", "ChargePeriodStart"),
    ("accountUuid", "BillingAccountId"),
    ("accountName", "BillingAccountName"),
    ("subscriptionUuid", "x_SubscriptionId"),
    ("environmentId", "SubAccountId"),
    ("environmentName", "SubAccountName"),
    ("capabilityKey", "x_CapabilityKey"),
    ("capabilityName", "ServiceName"),
    ("cost", "BilledCost"),
    ("currency", "BillingCurrency"),
    ("usage", "PricingQuantity"),
    ("unit", "PricingUnit"),
    ("tags", "Tags"),
    ("allocationRule", "AllocatedMethodId"),
    ("allocatedTags", "AllocatedTags"),
];

/// How many of [`PLAIN_COLUMNS`], at its end, describe the allocation.
pub const PLAIN_ALLOCATION_COLUMNS: usize = 2;

/// What a [`FocusWriter`] writes: every column, or the plain table of rows from cost lines
/// or from allocation output (`allocated`: with `allocationRule` and `allocatedTags`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Focus,
    Plain { allocated: bool },
}

impl Layout {
    /// `Plain { allocated }` when `plain`, else `Focus`.
    pub fn of(plain: bool, allocated: bool) -> Layout {
        if plain {
            Layout::Plain { allocated }
        } else {
            Layout::Focus
        }
    }
}

/// Writes rows one at a time as CSV (RFC 4180, header line, CRLF) or as a JSON array of
/// objects, of all columns or of the plain table's ([`PLAIN_COLUMNS`]). The one renderer of
/// [`FocusTable::to_csv`], [`FocusTable::to_json`], [`FocusTable::plain`], [`FocusStream`] and
/// [`LineRows`]: `begin`, then `row` per row, then `end` give the same text as the whole table.
#[derive(Debug, Clone)]
pub struct FocusWriter {
    json: bool,
    /// Plain table: (name, index of the FOCUS column it is read from).
    picks: Option<Vec<(&'static str, usize)>>,
    columns: Vec<&'static str>,
    rows: usize,
}

impl FocusWriter {
    /// A writer for rows of `columns`; `json` for a JSON array; `layout` all columns or the
    /// plain table.
    pub fn new(columns: &[&'static str], json: bool, layout: Layout) -> FocusWriter {
        let (picks, columns) = if let Layout::Plain { allocated } = layout {
            let wanted = if allocated {
                PLAIN_COLUMNS.len()
            } else {
                PLAIN_COLUMNS.len() - PLAIN_ALLOCATION_COLUMNS
            };
            let picks: Vec<(&'static str, usize)> = PLAIN_COLUMNS[..wanted]
                .iter()
                .filter_map(|(name, from)| {
                    columns.iter().position(|c| c == from).map(|i| (*name, i))
                })
                .collect();
            let names = picks.iter().map(|(n, _)| *n).collect();
            (Some(picks), names)
        } else {
            (None, columns.to_vec())
        };
        FocusWriter {
            json,
            picks,
            columns,
            rows: 0,
        }
    }

    /// The columns written.
    pub fn columns(&self) -> &[&'static str] {
        &self.columns
    }

    /// Rows written so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The header line (CSV) or `[` (JSON).
    pub fn begin(&self, out: &mut String) {
        if self.json {
            out.push('[');
        } else {
            out.push_str(&self.columns.join(","));
            out.push_str("\r\n");
        }
    }

    /// One row (cells of the writer's input columns).
    pub fn row(&mut self, out: &mut String, cells: &[Cell]) {
        let n = self.rows;
        self.rows += 1;
        let picked: Vec<Cow<'_, Cell>>;
        let cells: Vec<&Cell> = match &self.picks {
            None => cells.iter().collect(),
            Some(picks) => {
                picked = picks
                    .iter()
                    .map(|(name, i)| match (&cells[*i], *name) {
                        (Cell::Text(s), "date") => {
                            Cow::Owned(Cell::Text(s.chars().take(10).collect()))
                        }
                        (c, _) => Cow::Borrowed(c),
                    })
                    .collect();
                picked.iter().map(|c| c.as_ref()).collect()
            }
        };
        if self.json {
            if n > 0 {
                out.push(',');
            }
            out.push('{');
            for (i, (col, c)) in self.columns.iter().zip(cells).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "\"{col}\":");
                match c {
                    Cell::Null => out.push_str("null"),
                    Cell::Text(s) => out.push_str(&json!(s).to_string()),
                    Cell::Decimal(s) | Cell::Json(s) => out.push_str(s),
                }
            }
            out.push('}');
        } else {
            for (i, c) in cells.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match c {
                    Cell::Null => {}
                    Cell::Text(s) | Cell::Decimal(s) | Cell::Json(s) => csv_field(out, s),
                }
            }
            out.push_str("\r\n");
        }
    }

    /// `]` (JSON); nothing for CSV.
    pub fn end(&self, out: &mut String) {
        if self.json {
            out.push(']');
        }
    }

    /// The whole table in this writer's format.
    pub fn render(mut self, table: &FocusTable) -> String {
        let per_row = if self.json { 1400 } else { 700 };
        let mut out = String::with_capacity(64 + table.rows.len() * per_row);
        self.begin(&mut out);
        for r in &table.rows {
            self.row(&mut out, r);
        }
        self.end(&mut out);
        out
    }
}

impl FocusTable {
    /// The plain table (see [`PLAIN_COLUMNS`]): `date` as `YYYY-MM-DD`; the allocation columns
    /// only for rows of allocation output.
    pub fn plain(&self) -> FocusTable {
        let w = FocusWriter::new(&self.columns, false, self.layout(true));
        let picks = w.picks.as_deref().unwrap_or(&[]);
        let rows = self
            .rows
            .iter()
            .map(|r| {
                picks
                    .iter()
                    .map(|(name, i)| match (&r[*i], *name) {
                        (Cell::Text(s), "date") => Cell::Text(s.chars().take(10).collect()),
                        (c, _) => c.clone(),
                    })
                    .collect()
            })
            .collect();
        FocusTable {
            columns: w.columns,
            rows,
            allocated: self.allocated,
        }
    }

    /// This table's [`Layout`]: the plain table when `plain`.
    pub fn layout(&self, plain: bool) -> Layout {
        Layout::of(plain, self.allocated)
    }

    /// RFC 4180 CSV with a header line, CRLF line ends; null is an empty field.
    pub fn to_csv(&self) -> String {
        FocusWriter::new(&self.columns, false, Layout::Focus).render(self)
    }

    /// A JSON array of objects (every column present; null as `null`, decimals as numbers,
    /// `Tags` and the other JSON columns as objects).
    pub fn to_json(&self) -> String {
        FocusWriter::new(&self.columns, true, Layout::Focus).render(self)
    }
}

/// Rows a [`FocusWriter`] writes a chunk at a time, for [`LineRows`] and [`FocusStream`]: `begin`
/// in the first chunk, up to `max_rows.max(1)` rows per chunk, `end` in the chunk that writes the
/// last row. The concatenation of the chunks is the whole table's text.
struct Chunks {
    writer: FocusWriter,
    started: bool,
    ended: bool,
}

impl Chunks {
    fn new(writer: FocusWriter) -> Chunks {
        Chunks {
            writer,
            started: false,
            ended: false,
        }
    }

    /// Back to before the first chunk (a writer's only state is its row count).
    fn rewind(&mut self) {
        self.writer.rows = 0;
        self.started = false;
        self.ended = false;
    }

    /// The next chunk of `source`'s rows; `None` after the last.
    fn next(&mut self, source: &mut impl RowSource, max_rows: usize) -> Result<Option<String>> {
        if self.ended {
            return Ok(None);
        }
        let mut out = String::new();
        if !self.started {
            self.started = true;
            self.writer.begin(&mut out);
        }
        for _ in 0..max_rows.max(1) {
            if !source.write_row(&mut self.writer, &mut out)? {
                break;
            }
        }
        if source.exhausted()? {
            self.ended = true;
            self.writer.end(&mut out);
        }
        Ok(Some(out))
    }
}

/// The rows of a [`Chunks`], one at a time.
trait RowSource {
    /// Writes the next row with `writer`; false when none is left.
    fn write_row(&mut self, writer: &mut FocusWriter, out: &mut String) -> Result<bool>;

    /// Whether every row has been written (asked after each chunk's rows, so the chunk with
    /// the last row ends the text).
    fn exhausted(&mut self) -> Result<bool>;
}

/// Where a [`FocusStream`]'s rows come from: a [`LineRows`], or allocation output and its
/// [`Chunks`].
enum Source {
    Lines(LineRows),
    Allocation {
        source: AllocationSource,
        chunks: Chunks,
    },
}

/// The allocation behind [`FocusStream::from_allocation`] and what its rows need.
struct AllocationSource {
    stream: Box<AllocationStream<'static>>,
    /// Output lines of the current source line not yet written.
    pending: Vec<AllocatedLine>,
    taken: usize,
    ctx: FocusContext,
    groups: Groups,
    ledger: CommitmentLedger,
}

impl RowSource for AllocationSource {
    fn write_row(&mut self, writer: &mut FocusWriter, out: &mut String) -> Result<bool> {
        while self.taken == self.pending.len() {
            self.pending.clear();
            self.taken = 0;
            if !self.stream.next_source(&mut self.pending)? {
                return Ok(false);
            }
        }
        let n = writer.rows();
        let (line, allocated) = allocation_line(&self.pending[self.taken], n);
        let cells = row(
            n,
            &line,
            &self.ctx,
            &self.groups,
            &mut self.ledger,
            Some(&allocated),
        )?;
        self.taken += 1;
        writer.row(out, &cells);
        Ok(true)
    }

    fn exhausted(&mut self) -> Result<bool> {
        let done = self.taken == self.pending.len() && self.stream.is_done();
        if done {
            self.stream.finish()?;
        }
        Ok(done)
    }
}

/// [`focus_from_lines`] / [`focus_from_allocation`] rendered by a [`FocusWriter`], a chunk of
/// rows at a time: the concatenation of the chunks is the whole table's text. Holds the input
/// (and, with rules, the allocation's weights), never the rows. With rules and usage, the
/// allocation runs twice (the first run only sums each usage key's cost, which sharing the
/// usage between the pieces needs). Rows of cost lines come from a [`LineRows`].
pub struct FocusStream {
    source: Source,
}

impl FocusStream {
    /// Rows of cost lines (as [`focus_from_lines`]); errors on costs come now, on other fields
    /// with the chunk holding the row.
    pub fn from_lines(
        lines: Vec<CostLine>,
        ctx: FocusContext,
        json: bool,
        plain: bool,
    ) -> Result<FocusStream> {
        Ok(FocusStream {
            source: Source::Lines(LineRows::with_layout(lines, ctx, json, plain)?),
        })
    }

    /// Rows of `input`'s allocation (as [`focus_from_allocation`] of [`crate::allocate::allocate`]).
    pub fn from_allocation(
        input: AllocationInput,
        ctx: FocusContext,
        json: bool,
        plain: bool,
    ) -> Result<FocusStream> {
        let mut groups = Groups::default();
        if !ctx.usage.is_empty() {
            let mut first = AllocationStream::new(Cow::Borrowed(&input))?;
            let mut out = Vec::new();
            let mut n = 0usize;
            while first.next_source(&mut out)? {
                for l in &out {
                    let (line, _) = allocation_line(l, n);
                    group_add(&mut groups, &ctx, &line);
                    n += 1;
                }
                out.clear();
            }
        }
        // Allocation keeps each line's cost and day, so the input's day totals are the output's.
        let prepared: Vec<Line<'_>> = input
            .lines
            .iter()
            .filter_map(|l| micros_from_f64(l.cost).map(|m| plain_line(l, m)))
            .collect();
        let ledger = ledger_of(&ctx, prepared.iter());
        drop(prepared);
        let stream = AllocationStream::new(Cow::Owned(input))?;
        let writer = FocusWriter::new(
            &allocation_columns(ctx.version),
            json,
            Layout::of(plain, true),
        );
        Ok(FocusStream {
            source: Source::Allocation {
                source: AllocationSource {
                    stream: Box::new(stream),
                    pending: Vec::new(),
                    taken: 0,
                    ctx,
                    groups,
                    ledger,
                },
                chunks: Chunks::new(writer),
            },
        })
    }

    fn chunks(&self) -> &Chunks {
        match &self.source {
            Source::Lines(rows) => &rows.chunks,
            Source::Allocation { chunks, .. } => chunks,
        }
    }

    /// The columns written.
    pub fn columns(&self) -> &[&'static str] {
        self.chunks().writer.columns()
    }

    /// Rows written so far.
    pub fn rows(&self) -> usize {
        self.chunks().writer.rows()
    }

    /// Whether the last chunk has been returned.
    pub fn is_done(&self) -> bool {
        self.chunks().ended
    }

    /// The next chunk: up to `max_rows` rows (the first chunk starts with the header or `[`,
    /// the last ends with `]` for JSON); `None` after the last.
    pub fn next_chunk(&mut self, max_rows: usize) -> Result<Option<String>> {
        match &mut self.source {
            Source::Lines(rows) => rows.next_chunk(max_rows),
            Source::Allocation { source, chunks } => chunks.next(source, max_rows),
        }
    }
}

/// [`focus_from_lines`] written a chunk of rows at a time, without the allocation engine (the
/// Workflow file's delivery links this, not [`FocusStream`]), and restartable:
/// [`LineRows::rewind`] starts over, and the rows come out with the same bytes again (an upload
/// that is repeated sends its body again). Holds the lines, never the rows. The one writer of
/// cost-line rows in chunks: [`FocusStream::from_lines`] wraps one.
pub struct LineRows {
    source: LineSource,
    chunks: Chunks,
}

/// The cost lines of a [`LineRows`] and what their rows need.
struct LineSource {
    lines: Vec<CostLine>,
    micros: Vec<i128>,
    ctx: FocusContext,
    groups: Groups,
    ledger: CommitmentLedger,
    /// The line of the next row.
    next: usize,
}

impl RowSource for LineSource {
    fn write_row(&mut self, writer: &mut FocusWriter, out: &mut String) -> Result<bool> {
        let n = self.next;
        let Some(l) = self.lines.get(n) else {
            return Ok(false);
        };
        let cells = row(
            n,
            &plain_line(l, self.micros[n]),
            &self.ctx,
            &self.groups,
            &mut self.ledger,
            None,
        )?;
        writer.row(out, &cells);
        self.next += 1;
        Ok(true)
    }

    fn exhausted(&mut self) -> Result<bool> {
        Ok(self.next >= self.lines.len())
    }
}

impl LineRows {
    /// The rows of `lines` (as [`focus_from_lines`]), every column; errors on costs come now,
    /// on other fields with the chunk holding the row.
    pub fn new(lines: Vec<CostLine>, ctx: FocusContext, json: bool) -> Result<LineRows> {
        LineRows::with_layout(lines, ctx, json, false)
    }

    /// As [`LineRows::new`], or the plain table when `plain` ([`Layout::of`]).
    pub fn with_layout(
        lines: Vec<CostLine>,
        ctx: FocusContext,
        json: bool,
        plain: bool,
    ) -> Result<LineRows> {
        let (micros, groups) = micros_and_groups(&lines, &ctx)?;
        let writer = FocusWriter::new(&line_columns(ctx.version), json, Layout::of(plain, false));
        let mut rows = LineRows {
            source: LineSource {
                lines,
                micros,
                ctx,
                groups,
                ledger: CommitmentLedger::default(),
                next: 0,
            },
            chunks: Chunks::new(writer),
        };
        rows.rewind();
        Ok(rows)
    }

    /// Starts over: the next chunk is the first (the commitment ledger drawn down afresh).
    pub fn rewind(&mut self) {
        let s = &mut self.source;
        let prepared: Vec<Line<'_>> = s
            .lines
            .iter()
            .zip(&s.micros)
            .map(|(l, m)| plain_line(l, *m))
            .collect();
        s.ledger = ledger_of(&s.ctx, prepared.iter());
        s.next = 0;
        self.chunks.rewind();
    }

    /// Rows in all.
    pub fn len(&self) -> usize {
        self.source.lines.len()
    }

    /// Whether there are no rows (the header alone).
    pub fn is_empty(&self) -> bool {
        self.source.lines.is_empty()
    }

    /// The next chunk: up to `max_rows` rows (the first starts with the header or `[`, the last
    /// ends with `]` for JSON); `None` after the last.
    pub fn next_chunk(&mut self, max_rows: usize) -> Result<Option<String>> {
        self.chunks.next(&mut self.source, max_rows)
    }
}

/// Each line's cost in micro-units (`INVALID_INPUT` naming `lines[n].cost` otherwise) and the
/// usage groups of the lines, for [`LineRows`].
fn micros_and_groups(lines: &[CostLine], ctx: &FocusContext) -> Result<(Vec<i128>, Groups)> {
    let mut micros = Vec::with_capacity(lines.len());
    for (n, l) in lines.iter().enumerate() {
        micros.push(micros_from_f64(l.cost).ok_or_else(|| {
            Error::invalid(
                format!("lines[{n}].cost"),
                "must be a finite amount below 1e24",
            )
        })?);
    }
    let mut groups = Groups::default();
    for (l, m) in lines.iter().zip(&micros) {
        group_add(&mut groups, ctx, &plain_line(l, *m));
    }
    Ok((micros, groups))
}

/// The [`Line`] of a cost line with its checked micro-units.
fn plain_line(l: &CostLine, micros: i128) -> Line<'_> {
    Line {
        date: &l.date,
        micros,
        currency: &l.currency,
        tags: &l.tags,
        tag_column: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cost lines sharing a day's usage (two pieces of `abc` × `LOGS` on the 1st), with a
    /// field CSV must quote, drawing down a commitment that runs out before the last line.
    fn lines_and_ctx(version: FocusVersion) -> (Vec<CostLine>, FocusContext) {
        let line = |date: &str, env: &str, cost: f64, team: &str| CostLine {
            id: None,
            date: date.into(),
            cost,
            currency: "EUR".into(),
            tags: BTreeMap::from([
                ("account".into(), "acc".into()),
                ("subscription".into(), "sub".into()),
                ("environment".into(), env.into()),
                ("capability".into(), "LOGS".into()),
                ("team".into(), team.into()),
            ]),
        };
        let lines = vec![
            line("2026-03-01", "abc", 10.5, "a"),
            line("2026-03-01", "abc", 4.25, "b, \"c\""),
            line("2026-03-01", "def", 7.0, "a"),
            line("2026-03-02", "abc", 12.0, "b"),
            line("2026-03-02", "def", 3.333333, "a"),
        ];
        let commitments = crate::export::contract_commitment::check_terms(
            &[crate::export::contract_commitment::CommitmentTermInput {
                subscription_uuid: "sub".into(),
                account_uuid: "acc".into(),
                subscription_name: None,
                start: "2026-01-01".into(),
                end: "2026-12-31".into(),
                contract_start: None,
                contract_end: None,
                budget: Some(30.0),
                currency: "EUR".into(),
                consumed_before: Some(5.0),
                used: None,
            }],
            "commitments",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut ctx = FocusContext {
            version,
            commitments,
            ..FocusContext::default()
        };
        ctx.usage.insert(
            ("abc".into(), "LOGS".into(), "2026-03-01".into()),
            (6.0, "GiB-hour".into()),
        );
        (lines, ctx)
    }

    /// Every chunk, in order.
    fn chunks(mut next: impl FnMut() -> Result<Option<String>>) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(c) = next().unwrap_or_else(|e| panic!("{e}")) {
            out.push(c);
        }
        out
    }

    /// [`FocusStream::from_lines`] is [`LineRows`]: the same chunks, byte for byte, in every
    /// format and chunking, and again after a rewind; together the whole table's text, the last
    /// chunk (and only it) ending it.
    #[test]
    fn stream_of_lines_is_line_rows() {
        assert_eq!(Layout::of(false, false), Layout::Focus);
        for version in [FocusVersion::V1_2, FocusVersion::V1_3, FocusVersion::V1_4] {
            let (lines, ctx) = lines_and_ctx(version);
            let table = focus_from_lines(&lines, &ctx).unwrap_or_else(|e| panic!("{e}"));
            for (json, plain) in [(false, false), (true, false), (false, true), (true, true)] {
                let t = if plain { table.plain() } else { table.clone() };
                let want = if json { t.to_json() } else { t.to_csv() };
                for max_rows in [1, 2, 1000] {
                    let at = format!("{version:?} json={json} plain={plain} max_rows={max_rows}");
                    let mut s = FocusStream::from_lines(lines.clone(), ctx.clone(), json, plain)
                        .unwrap_or_else(|e| panic!("{e}"));
                    let mut r = LineRows::with_layout(lines.clone(), ctx.clone(), json, plain)
                        .unwrap_or_else(|e| panic!("{e}"));
                    let from_stream = chunks(|| s.next_chunk(max_rows));
                    assert!(s.is_done() && s.rows() == lines.len(), "{at}");
                    assert_eq!(s.columns(), t.columns, "{at}");
                    let from_rows = chunks(|| r.next_chunk(max_rows));
                    assert_eq!(from_rows, from_stream, "{at}");
                    assert_eq!(from_rows.len(), lines.len().div_ceil(max_rows), "{at}");
                    assert_eq!(from_rows.concat(), want, "{at}");
                    r.rewind();
                    assert_eq!(chunks(|| r.next_chunk(max_rows)), from_rows, "{at} rewound");
                    if json {
                        let ends = from_rows.iter().filter(|c| c.ends_with(']')).count();
                        assert_eq!(ends, 1, "{at}");
                    }
                }
            }
            if version != FocusVersion::V1_2 {
                assert!(
                    table.to_csv().contains("ContractCommitmentAppliedCost"),
                    "{version:?}"
                );
            }
        }
    }

    #[test]
    fn units_in_unit_format() {
        assert_eq!(unit_format("GiB-hour"), "GiB-Hours");
        assert_eq!(unit_format("host-hour"), "Host-Hours");
        assert_eq!(unit_format("GiB-day"), "GiB-Days");
        assert_eq!(unit_format("session"), "Sessions");
        assert_eq!(unit_format("GiB scanned"), "GiB Scanned");
        assert_eq!(unit_format("GiB"), "GiB");
    }

    #[test]
    fn decimals_always_have_a_point() {
        assert_eq!(micros_decimal(7_000_000), Cell::Decimal("7.0".into()));
        assert_eq!(micros_decimal(-500_000), Cell::Decimal("-0.5".into()));
        assert_eq!(micros_decimal(1), Cell::Decimal("0.000001".into()));
        assert_eq!(f64_decimal(1e-7), Cell::Decimal("0.0000001".into()));
    }

    #[test]
    fn billing_period_is_the_calendar_month() {
        let d = parse_date("2024-12-31").unwrap_or(0);
        let (s, e) = month_bounds(d);
        assert_eq!(
            (format_date(s).as_str(), format_date(e).as_str()),
            ("2024-12-01", "2025-01-01")
        );
    }
}
