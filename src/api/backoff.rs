//! How long to wait before trying a failed request again.

/// Waits before the 2nd, 3rd and 4th attempt; then the failure is shown.
const DELAYS_MS: [u32; 3] = [300, 1_000, 3_000];

/// The delay before retry number `retry` (0-based), or `None` once retries are spent.
pub fn retry_delay_ms(retry: usize) -> Option<u32> {
    DELAYS_MS.get(retry).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_then_stop() {
        let delays: Vec<u32> = (0..).map_while(retry_delay_ms).collect();
        assert_eq!(delays, vec![300, 1_000, 3_000]);
        assert!(delays.windows(2).all(|w| w[0] < w[1]));
    }
}
