//! Business events: the general builders, deterministic ids, and the named fast path of the
//! cost events (`cost_json`, checked against the general builders by its proptest).

pub mod allocation;
pub mod bizevents;
pub mod cost_json;
pub mod event_id;
