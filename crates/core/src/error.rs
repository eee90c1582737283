//! The one error type. Every failure has a stable [`Error::code`], an HTTP status where there is
//! one, and a message that never contains a secret.

use std::fmt;

/// Longest slice of a response body kept in an error (bytes, cut at a char boundary).
const BODY_SNIPPET_MAX: usize = 512;

/// Every failure dps-cost reports.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A caller-supplied value is missing, malformed or out of range.
    #[error("invalid input `{field}`: {message}")]
    InvalidInput { field: String, message: String },

    /// A response (or caller JSON) did not have the expected shape.
    #[error("could not decode {what} at `{path}`: {message}")]
    Decode {
        what: &'static str,
        path: String,
        message: String,
        /// Start of the offending body, never from a token endpoint.
        body: Option<String>,
    },

    /// The SSO server rejected the OAuth client (bad id/secret, bad resource, bad grant).
    #[error("OAuth client rejected by the token endpoint (HTTP {status}, {error}): {description}")]
    AuthInvalidClient {
        status: u16,
        error: String,
        description: String,
    },

    /// The OAuth client lacks scopes that were requested.
    #[error("OAuth client is missing scopes [{missing}] (HTTP {status}): {description}")]
    AuthMissingScope {
        status: u16,
        missing: String,
        description: String,
    },

    /// The token endpoint failed in a way that is not an OAuth error reply.
    #[error("token request failed (HTTP {status}): {message}")]
    AuthFailed { status: u16, message: String },

    /// A non-success HTTP status from an API.
    #[error("{method} {endpoint} failed with HTTP {status}: {message}")]
    Http {
        status: u16,
        method: &'static str,
        endpoint: String,
        message: String,
        retry_after_secs: Option<u64>,
    },

    /// The request was aborted after its timeout.
    #[error("{endpoint} did not answer within {ms} ms")]
    Timeout { endpoint: String, ms: u64 },

    /// The request never got an HTTP answer.
    #[error("network error calling {endpoint}: {message}")]
    Network { endpoint: String, message: String },

    /// The account has no subscription that is ACTIVE and REGULAR.
    #[error("account {account_uuid} has no ACTIVE REGULAR subscription ({seen})")]
    NoActiveSubscription { account_uuid: String, seen: String },

    /// The ingest endpoint refused the events as a whole.
    #[error("bizevent ingest failed (HTTP {status}): {message}")]
    IngestFailed { status: u16, message: String },

    /// Some events of a run were rejected or not delivered.
    #[error("{rejected} of {sent} bizevents were not stored: {message}")]
    IngestPartial {
        sent: usize,
        rejected: usize,
        message: String,
    },

    /// A cost allocation rule is malformed or uses what dps-cost does not support.
    #[error("allocation rule {rule} is invalid at `{field}`: {message}")]
    RuleInvalid {
        rule: String,
        field: String,
        message: String,
    },

    /// The run's deadline passed: no new request was started; what was built was still sent.
    #[error("the run deadline ({after_ms} ms) passed before {what}")]
    Deadline { after_ms: u64, what: String },

    /// A bug: an invariant of dps-cost itself did not hold.
    #[error("internal error: {message}")]
    Internal { message: String },
}

/// Declares [`CODES`] and [`TS_CODE_UNION`] from one list of codes.
macro_rules! error_codes {
    ($($code:ident),+ $(,)?) => {
        /// Every code [`Error::code`] returns, and nothing else: the one list the TypeScript
        /// `DpsCostErrorCode` union ([`TS_CODE_UNION`]) and the JS `isDpsCostError` guard come
        /// from. A test checks it against `code()` both ways.
        pub const CODES: &[&str] = &[$(stringify!($code)),+];

        /// The TypeScript declaration of the codes, generated from [`CODES`]: the bindings put it
        /// in the shipped `.d.ts`. Closed, not `| (string & {})`: README "Types" says why.
        pub const TS_CODE_UNION: &str = concat!(
            "/** Stable error codes of dps-cost: every value `DpsCostError.code` takes (generated from `CODES` in crates/core/src/error.rs). */\n",
            "export type DpsCostErrorCode =",
            $("\n  | \"", stringify!($code), "\""),+,
            ";\n",
        );
    };
}

error_codes!(
    INVALID_INPUT,
    DECODE,
    AUTH_INVALID_CLIENT,
    AUTH_MISSING_SCOPE,
    AUTH_FAILED,
    UNAUTHORIZED,
    FORBIDDEN,
    NOT_FOUND,
    GONE,
    RATE_LIMITED,
    HTTP_STATUS,
    NETWORK,
    TIMEOUT,
    NO_ACTIVE_SUBSCRIPTION,
    INGEST_FAILED,
    INGEST_PARTIAL,
    RULE_INVALID,
    DEADLINE,
    INTERNAL,
);

impl Error {
    /// The stable, documented code callers branch on; always one of [`CODES`].
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidInput { .. } => "INVALID_INPUT",
            Error::Decode { .. } => "DECODE",
            Error::AuthInvalidClient { .. } => "AUTH_INVALID_CLIENT",
            Error::AuthMissingScope { .. } => "AUTH_MISSING_SCOPE",
            Error::AuthFailed { .. } => "AUTH_FAILED",
            Error::Http { status, .. } => match status {
                401 => "UNAUTHORIZED",
                403 => "FORBIDDEN",
                404 => "NOT_FOUND",
                410 => "GONE",
                429 => "RATE_LIMITED",
                _ => "HTTP_STATUS",
            },
            Error::Network { .. } => "NETWORK",
            Error::Timeout { .. } => "TIMEOUT",
            Error::NoActiveSubscription { .. } => "NO_ACTIVE_SUBSCRIPTION",
            Error::IngestFailed { .. } => "INGEST_FAILED",
            Error::IngestPartial { .. } => "INGEST_PARTIAL",
            Error::RuleInvalid { .. } => "RULE_INVALID",
            Error::Deadline { .. } => "DEADLINE",
            Error::Internal { .. } => "INTERNAL",
        }
    }

    /// The HTTP status behind the error, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::AuthInvalidClient { status, .. }
            | Error::AuthMissingScope { status, .. }
            | Error::AuthFailed { status, .. }
            | Error::Http { status, .. }
            | Error::IngestFailed { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The field, option or JSON path the error is about, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::InvalidInput { field, .. } => Some(field),
            Error::Decode { path, .. } => Some(path),
            Error::RuleInvalid { field, .. } => Some(field),
            Error::AuthMissingScope { .. } => Some("scope"),
            _ => None,
        }
    }

    /// The message without the endpoint prefix of transport errors (what a report line needs).
    pub fn detail(&self) -> String {
        match self {
            Error::Network { message, .. } => message.clone(),
            Error::Http { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }

    /// Whether trying the same request again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Http { status, .. } => matches!(status, 429 | 502 | 503 | 504),
            Error::Network { .. } | Error::Timeout { .. } => true,
            _ => false,
        }
    }

    /// `INVALID_INPUT` for the option or field `field`.
    pub fn invalid(field: impl Into<String>, message: impl fmt::Display) -> Self {
        Error::InvalidInput {
            field: field.into(),
            message: message.to_string(),
        }
    }

    /// `DECODE`: `what` (a reply or input) at JSON path `path`, with the start of `body`.
    pub fn decode(
        what: &'static str,
        path: impl Into<String>,
        message: impl fmt::Display,
        body: Option<&str>,
    ) -> Self {
        Error::Decode {
            what,
            path: path.into(),
            message: message.to_string(),
            body: body.map(snippet),
        }
    }
}

impl Error {
    /// The same error with its `INVALID_INPUT` field named under `parent`, the argument or
    /// option the value came from (see [`field_under`]); every other error unchanged. The one
    /// way a binding or an orchestrator names a nested value's field from the caller's side.
    pub fn under(self, parent: &str) -> Error {
        match self {
            Error::InvalidInput { field, message } => Error::InvalidInput {
                field: field_under(parent, &field),
                message,
            },
            other => other,
        }
    }
}

/// The JSON path `path` under `parent`: `parent` itself when `path` is empty or already
/// `parent`, `parent[3].x` for an index path, `parent.x` otherwise.
pub fn field_under(parent: &str, path: &str) -> String {
    if path.is_empty() || path == parent {
        parent.to_string()
    } else if path.starts_with('[') {
        format!("{parent}{path}")
    } else {
        format!("{parent}.{path}")
    }
}

/// The start of `body`, at most 512 bytes (`BODY_SNIPPET_MAX`), cut at a char boundary.
pub fn snippet(body: &str) -> String {
    if body.len() <= BODY_SNIPPET_MAX {
        return body.to_string();
    }
    let mut end = BODY_SNIPPET_MAX;
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &body[..end])
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_codes_follow_status() {
        let e = |status| Error::Http {
            status,
            method: "GET",
            endpoint: "/x".into(),
            message: String::new(),
            retry_after_secs: None,
        };
        assert_eq!(e(401).code(), "UNAUTHORIZED");
        assert_eq!(e(403).code(), "FORBIDDEN");
        assert_eq!(e(404).code(), "NOT_FOUND");
        assert_eq!(e(429).code(), "RATE_LIMITED");
        assert_eq!(e(500).code(), "HTTP_STATUS");
        assert!(e(503).is_retryable());
        assert!(!e(400).is_retryable());
        assert_eq!(e(418).status(), Some(418));
    }

    /// One error of every variant (and of every `Http` status with its own code).
    fn one_of_each() -> Vec<Error> {
        let s = String::new;
        let http = |status| Error::Http {
            status,
            method: "GET",
            endpoint: s(),
            message: s(),
            retry_after_secs: None,
        };
        let all = vec![
            Error::invalid("f", "m"),
            Error::decode("w", "p", "m", None),
            Error::AuthInvalidClient {
                status: 400,
                error: s(),
                description: s(),
            },
            Error::AuthMissingScope {
                status: 403,
                missing: s(),
                description: s(),
            },
            Error::AuthFailed {
                status: 500,
                message: s(),
            },
            http(401),
            http(403),
            http(404),
            http(410),
            http(429),
            http(500),
            Error::Timeout {
                endpoint: s(),
                ms: 1,
            },
            Error::Network {
                endpoint: s(),
                message: s(),
            },
            Error::NoActiveSubscription {
                account_uuid: s(),
                seen: s(),
            },
            Error::IngestFailed {
                status: 400,
                message: s(),
            },
            Error::IngestPartial {
                sent: 1,
                rejected: 1,
                message: s(),
            },
            Error::RuleInvalid {
                rule: s(),
                field: s(),
                message: s(),
            },
            Error::Deadline {
                after_ms: 1,
                what: s(),
            },
            Error::Internal { message: s() },
        ];
        // No wildcard on purpose: a new variant does not compile until it has a sample above.
        for e in &all {
            match e {
                Error::InvalidInput { .. }
                | Error::Decode { .. }
                | Error::AuthInvalidClient { .. }
                | Error::AuthMissingScope { .. }
                | Error::AuthFailed { .. }
                | Error::Http { .. }
                | Error::Timeout { .. }
                | Error::Network { .. }
                | Error::NoActiveSubscription { .. }
                | Error::IngestFailed { .. }
                | Error::IngestPartial { .. }
                | Error::RuleInvalid { .. }
                | Error::Deadline { .. }
                | Error::Internal { .. } => {}
            }
        }
        all
    }

    #[test]
    fn codes_list_equals_what_code_returns() {
        let returned: std::collections::BTreeSet<&str> =
            one_of_each().iter().map(Error::code).collect();
        let listed: std::collections::BTreeSet<&str> = CODES.iter().copied().collect();
        assert_eq!(listed.len(), CODES.len(), "CODES has a duplicate");
        assert_eq!(
            returned, listed,
            "Error::code() and CODES differ (the TypeScript union comes from CODES)"
        );
    }

    #[test]
    fn typescript_union_lists_every_code_once() {
        let members: Vec<&str> = TS_CODE_UNION
            .lines()
            .filter_map(|l| l.trim().strip_prefix("| \""))
            .map(|l| l.trim_end_matches(';').trim_end_matches('"'))
            .collect();
        assert_eq!(members, CODES);
        assert!(TS_CODE_UNION.contains("export type DpsCostErrorCode ="));
        assert!(
            !TS_CODE_UNION.contains("string &"),
            "the union is closed (README \"Types\")"
        );
    }

    #[test]
    fn fields_are_named_under_their_parent() {
        for (path, want) in [
            ("", "records"),
            ("records", "records"),
            ("[3].value", "records[3].value"),
            ("accountUuid", "records.accountUuid"),
        ] {
            assert_eq!(field_under("records", path), want);
            let e = Error::invalid(path, "m").under("records");
            assert_eq!(e.field(), Some(want));
        }
        let other = Error::decode("reply", "[0]", "m", None).under("records");
        assert!(matches!(other, Error::Decode { ref path, .. } if path == "[0]"));
    }

    #[test]
    fn snippet_cuts_at_char_boundary() {
        let long = "é".repeat(600);
        let s = snippet(&long);
        assert!(s.len() <= BODY_SNIPPET_MAX + '…'.len_utf8());
        assert!(s.ends_with('…'));
    }
}
