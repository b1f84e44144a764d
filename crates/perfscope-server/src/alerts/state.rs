//! One alert instance's state machine: inactive → pending → firing → resolved, with
//! repeat suppression, acknowledgement and silences. Pure: time comes in as arguments.

use perfscope_model::AlertStatus;
use std::time::Duration;
use tokio::time::Instant;

/// What one observation asks the caller to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notify {
    Nothing,
    Firing,
    /// Still firing, and the repeat interval has passed without acknowledgement.
    Repeat,
    Resolved,
}

#[derive(Clone, Debug)]
pub struct AlertInstance {
    pub status: AlertStatus,
    pub since: Instant,
    pub value: Option<f64>,
    pub last_notified: Option<Instant>,
    pub acknowledged: bool,
    pub silenced_until: Option<Instant>,
}

impl AlertInstance {
    pub fn new(now: Instant) -> AlertInstance {
        AlertInstance {
            status: AlertStatus::Inactive,
            since: now,
            value: None,
            last_notified: None,
            acknowledged: false,
            silenced_until: None,
        }
    }

    pub fn is_silenced(&self, now: Instant) -> bool {
        self.silenced_until.is_some_and(|until| now < until)
    }

    /// Feeds one evaluation. `value` is `None` when there was no data, which never
    /// breaches. Returns the status change, if any, and what to notify.
    pub fn observe(
        &mut self,
        breached: bool,
        value: Option<f64>,
        hold_for: Duration,
        repeat_every: Duration,
        now: Instant,
    ) -> (Option<(AlertStatus, AlertStatus)>, Notify) {
        self.value = value;
        let before = self.status;
        let (after, notify) = match (before, breached) {
            (AlertStatus::Inactive | AlertStatus::Resolved, true) if hold_for.is_zero() => {
                (AlertStatus::Firing, Notify::Firing)
            }
            (AlertStatus::Inactive | AlertStatus::Resolved, true) => {
                (AlertStatus::Pending, Notify::Nothing)
            }
            (AlertStatus::Pending, true) if now.duration_since(self.since) >= hold_for => {
                (AlertStatus::Firing, Notify::Firing)
            }
            (AlertStatus::Pending, false) => (AlertStatus::Inactive, Notify::Nothing),
            (AlertStatus::Firing, true) => {
                let due = self
                    .last_notified
                    .is_none_or(|last| now.duration_since(last) >= repeat_every);
                let notify = if due && !self.acknowledged {
                    Notify::Repeat
                } else {
                    Notify::Nothing
                };
                (AlertStatus::Firing, notify)
            }
            (AlertStatus::Firing, false) => (AlertStatus::Resolved, Notify::Resolved),
            (status, _) => (status, Notify::Nothing),
        };
        let change = (after != before).then(|| {
            self.status = after;
            self.since = now;
            if after != AlertStatus::Firing {
                // An acknowledgement is for one episode of firing.
                self.acknowledged = false;
            }
            (before, after)
        });
        let notify = if notify != Notify::Nothing && self.is_silenced(now) {
            Notify::Nothing
        } else {
            notify
        };
        if notify != Notify::Nothing {
            self.last_notified = Some(now);
        }
        (change, notify)
    }
}
