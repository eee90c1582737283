//! The 401 token refresh, once: an API answer 401 means the cached token is no longer good (it
//! was revoked, or the clocks disagree about its expiry); drop it and try once more with a new
//! one. A second 401 is the answer.

use crate::http::HttpResponse;

/// What to do with an API answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshStep {
    /// The answer stands.
    Done,
    /// Drop the token of this scope, get a new one and send the request again.
    Refresh,
}

/// The refresh state of one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refresh {
    refreshed: bool,
}

impl Refresh {
    pub fn new() -> Self {
        Refresh::default()
    }

    /// Records the answer to the request sent with the current token.
    pub fn after(&mut self, response: &HttpResponse) -> RefreshStep {
        if response.status == 401 && !self.refreshed {
            self.refreshed = true;
            return RefreshStep::Refresh;
        }
        RefreshStep::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16) -> HttpResponse {
        HttpResponse::new(status, "")
    }

    #[test]
    fn a_401_refreshes_once_then_stands() {
        let mut r = Refresh::new();
        assert_eq!(r.after(&answer(401)), RefreshStep::Refresh);
        assert_eq!(r.after(&answer(401)), RefreshStep::Done);
    }

    #[test]
    fn a_401_after_a_refresh_that_worked_stands_too() {
        let mut r = Refresh::new();
        assert_eq!(r.after(&answer(401)), RefreshStep::Refresh);
        assert_eq!(r.after(&answer(200)), RefreshStep::Done);
    }

    #[test]
    fn other_answers_keep_the_token() {
        for status in [200, 204, 400, 403, 404, 429, 500, 503] {
            assert_eq!(
                Refresh::new().after(&answer(status)),
                RefreshStep::Done,
                "{status}"
            );
        }
    }
}
