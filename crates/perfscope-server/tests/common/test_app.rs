//! The collector's router in-process over a temporary SQLite store, with the write
//! queue and monitoring wired as `perfscope serve` wires them.

use axum::extract::connect_info::MockConnectInfo;
use axum::Router;
use perfscope_model::Limits;
use perfscope_server::monitoring::Monitoring;
use perfscope_server::rate_limit::IngestRateLimits;
use perfscope_server::store::{SqliteStore, Store};
use perfscope_server::write_queue::WriteQueue;
use perfscope_server::{app, AppState, Config};
use std::net::SocketAddr;
use std::sync::Arc;

pub struct TestApp {
    pub router: Router,
    pub monitoring: Arc<Monitoring>,
    /// Holds the database, dashboard and tracker directories for the test's lifetime.
    pub dir: tempfile::TempDir,
}

impl TestApp {
    /// The default configuration with every path inside a fresh temporary directory,
    /// then whatever `configure` changes.
    pub fn with(configure: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.storage.path = dir.path().join("perfscope.db");
        config.dashboard_dir = dir.path().join("dashboard");
        config.tracker_dir = dir.path().join("tracker");
        configure(&mut config);
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open_with(&config.storage.path, config.cardinality).unwrap());
        let monitoring = Monitoring::open(&config).unwrap();
        let (queue, _writer) = WriteQueue::start_with_listener(
            Arc::clone(&store),
            64,
            Some(monitoring.commit_listener()),
        );
        let router = app(AppState {
            rate_limits: Arc::new(IngestRateLimits::new(&config.ingest.rate_limit)),
            config: Arc::new(config),
            store,
            queue,
            limits: Arc::new(Limits::default()),
            monitoring: Arc::clone(&monitoring),
        })
        // Requests that name no peer of their own come from here.
        .layer(MockConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
        TestApp {
            router,
            monitoring,
            dir,
        }
    }
}
