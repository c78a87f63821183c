//! The state machine in RocksDB ([`crate::db::CF_KV`] and [`crate::db::CF_SM`]), and snapshots.
//!
//! Each `apply` call is one `WriteBatch`: the data of every entry, `last_applied` and (when it
//! changed) the membership, so the state on disk always matches the `last_applied` it records.
//! These writes do not fsync on their own: the entries are already durable in the log, and after
//! a crash openraft re-applies whatever the state machine lost.
//!
//! Snapshots: the state machine is itself persistent, so a snapshot is a consistent view of it
//! (a RocksDB snapshot) serialized with bincode as [`SnapshotPayload`]. Building one records its
//! meta in `sm/snapshot_meta`; `get_current_snapshot` then serializes a fresh consistent view,
//! which covers at least as much as the last snapshot built or installed.
use crate::cache::ReadCache;
use crate::db::{self, cf, sm_key, CF_KV, CF_SM};
use crate::error::{to_raft, Error, Result};
use crate::types::{
    Entry, LogId, Op, RaftStorageError, Response, Snapshot, SnapshotMeta, StoredMembership, TypeConfig,
};
use crate::Stats;
use openraft::storage::RaftStateMachine;
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder, StorageIOError};
use rocksdb::{WriteBatch, WriteOptions, DB};
use serde::{Deserialize, Serialize};
use std::io::Cursor;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// The serialized form of a snapshot.
#[derive(Serialize, Deserialize)]
pub(crate) struct SnapshotPayload {
    pub format: u32,
    pub last_applied: Option<LogId>,
    pub membership: StoredMembership,
    pub kv: Vec<(String, Vec<u8>)>,
}

const SNAPSHOT_FORMAT: u32 = 1;

pub(crate) struct StateMachine {
    db: Arc<DB>,
    cache: Arc<ReadCache>,
    last_applied: Option<LogId>,
    membership: StoredMembership,
    stats: Arc<Stats>,
}

pub(crate) struct SnapshotBuilder {
    db: Arc<DB>,
    stats: Arc<Stats>,
}

impl StateMachine {
    pub(crate) fn load(db: Arc<DB>, stats: Arc<Stats>) -> Result<Self> {
        let last_applied: Option<LogId> = db::get::<Option<LogId>>(&db, CF_SM, sm_key::LAST_APPLIED)?.flatten();
        let membership: StoredMembership = db::get(&db, CF_SM, sm_key::MEMBERSHIP)?.unwrap_or_default();
        Ok(StateMachine { db, cache: Arc::new(ReadCache::default()), last_applied, membership, stats })
    }

    /// The read cache this state machine keeps current.
    pub(crate) fn cache(&self) -> Arc<ReadCache> {
        self.cache.clone()
    }

    fn apply_entries(&mut self, entries: impl IntoIterator<Item = Entry>) -> Result<Vec<Response>> {
        let kv = cf(&self.db, CF_KV)?;
        let mut batch = WriteBatch::default();
        let mut replies = Vec::new();
        let mut last = None;
        let mut membership = None;
        // Held until the batch is written: readers of the keys below wait for the new values.
        let mut cache = self.cache.write();
        for e in entries {
            match e.payload {
                EntryPayload::Blank => {}
                EntryPayload::Normal(req) => {
                    for op in req.ops {
                        match op {
                            Op::Put { key, value } => {
                                cache.invalidate(&key);
                                batch.put_cf(kv, key.as_bytes(), value)
                            }
                            Op::Delete { key } => {
                                cache.invalidate(&key);
                                batch.delete_cf(kv, key.as_bytes())
                            }
                        }
                    }
                }
                EntryPayload::Membership(m) => membership = Some(StoredMembership::new(Some(e.log_id), m)),
            }
            last = Some(e.log_id);
            replies.push(Response);
        }
        let Some(last) = last else { return Ok(replies) };
        let sm = cf(&self.db, CF_SM)?;
        batch.put_cf(sm, sm_key::LAST_APPLIED, db::encode(&Some(last))?);
        if let Some(m) = &membership {
            batch.put_cf(sm, sm_key::MEMBERSHIP, db::encode(m)?);
        }
        self.db.write_opt(batch, &WriteOptions::default())?;
        drop(cache);
        self.last_applied = Some(last);
        if let Some(m) = membership {
            self.membership = m;
        }
        self.stats.applied.fetch_add(replies.len() as u64, Ordering::Relaxed);
        Ok(replies)
    }

    fn install(&mut self, meta: &SnapshotMeta, data: &[u8]) -> Result<()> {
        let payload: SnapshotPayload = db::decode(data)?;
        if payload.format != SNAPSHOT_FORMAT {
            return Err(Error::Corrupt(format!("unsupported snapshot format {}", payload.format)));
        }
        if payload.last_applied != meta.last_log_id {
            return Err(Error::Corrupt("snapshot data does not match its meta".into()));
        }
        let kv = cf(&self.db, CF_KV)?;
        let sm = cf(&self.db, CF_SM)?;
        let mut batch = WriteBatch::default();
        let mut it = self.db.raw_iterator_cf(kv);
        it.seek_to_first();
        while it.valid() {
            if let Some(k) = it.key() {
                batch.delete_cf(kv, k);
            }
            it.next();
        }
        it.status()?;
        drop(it);
        for (k, v) in &payload.kv {
            batch.put_cf(kv, k.as_bytes(), v);
        }
        batch.put_cf(sm, sm_key::LAST_APPLIED, db::encode(&payload.last_applied)?);
        batch.put_cf(sm, sm_key::MEMBERSHIP, db::encode(&payload.membership)?);
        batch.put_cf(sm, sm_key::SNAPSHOT_META, db::encode(meta)?);
        let mut cache = self.cache.write();
        cache.clear();
        self.db.write_opt(batch, &db::sync_write())?;
        drop(cache);
        self.last_applied = payload.last_applied;
        self.membership = payload.membership;
        Ok(())
    }
}

/// Serializes a consistent view of the state machine.
fn build(db: &DB) -> Result<(SnapshotMeta, Vec<u8>)> {
    let view = db.snapshot();
    let sm = cf(db, CF_SM)?;
    let last_applied: Option<LogId> = match view.get_cf(sm, sm_key::LAST_APPLIED)? {
        Some(v) => db::decode(&v)?,
        None => None,
    };
    let membership: StoredMembership = match view.get_cf(sm, sm_key::MEMBERSHIP)? {
        Some(v) => db::decode(&v)?,
        None => StoredMembership::default(),
    };
    let mut kv = Vec::new();
    let mut it = view.raw_iterator_cf(cf(db, CF_KV)?);
    it.seek_to_first();
    while it.valid() {
        if let (Some(k), Some(v)) = (it.key(), it.value()) {
            let k = std::str::from_utf8(k).map_err(|_| Error::Corrupt("a stored key is not UTF-8".into()))?;
            kv.push((k.to_string(), v.to_vec()));
        }
        it.next();
    }
    it.status()?;
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let snapshot_id = match &last_applied {
        Some(l) => format!("{}-{}-{nanos}", l.leader_id, l.index),
        None => format!("none-{nanos}"),
    };
    let meta = SnapshotMeta { last_log_id: last_applied, last_membership: membership.clone(), snapshot_id };
    let payload = SnapshotPayload { format: SNAPSHOT_FORMAT, last_applied, membership, kv };
    Ok((meta, db::encode(&payload)?))
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> std::result::Result<Snapshot, RaftStorageError> {
        let (meta, data) = build(&self.db).map_err(|e| to_raft(e, StorageIOError::read_state_machine))?;
        let record = || -> Result<()> {
            self.db.put_cf_opt(
                cf(&self.db, CF_SM)?,
                sm_key::SNAPSHOT_META,
                db::encode(&meta)?,
                &WriteOptions::default(),
            )?;
            Ok(())
        };
        record().map_err(|e| to_raft(e, StorageIOError::write_state_machine))?;
        self.stats.snapshots.fetch_add(1, Ordering::Relaxed);
        Ok(Snapshot { meta, snapshot: Box::new(Cursor::new(data)) })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> std::result::Result<(Option<LogId>, StoredMembership), RaftStorageError> {
        Ok((self.last_applied, self.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> std::result::Result<Vec<Response>, RaftStorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        self.apply_entries(entries).map_err(|e| to_raft(e, StorageIOError::write_state_machine))
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder { db: self.db.clone(), stats: self.stats.clone() }
    }

    async fn begin_receiving_snapshot(&mut self) -> std::result::Result<Box<Cursor<Vec<u8>>>, RaftStorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> std::result::Result<(), RaftStorageError> {
        let data = snapshot.into_inner();
        self.install(meta, &data).map_err(|e| to_raft(e, StorageIOError::write_state_machine))
    }

    async fn get_current_snapshot(&mut self) -> std::result::Result<Option<Snapshot>, RaftStorageError> {
        let recorded: Option<SnapshotMeta> = db::get(&self.db, CF_SM, sm_key::SNAPSHOT_META)
            .map_err(|e| to_raft(e, StorageIOError::read_state_machine))?;
        if recorded.is_none() {
            return Ok(None);
        }
        let (meta, data) = build(&self.db).map_err(|e| to_raft(e, StorageIOError::read_state_machine))?;
        Ok(Some(Snapshot { meta, snapshot: Box::new(Cursor::new(data)) }))
    }
}
