//! One file's settings, checked, before files are merged.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::error::{ConfigError, Ctx, Pos};
use crate::syntax::{items_to_json, Item, Kind};
use crate::values::{as_bool, as_duration, as_int, as_string};
use crate::{LogFormat, LogLevel, SealStanza, Storage, Tls, TlsVersion, DEFAULT_MAX_REQUEST_SIZE};

/// What one file says; `None` means "not given here".
#[derive(Debug, Default)]
pub(crate) struct FileConfig {
    pub storage: Option<(Storage, Option<Pos>)>,
    /// `redirect_addr`/`advertise_addr` and `cluster_addr` inside the storage stanza; the
    /// top-level `api_addr`/`cluster_addr` win over them.
    pub storage_api_addr: Option<String>,
    pub storage_cluster_addr: Option<String>,
    pub listeners: Vec<ListenerDraft>,
    pub seals: Vec<SealStanza>,
    pub api_addr: Option<String>,
    pub cluster_addr: Option<String>,
    pub cluster_name: Option<String>,
    pub disable_mlock: bool,
    pub raw_storage_endpoint: bool,
    pub default_lease_ttl: Option<Duration>,
    pub max_lease_ttl: Option<Duration>,
    pub default_max_request_duration: Option<Duration>,
    pub log_level: Option<LogLevel>,
    pub log_format: Option<LogFormat>,
    pub warnings: Vec<String>,
}

/// A listener whose `max_request_duration` may still fall back to `default_max_request_duration`,
/// which another file may set.
#[derive(Debug)]
pub(crate) struct ListenerDraft {
    pub address: String,
    pub cluster_address: Option<String>,
    pub tls: Option<Tls>,
    pub max_request_size: Option<u64>,
    /// `None` or zero: use the default.
    pub max_request_duration: Option<Duration>,
}

/// OpenBao top-level keys Coffer does not implement yet: each gives a warning, not an error.
const TOP_UNSUPPORTED: &[&str] = &[
    "ha_storage",
    "ha_backend",
    "service_registration",
    "kms",
    "hsm",
    "user_lockout",
    "telemetry",
    "log_file",
    "log_rotate_bytes",
    "log_rotate_duration",
    "log_rotate_max_files",
    "pid_file",
    "administrative_namespace_path",
    "cache_size",
    "disable_cache",
    "disable_printable_check",
    "cluster_cipher_suites",
    "plugin_directory",
    "plugin_file_uid",
    "plugin_file_permissions",
    "plugins",
    "plugin_download_behavior",
    "plugin_oci_auth",
    "introspection_endpoint",
    "disable_clustering",
    "disable_performance_standby",
    "disable_sealwrap",
    "disable_indexing",
    "disable_sentinel_trace",
    "enable_response_header_hostname",
    "enable_response_header_raft_node_id",
    "log_requests_level",
    "detect_deadlocks",
    "imprecise_lease_role_tracking",
    "disable_standby_reads",
    "unsafe_cross_namespace_identity",
    "unsafe_allow_api_audit_creation",
    "allow_audit_log_prefixing",
    "initialize",
    "audit",
    "entropy",
];

/// OpenBao listener keys Coffer does not implement yet.
const LISTENER_UNSUPPORTED: &[&str] = &[
    "purpose",
    "role",
    "max_request_json_memory",
    "max_request_json_strings",
    "require_request_header",
    "tls_max_version",
    "tls_cipher_suites",
    "tls_client_ca_file",
    "tls_disable_client_certs",
    "tls_acme_cache_path",
    "tls_acme_ca_directory",
    "tls_acme_test_ca_directory",
    "tls_acme_ca_root",
    "tls_acme_eab_key_id",
    "tls_acme_eab_mac_key",
    "tls_acme_key_type",
    "tls_acme_email",
    "tls_acme_domains",
    "tls_acme_disable_http_challenge",
    "tls_acme_disable_alpn_challenge",
    "http_read_timeout",
    "http_read_header_timeout",
    "http_write_timeout",
    "http_idle_timeout",
    "proxy_protocol_behavior",
    "proxy_protocol_authorized_addrs",
    "x_forwarded_for_authorized_addrs",
    "x_forwarded_for_hop_skips",
    "x_forwarded_for_reject_not_present",
    "x_forwarded_for_reject_not_authorized",
    "socket_mode",
    "socket_user",
    "socket_group",
    "agent_api",
    "proxy_api",
    "telemetry",
    "profiling",
    "inflight_requests_logging",
    "cors_enabled",
    "cors_allowed_origins",
    "cors_allowed_headers",
    "custom_response_headers",
    "disable_unauthed_rekey_endpoints",
];

/// OpenBao raft storage keys Coffer does not implement yet.
const RAFT_UNSUPPORTED: &[&str] = &[
    "retry_join",
    "retry_join_as_non_voter",
    "performance_multiplier",
    "trailing_logs",
    "snapshot_threshold",
    "snapshot_interval",
    "max_entry_size",
    "max_transaction_size",
    "max_batch_entries",
    "max_batch_size",
    "autopilot_reconcile_interval",
    "autopilot_update_interval",
    "autopilot_upgrade_version",
    "autopilot_redundancy_zone",
    "raft_log_verifier_enabled",
    "raft_log_verification_interval",
    "max_mount_and_namespace_table_entry_size",
];

/// Storage types OpenBao has that Coffer does not.
const STORAGE_OPENBAO_ONLY: &[&str] = &["file", "postgresql"];

/// Seal types Coffer accepts.
pub const SEAL_TYPES: &[&str] = &["shamir", "pkcs11", "awskms"];

/// Seal types OpenBao has that Coffer does not.
const SEAL_OPENBAO_ONLY: &[&str] = &["transit", "gcpckms", "azurekeyvault", "ocikms", "alicloudkms", "aead", "static"];

const UNSUPPORTED: &str = "not supported by Coffer yet; ignored";
const UNKNOWN: &str = "unknown key; ignored";

/// Checks one file's items.
pub(crate) fn interpret(items: Vec<Item>, source: &str) -> Result<FileConfig, ConfigError> {
    let ctx = Ctx { source };
    let mut fc = FileConfig::default();
    // `backend` is the old name of `storage`; when both are given, storage wins (as OpenBao).
    let has_storage = items.iter().any(|i| i.key == "storage");

    for item in items {
        let key = item.key.as_str();
        match key {
            "backend" if has_storage => fc.warnings.push(ctx.warning(
                key,
                "ignored because a \"storage\" stanza is given (backend is its old name)",
                item.pos,
            )),
            "storage" | "backend" => {
                if fc.storage.is_some() {
                    return Err(ctx.invalid(key, format!("only one {key:?} block is permitted"), item.pos));
                }
                let storage = storage(ctx, key, &item, &mut fc)?;
                fc.storage = Some((storage, item.pos));
            }
            "listener" => {
                let listener = listener(ctx, &item, &mut fc.warnings)?;
                fc.listeners.push(listener);
            }
            "seal" => fc.seals.push(seal(ctx, &item)?),
            "api_addr" => fc.api_addr = Some(url(ctx, key, &item)?),
            "cluster_addr" => fc.cluster_addr = Some(url(ctx, key, &item)?),
            "cluster_name" => fc.cluster_name = Some(get(ctx, key, &item, as_string)?),
            "disable_mlock" => fc.disable_mlock = get(ctx, key, &item, as_bool)?,
            "raw_storage_endpoint" => fc.raw_storage_endpoint = get(ctx, key, &item, as_bool)?,
            "ui" => {
                if get(ctx, key, &item, as_bool)? {
                    fc.warnings.push(ctx.warning(key, "Coffer has no web UI; ignored", item.pos));
                }
            }
            "default_lease_ttl" => fc.default_lease_ttl = Some(get(ctx, key, &item, as_duration)?),
            "max_lease_ttl" => fc.max_lease_ttl = Some(get(ctx, key, &item, as_duration)?),
            "default_max_request_duration" => {
                fc.default_max_request_duration = Some(get(ctx, key, &item, as_duration)?);
            }
            "log_level" => {
                let s = get(ctx, key, &item, as_string)?;
                let s = s.trim();
                fc.log_level = if s.is_empty() {
                    None
                } else {
                    Some(LogLevel::parse(s).ok_or_else(|| {
                        ctx.invalid(
                            key,
                            format!("unknown log level {s:?} (expected trace, debug, info, warn or error)"),
                            item.pos,
                        )
                    })?)
                };
            }
            "log_format" => {
                let s = get(ctx, key, &item, as_string)?;
                fc.log_format = if s.trim().is_empty() {
                    None
                } else {
                    Some(LogFormat::parse(&s).ok_or_else(|| {
                        ctx.invalid(
                            key,
                            format!("unknown log format {s:?} (expected \"standard\" or \"json\")"),
                            item.pos,
                        )
                    })?)
                };
            }
            _ if TOP_UNSUPPORTED.contains(&key) => fc.warnings.push(ctx.warning(key, UNSUPPORTED, item.pos)),
            _ => fc.warnings.push(ctx.warning(key, UNKNOWN, item.pos)),
        }
    }

    Ok(fc)
}

/// The value of a scalar item, read with `read`.
fn get<T>(ctx: Ctx<'_>, path: &str, item: &Item, read: fn(&Value) -> Result<T, String>) -> Result<T, ConfigError> {
    match &item.kind {
        Kind::Value(v) => read(v).map_err(|reason| ctx.invalid(path, reason, item.pos)),
        Kind::Block(_) => Err(ctx.invalid(path, "expected a value, found a block", item.pos)),
    }
}

fn body<'a>(ctx: Ctx<'_>, path: &str, item: &'a Item) -> Result<&'a [Item], ConfigError> {
    match &item.kind {
        Kind::Block(body) => Ok(body),
        Kind::Value(_) => Err(ctx.invalid(path, "expected a block, e.g. name \"type\" { ... }", item.pos)),
    }
}

/// The single type label of a stanza (`storage "raft"`), lower-cased as OpenBao does.
fn type_label(ctx: Ctx<'_>, name: &str, item: &Item) -> Result<String, ConfigError> {
    match item.labels.as_slice() {
        [label] => Ok(label.to_ascii_lowercase()),
        [] => Err(ctx.invalid(
            name,
            format!("the {name} type must be given as a label, e.g. {name} \"<type>\" {{ ... }}"),
            item.pos,
        )),
        _ => Err(ctx.invalid(name, format!("a {name} stanza takes exactly one label, its type"), item.pos)),
    }
}

fn storage(ctx: Ctx<'_>, name: &str, item: &Item, fc: &mut FileConfig) -> Result<Storage, ConfigError> {
    let items = body(ctx, name, item)?;
    let kind = type_label(ctx, name, item)?;
    let prefix = format!("{name}.{kind}");
    match kind.as_str() {
        "raft" | "inmem" => {}
        k if STORAGE_OPENBAO_ONLY.contains(&k) => {
            return Err(ctx.invalid(
                name,
                format!("storage type {k:?} is not supported by Coffer (supported: \"raft\", \"inmem\")"),
                item.pos,
            ))
        }
        k => {
            return Err(ctx.invalid(
                name,
                format!("unknown storage type {k:?} (supported: \"raft\", \"inmem\")"),
                item.pos,
            ))
        }
    }

    let mut path = None;
    let mut node_id = None;
    for sub in items {
        let key = sub.key.as_str();
        let full = format!("{prefix}.{key}");
        match key {
            "redirect_addr" | "advertise_addr" => fc.storage_api_addr = Some(url(ctx, &full, sub)?),
            "cluster_addr" => fc.storage_cluster_addr = Some(url(ctx, &full, sub)?),
            "disable_clustering" => fc.warnings.push(ctx.warning(&full, UNSUPPORTED, sub.pos)),
            "path" if kind == "raft" => {
                let p = get(ctx, &full, sub, as_string)?;
                if p.is_empty() {
                    return Err(ctx.invalid(&full, "must not be empty", sub.pos));
                }
                path = Some(PathBuf::from(p));
            }
            "node_id" if kind == "raft" => {
                let id = get(ctx, &full, sub, as_string)?;
                if id.is_empty() {
                    return Err(ctx.invalid(&full, "must not be empty (leave it out to have one generated)", sub.pos));
                }
                node_id = Some(id);
            }
            _ if kind == "raft" && RAFT_UNSUPPORTED.contains(&key) => {
                fc.warnings.push(ctx.warning(&full, UNSUPPORTED, sub.pos));
            }
            _ => fc.warnings.push(ctx.warning(&full, UNKNOWN, sub.pos)),
        }
    }
    Ok(match kind.as_str() {
        "raft" => Storage::Raft {
            path: path.ok_or_else(|| {
                ctx.invalid(&format!("{prefix}.path"), "required: the directory raft keeps its data in", item.pos)
            })?,
            node_id,
        },
        _ => Storage::Inmem,
    })
}

fn listener(ctx: Ctx<'_>, item: &Item, warnings: &mut Vec<String>) -> Result<ListenerDraft, ConfigError> {
    let items = body(ctx, "listener", item)?;
    let kind = if item.labels.is_empty() {
        // OpenBao also accepts `listener { type = "tcp" }`.
        match items.iter().rev().find(|i| i.key == "type") {
            Some(t) => get(ctx, "listener.type", t, as_string)?.to_ascii_lowercase(),
            None => {
                return Err(ctx.invalid(
                    "listener",
                    "listener type must be specified, e.g. listener \"tcp\" { ... }",
                    item.pos,
                ))
            }
        }
    } else {
        type_label(ctx, "listener", item)?
    };
    match kind.as_str() {
        "tcp" => {}
        "unix" => {
            return Err(ctx.invalid(
                "listener",
                "unix socket listeners are not supported by Coffer yet (use listener \"tcp\")",
                item.pos,
            ))
        }
        k => {
            return Err(ctx.invalid(
                "listener",
                format!("unsupported listener type {k:?} (supported: \"tcp\")"),
                item.pos,
            ))
        }
    }
    let prefix = format!("listener.{kind}");

    let mut address = None;
    let mut cluster_address = None;
    let mut tls_disable = false;
    let mut cert_file = None;
    let mut key_file = None;
    let mut min_version = None;
    let mut max_request_size = Some(DEFAULT_MAX_REQUEST_SIZE);
    let mut max_request_duration = None;
    for sub in items {
        let key = sub.key.as_str();
        let full = format!("{prefix}.{key}");
        match key {
            "type" => {}
            "address" => address = Some(listen_addr(ctx, &full, sub)?),
            "cluster_address" => cluster_address = Some(listen_addr(ctx, &full, sub)?),
            "tls_disable" => tls_disable = get(ctx, &full, sub, as_bool)?,
            "tls_cert_file" => cert_file = Some((get(ctx, &full, sub, as_string)?, sub.pos)),
            "tls_key_file" => key_file = Some((get(ctx, &full, sub, as_string)?, sub.pos)),
            "tls_min_version" => {
                let v = get(ctx, &full, sub, as_string)?;
                min_version = Some(tls_version(&v).map_err(|reason| ctx.invalid(&full, reason, sub.pos))?);
            }
            "max_request_size" => {
                // As OpenBao: 0 means the default, a negative value means no limit.
                let n = get(ctx, &full, sub, as_int)?;
                max_request_size = match u64::try_from(n) {
                    Ok(0) => Some(DEFAULT_MAX_REQUEST_SIZE),
                    Ok(n) => Some(n),
                    Err(_) => None,
                };
            }
            "max_request_duration" => max_request_duration = Some(get(ctx, &full, sub, as_duration)?),
            "tls_require_and_verify_client_cert" => {
                if get(ctx, &full, sub, as_bool)? {
                    return Err(ctx.invalid(
                        &full,
                        "client certificate verification is not supported by Coffer yet; refusing to start \
                         a listener that would accept clients without it",
                        sub.pos,
                    ));
                }
            }
            _ if LISTENER_UNSUPPORTED.contains(&key) => warnings.push(ctx.warning(&full, UNSUPPORTED, sub.pos)),
            _ => warnings.push(ctx.warning(&full, UNKNOWN, sub.pos)),
        }
    }

    let tls = if tls_disable {
        None
    } else {
        let cert_file = tls_file(ctx, &prefix, "tls_cert_file", cert_file, item.pos)?;
        let key_file = tls_file(ctx, &prefix, "tls_key_file", key_file, item.pos)?;
        Some(Tls { cert_file, key_file, min_version: min_version.unwrap_or(TlsVersion::Tls12) })
    };
    Ok(ListenerDraft {
        address: address.unwrap_or_else(|| crate::DEFAULT_LISTENER_ADDRESS.to_string()),
        cluster_address,
        tls,
        max_request_size,
        max_request_duration,
    })
}

fn tls_version(v: &str) -> Result<TlsVersion, String> {
    match v {
        "" | "tls12" => Ok(TlsVersion::Tls12),
        "tls13" => Ok(TlsVersion::Tls13),
        "tls10" | "tls11" => {
            Err(format!("{v:?} is not allowed: Coffer requires TLS 1.2 or newer (use \"tls12\" or \"tls13\")"))
        }
        _ => Err(format!("unknown TLS version {v:?} (expected \"tls12\" or \"tls13\")")),
    }
}

/// A TLS file that must exist and be readable now, before any port is bound.
fn tls_file(
    ctx: Ctx<'_>,
    prefix: &str,
    key: &str,
    given: Option<(String, Option<Pos>)>,
    block_pos: Option<Pos>,
) -> Result<PathBuf, ConfigError> {
    let full = format!("{prefix}.{key}");
    let (path, pos) = match given {
        Some((p, pos)) if !p.is_empty() => (p, pos),
        _ => {
            return Err(ctx.invalid(
                &full,
                "required when TLS is enabled (set tls_disable = true to serve plain HTTP)",
                block_pos,
            ))
        }
    };
    let unreadable = |e: std::io::Error| ctx.invalid(&full, format!("cannot read {path:?}: {e}"), pos);
    let meta = std::fs::metadata(&path).map_err(unreadable)?;
    if !meta.is_file() {
        return Err(ctx.invalid(&full, format!("{path:?} is not a regular file"), pos));
    }
    std::fs::File::open(&path).map_err(unreadable)?;
    Ok(PathBuf::from(path))
}

/// A `host:port` to listen on: `127.0.0.1:8200`, `[::1]:8200`, `localhost:8200`, `:8200`.
fn listen_addr(ctx: Ctx<'_>, path: &str, item: &Item) -> Result<String, ConfigError> {
    let s = get(ctx, path, item, as_string)?;
    check_host_port(&s).map_err(|reason| ctx.invalid(path, format!("invalid address {s:?}: {reason}"), item.pos))?;
    Ok(s)
}

pub(crate) fn check_host_port(s: &str) -> Result<(), String> {
    if s.contains("{{") {
        return Err("address templates are not supported; give host:port".into());
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (host, port) = rest.split_once("]:").ok_or("expected [ipv6-address]:port")?;
        host.parse::<std::net::Ipv6Addr>().map_err(|_| format!("{host:?} is not an IPv6 address"))?;
        (None, port)
    } else {
        let (host, port) = s.rsplit_once(':').ok_or("missing port (expected host:port)")?;
        (Some(host), port)
    };
    if let Some(host) = host {
        if host.contains(':') {
            return Err("IPv6 addresses must be in brackets, e.g. [::1]:8200".into());
        }
        let hostname_ok = host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_');
        if !hostname_ok {
            return Err(format!("{host:?} is not a host name or IP address"));
        }
    }
    port.parse::<u16>().map_err(|_| format!("{port:?} is not a port number (0-65535)"))?;
    Ok(())
}

/// An advertised address (`api_addr`, `cluster_addr`): a full `http(s)://host:port` URL.
fn url(ctx: Ctx<'_>, path: &str, item: &Item) -> Result<String, ConfigError> {
    let s = get(ctx, path, item, as_string)?;
    check_url(&s).map_err(|reason| ctx.invalid(path, format!("invalid address {s:?}: {reason}"), item.pos))?;
    Ok(s)
}

pub(crate) fn check_url(s: &str) -> Result<(), String> {
    const EXPECTED: &str = "expected a URL such as https://coffer.example.com:8200";
    if s.contains("{{") {
        return Err("address templates are not supported".into());
    }
    let rest = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://")).ok_or(EXPECTED)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return Err(EXPECTED.into());
    }
    // A port is optional in a URL.
    let with_port = if authority.ends_with(']') || !authority.contains(':') {
        format!("{authority}:0")
    } else {
        authority.to_string()
    };
    check_host_port(&with_port).map_err(|_| EXPECTED.to_string())
}

fn seal(ctx: Ctx<'_>, item: &Item) -> Result<SealStanza, ConfigError> {
    let items = body(ctx, "seal", item)?;
    let seal_type = type_label(ctx, "seal", item)?;
    match seal_type.as_str() {
        t if SEAL_TYPES.contains(&t) => {}
        t if SEAL_OPENBAO_ONLY.contains(&t) => {
            return Err(ctx.invalid(
                "seal",
                format!("seal type {t:?} is not supported by Coffer (supported: \"shamir\", \"pkcs11\", \"awskms\")"),
                item.pos,
            ))
        }
        t => {
            return Err(ctx.invalid(
                "seal",
                format!("unknown seal type {t:?} (supported: \"shamir\", \"pkcs11\", \"awskms\")"),
                item.pos,
            ))
        }
    }
    let mut attrs = items_to_json(items);
    let disabled = match attrs.remove("disabled") {
        None => false,
        Some(v) => {
            let pos = items.iter().rev().find(|i| i.key == "disabled").and_then(|i| i.pos);
            as_bool(&v).map_err(|reason| ctx.invalid(&format!("seal.{seal_type}.disabled"), reason, pos))?
        }
    };
    Ok(SealStanza { seal_type, disabled, attrs })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Listen addresses Go would bind are accepted; the rest say why not.
    #[test]
    fn listen_addresses() {
        for ok in [
            "127.0.0.1:8200",
            "0.0.0.0:0",
            ":8200",
            "[::1]:8200",
            "[::]:8200",
            "localhost:8200",
            "vault-1.example.com:443",
        ] {
            assert_eq!(check_host_port(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("not an address", "missing port"),
            ("127.0.0.1", "missing port"),
            ("127.0.0.1:99999", "not a port"),
            ("127.0.0.1:http", "not a port"),
            ("::1:8200", "brackets"),
            ("[::g]:8200", "not an IPv6"),
            ("[::1]8200", "expected [ipv6"),
            ("a b:80", "not a host name"),
            ("{{ GetPrivateIP }}:8200", "templates"),
        ] {
            let err = check_host_port(bad).expect_err(bad);
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    /// Advertised addresses must be http(s) URLs.
    #[test]
    fn urls() {
        for ok in [
            "https://127.0.0.1:8200",
            "http://[::1]:8200",
            "https://coffer.example.com",
            "https://h:8201/",
            "https://[::1]",
        ] {
            assert_eq!(check_url(ok), Ok(()), "{ok}");
        }
        for bad in ["foo", "127.0.0.1:8200", "https://", "tcp://h:1", "https://h:x", "https://u@h:1", "https://a b"] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    /// TLS 1.0/1.1 are refused with a reason, not silently raised.
    #[test]
    fn tls_versions() {
        assert_eq!(tls_version("tls12"), Ok(TlsVersion::Tls12));
        assert_eq!(tls_version("tls13"), Ok(TlsVersion::Tls13));
        assert!(tls_version("tls10").expect_err("old").contains("TLS 1.2 or newer"));
        assert!(tls_version("tls11").expect_err("old").contains("TLS 1.2 or newer"));
        assert!(tls_version("TLS13").expect_err("case").contains("unknown TLS version"));
    }
}
