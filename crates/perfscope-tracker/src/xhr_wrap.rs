//! Records every `XMLHttpRequest` the page makes: `open` is wrapped to remember method and
//! URL, `send` to start the clock and listen for how the request ends.

use crate::api_call::{outcome_of_status, ApiCallPolicy, StartedCall};
use crate::browser::{event_handler, property};
use crate::fetch_wrap::js_string;
use crate::page_guard::{observe_after, observe_before};
use js_sys::{Array, Object, WeakMap};
use perfscope_model::ApiOutcome;
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Event, EventTarget, Performance, XmlHttpRequest};

/// The events that end a request; exactly one of them fires per `send`.
const ENDINGS: [&str; 4] = ["load", "error", "abort", "timeout"];

/// `None` where the page has no `XMLHttpRequest` (workers, odd embedders).
pub(crate) fn install(performance: Performance, policy: Rc<ApiCallPolicy>) -> Option<()> {
    let prototype = property(&js_sys::global(), "XMLHttpRequest")
        .and_then(|constructor| property(&constructor, "prototype"))?;
    // Request → [method, url], set by `open`, read by `send`; weak, so an abandoned
    // request is not kept alive by the tracker.
    let opened = WeakMap::new();

    let remember = opened.clone();
    observe_after(&prototype, "open", move |open| {
        if let Ok(key) = open.receiver().dyn_into::<Object>() {
            let arguments = open.arguments();
            remember.set(&key, &Array::of2(&arguments.get(0), &arguments.get(1)));
        }
    })?;
    // Before the original: a synchronous request has ended by the time `send` returns.
    observe_before(&prototype, "send", move |send| {
        let xhr = send.receiver();
        if let Some(call) = start_call(&opened, &xhr, &policy, &performance) {
            watch(&xhr, call, performance.clone());
        }
    })
}

fn start_call(
    opened: &WeakMap,
    xhr: &JsValue,
    policy: &ApiCallPolicy,
    performance: &Performance,
) -> Option<StartedCall> {
    let key = xhr.dyn_ref::<Object>()?;
    let request: Array = opened.get(key).dyn_into().ok()?;
    let method = js_string(&request.get(0)).ok()?;
    let url = js_string(&request.get(1)).ok()?;
    policy.start(&url, &method, performance.now())
}

fn watch(xhr: &JsValue, call: StartedCall, performance: Performance) {
    let Some(target) = xhr.dyn_ref::<EventTarget>() else {
        return;
    };
    let call = Rc::new(Cell::new(Some(call)));
    let request = xhr.clone();
    let on_end = event_handler(move |event: Event| {
        let Some(call) = call.take() else {
            return;
        };
        let ended_ms = performance.now();
        let Some(xhr) = request.dyn_ref::<XmlHttpRequest>() else {
            return;
        };
        let (status, outcome) = match event.type_().as_str() {
            "load" => {
                let status = xhr.status().unwrap_or(0);
                (status, outcome_of_status(status))
            }
            "abort" => (0, ApiOutcome::Aborted),
            _ => (0, ApiOutcome::NetworkError),
        };
        let size = xhr
            .get_response_header("Content-Length")
            .ok()
            .flatten()
            .and_then(|length| length.trim().parse().ok());
        call.finish(status, outcome, size, ended_ms);
    });
    for ending in ENDINGS {
        let _ = target.add_event_listener_with_callback(ending, &on_end);
    }
}
