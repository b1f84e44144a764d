//! Live updates for the dashboard: a broadcast hub, and `GET /api/v1/stream`, which
//! relays it as server-sent events.

use crate::app::AppState;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use perfscope_model::{AlertTransition, Summary};
use serde::Serialize;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::{Stream, StreamExt};

/// Events a slow client may fall behind by before it skips ahead.
const BACKLOG: usize = 256;

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    /// A site's last-hour summary after new events were committed.
    Summary {
        summary: Summary,
    },
    Alert {
        transition: AlertTransition,
    },
    /// One round of host samples, by series name.
    Resources {
        ts: i64,
        values: BTreeMap<String, f64>,
    },
}

impl LiveEvent {
    fn name(&self) -> &'static str {
        match self {
            LiveEvent::Summary { .. } => "summary",
            LiveEvent::Alert { .. } => "alert",
            LiveEvent::Resources { .. } => "resources",
        }
    }
}

#[derive(Clone)]
pub struct LiveHub {
    sender: broadcast::Sender<LiveEvent>,
}

impl Default for LiveHub {
    fn default() -> Self {
        LiveHub {
            sender: broadcast::channel(BACKLOG).0,
        }
    }
}

impl LiveHub {
    /// Sends to whoever listens; nobody listening is fine.
    pub fn publish(&self, event: LiveEvent) {
        let _ = self.sender.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.sender.subscribe()
    }

    pub fn listeners(&self) -> usize {
        self.sender.receiver_count()
    }
}

pub async fn stream(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let events = BroadcastStream::new(state.monitoring.live.subscribe()).map(|item| {
        Ok(match item {
            Ok(event) => Event::default()
                .event(event.name())
                .json_data(&event)
                .unwrap_or_else(|_| Event::default().comment("unserialisable event")),
            // The client is told, and picks up from the newest events.
            Err(BroadcastStreamRecvError::Lagged(missed)) => {
                Event::default().event("lagged").data(missed.to_string())
            }
        })
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
