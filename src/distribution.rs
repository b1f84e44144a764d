//! Turns raw vital samples into histogram bars for a page's value distribution.

use crate::charts::HistogramBar;
use perfscope_model::VitalName;

/// Equal-width bars from 0 to the 98th percentile; the slowest 2 % are counted in the
/// last bar so one outlier does not squash every other bar into the first.
pub fn histogram(name: VitalName, values: &[f64], bars: usize) -> Vec<HistogramBar> {
    let mut sorted: Vec<f64> = values
        .iter()
        .copied()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .collect();
    if sorted.is_empty() || bars == 0 {
        return Vec::new();
    }
    sorted.sort_by(f64::total_cmp);
    let index = ((sorted.len() - 1) as f64 * 0.98).round() as usize;
    let top = sorted[index];
    // All-zero samples (CLS of a stable page) still get one visible bar.
    let top = if top > 0.0 { top } else { 1e-3 };
    let width = top / bars as f64;
    let mut counts = vec![0u64; bars];
    for value in &sorted {
        let slot = ((value / width) as usize).min(bars - 1);
        counts[slot] += 1;
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(i, count)| {
            let lower = width * i as f64;
            let upper = width * (i + 1) as f64;
            HistogramBar {
                lower,
                upper,
                count,
                rating: Some(name.rate((lower + upper) / 2.0)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfscope_model::Rating;

    #[test]
    fn every_sample_is_counted_once() {
        let values: Vec<f64> = (0..100).map(|i| i as f64 * 50.0).chain([1e9]).collect();
        let bars = histogram(VitalName::Lcp, &values, 10);
        assert_eq!(bars.len(), 10);
        assert_eq!(bars.iter().map(|b| b.count).sum::<u64>(), 101);
        assert_eq!(bars[0].lower, 0.0);
        assert!(bars.windows(2).all(|w| w[0].upper == w[1].lower));
        assert_eq!(bars[0].rating, Some(Rating::Good));
        assert_eq!(bars[9].rating, Some(Rating::Poor));
    }

    #[test]
    fn empty_and_degenerate_inputs() {
        assert!(histogram(VitalName::Cls, &[], 10).is_empty());
        assert!(histogram(VitalName::Cls, &[f64::NAN, -1.0], 10).is_empty());
        let zeros = histogram(VitalName::Cls, &[0.0, 0.0, 0.0], 4);
        assert_eq!(zeros[0].count, 3);
    }
}
