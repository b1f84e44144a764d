//! Values the page measures itself (`perfscope.recordMetric(name, value, meta)` in JS,
//! [`record_metric`] in Rust), sent like every other event.

use crate::pipeline::{record_custom_metric, recorded_metrics};
use perfscope_model::{CustomMetricEvent, Limits};
use std::collections::BTreeMap;

/// Records `value` under `name` (letters, digits, `-`, `_`, `.`; at most 64) with up to
/// ten string labels. Returns `false`, and records nothing, when the tracker is not
/// running (not started, or this session is not sampled) or when the collector would
/// refuse the metric, so a caller can tell.
pub fn record_metric(name: &str, value: f64, meta: &[(&str, &str)]) -> bool {
    let meta: BTreeMap<String, String> = meta
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect();
    record_owned(name.to_owned(), value, meta)
}

pub(crate) fn record_owned(name: String, value: f64, meta: BTreeMap<String, String>) -> bool {
    if meta.len() > Limits::default().max_meta_entries {
        return false;
    }
    record_custom_metric(move |id, ts| CustomMetricEvent {
        id,
        ts,
        name,
        value,
        meta,
    })
}

/// The custom metrics recorded in the current page view, oldest first.
pub fn metrics() -> Vec<CustomMetricEvent> {
    recorded_metrics()
}
