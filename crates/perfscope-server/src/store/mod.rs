//! The storage trait every backend implements, and the backends.

mod percentile;
mod sqlite;

pub use percentile::percentile;
pub use sqlite::SqliteStore;

use perfscope_model::{Batch, SiteInfo, Summary};

/// What one group commit did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InsertOutcome {
    pub stored: u64,
    /// Events whose id was already stored (a retried batch); kept once.
    pub duplicates: u64,
}

impl InsertOutcome {
    /// Tallies one `INSERT OR IGNORE`: 1 row written, or 0 for an id already stored.
    pub fn count(&mut self, rows_inserted: usize) {
        if rows_inserted == 0 {
            self.duplicates += 1;
        } else {
            self.stored += 1;
        }
    }
}

/// A time range in milliseconds since the Unix epoch, `from` inclusive, `to` exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeRange {
    pub from: i64,
    pub to: i64,
}

/// Calls may block: async callers run them on the blocking pool.
pub trait Store: Send + Sync + 'static {
    /// Stores all batches in one transaction, all of them or none; one outcome per batch.
    fn insert_batches(&self, batches: &[Batch]) -> anyhow::Result<Vec<InsertOutcome>>;
    fn summary(&self, site: &str, range: TimeRange) -> anyhow::Result<Summary>;
    fn sites(&self) -> anyhow::Result<Vec<SiteInfo>>;
}
