//! Refused configurations: each error names the file, the key and the reason (and, in HCL, the
//! line), so it can be fixed without reading code.

use coffer_config::{parse_str, ConfigError, Pos};

const LISTENER: &str = "listener \"tcp\" {\n  tls_disable = true\n}\n";

/// Parses `src` as `file`, expects an error, and checks it names `file` and `key` and contains
/// `reason`.
#[track_caller]
fn refused(src: &str, file: &str, key: &str, reason: &str) -> ConfigError {
    let err = match parse_str(src, file) {
        Ok(c) => panic!("accepted, expected {key}: {reason}\n{src}\n{c:?}"),
        Err(e) => e,
    };
    let msg = err.to_string();
    let prefix = format!("error loading configuration from {file}: {key}: ");
    assert!(msg.starts_with(&prefix), "expected prefix {prefix:?}, got {msg:?}");
    assert!(msg.contains(reason), "expected {reason:?} in {msg:?}");
    assert_eq!(err.file(), Some(file));
    assert_eq!(err.key(), Some(key));
    err
}

/// The example from the brief, with the position HCL gives.
#[test]
fn t30_bad_listener_duration() {
    let src = "storage \"inmem\" {}\nlistener \"tcp\" {\n  tls_disable = true\n  max_request_duration = \"ten\"\n}\n";
    let err = refused(src, "/etc/coffer/coffer.hcl", "listener.tcp.max_request_duration", "invalid duration \"ten\"");
    assert_eq!(
        err.to_string(),
        "error loading configuration from /etc/coffer/coffer.hcl: listener.tcp.max_request_duration: invalid duration \"ten\" (line 4, column 3)"
    );
}

/// Bad and negative durations, everywhere durations are read, in both formats.
#[test]
fn t31_bad_durations() {
    refused(
        &format!("storage \"inmem\" {{}}\ndefault_lease_ttl = \"ten\"\n{LISTENER}"),
        "a.hcl",
        "default_lease_ttl",
        "invalid duration \"ten\"",
    );
    refused("storage \"inmem\" {}\nmax_lease_ttl = \"-1h\"\n", "a.hcl", "max_lease_ttl", "negative duration");
    refused("storage \"inmem\" {}\nmax_lease_ttl = -5\n", "a.hcl", "max_lease_ttl", "negative duration");
    refused(
        "storage \"inmem\" {}\ndefault_max_request_duration = \"1d12h\"\n",
        "a.hcl",
        "default_max_request_duration",
        "unknown unit \"d\"",
    );
    refused(
        "storage \"inmem\" {}\ndefault_lease_ttl = true\n",
        "a.hcl",
        "default_lease_ttl",
        "could not parse duration",
    );
    refused(
        "storage \"inmem\" {}\nlistener \"tcp\" {\n  tls_disable = true\n  max_request_duration = \"-1s\"\n}\n",
        "a.hcl",
        "listener.tcp.max_request_duration",
        "negative duration",
    );
    let err = refused(
        r#"{"storage": {"inmem": {}}, "max_lease_ttl": "2y"}"#,
        "a.json",
        "max_lease_ttl",
        "unknown unit \"y\"",
    );
    assert!(matches!(err, ConfigError::Invalid { pos: None, .. }), "JSON has no positions");
}

/// default_lease_ttl above max_lease_ttl is refused (OpenBao refuses it when the core starts).
#[test]
fn t32_default_ttl_above_max() {
    refused(
        "storage \"inmem\" {}\ndefault_lease_ttl = \"1000h\"\n",
        "a.hcl",
        "default_lease_ttl",
        "1000h is larger than max_lease_ttl (768h)",
    );
    refused(
        "storage \"inmem\" {}\nmax_lease_ttl = \"1h\"\n",
        "a.hcl",
        "max_lease_ttl",
        "1h is smaller than default_lease_ttl (768h, the default)",
    );
}

/// Storage types: unknown, OpenBao-only, missing label, twice in one file, raft without path.
#[test]
fn t33_storage_errors() {
    refused(&format!("storage \"foo\" {{}}\n{LISTENER}"), "a.hcl", "storage", "unknown storage type \"foo\"");
    refused(
        "storage \"file\" {\n  path = \"/d\"\n}\n",
        "a.hcl",
        "storage",
        "storage type \"file\" is not supported by Coffer",
    );
    refused("storage {\n}\n", "a.hcl", "storage", "the storage type must be given as a label");
    let err = refused(
        "storage \"inmem\" {}\n\nstorage \"inmem\" {}\n",
        "a.hcl",
        "storage",
        "only one \"storage\" block is permitted",
    );
    assert!(matches!(err, ConfigError::Invalid { pos: Some(Pos { line: 3, column: 1 }), .. }), "{err}");
    refused(
        "backend \"inmem\" {}\nbackend \"inmem\" {}\n",
        "a.hcl",
        "backend",
        "only one \"backend\" block is permitted",
    );
    refused("storage \"raft\" {\n  node_id = \"n1\"\n}\n", "a.hcl", "storage.raft.path", "required");
    refused("storage \"raft\" {\n  path = \"\"\n}\n", "a.hcl", "storage.raft.path", "must not be empty");
    refused(r#"{"storage": {"raft": {}}}"#, "a.json", "storage.raft.path", "required");
    refused(r#"{"storage": "raft"}"#, "a.json", "storage", "expected an object");
    refused("storage = \"raft\"\n", "a.hcl", "storage", "expected a block");
}

/// With no storage at all, OpenBao's message.
#[test]
fn t34_missing_storage() {
    refused(LISTENER, "a.hcl", "storage", "a storage backend must be specified");
    refused("", "empty.hcl", "storage", "a storage backend must be specified");
}

/// Listener addresses are checked before anything binds.
#[test]
fn t35_bad_addresses() {
    for (addr, reason) in [
        ("not an address", "missing port"),
        ("127.0.0.1:99999", "not a port number"),
        ("::1:8200", "IPv6 addresses must be in brackets"),
        ("{{ GetPrivateIP }}:8200", "templates are not supported"),
    ] {
        let src =
            format!("storage \"inmem\" {{}}\nlistener \"tcp\" {{\n  address = \"{addr}\"\n  tls_disable = true\n}}\n");
        refused(&src, "a.hcl", "listener.tcp.address", reason);
        let src = format!(
            "storage \"inmem\" {{}}\nlistener \"tcp\" {{\n  cluster_address = \"{addr}\"\n  tls_disable = true\n}}\n"
        );
        refused(&src, "a.hcl", "listener.tcp.cluster_address", reason);
    }
    refused("storage \"inmem\" {}\napi_addr = \"127.0.0.1:8200\"\n", "a.hcl", "api_addr", "expected a URL");
    refused("storage \"inmem\" {}\ncluster_addr = \"foo\"\n", "a.hcl", "cluster_addr", "expected a URL");
    refused(
        "storage \"raft\" {\n  path = \"/d\"\n  redirect_addr = \"x\"\n}\n",
        "a.hcl",
        "storage.raft.redirect_addr",
        "expected a URL",
    );
}

/// TLS on (the default) needs a readable certificate and key; TLS below 1.2 is refused.
#[test]
fn t36_tls_errors() {
    refused(
        "storage \"inmem\" {}\nlistener \"tcp\" {\n  address = \"127.0.0.1:0\"\n}\n",
        "a.hcl",
        "listener.tcp.tls_cert_file",
        "required when TLS is enabled",
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let cert = dir.path().join("cert.pem");
    std::fs::write(&cert, "x").expect("write");
    let missing = dir.path().join("missing-key.pem");
    let src = format!("storage \"inmem\" {{}}\nlistener \"tcp\" {{\n  tls_cert_file = \"{}\"\n}}\n", cert.display());
    refused(&src, "a.hcl", "listener.tcp.tls_key_file", "required when TLS is enabled");
    let src = format!(
        "storage \"inmem\" {{}}\nlistener \"tcp\" {{\n  tls_cert_file = \"{}\"\n  tls_key_file = \"{}\"\n}}\n",
        cert.display(),
        missing.display()
    );
    let err = refused(&src, "a.hcl", "listener.tcp.tls_key_file", "cannot read");
    assert!(err.to_string().contains("missing-key.pem"), "{err}");
    let src = format!(
        "storage \"inmem\" {{}}\nlistener \"tcp\" {{\n  tls_cert_file = \"{}\"\n  tls_key_file = \"{}\"\n}}\n",
        dir.path().display(),
        cert.display()
    );
    refused(&src, "a.hcl", "listener.tcp.tls_cert_file", "is not a regular file");

    for old in ["tls10", "tls11"] {
        let src = format!(
            "storage \"inmem\" {{}}\nlistener \"tcp\" {{\n  tls_disable = true\n  tls_min_version = \"{old}\"\n}}\n"
        );
        refused(&src, "a.hcl", "listener.tcp.tls_min_version", "Coffer requires TLS 1.2 or newer");
    }
    refused(
        "storage \"inmem\" {}\nlistener \"tcp\" {\n  tls_disable = true\n  tls_min_version = \"ssl3\"\n}\n",
        "a.hcl",
        "listener.tcp.tls_min_version",
        "unknown TLS version",
    );
    refused(
        "storage \"inmem\" {}\nlistener \"tcp\" {\n  tls_disable = true\n  tls_require_and_verify_client_cert = true\n}\n",
        "a.hcl",
        "listener.tcp.tls_require_and_verify_client_cert",
        "not supported by Coffer yet",
    );
}

/// HCL and JSON syntax errors carry the parser's line and column.
#[test]
fn t37_syntax_errors() {
    let err = parse_str("storage \"inmem\" {\nlistener \"tcp\" {\n", "syn.hcl").expect_err("bad");
    let msg = err.to_string();
    assert!(msg.starts_with("error loading configuration from syn.hcl: syntax error at line 2, column "), "{msg}");
    assert!(matches!(err, ConfigError::Syntax { .. }));

    let err = parse_str("a = 1\na = 2\n", "dup.hcl").expect_err("duplicate");
    assert!(
        err.to_string().starts_with("error loading configuration from dup.hcl: syntax error at line 2, column 1:"),
        "{err}"
    );

    let err = parse_str("{\"storage\": {\"inmem\": {}},\n \"log_level\": }", "syn.json").expect_err("bad");
    assert!(
        err.to_string().starts_with("error loading configuration from syn.json: syntax error at line 2, column "),
        "{err}"
    );
    let err = parse_str("[1, 2]", "list.json").expect_err("not an object");
    assert!(err.to_string().contains("list.json"), "{err}");
}

/// Values of the wrong type, and HCL expressions, name the key.
#[test]
fn t38_bad_values() {
    refused("storage \"inmem\" {}\nlog_level = \"bogus\"\n", "a.hcl", "log_level", "unknown log level \"bogus\"");
    refused("storage \"inmem\" {}\nlog_format = \"xml\"\n", "a.hcl", "log_format", "unknown log format \"xml\"");
    refused("storage \"inmem\" {}\nui = \"maybe\"\n", "a.hcl", "ui", "invalid boolean \"maybe\"");
    refused("storage \"inmem\" {}\ndisable_mlock = [true]\n", "a.hcl", "disable_mlock", "expected a boolean");
    refused(
        "storage \"inmem\" {}\nlistener \"tcp\" {\n  tls_disable = yes\n}\n",
        "a.hcl",
        "listener.tcp.tls_disable",
        "bare name `yes`",
    );
    refused("storage \"inmem\" {}\ncluster_name = \"${var.x}\"\n", "a.hcl", "cluster_name", "interpolations");
    refused(
        "storage \"inmem\" {}\nlistener \"tcp\" {\n  tls_disable = true\n  max_request_size = \"1MB\"\n}\n",
        "a.hcl",
        "listener.tcp.max_request_size",
        "whole number",
    );
    refused(
        "storage \"inmem\" {}\nraw_storage_endpoint {\n}\n",
        "a.hcl",
        "raw_storage_endpoint",
        "expected a value, found a block",
    );
}

/// Listener and seal types Coffer does not serve are errors, not warnings.
#[test]
fn t39_unsupported_types() {
    refused("storage \"inmem\" {}\nlistener \"udp\" {}\n", "a.hcl", "listener", "unsupported listener type \"udp\"");
    refused(
        "storage \"inmem\" {}\nlistener \"unix\" {}\n",
        "a.hcl",
        "listener",
        "unix socket listeners are not supported",
    );
    refused(
        "storage \"inmem\" {}\nlistener {\n  address = \"x:1\"\n}\n",
        "a.hcl",
        "listener",
        "listener type must be specified",
    );
    refused("storage \"inmem\" {}\nseal \"foo\" {}\n", "a.hcl", "seal", "unknown seal type \"foo\"");
    refused(
        "storage \"inmem\" {}\nseal \"transit\" {}\n",
        "a.hcl",
        "seal",
        "seal type \"transit\" is not supported by Coffer",
    );
    refused("storage \"inmem\" {}\nseal {}\n", "a.hcl", "seal", "the seal type must be given as a label");
    refused(
        "storage \"inmem\" {}\nseal \"shamir\" {\n  disabled = \"perhaps\"\n}\n",
        "a.hcl",
        "seal.shamir.disabled",
        "invalid boolean",
    );
    refused(
        "storage \"inmem\" {}\nseal \"shamir\" {\n  disabled = true\n}\nseal \"pkcs11\" {\n  disabled = true\n}\n",
        "a.hcl",
        "seal",
        "two seals provided but both are disabled",
    );
}

/// A `type` attribute stands in for the listener label, as OpenBao allows.
#[test]
fn t39b_listener_type_attribute() {
    let c = parse_str("storage \"inmem\" {}\nlistener {\n  type = \"TCP\"\n  tls_disable = true\n}\n", "a.hcl")
        .expect("valid");
    assert_eq!(c.listeners.len(), 1);
}
