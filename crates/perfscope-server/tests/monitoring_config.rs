//! The monitoring sections of the configuration: defaults, a TOML file, environment
//! overrides, and typos refused.

// figment::Jail's closures must return figment's own (large) error type.
#![allow(clippy::result_large_err)]

use perfscope_model::{AlertMetric, Comparison};
use perfscope_server::monitoring_config::WebhookFormat;
use perfscope_server::Config;
use std::path::Path;

#[test]
fn monitoring_sections_load_from_file_and_environment() {
    figment::Jail::expect_with(|jail| {
        let defaults = Config::load(None).map_err(|e| *e)?;
        assert_eq!(defaults.cache.l1.max_bytes, 1024 * 1024);
        assert_eq!(defaults.cache.l2.ttl_secs, 30 * 60);
        assert_eq!(defaults.cache.l3.max_bytes, 100 * 1024 * 1024);
        assert!(defaults.alerts.default_rules && defaults.sources.is_empty());

        jail.create_file(
            "perfscope.toml",
            r#"
[cache]
enabled = true
l1 = { max_bytes = 2048, ttl_secs = 10 }
l2 = { max_bytes = 4096, ttl_secs = 20 }
l3 = { max_bytes = 8192, ttl_secs = 30 }

[alerts]
interval_secs = 5
repeat_interval_secs = 60
default_rules = false
max_attempts = 2
initial_backoff_ms = 10
timeout_ms = 100
webhooks = [{ name = "ops", url = "http://127.0.0.1:9/hook", format = "slack" }]

[[alerts.rules]]
id = "disk_full"
metric = "disk"
aggregation = "average"
comparison = ">="
threshold = 90.0
window_secs = 60
severity = "critical"

[sources.billing]
token = "t0ken"

[redis]
interval_secs = 5
instances = [{ name = "sessions", url = "redis://127.0.0.1:6379/" }]
"#,
        )?;
        jail.set_env("PERFSCOPE_SYSTEM__INTERVAL_SECS", "3");
        let config = Config::load(Some(Path::new("perfscope.toml"))).map_err(|e| *e)?;
        assert_eq!(config.cache.l1.max_bytes, 2048);
        assert_eq!(config.system.interval_secs, 3);
        assert_eq!(config.alerts.webhooks[0].format, WebhookFormat::Slack);
        let rule = &config.alerts.rules[0];
        assert_eq!(
            (rule.metric, rule.comparison),
            (AlertMetric::Disk, Comparison::AtLeast)
        );
        assert_eq!(config.sources["billing"].token, "t0ken");
        assert_eq!(config.redis.instances[0].name, "sessions");

        jail.create_file(
            "perfscope.toml",
            "[cache]\nl4 = { max_bytes = 1, ttl_secs = 1 }\n",
        )?;
        let err = Config::load(Some(Path::new("perfscope.toml")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("l4"), "{err}");
        Ok(())
    });
}
