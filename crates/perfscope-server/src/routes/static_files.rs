//! The built dashboard under `/performance` and the standalone tracker under `/tracker`.

use axum::Router;
use std::path::Path;
use tower_http::services::{ServeDir, ServeFile};

/// Deep links such as `/performance/pages/x` are client-side routes: any path that is
/// not a built file gets `index.html` with 200 and the dashboard's router takes over.
pub fn dashboard<S: Clone + Send + Sync + 'static>(dir: &Path) -> Router<S> {
    if !dir.join("index.html").exists() {
        tracing::warn!(
            dir = %dir.display(),
            "dashboard not built; `cargo xtask run` builds it"
        );
    }
    let spa = ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")));
    Router::new().nest_service("/performance", spa)
}

pub fn tracker<S: Clone + Send + Sync + 'static>(dir: &Path) -> Router<S> {
    if !dir.join("perfscope.js").exists() {
        tracing::warn!(
            dir = %dir.display(),
            "standalone tracker not built; `cargo xtask run` builds it"
        );
    }
    Router::new().nest_service("/tracker", ServeDir::new(dir))
}
