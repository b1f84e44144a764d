//! Rollup levels, the grouping sets kept at each, and how a time range is cut into the
//! coarsest pieces that cover it exactly.
//!
//! Backend-neutral: which rows exist and which pieces a query reads. The SQL lives in
//! each backend (`sqlite.rs`, `clickhouse/`).

use perfscope_model::{Dimension, Filter};

pub const MINUTE_MS: i64 = 60_000;
pub const TEN_MINUTES_MS: i64 = 10 * MINUTE_MS;
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// One rollup table: buckets of a fixed width, aligned to the Unix epoch (UTC days).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    Minute,
    /// Between minutes and hours so that the ragged ends of a range, which cannot use
    /// hour rows, read at most nine minute rows and five of these per group instead of
    /// up to fifty-nine minute rows: at busy sites those ends were what grew with
    /// traffic, since a busier minute holds more of the distinct endpoints and routes.
    TenMinutes,
    Hour,
    Day,
}

impl Level {
    pub const ALL: [Level; 4] = [Level::Minute, Level::TenMinutes, Level::Hour, Level::Day];

    pub fn width_ms(self) -> i64 {
        match self {
            Level::Minute => MINUTE_MS,
            Level::TenMinutes => TEN_MINUTES_MS,
            Level::Hour => HOUR_MS,
            Level::Day => DAY_MS,
        }
    }

    /// How the level is named in table names and settings.
    pub fn name(self) -> &'static str {
        match self {
            Level::Minute => "minute",
            Level::TenMinutes => "ten_minute",
            Level::Hour => "hour",
            Level::Day => "day",
        }
    }

    /// The next finer level, whose rows cover what this level's rows cannot.
    pub fn finer(self) -> Option<Level> {
        match self {
            Level::Minute => None,
            Level::TenMinutes => Some(Level::Minute),
            Level::Hour => Some(Level::TenMinutes),
            Level::Day => Some(Level::Hour),
        }
    }

    pub fn bucket_of(self, ts: i64) -> i64 {
        ts.div_euclid(self.width_ms()) * self.width_ms()
    }

    /// Grouping sets kept at this level. Minute and ten-minute rows are read only for
    /// the ragged ends of a range (at most two hours' worth) and for short series, so a
    /// scan of their full-key rows stays small; hour and day rows also keep one set per
    /// dimension so a breakdown or a one-dimension filter over months stays a few
    /// hundred rows.
    pub fn groupings(self) -> &'static [Grouping] {
        const FINE: [Grouping; 2] = [Grouping::Total, Grouping::Full];
        match self {
            Level::Minute | Level::TenMinutes => &FINE,
            Level::Hour | Level::Day => &Grouping::ALL,
        }
    }
}

/// Which dimensions a rollup row keeps; the others hold `ANY`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Grouping {
    /// Every dimension aggregated away: what an unfiltered overview reads.
    Total,
    /// One dimension kept.
    Single(Dimension),
    /// All dimensions kept.
    Full,
}

/// Stored in a dimension column of a row that aggregated over that dimension. Real
/// values are never empty (routes start with `/`, the rest are enum names).
pub const ANY: &str = "";

impl Grouping {
    /// Every grouping: what hour and day rollups keep, and what ingest computes.
    pub const ALL: [Grouping; 7] = [
        Grouping::Total,
        Grouping::Full,
        Grouping::Single(Dimension::Route),
        Grouping::Single(Dimension::Device),
        Grouping::Single(Dimension::Browser),
        Grouping::Single(Dimension::Connection),
        Grouping::Single(Dimension::NavigationType),
    ];

    pub fn code(self) -> i64 {
        match self {
            Grouping::Total => 0,
            Grouping::Full => 1,
            Grouping::Single(d) => match d {
                Dimension::Route => 2,
                Dimension::Device => 3,
                Dimension::Browser => 4,
                Dimension::Connection => 5,
                Dimension::NavigationType => 6,
            },
        }
    }

    pub fn keeps(self, dimension: Dimension) -> bool {
        match self {
            Grouping::Total => false,
            Grouping::Full => true,
            Grouping::Single(d) => d == dimension,
        }
    }

    /// The cheapest grouping at `level` that can answer a query filtering on `filter`'s
    /// dimensions and grouping by `by`.
    pub fn for_query(level: Level, filter: &Filter, by: Option<Dimension>) -> Grouping {
        let mut needed: Vec<Dimension> = filtered_dimensions(filter);
        if let Some(by) = by {
            if !needed.contains(&by) {
                needed.push(by);
            }
        }
        let wanted = match needed.as_slice() {
            [] => Grouping::Total,
            [one] => Grouping::Single(*one),
            _ => Grouping::Full,
        };
        if level.groupings().contains(&wanted) {
            wanted
        } else {
            Grouping::Full
        }
    }
}

pub fn filtered_dimensions(filter: &Filter) -> Vec<Dimension> {
    let mut dims = Vec::new();
    if filter.route.is_some() {
        dims.push(Dimension::Route);
    }
    if filter.device.is_some() {
        dims.push(Dimension::Device);
    }
    if filter.browser.is_some() {
        dims.push(Dimension::Browser);
    }
    if filter.connection.is_some() {
        dims.push(Dimension::Connection);
    }
    if filter.navigation_type.is_some() {
        dims.push(Dimension::NavigationType);
    }
    dims
}

/// The column a dimension is stored in, in every backend's tables.
pub fn dimension_column(dimension: Dimension) -> &'static str {
    match dimension {
        Dimension::Route => "route",
        Dimension::Device => "device",
        Dimension::Browser => "browser",
        Dimension::Connection => "connection",
        Dimension::NavigationType => "navigation_type",
    }
}

/// The filter's value for a dimension, as stored.
pub fn filter_value(filter: &Filter, dimension: Dimension) -> Option<&str> {
    match dimension {
        Dimension::Route => filter.route.as_deref(),
        Dimension::Device => filter.device.map(|d| d.as_str()),
        Dimension::Browser => filter.browser.as_deref(),
        Dimension::Connection => filter.connection.map(|c| c.as_str()),
        Dimension::NavigationType => filter.navigation_type.map(|n| n.as_str()),
    }
}

/// Where one part of a range is read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Raw events, for the parts of a range that do not fill a whole minute.
    Raw,
    Rollup(Level),
}

/// A half-open slice `[from, to)` of a query range and where to read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    pub source: Source,
    pub from: i64,
    pub to: i64,
}

/// Cuts `[from, to)` into pieces: the largest stretch of whole days from day rollups,
/// the whole hours around it from hour rollups, then whole ten-minute buckets, whole
/// minutes, and the sub-minute ends from raw events. `coarsest` caps the level (a
/// series whose buckets are smaller than a day must not read day rows that straddle
/// its buckets). The count of pieces is bounded (≤ 9), and each reads a number of rows
/// that follows the buckets it spans, not the events in them.
pub fn plan(from: i64, to: i64, coarsest: Level) -> Vec<Piece> {
    let mut pieces = Vec::new();
    if from >= to {
        return pieces;
    }
    split(from, to, coarsest, &mut pieces);
    pieces.sort_by_key(|p| p.from);
    pieces
}

fn split(from: i64, to: i64, level: Level, out: &mut Vec<Piece>) {
    let width = level.width_ms();
    let start = ceil_to(from, width);
    let end = to.div_euclid(width) * width;
    let finer = level.finer();
    if start >= end {
        match finer {
            Some(finer) => split(from, to, finer, out),
            None => out.push(Piece {
                source: Source::Raw,
                from,
                to,
            }),
        }
        return;
    }
    out.push(Piece {
        source: Source::Rollup(level),
        from: start,
        to: end,
    });
    for (edge_from, edge_to) in [(from, start), (end, to)] {
        if edge_from < edge_to {
            match finer {
                Some(finer) => split(edge_from, edge_to, finer, out),
                None => out.push(Piece {
                    source: Source::Raw,
                    from: edge_from,
                    to: edge_to,
                }),
            }
        }
    }
}

fn ceil_to(value: i64, width: i64) -> i64 {
    let floor = value.div_euclid(width) * width;
    if floor == value {
        floor
    } else {
        floor + width
    }
}

/// The coarsest level whose buckets never straddle a series bucket of `bucket_ms`.
pub fn coarsest_within(bucket_ms: i64) -> Level {
    Level::ALL
        .into_iter()
        .rev()
        .find(|level| bucket_ms % level.width_ms() == 0)
        .unwrap_or(Level::Minute)
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfscope_model::DeviceClass;
    use proptest::prelude::*;

    #[test]
    fn an_unaligned_month_uses_days_hours_minutes_and_raw_ends() {
        let from = 3 * DAY_MS - 2 * HOUR_MS - 23 * MINUTE_MS - 500;
        let to = 33 * DAY_MS + HOUR_MS + 22 * MINUTE_MS + 7;
        let pieces = plan(from, to, Level::Day);
        let sources: Vec<Source> = pieces.iter().map(|p| p.source).collect();
        assert_eq!(
            sources,
            vec![
                Source::Raw,
                Source::Rollup(Level::Minute),
                Source::Rollup(Level::TenMinutes),
                Source::Rollup(Level::Hour),
                Source::Rollup(Level::Day),
                Source::Rollup(Level::Hour),
                Source::Rollup(Level::TenMinutes),
                Source::Rollup(Level::Minute),
                Source::Raw,
            ]
        );
        assert_eq!(pieces[4].to - pieces[4].from, 30 * DAY_MS);
        assert_eq!(
            (pieces[1].to - pieces[1].from, pieces[2].to - pieces[2].from),
            (3 * MINUTE_MS, 2 * TEN_MINUTES_MS)
        );
    }

    #[test]
    fn a_range_inside_one_minute_is_raw() {
        assert_eq!(
            plan(4000, 9000, Level::Day),
            vec![Piece {
                source: Source::Raw,
                from: 4000,
                to: 9000
            }]
        );
        assert!(plan(9000, 9000, Level::Day).is_empty());
    }

    #[test]
    fn series_levels_divide_their_buckets() {
        assert_eq!(coarsest_within(MINUTE_MS), Level::Minute);
        assert_eq!(coarsest_within(5 * MINUTE_MS), Level::Minute);
        assert_eq!(coarsest_within(30 * MINUTE_MS), Level::TenMinutes);
        assert_eq!(coarsest_within(HOUR_MS), Level::Hour);
        assert_eq!(coarsest_within(DAY_MS), Level::Day);
    }

    #[test]
    fn groupings_follow_filters() {
        let mut filter = Filter::default();
        assert_eq!(
            Grouping::for_query(Level::Day, &filter, None),
            Grouping::Total
        );
        assert_eq!(
            Grouping::for_query(Level::Day, &filter, Some(Dimension::Route)),
            Grouping::Single(Dimension::Route)
        );
        assert_eq!(
            Grouping::for_query(Level::Minute, &filter, Some(Dimension::Route)),
            Grouping::Full
        );
        filter.device = Some(DeviceClass::Mobile);
        assert_eq!(
            Grouping::for_query(Level::Hour, &filter, Some(Dimension::Device)),
            Grouping::Single(Dimension::Device)
        );
        assert_eq!(
            Grouping::for_query(Level::Hour, &filter, Some(Dimension::Route)),
            Grouping::Full
        );
    }

    proptest! {
        #[test]
        fn pieces_tile_the_range_and_align_to_their_level(
            from in -10 * DAY_MS..100 * DAY_MS,
            len in 0i64..40 * DAY_MS,
        ) {
            let to = from + len;
            let pieces = plan(from, to, Level::Day);
            let mut at = from;
            for piece in &pieces {
                prop_assert_eq!(piece.from, at);
                prop_assert!(piece.from < piece.to);
                if let Source::Rollup(level) = piece.source {
                    prop_assert_eq!(piece.from % level.width_ms(), 0);
                    prop_assert_eq!(piece.to % level.width_ms(), 0);
                } else {
                    prop_assert!(piece.to - piece.from < 2 * MINUTE_MS);
                }
                at = piece.to;
            }
            prop_assert_eq!(at, to.max(from));
            prop_assert!(pieces.len() <= 9);
        }
    }
}
