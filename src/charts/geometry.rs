//! Where data lands on the canvas and back: the time axis a chart spans, pixel scales,
//! the nearest point under the pointer, and thinning long series to what the canvas can
//! show.

use super::series::{ChartPoint, ChartSeries, HistogramBar};

/// The point of any series closest to the pointer along the time axis, and which
/// series it belongs to. Series are sorted by time, so this is a binary search each.
pub fn nearest_point(series: &[ChartSeries], t_ms: f64) -> Option<(usize, ChartPoint)> {
    series
        .iter()
        .enumerate()
        .filter_map(|(index, s)| nearest_in(&s.points, t_ms).map(|p| (index, p)))
        .min_by(|(_, a), (_, b)| (a.t_ms - t_ms).abs().total_cmp(&(b.t_ms - t_ms).abs()))
}

fn nearest_in(points: &[ChartPoint], t_ms: f64) -> Option<ChartPoint> {
    let after = points.partition_point(|p| p.t_ms < t_ms);
    let before = after.checked_sub(1).and_then(|i| points.get(i));
    match (before, points.get(after)) {
        (Some(b), Some(a)) if (t_ms - b.t_ms) <= (a.t_ms - t_ms) => Some(*b),
        (_, Some(a)) => Some(*a),
        (Some(b), None) => Some(*b),
        (None, None) => None,
    }
}

/// The bar whose range holds `value`, or the closest one when the pointer is beside them.
pub fn bar_at(bars: &[HistogramBar], value: f64) -> Option<&HistogramBar> {
    // Containing beats touching: 10 belongs to 10..20, not to 0..10.
    let key = |bar: &HistogramBar| {
        let inside = bar.lower <= value && value < bar.upper;
        let distance = (bar.lower - value).abs().min((bar.upper - value).abs());
        (!inside, if inside { 0.0 } else { distance })
    };
    bars.iter().min_by(|a, b| {
        let (a, b) = (key(a), key(b));
        a.0.cmp(&b.0).then(a.1.total_cmp(&b.1))
    })
}

/// Linear map from a data interval onto a pixel interval (which may run backwards, as
/// the value axis does: larger values are higher up, at smaller y).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scale {
    pub domain: (f64, f64),
    pub range: (f64, f64),
}

impl Scale {
    pub fn to_pixel(self, value: f64) -> f64 {
        let (d0, d1) = self.domain;
        let (r0, r1) = self.range;
        if d1 == d0 {
            return (r0 + r1) / 2.0;
        }
        r0 + (value - d0) / (d1 - d0) * (r1 - r0)
    }

    pub fn to_value(self, pixel: f64) -> f64 {
        let (d0, d1) = self.domain;
        let (r0, r1) = self.range;
        if r1 == r0 {
            return d0;
        }
        d0 + (pixel - r0) / (r1 - r0) * (d1 - d0)
    }
}

/// The time span covered by all series together; `None` when there is no point.
pub fn time_extent(series: &[ChartSeries]) -> Option<(f64, f64)> {
    extent(series.iter().flat_map(|s| s.points.iter().map(|p| p.t_ms)))
}

/// What a time-series chart shows: its series cut to the time axis, and that axis.
#[derive(Clone, Debug, PartialEq)]
pub struct Framed {
    pub series: Vec<ChartSeries>,
    /// The x-axis, epoch milliseconds, `from < to`.
    pub domain: (f64, f64),
}

/// The chart's frame: with a `range` (the filter bar's from → to) the axis spans it
/// whatever the data covers, so a gap or a late start looks like one, and points outside
/// it are left out; without one the axis spans the data. `None` when no point is left
/// to draw.
pub fn frame(series: &[ChartSeries], range: Option<(f64, f64)>) -> Option<Framed> {
    let range = range.filter(|(from, to)| from.is_finite() && to.is_finite() && from < to);
    let series: Vec<ChartSeries> = match range {
        Some((from, to)) => series
            .iter()
            .map(|s| ChartSeries {
                label: s.label.clone(),
                role: s.role,
                points: s
                    .points
                    .iter()
                    .filter(|p| from <= p.t_ms && p.t_ms <= to)
                    .copied()
                    .collect(),
            })
            .collect(),
        None => series.to_vec(),
    };
    let (first, last) = time_extent(&series)?;
    value_extent(&series)?;
    let domain = match range {
        Some(range) => range,
        // One point still needs a time span to sit in.
        None if last <= first => (first - 60_000.0, last + 60_000.0),
        None => (first, last),
    };
    Some(Framed { series, domain })
}

/// The smallest and largest value of all series together.
pub fn value_extent(series: &[ChartSeries]) -> Option<(f64, f64)> {
    extent(series.iter().flat_map(|s| s.points.iter().map(|p| p.value)))
}

fn extent(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((f64::min(lo, v), f64::max(hi, v))),
        })
}

/// Thins a series to at most about `buckets × 2` points by keeping each bucket's
/// lowest and highest value in time order: a 30-day minute series has 43 200 points
/// for a canvas a few hundred pixels wide, and the spikes are what matters in
/// performance data, so min/max keeps them where averaging would flatten them.
pub fn downsample(points: &[ChartPoint], buckets: usize) -> Vec<ChartPoint> {
    let buckets = buckets.max(1);
    if points.len() <= buckets * 2 {
        return points.to_vec();
    }
    let size = points.len().div_ceil(buckets);
    let mut out = Vec::with_capacity(buckets * 2);
    for chunk in points.chunks(size) {
        let by_value = |a: &&ChartPoint, b: &&ChartPoint| a.value.total_cmp(&b.value);
        let (Some(low), Some(high)) =
            (chunk.iter().min_by(by_value), chunk.iter().max_by(by_value))
        else {
            continue;
        };
        if low == high {
            out.push(*low);
        } else if low.t_ms <= high.t_ms {
            out.extend([*low, *high]);
        } else {
            out.extend([*high, *low]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charts::series::SeriesRole;

    fn point(t_ms: f64, value: f64) -> ChartPoint {
        ChartPoint { t_ms, value }
    }

    fn series(points: Vec<ChartPoint>) -> ChartSeries {
        ChartSeries {
            label: "p75".into(),
            role: SeriesRole::Primary,
            points,
        }
    }

    #[test]
    fn nearest_point_picks_the_closer_neighbour() {
        let s = [series(vec![
            point(0.0, 1.0),
            point(10.0, 2.0),
            point(20.0, 3.0),
        ])];
        assert_eq!(nearest_point(&s, 4.0), Some((0, point(0.0, 1.0))));
        assert_eq!(nearest_point(&s, 6.0), Some((0, point(10.0, 2.0))));
        assert_eq!(nearest_point(&s, -50.0), Some((0, point(0.0, 1.0))));
        assert_eq!(nearest_point(&s, 99.0), Some((0, point(20.0, 3.0))));
    }

    #[test]
    fn nearest_point_searches_every_series() {
        let s = [
            series(vec![point(0.0, 1.0), point(100.0, 2.0)]),
            series(vec![point(48.0, 9.0)]),
        ];
        assert_eq!(nearest_point(&s, 50.0), Some((1, point(48.0, 9.0))));
    }

    #[test]
    fn nearest_point_of_nothing_is_none() {
        assert_eq!(nearest_point(&[], 1.0), None);
        assert_eq!(nearest_point(&[series(vec![])], 1.0), None);
    }

    #[test]
    fn scale_maps_both_ways_including_reversed_ranges() {
        let y = Scale {
            domain: (0.0, 100.0),
            range: (200.0, 0.0),
        };
        assert_eq!(y.to_pixel(0.0), 200.0);
        assert_eq!(y.to_pixel(25.0), 150.0);
        assert_eq!(y.to_value(150.0), 25.0);
        let flat = Scale {
            domain: (5.0, 5.0),
            range: (0.0, 10.0),
        };
        assert_eq!(flat.to_pixel(5.0), 5.0);
    }

    #[test]
    fn extents_skip_non_finite_values() {
        let s = [series(vec![
            point(5.0, f64::NAN),
            point(1.0, 4.0),
            point(9.0, -2.0),
        ])];
        assert_eq!(time_extent(&s), Some((1.0, 9.0)));
        assert_eq!(value_extent(&s), Some((-2.0, 4.0)));
        assert_eq!(value_extent(&[]), None);
    }

    #[test]
    fn a_range_sets_the_axis_and_cuts_what_lies_outside() {
        let s = [series(vec![
            point(50.0, 1.0),
            point(100.0, 2.0),
            point(150.0, 3.0),
            point(400.0, 4.0),
        ])];
        let framed = frame(&s, Some((0.0, 300.0))).expect("points inside the range");
        assert_eq!(
            framed.domain,
            (0.0, 300.0),
            "the range, not the data's extent"
        );
        assert_eq!(
            framed.series[0].points,
            vec![point(50.0, 1.0), point(100.0, 2.0), point(150.0, 3.0)]
        );
        assert_eq!(frame(&s, Some((500.0, 900.0))), None, "nothing in range");
    }

    #[test]
    fn without_a_usable_range_the_axis_spans_the_data() {
        let s = [series(vec![point(50.0, 1.0), point(150.0, 3.0)])];
        assert_eq!(frame(&s, None).unwrap().domain, (50.0, 150.0));
        assert_eq!(frame(&s, Some((9.0, 9.0))).unwrap().domain, (50.0, 150.0));
        assert_eq!(
            frame(&s, Some((f64::NAN, 9.0))).unwrap().domain,
            (50.0, 150.0)
        );
        let lone = [series(vec![point(1_000_000.0, 1.0)])];
        assert_eq!(frame(&lone, None).unwrap().domain, (940_000.0, 1_060_000.0));
        assert_eq!(frame(&[series(vec![])], Some((0.0, 1.0))), None);
    }

    #[test]
    fn downsampling_keeps_spikes_and_order() {
        let mut points: Vec<ChartPoint> = (0..10_000).map(|i| point(f64::from(i), 1.0)).collect();
        points[4_321].value = 50.0;
        points[7_000].value = -3.0;
        let thin = downsample(&points, 100);
        assert!(thin.len() <= 200, "{} points", thin.len());
        assert!(thin.iter().any(|p| p.value == 50.0));
        assert!(thin.iter().any(|p| p.value == -3.0));
        assert!(thin.windows(2).all(|w| w[0].t_ms < w[1].t_ms));
    }

    #[test]
    fn bar_at_finds_the_bar_under_the_pointer() {
        let bar = |lower, upper| HistogramBar {
            lower,
            upper,
            count: 1,
            rating: None,
        };
        let bars = [bar(0.0, 10.0), bar(10.0, 20.0), bar(20.0, 30.0)];
        assert_eq!(bar_at(&bars, 10.0), Some(&bars[1]));
        assert_eq!(bar_at(&bars, 29.9), Some(&bars[2]));
        assert_eq!(bar_at(&bars, -4.0), Some(&bars[0]));
        assert_eq!(bar_at(&bars, 31.0), Some(&bars[2]));
        assert_eq!(bar_at(&[], 1.0), None);
    }

    #[test]
    fn short_series_are_not_downsampled() {
        let points = vec![point(0.0, 1.0), point(1.0, 2.0)];
        assert_eq!(downsample(&points, 100), points);
    }
}
