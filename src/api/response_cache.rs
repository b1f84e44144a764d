//! A short-lived cache of API answers, so views opened one after another, and a view
//! re-rendered by a filter change and back, do not ask the collector twice.

use std::collections::HashMap;
use std::rc::Rc;

pub struct ResponseCache {
    ttl_ms: f64,
    max_entries: usize,
    entries: HashMap<String, (f64, Rc<str>)>,
}

impl ResponseCache {
    pub fn new(ttl_ms: f64, max_entries: usize) -> ResponseCache {
        ResponseCache {
            ttl_ms,
            max_entries,
            entries: HashMap::new(),
        }
    }

    /// The stored body for `key` if it is younger than the TTL at `now_ms`.
    pub fn get(&mut self, key: &str, now_ms: f64) -> Option<Rc<str>> {
        match self.entries.get(key) {
            Some((stored, body)) if now_ms - stored < self.ttl_ms => Some(Rc::clone(body)),
            Some(_) => {
                self.entries.remove(key);
                None
            }
            None => None,
        }
    }

    pub fn put(&mut self, key: String, body: Rc<str>, now_ms: f64) {
        if self.entries.len() >= self.max_entries {
            let ttl = self.ttl_ms;
            self.entries.retain(|_, (stored, _)| now_ms - *stored < ttl);
        }
        if self.entries.len() >= self.max_entries {
            let oldest = self
                .entries
                .iter()
                .min_by(|a, b| a.1 .0.total_cmp(&b.1 .0))
                .map(|(key, _)| key.clone());
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        self.entries.insert(key, (now_ms, body));
    }

    /// After a change (acknowledge, silence, sign-in) every stored answer may be stale.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_expire_after_the_ttl() {
        let mut cache = ResponseCache::new(1000.0, 8);
        cache.put("a".into(), Rc::from("body"), 0.0);
        assert_eq!(cache.get("a", 999.0).as_deref(), Some("body"));
        assert_eq!(cache.get("a", 1000.0), None);
        assert_eq!(cache.len(), 0, "an expired entry is dropped when read");
        assert_eq!(cache.get("missing", 0.0), None);
    }

    #[test]
    fn stays_within_its_size_dropping_the_oldest() {
        let mut cache = ResponseCache::new(10_000.0, 2);
        cache.put("a".into(), Rc::from("1"), 0.0);
        cache.put("b".into(), Rc::from("2"), 1.0);
        cache.put("c".into(), Rc::from("3"), 2.0);
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get("a", 3.0), None);
        assert!(cache.get("b", 3.0).is_some() && cache.get("c", 3.0).is_some());
        cache.clear();
        assert_eq!(cache.len(), 0);
    }
}
