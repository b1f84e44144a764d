//! Site keys and the browser origins each site accepts batches from.
//!
//! The key a tracker sends is public (it is in the page's HTML), so it identifies a site
//! rather than authenticating it; the origin allowlist is what keeps other web pages
//! from reporting in a site's name through their visitors' browsers.

use crate::config::SiteConfig;
use axum::http::{header, HeaderMap};
use perfscope_model::{is_key, MAX_SITE_LEN};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;

/// A site's public key: the alphabet and length the model accepts in a batch.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SiteKey(String);

impl SiteKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SiteKey {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        if is_key(&value, MAX_SITE_LEN) {
            Ok(SiteKey(value))
        } else {
            Err(format!(
                "site key `{value}`: 1 to {MAX_SITE_LEN} letters, digits, '-', '_' or '.'"
            ))
        }
    }
}

impl From<SiteKey> for String {
    fn from(key: SiteKey) -> String {
        key.0
    }
}

/// One entry of a site's origin allowlist, normalised the way browsers serialise an
/// `Origin` header: lower case, no trailing slash, no default port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum AllowedOrigin {
    /// `*`: any origin.
    Any,
    /// `https://shop.example`
    Exact(String),
    /// `https://*.shop.example`: any subdomain (not the domain itself), kept as the
    /// scheme and the `.shop.example` suffix.
    Subdomains { scheme: String, suffix: String },
}

impl AllowedOrigin {
    fn allows(&self, origin: &str) -> bool {
        match self {
            AllowedOrigin::Any => true,
            AllowedOrigin::Exact(exact) => exact == origin,
            AllowedOrigin::Subdomains { scheme, suffix } => origin
                .strip_prefix(scheme.as_str())
                .and_then(|rest| rest.strip_prefix("://"))
                .and_then(|host| host.strip_suffix(suffix.as_str()))
                .is_some_and(|sub| !sub.is_empty() && !sub.contains(['/', ':', '@'])),
        }
    }
}

impl TryFrom<String> for AllowedOrigin {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        let invalid = || {
            format!(
                "origin `{value}`: expected `*`, `scheme://host[:port]` or `scheme://*.host[:port]`"
            )
        };
        let trimmed = value.trim().trim_end_matches('/').to_ascii_lowercase();
        if trimmed == "*" {
            return Ok(AllowedOrigin::Any);
        }
        let (scheme, authority) = trimmed.split_once("://").ok_or_else(invalid)?;
        let scheme_ok = !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        let authority_ok = !authority.is_empty()
            && !authority.contains(['/', '?', '#', '@', ' '])
            && !authority.chars().any(char::is_control);
        if !scheme_ok || !authority_ok {
            return Err(invalid());
        }
        let authority = without_default_port(scheme, authority);
        match authority.strip_prefix("*.") {
            Some(domain) if !domain.is_empty() && !domain.contains('*') => {
                Ok(AllowedOrigin::Subdomains {
                    scheme: scheme.to_string(),
                    suffix: format!(".{domain}"),
                })
            }
            Some(_) => Err(invalid()),
            None if authority.contains('*') => Err(invalid()),
            None => Ok(AllowedOrigin::Exact(format!("{scheme}://{authority}"))),
        }
    }
}

fn without_default_port<'a>(scheme: &str, authority: &'a str) -> &'a str {
    match scheme {
        "https" => authority.strip_suffix(":443").unwrap_or(authority),
        "http" => authority.strip_suffix(":80").unwrap_or(authority),
        _ => authority,
    }
}

impl From<AllowedOrigin> for String {
    fn from(origin: AllowedOrigin) -> String {
        origin.to_string()
    }
}

impl fmt::Display for AllowedOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllowedOrigin::Any => f.write_str("*"),
            AllowedOrigin::Exact(origin) => f.write_str(origin),
            AllowedOrigin::Subdomains { scheme, suffix } => write!(f, "{scheme}://*{suffix}"),
        }
    }
}

/// Where a request says it comes from, as far as the origin check cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestOrigin<'a> {
    /// No `Origin` header: not a browser page (curl, a server, a test).
    Absent,
    /// A page the collector served itself (its `Origin` names the `Host` asked for).
    SameOrigin,
    /// A page from another origin, as the browser spelled it.
    Cross(&'a str),
}

impl<'a> RequestOrigin<'a> {
    pub fn of(headers: &'a HeaderMap) -> RequestOrigin<'a> {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return RequestOrigin::Absent;
        };
        // A header that is not visible ASCII matches no allowlist entry.
        let origin = origin.to_str().unwrap_or("\u{0}");
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        // The scheme is not compared: behind a TLS-terminating proxy the collector
        // cannot know it, and the host and port already name the server.
        let authority = origin.split_once("://").map(|(_, authority)| authority);
        match (authority, host) {
            (Some(authority), Some(host)) if authority.eq_ignore_ascii_case(host) => {
                RequestOrigin::SameOrigin
            }
            _ => RequestOrigin::Cross(origin),
        }
    }

    /// The value of the `Origin` header when the request came from another origin.
    pub fn cross(self) -> Option<&'a str> {
        match self {
            RequestOrigin::Cross(origin) => Some(origin),
            _ => None,
        }
    }
}

/// The configured sites, looked up by key on every batch.
pub struct Sites {
    by_key: HashMap<String, Vec<AllowedOrigin>>,
}

impl Sites {
    pub fn new(sites: &[SiteConfig]) -> Sites {
        Sites {
            by_key: sites
                .iter()
                .map(|site| (site.key.as_str().to_string(), site.origins.clone()))
                .collect(),
        }
    }

    pub fn is_known(&self, site: &str) -> bool {
        self.by_key.contains_key(site)
    }

    /// Whether a browser page at `origin` may send batches for `site`. `None` for an
    /// unknown site.
    pub fn allows(&self, site: &str, origin: RequestOrigin<'_>) -> Option<bool> {
        let allowlist = self.by_key.get(site)?;
        Some(match origin {
            RequestOrigin::Absent | RequestOrigin::SameOrigin => true,
            RequestOrigin::Cross(origin) => allowlist.iter().any(|a| a.allows(origin)),
        })
    }

    /// Whether any site accepts `origin`: the answer to a preflight or an early error,
    /// when the request's site is not known yet.
    pub fn any_allows(&self, origin: RequestOrigin<'_>) -> bool {
        match origin {
            RequestOrigin::Absent | RequestOrigin::SameOrigin => true,
            RequestOrigin::Cross(origin) => self
                .by_key
                .values()
                .flatten()
                .any(|allowed| allowed.allows(origin)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn origin(value: &str) -> AllowedOrigin {
        AllowedOrigin::try_from(value.to_string()).unwrap()
    }

    fn site(key: &str, origins: &[&str]) -> SiteConfig {
        SiteConfig {
            key: SiteKey::try_from(key.to_string()).unwrap(),
            origins: origins.iter().map(|o| origin(o)).collect(),
        }
    }

    #[test]
    fn origins_are_normalised_like_browsers_send_them() {
        assert_eq!(
            origin("HTTPS://Shop.Example:443/"),
            AllowedOrigin::Exact("https://shop.example".into())
        );
        assert_eq!(
            origin("http://localhost:8080"),
            AllowedOrigin::Exact("http://localhost:8080".into())
        );
        assert_eq!(origin(" * "), AllowedOrigin::Any);
        for bad in [
            "shop.example",
            "https://",
            "https://shop.example/path",
            "https://user@shop.example",
            "https://*",
            "https://a.*.example",
            "ht tp://x",
            "",
        ] {
            assert!(
                AllowedOrigin::try_from(bad.to_string()).is_err(),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn subdomain_patterns_match_subdomains_only() {
        let pattern = origin("https://*.shop.example");
        assert!(pattern.allows("https://www.shop.example"));
        assert!(pattern.allows("https://a.b.shop.example"));
        assert!(!pattern.allows("https://shop.example"));
        assert!(!pattern.allows("http://www.shop.example"));
        assert!(!pattern.allows("https://evilshop.example"));
        assert!(!pattern.allows("https://www.shop.example.evil"));
        assert!(!pattern.allows("https://x@y.shop.example"));
    }

    #[test]
    fn each_site_accepts_its_own_origins_and_the_collectors() {
        let sites = Sites::new(&[
            site("shop", &["https://shop.example"]),
            site("blog", &["https://blog.example", "https://*.blog.example"]),
        ]);
        let shop = RequestOrigin::Cross("https://shop.example");
        assert_eq!(sites.allows("shop", shop), Some(true));
        assert_eq!(sites.allows("blog", shop), Some(false));
        assert_eq!(sites.allows("nope", shop), None);
        assert_eq!(sites.allows("blog", RequestOrigin::SameOrigin), Some(true));
        assert_eq!(sites.allows("blog", RequestOrigin::Absent), Some(true));
        assert!(sites.any_allows(RequestOrigin::Cross("https://en.blog.example")));
        assert!(!sites.any_allows(RequestOrigin::Cross("https://evil.example")));
        assert!(!sites.any_allows(RequestOrigin::Cross("null")));
    }

    #[test]
    fn same_origin_is_the_host_the_request_was_sent_to() {
        let mut headers = HeaderMap::new();
        assert_eq!(RequestOrigin::of(&headers), RequestOrigin::Absent);
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert_eq!(RequestOrigin::of(&headers), RequestOrigin::SameOrigin);
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8081"),
        );
        assert_eq!(
            RequestOrigin::of(&headers),
            RequestOrigin::Cross("http://127.0.0.1:8081")
        );
        headers.remove(header::HOST);
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert_eq!(
            RequestOrigin::of(&headers),
            RequestOrigin::Cross("http://127.0.0.1:8080")
        );
    }
}
