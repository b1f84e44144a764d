//! The buffering writer: acknowledged rows go to an fsynced spill segment at once and
//! to ClickHouse in one INSERT per table per flush (every second, at 10k rows, or when
//! a query needs read-your-writes). Segments that could not be inserted stay on disk and
//! are replayed, oldest first, until ClickHouse takes them; replaying twice is harmless
//! because storage counts each (site, id) once. After each insert the rollups the rows
//! touched are rebuilt; a segment is deleted only once that succeeded too.

use super::http::Client;
use super::rows::TableRows;
use super::schema::INSERT_TABLES;
use anyhow::{bail, Context};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// When the writer flushes.
#[derive(Clone, Copy, Debug)]
pub struct FlushPolicy {
    pub interval: Duration,
    pub max_rows: usize,
    /// Spilled bytes replayed per flush at most, so a long outage's backlog drains in
    /// bounded inserts.
    pub max_replay_bytes: u64,
}

impl Default for FlushPolicy {
    fn default() -> Self {
        FlushPolicy {
            interval: Duration::from_secs(1),
            max_rows: 10_000,
            max_replay_bytes: 64 * 1024 * 1024,
        }
    }
}

/// What the writer has done so far, for logs, tests and the report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Successful flushes (each one INSERT per non-empty table).
    pub flushes: u64,
    pub failed_flushes: u64,
    /// Segments inserted after sitting on disk through a failed flush or a restart.
    pub replayed_segments: u64,
    /// Segments on disk waiting for ClickHouse right now.
    pub spilled_segments: u64,
}

struct Segment {
    path: PathBuf,
    file: File,
    len: u64,
}

struct State {
    /// The segment that `append` writes to; its rows are also in `pending`.
    current: Option<Segment>,
    pending: TableRows,
    pending_since: Option<Instant>,
    /// Closed segments whose rows are not in ClickHouse yet, oldest first.
    backlog: Vec<PathBuf>,
    next_segment: u64,
    /// Incremented by each flush attempt that covered everything appended before it.
    completed: u64,
    requested: u64,
    /// A flush has taken rows out of `pending` and not finished inserting them.
    in_flight: bool,
    last_error: Option<String>,
    stats: WriterStats,
    stopping: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    flushed: Condvar,
    client: Arc<Client>,
    dir: PathBuf,
    policy: FlushPolicy,
    /// Called before each insert; creates the schema once ClickHouse answers.
    prepare: Box<dyn Fn() -> anyhow::Result<()> + Send + Sync>,
    /// Called after each insert with the rows inserted; a failure keeps them spilled,
    /// so the next flush inserts them again and retries.
    after_insert: AfterInsert,
}

/// What follows an insert (rebuilding the rollups the rows touched).
pub type AfterInsert =
    Box<dyn Fn(&BTreeMap<&'static str, Vec<u8>>) -> anyhow::Result<()> + Send + Sync>;

pub struct Writer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

const SEGMENT_PREFIX: &str = "segment-";
const SEGMENT_SUFFIX: &str = ".jsonl";

impl Writer {
    /// Starts the flusher thread; segments a previous process left in `dir` are queued
    /// for replay.
    pub fn start(
        client: Arc<Client>,
        dir: &Path,
        policy: FlushPolicy,
        prepare: Box<dyn Fn() -> anyhow::Result<()> + Send + Sync>,
        after_insert: AfterInsert,
    ) -> anyhow::Result<Writer> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating spill directory {}", dir.display()))?;
        let mut backlog: Vec<(u64, PathBuf)> = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if let Some(n) = segment_number(&path) {
                backlog.push((n, path));
            }
        }
        backlog.sort();
        let next_segment = backlog.last().map_or(0, |(n, _)| n + 1);
        if !backlog.is_empty() {
            tracing::info!(
                segments = backlog.len(),
                dir = %dir.display(),
                "replaying spilled ClickHouse rows"
            );
        }
        let stats = WriterStats {
            spilled_segments: backlog.len() as u64,
            ..WriterStats::default()
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                current: None,
                pending: TableRows::default(),
                pending_since: None,
                backlog: backlog.into_iter().map(|(_, p)| p).collect(),
                next_segment,
                completed: 0,
                requested: 0,
                in_flight: false,
                last_error: None,
                stats,
                stopping: false,
            }),
            wake: Condvar::new(),
            flushed: Condvar::new(),
            client,
            dir: dir.to_path_buf(),
            policy,
            prepare,
            after_insert,
        });
        let thread = std::thread::Builder::new()
            .name("clickhouse-writer".into())
            .spawn({
                let shared = Arc::clone(&shared);
                move || run(&shared)
            })?;
        Ok(Writer {
            shared,
            thread: Some(thread),
        })
    }

    /// Makes `rows` durable in the current segment (written and fsynced) and queues them
    /// for the next flush. All or nothing: a failed write is cut off the segment again.
    pub fn append(&self, rows: TableRows) -> anyhow::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut encoded = Vec::new();
        for (table, lines) in &rows.tables {
            for line in lines.split_inclusive(|b| *b == b'\n') {
                encoded.extend_from_slice(table.as_bytes());
                encoded.push(b'\t');
                encoded.extend_from_slice(line);
            }
        }
        let mut state = self.lock();
        if state.current.is_none() {
            let path = self.shared.dir.join(format!(
                "{SEGMENT_PREFIX}{:012}{SEGMENT_SUFFIX}",
                state.next_segment
            ));
            state.next_segment += 1;
            let file = OpenOptions::new()
                .create_new(true)
                .append(true)
                .open(&path)
                .with_context(|| format!("creating spill segment {}", path.display()))?;
            // The new name must survive a crash too.
            File::open(&self.shared.dir)?.sync_all()?;
            state.current = Some(Segment { path, file, len: 0 });
        }
        let segment = state.current.as_mut().expect("opened above");
        let written = segment
            .file
            .write_all(&encoded)
            .and_then(|()| segment.file.sync_data());
        if let Err(err) = written {
            // Nothing was acknowledged: drop whatever part of the rows reached the file,
            // so a replay never sees half a row.
            let _ = segment.file.set_len(segment.len);
            return Err(err).context("writing spill segment");
        }
        segment.len += encoded.len() as u64;
        let full = state.pending.rows + rows.rows >= self.shared.policy.max_rows;
        state.pending.append(rows);
        state.pending_since.get_or_insert_with(Instant::now);
        if full {
            self.shared.wake.notify_one();
        }
        Ok(())
    }

    /// Flushes now and waits for it: afterwards ClickHouse has every row appended
    /// before the call, or the error says why not.
    pub fn flush(&self) -> anyhow::Result<()> {
        let mut state = self.lock();
        if state.pending.is_empty() && state.backlog.is_empty() && !state.in_flight {
            return Ok(());
        }
        // A flush under way may have started before the rows this caller needs.
        let target = state.completed + if state.in_flight { 2 } else { 1 };
        state.requested = state.requested.max(target);
        self.shared.wake.notify_one();
        while state.completed < target {
            state = self
                .shared
                .flushed
                .wait(state)
                .unwrap_or_else(|p| p.into_inner());
        }
        match (&state.last_error, state.backlog.is_empty()) {
            (Some(err), false) => bail!("rows are spilled, not yet in ClickHouse: {err}"),
            _ => Ok(()),
        }
    }

    /// The last flush failed: ClickHouse is unreachable or refusing rows.
    pub fn is_failing(&self) -> bool {
        self.lock().last_error.is_some()
    }

    pub fn stats(&self) -> WriterStats {
        let state = self.lock();
        WriterStats {
            spilled_segments: state.backlog.len() as u64,
            ..state.stats
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.shared)
    }
}

impl Drop for Writer {
    /// One last flush; whatever ClickHouse does not take stays in the spill directory
    /// for the next start.
    fn drop(&mut self) {
        self.lock().stopping = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    // The state is only ever replaced whole under the lock; a panic elsewhere leaves it
    // consistent.
    shared.state.lock().unwrap_or_else(|p| p.into_inner())
}

fn segment_number(path: &Path) -> Option<u64> {
    path.file_name()?
        .to_str()?
        .strip_prefix(SEGMENT_PREFIX)?
        .strip_suffix(SEGMENT_SUFFIX)?
        .parse()
        .ok()
}

fn run(shared: &Shared) {
    let mut retry_after: Option<Instant> = None;
    loop {
        let mut state = lock(shared);
        // Wait until there is something due, or a flush is asked for.
        loop {
            let asked = state.requested > state.completed;
            let full = state.pending.rows >= shared.policy.max_rows;
            let age_due = state
                .pending_since
                .is_some_and(|since| since.elapsed() >= shared.policy.interval);
            let backlog_due =
                !state.backlog.is_empty() && retry_after.is_none_or(|at| Instant::now() >= at);
            if state.stopping || asked || full || age_due || backlog_due {
                break;
            }
            let wait = state
                .pending_since
                .map(|since| shared.policy.interval.saturating_sub(since.elapsed()))
                .unwrap_or(shared.policy.interval)
                .max(Duration::from_millis(5));
            state = shared
                .wake
                .wait_timeout(state, wait)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        let stopping = state.stopping;
        let target = state.requested.max(state.completed + 1);
        // Close the current segment: its rows are in `pending`, so this flush inserts
        // them from memory; only older segments are read back from disk.
        let rows = std::mem::take(&mut state.pending);
        state.pending_since = None;
        let fresh = state.current.take().map(|segment| segment.path);
        let older = state.backlog.clone();
        state.in_flight = true;
        drop(state);

        let result = flush_once(shared, rows, fresh.clone(), &older);
        let mut state = lock(shared);
        state.in_flight = false;
        match result {
            Ok(inserted) => {
                let replayed = older.iter().filter(|p| inserted.contains(p)).count();
                state.backlog.retain(|p| !inserted.contains(p));
                state.stats.flushes += 1;
                state.stats.replayed_segments += replayed as u64;
                if state.last_error.take().is_some() {
                    tracing::info!(replayed, "ClickHouse is back; spilled rows replayed");
                }
                retry_after = None;
            }
            Err(err) => {
                // The fresh segment's rows are no longer in memory: replay reads them
                // from disk, after the older ones.
                state.backlog.extend(fresh);
                state.stats.failed_flushes += 1;
                if state.last_error.is_none() {
                    tracing::warn!(error = %format!("{err:#}"), "ClickHouse insert failed; rows stay spilled");
                }
                state.last_error = Some(format!("{err:#}"));
                retry_after = Some(Instant::now() + shared.policy.interval);
            }
        }
        state.completed = state.completed.max(target);
        shared.flushed.notify_all();
        if stopping {
            return;
        }
    }
}

/// One INSERT per table with the pending rows plus as much backlog as the policy
/// allows; returns the segment files now in ClickHouse (and deleted).
fn flush_once(
    shared: &Shared,
    pending: TableRows,
    fresh: Option<PathBuf>,
    older: &[PathBuf],
) -> anyhow::Result<Vec<PathBuf>> {
    let mut tables: BTreeMap<&'static str, Vec<u8>> = pending.tables;
    let mut covered: Vec<PathBuf> = fresh.into_iter().collect();
    let mut replay_bytes = 0u64;
    for path in older {
        let bytes = std::fs::read(path)
            .with_context(|| format!("reading spill segment {}", path.display()))?;
        if replay_bytes > 0 && replay_bytes + bytes.len() as u64 > shared.policy.max_replay_bytes {
            break;
        }
        replay_bytes += bytes.len() as u64;
        add_segment(&mut tables, &bytes, path)?;
        covered.push(path.clone());
    }
    if !tables.is_empty() {
        (shared.prepare)()?;
        for (table, rows) in &tables {
            if !rows.is_empty() {
                shared.client.insert(table, rows)?;
            }
        }
        (shared.after_insert)(&tables)?;
    }
    for path in &covered {
        std::fs::remove_file(path)
            .with_context(|| format!("removing inserted spill segment {}", path.display()))?;
    }
    Ok(covered)
}

/// Parses a segment's `table\tjson` lines into `tables`. A last line without its
/// newline was never acknowledged (the process died mid-write) and is skipped.
fn add_segment(
    tables: &mut BTreeMap<&'static str, Vec<u8>>,
    bytes: &[u8],
    path: &Path,
) -> anyhow::Result<()> {
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        if line.last() != Some(&b'\n') {
            tracing::warn!(segment = %path.display(), "skipping a torn last line");
            break;
        }
        let tab = line
            .iter()
            .position(|b| *b == b'\t')
            .with_context(|| format!("malformed line in {}", path.display()))?;
        let name = std::str::from_utf8(&line[..tab]).unwrap_or("");
        let table = INSERT_TABLES
            .into_iter()
            .find(|t| *t == name)
            .with_context(|| format!("unknown table `{name}` in {}", path.display()))?;
        tables
            .entry(table)
            .or_default()
            .extend_from_slice(&line[tab + 1..]);
    }
    Ok(())
}
