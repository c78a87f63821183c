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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shares::decode_share;
    use crate::test_fixtures::fixture;

    fn fixture_key(name: &str) -> SecretBytes {
        decode_share(fixture(name)["request"]["body"]["key"].as_str().expect("key")).expect("decodes")
    }

    fn fixture_error(name: &str) -> String {
        fixture(name)["response"]["body"]["errors"][0].as_str().expect("error").to_owned()
    }

    fn is_uuid_shaped(s: &str) -> bool {
        let lens: Vec<usize> = s.split('-').map(str::len).collect();
        lens == [8, 4, 4, 4, 12] && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
    }

    /// The captured unseal sequence of the 2-of-3 fixture server: first share gives progress
    /// 1 and a nonce, second completes with a key; a different pair gives the same key.
    #[test]
    fn fixture_sequence_unseals() {
        let mut p = UnsealProgress::new(2);
        assert_eq!((p.progress(), p.nonce()), (0, ""));
        assert!(p.add(fixture_key("sys-unseal-progress-1-of-2-hex.json")).expect("add").is_none());
        assert_eq!(p.progress(), 1);
        assert!(is_uuid_shaped(p.nonce()), "{}", p.nonce());
        let k1 = p.add(fixture_key("sys-unseal-complete.json")).expect("add").expect("key");
        assert_eq!((p.progress(), p.nonce()), (0, ""), "progress resets after combining");

        assert!(p.add(fixture_key("sys-unseal-after-seal-1.json")).expect("add").is_none());
        let k2 = p.add(fixture_key("sys-unseal-when-unsealed.json")).expect("add").expect("key");
        assert_eq!(k1.expose(), k2.expose());
    }

    /// Fixture sys-unseal-combine-fails-400: a wrong share (44 'A's = 22 bytes of hex) is
    /// counted, then a genuine 33-byte share fails to combine with OpenBao's exact text, and
    /// progress is back to 0 (fixture sys-seal-status-after-failed-combine).
    #[test]
    fn fixture_combine_failure() {
        let mut p = UnsealProgress::new(2);
        assert!(p
            .add(fixture_key("sys-unseal-wrong-share-accepted-progress-1.json"))
            .expect("a wrong share is accepted")
            .is_none());
        assert_eq!(p.progress(), 1);
        let err = p.add(fixture_key("sys-unseal-combine-fails-400.json")).expect_err("combine fails");
        assert_eq!(err.to_string(), fixture_error("sys-unseal-combine-fails-400.json"));
        let status = fixture("sys-seal-status-after-failed-combine.json");
        assert_eq!(i64::from(p.progress()), status["response"]["body"]["progress"].as_i64().expect("progress"));
        assert_eq!(p.nonce(), status["response"]["body"]["nonce"].as_str().expect("nonce"));
    }

    /// A share identical to one already given is ignored (OpenBao 2.7.2: progress and nonce
    /// unchanged), also when typed in the other encoding.
    #[test]
    fn duplicate_share_is_ignored() {
        let v = fixture("sys-init-put-3-shares-threshold-2.json");
        let body = &v["response"]["body"];
        let mut p = UnsealProgress::new(2);
        p.add(decode_share(body["keys"][0].as_str().expect("k")).expect("dec")).expect("add");
        let nonce = p.nonce().to_owned();
        for again in [body["keys"][0].as_str().expect("k"), body["keys_base64"][0].as_str().expect("k")] {
            assert!(p.add(decode_share(again).expect("dec")).expect("add").is_none());
            assert_eq!((p.progress(), p.nonce()), (1, nonce.as_str()));
        }
        let key = p.add(decode_share(body["keys"][2].as_str().expect("k")).expect("dec")).expect("add");
        assert!(key.is_some(), "a different share still completes");
    }

    /// Too short or too long shares are refused with OpenBao's texts and change nothing.
    #[test]
    fn length_errors_keep_progress() {
        let mut p = UnsealProgress::new(3);
        p.add(SecretBytes::new(vec![1; 33])).expect("add");
        let nonce = p.nonce().to_owned();
        let short = p.add(SecretBytes::new(vec![2; 15])).expect_err("short");
        assert_eq!(short.to_string(), "invalid key: key is shorter than minimum 16 bytes");
        let long = p.add(SecretBytes::new(vec![2; 34])).expect_err("long");
        assert_eq!(long.to_string(), "invalid key: key is longer than maximum 33 bytes");
        assert_eq!((p.progress(), p.nonce()), (1, nonce.as_str()));
    }

    /// Each attempt gets a new nonce; reset clears progress and nonce.
    #[test]
    fn nonce_per_attempt_and_reset() {
        let mut p = UnsealProgress::new(3);
        p.add(SecretBytes::new(vec![1; 33])).expect("add");
        let first = p.nonce().to_owned();
        p.add(SecretBytes::new(vec![2; 33])).expect("add");
        assert_eq!(p.nonce(), first, "the nonce names the whole attempt");
        p.reset();
        assert_eq!((p.progress(), p.nonce()), (0, ""));
        p.add(SecretBytes::new(vec![1; 33])).expect("add");
        assert!(is_uuid_shaped(p.nonce()));
        assert_ne!(p.nonce(), first);
    }

    /// Threshold 1: the one share is the key; lengths that cannot be a 32-byte key get
    /// OpenBao's answers (observed: 33 bytes -> invalid key size; 16 bytes -> wrong key).
    #[test]
    fn threshold_one() {
        let mut p = UnsealProgress::new(1);
        let key = p.add(SecretBytes::new(vec![9; 32])).expect("add").expect("key");
        assert_eq!(key.expose(), &[9; 32]);
        assert_eq!(p.progress(), 0);
        let e = p.add(SecretBytes::new(vec![9; 33])).expect_err("33 bytes");
        assert_eq!(e.to_string(), "invalid key: failed to setup unseal key: crypto/aes: invalid key size 33");
        assert_eq!(p.add(SecretBytes::new(vec![9; 16])).expect_err("16 bytes"), SealError::WrongKey);
        assert_eq!(UnsealProgress::new(0).threshold(), 1);
    }

    /// Threshold 2 with 32-byte parts (shares of a 1-share init): combine gives 31 bytes,
    /// OpenBao's "invalid key size 31", progress reset.
    #[test]
    fn combined_value_of_wrong_size() {
        let mut p = UnsealProgress::new(2);
        p.add(SecretBytes::new(vec![1; 32])).expect("add");
        let e = p.add(SecretBytes::new(vec![2; 32])).expect_err("31-byte result");
        assert_eq!(e.to_string(), "invalid key: failed to setup unseal key: crypto/aes: invalid key size 31");
        assert_eq!(p.progress(), 0);
    }

    /// `Debug` shows progress and nonce but no share bytes.
    #[test]
    fn debug_redacts_shares() {
        let mut p = UnsealProgress::new(3);
        p.add(SecretBytes::new(vec![0xab; 33])).expect("add");
        let s = format!("{p:?}");
        assert!(s.contains("progress: 1") && s.contains("<redacted>"), "{s}");
        assert!(!s.contains("abab") && !s.contains("171"), "{s}");
    }
}
