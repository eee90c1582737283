//! Allocation exports (feature `full`): `costLines`, `allocate` and `allocateStream`.
//!
//! `allocate` returns one result; its JSON text is built line by line and refused with a typed
//! error before it passes V8's maximum string length (`JSON.parse` could never take it).
//! `allocateStream` gives the same lines in chunks over [`AllocationStream`], so any number of
//! output lines fits: memory is the input, the rules' weights and one chunk.

use js_sys::{Reflect, JSON};
use serde::Deserialize;
use wasm_bindgen::prelude::*;

use dps_cost_core::allocate::compact::CompactLines;
use dps_cost_core::allocate::engine::{AllocatedLine, AllocationStream, CostLine, Drivers};
use dps_cost_core::allocate::ArbitraryRule;
use dps_cost_core::error::Error;
use dps_cost_core::export::allocation_json::{
    envelope, write_lines, AllocateOutput, JsText, LinesJson,
};

use super::allocate_input_js::InputReader;
use super::allocate_lines_js::{self as lines_js, ChunkEncoder};

use super::convert::{from_js, to_js};
use super::js_err;

/// V8's maximum string length (UTF-16 code units, 64-bit builds): `(1 << 29) - 24`.
pub(crate) const MAX_JS_STRING: usize = (1 << 29) - 24;

/// Default output lines per chunk of `allocateStream`.
const DEFAULT_CHUNK_LINES: usize = 10_000;
/// Largest `chunkLines` accepted.
const MAX_CHUNK_LINES: usize = 10_000_000;

/// JS only: the iterator protocol of the class (`make_iterable` gives it at run time).
#[wasm_bindgen(typescript_custom_section)]
const TS_ALLOCATION_STREAM: &str = r#"
export interface AllocationStream {
  /** The stream itself (`for (const chunk of allocateStream(input))`; iterator helpers work where the runtime has them). */
  [Symbol.iterator](): AllocationStream;
}
"#;

/// One chunk of `allocateStream`, and `allocate`'s result without the summary: consecutive
/// output lines (in `allocate`'s order) and, when asked for, their events and FOCUS columns.
/// Written as text by [`envelope`] (never built as a value); declared here for its TypeScript.
#[derive(tsify::Tsify)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct AllocationChunk {
    lines: Vec<AllocatedLine>,
    /// With `output.events`: the `dps.cost.allocated` events of these lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(type = "Bizevent[]")]
    events: Option<Vec<serde_json::Value>>,
    /// With `output.focus`: one row per line (AllocatedMethodId, AllocatedMethodDetails,
    /// AllocatedResourceId/Name, AllocatedTags, Tags …).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(type = "Record<string, unknown>[]")]
    focus: Option<Vec<serde_json::Value>>,
}

/// What `allocate` returns: every line (with events and FOCUS columns as asked) and the summary
/// (`allocateStream` gives the same as chunks, then the summary). Written as text; declared here
/// for its TypeScript.
#[derive(tsify::Tsify)]
#[allow(dead_code)]
struct AllocationResult {
    #[serde(flatten)]
    chunk: AllocationChunk,
    #[serde(flatten)]
    summary: dps_cost_core::allocate::engine::AllocationSummary,
}

/// Cost lines for `allocate` from Dynatrace data, with the tag model `provider=dynatrace`,
/// `account`, `subscription`, `environment`, `capability`, `costcenter`/`product` and your tags.
#[wasm_bindgen(js_name = costLines, unchecked_return_type = "CostLine[]")]
pub fn cost_lines_js(
    #[wasm_bindgen(unchecked_param_type = "CostLinesInput")] input: JsValue,
) -> Result<JsValue, JsValue> {
    let i: dps_cost_core::allocate::lines::CostLinesInput =
        from_js("input", &input).map_err(js_err)?;
    to_js(&dps_cost_core::allocate::lines::cost_lines(&i).map_err(js_err)?)
}

/// The input of `allocate` and `allocateStream`.
#[derive(Deserialize, tsify::Tsify)]
#[tsify(rename = "AllocationInput")]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AllocateOptions {
    #[tsify(type = "CostLine[]")]
    lines: serde_json::Value,
    /// Datadog rules: a list response, a single-rule response, an upsert request or an array of
    /// rules.
    #[tsify(type = "unknown")]
    rules: serde_json::Value,
    /// Driver series of proportional_timeseries rules, by query name.
    #[serde(default)]
    #[tsify(type = "Record<string, DriverPoint[]>")]
    drivers: Option<serde_json::Value>,
    /// Also return `dps.cost.allocated` bizevents (ready for `ingest`) and/or FOCUS 1.3
    /// allocation columns.
    #[serde(default)]
    output: Option<AllocateOutput>,
}

/// `AllocateOptions` without the lines (they are decoded on their own, straight into
/// [`CostLine`]s: no JSON value tree of a million lines).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AllocateRest {
    #[serde(default)]
    rules: Option<serde_json::Value>,
    #[serde(default)]
    drivers: Option<serde_json::Value>,
    #[serde(default)]
    output: Option<AllocateOutput>,
}

fn not_json(what: &str) -> Error {
    Error::invalid(what, "cannot be represented as JSON (cycle or BigInt?)")
}

fn decode_lines(text: &str) -> Result<Vec<CostLine>, Error> {
    dps_cost_core::model::decode_input("lines", text).map_err(|e| e.under("lines"))
}

/// Lines per crossing of the input: `JSON.stringify` of this many lines at a time, decoded and
/// appended to the compact form, so neither the whole input's JSON text nor its decoded
/// `CostLine`s are ever held (a million lines were 209 MB of text twice, in JS and in wasm
/// memory, plus ~600 MB of `CostLine`s).
const INPUT_CHUNK: u32 = 8192;

/// The lines in compact form, read `INPUT_CHUNK` at a time from a JS array (by the JS reader
/// of [`InputReader`] where it takes the chunk, else as JSON text). Errors are those
/// of decoding the whole array at once: on the first error in a chunk the whole array is
/// decoded for it (the path names the line's index in the input).
fn compact_lines(lines: &JsValue) -> Result<CompactLines, Error> {
    let chunked = js_sys::Array::is_array(lines)
        && !Reflect::has(lines, &JsValue::from_str("toJSON")).unwrap_or(true);
    let stringify = |v: &JsValue| {
        JSON::stringify(v)
            .ok()
            .and_then(|s| s.as_string())
            .ok_or_else(|| not_json("input"))
    };
    if chunked {
        let array: &js_sys::Array = lines.unchecked_ref();
        let n = array.length();
        let mut c = CompactLines::new();
        c.reserve(n as usize);
        let mut reader = InputReader::new();
        let mut start = 0;
        while start < n {
            let end = n.min(start + INPUT_CHUNK);
            if let Some(r) = reader.as_mut() {
                if r.read(array, start, end, &mut c)? {
                    start = end;
                    continue;
                }
            }
            let text = stringify(&array.slice(start, end))?;
            match decode_lines(&text) {
                Ok(ls) => {
                    for l in &ls {
                        c.push(l.id.as_deref(), &l.date, l.cost, &l.currency, &l.tags);
                    }
                }
                Err(e) => {
                    drop(c);
                    return decode_lines(&stringify(lines)?)
                        .map(|ls| CompactLines::from_lines(&ls))
                        .and(Err(e));
                }
            }
            start = end;
        }
        return Ok(c);
    }
    Ok(CompactLines::from_lines(&decode_lines(&stringify(lines)?)?))
}

/// The checked input of `allocate` / `allocateStream`, with the same errors in the same order
/// as decoding it whole: the options (unknown names, `output`), then the rules, the lines, the
/// drivers. The lines cross in chunks into their compact form ([`compact_lines`]).
fn allocation_input(input: &JsValue) -> Result<(AllocationParts, AllocateOutput), Error> {
    let plain_object = input.is_object()
        && !js_sys::Array::is_array(input)
        && !Reflect::has(input, &JsValue::from_str("toJSON")).unwrap_or(true);
    if plain_object {
        let lines =
            Reflect::get(input, &JsValue::from_str("lines")).map_err(|_| not_json("input"))?;
        let rest =
            js_sys::Object::assign(&js_sys::Object::new(), &js_sys::Object::from(input.clone()));
        let _ = Reflect::delete_property(&rest, &JsValue::from_str("lines"));
        let o: AllocateRest = from_js("input", &rest)?;
        if lines.is_undefined() {
            return Err(Error::invalid("lines", "is required"));
        }
        let Some(rules) = o.rules else {
            return Err(Error::invalid("rules", "is required"));
        };
        let rules = dps_cost_core::allocate::parse_rules(&rules.to_string())?;
        let lines = compact_lines(&lines)?;
        let drivers = decode_drivers(o.drivers)?;
        return Ok(((lines, rules, drivers), o.output.unwrap_or_default()));
    }
    let o: AllocateOptions = from_js("input", input)?;
    let rules = dps_cost_core::allocate::parse_rules(&o.rules.to_string())?;
    let lines = CompactLines::from_lines(&decode_lines(&o.lines.to_string())?);
    let drivers = decode_drivers(o.drivers)?;
    Ok(((lines, rules, drivers), o.output.unwrap_or_default()))
}

/// Compact lines, rules, drivers.
type AllocationParts = (CompactLines, Vec<ArbitraryRule>, Drivers);

fn decode_drivers(d: Option<serde_json::Value>) -> Result<Drivers, Error> {
    match d {
        Some(d) => dps_cost_core::model::decode_input("drivers", &d.to_string()),
        None => Ok(Default::default()),
    }
}

fn stream_of(parts: AllocationParts) -> Result<AllocationStream<'static>, Error> {
    let (lines, rules, drivers) = parts;
    AllocationStream::from_compact(lines, rules, &drivers)
}

/// Splits cost lines with Datadog custom allocation rules (reference/allocation.md §2): exact to
/// the micro-unit, nothing dropped, every allocated line with its audit tags. A result whose
/// JSON text would pass V8's maximum string length is refused (`INVALID_INPUT`, field `lines`):
/// use `allocateStream`.
#[wasm_bindgen(js_name = allocate, unchecked_return_type = "AllocationResult")]
pub fn allocate_js(
    #[wasm_bindgen(unchecked_param_type = "AllocationInput")] input: JsValue,
) -> Result<JsValue, JsValue> {
    let run = || -> Result<String, Error> {
        let (parts, output) = allocation_input(&input)?;
        let mut stream = stream_of(parts)?;
        let mut texts: [JsText; 3] = Default::default();
        let mut counts = [0usize; 3];
        let mut buf = Vec::new();
        // Lines only: written straight from the engine (the fast path); with events or FOCUS
        // rows, through `AllocatedLine`s.
        let mut fast = (output == AllocateOutput::default()).then(LinesJson::default);
        loop {
            let more = match fast.as_mut() {
                Some(sink) => stream.next_into(sink)?,
                None => stream.next_source(&mut buf)?,
            };
            if !more {
                break;
            }
            let units: usize = match &fast {
                Some(sink) => sink.units,
                None => {
                    write_lines(&buf, counts[0], output, &mut texts, &mut counts)?;
                    buf.clear();
                    texts.iter().map(|t| t.units).sum()
                }
            };
            if units > MAX_JS_STRING {
                return Err(Error::invalid(
                    "lines",
                    format!(
                        "makes a result too large for one value: after {} of {} source lines \
                         ({} output lines) its JSON text passes V8's maximum string length \
                         ({MAX_JS_STRING} characters); use allocateStream(input, {{ chunkLines }}) \
                         for inputs this large",
                        stream.position(),
                        stream.source_lines(),
                        fast.as_ref().map_or(counts[0], |s| s.count)
                    ),
                ));
            }
        }
        if let Some(mut sink) = fast {
            let (text, units) = sink.take();
            texts[0] = JsText { text, units };
        }
        let summary = stream.finish()?;
        let out = envelope(texts, output, |out| {
            out.push(",\"rules\":");
            out.push_json(&summary.rules)?;
            out.push(",\"totals\":");
            out.push_json(&summary.totals)?;
            out.push(",\"destinations\":");
            out.push_json(&summary.destinations)
        })?;
        if out.units > MAX_JS_STRING {
            return Err(Error::invalid(
                "lines",
                format!(
                    "makes a result too large for one value: its JSON text passes V8's maximum \
                     string length ({MAX_JS_STRING} characters); use allocateStream(input, {{ chunkLines }})"
                ),
            ));
        }
        Ok(out.text)
    };
    let text = run().map_err(js_err)?;
    JSON::parse(&text)
}

/// Options of `allocateStream`.
#[derive(Deserialize, Default, tsify::Tsify)]
#[tsify(rename = "AllocateStreamOptions")]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StreamOptions {
    /// Output lines per chunk (an integer ≥ 1, default 10000; the last chunk may be shorter).
    #[serde(default, deserialize_with = "dps_cost_core::validate::present")]
    #[tsify(optional, type = "number")]
    chunk_lines: Option<usize>,
}

/// Options object of a stream function: absent (`undefined` / `null`) means the defaults;
/// errors name `options.<field>`.
pub(crate) fn stream_options<T: serde::de::DeserializeOwned + Default>(
    options: Option<&JsValue>,
) -> Result<T, Error> {
    let Some(options) = options.filter(|o| !o.is_undefined() && !o.is_null()) else {
        return Ok(T::default());
    };
    from_js("options", options).map_err(|e| e.under("options"))
}

/// A chunk size option: an integer in 1..=10,000,000 (default `default`).
pub(crate) fn chunk_size(field: &str, v: Option<usize>, default: usize) -> Result<usize, Error> {
    match v {
        None => Ok(default),
        Some(n) if (1..=MAX_CHUNK_LINES).contains(&n) => Ok(n),
        Some(n) => Err(Error::invalid(
            field,
            format!("must be an integer in 1..={MAX_CHUNK_LINES}, got {n}"),
        )),
    }
}

/// Makes the class of `obj` an iterator (its prototype inherits `%IteratorPrototype%`, whose
/// `[Symbol.iterator]` returns `this`; iterator helpers come with it where the runtime has them).
pub(crate) fn make_iterable(obj: &JsValue) {
    let Ok(proto) = Reflect::get_prototype_of(obj) else {
        return;
    };
    if Reflect::has(&proto, &js_sys::Symbol::iterator()).unwrap_or(true) {
        return;
    }
    let iter_proto = Reflect::get_prototype_of(&js_sys::Array::new().values())
        .and_then(|p| Reflect::get_prototype_of(&p));
    if let Ok(ip) = iter_proto {
        let _ = Reflect::set_prototype_of(&proto, &ip);
    }
}

/// An iterator result `{done, value}` from the JSON text of `value`.
pub(crate) fn iter_result(done: bool, value_json: &str) -> Result<JsValue, JsValue> {
    JSON::parse(&format!("{{\"done\":{done},\"value\":{value_json}}}"))
}

pub(crate) fn closed_error() -> JsValue {
    js_err(Error::invalid(
        "stream",
        "is closed (return() was called, e.g. by `break` in for…of); start a new stream",
    ))
}

/// The fast path's state (see [`lines_js`]): lines not yet given, the JS string table and how
/// many of the engine's strings it holds.
struct FastLines {
    lines: ChunkEncoder,
    carry: ChunkEncoder,
    /// The JS string table, tag map factories and their key counts.
    tables: [js_sys::Array; 3],
    sent: usize,
}

enum StreamState {
    Running {
        stream: Box<AllocationStream<'static>>,
        output: AllocateOutput,
        chunk: usize,
        /// Lines of the last source line not yet given (beyond the previous chunk).
        carry: Vec<AllocatedLine>,
        /// Output lines given so far.
        given: usize,
        /// Lines only, where the JS builder is available: the fast path.
        fast: Option<FastLines>,
    },
    /// Every line given; the summary's JSON text.
    Done(String),
    Closed,
}

/// The iterator `allocateStream` returns: `next()` gives `{done: false, value: chunk}` until
/// every output line has been given, then `{done: true, value: summary}` (again on every later
/// call); `summary()` returns the summary once done. `return()` (called by `break` in
/// `for…of`) drops the input and the weights at once; using the stream afterwards throws
/// `INVALID_INPUT` (field `stream`). `free()` releases the object itself.
#[wasm_bindgen(js_name = AllocationStream)]
pub struct AllocationStreamJs {
    state: StreamState,
}

#[wasm_bindgen(js_class = AllocationStream)]
impl AllocationStreamJs {
    /// The next chunk (`{done: false, value: AllocationChunk}`), or `{done: true, value:
    /// AllocationSummary}` at the end.
    #[wasm_bindgen(
        js_name = next,
        unchecked_return_type = "IteratorResult<AllocationChunk, AllocationSummary>"
    )]
    pub fn next_chunk(&mut self) -> Result<JsValue, JsValue> {
        if let StreamState::Running {
            stream,
            chunk,
            given,
            fast: Some(fast),
            ..
        } = &mut self.state
        {
            let FastLines {
                lines,
                carry,
                tables,
                sent,
            } = fast;
            lines.clear();
            lines.take_lines(carry);
            let mut more = true;
            let r = (|| -> Result<(), Error> {
                while lines.len() < *chunk && more {
                    more = stream.next_into(lines)?;
                }
                Ok(())
            })();
            if let Err(e) = r {
                self.state = StreamState::Closed;
                return Err(js_err(e));
            }
            lines.split_off(*chunk, carry);
            if lines.len() > 0 {
                *given += lines.len();
                return lines.build(stream.strings(), tables, sent);
            }
            // Every line given: the summary, as on the general path.
        }
        let text = match self.next_text() {
            Ok(t) => t,
            Err(e) => {
                // A failed stream is over: its input and weights go now.
                self.state = StreamState::Closed;
                return Err(js_err(e));
            }
        };
        match text {
            Some((done, t)) => iter_result(done, &t),
            None => Err(closed_error()),
        }
    }

    /// Closes the stream early (what `for…of` calls on `break`): frees the input and weights.
    #[wasm_bindgen(
        js_name = "return",
        unchecked_return_type = "IteratorResult<AllocationChunk, undefined>"
    )]
    pub fn close(&mut self) -> Result<JsValue, JsValue> {
        if !matches!(self.state, StreamState::Done(_)) {
            self.state = StreamState::Closed;
        }
        iter_result(true, "null").inspect(|r| {
            let _ = Reflect::set(r, &JsValue::from_str("value"), &JsValue::UNDEFINED);
        })
    }

    /// Rules, totals and destinations, once every chunk has been given (`INVALID_INPUT` before).
    #[wasm_bindgen(unchecked_return_type = "AllocationSummary")]
    pub fn summary(&self) -> Result<JsValue, JsValue> {
        match &self.state {
            StreamState::Done(t) => JSON::parse(t),
            StreamState::Closed => Err(closed_error()),
            StreamState::Running { .. } => Err(js_err(Error::invalid(
                "stream",
                "is not done: read every chunk first (the summary covers all lines)",
            ))),
        }
    }

    /// Whether every chunk has been given.
    #[wasm_bindgen(getter)]
    pub fn done(&self) -> bool {
        matches!(self.state, StreamState::Done(_))
    }

    /// Output lines given so far.
    #[wasm_bindgen(getter, js_name = linesGiven)]
    pub fn lines_given(&self) -> f64 {
        match &self.state {
            StreamState::Running { given, .. } => *given as f64,
            _ => f64::NAN,
        }
    }
}

impl AllocationStreamJs {
    /// `(done, JSON text of the iterator result's value)`; `None` when closed.
    fn next_text(&mut self) -> Result<Option<(bool, String)>, Error> {
        let StreamState::Running {
            stream,
            output,
            chunk,
            carry,
            given,
            ..
        } = &mut self.state
        else {
            return Ok(match &self.state {
                StreamState::Done(t) => Some((true, t.clone())),
                _ => None,
            });
        };
        let mut lines = std::mem::take(carry);
        while lines.len() < *chunk && stream.next_source(&mut lines)? {}
        if lines.len() > *chunk {
            *carry = lines.split_off(*chunk);
        }
        if lines.is_empty() {
            let summary = stream.finish()?;
            let text = serde_json::to_string(&summary).map_err(|e| Error::Internal {
                message: format!("summary serialization: {e}"),
            })?;
            self.state = StreamState::Done(text.clone());
            return Ok(Some((true, text)));
        }
        let mut texts: [JsText; 3] = Default::default();
        let mut counts = [0usize; 3];
        write_lines(&lines, *given, *output, &mut texts, &mut counts)?;
        *given += lines.len();
        let out = envelope(texts, *output, |_| Ok(()))?;
        Ok(Some((false, out.text)))
    }
}

/// `allocate` as a stream of chunks, for inputs whose result is too large for one value: the
/// same lines in the same order, `options.chunkLines` (default 10,000) output lines per chunk,
/// then the summary. Input errors are `allocate`'s and come now; the first pass (owners,
/// weights) runs now too.
#[wasm_bindgen(js_name = allocateStream, unchecked_return_type = "AllocationStream")]
pub fn allocate_stream(
    #[wasm_bindgen(unchecked_param_type = "AllocationInput")] input: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "AllocateStreamOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let run = || -> Result<AllocationStreamJs, Error> {
        let o: StreamOptions = stream_options(Some(&options))?;
        let chunk = chunk_size("options.chunkLines", o.chunk_lines, DEFAULT_CHUNK_LINES)?;
        let (parts, output) = allocation_input(&input)?;
        let stream = stream_of(parts)?;
        let fast =
            (output == AllocateOutput::default() && lines_js::available()).then(|| FastLines {
                lines: ChunkEncoder::default(),
                carry: ChunkEncoder::default(),
                tables: [
                    js_sys::Array::new(),
                    js_sys::Array::new(),
                    js_sys::Array::new(),
                ],
                sent: 0,
            });
        Ok(AllocationStreamJs {
            state: StreamState::Running {
                stream: Box::new(stream),
                output,
                chunk,
                carry: Vec::new(),
                given: 0,
                fast,
            },
        })
    };
    let s = run().map_err(js_err)?;
    let v = JsValue::from(s);
    make_iterable(&v);
    Ok(v)
}
