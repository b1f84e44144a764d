//! The query cache: three byte-sized layers (hot, warm, cold) in front of the store,
//! with promotion on repeated hits, invalidation by site and event time when new
//! events are committed, and one computation for concurrent identical queries.

mod freshness;
mod key;
mod layer;

pub use freshness::TouchedRange;
pub use key::CacheKey;

use crate::monitoring_config::CacheConfig;
use freshness::CommitLog;
use layer::{CachedValue, Layer, LayerCounters, LayerEntry};
use perfscope_model::{CacheLayerStats, CacheStats};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::time::Instant;

/// Where a lookup was answered from; what `get_or_compute` did, for tests and stats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answered {
    Layer(usize),
    Computed,
    /// Waited for another caller's computation of the same key.
    Coalesced,
    Uncached,
}

pub struct QueryCache {
    enabled: bool,
    /// Hot to cold: L1, L2, L3.
    layers: [Layer; 3],
    commits: CommitLog,
    lookups: AtomicU64,
    answered_from_cache: AtomicU64,
    coalesced: AtomicU64,
}

impl QueryCache {
    pub fn new(config: &CacheConfig) -> QueryCache {
        QueryCache {
            enabled: config.enabled,
            layers: [
                Layer::new("l1", config.l1),
                Layer::new("l2", config.l2),
                Layer::new("l3", config.l3),
            ],
            commits: CommitLog::default(),
            lookups: AtomicU64::new(0),
            answered_from_cache: AtomicU64::new(0),
            coalesced: AtomicU64::new(0),
        }
    }

    /// The cached answer for `key`, or `compute`'s, which is then kept in L3. A hit in
    /// L2 or L3 copies the entry one layer hotter.
    pub async fn get_or_compute<T, E, F>(&self, key: CacheKey, compute: F) -> Result<T, Arc<E>>
    where
        T: Clone + Serialize + Send + Sync + 'static,
        E: Send + Sync + 'static,
        F: std::future::Future<Output = Result<T, E>>,
    {
        self.get_or_compute_traced(key, compute)
            .await
            .map(|(value, _)| value)
    }

    pub async fn get_or_compute_traced<T, E, F>(
        &self,
        key: CacheKey,
        compute: F,
    ) -> Result<(T, Answered), Arc<E>>
    where
        T: Clone + Serialize + Send + Sync + 'static,
        E: Send + Sync + 'static,
        F: std::future::Future<Output = Result<T, E>>,
    {
        if !self.enabled {
            return compute
                .await
                .map(|v| (v, Answered::Uncached))
                .map_err(Arc::new);
        }
        self.lookups.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        for (index, layer) in self.layers.iter().enumerate() {
            let Some(entry) = layer.cache.get(&key).await else {
                LayerCounters::add(&layer.counters.misses);
                continue;
            };
            let counter = if layer.is_expired(&entry, now) {
                Some(&layer.counters.expirations)
            } else if self.commits.is_stale(
                &key.site,
                entry.value.epoch,
                key.range.from,
                key.range.to,
            ) {
                Some(&layer.counters.invalidations)
            } else {
                None
            };
            if let Some(counter) = counter {
                LayerCounters::add(&layer.counters.misses);
                if layer.cache.remove(&key).await.is_some() {
                    LayerCounters::add(counter);
                }
                continue;
            }
            let Some(value) = downcast::<T>(&entry.value) else {
                // One key, one kind of answer; a mismatch would be our bug: recompute.
                LayerCounters::add(&layer.counters.misses);
                continue;
            };
            LayerCounters::add(&layer.counters.hits);
            self.answered_from_cache.fetch_add(1, Ordering::Relaxed);
            if index > 0 {
                let hotter = &self.layers[index - 1];
                hotter
                    .cache
                    .insert(
                        key,
                        LayerEntry {
                            value: entry.value,
                            inserted: now,
                        },
                    )
                    .await;
                LayerCounters::add(&hotter.counters.promotions);
            }
            return Ok((value, Answered::Layer(index)));
        }

        // Taken before computing: a commit during the computation makes the answer
        // stale for the next reader.
        let epoch = self.commits.epoch(&key.site);
        let (site, range) = (key.site.clone(), key.range);
        let mut compute = Some(compute);
        let slot = &mut compute;
        let coldest = &self.layers[2];
        let entry = coldest
            .cache
            .entry(key.clone())
            .or_try_insert_with(async move {
                let compute = slot.take().expect("moka runs the init of this call once");
                let value = compute.await?;
                Ok::<_, E>(LayerEntry {
                    value: Arc::new(CachedValue {
                        bytes: json_size(&value),
                        data: Arc::new(value),
                        epoch,
                    }),
                    inserted: Instant::now(),
                })
            })
            .await?;
        let fresh = entry.is_fresh();
        let shared = entry.into_value().value;
        let began_before_our_commits = shared.epoch < epoch;
        if !fresh
            && began_before_our_commits
            && self
                .commits
                .is_stale(&site, shared.epoch, range.from, range.to)
        {
            // We joined a computation that began before a commit this caller may have
            // been answered for: compute again rather than miss its events.
            if let Some(compute) = compute.take() {
                let value = compute.await.map_err(Arc::new)?;
                coldest
                    .cache
                    .insert(
                        key,
                        LayerEntry {
                            value: Arc::new(CachedValue {
                                bytes: json_size(&value),
                                data: Arc::new(value.clone()),
                                epoch,
                            }),
                            inserted: Instant::now(),
                        },
                    )
                    .await;
                return Ok((value, Answered::Computed));
            }
        }
        let answered = if fresh {
            Answered::Computed
        } else {
            self.coalesced.fetch_add(1, Ordering::Relaxed);
            Answered::Coalesced
        };
        let value =
            downcast::<T>(&shared).expect("the entry was created for this type by this key");
        Ok((value, answered))
    }

    /// Called after a commit, before any request sees its reply: marks every cached
    /// answer of these sites whose range holds one of the new events as stale, then
    /// removes those answers from all layers.
    pub async fn committed(&self, touched: &HashMap<String, TouchedRange>) {
        self.mark_stale(touched);
        self.remove_stale(touched).await;
    }

    /// The part of `committed` readers depend on: cheap, and done before any reply.
    pub fn mark_stale(&self, touched: &HashMap<String, TouchedRange>) {
        for (site, range) in touched {
            self.commits.record(site, *range);
        }
    }

    /// Frees the memory of answers `mark_stale` made unreachable.
    pub async fn remove_stale(&self, touched: &HashMap<String, TouchedRange>) {
        if !self.enabled || touched.is_empty() {
            return;
        }
        for layer in &self.layers {
            let stale: Vec<Arc<CacheKey>> = layer
                .cache
                .iter()
                // Answers computed after the commit are fresh, though their range
                // overlaps: the log, not the range alone, decides.
                .filter(|(key, entry)| {
                    touched.contains_key(&key.site)
                        && self.commits.is_stale(
                            &key.site,
                            entry.value.epoch,
                            key.range.from,
                            key.range.to,
                        )
                })
                .map(|(key, _)| key)
                .collect();
            for key in stale {
                if layer.cache.remove(key.as_ref()).await.is_some() {
                    LayerCounters::add(&layer.counters.invalidations);
                }
            }
        }
    }

    pub async fn stats(&self) -> CacheStats {
        let mut layers: Vec<CacheLayerStats> = Vec::with_capacity(3);
        for layer in &self.layers {
            layers.push(layer.stats().await);
        }
        let lookups = self.lookups.load(Ordering::Relaxed);
        let answered = self.answered_from_cache.load(Ordering::Relaxed);
        CacheStats {
            layers,
            hit_rate: CacheLayerStats::computed_hit_rate(answered, lookups - answered),
            coalesced: self.coalesced.load(Ordering::Relaxed),
        }
    }

    /// Applies pending evictions now; the layers otherwise do it as they are used.
    pub async fn run_pending_tasks(&self) {
        for layer in &self.layers {
            layer.cache.run_pending_tasks().await;
        }
    }
}

fn downcast<T: Clone + 'static>(value: &CachedValue) -> Option<T> {
    value.data.downcast_ref::<T>().cloned()
}

/// Bytes of `value` as JSON, counted without building the string.
fn json_size<T: Serialize>(value: &T) -> u32 {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Answers are plain data; serialising them cannot fail.
    let _ = serde_json::to_writer(&mut counter, value);
    u32::try_from(counter.0).unwrap_or(u32::MAX)
}
