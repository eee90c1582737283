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
        let mut buf = ryu::Buffer::new();
        let s = buf.format_finite(v);
        let (neg, s) = match s.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, s),
        };
        let (digits_part, exp) = match s.bytes().position(|c| c == b'e' || c == b'E') {
            Some(i) => (&s[..i], s[i + 1..].parse::<i32>().ok()?),
            None => (s, 0),
        };
        // Digits in a u64 while they fit (17 significant digits always do; wasm has no native
        // 128-bit multiply), in an i128 beyond.
        let mut narrow: u64 = 0;
        let mut wide: Option<i128> = None;
        let mut frac_digits = 0i32;
        let mut seen_dot = false;
        for c in digits_part.bytes() {
            match c {
                b'.' => seen_dot = true,
                b'0'..=b'9' => {
                    let d = c - b'0';
                    wide = match wide {
                        Some(w) => Some(w * 10 + i128::from(d)),
                        None => match narrow
                            .checked_mul(10)
                            .and_then(|x| x.checked_add(u64::from(d)))
                        {
                            Some(x) => {
                                narrow = x;
                                None
                            }
                            None => Some(i128::from(narrow) * 10 + i128::from(d)),
                        },
                    };
                    if seen_dot {
                        frac_digits += 1;
                    }
                }
                _ => return None,
            }
        }
        let mantissa = wide.unwrap_or(i128::from(narrow));
        let shift = exp - frac_digits + SCALE_DIGITS;
        let units = if shift >= 0 {
            if shift > 36 {
                return None;
            }
            mantissa.checked_mul(10i128.pow(shift as u32))?
        } else {
            let down = -shift;
            if down > 38 {
                0
            } else {
                let d = 10i128.pow(down as u32);
                let (q, r) = (mantissa / d, mantissa % d);
                let twice = r * 2;
                if twice > d || (twice == d && q % 2 == 1) {
                    q + 1
                } else {
                    q
                }
            }
        };
        if units > MAX_UNITS {
            return None;
        }
        Some(Amount(if neg { -units } else { units }))
    }

    /// The nearest `f64` to the exact decimal amount.
    pub fn to_f64(self) -> f64 {
        let abs = self.0.unsigned_abs();
        let int = abs / SCALE as u128;
        let frac = abs % SCALE as u128;
        if frac == 0 && int < (1u128 << 53) {
            let v = int as f64;
            return if self.0 < 0 { -v } else { v };
        }
        // `-int.frac` written on the stack (hot: once per cost record), then read by the
        // correctly rounded `str::parse`. int < 10²⁴ needs at most two u64 chunks.
        fn push_digits(buf: &mut [u8; 48], i: &mut usize, mut n: u64, min: usize) {
            let mut written = 0;
            while n > 0 || written < min {
                *i -= 1;
                buf[*i] = b'0' + (n % 10) as u8;
                n /= 10;
                written += 1;
            }
        }
        const E18: u128 = 1_000_000_000_000_000_000;
        let mut buf = [0u8; 48];
        let mut i = buf.len();
        push_digits(&mut buf, &mut i, frac as u64, 12);
        i -= 1;
        buf[i] = b'.';
        if int >= E18 {
            push_digits(&mut buf, &mut i, (int % E18) as u64, 18);
            push_digits(&mut buf, &mut i, (int / E18) as u64, 1);
        } else {
            push_digits(&mut buf, &mut i, int as u64, 1);
        }
        if self.0 < 0 {
            i -= 1;
            buf[i] = b'-';
        }
        std::str::from_utf8(&buf[i..])
            .ok()
            .and_then(|t| t.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
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
        // Digit strings past u64 (ryu prints 1e20 as 21 digits).
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

    #[test]
    fn to_f64_matches_the_decimal_text() {
        for units in [
            1i128,
            -1,
            999_999_999_999,
            1_000_000_000_001,
            -123_456_789_012_345_678,
            (1i128 << 53) * SCALE + 1,
            1_000_000_000_000_000_000 * SCALE + 5,
            MAX_UNITS,
            -MAX_UNITS + 7,
        ] {
            let abs = units.unsigned_abs();
            let sign = if units < 0 { "-" } else { "" };
            let text = format!("{sign}{}.{:012}", abs / SCALE as u128, abs % SCALE as u128);
            assert_eq!(
                Amount(units).to_f64(),
                text.parse::<f64>().unwrap_or(f64::NAN),
                "{text}"
            );
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
