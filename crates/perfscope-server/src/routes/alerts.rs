//! Alerts API: instances, rules (create, replace, delete), history, delivery attempts,
//! acknowledge and silence.

use crate::alerts::RuleError;
use crate::app::AppState;
use crate::error::AppError;
use crate::routes::json_body::{bytes, decode};
use crate::routes::query_params::parse_query;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use perfscope_model::{AlertInfo, AlertRule, AlertTransition, DeliveryAttempt, FieldError};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

fn invalid(field: &str, reason: impl Into<String>) -> AppError {
    AppError::InvalidField(FieldError::new(field, reason))
}

fn rule_error(err: RuleError) -> AppError {
    match err {
        RuleError::Fixed(id) => invalid(
            "id",
            format!("rule `{id}` comes from the configuration; change it there"),
        ),
        RuleError::Unknown(id) => AppError::NotFound(format!("alert rule `{id}`")),
        RuleError::Storage(err) => AppError::Internal(err),
    }
}

pub async fn list(State(state): State<AppState>) -> Json<Vec<AlertInfo>> {
    Json(state.monitoring.alerts.alerts())
}

pub async fn rules(State(state): State<AppState>) -> Json<Vec<AlertRule>> {
    Json(state.monitoring.alerts.rules())
}

pub async fn put_rule(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<AlertRule>), AppError> {
    let rule: AlertRule = decode(&bytes(body)?, "rule")?;
    rule.validate().map_err(AppError::InvalidField)?;
    let monitoring = Arc::clone(&state.monitoring);
    let stored = rule.clone();
    tokio::task::spawn_blocking(move || monitoring.alerts.put_rule(stored))
        .await
        .map_err(anyhow::Error::from)?
        .map_err(rule_error)?;
    Ok((StatusCode::CREATED, Json(rule)))
}

pub async fn delete_rule(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let monitoring = Arc::clone(&state.monitoring);
    tokio::task::spawn_blocking(move || monitoring.alerts.delete_rule(&id))
        .await
        .map_err(anyhow::Error::from)?
        .map_err(rule_error)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitParams {
    limit: Option<usize>,
}

fn limit(query: Option<String>) -> Result<usize, AppError> {
    let params: LimitParams = parse_query(query.as_deref().unwrap_or(""))?;
    match params.limit {
        None => Ok(100),
        Some(n) if (1..=1000).contains(&n) => Ok(n),
        Some(_) => Err(invalid("limit", "must be between 1 and 1000")),
    }
}

pub async fn history(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<AlertTransition>>, AppError> {
    let limit = limit(query)?;
    let monitoring = Arc::clone(&state.monitoring);
    let items = tokio::task::spawn_blocking(move || monitoring.alerts.history.transitions(limit))
        .await
        .map_err(anyhow::Error::from)??;
    Ok(Json(items))
}

pub async fn deliveries(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<DeliveryAttempt>>, AppError> {
    let limit = limit(query)?;
    let monitoring = Arc::clone(&state.monitoring);
    let items = tokio::task::spawn_blocking(move || monitoring.alerts.history.deliveries(limit))
        .await
        .map_err(anyhow::Error::from)??;
    Ok(Json(items))
}

/// Body of acknowledge and silence; `site` names the instance of a per-site rule.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceBody {
    #[serde(default)]
    site: String,
    /// Silence only: how long, at most 30 days.
    #[serde(default)]
    minutes: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct Silenced {
    pub silenced_until_ms: i64,
}

pub async fn acknowledge(
    State(state): State<AppState>,
    Path(rule_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, AppError> {
    let body = bytes(body)?;
    let target: InstanceBody = if body.is_empty() {
        InstanceBody::default()
    } else {
        decode(&body, "body")?
    };
    if target.minutes.is_some() {
        return Err(invalid("minutes", "applies only to silence"));
    }
    if state.monitoring.alerts.acknowledge(&rule_id, &target.site) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound(format!(
            "firing alert `{rule_id}` for site `{}`",
            target.site
        )))
    }
}

pub async fn silence(
    State(state): State<AppState>,
    Path(rule_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Silenced>, AppError> {
    let target: InstanceBody = decode(&bytes(body)?, "body")?;
    let minutes = target
        .minutes
        .ok_or_else(|| invalid("minutes", "is required"))?;
    if !(1..=30 * 24 * 60).contains(&minutes) {
        return Err(invalid("minutes", "must be between 1 and 43200 (30 days)"));
    }
    let until = state
        .monitoring
        .alerts
        .silence(&rule_id, &target.site, Duration::from_secs(minutes * 60))
        .ok_or_else(|| AppError::NotFound(format!("alert rule `{rule_id}`")))?;
    Ok(Json(Silenced {
        silenced_until_ms: until,
    }))
}
