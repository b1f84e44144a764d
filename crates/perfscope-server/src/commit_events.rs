//! What the write path tells the rest of the collector after each group commit: which
//! sites got events, and the event-time range of those events.

use crate::cache::TouchedRange;
use crate::store::AcceptedBatch;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// Sites and event-time ranges of one commit.
pub type Touched = HashMap<String, TouchedRange>;

/// Awaited by the writer after a commit and before the requests are answered, so a
/// client that got its reply never reads an answer cached before its events.
pub type CommitListener =
    Arc<dyn Fn(Touched) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// The event-time range each site's events in `batches` span.
pub fn touched_ranges(batches: &[AcceptedBatch]) -> Touched {
    let mut touched = Touched::new();
    for accepted in batches {
        let batch = &accepted.batch;
        let times = batch
            .vitals
            .iter()
            .map(|e| e.ts)
            .chain(batch.api_calls.iter().map(|e| e.ts))
            .chain(batch.long_frames.iter().map(|e| e.ts))
            .chain(batch.custom_metrics.iter().map(|e| e.ts))
            .chain(batch.assets.iter().map(|e| e.ts))
            .chain(batch.memory.iter().map(|e| e.ts));
        // One range per batch, merged into its site's once: the site's name is not
        // cloned for every event.
        let mut range: Option<TouchedRange> = None;
        for ts in times {
            // Stored timestamps are whole milliseconds; widen to cover either rounding.
            let (low, high) = (ts.floor() as i64, ts.ceil() as i64);
            let r = range.get_or_insert(TouchedRange {
                min_ts: low,
                max_ts: high,
                events: 0,
            });
            r.min_ts = r.min_ts.min(low);
            r.max_ts = r.max_ts.max(high);
            r.events += 1;
        }
        let Some(range) = range else { continue };
        match touched.get_mut(&batch.site) {
            Some(t) => {
                t.min_ts = t.min_ts.min(range.min_ts);
                t.max_ts = t.max_ts.max(range.max_ts);
                t.events += range.events;
            }
            None => {
                touched.insert(batch.site.clone(), range);
            }
        }
    }
    touched
}
