//! The byte layout of one stored value, and the AES-256-GCM operations over it.
//!
//! ```text
//! [term: u32 big-endian][version: u8 = 1][nonce: 12 random bytes][ciphertext][tag: 16 bytes]
//! ```
//!
//! The storage path is the GCM associated data, so a value copied to another path fails to
//! authenticate. Term 0 is the root key (only the keyring and its check record use it).
use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use coffer_hardening::secret::Key256;
use rand::RngCore;
use zeroize::Zeroizing;

/// The only layout version this barrier writes and reads.
pub const VERSION: u8 = 1;
pub const TERM_LEN: usize = 4;
pub const NONCE_LEN: usize = 12;
pub const TAG_LEN: usize = 16;
/// Term, version and nonce.
pub const HEADER_LEN: usize = TERM_LEN + 1 + NONCE_LEN;
/// The shortest well-formed value: an empty plaintext.
pub const MIN_LEN: usize = HEADER_LEN + TAG_LEN;
/// The term of values encrypted under the root key.
pub const ROOT_TERM: u32 = 0;

/// Why a stored value was refused before any decryption was tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// Shorter than the header and tag.
    Truncated(usize),
    /// A layout version this barrier does not know.
    Version(u8),
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Malformed::Truncated(n) => write!(f, "value is {n} bytes, shorter than the {MIN_LEN}-byte minimum"),
            Malformed::Version(v) => {
                write!(f, "unknown barrier value version {v} (this barrier reads version {VERSION})")
            }
        }
    }
}

/// The term a well-formed value claims to be encrypted under.
pub fn parse_term(stored: &[u8]) -> Result<u32, Malformed> {
    if stored.len() < MIN_LEN {
        return Err(Malformed::Truncated(stored.len()));
    }
    if stored[TERM_LEN] != VERSION {
        return Err(Malformed::Version(stored[TERM_LEN]));
    }
    let mut term = [0u8; TERM_LEN];
    term.copy_from_slice(&stored[..TERM_LEN]);
    Ok(u32::from_be_bytes(term))
}

/// An AES-256-GCM cipher for `key` (its key schedule is wiped on drop: `aes/zeroize`).
pub fn cipher(key: &Key256) -> Aes256Gcm {
    Aes256Gcm::new(key.expose().into())
}

/// Encrypts `plaintext` under `cipher` as term `term`, authenticating `aad` (the path).
/// Fails only for a plaintext beyond GCM's 64 GiB limit.
pub fn seal(cipher: &Aes256Gcm, term: u32, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, aes_gcm::Error> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(&term.to_be_bytes());
    out.push(VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = cipher.encrypt_in_place_detached(Nonce::from_slice(&nonce), aad, &mut out[HEADER_LEN..])?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Authenticates and decrypts a value whose header [`parse_term`] accepted. On failure no
/// plaintext is returned (the scratch buffer is wiped).
pub fn open(cipher: &Aes256Gcm, aad: &[u8], stored: &[u8]) -> Result<Vec<u8>, aes_gcm::Error> {
    if stored.len() < MIN_LEN {
        return Err(aes_gcm::Error);
    }
    let nonce = Nonce::from_slice(&stored[TERM_LEN + 1..HEADER_LEN]);
    let (body, tag) = stored[HEADER_LEN..].split_at(stored.len() - HEADER_LEN - TAG_LEN);
    // aes-gcm decrypts before comparing tags: a failed open leaves unauthenticated plaintext in
    // the buffer, which Zeroizing wipes.
    let mut buf = Zeroizing::new(body.to_vec());
    cipher.decrypt_in_place_detached(nonce, aad, &mut buf, Tag::from_slice(tag))?;
    Ok(std::mem::take(&mut *buf))
}
