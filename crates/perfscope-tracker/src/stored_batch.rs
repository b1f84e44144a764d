//! How unacknowledged batches are laid out in `localStorage`, so a later page view of the
//! same site finds and sends them.
//!
//! One storage entry per batch (`perfscope:<site>:b:<key>`), not one list: several tabs of
//! a site write at once, and per-entry writes cannot overwrite each other's batches. The
//! key starts with the zero-padded wall-clock time so that sorting keys sends the oldest
//! first. The value is `<event count>\n<JSON body>`; JSON never holds a raw newline.

use crate::json::push_uint;

const PREFIX: &str = "perfscope:";

fn site_prefix(site: &str) -> String {
    let mut prefix = String::with_capacity(PREFIX.len() + site.len() + 3);
    prefix.push_str(PREFIX);
    prefix.push_str(site);
    prefix.push_str(":b:");
    prefix
}

/// A batch's key: `<wall-clock ms, 15 digits>-<page view>-<seq>`, unique and ordered.
pub fn batch_key(wall_clock_ms: f64, page_view: &str, seq: u32) -> String {
    let mut digits = String::new();
    push_uint(&mut digits, wall_clock_ms.max(0.0) as u64);
    let mut key = "0".repeat(15usize.saturating_sub(digits.len()));
    key.push_str(&digits);
    key.push('-');
    key.push_str(page_view);
    key.push('-');
    push_uint(&mut key, u64::from(seq));
    key
}

/// The storage entry name of one batch of `site`.
pub fn entry_name(site: &str, key: &str) -> String {
    let mut name = site_prefix(site);
    name.push_str(key);
    name
}

/// The batch key in an entry name, if the entry is one of `site`'s batches.
pub fn key_of_entry<'a>(site: &str, entry_name: &'a str) -> Option<&'a str> {
    entry_name
        .strip_prefix(PREFIX)?
        .strip_prefix(site)?
        .strip_prefix(":b:")
        .filter(|key| !key.is_empty())
}

/// Where a site's count of events given up for lack of space is kept between page views.
pub fn lost_entry_name(site: &str) -> String {
    let mut name = String::from(PREFIX);
    name.push_str(site);
    name.push_str(":lost");
    name
}

pub fn encode(events: u32, body: &str) -> String {
    let mut value = String::with_capacity(body.len() + 8);
    push_uint(&mut value, u64::from(events));
    value.push('\n');
    value.push_str(body);
    value
}

/// `None` for anything this version did not write; such entries are removed, not sent.
pub fn decode(value: &str) -> Option<(u32, &str)> {
    let (count, body) = value.split_once('\n')?;
    let events = count.parse().ok()?;
    (body.starts_with('{') && body.ends_with('}')).then_some((events, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_by_time_and_stay_unique_per_batch() {
        let early = batch_key(1_700_000_000_000.0, "ab", 3);
        let late = batch_key(1_700_000_000_001.0, "aa", 0);
        assert_eq!(early, "001700000000000-ab-3");
        assert!(early < late);
        assert_ne!(batch_key(5.0, "ab", 1), batch_key(5.0, "ab", 2));
    }

    #[test]
    fn entries_belong_to_their_site_only() {
        let name = entry_name("shop", "001-ab-0");
        assert_eq!(name, "perfscope:shop:b:001-ab-0");
        assert_eq!(key_of_entry("shop", &name), Some("001-ab-0"));
        assert_eq!(key_of_entry("sho", &name), None);
        assert_eq!(key_of_entry("shop", "perfscope:shop:lost"), None);
        assert_eq!(key_of_entry("shop", "perfscope:shop:b:"), None);
        assert_eq!(key_of_entry("shop", "theme"), None);
        assert_eq!(lost_entry_name("shop"), "perfscope:shop:lost");
    }

    #[test]
    fn values_round_trip_and_foreign_ones_are_refused() {
        let value = encode(12, r#"{"site":"shop"}"#);
        assert_eq!(decode(&value), Some((12, r#"{"site":"shop"}"#)));
        assert_eq!(decode("12"), None);
        assert_eq!(decode("x\n{}"), None);
        assert_eq!(decode("3\nnot json"), None);
    }
}
