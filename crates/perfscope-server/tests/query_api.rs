//! The read API driven in-process with `oneshot`: data ingested over HTTP, then every
//! query endpoint, its filters, and each parameter error.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::test_app::TestApp;
use serde_json::{json, Value};

const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

fn test_app() -> TestApp {
    TestApp::with(|config| config.cardinality.max_routes_per_site = 2)
}

fn now_ms() -> i64 {
    perfscope_server::clock::now_ms()
}

/// Signed in: the read API answers only the admin.
async fn send(app: &TestApp, request: Request<Body>) -> (StatusCode, String, String) {
    let reply = app.send_signed_in(request).await;
    (reply.status, reply.content_type(), reply.text())
}

async fn get_json(app: &TestApp, uri: &str) -> (StatusCode, Value) {
    let (status, _, body) = send(app, Request::get(uri).body(Body::empty()).unwrap()).await;
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

async fn ingest(app: &TestApp, user_agent: &str, body: Value) -> Value {
    let request = Request::post("/api/v1/ingest")
        .header(header::USER_AGENT, user_agent)
        .body(Body::from(body.to_string()))
        .unwrap();
    let (status, _, body) = send(app, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// Ten page views: Chrome desktop on `/` and Firefox mobile on `/users/:id`, each with
/// an LCP (attributed), a CLS and two API calls, one of them failing.
async fn seed(app: &TestApp) -> i64 {
    let ts = (now_ms() - 600_000) as f64;
    for i in 0..10 {
        let (ua, page, device) = if i % 2 == 0 {
            (CHROME, "/", "desktop")
        } else {
            (FIREFOX, "/users/:id", "mobile")
        };
        let target = if i < 7 { "img.hero" } else { "h1" };
        let body = json!({
            "site": "demo", "page_view": format!("pv{i}"), "seq": 0, "page": page,
            "context": { "device": device, "connection": "4g", "navigation_type": "navigate" },
            "vitals": [
                { "id": format!("pv{i}-lcp"), "ts": ts + f64::from(i) * 1000.0, "name": "LCP",
                  "value": 1000.0 + f64::from(i) * 500.0, "attribution": { "target": target } },
                { "id": format!("pv{i}-cls"), "ts": ts, "name": "CLS", "value": 0.05 },
            ],
            "api_calls": [
                { "id": format!("pv{i}-a"), "ts": ts, "method": "GET", "path": "/api/items",
                  "status": 200, "duration": 100.0 + f64::from(i) },
                { "id": format!("pv{i}-b"), "ts": ts, "method": "POST", "path": "/api/cart",
                  "status": 503, "duration": 900.0, "outcome": "http-error" },
            ],
        });
        ingest(app, ua, body).await;
    }
    ts as i64
}

#[tokio::test]
async fn summary_endpoints_and_breakdowns_answer_from_the_rollups() {
    let app = test_app();
    seed(&app).await;

    let (status, summary) = get_json(&app, "/api/v1/summary?site=demo").await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    let lcp = &summary["vitals"][0];
    assert_eq!(lcp["name"], "LCP");
    assert_eq!(lcp["count"], 10);
    // 1000, 1500 … 5500: p75 by nearest rank is the 8th, 4500, within the sketch's 1 %.
    let p75 = lcp["p75"].as_f64().unwrap();
    assert!((p75 - 4500.0).abs() <= 45.0, "{p75}");
    assert_eq!(lcp["p99"], 5500.0);
    assert_eq!(
        (&lcp["good"], &lcp["needs_improvement"], &lcp["poor"]),
        (&json!(4), &json!(3), &json!(3))
    );
    let vital_names: Vec<&str> = summary["vitals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(vital_names, ["LCP", "INP", "CLS", "FCP", "TTFB"]);
    assert_eq!(summary["vitals"][1]["count"], 0);
    assert!(summary["vitals"][1]["p75"].is_null());

    let (status, endpoints) = get_json(&app, "/api/v1/endpoints?site=demo").await;
    assert_eq!(status, StatusCode::OK);
    // Slowest p95 first.
    assert_eq!(endpoints[0]["path"], "/api/cart");
    assert_eq!(endpoints[0]["error_rate"], 1.0);
    assert_eq!(endpoints[1]["path"], "/api/items");
    assert_eq!(endpoints[1]["error_rate"], 0.0);
    assert_eq!(endpoints[1]["count"], 10);
    let throughput = endpoints[1]["throughput_per_min"].as_f64().unwrap();
    assert!((throughput - 10.0 / 1440.0).abs() < 1e-9, "{throughput}");
    assert_eq!(summary["endpoints"], endpoints);

    let (status, rows) = get_json(&app, "/api/v1/breakdown?site=demo&metric=LCP&by=browser").await;
    assert_eq!(status, StatusCode::OK, "{rows}");
    let keys: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["chrome", "firefox"]);
    assert_eq!(rows[0]["summary"]["count"], 5);

    let (_, rows) = get_json(
        &app,
        "/api/v1/breakdown?site=demo&metric=LCP&by=route&limit=1",
    )
    .await;
    assert_eq!(rows.as_array().unwrap().len(), 1);

    // A filter narrows every answer.
    let (_, mobile) = get_json(&app, "/api/v1/summary?site=demo&device=mobile").await;
    assert_eq!(mobile["vitals"][0]["count"], 5);
    let (_, mobile_chrome) = get_json(
        &app,
        "/api/v1/summary?site=demo&device=mobile&browser=chrome",
    )
    .await;
    assert_eq!(mobile_chrome["vitals"][0]["count"], 0);
    let (_, routes) = get_json(
        &app,
        "/api/v1/breakdown?site=demo&metric=LCP&by=route&device=desktop",
    )
    .await;
    assert_eq!(routes[0]["key"], "/");
    assert_eq!(routes.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn series_targets_samples_and_csv() {
    let app = test_app();
    let ts = seed(&app).await;

    let (status, series) = get_json(&app, "/api/v1/series?site=demo&metric=LCP").await;
    assert_eq!(status, StatusCode::OK, "{series}");
    assert_eq!(series["bucket_ms"], 3_600_000);
    let counts: u64 = series["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["count"].as_u64().unwrap())
        .sum();
    assert_eq!(counts, 10);

    let from = ts - 60_000;
    let to = ts + 3_600_000;
    let (_, series) = get_json(
        &app,
        &format!(
            "/api/v1/series?site=demo&metric=api&method=POST&path=/api/cart&from={from}&to={to}"
        ),
    )
    .await;
    assert_eq!(series["bucket_ms"], 60_000);
    assert_eq!(series["points"][0]["error_rate"], 1.0);
    assert_eq!(series["points"][0]["count"], 10);

    let (status, targets) = get_json(&app, "/api/v1/targets?site=demo&metric=LCP").await;
    assert_eq!(status, StatusCode::OK, "{targets}");
    assert_eq!(targets[0]["target"], "img.hero");
    assert_eq!(targets[0]["count"], 7);
    assert_eq!(targets[0]["p75"], 3500.0);
    assert_eq!(targets[1]["target"], "h1");

    let (status, samples) = get_json(&app, "/api/v1/samples?site=demo&metric=LCP&limit=2").await;
    assert_eq!(status, StatusCode::OK, "{samples}");
    assert_eq!(samples.as_array().unwrap().len(), 2);
    assert_eq!(samples[0]["id"], "pv9-lcp");
    assert_eq!(samples[0]["browser"], "firefox");
    assert_eq!(samples[0]["device"], "mobile");
    assert_eq!(samples[0]["target"], "h1");

    let (status, content_type, csv) = send(
        &app,
        Request::get("/api/v1/export.csv?site=demo&kind=vitals")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("id,ts,page_view,route,name,value"),
        "{}",
        lines[0]
    );
    assert_eq!(lines.len(), 1 + 20);
    let (_, _, csv) = send(
        &app,
        Request::get("/api/v1/export.csv?site=demo&kind=api_calls&limit=3")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(csv.lines().count(), 1 + 3);
    assert!(csv.contains("http-error"), "{csv}");
}

#[tokio::test]
async fn duplicates_are_not_counted_and_routes_beyond_the_cap_are_other() {
    let app = test_app();
    let ts = now_ms() as f64;
    let batch = |page: &str, id: &str| {
        json!({ "site": "demo", "page_view": id, "seq": 0, "page": page,
            "vitals": [{ "id": id, "ts": ts, "name": "LCP", "value": 1200.0 }] })
    };
    assert_eq!(ingest(&app, CHROME, batch("/a", "1")).await["stored"], 1);
    assert_eq!(
        ingest(&app, CHROME, batch("/a", "1")).await["duplicates"],
        1
    );
    ingest(&app, CHROME, batch("/b", "2")).await;
    // The cap in this app is two routes: the third is kept, under `other`.
    ingest(&app, CHROME, batch("/c", "3")).await;
    ingest(&app, CHROME, batch("/d", "4")).await;
    let (_, rows) = get_json(&app, "/api/v1/breakdown?site=demo&metric=LCP&by=route").await;
    let rows: Vec<(String, u64)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_string(),
                r["summary"]["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![("other".into(), 2), ("/a".into(), 1), ("/b".into(), 1)]
    );
    let (_, other) = get_json(&app, "/api/v1/summary?site=demo&route=other").await;
    assert_eq!(other["vitals"][0]["count"], 2);
}

/// Every endpoint, every parameter: a 422 naming the parameter.
#[tokio::test]
async fn each_bad_parameter_gets_a_422_naming_it() {
    let app = test_app();
    let cases = [
        ("/api/v1/summary", "site"),
        ("/api/v1/summary?site=a%20b", "site"),
        ("/api/v1/summary?site=demo&from=yesterday", "from"),
        ("/api/v1/summary?site=demo&from=10&to=5", "from"),
        ("/api/v1/summary?site=demo&to=-1", "to"),
        ("/api/v1/summary?site=demo&device=phone", "device"),
        ("/api/v1/summary?site=demo&browser=mosaic", "browser"),
        ("/api/v1/summary?site=demo&connection=5g", "connection"),
        (
            "/api/v1/summary?site=demo&navigation_type=warp",
            "navigation_type",
        ),
        ("/api/v1/summary?site=demo&route=no-slash", "route"),
        ("/api/v1/summary?site=demo&metric=LCP", "metric"),
        ("/api/v1/endpoints?site=demo&limit=5", "limit"),
        ("/api/v1/breakdown?site=demo&by=route", "metric"),
        ("/api/v1/breakdown?site=demo&metric=XYZ&by=route", "metric"),
        ("/api/v1/breakdown?site=demo&metric=LCP", "by"),
        ("/api/v1/breakdown?site=demo&metric=LCP&by=colour", "by"),
        (
            "/api/v1/breakdown?site=demo&metric=LCP&by=route&limit=0",
            "limit",
        ),
        (
            "/api/v1/breakdown?site=demo&metric=LCP&by=route&limit=lots",
            "limit",
        ),
        ("/api/v1/series?site=demo", "metric"),
        ("/api/v1/series?site=demo&metric=apis", "metric"),
        ("/api/v1/series?site=demo&metric=api&method=GET", "path"),
        ("/api/v1/series?site=demo&metric=api&path=/x", "method"),
        (
            "/api/v1/series?site=demo&metric=api&method=FETCH&path=/x",
            "method",
        ),
        (
            "/api/v1/series?site=demo&metric=api&method=GET&path=x",
            "path",
        ),
        (
            "/api/v1/series?site=demo&metric=LCP&method=GET&path=/x",
            "method",
        ),
        ("/api/v1/targets?site=demo&metric=TTFB", "metric"),
        ("/api/v1/targets?site=demo&metric=LCP&limit=100000", "limit"),
        ("/api/v1/samples?site=demo", "metric"),
        ("/api/v1/samples?site=demo&metric=LCP&limit=5000", "limit"),
        ("/api/v1/export.csv?site=demo", "kind"),
        ("/api/v1/export.csv?site=demo&kind=pdf", "kind"),
        (
            "/api/v1/export.csv?site=demo&kind=api_calls&metric=LCP",
            "metric",
        ),
        (
            "/api/v1/export.csv?site=demo&kind=vitals&limit=1000000",
            "limit",
        ),
    ];
    for (uri, field) in cases {
        let (status, json) = get_json(&app, uri).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{uri}: {json}");
        assert_eq!(json["error"]["field"], field, "{uri}: {json}");
        assert_eq!(json["error"]["code"], "invalid_field", "{uri}");
        assert!(!json["error"]["message"].as_str().unwrap().is_empty());
    }
}
