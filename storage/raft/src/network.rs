//! The Raft network: openraft's `RaftNetwork` on top of a small [`Transport`] trait.
//!
//! A single node never sends an RPC, so the only transport today is [`NoTransport`], which fails
//! every call as unreachable. Clustering (issue 5) plugs a real transport in here; test networks
//! that partition, delay or drop can implement the same trait.
use crate::types::{CofferNode, NodeId, TypeConfig};
use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse, VoteRequest,
    VoteResponse,
};
use std::sync::Arc;

/// Why an RPC did not reach its target or did not come back.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TransportError {
    /// The peer cannot be reached now; openraft backs off before retrying.
    #[error("raft peer {0} is unreachable: {1}")]
    Unreachable(String, String),
    /// The request failed on the way; openraft retries at once.
    #[allow(dead_code, reason = "made by the cluster transport (issue 5)")]
    #[error("raft RPC to {0} failed: {1}")]
    Failed(String, String),
}

/// Carries Raft RPCs to one peer and brings the reply back.
#[async_trait::async_trait]
pub(crate) trait Transport: Send + Sync + 'static {
    async fn append_entries(
        &self,
        target: &CofferNode,
        rpc: AppendEntriesRequest<TypeConfig>,
    ) -> Result<AppendEntriesResponse<NodeId>, TransportError>;

    async fn vote(&self, target: &CofferNode, rpc: VoteRequest<NodeId>)
        -> Result<VoteResponse<NodeId>, TransportError>;

    async fn install_snapshot(
        &self,
        target: &CofferNode,
        rpc: InstallSnapshotRequest<TypeConfig>,
    ) -> Result<InstallSnapshotResponse<NodeId>, TransportError>;
}

/// The single-node transport: there is nobody to talk to.
pub(crate) struct NoTransport;

impl NoTransport {
    fn refuse(target: &CofferNode) -> TransportError {
        TransportError::Unreachable(target.name.clone(), "clustering is not available in this build".into())
    }
}

#[async_trait::async_trait]
impl Transport for NoTransport {
    async fn append_entries(
        &self,
        target: &CofferNode,
        _rpc: AppendEntriesRequest<TypeConfig>,
    ) -> Result<AppendEntriesResponse<NodeId>, TransportError> {
        Err(Self::refuse(target))
    }

    async fn vote(
        &self,
        target: &CofferNode,
        _rpc: VoteRequest<NodeId>,
    ) -> Result<VoteResponse<NodeId>, TransportError> {
        Err(Self::refuse(target))
    }

    async fn install_snapshot(
        &self,
        target: &CofferNode,
        _rpc: InstallSnapshotRequest<TypeConfig>,
    ) -> Result<InstallSnapshotResponse<NodeId>, TransportError> {
        Err(Self::refuse(target))
    }
}

pub(crate) struct Network {
    transport: Arc<dyn Transport>,
}

impl Network {
    pub(crate) fn new(transport: Arc<dyn Transport>) -> Self {
        Network { transport }
    }
}

pub(crate) struct Connection {
    target: CofferNode,
    transport: Arc<dyn Transport>,
}

fn rpc_error<E: std::error::Error>(e: TransportError) -> RPCError<NodeId, CofferNode, E> {
    match &e {
        TransportError::Unreachable(..) => RPCError::Unreachable(Unreachable::new(&e)),
        TransportError::Failed(..) => RPCError::Network(NetworkError::new(&e)),
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Connection;

    async fn new_client(&mut self, _target: NodeId, node: &CofferNode) -> Self::Network {
        Connection { target: node.clone(), transport: self.transport.clone() }
    }
}

impl RaftNetwork<TypeConfig> for Connection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, CofferNode, RaftError<NodeId>>> {
        self.transport.append_entries(&self.target, rpc).await.map_err(rpc_error)
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<InstallSnapshotResponse<NodeId>, RPCError<NodeId, CofferNode, RaftError<NodeId, InstallSnapshotError>>>
    {
        self.transport.install_snapshot(&self.target, rpc).await.map_err(rpc_error)
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        _option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, CofferNode, RaftError<NodeId>>> {
        self.transport.vote(&self.target, rpc).await.map_err(rpc_error)
    }
}
