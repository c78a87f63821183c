//! `data/<path>`: read a version, write a new one (with check-and-set), patch the current one
//! (JSON merge patch), soft-delete the latest.
use super::model::{
    deletion_time, encode, load_config, load_metadata, load_version, metadata_key, version_key, Config, KeyMetadata,
    VersionMeta,
};
use crate::input::{unknown_params, warn_unknown, weak_int, Input, MapField};
use crate::merge::merge_patch;
use crate::{KvBackend, Reply};
use coffer_logical::{LogicalError, Request, Response, Result, View};
use coffer_storage::BarrierOp;
use serde_json::Value;

const FIELDS: &[&str] = &["path", "version", "options", "data"];

/// The version a read asks for: `version` if positive, else the current one.
pub(super) fn requested_version(meta: &KeyMetadata, requested: Option<i64>) -> u64 {
    match requested {
        Some(v) if v > 0 => v as u64,
        _ => meta.current_version,
    }
}

pub async fn read(b: &KvBackend, req: &Request, view: &View, path: &str) -> Result<Reply> {
    let input = Input::strict(req);
    let requested = input.int("version")?;
    let unknown = unknown_params(req, FIELDS, &[]);
    let _guard = b.read_lock(path).await;
    let Some(meta) = load_metadata(view, path).await? else { return Ok(Reply::NotFound) };
    let version = requested_version(&meta, requested);
    let Some(vm) = meta.versions.get(&version) else { return Ok(Reply::NotFound) };
    let mut body =
        coffer_logical::obj([("data", Value::Null), ("metadata", Value::Object(meta.version_response(version, vm)))]);
    if vm.is_deleted(b.now()) || vm.destroyed {
        return Ok(Reply::NotFoundWith(Response::data(body)));
    }
    body.insert("data".into(), load_version(view, path, version).await?);
    Ok(Reply::Ok(warn_unknown(Response::data(body), &unknown)))
}

/// `options.cas` against the current version, and the mount's or key's `cas_required`.
fn check_cas(input: &Input<'_>, config: &Config, meta: &KeyMetadata) -> Result<()> {
    let cas = match input.map("options")? {
        MapField::Map(options) => options.get("cas").cloned(),
        MapField::Absent | MapField::Null => None,
    };
    match cas {
        Some(raw) => {
            let cas = weak_int(&raw)
                .map_err(|_| LogicalError::InvalidRequest("error parsing check-and-set parameter".into()))?;
            if cas as u64 != meta.current_version {
                return Err(LogicalError::InvalidRequest(
                    "check-and-set parameter did not match the current version".into(),
                ));
            }
            Ok(())
        }
        None if config.cas_required || meta.cas_required => {
            Err(LogicalError::InvalidRequest("check-and-set parameter required for this call".into()))
        }
        None => Ok(()),
    }
}

/// Stores `data` as the next version of `meta` in one transaction (new data, metadata, data of
/// versions that fell out of the window) and answers with the new version's description.
async fn store_new_version(
    b: &KvBackend,
    view: &View,
    path: &str,
    config: &Config,
    mut meta: KeyMetadata,
    data: &Value,
) -> Result<Response> {
    let now = b.now();
    let vm = VersionMeta { created_time: now, deletion_time: deletion_time(now, config, &meta), destroyed: false };
    let (version, dropped) = meta.add_version(vm.clone(), config.max_versions);
    let mut ops = vec![
        BarrierOp::Put { path: version_key(path, version), value: encode(data)? },
        BarrierOp::Put { path: metadata_key(path), value: encode(&meta)? },
    ];
    ops.extend(dropped.into_iter().map(|n| BarrierOp::Delete { path: version_key(path, n) }));
    view.transaction(ops).await?;
    Ok(Response::data(meta.version_response(version, &vm)))
}

pub async fn write(b: &KvBackend, req: &Request, view: &View, path: &str) -> Result<Reply> {
    let input = Input::lazy(req);
    let unknown = unknown_params(req, FIELDS, &[]);
    let data = match input.map("data")? {
        MapField::Absent => return Err(LogicalError::InvalidRequest("no data provided".into())),
        MapField::Null => Value::Null,
        MapField::Map(m) => Value::Object(m),
    };
    let _guard = b.lock(path).await;
    let config = load_config(view).await?;
    let meta = load_metadata(view, path).await?.unwrap_or_else(|| KeyMetadata::new(path));
    check_cas(&input, &config, &meta)?;
    let resp = store_new_version(b, view, path, &config, meta, &data).await?;
    Ok(Reply::Ok(warn_unknown(resp, &unknown)))
}

pub async fn patch(b: &KvBackend, req: &Request, view: &View, path: &str) -> Result<Reply> {
    let input = Input::strict(req);
    let unknown = unknown_params(req, FIELDS, &[]);
    // PATCH validates every field before the handler runs.
    let data_field = input.map("data")?;
    input.map("options")?;
    input.int("version")?;
    let patch = match data_field {
        MapField::Absent => return Err(LogicalError::InvalidRequest("no data provided".into())),
        MapField::Null => Value::Null,
        MapField::Map(m) => Value::Object(m),
    };
    let _guard = b.lock(path).await;
    let Some(meta) = load_metadata(view, path).await? else {
        return Ok(Reply::NotFoundWith(Response::no_content()));
    };
    let config = load_config(view).await?;
    check_cas(&input, &config, &meta)?;
    let current = meta.current_version;
    let Some(vm) = meta.versions.get(&current) else {
        return Ok(Reply::NotFoundWith(Response::no_content()));
    };
    if vm.is_deleted(b.now()) || vm.destroyed {
        return Ok(Reply::NotFoundWith(Response::data(meta.version_response(current, vm))));
    }
    let existing = load_version(view, path, current).await?;
    if existing.is_null() {
        // OpenBao's patch helper refuses a resource that decodes to a nil map.
        return Err(LogicalError::Internal("resource does not exist".into()));
    }
    let patched = merge_patch(existing, &patch);
    let resp = store_new_version(b, view, path, &config, meta, &patched).await?;
    Ok(Reply::Ok(warn_unknown(resp, &unknown)))
}

/// Soft-deletes the latest version (no effect if it is missing, destroyed or already deleted).
pub async fn delete(b: &KvBackend, view: &View, path: &str) -> Result<Reply> {
    let _guard = b.lock(path).await;
    let Some(mut meta) = load_metadata(view, path).await? else { return Ok(Reply::Ok(Response::no_content())) };
    let now = b.now();
    let current = meta.current_version;
    let Some(vm) = meta.versions.get_mut(&current) else { return Ok(Reply::Ok(Response::no_content())) };
    if vm.destroyed || vm.is_deleted(now) {
        return Ok(Reply::Ok(Response::no_content()));
    }
    vm.deletion_time = Some(now);
    view.put(&metadata_key(path), &encode(&meta)?).await?;
    Ok(Reply::Ok(Response::no_content()))
}
