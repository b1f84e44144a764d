//! Answers of the query API, decoded by the dashboard and encoded by the collector.

use crate::vital::VitalName;
use serde::{Deserialize, Serialize};

/// `GET /api/v1/summary`: the state of one site over a time range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub site: String,
    /// Range start and end, milliseconds since the Unix epoch.
    pub from: i64,
    pub to: i64,
    pub vitals: Vec<VitalSummary>,
    pub endpoints: Vec<EndpointSummary>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VitalSummary {
    pub name: VitalName,
    pub count: u64,
    /// `None` when no sample fell in the range.
    pub p75: Option<f64>,
}

/// One API endpoint, grouped by method and path.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EndpointSummary {
    pub method: String,
    pub path: String,
    pub count: u64,
    pub p50: f64,
    pub p95: f64,
    /// Share of calls that failed (network error or HTTP status >= 400), 0..=1.
    pub error_rate: f64,
}

/// `GET /api/v1/sites`: sites that have sent data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SiteInfo {
    pub site: String,
    pub events: u64,
    /// Newest event, milliseconds since the Unix epoch.
    pub last_seen: i64,
}

/// The body of every 4xx/5xx answer from the collector's API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiErrorResponse {
    pub error: ApiErrorBody,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    /// Machine-readable kind, e.g. `invalid_field`, `payload_too_large`, `not_found`.
    pub code: String,
    pub message: String,
    /// The offending field, when the error is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}
