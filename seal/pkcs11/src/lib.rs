//! The PKCS#11 seal: Coffer's root key wrapped by a key that never leaves an HSM.
//!
//! Configured with OpenBao's `seal "pkcs11"` stanza ([`Pkcs11Config::from_attrs`]); talks to
//! the module through `cryptoki` (safe Rust over the C API; this crate has no `unsafe`).
//!
//! - Mechanisms: `CKM_AES_GCM` (AES key; 96-bit random IV, 128-bit tag, non-empty associated
//!   data) and `CKM_RSA_PKCS_OAEP` (RSA key pair; `rsa_oaep_hash`, SoftHSM 2.6 only does sha1).
//! - Blob layout: [`blob`] (version, mechanism, key reference, IV, ciphertext+tag).
//! - Sessions: a bounded pool (`max_parallel`), each session used by one blocking task at a
//!   time. A lost session, login or module (`CKR_SESSION_HANDLE_INVALID`,
//!   `CKR_USER_NOT_LOGGED_IN`, `CKR_CRYPTOKI_NOT_INITIALIZED`, `CKR_DEVICE_REMOVED`, ...)
//!   is repaired (re-initialize, new sessions, log in, find the key) and the call retried
//!   once.
//! - Errors: `Unavailable` (token or device not reachable, key missing: may come back),
//!   `WrongKey` (GCM tag or OAEP check failed, or the blob names another key),
//!   `InvalidConfig` (library, PIN, mechanism, ambiguous key: the operator must act),
//!   `Backend` (malformed blob, other device errors).
#![forbid(unsafe_code)]

pub mod blob;
pub mod config;
mod module;
mod seal;

pub use config::{Mechanism, OaepHash, Pkcs11Config, DEFAULT_MAX_PARALLEL};
pub use seal::{Pkcs11Seal, PoolStats};
