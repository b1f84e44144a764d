//! The scale-out backend: the storage trait on a ClickHouse server, over its HTTP
//! interface, so that any number of collectors share one store.
//!
//! Writes go through a buffering writer (at most about one INSERT per table per
//! second, an fsynced local spill file in between), which then rebuilds the rollup
//! cells its rows touched (`rebuild`); reads flush this process's buffer first, then
//! merge rollup cells (see `schema` and `plan`).

mod cardinality;
mod http;
mod log_buckets;
mod plan;
mod query;
mod rebuild;
mod rows;
mod schema;
mod schema_version;
mod writer;

use self::http::{quote, Client, Endpoint};
use self::log_buckets::Histogram;
use self::query::{cells, filter_conditions, latest_raw, Cell, Question};
use self::rebuild::{rebuild, Touched};
use self::rows::{event_ids, TableRows};
use self::schema::{LEVELS, RAW_TABLES};
pub use self::writer::WriterStats;
use self::writer::{AfterInsert, FlushPolicy, Writer};
use super::export::ApiCallSample;
use super::rollup::dimension_column;
use super::summary::{
    endpoint_summary, slowest_first, top_breakdown_rows, top_targets, vital_summary,
    ENDPOINT_QUANTILES, VITAL_QUANTILES,
};
use super::{
    AcceptedBatch, InsertOutcome, RetentionPolicy, RetentionReport, Scope, SeriesMetric, Store,
};
use anyhow::{bail, Context};
use cardinality::CardinalityGuard;
use perfscope_model::{
    BreakdownRow, ConnectionType, DeviceClass, Dimension, EndpointSummary, NavigationType,
    SeriesPoint, SiteInfo, TargetSummary, VitalName, VitalSample, VitalSummary,
};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How to reach ClickHouse and how this collector behaves towards it.
#[derive(Clone, Debug)]
pub struct ClickHouseOptions {
    /// `clickhouse://host:port/db` or `http://host:8123/db`.
    pub url: String,
    /// Where acknowledged rows wait while ClickHouse is unreachable.
    pub spill_dir: PathBuf,
    pub max_routes_per_site: usize,
    pub max_endpoints_per_site: usize,
    /// A flush happens this long after the first unflushed row at the latest…
    pub flush_interval: Duration,
    /// …or as soon as this many rows wait.
    pub flush_rows: usize,
}

impl ClickHouseOptions {
    pub fn new(url: impl Into<String>, spill_dir: impl Into<PathBuf>) -> ClickHouseOptions {
        let flush = FlushPolicy::default();
        ClickHouseOptions {
            url: url.into(),
            spill_dir: spill_dir.into(),
            max_routes_per_site: 500,
            max_endpoints_per_site: 500,
            flush_interval: flush.interval,
            flush_rows: flush.max_rows,
        }
    }
}

pub struct ClickHouseStore {
    client: Arc<Client>,
    writer: Writer,
    guard: CardinalityGuard,
    schema_ready: Arc<AtomicBool>,
    recent_ids: Mutex<RecentIds>,
}

/// Ids this process appended lately: they may still wait in the writer's buffer, where
/// the duplicate check against ClickHouse cannot see them. Two generations, swapped
/// every `RECENT_WINDOW`, keep ids for at least that long, far beyond a flush.
struct RecentIds {
    current: HashSet<(String, String)>,
    previous: HashSet<(String, String)>,
    since: Instant,
}

const RECENT_WINDOW: Duration = Duration::from_secs(10);

impl RecentIds {
    fn contains(&self, key: &(String, String)) -> bool {
        self.current.contains(key) || self.previous.contains(key)
    }

    fn insert(&mut self, key: (String, String)) {
        if self.since.elapsed() >= RECENT_WINDOW {
            self.previous = std::mem::take(&mut self.current);
            self.since = Instant::now();
        }
        self.current.insert(key);
    }
}

const HTTP_TIMEOUT: Duration = Duration::from_secs(60);

fn ensure_schema(client: &Client, ready: &AtomicBool) -> anyhow::Result<()> {
    if ready.load(Ordering::Acquire) {
        return Ok(());
    }
    let mut statements = schema::statements(client.database());
    if schema_version::check(client)? == schema_version::Layout::Fresh {
        // Right after CREATE DATABASE, before any other table.
        statements.splice(1..1, schema_version::record(client.database()));
    }
    for statement in statements {
        client
            .command(&statement)
            .with_context(|| format!("creating the ClickHouse schema: {statement}"))?;
    }
    ready.store(true, Ordering::Release);
    Ok(())
}

impl ClickHouseStore {
    /// Connects, creates the schema when ClickHouse answers (later, at the first
    /// insert, when it does not yet), and starts the writer, which first replays what a
    /// previous process left in `spill_dir`.
    pub fn open(options: ClickHouseOptions) -> anyhow::Result<ClickHouseStore> {
        let endpoint = Endpoint::parse(&options.url)?;
        let client = Arc::new(Client::new(endpoint, HTTP_TIMEOUT));
        let schema_ready = Arc::new(AtomicBool::new(false));
        if let Err(err) = ensure_schema(&client, &schema_ready) {
            if err.is::<schema_version::IncompatibleSchema>() {
                return Err(err);
            }
            tracing::warn!(error = %format!("{err:#}"), "ClickHouse not ready; accepted rows are spilled until it is");
        }
        let policy = FlushPolicy {
            interval: options.flush_interval,
            max_rows: options.flush_rows,
            ..FlushPolicy::default()
        };
        let prepare = {
            let client = Arc::clone(&client);
            let ready = Arc::clone(&schema_ready);
            Box::new(move || ensure_schema(&client, &ready))
        };
        let after_insert: AfterInsert = {
            let client = Arc::clone(&client);
            Box::new(move |tables: &BTreeMap<&'static str, Vec<u8>>| {
                let mut touched = Touched::default();
                for (table, lines) in tables {
                    touched.add(table, lines)?;
                }
                rebuild(&client, touched).context("rebuilding rollups")
            })
        };
        let writer = Writer::start(
            Arc::clone(&client),
            &options.spill_dir,
            policy,
            prepare,
            after_insert,
        )?;
        Ok(ClickHouseStore {
            client,
            writer,
            guard: CardinalityGuard::new(
                options.max_routes_per_site,
                options.max_endpoints_per_site,
            ),
            schema_ready,
            recent_ids: Mutex::new(RecentIds {
                current: HashSet::new(),
                previous: HashSet::new(),
                since: Instant::now(),
            }),
        })
    }

    /// Sends everything this process acknowledged to ClickHouse now (queries do this
    /// themselves; other processes' queries need it to see this one's latest rows).
    pub fn flush(&self) -> anyhow::Result<()> {
        self.writer.flush()
    }

    pub fn writer_stats(&self) -> WriterStats {
        self.writer.stats()
    }

    /// Read-your-writes: this process's acknowledged rows are in ClickHouse before any
    /// query reads.
    fn before_query(&self) -> anyhow::Result<()> {
        ensure_schema(&self.client, &self.schema_ready)?;
        self.writer.flush()
    }

    /// Which of `keys` ClickHouse already stores. An unreachable server knows none:
    /// the outcome then counts a retried event as stored, while storage still keeps it
    /// once.
    fn stored_ids(&self, keys: &[(String, String)]) -> HashSet<(String, String)> {
        // While flushes fail, asking would only add a timeout to every acknowledgement.
        if keys.is_empty() || !self.schema_ready.load(Ordering::Acquire) || self.writer.is_failing()
        {
            return HashSet::new();
        }
        let mut by_site: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (site, id) in keys {
            by_site.entry(site).or_default().push(quote(id));
        }
        let condition: Vec<String> = by_site
            .iter()
            .map(|(site, ids)| format!("(site = {} AND id IN ({}))", quote(site), ids.join(",")))
            .collect();
        let sql = format!(
            "SELECT site, id FROM {}.event_ids WHERE {} GROUP BY site, id",
            self.client.database(),
            condition.join(" OR ")
        );
        #[derive(Deserialize)]
        struct Key {
            site: String,
            id: String,
        }
        match self.client.rows::<Key>(&sql) {
            Ok(rows) => rows.into_iter().map(|k| (k.site, k.id)).collect(),
            Err(err) => {
                tracing::debug!(error = %err, "duplicate check skipped");
                HashSet::new()
            }
        }
    }
}

/// Percentiles and rating counts of one vital from its cells.
fn vital_summary_of<'a>(name: VitalName, cells: impl Iterator<Item = &'a Cell>) -> VitalSummary {
    let mut histogram = Histogram::default();
    // Rating codes: 0 good, 1 needs improvement, anything else poor.
    let mut ratings = [0; 3];
    for cell in cells {
        histogram.add(cell.b, cell.n);
        ratings[usize::from(cell.r.min(2))] += cell.n;
    }
    vital_summary(
        name,
        histogram.total(),
        ratings,
        histogram.percentiles(VITAL_QUANTILES),
    )
}

fn group_by_key(cells: Vec<Cell>) -> BTreeMap<String, Vec<Cell>> {
    let mut groups: BTreeMap<String, Vec<Cell>> = BTreeMap::new();
    for cell in cells {
        groups.entry(cell.k.clone()).or_default().push(cell);
    }
    groups
}

fn name_condition(name: VitalName) -> String {
    format!("name = {}", quote(name.as_str()))
}

#[derive(Deserialize)]
struct SampleRow {
    id: String,
    at: i64,
    page_view: String,
    route: String,
    value: f64,
    device: String,
    browser: String,
    connection: String,
    navigation_type: String,
    target: String,
}

#[derive(Deserialize)]
struct ApiCallRow {
    id: String,
    at: i64,
    page_view: String,
    route: String,
    method: String,
    path: String,
    status: u16,
    duration: f64,
    outcome: String,
    /// -1 when the browser did not know it (see `rows::encode`).
    response_size: i64,
    device: String,
    browser: String,
    connection: String,
    navigation_type: String,
}

#[derive(Deserialize)]
struct SiteRow {
    site: String,
    events: u64,
    last_seen: i64,
    lost_events: u64,
    missing_batches: u64,
}

#[derive(Deserialize)]
struct CountRow {
    n: u64,
}

#[derive(Deserialize)]
struct PendingMutations {
    n: u64,
}

impl ClickHouseStore {
    fn count(&self, sql: &str) -> anyhow::Result<u64> {
        Ok(self
            .client
            .rows::<CountRow>(sql)?
            .first()
            .map_or(0, |row| row.n))
    }

    /// `ALTER … DELETE` is asynchronous on ClickHouse; retention is done when the
    /// mutations are.
    fn wait_for_mutations(&self) -> anyhow::Result<()> {
        let sql = format!(
            "SELECT count() AS n FROM system.mutations WHERE database = {} AND is_done = 0",
            quote(self.client.database())
        );
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let pending = self
                .client
                .rows::<PendingMutations>(&sql)?
                .first()
                .map_or(0, |row| row.n);
            if pending == 0 {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("{pending} ClickHouse deletions still running after 5 minutes");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn delete_where(&self, table: &str, condition: &str) -> anyhow::Result<()> {
        self.client
            .command(&format!(
                "ALTER TABLE {}.{table} DELETE WHERE {condition}",
                self.client.database()
            ))
            .with_context(|| format!("deleting expired rows of {table}"))
    }
}

impl Store for ClickHouseStore {
    fn insert_batches(&self, batches: &[AcceptedBatch]) -> anyhow::Result<Vec<InsertOutcome>> {
        let mut rows = TableRows::default();
        for accepted in batches {
            rows::encode(accepted, &self.guard, &self.client, &mut rows);
        }
        let keys: Vec<(String, String)> = batches
            .iter()
            .flat_map(|b| event_ids(b).map(|id| (b.batch.site.clone(), id.to_string())))
            .collect();
        let stored = self.stored_ids(&keys);
        // Rows of retried events are written again: storage counts each id once, and
        // the check above may not know about rows another collector has not flushed.
        self.writer.append(rows)?;
        let mut recent = self.recent_ids.lock().unwrap_or_else(|p| p.into_inner());
        let mut keys = keys.into_iter();
        let outcomes = batches
            .iter()
            .map(|accepted| {
                let mut outcome = InsertOutcome::default();
                for key in keys.by_ref().take(event_ids(accepted).count()) {
                    if stored.contains(&key) || recent.contains(&key) {
                        outcome.duplicates += 1;
                    } else {
                        outcome.stored += 1;
                        recent.insert(key);
                    }
                }
                outcome
            })
            .collect();
        Ok(outcomes)
    }

    fn vitals(&self, scope: &Scope) -> anyhow::Result<Vec<VitalSummary>> {
        self.before_query()?;
        let names: Vec<String> = VitalName::ALL.iter().map(|n| quote(n.as_str())).collect();
        let found = cells(
            &self.client,
            &Question {
                family: schema::VITALS,
                scope,
                key: "name",
                by: None,
                flag: Some("rating"),
                series_ms: None,
                conditions: vec![format!("name IN ({})", names.join(","))],
            },
        )?;
        let groups = group_by_key(found);
        Ok(VitalName::ALL
            .iter()
            .map(|name| vital_summary_of(*name, groups.get(name.as_str()).into_iter().flatten()))
            .collect())
    }

    fn endpoints(&self, scope: &Scope) -> anyhow::Result<Vec<EndpointSummary>> {
        self.before_query()?;
        let found = cells(
            &self.client,
            &Question {
                family: schema::API_CALLS,
                scope,
                key: "concat(method, ' ', path)",
                by: None,
                flag: Some("is_error"),
                series_ms: None,
                conditions: Vec::new(),
            },
        )?;
        Ok(slowest_first(group_by_key(found).into_iter().map(
            |(key, cells)| {
                let mut histogram = Histogram::default();
                let mut errors = 0;
                for cell in &cells {
                    histogram.add(cell.b, cell.n);
                    if cell.r != 0 {
                        errors += cell.n;
                    }
                }
                endpoint_summary(
                    &key,
                    histogram.total(),
                    errors,
                    histogram.percentiles(ENDPOINT_QUANTILES),
                    &scope.range,
                )
            },
        )))
    }

    fn breakdown(
        &self,
        scope: &Scope,
        metric: VitalName,
        by: Dimension,
        limit: usize,
    ) -> anyhow::Result<Vec<BreakdownRow>> {
        self.before_query()?;
        let found = cells(
            &self.client,
            &Question {
                family: schema::VITALS,
                scope,
                key: dimension_column(by),
                by: Some(by),
                flag: Some("rating"),
                series_ms: None,
                conditions: vec![name_condition(metric)],
            },
        )?;
        let rows: Vec<BreakdownRow> = group_by_key(found)
            .into_iter()
            .map(|(key, cells)| BreakdownRow {
                summary: vital_summary_of(metric, cells.iter()),
                key,
            })
            .collect();
        Ok(top_breakdown_rows(rows, limit))
    }

    fn series(
        &self,
        scope: &Scope,
        metric: &SeriesMetric,
        bucket_ms: i64,
    ) -> anyhow::Result<Vec<SeriesPoint>> {
        if bucket_ms <= 0 || bucket_ms % 60_000 != 0 {
            bail!("series bucket {bucket_ms} ms is not a positive multiple of a minute");
        }
        self.before_query()?;
        let (family, flag, conditions) = match metric {
            SeriesMetric::Vital(name) => (schema::VITALS, "rating", vec![name_condition(*name)]),
            SeriesMetric::Api { endpoint } => (
                schema::API_CALLS,
                "is_error",
                endpoint
                    .iter()
                    .flat_map(|(method, path)| {
                        [
                            format!("method = {}", quote(method)),
                            format!("path = {}", quote(path)),
                        ]
                    })
                    .collect(),
            ),
        };
        let found = cells(
            &self.client,
            &Question {
                family,
                scope,
                key: "''",
                by: None,
                flag: Some(flag),
                series_ms: Some(bucket_ms),
                conditions,
            },
        )?;
        let mut buckets: BTreeMap<i64, Vec<Cell>> = BTreeMap::new();
        for cell in found {
            buckets.entry(cell.s).or_default().push(cell);
        }
        let is_api = matches!(metric, SeriesMetric::Api { .. });
        Ok(buckets
            .into_iter()
            .map(|(ts, cells)| {
                let mut histogram = Histogram::default();
                let mut flagged = 0;
                for cell in &cells {
                    histogram.add(cell.b, cell.n);
                    if cell.r != 0 {
                        flagged += cell.n;
                    }
                }
                let count = histogram.total();
                let [p50, p75, p95] = histogram.percentiles([0.5, 0.75, 0.95]);
                SeriesPoint {
                    ts,
                    count,
                    p50,
                    p75,
                    p95,
                    error_rate: is_api.then(|| flagged as f64 / count.max(1) as f64),
                }
            })
            .filter(|point| point.count > 0)
            .collect())
    }

    fn top_targets(
        &self,
        scope: &Scope,
        metric: VitalName,
        limit: usize,
    ) -> anyhow::Result<Vec<TargetSummary>> {
        self.before_query()?;
        let found = cells(
            &self.client,
            &Question {
                family: schema::TARGETS,
                scope,
                key: "target",
                by: None,
                flag: None,
                series_ms: None,
                conditions: vec![name_condition(metric)],
            },
        )?;
        let targets: Vec<TargetSummary> = group_by_key(found)
            .into_iter()
            .map(|(target, cells)| {
                let mut histogram = Histogram::default();
                for cell in &cells {
                    histogram.add(cell.b, cell.n);
                }
                let [p75] = histogram.percentiles([0.75]);
                TargetSummary {
                    target,
                    count: histogram.total(),
                    p75: p75.unwrap_or(0.0),
                }
            })
            .collect();
        Ok(top_targets(targets, limit))
    }

    fn samples(
        &self,
        scope: &Scope,
        metric: VitalName,
        limit: usize,
    ) -> anyhow::Result<Vec<VitalSample>> {
        self.before_query()?;
        let mut conditions = vec![
            format!("site = {}", quote(&scope.site)),
            name_condition(metric),
            format!("ts >= {} AND ts < {}", scope.range.from, scope.range.to),
        ];
        conditions.extend(filter_conditions(&scope.filter));
        // One copy per id, and of CLS and INP only each page view's latest report;
        // the filter runs in that subquery: 18.16 resolves `route` in an outer WHERE to
        // the `any(route) AS route` alias, an aggregate it refuses there.
        let rows = latest_raw(
            self.client.database(),
            "vitals",
            "site, id, ts, name, page_view, route, value, device, browser, connection, \
             navigation_type, target",
            &conditions.join(" AND "),
        );
        let sql = format!(
            "SELECT id, any(ts) AS at, any(page_view) AS page_view, any(route) AS route, \
             any(value) AS value, any(device) AS device, any(browser) AS browser, \
             any(connection) AS connection, any(navigation_type) AS navigation_type, \
             any(target) AS target FROM ({rows}) GROUP BY id \
             ORDER BY at DESC, id LIMIT {limit}"
        );
        Ok(self
            .client
            .rows::<SampleRow>(&sql)?
            .into_iter()
            .map(|row| VitalSample {
                id: row.id,
                ts: row.at,
                page_view: row.page_view,
                route: row.route,
                name: metric,
                value: row.value,
                device: DeviceClass::parse(&row.device).unwrap_or_default(),
                browser: row.browser,
                connection: ConnectionType::parse(&row.connection).unwrap_or_default(),
                navigation_type: NavigationType::parse(&row.navigation_type).unwrap_or_default(),
                target: (!row.target.is_empty()).then_some(row.target),
            })
            .collect())
    }

    fn api_call_samples(&self, scope: &Scope, limit: usize) -> anyhow::Result<Vec<ApiCallSample>> {
        self.before_query()?;
        let mut conditions = vec![
            format!("site = {}", quote(&scope.site)),
            format!("ts >= {} AND ts < {}", scope.range.from, scope.range.to),
        ];
        conditions.extend(filter_conditions(&scope.filter));
        // Grouping by id keeps one copy of a retried call; the filter in a subquery for
        // the same reason as in `samples`.
        let sql = format!(
            "SELECT id, any(ts) AS at, any(page_view) AS page_view, any(route) AS route, \
             any(method) AS method, any(path) AS path, any(status) AS status, \
             any(duration) AS duration, any(outcome) AS outcome, \
             any(response_size) AS response_size, any(device) AS device, \
             any(browser) AS browser, any(connection) AS connection, \
             any(navigation_type) AS navigation_type \
             FROM (SELECT * FROM {}.api_calls WHERE {}) GROUP BY id \
             ORDER BY at DESC, id DESC LIMIT {limit}",
            self.client.database(),
            conditions.join(" AND ")
        );
        Ok(self
            .client
            .rows::<ApiCallRow>(&sql)?
            .into_iter()
            .map(|row| ApiCallSample {
                id: row.id,
                ts: row.at,
                page_view: row.page_view,
                route: row.route,
                method: row.method,
                path: row.path,
                status: row.status,
                duration: row.duration,
                outcome: row.outcome,
                response_size: u64::try_from(row.response_size).ok(),
                device: row.device,
                browser: row.browser,
                connection: row.connection,
                navigation_type: row.navigation_type,
            })
            .collect())
    }

    fn sites(&self) -> anyhow::Result<Vec<SiteInfo>> {
        self.before_query()?;
        // A batch counts once however often it was retried; per page view, the seqs
        // below the highest one received that never came are missing.
        let sql = format!(
            "SELECT site, events, last_seen, lost_events, missing_batches FROM \
             (SELECT site, uniqExactMerge(ids) AS events, maxMerge(last_seen) AS last_seen \
              FROM {db}.site_days GROUP BY site) \
             ANY LEFT JOIN \
             (SELECT site, sum(view_lost) AS lost_events, sum(view_missing) AS missing_batches \
              FROM (SELECT site, page_view, sum(batch_lost) AS view_lost, \
                    max(seq) + 1 - count() AS view_missing \
                    FROM (SELECT site, page_view, seq, any(lost) AS batch_lost \
                          FROM {db}.batches GROUP BY site, page_view, seq) \
                    GROUP BY site, page_view) \
              GROUP BY site) USING site \
             ORDER BY site",
            db = self.client.database()
        );
        Ok(self
            .client
            .rows::<SiteRow>(&sql)?
            .into_iter()
            .map(|row| SiteInfo {
                site: row.site,
                events: row.events,
                last_seen: row.last_seen,
                lost_events: row.lost_events,
                missing_batches: row.missing_batches,
            })
            .collect())
    }

    fn enforce_retention(
        &self,
        policy: &RetentionPolicy,
        now_ms: i64,
    ) -> anyhow::Result<RetentionReport> {
        self.before_query()?;
        let db = self.client.database();
        let mut report = RetentionReport::default();

        let raw_cutoff = now_ms.saturating_sub(policy.raw_ms);
        let expired_raw: Vec<String> = RAW_TABLES
            .iter()
            .map(|t| format!("SELECT site, id FROM {db}.{t} WHERE ts < {raw_cutoff}"))
            .collect();
        report.raw = self.count(&format!(
            "SELECT uniqExact(site, id) AS n FROM ({})",
            expired_raw.join(" UNION ALL ")
        ))?;
        if report.raw > 0 {
            for table in RAW_TABLES.iter().chain(&["event_ids", "reports"]) {
                self.delete_where(table, &format!("ts < {raw_cutoff}"))?;
            }
        }

        for level in LEVELS {
            let keep_ms = policy.rollup_ms(level.neutral());
            // A cell goes once all of its bucket is older than the cutoff.
            let expired = format!(
                "t + {} <= {}",
                level.grain_ms,
                now_ms.saturating_sub(keep_ms)
            );
            // Cells count once whatever their versions; sentinels are bookkeeping.
            let mut tables: Vec<(String, String)> = schema::FAMILIES
                .iter()
                .map(|f| {
                    (
                        schema::rollup_table(*f, level),
                        format!(
                            "grouping != {} GROUP BY site, t, grouping, {}",
                            schema::SENTINEL,
                            f.keys.join(", ")
                        ),
                    )
                })
                .collect();
            if level == schema::DAY {
                tables.push(("site_days".to_string(), "1 GROUP BY site, t".to_string()));
            }
            let mut removed = 0;
            for (table, cells_of) in &tables {
                let cells = self.count(&format!(
                    "SELECT count() AS n FROM (SELECT 1 FROM {db}.{table} WHERE {expired} \
                     AND {cells_of})"
                ))?;
                if cells > 0 {
                    self.delete_where(table, &expired)?;
                }
                removed += cells;
            }
            *report.rollup_mut(level.neutral()) = removed;
        }
        // Touches only matter while their minutes' cells exist.
        let touches_expired = format!(
            "t + {} <= {}",
            schema::MINUTE.grain_ms,
            now_ms.saturating_sub(policy.minute_ms)
        );
        if self.count(&format!(
            "SELECT count() AS n FROM {db}.touches WHERE {touches_expired}"
        ))? > 0
        {
            self.delete_where("touches", &touches_expired)?;
        }
        // Batch records feed the loss counts of `sites`, kept as long as the day level.
        let batch_cutoff = now_ms.saturating_sub(policy.day_ms);
        if self.count(&format!(
            "SELECT count() AS n FROM {db}.batches WHERE received_ms < {batch_cutoff}"
        ))? > 0
        {
            self.delete_where("batches", &format!("received_ms < {batch_cutoff}"))?;
        }
        self.wait_for_mutations()?;
        Ok(report)
    }

    /// Each question is a few statements to the server, mostly waited for.
    fn answers_side_by_side(&self) -> bool {
        true
    }
}
