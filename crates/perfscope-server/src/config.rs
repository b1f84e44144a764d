//! Collector configuration: defaults, then a TOML file, then `PERFSCOPE_*` variables.

use crate::monitoring_config::{
    AlertsConfig, CacheConfig, RedisConfig, SourcesConfig, SystemConfig,
};
use crate::store::{CardinalityLimits, RetentionPolicy, DAY_MS};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server binds to.
    pub listen: SocketAddr,
    pub storage: StorageConfig,
    /// Trunk's output for the dashboard, served under `/performance`.
    pub dashboard_dir: PathBuf,
    /// The standalone tracker (`perfscope.js` and its wasm), served under `/tracker`.
    pub tracker_dir: PathBuf,
    pub ingest: IngestConfig,
    #[serde(default)]
    pub retention: RetentionConfig,
    /// Caps on distinct routes and endpoints per site; the overflow is kept as `other`.
    #[serde(default)]
    pub cardinality: CardinalityLimits,
    #[serde(default)]
    pub cache: CacheConfig,
    #[serde(default)]
    pub system: SystemConfig,
    #[serde(default)]
    pub alerts: AlertsConfig,
    /// Services allowed to post samples, by name.
    #[serde(default)]
    pub sources: SourcesConfig,
    #[serde(default)]
    pub redis: RedisConfig,
}

/// How long each level of data is kept, in days, and how often old data is removed.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Raw events: drill-down samples, targets, CSV export and the sub-minute ends of
    /// query ranges.
    pub raw_days: NonZeroU32,
    pub minute_days: NonZeroU32,
    pub hour_days: NonZeroU32,
    pub day_days: NonZeroU32,
    /// Seconds between two retention passes.
    pub interval_secs: NonZeroU32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        let n = |v| NonZeroU32::new(v).expect("non-zero default");
        RetentionConfig {
            raw_days: n(7),
            minute_days: n(7),
            hour_days: n(90),
            day_days: n(730),
            interval_secs: n(3600),
        }
    }
}

impl RetentionConfig {
    pub fn policy(&self) -> RetentionPolicy {
        let ms = |days: NonZeroU32| i64::from(days.get()) * DAY_MS;
        RetentionPolicy {
            raw_ms: ms(self.raw_days),
            minute_ms: ms(self.minute_days),
            hour_ms: ms(self.hour_days),
            day_ms: ms(self.day_days),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// SQLite database file; its directory is created on first start.
    pub path: PathBuf,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    /// Largest request body accepted, in bytes. 64 KiB is what a browser lets a
    /// keepalive request or beacon carry, so a real tracker never needs more.
    pub max_body_bytes: usize,
    /// Largest body accepted once a gzip or br body is inflated.
    pub max_decompressed_bytes: usize,
    /// Batches waiting for the writer; beyond this the collector answers 503.
    pub queue_capacity: usize,
    pub rate_limit: RateLimitConfig,
}

/// Token buckets, counted in batches (requests), not events.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    pub per_ip_per_second: NonZeroU32,
    pub per_ip_burst: NonZeroU32,
    pub per_site_per_second: NonZeroU32,
    pub per_site_burst: NonZeroU32,
}

impl Default for RateLimitConfig {
    /// A page view sends a batch every few seconds; an office behind one NAT address
    /// has many page views at once. A site's limit is far above one tracker's pace and
    /// exists to keep one site from starving the others.
    fn default() -> Self {
        let n = |v| NonZeroU32::new(v).expect("non-zero default");
        RateLimitConfig {
            per_ip_per_second: n(20),
            per_ip_burst: n(100),
            per_site_per_second: n(2000),
            per_site_burst: n(5000),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            storage: StorageConfig {
                path: PathBuf::from("perfscope-data/perfscope.db"),
            },
            dashboard_dir: PathBuf::from("target/dist/dashboard"),
            tracker_dir: PathBuf::from("target/dist/tracker"),
            ingest: IngestConfig {
                max_body_bytes: 64 * 1024,
                max_decompressed_bytes: 1024 * 1024,
                queue_capacity: 1024,
                rate_limit: RateLimitConfig::default(),
            },
            retention: RetentionConfig::default(),
            cardinality: CardinalityLimits::default(),
            cache: CacheConfig::default(),
            system: SystemConfig::default(),
            alerts: AlertsConfig::default(),
            sources: SourcesConfig::default(),
            redis: RedisConfig::default(),
        }
    }
}

impl Config {
    /// Defaults, overridden by `file` when given, then by `PERFSCOPE_*` variables
    /// (`__` separates nested keys: `PERFSCOPE_STORAGE__PATH=/var/lib/perfscope.db`).
    pub fn load(file: Option<&Path>) -> Result<Config, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(Box::new(figment::Error::from(format!(
                    "config file {} does not exist",
                    file.display()
                ))));
            }
            figment = figment.merge(Toml::file(file));
        }
        figment
            // PERFSCOPE_CONFIG names the file itself (a CLI flag), not a setting.
            .merge(Env::prefixed("PERFSCOPE_").split("__").ignore(&["config"]))
            .extract()
            .map_err(Box::new)
    }
}

#[cfg(test)]
// figment::Jail's closures must return figment's own (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    // Every test runs in a Jail: it serialises tests that touch the process
    // environment and restores it afterwards.
    #[test]
    fn file_values_override_defaults_and_unknown_keys_fail() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "perfscope.toml",
                "listen = \"0.0.0.0:9000\"\n[storage]\npath = \"x.db\"\n",
            )?;
            let config = Config::load(Some(Path::new("perfscope.toml"))).map_err(|e| *e)?;
            assert_eq!(config.listen.port(), 9000);
            assert_eq!(config.storage.path, PathBuf::from("x.db"));
            assert_eq!(config.ingest.max_body_bytes, 64 * 1024);
            assert_eq!(config.retention.hour_days.get(), 90);
            assert_eq!(config.cardinality.max_routes_per_site, 500);

            jail.create_file(
                "perfscope.toml",
                "[retention]\nraw_days = 3\nminute_days = 2\nhour_days = 30\nday_days = 365\n\
                 interval_secs = 60\n[cardinality]\nmax_routes_per_site = 50\n\
                 max_endpoints_per_site = 20\n",
            )?;
            let config = Config::load(Some(Path::new("perfscope.toml"))).map_err(|e| *e)?;
            assert_eq!(config.retention.policy().raw_ms, 3 * DAY_MS);
            assert_eq!(config.retention.policy().day_ms, 365 * DAY_MS);
            assert_eq!(config.cardinality.max_endpoints_per_site, 20);
            jail.create_file("perfscope.toml", "[retention]\nraw_days = 0\n")?;
            assert!(Config::load(Some(Path::new("perfscope.toml"))).is_err());

            jail.create_file("perfscope.toml", "lisen = \"0.0.0.0:9000\"\n")?;
            let err = Config::load(Some(Path::new("perfscope.toml")))
                .unwrap_err()
                .to_string();
            assert!(err.contains("lisen"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn environment_overrides_file_and_typos_fail() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("perfscope.toml", "listen = \"0.0.0.0:9000\"\n")?;
            jail.set_env("PERFSCOPE_STORAGE__PATH", "/tmp/env.db");
            jail.set_env("PERFSCOPE_CONFIG", "perfscope.toml");
            let config = Config::load(Some(Path::new("perfscope.toml"))).map_err(|e| *e)?;
            assert_eq!(config.storage.path, PathBuf::from("/tmp/env.db"));
            assert_eq!(config.listen.port(), 9000);
            jail.set_env("PERFSCOPE_LISTN", "0.0.0.0:1");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("listn"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn a_missing_file_is_an_error() {
        figment::Jail::expect_with(|_| {
            assert!(Config::load(Some(Path::new("/nonexistent/perfscope.toml"))).is_err());
            Ok(())
        });
    }
}
