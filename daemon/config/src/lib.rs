//! Coffer's server configuration: OpenBao 2.7.2-compatible HCL and JSON files, read into checked
//! types before anything is started.
//!
//! ```no_run
//! # use std::path::PathBuf;
//! let config = coffer_config::load(&[PathBuf::from("/etc/coffer/coffer.hcl")])?;
//! for warning in &config.warnings {
//!     eprintln!("warning: {warning}");
//! }
//! # Ok::<(), coffer_config::ConfigError>(())
//! ```
//!
//! # What is read
//!
//! * `-config` may be given several times; each path is a file or a directory whose `*.hcl` and
//!   `*.json` files (editor backups such as `x.hcl~` and `.#x.hcl` excepted) are read in lexical
//!   order. A file also covered by a given directory is read once.
//! * Files are merged as OpenBao merges them: listeners and seals are appended; strings
//!   (`api_addr`, `cluster_addr`, `cluster_name`, `log_level`, `log_format`) are taken from the
//!   last file that sets them; booleans (`disable_mlock`, `raw_storage_endpoint`) are true if any
//!   file sets them; `default_lease_ttl`, `max_lease_ttl` and `default_max_request_duration`
//!   take the largest value given. Unlike OpenBao (whose choice depends on load order),
//!   `storage` may be given in one file only.
//! * Unknown keys, and OpenBao settings Coffer does not implement yet, are warnings
//!   ([`Config::warnings`]), never silently dropped. Anything that would change what is
//!   served or how it is protected is an error instead (an unsupported storage, seal or listener
//!   type, client-certificate verification, TLS below 1.2).
//!
//! # Differences from OpenBao, all deliberate
//!
//! * Negative durations are errors (OpenBao accepts some and misbehaves later).
//! * TLS needs `tls_cert_file` and `tls_key_file`, readable now (OpenBao 2.7.2 starts without).
//! * `api_addr`/`cluster_addr` must be `http(s)://` URLs; listener addresses `host:port`;
//!   go-sockaddr templates (`{{ GetPrivateIP }}`) are not supported.
//! * HCL is read with `hcl-rs` (HCL 2 syntax): quoted top-level keys (`"storage" "raft" {}`) and
//!   a key given twice in one block, which HCL v1 accepted, are syntax errors.
//! * `disable_mlock = false` is accepted (OpenBao 2.7.2 refuses it: it dropped mlock).

#![forbid(unsafe_code)]

mod duration;
mod error;
mod file;
mod syntax;
mod values;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use duration::parse_duration;
pub use error::{ConfigError, Pos};
pub use file::SEAL_TYPES;

use file::{FileConfig, ListenerDraft};

/// Listener address when `address` is not given (OpenBao's).
pub const DEFAULT_LISTENER_ADDRESS: &str = "127.0.0.1:8200";
/// Request body limit when `max_request_size` is not given or is 0 (OpenBao's: 32 MiB).
pub const DEFAULT_MAX_REQUEST_SIZE: u64 = 33_554_432;
/// Request time limit when neither `max_request_duration` nor `default_max_request_duration`
/// is given (OpenBao's).
pub const DEFAULT_MAX_REQUEST_DURATION: Duration = Duration::from_secs(90);
/// `default_lease_ttl` when not given or 0 (OpenBao's: 768h = 32 days).
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(768 * 3600);
/// `max_lease_ttl` when not given or 0 (OpenBao's: 768h).
pub const DEFAULT_MAX_LEASE_TTL: Duration = Duration::from_secs(768 * 3600);

/// The whole, checked server configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where data lives (`storage` stanza, or its old name `backend`).
    pub storage: Storage,
    /// HTTP listeners, in file order. May be empty (OpenBao allows it; a warning says so).
    pub listeners: Vec<Listener>,
    /// `seal` stanzas, in file order: at most two, and when two, exactly one is disabled.
    pub seals: Vec<SealStanza>,
    /// `api_addr` (or the storage stanza's `redirect_addr`): the URL clients are sent to.
    pub api_addr: Option<String>,
    /// `cluster_addr` (or the storage stanza's `cluster_addr`): the URL peers use.
    pub cluster_addr: Option<String>,
    /// `cluster_name`.
    pub cluster_name: Option<String>,
    /// `disable_mlock`.
    pub disable_mlock: bool,
    /// `default_lease_ttl`, at most `max_lease_ttl`.
    pub default_lease_ttl: Duration,
    /// `max_lease_ttl`.
    pub max_lease_ttl: Duration,
    /// `log_level`; `None` when not given (the daemon's default, or its command line, applies).
    pub log_level: Option<LogLevel>,
    /// `log_format`.
    pub log_format: LogFormat,
    /// `raw_storage_endpoint`: whether `sys/raw` is enabled.
    pub raw_storage_endpoint: bool,
    /// One line per ignored setting: `file[:line:col]: key: why`.
    pub warnings: Vec<String>,
}

/// The storage backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// `storage "inmem" {}`: nothing survives a restart.
    Inmem,
    /// `storage "raft" { path = "...", node_id = "..." }`.
    Raft {
        /// The data directory.
        path: PathBuf,
        /// This node's raft id; generated and kept in `path` when not given.
        node_id: Option<String>,
    },
}

/// A `listener "tcp"` stanza.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// `host:port` to listen on (default `127.0.0.1:8200`).
    pub address: String,
    /// `host:port` for cluster traffic.
    pub cluster_address: Option<String>,
    /// `None` when `tls_disable` is true.
    pub tls: Option<Tls>,
    /// Largest accepted request body in bytes; `None` = unlimited (a negative
    /// `max_request_size`).
    pub max_request_size: Option<u64>,
    /// Longest a request may take.
    pub max_request_duration: Duration,
}

/// A listener's TLS settings; both files were readable when the configuration was loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    /// `tls_cert_file` (PEM, leaf first).
    pub cert_file: PathBuf,
    /// `tls_key_file` (PEM).
    pub key_file: PathBuf,
    /// `tls_min_version`.
    pub min_version: TlsVersion,
}

/// Oldest TLS version a listener accepts. TLS 1.0 and 1.1 are not offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsVersion {
    /// `"tls12"` (the default).
    #[default]
    Tls12,
    /// `"tls13"`.
    Tls13,
}

impl TlsVersion {
    /// The configuration spelling: `"tls12"` or `"tls13"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            TlsVersion::Tls12 => "tls12",
            TlsVersion::Tls13 => "tls13",
        }
    }
}

/// `log_level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// `trace`
    Trace,
    /// `debug`
    Debug,
    /// `info` (also `notice`)
    Info,
    /// `warn` (also `warning`)
    Warn,
    /// `error` (also `err`)
    Error,
}

impl LogLevel {
    /// Reads a level as OpenBao does: case-insensitive, surrounding spaces ignored, with its
    /// synonyms `notice` (info), `warning` (warn) and `err` (error).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "trace" => Some(LogLevel::Trace),
            "debug" => Some(LogLevel::Debug),
            "info" | "notice" => Some(LogLevel::Info),
            "warn" | "warning" => Some(LogLevel::Warn),
            "error" | "err" => Some(LogLevel::Error),
            _ => None,
        }
    }

    /// The canonical name (`"trace"`, `"debug"`, `"info"`, `"warn"`, `"error"`), which
    /// `tracing`'s filters also accept.
    pub fn as_str(&self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

/// `log_format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// `"standard"` (the default): human-readable lines.
    #[default]
    Standard,
    /// `"json"`: one JSON object per line.
    Json,
}

impl LogFormat {
    /// Reads a format, case-insensitively: `standard` or `json`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "standard" => Some(LogFormat::Standard),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }

    /// The configuration spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            LogFormat::Standard => "standard",
            LogFormat::Json => "json",
        }
    }
}

/// A `seal "<type>" { ... }` stanza, kept raw for the seal crate to interpret.
///
/// `Debug` redacts the values of credential keys (`pin`, `secret_key`, `access_key`,
/// `session_token`), at any depth.
#[derive(Clone, PartialEq)]
pub struct SealStanza {
    /// One of [`SEAL_TYPES`], lower case.
    pub seal_type: String,
    /// `disabled = true`: the old seal during a seal migration.
    pub disabled: bool,
    /// Every other attribute as written (`purpose` included); nested blocks become objects.
    pub attrs: serde_json::Map<String, serde_json::Value>,
}

/// Attribute names whose values never reach a log.
const REDACTED_KEYS: &[&str] = &["pin", "secret_key", "access_key", "session_token"];

fn redact(map: &serde_json::Map<String, serde_json::Value>) -> serde_json::Map<String, serde_json::Value> {
    map.iter()
        .map(|(k, v)| {
            let v = if REDACTED_KEYS.iter().any(|r| r.eq_ignore_ascii_case(k)) {
                serde_json::Value::String("<redacted>".into())
            } else {
                redact_value(v)
            };
            (k.clone(), v)
        })
        .collect()
}

fn redact_value(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => serde_json::Value::Object(redact(m)),
        serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(redact_value).collect()),
        other => other.clone(),
    }
}

impl fmt::Debug for SealStanza {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealStanza")
            .field("seal_type", &self.seal_type)
            .field("disabled", &self.disabled)
            .field("attrs", &redact(&self.attrs))
            .finish()
    }
}

/// Reads and checks the configuration at `paths` (each a file or a directory), as
/// `coffer server -config=... -config=...` does. Returns the first problem found; nothing
/// else has happened when it does.
pub fn load(paths: &[PathBuf]) -> Result<Config, ConfigError> {
    if paths.is_empty() {
        return Err(ConfigError::NoConfig);
    }
    let files = read_paths(paths)?;
    assemble(files, &origin(paths))
}

/// Loads `paths` on top of a base configuration text, as OpenBao's `server -dev -config=...`
/// does: the files merge onto the base like later files do (listeners appended, later strings
/// win, ...), they need not give a storage stanza, and if one of them does, it replaces the
/// base's. `paths` may be empty. `base_name` names the base in messages (e.g. `"dev-mode"`).
pub fn load_onto(base_src: &str, base_name: &str, paths: &[PathBuf]) -> Result<Config, ConfigError> {
    let mut base = parse_file(base_src, base_name)?;
    let files = read_paths(paths)?;
    if files.iter().any(|(_, f)| f.storage.is_some()) {
        base.storage = None;
    }
    let mut all = vec![(base_name.to_string(), base)];
    all.extend(files);
    let origin = std::iter::once(base_name.to_string())
        .chain(paths.iter().map(|p| p.display().to_string()))
        .collect::<Vec<_>>()
        .join(", ");
    assemble(all, &origin)
}

fn origin(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

/// Reads every file named by `paths` (directories expanded), in order.
fn read_paths(paths: &[PathBuf]) -> Result<Vec<(String, FileConfig)>, ConfigError> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| ConfigError::Io { path: path.clone(), source })?;
        if meta.is_dir() {
            for file in dir_files(path)? {
                files.push(read_file(&file)?);
            }
        } else if !covered_by_dir(path, paths) {
            files.push(read_file(path)?);
        }
    }
    Ok(files)
}

/// Parses and checks one configuration text. `source_name` is used in messages and picks the
/// format: a name ending in `.json` (or text starting with `{`) is JSON, anything else HCL.
/// TLS files named in it are checked on disk.
pub fn parse_str(src: &str, source_name: &str) -> Result<Config, ConfigError> {
    let file = parse_file(src, source_name)?;
    assemble(vec![(source_name.to_string(), file)], source_name)
}

fn parse_file(src: &str, source_name: &str) -> Result<FileConfig, ConfigError> {
    let items = syntax::parse(src, source_name)?;
    file::interpret(items, source_name)
}

fn read_file(path: &Path) -> Result<(String, FileConfig), ConfigError> {
    let src = std::fs::read_to_string(path).map_err(|source| ConfigError::Io { path: path.to_path_buf(), source })?;
    let name = path.display().to_string();
    let file = parse_file(&src, &name)?;
    Ok((name, file))
}

/// The `*.hcl` and `*.json` files of a directory, in lexical order, without editor temporary
/// files (`x~`, `.#x`, `#x#`) and subdirectories.
fn dir_files(dir: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let io = |source| ConfigError::Io { path: dir.to_path_buf(), source };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let wanted = name.ends_with(".hcl") || name.ends_with(".json");
        let temporary = name.ends_with('~') || name.starts_with(".#") || (name.starts_with('#') && name.ends_with('#'));
        if !wanted || temporary {
            continue;
        }
        let path = entry.path();
        // Follows symlinks, so a link to a directory is skipped too.
        if std::fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        names.push(name);
    }
    names.sort();
    Ok(names.into_iter().map(|n| dir.join(n)).collect())
}

/// OpenBao's `checkSkipPaths`: a `.hcl`/`.json` file given explicitly is skipped when its
/// directory is also given, since the directory already loads it.
fn covered_by_dir(file: &Path, all: &[PathBuf]) -> bool {
    let is_config = file.extension().is_some_and(|e| e == "hcl" || e == "json");
    let Some(parent) = std::path::absolute(file).ok().and_then(|a| a.parent().map(Path::to_path_buf)) else {
        return false;
    };
    is_config
        && all.iter().filter(|p| p.as_path() != file).filter_map(|p| std::path::absolute(p).ok()).any(|p| p == parent)
}

/// Merges files (in order) and applies defaults and whole-configuration checks.
fn assemble(files: Vec<(String, FileConfig)>, origin: &str) -> Result<Config, ConfigError> {
    let mut storage: Option<(Storage, String)> = None;
    let mut storage_api_addr = None;
    let mut storage_cluster_addr = None;
    let mut drafts: Vec<ListenerDraft> = Vec::new();
    let mut seals: Vec<(SealStanza, String)> = Vec::new();
    let mut api_addr = None;
    let mut cluster_addr = None;
    let mut cluster_name = None;
    let mut disable_mlock = false;
    let mut raw_storage_endpoint = false;
    let mut default_lease_ttl: Option<(Duration, String)> = None;
    let mut max_lease_ttl: Option<(Duration, String)> = None;
    let mut default_max_request_duration = Duration::ZERO;
    let mut log_level = None;
    let mut log_format = None;
    let mut warnings = Vec::new();

    for (source, fc) in files {
        if let Some((s, pos)) = fc.storage {
            if let Some((_, first)) = &storage {
                return Err(ConfigError::Invalid {
                    file: source,
                    key: "storage".into(),
                    reason: format!("only one \"storage\" block is permitted across all configuration files; already given in {first}"),
                    pos,
                });
            }
            storage = Some((s, source.clone()));
        }
        storage_api_addr = fc.storage_api_addr.or(storage_api_addr);
        storage_cluster_addr = fc.storage_cluster_addr.or(storage_cluster_addr);
        drafts.extend(fc.listeners);
        seals.extend(fc.seals.into_iter().map(|s| (s, source.clone())));
        api_addr = fc.api_addr.or(api_addr);
        cluster_addr = fc.cluster_addr.or(cluster_addr);
        cluster_name = fc.cluster_name.or(cluster_name);
        disable_mlock |= fc.disable_mlock;
        raw_storage_endpoint |= fc.raw_storage_endpoint;
        for (given, merged) in [(fc.default_lease_ttl, &mut default_lease_ttl), (fc.max_lease_ttl, &mut max_lease_ttl)]
        {
            if let Some(d) = given {
                if merged.as_ref().is_none_or(|(m, _)| d > *m) {
                    *merged = Some((d, source.clone()));
                }
            }
        }
        default_max_request_duration =
            default_max_request_duration.max(fc.default_max_request_duration.unwrap_or_default());
        log_level = fc.log_level.or(log_level);
        log_format = fc.log_format.or(log_format);
        warnings.extend(fc.warnings);
    }

    let Some((storage, _)) = storage else {
        return Err(ConfigError::Invalid {
            file: origin.to_string(),
            key: "storage".into(),
            reason: "a storage backend must be specified, e.g. storage \"raft\" { path = \"/var/lib/coffer\" }".into(),
            pos: None,
        });
    };

    match seals.as_slice() {
        [_, _, (_, third), ..] => {
            return Err(ConfigError::Invalid {
                file: third.clone(),
                key: "seal".into(),
                reason:
                    "at most two seal stanzas are permitted (the active seal, and a disabled one during a migration)"
                        .into(),
                pos: None,
            })
        }
        [(a, file_a), (b, file_b)] if a.disabled == b.disabled => {
            let file = if file_a == file_b { file_a.clone() } else { format!("{file_a}, {file_b}") };
            let which = if a.disabled { "both are disabled" } else { "neither is disabled" };
            return Err(ConfigError::Invalid {
                file,
                key: "seal".into(),
                reason: format!(
                    "two seals provided but {which} (during a seal migration exactly one must have disabled = true)"
                ),
                pos: None,
            });
        }
        _ => {}
    }

    let default_ttl = default_lease_ttl.as_ref().map(|(d, _)| *d).filter(|d| !d.is_zero()).unwrap_or(DEFAULT_LEASE_TTL);
    let max_ttl = max_lease_ttl.as_ref().map(|(d, _)| *d).filter(|d| !d.is_zero()).unwrap_or(DEFAULT_MAX_LEASE_TTL);
    if default_ttl > max_ttl {
        // Blame the setting the operator wrote: default_lease_ttl if given, else max_lease_ttl
        // (which is then below the built-in default of 768h).
        let (key, file, reason) = match (&default_lease_ttl, &max_lease_ttl) {
            (Some((d, file)), _) if !d.is_zero() => (
                "default_lease_ttl",
                file.clone(),
                format!("{} is larger than max_lease_ttl ({})", show(default_ttl), show(max_ttl)),
            ),
            (_, Some((_, file))) => (
                "max_lease_ttl",
                file.clone(),
                format!(
                    "{} is smaller than default_lease_ttl ({}, the default); set default_lease_ttl to at most {}",
                    show(max_ttl),
                    show(default_ttl),
                    show(max_ttl)
                ),
            ),
            _ => ("default_lease_ttl", origin.to_string(), "is larger than max_lease_ttl".to_string()),
        };
        return Err(ConfigError::Invalid { file, key: key.into(), reason, pos: None });
    }

    if drafts.is_empty() {
        warnings.push(format!("{origin}: listener: no listener is configured; the API will not be reachable"));
    }
    let listener_default = if default_max_request_duration.is_zero() {
        DEFAULT_MAX_REQUEST_DURATION
    } else {
        default_max_request_duration
    };
    let listeners = drafts
        .into_iter()
        .map(|d| Listener {
            address: d.address,
            cluster_address: d.cluster_address,
            tls: d.tls,
            max_request_size: d.max_request_size,
            max_request_duration: d.max_request_duration.filter(|d| !d.is_zero()).unwrap_or(listener_default),
        })
        .collect();

    Ok(Config {
        storage,
        listeners,
        seals: seals.into_iter().map(|(s, _)| s).collect(),
        api_addr: api_addr.or(storage_api_addr),
        cluster_addr: cluster_addr.or(storage_cluster_addr),
        cluster_name,
        disable_mlock,
        default_lease_ttl: default_ttl,
        max_lease_ttl: max_ttl,
        log_level,
        log_format: log_format.unwrap_or_default(),
        raw_storage_endpoint,
        warnings,
    })
}

/// A duration the way it would be written in the file.
fn show(d: Duration) -> String {
    // (`u64::is_multiple_of` is newer than the workspace's rust-version.)
    let s = d.as_secs();
    let (hours, minutes) = ((s / 3600, s % 3600), (s / 60, s % 60));
    if d.subsec_nanos() != 0 {
        format!("{d:?}")
    } else if hours.1 == 0 {
        format!("{}h", hours.0)
    } else if minutes.1 == 0 {
        format!("{}m", minutes.0)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Log levels are read as OpenBao reads them, synonyms included.
    #[test]
    fn log_levels() {
        for (s, want) in [
            ("trace", LogLevel::Trace),
            ("DEBUG", LogLevel::Debug),
            (" Info ", LogLevel::Info),
            ("notice", LogLevel::Info),
            ("warn", LogLevel::Warn),
            ("warning", LogLevel::Warn),
            ("err", LogLevel::Error),
            ("error", LogLevel::Error),
        ] {
            assert_eq!(LogLevel::parse(s), Some(want), "{s}");
            assert_eq!(LogLevel::parse(want.as_str()), Some(want));
        }
        assert_eq!(LogLevel::parse("bogus"), None);
        assert_eq!(LogLevel::parse(""), None);
    }

    /// Credentials in seal stanzas never reach Debug output.
    #[test]
    fn seal_debug_redacts_credentials() {
        let mut attrs = serde_json::Map::new();
        attrs.insert("pin".into(), "1234-secret".into());
        attrs.insert("Secret_Key".into(), "aws-secret".into());
        attrs.insert("nested".into(), serde_json::json!({"session_token": "tok-secret", "region": "eu"}));
        attrs.insert("access_key".into(), "AKIA-secret".into());
        attrs.insert("lib".into(), "/usr/lib/softhsm/libsofthsm2.so".into());
        let seal = SealStanza { seal_type: "pkcs11".into(), disabled: false, attrs };
        let shown = format!("{seal:?} {seal:#?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("libsofthsm2.so") && shown.contains("eu"), "{shown}");
    }

    #[test]
    fn durations_are_shown_as_written() {
        assert_eq!(show(Duration::from_secs(768 * 3600)), "768h");
        assert_eq!(show(Duration::from_secs(90)), "90s");
        assert_eq!(show(Duration::from_secs(120)), "2m");
    }
}
