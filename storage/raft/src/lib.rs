//! Raft integrated storage: a [`coffer_storage::Backend`] whose writes go through Raft
//! (openraft 0.9) and whose log and state machine both live in one RocksDB database.
//!
//! - Writes (`put`, `delete`, `transaction`) are proposed with `client_write` and return once the
//!   entry is in the fsynced log, committed and applied. Concurrent writes share log fsyncs (see
//!   `log_store`). Before [`RaftStorage::bootstrap`] a never-initialized node refuses writes at
//!   once; an initialized node without a known leader waits up to 10 s for one.
//! - Reads (`get`, `list_page`) come from the local state machine.
//! - openraft and RocksDB types never leave this crate. The on-disk layout is in README.md.
//!
//! Today a node is always a one-node cluster; the network layer is a stub behind
//! `network::Transport` for clustering to fill in.
#![forbid(unsafe_code)]

mod cache;
mod db;
mod error;
mod kv;
mod log_store;
mod network;
pub mod offline;
mod proposer;
mod state_machine;
mod types;

#[cfg(test)]
mod tests;

use crate::cache::ReadCache;
use crate::db::{raft_key, CF_RAFT};
use crate::error::{from_check_leader, from_fatal, from_initialize, not_initialized, stopped};
use crate::log_store::LogStore;
use crate::network::{Network, NoTransport};
use crate::proposer::Proposer;
use crate::state_machine::StateMachine;
use crate::types::{CofferNode, NodeId, Op, Raft};
use async_trait::async_trait;
use coffer_storage::physical::check_key;
use coffer_storage::{Backend, StorageError, TxnOp};
use openraft::metrics::WaitError;
use openraft::{Config, ServerState, SnapshotPolicy};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, StorageError>;

/// How long a write waits for a leader before failing with `Unavailable`.
const WRITE_LEADER_WAIT: Duration = Duration::from_secs(10);
/// How long `bootstrap` waits for this node to win its (uncontested) election.
const BOOTSTRAP_WAIT: Duration = Duration::from_secs(10);
/// How long `shutdown` waits for openraft's tasks to let go of the database.
const RELEASE_WAIT: Duration = Duration::from_secs(10);
/// How long `compact` waits for the snapshot and the purge.
const COMPACT_WAIT: Duration = Duration::from_secs(60);

/// Where a node keeps its data and what it is called.
#[derive(Debug, Clone)]
pub struct RaftConfig {
    /// The data directory (created if missing). It holds one RocksDB database.
    pub path: PathBuf,
    /// OpenBao's `node_id`. Recorded in the directory on first open; a later open must pass the
    /// same name, or an empty string to use the recorded one.
    pub node_id: String,
}

/// Counters since this node was opened, for tests and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RaftStats {
    /// Writes (put, delete, transaction) proposed.
    pub writes: u64,
    /// Calls to the log store's `append`.
    pub appends: u64,
    /// Log entries appended (writes, plus openraft's own blank and membership entries);
    /// fewer than `writes` when concurrent writes shared an entry.
    pub entries: u64,
    /// Synced log writes (one per append).
    pub log_syncs: u64,
    /// Entries applied to the state machine.
    pub applied: u64,
    /// Snapshots built.
    pub snapshots: u64,
    /// Log purges.
    pub purges: u64,
}

/// A node's view of the cluster, for status endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaftStatus {
    pub node_id: String,
    pub is_leader: bool,
    /// The leader's `node_id`, if one is known.
    pub leader: Option<String>,
    pub term: u64,
    pub last_log_index: Option<u64>,
    pub applied_index: Option<u64>,
    /// The last log index covered by the latest snapshot.
    pub snapshot_index: Option<u64>,
    /// Log entries up to this index have been purged.
    pub purged_index: Option<u64>,
    /// The voters' `node_id`s.
    pub voters: Vec<String>,
}

#[derive(Default)]
pub(crate) struct Stats {
    pub writes: AtomicU64,
    pub appends: AtomicU64,
    pub entries: AtomicU64,
    pub log_syncs: AtomicU64,
    pub applied: AtomicU64,
    pub snapshots: AtomicU64,
    pub purges: AtomicU64,
}

/// The persisted mapping from OpenBao's node name to the Raft node id.
#[derive(Serialize, Deserialize)]
struct NodeIdentity {
    name: String,
    id: NodeId,
}

/// The Raft id for a node name: 64-bit FNV-1a of the name, recorded in the data directory at
/// first open so that it never changes for that directory.
pub(crate) fn node_id_for(name: &str) -> NodeId {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[derive(Clone)]
struct Running {
    raft: Raft,
    db: Arc<rocksdb::DB>,
    cache: Arc<ReadCache>,
    proposer: Proposer,
}

/// A Raft node storing Coffer's data. Open it with [`RaftStorage::open`].
pub struct RaftStorage {
    path: PathBuf,
    node_name: String,
    node_id: NodeId,
    stats: Arc<Stats>,
    running: RwLock<Option<Running>>,
    shutdown_gate: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for RaftStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaftStorage").field("path", &self.path).field("node_id", &self.node_name).finish()
    }
}

fn raft_config() -> Result<Config> {
    Config {
        cluster_name: "coffer".into(),
        // Tuned for one node (and a LAN later): a restarted node that was leader is leader again
        // at once; one that was not elects itself within 150-300 ms.
        heartbeat_interval: 50,
        election_timeout_min: 150,
        election_timeout_max: 300,
        snapshot_policy: SnapshotPolicy::LogsSinceLast(10_000),
        max_in_snapshot_log_to_keep: 1_000,
        ..Default::default()
    }
    .validate()
    .map_err(|e| StorageError::Backend(format!("invalid raft configuration: {e}")))
}

/// Reads the recorded node identity, or records the configured one.
fn resolve_identity(db: &rocksdb::DB, path: &Path, configured: &str) -> Result<NodeIdentity> {
    let recorded: Option<NodeIdentity> = db::get(db, CF_RAFT, raft_key::NODE)?;
    match recorded {
        Some(r) if configured.is_empty() || configured == r.name => Ok(r),
        Some(r) => Err(StorageError::Backend(format!(
            "raft data directory {} belongs to node {:?}, but node_id is {configured:?}",
            path.display(),
            r.name
        ))),
        None if configured.is_empty() => {
            Err(StorageError::InvalidInput("raft storage needs a node_id for a new data directory".into()))
        }
        None => {
            let identity = NodeIdentity { name: configured.to_string(), id: node_id_for(configured) };
            let raft = db::cf(db, CF_RAFT)?;
            db.put_cf_opt(raft, raft_key::NODE, db::encode(&identity)?, &db::sync_write())
                .map_err(error::Error::from)?;
            Ok(identity)
        }
    }
}

fn wait_error(e: WaitError, what: impl FnOnce() -> String) -> StorageError {
    match e {
        WaitError::Timeout(..) => StorageError::Unavailable(what()),
        WaitError::ShuttingDown => stopped(),
    }
}

impl RaftStorage {
    /// Opens (creating if needed) the data directory and starts the Raft node. Fails with
    /// `StorageError::Backend` if the directory is unusable or another process (or another open
    /// instance) holds it. Does not wait for an election.
    pub async fn open(cfg: RaftConfig) -> Result<Arc<Self>> {
        std::fs::create_dir_all(&cfg.path).map_err(|e| {
            StorageError::Backend(format!("cannot create raft data directory {}: {e}", cfg.path.display()))
        })?;
        let db = Arc::new(db::open(&cfg.path, true).map_err(|e| error::open_failed(&cfg.path, e))?);
        db::check_format(&db)?;
        let identity = resolve_identity(&db, &cfg.path, &cfg.node_id)?;
        let stats = Arc::new(Stats::default());
        let log_store = LogStore::new(db.clone(), stats.clone());
        let state_machine = StateMachine::load(db.clone(), stats.clone())?;
        let cache = state_machine.cache();
        let network = Network::new(Arc::new(NoTransport));
        let raft = Raft::new(identity.id, Arc::new(raft_config()?), network, log_store, state_machine)
            .await
            .map_err(from_fatal)?;
        let proposer = Proposer::spawn(raft.clone(), stats.clone());
        tracing::info!(path = %cfg.path.display(), node_id = %identity.name, "raft storage opened");
        Ok(Arc::new(RaftStorage {
            path: cfg.path,
            node_name: identity.name,
            node_id: identity.id,
            stats,
            running: RwLock::new(Some(Running { raft, db, cache, proposer })),
            shutdown_gate: tokio::sync::Mutex::new(()),
        }))
    }

    fn running(&self) -> Result<Running> {
        let guard = self.running.read().unwrap_or_else(|p| p.into_inner());
        guard.clone().ok_or_else(stopped)
    }

    /// The OpenBao `node_id` of this node.
    pub fn node_id(&self) -> &str {
        &self.node_name
    }

    /// Whether this node already belongs to a cluster (bootstrapped earlier).
    pub async fn is_initialized(&self) -> bool {
        match self.running() {
            Ok(r) => r.raft.is_initialized().await.unwrap_or(false),
            Err(_) => false,
        }
    }

    async fn wait_for_leader(&self, raft: &Raft, timeout: Duration) -> Result<Option<NodeId>> {
        let m = raft
            .wait(Some(timeout))
            .metrics(|m| m.current_leader.is_some(), "a raft leader is known")
            .await
            .map_err(|e| wait_error(e, || format!("no raft leader after {} ms", timeout.as_millis())))?;
        Ok(m.current_leader)
    }

    /// Makes this node a one-node cluster and returns once it is leader and can serve writes.
    /// Takes milliseconds (the single vote is uncontested). Calling it again, or on a node that
    /// joined a cluster, only waits for a leader.
    pub async fn bootstrap(&self) -> Result<()> {
        let raft = self.running()?.raft;
        if !raft.is_initialized().await.map_err(from_fatal)? {
            let me = CofferNode { name: self.node_name.clone(), ..Default::default() };
            if let Err(e) = raft.initialize(BTreeMap::from([(self.node_id, me)])).await {
                if let Some(e) = from_initialize(e) {
                    return Err(e);
                }
            }
            tracing::info!(node_id = %self.node_name, "raft cluster bootstrapped");
        }
        self.wait_for_leader(&raft, BOOTSTRAP_WAIT).await?;
        Ok(())
    }

    /// Waits until a leader is known and this node has applied everything committed (call it
    /// after a restart, before serving reads). `Unavailable` after `timeout`, or at once if the
    /// node was never initialized.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let raft = self.running()?.raft;
        if !raft.is_initialized().await.map_err(from_fatal)? {
            return Err(not_initialized());
        }
        let leader = self.wait_for_leader(&raft, timeout).await?;
        let remaining = deadline.saturating_duration_since(Instant::now());
        let not_ready = || format!("raft storage did not catch up within {} ms", timeout.as_millis());
        if leader == Some(self.node_id) {
            tokio::time::timeout(remaining, raft.ensure_linearizable())
                .await
                .map_err(|_| StorageError::Unavailable(not_ready()))?
                .map_err(from_check_leader)?;
        } else {
            let committed =
                raft.with_raft_state(|st| st.committed.as_ref().map(|l| l.index)).await.map_err(from_fatal)?;
            raft.wait(Some(remaining))
                .applied_index_at_least(committed, "applied up to committed")
                .await
                .map_err(|e| wait_error(e, not_ready))?;
        }
        Ok(())
    }

    /// Builds a snapshot now and purges the log it covers (the snapshot policy also does this
    /// every 10 000 entries, keeping the last 1 000).
    pub async fn compact(&self) -> Result<()> {
        let raft = self.running()?.raft;
        let applied = raft.metrics().borrow().last_applied.as_ref().map(|l| l.index);
        let Some(applied) = applied else { return Ok(()) };
        raft.trigger().snapshot().await.map_err(from_fatal)?;
        raft.wait(Some(COMPACT_WAIT))
            .metrics(|m| m.snapshot.as_ref().map(|s| s.index) >= Some(applied), "snapshot built")
            .await
            .map_err(|e| wait_error(e, || "building the raft snapshot timed out".into()))?;
        raft.trigger().purge_log(applied).await.map_err(from_fatal)?;
        raft.wait(Some(COMPACT_WAIT))
            .metrics(|m| m.purged.as_ref().map(|p| p.index) >= Some(applied), "log purged")
            .await
            .map_err(|e| wait_error(e, || "purging the raft log timed out".into()))?;
        Ok(())
    }

    /// Counters since open.
    pub fn stats(&self) -> RaftStats {
        let s = &self.stats;
        RaftStats {
            writes: s.writes.load(Ordering::Relaxed),
            appends: s.appends.load(Ordering::Relaxed),
            entries: s.entries.load(Ordering::Relaxed),
            log_syncs: s.log_syncs.load(Ordering::Relaxed),
            applied: s.applied.load(Ordering::Relaxed),
            snapshots: s.snapshots.load(Ordering::Relaxed),
            purges: s.purges.load(Ordering::Relaxed),
        }
    }

    /// This node's view of the cluster; `None` after shutdown.
    pub fn status(&self) -> Option<RaftStatus> {
        let raft = self.running().ok()?.raft;
        let m = raft.metrics().borrow().clone();
        let nodes: BTreeMap<NodeId, String> =
            m.membership_config.nodes().map(|(id, n)| (*id, n.name.clone())).collect();
        let name = |id: &NodeId| nodes.get(id).cloned().unwrap_or_else(|| format!("#{id}"));
        Some(RaftStatus {
            node_id: self.node_name.clone(),
            is_leader: m.state == ServerState::Leader,
            leader: m.current_leader.as_ref().map(name),
            term: m.current_term,
            last_log_index: m.last_log_index,
            applied_index: m.last_applied.as_ref().map(|l| l.index),
            snapshot_index: m.snapshot.as_ref().map(|l| l.index),
            purged_index: m.purged.as_ref().map(|l| l.index),
            voters: m.membership_config.voter_ids().map(|id| name(&id)).collect(),
        })
    }

    /// Stops Raft, syncs the log and closes RocksDB. When it returns, the directory can be
    /// opened again (by this or another process). Later calls on this value fail `Unavailable`;
    /// calling it twice is fine.
    pub async fn shutdown(&self) -> Result<()> {
        let _gate = self.shutdown_gate.lock().await;
        let taken = self.running.write().unwrap_or_else(|p| p.into_inner()).take();
        let Some(Running { raft, db, proposer, .. }) = taken else { return Ok(()) };
        drop(proposer);
        let stopped = raft.shutdown().await;
        drop(raft);
        let synced = db.flush_wal(true);
        // openraft's state machine worker and snapshot tasks let go of their handles shortly
        // after the core stops; RocksDB closes (and releases its lock) when the last one goes.
        let deadline = Instant::now() + RELEASE_WAIT;
        let mut db = db;
        loop {
            match Arc::try_unwrap(db) {
                Ok(inner) => {
                    drop(inner);
                    break;
                }
                Err(still_shared) if Instant::now() < deadline => {
                    db = still_shared;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err(_) => {
                    return Err(StorageError::Backend(format!(
                        "raft storage at {} did not close within {} s",
                        self.path.display(),
                        RELEASE_WAIT.as_secs()
                    )))
                }
            }
        }
        stopped.map_err(|e| StorageError::Backend(format!("raft core task failed: {e}")))?;
        synced.map_err(|e| StorageError::Backend(format!("syncing the raft log at shutdown failed: {e}")))?;
        tracing::info!(path = %self.path.display(), "raft storage closed");
        Ok(())
    }

    /// Proposes `ops` as one log entry and returns once it is committed and applied.
    async fn write(&self, ops: Vec<Op>) -> Result<()> {
        let Running { raft, proposer, .. } = self.running()?;
        let leader_known = raft.metrics().borrow().current_leader.is_some();
        if !leader_known {
            if !raft.is_initialized().await.map_err(from_fatal)? {
                return Err(not_initialized());
            }
            self.wait_for_leader(&raft, WRITE_LEADER_WAIT).await?;
        }
        proposer.propose(ops).await
    }
}

#[async_trait]
impl Backend for RaftStorage {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        check_key(key)?;
        let Running { db, cache, .. } = self.running()?;
        match cache.get(key) {
            Ok(hit) => Ok(hit),
            Err(miss) => {
                let value = kv::get(&db, key)?;
                cache.store(miss, key, &value);
                Ok(value)
            }
        }
    }

    async fn put(&self, key: &str, value: Vec<u8>) -> Result<()> {
        check_key(key)?;
        self.write(vec![Op::Put { key: key.to_string(), value }]).await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        check_key(key)?;
        self.write(vec![Op::Delete { key: key.to_string() }]).await
    }

    async fn list_page(&self, prefix: &str, after: Option<&str>, limit: Option<usize>) -> Result<Vec<String>> {
        let db = self.running()?.db;
        Ok(kv::list_page(&db, prefix, after, limit)?)
    }

    async fn transaction(&self, ops: Vec<TxnOp>) -> Result<()> {
        let mut out = Vec::with_capacity(ops.len());
        for op in ops {
            match op {
                TxnOp::Put { key, value } => {
                    check_key(&key)?;
                    out.push(Op::Put { key, value });
                }
                TxnOp::Delete { key } => {
                    check_key(&key)?;
                    out.push(Op::Delete { key });
                }
            }
        }
        if out.is_empty() {
            return Ok(());
        }
        self.write(out).await
    }

    fn kind(&self) -> &'static str {
        "raft"
    }
}
