//! `config`, `delete/`, `undelete/`, `destroy/` and `subkeys/`.
use super::data::requested_version;
use super::model::{
    deletion_time, encode, load_config, load_metadata, load_version, metadata_key, version_key, CONFIG_KEY,
    DVA_DISABLED,
};
use crate::input::{unknown_params, warn_unknown, Input};
use crate::{KvBackend, Reply};
use coffer_logical::{obj, LogicalError, Request, Response, Result, View};
use coffer_storage::BarrierOp;
use serde_json::{Map, Value};

const CONFIG_FIELDS: &[&str] = &["max_versions", "cas_required", "metadata_cas_required", "delete_version_after"];
const SUBKEYS_FIELDS: &[&str] = &["path", "depth", "version"];

pub async fn config_read(req: &Request, view: &View) -> Result<Reply> {
    let config = load_config(view).await?;
    let resp = Response::data(config.to_response());
    Ok(Reply::Ok(warn_unknown(resp, &unknown_params(req, CONFIG_FIELDS, &[]))))
}

pub async fn config_write(b: &KvBackend, req: &Request, view: &View) -> Result<Reply> {
    let input = Input::strict(req);
    let max_versions = input.int("max_versions")?;
    let cas_required = input.boolean("cas_required")?;
    let metadata_cas_required = input.boolean("metadata_cas_required")?;
    let dva = input.duration_secs("delete_version_after", true)?;
    if max_versions.is_none() && cas_required.is_none() && metadata_cas_required.is_none() && dva.is_none() {
        return Ok(Reply::Ok(Response::no_content()));
    }
    let _guard = b.lock_config().await;
    let mut config = load_config(view).await?;
    if let Some(v) = max_versions {
        config.max_versions = v as u32;
    }
    if let Some(v) = cas_required {
        config.cas_required = v;
    }
    if let Some(v) = metadata_cas_required {
        config.metadata_cas_required = v;
    }
    if let Some(v) = dva {
        config.delete_version_after = if v < 0 { DVA_DISABLED } else { v };
    }
    view.put(CONFIG_KEY, &encode(&config)?).await?;
    Ok(Reply::Ok(Response::no_content()))
}

/// The positive version numbers of a `versions` field; OpenBao's errors when there are none.
fn versions(req: &Request, none_text: &str) -> Result<Vec<u64>> {
    let requested = Input::strict(req).comma_ints("versions")?;
    if requested.is_empty() {
        return Err(LogicalError::InvalidRequest(none_text.into()));
    }
    // Go converts with uint64(n): zero and negative numbers name no version.
    Ok(requested.into_iter().filter(|n| *n > 0).map(|n| n as u64).collect())
}

/// Soft-deletes the given versions (those not already deleted or destroyed).
pub async fn delete_versions(b: &KvBackend, req: &Request, view: &View, path: &str) -> Result<Reply> {
    let numbers = versions(req, "No version number provided")?;
    let _guard = b.lock(path).await;
    let Some(mut meta) = load_metadata(view, path).await? else { return Ok(Reply::Ok(Response::no_content())) };
    let now = b.now();
    for n in numbers {
        if let Some(vm) = meta.versions.get_mut(&n) {
            if !vm.destroyed && !vm.is_deleted(now) {
                vm.deletion_time = Some(now);
            }
        }
    }
    view.put(&metadata_key(path), &encode(&meta)?).await?;
    Ok(Reply::Ok(Response::no_content()))
}

/// Clears the deletion of the given versions; `delete_version_after` starts again from now.
pub async fn undelete_versions(b: &KvBackend, req: &Request, view: &View, path: &str) -> Result<Reply> {
    let numbers = versions(req, "No version number provided")?;
    let config = load_config(view).await?;
    let _guard = b.lock(path).await;
    let Some(mut meta) = load_metadata(view, path).await? else { return Ok(Reply::Ok(Response::no_content())) };
    let restart = deletion_time(b.now(), &config, &meta);
    for n in numbers {
        if let Some(vm) = meta.versions.get_mut(&n) {
            if !vm.destroyed {
                vm.deletion_time = restart;
            }
        }
    }
    view.put(&metadata_key(path), &encode(&meta)?).await?;
    Ok(Reply::Ok(Response::no_content()))
}

/// Marks the given versions destroyed and removes their data, in one transaction.
pub async fn destroy_versions(b: &KvBackend, req: &Request, view: &View, path: &str) -> Result<Reply> {
    let numbers = versions(req, "no version number provided")?;
    let _guard = b.lock(path).await;
    let Some(mut meta) = load_metadata(view, path).await? else { return Ok(Reply::Ok(Response::no_content())) };
    let mut ops = Vec::new();
    for n in numbers {
        if let Some(vm) = meta.versions.get_mut(&n) {
            vm.destroyed = true;
        }
        ops.push(BarrierOp::Delete { path: version_key(path, n) });
    }
    ops.insert(0, BarrierOp::Put { path: metadata_key(path), value: encode(&meta)? });
    view.transaction(ops).await?;
    Ok(Reply::Ok(Response::no_content()))
}

/// Replaces every leaf of `data` with null, treating maps at `max_depth` (if not 0) and empty
/// maps as leaves, as OpenBao's `removeValues`.
fn remove_values(data: &mut Map<String, Value>, max_depth: i64, depth: i64) {
    for v in data.values_mut() {
        let below = depth + 1;
        match v {
            Value::Object(inner) if (max_depth == 0 || below <= max_depth) && !inner.is_empty() => {
                remove_values(inner, max_depth, below);
            }
            other => *other = Value::Null,
        }
    }
}

pub async fn subkeys(b: &KvBackend, req: &Request, view: &View, path: &str) -> Result<Reply> {
    let input = Input::strict(req);
    let depth = input.int("depth")?.unwrap_or(0);
    let requested = input.int("version")?;
    let unknown = unknown_params(req, SUBKEYS_FIELDS, &[]);
    let _guard = b.read_lock(path).await;
    let Some(meta) = load_metadata(view, path).await? else { return Ok(Reply::NotFound) };
    let version = requested_version(&meta, requested);
    let Some(vm) = meta.versions.get(&version) else { return Ok(Reply::NotFound) };
    let mut body = obj([("subkeys", Value::Null), ("metadata", Value::Object(meta.version_response(version, vm)))]);
    if vm.is_deleted(b.now()) || vm.destroyed {
        return Ok(Reply::NotFoundWith(Response::data(body)));
    }
    let mut data = load_version(view, path, version).await?;
    if let Value::Object(m) = &mut data {
        remove_values(m, depth, 1);
    }
    body.insert("subkeys".into(), data);
    Ok(Reply::Ok(warn_unknown(Response::data(body), &unknown)))
}

#[cfg(test)]
mod tests {
    use super::remove_values;
    use serde_json::json;

    /// Leaves become null; depth 0 is unlimited, and a map at the depth limit is a leaf.
    #[test]
    fn subkeys_depths() {
        let data = json!({"a":1,"b":{"c":{"d":1},"e":{}},"f":[1,{"g":1}],"h":null});
        let strip = |depth| {
            let mut d = data.as_object().cloned().unwrap_or_default();
            remove_values(&mut d, depth, 1);
            serde_json::Value::Object(d)
        };
        assert_eq!(strip(0), json!({"a":null,"b":{"c":{"d":null},"e":null},"f":null,"h":null}));
        assert_eq!(strip(1), json!({"a":null,"b":null,"f":null,"h":null}));
        assert_eq!(strip(2), json!({"a":null,"b":{"c":null,"e":null},"f":null,"h":null}));
        assert_eq!(strip(-1), strip(1));
    }
}
