//! What an embedding site configures: its key, where the collector lives, how eagerly to
//! send, what share of sessions to measure, and how its URLs become route names.

use crate::url_path::RoutePattern;
use perfscope_model::{Limits, INGEST_PATH};

/// Events per batch when the site does not say otherwise. A page load produces about a
/// dozen events (five vitals, a few API calls and assets), so 20 sends a typical page
/// view in one or two requests, and 20 events stay around 4-8 KB of JSON: far inside
/// the 64 KiB keepalive budget even with several batches in flight at unload.
pub const DEFAULT_MAX_BATCH_EVENTS: usize = 20;
/// How long the oldest queued event may wait before its batch is sent anyway. Five
/// seconds groups the bursts of a page load into one request, yet a visitor who stays
/// is seen on the dashboard within seconds; what is pending when the page is hidden or
/// closed leaves at once anyway, so the age limit never costs data, only latency.
pub const DEFAULT_MAX_BATCH_AGE_MS: u32 = 5000;

#[derive(Clone, Debug, PartialEq)]
pub struct TrackerConfig {
    /// The site's key, as configured on the collector.
    pub site: String,
    /// The collector's origin, e.g. `http://127.0.0.1:8080`; empty for the page's own origin.
    pub endpoint: String,
    pub max_batch_events: usize,
    pub max_batch_age_ms: u32,
    /// Share of browser sessions measured, `0..=1`; decided once per session.
    pub sample_rate: f64,
    /// Route names the site chooses (`/blog/:slug`, `/docs/*`), tried before the
    /// automatic id templating.
    pub route_patterns: Vec<RoutePattern>,
    /// API calls whose path matches one of these (same syntax) are not recorded.
    pub exclude_api_patterns: Vec<RoutePattern>,
}

impl TrackerConfig {
    pub fn new(site: impl Into<String>, endpoint: impl Into<String>) -> Self {
        TrackerConfig {
            site: site.into(),
            endpoint: endpoint.into(),
            max_batch_events: DEFAULT_MAX_BATCH_EVENTS,
            max_batch_age_ms: DEFAULT_MAX_BATCH_AGE_MS,
            sample_rate: 1.0,
            route_patterns: Vec::new(),
            exclude_api_patterns: Vec::new(),
        }
    }

    /// Where batches are posted. Relative when the collector is the page's own origin, so
    /// the browser resolves it against the document like any same-origin request.
    pub fn ingest_url(&self) -> String {
        let mut url = self.endpoint.trim().trim_end_matches('/').to_owned();
        url.push_str(INGEST_PATH);
        url
    }

    /// A batch the collector would refuse as too large is as useless as an empty one.
    pub(crate) fn batch_size_limit(&self) -> usize {
        self.max_batch_events.clamp(1, Limits::default().max_events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documented_ones() {
        let config = TrackerConfig::new("demo", "http://127.0.0.1:8080");
        assert_eq!(config.max_batch_events, 20);
        assert_eq!(config.max_batch_age_ms, 5000);
        assert_eq!(config.site, "demo");
    }

    #[test]
    fn ingest_url_joins_origin_and_ingest_path() {
        let url = |endpoint: &str| TrackerConfig::new("demo", endpoint).ingest_url();
        assert_eq!(
            url("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080/api/v1/ingest"
        );
        assert_eq!(
            url("http://127.0.0.1:8080/"),
            "http://127.0.0.1:8080/api/v1/ingest"
        );
        assert_eq!(
            url(" https://c.example// "),
            "https://c.example/api/v1/ingest"
        );
    }

    #[test]
    fn empty_endpoint_means_same_origin() {
        assert_eq!(
            TrackerConfig::new("demo", "").ingest_url(),
            "/api/v1/ingest"
        );
        assert_eq!(
            TrackerConfig::new("demo", "/").ingest_url(),
            "/api/v1/ingest"
        );
    }

    #[test]
    fn batch_size_stays_within_what_the_collector_accepts() {
        let mut config = TrackerConfig::new("demo", "");
        config.max_batch_events = 0;
        assert_eq!(config.batch_size_limit(), 1);
        config.max_batch_events = 10_000;
        assert_eq!(config.batch_size_limit(), 500);
        config.max_batch_events = 7;
        assert_eq!(config.batch_size_limit(), 7);
    }
}
