//! Checks a decoded batch against what a real browser can produce.
//!
//! Decoding (types, unknown fields, unknown metric names) is serde's job; this module
//! rejects values that decode fine but cannot be real.
//!
//! The rules are boolean predicates first (`is_key`, `is_url_path`, `is_plausible` …),
//! which the tracker calls before it queues a measurement; `Batch::validate` applies the
//! same predicates and only then builds a message. Keeping the messages out of the
//! predicates keeps float formatting out of the tracker's wasm.

use crate::batch::{
    ApiCallEvent, AssetEvent, Attribution, Batch, CustomMetricEvent, LongFrameEvent, MemoryEvent,
    PageContext, VitalEvent,
};
use crate::vital::VitalName;

/// The first problem found in a batch: which field, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the field, e.g. `vitals[3].value`.
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for FieldError {}

/// Bounds a batch must stay within.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Events per batch, all kinds together.
    pub max_events: usize,
    pub max_id_len: usize,
    pub max_path_len: usize,
    /// Full URLs (LCP resources, script sources, assets).
    pub max_url_len: usize,
    /// CSS selectors in attributions; the tracker shortens longer ones.
    pub max_selector_len: usize,
    /// Script URLs per INP attribution.
    pub max_scripts: usize,
    /// Custom metric names.
    pub max_name_len: usize,
    pub max_meta_entries: usize,
    /// Custom metric meta keys and values.
    pub max_meta_len: usize,
    /// How far in the future (clock skew) or the past (stale offline queue) an event may be.
    pub max_future_ms: f64,
    pub max_age_ms: f64,
    /// Longer than this is not a page-load metric or API call but a broken clock.
    pub max_duration_ms: f64,
    pub max_cls: f64,
    /// Custom metric values, either sign.
    pub max_custom_value: f64,
    /// Byte counts (response sizes, assets, heap); a terabyte is already absurd.
    pub max_bytes: u64,
    pub max_viewport_px: u32,
}

impl Default for Limits {
    fn default() -> Self {
        const DAY_MS: f64 = 24.0 * 3600.0 * 1000.0;
        Limits {
            max_events: 500,
            max_id_len: 64,
            max_path_len: 1024,
            max_url_len: 2048,
            max_selector_len: 256,
            max_scripts: 5,
            max_name_len: 64,
            max_meta_entries: 10,
            max_meta_len: 128,
            max_future_ms: DAY_MS,
            max_age_ms: 7.0 * DAY_MS,
            max_duration_ms: 3600.0 * 1000.0,
            max_cls: 100.0,
            max_custom_value: 1e15,
            max_bytes: 1 << 40,
            max_viewport_px: 100_000,
        }
    }
}

/// Longest site key; keys travel in URLs and file names.
pub const MAX_SITE_LEN: usize = 64;

pub const HTTP_METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
];

impl Limits {
    /// CLS is a score; every other vital is a duration.
    pub fn max_vital_value(&self, name: VitalName) -> f64 {
        if name == VitalName::Cls {
            self.max_cls
        } else {
            self.max_duration_ms
        }
    }
}

/// 1 to `max_len` bytes of letters, digits, '-', '_' and '.'.
pub fn is_key(value: &str, max_len: usize) -> bool {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    !value.is_empty() && value.len() <= max_len && value.chars().all(allowed)
}

/// An absolute URL path of at most `max_len` bytes, without control characters.
pub fn is_url_path(value: &str, max_len: usize) -> bool {
    value.starts_with('/') && value.len() <= max_len && !value.chars().any(char::is_control)
}

/// 1 to `max_len` bytes of printable text (selectors, URLs, labels).
pub fn is_text(value: &str, max_len: usize) -> bool {
    !value.is_empty() && value.len() <= max_len && !value.chars().any(char::is_control)
}

/// A finite measurement in `0..=max`.
pub fn is_in_range(value: f64, max: f64) -> bool {
    value.is_finite() && (0.0..=max).contains(&value)
}

/// Why a value was refused. Kept apart from the message so the tracker, which only
/// asks yes or no, links no formatting code.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Problem {
    NotKey { len: usize, max: usize },
    NotPath { len: usize, max: usize },
    NotText { len: usize, max: usize },
    OutOfRange { value: f64, max: f64 },
    OutOfSignedRange { max: f64 },
    NotFinite,
    TooMany { max: usize },
    BadMethod,
    BadStatus,
}

impl Problem {
    fn message(self) -> String {
        match self {
            Problem::NotKey { len: 0, .. } | Problem::NotText { len: 0, .. } => {
                "must not be empty".into()
            }
            Problem::NotKey { len, max } if len > max => {
                format!("longer than {max} characters")
            }
            Problem::NotKey { .. } => "may only contain letters, digits, '-', '_' and '.'".into(),
            Problem::NotPath { len, max } if len > max => format!("longer than {max} bytes"),
            Problem::NotPath { len: 0, .. } => "must be a URL path starting with '/'".into(),
            Problem::NotPath { .. } => {
                "must be a URL path starting with '/', without control characters".into()
            }
            Problem::NotText { len, max } if len > max => format!("longer than {max} bytes"),
            Problem::NotText { .. } => "contains control characters".into(),
            Problem::OutOfRange { value, .. } if !value.is_finite() || value < 0.0 => {
                "must be a finite number >= 0".into()
            }
            Problem::OutOfRange { max, .. } => format!("must be at most {max}"),
            Problem::OutOfSignedRange { max } => {
                format!("must be a finite number between -{max} and {max}")
            }
            Problem::NotFinite => "must be a finite number".into(),
            Problem::TooMany { max } => format!("at most {max} entries"),
            Problem::BadMethod => "must be an upper-case HTTP method".into(),
            Problem::BadStatus => "must be 0 or an HTTP status".into(),
        }
    }
}

type Check = Result<(), (&'static str, Problem)>;

fn key(field: &'static str, value: &str, max: usize) -> Check {
    if is_key(value, max) {
        return Ok(());
    }
    let len = value.len();
    Err((field, Problem::NotKey { len, max }))
}

fn path(field: &'static str, value: &str, max: usize) -> Check {
    if is_url_path(value, max) {
        return Ok(());
    }
    let len = if value.starts_with('/') {
        value.len()
    } else {
        0
    };
    Err((field, Problem::NotPath { len, max }))
}

fn text(field: &'static str, value: &str, max: usize) -> Check {
    if is_text(value, max) {
        return Ok(());
    }
    let len = value.len();
    Err((field, Problem::NotText { len, max }))
}

fn optional_text(field: &'static str, value: &Option<String>, max: usize) -> Check {
    value.as_deref().map_or(Ok(()), |v| text(field, v, max))
}

fn range(field: &'static str, value: f64, max: f64) -> Check {
    if is_in_range(value, max) {
        return Ok(());
    }
    Err((field, Problem::OutOfRange { value, max }))
}

fn optional_range(field: &'static str, value: Option<f64>, max: f64) -> Check {
    value.map_or(Ok(()), |v| range(field, v, max))
}

fn bytes(field: &'static str, value: u64, max: u64) -> Check {
    if value <= max {
        return Ok(());
    }
    Err((
        field,
        Problem::OutOfRange {
            value: value as f64,
            max: max as f64,
        },
    ))
}

fn finite(field: &'static str, value: f64) -> Check {
    if value.is_finite() {
        return Ok(());
    }
    Err((field, Problem::NotFinite))
}

fn count(field: &'static str, len: usize, max: usize) -> Check {
    if len <= max {
        return Ok(());
    }
    Err((field, Problem::TooMany { max }))
}

impl VitalEvent {
    fn check(&self, limits: &Limits) -> Check {
        key("id", &self.id, limits.max_id_len)?;
        finite("ts", self.ts)?;
        range("value", self.value, limits.max_vital_value(self.name))?;
        if let Some(attribution) = &self.attribution {
            attribution.check(limits)?;
        }
        Ok(())
    }

    /// Every rule `Batch::validate` applies to a vital except the timestamp window,
    /// which needs the collector's clock.
    pub fn is_plausible(&self, limits: &Limits) -> bool {
        self.check(limits).is_ok()
    }
}

impl Attribution {
    fn check(&self, limits: &Limits) -> Check {
        let ms = limits.max_duration_ms;
        optional_text("attribution.target", &self.target, limits.max_selector_len)?;
        optional_text("attribution.url", &self.url, limits.max_url_len)?;
        optional_range(
            "attribution.time_to_first_byte",
            self.time_to_first_byte,
            ms,
        )?;
        optional_range(
            "attribution.resource_load_delay",
            self.resource_load_delay,
            ms,
        )?;
        optional_range(
            "attribution.resource_load_duration",
            self.resource_load_duration,
            ms,
        )?;
        optional_range(
            "attribution.element_render_delay",
            self.element_render_delay,
            ms,
        )?;
        optional_range("attribution.input_delay", self.input_delay, ms)?;
        optional_range(
            "attribution.processing_duration",
            self.processing_duration,
            ms,
        )?;
        optional_range(
            "attribution.presentation_delay",
            self.presentation_delay,
            ms,
        )?;
        count(
            "attribution.scripts",
            self.scripts.len(),
            limits.max_scripts,
        )?;
        for script in &self.scripts {
            text("attribution.scripts", script, limits.max_url_len)?;
        }
        optional_range(
            "attribution.largest_shift_time",
            self.largest_shift_time,
            ms,
        )?;
        optional_range(
            "attribution.largest_shift_value",
            self.largest_shift_value,
            limits.max_cls,
        )
    }
}

impl ApiCallEvent {
    fn check(&self, limits: &Limits) -> Check {
        key("id", &self.id, limits.max_id_len)?;
        finite("ts", self.ts)?;
        if !HTTP_METHODS.contains(&self.method.as_str()) {
            return Err(("method", Problem::BadMethod));
        }
        path("path", &self.path, limits.max_path_len)?;
        if self.status > 599 {
            return Err(("status", Problem::BadStatus));
        }
        range("duration", self.duration, limits.max_duration_ms)?;
        if let Some(size) = self.response_size {
            bytes("response_size", size, limits.max_bytes)?;
        }
        if let Some(t) = &self.timing {
            let ms = limits.max_duration_ms;
            range("timing.dns", t.dns, ms)?;
            range("timing.connect", t.connect, ms)?;
            range("timing.ttfb", t.ttfb, ms)?;
            range("timing.download", t.download, ms)?;
        }
        Ok(())
    }

    /// Every rule `Batch::validate` applies to an API call except the timestamp window.
    pub fn is_plausible(&self, limits: &Limits) -> bool {
        self.check(limits).is_ok()
    }
}

impl LongFrameEvent {
    fn check(&self, limits: &Limits) -> Check {
        key("id", &self.id, limits.max_id_len)?;
        finite("ts", self.ts)?;
        range("duration", self.duration, limits.max_duration_ms)?;
        range(
            "blocking_duration",
            self.blocking_duration,
            limits.max_duration_ms,
        )?;
        optional_text("script", &self.script, limits.max_url_len)
    }

    pub fn is_plausible(&self, limits: &Limits) -> bool {
        self.check(limits).is_ok()
    }
}

impl CustomMetricEvent {
    fn check(&self, limits: &Limits) -> Check {
        key("id", &self.id, limits.max_id_len)?;
        finite("ts", self.ts)?;
        key("name", &self.name, limits.max_name_len)?;
        let max = limits.max_custom_value;
        if !(self.value.is_finite() && self.value.abs() <= max) {
            return Err(("value", Problem::OutOfSignedRange { max }));
        }
        count("meta", self.meta.len(), limits.max_meta_entries)?;
        for (k, v) in &self.meta {
            key("meta", k, limits.max_meta_len)?;
            text("meta", v, limits.max_meta_len)?;
        }
        Ok(())
    }

    pub fn is_plausible(&self, limits: &Limits) -> bool {
        self.check(limits).is_ok()
    }
}

impl AssetEvent {
    fn check(&self, limits: &Limits) -> Check {
        key("id", &self.id, limits.max_id_len)?;
        finite("ts", self.ts)?;
        text("url", &self.url, limits.max_url_len)?;
        bytes("transfer_size", self.transfer_size, limits.max_bytes)?;
        bytes("decoded_size", self.decoded_size, limits.max_bytes)
    }

    pub fn is_plausible(&self, limits: &Limits) -> bool {
        self.check(limits).is_ok()
    }
}

impl MemoryEvent {
    fn check(&self, limits: &Limits) -> Check {
        key("id", &self.id, limits.max_id_len)?;
        finite("ts", self.ts)?;
        bytes("used_js_heap", self.used_js_heap, limits.max_bytes)?;
        bytes("total_js_heap", self.total_js_heap, limits.max_bytes)?;
        bytes("js_heap_limit", self.js_heap_limit, limits.max_bytes)
    }

    pub fn is_plausible(&self, limits: &Limits) -> bool {
        self.check(limits).is_ok()
    }
}

impl PageContext {
    fn check(&self, limits: &Limits) -> Check {
        if self.viewport_width > limits.max_viewport_px {
            return Err(("viewport_width", too_wide(limits)));
        }
        if self.viewport_height > limits.max_viewport_px {
            return Err(("viewport_height", too_wide(limits)));
        }
        Ok(())
    }
}

fn too_wide(limits: &Limits) -> Problem {
    Problem::OutOfRange {
        value: 0.0,
        max: f64::from(limits.max_viewport_px),
    }
}

/// The fields every event kind shares, for the timestamp window check.
trait Timestamped {
    fn ts(&self) -> f64;
    fn check(&self, limits: &Limits) -> Check;
}

macro_rules! timestamped {
    ($($kind:ty),*) => {$(
        impl Timestamped for $kind {
            fn ts(&self) -> f64 {
                self.ts
            }
            fn check(&self, limits: &Limits) -> Check {
                <$kind>::check(self, limits)
            }
        }
    )*};
}

timestamped!(
    VitalEvent,
    ApiCallEvent,
    LongFrameEvent,
    CustomMetricEvent,
    AssetEvent,
    MemoryEvent
);

fn check_events<E: Timestamped>(
    kind: &str,
    events: &[E],
    limits: &Limits,
    now_ms: f64,
) -> Result<(), FieldError> {
    for (i, event) in events.iter().enumerate() {
        // The path is only formatted for a refused event: building it for every
        // accepted one was an allocation per event on the collector's hot path.
        let at = |field: &str| format!("{kind}[{i}].{field}");
        event
            .check(limits)
            .map_err(|(field, problem)| FieldError::new(at(field), problem.message()))?;
        check_timestamp(event.ts(), limits, now_ms)
            .map_err(|reason| FieldError::new(at("ts"), reason))?;
    }
    Ok(())
}

impl Batch {
    /// `now_ms` is the collector's clock, against which timestamps are judged.
    pub fn validate(&self, limits: &Limits, now_ms: f64) -> Result<(), FieldError> {
        let top = |(field, problem): (&str, Problem)| FieldError::new(field, problem.message());
        validate_site_key(&self.site)?;
        key("page_view", &self.page_view, limits.max_id_len).map_err(top)?;
        path("page", &self.page, limits.max_path_len).map_err(top)?;
        self.context.check(limits).map_err(|(field, problem)| {
            FieldError::new(format!("context.{field}"), problem.message())
        })?;
        let count = self.event_count();
        if count == 0 {
            return Err(FieldError::new(
                "vitals",
                "a batch must contain at least one event",
            ));
        }
        if count > limits.max_events {
            return Err(FieldError::new(
                "vitals",
                format!(
                    "at most {} events per batch, all kinds together",
                    limits.max_events
                ),
            ));
        }
        check_events("vitals", &self.vitals, limits, now_ms)?;
        check_events("api_calls", &self.api_calls, limits, now_ms)?;
        check_events("long_frames", &self.long_frames, limits, now_ms)?;
        check_events("custom_metrics", &self.custom_metrics, limits, now_ms)?;
        check_events("assets", &self.assets, limits, now_ms)?;
        check_events("memory", &self.memory, limits, now_ms)
    }
}

/// Site keys travel in URLs and file names, so they are kept to a safe alphabet.
pub fn validate_site_key(site: &str) -> Result<(), FieldError> {
    key("site", site, MAX_SITE_LEN)
        .map_err(|(field, problem)| FieldError::new(field, problem.message()))
}

/// Why a timestamp is refused, if it is.
fn check_timestamp(ts: f64, limits: &Limits, now_ms: f64) -> Result<(), &'static str> {
    if !ts.is_finite() || ts > now_ms + limits.max_future_ms {
        return Err("lies too far in the future");
    }
    if ts < now_ms - limits.max_age_ms {
        return Err("is older than the collector accepts");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{ApiCallEvent, Attribution, CustomMetricEvent, VitalEvent};

    const NOW: f64 = 1_700_000_000_000.0;

    fn batch(vitals: Vec<VitalEvent>, api_calls: Vec<ApiCallEvent>) -> Batch {
        Batch {
            site: "demo".into(),
            page_view: "pv-1".into(),
            seq: 0,
            page: "/demo".into(),
            vitals,
            api_calls,
            ..Batch::default()
        }
    }

    fn vital(name: VitalName, value: f64) -> VitalEvent {
        VitalEvent {
            id: "e1".into(),
            ts: NOW,
            name,
            value,
            attribution: None,
        }
    }

    fn api(method: &str, status: u16, duration: f64) -> ApiCallEvent {
        ApiCallEvent {
            id: "e2".into(),
            ts: NOW,
            method: method.into(),
            path: "/api/x".into(),
            status,
            duration,
            outcome: Default::default(),
            response_size: None,
            timing: None,
        }
    }

    fn field_of(b: Batch) -> String {
        b.validate(&Limits::default(), NOW).unwrap_err().field
    }

    #[test]
    fn realistic_batch_passes() {
        let b = batch(
            vec![vital(VitalName::Lcp, 1234.5)],
            vec![api("GET", 200, 12.0)],
        );
        assert_eq!(b.validate(&Limits::default(), NOW), Ok(()));
    }

    #[test]
    fn impossible_values_name_their_field() {
        let f = |v| field_of(batch(vec![v], vec![]));
        assert_eq!(f(vital(VitalName::Lcp, -1.0)), "vitals[0].value");
        assert_eq!(f(vital(VitalName::Cls, 101.0)), "vitals[0].value");
        assert_eq!(f(vital(VitalName::Fcp, f64::NAN)), "vitals[0].value");
        assert_eq!(
            field_of(batch(
                vec![vital(VitalName::Lcp, 1.0)],
                vec![api("get", 200, 1.0)]
            )),
            "api_calls[0].method"
        );
        assert_eq!(
            field_of(batch(vec![], vec![api("GET", 600, 1.0)])),
            "api_calls[0].status"
        );
        assert_eq!(
            field_of(batch(vec![], vec![api("GET", 200, -3.0)])),
            "api_calls[0].duration"
        );
        assert_eq!(field_of(batch(vec![], vec![])), "vitals");
    }

    #[test]
    fn too_many_events_are_rejected() {
        let many = (0..501).map(|_| vital(VitalName::Lcp, 1.0)).collect();
        assert_eq!(field_of(batch(many, vec![])), "vitals");
    }

    #[test]
    fn timestamps_far_from_now_are_rejected() {
        let mut future = vital(VitalName::Lcp, 1.0);
        future.ts = NOW + 2.0 * 24.0 * 3600.0 * 1000.0;
        assert_eq!(field_of(batch(vec![future], vec![])), "vitals[0].ts");
        let mut stale = api("GET", 200, 1.0);
        stale.ts = NOW - 8.0 * 24.0 * 3600.0 * 1000.0;
        assert_eq!(field_of(batch(vec![], vec![stale])), "api_calls[0].ts");
    }

    #[test]
    fn keys_and_paths_are_checked() {
        let mut b = batch(vec![vital(VitalName::Lcp, 1.0)], vec![]);
        b.site = "<script>".into();
        assert_eq!(field_of(b), "site");
        let mut b = batch(vec![vital(VitalName::Lcp, 1.0)], vec![]);
        b.page = "demo".into();
        assert_eq!(field_of(b), "page");
        let mut b = batch(vec![vital(VitalName::Lcp, 1.0)], vec![]);
        b.vitals[0].id = "a b".into();
        assert_eq!(field_of(b), "vitals[0].id");
    }

    #[test]
    fn attribution_and_other_kinds_are_checked() {
        let mut v = vital(VitalName::Lcp, 10.0);
        v.attribution = Some(Attribution {
            target: Some("x".repeat(257)),
            ..Attribution::default()
        });
        assert_eq!(
            field_of(batch(vec![v], vec![])),
            "vitals[0].attribution.target"
        );
        let mut b = batch(vec![], vec![]);
        b.custom_metrics.push(CustomMetricEvent {
            id: "c1".into(),
            ts: NOW,
            name: "checkout time".into(),
            value: 1.0,
            meta: Default::default(),
        });
        assert_eq!(field_of(b.clone()), "custom_metrics[0].name");
        b.custom_metrics[0].name = "checkout_time".into();
        b.custom_metrics[0].value = -5.0;
        assert_eq!(b.validate(&Limits::default(), NOW), Ok(()));
        b.context.viewport_width = 200_000;
        assert_eq!(field_of(b), "context.viewport_width");
    }

    /// `is_plausible` must agree with `validate` on every event, or the tracker would
    /// queue events the collector refuses (and a whole batch with them).
    #[test]
    fn plausibility_agrees_with_validation() {
        let accepts = |vitals: Vec<VitalEvent>, api_calls: Vec<ApiCallEvent>| {
            batch(vitals, api_calls)
                .validate(&Limits::default(), NOW)
                .is_ok()
        };
        let limits = Limits::default();
        let values = [
            0.0,
            0.05,
            1.0,
            99.9,
            100.0,
            100.1,
            2500.0,
            3_600_000.0,
            3_600_001.0,
            -0.0,
            -1.0,
            f64::NAN,
            f64::INFINITY,
        ];
        let ids = [
            "",
            "a",
            "pv-1.x_y",
            "has space",
            "\u{fc}",
            &"x".repeat(64),
            &"x".repeat(65),
        ];
        let (mut accepted, mut refused) = (0, 0);
        let mut tally = |ok: bool| if ok { accepted += 1 } else { refused += 1 };
        for name in VitalName::ALL {
            for value in values {
                for id in ids {
                    let mut v = vital(name, value);
                    v.id = id.into();
                    let plausible = v.is_plausible(&limits);
                    assert_eq!(plausible, accepts(vec![v.clone()], vec![]), "{v:?}");
                    tally(plausible);
                }
            }
        }
        let long_path = format!("/{}", "a".repeat(1023));
        let too_long_path = format!("/{}", "a".repeat(1024));
        let paths = [
            "/",
            "/api/x",
            "api/x",
            "",
            "/a\u{0}b",
            "/\u{fc}",
            &long_path,
            &too_long_path,
        ];
        for path in paths {
            for method in ["GET", "POST", "TRACE", "get", "BREW", ""] {
                for status in [0, 200, 599, 600] {
                    for duration in [0.0, 12.5, 3_600_000.0, 3_600_000.5, -1.0, f64::NAN] {
                        let mut a = api(method, status, duration);
                        a.path = path.into();
                        let plausible = a.is_plausible(&limits);
                        assert_eq!(plausible, accepts(vec![], vec![a.clone()]), "{a:?}");
                        tally(plausible);
                    }
                }
            }
        }
        assert!(
            accepted > 50 && refused > 50,
            "{accepted} accepted, {refused} refused"
        );
    }
}
