//! Driving a scenario page in headless Chromium: waiting for the tracker, and hiding
//! the page for real.
//!
//! Hiding: in headless Chromium 156 a page becomes `hidden` when another tab of the
//! window is opened and shown, and `visible` again when WebDriver switches back to its
//! tab. Checked here on every use through the browser's own `visibility-state` entries.
//! (`Emulation.setFocusEmulationEnabled` leaves visibility alone; `Page.setWebLifecycleState`
//! `frozen` hides the page but `active` does not show it again.) A page that is hidden
//! from the start is opened with `Target.createTarget` `background: true` through
//! chromedriver's CDP passthrough.

pub use crate::support::browser::wait_for_tracker;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::Client;
use serde_json::{json, Value};
use std::time::Duration;

const HIDDEN_COUNT_JS: &str = "return performance.getEntriesByType('visibility-state')\
    .filter((entry) => entry.name === 'hidden').length";

async fn hidden_count(client: &Client) -> u64 {
    client
        .execute(HIDDEN_COUNT_JS, vec![])
        .await
        .expect("reading visibility-state entries")
        .as_u64()
        .expect("a count")
}

/// Hides the current page (another tab comes to the front), then shows it again, and
/// checks that the page really went through `hidden`.
pub async fn hide_and_show(client: &Client) {
    let before = hidden_count(client).await;
    let page = client.window().await.expect("current window handle");
    let other = client.new_window(true).await.expect("opening a tab");
    client
        .switch_to_window(other.handle)
        .await
        .expect("switching to the new tab");
    // Gives beacons sent while hiding time to leave before the tab is closed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    client.close_window().await.expect("closing the new tab");
    client
        .switch_to_window(page)
        .await
        .expect("switching back to the scenario page");
    let after = hidden_count(client).await;
    assert!(
        after > before,
        "the page was not hidden ({before} hidden entries before, {after} after)"
    );
    let visible = client
        .execute("return document.visibilityState", vec![])
        .await
        .expect("reading visibilityState");
    assert_eq!(visible, "visible", "the page is shown again");
}

/// A Chrome DevTools Protocol command sent through chromedriver
/// (`POST /session/{id}/goog/cdp/execute`).
#[derive(Debug)]
struct DevToolsCommand {
    method: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for DevToolsCommand {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.method, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

async fn devtools(client: &Client, method: &'static str, params: Value) -> Value {
    client
        .issue_cmd(DevToolsCommand { method, params })
        .await
        .unwrap_or_else(|error| panic!("{method}: {error}"))
}

/// Opens `url` in a tab that stays behind the current one, so the page is hidden from
/// its first moment; returns the tab's target id.
pub async fn open_in_background_tab(client: &Client, url: &str) -> String {
    let created = devtools(
        client,
        "Target.createTarget",
        json!({ "url": url, "background": true }),
    )
    .await;
    created["targetId"]
        .as_str()
        .unwrap_or_else(|| panic!("Target.createTarget answered {created}"))
        .to_string()
}

/// Closes a tab opened by `open_in_background_tab`; its page gets `pagehide`.
pub async fn close_tab(client: &Client, target_id: &str) {
    devtools(
        client,
        "Target.closeTarget",
        json!({ "targetId": target_id }),
    )
    .await;
}
