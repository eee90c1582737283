//! Values across the boundary. Both directions go through JSON text (`JSON.stringify` in,
//! `JSON.parse` out): V8's JSON is fast, only one serde format is compiled into the module (the
//! wasm stays small), unknown option names are caught, and functions (the `fetch` option) drop
//! out by themselves. Errors become real `Error` objects.

#[cfg(feature = "contract")]
use std::cell::OnceCell;

#[cfg(feature = "contract")]
use js_sys::{JsString, Uint8Array};
use js_sys::{Reflect, JSON};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::prelude::*;
#[cfg(feature = "contract")]
use wasm_bindgen::JsCast;

use dps_cost_core::error::Error;

/// Deserializes a caller's value; `what` names it in errors when the problem is the value as a
/// whole, otherwise the error's `field` is the JSON path (`accounts[0].accountUuid`).
pub fn from_js<T: DeserializeOwned>(what: &str, value: &JsValue) -> Result<T, Error> {
    if value.is_undefined() || value.is_null() {
        return Err(Error::invalid(what, "is required"));
    }
    let text = JSON::stringify(value)
        .ok()
        .filter(|s| s.is_string())
        .and_then(|s| {
            // Large inputs (allocation lines, records) cross faster through `encodeInto`; the
            // Workflow module, whose only input is a small config, keeps wasm-bindgen's path and
            // 2.3 KB less.
            #[cfg(feature = "contract")]
            if let Some(text) = utf8_of(&s) {
                return Some(text);
            }
            s.as_string()
        })
        .ok_or_else(|| Error::invalid(what, "cannot be represented as JSON (cycle or BigInt?)"))?;
    dps_cost_core::model::decode_input(what, &text)
}

#[cfg(feature = "contract")]
#[wasm_bindgen]
extern "C" {
    type TextEncoder;
    #[wasm_bindgen(constructor, catch)]
    fn new() -> Result<TextEncoder, JsValue>;
    #[wasm_bindgen(method, js_name = encodeInto)]
    fn encode_into(this: &TextEncoder, source: &JsString, dest: &Uint8Array) -> EncodeIntoResult;
    type EncodeIntoResult;
    #[wasm_bindgen(method, getter)]
    fn read(this: &EncodeIntoResult) -> f64;
    #[wasm_bindgen(method, getter)]
    fn written(this: &EncodeIntoResult) -> f64;
}

#[cfg(feature = "contract")]
thread_local! {
    /// A `TextEncoder` with `encodeInto`, where the host has one; made once.
    static ENCODER: OnceCell<Option<TextEncoder>> = const { OnceCell::new() };
}

#[cfg(feature = "contract")]
fn encoder() -> Option<TextEncoder> {
    let e = TextEncoder::new().ok()?;
    Reflect::has(&e, &JsValue::from_str("encodeInto"))
        .ok()
        .filter(|has| *has)
        .map(|_| e)
}

/// The UTF-8 text of a JS string, written by `TextEncoder.encodeInto` straight into wasm memory;
/// `None` where the host has no `encodeInto` (callers then take wasm-bindgen's path). wasm-bindgen's
/// own string passing (`passStringToWasm0`) copies the ASCII prefix one `charCodeAt` at a time in
/// JS: measured at ~70 % of the crossing cost of a 17 MB text (BENCHMARKS.md).
#[cfg(feature = "contract")]
pub fn utf8_of(s: &JsString) -> Option<String> {
    ENCODER.with(|cell| {
        let encoder = cell.get_or_init(encoder).as_ref()?;
        let memory = wasm_bindgen::memory().unchecked_into::<js_sys::WebAssembly::Memory>();
        // One byte per UTF-16 unit for ASCII; the rest grows by 3 bytes per remaining unit.
        let mut buf = vec![0u8; s.length() as usize];
        let mut source = s.clone();
        let mut used = 0usize;
        loop {
            // A fresh view each time: `buf` may have moved and the memory may have grown.
            let view = Uint8Array::new_with_byte_offset_and_length(
                &memory.buffer(),
                buf.as_mut_ptr() as u32 + used as u32,
                (buf.len() - used) as u32,
            );
            let r = encoder.encode_into(&source, &view);
            let (read, written) = (r.read() as u32, r.written() as usize);
            used += written;
            if read >= source.length() {
                break;
            }
            source = source.slice(read, source.length());
            buf.resize(used + 3 * source.length() as usize, 0);
        }
        buf.truncate(used);
        String::from_utf8(buf).ok()
    })
}

/// Serializes a result to plain objects (`None` → `null`).
pub fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(value).map_err(|e| {
        error_to_js(&Error::Internal {
            message: format!("result serialization: {e}"),
        })
    })?;
    JSON::parse(&text)
}

/// The codes, from the one list in Rust (`dps_cost_core::error::CODES`).
#[wasm_bindgen(typescript_custom_section)]
const TS_ERROR_CODES: &str = dps_cost_core::error::TS_CODE_UNION;

/// The object [`error_to_js`] builds. It exists only in JS (the Rust side is the `Error` enum and
/// its `code()`, `status()`, `field()`), so it is declared here, next to the code that builds it,
/// and only here.
#[wasm_bindgen(typescript_custom_section)]
const TS_DPS_COST_ERROR: &str = r#"
/** Every failure of dps-cost: a real `Error`. Its message never contains a secret or token. */
export interface DpsCostError extends Error {
  readonly name: "DpsCostError";
  /** Stable code to branch on. */
  readonly code: DpsCostErrorCode;
  /** HTTP status of the failed response, when there was one. */
  readonly status?: number;
  /** The option, field or JSON path the error is about, when there is one. */
  readonly field?: string;
}
"#;

/// A real `Error` with `name = "DpsCostError"`, `code`, `status` and `field`.
pub fn error_to_js(e: &Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    err.set_name("DpsCostError");
    let set = |k: &str, v: JsValue| {
        let _ = Reflect::set(&err, &JsValue::from_str(k), &v);
    };
    set("code", JsValue::from_str(e.code()));
    set(
        "status",
        e.status()
            .map_or(JsValue::UNDEFINED, |s| JsValue::from_f64(f64::from(s))),
    );
    set(
        "field",
        e.field().map_or(JsValue::UNDEFINED, JsValue::from_str),
    );
    err.into()
}
