//! The seal contract and the Shamir seal.
use crate::config::SHAMIR;
use crate::error::{Result, SealError};
use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use async_trait::async_trait;
use coffer_hardening::secret::Key256;
use rand::rngs::OsRng;
use rand::RngCore;
use zeroize::Zeroizing;

/// A seal wraps the root key for storage and unwraps it at unseal.
///
/// What every implementation must guarantee (checked by `testing::conformance`, which each
/// implementation runs; feature "testing"):
/// - `unwrap(wrap(k)) == k`, across processes and restarts for the same seal key;
/// - `wrap` is randomized: wrapping the same key twice gives different blobs, and no blob
///   contains the root key in the clear;
/// - `unwrap` of an altered, truncated or extended blob is an error, never a key;
/// - `unwrap` of a blob wrapped by a seal with another key is `SealError::WrongKey`, never a
///   wrong key returned;
/// - a seal that cannot be reached answers `SealError::Unavailable` (retry later), other
///   device failures `SealError::Backend`.
#[async_trait]
pub trait Seal: Send + Sync {
    /// The type name reported by `sys/seal-status` ("shamir", "pkcs11", "awskms").
    fn seal_type(&self) -> &'static str;
    /// Encrypts the root key into an opaque blob for storage.
    async fn wrap(&self, root_key: &Key256) -> Result<Vec<u8>>;
    /// Recovers the root key from a blob made by `wrap`.
    async fn unwrap(&self, blob: &[u8]) -> Result<Key256>;
}

/// The Shamir seal: the unseal key (combined from the operators' shares) wraps the root key
/// with AES-256-GCM.
///
/// Blob layout (version 1): `[0x01][96-bit random nonce][ciphertext of the 32-byte root key
/// + 16-byte tag]`, 61 bytes, with the version byte bound in as associated data
/// (`b"coffer/root-key/v1"`), so a blob cannot be replayed as anything else.
pub struct ShamirSeal {
    unseal_key: Key256,
}

impl std::fmt::Debug for ShamirSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShamirSeal(<redacted>)")
    }
}

const BLOB_VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const AAD: &[u8] = b"coffer/root-key/v1";
/// Length of a version-1 blob.
pub const SHAMIR_BLOB_LEN: usize = 1 + NONCE_LEN + Key256::LEN + TAG_LEN;

impl ShamirSeal {
    pub fn new(unseal_key: Key256) -> Self {
        ShamirSeal { unseal_key }
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(self.unseal_key.expose().into())
    }
}

#[async_trait]
impl Seal for ShamirSeal {
    fn seal_type(&self) -> &'static str {
        SHAMIR
    }

    async fn wrap(&self, root_key: &Key256) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher()
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: root_key.expose(), aad: AAD })
            .map_err(|_| SealError::Backend("AES-GCM encryption of the root key failed".into()))?;
        let mut blob = Vec::with_capacity(SHAMIR_BLOB_LEN);
        blob.push(BLOB_VERSION);
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&ciphertext);
        Ok(blob)
    }

    async fn unwrap(&self, blob: &[u8]) -> Result<Key256> {
        let Some((&version, rest)) = blob.split_first() else {
            return Err(SealError::Backend("stored root key blob is empty".into()));
        };
        if version != BLOB_VERSION {
            return Err(SealError::Backend(format!(
                "stored root key blob has unknown version {version}"
            )));
        }
        if blob.len() != SHAMIR_BLOB_LEN {
            return Err(SealError::Backend(format!(
                "stored root key blob has length {}, expected {SHAMIR_BLOB_LEN}",
                blob.len()
            )));
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        // A tag failure: wrong unseal key, or a blob altered in storage. GCM cannot tell
        // which; both mean the key given does not open this blob.
        let plaintext = Zeroizing::new(
            self.cipher()
                .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: AAD })
                .map_err(|_| SealError::WrongKey)?,
        );
        Key256::from_slice(&plaintext)
            .ok_or_else(|| SealError::Backend("unwrapped root key is not 32 bytes".into()))
    }
}
