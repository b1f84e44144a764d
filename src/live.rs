//! Live updates from the collector's server-sent events (`/api/v1/stream`), with a pause
//! control. A new summary or alert bumps `version`, which the views' data depends on;
//! host samples are kept for the System view's current readings.

use leptos::prelude::*;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{EventSource, MessageEvent};

const STREAM_PATH: &str = "/api/v1/stream";
/// The browser gives up on a stream that answered 401 (before signing in); it is
/// reopened after this long.
const REOPEN_AFTER: Duration = Duration::from_secs(5);

#[derive(Clone, Copy)]
pub struct Live {
    pub paused: RwSignal<bool>,
    pub connected: RwSignal<bool>,
    /// Bumped on each alert event, and each summary event of `site`, while not paused.
    pub version: RwSignal<u64>,
    /// The site on screen: other sites' summaries do not refresh the views (least of
    /// all the dashboard's own, which its own refreshes would keep producing).
    pub site: RwSignal<Option<String>>,
    /// The newest round of host samples: time and values by series name.
    pub resources: RwSignal<Option<(i64, BTreeMap<String, f64>)>>,
}

#[derive(Deserialize)]
struct SummaryEvent {
    summary: SiteOnly,
}

#[derive(Deserialize)]
struct SiteOnly {
    site: String,
}

#[derive(Deserialize)]
struct ResourcesEvent {
    ts: i64,
    values: BTreeMap<String, f64>,
}

pub fn use_live() -> Live {
    expect_context::<Live>()
}

/// Opens the stream and provides [`Live`] to every view below.
pub fn provide_live() -> Live {
    let live = Live {
        paused: RwSignal::new(false),
        connected: RwSignal::new(false),
        version: RwSignal::new(0),
        site: RwSignal::new(None),
        resources: RwSignal::new(None),
    };
    provide_context(live);
    // Resuming catches up at once instead of waiting for the next event.
    Effect::new(move |was_paused: Option<bool>| {
        let paused = live.paused.get();
        if was_paused == Some(true) && !paused {
            live.version.update(|v| *v += 1);
        }
        paused
    });
    open(live);
    live
}

fn open(live: Live) {
    let Ok(source) = EventSource::new(STREAM_PATH) else {
        return;
    };
    let alert = Closure::<dyn Fn(MessageEvent)>::new(move |_: MessageEvent| {
        if !live.paused.get_untracked() {
            live.version.update(|v| *v += 1);
        }
    });
    let summary = Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
        if live.paused.get_untracked() {
            return;
        }
        let site = event
            .data()
            .as_string()
            .and_then(|data| serde_json::from_str::<SummaryEvent>(&data).ok())
            .map(|event| event.summary.site);
        if site.is_some() && site == live.site.get_untracked() {
            live.version.update(|v| *v += 1);
        }
    });
    let resources = Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
        if live.paused.get_untracked() {
            return;
        }
        let Some(data) = event.data().as_string() else {
            return;
        };
        if let Ok(sample) = serde_json::from_str::<ResourcesEvent>(&data) {
            live.resources.set(Some((sample.ts, sample.values)));
        }
    });
    let opened = Closure::<dyn Fn()>::new(move || live.connected.set(true));
    let failed = {
        let source = source.clone();
        Closure::<dyn Fn()>::new(move || {
            live.connected.set(false);
            if source.ready_state() == EventSource::CLOSED {
                set_timeout(move || open(live), REOPEN_AFTER);
            }
        })
    };
    let _ = source.add_event_listener_with_callback("alert", alert.as_ref().unchecked_ref());
    let _ = source.add_event_listener_with_callback("summary", summary.as_ref().unchecked_ref());
    let _ =
        source.add_event_listener_with_callback("resources", resources.as_ref().unchecked_ref());
    source.set_onopen(Some(opened.as_ref().unchecked_ref()));
    source.set_onerror(Some(failed.as_ref().unchecked_ref()));
    // The stream lives as long as the page; its handlers must too.
    alert.forget();
    summary.forget();
    resources.forget();
    opened.forget();
    failed.forget();
}
