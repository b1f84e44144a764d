//! Which measurements go out in the next batch, and when: by count and by age.
//!
//! Times are `performance.now()` milliseconds, passed in so the policy is testable.

/// A collector down for a long time must not grow the page's memory without bound; past
/// this, the oldest events are given up.
pub const MAX_QUEUED_EVENTS: usize = 1000;

/// What the caller should do about the queue now.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NextSend {
    /// Nothing queued, or (outbox) a send is already under way: its end will ask again.
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

/// Measurements waiting to form a batch. Once formed, a batch belongs to the `Outbox`,
/// which retries it; so this queue never takes anything back.
#[derive(Debug)]
pub struct BatchQueue<T> {
    max_events: usize,
    max_age_ms: f64,
    capacity: usize,
    // A Vec, not a VecDeque: the queue is short and VecDeque's ring code costs ~2 KB of wasm.
    pending: Vec<Queued<T>>,
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
            pending: Vec::new(),
        }
    }

    /// Returns how many of the oldest events were given up to stay within capacity.
    pub fn push(&mut self, item: T, now_ms: f64) -> u32 {
        self.pending.push(Queued {
            item,
            queued_at_ms: now_ms,
        });
        let excess = self.pending.len().saturating_sub(self.capacity);
        self.pending.drain(..excess);
        u32::try_from(excess).unwrap_or(u32::MAX)
    }

    pub fn next_send(&self, now_ms: f64) -> NextSend {
        let Some(oldest) = self.pending.first() else {
            return NextSend::Idle;
        };
        if self.pending.len() >= self.max_events {
            return NextSend::Now;
        }
        let due_ms = oldest.queued_at_ms + self.max_age_ms;
        if due_ms <= now_ms {
            NextSend::Now
        } else {
            NextSend::At(due_ms)
        }
    }

    /// The next batch's events, oldest first.
    pub fn take_batch(&mut self) -> Vec<T> {
        let count = self.pending.len().min(self.max_events);
        self.pending.drain(..count).map(|q| q.item).collect()
    }

    /// Everything queued, in batches, regardless of age: the page may be about to go
    /// away, or the page view ends.
    pub fn drain_all(&mut self) -> Vec<Vec<T>> {
        let mut batches = Vec::new();
        while !self.pending.is_empty() {
            batches.push(self.take_batch());
        }
        batches
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
        assert_eq!(ids(&queue.take_batch()), ["pv-0", "pv-1", "pv-2"]);
        assert_eq!(queue.next_send(10.0), NextSend::At(5010.0));
    }

    #[test]
    fn the_oldest_events_give_way_when_full() {
        let mut queue = BatchQueue::with_capacity(10, 5000.0, 3);
        let dropped: u32 = (0..5).map(|n| queue.push(event(n), 0.0)).sum();
        assert_eq!(dropped, 2);
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
