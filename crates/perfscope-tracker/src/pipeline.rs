//! From a measurement to a sent batch: ids, validation, the queue, its timer, and the
//! choice between a normal send and an unload beacon.

use crate::acceptance::measurement_is_acceptable;
use crate::browser::{set_timeout, wall_clock_ms};
use crate::entropy;
use crate::ids::{self, EventIds};
use crate::measurement::{assemble, disassemble, BatchHeader, Measurement};
use crate::queue::{BatchQueue, NextSend, SendOutcome};
use crate::transport::{response_status, to_json, Transport};
use js_sys::Function;
use perfscope_model::{ApiCallEvent, Attribution, Batch, NavigationType, VitalEvent, VitalName};
use std::cell::RefCell;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Performance, Window};

pub(crate) struct Pipeline {
    window: Window,
    performance: Performance,
    header: BatchHeader,
    ids: EventIds,
    next_seq: u32,
    queue: BatchQueue<Measurement>,
    transport: Transport,
    timer: Option<ArmedTimer>,
    on_timer: Function,
}

struct ArmedTimer {
    handle: i32,
    due_ms: f64,
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

pub(crate) fn install(
    window: Window,
    performance: Performance,
    header: BatchHeader,
    queue: BatchQueue<Measurement>,
    transport: Transport,
) {
    let on_timer = Closure::<dyn Fn()>::new(|| {
        with_pipeline(|pipeline| {
            pipeline.timer = None;
            pipeline.pump();
        });
    })
    .into_js_value()
    .unchecked_into();
    let pipeline = Pipeline {
        window,
        performance,
        ids: EventIds::new(header.page_view.clone()),
        header,
        next_seq: 0,
        queue,
        transport,
        timer: None,
        on_timer,
    };
    PIPELINE.with(|cell| {
        if let Ok(mut slot) = cell.try_borrow_mut() {
            *slot = Some(pipeline);
        }
    });
}

/// `perf_time_ms`: when it happened, on the `performance.now()` clock.
pub(crate) fn record_vital(
    name: VitalName,
    value: f64,
    perf_time_ms: f64,
    attribution: Option<Attribution>,
) {
    with_pipeline(|pipeline| {
        let measurement = Measurement::Vital(VitalEvent {
            id: pipeline.ids.next_id(),
            ts: wall_clock_ms(&pipeline.performance, perf_time_ms),
            name,
            value,
            attribution,
        });
        pipeline.enqueue(measurement);
    });
}

pub(crate) fn record_api_call(
    method: String,
    path: String,
    status: u16,
    started_ms: f64,
    duration_ms: f64,
) {
    with_pipeline(|pipeline| {
        let measurement = Measurement::ApiCall(ApiCallEvent {
            id: pipeline.ids.next_id(),
            ts: wall_clock_ms(&pipeline.performance, started_ms),
            method,
            path,
            status,
            duration: duration_ms,
            outcome: Default::default(),
            response_size: None,
            timing: None,
        });
        pipeline.enqueue(measurement);
    });
}

/// Starts a new page view: new id, seq back to 0. Vitals recorded afterwards belong to it.
/// What is still queued goes out first, under the page view it was measured in.
// The navigation type reaches the wire with the page context (tracker-delivery's part).
pub(crate) fn begin_page_view(_navigation_type: NavigationType) {
    with_pipeline(|pipeline| {
        pipeline.disarm_timer();
        for measurements in pipeline.queue.drain_all() {
            pipeline.send_by_beacon(measurements);
        }
        let page_view = ids::hex(&entropy::random_bytes::<16>(&pipeline.window));
        pipeline.ids = EventIds::new(page_view.clone());
        pipeline.header.page_view = page_view;
        pipeline.next_seq = 0;
    });
}

/// Sends everything queued at once, with beacons: the page is hidden and may never run
/// another task.
pub(crate) fn flush_for_unload() {
    with_pipeline(|pipeline| {
        pipeline.disarm_timer();
        for measurements in pipeline.queue.drain_all() {
            pipeline.send_by_beacon(measurements);
        }
    });
}

impl Pipeline {
    fn now_ms(&self) -> f64 {
        self.performance.now()
    }

    fn enqueue(&mut self, measurement: Measurement) {
        if !measurement_is_acceptable(&measurement) {
            return;
        }
        let now = self.now_ms();
        self.queue.push(measurement, now);
        self.pump();
    }

    /// Sends what is due and arms the timer for what will be.
    fn pump(&mut self) {
        let now = self.now_ms();
        match self.queue.next_send(now) {
            NextSend::Idle => self.disarm_timer(),
            NextSend::At(due_ms) => self.arm_timer(due_ms, now),
            NextSend::Now => {
                self.disarm_timer();
                let measurements = self.queue.start_send();
                let batch = self.batch(measurements);
                self.post(batch, true);
                // A send that failed on the spot has already given its slot back.
                if !self.queue.is_sending() {
                    self.pump();
                }
            }
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

    fn batch(&mut self, measurements: Vec<Measurement>) -> Batch {
        // Every attempt gets a fresh seq: a retry may regroup measurements, and event ids
        // keep storage idempotent anyway.
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        assemble(&self.header, seq, measurements)
    }

    fn send_by_beacon(&mut self, measurements: Vec<Measurement>) {
        let batch = self.batch(measurements);
        match to_json(&batch) {
            Ok(body) if self.transport.beacon(&body) => {}
            Ok(_) => self.post(batch, false),
            // Could never be sent; keeping it would only block the queue.
            Err(_) => {}
        }
    }

    /// `scheduled` sends hold the queue's single sending slot until they settle; the
    /// fallback for a refused beacon does not.
    fn post(&mut self, batch: Batch, scheduled: bool) {
        let Ok(body) = to_json(&batch) else {
            self.settle(disassemble(batch), SendOutcome::Rejected, scheduled);
            return;
        };
        match self.transport.post(&body) {
            Ok(pending) => wasm_bindgen_futures::spawn_local(async move {
                let outcome = SendOutcome::from_status(response_status(pending).await);
                with_pipeline(|pipeline| {
                    pipeline.settle(disassemble(batch), outcome, scheduled);
                    pipeline.pump();
                });
            }),
            Err(_) => self.settle(disassemble(batch), SendOutcome::Retry, scheduled),
        }
    }

    fn settle(&mut self, measurements: Vec<Measurement>, outcome: SendOutcome, scheduled: bool) {
        let now = self.now_ms();
        if scheduled {
            self.queue.finish_send(measurements, outcome, now);
        } else {
            self.queue.settle(measurements, outcome, now);
        }
    }
}
