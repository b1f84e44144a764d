//! The embedded default backend: one SQLite file in WAL mode holding raw events of every
//! kind and minute, ten-minute, hour and day rollups, all written in the same
//! transaction.

use super::api_call_block::{self, StoredCall};
use super::cardinality::{AdmittedKeys, CardinalityGuard, CardinalityLimits, KeyKind};
use super::export::ApiCallSample;
use super::ingest_rollup::{Cell, CellKey, RollupBatch, API, VITAL};
use super::page_views::{self, CallRecord, LatestReport, PageView, PageViews};
use super::rollup::{
    coarsest_within, dimension_column, filter_value, filtered_dimensions, plan, Grouping, Level,
    Source,
};
use super::seen_counters::split_counter_id;
use super::sketch::{nearest_rank, Sketch};
use super::summary::{
    endpoint_summary, slowest_first, top_breakdown_rows, top_targets, vital_summary,
    ENDPOINT_QUANTILES, VITAL_QUANTILES,
};
use super::{
    AcceptedBatch, InsertOutcome, RetentionPolicy, RetentionReport, Scope, SeriesMetric, Store,
};
use anyhow::Context;
use perfscope_model::{
    BreakdownRow, ConnectionType, DeviceClass, Dimension, EndpointSummary, NavigationType, Rating,
    SeriesPoint, SiteInfo, TargetSummary, VitalName, VitalSample, VitalSummary,
};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::Value;
use rusqlite::{
    params, CachedStatement, Connection, OpenFlags, OptionalExtension, Statement, Transaction,
    TransactionBehavior,
};
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;

/// Bumped when the schema changes incompatibly; a file from another version is refused
/// with a message instead of failing on its first query.
const SCHEMA_VERSION: i64 = 7;

/// Columns every raw table starts with: the event's identity and its page context.
const CONTEXT_COLUMNS: &str = "
    site TEXT NOT NULL,
    id TEXT NOT NULL,
    page_view TEXT NOT NULL,
    page TEXT NOT NULL,
    route TEXT NOT NULL,
    device TEXT NOT NULL,
    browser TEXT NOT NULL,
    connection TEXT NOT NULL,
    navigation_type TEXT NOT NULL,
    viewport_width INTEGER NOT NULL,
    viewport_height INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    received_ms INTEGER NOT NULL";
const CONTEXT_NAMES: &str = "site, id, page_view, page, route, device, browser, connection,
    navigation_type, viewport_width, viewport_height, ts, received_ms";
const CONTEXT_LEN: usize = 13;

/// Raw tables of one row per event other than `vitals`, which is keyed for per-vital
/// time scans (and deduplicated by its `vitals_by_id` index, whose entries are narrow,
/// so the random insert per event touches a small tree). API calls are kept in blocks
/// (`api_call_blocks`).
const RAW_TABLES: [&str; 4] = ["long_frames", "custom_metrics", "assets", "memory"];

/// Besides raw events and rollups: `page_views` (`page_views.rs`) keeps per page view
/// the batches received, so each commit updates a site's missing-batch count instead of
/// a query counting gaps over every batch, and the CLS and INP report that counts, so a
/// later one finds what to replace with one key lookup.
fn schema() -> String {
    let rollup = |level: &str| {
        format!(
            "CREATE TABLE IF NOT EXISTS rollup_{level} (
                site TEXT NOT NULL,
                grouping INTEGER NOT NULL,
                kind INTEGER NOT NULL,
                bucket INTEGER NOT NULL,
                metric TEXT NOT NULL,
                route TEXT NOT NULL,
                device TEXT NOT NULL,
                browser TEXT NOT NULL,
                connection TEXT NOT NULL,
                navigation_type TEXT NOT NULL,
                count INTEGER NOT NULL,
                good INTEGER NOT NULL,
                needs_improvement INTEGER NOT NULL,
                poor INTEGER NOT NULL,
                errors INTEGER NOT NULL,
                sketch BLOB NOT NULL,
                PRIMARY KEY (site, grouping, kind, bucket, metric, route, device, browser,
                             connection, navigation_type)
            ) WITHOUT ROWID;"
        )
    };
    format!(
        "
CREATE TABLE IF NOT EXISTS sites (
    site TEXT PRIMARY KEY,
    events INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    lost_events INTEGER NOT NULL,
    missing_batches INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS known_keys (
    site TEXT NOT NULL,
    kind INTEGER NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (site, kind, key)
) WITHOUT ROWID;
{page_views}
CREATE TABLE IF NOT EXISTS vitals ({CONTEXT_COLUMNS},
    name TEXT NOT NULL,
    value REAL NOT NULL,
    target TEXT,
    attribution TEXT,
    superseded INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site, name, ts, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS vitals_by_id ON vitals (site, id);
CREATE TABLE IF NOT EXISTS api_call_ids (
    site TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (site, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS api_call_blocks (
    site TEXT NOT NULL,
    minute INTEGER NOT NULL,
    page_view TEXT NOT NULL,
    route TEXT NOT NULL,
    device TEXT NOT NULL,
    browser TEXT NOT NULL,
    connection TEXT NOT NULL,
    navigation_type TEXT NOT NULL,
    received_ms INTEGER NOT NULL,
    calls BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS api_call_blocks_by_minute ON api_call_blocks (site, minute);
CREATE TABLE IF NOT EXISTS long_frames ({CONTEXT_COLUMNS},
    duration REAL NOT NULL,
    blocking_duration REAL NOT NULL,
    script TEXT,
    PRIMARY KEY (site, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS long_frames_by_time ON long_frames (site, ts);
CREATE TABLE IF NOT EXISTS custom_metrics ({CONTEXT_COLUMNS},
    name TEXT NOT NULL,
    value REAL NOT NULL,
    meta TEXT NOT NULL,
    PRIMARY KEY (site, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS custom_metrics_by_time ON custom_metrics (site, ts);
CREATE TABLE IF NOT EXISTS assets ({CONTEXT_COLUMNS},
    kind TEXT NOT NULL,
    url TEXT NOT NULL,
    transfer_size INTEGER NOT NULL,
    decoded_size INTEGER NOT NULL,
    PRIMARY KEY (site, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS assets_by_time ON assets (site, ts);
CREATE TABLE IF NOT EXISTS memory ({CONTEXT_COLUMNS},
    used_js_heap INTEGER NOT NULL,
    total_js_heap INTEGER NOT NULL,
    js_heap_limit INTEGER NOT NULL,
    PRIMARY KEY (site, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS memory_by_time ON memory (site, ts);
{rollups}
",
        rollups = Level::ALL.map(|level| rollup(level.name())).join("\n"),
        page_views = page_views::SCHEMA,
    )
}

fn table(level: Level) -> &'static str {
    match level {
        Level::Minute => "rollup_minute",
        Level::TenMinutes => "rollup_ten_minute",
        Level::Hour => "rollup_hour",
        Level::Day => "rollup_day",
    }
}

/// The one writer connection and the state only the writer touches.
struct Writer {
    conn: Connection,
    guard: CardinalityGuard,
}

/// Writes go through one connection and reads through a small pool of others, so that
/// WAL lets dashboard queries run while the writer commits, and the dashboard's
/// concurrent requests (summary, series, breakdowns) side by side with each other.
pub struct SqliteStore {
    writer: Mutex<Writer>,
    readers: r2d2::Pool<SqliteConnectionManager>,
    /// Dropping it stops the checkpointer thread.
    _checkpointer: std::sync::mpsc::Sender<()>,
}

/// How often the checkpointer copies committed WAL frames into the database file. A
/// page the writer changes many times in between (rollup cells, index edges) is copied
/// once per pass, so passes every 250 ms cost the busy writer more than every second;
/// much longer (2 s was tried) grows the log, and with it every page lookup in it (the
/// ingest bench: p99 365 ms at 250 ms, 92–103 ms at 1 s, 479 ms at 2 s).
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(1000);
/// WAL frames (pages, 256 MiB at 4 KiB) past which a passive checkpoint is followed by
/// a restarting one. Under continuous writes a passive checkpoint never finds every frame
/// copied when the writer next begins, so the log would only grow. The count comes from
/// the checkpoint itself, not the file's size: a restarted log reuses its file, which
/// keeps its size, so a size test would restart (and stall the writer) on every pass
/// from then on. Restarting right after a passive pass leaves only the frames of one
/// interval to copy while the writer waits; restarting much earlier (4,096 frames was
/// tried) makes those waits frequent, and the ingest bench's p99 looked worse for it.
const WAL_RESTART_FRAMES: i64 = 65_536;

/// Checkpoints from a connection of its own, so the writer never stops to copy pages
/// and fsync the database file in the middle of a group commit (its automatic
/// checkpoint is off). A passive checkpoint never blocks the writer; once it has copied
/// every frame, the writer's next transaction starts the log over, which keeps it
/// small (see `WAL_RESTART_FRAMES` for when writes never pause long enough).
fn start_checkpointer(path: &Path) -> anyhow::Result<std::sync::mpsc::Sender<()>> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(CHECKPOINT_EVERY)
            {
                let checkpoint = |mode: &str| {
                    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
                        row.get::<_, i64>(1)
                    })
                };
                let restarted = checkpoint("PASSIVE").and_then(|frames| {
                    if frames > WAL_RESTART_FRAMES {
                        checkpoint("RESTART")?;
                    }
                    Ok(())
                });
                if let Err(err) = restarted {
                    tracing::warn!(error = %err, "WAL checkpoint failed; retrying");
                }
            }
        })?;
    Ok(stop)
}

impl SqliteStore {
    /// Opens the database at `path` with the default cardinality caps.
    pub fn open(path: &Path) -> anyhow::Result<SqliteStore> {
        SqliteStore::open_with(path, CardinalityLimits::default())
    }

    /// Opens the database at `path`, creating the file, its directory and the schema.
    pub fn open_with(path: &Path, limits: CardinalityLimits) -> anyhow::Result<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating database directory {}", dir.display()))?;
        }
        let writer = Connection::open(path)
            .with_context(|| format!("opening SQLite database {}", path.display()))?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        // Durable at each commit point in WAL mode, without an fsync per transaction.
        writer.pragma_update(None, "synchronous", "NORMAL")?;
        writer.pragma_update(None, "cache_size", -65_536)?;
        writer.pragma_update(None, "wal_autocheckpoint", 0)?;
        writer.busy_timeout(std::time::Duration::from_secs(5))?;
        check_schema_version(&writer, path)?;
        writer.execute_batch(&schema())?;
        writer.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        register_sketch_merge(&writer)?;
        let readers = open_readers(path)?;
        Ok(SqliteStore {
            writer: Mutex::new(Writer {
                conn: writer,
                guard: CardinalityGuard::new(limits),
            }),
            readers,
            _checkpointer: start_checkpointer(path)?,
        })
    }
}

/// One reader per core, at least two: more could only queue for a core. Together they
/// keep the page cache one reader had before.
fn open_readers(path: &Path) -> anyhow::Result<r2d2::Pool<SqliteConnectionManager>> {
    let readers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
    let cache_kib = 65_536 / readers as i64;
    let manager = SqliteConnectionManager::file(path)
        .with_flags(OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .with_init(move |conn| {
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            conn.pragma_update(None, "cache_size", -cache_kib)
        });
    r2d2::Pool::builder()
        .max_size(readers as u32)
        // A local file does not go stale the way a network connection does; checking
        // each one out would cost a statement per query.
        .test_on_check_out(false)
        .build(manager)
        .with_context(|| format!("opening SQLite readers for {}", path.display()))
}

impl SqliteStore {
    /// A reader connection, waiting for one while all are busy.
    fn reader(&self) -> anyhow::Result<r2d2::PooledConnection<SqliteConnectionManager>> {
        self.readers
            .get()
            .context("no SQLite reader connection became free")
    }
}

fn check_schema_version(conn: &Connection, path: &Path) -> anyhow::Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let tables: i64 = conn.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
        [],
        |row| row.get(0),
    )?;
    if tables > 0 && version != SCHEMA_VERSION {
        anyhow::bail!(
            "{} holds schema version {version}, this perfscope uses {SCHEMA_VERSION}; \
             move the file away to start a new database",
            path.display()
        );
    }
    Ok(())
}

/// `sketch_merge(a, b)`: the upsert of a rollup row merges histograms inside SQLite, so
/// a group commit never reads a row back into Rust to update it.
fn register_sketch_merge(conn: &Connection) -> anyhow::Result<()> {
    conn.create_scalar_function(
        "sketch_merge",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let stored = ctx.get_raw(0).as_blob()?;
            let added = ctx.get_raw(1).as_blob()?;
            let mut sketch = Sketch::decode(stored)
                .map_err(|e| rusqlite::Error::UserFunctionError(Box::new(e)))?;
            sketch
                .merge_encoded(added)
                .map_err(|e| rusqlite::Error::UserFunctionError(Box::new(e)))?;
            Ok(sketch.encode())
        },
    )?;
    Ok(())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave SQLite half-written (the transaction
    // rolls back), so a poisoned lock is safe to keep using.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The guard's view of the `known_keys` table, inside the open transaction.
struct KnownKeys<'t, 'c>(&'t Transaction<'c>);

impl AdmittedKeys for KnownKeys<'_, '_> {
    fn load(&mut self, site: &str, kind: KeyKind) -> anyhow::Result<HashSet<String>> {
        let mut stmt = self
            .0
            .prepare_cached("SELECT key FROM known_keys WHERE site = ?1 AND kind = ?2")?;
        let keys = stmt
            .query_map(params![site, kind.code()], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(keys)
    }

    fn record(&mut self, site: &str, kind: KeyKind, key: &str) -> anyhow::Result<()> {
        self.0
            .prepare_cached(
                "INSERT OR IGNORE INTO known_keys (site, kind, key) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![site, kind.code(), key])?;
        Ok(())
    }
}

/// One batch's page context as stored in every raw row and rollup key.
struct PageContext<'b> {
    site: &'b str,
    page_view: &'b str,
    page: &'b str,
    route: String,
    device: &'static str,
    browser: &'b str,
    connection: &'static str,
    navigation_type: &'static str,
    viewport_width: u32,
    viewport_height: u32,
    received_ms: i64,
}

impl PageContext<'_> {
    /// Binds the leading `CONTEXT_LEN` parameters of a raw insert.
    fn bind(&self, stmt: &mut Statement<'_>, id: &str, ts: i64) -> rusqlite::Result<()> {
        stmt.raw_bind_parameter(1, self.site)?;
        stmt.raw_bind_parameter(2, id)?;
        stmt.raw_bind_parameter(3, self.page_view)?;
        stmt.raw_bind_parameter(4, self.page)?;
        stmt.raw_bind_parameter(5, &self.route)?;
        stmt.raw_bind_parameter(6, self.device)?;
        stmt.raw_bind_parameter(7, self.browser)?;
        stmt.raw_bind_parameter(8, self.connection)?;
        stmt.raw_bind_parameter(9, self.navigation_type)?;
        stmt.raw_bind_parameter(10, self.viewport_width)?;
        stmt.raw_bind_parameter(11, self.viewport_height)?;
        stmt.raw_bind_parameter(12, ts)?;
        stmt.raw_bind_parameter(13, self.received_ms)?;
        Ok(())
    }
}

fn insert_sql(table: &str, extra: &[&str]) -> String {
    let placeholders: Vec<String> = (1..=CONTEXT_LEN + extra.len())
        .map(|i| format!("?{i}"))
        .collect();
    format!(
        "INSERT OR IGNORE INTO {table} ({CONTEXT_NAMES}, {}) VALUES ({})",
        extra.join(", "),
        placeholders.join(", ")
    )
}

/// Binds the parameters after the context, in order.
fn bind_rest(stmt: &mut Statement<'_>, values: &[&dyn rusqlite::ToSql]) -> rusqlite::Result<()> {
    for (i, value) in values.iter().enumerate() {
        stmt.raw_bind_parameter(CONTEXT_LEN + 1 + i, value)?;
    }
    Ok(())
}

fn event_ts(ts: f64) -> i64 {
    ts as i64
}

fn insert_all(
    tx: &Transaction<'_>,
    guard: &mut CardinalityGuard,
    batches: &[AcceptedBatch],
) -> anyhow::Result<Vec<InsertOutcome>> {
    let mut outcomes = Vec::with_capacity(batches.len());
    let mut rollups = RollupBatch::default();
    let mut site_events: foldhash::HashMap<&str, SiteDelta> = Default::default();
    let mut vital = tx.prepare_cached(&insert_sql(
        "vitals",
        &["name", "value", "target", "attribution"],
    ))?;
    let mut seen_calls = SeenCalls::prepare(tx)?;
    let mut api_call_block = tx.prepare_cached(
        "INSERT INTO api_call_blocks (site, minute, page_view, route, device, browser,
             connection, navigation_type, received_ms, calls)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    let mut long_frame = tx.prepare_cached(&insert_sql(
        "long_frames",
        &["duration", "blocking_duration", "script"],
    ))?;
    let mut custom =
        tx.prepare_cached(&insert_sql("custom_metrics", &["name", "value", "meta"]))?;
    let mut asset = tx.prepare_cached(&insert_sql(
        "assets",
        &["kind", "url", "transfer_size", "decoded_size"],
    ))?;
    let mut memory = tx.prepare_cached(&insert_sql(
        "memory",
        &["used_js_heap", "total_js_heap", "js_heap_limit"],
    ))?;
    let mut page_views = PageViews::prepare(tx)?;
    let mut replacements = Replacements::prepare(tx)?;
    let mut keys = KnownKeys(tx);
    // A commit carries the same few endpoints many times over: each is admitted (and
    // its names built) once per commit.
    let mut endpoints: foldhash::HashMap<(&str, &str, &str), AdmittedEndpoint> = Default::default();

    for accepted in batches {
        let batch = &accepted.batch;
        let route = guard
            .admit(&mut keys, &batch.site, KeyKind::Route, &batch.page)?
            .to_string();
        let ctx = PageContext {
            site: &batch.site,
            page_view: &batch.page_view,
            page: &batch.page,
            route,
            device: batch.context.device.as_str(),
            browser: &accepted.browser,
            connection: batch.context.connection.as_str(),
            navigation_type: batch.context.navigation_type.as_str(),
            viewport_width: batch.context.viewport_width,
            viewport_height: batch.context.viewport_height,
            received_ms: accepted.received_ms,
        };
        let page_view = page_views.get(&batch.site, &batch.page_view)?;
        let added = page_view.add_batch(batch.seq, accepted.received_ms);
        let new_batch = added.is_some();
        let missing = added.unwrap_or(0);
        let contexts = rollups.contexts_for(
            ctx.site,
            &ctx.route,
            ctx.device,
            ctx.browser,
            ctx.connection,
            ctx.navigation_type,
        );
        let mut outcome = InsertOutcome::default();
        let mut newest = i64::MIN;
        let mut count = |inserted: usize, ts: i64, outcome: &mut InsertOutcome| {
            if inserted == 0 {
                outcome.duplicates += 1;
                false
            } else {
                outcome.stored += 1;
                newest = newest.max(ts);
                true
            }
        };

        for v in &batch.vitals {
            let ts = event_ts(v.ts);
            ctx.bind(&mut vital, &v.id, ts)?;
            let target = v.attribution.as_ref().and_then(|a| a.target.as_deref());
            let attribution = v
                .attribution
                .as_ref()
                .map(serde_json::to_string)
                .transpose()?;
            bind_rest(
                &mut vital,
                &[&v.name.as_str(), &v.value, &target, &attribution],
            )?;
            if count(vital.raw_execute()?, ts, &mut outcome)
                && replacements.counts(&mut rollups, &ctx, page_view, v, ts)?
            {
                let rating = v.name.rate(v.value);
                rollups.add(
                    &contexts,
                    VITAL,
                    v.name.as_str(),
                    ts,
                    v.value,
                    |cell| match rating {
                        Rating::Good => cell.good += 1,
                        Rating::NeedsImprovement => cell.needs_improvement += 1,
                        Rating::Poor => cell.poor += 1,
                    },
                );
            }
        }
        for a in &batch.api_calls {
            let endpoint_key = (batch.site.as_str(), a.method.as_str(), a.path.as_str());
            if let Entry::Vacant(slot) = endpoints.entry(endpoint_key) {
                slot.insert(admit_endpoint(guard, &mut keys, &batch.site, a)?);
            }
        }
        let mut new_calls: Vec<StoredCall<'_>> = Vec::with_capacity(batch.api_calls.len());
        for a in &batch.api_calls {
            let ts = event_ts(a.ts);
            let fresh =
                seen_calls.record(&mut page_views, &batch.site, &a.id, accepted.received_ms)?;
            if count(usize::from(fresh), ts, &mut outcome) {
                let endpoint =
                    &endpoints[&(batch.site.as_str(), a.method.as_str(), a.path.as_str())];
                let is_error = a.is_error();
                rollups.add(&contexts, API, &endpoint.metric, ts, a.duration, |cell| {
                    if is_error {
                        cell.errors += 1;
                    }
                });
                new_calls.push(StoredCall::new(a, ts, &endpoint.path));
            }
        }
        write_call_blocks(&mut api_call_block, &ctx, new_calls)?;
        for f in &batch.long_frames {
            let ts = event_ts(f.ts);
            ctx.bind(&mut long_frame, &f.id, ts)?;
            bind_rest(
                &mut long_frame,
                &[&f.duration, &f.blocking_duration, &f.script],
            )?;
            count(long_frame.raw_execute()?, ts, &mut outcome);
        }
        for m in &batch.custom_metrics {
            let ts = event_ts(m.ts);
            ctx.bind(&mut custom, &m.id, ts)?;
            let meta = serde_json::to_string(&m.meta)?;
            bind_rest(&mut custom, &[&m.name, &m.value, &meta])?;
            count(custom.raw_execute()?, ts, &mut outcome);
        }
        for a in &batch.assets {
            let ts = event_ts(a.ts);
            ctx.bind(&mut asset, &a.id, ts)?;
            let kind = match a.kind {
                perfscope_model::AssetKind::Script => "script",
                perfscope_model::AssetKind::Style => "style",
            };
            bind_rest(
                &mut asset,
                &[
                    &kind,
                    &a.url,
                    &(a.transfer_size as i64),
                    &(a.decoded_size as i64),
                ],
            )?;
            count(asset.raw_execute()?, ts, &mut outcome);
        }
        for m in &batch.memory {
            let ts = event_ts(m.ts);
            ctx.bind(&mut memory, &m.id, ts)?;
            bind_rest(
                &mut memory,
                &[
                    &(m.used_js_heap as i64),
                    &(m.total_js_heap as i64),
                    &(m.js_heap_limit as i64),
                ],
            )?;
            count(memory.raw_execute()?, ts, &mut outcome);
        }
        if outcome.stored > 0 || new_batch {
            let entry = site_events.entry(&batch.site).or_default();
            entry.events += outcome.stored;
            entry.last_seen = entry.last_seen.max((outcome.stored > 0).then_some(newest));
            if new_batch {
                entry.lost_events += i64::from(batch.lost);
                entry.missing_batches += missing;
            }
        }
        outcomes.push(outcome);
    }

    let mut site_stmt = tx.prepare_cached(
        "INSERT INTO sites (site, events, last_seen, lost_events, missing_batches)
         VALUES (?1, ?2, coalesce(?3, 0), ?4, ?5)
         ON CONFLICT (site) DO UPDATE SET events = events + excluded.events,
             last_seen = max(last_seen, excluded.last_seen),
             lost_events = lost_events + excluded.lost_events,
             missing_batches = missing_batches + excluded.missing_batches",
    )?;
    for (site, delta) in site_events {
        site_stmt.execute(params![
            site,
            delta.events as i64,
            delta.last_seen,
            delta.lost_events,
            delta.missing_batches
        ])?;
    }
    page_views.flush()?;
    write_rollups(tx, rollups)?;
    Ok(outcomes)
}

/// The API call ids a site has stored: counter-shaped ids as a set in their prefix's
/// `page_views` row (read once and written once per prefix a commit touches), any other
/// id as its own row in `api_call_ids`.
struct SeenCalls<'t> {
    insert_id: CachedStatement<'t>,
    delete_id: CachedStatement<'t>,
}

impl<'t> SeenCalls<'t> {
    fn prepare(tx: &'t Transaction<'_>) -> rusqlite::Result<SeenCalls<'t>> {
        Ok(SeenCalls {
            insert_id: tx
                .prepare_cached("INSERT OR IGNORE INTO api_call_ids (site, id) VALUES (?1, ?2)")?,
            delete_id: tx.prepare_cached("DELETE FROM api_call_ids WHERE site = ?1 AND id = ?2")?,
        })
    }

    /// Records a call id; false when the site had stored it before.
    fn record(
        &mut self,
        page_views: &mut PageViews<'_>,
        site: &str,
        id: &str,
        received_ms: i64,
    ) -> anyhow::Result<bool> {
        let Some((prefix, counter)) = split_counter_id(id) else {
            return Ok(self.insert_id.execute(params![site, id])? > 0);
        };
        match page_views.get(site, prefix)?.add_call(counter, received_ms) {
            CallRecord::Added => Ok(true),
            CallRecord::AlreadyThere => Ok(false),
            CallRecord::Spilled => Ok(self.insert_id.execute(params![site, id])? > 0),
        }
    }

    /// Forgets a call id retention removed, so a late retry is stored again.
    fn forget(
        &mut self,
        page_views: &mut PageViews<'_>,
        site: &str,
        id: &str,
    ) -> anyhow::Result<()> {
        let Some((prefix, counter)) = split_counter_id(id) else {
            self.delete_id.execute(params![site, id])?;
            return Ok(());
        };
        if !page_views.get(site, prefix)?.forget_call(counter) {
            self.delete_id.execute(params![site, id])?;
        }
        Ok(())
    }
}

/// Writes one batch's new API calls as one block per minute they fall in (nearly
/// always one).
fn write_call_blocks(
    stmt: &mut CachedStatement<'_>,
    ctx: &PageContext<'_>,
    mut calls: Vec<StoredCall<'_>>,
) -> anyhow::Result<()> {
    calls.sort_by_key(|call| Level::Minute.bucket_of(call.ts));
    for block in
        calls.chunk_by(|a, b| Level::Minute.bucket_of(a.ts) == Level::Minute.bucket_of(b.ts))
    {
        stmt.execute(params![
            ctx.site,
            Level::Minute.bucket_of(block[0].ts),
            ctx.page_view,
            ctx.route,
            ctx.device,
            ctx.browser,
            ctx.connection,
            ctx.navigation_type,
            ctx.received_ms,
            api_call_block::encode(block),
        ])?;
    }
    Ok(())
}

/// What one commit adds to a site's row.
#[derive(Default)]
struct SiteDelta {
    events: u64,
    /// Newest event `ts` stored; `None` when only a batch without new events came.
    last_seen: Option<i64>,
    lost_events: i64,
    missing_batches: i64,
}

/// Page-view context of a stored vital, as read back to take it out of its rollups.
struct StoredVital {
    ts: i64,
    value: f64,
    route: String,
    device: String,
    browser: String,
    connection: String,
    navigation_type: String,
}

/// CLS and INP are reported again, with new ids, each time the page is hidden with a
/// changed value; a page view counts once per metric, with its latest report.
struct Replacements<'t> {
    stored: CachedStatement<'t>,
    supersede: CachedStatement<'t>,
}

impl<'t> Replacements<'t> {
    fn prepare(tx: &'t Transaction<'_>) -> rusqlite::Result<Replacements<'t>> {
        Ok(Replacements {
            stored: tx.prepare_cached(
                "SELECT ts, value, route, device, browser, connection, navigation_type
                 FROM vitals WHERE site = ?1 AND id = ?2",
            )?,
            supersede: tx
                .prepare_cached("UPDATE vitals SET superseded = 1 WHERE site = ?1 AND id = ?2")?,
        })
    }

    /// Whether the newly stored vital `v` counts. A CLS or INP report older than the
    /// page view's latest is kept raw but marked superseded; a newer one (or an equal
    /// `ts`, inserted later) takes the previous report out of its rollup cells and
    /// marks it superseded instead.
    fn counts(
        &mut self,
        rollups: &mut RollupBatch,
        ctx: &PageContext<'_>,
        page_view: &mut PageView,
        v: &perfscope_model::VitalEvent,
        ts: i64,
    ) -> anyhow::Result<bool> {
        if !matches!(v.name, VitalName::Cls | VitalName::Inp) {
            return Ok(true);
        }
        let name = v.name.as_str();
        if let Some(LatestReport {
            id: previous,
            ts: previous_ts,
        }) = page_view.latest(v.name)
        {
            if *previous_ts > ts {
                self.supersede.execute(params![ctx.site, v.id])?;
                return Ok(false);
            }
            let stored = self
                .stored
                .query_row(params![ctx.site, previous], |row| {
                    Ok(StoredVital {
                        ts: row.get(0)?,
                        value: row.get(1)?,
                        route: row.get(2)?,
                        device: row.get(3)?,
                        browser: row.get(4)?,
                        connection: row.get(5)?,
                        navigation_type: row.get(6)?,
                    })
                })
                .optional()?;
            // Without its raw row (past raw retention) the old report's cell is unknown;
            // a page view is not reported on for that long.
            if let Some(old) = stored {
                self.supersede.execute(params![ctx.site, previous])?;
                let contexts = rollups.contexts_for(
                    ctx.site,
                    &old.route,
                    &old.device,
                    &old.browser,
                    &old.connection,
                    &old.navigation_type,
                );
                let rating = v.name.rate(old.value);
                rollups.remove(
                    &contexts,
                    VITAL,
                    name,
                    old.ts,
                    old.value,
                    |cell| match rating {
                        Rating::Good => cell.good -= 1,
                        Rating::NeedsImprovement => cell.needs_improvement -= 1,
                        Rating::Poor => cell.poor -= 1,
                    },
                );
            }
        }
        page_view.set_latest(
            v.name,
            LatestReport {
                id: v.id.clone(),
                ts,
            },
            ctx.received_ms,
        );
        Ok(true)
    }
}

/// How an API call's endpoint is stored once the cardinality guard has had its say.
struct AdmittedEndpoint {
    /// The `endpoint_path` column: the call's path, or `other` past the cap.
    path: String,
    /// The rollup metric: method and stored path.
    metric: String,
}

fn admit_endpoint(
    guard: &mut CardinalityGuard,
    keys: &mut KnownKeys<'_, '_>,
    site: &str,
    call: &perfscope_model::ApiCallEvent,
) -> anyhow::Result<AdmittedEndpoint> {
    let endpoint = format!("{} {}", call.method, call.path);
    let admitted = guard.admit(keys, site, KeyKind::Endpoint, &endpoint)?;
    let path = if admitted == endpoint {
        call.path.clone()
    } else {
        admitted.to_string()
    };
    Ok(AdmittedEndpoint {
        metric: format!("{} {}", call.method, path),
        path,
    })
}

fn write_rollups(tx: &Transaction<'_>, rollups: RollupBatch) -> anyhow::Result<()> {
    let mut upserts: HashMap<Level, CachedStatement<'_>> = HashMap::new();
    for level in Level::ALL {
        let sql = format!(
            "INSERT INTO {} (site, grouping, kind, bucket, metric, route, device, browser,
                 connection, navigation_type, count, good, needs_improvement, poor, errors,
                 sketch)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
             ON CONFLICT (site, grouping, kind, bucket, metric, route, device, browser,
                 connection, navigation_type)
             DO UPDATE SET count = count + excluded.count, good = good + excluded.good,
                 needs_improvement = needs_improvement + excluded.needs_improvement,
                 poor = poor + excluded.poor, errors = errors + excluded.errors,
                 sketch = sketch_merge(sketch, excluded.sketch)",
            table(level)
        );
        upserts.insert(level, tx.prepare_cached(&sql)?);
    }
    let (mut cells, contexts, metrics) = rollups.into_parts();
    // Key order follows the primary key, so consecutive upserts touch the same pages.
    cells.sort_unstable_by(|(a, _), (b, _)| {
        (
            a.level,
            a.grouping,
            a.kind,
            a.bucket,
            &metrics[a.metric as usize],
        )
            .cmp(&(
                b.level,
                b.grouping,
                b.kind,
                b.bucket,
                &metrics[b.metric as usize],
            ))
    });
    for (key, cell) in cells {
        let CellKey {
            level,
            bucket,
            grouping,
            kind,
            metric,
            context,
        } = key;
        let ctx = &contexts[context as usize];
        if !cell.removed.is_empty() {
            let row = RollupRow {
                level,
                site: &ctx[0],
                grouping,
                kind,
                bucket,
                metric: &metrics[metric as usize],
                dimensions: [&ctx[1], &ctx[2], &ctx[3], &ctx[4], &ctx[5]],
            };
            replace_in_row(tx, &row, cell)?;
            continue;
        }
        let stmt = upserts.get_mut(&level).expect("a statement per level");
        stmt.execute(params![
            ctx[0],
            grouping,
            kind,
            bucket,
            metrics[metric as usize],
            ctx[1],
            ctx[2],
            ctx[3],
            ctx[4],
            ctx[5],
            cell.sketch.count() as i64,
            cell.good,
            cell.needs_improvement,
            cell.poor,
            cell.errors,
            cell.sketch.encode(),
        ])?;
    }
    Ok(())
}

/// The key of one rollup row.
struct RollupRow<'a> {
    level: Level,
    site: &'a str,
    grouping: i64,
    kind: i64,
    bucket: i64,
    metric: &'a str,
    /// Route, device, browser, connection, navigation type.
    dimensions: [&'a str; 5],
}

/// Applies a cell that takes samples out: read, change in Rust, write back (or delete
/// the row once it is empty). Only cells touched by a replaced CLS or INP report come
/// here; every other cell is a plain upsert that merges inside SQLite.
fn replace_in_row(tx: &Transaction<'_>, row: &RollupRow<'_>, cell: Cell) -> anyhow::Result<()> {
    const KEY: &str = "site = ?1 AND grouping = ?2 AND kind = ?3 AND bucket = ?4 AND metric = ?5
        AND route = ?6 AND device = ?7 AND browser = ?8 AND connection = ?9
        AND navigation_type = ?10";
    let table = table(row.level);
    let [route, device, browser, connection, navigation_type] = row.dimensions;
    let key = params![
        row.site,
        row.grouping,
        row.kind,
        row.bucket,
        row.metric,
        route,
        device,
        browser,
        connection,
        navigation_type
    ];
    let stored: Option<([i64; 4], Vec<u8>)> = tx
        .prepare_cached(&format!(
            "SELECT good, needs_improvement, poor, errors, sketch FROM {table} WHERE {KEY}"
        ))?
        .query_row(key, |r| {
            Ok(([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?], r.get(4)?))
        })
        .optional()?;
    let (mut bands, mut sketch) = match stored {
        Some((bands, blob)) => (
            bands,
            Sketch::decode(&blob).context("reading a rollup row")?,
        ),
        None => ([0; 4], Sketch::new()),
    };
    sketch.merge(&cell.sketch);
    sketch.remove(&cell.removed);
    for (band, delta) in
        bands
            .iter_mut()
            .zip([cell.good, cell.needs_improvement, cell.poor, cell.errors])
    {
        *band = (*band + delta).max(0);
    }
    if sketch.is_empty() {
        tx.prepare_cached(&format!("DELETE FROM {table} WHERE {KEY}"))?
            .execute(key)?;
        return Ok(());
    }
    tx.prepare_cached(&format!(
        "INSERT OR REPLACE INTO {table} (site, grouping, kind, bucket, metric, route, device,
             browser, connection, navigation_type, count, good, needs_improvement, poor,
             errors, sketch)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
    ))?
    .execute(params![
        row.site,
        row.grouping,
        row.kind,
        row.bucket,
        row.metric,
        route,
        device,
        browser,
        connection,
        navigation_type,
        sketch.count() as i64,
        bands[0],
        bands[1],
        bands[2],
        bands[3],
        sketch.encode(),
    ])?;
    Ok(())
}

/// Merged rollup rows (and raw events) of one group of a query's answer.
#[derive(Default)]
struct Aggregate {
    good: u64,
    needs_improvement: u64,
    poor: u64,
    errors: u64,
    sketch: Sketch,
}

impl Aggregate {
    fn count(&self) -> u64 {
        self.sketch.count()
    }

    fn vital_summary(&self, name: VitalName) -> VitalSummary {
        vital_summary(
            name,
            self.count(),
            [self.good, self.needs_improvement, self.poor],
            VITAL_QUANTILES.map(|q| self.sketch.quantile(q)),
        )
    }
}

/// What a query groups its answer by.
#[derive(Clone, Copy, Default)]
struct GroupBy {
    metric: bool,
    dimension: Option<Dimension>,
    bucket_ms: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct GroupKey {
    metric: String,
    dimension: String,
    time: i64,
}

/// The groups of one query's answer. Rows name their group by strings; interning them
/// (by their bytes, checked as UTF-8 once per distinct string) lets each of the
/// thousands of rows a month's query merges find its group without allocating.
#[derive(Default)]
struct Groups {
    string_ids: foldhash::HashMap<Vec<u8>, u32>,
    strings: Vec<String>,
    index: foldhash::HashMap<(u32, u32, i64), usize>,
    groups: Vec<((u32, u32, i64), Aggregate)>,
}

impl Groups {
    fn id_of(&mut self, value: &str) -> u32 {
        if let Some(id) = self.string_ids.get(value.as_bytes()) {
            return *id;
        }
        let id = self.strings.len() as u32;
        self.strings.push(value.to_string());
        self.string_ids.insert(value.as_bytes().to_vec(), id);
        id
    }

    /// Like `id_of` for a column's bytes, checked as UTF-8 only when new.
    fn intern(&mut self, value: &[u8]) -> anyhow::Result<u32> {
        match self.string_ids.get(value) {
            Some(id) => Ok(*id),
            None => {
                Ok(self
                    .id_of(std::str::from_utf8(value).context("a stored group name is not UTF-8")?))
            }
        }
    }

    /// The group of a rollup row, named by its columns' bytes.
    fn entry(
        &mut self,
        metric: &[u8],
        dimension: &[u8],
        time: i64,
    ) -> anyhow::Result<&mut Aggregate> {
        let key = (self.intern(metric)?, self.intern(dimension)?, time);
        Ok(self.slot(key))
    }

    /// The group of a raw event.
    fn entry_str(&mut self, metric: &str, dimension: &str, time: i64) -> &mut Aggregate {
        let key = (self.id_of(metric), self.id_of(dimension), time);
        self.slot(key)
    }

    fn slot(&mut self, key: (u32, u32, i64)) -> &mut Aggregate {
        let at = match self.index.get(&key) {
            Some(at) => *at,
            None => {
                self.groups.push((key, Aggregate::default()));
                self.index.insert(key, self.groups.len() - 1);
                self.groups.len() - 1
            }
        };
        &mut self.groups[at].1
    }

    fn into_map(self) -> HashMap<GroupKey, Aggregate> {
        let strings = self.strings;
        self.groups
            .into_iter()
            .map(|((metric, dimension, time), aggregate)| {
                let key = GroupKey {
                    metric: strings[metric as usize].clone(),
                    dimension: strings[dimension as usize].clone(),
                    time,
                };
                (key, aggregate)
            })
            .collect()
    }
}

/// Appends `AND <dimension> = ?` for each filtered dimension.
fn push_filters(scope: &Scope, sql: &mut String, args: &mut Vec<Value>) {
    for dimension in filtered_dimensions(&scope.filter) {
        let value = filter_value(&scope.filter, dimension).expect("filtered");
        sql.push_str(&format!(" AND {} = ?", dimension_column(dimension)));
        args.push(Value::Text(value.to_string()));
    }
}

/// Reads everything a query needs for `kind` (one metric or all), piece by piece, and
/// merges it into groups.
fn collect(
    conn: &Connection,
    scope: &Scope,
    kind: i64,
    metric: Option<&str>,
    by: GroupBy,
) -> anyhow::Result<HashMap<GroupKey, Aggregate>> {
    let mut groups = Groups::default();
    let coarsest = by.bucket_ms.map(coarsest_within).unwrap_or(Level::Day);
    let dimension_sql = by.dimension.map(dimension_column).unwrap_or("''");
    fn metric_of(by: GroupBy, metric: &[u8]) -> &[u8] {
        if by.metric {
            metric
        } else {
            b""
        }
    }
    let time_of = |time: i64| by.bucket_ms.map(|b| time.div_euclid(b) * b).unwrap_or(0);
    // Only the columns this question needs: every column read is a few calls into
    // SQLite per row, and a month's question reads thousands of rows. Counts first, then
    // the group's name and time when the question groups by them.
    let counts_sql = if kind == API {
        "errors"
    } else {
        "good, needs_improvement, poor"
    };
    // Column 0 is the sketch, then the counts, then the key columns.
    let first_key = 1 + if kind == API { 1 } else { 3 };
    let mut key_sql = String::new();
    let metric_at = by.metric.then(|| {
        key_sql.push_str(", metric");
        first_key
    });
    let dimension_at = by.dimension.map(|dimension| {
        key_sql.push_str(", ");
        key_sql.push_str(dimension_column(dimension));
        first_key + usize::from(by.metric)
    });
    let bucket_at = by.bucket_ms.map(|_| {
        key_sql.push_str(", bucket");
        first_key + usize::from(by.metric) + usize::from(by.dimension.is_some())
    });
    for piece in plan(scope.range.from, scope.range.to, coarsest) {
        match piece.source {
            Source::Rollup(level) => {
                let grouping = Grouping::for_query(level, &scope.filter, by.dimension);
                let mut sql = format!(
                    "SELECT sketch, {counts_sql}{key_sql}
                     FROM {} WHERE site = ? AND grouping = ? AND kind = ?
                         AND bucket >= ? AND bucket < ?",
                    table(level)
                );
                let mut args = vec![
                    Value::Text(scope.site.clone()),
                    Value::Integer(grouping.code()),
                    Value::Integer(kind),
                    Value::Integer(piece.from),
                    Value::Integer(piece.to),
                ];
                if let Some(metric) = metric {
                    sql.push_str(" AND metric = ?");
                    args.push(Value::Text(metric.to_string()));
                }
                push_filters(scope, &mut sql, &mut args);
                let mut stmt = conn.prepare_cached(&sql)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
                while let Some(row) = rows.next()? {
                    let time = match bucket_at {
                        Some(at) => time_of(row.get(at)?),
                        None => 0,
                    };
                    let group = groups.entry(
                        key_bytes(row, metric_at)?,
                        key_bytes(row, dimension_at)?,
                        time,
                    )?;
                    group
                        .sketch
                        .merge_encoded(row.get_ref(0)?.as_blob()?)
                        .context("reading a rollup histogram")?;
                    if kind == API {
                        group.errors += row.get::<_, i64>(1)? as u64;
                    } else {
                        group.good += row.get::<_, i64>(1)? as u64;
                        group.needs_improvement += row.get::<_, i64>(2)? as u64;
                        group.poor += row.get::<_, i64>(3)? as u64;
                    }
                }
            }
            Source::Raw if kind == API => {
                let mut groups_add = |metric: &str, dimension: &str, call: &StoredCall| {
                    let metric = if by.metric { metric } else { "" };
                    let group = groups.entry_str(metric, dimension, time_of(call.ts));
                    group.sketch.add(call.duration);
                    if call.is_error {
                        group.errors += 1;
                    }
                };
                let mut metric_name = String::new();
                for_each_call(
                    conn,
                    scope,
                    piece.from,
                    piece.to,
                    by.dimension,
                    &mut |dimension, call| {
                        metric_name.clear();
                        metric_name.push_str(call.method);
                        metric_name.push(' ');
                        metric_name.push_str(call.endpoint_path());
                        if metric.is_none_or(|m| m == metric_name) {
                            groups_add(&metric_name, dimension, call);
                        }
                    },
                )?;
            }
            Source::Raw => {
                // The table is keyed by (site, name, ts), so the ragged ends of a
                // range are one contiguous stretch per vital with no second lookup per
                // row: that is what keeps their cost low when a minute holds many
                // events. A replaced CLS or INP report is kept raw but no longer counts.
                let mut sql = format!(
                    "SELECT name, {dimension_sql}, ts, value
                     FROM vitals
                     WHERE site = ? AND ts >= ? AND ts < ? AND superseded = 0"
                );
                let mut args = vec![
                    Value::Text(scope.site.clone()),
                    Value::Integer(piece.from),
                    Value::Integer(piece.to),
                ];
                if let Some(metric) = metric {
                    sql.push_str(" AND name = ?");
                    args.push(Value::Text(metric.to_string()));
                } else {
                    // Lets the (site, name, ts) primary key serve the time range.
                    sql.push_str(" AND name IN ('LCP', 'INP', 'CLS', 'FCP', 'TTFB', 'FID')");
                }
                push_filters(scope, &mut sql, &mut args);
                let mut stmt = conn.prepare_cached(&sql)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
                while let Some(row) = rows.next()? {
                    let metric = row.get_ref(0)?.as_str()?;
                    let value: f64 = row.get(3)?;
                    let rating = VitalName::parse(metric).map(|name| name.rate(value));
                    let group = groups.entry(
                        metric_of(by, metric.as_bytes()),
                        row.get_ref(1)?.as_bytes()?,
                        time_of(row.get(2)?),
                    )?;
                    group.sketch.add(value);
                    match rating {
                        Some(Rating::Good) => group.good += 1,
                        Some(Rating::NeedsImprovement) => group.needs_improvement += 1,
                        Some(Rating::Poor) => group.poor += 1,
                        None => {}
                    }
                }
            }
        }
    }
    Ok(groups.into_map())
}

fn endpoint_metric(method: &str, path: &str) -> String {
    format!("{method} {path}")
}

/// The text of column `at` of a rollup row, or the empty name of a group the question
/// does not split by.
fn key_bytes<'r>(row: &'r rusqlite::Row<'_>, at: Option<usize>) -> anyhow::Result<&'r [u8]> {
    match at {
        Some(at) => Ok(row.get_ref(at)?.as_bytes()?),
        None => Ok(b""),
    }
}

/// Calls `visit` with each raw API call of `scope`'s site and filter whose `ts` is in
/// `[from, to)`, with the value of `dimension` (or `""`).
fn for_each_call(
    conn: &Connection,
    scope: &Scope,
    from: i64,
    to: i64,
    dimension: Option<Dimension>,
    visit: &mut dyn FnMut(&str, &StoredCall),
) -> anyhow::Result<()> {
    let dimension_sql = dimension.map(dimension_column).unwrap_or("''");
    let mut sql = format!(
        "SELECT {dimension_sql}, calls FROM api_call_blocks
         WHERE site = ? AND minute >= ? AND minute < ?"
    );
    let mut args = vec![
        Value::Text(scope.site.clone()),
        Value::Integer(Level::Minute.bucket_of(from)),
        Value::Integer(to),
    ];
    push_filters(scope, &mut sql, &mut args);
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
    while let Some(row) = rows.next()? {
        let dimension = row.get_ref(0)?.as_str()?;
        for call in api_call_block::decode(row.get_ref(1)?.as_blob()?)? {
            if (from..to).contains(&call.ts) {
                visit(dimension, &call);
            }
        }
    }
    Ok(())
}

/// Raw-event filters for the drill-down queries.
fn raw_filter_sql(scope: &Scope, sql: &mut String, args: &mut Vec<Value>) {
    push_filters(scope, sql, args);
}

impl Store for SqliteStore {
    fn insert_batches(&self, batches: &[AcceptedBatch]) -> anyhow::Result<Vec<InsertOutcome>> {
        let mut writer = lock(&self.writer);
        let Writer { conn, guard } = &mut *writer;
        // Takes the write lock up front: a transaction that read first and then wrote
        // would get SQLITE_BUSY at once, without waiting, whenever the checkpointer's
        // RESTART holds that lock (SQLite calls no busy handler for that upgrade).
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        match insert_all(&tx, guard, batches) {
            Ok(outcomes) => match tx.commit() {
                Ok(()) => {
                    guard.commit();
                    Ok(outcomes)
                }
                Err(err) => {
                    guard.roll_back();
                    Err(err.into())
                }
            },
            Err(err) => {
                guard.roll_back();
                Err(err)
            }
        }
    }

    fn vitals(&self, scope: &Scope) -> anyhow::Result<Vec<VitalSummary>> {
        let conn = self.reader()?;
        let groups = collect(
            &conn,
            scope,
            VITAL,
            None,
            GroupBy {
                metric: true,
                ..GroupBy::default()
            },
        )?;
        let by_name: HashMap<&str, &Aggregate> =
            groups.iter().map(|(k, v)| (k.metric.as_str(), v)).collect();
        Ok(VitalName::ALL
            .into_iter()
            .map(|name| {
                by_name
                    .get(name.as_str())
                    .map(|agg| agg.vital_summary(name))
                    .unwrap_or_else(|| Aggregate::default().vital_summary(name))
            })
            .collect())
    }

    fn endpoints(&self, scope: &Scope) -> anyhow::Result<Vec<EndpointSummary>> {
        let conn = self.reader()?;
        let groups = collect(
            &conn,
            scope,
            API,
            None,
            GroupBy {
                metric: true,
                ..GroupBy::default()
            },
        )?;
        Ok(slowest_first(
            groups
                .into_iter()
                .filter(|(_, agg)| agg.count() > 0)
                .map(|(key, agg)| {
                    endpoint_summary(
                        &key.metric,
                        agg.count(),
                        agg.errors,
                        ENDPOINT_QUANTILES.map(|q| agg.sketch.quantile(q)),
                        &scope.range,
                    )
                }),
        ))
    }

    fn breakdown(
        &self,
        scope: &Scope,
        metric: VitalName,
        by: Dimension,
        limit: usize,
    ) -> anyhow::Result<Vec<BreakdownRow>> {
        let conn = self.reader()?;
        let groups = collect(
            &conn,
            scope,
            VITAL,
            Some(metric.as_str()),
            GroupBy {
                dimension: Some(by),
                ..GroupBy::default()
            },
        )?;
        let rows: Vec<BreakdownRow> = groups
            .into_iter()
            .filter(|(_, agg)| agg.count() > 0)
            .map(|(key, agg)| BreakdownRow {
                key: key.dimension,
                summary: agg.vital_summary(metric),
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
        anyhow::ensure!(
            bucket_ms > 0 && bucket_ms % 60_000 == 0,
            "series bucket must be a positive multiple of a minute, got {bucket_ms} ms"
        );
        let conn = self.reader()?;
        let by = GroupBy {
            bucket_ms: Some(bucket_ms),
            ..GroupBy::default()
        };
        let (kind, name) = match metric {
            SeriesMetric::Vital(name) => (VITAL, Some(name.as_str().to_string())),
            SeriesMetric::Api { endpoint } => (
                API,
                endpoint
                    .as_ref()
                    .map(|(method, path)| endpoint_metric(method, path)),
            ),
        };
        let groups = collect(&conn, scope, kind, name.as_deref(), by)?;
        let mut points: Vec<SeriesPoint> = groups
            .into_iter()
            .filter(|(_, agg)| agg.count() > 0)
            .map(|(key, agg)| SeriesPoint {
                ts: key.time,
                count: agg.count(),
                p50: agg.sketch.quantile(0.5),
                p75: agg.sketch.quantile(0.75),
                p95: agg.sketch.quantile(0.95),
                error_rate: (kind == API).then(|| agg.errors as f64 / agg.count() as f64),
            })
            .collect();
        points.sort_by_key(|p| p.ts);
        Ok(points)
    }

    fn top_targets(
        &self,
        scope: &Scope,
        metric: VitalName,
        limit: usize,
    ) -> anyhow::Result<Vec<TargetSummary>> {
        let conn = self.reader()?;
        let mut sql = String::from(
            "SELECT target, value FROM vitals
             WHERE site = ? AND name = ? AND ts >= ? AND ts < ? AND target IS NOT NULL
                 AND superseded = 0",
        );
        let mut args = vec![
            Value::Text(scope.site.clone()),
            Value::Text(metric.as_str().to_string()),
            Value::Integer(scope.range.from),
            Value::Integer(scope.range.to),
        ];
        raw_filter_sql(scope, &mut sql, &mut args);
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut by_target: HashMap<String, Vec<f64>> = HashMap::new();
        let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
        while let Some(row) = rows.next()? {
            by_target.entry(row.get(0)?).or_default().push(row.get(1)?);
        }
        let targets: Vec<TargetSummary> = by_target
            .into_iter()
            .map(|(target, mut values)| {
                values.sort_by(f64::total_cmp);
                TargetSummary {
                    count: values.len() as u64,
                    p75: nearest_rank(&values, 0.75).unwrap_or(0.0),
                    target,
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
        let conn = self.reader()?;
        let mut sql = String::from(
            "SELECT id, ts, page_view, route, value, device, browser, connection,
                 navigation_type, target
             FROM vitals WHERE site = ? AND name = ? AND ts >= ? AND ts < ?
                 AND superseded = 0",
        );
        let mut args = vec![
            Value::Text(scope.site.clone()),
            Value::Text(metric.as_str().to_string()),
            Value::Integer(scope.range.from),
            Value::Integer(scope.range.to),
        ];
        raw_filter_sql(scope, &mut sql, &mut args);
        sql.push_str(" ORDER BY ts DESC, id DESC LIMIT ?");
        args.push(Value::Integer(limit.min(i64::MAX as usize) as i64));
        let mut stmt = conn.prepare_cached(&sql)?;
        let samples = stmt
            .query_map(rusqlite::params_from_iter(args), |row| {
                Ok(VitalSample {
                    id: row.get(0)?,
                    ts: row.get(1)?,
                    page_view: row.get(2)?,
                    route: row.get(3)?,
                    name: metric,
                    value: row.get(4)?,
                    device: DeviceClass::parse(row.get_ref(5)?.as_str()?).unwrap_or_default(),
                    browser: row.get(6)?,
                    connection: ConnectionType::parse(row.get_ref(7)?.as_str()?)
                        .unwrap_or_default(),
                    navigation_type: NavigationType::parse(row.get_ref(8)?.as_str()?)
                        .unwrap_or_default(),
                    target: row.get(9)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(samples)
    }

    fn api_call_samples(&self, scope: &Scope, limit: usize) -> anyhow::Result<Vec<ApiCallSample>> {
        let conn = self.reader()?;
        let mut sql = String::from(
            "SELECT minute, page_view, route, device, browser, connection, navigation_type,
                 calls
             FROM api_call_blocks WHERE site = ? AND minute >= ? AND minute < ?",
        );
        let mut args = vec![
            Value::Text(scope.site.clone()),
            Value::Integer(Level::Minute.bucket_of(scope.range.from)),
            Value::Integer(scope.range.to),
        ];
        raw_filter_sql(scope, &mut sql, &mut args);
        sql.push_str(" ORDER BY minute DESC");
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
        let mut samples: Vec<ApiCallSample> = Vec::new();
        // Blocks come newest minute first; once `limit` calls are in hand, only the rest
        // of the current minute can still be newer than some of them.
        let mut current_minute = i64::MAX;
        while let Some(row) = rows.next()? {
            let minute: i64 = row.get(0)?;
            if minute < current_minute && samples.len() >= limit {
                break;
            }
            current_minute = minute;
            let text = |i: usize| -> rusqlite::Result<String> { row.get(i) };
            for call in api_call_block::decode(row.get_ref(7)?.as_blob()?)? {
                if !(scope.range.from..scope.range.to).contains(&call.ts) {
                    continue;
                }
                samples.push(ApiCallSample {
                    id: call.id.to_string(),
                    ts: call.ts,
                    page_view: text(1)?,
                    route: text(2)?,
                    method: call.method.to_string(),
                    path: call.path.to_string(),
                    status: call.status,
                    duration: call.duration,
                    outcome: call.outcome.to_string(),
                    response_size: call.response_size,
                    device: text(3)?,
                    browser: text(4)?,
                    connection: text(5)?,
                    navigation_type: text(6)?,
                });
            }
        }
        samples.sort_by(|a, b| b.ts.cmp(&a.ts).then_with(|| b.id.cmp(&a.id)));
        samples.truncate(limit);
        Ok(samples)
    }

    fn sites(&self) -> anyhow::Result<Vec<SiteInfo>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(
            "SELECT site, events, last_seen, lost_events, missing_batches FROM sites
             ORDER BY site",
        )?;
        let sites = stmt
            .query_map([], |row| {
                Ok(SiteInfo {
                    site: row.get(0)?,
                    events: row.get::<_, i64>(1)? as u64,
                    last_seen: row.get(2)?,
                    lost_events: row.get::<_, i64>(3)?.max(0) as u64,
                    missing_batches: row.get::<_, i64>(4)?.max(0) as u64,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(sites)
    }

    fn enforce_retention(
        &self,
        policy: &RetentionPolicy,
        now_ms: i64,
    ) -> anyhow::Result<RetentionReport> {
        let mut writer = lock(&self.writer);
        // Immediate for the same reason as a group commit: it reads before it writes.
        let tx = writer
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut report = RetentionReport::default();
        let sites: Vec<String> = tx
            .prepare("SELECT site FROM sites")?
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        let raw_cutoff = now_ms.saturating_sub(policy.raw_ms);
        for site in &sites {
            // Each delete walks a (site, …, ts) index instead of scanning the table.
            for name in VitalName::WITH_LEGACY {
                report.raw += tx.execute(
                    "DELETE FROM vitals WHERE site = ?1 AND name = ?2 AND ts < ?3",
                    params![site, name.as_str(), raw_cutoff],
                )? as u64;
            }
            for table in RAW_TABLES {
                report.raw += tx.execute(
                    &format!("DELETE FROM {table} WHERE site = ?1 AND ts < ?2"),
                    params![site, raw_cutoff],
                )? as u64;
            }
            report.raw += expire_api_calls(&tx, site, raw_cutoff)?;
            // The site's lost and missing counts are kept; only the bookkeeping that a
            // page view's next batch or report would need goes with its raw events.
            // A row whose call ids are not all expired (a call stamped later than it
            // was received) stays until they are, so a retry of those is still known;
            // so does a spilled row while any id of its prefix is still a row.
            tx.execute(
                "DELETE FROM page_views
                 WHERE site = ?1 AND received_ms < ?2 AND calls IS NULL
                     AND (calls_spilled = 0 OR NOT EXISTS (
                         SELECT 1 FROM api_call_ids WHERE api_call_ids.site = page_views.site
                             AND api_call_ids.id >= page_views.page_view || '-'
                             AND api_call_ids.id < page_views.page_view || '.'))",
                params![site, raw_cutoff],
            )?;
            for level in Level::ALL {
                // A bucket goes once all of it is older than the cutoff.
                let cutoff = now_ms
                    .saturating_sub(policy.rollup_ms(level))
                    .saturating_sub(level.width_ms());
                let mut removed = 0;
                for grouping in level.groupings() {
                    for kind in [VITAL, API] {
                        removed += tx.execute(
                            &format!(
                                "DELETE FROM {} WHERE site = ?1 AND grouping = ?2 AND kind = ?3
                                 AND bucket <= ?4",
                                table(level)
                            ),
                            params![site, grouping.code(), kind, cutoff],
                        )? as u64;
                    }
                }
                *report.rollup_mut(level) += removed;
            }
        }
        tx.commit()?;
        Ok(report)
    }
}

/// Deletes the API calls of `site` older than `cutoff` with their ids (a block that
/// straddles it keeps its newer calls); returns how many calls went.
fn expire_api_calls(tx: &Transaction<'_>, site: &str, cutoff: i64) -> anyhow::Result<u64> {
    let mut blocks = tx.prepare_cached(
        "SELECT rowid, calls FROM api_call_blocks WHERE site = ?1 AND minute < ?2",
    )?;
    let mut seen_calls = SeenCalls::prepare(tx)?;
    let mut page_views = PageViews::prepare(tx)?;
    let mut delete = tx.prepare_cached("DELETE FROM api_call_blocks WHERE rowid = ?1")?;
    let mut rewrite =
        tx.prepare_cached("UPDATE api_call_blocks SET calls = ?2 WHERE rowid = ?1")?;
    let expired: Vec<(i64, Vec<u8>)> = blocks
        .query_map(params![site, cutoff], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut removed = 0u64;
    for (rowid, blob) in expired {
        let calls = api_call_block::decode(&blob)?;
        let (old, kept): (Vec<StoredCall>, Vec<StoredCall>) =
            calls.into_iter().partition(|call| call.ts < cutoff);
        for call in &old {
            seen_calls.forget(&mut page_views, site, call.id)?;
        }
        removed += old.len() as u64;
        if kept.is_empty() {
            delete.execute(params![rowid])?;
        } else if !old.is_empty() {
            rewrite.execute(params![rowid, api_call_block::encode(&kept)])?;
        }
    }
    page_views.flush()?;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{TimeRange, DAY_MS, HOUR_MS};
    use perfscope_model::{
        ApiCallEvent, ApiOutcome, AssetEvent, AssetKind, Batch, CustomMetricEvent, Filter,
        LongFrameEvent, MemoryEvent, VitalEvent,
    };

    fn open() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("nested/p.db")).unwrap();
        (dir, store)
    }

    fn lcp(id: &str, ts: i64, value: f64) -> VitalEvent {
        VitalEvent {
            id: id.into(),
            ts: ts as f64,
            name: VitalName::Lcp,
            value,
            attribution: None,
        }
    }

    fn accepted(page_view: &str, vitals: Vec<VitalEvent>) -> AcceptedBatch {
        AcceptedBatch {
            batch: Batch {
                site: "demo".into(),
                page_view: page_view.into(),
                seq: 0,
                page: "/".into(),
                vitals,
                ..Batch::default()
            },
            browser: "chrome".into(),
            received_ms: 0,
        }
    }

    fn scope(from: i64, to: i64) -> Scope {
        Scope {
            site: "demo".into(),
            range: TimeRange { from, to },
            filter: Filter::default(),
        }
    }

    fn count_rows(store: &SqliteStore, sql: &str) -> i64 {
        store
            .reader()
            .unwrap()
            .query_row(sql, [], |row| row.get(0))
            .unwrap()
    }

    /// The checkpointer's RESTART holds the write lock for a moment; a group commit
    /// that comes then must wait for it, not fail its whole group.
    #[test]
    fn a_group_commit_waits_for_another_connection_holding_the_write_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locked.db");
        let store = SqliteStore::open(&path).unwrap();
        let mut other = Connection::open(&path).unwrap();
        let (held, holding) = std::sync::mpsc::channel();
        let holder = std::thread::spawn(move || {
            let tx = other
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .unwrap();
            held.send(()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(300));
            tx.commit().unwrap();
        });
        holding.recv().unwrap();
        let outcomes = store
            .insert_batches(&[accepted("pv", vec![lcp("pv-0", 1000, 1800.0)])])
            .unwrap();
        assert_eq!(outcomes[0].stored, 1);
        holder.join().unwrap();
    }

    #[test]
    fn every_event_kind_is_stored_once_and_a_retry_adds_nothing_to_rollups() {
        let (_dir, store) = open();
        let mut batch = accepted("pv", vec![lcp("v", 1000, 1200.0)]);
        batch.batch.api_calls.push(ApiCallEvent {
            id: "a".into(),
            ts: 1000.0,
            method: "GET".into(),
            path: "/x".into(),
            status: 200,
            duration: 12.0,
            outcome: ApiOutcome::Ok,
            response_size: Some(10),
            timing: None,
        });
        batch.batch.long_frames.push(LongFrameEvent {
            id: "f".into(),
            ts: 1000.0,
            duration: 120.0,
            blocking_duration: 70.0,
            script: Some("https://x/app.js".into()),
        });
        batch.batch.custom_metrics.push(CustomMetricEvent {
            id: "c".into(),
            ts: 1000.0,
            name: "cart.size".into(),
            value: 3.0,
            meta: [("plan".to_string(), "pro".to_string())].into(),
        });
        batch.batch.assets.push(AssetEvent {
            id: "s".into(),
            ts: 1000.0,
            kind: AssetKind::Script,
            url: "https://x/app.js".into(),
            transfer_size: 100,
            decoded_size: 300,
        });
        batch.batch.memory.push(MemoryEvent {
            id: "m".into(),
            ts: 1000.0,
            used_js_heap: 1,
            total_js_heap: 2,
            js_heap_limit: 3,
        });
        let first = store.insert_batches(std::slice::from_ref(&batch)).unwrap();
        assert_eq!(
            first[0],
            InsertOutcome {
                stored: 6,
                duplicates: 0
            }
        );
        let again = store.insert_batches(&[batch]).unwrap();
        assert_eq!(
            again[0],
            InsertOutcome {
                stored: 0,
                duplicates: 6
            }
        );
        for table in [
            "vitals",
            "api_call_ids",
            "api_call_blocks",
            "long_frames",
            "custom_metrics",
            "assets",
            "memory",
        ] {
            assert_eq!(
                count_rows(&store, &format!("SELECT COUNT(*) FROM {table}")),
                1,
                "{table}"
            );
        }
        for level in Level::ALL {
            let total: i64 = count_rows(
                &store,
                &format!("SELECT SUM(count) FROM {} WHERE grouping = 0", table(level)),
            );
            assert_eq!(total, 2, "{level:?}: one vital and one API call");
        }
        let sites = store.sites().unwrap();
        assert_eq!((sites[0].events, sites[0].last_seen), (6, 1000));
    }

    #[test]
    fn any_range_counts_exactly_the_events_inside_it() {
        let (_dir, store) = open();
        let mut rng = 7u64;
        let mut next = move || {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            rng >> 33
        };
        let base = 20 * DAY_MS;
        let events: Vec<(i64, f64)> = (0..3000)
            .map(|_| {
                let ts = base + (next() % (3 * DAY_MS as u64)) as i64;
                (ts, 100.0 + (next() % 5000) as f64)
            })
            .collect();
        let batches: Vec<AcceptedBatch> = events
            .chunks(50)
            .enumerate()
            .map(|(i, chunk)| {
                let vitals = chunk
                    .iter()
                    .enumerate()
                    .map(|(j, (ts, value))| lcp(&format!("{i}-{j}"), *ts, *value))
                    .collect();
                accepted(&format!("pv{i}"), vitals)
            })
            .collect();
        store.insert_batches(&batches).unwrap();
        for _ in 0..40 {
            let from = base - HOUR_MS + (next() % (4 * DAY_MS as u64)) as i64;
            let to = from + 1 + (next() % (2 * DAY_MS as u64)) as i64;
            let mut inside: Vec<f64> = events
                .iter()
                .filter(|(ts, _)| (from..to).contains(ts))
                .map(|(_, v)| *v)
                .collect();
            inside.sort_by(f64::total_cmp);
            let lcp = &store.vitals(&scope(from, to)).unwrap()[0];
            assert_eq!(lcp.count, inside.len() as u64, "{from}..{to}");
            if let Some(exact) = nearest_rank(&inside, 0.75) {
                let p75 = lcp.p75.unwrap();
                assert!((p75 - exact).abs() <= exact * 0.01, "{p75} vs {exact}");
            }
            let good = inside.iter().filter(|v| **v <= 2500.0).count() as u64;
            assert_eq!(lcp.good, good);
        }
    }

    #[test]
    fn retention_splits_an_api_call_block_at_the_cutoff_and_forgets_the_old_ids() {
        let (_dir, store) = open();
        let call = api_call;
        // Half a minute past midnight, so the cutoff falls inside a minute.
        let now = 100 * DAY_MS + 30_000;
        let cutoff = now - 7 * DAY_MS;
        let mut batch = accepted("pv", vec![]);
        // One minute's block holding calls on both sides of the cutoff, and an older one.
        batch.batch.api_calls = vec![
            call("old", cutoff - HOUR_MS),
            call("before", cutoff - 1),
            call("after", cutoff + 1),
        ];
        store.insert_batches(std::slice::from_ref(&batch)).unwrap();
        assert_eq!(
            count_rows(&store, "SELECT COUNT(*) FROM api_call_blocks"),
            2
        );
        let policy = crate::config::RetentionConfig::default().policy();
        assert_eq!(store.enforce_retention(&policy, now).unwrap().raw, 2);
        let left: Vec<String> = store
            .api_call_samples(&scope(0, now), 10)
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(left, vec!["after".to_string()]);
        assert_eq!(count_rows(&store, "SELECT COUNT(*) FROM api_call_ids"), 1);
        // A retried call that retention forgot is stored again; the kept one is not.
        let again = store.insert_batches(&[batch]).unwrap();
        assert_eq!((again[0].stored, again[0].duplicates), (2, 1));
    }

    fn api_call(id: &str, ts: i64) -> ApiCallEvent {
        ApiCallEvent {
            id: id.into(),
            ts: ts as f64,
            method: "GET".into(),
            path: "/x".into(),
            status: 200,
            duration: 10.0,
            outcome: ApiOutcome::Ok,
            response_size: None,
            timing: None,
        }
    }

    fn with_calls(page_view: &str, ids: &[&str], ts: i64) -> AcceptedBatch {
        let mut batch = accepted(page_view, vec![]);
        batch.batch.api_calls = ids.iter().map(|id| api_call(id, ts)).collect();
        batch
    }

    fn outcome(o: &InsertOutcome) -> (u64, u64) {
        (o.stored, o.duplicates)
    }

    #[test]
    fn counter_shaped_call_ids_are_deduplicated_exactly_per_id() {
        let (_dir, store) = open();
        let first = store
            .insert_batches(&[with_calls("pv", &["pv-0", "pv-1", "pv-3"], 1000)])
            .unwrap();
        assert_eq!(outcome(&first[0]), (3, 0));
        assert_eq!(
            count_rows(
                &store,
                "SELECT COUNT(*) FROM page_views WHERE calls IS NOT NULL"
            ),
            1
        );
        assert_eq!(count_rows(&store, "SELECT COUNT(*) FROM api_call_ids"), 0);
        let outcomes = store
            .insert_batches(&[
                // A retry with one new call, in the gap the first left.
                with_calls("pv", &["pv-3", "pv-2", "pv-1"], 1000),
                // Twice in one commit, and the same id from another page view's batch.
                with_calls("pv", &["pv-9", "pv-9"], 1000),
                with_calls("other", &["pv-0", "other-0"], 1000),
                // Not the canonical spelling of a counter: ids of their own.
                with_calls("pv", &["pv-01", "pv-01", "pv-"], 1000),
            ])
            .unwrap();
        let outcomes: Vec<(u64, u64)> = outcomes.iter().map(outcome).collect();
        assert_eq!(outcomes, vec![(1, 2), (1, 1), (1, 1), (2, 1)]);
        assert_eq!(count_rows(&store, "SELECT COUNT(*) FROM api_call_ids"), 2);
        let mut other_site = with_calls("pv", &["pv-0"], 1000);
        other_site.batch.site = "elsewhere".into();
        assert_eq!(
            outcome(&store.insert_batches(&[other_site]).unwrap()[0]),
            (1, 0)
        );
        let range = scope(0, 60_000);
        assert_eq!(store.endpoints(&range).unwrap()[0].count, 8);
        assert_eq!(store.api_call_samples(&range, 100).unwrap().len(), 8);
    }

    #[test]
    fn retention_forgets_counter_shaped_call_ids_and_drops_emptied_sets() {
        let (_dir, store) = open();
        let now = 100 * DAY_MS;
        let cutoff = now - 7 * DAY_MS;
        let mut batch = with_calls("pv", &["pv-0", "pv-1", "pv-2"], cutoff - 1);
        batch.batch.api_calls[2].ts = (cutoff + 1) as f64;
        let gone = with_calls("gone", &["gone-0", "gone-1"], cutoff - HOUR_MS);
        store
            .insert_batches(&[batch.clone(), gone.clone()])
            .unwrap();
        assert_eq!(
            count_rows(
                &store,
                "SELECT COUNT(*) FROM page_views WHERE calls IS NOT NULL"
            ),
            2
        );
        let policy = crate::config::RetentionConfig::default().policy();
        assert_eq!(store.enforce_retention(&policy, now).unwrap().raw, 4);
        assert_eq!(
            count_rows(
                &store,
                "SELECT COUNT(*) FROM page_views WHERE calls IS NOT NULL"
            ),
            1,
            "the emptied page view's row is deleted"
        );
        let again = store.insert_batches(&[batch, gone]).unwrap();
        let again: Vec<(u64, u64)> = again.iter().map(outcome).collect();
        assert_eq!(again, vec![(2, 1), (2, 0)]);
    }

    #[test]
    fn every_other_counter_spills_past_the_cap_and_stays_exact() {
        use super::super::seen_counters::MAX_RANGES;
        let (_dir, store) = open();
        let now = 100 * DAY_MS;
        let cutoff = now - 7 * DAY_MS;
        let ts = cutoff - HOUR_MS;
        // Every other counter, one range each: the first MAX_RANGES fill the set, the
        // rest (and, once spilled, the odd ones in between) become id rows.
        let evens: Vec<String> = (0..MAX_RANGES + 40)
            .map(|n| format!("pv-{}", 2 * n))
            .collect();
        let ids: Vec<&str> = evens.iter().map(String::as_str).collect();
        let batches: Vec<AcceptedBatch> = ids.chunks(50).map(|c| with_calls("pv", c, ts)).collect();
        let stored: u64 = store
            .insert_batches(&batches)
            .unwrap()
            .iter()
            .map(|o| o.stored)
            .sum();
        assert_eq!(stored, ids.len() as u64);
        assert_eq!(count_rows(&store, "SELECT COUNT(*) FROM api_call_ids"), 40);
        let odd = with_calls("pv", &["pv-1", "pv-1", "pv-3"], ts);
        assert_eq!(outcome(&store.insert_batches(&[odd]).unwrap()[0]), (2, 1));
        assert_eq!(count_rows(&store, "SELECT COUNT(*) FROM api_call_ids"), 42);
        // Every id again, in other batches and commits: all duplicates.
        let again: u64 = store
            .insert_batches(&batches)
            .unwrap()
            .iter()
            .map(|o| o.duplicates)
            .sum();
        assert_eq!(again, ids.len() as u64);
        assert_eq!(
            store.endpoints(&scope(0, now)).unwrap()[0].count,
            ids.len() as u64 + 2
        );
        // Retention forgets the set's counters and the id rows, then the row itself.
        let policy = crate::config::RetentionConfig::default().policy();
        store.enforce_retention(&policy, now).unwrap();
        assert_eq!(count_rows(&store, "SELECT COUNT(*) FROM api_call_ids"), 0);
        assert_eq!(count_rows(&store, "SELECT COUNT(*) FROM page_views"), 0);
        let back = store.insert_batches(&batches[..1]).unwrap();
        assert_eq!(outcome(&back[0]), (50, 0), "forgotten ids are stored again");
    }

    #[test]
    fn retention_removes_each_level_by_its_own_age() {
        let (_dir, store) = open();
        let now = 100 * DAY_MS;
        store
            .insert_batches(&[
                accepted("old", vec![lcp("old", now - 10 * DAY_MS, 1000.0)]),
                accepted("new", vec![lcp("new", now - HOUR_MS, 2000.0)]),
            ])
            .unwrap();
        let policy = crate::config::RetentionConfig::default().policy();
        let report = store.enforce_retention(&policy, now).unwrap();
        assert_eq!(report.raw, 1);
        assert_eq!(
            report.minute, 2,
            "the old event's total and full-key minute rows"
        );
        assert_eq!((report.hour, report.day), (0, 0));
        // The old day is still answered from hour and day rollups.
        let old_day = Level::Day.bucket_of(now - 10 * DAY_MS);
        let lcp = &store.vitals(&scope(old_day, old_day + DAY_MS)).unwrap()[0];
        assert_eq!(lcp.count, 1);
        assert!(store
            .samples(&scope(0, now), VitalName::Lcp, 10)
            .unwrap()
            .iter()
            .all(|s| s.id == "new"));
        let again = store.enforce_retention(&policy, now).unwrap();
        assert_eq!(again, RetentionReport::default());
    }
}
