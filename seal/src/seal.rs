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
            return Err(SealError::Backend(format!("stored root key blob has unknown version {version}")));
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
        Key256::from_slice(&plaintext).ok_or_else(|| SealError::Backend("unwrapped root key is not 32 bytes".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SealConfig;
    use crate::shares::generate_shares;
    use crate::testing::{conformance, FaultInjectingSeal};
    use crate::unseal::UnsealProgress;
    use coffer_hardening::secret::SecretBytes;

    /// ShamirSeal passes the suite every seal implementation runs.
    #[tokio::test]
    async fn shamir_seal_conformance() {
        conformance(&ShamirSeal::new(Key256::generate()), &ShamirSeal::new(Key256::generate())).await;
    }

    /// The whole Shamir flow: init splits a new unseal key, the root key is wrapped with it;
    /// at unseal any threshold of shares gives a key that unwraps the root key, and shares of
    /// another init give WrongKey.
    #[tokio::test]
    async fn init_then_unseal_with_shares() {
        let cfg = SealConfig::shamir(5, 3).expect("cfg");
        let init = generate_shares(&cfg).expect("generate");
        let root = Key256::generate();
        let blob = ShamirSeal::new(init.unseal_key.duplicate()).wrap(&root).await.expect("wrap");
        assert_eq!(blob.len(), SHAMIR_BLOB_LEN);

        let mut p = UnsealProgress::new(cfg.secret_threshold);
        let mut candidate = None;
        for i in [3, 1, 4] {
            candidate = p.add(SecretBytes::new(init.shares[i].expose().to_vec())).expect("add");
        }
        let candidate = candidate.expect("threshold reached");
        let back = ShamirSeal::new(candidate).unwrap(&blob).await.expect("unwrap");
        assert_eq!(back.expose(), root.expose());

        // Two genuine shares and one of another init (with an x-coordinate not already used):
        // they combine, to a wrong key, which unwrap refuses.
        let other = generate_shares(&cfg).expect("generate");
        let x = |s: &SecretBytes| s.expose()[32];
        let used = [x(&init.shares[0]), x(&init.shares[1])];
        let foreign = other.shares.iter().find(|s| !used.contains(&x(s))).expect("5 shares, 2 x used");
        let mut p = UnsealProgress::new(cfg.secret_threshold);
        let mut wrong = None;
        for s in [&init.shares[0], &init.shares[1], foreign] {
            wrong = p.add(SecretBytes::new(s.expose().to_vec())).expect("add");
        }
        let wrong = wrong.expect("threshold reached");
        assert_eq!(ShamirSeal::new(wrong).unwrap(&blob).await.expect_err("wrong"), SealError::WrongKey);
    }

    /// Stored blobs of another version or length are malformed (Backend), not a wrong key.
    #[tokio::test]
    async fn malformed_blob_is_backend_error() {
        let s = ShamirSeal::new(Key256::generate());
        let mut blob = s.wrap(&Key256::generate()).await.expect("wrap");
        assert!(matches!(s.unwrap(&[]).await, Err(SealError::Backend(_))));
        assert!(matches!(s.unwrap(&blob[..40]).await, Err(SealError::Backend(_))));
        blob[0] = 2;
        assert!(matches!(s.unwrap(&blob).await, Err(SealError::Backend(_))));
    }

    /// The injected fault is returned while set, and calls pass through once cleared.
    #[tokio::test]
    async fn fault_injection() {
        let s = FaultInjectingSeal::new(ShamirSeal::new(Key256::generate()));
        let root = Key256::generate();
        let blob = s.wrap(&root).await.expect("wrap");
        s.inject(SealError::Unavailable("hsm unplugged".into()));
        assert_eq!(s.unwrap(&blob).await.expect_err("fault"), SealError::Unavailable("hsm unplugged".into()));
        assert!(s.wrap(&root).await.is_err());
        s.clear();
        assert_eq!(s.unwrap(&blob).await.expect("unwrap").expose(), root.expose());
        assert_eq!(s.seal_type(), "shamir");
    }

    /// Debug of a seal never shows its key.
    #[test]
    fn debug_redacts() {
        let k = Key256::from_slice(&[0xcd; 32]).expect("32 bytes");
        let s = format!("{:?}", ShamirSeal::new(k));
        assert_eq!(s, "ShamirSeal(<redacted>)");
    }

    /// WrongKey reads as OpenBao's answer to a wrong unseal key (observed on 2.7.2).
    #[test]
    fn wrong_key_text() {
        assert_eq!(
            SealError::WrongKey.to_string(),
            "unable to retrieve stored keys: invalid key: failed to decrypt keys from storage: \
             cipher: message authentication failed"
        );
    }
}
