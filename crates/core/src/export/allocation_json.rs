//! The JSON text of an allocation result, written straight from the lines as they are
//! allocated: `{"lines":[…], …summary…, "events":[…], "focus":[…]}` for `allocate`, the same
//! without the summary for each chunk of `allocateStream`. The text keeps a count of its length
//! in UTF-16 code units, so a caller bound by a JS string limit can stop early.

use serde::{Deserialize, Serialize};

use crate::allocate::compact::{Strings, Tag};
use crate::allocate::engine::{AllocatedLine, LineStatus};
use crate::allocate::focus::focus_allocation_row;
use crate::allocate::sink::{LineSink, OutLine};
use crate::error::Error;
use crate::events::allocation::cost_allocated_event;

/// Extra outputs of `allocate`.
#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AllocateOutput {
    /// `dps.cost.allocated` bizevents, one per allocated or unallocated line.
    #[serde(default)]
    pub events: bool,
    /// FOCUS 1.3 allocation columns, one row per output line.
    #[serde(default)]
    pub focus: bool,
}

/// JSON text with a running count of its length in UTF-16 code units (a JS string's length).
#[derive(Default)]
pub struct JsText {
    pub text: String,
    /// The text's length in UTF-16 code units.
    pub units: usize,
}

impl JsText {
    pub fn push(&mut self, s: &str) {
        self.units += if s.is_ascii() {
            s.len()
        } else {
            s.chars().map(char::len_utf16).sum()
        };
        self.text.push_str(s);
    }

    pub fn push_json<T: Serialize>(&mut self, v: &T) -> Result<(), Error> {
        let s = serde_json::to_string(v).map_err(|e| Error::Internal {
            message: format!("result serialization: {e}"),
        })?;
        self.push(&s);
        Ok(())
    }
}

/// `{"lines":[…]`, then what `middle` writes, then `,"events":[…]` and `,"focus":[…]` as asked,
/// then `}`: the JSON text of `allocate`'s result (the summary in `middle`) and of one chunk of
/// `allocateStream` (nothing in `middle`).
pub fn envelope(
    [lines, events, focus]: [JsText; 3],
    output: AllocateOutput,
    middle: impl FnOnce(&mut JsText) -> Result<(), Error>,
) -> Result<JsText, Error> {
    let mut out = JsText::default();
    out.push("{\"lines\":[");
    out.push(&lines.text);
    drop(lines);
    out.push("]");
    middle(&mut out)?;
    for (asked, key, part) in [
        (output.events, "events", events),
        (output.focus, "focus", focus),
    ] {
        if asked {
            out.push(",\"");
            out.push(key);
            out.push("\":[");
            out.push(&part.text);
            out.push("]");
        }
    }
    out.push("}");
    Ok(out)
}

/// The output of one chunk of lines (`lines` since `first` of the whole output): the lines,
/// and the events / FOCUS rows asked for, each a JSON array's items appended to its text.
pub fn write_lines(
    lines: &[AllocatedLine],
    first: usize,
    output: AllocateOutput,
    texts: &mut [JsText; 3],
    counts: &mut [usize; 3],
) -> Result<(), Error> {
    for (k, l) in lines.iter().enumerate() {
        let [lt, et, ft] = texts;
        if counts[0] > 0 {
            lt.push(",");
        }
        lt.push_json(l)?;
        counts[0] += 1;
        if output.events {
            if let Some(e) = cost_allocated_event(l) {
                if counts[1] > 0 {
                    et.push(",");
                }
                et.push_json(&e)?;
                counts[1] += 1;
            }
        }
        if output.focus {
            if counts[2] > 0 {
                ft.push(",");
            }
            ft.push_json(&focus_allocation_row(first + k, l))?;
            counts[2] += 1;
        }
    }
    Ok(())
}

/// Fast path: the JSON text of output lines written straight from the engine's [`OutLine`]
/// views, byte for byte what `serde_json` writes for the same [`AllocatedLine`]s (the oracle
/// test in tests/allocate_stream.rs), without building them: items of a JSON array, comma
/// separated, with a running count of UTF-16 code units.
#[derive(Default)]
pub struct LinesJson {
    pub text: Vec<u8>,
    /// The text's length in UTF-16 code units.
    pub units: usize,
    /// Lines written.
    pub count: usize,
    /// The JSON literal of each string id seen (an id's text never changes in one stream).
    literals: Vec<Option<Box<[u8]>>>,
}

impl LinesJson {
    /// Takes the text written so far (a valid UTF-8 string) and starts again.
    pub fn take(&mut self) -> (String, usize) {
        let text = std::mem::take(&mut self.text);
        let units = std::mem::take(&mut self.units);
        self.count = 0;
        (
            String::from_utf8(text)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into()),
            units,
        )
    }
}

/// UTF-16 code units of UTF-8 bytes.
fn utf16_units(bytes: &[u8]) -> usize {
    if bytes.is_ascii() {
        return bytes.len();
    }
    bytes
        .iter()
        .map(|&b| match b {
            0x00..=0x7f | 0xc0..=0xef => 1,
            0xf0..=0xff => 2,
            _ => 0,
        })
        .sum()
}

/// A JSON string literal, escaped as `serde_json` escapes (`"`, `\\`, control characters).
pub fn push_str(out: &mut Vec<u8>, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else if let Ok(t) = serde_json::to_string(s) {
        out.extend_from_slice(t.as_bytes());
    }
}

fn push_f64(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        out.extend_from_slice(zmij::Buffer::new().format_finite(v).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

fn push_int(out: &mut Vec<u8>, v: i128) {
    let mut buf = [0u8; 40];
    let mut i = buf.len();
    let mut n = v.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    out.extend_from_slice(&buf[i..]);
}

/// The JSON literal of string `id`, from the cache.
fn push_id(out: &mut Vec<u8>, literals: &mut Vec<Option<Box<[u8]>>>, s: &Strings, id: u32) {
    let i = id as usize;
    if i >= literals.len() {
        literals.resize(s.len().max(i + 1), None);
    }
    match &literals[i] {
        Some(l) => out.extend_from_slice(l),
        None => {
            let mut l = Vec::new();
            push_str(&mut l, s.str(id));
            out.extend_from_slice(&l);
            literals[i] = Some(l.into_boxed_slice());
        }
    }
}

fn push_tags(out: &mut Vec<u8>, literals: &mut Vec<Option<Box<[u8]>>>, s: &Strings, tags: &[Tag]) {
    out.push(b'{');
    for (n, &(k, v)) in tags.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        push_id(out, literals, s, k);
        out.push(b':');
        push_id(out, literals, s, v);
    }
    out.push(b'}');
}

impl LineSink for LinesJson {
    fn line(&mut self, s: &Strings, l: &OutLine<'_>) -> Result<(), Error> {
        let start = self.text.len();
        let out = &mut self.text;
        let lit = &mut self.literals;
        if self.count > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"sourceIndex\":");
        push_int(out, l.source_index as i128);
        if let Some(id) = l.source_id {
            out.extend_from_slice(b",\"sourceId\":");
            push_str(out, id);
        }
        out.extend_from_slice(b",\"date\":");
        push_id(out, lit, s, l.date);
        out.extend_from_slice(b",\"cost\":");
        push_f64(out, l.cost);
        out.extend_from_slice(b",\"costMicros\":");
        push_int(out, i128::from(l.cost_micros));
        out.extend_from_slice(b",\"currency\":");
        push_id(out, lit, s, l.currency);
        out.extend_from_slice(b",\"tags\":");
        push_tags(out, lit, s, l.tags);
        out.extend_from_slice(match l.status {
            LineStatus::Unchanged => b",\"status\":\"unchanged\"",
            LineStatus::Allocated => b",\"status\":\"allocated\"",
            LineStatus::Unallocated => b",\"status\":\"unallocated\"",
        });
        if let Some(r) = l.rule {
            out.extend_from_slice(b",\"ruleId\":");
            push_id(out, lit, s, r.id);
            out.extend_from_slice(b",\"ruleName\":");
            push_id(out, lit, s, r.name);
            out.extend_from_slice(b",\"method\":");
            push_id(out, lit, s, r.method);
        }
        if let Some(r) = l.ratio {
            out.extend_from_slice(b",\"ratio\":");
            push_f64(out, r);
        }
        if let Some(r) = l.reason {
            out.extend_from_slice(b",\"reason\":");
            push_id(out, lit, s, r);
        }
        if !l.destination_tags.is_empty() {
            out.extend_from_slice(b",\"destinationTags\":");
            push_tags(out, lit, s, l.destination_tags);
        }
        out.push(b'}');
        self.units += utf16_units(&out[start..]);
        self.count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allocate::{allocate, parse_rules, AllocationInput, CostLine};

    /// One shared line split 40/60 between two teams (one with a non-ASCII name), one line
    /// left as it is.
    fn result() -> Vec<AllocatedLine> {
        let rules = parse_rules(
            r#"[{"id":"1","attributes":{"rule_name":"split","provider":["dynatrace"],
                "costs_to_allocate":[{"condition":"is","tag":"service","value":"shared"}],
                "strategy":{"method":"percent","allocated_by":[
                  {"allocated_tags":[{"key":"team","value":"ä-team"}],"percentage":0.4},
                  {"allocated_tags":[{"key":"team","value":"b"}],"percentage":0.6}]}}}]"#,
        );
        let line = |service: &str, cost: f64| CostLine {
            id: None,
            date: "2026-11-01".into(),
            cost,
            currency: "EUR".into(),
            tags: [("provider", "dynatrace"), ("service", service)]
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .into(),
        };
        let input = AllocationInput {
            lines: vec![line("shared", 10.0), line("app", 3.0)],
            rules: rules.unwrap_or_default(),
            drivers: Default::default(),
        };
        allocate(&input).map(|r| r.lines).unwrap_or_default()
    }

    #[test]
    fn the_text_is_the_serialized_result_and_counts_utf16_units() {
        let lines = result();
        assert_eq!(lines.len(), 3, "the shared line is split in two: {lines:?}");
        let output = AllocateOutput {
            events: true,
            focus: true,
        };
        let mut texts: [JsText; 3] = Default::default();
        let mut counts = [0usize; 3];
        // In two chunks, as allocateStream writes them, then one envelope.
        let (first, rest) = lines.split_at(2);
        write_lines(first, 0, output, &mut texts, &mut counts).ok();
        write_lines(rest, 2, output, &mut texts, &mut counts).ok();
        let out = envelope(texts, output, |o| {
            o.push(",\"rules\":");
            o.push_json(&Vec::<u8>::new())
        });
        let Ok(out) = out else {
            panic!("envelope failed")
        };
        let events: Vec<_> = lines.iter().filter_map(cost_allocated_event).collect();
        let focus: Vec<_> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| focus_allocation_row(i, l))
            .collect();
        let want = serde_json::json!({
            "lines": lines, "rules": [], "events": events, "focus": focus,
        });
        let got: serde_json::Value = serde_json::from_str(&out.text).unwrap_or_default();
        assert_eq!(got, want);
        assert_eq!(out.units, out.text.encode_utf16().count());
        assert_eq!(counts, [lines.len(), events.len(), focus.len()]);
    }
}
