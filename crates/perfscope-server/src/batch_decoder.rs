//! From request bytes to a batch the collector may store: inflate, decode JSON with the
//! path of a bad field, cap events per batch and bytes per event, then the model's
//! `Batch::validate`. The fuzz target drives exactly this.

use crate::error::AppError;
use crate::request_body;
use axum::body::Bytes;
use axum::http::HeaderValue;
use event_size::{ByteCounter, CompactJsonBound};
use perfscope_model::{Batch, FieldError, Limits};
use serde::Serialize;

mod event_size;

pub struct BatchDecoder {
    /// The model's limits, with `max_events` set to the configured cap so that the 413
    /// here and `validate` agree.
    limits: Limits,
    max_event_bytes: usize,
    max_decompressed_bytes: usize,
}

impl BatchDecoder {
    pub fn new(
        limits: &Limits,
        max_events: usize,
        max_event_bytes: usize,
        max_decompressed_bytes: usize,
    ) -> BatchDecoder {
        BatchDecoder {
            limits: Limits {
                max_events,
                ..limits.clone()
            },
            max_event_bytes,
            max_decompressed_bytes,
        }
    }

    /// Inflates (when `Content-Encoding` says so) and decodes; no limits beyond the
    /// inflated size yet.
    pub fn decode(
        &self,
        content_encoding: Option<&HeaderValue>,
        body: Bytes,
    ) -> Result<Batch, AppError> {
        let body = request_body::decode(content_encoding, body, self.max_decompressed_bytes)?;
        decode_json(&body)
    }

    /// The size caps (413) and then every rule of `Batch::validate` (422).
    pub fn check(&self, batch: &Batch, now_ms: f64) -> Result<(), AppError> {
        self.check_event_count(batch)?;
        self.check_event_sizes(batch)?;
        batch
            .validate(&self.limits, now_ms)
            .map_err(AppError::InvalidField)
    }

    fn check_event_count(&self, batch: &Batch) -> Result<(), AppError> {
        let limit = self.limits.max_events;
        let mut total = 0;
        for (field, len) in [
            ("vitals", batch.vitals.len()),
            ("api_calls", batch.api_calls.len()),
            ("long_frames", batch.long_frames.len()),
            ("custom_metrics", batch.custom_metrics.len()),
            ("assets", batch.assets.len()),
            ("memory", batch.memory.len()),
        ] {
            total += len;
            if total > limit {
                return Err(AppError::TooManyEvents {
                    field: field.to_string(),
                    limit,
                });
            }
        }
        Ok(())
    }

    fn check_event_sizes(&self, batch: &Batch) -> Result<(), AppError> {
        let limit = self.max_event_bytes;
        within(limit, "vitals", &batch.vitals)?;
        within(limit, "api_calls", &batch.api_calls)?;
        within(limit, "long_frames", &batch.long_frames)?;
        within(limit, "custom_metrics", &batch.custom_metrics)?;
        within(limit, "assets", &batch.assets)?;
        within(limit, "memory", &batch.memory)
    }
}

/// The cap is on the event as compact JSON, what would be stored, not on its span in
/// the body (whitespace and escapes there are the client's business). Serialising
/// every event to measure it cost a sixth of the collector's CPU, so only an event
/// whose cheap bound is over the cap is measured exactly.
fn within<E: Serialize + CompactJsonBound>(
    limit: usize,
    kind: &str,
    events: &[E],
) -> Result<(), AppError> {
    for (i, event) in events.iter().enumerate() {
        if event.compact_json_bound() <= limit {
            continue;
        }
        let mut counter = ByteCounter { count: 0, limit };
        if serde_json::to_writer(&mut counter, event).is_err() {
            return Err(AppError::EventTooLarge {
                field: format!("{kind}[{i}]"),
                limit,
            });
        }
    }
    Ok(())
}

/// Decodes with the path of the failing field, so the error can name it.
pub fn decode_json(body: &[u8]) -> Result<Batch, AppError> {
    // serde's derived structs also accept a JSON array of the fields in order; a batch
    // is only ever an object, and saying so beats an error about `[0]`.
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|&b| b != b'{') {
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
                Ok(_) => AppError::InvalidField(FieldError::new("batch", "must be a JSON object")),
                Err(err) => AppError::MalformedJson(err.to_string()),
            },
        );
    }
    // Tracking the path slows every decode down; only a failed one needs it, so a
    // failure is decoded a second time to find out where.
    if let Ok(batch) = serde_json::from_slice::<Batch>(body) {
        return Ok(batch);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let batch: Batch = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let field = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = inner.to_string();
                // serde reports a repeated key at the object that holds it; the key
                // itself is the field the client got wrong.
                let repeated = message
                    .strip_prefix("duplicate field `")
                    .and_then(|rest| rest.split_once('`'))
                    .map(|(key, _)| key);
                let field = match (field.as_str(), repeated) {
                    (".", Some(key)) => key.to_string(),
                    (".", None) => "batch".to_string(),
                    (_, Some(key)) => format!("{field}.{key}"),
                    (_, None) => field,
                };
                AppError::InvalidField(FieldError::new(field, message))
            }
            _ => AppError::MalformedJson(inner.to_string()),
        }
    })?;
    deserializer
        .end()
        .map_err(|err| AppError::MalformedJson(err.to_string()))?;
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfscope_model::{CustomMetricEvent, VitalEvent, VitalName};

    const NOW: f64 = 1_700_000_000_000.0;

    fn decoder(max_events: usize, max_event_bytes: usize) -> BatchDecoder {
        BatchDecoder::new(&Limits::default(), max_events, max_event_bytes, 1 << 20)
    }

    fn vital(i: usize) -> VitalEvent {
        VitalEvent {
            id: format!("v{i}"),
            ts: NOW,
            name: VitalName::Lcp,
            value: 100.0,
            attribution: None,
        }
    }

    fn batch(vitals: usize, metrics: usize) -> Batch {
        Batch {
            site: "demo".into(),
            page_view: "pv".into(),
            page: "/".into(),
            vitals: (0..vitals).map(vital).collect(),
            custom_metrics: (0..metrics)
                .map(|i| CustomMetricEvent {
                    id: format!("m{i}"),
                    ts: NOW,
                    name: "cart".into(),
                    value: 1.0,
                    meta: Default::default(),
                })
                .collect(),
            ..Batch::default()
        }
    }

    #[test]
    fn the_event_cap_names_the_array_that_went_over() {
        let decoder = decoder(10, 4096);
        decoder.check(&batch(6, 4), NOW).unwrap();
        let err = decoder.check(&batch(6, 5), NOW).unwrap_err();
        assert!(
            matches!(&err, AppError::TooManyEvents { field, limit: 10 } if field == "custom_metrics"),
            "{err:?}"
        );
    }

    #[test]
    fn an_event_over_the_byte_cap_is_named() {
        let decoder = decoder(10, 200);
        let mut batch = batch(3, 0);
        decoder.check(&batch, NOW).unwrap();
        batch.vitals[2].attribution = Some(perfscope_model::Attribution {
            target: Some("div#".to_string() + &"x".repeat(200)),
            ..Default::default()
        });
        let err = decoder.check(&batch, NOW).unwrap_err();
        assert!(
            matches!(&err, AppError::EventTooLarge { field, limit: 200 } if field == "vitals[2]"),
            "{err:?}"
        );
    }

    /// The cheap bound is only a shortcut: at the cap the answer is the one exact
    /// measurement gives, byte for byte.
    #[test]
    fn the_byte_cap_is_exact_where_the_bound_is_loose() {
        let batch = batch(1, 0);
        let exact = serde_json::to_string(&batch.vitals[0]).unwrap().len();
        assert!(batch.vitals[0].compact_json_bound() > exact);
        decoder(10, exact).check(&batch, NOW).unwrap();
        let err = decoder(10, exact - 1).check(&batch, NOW).unwrap_err();
        assert!(
            matches!(&err, AppError::EventTooLarge { field, .. } if field == "vitals[0]"),
            "{err:?}"
        );
    }

    #[test]
    fn validation_runs_after_the_caps() {
        let decoder = decoder(10, 4096);
        let mut batch = batch(1, 0);
        batch.vitals[0].value = -1.0;
        let err = decoder.check(&batch, NOW).unwrap_err();
        assert!(
            matches!(&err, AppError::InvalidField(e) if e.field == "vitals[0].value"),
            "{err:?}"
        );
    }
}
