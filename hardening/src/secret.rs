//! Types that hold secrets. None of them derives `Debug`, `Display`, `Clone` or `Serialize`:
//! key bytes leave them only through a named method, and they are wiped when dropped.
use rand::RngCore;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// A 256-bit symmetric key (root key, unseal key, barrier term key).
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Key256([u8; 32]);

impl Key256 {
    pub const LEN: usize = 32;

    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> Self {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        Key256(k)
    }

    /// Takes ownership of exactly 32 bytes; `None` for any other length.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let arr: [u8; 32] = bytes.try_into().ok()?;
        Some(Key256(arr))
    }

    /// The key bytes. Named so every use is easy to find.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    /// An independent copy, made deliberately (there is no `Clone`).
    pub fn duplicate(&self) -> Self {
        Key256(self.0)
    }
}

impl std::fmt::Debug for Key256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key256(<redacted>)")
    }
}

/// Variable-length secret bytes (a Shamir share, a plaintext that must not linger).
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    pub fn new(bytes: Vec<u8>) -> Self {
        SecretBytes(Zeroizing::new(bytes))
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretBytes(<{} bytes redacted>)", self.0.len())
    }
}

/// A secret string such as a token. Compared in constant time.
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    pub fn new(s: String) -> Self {
        SecretString(Zeroizing::new(s))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Constant-time equality with a candidate.
    pub fn ct_eq(&self, other: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), other.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretString(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_key_bytes() {
        let k = Key256::from_slice(&[0xab; 32]).expect("32 bytes");
        let s = format!("{k:?}");
        assert!(!s.contains("ab") && !s.contains("171"), "{s}");
        let b = SecretBytes::new(vec![0xcd; 5]);
        assert_eq!(format!("{b:?}"), "SecretBytes(<5 bytes redacted>)");
    }

    #[test]
    fn from_slice_refuses_wrong_lengths() {
        assert!(Key256::from_slice(&[0; 31]).is_none());
        assert!(Key256::from_slice(&[0; 33]).is_none());
        assert!(Key256::from_slice(&[0; 32]).is_some());
    }

    #[test]
    fn ct_eq_matches_string_equality() {
        let s = SecretString::new("s.abc".into());
        assert!(s.ct_eq("s.abc"));
        assert!(!s.ct_eq("s.abd"));
        assert!(!s.ct_eq("s.ab"));
    }
}
