//! Page-view and event ids, in the key alphabet the collector accepts.

use crate::json::push_uint;
use perfscope_model::Limits;

/// Lower-case hex, two digits a byte.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// `{page_view}-{counter}`. The counter is what keeps ids unique within a page view, so
/// when the whole would be too long it is the page-view part that gets shortened.
pub fn event_id(page_view: &str, counter: u64) -> String {
    let mut suffix = String::from("-");
    push_uint(&mut suffix, counter);
    let room = Limits::default().max_id_len.saturating_sub(suffix.len());
    let mut id: String = page_view
        .chars()
        .filter(|&c| is_key_char(c))
        .take(room)
        .collect();
    id.push_str(&suffix);
    id
}

/// Hands out the ids of one page view's events, in order.
#[derive(Debug)]
pub struct EventIds {
    page_view: String,
    next: u64,
}

impl EventIds {
    pub fn new(page_view: impl Into<String>) -> Self {
        EventIds {
            page_view: page_view.into(),
            next: 0,
        }
    }

    pub fn next_id(&mut self) -> String {
        let id = event_id(&self.page_view, self.next);
        self.next += 1;
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_two_lower_case_digits_per_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(hex(&[7u8; 16]).len(), 32);
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn event_ids_count_up_within_a_page_view() {
        let mut ids = EventIds::new("0123abcd");
        assert_eq!(ids.next_id(), "0123abcd-0");
        assert_eq!(ids.next_id(), "0123abcd-1");
        assert_eq!(ids.next_id(), "0123abcd-2");
    }

    #[test]
    fn event_ids_stay_within_the_key_limit_and_keep_the_counter() {
        let long = "a".repeat(100);
        let id = event_id(&long, u64::MAX);
        assert_eq!(id.len(), 64);
        assert!(id.ends_with(&format!("-{}", u64::MAX)));
        let page_view = hex(&[0xab; 16]);
        assert_eq!(event_id(&page_view, 12), format!("{page_view}-12"));
    }

    #[test]
    fn event_ids_only_use_key_characters() {
        let id = event_id("pv/with spaces+ü", 3);
        assert_eq!(id, "pvwithspaces-3");
        assert!(id.chars().all(is_key_char));
    }
}
