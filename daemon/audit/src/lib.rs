//! Coffer's audit devices, compatible with OpenBao 2.7.2's.
//!
//! * [`AuditInput`] is what the core knows about a request and its response.
//! * [`EntryFormatter`] writes OpenBao's entries byte for byte: field names, order, nesting,
//!   omitted empty fields, Go's JSON escaping, and HMAC-SHA256 with the device's [`Salt`] of
//!   tokens, accessors (`hmac_accessor`) and every string in request and response data, with
//!   `log_raw`, `elide_list_responses` and `prefix`.
//! * [`AuditDevice`] is one enabled device (`file`, `socket`, `syslog`; see [`DeviceConfig`]);
//!   [`AuditBroker`] holds them and fails closed: an entry no enabled device recorded is an
//!   error, and the core must refuse the request.
//! * Beyond OpenBao, each line ends with a hash-chain link (see [`chain`]); [`verify`] finds the
//!   first deleted, inserted, reordered or edited line of a log.
#![forbid(unsafe_code)]

mod broker;
pub mod chain;
mod config;
mod device;
mod error;
mod format;
mod gojson;
mod input;
mod salt;
pub mod sink;

pub use broker::AuditBroker;
pub use chain::{
    verify, verify_with, ChainHead, ChainKey, Finding, FindingKind, InsertedHow, VerifyOptions, VerifyReport,
};
pub use config::{
    facility_code, parse_duration_second, DeviceConfig, DeviceKind, FileConfig, FileTarget, SinkConfig, SocketConfig,
    SocketType, SyslogConfig, SyslogFormat,
};
pub use device::AuditDevice;
pub use error::AuditError;
pub use format::{EntryFormatter, FormatOptions};
pub use input::{AuditInput, AuthInfo, PolicyInfo, PolicyResults, RequestInfo, ResponseInfo, SecretInfo, WrapInfo};
pub use salt::{Salt, HMAC_PREFIX};
