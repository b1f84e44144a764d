//! What storage tests share: where each backend's test store lives, and builders for
//! accepted batches with known contents.

#![allow(dead_code)] // Each test crate uses its own part of this module.

pub mod clickhouse_server;

use perfscope_model::{
    ApiCallEvent, ApiOutcome, AssetEvent, AssetKind, Attribution, Batch, ConnectionType,
    CustomMetricEvent, DeviceClass, LongFrameEvent, MemoryEvent, NavigationType, PageContext,
    VitalEvent, VitalName,
};
use perfscope_server::store::{AcceptedBatch, ClickHouseOptions, ClickHouseStore, Store};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// One test's storage: opening it twice gives two stores over the same data, as two
/// collector processes would have.
pub struct Setup {
    /// Unique per test: a ClickHouse database name, a SQLite file stem.
    pub name: String,
    /// Private to this test, removed afterwards.
    pub dir: tempfile::TempDir,
    /// Distinct routes (and endpoints) per site before `other`.
    pub cardinality_cap: usize,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl Setup {
    pub fn new(test: &str, cardinality_cap: usize) -> Setup {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        Setup {
            name: format!("conformance_{}_{}_{n}", std::process::id(), test),
            dir: tempfile::tempdir().expect("temporary directory"),
            cardinality_cap,
        }
    }
}

/// The server `cargo xtask test` started, e.g. `http://127.0.0.1:18123`.
pub fn clickhouse_url() -> Option<String> {
    match std::env::var("E2E_CLICKHOUSE_URL") {
        Ok(url) if !url.is_empty() => Some(url.trim_end_matches('/').to_string()),
        _ => {
            eprintln!(
                "\n!!!!! SKIPPED: E2E_CLICKHOUSE_URL is not set, so the ClickHouse storage tests \
                 did not run. `cargo xtask test` starts a ClickHouse server and sets it. !!!!!\n"
            );
            None
        }
    }
}

/// A ClickHouse store on the database `setup.name`, with its own spill directory per
/// opening.
/// A SQLite store in the test's private directory; always available.
pub fn sqlite_store(setup: &Setup) -> Option<Arc<dyn Store>> {
    let limits = perfscope_server::store::CardinalityLimits {
        max_routes_per_site: setup.cardinality_cap,
        max_endpoints_per_site: setup.cardinality_cap,
    };
    let path = setup.dir.path().join(format!("{}.db", setup.name));
    let store = perfscope_server::store::SqliteStore::open_with(&path, limits)
        .expect("opening the SQLite store");
    Some(Arc::new(store))
}

pub fn clickhouse_store(setup: &Setup) -> Option<Arc<dyn Store>> {
    clickhouse_store_at(setup, &clickhouse_url()?).map(|s| s as Arc<dyn Store>)
}

pub fn clickhouse_store_at(setup: &Setup, base_url: &str) -> Option<Arc<ClickHouseStore>> {
    let opening = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut options = ClickHouseOptions::new(
        format!("{base_url}/{}", setup.name),
        setup.dir.path().join(format!("spill-{opening}")),
    );
    options.max_routes_per_site = setup.cardinality_cap;
    options.max_endpoints_per_site = setup.cardinality_cap;
    Some(Arc::new(
        ClickHouseStore::open(options).expect("opening the ClickHouse store"),
    ))
}

pub fn spill_dir(setup: &Setup) -> PathBuf {
    setup.dir.path().to_path_buf()
}

/// Base time of the test data: midnight UTC, so tests can reason about alignment.
pub const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 3_600_000;
pub const DAY: i64 = 86_400_000;

/// A page view's batch builder.
#[derive(Clone)]
pub struct PageViewBuilder {
    pub accepted: AcceptedBatch,
}

pub fn page_view(site: &str, id: &str, route: &str) -> PageViewBuilder {
    PageViewBuilder {
        accepted: AcceptedBatch {
            batch: Batch {
                site: site.into(),
                page_view: id.into(),
                seq: 0,
                page: route.into(),
                context: PageContext::default(),
                ..Batch::default()
            },
            browser: "chrome".into(),
            received_ms: T0,
        },
    }
}

impl PageViewBuilder {
    pub fn context(
        mut self,
        device: DeviceClass,
        connection: ConnectionType,
        navigation: NavigationType,
    ) -> Self {
        self.accepted.batch.context = PageContext {
            navigation_type: navigation,
            device,
            connection,
            viewport_width: 400,
            viewport_height: 800,
        };
        self
    }

    pub fn browser(mut self, browser: &str) -> Self {
        self.accepted.browser = browser.into();
        self
    }

    pub fn vital(mut self, id: &str, name: VitalName, value: f64, ts: i64) -> Self {
        self.accepted.batch.vitals.push(VitalEvent {
            id: id.into(),
            ts: ts as f64,
            name,
            value,
            attribution: None,
        });
        self
    }

    pub fn vital_with_target(
        mut self,
        id: &str,
        name: VitalName,
        value: f64,
        ts: i64,
        target: &str,
    ) -> Self {
        self.accepted.batch.vitals.push(VitalEvent {
            id: id.into(),
            ts: ts as f64,
            name,
            value,
            attribution: Some(Attribution {
                target: Some(target.into()),
                ..Attribution::default()
            }),
        });
        self
    }

    pub fn call(
        mut self,
        id: &str,
        method: &str,
        path: &str,
        status: u16,
        duration: f64,
        ts: i64,
    ) -> Self {
        self.accepted.batch.api_calls.push(ApiCallEvent {
            id: id.into(),
            ts: ts as f64,
            method: method.into(),
            path: path.into(),
            status,
            duration,
            outcome: if status >= 400 {
                ApiOutcome::HttpError
            } else {
                ApiOutcome::Ok
            },
            response_size: Some(512),
            timing: None,
        });
        self
    }

    /// One event of each kind besides vitals and API calls.
    pub fn other_kinds(mut self, prefix: &str, ts: i64) -> Self {
        let b = &mut self.accepted.batch;
        let ts = ts as f64;
        b.long_frames.push(LongFrameEvent {
            id: format!("{prefix}-frame"),
            ts,
            duration: 120.0,
            blocking_duration: 70.0,
            script: Some("https://cdn.example/app.js".into()),
        });
        b.custom_metrics.push(CustomMetricEvent {
            id: format!("{prefix}-metric"),
            ts,
            name: "checkout.render".into(),
            value: 42.0,
            meta: [("step".to_string(), "2".to_string())].into(),
        });
        b.assets.push(AssetEvent {
            id: format!("{prefix}-asset"),
            ts,
            kind: AssetKind::Script,
            url: "https://cdn.example/app.js".into(),
            transfer_size: 1000,
            decoded_size: 4000,
        });
        b.memory.push(MemoryEvent {
            id: format!("{prefix}-memory"),
            ts,
            used_js_heap: 10,
            total_js_heap: 20,
            js_heap_limit: 40,
        });
        self
    }

    pub fn build(self) -> AcceptedBatch {
        self.accepted
    }
}

/// Deterministic values with a long tail, like real vitals: `n` of them, from `seed`.
pub fn long_tail(n: usize, seed: u64, median: f64) -> Vec<f64> {
    let mut state = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let unit = ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
            // Log-logistic: median `median`, heavy right tail.
            (median * (unit / (1.0 - unit)).powf(0.6) * 1000.0).round() / 1000.0
        })
        .collect()
}

/// Nearest-rank percentile of unsorted, non-empty `values`: computed here, not by the
/// code under test.
pub fn exact(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    perfscope_server::store::sketch::nearest_rank(&sorted, p).expect("non-empty")
}

#[track_caller]
pub fn assert_close(what: &str, got: Option<f64>, exact: f64) {
    let got = got.unwrap_or_else(|| panic!("{what}: no value, exact is {exact}"));
    assert!(
        (got - exact).abs() <= 0.01 * exact.abs(),
        "{what}: {got} is not within 1 % of the exact {exact}"
    );
}
