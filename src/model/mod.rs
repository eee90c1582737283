//! serde types for API payloads. Lenient: unknown fields are ignored, `null` and absent are
//! the same for optional fields; wrong types are reported with their JSON path.

pub mod cost;
pub mod subscription;

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// Deserializes `body`, reporting the JSON path of the first problem and the start of the body.
pub fn decode<T: DeserializeOwned>(what: &'static str, body: &str) -> Result<T> {
    let de = &mut serde_json::Deserializer::from_str(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        Error::decode(what, if path == "." { "$".to_string() } else { path }, e.into_inner(), Some(body))
    })
}
