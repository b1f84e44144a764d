//! Records every `fetch()` the page makes, by putting a wrapper in place of `window.fetch`
//! that the page cannot tell from the original.

use crate::browser::property;
use crate::pipeline::record_api_call;
use crate::url_path::path_of;
use js_sys::{Array, Function, Object, Promise, Proxy, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Location, Performance, Request, Response, Url, Window};

#[wasm_bindgen]
extern "C" {
    /// `String(value)`, as fetch itself stringifies any other input; it may throw.
    #[wasm_bindgen(catch, js_name = String)]
    fn js_string(value: &JsValue) -> Result<String, JsValue>;
}

/// An absolute URL reduced to what identifies an endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Endpoint {
    origin: String,
    path: String,
}

fn resolve(url: &str, location: &Location) -> Option<Endpoint> {
    let base = location.href().ok()?;
    let resolved = Url::new_with_base(url, &base).ok()?;
    Some(Endpoint {
        origin: resolved.origin(),
        path: resolved.pathname(),
    })
}

/// What is known about a call before it settles.
struct Call {
    method: String,
    path: String,
    started_ms: f64,
}

/// Replaces `window.fetch` with a `Proxy` of the original. A proxy, not a plain wrapper
/// function: it hands over the exact argument list (`fetch()` and `fetch(undefined)`
/// differ) and the receiver, and keeps the original's `name`, `length` and
/// native-looking `toString()`, which some pages and libraries check.
pub(crate) fn install(
    window: &Window,
    original_fetch: &Function,
    performance: Performance,
    ingest_url: &str,
) -> Result<(), JsValue> {
    let location = window.location();
    let ingest = resolve(ingest_url, &location);
    // `Fn`, not `FnMut`: a page may call fetch from code that fetch itself triggers.
    let apply = Closure::<dyn Fn(Function, JsValue, Array) -> Result<JsValue, JsValue>>::new(
        move |target: Function, receiver: JsValue, arguments: Array| {
            let started_ms = performance.now();
            // Whatever the original does, the page gets exactly that: the same promise, or
            // the same exception.
            let pending = Reflect::apply(&target, &receiver, &arguments)?;
            let Some(promise) = pending.dyn_ref::<Promise>() else {
                return Ok(pending);
            };
            // `fetch()` without arguments names no URL; it only ever rejects.
            if arguments.length() == 0 {
                return Ok(pending);
            }
            let (input, init) = (arguments.get(0), arguments.get(1));
            let endpoint = request_url(&input)
                .and_then(|url| resolve(&url, &location).or_else(|| fallback_endpoint(&url)));
            if let Some(endpoint) = endpoint.filter(|endpoint| ingest.as_ref() != Some(endpoint)) {
                let call = Call {
                    method: request_method(&input, &init),
                    path: endpoint.path,
                    started_ms,
                };
                watch(promise.clone(), call, performance.clone());
            }
            Ok(pending)
        },
    );
    let handler = Object::new();
    Reflect::set(&handler, &"apply".into(), &apply.into_js_value())?;
    let proxy = Proxy::new(original_fetch, &handler);
    Reflect::set(window, &"fetch".into(), &proxy)?;
    Ok(())
}

/// Only reached when `URL` cannot parse what fetch was given, i.e. a call that fails.
fn fallback_endpoint(url: &str) -> Option<Endpoint> {
    Some(Endpoint {
        origin: String::new(),
        path: path_of(url)?,
    })
}

fn request_url(input: &JsValue) -> Option<String> {
    if let Some(url) = input.as_string() {
        return Some(url);
    }
    if let Some(request) = input.dyn_ref::<Request>() {
        return Some(request.url());
    }
    if let Some(url) = input.dyn_ref::<Url>() {
        return Some(url.href());
    }
    js_string(input).ok()
}

/// As fetch decides it: `init.method`, else the `Request`'s, else GET.
fn request_method(input: &JsValue, init: &JsValue) -> String {
    let method = init
        .is_object()
        .then(|| property(init, "method"))
        .flatten()
        .and_then(|method| js_string(&method).ok())
        .or_else(|| input.dyn_ref::<Request>().map(Request::method))
        .unwrap_or_else(|| "GET".to_owned());
    method.to_ascii_uppercase()
}

fn watch(promise: Promise, call: Call, performance: Performance) {
    wasm_bindgen_futures::spawn_local(async move {
        let settled = JsFuture::from(promise).await;
        let duration_ms = (performance.now() - call.started_ms).max(0.0);
        let status = match settled {
            Ok(response) => match response.dyn_into::<Response>() {
                // An opaque (no-cors) response hides its status; 0 would read as a failure.
                Ok(response) if is_opaque(&response) => return,
                Ok(response) => response.status(),
                Err(_) => return,
            },
            Err(_) => 0,
        };
        record_api_call(call.method, call.path, status, call.started_ms, duration_ms);
    });
}

fn is_opaque(response: &Response) -> bool {
    property(response, "type")
        .and_then(|kind| kind.as_string())
        .is_some_and(|kind| kind.starts_with("opaque"))
}
