//! A replay transport: a route table of canned responses, a log of the exact requests made,
//! and recorded sleeps (no real waiting). Unknown routes answer 501 so that a missing route never
//! looks like an API error.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::VecDeque;

use dps_cost::http::{HttpClient, HttpRequest, HttpResponse, Method};
use dps_cost::Result;

pub mod sync;

pub struct Route {
    pub method: Method,
    /// The URL must start with this (query included if given).
    pub prefix: String,
    /// Answers in order; the last one repeats.
    pub responses: VecDeque<Result<HttpResponse>>,
}

#[derive(Default)]
pub struct Replay {
    routes: RefCell<Vec<Route>>,
    pub log: RefCell<Vec<HttpRequest>>,
    pub sleeps: RefCell<Vec<u64>>,
}

impl Replay {
    pub fn new() -> Self {
        Replay::default()
    }

    pub fn on(&self, method: Method, prefix: &str, responses: Vec<Result<HttpResponse>>) -> &Self {
        self.routes.borrow_mut().push(Route {
            method,
            prefix: prefix.to_string(),
            responses: responses.into(),
        });
        self
    }

    pub fn ok(&self, method: Method, prefix: &str, status: u16, body: &str) -> &Self {
        self.on(method, prefix, vec![Ok(HttpResponse::new(status, body))])
    }

    pub fn requests_to(&self, fragment: &str) -> Vec<HttpRequest> {
        self.log
            .borrow()
            .iter()
            .filter(|r| r.url.contains(fragment))
            .cloned()
            .collect()
    }
}

/// Returns `Pending` once, so concurrent requests really interleave (as over a network).
struct YieldNow(bool);

impl std::future::Future for YieldNow {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

impl HttpClient for Replay {
    async fn send(&self, request: &HttpRequest) -> Result<HttpResponse> {
        self.log.borrow_mut().push(request.clone());
        YieldNow(false).await;
        let mut routes = self.routes.borrow_mut();
        // Longest matching prefix wins, so specific routes override general ones.
        let route = routes
            .iter_mut()
            .filter(|r| r.method == request.method && request.url.starts_with(&r.prefix))
            .max_by_key(|r| r.prefix.len());
        match route {
            Some(r) if r.responses.len() > 1 => {
                r.responses.pop_front().unwrap_or_else(|| unreachable!())
            }
            Some(r) => match r.responses.front() {
                Some(Ok(resp)) => Ok(resp.clone()),
                Some(Err(e)) => Err(e.clone()),
                None => Ok(HttpResponse::new(501, "replay: route has no responses")),
            },
            None => Ok(HttpResponse::new(
                501,
                format!(
                    "replay: no route for {} {}",
                    request.method.as_str(),
                    request.url
                ),
            )),
        }
    }

    async fn sleep(&self, ms: u64) {
        self.sleeps.borrow_mut().push(ms);
    }
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    pollster::block_on(f)
}

/// Serves one healthy account on `r`: the token reply `token`, then the subscription list, the
/// subscription's details and its daily cost from the fixtures.
pub fn serve_account(r: &Replay, sso: &str, api: &str, account: &str, sub: &str, token: &str) {
    let url = |rest: &str| format!("{api}/sub/v2/accounts/{account}/subscriptions{rest}");
    r.ok(Method::Post, sso, 200, token);
    r.ok(Method::Get, &url(""), 200, &fixture("subscriptions.json"));
    r.ok(
        Method::Get,
        &url(&format!("/{sub}")),
        200,
        &fixture("subscription_details.json"),
    );
    r.ok(
        Method::Get,
        &url(&format!("/{sub}/cost")),
        200,
        &fixture("cost.json"),
    );
}

pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Compares `actual` with `tests/golden/{name}`; `UPDATE_GOLDEN=1` rewrites the file instead.
pub fn assert_golden(name: &str, actual: &str) {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap_or_else(|e| panic!("{path}: {e}"));
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e} (run with UPDATE_GOLDEN=1)"));
    assert!(expected == actual, "{name} differs from the golden file; diff it or rerun with UPDATE_GOLDEN=1\n--- actual ---\n{actual}");
}
