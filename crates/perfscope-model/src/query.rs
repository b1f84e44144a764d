//! Answers of the query API, decoded by the dashboard and encoded by the collector.

use crate::batch::{ConnectionType, DeviceClass, NavigationType};
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

/// One vital over a range: percentiles (each `None` when no sample fell in the range)
/// and how many samples fell in each web.dev rating band.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VitalSummary {
    pub name: VitalName,
    pub count: u64,
    #[serde(default)]
    pub p50: Option<f64>,
    pub p75: Option<f64>,
    #[serde(default)]
    pub p90: Option<f64>,
    #[serde(default)]
    pub p95: Option<f64>,
    #[serde(default)]
    pub p99: Option<f64>,
    #[serde(default)]
    pub good: u64,
    #[serde(default)]
    pub needs_improvement: u64,
    #[serde(default)]
    pub poor: u64,
}

/// One API endpoint, grouped by method and path.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EndpointSummary {
    pub method: String,
    pub path: String,
    pub count: u64,
    /// Calls per minute over the queried range.
    #[serde(default)]
    pub throughput_per_min: f64,
    pub p50: f64,
    pub p95: f64,
    #[serde(default)]
    pub p99: f64,
    /// Share of calls that failed (network error or HTTP status >= 400), 0..=1.
    pub error_rate: f64,
}

/// What a breakdown groups by; also the names of the filter parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Route,
    Device,
    Browser,
    Connection,
    NavigationType,
}

impl Dimension {
    pub const ALL: [Dimension; 5] = [
        Dimension::Route,
        Dimension::Device,
        Dimension::Browser,
        Dimension::Connection,
        Dimension::NavigationType,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Route => "route",
            Dimension::Device => "device",
            Dimension::Browser => "browser",
            Dimension::Connection => "connection",
            Dimension::NavigationType => "navigation_type",
        }
    }

    pub fn parse(value: &str) -> Option<Dimension> {
        Dimension::ALL.into_iter().find(|d| d.as_str() == value)
    }
}

/// Restricts a query to page views with these properties; `None` matches all.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Filter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceClass>,
    /// Browser family as the collector classifies the User-Agent (`chrome`, `firefox`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<ConnectionType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub navigation_type: Option<NavigationType>,
}

/// `GET /api/v1/breakdown`: one vital per value of a dimension, most samples first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BreakdownRow {
    /// The dimension's value (`/users/:id`, `mobile`, `chrome`, … or `other` for the
    /// overflow bucket of the cardinality guard).
    pub key: String,
    pub summary: VitalSummary,
}

/// `GET /api/v1/series`: one point per time bucket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    /// Bucket start, milliseconds since the Unix epoch.
    pub ts: i64,
    pub count: u64,
    pub p50: Option<f64>,
    pub p75: Option<f64>,
    pub p95: Option<f64>,
    /// API series only: share of failed calls in the bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<f64>,
}

/// `GET /api/v1/series` answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub site: String,
    pub from: i64,
    pub to: i64,
    /// Bucket width chosen from the range, milliseconds.
    pub bucket_ms: i64,
    pub points: Vec<SeriesPoint>,
}

/// `GET /api/v1/targets`: attribution targets (LCP elements, CLS sources, INP targets)
/// with the vital's p75 where they were blamed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetSummary {
    pub target: String,
    pub count: u64,
    pub p75: f64,
}

/// `GET /api/v1/samples`: raw events for drill-down, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VitalSample {
    pub id: String,
    pub ts: i64,
    pub page_view: String,
    pub route: String,
    pub name: VitalName,
    pub value: f64,
    pub device: DeviceClass,
    pub browser: String,
    pub connection: ConnectionType,
    pub navigation_type: NavigationType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// `GET /api/v1/sites`: sites that have sent data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SiteInfo {
    pub site: String,
    pub events: u64,
    /// Newest event, milliseconds since the Unix epoch.
    pub last_seen: i64,
    /// Events the trackers measured but had to drop before sending (the sum of each
    /// distinct batch's `lost`).
    #[serde(default)]
    pub lost_events: u64,
    /// Batches that never arrived: per page view, the gaps in the `seq` numbers received
    /// (a late batch fills its gap again).
    #[serde(default)]
    pub missing_batches: u64,
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
