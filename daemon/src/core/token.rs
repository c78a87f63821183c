//! The token store: tokens are kept by salted hash, never in clear. This is the foundation's
//! part (root tokens); the core-API issue grows it into the full token store.
use super::error::{CoreError, Result};
use coffer_hardening::secret::SecretString;
use coffer_storage::barrier::Barrier;
use rand::distributions::{Alphanumeric, DistString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

const SALT_PATH: &str = "sys/token/salt";
const ID_PREFIX: &str = "sys/token/id/";
const ACCESSOR_PREFIX: &str = "sys/token/accessor/";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TokenEntry {
    pub accessor: String,
    pub policies: Vec<String>,
    pub path: String,
    pub display_name: String,
    pub creation_time: i64,
    /// Seconds; 0 = never expires.
    pub ttl: u64,
}

impl TokenEntry {
    pub fn is_root(&self) -> bool {
        self.policies.iter().any(|p| p == "root")
    }
}

pub struct TokenStore {
    barrier: Arc<Barrier>,
    salt: RwLock<Option<Vec<u8>>>,
    cache: RwLock<HashMap<String, Arc<TokenEntry>>>,
}

/// `s.` followed by 24 base62 characters, as OpenBao's service tokens.
pub fn new_service_token() -> SecretString {
    SecretString::new(format!("s.{}", Alphanumeric.sample_string(&mut rand::rngs::OsRng, 24)))
}

impl TokenStore {
    pub fn new(barrier: Arc<Barrier>) -> Self {
        TokenStore { barrier, salt: RwLock::new(None), cache: RwLock::new(HashMap::new()) }
    }

    /// Loads (or on first use creates) the salt. Called after every unseal.
    pub async fn load(&self) -> Result<()> {
        let salt = match self.barrier.get(SALT_PATH).await? {
            Some(s) => s,
            None => {
                let s: Vec<u8> = (0..32).map(|_| rand::random::<u8>()).collect();
                self.barrier.put(SALT_PATH, &s).await?;
                s
            }
        };
        *self.salt.write().unwrap_or_else(|e| e.into_inner()) = Some(salt);
        Ok(())
    }

    /// Forgets the salt and every cached entry (on seal).
    pub fn unload(&self) {
        *self.salt.write().unwrap_or_else(|e| e.into_inner()) = None;
        self.cache.write().unwrap_or_else(|e| e.into_inner()).clear();
    }

    fn hash(&self, token: &str) -> Result<String> {
        let guard = self.salt.read().unwrap_or_else(|e| e.into_inner());
        let salt = guard.as_ref().ok_or(CoreError::Sealed)?;
        let mut h = Sha256::new();
        h.update(salt);
        h.update(token.as_bytes());
        Ok(hex::encode(h.finalize()))
    }

    /// Creates a root token (init, generate-root, dev mode). `id` fixes the token's value.
    pub async fn create_root(&self, id: Option<&str>) -> Result<SecretString> {
        let token = match id {
            Some(id) if !id.is_empty() => SecretString::new(id.to_string()),
            _ => new_service_token(),
        };
        let entry = TokenEntry {
            accessor: Alphanumeric.sample_string(&mut rand::rngs::OsRng, 24),
            policies: vec!["root".into()],
            path: "auth/token/root".into(),
            display_name: "root".into(),
            creation_time: time::OffsetDateTime::now_utc().unix_timestamp(),
            ttl: 0,
        };
        let hash = self.hash(token.expose())?;
        let json = serde_json::to_vec(&entry).map_err(|e| CoreError::Internal(e.to_string()))?;
        self.barrier.put(&format!("{ID_PREFIX}{hash}"), &json).await?;
        self.barrier.put(&format!("{ACCESSOR_PREFIX}{}", entry.accessor), hash.as_bytes()).await?;
        Ok(token)
    }

    /// The entry of a live token, or `None` for an unknown one.
    pub async fn lookup(&self, token: &str) -> Result<Option<Arc<TokenEntry>>> {
        let hash = self.hash(token)?;
        if let Some(e) = self.cache.read().unwrap_or_else(|e| e.into_inner()).get(&hash) {
            return Ok(Some(e.clone()));
        }
        let Some(raw) = self.barrier.get(&format!("{ID_PREFIX}{hash}")).await? else {
            return Ok(None);
        };
        let entry: TokenEntry =
            serde_json::from_slice(&raw).map_err(|e| CoreError::Internal(format!("corrupt token entry: {e}")))?;
        let entry = Arc::new(entry);
        self.cache.write().unwrap_or_else(|e| e.into_inner()).insert(hash, entry.clone());
        Ok(Some(entry))
    }
}
