//! `POST /api/v1/sources/{source}/samples`: cache layer stats and resource samples from
//! other services, each source authenticated by its own bearer token.

use crate::app::AppState;
use crate::clock::now_ms;
use crate::error::AppError;
use crate::routes::json_body::{bytes, decode};
use crate::timeseries::Sample;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use perfscope_model::{ApiErrorBody, ApiErrorResponse, SourceSamples};
use serde::Serialize;
use std::sync::Arc;

#[derive(Debug, Serialize)]
pub struct SamplesAccepted {
    pub stored: usize,
}

/// 401 with the API's error body; `AppError` has no variant for it.
fn unauthorized(message: &str) -> Response {
    let body = ApiErrorResponse {
        error: ApiErrorBody {
            code: "unauthorized".into(),
            message: message.into(),
            field: Some("authorization".into()),
        },
    };
    let mut response = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    response
}

/// Compares in time independent of where the first difference is.
fn same_token(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

pub async fn post_samples(
    State(state): State<AppState>,
    Path(source): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let Some(config) = state.config.sources.get(&source) else {
        return Err(AppError::NotFound(format!("source `{source}`")));
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match token {
        None => {
            return Ok(unauthorized(
                "an `Authorization: Bearer <token>` header is required",
            ))
        }
        Some(token) if !same_token(token.as_bytes(), config.token.as_bytes()) => {
            return Ok(unauthorized("the token does not match this source"))
        }
        Some(_) => {}
    }
    let samples: SourceSamples = decode(&bytes(body)?, "samples")?;
    let now = now_ms();
    samples.validate(now).map_err(AppError::InvalidField)?;
    let ts = samples.ts.unwrap_or(now);
    let prefix = format!("source.{source}");
    let mut points = Vec::new();
    for layer in &samples.cache_layers {
        let p = format!("{prefix}.cache.{}", layer.layer);
        points.extend([
            Sample::new(format!("{p}.entries"), ts, layer.entries as f64),
            Sample::new(format!("{p}.bytes"), ts, layer.bytes as f64),
            Sample::new(format!("{p}.hits"), ts, layer.hits as f64),
            Sample::new(format!("{p}.misses"), ts, layer.misses as f64),
            Sample::new(format!("{p}.evictions"), ts, layer.evictions as f64),
        ]);
        let rate = layer.hit_rate.or_else(|| {
            perfscope_model::CacheLayerStats::computed_hit_rate(layer.hits, layer.misses)
        });
        if let Some(rate) = rate {
            points.push(Sample::new(format!("{p}.hit_rate"), ts, rate));
        }
    }
    for resource in &samples.resources {
        points.push(Sample::new(
            format!("{prefix}.{}", resource.name),
            ts,
            resource.value,
        ));
    }
    let stored = points.len();
    let series = Arc::clone(&state.monitoring.timeseries);
    tokio::task::spawn_blocking(move || series.record(&points))
        .await
        .map_err(anyhow::Error::from)??;
    Ok(Json(SamplesAccepted { stored }).into_response())
}
