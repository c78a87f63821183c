//! The mount table and the router: which backend serves a path, and with which barrier view.
//!
//! Two tables live behind the barrier: `core/mounts` (secrets engines, routed at their path)
//! and `core/auth` (auth methods, routed at `auth/<path>`). Every mount's data lives in a view
//! named by its UUID (`logical/<uuid>/`, `auth/<uuid>/`), so moving a mount only rewrites the
//! table. The router matches the longest mount path that prefixes the request path.
use super::error::{CoreError, Result};
use coffer_logical::{LogicalBackend, MountInfo, View};
use coffer_storage::barrier::Barrier;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub const MOUNTS_PATH: &str = "core/mounts";
pub const AUTH_PATH: &str = "core/auth";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Table {
    Secrets,
    Auth,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct MountConfig {
    /// Seconds; 0 = the system default.
    pub default_lease_ttl: u64,
    pub max_lease_ttl: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MountEntry {
    /// Relative to its table, with a trailing slash: "secret/", "userpass/".
    pub path: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
    pub uuid: String,
    pub accessor: String,
    pub config: MountConfig,
    pub options: BTreeMap<String, String>,
    pub local: bool,
    pub seal_wrap: bool,
}

/// How a mounted path is served.
#[derive(Clone)]
pub enum Handler {
    /// `sys/`: the core itself.
    System,
    /// `auth/token/`: the token store.
    Token,
    /// `cubbyhole/`: per-token storage, a view per token.
    Cubbyhole,
    /// `identity/`: present for compatibility; no endpoints yet.
    Identity,
    /// KV answers some 404s with a body, so the core calls it through its fuller interface.
    Kv(Arc<coffer_kv::KvBackend>),
    Backend(Arc<dyn LogicalBackend>),
}

#[derive(Clone)]
pub struct Mounted {
    pub table: Table,
    pub entry: MountEntry,
    pub handler: Handler,
    pub view: View,
}

impl Mounted {
    /// A mount an operator enabled (not one of the built-in ones).
    pub fn is_user_mount(&self) -> bool {
        matches!(self.handler, Handler::Kv(_) | Handler::Backend(_))
    }

    async fn initialize(&self) -> Result<()> {
        match &self.handler {
            Handler::Backend(b) => b.initialize(&self.view).await.map_err(CoreError::from),
            Handler::Kv(b) => b.initialize(&self.view).await.map_err(CoreError::from),
            _ => Ok(()),
        }
    }

    /// The path requests are routed by: "secret/", "auth/userpass/".
    pub fn route(&self) -> String {
        route_of(self.table, &self.entry.path)
    }

    pub fn info(&self, system_default: Duration, system_max: Duration) -> MountInfo {
        let ttl = |secs: u64, dflt: Duration| if secs == 0 { dflt } else { Duration::from_secs(secs) };
        MountInfo {
            path: self.route(),
            kind: self.entry.kind.clone(),
            accessor: self.entry.accessor.clone(),
            options: self.entry.options.clone(),
            default_lease_ttl: ttl(self.entry.config.default_lease_ttl, system_default),
            max_lease_ttl: ttl(self.entry.config.max_lease_ttl, system_max),
        }
    }
}

pub fn route_of(table: Table, path: &str) -> String {
    match table {
        Table::Secrets => path.to_string(),
        Table::Auth => format!("auth/{path}"),
    }
}

/// Makes the backend for a mount type; `None` for an unknown type.
pub type Factory = fn(kind: &str, options: &BTreeMap<String, String>) -> Option<Arc<dyn LogicalBackend>>;

pub struct Router {
    barrier: Arc<Barrier>,
    factory: Factory,
    /// Sorted by route length, longest first. Replaced whole on every change.
    mounts: RwLock<Arc<Vec<Arc<Mounted>>>>,
    /// Serializes table changes (reads of the table are lock-free snapshots).
    change: tokio::sync::Mutex<()>,
}

fn random_hex(n: usize) -> String {
    (0..n).map(|_| format!("{:x}", rand::random::<u8>() & 0xf)).collect()
}

fn new_entry(path: &str, kind: &str, description: &str, local: bool, seal_wrap: bool) -> MountEntry {
    let accessor_kind = match kind {
        "token" => "auth_token".to_string(),
        "system" => "system".to_string(),
        k => k.replace('-', "_"),
    };
    MountEntry {
        path: path.to_string(),
        kind: kind.to_string(),
        description: description.to_string(),
        uuid: uuid::Uuid::new_v4().to_string(),
        accessor: format!("{accessor_kind}_{}", random_hex(8)),
        config: MountConfig::default(),
        options: BTreeMap::new(),
        local,
        seal_wrap,
    }
}

fn default_secret_mounts() -> Vec<MountEntry> {
    vec![
        new_entry("cubbyhole/", "cubbyhole", "per-token private secret storage", true, false),
        new_entry("identity/", "identity", "identity store", false, false),
        new_entry("sys/", "system", "system endpoints used for control, policy and debugging", false, true),
    ]
}

fn default_auth_mounts() -> Vec<MountEntry> {
    vec![new_entry("token/", "token", "token based credentials", false, false)]
}

/// Refuses empty, `.` and `..` segments.
pub fn check_segments(path: &str) -> Result<()> {
    if path.split('/').any(|s| s == "." || s == "..") {
        return Err(CoreError::InvalidRequest(format!("invalid path {path:?}: '.' and '..' segments are not allowed")));
    }
    Ok(())
}

/// "secret" -> "secret/"; refuses what OpenBao refuses.
pub fn normalize_mount_path(path: &str) -> Result<String> {
    let p = path.trim_matches('/');
    if p.is_empty() {
        return Err(CoreError::InvalidRequest("path cannot be empty".into()));
    }
    check_segments(p)?;
    if p.split('/').any(str::is_empty) {
        return Err(CoreError::InvalidRequest(format!("invalid path {path:?}")));
    }
    Ok(format!("{p}/"))
}

impl Router {
    pub fn new(barrier: Arc<Barrier>, factory: Factory) -> Self {
        Router { barrier, factory, mounts: RwLock::new(Arc::new(Vec::new())), change: tokio::sync::Mutex::new(()) }
    }

    pub fn snapshot(&self) -> Arc<Vec<Arc<Mounted>>> {
        self.mounts.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The mount serving `path` and the path relative to it.
    pub fn route(&self, path: &str) -> Option<(Arc<Mounted>, String)> {
        let mounts = self.snapshot();
        for m in mounts.iter() {
            let route = m.route();
            if let Some(rest) = path.strip_prefix(route.as_str()) {
                return Some((m.clone(), rest.to_string()));
            }
            if path == route.trim_end_matches('/') {
                return Some((m.clone(), String::new()));
            }
        }
        None
    }

    /// The mount whose route is exactly `route` ("secret/", "auth/userpass/").
    pub fn find(&self, table: Table, path: &str) -> Option<Arc<Mounted>> {
        self.snapshot().iter().find(|m| m.table == table && m.entry.path == path).cloned()
    }

    fn view_for(&self, table: Table, entry: &MountEntry) -> View {
        let prefix = match table {
            Table::Secrets => format!("logical/{}/", entry.uuid),
            Table::Auth => format!("auth/{}/", entry.uuid),
        };
        View::new(self.barrier.clone(), prefix)
    }

    fn build(&self, table: Table, entry: MountEntry) -> Result<Mounted> {
        let handler = match (table, entry.kind.as_str()) {
            (Table::Secrets, "system") => Handler::System,
            (Table::Secrets, "cubbyhole") => Handler::Cubbyhole,
            (Table::Secrets, "identity") => Handler::Identity,
            (Table::Auth, "token") => Handler::Token,
            (Table::Secrets, "kv") => Handler::Kv(Arc::new(
                coffer_kv::KvBackend::from_version_option(entry.options.get("version").map(String::as_str))
                    .map_err(CoreError::from)?,
            )),
            (_, kind) => Handler::Backend(
                (self.factory)(kind, &entry.options)
                    .ok_or_else(|| CoreError::InvalidRequest(format!("plugin not found in the catalog: {kind}")))?,
            ),
        };
        let view = self.view_for(table, &entry);
        Ok(Mounted { table, entry, handler, view })
    }

    /// Loads both tables after unseal (creating the defaults on first unseal) and initializes
    /// every backend.
    pub async fn load(&self) -> Result<()> {
        let _g = self.change.lock().await;
        let mut all = Vec::new();
        for (table, path, defaults) in [
            (Table::Secrets, MOUNTS_PATH, default_secret_mounts as fn() -> Vec<MountEntry>),
            (Table::Auth, AUTH_PATH, default_auth_mounts),
        ] {
            let entries: Vec<MountEntry> = match self.barrier.get(path).await? {
                Some(raw) => serde_json::from_slice(&raw)
                    .map_err(|e| CoreError::Internal(format!("corrupt mount table {path}: {e}")))?,
                None => {
                    let d = defaults();
                    self.persist(path, &d).await?;
                    d
                }
            };
            for e in entries {
                let m = self.build(table, e)?;
                m.initialize().await?;
                all.push(Arc::new(m));
            }
        }
        self.install(all);
        Ok(())
    }

    pub fn unload(&self) {
        *self.mounts.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(Vec::new());
    }

    fn install(&self, mut all: Vec<Arc<Mounted>>) {
        all.sort_by_key(|m| std::cmp::Reverse(m.route().len()));
        *self.mounts.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(all);
    }

    async fn persist(&self, path: &str, entries: &[MountEntry]) -> Result<()> {
        let raw = serde_json::to_vec(entries).map_err(|e| CoreError::Internal(e.to_string()))?;
        self.barrier.put(path, &raw).await?;
        Ok(())
    }

    async fn save_table(&self, table: Table, all: &[Arc<Mounted>]) -> Result<()> {
        let entries: Vec<MountEntry> = all.iter().filter(|m| m.table == table).map(|m| m.entry.clone()).collect();
        self.persist(if table == Table::Secrets { MOUNTS_PATH } else { AUTH_PATH }, &entries).await
    }

    fn conflict(all: &[Arc<Mounted>], route: &str) -> Option<String> {
        all.iter().map(|m| m.route()).find(|r| r.starts_with(route) || route.starts_with(r.as_str()))
    }

    /// Enables a new mount. `kind` "kv-v2" is kv with option version=2, as OpenBao.
    pub async fn mount(&self, table: Table, path: &str, mut entry: MountEntry) -> Result<()> {
        let path = normalize_mount_path(path)?;
        let route = route_of(table, &path);
        if table == Table::Secrets && ["sys/", "auth/", "cubbyhole/", "identity/"].iter().any(|r| route.starts_with(r))
        {
            return Err(CoreError::InvalidRequest(format!("cannot mount {route:?}")));
        }
        if table == Table::Auth && path == "token/" {
            return Err(CoreError::InvalidRequest("token credential backend cannot be instantiated".into()));
        }
        if entry.kind == "kv-v2" {
            entry.kind = "kv".into();
            entry.options.insert("version".into(), "2".into());
        }
        if matches!(entry.kind.as_str(), "system" | "cubbyhole" | "identity" | "token") {
            return Err(CoreError::InvalidRequest(format!("cannot mount a second {} backend", entry.kind)));
        }
        let _g = self.change.lock().await;
        let all = self.snapshot();
        if let Some(existing) = Self::conflict(&all, &route) {
            let shown = existing.strip_prefix("auth/").filter(|_| table == Table::Auth).unwrap_or(&existing);
            return Err(CoreError::InvalidRequest(format!("path is already in use at {shown}")));
        }
        entry.path = path;
        let mounted = self.build(table, entry)?;
        mounted.initialize().await?;
        let mut next: Vec<Arc<Mounted>> = all.iter().cloned().collect();
        next.push(Arc::new(mounted));
        self.save_table(table, &next).await?;
        self.install(next);
        Ok(())
    }

    /// Disables a mount and deletes its data. Returns the removed entry (None if nothing was
    /// mounted there, which is not an error).
    pub async fn unmount(&self, table: Table, path: &str) -> Result<Option<MountEntry>> {
        let path = normalize_mount_path(path)?;
        let _g = self.change.lock().await;
        let all = self.snapshot();
        let Some(target) = all.iter().find(|m| m.table == table && m.entry.path == path).cloned() else {
            return Ok(None);
        };
        if !target.is_user_mount() {
            return Err(CoreError::InvalidRequest(format!("cannot unmount {:?}", target.route())));
        }
        let next: Vec<Arc<Mounted>> = all.iter().filter(|m| !Arc::ptr_eq(m, &target)).cloned().collect();
        self.save_table(table, &next).await?;
        self.install(next);
        clear_view(&target.view).await?;
        Ok(Some(target.entry.clone()))
    }

    /// Moves a mount to a new path (same table or between tables is refused). The data stays
    /// in the mount's view, so only the table changes.
    pub async fn remount(&self, table: Table, from: &str, to: &str) -> Result<()> {
        let from = normalize_mount_path(from)?;
        let to = normalize_mount_path(to)?;
        let _g = self.change.lock().await;
        let all = self.snapshot();
        let Some(target) = all.iter().find(|m| m.table == table && m.entry.path == from).cloned() else {
            return Err(CoreError::InvalidRequest(format!("no matching mount at {:?}", route_of(table, &from))));
        };
        if !target.is_user_mount() {
            return Err(CoreError::InvalidRequest(format!("cannot remount {:?}", target.route())));
        }
        let new_route = route_of(table, &to);
        let others: Vec<Arc<Mounted>> = all.iter().filter(|m| !Arc::ptr_eq(m, &target)).cloned().collect();
        if let Some(existing) = Self::conflict(&others, &new_route) {
            return Err(CoreError::InvalidRequest(format!("path already in use at {existing}")));
        }
        if table == Table::Secrets
            && ["sys/", "auth/", "cubbyhole/", "identity/"].iter().any(|r| new_route.starts_with(r))
        {
            return Err(CoreError::InvalidRequest(format!("cannot remount to {new_route:?}")));
        }
        let mut moved = (*target).clone();
        moved.entry.path = to;
        let mut next = others;
        next.push(Arc::new(moved));
        self.save_table(table, &next).await?;
        self.install(next);
        Ok(())
    }

    /// Applies a tune to a mount's configuration.
    pub async fn tune(&self, table: Table, path: &str, f: impl FnOnce(&mut MountEntry) -> Result<()>) -> Result<()> {
        let path = normalize_mount_path(path)?;
        let _g = self.change.lock().await;
        let all = self.snapshot();
        let Some(target) = all.iter().find(|m| m.table == table && m.entry.path == path).cloned() else {
            return Err(CoreError::InvalidRequest(format!("no mount entry found at {:?}", route_of(table, &path))));
        };
        let mut changed = (*target).clone();
        f(&mut changed.entry)?;
        let next: Vec<Arc<Mounted>> =
            all.iter().map(|m| if Arc::ptr_eq(m, &target) { Arc::new(changed.clone()) } else { m.clone() }).collect();
        self.save_table(table, &next).await?;
        self.install(next);
        Ok(())
    }
}

/// Deletes everything below a view (used when a mount is disabled).
pub async fn clear_view(view: &View) -> Result<()> {
    let mut stack = vec![String::new()];
    while let Some(prefix) = stack.pop() {
        for k in view.list(&prefix).await? {
            let full = format!("{prefix}{k}");
            if k.ends_with('/') {
                stack.push(full);
            } else {
                view.delete(&full).await?;
            }
        }
    }
    Ok(())
}

/// A mount as `sys/mounts` and `sys/auth` show it.
pub fn entry_json(e: &MountEntry, table: Table, listing: bool) -> Map<String, Value> {
    let mut config = json!({
        "default_lease_ttl": e.config.default_lease_ttl,
        "force_no_cache": false,
        "max_lease_ttl": e.config.max_lease_ttl,
    });
    if matches!(e.kind.as_str(), "token" | "userpass" | "approle") {
        config["token_type"] = json!("default-service");
    }
    match e.kind.as_str() {
        "system" => config["passthrough_request_headers"] = json!(["Accept"]),
        "identity" => config["passthrough_request_headers"] = json!(["Authorization"]),
        _ => {}
    }
    // OpenBao lists auth methods without options as `null`, but reads them back as `{}`.
    let options = if matches!(e.kind.as_str(), "system" | "cubbyhole" | "identity" | "token")
        || (table == Table::Auth && listing && e.options.is_empty())
    {
        Value::Null
    } else {
        json!(e.options)
    };
    let mut m = coffer_logical::obj([
        ("accessor", json!(e.accessor)),
        ("config", config),
        ("description", json!(e.description)),
        ("external_entropy_access", json!(false)),
        ("local", json!(e.local)),
        ("options", options),
        ("plugin_version", json!("")),
        ("running_plugin_version", json!(format!("v{}+builtin.coffer", env!("CARGO_PKG_VERSION")))),
        ("running_sha256", json!("")),
        ("seal_wrap", json!(e.seal_wrap)),
        ("type", json!(e.kind)),
        ("uuid", json!(e.uuid)),
    ]);
    if !matches!(e.kind.as_str(), "system" | "cubbyhole" | "identity" | "token") {
        m.insert("deprecation_status".into(), json!("supported"));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_paths_are_normalized_and_checked() {
        assert_eq!(normalize_mount_path("secret").ok().as_deref(), Some("secret/"));
        assert_eq!(normalize_mount_path("/a/b/").ok().as_deref(), Some("a/b/"));
        assert!(normalize_mount_path("").is_err());
        assert!(normalize_mount_path("a/../b").is_err());
        assert!(normalize_mount_path("a//b").is_err());
    }
}
