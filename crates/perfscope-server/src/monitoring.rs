//! Backend monitoring as one part of the collector's state: the query cache, the
//! monitoring time series, alerts, Prometheus metrics and the live hub, plus the
//! background tasks that feed them.

use crate::alerts::history::AlertHistory;
use crate::alerts::metrics::CACHE_HIT_RATE_SERIES;
use crate::alerts::AlertEngine;
use crate::cache::{CacheKey, QueryCache};
use crate::commit_events::{CommitListener, Touched};
use crate::config::Config;
use crate::error::AppError;
use crate::prometheus::CollectorMetrics;
use crate::store::{summarize, Scope, Store, TimeRange, HOUR_MS};
use crate::stream::{LiveEvent, LiveHub};
use crate::timeseries::{Sample, TimeSeriesDb};
use perfscope_model::CacheStats;
use serde::Serialize;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct Monitoring {
    pub cache: QueryCache,
    pub timeseries: Arc<TimeSeriesDb>,
    pub alerts: AlertEngine,
    pub metrics: CollectorMetrics,
    pub live: LiveHub,
    /// Set once a write queue reports its commits here: before that, cached answers
    /// could miss new events, so the cache is bypassed.
    wired: AtomicBool,
    /// Sites with commits since the last live summary.
    dirty_sites: Mutex<HashSet<String>>,
}

impl Monitoring {
    /// Opens the monitoring tables in the collector's database file.
    pub fn open(config: &Config) -> anyhow::Result<Arc<Monitoring>> {
        let path = &config.storage.path;
        let live = LiveHub::default();
        let history = Arc::new(AlertHistory::open(path)?);
        Ok(Arc::new(Monitoring {
            cache: QueryCache::new(&config.cache),
            timeseries: Arc::new(TimeSeriesDb::open(path)?),
            alerts: AlertEngine::new(&config.alerts, history, live.clone())?,
            metrics: CollectorMetrics::new()?,
            live,
            wired: AtomicBool::new(false),
            dirty_sites: Mutex::new(HashSet::new()),
        }))
    }

    /// What the write queue calls after each commit (see `WriteQueue::start_with_listener`).
    pub fn commit_listener(self: &Arc<Self>) -> CommitListener {
        self.wired.store(true, Ordering::SeqCst);
        let monitoring = Arc::clone(self);
        Arc::new(move |touched: Touched| {
            let monitoring = Arc::clone(&monitoring);
            Box::pin(async move {
                // Before the writer replies: readers must see the commit from now on.
                monitoring.cache.mark_stale(&touched);
                let events: u64 = touched.values().map(|t| t.events).sum();
                monitoring.metrics.ingest_events.inc_by(events);
                monitoring
                    .dirty_sites
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend(touched.keys().cloned());
                // Reclaiming memory can wait; the writer need not.
                tokio::spawn(async move { monitoring.cache.remove_stale(&touched).await });
            })
        })
    }

    /// A query answer through the cache (or straight from `compute` when the cache is
    /// off or not yet told about commits).
    pub async fn cached<T, F>(&self, key: CacheKey, compute: F) -> Result<T, AppError>
    where
        T: Clone + Serialize + Send + Sync + 'static,
        F: std::future::Future<Output = Result<T, AppError>>,
    {
        if !self.wired.load(Ordering::SeqCst) {
            return compute.await;
        }
        self.cache
            .get_or_compute(key, compute)
            .await
            .map_err(|shared| match Arc::try_unwrap(shared) {
                Ok(err) => err,
                // Callers that waited for the same failed computation share its error.
                Err(shared) => AppError::Internal(anyhow::anyhow!("{shared}")),
            })
    }

    /// Records the cache's stats as time series: gauges as they are, counters as the
    /// hit rate over the interval since `previous`.
    pub async fn record_cache_stats(
        &self,
        previous: &mut Option<CacheStats>,
        now_ms: i64,
    ) -> anyhow::Result<()> {
        let stats = self.cache.stats().await;
        let mut samples = Vec::new();
        let (mut hits, mut lookups) = (0u64, 0u64);
        for (i, layer) in stats.layers.iter().enumerate() {
            let before = previous.as_ref().map(|p| &p.layers[i]);
            let delta = |now: u64, f: fn(&perfscope_model::CacheLayerStats) -> u64| {
                now.saturating_sub(before.map_or(0, f))
            };
            let layer_hits = delta(layer.hits, |l| l.hits);
            let layer_misses = delta(layer.misses, |l| l.misses);
            if i == 0 {
                lookups = layer_hits + layer_misses;
            }
            hits += layer_hits;
            let prefix = format!("cache.{}", layer.layer);
            samples.extend([
                Sample::new(format!("{prefix}.entries"), now_ms, layer.entries as f64),
                Sample::new(format!("{prefix}.bytes"), now_ms, layer.bytes as f64),
                Sample::new(format!("{prefix}.hits"), now_ms, layer_hits as f64),
                Sample::new(format!("{prefix}.misses"), now_ms, layer_misses as f64),
                Sample::new(
                    format!("{prefix}.evictions"),
                    now_ms,
                    delta(layer.evictions, |l| l.evictions) as f64,
                ),
                Sample::new(
                    format!("{prefix}.promotions"),
                    now_ms,
                    delta(layer.promotions, |l| l.promotions) as f64,
                ),
                Sample::new(
                    format!("{prefix}.invalidations"),
                    now_ms,
                    delta(layer.invalidations, |l| l.invalidations) as f64,
                ),
            ]);
            if layer_hits + layer_misses > 0 {
                samples.push(Sample::new(
                    format!("{prefix}.hit_rate"),
                    now_ms,
                    layer_hits as f64 / (layer_hits + layer_misses) as f64,
                ));
            }
        }
        // Every lookup starts at L1, so L1's lookups are all lookups.
        if lookups > 0 {
            samples.push(Sample::new(
                CACHE_HIT_RATE_SERIES,
                now_ms,
                hits as f64 / lookups as f64,
            ));
        }
        *previous = Some(stats);
        let series = Arc::clone(&self.timeseries);
        tokio::task::spawn_blocking(move || series.record(&samples)).await??;
        Ok(())
    }

    /// Publishes the last hour's summary of every site with new events since the last
    /// call, if anyone is listening.
    pub async fn publish_summaries(&self, store: &Arc<dyn Store>, now_ms: i64) {
        let sites: Vec<String> = self
            .dirty_sites
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
            .collect();
        if sites.is_empty() || self.live.listeners() == 0 {
            return;
        }
        for site in sites {
            let scope = Scope {
                site,
                range: TimeRange {
                    from: now_ms - HOUR_MS,
                    to: now_ms,
                },
                filter: Default::default(),
            };
            let store = Arc::clone(store);
            let summary =
                tokio::task::spawn_blocking(move || summarize(store.as_ref(), scope)).await;
            match summary {
                Ok(Ok(summary)) => self.live.publish(LiveEvent::Summary { summary }),
                Ok(Err(err)) => tracing::warn!(error = ?err, "live summary failed"),
                Err(err) => tracing::warn!(error = ?err, "live summary panicked"),
            }
        }
    }
}

/// Runs `tick` every `every`, forever; a failed tick is logged and the next one runs.
pub async fn every<F, Fut>(name: &'static str, every: Duration, mut tick: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut interval = tokio::time::interval(every.max(Duration::from_millis(100)));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if let Err(err) = tick().await {
            tracing::warn!(task = name, error = ?err, "monitoring task failed");
        }
    }
}
