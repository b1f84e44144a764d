//! Which table answers which part of a time range: whole days from the day rollup,
//! whole hours from the hour rollup, whole ten-minute buckets and minutes from theirs,
//! and only the partial minutes at the edges from raw events. A query so reads at most a few
//! hundred cells per group and two minutes of raw events, whatever the range.
//!
//! The cut is the backend-neutral one of `store::rollup`; this names its levels as
//! ClickHouse's rollup tables.

use super::schema::{Level, DAY, HOUR, MINUTE, TEN_MINUTES};
use crate::store::rollup::{self, coarsest_within, MINUTE_MS};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Raw,
    Rollup(Level),
}

/// A half-open part `[from, to)` of the queried range and where to read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Part {
    pub source: Source,
    pub from: i64,
    pub to: i64,
}

/// Splits `[from, to)` into parts. `bucket_ms`, when given (series), excludes levels
/// whose cells a series bucket would cut in two.
pub fn split(from: i64, to: i64, bucket_ms: Option<i64>) -> Vec<Part> {
    // Buckets of less than whole minutes would cut every rollup cell: raw events only.
    if bucket_ms.is_some_and(|bucket_ms| bucket_ms % MINUTE_MS != 0) {
        return if from < to {
            vec![Part {
                source: Source::Raw,
                from,
                to,
            }]
        } else {
            Vec::new()
        };
    }
    let coarsest = bucket_ms.map_or(rollup::Level::Day, coarsest_within);
    rollup::plan(from, to, coarsest)
        .into_iter()
        .map(|piece| Part {
            source: match piece.source {
                rollup::Source::Raw => Source::Raw,
                rollup::Source::Rollup(level) => Source::Rollup(table_level(level)),
            },
            from: piece.from,
            to: piece.to,
        })
        .collect()
}

fn table_level(level: rollup::Level) -> Level {
    match level {
        rollup::Level::Minute => MINUTE,
        rollup::Level::TenMinutes => TEN_MINUTES,
        rollup::Level::Hour => HOUR,
        rollup::Level::Day => DAY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: i64 = 60_000;
    const H: i64 = 3_600_000;
    const D: i64 = 86_400_000;

    fn covered(parts: &[Part], from: i64, to: i64) {
        assert_eq!(parts.first().unwrap().from, from);
        assert_eq!(parts.last().unwrap().to, to);
        for pair in parts.windows(2) {
            assert_eq!(pair[0].to, pair[1].from, "{parts:?}");
        }
        for p in parts {
            if let Source::Rollup(level) = p.source {
                assert_eq!(p.from % level.grain_ms, 0);
                assert_eq!(p.to % level.grain_ms, 0);
            }
        }
    }

    #[test]
    fn a_month_reads_days_hours_ten_minutes_minutes_and_two_raw_edges() {
        let from = 10 * D + 3 * H + 7 * M + 123;
        let to = 40 * D + 5 * H + 2 * M + 9;
        let parts = split(from, to, None);
        covered(&parts, from, to);
        let raw: Vec<_> = parts.iter().filter(|p| p.source == Source::Raw).collect();
        assert_eq!(raw.len(), 2);
        assert!(raw.iter().all(|p| p.to - p.from < M));
        assert!(parts
            .iter()
            .any(|p| p.source == Source::Rollup(DAY) && p.to - p.from == 29 * D));
        assert!(parts
            .iter()
            .any(|p| p.source == Source::Rollup(TEN_MINUTES) && p.to - p.from == 50 * M));
        // Raw, minutes, ten minutes, hours, days, hours, minutes, raw: the end is at
        // two minutes past an hour, with no whole ten minutes.
        assert_eq!(parts.len(), 8);
    }

    #[test]
    fn short_and_aligned_ranges() {
        assert_eq!(
            split(5, 70, None),
            vec![Part {
                source: Source::Raw,
                from: 5,
                to: 70
            }]
        );
        assert_eq!(
            split(0, 2 * D, None),
            vec![Part {
                source: Source::Rollup(DAY),
                from: 0,
                to: 2 * D
            }]
        );
        assert!(split(10, 10, None).is_empty());
    }

    #[test]
    fn series_buckets_never_split_a_cell() {
        let parts = split(0, 3 * D, Some(5 * M));
        covered(&parts, 0, 3 * D);
        assert!(parts.iter().all(|p| p.source == Source::Rollup(MINUTE)));
        let parts = split(0, 3 * D, Some(H));
        assert!(parts.iter().all(|p| p.source == Source::Rollup(HOUR)));
    }
}
