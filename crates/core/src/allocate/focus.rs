//! FOCUS 1.3 split-cost-allocation columns for allocation output lines (`reference/focus.md`,
//! `allocation.md` §2g).
//!
//! - `AllocatedMethodId`: the rule id.
//! - `AllocatedMethodDetails`: `{"Elements":[{"AllocatedRatio":r, …}]}` as JSON text; the
//!   custom keys are prefixed `x_`: `x_AllocationMethod`, `x_RuleName`, `x_SourceIndex`,
//!   `x_SourceLineId` (when the source line has an id), and on a remainder row
//!   `x_AllocationStatus: "unallocated"` with `x_AllocationReason`.
//! - `AllocatedResourceId` / `AllocatedResourceName`: null (destinations are tag values, not
//!   resources).
//! - `AllocatedTags`: the destination tags as a KeyValueFormat JSON object.
//! - `Tags`: the row's other tags (the origin's, without the destination keys and without the
//!   audit tags, which travel in `AllocatedMethodDetails`), so `AllocatedTags` never repeats a
//!   tag of `Tags`.
//!
//! Rows: one per output line, in output order. Allocated lines get the columns; so does the
//! unallocated remainder of a split (a `percent` rule summing to less than 1), so the
//! `AllocatedRatio` values of one origin charge sum to 1. Unchanged lines and lines a rule could
//! not split at all are not allocation rows: their `Allocated*` columns are null.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::engine::{AllocatedLine, AllocationResult, LineStatus, AUDIT_TAGS};

/// The FOCUS 1.3 `Allocated*` column names, in the header's order.
pub const ALLOCATED_COLUMNS: [&str; 5] = [
    "AllocatedMethodId",
    "AllocatedMethodDetails",
    "AllocatedResourceId",
    "AllocatedResourceName",
    "AllocatedTags",
];

/// The allocation columns of one output line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FocusAllocationRow {
    /// Index of the line in [`AllocationResult::lines`].
    #[serde(skip)]
    pub line_index: usize,
    #[serde(rename = "AllocatedMethodId")]
    pub allocated_method_id: Option<String>,
    #[serde(rename = "AllocatedMethodDetails")]
    pub allocated_method_details: Option<String>,
    #[serde(rename = "AllocatedResourceId")]
    pub allocated_resource_id: Option<String>,
    #[serde(rename = "AllocatedResourceName")]
    pub allocated_resource_name: Option<String>,
    /// KeyValueFormat JSON object text.
    #[serde(rename = "AllocatedTags")]
    pub allocated_tags: Option<String>,
    /// KeyValueFormat JSON object text (see the module documentation).
    #[serde(rename = "Tags")]
    pub tags: String,
}

/// Whether the line is an allocation row (allocated, or the remainder of a split).
pub fn is_allocation_row(line: &AllocatedLine) -> bool {
    match line.status {
        LineStatus::Allocated => true,
        LineStatus::Unallocated => line.ratio.is_some(),
        LineStatus::Unchanged => false,
    }
}

/// The allocation columns of one output line (`line_index` is its place in the result).
pub fn focus_allocation_row(line_index: usize, line: &AllocatedLine) -> FocusAllocationRow {
    let allocation = is_allocation_row(line);
    let tags: BTreeMap<&str, &str> = line
        .tags
        .iter()
        .filter(|(k, _)| !line.destination_tags.contains_key(*k))
        .filter(|(k, _)| !allocation || !AUDIT_TAGS.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let tags = json!(tags).to_string();
    if !allocation {
        return FocusAllocationRow {
            line_index,
            allocated_method_id: None,
            allocated_method_details: None,
            allocated_resource_id: None,
            allocated_resource_name: None,
            allocated_tags: None,
            tags,
        };
    }
    let mut element = Map::new();
    element.insert(
        "AllocatedRatio".into(),
        line.ratio
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
    );
    element.insert(
        "x_AllocationMethod".into(),
        json!(line.method.as_deref().unwrap_or("")),
    );
    element.insert(
        "x_RuleName".into(),
        json!(line.rule_name.as_deref().unwrap_or("")),
    );
    element.insert("x_SourceIndex".into(), json!(line.source_index));
    if let Some(id) = &line.source_id {
        element.insert("x_SourceLineId".into(), json!(id));
    }
    if line.status == LineStatus::Unallocated {
        element.insert("x_AllocationStatus".into(), json!("unallocated"));
        if let Some(r) = &line.reason {
            element.insert("x_AllocationReason".into(), json!(r));
        }
    }
    let details = json!({ "Elements": [Value::Object(element)] }).to_string();
    FocusAllocationRow {
        line_index,
        allocated_method_id: line.rule_id.clone(),
        allocated_method_details: Some(details),
        allocated_resource_id: None,
        allocated_resource_name: None,
        allocated_tags: Some(json!(line.destination_tags).to_string()),
        tags,
    }
}

/// One row per output line of `result`, in output order.
pub fn focus_allocation_rows(result: &AllocationResult) -> Vec<FocusAllocationRow> {
    result
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| focus_allocation_row(i, l))
        .collect()
}
