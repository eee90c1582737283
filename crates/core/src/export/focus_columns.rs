//! The FOCUS versions dps-cost writes and each version's columns, in the specification's order
//! (alphabetical by column id, as the specification's column tables list them).
//!
//! - 1.2: the 57 columns of FOCUS_Spec v1.2 (`focus::FOCUS_COLUMNS`).
//! - 1.3: the 65 Cost and Usage columns (1.2 plus ServiceProviderName, HostProviderName,
//!   ContractApplied and the five Allocated* columns); 13 Contract Commitment columns.
//! - 1.4: 65 Cost and Usage columns (1.3 without ProviderName and PublisherName, plus
//!   CommitmentProgramEligibilityDetails and InvoiceDetailId, both introduced in 1.4); 30 Contract
//!   Commitment columns.
//!
//! Sources: tests/fixtures/focus/README.md (the metadata the tests check these lists against).

use serde::Serialize;

use crate::error::{Error, Result};

/// A FOCUS version dps-cost writes. In JS its [`name`](FocusVersion::name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(
    feature = "tsify",
    derive(tsify::Tsify),
    tsify(type = "\"1.2\" | \"1.3\" | \"1.4\"")
)]
pub enum FocusVersion {
    #[serde(rename = "1.2")]
    V1_2,
    /// The default.
    #[default]
    #[serde(rename = "1.3")]
    V1_3,
    #[serde(rename = "1.4")]
    V1_4,
}

impl FocusVersion {
    /// `1.2`, `1.3` (the default when absent) or `1.4`; `field` names the option.
    pub fn parse(field: &str, value: Option<&str>) -> Result<FocusVersion> {
        Ok(match value {
            None | Some("1.3") => FocusVersion::V1_3,
            Some("1.2") => FocusVersion::V1_2,
            Some("1.4") => FocusVersion::V1_4,
            Some(other) => {
                return Err(Error::invalid(
                    field,
                    format!(
                        "must be 1.2, 1.3 or 1.4, got `{}`",
                        other.chars().take(20).collect::<String>()
                    ),
                ))
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            FocusVersion::V1_2 => "1.2",
            FocusVersion::V1_3 => "1.3",
            FocusVersion::V1_4 => "1.4",
        }
    }

    /// The Cost and Usage columns of this version, in the specification's order.
    pub fn cost_columns(self) -> &'static [&'static str] {
        match self {
            FocusVersion::V1_2 => &super::focus::FOCUS_COLUMNS,
            FocusVersion::V1_3 => &FOCUS_1_3_COLUMNS,
            FocusVersion::V1_4 => &FOCUS_1_4_COLUMNS,
        }
    }

    /// The Contract Commitment columns of this version (none in 1.2, which has no such dataset).
    pub fn commitment_columns(self) -> &'static [&'static str] {
        match self {
            FocusVersion::V1_2 => &[],
            FocusVersion::V1_3 => &CONTRACT_COMMITMENT_1_3_COLUMNS,
            FocusVersion::V1_4 => &CONTRACT_COMMITMENT_1_4_COLUMNS,
        }
    }
}

/// The dataset an export writes. In JS its [`name`](FocusDataset::name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(
    feature = "tsify",
    derive(tsify::Tsify),
    tsify(type = "\"cost-and-usage\" | \"contract-commitment\"")
)]
pub enum FocusDataset {
    /// Cost and Usage: one row per cost line (the default).
    #[default]
    CostAndUsage,
    /// Contract Commitment (FOCUS 1.3+): one row per commitment term of each subscription.
    ContractCommitment,
}

impl FocusDataset {
    /// `cost-and-usage` (the default when absent) or `contract-commitment`.
    pub fn parse(field: &str, value: Option<&str>) -> Result<FocusDataset> {
        Ok(match value {
            None | Some("cost-and-usage") => FocusDataset::CostAndUsage,
            Some("contract-commitment") => FocusDataset::ContractCommitment,
            Some(other) => {
                return Err(Error::invalid(
                    field,
                    format!(
                        "must be cost-and-usage or contract-commitment, got `{}`",
                        other.chars().take(30).collect::<String>()
                    ),
                ))
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            FocusDataset::CostAndUsage => "cost-and-usage",
            FocusDataset::ContractCommitment => "contract-commitment",
        }
    }

    /// Checks that `version` has this dataset (`field` names the dataset option).
    pub fn check(self, field: &str, version: FocusVersion) -> Result<()> {
        if self == FocusDataset::ContractCommitment && version == FocusVersion::V1_2 {
            return Err(Error::invalid(
                field,
                "contract-commitment needs FOCUS 1.3 or 1.4 (focusVersion); 1.2 has no Contract Commitment dataset",
            ));
        }
        Ok(())
    }
}

/// The 65 FOCUS 1.3 Cost and Usage columns.
pub const FOCUS_1_3_COLUMNS: [&str; 65] = [
    "AllocatedMethodDetails",
    "AllocatedMethodId",
    "AllocatedResourceId",
    "AllocatedResourceName",
    "AllocatedTags",
    "AvailabilityZone",
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingAccountType",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "CapacityReservationId",
    "CapacityReservationStatus",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountQuantity",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "CommitmentDiscountUnit",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractApplied",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "HostProviderName",
    "InvoiceId",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingCurrency",
    "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "ServiceProviderName",
    "ServiceSubcategory",
    "SkuId",
    "SkuMeter",
    "SkuPriceDetails",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "SubAccountType",
    "Tags",
];

/// The 65 FOCUS 1.4 Cost and Usage columns.
pub const FOCUS_1_4_COLUMNS: [&str; 65] = [
    "AllocatedMethodDetails",
    "AllocatedMethodId",
    "AllocatedResourceId",
    "AllocatedResourceName",
    "AllocatedTags",
    "AvailabilityZone",
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingAccountType",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "CapacityReservationId",
    "CapacityReservationStatus",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountQuantity",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "CommitmentDiscountUnit",
    "CommitmentProgramEligibilityDetails",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractApplied",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "HostProviderName",
    "InvoiceDetailId",
    "InvoiceId",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingCurrency",
    "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost",
    "PricingCurrencyListUnitPrice",
    "PricingQuantity",
    "PricingUnit",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "ServiceProviderName",
    "ServiceSubcategory",
    "SkuId",
    "SkuMeter",
    "SkuPriceDetails",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "SubAccountType",
    "Tags",
];

/// The 13 FOCUS 1.3 Contract Commitment columns.
pub const CONTRACT_COMMITMENT_1_3_COLUMNS: [&str; 13] = [
    "BillingCurrency",
    "ContractCommitmentCategory",
    "ContractCommitmentCost",
    "ContractCommitmentDescription",
    "ContractCommitmentId",
    "ContractCommitmentPeriodEnd",
    "ContractCommitmentPeriodStart",
    "ContractCommitmentQuantity",
    "ContractCommitmentType",
    "ContractCommitmentUnit",
    "ContractId",
    "ContractPeriodEnd",
    "ContractPeriodStart",
];

/// The 30 FOCUS 1.4 Contract Commitment columns.
pub const CONTRACT_COMMITMENT_1_4_COLUMNS: [&str; 30] = [
    "BillingCurrency",
    "ContractCommitmentApplicability",
    "ContractCommitmentBenefitCategory",
    "ContractCommitmentCategory",
    "ContractCommitmentCost",
    "ContractCommitmentCreated",
    "ContractCommitmentDescription",
    "ContractCommitmentDiscountPercentage",
    "ContractCommitmentDurationType",
    "ContractCommitmentFulfillmentInterval",
    "ContractCommitmentId",
    "ContractCommitmentLastUpdated",
    "ContractCommitmentLifecycleStatus",
    "ContractCommitmentModel",
    "ContractCommitmentOfferCategory",
    "ContractCommitmentPaymentInterval",
    "ContractCommitmentPaymentModel",
    "ContractCommitmentPaymentUpfrontPercentage",
    "ContractCommitmentPeriodEnd",
    "ContractCommitmentPeriodStart",
    "ContractCommitmentQuantity",
    "ContractCommitmentType",
    "ContractCommitmentUnit",
    "ContractId",
    "ContractPeriodEnd",
    "ContractPeriodStart",
    "InvoiceIssuerName",
    "PricingCurrency",
    "PricingCurrencyContractCommitmentCost",
    "ServiceProviderName",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted_and_1_4_drops_the_deprecated_names() {
        for list in [
            &FOCUS_1_3_COLUMNS[..],
            &FOCUS_1_4_COLUMNS[..],
            &CONTRACT_COMMITMENT_1_3_COLUMNS[..],
            &CONTRACT_COMMITMENT_1_4_COLUMNS[..],
            &super::super::focus::FOCUS_COLUMNS[..],
        ] {
            assert!(list.windows(2).all(|w| w[0] < w[1]));
        }
        assert!(!FOCUS_1_4_COLUMNS.contains(&"ProviderName"));
        assert!(!FOCUS_1_4_COLUMNS.contains(&"PublisherName"));
        assert!(FOCUS_1_3_COLUMNS.contains(&"ProviderName"));
        assert!(CONTRACT_COMMITMENT_1_3_COLUMNS
            .iter()
            .all(|c| CONTRACT_COMMITMENT_1_4_COLUMNS.contains(c)));
    }

    #[test]
    fn unknown_names_are_refused_with_the_option() {
        let e = FocusVersion::parse("focusVersion", Some("1.5")).err();
        assert_eq!(
            e.and_then(|e| e.field().map(str::to_string)).as_deref(),
            Some("focusVersion")
        );
        let e = FocusDataset::parse("dataset", Some("invoices")).err();
        assert_eq!(
            e.and_then(|e| e.field().map(str::to_string)).as_deref(),
            Some("dataset")
        );
        assert_eq!(
            FocusVersion::parse("v", None).ok(),
            Some(FocusVersion::V1_3)
        );
    }
}
