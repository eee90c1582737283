//! Integer micro-units (10⁻⁶ of the currency) and the largest-remainder split (contract §2f).

use crate::money::{div_round_half_even, Amount};

/// 10⁻¹² units of [`Amount`] per micro-unit.
const AMOUNT_PER_MICRO: i128 = 1_000_000;
/// A share of 1 in [`Amount`] units (a `percentage` of 1.0).
pub const ONE_SHARE: i128 = 1_000_000_000_000;
/// 1e-9 in [`Amount`] units: Σ percentage up to 1 + 1e-9 is accepted and counts as 1.
pub const SHARE_TOLERANCE: i128 = 1_000;
/// Weights are scaled down below this so `micros × weight` stays far inside i128.
const MAX_WEIGHT: i128 = 1_000_000_000_000_000_000;

/// The micro-units of a finite `f64`, read as its shortest decimal and rounded half to even.
/// `None` for NaN, ±∞ and magnitudes over 10²⁴.
pub fn micros_from_f64(v: f64) -> Option<i128> {
    // Fast path: `v`·10⁶ within 0.01 of an integer below 2⁴⁰ (ulp ≤ 2⁻¹², and `v` within
    // 1.2·10⁻⁴ micro-units of its shortest decimal): that decimal rounds to the same integer,
    // with no tie. Everything else (and NaN, ±∞) takes the exact path.
    let x = v * 1e6;
    if x.abs() < 1_099_511_627_776.0 {
        let r = x.round();
        if (x - r).abs() < 0.01 {
            return Some(r as i128);
        }
    }
    let a = Amount::from_f64(v)?;
    Some(div_round_half_even(a.0, AMOUNT_PER_MICRO))
}

/// The nearest `f64` to `micros` × 10⁻⁶ (via the exact decimal).
pub fn micros_to_f64(micros: i128) -> f64 {
    // Fast path: below 2⁵³ both operands are exact and IEEE division is correctly rounded
    // (to nearest, ties to even): the nearest f64 to the exact quotient, as the exact path.
    if micros.unsigned_abs() <= 1 << 53 {
        return micros as f64 / 1e6;
    }
    Amount(micros.saturating_mul(AMOUNT_PER_MICRO)).to_f64()
}

/// `micros` as a decimal string with six fractional digits trimmed (`103.333333`, `-0.5`, `7`).
pub fn micros_to_string(micros: i128) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let abs = micros.unsigned_abs();
    let (int, frac) = (abs / 1_000_000, abs % 1_000_000);
    if frac == 0 {
        return format!("{sign}{int}");
    }
    let f = format!("{frac:06}");
    format!("{sign}{int}.{}", f.trim_end_matches('0'))
}

/// Scales non-negative weights down (by powers of ten, rounding half to even) until the largest
/// is at most 10¹⁸, so the split's products cannot overflow. Order and proportions are kept to
/// 18 significant digits.
pub fn bound_weights(weights: &mut [i128]) {
    while weights.iter().any(|w| *w > MAX_WEIGHT) {
        for w in weights.iter_mut() {
            *w = div_round_half_even(*w, 10);
        }
    }
}

/// Splits `total` micro-units over `weights` (each in 0..=10¹⁸, see [`bound_weights`]; in
/// destination order; |total| at most 10¹⁸) when the whole corresponds to `denominator`
/// (positive, at least Σ weights). Shares are ⌊|total|·wᵢ/denominator⌋; the micro-units still
/// missing to reach ⌊|total|·Σw/denominator⌋ go one each to the largest remainders, ties to the
/// earlier destination. Returns the shares (with the sign of `total`); `total − Σ shares` is the
/// caller's unallocated remainder. With `denominator == Σ weights` the shares sum to `total`.
pub fn largest_remainder(total: i128, weights: &[i128], denominator: i128) -> Vec<i128> {
    let mut shares = Vec::with_capacity(weights.len());
    largest_remainder_into(total, weights, denominator, &mut shares, &mut Vec::new());
    shares
}

/// [`largest_remainder`] into `shares` (cleared first), with `rems` as scratch: no allocation
/// once the buffers have grown (the engine calls it once per source line).
pub fn largest_remainder_into(
    total: i128,
    weights: &[i128],
    denominator: i128,
    shares: &mut Vec<i128>,
    rems: &mut Vec<(i128, usize)>,
) {
    shares.clear();
    rems.clear();
    if denominator <= 0 || weights.is_empty() {
        shares.resize(weights.len(), 0);
        return;
    }
    let neg = total < 0;
    let abs = total.unsigned_abs() as i128;
    let sum_w: i128 = weights.iter().sum();
    for (i, w) in weights.iter().enumerate() {
        let n = abs.saturating_mul(*w);
        shares.push(n / denominator);
        rems.push((n % denominator, i));
    }
    let target = if sum_w >= denominator {
        abs
    } else {
        abs.saturating_mul(sum_w) / denominator
    };
    let floor_sum: i128 = shares.iter().sum();
    let mut missing = target - floor_sum;
    // Largest remainder first; equal remainders: earlier destination first.
    rems.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(r, i) in rems.iter() {
        if missing <= 0 {
            break;
        }
        if r > 0 {
            shares[i] += 1;
            missing -= 1;
        }
    }
    if neg {
        for s in shares.iter_mut() {
            *s = -*s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros() {
        assert_eq!(micros_from_f64(0.1), Some(100_000));
        assert_eq!(micros_from_f64(1e-7), Some(0));
        assert_eq!(micros_from_f64(-2.5), Some(-2_500_000));
        assert_eq!(micros_from_f64(f64::NAN), None);
        assert_eq!(micros_to_f64(103_333_333), 103.333333);
        assert_eq!(micros_to_string(46_666_667), "46.666667");
        assert_eq!(micros_to_string(-500_000), "-0.5");
    }

    /// The fast paths equal the exact ones (`Amount`) on a spread of values, ties included.
    #[test]
    fn fast_paths_equal_the_exact_paths() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let exact_from =
            |v: f64| Amount::from_f64(v).map(|a| div_round_half_even(a.0, AMOUNT_PER_MICRO));
        let exact_to = |m: i128| Amount(m * AMOUNT_PER_MICRO).to_f64();
        let mut values = vec![
            0.0000005, 0.0000015, 0.0000025, -0.0000005, 1.0000005, 2.5e-7, 1e-7,
        ];
        for _ in 0..200_000 {
            let r = next();
            let scale = 10f64.powi((r % 14) as i32 - 6);
            values.push(
                (r >> 11) as f64 / (1u64 << 53) as f64
                    * scale
                    * if r & 1 == 0 { 1.0 } else { -1.0 },
            );
            values.push(((r >> 20) % 50_000_000) as f64 / 1e6);
        }
        for v in values {
            assert_eq!(micros_from_f64(v), exact_from(v), "{v}");
        }
        for _ in 0..200_000 {
            let r = next();
            let m = (r >> (r % 40)) as i128 * if r & 2 == 0 { 1 } else { -1 };
            let m = m % (1 << 54);
            assert_eq!(micros_to_f64(m).to_bits(), exact_to(m).to_bits(), "{m}");
        }
    }

    #[test]
    fn split_conserves_and_breaks_ties_in_order() {
        let s = largest_remainder(150_000_000, &[310, 140], 450);
        assert_eq!(s, vec![103_333_333, 46_666_667]);
        let s = largest_remainder(10_000_000, &[4, 2], 6);
        assert_eq!(s, vec![6_666_667, 3_333_333]);
        let s = largest_remainder(1, &[1, 1, 1], 3);
        assert_eq!(s, vec![1, 0, 0]);
        let s = largest_remainder(-100, &[1, 1, 1], 3);
        assert_eq!(s.iter().sum::<i128>(), -100);
        assert_eq!(s, vec![-34, -33, -33]);
        // Partial: 0.5 of 10 with 0.25/0.25 over a denominator of 1.
        let s = largest_remainder(10, &[25, 25], 100);
        assert_eq!(s, vec![3, 2]);
    }
}
