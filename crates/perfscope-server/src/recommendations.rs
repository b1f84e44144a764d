//! Rule-based hints read from the data: slow LCP with slow TTFB points at the server or
//! its cache; a low L1 hit rate with evictions asks for a bigger L1; an endpoint whose
//! p95 regressed against the previous period is named.

use crate::app::AppState;
use crate::clock::now_ms;
use crate::error::AppError;
use crate::routes::query::blocking;
use crate::routes::query_params::QueryParams;
use crate::store::{Scope, TimeRange};
use axum::extract::{RawQuery, State};
use axum::Json;
use perfscope_model::{CacheStats, EndpointSummary, Recommendation, VitalName, VitalSummary};

/// LCP p75 above web.dev's "good" limit.
const SLOW_LCP_MS: f64 = 2500.0;
/// TTFB p75 above web.dev's "good" limit.
const SLOW_TTFB_MS: f64 = 800.0;
/// Below this L1 hit rate, with evictions, L1 is too small for the working set.
const LOW_L1_HIT_RATE: f64 = 0.8;
/// Fewer lookups than this say nothing about the hit rate.
const MIN_LOOKUPS: u64 = 100;
/// Calls per period an endpoint needs on both sides for a regression to count.
const MIN_CALLS: u64 = 20;
/// A p95 regression: at least this factor and this many ms slower.
const REGRESSION_FACTOR: f64 = 1.5;
const REGRESSION_MIN_MS: f64 = 50.0;

pub struct Inputs<'a> {
    pub site: &'a str,
    pub vitals: &'a [VitalSummary],
    pub endpoints: &'a [EndpointSummary],
    pub endpoints_before: &'a [EndpointSummary],
    pub cache: &'a CacheStats,
    pub l1_limit_bytes: u64,
}

pub fn recommend(inputs: &Inputs<'_>) -> Vec<Recommendation> {
    let mut hints = Vec::new();
    let site = Some(inputs.site.to_string());
    let p75 = |name: VitalName| {
        inputs
            .vitals
            .iter()
            .find(|v| v.name == name)
            .and_then(|v| v.p75)
    };
    if let (Some(lcp), Some(ttfb)) = (p75(VitalName::Lcp), p75(VitalName::Ttfb)) {
        if lcp > SLOW_LCP_MS && ttfb > SLOW_TTFB_MS {
            hints.push(Recommendation {
                kind: "slow_ttfb".into(),
                site: site.clone(),
                message: format!(
                    "LCP p75 is {:.1} s and TTFB p75 is {ttfb:.0} ms: the page waits for the \
                     server. Speed up the server response or cache the HTML (CDN or page cache).",
                    lcp / 1000.0
                ),
            });
        } else if lcp > SLOW_LCP_MS {
            hints.push(Recommendation {
                kind: "slow_lcp_render".into(),
                site: site.clone(),
                message: format!(
                    "LCP p75 is {:.1} s while TTFB p75 is {ttfb:.0} ms: the time goes after the \
                     response. Check the LCP element's size, priority and render-blocking resources.",
                    lcp / 1000.0
                ),
            });
        }
    }
    if let Some(l1) = inputs.cache.layers.first() {
        let lookups = l1.hits + l1.misses;
        if lookups >= MIN_LOOKUPS
            && l1.evictions > 0
            && l1.hit_rate.is_some_and(|r| r < LOW_L1_HIT_RATE)
        {
            hints.push(Recommendation {
                kind: "grow_l1".into(),
                site: None,
                message: format!(
                    "The L1 query cache answers {:.0} % of lookups and has evicted {} entries: \
                     raise `cache.l1.max_bytes` (now {} bytes).",
                    l1.hit_rate.unwrap_or(0.0) * 100.0,
                    l1.evictions,
                    inputs.l1_limit_bytes
                ),
            });
        }
    }
    for now in inputs.endpoints.iter().filter(|e| e.count >= MIN_CALLS) {
        let before = inputs
            .endpoints_before
            .iter()
            .find(|b| b.method == now.method && b.path == now.path && b.count >= MIN_CALLS);
        if let Some(before) = before {
            if now.p95 > before.p95 * REGRESSION_FACTOR && now.p95 - before.p95 > REGRESSION_MIN_MS
            {
                hints.push(Recommendation {
                    kind: "api_regression".into(),
                    site: site.clone(),
                    message: format!(
                        "{} {} got slower: p95 {:.0} ms, was {:.0} ms in the previous period.",
                        now.method, now.path, now.p95, before.p95
                    ),
                });
            }
        }
    }
    hints
}

/// `GET /api/v1/recommendations?site=…[&from&to]`: the period defaults to the last day
/// and is compared with the period of the same length before it.
pub async fn recommendations(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<Recommendation>>, AppError> {
    let params = QueryParams::parse(query.as_deref().unwrap_or(""), &[])?;
    let scope = params.scope(now_ms())?;
    let length = scope.range.to - scope.range.from;
    let before = Scope {
        range: TimeRange {
            from: scope.range.from - length,
            to: scope.range.from,
        },
        ..scope.clone()
    };
    let site = scope.site.clone();
    let (vitals, endpoints, endpoints_before) = blocking(state.store, move |store| {
        Ok((
            store.vitals(&scope)?,
            store.endpoints(&scope)?,
            store.endpoints(&before)?,
        ))
    })
    .await?;
    let cache = state.monitoring.cache.stats().await;
    Ok(Json(recommend(&Inputs {
        site: &site,
        vitals: &vitals,
        endpoints: &endpoints,
        endpoints_before: &endpoints_before,
        cache: &cache,
        l1_limit_bytes: state.config.cache.l1.max_bytes,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfscope_model::CacheLayerStats;

    fn vital(name: VitalName, p75: f64) -> VitalSummary {
        VitalSummary {
            name,
            count: 100,
            p50: None,
            p75: Some(p75),
            p90: None,
            p95: None,
            p99: None,
            good: 0,
            needs_improvement: 0,
            poor: 0,
        }
    }

    fn endpoint(path: &str, p95: f64) -> EndpointSummary {
        EndpointSummary {
            method: "GET".into(),
            path: path.into(),
            count: 100,
            throughput_per_min: 1.0,
            p50: p95 / 2.0,
            p95,
            p99: p95,
            error_rate: 0.0,
        }
    }

    #[test]
    fn each_rule_reads_its_data() {
        let cache = CacheStats {
            layers: vec![CacheLayerStats {
                layer: "l1".into(),
                hits: 50,
                misses: 150,
                hit_rate: Some(0.25),
                evictions: 40,
                ..Default::default()
            }],
            hit_rate: Some(0.25),
            coalesced: 0,
        };
        let vitals = [
            vital(VitalName::Lcp, 3400.0),
            vital(VitalName::Ttfb, 1200.0),
        ];
        let now = [endpoint("/api/cart", 480.0), endpoint("/api/user", 100.0)];
        let before = [endpoint("/api/cart", 120.0), endpoint("/api/user", 95.0)];
        let hints = recommend(&Inputs {
            site: "shop",
            vitals: &vitals,
            endpoints: &now,
            endpoints_before: &before,
            cache: &cache,
            l1_limit_bytes: 1 << 20,
        });
        let kinds: Vec<&str> = hints.iter().map(|h| h.kind.as_str()).collect();
        assert_eq!(kinds, vec!["slow_ttfb", "grow_l1", "api_regression"]);
        assert!(
            hints[2].message.contains("GET /api/cart"),
            "{}",
            hints[2].message
        );
        assert!(hints[1].message.contains("1048576"));

        let fast = [vital(VitalName::Lcp, 3400.0), vital(VitalName::Ttfb, 200.0)];
        let quiet = CacheStats {
            layers: vec![],
            hit_rate: None,
            coalesced: 0,
        };
        let hints = recommend(&Inputs {
            site: "shop",
            vitals: &fast,
            endpoints: &before,
            endpoints_before: &before,
            cache: &quiet,
            l1_limit_bytes: 1 << 20,
        });
        let kinds: Vec<&str> = hints.iter().map(|h| h.kind.as_str()).collect();
        assert_eq!(kinds, vec!["slow_lcp_render"]);
    }
}
