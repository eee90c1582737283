//! The engine's compact form of its input lines: every tag key, tag value, date and currency
//! interned once ([`Strings`]), each line's tag map interned as a tag set (a large account's
//! million lines carry a few tens of thousands of distinct tag maps), and the lines themselves
//! as columns. About 40 bytes a line plus its id, where a [`CostLine`] with its `BTreeMap`
//! takes about 600 bytes in a dozen allocations.
//!
//! Lines are pushed as they are read ([`CompactLines::push`]), so a caller can feed the input
//! in chunks and never hold it whole; nothing is checked here: the engine checks dates and
//! costs in input order (the same errors as for [`CostLine`]s).

use std::collections::BTreeMap;

use crate::hash::{HashMap, IdMap};

use super::engine::CostLine;

/// Interned strings: ids are dense, in first-seen order.
#[derive(Debug, Default, Clone)]
pub struct Strings {
    map: HashMap<Box<str>, u32>,
    strs: Vec<Box<str>>,
}

impl Strings {
    /// The id of `s`, interning it if new.
    pub fn id(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.map.get(s) {
            return id;
        }
        let id = self.strs.len() as u32;
        let b: Box<str> = s.into();
        self.strs.push(b.clone());
        self.map.insert(b, id);
        id
    }

    /// The id of `s` if interned.
    pub fn get(&self, s: &str) -> Option<u32> {
        self.map.get(s).copied()
    }

    /// The string of `id`.
    pub fn str(&self, id: u32) -> &str {
        &self.strs[id as usize]
    }

    /// Number of strings.
    pub fn len(&self) -> usize {
        self.strs.len()
    }

    /// Whether no string is interned.
    pub fn is_empty(&self) -> bool {
        self.strs.is_empty()
    }
}

/// One tag: (key id, value id).
pub type Tag = (u32, u32);

/// No id (`CostLine::id` absent).
const NO_ID: u32 = u32::MAX;

/// Input lines as columns (see the module).
#[derive(Debug, Default, Clone)]
pub struct CompactLines {
    pub(crate) strings: Strings,
    /// Tag sets, each sorted by key text (a `BTreeMap`'s order).
    pub(crate) tagsets: Vec<Box<[Tag]>>,
    tagset_ids: IdMap<Box<[Tag]>, u32>,
    pub(crate) tagset: Vec<u32>,
    pub(crate) date: Vec<u32>,
    pub(crate) currency: Vec<u32>,
    pub(crate) cost: Vec<f64>,
    /// Ids, concatenated; `id_span[i]` = (start, length), length `NO_ID` when absent.
    ids: String,
    id_span: Vec<(u32, u32)>,
    scratch: Vec<Tag>,
}

impl CompactLines {
    /// An empty set of lines.
    pub fn new() -> CompactLines {
        CompactLines::default()
    }

    /// The lines of `lines`, in order.
    pub fn from_lines(lines: &[CostLine]) -> CompactLines {
        let mut c = CompactLines::new();
        c.reserve(lines.len());
        for l in lines {
            c.push(l.id.as_deref(), &l.date, l.cost, &l.currency, &l.tags);
        }
        c
    }

    /// Room for `n` more lines.
    pub fn reserve(&mut self, n: usize) {
        self.tagset.reserve(n);
        self.date.reserve(n);
        self.currency.reserve(n);
        self.cost.reserve(n);
        self.id_span.reserve(n);
    }

    /// Appends one line (unchecked; see the module).
    pub fn push(
        &mut self,
        id: Option<&str>,
        date: &str,
        cost: f64,
        currency: &str,
        tags: &BTreeMap<String, String>,
    ) {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        for (k, v) in tags {
            let (k, v) = (self.strings.id(k), self.strings.id(v));
            scratch.push((k, v));
        }
        let set = match self.tagset_ids.get(scratch.as_slice()) {
            Some(&s) => s,
            None => {
                let s = self.tagsets.len() as u32;
                let b: Box<[Tag]> = scratch.as_slice().into();
                self.tagsets.push(b.clone());
                self.tagset_ids.insert(b, s);
                s
            }
        };
        self.scratch = scratch;
        self.tagset.push(set);
        self.date.push(self.strings.id(date));
        self.currency.push(self.strings.id(currency));
        self.cost.push(cost);
        match id {
            Some(id) => {
                self.id_span.push((self.ids.len() as u32, id.len() as u32));
                self.ids.push_str(id);
            }
            None => self.id_span.push((0, NO_ID)),
        }
    }

    /// Appends one line whose strings are interned already (ids from [`CompactLines::strings_mut`]);
    /// `tags` in any order, keys distinct (they are sorted here).
    pub fn push_interned(
        &mut self,
        id: Option<&str>,
        date: u32,
        cost: f64,
        currency: u32,
        tags: &mut [Tag],
    ) {
        let s = &self.strings;
        tags.sort_unstable_by(|a, b| {
            if a.0 == b.0 {
                std::cmp::Ordering::Equal
            } else {
                s.str(a.0).cmp(s.str(b.0))
            }
        });
        let set = match self.tagset_ids.get(&*tags) {
            Some(&s) => s,
            None => {
                let s = self.tagsets.len() as u32;
                let b: Box<[Tag]> = (&*tags).into();
                self.tagsets.push(b.clone());
                self.tagset_ids.insert(b, s);
                s
            }
        };
        self.tagset.push(set);
        self.date.push(date);
        self.currency.push(currency);
        self.cost.push(cost);
        match id {
            Some(id) => {
                self.id_span.push((self.ids.len() as u32, id.len() as u32));
                self.ids.push_str(id);
            }
            None => self.id_span.push((0, NO_ID)),
        }
    }

    /// The interned strings, to intern more.
    pub fn strings_mut(&mut self) -> &mut Strings {
        &mut self.strings
    }

    /// Number of lines.
    pub fn len(&self) -> usize {
        self.tagset.len()
    }

    /// Whether there is no line.
    pub fn is_empty(&self) -> bool {
        self.tagset.is_empty()
    }

    /// The id of line `i`.
    pub fn id(&self, i: usize) -> Option<&str> {
        let (start, len) = self.id_span[i];
        if len == NO_ID {
            return None;
        }
        self.ids.get(start as usize..(start + len) as usize)
    }

    /// The tags of line `i`, sorted by key text.
    pub fn tags(&self, i: usize) -> &[Tag] {
        &self.tagsets[self.tagset[i] as usize]
    }

    /// The interned strings.
    pub fn strings(&self) -> &Strings {
        &self.strings
    }

    /// Bytes held (capacity of the columns and of the interned data), for the benchmarks.
    pub fn heap_bytes(&self) -> usize {
        let s: usize = self.strings.strs.iter().map(|s| s.len() * 2 + 48).sum();
        let t: usize = self.tagsets.iter().map(|t| t.len() * 16 + 40).sum();
        s + t
            + self.tagset.capacity() * 4
            + self.date.capacity() * 4
            + self.currency.capacity() * 4
            + self.cost.capacity() * 8
            + self.id_span.capacity() * 8
            + self.ids.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_through_the_columns() {
        let line = |id: Option<&str>, env: &str| CostLine {
            id: id.map(str::to_string),
            date: "2026-11-01".into(),
            cost: 1.5,
            currency: "EUR".into(),
            tags: [("provider", "dynatrace"), ("environment", env)]
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .into(),
        };
        let lines = [
            line(Some("a"), "prod"),
            line(None, "prod"),
            line(Some("ä"), "dev"),
        ];
        let c = CompactLines::from_lines(&lines);
        assert_eq!(c.len(), 3);
        assert_eq!(c.tagsets.len(), 2, "two distinct tag maps");
        for (i, l) in lines.iter().enumerate() {
            assert_eq!(c.id(i), l.id.as_deref());
            let tags: BTreeMap<String, String> = c
                .tags(i)
                .iter()
                .map(|&(k, v)| (c.strings.str(k).into(), c.strings.str(v).into()))
                .collect();
            assert_eq!(tags, l.tags);
            let keys: Vec<&str> = c.tags(i).iter().map(|t| c.strings.str(t.0)).collect();
            let mut sorted = keys.clone();
            sorted.sort_unstable();
            assert_eq!(keys, sorted);
        }
    }
}
