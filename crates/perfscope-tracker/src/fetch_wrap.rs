//! Records every `fetch()` the page makes, by putting a wrapper in place of `window.fetch`
//! that the page cannot tell from the original.

use crate::api_call::{outcome_of_status, ApiCallPolicy, StartedCall};
use crate::browser::{on_settled, property, response_status, string_property};
use crate::page_guard::observe_after;
use js_sys::Promise;
use perfscope_model::ApiOutcome;
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Performance, Request, Response, Url, Window};

#[wasm_bindgen]
extern "C" {
    /// `String(value)`, as fetch itself stringifies any other input; it may throw.
    #[wasm_bindgen(catch, js_name = String)]
    pub(crate) fn js_string(value: &JsValue) -> Result<String, JsValue>;
}

/// Watches `window.fetch` through `page_guard`.
pub(crate) fn install(
    window: &Window,
    performance: Performance,
    policy: Rc<ApiCallPolicy>,
) -> Option<()> {
    observe_after(window, "fetch", move |fetch| {
        let pending = fetch.result();
        let Some(promise) = pending.dyn_ref::<Promise>() else {
            return;
        };
        let arguments = fetch.arguments();
        // `fetch()` without arguments names no URL; it only ever rejects.
        if arguments.length() == 0 {
            return;
        }
        let (input, init) = (arguments.get(0), arguments.get(1));
        let started_ms = fetch.started_ms();
        let call = request_url(&input)
            .and_then(|url| policy.start(&url, &request_method(&input, &init), started_ms));
        if let Some(call) = call {
            watch(promise, call, performance.clone());
        }
    })
}

fn request_url(input: &JsValue) -> Option<String> {
    if let Some(url) = input.as_string() {
        return Some(url);
    }
    if let Some(request) = input.dyn_ref::<Request>() {
        return string_property(request, "url");
    }
    if let Some(url) = input.dyn_ref::<Url>() {
        return string_property(url, "href");
    }
    js_string(input).ok()
}

/// As fetch decides it: `init.method`, else the `Request`'s, else GET.
fn request_method(input: &JsValue, init: &JsValue) -> String {
    init.is_object()
        .then(|| property(init, "method"))
        .flatten()
        .and_then(|method| js_string(&method).ok())
        .or_else(|| {
            input
                .dyn_ref::<Request>()
                .and_then(|request| string_property(request, "method"))
        })
        .unwrap_or_else(|| "GET".to_owned())
}

fn watch(promise: &Promise, call: StartedCall, performance: Performance) {
    let call = Cell::new(Some(call));
    on_settled(promise, move |settled| {
        let Some(call) = call.take() else {
            return;
        };
        let ended_ms = performance.now();
        match settled {
            Ok(response) => {
                let Ok(response) = response.dyn_into::<Response>() else {
                    return;
                };
                // An opaque (no-cors) response hides its status; 0 would read as a failure.
                if is_opaque(&response) {
                    return;
                }
                let status = response_status(&response);
                call.finish(
                    status,
                    outcome_of_status(status),
                    content_length(&response),
                    ended_ms,
                );
            }
            Err(error) => {
                let aborted = property(&error, "name")
                    .and_then(|name| name.as_string())
                    .is_some_and(|name| name == "AbortError");
                let outcome = if aborted {
                    ApiOutcome::Aborted
                } else {
                    ApiOutcome::NetworkError
                };
                call.finish(0, outcome, None, ended_ms);
            }
        }
    });
}

/// The body size the response announces; the Resource Timing entry fills it otherwise.
fn content_length(response: &Response) -> Option<u64> {
    response
        .headers()
        .get("Content-Length")
        .ok()
        .flatten()
        .and_then(|length| length.trim().parse().ok())
}

fn is_opaque(response: &Response) -> bool {
    property(response, "type")
        .and_then(|kind| kind.as_string())
        .is_some_and(|kind| kind.starts_with("opaque"))
}
