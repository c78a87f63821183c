//! The openraft type configuration and the application data carried by log entries.
//!
//! Everything here is crate-private: no openraft type appears in the public API.
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::Cursor;

/// The Raft node id. OpenBao names nodes with strings; see [`crate::node_id_for`].
pub(crate) type NodeId = u64;

openraft::declare_raft_types!(
    /// Types used by this crate's Raft instance.
    pub(crate) TypeConfig:
        D = Request,
        R = Response,
        NodeId = NodeId,
        Node = CofferNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

pub(crate) type LogId = openraft::LogId<NodeId>;
pub(crate) type Vote = openraft::Vote<NodeId>;
pub(crate) type Entry = openraft::Entry<TypeConfig>;
pub(crate) type StoredMembership = openraft::StoredMembership<NodeId, CofferNode>;
pub(crate) type SnapshotMeta = openraft::SnapshotMeta<NodeId, CofferNode>;
pub(crate) type Snapshot = openraft::Snapshot<TypeConfig>;
pub(crate) type RaftStorageError = openraft::StorageError<NodeId>;
pub(crate) type Raft = openraft::Raft<TypeConfig>;

/// What the membership records about a node. `name` is the OpenBao `node_id` string; the
/// addresses are filled in once clustering exists (issue 5) and are empty for a single node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CofferNode {
    pub name: String,
    pub api_addr: String,
    pub cluster_addr: String,
}

/// One log entry's application payload: a list of operations applied atomically.
/// A single put or delete is a one-operation request; a transaction is many.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Request {
    pub ops: Vec<Op>,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Op {
    Put { key: String, value: Vec<u8> },
    Delete { key: String },
}

/// Values are never printed (openraft logs entries at debug level): only keys and lengths.
impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.ops.iter()).finish()
    }
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Put { key, value } => write!(f, "put({key:?}, {} bytes)", value.len()),
            Op::Delete { key } => write!(f, "delete({key:?})"),
        }
    }
}

/// The state machine's reply to an applied entry: nothing beyond success.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Response;
