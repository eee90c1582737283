//! Forecast backtest: our model against the straight-line burn rate and the trailing 28-day
//! mean, on the series of a JSON file that `scripts/backtest.mjs` writes (the emulator's daily
//! cost and six families of synthetic shapes, several seeds each).
//!
//!   cargo run --release --example backtest -- SERIES.json [OUT.md]
//!
//! Rolling origin: for every series, horizon H ∈ {30, 90, 180} days and cut point c (every 7
//! days, from 8 weeks of history to the last c with H days after it), each method predicts the
//! total cost of days c … c+H−1 from days 0 … c−1 only. The error is the absolute percentage
//! error of that total against the actual total (emulator, and synthetic series with random
//! spikes) or the noise-free expected total (the other synthetic series: the known answer); the
//! table gives its mean (MAPE) per group and horizon, and how often the actual total fell inside
//! our 90 % band. The targets of issue 19 are checked on stderr.
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
    /// Model chosen → backtests.
    kinds: std::collections::BTreeMap<&'static str, usize>,
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
            *sc.kinds.entry(f.model.kind.name()).or_default() += 1;
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

fn pct(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

fn pct2(x: f64) -> String {
    format!("{:.2} %", x * 100.0)
}

fn add(t: &mut Score, sc: &Score) {
    t.cuts += sc.cuts;
    t.straight += sc.straight;
    t.trailing += sc.trailing;
    t.ours += sc.ours;
    t.covered += sc.covered;
    t.ours_better += sc.ours_better;
    for (k, n) in &sc.kinds {
        *t.kinds.entry(k).or_default() += n;
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        panic!("usage: backtest SERIES.json [OUT.md] (node scripts/backtest.mjs writes it)")
    };
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let input: Input = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut series = Vec::new();
    for mut s in input.series {
        // The emulator's active subscription starts 400 days before "now" (yesterday is the
        // last value); a synthetic series is one period.
        if s.group.starts_with("emulator") && s.values.len() > 400 {
            s.period_starts.push(s.values.len() - 399);
        }
        series.push(s);
    }

    let mut groups: Vec<String> = Vec::new();
    for s in &series {
        if !groups.contains(&s.group) {
            groups.push(s.group.clone());
        }
    }
    let started = std::time::Instant::now();
    // scores[group][horizon]
    let scores: Vec<Vec<Score>> = groups
        .iter()
        .map(|g| {
            HORIZONS
                .iter()
                .map(|&h| {
                    let mut t = Score::default();
                    for s in series.iter().filter(|s| &s.group == g) {
                        add(&mut t, &score(s, h));
                    }
                    t
                })
                .collect()
        })
        .collect();
    let elapsed = started.elapsed();
    let mut md = String::new();
    let _ = writeln!(
        md,
        "| series | horizon | backtests | straight line | trailing 28 days | **dps-cost** | dps-cost better than straight line | actual inside dps-cost 90 % band |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|");
    let row = |md: &mut String, label: &str, h: &str, t: &Score| {
        let n = t.cuts as f64;
        let _ = writeln!(
            md,
            "| {label} | {h} | {} | {} | {} | **{}** | {} | {} |",
            t.cuts,
            pct(t.straight / n),
            pct(t.trailing / n),
            pct(t.ours / n),
            pct(t.ours_better as f64 / n),
            pct(t.covered as f64 / n),
        );
    };
    let mut synthetic_h = vec![Score::default(); HORIZONS.len()];
    let mut all_h = vec![Score::default(); HORIZONS.len()];
    for (g, per_h) in groups.iter().zip(&scores) {
        let members = series.iter().filter(|s| &s.group == g).count();
        for (i, (h, t)) in HORIZONS.iter().zip(per_h).enumerate() {
            if t.cuts == 0 {
                continue;
            }
            if g.starts_with("synthetic") {
                add(&mut synthetic_h[i], t);
            }
            add(&mut all_h[i], t);
            row(
                &mut md,
                &format!("{g} ({members} series)"),
                &format!("{h} d"),
                t,
            );
        }
    }
    let total = |v: &[Score]| {
        let mut t = Score::default();
        for s in v {
            add(&mut t, s);
        }
        t
    };
    for (h, t) in HORIZONS.iter().zip(&synthetic_h) {
        if t.cuts > 0 {
            row(&mut md, "**six families**", &format!("{h} d"), t);
        }
    }
    let syn = total(&synthetic_h);
    if syn.cuts > 0 {
        row(&mut md, "**six families**", "30/90/180 d", &syn);
    }
    row(&mut md, "**all**", "30/90/180 d", &total(&all_h));
    print!("{md}");

    // The targets of issue 19, checked on the synthetic families.
    eprintln!("targets (synthetic families):");
    for (g, per_h) in groups.iter().zip(&scores) {
        if !g.starts_with("synthetic") {
            continue;
        }
        for (i, h) in HORIZONS.iter().enumerate() {
            let t = &per_h[i];
            if t.cuts == 0 || *h == 180 {
                continue;
            }
            let better = t.straight.min(t.trailing);
            eprintln!(
                "  {g} {h} d: dps-cost {} vs best baseline {} → {}",
                pct2(t.ours / t.cuts as f64),
                pct2(better / t.cuts as f64),
                if t.ours <= better { "met" } else { "NOT met" }
            );
        }
        let t = total(per_h);
        let cov = t.covered as f64 / t.cuts.max(1) as f64;
        let mut kinds: Vec<(&&str, &usize)> = t.kinds.iter().collect();
        kinds.sort_by(|a, b| b.1.cmp(a.1));
        eprintln!(
            "  {g} models chosen: {}",
            kinds
                .iter()
                .map(|(k, n)| format!("{k} {}", pct(**n as f64 / t.cuts.max(1) as f64)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        eprintln!(
            "  {g} coverage {} (≥ 75 %) → {}",
            pct(cov),
            if cov >= 0.75 { "met" } else { "NOT met" }
        );
    }
    if syn.cuts > 0 {
        let better = syn.straight.min(syn.trailing);
        let cov = syn.covered as f64 / syn.cuts as f64;
        eprintln!(
            "  overall: dps-cost {} vs 0.8 × best baseline {} → {}; coverage {} (85–95 %) → {}",
            pct(syn.ours / syn.cuts as f64),
            pct(0.8 * better / syn.cuts as f64),
            if syn.ours <= 0.8 * better {
                "met"
            } else {
                "NOT met"
            },
            pct(cov),
            if (0.85..=0.95).contains(&cov) {
                "met"
            } else {
                "NOT met"
            }
        );
    }
    eprintln!(
        "{} backtests × 3 methods in {:.1} s",
        total(&all_h).cuts,
        elapsed.as_secs_f64()
    );
    if let Some(out) = args.get(1) {
        std::fs::write(out, &md).unwrap_or_else(|e| panic!("{out}: {e}"));
    }
}
