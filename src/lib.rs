//! dps-cost: Dynatrace Platform Subscription cost data as FinOps data.
//!
//! A pure Rust core (this crate, tested natively) compiled to WebAssembly; `src/wasm/` is the
//! only module that knows about JavaScript. Transport ([`http::HttpClient`]) and time
//! ([`clock::Clock`]) are injected.

pub mod allocate;
pub mod api;
pub mod auth;
pub mod clock;
pub mod error;
pub mod events;
pub mod export;
pub mod hash;
pub mod http;
pub mod model;
pub mod money;
pub mod process;
pub mod report;
pub mod sync;
pub mod time;
pub mod validate;

/// The JavaScript bindings (public so the wasm-bindgen tests can call them directly).
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::{Error, Result};

/// The crate version, stamped into the npm package.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
