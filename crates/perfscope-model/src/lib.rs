//! The one definition of what travels between tracker, collector and dashboard.
//!
//! Everything here is plain data plus pure functions: no JSON library, no I/O, so the
//! wasm tracker can depend on it without paying for a serializer it does not use.

mod auth;
mod batch;
mod monitoring;
mod query;
mod validation;
mod vital;

pub use auth::{LoginRequest, SessionInfo, LOGIN_PATH, LOGOUT_PATH, SESSION_PATH};
pub use batch::{
    ApiCallEvent, ApiOutcome, AssetEvent, AssetKind, Attribution, Batch, ConnectionType,
    CustomMetricEvent, DeviceClass, InteractionType, LongFrameEvent, MemoryEvent, NavigationType,
    NetworkTiming, PageContext, VitalEvent, INGEST_PATH,
};
pub use monitoring::{
    Aggregation, AlertInfo, AlertMetric, AlertRule, AlertStatus, AlertTransition, CacheLayerStats,
    CacheStats, Comparison, DeliveryAttempt, MonitorPoint, MonitorSeries, Recommendation,
    ResourceSample, Severity, SourceSamples, MAX_SOURCE_ENTRIES, MAX_SOURCE_SKEW_MS,
};
pub use query::{
    ApiErrorBody, ApiErrorResponse, BreakdownRow, Dimension, EndpointSummary, Filter, Series,
    SeriesPoint, SiteInfo, Summary, TargetSummary, VitalSample, VitalSummary,
};
pub use validation::{
    is_in_range, is_key, is_text, is_url_path, validate_site_key, FieldError, Limits, HTTP_METHODS,
    MAX_SITE_LEN,
};
pub use vital::{format_duration_ms, Rating, Thresholds, VitalName};
