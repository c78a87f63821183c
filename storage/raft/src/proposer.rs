//! Group commit: packs concurrent writes into one Raft entry.
//!
//! openraft 0.9 gives every `client_write` its own log append and waits for that append's fsync
//! before taking the next one, so N concurrent writes would cost N fsyncs in a row. Instead, all
//! writes go to one proposer task, which keeps a single proposal in flight: while an entry is
//! being synced and applied, the writes that arrive queue up, and the next entry carries all of
//! them (each write's operations in order, so each stays atomic inside the entry, which is
//! applied as one `WriteBatch`). Every writer of an entry gets its outcome once it is applied.
use crate::error::{duplicate, from_client_write, stopped};
use crate::types::{Op, Raft, Request};
use crate::Stats;
use coffer_storage::StorageError;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// At most this many writes share one entry...
const MAX_WRITES_PER_ENTRY: usize = 1024;
/// ...and at most about this many bytes of keys and values (a larger single write goes alone).
const MAX_BYTES_PER_ENTRY: usize = 4 << 20;

pub(crate) struct Proposal {
    ops: Vec<Op>,
    done: oneshot::Sender<Result<(), StorageError>>,
}

/// The writers' side of the proposer. Dropping every clone stops the task.
#[derive(Clone)]
pub(crate) struct Proposer {
    tx: mpsc::UnboundedSender<Proposal>,
}

fn size(ops: &[Op]) -> usize {
    ops.iter()
        .map(|op| match op {
            Op::Put { key, value } => key.len() + value.len(),
            Op::Delete { key } => key.len(),
        })
        .sum()
}

impl Proposer {
    pub(crate) fn spawn(raft: Raft, stats: Arc<Stats>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(raft, rx, stats));
        Proposer { tx }
    }

    /// Returns once `ops` are committed and applied, or why not.
    pub(crate) async fn propose(&self, ops: Vec<Op>) -> Result<(), StorageError> {
        let (done, rx) = oneshot::channel();
        self.tx.send(Proposal { ops, done }).map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }
}

async fn run(raft: Raft, mut rx: mpsc::UnboundedReceiver<Proposal>, stats: Arc<Stats>) {
    while let Some(first) = rx.recv().await {
        let mut bytes = size(&first.ops);
        let mut ops = first.ops;
        let mut waiting = vec![first.done];
        while waiting.len() < MAX_WRITES_PER_ENTRY && bytes < MAX_BYTES_PER_ENTRY {
            let Ok(next) = rx.try_recv() else { break };
            bytes += size(&next.ops);
            ops.extend(next.ops);
            waiting.push(next.done);
        }
        stats.writes.fetch_add(waiting.len() as u64, Ordering::Relaxed);
        let outcome = raft.client_write(Request { ops }).await.map(|_| ()).map_err(from_client_write);
        for w in waiting {
            // A writer that gave up waiting is no longer listening; nothing to do for it.
            let _ = w.send(outcome.as_ref().map(|_| ()).map_err(duplicate));
        }
    }
}
