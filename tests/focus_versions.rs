//! FOCUS 1.3 and 1.4 Cost and Usage rows and the Contract Commitment dataset against the column
//! metadata in tests/fixtures/focus (README there: sources): every column present and in the
//! specification's order, then only `x_` columns; each value of its type and format; allowed
//! values; nulls only where allowed (stricter than the metadata where the normative text says
//! MUST NOT be null); `ContractApplied` in the spec's object shape, and its applied cost adding up
//! exactly to what the commitment reports.

use std::collections::{BTreeMap, HashMap};

use dps_cost::allocate::engine::{allocate, AllocationInput, CostLine};
use dps_cost::allocate::parse_rules;
use dps_cost::export::contract_commitment::{
    applied_per_term, check_terms, commitment_table, CommitmentTerm, CommitmentTermInput,
};
use dps_cost::export::focus::{
    focus_from_allocation, focus_from_lines, Cell, FocusContext, FocusStream, FocusTable,
    FocusVersion, LineRows,
};
use dps_cost::time::parse_date;
use serde_json::Value;

const ACCOUNT: &str = "3f7c2d1e-8a4b-4c6d-9e0f-1a2b3c4d5e6f";
const SUBSCRIPTION: &str = "5d0c8a7e-1b2f-4c3d-8e4f-a0b1c2d3e4f5";
/// 2026-03-20T10:00:00Z
const NOW_MS: i64 = 1_774_000_800_000;

struct Column {
    id: String,
    nulls: bool,
    data_type: String,
    format: String,
    allowed: Option<Vec<String>>,
}

/// Columns whose metadata allows nulls but whose normative text says MUST NOT be null (the
/// 1.3 fixture marks these `unconfirmed`; 1.4 settles them as not null).
const NOT_NULL: [&str; 4] = [
    "ContractCommitmentId",
    "ContractId",
    "PricingCurrency",
    "PricingCurrencyEffectiveCost",
];

fn metadata(file: &str) -> Vec<Column> {
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/focus/{file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap_or_else(|e| panic!("{file}: {e}"));
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    v["columns"]
        .as_array()
        .unwrap_or_else(|| panic!("columns"))
        .iter()
        .map(|c| {
            let id = c["column_id"].as_str().unwrap_or_default().to_string();
            Column {
                nulls: c["allows_nulls"].as_str() == Some("True")
                    && !NOT_NULL.contains(&id.as_str()),
                id,
                data_type: c["data_type"].as_str().unwrap_or_default().to_string(),
                format: c["value_format"]
                    .as_str()
                    .unwrap_or_default()
                    .to_lowercase()
                    .replace(['-', ' '], ""),
                allowed: c["allowed_values"].as_array().map(|a| {
                    a.iter()
                        .map(|x| x.as_str().unwrap_or_default().to_string())
                        .collect()
                }),
            }
        })
        .collect()
}

fn text(c: &Cell) -> Option<&str> {
    match c {
        Cell::Null => None,
        Cell::Text(s) | Cell::Decimal(s) | Cell::Json(s) => Some(s),
    }
}

fn is_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

fn is_decimal(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let Some((int, frac)) = s.split_once('.') else {
        return false;
    };
    !int.is_empty()
        && !frac.is_empty()
        && int.bytes().all(|c| c.is_ascii_digit())
        && frac.bytes().all(|c| c.is_ascii_digit())
}

fn is_unit(s: &str) -> bool {
    !s.is_empty()
        && s.split([' ', '-']).all(|w| {
            w.chars()
                .next()
                .is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                && w.chars().all(|c| c.is_ascii_alphanumeric())
        })
}

/// `ContractApplied` as 1.3 (errata: all five keys per element) and the 1.4 JSON Schema
/// (`contractappliedobjectschema.json@2232f81f`) define it.
fn check_contract_applied(at: &str, v: &Value) {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("{at}: not an object"));
    assert!(obj.keys().all(|k| k == "Elements"), "{at}: only Elements");
    let elements = v["Elements"]
        .as_array()
        .unwrap_or_else(|| panic!("{at}: Elements is not an array"));
    assert!(!elements.is_empty(), "{at}: at least one element");
    for e in elements {
        let keys: Vec<&str> = e
            .as_object()
            .unwrap_or_else(|| panic!("{at}: element"))
            .keys()
            .map(String::as_str)
            .collect();
        let mut want = vec![
            "ContractCommitmentAppliedCost",
            "ContractCommitmentAppliedQuantity",
            "ContractCommitmentAppliedUnit",
            "ContractCommitmentId",
            "ContractId",
        ];
        want.sort_unstable();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(keys, want, "{at}: the five keys");
        assert!(e["ContractId"].is_string() && e["ContractCommitmentId"].is_string());
        assert!(e["ContractCommitmentAppliedCost"].is_number(), "{at}: cost");
        assert!(e["ContractCommitmentAppliedQuantity"].is_null());
        assert!(e["ContractCommitmentAppliedUnit"].is_null());
    }
}

/// Checks `t` against the metadata: the FOCUS columns exactly and in order, then `x_` ones.
fn check_table(t: &FocusTable, file: &str, want_columns: usize) -> usize {
    let meta = metadata(file);
    assert_eq!(meta.len(), want_columns, "{file}");
    let ids: Vec<&str> = meta.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(&t.columns[..meta.len()], &ids[..], "presence and order");
    assert!(
        t.columns[meta.len()..].iter().all(|c| c.starts_with("x_")),
        "only x_ columns after the FOCUS ones: {:?}",
        &t.columns[meta.len()..]
    );
    let index: HashMap<&str, usize> = t.columns.iter().enumerate().map(|(i, c)| (*c, i)).collect();
    let mut checked = 0;
    for col in &meta {
        let i = index[col.id.as_str()];
        for (n, row) in t.rows.iter().enumerate() {
            assert_eq!(row.len(), t.columns.len());
            let at = format!("{file} row {n} column {}", col.id);
            let Some(v) = text(&row[i]) else {
                assert!(col.nulls, "{at}: null where the column allows none");
                continue;
            };
            checked += 1;
            match col.data_type.as_str() {
                "Decimal" => {
                    assert!(matches!(row[i], Cell::Decimal(_)), "{at}: not a decimal");
                    assert!(is_decimal(v), "{at}: `{v}` is not NumericFormat");
                }
                "Date/Time" => assert!(is_datetime(v), "{at}: `{v}`"),
                "JSON" => {
                    let parsed: Value =
                        serde_json::from_str(v).unwrap_or_else(|e| panic!("{at}: {e}"));
                    let obj = parsed
                        .as_object()
                        .unwrap_or_else(|| panic!("{at}: not an object"));
                    if col.format == "keyvalueformat" {
                        assert!(
                            obj.values().all(|x| !x.is_object() && !x.is_array()),
                            "{at}: KeyValueFormat is flat"
                        );
                    }
                    if col.id == "ContractApplied" {
                        check_contract_applied(&at, &parsed);
                    }
                }
                "String" => {
                    assert!(!v.is_empty(), "{at}: empty string instead of null");
                    if col.format == "currencyformat" {
                        assert!(v.len() == 3 && v.bytes().all(|c| c.is_ascii_uppercase()));
                    }
                    if col.format.starts_with("unitformat") {
                        assert!(is_unit(v), "{at}: `{v}` is not UnitFormat");
                    }
                    if col.format == "allowedvalues" {
                        let ok = col
                            .allowed
                            .as_ref()
                            .unwrap_or_else(|| panic!("{at}: allowed values unknown"));
                        assert!(ok.iter().any(|a| a == v), "{at}: `{v}` is not allowed");
                    }
                    if col.format == "expectedformat" {
                        // ContractCommitmentDurationType: "[positive integer] [time unit]".
                        let (n, unit) = v.split_once(' ').unwrap_or(("", ""));
                        assert!(n.parse::<u32>().is_ok_and(|n| n > 0), "{at}: `{v}`");
                        assert!(
                            ["Minute", "Hour", "Day", "Week", "Month", "Quarter", "Year"]
                                .iter()
                                .any(|u| unit == *u || unit == format!("{u}s")),
                            "{at}: `{v}`"
                        );
                    }
                }
                other => panic!("{at}: unexpected data type {other}"),
            }
        }
    }
    checked
}

fn micros(s: &str) -> i128 {
    let neg = s.starts_with('-');
    let s = s.trim_start_matches('-');
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let frac = format!("{frac:0<6}");
    let v = int.parse::<i128>().unwrap_or(0) * 1_000_000 + frac[..6].parse::<i128>().unwrap_or(0);
    if neg {
        -v
    } else {
        v
    }
}

/// 2 environments × 3 capabilities × 10 days (2026-03-01..10), ~100 a row; one subscription.
fn lines() -> Vec<CostLine> {
    let mut out = Vec::new();
    for day in 1..=10 {
        for (e, env) in ["abc12345", "def67890"].iter().enumerate() {
            for (c, cap) in [
                "FULLSTACK_MONITORING",
                "LOG_MANAGEMENT_INGEST",
                "EVENTS_INGEST",
            ]
            .iter()
            .enumerate()
            {
                let tags = BTreeMap::from([
                    ("provider".to_string(), "dynatrace".to_string()),
                    ("account".to_string(), ACCOUNT.to_string()),
                    ("account_name".to_string(), "ACME".to_string()),
                    ("subscription".to_string(), SUBSCRIPTION.to_string()),
                    ("environment".to_string(), env.to_string()),
                    ("capability".to_string(), cap.to_string()),
                ]);
                out.push(CostLine {
                    id: None,
                    date: format!("2026-03-{day:02}"),
                    cost: 100.0 + (e * 13 + c * 7 + day) as f64 + 0.333333,
                    currency: "EUR".into(),
                    tags,
                });
            }
        }
    }
    out
}

/// The subscription's term 2025-10-01..2026-09-30 with `budget`, of which `before` was
/// consumed before 2026-03-01.
fn terms(budget: f64, before: f64) -> Vec<CommitmentTerm> {
    check_terms(
        &[CommitmentTermInput {
            subscription_uuid: SUBSCRIPTION.into(),
            account_uuid: ACCOUNT.into(),
            subscription_name: Some("DPS ACME".into()),
            start: "2025-10-01".into(),
            end: "2026-09-30".into(),
            contract_start: Some("2025-10-01".into()),
            contract_end: Some("2028-09-30".into()),
            budget: Some(budget),
            currency: "EUR".into(),
            consumed_before: Some(before),
            used: None,
        }],
        "commitments",
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn ctx(version: FocusVersion, commitments: Vec<CommitmentTerm>) -> FocusContext {
    FocusContext {
        version,
        commitments,
        ..FocusContext::default()
    }
}

fn rules() -> Value {
    serde_json::from_str(
        r#"[{"id":"7","type":"arbitrary_rule","attributes":{"rule_name":"split logs","provider":["dynatrace"],"type":"shared","enabled":true,"order_id":1,
        "costs_to_allocate":[{"condition":"is","tag":"capability","value":"LOG_MANAGEMENT_INGEST"}],
        "strategy":{"method":"percent","allocated_by":[
          {"allocated_tags":[{"key":"team","value":"a"}],"percentage":0.3},
          {"allocated_tags":[{"key":"team","value":"b"}],"percentage":0.7}]}}}]"#,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn allocated(version: FocusVersion, commitments: Vec<CommitmentTerm>) -> FocusTable {
    let result = allocate(&AllocationInput {
        lines: lines(),
        rules: parse_rules(&rules().to_string()).unwrap_or_else(|e| panic!("{e}")),
        drivers: Default::default(),
    })
    .unwrap_or_else(|e| panic!("{e}"));
    focus_from_allocation(&result, &ctx(version, commitments)).unwrap_or_else(|e| panic!("{e}"))
}

fn column<'a>(t: &'a FocusTable, row: &'a [Cell], name: &str) -> Option<&'a str> {
    let i = t.columns.iter().position(|c| *c == name)?;
    text(&row[i])
}

#[test]
fn cost_and_usage_1_3_and_1_4_pass_the_metadata_checks() {
    for (version, file) in [
        (FocusVersion::V1_3, "focus_1_3_columns.json"),
        (FocusVersion::V1_4, "focus_1_4_columns.json"),
    ] {
        for budget in [1_000_000.0, 50_000.0 + 3_000.0] {
            let t = focus_from_lines(&lines(), &ctx(version, terms(budget, 50_000.0)))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(t.rows.len(), 60);
            assert_eq!(t.columns.len(), 65 + 2);
            let checked = check_table(&t, file, 65);
            assert!(checked >= 60 * 27, "{checked} cells checked");
            let a = allocated(version, terms(budget, 50_000.0));
            assert_eq!(a.rows.len(), 80, "20 log lines split in two");
            assert_eq!(
                a.columns, t.columns,
                "Allocated* are among the version's columns"
            );
            check_table(&a, file, 65);
            for row in &a.rows {
                let split = column(&a, row, "x_CapabilityKey") == Some("LOG_MANAGEMENT_INGEST");
                assert_eq!(column(&a, row, "AllocatedMethodId").is_some(), split);
                assert_eq!(column(&a, row, "AllocatedTags").is_some(), split);
            }
        }
    }
}

/// The plain table's allocation columns come with rows of allocation output, in every version:
/// in 1.3 and 1.4 the `Allocated*` columns always exist, so their presence cannot decide.
#[test]
fn plain_table_has_allocation_columns_only_for_allocated_rows() {
    const PLAIN: [&str; 13] = [
        "date",
        "accountUuid",
        "accountName",
        "subscriptionUuid",
        "environmentId",
        "environmentName",
        "capabilityKey",
        "capabilityName",
        "cost",
        "currency",
        "usage",
        "unit",
        "tags",
    ];
    let with_allocation: Vec<&str> = PLAIN
        .iter()
        .copied()
        .chain(["allocationRule", "allocatedTags"])
        .collect();
    for v in [FocusVersion::V1_2, FocusVersion::V1_3, FocusVersion::V1_4] {
        let t = focus_from_lines(&lines(), &ctx(v, Vec::new())).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.plain().columns, PLAIN, "{v:?} lines");
        assert_eq!(
            allocated(v, Vec::new()).plain().columns,
            with_allocation,
            "{v:?} allocated"
        );
        let s = FocusStream::from_lines(lines(), ctx(v, Vec::new()), false, true)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.columns(), PLAIN, "{v:?} stream of lines");
        let input = AllocationInput {
            lines: lines(),
            rules: parse_rules(&rules().to_string()).unwrap_or_else(|e| panic!("{e}")),
            drivers: Default::default(),
        };
        let s = FocusStream::from_allocation(input, ctx(v, Vec::new()), true, true)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            s.columns(),
            with_allocation,
            "{v:?} stream of allocation output"
        );
    }
}

#[test]
fn provider_columns_per_version() {
    let has = |v: FocusVersion, c: &str| {
        let t = focus_from_lines(&lines(), &ctx(v, Vec::new())).unwrap_or_else(|e| panic!("{e}"));
        t.columns.contains(&c)
    };
    for c in ["ProviderName", "PublisherName"] {
        assert!(has(FocusVersion::V1_2, c) && has(FocusVersion::V1_3, c));
        assert!(!has(FocusVersion::V1_4, c), "{c} is removed in 1.4");
    }
    for c in ["ServiceProviderName", "HostProviderName", "ContractApplied"] {
        assert!(!has(FocusVersion::V1_2, c));
        assert!(has(FocusVersion::V1_3, c) && has(FocusVersion::V1_4, c));
    }
    let t = focus_from_lines(&lines(), &ctx(FocusVersion::V1_4, Vec::new()))
        .unwrap_or_else(|e| panic!("{e}"));
    for row in &t.rows {
        assert_eq!(column(&t, row, "ServiceProviderName"), Some("Dynatrace"));
        assert_eq!(column(&t, row, "HostProviderName"), Some("Dynatrace"));
        assert_eq!(
            column(&t, row, "ContractApplied"),
            None,
            "no commitment given"
        );
    }
}

/// Σ ContractCommitmentAppliedCost per ContractCommitmentId of `t`.
fn applied_of(t: &FocusTable) -> (BTreeMap<String, i128>, usize) {
    let mut out = BTreeMap::new();
    let mut nulls = 0;
    for row in &t.rows {
        let Some(ca) = column(t, row, "ContractApplied") else {
            nulls += 1;
            continue;
        };
        // Read the number's text exactly (no f64).
        let key = "\"ContractCommitmentAppliedCost\":";
        let at = ca.find(key).unwrap_or_else(|| panic!("{ca}")) + key.len();
        let num: String = ca[at..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '-')
            .collect();
        let v: Value = serde_json::from_str(ca).unwrap_or_else(|e| panic!("{e}"));
        let id = v["Elements"][0]["ContractCommitmentId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        *out.entry(id).or_default() += micros(&num);
    }
    (out, nulls)
}

#[test]
fn applied_cost_adds_up_to_what_the_commitment_reports_consumed() {
    // Budget left at the window's start: 3,000 of ~6,700 in the window, so the budget is used
    // up on a day in the middle (that day's crossing row applies the covered part only).
    for version in [FocusVersion::V1_3, FocusVersion::V1_4] {
        for (budget, before) in [(1_000_000.0, 50_000.0), (53_000.0, 50_000.0)] {
            let terms = terms(budget, before);
            for t in [
                focus_from_lines(&lines(), &ctx(version, terms.clone()))
                    .unwrap_or_else(|e| panic!("{e}")),
                allocated(version, terms.clone()),
            ] {
                let (applied, nulls) = applied_of(&t);
                let sum_rows: i128 = applied.values().sum();
                let billed: i128 = t
                    .rows
                    .iter()
                    .map(|r| micros(column(&t, r, "BilledCost").unwrap_or("0")))
                    .sum();
                let per_term = applied_per_term(
                    &terms,
                    lines().iter().filter_map(|l| {
                        Some((
                            l.tags.get("subscription").map(String::as_str),
                            parse_date(&l.date)?,
                            dps_cost::allocate::money::micros_from_f64(l.cost)?,
                        ))
                    }),
                );
                let cc = commitment_table(&terms, &per_term, version, NOW_MS)
                    .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(cc.rows.len(), 1);
                let row = &cc.rows[0];
                let get = |n: &str| column(&cc, row, n).unwrap_or_default().to_string();
                assert_eq!(
                    applied
                        .get(&get("ContractCommitmentId"))
                        .copied()
                        .unwrap_or(0),
                    micros(&get("x_AppliedCost")),
                    "Σ ContractCommitmentAppliedCost = x_AppliedCost, to the micro-unit"
                );
                assert_eq!(sum_rows, micros(&get("x_AppliedCost")));
                assert_eq!(
                    micros(&get("x_ConsumedCost")),
                    micros(&format!("{before:.1}")) + sum_rows
                );
                if budget < 100_000.0 {
                    assert_eq!(sum_rows, 3_000_000_000, "exactly the budget left");
                    assert!(
                        nulls > 0 && sum_rows < billed,
                        "overage rows carry no ContractApplied"
                    );
                    assert_eq!(get("x_RemainingCommitmentCost"), "0.0");
                    if version == FocusVersion::V1_4 {
                        assert_eq!(get("ContractCommitmentLifecycleStatus"), "Exhausted");
                    }
                } else {
                    assert_eq!((nulls, sum_rows), (0, billed), "every row applied in full");
                    if version == FocusVersion::V1_4 {
                        assert_eq!(get("ContractCommitmentLifecycleStatus"), "Active");
                    }
                }
            }
        }
    }
}

#[test]
fn contract_commitment_dataset_passes_the_metadata_checks() {
    for (version, file, n) in [
        (
            FocusVersion::V1_3,
            "focus_1_3_contract_commitment_columns.json",
            13,
        ),
        (
            FocusVersion::V1_4,
            "focus_1_4_contract_commitment_columns.json",
            30,
        ),
    ] {
        let terms = terms(120_000.0, 50_000.0);
        let t = commitment_table(&terms, &[6_000_000_000], version, NOW_MS)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.columns.len(), n + 5);
        check_table(&t, file, n);
        let row = &t.rows[0];
        let get = |c: &str| column(&t, row, c).map(str::to_string);
        assert_eq!(get("ContractId").as_deref(), Some(SUBSCRIPTION));
        assert_eq!(
            get("ContractCommitmentId"),
            Some(format!("{SUBSCRIPTION}/2025-10-01"))
        );
        assert_eq!(get("ContractCommitmentCategory").as_deref(), Some("Spend"));
        assert_eq!(get("ContractCommitmentCost").as_deref(), Some("120000.0"));
        assert_eq!(
            get("ContractCommitmentPeriodEnd").as_deref(),
            Some("2026-10-01T00:00:00Z"),
            "the API's inclusive end + 1 day"
        );
        assert_eq!(
            get("ContractPeriodEnd").as_deref(),
            Some("2028-10-01T00:00:00Z")
        );
        assert_eq!(get("ContractCommitmentQuantity"), None);
        assert_eq!(get("x_ConsumedCost").as_deref(), Some("56000.0"));
        assert_eq!(get("x_RemainingCommitmentCost").as_deref(), Some("64000.0"));
        assert_eq!(get("x_DaysRemaining").as_deref(), Some("195.0"));
        if version == FocusVersion::V1_4 {
            assert_eq!(
                get("ContractCommitmentModel").as_deref(),
                Some("Discontinuous")
            );
            assert_eq!(
                get("ContractCommitmentDurationType").as_deref(),
                Some("1 Year")
            );
            assert_eq!(
                get("ContractCommitmentLifecycleStatus").as_deref(),
                Some("Active")
            );
        }
    }
    let e = commitment_table(&terms(1.0, 0.0), &[0], FocusVersion::V1_2, NOW_MS).err();
    assert_eq!(e.map(|e| e.code()), Some("INVALID_INPUT"));
}

/// The Parquet column types (`export::columnar`) follow the FOCUS data type of every column of
/// every version and dataset: Decimal → exact DECIMAL (money) or DOUBLE (quantities), Date/Time
/// → UTC timestamp, JSON → the JSON text, String → string.
#[test]
fn columnar_types_follow_the_metadata() {
    use dps_cost::export::columnar::ColumnType;
    let mut checked = 0;
    for file in [
        "focus_1_2_columns.json",
        "focus_1_3_columns.json",
        "focus_1_4_columns.json",
        "focus_1_3_contract_commitment_columns.json",
        "focus_1_4_contract_commitment_columns.json",
    ] {
        for c in metadata(file) {
            let t = ColumnType::of(&c.id);
            let ok = match c.data_type.as_str() {
                "Decimal" => {
                    let money = c.id.ends_with("Cost") || c.id.ends_with("UnitPrice");
                    t == if money {
                        ColumnType::Decimal
                    } else {
                        ColumnType::Double
                    }
                }
                "Date/Time" => t == ColumnType::Timestamp,
                "JSON" => t == ColumnType::Json,
                _ => t == ColumnType::String,
            };
            assert!(ok, "{file}: {} ({}) is {t:?}", c.id, c.data_type);
            checked += 1;
        }
    }
    assert!(checked > 57 + 65 + 65 + 13 + 30 - 1, "{checked}");
    for (x, t) in [
        ("x_AppliedCost", ColumnType::Decimal),
        ("x_ConsumedCost", ColumnType::Decimal),
        ("x_RemainingCommitmentCost", ColumnType::Decimal),
        ("x_DaysRemaining", ColumnType::Double),
        ("x_BillingAccountId", ColumnType::String),
        ("x_CapabilityKey", ColumnType::String),
        ("x_SubscriptionId", ColumnType::String),
    ] {
        assert_eq!(ColumnType::of(x), t, "{x}");
    }
}

/// Every cell of the 1.3/1.4 exports (cost, allocated and commitment rows) converts, money to its
/// exact micro-units.
#[test]
fn typed_columns_of_every_export_are_exact() {
    use dps_cost::export::columnar::{typed_columns, unscaled_micros, ColumnType};
    for v in [FocusVersion::V1_2, FocusVersion::V1_3, FocusVersion::V1_4] {
        let t = focus_from_lines(&lines(), &ctx(v, terms(1_000_000.0, 50_000.0)))
            .unwrap_or_else(|e| panic!("{e}"));
        for table in [t, allocated(v, Vec::new())] {
            let cols = typed_columns(&table).unwrap_or_else(|e| panic!("{e}"));
            for (i, c) in cols.iter().enumerate() {
                for (row, value) in table.rows.iter().zip(&c.values) {
                    if c.column_type == ColumnType::Decimal {
                        let want = text(&row[i]).map(|s| unscaled_micros(s).map(|m| m.to_string()));
                        assert_eq!(want.flatten().as_deref(), value.as_str(), "{}", c.name);
                    }
                }
            }
        }
    }
}

/// The Workflow delivery's rows (`LineRows`, without the allocation engine) are
/// `focus_from_lines` rendered as CSV, byte for byte, in any chunking, and again after a rewind
/// (a repeated upload) — with the commitment drawn down to exhaustion inside the window, so the
/// ledger's state is what a rewind must reset.
#[test]
fn line_rows_are_the_table_in_chunks_and_again_after_rewind() {
    for v in [FocusVersion::V1_2, FocusVersion::V1_3, FocusVersion::V1_4] {
        // 60 rows of ~110 each; 3,000 left of the budget runs out on the fifth day.
        let c = ctx(v, terms(10_000.0, 7_000.0));
        let want = focus_from_lines(&lines(), &c)
            .unwrap_or_else(|e| panic!("{e}"))
            .to_csv();
        let mut rows = LineRows::new(lines(), c, false).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows.len(), 60);
        for chunk in [1, 7, 60, 1000] {
            for _ in 0..2 {
                rows.rewind();
                let mut got = String::new();
                let mut chunks = 0;
                while let Some(text) = rows.next_chunk(chunk).unwrap_or_else(|e| panic!("{e}")) {
                    got.push_str(&text);
                    chunks += 1;
                }
                assert_eq!(got, want, "{v:?}, {chunk} rows a chunk");
                assert_eq!(
                    chunks,
                    60usize.div_ceil(chunk),
                    "{v:?}, {chunk} rows a chunk"
                );
            }
        }
        if v != FocusVersion::V1_2 {
            assert!(want.contains("ContractCommitmentAppliedCost"), "{v:?}");
        }
    }
}
