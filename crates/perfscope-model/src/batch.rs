//! The ingest wire format: a batch of events from one page view.

use crate::vital::VitalName;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where the tracker posts batches, relative to the collector's origin.
pub const INGEST_PATH: &str = "/api/v1/ingest";

/// One POST from the tracker. `page_view` plus `seq` let the collector tell a retried
/// batch from a new one and count gaps (lost batches); each event's `id` makes storing
/// it idempotent.
///
/// Events travel in one array per kind rather than as a tagged list: a tagged enum
/// makes the decoder buffer every event and lose the path of a bad field, while plain
/// arrays decode in one pass and an error can say `vitals[3].value`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// The site's public key, as configured on the collector.
    pub site: String,
    /// Random id of the page view the events belong to. A back/forward-cache restore
    /// and a single-page-app route change each start a new page view.
    pub page_view: String,
    /// Position of this batch within its page view, from 0.
    pub seq: u32,
    /// Route of the page: a URL path without query string or fragment, ids templated
    /// (`/users/123` → `/users/:id`).
    pub page: String,
    /// How the page view came about and on what kind of device.
    #[serde(default)]
    pub context: PageContext,
    /// Events the tracker measured but had to drop before sending (its persistent queue
    /// was full), so the collector can count what was lost.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lost: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vitals: Vec<VitalEvent>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_calls: Vec<ApiCallEvent>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub long_frames: Vec<LongFrameEvent>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_metrics: Vec<CustomMetricEvent>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assets: Vec<AssetEvent>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub memory: Vec<MemoryEvent>,
}

fn is_zero(value: &u32) -> bool {
    *value == 0
}

impl Batch {
    pub fn event_count(&self) -> usize {
        self.vitals.len()
            + self.api_calls.len()
            + self.long_frames.len()
            + self.custom_metrics.len()
            + self.assets.len()
            + self.memory.len()
    }
}

/// The circumstances of one page view, shared by all its events.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageContext {
    #[serde(default)]
    pub navigation_type: NavigationType,
    #[serde(default)]
    pub device: DeviceClass,
    /// `navigator.connection.effectiveType` where the browser exposes it.
    #[serde(default)]
    pub connection: ConnectionType,
    /// CSS pixels; 0 when unknown.
    #[serde(default)]
    pub viewport_width: u32,
    #[serde(default)]
    pub viewport_height: u32,
}

/// How the page view started, with the names `web-vitals` reports as `navigationType`
/// plus `soft` for a single-page-app route change.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum NavigationType {
    #[default]
    Navigate,
    Reload,
    BackForward,
    BackForwardCache,
    Prerender,
    Restore,
    Soft,
}

impl NavigationType {
    pub const ALL: [NavigationType; 7] = [
        NavigationType::Navigate,
        NavigationType::Reload,
        NavigationType::BackForward,
        NavigationType::BackForwardCache,
        NavigationType::Prerender,
        NavigationType::Restore,
        NavigationType::Soft,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NavigationType::Navigate => "navigate",
            NavigationType::Reload => "reload",
            NavigationType::BackForward => "back-forward",
            NavigationType::BackForwardCache => "back-forward-cache",
            NavigationType::Prerender => "prerender",
            NavigationType::Restore => "restore",
            NavigationType::Soft => "soft",
        }
    }

    pub fn parse(value: &str) -> Option<NavigationType> {
        NavigationType::ALL
            .into_iter()
            .find(|n| n.as_str() == value)
    }
}

/// A coarse device class, from the viewport and the user agent's mobile hint.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceClass {
    Mobile,
    Tablet,
    Desktop,
    #[default]
    Unknown,
}

impl DeviceClass {
    pub const ALL: [DeviceClass; 4] = [
        DeviceClass::Mobile,
        DeviceClass::Tablet,
        DeviceClass::Desktop,
        DeviceClass::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeviceClass::Mobile => "mobile",
            DeviceClass::Tablet => "tablet",
            DeviceClass::Desktop => "desktop",
            DeviceClass::Unknown => "unknown",
        }
    }

    pub fn parse(value: &str) -> Option<DeviceClass> {
        DeviceClass::ALL.into_iter().find(|d| d.as_str() == value)
    }
}

/// The Network Information API's effective connection type.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub enum ConnectionType {
    #[serde(rename = "slow-2g")]
    Slow2g,
    #[serde(rename = "2g")]
    Cellular2g,
    #[serde(rename = "3g")]
    Cellular3g,
    #[serde(rename = "4g")]
    Cellular4g,
    #[default]
    #[serde(rename = "unknown")]
    Unknown,
}

impl ConnectionType {
    pub const ALL: [ConnectionType; 5] = [
        ConnectionType::Slow2g,
        ConnectionType::Cellular2g,
        ConnectionType::Cellular3g,
        ConnectionType::Cellular4g,
        ConnectionType::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionType::Slow2g => "slow-2g",
            ConnectionType::Cellular2g => "2g",
            ConnectionType::Cellular3g => "3g",
            ConnectionType::Cellular4g => "4g",
            ConnectionType::Unknown => "unknown",
        }
    }

    pub fn parse(value: &str) -> Option<ConnectionType> {
        ConnectionType::ALL
            .into_iter()
            .find(|c| c.as_str() == value)
    }
}

/// A web vital measured on the page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VitalEvent {
    pub id: String,
    /// Milliseconds since the Unix epoch.
    pub ts: f64,
    pub name: VitalName,
    /// Milliseconds for durations, unitless for CLS.
    pub value: f64,
    /// Why the value is what it is; absent when the browser gave nothing to attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution: Option<Attribution>,
}

/// The diagnostic detail `web-vitals`' attribution build reports, flattened into one
/// shape: each vital fills the fields that apply to it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attribution {
    /// CSS selector of the LCP element, the INP event target or the largest shift's
    /// source, at most `Limits::max_selector_len` bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// LCP: the image or resource URL, if the element has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// LCP sub-parts, milliseconds; they add up to the LCP value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_first_byte: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_load_delay: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_load_duration: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub element_render_delay: Option<f64>,
    /// INP: `pointer` or `keyboard`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interaction_type: Option<InteractionType>,
    /// INP phases, milliseconds; they add up to the INP value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_delay: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing_duration: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presentation_delay: Option<f64>,
    /// INP: source URLs of the long-animation-frame scripts that ran during the
    /// interaction, longest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scripts: Vec<String>,
    /// CLS: when the largest shift happened (ms since navigation start) and its score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub largest_shift_time: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub largest_shift_value: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InteractionType {
    Pointer,
    Keyboard,
}

/// One `fetch()` or `XMLHttpRequest` the page made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiCallEvent {
    pub id: String,
    pub ts: f64,
    pub method: String,
    /// Templated URL path of the request (no query string), so endpoints group together.
    pub path: String,
    /// HTTP status; 0 when the request failed before a response arrived.
    pub status: u16,
    pub duration: f64,
    #[serde(default)]
    pub outcome: ApiOutcome,
    /// Response body size in bytes, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_size: Option<u64>,
    /// Phases from the matching Resource Timing entry, when the browser exposes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing: Option<NetworkTiming>,
}

/// How an API call ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApiOutcome {
    #[default]
    Ok,
    HttpError,
    NetworkError,
    Aborted,
}

/// Resource Timing phases of one request, milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkTiming {
    pub dns: f64,
    pub connect: f64,
    pub ttfb: f64,
    pub download: f64,
}

impl ApiCallEvent {
    /// Network failures and HTTP 4xx/5xx both count against an endpoint's error rate;
    /// an abort is the page's own choice and does not.
    pub fn is_error(&self) -> bool {
        match self.outcome {
            ApiOutcome::Aborted => false,
            ApiOutcome::HttpError | ApiOutcome::NetworkError => true,
            ApiOutcome::Ok => self.status == 0 || self.status >= 400,
        }
    }
}

/// A long animation frame (or a long task where LoAF is missing): main-thread work
/// that kept the page from responding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LongFrameEvent {
    pub id: String,
    pub ts: f64,
    pub duration: f64,
    /// Time beyond 50 ms per task that blocked input.
    #[serde(default)]
    pub blocking_duration: f64,
    /// Source URL of the longest script in the frame, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
}

/// A value the page recorded with `perfscope.recordMetric(name, value, meta)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomMetricEvent {
    pub id: String,
    pub ts: f64,
    /// A key: letters, digits, '-', '_' and '.'.
    pub name: String,
    pub value: f64,
    /// Short string labels, at most `Limits::max_meta_entries`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub meta: BTreeMap<String, String>,
}

/// A script or stylesheet the page loaded, for bundle size monitoring.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetEvent {
    pub id: String,
    pub ts: f64,
    pub kind: AssetKind,
    /// URL without query string or fragment.
    pub url: String,
    /// Bytes over the network (0 when served from cache).
    pub transfer_size: u64,
    /// Bytes after decompression.
    pub decoded_size: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AssetKind {
    Script,
    Style,
}

/// A JS heap reading (`performance.memory`, Chromium only).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryEvent {
    pub id: String,
    pub ts: f64,
    pub used_js_heap: u64,
    pub total_js_heap: u64,
    pub js_heap_limit: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_use_the_web_vitals_spelling() {
        for n in NavigationType::ALL {
            assert_eq!(NavigationType::parse(n.as_str()), Some(n));
        }
        for d in DeviceClass::ALL {
            assert_eq!(DeviceClass::parse(d.as_str()), Some(d));
        }
        for c in ConnectionType::ALL {
            assert_eq!(ConnectionType::parse(c.as_str()), Some(c));
        }
    }

    #[test]
    fn aborted_calls_are_not_errors() {
        let mut call = ApiCallEvent {
            id: "a".into(),
            ts: 0.0,
            method: "GET".into(),
            path: "/x".into(),
            status: 0,
            duration: 1.0,
            outcome: ApiOutcome::Aborted,
            response_size: None,
            timing: None,
        };
        assert!(!call.is_error());
        call.outcome = ApiOutcome::NetworkError;
        assert!(call.is_error());
        call.outcome = ApiOutcome::Ok;
        call.status = 503;
        assert!(call.is_error());
    }
}
