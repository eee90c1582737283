//! Business events: builders (pure), deterministic ids, and the cost-events pipeline.

pub mod allocation;
pub mod bizevents;
pub mod event_id;
pub mod pipeline;
