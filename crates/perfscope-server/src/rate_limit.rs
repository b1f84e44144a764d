//! Token-bucket limits on ingest, per client IP and per site, so one noisy client or
//! one misbehaving site cannot take the collector from everyone else.

use crate::config::RateLimitConfig;
use crate::error::AppError;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;

pub struct IngestRateLimits {
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    per_site: DefaultKeyedRateLimiter<String>,
}

impl IngestRateLimits {
    pub fn new(config: &RateLimitConfig) -> Self {
        let quota = |per_second: NonZeroU32, burst: NonZeroU32| {
            Quota::per_second(per_second).allow_burst(burst)
        };
        IngestRateLimits {
            per_ip: RateLimiter::keyed(quota(config.per_ip_per_second, config.per_ip_burst)),
            per_site: RateLimiter::keyed(quota(config.per_site_per_second, config.per_site_burst)),
        }
    }

    /// Checked before the body is decoded: refusing is cheapest before any work.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), AppError> {
        self.per_ip.check_key(&ip).map_err(|not_until| {
            rate_limited(
                "client",
                not_until.wait_time_from(DefaultClock::default().now()),
            )
        })
    }

    pub fn check_site(&self, site: &str) -> Result<(), AppError> {
        self.per_site
            .check_key(&site.to_owned())
            .map_err(|not_until| {
                rate_limited(
                    "site",
                    not_until.wait_time_from(DefaultClock::default().now()),
                )
            })
    }

    /// Forgets keys whose buckets are full again, so memory follows the number of
    /// recently active clients rather than every address ever seen.
    pub fn forget_idle(&self) {
        self.per_ip.retain_recent();
        self.per_ip.shrink_to_fit();
        self.per_site.retain_recent();
        self.per_site.shrink_to_fit();
    }

    pub fn tracked_keys(&self) -> usize {
        self.per_ip.len() + self.per_site.len()
    }
}

fn rate_limited(scope: &'static str, wait: std::time::Duration) -> AppError {
    AppError::RateLimited {
        scope,
        // Retry-After has whole seconds; rounding down would invite an early retry.
        retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_second: u32, burst: u32) -> IngestRateLimits {
        let n = |v| NonZeroU32::new(v).unwrap();
        IngestRateLimits::new(&RateLimitConfig {
            per_ip_per_second: n(per_second),
            per_ip_burst: n(burst),
            per_site_per_second: n(per_second),
            per_site_burst: n(burst),
        })
    }

    #[test]
    fn a_burst_is_allowed_then_refused_with_a_wait() {
        let limits = limits(1, 3);
        let ip: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..3 {
            limits.check_ip(ip).unwrap();
        }
        let err = limits.check_ip(ip).unwrap_err();
        assert!(
            matches!(
                err,
                AppError::RateLimited {
                    scope: "client",
                    retry_after_secs: 1
                }
            ),
            "{err:?}"
        );
        // Another client is not affected.
        limits.check_ip([10, 0, 0, 2].into()).unwrap();
    }

    #[test]
    fn sites_have_their_own_buckets() {
        let limits = limits(1, 2);
        limits.check_site("a").unwrap();
        limits.check_site("a").unwrap();
        assert!(matches!(
            limits.check_site("a"),
            Err(AppError::RateLimited { scope: "site", .. })
        ));
        limits.check_site("b").unwrap();
        assert_eq!(limits.tracked_keys(), 2);
    }
}
