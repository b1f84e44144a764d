//! What every backend does alike once it has counts and percentiles: shaping them into
//! the API's summaries and putting them in the order the `Store` contract promises.

use super::TimeRange;
use perfscope_model::{BreakdownRow, EndpointSummary, TargetSummary, VitalName, VitalSummary};

/// The quantiles a vital's summary reports, in its field order (p50 … p99).
pub(super) const VITAL_QUANTILES: [f64; 5] = [0.5, 0.75, 0.9, 0.95, 0.99];

/// One vital's summary from its count, its counts per rating band (good, needs
/// improvement, poor) and its [`VITAL_QUANTILES`].
pub(super) fn vital_summary(
    name: VitalName,
    count: u64,
    [good, needs_improvement, poor]: [u64; 3],
    [p50, p75, p90, p95, p99]: [Option<f64>; 5],
) -> VitalSummary {
    VitalSummary {
        name,
        count,
        p50,
        p75,
        p90,
        p95,
        p99,
        good,
        needs_improvement,
        poor,
    }
}

/// One endpoint's summary from its [`ENDPOINT_QUANTILES`]; `key` is `"METHOD path"` as
/// both backends group by.
pub(super) fn endpoint_summary(
    key: &str,
    count: u64,
    errors: u64,
    [p50, p95, p99]: [Option<f64>; 3],
    range: &TimeRange,
) -> EndpointSummary {
    let (method, path) = key.split_once(' ').unwrap_or((key, ""));
    let minutes = (range.to - range.from).max(1) as f64 / 60_000.0;
    EndpointSummary {
        method: method.to_string(),
        path: path.to_string(),
        count,
        throughput_per_min: count as f64 / minutes,
        p50: p50.unwrap_or(0.0),
        p95: p95.unwrap_or(0.0),
        p99: p99.unwrap_or(0.0),
        error_rate: errors as f64 / count.max(1) as f64,
    }
}

/// The quantiles an endpoint's summary reports: p50, p95, p99.
pub(super) const ENDPOINT_QUANTILES: [f64; 3] = [0.5, 0.95, 0.99];

/// Slowest p95 first, then busiest, then by name so equal endpoints keep one order.
pub(super) fn slowest_first(
    endpoints: impl IntoIterator<Item = EndpointSummary>,
) -> Vec<EndpointSummary> {
    let mut endpoints: Vec<EndpointSummary> = endpoints.into_iter().collect();
    endpoints.sort_by(|a, b| {
        b.p95
            .total_cmp(&a.p95)
            .then(b.count.cmp(&a.count))
            .then_with(|| (&a.method, &a.path).cmp(&(&b.method, &b.path)))
    });
    endpoints
}

/// Most samples first, ties by key; at most `limit` rows.
pub(super) fn top_breakdown_rows(mut rows: Vec<BreakdownRow>, limit: usize) -> Vec<BreakdownRow> {
    rows.sort_by(|a, b| {
        b.summary
            .count
            .cmp(&a.summary.count)
            .then_with(|| a.key.cmp(&b.key))
    });
    rows.truncate(limit);
    rows
}

/// Most samples first, ties by target; at most `limit` targets.
pub(super) fn top_targets(mut targets: Vec<TargetSummary>, limit: usize) -> Vec<TargetSummary> {
    targets.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.target.cmp(&b.target)));
    targets.truncate(limit);
    targets
}
