//! From a measurement to a delivered batch: the page-view header, ids, validation, the
//! batching by count and age, the outbox of formed batches mirrored in `localStorage`,
//! its timer, and the choice of channel while the page lives and as it goes away.

use crate::browser::{callback, event_handler, listen, on_settled, set_timeout, wall_clock_ms};
use crate::custom_metrics::RecordedMetric;
use crate::entropy::random_bytes;
use crate::ids::{hex, EventIds};
use crate::lifecycle::is_prerendering;
use crate::local_store::LocalStore;
use crate::measurement::{batch_json, BatchHeader, Measurement};
use crate::outbox::{Channel, Dispatch, Outbox};
use crate::page_context;
use crate::queue::{BatchQueue, NextSend, SendOutcome};
use crate::resource_timing::network_timing;
use crate::stored_batch::batch_key;
use crate::transport::{send_result, SendResult, Transport};
use crate::url_path::{route_of, RoutePattern};
use js_sys::Function;
use perfscope_model::{Attribution, NavigationType, VitalEvent, VitalName};
use std::cell::RefCell;
use wasm_bindgen::JsValue;
use web_sys::{Performance, Window};

/// Custom metrics kept for `getMetrics()`: enough for any sane page view, bounded for
/// a page that records in a loop.
const MAX_KEPT_METRICS: usize = 200;

pub(crate) struct Pipeline {
    window: Window,
    performance: Performance,
    header: BatchHeader,
    route_patterns: Vec<RoutePattern>,
    ids: EventIds,
    next_seq: u32,
    batcher: BatchQueue<Measurement>,
    outbox: Outbox,
    store: LocalStore,
    transport: Transport,
    timer: Option<ArmedTimer>,
    on_timer: Function,
    metrics: Vec<RecordedMetric>,
}

struct ArmedTimer {
    handle: i32,
    due_ms: f64,
}

/// What `install` needs from `start`.
pub(crate) struct Setup {
    pub window: Window,
    pub performance: Performance,
    pub site: String,
    pub navigation_type: NavigationType,
    pub route_patterns: Vec<RoutePattern>,
    pub batcher: BatchQueue<Measurement>,
    pub transport: Transport,
}

thread_local! {
    static PIPELINE: RefCell<Option<Pipeline>> = const { RefCell::new(None) };
}

/// Runs `f` on the pipeline, if there is one and it is not already in use: measurements
/// are lost rather than risking a panic inside a browser callback.
fn with_pipeline<R>(f: impl FnOnce(&mut Pipeline) -> R) -> Option<R> {
    PIPELINE.with(|cell| {
        let mut guard = cell.try_borrow_mut().ok()?;
        guard.as_mut().map(f)
    })
}

pub(crate) fn install(setup: Setup) {
    let on_timer = callback(|_| {
        with_pipeline(|pipeline| {
            pipeline.timer = None;
            pipeline.pump();
        });
    });
    let header = new_header(
        &setup.window,
        setup.site.clone(),
        &setup.route_patterns,
        setup.navigation_type,
    );
    let store = LocalStore::open(&setup.window, &setup.site);
    let mut outbox = Outbox::default();
    outbox.add_lost(store.lost());
    // What earlier page views could not deliver goes first.
    for stored in store.load() {
        for dropped in outbox.push(stored.key, stored.body, stored.events) {
            store.remove(&dropped);
        }
    }
    let mut pipeline = Pipeline {
        window: setup.window,
        performance: setup.performance,
        ids: EventIds::new(header.page_view.clone()),
        header,
        route_patterns: setup.route_patterns,
        next_seq: 0,
        batcher: setup.batcher,
        outbox,
        store,
        transport: setup.transport,
        timer: None,
        on_timer,
        metrics: Vec::new(),
    };
    pipeline.pump();
    if let Some(document) = pipeline.held_for_prerender() {
        let on_activation = event_handler(|_| {
            with_pipeline(Pipeline::pump);
        });
        listen(&document, "prerenderingchange", &on_activation);
    }
    PIPELINE.with(|cell| {
        if let Ok(mut slot) = cell.try_borrow_mut() {
            *slot = Some(pipeline);
        }
    });
}

fn new_header(
    window: &Window,
    site: String,
    route_patterns: &[RoutePattern],
    navigation_type: NavigationType,
) -> BatchHeader {
    BatchHeader {
        site,
        page_view: hex(&random_bytes::<16>(window)),
        page: current_page(window, route_patterns),
        context: page_context::read(window, navigation_type),
    }
}

/// The templated route of the page's current path.
fn current_page(window: &Window, route_patterns: &[RoutePattern]) -> String {
    let path = crate::browser::current_path(window);
    crate::url_path::page_path(&route_of(&path, route_patterns))
}

/// Records one measurement stamped with the next event id and the wall-clock time of
/// `perf_time_ms` (`performance.now()` clock); `make` gives `None` for a measurement the
/// collector would refuse.
pub(crate) fn record(perf_time_ms: f64, make: impl FnOnce(String, f64) -> Option<Measurement>) {
    with_pipeline(|pipeline| {
        let ts = wall_clock_ms(&pipeline.performance, perf_time_ms);
        if let Some(measurement) = make(pipeline.ids.next_id(), ts) {
            pipeline.enqueue(measurement);
        }
    });
}

/// `perf_time_ms`: when it happened on the performance.now() clock.
pub(crate) fn record_vital(
    name: VitalName,
    value: f64,
    perf_time_ms: f64,
    attribution: Option<Attribution>,
) {
    record(perf_time_ms, |id, ts| {
        Measurement::vital(&VitalEvent {
            id,
            ts,
            name,
            value,
            attribution,
        })
    });
}

/// Keeps a custom metric for `metrics()` and queues it. `false` when the tracker is not
/// running or the collector would refuse the metric (name, value or meta out of bounds).
pub(crate) fn record_custom_metric(make: impl FnOnce(String, f64) -> RecordedMetric) -> bool {
    with_pipeline(|pipeline| {
        let now = pipeline.performance.now();
        let ts = wall_clock_ms(&pipeline.performance, now);
        let metric = make(pipeline.ids.next_id(), ts);
        let Some(measurement) = Measurement::custom_metric(&metric) else {
            return false;
        };
        if pipeline.metrics.len() < MAX_KEPT_METRICS {
            pipeline.metrics.push(metric);
        }
        pipeline.enqueue(measurement);
        true
    })
    .unwrap_or(false)
}

/// The custom metrics recorded in the current page view.
pub(crate) fn recorded_metrics() -> Vec<RecordedMetric> {
    with_pipeline(|pipeline| pipeline.metrics.clone()).unwrap_or_default()
}

/// Starts a new page view: new id, seq back to 0, the given navigation type and route.
/// Vitals recorded afterwards belong to it.
pub(crate) fn begin_page_view(navigation_type: NavigationType) {
    with_pipeline(|pipeline| {
        if pipeline.held_for_prerender().is_some() {
            // A route change while prerendered (a router starting up): nobody saw the old
            // route, so the page view the user will see is this one, at the new route.
            // Forming the old one's batch would leave it in storage if never shown.
            pipeline.header.page = current_page(&pipeline.window, &pipeline.route_patterns);
            return;
        }
        // What was measured so far belongs to the old page view's header.
        pipeline.form_all_batches();
        pipeline.header = new_header(
            &pipeline.window,
            pipeline.header.site.clone(),
            &pipeline.route_patterns,
            navigation_type,
        );
        pipeline.ids = EventIds::new(pipeline.header.page_view.clone());
        pipeline.next_seq = 0;
        pipeline.metrics.clear();
        pipeline.pump();
    });
}

/// Sends everything at once: the page is hidden and may never run another task.
pub(crate) fn flush_for_unload() {
    with_pipeline(|pipeline| {
        if pipeline.held_for_prerender().is_some() {
            return;
        }
        pipeline.disarm_timer();
        pipeline.form_all_batches();
        for dispatch in pipeline.outbox.start_unload_sends() {
            pipeline.dispatch(dispatch);
        }
    });
}

impl Pipeline {
    fn now_ms(&self) -> f64 {
        self.performance.now()
    }

    fn enqueue(&mut self, measurement: Measurement) {
        let now = self.now_ms();
        let dropped = self.batcher.push(measurement, now);
        self.outbox.add_lost(dropped);
        self.pump();
    }

    /// Forms the batches that are due, starts the send that is due, and arms the timer
    /// for whatever will be due next.
    fn pump(&mut self) {
        if self.held_for_prerender().is_some() {
            return;
        }
        let now = self.now_ms();
        while self.batcher.next_send(now) == NextSend::Now {
            let measurements = self.batcher.take_batch();
            self.form_batch(measurements);
        }
        if self.outbox.next_send(now) == NextSend::Now {
            if let Some(dispatch) = self.outbox.start_send() {
                self.dispatch(dispatch);
            }
        }
        let due = [self.batcher.next_send(now), self.outbox.next_send(now)]
            .into_iter()
            .filter_map(|next| match next {
                NextSend::At(due_ms) => Some(due_ms),
                NextSend::Now => Some(now),
                NextSend::Idle => None,
            })
            .reduce(f64::min);
        match due {
            Some(due_ms) => self.arm_timer(due_ms, now),
            None => self.disarm_timer(),
        }
    }

    /// While the page is only prerendered, nothing is stored or sent, not even what earlier
    /// page views left: `web-vitals` reports nothing for a prerender the user never sees,
    /// and a discarded one must not leave batches behind. Measurements wait in the queue
    /// (`Some(document)`, to listen for activation on).
    fn held_for_prerender(&self) -> Option<web_sys::Document> {
        self.window.document().filter(is_prerendering)
    }

    fn form_all_batches(&mut self) {
        for measurements in self.batcher.drain_all() {
            self.form_batch(measurements);
        }
    }

    /// Turns measurements into a serialised batch in the outbox and in storage.
    fn form_batch(&mut self, mut measurements: Vec<Measurement>) {
        if measurements.is_empty() {
            return;
        }
        for measurement in &mut measurements {
            let Some(lookup) = measurement.timing.take() else {
                continue;
            };
            if let Some((timing, body_size)) = network_timing(&self.performance, &lookup) {
                measurement.add_network_timing(&timing, body_size);
            }
        }
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        let lost = self.outbox.take_lost();
        // What giving this batch up would lose: its events and the count it carries of
        // events given up before it, which would otherwise vanish with it.
        let events = u32::try_from(measurements.len())
            .unwrap_or(u32::MAX)
            .saturating_add(lost);
        let body = batch_json(&self.header, seq, lost, &measurements);
        let now = wall_clock_ms(&self.performance, self.now_ms());
        let key = batch_key(now, &self.header.page_view, seq);
        self.store.save(&key, events, &body);
        for dropped in self.outbox.push(key, body, events) {
            self.store.remove(&dropped);
        }
        self.store.set_lost(self.outbox.lost());
    }

    fn dispatch(&mut self, dispatch: Dispatch) {
        let Dispatch { key, body, channel } = dispatch;
        if channel == Channel::Beacon {
            // Delivered or not, it stays stored for the next page view to make sure.
            let _ = self.transport.beacon(&body);
            self.outbox.beacon_handed_over(&key);
            return;
        }
        let finished = move |result: SendResult| {
            with_pipeline(|pipeline| {
                let now = pipeline.now_ms();
                let jitter = js_sys::Math::random();
                if pipeline
                    .outbox
                    .finish(&key, result.outcome, result.retry_after_ms, now, jitter)
                {
                    pipeline.store.remove(&key);
                }
                pipeline.pump();
            });
        };
        match self.transport.post(&body, channel == Channel::KeepAlive) {
            Ok(pending) => on_settled(&pending, move |settled| finished(send_result(settled))),
            // Decided later, as an answer would be: the pipeline is borrowed right now.
            Err(_) => on_settled(&js_sys::Promise::resolve(&JsValue::NULL), move |_| {
                finished(SendResult {
                    outcome: SendOutcome::Retry,
                    retry_after_ms: None,
                })
            }),
        }
    }

    fn arm_timer(&mut self, due_ms: f64, now_ms: f64) {
        if self
            .timer
            .as_ref()
            .is_some_and(|timer| timer.due_ms == due_ms)
        {
            return;
        }
        self.disarm_timer();
        self.timer = set_timeout(&self.window, &self.on_timer, due_ms - now_ms)
            .map(|handle| ArmedTimer { handle, due_ms });
    }

    fn disarm_timer(&mut self) {
        if let Some(timer) = self.timer.take() {
            self.window.clear_timeout_with_handle(timer.handle);
        }
    }
}
