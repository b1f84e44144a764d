//! Slows password guessing: each sign-in attempt beyond a few free ones makes the client
//! address and the user name wait twice as long as the last, up to a ceiling.
//!
//! An attempt counts when it starts, not when its password turns out wrong, so guesses
//! sent in parallel are throttled like guesses sent one after another; a successful
//! sign-in clears both counts.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub struct ThrottlePolicy {
    /// Attempts allowed without any wait.
    pub free_attempts: u32,
    /// The wait after the first attempt past the free ones; it doubles with each more.
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// A key untouched this long starts again from zero.
    pub forget_after: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        ThrottlePolicy {
            free_attempts: 3,
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(15 * 60),
            forget_after: Duration::from_secs(3600),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
    Ip(IpAddr),
    User,
}

#[derive(Clone, Copy, Debug)]
struct Attempts {
    count: u32,
    last: Instant,
    blocked_until: Instant,
}

/// Past this many tracked addresses, idle ones are dropped on the next attempt.
const PRUNE_ABOVE: usize = 10_000;

pub struct LoginThrottle {
    policy: ThrottlePolicy,
    attempts: Mutex<HashMap<Key, Attempts>>,
}

impl LoginThrottle {
    pub fn new(policy: ThrottlePolicy) -> LoginThrottle {
        LoginThrottle {
            policy,
            attempts: Mutex::new(HashMap::new()),
        }
    }

    /// Registers an attempt from `ip`, for the admin account when `for_admin`. Refused
    /// with the time left to wait while either key is blocked.
    pub fn begin(&self, ip: IpAddr, for_admin: bool, now: Instant) -> Result<(), Duration> {
        let mut attempts = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        if attempts.len() > PRUNE_ABOVE {
            let forget_after = self.policy.forget_after;
            attempts.retain(|_, a| now.saturating_duration_since(a.last) < forget_after);
        }
        let keys: &[Key] = if for_admin {
            &[Key::Ip(ip), Key::User]
        } else {
            &[Key::Ip(ip)]
        };
        let wait = keys
            .iter()
            .filter_map(|key| attempts.get(key))
            .map(|a| a.blocked_until.saturating_duration_since(now))
            .max()
            .unwrap_or_default();
        if !wait.is_zero() {
            return Err(wait);
        }
        for key in keys {
            let entry = attempts.entry(*key).or_insert(Attempts {
                count: 0,
                last: now,
                blocked_until: now,
            });
            if now.saturating_duration_since(entry.last) >= self.policy.forget_after {
                entry.count = 0;
            }
            entry.count += 1;
            entry.last = now;
            entry.blocked_until = now + self.delay_after(entry.count);
        }
        Ok(())
    }

    /// The password was right: neither the address nor the account is held back.
    pub fn succeeded(&self, ip: IpAddr, for_admin: bool) {
        let mut attempts = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        attempts.remove(&Key::Ip(ip));
        if for_admin {
            attempts.remove(&Key::User);
        }
    }

    fn delay_after(&self, count: u32) -> Duration {
        let Some(past_free) = count.checked_sub(self.policy.free_attempts) else {
            return Duration::ZERO;
        };
        if past_free == 0 {
            return Duration::ZERO;
        }
        let factor = 1u32.checked_shl(past_free - 1).unwrap_or(u32::MAX);
        self.policy
            .first_delay
            .saturating_mul(factor)
            .min(self.policy.max_delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn waits_double_after_the_free_attempts_and_success_clears_them() {
        let throttle = LoginThrottle::new(ThrottlePolicy::default());
        let t0 = Instant::now();
        for _ in 0..3 {
            throttle.begin(ip(1), true, t0).unwrap();
        }
        // The fourth attempt is allowed, and blocks the next for 1 s.
        throttle.begin(ip(1), true, t0).unwrap();
        assert_eq!(throttle.begin(ip(1), true, t0), Err(Duration::from_secs(1)));
        let t1 = t0 + Duration::from_secs(1);
        throttle.begin(ip(1), true, t1).unwrap();
        assert_eq!(throttle.begin(ip(1), true, t1), Err(Duration::from_secs(2)));
        let t2 = t1 + Duration::from_secs(2);
        throttle.begin(ip(1), true, t2).unwrap();
        assert_eq!(throttle.begin(ip(1), true, t2), Err(Duration::from_secs(4)));

        // The account is blocked from every address; other accounts only per address.
        assert_eq!(throttle.begin(ip(2), true, t2), Err(Duration::from_secs(4)));
        throttle.begin(ip(2), false, t2).unwrap();

        throttle.succeeded(ip(1), true);
        throttle.begin(ip(1), true, t2).unwrap();
    }

    #[test]
    fn the_wait_has_a_ceiling_and_idle_keys_start_over() {
        let policy = ThrottlePolicy::default();
        let throttle = LoginThrottle::new(policy);
        let mut now = Instant::now();
        for _ in 0..40 {
            if let Err(wait) = throttle.begin(ip(3), false, now) {
                assert!(wait <= policy.max_delay);
                now += wait;
            }
        }
        let Err(wait) = throttle.begin(ip(3), false, now) else {
            panic!("still throttled");
        };
        assert_eq!(wait, policy.max_delay);
        let later = now + policy.forget_after + policy.max_delay;
        for _ in 0..3 {
            throttle.begin(ip(3), false, later).unwrap();
        }
    }
}
