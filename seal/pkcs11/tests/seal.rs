//! The PKCS#11 seal against SoftHSM2 (required; see tests/common).
mod common;

use coffer_hardening::secret::Key256;
use coffer_seal::{Seal, SealError};
use coffer_seal_pkcs11::{Mechanism, Pkcs11Config, Pkcs11Seal};
use common::{admin, attrs_for, config, no_env, seal, seal_on, store};
use cryptoki::error::{Error, RvError};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass};
use serde_json::json;
use std::sync::Arc;

async fn try_seal(cfg: Pkcs11Config) -> Result<Pkcs11Seal, SealError> {
    let _setup = common::exclusive().await;
    tokio::task::spawn_blocking(move || Pkcs11Seal::new(cfg)).await.expect("join")
}

/// Two AES-GCM seals on one SoftHSM token, with different generated keys, pass the suite
/// every seal runs (round trip, randomized blobs that hide the key, altered/truncated blobs
/// refused, blobs of the other seal are WrongKey).
#[tokio::test]
async fn t10_conformance_aes_gcm() {
    let a = seal(json!({"key_label": "conf-a", "generate_key": true})).await;
    let b = seal(json!({"key_label": "conf-b", "generate_key": true})).await;
    assert_eq!(a.seal_type(), "pkcs11");
    assert_eq!(a.mechanism(), Mechanism::AesGcm);
    coffer_seal::testing::conformance(&a, &b).await;
}

/// generate_key creates exactly one AES-256 key that is on the token, private, sensitive,
/// never extractable, allowed to encrypt/decrypt and nothing else; its value cannot be read;
/// a second seal with the same stanza finds it instead of creating another, and unwraps the
/// first seal's blobs.
#[tokio::test]
async fn t11_generate_key_is_sensitive_and_non_extractable() {
    let extra = json!({"key_label": "gen-key", "key_id": "0x6701", "generate_key": true});
    let first = seal(extra.clone()).await;
    let root = Key256::generate();
    let blob = first.wrap(&root).await.expect("wrap");

    let adm = admin(&store().main).await;
    let keys = adm.aes_keys("gen-key");
    assert_eq!(keys.len(), 1, "exactly one key with the label");
    let attrs = adm
        .session
        .get_attributes(
            keys[0],
            &[
                AttributeType::Token,
                AttributeType::Private,
                AttributeType::Sensitive,
                AttributeType::AlwaysSensitive,
                AttributeType::Extractable,
                AttributeType::NeverExtractable,
                AttributeType::Encrypt,
                AttributeType::Decrypt,
                AttributeType::Wrap,
                AttributeType::Unwrap,
                AttributeType::Sign,
                AttributeType::Verify,
                AttributeType::Derive,
                AttributeType::ValueLen,
                AttributeType::KeyType,
                AttributeType::Id,
            ],
        )
        .expect("attributes");
    for a in &attrs {
        match a {
            Attribute::Token(v)
            | Attribute::Private(v)
            | Attribute::Sensitive(v)
            | Attribute::AlwaysSensitive(v)
            | Attribute::NeverExtractable(v)
            | Attribute::Encrypt(v)
            | Attribute::Decrypt(v) => assert!(*v, "{a:?} must be true"),
            Attribute::Extractable(v)
            | Attribute::Wrap(v)
            | Attribute::Unwrap(v)
            | Attribute::Sign(v)
            | Attribute::Verify(v)
            | Attribute::Derive(v) => assert!(!*v, "{a:?} must be false"),
            Attribute::ValueLen(n) => assert_eq!(u64::from(*n), 32),
            Attribute::KeyType(t) => assert_eq!(*t, KeyType::AES),
            Attribute::Id(id) => assert_eq!(id, &vec![0x67, 0x01]),
            other => panic!("unexpected attribute {other:?}"),
        }
    }
    assert_eq!(attrs.len(), 16, "every attribute read back: {attrs:?}");
    // The key's value never leaves the token.
    match adm.session.get_attributes(keys[0], &[AttributeType::Value]) {
        Ok(v) => assert!(v.iter().all(|a| !matches!(a, Attribute::Value(_))), "CKA_VALUE readable: {v:?}"),
        Err(Error::Pkcs11(RvError::AttributeSensitive, _)) => {}
        Err(e) => panic!("reading CKA_VALUE: {e}"),
    }

    drop(adm);
    let second = seal(extra).await;
    let adm = admin(&store().main).await;
    assert_eq!(adm.aes_keys("gen-key").len(), 1, "no second key generated");
    drop(adm);
    let back = second.unwrap(&blob).await.expect("unwrap by second seal");
    assert_eq!(back.expose(), root.expose());
}

/// The key is found by label alone, by id alone, or by both; each of those seals opens the
/// others' blobs (same key). A label or id that matches nothing is Unavailable, naming the key.
#[tokio::test]
async fn t12_find_key_by_label_and_by_id() {
    let both = seal(json!({"key_label": "find-me", "key_id": "0f1e", "generate_key": true})).await;
    let by_label = seal(json!({"key_label": "find-me"})).await;
    let by_id = seal(json!({"key_id": "0x0F1E"})).await;
    let root = Key256::generate();
    for (maker, opener) in [(&both, &by_label), (&by_label, &by_id), (&by_id, &both)] {
        let blob = maker.wrap(&root).await.expect("wrap");
        assert_eq!(opener.unwrap(&blob).await.expect("unwrap").expose(), root.expose());
    }
    for extra in [json!({"key_label": "find-me", "key_id": "0f1f"}), json!({"key_label": "no-such-key"})] {
        match try_seal(config(&store().main, extra)).await {
            Err(SealError::Unavailable(msg)) => {
                assert!(msg.contains("no key") && msg.contains("coffer-main"), "{msg}")
            }
            other => panic!("expected Unavailable for a missing key, got {other:?}"),
        }
    }
}

/// A wrong PIN is InvalidConfig naming CKR_PIN_INCORRECT and the PIN settings, never the PIN;
/// the right PIN on the same token then works.
#[tokio::test]
async fn t13_wrong_pin_is_a_clear_error() {
    let token = &store().pin_test;
    let mut attrs = attrs_for(token, json!({"key_label": "pin-key", "generate_key": true}));
    attrs.insert("pin".into(), json!("not-the-pin-4711"));
    let cfg = Pkcs11Config::from_attrs(&attrs, &no_env).expect("config");
    match try_seal(cfg).await {
        Err(SealError::InvalidConfig(msg)) => {
            assert!(msg.contains("CKR_PIN_INCORRECT"), "{msg}");
            assert!(msg.contains("'pin'") && msg.contains("BAO_HSM_PIN"), "{msg}");
            assert!(msg.contains("coffer-pin-test"), "{msg}");
            assert!(!msg.contains("not-the-pin-4711"), "error shows the PIN: {msg}");
        }
        other => panic!("expected InvalidConfig for a wrong PIN, got {other:?}"),
    }
    let good = seal_on(token, json!({"key_label": "pin-key", "generate_key": true})).await;
    let root = Key256::generate();
    let blob = good.wrap(&root).await.expect("wrap");
    assert_eq!(good.unwrap(&blob).await.expect("unwrap").expose(), root.expose());
}

/// A missing library is InvalidConfig naming it; a token label nobody has is Unavailable.
#[tokio::test]
async fn t14_missing_library_or_token() {
    let mut attrs = attrs_for(&store().main, json!({"key_label": "k"}));
    attrs.insert("lib".into(), json!("/nonexistent/libpkcs11.so"));
    let cfg = Pkcs11Config::from_attrs(&attrs, &no_env).expect("config");
    match try_seal(cfg).await {
        Err(SealError::InvalidConfig(msg)) => {
            assert!(msg.contains("/nonexistent/libpkcs11.so"), "{msg}")
        }
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
    let mut attrs = attrs_for(&store().main, json!({"key_label": "k"}));
    attrs.insert("token_label".into(), json!("no-such-token"));
    let cfg = Pkcs11Config::from_attrs(&attrs, &no_env).expect("config");
    match try_seal(cfg).await {
        Err(SealError::Unavailable(msg)) => assert!(msg.contains("no-such-token"), "{msg}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

/// RSA-OAEP with a key pair generated on the token: two seals pass the conformance suite;
/// the mechanism is taken from the key when the stanza does not name it (OpenBao's example
/// stanza); SHA-256, which SoftHSM 2.6 does not implement for OAEP, is refused at start as
/// InvalidConfig naming rsa_oaep_hash instead of failing at the first unseal.
#[tokio::test]
async fn t15_rsa_oaep_round_trip() {
    let adm = admin(&store().main).await;
    adm.generate_rsa("rsa-a", &[0xa1]);
    adm.generate_rsa("rsa-b", &[0xb1]);
    assert_eq!(adm.find(ObjectClass::PRIVATE_KEY, "rsa-a").len(), 1);
    drop(adm);
    let a = seal(json!({"key_label": "rsa-a", "mechanism": "CKM_RSA_PKCS_OAEP",
                        "rsa_oaep_hash": "sha1"}))
    .await;
    let b = seal(json!({"key_label": "rsa-b", "mechanism": "CKM_RSA_PKCS_OAEP",
                        "rsa_oaep_hash": "sha1"}))
    .await;
    assert_eq!(a.mechanism(), Mechanism::RsaOaep);
    coffer_seal::testing::conformance(&a, &b).await;

    let auto = seal(json!({"key_label": "rsa-a", "rsa_oaep_hash": "sha1"})).await;
    assert_eq!(auto.mechanism(), Mechanism::RsaOaep);
    let root = Key256::generate();
    let blob = a.wrap(&root).await.expect("wrap");
    assert!(blob.len() > 256, "one RSA-2048 block in the blob");
    assert_eq!(auto.unwrap(&blob).await.expect("unwrap").expose(), root.expose());

    match try_seal(config(
        &store().main,
        json!({"key_label": "rsa-a", "mechanism": "CKM_RSA_PKCS_OAEP", "rsa_oaep_hash": "sha256"}),
    ))
    .await
    {
        Err(SealError::InvalidConfig(msg)) => {
            assert!(msg.contains("rsa_oaep_hash sha256"), "{msg}")
        }
        other => panic!("expected InvalidConfig for OAEP-SHA256 on SoftHSM, got {other:?}"),
    }
}

/// A blob wrapped under a key with the same label and id on another token (so the reference
/// in the blob matches) is refused by the token's GCM tag check: WrongKey, not a device error.
#[tokio::test]
async fn t16_blob_of_another_key_is_wrong_key() {
    let extra = json!({"key_label": "same-name", "key_id": "5a", "generate_key": true});
    let here = seal(extra.clone()).await;
    let there = seal_on(&store().twin, extra).await;
    let blob = there.wrap(&Key256::generate()).await.expect("wrap");
    assert_eq!(here.unwrap(&blob).await.expect_err("other key"), SealError::WrongKey);
    let blob = here.wrap(&Key256::generate()).await.expect("wrap");
    assert_eq!(there.unwrap(&blob).await.expect_err("other key"), SealError::WrongKey);
}

/// Tampering: any bit flipped in the IV, ciphertext or tag, or the key reference is WrongKey
/// (the token's tag check, or the reference check), as is a switch to another valid
/// mechanism; a changed version, an unknown mechanism code or an impossible length is a
/// malformed blob (Backend). The seal keeps working afterwards.
#[tokio::test]
async fn t17_tampered_blob() {
    let s = seal(json!({"key_label": "tamper", "generate_key": true})).await;
    let root = Key256::generate();
    let blob = s.wrap(&root).await.expect("wrap");
    // Layout: version, mechanism, hash, label len, "tamper", id len (0), IV len, IV, ct len, ct.
    let label_at = 4;
    let iv_at = label_at + "tamper".len() + 2;
    let ct_at = iv_at + 12 + 2;
    assert_eq!(blob.len(), ct_at + 48);
    let mut positions: Vec<usize> = (iv_at..iv_at + 12).chain(ct_at..blob.len()).collect();
    positions.extend([label_at, label_at + 5]);
    for pos in positions {
        let mut bad = blob.clone();
        bad[pos] ^= 0x01;
        assert_eq!(s.unwrap(&bad).await.expect_err("tampered"), SealError::WrongKey, "flip at byte {pos}");
    }
    // Another valid mechanism (RSA-OAEP with sha1): the blob is well-formed but names a
    // key this seal does not have.
    let mut bad = blob.clone();
    bad[1] = 2;
    bad[2] = 1;
    assert_eq!(s.unwrap(&bad).await.expect_err("mechanism"), SealError::WrongKey);
    let mut bad = blob.clone();
    bad[1] = 0;
    assert!(matches!(s.unwrap(&bad).await, Err(SealError::Backend(_))));
    let mut bad = blob.clone();
    bad[0] = 2;
    assert!(matches!(s.unwrap(&bad).await, Err(SealError::Backend(_))));
    let mut bad = blob.clone();
    bad[iv_at - 1] = 11; // IV length
    assert!(matches!(s.unwrap(&bad).await, Err(SealError::Backend(_))));
    assert_eq!(s.unwrap(&blob).await.expect("intact").expose(), root.expose());
}

/// 8 tasks wrapping and unwrapping at once share a pool bounded by max_parallel: all calls
/// succeed, no more sessions are ever opened than the bound, and they are reused (no churn).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn t18_concurrent_wraps_share_the_pool() {
    for max in [3usize, 1] {
        let s = Arc::new(seal(json!({"key_label": "pool", "generate_key": true, "max_parallel": max})).await);
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..10 {
                    let root = Key256::generate();
                    let blob = s.wrap(&root).await.expect("wrap");
                    let back = s.unwrap(&blob).await.expect("unwrap");
                    assert_eq!(back.expose(), root.expose());
                }
            }));
        }
        for t in tasks {
            t.await.expect("task");
        }
        let stats = s.pool_stats();
        eprintln!("max_parallel {max}: {stats:?}");
        assert_eq!(stats.max_sessions, max);
        assert!(stats.open_sessions <= max, "{stats:?}");
        assert!(stats.sessions_opened <= max as u64, "sessions reopened: {stats:?}");
        assert_eq!(stats.idle_sessions, stats.open_sessions, "{stats:?}");
        assert_eq!(stats.recoveries, 0, "{stats:?}");
    }
}

/// A key deleted from the token behind the seal's back: the next call repairs its stale
/// handle, looks the key up again and answers Unavailable naming the missing key (the node
/// can stay sealed and say why), again on every later call; nothing panics.
#[tokio::test]
async fn t19_deleted_key_is_unavailable() {
    let s = seal(json!({"key_label": "doomed", "generate_key": true})).await;
    let blob = s.wrap(&Key256::generate()).await.expect("wrap");
    let adm = admin(&store().main).await;
    for k in adm.aes_keys("doomed") {
        adm.session.destroy_object(k).expect("C_DestroyObject");
    }
    // `adm` keeps other tests from touching the store while the seal looks the key up.
    for _ in 0..2 {
        match s.unwrap(&blob).await {
            Err(SealError::Unavailable(msg)) => {
                assert!(msg.contains("no key \"doomed\""), "{msg}")
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }
    assert!(matches!(s.wrap(&Key256::generate()).await, Err(SealError::Unavailable(_))));
    eprintln!("after deletion: {:?} cause {:?}", s.pool_stats(), s.last_recovery_cause());
}
