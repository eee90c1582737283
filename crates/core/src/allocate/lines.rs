//! Dynatrace cost lines for the engine, with the tag model of the contract (§2h):
//! `provider=dynatrace`, `account`, `subscription`, `environment`, `capability` (and `cluster`
//! when there is one), `costcenter` or `product` from the cost-allocation breakdown, and the
//! caller's tags per environment (e.g. `team`, `env`).
//!
//! One line per environment × capability × day of the v3 per-environment cost. With a breakdown,
//! that line is split into one line per cost center (or product) plus the rest (the
//! unallocated share and anything the breakdown does not cover) without the tag; the pieces sum
//! to the original cost exactly, in micro-units.

use std::collections::BTreeMap;

use crate::hash::HashMap;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::model::allocation::AllocationField;
use crate::model::allocation::AllocationRecord;
use crate::model::usage::{EnvCostRecord, EnvironmentRecords};
use crate::time::{format_date, ms_per_day, parse_timestamp_ms};

use super::engine::CostLine;
use super::money::{micros_from_f64, micros_to_f64};

/// Tags the builder sets; caller tags may not override them.
pub const BASE_TAGS: [&str; 8] = [
    "provider",
    "account",
    "account_name",
    "subscription",
    "environment",
    "cluster",
    "capability",
    "costcenter",
];

/// The cost-allocation breakdown of one environment (`costAllocation` of dps-cost).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvironmentBreakdown {
    pub environment_id: String,
    pub records: Vec<AllocationRecord>,
}

/// Breakdown records of one dimension.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Breakdown {
    /// `COSTCENTER` (tag `costcenter`) or `PRODUCT` (tag `product`).
    #[cfg_attr(feature = "tsify", tsify(type = "AllocationField"))]
    pub field: String,
    pub environments: Vec<EnvironmentBreakdown>,
}

/// What the builder needs (the JS `costLines` input).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CostLinesInput {
    pub account_uuid: String,
    pub subscription_uuid: String,
    #[serde(default)]
    pub account_name: Option<String>,
    /// `environmentCost` output: environments with their cost records.
    pub environments: Vec<EnvironmentRecords<EnvCostRecord>>,
    #[serde(default)]
    pub breakdown: Option<Breakdown>,
    /// Extra tags per environment id.
    #[serde(default)]
    pub environment_tags: BTreeMap<String, BTreeMap<String, String>>,
    /// Currency of records that carry none.
    #[serde(default)]
    pub currency: Option<String>,
}

fn day_of(s: &str, field: &str) -> Result<String> {
    parse_timestamp_ms(s)
        .map(|ms| format_date(ms.div_euclid(ms_per_day())))
        .ok_or_else(|| {
            Error::invalid(
                field,
                format!(
                    "`{}` is not a date or timestamp",
                    s.chars().take(40).collect::<String>()
                ),
            )
        })
}

/// The engine's input lines from Dynatrace data. Deterministic: environments, then records, in
/// input order; split pieces by key.
pub fn cost_lines(input: &CostLinesInput) -> Result<Vec<CostLine>> {
    // They become the `account` and `subscription` tags: the same checks as everywhere else.
    crate::validate::check_uuid("accountUuid", &input.account_uuid)?;
    crate::validate::check_uuid("subscriptionUuid", &input.subscription_uuid)?;
    let tag_key = match &input.breakdown {
        Some(b) => Some(
            match AllocationField::parse(&b.field)
                .map_err(|_| Error::invalid("breakdown.field", "must be COSTCENTER or PRODUCT"))?
            {
                AllocationField::Costcenter => "costcenter",
                AllocationField::Product => "product",
            },
        ),
        None => None,
    };
    for (env, tags) in &input.environment_tags {
        for k in tags.keys() {
            if BASE_TAGS.contains(&k.as_str()) || Some(k.as_str()) == tag_key || k == "product" {
                return Err(Error::invalid(
                    format!("environmentTags.{env}.{k}"),
                    "is set by dps-cost from the Dynatrace data",
                ));
            }
        }
    }
    // (environment, day, capability) → the breakdown's keyed shares
    let mut shares: HashMap<(String, String, String), Vec<(String, f64)>> = HashMap::default();
    if let Some(b) = &input.breakdown {
        for (i, env) in b.environments.iter().enumerate() {
            for (j, r) in env.records.iter().enumerate() {
                let Some(key) = r.key.clone().filter(|k| !k.is_empty()) else {
                    continue;
                };
                if !r.costs.is_finite() {
                    return Err(Error::invalid(
                        format!("breakdown.environments[{i}].records[{j}].costs"),
                        "must be a finite number",
                    ));
                }
                let day = day_of(
                    &r.date,
                    &format!("breakdown.environments[{i}].records[{j}].date"),
                )?;
                let cap = r.capability.clone().unwrap_or_default();
                shares
                    .entry((env.environment_id.clone(), day, cap))
                    .or_default()
                    .push((key, r.costs));
            }
        }
    }
    let mut out = Vec::new();
    for (i, env) in input.environments.iter().enumerate() {
        for (j, r) in env.records.iter().enumerate() {
            let field = format!("environments[{i}].records[{j}]");
            let day = day_of(&r.start_time, &format!("{field}.startTime"))?;
            let total = micros_from_f64(r.value).ok_or_else(|| {
                Error::invalid(format!("{field}.value"), "must be a finite amount")
            })?;
            let currency = r
                .currency_code
                .clone()
                .or_else(|| input.currency.clone())
                .unwrap_or_else(|| "USD".to_string());
            let mut tags = BTreeMap::new();
            tags.insert("provider".to_string(), "dynatrace".to_string());
            tags.insert("account".to_string(), input.account_uuid.clone());
            if let Some(n) = &input.account_name {
                tags.insert("account_name".to_string(), n.clone());
            }
            tags.insert("subscription".to_string(), input.subscription_uuid.clone());
            tags.insert("environment".to_string(), env.environment_id.clone());
            if let Some(c) = &env.cluster_id {
                tags.insert("cluster".to_string(), c.clone());
            }
            tags.insert("capability".to_string(), r.capability_key.clone());
            if let Some(extra) = input.environment_tags.get(&env.environment_id) {
                tags.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            let id = format!("{}|{}|{}", env.environment_id, r.capability_key, day);
            let mut rest = total;
            let mut split = false;
            let mut pieces = shares
                .get(&(
                    env.environment_id.clone(),
                    day.clone(),
                    r.capability_key.clone(),
                ))
                .cloned()
                .unwrap_or_default();
            sort_by_key_stably(&mut pieces);
            if let Some(key_tag) = tag_key {
                for (key, cost) in pieces {
                    let micros = micros_from_f64(cost).ok_or_else(|| {
                        Error::invalid(format!("{field}.breakdown"), "must be a finite amount")
                    })?;
                    rest -= micros;
                    split = true;
                    let mut t = tags.clone();
                    t.insert(key_tag.to_string(), key.clone());
                    out.push(CostLine {
                        id: Some(format!("{id}|{key}")),
                        date: day.clone(),
                        cost: micros_to_f64(micros),
                        currency: currency.clone(),
                        tags: t,
                    });
                }
            }
            if rest != 0 || !split {
                out.push(CostLine {
                    id: Some(id),
                    date: day,
                    cost: micros_to_f64(rest),
                    currency,
                    tags,
                });
            }
        }
    }
    Ok(out)
}

/// `pieces.sort_by(|a, b| a.0.cmp(&b.0))`, written out: an insertion sort (stable; a day's
/// pieces are the few cost centers or products of one environment × capability). The standard
/// stable sort's code for this element type is ~14 KB of the Workflow module, which builds cost
/// lines only for its FOCUS delivery.
fn sort_by_key_stably(pieces: &mut [(String, f64)]) {
    for i in 1..pieces.len() {
        let mut j = i;
        while j > 0 && pieces[j - 1].0 > pieces[j].0 {
            pieces.swap(j - 1, j);
            j -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(breakdown: Option<serde_json::Value>, env_tags: serde_json::Value) -> CostLinesInput {
        let mut v = serde_json::json!({
            "accountUuid": "3f7c2d1e-8a4b-4c6d-9e0f-1a2b3c4d5e6f", "subscriptionUuid": "5d0c8a7e-1b2f-4c3d-8e4f-a0b1c2d3e4f5", "accountName": "ACME",
            "environments": [
                {"environmentId": "prod", "records": [
                    {"startTime": "2026-11-01T00:00:00Z", "value": 10.0, "currencyCode": "EUR", "capabilityKey": "LOGS"},
                    {"startTime": "2026-11-01T00:00:00Z", "value": 0.3, "currencyCode": "EUR", "capabilityKey": "HOSTS"}
                ]},
                {"environmentId": "stage", "clusterId": "c1", "cost": [{"startTime": "2026-11-02", "value": 1.5, "capabilityKey": "LOGS"}]}
            ],
            "environmentTags": env_tags
        });
        if let Some(b) = breakdown {
            v["breakdown"] = b;
        }
        serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn one_line_per_record_with_the_tag_model() {
        let lines = cost_lines(&input(None, serde_json::json!({"prod": {"team": "web"}})))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(lines.len(), 3);
        let t = &lines[0].tags;
        let want = [
            ("provider", "dynatrace"),
            ("account", "3f7c2d1e-8a4b-4c6d-9e0f-1a2b3c4d5e6f"),
            ("account_name", "ACME"),
            ("subscription", "5d0c8a7e-1b2f-4c3d-8e4f-a0b1c2d3e4f5"),
            ("environment", "prod"),
            ("capability", "LOGS"),
            ("team", "web"),
        ];
        assert_eq!(t.len(), want.len());
        for (k, v) in want {
            assert_eq!(t.get(k).map(String::as_str), Some(v), "{k}");
        }
        assert_eq!(
            (lines[0].date.as_str(), lines[0].currency.as_str()),
            ("2026-11-01", "EUR")
        );
        assert_eq!(lines[2].tags.get("cluster").map(String::as_str), Some("c1"));
        assert_eq!(
            lines[2].currency, "USD",
            "no currency on the record: the default"
        );
    }

    #[test]
    fn a_breakdown_splits_exactly_and_keeps_the_rest_untagged() {
        let b = serde_json::json!({"field": "COSTCENTER", "environments": [{"environmentId": "prod", "records": [
            {"date": "2026-11-01", "capability": "LOGS", "key": "team-b", "costs": 3.3333335},
            {"date": "2026-11-01", "capability": "LOGS", "key": "team-a", "costs": 4.1},
            {"date": "2026-11-01", "capability": "LOGS", "key": null, "costs": 2.5666665}
        ]}]});
        let lines =
            cost_lines(&input(Some(b), serde_json::json!({}))).unwrap_or_else(|e| panic!("{e}"));
        let logs: Vec<(Option<&str>, f64)> = lines
            .iter()
            .filter(|l| l.tags["environment"] == "prod" && l.tags["capability"] == "LOGS")
            .map(|l| (l.tags.get("costcenter").map(String::as_str), l.cost))
            .collect();
        assert_eq!(
            logs,
            vec![
                (Some("team-a"), 4.1),
                (Some("team-b"), 3.333334),
                (None, 2.566666)
            ]
        );
        let micros: i128 = logs
            .iter()
            .map(|(_, c)| micros_from_f64(*c).unwrap_or(0))
            .sum();
        assert_eq!(micros, 10_000_000, "the pieces sum to the record exactly");
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.tags["capability"] == "HOSTS")
                .count(),
            1,
            "no breakdown: one line"
        );
    }

    #[test]
    fn caller_tags_cannot_override_dynatrace_tags() {
        for key in ["environment", "provider", "costcenter", "product"] {
            let e = cost_lines(&input(None, serde_json::json!({"prod": {key: "x"}})))
                .err()
                .unwrap_or_else(|| panic!("{key}"));
            assert_eq!(
                (e.code(), e.field()),
                (
                    "INVALID_INPUT",
                    Some(format!("environmentTags.prod.{key}").as_str())
                )
            );
        }
        let bad = serde_json::json!({"field": "TEAM", "environments": []});
        assert_eq!(
            cost_lines(&input(Some(bad), serde_json::json!({})))
                .err()
                .map(|e| e.code()),
            Some("INVALID_INPUT")
        );
    }
}
