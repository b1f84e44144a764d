//! Exact deduplication of API call ids shaped like the tracker's, `{page_view}-{counter}`:
//! the counters stored under one prefix are one set of ranges, one row per prefix.
//!
//! A row per id in a B-tree made dedup cost one random insert per event. The tracker
//! numbers a page view's events from 0 up, so the counters a page view has stored
//! collapse into a few ranges, and a commit reads and writes one row per page view it
//! touches. The split is a function of the id alone (`split_counter_id` and
//! `format!("{prefix}-{counter}")` are inverses), so an id is always recorded in the
//! same place whatever batch carries it, and ids of any other shape keep a row each.

use serde::{Deserialize, Serialize};

/// `(prefix, counter)` of an id whose last `-` is followed by a decimal counter
/// written without leading zeros that fits in a `u64`; `None` for any other shape,
/// which keeps exact per-id dedup (`"a-07"` and `"a-7"` are different ids).
pub fn split_counter_id(id: &str) -> Option<(&str, u64)> {
    let (prefix, digits) = id.rsplit_once('-')?;
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if prefix.is_empty() || !canonical {
        return None;
    }
    digits.parse().ok().map(|counter| (prefix, counter))
}

/// Ranges one set may hold. An honest page view's counters form a handful of ranges
/// (gaps are batches still in flight or lost); a client that sends every other counter
/// would otherwise grow one row, read and rewritten at each of its batches, without end.
pub const MAX_RANGES: usize = 256;

/// What `insert_capped` did with a counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Insert {
    Added,
    AlreadyThere,
    /// Not added: it would have opened a range past the cap.
    Full,
}

/// Sorted, disjoint, non-adjacent inclusive ranges of counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CounterSet {
    ranges: Vec<(u64, u64)>,
}

/// Stored form: each range as the gap after the previous one and its length, so the
/// usual `0..n` of a page view encodes in two or three bytes.
#[derive(Serialize, Deserialize)]
struct Encoded(Vec<(u64, u64)>);

impl CounterSet {
    /// Index of the first range whose end is at or past `counter`.
    fn first_ending_at_or_after(&self, counter: u64) -> usize {
        self.ranges.partition_point(|&(_, last)| last < counter)
    }

    pub fn contains(&self, counter: u64) -> bool {
        let i = self.first_ending_at_or_after(counter);
        self.ranges
            .get(i)
            .is_some_and(|&(first, _)| first <= counter)
    }

    /// Adds `counter`; false when it was already there.
    pub fn insert(&mut self, counter: u64) -> bool {
        self.insert_capped(counter, usize::MAX) == Insert::Added
    }

    /// Adds `counter` unless that would make more than `max_ranges` ranges.
    pub fn insert_capped(&mut self, counter: u64, max_ranges: usize) -> Insert {
        let i = self.first_ending_at_or_after(counter);
        if self
            .ranges
            .get(i)
            .is_some_and(|&(first, _)| first <= counter)
        {
            return Insert::AlreadyThere;
        }
        let joins_previous = i > 0 && self.ranges[i - 1].1 + 1 == counter;
        let joins_next = self
            .ranges
            .get(i)
            .is_some_and(|&(first, _)| counter + 1 == first);
        match (joins_previous, joins_next) {
            (true, true) => {
                self.ranges[i - 1].1 = self.ranges[i].1;
                self.ranges.remove(i);
            }
            (true, false) => self.ranges[i - 1].1 = counter,
            (false, true) => self.ranges[i].0 = counter,
            (false, false) if self.ranges.len() >= max_ranges => return Insert::Full,
            (false, false) => self.ranges.insert(i, (counter, counter)),
        }
        Insert::Added
    }

    pub fn range_count(&self) -> usize {
        self.ranges.len()
    }

    /// Takes `counter` out; false when it was not there.
    pub fn remove(&mut self, counter: u64) -> bool {
        let i = self.first_ending_at_or_after(counter);
        let Some(&(first, last)) = self.ranges.get(i).filter(|&&(f, _)| f <= counter) else {
            return false;
        };
        match (first == counter, last == counter) {
            (true, true) => {
                self.ranges.remove(i);
            }
            (true, false) => self.ranges[i].0 = counter + 1,
            (false, true) => self.ranges[i].1 = counter - 1,
            (false, false) => {
                self.ranges[i].1 = counter - 1;
                self.ranges.insert(i + 1, (counter + 1, last));
            }
        }
        true
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// How many counters the set holds (saturating at `u64::MAX`).
    pub fn len(&self) -> u64 {
        self.ranges
            .iter()
            .fold(0u64, |n, &(first, last)| n.saturating_add(last - first + 1))
    }

    /// The greatest counter, if any.
    pub fn max(&self) -> Option<u64> {
        self.ranges.last().map(|&(_, last)| last)
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut next = 0u64;
        let deltas = self
            .ranges
            .iter()
            .map(|&(first, last)| {
                let gap = first - next;
                next = last.saturating_add(1);
                (gap, last - first)
            })
            .collect();
        postcard::to_allocvec(&Encoded(deltas)).expect("a Vec of integers always encodes")
    }

    pub fn decode(bytes: &[u8]) -> anyhow::Result<CounterSet> {
        let Encoded(deltas) = postcard::from_bytes(bytes)?;
        let mut ranges = Vec::with_capacity(deltas.len());
        let mut next = 0u64;
        for (gap, len) in deltas {
            let first = next
                .checked_add(gap)
                .ok_or_else(|| anyhow::anyhow!("counter set overflows"))?;
            let last = first
                .checked_add(len)
                .ok_or_else(|| anyhow::anyhow!("counter set overflows"))?;
            let after_the_end = ranges.last().is_some_and(|&(_, l)| l == u64::MAX);
            if after_the_end || (!ranges.is_empty() && gap == 0) {
                anyhow::bail!("counter set has overlapping or adjacent ranges");
            }
            ranges.push((first, last));
            next = last.saturating_add(1);
        }
        Ok(CounterSet { ranges })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn only_canonical_counter_ids_split_and_they_split_back_into_the_same_id() {
        for id in ["pv-0", "pv-7", "a-b-120", "x--3", "p-18446744073709551615"] {
            let (prefix, counter) = split_counter_id(id).unwrap();
            assert_eq!(format!("{prefix}-{counter}"), id);
        }
        for id in [
            "pv",
            "pv-",
            "-3",
            "pv-07",
            "pv-00",
            "pv-1a",
            "pv-+1",
            "pv- 1",
            "p-18446744073709551616",
        ] {
            assert_eq!(split_counter_id(id), None, "{id}");
        }
    }

    #[test]
    fn behaves_like_a_set_of_integers_and_survives_encoding() {
        // A fixed pseudo-random walk over a small range, so ranges merge and split.
        let mut model = BTreeSet::new();
        let mut set = CounterSet::default();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for step in 0..20_000u32 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let counter = state % 64;
            if state.is_multiple_of(3) {
                assert_eq!(set.remove(counter), model.remove(&counter), "step {step}");
            } else {
                assert_eq!(set.insert(counter), model.insert(counter), "step {step}");
            }
            if step.is_multiple_of(97) {
                set = CounterSet::decode(&set.encode()).unwrap();
            }
            for c in 0..64 {
                assert_eq!(set.contains(c), model.contains(&c));
            }
            assert!(set
                .ranges
                .windows(2)
                .all(|w| w[0].1 + 1 < w[1].0 && w[0].0 <= w[0].1));
        }
    }

    #[test]
    fn the_extremes_of_u64_are_members_like_any_other() {
        let mut set = CounterSet::default();
        assert!(set.insert(u64::MAX));
        assert!(set.insert(0));
        assert!(set.insert(u64::MAX - 1));
        let back = CounterSet::decode(&set.encode()).unwrap();
        assert_eq!(back, set);
        assert!(back.contains(u64::MAX) && back.contains(0) && !back.contains(1));
        assert!(set.remove(u64::MAX));
        assert!(!set.contains(u64::MAX));
    }

    #[test]
    fn a_page_views_counters_encode_in_a_few_bytes() {
        let mut set = CounterSet::default();
        for counter in 5..50 {
            set.insert(counter);
        }
        assert!(set.encode().len() <= 3);
    }

    #[test]
    fn a_full_set_still_grows_and_shrinks_its_ranges_but_opens_none() {
        let mut set = CounterSet::default();
        for counter in (0..8).map(|n| n * 10) {
            assert_eq!(set.insert_capped(counter, 8), Insert::Added);
        }
        assert_eq!(set.range_count(), 8);
        assert_eq!(set.insert_capped(35, 8), Insert::Full);
        assert!(!set.contains(35));
        assert_eq!(set.insert_capped(41, 8), Insert::Added, "extends 40");
        assert_eq!(set.insert_capped(40, 8), Insert::AlreadyThere);
        for counter in 1..10 {
            assert_eq!(set.insert_capped(counter, 8), Insert::Added, "{counter}");
        }
        assert_eq!(set.range_count(), 7, "0..=10 joined");
        assert_eq!(set.insert_capped(35, 8), Insert::Added);
    }

    #[test]
    fn a_corrupt_blob_is_an_error_not_a_panic() {
        assert!(CounterSet::decode(&[0xff]).is_err());
        let overflowing = postcard::to_allocvec(&Encoded(vec![(u64::MAX, 1)])).unwrap();
        assert!(CounterSet::decode(&overflowing).is_err());
    }
}
