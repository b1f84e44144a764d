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

/// First byte of every blob: how its buckets are laid out. Sparse blobs list the
/// non-empty buckets as (index delta, count) varint pairs, a few bytes for a minute's
/// handful of samples; dense blobs hold one fixed-width count per bucket of the span, so
/// merging a busy hour or day is a straight add over bytes instead of a varint decode
/// per bucket. `encode` writes whichever is smaller; both are always readable.
const SPARSE_ENCODING: u8 = 1;
const DENSE_ENCODING: u8 = 2;

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

    /// Layout byte, count, zero count, min, max, then the buckets (sparse or dense,
    /// whichever is smaller).
    pub fn encode(&self) -> Vec<u8> {
        let first = self.counts.iter().position(|&n| n > 0);
        let last = self.counts.iter().rposition(|&n| n > 0);
        let buckets = first
            .zip(last)
            .map(|(first, last)| &self.counts[first..=last]);
        let dense_width = buckets.map(|b| count_width(b.iter().copied().max().unwrap_or(0)));
        let use_dense = match (buckets, dense_width) {
            (Some(buckets), Some(width)) => buckets.len() * width <= sparse_len(buckets),
            _ => false,
        };
        let mut out = Vec::with_capacity(24 + self.counts.len() * 2);
        out.push(if use_dense {
            DENSE_ENCODING
        } else {
            SPARSE_ENCODING
        });
        put_varint(&mut out, self.count);
        put_varint(&mut out, self.zero_count);
        if self.count > 0 {
            out.extend_from_slice(&self.min.to_le_bytes());
            out.extend_from_slice(&self.max.to_le_bytes());
        }
        let (Some(first), Some(buckets)) = (first, buckets) else {
            return out;
        };
        // The first and last bucket up front, so a merge sizes its array once.
        put_varint(&mut out, zigzag(self.offset + first as i32));
        put_varint(&mut out, (buckets.len() - 1) as u64);
        if use_dense {
            let width = dense_width.expect("buckets are non-empty");
            out.push(width as u8);
            for &n in buckets {
                out.extend_from_slice(&n.to_le_bytes()[..width]);
            }
        } else {
            let mut previous = 0;
            for (i, &n) in buckets.iter().enumerate() {
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
        let dense = match reader.byte()? {
            SPARSE_ENCODING => false,
            DENSE_ENCODING => true,
            _ => return Err(DecodeError("unknown version")),
        };
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
            // Checked before the array grows, so a lying blob cannot make it huge.
            let dense_body = if dense {
                let width = usize::from(reader.byte()?);
                if !matches!(width, 1 | 2 | 4 | 8) {
                    return Err(DecodeError("dense count width is not 1, 2, 4 or 8"));
                }
                let body = &reader.bytes[reader.at..];
                if body.len() != (span as usize + 1) * width {
                    return Err(DecodeError("dense buckets do not fill the declared span"));
                }
                Some((width, body))
            } else {
                None
            };
            self.add_to_bucket(first, 0);
            self.add_to_bucket(last, 0);
            let base = (first - self.offset) as usize;
            let window = &mut self.counts[base..=base + (last - first) as usize];
            if let Some((width, body)) = dense_body {
                bucketed = add_dense(window, width, body);
            } else {
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

/// Bytes per count that hold `max` in a dense blob.
fn count_width(max: u64) -> usize {
    match max {
        0..=0xff => 1,
        0x100..=0xffff => 2,
        0x1_0000..=0xffff_ffff => 4,
        _ => 8,
    }
}

fn varint_len(value: u64) -> usize {
    (64 - value.max(1).leading_zeros() as usize).div_ceil(7)
}

/// Bytes the sparse layout needs for `buckets` (first and last non-empty).
fn sparse_len(buckets: &[u64]) -> usize {
    let mut len = 0;
    let mut previous = 0;
    for (i, &n) in buckets.iter().enumerate() {
        if n > 0 {
            len += varint_len((i - previous) as u64) + varint_len(n);
            previous = i;
        }
    }
    len
}

/// Adds dense little-endian counts of `width` bytes to `window` (same length, checked
/// by the caller); returns their sum. One loop per width so each compiles to a plain
/// widening add; the sum wraps rather than saturates so the loop vectorises, and a
/// wrapped sum of a corrupt blob still disagrees with its header's count.
fn add_dense(window: &mut [u64], width: usize, body: &[u8]) -> u64 {
    let mut sum = 0u64;
    match width {
        1 => {
            for (slot, &n) in window.iter_mut().zip(body) {
                *slot += u64::from(n);
                sum = sum.wrapping_add(u64::from(n));
            }
        }
        2 => {
            for (slot, n) in window.iter_mut().zip(body.chunks_exact(2)) {
                let n = u64::from(u16::from_le_bytes([n[0], n[1]]));
                *slot += n;
                sum = sum.wrapping_add(n);
            }
        }
        4 => {
            for (slot, n) in window.iter_mut().zip(body.chunks_exact(4)) {
                let n = u64::from(u32::from_le_bytes([n[0], n[1], n[2], n[3]]));
                *slot += n;
                sum = sum.wrapping_add(n);
            }
        }
        _ => {
            for (slot, n) in window.iter_mut().zip(body.chunks_exact(8)) {
                let n = u64::from_le_bytes(n.try_into().expect("chunks of 8"));
                *slot = slot.wrapping_add(n);
                sum = sum.wrapping_add(n);
            }
        }
    }
    sum
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

    // Called twice per bucket of every sparse blob a query merges.
    #[inline(always)]
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

    #[test]
    fn busy_sketches_encode_dense_and_sparse_ones_sparse() {
        // A busy hour: thousands of samples filling every bucket of their spread.
        let busy: Vec<f64> = (0..5000).map(|i| 100.0 + f64::from(i % 700)).collect();
        let busy = sketch_of(&busy);
        let bytes = busy.encode();
        assert_eq!(bytes[0], DENSE_ENCODING);
        assert_eq!(Sketch::decode(&bytes).unwrap(), busy);
        // A quiet minute: a few samples far apart.
        let quiet = sketch_of(&[12.0, 800.0, 90_000.0]);
        let bytes = quiet.encode();
        assert_eq!(bytes[0], SPARSE_ENCODING);
        assert_eq!(Sketch::decode(&bytes).unwrap(), quiet);
        // Counts above a byte take a wider dense layout, and merge like the sparse one.
        let heavy: Vec<f64> = (0..50_000).map(|i| 100.0 + f64::from(i % 700)).collect();
        let dense_heavy = sketch_of(&heavy);
        let bytes = dense_heavy.encode();
        assert_eq!(bytes[0], DENSE_ENCODING);
        assert_eq!(bytes[bytes.len() - dense_heavy.counts.len() * 2 - 1], 2);
        let mut merged = sketch_of(&[12.0, 800.0, 90_000.0]);
        merged.merge_encoded(&bytes).unwrap();
        let mut expected = quiet.clone();
        expected.merge(&dense_heavy);
        assert_eq!(merged, expected);
    }

    #[test]
    fn corrupt_dense_blobs_are_errors_not_panics() {
        let busy: Vec<f64> = (0..3000).map(|i| 50.0 + f64::from(i % 300)).collect();
        let good = sketch_of(&busy).encode();
        assert_eq!(good[0], DENSE_ENCODING);
        let mut short = good.clone();
        short.pop();
        assert!(Sketch::decode(&short).is_err());
        let mut long = good.clone();
        long.push(1);
        assert!(Sketch::decode(&long).is_err());
        // The width byte sits right before the counts, one byte per bucket here.
        let span = sketch_of(&busy).counts.len();
        let width_at = good.len() - span - 1;
        assert_eq!(good[width_at], 1);
        for width in [0, 3, 9, 255] {
            let mut bad = good.clone();
            bad[width_at] = width;
            assert!(Sketch::decode(&bad).is_err(), "width {width}");
        }
        // A count that makes the total disagree with the header.
        let mut lying = good.clone();
        *lying.last_mut().unwrap() += 1;
        assert!(Sketch::decode(&lying).is_err());
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
