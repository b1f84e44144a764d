//! End to end: the real collector, the standalone tracker on `/demo` in headless
//! Chromium, and the dashboard: signing in, every view over ingested data (with a
//! screenshot each under target/e2e/screenshots/), and beacons full of script-injection
//! payloads shown as text.
//!
//! Ignored by plain `cargo test`; `cargo xtask test` builds what they need and runs them.

mod support;

use fantoccini::{Client, Locator};
use perfscope_model::{Summary, VitalName};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use support::browser::{wait_for_tracker, Browser};
use support::collector::{Collector, ADMIN_PASSWORD, ADMIN_USER};
use support::eventually;

/// Independent of the tracker: the browser's own latest LCP candidate for this page.
const BROWSER_LCP_JS: &str = r#"
const done = arguments[arguments.length - 1];
new PerformanceObserver((list) => {
  const entries = list.getEntries();
  done(entries[entries.length - 1].startTime);
}).observe({ type: 'largest-contentful-paint', buffered: true });
"#;

/// An HTTP client that sends a session cookie, for reading the API outside the browser.
async fn signed_in_http(collector: &Collector) -> reqwest::Client {
    let cookie = collector.login(&reqwest::Client::new()).await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::COOKIE,
        cookie
            .parse()
            .expect("a session cookie is a valid header value"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

async fn summary(http: &reqwest::Client, collector: &Collector, site: &str) -> Option<Summary> {
    let response = http
        .get(collector.url(&format!("/api/v1/summary?site={site}")))
        .send()
        .await
        .ok()?;
    response.json().await.ok()
}

fn vital_count(summary: &Summary, name: VitalName) -> u64 {
    summary
        .vitals
        .iter()
        .find(|v| v.name == name)
        .map_or(0, |v| v.count)
}

#[tokio::test]
#[ignore = "needs Chromium and the built wasm: run with `cargo xtask test`"]
async fn the_demo_pages_lcp_shows_on_the_dashboard() {
    let collector = Collector::start();
    let browser = Browser::start().await;
    let http = signed_in_http(&collector).await;
    let page = &browser.client;
    sign_in(page, &collector, "/performance/?site=demo").await;

    page.goto(&collector.url("/demo")).await.unwrap();
    wait_for_tracker(page).await;
    // The hero image is the LCP element; give it time to be painted before reading.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let measured: f64 = page
        .execute_async(BROWSER_LCP_JS, vec![])
        .await
        .unwrap()
        .as_f64()
        .expect("the browser reports an LCP for /demo");
    // A click finalises LCP (as in web-vitals) and makes a tracked API call.
    page.find(Locator::Id("reload"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait_for(
            "the demo products to load",
            Duration::from_secs(10),
            || async {
                let items = page.find_all(Locator::Css("#products li")).await.ok()?;
                (!items.is_empty()).then_some(())
            },
        )
        .await;
    browser.screenshot("demo").await;

    // Leaving the page hides it: the tracker flushes its batch with sendBeacon.
    page.goto("about:blank").await.unwrap();
    let stored = eventually(
        "the demo page's batch to be stored",
        Duration::from_secs(20),
        || async {
            let s = summary(&http, &collector, "demo").await?;
            (vital_count(&s, VitalName::Lcp) >= 1 && !s.endpoints.is_empty()).then_some(s)
        },
    )
    .await;
    let lcp = stored
        .vitals
        .iter()
        .find(|v| v.name == VitalName::Lcp)
        .unwrap();
    assert_eq!(lcp.count, 1, "one page view, one LCP: {stored:?}");
    let stored_lcp = lcp.p75.unwrap();
    assert!(
        (stored_lcp - measured).abs() < 1.0,
        "tracker stored LCP {stored_lcp} ms, the browser measured {measured} ms"
    );
    assert!(
        stored
            .endpoints
            .iter()
            .any(|e| e.path == "/demo/api/products" && e.method == "GET"),
        "the demo's fetch is tracked: {:?}",
        stored.endpoints
    );

    page.goto(&collector.url("/performance/?site=demo"))
        .await
        .unwrap();
    let expected = VitalName::Lcp.format(measured);
    let shown = browser
        .wait_for(
            "the dashboard's LCP card to show the value",
            Duration::from_secs(20),
            || async {
                let card = page
                    .find(Locator::Css("[data-metric=\"LCP\"] .vital-value"))
                    .await
                    .ok()?;
                let text = card.text().await.ok()?;
                text.contains(&expected).then_some(text)
            },
        )
        .await;
    assert!(shown.contains(&expected));
    let table = page
        .find(Locator::Css("table"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        table.contains("/demo/api/products"),
        "endpoint table: {table}"
    );
    browser.screenshot("performance").await;

    // The dashboard runs the tracker on itself: leaving it sends its own vitals.
    page.goto("about:blank").await.unwrap();
    eventually(
        "the dashboard's own vitals to arrive",
        Duration::from_secs(20),
        || async {
            let s = summary(&http, &collector, "perfscope-dashboard").await?;
            (vital_count(&s, VitalName::Fcp) >= 1).then_some(())
        },
    )
    .await;
    browser.close().await;
}

#[tokio::test]
#[ignore = "needs the built collector: run with `cargo xtask test`"]
async fn a_bad_batch_gets_a_clear_4xx_and_the_server_keeps_serving() {
    let mut collector = Collector::start();
    // A fresh connection per request: "keeps serving" must not hinge on connection reuse.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let response = http
        .post(collector.url("/api/v1/ingest"))
        .header("content-type", "text/plain")
        .body(r#"{"site":"demo","page_view":"p","seq":0,"page":"/","vitals":[{"id":"a","ts":1,"name":"SPEED","value":1}]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["field"], "vitals[0].name", "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("SPEED"),
        "{body}"
    );

    // Just over the 64 KiB limit: small enough to sit in loopback socket buffers, so the
    // client has written it all before the server answers and closes.
    let oversized = "x".repeat(80 * 1024);
    let response = http
        .post(collector.url("/api/v1/ingest"))
        .body(oversized)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(response.headers()["connection"], "close");

    assert!(collector.is_running(), "the collector survived bad input");
    // The dashboard's files are public: a page any client may fetch without a session.
    let dashboard = http
        .get(collector.url("/performance/"))
        .send()
        .await
        .unwrap();
    assert_eq!(dashboard.status(), 200);
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as f64
}

/// Signs in through the dashboard's login page: opening `path` without a session must
/// lead to the login page, and signing in must return to `path`.
async fn sign_in(page: &Client, collector: &Collector, path: &str) {
    page.goto(&collector.url(path)).await.unwrap();
    eventually(
        "an API's 401 to lead to the login page",
        Duration::from_secs(20),
        || async {
            let url = page.current_url().await.ok()?;
            (url.path() == "/performance/login").then_some(())
        },
    )
    .await;
    let form = |id: &'static str| async move {
        eventually(id, Duration::from_secs(10), || async {
            page.find(Locator::Id(id)).await.ok()
        })
        .await
    };
    form("login-username")
        .await
        .send_keys(ADMIN_USER)
        .await
        .unwrap();
    form("login-password")
        .await
        .send_keys(ADMIN_PASSWORD)
        .await
        .unwrap();
    page.find(Locator::Css(".login-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let expected = collector.url(path);
    eventually(
        "signing in to return to the page asked for",
        Duration::from_secs(20),
        || async {
            let url = page.current_url().await.ok()?;
            (url.as_str() == expected).then_some(())
        },
    )
    .await;
}

/// Posts one batch as the tracker would and expects it accepted.
async fn post_batch(http: &reqwest::Client, collector: &Collector, batch: &Value) {
    let response = http
        .post(collector.url("/api/v1/ingest"))
        .header("content-type", "text/plain")
        .body(batch.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    assert!(status.is_success(), "ingest answered {status}: {body}");
}

/// One page view of `route` with all five vitals (attributed) and two API calls.
fn page_view(
    id: &str,
    route: &str,
    device: &str,
    scale: f64,
    target: &str,
    api_path: &str,
) -> Value {
    let ts = now_ms() - 60_000.0;
    let vital = |name: &str, value: f64| {
        json!({ "id": format!("{id}-{name}"), "ts": ts, "name": name, "value": value,
                "attribution": { "target": target } })
    };
    json!({
        "site": "demo", "page_view": id, "seq": 0, "page": route,
        "context": { "navigation_type": "navigate", "device": device, "connection": "4g",
                     "viewport_width": 1280, "viewport_height": 800 },
        "vitals": [
            vital("LCP", 1800.0 * scale), vital("FCP", 900.0 * scale),
            vital("TTFB", 300.0 * scale), vital("CLS", 0.04 * scale),
            vital("INP", 120.0 * scale),
        ],
        "api_calls": [
            { "id": format!("{id}-a1"), "ts": ts, "method": "GET", "path": api_path,
              "status": 200, "duration": 80.0 * scale, "outcome": "ok" },
            { "id": format!("{id}-a2"), "ts": ts, "method": "POST", "path": "/api/cart",
              "status": if scale > 1.5 { 500 } else { 201 }, "duration": 140.0 * scale,
              "outcome": if scale > 1.5 { "http-error" } else { "ok" } },
        ],
    })
}

async fn seed_demo_traffic(collector: &Collector) {
    let http = reqwest::Client::new();
    let routes = ["/", "/products/:id", "/checkout"];
    for i in 0..18 {
        let route = routes[i % routes.len()];
        let device = ["desktop", "mobile", "tablet"][i % 3];
        let scale = 0.6 + (i as f64) * 0.12;
        let batch = page_view(
            &format!("pv-{i}"),
            route,
            device,
            scale,
            "main > img.hero",
            "/api/products",
        );
        post_batch(&http, collector, &batch).await;
    }
}

fn screenshot_dir() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e/screenshots");
    std::fs::create_dir_all(dir).expect("creating target/e2e/screenshots");
}

/// Waits for at least `min` elements matching `css`, and returns their texts.
async fn texts(browser: &Browser, what: &str, css: &str, min: usize) -> Vec<String> {
    let page = &browser.client;
    browser
        .wait_for(what, Duration::from_secs(30), || async {
            let found = page.find_all(Locator::Css(css)).await.ok()?;
            if found.len() < min {
                return None;
            }
            let mut texts = Vec::new();
            for element in found {
                texts.push(element.text().await.ok()?);
            }
            Some(texts)
        })
        .await
}

/// Waits until an element's `data-points` attribute says it draws at least one point,
/// reloading the page meanwhile (host samples arrive every 15 s).
async fn chart_points(browser: &Browser, what: &str, css: &str, timeout: Duration) -> u64 {
    let page = &browser.client;
    let mut last_reload = std::time::Instant::now();
    browser
        .wait_for(what, timeout, || {
            let reload = last_reload.elapsed() > Duration::from_secs(5);
            if reload {
                last_reload = std::time::Instant::now();
            }
            async move {
                if reload {
                    page.refresh().await.ok()?;
                }
                let elements = page.find_all(Locator::Css(css)).await.ok()?;
                let mut total = 0;
                for element in elements {
                    let points: u64 = element.attr("data-points").await.ok()??.parse().ok()?;
                    total += points;
                }
                (total > 0).then_some(total)
            }
        })
        .await
}

#[tokio::test]
#[ignore = "needs Chromium and the built wasm: run with `cargo xtask test`"]
async fn every_view_shows_the_ingested_data() {
    let collector = Collector::start();
    seed_demo_traffic(&collector).await;
    let browser = Browser::start().await;
    let page = &browser.client;
    screenshot_dir();
    sign_in(page, &collector, "/performance/?site=demo").await;

    // Overview: a score, five vitals with their rating split, endpoints.
    let score = browser
        .wait_for("the score", Duration::from_secs(30), || async {
            let gauge = page.find(Locator::Css(".score-gauge")).await.ok()?;
            let score: u8 = gauge.attr("data-score").await.ok()??.parse().ok()?;
            Some(score)
        })
        .await;
    assert!(score <= 100);
    let lcp = texts(
        &browser,
        "the LCP card",
        "[data-metric=\"LCP\"] .vital-value",
        1,
    )
    .await;
    assert!(lcp[0].ends_with("ms") || lcp[0].ends_with(" s"), "{lcp:?}");
    texts(&browser, "rating bars", ".vital-card .rating-bar", 5).await;
    let endpoints = texts(&browser, "endpoint rows", ".endpoint-row", 2).await;
    assert!(
        endpoints.iter().any(|row| row.contains("/api/products")),
        "{endpoints:?}"
    );
    browser.screenshot("screenshots/overview").await;

    // Without a site in the URL the overview waits for the collector's list of sites
    // and shows the first one's data (not "no data", not loading for ever).
    page.goto(&collector.url("/performance/")).await.unwrap();
    let first_site = browser
        .wait_for("data without ?site=", Duration::from_secs(30), || async {
            let body = page
                .find(Locator::Css(".summary-body[data-site]"))
                .await
                .ok()?;
            body.attr("data-site").await.ok()?
        })
        .await;
    assert!(!first_site.is_empty());
    page.goto(&collector.url("/performance/?site=demo"))
        .await
        .unwrap();
    texts(
        &browser,
        "the LCP card again",
        ".score-gauge[data-score]",
        1,
    )
    .await;

    // Filters live in the URL; back restores the previous view.
    page.find(Locator::Css("#filter-range option[value=\"7d\"]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait_for("range=7d in the URL", Duration::from_secs(10), || async {
            let url = page.current_url().await.ok()?;
            url.query()?.contains("range=7d").then_some(())
        })
        .await;
    page.back().await.unwrap();
    browser
        .wait_for(
            "back to the 24 h range",
            Duration::from_secs(10),
            || async {
                let url = page.current_url().await.ok()?;
                (!url.query().unwrap_or("").contains("range=")).then_some(())
            },
        )
        .await;

    // Pages: every route, sortable and searchable.
    page.goto(&collector.url("/performance/pages?site=demo"))
        .await
        .unwrap();
    let routes = texts(&browser, "route rows", ".route-row", 3).await;
    assert!(routes.iter().any(|r| r.contains("/checkout")), "{routes:?}");
    let lcp_header = page
        .find(Locator::XPath("//th[button[text()='LCP']]"))
        .await
        .unwrap();
    lcp_header
        .find(Locator::Css("button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(
        lcp_header.attr("aria-sort").await.unwrap().as_deref(),
        Some("descending")
    );
    page.find(Locator::Id("route-search"))
        .await
        .unwrap()
        .send_keys("checkout")
        .await
        .unwrap();
    browser
        .wait_for(
            "the search to leave one route",
            Duration::from_secs(10),
            || async {
                let rows = page.find_all(Locator::Css(".route-row")).await.ok()?;
                (rows.len() == 1).then_some(())
            },
        )
        .await;
    browser.screenshot("screenshots/pages").await;

    // Page detail: distribution and attribution.
    page.goto(&collector.url("/performance/pages/detail?site=demo&route=%2Fcheckout"))
        .await
        .unwrap();
    let count = texts(&browser, "the sample count", ".sample-count", 1).await;
    assert!(count[0].contains("LCP samples"), "{count:?}");
    let targets = texts(
        &browser,
        "LCP elements",
        "[data-metric=\"LCP\"] .target-row",
        1,
    )
    .await;
    assert!(targets[0].contains("main > img.hero"), "{targets:?}");
    browser.screenshot("screenshots/page-detail").await;

    // API calls, slowest first, and one endpoint's detail.
    page.goto(&collector.url("/performance/api-calls?site=demo"))
        .await
        .unwrap();
    let rows = texts(&browser, "API rows", ".endpoint-row", 2).await;
    assert!(rows[0].contains("/api/cart"), "slowest first: {rows:?}");
    browser.screenshot("screenshots/api-calls").await;
    page.find(Locator::Css(".endpoint-row a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let title = texts(&browser, "the endpoint's title", ".endpoint-detail h1", 1).await;
    assert!(title[0].contains("POST /api/cart"), "{title:?}");
    browser.screenshot("screenshots/api-detail").await;

    // Cache: the collector's own layers answered the queries above.
    page.goto(&collector.url("/performance/cache?site=demo"))
        .await
        .unwrap();
    let layers = texts(&browser, "cache layers", ".cache-row", 1).await;
    assert!(layers[0].starts_with('L'), "{layers:?}");
    browser.screenshot("screenshots/cache").await;

    // Trends: the current period has points.
    page.goto(&collector.url("/performance/trends?site=demo&range=1h"))
        .await
        .unwrap();
    chart_points(
        &browser,
        "trend points",
        ".trend-chart",
        Duration::from_secs(30),
    )
    .await;
    browser.screenshot("screenshots/trends").await;

    // Alerts: the lists render (no rule need fire over this data).
    page.goto(&collector.url("/performance/alerts?site=demo"))
        .await
        .unwrap();
    texts(&browser, "the alert sections", ".alerts-view h2", 3).await;
    assert!(page.find(Locator::Css(".error-panel")).await.is_err());
    browser.screenshot("screenshots/alerts").await;

    // System: host charts fill once the sampler has run.
    page.goto(&collector.url("/performance/system?site=demo&range=1h"))
        .await
        .unwrap();
    chart_points(
        &browser,
        "host samples",
        ".monitor-chart",
        Duration::from_secs(60),
    )
    .await;
    browser.screenshot("screenshots/system").await;

    browser.close().await;
}

/// Attacker-controlled strings from beacons, each setting `window.__xss` if it ran.
const ROUTE_PAYLOAD: &str = "/<img src=x onerror=\"window.__xss='route'\">";
const TARGET_PAYLOAD: &str =
    "<script>window.__xss='target'</script><svg onload=\"window.__xss='svg'\">";
const API_PAYLOAD: &str = "/api/<img src=y onerror=\"window.__xss='api'\">";
const URL_PAYLOAD: &str = "javascript:window.__xss='url'";

#[tokio::test]
#[ignore = "needs Chromium and the built wasm: run with `cargo xtask test`"]
async fn script_injection_payloads_are_shown_as_text_and_never_run() {
    let collector = Collector::start();
    let http = reqwest::Client::new();
    let ts = now_ms() - 60_000.0;
    let mut batch = page_view(
        "xss-1",
        ROUTE_PAYLOAD,
        "desktop",
        1.0,
        TARGET_PAYLOAD,
        API_PAYLOAD,
    );
    batch["vitals"][0]["attribution"]["url"] = json!(URL_PAYLOAD);
    post_batch(&http, &collector, &batch).await;

    // Custom metric names are keys: markup in one is refused, naming the field.
    let mut custom = page_view("xss-2", "/", "desktop", 1.0, "main", "/api/ok");
    custom["custom_metrics"] =
        json!([{ "id": "c1", "ts": ts, "name": "<script>alert(1)</script>", "value": 1.0 }]);
    let response = http
        .post(collector.url("/api/v1/ingest"))
        .header("content-type", "text/plain")
        .body(custom.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["field"], "custom_metrics[0].name", "{body}");

    let browser = Browser::start().await;
    let page = &browser.client;
    screenshot_dir();
    sign_in(page, &collector, "/performance/pages?site=demo").await;

    let routes = texts(&browser, "the payload's route", ".route-row", 1).await;
    assert!(
        routes.iter().any(|r| r.contains(ROUTE_PAYLOAD)),
        "the route is shown literally: {routes:?}"
    );
    browser.screenshot("screenshots/injection-pages").await;

    page.find(Locator::Css(".route-row a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let targets = texts(
        &browser,
        "the payload's target",
        "[data-metric=\"LCP\"] .target-row",
        1,
    )
    .await;
    assert!(targets[0].contains(TARGET_PAYLOAD), "{targets:?}");
    let title = texts(&browser, "the route heading", ".page-detail h1", 1).await;
    assert!(title[0].contains(ROUTE_PAYLOAD), "{title:?}");
    browser
        .screenshot("screenshots/injection-page-detail")
        .await;

    page.goto(&collector.url("/performance/api-calls?site=demo"))
        .await
        .unwrap();
    let rows = texts(&browser, "the payload's endpoint", ".endpoint-row", 1).await;
    assert!(rows.iter().any(|r| r.contains(API_PAYLOAD)), "{rows:?}");
    browser.screenshot("screenshots/injection-api-calls").await;

    // Nothing ran, and no element the payloads describe exists in the page.
    let ran = page
        .execute(
            "return [window.__xss === undefined, \
             document.querySelectorAll('[onerror], [onload], svg, img[src=x], img[src=y]').length]",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(ran, json!([true, 0]), "a payload became markup or ran");
    browser.close().await;
}

/// Open `/api/v1/stream` clients, from the collector's Prometheus metrics.
async fn stream_listeners(http: &reqwest::Client, collector: &Collector) -> Option<u64> {
    let metrics = http
        .get(collector.url("/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("perfscope_stream_listeners "))?
        .trim()
        .parse()
        .ok()
}

/// Dashboard views, each with what shows once its data is there.
const VIEWS: [(&str, &str); 5] = [
    ("/performance/pages?site=demo", ".route-row"),
    ("/performance/api-calls?site=demo", ".endpoint-row"),
    ("/performance/cache?site=demo", ".cache-row"),
    ("/performance/?site=demo", ".score-gauge[data-score]"),
    ("/performance/alerts?site=demo", ".alerts-view h2"),
];

/// Eight views, more than the six connections Chromium allows per host.
fn eight_views() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    VIEWS.iter().chain(&VIEWS[..3])
}

async fn expect_one_stream(http: &reqwest::Client, collector: &Collector, what: &str) {
    eventually(what, Duration::from_secs(5), || async {
        (stream_listeners(http, collector).await? == 1).then_some(())
    })
    .await;
}

/// A view the browser keeps in its back/forward cache, or in a background tab, closes
/// its live stream, and opens it again when shown. Pages that kept theirs open held one
/// of the six connections Chromium allows per host each: the collector counted one
/// more stream per view visited, and the sixth view waited 7–28 s for its data.
#[tokio::test]
#[ignore = "needs Chromium and the built wasm: run with `cargo xtask test`"]
async fn views_left_behind_free_their_connections() {
    let collector = Collector::start();
    seed_demo_traffic(&collector).await;
    let http = signed_in_http(&collector).await;
    let browser = Browser::start().await;
    let page = &browser.client;
    sign_in(page, &collector, "/performance/?site=demo").await;
    for (path, css) in eight_views() {
        page.goto(&collector.url(path)).await.unwrap();
        texts(&browser, path, css, 1).await;
        expect_one_stream(&http, &collector, "the views left behind to close theirs").await;
    }
    // Back restores the previous view, which opens its stream again.
    page.back().await.unwrap();
    texts(&browser, "the API view again", ".endpoint-row", 1).await;
    expect_one_stream(&http, &collector, "the restored view to open its stream").await;

    let first = page.window().await.unwrap();
    for (path, css) in eight_views() {
        let tab = page.new_window(true).await.unwrap();
        page.switch_to_window(tab.handle).await.unwrap();
        page.goto(&collector.url(path)).await.unwrap();
        texts(&browser, path, css, 1).await;
        expect_one_stream(&http, &collector, "the tabs behind to close theirs").await;
    }
    page.switch_to_window(first).await.unwrap();
    expect_one_stream(&http, &collector, "the first tab to open its stream again").await;
    texts(&browser, "the first tab's API view", ".endpoint-row", 1).await;
    browser.close().await;
}
