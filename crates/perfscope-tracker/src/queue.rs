//! Which measurements go out in the next batch, and when: by count, by age, after a backoff.
//!
//! Times are `performance.now()` milliseconds, passed in so the policy is testable.

use std::collections::VecDeque;

/// A collector down for a long time must not grow the page's memory without bound; past
/// this, the oldest events are given up.
pub const MAX_QUEUED_EVENTS: usize = 1000;

const FIRST_RETRY_DELAY_MS: f64 = 1000.0;
const MAX_RETRY_DELAY_MS: f64 = 60_000.0;

/// What the caller should do about the queue now.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NextSend {
    /// Nothing queued, or a send is already under way (its end will ask again).
    Idle,
    Now,
    /// Ask again at this time.
    At(f64),
}

/// How a send ended, from the collector's point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    Delivered,
    /// Network failure, overload or server error: the same events may succeed later.
    Retry,
    /// The collector refused the content; sending it again cannot help.
    Rejected,
}

impl SendOutcome {
    /// `None` when no response arrived at all.
    pub fn from_status(status: Option<u16>) -> SendOutcome {
        match status {
            Some(200..=299) => SendOutcome::Delivered,
            Some(408 | 429) => SendOutcome::Retry,
            Some(400..=499) => SendOutcome::Rejected,
            _ => SendOutcome::Retry,
        }
    }
}

#[derive(Debug)]
struct Queued<T> {
    item: T,
    queued_at_ms: f64,
}

#[derive(Debug)]
pub struct BatchQueue<T> {
    max_events: usize,
    max_age_ms: f64,
    capacity: usize,
    pending: VecDeque<Queued<T>>,
    sending: bool,
    consecutive_failures: u32,
    retry_not_before_ms: f64,
}

impl<T> BatchQueue<T> {
    pub fn new(max_events: usize, max_age_ms: f64) -> Self {
        BatchQueue::with_capacity(max_events, max_age_ms, MAX_QUEUED_EVENTS)
    }

    pub fn with_capacity(max_events: usize, max_age_ms: f64, capacity: usize) -> Self {
        BatchQueue {
            max_events: max_events.max(1),
            max_age_ms: max_age_ms.max(0.0),
            capacity: capacity.max(1),
            pending: VecDeque::new(),
            sending: false,
            consecutive_failures: 0,
            retry_not_before_ms: f64::NEG_INFINITY,
        }
    }

    pub fn is_sending(&self) -> bool {
        self.sending
    }

    pub fn push(&mut self, item: T, now_ms: f64) {
        self.pending.push_back(Queued {
            item,
            queued_at_ms: now_ms,
        });
        self.enforce_capacity();
    }

    pub fn next_send(&self, now_ms: f64) -> NextSend {
        let Some(oldest) = self.pending.front() else {
            return NextSend::Idle;
        };
        if self.sending {
            return NextSend::Idle;
        }
        let due_ms = if self.pending.len() >= self.max_events {
            f64::NEG_INFINITY
        } else {
            oldest.queued_at_ms + self.max_age_ms
        };
        let due_ms = due_ms.max(self.retry_not_before_ms);
        if due_ms <= now_ms {
            NextSend::Now
        } else {
            NextSend::At(due_ms)
        }
    }

    /// Takes the next batch's events; no other scheduled send starts until `finish_send`.
    pub fn start_send(&mut self) -> Vec<T> {
        let count = self.pending.len().min(self.max_events);
        self.sending = true;
        self.pending.drain(..count).map(|q| q.item).collect()
    }

    pub fn finish_send(&mut self, items: Vec<T>, outcome: SendOutcome, now_ms: f64) {
        self.sending = false;
        self.settle(items, outcome, now_ms);
    }

    /// For sends made outside the schedule (the fallback when a beacon is refused).
    pub fn settle(&mut self, items: Vec<T>, outcome: SendOutcome, now_ms: f64) {
        match outcome {
            SendOutcome::Delivered | SendOutcome::Rejected => {
                self.consecutive_failures = 0;
                self.retry_not_before_ms = f64::NEG_INFINITY;
            }
            SendOutcome::Retry => {
                self.requeue_front(items);
                self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                self.retry_not_before_ms = now_ms + self.retry_delay_ms();
            }
        }
    }

    /// Everything queued, in batches, regardless of age or backoff: the page may be about
    /// to go away and this is the last chance to send.
    pub fn drain_all(&mut self) -> Vec<Vec<T>> {
        let mut batches = Vec::new();
        while !self.pending.is_empty() {
            let count = self.pending.len().min(self.max_events);
            batches.push(self.pending.drain(..count).map(|q| q.item).collect());
        }
        batches
    }

    fn retry_delay_ms(&self) -> f64 {
        let doublings = self.consecutive_failures.saturating_sub(1).min(16);
        (FIRST_RETRY_DELAY_MS * f64::from(1u32 << doublings)).min(MAX_RETRY_DELAY_MS)
    }

    fn requeue_front(&mut self, items: Vec<T>) {
        // Ahead of what arrived meanwhile, in their order. They were due once already, so
        // only the backoff decides when they go again.
        for item in items.into_iter().rev() {
            self.pending.push_front(Queued {
                item,
                queued_at_ms: f64::NEG_INFINITY,
            });
        }
        self.enforce_capacity();
    }

    fn enforce_capacity(&mut self) {
        while self.pending.len() > self.capacity {
            self.pending.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u32) -> String {
        format!("pv-{n}")
    }

    fn ids(events: &[String]) -> Vec<&str> {
        events.iter().map(String::as_str).collect()
    }

    #[test]
    fn an_empty_queue_has_nothing_to_send() {
        let queue = BatchQueue::<String>::new(20, 5000.0);
        assert_eq!(queue.next_send(0.0), NextSend::Idle);
    }

    #[test]
    fn a_lone_event_waits_for_the_age_limit() {
        let mut queue = BatchQueue::new(20, 5000.0);
        queue.push(event(0), 100.0);
        queue.push(event(1), 3000.0);
        assert_eq!(queue.next_send(200.0), NextSend::At(5100.0));
        assert_eq!(queue.next_send(5100.0), NextSend::Now);
    }

    #[test]
    fn a_full_batch_goes_at_once_and_takes_only_its_size() {
        let mut queue = BatchQueue::new(3, 5000.0);
        for n in 0..4 {
            queue.push(event(n), 10.0);
        }
        assert_eq!(queue.next_send(10.0), NextSend::Now);
        let batch = queue.start_send();
        assert_eq!(ids(&batch), ["pv-0", "pv-1", "pv-2"]);
        assert_eq!(queue.pending.len(), 1);
    }

    #[test]
    fn one_send_at_a_time() {
        let mut queue = BatchQueue::new(1, 0.0);
        queue.push(event(0), 0.0);
        queue.push(event(1), 0.0);
        let batch = queue.start_send();
        assert_eq!(queue.next_send(1.0), NextSend::Idle);
        queue.finish_send(batch, SendOutcome::Delivered, 2.0);
        assert_eq!(queue.next_send(2.0), NextSend::Now);
    }

    #[test]
    fn a_failed_send_goes_back_to_the_front_and_waits_out_a_growing_backoff() {
        let mut queue = BatchQueue::new(2, 5000.0);
        queue.push(event(0), 0.0);
        queue.push(event(1), 0.0);
        let batch = queue.start_send();
        queue.push(event(2), 50.0);
        queue.finish_send(batch, SendOutcome::Retry, 100.0);
        assert_eq!(queue.pending.len(), 3);
        // Full, yet held back by the first 1 s backoff.
        assert_eq!(queue.next_send(100.0), NextSend::At(1100.0));
        let batch = queue.start_send();
        assert_eq!(ids(&batch), ["pv-0", "pv-1"]);
        queue.finish_send(batch, SendOutcome::Retry, 1100.0);
        assert_eq!(queue.next_send(1100.0), NextSend::At(3100.0));
        let batch = queue.start_send();
        queue.finish_send(batch, SendOutcome::Delivered, 3200.0);
        assert_eq!(queue.pending.len(), 1);
        // Success clears the backoff; the remaining event waits only for its age.
        assert_eq!(queue.next_send(3200.0), NextSend::At(50.0 + 5000.0));
    }

    #[test]
    fn a_retried_small_batch_waits_for_the_backoff_not_a_new_age() {
        let mut queue = BatchQueue::new(20, 5000.0);
        queue.push(event(0), 0.0);
        assert_eq!(queue.next_send(5000.0), NextSend::Now);
        let batch = queue.start_send();
        queue.finish_send(batch, SendOutcome::Retry, 5200.0);
        assert_eq!(queue.next_send(5200.0), NextSend::At(6200.0));
        assert_eq!(queue.next_send(6200.0), NextSend::Now);
    }

    #[test]
    fn backoff_is_capped() {
        let mut queue = BatchQueue::new(1, 0.0);
        queue.push(event(0), 0.0);
        for _ in 0..30 {
            let batch = queue.start_send();
            queue.finish_send(batch, SendOutcome::Retry, 0.0);
        }
        assert_eq!(queue.next_send(0.0), NextSend::At(60_000.0));
    }

    #[test]
    fn rejected_events_are_dropped_without_backoff() {
        let mut queue = BatchQueue::new(1, 0.0);
        queue.push(event(0), 0.0);
        queue.push(event(1), 0.0);
        let batch = queue.start_send();
        queue.finish_send(batch, SendOutcome::Rejected, 5.0);
        assert_eq!(queue.pending.len(), 1);
        assert_eq!(queue.next_send(5.0), NextSend::Now);
    }

    #[test]
    fn draining_ignores_age_and_backoff_and_respects_batch_size() {
        let mut queue = BatchQueue::new(2, 5000.0);
        for n in 0..5 {
            queue.push(event(n), 0.0);
        }
        let batch = queue.start_send();
        queue.finish_send(batch, SendOutcome::Retry, 0.0);
        let batches = queue.drain_all();
        let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, [2, 2, 1]);
        assert_eq!(ids(&batches[0]), ["pv-0", "pv-1"]);
        assert!(queue.pending.is_empty());
    }

    #[test]
    fn the_oldest_events_give_way_when_full() {
        let mut queue = BatchQueue::with_capacity(10, 5000.0, 3);
        for n in 0..5 {
            queue.push(event(n), 0.0);
        }
        let batches = queue.drain_all();
        assert_eq!(ids(&batches[0]), ["pv-2", "pv-3", "pv-4"]);
    }

    #[test]
    fn statuses_map_to_outcomes() {
        assert_eq!(SendOutcome::from_status(Some(202)), SendOutcome::Delivered);
        assert_eq!(SendOutcome::from_status(Some(400)), SendOutcome::Rejected);
        assert_eq!(SendOutcome::from_status(Some(413)), SendOutcome::Rejected);
        assert_eq!(SendOutcome::from_status(Some(429)), SendOutcome::Retry);
        assert_eq!(SendOutcome::from_status(Some(408)), SendOutcome::Retry);
        assert_eq!(SendOutcome::from_status(Some(503)), SendOutcome::Retry);
        assert_eq!(SendOutcome::from_status(None), SendOutcome::Retry);
    }
}
