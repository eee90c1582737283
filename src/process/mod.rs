//! Pure, synchronous processing: no I/O, no clock.

pub mod charts;
pub mod cost_to_date;
pub mod forecast;
pub mod pipeline;
