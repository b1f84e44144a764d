//! Values the page measures itself (`perfscope.recordMetric(name, value, meta)` in JS,
//! [`record_metric`] in Rust), sent like every other event.

use crate::pipeline::{record_custom_metric, recorded_metrics};
use perfscope_model::{is_key, is_text, CustomMetricEvent, Limits};

/// Records `value` under `name` (letters, digits, `-`, `_`, `.`; at most 64) with up to
/// ten string labels. Returns `false`, and records nothing, when the tracker is not
/// running (not started, or this session is not sampled) or when the collector would
/// refuse the metric, so a caller can tell.
pub fn record_metric(name: &str, value: f64, meta: &[(&str, &str)]) -> bool {
    let mut labels = Labels::default();
    for (key, value) in meta {
        labels.insert((*key).to_owned(), (*value).to_owned());
    }
    record_labelled(name.to_owned(), value, labels)
}

pub(crate) fn record_labelled(name: String, value: f64, meta: Labels) -> bool {
    if meta.0.len() > Limits::default().max_meta_entries {
        return false;
    }
    record_custom_metric(move |id, ts| RecordedMetric {
        id,
        ts,
        name,
        value,
        meta: meta.0,
    })
}

/// The custom metrics recorded in the current page view, oldest first.
pub fn metrics() -> Vec<CustomMetricEvent> {
    recorded_metrics()
        .into_iter()
        .map(|metric| CustomMetricEvent {
            id: metric.id,
            ts: metric.ts,
            name: metric.name,
            value: metric.value,
            meta: metric.meta.into_iter().collect(),
        })
        .collect()
}

/// A metric's labels as the wire's `meta` map has them: sorted by key, a repeated key
/// keeping its last value. A sorted `Vec`, not a `BTreeMap`: a metric has a few labels,
/// and the map's code costs the wasm kilobytes.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Labels(Vec<(String, String)>);

impl Labels {
    pub(crate) fn insert(&mut self, key: String, value: String) {
        match self.0.iter().position(|(k, _)| *k >= key) {
            Some(at) if self.0.get(at).is_some_and(|(k, _)| *k == key) => {
                if let Some(label) = self.0.get_mut(at) {
                    label.1 = value;
                }
            }
            Some(at) => self.0.insert(at, (key, value)),
            None => self.0.push((key, value)),
        }
    }
}

/// A custom metric as the tracker keeps it; the same fields as the model's
/// `CustomMetricEvent`, whose `meta` is a map.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedMetric {
    pub id: String,
    pub ts: f64,
    pub name: String,
    pub value: f64,
    /// Sorted by key, keys unique.
    pub meta: Vec<(String, String)>,
}

impl RecordedMetric {
    /// `CustomMetricEvent::is_plausible`, applied to the labels as a list; the test below
    /// keeps the two in step.
    pub fn is_plausible(&self) -> bool {
        let limits = Limits::default();
        is_key(&self.id, limits.max_id_len)
            && self.ts.is_finite()
            && is_key(&self.name, limits.max_name_len)
            && self.value.is_finite()
            && self.value.abs() <= limits.max_custom_value
            && self.meta.len() <= limits.max_meta_entries
            && self.meta.iter().all(|(key, value)| {
                is_key(key, limits.max_meta_len) && is_text(value, limits.max_meta_len)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        let mut labels = Labels::default();
        for (key, value) in pairs {
            labels.insert((*key).into(), (*value).into());
        }
        labels
    }

    #[test]
    fn labels_are_sorted_and_a_repeated_key_keeps_its_last_value() {
        let labels = labels(&[("plan", "free"), ("a", "1"), ("z", "2"), ("plan", "pro")]);
        let keys: Vec<(&str, &str)> = labels
            .0
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(keys, [("a", "1"), ("plan", "pro"), ("z", "2")]);
    }

    #[test]
    fn plausibility_is_the_models() {
        let metric = |id: &str, name: &str, value: f64, meta: &[(&str, &str)]| RecordedMetric {
            id: id.into(),
            ts: 1.0,
            name: name.into(),
            value,
            meta: labels(meta).0,
        };
        let long = "x".repeat(200);
        let eleven: Vec<(String, String)> =
            (0..11).map(|n| (format!("k{n}"), "v".into())).collect();
        let eleven: Vec<(&str, &str)> = eleven
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let cases = [
            metric("pv-1", "cart.size", 3.0, &[("plan", "pro")]),
            metric("pv-1", "cart size", 3.0, &[]),
            metric("", "n", 3.0, &[]),
            metric("pv-1", "n", f64::NAN, &[]),
            metric("pv-1", "n", -1e300, &[]),
            metric("pv-1", "n", -42.5, &[("bad key", "v")]),
            metric("pv-1", "n", 1.0, &[("k", "line\nbreak")]),
            metric("pv-1", "n", 1.0, &[("k", "")]),
            metric("pv-1", "n", 1.0, &[("k", &long)]),
            metric("pv-1", &long, 1.0, &[]),
            metric("pv-1", "n", 1.0, &eleven),
        ];
        for case in cases {
            let event = CustomMetricEvent {
                id: case.id.clone(),
                ts: case.ts,
                name: case.name.clone(),
                value: case.value,
                meta: case.meta.iter().cloned().collect(),
            };
            assert_eq!(
                case.is_plausible(),
                event.is_plausible(&Limits::default()),
                "{case:?}"
            );
        }
        assert!(metric("pv-1", "cart.size", 3.0, &[("plan", "pro")]).is_plausible());
    }
}
