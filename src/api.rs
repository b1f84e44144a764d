//! Typed client for the collector's query API, which is served from the same origin.

use gloo_net::http::{Request, Response};
use perfscope_model::{ApiErrorResponse, SiteInfo, Summary};
use serde::de::DeserializeOwned;
use std::fmt;

const SITES_PATH: &str = "/api/v1/sites";
const SUMMARY_PATH: &str = "/api/v1/summary";

/// Why a call to the collector failed, worded for the person looking at the dashboard.
///
/// `Clone` because a failed resource is read by every view that renders it.
#[derive(Clone, Debug, PartialEq)]
pub enum ApiError {
    /// No answer at all: the collector is down, the network is gone, or the browser
    /// blocked the request. The detail is the browser's own wording, kept for the console.
    Network(String),
    /// The collector answered with a 4xx/5xx status.
    Http {
        status: u16,
        /// `error.message` from the body, or the status text when the body was not ours
        /// (a proxy's HTML error page, for instance).
        message: String,
    },
    /// The answer arrived but did not have the expected shape: usually a dashboard and a
    /// collector from different releases.
    Decode(String),
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Network(_) => f.write_str(
                "Could not reach the perfscope collector. Check your connection and that \
                 the server is running, then try again.",
            ),
            ApiError::Http { status, message } => write!(f, "{message} (HTTP {status})"),
            ApiError::Decode(detail) => write!(
                f,
                "The collector sent an answer this dashboard cannot read ({detail}). \
                 Are the dashboard and the server from the same release?"
            ),
        }
    }
}

impl std::error::Error for ApiError {}

/// Sites that have sent data, as the collector lists them.
pub async fn fetch_sites() -> Result<Vec<SiteInfo>, ApiError> {
    let response = send(Request::get(SITES_PATH)).await?;
    decode(response).await
}

/// The summary of one site over the collector's default range (the last 24 hours).
pub async fn fetch_summary(site: &str) -> Result<Summary, ApiError> {
    // The builder goes through URLSearchParams, so the site key is percent-encoded.
    let request = Request::get(SUMMARY_PATH).query([("site", site)]);
    let response = send(request).await?;
    decode(response).await
}

async fn send(request: gloo_net::http::RequestBuilder) -> Result<Response, ApiError> {
    let response = request.send().await.map_err(|err| {
        let detail = err.to_string();
        leptos::logging::warn!("perfscope: request failed: {detail}");
        ApiError::Network(detail)
    })?;
    if response.ok() {
        Ok(response)
    } else {
        Err(http_error(response).await)
    }
}

async fn http_error(response: Response) -> ApiError {
    let status = response.status();
    let message = match response.json::<ApiErrorResponse>().await {
        Ok(body) => body.error.message,
        Err(_) => {
            let text = response.status_text();
            if text.is_empty() {
                "The collector answered with an error".to_owned()
            } else {
                text
            }
        }
    };
    ApiError::Http { status, message }
}

async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, ApiError> {
    response
        .json::<T>()
        .await
        .map_err(|err| ApiError::Decode(err.to_string()))
}
