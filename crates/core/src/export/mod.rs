//! Exports of cost data in formats other tools read.

pub mod allocation_json;
pub mod focus;
