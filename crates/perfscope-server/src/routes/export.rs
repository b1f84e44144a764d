//! `GET /api/v1/export.csv`: raw vitals or API calls of a scope as CSV, newest first,
//! bounded by `limit` (raw events exist only while raw retention keeps them).

use crate::app::AppState;
use crate::clock::now_ms;
use crate::error::AppError;
use crate::routes::query::blocking;
use crate::routes::query_params::QueryParams;
use crate::store::ApiCallSample;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use perfscope_model::{FieldError, VitalName, VitalSample};

const DEFAULT_ROWS: usize = 10_000;
/// Keeps one export's memory to a few tens of megabytes.
const MAX_ROWS: usize = 100_000;

pub async fn export_csv(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let params = QueryParams::parse(query.as_deref().unwrap_or(""), &["kind", "metric", "limit"])?;
    let scope = params.scope(now_ms())?;
    let limit = params.limit(DEFAULT_ROWS, MAX_ROWS)?;
    let kind = params.kind.as_deref().ok_or_else(|| {
        AppError::InvalidField(FieldError::new("kind", "is required: vitals or api_calls"))
    })?;
    let body = match kind {
        "vitals" => {
            let metric = params
                .metric
                .is_some()
                .then(|| params.vital(&VitalName::WITH_LEGACY))
                .transpose()?;
            let rows = blocking(state.store, move |store| {
                let names = metric
                    .map(|m| vec![m])
                    .unwrap_or(VitalName::WITH_LEGACY.to_vec());
                let mut rows = Vec::new();
                for name in names {
                    rows.extend(store.samples(&scope, name, limit)?);
                }
                rows.sort_by(|a, b| b.ts.cmp(&a.ts).then_with(|| b.id.cmp(&a.id)));
                rows.truncate(limit);
                Ok(rows)
            })
            .await?;
            vitals_csv(&rows)
        }
        "api_calls" => {
            if params.metric.is_some() {
                return Err(AppError::InvalidField(FieldError::new(
                    "metric",
                    "applies only to `kind=vitals`",
                )));
            }
            let rows = blocking(state.store, move |store| {
                store.api_call_samples(&scope, limit)
            })
            .await?;
            api_calls_csv(&rows)
        }
        _ => {
            return Err(AppError::InvalidField(FieldError::new(
                "kind",
                "must be vitals or api_calls",
            )))
        }
    }
    .map_err(|err| AppError::Internal(err.into()))?;
    let filename = format!("attachment; filename=\"perfscope-{kind}.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, filename),
        ],
        body,
    )
        .into_response())
}

/// Text a spreadsheet would run as a formula gets a leading `'`: selectors and routes
/// come from browsers, and an export must not become an attack on whoever opens it.
fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

fn vitals_csv(rows: &[VitalSample]) -> Result<Vec<u8>, csv::Error> {
    write_csv(
        [
            "id",
            "ts",
            "page_view",
            "route",
            "name",
            "value",
            "device",
            "browser",
            "connection",
            "navigation_type",
            "target",
        ],
        rows,
        |row| {
            [
                cell(&row.id),
                row.ts.to_string(),
                cell(&row.page_view),
                cell(&row.route),
                row.name.as_str().to_string(),
                row.value.to_string(),
                row.device.as_str().to_string(),
                cell(&row.browser),
                row.connection.as_str().to_string(),
                row.navigation_type.as_str().to_string(),
                row.target.as_deref().map(cell).unwrap_or_default(),
            ]
        },
    )
}

fn api_calls_csv(rows: &[ApiCallSample]) -> Result<Vec<u8>, csv::Error> {
    write_csv(
        [
            "id",
            "ts",
            "page_view",
            "route",
            "method",
            "path",
            "status",
            "duration",
            "outcome",
            "response_size",
            "device",
            "browser",
            "connection",
            "navigation_type",
        ],
        rows,
        |row| {
            [
                cell(&row.id),
                row.ts.to_string(),
                cell(&row.page_view),
                cell(&row.route),
                cell(&row.method),
                cell(&row.path),
                row.status.to_string(),
                row.duration.to_string(),
                cell(&row.outcome),
                row.response_size.map(|s| s.to_string()).unwrap_or_default(),
                cell(&row.device),
                cell(&row.browser),
                cell(&row.connection),
                cell(&row.navigation_type),
            ]
        },
    )
}

/// One CSV file: the header, then one record per row; `N` keeps them the same width.
fn write_csv<T, const N: usize>(
    header: [&str; N],
    rows: &[T],
    record: impl Fn(&T) -> [String; N],
) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(header)?;
    for row in rows {
        out.write_record(record(row))?;
    }
    out.into_inner().map_err(|err| err.into_error().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_and_quotes_escaped() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("/a"), "/a");
        let sample = ApiCallSample {
            id: "a,b".into(),
            ts: 1,
            page_view: "pv".into(),
            route: "/\"q\"".into(),
            method: "GET".into(),
            path: "/x\ny".into(),
            status: 200,
            duration: 1.5,
            outcome: "ok".into(),
            response_size: None,
            device: "mobile".into(),
            browser: "chrome".into(),
            connection: "4g".into(),
            navigation_type: "navigate".into(),
        };
        let text = String::from_utf8(api_calls_csv(&[sample]).unwrap()).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let record = reader.records().next().unwrap().unwrap();
        assert_eq!(&record[0], "a,b");
        assert_eq!(&record[3], "/\"q\"");
        assert_eq!(&record[5], "/x\ny");
        assert_eq!(&record[9], "");
    }
}
