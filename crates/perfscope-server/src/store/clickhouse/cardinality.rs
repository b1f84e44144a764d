//! The per-site cap on distinct routes and endpoints: keys beyond it are stored as
//! `other`, so random URLs cannot bloat the rollups.
//!
//! Admitted keys live in ClickHouse (`site_keys`), so every collector maps a key the
//! same way once it has seen the admission. Two collectors admitting different new keys
//! in the same second can overshoot the cap by the keys they admitted concurrently; the
//! cap bounds growth, it is not a quota.

use super::http::{quote, Client};
use crate::store::OVERFLOW;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    Route,
    Endpoint,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Route => "route",
            KeyKind::Endpoint => "endpoint",
        }
    }
}

#[derive(Default)]
struct SiteKeys {
    routes: HashSet<String>,
    endpoints: HashSet<String>,
}

impl SiteKeys {
    fn of(&mut self, kind: KeyKind) -> &mut HashSet<String> {
        match kind {
            KeyKind::Route => &mut self.routes,
            KeyKind::Endpoint => &mut self.endpoints,
        }
    }
}

pub struct CardinalityGuard {
    max_routes: usize,
    max_endpoints: usize,
    sites: Mutex<HashMap<String, SiteKeys>>,
}

/// A key the guard admitted just now, to be stored with the events that brought it.
pub struct Admission {
    pub site: String,
    pub kind: KeyKind,
    pub key: String,
}

#[derive(Deserialize)]
struct StoredKey {
    kind: String,
    key: String,
}

impl CardinalityGuard {
    pub fn new(max_routes: usize, max_endpoints: usize) -> CardinalityGuard {
        CardinalityGuard {
            max_routes,
            max_endpoints,
            sites: Mutex::new(HashMap::new()),
        }
    }

    /// The key to store for `key`: itself when known or still under the cap (then
    /// `admitted` gets the new admission), `other` beyond it.
    pub fn map(
        &self,
        client: &Client,
        site: &str,
        kind: KeyKind,
        key: &str,
        admitted: &mut Vec<Admission>,
    ) -> String {
        let mut sites = self.sites.lock().unwrap_or_else(|p| p.into_inner());
        if !sites.contains_key(site) {
            sites.insert(site.to_string(), load(client, site));
        }
        let cap = match kind {
            KeyKind::Route => self.max_routes,
            KeyKind::Endpoint => self.max_endpoints,
        };
        let keys = sites.get_mut(site).expect("inserted above").of(kind);
        if keys.contains(key) {
            return key.to_string();
        }
        if keys.len() >= cap {
            return OVERFLOW.to_string();
        }
        keys.insert(key.to_string());
        admitted.push(Admission {
            site: site.to_string(),
            kind,
            key: key.to_string(),
        });
        key.to_string()
    }
}

/// What other collectors (or this one before a restart) admitted for `site`. An
/// unreachable server leaves the set empty; the cap still holds for this process.
fn load(client: &Client, site: &str) -> SiteKeys {
    let sql = format!(
        "SELECT kind, key FROM {}.site_keys WHERE site = {} GROUP BY kind, key",
        client.database(),
        quote(site)
    );
    let mut keys = SiteKeys::default();
    match client.rows::<StoredKey>(&sql) {
        Ok(rows) => {
            for row in rows {
                let kind = if row.kind == KeyKind::Route.as_str() {
                    KeyKind::Route
                } else {
                    KeyKind::Endpoint
                };
                keys.of(kind).insert(row.key);
            }
        }
        Err(err) => tracing::warn!(site, error = %err, "could not load admitted routes"),
    }
    keys
}
