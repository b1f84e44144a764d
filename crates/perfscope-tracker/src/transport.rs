//! Getting a batch body to the collector, as a CORS "simple request" (text/plain, no
//! credentials) so no preflight doubles the cost of every send.

use crate::browser::response_status;
use crate::outbox::parse_retry_after_ms;
use crate::queue::SendOutcome;
use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Blob, BlobPropertyBag, Response, Window};

const CONTENT_TYPE: &str = "text/plain";

pub(crate) struct Transport {
    window: Window,
    ingest_url: String,
    /// The page's `fetch` from before it was wrapped, so our own sends are not recorded
    /// as the page's API calls.
    fetch: Function,
}

/// How a send ended, and how long the collector asked us to wait before the next one.
pub(crate) struct SendResult {
    pub outcome: SendOutcome,
    pub retry_after_ms: Option<f64>,
}

impl Transport {
    pub(crate) fn new(window: Window, ingest_url: String, fetch: Function) -> Self {
        Transport {
            window,
            ingest_url,
            fetch,
        }
    }

    /// Starts a POST; `keepalive` lets it outlive the page, within the browser's budget.
    pub(crate) fn post(&self, body: &str, keepalive: bool) -> Result<Promise, JsValue> {
        let init = request_init(body, keepalive)?;
        let pending =
            self.fetch
                .call2(&self.window, &JsValue::from_str(&self.ingest_url), &init)?;
        pending
            .dyn_into::<Promise>()
            .map_err(|_| JsValue::from_str("fetch returned no promise"))
    }

    /// Hands the body to the browser to deliver even as the page unloads. `false` when the
    /// browser refused it (beacon quota, or no `sendBeacon`).
    pub(crate) fn beacon(&self, body: &str) -> bool {
        let options = BlobPropertyBag::new();
        options.set_type(CONTENT_TYPE);
        let parts = Array::of1(&JsValue::from_str(body));
        let Ok(blob) = Blob::new_with_str_sequence_and_options(&parts, &options) else {
            return false;
        };
        self.window
            .navigator()
            .send_beacon_with_opt_blob(&self.ingest_url, Some(&blob))
            .unwrap_or(false)
    }
}

fn request_init(body: &str, keepalive: bool) -> Result<Object, JsValue> {
    let headers = Object::new();
    Reflect::set(&headers, &"Content-Type".into(), &CONTENT_TYPE.into())?;
    let init = Object::new();
    for (key, value) in [
        ("method", JsValue::from_str("POST")),
        ("body", JsValue::from_str(body)),
        ("headers", headers.into()),
        ("keepalive", JsValue::from_bool(keepalive)),
        ("mode", JsValue::from_str("cors")),
        ("credentials", JsValue::from_str("omit")),
    ] {
        Reflect::set(&init, &key.into(), &value)?;
    }
    Ok(init)
}

/// What the settled `fetch` says. No response at all (offline, refused, page gone) is a
/// retry.
pub(crate) fn send_result(settled: Result<JsValue, JsValue>) -> SendResult {
    let response = settled
        .ok()
        .and_then(|response| response.dyn_into::<Response>().ok());
    let Some(response) = response else {
        return SendResult {
            outcome: SendOutcome::from_status(None),
            retry_after_ms: None,
        };
    };
    let retry_after_ms = response
        .headers()
        .get("Retry-After")
        .ok()
        .flatten()
        .and_then(|value| parse_retry_after_ms(&value));
    SendResult {
        outcome: SendOutcome::from_status(Some(response_status(&response))),
        retry_after_ms,
    }
}
