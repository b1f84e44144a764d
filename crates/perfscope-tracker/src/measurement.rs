//! One measurement waiting to be sent, and the single place that knows how a batch lays
//! measurements out on the wire.
//!
//! A measurement is checked against the model's acceptance rules and written as JSON
//! the moment it is recorded, so the queue holds plain text: keeping the typed events
//! until a batch is formed cost the wasm a `Vec`, a move and a drop of every event type.

use crate::custom_metrics::RecordedMetric;
use crate::json::{self, Json};
use perfscope_model::{
    ApiCallEvent, AssetEvent, Limits, LongFrameEvent, MemoryEvent, NetworkTiming, PageContext,
    VitalEvent,
};

/// Which array of the batch a measurement belongs to, in the order the batch lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Vital,
    ApiCall,
    LongFrame,
    CustomMetric,
    Asset,
    Memory,
}

impl Kind {
    const IN_BATCH_ORDER: [Kind; 6] = [
        Kind::Vital,
        Kind::ApiCall,
        Kind::LongFrame,
        Kind::CustomMetric,
        Kind::Asset,
        Kind::Memory,
    ];

    fn field(self) -> &'static str {
        match self {
            Kind::Vital => "vitals",
            Kind::ApiCall => "api_calls",
            Kind::LongFrame => "long_frames",
            Kind::CustomMetric => "custom_metrics",
            Kind::Asset => "assets",
            Kind::Memory => "memory",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    pub kind: Kind,
    /// The event's JSON object without its closing brace: an API call's network timing
    /// is only added when the batch is formed.
    json: String,
    /// API calls only: where to find the Resource Timing entry, which the browser adds
    /// only once the response body has arrived.
    pub timing: Option<TimingLookup>,
}

/// The absolute URL of a request and when it started (`performance.now()` ms).
#[derive(Clone, Debug, PartialEq)]
pub struct TimingLookup {
    pub url: String,
    pub started_ms: f64,
    /// The response did not announce its size; the timing entry's body size is used.
    pub wants_size: bool,
}

fn written(kind: Kind, plausible: bool, write: impl FnOnce(&mut Json)) -> Option<Measurement> {
    plausible.then(|| Measurement {
        kind,
        json: json::open_object(write),
        timing: None,
    })
}

impl Measurement {
    /// `None` when the collector would refuse the event: one bad event would get its
    /// whole batch refused. Timestamps are not judged: the tracker's clock is the only
    /// one it has.
    pub fn vital(event: &VitalEvent) -> Option<Measurement> {
        let plausible = event.is_plausible(&Limits::default());
        written(Kind::Vital, plausible, |out| json::vital(out, event))
    }

    pub fn api_call(call: &ApiCallEvent, url: String, started_ms: f64) -> Option<Measurement> {
        let plausible = call.is_plausible(&Limits::default());
        let mut measurement = written(Kind::ApiCall, plausible, |out| json::api_call(out, call))?;
        measurement.timing = (!url.is_empty()).then(|| TimingLookup {
            url,
            started_ms,
            wants_size: call.response_size.is_none(),
        });
        Some(measurement)
    }

    pub fn long_frame(frame: &LongFrameEvent) -> Option<Measurement> {
        let plausible = frame.is_plausible(&Limits::default());
        written(Kind::LongFrame, plausible, |out| {
            json::long_frame(out, frame)
        })
    }

    pub fn custom_metric(metric: &RecordedMetric) -> Option<Measurement> {
        let plausible = metric.is_plausible();
        written(Kind::CustomMetric, plausible, |out| {
            json::custom_metric(out, metric)
        })
    }

    pub fn asset(asset: &AssetEvent) -> Option<Measurement> {
        let plausible = asset.is_plausible(&Limits::default());
        written(Kind::Asset, plausible, |out| json::asset(out, asset))
    }

    pub fn memory(reading: &MemoryEvent) -> Option<Measurement> {
        let plausible = reading.is_plausible(&Limits::default());
        written(Kind::Memory, plausible, |out| json::memory(out, reading))
    }

    /// Joins an API call with its network phases and, if the response did not say, its
    /// body size, both from the Resource Timing entry.
    pub fn add_network_timing(&mut self, timing: &NetworkTiming, body_size: Option<u64>) {
        let mut out = Json::continuing(std::mem::take(&mut self.json));
        json::network_timing(&mut out, timing, body_size);
        self.json = out.finish();
    }
}

/// What every batch of one page view carries besides its measurements.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchHeader {
    pub site: String,
    pub page_view: String,
    pub page: String,
    pub context: PageContext,
}

/// The batch as the collector's ingest body: the header, then each kind's events in
/// the order they were recorded. Kinds without events are left out.
pub fn batch_json(
    header: &BatchHeader,
    seq: u32,
    lost: u32,
    measurements: &[Measurement],
) -> String {
    json::open_object(|out| {
        json::batch_header(out, header, seq, lost);
        for kind in Kind::IN_BATCH_ORDER {
            let mut events = measurements.iter().filter(|m| m.kind == kind).peekable();
            if events.peek().is_none() {
                continue;
            }
            out.key(kind.field());
            out.raw("[");
            for (n, event) in events.enumerate() {
                if n > 0 {
                    out.raw(",");
                }
                out.raw(&event.json);
                out.raw("}");
            }
            out.raw("]");
        }
    }) + "}"
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfscope_model::{
        ApiOutcome, AssetKind, Attribution, Batch, ConnectionType, CustomMetricEvent, DeviceClass,
        InteractionType, NavigationType, VitalName,
    };
    use std::collections::BTreeMap;

    fn header() -> BatchHeader {
        BatchHeader {
            site: "demo".into(),
            page_view: "ab12".into(),
            page: "/users/:id".into(),
            context: PageContext {
                navigation_type: NavigationType::BackForwardCache,
                device: DeviceClass::Mobile,
                connection: ConnectionType::Cellular3g,
                viewport_width: 390,
                viewport_height: 844,
            },
        }
    }

    fn vital(id: &str, value: f64) -> VitalEvent {
        VitalEvent {
            id: id.into(),
            ts: 1_700_000_000_123.5,
            name: VitalName::Inp,
            value,
            attribution: Some(Attribution {
                target: Some("div#a > \"b\"\\c".into()),
                interaction_type: Some(InteractionType::Keyboard),
                input_delay: Some(1.25),
                scripts: vec!["https://x/a.js".into(), "é/ü".into()],
                largest_shift_value: Some(1e-7),
                ..Attribution::default()
            }),
        }
    }

    fn api_call(id: &str, response_size: Option<u64>) -> ApiCallEvent {
        ApiCallEvent {
            id: id.into(),
            ts: 1.7e12,
            method: "POST".into(),
            path: "/api/items/:id".into(),
            status: 503,
            duration: 12.000001,
            outcome: ApiOutcome::HttpError,
            response_size,
            timing: None,
        }
    }

    fn timing() -> NetworkTiming {
        NetworkTiming {
            dns: 0.0,
            connect: 1.5,
            ttfb: 30.25,
            download: 2.0,
        }
    }

    #[test]
    fn every_field_round_trips_through_the_models_decoder() {
        let metric = RecordedMetric {
            id: "ab12-3".into(),
            ts: 6.0,
            name: "checkout.step".into(),
            value: -42.5,
            meta: vec![("a".into(), "b".into()), ("plan".into(), "pro".into())],
        };
        let frame = LongFrameEvent {
            id: "ab12-2".into(),
            ts: 5.0,
            duration: 120.0,
            blocking_duration: 70.0,
            script: Some("https://x/app.js".into()),
        };
        let asset = AssetEvent {
            id: "ab12-4".into(),
            ts: 7.0,
            kind: AssetKind::Style,
            url: "https://x/app.css".into(),
            transfer_size: 0,
            decoded_size: 12_345,
        };
        let memory = MemoryEvent {
            id: "ab12-5".into(),
            ts: 8.0,
            used_js_heap: 1,
            total_js_heap: 2,
            js_heap_limit: u64::from(u32::MAX) * 4,
        };
        // The announced size is kept; the entry's size fills in where none was announced.
        let mut sized = Measurement::api_call(
            &api_call("ab12-1", Some(1 << 33)),
            "https://x/i".into(),
            3.0,
        )
        .unwrap();
        assert!(!sized.timing.as_ref().unwrap().wants_size);
        sized.add_network_timing(&timing(), None);
        let mut unsized_call =
            Measurement::api_call(&api_call("ab12-6", None), "https://x/i".into(), 3.0).unwrap();
        assert!(unsized_call.timing.as_ref().unwrap().wants_size);
        unsized_call.add_network_timing(&timing(), Some(77));
        let without_entry =
            Measurement::api_call(&api_call("ab12-7", None), String::new(), 3.0).unwrap();
        assert_eq!(without_entry.timing, None);
        let measurements = [
            Measurement::memory(&memory).unwrap(),
            sized,
            Measurement::vital(&vital("ab12-0", 0.1 + 0.2)).unwrap(),
            Measurement::long_frame(&frame).unwrap(),
            Measurement::custom_metric(&metric).unwrap(),
            Measurement::asset(&asset).unwrap(),
            unsized_call,
            without_entry,
        ];
        let json = batch_json(&header(), 7, 3, &measurements);
        let decoded: Batch = serde_json::from_str(&json).expect(&json);
        let with_timing = |id, size| ApiCallEvent {
            timing: Some(timing()),
            ..api_call(id, size)
        };
        let expected = Batch {
            site: "demo".into(),
            page_view: "ab12".into(),
            seq: 7,
            page: "/users/:id".into(),
            context: header().context,
            lost: 3,
            vitals: vec![vital("ab12-0", 0.1 + 0.2)],
            api_calls: vec![
                with_timing("ab12-1", Some(1 << 33)),
                with_timing("ab12-6", Some(77)),
                api_call("ab12-7", None),
            ],
            long_frames: vec![frame],
            custom_metrics: vec![CustomMetricEvent {
                id: metric.id,
                ts: metric.ts,
                name: metric.name,
                value: metric.value,
                meta: BTreeMap::from([("plan".into(), "pro".into()), ("a".into(), "b".into())]),
            }],
            assets: vec![asset],
            memory: vec![memory],
        };
        assert_eq!(decoded, expected);
    }

    #[test]
    fn empty_arrays_and_zero_lost_are_left_out() {
        let header = BatchHeader {
            site: "s".into(),
            page_view: "p".into(),
            page: "/".into(),
            context: PageContext::default(),
        };
        let json = batch_json(&header, 0, 0, &[]);
        assert_eq!(
            json,
            r#"{"site":"s","page_view":"p","seq":0,"page":"/","context":{"navigation_type":"navigate","device":"unknown","connection":"unknown","viewport_width":0,"viewport_height":0}}"#
        );
        assert!(serde_json::from_str::<Batch>(&json).is_ok());
    }

    #[test]
    fn measurements_the_collector_would_refuse_are_not_made() {
        assert!(Measurement::vital(&vital("pv-1", 1234.5)).is_some());
        assert!(Measurement::vital(&vital("pv 1", 1234.5)).is_none());
        assert!(Measurement::vital(&vital("pv-1", -1.0)).is_none());
        let mut call = api_call("pv-2", None);
        assert!(Measurement::api_call(&call, String::new(), 0.0).is_some());
        call.path = "text/plain,hi".into();
        assert!(Measurement::api_call(&call, String::new(), 0.0).is_none());
        let metric = |name: &str| RecordedMetric {
            id: "pv-3".into(),
            ts: 1.0,
            name: name.into(),
            value: -3.0,
            meta: Vec::new(),
        };
        assert!(Measurement::custom_metric(&metric("cart.size")).is_some());
        assert!(Measurement::custom_metric(&metric("cart size")).is_none());
    }
}
