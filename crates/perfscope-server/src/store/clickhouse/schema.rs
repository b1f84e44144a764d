//! perfscope's tables on ClickHouse 18.16 and later: raw events, the rollup levels the
//! materialized views fill from them, and the keys the cardinality guard admitted.
//!
//! Raw tables are `ReplacingMergeTree`s, so a retried event eventually occupies one row.
//! Rollup cells are `AggregatingMergeTree` rows keyed by (site, bucket start, the page
//! view's dimensions, rating or error flag, log bucket of the value) holding
//! `uniqExactState` of the event ids' hashes: a retried event lands in the same cell as
//! its first copy, so counting ids, not rows, stores each (site, id) once however often
//! it was inserted, by however many collectors, before or after any merge.

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
pub const HOUR: Level = Level {
    name: "hour",
    grain_ms: 3_600_000,
};
pub const DAY: Level = Level {
    name: "day",
    grain_ms: 86_400_000,
};
pub const LEVELS: [Level; 3] = [MINUTE, HOUR, DAY];

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

fn column_type(column: &str) -> &'static str {
    match column {
        "rating" | "is_error" => "UInt8",
        "bucket" => "Int16",
        _ => "String",
    }
}

pub fn rollup_table(family: Family, level: Level) -> String {
    format!("{}_{}", family.rollup_prefix, level.name)
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
            let table = rollup_table(family, level);
            sql.push(format!(
                "CREATE TABLE IF NOT EXISTS {db}.{table} (site String, t Int64, {}, \
                 ids AggregateFunction(uniqExact, UInt64)) \
                 ENGINE = AggregatingMergeTree() \
                 PARTITION BY toYYYYMM(toDateTime(intDiv(t, 1000))) \
                 ORDER BY (site, t, {keys})",
                key_columns.join(", ")
            ));
            sql.push(format!(
                "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.{table}_mv TO {db}.{table} \
                 AS SELECT site, intDiv(ts, {grain}) * {grain} AS t, {keys}, \
                 uniqExactState(cityHash64(id)) AS ids FROM {db}.{raw} \
                 WHERE {filter} GROUP BY site, t, {keys}",
                grain = level.grain_ms,
                raw = family.raw_table,
                filter = family.raw_filter,
            ));
        }
    }
    sql
}
