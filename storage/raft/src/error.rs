//! Errors: the crate's internal error, and the one place where it and openraft's errors become
//! [`coffer_storage::StorageError`].
use crate::types::{CofferNode, NodeId, RaftStorageError};
use coffer_storage::StorageError;
use openraft::error::{CheckIsLeaderError, ClientWriteError, Fatal, InitializeError, RaftError};
use openraft::{AnyError, StorageIOError};
use std::path::Path;

/// What can go wrong below the Raft layer (RocksDB, encoding, a damaged data directory).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("rocksdb: {0}")]
    Rocks(#[from] rocksdb::Error),
    #[error("decoding stored data: {0}")]
    Codec(#[from] bincode::Error),
    /// The data directory holds something this version cannot use.
    #[error("{0}")]
    Corrupt(String),
    /// A helper task failed (panicked or was cancelled).
    #[error("{0}")]
    Task(String),
}

pub(crate) type Result<T> = std::result::Result<T, Error>;

impl From<Error> for StorageError {
    fn from(e: Error) -> Self {
        StorageError::Backend(format!("raft storage: {e}"))
    }
}

/// Wraps an internal error as the openraft storage error of the operation `make` names
/// (for example `StorageIOError::write_logs`). openraft stops the node on any of these.
pub(crate) fn to_raft(e: impl Into<Error>, make: fn(AnyError) -> StorageIOError<NodeId>) -> RaftStorageError {
    let e: Error = e.into();
    make(AnyError::new(&e)).into()
}

/// Opening the RocksDB directory failed: say whether another process holds it.
pub(crate) fn open_failed(path: &Path, e: rocksdb::Error) -> StorageError {
    let text = e.to_string();
    if text.contains("LOCK") || text.to_ascii_lowercase().contains("lock") {
        StorageError::Backend(format!(
            "raft data directory {} is in use by another process (or another open instance in this \
             process); stop it first: {text}",
            path.display()
        ))
    } else {
        StorageError::Backend(format!("cannot open raft data directory {}: {text}", path.display()))
    }
}

/// The same error again, for each writer that shared a failed proposal.
pub(crate) fn duplicate(e: &StorageError) -> StorageError {
    match e {
        StorageError::Unavailable(m) => StorageError::Unavailable(m.clone()),
        StorageError::InvalidInput(m) => StorageError::InvalidInput(m.clone()),
        other => StorageError::Backend(match other {
            StorageError::Backend(m) => m.clone(),
            _ => other.to_string(),
        }),
    }
}

pub(crate) fn stopped() -> StorageError {
    StorageError::Unavailable("raft storage is shut down".into())
}

pub(crate) fn not_initialized() -> StorageError {
    StorageError::Unavailable("raft storage is not initialized".into())
}

pub(crate) fn from_fatal(e: Fatal<NodeId>) -> StorageError {
    match e {
        Fatal::Stopped => stopped(),
        Fatal::Panicked => StorageError::Backend("raft core task panicked".into()),
        Fatal::StorageError(e) => StorageError::Backend(format!("raft storage failed and the node stopped: {e}")),
    }
}

pub(crate) fn from_client_write(e: RaftError<NodeId, ClientWriteError<NodeId, CofferNode>>) -> StorageError {
    match e {
        RaftError::Fatal(f) => from_fatal(f),
        RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => StorageError::Unavailable(format!(
            "this node is not the raft leader (leader: {})",
            f.leader_node.map(|n| n.name).unwrap_or_else(|| "unknown".into())
        )),
        RaftError::APIError(ClientWriteError::ChangeMembershipError(e)) => {
            StorageError::Backend(format!("raft membership change failed: {e}"))
        }
    }
}

pub(crate) fn from_initialize(e: RaftError<NodeId, InitializeError<NodeId, CofferNode>>) -> Option<StorageError> {
    match e {
        RaftError::Fatal(f) => Some(from_fatal(f)),
        // Already initialized: bootstrap is idempotent.
        RaftError::APIError(InitializeError::NotAllowed(_)) => None,
        RaftError::APIError(InitializeError::NotInMembers(e)) => {
            Some(StorageError::Backend(format!("raft bootstrap failed: {e}")))
        }
    }
}

pub(crate) fn from_check_leader(e: RaftError<NodeId, CheckIsLeaderError<NodeId, CofferNode>>) -> StorageError {
    match e {
        RaftError::Fatal(f) => from_fatal(f),
        RaftError::APIError(e) => StorageError::Unavailable(format!("raft leadership not confirmed: {e}")),
    }
}
