//! The token store, after OpenBao 2.7.2's: service tokens (`s.` + 24 base62 characters) kept
//! only by their salted HMAC, accessors indexed to that HMAC, batch tokens (`b.` + the entry
//! sealed with AES-256-GCM, never persisted), the parent/child tree with crash-safe revocation,
//! TTLs, periods and use counts, roles, and the `auth/token/*` endpoints.
//!
//! Storage layout, all under the store's barrier [`View`] (keys never contain a token):
//! - `salt`, `batch-key`: the HMAC key and the batch-token key (32 random bytes each);
//! - `id/<hash>`: the [`TokenEntry`] as JSON;
//! - `accessor/<accessor>`: the hash of the accessor's token;
//! - `parent/<parent hash>/<child hash>`: the tree (empty values);
//! - `expiry/<unix nanos, 20 digits>-<hash>`: the expiry index, read in order by [`TokenStore::expire_due`];
//! - `revoking/<hash>`: a revocation under way ("tree" or "orphan"), resumed after a crash;
//! - `roles/<name>`: the roles.
//!
//! Revocation: the root of a revocation is marked (entry flagged, `revoking/` written, in one
//! transaction), then the tree is walked depth first, each token marked before its children are
//! listed (so no child can be created under it any more) and deleted only after all its children
//! are; [`TokenHooks::on_revoke`] runs before each deletion. A crash leaves the marker and the
//! still-connected rest of the tree; [`TokenStore::load`] and [`TokenStore::expire_due`] finish it.
#![forbid(unsafe_code)]

mod batch;
mod clock;
mod entry;
mod error;
mod handler;
mod policy;
mod role;
mod ttl;

pub use clock::{Clock, ManualClock, SystemClock};
pub use entry::{AuthBlock, Issued, LeaseTimes, LoginData, Revoked, TokenEntry, TokenType};
pub use error::{Result, TokenError};
pub use handler::{Caller, TokenReply};
pub use role::{Role, RoleTokenType};

use aes_gcm::{Aes256Gcm, KeyInit};
use async_trait::async_trait;
use coffer_hardening::secret::{Key256, SecretString};
use coffer_logical::{Auth, MountInfo, View};
use coffer_storage::barrier::BarrierOp;
use hmac::{Hmac, Mac};
use rand::distributions::{Alphanumeric, DistString};
use sha2::Sha256;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use time::OffsetDateTime;
use ttl::{nanos, trunc_secs, SysView, NANOS};

/// OpenBao's token length, without prefix.
const TOKEN_LEN: usize = 24;
const SALT_PATH: &str = "salt";
const BATCH_KEY_PATH: &str = "batch-key";
/// Entries held in memory before the cache is dropped and refilled.
const CACHE_CAP: usize = 100_000;
const STRIPES: usize = 64;
const EXPIRY_PAGE: usize = 256;

fn id_key(h: &str) -> String {
    format!("id/{h}")
}
fn accessor_key(a: &str) -> String {
    format!("accessor/{a}")
}
fn parent_key(p: &str, c: &str) -> String {
    format!("parent/{p}/{c}")
}
fn expiry_key(at: i64, h: &str) -> String {
    format!("expiry/{:020}-{h}", at.max(0))
}
fn pending_key(h: &str) -> String {
    format!("revoking/{h}")
}
pub(crate) fn role_key(n: &str) -> String {
    format!("roles/{n}")
}

fn base62() -> String {
    Alphanumeric.sample_string(&mut rand::rngs::OsRng, TOKEN_LEN)
}

/// The token mount's lease settings (OpenBao's system view for `auth/token/`).
#[derive(Debug, Clone, Copy)]
pub struct TokenConfig {
    /// TTL of tokens created without one (OpenBao: 768h).
    pub default_ttl: Duration,
    /// Cap on every token's TTL (OpenBao: 768h).
    pub max_ttl: Duration,
}

impl Default for TokenConfig {
    fn default() -> Self {
        TokenConfig { default_ttl: Duration::from_secs(768 * 3600), max_ttl: Duration::from_secs(768 * 3600) }
    }
}

/// What the core plugs into the store.
#[async_trait]
pub trait TokenHooks: Send + Sync + 'static {
    /// Called for each revoked token after it is marked (no lookup finds it) and before its
    /// records are deleted: destroy its cubbyhole, revoke its leases. Must be idempotent: after
    /// an error (or a crash) the revocation stays pending and is retried, with this call again.
    /// Must not call the store's revocation functions (they hold the revocation lock).
    async fn on_revoke(&self, _revoked: &Revoked) -> std::result::Result<(), String> {
        Ok(())
    }

    /// Whether a policy exists, for OpenBao's `Policy "x" does not exist` warnings on create.
    /// `None`: unknown (no warning).
    async fn policy_exists(&self, _name: &str) -> Option<bool> {
        None
    }

    /// Renewal of a token an auth method issued: ask the method (its `renew_auth`). Called
    /// without any store lock held.
    async fn renew_auth(&self, _mount_path: &str, auth: &Auth) -> coffer_logical::Result<Auth> {
        Ok(auth.clone())
    }
}

struct NoHooks;
impl TokenHooks for NoHooks {}

/// A token to create, with every decision already taken (the `auth/token/create` handler and
/// [`TokenStore::from_auth`] take them; the core can use this directly, e.g. for wrapping tokens).
#[derive(Default)]
pub struct CreateRequest {
    /// A chosen token value (sudo only in the handler); `None` generates `s.` + 24 base62.
    pub id: Option<SecretString>,
    /// Stored sanitized (lowercase, sorted, unique); "default" is not added here.
    pub policies: Vec<String>,
    pub path: String,
    pub display_name: String,
    pub meta: Option<BTreeMap<String, String>>,
    pub num_uses: i64,
    /// Zero: the token never expires.
    pub ttl: Duration,
    pub explicit_max_ttl: Duration,
    pub period: Duration,
    pub renewable: bool,
    pub token_type: TokenType,
    pub role: String,
    pub entity_id: String,
    pub bound_cidrs: Vec<String>,
    /// No parent link even if a parent is given.
    pub orphan: bool,
}

impl std::fmt::Debug for CreateRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateRequest")
            .field("id", &self.id.as_ref().map(|_| "<redacted>"))
            .field("policies", &self.policies)
            .field("path", &self.path)
            .field("ttl", &self.ttl)
            .field("token_type", &self.token_type)
            .finish_non_exhaustive()
    }
}

/// The result of a renewal: the updated entry and OpenBao's warnings.
#[derive(Debug)]
pub struct Renewed {
    pub entry: TokenEntry,
    pub warnings: Vec<String>,
}

/// What [`TokenStore::tidy`] cleaned.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TidyStats {
    pub parent_links_removed: u64,
    pub children_orphaned: u64,
    pub accessors_removed: u64,
    pub expiry_entries_removed: u64,
    pub revocations_resumed: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Tree,
    Orphan,
}

impl Mode {
    fn as_bytes(self) -> &'static [u8] {
        match self {
            Mode::Tree => b"tree",
            Mode::Orphan => b"orphan",
        }
    }
}

struct Keys {
    salt: Key256,
    cipher: Aes256Gcm,
}

struct Inner {
    view: View,
    config: TokenConfig,
    clock: Arc<dyn Clock>,
    hooks: RwLock<Arc<dyn TokenHooks>>,
    keys: RwLock<Option<Arc<Keys>>>,
    cache: RwLock<HashMap<String, TokenEntry>>,
    /// Per-token locks (by hash): writers of an entry take them exclusively; creating a child
    /// takes the parent's shared, so a parent's revocation mark and its children's creation
    /// are ordered while siblings are created in parallel.
    stripes: Vec<tokio::sync::RwLock<()>>,
    /// Serializes revocations (tree walks, expiry, tidy).
    revocation: tokio::sync::Mutex<()>,
    tidy: tokio::sync::Mutex<()>,
}

/// The token store. Cheap to clone (shared state).
#[derive(Clone)]
pub struct TokenStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenStore")
            .field("view", &self.inner.view)
            .field("config", &self.inner.config)
            .field("loaded", &self.keys().is_ok())
            .finish_non_exhaustive()
    }
}

fn lock_read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}
fn lock_write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

fn decode(raw: &[u8]) -> Result<TokenEntry> {
    serde_json::from_slice(raw).map_err(|e| TokenError::internal(format!("failed to decode token entry: {e}")))
}
fn encode(e: &TokenEntry) -> Result<Vec<u8>> {
    serde_json::to_vec(e).map_err(|e| TokenError::internal(format!("failed to encode token entry: {e}")))
}

impl TokenStore {
    /// A store over `view` (the core gives it e.g. `sys/token/`). Call [`TokenStore::load`]
    /// after every unseal before using it.
    pub fn new(view: View, config: TokenConfig) -> Self {
        TokenStore {
            inner: Arc::new(Inner {
                view,
                config,
                clock: Arc::new(SystemClock),
                hooks: RwLock::new(Arc::new(NoHooks)),
                keys: RwLock::new(None),
                cache: RwLock::new(HashMap::new()),
                stripes: (0..STRIPES).map(|_| tokio::sync::RwLock::new(())).collect(),
                revocation: tokio::sync::Mutex::new(()),
                tidy: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The same store reading time from `clock` (tests). Call before sharing the store.
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        match Arc::try_unwrap(self.inner) {
            Ok(mut inner) => {
                inner.clock = clock;
                TokenStore { inner: Arc::new(inner) }
            }
            Err(inner) => {
                tracing::warn!("with_clock on a shared token store is ignored");
                TokenStore { inner }
            }
        }
    }

    pub fn set_hooks(&self, hooks: Arc<dyn TokenHooks>) {
        *lock_write(&self.inner.hooks) = hooks;
    }

    fn hooks(&self) -> Arc<dyn TokenHooks> {
        lock_read(&self.inner.hooks).clone()
    }

    pub fn config(&self) -> TokenConfig {
        self.inner.config
    }

    fn view(&self) -> &View {
        &self.inner.view
    }

    pub(crate) fn now(&self) -> i64 {
        nanos(self.inner.clock.now())
    }

    pub(crate) fn sys_view(&self) -> SysView {
        SysView {
            default_ttl: self.inner.config.default_ttl.as_secs() as i64,
            max_ttl: self.inner.config.max_ttl.as_secs() as i64,
        }
    }

    fn keys(&self) -> Result<Arc<Keys>> {
        lock_read(&self.inner.keys).clone().ok_or(TokenError::Storage(coffer_storage::StorageError::Sealed))
    }

    fn stripe(&self, hash: &str) -> &tokio::sync::RwLock<()> {
        let idx = u8::from_str_radix(hash.get(..2).unwrap_or("00"), 16).unwrap_or(0) as usize % STRIPES;
        &self.inner.stripes[idx]
    }

    async fn key_material(&self, path: &str) -> Result<Key256> {
        if let Some(raw) = self.view().get(path).await? {
            return Key256::from_slice(&raw)
                .ok_or_else(|| TokenError::internal(format!("stored {path} has the wrong length")));
        }
        let k = Key256::generate();
        self.view().put(path, k.expose()).await?;
        Ok(k)
    }

    /// Loads (or on first use creates) the salt and the batch-token key, empties the cache, and
    /// finishes revocations a crash interrupted. Call after every unseal.
    pub async fn load(&self) -> Result<Vec<Revoked>> {
        let salt = self.key_material(SALT_PATH).await?;
        let bkey = self.key_material(BATCH_KEY_PATH).await?;
        let cipher = Aes256Gcm::new_from_slice(bkey.expose()).map_err(|_| TokenError::internal("bad batch key"))?;
        *lock_write(&self.inner.keys) = Some(Arc::new(Keys { salt, cipher }));
        self.clear_cache();
        let _g = self.inner.revocation.lock().await;
        self.resume_pending_locked().await
    }

    /// Forgets the keys and the cache (on seal, or when losing leadership).
    pub fn unload(&self) {
        *lock_write(&self.inner.keys) = None;
        self.clear_cache();
    }

    /// Drops every cached entry (e.g. when another node may have written).
    pub fn clear_cache(&self) {
        lock_write(&self.inner.cache).clear();
    }

    /// The storage key of a token: hex HMAC-SHA256 under the store's salt.
    fn hash(&self, token: &str) -> Result<String> {
        let keys = self.keys()?;
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(keys.salt.expose()).map_err(|_| TokenError::internal("bad salt"))?;
        mac.update(token.as_bytes());
        Ok(hex::encode(mac.finalize().into_bytes()))
    }

    // ----- storage primitives ------------------------------------------------------------

    /// The stored entry, whatever its state (revoking, expired).
    async fn load_entry(&self, hash: &str) -> Result<Option<TokenEntry>> {
        match self.view().get(&id_key(hash)).await? {
            Some(raw) => decode(&raw).map(Some),
            None => Ok(None),
        }
    }

    fn cache_put(&self, e: &TokenEntry) {
        let mut c = lock_write(&self.inner.cache);
        if c.len() >= CACHE_CAP {
            c.clear();
        }
        c.insert(e.hash.clone(), e.clone());
    }

    fn cache_drop(&self, hash: &str) {
        lock_write(&self.inner.cache).remove(hash);
    }

    /// A live service token's entry by hash: cached, else read; revoking or expired is `None`.
    async fn lookup_hash(&self, hash: &str) -> Result<Option<TokenEntry>> {
        let now = self.now();
        let cached = lock_read(&self.inner.cache).get(hash).cloned();
        let entry = match cached {
            Some(e) => e,
            None => match self.load_entry(hash).await? {
                Some(e) => {
                    if !e.revoking {
                        self.cache_put(&e);
                    }
                    e
                }
                None => return Ok(None),
            },
        };
        if entry.revoking || entry.expired_at(now) {
            return Ok(None);
        }
        Ok(Some(entry))
    }

    fn lookup_batch(&self, token: &str) -> Result<Option<TokenEntry>> {
        let keys = self.keys()?;
        Ok(batch::open(&keys.cipher, token).filter(|e| !e.expired_at(self.now())))
    }

    // ----- lookups -----------------------------------------------------------------------

    /// The entry of a live token (service or batch), or `None`: unknown, revoked, expired, a
    /// batch token whose tag does not verify or whose parent is gone. Service tokens are found
    /// by hash only (memory cache, then storage).
    pub async fn lookup(&self, token: &str) -> Result<Option<TokenEntry>> {
        if token.is_empty() {
            return Ok(None);
        }
        if token.starts_with(batch::PREFIX) {
            let Some(e) = self.lookup_batch(token)? else { return Ok(None) };
            if let Some(p) = &e.parent {
                if self.lookup_hash(p).await?.is_none() {
                    return Ok(None);
                }
            }
            return Ok(Some(e));
        }
        let h = self.hash(token)?;
        self.lookup_hash(&h).await
    }

    /// The entry of a live token by accessor.
    pub async fn lookup_accessor(&self, accessor: &str) -> Result<Option<TokenEntry>> {
        match self.accessor_hash(accessor).await? {
            Some(h) => self.lookup_hash(&h).await,
            None => Ok(None),
        }
    }

    async fn accessor_hash(&self, accessor: &str) -> Result<Option<String>> {
        if accessor.is_empty() || accessor.contains('/') || accessor == "." || accessor == ".." {
            return Ok(None);
        }
        Ok(self.view().get(&accessor_key(accessor)).await?.map(|raw| String::from_utf8_lossy(&raw).into_owned()))
    }

    /// Every accessor in the index (LIST `auth/token/accessors`).
    pub async fn accessors(&self) -> Result<Vec<String>> {
        Ok(self.view().list("accessor/").await?)
    }

    /// A lookup that counts a use: a token with `num_uses` left has one taken. On its last use
    /// the entry comes back with `num_uses == -1`, no later lookup finds the token, and its
    /// revocation is queued: [`TokenStore::finish_use`] after the request (so the request can
    /// still see its cubbyhole) or, at the latest, the next [`TokenStore::expire_due`].
    pub async fn use_token(&self, token: &str) -> Result<Option<TokenEntry>> {
        let Some(entry) = self.lookup(token).await? else { return Ok(None) };
        if entry.is_batch() || entry.num_uses == 0 {
            return Ok(Some(entry));
        }
        let _g = self.stripe(&entry.hash).write().await;
        let Some(mut fresh) = self.load_entry(&entry.hash).await? else { return Ok(None) };
        if fresh.revoking || fresh.expired_at(self.now()) || fresh.num_uses <= 0 {
            return Ok(None);
        }
        if fresh.num_uses == 1 {
            fresh.num_uses = -1;
            fresh.revoking = true;
            self.view()
                .transaction(vec![
                    BarrierOp::Put { path: id_key(&fresh.hash), value: encode(&fresh)? },
                    BarrierOp::Put { path: pending_key(&fresh.hash), value: Mode::Tree.as_bytes().to_vec() },
                ])
                .await?;
            self.cache_drop(&fresh.hash);
        } else {
            fresh.num_uses -= 1;
            self.view().put(&id_key(&fresh.hash), &encode(&fresh)?).await?;
            self.cache_put(&fresh);
        }
        Ok(Some(fresh))
    }

    /// After a request made with `entry` (from [`TokenStore::use_token`]): revokes the token
    /// if that was its last use. Nothing otherwise.
    pub async fn finish_use(&self, entry: &TokenEntry) -> Result<Vec<Revoked>> {
        if entry.num_uses != -1 || entry.hash.is_empty() {
            return Ok(Vec::new());
        }
        let _g = self.inner.revocation.lock().await;
        self.revoke_locked(&entry.hash, Mode::Tree, None).await
    }

    // ----- creation ----------------------------------------------------------------------

    /// Creates a token. `parent` is the creating token (its child unless `req.orphan` or the
    /// parent is `None`). Checks OpenBao makes at this level: a batch token cannot be root or
    /// have children, a chosen id must be new and look unlike a generated one, the parent must
    /// still be live.
    pub async fn create(&self, parent: Option<&TokenEntry>, req: CreateRequest) -> Result<Issued> {
        self.create_inner(parent, req, None, true, self.now()).await
    }

    /// `login`: kept for renewals (its `lease_max_ttl` is the auth's max TTL). `with_lease`:
    /// false only for `create_root` tokens, which OpenBao registers no lease for.
    pub(crate) async fn create_inner(
        &self,
        parent: Option<&TokenEntry>,
        req: CreateRequest,
        login: Option<LoginData>,
        with_lease: bool,
        now: i64,
    ) -> Result<Issued> {
        self.create_with(parent, req, login, with_lease, 0, now).await
    }

    async fn create_with(
        &self,
        parent: Option<&TokenEntry>,
        req: CreateRequest,
        login: Option<LoginData>,
        with_lease: bool,
        lease_max_ttl: u64,
        now: i64,
    ) -> Result<Issued> {
        let keys = self.keys()?;
        let policies = policy::sanitize(&req.policies, false);
        let is_root = policies.len() == 1 && policies[0] == "root";
        if req.token_type == TokenType::Batch && is_root {
            return Err(TokenError::bad("batch tokens cannot be root tokens"));
        }
        let parent = if req.orphan { None } else { parent };
        if parent.is_some_and(|p| p.is_batch()) {
            return Err(TokenError::bad("batch tokens cannot create more tokens"));
        }
        let parent_hash = parent.map(|p| p.hash.clone());
        let creation_time = trunc_secs(now);
        let ttl = req.ttl.as_secs();
        let mut entry = TokenEntry {
            hash: String::new(),
            accessor: String::new(),
            parent: parent_hash.clone(),
            policies,
            path: req.path,
            meta: req.meta,
            display_name: req.display_name,
            num_uses: req.num_uses,
            creation_time,
            ttl,
            explicit_max_ttl: req.explicit_max_ttl.as_secs(),
            period: req.period.as_secs(),
            role: req.role,
            entity_id: req.entity_id,
            token_type: req.token_type,
            cubbyhole_id: String::new(),
            bound_cidrs: req.bound_cidrs,
            lease: None,
            login,
            revoking: false,
        };
        let max_ttl = lease_max_ttl;

        if req.token_type == TokenType::Batch {
            if let Some(p) = &parent_hash {
                if self.lookup_hash(p).await?.is_none() {
                    return Err(TokenError::bad("parent token lookup failed: no parent found"));
                }
            }
            entry.num_uses = 0;
            let issue = creation_time.saturating_mul(NANOS);
            entry.lease = Some(LeaseTimes {
                issue_time: issue,
                expire_time: Some(issue.saturating_add((ttl as i64).saturating_mul(NANOS))),
                last_renewal: None,
                renewable: false,
                ttl,
                max_ttl,
            });
            let token = batch::seal(&keys.cipher, &entry).map_err(TokenError::internal)?;
            return Ok(Issued { token: SecretString::new(token), entry, warnings: Vec::new() });
        }

        let token = match req.id {
            Some(id) => {
                let v = id.expose();
                if v.starts_with("hvs.") {
                    return Err(TokenError::bad("custom token ID cannot have the 'hvs.' prefix"));
                }
                if v.starts_with("s.") {
                    return Err(TokenError::bad("custom token ID cannot have the 's.' prefix"));
                }
                if v.contains('.') {
                    return Err(TokenError::bad("custom token ID cannot have a '.' in the value"));
                }
                if v.is_empty() {
                    return Err(TokenError::bad("custom token ID cannot be empty"));
                }
                if self.load_entry(&self.hash(v)?).await?.is_some() {
                    return Err(TokenError::bad("cannot create a token with a duplicate ID"));
                }
                id
            }
            None => SecretString::new(format!("s.{}", base62())),
        };
        entry.hash = self.hash(token.expose())?;
        entry.accessor = base62();
        entry.cubbyhole_id = base62();
        if with_lease {
            entry.lease = Some(LeaseTimes {
                issue_time: now,
                expire_time: (ttl > 0).then(|| now.saturating_add((ttl as i64).saturating_mul(NANOS))),
                last_renewal: None,
                renewable: req.renewable && ttl > 0,
                ttl,
                max_ttl,
            });
        }

        let mut ops = vec![
            BarrierOp::Put { path: id_key(&entry.hash), value: encode(&entry)? },
            BarrierOp::Put { path: accessor_key(&entry.accessor), value: entry.hash.clone().into_bytes() },
        ];
        if let Some(at) = entry.expire_time() {
            ops.push(BarrierOp::Put { path: expiry_key(at, &entry.hash), value: Vec::new() });
        }
        match &parent_hash {
            Some(p) => {
                ops.push(BarrierOp::Put { path: parent_key(p, &entry.hash), value: Vec::new() });
                // Under the parent's lock: a parent being revoked is marked under the same lock,
                // so a child is either written before the mark (and found by the tree walk) or
                // refused here.
                let _g = self.stripe(p).read().await;
                match self.load_entry(p).await? {
                    Some(pe) if !pe.revoking && !pe.expired_at(now) => {}
                    _ => return Err(TokenError::bad("parent token lookup failed: no parent found")),
                }
                self.view().transaction(ops).await?;
            }
            None => self.view().transaction(ops).await?,
        }
        self.cache_put(&entry);
        Ok(Issued { token, entry, warnings: Vec::new() })
    }

    /// A root token (init, generate-root): policy "root", path "auth/token/root", display name
    /// "root", no parent, no TTL, no lease. `id` fixes the token's value (dev mode's "root").
    pub async fn create_root(&self, id: Option<&str>) -> Result<SecretString> {
        let req = CreateRequest {
            id: id.filter(|s| !s.is_empty()).map(|s| SecretString::new(s.to_string())),
            policies: vec!["root".into()],
            path: "auth/token/root".into(),
            display_name: "root".into(),
            orphan: true,
            ..CreateRequest::default()
        };
        let issued = self.create_inner(None, req, None, false, self.now()).await?;
        Ok(issued.token)
    }

    /// The token of a successful login, as OpenBao's `RegisterAuth`: `path` is the login's full
    /// path ("auth/userpass/login/bob"), `mount` the auth mount (its TTLs; zero: the store's).
    /// Policies get "default" unless `no_default_policy`; the TTL is computed from the auth's
    /// ttl/period/max_ttl/explicit_max_ttl and the mount's limits; the token is an orphan.
    pub async fn from_auth(&self, auth: &Auth, path: &str, mount: &MountInfo) -> Result<Issued> {
        let policies = policy::sanitize(&auth.policies, !auth.no_default_policy);
        for p in &policies {
            if p == "root" {
                return Err(TokenError::bad("auth methods cannot create root tokens"));
            }
            if policy::NON_ASSIGNABLE.contains(&p.as_str()) {
                return Err(TokenError::bad(format!("cannot assign policy {p:?}")));
            }
        }
        let sys = SysView {
            default_ttl: if mount.default_lease_ttl.is_zero() {
                self.sys_view().default_ttl
            } else {
                mount.default_lease_ttl.as_secs() as i64
            },
            max_ttl: if mount.max_lease_ttl.is_zero() {
                self.sys_view().max_ttl
            } else {
                mount.max_lease_ttl.as_secs() as i64
            },
        };
        let now = self.now();
        let (ttl, warnings) = ttl::calculate_ttl(
            sys,
            now,
            0,
            auth.ttl.as_secs() as i64,
            auth.period.as_secs() as i64,
            auth.max_ttl.as_secs() as i64,
            auth.explicit_max_ttl.as_secs() as i64,
            None,
        )
        .map_err(TokenError::Internal)?;
        let source = mount.path.strip_prefix("auth/").unwrap_or(&mount.path).replace('/', "-");
        let display = format!("{source}{}", auth.display_name);
        let display = display.strip_suffix('-').unwrap_or(&display).to_string();
        let login = LoginData {
            mount_path: mount.path.clone(),
            mount_default_ttl: sys.default_ttl as u64,
            mount_max_ttl: sys.max_ttl as u64,
            internal_data: auth.internal_data.clone(),
            no_default_policy: auth.no_default_policy,
        };
        let req = CreateRequest {
            id: None,
            policies,
            path: path.to_string(),
            display_name: display,
            meta: (!auth.metadata.is_empty()).then(|| auth.metadata.clone()),
            num_uses: i64::from(auth.num_uses),
            ttl: Duration::from_secs(ttl.max(0) as u64),
            explicit_max_ttl: auth.explicit_max_ttl,
            period: auth.period,
            renewable: auth.renewable,
            token_type: auth.token_type,
            role: String::new(),
            entity_id: String::new(),
            bound_cidrs: auth.bound_cidrs.clone(),
            orphan: true,
        };
        let mut issued = self.create_with(None, req, Some(login), true, auth.max_ttl.as_secs(), now).await?;
        issued.warnings = warnings;
        Ok(issued)
    }

    // ----- renewal -----------------------------------------------------------------------

    /// Renews a token by `increment` (zero: the TTL it was last granted), as OpenBao's
    /// `RenewToken`: periodic tokens renew to their period, nothing goes past the explicit max
    /// TTL or the mount's max TTL (counted from issue), login tokens ask their auth method.
    pub async fn renew(&self, token: &str, increment: Duration) -> Result<Renewed> {
        let Some(entry) = self.lookup(token).await? else {
            return Err(TokenError::bad("token not found"));
        };
        if entry.is_batch() {
            return Err(TokenError::bad("batch tokens cannot be renewed"));
        }
        self.renew_hash(&entry.hash, increment).await
    }

    /// The entry and lease of a token that may be renewed now, or OpenBao's refusal.
    async fn renewable_entry(&self, hash: &str, now: i64) -> Result<(TokenEntry, LeaseTimes)> {
        let Some(e) = self.load_entry(hash).await? else {
            return Err(TokenError::bad("token not found"));
        };
        if e.revoking || e.expired_at(now) {
            return Err(TokenError::bad("token not found"));
        }
        let Some(lease) = e.lease.clone() else {
            return Err(TokenError::bad("invalid lease ID"));
        };
        if lease.expire_time.is_some_and(|x| x < now) {
            return Err(TokenError::bad("lease expired"));
        }
        if !lease.renewable {
            return Err(TokenError::bad("lease is not renewable"));
        }
        Ok((e, lease))
    }

    pub(crate) async fn renew_hash(&self, hash: &str, increment: Duration) -> Result<Renewed> {
        // The auth method and the role are asked without holding the token's lock (a hook
        // may use the store); the entry is read again under the lock before it is written.
        let (e, lease) = self.renewable_entry(hash, self.now()).await?;
        let (sys, backend_ttl, period, backend_max, explicit) = if let Some(login) = &e.login {
            let auth = Auth {
                policies: e.policies.clone(),
                metadata: e.meta.clone().unwrap_or_default(),
                display_name: e.display_name.clone(),
                ttl: Duration::from_secs(lease.ttl),
                max_ttl: Duration::from_secs(lease.max_ttl),
                explicit_max_ttl: Duration::from_secs(e.explicit_max_ttl),
                period: Duration::from_secs(e.period),
                renewable: lease.renewable,
                num_uses: u32::try_from(e.num_uses.max(0)).unwrap_or(0),
                token_type: e.token_type,
                no_default_policy: login.no_default_policy,
                bound_cidrs: e.bound_cidrs.clone(),
                internal_data: login.internal_data.clone(),
            };
            let renewed = self.hooks().renew_auth(&login.mount_path, &auth).await?;
            (
                SysView { default_ttl: login.mount_default_ttl as i64, max_ttl: login.mount_max_ttl as i64 },
                renewed.ttl.as_secs() as i64,
                renewed.period.as_secs() as i64,
                renewed.max_ttl.as_secs() as i64,
                renewed.explicit_max_ttl.as_secs() as i64,
            )
        } else if !e.role.is_empty() {
            let role = self.role(&e.role).await?.ok_or_else(|| {
                TokenError::Internal(format!("original token role {:?} could not be found, not renewing", e.role))
            })?;
            (self.sys_view(), lease.ttl as i64, role.token_period as i64, 0, role.token_explicit_max_ttl as i64)
        } else {
            (self.sys_view(), lease.ttl as i64, e.period as i64, 0, e.explicit_max_ttl as i64)
        };
        let _g = self.stripe(hash).write().await;
        let now = self.now();
        let (mut e, lease) = self.renewable_entry(hash, now).await?;
        let (new_ttl, warnings) = ttl::calculate_ttl(
            sys,
            now,
            increment.as_secs() as i64,
            backend_ttl,
            period,
            backend_max,
            explicit,
            Some(lease.issue_time),
        )
        .map_err(TokenError::Internal)?;
        let mut ops = Vec::new();
        if let Some(old) = lease.expire_time {
            ops.push(BarrierOp::Delete { path: expiry_key(old, hash) });
        }
        let new_expire = now.saturating_add(new_ttl.saturating_mul(NANOS));
        if let Some(l) = e.lease.as_mut() {
            l.ttl = new_ttl.max(0) as u64;
            l.expire_time = Some(new_expire);
            l.last_renewal = Some(now);
        }
        ops.push(BarrierOp::Put { path: expiry_key(new_expire, hash), value: Vec::new() });
        ops.push(BarrierOp::Put { path: id_key(hash), value: encode(&e)? });
        self.view().transaction(ops).await?;
        self.cache_put(&e);
        Ok(Renewed { entry: e, warnings })
    }

    // ----- revocation --------------------------------------------------------------------

    /// Revokes a token and all its descendants. An unknown token is not an error (nothing is
    /// revoked); a batch token cannot be revoked.
    pub async fn revoke_tree(&self, token: &str) -> Result<Vec<Revoked>> {
        let Some(entry) = self.lookup(token).await? else { return Ok(Vec::new()) };
        if entry.is_batch() {
            return Err(TokenError::bad("batch tokens cannot be revoked"));
        }
        let _g = self.inner.revocation.lock().await;
        self.revoke_locked(&entry.hash, Mode::Tree, None).await
    }

    // ----- leases ------------------------------------------------------------------------
    // A token with a TTL is also a lease, as in OpenBao's expiration manager: its id is the
    // token's creation path followed by "/h" and the token's storage hash.

    /// The lease id of a token's entry (`None` for tokens without a lease: root, batch).
    pub fn lease_id(entry: &TokenEntry) -> Option<String> {
        (entry.lease.is_some() && !entry.hash.is_empty()).then(|| format!("{}/h{}", entry.path, entry.hash))
    }

    /// The live token entry behind a lease id.
    pub async fn lookup_lease(&self, lease_id: &str) -> Result<Option<TokenEntry>> {
        let Some((_, last)) = lease_id.rsplit_once('/') else { return Ok(None) };
        let Some(hash) = last.strip_prefix('h').filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        else {
            return Ok(None);
        };
        let Some(entry) = self.lookup_hash(hash).await? else { return Ok(None) };
        Ok((Self::lease_id(&entry).as_deref() == Some(lease_id)).then_some(entry))
    }

    /// Revokes the token behind a lease id (and its children), as `sys/leases/revoke` does.
    pub async fn revoke_lease(&self, lease_id: &str) -> Result<Vec<Revoked>> {
        let Some(entry) = self.lookup_lease(lease_id).await? else { return Ok(Vec::new()) };
        let _g = self.inner.revocation.lock().await;
        self.revoke_locked(&entry.hash, Mode::Tree, None).await
    }

    /// The lease ids of every live token whose lease id starts with `prefix`, sorted.
    /// Scans the token records: fine for a secrets store's token counts.
    pub async fn lease_ids(&self, prefix: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for hash in self.view().list("id/").await? {
            if let Some(e) = self.lookup_hash(&hash).await? {
                if let Some(id) = Self::lease_id(&e).filter(|id| id.starts_with(prefix)) {
                    out.push(id);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Revokes a token and makes its children orphans.
    pub async fn revoke_orphan(&self, token: &str) -> Result<Vec<Revoked>> {
        let Some(entry) = self.lookup(token).await? else {
            return Err(TokenError::bad("token to revoke not found"));
        };
        if entry.is_batch() {
            return Err(TokenError::bad("batch tokens cannot be revoked"));
        }
        let _g = self.inner.revocation.lock().await;
        self.revoke_locked(&entry.hash, Mode::Orphan, None).await
    }

    /// Revokes the token of an accessor and its descendants. `None`: no such accessor.
    pub async fn revoke_accessor(&self, accessor: &str) -> Result<Option<Vec<Revoked>>> {
        let Some(hash) = self.accessor_hash(accessor).await? else { return Ok(None) };
        if self.lookup_hash(&hash).await?.is_none() {
            return Err(TokenError::bad("token not found"));
        }
        let _g = self.inner.revocation.lock().await;
        self.revoke_locked(&hash, Mode::Tree, None).await.map(Some)
    }

    /// Marks `hash` revoking (under its lock); with `root_mode`, also records the revocation
    /// as pending in the same transaction. `only_if_expired_at`: do nothing unless the token
    /// is expired at that instant (a renewal may have won the race). Returns whether the entry
    /// exists and is (now) marked.
    async fn mark(&self, hash: &str, root_mode: Option<Mode>, only_if_expired_at: Option<i64>) -> Result<bool> {
        let _g = self.stripe(hash).write().await;
        let Some(mut e) = self.load_entry(hash).await? else { return Ok(false) };
        if let Some(at) = only_if_expired_at {
            if !e.revoking && !e.expired_at(at) {
                return Ok(false);
            }
        }
        let mut ops = Vec::new();
        if !e.revoking {
            e.revoking = true;
            ops.push(BarrierOp::Put { path: id_key(hash), value: encode(&e)? });
        }
        if let Some(mode) = root_mode {
            ops.push(BarrierOp::Put { path: pending_key(hash), value: mode.as_bytes().to_vec() });
        }
        if !ops.is_empty() {
            self.view().transaction(ops).await?;
        }
        self.cache_drop(hash);
        Ok(true)
    }

    /// Deletes a marked token's records after the hook ran. `via` is the parent the walk came
    /// from (to drop a dangling link when the entry is already gone).
    async fn finalize(&self, hash: &str, is_root: bool, via: Option<&str>, out: &mut Vec<Revoked>) -> Result<()> {
        let mut ops = Vec::new();
        if let Some(e) = self.load_entry(hash).await? {
            let revoked = Revoked::of(&e);
            self.hooks()
                .on_revoke(&revoked)
                .await
                .map_err(|m| TokenError::Internal(format!("failed to revoke token: {m}")))?;
            ops.push(BarrierOp::Delete { path: id_key(hash) });
            if !e.accessor.is_empty() {
                ops.push(BarrierOp::Delete { path: accessor_key(&e.accessor) });
            }
            if let Some(p) = &e.parent {
                ops.push(BarrierOp::Delete { path: parent_key(p, hash) });
            }
            if let Some(at) = e.expire_time() {
                ops.push(BarrierOp::Delete { path: expiry_key(at, hash) });
            }
            out.push(revoked);
        }
        if let Some(p) = via {
            let k = parent_key(p, hash);
            if !ops.iter().any(|op| matches!(op, BarrierOp::Delete { path } if *path == k)) {
                ops.push(BarrierOp::Delete { path: k });
            }
        }
        if is_root {
            ops.push(BarrierOp::Delete { path: pending_key(hash) });
        }
        if !ops.is_empty() {
            self.view().transaction(ops).await?;
        }
        self.cache_drop(hash);
        Ok(())
    }

    async fn children(&self, hash: &str) -> Result<Vec<String>> {
        Ok(self.view().list(&format!("parent/{hash}/")).await?.into_iter().filter(|c| !c.ends_with('/')).collect())
    }

    /// The revocation walk. Caller holds the revocation lock.
    async fn revoke_locked(&self, root: &str, mode: Mode, only_if_expired_at: Option<i64>) -> Result<Vec<Revoked>> {
        let mut out = Vec::new();
        if !self.mark(root, Some(mode), only_if_expired_at).await? {
            // Gone already (or renewed in time): drop a stale pending marker, if any.
            if only_if_expired_at.is_none() {
                self.view().delete(&pending_key(root)).await?;
            }
            return Ok(out);
        }
        match mode {
            Mode::Orphan => {
                for child in self.children(root).await? {
                    let _g = self.stripe(&child).write().await;
                    let mut ops = vec![BarrierOp::Delete { path: parent_key(root, &child) }];
                    if let Some(mut ce) = self.load_entry(&child).await? {
                        ce.parent = None;
                        ops.push(BarrierOp::Put { path: id_key(&child), value: encode(&ce)? });
                        self.view().transaction(ops).await?;
                        if ce.revoking {
                            self.cache_drop(&child);
                        } else {
                            self.cache_put(&ce);
                        }
                    } else {
                        self.view().transaction(ops).await?;
                    }
                }
                self.finalize(root, true, None, &mut out).await?;
            }
            Mode::Tree => {
                let mut stack: Vec<String> = vec![root.to_string()];
                let mut seen: HashSet<String> = HashSet::new();
                seen.insert(root.to_string());
                while let Some(top) = stack.last().cloned() {
                    let mut children = Vec::new();
                    for c in self.children(&top).await? {
                        if seen.contains(&c) {
                            tracing::warn!("token cycle found in the parent index; dropping the link");
                            self.view().delete(&parent_key(&top, &c)).await?;
                            continue;
                        }
                        children.push(c);
                    }
                    if children.is_empty() {
                        let via = if stack.len() >= 2 { Some(stack[stack.len() - 2].clone()) } else { None };
                        self.finalize(&top, top == root, via.as_deref(), &mut out).await?;
                        stack.pop();
                    } else {
                        for c in children {
                            self.mark(&c, None, None).await?;
                            seen.insert(c.clone());
                            stack.push(c);
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// Finishes every revocation left pending (crash, hook failure, last use). Caller holds
    /// the revocation lock.
    async fn resume_pending_locked(&self) -> Result<Vec<Revoked>> {
        let mut out = Vec::new();
        for h in self.view().list("revoking/").await? {
            if h.ends_with('/') {
                continue;
            }
            let mode = match self.view().get(&pending_key(&h)).await?.as_deref() {
                Some(b"orphan") => Mode::Orphan,
                _ => Mode::Tree,
            };
            match self.revoke_locked(&h, mode, None).await {
                Ok(r) => out.extend(r),
                Err(TokenError::Internal(m)) => {
                    tracing::warn!(error = %m, "pending token revocation failed; will retry")
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Revokes (with their descendants) every token whose expire time is at or before `now`,
    /// reading the expiry index in order so the cost is the number due, then finishes pending
    /// revocations. The core calls this every ~200 ms and after unseal.
    pub async fn expire_due(&self, now: OffsetDateTime) -> Result<Vec<Revoked>> {
        let now_n = nanos(now);
        let _g = self.inner.revocation.lock().await;
        let mut due: Vec<(String, String)> = Vec::new();
        let mut after: Option<String> = None;
        'pages: loop {
            let page = self.view().list_page("expiry/", after.as_deref(), Some(EXPIRY_PAGE)).await?;
            if page.is_empty() {
                break;
            }
            for key in &page {
                let Some((at, hash)) = key.split_once('-') else { continue };
                let Ok(at) = at.parse::<i64>() else { continue };
                if at > now_n {
                    break 'pages;
                }
                due.push((key.clone(), hash.to_string()));
            }
            if page.len() < EXPIRY_PAGE {
                break;
            }
            after = page.last().cloned();
        }
        let mut out = Vec::new();
        for (key, hash) in due {
            match self.load_entry(&hash).await? {
                None => self.view().delete(&format!("expiry/{key}")).await?,
                Some(e) if e.expire_time().map(|x| expiry_key(x, &hash)) != Some(format!("expiry/{key}")) => {
                    // Stale index entry (the token was renewed).
                    self.view().delete(&format!("expiry/{key}")).await?;
                }
                Some(_) => match self.revoke_locked(&hash, Mode::Tree, Some(now_n)).await {
                    Ok(r) => out.extend(r),
                    Err(TokenError::Internal(m)) => {
                        tracing::warn!(error = %m, "expired token revocation failed; will retry")
                    }
                    Err(e) => return Err(e),
                },
            }
        }
        out.extend(self.resume_pending_locked().await?);
        Ok(out)
    }

    // ----- tidy --------------------------------------------------------------------------

    /// Removes what a crash or an old bug can leave behind: parent links to missing tokens
    /// (children of a missing parent become orphans), accessors of missing tokens, expiry
    /// entries of missing or renewed tokens; finishes pending revocations.
    pub async fn tidy(&self) -> Result<TidyStats> {
        let _g = self.inner.revocation.lock().await;
        let mut st = TidyStats::default();
        for parent in self.view().list("parent/").await? {
            let Some(p) = parent.strip_suffix('/') else { continue };
            let parent_exists = self.load_entry(p).await?.is_some();
            for child in self.children(p).await? {
                let _cg = self.stripe(&child).write().await;
                let ce = self.load_entry(&child).await?;
                match ce {
                    Some(mut ce) if !parent_exists => {
                        ce.parent = None;
                        self.view()
                            .transaction(vec![
                                BarrierOp::Put { path: id_key(&child), value: encode(&ce)? },
                                BarrierOp::Delete { path: parent_key(p, &child) },
                            ])
                            .await?;
                        self.cache_drop(&child);
                        st.children_orphaned += 1;
                        st.parent_links_removed += 1;
                    }
                    Some(ce) if ce.parent.as_deref() != Some(p) => {
                        self.view().delete(&parent_key(p, &child)).await?;
                        st.parent_links_removed += 1;
                    }
                    Some(_) => {}
                    None => {
                        self.view().delete(&parent_key(p, &child)).await?;
                        st.parent_links_removed += 1;
                    }
                }
            }
        }
        for acc in self.view().list("accessor/").await? {
            let hash = self.accessor_hash(&acc).await?;
            let valid = match &hash {
                Some(h) => self.load_entry(h).await?.is_some_and(|e| e.accessor == acc),
                None => false,
            };
            if !valid {
                self.view().delete(&accessor_key(&acc)).await?;
                st.accessors_removed += 1;
            }
        }
        let mut after: Option<String> = None;
        loop {
            let page = self.view().list_page("expiry/", after.as_deref(), Some(EXPIRY_PAGE)).await?;
            if page.is_empty() {
                break;
            }
            for key in &page {
                let full = format!("expiry/{key}");
                let hash = key.split_once('-').map(|(_, h)| h.to_string()).unwrap_or_default();
                let valid = !hash.is_empty()
                    && self
                        .load_entry(&hash)
                        .await?
                        .and_then(|e| e.expire_time())
                        .is_some_and(|x| expiry_key(x, &hash) == full);
                if !valid {
                    self.view().delete(&full).await?;
                    st.expiry_entries_removed += 1;
                }
            }
            if page.len() < EXPIRY_PAGE {
                break;
            }
            after = page.last().cloned();
        }
        st.revocations_resumed = self.resume_pending_locked().await?.len() as u64;
        Ok(st)
    }

    // ----- roles -------------------------------------------------------------------------

    pub async fn role(&self, name: &str) -> Result<Option<Role>> {
        if !role::valid_name(name) {
            return Ok(None);
        }
        match self.view().get(&role_key(name)).await? {
            Some(raw) => serde_json::from_slice(&raw)
                .map(Some)
                .map_err(|e| TokenError::internal(format!("failed to decode role: {e}"))),
            None => Ok(None),
        }
    }
}
