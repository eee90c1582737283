//! Checks on caller-supplied identifiers.

use crate::error::{Error, Result};

/// A UUID in its 8-4-4-4-12 hex form, returned lower-cased.
pub fn check_uuid(field: &str, value: &str) -> Result<String> {
    let b = value.as_bytes();
    let ok = b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        });
    if ok {
        Ok(value.to_ascii_lowercase())
    } else {
        let shown: String = value.chars().take(48).collect();
        Err(Error::invalid(
            field,
            format!("`{shown}` is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"),
        ))
    }
}

/// An identifier that goes into a URL path or query (environment id, capability key): non-empty,
/// at most 256 chars, no control characters.
pub fn check_id(field: &str, value: &str) -> Result<()> {
    if value.is_empty()
        || value.len() > 256
        || value.chars().any(char::is_control)
        || value.contains(',')
    {
        return Err(Error::invalid(
            field,
            "must be a non-empty identifier without commas or control characters",
        ));
    }
    Ok(())
}

/// `#[serde(default, deserialize_with = "crate::validate::present")]` on an `Option<T>` option:
/// absent means the default, but an explicit `null` is refused — it is what `JSON.stringify`
/// makes of `NaN` and `Infinity`, so reading it as "absent" would silently replace a bad value.
pub fn present<'de, D, T>(d: D) -> std::result::Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids() {
        assert_eq!(
            check_uuid("a", "3F7C2D1E-8A4B-4C6D-9E0F-1A2B3C4D5E6F")
                .ok()
                .as_deref(),
            Some("3f7c2d1e-8a4b-4c6d-9e0f-1a2b3c4d5e6f")
        );
        for bad in [
            "",
            "3f7c2d1e8a4b4c6d9e0f1a2b3c4d5e6f",
            "3f7c2d1e-8a4b-4c6d-9e0f-1a2b3c4d5e6g",
            "../../etc/passwd",
            "3f7c2d1e-8a4b-4c6d-9e0f-1a2b3c4d5e6f?x",
        ] {
            let e = check_uuid("accountUuid", bad).err();
            assert_eq!(e.as_ref().map(Error::code), Some("INVALID_INPUT"));
            assert_eq!(e.as_ref().and_then(Error::field), Some("accountUuid"));
        }
    }
}
