//! Values across the boundary: options in (with the JSON path of a bad field), results out as
//! plain JSON-compatible objects, errors as real `Error` objects.

use js_sys::{Object, Reflect};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::JsValue;

use crate::error::Error;

/// Deserializes caller options; the `fetch` property (a function) is not part of the data.
pub fn from_js<T: DeserializeOwned>(what: &str, value: &JsValue) -> Result<T, Error> {
    if value.is_undefined() || value.is_null() {
        return Err(Error::invalid(what, "is required"));
    }
    let data = if value.is_object() && !js_sys::Array::is_array(value) {
        let copy = Object::assign(&Object::new(), value.unchecked_ref());
        let _ = Reflect::delete_property(&copy, &JsValue::from_str("fetch"));
        JsValue::from(copy)
    } else {
        value.clone()
    };
    let de = serde_wasm_bindgen::Deserializer::from(data);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { what.to_string() } else { format!("{what}.{path}") };
        Error::invalid(field, e.into_inner())
    })
}

use wasm_bindgen::JsCast;

/// Serializes a result as plain objects (no `Map`s), `None` as `null`.
pub fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| error_to_js(&Error::Internal { message: format!("result conversion: {e}") }))
}

/// A real `Error` with `name = "DpsCostError"`, `code`, `status` and `field`.
pub fn error_to_js(e: &Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    err.set_name("DpsCostError");
    let set = |k: &str, v: JsValue| {
        let _ = Reflect::set(&err, &JsValue::from_str(k), &v);
    };
    set("code", JsValue::from_str(e.code()));
    set("status", e.status().map_or(JsValue::UNDEFINED, |s| JsValue::from_f64(f64::from(s))));
    set("field", e.field().map_or(JsValue::UNDEFINED, JsValue::from_str));
    err.into()
}
