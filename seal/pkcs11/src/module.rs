//! One loaded PKCS#11 module per library path in the process, and what its errors mean.
//!
//! PKCS#11 state (initialization, login, sessions) belongs to the whole process, not to one
//! `Pkcs11` handle: two seals on the same library must share one module, and a
//! re-initialization by one is seen by the other through [`Module::generation`]. Object and
//! session handles of an older generation are dead (and may alias new ones), so they are
//! dropped without being closed.
//!
//! The module is never finalized on drop: another user of the same library in this process
//! (a second seal, a test's admin context) would lose its sessions.
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Function, Pkcs11};
use cryptoki::error::{Error, RvError};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

pub(crate) struct Module {
    pub ctx: Pkcs11,
    generation: AtomicU64,
    reinit: Mutex<()>,
    /// Held from "is the key there?" to "key created", so two seals of this process never
    /// both generate a key with one label (and SoftHSM 2.6's file store is not safe with
    /// concurrent object creation).
    pub create: Mutex<()>,
}

fn registry() -> &'static Mutex<HashMap<PathBuf, Weak<Module>>> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Weak<Module>>>> = OnceLock::new();
    MODULES.get_or_init(|| Mutex::new(HashMap::new()))
}

/// `C_Initialize` with OS locking; "already initialized" (by another user in the process) is
/// success.
pub(crate) fn initialize(ctx: &Pkcs11) -> Result<(), Error> {
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => Ok(()),
        Err(e) => Err(e),
    }
}

impl Module {
    /// The process's module for `lib`, loaded and initialized on first use.
    pub fn open(lib: &Path) -> Result<Arc<Module>, Error> {
        let key = std::fs::canonicalize(lib).unwrap_or_else(|_| lib.to_path_buf());
        let mut map = registry().lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = map.get(&key).and_then(Weak::upgrade) {
            return Ok(m);
        }
        let ctx = Pkcs11::new(&key)?;
        initialize(&ctx)?;
        let m = Arc::new(Module { ctx, generation: AtomicU64::new(0), reinit: Mutex::new(()), create: Mutex::new(()) });
        map.retain(|_, w| w.strong_count() > 0);
        map.insert(key, Arc::downgrade(&m));
        Ok(m)
    }

    /// Bumped at every re-initialization: handles from an older generation are dead.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Re-initializes the module after a caller saw generation `seen` fail. Concurrent
    /// callers that saw the same generation re-initialize once. `finalize_first` also runs
    /// `C_Finalize`, which makes modules rescan their slots after a device went away.
    pub fn reinitialize(&self, seen: u64, finalize_first: bool) -> Result<(), Error> {
        let _one_at_a_time = self.reinit.lock().unwrap_or_else(|p| p.into_inner());
        if self.generation() != seen {
            return Ok(());
        }
        if finalize_first {
            // Not initialized any more is what we want here; other failures show up in
            // C_Initialize below.
            let _ = self.ctx.clone().finalize();
        }
        initialize(&self.ctx)?;
        self.generation.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// What a failed call says about the state we hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The module was finalized behind our back: initialize it again.
    NotInitialized,
    /// The token or device went away or was reset: finalize, initialize, rescan slots.
    Device,
    /// Our session handles are dead (closed, or the token was reset): open new sessions, log
    /// in again, find the key again. The dead handles are forgotten, not closed: their
    /// numbers may already name someone else's new session.
    SessionsLost,
    /// The sessions are alive but the login or the key's object handle is stale (logged out
    /// behind our back, key object re-created): close them, log in again, find the key again.
    LoginLost,
}

impl Fault {
    /// Whether sessions of the current generation can still be closed cleanly.
    pub fn sessions_alive(self) -> bool {
        self == Fault::LoginLost
    }
}

/// The fault behind an error, if it is one that re-initialization can repair.
pub(crate) fn fault(e: &Error) -> Option<Fault> {
    let Error::Pkcs11(rv, _) = e else {
        return None;
    };
    match rv {
        RvError::CryptokiNotInitialized => Some(Fault::NotInitialized),
        RvError::DeviceRemoved
        | RvError::DeviceError
        | RvError::TokenNotPresent
        | RvError::TokenNotRecognized
        | RvError::SlotIdInvalid => Some(Fault::Device),
        RvError::SessionHandleInvalid | RvError::SessionClosed => Some(Fault::SessionsLost),
        RvError::UserNotLoggedIn | RvError::ObjectHandleInvalid | RvError::KeyHandleInvalid => Some(Fault::LoginLost),
        _ => None,
    }
}

/// `PinIncorrect` → `CKR_PIN_INCORRECT`.
pub(crate) fn ckr_name(rv: &RvError) -> String {
    let debug = format!("{rv:?}");
    let mut out = String::from("CKR");
    for c in debug.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
        }
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else {
            // Tuple variants print their payload: keep it readable.
            out.push(c);
        }
    }
    out
}

/// `C_Login returned CKR_PIN_INCORRECT`: short and greppable (cryptoki's own text is a
/// paragraph of the specification).
pub(crate) fn describe(e: &Error) -> String {
    match e {
        Error::Pkcs11(rv, function) => format!("{} returned {}", c_name(*function), ckr_name(rv)),
        other => other.to_string(),
    }
}

fn c_name(f: Function) -> String {
    format!("C_{f:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Error names read as in the PKCS#11 specification.
    #[test]
    fn names() {
        assert_eq!(ckr_name(&RvError::PinIncorrect), "CKR_PIN_INCORRECT");
        assert_eq!(
            describe(&Error::Pkcs11(RvError::SessionHandleInvalid, Function::Encrypt)),
            "C_Encrypt returned CKR_SESSION_HANDLE_INVALID"
        );
        assert_eq!(
            fault(&Error::Pkcs11(RvError::CryptokiNotInitialized, Function::Login)),
            Some(Fault::NotInitialized)
        );
        assert_eq!(fault(&Error::Pkcs11(RvError::GeneralError, Function::Decrypt)), None);
    }
}
