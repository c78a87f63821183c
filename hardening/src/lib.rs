//! Process hardening for the Coffer appliance, and the secret types key material lives in.
//!
//! This is the one crate allowed to hold `unsafe` (for the FFI of process hardening, added by the
//! appliance issue). The `secret` module is safe code and is what `seal` and `storage` share.
pub mod secret;
