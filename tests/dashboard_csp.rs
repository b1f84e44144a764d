//! The built dashboard starts in headless Chromium under the collector's strict
//! Content-Security-Policy, signed in, with not one violation reported.
//!
//! Ignored by plain `cargo test`; `cargo xtask test` builds what it needs and runs it.

mod support;

use fantoccini::Locator;
use serde_json::{json, Value};
use std::time::Duration;
use support::browser::Browser;
use support::collector::{Collector, ADMIN_PASSWORD, ADMIN_USER};
use support::eventually;

/// Registered before any of the page's own scripts: collects every violation report.
const RECORD_VIOLATIONS_JS: &str = "window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI} ${e.sample}`);
});";

/// Signs in from the page itself, so the browser stores the HttpOnly cookie as a user's
/// browser would.
const SIGN_IN_JS: &str = "const [path, body, done] = arguments;
fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  .then((r) => done(r.status), (e) => done(String(e)));";

async fn violations(page: &fantoccini::Client) -> Vec<String> {
    let seen = page
        .execute("return window.__cspViolations || null;", vec![])
        .await
        .expect("reading the violation log");
    serde_json::from_value(seen).expect("the violation log was installed")
}

#[tokio::test]
#[ignore = "needs Chromium and the built wasm: run with `cargo xtask test`"]
async fn the_dashboard_starts_under_its_csp_without_a_violation() {
    let collector = Collector::start();
    let http = reqwest::Client::new();
    let index = http
        .get(collector.url("/performance/"))
        .send()
        .await
        .unwrap();
    let csp = index.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    eprintln!("dashboard CSP: {csp}");

    let browser = Browser::start().await;
    let page = &browser.client;
    browser
        .cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": RECORD_VIOLATIONS_JS }),
        )
        .await;
    page.goto(&collector.url("/performance/")).await.unwrap();
    let body = json!({ "username": ADMIN_USER, "password": ADMIN_PASSWORD }).to_string();
    let status = page
        .execute_async(
            SIGN_IN_JS,
            vec![json!(perfscope_model::LOGIN_PATH), json!(body)],
        )
        .await
        .unwrap();
    assert_eq!(status, json!(200), "signing in from the page");

    page.goto(&collector.url("/performance/?site=demo"))
        .await
        .unwrap();
    // The app has mounted once the body holds more than Trunk's static markup.
    let mounted = eventually(
        "the dashboard to mount",
        Duration::from_secs(20),
        || async {
            let count = page
                .execute(
                    "return document.querySelectorAll('body *:not(noscript):not(script):not(link)').length;",
                    vec![],
                )
                .await
                .ok()?;
            count.as_u64().filter(|&n| n > 3)
        },
    )
    .await;
    // Let its first API answers arrive and render.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let seen = violations(page).await;
    let text = page
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    eprintln!(
        "dashboard mounted ({mounted} elements), violations: {seen:?}, text: {:?}",
        text.chars().take(200).collect::<String>()
    );
    browser.screenshot("dashboard-under-csp").await;
    assert!(seen.is_empty(), "CSP violations: {seen:?}");

    // The recorder does catch what the policy blocks: an inline script, as an injected
    // payload would try.
    page.execute(
        "const s = document.createElement('script'); s.textContent = 'window.__ran = true;'; document.body.append(s);",
        vec![],
    )
    .await
    .unwrap();
    let blocked = eventually("the violation report", Duration::from_secs(5), || async {
        let seen = violations(page).await;
        (!seen.is_empty()).then_some(seen)
    })
    .await;
    assert!(blocked[0].starts_with("script-src"), "{blocked:?}");
    let ran: Value = page
        .execute("return window.__ran === true;", vec![])
        .await
        .unwrap();
    assert_eq!(ran, json!(false), "the inline script must not run");
    page.goto("about:blank").await.unwrap();
    browser.close().await;
}
