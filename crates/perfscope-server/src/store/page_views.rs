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

use super::seen_counters::CounterSet;
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
    changed: bool,
}

/// `max_seq + 1 - batches received`: the batches a page view is known to miss.
fn missing(seqs: &CounterSet) -> i64 {
    seqs.max()
        .map_or(0, |max| (max as i64 + 1).saturating_sub(seqs.len() as i64))
}

impl PageView {
    /// Records batch `seq`; `None` when that batch came before, else how the page view's
    /// missing batches changed (a gap it opened, or -1 for a gap it filled).
    pub fn add_batch(&mut self, seq: u32, received_ms: i64) -> Option<i64> {
        let before = missing(&self.seqs);
        if !self.seqs.insert(u64::from(seq)) {
            return None;
        }
        self.touch(received_ms);
        Some(missing(&self.seqs) - before)
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

    /// Records the call id `{page_view}-{counter}`; false when it was stored before.
    pub fn add_call(&mut self, counter: u64, received_ms: i64) -> bool {
        let fresh = self.calls.insert(counter);
        if fresh {
            self.touch(received_ms);
        }
        fresh
    }

    /// Forgets a call id retention removed, so a late retry is stored again.
    pub fn forget_call(&mut self, counter: u64) {
        self.changed |= self.calls.remove(counter);
    }

    fn is_empty(&self) -> bool {
        self.seqs.is_empty() && self.calls.is_empty() && self.cls.is_none() && self.inp.is_none()
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
                "SELECT seqs, received_ms, cls_id, cls_ts, inp_id, inp_ts, calls FROM page_views
                 WHERE site = ?1 AND page_view = ?2",
            )?,
            write: tx.prepare_cached(
                "INSERT OR REPLACE INTO page_views
                     (site, page_view, seqs, received_ms, cls_id, cls_ts, inp_id, inp_ts, calls)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
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
                ))
            })
            .optional()?;
        let report = |id: Option<String>, ts: Option<i64>| Some(LatestReport { id: id?, ts: ts? });
        let row = match stored {
            Some((seqs, received_ms, cls_id, cls_ts, inp_id, inp_ts, calls)) => PageView {
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
                changed: false,
            },
            None => PageView {
                site: key.0.clone(),
                page_view: key.1.clone(),
                seqs: CounterSet::default(),
                received_ms: i64::MIN,
                cls: None,
                inp: None,
                calls: CounterSet::default(),
                changed: false,
            },
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
                calls
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
        PageView {
            site: "s".into(),
            page_view: "pv".into(),
            seqs: CounterSet::default(),
            received_ms: i64::MIN,
            cls: None,
            inp: None,
            calls: CounterSet::default(),
            changed: false,
        }
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
