//! Unseal keys and their shares as operators see them: generated at init, typed back at unseal.
use crate::config::SealConfig;
use crate::error::{Result, SealError};
use crate::shamir;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use coffer_hardening::secret::{Key256, SecretBytes, SecretString};
use zeroize::Zeroizing;

/// Shortest key OpenBao accepts at unseal (an AES-128 key), in bytes.
pub const MIN_KEY_LEN: usize = 16;
/// Longest share OpenBao accepts at unseal: a 32-byte key plus the x-coordinate byte.
pub const MAX_SHARE_LEN: usize = Key256::LEN + shamir::SHARE_OVERHEAD;

/// The text OpenBao answers when `key` decodes as neither hex nor base64.
pub const NOT_HEX_OR_BASE64: &str = "'key' must be a valid hex or base64 string";

/// A new unseal key and its shares, for init (and later rekey). With one share, the share IS
/// the 32-byte key (as OpenBao); otherwise each share is 33 bytes (key bytes + x-coordinate).
/// `Debug` shows neither (both field types redact themselves).
#[derive(Debug)]
pub struct NewShares {
    pub unseal_key: Key256,
    pub shares: Vec<SecretBytes>,
}

/// A fresh random unseal key split as `cfg` says (the configuration is checked again here).
pub fn generate_shares(cfg: &SealConfig) -> Result<NewShares> {
    cfg.validate()?;
    let unseal_key = Key256::generate();
    let shares = if cfg.secret_shares == 1 {
        vec![SecretBytes::new(unseal_key.expose().to_vec())]
    } else {
        shamir::split(unseal_key.expose(), cfg.secret_shares, cfg.secret_threshold)?
    };
    Ok(NewShares { unseal_key, shares })
}

/// Go's `base64.StdEncoding`: standard alphabet, padding required, non-zero trailing bits
/// tolerated (Go does not check them).
const GO_STD_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// Decodes a share typed by an operator the way OpenBao's `sys/unseal` handler does: as hex
/// first, kept only if it gives 16..=33 bytes (so a base64 string made only of hex digits
/// can still be read as base64); otherwise as standard padded base64 (CR and LF ignored, as
/// Go does). Lengths are checked later, by [`crate::UnsealProgress::add`].
///
/// Error: `SealError::InvalidShare("'key' must be a valid hex or base64 string")`.
pub fn decode_share(s: &str) -> Result<SecretBytes> {
    if let Ok(bytes) = hex::decode(s) {
        let bytes = Zeroizing::new(bytes);
        if (MIN_KEY_LEN..=MAX_SHARE_LEN).contains(&bytes.len()) {
            return Ok(SecretBytes::new(bytes.to_vec()));
        }
    }
    let decoded = if s.contains(['\r', '\n']) {
        let stripped = Zeroizing::new(s.replace(['\r', '\n'], ""));
        GO_STD_BASE64.decode(stripped.as_bytes())
    } else {
        GO_STD_BASE64.decode(s.as_bytes())
    };
    decoded.map(SecretBytes::new).map_err(|_| SealError::InvalidShare(NOT_HEX_OR_BASE64.to_owned()))
}

/// A share as the `keys` entry of an init response (lower-case hex).
pub fn share_hex(share: &SecretBytes) -> SecretString {
    SecretString::new(hex::encode(share.expose()))
}

/// A share as the `keys_base64` entry of an init response (standard padded base64).
pub fn share_base64(share: &SecretBytes) -> SecretString {
    SecretString::new(base64::engine::general_purpose::STANDARD.encode(share.expose()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::fixture;

    fn decoded(s: &str) -> Vec<u8> {
        decode_share(s).expect("decodes").expose().to_vec()
    }

    /// The fixture's shares decode the same from `keys` (hex) and `keys_base64`, and encode
    /// back to exactly those strings.
    #[test]
    fn fixture_shares_hex_and_base64_agree() {
        let v = fixture("sys-init-put-3-shares-threshold-2.json");
        let body = &v["response"]["body"];
        for i in 0..3 {
            let h = body["keys"][i].as_str().expect("hex");
            let b = body["keys_base64"][i].as_str().expect("b64");
            let share = decode_share(h).expect("hex share");
            assert_eq!(share.len(), 33);
            assert_eq!(decoded(b), share.expose());
            assert_eq!(share_hex(&share).expose(), h);
            assert_eq!(share_base64(&share).expose(), b);
        }
    }

    /// Hex is tried first but kept only for 16..=33 bytes; 44 'A's are 22 bytes of hex (not
    /// 33 zero bytes of base64), as OpenBao reads them (fixture
    /// sys-unseal-wrong-share-accepted-progress-1).
    #[test]
    fn hex_first_within_share_lengths() {
        assert_eq!(decoded(&"A".repeat(44)), vec![0xaa; 22]);
        assert_eq!(decoded(&"AB".repeat(32)), vec![0xab; 32]);
        assert_eq!(decoded(&"ab".repeat(32)), vec![0xab; 32], "lower-case hex");
        // 2 bytes of hex is too short to be a share: read as base64 instead (3 bytes).
        assert_eq!(decoded("abcd"), vec![0x69, 0xb7, 0x1d]);
        // 34 bytes of hex is too long: read as base64 (51 bytes).
        assert_eq!(decoded(&"ab".repeat(34)).len(), 51);
    }

    /// Base64 as Go's StdEncoding: padding required, CR/LF ignored, trailing bits tolerated.
    #[test]
    fn base64_like_go() {
        assert_eq!(decoded("QUI="), b"AB");
        assert_eq!(decoded("QUJD\n"), b"ABC");
        assert_eq!(decoded("QUJ="), b"AB", "non-zero trailing bits are accepted by Go");
        assert_eq!(decoded(""), b"", "empty decodes; the caller refuses it by length");
    }

    /// Everything that is neither gets OpenBao's text (fixture sys-unseal-bad-key; the other
    /// inputs observed on OpenBao 2.7.2 with the same answer).
    #[test]
    fn neither_hex_nor_base64() {
        let want =
            fixture("sys-unseal-bad-key.json")["response"]["body"]["errors"][0].as_str().expect("text").to_owned();
        for s in ["not-a-key", "ab", "abc", "abcdef", "a", "QUI", "QU I=", "****"] {
            match decode_share(s) {
                Ok(v) => panic!("{s:?} decoded to {} bytes", v.len()),
                Err(e) => assert_eq!(e.to_string(), want, "{s:?}"),
            }
        }
    }

    /// One share: the share is the 32-byte key itself (as OpenBao's 1-of-1 init).
    #[test]
    fn one_share_is_the_key() {
        let n = generate_shares(&SealConfig::shamir(1, 1).expect("cfg")).expect("generate");
        assert_eq!(n.shares.len(), 1);
        assert_eq!(n.shares[0].expose(), n.unseal_key.expose());
    }

    /// Several shares: 33 bytes each, any threshold of them combine to the unseal key, and
    /// two inits give different keys.
    #[test]
    fn shares_combine_to_the_key() {
        let cfg = SealConfig::shamir(5, 3).expect("cfg");
        let n = generate_shares(&cfg).expect("generate");
        assert_eq!(n.shares.len(), 5);
        assert!(n.shares.iter().all(|s| s.len() == 33));
        let some: Vec<SecretBytes> =
            [4, 0, 2].iter().map(|&i| SecretBytes::new(n.shares[i].expose().to_vec())).collect();
        assert_eq!(shamir::combine(&some).expect("combine").expose(), n.unseal_key.expose());
        let m = generate_shares(&cfg).expect("generate");
        assert_ne!(m.unseal_key.expose(), n.unseal_key.expose());
    }

    /// An unchecked hand-built config is refused, not split.
    #[test]
    fn generate_checks_config() {
        let bad = SealConfig { seal_type: "shamir".into(), secret_shares: 2, secret_threshold: 3 };
        assert!(matches!(generate_shares(&bad), Err(SealError::InvalidConfig(_))));
    }

    /// `Debug` of new shares shows no key or share bytes.
    #[test]
    fn debug_redacts() {
        let n = generate_shares(&SealConfig::shamir(2, 2).expect("cfg")).expect("generate");
        let s = format!("{n:?}");
        assert!(s.contains("redacted"), "{s}");
        assert!(!s.contains(&hex::encode(n.unseal_key.expose())), "{s}");
        for sh in &n.shares {
            assert!(!s.contains(&hex::encode(sh.expose())), "{s}");
        }
    }
}
