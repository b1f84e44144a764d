//! What the SQLite writer keeps per page view about what it stored before, in one row:
//! the `seq`s received (batch dedup and the missing-batch count), the CLS and INP
//! report that counts until a later one replaces it, and the counters of API call ids
//! shaped `{page_view}-{counter}` (`seen_counters`), whose prefix is the tracker's page
//! view id.
//!
//! These were four tables (a row per batch, a row per page view, a row per page view
//! and metric, a row per call id prefix), so every batch cost four or five random
//! B-tree reads and seven writes, each in a different tree, and a group commit of a
//! hundred page views dirtied (and wrote to the WAL) several hundred more pages. One
//! row, read once and written once per page view a commit touches, keeps one tree. The
//! row of a call id's prefix is found from the id alone, whichever batch carries it, so
//! a prefix that names no page view simply has a row with no batches.
//!
//! Both sets are capped at `MAX_RANGES` ranges, so a client sending every other number
//! cannot make one row grow without end. Past the cap, call ids keep exact dedup as rows
//! of `api_call_ids` (the row remembers that it spilled, so an id is always looked up
//! where it was put), and a batch whose seq would open another range is counted as new
//! without being remembered: only such a client's own missing-batch count can be off.

use super::seen_counters::{CounterSet, Insert, MAX_RANGES};
use anyhow::Context;
use perfscope_model::VitalName;
use rusqlite::{params, CachedStatement, OptionalExtension, Transaction};

/// `received_ms` is the last time a batch changed the row; retention drops the row
/// once that is older than the raw events and no call id in `calls` is still kept.
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS page_views (
    site TEXT NOT NULL,
    page_view TEXT NOT NULL,
    seqs BLOB NOT NULL,
    received_ms INTEGER NOT NULL,
    cls_id TEXT,
    cls_ts INTEGER,
    inp_id TEXT,
    inp_ts INTEGER,
    calls BLOB,
    calls_spilled INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site, page_view)
) WITHOUT ROWID;";

/// The report of a metric that counts for its page view.
pub(super) struct LatestReport {
    pub id: String,
    pub ts: i64,
}

/// One page view's row as a commit reads and changes it.
pub(super) struct PageView {
    site: String,
    page_view: String,
    seqs: CounterSet,
    received_ms: i64,
    cls: Option<LatestReport>,
    inp: Option<LatestReport>,
    calls: CounterSet,
    /// Set once `calls` was full: every counter not in `calls` is then a row of
    /// `api_call_ids` (or new), never again added to `calls`.
    calls_spilled: bool,
    changed: bool,
}

/// Where a call id's counter was found or put.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CallRecord {
    Added,
    AlreadyThere,
    /// Its prefix's set is full: the id is deduplicated as a row of `api_call_ids`.
    Spilled,
}

/// `max_seq + 1 - batches received`: the batches a page view is known to miss.
fn missing(seqs: &CounterSet) -> i64 {
    seqs.max()
        .map_or(0, |max| (max as i64 + 1).saturating_sub(seqs.len() as i64))
}

impl PageView {
    /// A page view the table has no row for yet.
    fn new(site: String, page_view: String) -> PageView {
        PageView {
            site,
            page_view,
            seqs: CounterSet::default(),
            received_ms: i64::MIN,
            cls: None,
            inp: None,
            calls: CounterSet::default(),
            calls_spilled: false,
            changed: false,
        }
    }

    /// Records batch `seq`; `None` when that batch came before, else how the page view's
    /// missing batches changed (a gap it opened, or -1 for a gap it filled).
    pub fn add_batch(&mut self, seq: u32, received_ms: i64) -> Option<i64> {
        let before = missing(&self.seqs);
        match self.seqs.insert_capped(u64::from(seq), MAX_RANGES) {
            Insert::AlreadyThere => None,
            Insert::Full => Some(0),
            Insert::Added => {
                self.touch(received_ms);
                Some(missing(&self.seqs) - before)
            }
        }
    }

    /// The counting report of CLS or INP; `None` for other vitals.
    pub fn latest(&self, name: VitalName) -> Option<&LatestReport> {
        match name {
            VitalName::Cls => self.cls.as_ref(),
            VitalName::Inp => self.inp.as_ref(),
            _ => None,
        }
    }

    /// Makes `report` the one that counts for `name` (CLS or INP; others are ignored).
    pub fn set_latest(&mut self, name: VitalName, report: LatestReport, received_ms: i64) {
        let slot = match name {
            VitalName::Cls => &mut self.cls,
            VitalName::Inp => &mut self.inp,
            _ => return,
        };
        *slot = Some(report);
        self.touch(received_ms);
    }

    /// Records the call id `{page_view}-{counter}`, or says it belongs in
    /// `api_call_ids`.
    pub fn add_call(&mut self, counter: u64, received_ms: i64) -> CallRecord {
        if self.calls_spilled {
            return if self.calls.contains(counter) {
                CallRecord::AlreadyThere
            } else {
                CallRecord::Spilled
            };
        }
        match self.calls.insert_capped(counter, MAX_RANGES) {
            Insert::Added => {
                self.touch(received_ms);
                CallRecord::Added
            }
            Insert::AlreadyThere => CallRecord::AlreadyThere,
            Insert::Full => {
                self.calls_spilled = true;
                self.touch(received_ms);
                CallRecord::Spilled
            }
        }
    }

    /// Forgets a call id retention removed, so a late retry is stored again; false
    /// when it is not in the set but may be a row of `api_call_ids`.
    pub fn forget_call(&mut self, counter: u64) -> bool {
        let removed = self.calls.remove(counter);
        self.changed |= removed;
        removed || !self.calls_spilled
    }

    /// A spilled row stays: it is what sends its prefix's ids to `api_call_ids`.
    fn is_empty(&self) -> bool {
        self.seqs.is_empty()
            && self.calls.is_empty()
            && !self.calls_spilled
            && self.cls.is_none()
            && self.inp.is_none()
    }

    fn touch(&mut self, received_ms: i64) {
        self.received_ms = self.received_ms.max(received_ms);
        self.changed = true;
    }
}

/// The page views one transaction touches, each loaded on first use and written back
/// by `flush`.
pub(super) struct PageViews<'t> {
    read: CachedStatement<'t>,
    write: CachedStatement<'t>,
    delete: CachedStatement<'t>,
    rows: Vec<PageView>,
    index: foldhash::HashMap<(String, String), usize>,
    /// The row asked for last: a batch asks for its own row once per call id.
    last: Option<usize>,
}

impl<'t> PageViews<'t> {
    pub fn prepare(tx: &'t Transaction<'_>) -> rusqlite::Result<PageViews<'t>> {
        Ok(PageViews {
            read: tx.prepare_cached(
                "SELECT seqs, received_ms, cls_id, cls_ts, inp_id, inp_ts, calls, calls_spilled
                 FROM page_views WHERE site = ?1 AND page_view = ?2",
            )?,
            write: tx.prepare_cached(
                "INSERT OR REPLACE INTO page_views
                     (site, page_view, seqs, received_ms, cls_id, cls_ts, inp_id, inp_ts, calls,
                      calls_spilled)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?,
            delete: tx
                .prepare_cached("DELETE FROM page_views WHERE site = ?1 AND page_view = ?2")?,
            rows: Vec::new(),
            index: Default::default(),
            last: None,
        })
    }

    /// The row of `(site, page_view)`, read from the table the first time a commit asks.
    pub fn get(&mut self, site: &str, page_view: &str) -> anyhow::Result<&mut PageView> {
        if let Some(i) = self
            .last
            .filter(|&i| self.rows[i].page_view == page_view && self.rows[i].site == site)
        {
            return Ok(&mut self.rows[i]);
        }
        let key = (site.to_string(), page_view.to_string());
        if let Some(&i) = self.index.get(&key) {
            self.last = Some(i);
            return Ok(&mut self.rows[i]);
        }
        type Stored = (
            Vec<u8>,
            i64,
            Option<String>,
            Option<i64>,
            Option<String>,
            Option<i64>,
            Option<Vec<u8>>,
            bool,
        );
        let stored: Option<Stored> = self
            .read
            .query_row(params![site, page_view], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                    row.get(5)?,
                    row.get(6)?,
                    row.get(7)?,
                ))
            })
            .optional()?;
        let report = |id: Option<String>, ts: Option<i64>| Some(LatestReport { id: id?, ts: ts? });
        let row = match stored {
            Some((seqs, received_ms, cls_id, cls_ts, inp_id, inp_ts, calls, calls_spilled)) => {
                PageView {
                    site: key.0.clone(),
                    page_view: key.1.clone(),
                    seqs: CounterSet::decode(&seqs).context("reading a page_views row")?,
                    received_ms,
                    cls: report(cls_id, cls_ts),
                    inp: report(inp_id, inp_ts),
                    calls: match calls {
                        Some(blob) => {
                            CounterSet::decode(&blob).context("reading a page_views row's calls")?
                        }
                        None => CounterSet::default(),
                    },
                    calls_spilled,
                    changed: false,
                }
            }
            None => PageView::new(key.0.clone(), key.1.clone()),
        };
        let i = self.rows.len();
        self.rows.push(row);
        self.index.insert(key, i);
        self.last = Some(i);
        Ok(&mut self.rows[i])
    }

    /// Writes back every row that changed; call before the transaction commits.
    pub fn flush(&mut self) -> anyhow::Result<()> {
        for row in self.rows.iter().filter(|row| row.changed) {
            if row.is_empty() {
                self.delete.execute(params![row.site, row.page_view])?;
                continue;
            }
            let calls = (!row.calls.is_empty()).then(|| row.calls.encode());
            let (cls_id, cls_ts) = row.cls.as_ref().map(|r| (&r.id, r.ts)).unzip();
            let (inp_id, inp_ts) = row.inp.as_ref().map(|r| (&r.id, r.ts)).unzip();
            self.write.execute(params![
                row.site,
                row.page_view,
                row.seqs.encode(),
                row.received_ms,
                cls_id,
                cls_ts,
                inp_id,
                inp_ts,
                calls,
                row.calls_spilled
            ])?;
        }
        self.rows.clear();
        self.index.clear();
        self.last = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty() -> PageView {
        PageView::new("s".into(), "pv".into())
    }

    #[test]
    fn missing_batches_follow_gaps_opened_and_filled_and_a_repeat_is_refused() {
        let mut page_view = empty();
        assert_eq!(page_view.add_batch(0, 10), Some(0));
        assert_eq!(page_view.add_batch(3, 11), Some(2));
        assert_eq!(page_view.add_batch(3, 12), None);
        assert_eq!(page_view.add_batch(1, 13), Some(-1));
        assert_eq!(page_view.add_batch(2, 14), Some(-1));
        assert_eq!(missing(&page_view.seqs), 0);
        assert_eq!(page_view.received_ms, 14);
    }

    #[test]
    fn a_page_view_starting_past_seq_zero_misses_the_batches_before() {
        let mut page_view = empty();
        assert_eq!(page_view.add_batch(2, 10), Some(2));
        assert_eq!(page_view.add_batch(0, 10), Some(-1));
    }

    #[test]
    fn past_the_cap_seqs_count_as_new_and_call_ids_spill_for_good() {
        let mut page_view = empty();
        // Every other seq: each opens a range until the cap.
        for n in 0..MAX_RANGES as u32 {
            assert!(page_view.add_batch(2 * n, 1).is_some());
        }
        assert_eq!(page_view.seqs.range_count(), MAX_RANGES);
        assert_eq!(page_view.add_batch(10_001, 1), Some(0));
        assert_eq!(page_view.add_batch(1, 1), Some(-1), "fills a gap as before");

        for n in 0..MAX_RANGES as u64 {
            assert_eq!(page_view.add_call(2 * n, 1), CallRecord::Added);
        }
        let past = 2 * MAX_RANGES as u64 + 1;
        assert_eq!(page_view.add_call(past, 1), CallRecord::Spilled);
        // Once spilled, even a counter that would join a range goes to the id rows,
        // so a counter is never in both places.
        assert_eq!(page_view.add_call(1, 1), CallRecord::Spilled);
        assert_eq!(page_view.add_call(0, 1), CallRecord::AlreadyThere);
        assert!(page_view.forget_call(0));
        assert!(!page_view.forget_call(1), "may be an id row");
        page_view.seqs = CounterSet::default();
        page_view.calls = CounterSet::default();
        assert!(!page_view.is_empty(), "a spilled row is kept");
    }

    #[test]
    fn only_cls_and_inp_keep_a_latest_report() {
        let mut page_view = empty();
        let report = |id: &str| LatestReport {
            id: id.into(),
            ts: 5,
        };
        page_view.set_latest(VitalName::Lcp, report("lcp"), 1);
        assert!(!page_view.changed && page_view.latest(VitalName::Lcp).is_none());
        page_view.set_latest(VitalName::Inp, report("inp"), 1);
        assert_eq!(page_view.latest(VitalName::Inp).unwrap().id, "inp");
        assert!(page_view.latest(VitalName::Cls).is_none());
    }
}
