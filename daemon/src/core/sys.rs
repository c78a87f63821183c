//! The logical `sys/` endpoints that need a token: key status and rotation, rotation config,
//! seal, raw storage access (when enabled), HA status.
use super::error::{CoreError, Result};
use super::request::{obj, Operation, Request, Response};
use super::token::TokenEntry;
use super::Core;
use crate::duration::{format_go_duration, parse_duration_value};
use coffer_storage::barrier::{RotationConfig, TermInfo};
use serde_json::{json, Map, Value};

pub async fn handle(core: &Core, token: &TokenEntry, path: &str, req: &Request) -> Result<Response> {
    use Operation::*;
    let op = req.operation;
    match path {
        "key-status" => match op {
            Read => key_status(core),
            _ => Err(CoreError::UnsupportedOperation),
        },
        "rotate" | "rotate/keyring" => match op {
            Update => {
                require_sudo(token)?;
                let t = core.barrier.rotate().await?;
                tracing::info!(term = t.term, "rotated the barrier key");
                Ok(Response::no_content())
            }
            _ => Err(CoreError::UnsupportedOperation),
        },
        "rotate/config" | "rotate/keyring/config" => match op {
            Read => {
                let c = core.barrier.rotation_config()?;
                Ok(Response::data(rotation_config_json(&c)))
            }
            Update => {
                require_sudo(token)?;
                let c = merge_rotation_config(core.barrier.rotation_config()?, &req.data)?;
                core.barrier.set_rotation_config(c).await?;
                Ok(Response::no_content())
            }
            _ => Err(CoreError::UnsupportedOperation),
        },
        "seal" => match op {
            Update => {
                require_sudo(token)?;
                core.seal_now().await;
                Ok(Response::no_content())
            }
            _ => Err(CoreError::UnsupportedOperation),
        },
        "ha-status" => match op {
            Read => ha_status(core),
            _ => Err(CoreError::UnsupportedOperation),
        },
        p if p == "raw" || p.starts_with("raw/") => {
            if !core.settings.raw_storage_endpoint {
                return Err(CoreError::UnsupportedPath);
            }
            require_sudo(token)?;
            raw(core, p.strip_prefix("raw").unwrap_or("").trim_start_matches('/'), req).await
        }
        _ => Err(CoreError::UnsupportedPath),
    }
}

/// Until ACL policies land (core-API issue) only root tokens exist; sudo paths check for them.
fn require_sudo(token: &TokenEntry) -> Result<()> {
    if token.is_root() {
        Ok(())
    } else {
        Err(CoreError::PermissionDenied)
    }
}

fn key_status(core: &Core) -> Result<Response> {
    let t = core.barrier.key_status()?;
    let data = term_json(&t);
    Ok(Response { top_level: data.clone(), data: Some(data), ..Default::default() })
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
    if let Some(v) = body.get("enabled").filter(|v| !v.is_null()) {
        c.enabled = match v {
            Value::Bool(b) => *b,
            Value::String(s) => s
                .parse()
                .map_err(|_| CoreError::InvalidRequest("enabled must be a boolean".into()))?,
            _ => return Err(CoreError::InvalidRequest("enabled must be a boolean".into())),
        };
    }
    c.validate()?;
    Ok(c)
}

fn ha_status(core: &Core) -> Result<Response> {
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
    let data = obj([("nodes", json!([node]))]);
    Ok(Response { top_level: data.clone(), data: Some(data), ..Default::default() })
}

/// `sys/raw`: reads and writes through the barrier at storage paths, as OpenBao's raw endpoint
/// (enabled by `raw_storage_endpoint = true`). Values are strings.
async fn raw(core: &Core, path: &str, req: &Request) -> Result<Response> {
    match req.operation {
        Operation::Read => {
            let value = core.barrier.get(path).await?.ok_or(CoreError::NotFound)?;
            let text = String::from_utf8_lossy(&value).into_owned();
            Ok(Response::data(obj([("value", json!(text))])))
        }
        Operation::Update => {
            if path.is_empty() {
                return Err(CoreError::InvalidRequest("missing path".into()));
            }
            let Some(Value::String(v)) = req.data.get("value") else {
                return Err(CoreError::InvalidRequest("missing value".into()));
            };
            core.barrier.put(path, v.as_bytes()).await?;
            Ok(Response::no_content())
        }
        Operation::Delete => {
            core.barrier.delete(path).await?;
            Ok(Response::no_content())
        }
        Operation::List => {
            let prefix = if path.is_empty() || path.ends_with('/') { path.to_string() } else { format!("{path}/") };
            let keys = core.barrier.list(&prefix).await?;
            if keys.is_empty() {
                return Err(CoreError::NotFound);
            }
            Ok(Response::data(obj([("keys", json!(keys))])))
        }
        Operation::Patch => Err(CoreError::UnsupportedOperation),
    }
}
