//! The ingest wire format: a batch of events from one page view.

use crate::vital::VitalName;
use serde::{Deserialize, Serialize};

/// Where the tracker posts batches, relative to the collector's origin.
pub const INGEST_PATH: &str = "/api/v1/ingest";

/// One POST from the tracker. `page_view` plus `seq` let the collector tell a retried
/// batch from a new one; each event's `id` makes storing it idempotent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    pub events: Vec<Event>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Vital(VitalEvent),
    ApiCall(ApiCallEvent),
}

impl Event {
    pub fn id(&self) -> &str {
        match self {
            Event::Vital(e) => &e.id,
            Event::ApiCall(e) => &e.id,
        }
    }

    /// Wall-clock time the event was measured, in milliseconds since the Unix epoch.
    pub fn timestamp_ms(&self) -> f64 {
        match self {
            Event::Vital(e) => e.ts,
            Event::ApiCall(e) => e.ts,
        }
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
