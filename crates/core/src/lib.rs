//! dps-cost-core: the pure core of dps-cost. Model, money, time, cost-to-date, forecast, charts,
//! Datadog-style allocation, business-event builders and ids, FOCUS export.
//!
//! No I/O, no futures, no clock: every function here is a function of its arguments ("now" is
//! an argument). The protocol and orchestration live in `dps-cost-client`, the JS bindings in
//! `dps-cost-wasm`; Cargo keeps this crate from reaching either.

pub mod allocate;
pub mod error;
pub mod events;
pub mod export;
pub mod hash;
pub mod model;
pub mod money;
pub mod process;
pub mod time;
pub mod validate;

pub use error::{Error, Result};

/// The crate version, stamped into the npm package and the run events.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
