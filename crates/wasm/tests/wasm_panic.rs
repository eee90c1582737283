//! The panic hook (src/wasm/panic.rs), driven directly: a panic in Rust code called from JS
//! reaches the JS caller as a `DpsCostError` with `code: "INTERNAL"`, not a bare trap. No panic
//! button ships: the panicking closure lives in this test only. Runs in Node and Chromium.
#![cfg(target_arch = "wasm32")]

use js_sys::Reflect;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

#[wasm_bindgen(inline_js = r#"
export function callCatching(f) {
  try { f(); return null; } catch (e) { return e; }
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = callCatching)]
    fn call_catching(f: &Closure<dyn FnMut()>) -> JsValue;
}

fn prop(v: &JsValue, k: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED)
}

/// One test only: after a panic escapes through the hook, std counts this thread as panicking
/// for good (no unwinding ever finished), so neither the hook nor anything else can run
/// panicking code in this instance again — which is why the message says to load dps-cost again.
#[wasm_bindgen_test]
fn a_panic_becomes_an_internal_dps_cost_error() {
    // What the module's start function does (wasm-bindgen-test does not run start functions);
    // twice, to show it is idempotent.
    dps_cost_wasm::panic::install();
    dps_cost_wasm::panic::install();
    let f = Closure::<dyn FnMut()>::new(|| {
        let v: Vec<u32> = Vec::new();
        let i = v.len() + 3;
        // An out-of-bounds index: the kind of bug the hook exists for.
        std::hint::black_box(v[std::hint::black_box(i)]);
    });
    let e = call_catching(&f);
    std::mem::forget(f); // its wasm frame was abandoned mid-call

    assert!(e.is_instance_of::<js_sys::Error>(), "not an Error: {e:?}");
    assert_eq!(
        prop(&e, "name").as_string().as_deref(),
        Some("DpsCostError")
    );
    assert_eq!(prop(&e, "code").as_string().as_deref(), Some("INTERNAL"));
    assert!(dps_cost_wasm::is_dps_cost_error(&e));
    let message = prop(&e, "message").as_string().unwrap_or_default();
    assert!(message.contains("a bug in dps-cost"), "{message}");
    assert!(message.contains("index out of bounds"), "{message}");
    assert!(message.contains("tests/wasm_panic.rs:"), "{message}");
    assert!(message.contains("no longer usable"), "{message}");
    // Exports that do not panic still answer.
    assert_eq!(dps_cost_wasm::version(), dps_cost_core::VERSION);
}
