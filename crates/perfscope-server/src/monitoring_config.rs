//! Configuration sections of backend monitoring: `[cache]`, `[system]`, `[alerts]`,
//! `[sources.NAME]` and `[redis]`, each with defaults that work without a file.

use perfscope_model::AlertRule;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One cache layer: its byte budget and how long an entry may stay in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheLayerConfig {
    pub max_bytes: u64,
    pub ttl_secs: u64,
}

/// The query cache: three layers, hot to cold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    pub enabled: bool,
    pub l1: CacheLayerConfig,
    pub l2: CacheLayerConfig,
    pub l3: CacheLayerConfig,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            enabled: true,
            l1: CacheLayerConfig {
                max_bytes: 1024 * 1024,
                ttl_secs: 5 * 60,
            },
            l2: CacheLayerConfig {
                max_bytes: 10 * 1024 * 1024,
                ttl_secs: 30 * 60,
            },
            l3: CacheLayerConfig {
                max_bytes: 100 * 1024 * 1024,
                ttl_secs: 24 * 3600,
            },
        }
    }
}

/// The host sampler, which also records the cache's stats as time series.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemConfig {
    pub enabled: bool,
    pub interval_secs: u64,
}

impl Default for SystemConfig {
    fn default() -> Self {
        SystemConfig {
            enabled: true,
            interval_secs: 15,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    /// `{"text": "..."}`, which Slack's incoming webhooks (and Mattermost, Rocket.Chat)
    /// accept.
    Slack,
    /// The transition itself as JSON.
    Json,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub name: String,
    pub url: String,
    pub format: WebhookFormat,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// Seconds between two evaluations of every rule.
    pub interval_secs: u64,
    /// A firing alert is notified again after this many seconds, not before.
    pub repeat_interval_secs: u64,
    /// Load the built-in rules (from the web.dev targets and our own) besides `rules`.
    pub default_rules: bool,
    #[serde(default)]
    pub rules: Vec<AlertRule>,
    #[serde(default)]
    pub webhooks: Vec<WebhookConfig>,
    /// Attempts per notification, the first included.
    pub max_attempts: u32,
    /// Wait before the first retry; doubled for each further one.
    pub initial_backoff_ms: u64,
    /// Per-attempt timeout of a webhook request.
    pub timeout_ms: u64,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            interval_secs: 30,
            repeat_interval_secs: 3600,
            default_rules: true,
            rules: Vec::new(),
            webhooks: Vec::new(),
            max_attempts: 4,
            initial_backoff_ms: 1000,
            timeout_ms: 5000,
        }
    }
}

/// A service allowed to post samples, and the token it must present.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub token: String,
}

/// `[sources.NAME]` tables, keyed by the source name used in the URL.
pub type SourcesConfig = BTreeMap<String, SourceConfig>;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisInstanceConfig {
    /// Key used in series names (`redis.NAME.hit_rate`).
    pub name: String,
    /// `redis://host:port/`.
    pub url: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    pub interval_secs: u64,
    #[serde(default)]
    pub instances: Vec<RedisInstanceConfig>,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            interval_secs: 15,
            instances: Vec::new(),
        }
    }
}
