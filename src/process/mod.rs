//! Pure, synchronous processing: no I/O, no clock.

pub mod cost_to_date;
