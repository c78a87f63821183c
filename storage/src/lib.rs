//! Storage for Coffer: the contract of a physical backend ([`physical::Backend`]), an in-memory
//! backend, and the barrier that encrypts everything before it reaches a backend.
//!
//! Storage is hostile: a backend only ever sees ciphertext (and the few plaintext records the
//! seal needs to find its configuration). This crate never sees HTTP, seals or Raft.
#![forbid(unsafe_code)]

pub mod barrier;
pub mod error;
pub mod inmem;
pub mod physical;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use barrier::{Barrier, BarrierOp, RotationConfig, TermInfo, View};
pub use error::StorageError;
pub use physical::{Backend, TxnOp};
