//! `PerformanceObserver` with `{type, buffered: true}`: the one way every part of the
//! tracker (vitals, long frames, resources) observes performance entries.

use crate::browser::{callback, property};
use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{PerformanceObserver, PerformanceObserverEntryList};

#[wasm_bindgen]
extern "C" {
    /// web-sys only binds the `entryTypes` form, which cannot replay buffered entries,
    /// and its `observe()` cannot throw.
    type TypedObserver;
    #[wasm_bindgen(method, catch)]
    fn observe(this: &TypedObserver, options: &Object) -> Result<(), JsValue>;
}

pub(crate) fn supports(entry_type: &str) -> bool {
    property(&js_sys::global(), "PerformanceObserver")
        .and_then(|constructor| property(&constructor, "supportedEntryTypes"))
        .and_then(|types| types.dyn_into::<Array>().ok())
        .is_some_and(|types| types.includes(&JsValue::from_str(entry_type), 0))
}

/// `None` where the browser lacks the entry type: that data is then simply not reported.
/// `duration_threshold` only applies to `event` entries.
pub(crate) fn observe(
    entry_type: &str,
    duration_threshold: Option<f64>,
    on_entries: impl Fn(Array) + 'static,
) -> Option<PerformanceObserver> {
    // The generic part stays this one line, so each caller adds only its own closure.
    observe_with(
        entry_type,
        duration_threshold,
        &callback(move |list| {
            on_entries(
                list.unchecked_ref::<PerformanceObserverEntryList>()
                    .get_entries(),
            )
        }),
    )
}

fn observe_with(
    entry_type: &str,
    duration_threshold: Option<f64>,
    on_list: &Function,
) -> Option<PerformanceObserver> {
    if !supports(entry_type) {
        return None;
    }
    let observer = PerformanceObserver::new(on_list).ok()?;
    observe_more(&observer, entry_type, duration_threshold)?;
    Some(observer)
}

/// Adds an entry type to an observer, replaying what the browser buffered.
pub(crate) fn observe_more(
    observer: &PerformanceObserver,
    entry_type: &str,
    duration_threshold: Option<f64>,
) -> Option<()> {
    if !supports(entry_type) {
        return None;
    }
    let options = Object::new();
    Reflect::set(&options, &"type".into(), &entry_type.into()).ok()?;
    Reflect::set(&options, &"buffered".into(), &JsValue::TRUE).ok()?;
    if let Some(threshold) = duration_threshold {
        Reflect::set(&options, &"durationThreshold".into(), &threshold.into()).ok()?;
    }
    observer
        .unchecked_ref::<TypedObserver>()
        .observe(&options)
        .ok()
}
