//! SQL for the read side: one statement per question, a `UNION ALL` of the parts the
//! range splits into (see `plan`), answering per-group log-bucket counts that the
//! caller turns into percentiles.

use super::http::{quote, Client};
use super::plan::{split, Source};
use super::schema::{rollup_table, Family};
use crate::store::rollup::{dimension_column, filter_value, filtered_dimensions};
use crate::store::Scope;
use perfscope_model::Filter;
use serde::Deserialize;

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

pub fn cells(client: &Client, question: &Question) -> anyhow::Result<Vec<Cell>> {
    let scope = question.scope;
    let parts = split(scope.range.from, scope.range.to, question.series_ms);
    if parts.is_empty() {
        return Ok(Vec::new());
    }
    let db = client.database();
    let flag = question.flag.unwrap_or("toUInt8(0)");
    let mut conditions = vec![format!("site = {}", quote(&scope.site))];
    conditions.extend(filter_conditions(&scope.filter));
    conditions.extend(question.conditions.iter().cloned());
    let selects: Vec<String> = parts
        .iter()
        .map(|part| {
            let (table, time, count, extra) = match part.source {
                Source::Raw => (
                    question.family.raw_table.to_string(),
                    "ts",
                    "uniqExact(id)",
                    format!(" AND {}", question.family.raw_filter),
                ),
                Source::Rollup(level) => (
                    rollup_table(question.family, level),
                    "t",
                    "uniqExactMerge(ids)",
                    String::new(),
                ),
            };
            let series = match question.series_ms {
                Some(ms) => format!("intDiv({time}, {ms}) * {ms}"),
                None => "toInt64(0)".to_string(),
            };
            format!(
                "SELECT toString({key}) AS k, toUInt8({flag}) AS r, bucket AS b, \
                 toInt64({series}) AS s, {count} AS c FROM {db}.{table} \
                 WHERE {conditions} AND {time} >= {from} AND {time} < {to}{extra} \
                 GROUP BY k, r, b, s",
                key = question.key,
                conditions = conditions.join(" AND "),
                from = part.from,
                to = part.to,
            )
        })
        .collect();
    let sql = format!(
        "SELECT k, r, b, s, sum(c) AS n FROM ({}) GROUP BY k, r, b, s",
        selects.join(" UNION ALL ")
    );
    client.rows(&sql)
}
