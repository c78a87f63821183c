//! KV v1 ("passthrough"): one JSON object per path, stored as written.
use crate::input::{parse_duration_second, unknown_params, warn_unknown};
use crate::{Op, Reply};
use coffer_logical::{obj, LogicalError, Operation, Request, Response, Result, View};
use serde_json::{json, Map, Value};
use std::time::Duration;

/// OpenBao's system default lease TTL (32 days), used when the mount sets none.
const SYSTEM_DEFAULT_LEASE_TTL: Duration = Duration::from_secs(768 * 3600);

const KNOWN: &[&str] = &["path"];

pub async fn handle(req: &Request, op: Op, view: &View) -> Result<Reply> {
    match op {
        Op::Basic(Operation::Read) => read(req, view).await,
        Op::Basic(Operation::Create | Operation::Update) => write(req, view).await,
        Op::Basic(Operation::Delete) => {
            if !req.path.is_empty() {
                view.delete(&req.path).await?;
            }
            Ok(Reply::Ok(Response::no_content()))
        }
        Op::Basic(Operation::List) => {
            let keys = view.list(&dir(&req.path)).await?;
            if keys.is_empty() {
                return Ok(Reply::NotFound);
            }
            let resp = Response::data(obj([("keys", json!(keys))]));
            Ok(Reply::Ok(warn_unknown(resp, &unknown_params(req, KNOWN, &["list"]))))
        }
        Op::Scan => {
            let keys = scan(view, &dir(&req.path)).await?;
            Ok(Reply::Ok(warn_unknown(keys_response(keys), &unknown_params(req, KNOWN, &["scan", "list"]))))
        }
        Op::Basic(Operation::Patch) => Err(LogicalError::UnsupportedOperation),
    }
}

pub async fn exists(req: &Request, view: &View) -> Result<Option<bool>> {
    if req.path.is_empty() {
        return Ok(Some(false));
    }
    Ok(Some(view.get(&req.path).await?.is_some()))
}

async fn read(req: &Request, view: &View) -> Result<Reply> {
    if req.path.is_empty() {
        return Ok(Reply::NotFound);
    }
    let Some(raw) = view.get(&req.path).await? else { return Ok(Reply::NotFound) };
    let data: Map<String, Value> =
        serde_json::from_slice(&raw).map_err(|e| LogicalError::Internal(format!("json decoding failed: {e}")))?;
    let default_ttl =
        if req.mount.default_lease_ttl.is_zero() { SYSTEM_DEFAULT_LEASE_TTL } else { req.mount.default_lease_ttl };
    let mut ttl = i64::try_from(default_ttl.as_secs()).unwrap_or(i64::MAX);
    if let Some(raw_ttl) = data.get("ttl").or_else(|| data.get("lease")) {
        let parsed = match raw_ttl {
            Value::Null => Ok(0),
            Value::Number(n) => parse_duration_second(&n.to_string()),
            Value::String(s) => parse_duration_second(s),
            _ => Err(String::new()),
        };
        if let Ok(secs) = parsed {
            ttl = secs;
        }
    }
    let mut resp = Response::data(data);
    // Not a lease: OpenBao's kv v1 reports the duration with an empty lease_id.
    resp.top_level.insert("lease_duration".into(), json!(ttl));
    Ok(Reply::Ok(warn_unknown(resp, &unknown_params(req, KNOWN, &[]))))
}

async fn write(req: &Request, view: &View) -> Result<Reply> {
    if req.data.is_empty() {
        return Err(LogicalError::InvalidRequest("missing data fields".into()));
    }
    let buf =
        serde_json::to_vec(&req.data).map_err(|e| LogicalError::Internal(format!("json encoding failed: {e}")))?;
    view.put(&req.path, &buf).await?;
    Ok(Reply::Ok(Response::no_content()))
}

/// A path as a folder to list: with a trailing slash, except the root.
pub(crate) fn dir(path: &str) -> String {
    if path.is_empty() || path.ends_with('/') {
        path.to_string()
    } else {
        format!("{path}/")
    }
}

/// Every key below `base` (a folder), relative to it, in OpenBao's scan order: a folder's keys
/// first, then its subfolders depth-first from the last one listed.
pub(crate) async fn scan(view: &View, base: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut pending = vec![String::new()];
    while let Some(rel) = pending.pop() {
        for child in view.list(&format!("{base}{rel}")).await? {
            if child.ends_with('/') {
                pending.push(format!("{rel}{child}"));
            } else {
                out.push(format!("{rel}{child}"));
            }
        }
    }
    Ok(out)
}

/// `{"keys": [...]}`, or `{}` when there are none (a scan of nothing is not a 404).
pub(crate) fn keys_response(keys: Vec<String>) -> Response {
    if keys.is_empty() {
        Response::data(Map::new())
    } else {
        Response::data(obj([("keys", json!(keys))]))
    }
}
