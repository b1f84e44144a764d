//! Monitoring time series (cache stats, host resources, other services' samples) in
//! their own SQLite tables: raw points plus minute, hour and day rollups, with the same
//! retention levels as the vitals.

use crate::store::{RetentionPolicy, RetentionReport, DAY_MS, HOUR_MS, MINUTE_MS};
use perfscope_model::MonitorPoint;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS monitor_raw (
    series TEXT NOT NULL,
    ts INTEGER NOT NULL,
    value REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS monitor_raw_series_ts ON monitor_raw(series, ts);
CREATE TABLE IF NOT EXISTS monitor_rollup (
    level INTEGER NOT NULL,
    series TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    count INTEGER NOT NULL,
    sum REAL NOT NULL,
    min REAL NOT NULL,
    max REAL NOT NULL,
    PRIMARY KEY (level, series, bucket)
) WITHOUT ROWID;
";

/// Rollup widths; the level column stores the width itself.
const LEVELS: [i64; 3] = [MINUTE_MS, HOUR_MS, DAY_MS];

/// One reading of one series.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub series: String,
    pub ts: i64,
    pub value: f64,
}

impl Sample {
    pub fn new(series: impl Into<String>, ts: i64, value: f64) -> Sample {
        Sample {
            series: series.into(),
            ts,
            value,
        }
    }
}

/// Calls block on SQLite: async callers run them on the blocking pool.
pub struct TimeSeriesDb {
    connection: Mutex<Connection>,
}

impl TimeSeriesDb {
    /// Opens (and creates) the tables in the collector's database file; they share the
    /// file, not the connection, with the event store.
    pub fn open(path: &Path) -> anyhow::Result<TimeSeriesDb> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let connection = Connection::open(path)?;
        // The event writer holds the write lock for a group commit at a time.
        connection.busy_timeout(Duration::from_secs(10))?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.execute_batch(SCHEMA)?;
        Ok(TimeSeriesDb {
            connection: Mutex::new(connection),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written: the
        // transaction rolls back when dropped.
        self.connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stores samples and folds them into every rollup level, in one transaction.
    pub fn record(&self, samples: &[Sample]) -> anyhow::Result<()> {
        let mut connection = self.lock();
        let tx = connection.transaction()?;
        {
            let mut raw =
                tx.prepare_cached("INSERT INTO monitor_raw (series, ts, value) VALUES (?, ?, ?)")?;
            let mut rollup = tx.prepare_cached(
                "INSERT INTO monitor_rollup (level, series, bucket, count, sum, min, max)
                 VALUES (?1, ?2, ?3, 1, ?4, ?4, ?4)
                 ON CONFLICT (level, series, bucket) DO UPDATE SET
                   count = count + 1, sum = sum + excluded.sum,
                   min = MIN(min, excluded.min), max = MAX(max, excluded.max)",
            )?;
            for sample in samples.iter().filter(|s| s.value.is_finite()) {
                raw.execute(params![sample.series, sample.ts, sample.value])?;
                for width in LEVELS {
                    let bucket = sample.ts.div_euclid(width) * width;
                    rollup.execute(params![width, sample.series, bucket, sample.value])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Points of `series` in `[from, to)`, one per `bucket_ms` (0: raw points). Reads
    /// the coarsest rollup that divides the bucket.
    pub fn points(
        &self,
        series: &str,
        from: i64,
        to: i64,
        bucket_ms: i64,
    ) -> anyhow::Result<Vec<MonitorPoint>> {
        let connection = self.lock();
        let map = |row: &rusqlite::Row<'_>| -> rusqlite::Result<MonitorPoint> {
            let count: i64 = row.get(1)?;
            let sum: f64 = row.get(2)?;
            Ok(MonitorPoint {
                ts: row.get(0)?,
                count: count as u64,
                avg: sum / count.max(1) as f64,
                min: row.get(3)?,
                max: row.get(4)?,
            })
        };
        if bucket_ms <= 0 {
            let mut statement = connection.prepare_cached(
                "SELECT ts, 1, value, value, value FROM monitor_raw
                 WHERE series = ? AND ts >= ? AND ts < ? ORDER BY ts",
            )?;
            let rows = statement.query_map(params![series, from, to], map)?;
            return Ok(rows.collect::<Result<_, _>>()?);
        }
        let level = LEVELS
            .iter()
            .rev()
            .copied()
            .find(|width| bucket_ms % width == 0)
            .unwrap_or(MINUTE_MS);
        let mut statement = connection.prepare_cached(
            "SELECT (bucket / ?1) * ?1 AS b, SUM(count), SUM(sum), MIN(min), MAX(max)
             FROM monitor_rollup
             WHERE level = ?2 AND series = ?3 AND bucket >= ?4 AND bucket < ?5
             GROUP BY b ORDER BY b",
        )?;
        let rows = statement.query_map(params![bucket_ms, level, series, from, to], map)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The newest raw value of `series` at or after `since`.
    pub fn latest(&self, series: &str, since: i64) -> anyhow::Result<Option<(i64, f64)>> {
        let connection = self.lock();
        let mut statement = connection.prepare_cached(
            "SELECT ts, value FROM monitor_raw WHERE series = ? AND ts >= ?
             ORDER BY ts DESC LIMIT 1",
        )?;
        Ok(statement
            .query_row(params![series, since], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?)
    }

    /// Average of the raw values of `series` in `[from, to)`.
    pub fn average(&self, series: &str, from: i64, to: i64) -> anyhow::Result<Option<f64>> {
        let connection = self.lock();
        let mut statement = connection.prepare_cached(
            "SELECT AVG(value) FROM monitor_raw WHERE series = ? AND ts >= ? AND ts < ?",
        )?;
        Ok(statement.query_row(params![series, from, to], |row| row.get(0))?)
    }

    /// Series names starting with `prefix`, sorted.
    pub fn names(&self, prefix: &str) -> anyhow::Result<Vec<String>> {
        let connection = self.lock();
        let mut statement = connection.prepare_cached(
            "SELECT DISTINCT series FROM monitor_rollup
             WHERE level = ?1 AND substr(series, 1, length(?2)) = ?2 ORDER BY series",
        )?;
        let rows = statement.query_map(params![DAY_MS, prefix], |row| row.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Deletes raw points and rollup rows older than the policy keeps at `now_ms`.
    pub fn enforce_retention(
        &self,
        policy: &RetentionPolicy,
        now_ms: i64,
    ) -> anyhow::Result<RetentionReport> {
        let connection = self.lock();
        let raw = connection.execute(
            "DELETE FROM monitor_raw WHERE ts < ?",
            [now_ms - policy.raw_ms],
        )?;
        let mut removed = [0usize; 3];
        for (i, (width, keep)) in LEVELS
            .into_iter()
            .zip([policy.minute_ms, policy.hour_ms, policy.day_ms])
            .enumerate()
        {
            removed[i] = connection.execute(
                "DELETE FROM monitor_rollup WHERE level = ? AND bucket < ?",
                params![width, now_ms - keep],
            )?;
        }
        Ok(RetentionReport {
            raw: raw as u64,
            minute: removed[0] as u64,
            hour: removed[1] as u64,
            day: removed[2] as u64,
            // Monitoring series have no ten-minute level.
            ten_minute: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollups_aggregate_and_retention_removes_old_rows() {
        let dir = tempfile::tempdir().unwrap();
        let db = TimeSeriesDb::open(&dir.path().join("m.db")).unwrap();
        let base = 10 * DAY_MS;
        let samples: Vec<Sample> = (0..120)
            .map(|i| Sample::new("system.cpu.total", base + i * 1000, i as f64))
            .collect();
        db.record(&samples).unwrap();
        db.record(&[Sample::new("system.memory.used_ratio", base, 0.5)])
            .unwrap();

        let minutes = db
            .points("system.cpu.total", base, base + HOUR_MS, MINUTE_MS)
            .unwrap();
        assert_eq!(minutes.len(), 2);
        assert_eq!(
            (minutes[0].count, minutes[0].min, minutes[0].max),
            (60, 0.0, 59.0)
        );
        assert!((minutes[0].avg - 29.5).abs() < 1e-9);
        let five = db
            .points("system.cpu.total", base, base + HOUR_MS, 5 * MINUTE_MS)
            .unwrap();
        assert_eq!((five.len(), five[0].count), (1, 120));
        let raw = db.points("system.cpu.total", base, base + 5000, 0).unwrap();
        assert_eq!(raw.len(), 5);
        assert_eq!(
            db.latest("system.cpu.total", base).unwrap(),
            Some((base + 119_000, 119.0))
        );
        assert_eq!(
            db.names("system.").unwrap(),
            vec!["system.cpu.total", "system.memory.used_ratio"]
        );

        let policy = RetentionPolicy {
            raw_ms: DAY_MS,
            minute_ms: DAY_MS,
            ten_minute_ms: DAY_MS,
            hour_ms: 2 * DAY_MS,
            day_ms: 30 * DAY_MS,
        };
        let report = db.enforce_retention(&policy, base + 3 * DAY_MS).unwrap();
        assert_eq!(
            (report.raw, report.minute, report.hour, report.day),
            (121, 3, 2, 0)
        );
        assert!(db
            .points("system.cpu.total", base, base + HOUR_MS, MINUTE_MS)
            .unwrap()
            .is_empty());
        assert_eq!(
            db.points("system.cpu.total", 0, base + DAY_MS, DAY_MS)
                .unwrap()
                .len(),
            1
        );
    }
}
