//! Admin sign-in for the dashboard and its read API: the credential, sessions kept in
//! the collector's local SQLite file (also when events go to ClickHouse), the throttle
//! on wrong passwords, and the middleware that guards every read route.

pub mod config;
pub mod credentials;
pub mod sessions;
pub mod throttle;

use crate::client_ip::ClientIp;
use crate::clock;
use crate::config::Config;
use crate::error::AppError;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cookie::{Cookie, SameSite};
use credentials::{AdminCredential, CredentialSource};
use perfscope_model::SessionInfo;
use rusqlite::Connection;
use sessions::Sessions;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use throttle::{LoginThrottle, ThrottlePolicy};

/// The cookie that carries the session token.
pub const SESSION_COOKIE: &str = "perfscope_session";

pub struct Auth {
    admin: AdminCredential,
    sessions: Sessions,
    throttle: LoginThrottle,
    session_ttl: Duration,
    metrics_token: Option<String>,
    /// Proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed: the same
    /// list ingest trusts.
    client_ip: ClientIp,
}

/// Why a sign-in did not open a session.
#[derive(Debug)]
pub enum LoginRefused {
    Throttled { wait: Duration },
    WrongCredentials,
}

impl Auth {
    /// Opens the session and credential tables in the collector's SQLite file; the
    /// credential source tells the caller whether a password was just generated.
    pub fn open(config: &Config) -> anyhow::Result<(Arc<Auth>, CredentialSource)> {
        Auth::open_with(config, ThrottlePolicy::default())
    }

    pub fn open_with(
        config: &Config,
        policy: ThrottlePolicy,
    ) -> anyhow::Result<(Arc<Auth>, CredentialSource)> {
        let path = &config.storage.path;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let connection = Connection::open(path)?;
        connection.busy_timeout(Duration::from_secs(10))?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        let (admin, source) = AdminCredential::resolve(&config.auth, &connection, clock::now_ms())?;
        let auth = Auth {
            admin,
            sessions: Sessions::new(connection)?,
            throttle: LoginThrottle::new(policy),
            session_ttl: Duration::from_secs(u64::from(config.auth.session_ttl_secs.get())),
            metrics_token: config.metrics.token.clone().filter(|t| !t.is_empty()),
            client_ip: ClientIp::new(&config.ingest.trusted_proxies),
        };
        Ok((Arc::new(auth), source))
    }

    /// Checks the credentials (on the blocking pool: Argon2 is slow on purpose) and
    /// opens a session: its token and who it is.
    pub async fn login(
        self: &Arc<Self>,
        client: IpAddr,
        username: String,
        password: String,
    ) -> Result<Result<(String, SessionInfo), LoginRefused>, AppError> {
        let for_admin = username == self.admin.username;
        if let Err(wait) = self.throttle.begin(client, for_admin, Instant::now()) {
            return Ok(Err(LoginRefused::Throttled { wait }));
        }
        let auth = Arc::clone(self);
        let opened = tokio::task::spawn_blocking(move || {
            if !auth.admin.verify(&username, &password) {
                return Ok(None);
            }
            let ttl_ms = auth.session_ttl.as_millis() as i64;
            auth.sessions
                .create(&auth.admin.username, ttl_ms, clock::now_ms())
                .map(Some)
        })
        .await
        .map_err(|err| AppError::Internal(err.into()))??;
        match opened {
            Some(session) => {
                self.throttle.succeeded(client, for_admin);
                Ok(Ok(session))
            }
            None => Ok(Err(LoginRefused::WrongCredentials)),
        }
    }

    /// The session the request's cookie opens, with its token.
    pub async fn session_of(
        self: &Arc<Self>,
        headers: &HeaderMap,
    ) -> Result<Option<(String, SessionInfo)>, AppError> {
        let Some(token) = session_token(headers) else {
            return Ok(None);
        };
        let auth = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let found = auth.sessions.find(&token, clock::now_ms())?;
            Ok(found.map(|info| (token, info)))
        })
        .await
        .map_err(|err| AppError::Internal(err.into()))?
    }

    pub async fn logout(self: &Arc<Self>, token: String) -> Result<(), AppError> {
        let auth = Arc::clone(self);
        tokio::task::spawn_blocking(move || auth.sessions.revoke(&token))
            .await
            .map_err(|err| AppError::Internal(err.into()))??;
        Ok(())
    }

    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        self.client_ip.resolve(peer, headers)
    }

    /// The cookie must be `Secure` when the browser talks HTTPS: this collector serves
    /// plain HTTP, so only a trusted TLS-terminating proxy can say so.
    pub fn over_https(&self, peer: IpAddr, headers: &HeaderMap) -> bool {
        self.client_ip.is_trusted_proxy(peer)
            && headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
    }

    pub fn session_cookie(&self, token: &str, secure: bool) -> HeaderValue {
        let max_age = cookie::time::Duration::seconds(self.session_ttl.as_secs() as i64);
        let cookie = Cookie::build((SESSION_COOKIE, token))
            .http_only(true)
            .same_site(SameSite::Strict)
            .path("/")
            .secure(secure)
            .max_age(max_age)
            .build();
        HeaderValue::from_str(&cookie.to_string()).expect("cookie is plain ASCII")
    }

    pub fn cleared_cookie(&self, secure: bool) -> HeaderValue {
        let mut cookie = Cookie::build((SESSION_COOKIE, ""))
            .http_only(true)
            .same_site(SameSite::Strict)
            .path("/")
            .secure(secure)
            .build();
        cookie.make_removal();
        HeaderValue::from_str(&cookie.to_string()).expect("cookie is plain ASCII")
    }

    fn metrics_token_matches(&self, headers: &HeaderMap) -> bool {
        let Some(expected) = &self.metrics_token else {
            return false;
        };
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| {
                bool::from(subtle::ConstantTimeEq::ct_eq(
                    given.trim().as_bytes(),
                    expected.as_bytes(),
                ))
            })
    }
}

/// The session token from the request's `Cookie` headers, if any.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == SESSION_COOKIE)
        .map(|cookie| cookie.value().to_string())
}

/// Middleware for every read route: no valid session, no data.
pub async fn require_session(
    State(auth): State<Arc<Auth>>,
    request: Request,
    next: Next,
) -> Response {
    match auth.session_of(request.headers()).await {
        Ok(Some(_)) => next.run(request).await,
        Ok(None) => unauthorized(request.headers()),
        Err(err) => err.into_response(),
    }
}

/// Middleware for `/metrics`: a session, or the configured bearer token for Prometheus.
pub async fn require_session_or_metrics_token(
    State(auth): State<Arc<Auth>>,
    request: Request,
    next: Next,
) -> Response {
    if auth.metrics_token_matches(request.headers()) {
        return next.run(request).await;
    }
    require_session(State(auth), request, next).await
}

fn unauthorized(headers: &HeaderMap) -> Response {
    let reason = if session_token(headers).is_some() {
        "the session has expired or was signed out; sign in again"
    } else {
        "sign in first: this API needs the dashboard's session cookie"
    };
    AppError::Unauthorized(reason).into_response()
}
