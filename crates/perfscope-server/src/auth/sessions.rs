//! Signed-in sessions in SQLite: random 256-bit tokens, stored only as their SHA-256,
//! each with an expiry.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use perfscope_model::SessionInfo;
use rand::RngCore;
use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};
use std::sync::Mutex;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS auth_sessions (
    token_hash BLOB PRIMARY KEY,
    username TEXT NOT NULL,
    expires_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS auth_sessions_expiry ON auth_sessions(expires_ms);
";

const TOKEN_BYTES: usize = 32;

/// Calls block on SQLite: async callers run them on the blocking pool.
pub struct Sessions {
    connection: Mutex<Connection>,
}

impl Sessions {
    pub fn new(connection: Connection) -> anyhow::Result<Sessions> {
        connection.execute_batch(SCHEMA)?;
        Ok(Sessions {
            connection: Mutex::new(connection),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.connection.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new session for `username`: the token for the cookie, and who it is.
    pub fn create(
        &self,
        username: &str,
        ttl_ms: i64,
        now_ms: i64,
    ) -> anyhow::Result<(String, SessionInfo)> {
        let mut token = [0u8; TOKEN_BYTES];
        rand::rng().fill_bytes(&mut token);
        let token = URL_SAFE_NO_PAD.encode(token);
        let expires_at = now_ms + ttl_ms;
        let connection = self.lock();
        // Signing in is rare: a good moment to forget sessions nobody can use any more.
        connection.execute(
            "DELETE FROM auth_sessions WHERE expires_ms <= ?1",
            params![now_ms],
        )?;
        connection.execute(
            "INSERT INTO auth_sessions (token_hash, username, expires_ms) VALUES (?1, ?2, ?3)",
            params![token_hash(&token), username, expires_at],
        )?;
        Ok((
            token,
            SessionInfo {
                username: username.to_string(),
                expires_at,
            },
        ))
    }

    /// The session `token` opens, if it exists and has not expired at `now_ms`.
    pub fn find(&self, token: &str, now_ms: i64) -> anyhow::Result<Option<SessionInfo>> {
        if !looks_like_token(token) {
            return Ok(None);
        }
        Ok(self
            .lock()
            .query_row(
                "SELECT username, expires_ms FROM auth_sessions
                 WHERE token_hash = ?1 AND expires_ms > ?2",
                params![token_hash(token), now_ms],
                |row| {
                    Ok(SessionInfo {
                        username: row.get(0)?,
                        expires_at: row.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    pub fn revoke(&self, token: &str) -> anyhow::Result<()> {
        if looks_like_token(token) {
            self.lock().execute(
                "DELETE FROM auth_sessions WHERE token_hash = ?1",
                params![token_hash(token)],
            )?;
        }
        Ok(())
    }
}

/// Anything else never reaches the database.
fn looks_like_token(token: &str) -> bool {
    URL_SAFE_NO_PAD
        .decode(token)
        .is_ok_and(|bytes| bytes.len() == TOKEN_BYTES)
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_open_until_they_expire_or_are_revoked() {
        let sessions = Sessions::new(Connection::open_in_memory().unwrap()).unwrap();
        let (token, info) = sessions.create("admin", 1000, 5000).unwrap();
        assert_eq!(token.len(), 43);
        assert_eq!(info.expires_at, 6000);
        assert_eq!(sessions.find(&token, 5999).unwrap(), Some(info));
        assert_eq!(sessions.find(&token, 6000).unwrap(), None);
        assert_eq!(sessions.find("not a token", 5000).unwrap(), None);

        let (other, _) = sessions.create("admin", 1000, 5000).unwrap();
        assert_ne!(token, other);
        sessions.revoke(&other).unwrap();
        assert_eq!(sessions.find(&other, 5001).unwrap(), None);
        // Only the hash is stored.
        let stored: Vec<u8> = sessions
            .lock()
            .query_row("SELECT token_hash FROM auth_sessions", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored.len(), 32);
        assert!(!String::from_utf8_lossy(&stored).contains(&token));
    }
}
