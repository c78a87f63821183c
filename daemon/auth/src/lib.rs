//! Auth methods, as [`LogicalBackend`]s mounted under `auth/`:
//!
//! - [`userpass`](mod@userpass): users with a password (`users/:name`, `login/:name`);
//! - [`approle`](mod@approle): roles with a role ID and secret IDs (`role/:name`, `login`).
//!
//! Both follow OpenBao 2.7.2's paths, fields, response shapes and error texts; each module's
//! documentation lists where Coffer deliberately differs. Their logins are unauthenticated
//! paths and return [`coffer_logical::Auth`]; the core creates the token.
//!
//! # Passwords: Argon2id, not bcrypt
//!
//! OpenBao stores userpass passwords as bcrypt hashes. Coffer uses **Argon2id** (RFC 9106),
//! which is memory-hard, so guessing against a stolen hash costs memory as well as time. The
//! default cost is [`PasswordCost::RECOMMENDED`]: m = 19 MiB, t = 2, p = 1 (OWASP's first
//! Argon2id configuration), a 16-byte random salt and a 32-byte output, stored as a PHC string.
//! A login for a user that does not exist still runs one Argon2id verification (against a hash
//! of a random password), so timing does not reveal which users exist.
//!
//! # Secret IDs: only HMACs are stored
//!
//! AppRole secret IDs are stored as HMAC-SHA256 under a per-role key; role IDs and accessors
//! are indexed by HMAC under a per-mount salt. See [`approle`](mod@approle) for the layout.
//!
//! Errors are [`coffer_logical::LogicalError`] (the backend contract's error type); this crate
//! adds none of its own.
#![forbid(unsafe_code)]

pub mod approle;
mod cidr;
pub mod clock;
pub mod token_params;
pub mod userpass;
mod util;

pub use clock::{Clock, ManualClock, SystemClock};
pub use userpass::PasswordCost;

use coffer_logical::LogicalBackend;
use std::sync::Arc;

/// A userpass backend hashing with [`PasswordCost::RECOMMENDED`].
pub fn userpass() -> Arc<dyn LogicalBackend> {
    userpass_with_cost(PasswordCost::RECOMMENDED)
}

/// A userpass backend hashing new passwords with `cost` (tests use a low cost; production
/// should keep the default).
pub fn userpass_with_cost(cost: PasswordCost) -> Arc<dyn LogicalBackend> {
    Arc::new(userpass::Userpass::new(cost))
}

/// An approle backend on the system clock.
pub fn approle() -> Arc<dyn LogicalBackend> {
    approle_with_clock(Arc::new(SystemClock))
}

/// An approle backend reading the time from `clock` (secret-ID expiry).
pub fn approle_with_clock(clock: Arc<dyn Clock>) -> Arc<dyn LogicalBackend> {
    Arc::new(approle::AppRole::new(clock))
}

/// The backend for an auth method type, as named in `sys/auth` (`"userpass"`, `"approle"`).
pub fn factory(kind: &str) -> Option<Arc<dyn LogicalBackend>> {
    match kind {
        "userpass" => Some(userpass()),
        "approle" => Some(approle()),
        _ => None,
    }
}
