//! End to end: the real collector, the standalone tracker on `/demo` in headless
//! Chromium, and the dashboard showing what the browser measured.
//!
//! Ignored by plain `cargo test`; `cargo xtask test` builds what they need and runs them.

mod support;

use fantoccini::Locator;
use perfscope_model::{Summary, VitalName};
use serde_json::Value;
use std::time::Duration;
use support::browser::{wait_for_tracker, Browser};
use support::collector::Collector;
use support::eventually;

/// Independent of the tracker: the browser's own latest LCP candidate for this page.
const BROWSER_LCP_JS: &str = r#"
const done = arguments[arguments.length - 1];
new PerformanceObserver((list) => {
  const entries = list.getEntries();
  done(entries[entries.length - 1].startTime);
}).observe({ type: 'largest-contentful-paint', buffered: true });
"#;

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
    let http = reqwest::Client::new();
    let page = &browser.client;

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
    eventually(
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
    let shown = eventually(
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
    let sites = http
        .get(collector.url("/api/v1/sites"))
        .send()
        .await
        .unwrap();
    assert_eq!(sites.status(), 200);
}
