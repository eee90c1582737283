//! The last line of defence: a panic (a bug; outside data never reaches an `unwrap`, see
//! `unwrap_used` in Cargo.toml) becomes a JS `Error` with `code: "INTERNAL"` instead of a bare
//! `RuntimeError: unreachable`.
//!
//! The release profile has `panic = "abort"`: after the hook returns, the instance would trap.
//! So the hook does not return: it throws the `DpsCostError` into the JS caller. No Rust
//! destructor runs on the way out (as with the trap), so the instance may hold half-updated
//! state: the message says so, and callers should drop this instance (a fresh `import()` in a
//! new worker, or a new process). A panic inside an async method's `poll` throws from the
//! microtask that polled it; that method's promise then never settles (the same as a trap).

use std::sync::Once;

use wasm_bindgen::prelude::*;

use dps_cost_core::error::Error;

static INSTALL: Once = Once::new();

/// Installed when the module is instantiated (every entry: node, web, inline).
#[wasm_bindgen(start)]
fn dps_cost_start() {
    install();
}

/// Installs [`hook`] once (idempotent).
pub fn install() {
    INSTALL.call_once(|| std::panic::set_hook(Box::new(hook)));
}

/// The panic hook: throws [`internal_error`] into the JS caller; never returns.
pub fn hook(info: &std::panic::PanicHookInfo<'_>) {
    wasm_bindgen::throw_val(internal_error(info));
}

/// The `Error` (`name` "DpsCostError", `code` "INTERNAL") for a panic. Only the panic's own
/// message and source location, at most 300 characters: panic messages are written by this
/// crate and never format a secret.
pub fn internal_error(info: &std::panic::PanicHookInfo<'_>) -> JsValue {
    let what = info
        .payload()
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_string());
    let at = info
        .location()
        .map(|l| format!(" at {}:{}", l.file(), l.line()))
        .unwrap_or_default();
    let what: String = what.chars().take(300).collect();
    super::js_err(Error::Internal {
        message: format!(
            "a bug in dps-cost: {what}{at}; this instance is no longer usable, load dps-cost again"
        ),
    })
}
