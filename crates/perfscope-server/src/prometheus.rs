//! `GET /metrics`: the collector's internals in Prometheus text format, and the ingest
//! counters the router's ingest layer increments.

use crate::app::AppState;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use perfscope_model::AlertStatus;
use prometheus::{Encoder, GaugeVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

pub struct CollectorMetrics {
    registry: Registry,
    pub ingest_batches: IntCounter,
    pub ingest_events: IntCounter,
    pub rejected_batches: IntCounterVec,
    queue_depth: IntGauge,
    cache: GaugeVec,
    alerts: GaugeVec,
    live_listeners: IntGauge,
}

impl CollectorMetrics {
    pub fn new() -> anyhow::Result<CollectorMetrics> {
        let registry = Registry::new_custom(Some("perfscope".into()), None)?;
        let ingest_batches =
            IntCounter::new("ingest_batches_total", "Batches accepted and committed")?;
        let ingest_events = IntCounter::new("ingest_events_total", "Events committed")?;
        let rejected_batches = IntCounterVec::new(
            Opts::new(
                "ingest_rejected_batches_total",
                "Batches refused, by reason",
            ),
            &["reason"],
        )?;
        let queue_depth = IntGauge::new("write_queue_depth", "Batches waiting for the writer")?;
        let cache = GaugeVec::new(
            Opts::new(
                "query_cache",
                "Query cache per layer: entries, bytes, limit_bytes, hits, misses, hit_rate, \
                 evictions, expirations, promotions, invalidations",
            ),
            &["layer", "stat"],
        )?;
        let alerts = GaugeVec::new(
            Opts::new("alert_state", "1 for the status each alert instance is in"),
            &["rule", "site", "severity", "status"],
        )?;
        let live_listeners = IntGauge::new("stream_listeners", "Open /api/v1/stream clients")?;
        registry.register(Box::new(ingest_batches.clone()))?;
        registry.register(Box::new(ingest_events.clone()))?;
        registry.register(Box::new(rejected_batches.clone()))?;
        registry.register(Box::new(queue_depth.clone()))?;
        registry.register(Box::new(cache.clone()))?;
        registry.register(Box::new(alerts.clone()))?;
        registry.register(Box::new(live_listeners.clone()))?;
        Ok(CollectorMetrics {
            registry,
            ingest_batches,
            ingest_events,
            rejected_batches,
            queue_depth,
            cache,
            alerts,
            live_listeners,
        })
    }
}

/// Reason label of a refused ingest request, from its status.
pub fn rejection_reason(status: StatusCode) -> Option<&'static str> {
    Some(match status.as_u16() {
        200..=399 => return None,
        400 => "malformed",
        413 => "too_large",
        415 => "unsupported_encoding",
        422 => "invalid_field",
        429 => "rate_limited",
        503 => "overloaded",
        500..=599 => "internal",
        _ => "other",
    })
}

/// Router layer on the ingest route: counts every refused batch by reason.
pub async fn count_ingest(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let metrics = &state.monitoring.metrics;
    match rejection_reason(response.status()) {
        None => metrics.ingest_batches.inc(),
        Some(reason) => metrics.rejected_batches.with_label_values(&[reason]).inc(),
    }
    response
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    let monitoring = &state.monitoring;
    let metrics = &monitoring.metrics;
    metrics.queue_depth.set(state.queue.depth() as i64);
    metrics
        .live_listeners
        .set(monitoring.live.listeners() as i64);
    let stats = monitoring.cache.stats().await;
    for layer in &stats.layers {
        let values = [
            ("entries", layer.entries as f64),
            ("bytes", layer.bytes as f64),
            ("limit_bytes", layer.limit_bytes as f64),
            ("hits", layer.hits as f64),
            ("misses", layer.misses as f64),
            ("hit_rate", layer.hit_rate.unwrap_or(0.0)),
            ("evictions", layer.evictions as f64),
            ("expirations", layer.expirations as f64),
            ("promotions", layer.promotions as f64),
            ("invalidations", layer.invalidations as f64),
        ];
        for (stat, value) in values {
            metrics
                .cache
                .with_label_values(&[layer.layer.as_str(), stat])
                .set(value);
        }
    }
    metrics.alerts.reset();
    for alert in monitoring.alerts.alerts() {
        for status in [
            AlertStatus::Pending,
            AlertStatus::Firing,
            AlertStatus::Resolved,
        ] {
            let label = serde_json::to_value(status).unwrap_or_default();
            let severity = serde_json::to_value(alert.severity).unwrap_or_default();
            metrics
                .alerts
                .with_label_values(&[
                    alert.rule_id.as_str(),
                    alert.site.as_str(),
                    severity.as_str().unwrap_or(""),
                    label.as_str().unwrap_or(""),
                ])
                .set(if alert.status == status { 1.0 } else { 0.0 });
        }
    }
    let mut body = Vec::new();
    if let Err(err) = prometheus::TextEncoder::new().encode(&metrics.registry.gather(), &mut body) {
        return crate::error::AppError::Internal(err.into()).into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}
