//! Exact percentiles over sorted samples.

/// Nearest-rank percentile of `sorted` (ascending); `p` in 0..=1. `None` when empty.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 0.75), Some(75.0));
        assert_eq!(percentile(&values, 0.5), Some(50.0));
        assert_eq!(percentile(&values, 0.95), Some(95.0));
        assert_eq!(percentile(&values, 0.0), Some(1.0));
        assert_eq!(percentile(&values, 1.0), Some(100.0));
        assert_eq!(percentile(&[42.0], 0.75), Some(42.0));
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 0.75), Some(3.0));
        assert_eq!(percentile(&[], 0.75), None);
    }
}
