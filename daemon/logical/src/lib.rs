//! The contract between the core and the backends mounted in it (secrets engines such as KV,
//! auth methods such as userpass). Nothing here speaks HTTP: the core routes a [`Request`] to the
//! [`LogicalBackend`] of the longest matching mount, with the mount's barrier [`View`] as its
//! only storage, and turns the [`Response`] into OpenBao's JSON shape.
//!
//! What a backend may rely on:
//! - `req.path` is relative to the mount (no leading slash, `..`/`.` segments already refused);
//! - the token was authenticated and the ACL checked before `handle` is called (except for the
//!   backend's `unauthenticated_paths`);
//! - the view is confined to the mount: a backend cannot see another mount's data.
//!
//! What the core relies on: errors are [`LogicalError`] variants that say what went wrong in
//! OpenBao's words; a login returns `Response::auth` and the core creates the token.
#![forbid(unsafe_code)]

use async_trait::async_trait;
pub use coffer_storage::barrier::View;
use coffer_storage::StorageError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Read,
    /// A write to a path that does not exist yet (decided by [`LogicalBackend::exists`]).
    Create,
    /// A write (POST/PUT) to an existing path, or to a path with no existence check.
    Update,
    Delete,
    List,
    Patch,
}

impl Operation {
    /// The capability an ACL must grant for this operation.
    pub fn capability(&self) -> &'static str {
        match self {
            Operation::Read => "read",
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Delete => "delete",
            Operation::List => "list",
            Operation::Patch => "patch",
        }
    }
}

/// The mount a request was routed to.
#[derive(Debug, Clone, Default)]
pub struct MountInfo {
    /// With a trailing slash: "secret/", "auth/userpass/".
    pub path: String,
    pub kind: String,
    pub accessor: String,
    pub options: BTreeMap<String, String>,
    pub default_lease_ttl: Duration,
    pub max_lease_ttl: Duration,
}

#[derive(Debug, Clone)]
pub struct Request {
    pub id: String,
    pub operation: Operation,
    /// Relative to the mount.
    pub path: String,
    pub mount: MountInfo,
    pub data: Map<String, Value>,
    /// Query parameters; a GET's parameters arrive here.
    pub query: Vec<(String, String)>,
    /// The caller's token accessor ("" for unauthenticated requests).
    pub client_token_accessor: String,
    pub display_name: String,
    pub policies: Vec<String>,
    /// The caller's address, for CIDR-bound credentials.
    pub remote_addr: Option<std::net::IpAddr>,
}

impl Request {
    pub fn new(operation: Operation, path: impl Into<String>) -> Self {
        Request {
            id: uuid::Uuid::new_v4().to_string(),
            operation,
            path: path.into(),
            mount: MountInfo::default(),
            data: Map::new(),
            query: Vec::new(),
            client_token_accessor: String::new(),
            display_name: String::new(),
            policies: Vec::new(),
            remote_addr: None,
        }
    }

    /// A parameter from the body, or else from the query string.
    pub fn get(&self, name: &str) -> Option<Value> {
        if let Some(v) = self.data.get(name) {
            return Some(v.clone());
        }
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| Value::String(v.clone()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    #[default]
    Service,
    Batch,
}

/// What a login hands the core to turn into a token.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    pub policies: Vec<String>,
    pub metadata: BTreeMap<String, String>,
    pub display_name: String,
    /// Zero: the mount's default.
    pub ttl: Duration,
    pub max_ttl: Duration,
    pub explicit_max_ttl: Duration,
    pub period: Duration,
    pub renewable: bool,
    pub num_uses: u32,
    pub token_type: TokenType,
    pub no_default_policy: bool,
    pub bound_cidrs: Vec<String>,
    /// Kept with the token and handed back on renewal (e.g. which user logged in).
    pub internal_data: Map<String, Value>,
}

/// A leased secret: the core assigns the lease id and tracks expiry.
#[derive(Debug, Clone, Default)]
pub struct Lease {
    pub ttl: Duration,
    pub max_ttl: Duration,
    pub renewable: bool,
    pub internal_data: Map<String, Value>,
}

#[derive(Debug, Clone, Default)]
pub struct Response {
    pub data: Option<Map<String, Value>>,
    pub warnings: Vec<String>,
    pub auth: Option<Auth>,
    pub lease: Option<Lease>,
    /// Fields OpenBao repeats at the top level of the body for a few sys endpoints.
    pub top_level: Map<String, Value>,
}

impl Response {
    pub fn no_content() -> Self {
        Response::default()
    }
    pub fn data(data: Map<String, Value>) -> Self {
        Response { data: Some(data), ..Default::default() }
    }
    pub fn is_empty(&self) -> bool {
        self.data.is_none()
            && self.warnings.is_empty()
            && self.auth.is_none()
            && self.lease.is_none()
            && self.top_level.is_empty()
    }
    pub fn with_warning(mut self, w: impl Into<String>) -> Self {
        self.warnings.push(w.into());
        self
    }
}

/// Builds a JSON object from pairs: `obj([("a", json!(1))])`.
pub fn obj<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

#[derive(Debug, Error)]
pub enum LogicalError {
    /// 400 with this message.
    #[error("{0}")]
    InvalidRequest(String),
    /// 403 "permission denied".
    #[error("permission denied")]
    PermissionDenied,
    /// 404 with an empty error list (nothing at this path).
    #[error("not found")]
    NotFound,
    /// 404 "unsupported path".
    #[error("unsupported path")]
    UnsupportedPath,
    /// 405: the path exists but not for this operation.
    #[error("unsupported operation")]
    UnsupportedOperation,
    /// Storage failed (sealed, integrity, unavailable): mapped by the core.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// 500 with this message.
    #[error("{0}")]
    Internal(String),
}

pub type Result<T> = std::result::Result<T, LogicalError>;

#[async_trait]
pub trait LogicalBackend: Send + Sync + 'static {
    /// The engine or method type as mounted ("kv", "userpass", ...).
    fn kind(&self) -> &'static str;

    /// Handles one request below this mount, storing only through `storage`.
    async fn handle(&self, req: &Request, storage: &View) -> Result<Response>;

    /// Whether a write's target exists, so the core can check `create` versus `update`.
    /// `None`: the path has no existence check (writes need `update`).
    async fn exists(&self, _req: &Request, _storage: &View) -> Result<Option<bool>> {
        Ok(None)
    }

    /// Paths (relative, `*` suffix = prefix) that need no token, such as `login/*`.
    fn unauthenticated_paths(&self) -> &'static [&'static str] {
        &[]
    }

    /// Called when a token this backend's login issued is renewed: re-check the login still
    /// holds (user not deleted, ...) and return the auth to renew with. Default: as issued.
    async fn renew_auth(&self, auth: &Auth, _storage: &View) -> Result<Auth> {
        Ok(auth.clone())
    }

    /// Called once at mount (and after unseal) to set up storage.
    async fn initialize(&self, _storage: &View) -> Result<()> {
        Ok(())
    }
}

/// Helpers to read typed parameters with OpenBao-like errors.
pub mod params {
    use super::{LogicalError, Result};
    use serde_json::Value;
    use std::time::Duration;

    pub fn string(v: Option<&Value>, name: &str) -> Result<Option<String>> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(LogicalError::InvalidRequest(format!(
                "error converting input for field {name:?}: expected a string"
            ))),
        }
    }

    pub fn boolean(v: Option<&Value>, name: &str) -> Result<Option<bool>> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "1" | "t" | "true" => Ok(Some(true)),
                "0" | "f" | "false" | "" => Ok(Some(false)),
                _ => Err(LogicalError::InvalidRequest(format!(
                    "error converting input {s:?} for field {name:?}: cannot parse as bool"
                ))),
            },
            Some(Value::Number(n)) => Ok(Some(n.as_f64().unwrap_or(0.0) != 0.0)),
            Some(_) => {
                Err(LogicalError::InvalidRequest(format!("error converting input for field {name:?}: expected a bool")))
            }
        }
    }

    pub fn int(v: Option<&Value>, name: &str) -> Result<Option<i64>> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => {
                n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)).map(Some).ok_or_else(
                    || {
                        LogicalError::InvalidRequest(format!(
                            "error converting input {n} for field {name:?}: expected an integer"
                        ))
                    },
                )
            }
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| {
                LogicalError::InvalidRequest(format!(
                    "error converting input {s:?} for field {name:?}: expected an integer"
                ))
            }),
            Some(_) => Err(LogicalError::InvalidRequest(format!(
                "error converting input for field {name:?}: expected an integer"
            ))),
        }
    }

    /// A list of strings: a JSON array, or a comma-separated string (as OpenBao accepts).
    pub fn string_list(v: Option<&Value>, name: &str) -> Result<Option<Vec<String>>> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                Ok(Some(s.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()))
            }
            Some(Value::Array(a)) => a
                .iter()
                .map(|e| match e {
                    Value::String(s) => Ok(s.trim().to_string()),
                    Value::Number(n) => Ok(n.to_string()),
                    _ => Err(LogicalError::InvalidRequest(format!(
                        "error converting input for field {name:?}: expected a list of strings"
                    ))),
                })
                .collect::<Result<Vec<_>>>()
                .map(Some),
            Some(_) => Err(LogicalError::InvalidRequest(format!(
                "error converting input for field {name:?}: expected a list of strings"
            ))),
        }
    }

    /// A duration: seconds as a number or numeric string, or a Go-style duration string
    /// ("90s", "1h30m", "7d").
    pub fn duration(v: Option<&Value>, name: &str) -> Result<Option<Duration>> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n.as_u64().map(|s| Some(Duration::from_secs(s))).ok_or_else(|| {
                LogicalError::InvalidRequest(format!("error converting input {n} for field {name:?}: invalid duration"))
            }),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => parse_duration(s).map(Some).map_err(|e| {
                LogicalError::InvalidRequest(format!("error converting input {s:?} for field {name:?}: {e}"))
            }),
            Some(_) => Err(LogicalError::InvalidRequest(format!(
                "error converting input for field {name:?}: invalid duration"
            ))),
        }
    }

    /// Go-style durations with OpenBao's `d` suffix; a bare number is seconds.
    pub fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
        let s = s.trim();
        if let Ok(secs) = s.parse::<u64>() {
            return Ok(Duration::from_secs(secs));
        }
        if s.starts_with('-') {
            return Err(format!("invalid duration {s:?}: must not be negative"));
        }
        let mut total = 0f64;
        let mut rest = s;
        if rest.is_empty() {
            return Err("invalid duration \"\"".into());
        }
        while !rest.is_empty() {
            let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
            if num_end == 0 {
                return Err(format!("invalid duration {s:?}"));
            }
            let n: f64 = rest[..num_end].parse().map_err(|_| format!("invalid duration {s:?}"))?;
            rest = &rest[num_end..];
            let unit_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
            let mult = match &rest[..unit_end] {
                "ns" => 1e-9,
                "us" | "µs" => 1e-6,
                "ms" => 1e-3,
                "s" => 1.0,
                "m" => 60.0,
                "h" => 3600.0,
                "d" => 86400.0,
                "" => return Err(format!("invalid duration {s:?}: missing unit")),
                u => return Err(format!("invalid duration {s:?}: unknown unit {u:?}")),
            };
            total += n * mult;
            rest = &rest[unit_end..];
        }
        Ok(Duration::from_secs_f64(total))
    }
}

#[cfg(test)]
mod tests {
    use super::params::*;
    use serde_json::json;
    use std::time::Duration;

    #[test]
    fn durations_accept_seconds_and_go_strings() {
        assert_eq!(duration(Some(&json!(30)), "ttl").ok().flatten(), Some(Duration::from_secs(30)));
        assert_eq!(duration(Some(&json!("30")), "ttl").ok().flatten(), Some(Duration::from_secs(30)));
        assert_eq!(duration(Some(&json!("1h30m")), "ttl").ok().flatten(), Some(Duration::from_secs(5400)));
        assert_eq!(duration(Some(&json!("7d")), "ttl").ok().flatten(), Some(Duration::from_secs(7 * 86400)));
        assert!(duration(Some(&json!("ten")), "ttl").is_err());
        assert!(duration(Some(&json!("-5s")), "ttl").is_err());
        assert!(duration(Some(&json!(true)), "ttl").is_err());
    }

    #[test]
    fn lists_accept_arrays_and_comma_strings() {
        assert_eq!(
            string_list(Some(&json!("a, b,c")), "p").ok().flatten(),
            Some(vec!["a".into(), "b".into(), "c".into()])
        );
        assert_eq!(string_list(Some(&json!(["a", "b"])), "p").ok().flatten(), Some(vec!["a".into(), "b".into()]));
        assert!(string_list(Some(&json!([{}])), "p").is_err());
    }

    #[test]
    fn booleans_and_ints_parse_like_openbao() {
        assert_eq!(boolean(Some(&json!("true")), "b").ok().flatten(), Some(true));
        assert!(boolean(Some(&json!("maybe")), "b").is_err());
        assert_eq!(int(Some(&json!("12")), "n").ok().flatten(), Some(12));
        assert!(int(Some(&json!("x")), "n").is_err());
    }
}
