//! Alert rules (defaults, config file, API), their evaluation on an interval, the
//! state of every alert instance, history, and notifications.

pub mod history;
pub mod metrics;
pub mod notifier;
pub mod rules;
pub mod state;

use crate::monitoring_config::AlertsConfig;
use crate::store::Store;
use crate::stream::{LiveEvent, LiveHub};
use crate::timeseries::TimeSeriesDb;
use history::AlertHistory;
use notifier::{Notification, NotificationKind, Notifier};
use perfscope_model::{AlertInfo, AlertRule, AlertStatus, AlertTransition};
use state::{AlertInstance, Notify};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::time::Instant;

/// Wall-clock milliseconds derived from tokio's clock, so that evaluation windows and
/// the state machine move together (and together under a paused test clock).
#[derive(Clone, Copy, Debug)]
pub struct EngineClock {
    base_ms: i64,
    base: Instant,
}

impl EngineClock {
    pub fn start() -> EngineClock {
        EngineClock {
            base_ms: crate::clock::now_ms(),
            base: Instant::now(),
        }
    }

    pub fn ms_at(&self, at: Instant) -> i64 {
        self.base_ms + at.saturating_duration_since(self.base).as_millis() as i64
    }

    pub fn now_ms(&self) -> i64 {
        self.ms_at(Instant::now())
    }

    pub fn instant_at(&self, ms: i64) -> Instant {
        self.base + Duration::from_millis((ms - self.base_ms).max(0) as u64)
    }
}

/// What one evaluation changed and what it sent out.
#[derive(Clone, Debug, Default)]
pub struct Evaluation {
    pub transitions: Vec<AlertTransition>,
    pub notifications: Vec<Notification>,
}

/// (rule id, site); the site is `""` for rules that are not per site.
type InstanceKey = (String, String);

pub struct AlertEngine {
    rules: RwLock<Vec<AlertRule>>,
    /// Rules from the defaults and the config file; the API cannot delete them.
    fixed_ids: HashSet<String>,
    instances: Mutex<BTreeMap<InstanceKey, AlertInstance>>,
    pub history: Arc<AlertHistory>,
    notifier: Arc<Notifier>,
    repeat_every: Duration,
    pub clock: EngineClock,
    live: LiveHub,
}

#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("rule `{0}` comes from the configuration and cannot be changed through the API")]
    Fixed(String),
    #[error("no rule `{0}`")]
    Unknown(String),
    #[error(transparent)]
    Storage(#[from] anyhow::Error),
}

impl AlertEngine {
    pub fn new(
        config: &AlertsConfig,
        history: Arc<AlertHistory>,
        live: LiveHub,
    ) -> anyhow::Result<AlertEngine> {
        let mut rules: Vec<AlertRule> = if config.default_rules {
            rules::default_rules()
        } else {
            Vec::new()
        };
        for rule in &config.rules {
            rule.validate()
                .map_err(|e| anyhow::anyhow!("alerts.rules `{}`: {e}", rule.id))?;
            rules.retain(|r| r.id != rule.id);
            rules.push(rule.clone());
        }
        let fixed_ids = rules.iter().map(|r| r.id.clone()).collect::<HashSet<_>>();
        for rule in history.rules()? {
            if !fixed_ids.contains(&rule.id) {
                rules.push(rule);
            }
        }
        let notifier = Arc::new(Notifier::new(config, Arc::clone(&history))?);
        Ok(AlertEngine {
            rules: RwLock::new(rules),
            fixed_ids,
            instances: Mutex::new(BTreeMap::new()),
            history,
            notifier,
            repeat_every: Duration::from_secs(config.repeat_interval_secs),
            clock: EngineClock::start(),
            live,
        })
    }

    pub fn rules(&self) -> Vec<AlertRule> {
        self.rules.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Adds or replaces a rule made through the API; it is stored and survives restarts.
    pub fn put_rule(&self, rule: AlertRule) -> Result<(), RuleError> {
        if self.fixed_ids.contains(&rule.id) {
            return Err(RuleError::Fixed(rule.id));
        }
        self.history.save_rule(&rule)?;
        let mut rules = self.rules.write().unwrap_or_else(|p| p.into_inner());
        rules.retain(|r| r.id != rule.id);
        rules.push(rule);
        Ok(())
    }

    pub fn delete_rule(&self, id: &str) -> Result<(), RuleError> {
        if self.fixed_ids.contains(id) {
            return Err(RuleError::Fixed(id.to_string()));
        }
        if !self.history.delete_rule(id)? {
            return Err(RuleError::Unknown(id.to_string()));
        }
        self.rules
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|r| r.id != id);
        self.lock_instances().retain(|(rule, _), _| rule != id);
        Ok(())
    }

    fn lock_instances(&self) -> std::sync::MutexGuard<'_, BTreeMap<InstanceKey, AlertInstance>> {
        self.instances.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every instance that has left `inactive` at least once.
    pub fn alerts(&self) -> Vec<AlertInfo> {
        let rules = self.rules();
        let now = Instant::now();
        self.lock_instances()
            .iter()
            .filter(|(_, instance)| instance.status != AlertStatus::Inactive)
            .filter_map(|((rule_id, site), instance)| {
                let rule = rules.iter().find(|r| &r.id == rule_id)?;
                Some(AlertInfo {
                    rule_id: rule_id.clone(),
                    site: site.clone(),
                    status: instance.status,
                    severity: rule.severity,
                    value: instance.value,
                    threshold: rule.threshold,
                    since_ms: self.clock.ms_at(instance.since),
                    acknowledged: instance.acknowledged,
                    silenced_until_ms: instance
                        .silenced_until
                        .filter(|until| *until > now)
                        .map(|until| self.clock.ms_at(until)),
                })
            })
            .collect()
    }

    /// Stops repeat notifications of a firing alert until it resolves. False when no
    /// such alert is firing.
    pub fn acknowledge(&self, rule_id: &str, site: &str) -> bool {
        let mut instances = self.lock_instances();
        match instances.get_mut(&(rule_id.to_string(), site.to_string())) {
            Some(instance) if instance.status == AlertStatus::Firing => {
                instance.acknowledged = true;
                true
            }
            _ => false,
        }
    }

    /// Holds every notification of the instance for `duration`, whatever its status,
    /// including one that has not fired yet.
    pub fn silence(&self, rule_id: &str, site: &str, duration: Duration) -> Option<i64> {
        if !self.rules().iter().any(|r| r.id == rule_id) {
            return None;
        }
        let now = Instant::now();
        let mut instances = self.lock_instances();
        let instance = instances
            .entry((rule_id.to_string(), site.to_string()))
            .or_insert_with(|| AlertInstance::new(now));
        let until = now + duration;
        instance.silenced_until = Some(until);
        Some(self.clock.ms_at(until))
    }

    /// Reads every rule's value and feeds the state machines.
    pub async fn evaluate(
        &self,
        store: Arc<dyn Store>,
        series: Arc<TimeSeriesDb>,
    ) -> anyhow::Result<Evaluation> {
        let rules = self.rules();
        let now_ms = self.clock.now_ms();
        let observations = tokio::task::spawn_blocking(move || {
            let mut sites: Option<Vec<String>> = None;
            let mut observations = Vec::new();
            for rule in rules {
                let targets = if !rule.metric.is_per_site() {
                    vec![String::new()]
                } else if let Some(site) = &rule.site {
                    vec![site.clone()]
                } else {
                    if sites.is_none() {
                        sites = Some(store.sites()?.into_iter().map(|s| s.site).collect());
                    }
                    sites.clone().unwrap_or_default()
                };
                for site in targets {
                    let value = metrics::read(&rule, &site, store.as_ref(), &series, now_ms)?;
                    observations.push((rule.clone(), site, value));
                }
            }
            anyhow::Ok(observations)
        })
        .await??;
        self.apply(observations).await
    }

    /// Feeds one evaluation's values, recording and notifying what changed.
    pub async fn apply(
        &self,
        observations: Vec<(AlertRule, String, Option<f64>)>,
    ) -> anyhow::Result<Evaluation> {
        let now = Instant::now();
        let mut transitions = Vec::new();
        let mut notifications = Vec::new();
        {
            let mut instances = self.lock_instances();
            for (rule, site, value) in observations {
                let breached = value.is_some_and(|v| rule.comparison.breached(v, rule.threshold));
                let instance = instances
                    .entry((rule.id.clone(), site.clone()))
                    .or_insert_with(|| AlertInstance::new(now));
                let (change, notify) = instance.observe(
                    breached,
                    value,
                    Duration::from_secs(rule.for_secs),
                    self.repeat_every,
                    now,
                );
                let transition = |from, to| AlertTransition {
                    rule_id: rule.id.clone(),
                    site: site.clone(),
                    from,
                    to,
                    value,
                    threshold: rule.threshold,
                    severity: rule.severity,
                    ts_ms: self.clock.ms_at(now),
                };
                if let Some((from, to)) = change {
                    transitions.push(transition(from, to));
                }
                let kind = match notify {
                    Notify::Nothing => continue,
                    Notify::Firing => NotificationKind::Firing,
                    Notify::Repeat => NotificationKind::Repeat,
                    Notify::Resolved => NotificationKind::Resolved,
                };
                let alert = match change {
                    Some((from, to)) => transition(from, to),
                    None => transition(instance.status, instance.status),
                };
                notifications.push(Notification { kind, alert });
            }
        }
        let history = Arc::clone(&self.history);
        let recorded = transitions.clone();
        tokio::task::spawn_blocking(move || {
            recorded
                .iter()
                .try_for_each(|t| history.record_transition(t))
        })
        .await??;
        for transition in &transitions {
            self.live.publish(LiveEvent::Alert {
                transition: transition.clone(),
            });
        }
        for notification in &notifications {
            self.notifier.send(notification.clone());
        }
        Ok(Evaluation {
            transitions,
            notifications,
        })
    }
}
