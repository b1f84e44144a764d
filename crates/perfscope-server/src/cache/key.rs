//! What identifies a cached answer, and the tags (site, time range) that new events
//! are matched against.

use crate::store::{Scope, TimeRange};
use std::fmt::Debug;

/// One query: its kind and parameters. Site and range are kept apart as the tags that
/// invalidation reads; everything else is folded into `params`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// The query (`summary`, `endpoints`, `series` …): the metric tag.
    pub kind: &'static str,
    pub site: String,
    pub range: TimeRange,
    /// Filter and the query's own parameters, in a canonical form.
    pub params: String,
}

impl CacheKey {
    /// `extra` is everything the answer depends on besides the scope.
    pub fn new(kind: &'static str, scope: &Scope, extra: impl Debug) -> CacheKey {
        CacheKey {
            kind,
            site: scope.site.clone(),
            range: scope.range,
            params: format!("{:?}|{:?}", scope.filter, extra),
        }
    }

    /// Bytes the key occupies, for the layers' byte budgets.
    pub fn weight(&self) -> usize {
        std::mem::size_of::<CacheKey>() + self.site.len() + self.params.len()
    }
}
