//! Deterministic `event.id`: the same natural key always gives the same id, so a repeated sync
//! sends the same ids and dashboards can `dedup` on them.

const FNV128_OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
#[cfg(test)]
const FNV128_PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;

/// FNV-1a (128 bit) over the parts, each followed by a 0x1f separator so that
/// `("ab","c")` and `("a","bc")` differ.
fn fnv1a128(parts: &[&str]) -> u128 {
    parts.iter().fold(FNV128_OFFSET, |h, p| fnv_part(h, p))
}

/// One part and its separator. The 128-bit multiply by the prime (2⁸⁸ + 0x13b) is done on four
/// 32-bit limbs as h·0x13b + (h << 88): wasm has no 128-bit multiply, and the generic one
/// (`__multi3`) per byte was the largest item of the cost pipeline's profile.
fn fnv_part(h: u128, part: &str) -> u128 {
    const M: u64 = 0xffff_ffff;
    let mut l = [
        h as u64 & M,
        (h >> 32) as u64 & M,
        (h >> 64) as u64 & M,
        (h >> 96) as u64 & M,
    ];
    for &b in part.as_bytes().iter().chain(std::iter::once(&0x1f)) {
        l[0] ^= u64::from(b);
        let t0 = l[0] * 0x13b;
        let t1 = l[1] * 0x13b + (t0 >> 32);
        let t2 = l[2] * 0x13b + (t1 >> 32) + ((l[0] << 24) & M);
        let t3 = l[3] * 0x13b + (t2 >> 32) + (((l[1] << 24) | (l[0] >> 8)) & M);
        l = [t0 & M, t1 & M, t2 & M, t3 & M];
    }
    u128::from(l[0]) | u128::from(l[1]) << 32 | u128::from(l[2]) << 64 | u128::from(l[3]) << 96
}

/// The 36 bytes of the UUID-shaped id of a hash.
fn id_bytes(v: u128) -> [u8; 36] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hi = (v >> 64) as u64;
    let mut lo = v as u64;
    hi = (hi & !(0xf << 12)) | (0x8 << 12); // version 8 (bits 76-79)
    lo = (lo & !(0x3 << 62)) | (0x2 << 62); // RFC 4122 variant (bits 62-63)
    let mut out = [b'-'; 36];
    let mut nibble = 0u32;
    for (i, slot) in out.iter_mut().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            continue;
        }
        let word = if nibble < 16 { hi } else { lo };
        *slot = HEX[((word >> (60 - 4 * (nibble % 16))) & 0xf) as usize];
        nibble += 1;
    }
    out
}

/// A UUID-shaped id (version 8, "custom") from the natural key parts.
pub fn event_id(parts: &[&str]) -> String {
    String::from_utf8_lossy(&id_bytes(fnv1a128(parts))).into_owned()
}

/// The hash state after a fixed key prefix (event type, account, subscription): ids of many
/// events that share it cost only their own parts. `prefix.id(&[day])` equals
/// `event_id(&[type, account, subscription, day])`.
#[derive(Debug, Clone, Copy)]
pub struct EventIdPrefix(u128);

impl EventIdPrefix {
    pub fn new(parts: &[&str]) -> Self {
        EventIdPrefix(fnv1a128(parts))
    }

    /// The id's 36 ASCII bytes, without allocating.
    pub fn id(&self, rest: &[&str]) -> [u8; 36] {
        id_bytes(rest.iter().fold(self.0, |h, p| fnv_part(h, p)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_shaped_and_separated() {
        let a = event_id(&["dps.cost2.booked", "acc", "sub", "2024-10-22"]);
        assert_eq!(
            a,
            event_id(&["dps.cost2.booked", "acc", "sub", "2024-10-22"])
        );
        assert_ne!(
            a,
            event_id(&["dps.cost2.booked", "acc", "sub", "2024-10-23"])
        );
        assert_ne!(event_id(&["ab", "c"]), event_id(&["a", "bc"]));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "8");
        assert!(crate::validate::check_uuid("id", &a).is_ok());
        // Pinned: ids must never change between releases, or Grail gets duplicates.
        assert_eq!(event_id(&["x"]), "0880955b-30ab-8be9-9aa0-733055c49bf8");
        let prefix = EventIdPrefix::new(&["dps.cost2.booked", "acc", "sub"]);
        assert_eq!(prefix.id(&["2024-10-22"]), a.as_bytes());
        assert_eq!(
            EventIdPrefix::new(&[]).id(&["x"]),
            event_id(&["x"]).as_bytes()
        );
        // The limb arithmetic is the plain 128-bit FNV-1a.
        let reference = |parts: &[&str]| {
            let mut h = FNV128_OFFSET;
            for p in parts {
                for &b in p.as_bytes().iter().chain(std::iter::once(&0x1f)) {
                    h ^= u128::from(b);
                    h = h.wrapping_mul(FNV128_PRIME);
                }
            }
            h
        };
        for parts in [
            &["x"][..],
            &["dps.cost2.booked", "ü€𝄞", "", "2024-10-22"],
            &[],
        ] {
            assert_eq!(fnv1a128(parts), reference(parts));
        }
    }
}
