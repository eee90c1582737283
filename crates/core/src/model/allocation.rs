//! Cost allocation: the breakdown by cost center / product, and the allow lists.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One day × capability × key. `key: null` is the unallocated share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct AllocationRecord {
    pub date: String,
    #[serde(default)]
    pub capability: Option<String>,
    #[serde(default)]
    pub key: Option<String>,
    pub costs: f64,
    #[serde(default)]
    pub usage: Option<f64>,
}

/// The reference types `records` as `string[]`; a record that is a JSON string holding an
/// object is accepted too.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawAllocationRecord {
    Object(AllocationRecord),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllocationPage {
    #[serde(default)]
    pub records: Option<Vec<RawAllocationRecord>>,
    #[serde(default)]
    pub next_page_key: Option<String>,
    #[serde(default)]
    pub environment_id: Option<String>,
    #[serde(default)]
    pub field: Option<String>,
}

/// A cost-center or product allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    pub key: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyPage {
    #[serde(default)]
    pub records: Option<Vec<KeyRecord>>,
    #[serde(default)]
    pub has_next_page: Option<bool>,
}

/// The allocation dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "UPPERCASE")]
pub enum AllocationField {
    Costcenter,
    Product,
}

impl AllocationField {
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_uppercase().as_str() {
            "COSTCENTER" | "COST_CENTER" | "COSTCENTERS" => Ok(AllocationField::Costcenter),
            "PRODUCT" | "PRODUCTS" => Ok(AllocationField::Product),
            _ => Err(Error::invalid("field", "must be COSTCENTER or PRODUCT")),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            AllocationField::Costcenter => "COSTCENTER",
            AllocationField::Product => "PRODUCT",
        }
    }
}
