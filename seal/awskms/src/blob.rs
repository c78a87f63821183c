//! The stored form of the wrapped root key.
//!
//! Version 1 (all integers big-endian):
//!
//! ```text
//! [0xA1]                      version; distinct from the Shamir blob's 0x01
//! [u16 n][n bytes]            ARN of the KMS key that encrypted the data key
//! [u16 m][m bytes]            the data key as encrypted by KMS (KMS's ciphertext blob)
//! [12 bytes]                  AES-GCM nonce
//! [48 bytes]                  AES-256-GCM ciphertext of the root key + 16-byte tag
//! ```
//!
//! The header (everything before the nonce) is bound as GCM associated data, after the
//! domain label [`AAD_LABEL`], so no header byte can change without the tag failing.
use coffer_seal::SealError;

pub const VERSION: u8 = 0xA1;
pub const NONCE_LEN: usize = 12;
pub const SEALED_LEN: usize = 32 + 16;
pub const AAD_LABEL: &[u8] = b"coffer/awskms/root-key/v1";
/// KMS ciphertext blobs are at most 6144 bytes; ARNs at most 2048.
const MAX_FIELD: usize = 6144;

#[derive(Debug, PartialEq, Eq)]
pub struct Blob<'a> {
    pub key_arn: &'a str,
    pub encrypted_dek: &'a [u8],
    pub nonce: &'a [u8],
    pub sealed: &'a [u8],
    /// Everything before the nonce: the GCM associated data after [`AAD_LABEL`].
    pub header: &'a [u8],
}

/// The header for a new blob.
pub fn header(key_arn: &str, encrypted_dek: &[u8]) -> Result<Vec<u8>, SealError> {
    let arn_len = u16::try_from(key_arn.len()).map_err(|_| SealError::Backend("KMS key ARN too long".into()))?;
    let dek_len =
        u16::try_from(encrypted_dek.len()).map_err(|_| SealError::Backend("KMS ciphertext too long".into()))?;
    let mut h = Vec::with_capacity(5 + key_arn.len() + encrypted_dek.len());
    h.push(VERSION);
    h.extend_from_slice(&arn_len.to_be_bytes());
    h.extend_from_slice(key_arn.as_bytes());
    h.extend_from_slice(&dek_len.to_be_bytes());
    h.extend_from_slice(encrypted_dek);
    Ok(h)
}

pub fn aad(header: &[u8]) -> Vec<u8> {
    [AAD_LABEL, header].concat()
}

fn malformed(what: &str) -> SealError {
    SealError::Backend(format!("stored root key blob is malformed: {what}"))
}

fn take_field<'a>(rest: &mut &'a [u8], what: &str) -> Result<&'a [u8], SealError> {
    if rest.len() < 2 {
        return Err(malformed(what));
    }
    let n = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
    if n == 0 || n > MAX_FIELD || rest.len() < 2 + n {
        return Err(malformed(what));
    }
    let field = &rest[2..2 + n];
    *rest = &rest[2 + n..];
    Ok(field)
}

/// Splits a stored blob; every length is checked, nothing panics on any input.
pub fn parse(blob: &[u8]) -> Result<Blob<'_>, SealError> {
    let Some((&version, mut rest)) = blob.split_first() else {
        return Err(SealError::Backend("stored root key blob is empty".into()));
    };
    if version != VERSION {
        return Err(SealError::Backend(format!(
            "stored root key blob has version {version:#04x}, not an awskms blob ({VERSION:#04x})"
        )));
    }
    let arn = take_field(&mut rest, "key ARN")?;
    let key_arn = std::str::from_utf8(arn).map_err(|_| malformed("key ARN is not UTF-8"))?;
    let encrypted_dek = take_field(&mut rest, "encrypted data key")?;
    if rest.len() != NONCE_LEN + SEALED_LEN {
        return Err(malformed("ciphertext length"));
    }
    let header = &blob[..blob.len() - rest.len()];
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    Ok(Blob { key_arn, encrypted_dek, nonce, sealed, header })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut b = header("arn:aws:kms:us-east-1:1:key/x", &[7u8; 90]).expect("header");
        b.extend_from_slice(&[1u8; NONCE_LEN]);
        b.extend_from_slice(&[2u8; SEALED_LEN]);
        b
    }

    /// A blob built from parts parses back into the same parts.
    #[test]
    fn round_trip() {
        let b = sample();
        let p = parse(&b).expect("parse");
        assert_eq!(p.key_arn, "arn:aws:kms:us-east-1:1:key/x");
        assert_eq!(p.encrypted_dek, &[7u8; 90][..]);
        assert_eq!(p.nonce, &[1u8; NONCE_LEN][..]);
        assert_eq!(p.sealed, &[2u8; SEALED_LEN][..]);
        assert_eq!(p.header.len(), 1 + 2 + 29 + 2 + 90);
    }

    /// Every prefix and every one-byte extension is rejected without a panic; so is another
    /// version.
    #[test]
    fn cut_extended_or_foreign_blobs_are_errors() {
        let b = sample();
        for n in 0..b.len() {
            assert!(parse(&b[..n]).is_err(), "prefix of {n} bytes parsed");
        }
        let mut longer = b.clone();
        longer.push(0);
        assert!(parse(&longer).is_err());
        let mut v = b.clone();
        v[0] = 0x01;
        assert!(matches!(parse(&v), Err(SealError::Backend(m)) if m.contains("not an awskms blob")));
        // Length fields pointing past the end, or zero.
        let mut z = b.clone();
        z[1] = 0;
        z[2] = 0;
        assert!(parse(&z).is_err());
        let mut big = b;
        big[1] = 0xff;
        assert!(parse(&big).is_err());
    }
}
