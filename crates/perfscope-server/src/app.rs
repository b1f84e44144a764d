//! The router: every route, its layers, and the state handlers share.

use crate::auth::Auth;
use crate::batch_decoder::BatchDecoder;
use crate::client_ip::ClientIp;
use crate::config::Config;
use crate::dashboard_csp::{self, DashboardCsp};
use crate::error::AppError;
use crate::monitoring::Monitoring;
use crate::rate_limit::IngestRateLimits;
use crate::routes::ingest::{IngestPolicy, IngestState};
use crate::routes::{alerts, auth, demo, export, ingest, monitor, query, static_files};
use crate::sites::Sites;
use crate::store::Store;
use crate::write_queue::WriteQueue;
use crate::{prometheus, recommendations, sources, stream};
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;
use perfscope_model::{Limits, INGEST_PATH, LOGIN_PATH, LOGOUT_PATH, SESSION_PATH};
use std::sync::Arc;
use std::time::Duration;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{Any, CorsLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub queue: WriteQueue,
    pub limits: Arc<Limits>,
    pub rate_limits: Arc<IngestRateLimits>,
    /// Query cache, monitoring series, alerts, metrics and live updates.
    pub monitoring: Arc<Monitoring>,
    /// The admin credential, sessions and the sign-in throttle.
    pub auth: Arc<Auth>,
}

/// Served only with `ingest.discard_route = true`, for benchmarks.
pub const DISCARD_PATH: &str = "/api/v1/ingest/discard";

/// No request of ours legitimately takes longer; a stuck one is cut off.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub fn app(state: AppState) -> Router {
    let ingest_config = &state.config.ingest;
    let policy = IngestPolicy {
        sites: Sites::new(&state.config.sites),
        client_ip: ClientIp::new(&ingest_config.trusted_proxies),
        decoder: BatchDecoder::new(
            &state.limits,
            ingest_config.max_events_per_batch,
            ingest_config.max_event_bytes,
            ingest_config.max_decompressed_bytes,
        ),
    };
    // CORS is answered by the handlers: which origins may send depends on the site,
    // and the site is only known from the request.
    let mut ingest_routes =
        Router::new().route(INGEST_PATH, post(ingest::ingest).options(ingest::preflight));
    if ingest_config.discard_route {
        ingest_routes = ingest_routes.route(DISCARD_PATH, post(ingest::discard));
    }
    let ingest_routes = ingest_routes
        .layer(DefaultBodyLimit::max(ingest_config.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            prometheus::count_ingest,
        ))
        .with_state(IngestState {
            app: state.clone(),
            policy: Arc::new(policy),
        });

    let auth_routes = Router::new()
        .route(LOGIN_PATH, post(auth::login))
        .route(LOGOUT_PATH, post(auth::logout))
        .route(SESSION_PATH, get(auth::session));

    // Everything below reads (or steers) what the beacons told us: admin only.
    let read_routes = Router::new()
        .route("/api/v1/summary", get(query::summary))
        .route("/api/v1/sites", get(query::sites))
        .route("/api/v1/endpoints", get(query::endpoints))
        .route("/api/v1/breakdown", get(query::breakdown))
        .route("/api/v1/series", get(query::series))
        .route("/api/v1/targets", get(query::targets))
        .route("/api/v1/samples", get(query::samples))
        .route("/api/v1/export.csv", get(export::export_csv))
        .route("/api/v1/stream", get(stream::stream))
        .route("/api/v1/cache/stats", get(monitor::cache_stats))
        .route("/api/v1/monitor/series", get(monitor::series))
        .route("/api/v1/monitor/names", get(monitor::names))
        .route(
            "/api/v1/recommendations",
            get(recommendations::recommendations),
        )
        .route("/api/v1/alerts", get(alerts::list))
        .route("/api/v1/alerts/history", get(alerts::history))
        .route("/api/v1/alerts/deliveries", get(alerts::deliveries))
        .route(
            "/api/v1/alerts/rules",
            get(alerts::rules).post(alerts::put_rule),
        )
        .route("/api/v1/alerts/rules/{id}", delete(alerts::delete_rule))
        .route(
            "/api/v1/alerts/{rule}/acknowledge",
            post(alerts::acknowledge),
        )
        .route(
            "/api/v1/alerts/{rule}/silence",
            put(alerts::silence).post(alerts::silence),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state.auth),
            crate::auth::require_session,
        ));

    // Prometheus scrapes with the configured bearer token instead of a session.
    let metrics_route = Router::new()
        .route("/metrics", get(prometheus::metrics))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state.auth),
            crate::auth::require_session_or_metrics_token,
        ));

    // Services prove themselves with their own bearer tokens.
    let source_routes = Router::new().route(
        "/api/v1/sources/{source}/samples",
        post(sources::post_samples),
    );

    // The dashboard's files are public (its data is not) and carry the CSP.
    let dashboard = static_files::dashboard(&state.config.dashboard_dir).layer(
        axum::middleware::from_fn_with_state(
            DashboardCsp::new(&state.config.dashboard_dir),
            dashboard_csp::add_headers,
        ),
    );

    Router::new()
        .merge(ingest_routes)
        .merge(auth_routes)
        .merge(read_routes)
        .merge(metrics_route)
        .merge(source_routes)
        .merge(demo::routes())
        .merge(dashboard)
        // Pages of every instrumented site load the tracker's module and wasm from
        // here, which a browser allows cross-origin only with CORS; they are public
        // files fetched without credentials, so any origin may read them.
        .merge(
            static_files::tracker(&state.config.tracker_dir)
                .layer(CorsLayer::new().allow_origin(Any)),
        )
        .route("/", get(|| async { Redirect::temporary("/performance/") }))
        .fallback(not_found)
        .with_state(state)
        .layer(CompressionLayer::new())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(TraceLayer::new_for_http())
}

async fn not_found(request: Request) -> Response {
    let path = request.uri().path();
    if path.starts_with("/api/") {
        AppError::NotFound(path.to_string()).into_response()
    } else {
        (
            StatusCode::NOT_FOUND,
            Html("<!doctype html><title>Not found</title><h1>Not found</h1><p><a href=\"/performance/\">Open the dashboard</a></p>"),
        )
            .into_response()
    }
}
