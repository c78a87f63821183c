//! `seal "pkcs11" { ... }`: OpenBao's stanza names, its environment overrides, and Coffer's
//! extras (`generate_key`, `pin_file`, `pin_credential`, `max_parallel`).
//!
//! Precedence is OpenBao's: a non-empty `BAO_HSM_*` variable (else `VAULT_HSM_*`) replaces the
//! stanza's value. Every error names the field (and the variable, when it came from one); none
//! ever contains the PIN.
use coffer_hardening::secret::SecretString;
use coffer_seal::SealError;
use serde_json::{Map, Value};
use std::path::PathBuf;

/// Default number of PKCS#11 sessions a seal keeps open at most.
pub const DEFAULT_MAX_PARALLEL: usize = 4;
/// Label length limit of PKCS#11 (CKA_LABEL has no limit, but the blob stores it in one byte).
const MAX_REF_LEN: usize = 255;

/// How the root key is encrypted on the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// `CKM_AES_GCM` (0x1087) with an AES key: 96-bit IV, 128-bit tag.
    AesGcm,
    /// `CKM_RSA_PKCS_OAEP` (0x9) with an RSA key pair; the hash is `rsa_oaep_hash`.
    RsaOaep,
}

impl Mechanism {
    /// The PKCS#11 name, as OpenBao prints it.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::AesGcm => "CKM_AES_GCM",
            Mechanism::RsaOaep => "CKM_RSA_PKCS_OAEP",
        }
    }

    /// OpenBao's accepted spellings: `CKM_AES_GCM`, `AES_GCM`, `CKM_RSA_PKCS_OAEP`,
    /// `RSA_PKCS_OAEP`, or the numeric mechanism (`0x1087`, `4231`, `0x9`, `9`).
    fn parse(s: &str) -> Result<Self, String> {
        let upper = s.trim().to_ascii_uppercase();
        match upper.as_str() {
            "CKM_AES_GCM" | "AES_GCM" => return Ok(Mechanism::AesGcm),
            "CKM_RSA_PKCS_OAEP" | "RSA_PKCS_OAEP" => return Ok(Mechanism::RsaOaep),
            "CKM_RSA_PKCS" | "RSA_PKCS" | "CKM_AES_CBC_PAD" | "AES_CBC_PAD" | "CKM_AES_CBC" | "AES_CBC" => {
                return Err(format!("deprecated mechanism: {s}"))
            }
            _ => {}
        }
        match parse_number(&upper) {
            Some(0x1087) => Ok(Mechanism::AesGcm),
            Some(0x9) => Ok(Mechanism::RsaOaep),
            _ => Err(format!("unsupported mechanism: {s} (use CKM_AES_GCM or CKM_RSA_PKCS_OAEP)")),
        }
    }
}

/// The hash (and MGF1 hash) of RSA-OAEP. OpenBao's default is SHA-256; SoftHSM 2.6 only
/// implements SHA-1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OaepHash {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl OaepHash {
    pub fn name(self) -> &'static str {
        match self {
            OaepHash::Sha1 => "sha1",
            OaepHash::Sha224 => "sha224",
            OaepHash::Sha256 => "sha256",
            OaepHash::Sha384 => "sha384",
            OaepHash::Sha512 => "sha512",
        }
    }

    fn parse(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sha1" => Ok(OaepHash::Sha1),
            "sha224" => Ok(OaepHash::Sha224),
            "sha256" => Ok(OaepHash::Sha256),
            "sha384" => Ok(OaepHash::Sha384),
            "sha512" => Ok(OaepHash::Sha512),
            _ => Err(format!("unsupported hash: {s} (use sha1, sha224, sha256, sha384 or sha512)")),
        }
    }
}

/// A checked `seal "pkcs11"` configuration. `Debug` never shows the PIN.
#[derive(Debug)]
pub struct Pkcs11Config {
    /// `lib`: path of the PKCS#11 module (e.g. `/usr/lib/softhsm/libsofthsm2.so`).
    pub lib: PathBuf,
    /// `slot`: slot id (decimal or `0x` hex). With `token_label`, both must match.
    pub slot: Option<u64>,
    /// `token_label`: the token's label; preferred, since slot ids can change (SoftHSM
    /// gives every new token a random one).
    pub token_label: Option<String>,
    /// The user PIN, from `pin`, `pin_file`, `pin_credential` or `BAO_HSM_PIN`.
    pub pin: SecretString,
    /// `key_label`: CKA_LABEL of the key. At least one of `key_label` / `key_id`.
    pub key_label: Option<String>,
    /// `key_id`: CKA_ID of the key, given in hex (`0x` prefix allowed).
    pub key_id: Option<Vec<u8>>,
    /// `mechanism`: unset means "from the key found" (AES → GCM, RSA → OAEP), as in OpenBao;
    /// a generated key is AES-256 with GCM.
    pub mechanism: Option<Mechanism>,
    /// `rsa_oaep_hash`: sha256 unless set (OpenBao's default).
    pub rsa_oaep_hash: OaepHash,
    /// `generate_key` (Coffer extra): create a sensitive, non-extractable AES-256 key with
    /// `key_label` / `key_id` on the token when none is found.
    pub generate_key: bool,
    /// `disabled`: the stanza describes the seal being migrated away from.
    pub disabled: bool,
    /// `max_parallel` (`BAO_HSM_MAX_PARALLEL`): most sessions open at once (default 4).
    pub max_parallel: usize,
}

/// Reads a config value as text: HCL gives strings, numbers or booleans for scalars.
fn scalar(attrs: &Map<String, Value>, key: &str) -> Result<Option<String>, SealError> {
    match attrs.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(_) => Err(invalid(format!("'{key}' must be a string"))),
    }
}

fn invalid(msg: String) -> SealError {
    SealError::InvalidConfig(format!("seal \"pkcs11\": {msg}"))
}

/// Decimal or `0x` hexadecimal, as OpenBao's `numberAutoParse`.
fn parse_number(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Go's `strconv.ParseBool`, which OpenBao uses for `disabled` and friends.
fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Where a value came from, for error messages.
struct Sourced {
    value: String,
    origin: String,
}

/// Environment names of a field: `BAO_HSM_X` first, then the legacy `VAULT_HSM_X`.
fn from_env(env: &dyn Fn(&str) -> Option<String>, suffix: &str) -> Option<Sourced> {
    for prefix in ["BAO_HSM_", "VAULT_HSM_"] {
        let name = format!("{prefix}{suffix}");
        if let Some(v) = env(&name).filter(|v| !v.is_empty()) {
            return Some(Sourced { value: v, origin: name });
        }
    }
    None
}

/// The value of a field: its environment variable when set and non-empty, else the stanza.
fn field(
    attrs: &Map<String, Value>,
    env: &dyn Fn(&str) -> Option<String>,
    key: &str,
    env_suffix: &str,
) -> Result<Option<Sourced>, SealError> {
    if let Some(s) = from_env(env, env_suffix) {
        return Ok(Some(s));
    }
    Ok(scalar(attrs, key)?.filter(|v| !v.is_empty()).map(|value| Sourced { value, origin: format!("'{key}'") }))
}

fn read_pin_file(path: &str, what: &str) -> Result<SecretString, SealError> {
    let bytes = std::fs::read(path).map_err(|e| invalid(format!("{what}: cannot read {path}: {}", e.kind())))?;
    let text = String::from_utf8(bytes).map_err(|_| invalid(format!("{what}: {path} is not UTF-8 text")))?;
    // A trailing newline is an editor's, not the PIN's.
    let pin = SecretString::new(text.trim_end_matches(['\n', '\r']).to_owned());
    drop(zeroize::Zeroizing::new(text));
    if pin.expose().is_empty() {
        return Err(invalid(format!("{what}: {path} is empty")));
    }
    Ok(pin)
}

impl Pkcs11Config {
    /// Checks a `seal "pkcs11"` stanza (its attributes as JSON) with the environment `env`
    /// (`|k| std::env::var(k).ok()` in the daemon).
    ///
    /// PIN sources, first found wins: `BAO_HSM_PIN` / `VAULT_HSM_PIN`; else exactly one of
    /// `pin`, `pin_file` (a file holding the PIN; one trailing newline ignored) and
    /// `pin_credential` (a systemd credential: `$CREDENTIALS_DIRECTORY/<name>`, set with
    /// `LoadCredential=`/`LoadCredentialEncrypted=`). Unknown attributes are ignored, as
    /// OpenBao's wrapper does.
    pub fn from_attrs(attrs: &Map<String, Value>, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, SealError> {
        let lib = field(attrs, env, "lib", "LIB")?
            .ok_or_else(|| invalid("missing required parameter 'lib' (or BAO_HSM_LIB)".into()))?
            .value;

        let slot = match field(attrs, env, "slot", "SLOT")? {
            None => None,
            Some(s) => Some(parse_number(&s.value).ok_or_else(|| {
                invalid(format!("{}: invalid slot number {:?} (decimal or 0x hex)", s.origin, s.value))
            })?),
        };
        let token_label = field(attrs, env, "token_label", "TOKEN_LABEL")?.map(|s| s.value);
        if slot.is_none() && token_label.is_none() {
            return Err(invalid(
                "one of 'slot' or 'token_label' is required (or BAO_HSM_SLOT / BAO_HSM_TOKEN_LABEL)".into(),
            ));
        }

        let key_label = field(attrs, env, "key_label", "KEY_LABEL")?.map(|s| s.value);
        if let Some(l) = &key_label {
            if l.len() > MAX_REF_LEN {
                return Err(invalid(format!("'key_label' is longer than {MAX_REF_LEN} bytes")));
            }
        }
        let key_id = match field(attrs, env, "key_id", "KEY_ID")? {
            None => None,
            Some(s) => {
                let hex_text = s.value.trim().trim_start_matches("0x").trim_start_matches("0X");
                let id = hex::decode(hex_text).map_err(|_| {
                    invalid(format!("{}: key id must be hex (e.g. 0x0a1b), got {:?}", s.origin, s.value))
                })?;
                if id.is_empty() || id.len() > MAX_REF_LEN {
                    return Err(invalid(format!("{}: key id must be 1 to {MAX_REF_LEN} bytes", s.origin)));
                }
                Some(id)
            }
        };
        if key_label.is_none() && key_id.is_none() {
            return Err(invalid(
                "one of 'key_label' or 'key_id' is required (or BAO_HSM_KEY_LABEL / BAO_HSM_KEY_ID)".into(),
            ));
        }

        let mechanism = match field(attrs, env, "mechanism", "MECHANISM")? {
            None => None,
            Some(s) => Some(Mechanism::parse(&s.value).map_err(|e| invalid(format!("{}: {e}", s.origin)))?),
        };
        let rsa_oaep_hash = match field(attrs, env, "rsa_oaep_hash", "RSA_OAEP_HASH")? {
            None => OaepHash::Sha256,
            Some(s) => OaepHash::parse(&s.value).map_err(|e| invalid(format!("{}: {e}", s.origin)))?,
        };

        let flag = |key: &str, suffix: &str| -> Result<bool, SealError> {
            match field(attrs, env, key, suffix)? {
                None => Ok(false),
                Some(s) => parse_bool(&s.value)
                    .ok_or_else(|| invalid(format!("{}: expected true or false, got {:?}", s.origin, s.value))),
            }
        };
        let generate_key = flag("generate_key", "GENERATE_KEY")?;
        // `disabled` belongs to the stanza, not to a device: no environment override.
        let disabled = match scalar(attrs, "disabled")? {
            None => false,
            Some(v) => {
                parse_bool(&v).ok_or_else(|| invalid(format!("'disabled': expected true or false, got {v:?}")))?
            }
        };
        if generate_key && mechanism == Some(Mechanism::RsaOaep) {
            return Err(invalid(
                "'generate_key' creates AES-256 keys; it cannot be used with CKM_RSA_PKCS_OAEP".into(),
            ));
        }

        let max_parallel = match field(attrs, env, "max_parallel", "MAX_PARALLEL")? {
            None => DEFAULT_MAX_PARALLEL,
            Some(s) => match s.value.trim().parse::<usize>() {
                Ok(n) if (1..=1024).contains(&n) => n,
                _ => {
                    return Err(invalid(format!(
                        "{}: expected a number of sessions from 1 to 1024, got {:?}",
                        s.origin, s.value
                    )))
                }
            },
        };

        let pin = Self::pin(attrs, env)?;

        Ok(Pkcs11Config {
            lib: PathBuf::from(lib),
            slot,
            token_label,
            pin,
            key_label,
            key_id,
            mechanism,
            rsa_oaep_hash,
            generate_key,
            disabled,
            max_parallel,
        })
    }

    /// A copy (the PIN included), e.g. to build the seal again after `Pkcs11Seal::new`
    /// answered `Unavailable`.
    pub fn duplicate(&self) -> Self {
        Pkcs11Config {
            lib: self.lib.clone(),
            slot: self.slot,
            token_label: self.token_label.clone(),
            pin: SecretString::new(self.pin.expose().to_owned()),
            key_label: self.key_label.clone(),
            key_id: self.key_id.clone(),
            mechanism: self.mechanism,
            rsa_oaep_hash: self.rsa_oaep_hash,
            generate_key: self.generate_key,
            disabled: self.disabled,
            max_parallel: self.max_parallel,
        }
    }

    fn pin(attrs: &Map<String, Value>, env: &dyn Fn(&str) -> Option<String>) -> Result<SecretString, SealError> {
        if let Some(s) = from_env(env, "PIN") {
            return Ok(SecretString::new(s.value));
        }
        let inline = scalar(attrs, "pin")?.filter(|v| !v.is_empty());
        let file = scalar(attrs, "pin_file")?.filter(|v| !v.is_empty());
        let credential = scalar(attrs, "pin_credential")?.filter(|v| !v.is_empty());
        let given = [inline.is_some(), file.is_some(), credential.is_some()].iter().filter(|b| **b).count();
        if given > 1 {
            return Err(invalid("give the PIN once: 'pin', 'pin_file' and 'pin_credential' exclude each other".into()));
        }
        if let Some(pin) = inline {
            return Ok(SecretString::new(pin));
        }
        if let Some(path) = file {
            return read_pin_file(&path, "'pin_file'");
        }
        if let Some(name) = credential {
            if name.contains('/') || name == "." || name == ".." {
                return Err(invalid(format!("'pin_credential': {name:?} is not a credential name")));
            }
            let dir = env("CREDENTIALS_DIRECTORY").filter(|d| !d.is_empty()).ok_or_else(|| {
                invalid(format!(
                    "'pin_credential' = {name:?} needs $CREDENTIALS_DIRECTORY (set by systemd \
                         for a unit with LoadCredential=); it is not set"
                ))
            })?;
            let path = PathBuf::from(dir).join(&name);
            return read_pin_file(&path.to_string_lossy(), "'pin_credential'");
        }
        Err(invalid("missing the PIN: set 'pin', 'pin_file' or 'pin_credential' (or BAO_HSM_PIN)".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;

    fn attrs(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn parse(v: Value) -> Result<Pkcs11Config, SealError> {
        Pkcs11Config::from_attrs(&attrs(v), &no_env)
    }

    fn err(v: Value) -> String {
        parse(v).expect_err("must fail").to_string()
    }

    /// OpenBao's documented example parses, with its defaults (sha256, mechanism from the key,
    /// no key generation, 4 sessions).
    #[test]
    fn openbao_example() {
        let c = parse(json!({
            "lib": "/usr/lib/softhsm/libsofthsm2.so", "token_label": "OpenBao", "pin": "4321",
            "key_label": "bao-root-key-rsa", "rsa_oaep_hash": "sha1"
        }))
        .expect("parse");
        assert_eq!(c.lib, PathBuf::from("/usr/lib/softhsm/libsofthsm2.so"));
        assert_eq!(c.token_label.as_deref(), Some("OpenBao"));
        assert_eq!(c.slot, None);
        assert_eq!(c.pin.expose(), "4321");
        assert_eq!(c.key_label.as_deref(), Some("bao-root-key-rsa"));
        assert_eq!(c.rsa_oaep_hash, OaepHash::Sha1);
        assert_eq!(c.mechanism, None);
        assert!(!c.generate_key && !c.disabled);
        assert_eq!(c.max_parallel, DEFAULT_MAX_PARALLEL);
    }

    /// Slots are decimal or hex (strings or HCL numbers), key ids hex with an optional 0x,
    /// mechanisms by name or number, booleans as Go parses them.
    #[test]
    fn value_forms() {
        let c = parse(json!({
            "lib": "/l.so", "slot": "0x2000000000000001", "pin": "1", "key_id": "0x0A1b",
            "mechanism": "0x1087", "generate_key": "true", "disabled": "T", "max_parallel": 2
        }))
        .expect("parse");
        assert_eq!(c.slot, Some(0x2000000000000001));
        assert_eq!(c.key_id, Some(vec![0x0a, 0x1b]));
        assert_eq!(c.mechanism, Some(Mechanism::AesGcm));
        assert!(c.generate_key && c.disabled);
        assert_eq!(c.max_parallel, 2);
        let c = parse(json!({
            "lib": "/l.so", "slot": 7, "pin": "1", "key_label": "k", "mechanism": "RSA_PKCS_OAEP",
            "generate_key": false
        }))
        .expect("parse");
        assert_eq!(c.slot, Some(7));
        assert_eq!(c.mechanism, Some(Mechanism::RsaOaep));
        assert!(!c.generate_key);
    }

    /// BAO_HSM_* beats the stanza, VAULT_HSM_* is the fallback, empty variables count as unset.
    #[test]
    fn environment_overrides() {
        let vars: HashMap<&str, &str> = [
            ("BAO_HSM_LIB", "/env.so"),
            ("BAO_HSM_TOKEN_LABEL", ""),
            ("VAULT_HSM_TOKEN_LABEL", "vault-token"),
            ("BAO_HSM_PIN", "env-pin"),
            ("BAO_HSM_KEY_LABEL", "env-key"),
            ("BAO_HSM_KEY_ID", "ff"),
            ("BAO_HSM_MECHANISM", "CKM_AES_GCM"),
            ("BAO_HSM_GENERATE_KEY", "1"),
            ("BAO_HSM_SLOT", "3"),
        ]
        .into_iter()
        .collect();
        let env = |k: &str| vars.get(k).map(|v| v.to_string());
        let c = Pkcs11Config::from_attrs(
            &attrs(json!({"lib": "/cfg.so", "token_label": "cfg", "pin": "cfg-pin",
                          "key_label": "cfg-key"})),
            &env,
        )
        .expect("parse");
        assert_eq!(c.lib, PathBuf::from("/env.so"));
        assert_eq!(c.token_label.as_deref(), Some("vault-token"));
        assert_eq!(c.pin.expose(), "env-pin");
        assert_eq!(c.key_label.as_deref(), Some("env-key"));
        assert_eq!(c.key_id, Some(vec![0xff]));
        assert_eq!(c.slot, Some(3));
        assert!(c.generate_key);
        // Enabled by environment alone (BAO_SEAL_TYPE=pkcs11 without a stanza).
        let c = Pkcs11Config::from_attrs(&Map::new(), &env).expect("env only");
        assert_eq!(c.lib, PathBuf::from("/env.so"));
        assert_eq!(c.duplicate().pin.expose(), "env-pin");
    }

    /// Each missing or malformed field is named in the error; the PIN never appears.
    #[test]
    fn errors_name_the_field() {
        let base = json!({"lib": "/l.so", "token_label": "t", "pin": "s3cret-pin", "key_label": "k"});
        let with = |k: &str, v: Value| {
            let mut m = attrs(base.clone());
            m.insert(k.into(), v);
            Value::Object(m)
        };
        let without = |k: &str| {
            let mut m = attrs(base.clone());
            m.remove(k);
            Value::Object(m)
        };
        assert!(err(without("lib")).contains("'lib'"));
        assert!(err(without("token_label")).contains("'slot' or 'token_label'"));
        assert!(err(without("key_label")).contains("'key_label' or 'key_id'"));
        assert!(err(without("pin")).contains("missing the PIN"));
        assert!(err(with("slot", json!("zero"))).contains("'slot'"));
        assert!(err(with("key_id", json!("xyz"))).contains("'key_id'"));
        assert!(err(with("mechanism", json!("CKM_DES"))).contains("'mechanism'"));
        assert!(err(with("mechanism", json!("CKM_RSA_PKCS"))).contains("deprecated"));
        assert!(err(with("rsa_oaep_hash", json!("md5"))).contains("'rsa_oaep_hash'"));
        assert!(err(with("generate_key", json!("yes"))).contains("'generate_key'"));
        assert!(err(with("disabled", json!("maybe"))).contains("'disabled'"));
        assert!(err(with("max_parallel", json!(0))).contains("'max_parallel'"));
        assert!(err(with("lib", json!(["a"]))).contains("'lib' must be a string"));
        assert!(err(with("pin_file", json!("/p"))).contains("exclude each other"));
        let rsa_gen = with("mechanism", json!("CKM_RSA_PKCS_OAEP"));
        let mut m = attrs(rsa_gen);
        m.insert("generate_key".into(), json!(true));
        assert!(err(Value::Object(m)).contains("'generate_key'"));
        for v in [without("lib"), with("slot", json!("zero"))] {
            let e = err(v);
            assert!(!e.contains("s3cret-pin"), "error leaks the PIN: {e}");
            assert!(e.starts_with("invalid seal configuration: seal \"pkcs11\": "), "{e}");
        }
    }

    /// The PIN comes from a file (trailing newline dropped) or a systemd credential; Debug of
    /// the config never shows it.
    #[test]
    fn pin_file_and_credential() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("hsm-pin"), "from-file\n").expect("write");
        let path = dir.path().join("hsm-pin").to_string_lossy().into_owned();
        let c = parse(json!({"lib": "/l.so", "slot": 1, "key_label": "k", "pin_file": path})).expect("parse");
        assert_eq!(c.pin.expose(), "from-file");
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("from-file"), "Debug leaks the PIN: {dbg}");

        let creds = dir.path().to_string_lossy().into_owned();
        let env = |k: &str| (k == "CREDENTIALS_DIRECTORY").then(|| creds.clone());
        let c = Pkcs11Config::from_attrs(
            &attrs(json!({"lib": "/l.so", "slot": 1, "key_label": "k", "pin_credential": "hsm-pin"})),
            &env,
        )
        .expect("parse");
        assert_eq!(c.pin.expose(), "from-file");

        let e = err(json!({"lib": "/l.so", "slot": 1, "key_label": "k", "pin_credential": "hsm-pin"}));
        assert!(e.contains("CREDENTIALS_DIRECTORY"), "{e}");
        let e = err(json!({"lib": "/l.so", "slot": 1, "key_label": "k", "pin_credential": "../x"}));
        assert!(e.contains("not a credential name"), "{e}");
        let e = err(json!({"lib": "/l.so", "slot": 1, "key_label": "k", "pin_file": "/nonexistent/pin"}));
        assert!(e.contains("'pin_file'") && e.contains("/nonexistent/pin"), "{e}");
    }
}
