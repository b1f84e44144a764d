//! One measurement waiting to be sent, and the single place that knows how a batch lays
//! measurements out on the wire.

use perfscope_model::{
    ApiCallEvent, AssetEvent, Batch, CustomMetricEvent, LongFrameEvent, MemoryEvent, PageContext,
    VitalEvent,
};

#[derive(Clone, Debug, PartialEq)]
pub enum Measurement {
    Vital(VitalEvent),
    /// With where to find its Resource Timing entry, which the browser adds only once the
    /// response body has arrived: it is looked up when the batch is formed.
    ApiCall(ApiCallEvent, Option<TimingLookup>),
    LongFrame(LongFrameEvent),
    CustomMetric(CustomMetricEvent),
    Asset(AssetEvent),
    Memory(MemoryEvent),
}

/// The absolute URL of a request and when it started (`performance.now()` ms).
#[derive(Clone, Debug, PartialEq)]
pub struct TimingLookup {
    pub url: String,
    pub started_ms: f64,
}

/// What every batch of one page view carries besides its measurements.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchHeader {
    pub site: String,
    pub page_view: String,
    pub page: String,
    pub context: PageContext,
}

pub fn assemble(
    header: &BatchHeader,
    seq: u32,
    lost: u32,
    measurements: Vec<Measurement>,
) -> Batch {
    let mut batch = Batch {
        site: header.site.clone(),
        page_view: header.page_view.clone(),
        seq,
        page: header.page.clone(),
        context: header.context.clone(),
        lost,
        ..Batch::default()
    };
    for measurement in measurements {
        match measurement {
            Measurement::Vital(vital) => batch.vitals.push(vital),
            Measurement::ApiCall(call, _) => batch.api_calls.push(call),
            Measurement::LongFrame(frame) => batch.long_frames.push(frame),
            Measurement::CustomMetric(metric) => batch.custom_metrics.push(metric),
            Measurement::Asset(asset) => batch.assets.push(asset),
            Measurement::Memory(reading) => batch.memory.push(reading),
        }
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfscope_model::{AssetKind, NavigationType, VitalName};
    use std::collections::BTreeMap;

    fn header() -> BatchHeader {
        BatchHeader {
            site: "demo".into(),
            page_view: "0a1b".into(),
            page: "/checkout".into(),
            context: PageContext {
                navigation_type: NavigationType::Soft,
                ..PageContext::default()
            },
        }
    }

    fn vital(id: &str) -> Measurement {
        Measurement::Vital(VitalEvent {
            id: id.into(),
            ts: 1.7e12,
            name: VitalName::Lcp,
            value: 1200.0,
            attribution: None,
        })
    }

    fn api_call(id: &str) -> Measurement {
        Measurement::ApiCall(
            ApiCallEvent {
                id: id.into(),
                ts: 1.7e12 + 5.0,
                method: "GET".into(),
                path: "/api/cart".into(),
                status: 200,
                duration: 35.5,
                outcome: Default::default(),
                response_size: None,
                timing: None,
            },
            None,
        )
    }

    #[test]
    fn a_batch_carries_the_header_and_every_measurement_once() {
        let metric = Measurement::CustomMetric(CustomMetricEvent {
            id: "a-3".into(),
            ts: 1.0,
            name: "n".into(),
            value: 1.0,
            meta: BTreeMap::new(),
        });
        let asset = Measurement::Asset(AssetEvent {
            id: "a-4".into(),
            ts: 1.0,
            kind: AssetKind::Script,
            url: "https://x/a.js".into(),
            transfer_size: 1,
            decoded_size: 2,
        });
        let batch = assemble(
            &header(),
            3,
            2,
            vec![vital("a-0"), api_call("a-1"), vital("a-2"), metric, asset],
        );
        assert_eq!(
            (
                batch.site.as_str(),
                batch.page_view.as_str(),
                batch.page.as_str()
            ),
            ("demo", "0a1b", "/checkout")
        );
        assert_eq!((batch.seq, batch.lost), (3, 2));
        assert_eq!(batch.context.navigation_type, NavigationType::Soft);
        let vital_ids: Vec<&str> = batch.vitals.iter().map(|v| v.id.as_str()).collect();
        assert_eq!(vital_ids, ["a-0", "a-2"]);
        assert_eq!(batch.api_calls.len(), 1);
        assert_eq!(batch.custom_metrics.len(), 1);
        assert_eq!(batch.assets.len(), 1);
        assert_eq!(batch.event_count(), 5);
    }
}
