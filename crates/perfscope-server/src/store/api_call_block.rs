//! How the SQLite store keeps raw API calls: the new calls of one batch that fall in one
//! minute are one row, their fields packed into a postcard-encoded block.
//!
//! A batch carries tens of API calls with the same page context. A row and an index
//! entry per call (with that context repeated in each) made B-tree inserts the writer's
//! main cost; a block is one row and one index entry per batch and minute. Reads of raw
//! calls (a range's sub-minute ends, the CSV export, retention) decode the blocks of
//! the minutes they cover. Deduplication stays exact, by id, apart from the blocks
//! (`seen_counters`).

use perfscope_model::ApiCallEvent;
use serde::{Deserialize, Serialize};

/// One stored call. It borrows its text, from the decoded batch when the writer
/// builds a block and from the block's bytes when a query reads one back: the ragged
/// ends of every range decode whole blocks, and a `String` per field was most of what
/// that cost.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredCall<'a> {
    pub id: &'a str,
    pub ts: i64,
    pub method: &'a str,
    pub path: &'a str,
    /// Where rollups count the call when that is not `path`: `other` past the site's
    /// endpoint cap.
    pub capped_path: Option<&'a str>,
    pub status: u16,
    pub duration: f64,
    pub outcome: &'a str,
    pub is_error: bool,
    pub response_size: Option<u64>,
    /// DNS, connect, TTFB, download.
    pub timing: Option<[f64; 4]>,
}

impl<'a> StoredCall<'a> {
    /// `call` as the writer stores it, at `ts` (whole milliseconds) and counted under
    /// `endpoint_path`.
    pub fn new(call: &'a ApiCallEvent, ts: i64, endpoint_path: &'a str) -> StoredCall<'a> {
        StoredCall {
            id: &call.id,
            ts,
            method: &call.method,
            path: &call.path,
            capped_path: (endpoint_path != call.path).then_some(endpoint_path),
            status: call.status,
            duration: call.duration,
            outcome: super::outcome_name(call.outcome),
            is_error: call.is_error(),
            response_size: call.response_size,
            timing: call.timing.map(|t| [t.dns, t.connect, t.ttfb, t.download]),
        }
    }

    /// The path the call is counted under (in rollups, filters and series).
    pub fn endpoint_path(&self) -> &'a str {
        self.capped_path.unwrap_or(self.path)
    }
}

/// A new block, or what is left of one after retention took its older calls.
pub fn encode(calls: &[StoredCall<'_>]) -> Vec<u8> {
    // Serialising plain strings, numbers and options into a Vec cannot fail.
    postcard::to_allocvec(calls).expect("postcard encodes in-memory data infallibly")
}

pub fn decode(block: &[u8]) -> anyhow::Result<Vec<StoredCall<'_>>> {
    postcard::from_bytes(block).map_err(|err| anyhow::anyhow!("corrupt API call block: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfscope_model::{ApiOutcome, NetworkTiming};

    #[test]
    fn a_block_reads_back_what_was_written() {
        let calls = [
            ApiCallEvent {
                id: "a".into(),
                ts: 1000.4,
                method: "GET".into(),
                path: "/x/:id".into(),
                status: 503,
                duration: 12.5,
                outcome: ApiOutcome::HttpError,
                response_size: Some(10),
                timing: Some(NetworkTiming {
                    dns: 1.0,
                    connect: 2.0,
                    ttfb: 3.0,
                    download: 4.0,
                }),
            },
            ApiCallEvent {
                id: "b".into(),
                ts: 2000.0,
                method: "POST".into(),
                path: "/random/123".into(),
                status: 0,
                duration: 7.0,
                outcome: ApiOutcome::Aborted,
                response_size: None,
                timing: None,
            },
        ];
        let block = encode(&[
            StoredCall::new(&calls[0], 1000, "/x/:id"),
            StoredCall::new(&calls[1], 2000, "other"),
        ]);
        let stored = decode(&block).unwrap();
        assert_eq!(stored.len(), 2);
        assert_eq!(
            (stored[0].id, stored[0].ts, stored[0].endpoint_path()),
            ("a", 1000, "/x/:id")
        );
        assert_eq!(stored[0].timing, Some([1.0, 2.0, 3.0, 4.0]));
        assert!(stored[0].is_error);
        assert_eq!(
            (
                stored[1].outcome,
                stored[1].is_error,
                stored[1].endpoint_path()
            ),
            ("aborted", false, "other")
        );
        assert_eq!(stored[1].path, "/random/123");
        assert!(decode(&block[..block.len() - 3]).is_err());
    }
}
