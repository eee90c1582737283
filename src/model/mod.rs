//! serde types for API payloads. Lenient: unknown fields are ignored, `null` and absent are
//! the same for optional fields; wrong types are reported with their JSON path.

pub mod allocation;
pub mod cost;
pub mod environment;
pub mod forecast;
pub mod rate_card;
pub mod subscription;
pub mod usage;

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// Deserializes `body`, reporting the JSON path of the first problem and the start of the body.
pub fn decode<T: DeserializeOwned>(what: &'static str, body: &str) -> Result<T> {
    let de = &mut serde_json::Deserializer::from_str(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        Error::decode(
            what,
            if path == "." { "$".to_string() } else { path },
            e.into_inner(),
            Some(body),
        )
    })
}

/// Deserializes caller-supplied JSON (options, records). Problems are `INVALID_INPUT` with the
/// JSON path as `field`; a missing field names the field itself; `null` where a number belongs
/// (what `JSON.stringify` makes of NaN and Infinity) says so.
pub fn decode_input<T: DeserializeOwned>(what: &str, text: &str) -> Result<T> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let mut field = if path == "." { what.to_string() } else { path };
        let message = match message
            .strip_prefix("missing field `")
            .and_then(|m| m.split('`').next())
        {
            Some(name) => {
                if field == what {
                    field = name.to_string();
                } else {
                    field = format!("{field}.{name}");
                }
                "is required".to_string()
            }
            None if message.starts_with("invalid type: null, expected f64") => {
                "must be a finite number (NaN, Infinity and null are not allowed)".to_string()
            }
            None => message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_string(),
        };
        Error::invalid(field, message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::cost::CostRecord;

    #[test]
    fn input_errors_name_the_field() {
        let e = decode_input::<Vec<CostRecord>>(
            "records",
            r#"[{"startTime":"2024-01-01","value":1},{"startTime":"2024-01-02","value":null}]"#,
        )
        .err()
        .unwrap_or_else(|| panic!());
        assert_eq!((e.code(), e.field()), ("INVALID_INPUT", Some("[1].value")));
        assert!(e.to_string().contains("finite"));
        let e = decode_input::<Vec<CostRecord>>("records", r#"[{"value":1}]"#)
            .err()
            .unwrap_or_else(|| panic!());
        assert_eq!(e.field(), Some("[0].startTime"));
        let e = decode_input::<Vec<CostRecord>>("records", r#"{"a":1}"#)
            .err()
            .unwrap_or_else(|| panic!());
        assert_eq!(e.field(), Some("records"));
        let e = decode_input::<Vec<CostRecord>>("records", r#"[{"startTime":5,"value":1}]"#)
            .err()
            .unwrap_or_else(|| panic!());
        assert_eq!(e.field(), Some("[0].startTime"));
        assert!(!e.to_string().contains("line"), "{e}");
    }
}
