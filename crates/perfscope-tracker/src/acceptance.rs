//! Whether the collector would accept a value, checked before anything is queued: one bad
//! measurement would get its whole batch refused.
//!
//! These are the model's `Batch::validate` rules restated without its error messages,
//! whose float formatting alone would add ~20 KB to the wasm. The tests hold both to the
//! same verdicts, so the copy cannot drift from the model unnoticed.

use crate::measurement::Measurement;
use perfscope_model::{Limits, VitalName};

/// Site keys are limited like event ids; the model spells the limit out for them.
const MAX_SITE_LEN: usize = 64;

const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
];

fn is_key(value: &str, max_len: usize) -> bool {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    !value.is_empty() && value.len() <= max_len && value.chars().all(allowed)
}

fn is_path(value: &str, limits: &Limits) -> bool {
    value.starts_with('/')
        && value.len() <= limits.max_path_len
        && !value.chars().any(char::is_control)
}

fn is_in_range(value: f64, max: f64) -> bool {
    value.is_finite() && (0.0..=max).contains(&value)
}

pub fn site_is_acceptable(site: &str) -> bool {
    is_key(site, MAX_SITE_LEN)
}

/// Timestamps are not judged: the tracker's clock is the only one it has.
pub fn measurement_is_acceptable(measurement: &Measurement) -> bool {
    let limits = Limits::default();
    match measurement {
        Measurement::Vital(vital) => {
            let max = if vital.name == VitalName::Cls {
                limits.max_cls
            } else {
                limits.max_duration_ms
            };
            is_key(&vital.id, limits.max_id_len)
                && vital.ts.is_finite()
                && is_in_range(vital.value, max)
        }
        Measurement::ApiCall(call) => {
            is_key(&call.id, limits.max_id_len)
                && call.ts.is_finite()
                && METHODS.contains(&call.method.as_str())
                && is_path(&call.path, &limits)
                && call.status <= 599
                && is_in_range(call.duration, limits.max_duration_ms)
        }
    }
}

/// The model's own verdict on a page path, for tests elsewhere in the crate.
#[cfg(test)]
pub fn model_accepts_page(page: &str) -> bool {
    tests::model_accepts("site", page, &tests::vital(VitalName::Cls, 0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measurement::{assemble, BatchHeader};
    use perfscope_model::{ApiCallEvent, VitalEvent};

    const NOW: f64 = 1_700_000_000_000.0;

    pub(super) fn model_accepts(site: &str, page: &str, measurement: &Measurement) -> bool {
        let header = BatchHeader {
            site: site.into(),
            page_view: "0123456789abcdef".into(),
            page: page.into(),
        };
        assemble(&header, 0, vec![measurement.clone()])
            .validate(&Limits::default(), NOW)
            .is_ok()
    }

    pub(super) fn vital(name: VitalName, value: f64) -> Measurement {
        Measurement::Vital(VitalEvent {
            id: "pv-1".into(),
            ts: NOW,
            name,
            value,
        })
    }

    fn api_call(method: &str, path: &str, status: u16, duration: f64) -> Measurement {
        Measurement::ApiCall(ApiCallEvent {
            id: "pv-2".into(),
            ts: NOW,
            method: method.into(),
            path: path.into(),
            status,
            duration,
        })
    }

    fn with_id(mut measurement: Measurement, id: &str) -> Measurement {
        match &mut measurement {
            Measurement::Vital(v) => v.id = id.into(),
            Measurement::ApiCall(a) => a.id = id.into(),
        }
        measurement
    }

    fn corpus() -> Vec<Measurement> {
        let mut all = Vec::new();
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
        for name in VitalName::ALL {
            for value in values {
                all.push(vital(name, value));
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
            "/ü",
            long_path.as_str(),
            too_long_path.as_str(),
        ];
        let methods = ["GET", "POST", "TRACE", "get", "BREW", ""];
        for path in paths {
            for method in methods {
                for status in [0, 200, 599, 600] {
                    for duration in [0.0, 12.5, 3_600_000.0, 3_600_000.5, -1.0, f64::NAN] {
                        all.push(api_call(method, path, status, duration));
                    }
                }
            }
        }
        let ids = [
            "",
            "a",
            "pv-1.x_y",
            "has space",
            "ü",
            &"x".repeat(64),
            &"x".repeat(65),
        ];
        for id in ids {
            all.push(with_id(vital(VitalName::Lcp, 1.0), id));
            all.push(with_id(api_call("GET", "/x", 200, 1.0), id));
        }
        all
    }

    #[test]
    fn measurements_get_the_models_verdict() {
        for measurement in corpus() {
            assert_eq!(
                measurement_is_acceptable(&measurement),
                model_accepts("site", "/", &measurement),
                "{measurement:?}"
            );
        }
    }

    #[test]
    fn sites_get_the_models_verdict() {
        let long = "s".repeat(64);
        let too_long = "s".repeat(65);
        let sites = [
            "perfscope-dashboard",
            "demo.site_1",
            "",
            "my site",
            "<script>",
            "ü",
            long.as_str(),
            too_long.as_str(),
        ];
        for site in sites {
            let model = model_accepts(site, "/", &vital(VitalName::Cls, 0.0));
            assert_eq!(site_is_acceptable(site), model, "{site:?}");
        }
        assert!(site_is_acceptable("perfscope-dashboard"));
        assert!(!site_is_acceptable("my site"));
    }

    #[test]
    fn the_corpus_has_both_verdicts() {
        let verdicts: Vec<bool> = corpus().iter().map(measurement_is_acceptable).collect();
        assert!(verdicts.iter().filter(|ok| **ok).count() > 50);
        assert!(verdicts.iter().filter(|ok| !**ok).count() > 50);
    }

    #[test]
    fn typical_measurements_pass() {
        assert!(measurement_is_acceptable(&vital(VitalName::Lcp, 1234.5)));
        assert!(measurement_is_acceptable(&vital(VitalName::Cls, 0.0)));
        assert!(measurement_is_acceptable(&api_call(
            "POST",
            "/api/v1/items",
            0,
            3.0
        )));
        assert!(!measurement_is_acceptable(&api_call(
            "GET",
            "text/plain,hi",
            200,
            1.0
        )));
    }
}
