//! Every Account Management API payload decoder, reached through the public `AccountApi`
//! methods over a scripted transport (so paging cursors, error bodies, `Retry-After` and the
//! 401-refresh path are exercised too).
//!
//! Input: byte 0 picks the endpoint, byte 1 an optional non-2xx status for one page and a
//! `Retry-After` flavour; the rest is split at `\n--\n` into the response bodies, in order.
//! Invariants: errors carry a stable code and (for DECODE) a path; a decoded value survives
//! encode→decode unchanged; paging stops (never more requests than scripted answers + 1);
//! cost-to-date of decoded daily cost ends at the exact sum.
#![no_main]

use dps_cost::api::allocation::{AllocationField, AllocationQuery};
use dps_cost::api::cost::CostFilter;
use dps_cost::api::forecast::EventQuery;
use dps_cost::api::settings::AllowList;
use dps_cost::api::usage::{EnvMetric, EnvQuery};
use dps_cost::api::{AccountApi, Endpoints};
use dps_cost::auth::Credentials;
use dps_cost::clock::FixedClock;
use dps_cost::http::{HttpResponse, Method, RetryPolicy};
use dps_cost::model::cost::CostRecord;
use dps_cost::model::usage::{EnvCostRecord, UsageRecord};
use dps_cost::money::Amount;
use dps_cost::process::cost_to_date::cost_to_date;
use dps_cost_fuzz::{check_error, pieces, round_trip, status_of, Scripted, NOW_MS};
use libfuzzer_sys::fuzz_target;

const ACCOUNT: &str = "7b0a5c9e-2f3d-4e1a-9b8c-1d2e3f4a5b6c";
const SUB: &str = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0";
const ENDPOINTS: u8 = 16;

fn check_cost_to_date(records: &[CostRecord]) {
    match cost_to_date(records.to_vec()) {
        Ok(out) => {
            assert_eq!(out.len(), records.len());
            let mut sum = Amount::ZERO;
            for r in records {
                sum = sum
                    .checked_add(Amount::from_f64(r.value).expect("accepted"))
                    .expect("no overflow");
            }
            if let Some(last) = out.last() {
                assert_eq!(last.cost_to_date, sum.to_f64(), "last cost-to-date != sum");
            }
        }
        Err(e) => check_error(&e),
    }
}

fn run(selector: u8, api: &AccountApi<&Scripted, FixedClock>) {
    let filter = CostFilter::default();
    let query = || {
        EnvQuery::new(
            "2025-01-01T00:00:00Z",
            "2025-02-01T00:00:00Z",
            CostFilter::default(),
            Some(2),
        )
        .expect("valid query")
    };
    let r: Result<(), dps_cost::Error> = pollster::block_on(async {
        match selector % ENDPOINTS {
            0 => round_trip("subscriptions", &api.subscriptions().await?),
            1 => {
                let s = api.active_subscription().await?;
                round_trip("subscription", &s);
            }
            2 => round_trip("subscription details", &api.subscription(SUB).await?),
            3 => {
                let records = api.daily_cost(SUB, &filter).await?;
                round_trip("cost", &records);
                check_cost_to_date(&records);
            }
            4 => round_trip("usage", &api.subscription_usage(SUB, &filter).await?),
            5 => round_trip(
                "environment cost",
                &api.environment_cost(SUB, &query()).await?,
            ),
            6 => round_trip(
                "environment usage",
                &api.environment_usage(SUB, &query()).await?,
            ),
            7 => round_trip(
                "environment cost v2",
                &api.environment_records_v2::<EnvCostRecord>(EnvMetric::Cost, SUB, &filter)
                    .await?,
            ),
            8 => round_trip(
                "environment usage v2",
                &api.environment_records_v2::<UsageRecord>(EnvMetric::Usage, SUB, &filter)
                    .await?,
            ),
            9 | 10 => {
                let q = AllocationQuery {
                    field: if selector % ENDPOINTS == 9 {
                        AllocationField::Costcenter
                    } else {
                        AllocationField::Product
                    },
                    environment_id: "abc12345".into(),
                    from: Some("2025-01-01".into()),
                    to: Some("2025-01-31".into()),
                    page_size: Some(2),
                };
                round_trip("cost allocation", &api.cost_allocation(SUB, &q).await?);
            }
            11 => round_trip("forecast", &api.forecast().await?),
            12 => round_trip(
                "events",
                &api.subscription_events(&EventQuery::default()).await?,
            ),
            13 => round_trip("rate cards", &api.rate_cards().await?),
            14 => {
                round_trip("environments", &api.environments().await?);
            }
            _ => {
                if selector & 0x80 == 0 {
                    round_trip("environments v1", &api.environments_v1().await?);
                } else {
                    api.list_keys(AllowList::CostCenters).await?;
                }
            }
        }
        Ok(())
    });
    if let Err(e) = r {
        check_error(&e);
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (selector, flavour) = (data[0], data[1]);
    let mut responses: Vec<HttpResponse> = pieces(&data[2..])
        .into_iter()
        .map(|b| HttpResponse::new(200, b))
        .collect();
    if flavour & 0x80 != 0 {
        let at = usize::from(flavour >> 5 & 3) % responses.len();
        responses[at].status = status_of(flavour);
        match flavour >> 4 & 1 {
            1 => responses[at]
                .headers
                .push(("Retry-After".into(), "Wed, 21 Oct 2015 07:28:00 GMT".into())),
            _ => responses[at]
                .headers
                .push(("Retry-After".into(), "1".into())),
        }
    }
    let scripted = responses.len();
    let http = Scripted::new(responses);
    let endpoints = Endpoints::new(None, None).expect("default endpoints");
    let creds = Credentials::new("", ACCOUNT, "dt0s02.CLIENT", "dt0s02.CLIENT.SECRET")
        .expect("valid credentials");
    let retry = RetryPolicy {
        max_attempts: 2,
        base_delay_ms: 0,
        max_delay_ms: 0,
        budget_ms: 1,
        timeout_ms: 1000,
    };
    let api = AccountApi::new(&http, FixedClock(NOW_MS), endpoints, creds, None).with_retry(retry);
    run(selector, &api);
    let gets = http
        .log
        .borrow()
        .iter()
        .filter(|r| r.method == Method::Get)
        .count();
    assert!(
        gets <= scripted + 1,
        "{gets} requests for {scripted} answers: paging did not stop"
    );
});
