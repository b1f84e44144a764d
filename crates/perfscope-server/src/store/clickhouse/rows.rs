//! Accepted batches as rows of the insert tables, in ClickHouse's JSONEachRow format.

use super::cardinality::{Admission, CardinalityGuard, KeyKind};
use super::http::Client;
use super::log_buckets::bucket_of;
use crate::store::AcceptedBatch;
use crate::store::{outcome_name, OVERFLOW};
use perfscope_model::Rating;
use serde::Serialize;
use std::collections::BTreeMap;

/// JSONEachRow lines per table, each line ending in `\n`.
#[derive(Default, Debug)]
pub struct TableRows {
    pub tables: BTreeMap<&'static str, Vec<u8>>,
    pub rows: usize,
}

impl TableRows {
    fn push<T: Serialize>(&mut self, table: &'static str, row: &T) {
        let lines = self.tables.entry(table).or_default();
        serde_json::to_writer(&mut *lines, row).expect("rows serialize to JSON");
        lines.push(b'\n');
        self.rows += 1;
    }

    pub fn append(&mut self, other: TableRows) {
        for (table, lines) in other.tables {
            self.tables.entry(table).or_default().extend(lines);
        }
        self.rows += other.rows;
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }
}

#[derive(Serialize)]
struct PageView<'a> {
    page_view: &'a str,
    route: &'a str,
    device: &'static str,
    browser: &'a str,
    connection: &'static str,
    navigation_type: &'static str,
    received_ms: i64,
}

#[derive(Serialize)]
struct VitalRow<'a> {
    site: &'a str,
    id: &'a str,
    ts: i64,
    name: &'static str,
    value: f64,
    rating: u8,
    bucket: i16,
    #[serde(flatten)]
    page_view: &'a PageView<'a>,
    target: &'a str,
    attribution: String,
}

#[derive(Serialize)]
struct ApiCallRow<'a> {
    site: &'a str,
    id: &'a str,
    ts: i64,
    method: &'a str,
    path: &'a str,
    status: u16,
    duration: f64,
    outcome: &'static str,
    is_error: u8,
    bucket: i16,
    response_size: i64,
    timing: String,
    #[serde(flatten)]
    page_view: &'a PageView<'a>,
}

#[derive(Serialize)]
struct OtherEventRow<'a> {
    site: &'a str,
    id: &'a str,
    ts: i64,
    kind: &'static str,
    payload: String,
    #[serde(flatten)]
    page_view: &'a PageView<'a>,
}

#[derive(Serialize)]
struct BatchRow<'a> {
    site: &'a str,
    page_view: &'a str,
    seq: u32,
    lost: u32,
    received_ms: i64,
}

#[derive(Serialize)]
struct SiteKeyRow<'a> {
    site: &'a str,
    kind: &'static str,
    key: &'a str,
}

pub fn rating_code(rating: Rating) -> u8 {
    match rating {
        Rating::Good => 0,
        Rating::NeedsImprovement => 1,
        Rating::Poor => 2,
    }
}

/// Timestamps are whole milliseconds in storage; the wire carries fractions.
fn millis(ts: f64) -> i64 {
    ts.floor() as i64
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("model types serialize to JSON")
}

/// Every event of `accepted` as rows, with routes and endpoints mapped through the
/// cardinality guard; keys admitted on the way become `site_keys` rows.
pub fn encode(
    accepted: &AcceptedBatch,
    guard: &CardinalityGuard,
    client: &Client,
    out: &mut TableRows,
) {
    let batch = &accepted.batch;
    let site = batch.site.as_str();
    let mut admitted: Vec<Admission> = Vec::new();
    let route = guard.map(client, site, KeyKind::Route, &batch.page, &mut admitted);
    let page_view = PageView {
        page_view: &batch.page_view,
        route: &route,
        device: batch.context.device.as_str(),
        browser: &accepted.browser,
        connection: batch.context.connection.as_str(),
        navigation_type: batch.context.navigation_type.as_str(),
        received_ms: accepted.received_ms,
    };
    out.push(
        "batches",
        &BatchRow {
            site,
            page_view: &batch.page_view,
            seq: batch.seq,
            lost: batch.lost,
            received_ms: accepted.received_ms,
        },
    );
    for v in &batch.vitals {
        let target = v
            .attribution
            .as_ref()
            .and_then(|a| a.target.as_deref())
            .unwrap_or("");
        out.push(
            "vitals",
            &VitalRow {
                site,
                id: &v.id,
                ts: millis(v.ts),
                name: v.name.as_str(),
                value: v.value,
                rating: rating_code(v.name.rate(v.value)),
                bucket: bucket_of(v.value),
                page_view: &page_view,
                target,
                attribution: v.attribution.as_ref().map(json).unwrap_or_default(),
            },
        );
    }
    for call in &batch.api_calls {
        let endpoint = format!("{} {}", call.method, call.path);
        let mapped = guard.map(client, site, KeyKind::Endpoint, &endpoint, &mut admitted);
        let path = if mapped == OVERFLOW {
            OVERFLOW
        } else {
            call.path.as_str()
        };
        out.push(
            "api_calls",
            &ApiCallRow {
                site,
                id: &call.id,
                ts: millis(call.ts),
                method: &call.method,
                path,
                status: call.status,
                duration: call.duration,
                outcome: outcome_name(call.outcome),
                is_error: u8::from(call.is_error()),
                bucket: bucket_of(call.duration),
                response_size: call
                    .response_size
                    .map_or(-1, |s| i64::try_from(s).unwrap_or(i64::MAX)),
                timing: call.timing.as_ref().map(json).unwrap_or_default(),
                page_view: &page_view,
            },
        );
    }
    let mut other = |id: &str, ts: f64, kind: &'static str, payload: String| {
        out.push(
            "other_events",
            &OtherEventRow {
                site,
                id,
                ts: millis(ts),
                kind,
                payload,
                page_view: &page_view,
            },
        );
    };
    for e in &batch.long_frames {
        other(&e.id, e.ts, "long_frame", json(e));
    }
    for e in &batch.custom_metrics {
        other(&e.id, e.ts, "custom_metric", json(e));
    }
    for e in &batch.assets {
        other(&e.id, e.ts, "asset", json(e));
    }
    for e in &batch.memory {
        other(&e.id, e.ts, "memory", json(e));
    }
    for a in &admitted {
        out.push(
            "site_keys",
            &SiteKeyRow {
                site: &a.site,
                kind: a.kind.as_str(),
                key: &a.key,
            },
        );
    }
}

/// The (site, id) of every event in `accepted`, in the order `encode` writes them.
pub fn event_ids(accepted: &AcceptedBatch) -> impl Iterator<Item = &str> {
    let b = &accepted.batch;
    b.vitals
        .iter()
        .map(|e| e.id.as_str())
        .chain(b.api_calls.iter().map(|e| e.id.as_str()))
        .chain(b.long_frames.iter().map(|e| e.id.as_str()))
        .chain(b.custom_metrics.iter().map(|e| e.id.as_str()))
        .chain(b.assets.iter().map(|e| e.id.as_str()))
        .chain(b.memory.iter().map(|e| e.id.as_str()))
}
