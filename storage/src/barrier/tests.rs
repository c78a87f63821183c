//! Barrier tests over the in-memory backend (raw access through a second handle) and the
//! fault-injecting wrapper.
use super::*;
use crate::inmem::InmemBackend;
use crate::testing::FaultyBackend;
use proptest::prelude::*;
use std::collections::BTreeMap;

const ROOT: [u8; 32] = [7u8; 32];

fn root() -> Key256 {
    Key256::from_slice(&ROOT).expect("32 bytes")
}

/// A fresh, initialized, unsealed barrier and a raw handle on its backend.
async fn open_barrier() -> (Arc<Barrier>, Arc<InmemBackend>) {
    let raw = Arc::new(InmemBackend::new());
    let b = Arc::new(Barrier::new(raw.clone()));
    b.initialize(&root()).await.expect("initialize");
    b.unseal(&root()).await.expect("unseal");
    (b, raw)
}

/// Every key in the backend with its raw value.
async fn dump(raw: &dyn Backend) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![String::new()];
    while let Some(prefix) = todo.pop() {
        for name in raw.list(&prefix).await.expect("list") {
            let full = format!("{prefix}{name}");
            if name.ends_with('/') {
                todo.push(full);
            } else {
                let v = raw.get(&full).await.expect("get").expect("listed key exists");
                out.insert(full, v);
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn is_integrity(r: &Result<Option<Vec<u8>>>, path: &str) -> bool {
    matches!(r, Err(StorageError::Integrity { path: p }) if p == path)
}

fn small_threshold(max_operations: u64) -> RotationConfig {
    RotationConfig { max_operations, ..RotationConfig::default() }
}

/// A value written through the barrier reads back unchanged; missing keys read as None;
/// delete, list and list_page behave like the backend's.
#[tokio::test]
async fn round_trip() {
    let (b, _) = open_barrier().await;
    assert_eq!(b.get("a/x").await.expect("get"), None);
    b.put("a/x", b"hello").await.expect("put");
    b.put("a/y/z", b"").await.expect("put empty");
    assert_eq!(b.get("a/x").await.expect("get").as_deref(), Some(&b"hello"[..]));
    assert_eq!(b.get("a/y/z").await.expect("get").as_deref(), Some(&b""[..]), "empty value is not missing");
    assert_eq!(b.list("a/").await.expect("list"), vec!["x", "y/"]);
    assert_eq!(b.list_page("a/", Some("x"), Some(5)).await.expect("page"), vec!["y/"]);
    b.delete("a/x").await.expect("delete");
    assert_eq!(b.get("a/x").await.expect("get"), None);
    b.transaction(vec![
        BarrierOp::Put { path: "t/1".into(), value: b"one".to_vec() },
        BarrierOp::Delete { path: "a/y/z".into() },
    ])
    .await
    .expect("txn");
    assert_eq!(b.get("t/1").await.expect("get").as_deref(), Some(&b"one"[..]));
    assert_eq!(b.get("a/y/z").await.expect("get"), None);
}

/// Two writes of the same plaintext at the same path store different ciphertexts (fresh nonce).
#[tokio::test]
async fn nonces_are_fresh() {
    let (b, raw) = open_barrier().await;
    b.put("k", b"same").await.expect("put");
    let first = raw.get("k").await.expect("get").expect("stored");
    b.put("k", b"same").await.expect("put");
    let second = raw.get("k").await.expect("get").expect("stored");
    assert_ne!(first, second);
    assert_eq!(first.len(), layout::MIN_LEN + 4);
}

/// A new barrier is sealed and uninitialized; initialize leaves it sealed; initializing twice
/// is refused.
#[tokio::test]
async fn initialize_lifecycle() {
    let raw = Arc::new(InmemBackend::new());
    let b = Barrier::new(raw.clone());
    assert!(b.is_sealed());
    assert!(!b.is_initialized().await.expect("is_initialized"));
    assert!(matches!(b.unseal(&root()).await, Err(StorageError::InvalidInput(_))), "unseal before init");
    b.initialize(&root()).await.expect("initialize");
    assert!(b.is_initialized().await.expect("is_initialized"));
    assert!(b.is_sealed(), "initialize does not unseal");
    assert!(matches!(b.initialize(&root()).await, Err(StorageError::InvalidInput(_))));
    b.unseal(&root()).await.expect("unseal");
    assert!(!b.is_sealed());
    b.unseal(&root()).await.expect("unsealing twice is a no-op");
    assert_eq!(b.key_status().expect("status").term, 1);
}

/// While sealed, every operation fails with Sealed (before and after a seal).
#[tokio::test]
async fn sealed_refuses_every_operation() {
    let (b, _) = open_barrier().await;
    b.put("x", b"1").await.expect("put");
    b.seal().await;
    assert!(b.is_sealed());
    let sealed = |r: Result<()>| matches!(r, Err(StorageError::Sealed));
    assert!(matches!(b.get("x").await, Err(StorageError::Sealed)));
    assert!(sealed(b.put("x", b"2").await));
    assert!(sealed(b.delete("x").await));
    assert!(matches!(b.list("").await, Err(StorageError::Sealed)));
    assert!(matches!(b.list_page("", None, Some(1)).await, Err(StorageError::Sealed)));
    assert!(sealed(b.transaction(vec![BarrierOp::Delete { path: "x".into() }]).await));
    assert!(matches!(b.rotate().await, Err(StorageError::Sealed)));
    assert!(matches!(b.key_status(), Err(StorageError::Sealed)));
    assert!(matches!(b.terms(), Err(StorageError::Sealed)));
    assert!(matches!(b.rotation_config(), Err(StorageError::Sealed)));
    assert!(sealed(b.set_rotation_config(RotationConfig::default()).await));
    assert!(matches!(b.check_interval_rotation().await, Err(StorageError::Sealed)));
    assert!(sealed(b.rotate_root_key(&Key256::generate()).await));
    assert!(sealed(b.reload_keyring().await));
    let v = View::new(b.clone(), "mount/");
    assert!(matches!(v.get("x").await, Err(StorageError::Sealed)));
    assert!(matches!(v.list("").await, Err(StorageError::Sealed)));
    // And the data is still there after unsealing.
    b.unseal(&root()).await.expect("unseal");
    assert_eq!(b.get("x").await.expect("get").as_deref(), Some(&b"1"[..]));
}

/// Sealing drops every key from memory: the keyring is gone, and key copies held by the
/// barrier are released (only the test's own handle remains).
#[tokio::test]
async fn seal_drops_keys() {
    let (b, _) = open_barrier().await;
    let active = b.active_key().expect("unsealed");
    assert!(Arc::strong_count(&active) >= 2);
    b.seal().await;
    assert_eq!(Arc::strong_count(&active), 1, "the barrier holds no reference to a term key");
    assert!(b.active_key().is_none());
}

/// A root key other than the one the keyring was created with fails with WrongKey and leaves
/// the barrier sealed.
#[tokio::test]
async fn wrong_root_key_is_wrong_key() {
    let raw = Arc::new(InmemBackend::new());
    let b = Barrier::new(raw);
    b.initialize(&root()).await.expect("initialize");
    let err = b.unseal(&Key256::generate()).await;
    assert!(matches!(err, Err(StorageError::WrongKey)), "{err:?}");
    assert!(b.is_sealed());
    b.unseal(&root()).await.expect("the right key still works");
}

/// A tampered keyring (any byte flipped, truncated) fails unseal with Integrity, not WrongKey
/// and not a silently different keyring.
#[tokio::test]
async fn tampered_keyring_is_integrity() {
    let raw = Arc::new(InmemBackend::new());
    let b = Barrier::new(raw.clone());
    b.initialize(&root()).await.expect("initialize");
    let good = raw.get(KEYRING_PATH).await.expect("get").expect("keyring");
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x01;
        raw.put(KEYRING_PATH, bad).await.expect("raw put");
        let err = b.unseal(&root()).await;
        assert!(matches!(&err, Err(StorageError::Integrity { path }) if path == KEYRING_PATH), "byte {i}: {err:?}");
        assert!(b.is_sealed());
    }
    raw.put(KEYRING_PATH, good[..good.len() - 1].to_vec()).await.expect("raw put");
    assert!(matches!(b.unseal(&root()).await, Err(StorageError::Integrity { .. })));
    raw.put(KEYRING_PATH, good).await.expect("restore");
    b.unseal(&root()).await.expect("restored keyring unseals");
}

/// Flipping any bit pattern at any byte position of a stored value reads as Integrity for
/// that path: never other data, never "not found".
#[tokio::test]
async fn every_flipped_byte_is_integrity() {
    let (b, raw) = open_barrier().await;
    b.put("secret/x", b"attack at dawn").await.expect("put");
    let good = raw.get("secret/x").await.expect("get").expect("stored");
    for i in 0..good.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut bad = good.clone();
            bad[i] ^= mask;
            raw.put("secret/x", bad).await.expect("raw put");
            let r = b.get("secret/x").await;
            assert!(is_integrity(&r, "secret/x"), "byte {i} mask {mask:#x}: {r:?}");
        }
    }
    raw.put("secret/x", good).await.expect("restore");
    assert_eq!(b.get("secret/x").await.expect("get").as_deref(), Some(&b"attack at dawn"[..]));
}

/// Every truncation of a stored value (including to zero bytes) and an appended byte read as
/// Integrity.
#[tokio::test]
async fn truncated_value_is_integrity() {
    let (b, raw) = open_barrier().await;
    b.put("k", b"some value").await.expect("put");
    let good = raw.get("k").await.expect("get").expect("stored");
    for n in 0..good.len() {
        raw.put("k", good[..n].to_vec()).await.expect("raw put");
        let r = b.get("k").await;
        assert!(is_integrity(&r, "k"), "truncated to {n}: {r:?}");
    }
    let mut longer = good.clone();
    longer.push(0);
    raw.put("k", longer).await.expect("raw put");
    assert!(is_integrity(&b.get("k").await, "k"));
}

/// A valid value copied to another path fails as Integrity at the new path (the path is the
/// associated data), including copies into and out of views.
#[tokio::test]
async fn copied_value_is_integrity() {
    let (b, raw) = open_barrier().await;
    b.put("mount-a/secret", b"for a only").await.expect("put");
    let v = raw.get("mount-a/secret").await.expect("get").expect("stored");
    raw.put("mount-b/secret", v.clone()).await.expect("raw copy");
    assert!(is_integrity(&b.get("mount-b/secret").await, "mount-b/secret"));
    raw.put("mount-a/secret2", v).await.expect("raw copy");
    assert!(is_integrity(&b.get("mount-a/secret2").await, "mount-a/secret2"));
    let view = View::new(b.clone(), "mount-b/");
    assert!(matches!(view.get("secret").await, Err(StorageError::Integrity { .. })));
}

/// Values claiming an unknown term, term 0 (the root key's), or an unknown layout version are
/// Integrity, even when everything else about them is valid.
#[tokio::test]
async fn unknown_term_or_version_is_integrity() {
    let (b, raw) = open_barrier().await;
    b.put("k", b"v").await.expect("put");
    let good = raw.get("k").await.expect("get").expect("stored");
    for term in [0u32, 2, 99, u32::MAX] {
        let mut bad = good.clone();
        bad[..4].copy_from_slice(&term.to_be_bytes());
        raw.put("k", bad).await.expect("raw put");
        assert!(is_integrity(&b.get("k").await, "k"), "term {term}");
    }
    let mut bad = good.clone();
    bad[4] = 2;
    raw.put("k", bad).await.expect("raw put");
    assert!(is_integrity(&b.get("k").await, "k"), "version 2");
    // A value correctly encrypted under the root key (term 0) is still refused.
    let forged = layout::seal(&layout::cipher(&root()), 0, b"k", b"v").expect("seal");
    raw.put("k", forged).await.expect("raw put");
    assert!(is_integrity(&b.get("k").await, "k"));
}

/// After rotate: key_status shows term 2, old values still read, new writes carry term 2 on
/// the raw backend, and old values keep term 1.
#[tokio::test]
async fn rotate_adds_a_term() {
    let (b, raw) = open_barrier().await;
    b.put("old", b"before").await.expect("put");
    let before = b.key_status().expect("status");
    assert_eq!(before.term, 1);
    let t = b.rotate().await.expect("rotate");
    assert_eq!(t.term, 2);
    assert!(t.install_time >= before.install_time);
    assert_eq!(b.key_status().expect("status").term, 2);
    b.put("new", b"after").await.expect("put");
    let stored_term = |k: &'static str| {
        let raw = raw.clone();
        async move { Barrier::term_of_stored(&raw.get(k).await.expect("get").expect("stored")) }
    };
    assert_eq!(stored_term("old").await, Some(1));
    assert_eq!(stored_term("new").await, Some(2));
    assert_eq!(b.get("old").await.expect("get").as_deref(), Some(&b"before"[..]));
    assert_eq!(b.get("new").await.expect("get").as_deref(), Some(&b"after"[..]));
    assert_eq!(b.terms().expect("terms").iter().map(|t| t.term).collect::<Vec<_>>(), vec![1, 2]);
}

/// The keyring, its rotations, the rotation config and the encryption counts survive
/// seal/unseal and a fresh process (a new barrier over the same backend).
#[tokio::test]
async fn keyring_survives_seal_and_restart() {
    let (b, raw) = open_barrier().await;
    b.put("t1", b"one").await.expect("put");
    b.rotate().await.expect("rotate");
    b.rotate().await.expect("rotate");
    for i in 0..5 {
        b.put(&format!("t3/{i}"), b"three").await.expect("put");
    }
    let cfg = RotationConfig { max_operations: 2_000_000, interval: Duration::from_secs(48 * 3600), enabled: false };
    b.set_rotation_config(cfg.clone()).await.expect("config");
    let status = b.key_status().expect("status");
    assert_eq!(status.term, 3);
    b.seal().await;
    b.unseal(&root()).await.expect("unseal");
    let after = b.key_status().expect("status");
    assert_eq!((after.term, after.install_time), (status.term, status.install_time));
    assert!(after.encryptions >= status.encryptions, "{after:?} vs {status:?}");
    assert_eq!(b.rotation_config().expect("config"), cfg);
    assert_eq!(b.get("t1").await.expect("get").as_deref(), Some(&b"one"[..]));

    let again = Barrier::new(raw.clone());
    again.unseal(&root()).await.expect("unseal in a new process");
    assert_eq!(again.key_status().expect("status").term, 3);
    assert_eq!(again.rotation_config().expect("config"), cfg);
    assert_eq!(again.get("t3/4").await.expect("get").as_deref(), Some(&b"three"[..]));
}

/// Encryption counts: each write counts once under the active term; the counts written by
/// the periodic check are what a restarted process (one that never sealed) starts from.
#[tokio::test]
async fn encryption_counts_are_persisted_periodically() {
    let (b, raw) = open_barrier().await;
    let start = b.key_status().expect("status").encryptions;
    for i in 0..10 {
        b.put(&format!("c/{i}"), b"x").await.expect("put");
    }
    assert_eq!(b.key_status().expect("status").encryptions, start + 10);
    assert_eq!(b.check_interval_rotation().await.expect("check"), None);
    let saved = b.key_status().expect("status").encryptions;
    // Nothing changed: the second check writes nothing.
    let record = raw.get(ENCRYPTION_COUNT_PATH).await.expect("get");
    assert!(record.is_some());
    assert_eq!(b.check_interval_rotation().await.expect("check"), None);
    assert_eq!(raw.get(ENCRYPTION_COUNT_PATH).await.expect("get"), record, "clean counts are not rewritten");
    // "Crash": a new barrier on the same storage, without seal.
    let again = Barrier::new(raw.clone());
    again.unseal(&root()).await.expect("unseal");
    assert_eq!(again.key_status().expect("status").encryptions, saved);
}

/// Once the active term has encrypted max_operations values, the write that reaches the
/// limit rotates: the next write carries the new term; with rotation disabled, none happens.
#[tokio::test]
async fn automatic_rotation_after_max_operations() {
    let (b, raw) = open_barrier().await;
    b.set_rotation_config_unchecked(small_threshold(5)).await.expect("config");
    let used = b.key_status().expect("status").encryptions;
    for i in used..4 {
        b.put(&format!("a/{i}"), b"x").await.expect("put");
        assert_eq!(b.key_status().expect("status").term, 1, "below the limit at {i}");
    }
    b.put("a/limit", b"x").await.expect("put");
    assert_eq!(b.key_status().expect("status").term, 2, "the write reaching the limit rotated");
    assert_eq!(Barrier::term_of_stored(&raw.get("a/limit").await.expect("get").expect("v")), Some(1));
    b.put("a/next", b"y").await.expect("put");
    assert_eq!(Barrier::term_of_stored(&raw.get("a/next").await.expect("get").expect("v")), Some(2));
    assert_eq!(b.get("a/limit").await.expect("get").as_deref(), Some(&b"x"[..]));

    b.set_rotation_config_unchecked(RotationConfig { enabled: false, ..small_threshold(5) }).await.expect("config");
    for i in 0..12 {
        b.put(&format!("b/{i}"), b"x").await.expect("put");
    }
    assert_eq!(b.key_status().expect("status").term, 2, "disabled: no rotation");
}

/// Under concurrent writers crossing the limit, every write lands and stays readable, and
/// rotations do not run away (each needs max_operations writes under the active term).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automatic_rotation_under_concurrency() {
    let (b, _) = open_barrier().await;
    b.set_rotation_config_unchecked(small_threshold(20)).await.expect("config");
    let mut tasks = Vec::new();
    for t in 0..8 {
        let b = b.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                b.put(&format!("c/{t}-{i}"), format!("{t}-{i}").as_bytes()).await.expect("put");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let term = b.key_status().expect("status").term;
    assert!((2..=11).contains(&term), "200 writes at a limit of 20: term {term}");
    for t in 0..8 {
        for i in 0..25 {
            let v = b.get(&format!("c/{t}-{i}")).await.expect("get");
            assert_eq!(v, Some(format!("{t}-{i}").into_bytes()));
        }
    }
}

/// check_interval_rotation rotates only when enabled and the active term is older than a
/// non-zero interval.
#[tokio::test]
async fn interval_rotation() {
    let (b, _) = open_barrier().await;
    assert_eq!(b.check_interval_rotation().await.expect("check"), None, "interval 0 is off");
    b.set_rotation_config(RotationConfig { interval: MIN_ROTATION_INTERVAL, ..RotationConfig::default() })
        .await
        .expect("config");
    assert_eq!(b.check_interval_rotation().await.expect("check"), None, "a fresh term is not 24h old");
    let short = RotationConfig { interval: Duration::from_millis(1), ..RotationConfig::default() };
    b.set_rotation_config_unchecked(RotationConfig { enabled: false, ..short.clone() }).await.expect("config");
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(b.check_interval_rotation().await.expect("check"), None, "disabled");
    b.set_rotation_config_unchecked(short).await.expect("config");
    let t = b.check_interval_rotation().await.expect("check").expect("rotated");
    assert_eq!(t.term, 2);
    assert_eq!(b.key_status().expect("status").term, 2);
}

/// Rotation config validation matches OpenBao's ranges and messages; defaults match OpenBao's.
#[tokio::test]
async fn rotation_config_validation() {
    let d = RotationConfig::default();
    assert_eq!(d, RotationConfig { max_operations: 3_865_470_566, interval: Duration::ZERO, enabled: true });
    d.validate().expect("default is valid");
    let msg = |c: RotationConfig| match c.validate() {
        Err(StorageError::InvalidInput(m)) => m,
        other => panic!("expected InvalidInput, got {other:?}"),
    };
    let ops = "max_operations must be in the range [1000000,3865470566]";
    assert_eq!(msg(RotationConfig { max_operations: 999_999, ..d.clone() }), ops);
    assert_eq!(msg(RotationConfig { max_operations: 3_865_470_567, ..d.clone() }), ops);
    RotationConfig { max_operations: 1_000_000, ..d.clone() }.validate().expect("minimum");
    let iv = "interval must be greater or equal to 24h0m0s";
    assert_eq!(msg(RotationConfig { interval: Duration::from_secs(3600), ..d.clone() }), iv);
    assert_eq!(msg(RotationConfig { interval: Duration::from_secs(86_399), ..d.clone() }), iv);
    RotationConfig { interval: Duration::from_secs(86_400), ..d.clone() }.validate().expect("24h");

    let (b, _) = open_barrier().await;
    let bad = RotationConfig { max_operations: 5, ..d.clone() };
    assert!(matches!(b.set_rotation_config(bad).await, Err(StorageError::InvalidInput(_))));
    assert_eq!(b.rotation_config().expect("config"), d, "a refused config changes nothing");
}

/// Logical operations on the seal's and the barrier's own physical records are refused with
/// InvalidInput (also inside transactions, which then write nothing).
#[tokio::test]
async fn reserved_paths_are_refused() {
    let (b, raw) = open_barrier().await;
    for p in [
        KEYRING_PATH,
        "core/seal-config",
        "core/root-key",
        "core/seal/anything",
        ENCRYPTION_COUNT_PATH,
        KEYRING_CHECK_PATH,
    ] {
        assert!(matches!(b.get(p).await, Err(StorageError::InvalidInput(_))), "{p}");
        assert!(matches!(b.put(p, b"x").await, Err(StorageError::InvalidInput(_))), "{p}");
        assert!(matches!(b.delete(p).await, Err(StorageError::InvalidInput(_))), "{p}");
    }
    let txn = b
        .transaction(vec![
            BarrierOp::Put { path: "fine".into(), value: b"x".to_vec() },
            BarrierOp::Delete { path: KEYRING_PATH.into() },
        ])
        .await;
    assert!(matches!(txn, Err(StorageError::InvalidInput(_))));
    assert_eq!(b.get("fine").await.expect("get"), None);
    assert!(raw.get(KEYRING_PATH).await.expect("get").is_some());
    // Neighbours of reserved names are ordinary paths.
    for p in ["core/seal", "core/keyring2", "core/mounts"] {
        b.put(p, b"ok").await.expect(p);
    }
    assert!(matches!(b.put("", b"x").await, Err(StorageError::InvalidInput(_))), "empty path");
}

/// A view maps its paths under its prefix, lists relative names, cannot be escaped with `.`
/// or `..` segments, and does not see siblings.
#[tokio::test]
async fn views_confine_paths() {
    let (b, raw) = open_barrier().await;
    let v = View::new(b.clone(), "logical/abc/");
    assert_eq!(v.prefix(), "logical/abc/");
    v.put("data/x", b"1").await.expect("put");
    v.put("y", b"2").await.expect("put");
    b.put("logical/other/secret", b"sibling").await.expect("put");
    assert!(raw.get("logical/abc/data/x").await.expect("get").is_some(), "stored under the prefix");
    assert_eq!(v.get("data/x").await.expect("get").as_deref(), Some(&b"1"[..]));
    assert_eq!(b.get("logical/abc/y").await.expect("get").as_deref(), Some(&b"2"[..]));
    assert_eq!(v.list("").await.expect("list"), vec!["data/", "y"]);
    assert_eq!(v.list_page("", Some("data/"), None).await.expect("page"), vec!["y"]);
    for bad in ["../other/secret", "..", ".", "data/../../other/secret", "./y", "data/./x", "a/.."] {
        assert!(matches!(v.get(bad).await, Err(StorageError::InvalidInput(_))), "{bad}");
        assert!(matches!(v.put(bad, b"x").await, Err(StorageError::InvalidInput(_))), "{bad}");
        assert!(matches!(v.delete(bad).await, Err(StorageError::InvalidInput(_))), "{bad}");
        assert!(matches!(v.list(bad).await, Err(StorageError::InvalidInput(_))), "{bad}");
    }
    assert!(matches!(v.get("").await, Err(StorageError::InvalidInput(_))), "empty key");
    // Names merely containing dots are fine.
    v.put("a..b/.hidden", b"3").await.expect("dots inside names");
    let sub = v.sub_view("data/").expect("sub view");
    assert_eq!(sub.get("x").await.expect("get").as_deref(), Some(&b"1"[..]));
    assert!(v.sub_view("../").is_err());
    v.transaction(vec![BarrierOp::Put { path: "t".into(), value: b"4".to_vec() }]).await.expect("txn");
    assert_eq!(b.get("logical/abc/t").await.expect("get").as_deref(), Some(&b"4"[..]));
    let bad = v.transaction(vec![BarrierOp::Delete { path: "../other/secret".into() }]).await;
    assert!(matches!(bad, Err(StorageError::InvalidInput(_))));
    assert!(b.get("logical/other/secret").await.expect("get").is_some());
}

/// The backend never sees a plaintext or a key: after writes, rotations, config changes, a
/// root-key rotation and a seal, no raw value contains the distinctive plaintext, the root
/// key, a term key, or their base64.
#[tokio::test]
async fn backend_never_sees_plaintext_or_keys() {
    use base64::Engine;
    let (b, raw) = open_barrier().await;
    let marker = b"PLAINTEXT-MARKER-0123456789";
    let mut keys: Vec<Vec<u8>> = vec![ROOT.to_vec()];
    b.put("p/1", marker).await.expect("put");
    b.transaction(vec![BarrierOp::Put { path: "p/2".into(), value: marker.to_vec() }]).await.expect("txn");
    keys.push(b.active_key().expect("key").key().expose().to_vec());
    b.rotate().await.expect("rotate");
    keys.push(b.active_key().expect("key").key().expose().to_vec());
    View::new(b.clone(), "v/").put("3", marker).await.expect("put");
    b.set_rotation_config(RotationConfig { max_operations: 1_000_000, ..RotationConfig::default() })
        .await
        .expect("config");
    let new_root = Key256::generate();
    keys.push(new_root.expose().to_vec());
    b.rotate_root_key(&new_root).await.expect("rotate root");
    b.check_interval_rotation().await.expect("check");
    b.seal().await;
    let all = dump(raw.as_ref()).await;
    assert!(all.len() >= 6, "{:?}", all.keys().collect::<Vec<_>>());
    for (k, v) in &all {
        assert!(!contains(v, marker), "{k} holds the plaintext");
        for key in &keys {
            assert!(!contains(v, key), "{k} holds key bytes");
            let b64 = base64::engine::general_purpose::STANDARD.encode(key);
            assert!(!contains(v, b64.as_bytes()), "{k} holds base64 key bytes");
        }
        assert!(Barrier::term_of_stored(v).is_some(), "{k} is a barrier value");
    }
}

/// After rotate_root_key the old root key no longer opens the keyring (WrongKey), the new one
/// does, and all data stays readable.
#[tokio::test]
async fn root_key_rotation() {
    let (b, raw) = open_barrier().await;
    b.put("k", b"v").await.expect("put");
    let new_root = Key256::generate();
    b.rotate_root_key(&new_root).await.expect("rotate root");
    assert_eq!(b.root_key_copy().expect("unsealed").expose(), new_root.expose());
    b.seal().await;
    assert!(matches!(b.unseal(&root()).await, Err(StorageError::WrongKey)));
    b.unseal(&new_root).await.expect("unseal with the new root");
    assert_eq!(b.get("k").await.expect("get").as_deref(), Some(&b"v"[..]));
    assert_eq!(Barrier::term_of_stored(&raw.get(KEYRING_PATH).await.expect("get").expect("k")), Some(0));
}

/// A standby's barrier picks up a term another barrier added (by reload on an unknown newer
/// term), so values written after a rotation elsewhere stay readable.
#[tokio::test]
async fn newer_term_from_another_node_is_loaded() {
    let (active, raw) = open_barrier().await;
    let standby = Barrier::new(raw.clone());
    standby.unseal(&root()).await.expect("unseal standby");
    active.rotate().await.expect("rotate");
    active.put("fresh", b"from term 2").await.expect("put");
    assert_eq!(standby.key_status().expect("status").term, 1);
    assert_eq!(standby.get("fresh").await.expect("get").as_deref(), Some(&b"from term 2"[..]));
    assert_eq!(standby.key_status().expect("status").term, 2);
}

/// Backend failures surface as the backend's error (Unavailable), never as Integrity or "not
/// found"; a failed rotation leaves the active term unchanged; seal works on a dead backend;
/// unseal on a dead backend stays sealed.
#[tokio::test]
async fn backend_failures() {
    let faulty = Arc::new(FaultyBackend::new(InmemBackend::new()));
    let b = Barrier::new(faulty.clone());
    b.initialize(&root()).await.expect("initialize");
    faulty.set_failing(true);
    assert!(matches!(b.unseal(&root()).await, Err(StorageError::Unavailable(_))));
    assert!(b.is_sealed());
    assert!(matches!(b.is_initialized().await, Err(StorageError::Unavailable(_))));
    faulty.set_failing(false);
    b.unseal(&root()).await.expect("unseal");
    b.put("k", b"v").await.expect("put");

    faulty.set_failing(true);
    assert!(matches!(b.get("k").await, Err(StorageError::Unavailable(_))));
    assert!(matches!(b.put("k", b"w").await, Err(StorageError::Unavailable(_))));
    assert!(matches!(b.list("").await, Err(StorageError::Unavailable(_))));
    assert!(matches!(b.rotate().await, Err(StorageError::Unavailable(_))));
    assert_eq!(b.key_status().expect("status").term, 1, "a failed rotation changes nothing");
    let cfg = RotationConfig { max_operations: 1_000_000, ..RotationConfig::default() };
    assert!(matches!(b.set_rotation_config(cfg).await, Err(StorageError::Unavailable(_))));
    assert_eq!(b.rotation_config().expect("config"), RotationConfig::default());
    faulty.set_failing(false);
    assert_eq!(b.get("k").await.expect("get").as_deref(), Some(&b"v"[..]), "failed put wrote nothing");
    assert_eq!(b.rotate().await.expect("rotate").term, 2);

    b.put("k2", b"x").await.expect("put");
    faulty.set_failing(true);
    b.seal().await;
    assert!(b.is_sealed(), "seal works with the backend down");
    faulty.set_failing(false);
    b.unseal(&root()).await.expect("unseal");
    assert_eq!(b.key_status().expect("status").term, 2);
}

/// Fails only transactions (the keyring is written in one) while `fail` is set.
struct TxnFaults {
    inner: InmemBackend,
    fail: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl Backend for TxnFaults {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.inner.get(key).await
    }
    async fn put(&self, key: &str, value: Vec<u8>) -> Result<()> {
        self.inner.put(key, value).await
    }
    async fn delete(&self, key: &str) -> Result<()> {
        self.inner.delete(key).await
    }
    async fn list_page(&self, prefix: &str, after: Option<&str>, limit: Option<usize>) -> Result<Vec<String>> {
        self.inner.list_page(prefix, after, limit).await
    }
    async fn transaction(&self, ops: Vec<TxnOp>) -> Result<()> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(StorageError::Unavailable("injected transaction fault".into()));
        }
        self.inner.transaction(ops).await
    }
    fn kind(&self) -> &'static str {
        "txn-faults"
    }
}

/// A write that reaches the limit succeeds even when the rotation it triggers cannot be
/// stored; the periodic check retries and rotates once the backend is back.
#[tokio::test]
async fn failed_auto_rotation_is_retried() {
    let raw = Arc::new(TxnFaults { inner: InmemBackend::new(), fail: false.into() });
    let b = Barrier::new(raw.clone());
    b.initialize(&root()).await.expect("initialize");
    b.unseal(&root()).await.expect("unseal");
    b.set_rotation_config_unchecked(small_threshold(1)).await.expect("config");
    raw.fail.store(true, Ordering::SeqCst);
    b.put("k", b"v").await.expect("the write itself succeeds");
    assert_eq!(b.key_status().expect("status").term, 1, "the rotation could not be stored");
    assert!(matches!(b.check_interval_rotation().await, Err(StorageError::Unavailable(_))));
    raw.fail.store(false, Ordering::SeqCst);
    let t = b.check_interval_rotation().await.expect("check").expect("rotated by count");
    assert_eq!(t.term, 2);
    assert_eq!(b.get("k").await.expect("get").as_deref(), Some(&b"v"[..]));
}

/// Debug output of the barrier, its views and operations never shows keys or values.
#[tokio::test]
async fn debug_shows_no_secrets() {
    let (b, _) = open_barrier().await;
    let s = format!("{b:?} {:?}", View::new(b.clone(), "p/"));
    assert!(s.contains("sealed: false") && s.contains("p/"), "{s}");
    let op = BarrierOp::Put { path: "x".into(), value: b"hunter2".to_vec() };
    assert_eq!(format!("{op:?}"), "Put { path: \"x\", value: <7 bytes> }");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// For random plaintexts and random single-byte corruptions, the barrier returns either
    /// the original plaintext (no corruption) or Integrity: never different data.
    #[test]
    fn random_corruption_never_yields_other_data(
        plaintext in proptest::collection::vec(any::<u8>(), 0..200),
        pos in any::<prop::sample::Index>(),
        mask in 1u8..=255,
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        rt.block_on(async {
            let (b, raw) = open_barrier().await;
            b.put("p", &plaintext).await.expect("put");
            let mut v = raw.get("p").await.expect("get").expect("stored");
            let i = pos.index(v.len());
            v[i] ^= mask;
            raw.put("p", v).await.expect("raw put");
            let r = b.get("p").await;
            prop_assert!(is_integrity(&r, "p"), "byte {} mask {:#x}: {:?}", i, mask, r);
            Ok(())
        })?;
    }
}
