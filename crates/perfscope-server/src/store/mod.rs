//! The storage trait every backend implements, and the backends.
//!
//! The conformance suite (`tests/store_conformance.rs`) checks these semantics against
//! every backend.

pub mod api_call_block;
mod cardinality;
mod clickhouse;
mod export;
mod ingest_rollup;
mod page_views;
mod rollup;
pub mod seen_counters;
pub mod sketch;
mod sqlite;
mod summary;

pub use cardinality::{CardinalityLimits, OVERFLOW};
pub use clickhouse::{ClickHouseOptions, ClickHouseStore, WriterStats};
pub use export::ApiCallSample;
pub use rollup::{DAY_MS, HOUR_MS, MINUTE_MS};
pub use sqlite::SqliteStore;

use perfscope_model::{
    ApiOutcome, Batch, BreakdownRow, Dimension, EndpointSummary, Filter, SeriesPoint, SiteInfo,
    Summary, TargetSummary, VitalName, VitalSample, VitalSummary,
};

/// What one group commit did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InsertOutcome {
    pub stored: u64,
    /// Events whose (site, id) was already stored (a retried batch); kept once.
    pub duplicates: u64,
}

/// A time range in milliseconds since the Unix epoch, `from` inclusive, `to` exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimeRange {
    pub from: i64,
    pub to: i64,
}

/// A batch as the collector accepted it: what the browser sent, plus what only the
/// collector knows.
#[derive(Clone, Debug, PartialEq)]
pub struct AcceptedBatch {
    pub batch: Batch,
    /// Browser family from the User-Agent header (`chrome`, `firefox`, `safari`, `edge`,
    /// `other`).
    pub browser: String,
    /// Collector clock at acceptance, ms since the Unix epoch.
    pub received_ms: i64,
}

/// The overview of `scope`: every vital and every endpoint, as the summary API and the
/// live stream send it.
pub fn summarize(store: &dyn Store, scope: Scope) -> anyhow::Result<Summary> {
    // The two questions are independent: a backend that can answer them side by side
    // (ClickHouse, over separate connections) answers in the time of the slower one.
    let (vitals, endpoints) = if store.answers_side_by_side() {
        let (vitals, endpoints) = std::thread::scope(|threads| {
            let endpoints = threads.spawn(|| store.endpoints(&scope));
            let vitals = store.vitals(&scope);
            (vitals, endpoints.join())
        });
        let endpoints = endpoints.map_err(|_| anyhow::anyhow!("the endpoints query panicked"))?;
        (vitals, endpoints)
    } else {
        (store.vitals(&scope), store.endpoints(&scope))
    };
    Ok(Summary {
        vitals: vitals?,
        endpoints: endpoints?,
        site: scope.site,
        from: scope.range.from,
        to: scope.range.to,
    })
}

/// How every backend stores an API call's outcome (as the wire spells it).
pub(crate) fn outcome_name(outcome: ApiOutcome) -> &'static str {
    match outcome {
        ApiOutcome::Ok => "ok",
        ApiOutcome::HttpError => "http-error",
        ApiOutcome::NetworkError => "network-error",
        ApiOutcome::Aborted => "aborted",
    }
}

/// What every query is about: one site, a time range (by event `ts`), a filter.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Scope {
    pub site: String,
    pub range: TimeRange,
    pub filter: Filter,
}

/// What a time series is of.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SeriesMetric {
    Vital(VitalName),
    /// Latency (and error rate) of API calls; `None` for all endpoints together.
    Api {
        endpoint: Option<(String, String)>,
    },
}

/// How long each level is kept, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetentionPolicy {
    pub raw_ms: i64,
    pub minute_ms: i64,
    pub ten_minute_ms: i64,
    pub hour_ms: i64,
    pub day_ms: i64,
}

impl RetentionPolicy {
    pub(crate) fn rollup_ms(&self, level: rollup::Level) -> i64 {
        match level {
            rollup::Level::Minute => self.minute_ms,
            rollup::Level::TenMinutes => self.ten_minute_ms,
            rollup::Level::Hour => self.hour_ms,
            rollup::Level::Day => self.day_ms,
        }
    }
}

/// Rows (or rollup buckets) a retention pass removed, per level.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub raw: u64,
    pub minute: u64,
    pub ten_minute: u64,
    pub hour: u64,
    pub day: u64,
}

impl RetentionReport {
    pub(crate) fn rollup_mut(&mut self, level: rollup::Level) -> &mut u64 {
        match level {
            rollup::Level::Minute => &mut self.minute,
            rollup::Level::TenMinutes => &mut self.ten_minute,
            rollup::Level::Hour => &mut self.hour,
            rollup::Level::Day => &mut self.day,
        }
    }
}

/// Calls may block: async callers run them on the blocking pool.
///
/// Semantics every backend shares:
/// - Percentiles are within 1 % relative error of the exact nearest-rank value
///   (DDSketch-style log buckets); counts and rating-band counts are exact.
/// - Each (site, event id) is counted once, however often it was inserted.
/// - A page view counts once per CLS and once per INP, with its latest report: the
///   tracker reports them again, with new ids, each time the page is hidden with a
///   changed value. The latest is the greatest `ts` (ties: the later insert), whatever
///   order and however many commits the reports arrive in and whichever minute they
///   fall in; every answer (summaries, rating counts, percentiles, series, breakdowns,
///   top targets, samples) sees only it. Other vitals count each event id once.
/// - `SiteInfo::lost_events` sums `lost` over distinct (site, page view, seq) batches;
///   `missing_batches` sums, per page view, the gaps in the `seq`s received
///   (`max_seq + 1 - distinct seqs`), so a late batch fills its gap.
/// - Queries see every event whose insert returned Ok (read-your-writes).
/// - `route`s beyond the per-site cardinality cap (configurable, default 500 distinct
///   routes and 500 distinct endpoints per site) are stored and reported under `other`.
/// - Results for vitals are in `VitalName::ALL` order, always one entry per vital (count
///   0 and `None` percentiles when empty); endpoints slowest p95 first; breakdown rows
///   most samples first; series points ascending, empty buckets omitted.
pub trait Store: Send + Sync + 'static {
    /// Stores all batches, all or none; one outcome per batch, in order. Returns only
    /// once the events are durable (committed, or in a durable spill file that will be
    /// replayed).
    fn insert_batches(&self, batches: &[AcceptedBatch]) -> anyhow::Result<Vec<InsertOutcome>>;
    fn vitals(&self, scope: &Scope) -> anyhow::Result<Vec<VitalSummary>>;
    fn endpoints(&self, scope: &Scope) -> anyhow::Result<Vec<EndpointSummary>>;
    fn breakdown(
        &self,
        scope: &Scope,
        metric: VitalName,
        by: Dimension,
        limit: usize,
    ) -> anyhow::Result<Vec<BreakdownRow>>;
    /// `bucket_ms` is a multiple of a minute; bucket starts are multiples of `bucket_ms`.
    fn series(
        &self,
        scope: &Scope,
        metric: &SeriesMetric,
        bucket_ms: i64,
    ) -> anyhow::Result<Vec<SeriesPoint>>;
    /// Attribution targets of `metric` (LCP element, CLS largest-shift source, INP
    /// target), most samples first.
    fn top_targets(
        &self,
        scope: &Scope,
        metric: VitalName,
        limit: usize,
    ) -> anyhow::Result<Vec<TargetSummary>>;
    /// Raw events for drill-down, newest first (only while raw retention keeps them).
    fn samples(
        &self,
        scope: &Scope,
        metric: VitalName,
        limit: usize,
    ) -> anyhow::Result<Vec<VitalSample>>;
    fn sites(&self) -> anyhow::Result<Vec<SiteInfo>>;
    /// Raw API calls for the CSV export, newest first (ties by id, descending), each
    /// (site, id) once (only while raw retention keeps them).
    fn api_call_samples(&self, scope: &Scope, limit: usize) -> anyhow::Result<Vec<ApiCallSample>>;
    /// Deletes what is older than the policy allows at `now_ms`.
    fn enforce_retention(
        &self,
        policy: &RetentionPolicy,
        now_ms: i64,
    ) -> anyhow::Result<RetentionReport>;
    /// Whether independent questions (the overview's vitals and endpoints) are answered
    /// sooner side by side than one after the other: true for a backend that mostly
    /// waits on a server, false for one that computes on this machine's own cores,
    /// which the writer and the HTTP handlers already share.
    fn answers_side_by_side(&self) -> bool {
        false
    }
}
