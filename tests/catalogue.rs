//! The bad-input catalogue (issue 8, part 3), Rust side: one table per public entry point the
//! wasm layer and the CLI use. Every row gives an input, the error `code` and `field` it must
//! produce, and checks that nothing partial came out: the entry point returned `Err` (no value),
//! and where a request could have been made, that none was (validation happens first), or that
//! nothing was stored. The JS and CLI tables are tests/js/catalogue.test.mjs; the README's
//! "Errors" section summarises all three.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::cell::RefCell;

use common::{block_on, Replay};
use dps_cost::allocate::lines::{cost_lines, CostLinesInput};
use dps_cost::allocate::{allocate, parse_rules, AllocationInput, CostLine};
use dps_cost::api::allocation::{AllocationField, AllocationQuery};
use dps_cost::api::cost::CostFilter;
use dps_cost::api::settings::{check_keys, AllowList};
use dps_cost::api::usage::EnvQuery;
use dps_cost::api::{AccountApi, Endpoints};
use dps_cost::auth::Credentials;
use dps_cost::clock::FixedClock;
use dps_cost::http::{HttpClient, HttpRequest, HttpResponse, Method, RetryOptions, RetryPolicy};
use dps_cost::ingest::{ingest, IngestAuth, IngestTarget, PreparedEvent};
use dps_cost::model::cost::CostRecord;
use dps_cost::model::decode_input;
use dps_cost::process::cost_to_date::cost_to_date;
use dps_cost::sync::SyncOptions;
use dps_cost::Error;

const SSO: &str = "https://sso.example.test/sso/oauth2/token";
const API: &str = "https://api.example.test";
const ACC: &str = "3f7c2d1e-8a4b-4c6d-9e0f-1a2b3c4d5e6f";
const SUB: &str = "5d0c8a7e-1b2f-4c3d-8e4f-a0b1c2d3e4f5";
const TOKEN: &str = r#"{"token_type":"Bearer","expires_in":300,"access_token":"eyJTOKEN"}"#;

/// One catalogue row: what it covers, the input, the expected code and field (`None`: no field).
type Row<'a> = (&'a str, String, &'a str, Option<&'a str>);

fn s(v: &str) -> String {
    v.to_string()
}

/// Runs every row through `entry`, which must fail with the row's code and field.
fn check<T: std::fmt::Debug>(
    entry: &str,
    rows: Vec<Row<'_>>,
    run: impl Fn(&str) -> Result<T, Error>,
) {
    let mut failures = Vec::new();
    for (what, input, code, field) in &rows {
        match run(input) {
            Ok(v) => failures.push(format!("{entry} / {what}: succeeded with {v:?}")),
            Err(e) if e.code() != *code || e.field() != *field => failures.push(format!(
                "{entry} / {what}: got {} field {:?} ({e}); want {code} field {field:?}",
                e.code(),
                e.field()
            )),
            Err(e) => {
                let text = format!("{e} {e:?}");
                if text.contains("SECRET") {
                    failures.push(format!(
                        "{entry} / {what}: the error shows a secret: {text}"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

fn long(n: usize) -> String {
    "x".repeat(n)
}

// ---------------------------------------------------------------------------------------------

/// `costToDate(records)`: the records as JSON (what the wasm layer hands over), then the sum.
#[test]
fn cost_to_date_catalogue() {
    let rows: Vec<Row> = vec![
        (
            "malformed JSON",
            s(r#"[{"startTime": "2024-01-01", "value": 1"#),
            "INVALID_INPUT",
            Some("[0].value"),
        ),
        (
            "not an array",
            s(r#"{"startTime":"2024-01-01","value":1}"#),
            "INVALID_INPUT",
            Some("records"),
        ),
        (
            "wrong type: value as string",
            s(r#"[{"startTime":"2024-01-01","value":"1.5"}]"#),
            "INVALID_INPUT",
            Some("[0].value"),
        ),
        (
            "wrong type: startTime as number",
            s(r#"[{"startTime":20240101,"value":1}]"#),
            "INVALID_INPUT",
            Some("[0].startTime"),
        ),
        (
            "missing value",
            s(r#"[{"startTime":"2024-01-01"}]"#),
            "INVALID_INPUT",
            Some("[0].value"),
        ),
        (
            "missing startTime",
            s(r#"[{"value":1}]"#),
            "INVALID_INPUT",
            Some("[0].startTime"),
        ),
        (
            "NaN (JSON.stringify gives null)",
            s(r#"[{"startTime":"2024-01-01","value":null}]"#),
            "INVALID_INPUT",
            Some("[0].value"),
        ),
        (
            "NaN literal",
            s(r#"[{"startTime":"2024-01-01","value":NaN}]"#),
            "INVALID_INPUT",
            Some("[0].value"),
        ),
        (
            "huge number (1e400)",
            s(r#"[{"startTime":"2024-01-01","value":1e400}]"#),
            "INVALID_INPUT",
            Some("[0].value"),
        ),
        (
            "too large for exact money (1e30)",
            s(r#"[{"startTime":"2024-01-01","value":1e30}]"#),
            "INVALID_INPUT",
            Some("[0].value"),
        ),
        (
            "invalid date (month 13)",
            s(r#"[{"startTime":"2024-13-01","value":1}]"#),
            "INVALID_INPUT",
            Some("[0].startTime"),
        ),
        (
            "invalid date (Feb 30)",
            s(r#"[{"startTime":"2024-02-30T00:00:00Z","value":1}]"#),
            "INVALID_INPUT",
            Some("[0].startTime"),
        ),
        (
            "invalid time zone (+25:00)",
            s(r#"[{"startTime":"2024-01-01T00:00:00+25:00","value":1}]"#),
            "INVALID_INPUT",
            Some("[0].startTime"),
        ),
        (
            "time zone name",
            s(r#"[{"startTime":"2024-01-01T00:00:00 Europe/Vienna","value":1}]"#),
            "INVALID_INPUT",
            Some("[0].startTime"),
        ),
        (
            "very long string",
            format!(r#"[{{"startTime":"{}","value":1}}]"#, long(100_000)),
            "INVALID_INPUT",
            Some("[0].startTime"),
        ),
        (
            "non-ASCII date",
            s(r#"[{"startTime":"２０２４-01-01","value":1}]"#),
            "INVALID_INPUT",
            Some("[0].startTime"),
        ),
        (
            "second record bad",
            s(r#"[{"startTime":"2024-01-01","value":1},{"startTime":"2024-01-02","value":"x"}]"#),
            "INVALID_INPUT",
            Some("[1].value"),
        ),
    ];
    check("costToDate", rows, |text| {
        let records: Vec<CostRecord> = decode_input("records", text)?;
        cost_to_date(records)
    });
    // Negative values are corrections (credits) and are allowed; empty is an empty result.
    let ok = cost_to_date(
        decode_input(r#"records"#, r#"[{"startTime":"2024-01-01","value":-2.5}]"#)
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ok[0].cost_to_date, -2.5);
}

/// `sync(config)`: decoded and validated before any request.
#[test]
fn sync_options_catalogue() {
    let acc = |extra: &str| {
        format!(
            r#"{{"accounts":[{{"accountUuid":"{ACC}","clientId":"dt0s02.A","clientSecret":"dt0s02.A.SECRET"}}]{extra}}}"#
        )
    };
    let rows: Vec<Row> = vec![
        (
            "malformed JSON",
            s(r#"{"accounts":["#),
            "INVALID_INPUT",
            Some("accounts[0]"),
        ),
        (
            "wrong type: accounts object",
            s(r#"{"accounts":{}}"#),
            "INVALID_INPUT",
            Some("accounts"),
        ),
        (
            "missing accounts",
            s("{}"),
            "INVALID_INPUT",
            Some("accounts"),
        ),
        (
            "empty accounts",
            s(r#"{"accounts":[]}"#),
            "INVALID_INPUT",
            Some("accounts"),
        ),
        (
            "missing clientSecret",
            format!(r#"{{"accounts":[{{"accountUuid":"{ACC}","clientId":"x"}}]}}"#),
            "INVALID_INPUT",
            Some("accounts[0].clientSecret"),
        ),
        (
            "invalid UUID",
            s(
                r#"{"accounts":[{"accountUuid":"not-a-uuid","clientId":"x","clientSecret":"dt0s02.A.SECRET"}]}"#,
            ),
            "INVALID_INPUT",
            Some("accounts[0].accountUuid"),
        ),
        (
            "hostile UUID (../)",
            s(
                r#"{"accounts":[{"accountUuid":"../../etc/passwd","clientId":"x","clientSecret":"dt0s02.A.SECRET"}]}"#,
            ),
            "INVALID_INPUT",
            Some("accounts[0].accountUuid"),
        ),
        (
            "duplicate accounts",
            format!(
                r#"{{"accounts":[{{"accountUuid":"{ACC}","clientId":"a","clientSecret":"dt0s02.A.SECRET"}},{{"accountUuid":"{ACC}","clientId":"b","clientSecret":"dt0s02.A.SECRET"}}]}}"#
            ),
            "INVALID_INPUT",
            Some("accounts[1].accountUuid"),
        ),
        (
            "unknown option",
            acc(r#","dryRun":true"#),
            "INVALID_INPUT",
            Some("dryRun"),
        ),
        (
            "http:// non-loopback apiUrl",
            acc(r#","apiUrl":"http://api.example.com""#),
            "INVALID_INPUT",
            Some("apiUrl"),
        ),
        (
            "http:// non-loopback ssoUrl",
            acc(r#","ssoUrl":"http://10.0.0.1/sso""#),
            "INVALID_INPUT",
            Some("ssoUrl"),
        ),
        (
            "URL with credentials",
            acc(r#","apiUrl":"https://user:pw@api.example.com""#),
            "INVALID_INPUT",
            Some("apiUrl"),
        ),
        (
            "http:// ingest",
            acc(
                r#","ingest":{"url":"http://env.example.com/api/v2/bizevents/ingest","accessToken":"x"}"#,
            ),
            "INVALID_INPUT",
            Some("ingest.url"),
        ),
        (
            "relative ingest with ../",
            acc(r#","ingest":{"url":"/platform/../admin"}"#),
            "INVALID_INPUT",
            Some("ingest.url"),
        ),
        (
            "relative ingest with ?",
            acc(r#","ingest":{"url":"/platform/classic/environment-api/v2/bizevents/ingest?x=1"}"#),
            "INVALID_INPUT",
            Some("ingest.url"),
        ),
        (
            "relative ingest with #",
            acc(r#","ingest":{"url":"/platform/classic/environment-api/v2/bizevents/ingest#x"}"#),
            "INVALID_INPUT",
            Some("ingest.url"),
        ),
        (
            "invalid now",
            acc(r#","now":"2024-02-30T00:00:00Z""#),
            "INVALID_INPUT",
            Some("now"),
        ),
        (
            "negative concurrency",
            acc(r#","concurrency":-1"#),
            "INVALID_INPUT",
            Some("concurrency"),
        ),
        (
            "zero concurrency",
            acc(r#","concurrency":0"#),
            "INVALID_INPUT",
            Some("concurrency"),
        ),
        (
            "huge windowDays",
            acc(r#","windowDays":1e12"#),
            "INVALID_INPUT",
            Some("windowDays"),
        ),
        (
            "windowDays 0",
            acc(r#","windowDays":0"#),
            "INVALID_INPUT",
            Some("windowDays"),
        ),
        (
            "unknown include family",
            acc(r#","include":{"costs":true}"#),
            "INVALID_INPUT",
            Some("include.costs"),
        ),
        (
            "retry.maxAttempts 0",
            acc(r#","retry":{"maxAttempts":0}"#),
            "INVALID_INPUT",
            Some("retry.maxAttempts"),
        ),
    ];
    check("sync", rows, |text| {
        decode_input::<SyncOptions>("config", text)?.validate()
    });
}

/// Client options (`getToken`, `new DpsClient`): credentials and endpoints.
#[test]
fn client_options_catalogue() {
    let rows: Vec<Row> = vec![
        (
            "invalid UUID",
            s("3f7c2d1e-8a4b-4c6d-9e0f-1a2b3c4d5e6"),
            "INVALID_INPUT",
            Some("accountUuid"),
        ),
        (
            "UUID with hostile characters",
            s("3f7c2d1e-8a4b-4c6d-9e0f-1a2b3c4d5e6?"),
            "INVALID_INPUT",
            Some("accountUuid"),
        ),
        (
            "non-ASCII UUID",
            s("3f7c2d1e-8a4b-4c6d-9e0f-1a2b3c4d5é6f"),
            "INVALID_INPUT",
            Some("accountUuid"),
        ),
        ("empty", s(""), "INVALID_INPUT", Some("accountUuid")),
        (
            "very long",
            long(10_000),
            "INVALID_INPUT",
            Some("accountUuid"),
        ),
    ];
    check("credentials", rows, |uuid| {
        Credentials::new("", uuid, "dt0s02.A", "dt0s02.A.SECRET")
    });
    let rows: Vec<Row> = vec![
        (
            "http:// non-loopback",
            s("http://api.example.com"),
            "INVALID_INPUT",
            Some("apiUrl"),
        ),
        (
            "http:// private address",
            s("http://192.168.1.10:8080"),
            "INVALID_INPUT",
            Some("apiUrl"),
        ),
        (
            "not a URL",
            s("api.example.com"),
            "INVALID_INPUT",
            Some("apiUrl"),
        ),
        (
            "other scheme",
            s("ftp://api.example.com"),
            "INVALID_INPUT",
            Some("apiUrl"),
        ),
        (
            "credentials in URL",
            s("https://u:p@api.example.com"),
            "INVALID_INPUT",
            Some("apiUrl"),
        ),
        (
            "query in base URL",
            s("https://api.example.com/?x=1"),
            "INVALID_INPUT",
            Some("apiUrl"),
        ),
        (
            "fragment in base URL",
            s("https://api.example.com/#x"),
            "INVALID_INPUT",
            Some("apiUrl"),
        ),
        ("empty", s(""), "INVALID_INPUT", Some("apiUrl")),
    ];
    check("endpoints", rows, |url| Endpoints::new(None, Some(url)));
    let rows: Vec<Row> = vec![
        (
            "maxAttempts huge",
            s(r#"{"maxAttempts":1000}"#),
            "INVALID_INPUT",
            Some("retry.maxAttempts"),
        ),
        (
            "timeoutMs 0",
            s(r#"{"timeoutMs":0}"#),
            "INVALID_INPUT",
            Some("retry.timeoutMs"),
        ),
        (
            "negative delay",
            s(r#"{"baseDelayMs":-1}"#),
            "INVALID_INPUT",
            Some("baseDelayMs"),
        ),
        (
            "unknown key",
            s(r#"{"attempts":3}"#),
            "INVALID_INPUT",
            Some("attempts"),
        ),
        (
            "wrong type",
            s(r#"{"maxAttempts":"3"}"#),
            "INVALID_INPUT",
            Some("maxAttempts"),
        ),
    ];
    check("retry", rows, |text| {
        decode_input::<RetryOptions>("retry", text)?.policy()
    });
}

// ---------------------------------------------------------------------------------------------
// API entry points: inputs checked before any request; malformed replies are DECODE with a path.

type TestApi<'a> = AccountApi<&'a Replay, FixedClock>;

fn api(http: &Replay) -> TestApi<'_> {
    let creds =
        Credentials::new("", ACC, "dt0s02.A", "dt0s02.A.SECRET").unwrap_or_else(|e| panic!("{e}"));
    AccountApi::new(
        http,
        FixedClock(1_800_000_000_000),
        Endpoints::new(Some(SSO), Some(API)).unwrap_or_else(|e| panic!("{e}")),
        creds,
        None,
    )
    .with_retry(RetryPolicy::NONE)
}

/// Calls `f` with an API whose every listing answers `body`; the error must come with no value.
fn with_reply<T>(
    body: &str,
    f: impl Fn(&AccountApi<&Replay, FixedClock>) -> Result<T, Error>,
) -> Result<T, Error> {
    let http = Replay::new();
    http.ok(Method::Post, SSO, 200, TOKEN);
    http.ok(Method::Get, API, 200, body);
    f(&api(&http))
}

#[test]
fn api_reply_decoding_catalogue() {
    let rows: Vec<Row> = vec![
        (
            "malformed JSON",
            s(r#"{"data":["#),
            "DECODE",
            Some("data[0]"),
        ),
        (
            "not JSON (HTML error page)",
            s("<html>502</html>"),
            "DECODE",
            Some("$"),
        ),
        (
            "wrong type: data object",
            s(r#"{"data":{}}"#),
            "DECODE",
            Some("data"),
        ),
        (
            "wrong type: uuid number",
            s(r#"{"data":[{"uuid":7}]}"#),
            "DECODE",
            Some("data[0].uuid"),
        ),
        (
            "missing uuid",
            s(r#"{"data":[{"name":"x"}]}"#),
            "DECODE",
            Some("data[0]"),
        ),
    ];
    check("subscriptions()", rows, |body| {
        with_reply(body, |a| block_on(a.subscriptions()))
    });
    let rows: Vec<Row> = vec![
        (
            "value as string",
            s(r#"{"data":[{"startTime":"2024-01-01","value":"1"}]}"#),
            "DECODE",
            Some("data[0].value"),
        ),
        (
            "missing value",
            s(r#"{"data":[{"startTime":"2024-01-01"}]}"#),
            "DECODE",
            Some("data[0]"),
        ),
        (
            "huge number",
            s(r#"{"data":[{"startTime":"2024-01-01","value":1e999}]}"#),
            "DECODE",
            Some("data[0].value"),
        ),
        (
            "truncated",
            s(r#"{"data":[{"startTime":"2024-01-01","value":1}"#),
            "DECODE",
            Some("data[0]"),
        ),
    ];
    check("dailyCost()", rows, |body| {
        with_reply(body, |a| {
            block_on(a.daily_cost(SUB, &CostFilter::default()))
        })
    });
    let rows: Vec<Row> = vec![
        (
            "records as object",
            s(r#"{"data":[{"environmentId":"e","cost":{}}]}"#),
            "DECODE",
            Some("data[0].cost"),
        ),
        (
            "missing environmentId",
            s(r#"{"data":[{"cost":[]}]}"#),
            "DECODE",
            Some("data[0]"),
        ),
        (
            "value null",
            s(
                r#"{"data":[{"environmentId":"e","cost":[{"startTime":"2024-01-01","capabilityKey":"X","value":null}]}]}"#,
            ),
            "DECODE",
            Some("data[0].cost[0].value"),
        ),
    ];
    check("environmentCost()", rows, |body| {
        let q = EnvQuery::new("2024-01-01", "2024-01-02", CostFilter::default(), None)?;
        with_reply(body, |a| block_on(a.environment_cost(SUB, &q)))
    });
    let rows: Vec<Row> = vec![
        (
            "records as string",
            s(r#"{"records":"x"}"#),
            "DECODE",
            Some("records"),
        ),
        (
            "record text not JSON",
            s(r#"{"records":["{date"]}"#),
            "DECODE",
            Some("records[0]"),
        ),
        (
            "costs as string",
            s(r#"{"records":[{"date":"2024-01-01","costs":"1"}]}"#),
            "DECODE",
            Some("records[0]"),
        ),
    ];
    check("costAllocation()", rows, |body| {
        let q = AllocationQuery {
            field: AllocationField::Product,
            environment_id: "abc12345".into(),
            from: None,
            to: None,
            page_size: None,
        };
        with_reply(body, |a| block_on(a.cost_allocation(SUB, &q)))
    });
    let rows: Vec<Row> = vec![(
        "forecast wrong type",
        s(r#"{"forecastMedian":"x"}"#),
        "DECODE",
        Some("forecastMedian"),
    )];
    check("forecast()", rows, |body| {
        with_reply(body, |a| block_on(a.forecast()))
    });
    let rows: Vec<Row> = vec![(
        "rate cards not a list",
        s(r#"{"data":7}"#),
        "DECODE",
        Some("$"),
    )];
    check("rateCards()", rows, |body| {
        with_reply(body, |a| block_on(a.rate_cards()))
    });
    let rows: Vec<Row> = vec![(
        "environments wrong type",
        s(r#"{"data":[{"id":1}]}"#),
        "DECODE",
        Some("data[0].id"),
    )];
    check("environments()", rows, |body| {
        with_reply(body, |a| block_on(a.environments()))
    });
}

/// Caller-supplied path and query parts: refused before any request is sent.
#[test]
fn api_arguments_catalogue() {
    let no_request = |f: &dyn Fn(&TestApi) -> Result<(), Error>| {
        let http = Replay::new();
        http.ok(Method::Post, SSO, 200, TOKEN);
        let r = f(&api(&http));
        let sent: Vec<String> = http.requests_to(API).into_iter().map(|q| q.url).collect();
        assert!(
            sent.is_empty(),
            "a request was sent for a bad argument: {sent:?} ({:?})",
            r.as_ref().err()
        );
        r
    };
    let rows: Vec<Row> = vec![
        (
            "../ traversal",
            s("../../accounts"),
            "INVALID_INPUT",
            Some("subscriptionUuid"),
        ),
        (
            "? in uuid",
            s("5d0c8a7e-1b2f-4c3d-8e4f-a0b1c2d3e4f5?x=1"),
            "INVALID_INPUT",
            Some("subscriptionUuid"),
        ),
        (
            "# in uuid",
            s("5d0c8a7e-1b2f-4c3d-8e4f-a0b1c2d3e4f5#"),
            "INVALID_INPUT",
            Some("subscriptionUuid"),
        ),
        (
            "% in uuid",
            s("5d0c8a7e%2F1b2f"),
            "INVALID_INPUT",
            Some("subscriptionUuid"),
        ),
        ("empty", s(""), "INVALID_INPUT", Some("subscriptionUuid")),
        (
            "very long",
            long(5_000),
            "INVALID_INPUT",
            Some("subscriptionUuid"),
        ),
    ];
    check("subscription(uuid)", rows, |uuid| {
        no_request(&|a| block_on(a.subscription(uuid)).map(|_| ()))
    });
    let rows: Vec<Row> = vec![
        (
            "empty environment id",
            s(""),
            "INVALID_INPUT",
            Some("environmentIds[0]"),
        ),
        (
            "comma (would split the list)",
            s("a,b"),
            "INVALID_INPUT",
            Some("environmentIds[0]"),
        ),
        (
            "control character",
            s("abc\nx"),
            "INVALID_INPUT",
            Some("environmentIds[0]"),
        ),
        (
            "very long",
            long(300),
            "INVALID_INPUT",
            Some("environmentIds[0]"),
        ),
    ];
    check("dailyCost(filter)", rows, |id| {
        let filter = CostFilter {
            environment_ids: vec![id.to_string()],
            ..CostFilter::default()
        };
        no_request(&|a| block_on(a.daily_cost(SUB, &filter)).map(|_| ()))
    });
    let rows: Vec<Row> = vec![
        (
            "invalid date",
            s("2024-02-30|2024-03-01|10"),
            "INVALID_INPUT",
            Some("startTime"),
        ),
        (
            "time zone name",
            s("2024-01-01T00:00:00 CET|2024-03-01|10"),
            "INVALID_INPUT",
            Some("startTime"),
        ),
        (
            "end before start",
            s("2024-03-01|2024-01-01|10"),
            "INVALID_INPUT",
            Some("endTime"),
        ),
        (
            "page size 0",
            s("2024-01-01|2024-03-01|0"),
            "INVALID_INPUT",
            Some("pageSize"),
        ),
        (
            "page size huge",
            s("2024-01-01|2024-03-01|4000000000"),
            "INVALID_INPUT",
            Some("pageSize"),
        ),
    ];
    check("environmentCost(query)", rows, |spec| {
        let p: Vec<&str> = spec.split('|').collect();
        let size: u32 = p[2].parse().unwrap_or(u32::MAX);
        EnvQuery::new(p[0], p[1], CostFilter::default(), Some(size))
    });
    let rows: Vec<Row> = vec![
        (
            "unknown enum value",
            s("COSTCENTRE"),
            "INVALID_INPUT",
            Some("field"),
        ),
        ("empty", s(""), "INVALID_INPUT", Some("field")),
    ];
    check("costAllocation(field)", rows, AllocationField::parse);
    let rows: Vec<Row> = vec![
        (
            "environment id with a comma",
            s("a,b|2024-01-01|2024-01-31"),
            "INVALID_INPUT",
            Some("environmentId"),
        ),
        (
            "invalid from",
            s("abc12345|2024-13-01|2024-01-31"),
            "INVALID_INPUT",
            Some("from"),
        ),
        (
            "to before from",
            s("abc12345|2024-02-01|2024-01-31"),
            "INVALID_INPUT",
            Some("to"),
        ),
    ];
    check("costAllocation(query)", rows, |spec| {
        let p: Vec<&str> = spec.split('|').collect();
        let q = AllocationQuery {
            field: AllocationField::Product,
            environment_id: p[0].into(),
            from: Some(p[1].into()),
            to: Some(p[2].into()),
            page_size: None,
        };
        no_request(&|a| block_on(a.cost_allocation(SUB, &q)).map(|_| ()))
    });
    let rows: Vec<Row> = vec![
        ("unknown list", s("teams"), "INVALID_INPUT", Some("list")),
        (
            "hostile list",
            s("../costcenters"),
            "INVALID_INPUT",
            Some("list"),
        ),
    ];
    check("listKeys(list)", rows, AllowList::parse);
    let rows: Vec<Row> = vec![
        ("empty key", s(""), "INVALID_INPUT", Some("keys[1]")),
        ("duplicate key", s("A"), "INVALID_INPUT", Some("keys[1]")),
        (
            "very long key",
            long(10_000),
            "INVALID_INPUT",
            Some("keys[1]"),
        ),
        (
            "control character",
            s("a\u{0}b"),
            "INVALID_INPUT",
            Some("keys[1]"),
        ),
    ];
    check("addKeys(keys)", rows, |k| {
        let keys = vec!["A".to_string(), k.to_string()];
        no_request(&|a| block_on(a.add_keys(AllowList::Products, &keys)))
    });
}

// ---------------------------------------------------------------------------------------------

/// Records ingest requests and stores what a 2xx accepted.
#[derive(Default)]
struct Store {
    requests: RefCell<usize>,
    stored: RefCell<Vec<String>>,
    status: u16,
}

impl HttpClient for Store {
    async fn send(&self, request: &HttpRequest) -> dps_cost::Result<HttpResponse> {
        *self.requests.borrow_mut() += 1;
        if (200..300).contains(&self.status) {
            self.stored
                .borrow_mut()
                .push(request.body.clone().unwrap_or_default());
        }
        Ok(HttpResponse::new(
            self.status,
            r#"{"error":{"code":400,"message":"bad"}}"#,
        ))
    }
    async fn sleep(&self, _ms: u64) {}
}

/// `ingest({url, events, …})`: target checked first; a refused ingest is an error and nothing is
/// reported as accepted.
#[test]
fn ingest_catalogue() {
    let rows: Vec<Row> = vec![
        (
            "http:// non-loopback",
            s("http://env.example.com/api/v2/bizevents/ingest"),
            "INVALID_INPUT",
            Some("ingest.url"),
        ),
        (
            "not a URL",
            s("env.example.com/api/v2/bizevents/ingest"),
            "INVALID_INPUT",
            Some("ingest.url"),
        ),
        (
            "relative ../",
            s("/platform/../../admin"),
            "INVALID_INPUT",
            Some("ingest.url"),
        ),
        (
            "relative ?",
            s("/platform/classic/environment-api/v2/bizevents/ingest?a=b"),
            "INVALID_INPUT",
            Some("ingest.url"),
        ),
        (
            "relative #",
            s("/platform/x#y"),
            "INVALID_INPUT",
            Some("ingest.url"),
        ),
        (
            "credentials in URL",
            s("https://u:p@env.example.com/api/v2/bizevents/ingest"),
            "INVALID_INPUT",
            Some("ingest.url"),
        ),
        ("empty", s(""), "INVALID_INPUT", Some("ingest.url")),
    ];
    check("ingest(url)", rows, |url| {
        IngestTarget::new(
            url,
            IngestAuth::Bearer(dps_cost::auth::Secret::new("SECRET")),
        )
    });
    let api_token = IngestTarget::new(
        "https://env.apps.example.com/platform/classic/environment-api/v2/bizevents/ingest",
        IngestAuth::ApiToken(dps_cost::auth::Secret::new("SECRET")),
    );
    assert_eq!(
        api_token
            .err()
            .map(|e| (e.code(), e.field().map(str::to_string))),
        Some(("INVALID_INPUT", Some("ingest.apiToken".into())))
    );

    // Refused as a whole (400 without per-event errors, 401, 403): an error, nothing stored.
    let rows: Vec<Row> = vec![
        ("400 refused", s("400"), "INGEST_FAILED", None),
        ("401", s("401"), "UNAUTHORIZED", None),
        ("403", s("403"), "FORBIDDEN", None),
    ];
    check("ingest(events)", rows, |status| {
        let store = Store {
            status: status.parse().unwrap_or(500),
            ..Store::default()
        };
        let target = IngestTarget::new(
            "https://env.example.test/api/v2/bizevents/ingest",
            IngestAuth::None,
        )?;
        let events = vec![PreparedEvent {
            id: Some("a".into()),
            json: r#"{"event.id":"a"}"#.into(),
        }];
        let r = block_on(ingest(
            &store,
            &FixedClock(0),
            &target,
            &events,
            RetryPolicy::NONE,
        ));
        assert!(store.stored.borrow().is_empty());
        assert!(*store.requests.borrow() >= 1);
        r
    });
}

// ---------------------------------------------------------------------------------------------

const RULE: &str = r#"{"id":"1","type":"arbitrary_rule","attributes":{"rule_name":"r","provider":["dynatrace"],"type":"shared","enabled":true,"order_id":1,
  "costs_to_allocate":[{"condition":"is","tag":"capability","value":"X"}],
  "strategy":{"method":"percent","allocated_by":[{"allocated_tags":[{"key":"team","value":"a"}],"percentage":1.0}]}}}"#;

/// `allocate({lines, rules, drivers})`: rules parsed and validated, lines decoded, then the
/// engine; any error means no result at all.
#[test]
fn allocate_catalogue() {
    let line = |cost: &str, date: &str| {
        format!(
            r#"[{{"date":"{date}","cost":{cost},"currency":"USD","tags":{{"capability":"X"}}}}]"#
        )
    };
    let rule_with = |from: &str, to: &str| RULE.replace(from, to);
    // Input: "<rules JSON>\n<lines JSON>".
    let rows: Vec<Row> = vec![
        (
            "rules malformed JSON",
            format!("[{{\n---\n{}", line("1", "2024-01-01")),
            "DECODE",
            Some("[0]"),
        ),
        (
            "rules wrong type",
            format!("7\n---\n{}", line("1", "2024-01-01")),
            "DECODE",
            Some("data"),
        ),
        (
            "unknown method",
            format!(
                "[{}]\n---\n{}",
                rule_with("\"percent\"", "\"fair\""),
                line("1", "2024-01-01")
            ),
            "RULE_INVALID",
            Some("strategy.method"),
        ),
        (
            "unknown condition",
            format!(
                "[{}]\n---\n{}",
                rule_with("\"is\"", "\"resembles\""),
                line("1", "2024-01-01")
            ),
            "RULE_INVALID",
            Some("costs_to_allocate[0].condition"),
        ),
        (
            "percentages above 100%",
            format!(
                "[{}]\n---\n{}",
                rule_with("1.0", "1.5"),
                line("1", "2024-01-01")
            ),
            "RULE_INVALID",
            Some("strategy.allocated_by"),
        ),
        (
            "negative percentage",
            format!(
                "[{}]\n---\n{}",
                rule_with("1.0", "-1.0"),
                line("1", "2024-01-01")
            ),
            "RULE_INVALID",
            Some("strategy.allocated_by[0].percentage"),
        ),
        (
            "missing strategy",
            format!(
                "[{}]\n---\n{}",
                rule_with(r#""strategy""#, r#""strat""#),
                line("1", "2024-01-01")
            ),
            "RULE_INVALID",
            Some("strategy"),
        ),
        (
            "line cost NaN (null)",
            format!("[{RULE}]\n---\n{}", line("null", "2024-01-01")),
            "INVALID_INPUT",
            Some("lines[0].cost"),
        ),
        (
            "line cost huge",
            format!("[{RULE}]\n---\n{}", line("1e300", "2024-01-01")),
            "INVALID_INPUT",
            Some("lines[0].cost"),
        ),
        (
            "line cost 1e400",
            format!("[{RULE}]\n---\n{}", line("1e400", "2024-01-01")),
            "INVALID_INPUT",
            Some("lines[0].cost"),
        ),
        (
            "line date invalid",
            format!("[{RULE}]\n---\n{}", line("1", "2024-02-30")),
            "INVALID_INPUT",
            Some("lines[0].date"),
        ),
        (
            "line date with time zone",
            format!("[{RULE}]\n---\n{}", line("1", "2024-01-01T00:00:00+01:00")),
            "INVALID_INPUT",
            Some("lines[0].date"),
        ),
        (
            "line missing currency",
            format!("[{RULE}]\n---\n[{{\"date\":\"2024-01-01\",\"cost\":1,\"tags\":{{}}}}]"),
            "INVALID_INPUT",
            Some("lines[0].currency"),
        ),
        (
            "lines not an array",
            format!("[{RULE}]\n---\n{{}}"),
            "INVALID_INPUT",
            Some("lines"),
        ),
    ];
    check("allocate", rows, |text| {
        let (rules, lines) = text.split_once("\n---\n").unwrap_or((text, "[]"));
        let rules = parse_rules(rules)?;
        let lines: Vec<CostLine> = decode_input("lines", lines).map_err(|e| match e {
            Error::InvalidInput { field, message } if field != "lines" => Error::InvalidInput {
                field: format!("lines{field}"),
                message,
            },
            other => other,
        })?;
        allocate(&AllocationInput {
            lines,
            rules,
            drivers: Default::default(),
        })
    });
    // Empty inputs are valid: nothing to allocate.
    let empty = allocate(&AllocationInput::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(empty.lines.is_empty());
}

/// `costLines(input)`.
#[test]
fn cost_lines_catalogue() {
    let input = |extra: &str, envs: &str| {
        format!(
            r#"{{"accountUuid":"{ACC}","subscriptionUuid":"{SUB}","environments":{envs}{extra}}}"#
        )
    };
    let env = r#"[{"environmentId":"abc12345","cost":[{"startTime":"2024-01-01T00:00:00Z","value":1.5,"currencyCode":"USD","capabilityKey":"X"}]}]"#;
    let rows: Vec<Row> = vec![
        (
            "malformed JSON",
            s(r#"{"accountUuid":"#),
            "INVALID_INPUT",
            Some("accountUuid"),
        ),
        (
            "missing environments",
            format!(r#"{{"accountUuid":"{ACC}","subscriptionUuid":"{SUB}"}}"#),
            "INVALID_INPUT",
            Some("environments"),
        ),
        (
            "invalid account UUID",
            input("", env).replace(ACC, "nope"),
            "INVALID_INPUT",
            Some("accountUuid"),
        ),
        (
            "unknown breakdown field",
            input(r#","breakdown":{"field":"TEAM","environments":[]}"#, env),
            "INVALID_INPUT",
            Some("breakdown.field"),
        ),
        (
            "value NaN (null)",
            input("", &env.replace("1.5", "null")),
            "INVALID_INPUT",
            Some("environments[0].cost[0].value"),
        ),
        (
            "invalid start time",
            input(
                "",
                &env.replace("2024-01-01T00:00:00Z", "2024-01-01T25:00:00Z"),
            ),
            "INVALID_INPUT",
            Some("environments[0].records[0].startTime"),
        ),
        (
            "unknown option",
            input(r#","tags":{}"#, env),
            "INVALID_INPUT",
            Some("tags"),
        ),
    ];
    check("costLines", rows, |text| {
        cost_lines(&decode_input::<CostLinesInput>("input", text)?)
    });
}

/// Allow-list keys are checked before a write (non-ASCII and hostile characters are fine: they
/// are sent as JSON, never in a URL path).
#[test]
fn allow_list_keys_are_json_not_paths() {
    check_keys(
        &[
            "R&D".into(),
            "Kundenservice München".into(),
            "../x?y#z%".into(),
        ],
        &[],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let e = check_keys(&["a".into()], &["a".into()])
        .err()
        .unwrap_or_else(|| panic!("duplicate against existing passed"));
    assert_eq!((e.code(), e.field()), ("INVALID_INPUT", Some("keys[0]")));
}

/// Hostile and non-ASCII identifiers in a query (`../`, `?`, `#`, `%`, `&`, `=`, umlauts) are not
/// errors: they are percent-encoded into their own parameter, so the path and the other
/// parameters stay exactly as built. (Path segments are UUIDs, numeric ids, or allow-list keys
/// with `.`/`..` refused: see `api_arguments_catalogue` and settings.rs.)
#[test]
fn hostile_query_values_stay_inside_their_parameter() {
    for id in [
        "../x",
        "abc?x=1",
        "abc#x",
        "abc%2e",
        "a&subscriptionUuid=evil",
        "umgebung-ü",
        "x=y",
    ] {
        let http = Replay::new();
        http.ok(Method::Post, SSO, 200, TOKEN);
        http.ok(Method::Get, API, 200, r#"{"data":[]}"#);
        let filter = CostFilter {
            environment_ids: vec![id.to_string()],
            ..CostFilter::default()
        };
        let out =
            block_on(api(&http).daily_cost(SUB, &filter)).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert!(out.is_empty());
        let urls: Vec<String> = http.requests_to(API).into_iter().map(|r| r.url).collect();
        assert_eq!(urls.len(), 1, "{id}");
        let (path, query) = urls[0]
            .split_once('?')
            .unwrap_or_else(|| panic!("no query: {}", urls[0]));
        assert_eq!(
            path,
            format!("{API}/sub/v2/accounts/{ACC}/subscriptions/{SUB}/cost"),
            "{id}"
        );
        let params: Vec<&str> = query.split('&').collect();
        assert_eq!(params.len(), 1, "{id}: {query}");
        let value = params[0]
            .strip_prefix("environmentIds=")
            .unwrap_or_else(|| panic!("{query}"));
        assert!(!value.contains(['/', '?', '#', '&', '=']), "{id}: {value}");
        assert_eq!(value, dps_cost::http::encode_component(id));
    }
}

/// `reportData` / `exportCost` options: checked before any request.
#[test]
fn report_options_catalogue() {
    let acc = |extra: &str| {
        format!(
            r#"{{"accounts":[{{"accountUuid":"{ACC}","clientId":"dt0s02.A","clientSecret":"dt0s02.A.SECRET"}}]{extra}}}"#
        )
    };
    let rows: Vec<Row> = vec![
        (
            "malformed JSON",
            s(r#"{"accounts":"#),
            "INVALID_INPUT",
            Some("accounts"),
        ),
        (
            "empty accounts",
            s(r#"{"accounts":[]}"#),
            "INVALID_INPUT",
            Some("accounts"),
        ),
        (
            "unknown option",
            acc(r#","frobnicate":1"#),
            "INVALID_INPUT",
            Some("frobnicate"),
        ),
        (
            "NaN windowDays (null)",
            acc(r#","windowDays":null"#),
            "INVALID_INPUT",
            Some("windowDays"),
        ),
        (
            "negative windowDays",
            acc(r#","windowDays":-1"#),
            "INVALID_INPUT",
            Some("windowDays"),
        ),
        (
            "windowDays 401",
            acc(r#","windowDays":401"#),
            "INVALID_INPUT",
            Some("windowDays"),
        ),
        (
            "invalid from",
            acc(r#","from":"2026-02-30""#),
            "INVALID_INPUT",
            Some("from"),
        ),
        (
            "from in a bad zone",
            acc(r#","from":"2026-01-01T00:00:00+25:00""#),
            "INVALID_INPUT",
            Some("from"),
        ),
        (
            "to before from",
            acc(r#","from":"2026-02-01","to":"2026-01-01""#),
            "INVALID_INPUT",
            Some("to"),
        ),
        (
            "window over 400 days",
            acc(r#","from":"2024-01-01","to":"2026-01-01""#),
            "INVALID_INPUT",
            Some("to"),
        ),
        (
            "unknown format",
            acc(r#","format":"xlsx""#),
            "INVALID_INPUT",
            Some("format"),
        ),
        (
            "very long format",
            acc(&format!(r#","format":"{}""#, long(100_000))),
            "INVALID_INPUT",
            Some("format"),
        ),
        (
            "rules not rules",
            acc(r#","rules":{"data":7}"#),
            "INVALID_INPUT",
            Some("rules.data"),
        ),
        (
            "http:// non-loopback API",
            acc(r#","apiUrl":"http://api.example.com""#),
            "INVALID_INPUT",
            Some("apiUrl"),
        ),
    ];
    check("reportData/exportCost", rows, |text| {
        decode_input::<dps_cost::report::ReportOptions>("config", text)?
            .validate()
            .map(|_| ())
    });
}
