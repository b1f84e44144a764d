//! Getting a batch to the collector: JSON without serde_json, as a CORS "simple request"
//! (text/plain, no credentials) so no preflight doubles the cost of every send.

use js_sys::{Array, Function, JsString, Object, Promise, Reflect};
use perfscope_model::Batch;
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, BlobPropertyBag, Response, Window};

const CONTENT_TYPE: &str = "text/plain";

/// The batch as a JSON string, kept on the JS side since only JS needs it.
pub(crate) fn to_json(batch: &Batch) -> Result<JsString, JsValue> {
    let value = batch.serialize(&serde_wasm_bindgen::Serializer::json_compatible())?;
    js_sys::JSON::stringify(&value)
}

pub(crate) struct Transport {
    window: Window,
    ingest_url: String,
    /// The page's `fetch` from before it was wrapped, so our own sends are not recorded
    /// as the page's API calls.
    fetch: Function,
}

impl Transport {
    pub(crate) fn new(window: Window, ingest_url: String, fetch: Function) -> Self {
        Transport {
            window,
            ingest_url,
            fetch,
        }
    }

    /// Starts a POST that outlives the page if it has to (`keepalive`).
    pub(crate) fn post(&self, body: &JsString) -> Result<Promise, JsValue> {
        let init = request_init(body)?;
        let pending =
            self.fetch
                .call2(&self.window, &JsValue::from_str(&self.ingest_url), &init)?;
        pending
            .dyn_into::<Promise>()
            .map_err(|_| JsValue::from_str("fetch returned no promise"))
    }

    /// Hands the body to the browser to deliver even as the page unloads. `false` when the
    /// browser refused it (beacon quota, or no `sendBeacon`).
    pub(crate) fn beacon(&self, body: &JsString) -> bool {
        let options = BlobPropertyBag::new();
        options.set_type(CONTENT_TYPE);
        let Ok(blob) = Blob::new_with_str_sequence_and_options(&Array::of1(body), &options) else {
            return false;
        };
        self.window
            .navigator()
            .send_beacon_with_opt_blob(&self.ingest_url, Some(&blob))
            .unwrap_or(false)
    }
}

fn request_init(body: &JsString) -> Result<Object, JsValue> {
    let headers = Object::new();
    Reflect::set(&headers, &"Content-Type".into(), &CONTENT_TYPE.into())?;
    let init = Object::new();
    for (key, value) in [
        ("method", JsValue::from_str("POST")),
        ("body", body.into()),
        ("headers", headers.into()),
        ("keepalive", JsValue::TRUE),
        ("mode", JsValue::from_str("cors")),
        ("credentials", JsValue::from_str("omit")),
    ] {
        Reflect::set(&init, &key.into(), &value)?;
    }
    Ok(init)
}

/// The HTTP status the request ended with; `None` when no response arrived.
pub(crate) async fn response_status(pending: Promise) -> Option<u16> {
    let response = JsFuture::from(pending).await.ok()?;
    response.dyn_into::<Response>().ok().map(|r| r.status())
}
