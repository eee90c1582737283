//! What each destination received: per rule and destination tag set (the tags a rule gives its
//! allocated lines, e.g. `{costcenter: "cc-01"}` or `{product: "search"}`), the allocated cost
//! per currency in exact micro-units. Built by [`super::allocate`] as it splits, so it is
//! independent of the input line order.

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

/// Accumulates [`DestinationSummary`] entries; keys are rule position, then destination tags,
/// so the result is ordered by rule execution order, then destination tags. A destination seen
/// before is found by its tags without copying them.
#[derive(Debug, Default)]
pub(crate) struct DestinationTotals {
    entries: BTreeMap<usize, BTreeMap<Vec<(String, String)>, DestTotal>>,
}

/// (allocated lines, micro-units per currency).
type DestTotal = (usize, BTreeMap<String, i128>);

impl DestinationTotals {
    pub(crate) fn add(
        &mut self,
        rule_position: usize,
        dest: &[(String, String)],
        currency: &str,
        micros: i128,
    ) {
        let per_rule = self.entries.entry(rule_position).or_default();
        let e = match per_rule.get_mut(dest) {
            Some(e) => e,
            None => per_rule.entry(dest.to_vec()).or_default(),
        };
        e.0 += 1;
        match e.1.get_mut(currency) {
            Some(m) => *m += micros,
            None => {
                e.1.insert(currency.to_string(), micros);
            }
        }
    }

    /// The entries; `rule(position)` gives (id, name, method) of the rule at that position.
    pub(crate) fn finish<'a>(
        self,
        rule: impl Fn(usize) -> Option<(&'a str, &'a str, &'a str)>,
    ) -> Vec<DestinationSummary> {
        self.entries
            .into_iter()
            .flat_map(|(pos, dests)| dests.into_iter().map(move |d| (pos, d)))
            .filter_map(|(pos, (dest, (lines, costs)))| {
                let (id, name, method) = rule(pos)?;
                Some(DestinationSummary {
                    rule_id: id.to_string(),
                    rule_name: name.to_string(),
                    method: method.to_string(),
                    tags: dest.into_iter().collect(),
                    lines,
                    costs,
                })
            })
            .collect()
    }
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
