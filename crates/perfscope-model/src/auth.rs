//! The dashboard's sign-in exchange with the collector.
//!
//! The session itself travels as an HttpOnly cookie the dashboard never reads, so no
//! token appears in these types.

use serde::{Deserialize, Serialize};

/// Where the dashboard signs in and out and asks who it is.
pub const LOGIN_PATH: &str = "/api/v1/auth/login";
pub const LOGOUT_PATH: &str = "/api/v1/auth/logout";
pub const SESSION_PATH: &str = "/api/v1/auth/session";

/// The body of `POST /api/v1/auth/login`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// Who is signed in: the answer to a successful login and to `GET /api/v1/auth/session`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionInfo {
    pub username: String,
    /// Unix epoch milliseconds after which the session cookie is no longer accepted.
    pub expires_at: i64,
}
