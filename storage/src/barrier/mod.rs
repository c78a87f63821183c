//! The AES-256-GCM barrier: everything Coffer stores passes through it, so a physical backend
//! only ever sees ciphertext.
//!
//! Vocabulary (OpenBao's): the **root key** opens the **keyring**; the keyring holds one key per
//! **term**; the active term (the highest) encrypts new writes, older terms stay to read old
//! values. [`Barrier::rotate`] adds a term. The keyring is stored at [`KEYRING_PATH`],
//! encrypted under the root key (term 0); every other value is encrypted under a term key with
//! its storage path as associated data (layout in [`layout`]).
//!
//! Guarantees:
//! - a value that was altered, truncated, or copied from another path reads as
//!   [`StorageError::Integrity`], never as other data or as missing;
//! - while sealed every operation fails with [`StorageError::Sealed`] and no key is in memory;
//! - the seal's records ([`is_reserved`]) are out of reach of logical reads and writes.
//!
//! Not detected (as in OpenBao): replacing a value with an older value of the same path.
mod keyring;
pub mod layout;
mod view;

#[cfg(test)]
mod tests;

pub use keyring::{RotationConfig, TermInfo, MAX_MAX_OPERATIONS, MIN_MAX_OPERATIONS, MIN_ROTATION_INTERVAL};
pub use view::View;

use crate::error::{Result, StorageError};
use crate::physical::{check_key, Backend, TxnOp};
use coffer_hardening::secret::Key256;
use keyring::{CountsRecord, Keyring, TermKey};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;
use time::OffsetDateTime;
use zeroize::Zeroizing;

/// The keyring record, encrypted under the root key.
pub const KEYRING_PATH: &str = "core/keyring";
/// A known plaintext encrypted under the root key: tells a wrong root key (WrongKey) from a
/// tampered keyring (Integrity).
pub const KEYRING_CHECK_PATH: &str = "core/barrier/keyring-check";
/// Per-term encryption counts, encrypted under the active term.
pub const ENCRYPTION_COUNT_PATH: &str = "core/barrier/encryption-count";
/// Seal records the daemon writes straight to the backend.
pub const SEAL_CONFIG_PATH: &str = "core/seal-config";
pub const ROOT_KEY_PATH: &str = "core/root-key";
pub const SEAL_PREFIX: &str = "core/seal/";
/// The barrier's own records.
pub const BARRIER_PREFIX: &str = "core/barrier/";

const CHECK_PLAINTEXT: &[u8] = b"coffer barrier keyring check v1";
/// The encryption counts are written every this many encryptions of the active term (and on
/// rotation, seal, and each `check_interval_rotation`).
const PERSIST_EVERY: u64 = 10_000;
/// How long `seal` waits for in-flight keyring changes and for the count record to be written
/// before it wipes the keys anyway.
const SEAL_GRACE: Duration = Duration::from_secs(5);

/// Whether `path` is a physical record no logical operation may touch: the keyring, the seal's
/// records, and the barrier's own bookkeeping.
pub fn is_reserved(path: &str) -> bool {
    path == KEYRING_PATH
        || path == SEAL_CONFIG_PATH
        || path == ROOT_KEY_PATH
        || path.starts_with(SEAL_PREFIX)
        || path.starts_with(BARRIER_PREFIX)
}

/// One operation of an atomic [`Barrier::transaction`].
#[derive(Clone, PartialEq, Eq)]
pub enum BarrierOp {
    Put { path: String, value: Vec<u8> },
    Delete { path: String },
}

impl std::fmt::Debug for BarrierOp {
    /// Values are plaintext secrets: only their length is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BarrierOp::Put { path, value } => write!(f, "Put {{ path: {path:?}, value: <{} bytes> }}", value.len()),
            BarrierOp::Delete { path } => write!(f, "Delete {{ path: {path:?} }}"),
        }
    }
}

pub struct Barrier {
    backend: Arc<dyn Backend>,
    /// `None` while sealed. Never held across an `.await`.
    state: RwLock<Option<Keyring>>,
    /// Serializes keyring changes (unseal, seal, rotate, config, root key) and count writes.
    admin: tokio::sync::Mutex<()>,
    /// Set while an automatic rotation runs, so concurrent writers start only one.
    auto_rotating: AtomicBool,
}

impl std::fmt::Debug for Barrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Barrier")
            .field("backend", &self.backend.kind())
            .field("sealed", &self.is_sealed())
            .finish_non_exhaustive()
    }
}

/// Clears a flag when dropped, so a cancelled auto-rotation does not block the next one.
struct FlagGuard<'a>(&'a AtomicBool);

impl Drop for FlagGuard<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

fn integrity(path: &str, reason: &dyn std::fmt::Display) -> StorageError {
    tracing::warn!(path, %reason, "barrier integrity check failed");
    StorageError::Integrity { path: path.to_string() }
}

impl Barrier {
    /// A sealed, possibly uninitialized barrier over `backend`.
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        Barrier {
            backend,
            state: RwLock::new(None),
            admin: tokio::sync::Mutex::new(()),
            auto_rotating: AtomicBool::new(false),
        }
    }

    /// The physical backend (for the seal's plaintext records, which bypass the barrier).
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    fn read_state(&self) -> RwLockReadGuard<'_, Option<Keyring>> {
        // Every critical section is a plain read or a whole-value swap: never half-done.
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_state(&self) -> RwLockWriteGuard<'_, Option<Keyring>> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    fn with_keyring<R>(&self, f: impl FnOnce(&Keyring) -> R) -> Result<R> {
        match &*self.read_state() {
            Some(k) => Ok(f(k)),
            None => Err(StorageError::Sealed),
        }
    }

    // ----- lifecycle ---------------------------------------------------------------------

    /// Whether the keyring record exists (works while sealed).
    pub async fn is_initialized(&self) -> Result<bool> {
        Ok(self.backend.get(KEYRING_PATH).await?.is_some())
    }

    /// Creates the keyring (term 1) under `root_key`. The barrier stays sealed.
    pub async fn initialize(&self, root_key: &Key256) -> Result<()> {
        let _admin = self.admin.lock().await;
        if self.is_initialized().await? {
            return Err(StorageError::InvalidInput("the barrier is already initialized".into()));
        }
        let keyring = Keyring::first(root_key.duplicate())?;
        self.store_keyring(&keyring).await
    }

    /// Opens the keyring with `root_key`. `WrongKey` if the key does not open it, `Integrity` if
    /// the keyring was altered. Unsealing an unsealed barrier does nothing.
    pub async fn unseal(&self, root_key: &Key256) -> Result<()> {
        let _admin = self.admin.lock().await;
        if !self.is_sealed() {
            return Ok(());
        }
        let keyring = self.load_keyring(root_key).await?;
        let counts = self.load_counts(&keyring).await?;
        for (term, n) in counts.terms {
            if let Some(t) = keyring.terms.get(&term) {
                t.encryptions.store(n, Ordering::Relaxed);
                t.persisted.store(n, Ordering::Relaxed);
            }
        }
        *self.write_state() = Some(keyring);
        Ok(())
    }

    /// Writes the encryption counts (best effort, bounded wait) and wipes every key.
    pub async fn seal(&self) {
        match tokio::time::timeout(SEAL_GRACE, self.admin.lock()).await {
            Ok(_admin) => {
                if !self.is_sealed() {
                    match tokio::time::timeout(SEAL_GRACE, self.persist_counts_locked()).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => {
                            tracing::warn!(error = %e, "could not save barrier encryption counts while sealing")
                        }
                        Err(_) => tracing::warn!("timed out saving barrier encryption counts while sealing"),
                    }
                }
                self.write_state().take();
            }
            Err(_) => {
                tracing::warn!("a keyring change is stuck; sealing without saving encryption counts");
                self.write_state().take();
            }
        }
    }

    pub fn is_sealed(&self) -> bool {
        self.read_state().is_none()
    }

    // ----- logical operations ------------------------------------------------------------

    fn check_logical(&self, path: &str) -> Result<()> {
        if self.is_sealed() {
            return Err(StorageError::Sealed);
        }
        check_key(path)?;
        if is_reserved(path) {
            return Err(StorageError::InvalidInput(format!("{path:?} is a reserved storage path")));
        }
        Ok(())
    }

    pub async fn get(&self, path: &str) -> Result<Option<Vec<u8>>> {
        self.check_logical(path)?;
        self.get_inner(path).await
    }

    pub async fn put(&self, path: &str, value: &[u8]) -> Result<()> {
        self.check_logical(path)?;
        let (stored, term, count) = self.encrypt(path, value)?;
        self.backend.put(path, stored).await?;
        self.after_encryptions(&term, count).await;
        Ok(())
    }

    pub async fn delete(&self, path: &str) -> Result<()> {
        self.check_logical(path)?;
        self.backend.delete(path).await
    }

    /// Immediate children of `prefix` (names are not encrypted).
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        self.list_page(prefix, None, None).await
    }

    pub async fn list_page(&self, prefix: &str, after: Option<&str>, limit: Option<usize>) -> Result<Vec<String>> {
        if self.is_sealed() {
            return Err(StorageError::Sealed);
        }
        self.backend.list_page(prefix, after, limit).await
    }

    /// Applies every operation or none. All puts are encrypted under the same term.
    pub async fn transaction(&self, ops: Vec<BarrierOp>) -> Result<()> {
        if self.is_sealed() {
            return Err(StorageError::Sealed);
        }
        for op in &ops {
            match op {
                BarrierOp::Put { path, .. } | BarrierOp::Delete { path } => self.check_logical(path)?,
            }
        }
        let term = self.with_keyring(|k| k.active.clone())?;
        let mut last = None;
        let mut txn = Vec::with_capacity(ops.len());
        for op in ops {
            match op {
                BarrierOp::Put { path, value } => {
                    let (stored, count) = encrypt_with(&term, &path, &value)?;
                    last = Some(count);
                    txn.push(TxnOp::Put { key: path, value: stored });
                }
                BarrierOp::Delete { path } => txn.push(TxnOp::Delete { key: path }),
            }
        }
        self.backend.transaction(txn).await?;
        if let Some(count) = last {
            self.after_encryptions(&term, count).await;
        }
        Ok(())
    }

    // ----- keys and rotation -------------------------------------------------------------

    /// Adds a term; new writes use it, values under older terms stay readable.
    pub async fn rotate(&self) -> Result<TermInfo> {
        let _admin = self.admin.lock().await;
        self.rotate_locked().await
    }

    /// The active term.
    pub fn key_status(&self) -> Result<TermInfo> {
        self.with_keyring(|k| k.active.info())
    }

    /// Every term in the keyring, oldest first.
    pub fn terms(&self) -> Result<Vec<TermInfo>> {
        self.with_keyring(|k| k.terms.values().map(|t| t.info()).collect())
    }

    pub fn rotation_config(&self) -> Result<RotationConfig> {
        self.with_keyring(|k| k.config.clone())
    }

    pub async fn set_rotation_config(&self, cfg: RotationConfig) -> Result<()> {
        cfg.validate()?;
        self.set_rotation_config_inner(cfg).await
    }

    /// Sets any rotation configuration, including thresholds below the real minimum, so tests
    /// can watch automatic rotation happen.
    #[cfg(any(test, feature = "testing"))]
    pub async fn set_rotation_config_unchecked(&self, cfg: RotationConfig) -> Result<()> {
        self.set_rotation_config_inner(cfg).await
    }

    async fn set_rotation_config_inner(&self, cfg: RotationConfig) -> Result<()> {
        let _admin = self.admin.lock().await;
        let mut next = self.current_merged().await?;
        next.config = cfg;
        self.store_keyring(&next).await?;
        self.install(next)
    }

    /// Periodic housekeeping (the daemon calls it every minute): rotates if automatic rotation
    /// is enabled and the active term is older than the interval (or past `max_operations`, in
    /// case the write path's rotation failed), and saves the encryption counts.
    pub async fn check_interval_rotation(&self) -> Result<Option<TermInfo>> {
        let _admin = self.admin.lock().await;
        let (cfg, active) = self.with_keyring(|k| (k.config.clone(), k.active.info()))?;
        let too_old = !cfg.interval.is_zero() && OffsetDateTime::now_utc() - active.install_time >= cfg.interval;
        let too_used = active.encryptions >= cfg.max_operations;
        if cfg.enabled && (too_old || too_used) {
            let t = self.rotate_locked().await?;
            tracing::info!(term = t.term, too_old, too_used, "rotated the barrier key automatically");
            return Ok(Some(t));
        }
        self.persist_counts_locked().await?;
        Ok(None)
    }

    /// The term a stored value claims, `None` if it is not a well-formed barrier value.
    pub fn term_of_stored(value: &[u8]) -> Option<u32> {
        layout::parse_term(value).ok()
    }

    /// Re-encrypts the keyring under `new_root`; the term keys do not change.
    pub async fn rotate_root_key(&self, new_root: &Key256) -> Result<()> {
        let _admin = self.admin.lock().await;
        let mut next = self.current_merged().await?;
        next.root = new_root.duplicate();
        self.store_keyring(&next).await?;
        self.install(next)
    }

    /// Re-reads the keyring from storage, picking up terms another node added (a standby after
    /// the active node rotated). Terms already in memory keep their counters.
    pub async fn reload_keyring(&self) -> Result<()> {
        let _admin = self.admin.lock().await;
        let next = self.current_merged().await?;
        self.install(next)
    }

    // ----- internals ---------------------------------------------------------------------

    /// Encrypts under the active term; returns the value, the term, and its new count.
    fn encrypt(&self, path: &str, plaintext: &[u8]) -> Result<(Vec<u8>, Arc<TermKey>, u64)> {
        let term = self.with_keyring(|k| k.active.clone())?;
        let (stored, count) = encrypt_with(&term, path, plaintext)?;
        Ok((stored, term, count))
    }

    async fn get_inner(&self, path: &str) -> Result<Option<Vec<u8>>> {
        let Some(stored) = self.backend.get(path).await? else {
            return Ok(None);
        };
        let term = layout::parse_term(&stored).map_err(|m| integrity(path, &m))?;
        if term == layout::ROOT_TERM {
            return Err(integrity(path, &"value claims term 0 (the root key's)"));
        }
        let key = match self.with_keyring(|k| (k.term(term), k.active.term))? {
            (Some(key), _) => key,
            (None, active) if term > active => {
                // Another node may have rotated: look once more at the stored keyring.
                self.reload_keyring().await?;
                self.with_keyring(|k| k.term(term))?
                    .ok_or_else(|| integrity(path, &format_args!("value claims unknown term {term}")))?
            }
            (None, _) => return Err(integrity(path, &format_args!("value claims unknown term {term}"))),
        };
        layout::open(&key.cipher, path.as_bytes(), &stored)
            .map(Some)
            .map_err(|_| integrity(path, &format_args!("authentication failed under term {term}")))
    }

    /// Rotation and count bookkeeping after a write under `term` brought its count to `count`.
    /// Never fails the write: errors are logged and retried by `check_interval_rotation`.
    async fn after_encryptions(&self, term: &TermKey, count: u64) {
        let Ok((cfg, active)) = self.with_keyring(|k| (k.config.clone(), k.active.term)) else {
            return;
        };
        if cfg.enabled && term.term == active && count >= cfg.max_operations {
            // One writer rotates; the others carry on under the old term meanwhile.
            if self.auto_rotating.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                let _flag = FlagGuard(&self.auto_rotating);
                let _admin = self.admin.lock().await;
                // Re-check under the lock: a rotation may have just finished.
                let still = self.with_keyring(|k| k.active.term == term.term && k.config.enabled).unwrap_or(false);
                if still {
                    match self.rotate_locked().await {
                        Ok(t) => tracing::info!(
                            term = t.term,
                            max_operations = cfg.max_operations,
                            "rotated the barrier key: operation limit reached"
                        ),
                        Err(e) => {
                            tracing::warn!(error = %e, "automatic barrier key rotation failed; will retry")
                        }
                    }
                }
            }
            return;
        }
        // `is_multiple_of` would need Rust 1.87; the workspace supports 1.85.
        #[allow(clippy::manual_is_multiple_of)]
        let due = count % PERSIST_EVERY == 0;
        if due {
            // Skip if a keyring change holds the lock: it saves the counts itself.
            if let Ok(_admin) = self.admin.try_lock() {
                if let Err(e) = self.persist_counts_locked().await {
                    tracing::warn!(error = %e, "could not save barrier encryption counts");
                }
            }
        }
    }

    /// Call with `admin` held.
    async fn rotate_locked(&self) -> Result<TermInfo> {
        let next = self.current_merged().await?.with_new_term()?;
        self.store_keyring(&next).await?;
        let info = next.active.clone();
        self.install(next)?;
        if let Err(e) = self.persist_counts_locked().await {
            tracing::warn!(error = %e, "could not save barrier encryption counts after rotation");
        }
        Ok(info.info())
    }

    /// The stored keyring merged with the one in memory. Call with `admin` held.
    async fn current_merged(&self) -> Result<Keyring> {
        let mem = self.with_keyring(|k| k.duplicate())?;
        let stored = self.load_keyring(&mem.root).await?;
        stored.merged_with(&mem)
    }

    /// Swaps in a new keyring, unless the barrier was sealed meanwhile (it stays sealed).
    fn install(&self, next: Keyring) -> Result<()> {
        let mut state = self.write_state();
        match &mut *state {
            Some(k) => {
                *k = next;
                Ok(())
            }
            None => Err(StorageError::Sealed),
        }
    }

    /// Writes the keyring and its check record, both under the keyring's root key.
    async fn store_keyring(&self, keyring: &Keyring) -> Result<()> {
        let cipher = layout::cipher(&keyring.root);
        let plaintext: Zeroizing<Vec<u8>> = keyring.encode()?;
        let too_long = |_| StorageError::InvalidInput("value too large to encrypt".into());
        let record = layout::seal(&cipher, layout::ROOT_TERM, KEYRING_PATH.as_bytes(), &plaintext).map_err(too_long)?;
        let check = layout::seal(&cipher, layout::ROOT_TERM, KEYRING_CHECK_PATH.as_bytes(), CHECK_PLAINTEXT)
            .map_err(too_long)?;
        self.backend
            .transaction(vec![
                TxnOp::Put { key: KEYRING_PATH.into(), value: record },
                TxnOp::Put { key: KEYRING_CHECK_PATH.into(), value: check },
            ])
            .await
    }

    /// Reads and opens the keyring with `root`.
    async fn load_keyring(&self, root: &Key256) -> Result<Keyring> {
        let Some(record) = self.backend.get(KEYRING_PATH).await? else {
            return Err(StorageError::InvalidInput("the barrier is not initialized".into()));
        };
        let check = self.backend.get(KEYRING_CHECK_PATH).await?;
        let claims_root = |path: &str, v: &[u8]| match layout::parse_term(v) {
            Ok(layout::ROOT_TERM) => Ok(()),
            Ok(t) => Err(integrity(path, &format_args!("record claims term {t}, not the root key's term 0"))),
            Err(m) => Err(integrity(path, &m)),
        };
        claims_root(KEYRING_PATH, &record)?;
        let cipher = layout::cipher(root);
        let checked = match &check {
            Some(c) => {
                claims_root(KEYRING_CHECK_PATH, c)?;
                let plain =
                    layout::open(&cipher, KEYRING_CHECK_PATH.as_bytes(), c).map_err(|_| StorageError::WrongKey)?;
                if plain != CHECK_PLAINTEXT {
                    return Err(integrity(KEYRING_CHECK_PATH, &"unexpected check plaintext"));
                }
                true
            }
            None => false,
        };
        let plaintext = Zeroizing::new(layout::open(&cipher, KEYRING_PATH.as_bytes(), &record).map_err(|_| {
            if checked {
                integrity(KEYRING_PATH, &"authentication failed under the (verified) root key")
            } else {
                StorageError::WrongKey
            }
        })?);
        Keyring::decode(root.duplicate(), &plaintext)
    }

    /// Reads the saved counts with `keyring` (not yet installed).
    async fn load_counts(&self, keyring: &Keyring) -> Result<CountsRecord> {
        let path = ENCRYPTION_COUNT_PATH;
        let Some(stored) = self.backend.get(path).await? else {
            return Ok(CountsRecord::default());
        };
        let term = layout::parse_term(&stored).map_err(|m| integrity(path, &m))?;
        let key =
            keyring.term(term).ok_or_else(|| integrity(path, &format_args!("value claims unknown term {term}")))?;
        let plain = layout::open(&key.cipher, path.as_bytes(), &stored)
            .map_err(|_| integrity(path, &format_args!("authentication failed under term {term}")))?;
        serde_json::from_slice(&plain)
            .map_err(|_| StorageError::Backend("the encryption count record is malformed".into()))
    }

    /// Saves every term's count, unless none changed. Call with `admin` held.
    async fn persist_counts_locked(&self) -> Result<()> {
        let (terms, active) =
            self.with_keyring(|k| (k.terms.values().cloned().collect::<Vec<_>>(), k.active.clone()))?;
        let dirty = terms.iter().any(|t| t.encryptions.load(Ordering::Relaxed) != t.persisted.load(Ordering::Relaxed));
        if !dirty {
            return Ok(());
        }
        // The record counts its own encryption under the active term (no rotation can run
        // meanwhile: `admin` is held), so saving does not leave the counts dirty.
        let record = CountsRecord {
            terms: terms
                .iter()
                .map(|t| {
                    let own = u64::from(t.term == active.term);
                    (t.term, t.encryptions.load(Ordering::Relaxed) + own)
                })
                .collect(),
        };
        let json = serde_json::to_vec(&record)
            .map_err(|_| StorageError::Backend("the encryption counts cannot be serialized".into()))?;
        let (stored, _) = encrypt_with(&active, ENCRYPTION_COUNT_PATH, &json)?;
        self.backend.put(ENCRYPTION_COUNT_PATH, stored).await?;
        for t in &terms {
            if let Some(n) = record.terms.get(&t.term) {
                t.persisted.fetch_max(*n, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    #[cfg(test)]
    fn active_key(&self) -> Option<Arc<TermKey>> {
        self.with_keyring(|k| k.active.clone()).ok()
    }

    #[cfg(test)]
    fn root_key_copy(&self) -> Option<Key256> {
        self.with_keyring(|k| k.root.duplicate()).ok()
    }
}

/// Encrypts one value under `term` and counts it.
fn encrypt_with(term: &TermKey, path: &str, plaintext: &[u8]) -> Result<(Vec<u8>, u64)> {
    let stored = layout::seal(&term.cipher, term.term, path.as_bytes(), plaintext)
        .map_err(|_| StorageError::InvalidInput("value too large to encrypt".into()))?;
    let count = term.encryptions.fetch_add(1, Ordering::Relaxed) + 1;
    Ok((stored, count))
}
