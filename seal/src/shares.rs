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
    decoded
        .map(SecretBytes::new)
        .map_err(|_| SealError::InvalidShare(NOT_HEX_OR_BASE64.to_owned()))
}

/// A share as the `keys` entry of an init response (lower-case hex).
pub fn share_hex(share: &SecretBytes) -> SecretString {
    SecretString::new(hex::encode(share.expose()))
}

/// A share as the `keys_base64` entry of an init response (standard padded base64).
pub fn share_base64(share: &SecretBytes) -> SecretString {
    SecretString::new(base64::engine::general_purpose::STANDARD.encode(share.expose()))
}
