//! The only place with `#[wasm_bindgen]`.

use wasm_bindgen::prelude::*;

/// The library version.
#[wasm_bindgen]
pub fn version() -> String {
    crate::VERSION.to_string()
}
