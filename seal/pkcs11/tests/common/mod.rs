//! The SoftHSM2 token store every test of a test binary shares, made once by
//! `softhsm-fixtures/new-token.sh`, and helpers around it.
//!
//! SoftHSM2 is required: without it these tests fail with a message saying how to install it
//! (CI installs it through scripts/install-deps); they never skip.
#![allow(dead_code)] // each test binary uses part of it

use coffer_seal_pkcs11::{Pkcs11Config, Pkcs11Seal};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};
use cryptoki::object::{Attribute, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use tokio::sync::{Mutex, MutexGuard};

/// SoftHSM 2.6.1's file object store fails (CKR_GENERAL_ERROR, sometimes worse) when objects
/// are created or destroyed while other threads search the same store
/// (softhsm/SoftHSMv2#573, #688). Tests run in parallel, so everything that creates, destroys
/// or looks up keys (making a seal, the admin context) holds this; wraps and unwraps on ready
/// seals run concurrently.
static SETUP: Mutex<()> = Mutex::const_new(());

pub async fn exclusive() -> MutexGuard<'static, ()> {
    SETUP.lock().await
}

/// A token of the shared store, as new-token.sh printed it.
pub struct Token {
    pub label: String,
    pub pin: String,
    pub so_pin: String,
}

pub struct Store {
    pub lib: String,
    pub conf: PathBuf,
    /// The token most tests share.
    pub main: Token,
    /// Only the wrong-PIN test logs in here: a token someone in the process is logged in to
    /// answers any PIN with CKR_USER_ALREADY_LOGGED_IN.
    pub pin_test: Token,
    /// A second token holding keys with the same labels as `main`.
    pub twin: Token,
    _dir: tempfile::TempDir,
}

const LIB: &str = "/usr/lib/softhsm/libsofthsm2.so";

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../softhsm-fixtures/new-token.sh")
}

fn new_token(dir: &Path, label: &str) -> (HashMap<String, String>, Token) {
    let out = Command::new("bash")
        .arg(script())
        .arg(dir)
        .arg(label)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script().display()));
    assert!(
        out.status.success(),
        "softhsm-fixtures/new-token.sh {label} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let vars: HashMap<String, String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let token = Token {
        label: vars["BAO_HSM_TOKEN_LABEL"].clone(),
        pin: vars["BAO_HSM_PIN"].clone(),
        so_pin: vars["SOFTHSM_SO_PIN"].clone(),
    };
    (vars, token)
}

/// The store, created on first use. Sets SOFTHSM2_CONF for the whole test process before
/// anything loads the library (SoftHSM reads it at C_Initialize).
pub fn store() -> &'static Store {
    static STORE: OnceLock<Store> = OnceLock::new();
    STORE.get_or_init(|| {
        // SOFTHSM2_LIB: another library path (the script reads it too).
        let lib = std::env::var("SOFTHSM2_LIB").unwrap_or_else(|_| LIB.to_string());
        let util = Command::new("softhsm2-util").arg("--version").output();
        let mut missing = Vec::new();
        if !Path::new(&lib).exists() {
            missing.push(lib.clone());
        }
        if !util.map(|o| o.status.success()).unwrap_or(false) {
            missing.push("softhsm2-util on PATH".to_string());
        }
        assert!(
            missing.is_empty(),
            "SoftHSM2 is required for the PKCS#11 seal tests and is not installed (missing: {}). \
             Install the Debian package softhsm2 (scripts/install-deps does).",
            missing.join(", ")
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let (vars, main) = new_token(dir.path(), "coffer-main");
        let (_, pin_test) = new_token(dir.path(), "coffer-pin-test");
        let (_, twin) = new_token(dir.path(), "coffer-twin");
        assert_eq!(vars["BAO_HSM_LIB"], lib);
        let conf = PathBuf::from(&vars["SOFTHSM2_CONF"]);
        // Edition 2021: set_var is safe; no PKCS#11 call has run yet in this process.
        std::env::set_var("SOFTHSM2_CONF", &conf);
        Store { lib: vars["BAO_HSM_LIB"].clone(), conf, main, pin_test, twin, _dir: dir }
    })
}

/// Stanza attributes for `token` plus `extra`.
pub fn attrs_for(token: &Token, extra: Value) -> Map<String, Value> {
    let s = store();
    let mut m = match json!({"lib": s.lib, "token_label": token.label, "pin": token.pin}) {
        Value::Object(m) => m,
        _ => unreachable!(),
    };
    if let Value::Object(e) = extra {
        m.extend(e);
    }
    m
}

pub fn no_env(_: &str) -> Option<String> {
    None
}

pub fn config(token: &Token, extra: Value) -> Pkcs11Config {
    Pkcs11Config::from_attrs(&attrs_for(token, extra), &no_env).expect("valid config")
}

/// A seal on the main token (blocking construction moved off the async runtime).
pub async fn seal(extra: Value) -> Pkcs11Seal {
    seal_on(&store().main, extra).await
}

pub async fn seal_on(token: &'static Token, extra: Value) -> Pkcs11Seal {
    let cfg = config(token, extra);
    let _setup = exclusive().await;
    tokio::task::spawn_blocking(move || Pkcs11Seal::new(cfg)).await.expect("join").expect("seal")
}

/// A separate cryptoki context on the same library: what an operator's tool (or another
/// part of the process) would do behind the seal's back.
pub struct Admin {
    pub session: Session,
    pub ctx: Pkcs11,
    _setup: MutexGuard<'static, ()>,
}

/// Holds [`exclusive`] while it lives: drop it before making a seal.
pub async fn admin(token: &Token) -> Admin {
    let setup = exclusive().await;
    let s = store();
    let ctx = Pkcs11::new(&s.lib).expect("load library");
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => panic!("C_Initialize: {e}"),
    }
    let slot = slot_of(&ctx, &token.label);
    let session = ctx.open_rw_session(slot).expect("open session");
    match session.login(UserType::User, Some(&AuthPin::new(token.pin.clone().into()))) {
        Ok(()) | Err(Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
        Err(e) => panic!("C_Login: {e}"),
    }
    Admin { session, ctx, _setup: setup }
}

pub fn slot_of(ctx: &Pkcs11, label: &str) -> Slot {
    ctx.get_slots_with_token()
        .expect("slots")
        .into_iter()
        .find(|s| ctx.get_token_info(*s).map(|i| i.label().trim_end() == label).unwrap_or(false))
        .unwrap_or_else(|| panic!("no token {label}"))
}

impl Admin {
    /// Objects of `class` with CKA_LABEL `label`.
    pub fn find(&self, class: ObjectClass, label: &str) -> Vec<ObjectHandle> {
        self.session
            .find_objects(&[Attribute::Class(class), Attribute::Label(label.as_bytes().to_vec())])
            .expect("find")
    }

    /// An RSA-2048 key pair for decryption only, private key sensitive and non-extractable.
    pub fn generate_rsa(&self, label: &str, id: &[u8]) {
        let public = [
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id.to_vec()),
            Attribute::ModulusBits(2048.into()),
            Attribute::PublicExponent(vec![1, 0, 1]),
            Attribute::Encrypt(true),
            Attribute::Verify(false),
            Attribute::Wrap(false),
        ];
        let private = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id.to_vec()),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Decrypt(true),
            Attribute::Sign(false),
            Attribute::Unwrap(false),
        ];
        self.session
            .generate_key_pair(&cryptoki::mechanism::Mechanism::RsaPkcsKeyPairGen, &public, &private)
            .expect("generate RSA key pair");
    }

    pub fn aes_keys(&self, label: &str) -> Vec<ObjectHandle> {
        self.session
            .find_objects(&[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::Label(label.as_bytes().to_vec()),
            ])
            .expect("find")
    }
}
