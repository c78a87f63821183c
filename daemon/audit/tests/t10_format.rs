//! Entry format: Coffer's lines against the lines OpenBao 2.7.2 wrote for the same requests.

mod common;

use std::collections::BTreeMap;

use coffer_audit::{
    AuditInput, AuthInfo, EntryFormatter, FormatOptions, PolicyInfo, PolicyResults, RequestInfo, ResponseInfo, Salt,
};
use coffer_hardening::secret::SecretString;
use common::*;
use serde_json::{json, Value};

fn formatter(salt: &str, options: FormatOptions) -> EntryFormatter {
    EntryFormatter::new(options, Salt::new(salt.as_bytes().to_vec()))
}

fn render(f: &EntryFormatter, input: &AuditInput, kind: &str, at: time::OffsetDateTime) -> String {
    let line = match kind {
        "request" => f.request_line(input, at),
        _ => f.response_line(input, at),
    }
    .expect("format");
    String::from_utf8(line).expect("utf8")
}

/// Golden: for all 53 captured requests (kv, nested data with numbers and escapes, token create,
/// errors, permission denied, wrapping, unwrap, audit-hash, sys/raw), the line Coffer writes from
/// the raw values with the device's salt is byte for byte the line OpenBao's default file device
/// wrote: field names, order, omissions, HMACs, Go's float and string encoding.
#[test]
fn t10_every_captured_line_matches_openbao_byte_for_byte() {
    let raw = fixture_lines("raw.log");
    let hashed = fixture_lines("file.log");
    assert_eq!(raw.len(), 53);
    assert_eq!(raw.len(), hashed.len());
    let f = formatter(FILE_SALT, FormatOptions::default());
    assert_golden(&f, &raw, &hashed);
}

/// Formats every raw line and compares with the expected lines; reports all differing lines.
/// Line 1 is the enable test message, whose request id is random per device: ids are aligned.
fn assert_golden(f: &EntryFormatter, raw: &[String], expected: &[String]) {
    let mut bad = Vec::new();
    for (n, (r, want)) in raw.iter().zip(expected).enumerate() {
        let kind = serde_json::from_str::<Value>(r).expect("json")["type"].as_str().expect("type").to_string();
        let mut input = input_from_raw(r);
        if input.request.path == "sys/audit/test" {
            let want_json: Value = serde_json::from_str(&want[want.find('{').expect("json")..]).expect("json");
            input.request.id = want_json["request"]["id"].as_str().expect("id").to_string();
        }
        let ours = render(f, &input, &kind, line_time(want));
        if &ours != want {
            bad.push(format!("line {}:\n ours: {ours}\n bao:  {want}", n + 1));
        }
    }
    assert!(bad.is_empty(), "{} lines differ:\n{}", bad.len(), bad.join("\n"));
}

/// Golden with `elide_list_responses=true hmac_accessor=false prefix="PFX "`: list responses
/// carry key counts, accessors are clear, every line starts with the prefix.
#[test]
fn t11_elide_prefix_and_clear_accessors_match_openbao() {
    let raw = fixture_lines("raw.log");
    let expected_lines = fixture_lines("elide.log");
    let opts =
        FormatOptions { hmac_accessor: false, log_raw: false, elide_list_responses: true, prefix: "PFX ".into() };
    let f = formatter(ELIDE_SALT, opts);
    assert_golden(&f, &raw, &expected_lines);
    // The list response of `bao kv list secret/` (two keys) is elided to a count.
    assert!(expected_lines[20].contains(r#""data":{"keys":2}"#));
}

/// Golden with `log_raw=true`: nothing is HMAC'd and the line equals OpenBao's raw line.
#[test]
fn t12_log_raw_matches_openbao() {
    let f = formatter("any-salt", FormatOptions { log_raw: true, ..FormatOptions::default() });
    // Go keeps request numbers as written (json.Number); the captured literals (`1`, `1.5`,
    // `1e-7`, `12345678901234567890`) print the same from serde_json's numbers.
    let raw = fixture_lines("raw.log");
    assert_golden(&f, &raw, &raw);
}

/// `sys/audit-hash` of a value equals the HMAC the device writes for it in the log, and equals
/// what OpenBao's audit-hash returned for the same salt.
#[test]
fn t13_audit_hash_equals_logged_hmac() {
    let salt = Salt::new(FILE_SALT.as_bytes().to_vec());
    assert_eq!(salt.hmac("s3cr3t"), "hmac-sha256:9e3f8353b26fe9088729cf3dc6d44992a86273dc4facb034ac21a7cb2a31eea7");
    let written = fixture_lines("file.log");
    assert!(written[9].contains(&format!("\"password\":\"{}\"", salt.hmac("s3cr3t"))));
}

fn root_auth() -> AuthInfo {
    AuthInfo {
        client_token: Some(SecretString::new("s.roottoken".into())),
        accessor: "rootaccessor".into(),
        display_name: "root".into(),
        policies: vec!["root".into()],
        token_policies: vec!["root".into()],
        policy_results: Some(PolicyResults {
            allowed: true,
            granting_policies: vec![PolicyInfo {
                name: "root".into(),
                namespace_id: "root".into(),
                policy_type: "acl".into(),
                ..Default::default()
            }],
        }),
        token_type: "service".into(),
        token_issue_time: Some(parse_time("2026-11-28T00:55:11Z")),
        ..Default::default()
    }
}

fn kv_request(op: &str, id: &str, data: Option<Value>, port: u16) -> RequestInfo {
    RequestInfo {
        id: id.into(),
        client_id: "0DHqvq2D77kL2/JTPSZkTMJbkFVmUu0TzMi0jiXcFy8=".into(),
        operation: op.into(),
        mount_point: "secret/".into(),
        mount_type: "kv".into(),
        mount_accessor: "kv_46a0328c".into(),
        mount_running_version: "v2.7.2+builtin.bao".into(),
        mount_class: "secret".into(),
        client_token: Some(SecretString::new("s.roottoken".into())),
        client_token_accessor: "rootaccessor".into(),
        path: "secret/data/samples/app".into(),
        data: data.and_then(|d| d.as_object().cloned()),
        remote_address: "127.0.0.1".into(),
        remote_port: port,
        ..Default::default()
    }
}

/// Asserts that our entry and the captured one have the same fields in the same order and the
/// same values wherever the value does not depend on the salt or the clock.
fn assert_same_shape(ours: &str, captured_file: &str) {
    let captured = read_fixture(captured_file);
    let a: Value = serde_json::from_str(ours).expect("ours is JSON");
    let b: Value = serde_json::from_str(&captured).expect("captured is JSON");
    assert_eq!(salt_independent(a), salt_independent(b), "{captured_file}");
    assert_eq!(key_order(ours), key_order(&captured), "{captured_file}: field order");
}

/// The kv2 write request entry the core produces has OpenBao's exact field set, nesting, order and
/// HMAC'd positions (`audit-log-kv2-write-request.json`).
#[test]
fn t14_kv2_write_request_shape() {
    let input = AuditInput {
        auth: Some(root_auth()),
        request: kv_request(
            "create",
            "3b2e4fe1-3e99-411b-75cc-44470c1a0f49",
            Some(json!({"data": {"password": "s3cr3t", "username": "admin"}})),
            46706,
        ),
        ..Default::default()
    };
    let f = formatter("test-salt", FormatOptions::default());
    let ours = render(&f, &input, "request", parse_time("2026-11-28T00:55:22.944165476Z"));
    assert_same_shape(&ours, "audit-log-kv2-write-request.json");
}

fn kv_write_response() -> Value {
    json!({"created_time": "2026-11-28T00:55:22.944526352Z", "custom_metadata": null,
           "deletion_time": "", "destroyed": false, "version": 1})
}

/// The kv2 write response entry matches `audit-log-kv2-write-response.json` (response mount
/// fields, `mount_running_plugin_version`, HMAC'd empty `deletion_time`, numbers and null kept).
#[test]
fn t15_kv2_write_response_shape() {
    let input = AuditInput {
        auth: Some(root_auth()),
        request: kv_request(
            "create",
            "3b2e4fe1-3e99-411b-75cc-44470c1a0f49",
            Some(json!({"data": {"password": "s3cr3t", "username": "admin"}})),
            46706,
        ),
        response: Some(ResponseInfo {
            data: kv_write_response().as_object().cloned(),
            time_paths: vec!["/created_time".into()],
            ..Default::default()
        }),
        ..Default::default()
    };
    let f = formatter("test-salt", FormatOptions::default());
    let ours = render(&f, &input, "response", parse_time("2026-11-28T00:55:22.951236315Z"));
    assert_same_shape(&ours, "audit-log-kv2-write-response.json");
}

/// The kv2 read response entry matches `audit-log-kv2-read-response.json` and the verbatim line
/// `audit-log-raw-line.jsonl` (same request).
#[test]
fn t16_kv2_read_response_shape() {
    let input = AuditInput {
        auth: Some(root_auth()),
        request: kv_request("read", "a30ae636-81f2-35ed-e1f5-2cdabdbd9ad0", None, 46732),
        response: Some(ResponseInfo {
            data: json!({"data": {"password": "s3cr3t", "username": "admin"}, "metadata": kv_write_response()})
                .as_object()
                .cloned(),
            time_paths: vec!["/metadata/created_time".into()],
            ..Default::default()
        }),
        ..Default::default()
    };
    let f = formatter("test-salt", FormatOptions::default());
    let ours = render(&f, &input, "response", parse_time("2026-11-28T00:55:22.967838666Z"));
    assert_same_shape(&ours, "audit-log-kv2-read-response.json");
    assert_same_shape(&ours, "audit-log-raw-line.jsonl");
}

fn sys_request(op: &str, id: &str, path: &str, data: Option<Value>, port: u16) -> RequestInfo {
    RequestInfo {
        mount_point: "sys/".into(),
        mount_type: "system".into(),
        mount_accessor: "system_1d3accf4".into(),
        ..kv_request(op, id, data, port)
    }
    .with_path(path)
}

trait WithPath {
    fn with_path(self, p: &str) -> Self;
}

impl WithPath for RequestInfo {
    fn with_path(mut self, p: &str) -> Self {
        self.path = p.into();
        self
    }
}

/// An error response: response data `{"error": …}` HMAC'd, the outer error text in `error`
/// (`audit-log-error-response.json`).
#[test]
fn t17_error_response_shape() {
    let input = AuditInput {
        auth: Some(root_auth()),
        request: sys_request(
            "update",
            "3304aeab-cb16-ec0a-48cf-881118449779",
            "sys/mounts/secret",
            Some(json!({"type": "kv", "options": {"version": "2"}})),
            46702,
        ),
        response: Some(ResponseInfo {
            data: json!({"error": "path is already in use at secret/"}).as_object().cloned(),
            ..Default::default()
        }),
        error: Some("1 error occurred:\n\t* path is already in use at secret/\n\n".into()),
        ..Default::default()
    };
    let f = formatter("test-salt", FormatOptions::default());
    let ours = render(&f, &input, "response", parse_time("2026-11-28T00:55:22.941019837Z"));
    assert_same_shape(&ours, "audit-log-error-response.json");
}

/// The unwrap response: the wrapping token's auth (remaining_uses, token_ttl), the unwrapped
/// secret HMAC'd (`audit-log-unwrap-response.json`).
#[test]
fn t18_unwrap_response_shape() {
    let mut auth = root_auth();
    auth.client_token = Some(SecretString::new("s.wrapping".into()));
    auth.accessor = "wrapacc".into();
    auth.policies = vec!["response-wrapping".into()];
    auth.token_policies = vec!["response-wrapping".into()];
    if let Some(p) = auth.policy_results.as_mut() {
        p.granting_policies[0].name = "response-wrapping".into();
    }
    auth.remaining_uses = 1;
    auth.token_ttl = 120;
    auth.token_issue_time = Some(parse_time("2026-11-28T00:55:23Z"));
    let mut request = sys_request("update", "ed5d392a-de26-e6bc-9171-ad2285ae923a", "sys/wrapping/unwrap", None, 46948);
    request.client_id = "rWML+2xGX2RJUpB3xHagF8KeTWTAmWcNtQxfM8tzpH8=".into();
    request.client_token = Some(SecretString::new("s.wrapping".into()));
    request.client_token_accessor = "wrapacc".into();
    let mut meta = kv_write_response();
    meta["created_time"] = json!("2026-11-28T00:55:23.066106742Z");
    let input = AuditInput {
        auth: Some(auth),
        request,
        response: Some(ResponseInfo {
            data: json!({"data": {"k": "v"}, "metadata": meta}).as_object().cloned(),
            time_paths: vec!["/metadata/created_time".into()],
            ..Default::default()
        }),
        ..Default::default()
    };
    let f = formatter("test-salt", FormatOptions::default());
    let ours = render(&f, &input, "response", parse_time("2026-11-28T00:55:23.14940102Z"));
    assert_same_shape(&ours, "audit-log-unwrap-response.json");
}

/// Every string at any depth of request and response data is HMAC'd (in maps, in arrays, in maps
/// in arrays); map keys, numbers, booleans and null are not; `non_hmac_*_keys` leave the strings
/// under those keys clear.
#[test]
fn t19_nested_strings_are_hmacd() {
    let salt = Salt::new(b"nested-salt".to_vec());
    let h = |s: &str| salt.hmac(s);
    let input = AuditInput {
        request: RequestInfo {
            operation: "update".into(),
            path: "secret/data/x".into(),
            data: json!({"a": {"b": ["c", 1, true, null, {"d": "e"}]}, "plain": "clear", "n": 2}).as_object().cloned(),
            ..Default::default()
        },
        response: Some(ResponseInfo {
            data: json!({"deep": [[{"x": "y"}]], "plain": "resp-clear"}).as_object().cloned(),
            ..Default::default()
        }),
        non_hmac_request_keys: vec!["plain".into()],
        non_hmac_response_keys: vec!["plain".into()],
        ..Default::default()
    };
    let f = EntryFormatter::new(FormatOptions::default(), Salt::new(b"nested-salt".to_vec()));
    let line = render(&f, &input, "response", parse_time("2026-11-28T00:00:00Z"));
    let v: Value = serde_json::from_str(&line).expect("json");
    assert_eq!(
        v["request"]["data"],
        json!({"a": {"b": [h("c"), 1, true, null, {"d": h("e")}]}, "n": 2, "plain": "clear"})
    );
    assert_eq!(v["response"]["data"], json!({"deep": [[{"x": h("y")}]], "plain": "resp-clear"}));
}

/// `log_raw` writes tokens, accessors and data in clear; the default writes none of them in clear.
#[test]
fn t20_log_raw_versus_default() {
    let make = || AuditInput {
        auth: Some(root_auth()),
        request: kv_request("create", "id-1", Some(json!({"password": "hunter2"})), 1),
        ..Default::default()
    };
    let raw = render(
        &formatter("s", FormatOptions { log_raw: true, ..FormatOptions::default() }),
        &make(),
        "request",
        parse_time("2026-11-28T00:00:00Z"),
    );
    for clear in ["hunter2", "s.roottoken", "rootaccessor"] {
        assert!(raw.contains(clear), "log_raw keeps {clear}");
    }
    let hashed =
        render(&formatter("s", FormatOptions::default()), &make(), "request", parse_time("2026-11-28T00:00:00Z"));
    for clear in ["hunter2", "s.roottoken", "rootaccessor"] {
        assert!(!hashed.contains(clear), "default hides {clear}");
    }
    // hmac_accessor=false: accessors clear, tokens still HMAC'd.
    let acc = render(
        &formatter("s", FormatOptions { hmac_accessor: false, ..FormatOptions::default() }),
        &make(),
        "request",
        parse_time("2026-11-28T00:00:00Z"),
    );
    assert!(acc.contains("\"accessor\":\"rootaccessor\"") && !acc.contains("s.roottoken"));
}

/// `elide_list_responses` replaces `keys` by its length and `key_info` by its size, only for list
/// operations, also with `log_raw`.
#[test]
fn t21_elide_list_responses() {
    let make = |op: &str| AuditInput {
        request: RequestInfo { operation: op.into(), path: "secret/metadata/".into(), ..Default::default() },
        response: Some(ResponseInfo {
            data: json!({"keys": ["a", "b", "c"], "key_info": {"a": {}, "b": {}}}).as_object().cloned(),
            ..Default::default()
        }),
        ..Default::default()
    };
    for raw in [false, true] {
        let f = formatter("s", FormatOptions { elide_list_responses: true, log_raw: raw, ..FormatOptions::default() });
        let line = render(&f, &make("list"), "response", parse_time("2026-11-28T00:00:00Z"));
        let v: Value = serde_json::from_str(&line).expect("json");
        assert_eq!(v["response"]["data"], json!({"keys": 3, "key_info": 2}), "raw={raw}");
        let read = render(&f, &make("read"), "response", parse_time("2026-11-28T00:00:00Z"));
        let v: Value = serde_json::from_str(&read).expect("json");
        assert!(v["response"]["data"]["keys"].is_array(), "not a list: kept");
    }
}

/// `prefix` is written before the JSON, on the same line.
#[test]
fn t22_prefix() {
    let f = formatter("s", FormatOptions { prefix: "@cee: ".into(), ..FormatOptions::default() });
    let input =
        AuditInput { request: RequestInfo { path: "sys/health".into(), ..Default::default() }, ..Default::default() };
    let line = render(&f, &input, "request", parse_time("2026-11-28T00:00:00Z"));
    assert!(line.starts_with("@cee: {\"time\":\"2026-11-28T00:00:00Z\",\"type\":\"request\""));
}

/// Audited request headers configured with hmac=true are HMAC'd even with log_raw; others clear.
#[test]
fn t23_audited_headers() {
    let mut headers = BTreeMap::new();
    headers.insert("x-api-key".to_string(), vec!["k1".to_string()]);
    headers.insert("user-agent".to_string(), vec!["curl".to_string()]);
    let input = AuditInput {
        request: RequestInfo {
            path: "p".into(),
            headers,
            hmac_headers: vec!["X-API-Key".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    let salt = Salt::new(b"s".to_vec());
    let f = EntryFormatter::new(FormatOptions { log_raw: true, ..FormatOptions::default() }, Salt::new(b"s".to_vec()));
    let v: Value =
        serde_json::from_str(&render(&f, &input, "request", parse_time("2026-11-28T00:00:00Z"))).expect("json");
    assert_eq!(v["request"]["headers"], json!({"user-agent": ["curl"], "x-api-key": [salt.hmac("k1")]}));
}
