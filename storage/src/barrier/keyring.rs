//! The keyring: every term's key, the root key that encrypts the keyring, and the rotation
//! configuration. Persisted at `core/keyring` as JSON encrypted under the root key.
use super::layout;
use crate::error::{Result, StorageError};
use aes_gcm::Aes256Gcm;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use coffer_hardening::secret::Key256;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use zeroize::{Zeroize, Zeroizing};

/// The fewest encryptions a term may be limited to (OpenBao's `absoluteOperationMinimum`).
pub const MIN_MAX_OPERATIONS: u64 = 1_000_000;
/// 0.9 × 2³²: past this many random 96-bit nonces under one key, GCM's collision bound is no
/// longer comfortable (OpenBao's default and `absoluteOperationMaximum`).
pub const MAX_MAX_OPERATIONS: u64 = 3_865_470_566;
/// The shortest non-zero rotation interval.
pub const MIN_ROTATION_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// When the barrier rotates its key on its own (`sys/rotate/config`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RotationConfig {
    /// Rotate once the active term has encrypted this many values.
    pub max_operations: u64,
    /// Rotate once the active term is this old; zero turns time-based rotation off.
    pub interval: Duration,
    /// Whether automatic rotation (by count or by age) happens at all.
    pub enabled: bool,
}

impl Default for RotationConfig {
    fn default() -> Self {
        RotationConfig { max_operations: MAX_MAX_OPERATIONS, interval: Duration::ZERO, enabled: true }
    }
}

impl RotationConfig {
    /// Refuses settings OpenBao refuses, with OpenBao's messages.
    pub fn validate(&self) -> Result<()> {
        if !self.interval.is_zero() && self.interval < MIN_ROTATION_INTERVAL {
            return Err(StorageError::InvalidInput("interval must be greater or equal to 24h0m0s".into()));
        }
        if !(MIN_MAX_OPERATIONS..=MAX_MAX_OPERATIONS).contains(&self.max_operations) {
            return Err(StorageError::InvalidInput(format!(
                "max_operations must be in the range [{MIN_MAX_OPERATIONS},{MAX_MAX_OPERATIONS}]"
            )));
        }
        Ok(())
    }
}

/// Public facts about one term (`sys/key-status`).
#[derive(Clone, Debug, PartialEq)]
pub struct TermInfo {
    pub term: u32,
    pub install_time: OffsetDateTime,
    /// Values encrypted under this term so far (persisted periodically, so a crash may lose
    /// the last few thousand).
    pub encryptions: u64,
}

/// One term's key, ready to use. No `Debug`: it holds key material.
pub(crate) struct TermKey {
    pub term: u32,
    key: Key256,
    pub cipher: Aes256Gcm,
    pub install_time: OffsetDateTime,
    /// Encryptions performed under this term (hot path: one atomic add).
    pub encryptions: AtomicU64,
    /// The count last written to the encryption-count record.
    pub persisted: AtomicU64,
}

impl TermKey {
    pub fn new(term: u32, key: Key256, install_time: OffsetDateTime, encryptions: u64) -> Self {
        let cipher = layout::cipher(&key);
        TermKey {
            term,
            key,
            cipher,
            install_time,
            encryptions: AtomicU64::new(encryptions),
            persisted: AtomicU64::new(encryptions),
        }
    }

    pub fn info(&self) -> TermInfo {
        TermInfo {
            term: self.term,
            install_time: self.install_time,
            encryptions: self.encryptions.load(Ordering::Relaxed),
        }
    }

    #[cfg(test)]
    pub fn key(&self) -> &Key256 {
        &self.key
    }
}

/// The unsealed keyring. Never empty: `active` is the highest term.
pub(crate) struct Keyring {
    pub root: Key256,
    pub terms: BTreeMap<u32, Arc<TermKey>>,
    pub active: Arc<TermKey>,
    pub config: RotationConfig,
}

impl Keyring {
    pub fn new(root: Key256, terms: BTreeMap<u32, Arc<TermKey>>, config: RotationConfig) -> Result<Self> {
        let active = match terms.last_key_value() {
            Some((_, t)) => t.clone(),
            None => return Err(StorageError::Backend("the keyring holds no term".into())),
        };
        Ok(Keyring { root, terms, active, config })
    }

    /// A keyring of one fresh term 1, for `initialize`.
    pub fn first(root: Key256) -> Result<Self> {
        let t = Arc::new(TermKey::new(1, Key256::generate(), OffsetDateTime::now_utc(), 0));
        Keyring::new(root, BTreeMap::from([(1, t)]), RotationConfig::default())
    }

    /// The same keys (shared, counters included) under a copy of the root key.
    pub fn duplicate(&self) -> Keyring {
        Keyring {
            root: self.root.duplicate(),
            terms: self.terms.clone(),
            active: self.active.clone(),
            config: self.config.clone(),
        }
    }

    /// This keyring plus a fresh term after the highest one.
    pub fn with_new_term(&self) -> Result<Keyring> {
        let next = self
            .active
            .term
            .checked_add(1)
            .ok_or_else(|| StorageError::Backend("the barrier has used every term number".into()))?;
        let mut terms = self.terms.clone();
        terms.insert(next, Arc::new(TermKey::new(next, Key256::generate(), OffsetDateTime::now_utc(), 0)));
        Keyring::new(self.root.duplicate(), terms, self.config.clone())
    }

    /// Terms loaded from storage (`self`), keeping the in-memory entry (and its live counter)
    /// of every term `mem` already holds, and any term only `mem` holds.
    pub fn merged_with(mut self, mem: &Keyring) -> Result<Keyring> {
        for (n, t) in &mem.terms {
            self.terms.insert(*n, t.clone());
        }
        Keyring::new(self.root.duplicate(), std::mem::take(&mut self.terms), self.config.clone())
    }

    pub fn term(&self, term: u32) -> Option<Arc<TermKey>> {
        self.terms.get(&term).cloned()
    }

    /// The JSON plaintext of the keyring record. Key bytes appear in it: it is wiped on drop
    /// and must only ever be encrypted under the root key.
    pub fn encode(&self) -> Result<Zeroizing<Vec<u8>>> {
        let mut terms = Vec::with_capacity(self.terms.len());
        for t in self.terms.values() {
            let install_time = t
                .install_time
                .format(&Rfc3339)
                .map_err(|_| StorageError::Backend("a term's install time cannot be formatted".into()))?;
            terms.push(TermRecord { term: t.term, key: B64.encode(t.key.expose()), install_time });
        }
        let record = KeyringRecord { terms, rotation: self.config.clone() };
        // Sized up front so serialization does not reallocate (and leave key copies behind).
        let mut out = Zeroizing::new(Vec::with_capacity(512 + 192 * self.terms.len()));
        serde_json::to_writer(&mut *out, &record)
            .map_err(|_| StorageError::Backend("the keyring cannot be serialized".into()))?;
        Ok(out)
    }

    /// Parses the decrypted keyring record. It was authenticated, so a parse failure is a
    /// format bug, not tampering. Messages never quote the input (it holds keys).
    pub fn decode(root: Key256, plaintext: &[u8]) -> Result<Keyring> {
        let malformed = |what: &str| StorageError::Backend(format!("the keyring record is malformed: {what}"));
        let record: KeyringRecord =
            serde_json::from_slice(plaintext).map_err(|_| malformed("not the expected JSON"))?;
        let mut terms = BTreeMap::new();
        for t in &record.terms {
            if t.term == layout::ROOT_TERM {
                return Err(malformed("term 0 is reserved for the root key"));
            }
            let bytes = Zeroizing::new(B64.decode(t.key.as_bytes()).map_err(|_| malformed("a key is not base64"))?);
            let key = Key256::from_slice(&bytes).ok_or_else(|| malformed("a key is not 32 bytes"))?;
            let install_time = OffsetDateTime::parse(&t.install_time, &Rfc3339)
                .map_err(|_| malformed("an install time is not RFC 3339"))?;
            if terms.insert(t.term, Arc::new(TermKey::new(t.term, key, install_time, 0))).is_some() {
                return Err(malformed("a term appears twice"));
            }
        }
        Keyring::new(root, terms, record.rotation.clone())
    }
}

#[derive(Serialize, Deserialize)]
struct KeyringRecord {
    terms: Vec<TermRecord>,
    #[serde(default)]
    rotation: RotationConfig,
}

#[derive(Serialize, Deserialize)]
struct TermRecord {
    term: u32,
    /// Base64 of the 32 key bytes.
    key: String,
    install_time: String,
}

impl Drop for TermRecord {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

/// The encrypted record of per-term encryption counts (`core/barrier/encryption-count`).
#[derive(Serialize, Deserialize, Default)]
pub(crate) struct CountsRecord {
    pub terms: BTreeMap<u32, u64>,
}
