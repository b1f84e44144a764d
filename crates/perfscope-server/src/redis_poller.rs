//! The Redis poller: reads `INFO` from each configured instance and records keyspace
//! hits and misses, hit rate, memory, evictions and connected clients as time series.

use crate::timeseries::Sample;
use std::collections::BTreeMap;

/// `INFO` fields recorded, by the name used in series (`redis.NAME.<name>`).
const FIELDS: [(&str, &str); 6] = [
    ("keyspace_hits", "keyspace_hits"),
    ("keyspace_misses", "keyspace_misses"),
    ("used_memory", "used_memory_bytes"),
    ("maxmemory", "maxmemory_bytes"),
    ("evicted_keys", "evicted_keys"),
    ("connected_clients", "connected_clients"),
];

/// `key:value` lines of an `INFO` reply; sections and comments skipped.
pub fn parse_info(info: &str) -> BTreeMap<&str, &str> {
    info.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.trim_end().split_once(':'))
        .collect()
}

/// One instance's connection; reconnects on the next poll after a failure.
pub struct RedisPoller {
    name: String,
    client: redis::Client,
    connection: Option<redis::aio::MultiplexedConnection>,
    /// Counters at the previous poll, for the hit rate over the interval.
    previous: Option<(f64, f64)>,
}

impl RedisPoller {
    pub fn new(name: &str, url: &str) -> anyhow::Result<RedisPoller> {
        Ok(RedisPoller {
            name: name.to_string(),
            client: redis::Client::open(url)?,
            connection: None,
            previous: None,
        })
    }

    /// Reads `INFO` once and turns it into samples at `ts`.
    pub async fn poll(&mut self, ts: i64) -> anyhow::Result<Vec<Sample>> {
        let connection = match &mut self.connection {
            Some(connection) => connection,
            None => self
                .connection
                .insert(self.client.get_multiplexed_async_connection().await?),
        };
        let info: redis::RedisResult<String> = redis::cmd("INFO").query_async(connection).await;
        let info = match info {
            Ok(info) => info,
            Err(err) => {
                self.connection = None;
                return Err(err.into());
            }
        };
        let fields = parse_info(&info);
        let prefix = format!("redis.{}", self.name);
        let mut samples = Vec::new();
        for (field, series) in FIELDS {
            if let Some(value) = fields.get(field).and_then(|v| v.parse::<f64>().ok()) {
                samples.push(Sample::new(format!("{prefix}.{series}"), ts, value));
            }
        }
        let counter = |f: &str| fields.get(f).and_then(|v| v.parse::<f64>().ok());
        if let (Some(hits), Some(misses)) = (counter("keyspace_hits"), counter("keyspace_misses")) {
            let (hits_before, misses_before) = self.previous.unwrap_or((0.0, 0.0));
            let (dh, dm) = (hits - hits_before, misses - misses_before);
            // A restarted server starts its counters again from zero.
            let (dh, dm) = if dh < 0.0 || dm < 0.0 {
                (hits, misses)
            } else {
                (dh, dm)
            };
            if dh + dm > 0.0 {
                samples.push(Sample::new(
                    format!("{prefix}.hit_rate"),
                    ts,
                    dh / (dh + dm),
                ));
            }
            self.previous = Some((hits, misses));
        }
        Ok(samples)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn info_lines_become_fields() {
        let info = "# Stats\r\nkeyspace_hits:10\r\nkeyspace_misses:2\r\n\r\n# Memory\r\nused_memory:1024\r\n";
        let fields = super::parse_info(info);
        assert_eq!(fields["keyspace_hits"], "10");
        assert_eq!(fields["used_memory"], "1024");
        assert_eq!(fields.len(), 3);
    }
}
