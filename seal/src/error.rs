//! The one error type of the seal crate. Variants name what a caller can do about it; the
//! `Display` texts are OpenBao's words where OpenBao has them, so the API layer can put
//! `err.to_string()` into `{"errors":[...]}` unchanged. No text ever contains key or share bytes.
use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SealError {
    /// The seal configuration (or a split request) is invalid; the reason is OpenBao's, e.g.
    /// "threshold cannot be larger than shares".
    #[error("invalid seal configuration: {0}")]
    InvalidConfig(String),
    /// A share cannot be used as given (not hex/base64, too short, too long). The string is
    /// the complete operator-facing text, e.g. "'key' must be a valid hex or base64 string" or
    /// "invalid key: key is shorter than minimum 16 bytes".
    #[error("{0}")]
    InvalidShare(String),
    /// The shares given could not be combined (different lengths, same x-coordinate twice).
    #[error("invalid key: failed to compute combined key: {0}")]
    CombineFailed(String),
    /// The key does not open the stored root key (wrong unseal key, wrong shares, or a stored
    /// blob that was altered: AES-GCM cannot tell these apart). OpenBao's text for it.
    #[error(
        "unable to retrieve stored keys: invalid key: failed to decrypt keys from storage: \
         cipher: message authentication failed"
    )]
    WrongKey,
    /// The seal device or service cannot answer now (HSM gone, KMS unreachable); retry later.
    #[error("seal unavailable: {0}")]
    Unavailable(String),
    /// The seal failed otherwise (malformed stored blob, device error). Not retryable as is.
    #[error("seal backend error: {0}")]
    Backend(String),
}

pub type Result<T> = std::result::Result<T, SealError>;
