//! The core: seal lifecycle, the token store and request routing. It knows nothing of HTTP;
//! `api` turns hyper requests into [`Request`]s and [`CoreError`]s into status codes.
pub mod error;
pub mod request;
pub mod seal;
pub mod sys;
pub mod token;

use coffer_raft::RaftStorage;
use coffer_storage::barrier::Barrier;
use coffer_storage::Backend;
use std::sync::Arc;
use std::time::Duration;

pub use error::{CoreError, Result};
pub use request::{Operation, Request, Response};

/// The version reported to clients: OpenBao's API level, with Coffer's own as build metadata,
/// so version checks in clients (`>= 2.x`) keep working.
pub const API_VERSION: &str = concat!("2.7.2+coffer.", env!("CARGO_PKG_VERSION"));

/// What the core was told at start.
#[derive(Debug, Clone, Default)]
pub struct CoreSettings {
    pub cluster_name: Option<String>,
    pub api_addr: Option<String>,
    pub cluster_addr: Option<String>,
    pub raw_storage_endpoint: bool,
}

pub struct Core {
    physical: Arc<dyn Backend>,
    raft: Option<Arc<RaftStorage>>,
    barrier: Arc<Barrier>,
    tokens: token::TokenStore,
    lifecycle: tokio::sync::Mutex<seal::Lifecycle>,
    cluster: std::sync::RwLock<Option<seal::ClusterInfo>>,
    settings: CoreSettings,
}

impl Core {
    pub fn new(physical: Arc<dyn Backend>, raft: Option<Arc<RaftStorage>>, settings: CoreSettings) -> Arc<Self> {
        let barrier = Arc::new(Barrier::new(physical.clone()));
        Arc::new(Core {
            tokens: token::TokenStore::new(barrier.clone()),
            physical,
            raft,
            barrier,
            lifecycle: tokio::sync::Mutex::new(seal::Lifecycle::default()),
            cluster: std::sync::RwLock::new(None),
            settings,
        })
    }

    pub fn is_sealed(&self) -> bool {
        self.barrier.is_sealed()
    }

    pub fn storage_type(&self) -> &'static str {
        self.physical.kind()
    }

    /// Periodic housekeeping: time-based key rotation. Spawned once by the server.
    pub fn spawn_housekeeping(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let core = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                let Some(core) = core.upgrade() else { return };
                if core.is_sealed() {
                    continue;
                }
                match core.barrier.check_interval_rotation().await {
                    Ok(Some(t)) => tracing::info!(term = t.term, "rotated the barrier key: interval elapsed"),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "interval key rotation check failed"),
                }
            }
        })
    }

    /// Seals and closes storage; in-flight requests have finished when this is called.
    pub async fn shutdown(&self) {
        self.seal_now().await;
        if let Some(raft) = &self.raft {
            if let Err(e) = raft.shutdown().await {
                tracing::error!(error = %e, "raft storage did not shut down cleanly");
            }
        }
    }

    /// Handles a logical request: authenticates it and routes it.
    pub async fn handle(&self, req: Request) -> Result<Response> {
        if self.is_sealed() {
            return Err(CoreError::Sealed);
        }
        let token = self.authenticate(&req).await?;
        if let Some(rest) = req.path.strip_prefix("sys/") {
            return sys::handle(self, &token, rest, &req).await;
        }
        if req.path == "sys" {
            return Err(CoreError::UnsupportedPath);
        }
        Err(CoreError::NoRoute(req.path.clone()))
    }

    async fn authenticate(&self, req: &Request) -> Result<Arc<token::TokenEntry>> {
        let Some(t) = req.client_token.as_deref().filter(|t| !t.is_empty()) else {
            return Err(CoreError::PermissionDenied);
        };
        self.tokens.lookup(t).await?.ok_or(CoreError::PermissionDenied)
    }
}
