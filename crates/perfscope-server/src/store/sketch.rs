//! A mergeable log-bucket quantile sketch (DDSketch-style) and its compact byte encoding.
//!
//! Ours rather than a crate's: the published DDSketch crates pick the rank as
//! `q·(n−1)`, which can land on a different sample than the nearest-rank percentile the
//! API promises (for two samples, p75 is the larger one by nearest rank, the smaller by
//! `round(0.75·1)`), so their answers are not within 1 % of ours for small counts. They
//! also offer no stable compact encoding to keep in SQLite and merge inside a SQL
//! function. This one is small: bucket `i` holds values in `(γ^(i−1), γ^i]`, the
//! reported value is the bucket's midpoint in relative terms, and min/max are exact.

/// Relative accuracy of every reported quantile: just under the 1 % the API promises,
/// so float rounding in `ln` never takes an answer past it. Not finer: a query's cost is
/// the buckets it merges, and a full day's histogram has ~1/(2·accuracy) buckets per
/// factor e of spread.
pub const RELATIVE_ACCURACY: f64 = 0.009;

/// Values at or below this are counted as zero: nothing a browser measures is smaller,
/// and it keeps bucket indices in a small range.
const MIN_INDEXED_VALUE: f64 = 1e-9;

/// Bucket indices any finite value above `MIN_INDEXED_VALUE` can have, with margin; a
/// decoded blob outside them is corrupt (and would make the dense array huge).
const MIN_BUCKET: i32 = -4000;
const MAX_BUCKET: i32 = 80_000;

/// Format version of `encode`, first byte of every blob.
const ENCODING_VERSION: u8 = 1;

#[derive(Clone, Debug, PartialEq)]
pub struct Sketch {
    zero_count: u64,
    /// Dense counts for buckets `offset .. offset + counts.len()`.
    offset: i32,
    counts: Vec<u64>,
    count: u64,
    min: f64,
    max: f64,
}

impl Default for Sketch {
    fn default() -> Self {
        Sketch::new()
    }
}

fn gamma_ln() -> f64 {
    let gamma = (1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY);
    gamma.ln()
}

fn bucket_of(value: f64) -> i32 {
    (value.ln() / gamma_ln()).ceil() as i32
}

/// The value every sample in bucket `index` is reported as: within
/// `RELATIVE_ACCURACY` of each of them.
fn bucket_value(index: i32) -> f64 {
    let gamma_ln = gamma_ln();
    let gamma = gamma_ln.exp();
    2.0 * (f64::from(index) * gamma_ln).exp() / (gamma + 1.0)
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("corrupt sketch encoding: {0}")]
pub struct DecodeError(&'static str);

impl Sketch {
    pub fn new() -> Sketch {
        Sketch {
            zero_count: 0,
            offset: 0,
            counts: Vec::new(),
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Non-finite values are not measurements; validation keeps them out, and here they
    /// are ignored rather than poisoning min/max.
    pub fn add(&mut self, value: f64) {
        if !value.is_finite() {
            return;
        }
        self.count += 1;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        if value <= MIN_INDEXED_VALUE {
            self.zero_count += 1;
        } else {
            self.add_to_bucket(bucket_of(value), 1);
        }
    }

    fn add_to_bucket(&mut self, index: i32, n: u64) {
        if self.counts.is_empty() {
            self.offset = index;
            self.counts.push(n);
            return;
        }
        if index < self.offset {
            let grow = (self.offset - index) as usize;
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.offset = index;
        }
        let at = (index - self.offset) as usize;
        if at >= self.counts.len() {
            self.counts.resize(at + 1, 0);
        }
        self.counts[at] += n;
    }

    pub fn merge(&mut self, other: &Sketch) {
        if other.count == 0 {
            return;
        }
        self.count += other.count;
        self.zero_count += other.zero_count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        if other.counts.is_empty() {
            return;
        }
        // Grow once to cover both ranges, then add element-wise.
        let last = other.offset + other.counts.len() as i32 - 1;
        self.add_to_bucket(other.offset, 0);
        self.add_to_bucket(last, 0);
        let start = (other.offset - self.offset) as usize;
        for (slot, n) in self.counts[start..].iter_mut().zip(&other.counts) {
            *slot += n;
        }
    }

    /// Takes `other`'s samples out again: how a page view's replaced CLS or INP report
    /// leaves the rollup cell it was counted in. Bucket and total counts stay exact;
    /// when a removed sample may have been the smallest (or largest), the bound becomes
    /// the value of the lowest (highest) non-empty bucket, which is within
    /// `RELATIVE_ACCURACY` of every sample left there. Samples that were never added are
    /// ignored rather than driving a count below zero.
    pub fn remove(&mut self, other: &Sketch) {
        if other.count == 0 || self.count == 0 {
            return;
        }
        self.zero_count = self.zero_count.saturating_sub(other.zero_count);
        for (i, &n) in other.counts.iter().enumerate() {
            let index = other.offset + i as i32;
            if n == 0 || index < self.offset {
                continue;
            }
            if let Some(slot) = self.counts.get_mut((index - self.offset) as usize) {
                *slot = slot.saturating_sub(n);
            }
        }
        self.count = self.zero_count + self.counts.iter().sum::<u64>();
        let first = self.counts.iter().position(|&n| n > 0);
        let last = self.counts.iter().rposition(|&n| n > 0);
        let (Some(first), Some(last)) = (first, last) else {
            // Only zeros (or nothing) are left.
            self.counts.clear();
            if self.count == 0 {
                *self = Sketch::new();
            } else {
                self.max = self.max.min(MIN_INDEXED_VALUE).max(self.min);
            }
            return;
        };
        self.counts.truncate(last + 1);
        self.counts.drain(..first);
        self.offset += first as i32;
        let lowest = bucket_value(self.offset);
        let highest = bucket_value(self.offset + self.counts.len() as i32 - 1);
        if self.zero_count == 0 && other.min <= self.min {
            self.min = lowest;
        }
        if other.max >= self.max {
            self.max = highest;
        }
        self.min = self.min.min(self.max);
    }

    /// Nearest-rank quantile, `q` in 0..=1: the value of the ⌈q·n⌉-th smallest sample,
    /// within `RELATIVE_ACCURACY`. `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).clamp(1, self.count);
        // The smallest and largest samples are known exactly.
        if rank == 1 {
            return Some(self.min);
        }
        if rank == self.count {
            return Some(self.max);
        }
        if rank <= self.zero_count {
            return Some(self.min.clamp(0.0, MIN_INDEXED_VALUE));
        }
        let mut seen = self.zero_count;
        for (i, n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let value = bucket_value(self.offset + i as i32);
                // The sample is within [min, max], so clamping only brings us closer.
                return Some(value.clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }

    /// Version, count, zero count, min, max, then the non-empty buckets as
    /// (index delta, count) varint pairs: a few bytes for a minute's handful of samples.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24 + self.counts.len() * 2);
        out.push(ENCODING_VERSION);
        put_varint(&mut out, self.count);
        put_varint(&mut out, self.zero_count);
        if self.count > 0 {
            out.extend_from_slice(&self.min.to_le_bytes());
            out.extend_from_slice(&self.max.to_le_bytes());
        }
        // The first and last bucket up front, so a merge sizes its array once; then
        // each non-empty bucket as (distance from the previous one, count).
        let first = self.counts.iter().position(|&n| n > 0);
        let last = self.counts.iter().rposition(|&n| n > 0);
        if let (Some(first), Some(last)) = (first, last) {
            put_varint(&mut out, zigzag(self.offset + first as i32));
            put_varint(&mut out, (last - first) as u64);
            let mut previous = first;
            for (i, &n) in self.counts.iter().enumerate().skip(first) {
                if n == 0 {
                    continue;
                }
                put_varint(&mut out, (i - previous) as u64);
                put_varint(&mut out, n);
                previous = i;
            }
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Sketch, DecodeError> {
        let mut sketch = Sketch::new();
        sketch.merge_encoded(bytes)?;
        Ok(sketch)
    }

    /// Adds an encoded sketch without building it first: how queries fold many rollup
    /// rows into one answer.
    pub fn merge_encoded(&mut self, bytes: &[u8]) -> Result<(), DecodeError> {
        let mut reader = Reader { bytes, at: 0 };
        if reader.byte()? != ENCODING_VERSION {
            return Err(DecodeError("unknown version"));
        }
        let count = reader.varint()?;
        let zero_count = reader.varint()?;
        if count == 0 {
            return Ok(());
        }
        let min = f64::from_le_bytes(reader.array()?);
        let max = f64::from_le_bytes(reader.array()?);
        // `quantile` clamps between them, which needs two ordered finite numbers.
        if !(min.is_finite() && max.is_finite() && min <= max) {
            return Err(DecodeError("min and max are not an interval"));
        }
        let mut bucketed = 0u64;
        if !reader.is_done() {
            let first = unzigzag(reader.varint()?);
            let span = reader.varint()?;
            let last = i64::from(first) + span.min(u64::from(u32::MAX)) as i64;
            if !(i64::from(MIN_BUCKET)..=i64::from(MAX_BUCKET)).contains(&i64::from(first))
                || last > i64::from(MAX_BUCKET)
            {
                return Err(DecodeError("bucket index out of range"));
            }
            let last = last as i32;
            self.add_to_bucket(first, 0);
            self.add_to_bucket(last, 0);
            let base = (first - self.offset) as usize;
            let window = &mut self.counts[base..=base + (last - first) as usize];
            let mut at = 0usize;
            while !reader.is_done() {
                at = at.saturating_add(reader.varint()? as usize);
                let n = reader.varint()?;
                let slot = window
                    .get_mut(at)
                    .ok_or(DecodeError("bucket beyond the declared range"))?;
                *slot += n;
                bucketed = bucketed.saturating_add(n);
            }
        }
        if bucketed.saturating_add(zero_count) != count {
            return Err(DecodeError("counts do not add up"));
        }
        self.count += count;
        self.zero_count += zero_count;
        self.min = self.min.min(min);
        self.max = self.max.max(max);
        Ok(())
    }
}

fn zigzag(value: i32) -> u64 {
    u64::from(((value << 1) ^ (value >> 31)) as u32)
}

fn unzigzag(value: u64) -> i32 {
    let value = value as u32;
    ((value >> 1) as i32) ^ -((value & 1) as i32)
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn is_done(&self) -> bool {
        self.at >= self.bytes.len()
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        let byte = *self.bytes.get(self.at).ok_or(DecodeError("truncated"))?;
        self.at += 1;
        Ok(byte)
    }

    fn array(&mut self) -> Result<[u8; 8], DecodeError> {
        let slice = self
            .bytes
            .get(self.at..self.at + 8)
            .ok_or(DecodeError("truncated"))?;
        self.at += 8;
        Ok(slice.try_into().expect("slice of 8"))
    }

    #[inline]
    fn varint(&mut self) -> Result<u64, DecodeError> {
        // Most counts and distances fit one byte.
        if let Some(&byte) = self.bytes.get(self.at) {
            if byte < 0x80 {
                self.at += 1;
                return Ok(u64::from(byte));
            }
        }
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError("varint too long"))
    }
}

/// Exact nearest-rank percentile of `sorted` (ascending); `p` in 0..=1. The reference
/// the sketch is held to.
pub fn nearest_rank(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sketch_of(values: &[f64]) -> Sketch {
        let mut sketch = Sketch::new();
        values.iter().for_each(|v| sketch.add(*v));
        sketch
    }

    #[test]
    fn nearest_rank_reference() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(nearest_rank(&values, 0.75), Some(75.0));
        assert_eq!(nearest_rank(&values, 0.0), Some(1.0));
        assert_eq!(nearest_rank(&values, 1.0), Some(100.0));
        assert_eq!(nearest_rank(&[1.0, 2.0, 3.0, 4.0], 0.75), Some(3.0));
        assert_eq!(nearest_rank(&[], 0.75), None);
    }

    #[test]
    fn small_counts_are_exact_at_the_ends() {
        let sketch = sketch_of(&[1200.0]);
        assert_eq!(sketch.quantile(0.75), Some(1200.0));
        let sketch = sketch_of(&[10.0, 30.0]);
        assert_eq!(sketch.quantile(0.75), Some(30.0));
        let p50 = sketch.quantile(0.5).unwrap();
        assert!((p50 - 10.0).abs() <= 10.0 * RELATIVE_ACCURACY, "{p50}");
        assert_eq!(sketch.quantile(0.0), Some(10.0));
        assert_eq!(Sketch::new().quantile(0.5), None);
    }

    #[test]
    fn zeros_and_tiny_cls_values() {
        let sketch = sketch_of(&[0.0, 0.0, 0.0, 0.05]);
        assert_eq!(sketch.quantile(0.5), Some(0.0));
        let p100 = sketch.quantile(1.0).unwrap();
        assert_eq!(p100, 0.05);
    }

    #[test]
    fn corrupt_blobs_are_errors_not_panics() {
        assert!(Sketch::decode(&[]).is_err());
        assert!(Sketch::decode(&[9]).is_err());
        let mut good = sketch_of(&[1.0, 2.0]).encode();
        good.pop();
        assert!(Sketch::decode(&good).is_err());
        assert!(Sketch::decode(&[1, 5, 0]).is_err());
        // A bucket past the declared last one.
        let mut bad = sketch_of(&[1.0, 2.0]).encode();
        let span_at = bad.len() - 5;
        bad[span_at] = 0;
        assert!(Sketch::decode(&bad).is_err());
    }

    fn values() -> impl Strategy<Value = Vec<f64>> {
        // Magnitudes from CLS scores to hour-long durations, with many repeats.
        prop::collection::vec(
            prop_oneof![
                0.0001f64..1.0,
                1.0f64..10_000.0,
                10_000.0f64..3_600_000.0,
                Just(0.0),
                Just(2500.0),
            ],
            1..400,
        )
    }

    proptest! {
        #[test]
        fn quantiles_are_within_the_relative_accuracy_of_nearest_rank(
            values in values(),
            q in 0.0f64..=1.0,
        ) {
            let sketch = sketch_of(&values);
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let exact = nearest_rank(&sorted, q).unwrap();
            let estimate = sketch.quantile(q).unwrap();
            let error = if exact == 0.0 { estimate } else { (estimate - exact).abs() / exact };
            prop_assert!(error <= RELATIVE_ACCURACY * 1.0001,
                "q={q} exact={exact} estimate={estimate} error={error}");
        }

        #[test]
        fn removing_a_subset_leaves_the_rest(kept in values(), removed in values()) {
            let mut sketch = sketch_of(&kept);
            sketch.merge(&sketch_of(&removed));
            sketch.remove(&sketch_of(&removed));
            let mut sorted = kept.clone();
            sorted.sort_by(f64::total_cmp);
            prop_assert_eq!(sketch.count(), kept.len() as u64);
            for q in [0.0, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0] {
                let exact = nearest_rank(&sorted, q).unwrap();
                let estimate = sketch.quantile(q).unwrap();
                let error = if exact <= MIN_INDEXED_VALUE {
                    estimate
                } else {
                    (estimate - exact).abs() / exact
                };
                prop_assert!(error <= RELATIVE_ACCURACY * 1.0001,
                    "q={q} exact={exact} estimate={estimate}");
            }
            let decoded = Sketch::decode(&sketch.encode()).unwrap();
            prop_assert_eq!(decoded.count(), sketch.count());
            sketch.remove(&sketch_of(&kept));
            prop_assert!(sketch.is_empty());
        }

        #[test]
        fn merging_equals_sketching_the_union(a in values(), b in values()) {
            let mut merged = sketch_of(&a);
            merged.merge(&sketch_of(&b));
            let union: Vec<f64> = a.iter().chain(&b).copied().collect();
            let direct = sketch_of(&union);
            for q in [0.5, 0.75, 0.9, 0.95, 0.99] {
                prop_assert_eq!(merged.quantile(q), direct.quantile(q));
            }
            let mut from_bytes = Sketch::decode(&sketch_of(&a).encode()).unwrap();
            from_bytes.merge_encoded(&sketch_of(&b).encode()).unwrap();
            prop_assert_eq!(from_bytes.count(), direct.count());
            for q in [0.5, 0.75, 0.9, 0.95, 0.99] {
                prop_assert_eq!(from_bytes.quantile(q), direct.quantile(q));
            }
        }
    }
}
