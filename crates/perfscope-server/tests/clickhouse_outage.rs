//! ClickHouse goes away mid-stream and comes back: every event whose insert was
//! acknowledged is queryable afterwards, exactly once, whether the collector kept
//! running through the outage or was restarted during it.

mod support_store;

use perfscope_model::VitalName;
use perfscope_server::store::{
    AcceptedBatch, ClickHouseOptions, ClickHouseStore, Scope, Store, TimeRange,
};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support_store::clickhouse_server::{server_bin, OwnClickHouse};
use support_store::{page_view, DAY, T0};

fn open(url: &str, spill: &Path) -> ClickHouseStore {
    let mut options = ClickHouseOptions::new(format!("{url}/outage"), spill);
    // Fail fast while the server is down, so the stream keeps a realistic pace.
    options.flush_interval = Duration::from_millis(250);
    ClickHouseStore::open(options).expect("opening the store")
}

fn batch(n: u64) -> AcceptedBatch {
    let mut b = page_view("s", &format!("pv{n}"), "/");
    for i in 0..10 {
        b = b.vital(
            &format!("b{n}-{i}"),
            VitalName::Lcp,
            1000.0 + i as f64,
            T0 + (n * 10 + i) as i64,
        );
    }
    b.build()
}

fn lcp_count(store: &dyn Store) -> u64 {
    let scope = Scope {
        site: "s".into(),
        range: TimeRange {
            from: T0 - DAY,
            to: T0 + 100 * DAY,
        },
        filter: Default::default(),
    };
    store.vitals(&scope).expect("query after recovery")[0].count
}

/// Inserts batch after batch until `stop`; returns how many were acknowledged (all of
/// them: the spill file acknowledges while ClickHouse is down).
fn stream(store: Arc<ClickHouseStore>, stop: Arc<AtomicBool>, first: u64) -> u64 {
    let mut n = first;
    while !stop.load(Ordering::Relaxed) {
        store
            .insert_batches(&[batch(n)])
            .expect("an insert is acknowledged through the spill file");
        n += 1;
        std::thread::sleep(Duration::from_millis(2));
    }
    n - first
}

#[test]
fn clickhouse_killed_mid_stream_loses_nothing_acknowledged() {
    let Some(bin) = server_bin() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut server = OwnClickHouse::start(bin, &dir.path().join("clickhouse"));
    let spill = dir.path().join("spill");
    let store = Arc::new(open(&server.url(), &spill));

    let stop = Arc::new(AtomicBool::new(false));
    let writer = std::thread::spawn({
        let (store, stop) = (Arc::clone(&store), Arc::clone(&stop));
        move || stream(store, stop, 0)
    });
    std::thread::sleep(Duration::from_millis(1500));
    server.kill();
    let down_at = Instant::now();
    std::thread::sleep(Duration::from_millis(3000));
    let during_outage = store.writer_stats();
    let spilled_files = std::fs::read_dir(&spill).unwrap().count();
    server.resume();
    let up_after = down_at.elapsed();
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::Relaxed);
    let acknowledged = writer.join().unwrap();

    let started = Instant::now();
    let count = lcp_count(store.as_ref());
    let stats = store.writer_stats();
    eprintln!(
        "outage test: {acknowledged} batches ({} events) acknowledged; ClickHouse down for \
         {up_after:?}; during the outage {} failed flushes and {spilled_files} spill segments on \
         disk; after it {} segments replayed, {} left; first query (with replay flush) took {:?}",
        acknowledged * 10,
        during_outage.failed_flushes,
        stats.replayed_segments,
        stats.spilled_segments,
        started.elapsed()
    );
    assert!(during_outage.failed_flushes > 0, "the outage was noticed");
    assert!(spilled_files > 0, "rows waited on disk");
    assert!(stats.replayed_segments > 0, "spilled rows were replayed");
    assert_eq!(stats.spilled_segments, 0);
    assert_eq!(count, acknowledged * 10, "every acknowledged event, once");
    assert_eq!(std::fs::read_dir(&spill).unwrap().count(), 0);
}

#[test]
fn a_collector_restarted_during_the_outage_replays_its_spill_file() {
    let Some(bin) = server_bin() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut server = OwnClickHouse::start(bin, &dir.path().join("clickhouse"));
    let spill = dir.path().join("spill");
    let before = open(&server.url(), &spill);
    before.insert_batches(&[batch(0)]).unwrap();
    assert_eq!(lcp_count(&before), 10);

    server.kill();
    for n in 1..=20 {
        before.insert_batches(&[batch(n)]).unwrap();
    }
    // The collector stops while ClickHouse is away: its last flush fails and the rows
    // stay in the spill directory.
    drop(before);
    let left = std::fs::read_dir(&spill).unwrap().count();
    assert!(left > 0, "acknowledged rows wait on disk");

    server.resume();
    let after = open(&server.url(), &spill);
    // A retried batch after the restart is still one event.
    after.insert_batches(&[batch(5)]).unwrap();
    assert_eq!(lcp_count(&after), 21 * 10);
    let stats = after.writer_stats();
    eprintln!("restart test: {left} spill segments left by the stopped collector, {} replayed by the new one", stats.replayed_segments);
    assert_eq!(stats.replayed_segments as usize, left);
    assert_eq!(std::fs::read_dir(&spill).unwrap().count(), 0);
}
