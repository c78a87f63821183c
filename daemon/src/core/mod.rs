//! The core: seal lifecycle, mounts and routing, tokens, policies, wrapping. It knows nothing
//! of HTTP: `api` turns hyper requests into [`ClientRequest`]s and [`CoreError`]s into status
//! codes.
//!
//! A request passes, in order: path checks → route (longest mount) → authentication (unless the
//! backend lists the path as unauthenticated) → create/update decision (existence check) → ACL
//! (compiled policies, cached per policy set) → the handler → token issuance for logins →
//! response wrapping.
pub mod error;
pub mod leases;
pub mod mounts;
pub mod password;
pub mod policies;
pub mod request;
pub mod seal;
pub mod sys;
pub mod sys_mounts;
pub mod wrapping;

use coffer_logical::{LogicalBackend, Operation, Request, Response};
use coffer_raft::RaftStorage;
use coffer_storage::barrier::{Barrier, View};
use coffer_storage::Backend;
use coffer_token::{TokenEntry, TokenStore};
use mounts::{Handler, Mounted, Router, Table};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Weak;
use std::time::Duration;

pub use error::{CoreError, Result};
pub use request::{ClientRequest, Reply};

/// The version reported to clients: OpenBao's API level, with Coffer's own as build metadata,
/// so version checks in clients (`>= 2.x`) keep working.
pub const API_VERSION: &str = concat!("2.7.2+coffer.", env!("CARGO_PKG_VERSION"));

/// What the core was told at start.
#[derive(Debug, Clone)]
pub struct CoreSettings {
    pub cluster_name: Option<String>,
    pub api_addr: Option<String>,
    pub cluster_addr: Option<String>,
    pub raw_storage_endpoint: bool,
    pub default_lease_ttl: Duration,
    pub max_lease_ttl: Duration,
}

impl Default for CoreSettings {
    fn default() -> Self {
        CoreSettings {
            cluster_name: None,
            api_addr: None,
            cluster_addr: None,
            raw_storage_endpoint: false,
            default_lease_ttl: Duration::from_secs(768 * 3600),
            max_lease_ttl: Duration::from_secs(768 * 3600),
        }
    }
}

/// Paths whose every operation needs `sudo` on top of the operation's capability.
const SUDO_PREFIXES: &[&str] = &[
    "sys/raw",
    "sys/rotate",
    "sys/seal",
    "sys/remount",
    "sys/leases/revoke-prefix/",
    "sys/leases/revoke-force/",
    "auth/token/accessors",
    "auth/token/revoke-orphan",
    "auth/token/tidy",
];

/// Whether `path` needs `sudo` on top of the operation's own capability (as in OpenBao).
fn sudo_needed(path: &str, op: Operation) -> bool {
    if path.starts_with("sys/auth/") && op != Operation::Read {
        return true;
    }
    SUDO_PREFIXES.iter().any(|p| path == p.trim_end_matches('/') || path.starts_with(p))
}

pub struct Core {
    physical: Arc<dyn Backend>,
    raft: Option<Arc<RaftStorage>>,
    barrier: Arc<Barrier>,
    tokens: TokenStore,
    policies: policies::PolicyStore,
    router: Router,
    lifecycle: tokio::sync::Mutex<seal::Lifecycle>,
    cluster: std::sync::RwLock<Option<seal::ClusterInfo>>,
    migrations: std::sync::Mutex<HashMap<String, Map<String, Value>>>,
    settings: CoreSettings,
}

/// The backend for a mount type; `None` for an unknown type.
fn factory(kind: &str, options: &std::collections::BTreeMap<String, String>) -> Option<Arc<dyn LogicalBackend>> {
    match kind {
        "kv" => {
            let version = if options.get("version").map(String::as_str) == Some("2") { 2 } else { 1 };
            Some(Arc::new(coffer_kv::KvBackend::new(version)))
        }
        other => coffer_auth::factory(other),
    }
}

impl Core {
    pub fn new(physical: Arc<dyn Backend>, raft: Option<Arc<RaftStorage>>, settings: CoreSettings) -> Arc<Self> {
        let barrier = Arc::new(Barrier::new(physical.clone()));
        let token_config =
            coffer_token::TokenConfig { default_ttl: settings.default_lease_ttl, max_ttl: settings.max_lease_ttl };
        let core = Arc::new(Core {
            tokens: TokenStore::new(View::new(barrier.clone(), "sys/token/"), token_config),
            policies: policies::PolicyStore::new(barrier.clone()),
            router: Router::new(barrier.clone(), factory),
            physical,
            raft,
            barrier,
            lifecycle: tokio::sync::Mutex::new(seal::Lifecycle::default()),
            cluster: std::sync::RwLock::new(None),
            migrations: std::sync::Mutex::new(HashMap::new()),
            settings,
        });
        core.tokens.set_hooks(Arc::new(CoreHooks(Arc::downgrade(&core))));
        core
    }

    pub fn is_sealed(&self) -> bool {
        self.barrier.is_sealed()
    }

    pub fn storage_type(&self) -> &'static str {
        self.physical.kind()
    }

    /// Everything that lives behind the barrier and is loaded after unseal.
    async fn post_unseal(&self) -> Result<()> {
        self.policies.load().await?;
        self.router.load().await?;
        // Loading resumes revocations a crash interrupted; the hooks clean up after them.
        self.tokens.load().await?;
        self.load_or_create_cluster_info().await
    }

    fn pre_seal(&self) {
        self.router.unload();
        self.policies.unload();
        self.tokens.unload();
    }

    /// Periodic housekeeping: token expiry (every 200 ms) and time-based key rotation.
    pub fn spawn_housekeeping(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let core = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            let mut ticks: u64 = 0;
            loop {
                tick.tick().await;
                ticks += 1;
                let Some(core) = core.upgrade() else { return };
                if core.is_sealed() {
                    continue;
                }
                if let Err(e) = core.expire_tokens().await {
                    tracing::warn!(error = %e, "token expiry pass failed");
                }
                if ticks.is_multiple_of(300) {
                    match core.barrier.check_interval_rotation().await {
                        Ok(Some(t)) => tracing::info!(term = t.term, "rotated the barrier key: interval elapsed"),
                        Ok(None) => {}
                        Err(e) => tracing::warn!(error = %e, "interval key rotation check failed"),
                    }
                }
            }
        })
    }

    async fn expire_tokens(&self) -> Result<()> {
        let revoked = self.tokens.expire_due(time::OffsetDateTime::now_utc()).await?;
        if !revoked.is_empty() {
            tracing::debug!(count = revoked.len(), "expired tokens revoked");
        }
        Ok(())
    }

    /// After a mount is disabled: the tokens its logins issued are revoked, as in OpenBao.
    pub(crate) async fn mount_removed(&self, table: Table, entry: &mounts::MountEntry) -> Result<()> {
        if table == Table::Auth {
            let route = mounts::route_of(table, &entry.path);
            for lease in self.tokens.lease_ids(&route).await? {
                self.tokens.revoke_lease(&lease).await?;
            }
        }
        Ok(())
    }

    pub(crate) fn remember_migration(&self, id: &str, status: Map<String, Value>) {
        self.migrations.lock().unwrap_or_else(|e| e.into_inner()).insert(id.to_string(), status);
    }

    /// Dev mode: KV version 2 at `secret/`, as `bao server -dev`.
    pub async fn mount_dev_kv(&self) -> Result<()> {
        let body =
            serde_json::json!({"type": "kv", "description": "key/value secret storage", "options": {"version": "2"}});
        sys_mounts::enable(self, Table::Secrets, "secret", body.as_object().unwrap_or(&Map::new())).await
    }

    pub(crate) fn migration(&self, id: &str) -> Option<Map<String, Value>> {
        self.migrations.lock().unwrap_or_else(|e| e.into_inner()).get(id).cloned()
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

    /// Handles a logical request end to end.
    pub async fn handle(&self, mut req: ClientRequest) -> Result<Reply> {
        if self.is_sealed() {
            return Err(CoreError::Sealed);
        }
        mounts::check_segments(&req.path)?;
        if req.operation == Operation::List && !req.path.ends_with('/') {
            req.path.push('/');
        }
        // Wrapping tokens are single-use: lookup and unwrap read them without spending them.
        match (req.path.as_str(), req.operation) {
            ("sys/wrapping/lookup", Operation::Update | Operation::Read) => return self.wrapping_lookup(&req).await,
            ("sys/wrapping/unwrap", Operation::Update) => {
                if req.data.get("token").map(|t| !t.is_null()).unwrap_or(false) {
                    let caller =
                        req.client_token.as_deref().filter(|t| !t.is_empty()).ok_or(CoreError::PermissionDenied)?;
                    self.tokens.use_token(caller).await?.ok_or(CoreError::PermissionDenied)?;
                }
                let id = req.id.clone();
                return self.unwrap(&req, &id).await;
            }
            _ => {}
        }
        let Some((mount, rel)) = self.router.route(&req.path) else {
            if req.client_token.as_deref().map(str::is_empty).unwrap_or(true) {
                return Err(CoreError::PermissionDenied);
            }
            return Err(CoreError::NoRoute(req.path.clone()));
        };

        // Authentication.
        let unauthenticated = match &mount.handler {
            Handler::Backend(b) => b.unauthenticated_paths().iter().any(|p| match p.strip_suffix('*') {
                Some(prefix) => rel.starts_with(prefix),
                None => rel == *p,
            }),
            _ => false,
        };
        let caller = if unauthenticated {
            None
        } else {
            let token = req.client_token.clone().filter(|t| !t.is_empty()).ok_or(CoreError::PermissionDenied)?;
            let entry = self.tokens.use_token(&token).await?.ok_or(CoreError::PermissionDenied)?;
            if !cidr_allows(&entry.bound_cidrs, req.remote_addr) {
                return Err(CoreError::PermissionDenied);
            }
            Some((token, entry))
        };

        let acl = match &caller {
            Some((_, entry)) => Some(self.policies.acl(&entry.policies).await?),
            None => None,
        };

        // Create or update: a write to a path that does not exist needs `create`. A KV mount
        // handles both alike, so when the ACL allows everything (root) the answer could change
        // nothing and the existence read is skipped.
        if req.operation == Operation::Update {
            let backend: Option<&dyn LogicalBackend> = match &mount.handler {
                Handler::Backend(b) => Some(b.as_ref()),
                Handler::Kv(b) if !acl.as_ref().is_some_and(|a| a.is_root()) => Some(b.as_ref()),
                _ => None,
            };
            if let Some(b) = backend {
                let probe = self.logical_request(&req, &mount, &rel, caller.as_ref().map(|c| &c.1));
                if b.exists(&probe, &mount.view).await? == Some(false) {
                    req.operation = Operation::Create;
                }
            }
        }

        // Authorization.
        let acl = match (&caller, acl) {
            (Some((_, entry)), Some(acl)) => {
                // The UI mounts listing filters by the token's access itself, as in OpenBao.
                let self_filtering = req.path.starts_with("sys/internal/ui/mounts");
                if !self_filtering && !self.allowed(&acl, &req, entry)? {
                    return Err(CoreError::AclDenied);
                }
                Some(acl)
            }
            _ => None,
        };

        let reply = match &mount.handler {
            Handler::System => {
                let (_, entry) = caller.as_ref().ok_or(CoreError::PermissionDenied)?;
                let acl = acl.as_ref().ok_or(CoreError::PermissionDenied)?;
                sys::handle(self, &sys::Caller { entry, acl }, rel.as_str(), &req).await?
            }
            Handler::Token => {
                let (token, entry) = caller.as_ref().ok_or(CoreError::PermissionDenied)?;
                let sudo = acl.as_ref().map(|a| a.is_root() || a.capabilities(&req.path).iter().any(|c| c == "sudo"));
                let lreq = self.logical_request(&req, &mount, &rel, Some(entry));
                let tcaller = coffer_token::Caller { entry, token, sudo: sudo.unwrap_or(false) };
                let out = self.tokens.handle(&lreq, &tcaller).await?;
                Reply { auth: out.auth.map(|a| a.to_json()), status: out.status, ..Reply::from_response(out.response) }
            }
            Handler::Cubbyhole => {
                let (_, entry) = caller.as_ref().ok_or(CoreError::PermissionDenied)?;
                let view = cubbyhole_view(&mount, &entry.cubbyhole_id);
                let lreq = self.logical_request(&req, &mount, &rel, Some(entry));
                let backend = coffer_kv::KvBackend::new(1);
                Reply::from_response(backend.handle(&lreq, &view).await?)
            }
            Handler::Identity => return Err(CoreError::UnsupportedPath),
            Handler::Kv(kv) => {
                let lreq = self.logical_request(&req, &mount, &rel, caller.as_ref().map(|c| &c.1));
                match kv.handle_reply(&lreq, &mount.view).await? {
                    coffer_kv::Reply::Ok(resp) => {
                        self.backend_reply(resp, &mount, &rel, caller.as_ref().map(|c| &c.1)).await?
                    }
                    coffer_kv::Reply::NotFound => return Err(CoreError::NotFound),
                    coffer_kv::Reply::NotFoundWith(resp) => Reply { status: Some(404), ..Reply::from_response(resp) },
                }
            }
            Handler::Backend(b) => {
                let lreq = self.logical_request(&req, &mount, &rel, caller.as_ref().map(|c| &c.1));
                let resp = b.handle(&lreq, &mount.view).await?;
                self.backend_reply(resp, &mount, &rel, caller.as_ref().map(|c| &c.1)).await?
            }
        };
        let reply = self.maybe_wrap(reply, &req, caller.as_ref().map(|c| &c.1)).await;
        if let Some((_, entry)) = &caller {
            self.tokens.finish_use(entry).await?;
        }
        reply
    }

    fn allowed(&self, acl: &coffer_policy::Acl, req: &ClientRequest, _entry: &TokenEntry) -> Result<bool> {
        if acl.is_root() {
            return Ok(true);
        }
        let decision = acl.check(&coffer_policy::AclRequest {
            path: &req.path,
            operation: req.operation.capability(),
            params: Some(&req.data),
            wrap_ttl: req.wrap_ttl,
        });
        if !decision.allowed {
            if let Some(reason) = &decision.reason {
                tracing::debug!(path = %req.path, op = req.operation.capability(), %reason, "permission denied");
            }
            return Ok(false);
        }
        if sudo_needed(&req.path, req.operation) && !decision.sudo {
            return Ok(false);
        }
        Ok(true)
    }

    fn logical_request(&self, req: &ClientRequest, mount: &Mounted, rel: &str, caller: Option<&TokenEntry>) -> Request {
        let mut l = Request::new(req.operation, rel);
        l.id = req.id.clone();
        l.mount = mount.info(self.settings.default_lease_ttl, self.settings.max_lease_ttl);
        l.data = req.data.clone();
        l.query = req.query.clone();
        l.remote_addr = req.remote_addr;
        if let Some(e) = caller {
            l.client_token_accessor = e.accessor.clone();
            l.display_name = e.display_name.clone();
            l.policies = e.policies.clone();
        }
        l
    }

    /// Turns a backend's response into a reply: a login's `auth` becomes a token.
    async fn backend_reply(
        &self,
        mut resp: Response,
        mount: &Mounted,
        rel: &str,
        _caller: Option<&TokenEntry>,
    ) -> Result<Reply> {
        let mut reply = Reply::default();
        if let Some(auth) = resp.auth.take() {
            let path = format!("{}{}", mount.route(), rel);
            let info = mount.info(self.settings.default_lease_ttl, self.settings.max_lease_ttl);
            let issued = self.tokens.from_auth(&auth, &path, &info).await?;
            reply.auth = Some(issued.auth_block().to_json());
            resp.warnings.extend(issued.warnings.iter().cloned());
        }
        if let Some(Value::Number(n)) = resp.top_level.remove("lease_duration") {
            // KV v1 reports a secret's `ttl` as its lease duration, with no lease id.
            reply.lease_duration = n.as_u64().unwrap_or(0);
        }
        if let Some(lease) = resp.lease.take() {
            // Static secrets (KV) report their TTL without a lease id, as OpenBao does.
            reply.lease_duration = lease.ttl.as_secs();
            reply.renewable = lease.renewable;
        }
        reply.response = resp;
        Ok(reply)
    }
}

/// Whether a token bound to `cidrs` may be used from `addr` (no binding: anywhere).
fn cidr_allows(cidrs: &[String], addr: Option<std::net::IpAddr>) -> bool {
    if cidrs.is_empty() {
        return true;
    }
    let Some(addr) = addr else { return false };
    cidrs.iter().any(|c| match c.parse::<ipnet::IpNet>() {
        Ok(net) => net.contains(&addr),
        Err(_) => c.parse::<std::net::IpAddr>().map(|ip| ip == addr).unwrap_or(false),
    })
}

/// A token's private cubbyhole: a view under the cubbyhole mount named by the token's random
/// cubbyhole id (not by the token itself).
fn cubbyhole_view(mount: &Mounted, cubbyhole_id: &str) -> View {
    View::new(mount.view.barrier().clone(), format!("{}{cubbyhole_id}/", mount.view.prefix()))
}

/// What the token store asks of the core.
struct CoreHooks(Weak<Core>);

#[async_trait::async_trait]
impl coffer_token::TokenHooks for CoreHooks {
    async fn on_revoke(&self, revoked: &coffer_token::Revoked) -> std::result::Result<(), String> {
        let Some(core) = self.0.upgrade() else { return Ok(()) };
        if revoked.cubbyhole_id.is_empty() {
            return Ok(());
        }
        if let Some(cubby) = core.router.find(Table::Secrets, "cubbyhole/") {
            mounts::clear_view(&cubbyhole_view(&cubby, &revoked.cubbyhole_id)).await.map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    async fn policy_exists(&self, name: &str) -> Option<bool> {
        let core = self.0.upgrade()?;
        if name == "root" {
            return Some(true);
        }
        core.policies.get(name).await.ok().map(|p| p.is_some())
    }

    async fn renew_auth(
        &self,
        mount_path: &str,
        auth: &coffer_logical::Auth,
    ) -> coffer_logical::Result<coffer_logical::Auth> {
        let Some(core) = self.0.upgrade() else { return Ok(auth.clone()) };
        match core.router.route(mount_path) {
            Some((m, _)) => match &m.handler {
                Handler::Backend(b) => b.renew_auth(auth, &m.view).await,
                _ => Ok(auth.clone()),
            },
            None => {
                Err(coffer_logical::LogicalError::InvalidRequest(format!("no auth method mounted at {mount_path:?}")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::cidr_allows;

    /// Tokens bound to CIDRs work only from inside them; unbound tokens work from anywhere.
    #[test]
    fn bound_cidrs_are_enforced() {
        let local = Some("127.0.0.1".parse().expect("ip"));
        let other = Some("10.1.2.3".parse().expect("ip"));
        assert!(cidr_allows(&[], other));
        let bound = vec!["127.0.0.0/8".to_string()];
        assert!(cidr_allows(&bound, local));
        assert!(!cidr_allows(&bound, other));
        assert!(!cidr_allows(&bound, None));
        assert!(cidr_allows(&["10.1.2.3".to_string()], other));
    }
}
