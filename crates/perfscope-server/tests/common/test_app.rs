//! The collector's router in-process over a temporary SQLite store, with the write
//! queue and monitoring wired as `perfscope serve` wires them.

use axum::body::{Body, Bytes};
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use perfscope_model::{Limits, LOGIN_PATH};
use perfscope_server::auth::Auth;
use perfscope_server::monitoring::Monitoring;
use perfscope_server::rate_limit::IngestRateLimits;
use perfscope_server::store::{SqliteStore, Store};
use perfscope_server::write_queue::WriteQueue;
use perfscope_server::{app, AppState, Config};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

/// The admin password every `TestApp` is configured with.
pub const ADMIN_PASSWORD: &str = "test-admin-password";

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
    /// `perfscope_session=…` once [`TestApp::login`] has signed in.
    session: Mutex<Option<String>>,
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
        config.auth.admin_password = Some(ADMIN_PASSWORD.to_string());
        configure(&mut config);
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open_with(&config.storage.path, config.cardinality).unwrap());
        let monitoring = Monitoring::open(&config).unwrap();
        // After the store: it refuses a database file that already holds other tables.
        let (auth, _) = Auth::open(&config).unwrap();
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
            auth,
        })
        // Requests that name no peer of their own come from here.
        .layer(MockConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
        TestApp {
            router,
            monitoring,
            dir,
            session: Mutex::new(None),
        }
    }

    /// Signs in as the admin through `POST /api/v1/auth/login` and returns the
    /// `perfscope_session=…` pair to send as a `Cookie` header.
    pub async fn login(&self) -> String {
        if let Some(cookie) = self.session.lock().unwrap().clone() {
            return cookie;
        }
        let request = Request::post(LOGIN_PATH)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                serde_json::json!({"username": "admin", "password": ADMIN_PASSWORD}).to_string(),
            ))
            .unwrap();
        let reply = self.send(request).await;
        assert_eq!(reply.status, StatusCode::OK, "login: {}", reply.text());
        let cookie = session_cookie(&reply.headers).expect("login sets the session cookie");
        *self.session.lock().unwrap() = Some(cookie.clone());
        cookie
    }

    /// `send`, signed in as the admin (read APIs answer 401 otherwise).
    pub async fn send_signed_in(&self, mut request: Request<Body>) -> Reply {
        let cookie = self.login().await;
        request
            .headers_mut()
            .insert(header::COOKIE, cookie.parse().unwrap());
        self.send(request).await
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

/// The `name=value` pair of the session cookie a response sets, if it sets one.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter(|v| v.starts_with("perfscope_session="))
        .map(|v| v.split(';').next().unwrap().to_string())
        .next()
}
