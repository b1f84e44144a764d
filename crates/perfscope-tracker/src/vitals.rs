//! LCP, FCP, TTFB and CLS from `PerformanceObserver`s, reported once per page view.

use crate::browser::{
    activation_start, event_handler, listen, navigation_entry, number_property, property,
    set_timeout, unlisten,
};
use crate::cls::SessionWindows;
use crate::lifecycle::first_hidden_ms;
use crate::pipeline::record_vital;
use crate::vital_rules::{fcp_value, ttfb_value, LcpCandidate};
use js_sys::{Array, Function, Object, Reflect};
use perfscope_model::VitalName;
use std::cell::RefCell;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    Document, Event, Performance, PerformanceEntry, PerformanceObserver,
    PerformanceObserverEntryList, Window,
};

#[wasm_bindgen]
extern "C" {
    /// A `PerformanceObserver` observed with `{type, buffered}`: web-sys only knows the
    /// `entryTypes` form, which cannot replay entries from before the tracker started, and
    /// its binding does not let `observe()` throw.
    type BufferedObserver;
    #[wasm_bindgen(method, catch)]
    fn observe(this: &BufferedObserver, options: &Object) -> Result<(), JsValue>;
}

/// The user's first keypress or click ends LCP: from then on the page is theirs, and
/// the browser stops emitting candidates anyway. Scrolls and pointerdowns can be synthetic.
const LCP_FINALIZING_INPUTS: [&str; 2] = ["keydown", "click"];

#[derive(Default)]
struct Vitals {
    performance: Option<Performance>,
    window: Option<Window>,
    activation_start_ms: f64,
    fcp_settled: bool,
    fcp_reported: bool,
    paint_observer: Option<PerformanceObserver>,
    lcp: LcpCandidate,
    lcp_observer: Option<PerformanceObserver>,
    lcp_input_handler: Option<Function>,
    cls: SessionWindows,
    cls_observer: Option<PerformanceObserver>,
    cls_settled: bool,
    ttfb_settled: bool,
}

thread_local! {
    static VITALS: RefCell<Vitals> = RefCell::new(Vitals::default());
}

/// Borrows stay short and values are recorded only after they end, so nothing that may
/// call back into the tracker runs while this state is borrowed.
fn with_vitals<R>(f: impl FnOnce(&mut Vitals) -> R) -> Option<R> {
    VITALS.with(|cell| cell.try_borrow_mut().ok().map(|mut vitals| f(&mut vitals)))
}

pub(crate) fn install(window: &Window, document: &Document, performance: &Performance) {
    with_vitals(|vitals| {
        vitals.performance = Some(performance.clone());
        vitals.window = Some(window.clone());
        vitals.activation_start_ms = activation_start(performance);
    });

    // No borrow may be held here: some browsers call back from inside `observe()`.
    let paint = observe("paint", handle_paint_entries);
    let lcp = observe("largest-contentful-paint", handle_lcp_entries);
    let cls = observe("layout-shift", handle_layout_shifts);
    let lcp_input_handler = lcp.is_some().then(|| {
        let handler = event_handler(|event: Event| {
            if event.is_trusted() {
                finalize_lcp();
            }
        });
        for input in LCP_FINALIZING_INPUTS {
            listen(window, input, &handler);
        }
        handler
    });
    with_vitals(|vitals| {
        // A callback during `observe()` may already have finished with FCP.
        if !vitals.fcp_settled {
            vitals.paint_observer = paint;
        } else if let Some(observer) = paint {
            observer.disconnect();
        }
        vitals.lcp_observer = lcp;
        vitals.lcp_input_handler = lcp_input_handler;
        vitals.cls_observer = cls;
    });

    report_ttfb_after_load(window, document);
}

/// The page is being hidden or left: LCP and CLS are as final as they will get.
pub(crate) fn on_page_hidden() {
    if let Some(records) = with_vitals(|v| {
        v.paint_observer
            .as_ref()
            .map(PerformanceObserver::take_records)
    })
    .flatten()
    {
        handle_paint_entries(records);
    }
    finalize_lcp();
    report_cls();
}

/// A single-page-app route change ends the page view: report what is final so far.
/// Minimal version until tracker-metrics' branch (which also resets CLS/INP state for
/// the new page view) is merged.
pub(crate) fn on_soft_navigation(_perf_time_ms: f64) {
    on_page_hidden();
}

fn entry_type_supported(entry_type: &str) -> bool {
    property(&js_sys::global(), "PerformanceObserver")
        .and_then(|constructor| property(&constructor, "supportedEntryTypes"))
        .and_then(|types| types.dyn_into::<Array>().ok())
        .is_some_and(|types| types.includes(&JsValue::from_str(entry_type), 0))
}

/// `None` where the browser does not support the entry type (e.g. no `layout-shift`
/// outside Chromium): that vital is then simply not reported.
fn observe(entry_type: &str, on_entries: fn(Array)) -> Option<PerformanceObserver> {
    if !entry_type_supported(entry_type) {
        return None;
    }
    let callback: Function = Closure::<dyn Fn(PerformanceObserverEntryList)>::new(
        move |list: PerformanceObserverEntryList| on_entries(list.get_entries()),
    )
    .into_js_value()
    .unchecked_into();
    let observer = PerformanceObserver::new(&callback).ok()?;
    let options = Object::new();
    Reflect::set(&options, &"type".into(), &entry_type.into()).ok()?;
    Reflect::set(&options, &"buffered".into(), &JsValue::TRUE).ok()?;
    observer
        .unchecked_ref::<BufferedObserver>()
        .observe(&options)
        .ok()?;
    Some(observer)
}

fn entries(list: Array) -> impl Iterator<Item = PerformanceEntry> {
    list.into_iter()
        .map(JsCast::unchecked_into::<PerformanceEntry>)
}

fn handle_paint_entries(list: Array) {
    let Some(fcp) = entries(list).find(|entry| entry.name() == "first-contentful-paint") else {
        return;
    };
    let start_time = fcp.start_time();
    let value = with_vitals(|vitals| {
        if vitals.fcp_settled {
            return None;
        }
        vitals.fcp_settled = true;
        if let Some(observer) = vitals.paint_observer.take() {
            observer.disconnect();
        }
        let value = fcp_value(start_time, vitals.activation_start_ms, first_hidden_ms());
        vitals.fcp_reported = value.is_some();
        value
    })
    .flatten();
    if let Some(value) = value {
        record_vital(VitalName::Fcp, value, start_time, None);
    }
}

fn handle_lcp_entries(list: Array) {
    // Only the newest candidate matters; earlier ones in the same list were superseded.
    let Some(latest) = entries(list).last() else {
        return;
    };
    let start_time = latest.start_time();
    with_vitals(|vitals| {
        vitals
            .lcp
            .offer(start_time, vitals.activation_start_ms, first_hidden_ms());
    });
}

fn finalize_lcp() {
    let Some(pending) = with_vitals(|vitals| {
        (!vitals.lcp.is_finalized()).then(|| {
            vitals
                .lcp_observer
                .as_ref()
                .map(PerformanceObserver::take_records)
        })
    })
    .flatten() else {
        return;
    };
    if let Some(records) = pending {
        handle_lcp_entries(records);
    }
    let reading = with_vitals(|vitals| {
        if let Some(observer) = vitals.lcp_observer.take() {
            observer.disconnect();
        }
        if let (Some(window), Some(handler)) = (&vitals.window, vitals.lcp_input_handler.take()) {
            for input in LCP_FINALIZING_INPUTS {
                unlisten(window, input, &handler);
            }
        }
        vitals.lcp.finalize()
    })
    .flatten();
    if let Some(reading) = reading {
        record_vital(
            VitalName::Lcp,
            reading.value_ms,
            reading.start_time_ms,
            None,
        );
    }
}

fn handle_layout_shifts(list: Array) {
    with_vitals(|vitals| {
        for shift in list.iter() {
            let Some(value) = number_property(&shift, "value") else {
                continue;
            };
            let had_recent_input = property(&shift, "hadRecentInput")
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            let start_time = number_property(&shift, "startTime").unwrap_or(f64::NAN);
            vitals.cls.add_shift(start_time, value, had_recent_input);
        }
    });
}

fn report_cls() {
    let pending = with_vitals(|vitals| {
        if vitals.cls_settled {
            return None;
        }
        vitals
            .cls_observer
            .as_ref()
            .map(PerformanceObserver::take_records)
    })
    .flatten();
    let Some(records) = pending else {
        return;
    };
    handle_layout_shifts(records);
    let report = with_vitals(|vitals| {
        vitals.cls_settled = true;
        if let Some(observer) = vitals.cls_observer.take() {
            observer.disconnect();
        }
        // As web-vitals and CrUX do: no FCP while visible means the user never saw the page.
        let now = vitals.performance.as_ref().map(Performance::now)?;
        vitals.fcp_reported.then(|| (vitals.cls.value(), now))
    })
    .flatten();
    if let Some((value, now)) = report {
        record_vital(VitalName::Cls, value, now, None);
    }
}

/// The navigation entry is complete only after `load`, and a task later for `loadEventEnd`.
fn report_ttfb_after_load(window: &Window, document: &Document) {
    if document.ready_state() == "complete" {
        schedule_ttfb(window);
    } else {
        let loaded_window = window.clone();
        listen(
            window,
            "load",
            &event_handler(move |_| schedule_ttfb(&loaded_window)),
        );
    }
}

fn schedule_ttfb(window: &Window) {
    let report: Function = Closure::<dyn Fn()>::new(report_ttfb)
        .into_js_value()
        .unchecked_into();
    let _ = set_timeout(window, &report, 0.0);
}

fn report_ttfb() {
    let measured = with_vitals(|vitals| {
        if vitals.ttfb_settled {
            return None;
        }
        vitals.ttfb_settled = true;
        let performance = vitals.performance.as_ref()?;
        let response_start = number_property(&navigation_entry(performance)?, "responseStart")?;
        let value = ttfb_value(
            response_start,
            vitals.activation_start_ms,
            performance.now(),
        )?;
        Some((value, response_start))
    })
    .flatten();
    if let Some((value, response_start)) = measured {
        record_vital(VitalName::Ttfb, value, response_start, None);
    }
}
