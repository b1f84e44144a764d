//! `PerformanceObserver` with `{type, buffered: true}`, for the entry types the delivery
//! side watches (long frames, resources).

use crate::browser::{callback, property};
use js_sys::{Array, Object, Reflect};
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
pub(crate) fn observe(entry_type: &str, on_entries: impl Fn(Array) + 'static) -> Option<()> {
    if !supports(entry_type) {
        return None;
    }
    let on_list = callback(move |list| {
        on_entries(
            list.unchecked_ref::<PerformanceObserverEntryList>()
                .get_entries(),
        )
    });
    let observer = PerformanceObserver::new(&on_list).ok()?;
    let options = Object::new();
    Reflect::set(&options, &"type".into(), &entry_type.into()).ok()?;
    Reflect::set(&options, &"buffered".into(), &JsValue::TRUE).ok()?;
    observer
        .unchecked_ref::<TypedObserver>()
        .observe(&options)
        .ok()
}
