//! Branch-only bridge: lets the pre-SPEC `SqliteStore` and the pre-SPEC callers
//! (`write_queue`, `routes/query`) compile against the SPEC trait in the
//! `server-clickhouse` branch. The SQLite backend and the new callers come from the
//! `server-rollups` branch; the coordinator deletes this file at merge.

use super::{
    AcceptedBatch, BreakdownRow, Dimension, EndpointSummary, InsertOutcome, RetentionPolicy,
    RetentionReport, Scope, SeriesMetric, SeriesPoint, SiteInfo, Store as SpecStore, TargetSummary,
    TimeRange, VitalName, VitalSample, VitalSummary,
};
use perfscope_model::{Batch, Summary};

// `sqlite.rs` imports `percentile` from its parent module.
use super::percentile;

#[path = "sqlite.rs"]
mod sqlite;

pub use sqlite::SqliteStore;

/// The pre-SPEC trait, exactly as `sqlite.rs` implements it (under the name it imports).
trait Store {
    fn insert_batches(&self, batches: &[Batch]) -> anyhow::Result<Vec<InsertOutcome>>;
    fn summary(&self, site: &str, range: TimeRange) -> anyhow::Result<Summary>;
    fn sites(&self) -> anyhow::Result<Vec<SiteInfo>>;
}

impl InsertOutcome {
    /// Tallies one `INSERT OR IGNORE`: 1 row written, or 0 for an id already stored.
    fn count(&mut self, rows_inserted: usize) {
        if rows_inserted == 0 {
            self.duplicates += 1;
        } else {
            self.stored += 1;
        }
    }
}

fn not_in_this_branch() -> anyhow::Error {
    anyhow::anyhow!("the pre-SPEC SQLite store answers only unfiltered vitals and endpoints")
}

impl SpecStore for SqliteStore {
    fn insert_batches(&self, batches: &[AcceptedBatch]) -> anyhow::Result<Vec<InsertOutcome>> {
        let plain: Vec<Batch> = batches.iter().map(|b| b.batch.clone()).collect();
        Store::insert_batches(self, &plain)
    }

    fn vitals(&self, scope: &Scope) -> anyhow::Result<Vec<VitalSummary>> {
        if scope.filter != Default::default() {
            return Err(not_in_this_branch());
        }
        Ok(Store::summary(self, &scope.site, scope.range)?.vitals)
    }

    fn endpoints(&self, scope: &Scope) -> anyhow::Result<Vec<EndpointSummary>> {
        if scope.filter != Default::default() {
            return Err(not_in_this_branch());
        }
        Ok(Store::summary(self, &scope.site, scope.range)?.endpoints)
    }

    fn breakdown(
        &self,
        _: &Scope,
        _: VitalName,
        _: Dimension,
        _: usize,
    ) -> anyhow::Result<Vec<BreakdownRow>> {
        Err(not_in_this_branch())
    }

    fn series(&self, _: &Scope, _: &SeriesMetric, _: i64) -> anyhow::Result<Vec<SeriesPoint>> {
        Err(not_in_this_branch())
    }

    fn top_targets(&self, _: &Scope, _: VitalName, _: usize) -> anyhow::Result<Vec<TargetSummary>> {
        Err(not_in_this_branch())
    }

    fn samples(&self, _: &Scope, _: VitalName, _: usize) -> anyhow::Result<Vec<VitalSample>> {
        Err(not_in_this_branch())
    }

    fn sites(&self) -> anyhow::Result<Vec<SiteInfo>> {
        Store::sites(self)
    }

    fn enforce_retention(&self, _: &RetentionPolicy, _: i64) -> anyhow::Result<RetentionReport> {
        Err(not_in_this_branch())
    }
}

/// The calls `write_queue` and `routes/query` make today, on any backend. Crate-private,
/// so that code outside the crate (the conformance suite) sees only the SPEC methods.
impl dyn SpecStore {
    pub(crate) fn insert_plain_batches(
        &self,
        batches: &[Batch],
    ) -> anyhow::Result<Vec<InsertOutcome>> {
        let received_ms = crate::clock::now_ms();
        let accepted: Vec<AcceptedBatch> = batches
            .iter()
            .map(|batch| AcceptedBatch {
                batch: batch.clone(),
                browser: "other".to_string(),
                received_ms,
            })
            .collect();
        SpecStore::insert_batches(self, &accepted)
    }

    pub(crate) fn summary(&self, site: &str, range: TimeRange) -> anyhow::Result<Summary> {
        let scope = Scope {
            site: site.to_string(),
            range,
            filter: Default::default(),
        };
        Ok(Summary {
            site: site.to_string(),
            from: range.from,
            to: range.to,
            vitals: self.vitals(&scope)?,
            endpoints: self.endpoints(&scope)?,
        })
    }
}
