//! Reducing URLs to the bare path the collector groups API calls and pages by.

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
    let (scheme, rest) = url.split_once("://")?;
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

#[cfg(test)]
mod tests {
    use super::*;

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
