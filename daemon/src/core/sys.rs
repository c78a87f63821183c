//! The logical `sys/` endpoints (those that need a token): key status and rotation, seal, mounts
//! and auth methods, policies and capabilities, wrapping, raw storage (when enabled), HA status.
use super::error::{CoreError, Result};
use super::mounts::Table;
use super::request::{ClientRequest, Reply};
use super::{sys_mounts, Core};
use crate::duration::{format_go_duration, parse_duration_value};
use coffer_logical::{obj, params, Operation, Response};
use coffer_policy::Acl;
use coffer_storage::barrier::{RotationConfig, TermInfo};
use coffer_token::TokenEntry;
use serde_json::{json, Map, Value};

pub struct Caller<'a> {
    pub entry: &'a TokenEntry,
    pub acl: &'a Acl,
}

fn data(m: Map<String, Value>) -> Result<Reply> {
    Ok(Reply::from_response(Response::data(m)))
}

fn both(m: Map<String, Value>) -> Result<Reply> {
    Ok(Reply::from_response(Response { top_level: m.clone(), data: Some(m), ..Default::default() }))
}

fn done() -> Result<Reply> {
    Ok(Reply::default())
}

pub async fn handle(core: &Core, caller: &Caller<'_>, path: &str, req: &ClientRequest) -> Result<Reply> {
    use Operation::*;
    let op = req.operation;
    let write = matches!(op, Create | Update);
    match path {
        "key-status" if op == Read => {
            let t = core.barrier.key_status()?;
            both(term_json(&t))
        }
        "rotate" | "rotate/keyring" if write => {
            let t = core.barrier.rotate().await?;
            tracing::info!(term = t.term, "rotated the barrier key");
            done()
        }
        "rotate/config" | "rotate/keyring/config" => match op {
            Read => data(rotation_config_json(&core.barrier.rotation_config()?)),
            Create | Update => {
                let c = merge_rotation_config(core.barrier.rotation_config()?, &req.data)?;
                core.barrier.set_rotation_config(c).await?;
                done()
            }
            _ => Err(CoreError::UnsupportedOperation),
        },
        "seal" if write => {
            core.seal_now().await;
            done()
        }
        "ha-status" if op == Read => ha_status(core),
        "mounts" => Ok(Reply::from_response(sys_mounts::handle(core, Table::Secrets, "", req).await?)),
        "auth" => Ok(Reply::from_response(sys_mounts::handle(core, Table::Auth, "", req).await?)),
        p if p.starts_with("mounts/") => {
            Ok(Reply::from_response(sys_mounts::handle(core, Table::Secrets, &p["mounts".len()..], req).await?))
        }
        p if p.starts_with("auth/") => {
            Ok(Reply::from_response(sys_mounts::handle(core, Table::Auth, &p["auth".len()..], req).await?))
        }
        "remount" if write => Ok(Reply::from_response(sys_mounts::remount(core, req).await?)),
        p if p.starts_with("remount/status/") && op == Read => {
            let id = &p["remount/status/".len()..];
            let status = core.migration(id).ok_or(CoreError::NotFound)?;
            data(obj([("migration_id", json!(id)), ("migration_info", Value::Object(status))]))
        }
        "internal/ui/mounts" if op == Read => {
            Ok(Reply::from_response(sys_mounts::ui_mounts(core, "", caller.acl).await?))
        }
        p if p.starts_with("internal/ui/mounts/") && op == Read => {
            Ok(Reply::from_response(sys_mounts::ui_mounts(core, &p["internal/ui/mounts/".len()..], caller.acl).await?))
        }
        p if p == "policies/password" || p.starts_with("policies/password/") => Ok(Reply::from_response(
            super::password::handle(&core.barrier, &p["policies/password".len()..], op, &req.data).await?,
        )),
        p if matches!(p.trim_end_matches('/'), "policy" | "policies/acl") && matches!(op, Read | List) => {
            let names = core.policies.list().await?;
            if p.trim_end_matches('/') == "policy" {
                both(obj([("keys", json!(names)), ("policies", json!(names))]))
            } else {
                data(obj([("keys", json!(names))]))
            }
        }
        p if p.starts_with("policy/") || p.starts_with("policies/acl/") => {
            let legacy = p.starts_with("policy/");
            let name = p.split_once('/').map(|(_, n)| n).unwrap_or("");
            let name = if legacy { name } else { name.strip_prefix("acl/").unwrap_or(name) };
            policy_endpoint(core, name, legacy, req).await
        }
        "capabilities" | "capabilities-self" | "capabilities-accessor" if write => {
            capabilities(core, caller, path, req).await
        }
        "wrapping/wrap" if write => core.wrap_data(req, caller.entry).await,
        p if p.starts_with("leases/") => super::leases::handle(core, &p["leases/".len()..], req).await,
        "wrapping/rewrap" if write => core.rewrap(req).await,
        p if p == "raw" || p.starts_with("raw/") => {
            if !core.settings.raw_storage_endpoint {
                return Err(CoreError::UnsupportedPath);
            }
            raw(core, p.strip_prefix("raw").unwrap_or("").trim_start_matches('/'), req).await
        }
        "key-status"
        | "rotate"
        | "rotate/keyring"
        | "seal"
        | "ha-status"
        | "remount"
        | "internal/ui/mounts"
        | "capabilities"
        | "capabilities-self"
        | "capabilities-accessor"
        | "wrapping/wrap"
        | "wrapping/rewrap" => Err(CoreError::UnsupportedOperation),
        _ => Err(CoreError::UnsupportedPath),
    }
}

pub fn term_json(t: &TermInfo) -> Map<String, Value> {
    let install = t.install_time.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    obj([("encryptions", json!(t.encryptions)), ("install_time", json!(install)), ("term", json!(t.term))])
}

fn rotation_config_json(c: &RotationConfig) -> Map<String, Value> {
    let interval = if c.interval.is_zero() { json!(0) } else { json!(format_go_duration(c.interval)) };
    obj([("enabled", json!(c.enabled)), ("interval", interval), ("max_operations", json!(c.max_operations))])
}

/// Fields not given keep their current values, as in OpenBao.
fn merge_rotation_config(mut c: RotationConfig, body: &Map<String, Value>) -> Result<RotationConfig> {
    if let Some(v) = body.get("max_operations").filter(|v| !v.is_null()) {
        c.max_operations = match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .ok_or_else(|| CoreError::InvalidRequest("max_operations must be a non-negative integer".into()))?;
    }
    if let Some(v) = body.get("interval").filter(|v| !v.is_null()) {
        c.interval = parse_duration_value(v).map_err(|e| CoreError::InvalidRequest(format!("interval: {e}")))?;
    }
    if let Some(b) = params::boolean(body.get("enabled"), "enabled")? {
        c.enabled = b;
    }
    c.validate()?;
    Ok(c)
}

fn ha_status(core: &Core) -> Result<Reply> {
    let api = core.settings.api_addr.clone().unwrap_or_default();
    let cluster = core.settings.cluster_addr.clone().unwrap_or_default();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
    let node = json!({
        "hostname": host,
        "api_address": api,
        "cluster_address": cluster,
        "active_node": true,
        "last_echo": null,
        "version": super::API_VERSION,
        "upgrade_version": super::API_VERSION,
    });
    both(obj([("nodes", json!([node]))]))
}

async fn policy_endpoint(core: &Core, name: &str, legacy: bool, req: &ClientRequest) -> Result<Reply> {
    let name = super::policies::normalize_name(name);
    match req.operation {
        Operation::Read => {
            if name == "root" {
                let m = if legacy {
                    obj([("name", json!("root")), ("rules", json!(""))])
                } else {
                    obj([("name", json!("root")), ("policy", json!(""))])
                };
                return both(m);
            }
            let record = core.policies.record(&name).await?.ok_or(CoreError::NotFound)?;
            if legacy {
                both(record.json(&name, "rules"))
            } else {
                data(record.json(&name, "policy"))
            }
        }
        Operation::Create | Operation::Update => {
            let text = params::string(req.data.get("policy"), "policy")?
                .or(params::string(req.data.get("rules"), "rules")?)
                .unwrap_or_default();
            let text = decode_policy_text(&text);
            if text.trim().is_empty() {
                return Err(CoreError::InvalidRequest("'policy' parameter not supplied or empty".into()));
            }
            core.policies.put(&name, &text).await?;
            done()
        }
        Operation::Delete => {
            core.policies.delete(&name).await?;
            done()
        }
        _ => Err(CoreError::UnsupportedOperation),
    }
}

/// OpenBao accepts a policy body in base64 too.
fn decode_policy_text(text: &str) -> String {
    use base64::Engine;
    if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(text.trim()) {
        if let Ok(s) = String::from_utf8(bytes) {
            if s.contains("path") {
                return s;
            }
        }
    }
    text.to_string()
}

async fn capabilities(core: &Core, caller: &Caller<'_>, endpoint: &str, req: &ClientRequest) -> Result<Reply> {
    let mut paths = params::string_list(req.data.get("paths"), "paths")?.unwrap_or_default();
    if paths.is_empty() {
        if let Some(p) = params::string(req.data.get("path"), "path")? {
            paths.push(p);
        }
    }
    if paths.is_empty() {
        return Err(CoreError::InvalidRequest("paths must be supplied".into()));
    }
    let other;
    let acl: &Acl = match endpoint {
        "capabilities-self" => caller.acl,
        "capabilities" => {
            let token = params::string(req.data.get("token"), "token")?.unwrap_or_default();
            let entry =
                core.tokens.lookup(&token).await?.ok_or_else(|| CoreError::InvalidRequest("invalid token".into()))?;
            other = core.policies.acl(&entry.policies).await?;
            &other
        }
        _ => {
            let accessor = params::string(req.data.get("accessor"), "accessor")?.unwrap_or_default();
            let entry = core
                .tokens
                .lookup_accessor(&accessor)
                .await?
                .ok_or_else(|| CoreError::InvalidRequest("invalid accessor".into()))?;
            other = core.policies.acl(&entry.policies).await?;
            &other
        }
    };
    let mut m = Map::new();
    for p in &paths {
        m.insert(p.clone(), json!(acl.capabilities(p.trim_start_matches('/'))));
    }
    if paths.len() == 1 {
        m.insert("capabilities".into(), json!(acl.capabilities(paths[0].trim_start_matches('/'))));
    }
    both(m)
}

/// `sys/raw`: reads and writes through the barrier at storage paths, as OpenBao's raw endpoint
/// (enabled by `raw_storage_endpoint = true`). Values are strings.
async fn raw(core: &Core, path: &str, req: &ClientRequest) -> Result<Reply> {
    match req.operation {
        Operation::Read => {
            let value = core.barrier.get(path).await?.ok_or(CoreError::NotFound)?;
            let text = String::from_utf8_lossy(&value).into_owned();
            data(obj([("value", json!(text))]))
        }
        Operation::Create | Operation::Update => {
            if path.is_empty() {
                return Err(CoreError::InvalidRequest("missing path".into()));
            }
            let Some(Value::String(v)) = req.data.get("value") else {
                return Err(CoreError::InvalidRequest("missing value".into()));
            };
            core.barrier.put(path, v.as_bytes()).await?;
            done()
        }
        Operation::Delete => {
            core.barrier.delete(path).await?;
            done()
        }
        Operation::List => {
            let prefix = if path.is_empty() || path.ends_with('/') { path.to_string() } else { format!("{path}/") };
            let keys = core.barrier.list(&prefix).await?;
            if keys.is_empty() {
                return Err(CoreError::NotFound);
            }
            data(obj([("keys", json!(keys))]))
        }
        Operation::Patch => Err(CoreError::UnsupportedOperation),
    }
}
