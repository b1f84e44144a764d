//! The JSON read API: summary, endpoints, breakdown, series, targets, samples, sites.
//!
//! Handlers parse and check parameters, then call the `Store` trait on the blocking
//! pool; every answer is computed by the store from rollups (or raw events for
//! drill-down).

use crate::app::AppState;
use crate::cache::CacheKey;
use crate::clock::now_ms;
use crate::error::AppError;
use crate::routes::query_params::QueryParams;
use crate::store::{self, SeriesMetric, Store, DAY_MS, HOUR_MS, MINUTE_MS};
use axum::extract::{RawQuery, State};
use axum::Json;
use perfscope_model::{
    BreakdownRow, EndpointSummary, FieldError, Series, SeriesPoint, SiteInfo, Summary,
    TargetSummary, VitalName, VitalSample,
};
use std::sync::Arc;

/// Vitals whose attribution names a target (element or shift source).
const WITH_TARGETS: [VitalName; 3] = [VitalName::Lcp, VitalName::Inp, VitalName::Cls];

pub async fn summary(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Summary>, AppError> {
    let params = QueryParams::parse(query.as_deref().unwrap_or(""), &[])?;
    let scope = params.scope(now_ms())?;
    let key = CacheKey::new("summary", &scope, ());
    let compute = blocking(state.store, move |store| store::summarize(store, scope));
    let summary = state.monitoring.cached(key, compute).await?;
    Ok(Json(summary))
}

pub async fn endpoints(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<EndpointSummary>>, AppError> {
    let params = QueryParams::parse(query.as_deref().unwrap_or(""), &[])?;
    let scope = params.scope(now_ms())?;
    let key = CacheKey::new("endpoints", &scope, ());
    let compute = blocking(state.store, move |store| store.endpoints(&scope));
    let endpoints = state.monitoring.cached(key, compute).await?;
    Ok(Json(endpoints))
}

pub async fn breakdown(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<BreakdownRow>>, AppError> {
    let params = QueryParams::parse(query.as_deref().unwrap_or(""), &["metric", "by", "limit"])?;
    let scope = params.scope(now_ms())?;
    let metric = params.vital(&VitalName::WITH_LEGACY)?;
    let by = params.dimension()?;
    // The cardinality cap bounds routes at 500 plus `other`.
    let limit = params.limit(50, 1000)?;
    let key = CacheKey::new("breakdown", &scope, (metric, by, limit));
    let compute = blocking(state.store, move |store| {
        store.breakdown(&scope, metric, by, limit)
    });
    let rows = state.monitoring.cached(key, compute).await?;
    Ok(Json(rows))
}

/// Series bucket width from the range: about 100–170 points at most, and always a width
/// one rollup level divides (minute rows for 1 and 5 minutes, hour rows for an hour,
/// day rows for a day), so a series never reads finer rows than its buckets need.
pub fn series_bucket_ms(range_ms: i64) -> i64 {
    if range_ms <= 2 * HOUR_MS {
        MINUTE_MS
    } else if range_ms <= 12 * HOUR_MS {
        5 * MINUTE_MS
    } else if range_ms <= 7 * DAY_MS {
        HOUR_MS
    } else {
        DAY_MS
    }
}

pub async fn series(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Series>, AppError> {
    let params = QueryParams::parse(
        query.as_deref().unwrap_or(""),
        &["metric", "method", "path"],
    )?;
    let scope = params.scope(now_ms())?;
    let metric = match params.metric.as_deref() {
        Some("api") => SeriesMetric::Api {
            endpoint: params.endpoint()?,
        },
        _ => {
            let name = params.vital(&VitalName::WITH_LEGACY).map_err(|_| {
                AppError::InvalidField(FieldError::new(
                    "metric",
                    "must be `api` or one of LCP, INP, CLS, FCP, TTFB, FID",
                ))
            })?;
            if params.method.is_some() || params.path.is_some() {
                let field = if params.method.is_some() {
                    "method"
                } else {
                    "path"
                };
                return Err(AppError::InvalidField(FieldError::new(
                    field,
                    "applies only to `metric=api`",
                )));
            }
            SeriesMetric::Vital(name)
        }
    };
    let bucket_ms = series_bucket_ms(scope.range.to - scope.range.from);
    let (site, from, to) = (scope.site.clone(), scope.range.from, scope.range.to);
    let key = CacheKey::new("series", &scope, (&metric, bucket_ms));
    let compute = blocking(state.store, move |store| {
        store.series(&scope, &metric, bucket_ms)
    });
    let points: Vec<SeriesPoint> = state.monitoring.cached(key, compute).await?;
    Ok(Json(Series {
        site,
        from,
        to,
        bucket_ms,
        points,
    }))
}

pub async fn targets(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<TargetSummary>>, AppError> {
    let params = QueryParams::parse(query.as_deref().unwrap_or(""), &["metric", "limit"])?;
    let scope = params.scope(now_ms())?;
    let metric = params.vital(&WITH_TARGETS)?;
    let limit = params.limit(20, 500)?;
    let key = CacheKey::new("targets", &scope, (metric, limit));
    let compute = blocking(state.store, move |store| {
        store.top_targets(&scope, metric, limit)
    });
    let targets = state.monitoring.cached(key, compute).await?;
    Ok(Json(targets))
}

pub async fn samples(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<VitalSample>>, AppError> {
    let params = QueryParams::parse(query.as_deref().unwrap_or(""), &["metric", "limit"])?;
    let scope = params.scope(now_ms())?;
    let metric = params.vital(&VitalName::WITH_LEGACY)?;
    let limit = params.limit(100, 1000)?;
    let key = CacheKey::new("samples", &scope, (metric, limit));
    let compute = blocking(state.store, move |store| {
        store.samples(&scope, metric, limit)
    });
    let samples = state.monitoring.cached(key, compute).await?;
    Ok(Json(samples))
}

pub async fn sites(State(state): State<AppState>) -> Result<Json<Vec<SiteInfo>>, AppError> {
    Ok(Json(blocking(state.store, |store| store.sites()).await?))
}

/// Runs a store call on the blocking pool; its failure is ours (a 500), never the
/// client's, since parameters were checked before.
pub async fn blocking<T, F>(store: Arc<dyn Store>, query: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&dyn Store) -> anyhow::Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(move || query(store.as_ref()))
        .await
        .map_err(anyhow::Error::from)?
        .map_err(AppError::Internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_buckets_follow_the_range() {
        assert_eq!(series_bucket_ms(HOUR_MS), MINUTE_MS);
        assert_eq!(series_bucket_ms(2 * HOUR_MS), MINUTE_MS);
        assert_eq!(series_bucket_ms(6 * HOUR_MS), 5 * MINUTE_MS);
        assert_eq!(series_bucket_ms(DAY_MS), HOUR_MS);
        assert_eq!(series_bucket_ms(7 * DAY_MS), HOUR_MS);
        assert_eq!(series_bucket_ms(30 * DAY_MS), DAY_MS);
    }
}
