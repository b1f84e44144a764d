//! The built dashboard under `/performance` and the standalone tracker under `/tracker`.
//! The dashboard's files are served from the brotli or gzip copies the build wrote
//! beside them, with cache headers that let a browser keep fingerprinted files for good.

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
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
    let index = ServeFile::new(dir.join("index.html"))
        .precompressed_br()
        .precompressed_gzip();
    let spa = ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(index);
    Router::new()
        .nest_service("/performance", spa)
        .layer(middleware::from_fn(cache_headers))
}

pub fn tracker<S: Clone + Send + Sync + 'static>(dir: &Path) -> Router<S> {
    if !dir.join("perfscope.js").exists() {
        tracing::warn!(
            dir = %dir.display(),
            "standalone tracker not built; `cargo xtask run` builds it"
        );
    }
    // Its names carry no fingerprint (pages embed a fixed URL), so caching is left to
    // the browser's Last-Modified heuristics; responses are compressed on the fly.
    Router::new().nest_service("/tracker", ServeDir::new(dir))
}

const FOREVER: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// Fingerprinted dashboard files never change under their name, so browsers keep them a
/// year without asking; everything else (index.html, which names the current
/// fingerprints) is asked for again each time, answered 304 while unchanged.
async fn cache_headers(request: Request, next: Next) -> Response {
    let fingerprinted = is_fingerprinted(request.uri().path());
    let mut response = next.run(request).await;
    if !response.status().is_success() && response.status().as_u16() != 304 {
        return response;
    }
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let policy = if fingerprinted && !is_html {
        FOREVER
    } else {
        REVALIDATE
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    // The same URL answers brotli, gzip or plain bytes depending on Accept-Encoding.
    if !headers.contains_key(header::VARY) {
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

/// Whether a path names a file whose name carries a content hash, as Trunk writes them:
/// `main-7e734f733005fd31.css`, `perfscope-dashboard-f71c947b8d84f7a1_bg.wasm`, or any file
/// under such a directory (`snippets/perfscope-tracker-474740ec04c90a7c/inline0.js`).
pub fn is_fingerprinted(path: &str) -> bool {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let Some((file, directories)) = segments.split_last() else {
        return false;
    };
    let stem = match file.split_once('.') {
        Some((stem, _extension)) => stem,
        None => return false,
    };
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    ends_with_hash(stem) || directories.iter().any(|dir| ends_with_hash(dir))
}

/// `name-<16 hex digits>`.
fn ends_with_hash(name: &str) -> bool {
    name.rsplit_once('-').is_some_and(|(before, hash)| {
        !before.is_empty() && hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

#[cfg(test)]
mod tests {
    use super::{dashboard, is_fingerprinted};
    use axum::body::Body;
    use axum::http::{header, Request, StatusCode};
    use tower::ServiceExt;

    async fn get(
        dir: &std::path::Path,
        path: &str,
        encoding: &str,
    ) -> (StatusCode, axum::http::HeaderMap) {
        let request = Request::get(path)
            .header(header::ACCEPT_ENCODING, encoding)
            .body(Body::empty())
            .unwrap();
        let response = dashboard::<()>(dir).oneshot(request).await.unwrap();
        (response.status(), response.headers().clone())
    }

    #[tokio::test]
    async fn compressed_copies_are_served_and_fingerprinted_files_kept_for_good() {
        let dir = tempfile::tempdir().unwrap();
        let css = "main-7e734f733005fd31.css";
        std::fs::write(dir.path().join(css), "body { margin: 0 }").unwrap();
        std::fs::write(dir.path().join(format!("{css}.br")), "brotli bytes").unwrap();
        std::fs::write(dir.path().join("index.html"), "<!doctype html>").unwrap();
        std::fs::write(dir.path().join("index.html.gz"), "gzip bytes").unwrap();

        let (status, headers) = get(dir.path(), &format!("/performance/{css}"), "br").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_ENCODING], "br");
        assert_eq!(headers[header::CONTENT_TYPE], "text/css");
        assert_eq!(
            headers[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(headers[header::VARY], "accept-encoding");

        // Without a copy in an accepted encoding, the file itself.
        let (_, headers) = get(dir.path(), &format!("/performance/{css}"), "gzip").await;
        assert!(headers.get(header::CONTENT_ENCODING).is_none());

        // A deep link is index.html, asked for again each time.
        let (status, headers) = get(dir.path(), "/performance/pages/detail", "gzip").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
        assert!(headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    }

    #[test]
    fn trunk_output_names_are_fingerprinted() {
        for path in [
            "/performance/main-7e734f733005fd31.css",
            "/performance/perfscope-dashboard-f71c947b8d84f7a1.js",
            "/performance/perfscope-dashboard-f71c947b8d84f7a1_bg.wasm",
            "/performance/snippets/perfscope-tracker-474740ec04c90a7c/inline0.js",
        ] {
            assert!(is_fingerprinted(path), "{path}");
        }
    }

    #[test]
    fn pages_and_plain_files_are_not() {
        for path in [
            "/performance/",
            "/performance",
            "/performance/index.html",
            "/performance/pages/detail",
            "/performance/public/favicon.svg",
            "/performance/main-7e734f733005fd3.css",
            "/performance/main-7e734f733005fd3z.css",
            "/performance/-7e734f733005fd31.css",
        ] {
            assert!(!is_fingerprinted(path), "{path}");
        }
    }
}
