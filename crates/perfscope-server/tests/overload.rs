//! The real `perfscope` binary under ten times the ingest rate it is configured to
//! sustain: it refuses the excess with 429/503 and `Retry-After`, its peak memory stays
//! bounded, every batch it acknowledged is stored, and it serves 2xx again once the
//! load drops. A correctness test: it asserts outcomes, not timings.

mod common;

use common::collector_process::{serve_command, CollectorProcess};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What the site's token bucket lets through: the rate the collector sustains by
/// configuration.
const SUSTAINED_BATCHES_PER_SEC: u64 = 20;
const OVERLOAD_FACTOR: u64 = 10;
const OVERLOAD: Duration = Duration::from_secs(5);
const SENDERS: u64 = 20;
const EVENTS_PER_BATCH: usize = 20;
/// The memory budget for the collector under load.
const MAX_PEAK_RSS_KB: u64 = 200 * 1024;

fn start_collector(dir: &Path) -> CollectorProcess {
    let config = dir.join("perfscope.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\npath = \"{}\"\n\
             [ingest]\nqueue_capacity = 4\n\
             [ingest.rate_limit]\n\
             per_ip_per_second = 100000\nper_ip_burst = 100000\n\
             per_site_per_second = {SUSTAINED_BATCHES_PER_SEC}\nper_site_burst = {SUSTAINED_BATCHES_PER_SEC}\n\
             [[sites]]\nkey = \"load\"\n",
            dir.join("perfscope.db").display()
        ),
    )
    .unwrap();
    let mut command = serve_command();
    command.arg("--config").arg(&config);
    CollectorProcess::start(command)
}

fn peak_rss_kb(collector: &CollectorProcess) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", collector.process.id())).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status")
}

fn batch(page_view: &str) -> String {
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as f64;
    let api_calls: Vec<_> = (0..EVENTS_PER_BATCH)
        .map(|i| {
            json!({ "id": format!("{page_view}-{i}"), "ts": ts, "method": "GET",
            "path": "/api/items", "status": 200, "duration": 30.0 + i as f64 })
        })
        .collect();
    json!({ "site": "load", "page_view": page_view, "seq": 0, "page": "/", "api_calls": api_calls })
        .to_string()
}

#[derive(Default)]
struct Tally {
    accepted: AtomicU64,
    stored_events: AtomicU64,
    rate_limited: AtomicU64,
    overloaded: AtomicU64,
    refused_without_retry_after: AtomicU64,
}

/// Sends one batch and records its outcome; any status but 200, 429 or 503 fails.
async fn send(http: &reqwest::Client, url: &str, page_view: &str, tally: &Tally) -> u16 {
    let response = http
        .post(url)
        .header("content-type", "text/plain")
        .body(batch(page_view))
        .send()
        .await
        .expect("the collector keeps accepting connections");
    let status = response.status().as_u16();
    let retry_after = response.headers().contains_key("retry-after");
    let body: Value = response.json().await.expect("a JSON answer");
    match status {
        200 => {
            tally.accepted.fetch_add(1, Ordering::Relaxed);
            let stored = body["stored"].as_u64().unwrap();
            tally.stored_events.fetch_add(stored, Ordering::Relaxed);
        }
        429 => {
            tally.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
        503 => {
            tally.overloaded.fetch_add(1, Ordering::Relaxed);
        }
        other => panic!("unexpected {other}: {body}"),
    }
    if status != 200 && !retry_after {
        tally
            .refused_without_retry_after
            .fetch_add(1, Ordering::Relaxed);
    }
    status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_times_the_sustained_rate_is_refused_with_retry_after_and_ingest_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let collector = start_collector(dir.path());
    let url = format!("{}/api/v1/ingest", collector.base_url);
    let http = reqwest::Client::new();
    let tally = Arc::new(Tally::default());
    let rss_before = peak_rss_kb(&collector);

    // Open loop: each sender keeps its own schedule, so the offered rate does not fall
    // when the collector slows down (up to what one connection per sender can carry).
    let interval = Duration::from_secs_f64(
        SENDERS as f64 / (SUSTAINED_BATCHES_PER_SEC * OVERLOAD_FACTOR) as f64,
    );
    let started = Instant::now();
    let senders: Vec<_> = (0..SENDERS)
        .map(|sender| {
            let (http, url, tally) = (http.clone(), url.clone(), Arc::clone(&tally));
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval(interval);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                let mut sent = 0u64;
                while started.elapsed() < OVERLOAD {
                    ticks.tick().await;
                    send(&http, &url, &format!("o{sender}-{sent}"), &tally).await;
                    sent += 1;
                }
                sent
            })
        })
        .collect();
    let mut offered = 0;
    for sender in senders {
        offered += sender.await.unwrap();
    }
    let offered_per_sec = offered as f64 / started.elapsed().as_secs_f64();
    let rss_after = peak_rss_kb(&collector);
    let refused =
        tally.rate_limited.load(Ordering::Relaxed) + tally.overloaded.load(Ordering::Relaxed);
    eprintln!(
        "overload: offered {offered} batches ({offered_per_sec:.0}/s against {SUSTAINED_BATCHES_PER_SEC}/s sustained), \
         accepted {}, 429 {}, 503 {}; peak RSS {} kB before, {} kB after",
        tally.accepted.load(Ordering::Relaxed),
        tally.rate_limited.load(Ordering::Relaxed),
        tally.overloaded.load(Ordering::Relaxed),
        rss_before,
        rss_after,
    );
    // The load really was several times what is sustained (the schedule asks for ten).
    assert!(
        offered_per_sec >= (SUSTAINED_BATCHES_PER_SEC * OVERLOAD_FACTOR / 2) as f64,
        "only {offered_per_sec:.0} batches/s offered"
    );
    assert!(refused > offered / 2, "{refused} of {offered} refused");
    assert_eq!(tally.refused_without_retry_after.load(Ordering::Relaxed), 0);
    assert!(rss_after <= MAX_PEAK_RSS_KB, "peak RSS {rss_after} kB");

    // The load drops to half the sustained rate: after the one-second Retry-After the
    // clients were given, every batch is accepted again.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut ticks =
        tokio::time::interval(Duration::from_secs(2) / SUSTAINED_BATCHES_PER_SEC as u32);
    for n in 0..30 {
        ticks.tick().await;
        let status = send(&http, &url, &format!("r{n}"), &tally).await;
        assert_eq!(status, 200, "batch {n} after the load dropped");
    }

    // Everything acknowledged is stored, once.
    let sites = collector.get_json(&http, "/api/v1/sites").await;
    let stored = sites
        .as_array()
        .unwrap()
        .iter()
        .find(|site| site["site"] == "load")
        .map(|site| site["events"].as_u64().unwrap())
        .unwrap();
    assert_eq!(stored, tally.stored_events.load(Ordering::Relaxed));
    assert_eq!(
        stored,
        tally.accepted.load(Ordering::Relaxed) * EVENTS_PER_BATCH as u64
    );
}
