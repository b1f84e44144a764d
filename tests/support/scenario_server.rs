//! The web server of the vitals parity suite: serves the scenario pages, the built
//! tracker and the npm `web-vitals` package from one origin, delays images on request,
//! records what `web-vitals` reported in each page, and passes the tracker's batches on
//! to the real collector while keeping a copy to compare.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use perfscope_model::{Batch, NavigationType, VitalEvent, INGEST_PATH};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One metric as `web-vitals` reported it to `tests/scenarios/reference.js`.
#[derive(Clone, Debug, Deserialize)]
pub struct ReferenceMetric {
    /// `performance.timeOrigin` of the document: which page load it belongs to.
    pub load: f64,
    pub name: String,
    pub value: f64,
    #[serde(rename = "navigationType")]
    pub navigation_type: String,
    #[serde(default)]
    pub attribution: serde_json::Value,
}

#[derive(Default)]
struct Recorded {
    batches: Vec<Batch>,
    /// Bodies the tracker sent that are not a valid batch, and collector refusals.
    problems: Vec<String>,
    reference: Vec<ReferenceMetric>,
    /// What prerendered scenario pages said about themselves (`/prerender-probe`).
    prerender_probes: Vec<PrerenderProbe>,
}

/// A prerendered scenario page's note about itself: the tracker runs in it, or it has
/// lived past the tracker's batch age.
#[derive(Clone, Debug, Deserialize)]
pub struct PrerenderProbe {
    /// `document.prerendering` when the note was sent.
    pub prerendering: bool,
    /// `performance.now()` when the note was sent.
    pub at: f64,
}

#[derive(Clone)]
struct Shared {
    scenarios: PathBuf,
    tracker: PathBuf,
    web_vitals: PathBuf,
    collector_ingest: String,
    http: reqwest::Client,
    recorded: Arc<Mutex<Recorded>>,
}

pub struct ScenarioServer {
    pub origin: String,
    recorded: Arc<Mutex<Recorded>>,
    task: tokio::task::JoinHandle<()>,
}

/// A page view as the tracker reported it: its id and its vitals in sending order.
#[derive(Clone, Debug)]
pub struct TrackedPageView {
    pub id: String,
    pub navigation_type: NavigationType,
    /// The templated route of its first batch.
    pub route: String,
    pub vitals: Vec<VitalEvent>,
}

impl ScenarioServer {
    pub async fn start(collector_base_url: &str) -> ScenarioServer {
        let shared = Shared {
            scenarios: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios"),
            tracker: crate::support::env_path("E2E_TRACKER_DIR"),
            web_vitals: crate::support::env_path("E2E_WEB_VITALS_DIR"),
            collector_ingest: format!("{collector_base_url}{INGEST_PATH}"),
            http: reqwest::Client::new(),
            recorded: Arc::default(),
        };
        let recorded = shared.recorded.clone();
        let app = Router::new()
            .route("/scenarios/{file}", get(scenario_file))
            .route("/tracker/{*file}", get(tracker_file))
            .route("/web-vitals/{file}", get(web_vitals_file))
            .route("/image.svg", get(image))
            .route("/reference", post(reference))
            .route("/prerender-probe", post(prerender_probe))
            .route(INGEST_PATH, post(ingest))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the scenario server");
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("scenario server");
        });
        ScenarioServer {
            origin,
            recorded,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// What `web-vitals` reported so far, per page load in order of first report.
    pub fn reference_loads(&self) -> Vec<Vec<ReferenceMetric>> {
        let recorded = self.recorded.lock().unwrap();
        let mut loads: Vec<((u64, String), Vec<ReferenceMetric>)> = Vec::new();
        for metric in &recorded.reference {
            // A back/forward-cache restore is the same document but a new page view.
            let key = (metric.load.to_bits(), metric.navigation_type.clone());
            match loads.iter_mut().find(|(k, _)| *k == key) {
                Some((_, metrics)) => metrics.push(metric.clone()),
                None => loads.push((key, vec![metric.clone()])),
            }
        }
        loads.into_iter().map(|(_, metrics)| metrics).collect()
    }

    /// The tracker's page views, in order of their first batch.
    pub fn tracked_page_views(&self) -> Vec<TrackedPageView> {
        let recorded = self.recorded.lock().unwrap();
        let mut views: Vec<TrackedPageView> = Vec::new();
        for batch in &recorded.batches {
            let position = views.iter().position(|v| v.id == batch.page_view);
            let view = match position {
                Some(index) => &mut views[index],
                None => {
                    views.push(TrackedPageView {
                        id: batch.page_view.clone(),
                        navigation_type: batch.context.navigation_type,
                        route: batch.page.clone(),
                        vitals: Vec::new(),
                    });
                    views.last_mut().unwrap()
                }
            };
            view.vitals.extend(batch.vitals.iter().cloned());
        }
        views
    }

    pub fn prerender_probes(&self) -> Vec<PrerenderProbe> {
        self.recorded.lock().unwrap().prerender_probes.clone()
    }

    /// Every batch the tracker sent, in arrival order.
    pub fn batches(&self) -> Vec<Batch> {
        self.recorded.lock().unwrap().batches.clone()
    }

    pub fn problems(&self) -> Vec<String> {
        self.recorded.lock().unwrap().problems.clone()
    }
}

impl Drop for ScenarioServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn file_response(dir: &std::path::Path, file: &str) -> Response {
    // Nested names are fine (the tracker's wasm-bindgen snippets live in a subfolder);
    // anything that could leave `dir` is not.
    let inside = std::path::Path::new(file)
        .components()
        .all(|part| matches!(part, std::path::Component::Normal(_)));
    if !inside {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let content_type = match file.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript",
        Some("wasm") => "application/wasm",
        _ => "application/octet-stream",
    };
    match tokio::fs::read(dir.join(file)).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, content_type)], bytes).into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn scenario_file(State(shared): State<Shared>, Path(file): Path<String>) -> Response {
    file_response(&shared.scenarios, &file).await
}

async fn tracker_file(State(shared): State<Shared>, Path(file): Path<String>) -> Response {
    file_response(&shared.tracker, &file).await
}

async fn web_vitals_file(State(shared): State<Shared>, Path(file): Path<String>) -> Response {
    file_response(&shared.web_vitals, &file).await
}

/// `/image.svg?w=600&h=400&delay=800&fill=teal`: a solid image, answered after `delay` ms
/// so the page can paint it late.
async fn image(Query(query): Query<HashMap<String, String>>) -> Response {
    let number = |key: &str, default: u64| {
        query
            .get(key)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(default)
    };
    let (width, height) = (number("w", 400), number("h", 300));
    let fill = query
        .get("fill")
        .filter(|f| f.chars().all(|c| c.is_ascii_alphanumeric()))
        .cloned()
        .unwrap_or_else(|| "teal".into());
    tokio::time::sleep(Duration::from_millis(number("delay", 0))).await;
    // A mosaic, not a flat colour: Chromium ignores low-entropy images (under 0.05 bits
    // per pixel) as LCP candidates.
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"><rect width="100%" height="100%" fill="{fill}"/>"#
    );
    let (columns, rows) = (40, 25);
    for row in 0..rows {
        for column in 0..columns {
            let shade = (row * 37 + column * 91) % 256;
            svg.push_str(&format!(
                r#"<rect x="{}" y="{}" width="{}" height="{}" fill="rgb({shade},{},{})" opacity="0.5"/>"#,
                column * width / columns,
                row * height / rows,
                width / columns,
                height / rows,
                (shade * 7) % 256,
                255 - shade,
            ));
        }
    }
    svg.push_str("</svg>");
    ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response()
}

async fn reference(State(shared): State<Shared>, body: Bytes) -> StatusCode {
    let mut recorded = shared.recorded.lock().unwrap();
    match serde_json::from_slice::<ReferenceMetric>(&body) {
        Ok(metric) => recorded.reference.push(metric),
        Err(error) => recorded.problems.push(format!(
            "reference metric {}: {error}",
            String::from_utf8_lossy(&body)
        )),
    }
    StatusCode::NO_CONTENT
}

async fn prerender_probe(State(shared): State<Shared>, body: Bytes) -> StatusCode {
    let mut recorded = shared.recorded.lock().unwrap();
    match serde_json::from_slice::<PrerenderProbe>(&body) {
        Ok(probe) => recorded.prerender_probes.push(probe),
        Err(error) => recorded.problems.push(format!(
            "prerender probe {}: {error}",
            String::from_utf8_lossy(&body)
        )),
    }
    StatusCode::NO_CONTENT
}

/// Keeps a decoded copy and forwards the untouched body to the collector, answering
/// with the collector's answer so the tracker sees the real thing.
async fn ingest(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    match serde_json::from_slice::<Batch>(&body) {
        Ok(batch) => shared.recorded.lock().unwrap().batches.push(batch),
        Err(error) => shared.recorded.lock().unwrap().problems.push(format!(
            "tracker batch that is not a Batch ({error}): {}",
            String::from_utf8_lossy(&body)
        )),
    }
    let mut forward = shared
        .http
        .post(&shared.collector_ingest)
        .body(body.clone());
    if let Some(content_type) = headers.get(header::CONTENT_TYPE) {
        forward = forward.header(header::CONTENT_TYPE, content_type.as_bytes());
    }
    match forward.send().await {
        Ok(answer) => {
            let status = answer.status().as_u16();
            let text = answer.text().await.unwrap_or_default();
            if !(200..300).contains(&status) {
                shared.recorded.lock().unwrap().problems.push(format!(
                    "collector answered {status} {text} to {}",
                    String::from_utf8_lossy(&body)
                ));
            }
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            (status, [(header::CONTENT_TYPE, "application/json")], text).into_response()
        }
        Err(error) => {
            let message = format!("collector unreachable: {error}");
            shared
                .recorded
                .lock()
                .unwrap()
                .problems
                .push(message.clone());
            (StatusCode::BAD_GATEWAY, message).into_response()
        }
    }
}
