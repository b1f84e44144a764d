//! DDSketch-style log buckets: the value → bucket mapping the ClickHouse rollups group
//! by, and nearest-rank percentiles read back from per-bucket counts.
//!
//! Bucket `i` holds values in `(γ^(i-1), γ^i]` and is read back as `2γ^i / (γ + 1)`,
//! which is within `ALPHA` relative error of every value in it. Counts per bucket merge
//! by addition, so any set of rollup cells yields the percentiles of their union.

/// Relative accuracy; below the 1 % the storage trait promises, leaving room for
/// floating-point rounding at bucket edges.
pub const ALPHA: f64 = 0.009;

/// Values at or below this land in the zero bucket and read back as 0 (CLS of a page
/// that never shifted, a TTFB served from cache).
const SMALLEST: f64 = 1e-6;

/// The bucket of values that read back as 0.
pub const ZERO_BUCKET: i16 = i16::MIN;

fn gamma() -> f64 {
    (1.0 + ALPHA) / (1.0 - ALPHA)
}

/// The bucket index of `value` (non-negative; negative values count as 0).
pub fn bucket_of(value: f64) -> i16 {
    // NaN never passes validation; it would land here too.
    if value.is_nan() || value <= SMALLEST {
        return ZERO_BUCKET;
    }
    let index = (value.ln() / gamma().ln()).ceil();
    // Validation caps every value far below γ^32767; the clamp only guards the cast.
    index.clamp(f64::from(i16::MIN + 1), f64::from(i16::MAX)) as i16
}

/// The value bucket `index` stands for.
pub fn value_of(index: i16) -> f64 {
    if index == ZERO_BUCKET {
        return 0.0;
    }
    let g = gamma();
    2.0 * g.powi(i32::from(index)) / (g + 1.0)
}

/// Per-bucket counts of one group of samples, merged from any number of rollup rows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Histogram {
    /// (bucket, count), any order, a bucket may repeat until `percentiles` sorts them.
    counts: Vec<(i16, u64)>,
}

impl Histogram {
    pub fn add(&mut self, bucket: i16, count: u64) {
        if count > 0 {
            self.counts.push((bucket, count));
        }
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().map(|(_, n)| n).sum()
    }

    /// Nearest-rank percentiles for each `p` in 0..=1, in the order given; `None` when
    /// the histogram is empty.
    pub fn percentiles<const N: usize>(&mut self, ps: [f64; N]) -> [Option<f64>; N] {
        let total = self.total();
        if total == 0 {
            return [None; N];
        }
        self.counts.sort_unstable_by_key(|(bucket, _)| *bucket);
        ps.map(|p| {
            let rank = ((p * total as f64).ceil() as u64).clamp(1, total);
            let mut seen = 0;
            self.counts
                .iter()
                .find(|(_, n)| {
                    seen += n;
                    seen >= rank
                })
                .map(|(bucket, _)| value_of(*bucket))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exact nearest-rank percentile of ascending `sorted`, the reference.
    fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
        let rank = (p * sorted.len() as f64).ceil() as usize;
        sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
    }

    /// A deterministic spread over seven orders of magnitude, with ties and zeros.
    fn samples(n: usize, seed: u64) -> Vec<f64> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let unit = (state >> 11) as f64 / (1u64 << 53) as f64;
                match state % 10 {
                    0 => 0.0,
                    1 => 2500.0,
                    _ => 10f64.powf(unit * 7.0 - 3.0),
                }
            })
            .collect()
    }

    #[test]
    fn every_value_reads_back_within_alpha() {
        for value in samples(20_000, 7) {
            let back = value_of(bucket_of(value));
            if value <= SMALLEST {
                assert_eq!(back, 0.0);
            } else {
                assert!(
                    (back - value).abs() <= ALPHA * value * 1.000_001,
                    "{value} → {back}"
                );
            }
        }
    }

    #[test]
    fn percentiles_match_exact_nearest_rank_within_one_percent() {
        for seed in 1..20 {
            let mut values = samples(1 + seed as usize * 97, seed);
            let mut histogram = Histogram::default();
            for v in &values {
                histogram.add(bucket_of(*v), 1);
            }
            values.sort_by(f64::total_cmp);
            let ps = [0.0, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0];
            let got = histogram.percentiles(ps);
            for (p, got) in ps.iter().zip(got) {
                let exact = percentile(&values, *p).unwrap();
                let got = got.unwrap();
                assert!(
                    (got - exact).abs() <= 0.01 * exact,
                    "seed {seed} p{p}: {got} vs exact {exact}"
                );
            }
        }
    }

    #[test]
    fn merged_histograms_equal_one_histogram_of_the_union() {
        let values = samples(1000, 3);
        let mut whole = Histogram::default();
        let mut parts = Histogram::default();
        for (i, v) in values.iter().enumerate() {
            whole.add(bucket_of(*v), 1);
            // Pre-aggregated halves, as two rollup rows would hold them.
            parts.add(bucket_of(*v), if i % 2 == 0 { 1 } else { 0 });
        }
        for v in values.iter().skip(1).step_by(2) {
            parts.add(bucket_of(*v), 1);
        }
        assert_eq!(whole.percentiles([0.75]), parts.percentiles([0.75]));
        assert_eq!(whole.total(), parts.total());
    }

    #[test]
    fn empty_histogram_has_no_percentiles() {
        assert_eq!(Histogram::default().percentiles([0.5, 0.99]), [None, None]);
    }
}
