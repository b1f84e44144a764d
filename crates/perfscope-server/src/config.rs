//! Collector configuration: defaults, then a TOML file, then `PERFSCOPE_*` variables.

use crate::auth::config::{AuthConfig, MetricsConfig};
use crate::client_ip::TrustedProxy;
use crate::monitoring_config::{
    AlertsConfig, CacheConfig, RedisConfig, SourcesConfig, SystemConfig,
};
use crate::sites::{AllowedOrigin, SiteKey};
use crate::store::{CardinalityLimits, RetentionPolicy, DAY_MS};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
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
    /// The sites allowed to send batches. Setting any replaces the built-in two.
    pub sites: Vec<SiteConfig>,
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
    /// Who may sign in to the dashboard and read the API.
    #[serde(default)]
    pub auth: AuthConfig,
    #[serde(default)]
    pub metrics: MetricsConfig,
}

/// One instrumented site: the public key its tracker sends, and the web origins its
/// pages are served from. Requests from the collector's own origin, and requests
/// without an `Origin` header (not from a browser page), are accepted for every site.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    pub key: SiteKey,
    /// `https://shop.example`, `https://*.shop.example` (any subdomain), or `*`.
    #[serde(default)]
    pub origins: Vec<AllowedOrigin>,
}

impl SiteConfig {
    fn same_origin_only(key: &str) -> SiteConfig {
        SiteConfig {
            key: SiteKey::try_from(key.to_string()).expect("built-in site keys are valid"),
            origins: Vec::new(),
        }
    }
}

/// How long each level of data is kept, in days, and how often old data is removed.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Raw events: drill-down samples, targets, CSV export and the sub-minute ends of
    /// query ranges.
    pub raw_days: NonZeroU32,
    pub minute_days: NonZeroU32,
    pub ten_minute_days: NonZeroU32,
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
            ten_minute_days: n(30),
            hour_days: n(90),
            day_days: n(730),
            interval_secs: n(3600),
        }
    }
}

impl RetentionConfig {
    /// A query reads the coarsest level that covers each part of its range, so a
    /// coarser level kept for less time than a finer one would make old ranges lose
    /// events that the finer rows still hold.
    fn check_order(&self) -> Result<(), Box<figment::Error>> {
        let levels = [
            ("minute_days", self.minute_days),
            ("ten_minute_days", self.ten_minute_days),
            ("hour_days", self.hour_days),
            ("day_days", self.day_days),
        ];
        for pair in levels.windows(2) {
            let [(finer, finer_days), (coarser, coarser_days)] = pair else {
                unreachable!("windows of two")
            };
            if coarser_days < finer_days {
                return Err(Box::new(figment::Error::from(format!(
                    "retention.{coarser} ({coarser_days}) must be at least \
                     retention.{finer} ({finer_days}): queries read the coarser level \
                     wherever it covers the range"
                ))));
            }
        }
        Ok(())
    }

    pub fn policy(&self) -> RetentionPolicy {
        let ms = |days: NonZeroU32| i64::from(days.get()) * DAY_MS;
        RetentionPolicy {
            raw_ms: ms(self.raw_days),
            minute_ms: ms(self.minute_days),
            ten_minute_ms: ms(self.ten_minute_days),
            hour_ms: ms(self.hour_days),
            day_ms: ms(self.day_days),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// SQLite database file; its directory is created on first start. With `url` set,
    /// its directory holds the ClickHouse spill files instead.
    pub path: PathBuf,
    /// A ClickHouse server to store in instead of SQLite: `clickhouse://host:8123/db` or
    /// `http://host:8123/db` (its HTTP interface; database `perfscope` when omitted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl StorageConfig {
    /// Where acknowledged rows wait while ClickHouse is unreachable: next to the SQLite
    /// file, so one data directory holds all local state.
    pub fn spill_dir(&self) -> PathBuf {
        self.path
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join("clickhouse-spill")
    }
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
    /// Events per batch, all kinds together; more is a 413.
    pub max_events_per_batch: usize,
    /// Bytes of one event, measured as compact JSON (so whitespace does not count);
    /// more is a 413 naming the event.
    pub max_event_bytes: usize,
    /// Peers whose `X-Forwarded-For` names the client (addresses or CIDR ranges, e.g.
    /// `127.0.0.1`, `10.0.0.0/8`). From any other peer the header is ignored.
    pub trusted_proxies: Vec<TrustedProxy>,
    /// Serves `POST /api/v1/ingest/discard`, which decodes and validates like ingest
    /// and then drops the batch: the ceiling `cargo xtask bench ingest` measures
    /// against. Off in production.
    pub discard_route: bool,
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
                url: None,
            },
            dashboard_dir: PathBuf::from("target/dist/dashboard"),
            tracker_dir: PathBuf::from("target/dist/tracker"),
            ingest: IngestConfig {
                max_body_bytes: 64 * 1024,
                max_decompressed_bytes: 1024 * 1024,
                queue_capacity: 1024,
                rate_limit: RateLimitConfig::default(),
                max_events_per_batch: perfscope_model::Limits::default().max_events,
                max_event_bytes: 8 * 1024,
                trusted_proxies: Vec::new(),
                discard_route: false,
            },
            retention: RetentionConfig::default(),
            cardinality: CardinalityLimits::default(),
            // Out of the box the collector's own demo page and dashboard report to it.
            sites: vec![
                SiteConfig::same_origin_only("demo"),
                SiteConfig::same_origin_only("perfscope-dashboard"),
            ],
            cache: CacheConfig::default(),
            system: SystemConfig::default(),
            alerts: AlertsConfig::default(),
            sources: SourcesConfig::default(),
            redis: RedisConfig::default(),
            auth: AuthConfig::default(),
            metrics: MetricsConfig::default(),
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
            .extract::<Config>()
            .map_err(Box::new)?
            .checked()
    }

    fn checked(self) -> Result<Config, Box<figment::Error>> {
        self.retention.check_order()?;
        let mut keys = HashSet::new();
        if let Some(site) = self.sites.iter().find(|s| !keys.insert(s.key.as_str())) {
            return Err(Box::new(figment::Error::from(format!(
                "site `{}` is configured twice",
                site.key.as_str()
            ))));
        }
        Ok(self)
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
            assert_eq!(config.retention.policy().ten_minute_ms, 30 * DAY_MS);
            jail.create_file("perfscope.toml", "[retention]\nraw_days = 0\n")?;
            assert!(Config::load(Some(Path::new("perfscope.toml"))).is_err());
            jail.create_file("perfscope.toml", "[retention]\nten_minute_days = 100\n")?;
            let err = Config::load(Some(Path::new("perfscope.toml")))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(
                    "retention.hour_days (90) must be at least retention.ten_minute_days (100)"
                ),
                "{err}"
            );

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
            assert_eq!(config.storage.url, None);
            jail.set_env("PERFSCOPE_STORAGE__URL", "clickhouse://db:8123/perf");
            let config = Config::load(Some(Path::new("perfscope.toml"))).map_err(|e| *e)?;
            assert_eq!(
                config.storage.url.as_deref(),
                Some("clickhouse://db:8123/perf")
            );
            assert_eq!(
                config.storage.spill_dir(),
                PathBuf::from("/tmp/clickhouse-spill")
            );
            assert_eq!(config.listen.port(), 9000);
            jail.set_env("PERFSCOPE_LISTN", "0.0.0.0:1");
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("listn"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn sites_come_from_the_file_or_the_environment_and_replace_the_defaults() {
        figment::Jail::expect_with(|jail| {
            let defaults = Config::load(None).map_err(|e| *e)?;
            let keys: Vec<_> = defaults.sites.iter().map(|s| s.key.as_str()).collect();
            assert_eq!(keys, ["demo", "perfscope-dashboard"]);

            jail.create_file(
                "perfscope.toml",
                "[[sites]]\nkey = \"shop\"\norigins = [\"https://Shop.example/\", \"https://*.shop.example\"]\n\
                 [ingest]\ntrusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\"]\n",
            )?;
            let config = Config::load(Some(Path::new("perfscope.toml"))).map_err(|e| *e)?;
            assert_eq!(config.sites.len(), 1);
            assert_eq!(config.sites[0].key.as_str(), "shop");
            let origins: Vec<String> = config.sites[0]
                .origins
                .iter()
                .map(ToString::to_string)
                .collect();
            assert_eq!(origins, ["https://shop.example", "https://*.shop.example"]);
            assert_eq!(config.ingest.trusted_proxies.len(), 2);

            jail.set_env(
                "PERFSCOPE_SITES",
                r#"[{key="demo"}, {key="blog", origins=["https://blog.example"]}]"#,
            );
            let config = Config::load(Some(Path::new("perfscope.toml"))).map_err(|e| *e)?;
            let keys: Vec<_> = config.sites.iter().map(|s| s.key.as_str()).collect();
            assert_eq!(keys, ["demo", "blog"]);
            Ok(())
        });
    }

    #[test]
    fn bad_sites_and_proxies_fail_at_start() {
        figment::Jail::expect_with(|jail| {
            for (toml, expect) in [
                ("[[sites]]\nkey = \"a b\"\n", "site key"),
                (
                    "[[sites]]\nkey = \"a\"\norigins = [\"shop.example\"]\n",
                    "origin",
                ),
                ("[[sites]]\nkey = \"a\"\n[[sites]]\nkey = \"a\"\n", "twice"),
                ("[[sites]]\nkey = \"a\"\nhosts = []\n", "hosts"),
                (
                    "[ingest]\ntrusted_proxies = [\"proxy.local\"]\n",
                    "trusted proxy",
                ),
            ] {
                jail.create_file("perfscope.toml", toml)?;
                let err = Config::load(Some(Path::new("perfscope.toml")))
                    .unwrap_err()
                    .to_string();
                assert!(err.contains(expect), "{toml}: {err}");
            }
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
