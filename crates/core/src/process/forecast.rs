//! Spend forecast: a model chosen and checked on the series itself, with a band calibrated on
//! its own errors.
//!
//! 1. **Seasonality, detected.** Each day against a centred 15-day rolling median (robust to
//!    spikes, bumps and steps): the weekday pattern is the median ratio per weekday, kept only
//!    when it stands out of the noise (some weekday more than 4 standard errors from another);
//!    the day-of-month pattern (bookings on the first days of a month, …) is the median ratio
//!    per day of the month, kept per day only when seen in ≥ 3 months and more than
//!    max(10 %, 4 standard errors) away from 1. The rest of the model works on the
//!    deseasonalised series.
//! 2. **Level shifts.** Weekly medians of the deseasonalised series; a change point is a jump
//!    across one week of more than max(10 %, 4 robust σ) beyond the series' typical weekly
//!    change (so steady or exponential growth is not one). Every model is fitted only on the
//!    days after the last change point known at that time.
//! 3. **Candidates** (on the deseasonalised days after the change point):
//!    - robust linear trend (last 91 days; least squares, refitted without points beyond 3.5
//!      robust σ; the slope kept only when |t| ≥ 2),
//!    - the same on the logarithm (exponential growth),
//!    - damped-trend exponential smoothing (ETS(A,Ad,N)) of weekly means over the last 26
//!      weeks, its parameters chosen on a grid by one-step squared error,
//!    - the trailing 28-day mean,
//!    - seasonal naive (the last week again),
//!    - the mean of the robust trend, the damped trend and the trailing mean.
//!
//!    Outliers do not bend the fits (the trailing mean and the ETS use clipped days); their
//!    average excess is added back to the level, since they are part of the totals a user pays.
//! 4. **Choice by rolling-origin cross-validation** on the series' own history: from up to
//!    [`CV_ORIGINS`] origins a week apart, each candidate forecasts from the days before the
//!    origin only (with the level shifts known then); the three with the smallest mean absolute
//!    percentage error of the horizon's total (at the longest horizon with ≥ 4 origins, half
//!    and a quarter of it) are combined, weighted by 1 / error.
//! 5. **Band** (90 %): from the combination's own cross-validation errors at each horizon — the
//!    wider of the root mean square relative error × the 95 % Student-t quantile for that many
//!    origins and the conformal ⌈0.9 (n + 1)⌉-th absolute error, symmetric around the median;
//!    beyond the longest horizon the history can check, the width grows in proportion to the
//!    horizon. (The seasonal factors are estimated once on the whole history, so the
//!    cross-validation sees them a little better than a real forecast did.)
//!
//! **Short histories** (fewer than [`MIN_MODEL_DAYS`] days), or too short for four
//! cross-validation origins: the mean of the last 28 days there are, flat, with a
//! ±[`SHORT_BAND`] band — never a confident band from a few points. A horizon with fewer than
//! three origins takes the width of the last one checked, grown in proportion to the horizon.
//!
//! The straight line — the cost-to-date divided by the days elapsed, carried forward — is
//! [`straight_line`]; the backtest (`scripts/backtest.mjs`, README "Forecast") compares them.

use crate::error::{Error, Result};
use crate::time::civil_from_days;

/// Below this many days: the short-history fallback.
pub const MIN_MODEL_DAYS: usize = 28;
/// Relative half-width of the band of the short-history fallback (±50 %).
pub const SHORT_BAND: f64 = 0.5;
/// Cross-validation origins (a week apart, the latest a week before the end).
pub const CV_ORIGINS: usize = 26;
/// Days of history an origin needs before it.
const CV_MIN_FIT: usize = 28;
const CV_STEP: usize = 7;
/// Longest horizon checked by cross-validation.
const CV_MAX_HORIZON: usize = 182;
const TREND_WINDOW: usize = 91;
const ETS_WEEKS: usize = 26;
const TRAILING_DAYS: usize = 28;
/// Candidates combined: the best by cross-validation, weighted by 1 / error.
const ENSEMBLE: usize = 3;
/// Below this many days no weekly pattern is estimated.
pub const MIN_SEASONAL_DAYS: usize = 21;
/// Below this many days no slope is fitted.
pub const MIN_TREND_DAYS: usize = 28;

/// The candidate models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Trend,
    LogTrend,
    DampedTrend,
    TrailingMean,
    SeasonalNaive,
    /// The mean of the robust trend, the damped-trend ETS and the trailing mean.
    Combination,
    /// The short-history fallback.
    ShortHistory,
}

impl Kind {
    pub const CANDIDATES: [Kind; 6] = [
        Kind::Trend,
        Kind::LogTrend,
        Kind::DampedTrend,
        Kind::TrailingMean,
        Kind::SeasonalNaive,
        Kind::Combination,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Trend => "robust trend",
            Kind::LogTrend => "robust exponential trend",
            Kind::DampedTrend => "damped-trend ETS",
            Kind::TrailingMean => "trailing 28-day mean",
            Kind::SeasonalNaive => "seasonal naive",
            Kind::Combination => "mean of trend, damped trend and trailing mean",
            Kind::ShortHistory => "short history: mean",
        }
    }
}

/// The fitted model (for display and tests).
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub kind: Kind,
    /// Days the chosen model was fitted on.
    pub window: usize,
    /// Multiplicative factor per weekday, Monday first; they average 1 (all 1: none detected).
    pub weekday_factors: [f64; 7],
    /// Multiplicative factor per day of the month, 1st first (1: none detected).
    pub month_day_factors: [f64; 31],
    /// Index in the history of the first day after the last level shift, if any.
    pub change_point: Option<usize>,
    /// Deseasonalised level forecast for the day after the history.
    pub level: f64,
    /// Deseasonalised change per day at the start of the forecast.
    pub slope: f64,
    /// Robust standard deviation of the deseasonalised day-to-day noise.
    pub sigma: f64,
    /// Mean absolute percentage error of the chosen model in cross-validation (None: not
    /// checked).
    pub cv_error: Option<f64>,
    /// Cross-validation origins behind the band at horizon 1.
    pub cv_origins: usize,
    /// The candidates combined and their weights (the best first; `kind` is that one).
    pub weights: Vec<(Kind, f64)>,
}

/// A forecast of `horizon` days after the history.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    pub model: Model,
    /// Expected cost of each future day.
    pub daily: Vec<f64>,
    /// Cumulative expected cost after 1, 2, … days.
    pub cumulative: Vec<f64>,
    /// Lower / upper edge of the 90 % band of the cumulative cost (lower never below 0).
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
}

/// Monday = 0 … Sunday = 6 for a day number (days since 1970-01-01, a Thursday).
pub fn weekday(day: i64) -> usize {
    // rem_euclid(7) is in 0..7, so the cast cannot truncate.
    (day + 3).rem_euclid(7) as usize
}

/// 0 … 30 for the 1st … 31st of a month.
fn month_day(day: i64) -> usize {
    (civil_from_days(day).2 as usize).saturating_sub(1).min(30)
}

fn check(history: &[f64]) -> Result<()> {
    if history.is_empty() {
        return Err(Error::invalid("history", "needs at least one day of cost"));
    }
    for (i, v) in history.iter().enumerate() {
        if !v.is_finite() || *v < 0.0 {
            return Err(Error::invalid(
                format!("history[{i}]"),
                format!("must be a finite number ≥ 0, got {v}"),
            ));
        }
    }
    Ok(())
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let m = v.len() / 2;
    let (_, hi, _) = v.select_nth_unstable_by(m, f64::total_cmp);
    let hi = *hi;
    if v.len() % 2 == 1 {
        Some(hi)
    } else {
        let lo = v[..m].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some((lo + hi) / 2.0)
    }
}

/// 1.4826 × the median absolute deviation from `center`.
fn robust_sigma(v: &[f64], center: f64) -> f64 {
    let mut d: Vec<f64> = v.iter().map(|x| (x - center).abs()).collect();
    median(&mut d).unwrap_or(0.0) * 1.4826
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// One-sided 95 % quantile of Student's t with `df` degrees of freedom.
fn t95(df: usize) -> f64 {
    const T: [f64; 30] = [
        6.314, 2.920, 2.353, 2.132, 2.015, 1.943, 1.895, 1.860, 1.833, 1.812, 1.796, 1.782, 1.771,
        1.761, 1.753, 1.746, 1.740, 1.734, 1.729, 1.725, 1.721, 1.717, 1.714, 1.711, 1.708, 1.706,
        1.703, 1.701, 1.699, 1.697,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => T[df - 1],
        _ => 1.645 + 1.6 / df as f64,
    }
}

/// The detected seasonal factors.
struct Seasonal {
    week: [f64; 7],
    month: [f64; 31],
    first_day: i64,
}

impl Seasonal {
    fn factor(&self, t: usize) -> f64 {
        let day = self.first_day + t as i64;
        self.week[weekday(day)] * self.month[month_day(day)]
    }

    /// Robust σ of the deseasonalised series around its rolling median, and the factors.
    fn detect(y: &[f64], first_day: i64) -> (Seasonal, Vec<f64>) {
        let n = y.len();
        let mut s = Seasonal {
            week: [1.0; 7],
            month: [1.0; 31],
            first_day,
        };
        // Centred 15-day rolling median.
        let mut base = Vec::with_capacity(n);
        let mut buf = Vec::with_capacity(15);
        for t in 0..n {
            buf.clear();
            buf.extend_from_slice(&y[t.saturating_sub(7)..(t + 8).min(n)]);
            base.push(median(&mut buf).unwrap_or(0.0));
        }
        let ratio: Vec<Option<f64>> = y
            .iter()
            .zip(&base)
            .map(|(v, b)| (*b > 0.0).then(|| v / b))
            .collect();
        if n >= MIN_SEASONAL_DAYS {
            let mut by_day: [Vec<f64>; 7] = Default::default();
            for (t, r) in ratio.iter().enumerate() {
                if let Some(r) = r {
                    by_day[weekday(first_day + t as i64)].push(*r);
                }
            }
            let mut raw = [1.0; 7];
            let mut resid = Vec::new();
            let mut count = usize::MAX;
            for (d, v) in by_day.iter_mut().enumerate() {
                count = count.min(v.len());
                if let Some(m) = median(v) {
                    raw[d] = m;
                    resid.extend(v.iter().map(|r| r - m));
                }
            }
            let sigma = robust_sigma(&resid, 0.0);
            // The factors themselves: medians of the ratio to the centred 7-day mean, which a
            // linear trend does not bias (the rolling median above is for detection only).
            let mut by_day_ma: [Vec<f64>; 7] = Default::default();
            let mut sum7: f64 = y[..7].iter().sum();
            for t in 3..n - 3 {
                if t > 3 {
                    sum7 += y[t + 3] - y[t - 4];
                }
                if sum7 > 0.0 {
                    by_day_ma[weekday(first_day + t as i64)].push(y[t] / (sum7 / 7.0));
                }
            }
            let mut factors = raw;
            for (f, v) in factors.iter_mut().zip(by_day_ma.iter_mut()) {
                if let Some(m) = median(v) {
                    *f = m;
                }
            }
            // Refined against the 7-day mean of the deseasonalised series (a trend times the
            // pattern is then exact: the symmetric mean of a line is the line).
            for _ in 0..3 {
                let z: Vec<f64> = y
                    .iter()
                    .enumerate()
                    .map(|(t, v)| {
                        let f = factors[weekday(first_day + t as i64)];
                        if f > 0.0 {
                            v / f
                        } else {
                            0.0
                        }
                    })
                    .collect();
                let mut by_day_z: [Vec<f64>; 7] = Default::default();
                let mut sum7: f64 = z[..7].iter().sum();
                for t in 3..n - 3 {
                    if t > 3 {
                        sum7 += z[t + 3] - z[t - 4];
                    }
                    if sum7 > 0.0 {
                        by_day_z[weekday(first_day + t as i64)].push(y[t] / (sum7 / 7.0));
                    }
                }
                for (f, v) in factors.iter_mut().zip(by_day_z.iter_mut()) {
                    if let Some(m) = median(v) {
                        *f = m;
                    }
                }
            }
            let mean_f = mean(&factors);
            let (lo, hi) = raw
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                    (a.min(*v), b.max(*v))
                });
            let se = 1.25 * sigma / (count.max(1) as f64).sqrt();
            let mean_raw = mean(&raw);
            if count >= 3 && hi - lo > 4.0 * se && mean_raw > 0.0 && mean_f > 0.0 {
                for (w, f) in s.week.iter_mut().zip(factors) {
                    *w = f / mean_f;
                }
            }
            // Day of month, on what the weekday pattern leaves.
            let mut by_md: [Vec<f64>; 31] = std::array::from_fn(|_| Vec::new());
            let mut all = Vec::new();
            for (t, r) in ratio.iter().enumerate() {
                if let Some(r) = r {
                    let day = first_day + t as i64;
                    let w = if s.week == [1.0; 7] {
                        1.0
                    } else {
                        raw[weekday(day)]
                    };
                    if w > 0.0 {
                        by_md[month_day(day)].push(r / w);
                        all.push(r / w);
                    }
                }
            }
            let sigma = robust_sigma(&all, 1.0);
            for (k, v) in by_md.iter_mut().enumerate() {
                let c = v.len();
                if c < 3 {
                    continue;
                }
                if let Some(m) = median(v) {
                    if (m - 1.0).abs() > (4.0 * 1.25 * sigma / (c as f64).sqrt()).max(0.1) {
                        s.month[k] = m;
                    }
                }
            }
        }
        let z = y
            .iter()
            .enumerate()
            .map(|(t, v)| {
                let f = s.factor(t);
                if f > 0.0 {
                    v / f
                } else {
                    0.0
                }
            })
            .collect();
        (s, z)
    }
}

/// A level shift: the fit may start at `start`; it is known once `known` days are there.
#[derive(Debug, Clone, Copy)]
struct ChangePoint {
    start: usize,
    known: usize,
}

/// Level shifts of the deseasonalised series (see the module documentation).
fn change_points(z: &[f64]) -> Vec<ChangePoint> {
    let n = z.len();
    let blocks = n / 7;
    let off = n % 7;
    let mut logs = Vec::with_capacity(blocks);
    let mut buf = Vec::with_capacity(7);
    for b in 0..blocks {
        buf.clear();
        buf.extend_from_slice(&z[off + 7 * b..off + 7 * b + 7]);
        match median(&mut buf) {
            Some(m) if m > 0.0 => logs.push(m.ln()),
            _ => return Vec::new(),
        }
    }
    if blocks < 4 {
        return Vec::new();
    }
    let mut d: Vec<f64> = logs.windows(2).map(|w| w[1] - w[0]).collect();
    let g = median(&mut d.clone()).unwrap_or(0.0);
    let s = robust_sigma(&d, g);
    d.clear();
    let threshold = (4.0 * s * std::f64::consts::SQRT_2).max(0.1);
    let mut out = Vec::new();
    let mut i = 1;
    while i + 1 < blocks {
        let jump = logs[i + 1] - logs[i - 1] - 2.0 * g;
        if jump.abs() > threshold {
            // The day of the shift: the best split of blocks i-1 … i+1.
            let (a, b) = (off + 7 * (i - 1), off + 7 * (i + 2));
            let at = split(&z[a..b]).map_or(off + 7 * (i + 1), |k| a + k);
            out.push(ChangePoint {
                start: at,
                known: b,
            });
            i += 2;
        } else {
            i += 1;
        }
    }
    // A shift in the last week, seen against the week before only (known at the end).
    if i == blocks - 1 && (logs[i] - logs[i - 1] - g).abs() > threshold {
        let a = off + 7 * (i - 1);
        if let Some(at) = split(&z[a..]) {
            out.push(ChangePoint {
                start: a + at,
                known: n,
            });
        }
    }
    out
}

/// The split of `seg` into two parts with the least squared error around their means.
fn split(seg: &[f64]) -> Option<usize> {
    let total: f64 = seg.iter().sum();
    let total2: f64 = seg.iter().map(|v| v * v).sum();
    let (mut best, mut at, mut left) = (f64::INFINITY, None, 0.0);
    for k in 1..seg.len() {
        left += seg[k - 1];
        let (nl, nr) = (k as f64, (seg.len() - k) as f64);
        let right = total - left;
        let sse = total2 - left * left / nl - right * right / nr;
        if sse < best {
            (best, at) = (sse, Some(k));
        }
    }
    at
}

/// Least squares of `z` on x = 0, 1, …, over the points with `keep[i]`: (mean x, mean z, slope,
/// Sxx).
fn ols(z: &[f64], keep: &[bool]) -> (f64, f64, f64, f64) {
    let (mut n, mut sx, mut sz) = (0.0, 0.0, 0.0);
    for (i, (&v, &k)) in z.iter().zip(keep).enumerate() {
        if k {
            n += 1.0;
            sx += i as f64;
            sz += v;
        }
    }
    if n == 0.0 {
        return (0.0, 0.0, 0.0, 0.0);
    }
    let (mx, mz) = (sx / n, sz / n);
    let (mut sxx, mut sxz) = (0.0, 0.0);
    for (i, (&v, &k)) in z.iter().zip(keep).enumerate() {
        if k {
            let dx = i as f64 - mx;
            sxx += dx * dx;
            sxz += dx * (v - mz);
        }
    }
    let slope = if sxx > 0.0 { sxz / sxx } else { 0.0 };
    (mx, mz, slope, sxx)
}

/// Robust line through `z`: (value at x = len, slope, mean residual of all points — the
/// outliers' excess). Least squares, refitted without the points beyond 3.5 robust σ; the slope
/// is kept only when significant (|t| ≥ 2) and `with_slope`.
fn robust_line(z: &[f64], with_slope: bool) -> (f64, f64, f64) {
    let mut keep = vec![true; z.len()];
    let (mut mx, mut mz, mut slope, _) = ols(z, &keep);
    if !with_slope {
        slope = 0.0;
    }
    let resid: Vec<f64> = z
        .iter()
        .enumerate()
        .map(|(i, v)| v - (mz + slope * (i as f64 - mx)))
        .collect();
    let mad = robust_sigma(&resid, 0.0);
    if mad > 0.0 {
        for (k, r) in keep.iter_mut().zip(&resid) {
            *k = r.abs() <= 3.5 * mad;
        }
        (mx, mz, slope, _) = ols(z, &keep);
        if !with_slope {
            slope = 0.0;
        }
    }
    if slope != 0.0 {
        let (mut n, mut sse, mut sxx) = (0.0, 0.0, 0.0);
        for (i, (v, k)) in z.iter().zip(&keep).enumerate() {
            if *k {
                let r = v - (mz + slope * (i as f64 - mx));
                n += 1.0;
                sse += r * r;
                sxx += (i as f64 - mx) * (i as f64 - mx);
            }
        }
        let se = if n > 2.0 && sxx > 0.0 {
            (sse / (n - 2.0) / sxx).sqrt()
        } else {
            f64::INFINITY
        };
        if slope.abs() < 2.0 * se {
            slope = 0.0;
        }
    }
    let excess = mean(
        &z.iter()
            .enumerate()
            .map(|(i, v)| v - (mz + slope * (i as f64 - mx)))
            .collect::<Vec<_>>(),
    );
    (mz + slope * (z.len() as f64 - mx), slope, excess)
}

/// Holt's damped trend (ETS(A,Ad,N)) on weekly means `w`: (level, trend, φ) after the last
/// week, parameters from a grid by one-step squared error.
fn damped_holt(w: &[f64]) -> (f64, f64, f64) {
    const ALPHA: [f64; 4] = [0.1, 0.3, 0.5, 0.8];
    const BETA: [f64; 3] = [0.0, 0.05, 0.15];
    const PHI: [f64; 3] = [0.8, 0.9, 0.98];
    let mut best = (f64::INFINITY, w.last().copied().unwrap_or(0.0), 0.0, 0.9);
    if w.len() < 3 {
        return (mean(w), 0.0, 0.9);
    }
    for a in ALPHA {
        for b in BETA.iter().copied().filter(|b| *b <= a) {
            for phi in PHI {
                let (mut l, mut tr, mut sse) = (w[0], w[1] - w[0], 0.0);
                for &v in &w[1..] {
                    let pred = l + phi * tr;
                    let e = v - pred;
                    sse += e * e;
                    l = pred + a * e;
                    tr = phi * tr + b * e;
                }
                if sse < best.0 {
                    best = (sse, l, tr, phi);
                }
            }
        }
    }
    (best.1, best.2, best.3)
}

/// Deseasonalised forecasts of `kind` for the `horizon` days after `z[..end]`, fitted on the
/// days from `start` on. `None` when the candidate does not apply.
fn predict(kind: Kind, z: &[f64], start: usize, end: usize, horizon: usize) -> Option<Vec<f64>> {
    let from = |days: usize| start.max(end.saturating_sub(days));
    let window = &z[from(usize::MAX)..end];
    if window.is_empty() {
        return None;
    }
    let flat = |v: f64| Some(vec![v.max(0.0); horizon]);
    match kind {
        Kind::Trend => {
            let w = &z[from(TREND_WINDOW)..end];
            let (level, slope, excess) = robust_line(w, w.len() >= MIN_TREND_DAYS);
            Some(
                (0..horizon)
                    .map(|k| (level + slope * k as f64 + excess).max(0.0))
                    .collect(),
            )
        }
        Kind::LogTrend => {
            let w = &z[from(TREND_WINDOW)..end];
            if w.len() < MIN_TREND_DAYS || w.iter().any(|v| *v <= 0.0) {
                return None;
            }
            let logs: Vec<f64> = w.iter().map(|v| v.ln()).collect();
            let (level, slope, _) = robust_line(&logs, true);
            // Scale so that the fit's mean over the window is the window's mean (the outliers'
            // excess, and the log's bias, back in).
            let n = w.len() as f64;
            let fitted: f64 = (0..w.len())
                .map(|i| (level + slope * (i as f64 - n)).min(700.0).exp())
                .sum::<f64>()
                / n;
            if fitted <= 0.0 {
                return None;
            }
            let c = mean(w) / fitted;
            // exp(level + slope·k) by steps of exp(slope).
            let (mut v, step) = (c * level.min(700.0).exp(), slope.exp());
            Some(
                (0..horizon)
                    .map(|_| {
                        let out = v;
                        v = (v * step).min(f64::MAX);
                        out
                    })
                    .collect(),
            )
        }
        Kind::DampedTrend => {
            let first = from(ETS_WEEKS * 7);
            let weeks = (end - first) / 7;
            if weeks < 3 {
                return flat(mean(window));
            }
            // Weekly means of the days clipped to the median ± 3.5 robust σ (outliers do not
            // bend the fit); their excess is added back to the level.
            let days = &z[end - 7 * weeks..end];
            let med = median(&mut days.to_vec()).unwrap_or(0.0);
            let sig = robust_sigma(days, med);
            let clipped: Vec<f64> = if sig > 0.0 {
                days.iter()
                    .map(|v| v.clamp(med - 3.5 * sig, med + 3.5 * sig))
                    .collect()
            } else {
                days.to_vec()
            };
            let excess = mean(days) - mean(&clipped);
            let w: Vec<f64> = clipped.chunks(7).map(mean).collect();
            let (l, tr, phi) = damped_holt(&w);
            let l = l + excess;
            // Day k is x = (k + 4) / 7 weeks from the centre of the last week; the trend adds
            // φ + φ² + … + φˣ = φ (1 − φˣ) / (1 − φ) (φ < 1 on the grid), φˣ by steps of φ^(1/7).
            let step = phi.powf(1.0 / 7.0);
            let mut phi_x = phi.powf(4.0 / 7.0);
            Some(
                (0..horizon)
                    .map(|_| {
                        let damp = phi * (1.0 - phi_x) / (1.0 - phi);
                        phi_x *= step;
                        (l + tr * damp).max(0.0)
                    })
                    .collect(),
            )
        }
        Kind::TrailingMean => {
            // The last 28 days without their outliers, plus the outliers' average excess over
            // the longer trend window (one spike is not a new level).
            let (level, _, _) = robust_line(&z[from(TRAILING_DAYS)..end], false);
            let (_, _, excess) = robust_line(&z[from(TREND_WINDOW)..end], false);
            flat(level + excess)
        }
        Kind::SeasonalNaive => flat(mean(&z[from(7)..end])),
        Kind::Combination => {
            let mut sum = vec![0.0; horizon];
            for k in [Kind::Trend, Kind::DampedTrend, Kind::TrailingMean] {
                for (s, v) in sum.iter_mut().zip(predict(k, z, start, end, horizon)?) {
                    *s += v / 3.0;
                }
            }
            Some(sum)
        }
        Kind::ShortHistory => flat(mean(window)),
    }
}

/// The combination's forecast from the candidates' (in `Kind::CANDIDATES` order).
fn combine(ps: &[Option<Vec<f64>>]) -> Option<Vec<f64>> {
    let pick = |k: Kind| {
        Kind::CANDIDATES
            .iter()
            .position(|c| *c == k)
            .and_then(|i| ps.get(i))
            .and_then(Option::as_ref)
    };
    let (a, b, c) = (
        pick(Kind::Trend)?,
        pick(Kind::DampedTrend)?,
        pick(Kind::TrailingMean)?,
    );
    Some(
        a.iter()
            .zip(b)
            .zip(c)
            .map(|((a, b), c)| (a + b + c) / 3.0)
            .collect(),
    )
}

/// Rolling-origin cross-validation: `actual[h-1][j]` is the actual total of the h days after
/// origin j, `preds[c][h-1][j]` candidate c's forecast of it (NaN: the candidate did not apply).
struct Cv {
    actual: Vec<Vec<f64>>,
    preds: Vec<Vec<Vec<f64>>>,
}

impl Cv {
    /// `factors[t]`: the seasonal factor of day t (computed once: a day of the month needs a
    /// calendar conversion).
    fn run(y: &[f64], z: &[f64], factors: &[f64], cps: &[ChangePoint], max_h: usize) -> Cv {
        let n = y.len();
        let mut cv = Cv {
            actual: vec![Vec::with_capacity(CV_ORIGINS); max_h],
            preds: vec![vec![Vec::with_capacity(CV_ORIGINS); max_h]; Kind::CANDIDATES.len()],
        };
        for j in 1..=CV_ORIGINS {
            let Some(o) = n.checked_sub(CV_STEP * j) else {
                break;
            };
            if o < CV_MIN_FIT {
                break;
            }
            let start = cps
                .iter()
                .filter(|c| c.known <= o && c.start < o)
                .map(|c| c.start)
                .next_back()
                .unwrap_or(0);
            let h_max = max_h.min(n - o);
            let mut actual = 0.0;
            for (h, v) in y[o..o + h_max].iter().enumerate() {
                actual += v;
                cv.actual[h].push(actual);
            }
            let mut ps: Vec<Option<Vec<f64>>> = Vec::with_capacity(Kind::CANDIDATES.len());
            for kind in Kind::CANDIDATES {
                ps.push(if kind == Kind::Combination {
                    // From the three already there (the same as `predict` would give).
                    combine(&ps)
                } else {
                    predict(kind, z, start, o, h_max)
                });
            }
            for (c, p) in ps.iter().enumerate() {
                let mut pred = 0.0;
                for h in 0..h_max {
                    cv.preds[c][h].push(match p {
                        Some(p) => {
                            pred += p[h] * factors[o + h];
                            pred
                        }
                        None => f64::NAN,
                    });
                }
            }
        }
        cv
    }

    /// Relative errors (actual ÷ forecast − 1) at horizon h of the weighted candidates.
    fn errors(&self, weights: &[(usize, f64)], h: usize) -> Vec<f64> {
        self.actual[h - 1]
            .iter()
            .enumerate()
            .filter_map(|(j, a)| {
                let p: f64 = weights
                    .iter()
                    .map(|(c, w)| w * self.preds[*c][h - 1][j])
                    .sum();
                (p > 0.0).then(|| a / p - 1.0)
            })
            .collect()
    }

    /// Mean absolute relative error at the horizons `at` (None: fewer than 4 origins at one).
    fn score(&self, weights: &[(usize, f64)], at: &[usize]) -> Option<f64> {
        let mut s = 0.0;
        for h in at {
            let e = self.errors(weights, *h);
            if e.len() < 4 {
                return None;
            }
            s += e.iter().map(|v| v.abs()).sum::<f64>() / e.len() as f64;
        }
        Some(s / at.len() as f64)
    }
}

/// The short-history fallback (see the module documentation).
fn short_history(history: &[f64], horizon: usize) -> Forecast {
    let level = mean(&history[history.len().saturating_sub(TRAILING_DAYS)..]);
    let mut out = Forecast {
        model: Model {
            kind: Kind::ShortHistory,
            window: history.len().min(TRAILING_DAYS),
            weekday_factors: [1.0; 7],
            month_day_factors: [1.0; 31],
            change_point: None,
            level,
            slope: 0.0,
            sigma: 0.0,
            cv_error: None,
            cv_origins: 0,
            weights: vec![(Kind::ShortHistory, 1.0)],
        },
        daily: vec![level; horizon],
        cumulative: Vec::with_capacity(horizon),
        lower: Vec::with_capacity(horizon),
        upper: Vec::with_capacity(horizon),
    };
    for h in 1..=horizon {
        let c = level * h as f64;
        out.cumulative.push(c);
        out.lower.push(c * (1.0 - SHORT_BAND));
        out.upper.push(c * (1.0 + SHORT_BAND));
    }
    out
}

/// Forecasts `horizon` days after `history` (daily cost, oldest first, one value per
/// consecutive day; the first value is the cost of `first_day`). See the module documentation.
pub fn forecast(history: &[f64], first_day: i64, horizon: usize) -> Result<Forecast> {
    check(history)?;
    let n = history.len();
    if n < MIN_MODEL_DAYS {
        return Ok(short_history(history, horizon));
    }
    let (seasonal, z) = Seasonal::detect(history, first_day);
    let cps = change_points(&z);
    let max_h = horizon.clamp(1, CV_MAX_HORIZON).min(n - CV_MIN_FIT);
    let factors: Vec<f64> = (0..n + horizon).map(|t| seasonal.factor(t)).collect();
    let cv = Cv::run(history, &z, &factors, &cps, max_h);
    // The longest horizon with ≥ 4 origins: selection there (and at a half and a quarter).
    let Some(h_sel) = (1..=max_h).rev().find(|h| cv.actual[h - 1].len() >= 4) else {
        return Ok(short_history(history, horizon));
    };
    let at = [h_sel, h_sel.div_ceil(2), h_sel.div_ceil(4)];
    let mut ranked: Vec<(usize, f64)> = (0..Kind::CANDIDATES.len())
        .filter_map(|c| cv.score(&[(c, 1.0)], &at).map(|s| (c, s)))
        .collect();
    ranked.sort_by(|a, b| a.1.total_cmp(&b.1));
    // The best ENSEMBLE, weighted by the inverse of their error (one alone when exact).
    ranked.truncate(ENSEMBLE);
    if ranked.first().is_some_and(|(_, s)| *s < 1e-9) {
        ranked.truncate(1);
    }
    let inverse: f64 = ranked.iter().map(|(_, s)| 1.0 / s.max(1e-9)).sum();
    let weights: Vec<(usize, f64)> = ranked
        .iter()
        .map(|(c, s)| (*c, 1.0 / s.max(1e-9) / inverse))
        .collect();
    let Some(cv_error) = cv.score(&weights, &at) else {
        return Ok(short_history(history, horizon));
    };
    let start = cps.last().map_or(0, |c| c.start);
    let mut pz = vec![0.0; horizon.max(2)];
    for (c, w) in &weights {
        let Some(p) = predict(Kind::CANDIDATES[*c], &z, start, n, pz.len()) else {
            return Ok(short_history(history, horizon));
        };
        for (s, v) in pz.iter_mut().zip(p) {
            *s += w * v;
        }
    }
    let kind = Kind::CANDIDATES[weights[0].0];
    // Band half-widths (relative) per horizon from the chosen candidate's errors.
    let mut half = Vec::with_capacity(horizon);
    let mut last: Option<(usize, f64)> = None;
    for h in 1..=horizon {
        let e = (h <= max_h)
            .then(|| cv.errors(&weights, h))
            .filter(|e| e.len() >= 3);
        let w = match (e, last) {
            (Some(e), _) => {
                let rms = (e.iter().map(|v| v * v).sum::<f64>() / e.len() as f64).sqrt();
                // Conformal: the ⌈0.9 (n + 1)⌉-th smallest |error|, when there are enough;
                // the wider of that and the t band (heavy tails, after shifts).
                let k = (9 * (e.len() + 1)).div_ceil(10);
                let conformal = if k <= e.len() {
                    let mut abs: Vec<f64> = e.iter().map(|v| v.abs()).collect();
                    let (_, q, _) = abs.select_nth_unstable_by(k - 1, f64::total_cmp);
                    *q
                } else {
                    0.0
                };
                let w = (t95(e.len() - 1) * rms).max(conformal);
                last = Some((h, w));
                w
            }
            (None, Some((h0, w0))) => w0 * h as f64 / h0 as f64,
            (None, None) => SHORT_BAND,
        };
        half.push(w);
    }
    let fit_start = match kind {
        Kind::Trend | Kind::LogTrend => start.max(n.saturating_sub(TREND_WINDOW)),
        Kind::DampedTrend | Kind::Combination => start.max(n.saturating_sub(ETS_WEEKS * 7)),
        Kind::TrailingMean | Kind::ShortHistory => start.max(n.saturating_sub(TRAILING_DAYS)),
        Kind::SeasonalNaive => start.max(n.saturating_sub(7)),
    };
    // Day-to-day noise: robust σ of the differences, ÷ √2.
    let diffs: Vec<f64> = z.windows(2).map(|w| w[1] - w[0]).collect();
    let mut out = Forecast {
        model: Model {
            kind,
            window: n - fit_start,
            weekday_factors: seasonal.week,
            month_day_factors: seasonal.month,
            change_point: (start > 0).then_some(start),
            level: pz[0],
            slope: pz[1] - pz[0],
            sigma: robust_sigma(&diffs, 0.0) / std::f64::consts::SQRT_2,
            cv_error: Some(cv_error),
            cv_origins: cv.errors(&weights, 1).len(),
            weights: weights
                .iter()
                .map(|(c, w)| (Kind::CANDIDATES[*c], *w))
                .collect(),
        },
        daily: Vec::with_capacity(horizon),
        cumulative: Vec::with_capacity(horizon),
        lower: Vec::with_capacity(horizon),
        upper: Vec::with_capacity(horizon),
    };
    let mut cum = 0.0;
    for (h, w) in half.iter().enumerate() {
        let v = pz[h] * factors[n + h];
        cum += v;
        out.daily.push(v);
        out.cumulative.push(cum);
        out.lower.push((cum * (1.0 - w)).max(0.0));
        out.upper.push(cum * (1.0 + w));
    }
    Ok(out)
}

/// The straight-line burn rate: `spent / days_elapsed` per day, cumulative over `horizon` days.
pub fn straight_line(spent: f64, days_elapsed: usize, horizon: usize) -> Vec<f64> {
    let rate = if days_elapsed == 0 {
        0.0
    } else {
        spent / days_elapsed as f64
    };
    (1..=horizon).map(|h| rate * h as f64).collect()
}

/// The first index `i` where `already + cumulative[i] >= budget`, or `None`.
pub fn crossing(already: f64, cumulative: &[f64], budget: f64) -> Option<usize> {
    cumulative.iter().position(|c| already + c >= budget)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MONDAY: i64 = 20_458; // 2026-01-05

    fn series(days: usize, f: impl Fn(usize) -> f64) -> Vec<f64> {
        (0..days).map(f).collect()
    }

    /// Deterministic noise in [-1, 1).
    fn noise(t: usize, seed: u64) -> f64 {
        let mut z = (t as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }

    const WEEK: [f64; 7] = [1.1, 1.1, 1.1, 1.1, 1.1, 0.75, 0.75];

    fn run(y: &[f64], horizon: usize) -> Forecast {
        forecast(y, MONDAY, horizon).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn weekday_of_known_dates() {
        assert_eq!(weekday(0), 3); // 1970-01-01, Thursday
        assert_eq!(weekday(MONDAY), 0);
        assert_eq!(weekday(MONDAY - 1), 6);
        assert_eq!(month_day(MONDAY), 4); // the 5th
    }

    #[test]
    fn recovers_a_noise_free_trend_with_weekly_pattern_exactly() {
        let y = series(120, |t| (100.0 + 0.5 * t as f64) * WEEK[t % 7]);
        let f = run(&y, 60);
        assert_eq!(f.model.kind, Kind::Trend);
        for (h, v) in f.daily.iter().enumerate() {
            let t = 120 + h;
            let want = (100.0 + 0.5 * t as f64) * WEEK[t % 7];
            assert!((v - want).abs() < 1e-6 * want, "day {t}: {v} vs {want}");
        }
        assert!((f.model.slope - 0.5).abs() < 1e-9);
    }

    #[test]
    fn band_contains_the_median_and_widens() {
        let y = series(200, |t| 50.0 * (1.0 + 0.1 * noise(t, 1)));
        let f = run(&y, 120);
        for i in 0..120 {
            assert!(f.lower[i] <= f.cumulative[i] && f.cumulative[i] <= f.upper[i]);
        }
        assert!(f.upper[119] - f.lower[119] > f.upper[29] - f.lower[29]);
        assert!(f.model.cv_origins >= 20, "{}", f.model.cv_origins);
    }

    #[test]
    fn short_histories_fall_back_to_the_mean_with_a_wide_band() {
        let f = run(&[10.0, 12.0, 14.0], 3);
        assert_eq!(f.model.kind, Kind::ShortHistory);
        assert_eq!(f.model.slope, 0.0);
        assert_eq!(f.model.weekday_factors, [1.0; 7]);
        assert!((f.daily[0] - 12.0).abs() < 1e-12);
        assert!((f.upper[2] - 36.0 * 1.5).abs() < 1e-9);
        assert!((f.lower[2] - 36.0 * 0.5).abs() < 1e-9);
        // 30 days: a model, but its band stays wide until enough origins check it.
        let y = series(30, |t| 100.0 * (1.0 + 0.02 * noise(t, 2)));
        let f = run(&y, 30);
        assert!(
            f.upper[29] - f.lower[29] >= 0.99 * f.cumulative[29],
            "{f:?}"
        );
    }

    #[test]
    fn spikes_do_not_bend_the_trend() {
        let mut y = series(182, |t| 100.0 * (1.0 + 0.03 * noise(t, 3)));
        y[170] = 900.0;
        let f = run(&y, 30);
        assert!(f.model.slope.abs() < 0.05, "slope {}", f.model.slope);
        // The spike's excess counts towards the level only as its average over the window.
        assert!(f.daily[0] < 115.0 && f.daily[0] > 95.0, "{}", f.daily[0]);
    }

    #[test]
    fn a_level_shift_restarts_the_fit() {
        // 100 a day, then 160 from day 200 on: the forecast follows the new level, no trend.
        let y = series(260, |t| {
            (if t < 200 { 100.0 } else { 160.0 }) * (1.0 + 0.04 * noise(t, 4))
        });
        let f = run(&y, 90);
        let cp = f
            .model
            .change_point
            .unwrap_or_else(|| panic!("{:?}", f.model));
        assert!((200..=214).contains(&cp), "change point at {cp}");
        let total = f.cumulative[89];
        assert!((total / (160.0 * 90.0) - 1.0).abs() < 0.03, "{total}");
        assert!(f.lower[89] <= 160.0 * 90.0 && 160.0 * 90.0 <= f.upper[89]);
    }

    #[test]
    fn month_start_bumps_are_detected_and_forecast() {
        // Triple cost on the 1st and 2nd of every month, on top of 5 % noise.
        let y = series(300, |t| {
            let md = month_day(MONDAY + t as i64);
            100.0 * if md < 2 { 3.0 } else { 1.0 } * (1.0 + 0.05 * noise(t, 5))
        });
        let f = run(&y, 60);
        let m = f.model.month_day_factors;
        assert!(
            (m[0] - 3.0).abs() < 0.3 && (m[1] - 3.0).abs() < 0.3,
            "{m:?}"
        );
        assert!(m[2..].iter().all(|v| *v == 1.0), "{m:?}");
        assert_eq!(
            f.model.weekday_factors, [1.0; 7],
            "no weekly pattern in the data"
        );
        for (h, v) in f.daily.iter().enumerate() {
            let big = month_day(MONDAY + 300 + h as i64) < 2;
            assert!(
                (v / if big { 300.0 } else { 100.0 } - 1.0).abs() < 0.1,
                "{h}: {v}"
            );
        }
    }

    #[test]
    fn exponential_growth_is_followed() {
        // ×3 a year: the total of the next 90 days within 5 %.
        let g = 3f64.ln() / 365.0;
        let y = series(400, |t| {
            100.0 * (g * t as f64).exp() * (1.0 + 0.05 * noise(t, 6))
        });
        let f = run(&y, 90);
        let want: f64 = (400..490).map(|t| 100.0 * (g * t as f64).exp()).sum();
        assert!(
            (f.cumulative[89] / want - 1.0).abs() < 0.05,
            "{} vs {want}",
            f.cumulative[89]
        );
    }

    #[test]
    fn rejects_bad_values_with_the_index() {
        for bad in [f64::NAN, f64::INFINITY, -1.0] {
            let e = forecast(&[1.0, bad], MONDAY, 1)
                .err()
                .map(|e| e.field().map(str::to_owned));
            assert_eq!(e, Some(Some("history[1]".into())));
        }
        let e = forecast(&[], MONDAY, 1)
            .err()
            .map(|e| (e.code(), e.field().map(str::to_owned)));
        assert_eq!(e, Some(("INVALID_INPUT", Some("history".into()))));
    }

    #[test]
    fn zeros_and_horizon_zero_are_fine() {
        let f = run(&[0.0; 100], 10);
        assert!(f.cumulative.iter().all(|v| *v == 0.0));
        let f = run(&series(100, |t| 10.0 + t as f64), 0);
        assert!(f.cumulative.is_empty());
    }

    #[test]
    fn straight_line_and_crossing() {
        let s = straight_line(300.0, 30, 5);
        assert_eq!(s, vec![10.0, 20.0, 30.0, 40.0, 50.0]);
        assert_eq!(crossing(970.0, &s, 1000.0), Some(2));
        assert_eq!(crossing(0.0, &s, 1000.0), None);
        assert_eq!(straight_line(5.0, 0, 2), vec![0.0, 0.0]);
    }
}
