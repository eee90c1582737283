//! The token endpoint's reply (`auth::parse_token_response`): any status, headers and body.
//! Input: byte 0 = status, byte 1 = Retry-After flavour, the rest = the body.
//! Invariants: a token is non-empty and expires after "now"; an error has a stable code, and
//! never contains the access token the body carried.
#![no_main]

use dps_cost::auth::parse_token_response;
use dps_cost::http::HttpResponse;
use dps_cost_fuzz::{check_error, status_of, NOW_MS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let status = match data[0] {
        0..=191 => status_of(data[0]),
        b => 100 + u16::from(b) * 2, // anything else, 482..=610
    };
    let body = String::from_utf8_lossy(&data[2..]).into_owned();
    let mut response = HttpResponse::new(status, body.clone());
    match data[1] % 4 {
        1 => response = response.with_header("Retry-After", "7"),
        2 => response = response.with_header("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"),
        3 => {
            response =
                response.with_header("Retry-After", &body.chars().take(40).collect::<String>())
        }
        _ => {}
    }
    // The token the body carries, if any: it must never show up in an error.
    let carried = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("access_token")?.as_str().map(str::to_string))
        .filter(|t| t.len() >= 24);
    match parse_token_response(&response, NOW_MS) {
        Ok(token) => {
            assert!(response.is_success());
            assert!(!token.token.expose().is_empty());
            assert!(token.expires_in_secs > 0);
            assert!(token.expires_at_ms > NOW_MS);
            assert_eq!(
                token.authorization(),
                format!("Bearer {}", token.token.expose())
            );
            // Debug output of the token never shows the secret.
            let secret = token.token.expose();
            let others = format!(
                "{} {:?} {:?}",
                token.token_type, token.scope, token.resource
            );
            if secret.len() >= 24 && !others.contains(secret) {
                assert!(
                    !format!("{token:?}").contains(secret),
                    "token in Debug output"
                );
            }
            assert!(!token.token_type.is_empty() || body.contains("token_type"));
        }
        Err(e) => {
            check_error(&e);
            // A 2xx body is the token reply: nothing of it may reach the error.
            if let Some(t) = carried.filter(|_| response.is_success()) {
                let shown = format!("{e} {e:?} {}", e.detail());
                assert!(
                    !shown.contains(&t),
                    "the access token leaked into an error: {e}"
                );
            }
            if response.is_success() {
                assert_eq!(e.code(), "DECODE", "{e}");
            } else {
                assert_eq!(e.status(), Some(status), "{e}");
            }
        }
    }
});
