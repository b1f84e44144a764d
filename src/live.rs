//! Live updates from the collector's server-sent events (`/api/v1/stream`), with a pause
//! control. A new summary or alert bumps `version`, which the views' data depends on;
//! host samples are kept for the System view's current readings. The stream is closed
//! while the tab is hidden or the page sits in the back/forward cache.

use leptos::prelude::*;
use serde::Deserialize;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{EventSource, MessageEvent, VisibilityState};

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
    keep_open_while_shown(live);
    live
}

/// The page's one stream and the handlers it calls, which live exactly as long as it.
struct Stream {
    source: EventSource,
    _on_events: [Closure<dyn Fn(MessageEvent)>; 3],
    _on_state: [Closure<dyn Fn()>; 2],
}

/// The open stream, if any, and a count of streams opened, so that a reopen timer set
/// by a stream that has since been replaced does nothing.
#[derive(Default)]
struct StreamSlot {
    stream: Option<Stream>,
    opened: u64,
}

type SharedSlot = Rc<RefCell<StreamSlot>>;

/// Keeps the stream open while the page is on screen: closed when the tab is hidden or
/// the page goes into the back/forward cache, opened again (catching up at once) when it
/// is shown. A hidden or cached page that kept its response open would hold one of the
/// six connections a browser allows per host over HTTP/1.1, and a few such pages starve
/// the page on screen of connections for its data.
fn keep_open_while_shown(live: Live) {
    let slot = SharedSlot::default();
    follow_visibility(live, &slot);
    let on_hide = Rc::clone(&slot);
    window_event_listener_untyped("pagehide", move |_| close(live, &on_hide));
    let on_show = Rc::clone(&slot);
    window_event_listener_untyped("pageshow", move |_| follow_visibility(live, &on_show));
    window_event_listener_untyped("visibilitychange", move |_| follow_visibility(live, &slot));
}

fn follow_visibility(live: Live, slot: &SharedSlot) {
    let visible = document().visibility_state() == VisibilityState::Visible;
    let closed = slot.borrow().stream.is_none();
    if !visible {
        close(live, slot);
    } else if closed {
        let first = slot.borrow().opened == 0;
        open(live, slot);
        // Whatever arrived while the stream was closed was missed: catch up.
        if !first && !live.paused.get_untracked() {
            live.version.update(|v| *v += 1);
        }
    }
}

fn close(live: Live, slot: &SharedSlot) {
    let stream = slot.borrow_mut().stream.take();
    if let Some(stream) = stream {
        stream.source.close();
        live.connected.set(false);
    }
}

fn open(live: Live, slot: &SharedSlot) {
    let Ok(source) = EventSource::new(STREAM_PATH) else {
        return;
    };
    let opened = slot.borrow().opened + 1;
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
    let on_open = Closure::<dyn Fn()>::new(move || live.connected.set(true));
    let failed = {
        let source = source.clone();
        let slot = Rc::downgrade(slot);
        Closure::<dyn Fn()>::new(move || {
            live.connected.set(false);
            if source.ready_state() != EventSource::CLOSED {
                return;
            }
            let slot = slot.clone();
            set_timeout(
                move || {
                    let Some(slot) = slot.upgrade() else {
                        return;
                    };
                    let current = {
                        let slot = slot.borrow();
                        slot.opened == opened && slot.stream.is_some()
                    };
                    if current {
                        open(live, &slot);
                    }
                },
                REOPEN_AFTER,
            );
        })
    };
    let _ = source.add_event_listener_with_callback("alert", alert.as_ref().unchecked_ref());
    let _ = source.add_event_listener_with_callback("summary", summary.as_ref().unchecked_ref());
    let _ =
        source.add_event_listener_with_callback("resources", resources.as_ref().unchecked_ref());
    source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    source.set_onerror(Some(failed.as_ref().unchecked_ref()));
    let mut slot = slot.borrow_mut();
    slot.opened = opened;
    // Replacing a stream the browser gave up on drops its handlers with it.
    slot.stream = Some(Stream {
        source,
        _on_events: [alert, summary, resources],
        _on_state: [on_open, failed],
    });
}
