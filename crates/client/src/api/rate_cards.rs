//! `GET /sub/v1/accounts/{a}/rate-cards`.

use crate::auth::SCOPE_ACCOUNT_READ;
use crate::clock::Clock;
use crate::error::Result;
use crate::http::HttpClient;
use crate::model::rate_card::RateCard;

use super::AccountApi;

impl<C: HttpClient, K: Clock> AccountApi<C, K> {
    /// The account's rate cards; prices stay exact decimal strings.
    pub async fn rate_cards(&self) -> Result<Vec<RateCard>> {
        let account = self.account_uuid().to_string();
        self.get_json(
            "rate cards",
            SCOPE_ACCOUNT_READ,
            &["sub", "v1", "accounts", &account, "rate-cards"],
            &[],
        )
        .await
    }
}
