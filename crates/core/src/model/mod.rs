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
    serde_json::from_str(body).map_err(|e| {
        let path = json_path_at(body, e.line(), e.column());
        Error::decode(
            what,
            if path.is_empty() {
                "$".to_string()
            } else {
                path
            },
            message_of(&e),
            Some(body),
        )
    })
}

/// serde_json's message without its " at line L column C" suffix (the path says where).
fn message_of(e: &serde_json::Error) -> String {
    let m = e.to_string();
    m.split(" at line ").next().unwrap_or(&m).to_string()
}

/// The JSON path (`data[1].value`, `[0].startTime`) of the value that ends at serde_json's error
/// position. One small scanner instead of a path-tracking wrapper around every type's
/// deserializer: smaller wasm, and the fast path (no error) pays nothing.
pub fn json_path_at(text: &str, line: usize, column: usize) -> String {
    enum Frame {
        Object {
            key: Option<String>,
            expecting_key: bool,
        },
        Array {
            index: usize,
        },
    }
    let b = text.as_bytes();
    let mut offset = 0;
    for _ in 1..line {
        match b[offset..].iter().position(|c| *c == b'\n') {
            Some(p) => offset += p + 1,
            None => break,
        }
    }
    let mut end = offset.saturating_add(column).min(b.len());
    // A missing-field error is reported after the object's closing brace: the path is the
    // object's own, not that of its last member.
    let closing = end > 0 && matches!(b[end - 1], b'}' | b']');
    if closing {
        end -= 1;
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < end {
        match b[i] {
            b'{' => stack.push(Frame::Object {
                key: None,
                expecting_key: true,
            }),
            b'[' => stack.push(Frame::Array { index: 0 }),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Array { index }) => *index += 1,
                Some(Frame::Object { expecting_key, .. }) => *expecting_key = true,
                None => {}
            },
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                if let Some(Frame::Object { key, expecting_key }) = stack.last_mut() {
                    if *expecting_key {
                        let raw = text.get(start..i.min(b.len())).unwrap_or("");
                        *key = Some(
                            serde_json::from_str::<String>(&format!("\"{raw}\""))
                                .unwrap_or_else(|_| raw.to_string()),
                        );
                        *expecting_key = false;
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    let mut path = String::new();
    let last = stack.len().saturating_sub(1);
    for (n, f) in stack.iter().enumerate() {
        match f {
            Frame::Object { .. } if closing && n == last => {}
            Frame::Object {
                key: Some(k),
                expecting_key: false,
            } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
            }
            Frame::Object { .. } => {}
            Frame::Array { index } => path.push_str(&format!("[{index}]")),
        }
    }
    path
}

/// Deserializes caller-supplied JSON (options, records). Problems are `INVALID_INPUT` with the
/// JSON path as `field`; a missing field names the field itself; `null` where a number belongs
/// (what `JSON.stringify` makes of NaN and Infinity) says so.
pub fn decode_input<T: DeserializeOwned>(what: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| {
        let path = json_path_at(text, e.line(), e.column());
        let message = message_of(&e);
        let mut field = if path.is_empty() {
            what.to_string()
        } else {
            path
        };
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
            None if message.starts_with("invalid type: null, expected f64")
                || message.starts_with("invalid type: null, expected u")
                || message.starts_with("invalid type: null, expected i") =>
            {
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
    fn paths_from_error_positions() {
        let at = |t: &str| {
            let e = serde_json::from_str::<Vec<CostRecord>>(t)
                .err()
                .unwrap_or_else(|| panic!("{t}"));
            json_path_at(t, e.line(), e.column())
        };
        assert_eq!(
            at(r#"[{"startTime":"a","value":1},{"startTime":"b","value":"x"}]"#),
            "[1].value"
        );
        assert_eq!(
            at("[\n {\"startTime\": \"a\",\n  \"value\": true}\n]"),
            "[0].value"
        );
        assert_eq!(
            at(r#"[{"startTime":"a,]}{","value":1},{"value":2}]"#),
            "[1]"
        );
        assert_eq!(
            at(r#"[{"start\"Time":"a","startTime":"b","value":[1]}]"#),
            "[0].value"
        );
    }

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
