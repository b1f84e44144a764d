//! The one way the dashboard talks to the collector: identical GETs in flight are
//! shared, answers are kept for a few seconds, network failures are retried with
//! backoff, and a 401 sends the person to the login page.
//!
//! Requests go through `window.fetch`, which the embedded tracker wraps, so every call
//! shows up in the dashboard's own API view.

use super::backoff::retry_delay_ms;
use super::error::ApiError;
use super::response_cache::ResponseCache;
use futures::future::{FutureExt, LocalBoxFuture, Shared};
use gloo_net::http::{Request, RequestBuilder, Response};
use perfscope_model::ApiErrorResponse;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

/// Long enough for views opened together to share answers, short enough that a
/// refresh shows new data.
const CACHE_TTL_MS: f64 = 5_000.0;
const CACHE_ENTRIES: usize = 128;

type Pending = Shared<LocalBoxFuture<'static, Result<Rc<str>, ApiError>>>;

thread_local! {
    static CACHE: RefCell<ResponseCache> = RefCell::new(ResponseCache::new(CACHE_TTL_MS, CACHE_ENTRIES));
    static IN_FLIGHT: RefCell<HashMap<String, Pending>> = RefCell::new(HashMap::new());
    /// Set by the app shell: moves to the login page without reloading the app.
    static ON_UNAUTHORIZED: RefCell<Option<Rc<dyn Fn()>>> = RefCell::new(None);
}

pub type Params = Vec<(&'static str, String)>;

/// What happens when an API answers 401; the app shell installs a client-side redirect.
pub fn set_unauthorized_handler(handler: impl Fn() + 'static) {
    ON_UNAUTHORIZED.with(|slot| *slot.borrow_mut() = Some(Rc::new(handler)));
}

/// Forgets every stored answer: after a change, or after signing in as someone else.
pub fn clear_cache() {
    CACHE.with(|cache| cache.borrow_mut().clear());
}

/// GET `path` with `params`, decoded from JSON.
pub async fn get_json<T: DeserializeOwned>(
    path: &'static str,
    params: Params,
) -> Result<T, ApiError> {
    let body = get_text(path, params).await?;
    serde_json::from_str(&body).map_err(|err| ApiError::Decode(err.to_string()))
}

async fn get_text(path: &'static str, params: Params) -> Result<Rc<str>, ApiError> {
    let key = cache_key(path, &params);
    if let Some(body) = CACHE.with(|cache| cache.borrow_mut().get(&key, now_ms())) {
        return Ok(body);
    }
    let pending = IN_FLIGHT.with(|in_flight| {
        in_flight
            .borrow_mut()
            .entry(key.clone())
            .or_insert_with(|| get_with_retries(path, params).boxed_local().shared())
            .clone()
    });
    let result = pending.await;
    IN_FLIGHT.with(|in_flight| in_flight.borrow_mut().remove(&key));
    match &result {
        Ok(body) => CACHE.with(|cache| cache.borrow_mut().put(key, Rc::clone(body), now_ms())),
        Err(ApiError::Unauthorized) => unauthorized(),
        Err(_) => {}
    }
    result
}

/// POST a JSON body (or none); no retries, since a change must not be applied twice,
/// and the cache is cleared because what it holds may now be out of date.
pub async fn post<B: Serialize>(path: &str, body: Option<&B>) -> Result<Response, ApiError> {
    let request = Request::post(path);
    let request = match body {
        Some(body) => request
            .json(body)
            .map_err(|err| ApiError::Decode(err.to_string()))?,
        None => request
            .build()
            .map_err(|err| ApiError::Decode(err.to_string()))?,
    };
    let response = request.send().await.map_err(network_error)?;
    clear_cache();
    if response.ok() {
        Ok(response)
    } else {
        Err(http_error(response).await)
    }
}

/// POST and decode the JSON answer.
pub async fn post_json<B: Serialize, T: DeserializeOwned>(
    path: &str,
    body: &B,
) -> Result<T, ApiError> {
    let response = post(path, Some(body)).await?;
    response
        .json::<T>()
        .await
        .map_err(|err| ApiError::Decode(err.to_string()))
}

async fn get_with_retries(path: &'static str, params: Params) -> Result<Rc<str>, ApiError> {
    let mut retry = 0;
    loop {
        let request = Request::get(path).query(params.iter().map(|(k, v)| (*k, v.as_str())));
        match get_once(request).await {
            Err(err) if err.is_retryable() => match retry_delay_ms(retry) {
                Some(delay) => {
                    sleep(delay).await;
                    retry += 1;
                }
                None => return Err(err),
            },
            other => return other,
        }
    }
}

async fn get_once(request: RequestBuilder) -> Result<Rc<str>, ApiError> {
    let response = request.send().await.map_err(network_error)?;
    if !response.ok() {
        return Err(http_error(response).await);
    }
    let text = response.text().await.map_err(network_error)?;
    Ok(Rc::from(text))
}

fn network_error(err: gloo_net::Error) -> ApiError {
    let detail = err.to_string();
    leptos::logging::warn!("perfscope: request failed: {detail}");
    ApiError::Network(detail)
}

async fn http_error(response: Response) -> ApiError {
    let status = response.status();
    match status {
        401 => return ApiError::Unauthorized,
        429 => {
            let retry_after_secs = response
                .headers()
                .get("retry-after")
                .and_then(|value| value.trim().parse().ok());
            return ApiError::TooManyRequests { retry_after_secs };
        }
        _ => {}
    }
    let message = match response.json::<ApiErrorResponse>().await {
        Ok(body) => body.error.message,
        Err(_) => {
            let text = response.status_text();
            if text.is_empty() {
                "The collector answered with an error".to_owned()
            } else {
                text
            }
        }
    };
    ApiError::Http { status, message }
}

fn unauthorized() {
    clear_cache();
    let handler = ON_UNAUTHORIZED.with(|slot| slot.borrow().clone());
    if let Some(handler) = handler {
        handler();
    }
}

/// Parameters are joined with a character no query value can hold unescaped, so two
/// different questions never share a key.
fn cache_key(path: &str, params: &Params) -> String {
    let mut key = path.to_owned();
    for (name, value) in params {
        key.push('\u{1f}');
        key.push_str(name);
        key.push('=');
        key.push_str(value);
    }
    key
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

async fn sleep(ms: u32) {
    let (done, wait) = futures::channel::oneshot::channel::<()>();
    leptos::prelude::set_timeout(
        move || {
            let _ = done.send(());
        },
        Duration::from_millis(u64::from(ms)),
    );
    let _ = wait.await;
}
