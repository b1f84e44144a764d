//! Backend monitoring through the router: the query cache behind the read API and its
//! invalidation by ingest, sources ingest, `/metrics`, the alerts API and the stream.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::test_app::TestApp;
use http_body_util::BodyExt;
use perfscope_model::Summary;
use perfscope_server::config::SiteConfig;
use perfscope_server::monitoring_config::SourceConfig;
use perfscope_server::sites::SiteKey;
use perfscope_server::store::{SqliteStore, Store};
use perfscope_server::stream::LiveEvent;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

fn test_app() -> TestApp {
    TestApp::with(|config| {
        config.sites.push(SiteConfig {
            key: SiteKey::try_from("shop".to_string()).unwrap(),
            origins: Vec::new(),
        });
        config.sources.insert(
            "billing".into(),
            SourceConfig {
                token: "s3cret-token".into(),
            },
        );
    })
}

/// Signed in: the read and alert APIs answer only the admin (the sources API ignores
/// the session and checks its own bearer token).
async fn send(app: &TestApp, request: Request<Body>) -> (StatusCode, Value, String) {
    let reply = app.send_signed_in(request).await;
    (reply.status, reply.json(), reply.text())
}

async fn get(app: &TestApp, uri: &str) -> (StatusCode, Value, String) {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

async fn post_json(
    app: &TestApp,
    uri: &str,
    token: Option<&str>,
    body: &str,
) -> (StatusCode, Value) {
    let mut request = Request::post(uri).header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let (status, json, _) = send(app, request.body(Body::from(body.to_string())).unwrap()).await;
    (status, json)
}

fn now_ms() -> i64 {
    perfscope_server::clock::now_ms()
}

async fn ingest(app: &TestApp, page_view: &str, ts: i64, lcp: f64) {
    let body = json!({ "site": "shop", "page_view": page_view, "seq": 0, "page": "/",
        "vitals": [{ "id": format!("{page_view}-0"), "ts": ts, "name": "LCP", "value": lcp }] });
    let (status, json) = post_json(app, "/api/v1/ingest", None, &body.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{json}");
}

fn lcp_count(summary: &Value) -> u64 {
    let summary: Summary = serde_json::from_value(summary.clone()).unwrap();
    summary
        .vitals
        .iter()
        .find(|v| v.name.as_str() == "LCP")
        .unwrap()
        .count
}

#[tokio::test]
async fn cached_answers_never_miss_accepted_events() {
    let app = test_app();
    let now = now_ms();
    let (from, to) = (now - 3_600_000, now + 60_000);
    let earlier = format!(
        "/api/v1/summary?site=shop&from={}&to={}",
        from - 3_600_000,
        from
    );
    let uri = format!("/api/v1/summary?site=shop&from={from}&to={to}");
    ingest(&app, "pv1", now - 1000, 1800.0).await;
    let (status, first, _) = get(&app, &uri).await;
    assert_eq!((status, lcp_count(&first)), (StatusCode::OK, 1));
    get(&app, &earlier).await;
    for _ in 0..3 {
        assert_eq!(get(&app, &uri).await.1, first);
    }
    let stats = app.monitoring.cache.stats().await;
    let hits: Vec<u64> = stats.layers.iter().map(|l| l.hits).collect();
    assert_eq!(hits, vec![1, 1, 1], "L3, then L2, then L1");

    ingest(&app, "pv2", now - 500, 2600.0).await;
    let (_, second, _) = get(&app, &uri).await;
    assert_eq!(lcp_count(&second), 2, "the new event is in the next answer");
    // The earlier range got no event: its answer stays cached.
    get(&app, &earlier).await;
    let stats = app.monitoring.cache.stats().await;
    assert_eq!(stats.layers[2].hits, 2, "{stats:?}");
    let (_, api_stats, _) = get(&app, "/api/v1/cache/stats").await;
    assert_eq!(api_stats["layers"][0]["layer"], "l1");
    assert_eq!(api_stats["layers"][0]["limit_bytes"], 1024 * 1024);
    assert!(api_stats["layers"][1]["promotions"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn sources_post_samples_with_their_token_and_bad_input_names_the_field() {
    let app = test_app();
    let uri = "/api/v1/sources/billing/samples";
    let good = json!({
        "cache_layers": [{ "layer": "redis-l2", "entries": 10, "bytes": 2048, "hits": 90,
            "misses": 10 }],
        "resources": [{ "name": "cpu_percent", "value": 42.5 }]
    })
    .to_string();
    let (status, json) = post_json(&app, uri, None, &good).await;
    assert_eq!(
        (status, &json["error"]["code"]),
        (StatusCode::UNAUTHORIZED, &json!("unauthorized"))
    );
    let (status, _) = post_json(&app, uri, Some("wrong"), &good).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, json) = post_json(&app, "/api/v1/sources/nobody/samples", Some("x"), &good).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{json}");

    let cases = [
        (
            r#"{"resources":[{"name":"ok","value":1},{"name":"bad name","value":1}]}"#,
            "resources[1].name",
        ),
        (
            r#"{"resources":[{"name":"ok","value":"high"}]}"#,
            "resources[0].value",
        ),
        (
            r#"{"cache_layers":[{"layer":"l1","entries":1,"bytes":1,"hits":1,"misses":1,"colour":1}]}"#,
            "cache_layers[0].colour",
        ),
        (
            r#"{"cache_layers":[{"layer":"l1","entries":1,"bytes":1,"hits":1,"misses":1,"hit_rate":2}]}"#,
            "cache_layers[0].hit_rate",
        ),
        (r#"{"ts":1,"resources":[{"name":"ok","value":1}]}"#, "ts"),
        (r#"{}"#, "cache_layers"),
    ];
    for (body, field) in cases {
        let (status, json) = post_json(&app, uri, Some("s3cret-token"), body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {json}");
        assert_eq!(json["error"]["field"], field, "{body}: {json}");
    }
    let (status, json) = post_json(&app, uri, Some("s3cret-token"), "{not json").await;
    assert_eq!(
        (status, &json["error"]["code"]),
        (StatusCode::BAD_REQUEST, &json!("malformed_json"))
    );

    let (status, json) = post_json(&app, uri, Some("s3cret-token"), &good).await;
    assert_eq!((status, json), (StatusCode::OK, json!({ "stored": 7 })));
    let (_, names, _) = get(&app, "/api/v1/monitor/names?prefix=source.billing").await;
    assert!(
        names
            .as_array()
            .unwrap()
            .contains(&json!("source.billing.cache.redis-l2.hit_rate")),
        "{names}"
    );
    let (status, series, _) = get(
        &app,
        "/api/v1/monitor/series?name=source.billing.cache.redis-l2.hit_rate&resolution=raw",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{series}");
    assert_eq!(series["points"][0]["avg"], 0.9);
    let (status, json, _) = get(&app, "/api/v1/monitor/series?name=a%20b").await;
    assert_eq!(
        (status, &json["error"]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("name"))
    );
    let (status, json, _) = get(&app, "/api/v1/monitor/series?name=x&colour=1").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{json}");
    let (status, json, _) = get(&app, "/api/v1/monitor/series?name=x&from=soon").await;
    assert_eq!(
        (status, &json["error"]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("from"))
    );
    let big = format!(
        r#"{{"resources":[{{"name":"x","value":1}}],"pad":"{}"}}"#,
        "x".repeat(3 << 20)
    );
    let (status, json) = post_json(&app, uri, Some("s3cret-token"), &big).await;
    assert_eq!(
        (status, &json["error"]["code"]),
        (StatusCode::PAYLOAD_TOO_LARGE, &json!("payload_too_large"))
    );
}

#[tokio::test]
async fn metrics_expose_ingest_queue_cache_and_alert_states() {
    let app = test_app();
    ingest(&app, "pv1", now_ms(), 1500.0).await;
    let (status, _) = post_json(&app, "/api/v1/ingest", None, "{oops").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = post_json(&app, "/api/v1/ingest", None, r#"{"site":"shop"}"#).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let rule = perfscope_server::alerts::rules::default_rules()
        .into_iter()
        .find(|r| r.id == "lcp_p75")
        .unwrap();
    app.monitoring
        .alerts
        .apply(vec![(rule, "shop".into(), Some(4000.0))])
        .await
        .unwrap();

    let (status, _, text) = get(&app, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    for line in [
        "perfscope_ingest_batches_total 1",
        "perfscope_ingest_events_total 1",
        "perfscope_ingest_rejected_batches_total{reason=\"malformed\"} 1",
        "perfscope_ingest_rejected_batches_total{reason=\"invalid_field\"} 1",
        "perfscope_write_queue_depth 0",
        "perfscope_query_cache{layer=\"l1\",stat=\"limit_bytes\"} 1048576",
        "perfscope_query_cache{layer=\"l3\",stat=\"limit_bytes\"} 104857600",
        "perfscope_alert_state{rule=\"lcp_p75\",severity=\"warning\",site=\"shop\",status=\"pending\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "missing `{line}` in\n{text}");
    }
}

#[tokio::test]
async fn the_alerts_api_validates_rules_and_controls_instances() {
    let app = test_app();
    let rule = json!({ "id": "checkout_p95", "metric": "api_latency", "aggregation": "p95",
        "comparison": ">", "threshold": 300.0, "window_secs": 300, "for_secs": 0,
        "severity": "critical", "labels": { "team": "payments" }, "site": "shop" });
    let uri = "/api/v1/alerts/rules";
    let mut wrong = rule.clone();
    wrong["aggregation"] = json!("average");
    let (status, json) = post_json(&app, uri, None, &wrong.to_string()).await;
    assert_eq!(
        (status, &json["error"]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("aggregation"))
    );
    let mut wrong = rule.clone();
    wrong["comparison"] = json!("~");
    let (status, json) = post_json(&app, uri, None, &wrong.to_string()).await;
    assert_eq!(
        (status, &json["error"]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("comparison"))
    );
    let mut wrong = rule.clone();
    wrong["id"] = json!("lcp_p75");
    wrong["metric"] = json!("lcp");
    let (status, json) = post_json(&app, uri, None, &wrong.to_string()).await;
    assert_eq!(
        (status, &json["error"]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("id")),
        "{json}"
    );

    let (status, json) = post_json(&app, uri, None, &rule.to_string()).await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
    let (_, rules, _) = get(&app, uri).await;
    assert_eq!(rules.as_array().unwrap().len(), 9, "8 defaults and ours");

    let (status, _) = post_json(
        &app,
        "/api/v1/alerts/checkout_p95/acknowledge",
        None,
        r#"{"site":"shop"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not firing yet");
    let silence = "/api/v1/alerts/checkout_p95/silence";
    let (status, json) = post_json(&app, silence, None, r#"{"site":"shop"}"#).await;
    assert_eq!(
        (status, &json["error"]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("minutes"))
    );
    let (status, json) = post_json(&app, silence, None, r#"{"site":"shop","minutes":30}"#).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert!(json["silenced_until_ms"].as_i64().unwrap() > now_ms() + 29 * 60_000);

    let rule: perfscope_model::AlertRule = serde_json::from_value(rule).unwrap();
    app.monitoring
        .alerts
        .apply(vec![(rule, "shop".into(), Some(450.0))])
        .await
        .unwrap();
    let (_, alerts, _) = get(&app, "/api/v1/alerts").await;
    assert_eq!(alerts[0]["status"], "firing");
    assert!(alerts[0]["silenced_until_ms"].is_i64());
    let (status, _) = post_json(
        &app,
        "/api/v1/alerts/checkout_p95/acknowledge",
        None,
        r#"{"site":"shop"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, history, _) = get(&app, "/api/v1/alerts/history?limit=5").await;
    assert_eq!(history[0]["to"], "firing");
    let (status, json, _) = get(&app, "/api/v1/alerts/history?limit=0").await;
    assert_eq!(
        (status, &json["error"]["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("limit"))
    );

    let request = Request::delete("/api/v1/alerts/rules/checkout_p95")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, request).await.0, StatusCode::NO_CONTENT);
    let request = Request::delete("/api/v1/alerts/rules/cpu")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(&app, request).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let (status, hints, _) = get(&app, "/api/v1/recommendations?site=shop").await;
    assert_eq!((status, hints), (StatusCode::OK, json!([])));
    let (status, json, _) = get(&app, "/api/v1/recommendations").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{json}");
}

#[tokio::test]
async fn the_stream_relays_live_events_as_server_sent_events() {
    let app = test_app();
    let cookie = app.login().await;
    let response = app
        .router
        .clone()
        .oneshot(
            Request::get("/api/v1/stream")
                .header(header::COOKIE, cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/event-stream"
    );
    assert_eq!(app.monitoring.live.listeners(), 1);
    app.monitoring.live.publish(LiveEvent::Resources {
        ts: 42,
        values: [("system.cpu.total_percent".to_string(), 12.5)].into(),
    });
    let mut body = response.into_body();
    let frame = tokio::time::timeout(std::time::Duration::from_secs(5), body.frame())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let text = String::from_utf8(frame.into_data().unwrap().to_vec()).unwrap();
    assert!(text.starts_with("event: resources\n"), "{text}");
    assert!(
        text.contains(
            r#"data: {"type":"resources","ts":42,"values":{"system.cpu.total_percent":12.5}}"#
        ),
        "{text}"
    );

    // After an ingest, the site's summary follows on the stream.
    ingest(&app, "pv1", now_ms(), 1200.0).await;
    app.monitoring
        .publish_summaries(
            &(Arc::new(SqliteStore::open(&app.dir.path().join("perfscope.db")).unwrap())
                as Arc<dyn Store>),
            now_ms() + 1,
        )
        .await;
    let frame = tokio::time::timeout(std::time::Duration::from_secs(5), body.frame())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let text = String::from_utf8(frame.into_data().unwrap().to_vec()).unwrap();
    assert!(text.starts_with("event: summary\n"), "{text}");
    assert!(text.contains(r#""site":"shop""#), "{text}");
}
