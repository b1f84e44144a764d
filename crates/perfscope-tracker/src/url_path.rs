//! Reducing URLs to the route the collector groups API calls and pages by: the bare path,
//! ids replaced by placeholders, or the first configured pattern that matches.

use perfscope_model::Limits;

/// Query strings and fragments carry ids and tokens, never the endpoint's identity.
pub fn strip_query_and_fragment(url: &str) -> &str {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    &url[..end]
}

/// The path of an absolute (`https://host/p`), scheme-relative (`//host/p`) or root-relative
/// (`/p`) URL. `None` for references relative to the document, which need a base: the
/// browser's `URL` does that resolution, this is only the fallback for when it cannot.
pub fn path_of(url: &str) -> Option<String> {
    let url = strip_query_and_fragment(url.trim());
    let after_authority = |rest: &str| match rest.find('/') {
        Some(slash) => rest[slash..].to_owned(),
        None => "/".to_owned(),
    };
    if let Some(rest) = url.strip_prefix("//") {
        return Some(after_authority(rest));
    }
    if url.starts_with('/') {
        return Some(url.to_owned());
    }
    // A scheme holds no ':', so the first one must start "://". Searching for a char, not
    // a str, keeps the substring searcher out of the wasm.
    let (scheme, rest) = url.split_once(':')?;
    let rest = rest.strip_prefix("//")?;
    let is_scheme = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    is_scheme.then(|| after_authority(rest))
}

/// Makes `location.pathname` fit the batch's `page` field even on odd documents
/// (`about:blank` has the pathname `blank`), rather than losing every batch to one field.
pub fn page_path(pathname: &str) -> String {
    let mut page: String = strip_query_and_fragment(pathname)
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if !page.starts_with('/') {
        page.insert(0, '/');
    }
    let max = Limits::default().max_path_len;
    if page.len() > max {
        let mut cut = max;
        while !page.is_char_boundary(cut) {
            cut -= 1;
        }
        page.truncate(cut);
    }
    page
}

/// A site's own route shape, e.g. `/blog/:slug` or `/docs/*`: `:name` stands for one
/// segment, a final `*` for any rest (including nothing). Written as the route name
/// when it matches, so the site chooses how its pages group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutePattern(String);

impl RoutePattern {
    /// `None` for patterns that are not absolute paths.
    pub fn new(pattern: &str) -> Option<RoutePattern> {
        let pattern = pattern.trim();
        pattern
            .starts_with('/')
            .then(|| RoutePattern(pattern.to_owned()))
    }

    /// A comma-separated list, as in `data-route-patterns`; invalid entries are skipped.
    pub fn parse_list(list: &str) -> Vec<RoutePattern> {
        list.split(',').filter_map(RoutePattern::new).collect()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn matches(&self, path: &str) -> bool {
        let mut wanted = self.0.split('/');
        let mut actual = path.split('/');
        loop {
            match (wanted.next(), actual.next()) {
                (Some("*"), _) => return wanted.next().is_none(),
                (None, None) => return true,
                (Some(w), Some(a)) if w == a || (w.starts_with(':') && !a.is_empty()) => {}
                _ => return false,
            }
        }
    }
}

/// The placeholder for a path segment that is an id: all digits, a UUID, or a long hex
/// string (hashes, object ids). Words stay, so `/users/me` remains itself.
fn id_placeholder(segment: &str) -> Option<&'static str> {
    let is_hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
    if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
        return Some(":id");
    }
    let parts: Vec<&str> = segment.split('-').collect();
    let uuid_shape = parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12]);
    if uuid_shape && parts.iter().all(|p| is_hex(p)) {
        return Some(":uuid");
    }
    // Sixteen or more hex digits with at least one digit: not an English word.
    if segment.len() >= 16 && is_hex(segment) && segment.bytes().any(|b| b.is_ascii_digit()) {
        return Some(":hash");
    }
    None
}

/// The route name of a path: query and fragment gone, the first matching pattern if
/// any, otherwise every id segment replaced by its placeholder.
pub fn route_of(path: &str, patterns: &[RoutePattern]) -> String {
    let path = strip_query_and_fragment(path);
    if let Some(pattern) = patterns.iter().find(|p| p.matches(path)) {
        return pattern.as_str().to_owned();
    }
    let mut route = String::with_capacity(path.len());
    for (n, segment) in path.split('/').enumerate() {
        if n > 0 {
            route.push('/');
        }
        route.push_str(id_placeholder(segment).unwrap_or(segment));
    }
    route
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_uuids_and_hashes_become_placeholders() {
        assert_eq!(route_of("/users/123", &[]), "/users/:id");
        assert_eq!(
            route_of("/users/123/orders/9?x=1#f", &[]),
            "/users/:id/orders/:id"
        );
        assert_eq!(
            route_of("/o/3f2b8c1e-0a4d-4b6e-9c2f-7d1e5a6b8c9d/items", &[]),
            "/o/:uuid/items"
        );
        assert_eq!(route_of("/blob/0123456789abcdef0123", &[]), "/blob/:hash");
        assert_eq!(route_of("/users/me", &[]), "/users/me");
        assert_eq!(
            route_of("/deadbeefdeadbeefcafe", &[]),
            "/deadbeefdeadbeefcafe"
        );
        assert_eq!(route_of("/v2/", &[]), "/v2/");
        assert_eq!(route_of("/", &[]), "/");
    }

    #[test]
    fn configured_patterns_win_over_id_templating() {
        let patterns = RoutePattern::parse_list("/blog/:slug, /docs/*,not-a-path,");
        assert_eq!(patterns.len(), 2);
        assert_eq!(route_of("/blog/hello-world", &patterns), "/blog/:slug");
        assert_eq!(
            route_of("/blog/hello/comments", &patterns),
            "/blog/hello/comments"
        );
        assert_eq!(route_of("/blog/", &patterns), "/blog/");
        assert_eq!(route_of("/docs", &patterns), "/docs/*");
        assert_eq!(route_of("/docs/", &patterns), "/docs/*");
        assert_eq!(route_of("/docs/a/b/12", &patterns), "/docs/*");
        assert_eq!(route_of("/users/42", &patterns), "/users/:id");
    }

    #[test]
    fn query_and_fragment_are_dropped() {
        assert_eq!(strip_query_and_fragment("/a/b?x=1#top"), "/a/b");
        assert_eq!(strip_query_and_fragment("/a/b#top?x=1"), "/a/b");
        assert_eq!(strip_query_and_fragment("/a/b"), "/a/b");
        assert_eq!(strip_query_and_fragment("?x"), "");
    }

    #[test]
    fn paths_come_out_of_absolute_and_rooted_urls() {
        assert_eq!(
            path_of("https://api.example.com/v1/users?id=3").as_deref(),
            Some("/v1/users")
        );
        assert_eq!(path_of("http://127.0.0.1:8080").as_deref(), Some("/"));
        assert_eq!(path_of("http://h:1?q=1").as_deref(), Some("/"));
        assert_eq!(
            path_of("//cdn.example/x.json#f").as_deref(),
            Some("/x.json")
        );
        assert_eq!(path_of("/api/items?page=2").as_deref(), Some("/api/items"));
    }

    #[test]
    fn document_relative_urls_need_a_base() {
        assert_eq!(path_of("api/items"), None);
        assert_eq!(path_of("../x"), None);
        assert_eq!(path_of("1http://x/y"), None);
    }

    #[test]
    fn page_paths_are_always_acceptable() {
        assert_eq!(page_path("/performance"), "/performance");
        assert_eq!(page_path("blank"), "/blank");
        assert_eq!(page_path("/a\u{7}b"), "/ab");
        let long = format!("/{}", "é".repeat(600));
        let page = page_path(&long);
        assert!(page.len() <= 1024);
        assert!(page.starts_with("/é"));
        assert!(perfscope_model::is_url_path(
            &page,
            perfscope_model::Limits::default().max_path_len
        ));
    }
}
