//! Whether the collector would accept a value, checked before anything is queued: one bad
//! measurement would get its whole batch refused.
//!
//! The rules are the model's own predicates; its `Batch::validate` would also build error
//! messages, whose float formatting alone would add ~20 KB to the wasm.

use crate::measurement::Measurement;
use perfscope_model::{is_key, Limits, MAX_SITE_LEN};

pub fn site_is_acceptable(site: &str) -> bool {
    is_key(site, MAX_SITE_LEN)
}

/// Timestamps are not judged: the tracker's clock is the only one it has.
pub fn measurement_is_acceptable(measurement: &Measurement) -> bool {
    let limits = Limits::default();
    match measurement {
        Measurement::Vital(vital) => vital.is_plausible(&limits),
        Measurement::ApiCall(call, _) => call.is_plausible(&limits),
        Measurement::LongFrame(frame) => frame.is_plausible(&limits),
        Measurement::CustomMetric(metric) => metric.is_plausible(&limits),
        Measurement::Asset(asset) => asset.is_plausible(&limits),
        Measurement::Memory(reading) => reading.is_plausible(&limits),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfscope_model::{ApiCallEvent, CustomMetricEvent, VitalEvent, VitalName};

    fn api_call(path: &str) -> Measurement {
        Measurement::ApiCall(
            ApiCallEvent {
                id: "pv-2".into(),
                ts: 1.0,
                method: "POST".into(),
                path: path.into(),
                status: 0,
                duration: 3.0,
                outcome: Default::default(),
                response_size: None,
                timing: None,
            },
            None,
        )
    }

    #[test]
    fn typical_measurements_pass_and_impossible_ones_do_not() {
        let lcp = Measurement::Vital(VitalEvent {
            id: "pv-1".into(),
            ts: 1.0,
            name: VitalName::Lcp,
            value: 1234.5,
            attribution: None,
        });
        assert!(measurement_is_acceptable(&lcp));
        assert!(measurement_is_acceptable(&api_call("/api/v1/items")));
        assert!(!measurement_is_acceptable(&api_call("text/plain,hi")));
        let metric = |name: &str| {
            Measurement::CustomMetric(CustomMetricEvent {
                id: "pv-3".into(),
                ts: 1.0,
                name: name.into(),
                value: -3.0,
                meta: Default::default(),
            })
        };
        assert!(measurement_is_acceptable(&metric("cart.size")));
        assert!(!measurement_is_acceptable(&metric("cart size")));
        assert!(site_is_acceptable("perfscope-dashboard"));
        assert!(!site_is_acceptable("my site"));
    }
}
