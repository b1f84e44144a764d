//! Two real `perfscope serve` processes on one ClickHouse: batches posted to either
//! one, retries through the other, and both answer the same summary.

mod common;
mod support_store;

use common::collector_process::{serve_command, CollectorProcess};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};
use support_store::clickhouse_url;

fn start_collector(storage_url: &str, data_dir: &Path) -> CollectorProcess {
    let mut command = serve_command();
    command
        .arg("--db")
        .arg(data_dir.join("unused.db"))
        .env("PERFSCOPE_STORAGE__URL", storage_url)
        .env("PERFSCOPE_SITES", r#"[{key="shared"}]"#);
    CollectorProcess::start(command)
}

fn batch(page_view: &str, ts: f64) -> String {
    let vitals: Vec<_> = (0..5)
        .map(|i| json!({ "id": format!("{page_view}-{i}"), "ts": ts, "name": "LCP", "value": 1000.0 + 100.0 * f64::from(i) }))
        .collect();
    json!({ "site": "shared", "page_view": page_view, "seq": 0, "page": "/", "vitals": vitals })
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_collectors_share_one_clickhouse() {
    let Some(base) = clickhouse_url() else { return };
    let database = format!("collectors_{}", std::process::id());
    let storage_url = format!("{base}/{database}");
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = start_collector(&storage_url, dir_a.path());
    let b = start_collector(&storage_url, dir_b.path());
    let http = reqwest::Client::new();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as f64;

    let post = |collector: &CollectorProcess, body: String| {
        http.post(format!("{}/api/v1/ingest", collector.base_url))
            .header("content-type", "text/plain")
            .body(body)
            .send()
    };
    for i in 0..20 {
        let target = if i % 2 == 0 { &a } else { &b };
        let response = post(target, batch(&format!("pv{i}"), now)).await.unwrap();
        assert_eq!(response.status(), 200);
    }
    // Reads need a session; each collector keeps its own.
    let (cookie_a, cookie_b) = (a.login(&http).await, b.login(&http).await);
    let summary = |collector: &CollectorProcess, cookie: &str| {
        http.get(format!(
            "{}/api/v1/summary?site=shared&from={}&to={}",
            collector.base_url,
            now as i64 - 60_000,
            now as i64 + 60_000
        ))
        .header("cookie", cookie.to_string())
        .send()
    };
    // A's query flushes its buffer (it would within a second anyway); a retry of one of
    // its batches through B is then recognised, and stored once either way.
    summary(&a, &cookie_a).await.unwrap();
    let retried = post(&b, batch("pv0", now)).await.unwrap();
    let outcome: Value = retried.json().await.unwrap();
    assert_eq!(outcome, json!({ "stored": 0, "duplicates": 5 }));

    // Each collector's first query flushes its own buffer; then both see everything.
    summary(&a, &cookie_a).await.unwrap();
    summary(&b, &cookie_b).await.unwrap();
    let from_a: Value = summary(&a, &cookie_a).await.unwrap().json().await.unwrap();
    let from_b: Value = summary(&b, &cookie_b).await.unwrap().json().await.unwrap();
    assert_eq!(from_a, from_b);
    assert_eq!(from_a["vitals"][0]["name"], "LCP");
    assert_eq!(from_a["vitals"][0]["count"], 100);
    let sites = a.get_json(&http, "/api/v1/sites").await;
    assert_eq!(sites[0]["events"], 100);
}
