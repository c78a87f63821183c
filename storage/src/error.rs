//! The one error type of the storage crate. Variants name what a caller can do about it.
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StorageError {
    /// The barrier is sealed: nothing can be read or written until it is unsealed.
    #[error("Vault is sealed")]
    Sealed,
    /// A stored value failed authentication: altered, truncated, or copied from another path.
    #[error("integrity check failed for {path:?}: the stored value was altered or moved")]
    Integrity { path: String },
    /// The key given cannot open the keyring (wrong root key).
    #[error("the root key does not open the keyring")]
    WrongKey,
    /// The request itself is malformed (bad key, bad configuration value).
    #[error("{0}")]
    InvalidInput(String),
    /// The backend cannot serve now (not initialized, no leader, shutting down); retry later.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The backend failed (I/O, corruption below the barrier, a bug). Not retryable as is.
    #[error("storage backend error: {0}")]
    Backend(String),
}

pub type Result<T> = std::result::Result<T, StorageError>;
