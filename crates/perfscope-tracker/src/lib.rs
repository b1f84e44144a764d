//! The perfscope tracker: measures Core Web Vitals, the page's API calls, long frames,
//! assets, heap and custom metrics in the browser and delivers them to the perfscope
//! collector without losing any.
//!
//! Rust apps call [`start`] (and [`record_metric`]); other sites load `js/perfscope.js`,
//! which calls the `standalone` build's JS `start`. The pure policy (CLS windows,
//! batching, the outbox, backoff, storage layout, JSON, ids, routes, sampling) lives in
//! modules without browser types so it can be tested natively.

mod acceptance;
mod api_call;
mod attribution;
mod browser;
mod cls;
mod config;
mod custom_metrics;
mod entropy;
mod entry_observer;
mod fetch_wrap;
mod ids;
mod inp;
mod json;
mod lifecycle;
mod local_store;
mod long_frames;
mod measurement;
mod outbox;
mod page_context;
mod page_guard;
mod page_resources;
mod pipeline;
mod queue;
mod resource_timing;
mod sampling;
mod selector;
mod session;
mod soft_navigation;
#[cfg(feature = "standalone")]
mod standalone;
mod stored_batch;
mod transport;
mod url_path;
mod vital_rules;
mod vitals;
mod xhr_wrap;

pub use config::{TrackerConfig, DEFAULT_MAX_BATCH_AGE_MS, DEFAULT_MAX_BATCH_EVENTS};
pub use custom_metrics::{metrics, record_metric};
pub use perfscope_model::CustomMetricEvent;
#[cfg(feature = "standalone")]
pub use standalone::start_standalone;
pub use url_path::RoutePattern;

use js_sys::Function;
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};

/// Only the one-script-tag build picks the allocator; a Rust app that links the tracker
/// keeps its own.
#[cfg(all(
    feature = "standalone",
    target_arch = "wasm32",
    not(target_feature = "atomics")
))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

thread_local! {
    static STARTED: Cell<bool> = const { Cell::new(false) };
}

/// Errors stay plain strings: `format!` would link Rust's formatting machinery.
fn error(parts: &[&str]) -> JsValue {
    let mut message = String::from("perfscope: ");
    for part in parts {
        message.push_str(part);
    }
    JsValue::from_str(&message)
}

fn missing(what: &str) -> JsValue {
    error(&[what, " is not available"])
}

/// Starts measuring this page view. Only the first call does anything, so an app and an
/// embedded script tag can both ask for it. Errors only when the tracker cannot work at
/// all (not a browser window, invalid site key); missing optional browser features just
/// mean fewer metrics. A session outside the sample rate starts nothing.
pub fn start(config: TrackerConfig) -> Result<(), JsValue> {
    if STARTED.with(Cell::get) {
        return Ok(());
    }
    if !acceptance::site_is_acceptable(&config.site) {
        return Err(error(&[
            "site key '",
            &config.site,
            "' must be 1-64 letters, digits, '-', '_' or '.'",
        ]));
    }
    let window = web_sys::window().ok_or_else(|| missing("window"))?;
    let document = window.document().ok_or_else(|| missing("document"))?;
    let performance = window.performance().ok_or_else(|| missing("performance"))?;
    let original_fetch: Function = browser::property(&window, "fetch")
        .and_then(|fetch| fetch.dyn_into().ok())
        .ok_or_else(|| missing("fetch"))?;
    STARTED.with(|started| started.set(true));
    if !session::is_measured(&window, config.sample_rate) {
        return Ok(());
    }

    let ingest_url = config.ingest_url();
    pipeline::install(pipeline::Setup {
        window: window.clone(),
        performance: performance.clone(),
        site: config.site.clone(),
        navigation_type: page_context::initial_navigation_type(&performance, &document),
        route_patterns: config.route_patterns.clone(),
        batcher: queue::BatchQueue::new(
            config.batch_size_limit(),
            f64::from(config.max_batch_age_ms),
        ),
        transport: transport::Transport::new(
            window.clone(),
            ingest_url.clone(),
            original_fetch.clone(),
        ),
    });

    let activation_start_ms = browser::activation_start(&performance);
    lifecycle::install(
        &window,
        &document,
        &performance,
        activation_start_ms,
        on_page_hidden,
    );
    vitals::install(&window, &document, &performance);
    // Each of these only adds data: the page keeps working if one cannot be installed.
    let policy = Rc::new(api_call::ApiCallPolicy::new(
        window.location(),
        &ingest_url,
        config.route_patterns,
        config.exclude_api_patterns,
    ));
    let _ = fetch_wrap::install(&window, performance.clone(), Rc::clone(&policy));
    let _ = xhr_wrap::install(performance.clone(), policy);
    let _ = soft_navigation::install(&window, performance);
    let _ = long_frames::install();
    let _ = page_resources::install_assets();
    Ok(())
}

fn on_page_hidden() {
    // Vitals first, so their final values travel with this last flush.
    vitals::on_page_hidden();
    if let Some(performance) = web_sys::window().and_then(|window| window.performance()) {
        page_resources::record_memory(&performance);
    }
    pipeline::flush_for_unload();
}
