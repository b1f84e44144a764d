//! Non-throwing access to browser features that web-sys lacks bindings for or that some
//! browsers lack: a tracker must degrade silently, never break the page.

use js_sys::{Function, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Event, EventTarget, Performance, Window};

/// `target[key]`; `None` when absent, `null`, or when reading it throws.
pub(crate) fn property(target: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(target, &JsValue::from_str(key))
        .ok()
        .filter(|value| !value.is_undefined() && !value.is_null())
}

pub(crate) fn number_property(target: &JsValue, key: &str) -> Option<f64> {
    property(target, key)?.as_f64()
}

/// The page's `navigation` timing entry, if the browser keeps one.
pub(crate) fn navigation_entry(performance: &Performance) -> Option<JsValue> {
    let entry = performance.get_entries_by_type("navigation").get(0);
    (!entry.is_undefined()).then_some(entry)
}

/// When a prerendered page was shown to the user; 0 for ordinary loads.
pub(crate) fn activation_start(performance: &Performance) -> f64 {
    navigation_entry(performance)
        .and_then(|entry| number_property(&entry, "activationStart"))
        .filter(|start| start.is_finite() && *start > 0.0)
        .unwrap_or(0.0)
}

/// `performance.now()` time as wall-clock milliseconds since the Unix epoch.
pub(crate) fn wall_clock_ms(performance: &Performance, perf_time_ms: f64) -> f64 {
    performance.time_origin() + perf_time_ms
}

/// A JS function that runs `handler` for every event, owned by the JS garbage collector.
pub(crate) fn event_handler(handler: impl Fn(Event) + 'static) -> Function {
    Closure::<dyn Fn(Event)>::new(handler)
        .into_js_value()
        .unchecked_into()
}

pub(crate) fn listen(target: &EventTarget, event_type: &str, handler: &Function) {
    // Capture phase, so a page calling stopPropagation() cannot hide the event from us.
    let _ = target.add_event_listener_with_callback_and_bool(event_type, handler, true);
}

pub(crate) fn unlisten(target: &EventTarget, event_type: &str, handler: &Function) {
    let _ = target.remove_event_listener_with_callback_and_bool(event_type, handler, true);
}

/// `setTimeout`, with the delay clamped to what browsers accept.
pub(crate) fn set_timeout(window: &Window, callback: &Function, delay_ms: f64) -> Option<i32> {
    let delay = delay_ms.ceil().clamp(0.0, f64::from(i32::MAX)) as i32;
    window
        .set_timeout_with_callback_and_timeout_and_arguments_0(callback, delay)
        .ok()
}
