//! The `approle` auth method: roles with a role ID and secret IDs, and `login`.
//!
//! Paths: `role/` (LIST), `role/:name` (CRUD), `role/:name/role-id`, `role/:name/secret-id`
//! (POST generates, LIST gives accessors), `role/:name/secret-id/{lookup,destroy}`,
//! `role/:name/secret-id-accessor/{lookup,destroy}`, `role/:name/custom-secret-id`,
//! `role/:name/local-secret-ids`, the per-field endpoints (`role/:name/token-ttl`, ...), `login`
//! (unauthenticated) and `tidy/secret-id`.
//!
//! Storage (under the mount's view):
//! - `salt` — 32 random bytes (hex), keying the salted indexes below;
//! - `role/<lower-cased name>` → [`RoleEntry`] (holds the role's own HMAC key);
//! - `role_id/<HMAC(salt, role_id)>` → the role's name;
//! - `secret_id/<HMAC(role key, role name)>/<HMAC(role key, secret_id)>` → [`SecretIdEntry`];
//! - `accessor/<HMAC(salt, accessor)>` → the secret ID's HMAC.
//!
//! A secret ID is never stored: only its HMAC-SHA256 under the role's key, so a copy of the
//! storage (even decrypted) does not yield a usable secret ID. Accessors name secret IDs for
//! listing, lookup and destruction without revealing them.
//!
//! Differences from OpenBao, on purpose:
//! - a login checks every CIDR restriction before it spends one of the secret ID's uses
//!   (OpenBao spends the use first, so a refused login still costs one);
//! - deleting a role also deletes its secret IDs' accessors (OpenBao leaves them to tidy);
//! - `tidy/secret-id` runs to completion before answering (OpenBao starts it in the
//!   background and answers 202; Coffer's contract has no 202, so the core answers 200).
mod fields;

use crate::cidr;
use crate::clock::Clock;
use crate::token_params::{
    bad, field_bool, field_duration, field_int, field_string, field_string_list, internal, parse_policies, upgrade,
    TokenParams,
};
use crate::util::{get_json, list_response, put_json, to_json, valid_name};
use async_trait::async_trait;
use base64::Engine;
use coffer_hardening::secret::SecretString;
use coffer_logical::{Auth, LogicalBackend, LogicalError, Operation, Request, Response, Result, View};
use coffer_storage::barrier::BarrierOp;
use fields::Field;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::Sha256;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::sync::Mutex;

const ROLE_PREFIX: &str = "role/";
const ROLE_ID_PREFIX: &str = "role_id/";
const SECRET_ID_PREFIX: &str = "secret_id/";
const ACCESSOR_PREFIX: &str = "accessor/";
const SALT_KEY: &str = "salt";
/// OpenBao's limit on what it HMACs (role names, secret IDs).
const MAX_HMAC_INPUT: usize = 4096;
/// OpenBao's default `max_lease_ttl` (768h), used when the mount does not say.
const DEFAULT_MAX_LEASE_TTL: u64 = 768 * 3600;
const INVALID_CREDENTIALS: &str = "invalid role or secret ID";
const STRIPES: usize = 64;

/// One role. Holds credentials (role ID, HMAC key): no `Debug`.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RoleEntry {
    #[serde(flatten)]
    pub token: TokenParams,
    /// Lower-cased.
    pub name: String,
    pub role_id: String,
    /// Hex; keys the HMACs of this role's secret IDs.
    pub hmac_key: String,
    pub bind_secret_id: bool,
    pub secret_id_bound_cidrs: Option<Vec<String>>,
    pub secret_id_num_uses: i64,
    /// Seconds; 0 = no expiry (capped by the mount's max lease TTL).
    pub secret_id_ttl: u64,
    /// Accepted and shown, no effect (Coffer has no performance replication).
    pub local_secret_ids: bool,
    /// Deprecated forms of token_policies / token_period.
    pub policies: Vec<String>,
    pub period: u64,
}

impl RoleEntry {
    fn upgraded(mut self) -> Self {
        if self.token.token_period == 0 && self.period > 0 {
            self.token.token_period = self.period;
        }
        if self.token.token_policies.is_empty() && !self.policies.is_empty() {
            self.token.token_policies = self.policies.clone();
        }
        self
    }

    /// OpenBao's `validateRoleConstraints`.
    fn has_constraint(&self) -> bool {
        self.bind_secret_id
            || self.secret_id_bound_cidrs.as_ref().is_some_and(|c| !c.is_empty())
            || !self.token.token_bound_cidrs.is_empty()
    }
}

/// What is stored for one secret ID (never the secret ID itself). Times are Unix nanoseconds.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SecretIdEntry {
    pub secret_id_accessor: String,
    /// 0 = unlimited.
    pub secret_id_num_uses: i64,
    pub secret_id_ttl: u64,
    pub creation_time: i64,
    /// `None`: never expires.
    pub expiration_time: Option<i64>,
    pub last_updated_time: i64,
    pub metadata: BTreeMap<String, String>,
    pub cidr_list: Vec<String>,
    pub token_bound_cidrs: Vec<String>,
}

impl SecretIdEntry {
    fn expired(&self, now: i64) -> bool {
        self.expiration_time.is_some_and(|e| now > e)
    }

    fn to_data(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("cidr_list".into(), json!(self.cidr_list));
        m.insert("creation_time".into(), json!(format_time(Some(self.creation_time))));
        m.insert("expiration_time".into(), json!(format_time(self.expiration_time)));
        m.insert("last_updated_time".into(), json!(format_time(Some(self.last_updated_time))));
        m.insert("metadata".into(), json!(self.metadata));
        m.insert("secret_id_accessor".into(), json!(self.secret_id_accessor));
        m.insert("secret_id_num_uses".into(), json!(self.secret_id_num_uses));
        m.insert("secret_id_ttl".into(), json!(self.secret_id_ttl));
        m.insert("token_bound_cidrs".into(), json!(self.token_bound_cidrs));
        m
    }
}

#[derive(Serialize, Deserialize)]
struct RoleIdIndex {
    name: String,
}

#[derive(Serialize, Deserialize)]
struct AccessorEntry {
    secret_id_hmac: String,
}

/// The approle backend. Build it with [`crate::approle()`] or [`crate::approle_with_clock`].
pub struct AppRole {
    clock: Arc<dyn Clock>,
    /// Striped locks: per role (by view and name) and per secret ID (by view and HMAC).
    /// Order when both are held: role, then secret ID.
    role_locks: Vec<Mutex<()>>,
    secret_locks: Vec<Mutex<()>>,
    salt_lock: Mutex<()>,
    tidy_running: AtomicBool,
}

/// Clears the tidy flag however the tidy ends (including cancellation).
struct TidyGuard<'a>(&'a AtomicBool);

impl Drop for TidyGuard<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl AppRole {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        AppRole {
            clock,
            role_locks: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            secret_locks: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            salt_lock: Mutex::new(()),
            tidy_running: AtomicBool::new(false),
        }
    }

    fn stripe<'a>(set: &'a [Mutex<()>], view: &View, key: &str) -> &'a Mutex<()> {
        let mut h = DefaultHasher::new();
        view.prefix().hash(&mut h);
        key.hash(&mut h);
        &set[(h.finish() as usize) % set.len()]
    }

    fn role_lock(&self, view: &View, name: &str) -> &Mutex<()> {
        Self::stripe(&self.role_locks, view, &name.to_lowercase())
    }

    fn secret_lock(&self, view: &View, secret_hmac: &str) -> &Mutex<()> {
        Self::stripe(&self.secret_locks, view, secret_hmac)
    }

    fn now(&self) -> i64 {
        i64::try_from(self.clock.now().unix_timestamp_nanos()).unwrap_or(i64::MAX)
    }

    /// The mount's salt, created on first use.
    async fn salt(&self, view: &View) -> Result<String> {
        if let Some(bytes) = view.get(SALT_KEY).await? {
            return String::from_utf8(bytes).map_err(|_| internal("salt record is not text"));
        }
        let _guard = self.salt_lock.lock().await;
        if let Some(bytes) = view.get(SALT_KEY).await? {
            return String::from_utf8(bytes).map_err(|_| internal("salt record is not text"));
        }
        let salt = random_hex(32);
        view.put(SALT_KEY, salt.as_bytes()).await?;
        Ok(salt)
    }

    async fn load_role(&self, view: &View, name: &str) -> Result<Option<RoleEntry>> {
        Ok(get_json::<RoleEntry>(view, &role_key(name)).await?.map(RoleEntry::upgraded))
    }

    /// Persists a role with its role-ID index, refusing a role ID another role holds.
    async fn save_role(&self, view: &View, role: &RoleEntry, previous_role_id: &str) -> Result<()> {
        if !role.has_constraint() {
            return Err(internal("at least one constraint should be enabled on the role"));
        }
        let salt = self.salt(view).await?;
        let index_key = role_id_key(&salt, &role.role_id);
        if let Some(index) = get_json::<RoleIdIndex>(view, &index_key).await? {
            if index.name != role.name {
                return Err(internal("role_id already in use"));
            }
        }
        let mut ops = vec![BarrierOp::Put { path: role_key(&role.name), value: to_json(role)? }];
        if previous_role_id != role.role_id {
            if !previous_role_id.is_empty() {
                ops.push(BarrierOp::Delete { path: role_id_key(&salt, previous_role_id) });
            }
            ops.push(BarrierOp::Put { path: index_key, value: to_json(&RoleIdIndex { name: role.name.clone() })? });
        }
        view.transaction(ops).await?;
        Ok(())
    }

    async fn write_role(&self, req: &Request, view: &View, name: &str) -> Result<Response> {
        if name.len() > MAX_HMAC_INPUT {
            return Err(bad(format!("role_name is longer than maximum of {MAX_HMAC_INPUT} bytes")));
        }
        let _guard = self.role_lock(view, name).lock().await;
        let existing = self.load_role(view, name).await?;
        let creating = existing.is_none();
        let mut role = existing.unwrap_or_else(|| RoleEntry {
            name: name.to_lowercase(),
            hmac_key: random_hex(32),
            ..Default::default()
        });

        let mut warnings = Vec::new();
        let mut adjusted;
        let mut req = req;
        if let Some(Value::String(t)) = req.get("token_type") {
            let replacement = match t.as_str() {
                "default-service" => Some("service"),
                "default-batch" => Some("batch"),
                _ => None,
            };
            if let Some(r) = replacement {
                warnings.push(format!("{t} has no useful meaning; adjusting to {r}"));
                adjusted = req.clone();
                adjusted.data.insert("token_type".into(), json!(r));
                req = &adjusted;
            }
        }

        let mut token = role.token.clone();
        token.parse(req)?;
        role.token = token;

        if let Some(local) = field_bool(req, "local_secret_ids")? {
            if !creating {
                return Err(bad("local_secret_ids can only be modified during role creation"));
            }
            role.local_secret_ids = local;
        }

        let previous_role_id = role.role_id.clone();
        if let Some(role_id) = field_string(req, "role_id")? {
            role.role_id = role_id;
        } else if creating {
            role.role_id = uuid::Uuid::new_v4().to_string();
        }
        if role.role_id.is_empty() {
            return Err(bad("invalid role_id supplied, or failed to generate a role_id"));
        }

        if let Some(b) = field_bool(req, "bind_secret_id")? {
            role.bind_secret_id = b;
        } else if creating {
            role.bind_secret_id = true;
        }

        let cidrs = match field_string_list(req, "secret_id_bound_cidrs")? {
            Some(c) => Some(c),
            None => field_string_list(req, "bound_cidr_list")?,
        };
        if let Some(c) = cidrs {
            role.secret_id_bound_cidrs = Some(c);
        }
        if let Some(c) = &role.secret_id_bound_cidrs {
            cidr::validate_cidr_list(c).map_err(|e| internal(format!("failed to validate CIDR blocks: {e}")))?;
        }

        if let Some(n) = field_int(req, "secret_id_num_uses")? {
            role.secret_id_num_uses = n;
        }
        if role.secret_id_num_uses < 0 {
            return Err(bad("secret_id_num_uses cannot be negative"));
        }
        if let Some(ttl) = field_duration(req, "secret_id_ttl")? {
            role.secret_id_ttl = ttl;
        }

        let given = |n: &str| req.get(n).is_some_and(|v| !v.is_null());
        let old = field_string_list(req, "policies")?.map(parse_policies);
        upgrade(old, given("token_policies"), &mut role.policies, &mut role.token.token_policies);
        let old = field_duration(req, "period")?;
        upgrade(old, given("token_period"), &mut role.period, &mut role.token.token_period);

        let max_lease = max_lease_ttl(req);
        if role.period > max_lease {
            return Err(bad(format!(
                "period of {:?} is greater than the backend's maximum lease TTL of {:?}",
                go_duration(role.period),
                go_duration(max_lease)
            )));
        }
        if role.token.token_max_ttl > max_lease {
            warnings.push(
                "token_max_ttl is greater than the backend mount's maximum TTL value; issued tokens' max TTL value will be truncated"
                    .into(),
            );
        }

        self.save_role(view, &role, &previous_role_id).await?;
        Ok(Response { warnings, ..Default::default() })
    }

    async fn read_role(&self, view: &View, name: &str) -> Result<Response> {
        let role = self.load_role(view, name).await?.ok_or(LogicalError::NotFound)?;
        let mut data = Map::new();
        data.insert("bind_secret_id".into(), json!(role.bind_secret_id));
        data.insert("local_secret_ids".into(), json!(role.local_secret_ids));
        data.insert("secret_id_bound_cidrs".into(), json!(role.secret_id_bound_cidrs));
        data.insert("secret_id_num_uses".into(), json!(role.secret_id_num_uses));
        data.insert("secret_id_ttl".into(), json!(role.secret_id_ttl));
        role.token.populate(&mut data);
        if role.period != 0 {
            data.insert("period".into(), json!(role.period));
        }
        if !role.policies.is_empty() {
            data.insert("policies".into(), json!(role.policies));
        }
        let mut resp = Response::data(data);
        if !role.has_constraint() {
            resp = resp.with_warning(
                "Role does not have any constraints set on it. Updates to this role will require a constraint to be set",
            );
        }
        Ok(resp)
    }

    async fn delete_role(&self, view: &View, name: &str) -> Result<Response> {
        let _guard = self.role_lock(view, name).lock().await;
        let Some(role) = self.load_role(view, name).await? else {
            return Ok(Response::no_content());
        };
        let salt = self.salt(view).await?;
        let role_hmac = hmac_hex(&role.hmac_key, &role.name)?;
        let dir = format!("{SECRET_ID_PREFIX}{role_hmac}/");
        for secret_hmac in view.list(&dir).await? {
            let _secret = self.secret_lock(view, &secret_hmac).lock().await;
            let key = format!("{dir}{secret_hmac}");
            let mut ops = vec![BarrierOp::Delete { path: key.clone() }];
            if let Ok(Some(entry)) = get_json::<SecretIdEntry>(view, &key).await {
                ops.push(BarrierOp::Delete { path: accessor_key(&salt, &entry.secret_id_accessor) });
            }
            view.transaction(ops).await?;
        }
        view.transaction(vec![
            BarrierOp::Delete { path: role_id_key(&salt, &role.role_id) },
            BarrierOp::Delete { path: role_key(&role.name) },
        ])
        .await?;
        Ok(Response::no_content())
    }

    async fn update_role_id(&self, req: &Request, view: &View, name: &str) -> Result<Response> {
        let _guard = self.role_lock(view, name).lock().await;
        let mut role = self.load_role(view, name).await?.ok_or(LogicalError::UnsupportedPath)?;
        let role_id = field_string(req, "role_id")?.filter(|s| !s.is_empty()).ok_or_else(|| bad("missing role_id"))?;
        let previous = std::mem::replace(&mut role.role_id, role_id);
        self.save_role(view, &role, &previous).await?;
        Ok(Response::no_content())
    }

    async fn list_secret_ids(&self, view: &View, name: &str) -> Result<Response> {
        let role = self.load_role(view, name).await?.ok_or_else(|| bad(format!("role {name:?} does not exist")))?;
        let dir = format!("{SECRET_ID_PREFIX}{}/", hmac_hex(&role.hmac_key, &role.name)?);
        let mut accessors = Vec::new();
        for secret_hmac in view.list(&dir).await? {
            let entry = get_json::<SecretIdEntry>(view, &format!("{dir}{secret_hmac}"))
                .await?
                .ok_or_else(|| internal("storage entry for SecretID is present but no content found at the index"))?;
            accessors.push(entry.secret_id_accessor);
        }
        list_response(accessors)
    }

    /// Registers a secret ID (generated or custom) against a role.
    async fn create_secret_id(
        &self,
        req: &Request,
        view: &View,
        name: &str,
        secret_id: SecretString,
    ) -> Result<Response> {
        if secret_id.expose().is_empty() {
            return Err(bad("missing secret_id"));
        }
        let _guard = self.role_lock(view, name).lock().await;
        // OpenBao: 404 with `role "<name>" does not exist`; the contract's 404 carries no text.
        let role = self.load_role(view, name).await?.ok_or(LogicalError::NotFound)?;
        if !role.bind_secret_id {
            return Err(bad("bind_secret_id is not set on the role"));
        }

        let cidr_list = field_string_list(req, "cidr_list")?.unwrap_or_default();
        cidr::validate_cidr_list(&cidr_list).map_err(|e| internal(format!("failed to validate CIDR blocks: {e}")))?;
        let role_cidrs = role.secret_id_bound_cidrs.clone().unwrap_or_default();
        check_subset(&role_cidrs, &cidr_list)?;

        let token_cidrs = field_string_list(req, "token_bound_cidrs")?.unwrap_or_default();
        cidr::validate_cidr_list(&token_cidrs)
            .map_err(|e| internal(format!("failed to validate token CIDR blocks: {e}")))?;
        check_subset(&role.token.token_bound_cidrs, &token_cidrs)?;

        let num_uses = match field_int(req, "num_uses")? {
            Some(n) if n < 0 => return Err(bad("num_uses cannot be negative")),
            Some(n) => {
                let role_n = role.secret_id_num_uses;
                if role_n > 0 && (n == 0 || n > role_n) {
                    return Err(bad("num_uses cannot be higher than the role's secret_id_num_uses"));
                }
                n
            }
            None => role.secret_id_num_uses,
        };
        let ttl = match field_duration(req, "ttl")? {
            Some(t) => {
                let role_t = role.secret_id_ttl;
                if role_t > 0 && (t == 0 || t > role_t) {
                    return Err(bad("ttl cannot be longer than the role's secret_id_ttl"));
                }
                t
            }
            None => role.secret_id_ttl,
        };
        let metadata = parse_metadata(field_string(req, "metadata")?.as_deref())
            .map_err(|e| bad(format!("failed to parse metadata: {e}")))?;

        let secret_hmac = hmac_hex(&role.hmac_key, secret_id.expose())
            .map_err(|e| internal(format!("failed to create HMAC of secret_id: {e}")))?;
        let role_hmac = hmac_hex(&role.hmac_key, &role.name)
            .map_err(|e| internal(format!("failed to create HMAC of role_name: {e}")))?;
        let key = secret_key(&role_hmac, &secret_hmac);

        let _secret = self.secret_lock(view, &secret_hmac).lock().await;
        if view.get(&key).await?.is_some() {
            return Err(internal("failed to store secret_id: SecretID is already registered"));
        }
        let now = self.now();
        let effective_ttl = ttl.min(max_lease_ttl(req));
        let expiration_time = (effective_ttl > 0).then(|| {
            now.saturating_add(i64::try_from(effective_ttl).unwrap_or(i64::MAX).saturating_mul(1_000_000_000))
        });
        let entry = SecretIdEntry {
            secret_id_accessor: uuid::Uuid::new_v4().to_string(),
            secret_id_num_uses: num_uses,
            secret_id_ttl: ttl,
            creation_time: now,
            expiration_time,
            last_updated_time: now,
            metadata,
            cidr_list,
            token_bound_cidrs: token_cidrs,
        };
        let salt = self.salt(view).await?;
        view.transaction(vec![
            BarrierOp::Put {
                path: accessor_key(&salt, &entry.secret_id_accessor),
                value: to_json(&AccessorEntry { secret_id_hmac: secret_hmac.clone() })?,
            },
            BarrierOp::Put { path: key, value: to_json(&entry)? },
        ])
        .await?;

        let mut data = Map::new();
        data.insert("secret_id".into(), json!(secret_id.expose()));
        data.insert("secret_id_accessor".into(), json!(entry.secret_id_accessor));
        data.insert("secret_id_num_uses".into(), json!(entry.secret_id_num_uses));
        data.insert("secret_id_ttl".into(), json!(effective_ttl));
        Ok(Response::data(data))
    }

    /// The role (or an internal error naming it, as OpenBao) and the secret ID's storage key.
    async fn role_and_secret_key(
        &self,
        view: &View,
        name: &str,
        secret_id: &SecretString,
    ) -> Result<(RoleEntry, String, String)> {
        let role =
            self.load_role(view, name).await?.ok_or_else(|| internal(format!("role {name:?} does not exist")))?;
        let secret_hmac = hmac_hex(&role.hmac_key, secret_id.expose())
            .map_err(|e| internal(format!("failed to create HMAC of secret_id: {e}")))?;
        let role_hmac = hmac_hex(&role.hmac_key, &role.name)
            .map_err(|e| internal(format!("failed to create HMAC of role_name: {e}")))?;
        let key = secret_key(&role_hmac, &secret_hmac);
        Ok((role, secret_hmac, key))
    }

    async fn lookup_secret_id(&self, req: &Request, view: &View, name: &str) -> Result<Response> {
        let secret_id = required_secret(req, "secret_id")?;
        let (_role, secret_hmac, key) = self.role_and_secret_key(view, name, &secret_id).await?;
        let _secret = self.secret_lock(view, &secret_hmac).lock().await;
        let Some(entry) = get_json::<SecretIdEntry>(view, &key).await? else {
            return Ok(Response::no_content());
        };
        if entry.expired(self.now()) {
            return Ok(Response::no_content());
        }
        let salt = self.salt(view).await?;
        if view.get(&accessor_key(&salt, &entry.secret_id_accessor)).await?.is_none() {
            view.delete(&key).await?;
            return Err(bad("invalid secret id"));
        }
        Ok(Response::data(entry.to_data()))
    }

    async fn destroy_secret_id(&self, req: &Request, view: &View, name: &str) -> Result<Response> {
        let secret_id = required_secret(req, "secret_id")?;
        let (_role, secret_hmac, key) = self.role_and_secret_key(view, name, &secret_id).await?;
        let _secret = self.secret_lock(view, &secret_hmac).lock().await;
        let Some(entry) = get_json::<SecretIdEntry>(view, &key).await? else {
            return Ok(Response::no_content());
        };
        let salt = self.salt(view).await?;
        view.transaction(vec![
            BarrierOp::Delete { path: accessor_key(&salt, &entry.secret_id_accessor) },
            BarrierOp::Delete { path: key },
        ])
        .await?;
        Ok(Response::no_content())
    }

    /// The role, the accessor's record (if any) and the role's secret-ID directory.
    async fn accessor_context(
        &self,
        req: &Request,
        view: &View,
        name: &str,
    ) -> Result<(String, Option<AccessorEntry>, String, String)> {
        let accessor = field_string(req, "secret_id_accessor")?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| bad("missing secret_id_accessor"))?;
        let role =
            self.load_role(view, name).await?.ok_or_else(|| internal(format!("role {name:?} does not exist")))?;
        let salt = self.salt(view).await?;
        let record = get_json::<AccessorEntry>(view, &accessor_key(&salt, &accessor)).await?;
        let role_hmac = hmac_hex(&role.hmac_key, &role.name)
            .map_err(|e| internal(format!("failed to create HMAC of role_name: {e}")))?;
        Ok((accessor, record, role_hmac, salt))
    }

    async fn lookup_accessor(&self, req: &Request, view: &View, name: &str) -> Result<Response> {
        let (_accessor, record, role_hmac, _salt) = self.accessor_context(req, view, name).await?;
        // OpenBao: 404 with the message in `data.error`.
        let record = record.ok_or(LogicalError::NotFound)?;
        let _secret = self.secret_lock(view, &record.secret_id_hmac).lock().await;
        match get_json::<SecretIdEntry>(view, &secret_key(&role_hmac, &record.secret_id_hmac)).await? {
            Some(entry) if !entry.expired(self.now()) => Ok(Response::data(entry.to_data())),
            _ => Ok(Response::no_content()),
        }
    }

    async fn destroy_accessor(&self, req: &Request, view: &View, name: &str) -> Result<Response> {
        let (accessor, record, role_hmac, salt) = self.accessor_context(req, view, name).await?;
        let record = record
            .ok_or_else(|| internal(format!("failed to find accessor entry for secret_id_accessor: {accessor:?}")))?;
        let _secret = self.secret_lock(view, &record.secret_id_hmac).lock().await;
        let key = secret_key(&role_hmac, &record.secret_id_hmac);
        if view.get(&key).await?.is_none() {
            return Err(LogicalError::PermissionDenied);
        }
        view.transaction(vec![
            BarrierOp::Delete { path: accessor_key(&salt, &accessor) },
            BarrierOp::Delete { path: key },
        ])
        .await?;
        Ok(Response::no_content())
    }

    async fn login(&self, req: &Request, view: &View) -> Result<Response> {
        // OpenBao answers a missing role_id with a 500 (from its role-resolution step).
        let role_id = field_string(req, "role_id")?
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| internal("missing role_id"))?;
        let salt = self.salt(view).await?;
        let index = get_json::<RoleIdIndex>(view, &role_id_key(&salt, &role_id))
            .await?
            .ok_or_else(|| bad(INVALID_CREDENTIALS))?;
        let role = self.load_role(view, &index.name).await?.ok_or_else(|| bad(INVALID_CREDENTIALS))?;
        let remote = req.remote_addr;

        let mut metadata = BTreeMap::new();
        let mut token_cidrs = role.token.token_bound_cidrs.clone();
        if role.bind_secret_id {
            let secret_id = field_string(req, "secret_id")?
                .map(|raw| {
                    // Wrap first so the untrimmed copy is wiped too.
                    let raw = SecretString::new(raw);
                    SecretString::new(raw.expose().trim().to_string())
                })
                .filter(|s| !s.expose().is_empty())
                .ok_or_else(|| bad("missing secret_id"))?;
            let secret_hmac = hmac_hex(&role.hmac_key, secret_id.expose())
                .map_err(|e| internal(format!("failed to create HMAC of secret_id: {e}")))?;
            let role_hmac = hmac_hex(&role.hmac_key, &role.name)
                .map_err(|e| internal(format!("failed to create HMAC of role_name: {e}")))?;
            let key = secret_key(&role_hmac, &secret_hmac);

            let _secret = self.secret_lock(view, &secret_hmac).lock().await;
            let now = self.now();
            let entry = match get_json::<SecretIdEntry>(view, &key).await? {
                Some(e) if !e.expired(now) => e,
                _ => return Err(bad(INVALID_CREDENTIALS)),
            };
            let acc_key = accessor_key(&salt, &entry.secret_id_accessor);
            if view.get(&acc_key).await?.is_none() {
                view.delete(&key).await?;
                return Err(bad(INVALID_CREDENTIALS));
            }
            check_subset(role.secret_id_bound_cidrs.as_deref().unwrap_or_default(), &entry.cidr_list)?;
            if !entry.cidr_list.is_empty() {
                let ip = remote.ok_or_else(|| internal("failed to get connection information"))?;
                if !cidr::contains(&entry.cidr_list, ip) {
                    return Err(bad(format!(
                        "source address \"{ip}\" unauthorized through CIDR restrictions on the secret ID"
                    )));
                }
            }
            check_role_cidrs(&role, remote)?;

            // Every check passed: spend one use.
            match entry.secret_id_num_uses {
                1 => {
                    view.transaction(vec![BarrierOp::Delete { path: acc_key }, BarrierOp::Delete { path: key }]).await?
                }
                n if n > 1 => {
                    let mut updated = entry.clone();
                    updated.secret_id_num_uses = n - 1;
                    updated.last_updated_time = now;
                    put_json(view, &key, &updated).await?;
                }
                _ => {}
            }
            metadata = entry.metadata;
            if !entry.token_bound_cidrs.is_empty() {
                token_cidrs = cidr::parse_addrs(&entry.token_bound_cidrs).map_err(bad)?;
            }
        } else {
            check_role_cidrs(&role, remote)?;
        }

        metadata.insert("role_name".into(), role.name.clone());
        let mut auth = role.token.to_auth(remote)?;
        if !role.token.token_strictly_bind_ip {
            auth.bound_cidrs = token_cidrs;
        }
        auth.metadata = metadata;
        auth.internal_data.insert("role_name".into(), Value::String(role.name.clone()));
        Ok(Response { auth: Some(auth), ..Default::default() })
    }

    async fn tidy(&self, view: &View) -> Result<Response> {
        if self.tidy_running.swap(true, Ordering::AcqRel) {
            return Ok(Response::no_content().with_warning("Tidy operation already in progress."));
        }
        let _flag = TidyGuard(&self.tidy_running);
        self.tidy_secret_ids(view).await?;
        Ok(Response::no_content().with_warning(
            "Tidy operation successfully started. Any information from the operation will be printed to OpenBao's server logs.",
        ))
    }

    /// Deletes expired secret IDs, secret IDs without an accessor, and accessors without a
    /// secret ID. Accessors are listed before secret IDs are scanned, so an accessor created
    /// meanwhile is never taken for a dangling one.
    async fn tidy_secret_ids(&self, view: &View) -> Result<()> {
        let salt = self.salt(view).await?;
        let accessors = view.list(ACCESSOR_PREFIX).await?;
        let now = self.now();
        let mut live = HashSet::new();
        for role_dir in view.list(SECRET_ID_PREFIX).await? {
            let dir = format!("{SECRET_ID_PREFIX}{role_dir}");
            if !dir.ends_with('/') {
                continue;
            }
            for secret_hmac in view.list(&dir).await? {
                let _secret = self.secret_lock(view, &secret_hmac).lock().await;
                let key = format!("{dir}{secret_hmac}");
                let Some(entry) = get_json::<SecretIdEntry>(view, &key).await? else { continue };
                let acc_key = accessor_key(&salt, &entry.secret_id_accessor);
                if view.get(&acc_key).await?.is_none() {
                    view.delete(&key).await?;
                } else if entry.expired(now) {
                    view.transaction(vec![BarrierOp::Delete { path: acc_key }, BarrierOp::Delete { path: key }])
                        .await?;
                } else {
                    live.insert(secret_hmac);
                }
            }
        }
        for salted in accessors {
            let key = format!("{ACCESSOR_PREFIX}{salted}");
            let Some(record) = get_json::<AccessorEntry>(view, &key).await? else { continue };
            if !live.contains(&record.secret_id_hmac) {
                let _secret = self.secret_lock(view, &record.secret_id_hmac).lock().await;
                view.delete(&key).await?;
            }
        }
        Ok(())
    }
}

fn role_key(name: &str) -> String {
    format!("{ROLE_PREFIX}{}", name.to_lowercase())
}

fn role_id_key(salt: &str, role_id: &str) -> String {
    format!("{ROLE_ID_PREFIX}{}", salted(salt, role_id))
}

fn accessor_key(salt: &str, accessor: &str) -> String {
    format!("{ACCESSOR_PREFIX}{}", salted(salt, accessor))
}

fn secret_key(role_hmac: &str, secret_hmac: &str) -> String {
    format!("{SECRET_ID_PREFIX}{role_hmac}/{secret_hmac}")
}

fn random_hex(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn hmac_raw(key: &str, value: &str) -> String {
    // HMAC accepts keys of any length; this cannot fail.
    match Hmac::<Sha256>::new_from_slice(key.as_bytes()) {
        Ok(mut mac) => {
            mac.update(value.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// HMAC-SHA256 of `value` under `key`, hex; refuses OpenBao's over-long inputs.
fn hmac_hex(key: &str, value: &str) -> Result<String> {
    if key.is_empty() {
        return Err(internal("invalid HMAC key"));
    }
    if value.len() > MAX_HMAC_INPUT {
        return Err(internal(format!("value is longer than maximum of {MAX_HMAC_INPUT} bytes")));
    }
    Ok(hmac_raw(key, value))
}

/// An identifier salted with the mount's salt, for use as a storage key.
fn salted(salt: &str, id: &str) -> String {
    hmac_raw(salt, id)
}

fn required_secret(req: &Request, name: &str) -> Result<SecretString> {
    field_string(req, name)?
        .filter(|s| !s.is_empty())
        .map(SecretString::new)
        .ok_or_else(|| bad(format!("missing {name}")))
}

fn max_lease_ttl(req: &Request) -> u64 {
    match req.mount.max_lease_ttl.as_secs() {
        0 => DEFAULT_MAX_LEASE_TTL,
        s => s,
    }
}

fn check_subset(role_cidrs: &[String], secret_cidrs: &[String]) -> Result<()> {
    if secret_cidrs.is_empty() || cidr::is_subset(role_cidrs, secret_cidrs) {
        return Ok(());
    }
    Err(internal(format!(
        "failed to verify subset relationship between CIDR blocks on the role {} and CIDR blocks on the secret ID {}",
        go_quoted_list(role_cidrs),
        go_quoted_list(secret_cidrs)
    )))
}

fn check_role_cidrs(role: &RoleEntry, remote: Option<IpAddr>) -> Result<()> {
    let Some(cidrs) = role.secret_id_bound_cidrs.as_ref().filter(|c| !c.is_empty()) else {
        return Ok(());
    };
    let ip = remote.ok_or_else(|| internal("failed to get connection information"))?;
    if cidr::contains(cidrs, ip) {
        Ok(())
    } else {
        Err(bad(format!("source address \"{ip}\" unauthorized by CIDR restrictions on the role")))
    }
}

/// Go's `%q` of a string slice: `["a" "b"]`.
fn go_quoted_list(list: &[String]) -> String {
    format!("[{}]", list.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(" "))
}

/// Go's `time.Duration.String()` for whole seconds: "1h0m0s", "2m5s", "30s".
fn go_duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

/// RFC 3339 with trimmed nanoseconds, as Go's `time.Time` in JSON; `None` is Go's zero time.
fn format_time(nanos: Option<i64>) -> String {
    nanos
        .and_then(|n| OffsetDateTime::from_unix_timestamp_nanos(i128::from(n)).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "0001-01-01T00:00:00Z".to_string())
}

/// Secret-ID metadata as OpenBao's `strutil.ParseArbitraryKeyValues`: a JSON object of strings,
/// the same base64-encoded, or `k=v` pairs separated by commas.
fn parse_metadata(input: Option<&str>) -> std::result::Result<BTreeMap<String, String>, String> {
    let Some(input) = input.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(BTreeMap::new());
    };
    if let Ok(map) = serde_json::from_str::<BTreeMap<String, String>>(input) {
        return Ok(map);
    }
    if let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(input) {
        if let Ok(map) = serde_json::from_slice::<BTreeMap<String, String>>(&decoded) {
            return Ok(map);
        }
    }
    let mut map = BTreeMap::new();
    for pair in input.split(',') {
        let (k, v) = pair.split_once('=').ok_or("failed to parse the input: invalid <key,value> format")?;
        map.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(map)
}

enum Route<'a> {
    Login,
    Tidy,
    RoleList,
    Role(&'a str),
    RoleId(&'a str),
    SecretId(&'a str),
    SecretIdLookup(&'a str),
    SecretIdDestroy(&'a str),
    AccessorLookup(&'a str),
    AccessorDestroy(&'a str),
    CustomSecretId(&'a str),
    LocalSecretIds(&'a str),
    Field(&'a str, Field),
}

fn route(path: &str) -> Result<Route<'_>> {
    let segs: Vec<&str> = path.split('/').collect();
    let r = match segs.as_slice() {
        ["login"] => Route::Login,
        ["tidy", "secret-id"] => Route::Tidy,
        ["role"] | ["role", ""] => Route::RoleList,
        ["role", n] if valid_name(n) => Route::Role(n),
        ["role", n, "role-id"] if valid_name(n) => Route::RoleId(n),
        ["role", n, "secret-id"] | ["role", n, "secret-id", ""] if valid_name(n) => Route::SecretId(n),
        ["role", n, "secret-id", "lookup"] if valid_name(n) => Route::SecretIdLookup(n),
        ["role", n, "secret-id", "destroy"] if valid_name(n) => Route::SecretIdDestroy(n),
        ["role", n, "secret-id-accessor", "lookup"] if valid_name(n) => Route::AccessorLookup(n),
        ["role", n, "secret-id-accessor", "destroy"] if valid_name(n) => Route::AccessorDestroy(n),
        ["role", n, "custom-secret-id"] if valid_name(n) => Route::CustomSecretId(n),
        ["role", n, "local-secret-ids"] if valid_name(n) => Route::LocalSecretIds(n),
        ["role", n, f] if valid_name(n) => match Field::from_segment(f) {
            Some(field) => Route::Field(n, field),
            None => return Err(LogicalError::UnsupportedPath),
        },
        _ => return Err(LogicalError::UnsupportedPath),
    };
    Ok(r)
}

fn is_write(op: Operation) -> bool {
    matches!(op, Operation::Create | Operation::Update)
}

#[async_trait]
impl LogicalBackend for AppRole {
    fn kind(&self) -> &'static str {
        "approle"
    }

    async fn handle(&self, req: &Request, storage: &View) -> Result<Response> {
        use Operation::*;
        let op = req.operation;
        match route(&req.path)? {
            Route::Login if is_write(op) => self.login(req, storage).await,
            Route::Tidy if is_write(op) => self.tidy(storage).await,
            Route::RoleList if op == List => list_response(storage.list(ROLE_PREFIX).await?),
            Route::Role(n) if is_write(op) => self.write_role(req, storage, n).await,
            Route::Role(n) if op == Read => self.read_role(storage, n).await,
            Route::Role(n) if op == Delete => self.delete_role(storage, n).await,
            Route::RoleId(n) if op == Read => {
                let role = self.load_role(storage, n).await?.ok_or(LogicalError::NotFound)?;
                let mut data = Map::new();
                data.insert("role_id".into(), json!(role.role_id));
                Ok(Response::data(data))
            }
            Route::RoleId(n) if is_write(op) => self.update_role_id(req, storage, n).await,
            Route::SecretId(n) if is_write(op) => {
                let generated = SecretString::new(uuid::Uuid::new_v4().to_string());
                self.create_secret_id(req, storage, n, generated).await
            }
            Route::SecretId(n) if op == List => self.list_secret_ids(storage, n).await,
            Route::CustomSecretId(n) if is_write(op) => {
                let custom = field_string(req, "secret_id")?.unwrap_or_default();
                self.create_secret_id(req, storage, n, SecretString::new(custom)).await
            }
            Route::SecretIdLookup(n) if is_write(op) => self.lookup_secret_id(req, storage, n).await,
            Route::SecretIdDestroy(n) if is_write(op) || op == Delete => self.destroy_secret_id(req, storage, n).await,
            Route::AccessorLookup(n) if is_write(op) => self.lookup_accessor(req, storage, n).await,
            Route::AccessorDestroy(n) if is_write(op) || op == Delete => self.destroy_accessor(req, storage, n).await,
            Route::LocalSecretIds(n) if op == Read => {
                let role = self.load_role(storage, n).await?.ok_or(LogicalError::NotFound)?;
                let mut data = Map::new();
                data.insert("local_secret_ids".into(), json!(role.local_secret_ids));
                Ok(Response::data(data))
            }
            Route::Field(n, f) if op == Read => self.read_field(storage, n, f).await,
            Route::Field(n, f) if is_write(op) => self.write_field(req, storage, n, f).await,
            Route::Field(n, f) if op == Delete => self.delete_field(storage, n, f).await,
            _ => Err(LogicalError::UnsupportedOperation),
        }
    }

    async fn exists(&self, req: &Request, storage: &View) -> Result<Option<bool>> {
        match route(&req.path) {
            Ok(Route::Role(n)) => Ok(Some(self.load_role(storage, n).await?.is_some())),
            _ => Ok(None),
        }
    }

    fn unauthenticated_paths(&self) -> &'static [&'static str] {
        &["login"]
    }

    /// The role must still exist; TTLs and period are taken from the role as it is now.
    async fn renew_auth(&self, auth: &Auth, storage: &View) -> Result<Auth> {
        let name = auth
            .internal_data
            .get("role_name")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| internal("failed to fetch role_name during renewal"))?;
        let role = self
            .load_role(storage, name)
            .await?
            .ok_or_else(|| internal(format!("role {name:?} does not exist during renewal")))?;
        let mut renewed = auth.clone();
        renewed.ttl = Duration::from_secs(role.token.token_ttl);
        renewed.max_ttl = Duration::from_secs(role.token.token_max_ttl);
        renewed.period = Duration::from_secs(role.token.token_period);
        Ok(renewed)
    }

    async fn initialize(&self, storage: &View) -> Result<()> {
        self.salt(storage).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_accepts_json_base64_and_pairs() {
        let want: BTreeMap<String, String> = [("a".to_string(), "b".to_string())].into();
        assert_eq!(parse_metadata(Some(r#"{"a":"b"}"#)), Ok(want.clone()));
        assert_eq!(parse_metadata(Some("eyJhIjoiYiJ9")), Ok(want.clone()));
        assert_eq!(parse_metadata(Some("a=b")), Ok(want));
        assert_eq!(
            parse_metadata(Some("notjson")),
            Err("failed to parse the input: invalid <key,value> format".to_string())
        );
        assert_eq!(parse_metadata(None), Ok(BTreeMap::new()));
    }

    #[test]
    fn times_and_durations_print_like_go() {
        assert_eq!(format_time(None), "0001-01-01T00:00:00Z");
        assert_eq!(format_time(Some(1_795_836_877_195_049_372)), "2026-11-28T03:34:37.195049372Z");
        assert_eq!(go_duration(3600), "1h0m0s");
        assert_eq!(go_duration(125), "2m5s");
        assert_eq!(go_duration(0), "0s");
    }
}
