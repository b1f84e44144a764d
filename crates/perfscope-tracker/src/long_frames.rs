//! Main-thread work that kept the page from responding: long animation frames where the
//! browser has them (Chromium 123+), long tasks elsewhere.

use crate::browser::{number_property, property};
use crate::entry_observer::{observe, supports};
use crate::measurement::Measurement;
use crate::pipeline::record;
use crate::url_path::strip_query_and_fragment;
use js_sys::Array;
use perfscope_model::LongFrameEvent;
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::JsCast;

/// A page stuck in a loop of long frames would otherwise fill every batch; past this
/// many per document the dashboard has seen the pattern.
const MAX_FRAMES: u32 = 100;
/// What the browser itself counts as long; blocking time is what lies beyond it.
const LONG_TASK_MS: f64 = 50.0;

/// The longest script of a frame: its source, without query string.
fn longest_script(entry: &wasm_bindgen::JsValue) -> Option<String> {
    let scripts: Array = property(entry, "scripts")?.dyn_into().ok()?;
    let longest = scripts.iter().max_by(|a, b| {
        let duration = |s| number_property(s, "duration").unwrap_or(0.0);
        duration(a).total_cmp(&duration(b))
    })?;
    let source = property(&longest, "sourceURL")?.as_string()?;
    let source = strip_query_and_fragment(&source);
    (!source.is_empty()).then(|| source.chars().take(2048).collect())
}

pub(crate) fn install() -> Option<()> {
    let loaf = supports("long-animation-frame");
    let entry_type = if loaf {
        "long-animation-frame"
    } else {
        "longtask"
    };
    let reported = Rc::new(Cell::new(0u32));
    observe(entry_type, None, move |entries: Array| {
        for entry in entries.iter() {
            if reported.get() >= MAX_FRAMES {
                return;
            }
            reported.set(reported.get() + 1);
            let start = number_property(&entry, "startTime").unwrap_or(0.0);
            let duration = number_property(&entry, "duration").unwrap_or(0.0);
            let blocking = match number_property(&entry, "blockingDuration") {
                Some(blocking) => blocking,
                None => (duration - LONG_TASK_MS).max(0.0),
            };
            let script = if loaf { longest_script(&entry) } else { None };
            record(start, move |id, ts| {
                Measurement::long_frame(&LongFrameEvent {
                    id,
                    ts,
                    duration,
                    blocking_duration: blocking,
                    script,
                })
            });
        }
    })
    .map(drop)
}
