//! `perfscope demo` as a user runs it: the real binary fills a database, a second run
//! adds nothing, and the collector then serves the demo site's week.

mod common;

use common::collector_process::{serve_command, CollectorProcess};
use serde_json::Value;
use std::process::Command;

/// `demo site `x`: 1 days, N page views, S events stored, D already there, in …`
fn figures(stdout: &[u8]) -> (u64, u64, u64) {
    let line = String::from_utf8_lossy(stdout).into_owned();
    let number_before = |label: &str| -> u64 {
        let head = line.split(label).next().unwrap_or_else(|| panic!("{line}"));
        head.split_whitespace()
            .last()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no number before {label:?} in {line}"))
    };
    (
        number_before(" page views"),
        number_before(" events stored"),
        number_before(" already there"),
    )
}

fn demo(db: &std::path::Path, extra: &[&str]) -> (u64, u64, u64) {
    let output = Command::new(env!("CARGO_BIN_EXE_perfscope"))
        .args(["demo", "--days", "1", "--seed", "7"])
        .args(extra)
        .arg("--db")
        .arg(db)
        .env("RUST_LOG", "warn")
        .output()
        .expect("running perfscope demo");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    figures(&output.stdout)
}

#[tokio::test]
async fn demo_fills_a_site_once_and_the_collector_serves_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("perfscope.db");
    let (views, stored, duplicates) = demo(&db, &[]);
    assert!(views > 300, "{views} page views in a day");
    assert!(stored > 5 * views, "{stored} events for {views} page views");
    assert_eq!(duplicates, 0);

    // The same seed again: every event is already there.
    let (again_views, again_stored, again_duplicates) = demo(&db, &[]);
    assert_eq!(again_views, views);
    assert_eq!(again_stored, 0);
    assert_eq!(again_duplicates, stored);

    let bad = Command::new(env!("CARGO_BIN_EXE_perfscope"))
        .args(["demo", "--site", "not a key", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--site"));

    let mut command = serve_command();
    command.arg("--db").arg(&db);
    let collector = CollectorProcess::start(command);
    let http = reqwest::Client::new();
    let sites = collector.get_json(&http, "/api/v1/sites").await;
    let demo_site = sites
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["site"] == "demo")
        .unwrap_or_else(|| panic!("{sites}"));
    assert_eq!(demo_site["events"].as_u64(), Some(stored), "{demo_site}");

    let routes: Value = collector
        .get_json(
            &http,
            "/api/v1/breakdown?site=demo&metric=LCP&by=route&limit=50",
        )
        .await;
    assert_eq!(routes.as_array().unwrap().len(), 20, "{routes}");
    let endpoints = collector
        .get_json(&http, "/api/v1/endpoints?site=demo")
        .await;
    let endpoints = endpoints.as_array().unwrap();
    assert_eq!(endpoints.len(), 15);
    assert!(endpoints
        .iter()
        .any(|e| e["error_rate"].as_f64() > Some(0.0)));
}
