//! The query cache under tokio's paused clock: promotion, TTL expiry, byte limits, tag
//! invalidation and coalescing.

use perfscope_server::cache::{Answered, CacheKey, QueryCache, TouchedRange};
use perfscope_server::monitoring_config::{CacheConfig, CacheLayerConfig};
use perfscope_server::store::{Scope, TimeRange};
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn scope(site: &str, from: i64, to: i64) -> Scope {
    Scope {
        site: site.into(),
        range: TimeRange { from, to },
        filter: Default::default(),
    }
}

fn key(site: &str, from: i64, to: i64) -> CacheKey {
    CacheKey::new("summary", &scope(site, from, to), ())
}

fn config(l1_bytes: u64) -> CacheConfig {
    CacheConfig {
        enabled: true,
        l1: CacheLayerConfig {
            max_bytes: l1_bytes,
            ttl_secs: 300,
        },
        l2: CacheLayerConfig {
            max_bytes: 10 * 1024 * 1024,
            ttl_secs: 1800,
        },
        l3: CacheLayerConfig {
            max_bytes: 100 * 1024 * 1024,
            ttl_secs: 86_400,
        },
    }
}

async fn lookup(cache: &QueryCache, key: CacheKey, answer: &str) -> (String, Answered) {
    let answer = answer.to_string();
    cache
        .get_or_compute_traced(key, async move { Ok::<_, Infallible>(answer) })
        .await
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn repeated_hits_promote_an_entry_to_the_hot_layer() {
    let cache = QueryCache::new(&config(1024 * 1024));
    let k = key("shop", 0, 1000);
    assert_eq!(lookup(&cache, k.clone(), "a").await.1, Answered::Computed);
    assert_eq!(
        lookup(&cache, k.clone(), "b").await,
        ("a".into(), Answered::Layer(2))
    );
    assert_eq!(
        lookup(&cache, k.clone(), "b").await,
        ("a".into(), Answered::Layer(1))
    );
    assert_eq!(
        lookup(&cache, k.clone(), "b").await,
        ("a".into(), Answered::Layer(0))
    );
    let stats = cache.stats().await;
    let promotions: Vec<u64> = stats.layers.iter().map(|l| l.promotions).collect();
    assert_eq!(promotions, vec![1, 1, 0]);
    let hits: Vec<u64> = stats.layers.iter().map(|l| l.hits).collect();
    assert_eq!(hits, vec![1, 1, 1]);
    assert_eq!(stats.layers[0].misses, 3);
    assert_eq!(stats.layers[0].entries, 1);
    assert!(stats.layers[0].bytes > 0);
    assert_eq!(stats.hit_rate, Some(0.75));
}

#[tokio::test(start_paused = true)]
async fn entries_expire_after_their_layer_ttl_by_tokio_time() {
    let cache = QueryCache::new(&config(1024 * 1024));
    let k = key("shop", 0, 1000);
    lookup(&cache, k.clone(), "v1").await;
    lookup(&cache, k.clone(), "x").await; // L3 hit, now also in L2
    lookup(&cache, k.clone(), "x").await; // L2 hit, now also in L1
    tokio::time::advance(Duration::from_secs(299)).await;
    assert_eq!(lookup(&cache, k.clone(), "x").await.1, Answered::Layer(0));
    tokio::time::advance(Duration::from_secs(2)).await;
    // L1's 5 minutes are over; L2 (30 min) still answers.
    assert_eq!(
        lookup(&cache, k.clone(), "x").await,
        ("v1".into(), Answered::Layer(1))
    );
    tokio::time::advance(Duration::from_secs(24 * 3600)).await;
    assert_eq!(
        lookup(&cache, k.clone(), "v2").await,
        ("v2".into(), Answered::Computed)
    );
    let stats = cache.stats().await;
    let expirations: Vec<u64> = stats.layers.iter().map(|l| l.expirations).collect();
    // L1: the first expiry; after the day: the copy promoted back into L1, and L2, L3.
    assert_eq!(expirations, vec![2, 1, 1]);
}

#[tokio::test(start_paused = true)]
async fn a_layer_never_holds_more_bytes_than_its_limit() {
    let limit = 4 * 1024;
    let cache = QueryCache::new(&config(limit));
    let big = "x".repeat(1000);
    for i in 0..20 {
        let k = key("shop", i * 1000, i * 1000 + 1000);
        // Three lookups bring each entry up to L1.
        for _ in 0..3 {
            lookup(&cache, k.clone(), &big).await;
        }
    }
    cache.run_pending_tasks().await;
    let stats = cache.stats().await;
    let l1 = &stats.layers[0];
    assert!(
        l1.bytes <= limit,
        "{} bytes over a limit of {limit}",
        l1.bytes
    );
    assert!(l1.entries <= 4, "{} entries", l1.entries);
    assert!(l1.evictions >= 16, "{} evictions", l1.evictions);
    assert_eq!(stats.layers[2].entries, 20, "L3 has room for all");
}

#[tokio::test(start_paused = true)]
async fn new_events_invalidate_only_the_answers_whose_range_they_fall_in() {
    let cache = QueryCache::new(&config(1024 * 1024));
    let early = key("shop", 0, 1000);
    let late = key("shop", 1000, 2000);
    let other_site = key("blog", 0, 2000);
    for k in [&early, &late, &other_site] {
        lookup(&cache, k.clone(), "old").await;
        lookup(&cache, k.clone(), "old").await;
    }
    let touched = HashMap::from([(
        "shop".to_string(),
        TouchedRange {
            min_ts: 1500,
            max_ts: 1600,
            events: 3,
        },
    )]);
    // Readers see the commit as soon as it is marked, before memory is reclaimed.
    cache.mark_stale(&touched);
    assert_eq!(
        lookup(&cache, late.clone(), "new").await,
        ("new".into(), Answered::Computed)
    );
    cache.remove_stale(&touched).await;
    assert_eq!(lookup(&cache, early.clone(), "new").await.0, "old");
    assert_eq!(lookup(&cache, other_site.clone(), "new").await.0, "old");
    let stats = cache.stats().await;
    let invalidations: u64 = stats.layers.iter().map(|l| l.invalidations).sum();
    // `late` was in L3 and L2: both copies go, once each.
    assert_eq!(invalidations, 2);
}

#[tokio::test(start_paused = true)]
async fn an_answer_computed_across_a_commit_is_not_served_afterwards() {
    let cache = Arc::new(QueryCache::new(&config(1024 * 1024)));
    let k = key("shop", 0, 1000);
    let slow = {
        let cache = Arc::clone(&cache);
        let k = k.clone();
        tokio::spawn(async move {
            cache
                .get_or_compute(k, async {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Ok::<_, Infallible>("before".to_string())
                })
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    cache.mark_stale(&HashMap::from([(
        "shop".to_string(),
        TouchedRange {
            min_ts: 10,
            max_ts: 10,
            events: 1,
        },
    )]));
    assert_eq!(slow.await.unwrap(), "before");
    assert_eq!(
        lookup(&cache, k, "after").await,
        ("after".into(), Answered::Computed)
    );
}

#[tokio::test(start_paused = true)]
async fn a_caller_after_a_commit_does_not_join_a_computation_from_before_it() {
    let cache = Arc::new(QueryCache::new(&config(1024 * 1024)));
    let k = key("shop", 0, 1000);
    let slow = |answer: &'static str| {
        let (cache, k) = (Arc::clone(&cache), k.clone());
        tokio::spawn(async move {
            cache
                .get_or_compute_traced(k, async move {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Ok::<_, Infallible>(answer.to_string())
                })
                .await
                .unwrap()
        })
    };
    let before = slow("before");
    tokio::time::sleep(Duration::from_millis(10)).await;
    let joined = slow("joined");
    tokio::time::sleep(Duration::from_millis(10)).await;
    cache.mark_stale(&HashMap::from([(
        "shop".to_string(),
        TouchedRange {
            min_ts: 10,
            max_ts: 10,
            events: 1,
        },
    )]));
    let after = slow("after");
    assert_eq!(before.await.unwrap(), ("before".into(), Answered::Computed));
    // Joined before the commit: sharing the computation is right.
    assert_eq!(
        joined.await.unwrap(),
        ("before".into(), Answered::Coalesced)
    );
    assert_eq!(after.await.unwrap(), ("after".into(), Answered::Computed));
    assert_eq!(
        lookup(&cache, k, "x").await,
        ("after".into(), Answered::Layer(2))
    );
}

#[tokio::test(start_paused = true)]
async fn concurrent_identical_queries_are_computed_once() {
    let cache = Arc::new(QueryCache::new(&config(1024 * 1024)));
    let computations = Arc::new(AtomicUsize::new(0));
    let started = tokio::time::Instant::now();
    let callers: Vec<_> = (0..16)
        .map(|_| {
            let (cache, computations) = (Arc::clone(&cache), Arc::clone(&computations));
            tokio::spawn(async move {
                cache
                    .get_or_compute_traced(key("shop", 0, 1000), async move {
                        computations.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        Ok::<_, Infallible>(42u64)
                    })
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut answers = Vec::new();
    for caller in callers {
        answers.push(caller.await.unwrap());
    }
    assert_eq!(computations.load(Ordering::SeqCst), 1);
    assert!(answers.iter().all(|(v, _)| *v == 42));
    let computed = answers
        .iter()
        .filter(|(_, a)| *a == Answered::Computed)
        .count();
    let coalesced = answers
        .iter()
        .filter(|(_, a)| *a == Answered::Coalesced)
        .count();
    assert_eq!((computed, coalesced), (1, 15));
    // Everyone waited for the one 200 ms computation, not for 16 of them.
    assert_eq!(started.elapsed(), Duration::from_millis(200));
    assert_eq!(cache.stats().await.coalesced, 15);
}

#[tokio::test(start_paused = true)]
async fn a_failed_computation_is_not_cached() {
    let cache = QueryCache::new(&config(1024 * 1024));
    let k = key("shop", 0, 1000);
    let failed = cache
        .get_or_compute(k.clone(), async { Err::<String, _>("disk on fire") })
        .await;
    assert_eq!(*failed.unwrap_err(), "disk on fire");
    assert_eq!(
        lookup(&cache, k, "fine").await,
        ("fine".into(), Answered::Computed)
    );
}
