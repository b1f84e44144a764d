//! The tracker measures what Google's `web-vitals` measures: scenario pages load both
//! (the tracker from the `cargo xtask build` output, `web-vitals`' attribution build
//! from npm) in headless Chromium, and every metric either reports must agree with the
//! other's: LCP, FCP and TTFB within 1 ms, CLS within 0.001, INP within 8 ms (the
//! browser's rounding of event durations).
//!
//! The tracker's batches travel through the scenario server to the real collector,
//! which must accept each one. A table of every comparison is written to
//! `target/e2e/vitals_parity.txt`; screenshots to `target/e2e/parity-*.png`.
//!
//! Ignored by plain `cargo test`; `cargo xtask test` installs `web-vitals`, builds the
//! tracker and runs them.

#[path = "support/scenario_page.rs"]
mod scenario_page;
#[path = "support/scenario_server.rs"]
mod scenario_server;
mod support;

use fantoccini::Locator;
use perfscope_model::{InteractionType, NavigationType, VitalEvent, VitalName};
use scenario_page::{close_tab, hide_and_show, open_in_background_tab, wait_for_tracker};
use scenario_server::{ReferenceMetric, ScenarioServer, TrackedPageView};
use serde_json::Value;
use std::io::Write;
use std::time::Duration;
use support::browser::Browser;
use support::collector::Collector;
use support::eventually;

const LOAD_METRICS: [VitalName; 4] = [
    VitalName::Lcp,
    VitalName::Fcp,
    VitalName::Ttfb,
    VitalName::Cls,
];

fn tolerance(name: VitalName) -> f64 {
    match name {
        VitalName::Cls => 0.001,
        VitalName::Inp => 8.0,
        _ => 1.0,
    }
}

/// After a back/forward-cache restore, FCP and LCP are "time until the second animation
/// frame": both libraries read `performance.now()` in their own callback of that same
/// frame, and web-vitals' callbacks (registered by a script that runs before the
/// tracker's) always run first. The difference is whatever runs in between: usually
/// 0.1-0.4 ms, but on this shared 2-core machine a preempted renderer has shown up to
/// 9.3 ms. Both still name the same frame, so the bound is one frame at 60 Hz.
const RESTORED_PAINT_TOLERANCE_MS: f64 = 1000.0 / 60.0;

struct Harness {
    collector: Collector,
    server: ScenarioServer,
    browser: Browser,
    scenario: &'static str,
}

impl Harness {
    async fn start(scenario: &'static str) -> Harness {
        // The scenario server relays the tracker's batches without an Origin header.
        let collector = Collector::start_with_sites(r#"[{key="parity"}]"#);
        let server = ScenarioServer::start(&collector.base_url).await;
        let browser = Browser::start().await;
        Harness {
            collector,
            server,
            browser,
            scenario,
        }
    }

    async fn open(&self, page: &str) {
        self.browser
            .client
            .goto(&self.server.url(&format!("/scenarios/{page}")))
            .await
            .expect("opening the scenario page");
        wait_for_tracker(&self.browser.client).await;
    }

    async fn click(&self, id: &str) {
        self.browser
            .client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|_| panic!("#{id} on the page"))
            .click()
            .await
            .unwrap_or_else(|_| panic!("clicking #{id}"));
    }

    /// Waits until both sides reported `expected[i]` for page view `i`, then returns them.
    async fn reports(
        &self,
        expected: &[&[VitalName]],
    ) -> (Vec<TrackedPageView>, Vec<Vec<ReferenceMetric>>) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let tracked = self.server.tracked_page_views();
            let reference = self.server.reference_loads();
            let complete = tracked.len() >= expected.len()
                && reference.len() >= expected.len()
                && expected.iter().enumerate().all(|(i, names)| {
                    names.iter().all(|name| {
                        last_tracked(&tracked[i].vitals, *name).is_some()
                            && last_reference(&reference[i], *name).is_some()
                    })
                });
            if complete {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{}: timed out waiting for both sides to report {expected:?}\n\
                 tracker: {tracked:#?}\nweb-vitals: {reference:#?}\nproblems: {:#?}",
                self.scenario,
                self.server.problems()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Late reports (a second CLS, say) would arrive within this.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let problems = self.server.problems();
        assert!(problems.is_empty(), "{}: {problems:#?}", self.scenario);
        (
            self.server.tracked_page_views(),
            self.server.reference_loads(),
        )
    }

    /// Asserts that each metric in `names` agrees, and logs the comparison.
    fn assert_parity(
        &self,
        view: usize,
        tracked: &TrackedPageView,
        reference: &[ReferenceMetric],
        names: &[VitalName],
    ) {
        let restored = reference
            .first()
            .is_some_and(|m| m.navigation_type == "back-forward-cache");
        for name in names {
            let tolerance = match name {
                VitalName::Lcp | VitalName::Fcp if restored => RESTORED_PAINT_TOLERANCE_MS,
                _ => tolerance(*name),
            };
            let ours = last_tracked(&tracked.vitals, *name).map(|v| v.value);
            let theirs = last_reference(reference, *name).map(|m| m.value);
            log_row(self.scenario, view, name.as_str(), ours, theirs);
            let (Some(ours), Some(theirs)) = (ours, theirs) else {
                panic!(
                    "{} view {view}: {name:?} tracker {ours:?}, web-vitals {theirs:?}",
                    self.scenario
                );
            };
            assert!(
                (ours - theirs).abs() <= tolerance,
                "{} view {view}: {name:?} tracker {ours}, web-vitals {theirs}",
                self.scenario
            );
        }
    }

    async fn finish(mut self) {
        self.browser
            .screenshot(&format!("parity-{}", self.scenario))
            .await;
        self.browser.close().await;
        assert!(
            self.collector.is_running(),
            "the collector survived the scenario"
        );
        // The collector stored what it accepted: the site shows up in its list.
        let http = reqwest::Client::new();
        let cookie = self.collector.login(&http).await;
        let sites: Value = http
            .get(self.collector.url("/api/v1/sites"))
            .header("cookie", cookie)
            .send()
            .await
            .expect("asking the collector for its sites")
            .json()
            .await
            .expect("a JSON list of sites");
        assert!(
            sites.to_string().contains("\"parity\""),
            "{}: the collector stored the tracker's batches: {sites}",
            self.scenario
        );
    }
}

fn last_tracked(vitals: &[VitalEvent], name: VitalName) -> Option<&VitalEvent> {
    vitals.iter().rev().find(|v| v.name == name)
}

fn last_reference(metrics: &[ReferenceMetric], name: VitalName) -> Option<&ReferenceMetric> {
    metrics.iter().rev().find(|m| m.name == name.as_str())
}

fn reference_number(metric: &ReferenceMetric, field: &str) -> Option<f64> {
    metric.attribution.get(field).and_then(Value::as_f64)
}

fn reference_text<'a>(metric: &'a ReferenceMetric, field: &str) -> Option<&'a str> {
    metric.attribution.get(field).and_then(Value::as_str)
}

fn log_row(scenario: &str, view: usize, what: &str, ours: Option<f64>, theirs: Option<f64>) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e");
    std::fs::create_dir_all(&dir).expect("creating target/e2e");
    let show = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
    let line = format!(
        "{scenario:<16} view {view}  {what:<28} tracker {:>12}  web-vitals {:>12}",
        show(ours),
        show(theirs)
    );
    println!("{line}");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("vitals_parity.txt"))
        .expect("opening the parity table");
    writeln!(file, "{line}").expect("writing the parity table");
}

/// The LCP attribution agrees with web-vitals' and its parts add up to the LCP.
fn assert_lcp_attribution(
    scenario: &str,
    tracked: &TrackedPageView,
    reference: &[ReferenceMetric],
) {
    let ours = last_tracked(&tracked.vitals, VitalName::Lcp).expect("tracker LCP");
    let theirs = last_reference(reference, VitalName::Lcp).expect("web-vitals LCP");
    let attribution = ours.attribution.as_ref().expect("LCP attribution");
    assert_eq!(
        attribution.target.as_deref(),
        reference_text(theirs, "target"),
        "{scenario}: LCP target"
    );
    assert_eq!(
        attribution.url.as_deref(),
        reference_text(theirs, "url"),
        "{scenario}: LCP url"
    );
    let parts = [
        ("timeToFirstByte", attribution.time_to_first_byte),
        ("resourceLoadDelay", attribution.resource_load_delay),
        ("resourceLoadDuration", attribution.resource_load_duration),
        ("elementRenderDelay", attribution.element_render_delay),
    ];
    let mut sum = 0.0;
    for (field, ours_part) in parts {
        let ours_part = ours_part.unwrap_or_else(|| panic!("{scenario}: LCP {field}"));
        let theirs_part = reference_number(theirs, field);
        log_row(
            scenario,
            0,
            &format!("LCP {field}"),
            Some(ours_part),
            theirs_part,
        );
        let theirs_part = theirs_part.unwrap_or_else(|| panic!("{scenario}: web-vitals {field}"));
        assert!(
            (ours_part - theirs_part).abs() <= 1.0,
            "{scenario}: LCP {field} {ours_part} vs {theirs_part}"
        );
        sum += ours_part;
    }
    assert!(
        (sum - ours.value).abs() < 1e-6,
        "{scenario}: LCP parts add up to {sum}, LCP is {}",
        ours.value
    );
}

#[tokio::test]
#[ignore = "needs Chromium, the built tracker and npm web-vitals: run with `cargo xtask test`"]
async fn late_hero_image() {
    let h = Harness::start("late-hero").await;
    h.open("late-hero.html").await;
    // The hero is answered after 800 ms; let it paint before leaving.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    hide_and_show(&h.browser.client).await;
    let (tracked, reference) = h.reports(&[&LOAD_METRICS]).await;
    h.assert_parity(0, &tracked[0], &reference[0], &LOAD_METRICS);
    let lcp = last_tracked(&tracked[0].vitals, VitalName::Lcp).unwrap();
    assert!(lcp.value >= 800.0, "the late image is the LCP: {lcp:?}");
    assert_lcp_attribution(h.scenario, &tracked[0], &reference[0]);
    let attribution = lcp.attribution.as_ref().unwrap();
    assert_eq!(attribution.target.as_deref(), Some("#hero"));
    assert!(
        attribution.resource_load_duration.unwrap() >= 700.0,
        "{attribution:?}"
    );
    h.finish().await;
}

#[tokio::test]
#[ignore = "needs Chromium, the built tracker and npm web-vitals: run with `cargo xtask test`"]
async fn text_only_lcp() {
    let h = Harness::start("text-only").await;
    h.open("text-only.html").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    hide_and_show(&h.browser.client).await;
    let (tracked, reference) = h.reports(&[&LOAD_METRICS]).await;
    h.assert_parity(0, &tracked[0], &reference[0], &LOAD_METRICS);
    assert_lcp_attribution(h.scenario, &tracked[0], &reference[0]);
    let attribution = last_tracked(&tracked[0].vitals, VitalName::Lcp)
        .and_then(|lcp| lcp.attribution.clone())
        .unwrap();
    assert_eq!(attribution.target.as_deref(), Some("#article>p.lead"));
    assert_eq!(attribution.url, None);
    assert_eq!(attribution.resource_load_duration, Some(0.0));
    h.finish().await;
}

fn assert_cls_attribution(
    scenario: &str,
    tracked: &TrackedPageView,
    reference: &[ReferenceMetric],
) {
    let ours = last_tracked(&tracked.vitals, VitalName::Cls).expect("tracker CLS");
    let theirs = last_reference(reference, VitalName::Cls).expect("web-vitals CLS");
    let attribution = ours.attribution.as_ref().expect("CLS attribution");
    let value = attribution.largest_shift_value;
    let time = attribution.largest_shift_time;
    log_row(
        scenario,
        0,
        "CLS largestShiftValue",
        value,
        reference_number(theirs, "largestShiftValue"),
    );
    log_row(
        scenario,
        0,
        "CLS largestShiftTime",
        time,
        reference_number(theirs, "largestShiftTime"),
    );
    assert!(
        (value.unwrap() - reference_number(theirs, "largestShiftValue").unwrap()).abs() <= 0.001
    );
    assert!((time.unwrap() - reference_number(theirs, "largestShiftTime").unwrap()).abs() <= 1.0);
    assert_eq!(
        attribution.target.as_deref(),
        reference_text(theirs, "largestShiftTarget"),
        "{scenario}: largest shift target"
    );
}

#[tokio::test]
#[ignore = "needs Chromium, the built tracker and npm web-vitals: run with `cargo xtask test`"]
async fn shifts_with_and_without_recent_input() {
    let h = Harness::start("shifts-input").await;
    h.open("shifts-input.html").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    // Shifts within 500 ms of this click are the user's doing and do not count.
    h.click("grow").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    hide_and_show(&h.browser.client).await;
    let (tracked, reference) = h.reports(&[&LOAD_METRICS]).await;
    h.assert_parity(0, &tracked[0], &reference[0], &LOAD_METRICS);
    let cls = last_tracked(&tracked[0].vitals, VitalName::Cls).unwrap();
    assert!(cls.value > 0.0, "the banner's shift counts: {cls:?}");
    assert_cls_attribution(h.scenario, &tracked[0], &reference[0]);
    h.finish().await;
}

#[tokio::test]
#[ignore = "needs Chromium, the built tracker and npm web-vitals: run with `cargo xtask test`"]
async fn several_shift_windows() {
    let h = Harness::start("shift-windows").await;
    h.open("shift-windows.html").await;
    tokio::time::sleep(Duration::from_millis(6800)).await;
    hide_and_show(&h.browser.client).await;
    let (tracked, reference) = h.reports(&[&LOAD_METRICS]).await;
    h.assert_parity(0, &tracked[0], &reference[0], &LOAD_METRICS);
    assert_cls_attribution(h.scenario, &tracked[0], &reference[0]);
    h.finish().await;
}

#[tokio::test]
#[ignore = "needs Chromium, the built tracker and npm web-vitals: run with `cargo xtask test`"]
async fn slow_clicks_among_fast_ones() {
    let h = Harness::start("slow-clicks").await;
    h.open("slow-clicks.html").await;
    // 52 interactions: INP forgives one outlier per 50, so it is the second slowest.
    for i in 0..49 {
        h.click("fast").await;
        if i % 16 == 0 && i < 48 {
            let slow = ["slow-a", "slow-b", "slow-c"][i / 16];
            h.click(slow).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let count = h
        .browser
        .client
        .execute("return performance.interactionCount", vec![])
        .await
        .unwrap();
    assert!(count.as_u64().unwrap() >= 50, "interactions: {count}");
    hide_and_show(&h.browser.client).await;
    let expected = [
        VitalName::Lcp,
        VitalName::Fcp,
        VitalName::Ttfb,
        VitalName::Cls,
        VitalName::Inp,
    ];
    let (tracked, reference) = h.reports(&[&expected]).await;
    h.assert_parity(0, &tracked[0], &reference[0], &expected);
    let inp = last_tracked(&tracked[0].vitals, VitalName::Inp).unwrap();
    let theirs = last_reference(&reference[0], VitalName::Inp).unwrap();
    let attribution = inp.attribution.as_ref().expect("INP attribution");
    // On a quiet machine INP is slow-b's click (the slowest, slow-a, is forgiven), but
    // under load a fast click can outlast either, and both libraries then rightly pick
    // another interaction: the target must be a button whose handler explains the value.
    let handler_ms = match attribution.target.as_deref() {
        Some("#slow-a") => 320.0,
        Some("#slow-b") => 220.0,
        Some("#slow-c") => 140.0,
        Some("#fast") => 0.0,
        other => panic!("INP target {other:?} is none of the page's buttons"),
    };
    assert!(inp.value >= handler_ms, "{} for {attribution:?}", inp.value);
    if inp.value < 320.0 && attribution.target.as_deref() != Some("#fast") {
        assert_eq!(
            attribution.target.as_deref(),
            Some("#slow-b"),
            "{attribution:?}"
        );
    }
    // web-vitals names the target when it processes entries, in an idle callback or on
    // hiding; by then Chromium 156 may answer `target` with null (seen for `pointerdown`
    // entries of WebDriver clicks). The tracker names it on arrival; where web-vitals has
    // a name too, they must agree.
    if let Some(theirs_target) = reference_text(theirs, "interactionTarget") {
        assert_eq!(attribution.target.as_deref(), Some(theirs_target));
    }
    assert_eq!(attribution.interaction_type, Some(InteractionType::Pointer));
    let phases = [
        ("inputDelay", attribution.input_delay),
        ("processingDuration", attribution.processing_duration),
        ("presentationDelay", attribution.presentation_delay),
    ];
    let mut sum = 0.0;
    for (field, ours) in phases {
        let ours = ours.unwrap_or_else(|| panic!("INP {field}"));
        let theirs_phase = reference_number(theirs, field);
        log_row(
            h.scenario,
            0,
            &format!("INP {field}"),
            Some(ours),
            theirs_phase,
        );
        assert!(
            (ours - theirs_phase.unwrap()).abs() <= 8.0,
            "INP {field}: {ours} vs {theirs_phase:?}"
        );
        sum += ours;
    }
    assert!(
        (sum - inp.value).abs() < 1e-6,
        "INP phases add up to {sum}, INP is {}",
        inp.value
    );
    assert!(
        attribution.processing_duration.unwrap() >= 200.0,
        "{attribution:?}"
    );
    // The busy handler is an inline script: its long animation frame names the page.
    assert!(
        attribution
            .scripts
            .iter()
            .any(|url| url.ends_with("/scenarios/slow-clicks.html")),
        "long-animation-frame scripts: {:?}",
        attribution.scripts
    );
    // Legacy FID, which web-vitals 5 no longer reports: checked against the browser's
    // own first-input entry.
    let first_input = h
        .browser
        .client
        .execute(
            "const e = performance.getEntriesByType('first-input')[0]; \
             return e.processingStart - e.startTime",
            vec![],
        )
        .await
        .unwrap()
        .as_f64()
        .expect("a first-input entry");
    let fid = last_tracked(&tracked[0].vitals, VitalName::Fid).expect("tracker FID");
    log_row(
        h.scenario,
        0,
        "FID (vs first-input entry)",
        Some(fid.value),
        Some(first_input),
    );
    assert!(
        (fid.value - first_input).abs() < 1e-6,
        "FID {} vs {first_input}",
        fid.value
    );
    // Clicks after the first finalise nothing again: one LCP.
    let lcps = tracked[0]
        .vitals
        .iter()
        .filter(|v| v.name == VitalName::Lcp)
        .count();
    assert_eq!(lcps, 1);
    h.finish().await;
}

#[tokio::test]
#[ignore = "needs Chromium, the built tracker and npm web-vitals: run with `cargo xtask test`"]
async fn page_hidden_then_shown() {
    let h = Harness::start("hidden-shown").await;
    h.open("hidden-shown.html").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    hide_and_show(&h.browser.client).await;
    let (first_tracked, first_reference) = h.reports(&[&LOAD_METRICS]).await;
    let first_lcp = last_tracked(&first_tracked[0].vitals, VitalName::Lcp)
        .unwrap()
        .value;
    h.assert_parity(0, &first_tracked[0], &first_reference[0], &LOAD_METRICS);
    // Shown again: a larger shift, a larger image (LCP is already final) and a slow click.
    tokio::time::sleep(Duration::from_millis(800)).await;
    h.click("slow").await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    hide_and_show(&h.browser.client).await;
    // web-vitals handles event entries in an idle callback, and its report on hiding
    // runs before the callbacks still waiting for idle time. Headless Chromium gives a
    // page no idle time after it was hidden and shown, so web-vitals reports this click's
    // INP only when the page is hidden the next time. The tracker reported it already;
    // hiding once more must not make it report anything new.
    hide_and_show(&h.browser.client).await;
    let expected = [
        VitalName::Lcp,
        VitalName::Fcp,
        VitalName::Ttfb,
        VitalName::Cls,
        VitalName::Inp,
    ];
    let (tracked, reference) = h.reports(&[&expected]).await;
    assert_eq!(tracked.len(), 1, "still one page view");
    h.assert_parity(0, &tracked[0], &reference[0], &expected);
    let cls = |vitals: &[VitalEvent]| vitals.iter().filter(|v| v.name == VitalName::Cls).count();
    assert_eq!(
        cls(&tracked[0].vitals),
        2,
        "CLS is reported again when it changed"
    );
    let lcps: Vec<f64> = tracked[0]
        .vitals
        .iter()
        .filter(|v| v.name == VitalName::Lcp)
        .map(|v| v.value)
        .collect();
    assert_eq!(
        lcps,
        [first_lcp],
        "LCP stays what it was when the page was first hidden"
    );
    h.finish().await;
}

#[tokio::test]
#[ignore = "needs Chromium, the built tracker and npm web-vitals: run with `cargo xtask test`"]
async fn back_forward_cache_restore() {
    let h = Harness::start("bfcache").await;
    h.open("bfcache.html").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    h.click("away").await;
    eventually("the other page", Duration::from_secs(10), || async {
        let url = h.browser.client.current_url().await.ok()?;
        url.path().ends_with("elsewhere.html").then_some(())
    })
    .await;
    h.browser.client.back().await.expect("going back");
    wait_for_tracker(&h.browser.client).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    hide_and_show(&h.browser.client).await;
    let (tracked, reference) = h.reports(&[&LOAD_METRICS, &LOAD_METRICS]).await;
    assert_eq!(
        reference[1][0].navigation_type, "back-forward-cache",
        "the page came back from the back/forward cache"
    );
    h.assert_parity(0, &tracked[0], &reference[0], &LOAD_METRICS);
    h.assert_parity(1, &tracked[1], &reference[1], &LOAD_METRICS);
    assert_ne!(tracked[0].id, tracked[1].id, "a restore is a new page view");
    let ttfb = last_tracked(&tracked[1].vitals, VitalName::Ttfb).unwrap();
    assert_eq!(ttfb.value, 0.0, "a restored page has no network time");
    h.finish().await;
}

#[tokio::test]
#[ignore = "needs Chromium, the built tracker and npm web-vitals: run with `cargo xtask test`"]
async fn reload() {
    let h = Harness::start("reload").await;
    h.open("reload.html").await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    hide_and_show(&h.browser.client).await;
    h.reports(&[&LOAD_METRICS]).await;
    h.browser.client.refresh().await.expect("reloading");
    wait_for_tracker(&h.browser.client).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    hide_and_show(&h.browser.client).await;
    let (tracked, reference) = h.reports(&[&LOAD_METRICS, &LOAD_METRICS]).await;
    assert_eq!(reference[1][0].navigation_type, "reload");
    h.assert_parity(0, &tracked[0], &reference[0], &LOAD_METRICS);
    h.assert_parity(1, &tracked[1], &reference[1], &LOAD_METRICS);
    assert_ne!(tracked[0].id, tracked[1].id, "a reload is a new page view");
    h.finish().await;
}

#[tokio::test]
#[ignore = "needs Chromium, the built tracker and npm web-vitals: run with `cargo xtask test`"]
async fn spa_route_change() {
    let h = Harness::start("spa").await;
    h.open("spa.html").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    // The route change is a click: it also finalises LCP, in both.
    h.click("to-settings").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    hide_and_show(&h.browser.client).await;
    let hard = [VitalName::Lcp, VitalName::Fcp, VitalName::Ttfb];
    let (tracked, reference) = h.reports(&[&hard]).await;
    assert_eq!(
        reference.len(),
        1,
        "web-vitals knows only the hard navigation"
    );
    h.assert_parity(0, &tracked[0], &reference[0], &hard);
    // The load metrics belong to the hard navigation's page view only; any page view the
    // route change started measures its own CLS and INP but no load.
    for view in &tracked[1..] {
        assert!(
            view.vitals.iter().all(|v| !hard.contains(&v.name)),
            "a soft navigation has no load metrics: {view:?}"
        );
    }
    log_row(
        h.scenario,
        0,
        "page views (tracker)",
        Some(tracked.len() as f64),
        Some(1.0),
    );
    h.finish().await;
}

#[tokio::test]
#[ignore = "needs Chromium, the built tracker and npm web-vitals: run with `cargo xtask test`"]
async fn hidden_from_the_start() {
    let h = Harness::start("hidden-at-load").await;
    let tab = open_in_background_tab(
        &h.browser.client,
        &h.server.url("/scenarios/late-hero.html"),
    )
    .await;
    // Background tabs run timers at most once a second: time for load, the tracker's
    // start and TTFB's task after load.
    tokio::time::sleep(Duration::from_millis(3000)).await;
    close_tab(&h.browser.client, &tab).await;
    let (tracked, reference) = h.reports(&[&[VitalName::Ttfb]]).await;
    h.assert_parity(0, &tracked[0], &reference[0], &[VitalName::Ttfb]);
    // Never seen: no paint metrics and no CLS on either side.
    for name in [
        VitalName::Fcp,
        VitalName::Lcp,
        VitalName::Cls,
        VitalName::Inp,
    ] {
        let ours = last_tracked(&tracked[0].vitals, name).map(|v| v.value);
        let theirs = last_reference(&reference[0], name).map(|m| m.value);
        log_row(h.scenario, 0, name.as_str(), ours, theirs);
        assert_eq!(
            (ours, theirs),
            (None, None),
            "{name:?} of a page hidden from the start"
        );
    }
    h.finish().await;
}

/// Opens a launcher page, which asks Chromium to prerender `prerendered.html`, and waits
/// until the tracker runs inside that prerender. Fails loudly when the browser did not
/// prerender: every prerender assertion would otherwise hold vacuously.
async fn launch_prerender(h: &Harness, launcher: &str) {
    h.browser
        .client
        .goto(&h.server.url(&format!("/scenarios/{launcher}")))
        .await
        .expect("opening the launcher page");
    let probe = eventually(
        "the tracker to run inside the prerendered page (did Chromium prerender it?)",
        Duration::from_secs(20),
        || async { h.server.prerender_probes().into_iter().next() },
    )
    .await;
    assert!(
        probe.prerendering,
        "{}: the tracker started, but not during a prerender: {probe:?}",
        h.scenario
    );
}

/// Reads a number the page computes.
async fn page_number(h: &Harness, script: &str) -> f64 {
    h.browser
        .client
        .execute(script, vec![])
        .await
        .unwrap_or_else(|error| panic!("{script}: {error}"))
        .as_f64()
        .unwrap_or_else(|| panic!("{script}: not a number"))
}

#[tokio::test]
#[ignore = "needs Chromium, the built tracker and npm web-vitals: run with `cargo xtask test`"]
async fn prerendered_then_activated() {
    let h = Harness::start("prerender").await;
    let tracked = activate_prerender(&h, "prerender.html", "/scenarios/prerendered.html").await;
    assert_eq!(tracked[0].route, "/scenarios/prerendered.html");
    h.finish().await;
}

/// The app changes its route (History API) while prerendered, as routers do on start:
/// the user still sees one page, at the new route, and measures it as web-vitals does.
#[tokio::test]
#[ignore = "needs Chromium, the built tracker and npm web-vitals: run with `cargo xtask test`"]
async fn prerendered_app_changes_route_before_activation() {
    let h = Harness::start("prerender-spa").await;
    let tracked = activate_prerender(&h, "prerender-spa.html", "/scenarios/prerendered/home").await;
    assert_eq!(
        tracked[0].route, "/scenarios/prerendered/home",
        "the page view is named after the route the user saw"
    );
    h.finish().await;
}

/// Launches the prerender, activates it by following the launcher's link, and checks
/// the prerendered page view against web-vitals and the browser's own entries. The
/// shown page's path is `shown_path`. Returns the tracker's page views (exactly one).
async fn activate_prerender(h: &Harness, launcher: &str, shown_path: &str) -> Vec<TrackedPageView> {
    launch_prerender(h, launcher).await;
    // Shown well after the prerender started, so that counting from its start instead of
    // from activation would be off by seconds.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        h.server.batches().is_empty() && h.server.reference_loads().is_empty(),
        "nothing is reported while the page is only prerendered: {:#?} {:#?}",
        h.server.batches(),
        h.server.reference_loads()
    );
    h.click("activate").await;
    eventually("the prerendered page", Duration::from_secs(10), || async {
        let url = h.browser.client.current_url().await.ok()?;
        (url.path() == shown_path).then_some(())
    })
    .await;
    wait_for_tracker(&h.browser.client).await;
    let began_prerendering = h
        .browser
        .client
        .execute("return window.beganPrerendering", vec![])
        .await
        .expect("reading beganPrerendering");
    assert_eq!(
        began_prerendering,
        Value::Bool(true),
        "the page shown is the prerendered document"
    );
    let activation_start = page_number(
        h,
        "return performance.getEntriesByType('navigation')[0].activationStart",
    )
    .await;
    log_row(
        h.scenario,
        0,
        "activationStart (browser)",
        Some(activation_start),
        None,
    );
    assert!(
        activation_start >= 1000.0,
        "the page was activated after it was prerendered: activationStart {activation_start}"
    );
    // The hero is answered 4 s after the prerender asked for it: after activation.
    eventually("the hero image", Duration::from_secs(10), || async {
        let complete = h
            .browser
            .client
            .execute("return document.getElementById('hero').complete", vec![])
            .await
            .ok()?;
        complete.as_bool().filter(|done| *done)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    hide_and_show(&h.browser.client).await;
    let (tracked, reference) = h.reports(&[&LOAD_METRICS]).await;
    assert_eq!(tracked.len(), 1, "one page view: {tracked:#?}");
    assert_eq!(reference.len(), 1, "one page load: {reference:#?}");
    h.assert_parity(0, &tracked[0], &reference[0], &LOAD_METRICS);
    assert_lcp_attribution(h.scenario, &tracked[0], &reference[0]);

    assert_eq!(tracked[0].navigation_type, NavigationType::Prerender);
    // What the tracker measured while prerendered waited for activation, not lost: the
    // page's scripts were loaded (and recorded as assets) before it was shown.
    let prerender_assets = h
        .server
        .batches()
        .iter()
        .filter(|batch| batch.page_view == tracked[0].id)
        .flat_map(|batch| batch.assets.clone())
        .filter(|asset| asset.url.ends_with("/scenarios/reference.js"))
        .count();
    assert_eq!(
        prerender_assets, 1,
        "the script loaded during the prerender is reported once, after activation"
    );
    for metric in &reference[0] {
        assert_eq!(
            metric.navigation_type, "prerender",
            "web-vitals' navigation type: {metric:?}"
        );
    }

    // Measured from activation, as the browser's own entries say.
    let since_activation = |start: f64| (start - activation_start).max(0.0);
    let fcp_entry = page_number(
        h,
        "return performance.getEntriesByName('first-contentful-paint')[0].startTime",
    )
    .await;
    let response_start = page_number(
        h,
        "return performance.getEntriesByType('navigation')[0].responseStart",
    )
    .await;
    let hero_loaded = page_number(
        h,
        "return performance.getEntriesByType('resource')\
         .find((e) => e.name.includes('/image.svg')).responseEnd",
    )
    .await;
    let ours = |name| last_tracked(&tracked[0].vitals, name).unwrap().value;
    log_row(
        h.scenario,
        0,
        "FCP (vs paint entry)",
        Some(ours(VitalName::Fcp)),
        Some(since_activation(fcp_entry)),
    );
    assert!((ours(VitalName::Fcp) - since_activation(fcp_entry)).abs() <= 1.0);
    log_row(
        h.scenario,
        0,
        "TTFB (vs navigation entry)",
        Some(ours(VitalName::Ttfb)),
        Some(since_activation(response_start)),
    );
    assert!((ours(VitalName::Ttfb) - since_activation(response_start)).abs() <= 1.0);
    // The hero arrived seconds after the prerender started; its paint follows its
    // arrival within a few frames, counted from activation.
    let lcp = ours(VitalName::Lcp);
    log_row(
        h.scenario,
        0,
        "LCP (vs hero responseEnd)",
        Some(lcp),
        Some(since_activation(hero_loaded)),
    );
    assert!(
        lcp >= since_activation(hero_loaded) && lcp < hero_loaded - activation_start + 500.0,
        "LCP {lcp} counts from activation ({activation_start}): the hero arrived at {hero_loaded}"
    );
    tracked
}

#[tokio::test]
#[ignore = "needs Chromium, the built tracker and npm web-vitals: run with `cargo xtask test`"]
async fn prerendered_never_activated() {
    let h = Harness::start("prerender-unused").await;
    launch_prerender(&h, "prerender.html").await;
    // The prerender lives longer than the tracker's batch age (5 s by default); then it
    // is thrown away: the launcher navigates elsewhere.
    let outlived = eventually(
        "the prerender to outlive the tracker's batch age",
        Duration::from_secs(20),
        || async {
            h.server
                .prerender_probes()
                .into_iter()
                .find(|probe| probe.at > 6000.0)
        },
    )
    .await;
    assert!(
        outlived.prerendering,
        "still prerendering after 6 s: {outlived:?}"
    );
    h.browser
        .client
        .goto(&h.server.url("/scenarios/elsewhere.html"))
        .await
        .expect("leaving the launcher");
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let sent_meanwhile = h.server.batches();
    log_row(
        h.scenario,
        0,
        "batches while prerendered",
        Some(sent_meanwhile.len() as f64),
        Some(h.server.reference_loads().len() as f64),
    );
    assert!(
        sent_meanwhile.is_empty(),
        "a prerender that was never shown sends nothing: {sent_meanwhile:#?}"
    );
    assert!(
        h.server.reference_loads().is_empty(),
        "web-vitals reports nothing for it either: {:#?}",
        h.server.reference_loads()
    );
    // A page of the same site that is seen: whatever the prerender left in storage for
    // the next page view would be sent now.
    h.open("text-only.html").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    hide_and_show(&h.browser.client).await;
    let (tracked, reference) = h.reports(&[&LOAD_METRICS]).await;
    assert_eq!(
        reference.len(),
        1,
        "web-vitals reports only the page that was seen: {reference:#?}"
    );
    assert_eq!(reference[0][0].navigation_type, "navigate");
    let views: Vec<_> = tracked
        .iter()
        .map(|view| (view.id.clone(), view.navigation_type))
        .collect();
    log_row(
        h.scenario,
        0,
        "page views (tracker)",
        Some(tracked.len() as f64),
        Some(1.0),
    );
    assert_eq!(
        views.len(),
        1,
        "the tracker reports only the page that was seen: {views:?}"
    );
    assert_eq!(views[0].1, NavigationType::Navigate);
    h.assert_parity(0, &tracked[0], &reference[0], &LOAD_METRICS);
    h.finish().await;
}
