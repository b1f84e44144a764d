//! The embedded default backend: one SQLite file in WAL mode.

use super::{percentile, InsertOutcome, Store, TimeRange};
use anyhow::Context;
use perfscope_model::{Batch, EndpointSummary, Rating, SiteInfo, Summary, VitalName, VitalSummary};
use rusqlite::{params, Connection, OpenFlags};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS vitals (
    site TEXT NOT NULL,
    id TEXT NOT NULL,
    page_view TEXT NOT NULL,
    page TEXT NOT NULL,
    name TEXT NOT NULL,
    value REAL NOT NULL,
    ts INTEGER NOT NULL,
    PRIMARY KEY (site, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS vitals_by_time ON vitals (site, name, ts);
CREATE TABLE IF NOT EXISTS api_calls (
    site TEXT NOT NULL,
    id TEXT NOT NULL,
    page_view TEXT NOT NULL,
    page TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER NOT NULL,
    duration REAL NOT NULL,
    ts INTEGER NOT NULL,
    PRIMARY KEY (site, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS api_calls_by_time ON api_calls (site, ts);
";

/// Writes go through one connection and reads through another, so that WAL lets a
/// dashboard query run while the writer commits.
pub struct SqliteStore {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens the database at `path`, creating the file, its directory and the schema.
    pub fn open(path: &Path) -> anyhow::Result<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating database directory {}", dir.display()))?;
        }
        let writer = Connection::open(path)
            .with_context(|| format!("opening SQLite database {}", path.display()))?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        // Durable at each commit point in WAL mode, without an fsync per transaction.
        writer.pragma_update(None, "synchronous", "NORMAL")?;
        writer.busy_timeout(std::time::Duration::from_secs(5))?;
        writer.execute_batch(SCHEMA)?;
        let reader = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        reader.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(SqliteStore {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
        })
    }
}

fn lock(conn: &Mutex<Connection>) -> std::sync::MutexGuard<'_, Connection> {
    // A panic while holding the lock cannot leave SQLite half-written (the transaction
    // rolls back), so a poisoned lock is safe to keep using.
    conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Store for SqliteStore {
    fn insert_batches(&self, batches: &[Batch]) -> anyhow::Result<Vec<InsertOutcome>> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction()?;
        let mut outcomes = Vec::with_capacity(batches.len());
        {
            let mut vital = tx.prepare_cached(
                "INSERT OR IGNORE INTO vitals (site, id, page_view, page, name, value, ts)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            let mut api = tx.prepare_cached(
                "INSERT OR IGNORE INTO api_calls
                 (site, id, page_view, page, method, path, status, duration, ts)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for batch in batches {
                let mut outcome = InsertOutcome::default();
                for v in &batch.vitals {
                    let inserted = vital.execute(params![
                        batch.site,
                        v.id,
                        batch.page_view,
                        batch.page,
                        v.name.as_str(),
                        v.value,
                        v.ts as i64
                    ])?;
                    outcome.count(inserted);
                }
                for a in &batch.api_calls {
                    let inserted = api.execute(params![
                        batch.site,
                        a.id,
                        batch.page_view,
                        batch.page,
                        a.method,
                        a.path,
                        a.status,
                        a.duration,
                        a.ts as i64
                    ])?;
                    outcome.count(inserted);
                }
                outcomes.push(outcome);
            }
        }
        tx.commit()?;
        Ok(outcomes)
    }

    fn summary(&self, site: &str, range: TimeRange) -> anyhow::Result<Summary> {
        let conn = lock(&self.reader);
        let mut vitals = Vec::with_capacity(VitalName::ALL.len());
        let mut values_stmt = conn.prepare_cached(
            "SELECT value FROM vitals WHERE site = ?1 AND name = ?2 AND ts >= ?3 AND ts < ?4
             ORDER BY value",
        )?;
        for name in VitalName::ALL {
            let values = values_stmt
                .query_map(params![site, name.as_str(), range.from, range.to], |row| {
                    row.get::<_, f64>(0)
                })?
                .collect::<Result<Vec<f64>, _>>()?;
            let rated = |rating| values.iter().filter(|v| name.rate(**v) == rating).count() as u64;
            vitals.push(VitalSummary {
                name,
                count: values.len() as u64,
                p50: percentile(&values, 0.5),
                p75: percentile(&values, 0.75),
                p90: percentile(&values, 0.9),
                p95: percentile(&values, 0.95),
                p99: percentile(&values, 0.99),
                good: rated(Rating::Good),
                needs_improvement: rated(Rating::NeedsImprovement),
                poor: rated(Rating::Poor),
            });
        }

        let mut calls_stmt = conn.prepare_cached(
            "SELECT method, path, status, duration FROM api_calls
             WHERE site = ?1 AND ts >= ?2 AND ts < ?3",
        )?;
        let mut by_endpoint: BTreeMap<(String, String), (Vec<f64>, u64)> = BTreeMap::new();
        let rows = calls_stmt.query_map(params![site, range.from, range.to], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, u16>(2)?,
                row.get::<_, f64>(3)?,
            ))
        })?;
        for row in rows {
            let (method, path, status, duration) = row?;
            let entry = by_endpoint.entry((method, path)).or_default();
            entry.0.push(duration);
            if status == 0 || status >= 400 {
                entry.1 += 1;
            }
        }
        let endpoints = by_endpoint
            .into_iter()
            .map(|((method, path), (mut durations, errors))| {
                durations.sort_by(f64::total_cmp);
                let count = durations.len() as u64;
                EndpointSummary {
                    method,
                    path,
                    count,
                    p50: percentile(&durations, 0.5).unwrap_or(0.0),
                    p95: percentile(&durations, 0.95).unwrap_or(0.0),
                    p99: percentile(&durations, 0.99).unwrap_or(0.0),
                    throughput_per_min: count as f64 * 60_000.0
                        / (range.to - range.from).max(1) as f64,
                    error_rate: errors as f64 / count as f64,
                }
            })
            .collect();

        Ok(Summary {
            site: site.to_string(),
            from: range.from,
            to: range.to,
            vitals,
            endpoints,
        })
    }

    fn sites(&self) -> anyhow::Result<Vec<SiteInfo>> {
        let conn = lock(&self.reader);
        let mut stmt = conn.prepare_cached(
            "SELECT site, COUNT(*), MAX(ts) FROM (
                 SELECT site, ts FROM vitals UNION ALL SELECT site, ts FROM api_calls
             ) GROUP BY site ORDER BY site",
        )?;
        let sites = stmt
            .query_map([], |row| {
                Ok(SiteInfo {
                    site: row.get(0)?,
                    events: row.get::<_, i64>(1)? as u64,
                    last_seen: row.get(2)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(sites)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfscope_model::{ApiCallEvent, VitalEvent};

    fn vital(id: &str, name: VitalName, value: f64, ts: f64) -> VitalEvent {
        VitalEvent {
            id: id.into(),
            ts,
            name,
            value,
            attribution: None,
        }
    }

    fn call(id: &str, path: &str, status: u16, duration: f64, ts: f64) -> ApiCallEvent {
        ApiCallEvent {
            id: id.into(),
            ts,
            method: "GET".into(),
            path: path.into(),
            status,
            duration,
            outcome: Default::default(),
            response_size: None,
            timing: None,
        }
    }

    fn batch(site: &str, vitals: Vec<VitalEvent>, api_calls: Vec<ApiCallEvent>) -> Batch {
        Batch {
            site: site.into(),
            page_view: "pv".into(),
            seq: 0,
            page: "/".into(),
            vitals,
            api_calls,
            ..Batch::default()
        }
    }

    const ALL_TIME: TimeRange = TimeRange {
        from: 0,
        to: i64::MAX,
    };

    #[test]
    fn survives_reopening_and_stores_duplicates_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/perfscope.db");
        let b = batch(
            "demo",
            vec![vital("a", VitalName::Lcp, 1200.0, 1000.0)],
            vec![],
        );
        {
            let store = SqliteStore::open(&path).unwrap();
            let first = store.insert_batches(std::slice::from_ref(&b)).unwrap();
            assert_eq!(
                first,
                vec![InsertOutcome {
                    stored: 1,
                    duplicates: 0
                }]
            );
        }
        let store = SqliteStore::open(&path).unwrap();
        let again = store.insert_batches(&[b]).unwrap();
        assert_eq!(
            again,
            vec![InsertOutcome {
                stored: 0,
                duplicates: 1
            }]
        );
        let summary = store.summary("demo", ALL_TIME).unwrap();
        let lcp = &summary.vitals[0];
        assert_eq!(
            (lcp.name, lcp.count, lcp.p75),
            (VitalName::Lcp, 1, Some(1200.0))
        );
    }

    #[test]
    fn summary_filters_by_site_and_range_and_groups_endpoints() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("p.db")).unwrap();
        let mut vitals: Vec<VitalEvent> = (1..=8)
            .map(|i| {
                vital(
                    &format!("v{i}"),
                    VitalName::Lcp,
                    f64::from(i) * 100.0,
                    5000.0,
                )
            })
            .collect();
        vitals.push(vital("late", VitalName::Lcp, 9999.0, 9000.0));
        let calls = vec![
            call("c1", "/api/a", 200, 10.0, 5000.0),
            call("c2", "/api/a", 500, 30.0, 5000.0),
            call("c3", "/api/a", 0, 20.0, 5000.0),
            call("c4", "/api/b", 204, 5.0, 5000.0),
        ];
        store
            .insert_batches(&[
                batch("demo", vitals, calls),
                batch(
                    "other",
                    vec![vital("x", VitalName::Lcp, 1.0, 5000.0)],
                    vec![],
                ),
            ])
            .unwrap();

        let summary = store
            .summary(
                "demo",
                TimeRange {
                    from: 4000,
                    to: 9000,
                },
            )
            .unwrap();
        let lcp = summary
            .vitals
            .iter()
            .find(|v| v.name == VitalName::Lcp)
            .unwrap();
        assert_eq!((lcp.count, lcp.p75), (8, Some(600.0)));
        let cls = summary
            .vitals
            .iter()
            .find(|v| v.name == VitalName::Cls)
            .unwrap();
        assert_eq!((cls.count, cls.p75), (0, None));
        assert_eq!(summary.endpoints.len(), 2);
        let a = &summary.endpoints[0];
        assert_eq!(
            (a.path.as_str(), a.count, a.p50, a.p95),
            ("/api/a", 3, 20.0, 30.0)
        );
        assert!((a.error_rate - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(summary.endpoints[1].error_rate, 0.0);

        let sites = store.sites().unwrap();
        let names: Vec<_> = sites.iter().map(|s| (s.site.as_str(), s.events)).collect();
        assert_eq!(names, vec![("demo", 13), ("other", 1)]);
    }
}
