//! KV v2's stored records and where they live in the mount's view.
//!
//! | key                                  | value                                             |
//! |--------------------------------------|---------------------------------------------------|
//! | `config`                             | [`Config`] as JSON                                |
//! | `metadata/<path>`                    | [`KeyMetadata`] as JSON (versions map included)   |
//! | `versions/<sha256(path) hex>/<n>`    | version `n`'s data: the JSON value as written     |
//!
//! Metadata keys keep the secret's path so that LIST and scan are a storage list of
//! `metadata/<prefix>`. Version data is addressed by a digest of the path: fixed-length keys that
//! never collide with another path's versions, whatever characters paths contain. Every change
//! touching metadata and version data is one [`View::transaction`].
use crate::go;
use coffer_logical::{obj, LogicalError, Result, View};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub const CONFIG_KEY: &str = "config";
pub const METADATA_PREFIX: &str = "metadata/";
pub const VERSIONS_PREFIX: &str = "versions/";

/// Versions kept when neither the key nor the mount sets `max_versions`.
pub const DEFAULT_MAX_VERSIONS: u32 = 10;

/// `delete_version_after` of the mount config when disabled (any negative value is stored so).
pub const DVA_DISABLED: i64 = -1;

/// The mount-wide settings (`config`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Config {
    pub max_versions: u32,
    pub cas_required: bool,
    pub metadata_cas_required: bool,
    /// Seconds; 0 unset, [`DVA_DISABLED`] disabled for every key.
    pub delete_version_after: i64,
}

impl Config {
    pub fn dva_disabled(&self) -> bool {
        self.delete_version_after == DVA_DISABLED
    }

    pub fn to_response(&self) -> Map<String, Value> {
        obj([
            ("max_versions", json!(self.max_versions)),
            ("cas_required", json!(self.cas_required)),
            ("metadata_cas_required", json!(self.metadata_cas_required)),
            ("delete_version_after", json!(go::duration_secs_string(self.delete_version_after))),
        ])
    }
}

/// One version's bookkeeping. Times are Unix nanoseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct VersionMeta {
    pub created_time: i64,
    /// Set by a soft delete (now) or by `delete_version_after` (in the future); the version
    /// reads as deleted once this time has passed.
    pub deletion_time: Option<i64>,
    pub destroyed: bool,
}

impl VersionMeta {
    pub fn is_deleted(&self, now: i64) -> bool {
        self.deletion_time.is_some_and(|t| t < now)
    }

    /// `{created_time, deletion_time, destroyed}` as in the metadata's `versions` map.
    pub fn summary(&self) -> Value {
        json!({
            "created_time": go::rfc3339_nano(self.created_time),
            "deletion_time": self.deletion_time.map(go::rfc3339_nano).unwrap_or_default(),
            "destroyed": self.destroyed,
        })
    }
}

/// A secret's metadata: its settings and every kept version.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct KeyMetadata {
    pub key: String,
    pub versions: BTreeMap<u64, VersionMeta>,
    pub current_version: u64,
    pub oldest_version: u64,
    pub created_time: Option<i64>,
    pub updated_time: Option<i64>,
    pub max_versions: u32,
    pub cas_required: bool,
    /// Seconds; 0 unset.
    pub delete_version_after: i64,
    pub custom_metadata: BTreeMap<String, String>,
    pub metadata_cas_required: bool,
    pub current_metadata_version: u64,
}

impl KeyMetadata {
    pub fn new(key: &str) -> Self {
        KeyMetadata { key: key.to_string(), ..Default::default() }
    }

    /// `custom_metadata` as OpenBao shows it: `null` when empty.
    pub fn custom_metadata_value(&self) -> Value {
        if self.custom_metadata.is_empty() {
            Value::Null
        } else {
            json!(self.custom_metadata)
        }
    }

    /// The flat description of one version (the body of a data write, the `metadata` of a read).
    pub fn version_response(&self, version: u64, vm: &VersionMeta) -> Map<String, Value> {
        obj([
            ("version", json!(version)),
            ("created_time", json!(go::rfc3339_nano(vm.created_time))),
            ("deletion_time", json!(vm.deletion_time.map(go::rfc3339_nano).unwrap_or_default())),
            ("destroyed", json!(vm.destroyed)),
            ("custom_metadata", self.custom_metadata_value()),
        ])
    }

    /// The body of a metadata read.
    pub fn to_response(&self) -> Map<String, Value> {
        let versions: Map<String, Value> = self.versions.iter().map(|(n, v)| (n.to_string(), v.summary())).collect();
        let time = |t: Option<i64>| t.map(go::rfc3339_nano).unwrap_or_default();
        obj([
            ("versions", Value::Object(versions)),
            ("current_version", json!(self.current_version)),
            ("oldest_version", json!(self.oldest_version)),
            ("created_time", json!(time(self.created_time))),
            ("updated_time", json!(time(self.updated_time))),
            ("max_versions", json!(self.max_versions)),
            ("cas_required", json!(self.cas_required)),
            ("delete_version_after", json!(go::duration_secs_string(self.delete_version_after))),
            ("custom_metadata", self.custom_metadata_value()),
            ("metadata_cas_required", json!(self.metadata_cas_required)),
            ("current_metadata_version", json!(self.current_metadata_version)),
        ])
    }

    /// Appends a version and slides the window of kept versions (the larger of the key's and the
    /// mount's `max_versions`, else 10), as OpenBao's `AddVersion`. Returns the new version's
    /// number and the numbers of the versions dropped from the metadata, whose data must go.
    pub fn add_version(&mut self, vm: VersionMeta, config_max: u32) -> (u64, Vec<u64>) {
        let created = vm.created_time;
        self.current_version += 1;
        self.versions.insert(self.current_version, vm);
        self.updated_time = Some(created);
        if self.created_time.is_none() {
            self.created_time = Some(created);
        }
        let max = match self.max_versions.max(config_max) {
            0 => DEFAULT_MAX_VERSIONS,
            m => m,
        };
        let mut dropped = Vec::new();
        if (self.current_version.wrapping_sub(self.oldest_version) as u32) >= max {
            let last_dropped = self.current_version.saturating_sub(u64::from(max));
            let kept = self.versions.split_off(&(last_dropped + 1));
            dropped = std::mem::replace(&mut self.versions, kept).into_keys().collect();
            self.oldest_version = last_dropped + 1;
        }
        (self.current_version, dropped)
    }
}

/// `deletionTime`: creation plus the smaller non-zero of the mount's and the key's
/// `delete_version_after`, if either is set (and the mount has not disabled it).
pub fn deletion_time(created: i64, config: &Config, meta: &KeyMetadata) -> Option<i64> {
    if config.dva_disabled() {
        return None;
    }
    let (mount, key) = (config.delete_version_after, meta.delete_version_after);
    let secs = match (mount, key) {
        (0, 0) => return None,
        (0, k) => k,
        (m, 0) => m,
        (m, k) => m.min(k),
    };
    Some(created.saturating_add(secs.saturating_mul(1_000_000_000)))
}

pub fn metadata_key(path: &str) -> String {
    format!("{METADATA_PREFIX}{path}")
}

pub fn version_key(path: &str, version: u64) -> String {
    format!("{VERSIONS_PREFIX}{}/{version}", hex::encode(Sha256::digest(path.as_bytes())))
}

fn corrupt(what: &str, e: serde_json::Error) -> LogicalError {
    LogicalError::Internal(format!("failed to decode {what} from storage: {e}"))
}

pub async fn load_config(view: &View) -> Result<Config> {
    match view.get(CONFIG_KEY).await? {
        None => Ok(Config::default()),
        Some(raw) => serde_json::from_slice(&raw).map_err(|e| corrupt("config", e)),
    }
}

pub async fn load_metadata(view: &View, path: &str) -> Result<Option<KeyMetadata>> {
    match view.get(&metadata_key(path)).await? {
        None => Ok(None),
        Some(raw) => serde_json::from_slice(&raw).map(Some).map_err(|e| corrupt("key metadata", e)),
    }
}

pub async fn load_version(view: &View, path: &str, version: u64) -> Result<Value> {
    match view.get(&version_key(path, version)).await? {
        None => Err(LogicalError::Internal("could not find version data".into())),
        Some(raw) => serde_json::from_slice(&raw).map_err(|e| corrupt("version data", e)),
    }
}

pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| LogicalError::Internal(format!("failed to encode: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(t: i64) -> VersionMeta {
        VersionMeta { created_time: t, ..Default::default() }
    }

    /// With the default of 10, the eleventh version drops the first; oldest_version tracks it.
    #[test]
    fn default_window_keeps_ten() {
        let mut m = KeyMetadata::new("k");
        for i in 1..=10 {
            let (n, dropped) = m.add_version(version(i), 0);
            assert_eq!(n as i64, i);
            assert!(dropped.is_empty());
        }
        assert_eq!(m.oldest_version, 1);
        let (_, dropped) = m.add_version(version(11), 0);
        assert_eq!(dropped, vec![1]);
        assert_eq!(m.oldest_version, 2);
        assert_eq!(m.versions.keys().copied().collect::<Vec<_>>(), (2..=11).collect::<Vec<_>>());
    }

    /// The window is the larger of the key's and the mount's max_versions, and shrinking it drops
    /// every version outside at the next write.
    #[test]
    fn window_is_larger_setting() {
        let mut m = KeyMetadata::new("k");
        m.max_versions = 2;
        for i in 1..=5 {
            m.add_version(version(i), 4);
        }
        assert_eq!(m.versions.keys().copied().collect::<Vec<_>>(), vec![2, 3, 4, 5]);
        m.max_versions = 1;
        let (_, dropped) = m.add_version(version(6), 0);
        assert_eq!(dropped, vec![2, 3, 4, 5]);
        assert_eq!(m.oldest_version, 6);
    }

    /// The deletion time uses the smaller non-zero setting, and none when the mount disables it.
    #[test]
    fn deletion_time_rules() {
        let mut c = Config::default();
        let mut m = KeyMetadata::new("k");
        assert_eq!(deletion_time(0, &c, &m), None);
        m.delete_version_after = 7200;
        assert_eq!(deletion_time(0, &c, &m), Some(7200 * 1_000_000_000));
        c.delete_version_after = 3600;
        assert_eq!(deletion_time(0, &c, &m), Some(3600 * 1_000_000_000));
        c.delete_version_after = DVA_DISABLED;
        assert_eq!(deletion_time(0, &c, &m), None);
    }
}
