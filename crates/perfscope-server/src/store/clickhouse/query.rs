//! SQL for the read side: one statement per part the range splits into (see `plan`),
//! all sent at once on their own connections, each answering per-group log-bucket
//! counts, summed here into the counts the caller turns into percentiles; and the one
//! way raw events are read, a copy per (site, id) and a page view's latest CLS and INP
//! report only.

use super::http::{quote, Client};
use super::plan::{split, Source};
use super::schema::{rollup_table, Family, REPORTED_AGAIN, SENTINEL};
use crate::store::rollup::{dimension_column, filter_value, filtered_dimensions, Grouping};
use crate::store::Scope;
use perfscope_model::{Dimension, Filter};
use serde::Deserialize;
use std::collections::HashMap;

/// One group's samples in one log bucket (and rating or error flag, and series bucket).
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Cell {
    /// Group key: vital name, dimension value, `method path`, target, or empty.
    pub k: String,
    /// Rating code for vitals (0 good, 1 needs improvement, 2 poor), error flag for
    /// API calls.
    pub r: u8,
    /// Log bucket of the value.
    pub b: i16,
    /// Series bucket start, or 0.
    pub s: i64,
    /// Distinct events.
    pub n: u64,
}

/// What to group by and which rows to count.
pub struct Question<'a> {
    pub family: Family,
    pub scope: &'a Scope,
    /// SQL expression of the group key, on columns every part has.
    pub key: &'a str,
    /// The dimension `key` groups by, if it is one: hour and day rows keep it alone.
    pub by: Option<Dimension>,
    /// Column counted into `r`, or `None` for 0.
    pub flag: Option<&'a str>,
    /// Series bucket width.
    pub series_ms: Option<i64>,
    /// Further conditions (`name = 'LCP'`).
    pub conditions: Vec<String>,
}

pub fn filter_conditions(filter: &Filter) -> Vec<String> {
    filtered_dimensions(filter)
        .into_iter()
        .map(|dimension| {
            let value = filter_value(filter, dimension).expect("filtered");
            format!("{} = {}", dimension_column(dimension), quote(value))
        })
        .collect()
}

/// Rows of raw `table` (with `columns`, which include `site`, `id` and for vitals
/// `name`) that match `condition`: one copy per (site, id), and of CLS and INP only
/// each page view's latest report (greatest `ts`, then the later received, then the
/// greater id), wherever in time its other reports are.
pub fn latest_raw(db: &str, table: &str, columns: &str, condition: &str) -> String {
    let deduplicated =
        format!("SELECT {columns} FROM {db}.{table} WHERE {condition} LIMIT 1 BY site, id");
    if table != "vitals" {
        return deduplicated;
    }
    format!(
        "SELECT * FROM ({deduplicated}) WHERE name NOT IN {REPORTED_AGAIN} OR (site, id) IN \
         (SELECT site, id FROM (SELECT site, page_view, name, id FROM {db}.reports \
          WHERE (site, page_view) IN (SELECT site, page_view FROM {db}.vitals \
            WHERE {condition} AND name IN {REPORTED_AGAIN}) \
          ORDER BY ts DESC, received_ms DESC, id DESC LIMIT 1 BY site, page_view, name))"
    )
}

pub fn cells(client: &Client, question: &Question) -> anyhow::Result<Vec<Cell>> {
    let scope = question.scope;
    let parts = split(scope.range.from, scope.range.to, question.series_ms);
    if parts.is_empty() {
        return Ok(Vec::new());
    }
    let db = client.database();
    let family = question.family;
    let flag = question.flag.unwrap_or("toUInt8(0)");
    let site = format!("site = {}", quote(&scope.site));
    let mut conditions = filter_conditions(&scope.filter);
    conditions.extend(question.conditions.iter().cloned());
    let conditions = if conditions.is_empty() {
        String::new()
    } else {
        format!(" AND {}", conditions.join(" AND "))
    };
    let selects: Vec<String> = parts
        .iter()
        .map(|part| {
            let (from, to) = (part.from, part.to);
            match part.source {
                Source::Raw => {
                    let columns = raw_columns(family);
                    let rows = latest_raw(
                        db,
                        family.raw_table,
                        &columns,
                        &format!("{site} AND ts >= {from} AND ts < {to}"),
                    );
                    format!(
                        "SELECT toString({key}) AS k, toUInt8({flag}) AS r, bucket AS b, \
                         toInt64({series}) AS s, count() AS n FROM ({rows}) \
                         WHERE {filter}{conditions} GROUP BY k, r, b, s",
                        key = question.key,
                        series = series("ts", question.series_ms),
                        filter = family.raw_filter,
                    )
                }
                Source::Rollup(level) => {
                    let table = rollup_table(family, level);
                    let grouping =
                        Grouping::for_query(level.neutral(), &scope.filter, question.by).code();
                    let range = format!("{site} AND t >= {from} AND t < {to}");
                    // Every rebuild writes under a version of its own (see `rebuild`),
                    // so the greatest version of a bucket is one rebuild's cells, each
                    // once: they are summed as they are, without grouping by cell.
                    format!(
                        "SELECT toString({key}) AS k, toUInt8({flag}) AS r, bucket AS b, \
                         toInt64({series}) AS s, sum(events) AS n FROM {db}.{table} \
                         WHERE {range} AND grouping = {grouping} AND events > 0{conditions} \
                         AND (t, version) IN (SELECT t, max(version) FROM {db}.{table} \
                           WHERE {range} AND grouping = {SENTINEL} GROUP BY t) \
                         GROUP BY k, r, b, s",
                        key = question.key,
                        series = series("t", question.series_ms),
                    )
                }
            }
        })
        .collect();
    // The parts are independent: sent together, a question waits for its slowest part
    // rather than for all of them in turn (18.16 runs a `UNION ALL`'s parts one by one
    // on this scale).
    let answers: Vec<anyhow::Result<Vec<Cell>>> = std::thread::scope(|scope| {
        let asked: Vec<_> = selects
            .iter()
            .map(|select| scope.spawn(move || client.rows::<Cell>(select)))
            .collect();
        asked
            .into_iter()
            .map(|part| {
                part.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a ClickHouse read panicked")))
            })
            .collect()
    });
    let mut merged: HashMap<(String, u8, i16, i64), u64> = HashMap::new();
    for answer in answers {
        for cell in answer? {
            *merged.entry((cell.k, cell.r, cell.b, cell.s)).or_default() += cell.n;
        }
    }
    Ok(merged
        .into_iter()
        .map(|((k, r, b, s), n)| Cell { k, r, b, s, n })
        .collect())
}

fn series(time: &str, series_ms: Option<i64>) -> String {
    match series_ms {
        Some(ms) => format!("intDiv({time}, {ms}) * {ms}"),
        None => "toInt64(0)".to_string(),
    }
}

/// The raw columns a family's cells are made of.
pub fn raw_columns(family: Family) -> String {
    let mut columns = vec!["site", "id", "ts"];
    if family.raw_table == "vitals" {
        columns.extend(["page_view", "target"]);
    }
    for key in family.keys {
        if !columns.contains(key) {
            columns.push(key);
        }
    }
    columns.join(", ")
}
