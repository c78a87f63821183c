//! The crate's one error type.
//!
//! Every message names the file (or files) it came from, the key that is wrong and why, so an
//! operator can fix the configuration without reading source code:
//!
//! ```text
//! error loading configuration from /etc/coffer/coffer.hcl: listener.tcp.max_request_duration: invalid duration "ten" (line 7, column 3)
//! ```

use std::fmt;
use std::path::PathBuf;

/// A position in a configuration file (one-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    /// One-based line number.
    pub line: usize,
    /// One-based column number (in bytes).
    pub column: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Why the configuration could not be loaded. Nothing has been started when this is returned.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `load` was called without any path.
    #[error("no configuration given: at least one -config path is required")]
    NoConfig,

    /// A configuration path could not be read.
    #[error("error loading configuration from {}: {source}", path.display())]
    Io {
        /// The file or directory that could not be read.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },

    /// The file is not valid HCL or JSON.
    #[error("error loading configuration from {file}: syntax error{}: {message}", at(.pos))]
    Syntax {
        /// The file's name as given.
        file: String,
        /// Where the parser stopped, when it says.
        pos: Option<Pos>,
        /// The parser's reason.
        message: String,
    },

    /// A key has a value Coffer cannot accept, or a required key is missing.
    #[error("error loading configuration from {file}: {key}: {reason}{}", paren(.pos))]
    Invalid {
        /// The file (or, for whole-configuration checks, the files) the problem is in.
        file: String,
        /// The dotted key, e.g. `listener.tcp.tls_cert_file` or `storage`.
        key: String,
        /// What is wrong.
        reason: String,
        /// Where the key is, when the format records it (HCL does, JSON does not).
        pos: Option<Pos>,
    },
}

impl ConfigError {
    /// The file the error is about, when there is one.
    pub fn file(&self) -> Option<&str> {
        match self {
            ConfigError::NoConfig | ConfigError::Io { .. } => None,
            ConfigError::Syntax { file, .. } | ConfigError::Invalid { file, .. } => Some(file),
        }
    }

    /// The dotted key the error is about, when there is one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } => Some(key),
            _ => None,
        }
    }
}

fn at(pos: &Option<Pos>) -> String {
    pos.map(|p| format!(" at {p}")).unwrap_or_default()
}

fn paren(pos: &Option<Pos>) -> String {
    pos.map(|p| format!(" ({p})")).unwrap_or_default()
}

/// Builds errors and warnings for one file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub source: &'a str,
}

impl Ctx<'_> {
    pub(crate) fn invalid(&self, key: &str, reason: impl Into<String>, pos: Option<Pos>) -> ConfigError {
        ConfigError::Invalid { file: self.source.to_string(), key: key.to_string(), reason: reason.into(), pos }
    }

    pub(crate) fn warning(&self, key: &str, message: &str, pos: Option<Pos>) -> String {
        match pos {
            Some(p) => format!("{}:{}:{}: {key}: {message}", self.source, p.line, p.column),
            None => format!("{}: {key}: {message}", self.source),
        }
    }
}
