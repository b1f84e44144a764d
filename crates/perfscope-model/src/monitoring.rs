//! Wire types of backend monitoring: cache layer stats, resource samples from other
//! services, monitoring time series, alerts and recommendations.

use crate::validation::{is_key, FieldError};
use serde::{Deserialize, Serialize};

/// One cache layer's counters, as the collector reports its own layers and as other
/// services post theirs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheLayerStats {
    /// `l1`, `l2`, `l3`, or any key a service names its layer by.
    pub layer: String,
    pub entries: u64,
    pub bytes: u64,
    /// Byte limit of the layer; 0 when the service has none.
    #[serde(default)]
    pub limit_bytes: u64,
    pub hits: u64,
    pub misses: u64,
    /// hits / (hits + misses); `None` before the first lookup.
    #[serde(default)]
    pub hit_rate: Option<f64>,
    #[serde(default)]
    pub evictions: u64,
    #[serde(default)]
    pub expirations: u64,
    /// Entries promoted into this layer from a colder one.
    #[serde(default)]
    pub promotions: u64,
    #[serde(default)]
    pub invalidations: u64,
}

impl CacheLayerStats {
    pub fn computed_hit_rate(hits: u64, misses: u64) -> Option<f64> {
        let lookups = hits + misses;
        (lookups > 0).then(|| hits as f64 / lookups as f64)
    }
}

/// `GET /api/v1/cache/stats`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CacheStats {
    pub layers: Vec<CacheLayerStats>,
    /// Lookups answered by any layer over all lookups.
    pub hit_rate: Option<f64>,
    /// Identical queries that waited for one computation instead of starting their own.
    pub coalesced: u64,
}

/// One named resource reading (`cpu`, `memory_used_ratio`, `connections` …).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceSample {
    pub name: String,
    pub value: f64,
}

/// `POST /api/v1/sources/{source}/samples`: what another service reports about itself.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSamples {
    /// Milliseconds since the Unix epoch; the collector's clock when absent.
    #[serde(default)]
    pub ts: Option<i64>,
    #[serde(default)]
    pub cache_layers: Vec<CacheLayerStats>,
    #[serde(default)]
    pub resources: Vec<ResourceSample>,
}

/// Most entries one post may carry, per array.
pub const MAX_SOURCE_ENTRIES: usize = 256;
/// A sample more than this far from the collector's clock is refused, in ms.
pub const MAX_SOURCE_SKEW_MS: i64 = 24 * 3600 * 1000;

impl SourceSamples {
    /// Checks every field, naming the first one that fails.
    pub fn validate(&self, now_ms: i64) -> Result<(), FieldError> {
        if let Some(ts) = self.ts {
            if (ts - now_ms).abs() > MAX_SOURCE_SKEW_MS {
                return Err(FieldError::new(
                    "ts",
                    "must be within 24 hours of the collector's clock",
                ));
            }
        }
        if self.cache_layers.is_empty() && self.resources.is_empty() {
            return Err(FieldError::new(
                "cache_layers",
                "at least one of `cache_layers` and `resources` must be non-empty",
            ));
        }
        for (field, len) in [
            ("cache_layers", self.cache_layers.len()),
            ("resources", self.resources.len()),
        ] {
            if len > MAX_SOURCE_ENTRIES {
                return Err(FieldError::new(
                    field,
                    format!("must have at most {MAX_SOURCE_ENTRIES} entries"),
                ));
            }
        }
        for (i, layer) in self.cache_layers.iter().enumerate() {
            if !is_key(&layer.layer, 64) {
                return Err(FieldError::new(
                    format!("cache_layers[{i}].layer"),
                    "must be 1-64 characters of a-z, A-Z, 0-9, `.`, `_`, `-`",
                ));
            }
            if let Some(rate) = layer.hit_rate {
                if !(0.0..=1.0).contains(&rate) {
                    return Err(FieldError::new(
                        format!("cache_layers[{i}].hit_rate"),
                        "must be between 0 and 1",
                    ));
                }
            }
        }
        for (i, resource) in self.resources.iter().enumerate() {
            if !is_key(&resource.name, 64) {
                return Err(FieldError::new(
                    format!("resources[{i}].name"),
                    "must be 1-64 characters of a-z, A-Z, 0-9, `.`, `_`, `-`",
                ));
            }
            if !resource.value.is_finite() {
                return Err(FieldError::new(
                    format!("resources[{i}].value"),
                    "must be a finite number",
                ));
            }
        }
        Ok(())
    }
}

/// One bucket of a monitoring time series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MonitorPoint {
    /// Bucket start (or the sample time for raw points), ms since the Unix epoch.
    pub ts: i64,
    pub count: u64,
    pub avg: f64,
    pub min: f64,
    pub max: f64,
}

/// `GET /api/v1/monitor/series`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MonitorSeries {
    pub name: String,
    pub from: i64,
    pub to: i64,
    pub bucket_ms: i64,
    pub points: Vec<MonitorPoint>,
}

/// What an alert rule watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertMetric {
    Lcp,
    Inp,
    Cls,
    Fcp,
    Ttfb,
    ApiLatency,
    ApiErrorRate,
    CacheHitRate,
    Cpu,
    Memory,
    Disk,
}

impl AlertMetric {
    /// Metrics measured per site from the events the trackers send.
    pub fn is_per_site(self) -> bool {
        matches!(
            self,
            AlertMetric::Lcp
                | AlertMetric::Inp
                | AlertMetric::Cls
                | AlertMetric::Fcp
                | AlertMetric::Ttfb
                | AlertMetric::ApiLatency
                | AlertMetric::ApiErrorRate
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    P75,
    P95,
    /// A share (error rate, hit rate) over the window.
    Rate,
    Average,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Comparison {
    #[serde(rename = ">")]
    Above,
    #[serde(rename = ">=")]
    AtLeast,
    #[serde(rename = "<")]
    Below,
    #[serde(rename = "<=")]
    AtMost,
}

impl Comparison {
    pub fn breached(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::Above => value > threshold,
            Comparison::AtLeast => value >= threshold,
            Comparison::Below => value < threshold,
            Comparison::AtMost => value <= threshold,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::Above => ">",
            Comparison::AtLeast => ">=",
            Comparison::Below => "<",
            Comparison::AtMost => "<=",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

/// An alert rule, from the config file or the API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    /// Key of the rule (`lcp_p75`); unique.
    pub id: String,
    pub metric: AlertMetric,
    pub aggregation: Aggregation,
    pub comparison: Comparison,
    pub threshold: f64,
    /// Seconds of data each evaluation aggregates.
    pub window_secs: u64,
    /// Seconds the condition must hold before the alert fires; 0 fires at once.
    #[serde(default)]
    pub for_secs: u64,
    pub severity: Severity,
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
    /// Per-site metrics only: the site watched; every site when absent.
    #[serde(default)]
    pub site: Option<String>,
}

impl AlertRule {
    pub fn validate(&self) -> Result<(), FieldError> {
        if !is_key(&self.id, 64) {
            return Err(FieldError::new(
                "id",
                "must be 1-64 characters of a-z, A-Z, 0-9, `.`, `_`, `-`",
            ));
        }
        if !self.threshold.is_finite() {
            return Err(FieldError::new("threshold", "must be a finite number"));
        }
        if !(10..=30 * 86_400).contains(&self.window_secs) {
            return Err(FieldError::new(
                "window_secs",
                "must be between 10 seconds and 30 days",
            ));
        }
        if self.for_secs > 7 * 86_400 {
            return Err(FieldError::new("for_secs", "must be at most 7 days"));
        }
        if let Some(site) = &self.site {
            if !self.metric.is_per_site() {
                return Err(FieldError::new(
                    "site",
                    "applies only to vital and API metrics",
                ));
            }
            if !is_key(site, crate::MAX_SITE_LEN) {
                return Err(FieldError::new("site", "is not a valid site key"));
            }
        }
        let fits = match self.metric {
            AlertMetric::Lcp
            | AlertMetric::Inp
            | AlertMetric::Cls
            | AlertMetric::Fcp
            | AlertMetric::Ttfb => matches!(self.aggregation, Aggregation::P75 | Aggregation::P95),
            AlertMetric::ApiLatency => self.aggregation == Aggregation::P95,
            AlertMetric::ApiErrorRate | AlertMetric::CacheHitRate => {
                self.aggregation == Aggregation::Rate
            }
            AlertMetric::Cpu | AlertMetric::Memory | AlertMetric::Disk => {
                self.aggregation == Aggregation::Average
            }
        };
        if !fits {
            return Err(FieldError::new(
                "aggregation",
                "does not apply to this metric (vitals: p75 or p95; API latency: p95; \
                 rates: rate; CPU, memory, disk: average)",
            ));
        }
        for (key, value) in &self.labels {
            if !is_key(key, 64) || value.len() > 256 {
                return Err(FieldError::new(
                    format!("labels.{key}"),
                    "keys are 1-64 key characters, values at most 256 bytes",
                ));
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    Inactive,
    Pending,
    Firing,
    Resolved,
}

/// One alert instance: a rule, and for per-site rules the site.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertInfo {
    pub rule_id: String,
    /// `""` for rules that are not per site.
    pub site: String,
    pub status: AlertStatus,
    pub severity: Severity,
    pub value: Option<f64>,
    pub threshold: f64,
    /// When the current status began, ms since the Unix epoch.
    pub since_ms: i64,
    pub acknowledged: bool,
    /// Notifications are held until this time, ms since the Unix epoch.
    pub silenced_until_ms: Option<i64>,
}

/// One change of an alert's status.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertTransition {
    pub rule_id: String,
    pub site: String,
    pub from: AlertStatus,
    pub to: AlertStatus,
    pub value: Option<f64>,
    pub threshold: f64,
    pub severity: Severity,
    pub ts_ms: i64,
}

/// One attempt to deliver a notification to a webhook.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    pub webhook: String,
    pub rule_id: String,
    pub site: String,
    pub attempt: u32,
    pub ts_ms: i64,
    pub ok: bool,
    /// HTTP status, when the receiver answered.
    pub status: Option<u16>,
    pub error: Option<String>,
}

/// A rule-based hint read from the data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// Stable key of the rule that produced it (`slow_ttfb`, `grow_l1` …).
    pub kind: String,
    pub site: Option<String>,
    pub message: String,
}
