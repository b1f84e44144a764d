//! Which sessions are measured: decided once per browser session from its id, so a
//! visitor is either fully in or fully out and multi-page journeys stay whole.

/// `rate` in `0..=1`; values outside are clamped, NaN measures nothing. The decision is
/// the session id's first 8 hex digits read as a fraction of 2^32, so the same session
/// decides the same way on every page.
pub fn is_sampled(session_id: &str, rate: f64) -> bool {
    if rate.is_nan() || rate <= 0.0 {
        return false;
    }
    if rate >= 1.0 {
        return true;
    }
    let prefix = session_id.get(..8).unwrap_or(session_id);
    let Ok(bucket) = u32::from_str_radix(prefix, 16) else {
        // Not an id we made (edited storage): measure, rather than silently never.
        return true;
    };
    f64::from(bucket) / 4_294_967_296.0 < rate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_is_a_fraction_of_the_id_space() {
        assert!(is_sampled("00000000aaaa", 0.01));
        assert!(is_sampled("7fffffff", 0.5));
        assert!(!is_sampled("80000000", 0.5));
        assert!(!is_sampled("ffffffff", 0.999));
        assert!(is_sampled("ffffffff", 1.0));
        assert!(!is_sampled("00000000", 0.0));
        assert!(!is_sampled("00000000", f64::NAN));
        assert!(is_sampled("zzzz", 0.5));
    }

    #[test]
    fn about_the_requested_share_of_sessions_is_measured() {
        let sampled = (0u32..10_000)
            .map(|n| format!("{:08x}", n.wrapping_mul(2_654_435_761)))
            .filter(|id| is_sampled(id, 0.25))
            .count();
        assert!((2300..2700).contains(&sampled), "{sampled}");
    }
}
