//! The background tasks of backend monitoring, started by `perfscope serve`: host
//! sampling and cache stats, alert evaluation, Redis polling, live summaries, and
//! retention of the monitoring tables.

use crate::clock::now_ms;
use crate::config::Config;
use crate::monitoring::{every, Monitoring};
use crate::redis_poller::RedisPoller;
use crate::store::{Store, DAY_MS};
use crate::stream::LiveEvent;
use crate::system::SystemSampler;
use std::sync::Arc;
use std::time::Duration;

/// How often sites with new events get a fresh live summary.
const SUMMARY_INTERVAL: Duration = Duration::from_secs(2);

pub fn spawn_all(config: &Config, monitoring: &Arc<Monitoring>, store: &Arc<dyn Store>) {
    let sample_every = Duration::from_secs(config.system.interval_secs.max(1));
    tokio::spawn({
        let monitoring = Arc::clone(monitoring);
        async move {
            let mut previous = None;
            let mut ticks = tokio::time::interval(sample_every);
            loop {
                ticks.tick().await;
                if let Err(err) = monitoring.record_cache_stats(&mut previous, now_ms()).await {
                    tracing::warn!(error = ?err, "recording cache stats failed");
                }
            }
        }
    });
    if config.system.enabled {
        tokio::spawn(sample_system(Arc::clone(monitoring), sample_every));
    }
    tokio::spawn({
        let (monitoring, store) = (Arc::clone(monitoring), Arc::clone(store));
        let interval = Duration::from_secs(config.alerts.interval_secs.max(1));
        async move {
            every("alert evaluation", interval, || {
                let (monitoring, store) = (Arc::clone(&monitoring), Arc::clone(&store));
                async move {
                    let series = Arc::clone(&monitoring.timeseries);
                    monitoring.alerts.evaluate(store, series).await.map(|_| ())
                }
            })
            .await
        }
    });
    for instance in &config.redis.instances {
        match RedisPoller::new(&instance.name, &instance.url) {
            Ok(poller) => {
                let interval = Duration::from_secs(config.redis.interval_secs.max(1));
                tokio::spawn(poll_redis(Arc::clone(monitoring), poller, interval));
            }
            Err(err) => tracing::error!(redis = %instance.name, error = ?err, "bad Redis URL"),
        }
    }
    tokio::spawn({
        let (monitoring, store) = (Arc::clone(monitoring), Arc::clone(store));
        async move {
            let mut interval = tokio::time::interval(SUMMARY_INTERVAL);
            loop {
                interval.tick().await;
                monitoring.publish_summaries(&store, now_ms()).await;
            }
        }
    });
    tokio::spawn({
        let monitoring = Arc::clone(monitoring);
        let policy = config.retention.policy();
        let interval = Duration::from_secs(u64::from(config.retention.interval_secs.get()));
        async move {
            every("monitoring retention", interval, || {
                let monitoring = Arc::clone(&monitoring);
                async move {
                    tokio::task::spawn_blocking(move || {
                        let now = now_ms();
                        monitoring.timeseries.enforce_retention(&policy, now)?;
                        // Alert history is kept as long as the day rollups.
                        monitoring
                            .alerts
                            .history
                            .enforce_retention(now - policy.day_ms.max(DAY_MS))?;
                        anyhow::Ok(())
                    })
                    .await?
                }
            })
            .await
        }
    });
}

async fn sample_system(monitoring: Arc<Monitoring>, interval: Duration) {
    let mut sampler = SystemSampler::new();
    let mut ticks = tokio::time::interval(interval);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let ts = now_ms();
        let values = sampler.sample();
        let samples = SystemSampler::samples(&values, ts);
        let series = Arc::clone(&monitoring.timeseries);
        match tokio::task::spawn_blocking(move || series.record(&samples)).await {
            Ok(Ok(())) => monitoring.live.publish(LiveEvent::Resources { ts, values }),
            Ok(Err(err)) => tracing::warn!(error = ?err, "recording host samples failed"),
            Err(err) => tracing::warn!(error = ?err, "recording host samples panicked"),
        }
    }
}

async fn poll_redis(monitoring: Arc<Monitoring>, mut poller: RedisPoller, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    loop {
        ticks.tick().await;
        match poller.poll(now_ms()).await {
            Ok(samples) => {
                let series = Arc::clone(&monitoring.timeseries);
                if let Ok(Err(err)) =
                    tokio::task::spawn_blocking(move || series.record(&samples)).await
                {
                    tracing::warn!(error = ?err, "recording Redis samples failed");
                }
            }
            Err(err) => tracing::warn!(error = %err, "polling Redis failed"),
        }
    }
}
