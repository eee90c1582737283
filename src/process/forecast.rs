//! Spend forecast: weekly seasonality × linear trend, with a prediction band.
//!
//! The model, fitted on the last [`WINDOW_DAYS`] days of daily cost (fewer when the history is
//! shorter):
//!
//! 1. **Weekly seasonality** (≥ 14 days): the ratio of each day to its centred 7-day moving
//!    average; the factor of a weekday is the median of its ratios (robust to incident spikes),
//!    normalised so the seven factors average 1.
//! 2. **Trend** (≥ 28 days): least squares on the deseasonalised series, refitted once without
//!    the points more than 3.5 robust standard deviations (MAD) away. Shorter histories get a
//!    flat level (the deseasonalised mean): a slope from three weeks is mostly noise.
//! 3. **Forecast**: `(level + slope·x) × factor(weekday)`, never below zero.
//! 4. **Band** (90 %, ±1.645 σ of the cumulative sum): day-to-day noise plus the uncertainty of
//!    the fitted level and slope, which grows with the horizon.
//!
//! The straight line — the cost-to-date divided by the days elapsed, carried forward — is
//! [`straight_line`]; the backtest (`examples/backtest.rs`, README "Forecast") compares both.

use crate::error::{Error, Result};

/// Days of history the model looks at (13 weeks).
pub const WINDOW_DAYS: usize = 91;
/// Below this many days the weekly pattern is not estimated (factors are 1).
pub const MIN_SEASONAL_DAYS: usize = 14;
/// Below this many days no slope is fitted.
pub const MIN_TREND_DAYS: usize = 28;
/// Two-sided 90 % normal quantile.
const Z90: f64 = 1.644_853_626_951_472_2;

/// The fitted model (for display and tests).
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Days the model was fitted on.
    pub window: usize,
    /// Multiplicative factor per weekday, Monday first; they average 1.
    pub weekday_factors: [f64; 7],
    /// Deseasonalised level on the last day of the history.
    pub level: f64,
    /// Deseasonalised change per day.
    pub slope: f64,
    /// Standard deviation of the deseasonalised residuals.
    pub sigma: f64,
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

fn check(history: &[f64]) -> Result<()> {
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
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}

/// Weekday factors from the ratio-to-centred-moving-average (see the module documentation).
fn weekday_factors(y: &[f64], first_day: i64) -> [f64; 7] {
    let mut factors = [1.0; 7];
    if y.len() < MIN_SEASONAL_DAYS {
        return factors;
    }
    let mut ratios: [Vec<f64>; 7] = Default::default();
    let mut window: f64 = y[..7].iter().sum();
    for t in 3..y.len() - 3 {
        if t > 3 {
            window += y[t + 3] - y[t - 4];
        }
        let ma = window / 7.0;
        if ma > 0.0 {
            // t < y.len() ≤ i64::MAX.
            ratios[weekday(first_day + t as i64)].push(y[t] / ma);
        }
    }
    for (d, r) in ratios.iter_mut().enumerate() {
        if let Some(m) = median(r) {
            factors[d] = m;
        }
    }
    let mean = factors.iter().sum::<f64>() / 7.0;
    if mean > 0.0 {
        for f in &mut factors {
            *f /= mean;
        }
    }
    // A weekday that never costs anything keeps factor 0; guard the division below.
    factors
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

/// The trend of the deseasonalised series, with the points it kept.
struct Trend {
    z: Vec<f64>,
    keep: Vec<bool>,
    mx: f64,
    mz: f64,
    slope: f64,
}

impl Trend {
    /// Least squares, then once more without the outliers (|residual| > 3.5 robust σ).
    fn fit(y: &[f64], day0: i64, factors: &[f64; 7], with_slope: bool) -> Trend {
        let z: Vec<f64> = y
            .iter()
            .enumerate()
            .map(|(t, v)| {
                let f = factors[weekday(day0 + t as i64)];
                if f > 0.0 {
                    v / f
                } else {
                    0.0
                }
            })
            .collect();
        let mut keep = vec![true; z.len()];
        let (mut mx, mut mz, mut slope, _) = ols(&z, &keep);
        if !with_slope {
            slope = 0.0;
        }
        let mut abs: Vec<f64> = z
            .iter()
            .enumerate()
            .map(|(i, v)| (v - (mz + slope * (i as f64 - mx))).abs())
            .collect();
        let residuals = abs.clone();
        let mad = median(&mut abs).unwrap_or(0.0) * 1.4826;
        if mad > 0.0 {
            for (k, r) in keep.iter_mut().zip(&residuals) {
                *k = *r <= 3.5 * mad;
            }
            (mx, mz, slope, _) = ols(&z, &keep);
            if !with_slope {
                slope = 0.0;
            }
        }
        // Keep the slope only when it is significant (|t| ≥ 2): a flat series with noise
        // otherwise extrapolates a spurious trend over a long horizon.
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
        Trend {
            z,
            keep,
            mx,
            mz,
            slope,
        }
    }

    /// The deseasonalised trend value at x (days from the window's first day).
    fn at(&self, x: f64) -> f64 {
        self.mz + self.slope * (x - self.mx)
    }
}

/// Fits the model on `history` (daily cost, oldest first, one value per consecutive day; the
/// first value is the cost of `first_day`).
pub fn fit(history: &[f64], first_day: i64) -> Result<Model> {
    check(history)?;
    if history.is_empty() {
        return Err(Error::invalid("history", "needs at least one day of cost"));
    }
    let window = history.len().min(WINDOW_DAYS);
    let start = history.len() - window;
    let y = &history[start..];
    let day0 = first_day + start as i64;
    let mut factors = weekday_factors(y, day0);
    let mut fitted = Trend::fit(y, day0, &factors, window >= MIN_TREND_DAYS);
    if window >= MIN_SEASONAL_DAYS {
        // Refine: weekday factors against the fitted trend (the moving average is biased by a
        // trend), then refit the trend; a few rounds converge.
        for _ in 0..4 {
            let mut ratios: [Vec<f64>; 7] = Default::default();
            for (t, v) in y.iter().enumerate() {
                let base = fitted.at(t as f64);
                if base > 0.0 && fitted.keep[t] {
                    ratios[weekday(day0 + t as i64)].push(v / base);
                }
            }
            for (d, r) in ratios.iter_mut().enumerate() {
                if let Some(m) = median(r) {
                    factors[d] = m;
                }
            }
            let mean = factors.iter().sum::<f64>() / 7.0;
            if mean > 0.0 {
                for f in &mut factors {
                    *f /= mean;
                }
            }
            fitted = Trend::fit(y, day0, &factors, window >= MIN_TREND_DAYS);
        }
    }
    let Trend {
        z,
        keep,
        mx,
        mz,
        slope,
    } = fitted;
    let resid = |mx: f64, mz: f64, slope: f64| -> Vec<f64> {
        z.iter()
            .enumerate()
            .map(|(i, v)| v - (mz + slope * (i as f64 - mx)))
            .collect()
    };
    let r = resid(mx, mz, slope);
    let kept: Vec<f64> = r
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(v, _)| *v)
        .collect();
    let dof = kept
        .len()
        .saturating_sub(if window >= MIN_TREND_DAYS { 2 } else { 1 });
    let sigma = if dof > 0 {
        (kept.iter().map(|v| v * v).sum::<f64>() / dof as f64).sqrt()
    } else {
        0.0
    };
    let last_x = (window - 1) as f64;
    Ok(Model {
        window,
        weekday_factors: factors,
        level: mz + slope * (last_x - mx),
        slope,
        sigma,
    })
}

/// Forecasts `horizon` days after `history` (see [`fit`]).
pub fn forecast(history: &[f64], first_day: i64, horizon: usize) -> Result<Forecast> {
    let model = fit(history, first_day)?;
    let n = model.window as f64;
    // x measured from the last fitted day; the fitted points sit at x = -(n-1) … 0, mean
    // -(n-1)/2, Sxx = n(n²-1)/12.
    let mean_x = -(n - 1.0) / 2.0;
    let sxx = n * (n * n - 1.0) / 12.0;
    let trend = model.window >= MIN_TREND_DAYS;
    let next_day = first_day + history.len() as i64;
    let mut out = Forecast {
        model,
        daily: Vec::with_capacity(horizon),
        cumulative: Vec::with_capacity(horizon),
        lower: Vec::with_capacity(horizon),
        upper: Vec::with_capacity(horizon),
    };
    let m = &out.model;
    let (mut cum, mut noise, mut sum_s, mut sum_sx) = (0.0, 0.0, 0.0, 0.0);
    for h in 1..=horizon {
        let s = m.weekday_factors[weekday(next_day + h as i64 - 1)];
        let x = h as f64;
        let value = (m.level + m.slope * x).max(0.0) * s;
        cum += value;
        noise += s * s;
        sum_s += s;
        sum_sx += s * (x - mean_x);
        let mut var = noise + sum_s * sum_s / n;
        if trend && sxx > 0.0 {
            var += sum_sx * sum_sx / sxx;
        }
        let half = Z90 * m.sigma * var.sqrt();
        out.daily.push(value);
        out.cumulative.push(cum);
        out.lower.push((cum - half).max(0.0));
        out.upper.push(cum + half);
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

    const WEEK: [f64; 7] = [1.1, 1.1, 1.1, 1.1, 1.1, 0.75, 0.75];

    #[test]
    fn weekday_of_known_dates() {
        assert_eq!(weekday(0), 3); // 1970-01-01, Thursday
        assert_eq!(weekday(MONDAY), 0);
        assert_eq!(weekday(MONDAY - 1), 6);
    }

    #[test]
    fn recovers_a_noise_free_trend_with_weekly_pattern_exactly() {
        let y = series(120, |t| (100.0 + 0.5 * t as f64) * WEEK[t % 7]);
        let f = forecast(&y, MONDAY, 60).unwrap_or_else(|e| panic!("{e}"));
        for (h, v) in f.daily.iter().enumerate() {
            let t = 120 + h;
            let want = (100.0 + 0.5 * t as f64) * WEEK[t % 7];
            assert!((v - want).abs() < 1e-6 * want, "day {t}: {v} vs {want}");
        }
        assert!(f.model.sigma < 1e-9);
        assert!((f.model.slope - 0.5).abs() < 1e-9);
    }

    #[test]
    fn band_contains_the_median_and_widens() {
        let y = series(100, |t| 50.0 + ((t * 7919) % 13) as f64);
        let f = forecast(&y, MONDAY, 30).unwrap_or_else(|e| panic!("{e}"));
        for i in 0..30 {
            assert!(f.lower[i] <= f.cumulative[i] && f.cumulative[i] <= f.upper[i]);
        }
        assert!(f.upper[29] - f.lower[29] > f.upper[0] - f.lower[0]);
    }

    #[test]
    fn short_histories_are_flat_and_unseasoned() {
        let y = [10.0, 12.0, 14.0];
        let f = forecast(&y, MONDAY, 3).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.model.slope, 0.0);
        assert_eq!(f.model.weekday_factors, [1.0; 7]);
        assert!((f.daily[0] - 12.0).abs() < 1e-12);
    }

    #[test]
    fn spikes_do_not_bend_the_trend() {
        let mut y = series(91, |_| 100.0);
        y[80] = 900.0;
        let f = forecast(&y, MONDAY, 10).unwrap_or_else(|e| panic!("{e}"));
        assert!(f.model.slope.abs() < 0.05, "slope {}", f.model.slope);
    }

    #[test]
    fn rejects_bad_values_with_the_index() {
        for bad in [f64::NAN, f64::INFINITY, -1.0] {
            let e = forecast(&[1.0, bad], MONDAY, 1)
                .err()
                .map(|e| e.field().map(str::to_owned));
            assert_eq!(e, Some(Some("history[1]".into())));
        }
        assert!(forecast(&[], MONDAY, 1).is_err());
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
