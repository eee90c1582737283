//! Cost allocation with Datadog custom allocation rules ("arbitrary rules"), under the contract
//! of `reference/allocation.md` §2. Pure: no I/O, no clock.
//!
//! - [`rules`]: the rule model, parsed exactly as Datadog's API sends it, and the §2a order;
//! - [`validate`]: per-method validation (`RULE_INVALID`, naming rule and field);
//! - [`filter`]: filter conditions;
//! - [`money`]: micro-units and the largest-remainder split;
//! - [`order`]: sorting and map building compiled once (module size);
//! - [`compact`]: the input lines in compact form (interned tags, columns);
//! - [`engine`]: the engine, [`allocate()`], and [`AllocationStream`];
//! - [`sink`]: where output lines go, one borrowed view at a time.

pub mod compact;
pub mod engine;
pub mod filter;
pub mod focus;
pub mod lines;
pub mod money;
pub mod order;
pub mod rules;
pub mod sink;
pub mod summary;
pub mod validate;

pub use engine::{
    allocate, AllocatedLine, AllocationInput, AllocationResult, AllocationStream,
    AllocationSummary, CostLine, CostTotals, CurrencyTotals, DriverPoint, Drivers, LineStatus,
    RuleSummary,
};
pub use focus::{focus_allocation_row, focus_allocation_rows, FocusAllocationRow};
pub use rules::{
    parse_rules, rule_order, sort_rules, AllocatedBy, AllocatedTag, ArbitraryCostUpsertRequest,
    ArbitraryRule, ArbitraryRuleResponse, ArbitraryRuleResponseArray, Filter, RuleAttributes,
    Strategy,
};
pub use summary::DestinationSummary;
pub use validate::{check_based_on_timeseries, validate_rule, TimeseriesError};
