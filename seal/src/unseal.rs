//! Unseal progress: the shares operators have given so far, kept by the core between
//! `sys/unseal` calls, with OpenBao's rules.
use crate::error::{Result, SealError};
use crate::shamir;
use crate::shares::{MAX_SHARE_LEN, MIN_KEY_LEN};
use coffer_hardening::secret::{Key256, SecretBytes};

/// Shares collected towards the threshold, and the nonce naming this attempt.
///
/// Rules (each observed on OpenBao 2.7.2):
/// - a share shorter than 16 or longer than 33 bytes is refused and leaves progress as it was;
/// - the first share of an attempt starts it and gives it a new nonce;
/// - a share identical to one already given is ignored: progress and nonce stay as they were;
/// - at the threshold the shares are combined and progress resets, whatever the outcome.
pub struct UnsealProgress {
    threshold: u8,
    parts: Vec<SecretBytes>,
    nonce: String,
}

impl std::fmt::Debug for UnsealProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnsealProgress")
            .field("threshold", &self.threshold)
            .field("progress", &self.parts.len())
            .field("nonce", &self.nonce)
            .field("parts", &"<redacted>")
            .finish()
    }
}

/// Constant-time equality of two byte strings (length is not secret).
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Turns the combined bytes into the candidate key. Coffer's keys are 32 bytes; for other
/// lengths answer what OpenBao answers: 16 and 24 bytes are AES keys that fail to decrypt
/// (wrong key), anything else is not an AES key at all.
fn candidate_key(combined: SecretBytes) -> Result<Key256> {
    match combined.len() {
        Key256::LEN => Key256::from_slice(combined.expose()).ok_or(SealError::WrongKey),
        16 | 24 => Err(SealError::WrongKey),
        n => Err(SealError::InvalidShare(format!(
            "invalid key: failed to setup unseal key: crypto/aes: invalid key size {n}"
        ))),
    }
}

impl UnsealProgress {
    /// No shares yet. A threshold of 0 is taken as 1.
    pub fn new(threshold: u8) -> Self {
        UnsealProgress { threshold: threshold.max(1), parts: Vec::new(), nonce: String::new() }
    }

    /// Shares needed.
    pub fn threshold(&self) -> u8 {
        self.threshold
    }

    /// Shares given so far in this attempt (always below the threshold).
    pub fn progress(&self) -> u8 {
        // Never above the threshold (a u8): the parts are combined and cleared on reaching it.
        u8::try_from(self.parts.len()).unwrap_or(u8::MAX)
    }

    /// "" when no attempt is running, otherwise a UUID (v4) naming the attempt.
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// Forgets the shares given (`sys/unseal` with `reset: true`, and after each combine).
    pub fn reset(&mut self) {
        self.parts.clear();
        self.nonce.clear();
    }

    /// Adds one share. `Ok(None)` below the threshold; at the threshold combines, resets and
    /// returns the candidate unseal key — whether it is the RIGHT key is found out by
    /// unwrapping the root key with it. Errors (progress is reset for all but the first two):
    /// - `InvalidShare("invalid key: key is shorter than minimum 16 bytes")` / `... longer than
    ///   maximum 33 bytes` — refused before counting, progress unchanged;
    /// - `CombineFailed(..)`, e.g. "invalid key: failed to compute combined key: all parts must
    ///   be the same length";
    /// - `WrongKey` / `InvalidShare("invalid key: failed to setup unseal key: ...")` when the
    ///   combined value cannot be a 32-byte key.
    pub fn add(&mut self, share: SecretBytes) -> Result<Option<Key256>> {
        if share.len() < MIN_KEY_LEN {
            return Err(SealError::InvalidShare(format!(
                "invalid key: key is shorter than minimum {MIN_KEY_LEN} bytes"
            )));
        }
        if share.len() > MAX_SHARE_LEN {
            return Err(SealError::InvalidShare(format!(
                "invalid key: key is longer than maximum {MAX_SHARE_LEN} bytes"
            )));
        }
        if self.parts.iter().any(|p| ct_eq(p.expose(), share.expose())) {
            return Ok(None);
        }
        if self.parts.is_empty() {
            self.nonce = uuid::Uuid::new_v4().to_string();
        }
        self.parts.push(share);
        if self.parts.len() < usize::from(self.threshold) {
            return Ok(None);
        }

        let parts = std::mem::take(&mut self.parts);
        self.reset();
        let combined = match parts.as_slice() {
            [only] => SecretBytes::new(only.expose().to_vec()),
            _ => shamir::combine(&parts)?,
        };
        candidate_key(combined).map(Some)
    }
}
