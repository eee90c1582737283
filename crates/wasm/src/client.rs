//! `DpsClient`: one method per Account Management endpoint, and `Pages`, the async iterator of
//! the cursor-paged listings.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Object, Promise, Reflect};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use dps_cost_client::api::allocation::{AllocationField, AllocationQuery};
use dps_cost_client::api::cost::CostFilter;
use dps_cost_client::api::forecast::EventQuery;
use dps_cost_client::api::paging::{Cursor, Page};
use dps_cost_client::api::settings::AllowList;
use dps_cost_client::api::usage::{EnvMetric, EnvQuery};
use dps_cost_client::api::AccountApi;
use dps_cost_core::error::Error;
use dps_cost_core::model::usage::{EnvCostRecord, EnvironmentRecords, UsageRecord};

use super::contract::client_parts;
use super::convert::{from_js, to_js};
use super::transport::{JsClock, Transport};
use super::{js_err, promise};

#[wasm_bindgen(typescript_custom_section)]
const TS_CLIENT_TYPES: &str = r#"
export interface EnvQuery extends CostFilter {
  /** ISO-8601, required by the API. */
  startTime: string;
  /** ISO-8601, exclusive, required by the API. */
  endTime: string;
  /** 1..50, default 50. */
  pageSize?: number;
}
export interface EnvCostRecord { startTime: string; endTime: string | null; value: number; currencyCode: string | null;
  capabilityKey: string; capabilityName: string | null; bookingDate: string | null }
export interface UsageRecord { capabilityKey: string; capabilityName: string | null; startTime: string; endTime: string | null;
  value: number; unitMeasure: string | null }
export interface EnvironmentRecords<T> { environmentId: string; clusterId: string | null; records: T[] }
export interface EnvPage<T> { environments: EnvironmentRecords<T>[]; nextPageKey: string | null }
export interface Forecast { forecastMedian: number | null; forecastLower: number | null; forecastUpper: number | null;
  budget: number | null; forecastBudgetPct: number | null; forecastBudgetDate: string | null; forecastCreatedAt: string | null }
export interface EventQuery { startTime?: string; endTime?: string; eventType?: "cost" | "forecast" | "budget" }
export interface SubscriptionEvent { environmentUuid: string | null; capability: string | null; date: string | null;
  createdAt: string | null; severity: string | null; message: string | null; eventType: string | null; notificationLevel: string | null }
export interface RateCard { quoteNumber: string | null; startTime: string | null; endTime: string | null; currencyCode: string | null;
  capabilities: { key: string; name: string | null; quotedPrice: string | null; quotedUnitOfMeasure: string | null;
    /** Exact decimal, as a string. */ price: string | null; startTime: string | null; endTime: string | null; deploymentType: string | null }[] }
export interface AllocationQuery { field: "COSTCENTER" | "PRODUCT"; environmentId: string; from?: string; to?: string; pageSize?: number }
/** `key: null` is the unallocated share. */
export interface AllocationRecord { date: string; capability: string | null; key: string | null; costs: number; usage: number | null }
export interface AllocationPage { records: AllocationRecord[]; nextPageKey: string | null }
export interface Environment { id: string; name: string | null; active: boolean | null; url: string | null }
export interface EnvironmentsV1 { tenantResources: { id: string; name: string | null }[];
  managementZoneResources: { parent: string | null; name: string | null; id: string }[] }
export type AllowListName = "costcenters" | "products";
"#;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(typescript_type = "CostFilter")]
    pub type CostFilterArg;
    #[wasm_bindgen(typescript_type = "EventQuery")]
    pub type EventQueryArg;
}

type Api = AccountApi<Transport, JsClock>;

/// One account's Account Management API. Tokens are cached per scope (renewed 30 s before
/// expiry, one request for concurrent calls); every call retries 429/5xx and network errors.
#[wasm_bindgen]
pub struct DpsClient {
    api: Rc<Api>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FilterOptions {
    #[serde(default)]
    environment_ids: Option<Vec<String>>,
    #[serde(default)]
    capability_keys: Option<Vec<String>>,
    #[serde(default)]
    cluster_ids: Option<Vec<String>>,
}

impl FilterOptions {
    fn into_filter(self) -> CostFilter {
        CostFilter {
            environment_ids: self.environment_ids.unwrap_or_default(),
            capability_keys: self.capability_keys.unwrap_or_default(),
            cluster_ids: self.cluster_ids.unwrap_or_default(),
        }
    }
}

fn optional<T: for<'de> Deserialize<'de> + Default>(
    what: &str,
    v: Option<JsValue>,
) -> Result<T, Error> {
    match v {
        Some(v) if !v.is_undefined() && !v.is_null() => from_js(what, &v),
        _ => Ok(T::default()),
    }
}

fn env_query(v: &JsValue) -> Result<EnvQuery, Error> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Q {
        start_time: String,
        end_time: String,
        #[serde(default)]
        page_size: Option<u32>,
        #[serde(default)]
        environment_ids: Option<Vec<String>>,
        #[serde(default)]
        capability_keys: Option<Vec<String>>,
        #[serde(default)]
        cluster_ids: Option<Vec<String>>,
    }
    let q: Q = from_js("query", v)?;
    let filter = FilterOptions {
        environment_ids: q.environment_ids,
        capability_keys: q.capability_keys,
        cluster_ids: q.cluster_ids,
    }
    .into_filter();
    EnvQuery::new(&q.start_time, &q.end_time, filter, q.page_size)
}

fn allocation_query(v: &JsValue) -> Result<AllocationQuery, Error> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Q {
        field: String,
        environment_id: String,
        #[serde(default)]
        from: Option<String>,
        #[serde(default)]
        to: Option<String>,
        #[serde(default)]
        page_size: Option<u32>,
    }
    let q: Q = from_js("query", v)?;
    let query = AllocationQuery {
        field: AllocationField::parse(&q.field)?,
        environment_id: q.environment_id,
        from: q.from,
        to: q.to,
        page_size: q.page_size,
    };
    query.params()?;
    Ok(query)
}

fn keys_arg(v: &JsValue) -> Result<Vec<String>, Error> {
    from_js("keys", v)
}

#[wasm_bindgen]
impl DpsClient {
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "ClientOptions")] options: JsValue,
    ) -> Result<DpsClient, JsValue> {
        let p = client_parts(&options).map_err(js_err)?;
        let api = AccountApi::new(p.transport, JsClock, p.endpoints, p.creds, Some(&p.scope))
            .with_retry(p.retry);
        Ok(DpsClient { api: Rc::new(api) })
    }

    /// Every subscription of the account.
    #[wasm_bindgen(unchecked_return_type = "Promise<Subscription[]>")]
    pub fn subscriptions(&self) -> Promise {
        let api = self.api.clone();
        promise(async move { api.subscriptions().await })
    }

    /// The ACTIVE + REGULAR subscription (latest start wins); NO_ACTIVE_SUBSCRIPTION if none.
    #[wasm_bindgen(js_name = activeSubscription, unchecked_return_type = "Promise<Subscription>")]
    pub fn active_subscription(&self) -> Promise {
        let api = self.api.clone();
        promise(async move { api.active_subscription().await })
    }

    /// Subscription details: budget, current period, capabilities.
    #[wasm_bindgen(unchecked_return_type = "Promise<SubscriptionDetails>")]
    pub fn subscription(&self, uuid: String) -> Promise {
        let api = self.api.clone();
        promise(async move { api.subscription(&uuid).await })
    }

    /// Daily cost of the subscription (all capabilities), as the API returns it.
    #[wasm_bindgen(js_name = dailyCost, unchecked_return_type = "Promise<CostRecord[]>")]
    pub fn daily_cost(&self, subscription_uuid: String, filter: Option<CostFilterArg>) -> Promise {
        let api = self.api.clone();
        let filter = optional::<FilterOptions>("filter", filter.map(JsValue::from))
            .map(FilterOptions::into_filter);
        promise(async move { api.daily_cost(&subscription_uuid, &filter?).await })
    }

    /// Daily usage of the subscription per capability.
    #[wasm_bindgen(js_name = subscriptionUsage, unchecked_return_type = "Promise<UsageRecord[]>")]
    pub fn subscription_usage(
        &self,
        subscription_uuid: String,
        filter: Option<CostFilterArg>,
    ) -> Promise {
        let api = self.api.clone();
        let filter = optional::<FilterOptions>("filter", filter.map(JsValue::from))
            .map(FilterOptions::into_filter);
        promise(async move { api.subscription_usage(&subscription_uuid, &filter?).await })
    }

    /// Cost per environment, capability and day (v3; every page, environments merged).
    #[wasm_bindgen(js_name = environmentCost, unchecked_return_type = "Promise<EnvironmentRecords<EnvCostRecord>[]>")]
    pub fn environment_cost(
        &self,
        subscription_uuid: String,
        #[wasm_bindgen(unchecked_param_type = "EnvQuery")] query: JsValue,
    ) -> Promise {
        let api = self.api.clone();
        let query = env_query(&query);
        promise(async move { api.environment_cost(&subscription_uuid, &query?).await })
    }

    /// Usage per environment, capability and day (v3; every page, environments merged).
    #[wasm_bindgen(js_name = environmentUsage, unchecked_return_type = "Promise<EnvironmentRecords<UsageRecord>[]>")]
    pub fn environment_usage(
        &self,
        subscription_uuid: String,
        #[wasm_bindgen(unchecked_param_type = "EnvQuery")] query: JsValue,
    ) -> Promise {
        let api = self.api.clone();
        let query = env_query(&query);
        promise(async move { api.environment_usage(&subscription_uuid, &query?).await })
    }

    /// The v3 cost listing page by page: `for await (const page of client.environmentCostPages(…))`.
    #[wasm_bindgen(js_name = environmentCostPages, unchecked_return_type = "AsyncIterableIterator<EnvPage<EnvCostRecord>>")]
    pub fn environment_cost_pages(
        &self,
        subscription_uuid: String,
        #[wasm_bindgen(unchecked_param_type = "EnvQuery")] query: JsValue,
    ) -> Result<JsValue, JsValue> {
        let query = env_query(&query).map_err(js_err)?;
        Pages::new(
            self.api.clone(),
            PagesKind::Env(EnvMetric::Cost, subscription_uuid, query),
        )
        .into_js()
    }

    /// The v3 usage listing page by page.
    #[wasm_bindgen(js_name = environmentUsagePages, unchecked_return_type = "AsyncIterableIterator<EnvPage<UsageRecord>>")]
    pub fn environment_usage_pages(
        &self,
        subscription_uuid: String,
        #[wasm_bindgen(unchecked_param_type = "EnvQuery")] query: JsValue,
    ) -> Result<JsValue, JsValue> {
        let query = env_query(&query).map_err(js_err)?;
        Pages::new(
            self.api.clone(),
            PagesKind::Env(EnvMetric::Usage, subscription_uuid, query),
        )
        .into_js()
    }

    /// The deprecated v2 per-environment cost (removed 2027-01-11: then a `GONE` error naming v3).
    #[wasm_bindgen(js_name = environmentCostV2, unchecked_return_type = "Promise<EnvironmentRecords<EnvCostRecord>[]>")]
    pub fn environment_cost_v2(
        &self,
        subscription_uuid: String,
        filter: Option<CostFilterArg>,
    ) -> Promise {
        let api = self.api.clone();
        let filter = optional::<FilterOptions>("filter", filter.map(JsValue::from))
            .map(FilterOptions::into_filter);
        promise(async move {
            api.environment_records_v2::<EnvCostRecord>(
                EnvMetric::Cost,
                &subscription_uuid,
                &filter?,
            )
            .await
        })
    }

    /// The deprecated v2 per-environment usage (see `environmentCostV2`).
    #[wasm_bindgen(js_name = environmentUsageV2, unchecked_return_type = "Promise<EnvironmentRecords<UsageRecord>[]>")]
    pub fn environment_usage_v2(
        &self,
        subscription_uuid: String,
        filter: Option<CostFilterArg>,
    ) -> Promise {
        let api = self.api.clone();
        let filter = optional::<FilterOptions>("filter", filter.map(JsValue::from))
            .map(FilterOptions::into_filter);
        promise(async move {
            api.environment_records_v2::<UsageRecord>(
                EnvMetric::Usage,
                &subscription_uuid,
                &filter?,
            )
            .await
        })
    }

    /// Dynatrace's forecast for the active subscription.
    #[wasm_bindgen(unchecked_return_type = "Promise<Forecast>")]
    pub fn forecast(&self) -> Promise {
        let api = self.api.clone();
        promise(async move { api.forecast().await })
    }

    /// Cost, forecast and budget events.
    #[wasm_bindgen(unchecked_return_type = "Promise<SubscriptionEvent[]>")]
    pub fn events(&self, query: Option<EventQueryArg>) -> Promise {
        #[derive(Deserialize, Default)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        struct Q {
            #[serde(default)]
            start_time: Option<String>,
            #[serde(default)]
            end_time: Option<String>,
            #[serde(default)]
            event_type: Option<String>,
        }
        let api = self.api.clone();
        let query = optional::<Q>("query", query.map(JsValue::from)).map(|q| EventQuery {
            start_time: q.start_time,
            end_time: q.end_time,
            event_type: q.event_type,
        });
        promise(async move { api.subscription_events(&query?).await })
    }

    /// Rate cards; prices are exact decimal strings.
    #[wasm_bindgen(js_name = rateCards, unchecked_return_type = "Promise<RateCard[]>")]
    pub fn rate_cards(&self) -> Promise {
        let api = self.api.clone();
        promise(async move { api.rate_cards().await })
    }

    /// Cost per cost center or product of one environment (every page).
    #[wasm_bindgen(js_name = costAllocation, unchecked_return_type = "Promise<AllocationRecord[]>")]
    pub fn cost_allocation(
        &self,
        subscription_uuid: String,
        #[wasm_bindgen(unchecked_param_type = "AllocationQuery")] query: JsValue,
    ) -> Promise {
        let api = self.api.clone();
        let query = allocation_query(&query);
        promise(async move { api.cost_allocation(&subscription_uuid, &query?).await })
    }

    /// The cost-allocation breakdown page by page.
    #[wasm_bindgen(js_name = costAllocationPages, unchecked_return_type = "AsyncIterableIterator<AllocationPage>")]
    pub fn cost_allocation_pages(
        &self,
        subscription_uuid: String,
        #[wasm_bindgen(unchecked_param_type = "AllocationQuery")] query: JsValue,
    ) -> Result<JsValue, JsValue> {
        let query = allocation_query(&query).map_err(js_err)?;
        Pages::new(
            self.api.clone(),
            PagesKind::Allocation(subscription_uuid, query),
        )
        .into_js()
    }

    /// The account's environments (scope `account-env-read`).
    #[wasm_bindgen(unchecked_return_type = "Promise<Environment[]>")]
    pub fn environments(&self) -> Promise {
        let api = self.api.clone();
        promise(async move { api.environments().await })
    }

    /// Environments with management zones (v1).
    #[wasm_bindgen(js_name = environmentsV1, unchecked_return_type = "Promise<EnvironmentsV1>")]
    pub fn environments_v1(&self) -> Promise {
        let api = self.api.clone();
        promise(async move { api.environments_v1().await })
    }

    /// Every key of the cost-center or product allow list.
    #[wasm_bindgen(js_name = listKeys, unchecked_return_type = "Promise<string[]>")]
    pub fn list_keys(
        &self,
        #[wasm_bindgen(unchecked_param_type = "AllowListName")] list: String,
    ) -> Promise {
        let api = self.api.clone();
        promise(async move { api.list_keys(AllowList::parse(&list)?).await })
    }

    /// Adds keys (scope `account-uac-write`); duplicates and the 250-value limit are checked first.
    #[wasm_bindgen(js_name = addKeys, unchecked_return_type = "Promise<void>")]
    pub fn add_keys(
        &self,
        #[wasm_bindgen(unchecked_param_type = "AllowListName")] list: String,
        #[wasm_bindgen(unchecked_param_type = "string[]")] keys: JsValue,
    ) -> Promise {
        let api = self.api.clone();
        let keys = keys_arg(&keys);
        promise(async move {
            api.add_keys(AllowList::parse(&list)?, &keys?)
                .await
                .map(|()| Nothing)
        })
    }

    /// Replaces the whole list.
    #[wasm_bindgen(js_name = replaceKeys, unchecked_return_type = "Promise<void>")]
    pub fn replace_keys(
        &self,
        #[wasm_bindgen(unchecked_param_type = "AllowListName")] list: String,
        #[wasm_bindgen(unchecked_param_type = "string[]")] keys: JsValue,
    ) -> Promise {
        let api = self.api.clone();
        let keys = keys_arg(&keys);
        promise(async move {
            api.replace_keys(AllowList::parse(&list)?, &keys?)
                .await
                .map(|()| Nothing)
        })
    }

    /// Deletes one key.
    #[wasm_bindgen(js_name = deleteKey, unchecked_return_type = "Promise<void>")]
    pub fn delete_key(
        &self,
        #[wasm_bindgen(unchecked_param_type = "AllowListName")] list: String,
        key: String,
    ) -> Promise {
        let api = self.api.clone();
        promise(async move {
            api.delete_key(AllowList::parse(&list)?, &key)
                .await
                .map(|()| Nothing)
        })
    }
}

/// Serializes as `null` (a `Promise<void>` resolves with `undefined` after conversion).
struct Nothing;

impl Serialize for Nothing {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_unit()
    }
}

enum PagesKind {
    Env(EnvMetric, String, EnvQuery),
    Allocation(String, AllocationQuery),
}

struct PagesState {
    cursor: Cursor,
    busy: bool,
}

/// The pages of a cursor-paged listing, handed to JS as an async iterator (see
/// [`Pages::into_js`]). Each page is fetched once, with the full query; the listing ends on an
/// empty, absent or repeated `nextPageKey`.
pub struct Pages {
    api: Rc<Api>,
    kind: Rc<PagesKind>,
    state: Rc<RefCell<PagesState>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EnvPageOut<T> {
    environments: Vec<EnvironmentRecords<T>>,
    next_page_key: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AllocationPageOut {
    records: Vec<dps_cost_core::model::allocation::AllocationRecord>,
    next_page_key: Option<String>,
}

fn iter_result(done: bool, value: JsValue) -> Result<JsValue, JsValue> {
    let o = Object::new();
    Reflect::set(&o, &JsValue::from_str("done"), &JsValue::from_bool(done))?;
    Reflect::set(&o, &JsValue::from_str("value"), &value)?;
    Ok(o.into())
}

impl Pages {
    fn new(api: Rc<Api>, kind: PagesKind) -> Self {
        Pages {
            api,
            kind: Rc::new(kind),
            state: Rc::new(RefCell::new(PagesState {
                cursor: Cursor::new(),
                busy: false,
            })),
        }
    }
}

impl Pages {
    /// A plain JS object `{next, return, [Symbol.asyncIterator]}`, so `for await (const page of
    /// …)` works. `[Symbol.asyncIterator]` is `Object.prototype.valueOf`, which returns its
    /// receiver: the object itself, with no closure holding a reference back to it.
    fn into_js(self) -> Result<JsValue, JsValue> {
        use wasm_bindgen::closure::Closure;
        let pages = Rc::new(self);
        let obj = Object::new();
        let p = pages.clone();
        let next = Closure::<dyn FnMut() -> Promise>::new(move || p.next()).into_js_value();
        let finish = Closure::<dyn FnMut() -> Promise>::new(move || pages.finish()).into_js_value();
        Reflect::set(&obj, &JsValue::from_str("next"), &next)?;
        Reflect::set(&obj, &JsValue::from_str("return"), &finish)?;
        let value_of = Reflect::get(&Object::new(), &JsValue::from_str("valueOf"))?;
        Reflect::set(&obj, &js_sys::Symbol::async_iterator(), &value_of)?;
        Ok(obj.into())
    }

    /// The next page, or `{done: true}` after the last.
    fn next(&self) -> Promise {
        let (api, kind, state) = (self.api.clone(), self.kind.clone(), self.state.clone());
        future_to_promise(async move {
            let key = {
                let mut st = state.borrow_mut();
                if st.cursor.is_done() {
                    return iter_result(true, JsValue::UNDEFINED);
                }
                if st.busy {
                    return Err(js_err(Error::invalid(
                        "next",
                        "the previous page is still being fetched; await it first",
                    )));
                }
                st.busy = true;
                st.cursor.key().map(str::to_string)
            };
            // `None`: the page ended the listing (the cursor decides; see `Cursor::advance`).
            let outcome: Result<Option<JsValue>, Error> = async {
                match &*kind {
                    PagesKind::Env(EnvMetric::Cost, sub, q) => {
                        let p = api
                            .environment_page::<EnvCostRecord>(
                                EnvMetric::Cost,
                                sub,
                                q,
                                key.as_deref(),
                            )
                            .await?;
                        listed(&state, p, |p| EnvPageOut {
                            environments: p.environments,
                            next_page_key: p.next_page_key,
                        })
                    }
                    PagesKind::Env(EnvMetric::Usage, sub, q) => {
                        let p = api
                            .environment_page::<UsageRecord>(
                                EnvMetric::Usage,
                                sub,
                                q,
                                key.as_deref(),
                            )
                            .await?;
                        listed(&state, p, |p| EnvPageOut {
                            environments: p.environments,
                            next_page_key: p.next_page_key,
                        })
                    }
                    PagesKind::Allocation(sub, q) => {
                        let p = api.cost_allocation_page(sub, q, key.as_deref()).await?;
                        listed(&state, p, |p| AllocationPageOut {
                            records: p.records,
                            next_page_key: p.next_page_key,
                        })
                    }
                }
            }
            .await;
            state.borrow_mut().busy = false;
            match outcome {
                Ok(Some(value)) => iter_result(false, value),
                Ok(None) => iter_result(true, JsValue::UNDEFINED),
                Err(e) => Err(js_err(e)),
            }
        })
    }

    /// Stops the iteration (`for await … break` calls it).
    fn finish(&self) -> Promise {
        self.state.borrow_mut().cursor.stop();
        Promise::resolve(&iter_result(true, JsValue::UNDEFINED).unwrap_or(JsValue::UNDEFINED))
    }
}

/// Hands `page` to the cursor; the JS value of the page unless it ended the listing.
fn listed<P: Page, O: Serialize>(
    state: &RefCell<PagesState>,
    page: P,
    out: impl FnOnce(P) -> O,
) -> Result<Option<JsValue>, Error> {
    if !state.borrow_mut().cursor.advance(&page) {
        return Ok(None);
    }
    to_js(&out(page)).map(Some).map_err(|_| internal())
}

fn internal() -> Error {
    Error::Internal {
        message: "page conversion failed".into(),
    }
}
