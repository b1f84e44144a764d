//! The built-in alert rules: the web.dev "good" limits for the vitals and our own
//! targets for APIs, the host and the cache.

use perfscope_model::{Aggregation, AlertMetric, AlertRule, Comparison, Severity};
use std::collections::BTreeMap;

fn rule(
    id: &str,
    metric: AlertMetric,
    aggregation: Aggregation,
    comparison: Comparison,
    threshold: f64,
    severity: Severity,
) -> AlertRule {
    AlertRule {
        id: id.to_string(),
        metric,
        aggregation,
        comparison,
        threshold,
        window_secs: 15 * 60,
        for_secs: 5 * 60,
        severity,
        labels: BTreeMap::from([("source".to_string(), "default".to_string())]),
        site: None,
    }
}

pub fn default_rules() -> Vec<AlertRule> {
    use Aggregation::*;
    use AlertMetric::*;
    use Comparison::*;
    use Severity::*;
    vec![
        rule("lcp_p75", Lcp, P75, Above, 2500.0, Warning),
        rule("inp_p75", Inp, P75, Above, 200.0, Warning),
        rule("cls_p75", Cls, P75, Above, 0.1, Warning),
        rule("api_p95", ApiLatency, P95, Above, 200.0, Warning),
        rule("api_error_rate", ApiErrorRate, Rate, Above, 0.05, Critical),
        rule("cpu", Cpu, Average, Above, 80.0, Warning),
        rule("memory", Memory, Average, Above, 80.0, Warning),
        rule("cache_hit_rate", CacheHitRate, Rate, Below, 0.95, Info),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_rules_are_valid() {
        for rule in super::default_rules() {
            rule.validate().unwrap();
        }
    }
}
