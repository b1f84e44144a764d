//! perfscope's tables on ClickHouse 18.16 and later: raw events, the rollup cells the
//! writer rebuilds from them (see `rebuild`), and the bookkeeping beside them.
//!
//! Raw tables are `ReplacingMergeTree`s, and every read of them keeps one copy per
//! (site, id) (`LIMIT 1 BY`), so a retried event counts once before any merge did.
//! Rollup cells hold plain counts keyed by (site, grouping, bucket start, the kept
//! dimensions, rating or error flag, log bucket of the value). They are never
//! incremented: each rebuild of a bucket writes all of its cells under one version
//! that grows with what the rebuild read and differs from any other rebuild's, and
//! queries read each bucket's greatest version only (found through its one sentinel
//! row per version). Merges keep the
//! greatest version per cell (`ReplacingMergeTree(version)`), so old versions do not
//! pile up.

use crate::store::rollup;

/// A rollup level: table suffix and bucket width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Level {
    pub name: &'static str,
    pub grain_ms: i64,
}

pub const MINUTE: Level = Level {
    name: "minute",
    grain_ms: 60_000,
};
pub const TEN_MINUTES: Level = Level {
    name: "ten_minute",
    grain_ms: 600_000,
};
pub const HOUR: Level = Level {
    name: "hour",
    grain_ms: 3_600_000,
};
pub const DAY: Level = Level {
    name: "day",
    grain_ms: 86_400_000,
};
pub const LEVELS: [Level; 4] = [MINUTE, TEN_MINUTES, HOUR, DAY];

impl Level {
    /// The backend-neutral level, for the grouping sets it keeps.
    pub fn neutral(self) -> rollup::Level {
        match self.name {
            "minute" => rollup::Level::Minute,
            "ten_minute" => rollup::Level::TenMinutes,
            "hour" => rollup::Level::Hour,
            _ => rollup::Level::Day,
        }
    }
}

/// What rollups are of: vitals, vitals by attribution target, API calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Family {
    pub raw_table: &'static str,
    pub rollup_prefix: &'static str,
    /// Key columns after the bucket start, in sort order.
    pub keys: &'static [&'static str],
    /// Rows of the raw table that belong to this family.
    pub raw_filter: &'static str,
}

const PAGE_VIEW_DIMENSIONS: &str = "route String, device String, browser String, \
     connection String, navigation_type String";

pub const VITALS: Family = Family {
    raw_table: "vitals",
    rollup_prefix: "vital",
    keys: &[
        "name",
        "route",
        "device",
        "browser",
        "connection",
        "navigation_type",
        "rating",
        "bucket",
    ],
    raw_filter: "1",
};

pub const TARGETS: Family = Family {
    raw_table: "vitals",
    rollup_prefix: "target",
    keys: &[
        "name",
        "target",
        "route",
        "device",
        "browser",
        "connection",
        "navigation_type",
        "bucket",
    ],
    raw_filter: "target != ''",
};

pub const API_CALLS: Family = Family {
    raw_table: "api_calls",
    rollup_prefix: "api",
    keys: &[
        "method",
        "path",
        "route",
        "device",
        "browser",
        "connection",
        "navigation_type",
        "is_error",
        "bucket",
    ],
    raw_filter: "1",
};

pub const FAMILIES: [Family; 3] = [VITALS, TARGETS, API_CALLS];

/// Tables the write path inserts into, and so the only names a spill file may use.
pub const INSERT_TABLES: [&str; 5] = [
    "vitals",
    "api_calls",
    "other_events",
    "site_keys",
    "batches",
];

/// Raw tables and their event-id columns, for retention and the duplicate check.
pub const RAW_TABLES: [&str; 3] = ["vitals", "api_calls", "other_events"];

/// The grouping code of the one row per (site, bucket, version) that marks a rebuild,
/// also when it found no events (every report of the bucket was replaced).
pub const SENTINEL: u8 = 255;

/// The vitals of which a page view counts only its latest report.
pub const REPORTED_AGAIN: &str = "('CLS', 'INP')";

fn column_type(column: &str) -> &'static str {
    match column {
        "rating" | "is_error" => "UInt8",
        "bucket" => "Int16",
        _ => "String",
    }
}

pub fn rollup_table(family: Family, level: Level) -> String {
    format!("{}_cells_{}", family.rollup_prefix, level.name)
}

/// Every statement, in order, idempotent (`IF NOT EXISTS`), for database `db`.
pub fn statements(db: &str) -> Vec<String> {
    // Daily partitions let retention drop whole days' parts; the sort keys put one
    // site's rows for one metric and time range next to each other.
    let day_partition = "toYYYYMMDD(toDateTime(intDiv(ts, 1000)))";
    let mut sql = vec![
        format!("CREATE DATABASE IF NOT EXISTS {db}"),
        format!(
            "CREATE TABLE IF NOT EXISTS {db}.vitals (site String, id String, ts Int64, \
             name String, value Float64, rating UInt8, bucket Int16, page_view String, \
             {PAGE_VIEW_DIMENSIONS}, target String, attribution String, received_ms Int64) \
             ENGINE = ReplacingMergeTree() PARTITION BY {day_partition} \
             ORDER BY (site, name, ts, id)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {db}.api_calls (site String, id String, ts Int64, \
             method String, path String, status UInt16, duration Float64, outcome String, \
             is_error UInt8, bucket Int16, response_size Int64, timing String, \
             page_view String, {PAGE_VIEW_DIMENSIONS}, received_ms Int64) \
             ENGINE = ReplacingMergeTree() PARTITION BY {day_partition} \
             ORDER BY (site, ts, id)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {db}.other_events (site String, id String, ts Int64, \
             kind String, payload String, page_view String, {PAGE_VIEW_DIMENSIONS}, \
             received_ms Int64) \
             ENGINE = ReplacingMergeTree() PARTITION BY {day_partition} \
             ORDER BY (site, kind, ts, id)"
        ),
        // Looked up by (site, id) to tell a retried event from a new one.
        format!(
            "CREATE TABLE IF NOT EXISTS {db}.event_ids (site String, id String, ts Int64) \
             ENGINE = ReplacingMergeTree() ORDER BY (site, id)"
        ),
        // One row per (site, page view, seq) however often the batch was retried: what
        // trackers say they lost, and the gaps in the seq numbers received.
        format!(
            "CREATE TABLE IF NOT EXISTS {db}.batches (site String, page_view String, \
             seq UInt32, lost UInt32, received_ms Int64) \
             ENGINE = ReplacingMergeTree() ORDER BY (site, page_view, seq)"
        ),
        // Every CLS and INP report by page view: which one is a page view's latest,
        // and which minutes a new report changes.
        format!(
            "CREATE TABLE IF NOT EXISTS {db}.reports (site String, page_view String, \
             name String, ts Int64, received_ms Int64, id String) \
             ENGINE = ReplacingMergeTree() ORDER BY (site, page_view, name, id)"
        ),
        format!(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.reports_from_vitals TO {db}.reports \
             AS SELECT site, page_view, name, ts, received_ms, id FROM {db}.vitals \
             WHERE name IN {REPORTED_AGAIN}"
        ),
        // A rebuild that follows a page view's new report into an older report's minute
        // leaves a token there, so that minute's version grows with the change.
        format!(
            "CREATE TABLE IF NOT EXISTS {db}.touches (site String, t Int64, token String) \
             ENGINE = ReplacingMergeTree() ORDER BY (site, t, token)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {db}.site_keys (site String, kind String, key String) \
             ENGINE = ReplacingMergeTree() ORDER BY (site, kind, key)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {db}.site_days (site String, t Int64, \
             ids AggregateFunction(uniqExact, UInt64), last_seen AggregateFunction(max, Int64)) \
             ENGINE = AggregatingMergeTree() ORDER BY (site, t)"
        ),
    ];
    for raw in RAW_TABLES {
        sql.push(format!(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.event_ids_from_{raw} TO {db}.event_ids \
             AS SELECT site, id, ts FROM {db}.{raw}"
        ));
        sql.push(format!(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.site_days_from_{raw} TO {db}.site_days \
             AS SELECT site, intDiv(ts, {day}) * {day} AS t, \
             uniqExactState(cityHash64(id)) AS ids, maxState(ts) AS last_seen \
             FROM {db}.{raw} GROUP BY site, t",
            day = DAY.grain_ms
        ));
    }
    for family in FAMILIES {
        let keys = family.keys.join(", ");
        let key_columns: Vec<String> = family
            .keys
            .iter()
            .map(|k| format!("{k} {}", column_type(k)))
            .collect();
        for level in LEVELS {
            // Earlier versions filled uniqExact rollups through these views.
            sql.push(format!(
                "DROP TABLE IF EXISTS {db}.{}_{}_mv",
                family.rollup_prefix, level.name
            ));
            sql.push(format!(
                "CREATE TABLE IF NOT EXISTS {db}.{} (site String, t Int64, version UInt64, \
                 grouping UInt8, {}, events UInt64) \
                 ENGINE = ReplacingMergeTree(version) \
                 PARTITION BY toYYYYMM(toDateTime(intDiv(t, 1000))) \
                 ORDER BY (site, grouping, t, {keys})",
                rollup_table(family, level),
                key_columns.join(", ")
            ));
        }
    }
    sql
}
