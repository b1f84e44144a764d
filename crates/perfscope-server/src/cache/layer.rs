//! One cache layer: a byte-weighted moka cache (TinyLFU admission and eviction) with a
//! TTL, and the counters its stats are made of.

use super::key::CacheKey;
use crate::monitoring_config::CacheLayerConfig;
use moka::future::Cache;
use moka::notification::RemovalCause;
use perfscope_model::CacheLayerStats;
use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// A computed answer, shared by every layer that holds it.
pub struct CachedValue {
    pub data: Arc<dyn Any + Send + Sync>,
    /// Size of the answer as JSON, which is what it costs to keep.
    pub bytes: u32,
    /// The site's commit epoch when the computation started.
    pub epoch: u64,
}

/// A value as one layer holds it: when it entered this layer, by tokio's clock, so
/// TTLs follow the runtime's time (and tests can pause it).
#[derive(Clone)]
pub struct LayerEntry {
    pub value: Arc<CachedValue>,
    pub inserted: Instant,
}

#[derive(Default)]
pub struct LayerCounters {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub evictions: AtomicU64,
    pub expirations: AtomicU64,
    pub promotions: AtomicU64,
    pub invalidations: AtomicU64,
}

impl LayerCounters {
    pub fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

pub struct Layer {
    pub name: &'static str,
    pub cache: Cache<CacheKey, LayerEntry>,
    pub ttl: Duration,
    pub max_bytes: u64,
    pub counters: Arc<LayerCounters>,
}

impl Layer {
    pub fn new(name: &'static str, config: CacheLayerConfig) -> Layer {
        let counters = Arc::new(LayerCounters::default());
        let ttl = Duration::from_secs(config.ttl_secs.max(1));
        let listener = {
            let counters = Arc::clone(&counters);
            move |_key: Arc<CacheKey>, _value: LayerEntry, cause: RemovalCause| match cause {
                // Size covers both evicted entries and ones TinyLFU refused to admit.
                RemovalCause::Size => LayerCounters::add(&counters.evictions),
                RemovalCause::Expired => LayerCounters::add(&counters.expirations),
                // Removals we make ourselves are counted where we make them.
                RemovalCause::Explicit | RemovalCause::Replaced => {}
            }
        };
        let cache = Cache::builder()
            .name(name)
            .max_capacity(config.max_bytes)
            .weigher(|key: &CacheKey, entry: &LayerEntry| {
                let weight = key.weight() as u64 + u64::from(entry.value.bytes);
                u32::try_from(weight).unwrap_or(u32::MAX)
            })
            // The wall-clock backstop of the TTL checked on every read by tokio's clock.
            .time_to_live(ttl)
            .eviction_listener(listener)
            .build();
        Layer {
            name,
            cache,
            ttl,
            max_bytes: config.max_bytes,
            counters,
        }
    }

    pub fn is_expired(&self, entry: &LayerEntry, now: Instant) -> bool {
        now.saturating_duration_since(entry.inserted) >= self.ttl
    }

    /// Counters plus entries and bytes once pending evictions are applied.
    pub async fn stats(&self) -> CacheLayerStats {
        self.cache.run_pending_tasks().await;
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let (hits, misses) = (load(&self.counters.hits), load(&self.counters.misses));
        CacheLayerStats {
            layer: self.name.to_string(),
            entries: self.cache.entry_count(),
            bytes: self.cache.weighted_size(),
            limit_bytes: self.max_bytes,
            hits,
            misses,
            hit_rate: CacheLayerStats::computed_hit_rate(hits, misses),
            evictions: load(&self.counters.evictions),
            expirations: load(&self.counters.expirations),
            promotions: load(&self.counters.promotions),
            invalidations: load(&self.counters.invalidations),
        }
    }
}
