//! `GET /env/v2/accounts/{a}/environments` (and v1, with management zones).

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::http::HttpClient;
use crate::model::environment::{Environment, EnvironmentList, EnvironmentsV1};

use super::{AccountApi, SCOPE_ENV_READ};

impl<C: HttpClient, K: Clock> AccountApi<C, K> {
    /// The account's environments (needs `account-env-read`).
    pub async fn environments(&self) -> Result<Vec<Environment>> {
        let account = self.account_uuid().to_string();
        let list: EnvironmentList = self
            .get_json(
                "environments",
                SCOPE_ENV_READ,
                &["env", "v2", "accounts", &account, "environments"],
                &[],
            )
            .await?;
        list.data
            .ok_or_else(|| Error::decode("environments", "data", "missing", None))
    }

    /// Environments and management zones (v1).
    pub async fn environments_v1(&self) -> Result<EnvironmentsV1> {
        let account = self.account_uuid().to_string();
        self.get_json(
            "environments (v1)",
            SCOPE_ENV_READ,
            &["env", "v1", "accounts", &account, "environments"],
            &[],
        )
        .await
    }
}
