//! The origin the delivery tests' pages live on: serves test pages, the built tracker and
//! a small API, and stands in front of the real collector's ingest so a test can record
//! every batch the browser sent, answer 503 for a while, and then let batches through.

use super::env_path;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use perfscope_model::Batch;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One POST to ingest as the test origin saw it.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// What the browser got back: 503 while the collector is "down", else the collector's.
    pub status: u16,
    pub batch: Batch,
}

#[derive(Clone)]
struct Shared {
    collector_ingest: String,
    http: reqwest::Client,
    collector_down: Arc<AtomicBool>,
    deliveries: Arc<Mutex<Vec<Delivery>>>,
}

pub struct TestOrigin {
    pub base_url: String,
    shared: Shared,
}

impl TestOrigin {
    pub async fn start(collector_base_url: &str) -> TestOrigin {
        let shared = Shared {
            collector_ingest: format!("{collector_base_url}/api/v1/ingest"),
            http: reqwest::Client::new(),
            collector_down: Arc::new(AtomicBool::new(false)),
            deliveries: Arc::new(Mutex::new(Vec::new())),
        };
        let app = Router::new()
            .route("/page/{*rest}", get(page))
            .route("/tracker/{*file}", get(tracker_file))
            .route("/api/items/{id}", get(item))
            .route("/api/users/{id}", get(item).post(created))
            .route("/api/fail", get(failure))
            .route("/api/slow", get(slow))
            .route("/api/v1/ingest", post(ingest))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the test origin");
        let base_url = format!("http://{}", listener.local_addr().expect("local addr"));
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("test origin");
        });
        TestOrigin { base_url, shared }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// While down, ingest answers 503 with `Retry-After: 1` and forwards nothing.
    pub fn set_collector_down(&self, down: bool) {
        self.shared.collector_down.store(down, Ordering::SeqCst);
    }

    pub fn deliveries(&self, site: &str) -> Vec<Delivery> {
        let all = self.shared.deliveries.lock().expect("deliveries lock");
        all.iter()
            .filter(|d| d.batch.site == site)
            .cloned()
            .collect()
    }
}

/// The scenario page: the tracker by its one script tag, and helpers a test calls to
/// make events whose number it knows.
const PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>delivery test</title>
<script src="/tracker/perfscope.js" data-site="SITE" data-max-age="AGE" data-max-batch="BATCH" async></script>
</head><body><h1>Delivery test page</h1><p>Every step is one custom metric and one API call.</p>
<script>
  // Whether the browser restored this page from the back/forward cache.
  addEventListener('pageshow', (event) => { window.restoredFromCache = event.persisted; });
  window.steps = async (from, to) => {
    for (let n = from; n < to; n++) {
      window.perfscope.recordMetric('step', n, { n: String(n) });
      await fetch('/api/items/' + n).then((r) => r.text()).catch(() => {});
    }
  };
</script></body></html>"#;

async fn page(
    Path(_rest): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Html<String> {
    let site = params.get("site").map_or("delivery", String::as_str);
    let age = params.get("age").map_or("60000", String::as_str);
    // The tracker's own default unless a test asks for small batches.
    let batch = params.get("batch").map_or("20", String::as_str);
    Html(
        PAGE.replace("SITE", site)
            .replace("AGE", age)
            .replace("BATCH", batch),
    )
}

async fn tracker_file(Path(file): Path<String>) -> Response {
    if file.split('/').any(|part| part == "..") {
        return StatusCode::NOT_FOUND.into_response();
    }
    let content_type = if file.ends_with(".wasm") {
        "application/wasm"
    } else {
        "text/javascript"
    };
    match std::fs::read(env_path("E2E_TRACKER_DIR").join(&file)) {
        Ok(bytes) => ([(header::CONTENT_TYPE, content_type)], bytes).into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn item(Path(id): Path<String>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        format!("{{\"id\":\"{id}\"}}"),
    )
}

async fn created() -> impl IntoResponse {
    (StatusCode::CREATED, "{}")
}

async fn failure() -> impl IntoResponse {
    (StatusCode::INTERNAL_SERVER_ERROR, "broken")
}

async fn slow() -> impl IntoResponse {
    tokio::time::sleep(Duration::from_secs(5)).await;
    "late"
}

async fn ingest(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let batch: Option<Batch> = serde_json::from_slice(&body).ok();
    let (status, retry_after, answer) = if shared.collector_down.load(Ordering::SeqCst) {
        (
            503,
            Some("1".to_owned()),
            String::from("{\"error\":\"down\"}"),
        )
    } else {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("text/plain")
            .to_owned();
        match shared
            .http
            .post(&shared.collector_ingest)
            .header(header::CONTENT_TYPE, content_type)
            .body(body.clone())
            .send()
            .await
        {
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get(header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                (
                    status,
                    retry_after,
                    response.text().await.unwrap_or_default(),
                )
            }
            Err(_) => (502, None, String::new()),
        }
    };
    match batch {
        Some(batch) => shared
            .deliveries
            .lock()
            .expect("deliveries lock")
            .push(Delivery { status, batch }),
        None => eprintln!(
            "test origin: undecodable ingest body: {}",
            String::from_utf8_lossy(&body)
        ),
    }
    let mut response = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
        answer,
    )
        .into_response();
    if let Some(value) = retry_after.and_then(|v| v.parse().ok()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}
