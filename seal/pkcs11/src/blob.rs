//! The stored form of a root key wrapped by the PKCS#11 seal.
//!
//! Version 1, all lengths explicit, nothing after the ciphertext:
//!
//! | bytes        | field                                                                  |
//! |--------------|------------------------------------------------------------------------|
//! | 1            | version = `0x01`                                                       |
//! | 1            | mechanism: `0x01` CKM_AES_GCM, `0x02` CKM_RSA_PKCS_OAEP                |
//! | 1            | OAEP hash: `0x00` none (GCM), `0x01` sha1, `0x02` sha224, `0x03` sha256, `0x04` sha384, `0x05` sha512 |
//! | 1 + n        | key label: length n (0–255), then CKA_LABEL of the key that wrapped    |
//! | 1 + m        | key id: length m (0–255), then CKA_ID of that key                      |
//! | 1 + v        | IV: length v (12 for GCM, 0 for OAEP), then the IV                     |
//! | 2 + c        | ciphertext: length c (big-endian u16), then ciphertext (GCM: 32-byte root key + 16-byte tag; OAEP: one RSA block) |
//!
//! The first five fields are the *key header*. For GCM the associated data is
//! [`GCM_AAD_CONTEXT`] followed by the key header, so a mechanism or key reference altered in
//! storage fails the tag check; the IV is authenticated by GCM itself, and kept out of the
//! associated data so that a token which picks its own IV still works. The key reference names
//! the key object (its CKA_LABEL and CKA_ID as read from the token), not the configuration
//! text: a seal unwraps only blobs that name its own key, anything else is `WrongKey` without
//! a call to the token.
use crate::config::{Mechanism, OaepHash};
use coffer_seal::SealError;

pub const VERSION: u8 = 1;
/// Domain separation for the GCM associated data (never empty: SoftHSM mishandles empty AAD).
pub const GCM_AAD_CONTEXT: &[u8] = b"coffer/pkcs11/root-key/v1";
pub const GCM_IV_LEN: usize = 12;
pub const GCM_TAG_LEN: usize = 16;

/// A parsed blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    pub mechanism: Mechanism,
    pub hash: Option<OaepHash>,
    pub key_label: Vec<u8>,
    pub key_id: Vec<u8>,
    pub iv: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

fn malformed(what: &str) -> SealError {
    SealError::Backend(format!("stored root key blob is malformed: {what}"))
}

fn mechanism_code(m: Mechanism) -> u8 {
    match m {
        Mechanism::AesGcm => 1,
        Mechanism::RsaOaep => 2,
    }
}

fn hash_code(h: Option<OaepHash>) -> u8 {
    match h {
        None => 0,
        Some(OaepHash::Sha1) => 1,
        Some(OaepHash::Sha224) => 2,
        Some(OaepHash::Sha256) => 3,
        Some(OaepHash::Sha384) => 4,
        Some(OaepHash::Sha512) => 5,
    }
}

fn push_short(out: &mut Vec<u8>, field: &[u8], what: &str) -> Result<(), SealError> {
    let len = u8::try_from(field.len()).map_err(|_| SealError::Backend(format!("{what} is longer than 255 bytes")))?;
    out.push(len);
    out.extend_from_slice(field);
    Ok(())
}

impl Blob {
    /// The key header: version, mechanism, hash, key label, key id.
    pub fn key_header(&self) -> Result<Vec<u8>, SealError> {
        let mut out = Vec::with_capacity(5 + self.key_label.len() + self.key_id.len());
        out.push(VERSION);
        out.push(mechanism_code(self.mechanism));
        out.push(hash_code(self.hash));
        push_short(&mut out, &self.key_label, "the key label")?;
        push_short(&mut out, &self.key_id, "the key id")?;
        Ok(out)
    }

    /// The GCM associated data: [`GCM_AAD_CONTEXT`] then the key header.
    pub fn gcm_aad(&self) -> Result<Vec<u8>, SealError> {
        let mut aad = GCM_AAD_CONTEXT.to_vec();
        aad.extend_from_slice(&self.key_header()?);
        Ok(aad)
    }

    /// Serializes to the documented layout.
    pub fn encode(&self) -> Result<Vec<u8>, SealError> {
        let mut out = self.key_header()?;
        push_short(&mut out, &self.iv, "the IV")?;
        let ct_len = u16::try_from(self.ciphertext.len())
            .map_err(|_| SealError::Backend("ciphertext is longer than 65535 bytes".into()))?;
        out.extend_from_slice(&ct_len.to_be_bytes());
        out.extend_from_slice(&self.ciphertext);
        Ok(out)
    }

    /// Parses a stored blob. Structure errors are `Backend` (malformed storage), not
    /// `WrongKey`.
    pub fn parse(bytes: &[u8]) -> Result<Blob, SealError> {
        let mut r = Reader { rest: bytes };
        let version = r.byte("the version")?;
        if version != VERSION {
            return Err(SealError::Backend(format!("stored root key blob has unknown version {version}")));
        }
        let mechanism = match r.byte("the mechanism")? {
            1 => Mechanism::AesGcm,
            2 => Mechanism::RsaOaep,
            m => return Err(malformed(&format!("unknown mechanism code {m}"))),
        };
        let hash = match r.byte("the hash")? {
            0 => None,
            1 => Some(OaepHash::Sha1),
            2 => Some(OaepHash::Sha224),
            3 => Some(OaepHash::Sha256),
            4 => Some(OaepHash::Sha384),
            5 => Some(OaepHash::Sha512),
            h => return Err(malformed(&format!("unknown hash code {h}"))),
        };
        if (mechanism == Mechanism::AesGcm) != hash.is_none() {
            return Err(malformed("hash does not fit the mechanism"));
        }
        let key_label = r.short("the key label")?.to_vec();
        let key_id = r.short("the key id")?.to_vec();
        let iv = r.short("the IV")?.to_vec();
        let len = r.take(2, "the ciphertext length")?;
        let ct_len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        let ciphertext = r.take(ct_len, "the ciphertext")?.to_vec();
        if !r.rest.is_empty() {
            return Err(malformed(&format!("{} bytes after the ciphertext", r.rest.len())));
        }
        Ok(Blob { mechanism, hash, key_label, key_id, iv, ciphertext })
    }
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], SealError> {
        if self.rest.len() < n {
            return Err(malformed(&format!("truncated in {what}")));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }
    fn byte(&mut self, what: &str) -> Result<u8, SealError> {
        Ok(self.take(1, what)?[0])
    }
    fn short(&mut self, what: &str) -> Result<&'a [u8], SealError> {
        let n = usize::from(self.byte(what)?);
        self.take(n, what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Blob {
        Blob {
            mechanism: Mechanism::AesGcm,
            hash: None,
            key_label: b"coffer-root".to_vec(),
            key_id: vec![0x0a, 0x1b],
            iv: vec![7; GCM_IV_LEN],
            ciphertext: vec![9; 48],
        }
    }

    /// encode/parse round trip, with the documented layout byte for byte.
    #[test]
    fn layout() {
        let b = sample();
        let bytes = b.encode().expect("encode");
        let mut want = vec![1, 1, 0, 11];
        want.extend_from_slice(b"coffer-root");
        want.extend_from_slice(&[2, 0x0a, 0x1b, 12]);
        want.extend_from_slice(&[7; 12]);
        want.extend_from_slice(&[0, 48]);
        let header_len = want.len();
        want.extend_from_slice(&[9; 48]);
        assert_eq!(bytes, want);
        let back = Blob::parse(&bytes).expect("parse");
        assert_eq!(back, b);
        let key_header = b.key_header().expect("header");
        assert_eq!(key_header, bytes[..key_header.len()]);
        assert!(header_len > key_header.len());
        let mut aad = GCM_AAD_CONTEXT.to_vec();
        aad.extend_from_slice(&key_header);
        assert_eq!(b.gcm_aad().expect("aad"), aad);
    }

    /// Every truncation, any trailing byte, unknown version/mechanism/hash codes are
    /// malformed-storage errors (Backend), never a panic.
    #[test]
    fn malformed_inputs() {
        let bytes = sample().encode().expect("encode");
        for n in 0..bytes.len() {
            assert!(matches!(Blob::parse(&bytes[..n]), Err(SealError::Backend(_))), "cut at {n}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(Blob::parse(&longer), Err(SealError::Backend(_))));
        for (pos, val) in [(0, 2u8), (1, 3), (2, 9), (2, 1)] {
            let mut bad = bytes.clone();
            bad[pos] = val;
            assert!(matches!(Blob::parse(&bad), Err(SealError::Backend(_))), "byte {pos} = {val}");
        }
    }
}
