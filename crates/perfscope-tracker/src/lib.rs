//! The perfscope tracker: measures Core Web Vitals and the page's `fetch()` calls in the
//! browser and sends them in batches to the perfscope collector.
//!
//! Rust apps call [`start`]; other sites load `js/perfscope.js`, which calls the
//! `standalone` build's JS `start`. The pure policy (CLS windows, batching, ids, paths)
//! lives in modules without browser types so it can be tested natively.

mod acceptance;
mod attribution;
mod browser;
mod cls;
mod config;
mod entropy;
mod fetch_wrap;
mod ids;
mod inp;
mod lifecycle;
mod measurement;
mod pipeline;
mod queue;
mod selector;
#[cfg(feature = "standalone")]
mod standalone;
mod transport;
mod url_path;
mod vital_rules;
mod vitals;

pub use config::{TrackerConfig, DEFAULT_MAX_BATCH_AGE_MS, DEFAULT_MAX_BATCH_EVENTS};
#[cfg(feature = "standalone")]
pub use standalone::start_standalone;

use js_sys::Function;
use std::cell::Cell;
use wasm_bindgen::{JsCast, JsValue};

thread_local! {
    static STARTED: Cell<bool> = const { Cell::new(false) };
}

fn missing(what: &str) -> JsValue {
    JsValue::from_str(&format!("perfscope: {what} is not available"))
}

/// Starts measuring this page view. Only the first call does anything, so an app and an
/// embedded script tag can both ask for it. Errors only when the tracker cannot work at
/// all (not a browser window, invalid site key); missing optional browser features just
/// mean fewer metrics.
pub fn start(config: TrackerConfig) -> Result<(), JsValue> {
    if STARTED.with(Cell::get) {
        return Ok(());
    }
    if !acceptance::site_is_acceptable(&config.site) {
        return Err(JsValue::from_str(&format!(
            "perfscope: site key '{}' must be 1-64 letters, digits, '-', '_' or '.'",
            config.site
        )));
    }
    let window = web_sys::window().ok_or_else(|| missing("window"))?;
    let document = window.document().ok_or_else(|| missing("document"))?;
    let performance = window.performance().ok_or_else(|| missing("performance"))?;
    let original_fetch: Function = browser::property(&window, "fetch")
        .and_then(|fetch| fetch.dyn_into().ok())
        .ok_or_else(|| missing("fetch"))?;
    let page = url_path::page_path(&window.location().pathname().unwrap_or_default());
    STARTED.with(|started| started.set(true));

    let ingest_url = config.ingest_url();
    let header = measurement::BatchHeader {
        site: config.site.clone(),
        page_view: ids::hex(&entropy::random_bytes::<16>(&window)),
        page,
    };
    let queue = queue::BatchQueue::new(
        config.batch_size_limit(),
        f64::from(config.max_batch_age_ms),
    );
    let transport =
        transport::Transport::new(window.clone(), ingest_url.clone(), original_fetch.clone());
    pipeline::install(
        window.clone(),
        performance.clone(),
        header,
        queue,
        transport,
    );

    let activation_start_ms = browser::activation_start(&performance);
    lifecycle::install(
        &window,
        &document,
        &performance,
        activation_start_ms,
        on_page_hidden,
    );
    vitals::install(&window, &document, &performance);
    // The page keeps working without API-call tracking if fetch cannot be replaced.
    let _ = fetch_wrap::install(&window, &original_fetch, performance, &ingest_url);
    Ok(())
}

fn on_page_hidden() {
    // Vitals first, so their final values travel with this last flush.
    vitals::on_page_hidden();
    pipeline::flush_for_unload();
}
