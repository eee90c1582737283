//! Fast path of the allocation input's crossing: a small JS function reads a chunk of line
//! objects and gives back numbers (typed arrays of string ids and costs) plus the strings it
//! had not seen before, so each distinct tag key, tag value, date and currency crosses once,
//! not once per line as JSON text (`JSON.stringify`, the UTF-8 copy into wasm memory and the
//! decode took ~7 µs a line). It takes only what `JSON.stringify` + decoding would read the same
//! way — plain objects with string dates, currencies, tag values and ids, finite numeric costs,
//! well-formed strings — and answers `null` for a chunk with anything else, which then crosses
//! as JSON text (the general path, with its exact errors).

use js_sys::{Array, Float64Array, Function, Reflect, Uint32Array};
use wasm_bindgen::prelude::*;

use dps_cost_core::allocate::compact::{CompactLines, Tag};
use dps_cost_core::error::Error;

/// `(lines, start, end, map, st)` → `{u, f, news, ids}` or `null`. `map` (string → id) and `st`
/// (the last string and id per slot) are the caller's, kept across chunks; `news` the JSON array of strings added to it (ids in order),
/// `ids` the JSON array of the chunk's line ids; `u` per line: has-id flag, date id, currency
/// id, tag count, (key id, value id)…; `f` per line: the cost (−0 as 0, as JSON has it).
const READ_LINES: &str = r#""use strict";
const proto = Object.prototype;
const news = [];
const ids = [];
const wellFormed = typeof "".isWellFormed === "function" ? (s) => s.isWellFormed() : (s) => !/[\uD800-\uDFFF]/.test(s);
let bad = false;
// The last string per slot (date, currency, each tag key's value): lines of one environment or
// day repeat most values, and a comparison is cheaper than a hash lookup of a fresh string.
const lastS = st.lastS, lastI = st.lastI;
const id = (s) => {
  let i = map.get(s);
  if (i === undefined) {
    if (!wellFormed(s)) bad = true;
    i = map.size;
    map.set(s, i);
    news.push(s);
  }
  return i;
};
const fail = () => { for (const s of news) map.delete(s); lastS.length = 0; lastI.length = 0; return null; };
const plain = (o) => o !== null && typeof o === "object" && Object.getPrototypeOf(o) === proto && typeof o.toJSON !== "function";
let u = new Uint32Array((end - start) * 20 + 16);
const f = new Float64Array(end - start);
let p = 0;
for (let i = start; i < end; i++) {
  const l = lines[i];
  if (!plain(l)) return fail();
  const d = l.date, c = l.currency, cost = l.cost, t = l.tags, lid = l.id;
  if (typeof d !== "string" || typeof c !== "string" || typeof cost !== "number" || !Number.isFinite(cost)) return fail();
  if (p + 4 > u.length) { const g = new Uint32Array(u.length * 2); g.set(u); u = g; }
  let flags = 0;
  if (lid !== undefined && lid !== null) {
    if (typeof lid !== "string" || !wellFormed(lid)) return fail();
    flags = 1;
    ids.push(lid);
  }
  u[p] = flags;
  u[p + 1] = d === lastS[0] ? lastI[0] : (lastS[0] = d, lastI[0] = id(d));
  u[p + 2] = c === lastS[1] ? lastI[1] : (lastS[1] = c, lastI[1] = id(c));
  const at = p + 3;
  p += 4;
  let nt = 0;
  if (t !== undefined) {
    if (!plain(t)) return fail();
    for (const k in t) {
      const v = t[k];
      if (typeof v !== "string") return fail();
      if (p + 2 > u.length) { const g = new Uint32Array(u.length * 2); g.set(u); u = g; }
      const slot = 2 + nt;
      u[p++] = id(k);
      u[p++] = v === lastS[slot] ? lastI[slot] : (lastS[slot] = v, lastI[slot] = id(v));
      nt++;
    }
  }
  u[at] = nt;
  f[i - start] = cost === 0 ? 0 : cost;
}
if (bad) return fail();
return { u: u.subarray(0, p), f, news: JSON.stringify(news), ids: JSON.stringify(ids) };
"#;

/// A chunk's line ids, borrowed from their JSON text where they need no unescaping.
#[derive(serde::Deserialize)]
struct LineIds<'a>(#[serde(borrow)] Vec<std::borrow::Cow<'a, str>>);

thread_local! {
    static READER: Option<Function> = make_reader();
}

fn make_reader() -> Option<Function> {
    let ctor = Reflect::get(&js_sys::global(), &JsValue::from_str("Function")).ok()?;
    let ctor: Function = ctor.dyn_into().ok()?;
    let args = Array::of2(
        &JsValue::from_str("lines, start, end, map, st"),
        &JsValue::from_str(READ_LINES),
    );
    Reflect::construct(&ctor, &args).ok()?.dyn_into().ok()
}

/// The reader's state for one input: the JS string map and, per JS string id, the engine's.
pub(crate) struct InputReader {
    map: JsValue,
    last: JsValue,
    ids: Vec<u32>,
}

impl InputReader {
    /// `None` where the runtime refuses `new Function`.
    pub(crate) fn new() -> Option<InputReader> {
        READER.with(Option::is_some).then(|| InputReader {
            map: js_sys::Map::new().into(),
            last: {
                let o = js_sys::Object::new();
                let _ = Reflect::set(&o, &"lastS".into(), &Array::new());
                let _ = Reflect::set(&o, &"lastI".into(), &Array::new());
                o.into()
            },
            ids: Vec::new(),
        })
    }

    /// Appends lines `start..end` of `lines` to `c`; `Ok(false)` (nothing appended) when the
    /// chunk has anything the fast path does not take.
    pub(crate) fn read(
        &mut self,
        lines: &Array,
        start: u32,
        end: u32,
        c: &mut CompactLines,
    ) -> Result<bool, Error> {
        let r = READER.with(|f| match f {
            Some(f) => f
                .apply(
                    &JsValue::NULL,
                    &Array::of5(lines, &start.into(), &end.into(), &self.map, &self.last),
                )
                .ok(),
            None => None,
        });
        let Some(r) = r.filter(|r| r.is_object()) else {
            return Ok(false);
        };
        let get = |k: &str| Reflect::get(&r, &JsValue::from_str(k)).unwrap_or(JsValue::NULL);
        let text = |k: &str| get(k).as_string().unwrap_or_default();
        let internal = |what: &str| Error::Internal {
            message: format!("allocation input reader: {what}"),
        };
        let news: Vec<String> =
            serde_json::from_str(&text("news")).map_err(|_| internal("new strings"))?;
        let ids_text = text("ids");
        let ids: LineIds<'_> = serde_json::from_str(&ids_text).map_err(|_| internal("line ids"))?;
        let u = get("u")
            .dyn_into::<Uint32Array>()
            .map_err(|_| internal("records"))?
            .to_vec();
        let f = get("f")
            .dyn_into::<Float64Array>()
            .map_err(|_| internal("costs"))?
            .to_vec();
        drop(r);
        let strings = c.strings_mut();
        self.ids.extend(news.iter().map(|s| strings.id(s)));
        let map = |i: u32| {
            self.ids
                .get(i as usize)
                .copied()
                .ok_or_else(|| internal("string id"))
        };
        let mut tags: Vec<Tag> = Vec::new();
        let mut ids = ids.0.iter();
        let mut p = 0;
        for cost in f {
            let (flags, date, currency, n) = match u.get(p..p + 4) {
                Some(&[a, b, c, d]) => (a, b, c, d as usize),
                _ => return Err(internal("records")),
            };
            p += 4;
            tags.clear();
            for pair in u
                .get(p..p + 2 * n)
                .ok_or_else(|| internal("tags"))?
                .chunks_exact(2)
            {
                tags.push((map(pair[0])?, map(pair[1])?));
            }
            p += 2 * n;
            let id = if flags & 1 == 1 {
                Some(ids.next().ok_or_else(|| internal("line ids"))?.as_ref())
            } else {
                None
            };
            c.push_interned(id, map(date)?, cost, map(currency)?, &mut tags);
        }
        Ok(true)
    }
}
