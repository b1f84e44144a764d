//! `AppError`: every failure the API reports, turned into a status and a JSON body.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use perfscope_model::{ApiErrorBody, ApiErrorResponse, FieldError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The body is not JSON at all.
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    /// A field is missing, of the wrong type, unknown, or holds an impossible value.
    #[error("{0}")]
    InvalidField(FieldError),
    #[error("request body larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// A compressed body that inflates past the limit (a decompression bomb, or just
    /// too much data).
    #[error("request body larger than {limit} bytes once decompressed")]
    DecodedTooLarge { limit: usize },
    #[error("unsupported Content-Encoding `{0}`; use gzip, br or none")]
    UnsupportedEncoding(String),
    #[error("unsupported Content-Type `{0}`; send text/plain or application/json in UTF-8")]
    UnsupportedContentType(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("no such resource: {0}")]
    NotFound(String),
    /// Too many requests from one client or for one site.
    #[error("too many requests for this {scope}, retry in {retry_after_secs} s")]
    RateLimited {
        scope: &'static str,
        retry_after_secs: u64,
    },
    /// The write queue is full; the client should retry after the given seconds.
    #[error("the collector is busy, retry in {retry_after_secs} s")]
    Overloaded { retry_after_secs: u64 },
    /// The batch names a site key the collector is not configured for.
    #[error("unknown site `{0}`")]
    UnknownSite(String),
    /// A browser page from an origin the site does not list sent a batch for it.
    #[error("origin `{origin}` may not send batches for site `{site}`")]
    OriginNotAllowed { site: String, origin: String },
    /// A preflight from an origin no configured site lists.
    #[error("origin `{0}` may not send batches to this collector")]
    OriginNotAllowedAnywhere(String),
    /// More events in one batch than the collector takes; `field` is the array that
    /// went over.
    #[error("{field}: at most {limit} events per batch, all kinds together")]
    TooManyEvents { field: String, limit: usize },
    /// One event larger than the collector takes; `field` names the event.
    #[error("{field}: an event may be at most {limit} bytes as compact JSON")]
    EventTooLarge { field: String, limit: usize },
    /// A read route without a valid session cookie.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// A sign-in with a wrong user name or password.
    #[error("wrong user name or password")]
    WrongCredentials,
    /// Too many sign-in attempts from this client or for this account.
    #[error("too many sign-in attempts, retry in {retry_after_secs} s")]
    LoginThrottled { retry_after_secs: u64 },
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    fn status(&self) -> StatusCode {
        match self {
            AppError::MalformedJson(_) | AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::InvalidField(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::PayloadTooLarge { .. } | AppError::DecodedTooLarge { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            AppError::TooManyEvents { .. } | AppError::EventTooLarge { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            AppError::UnknownSite(_)
            | AppError::OriginNotAllowed { .. }
            | AppError::OriginNotAllowedAnywhere(_) => StatusCode::FORBIDDEN,
            AppError::UnsupportedEncoding(_) | AppError::UnsupportedContentType(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::RateLimited { .. } | AppError::LoginThrottled { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            AppError::Unauthorized(_) | AppError::WrongCredentials => StatusCode::UNAUTHORIZED,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            AppError::MalformedJson(_) => "malformed_json",
            AppError::InvalidField(_) => "invalid_field",
            AppError::PayloadTooLarge { .. } | AppError::DecodedTooLarge { .. } => {
                "payload_too_large"
            }
            AppError::TooManyEvents { .. } => "too_many_events",
            AppError::EventTooLarge { .. } => "event_too_large",
            AppError::UnknownSite(_) => "unknown_site",
            AppError::OriginNotAllowed { .. } | AppError::OriginNotAllowedAnywhere(_) => {
                "origin_not_allowed"
            }
            AppError::UnsupportedEncoding(_) => "unsupported_encoding",
            AppError::UnsupportedContentType(_) => "unsupported_content_type",
            AppError::BadRequest(_) => "bad_request",
            AppError::NotFound(_) => "not_found",
            AppError::Overloaded { .. } => "overloaded",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::LoginThrottled { .. } => "login_throttled",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::WrongCredentials => "wrong_credentials",
            AppError::Internal(_) => "internal",
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(err) = &self {
            // The client gets no details of our failure; the operator gets all of them.
            tracing::error!(error = ?err, "request failed");
        }
        let field = match &self {
            AppError::InvalidField(e) => Some(e.field.clone()),
            AppError::TooManyEvents { field, .. } | AppError::EventTooLarge { field, .. } => {
                Some(field.clone())
            }
            AppError::UnknownSite(_) => Some("site".to_string()),
            AppError::UnsupportedContentType(_) => Some("content-type".to_string()),
            AppError::UnsupportedEncoding(_) => Some("content-encoding".to_string()),
            AppError::OriginNotAllowed { .. } | AppError::OriginNotAllowedAnywhere(_) => {
                Some("origin".to_string())
            }
            _ => None,
        };
        let body = ApiErrorResponse {
            error: ApiErrorBody {
                code: self.code().to_string(),
                message: self.to_string(),
                field,
            },
        };
        let mut response = (self.status(), Json(body)).into_response();
        match self {
            AppError::Overloaded { retry_after_secs }
            | AppError::LoginThrottled { retry_after_secs }
            | AppError::RateLimited {
                retry_after_secs, ..
            } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            // The rest of the oversized body is never read, so the connection cannot
            // carry another request; saying so stops clients from reusing it.
            AppError::PayloadTooLarge { .. } => {
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        response
    }
}
