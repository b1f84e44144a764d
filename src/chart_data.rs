//! Converts the collector's series into the chart components' points.

use crate::charts::{ChartPoint, ChartSeries, SeriesRole};
use perfscope_model::{MonitorPoint, SeriesPoint};

/// One value per bucket; buckets without a value are left out rather than drawn as 0.
pub fn series_points(
    points: &[SeriesPoint],
    value: impl Fn(&SeriesPoint) -> Option<f64>,
) -> Vec<ChartPoint> {
    points
        .iter()
        .filter_map(|point| {
            let v = value(point).filter(|v| v.is_finite())?;
            Some(ChartPoint {
                t_ms: point.ts as f64,
                value: v,
            })
        })
        .collect()
}

/// Monitoring buckets' averages, divided by `scale` (100 turns percentages into the
/// 0..=1 ratios the charts expect).
pub fn monitor_points(points: &[MonitorPoint], scale: f64) -> Vec<ChartPoint> {
    points
        .iter()
        .filter(|point| point.avg.is_finite())
        .map(|point| ChartPoint {
            t_ms: point.ts as f64,
            value: point.avg / scale,
        })
        .collect()
}

/// The previous period's points moved forward by `offset_ms`, onto the current axis.
/// The label stays the metric's: the chart names the role itself.
pub fn previous_period(label: &str, points: Vec<ChartPoint>, offset_ms: i64) -> ChartSeries {
    ChartSeries {
        label: label.to_owned(),
        role: SeriesRole::PreviousPeriod,
        points: points
            .into_iter()
            .map(|p| ChartPoint {
                t_ms: p.t_ms + offset_ms as f64,
                value: p.value,
            })
            .collect(),
    }
}

pub fn primary(label: impl Into<String>, points: Vec<ChartPoint>) -> ChartSeries {
    ChartSeries {
        label: label.into(),
        role: SeriesRole::Primary,
        points,
    }
}

pub fn secondary(label: impl Into<String>, points: Vec<ChartPoint>) -> ChartSeries {
    ChartSeries {
        label: label.into(),
        role: SeriesRole::Secondary,
        points,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(ts: i64, p75: Option<f64>) -> SeriesPoint {
        SeriesPoint {
            ts,
            count: 1,
            p50: None,
            p75,
            p95: None,
            error_rate: None,
        }
    }

    #[test]
    fn empty_buckets_are_gaps_not_zeros() {
        let points = [
            point(0, Some(1.0)),
            point(60, None),
            point(120, Some(f64::NAN)),
        ];
        let chart = series_points(&points, |p| p.p75);
        assert_eq!(
            chart,
            vec![ChartPoint {
                t_ms: 0.0,
                value: 1.0
            }]
        );
    }

    #[test]
    fn previous_period_lands_on_the_current_axis() {
        let before = vec![ChartPoint {
            t_ms: 100.0,
            value: 3.0,
        }];
        let series = previous_period("LCP p75", before, 1_000);
        assert_eq!(series.role, SeriesRole::PreviousPeriod);
        assert_eq!(series.points[0].t_ms, 1_100.0);
        assert_eq!(series.label, "LCP p75");
    }

    #[test]
    fn percentages_become_ratios() {
        let points = [MonitorPoint {
            ts: 5,
            count: 2,
            avg: 42.0,
            min: 40.0,
            max: 44.0,
        }];
        assert_eq!(monitor_points(&points, 100.0)[0].value, 0.42);
    }
}
