//! Deterministic `event.id`: the same natural key always gives the same id, so a repeated sync
//! sends the same ids and dashboards can `dedup` on them.

const FNV128_OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
const FNV128_PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;

/// FNV-1a (128 bit) over the parts, each followed by a 0x1f separator so that
/// `("ab","c")` and `("a","bc")` differ.
fn fnv1a128(parts: &[&str]) -> u128 {
    let mut h = FNV128_OFFSET;
    for p in parts {
        for &b in p.as_bytes().iter().chain(std::iter::once(&0x1f)) {
            h ^= u128::from(b);
            h = h.wrapping_mul(FNV128_PRIME);
        }
    }
    h
}

/// A UUID-shaped id (version 8, "custom") from the natural key parts.
pub fn event_id(parts: &[&str]) -> String {
    let mut v = fnv1a128(parts);
    v = (v & !(0xf << 76)) | (0x8 << 76); // version 8
    v = (v & !(0x3 << 62)) | (0x2 << 62); // RFC 4122 variant
    let hex = format!("{v:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
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
    }
}
