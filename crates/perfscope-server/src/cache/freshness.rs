//! Which cached answers new events made stale: a per-site commit log of the event-time
//! ranges each commit touched, read when a cached entry is found.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Commits remembered per site; an entry older than all of them counts as stale. A
/// query takes milliseconds, so only entries computed across this many commits are
/// recomputed needlessly.
const RECENT_COMMITS: usize = 1024;

/// Event timestamps (ms) one commit stored for one site, inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TouchedRange {
    pub min_ts: i64,
    pub max_ts: i64,
    /// Events of the commit for the site (for ingest metrics; invalidation ignores it).
    pub events: u64,
}

#[derive(Default)]
struct SiteLog {
    epoch: u64,
    recent: VecDeque<(u64, TouchedRange)>,
}

#[derive(Default)]
pub struct CommitLog {
    sites: Mutex<HashMap<String, SiteLog>>,
}

impl CommitLog {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, SiteLog>> {
        self.sites.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The site's epoch now; an answer computed from here on sees every commit so far.
    pub fn epoch(&self, site: &str) -> u64 {
        self.lock().get(site).map_or(0, |log| log.epoch)
    }

    pub fn record(&self, site: &str, touched: TouchedRange) {
        let mut sites = self.lock();
        let log = sites.entry(site.to_string()).or_default();
        log.epoch += 1;
        let epoch = log.epoch;
        log.recent.push_back((epoch, touched));
        if log.recent.len() > RECENT_COMMITS {
            log.recent.pop_front();
        }
    }

    /// Whether a commit after `computed_at` stored events inside `[from, to)`.
    pub fn is_stale(&self, site: &str, computed_at: u64, from: i64, to: i64) -> bool {
        let sites = self.lock();
        let Some(log) = sites.get(site) else {
            return false;
        };
        if log.epoch == computed_at {
            return false;
        }
        if log
            .recent
            .front()
            .is_some_and(|(e, _)| *e > computed_at + 1)
        {
            // Commits it may have missed are forgotten: assume the worst.
            return true;
        }
        log.recent
            .iter()
            .rev()
            .take_while(|(e, _)| *e > computed_at)
            .any(|(_, t)| t.min_ts < to && t.max_ts >= from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_overlapping_later_commits_make_an_answer_stale() {
        let log = CommitLog::default();
        assert_eq!(log.epoch("a"), 0);
        assert!(!log.is_stale("a", 0, 0, 100));
        log.record(
            "a",
            TouchedRange {
                min_ts: 150,
                max_ts: 160,
                events: 1,
            },
        );
        assert!(!log.is_stale("a", 0, 0, 100));
        assert!(log.is_stale("a", 0, 100, 151));
        assert!(!log.is_stale("a", 1, 100, 200));
        assert!(!log.is_stale("b", 0, 100, 200));
        for _ in 0..RECENT_COMMITS + 1 {
            log.record(
                "a",
                TouchedRange {
                    min_ts: 0,
                    max_ts: 0,
                    events: 1,
                },
            );
        }
        assert!(
            log.is_stale("a", 0, 500, 600),
            "forgotten commits count as stale"
        );
    }
}
