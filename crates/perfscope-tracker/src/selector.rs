//! CSS selectors that name the element behind a vital (LCP element, INP target, largest
//! layout shift), built from the element up towards the root the way `web-vitals`'
//! attribution build names them, but never longer than the collector accepts.

/// One step of the path: `#id` when the element has an id (which ends the walk, ids
/// being unique), otherwise `tag.classA.classB` with the classes sorted.
pub fn element_part(node_name: &str, is_element: bool, id: &str, classes: &[String]) -> String {
    if !id.is_empty() {
        let mut part = String::with_capacity(id.len() + 1);
        part.push('#');
        part.push_str(id);
        return part;
    }
    let mut part = if is_element {
        node_name.to_ascii_lowercase()
    } else {
        // Text and other nodes: `#text` becomes `TEXT`.
        node_name.trim_start_matches('#').to_ascii_uppercase()
    };
    // Sorted by insertion: elements have a few classes, and sort code costs wasm size.
    let mut sorted: Vec<&str> = Vec::with_capacity(classes.len());
    for class in classes.iter().map(String::as_str).filter(|c| !c.is_empty()) {
        let at = sorted
            .iter()
            .position(|sorted_class| *sorted_class > class)
            .unwrap_or(sorted.len());
        sorted.insert(at, class);
    }
    for class in sorted {
        part.push('.');
        part.push_str(class);
    }
    part
}

/// A selector grown from the element outwards, one ancestor at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectorPath {
    text: String,
    max_len: usize,
    done: bool,
}

impl SelectorPath {
    /// `max_len` in bytes, as `Limits::max_selector_len` counts them.
    pub fn new(max_len: usize) -> SelectorPath {
        SelectorPath {
            text: String::new(),
            max_len,
            done: max_len == 0,
        }
    }

    /// Adds the next ancestor's part in front; `false` once the path is complete (an id
    /// was reached, or another part would not fit) and the walk should stop.
    pub fn prepend(&mut self, part: &str, is_id: bool) -> bool {
        if self.done || part.is_empty() {
            return !self.done;
        }
        if self.text.is_empty() {
            // A single part longer than the cap is shortened rather than dropped: the
            // element's own name is the most useful bit.
            self.text = truncated(part, self.max_len).to_string();
            self.done = is_id || part.len() > self.max_len;
            return !self.done;
        }
        // `part>` in front must still fit.
        if self.text.len() + part.len() + 1 > self.max_len {
            self.done = true;
            return false;
        }
        let mut longer = String::with_capacity(self.text.len() + part.len() + 1);
        longer.push_str(part);
        longer.push('>');
        longer.push_str(&self.text);
        self.text = longer;
        self.done = is_id;
        !self.done
    }

    /// The selector, or `None` if no part was added.
    pub fn finish(self) -> Option<String> {
        (!self.text.is_empty()).then_some(self.text)
    }
}

/// The longest prefix of `text` of at most `max_len` bytes that ends on a char boundary.
fn truncated(text: &str, max_len: usize) -> &str {
    if text.len() <= max_len {
        return text;
    }
    let mut end = max_len;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfscope_model::{is_text, Limits};

    fn classes(list: &[&str]) -> Vec<String> {
        list.iter().map(|c| c.to_string()).collect()
    }

    fn path(parts: &[(&str, bool)], max_len: usize) -> Option<String> {
        let mut selector = SelectorPath::new(max_len);
        for (part, is_id) in parts {
            if !selector.prepend(part, *is_id) {
                break;
            }
        }
        selector.finish()
    }

    #[test]
    fn parts_use_the_id_or_the_tag_with_sorted_classes() {
        assert_eq!(element_part("IMG", true, "hero", &classes(&["b"])), "#hero");
        assert_eq!(
            element_part("DIV", true, "", &classes(&["zeta", "alpha", ""])),
            "div.alpha.zeta"
        );
        assert_eq!(element_part("P", true, "", &[]), "p");
        assert_eq!(element_part("#text", false, "", &[]), "TEXT");
        assert_eq!(
            element_part("svg", true, "", &classes(&["icon"])),
            "svg.icon"
        );
    }

    #[test]
    fn the_walk_stops_at_the_first_id() {
        let parts = [
            ("img", false),
            ("div.card", false),
            ("#main", true),
            ("body", false),
        ];
        assert_eq!(path(&parts, 256).as_deref(), Some("#main>div.card>img"));
    }

    #[test]
    fn without_ids_the_walk_reaches_the_root() {
        let parts = [("p", false), ("body", false), ("html", false)];
        assert_eq!(path(&parts, 256).as_deref(), Some("html>body>p"));
    }

    #[test]
    fn an_element_with_an_id_is_named_by_it_alone() {
        assert_eq!(
            path(&[("#button", true), ("body", false)], 256).as_deref(),
            Some("#button")
        );
    }

    #[test]
    fn ancestors_that_do_not_fit_are_left_out() {
        let parts = [
            ("span.label", false),
            ("div.row", false),
            ("section", false),
        ];
        // "div.row>span.label" is 18 bytes; "section>" would make 26.
        assert_eq!(path(&parts, 20).as_deref(), Some("div.row>span.label"));
        assert_eq!(
            path(&parts, 26).as_deref(),
            Some("section>div.row>span.label")
        );
        assert_eq!(path(&parts, 25).as_deref(), Some("div.row>span.label"));
    }

    #[test]
    fn an_overlong_single_part_is_shortened_never_exceeding_the_cap() {
        let long = "div.".to_string() + &"x".repeat(400);
        let selector = path(&[(long.as_str(), false), ("body", false)], 256).unwrap();
        assert_eq!(selector.len(), 256);
        assert!(long.starts_with(&selector));
    }

    #[test]
    fn shortening_respects_multibyte_characters() {
        let part = "#".to_string() + &"é".repeat(10); // 21 bytes
        let selector = path(&[(part.as_str(), true)], 6).unwrap();
        assert_eq!(selector, "#éé");
        assert!(selector.len() <= 6);
    }

    #[test]
    fn nothing_added_means_no_selector() {
        assert_eq!(path(&[], 256), None);
        assert_eq!(path(&[("", false)], 256), None);
        assert_eq!(path(&[("div", false)], 0), None);
    }

    #[test]
    fn every_selector_is_acceptable_to_the_collector() {
        let limits = Limits::default();
        let deep: Vec<(String, bool)> = (0..100)
            .map(|i| {
                (
                    element_part("DIV", true, "", &classes(&["level", &i.to_string()])),
                    false,
                )
            })
            .collect();
        let mut selector = SelectorPath::new(limits.max_selector_len);
        for (part, is_id) in &deep {
            if !selector.prepend(part, *is_id) {
                break;
            }
        }
        let selector = selector.finish().unwrap();
        assert!(selector.len() <= limits.max_selector_len);
        assert!(is_text(&selector, limits.max_selector_len));
        assert!(selector.ends_with("div.0.level"));
    }
}
