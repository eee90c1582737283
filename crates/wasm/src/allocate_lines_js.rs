//! Fast path of `allocateStream`'s chunks: the output lines cross as numbers (typed arrays of
//! string ids, costs, ratios) plus the strings not sent before, and a small JS function builds
//! the line objects from them, reusing one JS string per distinct text. `JSON.parse` of the same
//! lines as text took ~10 µs a line (a fresh string for every tag value, ~520 characters a
//! line); this takes a fraction of that. The objects equal the text path's (same keys in the
//! same order, same values; tests/js compare both), which stays as the general path: for
//! `output.events` / `output.focus`, and where the runtime refuses `new Function` (a CSP
//! without `unsafe-eval`).

use js_sys::{Array, Float64Array, Function, Reflect, Uint32Array};
use wasm_bindgen::prelude::*;

use dps_cost_core::allocate::compact::{Strings, Tag};
use dps_cost_core::allocate::engine::LineStatus;
use dps_cost_core::allocate::sink::{LineSink, OutLine};
use dps_cost_core::error::Error;
use dps_cost_core::export::allocation_json::push_str;
use dps_cost_core::hash::IdMap;

/// Flags of a line record.
const HAS_ID: u32 = 16;
const HAS_RULE: u32 = 32;
const HAS_RATIO: u32 = 64;
const HAS_REASON: u32 = 128;
const HAS_DEST: u32 = 256;
/// No shape: (key, value) pairs follow, set one by one.
const GENERIC: u32 = u32::MAX;
/// Shapes compiled at most (a factory function each); tag maps of further key lists cross as
/// pairs.
const MAX_SHAPES: usize = 4096;

/// The builder: `(S, F, K, news, shapes, idsText, u, f, n)` → `{done: false, value: {lines}}`.
/// `S` is the string table (grows by `news`, a JSON array); `F` / `K` the tag map factories and
/// their key counts, one per shape (a list of key ids: grows by `shapes`, a JSON array of them),
/// each an object literal with constant keys (keys in the engine's order, so the objects' key
/// order is `JSON.parse`'s); `idsText` a JSON array of the chunk's source ids, `u` and `f` the
/// records (see [`ChunkEncoder`]), `n` the number of lines.
const BUILD_LINES: &str = r#""use strict";
if (news.length > 2) { const a = JSON.parse(news); for (let i = 0; i < a.length; i++) S.push(a[i]); }
if (shapes.length > 2) {
  for (const keys of JSON.parse(shapes)) {
    const body = "return {" + keys.map((k, i) => (S[k] === "__proto__" ? '["__proto__"]' : JSON.stringify(S[k])) + ": S[u[p + " + i + "]]").join(", ") + "};";
    F.push(new Function("S", "u", "p", body));
    K.push(keys.length);
  }
}
const ids = idsText.length > 2 ? JSON.parse(idsText) : [];
const ST = ["unchanged", "allocated", "unallocated"];
const put = (o, k, v) => Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
const generic = () => {
  const o = {};
  const nt = u[p++];
  for (let j = 0; j < nt; j++, p += 2) put(o, S[u[p]], S[u[p + 1]]);
  return o;
};
const lines = [];
let p = 0, q = 0, k = 0;
for (let i = 0; i < n; i++) {
  const flags = u[p + 1];
  const sourceIndex = u[p], date = S[u[p + 2]], currency = S[u[p + 3]], shape = u[p + 4];
  p += 5;
  let tags;
  if (shape === 4294967295) tags = generic();
  else { tags = F[shape](S, u, p); p += K[shape]; }
  const cost = f[q], costMicros = f[q + 1];
  q += 2;
  const status = ST[flags & 3];
  const o = (flags & 16) !== 0
    ? { sourceIndex, sourceId: ids[k++], date, cost, costMicros, currency, tags, status }
    : { sourceIndex, date, cost, costMicros, currency, tags, status };
  if ((flags & 32) !== 0) { o.ruleId = S[u[p]]; o.ruleName = S[u[p + 1]]; o.method = S[u[p + 2]]; p += 3; }
  if ((flags & 64) !== 0) o.ratio = f[q++];
  if ((flags & 128) !== 0) o.reason = S[u[p++]];
  if ((flags & 256) !== 0) {
    const ds = u[p++];
    if (ds === 4294967295) o.destinationTags = generic();
    else { o.destinationTags = F[ds](S, u, p); p += K[ds]; }
  }
  lines.push(o);
}
return { done: false, value: { lines } };
"#;

thread_local! {
    static BUILDER: Option<Function> = make_builder();
}

/// `new Function(…)` through `Reflect.construct` (a CSP refusal is an exception, caught here).
fn make_builder() -> Option<Function> {
    let ctor = Reflect::get(&js_sys::global(), &JsValue::from_str("Function")).ok()?;
    let ctor: Function = ctor.dyn_into().ok()?;
    let args = Array::of2(
        &JsValue::from_str("S, F, K, news, shapes, idsText, u, f, n"),
        &JsValue::from_str(BUILD_LINES),
    );
    Reflect::construct(&ctor, &args).ok()?.dyn_into().ok()
}

/// Whether the fast path is available here.
pub(crate) fn available() -> bool {
    BUILDER.with(Option::is_some)
}

/// Tag map shapes (key lists) seen, and those not yet sent to JS.
#[derive(Default)]
pub(crate) struct Shapes {
    ids: IdMap<Vec<u32>, u32>,
    keys: Vec<Vec<u32>>,
    sent: usize,
}

impl Shapes {
    fn of(&mut self, tags: &[Tag]) -> u32 {
        let key: Vec<u32> = tags.iter().map(|t| t.0).collect();
        if let Some(&id) = self.ids.get(&key) {
            return id;
        }
        if self.keys.len() >= MAX_SHAPES {
            return GENERIC;
        }
        let id = self.keys.len() as u32;
        self.keys.push(key.clone());
        self.ids.insert(key, id);
        id
    }
}

/// One chunk's lines as records: per line in `u`: source index, flags (status in the low two
/// bits), date, currency, the tag map (its shape id and value ids, or `GENERIC`, a count and
/// (key, value) pairs), then rule id/name/method ids with `HAS_RULE`, the reason id with
/// `HAS_REASON`, the destination tag map with `HAS_DEST`; in `f`: cost, cost micro-units, then
/// the ratio with `HAS_RATIO`; the source id, when there is one, as a JSON string in `ids`.
/// The shapes are the stream's ([`Shapes`], passed to each line).
#[derive(Default)]
pub(crate) struct ChunkEncoder {
    u: Vec<u32>,
    f: Vec<f64>,
    ids: Vec<u8>,
    /// Per line: where its record starts in `u`, `f` and `ids`.
    starts: Vec<(usize, usize, usize)>,
    pub(crate) shapes: Shapes,
}

fn push_tags(u: &mut Vec<u32>, tags: &[Tag], shapes: &mut Shapes) {
    let shape = shapes.of(tags);
    u.push(shape);
    if shape == GENERIC {
        u.push(tags.len() as u32);
        for &(k, v) in tags {
            u.push(k);
            u.push(v);
        }
    } else {
        u.extend(tags.iter().map(|t| t.1));
    }
}

impl LineSink for ChunkEncoder {
    fn line(&mut self, _: &Strings, l: &OutLine<'_>) -> Result<(), Error> {
        self.starts
            .push((self.u.len(), self.f.len(), self.ids.len()));
        let at = self.u.len();
        let mut flags = match l.status {
            LineStatus::Unchanged => 0,
            LineStatus::Allocated => 1,
            LineStatus::Unallocated => 2,
        };
        self.u
            .extend_from_slice(&[l.source_index as u32, 0, l.date, l.currency]);
        push_tags(&mut self.u, l.tags, &mut self.shapes);
        self.f.push(l.cost);
        self.f.push(l.cost_micros as f64);
        if let Some(id) = l.source_id {
            flags |= HAS_ID;
            push_str(&mut self.ids, id);
            self.ids.push(b',');
        }
        if let Some(r) = l.rule {
            flags |= HAS_RULE;
            self.u.extend_from_slice(&[r.id, r.name, r.method]);
        }
        if let Some(r) = l.ratio {
            flags |= HAS_RATIO;
            self.f.push(r);
        }
        if let Some(r) = l.reason {
            flags |= HAS_REASON;
            self.u.push(r);
        }
        if !l.destination_tags.is_empty() {
            flags |= HAS_DEST;
            push_tags(&mut self.u, l.destination_tags, &mut self.shapes);
        }
        self.u[at + 1] = flags;
        Ok(())
    }
}

impl ChunkEncoder {
    /// Lines held.
    pub(crate) fn len(&self) -> usize {
        self.starts.len()
    }

    /// Keeps the first `n` lines; moves the rest into `tail` (empty before).
    pub(crate) fn split_off(&mut self, n: usize, tail: &mut ChunkEncoder) {
        let Some(&(u0, f0, i0)) = self.starts.get(n) else {
            return;
        };
        let starts = self
            .starts
            .split_off(n)
            .into_iter()
            .map(|(u, f, i)| (u - u0, f - f0, i - i0))
            .collect();
        tail.u = self.u.split_off(u0);
        tail.f = self.f.split_off(f0);
        tail.ids = self.ids.split_off(i0);
        tail.starts = starts;
    }

    /// Takes the lines of `other` (this encoder holds none).
    pub(crate) fn take_lines(&mut self, other: &mut ChunkEncoder) {
        std::mem::swap(&mut self.u, &mut other.u);
        std::mem::swap(&mut self.f, &mut other.f);
        std::mem::swap(&mut self.ids, &mut other.ids);
        std::mem::swap(&mut self.starts, &mut other.starts);
    }

    /// Forgets the lines (after [`ChunkEncoder::build`]), keeping the shapes.
    pub(crate) fn clear(&mut self) {
        self.u.clear();
        self.f.clear();
        self.ids.clear();
        self.starts.clear();
    }

    /// The iterator result `{done: false, value: {lines}}` of the lines held, built by the JS
    /// builder; `table` is the stream's string table, of which `sent` strings are in JS already.
    pub(crate) fn build(
        &mut self,
        strings: &Strings,
        tables: &[Array; 3],
        sent: &mut usize,
    ) -> Result<JsValue, JsValue> {
        let mut news = Vec::with_capacity(2);
        news.push(b'[');
        for id in *sent..strings.len() {
            if id > *sent {
                news.push(b',');
            }
            push_str(&mut news, strings.str(id as u32));
        }
        news.push(b']');
        let mut ids = Vec::with_capacity(self.ids.len() + 1);
        ids.push(b'[');
        ids.extend_from_slice(self.ids.strip_suffix(b",").unwrap_or(&self.ids));
        ids.push(b']');
        let mut shapes = Vec::from(&b"["[..]);
        for (i, keys) in self.shapes.keys[self.shapes.sent..].iter().enumerate() {
            if i > 0 {
                shapes.push(b',');
            }
            shapes.push(b'[');
            for (j, k) in keys.iter().enumerate() {
                if j > 0 {
                    shapes.push(b',');
                }
                shapes.extend_from_slice(k.to_string().as_bytes());
            }
            shapes.push(b']');
        }
        shapes.push(b']');
        let text = |b: Vec<u8>| String::from_utf8(b).unwrap_or_default();
        let args = Array::new();
        for t in tables {
            args.push(t);
        }
        args.push(&JsValue::from(text(news)));
        args.push(&JsValue::from(text(shapes)));
        args.push(&JsValue::from(text(ids)));
        args.push(&Uint32Array::from(self.u.as_slice()));
        args.push(&Float64Array::from(self.f.as_slice()));
        args.push(&JsValue::from(self.len() as u32));
        let r = BUILDER.with(|b| match b {
            Some(f) => f.apply(&JsValue::NULL, &args),
            None => Err(JsValue::from_str("no builder")),
        })?;
        *sent = strings.len();
        self.shapes.sent = self.shapes.keys.len();
        Ok(r)
    }
}
