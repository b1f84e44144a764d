//! Non-throwing access to browser features that web-sys lacks bindings for or that some
//! browsers lack: a tracker must degrade silently, never break the page.

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Event, EventTarget, Performance, Window};

#[wasm_bindgen]
extern "C" {
    /// A promise whose `then` takes plain functions, so settling a promise needs no
    /// async executor in the wasm.
    type Thenable;
    #[wasm_bindgen(method)]
    fn then(this: &Thenable, on_fulfilled: &Function, on_rejected: &Function);
}

/// `target[key]`; `None` when absent, `null`, or when reading it throws.
pub(crate) fn property(target: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(target, &JsValue::from_str(key))
        .ok()
        .filter(|value| !value.is_undefined() && !value.is_null())
}

pub(crate) fn number_property(target: &JsValue, key: &str) -> Option<f64> {
    property(target, key)?.as_f64()
}

pub(crate) fn string_property(target: &JsValue, key: &str) -> Option<String> {
    property(target, key)?.as_string()
}

/// `location.pathname` of the page: its path as the address bar shows it.
pub(crate) fn current_path(window: &Window) -> String {
    property(window, "location")
        .and_then(|location| string_property(&location, "pathname"))
        .unwrap_or_default()
}

/// An HTTP response's status; 0 when it has none.
pub(crate) fn response_status(response: &JsValue) -> u16 {
    number_property(response, "status").map_or(0, |status| status as u16)
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
    number_property(performance, "timeOrigin").unwrap_or(0.0) + perf_time_ms
}

/// A JS function that runs `handler` with its first argument, owned by the JS garbage
/// collector. Every callback of the tracker has this one Rust type: each distinct
/// closure signature costs its own wasm-bindgen shims in the wasm and in the glue.
pub(crate) fn callback(handler: impl Fn(JsValue) + 'static) -> Function {
    Closure::<dyn Fn(JsValue)>::new(handler)
        .into_js_value()
        .unchecked_into()
}

/// A JS function that runs `handler` for every event.
pub(crate) fn event_handler(handler: impl Fn(Event) + 'static) -> Function {
    callback(move |event| handler(event.unchecked_into()))
}

/// Runs `on_settled(Ok(value))` or `on_settled(Err(reason))` once `promise` settles.
pub(crate) fn on_settled(
    promise: &Promise,
    on_settled: impl Fn(Result<JsValue, JsValue>) + 'static,
) {
    let handler = std::rc::Rc::new(on_settled);
    let rejected = std::rc::Rc::clone(&handler);
    promise.unchecked_ref::<Thenable>().then(
        &callback(move |value| handler(Ok(value))),
        &callback(move |reason| rejected(Err(reason))),
    );
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
