//! Exact money arithmetic. An [`Amount`] is an integer count of 10⁻¹² currency units, built from
//! the shortest decimal that round-trips the `f64` (what the API's JSON text said, and what
//! `JSON.stringify` prints). Sums are exact decimal sums; only the final conversion back to
//! `f64` rounds (to the nearest double). So 0.1 + 0.2 is 0.3, to the cent and far below.

/// Fractional digits kept.
pub const SCALE_DIGITS: i32 = 12;
const SCALE: i128 = 1_000_000_000_000;
/// Largest magnitude accepted (10²⁴ units — far above any bill, far below i128 limits).
const MAX_UNITS: i128 = SCALE * 1_000_000_000_000_000_000_000_000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(pub i128);

impl Amount {
    pub const ZERO: Amount = Amount(0);

    /// The amount of a finite `f64`, read as its shortest round-trip decimal; digits beyond
    /// 10⁻¹² are rounded half to even. `None` for NaN, ±∞ and magnitudes over 10²⁴.
    pub fn from_f64(v: f64) -> Option<Amount> {
        if !v.is_finite() {
            return None;
        }
        if v == 0.0 {
            return Some(Amount::ZERO);
        }
        let mut buf = zmij::Buffer::new();
        let s = buf.format_finite(v);
        let (neg, s) = match s.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, s),
        };
        let (digits_part, mut exp10) = match s.bytes().position(|c| c == b'e' || c == b'E') {
            Some(i) => (&s[..i], s[i + 1..].parse::<i32>().ok()?),
            None => (s, 0),
        };
        // The significant digits without trailing zeros (a shortest round-trip decimal has at
        // most 17: a u64) and the power of ten that scales them. Hot: once per cost record.
        let (mut mantissa, mut zeros, mut seen_dot) = (0u64, 0u32, false);
        for c in digits_part.bytes() {
            match c {
                b'.' => seen_dot = true,
                b'0'..=b'9' => {
                    if seen_dot {
                        exp10 -= 1;
                    }
                    if c == b'0' {
                        zeros += 1;
                    } else {
                        for _ in 0..zeros {
                            mantissa = mantissa.checked_mul(10)?;
                        }
                        mantissa = mantissa.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
                        zeros = 0;
                    }
                }
                _ => return None,
            }
        }
        let shift = exp10.checked_add(i32::try_from(zeros).ok()?)? + SCALE_DIGITS;
        let units = if shift >= 0 {
            if shift > 36 {
                return None;
            }
            i128::from(mantissa).checked_mul(10i128.checked_pow(shift.unsigned_abs())?)?
        } else {
            // 10²⁰ > 2 · u64::MAX: below half a unit, rounds to 0.
            match 10u64.checked_pow(shift.unsigned_abs()) {
                None => 0,
                Some(d) => {
                    let (q, r) = (mantissa / d, mantissa % d);
                    // r · 2 against d without overflow: r against d − r.
                    let up = r > d - r || (r == d - r && q % 2 == 1);
                    i128::from(q + u64::from(up))
                }
            }
        };
        if units > MAX_UNITS {
            return None;
        }
        Some(Amount(if neg { -units } else { units }))
    }

    /// The nearest `f64` to the exact decimal amount (ties to even), in integer arithmetic:
    /// units / 10¹² = (units / 5¹²) · 2⁻¹², so the quotient by 5¹² is taken with at least 55
    /// significant bits plus a sticky remainder, rounded to 53 bits, and scaled by a power of
    /// two (exact). Hot: once per cost record; no text, no `u128` division.
    pub fn to_f64(self) -> f64 {
        /// 5¹²: 10¹² without its factor 2¹².
        const FIVE_POW: u64 = 244_140_625;
        let x = self.0.unsigned_abs();
        if x == 0 {
            return 0.0;
        }
        // y = x · 2^s has ≥ 83 bits, so y / 5¹² (5¹² < 2²⁸) has ≥ 55.
        let s = 83u32.saturating_sub(128 - x.leading_zeros());
        let (q, rest) = div_by_u32(x << s, FIVE_POW);
        let drop = (128 - q.leading_zeros()) - 53;
        let mut mantissa = (q >> drop) as u64;
        let low = q & ((1u128 << drop) - 1);
        let half = 1u128 << (drop - 1);
        if low > half || (low == half && (rest != 0 || mantissa & 1 == 1)) {
            mantissa += 1; // 2⁵³ at most: still exact
        }
        // The exponent is within -100..40 for any u128: a normal power of two.
        let exp = i64::from(drop) - i64::from(s) - i64::from(SCALE_DIGITS);
        let v = mantissa as f64 * f64::from_bits(((1023 + exp) as u64) << 52);
        if self.0 < 0 {
            -v
        } else {
            v
        }
    }

    /// `self` as a percentage of `whole`, exact to 10⁻¹² before the final rounding to `f64`.
    /// `None` when `whole` is zero or negative.
    pub fn percent_of(self, whole: Amount) -> Option<f64> {
        if whole.0 <= 0 {
            return None;
        }
        match self.0.checked_mul(100 * SCALE) {
            Some(n) => Some(Amount(div_round_half_even(n, whole.0)).to_f64()),
            None => Some(self.to_f64() / whole.to_f64() * 100.0),
        }
    }

    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }

    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).map(Amount)
    }

    /// The amount rounded half to even to cents, as `-1234.57` (integer arithmetic: no float
    /// formatter).
    pub fn to_cents_text(self) -> String {
        let cents = div_round_half_even(self.0, SCALE / 100);
        let sign = if cents < 0 { "-" } else { "" };
        let c = cents.unsigned_abs();
        format!("{sign}{}.{:02}", c / 100, c % 100)
    }
}

/// `y / d` and its remainder for `0 < d < 2³²`, by 32-bit limbs in `u64` arithmetic (wasm32
/// has no native 128-bit division).
fn div_by_u32(y: u128, d: u64) -> (u128, u64) {
    const LOW32: u64 = 0xffff_ffff;
    let hi = (y >> 64) as u64;
    let (q2, r) = (hi / d, hi % d);
    let mid = (r << 32) | ((y >> 32) as u64 & LOW32);
    let (q1, r) = (mid / d, mid % d);
    let low = (r << 32) | (y as u64 & LOW32);
    let (q0, r) = (low / d, low % d);
    (
        (u128::from(q2) << 64) | (u128::from(q1) << 32) | u128::from(q0),
        r,
    )
}

/// `n / d` rounded half to even (`d > 0`).
pub(crate) fn div_round_half_even(n: i128, d: i128) -> i128 {
    let (q, r) = (n.div_euclid(d), n.rem_euclid(d));
    let twice = r * 2;
    if twice > d || (twice == d && q % 2 != 0) {
        q + 1
    } else {
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(v: f64) -> Amount {
        Amount::from_f64(v).unwrap_or_else(|| panic!("{v}"))
    }

    #[test]
    fn decimal_sums_are_exact() {
        assert_eq!(a(0.1).checked_add(a(0.2)).map(Amount::to_f64), Some(0.3));
        let mut sum = Amount::ZERO;
        for _ in 0..1000 {
            sum = sum.checked_add(a(0.1)).unwrap_or_else(|| panic!());
        }
        assert_eq!(sum.to_f64(), 100.0);
        assert_eq!(a(0.0098).0, 9_800_000_000);
        assert_eq!(a(27328.8794184588).to_f64(), 27328.8794184588);
    }

    #[test]
    fn exponents_signs_and_rounding() {
        assert_eq!(a(1e-7).0, 100_000);
        assert_eq!(a(1.5e21).0, 1_500_000_000_000_000_000_000 * SCALE);
        assert_eq!(a(-2.5).0, -2_500_000_000_000);
        assert_eq!(a(5e-13).0, 0, "half to even: 0.5 units → 0");
        assert_eq!(a(1.5e-12).0, 2, "half to even: 1.5 units → 2");
        assert_eq!(a(1e-300).0, 0);
        assert_eq!(a(-0.0).0, 0);
        assert_eq!(Amount::from_f64(f64::NAN), None);
        assert_eq!(Amount::from_f64(f64::INFINITY), None);
        assert_eq!(Amount::from_f64(1e30), None);
        assert_eq!(a(-1234.5678).to_f64(), -1234.5678);
        // Large magnitudes: exponent forms and long digit strings.
        assert_eq!(a(1e20).0, 100_000_000_000_000_000_000 * SCALE);
        assert_eq!(
            a(123456789012345680000.0).0,
            123_456_789_012_345_680_000 * SCALE
        );
    }

    #[test]
    fn percentages_are_decimal() {
        assert_eq!(a(3.5).percent_of(a(1000.0)), Some(0.35));
        assert_eq!(a(1.0).percent_of(a(3.0)), Some(33.333333333333));
        assert_eq!(a(1.0).percent_of(Amount::ZERO), None);
    }

    /// The oracle: the decimal text `-int.frac` read by the correctly rounded `str::parse`.
    fn via_text(units: i128) -> f64 {
        let abs = units.unsigned_abs();
        let sign = if units < 0 { "-" } else { "" };
        let text = format!("{sign}{}.{:012}", abs / SCALE as u128, abs % SCALE as u128);
        text.parse::<f64>().unwrap_or(f64::NAN)
    }

    #[test]
    fn to_f64_matches_the_decimal_text() {
        let two53 = 1i128 << 53;
        for units in [
            0i128,
            1,
            -1,
            2,
            999_999_999_999,
            1_000_000_000_000,
            1_000_000_000_001,
            -123_456_789_012_345_678,
            two53 * SCALE + 1,
            // Exact ties between two doubles: half to even, both directions.
            (two53 + 1) * SCALE,
            (two53 + 3) * SCALE,
            -(two53 + 1) * SCALE,
            (two53 + 1) * SCALE + 1,
            (two53 + 1) * SCALE - 1,
            // Just above and below 1.
            SCALE + 1,
            SCALE - 1,
            1_000_000_000_000_000_000 * SCALE + 5,
            MAX_UNITS,
            -MAX_UNITS + 7,
            i128::MAX,
            i128::MIN + 1,
            i128::MIN,
        ] {
            assert_eq!(Amount(units).to_f64(), via_text(units), "{units}");
        }
        assert_eq!(
            Amount((two53 + 1) * SCALE).to_f64(),
            9_007_199_254_740_992.0
        );
        assert_eq!(
            Amount((two53 + 3) * SCALE).to_f64(),
            9_007_199_254_740_996.0
        );
        assert_eq!(Amount(0).to_f64().to_bits(), 0.0f64.to_bits());
    }

    /// The oracle of `from_f64`: ryu's shortest decimal (a second, independent printer: from_f64
    /// reads zmij's) as a digit string moved by its exponent, cut at 12 decimals and rounded half
    /// to even by hand. Native only (ryu is a native dev-dependency).
    #[cfg(not(target_arch = "wasm32"))]
    fn units_via_text(v: f64) -> Option<i128> {
        let text = ryu::Buffer::new().format_finite(v).to_string();
        let (neg, text) = match text.strip_prefix('-') {
            Some(r) => (true, r.to_string()),
            None => (false, text),
        };
        let (mantissa, exp) = match text.split_once('e') {
            Some((m, e)) => (m.to_string(), e.parse::<i64>().ok()?),
            None => (text, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((&mantissa, ""));
        let digits = format!("{int}{frac}");
        let point = int.len() as i64 + exp + 12; // position of the unit digit's end
        let padded = if point > digits.len() as i64 {
            format!(
                "{digits}{}",
                "0".repeat((point - digits.len() as i64) as usize)
            )
        } else {
            digits.clone()
        };
        let (kept, dropped) = if point <= 0 {
            (
                String::from("0"),
                format!("{}{digits}", "0".repeat((-point) as usize)),
            )
        } else {
            let (k, d) = padded.split_at(point as usize);
            (k.to_string(), d.to_string())
        };
        let mut units: i128 = kept.parse().ok()?;
        let first = dropped.bytes().next().unwrap_or(b'0');
        let rest_nonzero = dropped.bytes().skip(1).any(|b| b != b'0');
        if first > b'5' || (first == b'5' && (rest_nonzero || units % 2 == 1)) {
            units += 1;
        }
        if units > MAX_UNITS {
            return None;
        }
        Some(if neg { -units } else { units })
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn from_f64_matches_the_text_oracle() {
        for v in [
            1e-7,
            5e-13,
            1.5e-12,
            2.5e-12,
            1e-300,
            0.1,
            1.005,
            1e20,
            1.5e21,
            1e24,
            1.0000000000000002e24,
            123456.789,
            9007199254740993.0,
            27328.8794184588,
            -0.0098,
            1e-12,
            4.9999999999999e-13,
        ] {
            assert_eq!(Amount::from_f64(v).map(|a| a.0), units_via_text(v), "{v}");
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]
        #[test]
        fn to_f64_is_the_nearest_double(units in proptest::prelude::any::<i128>(), bits in 0u32..128) {
            // Every magnitude: shift a random value down to a random bit length.
            let units = units >> bits;
            proptest::prop_assert_eq!(Amount(units).to_f64(), via_text(units), "{}", units);
        }

        #[test]
        fn from_f64_is_the_rounded_shortest_decimal(bits in proptest::prelude::any::<u64>()) {
            // Every finite double: random bit patterns.
            let v = f64::from_bits(bits);
            proptest::prop_assume!(v.is_finite() && v != 0.0);
            proptest::prop_assert_eq!(Amount::from_f64(v).map(|a| a.0), units_via_text(v), "{}", v);
        }

        #[test]
        fn from_f64_on_money_sized_values(v in -1e13f64..1e13, scale in 0i32..20) {
            let v = v / 10f64.powi(scale);
            proptest::prop_assert_eq!(Amount::from_f64(v).map(|a| a.0), units_via_text(v), "{}", v);
        }

        #[test]
        fn to_f64_round_trips_shortest_decimals(v in -1e15f64..1e15) {
            let a = Amount::from_f64(v).unwrap_or(Amount::ZERO);
            proptest::prop_assert_eq!(a.to_f64(), via_text(a.0));
        }
    }

    #[test]
    fn round_trips_every_short_decimal() {
        for v in [
            0.01,
            0.07,
            1.005,
            123456.789,
            9007199254740991.0,
            0.123456789012,
            42.0,
        ] {
            assert_eq!(a(v).to_f64(), v);
        }
    }
}
