//! Ignored settings are reported, one warning each, naming the file, the position and the key.

use coffer_config::parse_str;

/// Unknown keys anywhere (top level, listener, storage) are warnings, not errors.
#[test]
fn t40_unknown_keys_warn_with_position() {
    let src = "storage \"inmem\" {\n  bogus = 1\n}\nlistener \"tcp\" {\n  tls_disable = true\n  bogus_key = 1\n}\nfoo = \"bar\"\n";
    let c = parse_str(src, "w.hcl").expect("valid");
    assert_eq!(
        c.warnings,
        [
            "w.hcl:2:3: storage.inmem.bogus: unknown key; ignored",
            "w.hcl:6:3: listener.tcp.bogus_key: unknown key; ignored",
            "w.hcl:8:1: foo: unknown key; ignored",
        ]
    );
}

/// OpenBao blocks and settings Coffer does not implement yet are each a warning.
#[test]
fn t41_known_unsupported_settings_warn() {
    let src = "storage \"raft\" {\n  path = \"/d\"\n  retry_join {\n    leader_api_addr = \"https://x:8200\"\n  }\n  performance_multiplier = 1\n}\n\
               telemetry {\n  disable_hostname = true\n}\n\
               audit \"file\" \"file/\" {\n  options {\n    file_path = \"/var/log/audit.log\"\n  }\n}\n\
               ha_storage \"raft\" {}\nplugin_directory = \"/plugins\"\npid_file = \"/run/coffer.pid\"\n\
               listener \"tcp\" {\n  tls_disable = true\n  x_forwarded_for_authorized_addrs = \"10.0.0.0/8\"\n  telemetry {\n    unauthenticated_metrics_access = true\n  }\n}\n\
               ui = true\n";
    let c = parse_str(src, "w.hcl").expect("valid");
    let keys: Vec<&str> = c.warnings.iter().map(|w| w.split(": ").nth(1).expect("key")).collect();
    for key in [
        "storage.raft.retry_join",
        "storage.raft.performance_multiplier",
        "telemetry",
        "audit",
        "ha_storage",
        "plugin_directory",
        "pid_file",
        "listener.tcp.x_forwarded_for_authorized_addrs",
        "listener.tcp.telemetry",
        "ui",
    ] {
        assert!(keys.contains(&key), "no warning for {key}: {:?}", c.warnings);
    }
    assert!(c.warnings.iter().all(|w| w.starts_with("w.hcl:")), "{:?}", c.warnings);
    assert!(
        c.warnings.contains(&"w.hcl:8:1: telemetry: not supported by Coffer yet; ignored".to_string()),
        "{:?}",
        c.warnings
    );
}

/// JSON warnings name the file and key (JSON has no positions).
#[test]
fn t42_json_warnings() {
    let c = parse_str(r#"{"storage": {"inmem": {}}, "foo": 1, "telemetry": {"x": 1}}"#, "w.json").expect("valid");
    assert!(c.warnings.contains(&"w.json: foo: unknown key; ignored".to_string()), "{:?}", c.warnings);
    assert!(
        c.warnings.contains(&"w.json: telemetry: not supported by Coffer yet; ignored".to_string()),
        "{:?}",
        c.warnings
    );
}

/// A configuration without listeners is accepted (as OpenBao) but reported.
#[test]
fn t43_no_listener_warns() {
    let c = parse_str("storage \"inmem\" {}\n", "w.hcl").expect("valid");
    assert_eq!(c.warnings, ["w.hcl: listener: no listener is configured; the API will not be reachable"]);
}

/// Warnings never carry values, so secrets in ignored keys do not reach logs.
#[test]
fn t44_warnings_carry_no_values() {
    let src = "storage \"inmem\" {}\nlistener \"tcp\" {\n  tls_disable = true\n  tls_acme_eab_mac_key = \"s3cr3t-mac\"\n}\nsecret_thing = \"hunter2\"\n";
    let c = parse_str(src, "w.hcl").expect("valid");
    let all = c.warnings.join("\n");
    assert!(!all.contains("s3cr3t") && !all.contains("hunter2"), "{all}");
    assert_eq!(c.warnings.len(), 2);
}
