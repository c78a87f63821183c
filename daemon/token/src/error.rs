//! The one error type of the token store. Variants say what the caller can do; the HTTP status
//! each maps to is given by [`TokenError::status`] (the core maps it in one place).
use coffer_logical::LogicalError;
use coffer_storage::StorageError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum TokenError {
    /// 400 with this message (OpenBao's `logical.ErrorResponse`).
    #[error("{0}")]
    InvalidRequest(String),
    /// 403 with this message ("bad token", "permission denied").
    #[error("{0}")]
    Forbidden(String),
    /// 404 with an empty error list.
    #[error("not found")]
    NotFound,
    /// 404 "unsupported path".
    #[error("unsupported path")]
    UnsupportedPath,
    /// 405: the path exists, not for this operation.
    #[error("unsupported operation")]
    UnsupportedOperation,
    /// Storage failed (sealed, integrity, unavailable).
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// 500 with this message.
    #[error("{0}")]
    Internal(String),
}

pub type Result<T> = std::result::Result<T, TokenError>;

impl TokenError {
    /// The HTTP status OpenBao answers with (storage errors: the core decides, 500 here).
    pub fn status(&self) -> u16 {
        match self {
            TokenError::InvalidRequest(_) => 400,
            TokenError::Forbidden(_) => 403,
            TokenError::NotFound | TokenError::UnsupportedPath => 404,
            TokenError::UnsupportedOperation => 405,
            TokenError::Storage(StorageError::Sealed) => 503,
            TokenError::Storage(_) | TokenError::Internal(_) => 500,
        }
    }

    pub(crate) fn bad(msg: impl Into<String>) -> Self {
        TokenError::InvalidRequest(msg.into())
    }

    /// OpenBao wraps `logical.StatusBadRequest` errors in a go-multierror: the text clients see
    /// is `1 error occurred:\n\t* <msg>\n\n`.
    pub(crate) fn multi(msg: &str) -> Self {
        TokenError::InvalidRequest(format!("1 error occurred:\n\t* {msg}\n\n"))
    }

    pub(crate) fn internal(msg: impl std::fmt::Display) -> Self {
        TokenError::Internal(msg.to_string())
    }
}

/// For callers that speak only `LogicalError`. A 403's message is lost (LogicalError has no
/// message for it): map [`TokenError`] directly where the text matters.
impl From<TokenError> for LogicalError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::InvalidRequest(m) => LogicalError::InvalidRequest(m),
            TokenError::Forbidden(_) => LogicalError::PermissionDenied,
            TokenError::NotFound => LogicalError::NotFound,
            TokenError::UnsupportedPath => LogicalError::UnsupportedPath,
            TokenError::UnsupportedOperation => LogicalError::UnsupportedOperation,
            TokenError::Storage(s) => LogicalError::Storage(s),
            TokenError::Internal(m) => LogicalError::Internal(m),
        }
    }
}

/// Errors a backend's `renew_auth` returns come back as token errors.
impl From<LogicalError> for TokenError {
    fn from(e: LogicalError) -> Self {
        match e {
            LogicalError::InvalidRequest(m) => TokenError::InvalidRequest(m),
            LogicalError::PermissionDenied => TokenError::Forbidden("permission denied".into()),
            LogicalError::NotFound => TokenError::NotFound,
            LogicalError::UnsupportedPath => TokenError::UnsupportedPath,
            LogicalError::UnsupportedOperation => TokenError::UnsupportedOperation,
            LogicalError::Storage(s) => TokenError::Storage(s),
            LogicalError::Internal(m) => TokenError::Internal(m),
        }
    }
}
