//! The HTTP API driven in-process with `oneshot`: ingest, its errors, and queries.

mod common;

use axum::body::Body;
use axum::extract::connect_info::ConnectInfo;
use axum::http::{header, HeaderMap, Request, StatusCode};
use common::test_app::{Reply, TestApp};
use perfscope_server::client_ip::TrustedProxy;
use perfscope_server::config::SiteConfig;
use perfscope_server::sites::{AllowedOrigin, SiteKey};
use perfscope_server::Config;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::num::NonZeroU32;
use tower::ServiceExt;

fn test_app() -> TestApp {
    test_app_with(|_| {})
}

fn test_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    TestApp::with(|config| {
        std::fs::create_dir_all(&config.dashboard_dir).unwrap();
        std::fs::write(
            config.dashboard_dir.join("index.html"),
            "<!doctype html><title>dash</title>",
        )
        .unwrap();
        std::fs::write(config.dashboard_dir.join("app.js"), "console.log('dash')").unwrap();
        configure(config);
    })
}

/// For corpus tests that send hundreds of batches from one address.
fn test_app_without_rate_limits() -> TestApp {
    test_app_with(|config| {
        let limits = &mut config.ingest.rate_limit;
        limits.per_ip_per_second = NonZeroU32::MAX;
        limits.per_ip_burst = NonZeroU32::MAX;
        limits.per_site_per_second = NonZeroU32::MAX;
        limits.per_site_burst = NonZeroU32::MAX;
    })
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
    reply_parts(app.send(request).await)
}

fn reply_parts(reply: Reply) -> (StatusCode, Value, String) {
    let json = reply.json();
    let text = if json.is_null() {
        reply.text()
    } else {
        reply.content_type()
    };
    (reply.status, json, text)
}

async fn post_raw(app: &TestApp, body: impl Into<Body>) -> (StatusCode, Value) {
    let request = Request::post("/api/v1/ingest")
        .header(header::CONTENT_TYPE, "text/plain;charset=UTF-8")
        .body(body.into())
        .unwrap();
    let (status, json, _) = send(app, request).await;
    (status, json)
}

/// The read API answers only a signed-in admin.
async fn get(app: &TestApp, uri: &str) -> (StatusCode, Value, String) {
    reply_parts(
        app.send_signed_in(Request::get(uri).body(Body::empty()).unwrap())
            .await,
    )
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
    let (_, sites, _) = get(&app, "/api/v1/sites").await;
    assert_eq!(sites[0]["events"], 3);
}

#[tokio::test]
async fn query_parameters_are_validated() {
    let app = test_app();
    let (status, json, _) = get(&app, "/api/v1/summary").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json["error"]["field"], "site", "{json}");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("required"),
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

fn site(key: &str, origins: &[&str]) -> SiteConfig {
    SiteConfig {
        key: SiteKey::try_from(key.to_string()).unwrap(),
        origins: origins
            .iter()
            .map(|o| AllowedOrigin::try_from(o.to_string()).unwrap())
            .collect(),
    }
}

fn with_shop(config: &mut Config) {
    config.sites.push(site("shop", &["https://shop.example"]));
}

fn ingest_request(uri: &str, origin: Option<&str>, body: &Value) -> Request<Body> {
    let mut request = Request::post(uri)
        .header(header::HOST, "collector.test:8080")
        .header(header::CONTENT_TYPE, "text/plain;charset=UTF-8");
    if let Some(origin) = origin {
        request = request.header(header::ORIGIN, origin);
    }
    request.body(Body::from(body.to_string())).unwrap()
}

fn shop_batch(page_view: &str) -> Value {
    let mut body = batch(page_view, json!([lcp(&format!("{page_view}-0"), 1200.0)]));
    body["site"] = json!("shop");
    body
}

async fn send_full(app: &TestApp, request: Request<Body>) -> (StatusCode, HeaderMap, Value) {
    let reply = app.send(request).await;
    let json = reply.json();
    (reply.status, reply.headers, json)
}

#[tokio::test]
async fn sites_accept_their_own_origins_and_refuse_the_rest() {
    let app = test_app_with(with_shop);
    let ingest = "/api/v1/ingest";

    let (status, headers, json) = send_full(
        &app,
        ingest_request(ingest, Some("https://shop.example"), &shop_batch("a")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://shop.example"
    );
    assert_eq!(headers[header::VARY], "origin");

    // Another site's page, an unlisted page, and the built-in sites from elsewhere.
    for (origin, body) in [
        ("https://evil.example", shop_batch("b")),
        ("https://shop.example.evil", shop_batch("c")),
        ("https://shop.example", batch("d", json!([lcp("d-0", 1.0)]))),
    ] {
        let (status, headers, json) =
            send_full(&app, ingest_request(ingest, Some(origin), &body)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{origin}: {json}");
        assert_eq!(json["error"]["code"], "origin_not_allowed", "{json}");
        assert_eq!(json["error"]["field"], "origin", "{json}");
        let cors = headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN);
        // Only an origin some site lists may read why it was refused.
        assert_eq!(cors.is_some(), origin == "https://shop.example", "{origin}");
    }

    let mut unknown = shop_batch("e");
    unknown["site"] = json!("nosuchsite");
    let (status, _, json) = send_full(&app, ingest_request(ingest, None, &unknown)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{json}");
    assert_eq!(json["error"]["code"], "unknown_site");
    assert_eq!(json["error"]["field"], "site");

    // The collector's own pages and non-browser clients may send for any site.
    for origin in [Some("http://collector.test:8080"), None] {
        let (status, headers, json) = send_full(
            &app,
            ingest_request(ingest, origin, &batch("f", json!([lcp("f-0", 1.0)]))),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{origin:?}: {json}");
        assert!(headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    }

    // With the site in the URL too, the body must agree, and a refusal comes before
    // the body is read.
    let (status, _, json) = send_full(
        &app,
        ingest_request(
            "/api/v1/ingest?site=shop",
            Some("https://shop.example"),
            &shop_batch("g"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let (status, _, json) = send_full(
        &app,
        ingest_request("/api/v1/ingest?site=demo", None, &shop_batch("h")),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{json}");
    assert_eq!(json["error"]["field"], "site");
    let (status, _, json) = send_full(
        &app,
        ingest_request(
            "/api/v1/ingest?site=shop",
            Some("https://evil.example"),
            &json!("not even a batch"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{json}");
    assert_eq!(json["error"]["code"], "origin_not_allowed");

    let (_, sites, _) = get(&app, "/api/v1/sites").await;
    let events: Vec<_> = sites
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["site"].as_str().unwrap().to_string(), s["events"].clone()))
        .collect();
    assert_eq!(
        events,
        [
            ("demo".to_string(), json!(1)),
            ("shop".to_string(), json!(2))
        ]
    );
}

fn preflight(uri: &str, origin: &str) -> Request<Body> {
    Request::options(uri)
        .header(header::HOST, "collector.test:8080")
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-encoding")
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn preflights_answer_only_configured_origins() {
    let app = test_app_with(|config| {
        with_shop(config);
        config.sites.push(site("blog", &["https://*.blog.example"]));
    });
    for (uri, origin) in [
        ("/api/v1/ingest", "https://shop.example"),
        ("/api/v1/ingest", "https://www.blog.example"),
        ("/api/v1/ingest?site=shop", "https://shop.example"),
    ] {
        let (status, headers, _) = send_full(&app, preflight(uri, origin)).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{uri} {origin}");
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], origin);
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_METHODS], "POST");
        assert!(headers[header::ACCESS_CONTROL_ALLOW_HEADERS]
            .to_str()
            .unwrap()
            .contains("content-encoding"));
    }
    for (uri, origin, code) in [
        (
            "/api/v1/ingest",
            "https://evil.example",
            "origin_not_allowed",
        ),
        ("/api/v1/ingest", "null", "origin_not_allowed"),
        (
            "/api/v1/ingest?site=blog",
            "https://shop.example",
            "origin_not_allowed",
        ),
        (
            "/api/v1/ingest?site=nope",
            "https://shop.example",
            "unknown_site",
        ),
        (
            "/api/v1/ingest?site=%3Cx%3E",
            "https://shop.example",
            "invalid_field",
        ),
    ] {
        let (status, headers, json) = send_full(&app, preflight(uri, origin)).await;
        assert!(status.is_client_error(), "{uri} {origin}: {status}");
        assert_eq!(json["error"]["code"], code, "{uri} {origin}: {json}");
        assert!(headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    }
}

#[tokio::test]
async fn caps_on_events_and_event_bytes_answer_413_naming_the_field() {
    let app = test_app_with(|config| {
        config.ingest.max_events_per_batch = 5;
        config.ingest.max_event_bytes = 600;
    });
    let vitals: Vec<_> = (0..3).map(|i| lcp(&format!("n{i}"), 100.0)).collect();
    let mut body = batch("n", json!(vitals));
    body["api_calls"] = json!((0..3)
        .map(
            |i| json!({ "id": format!("n-api{i}"), "ts": now_ms(), "method": "GET",
            "path": "/x", "status": 200, "duration": 1.0 })
        )
        .collect::<Vec<_>>());
    let (status, json) = post_raw(&app, body.to_string()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{json}");
    assert_eq!(json["error"]["code"], "too_many_events");
    assert_eq!(json["error"]["field"], "api_calls");

    let mut big = lcp("big", 100.0);
    big["attribution"] =
        json!({ "target": "div", "url": format!("https://cdn.example/{}", "a".repeat(700)) });
    let (status, json) =
        post_raw(&app, batch("m", json!([lcp("m-0", 1.0), big])).to_string()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{json}");
    assert_eq!(json["error"]["code"], "event_too_large");
    assert_eq!(json["error"]["field"], "vitals[1]");

    // Whitespace is not the event's size: what would be stored is.
    let padded = format!(
        "{{\"site\":\"demo\",\"page_view\":\"w\",\"seq\":0,\"page\":\"/\",\"vitals\":[{}{}]}}",
        " ".repeat(5000),
        lcp("w-0", 1.0)
    );
    let (status, json) = post_raw(&app, padded).await;
    assert_eq!(status, StatusCode::OK, "{json}");
}

#[tokio::test]
async fn forwarded_clients_get_their_own_rate_limit_only_behind_a_trusted_proxy() {
    let app = test_app_with(|config| {
        config.ingest.trusted_proxies =
            vec![TrustedProxy::try_from("10.0.0.0/8".to_string()).unwrap()];
        let limits = &mut config.ingest.rate_limit;
        limits.per_ip_per_second = NonZeroU32::MIN;
        limits.per_ip_burst = NonZeroU32::MIN;
    });
    let from = |peer: [u8; 4], forwarded: &str, id: &str| {
        let mut request = ingest_from(peer, &batch(id, json!([lcp(id, 100.0)])));
        request
            .headers_mut()
            .insert("x-forwarded-for", forwarded.parse().unwrap());
        request
    };
    // Two visitors behind the proxy each have their own bucket...
    for (client, id) in [("203.0.113.1", "p1"), ("203.0.113.2", "p2")] {
        let (status, json, _) = send(&app, from([10, 0, 0, 1], client, id)).await;
        assert_eq!(status, StatusCode::OK, "{client}: {json}");
    }
    let (status, _, _) = send(&app, from([10, 0, 0, 1], "203.0.113.1", "p3")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // ...and a client that is not a proxy cannot pick a fresh bucket with the header.
    let (status, _, _) = send(&app, from([198, 51, 100, 9], "203.0.113.9", "p4")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = send(&app, from([198, 51, 100, 9], "203.0.113.10", "p5")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

/// A batch with one event of every kind and every optional field filled: the base the
/// hostile corpus mutates field by field.
fn full_batch(page_view: &str) -> Value {
    let ts = now_ms();
    json!({
        "site": "demo", "page_view": page_view, "seq": 1, "page": "/shop/:id",
        "context": { "navigation_type": "back-forward-cache", "device": "mobile",
            "connection": "4g", "viewport_width": 390, "viewport_height": 844 },
        "lost": 0,
        "vitals": [{ "id": format!("{page_view}-v"), "ts": ts, "name": "INP", "value": 240.0,
            "attribution": { "target": "button.buy", "url": "https://cdn.example/a.png",
                "interaction_type": "keyboard", "input_delay": 10.0, "processing_duration": 200.0,
                "presentation_delay": 30.0, "scripts": ["https://cdn.example/app.js"] } }],
        "api_calls": [{ "id": format!("{page_view}-a"), "ts": ts, "method": "POST",
            "path": "/api/cart", "status": 201, "duration": 41.0, "outcome": "ok",
            "response_size": 512, "timing": { "dns": 0.0, "connect": 1.0, "ttfb": 20.0, "download": 2.0 } }],
        "long_frames": [{ "id": format!("{page_view}-l"), "ts": ts, "duration": 120.0,
            "blocking_duration": 70.0, "script": "https://cdn.example/app.js" }],
        "custom_metrics": [{ "id": format!("{page_view}-c"), "ts": ts, "name": "cart.render",
            "value": -3.5, "meta": { "variant": "b" } }],
        "assets": [{ "id": format!("{page_view}-s"), "ts": ts, "kind": "style",
            "url": "https://cdn.example/app.css", "transfer_size": 100, "decoded_size": 400 }],
        "memory": [{ "id": format!("{page_view}-m"), "ts": ts, "used_js_heap": 1,
            "total_js_heap": 2, "js_heap_limit": 3 }],
    })
}

fn set(mut body: Value, pointer: &str, value: Value) -> Value {
    *body
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("no {pointer}")) = value;
    body
}

/// Every string field of every event kind gets each hostile value; each must be a 4xx
/// naming that field (or the event, when the value makes the event too large), and
/// nothing of it may be stored.
#[tokio::test]
async fn hostile_strings_in_every_field_are_refused_by_name() {
    let app = test_app_without_rate_limits();
    let (status, json) = post_raw(&app, full_batch("base").to_string()).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the base batch itself is fine: {json}"
    );
    let (_, sites, _) = get(&app, "/api/v1/sites").await;
    let stored_before = sites[0]["events"].clone();

    // (JSON pointer, field the error must name)
    let fields = [
        ("/site", "site"),
        ("/page_view", "page_view"),
        ("/page", "page"),
        ("/vitals/0/id", "vitals[0].id"),
        (
            "/vitals/0/attribution/target",
            "vitals[0].attribution.target",
        ),
        ("/vitals/0/attribution/url", "vitals[0].attribution.url"),
        (
            "/vitals/0/attribution/scripts/0",
            "vitals[0].attribution.scripts",
        ),
        ("/api_calls/0/id", "api_calls[0].id"),
        ("/api_calls/0/method", "api_calls[0].method"),
        ("/api_calls/0/path", "api_calls[0].path"),
        ("/long_frames/0/id", "long_frames[0].id"),
        ("/long_frames/0/script", "long_frames[0].script"),
        ("/custom_metrics/0/id", "custom_metrics[0].id"),
        ("/custom_metrics/0/name", "custom_metrics[0].name"),
        ("/custom_metrics/0/meta/variant", "custom_metrics[0].meta"),
        ("/assets/0/id", "assets[0].id"),
        ("/assets/0/url", "assets[0].url"),
        ("/memory/0/id", "memory[0].id"),
    ];
    let hostile = [
        ("NUL byte", "a\u{0}b".to_string()),
        ("newline", "a\nb".to_string()),
        ("escape sequence", "\u{1b}[31mred".to_string()),
        ("C1 control", "a\u{85}b".to_string()),
        ("DEL", "a\u{7f}".to_string()),
        ("overlong", "/".repeat(4000)),
    ];
    let mut cases = 0;
    for (pointer, field) in fields {
        for (what, value) in &hostile {
            let body = set(full_batch("h"), pointer, json!(value));
            let (status, json) = post_raw(&app, body.to_string()).await;
            let event = field.split('.').next().unwrap();
            let named = json["error"]["field"].as_str().unwrap_or_default();
            assert!(
                (status == StatusCode::UNPROCESSABLE_ENTITY && named == field)
                    || (status == StatusCode::PAYLOAD_TOO_LARGE
                        && named == event
                        && event != field),
                "{what} in {pointer}: {status} {json}"
            );
            cases += 1;
        }
    }
    // Keys and names must not carry anything but the key alphabet.
    for (pointer, field) in [
        ("/site", "site"),
        ("/vitals/0/id", "vitals[0].id"),
        ("/custom_metrics/0/name", "custom_metrics[0].name"),
    ] {
        for value in ["dеmo", "a b", "<script>", "a/../b", "", "%00", "\u{200b}x"] {
            let body = set(full_batch("k"), pointer, json!(value));
            let (status, json) = post_raw(&app, body.to_string()).await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{value:?} in {pointer}: {json}"
            );
            assert_eq!(json["error"]["field"], field, "{value:?}: {json}");
            cases += 1;
        }
    }
    let mut bad_meta_key = full_batch("mk");
    bad_meta_key["custom_metrics"][0]["meta"] = json!({ "a b": "x" });
    let (status, json) = post_raw(&app, bad_meta_key.to_string()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{json}");
    assert_eq!(json["error"]["field"], "custom_metrics[0].meta");
    assert!(cases > 100);

    let (_, sites, _) = get(&app, "/api/v1/sites").await;
    assert_eq!(
        sites[0]["events"], stored_before,
        "nothing refused was stored"
    );
}

/// `json` with the first `text` replaced by raw bytes that need not be UTF-8.
fn raw_in(json: &str, text: &str, raw: &[u8]) -> Vec<u8> {
    let at = json.find(text).unwrap();
    [
        &json.as_bytes()[..at],
        raw,
        &json.as_bytes()[at + text.len()..],
    ]
    .concat()
}

/// Bodies that are broken as JSON, as text or as numbers, each with its 4xx; the server
/// answers a good batch afterwards.
#[tokio::test]
async fn malformed_truncated_nested_and_numeric_junk_gets_4xx() {
    let app = test_app_without_rate_limits();
    let good = full_batch("t").to_string();

    // Every truncation of a valid batch is a client error, never a 5xx or a panic.
    for cut in (0..good.len()).step_by(7) {
        let (status, json) = post_raw(&app, good[..cut].to_string()).await;
        assert!(status.is_client_error(), "cut at {cut}: {status} {json}");
        assert!(json["error"]["code"].is_string(), "cut at {cut}: {json}");
    }

    let deep_array = format!("{}{}", "[".repeat(30_000), "]".repeat(30_000));
    let deep_in_field = format!(
        "{{\"site\":\"demo\",\"page_view\":\"p\",\"seq\":0,\"page\":\"/\",\"vitals\":{}{}}}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let deep_meta = {
        let mut body = full_batch("d");
        body["custom_metrics"][0]["meta"] = json!({ "x": { "y": { "z": [] } } });
        body.to_string()
    };
    let number = |pointer: &str, raw: &str| {
        let marker = "\"__NUMBER__\"";
        set(full_batch("n"), pointer, json!("__NUMBER__"))
            .to_string()
            .replace(marker, raw)
    };
    let cases: Vec<(&str, Vec<u8>, StatusCode, Option<&str>)> = vec![
        (
            "30k nested arrays",
            deep_array.into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("batch"),
        ),
        (
            "5k nested arrays in vitals",
            deep_in_field.into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("vitals[0][0]"),
        ),
        (
            "object as a meta value",
            deep_meta.into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("custom_metrics[0].meta.x"),
        ),
        (
            "number beyond f64",
            number("/vitals/0/value", "1e400").into_bytes(),
            StatusCode::BAD_REQUEST,
            None,
        ),
        (
            "NaN literal",
            number("/vitals/0/value", "NaN").into_bytes(),
            StatusCode::BAD_REQUEST,
            None,
        ),
        (
            "huge timestamp",
            number("/vitals/0/ts", "1e300").into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("vitals[0].ts"),
        ),
        (
            "negative timestamp",
            number("/api_calls/0/ts", "-1").into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("api_calls[0].ts"),
        ),
        (
            "seq past u32",
            number("/seq", "4294967296").into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("seq"),
        ),
        (
            "status as float",
            number("/api_calls/0/status", "200.5").into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("api_calls[0].status"),
        ),
        (
            "heap past u64",
            number("/memory/0/used_js_heap", "18446744073709551616").into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("memory[0].used_js_heap"),
        ),
        (
            "heap of a petabyte",
            number("/memory/0/used_js_heap", "1000000000000000").into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("memory[0].used_js_heap"),
        ),
        (
            "custom value past 1e15",
            number("/custom_metrics/0/value", "-1e16").into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("custom_metrics[0].value"),
        ),
        (
            "CLS of 1000",
            set(
                set(full_batch("c"), "/vitals/0/name", json!("CLS")),
                "/vitals/0/value",
                json!(1000.0),
            )
            .to_string()
            .into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("vitals[0].value"),
        ),
        (
            "viewport of a million pixels",
            number("/context/viewport_width", "1000000").into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("context.viewport_width"),
        ),
        (
            "unknown navigation type",
            set(
                full_batch("u"),
                "/context/navigation_type",
                json!("teleport"),
            )
            .to_string()
            .into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("context.navigation_type"),
        ),
        (
            "unknown asset kind",
            set(full_batch("u"), "/assets/0/kind", json!("font"))
                .to_string()
                .into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("assets[0].kind"),
        ),
        (
            "six scripts",
            set(
                full_batch("u"),
                "/vitals/0/attribution/scripts",
                json!(vec!["https://x.example/a.js"; 6]),
            )
            .to_string()
            .into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("vitals[0].attribution.scripts"),
        ),
        (
            "eleven meta entries",
            set(
                full_batch("u"),
                "/custom_metrics/0/meta",
                json!((0..11)
                    .map(|i| (format!("k{i}"), json!("v")))
                    .collect::<serde_json::Map<_, _>>()),
            )
            .to_string()
            .into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("custom_metrics[0].meta"),
        ),
        (
            "lone surrogate escape",
            good.replace("button.buy", "button\\ud800").into_bytes(),
            StatusCode::BAD_REQUEST,
            None,
        ),
        (
            "overlong UTF-8 in a string",
            raw_in(&good, "button.buy", b"button\xc0\xaf"),
            StatusCode::BAD_REQUEST,
            None,
        ),
        (
            "Latin-1 byte in a string",
            raw_in(&good, "button.buy", b"caf\xe9"),
            StatusCode::BAD_REQUEST,
            None,
        ),
        (
            "UTF-16 body",
            good.encode_utf16().flat_map(u16::to_le_bytes).collect(),
            StatusCode::BAD_REQUEST,
            None,
        ),
        (
            "byte order mark",
            [&[0xef, 0xbb, 0xbf][..], good.as_bytes()].concat(),
            StatusCode::BAD_REQUEST,
            None,
        ),
        (
            "duplicate field",
            good.replacen("\"seq\":1", "\"seq\":1,\"seq\":2", 1)
                .into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("seq"),
        ),
        (
            "null where an object is due",
            set(full_batch("u"), "/context", Value::Null)
                .to_string()
                .into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("context"),
        ),
        (
            "string for an array",
            set(full_batch("u"), "/vitals", json!("LCP"))
                .to_string()
                .into_bytes(),
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("vitals"),
        ),
    ];
    for (name, body, status, field) in cases {
        let (got, json) = post_raw(&app, body).await;
        assert_eq!(got, status, "{name}: {json}");
        match field {
            Some(field) => assert_eq!(json["error"]["field"], field, "{name}: {json}"),
            None => assert!(json["error"]["code"].is_string(), "{name}: {json}"),
        }
    }

    let (status, json) = post_raw(&app, good).await;
    assert_eq!(status, StatusCode::OK, "{json}");
}

#[tokio::test]
async fn wrong_content_types_and_encodings_get_415() {
    let app = test_app();
    let body = batch("ct", json!([lcp("ct-0", 1.0)])).to_string();
    for content_type in [
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=----x",
        "text/plain; charset=utf-16le",
        "application/octet-stream",
        "text/html",
    ] {
        let request = Request::post("/api/v1/ingest")
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body.clone()))
            .unwrap();
        let (status, json, _) = send(&app, request).await;
        assert_eq!(
            status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type}: {json}"
        );
        assert_eq!(json["error"]["code"], "unsupported_content_type");
        assert_eq!(json["error"]["field"], "content-type");
    }
    for (encoding, status) in [
        ("gzip, br", StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("deflate", StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("br", StatusCode::BAD_REQUEST),
    ] {
        let (got, json) = post_encoded(&app, encoding, gzip(body.as_bytes())).await;
        assert_eq!(got, status, "{encoding}: {json}");
    }
    // Gzip inside gzip inflates once, to bytes that are not JSON.
    let (status, json) = post_encoded(&app, "gzip", gzip(&gzip(body.as_bytes()))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
    assert_eq!(json["error"]["code"], "malformed_json");

    let request = Request::post("/api/v1/ingest")
        .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
        .body(Body::from(body))
        .unwrap();
    let (status, json, _) = send(&app, request).await;
    assert_eq!(status, StatusCode::OK, "{json}");
}

#[tokio::test]
async fn the_tracker_files_may_be_loaded_from_any_origin() {
    let app = test_app_with(|config| {
        std::fs::create_dir_all(&config.tracker_dir).unwrap();
        std::fs::write(config.tracker_dir.join("perfscope.js"), "// loader").unwrap();
    });
    let request = Request::get("/tracker/perfscope.js")
        .header(header::ORIGIN, "https://shop.example")
        .body(Body::empty())
        .unwrap();
    let (status, headers, _) = send_full(&app, request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
}
