//! The real `perfscope` binary killed with SIGKILL while batches stream in: after a
//! restart, every batch that got a 2xx is stored, and stored once.

mod common;

use common::collector_process::{serve_command, CollectorProcess};
use rusqlite::Connection;
use serde_json::json;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn start_collector(db: &Path) -> CollectorProcess {
    let mut command = serve_command();
    command
        .arg("--db")
        .arg(db)
        // The load below is one client far above a browser's pace.
        .env("PERFSCOPE_INGEST__RATE_LIMIT__PER_IP_PER_SECOND", "1000000")
        .env("PERFSCOPE_INGEST__RATE_LIMIT__PER_IP_BURST", "1000000")
        .env(
            "PERFSCOPE_INGEST__RATE_LIMIT__PER_SITE_PER_SECOND",
            "1000000",
        )
        .env("PERFSCOPE_INGEST__RATE_LIMIT__PER_SITE_BURST", "1000000")
        .env("PERFSCOPE_SITES", r#"[{key="crash"}]"#);
    CollectorProcess::start(command)
}

fn batch(page_view: &str) -> String {
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as f64;
    let vitals: Vec<_> = (0..10)
        .map(|i| json!({ "id": format!("{page_view}-{i}"), "ts": ts, "name": "LCP", "value": 1000.0 + f64::from(i) }))
        .collect();
    json!({ "site": "crash", "page_view": page_view, "seq": 0, "page": "/", "vitals": vitals })
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_batch_survives_sigkill_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("perfscope.db");
    let mut collector = start_collector(&db);
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let http = reqwest::Client::new();

    let senders: Vec<_> = (0..4)
        .map(|sender| {
            let (http, url, acknowledged) = (
                http.clone(),
                format!("{}/api/v1/ingest", collector.base_url),
                Arc::clone(&acknowledged),
            );
            tokio::spawn(async move {
                for n in 0.. {
                    let page_view = format!("s{sender}-{n}");
                    match http.post(&url).body(batch(&page_view)).send().await {
                        Ok(response) if response.status().is_success() => {
                            acknowledged.lock().unwrap().push(page_view)
                        }
                        Ok(response) => panic!("unexpected {}", response.status()),
                        // The collector is gone: what was in flight has no answer.
                        Err(_) => return n,
                    }
                }
                unreachable!()
            })
        })
        .collect();

    // Kill once enough batches are acknowledged, not after a fixed time: on a loaded
    // machine 1.5 s was sometimes fewer than 50 batches.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while acknowledged.lock().unwrap().len() <= 60 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    collector.process.kill().unwrap(); // SIGKILL: no shutdown, no drain
    collector.process.wait().unwrap();
    let mut sent = 0;
    for sender in senders {
        sent += sender.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() > 50,
        "only {} batches acknowledged",
        acknowledged.len()
    );

    // Restarting recovers the WAL; then every acknowledged event is there, once.
    let restarted = start_collector(&db);
    let conn = Connection::open(&db).unwrap();
    let stored: HashMap<String, i64> = conn
        .prepare("SELECT page_view, COUNT(*) FROM vitals WHERE site = 'crash' GROUP BY page_view")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for page_view in &acknowledged {
        let rows = stored.get(page_view).copied().unwrap_or(0);
        assert_eq!(
            rows, 10,
            "batch {page_view} was acknowledged but has {rows} of 10 events"
        );
    }
    let total: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM vitals WHERE site = 'crash'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    // Batches in flight at the kill may or may not have been committed; none twice.
    assert!(total as usize >= acknowledged.len() * 10);
    assert!(
        total as usize <= (acknowledged.len() + 4) * 10,
        "{total} rows for {sent} sends"
    );

    // A tracker retrying an acknowledged batch after the restart adds nothing.
    let retry = http
        .post(format!("{}/api/v1/ingest", restarted.base_url))
        .body(batch(&acknowledged[0]))
        .send()
        .await
        .unwrap();
    let outcome: serde_json::Value = retry.json().await.unwrap();
    assert_eq!(outcome, json!({ "stored": 0, "duplicates": 10 }));
    eprintln!(
        "{} batches acknowledged before SIGKILL, {total} events stored after restart",
        acknowledged.len()
    );
}
