//! The `userpass` auth method: users with a password and token parameters, and
//! `login/<username>`.
//!
//! Storage (under the mount's view): `user/<lower-cased name>` → a JSON [`UserEntry`]. The
//! password is never stored: only its Argon2id hash in PHC form
//! (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`).
//!
//! Differences from OpenBao, on purpose:
//! - OpenBao hashes with bcrypt; Coffer with Argon2id (memory-hard; see [`PasswordCost`]).
//!   `password_hash` therefore takes an Argon2id PHC string, not a bcrypt hash.
//! - Renewing a token whose user was deleted fails with an error (OpenBao answers 204 and
//!   leaves the token unrenewed).
use crate::cidr;
use crate::token_params::{
    bad, equivalent_policies, field_duration, field_string, field_string_list, internal, parse_policies, upgrade,
    TokenParams,
};
use crate::util::{get_json, list_response, put_json, valid_name};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use coffer_hardening::secret::SecretString;
use coffer_logical::{Auth, LogicalBackend, LogicalError, Operation, Request, Response, Result, View};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::time::Duration;
use tokio::sync::OnceCell;

const USER_PREFIX: &str = "user/";
const INVALID_CREDENTIALS: &str = "invalid username or password";

/// Argon2id cost of new password hashes. The stored hash records its own parameters, so
/// changing the cost affects only hashes made afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCost {
    /// Memory per hash, KiB.
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl PasswordCost {
    /// OWASP's first Argon2id configuration (19 MiB, 2 passes, 1 lane): about 40 ms per hash
    /// on one core of the reference machine in a release build.
    pub const RECOMMENDED: PasswordCost = PasswordCost { memory_kib: 19 * 1024, iterations: 2, parallelism: 1 };

    /// Largest cost accepted in a caller-supplied `password_hash`, so one hash cannot make
    /// every login of that user a denial of service.
    const MAX_MEMORY_KIB: u32 = 256 * 1024;
    const MAX_ITERATIONS: u32 = 16;
    const MAX_PARALLELISM: u32 = 16;

    fn params(&self) -> Result<Params> {
        Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| internal(format!("invalid argon2 parameters: {e}")))
    }
}

impl Default for PasswordCost {
    fn default() -> Self {
        Self::RECOMMENDED
    }
}

/// One user. Holds a password hash: no `Debug`.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UserEntry {
    #[serde(flatten)]
    pub token: TokenParams,
    /// Argon2id, PHC string format.
    pub password_hash: String,
    /// Deprecated forms of the token_* fields, kept so reads show them as OpenBao does.
    pub policies: Vec<String>,
    pub ttl: u64,
    pub max_ttl: u64,
    pub bound_cidrs: Vec<String>,
}

impl UserEntry {
    /// Fills token_* fields from their deprecated forms (OpenBao's read-time upgrade).
    fn upgraded(mut self) -> Self {
        if self.token.token_ttl == 0 && self.ttl > 0 {
            self.token.token_ttl = self.ttl;
        }
        if self.token.token_max_ttl == 0 && self.max_ttl > 0 {
            self.token.token_max_ttl = self.max_ttl;
        }
        if self.token.token_policies.is_empty() && !self.policies.is_empty() {
            self.token.token_policies = self.policies.clone();
        }
        if self.token.token_bound_cidrs.is_empty() && !self.bound_cidrs.is_empty() {
            self.token.token_bound_cidrs = self.bound_cidrs.clone();
        }
        self
    }
}

/// The userpass backend. Build it with [`crate::userpass()`] or [`crate::userpass_with_cost`].
pub struct Userpass {
    cost: PasswordCost,
    /// A hash of a random password, checked against when the user does not exist so the
    /// answer takes as long as for a real user.
    dummy_hash: OnceCell<String>,
}

impl Userpass {
    pub fn new(cost: PasswordCost) -> Self {
        Userpass { cost, dummy_hash: OnceCell::new() }
    }

    async fn load(&self, view: &View, username: &str) -> Result<Option<UserEntry>> {
        Ok(get_json::<UserEntry>(view, &user_key(username)).await?.map(UserEntry::upgraded))
    }

    async fn dummy_hash(&self) -> Result<String> {
        self.dummy_hash
            .get_or_try_init(|| async {
                let mut random = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut random);
                hash_password(self.cost, SecretString::new(hex::encode(random))).await
            })
            .await
            .cloned()
    }

    /// Sets the user's hash from `password` or a supplied `password_hash` (exactly one).
    async fn set_password(
        &self,
        user: &mut UserEntry,
        password: Option<SecretString>,
        password_hash: Option<String>,
    ) -> Result<()> {
        match (password, password_hash) {
            (Some(_), Some(_)) => Err(bad("only one of password or password_hash may be provided")),
            (Some(pw), None) => {
                user.password_hash = hash_password(self.cost, pw).await?;
                Ok(())
            }
            (None, Some(h)) => {
                check_supplied_hash(&h)?;
                user.password_hash = h;
                Ok(())
            }
            (None, None) => Err(bad("must provide either password or password_hash")),
        }
    }

    async fn write_user(&self, req: &Request, view: &View, name: &str) -> Result<Response> {
        let username = name.to_lowercase();
        let existing = self.load(view, &username).await?;
        let creating = existing.is_none();
        let mut user = existing.unwrap_or_default();

        let mut token = user.token.clone();
        token.parse(req)?;
        user.token = token;

        let password = field_string(req, "password")?.filter(|p| !p.is_empty()).map(SecretString::new);
        let password_hash = field_string(req, "password_hash")?.filter(|p| !p.is_empty());
        if creating || password.is_some() || password_hash.is_some() {
            self.set_password(&mut user, password, password_hash).await?;
        }

        upgrade_legacy_fields(req, &mut user)?;
        put_json(view, &user_key(&username), &user).await?;
        Ok(Response::no_content())
    }

    async fn read_user(&self, view: &View, name: &str) -> Result<Response> {
        let user = self.load(view, &name.to_lowercase()).await?.ok_or(LogicalError::NotFound)?;
        let mut data = Map::new();
        user.token.populate(&mut data);
        if user.ttl > 0 {
            data.insert("ttl".into(), json!(user.ttl));
        }
        if user.max_ttl > 0 {
            data.insert("max_ttl".into(), json!(user.max_ttl));
        }
        if !user.policies.is_empty() {
            data.insert("policies".into(), json!(user.token.token_policies));
        }
        if !user.bound_cidrs.is_empty() {
            data.insert("bound_cidrs".into(), json!(user.bound_cidrs));
        }
        Ok(Response::data(data))
    }

    async fn update_password(&self, req: &Request, view: &View, name: &str) -> Result<Response> {
        let username = name.to_lowercase();
        let mut user = self.load(view, &username).await?.ok_or_else(|| internal("username does not exist"))?;
        let password = field_string(req, "password")?.filter(|p| !p.is_empty()).map(SecretString::new);
        let password_hash = field_string(req, "password_hash")?.filter(|p| !p.is_empty());
        self.set_password(&mut user, password, password_hash).await?;
        put_json(view, &user_key(&username), &user).await?;
        Ok(Response::no_content())
    }

    async fn update_policies(&self, req: &Request, view: &View, name: &str) -> Result<Response> {
        let username = name.to_lowercase();
        let mut user = self.load(view, &username).await?.ok_or_else(|| internal("username does not exist"))?;
        let new = field_string_list(req, "token_policies")?;
        let new_given = new.is_some();
        if let Some(p) = new {
            user.token.token_policies = p;
        }
        let old = field_string_list(req, "policies")?.map(parse_policies);
        upgrade(old, new_given, &mut user.policies, &mut user.token.token_policies);
        put_json(view, &user_key(&username), &user).await?;
        Ok(Response::no_content())
    }

    async fn login(&self, req: &Request, view: &View, name: &str) -> Result<Response> {
        let username = name.to_lowercase();
        // OpenBao answers a missing password with a 500.
        let password = field_string(req, "password")?
            .filter(|p| !p.is_empty())
            .map(SecretString::new)
            .ok_or_else(|| internal("missing password"))?;

        // Always run one hash comparison, against a dummy when the user is unknown or
        // unreadable, so the time taken does not tell whether the user exists.
        let loaded = self.load(view, &username).await;
        let (hash, user) = match loaded {
            Ok(Some(user)) => (user.password_hash.clone(), Some(user)),
            Ok(None) | Err(_) => (self.dummy_hash().await?, None),
        };
        let matches = verify_password(password, hash).await;
        let user = match (matches, user) {
            (true, Some(user)) => user,
            _ => return Err(bad(INVALID_CREDENTIALS)),
        };

        if !user.token.token_bound_cidrs.is_empty() {
            match req.remote_addr {
                Some(ip) if cidr::contains(&user.token.token_bound_cidrs, ip) => {}
                _ => return Err(LogicalError::PermissionDenied),
            }
        }

        let mut auth = user.token.to_auth(req.remote_addr)?;
        auth.metadata.insert("username".into(), username.clone());
        auth.display_name = username.clone();
        auth.internal_data.insert("username".into(), Value::String(username));
        Ok(Response { auth: Some(auth), ..Default::default() })
    }
}

fn user_key(username: &str) -> String {
    format!("{USER_PREFIX}{}", username.to_lowercase())
}

/// Applies the deprecated `policies`, `ttl`, `max_ttl` and `bound_cidrs` fields.
fn upgrade_legacy_fields(req: &Request, user: &mut UserEntry) -> Result<()> {
    let given = |name: &str| req.get(name).is_some_and(|v| !v.is_null());

    let old = field_string_list(req, "policies")?.map(parse_policies);
    upgrade(old, given("token_policies"), &mut user.policies, &mut user.token.token_policies);

    let old = field_duration(req, "ttl")?;
    upgrade(old, given("token_ttl"), &mut user.ttl, &mut user.token.token_ttl);

    let old = field_duration(req, "max_ttl")?;
    upgrade(old, given("token_max_ttl"), &mut user.max_ttl, &mut user.token.token_max_ttl);

    let old = match field_string_list(req, "bound_cidrs")? {
        Some(list) => Some(cidr::parse_addrs(&list).map_err(bad)?),
        None => None,
    };
    upgrade(old, given("token_bound_cidrs"), &mut user.bound_cidrs, &mut user.token.token_bound_cidrs);
    Ok(())
}

/// Accepts a caller-supplied hash only if it is Argon2id in PHC form with a bounded cost.
fn check_supplied_hash(phc: &str) -> Result<()> {
    let invalid = || bad("password_hash is not a valid argon2id hash");
    let parsed = PasswordHash::new(phc).map_err(|_| invalid())?;
    if parsed.algorithm != argon2::ARGON2ID_IDENT || parsed.hash.is_none() || parsed.salt.is_none() {
        return Err(invalid());
    }
    let params = Params::try_from(&parsed).map_err(|_| invalid())?;
    if params.m_cost() > PasswordCost::MAX_MEMORY_KIB
        || params.t_cost() > PasswordCost::MAX_ITERATIONS
        || params.p_cost() > PasswordCost::MAX_PARALLELISM
    {
        return Err(bad("password_hash cost exceeds the accepted maximum (m=262144, t=16, p=16)"));
    }
    Ok(())
}

/// Hashes on the blocking pool: an Argon2 hash takes tens of milliseconds of CPU.
async fn hash_password(cost: PasswordCost, password: SecretString) -> Result<String> {
    let params = cost.params()?;
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| internal(format!("salt encoding failed: {e}")))?;
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| internal(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| internal(format!("password hashing task failed: {e}")))?
}

/// Checks `password` against a PHC hash, with the hash's own parameters. The final comparison
/// is constant-time (password-hash compares outputs with `subtle`).
async fn verify_password(password: SecretString, phc: String) -> bool {
    tokio::task::spawn_blocking(move || match PasswordHash::new(&phc) {
        Ok(parsed) => Argon2::default().verify_password(password.expose().as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    })
    .await
    .unwrap_or(false)
}

enum Route<'a> {
    List,
    User(&'a str),
    Password(&'a str),
    Policies(&'a str),
    Login(&'a str),
}

fn route(path: &str) -> Result<Route<'_>> {
    let segs: Vec<&str> = path.split('/').collect();
    match segs.as_slice() {
        ["users"] | ["users", ""] => Ok(Route::List),
        ["users", name] if valid_name(name) => Ok(Route::User(name)),
        ["users", name, "password"] if valid_name(name) => Ok(Route::Password(name)),
        ["users", name, "policies"] if valid_name(name) => Ok(Route::Policies(name)),
        ["login", name] if valid_name(name) => Ok(Route::Login(name)),
        _ => Err(LogicalError::UnsupportedPath),
    }
}

fn is_write(op: Operation) -> bool {
    matches!(op, Operation::Create | Operation::Update)
}

#[async_trait]
impl LogicalBackend for Userpass {
    fn kind(&self) -> &'static str {
        "userpass"
    }

    async fn handle(&self, req: &Request, storage: &View) -> Result<Response> {
        let op = req.operation;
        match route(&req.path)? {
            Route::List if op == Operation::List => list_response(storage.list(USER_PREFIX).await?),
            Route::User(name) if is_write(op) => self.write_user(req, storage, name).await,
            Route::User(name) if op == Operation::Read => self.read_user(storage, name).await,
            Route::User(name) if op == Operation::Delete => {
                storage.delete(&user_key(name)).await?;
                Ok(Response::no_content())
            }
            Route::Password(name) if is_write(op) => self.update_password(req, storage, name).await,
            Route::Policies(name) if is_write(op) => self.update_policies(req, storage, name).await,
            Route::Login(name) if is_write(op) => self.login(req, storage, name).await,
            _ => Err(LogicalError::UnsupportedOperation),
        }
    }

    async fn exists(&self, req: &Request, storage: &View) -> Result<Option<bool>> {
        match route(&req.path) {
            Ok(Route::User(name)) => Ok(Some(self.load(storage, &name.to_lowercase()).await?.is_some())),
            _ => Ok(None),
        }
    }

    fn unauthenticated_paths(&self) -> &'static [&'static str] {
        &["login/*"]
    }

    /// The user must still exist and hold the same policies; TTLs and period are taken from
    /// the user as it is now.
    async fn renew_auth(&self, auth: &Auth, storage: &View) -> Result<Auth> {
        let username = auth
            .internal_data
            .get("username")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| auth.metadata.get("username").cloned())
            .ok_or_else(|| internal("failed to fetch username during renewal"))?;
        let user = self
            .load(storage, &username)
            .await?
            .ok_or_else(|| bad(format!("user {username:?} no longer exists, not renewing")))?;
        if !equivalent_policies(&user.token.token_policies, &auth.policies) {
            return Err(internal("policies have changed, not renewing"));
        }
        let mut renewed = auth.clone();
        renewed.period = Duration::from_secs(user.token.token_period);
        renewed.ttl = Duration::from_secs(user.token.token_ttl);
        renewed.max_ttl = Duration::from_secs(user.token.token_max_ttl);
        Ok(renewed)
    }
}
