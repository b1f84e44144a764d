//! Writes the wire format's JSON by hand: serde's machinery (and `serde-wasm-bindgen` or
//! `serde_json`) would cost the wasm more than the whole tracker's budget, while the wire
//! format is a handful of flat records.
//!
//! Field names must match `perfscope-model`'s serde names; the round-trip test decodes
//! the output with `serde_json` into `Batch`, so a renamed field fails it.

use crate::custom_metrics::RecordedMetric;
use crate::measurement::BatchHeader;
use perfscope_model::{
    ApiCallEvent, ApiOutcome, AssetEvent, AssetKind, Attribution, InteractionType, LongFrameEvent,
    MemoryEvent, NetworkTiming, PageContext, VitalEvent,
};

/// `{` and the members `write` adds, without the closing brace: events are closed when
/// their batch is written, after an API call's network timing was added.
pub fn open_object(write: impl FnOnce(&mut Json)) -> String {
    let mut json = Json::default();
    json.open('{');
    write(&mut json);
    json.out
}

/// The members every batch starts with.
pub fn batch_header(json: &mut Json, header: &BatchHeader, seq: u32, lost: u32) {
    json.string_field("site", &header.site);
    json.string_field("page_view", &header.page_view);
    json.uint_field("seq", u64::from(seq));
    json.string_field("page", &header.page);
    json.key("context");
    context(json, &header.context);
    if lost > 0 {
        json.uint_field("lost", u64::from(lost));
    }
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

pub fn vital(json: &mut Json, event: &VitalEvent) {
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

pub fn api_call(json: &mut Json, call: &ApiCallEvent) {
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
        network_timing(json, timing, None);
    }
}

/// An API call's network phases and, when given, its body size.
pub fn network_timing(json: &mut Json, timing: &NetworkTiming, body_size: Option<u64>) {
    if let Some(size) = body_size {
        json.uint_field("response_size", size);
    }
    json.key("timing");
    json.open('{');
    json.number_field("dns", timing.dns);
    json.number_field("connect", timing.connect);
    json.number_field("ttfb", timing.ttfb);
    json.number_field("download", timing.download);
    json.close('}');
}

pub fn long_frame(json: &mut Json, frame: &LongFrameEvent) {
    json.string_field("id", &frame.id);
    json.number_field("ts", frame.ts);
    json.number_field("duration", frame.duration);
    json.number_field("blocking_duration", frame.blocking_duration);
    json.optional_string_field("script", frame.script.as_deref());
}

pub fn custom_metric(json: &mut Json, metric: &RecordedMetric) {
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

pub fn asset(json: &mut Json, asset: &AssetEvent) {
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

pub fn memory(json: &mut Json, reading: &MemoryEvent) {
    json.string_field("id", &reading.id);
    json.number_field("ts", reading.ts);
    json.uint_field("used_js_heap", reading.used_js_heap);
    json.uint_field("total_js_heap", reading.total_js_heap);
    json.uint_field("js_heap_limit", reading.js_heap_limit);
}

/// A JSON text under construction; tracks only whether the next member needs a comma.
#[derive(Default)]
pub struct Json {
    out: String,
    first: bool,
}

impl Json {
    /// More members for an object `open_object` wrote.
    pub fn continuing(open_object: String) -> Json {
        Json {
            out: open_object,
            first: false,
        }
    }

    pub fn finish(self) -> String {
        self.out
    }

    /// Text that is already JSON.
    pub fn raw(&mut self, json: &str) {
        self.out.push_str(json);
        self.first = false;
    }

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

    pub fn key(&mut self, key: &str) {
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

    #[test]
    fn strings_are_escaped() {
        let json = open_object(|json| json.string_field("k", "a\"b\\c\n\u{1}é"));
        assert_eq!(json, r#"{"k":"a\"b\\c\u000a\u0001é""#);
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
