//! `POST /api/v1/ingest`: decode, validate, and commit one batch from a tracker.

use crate::app::AppState;
use crate::clock::now_ms;
use crate::error::AppError;
use crate::request_body;
use crate::store::AcceptedBatch;
use crate::user_agent::browser_family;
use crate::write_queue::EnqueueError;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use perfscope_model::{Batch, FieldError};
use serde::Serialize;
use std::net::SocketAddr;

#[derive(Debug, Serialize)]
pub struct IngestResponse {
    /// Events of this batch now stored for the first time.
    pub stored: u64,
    /// Events already stored by an earlier delivery of the same batch.
    pub duplicates: u64,
}

/// How long a client should wait before retrying when the queue is full: long enough
/// for the writer to commit a few groups.
const RETRY_AFTER_SECS: u64 = 1;

pub async fn ingest(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IngestResponse>, AppError> {
    state.rate_limits.check_ip(client.ip())?;
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge {
                limit: state.config.ingest.max_body_bytes,
            }
        } else {
            AppError::BadRequest(rejection.body_text())
        }
    })?;
    let body = request_body::decode(
        headers.get(header::CONTENT_ENCODING),
        body,
        state.config.ingest.max_decompressed_bytes,
    )?;
    let batch = decode_batch(&body)?;
    batch
        .validate(&state.limits, now_ms() as f64)
        .map_err(AppError::InvalidField)?;
    state.rate_limits.check_site(&batch.site)?;
    let accepted = AcceptedBatch {
        batch,
        browser: browser_family(
            headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok()),
        )
        .to_string(),
        received_ms: now_ms(),
    };
    let outcome = state
        .queue
        .submit(accepted)
        .await
        .map_err(|err| match err {
            EnqueueError::Full | EnqueueError::Closed => AppError::Overloaded {
                retry_after_secs: RETRY_AFTER_SECS,
            },
            EnqueueError::Storage(message) => AppError::Internal(anyhow::anyhow!(message)),
        })?;
    Ok(Json(IngestResponse {
        stored: outcome.stored,
        duplicates: outcome.duplicates,
    }))
}

/// Decodes with the path of the failing field, so the error can name it.
pub fn decode_batch(body: &[u8]) -> Result<Batch, AppError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let batch: Batch = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let field = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let field = if field == "." {
                    "batch".to_string()
                } else {
                    field
                };
                AppError::InvalidField(FieldError::new(field, inner.to_string()))
            }
            _ => AppError::MalformedJson(inner.to_string()),
        }
    })?;
    deserializer
        .end()
        .map_err(|err| AppError::MalformedJson(err.to_string()))?;
    Ok(batch)
}
