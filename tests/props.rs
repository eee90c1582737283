//! Property tests beyond allocation (issue 8, part 2): cost-to-date, ingest batching, cursor
//! paging and the token cache, each against a model of what must hold for every input.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, HashSet};

use common::block_on;
use dps_cost::api::allocation::{AllocationField, AllocationQuery};
use dps_cost::api::cost::CostFilter;
use dps_cost::api::usage::EnvQuery;
use dps_cost::api::{AccountApi, Endpoints};
use dps_cost::auth::{parse_token_response, AccessToken, Credentials, TokenStore};
use dps_cost::clock::{Clock, FixedClock};
use dps_cost::http::{encode_component, HttpClient, HttpRequest, HttpResponse, RetryPolicy};
use dps_cost::ingest::{
    BatchSender, IngestAuth, IngestTarget, PreparedEvent, MAX_BATCH_BYTES, MAX_BATCH_EVENTS,
};
use dps_cost::model::cost::CostRecord;
use dps_cost::process::cost_to_date::cost_to_date;
use dps_cost::time::format_iso_ms;
use proptest::prelude::*;

const DAY_MS: i64 = 86_400_000;
const SSO: &str = "https://sso.example.test/sso/oauth2/token";
const API: &str = "https://api.example.test";
const ACC: &str = "3f7c2d1e-8a4b-4c6d-9e0f-1a2b3c4d5e6f";
const SUB: &str = "5d0c8a7e-1b2f-4c3d-8e4f-a0b1c2d3e4f5";

fn ok<T>(r: dps_cost::Result<T>) -> T {
    r.unwrap_or_else(|e| panic!("{e} ({})", e.code()))
}

/// A permutation of `0..n` from a seed (Fisher–Yates with a xorshift generator).
fn permutation(n: usize, mut seed: u64) -> Vec<usize> {
    let mut p: Vec<usize> = (0..n).collect();
    seed |= 1;
    for i in (1..n).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        p.swap(i, (seed % (i as u64 + 1)) as usize);
    }
    p
}

// ---------------------------------------------------------------------------------------------
// cost-to-date

/// One day's start time in one of the forms the API sends.
fn start_time(day: i64, form: u8) -> String {
    let iso = format_iso_ms(day * DAY_MS); // 2024-01-01T00:00:00.000Z
    match form % 3 {
        0 => iso,
        1 => iso.replace(".000Z", "Z"),
        _ => iso[..10].to_string(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Distinct days in any order and any timestamp form, values with up to 6 decimals (micro
    /// units): the output is the same for every input order, sorted by day, each running total
    /// is the exact decimal sum so far and the last one is the sum of all values.
    #[test]
    fn cost_to_date_is_order_independent_and_ends_at_the_sum(
        days in proptest::collection::btree_set(0i64..4_000, 1..120),
        micros in proptest::collection::vec(0u64..50_000_000_000, 120),
        forms in proptest::collection::vec(any::<u8>(), 120),
        seed in any::<u64>(),
    ) {
        let days: Vec<i64> = days.into_iter().collect();
        let recs: Vec<CostRecord> = days.iter().enumerate().map(|(i, d)| CostRecord {
            start_time: start_time(*d, forms[i]),
            end_time: None,
            value: micros[i] as f64 / 1e6,
            currency_code: Some("USD".into()),
            last_booking_date: None,
        }).collect();
        let in_order = ok(cost_to_date(recs.clone()));
        let shuffled: Vec<CostRecord> = permutation(recs.len(), seed).into_iter().map(|i| recs[i].clone()).collect();
        let again = ok(cost_to_date(shuffled));
        prop_assert_eq!(&in_order, &again);
        // Each running total equals the exact integer micro-unit sum so far.
        let mut exact: u64 = 0;
        for (i, r) in in_order.iter().enumerate() {
            exact += micros[i];
            prop_assert_eq!(r.record.start_time.clone(), start_time(days[i], forms[i]));
            prop_assert_eq!((r.cost_to_date * 1e6).round() as u64, exact, "record {}", i);
        }
        let total: u64 = micros[..days.len()].iter().sum();
        prop_assert_eq!(in_order.last().map(|r| (r.cost_to_date * 1e6).round() as u64), Some(total));
    }
}

// ---------------------------------------------------------------------------------------------
// ingest batching

/// An ingest endpoint with its own (smaller, random) size limit answering 413 above it, a
/// number of 503s before it starts storing, and a store of what it accepted.
struct IngestServer {
    limit: usize,
    unavailable: Cell<u32>,
    stored: RefCell<Vec<String>>,
    bodies: RefCell<Vec<(usize, usize)>>,
}

impl HttpClient for IngestServer {
    async fn send(&self, request: &HttpRequest) -> dps_cost::Result<HttpResponse> {
        let body = request.body.clone().unwrap_or_default();
        let events: Vec<serde_json::Value> =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("body is not a JSON array: {e}"));
        self.bodies.borrow_mut().push((body.len(), events.len()));
        if self.unavailable.get() > 0 {
            self.unavailable.set(self.unavailable.get() - 1);
            return Ok(HttpResponse::new(
                503,
                r#"{"error":{"code":503,"message":"busy"}}"#,
            ));
        }
        if body.len() > self.limit {
            return Ok(HttpResponse::new(413, "too large"));
        }
        for e in events {
            let id = e["event.id"]
                .as_str()
                .unwrap_or_else(|| panic!("no id"))
                .to_string();
            self.stored.borrow_mut().push(id);
        }
        Ok(HttpResponse::new(202, ""))
    }
    async fn sleep(&self, _ms: u64) {}
}

fn event(n: usize, pad: usize) -> PreparedEvent {
    let id = format!("ev-{n}");
    let json = serde_json::json!({"event.id": id, "event.type": "t", "pad": "x".repeat(pad)});
    PreparedEvent::from_serialize(Some(&id), &json).unwrap_or_else(|e| panic!("{e}"))
}

/// Event sizes: mostly small, some large enough to hit the byte limit with few events.
fn pad_size() -> impl Strategy<Value = usize> {
    prop_oneof![
        8 => 0usize..200,
        1 => 200_000usize..1_200_000,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Whatever the event count and sizes, the server's own limit (413 splits) and a run of
    /// 503s: every request stays within 5,000 events and 4.5 MB, every event is stored exactly
    /// once or reported (rejected or failed) exactly once, never both, and the report's counts
    /// match the store.
    #[test]
    fn batching_stays_within_limits_and_never_drops_or_duplicates(
        small in 0usize..12_000,
        pads in proptest::collection::vec(pad_size(), 0..14),
        server_limit in prop_oneof![Just(usize::MAX), 300_000usize..6_000_000],
        unavailable in 0u32..4,
        seed in any::<u64>(),
    ) {
        // Large events at random positions among the small ones.
        let total = small + pads.len();
        let order = permutation(total, seed);
        let events: Vec<PreparedEvent> = order.iter().enumerate().map(|(n, &k)| {
            event(n, if k < pads.len() { pads[k] } else { k % 97 })
        }).collect();
        let server = IngestServer {
            limit: server_limit,
            unavailable: Cell::new(unavailable),
            stored: RefCell::default(),
            bodies: RefCell::default(),
        };
        let target = ok(IngestTarget::new("https://env.example.test/api/v2/bizevents/ingest", IngestAuth::None));
        let retry = RetryPolicy { max_attempts: 3, base_delay_ms: 1, max_delay_ms: 10, budget_ms: 1_000, timeout_ms: 1_000 };
        let clock = FixedClock(1_800_000_000_000);
        let report = block_on(async {
            let mut sender = BatchSender::new(&server, &clock, Some(&target), retry);
            for e in events.iter().cloned() {
                sender.push(e).await;
            }
            sender.finish().await
        });

        for (bytes, count) in server.bodies.borrow().iter() {
            prop_assert!(*count >= 1 && *count <= MAX_BATCH_EVENTS, "{} events in one request", count);
            prop_assert!(*bytes <= MAX_BATCH_BYTES, "{} bytes in one request", bytes);
        }
        let stored = server.stored.borrow();
        let stored_set: HashSet<&str> = stored.iter().map(String::as_str).collect();
        prop_assert_eq!(stored_set.len(), stored.len(), "an event was stored twice");
        let mut fate: Vec<u8> = vec![0; total];
        for id in stored.iter() {
            let n: usize = id[3..].parse().unwrap_or_else(|e| panic!("{e}"));
            fate[n] += 1;
        }
        for r in &report.rejected {
            prop_assert_eq!(r.event_id.clone(), events[r.index].id.clone());
            fate[r.index] += 1;
        }
        for f in &report.failed {
            for slot in fate.iter_mut().skip(f.first_index).take(f.count) {
                *slot += 1;
            }
        }
        let wrong: Vec<(usize, u8)> = fate.iter().copied().enumerate().filter(|(_, c)| *c != 1).take(5).collect();
        prop_assert!(wrong.is_empty(), "events not accounted for exactly once (index, times): {:?}", wrong);
        prop_assert_eq!(report.sent, total);
        prop_assert_eq!(report.accepted, stored.len());
        prop_assert_eq!(report.accepted + report.rejected.len() + report.not_delivered(), total);
        if server_limit == usize::MAX && unavailable < retry.max_attempts {
            prop_assert!(report.is_complete(), "nothing may be lost without a cause: {:?}", report.failed);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// paging

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or_else(|e| panic!("{e}"));
            out.push(u8::from_str_radix(hex, 16).unwrap_or_else(|e| panic!("{e}")));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_else(|e| panic!("{e}"))
}

/// A paged listing: page bodies by page key (`None`: the first page), the token endpoint, and
/// a log of the query of every listing request.
struct PagedServer {
    pages: HashMap<Option<String>, String>,
    queries: RefCell<Vec<String>>,
}

impl HttpClient for PagedServer {
    async fn send(&self, request: &HttpRequest) -> dps_cost::Result<HttpResponse> {
        if request.url.starts_with(SSO) {
            return Ok(HttpResponse::new(
                200,
                r#"{"token_type":"Bearer","expires_in":300,"access_token":"eyJTOKEN"}"#,
            ));
        }
        let query = request
            .url
            .split_once('?')
            .map_or("", |(_, q)| q)
            .to_string();
        self.queries.borrow_mut().push(query.clone());
        let key = query
            .split('&')
            .find_map(|p| p.strip_prefix("page-key="))
            .map(percent_decode);
        Ok(match self.pages.get(&key) {
            Some(body) => HttpResponse::new(200, body.clone()),
            None => HttpResponse::new(
                400,
                format!(r#"{{"error":true,"message":"unknown page key {key:?}"}}"#),
            ),
        })
    }
    async fn sleep(&self, _ms: u64) {}
}

fn account_api(http: &PagedServer) -> AccountApi<&PagedServer, FixedClock> {
    let creds = ok(Credentials::new("", ACC, "dt0s02.A", "dt0s02.A.SECRET"));
    AccountApi::new(
        http,
        FixedClock(1_800_000_000_000),
        ok(Endpoints::new(Some(SSO), Some(API))),
        creds,
        None,
    )
    .with_retry(RetryPolicy::NONE)
}

/// Cut points splitting `0..n` into non-empty pages.
fn splits(n: usize, cuts: &[usize]) -> Vec<std::ops::Range<usize>> {
    let mut at: Vec<usize> = cuts
        .iter()
        .map(|c| 1 + c % n.max(1))
        .filter(|c| *c < n)
        .collect();
    at.sort_unstable();
    at.dedup();
    let mut out = Vec::new();
    let mut start = 0;
    for c in at.into_iter().chain(std::iter::once(n)) {
        out.push(start..c);
        start = c;
    }
    out
}

/// Page keys as servers make them: opaque, base64-ish, distinct.
fn page_key(n: usize, salt: &str) -> String {
    format!("{salt}{n}+/=")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// v3 per-environment cost: environments × days in server order, cut into pages anywhere
    /// (an environment may continue on the next page): the merged result holds every record
    /// exactly once, in order, grouped per environment; one request per page, each with the full
    /// query and the previous page's key.
    #[test]
    fn v3_paging_never_skips_or_repeats_records(
        per_env in proptest::collection::vec(0usize..9, 1..6),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
        salt in "[A-Za-z0-9]{0,6}",
    ) {
        // (environment, day) in the server's order.
        let rows: Vec<(usize, usize)> = per_env.iter().enumerate()
            .flat_map(|(e, n)| (0..*n).map(move |d| (e, d))).collect();
        let pages = splits(rows.len(), &cuts);
        let mut bodies = HashMap::new();
        for (p, range) in pages.iter().enumerate() {
            let mut data: Vec<serde_json::Value> = Vec::new();
            for &(e, d) in &rows[range.clone()] {
                let rec = serde_json::json!({"startTime": start_time(d as i64, 0), "value": (e * 100 + d) as f64 + 0.25,
                    "currencyCode": "EUR", "capabilityKey": "FULLSTACK_MONITORING"});
                match data.last_mut() {
                    Some(last) if last["environmentId"] == format!("env-{e}") => {
                        last["cost"].as_array_mut().unwrap_or_else(|| panic!()).push(rec)
                    }
                    _ => data.push(serde_json::json!({"environmentId": format!("env-{e}"), "clusterId": null, "cost": [rec]})),
                }
            }
            let next = (p + 1 < pages.len()).then(|| page_key(p + 1, &salt));
            let key = (p > 0).then(|| page_key(p, &salt));
            bodies.insert(key, serde_json::json!({"data": data, "nextPageKey": next, "lastModifiedTime": "x"}).to_string());
        }
        let http = PagedServer { pages: bodies, queries: RefCell::default() };
        let q = ok(EnvQuery::new("2024-01-01", "2024-02-01", CostFilter::default(), Some(50)));
        let envs = ok(block_on(account_api(&http).environment_cost(SUB, &q)));

        let got: Vec<(String, f64)> = envs.iter()
            .flat_map(|e| e.records.iter().map(move |r| (e.environment_id.clone(), r.value))).collect();
        let want: Vec<(String, f64)> = rows.iter().map(|&(e, d)| (format!("env-{e}"), (e * 100 + d) as f64 + 0.25)).collect();
        prop_assert_eq!(got, want);
        let ids: Vec<&str> = envs.iter().map(|e| e.environment_id.as_str()).collect();
        let distinct: HashSet<&str> = ids.iter().copied().collect();
        prop_assert_eq!(distinct.len(), ids.len(), "an environment appears twice: {:?}", ids);
        let queries = http.queries.borrow();
        prop_assert_eq!(queries.len(), pages.len());
        for (p, query) in queries.iter().enumerate() {
            prop_assert!(query.starts_with("startTime=2024-01-01T00%3A00%3A00.000Z&endTime=2024-02-01T00%3A00%3A00.000Z&page-size=50"), "{}", query);
            let key = (p > 0).then(|| format!("page-key={}", encode_component(&page_key(p, &salt))));
            prop_assert_eq!(query.split('&').find(|s| s.starts_with("page-key=")).map(str::to_string), key);
        }
    }

    /// The cost-allocation breakdown (first page: full query; later: `page-key` alone): every
    /// record exactly once, in order, under any split.
    #[test]
    fn allocation_paging_never_skips_or_repeats_records(
        n in 0usize..40,
        cuts in proptest::collection::vec(any::<usize>(), 0..10),
        salt in "[A-Za-z0-9]{0,6}",
    ) {
        let pages = splits(n, &cuts);
        let mut bodies = HashMap::new();
        for (p, range) in pages.iter().enumerate() {
            let records: Vec<serde_json::Value> = range.clone().map(|i| serde_json::json!({
                "date": start_time(i as i64, 2), "capability": "LOGS", "key": format!("k{i}"), "costs": i as f64 + 0.5})).collect();
            let next = (p + 1 < pages.len()).then(|| page_key(p + 1, &salt));
            bodies.insert((p > 0).then(|| page_key(p, &salt)), serde_json::json!({"records": records, "nextPageKey": next}).to_string());
        }
        let http = PagedServer { pages: bodies, queries: RefCell::default() };
        let q = AllocationQuery { field: AllocationField::Costcenter, environment_id: "abc12345".into(), from: None, to: None, page_size: None };
        let records = ok(block_on(account_api(&http).cost_allocation(SUB, &q)));
        let keys: Vec<Option<String>> = records.iter().map(|r| r.key.clone()).collect();
        let want: Vec<Option<String>> = (0..n).map(|i| Some(format!("k{i}"))).collect();
        prop_assert_eq!(keys, want);
        let queries = http.queries.borrow();
        prop_assert_eq!(queries.len(), pages.len());
        for (p, query) in queries.iter().enumerate().skip(1) {
            prop_assert_eq!(query.clone(), format!("page-key={}", encode_component(&page_key(p, &salt))));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// token cache

/// A clock the test moves.
struct StepClock(Cell<i64>);

impl Clock for StepClock {
    fn now_ms(&self) -> i64 {
        self.0.get()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// For any clock sequence (forward, backward, standing still, big jumps) and any token
    /// lifetimes the server hands out: a served token is never past its expiry at the moment it
    /// is served, a cached token is served only while it has the 30 s margin left, and a token is
    /// fetched only when the cache has no such token (per scope).
    #[test]
    fn token_cache_never_serves_an_expired_token(
        steps in proptest::collection::vec((-200_000i64..2_000_000, 0usize..2), 1..60),
        lifetimes in proptest::collection::vec(1i64..3_600, 60),
    ) {
        let store = TokenStore::default();
        let clock = StepClock(Cell::new(1_800_000_000_000));
        let fetches = Cell::new(0usize);
        // The model: per scope, the token last fetched and when it expires.
        let mut model: BTreeMap<usize, (String, i64)> = BTreeMap::new();
        for (step, scope) in steps {
            clock.0.set(clock.0.get() + step);
            let now = clock.now_ms();
            let scope_name = ["account-uac-read", "storage:events:write"][scope];
            let n = fetches.get();
            let life = lifetimes[n % lifetimes.len()];
            let token: AccessToken = ok(block_on(store.get(scope_name, || clock.now_ms(), || async {
                fetches.set(n + 1);
                let body = format!(r#"{{"access_token":"tok-{n}","token_type":"Bearer","expires_in":{life}}}"#);
                parse_token_response(&HttpResponse::new(200, body), clock.now_ms())
            })));
            prop_assert!(token.expires_at_ms > now, "served {} at {} but it expired at {}", token.token.expose(), now, token.expires_at_ms);
            let fresh_cached = model.get(&scope).filter(|(_, exp)| now < exp - 30_000).cloned();
            match fresh_cached {
                Some((id, exp)) => {
                    prop_assert_eq!(fetches.get(), n, "fetched although a fresh token was cached");
                    prop_assert_eq!(token.token.expose(), id.as_str());
                    prop_assert_eq!(token.expires_at_ms, exp);
                }
                None => {
                    prop_assert_eq!(fetches.get(), n + 1, "served a token that is no longer fresh");
                    prop_assert_eq!(token.token.expose(), format!("tok-{n}"));
                    prop_assert_eq!(token.expires_at_ms, now + life * 1000);
                    model.insert(scope, (format!("tok-{n}"), now + life * 1000));
                }
            }
        }
    }
}
