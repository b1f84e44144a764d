//! Read API of backend monitoring: cache stats, monitoring time series and their names.

use crate::app::AppState;
use crate::clock::now_ms;
use crate::error::AppError;
use crate::routes::query::series_bucket_ms;
use crate::routes::query_params::parse_query;
use crate::store::DAY_MS;
use axum::extract::{RawQuery, State};
use axum::Json;
use perfscope_model::{CacheStats, FieldError, MonitorSeries};
use serde::Deserialize;
use std::sync::Arc;

pub async fn cache_stats(State(state): State<AppState>) -> Json<CacheStats> {
    Json(state.monitoring.cache.stats().await)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesParams {
    name: Option<String>,
    from: Option<i64>,
    to: Option<i64>,
    /// `raw` for every sample instead of buckets.
    resolution: Option<String>,
}

fn invalid(field: &str, reason: &str) -> AppError {
    AppError::InvalidField(FieldError::new(field, reason))
}

fn is_series_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

pub async fn series(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<MonitorSeries>, AppError> {
    let params: SeriesParams = parse_query(query.as_deref().unwrap_or(""))?;
    let name = params.name.ok_or_else(|| invalid("name", "is required"))?;
    if !is_series_name(&name) {
        return Err(invalid(
            "name",
            "must be 1-200 characters of a-z, A-Z, 0-9, `.`, `_`, `-`",
        ));
    }
    let to = params.to.unwrap_or_else(now_ms);
    let from = params.from.unwrap_or(to - DAY_MS);
    if from >= to {
        return Err(invalid("from", "must be earlier than `to`"));
    }
    if from < 0 {
        return Err(invalid("from", "must be milliseconds since 1970"));
    }
    let bucket_ms = match params.resolution.as_deref() {
        None => series_bucket_ms(to - from),
        Some("raw") if to - from <= DAY_MS => 0,
        Some("raw") => return Err(invalid("resolution", "`raw` covers at most one day")),
        Some(_) => return Err(invalid("resolution", "must be `raw` or absent")),
    };
    let db = Arc::clone(&state.monitoring.timeseries);
    let lookup = name.clone();
    let points = tokio::task::spawn_blocking(move || db.points(&lookup, from, to, bucket_ms))
        .await
        .map_err(anyhow::Error::from)??;
    Ok(Json(MonitorSeries {
        name,
        from,
        to,
        bucket_ms,
        points,
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamesParams {
    prefix: Option<String>,
}

pub async fn names(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<String>>, AppError> {
    let params: NamesParams = parse_query(query.as_deref().unwrap_or(""))?;
    let prefix = params.prefix.unwrap_or_default();
    if !prefix.is_empty() && !is_series_name(&prefix) {
        return Err(invalid(
            "prefix",
            "must be at most 200 characters of a-z, A-Z, 0-9, `.`, `_`, `-`",
        ));
    }
    let db = Arc::clone(&state.monitoring.timeseries);
    let names = tokio::task::spawn_blocking(move || db.names(&prefix))
        .await
        .map_err(anyhow::Error::from)??;
    Ok(Json(names))
}
