//! The Raft log in RocksDB ([`crate::db::CF_LOGS`] and [`crate::db::CF_RAFT`]).
//!
//! Durability: `append` writes its entries as one `WriteBatch` with `sync = true` (on a blocking
//! thread, so the fsync does not stall the async runtime) and reports them flushed only after
//! that write returned. The vote, truncation and purge are synced writes too; the committed log
//! id is not (see `save_committed`).
//!
//! openraft 0.9 appends each proposal separately and waits for its flush before the next one, so
//! group commit happens one level up: `proposer` packs concurrent writes into one entry.
use crate::db::{self, cf, index_key, raft_key, CF_LOGS, CF_RAFT};
use crate::error::{to_raft, Error, Result};
use crate::types::{Entry, LogId, RaftStorageError, TypeConfig, Vote};
use crate::Stats;
use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{LogState, OptionalSend, RaftLogReader, StorageIOError};
use rocksdb::{WriteBatch, WriteOptions, DB};
use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::sync::atomic::Ordering;
use std::sync::Arc;

pub(crate) struct LogStore {
    db: Arc<DB>,
    stats: Arc<Stats>,
}

/// A cheap reader handle for openraft's replication tasks.
pub(crate) struct LogReader {
    db: Arc<DB>,
}

impl LogStore {
    pub(crate) fn new(db: Arc<DB>, stats: Arc<Stats>) -> Self {
        LogStore { db, stats }
    }
}

fn read_range(db: &DB, range: impl RangeBounds<u64>) -> Result<Vec<Entry>> {
    let start = match range.start_bound() {
        Bound::Included(s) => *s,
        Bound::Excluded(s) => s.saturating_add(1),
        Bound::Unbounded => 0,
    };
    let mut it = db.raw_iterator_cf(cf(db, CF_LOGS)?);
    it.seek(index_key(start));
    let mut out = Vec::new();
    while it.valid() {
        let (Some(k), Some(v)) = (it.key(), it.value()) else { break };
        let Ok(k8) = <[u8; 8]>::try_from(k) else { break };
        if !range.contains(&u64::from_be_bytes(k8)) {
            break;
        }
        out.push(db::decode::<Entry>(v)?);
        it.next();
    }
    it.status()?;
    Ok(out)
}

pub(crate) fn last_entry_id(db: &DB) -> Result<Option<LogId>> {
    let mut it = db.raw_iterator_cf(cf(db, CF_LOGS)?);
    it.seek_to_last();
    if it.valid() {
        if let Some(v) = it.value() {
            return Ok(Some(db::decode::<Entry>(v)?.log_id));
        }
    }
    it.status()?;
    Ok(None)
}

impl RaftLogReader<TypeConfig> for LogReader {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> std::result::Result<Vec<Entry>, RaftStorageError> {
        read_range(&self.db, range).map_err(|e| to_raft(e, StorageIOError::read_logs))
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> std::result::Result<Vec<Entry>, RaftStorageError> {
        read_range(&self.db, range).map_err(|e| to_raft(e, StorageIOError::read_logs))
    }
}

impl LogStore {
    fn log_state(&self) -> Result<LogState<TypeConfig>> {
        let last_purged: Option<LogId> = db::get(&self.db, CF_RAFT, raft_key::LAST_PURGED)?;
        let last = last_entry_id(&self.db)?.or(last_purged);
        Ok(LogState { last_purged_log_id: last_purged, last_log_id: last })
    }

    fn put_raft_key<T: serde::Serialize>(&self, key: &[u8], value: &T, sync: bool) -> Result<()> {
        let opts = if sync { db::sync_write() } else { WriteOptions::default() };
        self.db.put_cf_opt(cf(&self.db, CF_RAFT)?, key, db::encode(value)?, &opts)?;
        Ok(())
    }

    fn delete_from(&self, index: u64) -> Result<()> {
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(cf(&self.db, CF_LOGS)?, index_key(index), index_key(u64::MAX));
        // delete_range excludes its end; no entry ever has index u64::MAX.
        batch.delete_cf(cf(&self.db, CF_LOGS)?, index_key(u64::MAX));
        self.db.write_opt(batch, &db::sync_write())?;
        Ok(())
    }

    fn purge_upto(&self, log_id: &LogId) -> Result<()> {
        let mut batch = WriteBatch::default();
        batch.put_cf(cf(&self.db, CF_RAFT)?, raft_key::LAST_PURGED, db::encode(log_id)?);
        batch.delete_range_cf(cf(&self.db, CF_LOGS)?, index_key(0), index_key(log_id.index.saturating_add(1)));
        self.db.write_opt(batch, &db::sync_write())?;
        Ok(())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogReader;

    async fn get_log_state(&mut self) -> std::result::Result<LogState<TypeConfig>, RaftStorageError> {
        self.log_state().map_err(|e| to_raft(e, StorageIOError::read_logs))
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        LogReader { db: self.db.clone() }
    }

    async fn save_vote(&mut self, vote: &Vote) -> std::result::Result<(), RaftStorageError> {
        self.put_raft_key(raft_key::VOTE, vote, true).map_err(|e| to_raft(e, StorageIOError::write_vote))
    }

    async fn read_vote(&mut self) -> std::result::Result<Option<Vote>, RaftStorageError> {
        db::get(&self.db, CF_RAFT, raft_key::VOTE).map_err(|e| to_raft(e, StorageIOError::read_vote))
    }

    /// Written without its own fsync: it becomes durable with the next synced write (the next
    /// append; RocksDB's write-ahead log is sequential). Losing it is safe: on restart openraft starts from the state machine's
    /// `last_applied`, which is written in the same batch as the data it covers, and the leader
    /// commits the remaining logged entries again.
    async fn save_committed(&mut self, committed: Option<LogId>) -> std::result::Result<(), RaftStorageError> {
        self.put_raft_key(raft_key::COMMITTED, &committed, false).map_err(|e| to_raft(e, StorageIOError::write))
    }

    async fn read_committed(&mut self) -> std::result::Result<Option<LogId>, RaftStorageError> {
        let c: Option<Option<LogId>> =
            db::get(&self.db, CF_RAFT, raft_key::COMMITTED).map_err(|e| to_raft(e, StorageIOError::read))?;
        Ok(c.flatten())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> std::result::Result<(), RaftStorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut encoded = Vec::new();
        for e in entries {
            encoded
                .push((index_key(e.log_id.index), db::encode(&e).map_err(|e| to_raft(e, StorageIOError::write_logs))?));
        }
        let n = encoded.len() as u64;
        let db = self.db.clone();
        let written = tokio::task::spawn_blocking(move || -> Result<()> {
            let logs = cf(&db, CF_LOGS)?;
            let mut batch = WriteBatch::default();
            for (k, v) in encoded {
                batch.put_cf(logs, k, v);
            }
            db.write_opt(batch, &db::sync_write())?;
            Ok(())
        })
        .await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(to_raft(e, StorageIOError::write_logs)),
            Err(join) => {
                return Err(to_raft(Error::Task(format!("log write task failed: {join}")), StorageIOError::write_logs))
            }
        }
        self.stats.appends.fetch_add(1, Ordering::Relaxed);
        self.stats.entries.fetch_add(n, Ordering::Relaxed);
        self.stats.log_syncs.fetch_add(1, Ordering::Relaxed);
        callback.log_io_completed(Ok(()));
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId) -> std::result::Result<(), RaftStorageError> {
        self.delete_from(log_id.index).map_err(|e| to_raft(e, StorageIOError::write_logs))
    }

    async fn purge(&mut self, log_id: LogId) -> std::result::Result<(), RaftStorageError> {
        self.purge_upto(&log_id).map_err(|e| to_raft(e, StorageIOError::write_logs))?;
        self.stats.purges.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}
