//! Forecast backtest: our model against the straight-line burn rate (and a trailing 28-day
//! average), on series from a JSON file (`scripts/backtest.mjs` writes the emulator's) and on
//! synthetic series with known answers.
//!
//!   cargo run --release --example backtest -- [SERIES.json] [OUT.md]
//!
//! For every series, horizon H ∈ {30, 90, 180} days and cut point c (every 7 days, from 8 weeks
//! of history to the last c with H days after it), each method predicts the total cost of days
//! c … c+H−1 from days 0 … c−1. The error is the absolute percentage error of that total against
//! the actual total (emulator) or the noise-free expected total (synthetic: the known answer);
//! the table gives its mean (MAPE) per group and horizon, and how often the actual fell inside
//! our 90 % band.
//!
//! Straight line = cost since the start of the current subscription period ÷ days elapsed, as a
//! DPS dashboard computes it. The emulator's series cover two periods (the previous term, then
//! the active one, which starts 400 days before "now"); synthetic series are one period.

use std::fmt::Write as _;

use dps_cost::process::forecast::{forecast, straight_line};
use serde::Deserialize;

const HORIZONS: [usize; 3] = [30, 90, 180];
const MIN_HISTORY: usize = 56;
const STEP: usize = 7;
/// 2026-01-05, a Monday (synthetic series start there).
const SYNTHETIC_START: i64 = 20_458;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    series: Vec<Series>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Series {
    group: String,
    name: String,
    first_day: i64,
    values: Vec<f64>,
    /// Noise-free expected values (synthetic series only).
    #[serde(default)]
    truth: Option<Vec<f64>>,
    /// Indexes where a subscription period starts (besides 0).
    #[serde(default)]
    period_starts: Vec<usize>,
}

#[derive(Default, Clone)]
struct Score {
    cuts: usize,
    straight: f64,
    trailing: f64,
    ours: f64,
    covered: usize,
    ours_better: usize,
}

fn score(s: &Series, horizon: usize) -> Score {
    let mut sc = Score::default();
    let n = s.values.len();
    let mut c = MIN_HISTORY;
    while c + horizon <= n {
        let target = s.truth.as_ref().unwrap_or(&s.values);
        let actual: f64 = target[c..c + horizon].iter().sum();
        if actual > 0.0 {
            let period_start = s
                .period_starts
                .iter()
                .copied()
                .filter(|p| *p < c)
                .max()
                .unwrap_or(0);
            let spent: f64 = s.values[period_start..c].iter().sum();
            let straight = straight_line(spent, c - period_start, horizon)[horizon - 1];
            let trailing = s.values[c - 28..c].iter().sum::<f64>() / 28.0 * horizon as f64;
            let Ok(f) = forecast(&s.values[..c], s.first_day, horizon) else {
                panic!("{}: forecast failed at {c}", s.name)
            };
            let ours = f.cumulative[horizon - 1];
            let ape = |p: f64| (p - actual).abs() / actual;
            sc.cuts += 1;
            sc.straight += ape(straight);
            sc.trailing += ape(trailing);
            sc.ours += ape(ours);
            if ape(ours) < ape(straight) {
                sc.ours_better += 1;
            }
            let real: f64 = s.values[c..c + horizon].iter().sum();
            if f.lower[horizon - 1] <= real && real <= f.upper[horizon - 1] {
                sc.covered += 1;
            }
        }
        c += STEP;
    }
    sc
}

/// splitmix64 → uniform in [0, 1).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn synthetic() -> Vec<Series> {
    const DAYS: usize = 730;
    const WEEK: [f64; 7] = [1.08, 1.12, 1.12, 1.1, 1.04, 0.78, 0.76];
    type Shape = fn(usize) -> f64;
    let kinds: [(&str, Shape, f64, f64); 5] = [
        ("flat, weekly pattern, 5 % noise", |_| 1000.0, 0.05, 1.0),
        (
            "growth +50 %/yr, weekly pattern, 5 % noise",
            |t| 1000.0 * (1.0 + 0.5 * t as f64 / 365.0),
            0.05,
            1.0,
        ),
        (
            "decline −30 %/yr, weekly pattern, 5 % noise",
            |t| 1000.0 * (1.0 - 0.3 * t as f64 / 365.0),
            0.05,
            1.0,
        ),
        (
            "level shift +40 % on day 300, weekly pattern",
            |t| if t < 300 { 1000.0 } else { 1400.0 },
            0.05,
            1.0,
        ),
        ("flat, no weekly pattern, 20 % noise", |_| 1000.0, 0.2, 0.0),
    ];
    let mut out = Vec::new();
    for (k, (name, shape, noise, season)) in kinds.iter().enumerate() {
        for seed in 0..5u64 {
            let mut rng = Rng(seed * 1000 + k as u64);
            let truth: Vec<f64> = (0..DAYS)
                .map(|t| shape(t) * (1.0 + season * (WEEK[t % 7] - 1.0)))
                .collect();
            let values = truth
                .iter()
                .map(|v| v * (1.0 + noise * (2.0 * rng.next() - 1.0)))
                .collect();
            out.push(Series {
                group: format!("synthetic: {name}"),
                name: format!("{name} #{seed}"),
                first_day: SYNTHETIC_START,
                values,
                truth: Some(truth),
                period_starts: Vec::new(),
            });
        }
    }
    out
}

fn pct(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut series = Vec::new();
    if let Some(path) = args.first() {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let input: Input = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
        for mut s in input.series {
            // The emulator's active subscription starts 400 days before "now" (yesterday is the
            // last value).
            if s.values.len() > 400 {
                s.period_starts.push(s.values.len() - 399);
            }
            series.push(s);
        }
    }
    series.extend(synthetic());

    let mut groups: Vec<String> = Vec::new();
    for s in &series {
        if !groups.contains(&s.group) {
            groups.push(s.group.clone());
        }
    }
    let mut md = String::new();
    let _ = writeln!(
        md,
        "| series | horizon | backtests | straight line | trailing 28 days | **dps-cost** | dps-cost better than straight line | actual inside dps-cost 90 % band |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut all = Score::default();
    for g in &groups {
        let members: Vec<&Series> = series.iter().filter(|s| &s.group == g).collect();
        for h in HORIZONS {
            let mut t = Score::default();
            for s in &members {
                let sc = score(s, h);
                t.cuts += sc.cuts;
                t.straight += sc.straight;
                t.trailing += sc.trailing;
                t.ours += sc.ours;
                t.covered += sc.covered;
                t.ours_better += sc.ours_better;
            }
            if t.cuts == 0 {
                continue;
            }
            all.cuts += t.cuts;
            all.straight += t.straight;
            all.trailing += t.trailing;
            all.ours += t.ours;
            all.covered += t.covered;
            all.ours_better += t.ours_better;
            let n = t.cuts as f64;
            let _ = writeln!(
                md,
                "| {g} ({} series) | {h} d | {} | {} | {} | **{}** | {} | {} |",
                members.len(),
                t.cuts,
                pct(t.straight / n),
                pct(t.trailing / n),
                pct(t.ours / n),
                pct(t.ours_better as f64 / n),
                pct(t.covered as f64 / n),
            );
        }
    }
    let n = all.cuts as f64;
    let _ = writeln!(
        md,
        "| **all** | 30/90/180 d | {} | {} | {} | **{}** | {} | {} |",
        all.cuts,
        pct(all.straight / n),
        pct(all.trailing / n),
        pct(all.ours / n),
        pct(all.ours_better as f64 / n),
        pct(all.covered as f64 / n),
    );
    print!("{md}");
    if let Some(out) = args.get(1) {
        std::fs::write(out, &md).unwrap_or_else(|e| panic!("{out}: {e}"));
    }
}
