//! What the store keeps per token, and the JSON shapes OpenBao shows for it.
use crate::ttl::{go_time, NANOS};
use coffer_hardening::secret::SecretString;
pub use coffer_logical::TokenType;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The lease side of a token (OpenBao keeps it in the expiration manager): when it was issued,
/// when it expires, whether and how it renews. Tokens made by `create_root` have none.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LeaseTimes {
    /// Unix nanoseconds.
    pub issue_time: i64,
    /// Unix nanoseconds; `None` never expires.
    pub expire_time: Option<i64>,
    pub last_renewal: Option<i64>,
    pub renewable: bool,
    /// The TTL last granted, in seconds (a renewal without increment grants it again).
    pub ttl: u64,
    /// The auth method's max TTL for this login, in seconds (0: the mount's).
    #[serde(default)]
    pub max_ttl: u64,
}

/// What a login left with its token so a renewal can ask the auth method again.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LoginData {
    /// The auth mount, with a trailing slash ("auth/userpass/").
    pub mount_path: String,
    pub mount_default_ttl: u64,
    pub mount_max_ttl: u64,
    pub internal_data: Map<String, Value>,
    pub no_default_policy: bool,
}

/// A token's record. It never holds the token itself: the store keys it by the token's salted
/// HMAC, and `Debug` prints neither that nor the parent's.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct TokenEntry {
    /// HMAC-SHA256 of the token under the store's salt, hex (empty for batch tokens).
    #[serde(default)]
    pub(crate) hash: String,
    /// Empty for batch tokens.
    pub accessor: String,
    /// The parent's hash (`None`: an orphan).
    #[serde(default)]
    pub(crate) parent: Option<String>,
    /// Sorted; "default" included unless refused.
    pub policies: Vec<String>,
    /// The creation path: "auth/token/create", "auth/userpass/login/bob", ...
    pub path: String,
    pub meta: Option<BTreeMap<String, String>>,
    pub display_name: String,
    /// 0: unlimited; -1: the last use is under way (revocation pending).
    pub num_uses: i64,
    /// Unix seconds.
    pub creation_time: i64,
    /// The TTL at creation, in seconds (0: none).
    pub ttl: u64,
    pub explicit_max_ttl: u64,
    pub period: u64,
    pub role: String,
    pub entity_id: String,
    pub token_type: TokenType,
    /// A stable random id for the token's cubbyhole (empty for batch tokens).
    pub cubbyhole_id: String,
    pub bound_cidrs: Vec<String>,
    pub lease: Option<LeaseTimes>,
    pub login: Option<LoginData>,
    /// Marked for revocation: no lookup returns it any more.
    #[serde(default)]
    pub(crate) revoking: bool,
}

impl std::fmt::Debug for TokenEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenEntry")
            .field("accessor", &self.accessor)
            .field("orphan", &self.parent.is_none())
            .field("policies", &self.policies)
            .field("path", &self.path)
            .field("display_name", &self.display_name)
            .field("num_uses", &self.num_uses)
            .field("creation_time", &self.creation_time)
            .field("ttl", &self.ttl)
            .field("explicit_max_ttl", &self.explicit_max_ttl)
            .field("period", &self.period)
            .field("role", &self.role)
            .field("token_type", &self.token_type)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

impl TokenEntry {
    /// `sys/leases/lookup`'s view of this token's lease (`None` without one).
    pub fn lease_lookup_data(&self, lease_id: &str, now_nanos: i64) -> Option<Map<String, Value>> {
        let l = self.lease.as_ref()?;
        let mut m = Map::new();
        m.insert("expire_time".into(), l.expire_time.map(|t| Value::String(go_time(t))).unwrap_or(Value::Null));
        m.insert("id".into(), Value::String(lease_id.to_string()));
        m.insert("issue_time".into(), Value::String(go_time(l.issue_time)));
        m.insert("last_renewal".into(), l.last_renewal.map(|t| Value::String(go_time(t))).unwrap_or(Value::Null));
        m.insert("path".into(), Value::String(self.path.clone()));
        m.insert("renewable".into(), Value::Bool(self.lease_renewable(now_nanos)));
        let ttl = l.expire_time.map(|e| ((e - now_nanos) / NANOS).max(0)).unwrap_or(0);
        m.insert("ttl".into(), Value::from(ttl));
        Some(m)
    }

    pub fn is_root(&self) -> bool {
        self.policies.iter().any(|p| p == "root")
    }
    pub fn is_orphan(&self) -> bool {
        self.parent.is_none()
    }
    pub fn is_batch(&self) -> bool {
        self.token_type == TokenType::Batch
    }
    /// Unix nanoseconds of expiry, if the token expires.
    pub fn expire_time(&self) -> Option<i64> {
        self.lease.as_ref().and_then(|l| l.expire_time)
    }
    pub(crate) fn expired_at(&self, now: i64) -> bool {
        self.expire_time().is_some_and(|e| e <= now)
    }
    /// The storage key of the token, usable to index things by token without its value
    /// (stable for the token's life; empty for batch tokens).
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// Whether the lease would renew now (OpenBao's `leaseEntry.renewable`).
    fn lease_renewable(&self, now: i64) -> bool {
        match &self.lease {
            Some(l) => l.renewable && l.expire_time.is_none_or(|e| e >= now),
            None => false,
        }
    }

    /// Remaining whole seconds as OpenBao's lookup computes them (now rounded to the second).
    fn remaining(&self, now: i64) -> i64 {
        match self.expire_time() {
            Some(e) => {
                let rounded = (now + NANOS / 2).div_euclid(NANOS) * NANOS;
                (e - rounded) / NANOS
            }
            None => 0,
        }
    }

    /// The `data` of `auth/token/lookup*`. `id` is the token (or "" for lookup-accessor).
    pub fn lookup_data(&self, id: &str, now: i64) -> Map<String, Value> {
        let mut d = Map::new();
        d.insert("id".into(), Value::String(id.to_string()));
        d.insert("accessor".into(), Value::String(self.accessor.clone()));
        d.insert("policies".into(), str_array(&self.policies));
        d.insert("path".into(), Value::String(self.path.clone()));
        d.insert("meta".into(), meta_json(&self.meta));
        d.insert("display_name".into(), Value::String(self.display_name.clone()));
        d.insert("num_uses".into(), Value::from(self.num_uses));
        d.insert("orphan".into(), Value::Bool(self.parent.is_none()));
        d.insert("creation_time".into(), Value::from(self.creation_time));
        d.insert("creation_ttl".into(), Value::from(self.ttl));
        d.insert("expire_time".into(), Value::Null);
        d.insert("ttl".into(), Value::from(0));
        d.insert("explicit_max_ttl".into(), Value::from(self.explicit_max_ttl));
        d.insert("entity_id".into(), Value::String(self.entity_id.clone()));
        d.insert("type".into(), Value::String(type_str(self.token_type).into()));
        if !self.role.is_empty() {
            d.insert("role".into(), Value::String(self.role.clone()));
        }
        if self.period != 0 {
            d.insert("period".into(), Value::from(self.period));
        }
        if !self.bound_cidrs.is_empty() {
            d.insert("bound_cidrs".into(), str_array(&self.bound_cidrs));
        }
        if let Some(lease) = &self.lease {
            if let Some(r) = lease.last_renewal {
                d.insert("last_renewal_time".into(), Value::from(r.div_euclid(NANOS)));
                d.insert("last_renewal".into(), Value::String(go_time(r)));
            }
            if let Some(e) = lease.expire_time {
                d.insert("expire_time".into(), Value::String(go_time(e)));
                d.insert("ttl".into(), Value::from(self.remaining(now)));
            }
            d.insert("renewable".into(), Value::Bool(self.lease_renewable(now)));
            d.insert("issue_time".into(), Value::String(go_time(lease.issue_time)));
        }
        d
    }

    /// The `auth` block of create, renew and login responses, without `client_token`.
    pub(crate) fn auth_fields(&self) -> Map<String, Value> {
        let mut a = Map::new();
        a.insert("accessor".into(), Value::String(self.accessor.clone()));
        a.insert("policies".into(), str_array(&self.policies));
        a.insert("token_policies".into(), str_array(&self.policies));
        a.insert("metadata".into(), meta_json(&self.meta));
        a.insert("lease_duration".into(), Value::from(self.lease.as_ref().map(|l| l.ttl).unwrap_or(self.ttl)));
        a.insert("renewable".into(), Value::Bool(self.lease.as_ref().is_some_and(|l| l.renewable)));
        a.insert("entity_id".into(), Value::String(self.entity_id.clone()));
        a.insert("token_type".into(), Value::String(type_str(self.token_type).into()));
        a.insert("orphan".into(), Value::Bool(self.parent.is_none()));
        a.insert("mfa_requirement".into(), Value::Null);
        a.insert("num_uses".into(), Value::from(self.num_uses));
        a
    }
}

pub(crate) fn type_str(t: TokenType) -> &'static str {
    match t {
        TokenType::Service => "service",
        TokenType::Batch => "batch",
    }
}

fn str_array(items: &[String]) -> Value {
    Value::Array(items.iter().cloned().map(Value::String).collect())
}

fn meta_json(meta: &Option<BTreeMap<String, String>>) -> Value {
    match meta {
        None => Value::Null,
        Some(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect()),
    }
}

/// A token that was revoked: what the core needs to clean up after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoked {
    pub accessor: String,
    pub cubbyhole_id: String,
    /// The token's storage key ([`TokenEntry::hash`]).
    pub hash: String,
}

impl Revoked {
    pub(crate) fn of(e: &TokenEntry) -> Self {
        Revoked { accessor: e.accessor.clone(), cubbyhole_id: e.cubbyhole_id.clone(), hash: e.hash.clone() }
    }
}

/// The `auth` block of a response: OpenBao's fields, with the client token held as a secret
/// until the body is rendered.
pub struct AuthBlock {
    /// `None` renders as "" (renew-accessor hides the token).
    pub client_token: Option<SecretString>,
    pub fields: Map<String, Value>,
}

impl AuthBlock {
    pub(crate) fn new(token: Option<SecretString>, entry: &TokenEntry) -> Self {
        AuthBlock { client_token: token, fields: entry.auth_fields() }
    }

    /// The JSON OpenBao sends (it contains the token: send it, never log it).
    pub fn to_json(&self) -> Value {
        let mut m = self.fields.clone();
        m.insert(
            "client_token".into(),
            Value::String(self.client_token.as_ref().map(|t| t.expose().to_string()).unwrap_or_default()),
        );
        Value::Object(m)
    }
}

impl std::fmt::Debug for AuthBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthBlock").field("client_token", &"<redacted>").field("fields", &self.fields).finish()
    }
}

/// A token just made: its value (shown once), its entry, and the warnings of its creation.
pub struct Issued {
    pub token: SecretString,
    pub entry: TokenEntry,
    pub warnings: Vec<String>,
}

impl Issued {
    /// The `auth` block of the create or login response.
    pub fn auth_block(&self) -> AuthBlock {
        AuthBlock::new(Some(SecretString::new(self.token.expose().to_string())), &self.entry)
    }
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued").field("entry", &self.entry).field("warnings", &self.warnings).finish_non_exhaustive()
    }
}
