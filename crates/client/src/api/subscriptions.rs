//! `GET /sub/v2/accounts/{accountUuid}/subscriptions[/{subscriptionUuid}]`.

use crate::auth::SCOPE_ACCOUNT_READ;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::http::HttpClient;
use crate::model::subscription::{Subscription, SubscriptionDetails, SubscriptionList};

use super::{require, AccountApi};

impl<C: HttpClient, K: Clock> AccountApi<C, K> {
    /// Every subscription of the account.
    pub async fn subscriptions(&self) -> Result<Vec<Subscription>> {
        let account = self.account_uuid().to_string();
        let list: SubscriptionList = self
            .get_json(
                "subscription list",
                SCOPE_ACCOUNT_READ,
                &["sub", "v2", "accounts", &account, "subscriptions"],
                &[],
            )
            .await?;
        list.data
            .ok_or_else(|| Error::decode("subscription list", "data", "missing", None))
    }

    /// The active regular subscription (see [`choose_active`]).
    pub async fn active_subscription(&self) -> Result<Subscription> {
        let all = self.subscriptions().await?;
        choose_active(self.account_uuid(), &all).cloned()
    }

    /// Details (budget, current period, capabilities) of one subscription.
    pub async fn subscription(&self, subscription_uuid: &str) -> Result<SubscriptionDetails> {
        let sub = require("subscriptionUuid", subscription_uuid)?;
        let account = self.account_uuid().to_string();
        self.get_json(
            "subscription details",
            SCOPE_ACCOUNT_READ,
            &["sub", "v2", "accounts", &account, "subscriptions", &sub],
            &[],
        )
        .await
    }
}

/// The `ACTIVE` + `REGULAR` subscription. With several, the one that started last wins (an
/// undated one loses), then the smallest UUID — the same answer for the same list, in any order.
pub fn choose_active<'s>(account_uuid: &str, all: &'s [Subscription]) -> Result<&'s Subscription> {
    all.iter()
        .filter(|s| s.is_active_regular())
        .max_by(|a, b| {
            let day = |s: &Subscription| {
                s.start_time
                    .as_deref()
                    .and_then(crate::time::parse_timestamp_ms)
            };
            day(a).cmp(&day(b)).then_with(|| b.uuid.cmp(&a.uuid))
        })
        .ok_or_else(|| {
            let mut seen: Vec<String> = all
                .iter()
                .map(|s| {
                    format!(
                        "{}/{}",
                        s.status.as_deref().unwrap_or("?"),
                        s.kind.as_deref().unwrap_or("?")
                    )
                })
                .collect();
            // Equal texts are indistinguishable: unstable is enough (and smaller).
            seen.sort_unstable();
            let seen = if seen.is_empty() {
                "it has no subscriptions".to_string()
            } else {
                format!("seen: {}", seen.join(", "))
            };
            Error::NoActiveSubscription {
                account_uuid: account_uuid.to_string(),
                seen,
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(uuid: &str, status: &str, kind: &str, start: Option<&str>) -> Subscription {
        Subscription {
            uuid: uuid.into(),
            kind: Some(kind.into()),
            sub_type: None,
            name: None,
            status: Some(status.into()),
            start_time: start.map(Into::into),
            end_time: None,
        }
    }

    #[test]
    fn picks_latest_active_regular_in_any_order() {
        let mut all = vec![
            sub("a", "EXPIRED", "REGULAR", Some("2025-01-01")),
            sub("b", "ACTIVE", "REGULAR", Some("2024-01-01")),
            sub("c", "ACTIVE", "TRIAL", Some("2026-01-01")),
            sub("d", "ACTIVE", "REGULAR", Some("2025-06-01")),
            sub("e", "ACTIVE", "REGULAR", Some("2025-06-01")),
            sub("f", "ACTIVE", "REGULAR", None),
        ];
        for _ in 0..all.len() {
            all.rotate_left(1);
            assert_eq!(
                choose_active("x", &all).map(|s| s.uuid.as_str()).ok(),
                Some("d")
            );
        }
    }

    #[test]
    fn none_active_names_what_was_seen() {
        let all = vec![
            sub("a", "EXPIRED", "REGULAR", None),
            sub("c", "ACTIVE", "TRIAL", None),
        ];
        let e = choose_active("acc", &all).err().unwrap_or_else(|| panic!());
        assert_eq!(e.code(), "NO_ACTIVE_SUBSCRIPTION");
        assert!(
            e.to_string().contains("ACTIVE/TRIAL") && e.to_string().contains("EXPIRED/REGULAR"),
            "{e}"
        );
        let e = choose_active("acc", &[]).err().unwrap_or_else(|| panic!());
        assert!(e.to_string().contains("no subscriptions"));
    }
}
