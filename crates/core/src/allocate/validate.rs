//! Rule validation per method (reference §1.3, §1.4, §2c–d). Errors are `RULE_INVALID`, name
//! the rule (name and id) and the field as a JSON path under `attributes`
//! (`strategy.allocated_by[1].percentage`).

use std::collections::BTreeSet;

use serde_json::Value;

use super::filter::{is_known_condition, takes_values};
use super::rules::{ArbitraryRule, Filter};
use crate::error::{Error, Result};
use crate::money::Amount;

/// Methods dps-cost can apply. `even_timeseries` is unconfirmed at Datadog; it is accepted and
/// splits evenly over the driver's destinations.
pub const METHODS: &[&str] = &[
    "even",
    "percent",
    "proportional",
    "proportional_timeseries",
    "even_timeseries",
];

/// Tolerance on Σ percentage above 1 (contract §2d).
pub const PERCENT_TOLERANCE: f64 = 1e-9;

/// A `based_on_timeseries` problem: the server's summary (`Invalid queries`) and a detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeseriesError {
    pub summary: String,
    pub detail: String,
    /// JSON path below `based_on_timeseries` (`queries[1].name`), empty for the whole value.
    pub path: String,
}

fn ts_err(summary: &str, detail: String, path: String) -> TimeseriesError {
    TimeseriesError {
        summary: summary.to_string(),
        detail,
        path,
    }
}

/// `based_on_timeseries` as the server's `validateTimeseriesBasedRule` checks it (§1.3). A JSON
/// string is parsed first (Terraform sends the request as JSON text). Returns the parsed object.
pub fn check_based_on_timeseries(
    value: &Value,
) -> std::result::Result<serde_json::Map<String, Value>, TimeseriesError> {
    let parsed;
    let value = match value {
        Value::String(text) => {
            parsed = serde_json::from_str::<Value>(text).map_err(|e| {
                ts_err(
                    "Invalid based_on_timeseries",
                    format!("not valid JSON: {e}"),
                    String::new(),
                )
            })?;
            &parsed
        }
        v => v,
    };
    let Value::Object(obj) = value else {
        return Err(ts_err(
            "Invalid based_on_timeseries",
            format!("must be a JSON object, got {}", type_name(value)),
            String::new(),
        ));
    };
    if let Some(rf) = obj.get("response_format") {
        if rf.as_str() != Some("timeseries") {
            return Err(ts_err(
                "Invalid response_format",
                format!("response_format must be \"timeseries\", got {rf}"),
                "response_format".into(),
            ));
        }
    }
    let queries = match obj.get("queries") {
        None | Some(Value::Null) => {
            return Err(ts_err(
                "Missing queries",
                "queries is required".into(),
                "queries".into(),
            ))
        }
        Some(Value::Array(q)) if !q.is_empty() => q,
        Some(Value::Array(_)) => {
            return Err(ts_err(
                "Invalid queries",
                "queries must not be empty".into(),
                "queries".into(),
            ))
        }
        Some(other) => {
            return Err(ts_err(
                "Invalid queries",
                format!("queries must be an array, got {}", type_name(other)),
                "queries".into(),
            ))
        }
    };
    let mut names = BTreeSet::new();
    for (i, q) in queries.iter().enumerate() {
        let Value::Object(q) = q else {
            return Err(ts_err(
                "Invalid query",
                format!("queries[{i}] must be an object, got {}", type_name(q)),
                format!("queries[{i}]"),
            ));
        };
        let name = q.get("name").and_then(Value::as_str).unwrap_or("");
        if name.is_empty() {
            return Err(ts_err(
                "Missing query name",
                format!("queries[{i}].name is required"),
                format!("queries[{i}].name"),
            ));
        }
        let source = q.get("data_source").and_then(Value::as_str).unwrap_or("");
        if source.is_empty() {
            return Err(ts_err(
                "Missing data_source",
                format!("queries[{i}].data_source is required"),
                format!("queries[{i}].data_source"),
            ));
        }
        if !names.insert(name.to_string()) {
            return Err(ts_err(
                "Duplicate query name",
                format!("query name {name:?} is used more than once"),
                format!("queries[{i}].name"),
            ));
        }
    }
    match obj.get("formulas") {
        None | Some(Value::Null) => {}
        Some(Value::Array(formulas)) => {
            for (i, f) in formulas.iter().enumerate() {
                let text = f.get("formula").and_then(Value::as_str).unwrap_or("");
                if text.trim().is_empty() {
                    return Err(ts_err(
                        "Missing formula",
                        format!("formulas[{i}].formula is required"),
                        format!("formulas[{i}].formula"),
                    ));
                }
                let t = text.trim();
                if is_identifier(t) && !names.contains(t) {
                    return Err(ts_err(
                        "Unknown query reference",
                        format!("formulas[{i}] references query {t:?}, which is not defined"),
                        format!("formulas[{i}].formula"),
                    ));
                }
            }
        }
        Some(other) => {
            return Err(ts_err(
                "Invalid formulas",
                format!("formulas must be an array, got {}", type_name(other)),
                "formulas".into(),
            ))
        }
    }
    Ok(obj.clone())
}

/// The group-by keys a timeseries request exposes: `… by {a,b}` in `query` texts (also in
/// `base_query`) and `group_by[].facet`.
pub fn timeseries_group_by(obj: &serde_json::Map<String, Value>) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    if let Some(Value::Array(queries)) = obj.get("queries") {
        for q in queries {
            collect_group_by(q, &mut keys);
        }
    }
    keys
}

fn collect_group_by(q: &Value, keys: &mut BTreeSet<String>) {
    if let Some(text) = q.get("query").and_then(Value::as_str) {
        keys.extend(query_group_by(text));
    }
    if let Some(Value::Array(groups)) = q.get("group_by") {
        for g in groups {
            if let Some(f) = g.get("facet").and_then(Value::as_str) {
                keys.insert(f.to_string());
            }
        }
    }
    if let Some(base) = q.get("base_query") {
        collect_group_by(base, keys);
    }
}

/// The keys of `by {a, b}` in a metrics query text.
pub fn query_group_by(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(" by ") {
        rest = rest[i + 4..].trim_start();
        if let Some(body) = rest.strip_prefix('{') {
            if let Some(end) = body.find('}') {
                out.extend(
                    body[..end]
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string),
                );
                rest = &body[end..];
            }
        }
    }
    out
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Validates one rule for the engine: required fields per method, known operators, `value` vs
/// `values`, `percent` shares, `based_on_timeseries`.
pub fn validate_rule(rule: &ArbitraryRule) -> Result<()> {
    let err = |field: &str, message: String| Error::RuleInvalid {
        rule: rule.label(),
        field: field.to_string(),
        message,
    };
    let a = &rule.attributes;
    if a.rule_name.as_deref().unwrap_or("").is_empty() {
        return Err(err("rule_name", "is required".into()));
    }
    let Some(costs) = &a.costs_to_allocate else {
        return Err(err("costs_to_allocate", "is required".into()));
    };
    check_filters(rule, "costs_to_allocate", costs)?;
    match &a.provider {
        Some(p) if !p.is_empty() => {
            if let Some(i) = p.iter().position(|p| p.is_empty()) {
                return Err(err(&format!("provider[{i}]"), "must not be empty".into()));
            }
        }
        _ => {
            return Err(err(
                "provider",
                "is required (at least one provider)".into(),
            ))
        }
    }
    let Some(s) = &a.strategy else {
        return Err(err("strategy", "is required".into()));
    };
    let method = s.method.as_deref().unwrap_or("");
    if method.is_empty() {
        return Err(err("strategy.method", "is required".into()));
    }
    if !METHODS.contains(&method) {
        return Err(err(
            "strategy.method",
            format!("unknown method {method:?} (known: {})", METHODS.join(", ")),
        ));
    }
    for (name, list) in [
        ("strategy.allocated_by_filters", &s.allocated_by_filters),
        ("strategy.based_on_costs", &s.based_on_costs),
        (
            "strategy.evaluate_grouped_by_filters",
            &s.evaluate_grouped_by_filters,
        ),
    ] {
        if let Some(list) = list {
            check_filters(rule, name, list)?;
        }
    }
    for (name, keys) in [
        ("strategy.allocated_by_tag_keys", &s.allocated_by_tag_keys),
        (
            "strategy.evaluate_grouped_by_tag_keys",
            &s.evaluate_grouped_by_tag_keys,
        ),
    ] {
        if let Some(i) = keys.iter().flatten().position(|k| k.is_empty()) {
            return Err(err(&format!("{name}[{i}]"), "must not be empty".into()));
        }
    }
    if method != "percent" {
        match s.granularity.as_deref() {
            Some("daily") | Some("monthly") => {}
            None => return Err(err("strategy.granularity", "is required".into())),
            Some(g) => {
                return Err(err(
                    "strategy.granularity",
                    format!("must be \"daily\" or \"monthly\", got {g:?}"),
                ))
            }
        }
    } else if let Some(g) = s.granularity.as_deref() {
        if g != "daily" && g != "monthly" {
            return Err(err(
                "strategy.granularity",
                format!("must be \"daily\" or \"monthly\", got {g:?}"),
            ));
        }
    }
    match method {
        "percent" => check_percent(rule)?,
        "even" | "proportional" => {
            if s.allocated_by_tag_keys.as_ref().is_none_or(Vec::is_empty) {
                return Err(err(
                    "strategy.allocated_by_tag_keys",
                    format!("is required for method {method:?}"),
                ));
            }
        }
        _ => {
            let Some(ts) = &s.based_on_timeseries else {
                return Err(err(
                    "strategy.based_on_timeseries",
                    format!("is required for method {method:?}"),
                ));
            };
            let obj = check_based_on_timeseries(ts).map_err(|e| {
                let field = if e.path.is_empty() {
                    "strategy.based_on_timeseries".to_string()
                } else {
                    format!("strategy.based_on_timeseries.{}", e.path)
                };
                err(&field, format!("{}: {}", e.summary, e.detail))
            })?;
            if let Some(keys) = &s.evaluate_grouped_by_tag_keys {
                let group_by = timeseries_group_by(&obj);
                if let Some((i, k)) = keys
                    .iter()
                    .enumerate()
                    .find(|(_, k)| !group_by.contains(*k))
                {
                    return Err(err(
                        &format!("strategy.evaluate_grouped_by_tag_keys[{i}]"),
                        format!("{k:?} is not in the group-by of based_on_timeseries"),
                    ));
                }
            }
        }
    }
    Ok(())
}

fn check_percent(rule: &ArbitraryRule) -> Result<()> {
    let err = |field: String, message: String| Error::RuleInvalid {
        rule: rule.label(),
        field,
        message,
    };
    let shares = rule
        .attributes
        .strategy
        .as_ref()
        .and_then(|s| s.allocated_by.as_ref());
    let Some(shares) = shares.filter(|s| !s.is_empty()) else {
        return Err(err(
            "strategy.allocated_by".into(),
            "is required for method \"percent\"".into(),
        ));
    };
    let mut sum = Amount::ZERO;
    for (i, share) in shares.iter().enumerate() {
        let field = format!("strategy.allocated_by[{i}].percentage");
        let Some(p) = share.percentage else {
            return Err(err(field, "is required".into()));
        };
        let amount = match Amount::from_f64(p) {
            Some(a) if a.0 >= 0 => a,
            _ => {
                return Err(err(
                    field,
                    format!("must be a finite fraction ≥ 0, got {p}"),
                ))
            }
        };
        sum = sum
            .checked_add(amount)
            .ok_or_else(|| err(field.clone(), "is too large".into()))?;
        if share.allocated_tags.is_empty() {
            return Err(err(
                format!("strategy.allocated_by[{i}].allocated_tags"),
                "must name at least one tag".into(),
            ));
        }
        if let Some(j) = share.allocated_tags.iter().position(|t| t.key.is_empty()) {
            return Err(err(
                format!("strategy.allocated_by[{i}].allocated_tags[{j}].key"),
                "must not be empty".into(),
            ));
        }
    }
    if sum.0 > crate::allocate::money::ONE_SHARE + crate::allocate::money::SHARE_TOLERANCE {
        return Err(err(
            "strategy.allocated_by".into(),
            format!(
                "percentages sum to {} (more than 1; shares are fractions)",
                sum.to_f64()
            ),
        ));
    }
    Ok(())
}

fn check_filters(rule: &ArbitraryRule, list: &str, filters: &[Filter]) -> Result<()> {
    let err = |field: String, message: String| Error::RuleInvalid {
        rule: rule.label(),
        field,
        message,
    };
    for (i, f) in filters.iter().enumerate() {
        let at = format!("{list}[{i}]");
        if f.tag.is_empty() {
            return Err(err(format!("{at}.tag"), "is required".into()));
        }
        if f.condition.is_empty() {
            return Err(err(format!("{at}.condition"), "is required".into()));
        }
        if !is_known_condition(&f.condition) {
            return Err(err(
                format!("{at}.condition"),
                format!("unknown operator {:?}", f.condition),
            ));
        }
        if takes_values(&f.condition) {
            if f.values.is_none() {
                return Err(err(
                    format!("{at}.values"),
                    format!("is required for {:?}", f.condition),
                ));
            }
            if f.value.as_deref().is_some_and(|v| !v.is_empty()) {
                return Err(err(
                    format!("{at}.value"),
                    format!("must be empty for {:?} (use values)", f.condition),
                ));
            }
        } else {
            if f.value.is_none() {
                return Err(err(
                    format!("{at}.value"),
                    format!("is required for {:?}", f.condition),
                ));
            }
            if f.values.as_ref().is_some_and(|v| !v.is_empty()) {
                return Err(err(
                    format!("{at}.values"),
                    format!("must be empty for {:?} (use value)", f.condition),
                ));
            }
        }
    }
    Ok(())
}
