//! The cardinality guard: a cap on distinct routes and endpoints per site, with the
//! overflow folded into `other` so random URLs cannot bloat the rollups.

use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// What overflowing routes and endpoint paths are stored and reported as.
pub const OVERFLOW: &str = "other";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardinalityLimits {
    /// Distinct page routes kept per site.
    pub max_routes_per_site: usize,
    /// Distinct API endpoints (method + path) kept per site.
    pub max_endpoints_per_site: usize,
}

impl Default for CardinalityLimits {
    fn default() -> Self {
        CardinalityLimits {
            max_routes_per_site: 500,
            max_endpoints_per_site: 500,
        }
    }
}

/// Route or endpoint: each has its own cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    Route,
    Endpoint,
}

impl KeyKind {
    pub fn code(self) -> i64 {
        match self {
            KeyKind::Route => 0,
            KeyKind::Endpoint => 1,
        }
    }
}

/// Keys admitted so far, per site and kind. The writer owns it; keys admitted inside a
/// transaction stay `pending` until the commit succeeds, so a rolled-back transaction
/// does not use up the cap.
#[derive(Debug, Default)]
pub struct CardinalityGuard {
    limits: CardinalityLimits,
    admitted: HashMap<(String, KeyKind), HashSet<String>>,
    pending: HashMap<(String, KeyKind), HashSet<String>>,
}

/// What the guard needs from storage: the keys admitted in earlier runs.
pub trait AdmittedKeys {
    fn load(&mut self, site: &str, kind: KeyKind) -> anyhow::Result<HashSet<String>>;
    fn record(&mut self, site: &str, kind: KeyKind, key: &str) -> anyhow::Result<()>;
}

impl CardinalityGuard {
    pub fn new(limits: CardinalityLimits) -> CardinalityGuard {
        CardinalityGuard {
            limits,
            admitted: HashMap::new(),
            pending: HashMap::new(),
        }
    }

    /// `key` itself when it is known or the cap has room (recording it), else `other`.
    pub fn admit<'k>(
        &mut self,
        store: &mut impl AdmittedKeys,
        site: &str,
        kind: KeyKind,
        key: &'k str,
    ) -> anyhow::Result<&'k str> {
        let slot = (site.to_string(), kind);
        if !self.admitted.contains_key(&slot) {
            let known = store.load(site, kind)?;
            self.admitted.insert(slot.clone(), known);
        }
        let admitted = &self.admitted[&slot];
        let pending = self.pending.entry(slot).or_default();
        if admitted.contains(key) || pending.contains(key) {
            return Ok(key);
        }
        let cap = match kind {
            KeyKind::Route => self.limits.max_routes_per_site,
            KeyKind::Endpoint => self.limits.max_endpoints_per_site,
        };
        if admitted.len() + pending.len() >= cap {
            return Ok(OVERFLOW);
        }
        store.record(site, kind, key)?;
        pending.insert(key.to_string());
        Ok(key)
    }

    pub fn commit(&mut self) {
        for (slot, keys) in self.pending.drain() {
            self.admitted.entry(slot).or_default().extend(keys);
        }
    }

    pub fn roll_back(&mut self) {
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Memory(HashMap<(String, KeyKind), HashSet<String>>);

    impl AdmittedKeys for Memory {
        fn load(&mut self, site: &str, kind: KeyKind) -> anyhow::Result<HashSet<String>> {
            Ok(self
                .0
                .get(&(site.to_string(), kind))
                .cloned()
                .unwrap_or_default())
        }
        fn record(&mut self, site: &str, kind: KeyKind, key: &str) -> anyhow::Result<()> {
            self.0
                .entry((site.to_string(), kind))
                .or_default()
                .insert(key.to_string());
            Ok(())
        }
    }

    #[test]
    fn overflow_goes_to_other_per_site_and_kind_and_survives_a_restart() {
        let limits = CardinalityLimits {
            max_routes_per_site: 2,
            max_endpoints_per_site: 1,
        };
        let mut keys = Memory::default();
        let mut guard = CardinalityGuard::new(limits);
        let mut admit = |guard: &mut CardinalityGuard, site, kind, key| {
            guard.admit(&mut keys, site, kind, key).unwrap().to_string()
        };
        assert_eq!(admit(&mut guard, "a", KeyKind::Route, "/1"), "/1");
        assert_eq!(admit(&mut guard, "a", KeyKind::Route, "/2"), "/2");
        assert_eq!(admit(&mut guard, "a", KeyKind::Route, "/3"), "other");
        assert_eq!(admit(&mut guard, "a", KeyKind::Route, "/1"), "/1");
        assert_eq!(admit(&mut guard, "b", KeyKind::Route, "/3"), "/3");
        assert_eq!(
            admit(&mut guard, "a", KeyKind::Endpoint, "GET /x"),
            "GET /x"
        );
        assert_eq!(admit(&mut guard, "a", KeyKind::Endpoint, "GET /y"), "other");
        guard.commit();

        let mut restarted = CardinalityGuard::new(limits);
        assert_eq!(admit(&mut restarted, "a", KeyKind::Route, "/4"), "other");
        assert_eq!(admit(&mut restarted, "a", KeyKind::Route, "/2"), "/2");
    }

    #[test]
    fn a_rolled_back_transaction_frees_its_slots() {
        let limits = CardinalityLimits {
            max_routes_per_site: 1,
            max_endpoints_per_site: 1,
        };
        // Storage that forgets what was recorded, as a rolled-back transaction does.
        struct Forgetful;
        impl AdmittedKeys for Forgetful {
            fn load(&mut self, _: &str, _: KeyKind) -> anyhow::Result<HashSet<String>> {
                Ok(HashSet::new())
            }
            fn record(&mut self, _: &str, _: KeyKind, _: &str) -> anyhow::Result<()> {
                Ok(())
            }
        }
        let mut guard = CardinalityGuard::new(limits);
        assert_eq!(
            guard
                .admit(&mut Forgetful, "a", KeyKind::Route, "/1")
                .unwrap(),
            "/1"
        );
        guard.roll_back();
        assert_eq!(
            guard
                .admit(&mut Forgetful, "a", KeyKind::Route, "/2")
                .unwrap(),
            "/2"
        );
    }
}
