//! Business events: builders (pure), deterministic ids, and ingest.

pub mod bizevents;
pub mod event_id;
pub mod ingest;
