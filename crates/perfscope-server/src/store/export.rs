//! Raw API calls as the CSV export lists them: a server-side type, never on the wire as
//! JSON, so it lives here rather than in the model.

use serde::Serialize;

/// One stored API call with its page context; field order is the CSV column order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ApiCallSample {
    pub id: String,
    pub ts: i64,
    pub page_view: String,
    pub route: String,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub duration: f64,
    pub outcome: String,
    pub response_size: Option<u64>,
    pub device: String,
    pub browser: String,
    pub connection: String,
    pub navigation_type: String,
}
