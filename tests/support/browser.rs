//! Headless Debian Chromium driven over WebDriver by Debian's chromedriver.

use super::{eventually, free_port, poll_until};
use fantoccini::{Client, ClientBuilder};
use serde_json::json;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Console messages a failure report shows: the newest, where the failure is.
const CONSOLE_LINES: usize = 30;

pub struct Browser {
    pub client: Client,
    /// chromedriver's base URL, for its vendor endpoints (CDP).
    pub webdriver_url: String,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn start() -> Browser {
        let port = free_port();
        // Its own process group, with the Chromium it starts: see `Drop`.
        let driver = Command::new("chromedriver")
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver (package chromium-driver)");
        let profile = tempfile::tempdir().expect("temp dir");
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/bin/chromium",
                // Without the background-networking flags Chromium keeps dialling out,
                // which this machine's closed network refuses.
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        // Kept so that a wait that times out can say what the page logged.
        capabilities.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        let webdriver = format!("http://127.0.0.1:{port}");
        let client = eventually(
            "chromedriver to accept a session",
            Duration::from_secs(20),
            || {
                let capabilities = capabilities.clone();
                let webdriver = webdriver.clone();
                async move {
                    ClientBuilder::rustls()
                        .ok()?
                        .capabilities(capabilities)
                        .connect(&webdriver)
                        .await
                        .ok()
                }
            },
        )
        .await;
        Browser {
            client,
            webdriver_url: webdriver,
            driver,
            _profile: profile,
        }
    }

    /// Runs a Chrome DevTools Protocol command through chromedriver's
    /// `/session/{id}/goog/cdp/execute`, e.g. `Network.emulateNetworkConditions`.
    pub async fn cdp(&self, command: &str, params: serde_json::Value) -> serde_json::Value {
        let session = self
            .client
            .session_id()
            .await
            .expect("reading the session id")
            .expect("a WebDriver session");
        let url = format!("{}/session/{session}/goog/cdp/execute", self.webdriver_url);
        let response = reqwest::Client::new()
            .post(url)
            .json(&json!({ "cmd": command, "params": params }))
            .send()
            .await
            .unwrap_or_else(|error| panic!("CDP {command}: {error}"));
        assert!(
            response.status().is_success(),
            "CDP {command}: {}",
            response.status()
        );
        response.json().await.expect("CDP answer is JSON")
    }

    /// Polls `probe` until it yields a value; after `timeout` panics with `what` and
    /// what the page shows and logged, so a failure in CI can be read from its log.
    pub async fn wait_for<T, F, Fut>(&self, what: &str, timeout: Duration, probe: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        match poll_until(timeout, probe).await {
            Some(value) => value,
            None => {
                let report = self.page_report().await;
                panic!("timed out after {timeout:?} waiting for {what}\n{report}");
            }
        }
    }

    /// The page's URL, its visible text and the browser's console messages.
    async fn page_report(&self) -> String {
        let url = match self.client.current_url().await {
            Ok(url) => url.to_string(),
            Err(error) => format!("(no URL: {error})"),
        };
        let text = match self
            .client
            .execute(
                "return document.body ? document.body.innerText : ''",
                vec![],
            )
            .await
        {
            Ok(serde_json::Value::String(text)) => text.chars().take(3_000).collect(),
            Ok(other) => other.to_string(),
            Err(error) => format!("(no text: {error})"),
        };
        let console = self.console_messages().await.join("\n  ");
        format!("page: {url}\nvisible text:\n{text}\nconsole:\n  {console}")
    }

    /// The last console messages logged since the last call, through chromedriver's
    /// `/session/{id}/se/log`.
    async fn console_messages(&self) -> Vec<String> {
        let Ok(Some(session)) = self.client.session_id().await else {
            return vec!["(no WebDriver session)".to_owned()];
        };
        let url = format!("{}/session/{session}/se/log", self.webdriver_url);
        let answer = reqwest::Client::new()
            .post(url)
            .json(&json!({ "type": "browser" }))
            .send()
            .await;
        let body: serde_json::Value = match answer {
            Ok(response) => match response.json().await {
                Ok(body) => body,
                Err(error) => return vec![format!("(unreadable log: {error})")],
            },
            Err(error) => return vec![format!("(no log: {error})")],
        };
        body["value"]
            .as_array()
            .map(|entries| {
                let newest = entries.len().saturating_sub(CONSOLE_LINES);
                entries[newest..]
                    .iter()
                    .map(|entry| {
                        format!(
                            "{} {}",
                            entry["level"].as_str().unwrap_or("?"),
                            entry["message"].as_str().unwrap_or("")
                        )
                    })
                    .collect()
            })
            .unwrap_or_else(|| vec![format!("(unexpected log answer: {body})")])
    }

    /// Saves a screenshot under target/e2e/ for people to look at.
    pub async fn screenshot(&self, name: &str) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e");
        std::fs::create_dir_all(&dir).expect("creating target/e2e");
        let png = self.client.screenshot().await.expect("taking a screenshot");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("writing the screenshot");
    }

    /// Ends the session; navigating away first would lose nothing, closing does not
    /// wait for beacons, so callers leave the page before they close.
    pub async fn close(&self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    /// A test that fails never reaches `close`, and killing chromedriver alone would
    /// leave its Chromium running for the rest of the suite: the whole group goes.
    fn drop(&mut self) {
        if let Ok(group) = libc::pid_t::try_from(self.driver.id()) {
            // SAFETY: kill(2) with a negative pid signals that process group; it has
            // no memory effects.
            unsafe {
                libc::kill(-group, libc::SIGKILL);
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

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
