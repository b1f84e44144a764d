//! `POST /api/v1/ingest`: check who sends, decode, validate, and commit one batch from a
//! tracker; and the CORS answers for it.
//!
//! The site key travels in the body, so a browser's simple (preflight-free) request
//! works as before. A tracker may also name it in the URL (`?site=key`): then a
//! preflight and an early refusal can use that site's own allowlist instead of all
//! configured origins, and the body must name the same site.

use crate::app::AppState;
use crate::batch_decoder::BatchDecoder;
use crate::client_ip::ClientIp;
use crate::clock::now_ms;
use crate::error::AppError;
use crate::request_body;
use crate::sites::{RequestOrigin, Sites};
use crate::store::AcceptedBatch;
use crate::user_agent::browser_family;
use crate::write_queue::EnqueueError;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use perfscope_model::{validate_site_key, Batch, FieldError};
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::Arc;

#[derive(Debug, Serialize)]
pub struct IngestResponse {
    /// Events of this batch now stored for the first time.
    pub stored: u64,
    /// Events already stored by an earlier delivery of the same batch.
    pub duplicates: u64,
}

/// What the discard route answers: the batch passed every check and was dropped.
#[derive(Debug, Serialize)]
pub struct DiscardResponse {
    pub discarded: u64,
}

/// How long a client should wait before retrying when the queue is full: long enough
/// for the writer to commit a few groups.
const RETRY_AFTER_SECS: u64 = 1;

/// Browsers may cache a preflight answer this long.
const PREFLIGHT_MAX_AGE_SECS: u32 = 24 * 3600;

/// Who may send, and how bodies are read: built once from the configuration.
pub struct IngestPolicy {
    pub sites: Sites,
    pub client_ip: ClientIp,
    pub decoder: BatchDecoder,
}

#[derive(Clone)]
pub struct IngestState {
    pub app: AppState,
    pub policy: Arc<IngestPolicy>,
}

pub async fn ingest(
    State(state): State<IngestState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let mut request = IngestRequest::new(&uri, &headers);
    let response = match request.accept(&state, peer, body).await {
        Ok(batch) => {
            let user_agent = headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok());
            let accepted = AcceptedBatch {
                batch,
                browser: browser_family(user_agent).to_string(),
                received_ms: now_ms(),
            };
            commit(&state.app, accepted).await.into_response()
        }
        Err(err) => err.into_response(),
    };
    request.with_cors(&state.policy.sites, response)
}

async fn commit(app: &AppState, batch: AcceptedBatch) -> Result<Json<IngestResponse>, AppError> {
    let outcome = app.queue.submit(batch).await.map_err(|err| match err {
        EnqueueError::Full | EnqueueError::Closed => AppError::Overloaded {
            retry_after_secs: RETRY_AFTER_SECS,
        },
        EnqueueError::Storage(message) => AppError::Internal(anyhow::anyhow!(message)),
    })?;
    Ok(Json(IngestResponse {
        stored: outcome.stored,
        duplicates: outcome.duplicates,
    }))
}

/// `POST /api/v1/ingest/discard`, only when configured: every step of ingest except
/// the write, as the reference `cargo xtask bench ingest` compares against.
pub async fn discard(
    State(state): State<IngestState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let mut request = IngestRequest::new(&uri, &headers);
    let response = match request.accept(&state, peer, body).await {
        Ok(batch) => Json(DiscardResponse {
            discarded: batch.event_count() as u64,
        })
        .into_response(),
        Err(err) => err.into_response(),
    };
    request.with_cors(&state.policy.sites, response)
}

/// `OPTIONS /api/v1/ingest`: the tracker's requests need no preflight, but a page
/// that adds headers (e.g. `Content-Encoding`) gets one answered here.
pub async fn preflight(State(state): State<IngestState>, uri: Uri, headers: HeaderMap) -> Response {
    let request = IngestRequest::new(&uri, &headers);
    let sites = &state.policy.sites;
    let refusal = match (&request.site_in_url, request.origin.cross()) {
        (Some(Err(err)), _) => Some(AppError::InvalidField(err.clone())),
        (Some(Ok(site)), _) if !sites.is_known(site) => Some(AppError::UnknownSite(site.clone())),
        (Some(Ok(site)), Some(origin)) if !request.origin_allowed(sites) => {
            Some(AppError::OriginNotAllowed {
                site: site.clone(),
                origin: origin.to_string(),
            })
        }
        (None, Some(origin)) if !request.origin_allowed(sites) => {
            Some(AppError::OriginNotAllowedAnywhere(origin.to_string()))
        }
        _ => None,
    };
    if let Some(err) = refusal {
        return err.into_response();
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type, content-encoding"),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from(PREFLIGHT_MAX_AGE_SECS),
    );
    request.with_cors(&state.policy.sites, response)
}

/// What the headers and URL say before the body is read.
struct IngestRequest<'a> {
    headers: &'a HeaderMap,
    origin: RequestOrigin<'a>,
    /// `?site=` when present: valid key or why not.
    site_in_url: Option<Result<String, FieldError>>,
    /// The site the request turned out to be for, once known.
    site: Option<String>,
}

impl<'a> IngestRequest<'a> {
    fn new(uri: &Uri, headers: &'a HeaderMap) -> IngestRequest<'a> {
        let site_in_url = uri.query().and_then(|query| {
            form_urlencoded::parse(query.as_bytes())
                .find(|(name, _)| name == "site")
                .map(|(_, site)| {
                    validate_site_key(&site)
                        .map(|()| site.into_owned())
                        .map_err(|err| FieldError::new("site", err.reason))
                })
        });
        let site = match &site_in_url {
            Some(Ok(site)) => Some(site.clone()),
            _ => None,
        };
        IngestRequest {
            headers,
            origin: RequestOrigin::of(headers),
            site_in_url,
            site,
        }
    }

    /// Every check a batch must pass before it may be written, cheapest first, so a
    /// request that will be refused costs as little as possible.
    async fn accept(
        &mut self,
        state: &IngestState,
        peer: SocketAddr,
        body: Result<Bytes, BytesRejection>,
    ) -> Result<Batch, AppError> {
        let policy = &state.policy;
        let client = policy.client_ip.resolve(peer.ip(), self.headers);
        state.app.rate_limits.check_ip(client)?;
        request_body::check_content_type(self.headers.get(header::CONTENT_TYPE))?;
        if let Some(site) = &self.site_in_url {
            let site = site.clone().map_err(AppError::InvalidField)?;
            self.check_site(&policy.sites, &site)?;
        }
        let body = body.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge {
                    limit: state.app.config.ingest.max_body_bytes,
                }
            } else {
                AppError::BadRequest(rejection.body_text())
            }
        })?;
        let batch = policy
            .decoder
            .decode(self.headers.get(header::CONTENT_ENCODING), body)?;
        match &self.site {
            Some(site) if *site != batch.site => {
                return Err(AppError::InvalidField(FieldError::new(
                    "site",
                    "differs from the `site` query parameter",
                )));
            }
            Some(_) => {}
            None => {
                validate_site_key(&batch.site).map_err(AppError::InvalidField)?;
                self.check_site(&policy.sites, &batch.site)?;
                self.site = Some(batch.site.clone());
            }
        }
        policy.decoder.check(&batch, now_ms() as f64)?;
        state.app.rate_limits.check_site(&batch.site)?;
        Ok(batch)
    }

    fn check_site(&self, sites: &Sites, site: &str) -> Result<(), AppError> {
        match sites.allows(site, self.origin) {
            None => Err(AppError::UnknownSite(site.to_string())),
            Some(false) => Err(AppError::OriginNotAllowed {
                site: site.to_string(),
                origin: self.origin.cross().unwrap_or_default().to_string(),
            }),
            Some(true) => Ok(()),
        }
    }

    fn origin_allowed(&self, sites: &Sites) -> bool {
        match &self.site {
            Some(site) => sites.allows(site, self.origin) == Some(true),
            None => sites.any_allows(self.origin),
        }
    }

    /// Lets the page read the answer, errors included, so a tracker can tell a refused
    /// batch (drop it) from a lost one (retry); only for an origin that may send.
    fn with_cors(&self, sites: &Sites, mut response: Response) -> Response {
        let Some(origin) = self.origin.cross() else {
            return response;
        };
        if !self.origin_allowed(sites) {
            return response;
        }
        let Ok(origin) = HeaderValue::from_str(origin) else {
            return response;
        };
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("retry-after"),
        );
        headers.append(header::VARY, HeaderValue::from_static("origin"));
        response
    }
}
