//! Exports of cost data in formats other tools read.

pub mod allocation_json;
pub mod columnar;
pub mod contract_commitment;
pub mod focus;
pub mod focus_columns;
