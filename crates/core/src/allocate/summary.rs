//! What each destination received: per rule and destination tag set (the tags a rule gives its
//! allocated lines, e.g. `{costcenter: "cc-01"}` or `{product: "search"}`), the allocated cost
//! per currency in exact micro-units. Built by [`super::allocate`] as it splits, so it is
//! independent of the input line order (the engine keeps the totals per rule and destination).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Cost one rule allocated to one destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct DestinationSummary {
    pub rule_id: String,
    pub rule_name: String,
    pub method: String,
    /// The destination tags only (not the source line's tags).
    pub tags: BTreeMap<String, String>,
    /// Allocated output lines.
    pub lines: usize,
    /// Allocated micro-units per currency.
    pub costs: BTreeMap<String, i128>,
}

/// Roll-up over all rules: tag key → tag value → currency → allocated micro-units, from
/// [`DestinationSummary`] entries (a destination over several keys counts under each key).
pub fn by_tag(
    destinations: &[DestinationSummary],
) -> BTreeMap<String, BTreeMap<String, BTreeMap<String, i128>>> {
    let mut out: BTreeMap<String, BTreeMap<String, BTreeMap<String, i128>>> = BTreeMap::new();
    for d in destinations {
        for (k, v) in &d.tags {
            let per_cur = out
                .entry(k.clone())
                .or_default()
                .entry(v.clone())
                .or_default();
            for (cur, m) in &d.costs {
                *per_cur.entry(cur.clone()).or_insert(0) += m;
            }
        }
    }
    out
}
