//! The crate's one error enum. Messages never carry salts, tokens or entry data.

/// What went wrong in an audit device, the broker or the verifier.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A device option is missing or malformed. The text is OpenBao's where OpenBao has one
    /// (`file_path is required`, `unknown format type "x"`, `strconv.ParseBool: ...`).
    #[error("{0}")]
    InvalidConfig(String),

    /// The device could not write the entry (open, write, connect failed).
    #[error("audit device {device}: {source}")]
    Io {
        device: String,
        #[source]
        source: std::io::Error,
    },

    /// The device did not accept the entry within its write timeout.
    #[error("audit device {device}: write timed out after {after:?}")]
    Timeout { device: String, after: std::time::Duration },

    /// Fail-closed: devices are enabled but none of them recorded the entry. The core must refuse
    /// the request. `kind` is "request" or "response"; the text is OpenBao's.
    #[error("no audit backend succeeded in logging the {kind}")]
    NotRecorded { kind: &'static str, failed: usize },

    /// No device is registered at that path.
    #[error("unknown audit backend {0:?}")]
    UnknownDevice(String),

    /// A device is already registered at that path.
    #[error("path already in use at {0:?}")]
    PathInUse(String),

    /// An entry could not be serialized (should not happen for well-formed input).
    #[error("audit entry could not be encoded: {0}")]
    Encode(String),

    /// Reading a log for verification or chain recovery failed.
    #[error("reading audit log: {0}")]
    Read(#[source] std::io::Error),
}

impl AuditError {
    pub(crate) fn io(device: &str, source: std::io::Error) -> Self {
        AuditError::Io { device: device.to_string(), source }
    }
}
