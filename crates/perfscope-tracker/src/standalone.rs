//! The JS entry points of the one-script-tag build, called by `js/perfscope.js`:
//! `start(...)`, and `recordMetric` / `getMetrics` behind `window.perfscope`.

use crate::config::TrackerConfig;
use crate::custom_metrics::{record_labelled, Labels};
use crate::fetch_wrap::js_string;
use crate::pipeline::recorded_metrics;
use crate::url_path::RoutePattern;
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;

/// `start(site, endpoint, maxBatchEvents?, maxBatchAgeMs?, sampleRate?, routePatterns?,
/// excludeApi?)`; `undefined` keeps a default. Patterns are comma-separated lists.
#[wasm_bindgen(js_name = start)]
pub fn start_standalone(
    site: String,
    endpoint: String,
    max_batch_events: Option<u32>,
    max_batch_age_ms: Option<u32>,
    sample_rate: Option<f64>,
    route_patterns: Option<String>,
    exclude_api: Option<String>,
) -> Result<(), JsValue> {
    let mut config = TrackerConfig::new(site, endpoint);
    if let Some(max_events) = max_batch_events {
        config.max_batch_events = usize::try_from(max_events).unwrap_or(usize::MAX);
    }
    if let Some(max_age_ms) = max_batch_age_ms {
        config.max_batch_age_ms = max_age_ms;
    }
    if let Some(rate) = sample_rate {
        config.sample_rate = rate;
    }
    config.route_patterns = RoutePattern::parse_list(&route_patterns.unwrap_or_default());
    config.exclude_api_patterns = RoutePattern::parse_list(&exclude_api.unwrap_or_default());
    crate::start(config)
}

/// `recordMetric(name, value, meta?)`: `meta` is a plain object whose values are turned
/// into strings. `true` when the metric was accepted.
#[wasm_bindgen(js_name = recordMetric)]
pub fn record_metric_js(name: JsValue, value: JsValue, meta: JsValue) -> bool {
    let (Some(name), Some(value)) = (name.as_string(), value.as_f64()) else {
        return false;
    };
    let mut labels = Labels::default();
    if meta.is_object() {
        let Ok(entries) = Object::entries(meta.unchecked_ref()).dyn_into::<Array>() else {
            return false;
        };
        for entry in entries.iter() {
            let entry: Array = entry.unchecked_into();
            let (Some(key), Ok(value)) = (entry.get(0).as_string(), js_string(&entry.get(1)))
            else {
                return false;
            };
            labels.insert(key, value);
        }
    }
    record_labelled(name, value, labels)
}

/// `getMetrics()`: this page view's custom metrics as `{id, ts, name, value, meta}`.
#[wasm_bindgen(js_name = getMetrics)]
pub fn get_metrics_js() -> Array {
    let list = Array::new();
    for metric in recorded_metrics() {
        let item = Object::new();
        let meta = Object::new();
        for (key, value) in &metric.meta {
            let _ = Reflect::set(&meta, &key.into(), &value.into());
        }
        for (key, value) in [
            ("id", JsValue::from_str(&metric.id)),
            ("ts", metric.ts.into()),
            ("name", JsValue::from_str(&metric.name)),
            ("value", metric.value.into()),
            ("meta", meta.into()),
        ] {
            let _ = Reflect::set(&item, &key.into(), &value);
        }
        list.push(&item);
    }
    list
}
