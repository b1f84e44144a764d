//! The perfscope collector as a library: `app` builds the router that `main` serves and
//! tests drive with `oneshot`.

pub mod alerts;
pub mod app;
pub mod auth;
pub mod batch_decoder;
pub mod cache;
pub mod client_ip;
pub mod clock;
pub mod commit_events;
pub mod config;
pub mod dashboard_csp;
pub mod demo_traffic;
pub mod error;
pub mod monitoring;
pub mod monitoring_config;
pub mod monitoring_tasks;
pub mod prometheus;
pub mod rate_limit;
pub mod recommendations;
pub mod redis_poller;
pub mod request_body;
pub mod routes;
pub mod sites;
pub mod sources;
pub mod store;
pub mod stream;
pub mod system;
pub mod timeseries;
pub mod user_agent;
pub mod write_queue;

pub use app::{app, AppState};
pub use config::Config;
pub use error::AppError;
