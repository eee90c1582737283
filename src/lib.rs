//! dps-cost: Dynatrace Platform Subscription cost data as FinOps data.
//!
//! The Rust facade of the workspace: the pure core ([`dps_cost_core`]: model, money, time,
//! allocation, events, FOCUS) and the protocol and orchestration over an injected transport and
//! clock ([`dps_cost_client`]: auth, api, http, ingest, sync, report), under one set of paths.
//! The JavaScript bindings are the `dps-cost-wasm` crate.

pub use dps_cost_client::{api, auth, clock, http, ingest, protocol, report, sync};
pub use dps_cost_core::{
    allocate, error, events, export, hash, model, money, process, time, validate,
};
pub use dps_cost_core::{Error, Result, VERSION};
