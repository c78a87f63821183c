//! [`Pkcs11Seal`]: the root key wrapped by a key that never leaves the token.
use crate::blob::{Blob, GCM_IV_LEN, GCM_TAG_LEN};
use crate::config::{Mechanism, OaepHash, Pkcs11Config};
use crate::module::{self, describe, Fault, Module};
use async_trait::async_trait;
use coffer_hardening::secret::Key256;
use coffer_seal::{Seal, SealError};
use cryptoki::error::{Error, RvError};
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource};
use cryptoki::mechanism::{Mechanism as CkMechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use rand::rngs::OsRng;
use rand::RngCore;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// How long a caller waits for a free session before the seal answers `Unavailable`.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(30);

/// The PKCS#11 seal (`seal "pkcs11"`). See the crate docs for the blob layout and the
/// recovery rules.
///
/// Sessions: at most `max_parallel` are open; each is used by one blocking task at a time
/// (`tokio::task::spawn_blocking`), returned to the pool after the call, and thrown away when
/// the token says it is stale.
pub struct Pkcs11Seal {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Pkcs11Seal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Seal").field("config", &self.inner.cfg).finish_non_exhaustive()
    }
}

/// Counters of the session pool, for tests and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// `max_parallel`.
    pub max_sessions: usize,
    /// Sessions open now (idle or in use).
    pub open_sessions: usize,
    /// Sessions idle in the pool now.
    pub idle_sessions: usize,
    /// Sessions opened since the seal was made.
    pub sessions_opened: u64,
    /// Re-initializations after a lost session, login or module.
    pub recoveries: u64,
}

struct Inner {
    cfg: Pkcs11Config,
    module: Arc<Module>,
    state: Mutex<State>,
    freed: Condvar,
    sessions_opened: AtomicU64,
    recoveries: AtomicU64,
    last_recovery: Mutex<Option<String>>,
}

struct State {
    /// Bumped at every recovery: sessions and handles of an older epoch are not reused.
    epoch: u64,
    conn: Option<Arc<Conn>>,
    idle: Vec<Session>,
    /// Sessions open, idle or leased; never above `max_parallel`.
    open: usize,
}

/// The slot and key found for one module generation.
struct Conn {
    generation: u64,
    slot: Slot,
    key: KeyObjects,
    /// CKA_LABEL and CKA_ID of the key, as stored in blobs.
    label: Vec<u8>,
    id: Vec<u8>,
}

enum KeyObjects {
    Aes(ObjectHandle),
    Rsa { public: ObjectHandle, private: ObjectHandle },
}

impl KeyObjects {
    fn mechanism(&self) -> Mechanism {
        match self {
            KeyObjects::Aes(_) => Mechanism::AesGcm,
            KeyObjects::Rsa { .. } => Mechanism::RsaOaep,
        }
    }
}

struct Lease {
    session: Session,
    conn: Arc<Conn>,
    epoch: u64,
}

/// Where a PKCS#11 call failed: decides what its error means to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Slots,
    Open,
    Login,
    FindKey,
    Generate,
    Encrypt,
    Decrypt,
}

enum OpError {
    Ck(Error, Stage),
    Seal(SealError),
}

impl From<SealError> for OpError {
    fn from(e: SealError) -> Self {
        OpError::Seal(e)
    }
}

fn ck(stage: Stage) -> impl Fn(Error) -> OpError {
    move |e| OpError::Ck(e, stage)
}

impl OpError {
    fn fault(&self) -> Option<Fault> {
        match self {
            OpError::Ck(e, _) => module::fault(e),
            OpError::Seal(_) => None,
        }
    }
}

impl Inner {
    fn token_name(&self) -> String {
        match (&self.cfg.token_label, self.cfg.slot) {
            (Some(l), Some(s)) => format!("token {l:?} in slot {s}"),
            (Some(l), None) => format!("token {l:?}"),
            (None, Some(s)) => format!("the token in slot {s}"),
            (None, None) => "the token".into(),
        }
    }

    fn key_name(&self) -> String {
        match (&self.cfg.key_label, &self.cfg.key_id) {
            (Some(l), Some(id)) => format!("key {l:?} (id 0x{})", hex::encode(id)),
            (Some(l), None) => format!("key {l:?}"),
            (None, Some(id)) => format!("key id 0x{}", hex::encode(id)),
            (None, None) => "the key".into(),
        }
    }

    /// The final word on an error: what the caller can do about it.
    fn to_seal_error(&self, e: OpError) -> SealError {
        let (err, stage) = match e {
            OpError::Seal(s) => return s,
            OpError::Ck(err, stage) => (err, stage),
        };
        let what = describe(&err);
        if let Error::LibraryLoading(_) = err {
            return SealError::InvalidConfig(format!(
                "seal \"pkcs11\": cannot load the PKCS#11 library {}: {err}",
                self.cfg.lib.display()
            ));
        }
        if module::fault(&err).is_some() {
            return SealError::Unavailable(format!("PKCS#11 {} is not reachable: {what}", self.token_name()));
        }
        let Error::Pkcs11(rv, _) = &err else {
            return SealError::Backend(format!("PKCS#11: {what}"));
        };
        match (stage, rv) {
            (
                Stage::Login,
                RvError::PinIncorrect
                | RvError::PinInvalid
                | RvError::PinLenRange
                | RvError::PinExpired
                | RvError::PinLocked
                | RvError::UserPinNotInitialized,
            ) => SealError::InvalidConfig(format!(
                "seal \"pkcs11\": login to {} failed: {what}; check 'pin' (or BAO_HSM_PIN, \
                 'pin_file', 'pin_credential')",
                self.token_name()
            )),
            (
                Stage::Decrypt,
                RvError::GeneralError
                | RvError::EncryptedDataInvalid
                | RvError::EncryptedDataLenRange
                | RvError::DataInvalid
                | RvError::DataLenRange,
            ) => SealError::WrongKey,
            (
                Stage::Encrypt | Stage::Decrypt | Stage::Generate,
                RvError::MechanismInvalid
                | RvError::MechanismParamInvalid
                | RvError::ArgumentsBad
                | RvError::KeyTypeInconsistent
                | RvError::KeyFunctionNotPermitted
                | RvError::KeySizeRange
                | RvError::TemplateInconsistent
                | RvError::TemplateIncomplete
                | RvError::AttributeValueInvalid
                | RvError::TokenWriteProtected,
            ) => SealError::InvalidConfig(format!(
                "seal \"pkcs11\": {} refuses {} with {}: {what}",
                self.token_name(),
                self.mechanism_name(),
                self.key_name()
            )),
            (
                _,
                RvError::FunctionFailed
                | RvError::HostMemory
                | RvError::DeviceMemory
                | RvError::SessionCount
                | RvError::TokenNotRecognized,
            ) => SealError::Unavailable(format!("PKCS#11 {}: {what}", self.token_name())),
            _ => SealError::Backend(format!("PKCS#11 {}: {what}", self.token_name())),
        }
    }

    fn mechanism_name(&self) -> String {
        let hash = self.cfg.rsa_oaep_hash.name();
        match self.cfg.mechanism {
            Some(Mechanism::AesGcm) => "CKM_AES_GCM".into(),
            Some(Mechanism::RsaOaep) => format!("CKM_RSA_PKCS_OAEP with rsa_oaep_hash {hash}"),
            None => format!("CKM_AES_GCM or CKM_RSA_PKCS_OAEP (rsa_oaep_hash {hash})"),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The slot holding the configured token.
    fn find_slot(&self) -> Result<Slot, OpError> {
        let ctx = &self.module.ctx;
        let slots = ctx.get_slots_with_token().map_err(ck(Stage::Slots))?;
        for slot in slots {
            if let Some(want) = self.cfg.slot {
                if slot.id() != want {
                    continue;
                }
            }
            if let Some(label) = &self.cfg.token_label {
                let info = ctx.get_token_info(slot).map_err(ck(Stage::Slots))?;
                if info.label().trim_end() != label {
                    continue;
                }
            }
            return Ok(slot);
        }
        Err(SealError::Unavailable(format!("PKCS#11: no {} found in {}", self.token_name(), self.cfg.lib.display()))
            .into())
    }

    fn login(&self, session: &Session) -> Result<(), OpError> {
        let pin = AuthPin::new(self.cfg.pin.expose().to_owned().into_boxed_str());
        match session.login(UserType::User, Some(&pin)) {
            Ok(()) | Err(Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
            Err(e) => Err(OpError::Ck(e, Stage::Login)),
        }
    }

    fn key_template(&self, class: ObjectClass, key_type: KeyType) -> Vec<Attribute> {
        let mut t = vec![Attribute::Class(class), Attribute::KeyType(key_type)];
        if let Some(l) = &self.cfg.key_label {
            t.push(Attribute::Label(l.as_bytes().to_vec()));
        }
        if let Some(id) = &self.cfg.key_id {
            t.push(Attribute::Id(id.clone()));
        }
        t
    }

    fn find_one(
        &self,
        session: &Session,
        class: ObjectClass,
        key_type: KeyType,
        what: &str,
    ) -> Result<Option<ObjectHandle>, OpError> {
        let found = session.find_objects(&self.key_template(class, key_type)).map_err(ck(Stage::FindKey))?;
        match found.len() {
            0 => Ok(None),
            1 => Ok(Some(found[0])),
            n => Err(SealError::InvalidConfig(format!(
                "seal \"pkcs11\": {n} {what} objects match {} on {}; make 'key_label' / 'key_id' \
                 name exactly one",
                self.key_name(),
                self.token_name()
            ))
            .into()),
        }
    }

    /// Finds the configured key (generating an AES key when allowed and missing) and reads
    /// its label and id.
    fn resolve_key(
        &self,
        session: &Session,
        slot: Slot,
        generation: u64,
        allow_generate: bool,
    ) -> Result<Conn, OpError> {
        let _creating = allow_generate.then(|| self.module.create.lock().unwrap_or_else(|p| p.into_inner()));
        let want_aes = self.cfg.mechanism != Some(Mechanism::RsaOaep);
        let want_rsa = self.cfg.mechanism != Some(Mechanism::AesGcm);
        let aes =
            if want_aes { self.find_one(session, ObjectClass::SECRET_KEY, KeyType::AES, "AES key")? } else { None };
        let rsa = if want_rsa {
            self.find_one(session, ObjectClass::PRIVATE_KEY, KeyType::RSA, "RSA private key")?
        } else {
            None
        };
        let key = match (aes, rsa) {
            (Some(_), Some(_)) => {
                return Err(SealError::InvalidConfig(format!(
                    "seal \"pkcs11\": both an AES key and an RSA key match {} on {}; set \
                     'mechanism' to choose",
                    self.key_name(),
                    self.token_name()
                ))
                .into())
            }
            (Some(k), None) => KeyObjects::Aes(k),
            (None, Some(private)) => {
                let public = self
                    .find_one(session, ObjectClass::PUBLIC_KEY, KeyType::RSA, "RSA public key")?
                    .ok_or_else(|| {
                        SealError::Unavailable(format!(
                            "PKCS#11: RSA private {} on {} has no public key with the same \
                             label and id",
                            self.key_name(),
                            self.token_name()
                        ))
                    })?;
                KeyObjects::Rsa { public, private }
            }
            (None, None) if allow_generate && want_aes => KeyObjects::Aes(self.generate_aes_key(slot)?),
            (None, None) => {
                return Err(SealError::Unavailable(format!(
                    "PKCS#11: no {} found on {} (create it, or set generate_key = true)",
                    self.key_name(),
                    self.token_name()
                ))
                .into())
            }
        };
        let object = match &key {
            KeyObjects::Aes(k) => *k,
            KeyObjects::Rsa { private, .. } => *private,
        };
        let (mut label, mut id) = (Vec::new(), Vec::new());
        for attr in
            session.get_attributes(object, &[AttributeType::Label, AttributeType::Id]).map_err(ck(Stage::FindKey))?
        {
            match attr {
                Attribute::Label(l) => label = l,
                Attribute::Id(i) => id = i,
                _ => {}
            }
        }
        if label.len() > 255 || id.len() > 255 {
            return Err(SealError::InvalidConfig(format!(
                "seal \"pkcs11\": the label or id of {} is longer than 255 bytes",
                self.key_name()
            ))
            .into());
        }
        Ok(Conn { generation, slot, key, label, id })
    }

    /// Creates the AES-256 key: on the token, private, sensitive, never extractable, allowed
    /// to encrypt and decrypt only.
    fn generate_aes_key(&self, slot: Slot) -> Result<ObjectHandle, OpError> {
        let session = self.module.ctx.open_rw_session_no_drop(slot).map_err(ck(Stage::Open))?;
        let result = (|| {
            self.login(&session)?;
            let mut template = vec![
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::ValueLen(32.into()),
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::Encrypt(true),
                Attribute::Decrypt(true),
                // SoftHSM grants these by default: the root key's key does nothing else.
                Attribute::Wrap(false),
                Attribute::Unwrap(false),
                Attribute::Sign(false),
                Attribute::Verify(false),
                Attribute::Derive(false),
            ];
            if let Some(l) = &self.cfg.key_label {
                template.push(Attribute::Label(l.as_bytes().to_vec()));
            }
            if let Some(id) = &self.cfg.key_id {
                template.push(Attribute::Id(id.clone()));
            }
            let key = session.generate_key(&CkMechanism::AesKeyGen, &template).map_err(ck(Stage::Generate))?;
            tracing::info!(
                key = %self.key_name(),
                token = %self.token_name(),
                "generated a non-extractable AES-256 seal key on the PKCS#11 token"
            );
            Ok(key)
        })();
        let _ = session.close();
        result
    }

    /// Opens a session (logged in) and, if none is known yet for this generation, the slot
    /// and key.
    fn open_session(
        &self,
        generation: u64,
        conn: Option<Arc<Conn>>,
        allow_generate: bool,
    ) -> Result<(Session, Arc<Conn>), OpError> {
        let slot = match &conn {
            Some(c) => c.slot,
            None => self.find_slot()?,
        };
        let session = self.module.ctx.open_ro_session_no_drop(slot).map_err(ck(Stage::Open))?;
        self.sessions_opened.fetch_add(1, Ordering::Relaxed);
        let ready = self.login(&session).and_then(|()| match conn {
            Some(c) => Ok(c),
            None => self.resolve_key(&session, slot, generation, allow_generate).map(Arc::new),
        });
        match ready {
            Ok(c) => Ok((session, c)),
            Err(e) => {
                if e.fault().is_none() {
                    let _ = session.close();
                }
                Err(e)
            }
        }
    }

    /// A session from the pool, or a new one while fewer than `max_parallel` are open.
    fn checkout(&self, allow_generate: bool) -> Result<Lease, OpError> {
        let deadline = Instant::now() + CHECKOUT_TIMEOUT;
        let mut st = self.lock();
        loop {
            let generation = self.module.generation();
            if st.conn.as_ref().is_some_and(|c| c.generation != generation) {
                // Someone re-initialized the module: every handle we hold is dead.
                self.reset(&mut st, false);
            }
            if let Some(conn) = st.conn.clone() {
                if let Some(session) = st.idle.pop() {
                    return Ok(Lease { session, conn, epoch: st.epoch });
                }
            }
            if st.open < self.cfg.max_parallel {
                st.open += 1;
                let epoch = st.epoch;
                let known = st.conn.clone();
                drop(st);
                let opened = self.open_session(generation, known, allow_generate);
                let mut st = self.lock();
                return match opened {
                    Ok((session, conn)) => {
                        if st.epoch == epoch && st.conn.is_none() && conn.generation == self.module.generation() {
                            st.conn = Some(conn.clone());
                        }
                        Ok(Lease { session, conn, epoch })
                    }
                    Err(e) => {
                        st.open -= 1;
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(SealError::Unavailable(format!(
                    "all {} PKCS#11 sessions stayed busy for {} s",
                    self.cfg.max_parallel,
                    CHECKOUT_TIMEOUT.as_secs()
                ))
                .into());
            }
            st = self.freed.wait_timeout(st, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    /// Returns a session to the pool; disposes of it when `fault` says it is broken or it
    /// predates a recovery.
    fn checkin(&self, lease: Lease, fault: Option<Fault>) {
        let mut st = self.lock();
        let current = lease.epoch == st.epoch && lease.conn.generation == self.module.generation() && st.conn.is_some();
        if current && fault.is_none() {
            st.idle.push(lease.session);
            self.freed.notify_one();
        } else {
            st.open -= 1;
            let alive = fault.is_none_or(Fault::sessions_alive);
            self.dispose(lease.session, lease.conn.generation, alive);
            self.freed.notify_one();
        }
    }

    /// Closes a session that is still alive in the current generation; otherwise forgets it
    /// (its handle may by now name someone else's session).
    fn dispose(&self, session: Session, generation: u64, alive: bool) {
        if alive && generation == self.module.generation() {
            let _ = session.close();
        }
        // Sessions are opened with "no close on drop": dropping one forgets its handle.
    }

    /// Forgets the key and every idle session (closing them if `alive`); leased ones are
    /// disposed of when they come back.
    fn reset(&self, st: &mut State, alive: bool) {
        st.epoch += 1;
        let generation = st.conn.as_ref().map(|c| c.generation);
        st.conn = None;
        let idle: Vec<Session> = st.idle.drain(..).collect();
        for session in idle {
            st.open -= 1;
            match generation {
                Some(g) => self.dispose(session, g, alive),
                None => drop(session),
            }
        }
        self.freed.notify_all();
    }

    /// Repairs what `fault` says is broken, once per observed module generation.
    fn recover(&self, fault: Fault, seen_generation: u64, cause: &OpError) -> Result<(), OpError> {
        self.recoveries.fetch_add(1, Ordering::Relaxed);
        let why = match cause {
            OpError::Ck(e, _) => describe(e),
            OpError::Seal(e) => e.to_string(),
        };
        tracing::warn!(
            token = %self.token_name(),
            cause = %why,
            ?fault,
            "PKCS#11 seal lost its session; re-initializing and retrying once"
        );
        *self.last_recovery.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
        match fault {
            Fault::NotInitialized => self.module.reinitialize(seen_generation, false).map_err(ck(Stage::Open))?,
            Fault::Device => self.module.reinitialize(seen_generation, true).map_err(ck(Stage::Open))?,
            Fault::SessionsLost | Fault::LoginLost => {}
        }
        let mut st = self.lock();
        self.reset(&mut st, fault.sessions_alive());
        Ok(())
    }

    /// Runs `op` on a pooled session; a lost session or module is repaired and `op` retried
    /// once.
    fn run<T>(&self, allow_generate: bool, op: impl Fn(&Session, &Conn) -> Result<T, OpError>) -> Result<T, SealError> {
        let mut retried = false;
        loop {
            let seen = self.module.generation();
            let (result, seen) = match self.checkout(allow_generate) {
                Err(e) => (Err(e), seen),
                Ok(lease) => {
                    let r = op(&lease.session, &lease.conn);
                    let generation = lease.conn.generation;
                    let fault = r.as_ref().err().and_then(OpError::fault);
                    self.checkin(lease, fault);
                    (r, generation)
                }
            };
            match result {
                Ok(v) => return Ok(v),
                Err(e) => match e.fault() {
                    Some(fault) if !retried => {
                        retried = true;
                        if let Err(again) = self.recover(fault, seen, &e) {
                            return Err(self.to_seal_error(again));
                        }
                    }
                    _ => return Err(self.to_seal_error(e)),
                },
            }
        }
    }

    fn wrap_blocking(&self, root_key: &Key256) -> Result<Vec<u8>, SealError> {
        self.run(false, |session, conn| self.wrap_with(session, conn, root_key))
    }

    fn wrap_with(&self, session: &Session, conn: &Conn, root_key: &Key256) -> Result<Vec<u8>, OpError> {
        match conn.key {
            KeyObjects::Aes(key) => {
                let mut blob = Blob {
                    mechanism: Mechanism::AesGcm,
                    hash: None,
                    key_label: conn.label.clone(),
                    key_id: conn.id.clone(),
                    iv: Vec::new(),
                    ciphertext: Vec::new(),
                };
                let aad = blob.gcm_aad()?;
                let mut iv = [0u8; GCM_IV_LEN];
                OsRng.fill_bytes(&mut iv);
                let params =
                    GcmParams::new(&mut iv, &aad, ((GCM_TAG_LEN * 8) as u64).into()).map_err(ck(Stage::Encrypt))?;
                let mut ct = session
                    .encrypt(&CkMechanism::AesGcm(params), key, root_key.expose())
                    .map_err(ck(Stage::Encrypt))?;
                let expected = Key256::LEN + GCM_TAG_LEN;
                // Tokens that choose the IV themselves write it back into the parameter
                // (PKCS#11 3.0) or append it to the output (AWS CloudHSM).
                if ct.len() == expected + GCM_IV_LEN {
                    iv.copy_from_slice(&ct[expected..]);
                    ct.truncate(expected);
                }
                if ct.len() != expected {
                    return Err(SealError::Backend(format!(
                        "PKCS#11 AES-GCM gave {} bytes for a 32-byte key, expected {expected}",
                        ct.len()
                    ))
                    .into());
                }
                blob.iv = iv.to_vec();
                blob.ciphertext = ct;
                Ok(blob.encode()?)
            }
            KeyObjects::Rsa { public, .. } => {
                let hash = self.cfg.rsa_oaep_hash;
                let ct = session.encrypt(&oaep(hash), public, root_key.expose()).map_err(ck(Stage::Encrypt))?;
                Blob {
                    mechanism: Mechanism::RsaOaep,
                    hash: Some(hash),
                    key_label: conn.label.clone(),
                    key_id: conn.id.clone(),
                    iv: Vec::new(),
                    ciphertext: ct,
                }
                .encode()
                .map_err(OpError::Seal)
            }
        }
    }

    fn unwrap_blocking(&self, blob: &Blob) -> Result<Key256, SealError> {
        self.run(false, |session, conn| self.unwrap_with(session, conn, blob))
    }

    fn unwrap_with(&self, session: &Session, conn: &Conn, blob: &Blob) -> Result<Key256, OpError> {
        // A blob names the key that made it; only that key may open it.
        if blob.mechanism != conn.key.mechanism() || blob.key_label != conn.label || blob.key_id != conn.id {
            return Err(SealError::WrongKey.into());
        }
        let plaintext = match conn.key {
            KeyObjects::Aes(key) => {
                if blob.iv.len() != GCM_IV_LEN || blob.ciphertext.len() != Key256::LEN + GCM_TAG_LEN {
                    return Err(SealError::Backend(
                        "stored root key blob is malformed: AES-GCM IV or ciphertext length".into(),
                    )
                    .into());
                }
                let aad = blob.gcm_aad()?;
                let mut iv = [0u8; GCM_IV_LEN];
                iv.copy_from_slice(&blob.iv);
                let params =
                    GcmParams::new(&mut iv, &aad, ((GCM_TAG_LEN * 8) as u64).into()).map_err(ck(Stage::Decrypt))?;
                session.decrypt(&CkMechanism::AesGcm(params), key, &blob.ciphertext).map_err(ck(Stage::Decrypt))?
            }
            KeyObjects::Rsa { private, .. } => {
                let Some(hash) = blob.hash else {
                    return Err(SealError::WrongKey.into());
                };
                session.decrypt(&oaep(hash), private, &blob.ciphertext).map_err(ck(Stage::Decrypt))?
            }
        };
        let plaintext = Zeroizing::new(plaintext);
        Key256::from_slice(&plaintext).ok_or_else(|| {
            SealError::Backend(format!("PKCS#11 unwrapped {} bytes, expected a 32-byte root key", plaintext.len()))
                .into()
        })
    }

    fn stats(&self) -> PoolStats {
        let st = self.lock();
        PoolStats {
            max_sessions: self.cfg.max_parallel,
            open_sessions: st.open,
            idle_sessions: st.idle.len(),
            sessions_opened: self.sessions_opened.load(Ordering::Relaxed),
            recoveries: self.recoveries.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let generation = st.conn.as_ref().map(|c| c.generation);
        for session in st.idle.drain(..) {
            if generation == Some(self.module.generation()) {
                let _ = session.close();
            }
        }
    }
}

fn oaep(hash: OaepHash) -> CkMechanism<'static> {
    let (h, mgf) = match hash {
        OaepHash::Sha1 => (MechanismType::SHA1, PkcsMgfType::MGF1_SHA1),
        OaepHash::Sha224 => (MechanismType::SHA224, PkcsMgfType::MGF1_SHA224),
        OaepHash::Sha256 => (MechanismType::SHA256, PkcsMgfType::MGF1_SHA256),
        OaepHash::Sha384 => (MechanismType::SHA384, PkcsMgfType::MGF1_SHA384),
        OaepHash::Sha512 => (MechanismType::SHA512, PkcsMgfType::MGF1_SHA512),
    };
    CkMechanism::RsaPkcsOaep(PkcsOaepParams::new(h, mgf, PkcsOaepSource::empty()))
}

impl Pkcs11Seal {
    /// Loads the module, finds the token and the key (creating it when `generate_key` is set
    /// and it is missing), then checks the configuration with one wrap/unwrap of a random
    /// key. Blocking: call it from a blocking context (or `spawn_blocking`).
    ///
    /// Errors: `InvalidConfig` for what only the operator can fix (library not loadable, wrong
    /// PIN, ambiguous key, mechanism refused); `Unavailable` for what may come back by itself
    /// (token absent, key missing, device errors).
    pub fn new(cfg: Pkcs11Config) -> Result<Self, SealError> {
        let module = Module::open(&cfg.lib).map_err(|e| match e {
            Error::LibraryLoading(_) | Error::MissingSymbol(_) => SealError::InvalidConfig(format!(
                "seal \"pkcs11\": cannot load the PKCS#11 library {}: {e}",
                cfg.lib.display()
            )),
            other => SealError::Unavailable(format!(
                "PKCS#11 library {} failed to initialize: {}",
                cfg.lib.display(),
                describe(&other)
            )),
        })?;
        let inner = Arc::new(Inner {
            cfg,
            module,
            state: Mutex::new(State { epoch: 0, conn: None, idle: Vec::new(), open: 0 }),
            freed: Condvar::new(),
            sessions_opened: AtomicU64::new(0),
            recoveries: AtomicU64::new(0),
            last_recovery: Mutex::new(None),
        });
        let generate = inner.cfg.generate_key;
        inner.run(generate, |_, _| Ok(()))?;
        // The canary: catches a mechanism or hash the token refuses before any root key
        // depends on it.
        let probe = Key256::generate();
        let blob = Blob::parse(&inner.wrap_blocking(&probe)?)?;
        let back = inner.unwrap_blocking(&blob)?;
        if back.expose() != probe.expose() {
            return Err(SealError::Backend("PKCS#11 self-test: unwrap did not give back the wrapped key".into()));
        }
        Ok(Pkcs11Seal { inner })
    }

    /// [`Pkcs11Seal::new`] on a blocking thread, for async callers.
    pub async fn connect(cfg: Pkcs11Config) -> Result<Self, SealError> {
        blocking(move || Pkcs11Seal::new(cfg)).await
    }

    /// The checked configuration this seal runs with.
    pub fn config(&self) -> &Pkcs11Config {
        &self.inner.cfg
    }

    /// The mechanism in use (from the configuration, or from the key found).
    pub fn mechanism(&self) -> Mechanism {
        let st = self.inner.lock();
        match &st.conn {
            Some(c) => c.key.mechanism(),
            None => self.inner.cfg.mechanism.unwrap_or(Mechanism::AesGcm),
        }
    }

    /// Session pool counters.
    pub fn pool_stats(&self) -> PoolStats {
        self.inner.stats()
    }

    /// What caused the last recovery (e.g. `C_Decrypt returned CKR_SESSION_HANDLE_INVALID`),
    /// for logs and seal status.
    pub fn last_recovery_cause(&self) -> Option<String> {
        self.inner.last_recovery.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SealError> + Send + 'static,
) -> Result<T, SealError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| SealError::Backend(format!("PKCS#11 worker task failed: {e}")))?
}

#[async_trait]
impl Seal for Pkcs11Seal {
    fn seal_type(&self) -> &'static str {
        "pkcs11"
    }

    async fn wrap(&self, root_key: &Key256) -> Result<Vec<u8>, SealError> {
        let inner = self.inner.clone();
        let key = root_key.duplicate();
        blocking(move || inner.wrap_blocking(&key)).await
    }

    async fn unwrap(&self, blob: &[u8]) -> Result<Key256, SealError> {
        let parsed = Blob::parse(blob)?;
        let inner = self.inner.clone();
        blocking(move || inner.unwrap_blocking(&parsed)).await
    }
}
