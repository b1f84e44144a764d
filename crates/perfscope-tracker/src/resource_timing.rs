//! Joins an API call with the browser's Resource Timing entry for the same request:
//! network phases, and the body size when the response did not say.

use crate::browser::number_property;
use crate::measurement::TimingLookup;
use perfscope_model::NetworkTiming;
use web_sys::Performance;

/// A request's entry starts when the request did, give or take clock rounding.
const START_TOLERANCE_MS: f64 = 2.0;

/// The phases of a timing entry; zeros where a cross-origin response without
/// `Timing-Allow-Origin` hides them (the browser reports 0 for those fields).
pub fn phases(
    domain_lookup: (f64, f64),
    connect: (f64, f64),
    request_start: f64,
    response: (f64, f64),
) -> NetworkTiming {
    let span = |(start, end): (f64, f64)| {
        if start > 0.0 && end >= start {
            end - start
        } else {
            0.0
        }
    };
    NetworkTiming {
        dns: span(domain_lookup),
        connect: span(connect),
        ttfb: span((request_start, response.0)),
        download: span(response),
    }
}

/// The phases of the request's Resource Timing entry and, if the response did not
/// announce its size, the entry's body size. `None` while the browser has no entry.
pub(crate) fn network_timing(
    performance: &Performance,
    lookup: &TimingLookup,
) -> Option<(NetworkTiming, Option<u64>)> {
    let entries = performance.get_entries_by_name_with_entry_type(&lookup.url, "resource");
    let entry = entries.iter().find(|entry| {
        number_property(entry, "startTime")
            .is_some_and(|start| start >= lookup.started_ms - START_TOLERANCE_MS)
    })?;
    let read = |key: &str| number_property(&entry, key).unwrap_or(0.0);
    let timing = phases(
        (read("domainLookupStart"), read("domainLookupEnd")),
        (read("connectStart"), read("connectEnd")),
        read("requestStart"),
        (read("responseStart"), read("responseEnd")),
    );
    let size = read("encodedBodySize");
    let body_size = (lookup.wants_size && size > 0.0).then_some(size as u64);
    Some((timing, body_size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_are_spans_and_hidden_ones_are_zero() {
        let timing = phases((10.0, 12.5), (12.5, 20.0), 21.0, (51.0, 60.0));
        assert_eq!(
            timing,
            NetworkTiming {
                dns: 2.5,
                connect: 7.5,
                ttfb: 30.0,
                download: 9.0
            }
        );
        let hidden = phases((0.0, 0.0), (0.0, 0.0), 0.0, (0.0, 80.0));
        assert_eq!(hidden.ttfb, 0.0);
        assert_eq!(hidden.dns, 0.0);
    }
}
