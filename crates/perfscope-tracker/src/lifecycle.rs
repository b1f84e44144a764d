//! The page's visibility: when it was first hidden, and telling the tracker when it is
//! being hidden or left, which may be the last moment its code runs.

use crate::browser::{event_handler, listen, number_property, property, string_property};
use std::cell::Cell;
use web_sys::{Document, Event, Performance, Window};

thread_local! {
    /// `performance.now()` time the page was first hidden; infinity while it never was.
    static FIRST_HIDDEN_MS: Cell<f64> = const { Cell::new(f64::INFINITY) };
}

pub(crate) fn first_hidden_ms() -> f64 {
    FIRST_HIDDEN_MS.with(Cell::get)
}

fn note_hidden_at(time_ms: f64) {
    FIRST_HIDDEN_MS.with(|first| {
        if first.get().is_infinite() {
            first.set(time_ms.max(0.0));
        }
    });
}

/// A page restored from the back/forward cache starts over: hidden only if it is now.
pub(crate) fn restart_first_hidden(document: &Document) {
    let hidden_now = if is_hidden(document) {
        0.0
    } else {
        f64::INFINITY
    };
    FIRST_HIDDEN_MS.with(|first| first.set(hidden_now));
}

fn is_hidden(document: &Document) -> bool {
    string_property(document, "visibilityState").as_deref() == Some("hidden")
}

/// Prerendered pages are `hidden` until shown, which is not the user looking away.
pub(crate) fn is_prerendering(document: &Document) -> bool {
    property(document, "prerendering").and_then(|p| p.as_bool()) == Some(true)
}

/// The browser's own record of when the page was hidden, where it keeps one (Chromium).
fn recorded_hidden_ms(performance: &Performance, activation_start_ms: f64) -> Option<f64> {
    performance
        .get_entries_by_type("visibility-state")
        .iter()
        .filter(|entry| {
            property(entry, "name")
                .and_then(|n| n.as_string())
                .as_deref()
                == Some("hidden")
        })
        .filter_map(|entry| number_property(&entry, "startTime"))
        .find(|start| *start >= activation_start_ms)
}

fn time_stamp(event: &Event) -> f64 {
    number_property(event, "timeStamp").unwrap_or(0.0)
}

/// `on_hidden` runs on every change to hidden and on `pagehide`; it must be idempotent.
pub(crate) fn install(
    window: &Window,
    document: &Document,
    performance: &Performance,
    activation_start_ms: f64,
    on_hidden: fn(),
) {
    if !is_prerendering(document) {
        let hidden_since_load = is_hidden(document).then_some(0.0);
        if let Some(hidden) =
            recorded_hidden_ms(performance, activation_start_ms).or(hidden_since_load)
        {
            note_hidden_at(hidden);
        }
    }

    let watched = document.clone();
    let on_visibility_change = event_handler(move |event: Event| {
        if is_hidden(&watched) {
            note_hidden_at(time_stamp(&event));
            on_hidden();
        }
    });
    listen(document, "visibilitychange", &on_visibility_change);

    let on_page_hide = event_handler(move |event: Event| {
        note_hidden_at(time_stamp(&event));
        on_hidden();
    });
    listen(window, "pagehide", &on_page_hide);

    let activated = document.clone();
    let on_activation = event_handler(move |_| {
        // Shown to the user while the tab was in the background: hidden all along.
        if is_hidden(&activated) {
            note_hidden_at(0.0);
        }
    });
    listen(document, "prerenderingchange", &on_activation);
}
