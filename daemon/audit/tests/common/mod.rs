//! Shared helpers: fixtures, and turning a raw (`log_raw`) OpenBao line back into the
//! `AuditInput` the core would have passed, so the HMAC'd lines OpenBao wrote for the same
//! request can be compared byte for byte.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use coffer_audit::{AuditInput, AuthInfo, PolicyInfo, PolicyResults, RequestInfo, ResponseInfo, SecretInfo, WrapInfo};
use coffer_hardening::secret::SecretString;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub const FILE_SALT: &str = "f07ca271-29ca-714c-c854-0852454f4982";
pub const ELIDE_SALT: &str = "7702f029-d0fd-2a58-d55d-fd40eff7fd2c";
pub const SYSLOG_SALT: &str = "3597e554-dc17-268a-3fc4-d4484c5c6e06";

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openbao-2.7.2").join(name)
}

pub fn read_fixture(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

pub fn fixture_lines(name: &str) -> Vec<String> {
    read_fixture(name).lines().map(str::to_string).collect()
}

pub fn parse_time(s: &str) -> OffsetDateTime {
    OffsetDateTime::parse(s, &Rfc3339).unwrap_or_else(|e| panic!("time {s}: {e}"))
}

fn s(v: &Value, k: &str) -> String {
    v.get(k).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn i(v: &Value, k: &str) -> i64 {
    v.get(k).and_then(Value::as_i64).unwrap_or_default()
}

fn b(v: &Value, k: &str) -> bool {
    v.get(k).and_then(Value::as_bool).unwrap_or_default()
}

fn strings(v: &Value, k: &str) -> Vec<String> {
    v.get(k)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

fn secret(v: &Value, k: &str) -> Option<SecretString> {
    let t = s(v, k);
    (!t.is_empty()).then(|| SecretString::new(t))
}

fn obj(v: &Value, k: &str) -> Option<Map<String, Value>> {
    v.get(k).and_then(Value::as_object).cloned()
}

fn headers(v: &Value, k: &str) -> BTreeMap<String, Vec<String>> {
    v.get(k)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(h, vals)| {
                    let vals =
                        vals.as_array().map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect());
                    (h.clone(), vals.unwrap_or_default())
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn auth_from(a: &Value) -> AuthInfo {
    AuthInfo {
        client_token: secret(a, "client_token"),
        accessor: s(a, "accessor"),
        display_name: s(a, "display_name"),
        policies: strings(a, "policies"),
        token_policies: strings(a, "token_policies"),
        identity_policies: strings(a, "identity_policies"),
        external_namespace_policies: BTreeMap::new(),
        no_default_policy: b(a, "no_default_policy"),
        policy_results: a.get("policy_results").map(|p| PolicyResults {
            allowed: b(p, "allowed"),
            granting_policies: p
                .get("granting_policies")
                .and_then(Value::as_array)
                .map(|g| {
                    g.iter()
                        .map(|g| PolicyInfo {
                            name: s(g, "name"),
                            namespace_id: s(g, "namespace_id"),
                            namespace_path: s(g, "namespace_path"),
                            policy_type: s(g, "type"),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }),
        metadata: a
            .get("metadata")
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
            .unwrap_or_default(),
        num_uses: i(a, "num_uses"),
        remaining_uses: i(a, "remaining_uses"),
        entity_id: s(a, "entity_id"),
        entity_created: b(a, "entity_created"),
        token_type: s(a, "token_type"),
        token_ttl: i(a, "token_ttl"),
        token_issue_time: a.get("token_issue_time").and_then(Value::as_str).map(parse_time),
    }
}

/// The input the core would pass for the request behind a raw (`log_raw=true`) OpenBao line.
pub fn input_from_raw(line: &str) -> AuditInput {
    let e: Value = serde_json::from_str(line).expect("raw line is JSON");
    let r = &e["request"];
    let request = RequestInfo {
        id: s(r, "id"),
        client_id: s(r, "client_id"),
        operation: s(r, "operation"),
        mount_point: s(r, "mount_point"),
        mount_type: s(r, "mount_type"),
        mount_accessor: s(r, "mount_accessor"),
        mount_running_version: s(r, "mount_running_version"),
        mount_running_sha256: s(r, "mount_running_sha256"),
        mount_class: s(r, "mount_class"),
        mount_is_external_plugin: b(r, "mount_is_external_plugin"),
        client_token: secret(r, "client_token"),
        client_token_accessor: s(r, "client_token_accessor"),
        namespace_id: s(&r["namespace"], "id"),
        namespace_path: s(&r["namespace"], "path"),
        path: s(r, "path"),
        data: obj(r, "data"),
        policy_override: b(r, "policy_override"),
        remote_address: s(r, "remote_address"),
        remote_port: u16::try_from(i(r, "remote_port")).unwrap_or_default(),
        wrap_ttl: i(r, "wrap_ttl"),
        headers: headers(r, "headers"),
        hmac_headers: Vec::new(),
        client_certificate_serial_number: s(r, "client_certificate_serial_number"),
        forwarded_from: s(&e, "forwarded_from"),
    };
    let response = e.get("response").map(|p| ResponseInfo {
        auth: p.get("auth").map(auth_from),
        secret: p.get("secret").map(|x| SecretInfo { lease_id: s(x, "lease_id") }),
        data: obj(p, "data"),
        warnings: strings(p, "warnings"),
        redirect: s(p, "redirect"),
        wrap_info: p.get("wrap_info").map(|w| WrapInfo {
            ttl: i(w, "ttl"),
            token: SecretString::new(s(w, "token")),
            accessor: s(w, "accessor"),
            creation_time: parse_time(&s(w, "creation_time")),
            creation_path: s(w, "creation_path"),
            wrapped_accessor: s(w, "wrapped_accessor"),
        }),
        headers: headers(p, "headers"),
        time_paths: kv_time_paths(&s(r, "mount_type"), &s(r, "path"), &s(r, "operation")),
    });
    AuditInput {
        auth: e.get("auth").map(auth_from),
        request,
        response,
        error: e.get("error").and_then(Value::as_str).map(str::to_string),
        non_hmac_request_keys: Vec::new(),
        non_hmac_response_keys: Vec::new(),
    }
}

/// The `time` of an entry line (after an optional prefix).
pub fn line_time(line: &str) -> OffsetDateTime {
    let json = &line[line.find('{').expect("json")..];
    let v: Value = serde_json::from_str(json).expect("json");
    parse_time(v["time"].as_str().expect("time"))
}

/// Replaces every `hmac-sha256:<64 hex>` string by "<hmac>" and the entry time by "<time>":
/// what stays is what does not depend on the salt or the clock.
pub fn salt_independent(mut v: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::String(s) if s.starts_with("hmac-sha256:") && s.len() == 12 + 64 => {
                *s = "<hmac>".into();
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            Value::Object(m) => m.values_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    if let Some(t) = v.get_mut("time") {
        *t = Value::String("<time>".into());
    }
    v
}

/// Object keys in document order (every depth), to compare field order between two entries.
pub fn key_order(json: &str) -> Vec<String> {
    let bytes = json.as_bytes();
    let mut keys = Vec::new();
    let mut idx = 0;
    while idx < bytes.len() {
        if bytes[idx] == b'"' {
            let start = idx + 1;
            idx += 1;
            while idx < bytes.len() && bytes[idx] != b'"' {
                if bytes[idx] == b'\\' {
                    idx += 1;
                }
                idx += 1;
            }
            let end = idx;
            idx += 1;
            while idx < bytes.len() && bytes[idx].is_ascii_whitespace() {
                idx += 1;
            }
            if idx < bytes.len() && bytes[idx] == b':' {
                keys.push(json[start..end].to_string());
            }
        } else {
            idx += 1;
        }
    }
    keys
}

/// Where OpenBao's KV v2 responses hold Go `time.Time` values (written clear in its log): the
/// core tells the formatter, as it knows the engine's response shapes.
pub fn kv_time_paths(mount_type: &str, path: &str, op: &str) -> Vec<String> {
    if path == "sys/wrapping/unwrap" {
        // The captured unwrap returns a wrapped KV v2 read.
        return vec!["/metadata/created_time".into()];
    }
    if mount_type != "kv" || !path.contains("/data/") {
        return Vec::new();
    }
    match op {
        "create" | "update" => vec!["/created_time".into()],
        "read" => vec!["/metadata/created_time".into()],
        _ => Vec::new(),
    }
}
