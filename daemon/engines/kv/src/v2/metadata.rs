//! `metadata/<path>` (read, write, patch, delete, list, scan) and `detailed-metadata/<path>`
//! (list and scan with every key's metadata).
use super::model::{encode, load_config, load_metadata, metadata_key, version_key, KeyMetadata, METADATA_PREFIX};
use crate::input::{unknown_params, warn_unknown, weak_string, Input, MapField};
use crate::v1::{dir, keys_response, scan as scan_keys};
use crate::{go, KvBackend, Reply};
use coffer_logical::{obj, LogicalError, Request, Response, Result, View};
use coffer_storage::BarrierOp;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

const FIELDS: &[&str] = &[
    "path",
    "cas_required",
    "max_versions",
    "delete_version_after",
    "custom_metadata",
    "after",
    "limit",
    "metadata_cas",
    "metadata_cas_required",
];

const MAX_CUSTOM_METADATA_KEYS: usize = 64;
const MAX_CUSTOM_METADATA_KEY_LENGTH: usize = 128;
const MAX_CUSTOM_METADATA_VALUE_LENGTH: usize = 512;
const CUSTOM_METADATA_PREFIX: &str = "custom_metadata validation failed";

pub async fn read(req: &Request, view: &View, path: &str) -> Result<Reply> {
    let unknown = unknown_params(req, FIELDS, &[]);
    let Some(meta) = load_metadata(view, path).await? else { return Ok(Reply::NotFound) };
    Ok(Reply::Ok(warn_unknown(Response::data(meta.to_response()), &unknown)))
}

/// The settable fields of a metadata write or patch, converted.
struct Settings {
    max_versions: Option<i64>,
    cas_required: Option<bool>,
    metadata_cas_required: Option<bool>,
    delete_version_after: Option<i64>,
    custom_metadata: MapField,
    metadata_cas: Option<i64>,
}

impl Settings {
    fn parse(input: &Input<'_>) -> Result<Self> {
        Ok(Settings {
            max_versions: input.int("max_versions")?,
            cas_required: input.boolean("cas_required")?,
            metadata_cas_required: input.boolean("metadata_cas_required")?,
            delete_version_after: input.duration_secs("delete_version_after", false)?,
            custom_metadata: input.map("custom_metadata")?,
            metadata_cas: input.int("metadata_cas")?,
        })
    }

    /// Whether anything would change (`metadata_cas` alone changes nothing).
    fn is_empty(&self) -> bool {
        self.max_versions.is_none()
            && self.cas_required.is_none()
            && self.metadata_cas_required.is_none()
            && self.delete_version_after.is_none()
            && matches!(self.custom_metadata, MapField::Absent)
    }

    /// OpenBao's warnings for turning off what the mount config mandates.
    fn warnings(&self, config: &super::model::Config) -> Vec<String> {
        let mut out = Vec::new();
        if self.cas_required == Some(false) && config.cas_required {
            out.push(
                "\"cas_required\" set to false, but is mandated by backend config. This value will be ignored.".into(),
            );
        }
        if self.metadata_cas_required == Some(false) && config.metadata_cas_required {
            out.push(
                "\"metadata_cas_required\" set to false, but is mandated by backend config. This value will be ignored."
                    .into(),
            );
        }
        out
    }

    /// `metadata_cas` against the key's metadata version, and who requires it.
    fn check_metadata_cas(&self, config: &super::model::Config, meta: &KeyMetadata) -> Result<()> {
        match self.metadata_cas {
            Some(cas) if cas as u64 != meta.current_metadata_version => Err(LogicalError::InvalidRequest(
                "metadata check-and-set parameter does not match the current version".into(),
            )),
            Some(_) => Ok(()),
            None if config.metadata_cas_required || meta.metadata_cas_required => {
                Err(LogicalError::InvalidRequest("metadata check-and-set parameter required for this call".into()))
            }
            None => Ok(()),
        }
    }
}

/// `custom_metadata` as a string map (weakly decoded; `null` members skipped when patching),
/// checked against OpenBao's limits.
fn parse_custom_metadata(raw: &Map<String, Value>, skip_nulls: bool) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (k, v) in raw {
        if skip_nulls && v.is_null() {
            continue;
        }
        let s = weak_string(v).map_err(|e| LogicalError::InvalidRequest(format!("{CUSTOM_METADATA_PREFIX}: {e}")))?;
        out.insert(k.clone(), s);
    }
    validate_custom_metadata(&out)?;
    Ok(out)
}

fn validate_custom_metadata(cm: &BTreeMap<String, String>) -> Result<()> {
    let p = CUSTOM_METADATA_PREFIX;
    let mut errors = Vec::new();
    if cm.len() > MAX_CUSTOM_METADATA_KEYS {
        errors
            .push(format!("{p}: payload must contain at most {MAX_CUSTOM_METADATA_KEYS} keys, provided {}", cm.len()));
    } else {
        for (key, value) in cm {
            let (kl, vl) = (key.len(), value.len());
            if kl == 0 || kl > MAX_CUSTOM_METADATA_KEY_LENGTH {
                errors.push(format!(
                    "{p}: length of key {} is {kl} but must be 0 < len(key) <= {MAX_CUSTOM_METADATA_KEY_LENGTH}",
                    go::quote(key)
                ));
            }
            if vl == 0 || vl > MAX_CUSTOM_METADATA_VALUE_LENGTH {
                errors.push(format!(
                    "{p}: length of value for key {} is {vl} but must be 0 < len(value) <= {MAX_CUSTOM_METADATA_VALUE_LENGTH}",
                    go::quote(key)
                ));
            }
            if !key.chars().all(go::is_print) {
                errors.push(format!("{p}: key {} ({key}) contains unprintable characters", go::quote(key)));
            }
            if !value.chars().all(go::is_print) {
                errors.push(format!("{p}: value for key {} contains unprintable characters", go::quote(key)));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(LogicalError::InvalidRequest(go::multierror(&errors)))
    }
}

/// The answer to a settings change: empty (204) unless there are warnings, which then also
/// name the ignored parameters.
fn settings_response(req: &Request, warnings: Vec<String>) -> Reply {
    let resp = Response { warnings, ..Default::default() };
    Reply::Ok(warn_unknown(resp, &unknown_params(req, FIELDS, &[])))
}

pub async fn write(b: &KvBackend, req: &Request, view: &View, path: &str) -> Result<Reply> {
    let input = Input::lazy(req);
    let s = Settings::parse(&input)?;
    if s.is_empty() {
        return Ok(Reply::Ok(Response::no_content()));
    }
    let config = load_config(view).await?;
    let custom = match &s.custom_metadata {
        MapField::Absent => None,
        MapField::Null => Some(BTreeMap::new()),
        MapField::Map(m) => Some(parse_custom_metadata(m, false)?),
    };
    let warnings = s.warnings(&config);

    let _guard = b.lock(path).await;
    let now = b.now();
    let mut meta = match load_metadata(view, path).await? {
        Some(m) => m,
        None => KeyMetadata { created_time: Some(now), updated_time: Some(now), ..KeyMetadata::new(path) },
    };
    s.check_metadata_cas(&config, &meta)?;
    if let Some(v) = s.max_versions {
        meta.max_versions = v as u32;
    }
    if let Some(v) = s.cas_required {
        meta.cas_required = v;
    }
    if let Some(v) = s.metadata_cas_required {
        meta.metadata_cas_required = v;
    }
    if let Some(v) = s.delete_version_after {
        meta.delete_version_after = v;
    }
    if let Some(cm) = custom {
        meta.custom_metadata = cm;
    }
    meta.current_metadata_version += 1;
    meta.updated_time = Some(now);
    view.put(&metadata_key(path), &encode(&meta)?).await?;
    Ok(settings_response(req, warnings))
}

pub async fn patch(b: &KvBackend, req: &Request, view: &View, path: &str) -> Result<Reply> {
    let input = Input::strict(req);
    let s = Settings::parse(&input)?;
    if s.is_empty() {
        return Ok(Reply::Ok(Response::no_content()));
    }
    if let MapField::Map(m) = &s.custom_metadata {
        parse_custom_metadata(m, true)?;
    }
    let config = load_config(view).await?;

    let _guard = b.lock(path).await;
    let Some(mut meta) = load_metadata(view, path).await? else {
        return Ok(Reply::NotFoundWith(Response::no_content()));
    };
    s.check_metadata_cas(&config, &meta)?;
    let warnings = s.warnings(&config);
    if let Some(v) = s.max_versions {
        meta.max_versions = v as u32;
    }
    if let Some(v) = s.cas_required {
        meta.cas_required = v;
    }
    if let Some(v) = s.metadata_cas_required {
        meta.metadata_cas_required = v;
    }
    // OpenBao merges the duration as a protobuf message, and a zero duration is an empty
    // message: patching it to 0 leaves the setting as it was.
    if let Some(v) = s.delete_version_after.filter(|v| *v != 0) {
        meta.delete_version_after = v;
    }
    match &s.custom_metadata {
        MapField::Absent => {}
        MapField::Null => meta.custom_metadata.clear(),
        MapField::Map(m) => {
            for (k, v) in m {
                match v {
                    Value::Null => {
                        meta.custom_metadata.remove(k);
                    }
                    Value::String(s) => {
                        meta.custom_metadata.insert(k.clone(), s.clone());
                    }
                    other => {
                        // OpenBao decodes the merged metadata into its typed form and fails.
                        let kind = if other.is_boolean() { "bool" } else { "number" };
                        return Err(LogicalError::Internal(format!(
                            "json: cannot unmarshal {kind} into Go struct field .custom_metadata.{k} of type string"
                        )));
                    }
                }
            }
        }
    }
    meta.current_metadata_version += 1;
    meta.updated_time = Some(b.now());
    view.put(&metadata_key(path), &encode(&meta)?).await?;
    Ok(settings_response(req, warnings))
}

/// Removes the secret: its metadata and the data of every version, in one transaction.
pub async fn delete(b: &KvBackend, view: &View, path: &str) -> Result<Reply> {
    let _guard = b.lock(path).await;
    let Some(meta) = load_metadata(view, path).await? else { return Ok(Reply::Ok(Response::no_content())) };
    let mut ops: Vec<BarrierOp> =
        meta.versions.keys().map(|n| BarrierOp::Delete { path: version_key(path, *n) }).collect();
    ops.push(BarrierOp::Delete { path: metadata_key(path) });
    view.transaction(ops).await?;
    Ok(Reply::Ok(Response::no_content()))
}

/// The metadata of each listed key, as `detailed-metadata` shows it: a folder `a/` shows the
/// metadata of a secret `a` if there is one (as OpenBao does), else `{}`.
async fn key_info(view: &View, base: &str, keys: &[String]) -> Result<Map<String, Value>> {
    let mut info = Map::new();
    for k in keys {
        let full = format!("{base}{}", k.trim_end_matches('/'));
        let v = match load_metadata(view, &full).await? {
            Some(m) => Value::Object(m.to_response()),
            None => json!({}),
        };
        info.insert(k.clone(), v);
    }
    Ok(info)
}

pub async fn list(req: &Request, view: &View, path: &str, detailed: bool) -> Result<Reply> {
    let input = Input::strict(req);
    let after = match input.raw("after") {
        None => None,
        Some(v) => Some(weak_string(&v).map_err(|m| input.error("after", m))?),
    }
    .filter(|a| !a.is_empty());
    let limit = input.int("limit")?.filter(|l| *l > 0).map(|l| usize::try_from(l).unwrap_or(usize::MAX));
    let unknown = unknown_params(req, FIELDS, &["list"]);
    let base = dir(path);
    let keys = view.list_page(&format!("{METADATA_PREFIX}{base}"), after.as_deref(), limit).await?;
    if keys.is_empty() {
        return Ok(Reply::NotFound);
    }
    let mut body = obj([("keys", json!(keys))]);
    if detailed {
        body.insert("key_info".into(), Value::Object(key_info(view, &base, &keys).await?));
    }
    Ok(Reply::Ok(warn_unknown(Response::data(body), &unknown)))
}

pub async fn scan(req: &Request, view: &View, path: &str, detailed: bool) -> Result<Reply> {
    let unknown = unknown_params(req, FIELDS, &["scan", "list"]);
    let base = dir(path);
    let keys = scan_keys(view, &format!("{METADATA_PREFIX}{base}")).await?;
    let info = if detailed && !keys.is_empty() { Some(key_info(view, &base, &keys).await?) } else { None };
    let mut resp = keys_response(keys);
    if let (Some(info), Some(data)) = (info, resp.data.as_mut()) {
        data.insert("key_info".into(), Value::Object(info));
    }
    Ok(Reply::Ok(warn_unknown(resp, &unknown)))
}
