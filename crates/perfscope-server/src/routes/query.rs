//! The read API: `GET /api/v1/summary` and `GET /api/v1/sites`.

use crate::app::AppState;
use crate::clock::now_ms;
use crate::error::AppError;
use crate::store::{Store, TimeRange};
use axum::extract::{RawQuery, State};
use axum::Json;
use perfscope_model::{validate_site_key, FieldError, SiteInfo, Summary};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::sync::Arc;

const DAY_MS: i64 = 24 * 3600 * 1000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryParams {
    pub site: String,
    /// Milliseconds since the Unix epoch; defaults to 24 hours before `to`.
    pub from: Option<i64>,
    /// Milliseconds since the Unix epoch; defaults to now.
    pub to: Option<i64>,
}

pub async fn summary(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Summary>, AppError> {
    let params: SummaryParams = parse_query(query.as_deref().unwrap_or(""))?;
    validate_site_key(&params.site).map_err(AppError::InvalidField)?;
    let to = params.to.unwrap_or_else(now_ms);
    let from = params.from.unwrap_or(to - DAY_MS);
    if from >= to {
        return Err(AppError::InvalidField(FieldError::new(
            "from",
            "must be earlier than `to`",
        )));
    }
    let site = params.site;
    let summary = blocking(state.store, move |store| {
        store.summary(&site, TimeRange { from, to })
    })
    .await?;
    Ok(Json(summary))
}

pub async fn sites(State(state): State<AppState>) -> Result<Json<Vec<SiteInfo>>, AppError> {
    Ok(Json(blocking(state.store, |store| store.sites()).await?))
}

/// Query strings decoded with the failing parameter named in the error.
fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, AppError> {
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let field = err.path().to_string();
        let message = err.into_inner().to_string();
        let field = if field == "." {
            "query".to_string()
        } else {
            field
        };
        AppError::InvalidField(FieldError::new(field, message))
    })
}

async fn blocking<T, F>(store: Arc<dyn Store>, query: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&dyn Store) -> anyhow::Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(move || query(store.as_ref()))
        .await
        .map_err(anyhow::Error::from)?
        .map_err(AppError::Internal)
}
