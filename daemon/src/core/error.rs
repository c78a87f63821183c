//! The core's one error enum. Variants say what the caller can do; `api::error` maps them to
//! HTTP status codes and OpenBao's `{"errors":[...]}` body in one place.
use coffer_logical::LogicalError;
use coffer_seal::SealError;
use coffer_storage::StorageError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CoreError {
    /// 503: the barrier is sealed.
    #[error("Vault is sealed")]
    Sealed,
    /// 400: the request is wrong; the message says how.
    #[error("{0}")]
    InvalidRequest(String),
    /// 403: no token, an unknown token, or a token whose policies do not allow this.
    #[error("permission denied")]
    PermissionDenied,
    /// 400: the stored seal differs from the configured one; only a seal migration can help,
    /// so retrying is pointless.
    #[error("{0}")]
    SealMigrationRequired(String),
    /// 403: the token's policies do not allow this (OpenBao's multi-error body).
    #[error("permission denied")]
    AclDenied,
    /// 403 with this message ("bad token", ...).
    #[error("{0}")]
    Forbidden(String),
    /// 404 with OpenBao's "unsupported path" body.
    #[error("unsupported path")]
    UnsupportedPath,
    /// 404 with an empty error list: nothing stored at this path.
    #[error("")]
    NotFound,
    /// 404 with OpenBao's "no handler for route" body.
    #[error("no handler for route {0:?}. route entry not found.")]
    NoRoute(String),
    /// 405: the path exists but not for this operation.
    #[error("unsupported operation")]
    UnsupportedOperation,
    /// 500: stored data failed authentication. Never turned into "not found".
    #[error("{0}")]
    Integrity(String),
    /// 503: storage or the seal cannot serve right now.
    #[error("{0}")]
    Unavailable(String),
    /// 500: anything else.
    #[error("{0}")]
    Internal(String),
}

impl From<StorageError> for CoreError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Sealed => CoreError::Sealed,
            StorageError::Integrity { .. } => CoreError::Integrity(e.to_string()),
            StorageError::InvalidInput(m) => CoreError::InvalidRequest(m),
            StorageError::Unavailable(_) => CoreError::Unavailable(e.to_string()),
            StorageError::WrongKey | StorageError::Backend(_) => CoreError::Internal(e.to_string()),
        }
    }
}

impl From<SealError> for CoreError {
    fn from(e: SealError) -> Self {
        match e {
            SealError::InvalidConfig(_)
            | SealError::InvalidShare(_)
            | SealError::CombineFailed(_)
            | SealError::WrongKey => CoreError::InvalidRequest(e.to_string()),
            SealError::Unavailable(_) => CoreError::Unavailable(e.to_string()),
            SealError::Backend(_) => CoreError::Internal(e.to_string()),
        }
    }
}

pub type Result<T> = std::result::Result<T, CoreError>;

impl From<LogicalError> for CoreError {
    fn from(e: LogicalError) -> Self {
        match e {
            LogicalError::InvalidRequest(m) => CoreError::InvalidRequest(m),
            LogicalError::PermissionDenied => CoreError::PermissionDenied,
            LogicalError::NotFound => CoreError::NotFound,
            LogicalError::UnsupportedPath => CoreError::UnsupportedPath,
            LogicalError::UnsupportedOperation => CoreError::UnsupportedOperation,
            LogicalError::Storage(s) => s.into(),
            LogicalError::Internal(m) => CoreError::Internal(m),
        }
    }
}

impl From<coffer_token::TokenError> for CoreError {
    fn from(e: coffer_token::TokenError) -> Self {
        use coffer_token::TokenError as T;
        match e {
            T::InvalidRequest(m) => CoreError::InvalidRequest(m),
            T::Forbidden(m) if m == "permission denied" => CoreError::PermissionDenied,
            T::Forbidden(m) => CoreError::Forbidden(m),
            T::NotFound => CoreError::NotFound,
            T::UnsupportedPath => CoreError::UnsupportedPath,
            T::UnsupportedOperation => CoreError::UnsupportedOperation,
            T::Storage(s) => s.into(),
            T::Internal(m) => CoreError::Internal(m),
        }
    }
}
