//! Writes a `Batch` as JSON by hand: serde's machinery (and `serde-wasm-bindgen` or
//! `serde_json`) would cost the wasm more than the whole tracker's budget, while the wire
//! format is a handful of flat records.
//!
//! Field names must match `perfscope-model`'s serde names; the round-trip test decodes
//! the output with `serde_json` into `Batch`, so a renamed field fails it.

use perfscope_model::{
    ApiCallEvent, ApiOutcome, AssetEvent, AssetKind, Attribution, Batch, CustomMetricEvent,
    InteractionType, LongFrameEvent, MemoryEvent, PageContext, VitalEvent,
};

/// The batch as the collector's ingest body.
pub fn batch_to_json(batch: &Batch) -> String {
    let mut json = Json::default();
    json.open('{');
    json.string_field("site", &batch.site);
    json.string_field("page_view", &batch.page_view);
    json.uint_field("seq", u64::from(batch.seq));
    json.string_field("page", &batch.page);
    json.key("context");
    context(&mut json, &batch.context);
    if batch.lost > 0 {
        json.uint_field("lost", u64::from(batch.lost));
    }
    json.array("vitals", &batch.vitals, vital);
    json.array("api_calls", &batch.api_calls, api_call);
    json.array("long_frames", &batch.long_frames, long_frame);
    json.array("custom_metrics", &batch.custom_metrics, custom_metric);
    json.array("assets", &batch.assets, asset);
    json.array("memory", &batch.memory, memory);
    json.close('}');
    json.out
}

fn context(json: &mut Json, context: &PageContext) {
    json.open('{');
    json.string_field("navigation_type", context.navigation_type.as_str());
    json.string_field("device", context.device.as_str());
    json.string_field("connection", context.connection.as_str());
    json.uint_field("viewport_width", u64::from(context.viewport_width));
    json.uint_field("viewport_height", u64::from(context.viewport_height));
    json.close('}');
}

fn vital(json: &mut Json, event: &VitalEvent) {
    json.string_field("id", &event.id);
    json.number_field("ts", event.ts);
    json.string_field("name", event.name.as_str());
    json.number_field("value", event.value);
    if let Some(attribution) = &event.attribution {
        json.key("attribution");
        json.open('{');
        self::attribution(json, attribution);
        json.close('}');
    }
}

fn attribution(json: &mut Json, a: &Attribution) {
    json.optional_string_field("target", a.target.as_deref());
    json.optional_string_field("url", a.url.as_deref());
    json.optional_number_field("time_to_first_byte", a.time_to_first_byte);
    json.optional_number_field("resource_load_delay", a.resource_load_delay);
    json.optional_number_field("resource_load_duration", a.resource_load_duration);
    json.optional_number_field("element_render_delay", a.element_render_delay);
    if let Some(kind) = a.interaction_type {
        let kind = match kind {
            InteractionType::Pointer => "pointer",
            InteractionType::Keyboard => "keyboard",
        };
        json.string_field("interaction_type", kind);
    }
    json.optional_number_field("input_delay", a.input_delay);
    json.optional_number_field("processing_duration", a.processing_duration);
    json.optional_number_field("presentation_delay", a.presentation_delay);
    if !a.scripts.is_empty() {
        json.key("scripts");
        json.open('[');
        for script in &a.scripts {
            json.comma();
            json.string(script);
        }
        json.close(']');
    }
    json.optional_number_field("largest_shift_time", a.largest_shift_time);
    json.optional_number_field("largest_shift_value", a.largest_shift_value);
}

fn api_call(json: &mut Json, call: &ApiCallEvent) {
    json.string_field("id", &call.id);
    json.number_field("ts", call.ts);
    json.string_field("method", &call.method);
    json.string_field("path", &call.path);
    json.uint_field("status", u64::from(call.status));
    json.number_field("duration", call.duration);
    let outcome = match call.outcome {
        ApiOutcome::Ok => "ok",
        ApiOutcome::HttpError => "http-error",
        ApiOutcome::NetworkError => "network-error",
        ApiOutcome::Aborted => "aborted",
    };
    json.string_field("outcome", outcome);
    if let Some(size) = call.response_size {
        json.uint_field("response_size", size);
    }
    if let Some(timing) = &call.timing {
        json.key("timing");
        json.open('{');
        json.number_field("dns", timing.dns);
        json.number_field("connect", timing.connect);
        json.number_field("ttfb", timing.ttfb);
        json.number_field("download", timing.download);
        json.close('}');
    }
}

fn long_frame(json: &mut Json, frame: &LongFrameEvent) {
    json.string_field("id", &frame.id);
    json.number_field("ts", frame.ts);
    json.number_field("duration", frame.duration);
    json.number_field("blocking_duration", frame.blocking_duration);
    json.optional_string_field("script", frame.script.as_deref());
}

fn custom_metric(json: &mut Json, metric: &CustomMetricEvent) {
    json.string_field("id", &metric.id);
    json.number_field("ts", metric.ts);
    json.string_field("name", &metric.name);
    json.number_field("value", metric.value);
    if !metric.meta.is_empty() {
        json.key("meta");
        json.open('{');
        for (key, value) in &metric.meta {
            json.string_field(key, value);
        }
        json.close('}');
    }
}

fn asset(json: &mut Json, asset: &AssetEvent) {
    json.string_field("id", &asset.id);
    json.number_field("ts", asset.ts);
    let kind = match asset.kind {
        AssetKind::Script => "script",
        AssetKind::Style => "style",
    };
    json.string_field("kind", kind);
    json.string_field("url", &asset.url);
    json.uint_field("transfer_size", asset.transfer_size);
    json.uint_field("decoded_size", asset.decoded_size);
}

fn memory(json: &mut Json, reading: &MemoryEvent) {
    json.string_field("id", &reading.id);
    json.number_field("ts", reading.ts);
    json.uint_field("used_js_heap", reading.used_js_heap);
    json.uint_field("total_js_heap", reading.total_js_heap);
    json.uint_field("js_heap_limit", reading.js_heap_limit);
}

/// A JSON text under construction; tracks only whether the next member needs a comma.
#[derive(Default)]
struct Json {
    out: String,
    first: bool,
}

impl Json {
    fn open(&mut self, bracket: char) {
        self.out.push(bracket);
        self.first = true;
    }

    fn close(&mut self, bracket: char) {
        self.out.push(bracket);
        self.first = false;
    }

    fn comma(&mut self) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
    }

    fn key(&mut self, key: &str) {
        self.comma();
        self.string(key);
        self.out.push(':');
        // The value that follows is not a member of its own.
        self.first = true;
    }

    fn string_field(&mut self, key: &str, value: &str) {
        self.key(key);
        self.string(value);
        self.first = false;
    }

    fn optional_string_field(&mut self, key: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.string_field(key, value);
        }
    }

    fn uint_field(&mut self, key: &str, value: u64) {
        self.key(key);
        push_uint(&mut self.out, value);
        self.first = false;
    }

    fn number_field(&mut self, key: &str, value: f64) {
        self.key(key);
        push_number(&mut self.out, value);
        self.first = false;
    }

    fn optional_number_field(&mut self, key: &str, value: Option<f64>) {
        if let Some(value) = value {
            self.number_field(key, value);
        }
    }

    fn array<T>(&mut self, key: &str, items: &[T], write: fn(&mut Json, &T)) {
        if items.is_empty() {
            return;
        }
        self.key(key);
        self.open('[');
        for item in items {
            self.comma();
            self.open('{');
            write(self, item);
            self.close('}');
        }
        self.close(']');
    }

    fn string(&mut self, value: &str) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        self.out.push('"');
        for c in value.chars() {
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                c if u32::from(c) < 0x20 => {
                    let code = u32::from(c) as usize;
                    self.out.push_str("\\u00");
                    self.out.push(char::from(HEX[code >> 4]));
                    self.out.push(char::from(HEX[code & 0xf]));
                }
                c => self.out.push(c),
            }
        }
        self.out.push('"');
    }
}

/// Decimal digits without `core::fmt`, which would drag its formatting tables into the wasm.
pub fn push_uint(out: &mut String, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    for &digit in &digits[start..] {
        out.push(char::from(digit));
    }
}

/// Shortest round-tripping decimal. In the browser that is JavaScript's own
/// `Number#toString` (no float formatting code in the wasm); natively, Rust's `Display`,
/// which produces the same digits. Non-finite values never pass the acceptance rules;
/// `0` keeps the text valid JSON should one slip through.
fn push_number(out: &mut String, value: f64) {
    if !value.is_finite() {
        out.push('0');
        return;
    }
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        if value < 0.0 {
            out.push('-');
        }
        push_uint(out, value.abs() as u64);
        return;
    }
    #[cfg(target_arch = "wasm32")]
    {
        let text: String = js_sys::Number::from(value)
            .to_string_with_radix(10)
            .map(String::from)
            .unwrap_or_else(|_| "0".into());
        out.push_str(&text);
    }
    #[cfg(not(target_arch = "wasm32"))]
    out.push_str(&value.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfscope_model::{ConnectionType, DeviceClass, NavigationType, NetworkTiming, VitalName};
    use std::collections::BTreeMap;

    fn full_batch() -> Batch {
        Batch {
            site: "demo".into(),
            page_view: "ab12".into(),
            seq: 7,
            page: "/users/:id".into(),
            context: PageContext {
                navigation_type: NavigationType::BackForwardCache,
                device: DeviceClass::Mobile,
                connection: ConnectionType::Cellular3g,
                viewport_width: 390,
                viewport_height: 844,
            },
            lost: 3,
            vitals: vec![VitalEvent {
                id: "ab12-0".into(),
                ts: 1_700_000_000_123.5,
                name: VitalName::Inp,
                value: 0.1 + 0.2,
                attribution: Some(Attribution {
                    target: Some("div#a > \"b\"\\c\n".into()),
                    interaction_type: Some(InteractionType::Keyboard),
                    input_delay: Some(1.25),
                    scripts: vec!["https://x/a.js".into(), "é/ü".into()],
                    largest_shift_value: Some(1e-7),
                    ..Attribution::default()
                }),
            }],
            api_calls: vec![ApiCallEvent {
                id: "ab12-1".into(),
                ts: 1.7e12,
                method: "POST".into(),
                path: "/api/items/:id".into(),
                status: 503,
                duration: 12.000001,
                outcome: ApiOutcome::HttpError,
                response_size: Some(1 << 33),
                timing: Some(NetworkTiming {
                    dns: 0.0,
                    connect: 1.5,
                    ttfb: 30.25,
                    download: 2.0,
                }),
            }],
            long_frames: vec![LongFrameEvent {
                id: "ab12-2".into(),
                ts: 5.0,
                duration: 120.0,
                blocking_duration: 70.0,
                script: Some("https://x/app.js".into()),
            }],
            custom_metrics: vec![CustomMetricEvent {
                id: "ab12-3".into(),
                ts: 6.0,
                name: "checkout.step".into(),
                value: -42.5,
                meta: BTreeMap::from([("plan".into(), "pro".into()), ("a".into(), "b".into())]),
            }],
            assets: vec![AssetEvent {
                id: "ab12-4".into(),
                ts: 7.0,
                kind: AssetKind::Style,
                url: "https://x/app.css".into(),
                transfer_size: 0,
                decoded_size: 12_345,
            }],
            memory: vec![MemoryEvent {
                id: "ab12-5".into(),
                ts: 8.0,
                used_js_heap: 1,
                total_js_heap: 2,
                js_heap_limit: u64::from(u32::MAX) * 4,
            }],
        }
    }

    #[test]
    fn every_field_round_trips_through_the_models_decoder() {
        let batch = full_batch();
        let json = batch_to_json(&batch);
        let decoded: Batch = serde_json::from_str(&json).expect(&json);
        assert_eq!(decoded, batch);
    }

    #[test]
    fn empty_arrays_and_zero_lost_are_left_out() {
        let batch = Batch {
            site: "s".into(),
            page_view: "p".into(),
            page: "/".into(),
            ..Batch::default()
        };
        let json = batch_to_json(&batch);
        assert_eq!(
            json,
            r#"{"site":"s","page_view":"p","seq":0,"page":"/","context":{"navigation_type":"navigate","device":"unknown","connection":"unknown","viewport_width":0,"viewport_height":0}}"#
        );
        assert_eq!(serde_json::from_str::<Batch>(&json).unwrap(), batch);
    }

    #[test]
    fn integers_are_written_without_a_fraction() {
        let mut out = String::new();
        push_uint(&mut out, 0);
        out.push(' ');
        push_uint(&mut out, u64::MAX);
        out.push(' ');
        push_number(&mut out, -3.0);
        out.push(' ');
        push_number(&mut out, f64::NAN);
        assert_eq!(out, "0 18446744073709551615 -3 0");
    }
}
