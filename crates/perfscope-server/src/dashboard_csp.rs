//! The dashboard's security headers: a strict Content-Security-Policy on its HTML, whose
//! `script-src` admits Trunk's inline loader by the SHA-256 of its text, plus `nosniff`
//! and a `Referrer-Policy` on every dashboard file.

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use scraper::{Html, Selector};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// Everything but the inline scripts' hashes, which depend on the build.
const FIXED_DIRECTIVES: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The policy for one `index.html`: its inline scripts allowed by hash, nothing else
/// inline.
pub fn policy_for(html: &str) -> String {
    let mut script_src = String::from("script-src 'self' 'wasm-unsafe-eval'");
    for hash in inline_script_hashes(html) {
        script_src.push_str(&format!(" 'sha256-{hash}'"));
    }
    format!("{FIXED_DIRECTIVES}; {script_src}")
}

/// Base64 SHA-256 of each `<script>` without `src`, over its text as the browser's
/// parser sees it (which is what CSP hashes).
fn inline_script_hashes(html: &str) -> Vec<String> {
    let document = Html::parse_document(html);
    let inline = Selector::parse("script:not([src])").expect("a valid selector");
    document
        .select(&inline)
        .map(|script| {
            let text: String = script.text().collect();
            STANDARD.encode(Sha256::digest(text.as_bytes()))
        })
        .collect()
}

/// The policy of the dashboard's current `index.html`: computed at start-up, and again
/// whenever a rebuild changes the file.
pub struct DashboardCsp {
    index: PathBuf,
    current: Mutex<Option<(SystemTime, HeaderValue)>>,
}

impl DashboardCsp {
    pub fn new(dashboard_dir: &Path) -> Arc<DashboardCsp> {
        let csp = Arc::new(DashboardCsp {
            index: dashboard_dir.join("index.html"),
            current: Mutex::new(None),
        });
        csp.header();
        csp
    }

    fn header(&self) -> HeaderValue {
        let modified = std::fs::metadata(&self.index)
            .and_then(|m| m.modified())
            .ok();
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let (Some((seen, value)), Some(modified)) = (current.as_ref(), modified) {
            if *seen == modified {
                return value.clone();
            }
        }
        // Without a built index.html there is no inline script to allow.
        let html = std::fs::read_to_string(&self.index).unwrap_or_default();
        let value = HeaderValue::from_str(&policy_for(&html)).expect("the policy is ASCII");
        if let Some(modified) = modified {
            *current = Some((modified, value.clone()));
        }
        value
    }
}

/// Middleware over the dashboard's files.
pub async fn add_headers(
    State(csp): State<Arc<DashboardCsp>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let headers = response.headers_mut();
    if is_html {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp.header());
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_hashed_and_external_ones_are_not() {
        let html = "<!doctype html><html><head>\
            <script type=\"module\">import init from '/x.js';\ninit();</script>\
            <script src=\"/performance/app.js\"></script>\
            </head><body><script>alert(1)</script></body></html>";
        let policy = policy_for(html);
        let first = STANDARD.encode(Sha256::digest(b"import init from '/x.js';\ninit();"));
        let second = STANDARD.encode(Sha256::digest(b"alert(1)"));
        assert!(policy.contains(&format!("'sha256-{first}'")), "{policy}");
        assert!(policy.contains(&format!("'sha256-{second}'")), "{policy}");
        assert_eq!(policy.matches("'sha256-").count(), 2, "{policy}");
        assert!(policy.starts_with("default-src 'none';"));
        assert!(!policy.contains("unsafe-inline"));
        assert!(!policy.contains("'unsafe-eval'"));
    }

    #[test]
    fn without_a_build_only_files_from_self_may_run() {
        assert_eq!(
            policy_for(""),
            format!("{FIXED_DIRECTIVES}; script-src 'self' 'wasm-unsafe-eval'")
        );
    }
}
