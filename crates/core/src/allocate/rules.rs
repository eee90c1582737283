//! Datadog custom allocation rules ("arbitrary rules") exactly as the API sends them: the list
//! (`ArbitraryRuleResponseArray`), one rule (`ArbitraryRuleResponse`) and the create/update body
//! (`ArbitraryCostUpsertRequest`). Lenient like the rest of `model/`: unknown fields are ignored,
//! `null` and absent are the same, and required-by-method fields are checked by
//! [`super::validate`], which can name the rule and the field.

use std::cmp::Ordering;

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, Result};
use crate::model::decode;

/// `{"data":[…], "meta"?: {"total_count"?}}` — `GET /api/v2/cost/arbitrary_rule`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArbitraryRuleResponseArray {
    #[serde(default, deserialize_with = "null_as_default")]
    pub data: Vec<ArbitraryRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<ArbitraryRuleMeta>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArbitraryRuleMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_count: Option<i64>,
}

/// `{"data":{…}}` — one rule (create, get, update).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArbitraryRuleResponse {
    pub data: ArbitraryRule,
}

/// `{"data":{"type":"upsert_arbitrary_rule","id"?,"attributes":{…}}}` — the create/update body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArbitraryCostUpsertRequest {
    pub data: ArbitraryRule,
}

/// One rule: `{id, type, attributes}`. The id is a string in JSON (`"123"`); a number is
/// accepted too. Upsert bodies have no id (empty string here).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArbitraryRule {
    #[serde(default, deserialize_with = "string_or_number")]
    pub id: String,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub attributes: RuleAttributes,
}

/// The rule's attributes. Everything is optional here; see [`super::validate`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleAttributes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub costs_to_allocate: Option<Vec<Filter>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Absent means enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_user_uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<i64>,
    /// `processing`, `done` or `error` (GET only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
}

/// `{condition, tag, value?, values?}`. Real traffic sends `"value":""` beside `values`, and
/// `values: null` (or `[]`) beside `value`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    #[serde(default, deserialize_with = "null_as_default")]
    pub condition: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub tag: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub values: Option<Vec<String>>,
}

impl Filter {
    /// A filter taking `value` (`is`, `=`, `like`, …).
    pub fn value(tag: &str, condition: &str, value: &str) -> Filter {
        Filter {
            condition: condition.to_string(),
            tag: tag.to_string(),
            value: Some(value.to_string()),
            values: None,
        }
    }

    /// A filter taking `values` (`in`, `not in`).
    pub fn values(tag: &str, condition: &str, values: &[&str]) -> Filter {
        Filter {
            condition: condition.to_string(),
            tag: tag.to_string(),
            value: None,
            values: Some(values.iter().map(|v| v.to_string()).collect()),
        }
    }
}

/// `strategy`: only `method` is required by the schema; per-method requirements are validated.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Strategy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granularity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocated_by: Option<Vec<AllocatedBy>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocated_by_tag_keys: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocated_by_filters: Option<Vec<Filter>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub based_on_costs: Option<Vec<Filter>>,
    /// Kept as raw JSON: it is checked the way the server checks it (it may even be a string
    /// holding JSON, as Terraform sends it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub based_on_timeseries: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluate_grouped_by_tag_keys: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluate_grouped_by_filters: Option<Vec<Filter>>,
}

/// One `percent` share: `{allocated_tags:[{key,value}], percentage}` (a fraction, read as f64).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AllocatedBy {
    #[serde(default, deserialize_with = "null_as_default")]
    pub allocated_tags: Vec<AllocatedTag>,
    #[serde(default)]
    pub percentage: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocatedTag {
    #[serde(default, deserialize_with = "null_as_default")]
    pub key: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub value: String,
}

impl ArbitraryRule {
    /// `rule_name`, or empty.
    pub fn name(&self) -> &str {
        self.attributes.rule_name.as_deref().unwrap_or("")
    }

    /// Disabled only when `enabled` is `false`.
    pub fn enabled(&self) -> bool {
        self.attributes.enabled.unwrap_or(true)
    }

    /// `strategy.method`, or empty.
    pub fn method(&self) -> &str {
        self.attributes
            .strategy
            .as_ref()
            .and_then(|s| s.method.as_deref())
            .unwrap_or("")
    }

    /// How errors name the rule: `"name" (id 123)`.
    pub fn label(&self) -> String {
        if self.id.is_empty() {
            format!("{:?}", self.name())
        } else {
            format!("{:?} (id {})", self.name(), self.id)
        }
    }
}

/// Contract §2a: ascending `order_id` (absent last), then numeric `id` (non-numeric ids after
/// numeric ones, by text), then `created`.
pub fn rule_order(a: &ArbitraryRule, b: &ArbitraryRule) -> Ordering {
    let order = |r: &ArbitraryRule| r.attributes.order_id.unwrap_or(i64::MAX);
    let id = |r: &ArbitraryRule| match r.id.trim().parse::<u64>() {
        Ok(n) => (0u8, n, String::new()),
        Err(_) => (1u8, 0, r.id.clone()),
    };
    order(a)
        .cmp(&order(b))
        .then_with(|| id(a).cmp(&id(b)))
        .then_with(|| a.attributes.created.cmp(&b.attributes.created))
}

/// The rules sorted by [`rule_order`] (stable).
pub fn sort_rules(rules: &mut [ArbitraryRule]) {
    rules.sort_by(rule_order);
}

/// Parses any of the three shapes: a list response (`data` is an array), a single rule
/// response or an upsert request (`data` is an object), or a bare array of rules.
/// Errors are `DECODE` with the JSON path.
pub fn parse_rules(text: &str) -> Result<Vec<ArbitraryRule>> {
    let top: serde_json::Value = decode("allocation rules", text)?;
    match top.get("data") {
        Some(serde_json::Value::Array(_)) => {
            Ok(decode::<ArbitraryRuleResponseArray>("allocation rules", text)?.data)
        }
        Some(serde_json::Value::Object(_)) => Ok(vec![
            decode::<ArbitraryRuleResponse>("allocation rule", text)?.data,
        ]),
        None if top.is_array() => decode::<Vec<ArbitraryRule>>("allocation rules", text),
        _ => Err(Error::decode(
            "allocation rules",
            "data",
            "expected {\"data\": [rules]} or {\"data\": rule}",
            Some(text),
        )),
    }
}

fn null_as_default<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn string_or_number<'de, D>(d: D) -> std::result::Result<String, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Int(i64),
        Null(()),
    }
    Ok(match Id::deserialize(d)? {
        Id::Text(s) => s,
        Id::Int(n) => n.to_string(),
        Id::Null(()) => String::new(),
    })
}
