//! dps-cost: Dynatrace Platform Subscription cost data as FinOps data.

#[cfg(target_arch = "wasm32")]
mod wasm;

/// The crate version, stamped into the npm package.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
