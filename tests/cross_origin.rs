//! The standalone tracker embedded on another origin, in headless Chromium: a page from
//! an origin its site lists reports to the collector and can read the answers; a page
//! from any other origin cannot get a batch stored for that site.
//!
//! Ignored by plain `cargo test`; `cargo xtask test` builds what it needs and runs it.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::browser::{wait_for_tracker, Browser};
use support::collector::Collector;
use support::eventually;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves one HTML page for every request: a shop's page that embeds the tracker from
/// the collector, on its own loopback port (so its own origin).
async fn serve_shop_page(listener: TcpListener, collector: String) {
    let html = format!(
        "<!doctype html><html><head><title>shop</title>\
         <script src=\"{collector}/tracker/perfscope.js\" data-site=\"shop\" async></script>\
         </head><body><h1>A shop on another origin</h1><p>Some text to paint.</p></body></html>"
    );
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        let html = html.clone();
        tokio::spawn(async move {
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{html}",
                html.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        });
    }
}

/// Posts one batch for `site` with the page's own `fetch`, as the tracker does, and
/// returns the status the page could read, or the error the browser gave it.
const POST_JS: &str = r#"
const [url, body] = arguments;
const done = arguments[arguments.length - 1];
fetch(url, { method: 'POST', mode: 'cors', credentials: 'omit',
             headers: { 'Content-Type': 'text/plain' }, body })
  .then((response) => done({ status: response.status }))
  .catch((error) => done({ error: String(error) }));
"#;

fn batch(site: &str, page_view: &str) -> String {
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as f64;
    json!({ "site": site, "page_view": page_view, "seq": 0, "page": "/",
        "vitals": [{ "id": format!("{page_view}-0"), "ts": ts, "name": "TTFB", "value": 12.0 }] })
    .to_string()
}

async fn stored_events(http: &reqwest::Client, collector: &Collector, site: &str) -> u64 {
    let sites: Value = http
        .get(collector.url("/api/v1/sites"))
        .header("cookie", collector.login(http).await)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    sites
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["site"] == site)
        .and_then(|s| s["events"].as_u64())
        .unwrap_or(0)
}

#[tokio::test]
#[ignore = "needs Chromium and the built wasm: run with `cargo xtask test`"]
async fn only_the_origins_a_site_lists_can_report_for_it() {
    let allowed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let allowed_origin = format!("http://{}", allowed.local_addr().unwrap());
    let other_origin = format!("http://{}", other.local_addr().unwrap());
    let mut collector = Collector::start_with_sites(&format!(
        r#"[{{key="demo"}}, {{key="perfscope-dashboard"}}, {{key="shop", origins=["{allowed_origin}"]}}]"#
    ));
    tokio::spawn(serve_shop_page(allowed, collector.base_url.clone()));
    tokio::spawn(serve_shop_page(other, collector.base_url.clone()));
    let browser = Browser::start().await;
    let page = &browser.client;
    let http = reqwest::Client::new();
    let ingest = collector.url("/api/v1/ingest");

    // On the listed origin the tracker loads cross-origin and its batches are stored.
    page.goto(&format!("{allowed_origin}/product"))
        .await
        .unwrap();
    wait_for_tracker(page).await;
    let answer = page
        .execute_async(
            POST_JS,
            vec![json!(ingest), json!(batch("shop", "allowed"))],
        )
        .await
        .unwrap();
    assert_eq!(
        answer,
        json!({ "status": 200 }),
        "the page reads its answer"
    );
    browser.screenshot("cross-origin-shop").await;
    // The wrong key from a listed origin: refused, and the page can read why.
    let answer = page
        .execute_async(
            POST_JS,
            vec![json!(ingest), json!(batch("demo", "wrong-key"))],
        )
        .await
        .unwrap();
    assert_eq!(answer, json!({ "status": 403 }));
    // Leaving the page makes the tracker send what it measured with sendBeacon.
    page.goto("about:blank").await.unwrap();
    let after_allowed = eventually(
        "the shop tracker's own batch",
        Duration::from_secs(20),
        || async {
            // The tracker may send what it measured at pagehide in more than one request
            // (keepalive fetch, then beacons): wait until the count stops moving.
            let events = stored_events(&http, &collector, "shop").await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            let settled = stored_events(&http, &collector, "shop").await == events;
            (events >= 2 && settled).then_some(events)
        },
    )
    .await;

    // On an unlisted origin the browser gets no CORS answer and nothing is stored,
    // neither from the page's fetch nor from the tracker's own batches.
    page.goto(&format!("{other_origin}/product")).await.unwrap();
    wait_for_tracker(page).await;
    let answer = page
        .execute_async(
            POST_JS,
            vec![json!(ingest), json!(batch("shop", "foreign"))],
        )
        .await
        .unwrap();
    assert!(answer.get("error").is_some(), "{answer}");
    page.goto("about:blank").await.unwrap();
    // The beacon is fire-and-forget; give it the time the allowed one needed and more.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        stored_events(&http, &collector, "shop").await,
        after_allowed
    );
    assert_eq!(stored_events(&http, &collector, "demo").await, 0);
    assert!(collector.is_running());
    browser.close().await;
}
