//! Business events: builders (pure), deterministic ids, and ingest.

pub mod allocation;
pub mod bizevents;
pub mod event_id;
pub mod ingest;
