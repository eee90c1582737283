//! Values across the boundary. Both directions go through JSON text (`JSON.stringify` in,
//! `JSON.parse` out): V8's JSON is fast, only one serde format is compiled into the module (the
//! wasm stays small), unknown option names are caught, and functions (the `fetch` option) drop
//! out by themselves. Errors become real `Error` objects.

use js_sys::{Reflect, JSON};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::JsValue;

use crate::error::Error;

/// Deserializes a caller's value; `what` names it in errors when the problem is the value as a
/// whole, otherwise the error's `field` is the JSON path (`accounts[0].accountUuid`).
pub fn from_js<T: DeserializeOwned>(what: &str, value: &JsValue) -> Result<T, Error> {
    if value.is_undefined() || value.is_null() {
        return Err(Error::invalid(what, "is required"));
    }
    let text = JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| Error::invalid(what, "cannot be represented as JSON (cycle or BigInt?)"))?;
    crate::model::decode_input(what, &text)
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
