//! The text alternative of a chart: what a screen reader announces instead of pixels.

use super::series::{ChartPoint, ChartSeries, HistogramBar, SeriesRole, Unit};
use super::units::format_value;

/// "p75: latest 1.2 s, min 850 ms, max 2.4 s. p95: …", one sentence per series.
pub fn series_summary(series: &[ChartSeries], unit: Unit) -> String {
    let sentences: Vec<String> = series
        .iter()
        .filter_map(|s| {
            let stats = stats(&s.points)?;
            let name = match s.role {
                SeriesRole::PreviousPeriod => format!("{} (previous period)", s.label),
                SeriesRole::Primary | SeriesRole::Secondary => s.label.clone(),
            };
            Some(format!(
                "{name}: latest {}, min {}, max {}.",
                format_value(stats.latest, unit),
                format_value(stats.min, unit),
                format_value(stats.max, unit)
            ))
        })
        .collect();
    if sentences.is_empty() {
        "No data for this range.".to_owned()
    } else {
        sentences.join(" ")
    }
}

/// "Latest 1.2 s, min 850 ms, max 2.4 s."
pub fn points_summary(points: &[ChartPoint], unit: Unit) -> String {
    match stats(points) {
        None => "No data for this range.".to_owned(),
        Some(stats) => format!(
            "Latest {}, min {}, max {}.",
            format_value(stats.latest, unit),
            format_value(stats.min, unit),
            format_value(stats.max, unit)
        ),
    }
}

/// "1,234 values; most between 800 ms and 1 s (412)."
pub fn histogram_summary(bars: &[HistogramBar], unit: Unit) -> String {
    let total: u64 = bars.iter().map(|b| b.count).sum();
    let Some(mode) = bars.iter().filter(|b| b.count > 0).max_by_key(|b| b.count) else {
        return "No data for this range.".to_owned();
    };
    format!(
        "{} values; most between {} and {} ({}).",
        crate::format::format_count(total),
        format_value(mode.lower, unit),
        format_value(mode.upper, unit),
        crate::format::format_count(mode.count)
    )
}

struct Stats {
    latest: f64,
    min: f64,
    max: f64,
}

fn stats(points: &[ChartPoint]) -> Option<Stats> {
    let finite = points.iter().filter(|p| p.value.is_finite());
    let latest = finite
        .clone()
        .max_by(|a, b| a.t_ms.total_cmp(&b.t_ms))?
        .value;
    let min = finite
        .clone()
        .map(|p| p.value)
        .fold(f64::INFINITY, f64::min);
    let max = finite.map(|p| p.value).fold(f64::NEG_INFINITY, f64::max);
    Some(Stats { latest, min, max })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(t_ms: f64, value: f64) -> ChartPoint {
        ChartPoint { t_ms, value }
    }

    #[test]
    fn series_summary_names_latest_min_and_max() {
        let series = [
            ChartSeries {
                label: "LCP p75".into(),
                role: SeriesRole::Primary,
                points: vec![point(1.0, 2_400.0), point(2.0, 850.0), point(3.0, 1_200.0)],
            },
            ChartSeries {
                label: "LCP p75".into(),
                role: SeriesRole::PreviousPeriod,
                points: vec![point(1.0, 900.0)],
            },
        ];
        assert_eq!(
            series_summary(&series, Unit::Milliseconds),
            "LCP p75: latest 1.2 s, min 850 ms, max 2.4 s. \
             LCP p75 (previous period): latest 900 ms, min 900 ms, max 900 ms."
        );
    }

    #[test]
    fn empty_data_says_so() {
        assert_eq!(series_summary(&[], Unit::Ratio), "No data for this range.");
        assert_eq!(
            points_summary(&[point(1.0, f64::NAN)], Unit::Ratio),
            "No data for this range."
        );
        assert_eq!(
            histogram_summary(&[], Unit::Ratio),
            "No data for this range."
        );
    }

    #[test]
    fn histogram_summary_names_the_fullest_bar() {
        let bar = |lower, upper, count| HistogramBar {
            lower,
            upper,
            count,
            rating: None,
        };
        let bars = [
            bar(0.0, 500.0, 10),
            bar(500.0, 1_000.0, 1_200),
            bar(1_000.0, 1_500.0, 3),
        ];
        assert_eq!(
            histogram_summary(&bars, Unit::Milliseconds),
            "1,213 values; most between 500 ms and 1 s (1,200)."
        );
    }

    #[test]
    fn points_summary_uses_the_latest_by_time() {
        let points = [point(5.0, 0.5), point(9.0, 0.25), point(7.0, 0.75)];
        assert_eq!(
            points_summary(&points, Unit::Ratio),
            "Latest 25 %, min 25 %, max 75 %."
        );
    }
}
