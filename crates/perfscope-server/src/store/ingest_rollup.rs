//! The rollup cells one group commit adds: every stored event folded, in memory, into
//! its minute, hour and day rows of each grouping set, so the commit upserts each
//! distinct row once however many events it carries.

use super::rollup::{Grouping, Level, ANY};
use super::sketch::Sketch;
use perfscope_model::Dimension;
use std::collections::HashMap;

/// `kind` column of rollup rows.
pub const VITAL: i64 = 0;
pub const API: i64 = 1;

/// Site and the five dimensions, as stored (`ANY` where a grouping aggregated over it).
pub type ContextKey = [String; 6];

/// Small integer keys instead of strings: a commit of thousands of events adds each to
/// up to sixteen cells, and hashing six strings per cell would dominate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CellKey {
    pub level: Level,
    pub bucket: i64,
    pub grouping: i64,
    pub kind: i64,
    pub metric: u32,
    pub context: u32,
}

#[derive(Default)]
pub struct Cell {
    pub good: u64,
    pub needs_improvement: u64,
    pub poor: u64,
    pub errors: u64,
    pub sketch: Sketch,
}

/// Every grouping any level keeps, each with the context id its rows use.
pub struct Contexts(Vec<(Grouping, u32)>);

#[derive(Default)]
pub struct RollupBatch {
    cells: HashMap<CellKey, Cell>,
    contexts: Vec<ContextKey>,
    context_ids: HashMap<ContextKey, u32>,
    metrics: Vec<String>,
    metric_ids: HashMap<String, u32>,
}

impl RollupBatch {
    /// The context ids of one batch's page context under every grouping; computed once
    /// per batch, used for each of its events.
    pub fn contexts_for(
        &mut self,
        site: &str,
        route: &str,
        device: &str,
        browser: &str,
        connection: &str,
        navigation_type: &str,
    ) -> Contexts {
        let ids = Grouping::ALL
            .into_iter()
            .map(|grouping| {
                let keep = |dimension: Dimension, value: &str| {
                    if grouping.keeps(dimension) {
                        value.to_string()
                    } else {
                        ANY.to_string()
                    }
                };
                let key = [
                    site.to_string(),
                    keep(Dimension::Route, route),
                    keep(Dimension::Device, device),
                    keep(Dimension::Browser, browser),
                    keep(Dimension::Connection, connection),
                    keep(Dimension::NavigationType, navigation_type),
                ];
                let next = self.contexts.len() as u32;
                let id = *self.context_ids.entry(key.clone()).or_insert(next);
                if id == next {
                    self.contexts.push(key);
                }
                (grouping, id)
            })
            .collect();
        Contexts(ids)
    }

    /// Adds one stored event to all its cells; `mark` counts its rating band or error.
    pub fn add(
        &mut self,
        contexts: &Contexts,
        kind: i64,
        metric: &str,
        ts: i64,
        value: f64,
        mark: impl Fn(&mut Cell),
    ) {
        let metric = match self.metric_ids.get(metric) {
            Some(id) => *id,
            None => {
                let id = self.metrics.len() as u32;
                self.metrics.push(metric.to_string());
                self.metric_ids.insert(metric.to_string(), id);
                id
            }
        };
        for level in Level::ALL {
            let bucket = level.bucket_of(ts);
            for (grouping, context) in &contexts.0 {
                if !level.groupings().contains(grouping) {
                    continue;
                }
                let key = CellKey {
                    level,
                    bucket,
                    grouping: grouping.code(),
                    kind,
                    metric,
                    context: *context,
                };
                let cell = self.cells.entry(key).or_default();
                cell.sketch.add(value);
                mark(cell);
            }
        }
    }

    pub fn into_parts(self) -> (Vec<(CellKey, Cell)>, Vec<ContextKey>, Vec<String>) {
        (
            self.cells.into_iter().collect(),
            self.contexts,
            self.metrics,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_event_lands_in_two_minute_and_seven_hour_and_day_cells() {
        let mut batch = RollupBatch::default();
        let contexts = batch.contexts_for("s", "/a", "mobile", "chrome", "4g", "navigate");
        batch.add(&contexts, VITAL, "LCP", 90_061_000, 1000.0, |c| c.good += 1);
        batch.add(&contexts, VITAL, "LCP", 90_062_000, 3000.0, |c| {
            c.needs_improvement += 1
        });
        let (cells, context_keys, metrics) = batch.into_parts();
        assert_eq!(cells.len(), 2 + 7 + 7);
        assert_eq!(metrics, vec!["LCP".to_string()]);
        for (key, cell) in &cells {
            assert_eq!(cell.sketch.count(), 2, "{key:?}");
            assert_eq!((cell.good, cell.needs_improvement), (1, 1));
        }
        let total = cells
            .iter()
            .find(|(k, _)| k.grouping == Grouping::Total.code() && k.level == Level::Day)
            .unwrap();
        assert_eq!(total.0.bucket, 86_400_000);
        assert_eq!(
            context_keys[total.0.context as usize],
            ["s", "", "", "", "", ""].map(String::from)
        );
    }
}
