//! Rebuilding rollup cells after the writer inserted rows: which buckets the rows
//! touched, and the statements that recompute them — minutes from deduplicated raw
//! events (each page view's latest CLS and INP report only), ten minutes from minutes,
//! hours from ten minutes, days from hours.
//!
//! Any collector may rebuild any bucket at any time, concurrently with others. A
//! rebuild reads its buckets' content versions before their content: distinct event
//! ids plus touch tokens for a minute, the sum of the finer buckets' content versions
//! above it. Content versions only grow as rows arrive, so content written under the
//! greatest one is at least as complete as any other, and the rebuild that follows the
//! last insert into a bucket always writes the greatest one. The version stored is the
//! content version shifted left by `COPY_BITS`, with the rebuild's clock (milliseconds,
//! wrapping every 3.1 days) in the bits below: two rebuilds of equal content version
//! (two collectors, or a replay) so still write different versions, the later one the
//! greater, and the greatest version of a bucket is one rebuild's cells, each cell once,
//! which a query sums without grouping by cell. A rebuild writes its cells before its
//! sentinels, so a query only finds a version once all of its cells are there; cells
//! whose sentinel never came (the server went away in between) have the smaller
//! version against the retry's, so merges cannot let them replace the retry's cells.
//! Two collectors rebuilding a bucket to equal content in the same millisecond would
//! write one version twice: its cells then count twice until a merge of the table or
//! the bucket's next rebuild.
//!
//! A flush's minutes are rebuilt one day at a time, so that a long backlog (a replay,
//! or a bulk load) rebuilds in statements of bounded memory.

use super::http::{quote, Client};
use super::schema::{
    rollup_table, Family, Level, API_CALLS, DAY, HOUR, MINUTE, SENTINEL, TARGETS, TEN_MINUTES,
    VITALS,
};
use crate::store::rollup::{dimension_column, Grouping};
use perfscope_model::Dimension;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Bucket starts per site.
type Buckets = BTreeMap<String, BTreeSet<i64>>;
/// Content version per (site, bucket start).
type Versions = BTreeMap<(String, i64), u64>;

/// Low bits of a stored version that tell apart rebuilds of equal content version.
/// Content versions stay far below 2^36 (a day's distinct events and tokens).
pub const COPY_BITS: u32 = 28;

/// The minutes flushed rows fell into, per site and raw table.
#[derive(Default, Debug)]
pub struct Touched {
    vital_minutes: Buckets,
    api_minutes: Buckets,
    /// Page views with a CLS or INP report among the rows: their other reports'
    /// minutes may have lost their latest report.
    reporting_views: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Deserialize)]
struct RawRow {
    site: String,
    ts: i64,
    #[serde(default)]
    name: String,
    #[serde(default)]
    page_view: String,
}

impl Touched {
    /// Notes the buckets of `table`'s JSONEachRow `lines`.
    pub fn add(&mut self, table: &str, lines: &[u8]) -> anyhow::Result<()> {
        let minutes = match table {
            "vitals" => &mut self.vital_minutes,
            "api_calls" => &mut self.api_minutes,
            _ => return Ok(()),
        };
        for line in lines.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let row: RawRow = serde_json::from_slice(line)?;
            let minute = row.ts.div_euclid(MINUTE.grain_ms) * MINUTE.grain_ms;
            minutes.entry(row.site.clone()).or_default().insert(minute);
            if table == "vitals" && matches!(row.name.as_str(), "CLS" | "INP") {
                self.reporting_views
                    .entry(row.site)
                    .or_default()
                    .insert(row.page_view);
            }
        }
        Ok(())
    }
}

/// Brings every bucket that `touched` names, and the hours and days around them, up to
/// date with the raw tables.
pub fn rebuild(client: &Client, mut touched: Touched) -> anyhow::Result<()> {
    follow_reports(client, &mut touched)?;
    let days: BTreeSet<i64> = [&touched.vital_minutes, &touched.api_minutes]
        .into_iter()
        .flat_map(|minutes| minutes.values().flatten())
        .map(|t| t.div_euclid(DAY.grain_ms) * DAY.grain_ms)
        .collect();
    for day in days {
        let vital_minutes = within_day(&touched.vital_minutes, day);
        let versions = raw_versions(client, "vitals", &vital_minutes)?;
        for family in [VITALS, TARGETS] {
            rebuild_family(client, family, &vital_minutes, &versions)?;
        }
        let api_minutes = within_day(&touched.api_minutes, day);
        let versions = raw_versions(client, "api_calls", &api_minutes)?;
        rebuild_family(client, API_CALLS, &api_minutes, &versions)?;
    }
    Ok(())
}

/// The buckets of `buckets` within the day starting at `day`.
fn within_day(buckets: &Buckets, day: i64) -> Buckets {
    buckets
        .iter()
        .filter_map(|(site, starts)| {
            let starts: BTreeSet<i64> = starts.range(day..day + DAY.grain_ms).copied().collect();
            (!starts.is_empty()).then(|| (site.clone(), starts))
        })
        .collect()
}

#[derive(Deserialize)]
struct SiteBucket {
    site: String,
    tt: i64,
}

#[derive(Deserialize)]
struct BucketVersion {
    site: String,
    tt: i64,
    version: u64,
}

#[derive(Serialize)]
struct Touch<'a> {
    site: &'a str,
    t: i64,
    token: &'a str,
}

#[derive(Serialize)]
struct Sentinel<'a> {
    site: &'a str,
    t: i64,
    version: u64,
    grouping: u8,
    events: u64,
}

/// Adds the minutes of every report of the flushed rows' reporting page views, and
/// leaves a token in each so that their versions grow with the change.
fn follow_reports(client: &Client, touched: &mut Touched) -> anyhow::Result<()> {
    if touched.reporting_views.is_empty() {
        return Ok(());
    }
    let condition: Vec<String> = touched
        .reporting_views
        .iter()
        .map(|(site, views)| {
            let views: Vec<String> = views.iter().map(|v| quote(v)).collect();
            format!(
                "(site = {} AND page_view IN ({}))",
                quote(site),
                views.join(",")
            )
        })
        .collect();
    let found: Vec<SiteBucket> = client.rows(&format!(
        "SELECT DISTINCT site, intDiv(ts, {m}) * {m} AS tt FROM {db}.reports WHERE {}",
        condition.join(" OR "),
        m = MINUTE.grain_ms,
        db = client.database()
    ))?;
    let token = format!("{:032x}", rand::random::<u128>());
    let mut rows = Vec::new();
    for bucket in &found {
        serde_json::to_writer(
            &mut rows,
            &Touch {
                site: &bucket.site,
                t: bucket.tt,
                token: &token,
            },
        )?;
        rows.push(b'\n');
        touched
            .vital_minutes
            .entry(bucket.site.clone())
            .or_default()
            .insert(bucket.tt);
    }
    if !rows.is_empty() {
        client.insert("touches", &rows)?;
    }
    Ok(())
}

/// `(site = … AND (column in one of the buckets' ranges)) OR …`, adjacent buckets
/// merged into one range so the primary key narrows the read.
pub fn buckets_condition(buckets: &Buckets, column: &str, width: i64) -> String {
    let per_site: Vec<String> = buckets
        .iter()
        .map(|(site, starts)| {
            let mut ranges: Vec<(i64, i64)> = Vec::new();
            for &start in starts {
                match ranges.last_mut() {
                    Some(range) if range.1 == start => range.1 = start + width,
                    _ => ranges.push((start, start + width)),
                }
            }
            let ranges: Vec<String> = ranges
                .iter()
                .map(|(from, to)| format!("{column} >= {from} AND {column} < {to}"))
                .collect();
            format!("(site = {} AND ({}))", quote(site), ranges.join(" OR "))
        })
        .collect();
    format!("({})", per_site.join(" OR "))
}

fn coarser(buckets: &Buckets, level: Level) -> Buckets {
    buckets
        .iter()
        .map(|(site, starts)| {
            let coarse = starts
                .iter()
                .map(|t| t.div_euclid(level.grain_ms) * level.grain_ms)
                .collect();
            (site.clone(), coarse)
        })
        .collect()
}

fn versions(client: &Client, sql: &str) -> anyhow::Result<Versions> {
    Ok(client
        .rows::<BucketVersion>(sql)?
        .into_iter()
        .map(|row| ((row.site, row.tt), row.version))
        .collect())
}

/// A minute's version: its distinct event ids, plus (vitals) the tokens rebuilds left
/// when a page view's new report changed which of its reports counts.
fn raw_versions(client: &Client, table: &str, minutes: &Buckets) -> anyhow::Result<Versions> {
    if minutes.is_empty() {
        return Ok(Versions::new());
    }
    let db = client.database();
    let m = MINUTE.grain_ms;
    let mut sources = format!(
        "SELECT site, intDiv(ts, {m}) * {m} AS tt, id FROM {db}.{table} WHERE {}",
        buckets_condition(minutes, "ts", m)
    );
    if table == "vitals" {
        sources.push_str(&format!(
            " UNION ALL SELECT site, t AS tt, token AS id FROM {db}.touches WHERE {}",
            buckets_condition(minutes, "t", m)
        ));
    }
    versions(
        client,
        &format!(
            "SELECT site, tt, toUInt64(uniqExact(id)) AS version FROM ({sources}) \
             GROUP BY site, tt"
        ),
    )
}

/// A bucket's content version one level up: the sum of its finer buckets' greatest
/// content versions.
fn cell_versions(
    client: &Client,
    family: Family,
    finer: Level,
    level: Level,
    buckets: &Buckets,
) -> anyhow::Result<Versions> {
    let w = level.grain_ms;
    versions(
        client,
        &format!(
            "SELECT site, intDiv(t, {w}) * {w} AS tt, \
             toUInt64(sum(bitShiftRight(v, {COPY_BITS}))) AS version FROM \
             (SELECT site, t, max(version) AS v FROM {db}.{table} \
              WHERE grouping = {SENTINEL} AND {condition} GROUP BY site, t) \
             GROUP BY site, tt",
            db = client.database(),
            table = rollup_table(family, finer),
            condition = buckets_condition(buckets, "t", w),
        ),
    )
}

fn rebuild_family(
    client: &Client,
    family: Family,
    minutes: &Buckets,
    minute_versions: &Versions,
) -> anyhow::Result<()> {
    if minutes.is_empty() {
        return Ok(());
    }
    let db = client.database();
    let keys = family.keys.join(", ");
    let m = MINUTE.grain_ms;
    let raw = super::query::latest_raw(
        db,
        family.raw_table,
        &super::query::raw_columns(family),
        &buckets_condition(minutes, "ts", m),
    );
    let from_raw = format!(
        "SELECT site, intDiv(ts, {m}) * {m} AS tt, arrayJoin([{codes}]) AS g, {keys}, \
         toUInt64(1) AS e FROM ({raw}) WHERE {filter}",
        codes = codes(MINUTE, |_| true),
        filter = family.raw_filter,
    );
    write_level(client, family, MINUTE, minute_versions, &from_raw)?;

    let mut buckets = minutes.clone();
    for (finer, level) in [(MINUTE, TEN_MINUTES), (TEN_MINUTES, HOUR), (HOUR, DAY)] {
        buckets = coarser(&buckets, level);
        let versions = cell_versions(client, family, finer, level, &buckets)?;
        // Minutes and ten minutes keep only the total and full groupings: an hour takes
        // every grouping from the full rows of its ten minutes; the other levels take
        // each grouping from the same one of their finer buckets.
        let (sources, grouping) = if finer.neutral().groupings() != level.neutral().groupings() {
            (
                Grouping::Full.code().to_string(),
                format!("arrayJoin([{}])", codes(level, |_| true)),
            )
        } else {
            (codes(finer, |_| true), "grouping".to_string())
        };
        let w = level.grain_ms;
        let finer_table = rollup_table(family, finer);
        let condition = buckets_condition(&buckets, "t", w);
        // The greatest version of a finer bucket holds each of its cells once.
        let from_cells = format!(
            "SELECT site, intDiv(t, {w}) * {w} AS tt, {grouping} AS g, {keys}, events AS e \
             FROM {db}.{finer_table} \
             WHERE {condition} AND grouping IN ({sources}) AND events > 0 \
             AND (site, t, version) IN (SELECT site, t, max(version) FROM {db}.{finer_table} \
               WHERE {condition} AND grouping = {SENTINEL} GROUP BY site, t)"
        );
        write_level(client, family, level, &versions, &from_cells)?;
    }
    Ok(())
}

/// The grouping codes `level` keeps that pass `keep`, comma-separated.
fn codes(level: Level, keep: impl Fn(Grouping) -> bool) -> String {
    let codes: Vec<String> = level
        .neutral()
        .groupings()
        .iter()
        .filter(|g| keep(**g))
        .map(|g| g.code().to_string())
        .collect();
    codes.join(", ")
}

fn dimension_of(column: &str) -> Option<Dimension> {
    Dimension::ALL
        .into_iter()
        .find(|d| dimension_column(*d) == column)
}

/// Writes every bucket of `versions` (content versions) at `level` under versions of
/// this rebuild's own: the cells `source` yields (`site, tt, g, <family keys>, e` rows,
/// summed per cell with the dimensions grouping `g` does not keep emptied), then one
/// sentinel per bucket.
fn write_level(
    client: &Client,
    family: Family,
    level: Level,
    versions: &Versions,
    source: &str,
) -> anyhow::Result<()> {
    if versions.is_empty() {
        return Ok(());
    }
    let table = rollup_table(family, level);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64);
    let copy = now_ms & ((1 << COPY_BITS) - 1);
    let stored = |content: u64| (content << COPY_BITS) | copy;
    let names: Vec<String> = versions
        .keys()
        .map(|(site, t)| quote(&format!("{site}/{t}")))
        .collect();
    let numbers: Vec<String> = versions
        .values()
        .map(|v| format!("toUInt64({})", stored(*v)))
        .collect();
    let mut projected = Vec::new();
    let mut grouped = Vec::new();
    for key in family.keys {
        match dimension_of(key) {
            Some(dimension) => {
                let keeping = codes(level, |g| g.keeps(dimension));
                projected.push(format!("if(g IN ({keeping}), {key}, '') AS p_{key}"));
                grouped.push(format!("p_{key}"));
            }
            None => {
                projected.push(key.to_string());
                grouped.push(key.to_string());
            }
        }
    }
    client.command(&format!(
        "INSERT INTO {db}.{table} (site, t, version, grouping, {keys}, events) \
         SELECT site, tt, transform(concat(site, '/', toString(tt)), [{names}], [{numbers}], \
         toUInt64(0)) AS version, g, {projected}, sum(e) AS events FROM ({source}) \
         GROUP BY site, tt, g, {grouped}",
        db = client.database(),
        keys = family.keys.join(", "),
        names = names.join(", "),
        numbers = numbers.join(", "),
        projected = projected.join(", "),
        grouped = grouped.join(", "),
    ))?;

    let mut sentinels = Vec::new();
    for ((site, t), version) in versions {
        serde_json::to_writer(
            &mut sentinels,
            &Sentinel {
                site,
                t: *t,
                version: stored(*version),
                grouping: SENTINEL,
                events: 0,
            },
        )?;
        sentinels.push(b'\n');
    }
    client.insert(&table, &sentinels)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(starts: &[i64]) -> Buckets {
        [("s".to_string(), starts.iter().copied().collect())].into()
    }

    #[test]
    fn adjacent_buckets_become_one_range() {
        let m = MINUTE.grain_ms;
        assert_eq!(
            buckets_condition(&site(&[0, m, 2 * m, 5 * m]), "ts", m),
            format!(
                "((site = 's' AND (ts >= 0 AND ts < {} OR ts >= {} AND ts < {})))",
                3 * m,
                5 * m,
                6 * m
            )
        );
    }

    #[test]
    fn coarser_buckets_cover_the_finer_ones() {
        let h = HOUR.grain_ms;
        let minutes = site(&[0, 59 * MINUTE.grain_ms, h + 1, 25 * h]);
        assert_eq!(coarser(&minutes, HOUR), site(&[0, h, 25 * h]));
        assert_eq!(
            coarser(&coarser(&minutes, HOUR), DAY),
            site(&[0, DAY.grain_ms])
        );
    }

    #[test]
    fn touched_minutes_and_reporting_page_views() {
        let mut touched = Touched::default();
        let vitals = concat!(
            r#"{"site":"s","id":"a","ts":60001,"name":"LCP","page_view":"p"}"#,
            "\n",
            r#"{"site":"s","id":"b","ts":125000,"name":"CLS","page_view":"q"}"#,
            "\n"
        );
        touched.add("vitals", vitals.as_bytes()).unwrap();
        touched
            .add("api_calls", br#"{"site":"t","id":"c","ts":5}"#)
            .unwrap();
        touched.add("batches", b"not even json").unwrap();
        assert_eq!(touched.vital_minutes, site(&[60_000, 120_000]));
        assert_eq!(touched.api_minutes, [("t".to_string(), [0].into())].into());
        assert_eq!(
            touched.reporting_views,
            [("s".to_string(), ["q".to_string()].into())].into()
        );
    }
}
