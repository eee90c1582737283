//! FOCUS export benchmark: `cargo run --release --example bench_focus -- [lines]` (default
//! 1,000,000). Lines like examples/bench_allocate.rs (Dynatrace tags, 50 environments, 40
//! capabilities, 35 days); prints the time of the rows and of each text format.

use std::collections::BTreeMap;
use std::time::Instant;

use dps_cost::allocate::CostLine;
use dps_cost::export::focus::{focus_from_lines, FocusContext};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let lines: Vec<CostLine> = (0..n)
        .map(|i| {
            let env = i % 50;
            let cap = (i / 50) % 40;
            let day = (i / 2000) % 28 + 1;
            CostLine {
                id: None,
                date: format!("2025-02-{day:02}"),
                cost: ((i * 7919) % 50_000_000) as f64 / 1e6,
                currency: "USD".into(),
                tags: BTreeMap::from([
                    ("provider".into(), "dynatrace".into()),
                    (
                        "account".into(),
                        "3f7c2d1e-8a4b-4c6d-9e0f-1a2b3c4d5e6f".into(),
                    ),
                    ("environment".into(), format!("env-{env:02}")),
                    ("capability".into(), format!("CAP_{cap:02}")),
                    ("costcenter".into(), format!("cc-{}", i % 12)),
                ]),
            }
        })
        .collect();
    let ctx = FocusContext::default();
    let t = Instant::now();
    let table = match focus_from_lines(&lines, &ctx) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    };
    println!(
        "rows         {} in {:.3} s",
        table.rows.len(),
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let csv = table.to_csv();
    println!(
        "focus csv    {:.1} MB in {:.3} s",
        csv.len() as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let json = table.to_json();
    println!(
        "focus json   {:.1} MB in {:.3} s",
        json.len() as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let plain = table.plain().to_csv();
    println!(
        "plain csv    {:.1} MB in {:.3} s",
        plain.len() as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
}
