//! `POST /api/v1/auth/login`, `POST /api/v1/auth/logout` and `GET /api/v1/auth/session`:
//! the dashboard's sign-in exchange.

use crate::app::AppState;
use crate::auth::{session_token, LoginRefused};
use crate::error::AppError;
use crate::routes::json_body;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use perfscope_model::{FieldError, LoginRequest};
use std::net::SocketAddr;

/// Longer user names or passwords are a mistake or an attack, never a credential.
const MAX_USERNAME_CHARS: usize = 256;
const MAX_PASSWORD_CHARS: usize = 1024;

pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let body = json_body::bytes(body)?;
    let request: LoginRequest = json_body::decode(&body, "body")?;
    check_length("username", &request.username, MAX_USERNAME_CHARS)?;
    check_length("password", &request.password, MAX_PASSWORD_CHARS)?;
    let auth = &state.auth;
    let client = auth.client_ip(peer.ip(), &headers);
    match auth
        .login(client, request.username, request.password)
        .await?
    {
        Ok((token, info)) => {
            let secure = auth.over_https(peer.ip(), &headers);
            let mut response = Json(info).into_response();
            let headers = response.headers_mut();
            headers.insert(header::SET_COOKIE, auth.session_cookie(&token, secure));
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(response)
        }
        Err(LoginRefused::WrongCredentials) => {
            tracing::warn!(client = %client, "sign-in refused: wrong user name or password");
            Err(AppError::WrongCredentials)
        }
        Err(LoginRefused::Throttled { wait }) => Err(AppError::LoginThrottled {
            // Retry-After has whole seconds; rounding down would invite an early retry.
            retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
        }),
    }
}

fn check_length(field: &str, value: &str, max_chars: usize) -> Result<(), AppError> {
    if value.is_empty() {
        return Err(AppError::InvalidField(FieldError::new(
            field,
            "must not be empty",
        )));
    }
    if value.chars().count() > max_chars {
        return Err(AppError::InvalidField(FieldError::new(
            field,
            format!("at most {max_chars} characters"),
        )));
    }
    Ok(())
}

/// Always 204: signing out of a session that is already gone is not an error.
pub async fn logout(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if let Some(token) = session_token(&headers) {
        state.auth.logout(token).await?;
    }
    let secure = state.auth.over_https(peer.ip(), &headers);
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, state.auth.cleared_cookie(secure))],
    )
        .into_response())
}

pub async fn session(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match state.auth.session_of(&headers).await {
        Ok(Some((_, info))) => (
            [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
            Json(info),
        )
            .into_response(),
        Ok(None) => AppError::Unauthorized("not signed in").into_response(),
        Err(err) => err.into_response(),
    }
}
