//! Webhook notifications: Slack-compatible or generic JSON, retried with exponential
//! backoff, every attempt and its outcome recorded.

use super::history::AlertHistory;
use crate::monitoring_config::{AlertsConfig, WebhookConfig, WebhookFormat};
use perfscope_model::{AlertStatus, AlertTransition, DeliveryAttempt};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

/// Why a notification is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    Firing,
    Repeat,
    Resolved,
}

#[derive(Clone, Debug, Serialize)]
pub struct Notification {
    pub kind: NotificationKind,
    pub alert: AlertTransition,
}

pub struct Notifier {
    client: reqwest::Client,
    webhooks: Vec<WebhookConfig>,
    max_attempts: u32,
    initial_backoff: Duration,
    history: Arc<AlertHistory>,
}

impl Notifier {
    pub fn new(config: &AlertsConfig, history: Arc<AlertHistory>) -> anyhow::Result<Notifier> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms.max(1)))
            .build()?;
        Ok(Notifier {
            client,
            webhooks: config.webhooks.clone(),
            max_attempts: config.max_attempts.max(1),
            initial_backoff: Duration::from_millis(config.initial_backoff_ms),
            history,
        })
    }

    /// Delivers to every webhook concurrently, in the background; returns the tasks.
    pub fn send(
        self: &Arc<Self>,
        notification: Notification,
    ) -> Vec<tokio::task::JoinHandle<bool>> {
        self.webhooks
            .iter()
            .cloned()
            .map(|webhook| {
                let (notifier, notification) = (Arc::clone(self), notification.clone());
                tokio::spawn(async move { notifier.deliver(&webhook, &notification).await })
            })
            .collect()
    }

    /// Tries until the receiver answers 2xx or the attempts run out; true on success.
    pub async fn deliver(&self, webhook: &WebhookConfig, notification: &Notification) -> bool {
        let body = payload(webhook.format, notification);
        let mut backoff = self.initial_backoff;
        for attempt in 1..=self.max_attempts {
            let result = self.client.post(&webhook.url).json(&body).send().await;
            let (ok, status, error) = match result {
                Ok(response) => {
                    let status = response.status();
                    let error = (!status.is_success()).then(|| format!("HTTP {status}"));
                    (status.is_success(), Some(status.as_u16()), error)
                }
                Err(err) => (false, None, Some(error_chain(&err))),
            };
            let record = DeliveryAttempt {
                webhook: webhook.name.clone(),
                rule_id: notification.alert.rule_id.clone(),
                site: notification.alert.site.clone(),
                attempt,
                ts_ms: crate::clock::now_ms(),
                ok,
                status,
                error,
            };
            let history = Arc::clone(&self.history);
            let stored =
                tokio::task::spawn_blocking(move || history.record_delivery(&record)).await;
            if !matches!(stored, Ok(Ok(()))) {
                tracing::error!(webhook = %webhook.name, "could not record a delivery attempt");
            }
            if ok {
                return true;
            }
            if attempt < self.max_attempts {
                tokio::time::sleep(backoff).await;
                backoff = backoff.saturating_mul(2);
            }
        }
        tracing::warn!(webhook = %webhook.name, rule = %notification.alert.rule_id, "notification undelivered");
        false
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

fn payload(format: WebhookFormat, notification: &Notification) -> serde_json::Value {
    match format {
        WebhookFormat::Json => serde_json::to_value(notification).unwrap_or_default(),
        WebhookFormat::Slack => serde_json::json!({ "text": slack_text(notification) }),
    }
}

fn slack_text(notification: &Notification) -> String {
    let alert = &notification.alert;
    let headline = match (notification.kind, alert.to) {
        (NotificationKind::Resolved, _) | (_, AlertStatus::Resolved) => "RESOLVED",
        (NotificationKind::Repeat, _) => "STILL FIRING",
        _ => "FIRING",
    };
    let site = if alert.site.is_empty() {
        String::new()
    } else {
        format!(" on `{}`", alert.site)
    };
    let value = alert
        .value
        .map_or_else(|| "no data".to_string(), |v| format!("{v:.3}"));
    format!(
        "[{headline}] {} ({:?}){site}: value {value}, threshold {}",
        alert.rule_id, alert.severity, alert.threshold
    )
}
