//! dps-cost-client: the protocol and orchestration of dps-cost over an injected transport
//! ([`http::HttpClient`]) and time ([`clock::Clock`]): OAuth tokens, Account Management and
//! Datadog requests and replies, paging, retry, ingest batching, then sync and report.
//!
//! Builds on `dps-cost-core` (pure) and knows nothing of JavaScript (`dps-cost-wasm` does).

pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
#[cfg(feature = "delivery")]
pub mod delivery;
pub mod http;
pub mod ingest;
pub mod protocol;
pub mod report;
#[cfg(feature = "allocation-rules")]
pub mod rule_allocation;
pub mod sync;

// The core's modules under this crate's root, so `crate::model` and friends read the same here
// as in the core. They are the core's items, not copies.
pub use dps_cost_core::{
    allocate, error, events, export, hash, model, money, process, time, validate,
};
pub use dps_cost_core::{Error, Result, VERSION};
