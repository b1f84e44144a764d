//! Checks a decoded batch against what a real browser can produce.
//!
//! Decoding (types, unknown fields, unknown metric names) is serde's job; this module
//! rejects values that decode fine but cannot be real.
//!
//! The rules are boolean predicates first (`is_key`, `is_url_path`, `is_plausible` …),
//! which the tracker calls before it queues a measurement; `Batch::validate` applies the
//! same predicates and only then builds a message. Keeping the messages out of the
//! predicates keeps float formatting out of the tracker's wasm.

use crate::batch::{ApiCallEvent, Batch, VitalEvent};
use crate::vital::VitalName;

/// The first problem found in a batch: which field, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the field, e.g. `events[3].value`.
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
    pub max_events: usize,
    pub max_id_len: usize,
    pub max_path_len: usize,
    /// How far in the future (clock skew) or the past (stale offline queue) an event may be.
    pub max_future_ms: f64,
    pub max_age_ms: f64,
    /// Longer than this is not a page-load metric or API call but a broken clock.
    pub max_duration_ms: f64,
    pub max_cls: f64,
}

impl Default for Limits {
    fn default() -> Self {
        const DAY_MS: f64 = 24.0 * 3600.0 * 1000.0;
        Limits {
            max_events: 500,
            max_id_len: 64,
            max_path_len: 1024,
            max_future_ms: DAY_MS,
            max_age_ms: 7.0 * DAY_MS,
            max_duration_ms: 3600.0 * 1000.0,
            max_cls: 100.0,
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

/// A finite measurement in `0..=max`.
pub fn is_in_range(value: f64, max: f64) -> bool {
    value.is_finite() && (0.0..=max).contains(&value)
}

impl VitalEvent {
    /// Every rule `Batch::validate` applies to a vital except the timestamp window,
    /// which needs the collector's clock.
    pub fn is_plausible(&self, limits: &Limits) -> bool {
        is_key(&self.id, limits.max_id_len)
            && self.ts.is_finite()
            && is_in_range(self.value, limits.max_vital_value(self.name))
    }
}

impl ApiCallEvent {
    /// Every rule `Batch::validate` applies to an API call except the timestamp window.
    pub fn is_plausible(&self, limits: &Limits) -> bool {
        is_key(&self.id, limits.max_id_len)
            && self.ts.is_finite()
            && HTTP_METHODS.contains(&self.method.as_str())
            && is_url_path(&self.path, limits.max_path_len)
            && self.status <= 599
            && is_in_range(self.duration, limits.max_duration_ms)
    }
}

impl Batch {
    /// `now_ms` is the collector's clock, against which timestamps are judged.
    pub fn validate(&self, limits: &Limits, now_ms: f64) -> Result<(), FieldError> {
        validate_site_key(&self.site)?;
        check_key("page_view", &self.page_view, limits.max_id_len)?;
        check_path("page", &self.page, limits.max_path_len)?;
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
        for (i, v) in self.vitals.iter().enumerate() {
            let at = |field: &str| format!("vitals[{i}].{field}");
            check_key(&at("id"), &v.id, limits.max_id_len)?;
            check_timestamp(&at("ts"), v.ts, limits, now_ms)?;
            check_range(&at("value"), v.value, limits.max_vital_value(v.name))?;
        }
        for (i, a) in self.api_calls.iter().enumerate() {
            let at = |field: &str| format!("api_calls[{i}].{field}");
            check_key(&at("id"), &a.id, limits.max_id_len)?;
            check_timestamp(&at("ts"), a.ts, limits, now_ms)?;
            if !HTTP_METHODS.contains(&a.method.as_str()) {
                return Err(FieldError::new(
                    at("method"),
                    "must be an upper-case HTTP method",
                ));
            }
            check_path(&at("path"), &a.path, limits.max_path_len)?;
            if a.status > 599 {
                return Err(FieldError::new(at("status"), "must be 0 or an HTTP status"));
            }
            check_range(&at("duration"), a.duration, limits.max_duration_ms)?;
        }
        Ok(())
    }
}

/// Site keys travel in URLs and file names, so they are kept to a safe alphabet.
pub fn validate_site_key(site: &str) -> Result<(), FieldError> {
    check_key("site", site, MAX_SITE_LEN)
}

fn check_key(field: &str, value: &str, max_len: usize) -> Result<(), FieldError> {
    if is_key(value, max_len) {
        return Ok(());
    }
    let reason = if value.is_empty() {
        "must not be empty".to_string()
    } else if value.len() > max_len {
        format!("longer than {max_len} characters")
    } else {
        "may only contain letters, digits, '-', '_' and '.'".to_string()
    };
    Err(FieldError::new(field, reason))
}

fn check_path(field: &str, value: &str, max_len: usize) -> Result<(), FieldError> {
    if is_url_path(value, max_len) {
        return Ok(());
    }
    let reason = if !value.starts_with('/') {
        "must be a URL path starting with '/'".to_string()
    } else if value.len() > max_len {
        format!("longer than {max_len} bytes")
    } else {
        "contains control characters".to_string()
    };
    Err(FieldError::new(field, reason))
}

fn check_timestamp(field: &str, ts: f64, limits: &Limits, now_ms: f64) -> Result<(), FieldError> {
    if !ts.is_finite() || ts > now_ms + limits.max_future_ms {
        return Err(FieldError::new(field, "lies too far in the future"));
    }
    if ts < now_ms - limits.max_age_ms {
        return Err(FieldError::new(
            field,
            "is older than the collector accepts",
        ));
    }
    Ok(())
}

fn check_range(field: &str, value: f64, max: f64) -> Result<(), FieldError> {
    if is_in_range(value, max) {
        return Ok(());
    }
    let reason = if !value.is_finite() || value < 0.0 {
        "must be a finite number >= 0".to_string()
    } else {
        format!("must be at most {max}")
    };
    Err(FieldError::new(field, reason))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{ApiCallEvent, VitalEvent};

    const NOW: f64 = 1_700_000_000_000.0;

    fn batch(vitals: Vec<VitalEvent>, api_calls: Vec<ApiCallEvent>) -> Batch {
        Batch {
            site: "demo".into(),
            page_view: "pv-1".into(),
            seq: 0,
            page: "/demo".into(),
            vitals,
            api_calls,
        }
    }

    fn vital(name: VitalName, value: f64) -> VitalEvent {
        VitalEvent {
            id: "e1".into(),
            ts: NOW,
            name,
            value,
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
