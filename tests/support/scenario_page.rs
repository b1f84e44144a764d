//! Driving a scenario page in headless Chromium: waiting for the tracker, and hiding
//! the page for real.
//!
//! Hiding: in headless Chromium 156 a page becomes `hidden` when another tab of the
//! window is opened and shown, and `visible` again when WebDriver switches back to its
//! tab. Checked here on every use through the browser's own `visibility-state` entries.
//! (`Emulation.setFocusEmulationEnabled` leaves visibility alone; `Page.setWebLifecycleState`
//! `frozen` hides the page but `active` does not show it again.)

use crate::support::eventually;
use fantoccini::Client;
use std::time::Duration;

const HIDDEN_COUNT_JS: &str = "return performance.getEntriesByType('visibility-state')\
    .filter((entry) => entry.name === 'hidden').length";

/// Waits until the standalone tracker has started on the current page.
pub async fn wait_for_tracker(client: &Client) {
    eventually("the tracker to start", Duration::from_secs(20), || async {
        let ready = client
            .execute(
                "return window.perfscope !== undefined && window.perfscope.ready === true",
                vec![],
            )
            .await
            .ok()?;
        ready.as_bool().filter(|ready| *ready)
    })
    .await;
}

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
