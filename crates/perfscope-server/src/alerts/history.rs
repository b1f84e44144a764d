//! What must survive a restart about alerts, in their own SQLite tables: rules created
//! through the API, every status change, and every webhook delivery attempt.

use perfscope_model::{AlertRule, AlertTransition, DeliveryAttempt};
use rusqlite::{params, Connection};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS alert_rules (
    id TEXT PRIMARY KEY,
    rule TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alert_transitions (
    ts INTEGER NOT NULL,
    transition TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_transitions_ts ON alert_transitions(ts);
CREATE TABLE IF NOT EXISTS alert_deliveries (
    ts INTEGER NOT NULL,
    attempt TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_deliveries_ts ON alert_deliveries(ts);
";

/// Calls block on SQLite: async callers run them on the blocking pool.
pub struct AlertHistory {
    connection: Mutex<Connection>,
}

impl AlertHistory {
    pub fn open(path: &Path) -> anyhow::Result<AlertHistory> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let connection = Connection::open(path)?;
        connection.busy_timeout(Duration::from_secs(10))?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.execute_batch(SCHEMA)?;
        Ok(AlertHistory {
            connection: Mutex::new(connection),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.connection.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn save_rule(&self, rule: &AlertRule) -> anyhow::Result<()> {
        self.lock().execute(
            "INSERT INTO alert_rules (id, rule) VALUES (?1, ?2)
             ON CONFLICT (id) DO UPDATE SET rule = excluded.rule",
            params![rule.id, serde_json::to_string(rule)?],
        )?;
        Ok(())
    }

    /// Whether a rule with that id was stored.
    pub fn delete_rule(&self, id: &str) -> anyhow::Result<bool> {
        Ok(self
            .lock()
            .execute("DELETE FROM alert_rules WHERE id = ?", [id])?
            > 0)
    }

    pub fn rules(&self) -> anyhow::Result<Vec<AlertRule>> {
        let connection = self.lock();
        let mut statement = connection.prepare("SELECT rule FROM alert_rules ORDER BY id")?;
        let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
        let mut rules = Vec::new();
        for row in rows {
            rules.push(serde_json::from_str(&row?)?);
        }
        Ok(rules)
    }

    pub fn record_transition(&self, transition: &AlertTransition) -> anyhow::Result<()> {
        self.lock().execute(
            "INSERT INTO alert_transitions (ts, transition) VALUES (?, ?)",
            params![transition.ts_ms, serde_json::to_string(transition)?],
        )?;
        Ok(())
    }

    pub fn record_delivery(&self, attempt: &DeliveryAttempt) -> anyhow::Result<()> {
        self.lock().execute(
            "INSERT INTO alert_deliveries (ts, attempt) VALUES (?, ?)",
            params![attempt.ts_ms, serde_json::to_string(attempt)?],
        )?;
        Ok(())
    }

    /// Newest first.
    pub fn transitions(&self, limit: usize) -> anyhow::Result<Vec<AlertTransition>> {
        self.newest("alert_transitions", "transition", limit)
    }

    /// Newest first.
    pub fn deliveries(&self, limit: usize) -> anyhow::Result<Vec<DeliveryAttempt>> {
        self.newest("alert_deliveries", "attempt", limit)
    }

    fn newest<T: serde::de::DeserializeOwned>(
        &self,
        table: &str,
        column: &str,
        limit: usize,
    ) -> anyhow::Result<Vec<T>> {
        let connection = self.lock();
        let mut statement = connection.prepare(&format!(
            "SELECT {column} FROM {table} ORDER BY ts DESC, rowid DESC LIMIT ?"
        ))?;
        let rows = statement.query_map([limit as i64], |row| row.get::<_, String>(0))?;
        let mut items = Vec::new();
        for row in rows {
            items.push(serde_json::from_str(&row?)?);
        }
        Ok(items)
    }

    /// Drops history older than `before_ms`.
    pub fn enforce_retention(&self, before_ms: i64) -> anyhow::Result<u64> {
        let connection = self.lock();
        let a = connection.execute("DELETE FROM alert_transitions WHERE ts < ?", [before_ms])?;
        let b = connection.execute("DELETE FROM alert_deliveries WHERE ts < ?", [before_ms])?;
        Ok((a + b) as u64)
    }
}
