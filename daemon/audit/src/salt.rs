//! The per-device salt and OpenBao's identified HMAC (`hmac-sha256:<hex>`).

use coffer_hardening::secret::SecretBytes;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The identifier OpenBao puts in front of every HMAC in an audit entry.
pub const HMAC_PREFIX: &str = "hmac-sha256:";

/// A device's HMAC key. OpenBao keeps one random salt per audit device in storage (a UUID
/// string, used as the HMAC-SHA256 key byte for byte); the caller persists it and hands it in.
/// No `Debug` shows it, no `Clone` copies it silently.
pub struct Salt {
    key: SecretBytes,
    /// HMAC state with the key already absorbed (cloned per value: saves hashing the key pads
    /// for every string of every entry). Holds only the SHA-256 states of the padded key.
    keyed: HmacSha256,
}

impl Salt {
    /// Wraps stored salt bytes (an OpenBao salt is the 36 bytes of its UUID text).
    pub fn new(bytes: Vec<u8>) -> Self {
        let keyed = keyed(&bytes);
        Salt { key: SecretBytes::new(bytes), keyed }
    }

    /// A fresh salt in OpenBao's form: a random UUID in text, from the OS CSPRNG.
    pub fn generate() -> Self {
        Salt::new(random_uuid().into_bytes())
    }

    /// The key bytes, for persisting. Named so every use is easy to find.
    pub fn expose(&self) -> &[u8] {
        self.key.expose()
    }

    /// An independent copy, made deliberately.
    pub fn duplicate(&self) -> Self {
        Salt::new(self.key.expose().to_vec())
    }

    /// `hmac-sha256:` + hex(HMAC-SHA256(salt, input)): what OpenBao writes in place of a secret
    /// value, and what `sys/audit-hash` returns.
    pub fn hmac(&self, input: &str) -> String {
        let mut out = String::with_capacity(HMAC_PREFIX.len() + 64);
        out.push_str(HMAC_PREFIX);
        out.push_str(&hex::encode(self.raw_hmac(input.as_bytes())));
        out
    }

    pub(crate) fn raw_hmac(&self, input: &[u8]) -> [u8; 32] {
        self.raw_hmac_parts(&[input])
    }

    /// HMAC over the concatenation of `parts`, without copying them together.
    pub(crate) fn raw_hmac_parts(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.keyed.clone();
        for p in parts {
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }
}

impl std::fmt::Debug for Salt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Salt(<redacted>)")
    }
}

fn keyed(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable_hmac(),
    }
}

#[cold]
fn unreachable_hmac() -> ! {
    // hmac 0.12: `InvalidLength` is only returned by fixed-key-size MACs, never by HMAC.
    panic!("HMAC-SHA256 rejected a key length")
}

/// A random (version 4) UUID in its 36-character text form.
pub(crate) fn random_uuid() -> String {
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// HMAC-SHA256 matches RFC 4231 test case 2 (key "Jefe").
    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let salt = Salt::new(b"Jefe".to_vec());
        assert_eq!(
            salt.hmac("what do ya want for nothing?"),
            "hmac-sha256:5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    /// The salt never shows in Debug output.
    #[test]
    fn debug_is_redacted() {
        let salt = Salt::new(b"very-secret".to_vec());
        assert_eq!(format!("{salt:?}"), "Salt(<redacted>)");
    }

    /// Generated salts have OpenBao's UUID shape and differ.
    #[test]
    fn generated_salts_are_uuids() {
        let a = Salt::generate();
        let b = Salt::generate();
        assert_eq!(a.expose().len(), 36);
        assert_eq!(a.expose()[14], b'4');
        assert_ne!(a.expose(), b.expose());
    }
}
