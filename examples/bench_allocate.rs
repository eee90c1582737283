//! Allocation benchmark on realistic Dynatrace-tagged cost lines.
//!
//! `cargo run --release --example bench_allocate -- [lines] [rules] [mode…]` (default
//! 1,000,000 × 20, modes `lean`). Modes, each timed from the input lines to the last chunk:
//!
//! - `lean`: [`CompactLines`] → [`AllocationStream::from_compact`] → output lines written
//!   straight into JSON text chunks of 10,000 lines (`LinesJson`, what `allocateStream` does);
//! - `chunks`: [`AllocationStream::new`] → `next_source` into [`AllocatedLine`]s → `write_lines`
//!   (serde) into the same chunks (the path before the lean engine);
//! - `vec`: `allocate()` (every output line as an [`AllocatedLine`] in one `Vec`).
//!
//! Lines: `provider=dynatrace`, 3 accounts (one subscription each), 50 environments,
//! 40 capabilities, 12 cost centers (absent on ~1 line in 5), 35 days from 2025-01-10 (two
//! calendar months). Rules mix `percent`, `even`, `proportional` (with `based_on_costs`),
//! partitioned by environment, daily and monthly. Prints wall times, output lines and bytes, and
//! the peak RSS (run one mode per process for its own peak).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::error::Error;
use std::time::Instant;

use dps_cost::allocate::compact::CompactLines;
use dps_cost::allocate::{
    allocate, AllocatedLine, AllocationInput, AllocationStream, ArbitraryRule, CostLine,
};
use dps_cost::export::allocation_json::{write_lines, AllocateOutput, JsText, LinesJson};
use serde_json::json;

const ENVS: u64 = 50;
const CAPS: u64 = 40;
const CCS: u64 = 12;
const DAYS: u64 = 35;
const ACCOUNTS: u64 = 3;

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn date(day: u64) -> String {
    // 2025-01-10 + day, day < 35 (January has 31 days).
    let d = 10 + day;
    if d <= 31 {
        format!("2025-01-{d:02}")
    } else {
        format!("2025-02-{:02}", d - 31)
    }
}

fn lines(n: usize) -> Vec<CostLine> {
    (0..n as u64)
        .map(|i| {
            let h = splitmix(i);
            let day = i % DAYS;
            let env = (h >> 8) % ENVS;
            let cap = (h >> 20) % CAPS;
            let account = env % ACCOUNTS;
            let mut tags = BTreeMap::from([
                ("provider".to_string(), "dynatrace".to_string()),
                ("account".to_string(), format!("acc-{account}")),
                ("subscription".to_string(), format!("sub-{account}")),
                ("environment".to_string(), format!("env-{env:02}")),
                ("capability".to_string(), format!("cap-{cap:02}")),
            ]);
            if (h >> 40) % 5 != 0 {
                tags.insert("costcenter".into(), format!("cc-{:02}", (h >> 44) % CCS));
            }
            // Cost with micro-unit precision, 0.000001 .. 50.
            let cost = ((h >> 4) % 50_000_000) as f64 / 1e6;
            CostLine {
                id: Some(format!("line-{i}")),
                date: date(day),
                cost,
                currency: "USD".into(),
                tags,
            }
        })
        .collect()
}

/// Rule `k`: owns capability `cap-<k>` (rules ≥ 10 only in some environments), and splits by one
/// of five strategies.
fn rules(n: usize) -> Result<Vec<ArbitraryRule>, serde_json::Error> {
    (0..n)
        .map(|k| {
            let cap = format!("cap-{:02}", k % CAPS as usize);
            let mut costs = vec![json!({"condition":"is","tag":"capability","value":cap})];
            if k >= 10 {
                let envs: Vec<String> = (0..10)
                    .map(|e| format!("env-{:02}", (k + e * 5) % 50))
                    .collect();
                costs.push(json!({"condition":"in","tag":"environment","values":envs}));
            }
            let based = json!([{"condition":"like","tag":"capability","value":"cap-3*"}]);
            let strategy = match k % 5 {
                0 => json!({"method":"percent","allocated_by":[
                    {"allocated_tags":[{"key":"product","value":"checkout"}],"percentage":0.5},
                    {"allocated_tags":[{"key":"product","value":"search"}],"percentage":0.3},
                    {"allocated_tags":[{"key":"product","value":"ads"}],"percentage":0.15}]}),
                1 => json!({"method":"even","granularity":"daily",
                    "allocated_by_tag_keys":["costcenter"],"based_on_costs":based}),
                2 => json!({"method":"proportional","granularity":"daily",
                    "allocated_by_tag_keys":["costcenter"],"based_on_costs":based}),
                3 => json!({"method":"proportional","granularity":"daily",
                    "allocated_by_tag_keys":["costcenter"],
                    "evaluate_grouped_by_tag_keys":["environment"]}),
                _ => json!({"method":"proportional","granularity":"monthly",
                    "allocated_by_tag_keys":["costcenter"],"based_on_costs":based}),
            };
            serde_json::from_value(
                json!({"id": format!("{}", 100 + k), "type":"arbitrary_rule",
                "attributes":{"rule_name":format!("bench-{k}"),"order_id":k,"enabled":true,
                    "provider":["dynatrace"],"costs_to_allocate":costs,"strategy":strategy}}),
            )
        })
        .collect()
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

const CHUNK: usize = 10_000;

/// (output lines, output bytes, seconds; for `lean` the seconds exclude freeing the caller's
/// `CostLine`s once they are compact, and the compaction's own seconds are printed).
fn run(mode: &str, input: AllocationInput) -> Result<(usize, usize, f64), Box<dyn Error>> {
    let mut lines_out = 0;
    let mut bytes = 0;
    let t = Instant::now();
    let mut excluded = 0.0;
    match mode {
        "lean" => {
            let compact = CompactLines::from_lines(&input.lines);
            let compact_secs = t.elapsed().as_secs_f64();
            let AllocationInput {
                rules,
                drivers,
                lines,
            } = input;
            let t_drop = Instant::now();
            drop(lines);
            excluded = t_drop.elapsed().as_secs_f64();
            println!(
                "        compact form: {compact_secs:.3} s, {} MB",
                compact.heap_bytes() / 1_000_000
            );
            let t_first = Instant::now();
            let mut s = AllocationStream::from_compact(compact, rules, &drivers)?;
            println!(
                "        first pass (checks, owners, splits): {:.3} s",
                t_first.elapsed().as_secs_f64()
            );
            let mut sink = LinesJson::default();
            while s.next_into(&mut sink)? {
                if sink.count >= CHUNK {
                    lines_out += sink.count;
                    bytes += sink.take().0.len();
                }
            }
            lines_out += sink.count;
            bytes += sink.take().0.len();
            s.finish()?;
        }
        "chunks" => {
            let mut s = AllocationStream::new(Cow::Owned(input))?;
            let mut buf: Vec<AllocatedLine> = Vec::new();
            let mut more = true;
            while more {
                while buf.len() < CHUNK {
                    more = s.next_source(&mut buf)?;
                    if !more {
                        break;
                    }
                }
                let mut texts: [JsText; 3] = Default::default();
                let mut counts = [0usize; 3];
                write_lines(
                    &buf,
                    lines_out,
                    AllocateOutput::default(),
                    &mut texts,
                    &mut counts,
                )?;
                lines_out += buf.len();
                bytes += texts[0].text.len();
                buf.clear();
            }
            s.finish()?;
        }
        "vec" => {
            let r = allocate(&input)?;
            lines_out = r.lines.len();
        }
        m => return Err(format!("unknown mode {m}").into()),
    }
    Ok((lines_out, bytes, t.elapsed().as_secs_f64() - excluded))
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let n_lines: usize = args.next().map_or(Ok(1_000_000), |a| a.parse())?;
    let n_rules: usize = args.next().map_or(Ok(20), |a| a.parse())?;
    let mut modes: Vec<String> = args.collect();
    if modes.is_empty() {
        modes.push("lean".into());
    }
    for mode in modes {
        let input = AllocationInput {
            lines: lines(n_lines),
            rules: rules(n_rules)?,
            drivers: BTreeMap::new(),
        };
        let (out, bytes, secs) = run(&mode, input)?;
        println!(
            "{mode:<7} {n_lines} lines × {n_rules} rules: {secs:.3} s, {out} output lines, {} MB of JSON, peak RSS {} MiB",
            bytes / 1_000_000,
            peak_rss_kib().map_or(0, |k| k / 1024)
        );
    }
    Ok(())
}
