//! The ingest wire format: a batch of events from one page view.

use crate::vital::VitalName;
use serde::{Deserialize, Serialize};

/// Where the tracker posts batches, relative to the collector's origin.
pub const INGEST_PATH: &str = "/api/v1/ingest";

/// One POST from the tracker. `page_view` plus `seq` let the collector tell a retried
/// batch from a new one; each event's `id` makes storing it idempotent.
///
/// Events travel in one array per kind rather than as a tagged list: a tagged enum
/// makes the decoder buffer every event and lose the path of a bad field, while plain
/// arrays decode in one pass and an error can say `vitals[3].value`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// The site's key, as configured on the collector.
    pub site: String,
    /// Random id of the page view the events belong to.
    pub page_view: String,
    /// Position of this batch within its page view, from 0.
    pub seq: u32,
    /// Path of the page the events were measured on (no query string, no fragment).
    pub page: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vitals: Vec<VitalEvent>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_calls: Vec<ApiCallEvent>,
}

impl Batch {
    pub fn event_count(&self) -> usize {
        self.vitals.len() + self.api_calls.len()
    }
}

/// A Core Web Vital measured on the page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VitalEvent {
    pub id: String,
    /// Milliseconds since the Unix epoch.
    pub ts: f64,
    pub name: VitalName,
    /// Milliseconds for durations, unitless for CLS.
    pub value: f64,
}

/// One `fetch()` the page made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiCallEvent {
    pub id: String,
    pub ts: f64,
    pub method: String,
    /// URL path of the request (no query string), so endpoints group together.
    pub path: String,
    /// HTTP status; 0 when the request failed before a response arrived.
    pub status: u16,
    pub duration: f64,
}

impl ApiCallEvent {
    /// Network failures and HTTP 4xx/5xx both count against an endpoint's error rate.
    pub fn is_error(&self) -> bool {
        self.status == 0 || self.status >= 400
    }
}
