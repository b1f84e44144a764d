//! JSON request bodies of the monitoring API: read within the body limit and decoded
//! with the path of the failing field, so every refusal is a 4xx naming it.

use crate::error::AppError;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use perfscope_model::FieldError;
use serde::de::DeserializeOwned;

/// axum's default body limit for these routes.
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

pub fn bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, AppError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge {
                limit: MAX_BODY_BYTES,
            }
        } else {
            AppError::BadRequest(rejection.body_text())
        }
    })
}

/// `what` names the body itself when it is the wrong shape as a whole.
pub fn decode<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T, AppError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let field = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = inner.to_string();
                let field = if field == "." {
                    // A missing or unknown field is reported at its parent; the message
                    // names it.
                    named_field(&message).unwrap_or(what).to_string()
                } else {
                    field
                };
                AppError::InvalidField(FieldError::new(field, message))
            }
            _ => AppError::MalformedJson(inner.to_string()),
        }
    })?;
    deserializer
        .end()
        .map_err(|err| AppError::MalformedJson(err.to_string()))?;
    Ok(value)
}

/// `x` from serde's "missing field `x`" and "unknown field `x`, expected …".
fn named_field(message: &str) -> Option<&str> {
    let rest = message
        .strip_prefix("missing field `")
        .or_else(|| message.strip_prefix("unknown field `"))?;
    rest.split('`').next().filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfscope_model::LoginRequest;

    fn field_of(body: &str) -> String {
        match decode::<LoginRequest>(body.as_bytes(), "body") {
            Err(AppError::InvalidField(err)) => err.field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn missing_unknown_and_mistyped_fields_are_named() {
        assert_eq!(field_of(r#"{"username":"a"}"#), "password");
        assert_eq!(field_of(r#"{"username":"a","password":"b","x":1}"#), "x");
        assert_eq!(field_of(r#"{"username":1,"password":"b"}"#), "username");
        assert_eq!(field_of("[]"), "body");
    }
}
