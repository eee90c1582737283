//! `dps.cost.allocated`: one flat business event per allocated or unallocated output line of
//! [`crate::allocate::allocate`] (unchanged lines are not events).
//!
//! Fields: `event.id`, `event.type`, `event.provider`, `schemaVersion` (1), `date`,
//! `startTime`/`endTime` (the UTC day), `cost` (number), `costMicros`, `currency`,
//! `allocationStatus` (`allocated` / `unallocated`), `ruleId`, `ruleName`, `method`, `ratio`?,
//! `reason`?, `sourceLineId`?, then the tags flattened:
//! - `tag.<key>`: every tag of the output line except the audit tags (`allocated_by_rule`, …,
//!   which are the fields above), i.e. the source tags with the destination's tags applied;
//! - `destination.<key>`: the destination tags alone (allocated lines), to group by receiver.
//!
//! No `timestamp`: Dynatrace stamps the ingest time.
//!
//! `event.id` is [`event_id`] over the natural key: type, date, currency, the source line id
//! (else the line's source tag set, as canonical JSON), rule id, status and the destination tags
//! (canonical JSON). It does not depend on the input line order; two input lines with neither
//! id nor any distinguishing tag on the same day are the same natural key.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::allocate::engine::{AllocatedLine, AllocationResult, LineStatus, AUDIT_TAGS};
use crate::allocate::order::map_of;
use crate::events::bizevents::{PROVIDER, SCHEMA_VERSION};
use crate::events::event_id::event_id;
use crate::time::{format_date, parse_date};

/// `event.type` of an allocation output line.
pub const TYPE_COST_ALLOCATED: &str = "dps.cost.allocated";
/// Prefix of the flattened line tags.
pub const TAG_PREFIX: &str = "tag.";
/// Prefix of the flattened destination tags.
pub const DESTINATION_PREFIX: &str = "destination.";

/// `dps.cost.allocated`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostAllocatedEvent {
    #[serde(rename = "event.id")]
    pub event_id: String,
    #[serde(rename = "event.type")]
    pub event_type: &'static str,
    #[serde(rename = "event.provider")]
    pub event_provider: &'static str,
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    /// `YYYY-MM-DD`.
    pub date: String,
    #[serde(rename = "startTime")]
    pub start_time: String,
    #[serde(rename = "endTime")]
    pub end_time: String,
    pub cost: f64,
    #[serde(rename = "costMicros")]
    pub cost_micros: i64,
    pub currency: String,
    /// `allocated` or `unallocated`.
    #[serde(rename = "allocationStatus")]
    pub allocation_status: &'static str,
    #[serde(rename = "ruleId")]
    pub rule_id: String,
    #[serde(rename = "ruleName")]
    pub rule_name: String,
    pub method: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(rename = "sourceLineId", skip_serializing_if = "Option::is_none")]
    pub source_line_id: Option<String>,
    /// `tag.<key>` and `destination.<key>` fields.
    #[serde(flatten)]
    pub tags: BTreeMap<String, String>,
}

fn canonical(tags: &BTreeMap<&str, &str>) -> String {
    serde_json::to_string(tags).unwrap_or_default()
}

/// The event of one output line; `None` for unchanged lines.
pub fn cost_allocated_event(line: &AllocatedLine) -> Option<CostAllocatedEvent> {
    let status = match line.status {
        LineStatus::Allocated => "allocated",
        LineStatus::Unallocated => "unallocated",
        LineStatus::Unchanged => return None,
    };
    let rule_id = line.rule_id.clone().unwrap_or_default();
    let dest: BTreeMap<&str, &str> = map_of(
        line.destination_tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    let source: BTreeMap<&str, &str> = map_of(
        line.tags
            .iter()
            .filter(|(k, _)| !AUDIT_TAGS.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    let source_key = match &line.source_id {
        Some(id) => format!("id:{id}"),
        None => {
            let only_source: BTreeMap<&str, &str> = map_of(
                source
                    .iter()
                    .filter(|(k, _)| !dest.contains_key(*k))
                    .map(|(k, v)| (*k, *v)),
            );
            format!("tags:{}", canonical(&only_source))
        }
    };
    let dest_key = canonical(&dest);
    let id = event_id(&[
        TYPE_COST_ALLOCATED,
        &line.date,
        &line.currency,
        &source_key,
        &rule_id,
        status,
        &dest_key,
    ]);
    let (start_time, end_time) = match parse_date(&line.date) {
        Some(day) => (
            format!("{}T00:00:00.000Z", format_date(day)),
            format!("{}T00:00:00.000Z", format_date(day + 1)),
        ),
        None => (line.date.clone(), line.date.clone()),
    };
    let mut tags: BTreeMap<String, String> = map_of(
        source
            .iter()
            .map(|(k, v)| (format!("{TAG_PREFIX}{k}"), v.to_string())),
    );
    tags.extend(
        dest.iter()
            .map(|(k, v)| (format!("{DESTINATION_PREFIX}{k}"), v.to_string())),
    );
    Some(CostAllocatedEvent {
        event_id: id,
        event_type: TYPE_COST_ALLOCATED,
        event_provider: PROVIDER,
        schema_version: SCHEMA_VERSION,
        date: line.date.clone(),
        start_time,
        end_time,
        cost: line.cost,
        cost_micros: line.cost_micros,
        currency: line.currency.clone(),
        allocation_status: status,
        rule_id,
        rule_name: line.rule_name.clone().unwrap_or_default(),
        method: line.method.clone().unwrap_or_default(),
        ratio: line.ratio,
        reason: line.reason.clone(),
        source_line_id: line.source_id.clone(),
        tags,
    })
}

/// The events of every allocated and unallocated line of `result`, in output order.
pub fn cost_allocated_events(result: &AllocationResult) -> Vec<CostAllocatedEvent> {
    result
        .lines
        .iter()
        .filter_map(cost_allocated_event)
        .collect()
}
