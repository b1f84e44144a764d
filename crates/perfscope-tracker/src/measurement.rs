//! One measurement waiting to be sent, and the single place that knows how a batch lays
//! measurements out on the wire.

use perfscope_model::{ApiCallEvent, Batch, VitalEvent};

#[derive(Clone, Debug, PartialEq)]
pub enum Measurement {
    Vital(VitalEvent),
    ApiCall(ApiCallEvent),
}

/// What every batch of one page view carries besides its measurements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchHeader {
    pub site: String,
    pub page_view: String,
    pub page: String,
}

pub fn assemble(header: &BatchHeader, seq: u32, measurements: Vec<Measurement>) -> Batch {
    let mut batch = Batch {
        site: header.site.clone(),
        page_view: header.page_view.clone(),
        seq,
        page: header.page.clone(),
        ..Batch::default()
    };
    for measurement in measurements {
        match measurement {
            Measurement::Vital(vital) => batch.vitals.push(vital),
            Measurement::ApiCall(call) => batch.api_calls.push(call),
        }
    }
    batch
}

/// The measurements back out of a batch that has to be sent again.
pub fn disassemble(batch: Batch) -> Vec<Measurement> {
    let vitals = batch.vitals.into_iter().map(Measurement::Vital);
    vitals
        .chain(batch.api_calls.into_iter().map(Measurement::ApiCall))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfscope_model::VitalName;

    fn header() -> BatchHeader {
        BatchHeader {
            site: "demo".into(),
            page_view: "0a1b".into(),
            page: "/checkout".into(),
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
        Measurement::ApiCall(ApiCallEvent {
            id: id.into(),
            ts: 1.7e12 + 5.0,
            method: "GET".into(),
            path: "/api/cart".into(),
            status: 200,
            duration: 35.5,
            outcome: Default::default(),
            response_size: None,
            timing: None,
        })
    }

    #[test]
    fn a_batch_carries_the_header_and_every_measurement_once() {
        let batch = assemble(
            &header(),
            3,
            vec![vital("a-0"), api_call("a-1"), vital("a-2")],
        );
        assert_eq!(
            (
                batch.site.as_str(),
                batch.page_view.as_str(),
                batch.page.as_str()
            ),
            ("demo", "0a1b", "/checkout")
        );
        assert_eq!(batch.seq, 3);
        let vital_ids: Vec<&str> = batch.vitals.iter().map(|v| v.id.as_str()).collect();
        assert_eq!(vital_ids, ["a-0", "a-2"]);
        assert_eq!(batch.api_calls.len(), 1);
        assert_eq!(batch.api_calls[0].path, "/api/cart");
    }

    fn id(measurement: &Measurement) -> &str {
        match measurement {
            Measurement::Vital(vital) => &vital.id,
            Measurement::ApiCall(call) => &call.id,
        }
    }

    #[test]
    fn disassembling_returns_what_went_in() {
        let measurements = vec![vital("a-0"), api_call("a-1"), vital("a-2")];
        let mut back = disassemble(assemble(&header(), 0, measurements.clone()));
        let mut expected = measurements;
        back.sort_by(|a, b| id(a).cmp(id(b)));
        expected.sort_by(|a, b| id(a).cmp(id(b)));
        assert_eq!(back, expected);
    }
}
