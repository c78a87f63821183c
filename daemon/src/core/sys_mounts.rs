//! `sys/mounts`, `sys/auth`, their `tune`, `sys/remount` and `sys/internal/ui/mounts`.
use super::error::{CoreError, Result};
use super::mounts::{entry_json, normalize_mount_path, route_of, MountEntry, Table};
use super::request::ClientRequest;
use super::Core;
use coffer_logical::{obj, params, Operation, Response};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Handles `sys/mounts[/...]` (`table` Secrets) and `sys/auth[/...]` (Auth); `rest` is what
/// follows "mounts" or "auth" (empty or "/path[/tune]").
pub async fn handle(core: &Core, table: Table, rest: &str, req: &ClientRequest) -> Result<Response> {
    let rest = rest.trim_start_matches('/');
    if rest.is_empty() {
        return match req.operation {
            Operation::Read => Ok(list(core, table)),
            _ => Err(CoreError::UnsupportedOperation),
        };
    }
    if let Some(path) = rest.strip_suffix("/tune") {
        return tune(core, table, path, req).await;
    }
    match req.operation {
        Operation::Read => {
            let path = normalize_mount_path(rest)?;
            let m = core.router.find(table, &path).ok_or_else(|| {
                CoreError::InvalidRequest(format!(
                    "No {} at {}",
                    if table == Table::Auth { "auth engine" } else { "secret engine mount" },
                    route_of(table, &path)
                ))
            })?;
            let data = entry_json(&m.entry, table, false);
            Ok(Response { top_level: data.clone(), data: Some(data), ..Default::default() })
        }
        Operation::Create | Operation::Update => {
            enable(core, table, rest, &req.data).await?;
            Ok(Response::no_content())
        }
        Operation::Delete => {
            if let Some(entry) = core.router.unmount(table, rest).await? {
                tracing::info!(path = %route_of(table, &entry.path), kind = %entry.kind, "disabled mount");
                core.mount_removed(table, &entry).await?;
            }
            Ok(Response::no_content())
        }
        _ => Err(CoreError::UnsupportedOperation),
    }
}

fn list(core: &Core, table: Table) -> Response {
    let mut data = Map::new();
    for m in core.router.snapshot().iter().filter(|m| m.table == table) {
        data.insert(m.entry.path.clone(), Value::Object(entry_json(&m.entry, table, true)));
    }
    Response { top_level: data.clone(), data: Some(data), ..Default::default() }
}

fn options_of(v: Option<&Value>) -> Result<BTreeMap<String, String>> {
    match v {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                Value::Number(n) => Ok((k.clone(), n.to_string())),
                Value::Bool(b) => Ok((k.clone(), b.to_string())),
                _ => Err(CoreError::InvalidRequest(format!("options: value of {k:?} must be a string"))),
            })
            .collect(),
        Some(_) => Err(CoreError::InvalidRequest("options must be a map of strings".into())),
    }
}

fn ttl_secs(v: Option<&Value>, name: &str) -> Result<Option<u64>> {
    if let Some(Value::String(s)) = v {
        if s == "system" {
            return Ok(Some(0));
        }
    }
    Ok(params::duration(v, name)?.map(|d| d.as_secs()))
}

pub(crate) async fn enable(core: &Core, table: Table, path: &str, body: &Map<String, Value>) -> Result<()> {
    let kind = params::string(body.get("type"), "type")?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| CoreError::InvalidRequest("backend type must be specified".into()))?;
    let description = params::string(body.get("description"), "description")?.unwrap_or_default();
    let mut options = options_of(body.get("options"))?;
    let config = body.get("config").and_then(Value::as_object).cloned().unwrap_or_default();
    if kind == "kv" && !options.contains_key("version") {
        options.insert("version".into(), "1".into());
    }
    if let Some(v) = options.get("version") {
        if kind == "kv" && v != "1" && v != "2" {
            return Err(CoreError::InvalidRequest(format!("invalid KV version {v:?}: must be 1 or 2")));
        }
    }
    let mut entry = MountEntry {
        path: String::new(),
        kind: kind.clone(),
        description,
        uuid: uuid::Uuid::new_v4().to_string(),
        accessor: String::new(),
        config: Default::default(),
        options,
        local: params::boolean(body.get("local"), "local")?.unwrap_or(false),
        seal_wrap: params::boolean(body.get("seal_wrap"), "seal_wrap")?.unwrap_or(false),
    };
    let prefix = if table == Table::Auth { format!("auth_{}", kind.replace('-', "_")) } else { kind.replace('-', "_") };
    let prefix = if kind == "kv-v2" { "kv".to_string() } else { prefix };
    entry.accessor = format!("{prefix}_{:08x}", rand::random::<u32>());
    entry.config.default_lease_ttl = ttl_secs(config.get("default_lease_ttl"), "default_lease_ttl")?.unwrap_or(0);
    entry.config.max_lease_ttl = ttl_secs(config.get("max_lease_ttl"), "max_lease_ttl")?.unwrap_or(0);
    check_ttls(core, &entry)?;
    core.router.mount(table, path, entry).await?;
    tracing::info!(path = %route_of(table, &normalize_mount_path(path)?), %kind, "enabled mount");
    Ok(())
}

fn check_ttls(core: &Core, e: &MountEntry) -> Result<()> {
    let sys_max = core.settings.max_lease_ttl.as_secs();
    let max = if e.config.max_lease_ttl == 0 { sys_max } else { e.config.max_lease_ttl };
    if e.config.max_lease_ttl > sys_max {
        return Err(CoreError::InvalidRequest("given max_lease_ttl is greater than system max lease TTL".into()));
    }
    if e.config.default_lease_ttl > max {
        return Err(CoreError::InvalidRequest("given default_lease_ttl is greater than given max_lease_ttl".into()));
    }
    Ok(())
}

async fn tune(core: &Core, table: Table, path: &str, req: &ClientRequest) -> Result<Response> {
    let norm = normalize_mount_path(path)?;
    match req.operation {
        Operation::Read => {
            let m = core.router.find(table, &norm).ok_or_else(|| {
                CoreError::InvalidRequest(format!("cannot fetch sysview for path {:?}", route_of(table, &norm)))
            })?;
            let info = m.info(core.settings.default_lease_ttl, core.settings.max_lease_ttl);
            let mut data = obj([
                ("default_lease_ttl", json!(info.default_lease_ttl.as_secs())),
                ("description", json!(m.entry.description)),
                ("force_no_cache", json!(false)),
                ("max_lease_ttl", json!(info.max_lease_ttl.as_secs())),
            ]);
            if !m.entry.options.is_empty() {
                data.insert("options".into(), json!(m.entry.options));
            }
            if table == Table::Auth {
                data.insert("token_type".into(), json!("default-service"));
            }
            Ok(Response { top_level: data.clone(), data: Some(data), ..Default::default() })
        }
        Operation::Create | Operation::Update => {
            let body = req.data.clone();
            let sys_max = core.settings.max_lease_ttl;
            core.router
                .tune(table, path, |e| {
                    if let Some(d) = params::string(body.get("description"), "description")? {
                        e.description = d;
                    }
                    if let Some(t) = ttl_secs(body.get("default_lease_ttl"), "default_lease_ttl")? {
                        e.config.default_lease_ttl = t;
                    }
                    if let Some(t) = ttl_secs(body.get("max_lease_ttl"), "max_lease_ttl")? {
                        e.config.max_lease_ttl = t;
                    }
                    if e.config.max_lease_ttl > sys_max.as_secs() {
                        return Err(CoreError::InvalidRequest(
                            "given max_lease_ttl is greater than system max lease TTL".into(),
                        ));
                    }
                    let max = if e.config.max_lease_ttl == 0 { sys_max.as_secs() } else { e.config.max_lease_ttl };
                    if e.config.default_lease_ttl > max {
                        return Err(CoreError::InvalidRequest(
                            "given default_lease_ttl is greater than given max_lease_ttl".into(),
                        ));
                    }
                    for (k, v) in options_of(body.get("options"))? {
                        if k == "version" && e.kind == "kv" && e.options.get("version") != Some(&v) {
                            return Err(CoreError::InvalidRequest(format!(
                                "changing the KV version of an existing mount (to {v}) is not supported by Coffer yet"
                            )));
                        }
                        e.options.insert(k, v);
                    }
                    Ok(())
                })
                .await?;
            Ok(Response::no_content())
        }
        _ => Err(CoreError::UnsupportedOperation),
    }
}

/// `sys/remount`: moves a mount; the data stays where it is (views are named by UUID), so the
/// move completes before the response and its status reads "success".
pub async fn remount(core: &Core, req: &ClientRequest) -> Result<Response> {
    let from = params::string(req.data.get("from"), "from")?.unwrap_or_default();
    let to = params::string(req.data.get("to"), "to")?.unwrap_or_default();
    if from.is_empty() || to.is_empty() {
        return Err(CoreError::InvalidRequest("both 'from' and 'to' path must be specified as a string".into()));
    }
    let (table, from_p, to_p) =
        match (from.trim_start_matches('/').strip_prefix("auth/"), to.trim_start_matches('/').strip_prefix("auth/")) {
            (Some(f), Some(t)) => (Table::Auth, f.to_string(), t.to_string()),
            (None, None) => (Table::Secrets, from.clone(), to.clone()),
            _ => {
                return Err(CoreError::InvalidRequest("cannot remount between secrets engines and auth methods".into()))
            }
        };
    core.router.remount(table, &from_p, &to_p).await?;
    let id = uuid::Uuid::new_v4().to_string();
    let status = obj([
        ("source_mount", json!(route_of(table, &normalize_mount_path(&from_p)?))),
        ("target_mount", json!(route_of(table, &normalize_mount_path(&to_p)?))),
        ("status", json!("success")),
    ]);
    core.remember_migration(&id, status);
    tracing::info!(migration_id = %id, %from, %to, "mount moved");
    let data = obj([("migration_id", json!(id))]);
    Ok(Response {
        top_level: data.clone(),
        data: Some(data),
        warnings: vec!["Mount move has been queued. Progress will be reported in Coffer's server log, tagged with the returned migration_id".into()],
        ..Default::default()
    })
}

/// `sys/internal/ui/mounts` and `sys/internal/ui/mounts/:path` (what `bao kv` asks first).
pub async fn ui_mounts(core: &Core, path: &str, acl: &coffer_policy::Acl) -> Result<Response> {
    if path.is_empty() {
        let mut secret = Map::new();
        let mut auth = Map::new();
        for m in core.router.snapshot().iter() {
            let route = m.route();
            let visible = acl.is_root() || acl.has_mount_access(&route);
            if !visible {
                continue;
            }
            let target = if m.table == Table::Auth { &mut auth } else { &mut secret };
            target.insert(m.entry.path.clone(), Value::Object(entry_json(&m.entry, m.table, true)));
        }
        return Ok(Response::data(obj([("auth", Value::Object(auth)), ("secret", Value::Object(secret))])));
    }
    let Some((m, _)) = core.router.route(path) else {
        return Err(CoreError::InvalidRequest(format!(
            "Preflight capability check returned 403, please ensure client's policies grant access to path \"{path}/\""
        )));
    };
    if !acl.is_root() && !acl.has_mount_access(&m.route()) {
        return Err(CoreError::PermissionDenied);
    }
    let mut data = entry_json(&m.entry, m.table, false);
    data.insert("path".into(), json!(m.entry.path));
    Ok(Response::data(data))
}
