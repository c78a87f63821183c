//! The AWS KMS seal against moto's KMS server (a real HTTP server speaking the KMS JSON
//! protocol with SigV4-signed requests). Each test starts its own moto_server.
mod common;

use aws_sdk_kms::primitives::Blob;
use coffer_hardening::secret::Key256;
use coffer_seal::testing::conformance;
use coffer_seal::{Seal, SealError};
use coffer_seal_awskms::{blob, AwsKmsConfig, AwsKmsSeal};
use common::{config_for, iam_call, shorten, stanza, xml_field, Moto, Proxy};
use std::collections::HashMap;
use std::time::{Duration, Instant};

async fn seal(moto: &Moto, key: &str) -> AwsKmsSeal {
    AwsKmsSeal::new(moto.config(key)).await.expect("seal")
}

/// The Seal contract (round trip, randomized wraps, no key in the clear, every altered,
/// cut or extended blob refused, a blob of another seal is WrongKey) holds for two seals on
/// two KMS keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_conformance_two_keys() {
    let moto = Moto::start();
    let a = moto.create_key().await;
    let b = moto.create_key().await;
    let (sa, sb) = (seal(&moto, &a).await, seal(&moto, &b).await);
    assert_eq!(sa.seal_type(), "awskms");
    assert_eq!(sa.key_arn(), a);
    conformance(&sa, &sb).await;
}

/// A blob outlives the seal instance that made it (a restart): a new seal from the same
/// config unwraps it, and so does one configured with an alias of the same key, or with its
/// bare key id; DescribeKey resolves both to the ARN stored in the blob.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t11_blob_survives_restart_and_alias() {
    let moto = Moto::start();
    let arn = moto.create_key().await;
    let key_id = arn.rsplit('/').next().expect("key id").to_string();
    moto.admin()
        .create_alias()
        .alias_name("alias/coffer-root")
        .target_key_id(&key_id)
        .send()
        .await
        .expect("CreateAlias");
    let root = Key256::generate();
    let stored = seal(&moto, &arn).await.wrap(&root).await.expect("wrap");
    assert_eq!(blob::parse(&stored).expect("parse").key_arn, arn);

    for configured in [arn.as_str(), "alias/coffer-root", key_id.as_str()] {
        let s = seal(&moto, configured).await;
        assert_eq!(s.key_arn(), arn, "{configured} resolves to the key ARN");
        let back = s.unwrap(&stored).await.expect("unwrap after restart");
        assert_eq!(back.expose(), root.expose());
    }
}

/// A blob wrapped under key A does not unwrap under a seal configured for key B, in either
/// direction, even with the stored key ARN rewritten to B's (the DEK stays A's ciphertext).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t20_blob_of_key_a_is_wrong_key_under_key_b() {
    let moto = Moto::start();
    let a = moto.create_key().await;
    let b = moto.create_key().await;
    let (sa, sb) = (seal(&moto, &a).await, seal(&moto, &b).await);
    let root = Key256::generate();
    let blob_a = sa.wrap(&root).await.expect("wrap");
    assert_eq!(sb.unwrap(&blob_a).await.expect_err("B"), SealError::WrongKey);
    let blob_b = sb.wrap(&root).await.expect("wrap");
    assert_eq!(sa.unwrap(&blob_b).await.expect_err("A"), SealError::WrongKey);

    // Relabel A's blob as B's: same length ARNs (same account, region, UUID length).
    let p = blob::parse(&blob_a).expect("parse");
    let mut forged = blob::header(&b, p.encrypted_dek).expect("header");
    forged.extend_from_slice(p.nonce);
    forged.extend_from_slice(p.sealed);
    match sb.unwrap(&forged).await {
        Ok(_) => panic!("a relabelled blob of key A unwrapped under key B"),
        Err(e) => assert_ne!(
            std::mem::discriminant(&e),
            std::mem::discriminant(&SealError::Unavailable(String::new())),
            "a refused ciphertext is not an outage: {e:?}"
        ),
    }
}

/// Tampering, by region of the blob: the key ARN → WrongKey (no KMS call needed); the
/// KMS-encrypted data key → an error, never a key (moto answers InvalidCiphertext or
/// AccessDenied depending on the byte); nonce and ciphertext → WrongKey (GCM tag); a data key
/// that KMS encrypted without the seal's encryption context → WrongKey; bad lengths or
/// version → Backend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t21_tampered_blobs() {
    let moto = Moto::start();
    let arn = moto.create_key().await;
    let s = seal(&moto, &arn).await;
    let root = Key256::generate();
    let good = s.wrap(&root).await.expect("wrap");
    let p = blob::parse(&good).expect("parse");
    let arn_at = 3;
    let dek_at = 3 + p.key_arn.len() + 2;
    let nonce_at = dek_at + p.encrypted_dek.len();
    let sealed_at = nonce_at + blob::NONCE_LEN;
    let flip = |i: usize| {
        let mut b = good.clone();
        b[i] ^= 0x01;
        b
    };
    assert_eq!(s.unwrap(&flip(arn_at + 5)).await.expect_err("arn"), SealError::WrongKey);
    for i in [dek_at, dek_at + p.encrypted_dek.len() / 2, nonce_at - 1] {
        assert!(s.unwrap(&flip(i)).await.is_err(), "altered data key byte {i} accepted");
    }
    for i in [nonce_at, sealed_at, sealed_at + 20, good.len() - 1] {
        assert_eq!(s.unwrap(&flip(i)).await.expect_err("gcm"), SealError::WrongKey, "byte {i}");
    }

    // A data key KMS encrypted for some other purpose (no encryption context) does not open.
    let foreign =
        moto.admin().encrypt().key_id(&arn).plaintext(Blob::new(vec![7u8; 32])).send().await.expect("Encrypt");
    let foreign_dek = foreign.ciphertext_blob().expect("ciphertext").as_ref().to_vec();
    let mut spliced = blob::header(&arn, &foreign_dek).expect("header");
    spliced.extend_from_slice(p.nonce);
    spliced.extend_from_slice(p.sealed);
    assert_eq!(s.unwrap(&spliced).await.expect_err("context"), SealError::WrongKey);
    // The same data key with the right context but a different one opens nothing either.
    let mut ctx = HashMap::new();
    ctx.insert("coffer:purpose".to_string(), "root-key".to_string());
    ctx.insert("coffer:format".to_string(), "awskms-v1".to_string());
    let other_dek = moto
        .admin()
        .encrypt()
        .key_id(&arn)
        .plaintext(Blob::new(vec![9u8; 32]))
        .set_encryption_context(Some(ctx))
        .send()
        .await
        .expect("Encrypt");
    let mut swapped = blob::header(&arn, other_dek.ciphertext_blob().expect("ct").as_ref()).expect("header");
    swapped.extend_from_slice(p.nonce);
    swapped.extend_from_slice(p.sealed);
    assert_eq!(s.unwrap(&swapped).await.expect_err("dek swap"), SealError::WrongKey);

    assert!(matches!(s.unwrap(&good[..good.len() - 1]).await, Err(SealError::Backend(_))));
    assert!(matches!(s.unwrap(&[]).await, Err(SealError::Backend(_))));
    let mut v = good.clone();
    v[0] = 0x01;
    assert!(matches!(s.unwrap(&v).await, Err(SealError::Backend(_))));
    // The untouched blob still opens.
    assert_eq!(s.unwrap(&good).await.expect("unwrap").expose(), root.expose());
}

/// KMS going away mid-run: wrap, unwrap and a new seal answer Unavailable (retryable), not a
/// panic or a hang, within the configured bound (3 attempts, 10 s operation timeout).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t30_kms_stopped_is_unavailable_in_bounded_time() {
    let mut moto = Moto::start();
    let arn = moto.create_key().await;
    let s = seal(&moto, &arn).await;
    let root = Key256::generate();
    let stored = s.wrap(&root).await.expect("wrap while up");
    moto.stop();

    let t = Instant::now();
    let e = s.unwrap(&stored).await.expect_err("unwrap while down");
    assert!(matches!(e, SealError::Unavailable(_)), "unwrap: {e:?}");
    let e = s.wrap(&root).await.expect_err("wrap while down");
    assert!(matches!(e, SealError::Unavailable(_)), "wrap: {e:?}");
    let e = AwsKmsSeal::new(moto.config(&arn)).await.expect_err("new while down");
    assert!(matches!(e, SealError::Unavailable(_)), "new: {e:?}");
    let took = t.elapsed();
    assert!(took < Duration::from_secs(20), "three calls took {took:?}");
    // The text says what and where, and nothing secret.
    let text = e.to_string();
    assert!(text.starts_with("seal unavailable: AWS KMS DescribeKey"), "{text}");
    assert!(!text.contains("test:test"));
}

/// A KMS endpoint that accepts connections and never answers: Unavailable once the attempt
/// timeouts run out, bounded by the operation timeout, not a hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t31_unresponsive_kms_is_unavailable_in_bounded_time() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    // Accept and hold every connection without a byte of answer, for at most 30 s.
    let holder = std::thread::spawn(move || {
        listener.set_nonblocking(true).expect("nonblocking");
        let mut held = Vec::new();
        let end = Instant::now() + Duration::from_secs(30);
        while Instant::now() < end && held.len() < 16 {
            match listener.accept() {
                Ok((c, _)) => held.push(c),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    let mut cfg = config_for(&format!("http://127.0.0.1:{port}"), "alias/x", &[]);
    shorten(&mut cfg);
    cfg.attempt_timeout = Duration::from_secs(1);
    cfg.operation_timeout = Duration::from_secs(4);
    let t = Instant::now();
    let e = AwsKmsSeal::new(cfg).await.expect_err("no answer");
    let took = t.elapsed();
    assert!(matches!(e, SealError::Unavailable(_)), "{e:?}");
    assert!(took < Duration::from_secs(8), "took {took:?}");
    drop(holder);
}

/// Keys that cannot be used are configuration errors at startup that name the problem: a key
/// that does not exist (NotFoundException), a disabled key, a key pending deletion, an
/// asymmetric signing key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t40_unusable_keys_are_invalid_config() {
    let moto = Moto::start();
    let admin = moto.admin();
    let missing = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000";
    let e = AwsKmsSeal::new(moto.config(missing)).await.expect_err("missing");
    assert!(matches!(&e, SealError::InvalidConfig(m) if m.contains("NotFoundException")), "{e:?}");
    let e = AwsKmsSeal::new(moto.config("alias/none")).await.expect_err("no alias");
    assert!(matches!(&e, SealError::InvalidConfig(_)), "{e:?}");

    let disabled = moto.create_key().await;
    // moto's DisableKey and ScheduleKeyDeletion take the bare key id only.
    let bare = |arn: &str| arn.rsplit('/').next().unwrap_or(arn).to_string();
    admin.disable_key().key_id(bare(&disabled)).send().await.expect("DisableKey");
    let e = AwsKmsSeal::new(moto.config(&disabled)).await.expect_err("disabled");
    assert!(matches!(&e, SealError::InvalidConfig(m) if m.contains("Disabled")), "{e:?}");

    let doomed = moto.create_key().await;
    admin
        .schedule_key_deletion()
        .key_id(bare(&doomed))
        .pending_window_in_days(7)
        .send()
        .await
        .expect("ScheduleKeyDeletion");
    let e = AwsKmsSeal::new(moto.config(&doomed)).await.expect_err("pending deletion");
    assert!(matches!(&e, SealError::InvalidConfig(m) if m.contains("PendingDeletion")), "{e:?}");

    let signing = admin
        .create_key()
        .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify)
        .key_spec(aws_sdk_kms::types::KeySpec::EccNistP256)
        .send()
        .await
        .expect("CreateKey");
    let signing = signing.key_metadata().and_then(|m| m.arn()).expect("arn");
    let e = AwsKmsSeal::new(moto.config(signing)).await.expect_err("signing key");
    assert!(matches!(&e, SealError::InvalidConfig(m) if m.contains("SIGN_VERIFY")), "{e:?}");
}

/// Credentials, with moto enforcing SigV4 and IAM (INITIAL_NO_AUTH_ACTION_COUNT): an IAM
/// user's keys work, given in the stanza or through a shared credentials file; a wrong secret
/// and an unknown access key are InvalidConfig naming the credentials. (moto started plainly
/// accepts any credentials: the other tests use "test"/"test".)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t50_credentials_checked_by_moto() {
    // Four unauthenticated calls set the stage: CreateUser, CreateAccessKey, PutUserPolicy,
    // CreateKey. From the fifth request on, moto checks signatures and policies.
    let moto = Moto::start_with_env(&[("INITIAL_NO_AUTH_ACTION_COUNT", "4")]);
    iam_call(moto.port, &[("Action", "CreateUser"), ("UserName", "coffer")]);
    let ak = iam_call(moto.port, &[("Action", "CreateAccessKey"), ("UserName", "coffer")]);
    let (access, secret) = (xml_field(&ak, "AccessKeyId"), xml_field(&ak, "SecretAccessKey"));
    iam_call(
        moto.port,
        &[
            ("Action", "PutUserPolicy"),
            ("UserName", "coffer"),
            ("PolicyName", "kms"),
            (
                "PolicyDocument",
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#,
            ),
        ],
    );
    let arn = moto.create_key().await;

    let with = |a: &str, s: &str| {
        let mut attrs = stanza(&moto.endpoint, &arn);
        attrs.insert("access_key".into(), a.into());
        attrs.insert("secret_key".into(), s.into());
        let mut cfg = AwsKmsConfig::from_attrs(&attrs, &|_| None).expect("config");
        shorten(&mut cfg);
        cfg
    };
    let good = AwsKmsSeal::new(with(&access, &secret)).await.expect("valid IAM keys");
    let root = Key256::generate();
    let stored = good.wrap(&root).await.expect("wrap");
    assert_eq!(good.unwrap(&stored).await.expect("unwrap").expose(), root.expose());

    for (a, s, what) in [
        (access.as_str(), "not-the-secret", "wrong secret"),
        ("AKIAUNKNOWNUNKNOWN00", secret.as_str(), "unknown access key"),
    ] {
        let e = AwsKmsSeal::new(with(a, s)).await.expect_err(what);
        match &e {
            SealError::InvalidConfig(m) => {
                assert!(m.contains("refused the credentials"), "{what}: {m}");
                assert!(!m.contains(&secret), "{what}: the secret leaked into {m}");
            }
            other => panic!("{what}: expected InvalidConfig, got {other:?}"),
        }
    }

    // The same keys from a shared credentials file (profile chosen by AWS_PROFILE).
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("credentials");
    std::fs::write(
        &file,
        format!("[default]\naws_access_key_id = WRONG\naws_secret_access_key = WRONG\n\n[seal]\naws_access_key_id = {access}\naws_secret_access_key = {secret}\n"),
    )
    .expect("write");
    let mut attrs = stanza(&moto.endpoint, &arn);
    attrs.remove("access_key");
    attrs.remove("secret_key");
    let fp = file.to_str().expect("utf8").to_string();
    let env = move |k: &str| match k {
        "AWS_SHARED_CREDENTIALS_FILE" => Some(fp.clone()),
        "AWS_PROFILE" => Some("seal".to_string()),
        _ => None,
    };
    let mut cfg = AwsKmsConfig::from_attrs(&attrs, &env).expect("config");
    shorten(&mut cfg);
    let from_file = AwsKmsSeal::new(cfg).await.expect("keys from the shared file");
    assert_eq!(from_file.unwrap(&stored).await.expect("unwrap").expose(), root.expose());
}

/// The same seal instance recovers when KMS comes back: Unavailable while the network path is
/// cut (its pooled connections dropped), then wrap and unwrap work again with no rebuild.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t32_same_seal_recovers_after_outage() {
    let moto = Moto::start();
    let arn = moto.create_key().await;
    let mut proxy = Proxy::start(moto.port).await;
    let s = AwsKmsSeal::new(config_for(&proxy.endpoint(), &arn, &[])).await.expect("seal via proxy");
    let root = Key256::generate();
    let stored = s.wrap(&root).await.expect("wrap");

    proxy.cut();
    for _ in 0..3 {
        let e = s.unwrap(&stored).await.expect_err("while cut");
        assert!(matches!(e, SealError::Unavailable(_)), "{e:?}");
    }
    proxy.restore().await;
    assert_eq!(s.unwrap(&stored).await.expect("unwrap after outage").expose(), root.expose());
    let again = s.wrap(&root).await.expect("wrap after outage");
    assert_eq!(s.unwrap(&again).await.expect("unwrap").expose(), root.expose());
}
