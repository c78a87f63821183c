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
use std::collections::VecDeque;
use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};

/// At most this many of the newest entries are kept in memory after their append.
const TAIL_ENTRIES: usize = 64;

/// The newest log entries, with consecutive indexes up to the last one in the log. openraft reads
/// every committed entry back to apply it; this answers those reads without a RocksDB iterator
/// and a decode. Changed only after the log itself (append) or before it (truncate, purge), so
/// it never holds an entry the log does not.
#[derive(Default)]
struct Tail(Mutex<VecDeque<Entry>>);

impl Tail {
    fn lock(&self) -> MutexGuard<'_, VecDeque<Entry>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Entries `start..` that `range` holds, if all of them are here.
    fn get(&self, start: u64, range: &impl RangeBounds<u64>) -> Option<Vec<Entry>> {
        let tail = self.lock();
        let first = tail.front()?.log_id.index;
        let last = tail.back()?.log_id.index;
        let end_inside = match range.end_bound() {
            Bound::Included(e) => *e <= last,
            Bound::Excluded(e) => *e <= last.saturating_add(1),
            // The tail ends at the log's last entry.
            Bound::Unbounded => true,
        };
        if start < first || !end_inside {
            return None;
        }
        let skip = usize::try_from(start - first).ok()?;
        Some(tail.iter().skip(skip).take_while(|e| range.contains(&e.log_id.index)).cloned().collect())
    }

    /// After `entries` were written to the log.
    fn appended(&self, entries: Vec<Entry>) {
        let mut tail = self.lock();
        for e in entries {
            if tail.back().is_some_and(|b| b.log_id.index.checked_add(1) != Some(e.log_id.index)) {
                tail.clear();
            }
            tail.push_back(e);
        }
        while tail.len() > TAIL_ENTRIES {
            tail.pop_front();
        }
    }

    /// Before the log loses the entries from `index` on.
    fn truncate(&self, index: u64) {
        self.lock().retain(|e| e.log_id.index < index);
    }

    /// Before the log loses the entries up to `index`.
    fn purge(&self, index: u64) {
        self.lock().retain(|e| e.log_id.index > index);
    }
}

pub(crate) struct LogStore {
    db: Arc<DB>,
    stats: Arc<Stats>,
    tail: Arc<Tail>,
}

/// A cheap reader handle for openraft's replication tasks.
pub(crate) struct LogReader {
    db: Arc<DB>,
    tail: Arc<Tail>,
}

impl LogStore {
    pub(crate) fn new(db: Arc<DB>, stats: Arc<Stats>) -> Self {
        LogStore { db, stats, tail: Arc::default() }
    }
}

fn start_of(range: &impl RangeBounds<u64>) -> u64 {
    match range.start_bound() {
        Bound::Included(s) => *s,
        Bound::Excluded(s) => s.saturating_add(1),
        Bound::Unbounded => 0,
    }
}

/// From the tail when it holds the whole range, else from RocksDB.
fn read_cached(db: &DB, tail: &Tail, range: impl RangeBounds<u64>) -> Result<Vec<Entry>> {
    match tail.get(start_of(&range), &range) {
        Some(entries) => Ok(entries),
        None => read_range(db, range),
    }
}

fn read_range(db: &DB, range: impl RangeBounds<u64>) -> Result<Vec<Entry>> {
    let start = start_of(&range);
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
        read_cached(&self.db, &self.tail, range).map_err(|e| to_raft(e, StorageIOError::read_logs))
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> std::result::Result<Vec<Entry>, RaftStorageError> {
        read_cached(&self.db, &self.tail, range).map_err(|e| to_raft(e, StorageIOError::read_logs))
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
        LogReader { db: self.db.clone(), tail: self.tail.clone() }
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
        let mut kept = Vec::new();
        for e in entries {
            encoded
                .push((index_key(e.log_id.index), db::encode(&e).map_err(|e| to_raft(e, StorageIOError::write_logs))?));
            kept.push(e);
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
        self.tail.appended(kept);
        self.stats.appends.fetch_add(1, Ordering::Relaxed);
        self.stats.entries.fetch_add(n, Ordering::Relaxed);
        self.stats.log_syncs.fetch_add(1, Ordering::Relaxed);
        callback.log_io_completed(Ok(()));
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId) -> std::result::Result<(), RaftStorageError> {
        self.tail.truncate(log_id.index);
        self.delete_from(log_id.index).map_err(|e| to_raft(e, StorageIOError::write_logs))
    }

    async fn purge(&mut self, log_id: LogId) -> std::result::Result<(), RaftStorageError> {
        self.tail.purge(log_id.index);
        self.purge_upto(&log_id).map_err(|e| to_raft(e, StorageIOError::write_logs))?;
        self.stats.purges.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tail_tests {
    use super::*;
    use openraft::{CommittedLeaderId, EntryPayload};

    fn entry(index: u64) -> Entry {
        Entry { log_id: LogId::new(CommittedLeaderId::new(1, 0), index), payload: EntryPayload::Blank }
    }

    fn indexes(v: Option<Vec<Entry>>) -> Option<Vec<u64>> {
        v.map(|v| v.iter().map(|e| e.log_id.index).collect())
    }

    /// The tail answers only ranges it holds entirely, and forgets entries before the log does.
    #[test]
    fn tail_answers_only_what_it_holds() {
        let t = Tail::default();
        assert_eq!(indexes(t.get(0, &(0..))), None);
        t.appended((5..10).map(entry).collect());
        assert_eq!(indexes(t.get(6, &(6..8))), Some(vec![6, 7]));
        assert_eq!(indexes(t.get(5, &(5..=9))), Some(vec![5, 6, 7, 8, 9]));
        assert_eq!(indexes(t.get(8, &(8..))), Some(vec![8, 9]));
        assert_eq!(indexes(t.get(4, &(4..8))), None, "starts before the tail");
        assert_eq!(indexes(t.get(9, &(9..=10))), None, "ends after the tail");
        t.truncate(8);
        assert_eq!(indexes(t.get(7, &(7..))), Some(vec![7]));
        assert_eq!(indexes(t.get(7, &(7..9))), None);
        t.purge(6);
        assert_eq!(indexes(t.get(6, &(6..))), None);
        // A gap (entries after a truncation elsewhere) starts the tail over.
        t.appended(vec![entry(20)]);
        assert_eq!(indexes(t.get(7, &(7..))), None);
        assert_eq!(indexes(t.get(20, &(20..))), Some(vec![20]));
        t.appended((21..200).map(entry).collect());
        assert_eq!(indexes(t.get(136, &(136..138))), Some(vec![136, 137]));
        assert_eq!(indexes(t.get(135, &(135..138))), None, "only the newest entries are kept");
    }
}
