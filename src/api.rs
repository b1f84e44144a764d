//! Typed client for the collector's JSON API, which is served from the same origin.

mod backoff;
mod error;
mod response_cache;
mod transport;

pub use error::ApiError;
pub use transport::{clear_cache, set_unauthorized_handler, Params};

use perfscope_model::{
    AlertInfo, AlertTransition, BreakdownRow, CacheStats, EndpointSummary, LoginRequest,
    MonitorSeries, Recommendation, Series, SessionInfo, SiteInfo, Summary, TargetSummary,
    VitalName, VitalSample, LOGIN_PATH, LOGOUT_PATH, SESSION_PATH,
};
use serde::Serialize;
use transport::{get_json, post, post_json};

pub async fn fetch_sites() -> Result<Vec<SiteInfo>, ApiError> {
    get_json("/api/v1/sites", Vec::new()).await
}

/// `scope`: site, range and filters from [`crate::filters::Filters::api_params`].
pub async fn fetch_summary(scope: Params) -> Result<Summary, ApiError> {
    get_json("/api/v1/summary", scope).await
}

pub async fn fetch_endpoints(scope: Params) -> Result<Vec<EndpointSummary>, ApiError> {
    get_json("/api/v1/endpoints", scope).await
}

/// One vital per route, most samples first.
pub async fn fetch_route_breakdown(
    mut scope: Params,
    metric: VitalName,
) -> Result<Vec<BreakdownRow>, ApiError> {
    scope.push(("metric", metric.as_str().to_owned()));
    scope.push(("by", "route".to_owned()));
    scope.push(("limit", "500".to_owned()));
    get_json("/api/v1/breakdown", scope).await
}

pub async fn fetch_vital_series(mut scope: Params, metric: VitalName) -> Result<Series, ApiError> {
    scope.push(("metric", metric.as_str().to_owned()));
    get_json("/api/v1/series", scope).await
}

/// Latency and error rate of one endpoint, or of all API calls when `endpoint` is `None`.
pub async fn fetch_api_series(
    mut scope: Params,
    endpoint: Option<(&str, &str)>,
) -> Result<Series, ApiError> {
    scope.push(("metric", "api".to_owned()));
    if let Some((method, path)) = endpoint {
        scope.push(("method", method.to_owned()));
        scope.push(("path", path.to_owned()));
    }
    get_json("/api/v1/series", scope).await
}

pub async fn fetch_targets(
    mut scope: Params,
    metric: VitalName,
) -> Result<Vec<TargetSummary>, ApiError> {
    scope.push(("metric", metric.as_str().to_owned()));
    scope.push(("limit", "10".to_owned()));
    get_json("/api/v1/targets", scope).await
}

pub async fn fetch_samples(
    mut scope: Params,
    metric: VitalName,
) -> Result<Vec<VitalSample>, ApiError> {
    scope.push(("metric", metric.as_str().to_owned()));
    scope.push(("limit", "1000".to_owned()));
    get_json("/api/v1/samples", scope).await
}

pub async fn fetch_cache_stats() -> Result<CacheStats, ApiError> {
    get_json("/api/v1/cache/stats", Vec::new()).await
}

pub async fn fetch_monitor_series(
    name: String,
    from: i64,
    to: i64,
) -> Result<MonitorSeries, ApiError> {
    let params = vec![
        ("name", name),
        ("from", from.to_string()),
        ("to", to.to_string()),
    ];
    get_json("/api/v1/monitor/series", params).await
}

/// Names of the monitoring series starting with `prefix`.
pub async fn fetch_monitor_names(prefix: &str) -> Result<Vec<String>, ApiError> {
    get_json("/api/v1/monitor/names", vec![("prefix", prefix.to_owned())]).await
}

pub async fn fetch_alerts() -> Result<Vec<AlertInfo>, ApiError> {
    get_json("/api/v1/alerts", Vec::new()).await
}

pub async fn fetch_alert_history() -> Result<Vec<AlertTransition>, ApiError> {
    get_json("/api/v1/alerts/history", vec![("limit", "100".to_owned())]).await
}

pub async fn fetch_recommendations(scope: Params) -> Result<Vec<Recommendation>, ApiError> {
    get_json("/api/v1/recommendations", scope).await
}

#[derive(Serialize)]
struct AlertInstance<'a> {
    site: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    minutes: Option<u64>,
}

pub async fn acknowledge_alert(rule_id: &str, site: &str) -> Result<(), ApiError> {
    let path = format!("/api/v1/alerts/{}/acknowledge", encode_segment(rule_id));
    let body = AlertInstance {
        site,
        minutes: None,
    };
    post(&path, Some(&body)).await.map(|_| ())
}

pub async fn silence_alert(rule_id: &str, site: &str, minutes: u64) -> Result<(), ApiError> {
    let path = format!("/api/v1/alerts/{}/silence", encode_segment(rule_id));
    let body = AlertInstance {
        site,
        minutes: Some(minutes),
    };
    post(&path, Some(&body)).await.map(|_| ())
}

pub async fn login(username: String, password: String) -> Result<SessionInfo, ApiError> {
    let session = post_json(LOGIN_PATH, &LoginRequest { username, password }).await?;
    clear_cache();
    Ok(session)
}

pub async fn logout() -> Result<(), ApiError> {
    post::<()>(LOGOUT_PATH, None).await.map(|_| ())
}

pub async fn fetch_session() -> Result<SessionInfo, ApiError> {
    get_json(SESSION_PATH, Vec::new()).await
}

/// Rule ids are key characters, but a path segment is escaped all the same.
fn encode_segment(segment: &str) -> String {
    String::from(js_sys::encode_uri_component(segment))
}
