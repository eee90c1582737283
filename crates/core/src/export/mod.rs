//! Exports of cost data in formats other tools read.

pub mod focus;
