//! The HTTP API driven in-process with `oneshot`: ingest, its errors, and queries.

use axum::body::Body;
use axum::extract::connect_info::{ConnectInfo, MockConnectInfo};
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use perfscope_model::Limits;
use perfscope_server::monitoring::Monitoring;
use perfscope_server::rate_limit::IngestRateLimits;
use perfscope_server::store::{SqliteStore, Store};
use perfscope_server::write_queue::WriteQueue;
use perfscope_server::{app, AppState, Config};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use tower::ServiceExt;

struct TestApp {
    router: Router,
    _dir: tempfile::TempDir,
}

fn test_app() -> TestApp {
    test_app_with(|_| {})
}

fn test_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let dashboard = dir.path().join("dashboard");
    std::fs::create_dir_all(&dashboard).unwrap();
    std::fs::write(
        dashboard.join("index.html"),
        "<!doctype html><title>dash</title>",
    )
    .unwrap();
    std::fs::write(dashboard.join("app.js"), "console.log('dash')").unwrap();
    let mut config = Config::default();
    config.storage.path = dir.path().join("perfscope.db");
    config.dashboard_dir = dashboard;
    config.tracker_dir = dir.path().join("tracker");
    configure(&mut config);
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&config.storage.path).unwrap());
    let monitoring = Monitoring::open(&config).unwrap();
    let (queue, _writer) =
        WriteQueue::start_with_listener(Arc::clone(&store), 64, Some(monitoring.commit_listener()));
    let rate_limits = Arc::new(IngestRateLimits::new(&config.ingest.rate_limit));
    let router = app(AppState {
        config: Arc::new(config),
        store,
        queue,
        limits: Arc::new(Limits::default()),
        rate_limits,
        monitoring,
    })
    // Requests that name no peer of their own come from here.
    .layer(MockConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
    TestApp { router, _dir: dir }
}

fn now_ms() -> f64 {
    perfscope_server::clock::now_ms() as f64
}

fn batch(page_view: &str, vitals: Value) -> Value {
    json!({ "site": "demo", "page_view": page_view, "seq": 0, "page": "/demo", "vitals": vitals })
}

fn lcp(id: &str, value: f64) -> Value {
    json!({ "id": id, "ts": now_ms(), "name": "LCP", "value": value })
}

async fn send(app: &TestApp, request: Request<Body>) -> (StatusCode, Value, String) {
    let response = app.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let text = if json.is_null() {
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        content_type
    };
    (status, json, text)
}

async fn post_raw(app: &TestApp, body: impl Into<Body>) -> (StatusCode, Value) {
    let request = Request::post("/api/v1/ingest")
        .header(header::CONTENT_TYPE, "text/plain;charset=UTF-8")
        .body(body.into())
        .unwrap();
    let (status, json, _) = send(app, request).await;
    (status, json)
}

async fn get(app: &TestApp, uri: &str) -> (StatusCode, Value, String) {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn a_batch_is_stored_once_and_summarised() {
    let app = test_app();
    let mut body = batch("pv1", json!([lcp("pv1-0", 1800.0)]));
    body["api_calls"] = json!([{ "id": "pv1-1", "ts": now_ms(), "method": "GET",
        "path": "/api/items", "status": 503, "duration": 41.5 }]);
    let body = body.to_string();
    let (status, json) = post_raw(&app, body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json, json!({ "stored": 2, "duplicates": 0 }));

    // A tracker retrying after a lost response must not double-count.
    let (status, json) = post_raw(&app, body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json, json!({ "stored": 0, "duplicates": 2 }));

    let (status, summary, _) = get(&app, "/api/v1/summary?site=demo").await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    let lcp = summary["vitals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "LCP")
        .unwrap();
    assert_eq!(lcp["count"], 1);
    assert_eq!(lcp["p75"], 1800.0);
    let endpoint = &summary["endpoints"][0];
    assert_eq!(endpoint["path"], "/api/items");
    assert_eq!(endpoint["error_rate"], 1.0);
    assert_eq!(endpoint["p95"], 41.5);

    let (status, sites, _) = get(&app, "/api/v1/sites").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sites[0]["site"], "demo");
    assert_eq!(sites[0]["events"], 2);
}

/// Each bad body, the status it must get, and the field its error must name.
#[tokio::test]
async fn bad_batches_get_a_4xx_naming_the_field_and_the_server_keeps_serving() {
    let app = test_app();
    let cases: Vec<(&str, String, StatusCode, &str, Option<&str>)> = vec![
        ("not JSON", "{\"site\": ".into(), StatusCode::BAD_REQUEST, "malformed_json", None),
        ("empty body", String::new(), StatusCode::BAD_REQUEST, "malformed_json", None),
        ("trailing garbage", format!("{} x", batch("p", json!([lcp("a", 1.0)]))), StatusCode::BAD_REQUEST, "malformed_json", None),
        ("array instead of object", "[]".into(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("batch")),
        ("unknown metric", batch("p", json!([{ "id": "a", "ts": now_ms(), "name": "XYZ", "value": 1.0 }])).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("vitals[0].name")),
        ("unknown event kind", json!({ "site": "demo", "page_view": "p", "seq": 0, "page": "/", "bogus": [] }).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("bogus")),
        ("wrong type", batch("p", json!([{ "id": "a", "ts": now_ms(), "name": "LCP", "value": "fast" }])).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("vitals[0].value")),
        ("unknown field", batch("p", json!([{ "id": "a", "ts": now_ms(), "name": "LCP", "value": 1.0, "evil": true }])).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("vitals[0].evil")),
        ("missing field", json!({ "site": "demo", "seq": 0, "page": "/", "vitals": [lcp("a", 1.0)] }).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("batch")),
        ("negative duration", batch("p", json!([lcp("a", -5.0)])).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("vitals[0].value")),
        ("bad status", json!({ "site": "demo", "page_view": "p", "seq": 0, "page": "/", "api_calls": [
            { "id": "a", "ts": now_ms(), "method": "GET", "path": "/x", "status": 70000, "duration": 1.0 }] }).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("api_calls[0].status")),
        ("seq out of range", json!({ "site": "demo", "page_view": "p", "seq": -1, "page": "/", "vitals": [lcp("a", 1.0)] }).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("seq")),
        ("no events", batch("p", json!([])).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("vitals")),
        ("hostile site key", json!({ "site": "<script>", "page_view": "p", "seq": 0, "page": "/", "vitals": [lcp("a", 1.0)] }).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", Some("site")),
        ("oversized", batch("p", json!([lcp(&"a".repeat(70 * 1024), 1.0)])).to_string(),
            StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", None),
    ];
    for (name, body, status, code, field) in cases {
        let (got, json) = post_raw(&app, body).await;
        assert_eq!(got, status, "{name}: {json}");
        assert_eq!(json["error"]["code"], code, "{name}: {json}");
        assert!(
            !json["error"]["message"].as_str().unwrap().is_empty(),
            "{name}"
        );
        match field {
            Some(field) => assert_eq!(json["error"]["field"], field, "{name}: {json}"),
            None => assert!(json["error"].get("field").is_none(), "{name}: {json}"),
        }
    }
    let invalid_utf8 = vec![0xff, 0xfe, b'{', 0x80];
    let (status, json) = post_raw(&app, invalid_utf8).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");

    // Nothing of the above was stored, and the server still accepts good data.
    let (status, _) = post_raw(&app, batch("ok", json!([lcp("ok-0", 900.0)])).to_string()).await;
    assert_eq!(status, StatusCode::OK);
    let (_, sites, _) = get(&app, "/api/v1/sites").await;
    assert_eq!(sites[0]["events"], 1);
}

async fn post_encoded(app: &TestApp, encoding: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let request = Request::post("/api/v1/ingest")
        .header(header::CONTENT_TYPE, "text/plain")
        .header(header::CONTENT_ENCODING, encoding)
        .body(Body::from(body))
        .unwrap();
    let (status, json, _) = send(app, request).await;
    (status, json)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn compressed_batches_are_accepted_and_bombs_refused() {
    let app = test_app();
    let body = batch("gz", json!([lcp("gz-0", 700.0)])).to_string();
    let (status, json) = post_encoded(&app, "gzip", gzip(body.as_bytes())).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["stored"], 1);

    // Under the 64 KiB wire limit, far over the 1 MiB inflated limit.
    let bomb = gzip(&vec![b' '; 8 << 20]);
    assert!(bomb.len() < 64 << 10);
    let (status, json) = post_encoded(&app, "gzip", bomb).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{json}");
    assert_eq!(json["error"]["code"], "payload_too_large");

    let (status, json) = post_encoded(&app, "gzip", b"plain text".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
    let (status, json) = post_encoded(&app, "compress", body.into_bytes()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{json}");
    assert_eq!(json["error"]["code"], "unsupported_encoding");
}

fn ingest_from(ip: [u8; 4], body: &Value) -> Request<Body> {
    let mut request = Request::post("/api/v1/ingest")
        .body(Body::from(body.to_string()))
        .unwrap();
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((ip, 50000))));
    request
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after_per_client_and_per_site() {
    let app = test_app_with(|config| {
        let limits = &mut config.ingest.rate_limit;
        limits.per_ip_per_second = NonZeroU32::MIN;
        limits.per_ip_burst = NonZeroU32::new(2).unwrap();
        limits.per_site_per_second = NonZeroU32::MIN;
        limits.per_site_burst = NonZeroU32::new(3).unwrap();
    });
    let body = |id: &str| batch(id, json!([lcp(id, 100.0)]));
    for id in ["a", "b"] {
        let (status, json, _) = send(&app, ingest_from([10, 0, 0, 1], &body(id))).await;
        assert_eq!(status, StatusCode::OK, "{json}");
    }
    let response = app
        .router
        .clone()
        .oneshot(ingest_from([10, 0, 0, 1], &body("c")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()[header::RETRY_AFTER], "1");

    // A second client still gets through, until the site's own bucket is empty.
    let (status, _, _) = send(&app, ingest_from([10, 0, 0, 2], &body("d"))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, json, _) = send(&app, ingest_from([10, 0, 0, 3], &body("e"))).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{json}");
    assert_eq!(json["error"]["code"], "rate_limited");
    assert!(
        json["error"]["message"].as_str().unwrap().contains("site"),
        "{json}"
    );

    // What was refused was not stored: the client retries it later.
    let (_, sites, _) = send(
        &app,
        Request::get("/api/v1/sites").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(sites[0]["events"], 3);
}

#[tokio::test]
async fn query_parameters_are_validated() {
    let app = test_app();
    let (status, json, _) = get(&app, "/api/v1/summary").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json["error"]["field"], "query", "{json}");
    assert!(
        json["error"]["message"].as_str().unwrap().contains("site"),
        "{json}"
    );

    let (status, json, _) = get(&app, "/api/v1/summary?site=demo&from=yesterday").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json["error"]["field"], "from", "{json}");

    let (status, json, _) = get(&app, "/api/v1/summary?site=demo&from=10&to=5").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json["error"]["field"], "from", "{json}");

    let (status, json, _) = get(&app, "/api/v1/summary?site=a%20b").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json["error"]["field"], "site", "{json}");

    let (status, json, _) = get(&app, "/api/v1/summary?site=demo&limit=3").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        json["error"]["message"].as_str().unwrap().contains("limit"),
        "{json}"
    );
}

#[tokio::test]
async fn routing_serves_the_dashboard_spa_and_json_404s_for_the_api() {
    let app = test_app();
    let (status, json, _) = get(&app, "/api/v2/nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(json["error"]["code"], "not_found");

    for deep_link in [
        "/performance/",
        "/performance/pages/checkout",
        "/performance",
    ] {
        let (status, _, body) = get(&app, deep_link).await;
        assert_eq!(status, StatusCode::OK, "{deep_link}");
        assert!(body.contains("<title>dash</title>"), "{deep_link}: {body}");
    }
    let (status, _, body) = get(&app, "/performance/app.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("console.log"));

    let (status, _, body) = get(&app, "/demo").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("data-site=\"demo\""));
    let (status, products, _) = get(&app, "/demo/api/products").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(products.as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn ingest_answers_cors_preflight_for_any_origin() {
    let app = test_app();
    let request = Request::options("/api/v1/ingest")
        .header(header::ORIGIN, "https://shop.example")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .body(Body::empty())
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert!(response.status().is_success());
    assert_eq!(response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
}
