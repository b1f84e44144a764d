//! Alerts: the state machine under paused tokio time, evaluation from real stored data,
//! persistence across a restart, and webhook delivery to real receivers on loopback.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use perfscope_model::{
    Aggregation, AlertMetric, AlertRule, AlertStatus, Comparison, DeliveryAttempt, Severity,
};
use perfscope_server::alerts::history::AlertHistory;
use perfscope_server::alerts::metrics::CPU_SERIES;
use perfscope_server::alerts::notifier::NotificationKind;
use perfscope_server::alerts::AlertEngine;
use perfscope_server::monitoring_config::{AlertsConfig, WebhookConfig, WebhookFormat};
use perfscope_server::store::{SqliteStore, Store};
use perfscope_server::stream::{LiveEvent, LiveHub};
use perfscope_server::timeseries::{Sample, TimeSeriesDb};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn cpu_rule(for_secs: u64) -> AlertRule {
    AlertRule {
        id: "cpu_hot".into(),
        metric: AlertMetric::Cpu,
        aggregation: Aggregation::Average,
        comparison: Comparison::Above,
        threshold: 80.0,
        window_secs: 60,
        for_secs,
        severity: Severity::Critical,
        labels: BTreeMap::from([("team".to_string(), "ops".to_string())]),
        site: None,
    }
}

fn config(webhooks: Vec<WebhookConfig>) -> AlertsConfig {
    AlertsConfig {
        default_rules: false,
        rules: vec![cpu_rule(60)],
        repeat_interval_secs: 600,
        webhooks,
        max_attempts: 3,
        initial_backoff_ms: 100,
        timeout_ms: 2000,
        ..AlertsConfig::default()
    }
}

fn engine(dir: &tempfile::TempDir, config: &AlertsConfig, live: LiveHub) -> AlertEngine {
    let history = Arc::new(AlertHistory::open(&dir.path().join("db.sqlite")).unwrap());
    AlertEngine::new(config, history, live).unwrap()
}

fn kinds(evaluation: &perfscope_server::alerts::Evaluation) -> Vec<NotificationKind> {
    evaluation.notifications.iter().map(|n| n.kind).collect()
}

fn statuses(evaluation: &perfscope_server::alerts::Evaluation) -> Vec<(AlertStatus, AlertStatus)> {
    evaluation
        .transitions
        .iter()
        .map(|t| (t.from, t.to))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn pending_firing_resolved_with_repeats_acknowledgement_and_silence() {
    use AlertStatus::*;
    let dir = tempfile::tempdir().unwrap();
    let live = LiveHub::default();
    let mut events = live.subscribe();
    let engine = engine(&dir, &config(vec![]), live);
    let rule = cpu_rule(60);
    let observe = |value: f64| vec![(rule.clone(), String::new(), Some(value))];
    let step = |secs: u64| tokio::time::advance(Duration::from_secs(secs));

    let e = engine.apply(observe(95.0)).await.unwrap();
    assert_eq!(
        (statuses(&e), kinds(&e)),
        (vec![(Inactive, Pending)], vec![])
    );
    step(30).await;
    let e = engine.apply(observe(95.0)).await.unwrap();
    assert_eq!(
        (statuses(&e), kinds(&e)),
        (vec![], vec![]),
        "held for 30 of 60 s"
    );
    step(31).await;
    let e = engine.apply(observe(95.0)).await.unwrap();
    assert_eq!(statuses(&e), vec![(Pending, Firing)]);
    assert_eq!(kinds(&e), vec![NotificationKind::Firing]);
    assert_eq!(e.notifications[0].alert.value, Some(95.0));

    step(300).await;
    let e = engine.apply(observe(96.0)).await.unwrap();
    assert_eq!(kinds(&e), vec![], "repeat suppressed within 600 s");
    step(301).await;
    let e = engine.apply(observe(97.0)).await.unwrap();
    assert_eq!(kinds(&e), vec![NotificationKind::Repeat]);

    assert!(engine.acknowledge("cpu_hot", ""));
    step(700).await;
    let e = engine.apply(observe(97.0)).await.unwrap();
    assert_eq!(kinds(&e), vec![], "acknowledged: no repeats");
    assert!(engine.alerts()[0].acknowledged);

    let e = engine.apply(observe(10.0)).await.unwrap();
    assert_eq!(statuses(&e), vec![(Firing, Resolved)]);
    assert_eq!(kinds(&e), vec![NotificationKind::Resolved]);
    assert!(
        !engine.alerts()[0].acknowledged,
        "acknowledgement ends with the episode"
    );

    // A pending alert whose condition clears goes back to inactive without a word.
    let e = engine.apply(observe(99.0)).await.unwrap();
    assert_eq!(statuses(&e), vec![(Resolved, Pending)]);
    let e = engine.apply(observe(20.0)).await.unwrap();
    assert_eq!(
        (statuses(&e), kinds(&e)),
        (vec![(Pending, Inactive)], vec![])
    );

    // Silenced: transitions are still recorded, notifications held until it ends.
    let until = engine
        .silence("cpu_hot", "", Duration::from_secs(3600))
        .unwrap();
    assert!(until > engine.clock.now_ms());
    engine.apply(observe(99.0)).await.unwrap();
    step(61).await;
    let e = engine.apply(observe(99.0)).await.unwrap();
    assert_eq!((statuses(&e), kinds(&e)), (vec![(Pending, Firing)], vec![]));
    step(3600).await;
    let e = engine.apply(observe(99.0)).await.unwrap();
    assert_eq!(kinds(&e), vec![NotificationKind::Repeat], "silence over");
    assert!(engine
        .silence("no_such_rule", "", Duration::from_secs(1))
        .is_none());

    // No data never fires.
    let e = engine
        .apply(vec![(rule.clone(), String::new(), None)])
        .await
        .unwrap();
    assert_eq!(statuses(&e), vec![(Firing, Resolved)]);

    let history = engine.history.transitions(100).unwrap();
    assert_eq!(history.len(), 8);
    assert_eq!((history[0].from, history[0].to), (Firing, Resolved));
    let mut live_transitions = 0;
    while let Ok(LiveEvent::Alert { .. }) = events.try_recv() {
        live_transitions += 1;
    }
    assert_eq!(live_transitions, 8);
}

#[tokio::test(start_paused = true)]
async fn evaluation_reads_stored_samples_and_api_rules_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
    let series = Arc::new(TimeSeriesDb::open(&path).unwrap());
    let engine = engine(&dir, &config(vec![]), LiveHub::default());
    let record = |value: f64| {
        series
            .record(&[Sample::new(CPU_SERIES, engine.clock.now_ms(), value)])
            .unwrap()
    };

    record(91.0);
    let e = engine
        .evaluate(Arc::clone(&store), Arc::clone(&series))
        .await
        .unwrap();
    assert_eq!(e.transitions[0].to, AlertStatus::Pending);
    assert_eq!(e.transitions[0].value, Some(91.0));
    tokio::time::advance(Duration::from_secs(61)).await;
    // The 91 % sample is now outside the 60 s window: only this one counts.
    record(85.0);
    let e = engine
        .evaluate(Arc::clone(&store), Arc::clone(&series))
        .await
        .unwrap();
    assert_eq!(e.transitions[0].to, AlertStatus::Firing);
    assert_eq!(e.transitions[0].value, Some(85.0));
    tokio::time::advance(Duration::from_secs(61)).await;
    let e = engine
        .evaluate(Arc::clone(&store), Arc::clone(&series))
        .await
        .unwrap();
    assert_eq!(
        e.transitions[0].to,
        AlertStatus::Resolved,
        "no data in the window"
    );

    let mut api_rule = cpu_rule(0);
    api_rule.id = "cpu_warm".into();
    api_rule.threshold = 50.0;
    engine.put_rule(api_rule.clone()).unwrap();
    assert!(
        engine.put_rule(cpu_rule(0)).is_err(),
        "config rules are fixed"
    );
    drop(engine);

    let restarted = self::engine(&dir, &config(vec![]), LiveHub::default());
    let ids: Vec<String> = restarted.rules().into_iter().map(|r| r.id).collect();
    assert_eq!(ids, vec!["cpu_hot", "cpu_warm"]);
    assert_eq!(restarted.history.transitions(10).unwrap().len(), 3);
    restarted.delete_rule("cpu_warm").unwrap();
    assert!(restarted.delete_rule("cpu_warm").is_err());
}

/// A webhook receiver on loopback that answers each request with the next status of
/// its script (the last one repeats) and keeps the bodies.
struct Receiver {
    url: String,
    bodies: Arc<Mutex<Vec<serde_json::Value>>>,
}

async fn receiver(script: Vec<u16>) -> Receiver {
    #[derive(Clone)]
    struct Script {
        statuses: Arc<Vec<u16>>,
        bodies: Arc<Mutex<Vec<serde_json::Value>>>,
    }
    async fn hook(State(script): State<Script>, Json(body): Json<serde_json::Value>) -> StatusCode {
        let mut bodies = script.bodies.lock().unwrap();
        bodies.push(body);
        let i = (bodies.len() - 1).min(script.statuses.len() - 1);
        StatusCode::from_u16(script.statuses[i]).unwrap()
    }
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new().route("/hook", post(hook)).with_state(Script {
        statuses: Arc::new(script),
        bodies: Arc::clone(&bodies),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver { url, bodies }
}

async fn attempts_of(engine: &AlertEngine, webhook: &str, n: usize) -> Vec<DeliveryAttempt> {
    for _ in 0..200 {
        let mut attempts: Vec<DeliveryAttempt> = engine
            .history
            .deliveries(100)
            .unwrap()
            .into_iter()
            .filter(|a| a.webhook == webhook)
            .collect();
        if attempts.len() >= n {
            attempts.reverse();
            return attempts;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{webhook}: fewer than {n} attempts recorded");
}

#[tokio::test]
async fn webhooks_are_retried_with_backoff_and_every_attempt_is_recorded() {
    let flaky_slack = receiver(vec![500, 200]).await;
    let json = receiver(vec![200]).await;
    let down = receiver(vec![503]).await;
    // Bound and dropped: nothing listens there.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_url = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    let webhook = |name: &str, url: &str, format| WebhookConfig {
        name: name.into(),
        url: url.into(),
        format,
    };
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(
        &dir,
        &config(vec![
            webhook("slack", &flaky_slack.url, WebhookFormat::Slack),
            webhook("json", &json.url, WebhookFormat::Json),
            webhook("down", &down.url, WebhookFormat::Json),
            webhook("closed", &closed_url, WebhookFormat::Json),
        ]),
        LiveHub::default(),
    );
    let e = engine
        .apply(vec![(cpu_rule(0), String::new(), Some(93.5))])
        .await
        .unwrap();
    assert_eq!(kinds(&e), vec![NotificationKind::Firing]);

    let slack = attempts_of(&engine, "slack", 2).await;
    assert_eq!(
        slack
            .iter()
            .map(|a| (a.attempt, a.ok, a.status))
            .collect::<Vec<_>>(),
        vec![(1, false, Some(500)), (2, true, Some(200))]
    );
    let text = flaky_slack.bodies.lock().unwrap()[1]["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(text.starts_with("[FIRING] cpu_hot (Critical)"), "{text}");
    assert!(
        text.contains("93.500") && text.contains("threshold 80"),
        "{text}"
    );

    let json_attempts = attempts_of(&engine, "json", 1).await;
    assert!(json_attempts[0].ok);
    let body = json.bodies.lock().unwrap()[0].clone();
    assert_eq!(body["kind"], "firing");
    assert_eq!(body["alert"]["rule_id"], "cpu_hot");
    assert_eq!(body["alert"]["to"], "firing");
    assert_eq!(body["alert"]["value"], 93.5);

    let failed = attempts_of(&engine, "down", 3).await;
    assert!(failed.iter().all(|a| !a.ok && a.status == Some(503)));
    assert_eq!(
        failed.iter().map(|a| a.attempt).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    // Backoff doubles: 100 ms, then 200 ms.
    assert!(failed[1].ts_ms - failed[0].ts_ms >= 100, "{failed:?}");
    assert!(failed[2].ts_ms - failed[1].ts_ms >= 200, "{failed:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(down.bodies.lock().unwrap().len(), 3, "no fourth attempt");

    let unreachable = attempts_of(&engine, "closed", 3).await;
    assert!(unreachable
        .iter()
        .all(|a| !a.ok && a.status.is_none() && a.error.is_some()));
}
