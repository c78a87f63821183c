//! Accepted configurations: every form OpenBao takes gives the expected `Config`, and HCL and
//! JSON spellings of the same settings give the same `Config`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use coffer_config::{
    parse_str, Config, LogFormat, LogLevel, Storage, TlsVersion, DEFAULT_LEASE_TTL, DEFAULT_MAX_LEASE_TTL,
    DEFAULT_MAX_REQUEST_DURATION, DEFAULT_MAX_REQUEST_SIZE,
};
use serde_json::json;

/// A directory with a (dummy) certificate and key, readable, as listeners with TLS need.
fn tls_dir() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\n").expect("write cert");
    std::fs::write(&key, "-----BEGIN PRIVATE KEY-----\n").expect("write key");
    (dir, cert, key)
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

fn without_warnings(mut c: Config) -> Config {
    c.warnings.clear();
    c
}

/// The smallest useful file gets OpenBao's defaults everywhere.
#[test]
fn t10_minimal_config_gets_openbao_defaults() {
    let c = parse_str("storage \"inmem\" {}\nlistener \"tcp\" {\n  tls_disable = true\n}\n", "min.hcl").expect("valid");
    assert_eq!(c.storage, Storage::Inmem);
    assert_eq!(c.listeners.len(), 1);
    let l = &c.listeners[0];
    assert_eq!(l.address, "127.0.0.1:8200");
    assert_eq!(l.cluster_address, None);
    assert_eq!(l.tls, None);
    assert_eq!(l.max_request_size, Some(DEFAULT_MAX_REQUEST_SIZE));
    assert_eq!(l.max_request_size, Some(33_554_432));
    assert_eq!(l.max_request_duration, DEFAULT_MAX_REQUEST_DURATION);
    assert_eq!(l.max_request_duration, Duration::from_secs(90));
    assert_eq!(c.default_lease_ttl, DEFAULT_LEASE_TTL);
    assert_eq!(c.max_lease_ttl, DEFAULT_MAX_LEASE_TTL);
    assert_eq!(c.default_lease_ttl, Duration::from_secs(768 * 3600));
    assert_eq!(c.log_level, None);
    assert_eq!(c.log_format, LogFormat::Standard);
    assert!(!c.disable_mlock && !c.raw_storage_endpoint);
    assert!(c.seals.is_empty());
    assert_eq!((c.api_addr, c.cluster_addr, c.cluster_name), (None, None, None));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

fn full_hcl(cert: &Path, key: &Path) -> String {
    format!(
        r#"
# A production-like configuration.
storage "raft" {{
  path    = "/var/lib/coffer"
  node_id = "node-1"
}}

listener "tcp" {{
  address              = "0.0.0.0:8200"
  cluster_address      = "0.0.0.0:8201"
  tls_cert_file        = "{cert}"
  tls_key_file         = "{key}"
  tls_min_version      = "tls13"
  max_request_size     = 1048576
  max_request_duration = "2m"
}}

listener "tcp" {{
  address     = "127.0.0.1:8300"
  tls_disable = "1"
  max_request_size = -1
}}

seal "pkcs11" {{
  lib       = "/usr/lib/softhsm/libsofthsm2.so"
  slot      = "0"
  pin       = "1234"
  key_label = "coffer"
}}

seal "shamir" {{
  disabled = "true"
}}

api_addr             = "https://coffer.example.com:8200"
cluster_addr         = "https://10.0.0.1:8201"
cluster_name         = "prod"
disable_mlock        = true
default_lease_ttl    = "1h"
max_lease_ttl        = "7d"
log_level            = "Warning"
log_format           = "json"
ui                   = false
raw_storage_endpoint = true
"#,
        cert = p(cert),
        key = p(key)
    )
}

fn full_json(cert: &Path, key: &Path) -> String {
    json!({
        "storage": {"raft": {"path": "/var/lib/coffer", "node_id": "node-1"}},
        "listener": [
            {"tcp": {
                "address": "0.0.0.0:8200",
                "cluster_address": "0.0.0.0:8201",
                "tls_cert_file": p(cert),
                "tls_key_file": p(key),
                "tls_min_version": "tls13",
                "max_request_size": "1048576",
                "max_request_duration": 120
            }},
            {"tcp": {"address": "127.0.0.1:8300", "tls_disable": true, "max_request_size": "-1"}}
        ],
        "seal": [
            {"pkcs11": {"lib": "/usr/lib/softhsm/libsofthsm2.so", "slot": "0", "pin": "1234", "key_label": "coffer"}},
            {"shamir": {"disabled": true}}
        ],
        "api_addr": "https://coffer.example.com:8200",
        "cluster_addr": "https://10.0.0.1:8201",
        "cluster_name": "prod",
        "disable_mlock": "true",
        "default_lease_ttl": 3600,
        "max_lease_ttl": "168h",
        "log_level": "warn",
        "log_format": "JSON",
        "ui": false,
        "raw_storage_endpoint": 1
    })
    .to_string()
}

/// Every supported setting, in HCL: each lands in the right field.
#[test]
fn t11_full_hcl_config() {
    let (_dir, cert, key) = tls_dir();
    let c = parse_str(&full_hcl(&cert, &key), "full.hcl").expect("valid");
    assert_eq!(c.storage, Storage::Raft { path: "/var/lib/coffer".into(), node_id: Some("node-1".into()) });
    let l = &c.listeners[0];
    assert_eq!(l.address, "0.0.0.0:8200");
    assert_eq!(l.cluster_address.as_deref(), Some("0.0.0.0:8201"));
    let tls = l.tls.as_ref().expect("tls on");
    assert_eq!((tls.cert_file.as_path(), tls.key_file.as_path()), (cert.as_path(), key.as_path()));
    assert_eq!(tls.min_version, TlsVersion::Tls13);
    assert_eq!(l.max_request_size, Some(1_048_576));
    assert_eq!(l.max_request_duration, Duration::from_secs(120));
    let l2 = &c.listeners[1];
    assert_eq!(l2.tls, None);
    assert_eq!(l2.max_request_size, None, "negative max_request_size means unlimited");
    assert_eq!(c.seals.len(), 2);
    assert_eq!(c.seals[0].seal_type, "pkcs11");
    assert!(!c.seals[0].disabled);
    assert_eq!(c.seals[0].attrs.get("pin"), Some(&json!("1234")));
    assert_eq!(c.seals[0].attrs.get("slot"), Some(&json!("0")));
    assert_eq!(c.seals[1].seal_type, "shamir");
    assert!(c.seals[1].disabled);
    assert!(c.seals[1].attrs.is_empty(), "disabled is not kept as an attribute");
    assert_eq!(c.api_addr.as_deref(), Some("https://coffer.example.com:8200"));
    assert_eq!(c.cluster_addr.as_deref(), Some("https://10.0.0.1:8201"));
    assert_eq!(c.cluster_name.as_deref(), Some("prod"));
    assert!(c.disable_mlock);
    assert!(c.raw_storage_endpoint);
    assert_eq!(c.default_lease_ttl, Duration::from_secs(3600));
    assert_eq!(c.max_lease_ttl, Duration::from_secs(7 * 86400));
    assert_eq!(c.log_level, Some(LogLevel::Warn));
    assert_eq!(c.log_format, LogFormat::Json);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

/// The JSON spelling of the same settings gives exactly the same configuration.
#[test]
fn t12_json_equals_hcl() {
    let (_dir, cert, key) = tls_dir();
    let from_hcl = parse_str(&full_hcl(&cert, &key), "full.hcl").expect("hcl valid");
    let from_json = parse_str(&full_json(&cert, &key), "full.json").expect("json valid");
    assert_eq!(without_warnings(from_hcl), without_warnings(from_json));
}

/// JSON is recognised by content too (OpenBao ignores the extension), and a single listener may
/// be an object rather than a list.
#[test]
fn t13_json_by_content_and_single_objects() {
    let src = r#"{"storage": {"inmem": {}}, "listener": {"tcp": {"address": "127.0.0.1:0", "tls_disable": "true"}}}"#;
    let c = parse_str(src, "coffer.conf").expect("valid");
    assert_eq!(c.storage, Storage::Inmem);
    assert_eq!(c.listeners.len(), 1);
    assert_eq!(c.listeners[0].address, "127.0.0.1:0");
}

/// `backend` is the old name of `storage`; if both are given, storage wins and backend is
/// reported.
#[test]
fn t14_legacy_backend_alias() {
    let c = parse_str("backend \"raft\" {\n  path = \"/d\"\n}\n", "old.hcl").expect("valid");
    assert_eq!(c.storage, Storage::Raft { path: "/d".into(), node_id: None });
    let json = parse_str(r#"{"backend": {"inmem": {}}}"#, "old.json").expect("valid");
    assert_eq!(json.storage, Storage::Inmem);

    let both = parse_str("storage \"inmem\" {}\nbackend \"raft\" {\n  path = \"/d\"\n}\n", "both.hcl").expect("valid");
    assert_eq!(both.storage, Storage::Inmem);
    assert!(both.warnings.iter().any(|w| w.starts_with("both.hcl:2:1: backend: ignored")), "{:?}", both.warnings);
}

/// `tls_disable` takes what OpenBao's ParseBool takes.
#[test]
fn t15_tls_disable_forms() {
    for v in ["true", "\"true\"", "\"1\"", "1", "\"t\"", "\"TRUE\""] {
        let src = format!("storage \"inmem\" {{}}\nlistener \"tcp\" {{\n  tls_disable = {v}\n}}\n");
        let c = parse_str(&src, "t.hcl").unwrap_or_else(|e| panic!("{v}: {e}"));
        assert_eq!(c.listeners[0].tls, None, "{v}");
    }
}

/// `max_request_size`: 0 is the default, negative is unlimited, strings are numbers.
#[test]
fn t16_max_request_size_forms() {
    for (v, want) in [
        ("0", Some(DEFAULT_MAX_REQUEST_SIZE)),
        ("-1", None),
        ("\"-5\"", None),
        ("100", Some(100)),
        ("\"2048\"", Some(2048)),
    ] {
        let src = format!(
            "storage \"inmem\" {{}}\nlistener \"tcp\" {{\n  tls_disable = true\n  max_request_size = {v}\n}}\n"
        );
        let c = parse_str(&src, "t.hcl").unwrap_or_else(|e| panic!("{v}: {e}"));
        assert_eq!(c.listeners[0].max_request_size, want, "{v}");
    }
}

/// A listener without `max_request_duration` (or with 0) takes `default_max_request_duration`,
/// then 90s.
#[test]
fn t17_request_duration_defaults() {
    let src = "storage \"inmem\" {}\ndefault_max_request_duration = \"30s\"\n\
               listener \"tcp\" {\n  tls_disable = true\n}\n\
               listener \"tcp\" {\n  tls_disable = true\n  max_request_duration = 0\n}\n\
               listener \"tcp\" {\n  tls_disable = true\n  max_request_duration = \"5s\"\n}\n";
    let c = parse_str(src, "t.hcl").expect("valid");
    let got: Vec<_> = c.listeners.iter().map(|l| l.max_request_duration).collect();
    assert_eq!(got, [Duration::from_secs(30), Duration::from_secs(30), Duration::from_secs(5)]);
}

/// Empty strings mean "not set", as in OpenBao; lease TTLs of 0 mean the default.
#[test]
fn t18_empty_values_mean_defaults() {
    let src =
        "storage \"inmem\" {}\nlog_level = \"\"\nlog_format = \"\"\ndefault_lease_ttl = \"\"\nmax_lease_ttl = 0\n";
    let c = parse_str(src, "t.hcl").expect("valid");
    assert_eq!(c.log_level, None);
    assert_eq!(c.log_format, LogFormat::Standard);
    assert_eq!(c.default_lease_ttl, DEFAULT_LEASE_TTL);
    assert_eq!(c.max_lease_ttl, DEFAULT_MAX_LEASE_TTL);
}

/// The storage stanza's `redirect_addr` and `cluster_addr` fill in missing top-level addresses;
/// top-level ones win.
#[test]
fn t19_storage_level_addresses() {
    let src = "storage \"raft\" {\n  path = \"/d\"\n  redirect_addr = \"https://a:8200\"\n  cluster_addr = \"https://a:8201\"\n}\n";
    let c = parse_str(src, "t.hcl").expect("valid");
    assert_eq!(c.api_addr.as_deref(), Some("https://a:8200"));
    assert_eq!(c.cluster_addr.as_deref(), Some("https://a:8201"));
    let c = parse_str(&format!("{src}api_addr = \"https://b:8200\"\n"), "t.hcl").expect("valid");
    assert_eq!(c.api_addr.as_deref(), Some("https://b:8200"));
    assert_eq!(c.cluster_addr.as_deref(), Some("https://a:8201"));
}

/// Seal stanzas keep their attributes raw (nested blocks become objects) for the seal crate.
#[test]
fn t20_seal_attributes_are_kept_raw() {
    let src = "storage \"inmem\" {}\nseal \"awskms\" {\n  region = \"eu-west-1\"\n  kms_key_id = \"alias/coffer\"\n  purpose = [\"a\", \"b\"]\n  extra {\n    x = 1\n  }\n}\n";
    let c = parse_str(src, "t.hcl").expect("valid");
    let seal = &c.seals[0];
    assert_eq!(seal.seal_type, "awskms");
    assert_eq!(
        serde_json::Value::Object(seal.attrs.clone()),
        json!({"region": "eu-west-1", "kms_key_id": "alias/coffer", "purpose": ["a", "b"], "extra": {"x": 1}})
    );
    // Seal type labels are case-insensitive, as in OpenBao.
    let c = parse_str("storage \"inmem\" {}\nseal \"Shamir\" {}\n", "t.hcl").expect("valid");
    assert_eq!(c.seals[0].seal_type, "shamir");
}

/// Bare (unquoted) block labels, heredocs and `#`/`//`/`/* */` comments are accepted.
#[test]
fn t21_hcl_syntax_variants() {
    let src = "/* header */\nstorage raft { // trailing\n  path = <<EOT\n/data\nEOT\n}\n# done\n";
    let c = parse_str(src, "t.hcl").expect("valid");
    assert_eq!(c.storage, Storage::Raft { path: "/data\n".into(), node_id: None });
}
