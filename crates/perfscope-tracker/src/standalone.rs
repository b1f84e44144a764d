//! The JS entry point of the one-script-tag build, called by `js/perfscope.js`.

use crate::config::TrackerConfig;
use wasm_bindgen::prelude::*;

/// `start(site, endpoint, maxBatchEvents?, maxBatchAgeMs?)`; `undefined` keeps a default.
#[wasm_bindgen(js_name = start)]
pub fn start_standalone(
    site: String,
    endpoint: String,
    max_batch_events: Option<u32>,
    max_batch_age_ms: Option<u32>,
) -> Result<(), JsValue> {
    let mut config = TrackerConfig::new(site, endpoint);
    if let Some(max_events) = max_batch_events {
        config.max_batch_events = usize::try_from(max_events).unwrap_or(usize::MAX);
    }
    if let Some(max_age_ms) = max_batch_age_ms {
        config.max_batch_age_ms = max_age_ms;
    }
    crate::start(config)
}
