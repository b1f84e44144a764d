//! The rollup cells one group commit adds: every stored event folded, in memory, into
//! its minute, ten-minute, hour and day rows of each grouping set, so the commit upserts each
//! distinct row once however many events it carries.
//!
//! An event is added once, to its full-context minute cell; only when the commit is
//! written are those cells merged into every level and grouping. A commit carries many
//! events per (context, metric, minute), so this costs one sketch insert per event and
//! one sketch merge per derived row, instead of eighteen inserts per event.

use super::rollup::{Grouping, Level, ANY};
use super::sketch::Sketch;
use perfscope_model::Dimension;
// Keys are small integers and short strings hashed many times per commit; SipHash
// showed up in the writer's profile.
use foldhash::HashMap;

/// `kind` column of rollup rows.
pub const VITAL: i64 = 0;
pub const API: i64 = 1;

/// Site and the five dimensions, as stored (`ANY` where a grouping aggregated over it).
pub type ContextKey = [String; 6];

/// Small integer keys instead of strings: a commit of thousands of events adds each to
/// up to eighteen cells, and hashing six strings per cell would dominate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CellKey {
    pub level: Level,
    pub bucket: i64,
    pub grouping: i64,
    pub kind: i64,
    pub metric: u32,
    pub context: u32,
}

/// What a commit changes in one rollup row. Counts are signed: a replaced CLS or INP
/// report takes its rating back out of the cell it was counted in.
#[derive(Default)]
pub struct Cell {
    pub good: i64,
    pub needs_improvement: i64,
    pub poor: i64,
    pub errors: i64,
    /// Samples added.
    pub sketch: Sketch,
    /// Samples of replaced reports to take out; empty for nearly every cell.
    pub removed: Sketch,
}

impl Cell {
    fn merge(&mut self, other: &Cell) {
        self.good += other.good;
        self.needs_improvement += other.needs_improvement;
        self.poor += other.poor;
        self.errors += other.errors;
        self.sketch.merge(&other.sketch);
        self.removed.merge(&other.removed);
    }
}

/// One batch's page context with nothing aggregated away, as an id into the commit's
/// table of full contexts.
pub struct Contexts(u32);

/// Where an event is first folded: its full context, metric and minute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct MinuteKey {
    context: u32,
    kind: i64,
    metric: u32,
    minute: i64,
}

#[derive(Default)]
pub struct RollupBatch {
    minutes: HashMap<MinuteKey, Cell>,
    full_contexts: Vec<ContextKey>,
    full_context_ids: HashMap<ContextKey, u32>,
    metrics: Vec<String>,
    metric_ids: HashMap<String, u32>,
}

impl RollupBatch {
    /// The context of one batch; looked up once per batch, used for each of its events.
    pub fn contexts_for(
        &mut self,
        site: &str,
        route: &str,
        device: &str,
        browser: &str,
        connection: &str,
        navigation_type: &str,
    ) -> Contexts {
        let key = [site, route, device, browser, connection, navigation_type].map(String::from);
        if let Some(id) = self.full_context_ids.get(&key) {
            return Contexts(*id);
        }
        let id = self.full_contexts.len() as u32;
        self.full_contexts.push(key.clone());
        self.full_context_ids.insert(key, id);
        Contexts(id)
    }

    fn cell(&mut self, contexts: &Contexts, kind: i64, metric: &str, ts: i64) -> &mut Cell {
        let metric = match self.metric_ids.get(metric) {
            Some(id) => *id,
            None => {
                let id = self.metrics.len() as u32;
                self.metrics.push(metric.to_string());
                self.metric_ids.insert(metric.to_string(), id);
                id
            }
        };
        let key = MinuteKey {
            context: contexts.0,
            kind,
            metric,
            minute: Level::Minute.bucket_of(ts),
        };
        self.minutes.entry(key).or_default()
    }

    /// Adds one stored event; `mark` counts its rating band or error.
    pub fn add(
        &mut self,
        contexts: &Contexts,
        kind: i64,
        metric: &str,
        ts: i64,
        value: f64,
        mark: impl Fn(&mut Cell),
    ) {
        let cell = self.cell(contexts, kind, metric, ts);
        cell.sketch.add(value);
        mark(cell);
    }

    /// Takes back an event counted before (in this commit or an earlier one); `unmark`
    /// uncounts its rating band.
    pub fn remove(
        &mut self,
        contexts: &Contexts,
        kind: i64,
        metric: &str,
        ts: i64,
        value: f64,
        unmark: impl Fn(&mut Cell),
    ) {
        let cell = self.cell(contexts, kind, metric, ts);
        cell.removed.add(value);
        unmark(cell);
    }

    /// Every row the commit writes, at every level and grouping, with the stored
    /// contexts (indexed by `CellKey::context`) and metric names (by `CellKey::metric`).
    pub fn into_parts(self) -> (Vec<(CellKey, Cell)>, Vec<ContextKey>, Vec<String>) {
        let mut contexts: Vec<ContextKey> = Vec::new();
        let mut context_ids: HashMap<ContextKey, u32> = HashMap::default();
        // Per full context, the stored context id of each grouping.
        let grouped: Vec<Vec<(Grouping, u32)>> = self
            .full_contexts
            .iter()
            .map(|full| {
                Grouping::ALL
                    .into_iter()
                    .map(|grouping| {
                        let key = grouped_context(full, grouping);
                        let next = contexts.len() as u32;
                        let id = *context_ids.entry(key.clone()).or_insert(next);
                        if id == next {
                            contexts.push(key);
                        }
                        (grouping, id)
                    })
                    .collect()
            })
            .collect();
        let mut cells: HashMap<CellKey, Cell> = HashMap::default();
        for (minute, cell) in &self.minutes {
            for level in Level::ALL {
                let bucket = level.bucket_of(minute.minute);
                for (grouping, context) in &grouped[minute.context as usize] {
                    if !level.groupings().contains(grouping) {
                        continue;
                    }
                    let key = CellKey {
                        level,
                        bucket,
                        grouping: grouping.code(),
                        kind: minute.kind,
                        metric: minute.metric,
                        context: *context,
                    };
                    cells.entry(key).or_default().merge(cell);
                }
            }
        }
        (cells.into_iter().collect(), contexts, self.metrics)
    }
}

/// `full` with `ANY` in every dimension `grouping` aggregates away.
fn grouped_context(full: &ContextKey, grouping: Grouping) -> ContextKey {
    let mut key = full.clone();
    // The key holds the site, then the dimensions in `Dimension::ALL` order.
    for (value, dimension) in key[1..].iter_mut().zip(Dimension::ALL) {
        if !grouping.keeps(dimension) {
            *value = ANY.to_string();
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_event_lands_in_two_minute_and_ten_minute_cells_and_seven_hour_and_day_cells() {
        let mut batch = RollupBatch::default();
        let contexts = batch.contexts_for("s", "/a", "mobile", "chrome", "4g", "navigate");
        batch.add(&contexts, VITAL, "LCP", 90_061_000, 1000.0, |c| c.good += 1);
        batch.add(&contexts, VITAL, "LCP", 90_062_000, 3000.0, |c| {
            c.needs_improvement += 1
        });
        let (cells, context_keys, metrics) = batch.into_parts();
        assert_eq!(cells.len(), 2 + 2 + 7 + 7);
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

    #[test]
    fn a_replaced_report_is_taken_out_of_its_own_minute_and_every_row_above() {
        let mut batch = RollupBatch::default();
        let contexts = batch.contexts_for("s", "/a", "mobile", "chrome", "4g", "navigate");
        batch.remove(&contexts, VITAL, "CLS", 60_000, 0.05, |c| c.good -= 1);
        batch.add(&contexts, VITAL, "CLS", 180_000, 0.3, |c| c.poor += 1);
        let (cells, _, _) = batch.into_parts();
        for (key, cell) in &cells {
            let (added, removed) = (cell.sketch.count(), cell.removed.count());
            let bands = (cell.good, cell.poor);
            match (key.level, key.bucket) {
                (Level::Minute, 60_000) => assert_eq!((added, removed, bands), (0, 1, (-1, 0))),
                (Level::Minute, _) => assert_eq!((added, removed, bands), (1, 0, (0, 1))),
                _ => assert_eq!((added, removed, bands), (1, 1, (-1, 1)), "{key:?}"),
            }
        }
        assert_eq!(cells.len(), 2 * 2 + 2 + 7 + 7);
    }

    #[test]
    fn coarser_rows_merge_every_context_and_minute_they_cover() {
        let mut batch = RollupBatch::default();
        let phone = batch.contexts_for("s", "/a", "mobile", "chrome", "4g", "navigate");
        let laptop = batch.contexts_for("s", "/b", "desktop", "chrome", "4g", "navigate");
        let hour = 3_600_000 * 25;
        // Two minutes of the same hour on the phone, one of them also on the laptop.
        for (context, minute, value) in [
            (&phone, 0, 100.0),
            (&phone, 0, 200.0),
            (&phone, 1, 300.0),
            (&laptop, 1, 400.0),
        ] {
            batch.add(context, API, "GET /x", hour + minute * 60_000, value, |c| {
                c.errors += 1
            });
        }
        let (cells, contexts, _) = batch.into_parts();
        let find = |level: Level, grouping: Grouping, context: [&str; 6]| {
            let context = context.map(String::from);
            let matching: Vec<&Cell> = cells
                .iter()
                .filter(|(k, _)| {
                    k.level == level
                        && k.grouping == grouping.code()
                        && contexts[k.context as usize] == context
                })
                .map(|(_, cell)| cell)
                .collect();
            assert_eq!(matching.len(), 1, "{level:?} {grouping:?} {context:?}");
            matching[0]
        };
        let total = find(Level::Hour, Grouping::Total, ["s", "", "", "", "", ""]);
        assert_eq!((total.sketch.count(), total.errors), (4, 4));
        assert_eq!(total.sketch.quantile(1.0), Some(400.0));
        let mobile = find(
            Level::Day,
            Grouping::Single(Dimension::Device),
            ["s", "", "mobile", "", "", ""],
        );
        assert_eq!(
            (mobile.sketch.count(), mobile.sketch.quantile(1.0)),
            (3, Some(300.0))
        );
        let chrome = find(
            Level::Hour,
            Grouping::Single(Dimension::Browser),
            ["s", "", "", "chrome", "", ""],
        );
        assert_eq!(chrome.sketch.count(), 4);
        let first_minute = cells
            .iter()
            .filter(|(k, _)| k.level == Level::Minute && k.bucket == hour)
            .map(|(_, cell)| cell.sketch.count())
            .sum::<u64>();
        // Total and full rows of the first minute, the phone's two events in each.
        assert_eq!(first_minute, 4);
        // Minute: 2 minutes × (total + full rows for each context there); the
        // ten minutes holding both: total + full rows for both contexts.
        // Hour and day: total, and per context the full row and five single rows,
        // of which the browser, connection and navigation ones are shared.
        assert_eq!(
            cells.len(),
            (1 + 1) + (1 + 2) + (1 + 2) + 2 * (1 + 2 + 2 + 2 + 1 + 1 + 1)
        );
        let ten = find(
            Level::TenMinutes,
            Grouping::Full,
            ["s", "/a", "mobile", "chrome", "4g", "navigate"],
        );
        assert_eq!(ten.sketch.count(), 3);
    }
}
