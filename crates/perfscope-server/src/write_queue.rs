//! The write path: a bounded queue and one writer that commits many batches per
//! transaction, answering each request only once its batch is on disk.

use crate::commit_events::{touched_ranges, CommitListener};
use crate::store::{AcceptedBatch, InsertOutcome, Store};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Batches committed together at most; bounds the latency one transaction adds.
const MAX_GROUP: usize = 256;

/// How long the writer may wait for a group to fill before committing it. The clients
/// a commit answers send their next batches together, and the handlers decode them
/// one by one: taking whatever has arrived at once made a few large commits alternate
/// with many small ones, and a small commit costs more per event (each pays for the
/// pages it dirties and the commit itself).
const FILL_WAIT: std::time::Duration = std::time::Duration::from_millis(3);

struct Job {
    batch: AcceptedBatch,
    done: oneshot::Sender<Result<InsertOutcome, String>>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnqueueError {
    #[error("write queue is full")]
    Full,
    #[error("collector is shutting down")]
    Closed,
    #[error("storage failed: {0}")]
    Storage(String),
}

/// Cheap to clone; the writer stops after the last clone is dropped and the queue is
/// empty, which is how shutdown drains it.
#[derive(Clone)]
pub struct WriteQueue {
    sender: mpsc::Sender<Job>,
}

impl WriteQueue {
    /// Starts the writer task. Await the handle after dropping every `WriteQueue` to
    /// know that everything accepted has been committed.
    pub fn start(store: Arc<dyn Store>, capacity: usize) -> (WriteQueue, JoinHandle<()>) {
        Self::start_with_listener(store, capacity, None)
    }

    /// Like `start`; `listener` hears of each commit before its requests are answered.
    pub fn start_with_listener(
        store: Arc<dyn Store>,
        capacity: usize,
        listener: Option<CommitListener>,
    ) -> (WriteQueue, JoinHandle<()>) {
        let (sender, receiver) = mpsc::channel(capacity);
        let writer = tokio::spawn(run_writer(store, receiver, listener));
        (WriteQueue { sender }, writer)
    }

    /// Resolves once the batch is committed. Fails at once, without waiting, when the
    /// queue is full: the caller turns that into a 503 so memory stays bounded.
    pub async fn submit(&self, batch: AcceptedBatch) -> Result<InsertOutcome, EnqueueError> {
        let (done, outcome) = oneshot::channel();
        self.sender
            .try_send(Job { batch, done })
            .map_err(|err| match err {
                mpsc::error::TrySendError::Full(_) => EnqueueError::Full,
                mpsc::error::TrySendError::Closed(_) => EnqueueError::Closed,
            })?;
        match outcome.await {
            Ok(result) => result.map_err(EnqueueError::Storage),
            Err(_) => Err(EnqueueError::Closed),
        }
    }

    pub fn depth(&self) -> usize {
        self.sender.max_capacity() - self.sender.capacity()
    }
}

async fn run_writer(
    store: Arc<dyn Store>,
    mut receiver: mpsc::Receiver<Job>,
    listener: Option<CommitListener>,
) {
    let mut jobs = Vec::with_capacity(MAX_GROUP);
    let mut last_group = 0;
    while receiver.recv_many(&mut jobs, MAX_GROUP).await > 0 {
        // Waits only while the last group was larger, so a lone client under light load
        // is never delayed; under a steady load the group grows back to about its size.
        let deadline = tokio::time::Instant::now() + FILL_WAIT;
        while jobs.len() < last_group / 2 {
            let more = MAX_GROUP - jobs.len();
            match tokio::time::timeout_at(deadline, receiver.recv_many(&mut jobs, more)).await {
                Ok(received) if received > 0 => {}
                _ => break,
            }
        }
        last_group = jobs.len();
        // Batches move to the blocking pool; only the reply channels stay here.
        let (batches, replies): (Vec<AcceptedBatch>, Vec<_>) =
            jobs.drain(..).map(|job| (job.batch, job.done)).unzip();
        let touched = listener.as_ref().map(|_| touched_ranges(&batches));
        let store = Arc::clone(&store);
        let result = tokio::task::spawn_blocking(move || store.insert_batches(&batches))
            .await
            .map_err(anyhow::Error::from)
            .and_then(|r| r);
        match result {
            Ok(outcomes) => {
                if let (Some(listener), Some(touched)) = (&listener, touched) {
                    listener(touched).await;
                }
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(err) => {
                tracing::error!(error = ?err, batches = replies.len(), "group commit failed");
                for reply in replies {
                    let _ = reply.send(Err(err.to_string()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Scope, SqliteStore, TimeRange};
    use perfscope_model::{Batch, VitalEvent, VitalName};

    fn batch(page_view: &str, n: usize) -> AcceptedBatch {
        let batch = Batch {
            site: "demo".into(),
            page_view: page_view.into(),
            seq: 0,
            page: "/".into(),
            vitals: (0..n)
                .map(|i| VitalEvent {
                    id: format!("{page_view}-{i}"),
                    ts: 1000.0,
                    name: VitalName::Fcp,
                    value: 100.0,
                    attribution: None,
                })
                .collect(),
            ..Batch::default()
        };
        AcceptedBatch {
            batch,
            browser: "chrome".into(),
            received_ms: 1000,
        }
    }

    #[tokio::test]
    async fn concurrent_batches_are_all_committed_and_shutdown_drains() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("q.db")).unwrap());
        let (queue, writer) = WriteQueue::start(Arc::clone(&store), 1000);
        let submits: Vec<_> = (0..200)
            .map(|i| {
                let queue = queue.clone();
                tokio::spawn(async move { queue.submit(batch(&format!("pv{i}"), 5)).await })
            })
            .collect();
        for submit in submits {
            submit.await.unwrap().unwrap();
        }
        drop(queue);
        writer.await.unwrap();
        let scope = Scope {
            site: "demo".into(),
            range: TimeRange {
                from: 0,
                to: 3_600_000,
            },
            filter: Default::default(),
        };
        let fcp = store.vitals(&scope).unwrap()[3].clone();
        assert_eq!((fcp.name, fcp.count), (VitalName::Fcp, 1000));
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once() {
        // No writer: the one slot stays taken, as it would behind a slow disk.
        let (sender, _receiver) = mpsc::channel(1);
        let queue = WriteQueue { sender };
        let waiting = tokio::spawn({
            let queue = queue.clone();
            async move { queue.submit(batch("a", 1)).await }
        });
        while queue.depth() == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(queue.submit(batch("b", 1)).await, Err(EnqueueError::Full));
        waiting.abort();
    }
}
