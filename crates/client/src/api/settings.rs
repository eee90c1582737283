//! Cost-center and product allow lists: `/v1/accounts/{a}/settings/costcenters|products`.
//! Keys are checked before any request (duplicates, the 250-value limit) and percent-encoded in
//! paths; a 400 from the server is reported with its reason.

use crate::hash::HashSet;

use crate::auth::SCOPE_ACCOUNT_READ;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::http::{HttpClient, Method};
use crate::model::allocation::{KeyPage, KeyRecord};

use super::paging::{next_page, Cursor, Page};
use super::{AccountApi, SCOPE_ACCOUNT_WRITE};

/// Values per allow list.
pub const MAX_KEYS: usize = 250;
/// Longest key accepted.
pub const MAX_KEY_LEN: usize = 256;
/// Page size used when listing.
const LIST_PAGE_SIZE: u32 = 100;
/// A list longer than this many pages is a server bug, not data.
const MAX_LIST_PAGES: u32 = 1_000;

/// One page of an allow list. The listing is paged by number: the next page's number is its
/// key while `hasNextPage` is true.
struct KeysPage {
    keys: Vec<String>,
    next: Option<String>,
}

impl Page for KeysPage {
    fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
    fn next_page_key(&self) -> Option<&str> {
        self.next.as_deref()
    }
}

/// Which allow list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowList {
    CostCenters,
    Products,
}

impl AllowList {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "costcenters" | "cost-centers" | "costCenters" => Ok(AllowList::CostCenters),
            "products" => Ok(AllowList::Products),
            _ => Err(Error::invalid("list", "must be costcenters or products")),
        }
    }
    fn segment(self) -> &'static str {
        match self {
            AllowList::CostCenters => "costcenters",
            AllowList::Products => "products",
        }
    }
}

/// Checks keys for a write: non-empty, not too long, no control characters, no duplicates
/// (also against `existing`), at most 250 in all.
pub fn check_keys(keys: &[String], existing: &[String]) -> Result<()> {
    let mut seen: HashSet<&str> = existing.iter().map(String::as_str).collect();
    for (i, k) in keys.iter().enumerate() {
        let field = format!("keys[{i}]");
        if k.trim().is_empty() {
            return Err(Error::invalid(field, "is empty"));
        }
        if k.len() > MAX_KEY_LEN {
            return Err(Error::invalid(
                field,
                format!("is longer than {MAX_KEY_LEN} bytes"),
            ));
        }
        if k.chars().any(char::is_control) {
            return Err(Error::invalid(field, "contains control characters"));
        }
        if !seen.insert(k.as_str()) {
            return Err(Error::invalid(
                field,
                format!(
                    "`{}` is listed twice",
                    k.chars().take(60).collect::<String>()
                ),
            ));
        }
    }
    if seen.len() > MAX_KEYS {
        return Err(Error::invalid(
            "keys",
            format!(
                "an allow list holds at most {MAX_KEYS} values; this would make {}",
                seen.len()
            ),
        ));
    }
    Ok(())
}

fn body(keys: &[String]) -> Result<String> {
    let values: Vec<KeyRecord> = keys.iter().map(|k| KeyRecord { key: k.clone() }).collect();
    serde_json::to_string(&serde_json::json!({ "values": values })).map_err(|e| Error::Internal {
        message: e.to_string(),
    })
}

impl<C: HttpClient, K: Clock> AccountApi<C, K> {
    fn settings_segments<'a>(&'a self, list: AllowList, account: &'a str) -> [&'a str; 5] {
        ["v1", "accounts", account, "settings", list.segment()]
    }

    /// Every key of the list (all pages; [`Cursor`] decides where the listing ends).
    pub async fn list_keys(&self, list: AllowList) -> Result<Vec<String>> {
        let account = self.account_uuid().to_string();
        let mut cursor = Cursor::new();
        let mut out = Vec::new();
        while let Some(page) =
            next_page(&mut cursor, |key| self.keys_page(list, &account, key)).await?
        {
            out.extend(page.keys);
            if !cursor.is_done() && cursor.pages() >= MAX_LIST_PAGES {
                return Err(Error::decode(
                    "allow list",
                    "hasNextPage",
                    format!("still true after {MAX_LIST_PAGES} pages"),
                    None,
                ));
            }
        }
        Ok(out)
    }

    /// Page `number` (1 when `None`) of the list.
    async fn keys_page(
        &self,
        list: AllowList,
        account: &str,
        number: Option<String>,
    ) -> Result<KeysPage> {
        let number: u32 = number.and_then(|n| n.parse().ok()).unwrap_or(1);
        let reply: KeyPage = self
            .get_json(
                "allow list",
                SCOPE_ACCOUNT_READ,
                &self.settings_segments(list, account),
                &[
                    ("page", number.to_string()),
                    ("page-size", LIST_PAGE_SIZE.to_string()),
                ],
            )
            .await?;
        Ok(KeysPage {
            keys: reply
                .records
                .unwrap_or_default()
                .into_iter()
                .map(|r| r.key)
                .collect(),
            next: (reply.has_next_page == Some(true)).then(|| (number + 1).to_string()),
        })
    }

    /// Adds keys (the list is read first, so duplicates and the limit are caught here).
    pub async fn add_keys(&self, list: AllowList, keys: &[String]) -> Result<()> {
        check_keys(keys, &[])?;
        let existing = self.list_keys(list).await?;
        check_keys(keys, &existing)?;
        let account = self.account_uuid().to_string();
        self.write(
            SCOPE_ACCOUNT_WRITE,
            Method::Post,
            &self.settings_segments(list, &account),
            Some(body(keys)?),
        )
        .await
    }

    /// Replaces the whole list.
    pub async fn replace_keys(&self, list: AllowList, keys: &[String]) -> Result<()> {
        check_keys(keys, &[])?;
        let account = self.account_uuid().to_string();
        self.write(
            SCOPE_ACCOUNT_WRITE,
            Method::Put,
            &self.settings_segments(list, &account),
            Some(body(keys)?),
        )
        .await
    }

    /// Deletes one key (percent-encoded into the path).
    pub async fn delete_key(&self, list: AllowList, key: &str) -> Result<()> {
        check_keys(&[key.to_string()], &[])?;
        if key == "." || key == ".." {
            // URL parsers resolve "." and ".." (also as %2E) as path steps: the request would
            // reach another resource. Such a key can only be dropped with replaceKeys.
            return Err(Error::invalid(
                "key",
                "`.` and `..` cannot be addressed in a URL path; use replaceKeys without it",
            ));
        }
        let account = self.account_uuid().to_string();
        let [a, b, c, d, e] = self.settings_segments(list, &account);
        self.write(
            SCOPE_ACCOUNT_WRITE,
            Method::Delete,
            &[a, b, c, d, e, key],
            None,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_rules() {
        let k = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(check_keys(&k(&["a", "b c", "ü/?#%"]), &[]).is_ok());
        assert_eq!(
            check_keys(&k(&["a", "a"]), &[])
                .err()
                .and_then(|e| e.field().map(str::to_string))
                .as_deref(),
            Some("keys[1]")
        );
        assert!(check_keys(&k(&["a"]), &k(&["a"])).is_err());
        assert!(check_keys(&k(&[""]), &[]).is_err());
        assert!(check_keys(&k(&["a\nb"]), &[]).is_err());
        let many: Vec<String> = (0..251).map(|i| format!("k{i}")).collect();
        assert_eq!(
            check_keys(&many, &[])
                .err()
                .and_then(|e| e.field().map(str::to_string))
                .as_deref(),
            Some("keys")
        );
        assert!(check_keys(&many[..250], &[]).is_ok());
        assert!(check_keys(&many[..1], &many[1..250]).is_ok());
        assert!(check_keys(&many[..2], &many[2..251]).is_err());
    }
}
