//! The `[auth]` and `[metrics]` configuration sections: who may sign in to the dashboard
//! and how Prometheus proves it may scrape.

use serde::{Deserialize, Serialize};
use std::num::NonZeroU32;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    pub admin_user: String,
    /// The admin's password in clear (for tests and quick starts; prefer the hash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_password: Option<String>,
    /// The admin's password as an Argon2 PHC string (`$argon2id$v=19$...`). With neither
    /// this nor `admin_password`, the first start generates a password, prints it once
    /// and keeps only its hash in the database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_password_hash: Option<String>,
    /// How long a session cookie stays valid after signing in.
    pub session_ttl_secs: NonZeroU32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            admin_user: "admin".to_string(),
            admin_password: None,
            admin_password_hash: None,
            session_ttl_secs: NonZeroU32::new(12 * 3600).expect("non-zero default"),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// `Authorization: Bearer <token>` that `/metrics` accepts instead of a session, so
    /// Prometheus can scrape. Without it, `/metrics` needs a signed-in session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}
