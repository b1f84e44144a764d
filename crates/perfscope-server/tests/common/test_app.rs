//! The collector's router in-process over a temporary SQLite store, with the write
//! queue and monitoring wired as `perfscope serve` wires them.

use axum::body::{Body, Bytes};
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use perfscope_model::Limits;
use perfscope_server::monitoring::Monitoring;
use perfscope_server::rate_limit::IngestRateLimits;
use perfscope_server::store::{SqliteStore, Store};
use perfscope_server::write_queue::WriteQueue;
use perfscope_server::{app, AppState, Config};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use tower::ServiceExt;

/// One response, read to the end.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The `Content-Type` header, or empty.
    pub fn content_type(&self) -> String {
        self.headers
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }

    /// The body as JSON, or `Null` when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

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

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body,
        }
    }
}
