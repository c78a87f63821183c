//! Recovery of the PKCS#11 seal when its sessions, login or module are taken away behind its
//! back. Its own test binary: finalizing the module would break tests running beside it. The
//! tests here run one at a time for the same reason.
mod common;

use coffer_hardening::secret::Key256;
use coffer_seal::Seal;
use common::{admin, seal, store};
use cryptoki::context::Pkcs11;
use serde_json::json;
use tokio::sync::Mutex;

static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// A wrapped blob and a seal with a warm pool (sessions open, key handle cached).
async fn warm(label: &str) -> (coffer_seal_pkcs11::Pkcs11Seal, Key256, Vec<u8>) {
    let s = seal(json!({"key_label": label, "generate_key": true, "max_parallel": 2})).await;
    let root = Key256::generate();
    let blob = s.wrap(&root).await.expect("wrap");
    assert_eq!(s.unwrap(&blob).await.expect("unwrap").expose(), root.expose());
    assert_eq!(s.pool_stats().recoveries, 0);
    assert!(s.pool_stats().idle_sessions >= 1);
    (s, root, blob)
}

/// Finalizing the module from another context (CKR_CRYPTOKI_NOT_INITIALIZED for the seal's
/// next call) is repaired: the seal initializes the module again, opens new sessions, logs in,
/// finds the key, and the call that hit the fault succeeds; later calls work without further
/// recovery.
#[tokio::test]
async fn t20_module_finalized_behind_its_back() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let (s, root, blob) = warm("rec-finalize").await;
    Pkcs11::new(&store().lib).expect("load").finalize().expect("C_Finalize");
    assert_eq!(s.unwrap(&blob).await.expect("unwrap after finalize").expose(), root.expose());
    assert_eq!(s.pool_stats().recoveries, 1);
    let cause = s.last_recovery_cause().expect("cause");
    assert!(cause.contains("CKR_CRYPTOKI_NOT_INITIALIZED"), "{cause}");
    let again = s.wrap(&root).await.expect("wrap");
    assert_eq!(s.unwrap(&again).await.expect("unwrap").expose(), root.expose());
    assert_eq!(s.pool_stats().recoveries, 1, "one repair is enough");
}

/// Finalize and initialize again from another context: the module works but every session
/// the seal holds is gone (CKR_SESSION_HANDLE_INVALID) and nobody is logged in. The seal
/// drops the dead sessions without closing them, logs in on a new one and succeeds.
#[tokio::test]
async fn t21_sessions_invalidated_behind_its_back() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let (s, root, blob) = warm("rec-sessions").await;
    {
        let other = Pkcs11::new(&store().lib).expect("load");
        other.clone().finalize().expect("C_Finalize");
        common::admin(&store().main).await; // initializes again, logs in, closes its session
    }
    // The admin session above was closed on drop, and with it the login of the process.
    let before = s.pool_stats().sessions_opened;
    assert_eq!(s.wrap(&root).await.map(|_| ()), Ok(()));
    assert_eq!(s.unwrap(&blob).await.expect("unwrap").expose(), root.expose());
    let after = s.pool_stats();
    assert_eq!(after.recoveries, 1, "{after:?}");
    assert!(after.sessions_opened > before, "new sessions opened: {after:?}");
    let cause = s.last_recovery_cause().expect("cause");
    assert!(cause.contains("CKR_SESSION_HANDLE_INVALID"), "{cause}");
}

/// Logging the user out from another session (login is per application) makes the seal's
/// next call fail with CKR_USER_NOT_LOGGED_IN or an invalid key handle; the seal logs in
/// again, finds the key again and the call succeeds.
#[tokio::test]
async fn t22_logged_out_behind_its_back() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let (s, root, blob) = warm("rec-logout").await;
    let adm = admin(&store().main).await;
    adm.session.logout().expect("C_Logout");
    assert_eq!(s.unwrap(&blob).await.expect("unwrap after logout").expose(), root.expose());
    assert_eq!(s.pool_stats().recoveries, 1);
    let cause = s.last_recovery_cause().expect("cause");
    assert!(
        ["CKR_USER_NOT_LOGGED_IN", "CKR_KEY_HANDLE_INVALID", "CKR_OBJECT_HANDLE_INVALID"]
            .iter()
            .any(|c| cause.contains(c)),
        "{cause}"
    );
}
