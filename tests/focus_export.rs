//! FOCUS 1.2 export against the column metadata (tests/fixtures/focus/focus_1_2_columns.json, copied
//! from the shared fixtures: FOCUS_Spec v1.2, 57 columns): every column present, each value of
//! the right type and format, nulls only where allowed; exact money; CSV and JSON agree.

use std::collections::{BTreeMap, HashMap};

use dps_cost::allocate::engine::{allocate, AllocationInput, CostLine};
use dps_cost::allocate::lines::{cost_lines, Breakdown, CostLinesInput, EnvironmentBreakdown};
use dps_cost::allocate::parse_rules;
use dps_cost::export::focus::{
    focus_from_allocation, focus_from_lines, unit_format, Cell, FocusContext, FocusTable,
    FocusVersion, FOCUS_COLUMNS,
};
use dps_cost::model::allocation::AllocationRecord;
use dps_cost::model::usage::{EnvCostRecord, EnvironmentRecords};
use serde_json::Value;

const ACCOUNT: &str = "3f7c2d1e-8a4b-4c6d-9e0f-1a2b3c4d5e6f";
const SUBSCRIPTION: &str = "5d0c8a7e-1b2f-4c3d-8e4f-a0b1c2d3e4f5";

struct Column {
    id: String,
    nulls: bool,
    data_type: String,
    format: String,
}

fn metadata() -> Vec<Column> {
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/focus/focus_1_2_columns.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    v["columns"]
        .as_array()
        .unwrap_or_else(|| panic!("columns"))
        .iter()
        .map(|c| Column {
            id: c["column_id"].as_str().unwrap_or_default().to_string(),
            nulls: c["allows_nulls"].as_bool().unwrap_or(true),
            data_type: c["data_type"].as_str().unwrap_or_default().to_string(),
            format: c["value_format"]
                .as_str()
                .unwrap_or_default()
                .to_lowercase()
                .replace(['-', ' '], ""),
        })
        .collect()
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

/// NumericFormat as the validators read it: optional `-`, digits, a point, digits (no
/// exponent, separators, currency symbols or `+`; never an integer literal).
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

/// UnitFormat: words of letters/digits, each starting upper-case or with a digit, joined by
/// `-` or a space (`GiB-Hours`, `Host-Hours`, `Sessions`).
fn is_unit(s: &str) -> bool {
    !s.is_empty()
        && s.split([' ', '-']).all(|w| {
            w.chars()
                .next()
                .is_some_and(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                && w.chars().all(|c| c.is_ascii_alphanumeric())
        })
}

fn allowed(column: &str) -> Option<&'static [&'static str]> {
    Some(match column {
        "ChargeCategory" => &["Usage", "Purchase", "Tax", "Credit", "Adjustment"],
        "ChargeClass" => &["Correction"],
        "ChargeFrequency" => &["One-Time", "Recurring", "Usage-Based"],
        "ServiceCategory" => &[
            "AI and Machine Learning",
            "Analytics",
            "Business Applications",
            "Compute",
            "Databases",
            "Developer Tools",
            "Multicloud",
            "Identity",
            "Integration",
            "Internet of Things",
            "Management and Governance",
            "Media",
            "Migration",
            "Mobile",
            "Networking",
            "Security",
            "Storage",
            "Web",
            "Other",
        ],
        "ServiceSubcategory" => &["Observability"],
        _ => return None,
    })
}

fn text(c: &Cell) -> Option<&str> {
    match c {
        Cell::Null => None,
        Cell::Text(s) | Cell::Decimal(s) | Cell::Json(s) => Some(s),
    }
}

/// Checks every row of `t` against the metadata; returns the number of cells checked.
fn check_table(t: &FocusTable) -> usize {
    let meta = metadata();
    assert_eq!(meta.len(), 57);
    let index: HashMap<&str, usize> = t.columns.iter().enumerate().map(|(i, c)| (*c, i)).collect();
    let mut checked = 0;
    for col in &meta {
        let Some(&i) = index.get(col.id.as_str()) else {
            panic!("column {} is missing", col.id)
        };
        for (n, row) in t.rows.iter().enumerate() {
            assert_eq!(row.len(), t.columns.len(), "row {n} has the header's width");
            let at = format!("row {n} column {}", col.id);
            let Some(v) = text(&row[i]) else {
                assert!(col.nulls, "{at}: null where the column allows none");
                continue;
            };
            checked += 1;
            match col.data_type.as_str() {
                "Decimal" => {
                    assert!(
                        matches!(row[i], Cell::Decimal(_)),
                        "{at}: not a decimal cell"
                    );
                    assert!(is_decimal(v), "{at}: `{v}` is not NumericFormat");
                }
                "Date/Time" => assert!(is_datetime(v), "{at}: `{v}` is not YYYY-MM-DDTHH:mm:ssZ"),
                "JSON" => {
                    let parsed: Value =
                        serde_json::from_str(v).unwrap_or_else(|e| panic!("{at}: {e}"));
                    let obj = parsed
                        .as_object()
                        .unwrap_or_else(|| panic!("{at}: not an object"));
                    assert!(
                        obj.values().all(|x| !x.is_object() && !x.is_array()),
                        "{at}: KeyValueFormat is flat"
                    );
                }
                "String" => {
                    if col.format == "currencyformat" {
                        assert!(
                            v.len() == 3 && v.bytes().all(|c| c.is_ascii_uppercase()),
                            "{at}: `{v}` is not ISO 4217"
                        );
                    }
                    if col.format.starts_with("unitformat") {
                        assert!(is_unit(v), "{at}: `{v}` is not UnitFormat");
                    }
                    if col.format == "allowedvalues" {
                        let ok = allowed(&col.id).unwrap_or_else(|| {
                            panic!("{at}: allowed values of {} unknown", col.id)
                        });
                        assert!(ok.contains(&v), "{at}: `{v}` is not an allowed value");
                    }
                    assert!(!v.is_empty(), "{at}: empty string instead of null");
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

fn record(day: &str, cap: &str, value: f64) -> EnvCostRecord {
    EnvCostRecord {
        start_time: format!("{day}T00:00:00Z"),
        end_time: None,
        value,
        currency_code: Some("USD".into()),
        capability_key: cap.into(),
        capability_name: Some(format!("{cap} name")),
        booking_date: None,
    }
}

/// 2 environments × 3 capabilities × 3 days across a month boundary; one line split by cost
/// center.
fn input() -> (CostLinesInput, FocusContext, i128) {
    let days = ["2026-01-30", "2026-01-31", "2026-02-01"];
    let caps = [
        "FULLSTACK_MONITORING",
        "LOG_MANAGEMENT_INGEST",
        "EVENTS_INGEST",
    ];
    let mut environments = Vec::new();
    let mut total = 0i128;
    let mut usage = HashMap::new();
    for (e, env) in ["abc12345", "def67890"].iter().enumerate() {
        let mut records = Vec::new();
        for (d, day) in days.iter().enumerate() {
            for (c, cap) in caps.iter().enumerate() {
                let v = 100.0 + (e * 31 + d * 7 + c) as f64 + 0.123457;
                total += micros(&format!("{v:.6}"));
                records.push(record(day, cap, v));
                usage.insert(
                    (env.to_string(), cap.to_string(), day.to_string()),
                    (v * 117.5, "GiB-hour".to_string()),
                );
            }
        }
        environments.push(EnvironmentRecords {
            cluster_id: None,
            environment_id: env.to_string(),
            records,
        });
    }
    let breakdown = Breakdown {
        field: "COSTCENTER".into(),
        environments: vec![EnvironmentBreakdown {
            environment_id: "abc12345".into(),
            records: vec![serde_json::from_value::<AllocationRecord>(serde_json::json!({
                "date": "2026-01-31", "key": "finance", "capability": "EVENTS_INGEST", "costs": 40.5
            }))
            .unwrap_or_else(|e| panic!("{e}"))],
        }],
    };
    let ctx = FocusContext {
        capability_names: BTreeMap::new(),
        environment_names: BTreeMap::from([("abc12345".to_string(), "Production".to_string())]),
        usage,
        version: FocusVersion::V1_2,
        ..FocusContext::default()
    };
    (
        CostLinesInput {
            account_uuid: ACCOUNT.into(),
            subscription_uuid: SUBSCRIPTION.into(),
            account_name: Some("ACME, \"Global\"".into()),
            environments,
            breakdown: Some(breakdown),
            environment_tags: BTreeMap::from([(
                "abc12345".to_string(),
                BTreeMap::from([("team".to_string(), "web".to_string())]),
            )]),
            currency: None,
        },
        ctx,
        total,
    )
}

fn column<'a>(t: &'a FocusTable, row: &'a [Cell], name: &str) -> Option<&'a str> {
    let i = t.columns.iter().position(|c| *c == name)?;
    text(&row[i])
}

#[test]
fn every_column_has_its_type_and_format() {
    let (input, ctx, _) = input();
    let lines = cost_lines(&input).unwrap_or_else(|e| panic!("{e}"));
    let t = focus_from_lines(&lines, &ctx).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.rows.len(), 19, "18 lines, one split in two");
    assert_eq!(&t.columns[..57], &FOCUS_COLUMNS[..]);
    let checked = check_table(&t);
    assert!(checked >= 19 * 28, "{checked} cells checked");
}

#[test]
fn periods_money_usage_and_tags() {
    let (input, ctx, total) = input();
    let lines = cost_lines(&input).unwrap_or_else(|e| panic!("{e}"));
    let t = focus_from_lines(&lines, &ctx).unwrap_or_else(|e| panic!("{e}"));
    let mut sum = 0i128;
    let mut quantity: BTreeMap<(String, String, String), f64> = BTreeMap::new();
    for row in &t.rows {
        let get = |n: &str| column(&t, row, n).map(str::to_string);
        let start = get("ChargePeriodStart").unwrap_or_default();
        let end = get("ChargePeriodEnd").unwrap_or_default();
        // One day, end exclusive; the billing period is the calendar month.
        let next = match start.as_str() {
            "2026-01-30T00:00:00Z" => "2026-01-31T00:00:00Z",
            "2026-01-31T00:00:00Z" => "2026-02-01T00:00:00Z",
            "2026-02-01T00:00:00Z" => "2026-02-02T00:00:00Z",
            other => panic!("unexpected day {other}"),
        };
        assert_eq!(end, next);
        let month = if start.starts_with("2026-01") {
            ("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")
        } else {
            ("2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z")
        };
        assert_eq!(get("BillingPeriodStart").as_deref(), Some(month.0));
        assert_eq!(get("BillingPeriodEnd").as_deref(), Some(month.1));
        let billed = get("BilledCost").unwrap_or_default();
        for same in ["EffectiveCost", "ListCost", "ContractedCost"] {
            assert_eq!(get(same).as_deref(), Some(billed.as_str()));
        }
        sum += micros(&billed);
        assert_eq!(
            get("BillingAccountName").as_deref(),
            Some("ACME, \"Global\"")
        );
        assert_eq!(get("PricingUnit").as_deref(), Some("GiB-Hours"));
        let key = (
            get("SubAccountId").unwrap_or_default(),
            get("x_CapabilityKey").unwrap_or_default(),
            start.clone(),
        );
        *quantity.entry(key).or_default() += get("PricingQuantity")
            .unwrap_or_default()
            .parse::<f64>()
            .unwrap_or(f64::NAN);
        let tags: Value = serde_json::from_str(&get("Tags").unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"));
        if get("SubAccountId").as_deref() == Some("abc12345") {
            assert_eq!(get("SubAccountName").as_deref(), Some("Production"));
            assert_eq!(tags["team"], "web");
        } else {
            assert_eq!(get("SubAccountName").as_deref(), Some("def67890"));
        }
        assert!(tags.get("account").is_none() && tags.get("capability").is_none());
    }
    assert_eq!(
        sum, total,
        "BilledCost adds up to the source to the micro-unit"
    );
    // The split line's two pieces share the usage by cost: together they have all of it.
    for ((env, cap, day), q) in quantity {
        let (want, _) = &ctx.usage[&(env.clone(), cap.clone(), day[..10].to_string())];
        assert!(
            (q - want).abs() < 1e-9 * want,
            "{env} {cap} {day}: {q} vs {want}"
        );
    }
}

#[test]
fn csv_and_json_carry_the_same_rows() {
    let (input, ctx, _) = input();
    let lines = cost_lines(&input).unwrap_or_else(|e| panic!("{e}"));
    let t = focus_from_lines(&lines, &ctx).unwrap_or_else(|e| panic!("{e}"));
    let csv = t.to_csv();
    let records = parse_csv(&csv);
    assert_eq!(records.len(), t.rows.len() + 1);
    assert_eq!(
        records[0],
        t.columns.iter().map(|c| c.to_string()).collect::<Vec<_>>()
    );
    let json: Value = serde_json::from_str(&t.to_json()).unwrap_or_else(|e| panic!("{e}"));
    let rows = json.as_array().unwrap_or_else(|| panic!("array"));
    for (n, row) in t.rows.iter().enumerate() {
        for (i, c) in row.iter().enumerate() {
            let col = t.columns[i];
            let from_csv = &records[n + 1][i];
            let from_json = &rows[n][col];
            match c {
                Cell::Null => {
                    assert_eq!(from_csv, "");
                    assert!(from_json.is_null());
                }
                Cell::Text(s) => {
                    assert_eq!(from_csv, s);
                    assert_eq!(from_json.as_str(), Some(s.as_str()));
                }
                Cell::Decimal(s) => {
                    assert_eq!(from_csv, s);
                    assert_eq!(from_json.as_f64(), s.parse::<f64>().ok());
                }
                Cell::Json(s) => {
                    assert_eq!(from_csv, s);
                    assert_eq!(
                        Some(from_json),
                        serde_json::from_str::<Value>(s).ok().as_ref()
                    );
                }
            }
        }
    }
}

/// RFC 4180 with CRLF records.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let (mut row, mut field, mut quoted, mut chars) =
        (Vec::new(), String::new(), false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "CRLF");
                row.push(std::mem::take(&mut field));
                out.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(row.is_empty() && field.is_empty(), "ends with CRLF");
    out
}

#[test]
fn allocated_rows_add_the_focus_1_3_columns_and_sum_back() {
    let (input, ctx, total) = input();
    let lines: Vec<CostLine> = cost_lines(&input).unwrap_or_else(|e| panic!("{e}"));
    let rules = parse_rules(
        r#"[{"id":"7","type":"arbitrary_rule","attributes":{"rule_name":"split logs","provider":["dynatrace"],"type":"shared","enabled":true,"order_id":1,
        "costs_to_allocate":[{"condition":"is","tag":"capability","value":"LOG_MANAGEMENT_INGEST"}],
        "strategy":{"method":"percent","allocated_by":[
          {"allocated_tags":[{"key":"team","value":"a"}],"percentage":0.3},
          {"allocated_tags":[{"key":"team","value":"b"}],"percentage":0.45}]}}}]"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let result = allocate(&AllocationInput {
        lines,
        rules,
        drivers: Default::default(),
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let t = focus_from_allocation(&result, &ctx).unwrap_or_else(|e| panic!("{e}"));
    check_table(&t);
    for c in [
        "AllocatedMethodId",
        "AllocatedMethodDetails",
        "AllocatedResourceId",
        "AllocatedResourceName",
        "AllocatedTags",
    ] {
        assert!(t.columns.contains(&c), "{c}");
    }
    let mut sum = 0i128;
    // Per origin line: the AllocatedRatio values sum to 1.
    let mut ratios: BTreeMap<String, f64> = BTreeMap::new();
    for row in &t.rows {
        sum += micros(column(&t, row, "BilledCost").unwrap_or_default());
        if let Some(d) = column(&t, row, "AllocatedMethodDetails") {
            let v: Value = serde_json::from_str(d).unwrap_or_else(|e| panic!("{e}"));
            let r = v["Elements"][0]["AllocatedRatio"]
                .as_f64()
                .unwrap_or(f64::NAN);
            let origin = v["Elements"][0]["x_SourceIndex"].to_string();
            *ratios.entry(origin).or_default() += r;
            assert_eq!(column(&t, row, "AllocatedMethodId"), Some("7"));
        }
    }
    assert_eq!(
        sum, total,
        "allocated rows add up to the source to the micro-unit"
    );
    assert_eq!(
        ratios.len(),
        6,
        "2 environments × 3 days of log ingest were split"
    );
    for (origin, r) in ratios {
        assert!((r - 1.0).abs() < 1e-9, "origin {origin}: ratios sum to {r}");
    }
}

#[test]
fn bad_lines_are_refused_with_the_field() {
    let line = |date: &str, currency: &str, account: bool| {
        let mut tags = BTreeMap::new();
        if account {
            tags.insert("account".to_string(), ACCOUNT.to_string());
        }
        CostLine {
            id: None,
            date: date.into(),
            cost: 1.0,
            currency: currency.into(),
            tags,
        }
    };
    let ctx = FocusContext::default();
    let cases = [
        (line("2026-13-01", "USD", true), "lines[0].date"),
        (line("2026-01-01", "usd", true), "lines[0].currency"),
        (line("2026-01-01", "USD", false), "lines[0].tags.account"),
    ];
    for (l, field) in cases {
        let e = focus_from_lines(&[l], &ctx)
            .err()
            .unwrap_or_else(|| panic!("{field} accepted"));
        assert_eq!((e.code(), e.field()), ("INVALID_INPUT", Some(field)));
    }
    let mut nan = line("2026-01-01", "USD", true);
    nan.cost = f64::NAN;
    let e = focus_from_lines(&[nan], &ctx)
        .err()
        .map(|e| e.field().map(str::to_string));
    assert_eq!(e, Some(Some("lines[0].cost".into())));
}

#[test]
fn unit_format_examples() {
    for (raw, want) in [
        ("GiB-hour", "GiB-Hours"),
        ("host-hour", "Host-Hours"),
        ("session", "Sessions"),
        ("GiB", "GiB"),
        ("GiB-day", "GiB-Days"),
    ] {
        assert_eq!(unit_format(raw), want);
        assert!(is_unit(&unit_format(raw)));
    }
}

/// The FOCUS 1.2 text of the test input, as lines and as allocation rows, byte for byte as the
/// 1.2 export wrote it before 1.3 became the default (tests/golden/focus_1_2_*.csv). Run with
/// `UPDATE_GOLDEN=1` to rewrite them (only on purpose: 1.2 output must not change).
#[test]
fn focus_1_2_output_is_unchanged() {
    let (input, ctx, _) = input();
    let lines: Vec<CostLine> = cost_lines(&input).unwrap_or_else(|e| panic!("{e}"));
    let plain = focus_1_2_from_lines(&lines, &ctx);
    let rules = parse_rules(
        r#"[{"id":"7","type":"arbitrary_rule","attributes":{"rule_name":"split logs","provider":["dynatrace"],"type":"shared","enabled":true,"order_id":1,
        "costs_to_allocate":[{"condition":"is","tag":"capability","value":"LOG_MANAGEMENT_INGEST"}],
        "strategy":{"method":"percent","allocated_by":[
          {"allocated_tags":[{"key":"team","value":"a"}],"percentage":0.3},
          {"allocated_tags":[{"key":"team","value":"b"}],"percentage":0.45}]}}}]"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let result = allocate(&AllocationInput {
        lines,
        rules,
        drivers: Default::default(),
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let allocated = focus_1_2_from_allocation(&result, &ctx);
    for (name, t) in [("lines", plain), ("allocated", allocated)] {
        let path = format!(
            "{}/tests/golden/focus_1_2_{name}.csv",
            env!("CARGO_MANIFEST_DIR")
        );
        for (what, text) in [("csv", t.to_csv()), ("json", t.to_json())] {
            let path = if what == "csv" {
                path.clone()
            } else {
                path.replace(".csv", ".json")
            };
            if std::env::var_os("UPDATE_GOLDEN").is_some() {
                std::fs::write(&path, &text).unwrap_or_else(|e| panic!("{e}"));
            }
            let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert!(text == want, "{path}: the 1.2 {what} output changed");
        }
    }
}

fn focus_1_2_from_lines(lines: &[CostLine], ctx: &FocusContext) -> FocusTable {
    let ctx = &FocusContext {
        version: FocusVersion::V1_2,
        ..ctx.clone()
    };
    focus_from_lines(lines, ctx).unwrap_or_else(|e| panic!("{e}"))
}

fn focus_1_2_from_allocation(
    result: &dps_cost::allocate::engine::AllocationResult,
    ctx: &FocusContext,
) -> FocusTable {
    let ctx = &FocusContext {
        version: FocusVersion::V1_2,
        ..ctx.clone()
    };
    focus_from_allocation(result, ctx).unwrap_or_else(|e| panic!("{e}"))
}
