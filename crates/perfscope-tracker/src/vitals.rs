//! LCP, FCP, TTFB, CLS, INP and FID from `PerformanceObserver`s, with attribution,
//! reported when `web-vitals` reports them: FCP, TTFB and FID at once, LCP on the first
//! input or when hidden, CLS and INP each time the page is hidden and they changed. A
//! back/forward-cache restore starts a new page view that measures again.

use crate::attribution;
use crate::browser::{
    activation_start, callback, event_handler, listen, navigation_entry, number_property, property,
    set_timeout, string_property, unlisten,
};
use crate::cls::SessionWindows;
use crate::entry_observer::{observe, observe_more};
use crate::inp::{
    frame_overlaps, interaction_scripts, EventTiming, FrameScript, LongestInteractions, Processed,
};
use crate::lifecycle::{first_hidden_ms, restart_first_hidden};
use crate::pipeline::{begin_page_view, record_vital};
use crate::selector::{element_part, SelectorPath};
use crate::vital_rules::{
    fcp_value, lcp_parts, response_start_is_valid, ttfb_value, ChangeReporter, LcpCandidate,
    ResourceTiming,
};
use js_sys::{Array, Function};
use perfscope_model::{Limits, NavigationType, VitalName};
use std::cell::RefCell;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Event, Performance, PerformanceObserver, Window};

/// The user's first keypress or click ends LCP: from then on the page is theirs, and
/// the browser stops emitting candidates anyway. Scrolls and pointerdowns can be synthetic.
const LCP_FINALIZING_INPUTS: [&str; 2] = ["keydown", "click"];
/// Event-timing entries shorter than this cannot be the INP of a page worth looking at
/// (web-vitals' default); the browser rounds durations to 8 ms.
const EVENT_DURATION_THRESHOLD_MS: f64 = 40.0;
/// Long animation frames kept besides those overlapping the slowest interactions.
const RECENT_LONG_FRAMES: usize = 10;

#[derive(Default)]
struct Vitals {
    performance: Option<Performance>,
    window: Option<Window>,
    document: Option<Document>,
    activation_start_ms: f64,
    fcp_settled: bool,
    fcp_reported: bool,
    paint_observer: Option<PerformanceObserver>,
    lcp: LcpCandidate,
    lcp_target: Option<String>,
    lcp_url: Option<String>,
    lcp_observer: Option<PerformanceObserver>,
    lcp_input_handler: Option<Function>,
    cls: SessionWindows,
    cls_observer: Option<PerformanceObserver>,
    cls_reporter: ChangeReporter,
    /// A restored page view reports CLS even without a new FCP.
    restored: bool,
    interactions: LongestInteractions,
    event_observer: Option<PerformanceObserver>,
    inp_reporter: ChangeReporter,
    /// Interactions before this page view began (back/forward-cache restores).
    interaction_count_base: f64,
    /// Only where `performance.interactionCount` is missing.
    min_interaction_id: u64,
    max_interaction_id: u64,
    long_frames: Vec<JsValue>,
    fid_settled: bool,
    ttfb_settled: bool,
}

thread_local! {
    /// `None` until the page is activated: a constant initial value spares the wasm the
    /// lazy-initialisation code every access would otherwise carry.
    static VITALS: RefCell<Option<Vitals>> = const { RefCell::new(None) };
}

/// Borrows stay short and values are recorded only after they end, so nothing that may
/// call back into the tracker runs while this state is borrowed. `None` before
/// activation.
fn with_vitals<R>(f: impl FnOnce(&mut Vitals) -> R) -> Option<R> {
    VITALS.with(|cell| cell.try_borrow_mut().ok()?.as_mut().map(f))
}

pub(crate) fn install(window: &Window, document: &Document, performance: &Performance) {
    // As web-vitals does: a prerendered page is measured from when the user sees it, and
    // `activationStart` is only known then.
    if property(document, "prerendering").and_then(|p| p.as_bool()) == Some(true) {
        let (w, d, p) = (window.clone(), document.clone(), performance.clone());
        // The event fires once: the page is activated only once.
        let activated = callback(move |_| install_activated(&w, &d, &p));
        let _ = document.add_event_listener_with_callback("prerenderingchange", &activated);
        return;
    }
    install_activated(window, document, performance);
}

fn install_activated(window: &Window, document: &Document, performance: &Performance) {
    VITALS.with(|cell| {
        if let Ok(mut vitals) = cell.try_borrow_mut() {
            *vitals = Some(Vitals {
                performance: Some(performance.clone()),
                window: Some(window.clone()),
                document: Some(document.clone()),
                activation_start_ms: activation_start(performance),
                ..Vitals::default()
            });
        }
    });

    // No borrow may be held here: some browsers call back from inside `observe()`.
    let paint = observe("paint", None, handle_paint_entries);
    let lcp = observe("largest-contentful-paint", None, handle_lcp_entries);
    let cls = observe("layout-shift", None, handle_layout_shifts);
    let events = observe(
        "event",
        Some(EVENT_DURATION_THRESHOLD_MS),
        handle_event_entries,
    );
    if let Some(observer) = &events {
        // The first input joins INP too (it may be below the threshold) and gives FID.
        let _ = observe_more(observer, "first-input", None);
    } else {
        let _ = observe("first-input", None, handle_event_entries);
    }
    // Only to name the scripts behind a slow interaction; absent outside Chromium.
    let _ = observe("long-animation-frame", None, handle_long_frames);
    let lcp_input_handler = lcp.is_some().then(|| {
        let handler = event_handler(|event: Event| {
            if property(&event, "isTrusted").and_then(|t| t.as_bool()) == Some(true) {
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
        vitals.event_observer = events;
    });
    listen(window, "pageshow", &event_handler(on_page_show));

    report_ttfb_after_load(window, document);
}

/// Until a prerendered page is shown nothing is measured (`install` waits for it): there
/// is nothing to end, and finalising LCP then would refuse the one the user sees.
fn waits_for_activation() -> bool {
    VITALS.with(|cell| cell.try_borrow().is_ok_and(|vitals| vitals.is_none()))
}

/// The page is being hidden or left: LCP is final, CLS and INP are reported if they
/// changed since the last time the page was hidden.
pub(crate) fn on_page_hidden() {
    if waits_for_activation() {
        return;
    }
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
    report_inp();
}

/// A single-page-app route change ends this page view: what it measured is reported,
/// and CLS and INP start over for the next one.
pub(crate) fn on_soft_navigation(_perf_time_ms: f64) {
    if waits_for_activation() {
        return;
    }
    finalize_lcp();
    report_cls();
    report_inp();
    with_vitals(|vitals| {
        vitals.cls = SessionWindows::default();
        vitals.cls_reporter = ChangeReporter::default();
        // The new view's layout is the user's to see whether or not FCP was reported.
        vitals.restored = true;
        restart_interactions(vitals);
    });
}

fn restart_interactions(vitals: &mut Vitals) {
    vitals.interactions.reset();
    vitals.inp_reporter = ChangeReporter::default();
    vitals.long_frames.clear();
    vitals.interaction_count_base = total_interaction_count(vitals);
}

fn on_page_show(event: Event) {
    let persisted = property(&event, "persisted").and_then(|p| p.as_bool()) == Some(true);
    if persisted {
        restore_from_back_forward_cache(number_property(&event, "timeStamp").unwrap_or(0.0));
    }
}

/// Measures the restored page as web-vitals does: a new page view whose TTFB is 0, whose
/// FCP and LCP are the time to the next frame, and whose CLS and INP start from zero.
fn restore_from_back_forward_cache(restored_at_ms: f64) {
    begin_page_view(NavigationType::BackForwardCache);
    let Some((window, document)) = with_vitals(|vitals| {
        vitals.cls = SessionWindows::default();
        vitals.cls_reporter = ChangeReporter::default();
        vitals.restored = true;
        restart_interactions(vitals);
        vitals.window.clone().zip(vitals.document.clone())
    })
    .flatten() else {
        return;
    };
    // After the `visibilitychange` that may accompany the restore.
    let restart = callback(move |_| restart_first_hidden(&document));
    let _ = set_timeout(&window, &restart, 0.0);
    record_vital(VitalName::Ttfb, 0.0, restored_at_ms, None);
    let next_frame = window.clone();
    let after_two_frames = callback(move |_| {
        let second = callback(move |_| report_restored_paints(restored_at_ms));
        let _ = next_frame.request_animation_frame(&second);
    });
    let _ = window.request_animation_frame(&after_two_frames);
}

fn report_restored_paints(restored_at_ms: f64) {
    let Some(now) = with_vitals(|v| v.performance.as_ref().map(Performance::now)).flatten() else {
        return;
    };
    let value = now - restored_at_ms;
    // Nothing was loaded: all of it is rendering.
    let parts = lcp_parts(value, None, 0.0, None);
    let lcp = attribution::acceptable(VitalName::Lcp, value, attribution::lcp(None, None, parts));
    record_vital(VitalName::Fcp, value, now, None);
    record_vital(VitalName::Lcp, value, now, lcp);
}

/// The selector web-vitals' attribution build would give `node`, capped in length.
fn selector_of(node: &JsValue) -> Option<String> {
    const ELEMENT_NODE: f64 = 1.0;
    const DOCUMENT_NODE: f64 = 9.0;
    let mut path = SelectorPath::new(Limits::default().max_selector_len);
    let mut current = Some(node.clone());
    while let Some(node) = current {
        let node_type = number_property(&node, "nodeType")?;
        if node_type == DOCUMENT_NODE {
            break;
        }
        let is_element = node_type == ELEMENT_NODE;
        let name = string_property(&node, "nodeName").unwrap_or_default();
        let id = string_property(&node, "id").unwrap_or_default();
        let classes: Vec<String> = property(&node, "classList")
            .map(|list| {
                Array::from(&list)
                    .iter()
                    .filter_map(|c| c.as_string())
                    .collect()
            })
            .unwrap_or_default();
        if !path.prepend(
            &element_part(&name, is_element, &id, &classes),
            !id.is_empty(),
        ) {
            break;
        }
        current = property(&node, "parentNode");
    }
    path.finish()
}

fn handle_paint_entries(list: Array) {
    let Some(fcp) = list
        .iter()
        .find(|entry| string_property(entry, "name").as_deref() == Some("first-contentful-paint"))
    else {
        return;
    };
    let start_time = number_property(&fcp, "startTime").unwrap_or(f64::NAN);
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
    let Some(latest) = list.iter().last() else {
        return;
    };
    let start_time = number_property(&latest, "startTime").unwrap_or(f64::NAN);
    let taken = with_vitals(|vitals| {
        vitals
            .lcp
            .offer(start_time, vitals.activation_start_ms, first_hidden_ms())
    });
    if taken != Some(true) {
        return;
    }
    // Named now: the element may be removed before LCP is reported.
    let target = property(&latest, "element")
        .and_then(|element| selector_of(&element))
        .or_else(|| {
            string_property(&latest, "id")
                .filter(|id| !id.is_empty())
                .map(|id| element_part("", true, &id, &[]))
        });
    let url = string_property(&latest, "url").filter(|url| !url.is_empty());
    with_vitals(|vitals| {
        vitals.lcp_target = target;
        vitals.lcp_url = url;
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
        let reading = vitals.lcp.finalize()?;
        let performance = vitals.performance.as_ref()?;
        let url = vitals.lcp_url.take();
        let parts = lcp_parts(
            reading.value_ms,
            valid_response_start(performance),
            vitals.activation_start_ms,
            url.as_deref()
                .and_then(|url| resource_timing(performance, url)),
        );
        let attribution = attribution::lcp(vitals.lcp_target.take(), url, parts);
        Some((reading, attribution))
    })
    .flatten();
    if let Some((reading, attribution)) = reading {
        let attribution = attribution::acceptable(VitalName::Lcp, reading.value_ms, attribution);
        record_vital(
            VitalName::Lcp,
            reading.value_ms,
            reading.start_time_ms,
            attribution,
        );
    }
}

/// The navigation's `responseStart`, if the browser gives a believable one.
fn valid_response_start(performance: &Performance) -> Option<f64> {
    let response_start = number_property(&navigation_entry(performance)?, "responseStart")?;
    response_start_is_valid(response_start, performance.now()).then_some(response_start)
}

/// The first Resource Timing entry for `url`, as web-vitals picks it.
fn resource_timing(performance: &Performance, url: &str) -> Option<ResourceTiming> {
    let entry = performance
        .get_entries_by_name_with_entry_type(url, "resource")
        .get(0);
    Some(ResourceTiming {
        request_start_ms: number_property(&entry, "requestStart").unwrap_or(0.0),
        start_time_ms: number_property(&entry, "startTime")?,
        response_end_ms: number_property(&entry, "responseEnd")?,
    })
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
            vitals
                .cls
                .add_shift(start_time, value, had_recent_input, || shift_target(&shift));
        }
    });
}

/// The first source that is an element (else the first source) names the shift.
fn shift_target(shift: &JsValue) -> Option<String> {
    const ELEMENT_NODE: f64 = 1.0;
    let sources: Array = property(shift, "sources")?.dyn_into().ok()?;
    let node_of = |source: &JsValue| property(source, "node");
    let source = sources
        .iter()
        .find(|s| node_of(s).and_then(|n| number_property(&n, "nodeType")) == Some(ELEMENT_NODE))
        .or_else(|| sources.iter().next())?;
    selector_of(&node_of(&source)?)
}

fn report_cls() {
    let pending = with_vitals(|vitals| {
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
        // As web-vitals and CrUX do: no FCP while visible means the user never saw the page.
        if !(vitals.fcp_reported || vitals.restored) {
            return None;
        }
        let value = vitals.cls.value();
        if !vitals.cls_reporter.should_report(value) {
            return None;
        }
        let now = vitals.performance.as_ref().map(Performance::now)?;
        let attribution = vitals.cls.largest_shift().map(attribution::cls);
        Some((value, now, attribution))
    })
    .flatten();
    if let Some((value, now, attribution)) = report {
        let attribution =
            attribution.and_then(|a| attribution::acceptable(VitalName::Cls, value, a));
        record_vital(VitalName::Cls, value, now, attribution);
    }
}

fn event_timing(entry: &JsValue) -> Option<EventTiming> {
    let name = string_property(entry, "name").unwrap_or_default();
    Some(EventTiming {
        interaction_id: number_property(entry, "interactionId")
            .filter(|id| id.is_finite() && *id >= 0.0)
            .map_or(0, |id| id as u64),
        is_first_input: string_property(entry, "entryType").as_deref() == Some("first-input"),
        start_time: number_property(entry, "startTime")?,
        duration: number_property(entry, "duration")?,
        processing_start: number_property(entry, "processingStart")?,
        processing_end: number_property(entry, "processingEnd")?,
        is_keyboard: name.starts_with("key"),
    })
}

fn handle_event_entries(list: Array) {
    for entry in list.iter() {
        let Some(timing) = event_timing(&entry) else {
            continue;
        };
        if timing.is_first_input {
            report_fid(&timing);
        }
        let processed = with_vitals(|vitals| {
            if timing.interaction_id != 0 {
                vitals.min_interaction_id = match vitals.min_interaction_id {
                    0 => timing.interaction_id,
                    min => min.min(timing.interaction_id),
                };
                vitals.max_interaction_id = vitals.max_interaction_id.max(timing.interaction_id);
            }
            vitals.interactions.process(timing)
        });
        if let Some(Processed::NeedsTarget(id)) = processed {
            // Named now, while the target is surely still in the document.
            let target = property(&entry, "target")
                .and_then(|target| selector_of(&target))
                .or_else(|| string_property(&entry, "targetSelector"));
            if let Some(target) = target {
                with_vitals(|vitals| vitals.interactions.set_target(id, target));
            }
        }
    }
}

/// Legacy First Input Delay: how long the first input waited for the main thread.
fn report_fid(first_input: &EventTiming) {
    let report = with_vitals(|vitals| {
        if vitals.fid_settled {
            return false;
        }
        vitals.fid_settled = true;
        first_input.start_time < first_hidden_ms()
    });
    let value = first_input.processing_start - first_input.start_time;
    if report == Some(true) && value.is_finite() && value >= 0.0 {
        record_vital(VitalName::Fid, value, first_input.start_time, None);
    }
}

fn handle_long_frames(list: Array) {
    with_vitals(|vitals| {
        vitals.long_frames.extend(list.iter());
        let spans: Vec<(f64, f64)> = vitals.interactions.handling_spans().collect();
        let keep_from = vitals.long_frames.len().saturating_sub(RECENT_LONG_FRAMES);
        let mut index = 0;
        vitals.long_frames.retain(|frame| {
            let start = number_property(frame, "startTime").unwrap_or(f64::NAN);
            let duration = number_property(frame, "duration").unwrap_or(0.0);
            let keep = index >= keep_from
                || spans
                    .iter()
                    .any(|(from, to)| frame_overlaps(start, duration, *from, *to));
            index += 1;
            keep
        });
    });
}

/// Interactions since the page loaded: the browser's count, or an estimate from the
/// interaction ids seen, which Chromium hands out in steps of 7.
fn total_interaction_count(vitals: &Vitals) -> f64 {
    let counted = vitals
        .performance
        .as_ref()
        .and_then(|performance| number_property(performance, "interactionCount"));
    counted.unwrap_or_else(|| {
        if vitals.max_interaction_id == 0 {
            0.0
        } else {
            (vitals.max_interaction_id - vitals.min_interaction_id) as f64 / 7.0 + 1.0
        }
    })
}

fn report_inp() {
    let pending = with_vitals(|vitals| {
        vitals
            .event_observer
            .as_ref()
            .map(PerformanceObserver::take_records)
    })
    .flatten();
    if let Some(records) = pending {
        handle_event_entries(records);
    }
    let report = with_vitals(|vitals| {
        let count = total_interaction_count(vitals) - vitals.interaction_count_base;
        let inp = vitals.interactions.estimate(count)?.clone();
        if !vitals.inp_reporter.should_report(inp.latency) {
            return None;
        }
        let phases = vitals.interactions.phases(&inp);
        let scripts = phases
            .map(|p| long_frame_scripts(&vitals.long_frames, p.interaction_time, p.processing_end))
            .unwrap_or_default();
        let attribution =
            attribution::inp(inp.target.clone(), inp.entry.is_keyboard, phases, scripts);
        Some((inp.latency, inp.entry.start_time, attribution))
    })
    .flatten();
    if let Some((value, start_time, attribution)) = report {
        let attribution = attribution::acceptable(VitalName::Inp, value, attribution);
        record_vital(VitalName::Inp, value, start_time, attribution);
    }
}

/// The scripts of the long animation frames that overlap the interaction's handling.
fn long_frame_scripts(frames: &[JsValue], from: f64, to: f64) -> Vec<String> {
    let mut scripts = Vec::new();
    for frame in frames {
        let start = number_property(frame, "startTime").unwrap_or(f64::NAN);
        let duration = number_property(frame, "duration").unwrap_or(0.0);
        if !frame_overlaps(start, duration, from, to) {
            continue;
        }
        let Some(frame_scripts) =
            property(frame, "scripts").and_then(|s| s.dyn_into::<Array>().ok())
        else {
            continue;
        };
        scripts.extend(frame_scripts.iter().filter_map(|script| {
            Some(FrameScript {
                source_url: string_property(&script, "sourceURL")?,
                start_time: number_property(&script, "startTime")?,
                duration: number_property(&script, "duration")?,
            })
        }));
    }
    let limits = Limits::default();
    interaction_scripts(&scripts, from, limits.max_scripts, limits.max_url_len)
}

/// The navigation entry is complete only after `load`, and a task later for `loadEventEnd`.
fn report_ttfb_after_load(window: &Window, document: &Document) {
    if string_property(document, "readyState").as_deref() == Some("complete") {
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
    let _ = set_timeout(window, &callback(|_| report_ttfb()), 0.0);
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
