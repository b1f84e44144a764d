//! A cheap upper bound on an event's size as compact JSON, so the per-event byte cap
//! needs a real serialisation only for the rare event whose bound is over it.
//!
//! Each impl destructures its event without `..`, so a field added to the model fails
//! to compile here until its bound is counted; the property tests below check every
//! bound against `serde_json`'s own output.

use perfscope_model::{
    ApiCallEvent, AssetEvent, Attribution, CustomMetricEvent, LongFrameEvent, MemoryEvent,
    NetworkTiming, VitalEvent,
};
use serde::Serialize;
use std::io;

/// Never less than the bytes `serde_json::to_writer` writes for the value.
pub trait CompactJsonBound {
    fn compact_json_bound(&self) -> usize;
}

/// The longest text `ryu` writes for a finite f64 (`-1.2345678901234567e-308`); a
/// non-finite one becomes `null`.
const F64_BOUND: usize = 24;
/// `18446744073709551615`
const U64_BOUND: usize = 20;
/// `65535`
const U16_BOUND: usize = 5;

/// Braces plus, for every key, its quotes, colon and a comma: counted for every field
/// whether or not it is skipped when empty, which only loosens the bound.
const fn object_overhead(keys: &[&str]) -> usize {
    let mut total = 2;
    let mut i = 0;
    while i < keys.len() {
        total += keys[i].len() + 4;
        i += 1;
    }
    total
}

/// Quotes plus the text, where a byte JSON must escape takes at most six (`\u001f`).
fn str_bound(text: &str) -> usize {
    let escaped = text
        .bytes()
        .filter(|&b| b < 0x20 || b == b'"' || b == b'\\')
        .count();
    2 + text.len() + 5 * escaped
}

fn option_bound<T>(value: &Option<T>, bound: impl FnOnce(&T) -> usize) -> usize {
    value.as_ref().map_or(4, bound)
}

fn option_f64_bound(value: &Option<f64>) -> usize {
    option_bound(value, |_| F64_BOUND)
}

/// The exact size of a short value with no length of its own to add up, such as a
/// unit enum variant written as its name.
fn serialized_len(value: &impl Serialize) -> usize {
    let mut counter = ByteCounter {
        count: 0,
        limit: usize::MAX,
    };
    // Writing to a counter that accepts everything cannot fail for these types; if it
    // ever did, the count so far is no bound, so answer one that no cap admits.
    match serde_json::to_writer(&mut counter, value) {
        Ok(()) => counter.count,
        Err(_) => usize::MAX,
    }
}

/// Counts what would be written, failing as soon as the count passes the limit so an
/// oversized event costs no more than the limit to measure.
pub struct ByteCounter {
    pub count: usize,
    pub limit: usize,
}

impl io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.count = self.count.saturating_add(buf.len());
        if self.count > self.limit {
            return Err(io::Error::other("event over the size limit"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl CompactJsonBound for VitalEvent {
    fn compact_json_bound(&self) -> usize {
        const KEYS: usize = object_overhead(&["id", "ts", "name", "value", "attribution"]);
        let VitalEvent {
            id,
            ts: _,
            name,
            value: _,
            attribution,
        } = self;
        KEYS + str_bound(id)
            + 2 * F64_BOUND
            + serialized_len(name)
            + option_bound(attribution, Attribution::compact_json_bound)
    }
}

impl CompactJsonBound for Attribution {
    fn compact_json_bound(&self) -> usize {
        const KEYS: usize = object_overhead(&[
            "target",
            "url",
            "time_to_first_byte",
            "resource_load_delay",
            "resource_load_duration",
            "element_render_delay",
            "interaction_type",
            "input_delay",
            "processing_duration",
            "presentation_delay",
            "scripts",
            "largest_shift_time",
            "largest_shift_value",
        ]);
        let Attribution {
            target,
            url,
            time_to_first_byte,
            resource_load_delay,
            resource_load_duration,
            element_render_delay,
            interaction_type,
            input_delay,
            processing_duration,
            presentation_delay,
            scripts,
            largest_shift_time,
            largest_shift_value,
        } = self;
        let numbers = [
            time_to_first_byte,
            resource_load_delay,
            resource_load_duration,
            element_render_delay,
            input_delay,
            processing_duration,
            presentation_delay,
            largest_shift_time,
            largest_shift_value,
        ];
        // Brackets, and a comma after each script.
        let scripts_bound = 2 + scripts.iter().map(|s| str_bound(s) + 1).sum::<usize>();
        KEYS + option_bound(target, |s| str_bound(s))
            + option_bound(url, |s| str_bound(s))
            + numbers.into_iter().map(option_f64_bound).sum::<usize>()
            + option_bound(interaction_type, serialized_len)
            + scripts_bound
    }
}

impl CompactJsonBound for ApiCallEvent {
    fn compact_json_bound(&self) -> usize {
        const KEYS: usize = object_overhead(&[
            "id",
            "ts",
            "method",
            "path",
            "status",
            "duration",
            "outcome",
            "response_size",
            "timing",
        ]);
        let ApiCallEvent {
            id,
            ts: _,
            method,
            path,
            status: _,
            duration: _,
            outcome,
            response_size,
            timing,
        } = self;
        KEYS + str_bound(id)
            + str_bound(method)
            + str_bound(path)
            + 2 * F64_BOUND
            + U16_BOUND
            + serialized_len(outcome)
            + option_bound(response_size, |_| U64_BOUND)
            + option_bound(timing, NetworkTiming::compact_json_bound)
    }
}

impl CompactJsonBound for NetworkTiming {
    fn compact_json_bound(&self) -> usize {
        const KEYS: usize = object_overhead(&["dns", "connect", "ttfb", "download"]);
        let NetworkTiming {
            dns: _,
            connect: _,
            ttfb: _,
            download: _,
        } = self;
        KEYS + 4 * F64_BOUND
    }
}

impl CompactJsonBound for LongFrameEvent {
    fn compact_json_bound(&self) -> usize {
        const KEYS: usize =
            object_overhead(&["id", "ts", "duration", "blocking_duration", "script"]);
        let LongFrameEvent {
            id,
            ts: _,
            duration: _,
            blocking_duration: _,
            script,
        } = self;
        KEYS + str_bound(id) + 3 * F64_BOUND + option_bound(script, |s| str_bound(s))
    }
}

impl CompactJsonBound for CustomMetricEvent {
    fn compact_json_bound(&self) -> usize {
        const KEYS: usize = object_overhead(&["id", "ts", "name", "value", "meta"]);
        let CustomMetricEvent {
            id,
            ts: _,
            name,
            value: _,
            meta,
        } = self;
        // Braces, and a colon and a comma for each entry.
        let meta_bound = 2 + meta
            .iter()
            .map(|(key, value)| str_bound(key) + str_bound(value) + 2)
            .sum::<usize>();
        KEYS + str_bound(id) + str_bound(name) + 2 * F64_BOUND + meta_bound
    }
}

impl CompactJsonBound for AssetEvent {
    fn compact_json_bound(&self) -> usize {
        const KEYS: usize =
            object_overhead(&["id", "ts", "kind", "url", "transfer_size", "decoded_size"]);
        let AssetEvent {
            id,
            ts: _,
            kind,
            url,
            transfer_size: _,
            decoded_size: _,
        } = self;
        KEYS + str_bound(id) + F64_BOUND + serialized_len(kind) + str_bound(url) + 2 * U64_BOUND
    }
}

impl CompactJsonBound for MemoryEvent {
    fn compact_json_bound(&self) -> usize {
        const KEYS: usize =
            object_overhead(&["id", "ts", "used_js_heap", "total_js_heap", "js_heap_limit"]);
        let MemoryEvent {
            id,
            ts: _,
            used_js_heap: _,
            total_js_heap: _,
            js_heap_limit: _,
        } = self;
        KEYS + str_bound(id) + F64_BOUND + 3 * U64_BOUND
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfscope_model::{ApiOutcome, AssetKind, InteractionType, VitalName};
    use proptest::prelude::*;
    use proptest::sample::select;

    /// Any text, weighted towards what JSON must escape.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![any::<String>(), "[\"\\\\\\x00-\\x1f a-zé🦀]{0,40}"]
    }

    /// Every f64 there is, NaN and infinities included (they are written as `null`).
    fn number() -> impl Strategy<Value = f64> {
        prop::num::f64::ANY
    }

    fn attribution() -> impl Strategy<Value = Attribution> {
        (
            (
                prop::option::of(text()),
                prop::option::of(text()),
                prop::option::of(select(vec![
                    InteractionType::Pointer,
                    InteractionType::Keyboard,
                ])),
                prop::collection::vec(text(), 0..4),
            ),
            prop::collection::vec(prop::option::of(number()), 9),
        )
            .prop_map(
                |((target, url, interaction_type, scripts), n)| Attribution {
                    target,
                    url,
                    time_to_first_byte: n[0],
                    resource_load_delay: n[1],
                    resource_load_duration: n[2],
                    element_render_delay: n[3],
                    interaction_type,
                    input_delay: n[4],
                    processing_duration: n[5],
                    presentation_delay: n[6],
                    scripts,
                    largest_shift_time: n[7],
                    largest_shift_value: n[8],
                },
            )
    }

    fn vital() -> impl Strategy<Value = VitalEvent> {
        (
            text(),
            number(),
            select(vec![
                VitalName::Lcp,
                VitalName::Fcp,
                VitalName::Ttfb,
                VitalName::Cls,
                VitalName::Inp,
                VitalName::Fid,
            ]),
            number(),
            prop::option::of(attribution()),
        )
            .prop_map(|(id, ts, name, value, attribution)| VitalEvent {
                id,
                ts,
                name,
                value,
                attribution,
            })
    }

    fn api_call() -> impl Strategy<Value = ApiCallEvent> {
        (
            (text(), number(), text(), text(), any::<u16>(), number()),
            select(vec![
                ApiOutcome::Ok,
                ApiOutcome::HttpError,
                ApiOutcome::NetworkError,
                ApiOutcome::Aborted,
            ]),
            prop::option::of(any::<u64>()),
            prop::option::of((number(), number(), number(), number())),
        )
            .prop_map(
                |((id, ts, method, path, status, duration), outcome, response_size, timing)| {
                    ApiCallEvent {
                        id,
                        ts,
                        method,
                        path,
                        status,
                        duration,
                        outcome,
                        response_size,
                        timing: timing.map(|(dns, connect, ttfb, download)| NetworkTiming {
                            dns,
                            connect,
                            ttfb,
                            download,
                        }),
                    }
                },
            )
    }

    fn long_frame() -> impl Strategy<Value = LongFrameEvent> {
        (
            text(),
            number(),
            number(),
            number(),
            prop::option::of(text()),
        )
            .prop_map(
                |(id, ts, duration, blocking_duration, script)| LongFrameEvent {
                    id,
                    ts,
                    duration,
                    blocking_duration,
                    script,
                },
            )
    }

    fn custom_metric() -> impl Strategy<Value = CustomMetricEvent> {
        (
            text(),
            number(),
            text(),
            number(),
            prop::collection::btree_map(text(), text(), 0..5),
        )
            .prop_map(|(id, ts, name, value, meta)| CustomMetricEvent {
                id,
                ts,
                name,
                value,
                meta,
            })
    }

    fn asset() -> impl Strategy<Value = AssetEvent> {
        (
            text(),
            number(),
            select(vec![AssetKind::Script, AssetKind::Style]),
            text(),
            any::<u64>(),
            any::<u64>(),
        )
            .prop_map(
                |(id, ts, kind, url, transfer_size, decoded_size)| AssetEvent {
                    id,
                    ts,
                    kind,
                    url,
                    transfer_size,
                    decoded_size,
                },
            )
    }

    fn memory() -> impl Strategy<Value = MemoryEvent> {
        (text(), number(), any::<u64>(), any::<u64>(), any::<u64>()).prop_map(
            |(id, ts, used_js_heap, total_js_heap, js_heap_limit)| MemoryEvent {
                id,
                ts,
                used_js_heap,
                total_js_heap,
                js_heap_limit,
            },
        )
    }

    fn assert_bounds<E: Serialize + CompactJsonBound>(event: &E) -> Result<(), TestCaseError> {
        let json = serde_json::to_string(event).unwrap();
        prop_assert!(
            event.compact_json_bound() >= json.len(),
            "bound {} < {} bytes of {json}",
            event.compact_json_bound(),
            json.len()
        );
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn no_vital_is_longer_than_its_bound(event in vital()) {
            assert_bounds(&event)?;
        }

        #[test]
        fn no_api_call_is_longer_than_its_bound(event in api_call()) {
            assert_bounds(&event)?;
        }

        #[test]
        fn no_long_frame_is_longer_than_its_bound(event in long_frame()) {
            assert_bounds(&event)?;
        }

        #[test]
        fn no_custom_metric_is_longer_than_its_bound(event in custom_metric()) {
            assert_bounds(&event)?;
        }

        #[test]
        fn no_asset_is_longer_than_its_bound(event in asset()) {
            assert_bounds(&event)?;
        }

        #[test]
        fn no_memory_reading_is_longer_than_its_bound(event in memory()) {
            assert_bounds(&event)?;
        }
    }

    #[test]
    fn the_widest_numbers_fit_their_bounds() {
        for x in [
            -1.234_567_890_123_456_7e-308,
            -f64::MAX,
            -f64::MIN_POSITIVE,
            -5e-324,
        ] {
            assert!(serialized_len(&x) <= F64_BOUND, "{x}");
        }
        assert_eq!(serialized_len(&u64::MAX), U64_BOUND);
        assert_eq!(serialized_len(&u16::MAX), U16_BOUND);
    }

    /// The point of the bound: a full LCP attribution, as the tracker sends it, stays
    /// far enough under the default 8 KiB cap that it is never serialised to measure.
    #[test]
    fn a_realistic_event_is_judged_by_its_bound_alone() {
        let event = VitalEvent {
            id: "3f1c9a7e-2b4d-4c8e-9f01-6a5b7c8d9e0f-lcp-1".into(),
            ts: 1_700_000_000_123.456,
            name: VitalName::Lcp,
            value: 2_345.678,
            attribution: Some(Attribution {
                target: Some("main > section.hero > img#hero-image".into()),
                url: Some("https://cdn.example.com/assets/images/hero-1920w.avif".into()),
                time_to_first_byte: Some(312.5),
                resource_load_delay: Some(120.25),
                resource_load_duration: Some(860.0),
                element_render_delay: Some(52.9),
                ..Attribution::default()
            }),
        };
        let exact = serde_json::to_string(&event).unwrap().len();
        let bound = event.compact_json_bound();
        assert!(bound >= exact);
        assert!(bound < 1024, "bound {bound} for {exact} bytes");
    }
}
