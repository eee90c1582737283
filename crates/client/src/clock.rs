//! Time is injected: the core never reads the wall clock itself, and this crate reads it only
//! through a [`Clock`] it is given.

use crate::error::{Error, Result};
use crate::time::parse_timestamp_ms;

/// A source of "now", in milliseconds since the Unix epoch (UTC).
pub trait Clock {
    fn now_ms(&self) -> i64;
}

impl<T: Clock + ?Sized> Clock for &T {
    fn now_ms(&self) -> i64 {
        (**self).now_ms()
    }
}

/// The instant a call works at: the caller's `now` option when given (an ISO-8601 timestamp,
/// named `field` in the error), else the clock's.
pub fn now_or_clock(clock: &dyn Clock, field: &str, given: Option<&str>) -> Result<i64> {
    match given {
        Some(n) => parse_timestamp_ms(n)
            .ok_or_else(|| Error::invalid(field, "is not an ISO-8601 timestamp")),
        None => Ok(clock.now_ms()),
    }
}

/// A clock that always says the same instant (tests, replays, `now` overrides).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now_ms(&self) -> i64 {
        self.0
    }
}

/// The host's wall clock (native builds; the wasm bindings supply `Date.now()`).
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[cfg(not(target_arch = "wasm32"))]
impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        use std::time::{SystemTime, UNIX_EPOCH};
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_now_wins_over_the_clock() {
        let clock = FixedClock(7);
        assert_eq!(now_or_clock(&clock, "now", None).ok(), Some(7));
        assert_eq!(
            now_or_clock(&clock, "now", Some("1970-01-01T00:00:01Z")).ok(),
            Some(1000)
        );
        let e = now_or_clock(&clock, "options.now", Some("yesterday")).err();
        assert_eq!(e.as_ref().and_then(Error::field), Some("options.now"));
    }
}
