//! Where the engine's output lines go: a [`LineSink`] receives each output line as an
//! [`OutLine`], a borrowed view into the engine's interned strings, and writes it where it is
//! wanted (JSON text, a JS chunk, an [`AllocatedLine`]) without building a tag map per line.

use std::collections::BTreeMap;

use super::compact::{Strings, Tag};
use super::engine::{AllocatedLine, LineStatus};
use crate::error::Result;

/// The rule of an output line: string ids of its id, name and method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleRef {
    pub id: u32,
    pub name: u32,
    pub method: u32,
}

/// One output line, as [`AllocatedLine`] has it, with strings as ids into [`Strings`].
#[derive(Debug, Clone, Copy)]
pub struct OutLine<'a> {
    pub source_index: usize,
    pub source_id: Option<&'a str>,
    pub date: u32,
    pub cost: f64,
    pub cost_micros: i64,
    pub currency: u32,
    /// Source tags, destination tags and audit tags, merged, sorted by key text.
    pub tags: &'a [Tag],
    pub status: LineStatus,
    pub rule: Option<RuleRef>,
    /// The ratio and the id of its tag text.
    pub ratio: Option<f64>,
    pub reason: Option<u32>,
    /// Destination tags, sorted by key text (allocated lines; else empty).
    pub destination_tags: &'a [Tag],
}

/// Receives the output lines in order.
pub trait LineSink {
    fn line(&mut self, strings: &Strings, line: &OutLine<'_>) -> Result<()>;
}

impl OutLine<'_> {
    /// The line as an [`AllocatedLine`].
    pub fn to_allocated(&self, s: &Strings) -> AllocatedLine {
        let map = |tags: &[Tag]| -> BTreeMap<String, String> {
            super::order::map_of(
                tags.iter()
                    .map(|&(k, v)| (s.str(k).to_string(), s.str(v).to_string())),
            )
        };
        AllocatedLine {
            source_index: self.source_index,
            source_id: self.source_id.map(str::to_string),
            date: s.str(self.date).to_string(),
            cost: self.cost,
            cost_micros: self.cost_micros,
            currency: s.str(self.currency).to_string(),
            tags: map(self.tags),
            status: self.status,
            rule_id: self.rule.map(|r| s.str(r.id).to_string()),
            rule_name: self.rule.map(|r| s.str(r.name).to_string()),
            method: self.rule.map(|r| s.str(r.method).to_string()),
            ratio: self.ratio,
            reason: self.reason.map(|r| s.str(r).to_string()),
            destination_tags: map(self.destination_tags),
        }
    }
}

/// Collects [`AllocatedLine`]s (what [`super::allocate`] returns).
impl LineSink for Vec<AllocatedLine> {
    fn line(&mut self, strings: &Strings, line: &OutLine<'_>) -> Result<()> {
        self.push(line.to_allocated(strings));
        Ok(())
    }
}
