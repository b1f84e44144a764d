//! Delivery: whatever happens to the page or the network, every event the tracker
//! measured reaches the collector exactly once.
//!
//! The real collector, headless Chromium, and a test origin (`support::delivery_origin`)
//! that serves the pages and relays ingest to the collector, recording every batch.
//! Each scenario uses its own site key. "Exactly once" is checked twice: the collector's
//! own counts (it stores API calls and vitals, deduplicated by event id) equal the number
//! the page produced, and every custom metric the page recorded appears in an
//! acknowledged batch under exactly one event id. Where the tracker must give events up
//! (its `localStorage` queue is full), each one is reported as `lost` by a later batch,
//! and the collector's per-site counts agree.
//!
//! Ignored by plain `cargo test`; `cargo xtask test` builds what they need and runs them.

mod support;

use fantoccini::Locator;
use perfscope_model::{ApiOutcome, Batch, NavigationType, SiteInfo, Summary};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use support::browser::{wait_for_tracker, Browser};
use support::collector::Collector;
use support::delivery_origin::{Delivery, TestOrigin};
use support::eventually;

struct Rig {
    collector: Collector,
    origin: TestOrigin,
    browser: Browser,
    http: reqwest::Client,
}

const SITES: [&str; 8] = [
    "hidden", "closed", "reload", "bfcache", "offline", "overload", "overflow", "api",
];

impl Rig {
    async fn start() -> Rig {
        // Each scenario reports as its own site; the relay posts without an Origin.
        let sites = SITES
            .iter()
            .map(|key| format!(r#"{{key="{key}"}}"#))
            .collect::<Vec<_>>()
            .join(", ");
        let collector = Collector::start_with_sites(&format!("[{sites}]"));
        let origin = TestOrigin::start(&collector.base_url).await;
        let browser = Browser::start().await;
        Rig {
            collector,
            origin,
            browser,
            http: reqwest::Client::new(),
        }
    }

    /// Opens the scenario page for `site` and waits for the tracker to run.
    async fn open(&self, site: &str, path: &str, max_age_ms: u32) {
        self.open_with_batch_size(site, path, max_age_ms, 20).await;
    }

    async fn open_with_batch_size(&self, site: &str, path: &str, max_age_ms: u32, events: u32) {
        let url = self.origin.url(&format!(
            "/page/{path}?site={site}&age={max_age_ms}&batch={events}"
        ));
        self.browser
            .client
            .goto(&url)
            .await
            .expect("opening the page");
        self.wait_ready().await;
    }

    async fn wait_ready(&self) {
        wait_for_tracker(&self.browser.client).await;
    }

    /// Steps `from..to` on the current page: one custom metric and one API call each.
    async fn steps(&self, from: u32, to: u32) {
        self.browser
            .client
            .execute_async(
                "const done = arguments[2]; window.steps(arguments[0], arguments[1]).then(() => done(true));",
                vec![json!(from), json!(to)],
            )
            .await
            .expect("running the page's steps");
    }

    async fn summary(&self, site: &str) -> Option<Summary> {
        let url = self.collector.url(&format!("/api/v1/summary?site={site}"));
        let cookie = self.collector.login(&self.http).await;
        let answer = self.http.get(url).header("cookie", cookie).send().await;
        answer.ok()?.json().await.ok()
    }

    /// The collector's `/api/v1/sites` entry for `site`.
    async fn site_info(&self, site: &str) -> Option<SiteInfo> {
        let cookie = self.collector.login(&self.http).await;
        let answer = self
            .http
            .get(self.collector.url("/api/v1/sites"))
            .header("cookie", cookie)
            .send()
            .await;
        let sites: Vec<SiteInfo> = answer.ok()?.json().await.ok()?;
        sites.into_iter().find(|info| info.site == site)
    }

    /// The tracker's `localStorage` entries for `site` on the current page: stored batches
    /// and the count of events given up (`perfscope:<site>:lost`).
    async fn stored_for(&self, site: &str) -> (usize, u32) {
        let stored = self
            .browser
            .client
            .execute(
                "const site = arguments[0]; \
                 const batches = Object.keys(localStorage) \
                   .filter((key) => key.startsWith(`perfscope:${site}:b:`)).length; \
                 return [batches, Number(localStorage.getItem(`perfscope:${site}:lost`) || 0)];",
                vec![json!(site)],
            )
            .await
            .expect("reading localStorage");
        (
            stored[0].as_u64().expect("a batch count") as usize,
            stored[1].as_u64().expect("a lost count") as u32,
        )
    }

    async fn set_offline(&self, offline: bool) {
        self.browser.cdp("Network.enable", json!({})).await;
        self.browser
            .cdp(
                "Network.emulateNetworkConditions",
                json!({"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}),
            )
            .await;
    }

    /// Waits until the collector holds exactly `steps` API calls for the step endpoint
    /// and every step's custom metric was acknowledged, then checks nothing is stored
    /// twice and nothing extra arrives after a grace period.
    async fn expect_exactly_once(&self, site: &str, steps: u32) -> Report {
        eventually(
            "every step to be stored",
            Duration::from_secs(40),
            || async {
                let stored = self.stored_step_calls(site).await?;
                let report = Report::of(&self.origin.deliveries(site));
                (stored >= u64::from(steps) && report.acked_steps.len() == steps as usize)
                    .then_some(())
            },
        )
        .await;
        // Resends still under way (beacons, stored batches) must not add anything.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let stored = self.stored_step_calls(site).await.unwrap_or(0);
        assert_eq!(stored, u64::from(steps), "API calls stored for {site}");
        let report = Report::of(&self.origin.deliveries(site));
        for (n, ids) in &report.step_ids {
            assert_eq!(
                ids.len(),
                1,
                "step {n} of {site} under several event ids: {ids:?}"
            );
        }
        let expected: BTreeSet<u32> = (0..steps).collect();
        assert_eq!(
            report.acked_steps, expected,
            "steps acknowledged for {site}"
        );
        let summary = self.summary(site).await.expect("summary");
        let stored_vitals: u64 = summary.vitals.iter().map(|v| v.count).sum();
        assert_eq!(
            stored_vitals,
            report.acked_vital_ids.len() as u64,
            "vitals stored vs distinct vital ids acknowledged for {site}"
        );
        eprintln!(
            "{site}: {} API calls stored, {} steps acknowledged once each, {} vitals, {} posts ({} refused/failed answers), {} event copies resent",
            stored,
            report.acked_steps.len(),
            stored_vitals,
            report.posts,
            report.not_acked_posts,
            report.resent_copies
        );
        report
    }

    async fn stored_step_calls(&self, site: &str) -> Option<u64> {
        let summary = self.summary(site).await?;
        Some(
            summary
                .endpoints
                .iter()
                .filter(|e| e.path == "/api/items/:id")
                .map(|e| e.count)
                .sum(),
        )
    }
}

/// What the test origin saw for one site.
#[derive(Debug, Default)]
struct Report {
    posts: usize,
    not_acked_posts: usize,
    /// Step number → the event ids its custom metric was sent under (in any post).
    step_ids: BTreeMap<u32, BTreeSet<String>>,
    acked_steps: BTreeSet<u32>,
    acked_vital_ids: BTreeSet<String>,
    /// Event copies beyond the first that reached the collector (deduplicated there).
    resent_copies: usize,
    page_views: BTreeMap<String, NavigationType>,
}

impl Report {
    fn of(deliveries: &[Delivery]) -> Report {
        let mut report = Report::default();
        let mut acked_ids = BTreeSet::new();
        for delivery in deliveries {
            report.posts += 1;
            let acked = (200..300).contains(&delivery.status);
            if !acked {
                report.not_acked_posts += 1;
            }
            let batch: &Batch = &delivery.batch;
            report
                .page_views
                .insert(batch.page_view.clone(), batch.context.navigation_type);
            for metric in batch.custom_metrics.iter().filter(|m| m.name == "step") {
                let n = metric.value as u32;
                report
                    .step_ids
                    .entry(n)
                    .or_default()
                    .insert(metric.id.clone());
                if acked {
                    report.acked_steps.insert(n);
                }
            }
            if acked {
                let ids = batch
                    .vitals
                    .iter()
                    .map(|v| &v.id)
                    .chain(batch.api_calls.iter().map(|c| &c.id))
                    .chain(batch.custom_metrics.iter().map(|m| &m.id));
                for id in ids {
                    if !acked_ids.insert(id.clone()) {
                        report.resent_copies += 1;
                    }
                }
                report
                    .acked_vital_ids
                    .extend(batch.vitals.iter().map(|v| v.id.clone()));
            }
        }
        report
    }
}

#[tokio::test]
#[ignore = "needs Chromium and the built wasm: run with `cargo xtask test`"]
async fn a_hidden_page_sends_at_once() {
    let rig = Rig::start().await;
    // A minute's batch age: only the hidden flush can deliver within the wait.
    rig.open("hidden", "hidden", 60_000).await;
    rig.steps(0, 5).await;
    let client = &rig.browser.client;
    let page = client.window().await.unwrap();
    let other = client.new_window(true).await.unwrap();
    client.switch_to_window(other.handle).await.unwrap();
    client.goto("about:blank").await.unwrap();
    rig.expect_exactly_once("hidden", 5).await;
    client.switch_to_window(page).await.unwrap();
    rig.browser.close().await;
}

#[tokio::test]
#[ignore = "needs Chromium and the built wasm: run with `cargo xtask test`"]
async fn a_tab_closed_mid_page_loses_nothing() {
    let rig = Rig::start().await;
    let client = &rig.browser.client;
    let keeper = client.window().await.unwrap();
    let tab = client.new_window(true).await.unwrap();
    client.switch_to_window(tab.handle).await.unwrap();
    rig.open("closed", "closed", 60_000).await;
    rig.steps(0, 8).await;
    client.close_window().await.unwrap();
    client.switch_to_window(keeper).await.unwrap();
    // Whatever the closing tab could not deliver, the next page view of the site sends.
    rig.open("closed", "next", 60_000).await;
    rig.expect_exactly_once("closed", 8).await;
    rig.browser.close().await;
}

#[tokio::test]
#[ignore = "needs Chromium and the built wasm: run with `cargo xtask test`"]
async fn a_reload_loses_and_repeats_nothing() {
    let rig = Rig::start().await;
    let client = &rig.browser.client;
    rig.open("reload", "first", 60_000).await;
    rig.steps(0, 4).await;
    client.refresh().await.unwrap();
    rig.wait_ready().await;
    rig.steps(4, 8).await;
    client.goto("about:blank").await.unwrap();
    let report = rig.expect_exactly_once("reload", 8).await;
    let kinds: BTreeSet<NavigationType> = report.page_views.values().copied().collect();
    assert_eq!(
        kinds,
        BTreeSet::from([NavigationType::Navigate, NavigationType::Reload]),
        "the first load and its reload"
    );
    rig.browser.close().await;
}

#[tokio::test]
#[ignore = "needs Chromium and the built wasm: run with `cargo xtask test`"]
async fn a_back_forward_cache_navigation_loses_and_repeats_nothing() {
    let rig = Rig::start().await;
    let client = &rig.browser.client;
    rig.open("bfcache", "first", 60_000).await;
    rig.steps(0, 4).await;
    // Away and back: the page is restored from the back/forward cache, where it keeps
    // running with the same tracker, which starts a new page view.
    client
        .goto(&rig.origin.url("/page/elsewhere?site=bfcache&age=60000"))
        .await
        .unwrap();
    rig.wait_ready().await;
    rig.steps(4, 6).await;
    client.back().await.unwrap();
    rig.wait_ready().await;
    let restored = client
        .execute("return window.restoredFromCache === true", vec![])
        .await
        .unwrap();
    assert_eq!(
        restored,
        json!(true),
        "Chromium restored the page from the back/forward cache"
    );
    rig.steps(6, 10).await;
    client.goto("about:blank").await.unwrap();
    let report = rig.expect_exactly_once("bfcache", 10).await;
    let kinds: BTreeSet<NavigationType> = report.page_views.values().copied().collect();
    assert!(
        kinds.contains(&NavigationType::BackForwardCache),
        "the restore is its own page view: {kinds:?}"
    );
    // The steps after the restore belong to the restored page view.
    let restored_view = report
        .page_views
        .iter()
        .find(|(_, kind)| **kind == NavigationType::BackForwardCache)
        .map(|(id, _)| id.clone())
        .unwrap();
    let after_restore: BTreeSet<u32> = rig
        .origin
        .deliveries("bfcache")
        .iter()
        .filter(|d| d.batch.page_view == restored_view)
        .flat_map(|d| d.batch.custom_metrics.clone())
        .filter(|m| m.name == "step")
        .map(|m| m.value as u32)
        .collect();
    assert_eq!(after_restore, (6..10).collect::<BTreeSet<u32>>());
    rig.browser.close().await;
}

#[tokio::test]
#[ignore = "needs Chromium and the built wasm: run with `cargo xtask test`"]
async fn offline_then_online_delivers_everything_once() {
    let rig = Rig::start().await;
    let client = &rig.browser.client;
    rig.open("offline", "offline", 300).await;
    rig.set_offline(true).await;
    // Every send fails now; so do the page's own API calls, which are events too.
    rig.steps(0, 6).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    rig.set_offline(false).await;
    rig.steps(6, 10).await;
    // Still offline when the page goes: what is left waits in localStorage.
    rig.set_offline(true).await;
    rig.steps(10, 12).await;
    client.goto("about:blank").await.unwrap();
    rig.set_offline(false).await;
    rig.open("offline", "back-online", 300).await;
    rig.expect_exactly_once("offline", 12).await;
    // Steps 0..6 and 10..12 ran offline: their API calls failed, and are events too.
    let network_errors: BTreeSet<String> = rig
        .origin
        .deliveries("offline")
        .iter()
        .filter(|d| (200..300).contains(&d.status))
        .flat_map(|d| d.batch.api_calls.clone())
        .filter(|c| c.outcome == ApiOutcome::NetworkError && c.status == 0)
        .map(|c| c.id)
        .collect();
    assert_eq!(
        network_errors.len(),
        8,
        "offline API calls recorded as network errors"
    );
    rig.browser.close().await;
}

#[tokio::test]
#[ignore = "needs Chromium and the built wasm: run with `cargo xtask test`"]
async fn a_collector_answering_503_is_retried_until_it_recovers() {
    let rig = Rig::start().await;
    rig.origin.set_collector_down(true);
    rig.open("overload", "overload", 200).await;
    rig.steps(0, 6).await;
    // Several refused attempts, spaced by Retry-After and backoff.
    eventually("two refused sends", Duration::from_secs(20), || async {
        let refused = rig
            .origin
            .deliveries("overload")
            .iter()
            .filter(|d| d.status == 503)
            .count();
        (refused >= 2).then_some(())
    })
    .await;
    rig.origin.set_collector_down(false);
    let report = rig.expect_exactly_once("overload", 6).await;
    assert!(report.not_acked_posts >= 2);
    rig.browser.close().await;
}

/// The collector is down long enough for the page's `localStorage` queue to overflow:
/// the oldest batches are given up, and their events are reported as `lost` by a later
/// batch; the collector counts them and the batches that never came.
#[tokio::test]
#[ignore = "needs Chromium and the built wasm: run with `cargo xtask test`"]
async fn an_overflowing_store_reports_what_it_gave_up() {
    const SITE: &str = "overflow";
    // Two events a batch, one step (a metric and an API call) each: 150 steps make more
    // than twice the 64 batches the tracker keeps (`outbox::MAX_STORED_BATCHES`), so
    // batches that carry a count of given-up events are given up in turn.
    const STEPS: u32 = 150;
    let rig = Rig::start().await;
    rig.origin.set_collector_down(true);
    rig.open_with_batch_size(SITE, "overflow", 200, 2).await;
    rig.steps(0, STEPS).await;
    // Every batch formed (age 200 ms), the oldest given up for space.
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Each batch formed carries the count given up before it; the rest waits in storage.
    let (stored_while_down, pending_lost) = rig.stored_for(SITE).await;
    eprintln!(
        "{SITE}: while down, {stored_while_down} batches stored, {pending_lost} events given up \
         and not yet reported"
    );
    assert_eq!(
        stored_while_down, 64,
        "the store is full while the collector is down"
    );
    assert!(pending_lost > 0, "events were given up for space");

    rig.origin.set_collector_down(false);
    eventually(
        "the stored batches to be delivered",
        Duration::from_secs(60),
        || async { (rig.stored_for(SITE).await.0 == 0).then_some(()) },
    )
    .await;
    // One more batch carries the count still waiting in storage.
    rig.steps(STEPS, STEPS + 1).await;
    eventually(
        "the count to be reported",
        Duration::from_secs(20),
        || async { (rig.stored_for(SITE).await == (0, 0)).then_some(()) },
    )
    .await;

    // What the collector acknowledged, one copy per (page view, seq). The page stays
    // open: leaving would measure more, and its last beacon might still be on its way.
    let mut acked: BTreeMap<(String, u32), Batch> = BTreeMap::new();
    for delivery in rig.origin.deliveries(SITE) {
        if (200..300).contains(&delivery.status) {
            let batch = delivery.batch;
            acked.insert((batch.page_view.clone(), batch.seq), batch);
        }
    }
    let reported_lost: u64 = acked.values().map(|b| u64::from(b.lost)).sum();
    // Per page view: event ids are numbered from 0 and every one was either delivered
    // or counted as lost; the seq numbers that never arrived are the missing batches.
    let mut ids_per_view: BTreeMap<&str, (u64, BTreeSet<&str>)> = BTreeMap::new();
    let mut seqs_per_view: BTreeMap<&str, BTreeSet<u32>> = BTreeMap::new();
    for ((view, seq), batch) in &acked {
        seqs_per_view.entry(view).or_default().insert(*seq);
        let ids = batch
            .vitals
            .iter()
            .map(|v| v.id.as_str())
            .chain(batch.api_calls.iter().map(|c| c.id.as_str()))
            .chain(batch.custom_metrics.iter().map(|m| m.id.as_str()))
            .chain(batch.long_frames.iter().map(|f| f.id.as_str()))
            .chain(batch.assets.iter().map(|a| a.id.as_str()))
            .chain(batch.memory.iter().map(|m| m.id.as_str()));
        let entry = ids_per_view.entry(view).or_default();
        for id in ids {
            let counter: u64 = id
                .rsplit('-')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("event id {id} ends in its number"));
            entry.0 = entry.0.max(counter + 1);
            entry.1.insert(id);
        }
    }
    let numbered: u64 = ids_per_view.values().map(|(n, _)| n).sum();
    let delivered = ids_per_view
        .values()
        .map(|(_, ids)| ids.len())
        .sum::<usize>() as u64;
    assert_eq!(
        delivered + reported_lost,
        numbered,
        "every event measured was delivered or reported lost"
    );
    let missing: u64 = seqs_per_view
        .values()
        .map(|seqs| u64::from(seqs.last().map_or(0, |last| last + 1)) - seqs.len() as u64)
        .sum();
    assert!(missing > 0, "the batches given up never arrived");
    let stored_calls = rig.stored_step_calls(SITE).await.unwrap_or(0);
    let delivered_calls = acked
        .values()
        .flat_map(|b| b.api_calls.iter())
        .filter(|c| c.path == "/api/items/:id")
        .count() as u64;
    assert_eq!(stored_calls, delivered_calls, "API calls stored once each");
    eprintln!(
        "{SITE}: {numbered} events measured, {delivered} delivered, {reported_lost} reported lost; {} batches delivered, {missing} missing",
        acked.len()
    );

    // The collector's own counts (store contract: `SiteInfo::lost_events` and
    // `missing_batches`).
    let info = eventually("the site's counts", Duration::from_secs(10), || async {
        rig.site_info(SITE).await
    })
    .await;
    eprintln!(
        "{SITE}: collector says lost_events {}, missing_batches {}",
        info.lost_events, info.missing_batches
    );
    assert_eq!(
        info.lost_events, reported_lost,
        "the collector's lost_events"
    );
    assert_eq!(
        info.missing_batches, missing,
        "the collector's missing_batches"
    );
    rig.browser.close().await;
}

/// Fetch and XHR calls with each outcome, the route templating, custom metrics from
/// JS, and a single-page-app route change starting a soft page view.
#[tokio::test]
#[ignore = "needs Chromium and the built wasm: run with `cargo xtask test`"]
async fn api_calls_custom_metrics_and_soft_navigation_are_reported() {
    let rig = Rig::start().await;
    let client = &rig.browser.client;
    rig.open("api", "shop/products/42", 60_000).await;
    const CALLS: &str = r#"
const done = arguments[0];
(async () => {
  const xhr = (method, url, abort) => new Promise((resolve) => {
    const request = new XMLHttpRequest();
    request.open(method, url);
    request.onloadend = () => resolve();
    request.send();
    if (abort) request.abort();
  });
  await fetch('/api/users/123?token=secret#x');
  await xhr('POST', '/api/users/456');
  await fetch('/api/fail');
  await fetch('http://127.0.0.1:9/unreachable/7').catch(() => {});
  const controller = new AbortController();
  const slow = fetch('/api/slow', { signal: controller.signal }).catch(() => {});
  setTimeout(() => controller.abort(), 50);
  await slow;
  await xhr('GET', '/api/slow', true);
  window.perfscope.recordMetric('cart.items', 3, { plan: 'pro', step: 2 });
  const metrics = window.perfscope.getMetrics();
  history.pushState({}, '', '/page/shop/users/7');
  window.perfscope.recordMetric('after.route', 1);
  done({ metrics, refused: window.perfscope.recordMetric('bad name', 1) });
})();
"#;
    let result = client.execute_async(CALLS, vec![]).await.unwrap();
    assert_eq!(result["refused"], json!(false));
    let metrics = result["metrics"]
        .as_array()
        .expect("getMetrics() is an array");
    assert_eq!(metrics.len(), 1);
    assert_eq!(metrics[0]["name"], "cart.items");
    assert_eq!(metrics[0]["meta"]["step"], "2");
    client.find(Locator::Css("h1")).await.unwrap();
    client.goto("about:blank").await.unwrap();

    let wanted: [(&str, &str, u16, ApiOutcome); 6] = [
        ("GET", "/api/users/:id", 200, ApiOutcome::Ok),
        ("POST", "/api/users/:id", 201, ApiOutcome::Ok),
        ("GET", "/api/fail", 500, ApiOutcome::HttpError),
        ("GET", "/unreachable/:id", 0, ApiOutcome::NetworkError),
        ("GET", "/api/slow", 0, ApiOutcome::Aborted),
        ("GET", "/api/slow", 0, ApiOutcome::Aborted),
    ];
    let batches = eventually("the API calls", Duration::from_secs(20), || async {
        let batches: Vec<Batch> = rig
            .origin
            .deliveries("api")
            .into_iter()
            .filter(|d| (200..300).contains(&d.status))
            .map(|d| d.batch)
            .collect();
        let calls = batches.iter().map(|b| b.api_calls.len()).sum::<usize>();
        let soft = batches
            .iter()
            .any(|b| !b.custom_metrics.is_empty() && b.page == "/page/shop/users/:id");
        (calls >= wanted.len() && soft).then_some(batches)
    })
    .await;
    let mut seen: Vec<(String, String, u16, ApiOutcome)> = batches
        .iter()
        .flat_map(|b| b.api_calls.iter())
        .filter(|c| c.path != "/api/items/:id")
        .map(|c| (c.method.clone(), c.path.clone(), c.status, c.outcome))
        .collect();
    seen.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    let mut expected: Vec<(String, String, u16, ApiOutcome)> = wanted
        .iter()
        .map(|(m, p, s, o)| (m.to_string(), p.to_string(), *s, *o))
        .collect();
    expected.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    assert_eq!(seen, expected);
    let user = batches
        .iter()
        .flat_map(|b| b.api_calls.iter())
        .find(|c| c.status == 200)
        .unwrap();
    let timing = user
        .timing
        .expect("same-origin calls carry resource timing");
    assert!(
        timing.ttfb > 0.0 && user.response_size.unwrap_or(0) > 0,
        "{user:?}"
    );
    // The first page view: its route templated, hard navigation, viewport known.
    let first = batches
        .iter()
        .find(|b| b.page == "/page/shop/products/:id")
        .unwrap();
    assert_eq!(first.context.navigation_type, NavigationType::Navigate);
    assert_eq!(first.context.viewport_width, 1280);
    let metric = batches
        .iter()
        .flat_map(|b| b.custom_metrics.iter())
        .find(|m| m.name == "cart.items")
        .unwrap();
    assert_eq!(metric.meta.get("plan").map(String::as_str), Some("pro"));
    // The route change: a new page view, soft, with the metric recorded after it.
    let soft: Vec<&Batch> = batches
        .iter()
        .filter(|b| b.page == "/page/shop/users/:id")
        .collect();
    assert!(soft
        .iter()
        .all(|b| b.context.navigation_type == NavigationType::Soft));
    assert!(soft.iter().all(|b| b.page_view == soft[0].page_view));
    assert_ne!(soft[0].page_view, first.page_view);
    // Batches of a page view may arrive in any order; their numbering starts again.
    assert!(soft.iter().any(|b| b.seq == 0), "{soft:?}");
    assert!(soft
        .iter()
        .flat_map(|b| b.custom_metrics.iter())
        .any(|m| m.name == "after.route"));
    rig.browser.close().await;
}
