//! `seal "awskms" { ... }`: OpenBao's stanza and environment, parsed once into a checked
//! [`AwsKmsConfig`].
//!
//! Precedence follows OpenBao's AWS KMS wrapper (go-kms-wrapping `awskms.SetConfig` and
//! go-secure-stdlib `awsutil`):
//!
//! | value | first found wins |
//! |---|---|
//! | key | env `BAO_AWSKMS_SEAL_KEY_ID`, `AWSKMS_WRAPPER_KEY_ID`, `VAULT_AWSKMS_SEAL_KEY_ID`; then `kms_key_id` |
//! | endpoint | env `AWS_KMS_ENDPOINT`; then `endpoint`; else the regional AWS endpoint |
//! | region | `region`; env `AWS_REGION`, `AWS_DEFAULT_REGION`; `region` of the profile in the shared config file (`AWS_CONFIG_FILE` or `~/.aws/config`); else `us-east-1` |
//! | credentials | `access_key` + `secret_key` (+ `session_token`); env `AWS_ACCESS_KEY_ID` (or `AWS_ACCESS_KEY`) + `AWS_SECRET_ACCESS_KEY` (or `AWS_SECRET_KEY`) (+ `AWS_SESSION_TOKEN`); the shared credentials file |
//!
//! The shared credentials file is `shared_creds_filename`, env `AWS_SHARED_CREDENTIALS_FILE`, or
//! `$HOME/.aws/credentials`; its profile `shared_creds_profile`, env `AWS_PROFILE`, or
//! `default`. `disallow_env_vars = true` makes the key and endpoint come from the stanza only
//! (as in OpenBao; the credential chain still reads the environment).
//!
//! Not supported (they need aws-config and its STS client): EC2 instance roles (IMDS), ECS task
//! roles, web identity (`role_arn`, `web_identity_token_file` are refused with a clear error),
//! SSO, `credential_process` and `source_profile` chains in the shared files.
use coffer_hardening::secret::SecretString;
use coffer_seal::SealError;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::time::Duration;

/// The region when neither the stanza, the environment nor the shared config file names one
/// (OpenBao's default).
pub const DEFAULT_REGION: &str = "us-east-1";

/// Env names of the key id, in the order they are read.
pub const KEY_ID_ENV: [&str; 3] = ["BAO_AWSKMS_SEAL_KEY_ID", "AWSKMS_WRAPPER_KEY_ID", "VAULT_AWSKMS_SEAL_KEY_ID"];

/// Where the seal's AWS credentials come from, as resolved by [`AwsKmsConfig::from_attrs`].
pub enum CredentialSource {
    /// `access_key`/`secret_key`/`session_token` in the stanza.
    Config { access_key: SecretString, secret_key: SecretString, session_token: Option<SecretString> },
    /// `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN` in the environment.
    Env { access_key: SecretString, secret_key: SecretString, session_token: Option<SecretString> },
    /// A profile of the shared credentials file, re-read whenever the SDK refreshes its
    /// credentials (so a rotated file is picked up without a restart).
    SharedFile { path: PathBuf, profile: String },
}

impl std::fmt::Debug for CredentialSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CredentialSource::Config { session_token, .. } => write!(
                f,
                "Config(access_key=<redacted>, secret_key=<redacted>, session_token={})",
                if session_token.is_some() { "<redacted>" } else { "none" }
            ),
            CredentialSource::Env { session_token, .. } => write!(
                f,
                "Env(access_key=<redacted>, secret_key=<redacted>, session_token={})",
                if session_token.is_some() { "<redacted>" } else { "none" }
            ),
            CredentialSource::SharedFile { path, profile } => {
                write!(f, "SharedFile(path={}, profile={profile})", path.display())
            }
        }
    }
}

/// A checked `seal "awskms"` stanza. Build it with [`AwsKmsConfig::from_attrs`]; the timing
/// fields have defaults a caller may tighten (tests do).
#[derive(Debug)]
pub struct AwsKmsConfig {
    /// The KMS key as configured: key id, key ARN, alias name (`alias/x`) or alias ARN.
    pub kms_key_id: String,
    pub region: String,
    /// A custom KMS endpoint (VPC endpoint, FIPS endpoint, a test server).
    pub endpoint: Option<String>,
    pub credentials: CredentialSource,
    /// `disabled = "true"`: the stanza names the old seal of a seal migration.
    pub disabled: bool,
    /// Attempts per KMS call, the first included (throttling, 5xx and network errors retried
    /// with jittered exponential backoff).
    pub max_attempts: u32,
    /// First retry backoff; doubles per retry up to `max_backoff`.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub connect_timeout: Duration,
    /// Bound on one HTTP attempt (connect + request + response).
    pub attempt_timeout: Duration,
    /// Bound on one KMS call, retries included: a `wrap`/`unwrap` answers within about this.
    pub operation_timeout: Duration,
}

/// Stanza keys this seal reads. Other keys (the generic `name`, `priority`, health-check
/// options) are left to the caller.
const ATTRS: [&str; 10] = [
    "region",
    "access_key",
    "secret_key",
    "session_token",
    "kms_key_id",
    "endpoint",
    "disabled",
    "disallow_env_vars",
    "shared_creds_filename",
    "shared_creds_profile",
];

/// Stanza keys OpenBao's wrapper accepts that need the STS-based providers of aws-config.
const UNSUPPORTED_ATTRS: [&str; 3] = ["role_arn", "role_session_name", "web_identity_token_file"];

fn invalid(msg: impl Into<String>) -> SealError {
    SealError::InvalidConfig(msg.into())
}

/// A stanza value as a string: HCL gives strings, JSON config may give bools or numbers.
/// Empty strings count as unset (as in OpenBao, where "" is the zero value).
fn attr_str(attrs: &Map<String, Value>, key: &str) -> Result<Option<String>, SealError> {
    match attrs.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(invalid(format!("awskms: '{key}' must be a string"))),
    }
}

fn attr_bool(attrs: &Map<String, Value>, key: &str) -> Result<bool, SealError> {
    match attr_str(attrs, key)? {
        None => Ok(false),
        Some(s) => parse_bool(&s).ok_or_else(|| invalid(format!("awskms: '{key}' must be a boolean, got {s:?}"))),
    }
}

/// Go's strconv.ParseBool, which OpenBao uses for these flags.
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// An environment variable, empty counting as unset.
fn env_var(env: Env<'_>, name: &str) -> Option<String> {
    env(name).filter(|v| !v.is_empty())
}

impl AwsKmsConfig {
    /// Parses a `seal "awskms"` stanza (its attributes as a JSON object) with `env` as the
    /// process environment (pass `&|k| std::env::var(k).ok()` in the daemon). Reads the shared
    /// AWS files when the chain reaches them. No network access.
    pub fn from_attrs(attrs: &Map<String, Value>, env: Env<'_>) -> Result<Self, SealError> {
        for key in UNSUPPORTED_ATTRS {
            if attr_str(attrs, key)?.is_some() {
                return Err(invalid(format!(
                    "awskms: '{key}' (assume-role / web identity) is not supported by Coffer; \
                     give access_key/secret_key, the AWS_* environment or a shared credentials \
                     file"
                )));
            }
        }
        let disallow_env = attr_bool(attrs, "disallow_env_vars")?;
        let disabled = attr_bool(attrs, "disabled")?;

        let env_key_id = if disallow_env { None } else { KEY_ID_ENV.iter().find_map(|n| env_var(env, n)) };
        let kms_key_id = match env_key_id.or(attr_str(attrs, "kms_key_id")?) {
            Some(k) => k,
            None => {
                return Err(invalid(
                    "awskms: 'kms_key_id' not found in the seal stanza or the environment \
                     (BAO_AWSKMS_SEAL_KEY_ID / VAULT_AWSKMS_SEAL_KEY_ID)",
                ))
            }
        };

        let env_endpoint = if disallow_env { None } else { env_var(env, "AWS_KMS_ENDPOINT") };
        let endpoint = match env_endpoint.or(attr_str(attrs, "endpoint")?) {
            None => None,
            Some(ep) if ep.starts_with("https://") || ep.starts_with("http://") => Some(ep),
            // A bare host name gets https://, as the Go SDK behind OpenBao does.
            Some(ep) if !ep.contains("://") && !ep.contains(char::is_whitespace) => Some(format!("https://{ep}")),
            Some(ep) => return Err(invalid(format!("awskms: endpoint {ep:?} must be an http:// or https:// URL"))),
        };

        let profile = attr_str(attrs, "shared_creds_profile")?
            .or_else(|| env_var(env, "AWS_PROFILE"))
            .unwrap_or_else(|| "default".to_string());
        let home = env_var(env, "HOME").map(PathBuf::from);

        let region = match attr_str(attrs, "region")?
            .or_else(|| env_var(env, "AWS_REGION"))
            .or_else(|| env_var(env, "AWS_DEFAULT_REGION"))
        {
            Some(r) => r,
            None => {
                let path = env_var(env, "AWS_CONFIG_FILE")
                    .map(PathBuf::from)
                    .or_else(|| home.as_ref().map(|h| h.join(".aws/config")));
                path.and_then(|p| std::fs::read_to_string(p).ok())
                    .and_then(|text| {
                        // In ~/.aws/config profiles other than default are `[profile NAME]`.
                        let section =
                            if profile == "default" { "default".to_string() } else { format!("profile {profile}") };
                        ini_lookup(&text, &section, "region")
                    })
                    .unwrap_or_else(|| DEFAULT_REGION.to_string())
            }
        };
        if region.is_empty() || !region.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(invalid(format!("awskms: invalid region {region:?}")));
        }

        let credentials = resolve_credentials(attrs, env, home.as_deref(), &profile)?;

        Ok(AwsKmsConfig {
            kms_key_id,
            region,
            endpoint,
            credentials,
            disabled,
            max_attempts: 4,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(10),
            operation_timeout: Duration::from_secs(30),
        })
    }

    /// Only the stanza keys this seal understands (for callers that warn about the rest).
    pub fn known_attrs() -> &'static [&'static str] {
        &ATTRS
    }
}

fn resolve_credentials(
    attrs: &Map<String, Value>,
    env: Env<'_>,
    home: Option<&std::path::Path>,
    profile: &str,
) -> Result<CredentialSource, SealError> {
    let access = attr_str(attrs, "access_key")?;
    let secret = attr_str(attrs, "secret_key")?;
    let token = attr_str(attrs, "session_token")?;
    match (access, secret) {
        (Some(a), Some(s)) => {
            return Ok(CredentialSource::Config {
                access_key: SecretString::new(a),
                secret_key: SecretString::new(s),
                session_token: token.map(SecretString::new),
            })
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(invalid("awskms: static credentials need both 'access_key' and 'secret_key'"))
        }
        (None, None) if token.is_some() => {
            return Err(invalid("awskms: 'session_token' given without 'access_key' and 'secret_key'"))
        }
        (None, None) => {}
    }

    let env_access = env_var(env, "AWS_ACCESS_KEY_ID").or_else(|| env_var(env, "AWS_ACCESS_KEY"));
    let env_secret = env_var(env, "AWS_SECRET_ACCESS_KEY").or_else(|| env_var(env, "AWS_SECRET_KEY"));
    match (env_access, env_secret) {
        (Some(a), Some(s)) => {
            return Ok(CredentialSource::Env {
                access_key: SecretString::new(a),
                secret_key: SecretString::new(s),
                session_token: env_var(env, "AWS_SESSION_TOKEN").map(SecretString::new),
            })
        }
        (Some(_), None) => return Err(invalid("awskms: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")),
        (None, Some(_)) => return Err(invalid("awskms: AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not")),
        (None, None) => {}
    }

    let path = attr_str(attrs, "shared_creds_filename")?
        .or_else(|| env_var(env, "AWS_SHARED_CREDENTIALS_FILE"))
        .map(PathBuf::from)
        .or_else(|| home.map(|h| h.join(".aws/credentials")));
    let Some(path) = path else {
        return Err(no_credentials());
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            // Checked now so a bad file fails at startup, not at the first unseal.
            shared_file_credentials(&text, profile)
                .map_err(|e| invalid(format!("awskms: shared credentials file {}: {e}", path.display())))?;
            Ok(CredentialSource::SharedFile { path, profile: profile.to_string() })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(no_credentials()),
        Err(e) => Err(invalid(format!("awskms: cannot read shared credentials file {}: {e}", path.display()))),
    }
}

fn no_credentials() -> SealError {
    invalid(
        "awskms: no AWS credentials: set access_key/secret_key in the seal stanza, \
         AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the environment, or a profile in \
         ~/.aws/credentials (instance roles are not supported)",
    )
}

/// Keys of one profile of a shared credentials file. The error text never contains values.
pub(crate) struct FileKeys {
    pub access_key: SecretString,
    pub secret_key: SecretString,
    pub session_token: Option<SecretString>,
}

pub(crate) fn shared_file_credentials(text: &str, profile: &str) -> Result<FileKeys, String> {
    let get = |k: &str| ini_lookup(text, profile, k);
    if !ini_has_section(text, profile) {
        return Err(format!("no [{profile}] profile"));
    }
    let access = get("aws_access_key_id");
    let secret = get("aws_secret_access_key");
    match (access, secret) {
        (Some(a), Some(s)) => Ok(FileKeys {
            access_key: SecretString::new(a),
            secret_key: SecretString::new(s),
            session_token: get("aws_session_token").map(SecretString::new),
        }),
        _ => Err(format!("profile [{profile}] lacks aws_access_key_id or aws_secret_access_key")),
    }
}

/// The AWS shared-file INI dialect, the part needed here: `[section]` headers, `key = value`
/// lines, `#`/`;` comment lines. Later duplicates win, as in the AWS CLI.
fn ini_lookup(text: &str, section: &str, key: &str) -> Option<String> {
    let mut in_section = false;
    let mut found = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_section = name.trim() == section;
            continue;
        }
        if !in_section {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            if k.trim() == key {
                let v = v.trim();
                if !v.is_empty() {
                    found = Some(v.to_string());
                }
            }
        }
    }
    found
}

fn ini_has_section(text: &str, section: &str) -> bool {
    text.lines()
        .any(|l| l.trim().strip_prefix('[').and_then(|l| l.strip_suffix(']')).is_some_and(|n| n.trim() == section))
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

    fn parse(a: Value, env: &[(&str, &str)]) -> Result<AwsKmsConfig, SealError> {
        let env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        AwsKmsConfig::from_attrs(&attrs(a), &|k| env.get(k).cloned())
    }

    fn static_keys(c: &AwsKmsConfig) -> (String, String, Option<String>, &'static str) {
        match &c.credentials {
            CredentialSource::Config { access_key, secret_key, session_token } => (
                access_key.expose().into(),
                secret_key.expose().into(),
                session_token.as_ref().map(|t| t.expose().into()),
                "config",
            ),
            CredentialSource::Env { access_key, secret_key, session_token } => (
                access_key.expose().into(),
                secret_key.expose().into(),
                session_token.as_ref().map(|t| t.expose().into()),
                "env",
            ),
            CredentialSource::SharedFile { .. } => Default::default(),
        }
    }

    /// A full stanza is taken as written; defaults fill the rest.
    #[test]
    fn full_stanza() {
        let c = parse(
            json!({"region": "eu-west-1", "access_key": "AK", "secret_key": "SK",
                   "session_token": "TOK", "kms_key_id": "alias/coffer",
                   "endpoint": "https://kms.example", "disabled": "true"}),
            &[],
        )
        .expect("parse");
        assert_eq!(c.kms_key_id, "alias/coffer");
        assert_eq!(c.region, "eu-west-1");
        assert_eq!(c.endpoint.as_deref(), Some("https://kms.example"));
        assert!(c.disabled);
        assert_eq!(static_keys(&c), ("AK".into(), "SK".into(), Some("TOK".into()), "config"));
        assert!(c.max_attempts >= 2);
    }

    /// OpenBao's precedence: the key id and endpoint env vars override the stanza,
    /// BAO_ first, then AWSKMS_WRAPPER_KEY_ID, then VAULT_.
    #[test]
    fn env_overrides_key_id_and_endpoint() {
        let a = json!({"kms_key_id": "from-config", "endpoint": "https://cfg", "access_key": "a", "secret_key": "s"});
        let c = parse(a.clone(), &[("VAULT_AWSKMS_SEAL_KEY_ID", "vault")]).expect("parse");
        assert_eq!(c.kms_key_id, "vault");
        let c = parse(a.clone(), &[("VAULT_AWSKMS_SEAL_KEY_ID", "vault"), ("AWSKMS_WRAPPER_KEY_ID", "wrapper")])
            .expect("parse");
        assert_eq!(c.kms_key_id, "wrapper");
        let c = parse(
            a.clone(),
            &[
                ("VAULT_AWSKMS_SEAL_KEY_ID", "vault"),
                ("BAO_AWSKMS_SEAL_KEY_ID", "bao"),
                ("AWS_KMS_ENDPOINT", "http://127.0.0.1:1"),
            ],
        )
        .expect("parse");
        assert_eq!(c.kms_key_id, "bao");
        assert_eq!(c.endpoint.as_deref(), Some("http://127.0.0.1:1"));
        // Empty env values count as unset.
        let c = parse(a.clone(), &[("BAO_AWSKMS_SEAL_KEY_ID", "")]).expect("parse");
        assert_eq!(c.kms_key_id, "from-config");
        assert_eq!(c.endpoint.as_deref(), Some("https://cfg"));
    }

    /// disallow_env_vars: key id and endpoint come from the stanza only.
    #[test]
    fn disallow_env_vars() {
        let c = parse(
            json!({"kms_key_id": "cfg", "endpoint": "https://cfg", "disallow_env_vars": "true",
                   "access_key": "a", "secret_key": "s"}),
            &[("BAO_AWSKMS_SEAL_KEY_ID", "env"), ("AWS_KMS_ENDPOINT", "https://env")],
        )
        .expect("parse");
        assert_eq!(c.kms_key_id, "cfg");
        assert_eq!(c.endpoint.as_deref(), Some("https://cfg"));
    }

    /// The key id may come from the environment alone; with neither it is an error naming it.
    #[test]
    fn key_id_required() {
        let c =
            parse(json!({"access_key": "a", "secret_key": "s"}), &[("VAULT_AWSKMS_SEAL_KEY_ID", "k")]).expect("parse");
        assert_eq!(c.kms_key_id, "k");
        let e = parse(json!({"access_key": "a", "secret_key": "s"}), &[]).expect_err("no key");
        assert!(matches!(&e, SealError::InvalidConfig(m) if m.contains("kms_key_id")));
    }

    /// Region: stanza, then AWS_REGION, then AWS_DEFAULT_REGION, then the shared config
    /// file's profile, then us-east-1.
    #[test]
    fn region_precedence() {
        let dir = tempfile::tempdir().expect("tmp");
        let cfg = dir.path().join("config");
        std::fs::write(&cfg, "[default]\nregion = ap-south-1\n[profile prod]\nregion = sa-east-1\n").expect("write");
        let cfgp = cfg.to_str().expect("utf8");
        let base = json!({"kms_key_id": "k", "access_key": "a", "secret_key": "s"});
        let with_region = json!({"kms_key_id": "k", "access_key": "a", "secret_key": "s", "region": "eu-central-1"});
        let all = [("AWS_REGION", "us-west-2"), ("AWS_DEFAULT_REGION", "us-west-1"), ("AWS_CONFIG_FILE", cfgp)];
        assert_eq!(parse(with_region, &all).expect("p").region, "eu-central-1");
        assert_eq!(parse(base.clone(), &all).expect("p").region, "us-west-2");
        assert_eq!(parse(base.clone(), &all[1..]).expect("p").region, "us-west-1");
        assert_eq!(parse(base.clone(), &all[2..]).expect("p").region, "ap-south-1");
        assert_eq!(
            parse(base.clone(), &[("AWS_CONFIG_FILE", cfgp), ("AWS_PROFILE", "prod")]).expect("p").region,
            "sa-east-1"
        );
        assert_eq!(parse(base.clone(), &[]).expect("p").region, DEFAULT_REGION);
        assert!(
            parse(json!({"kms_key_id": "k", "access_key": "a", "secret_key": "s", "region": "eu west"}), &[]).is_err()
        );
    }

    /// Credentials: stanza keys beat the environment, which beats the shared file.
    #[test]
    fn credential_chain_order() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("credentials");
        std::fs::write(
            &file,
            "[default]\naws_access_key_id = FILEAK\naws_secret_access_key = FILESK\n\n\
             [ci]\naws_access_key_id=CIAK\naws_secret_access_key=CISK\naws_session_token=CITOK\n",
        )
        .expect("write");
        let fp = file.to_str().expect("utf8");
        let env = [
            ("AWS_ACCESS_KEY_ID", "ENVAK"),
            ("AWS_SECRET_ACCESS_KEY", "ENVSK"),
            ("AWS_SESSION_TOKEN", "ENVTOK"),
            ("AWS_SHARED_CREDENTIALS_FILE", fp),
        ];
        let c = parse(json!({"kms_key_id": "k", "access_key": "CFGAK", "secret_key": "CFGSK"}), &env).expect("p");
        assert_eq!(static_keys(&c), ("CFGAK".into(), "CFGSK".into(), None, "config"));
        let c = parse(json!({"kms_key_id": "k"}), &env).expect("p");
        assert_eq!(static_keys(&c), ("ENVAK".into(), "ENVSK".into(), Some("ENVTOK".into()), "env"));
        let c = parse(json!({"kms_key_id": "k"}), &env[3..]).expect("p");
        match &c.credentials {
            CredentialSource::SharedFile { path, profile } => {
                assert_eq!(path, &file);
                assert_eq!(profile, "default");
            }
            other => panic!("expected the shared file, got {other:?}"),
        }
        // AWS_PROFILE and shared_creds_profile select the profile; the stanza wins.
        let c = parse(json!({"kms_key_id": "k"}), &[("AWS_SHARED_CREDENTIALS_FILE", fp), ("AWS_PROFILE", "ci")])
            .expect("p");
        assert!(matches!(&c.credentials, CredentialSource::SharedFile { profile, .. } if profile == "ci"));
        let c = parse(
            json!({"kms_key_id": "k", "shared_creds_filename": fp, "shared_creds_profile": "default"}),
            &[("AWS_PROFILE", "ci")],
        )
        .expect("p");
        assert!(matches!(&c.credentials, CredentialSource::SharedFile { profile, .. } if profile == "default"));
        // $HOME/.aws/credentials is the default location.
        std::fs::create_dir_all(dir.path().join(".aws")).expect("mkdir");
        std::fs::copy(&file, dir.path().join(".aws/credentials")).expect("copy");
        let home = dir.path().to_str().expect("utf8");
        let c = parse(json!({"kms_key_id": "k"}), &[("HOME", home)]).expect("p");
        assert!(matches!(&c.credentials, CredentialSource::SharedFile { .. }));

        let keys = shared_file_credentials(&std::fs::read_to_string(&file).expect("read"), "ci").expect("ci");
        assert_eq!(keys.access_key.expose(), "CIAK");
        assert_eq!(keys.secret_key.expose(), "CISK");
        assert_eq!(keys.session_token.map(|t| t.expose().to_string()).as_deref(), Some("CITOK"));
    }

    /// Half-given credentials and missing sources are configuration errors that say what to
    /// fix; an unknown profile is one too (at parse time, not at the first unseal).
    #[test]
    fn credential_errors() {
        let only_access = parse(json!({"kms_key_id": "k", "access_key": "a"}), &[]);
        assert!(
            matches!(only_access, Err(SealError::InvalidConfig(m)) if m.contains("both 'access_key' and 'secret_key'"))
        );
        let half_env = parse(json!({"kms_key_id": "k"}), &[("AWS_ACCESS_KEY_ID", "a")]);
        assert!(matches!(half_env, Err(SealError::InvalidConfig(m)) if m.contains("AWS_SECRET_ACCESS_KEY")));
        let dir = tempfile::tempdir().expect("tmp");
        let none = parse(json!({"kms_key_id": "k"}), &[("HOME", dir.path().to_str().expect("utf8"))]);
        assert!(matches!(none, Err(SealError::InvalidConfig(m)) if m.contains("no AWS credentials")));
        let file = dir.path().join("creds");
        std::fs::write(&file, "[default]\naws_access_key_id = A\n").expect("write");
        let fp = file.to_str().expect("utf8");
        let bad = parse(json!({"kms_key_id": "k"}), &[("AWS_SHARED_CREDENTIALS_FILE", fp)]);
        assert!(
            matches!(bad, Err(SealError::InvalidConfig(m)) if m.contains("lacks aws_access_key_id or aws_secret_access_key"))
        );
        let missing =
            parse(json!({"kms_key_id": "k"}), &[("AWS_SHARED_CREDENTIALS_FILE", fp), ("AWS_PROFILE", "nope")]);
        assert!(matches!(missing, Err(SealError::InvalidConfig(m)) if m.contains("no [nope] profile")));
        let role = parse(json!({"kms_key_id": "k", "role_arn": "arn:aws:iam::1:role/x"}), &[]);
        assert!(matches!(role, Err(SealError::InvalidConfig(m)) if m.contains("not supported")));
    }

    /// Stanza values: bools as strings or JSON bools, anything else is an error.
    #[test]
    fn value_types() {
        let base = |d: Value| json!({"kms_key_id": "k", "access_key": "a", "secret_key": "s", "disabled": d});
        assert!(parse(base(json!(true)), &[]).expect("p").disabled);
        assert!(!parse(base(json!("false")), &[]).expect("p").disabled);
        assert!(parse(base(json!("yes")), &[]).is_err());
        assert!(parse(json!({"kms_key_id": ["k"], "access_key": "a", "secret_key": "s"}), &[]).is_err());
        let ep = |e: &str| {
            parse(json!({"kms_key_id": "k", "access_key": "a", "secret_key": "s", "endpoint": e}), &[])
                .map(|c| c.endpoint)
        };
        assert_eq!(
            ep("kms.eu-west-1.amazonaws.com").expect("bare host"),
            Some("https://kms.eu-west-1.amazonaws.com".to_string())
        );
        assert!(ep("ftp://kms.local").is_err());
        assert!(ep("kms local").is_err());
    }

    /// Debug of a config never shows a secret.
    #[test]
    fn debug_redacts_secrets() {
        let c = parse(
            json!({"kms_key_id": "k", "access_key": "AKIASECRETID", "secret_key": "VERYSECRET", "session_token": "TOKENSECRET"}),
            &[],
        )
        .expect("p");
        let s = format!("{c:?}");
        for secret in ["AKIASECRETID", "VERYSECRET", "TOKENSECRET"] {
            assert!(!s.contains(secret), "{s}");
        }
        assert!(s.contains("kms_key_id"));
    }
}
