//! Batches that are formed and serialised but not yet acknowledged by the collector:
//! which one goes next and over which channel, backoff with jitter and `Retry-After`,
//! the browser's keepalive byte budget, and the bound on what is kept.
//!
//! Every entry is mirrored in `localStorage` by the caller (see `stored_batch`), so what
//! this holds when the page dies is sent by the next page view. Times are
//! `performance.now()` milliseconds, passed in so the policy is testable.

use crate::queue::{NextSend, SendOutcome};

/// Chromium, Firefox and Safari refuse a `keepalive` request once the bodies of all the
/// page's keepalive requests still in flight would exceed 64 KiB (Fetch standard,
/// "inflight keepalive bytes"). `sendBeacon` draws on the same budget in Chromium.
pub const KEEPALIVE_BUDGET_BYTES: usize = 64 * 1024;

/// What the tracker may keep in a site's `localStorage`, which it shares with the host
/// page's own data (5 MiB per origin in most browsers): a collector down for hours must
/// not crowd the page out.
pub const MAX_STORED_BATCHES: usize = 64;
pub const MAX_STORED_BYTES: usize = 256 * 1024;

const FIRST_RETRY_DELAY_MS: f64 = 1000.0;
const MAX_RETRY_DELAY_MS: f64 = 60_000.0;

/// How a batch is handed to the browser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// `fetch` with `keepalive`: survives the page and tells us the status while it lives.
    KeepAlive,
    /// Plain `fetch`, for a batch too large for what is left of the keepalive budget.
    Plain,
    /// `sendBeacon`: the last resort while unloading; no answer ever comes back.
    Beacon,
}

#[derive(Debug)]
struct Outgoing {
    key: String,
    body: String,
    events: u32,
    in_flight: Option<Channel>,
}

/// One send to start: which stored batch, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dispatch {
    pub key: String,
    pub body: String,
    pub channel: Channel,
}

#[derive(Debug)]
pub struct Outbox {
    // A Vec, not a VecDeque: a few batches at most, and VecDeque's ring code costs wasm.
    items: Vec<Outgoing>,
    max_items: usize,
    max_bytes: usize,
    lost: u32,
    consecutive_failures: u32,
    retry_not_before_ms: f64,
    keepalive_bytes_in_flight: usize,
}

impl Default for Outbox {
    fn default() -> Self {
        Outbox::with_bounds(MAX_STORED_BATCHES, MAX_STORED_BYTES)
    }
}

impl Outbox {
    pub fn with_bounds(max_items: usize, max_bytes: usize) -> Self {
        Outbox {
            items: Vec::new(),
            max_items: max_items.max(1),
            max_bytes,
            lost: 0,
            consecutive_failures: 0,
            retry_not_before_ms: f64::NEG_INFINITY,
            keepalive_bytes_in_flight: 0,
        }
    }

    /// Adds a batch behind the others. Returns the keys of batches given up to stay
    /// within bounds (oldest first, never one in flight), whose events now count as lost;
    /// the caller removes them from storage.
    pub fn push(&mut self, key: String, body: String, events: u32) -> Vec<String> {
        if self.items.iter().any(|item| item.key == key) {
            return Vec::new();
        }
        self.items.push(Outgoing {
            key,
            body,
            events,
            in_flight: None,
        });
        let mut dropped = Vec::new();
        while self.items.len() > self.max_items || self.stored_bytes() > self.max_bytes {
            let Some(oldest) = self.items.iter().position(|item| item.in_flight.is_none()) else {
                break;
            };
            let item = self.items.remove(oldest);
            self.lost = self.lost.saturating_add(item.events);
            dropped.push(item.key);
        }
        dropped
    }

    fn stored_bytes(&self) -> usize {
        self.items.iter().map(|item| item.body.len()).sum()
    }

    /// Events given up since the last call, to report in the next batch's `lost`.
    pub fn take_lost(&mut self) -> u32 {
        std::mem::take(&mut self.lost)
    }

    /// Adds events lost elsewhere (a count kept in storage by an earlier page view).
    pub fn add_lost(&mut self, events: u32) {
        self.lost = self.lost.saturating_add(events);
    }

    pub fn lost(&self) -> u32 {
        self.lost
    }

    /// While the page lives, one send at a time, in order, after any backoff.
    pub fn next_send(&self, now_ms: f64) -> NextSend {
        if self.items.iter().any(|item| item.in_flight.is_some()) {
            return NextSend::Idle;
        }
        if self.items.is_empty() {
            return NextSend::Idle;
        }
        if self.retry_not_before_ms > now_ms {
            NextSend::At(self.retry_not_before_ms)
        } else {
            NextSend::Now
        }
    }

    /// Marks the oldest waiting batch as in flight and says how to send it.
    pub fn start_send(&mut self) -> Option<Dispatch> {
        let budget_left = KEEPALIVE_BUDGET_BYTES.saturating_sub(self.keepalive_bytes_in_flight);
        let item = self
            .items
            .iter_mut()
            .find(|item| item.in_flight.is_none())?;
        let channel = if item.body.len() <= budget_left {
            self.keepalive_bytes_in_flight += item.body.len();
            Channel::KeepAlive
        } else {
            Channel::Plain
        };
        item.in_flight = Some(channel);
        Some(Dispatch {
            key: item.key.clone(),
            body: item.body.clone(),
            channel,
        })
    }

    /// The page is going away: every waiting batch leaves now, by keepalive `fetch`
    /// while the budget lasts, then by beacon. They stay stored, since no answer may
    /// ever arrive; a later page view sends them again and the collector's dedup by
    /// event id drops the copies.
    pub fn start_unload_sends(&mut self) -> Vec<Dispatch> {
        let mut sends = Vec::new();
        while let Some(mut dispatch) = self.start_send() {
            if dispatch.channel == Channel::Plain {
                // A plain fetch dies with the page.
                dispatch.channel = Channel::Beacon;
                if let Some(item) = self.items.iter_mut().find(|i| i.key == dispatch.key) {
                    item.in_flight = Some(Channel::Beacon);
                }
            }
            sends.push(dispatch);
        }
        sends
    }

    /// A beacon was accepted or refused by the browser. Either way nothing more will be
    /// heard of it in this page view: it leaves memory (a refused one is retried by the
    /// next page view from storage, an accepted one is resent there too and deduplicated).
    pub fn beacon_handed_over(&mut self, key: &str) {
        self.items.retain(|item| item.key != key);
    }

    /// A send ended. `jitter` is uniform in `0..1`; `retry_after_ms` is the collector's
    /// `Retry-After`, if it sent one. Returns whether the batch left the outbox (so the
    /// caller removes it from storage).
    pub fn finish(
        &mut self,
        key: &str,
        outcome: SendOutcome,
        retry_after_ms: Option<f64>,
        now_ms: f64,
        jitter: f64,
    ) -> bool {
        let Some(position) = self.items.iter().position(|item| item.key == key) else {
            return false;
        };
        let item = &mut self.items[position];
        if item.in_flight == Some(Channel::KeepAlive) {
            self.keepalive_bytes_in_flight = self
                .keepalive_bytes_in_flight
                .saturating_sub(item.body.len());
        }
        item.in_flight = None;
        match outcome {
            SendOutcome::Delivered | SendOutcome::Rejected => {
                self.consecutive_failures = 0;
                self.retry_not_before_ms = f64::NEG_INFINITY;
                self.items.remove(position);
                true
            }
            SendOutcome::Retry => {
                self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                let delay = backoff_ms(self.consecutive_failures, jitter);
                let delay = delay.max(retry_after_ms.unwrap_or(0.0));
                self.retry_not_before_ms = now_ms + delay;
                false
            }
        }
    }
}

/// Exponential from 1 s, capped at 60 s, with "equal jitter" (half fixed, half random) so
/// that many pages recovering from the same outage do not retry in lockstep.
pub fn backoff_ms(consecutive_failures: u32, jitter: f64) -> f64 {
    let doublings = consecutive_failures.saturating_sub(1).min(16);
    let delay = (FIRST_RETRY_DELAY_MS * f64::from(1u32 << doublings)).min(MAX_RETRY_DELAY_MS);
    delay * (0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// `Retry-After` in seconds, as the collector sends it. HTTP dates are not worth their
/// parsing code here: the exponential backoff covers them.
pub fn parse_retry_after_ms(header: &str) -> Option<f64> {
    let seconds: u32 = header.trim().parse().ok()?;
    Some(f64::from(seconds.min(3600)) * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(len: usize) -> String {
        "x".repeat(len)
    }

    #[test]
    fn batches_go_one_at_a_time_in_order() {
        let mut outbox = Outbox::default();
        outbox.push("a".into(), body(10), 1);
        outbox.push("b".into(), body(10), 1);
        assert_eq!(outbox.next_send(0.0), NextSend::Now);
        let first = outbox.start_send().unwrap();
        assert_eq!(
            (first.key.as_str(), first.channel),
            ("a", Channel::KeepAlive)
        );
        assert_eq!(outbox.next_send(0.0), NextSend::Idle);
        assert!(outbox.finish("a", SendOutcome::Delivered, None, 1.0, 0.5));
        assert_eq!(outbox.start_send().unwrap().key, "b");
    }

    #[test]
    fn the_same_batch_is_not_queued_twice() {
        let mut outbox = Outbox::default();
        outbox.push("a".into(), body(10), 1);
        outbox.push("a".into(), body(10), 1);
        assert_eq!(outbox.items.len(), 1);
    }

    #[test]
    fn failures_back_off_exponentially_and_honour_retry_after() {
        let mut outbox = Outbox::default();
        outbox.push("a".into(), body(10), 1);
        outbox.start_send();
        assert!(!outbox.finish("a", SendOutcome::Retry, None, 100.0, 1.0));
        assert_eq!(outbox.next_send(100.0), NextSend::At(1100.0));
        outbox.start_send();
        outbox.finish("a", SendOutcome::Retry, None, 1100.0, 0.0);
        // Second failure: 2 s, with zero jitter half of it.
        assert_eq!(outbox.next_send(1100.0), NextSend::At(2100.0));
        outbox.start_send();
        outbox.finish("a", SendOutcome::Retry, Some(30_000.0), 2100.0, 0.0);
        assert_eq!(outbox.next_send(2100.0), NextSend::At(32_100.0));
        assert_eq!(outbox.next_send(32_100.0), NextSend::Now);
        outbox.start_send();
        assert!(outbox.finish("a", SendOutcome::Delivered, None, 32_200.0, 0.0));
        outbox.push("b".into(), body(1), 1);
        assert_eq!(outbox.next_send(32_200.0), NextSend::Now);
    }

    #[test]
    fn backoff_is_jittered_and_capped() {
        assert_eq!(backoff_ms(1, 0.0), 500.0);
        assert_eq!(backoff_ms(1, 1.0), 1000.0);
        assert_eq!(backoff_ms(3, 0.5), 3000.0);
        assert_eq!(backoff_ms(40, 1.0), 60_000.0);
        assert_eq!(backoff_ms(40, 0.0), 30_000.0);
    }

    #[test]
    fn retry_after_is_read_in_seconds() {
        assert_eq!(parse_retry_after_ms("2"), Some(2000.0));
        assert_eq!(parse_retry_after_ms(" 86400"), Some(3_600_000.0));
        assert_eq!(parse_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn keepalive_budget_is_shared_by_everything_in_flight() {
        let mut outbox = Outbox::default();
        outbox.push("a".into(), body(40 * 1024), 1);
        outbox.push("b".into(), body(30 * 1024), 1);
        outbox.push("c".into(), body(20 * 1024), 1);
        let sends = outbox.start_unload_sends();
        let channels: Vec<Channel> = sends.iter().map(|s| s.channel).collect();
        // a fits; b would exceed 64 KiB with a in flight; c fits next to a.
        assert_eq!(
            channels,
            [Channel::KeepAlive, Channel::Beacon, Channel::KeepAlive]
        );
        outbox.beacon_handed_over("b");
        assert!(outbox.finish("a", SendOutcome::Delivered, None, 0.0, 0.0));
        outbox.push("d".into(), body(40 * 1024), 1);
        // c's 20 KiB are still in flight: 44 KiB left.
        assert_eq!(outbox.start_send().unwrap().channel, Channel::KeepAlive);
    }

    #[test]
    fn a_batch_larger_than_the_budget_goes_by_plain_fetch_while_the_page_lives() {
        let mut outbox = Outbox::default();
        outbox.push("big".into(), body(KEEPALIVE_BUDGET_BYTES + 1), 3);
        assert_eq!(outbox.start_send().unwrap().channel, Channel::Plain);
        outbox.finish("big", SendOutcome::Retry, None, 0.0, 0.0);
        assert_eq!(outbox.start_unload_sends()[0].channel, Channel::Beacon);
    }

    #[test]
    fn a_full_store_gives_up_the_oldest_batches_and_counts_their_events() {
        let mut outbox = Outbox::with_bounds(2, 1000);
        outbox.push("a".into(), body(10), 3);
        outbox.start_send();
        outbox.push("b".into(), body(10), 4);
        let dropped = outbox.push("c".into(), body(10), 5);
        // a is in flight and stays; b is the oldest that can go.
        assert_eq!(dropped, ["b"]);
        assert_eq!(outbox.lost(), 4);
        let dropped = outbox.push("d".into(), body(985), 1);
        assert_eq!(dropped, ["c"]);
        assert_eq!(outbox.take_lost(), 9);
        assert_eq!(outbox.take_lost(), 0);
        assert_eq!(outbox.items.len(), 2);
    }
}
