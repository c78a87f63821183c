//! Seals for Coffer: what locks the root key while the daemon is sealed.
//!
//! - [`SealConfig`]: the checked seal configuration (`core/seal-config`).
//! - [`shamir`]: Shamir secret sharing over GF(2^8), OpenBao's share layout (our own
//!   implementation; see README.md for why).
//! - [`generate_shares`], [`decode_share`]: unseal keys and shares as operators see them.
//! - [`UnsealProgress`]: the shares given so far between `sys/unseal` calls, OpenBao's rules.
//! - [`Seal`]: the contract to wrap/unwrap the root key; [`ShamirSeal`] implements it here,
//!   PKCS#11 and AWS KMS in nested crates. `testing::conformance` (feature "testing") is the
//!   suite every implementation runs.
//!
//! This crate never sees HTTP or storage. Error texts are OpenBao's where it has one.
#![forbid(unsafe_code)]

pub mod config;
pub mod error;
mod gf256;
pub mod seal;
pub mod shamir;
pub mod shares;
#[cfg(test)]
mod test_fixtures;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod unseal;

pub use config::SealConfig;
pub use error::SealError;
pub use seal::{Seal, ShamirSeal};
pub use shares::{decode_share, generate_shares, share_base64, share_hex, NewShares};
pub use unseal::UnsealProgress;
