//! Reads the value an alert rule compares: vitals and API figures from the event store,
//! host and cache figures from the monitoring time series.

use crate::store::{Scope, Store, TimeRange};
use crate::timeseries::TimeSeriesDb;
use perfscope_model::{Aggregation, AlertMetric, AlertRule, VitalName};

/// Series the host sampler and cache recorder write and the rules read.
pub const CPU_SERIES: &str = "system.cpu.total_percent";
pub const MEMORY_SERIES: &str = "system.memory.used_percent";
pub const DISK_SERIES: &str = "system.disk.max_used_percent";
pub const CACHE_HIT_RATE_SERIES: &str = "cache.hit_rate";

/// The value of `rule` for `site` (ignored by host and cache rules) over the rule's
/// window ending at `now_ms`; `None` when the window holds no data.
pub fn read(
    rule: &AlertRule,
    site: &str,
    store: &dyn Store,
    series: &TimeSeriesDb,
    now_ms: i64,
) -> anyhow::Result<Option<f64>> {
    let window_ms = rule.window_secs as i64 * 1000;
    let range = TimeRange {
        from: now_ms - window_ms,
        to: now_ms + 1,
    };
    let scope = Scope {
        site: site.to_string(),
        range,
        filter: Default::default(),
    };
    let vital = |name: VitalName| -> anyhow::Result<Option<f64>> {
        let summary = store.vitals(&scope)?.into_iter().find(|v| v.name == name);
        Ok(summary.and_then(|s| match rule.aggregation {
            Aggregation::P95 => s.p95,
            _ => s.p75,
        }))
    };
    Ok(match rule.metric {
        AlertMetric::Lcp => vital(VitalName::Lcp)?,
        AlertMetric::Inp => vital(VitalName::Inp)?,
        AlertMetric::Cls => vital(VitalName::Cls)?,
        AlertMetric::Fcp => vital(VitalName::Fcp)?,
        AlertMetric::Ttfb => vital(VitalName::Ttfb)?,
        AlertMetric::ApiLatency => {
            // The slowest endpoint: an alert on the average would hide the one that
            // regressed among many fast ones.
            let endpoints = store.endpoints(&scope)?;
            endpoints
                .iter()
                .filter(|e| e.count > 0)
                .map(|e| e.p95)
                .fold(None, |max: Option<f64>, v| {
                    Some(max.map_or(v, |m| m.max(v)))
                })
        }
        AlertMetric::ApiErrorRate => {
            let endpoints = store.endpoints(&scope)?;
            let calls: u64 = endpoints.iter().map(|e| e.count).sum();
            let failed: f64 = endpoints
                .iter()
                .map(|e| e.error_rate * e.count as f64)
                .sum();
            (calls > 0).then(|| failed / calls as f64)
        }
        AlertMetric::CacheHitRate => series.average(CACHE_HIT_RATE_SERIES, range.from, range.to)?,
        AlertMetric::Cpu => series.average(CPU_SERIES, range.from, range.to)?,
        AlertMetric::Memory => series.average(MEMORY_SERIES, range.from, range.to)?,
        AlertMetric::Disk => series.average(DISK_SERIES, range.from, range.to)?,
    })
}
