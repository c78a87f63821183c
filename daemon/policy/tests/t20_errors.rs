//! Policy texts OpenBao 2.7.2 refuses, with the exact error it gave (`PUT sys/policy/<name>`
//! against a dev server), and texts it accepts that an HCL 2 parser would not.

use coffer_policy::{check_deletable, check_writable, Policy, PolicyError};

/// (policy text, OpenBao's error after "failed to parse policy: ").
const REFUSED: &[(&str, &str)] = &[
    (r#"path "a" { capabilities = ["foo"] }"#, r#"path "a": path "a": invalid capability "foo""#),
    (r#"path "a" { capabilities = ["READ"] }"#, r#"path "a": path "a": invalid capability "READ""#),
    (r#"path "a" { capabilities = [1] }"#, r#"path "a": path "a": invalid capability "1""#),
    (r#"path "/a*" { capabilities = ["foo"] }"#, r#"path "/a*": path "/a*": invalid capability "foo""#),
    (
        r#"path "a" { capabilities = ["read"] } path "b" { capabilities = ["nope"] }"#,
        r#"path "b": path "b": invalid capability "nope""#,
    ),
    (
        r#"path "a" { capabilities = ["read"] } "path" "c" { capabilities = ["nope"] }"#,
        r#"path "c": path "c": invalid capability "nope""#,
    ),
    (r#"path "a" { capabilities = ["read" }"#, "At 1:35: error parsing list, expected comma or list end, got: RBRACE"),
    (r#"path "a" { capabilities = ["read" "list"] }"#, "At 1:35: error parsing list, expected comma or list end, got: STRING"),
    (r#"path "a" { capabilities = ["read"] bogus = 1 }"#, "path \"a\": 1 error occurred:\n\t* invalid key \"bogus\" on line 1\n\n"),
    (r#"bogus "a" { capabilities = ["read"] }"#, "1 error occurred:\n\t* invalid key \"bogus\" on line 0\n\n"),
    (
        r#"path "a" { capabilities = ["read"] } path "b" { capabilities = ["read"] zzz = 1 yyy = 2 }"#,
        "path \"b\": 2 errors occurred:\n\t* invalid key \"zzz\" on line 1\n\t* invalid key \"yyy\" on line 1\n\n",
    ),
    (r#"path "a" { x = 1 } path "b" { y = 2 }"#, "path \"a\": 1 error occurred:\n\t* invalid key \"x\" on line 1\n\n"),
    (r#"path = { "a" = { capabilities = ["read"] } }"#, "path \"path\": 1 error occurred:\n\t* invalid key \"a\" on line 1\n\n"),
    (r#"path "a" { policy = "bad" }"#, r#"path "a": path "a": invalid policy "bad""#),
    (r#"path "a/+*" { capabilities = ["read"] }"#, r#"path "a/+*": path "a/+*": invalid use of wildcards ('+*' is forbidden)"#),
    (
        r#"path "a" { capabilities = ["read"] min_wrapping_ttl = "10s" max_wrapping_ttl = "1s" }"#,
        r#"path "a": max_wrapping_ttl cannot be less than min_wrapping_ttl"#,
    ),
    (
        r#"path "a" { capabilities = ["read"] min_wrapping_ttl = "abc" }"#,
        r#"path "a": error parsing min_wrapping_ttl: time: invalid duration "abc""#,
    ),
    (
        r#"path "a" { capabilities = ["read"] max_wrapping_ttl = "xx" }"#,
        r#"path "a": error parsing max_wrapping_ttl: time: invalid duration "xx""#,
    ),
    (
        r#"path "a" { capabilities = ["read"] min_wrapping_ttl = true }"#,
        r#"path "a": error parsing min_wrapping_ttl: could not parse duration from input"#,
    ),
    (
        r#"path "a" { capabilities = ["read"] allowed_parameters = { "x" = "y" } }"#,
        r#"path "a": path "a": At 1:65: unknown slice type: *ast.LiteralType"#,
    ),
    (r#"path "a" { capabilities = "read" }"#, r#"path "a": path "a": At 1:27: unknown slice type: *ast.LiteralType"#),
    (
        "path \"a\" { capabilities = <<EOF\nread\nEOF\n}",
        r#"path "a": path "a": At 1:27: unknown slice type: *ast.LiteralType"#,
    ),
    (
        r#"path "a" { capabilities = ["read"] required_parameters = "x" }"#,
        r#"path "a": path "a": At 1:58: unknown slice type: *ast.LiteralType"#,
    ),
    (
        r#"path "a" { capabilities = ["read"] required_parameters = { x = 1 } }"#,
        r#"path "a": path "a": At 1:60: root.required_parameters[0]: unknown type for string *ast.ObjectItem"#,
    ),
    (
        r#"path "a" { capabilities = { x = 1 } }"#,
        r#"path "a": path "a": At 1:29: root.Capabilities[0]: unknown type for string *ast.ObjectItem"#,
    ),
    (
        r#"path "a" { capabilities = ["read"] allowed_parameters = ["x"] }"#,
        r#"path "a": path "a": At 1:57: root.allowed_parameters: not an object type for map (*ast.ListType)"#,
    ),
    (
        r#"path "a" { capabilities = ["read"] policy = ["read"] }"#,
        r#"path "a": path "a": At 1:45: root.Policy: unknown type for string *ast.ListType"#,
    ),
    (
        r#"path "a" { capabilities = ["read"] expiration = "nope" }"#,
        r#"path "a": path "a": invalid expiration time: could not parse string as date and time"#,
    ),
    (
        r#"path "/a*" { capabilities = ["read"] expiration = "x" }"#,
        r#"path "/a*": path "/a*": invalid expiration time: could not parse string as date and time"#,
    ),
    (
        r#"path "a" { capabilities = ["read"] pagination_limit = "x" }"#,
        r#"path "a": path "a": strconv.ParseInt: parsing "x": invalid syntax"#,
    ),
    (
        r#"path "a" { capabilities = ["read"] list_scan_response_keys_filter_path = "x" }"#,
        r#"path "a": list_scan_response_keys_filter_path needs to be used on a path with the list capability"#,
    ),
    (
        r#"path "a" { capabilities = ["list"] list_scan_response_keys_filter_path = "{{ .path }}" }"#,
        r#"path "a": list_scan_response_keys_filter_path resulted in same path for two different keys"#,
    ),
    (
        r#"path "a" { capabilities = ["list"] list_scan_response_keys_filter_path = "{{ .path }}/{{ .nonexist }}" }"#,
        r#"path "a": list_scan_response_keys_filter_path resulted in same path for two different keys"#,
    ),
    (
        r#"path "a" { capabilities = ["list"] list_scan_response_keys_filter_path = "{{ .bogus" }"#,
        r#"path "a": unable to compile template for list_scan_response_keys_filter_path: unable to parse template: template: template:1: unclosed action"#,
    ),
    (
        r#"path "a" { capabilities = ["read"] control_group = { ttl = "1h" } }"#,
        "path \"a\": error handling control_group: 1 error occurred:\n\t* requires at least one factor but had none\n\n",
    ),
    (r#"path "a" { capabilities = ["read"]"#, "At 1:36: object expected closing RBRACE got: EOF"),
    (r#"path "a" { capabilities = ["read\q"] }"#, "At 1:34: illegal char escape"),
    (r#"path "a" { capabilities = ["a\u12"] }"#, "At 1:34: illegal char escape"),
    (r#"path "a { capabilities = ["read"] }"#, "At 1:36: literal not terminated"),
    ("path \"ab\nc\" {}", "At 2:6: literal not terminated"),
    (r#"path "a" { capabilities = ["read"] } }"#, "At 1:38: expected: IDENT | STRING | ASSIGN | LBRACE got: RBRACE"),
    (r#"path "a" { capabilities = ["read"] } @"#, "At 1:38: illegal char"),
    (r#"path "a" { capabilities = ["read"] /* x"#, "At 1:40: comment not terminated"),
    ("/* abcdefgh", "At 1:12: comment not terminated"),
    ("/*", "At 1:3: comment not terminated"),
    ("   /* a\nbc", "At 2:3: comment not terminated"),
    (r#"path "a" { capabilities = ["read"] } / x"#, "At 1:38: expected '/' for comment"),
    (r#"path "a" { capabilities = 0x }"#, "At 1:29: illegal hexadecimal number"),
    (r#"path "a" = { capabilities = ["read"] }"#, "At 1:10: nested object expected: LBRACE got: ASSIGN"),
    // JSON
    (r#"{"path": {"a": {"capabilities": ["bad"]}}}"#, r#"path "a": path "a": invalid capability "bad""#),
    (r#"{"path": {"a": {"capabilities": [1]}}}"#, r#"path "a": path "a": invalid capability "1""#),
    (
        r#"{"path": {"a": {"capabilities": ["read"]}}, "path": {"b": {"capabilities": ["bad"]}}}"#,
        r#"path "b": path "b": invalid capability "bad""#,
    ),
    (r#"{"path": {"a": {"capabilities": "read"}}}"#, r#"path "a": path "a": At -: unknown slice type: *ast.LiteralType"#),
    (r#"{"path": {"a": {"capabilities": ["read"]}}, "bogus": 1}"#, "1 error occurred:\n\t* invalid key \"bogus\" on line 1\n\n"),
    (
        r#"{"path": {"a": {"capabilities": ["read"]}, "b": {"policy": "write"}}, "path2": 1}"#,
        "1 error occurred:\n\t* invalid key \"path2\" on line 1\n\n",
    ),
    (r#"{"path": {"a": {"capabilities": ["read"], "bogus": 1}}}"#, "path \"a\": 1 error occurred:\n\t* invalid key \"bogus\" on line 1\n\n"),
    (r#"{"path": {"a": {"allowed_parameters": {"x": {"y": 1}}}}}"#, "path \"a\": 1 error occurred:\n\t* invalid key \"y\" on line 1\n\n"),
    (r#"{"path": "x"}"#, r#"path "path": cannot check HCL keys of type *ast.LiteralType"#),
    (
        r#"{"path": {"a": {"capabilities": ["read"], "min_wrapping_ttl": "bad"}}}"#,
        r#"path "a": error parsing min_wrapping_ttl: strconv.ParseInt: parsing "ba": invalid syntax"#,
    ),
    (r#"{"path": {"a" {"capabilities": ["read"]}}}"#, "expected: STRING got: LBRACE"),
    ("{\"path\": {\"a\": {\"capabilities\": [\"read\"]}}\ngarbage", "2:8: illegal char"),
    (r#"{"path": {"a": {"capabilities": ["re\qad"]}}}"#, "1:38: illegal char escape"),
    (
        r#"{"path": {"a": {"capabilities": ["read"], "allowed_parameters": {"x": ["a", true, 1, null]}}}}"#,
        "unexpected token while parsing list: NULL",
    ),
    // Multi-line texts.
    ("path \"a\" {\n  capabilities = [\"read\"]\n}\n\npath \"b\" {\n  capabilities = [\"read\"\n  policy = \"x\"\n}\n", "At 7:3: error parsing list, expected comma or list end, got: IDENT"),
    ("path \"a\" {\n  capabilities = [\"read\"]\n  allowed_parameters = {\n    \"x\" = \"y\"\n  }\n}\n", "path \"a\": path \"a\": At 4:11: unknown slice type: *ast.LiteralType"),
    ("# c\npath \"a\" {\n  capabilities = [\"read\"]\n}\nbad = 1\n", "1 error occurred:\n\t* invalid key \"bad\" on line 5\n\n"),
    ("path \"a\" {\n  capabilities = [\"read\"]\n  denied_parameters {\n    x = 1\n  }\n}\n", "path \"a\": path \"a\": At 4:9: unknown slice type: *ast.LiteralType"),
    ("path \"a\" {\n  capabilities = [\"read\"] \n  min_wrapping_ttl = \"5x\"\n}", "path \"a\": error parsing min_wrapping_ttl: time: unknown unit \"x\" in duration \"5x\""),
    ("path \"a\" {\n  capabilities = [\"read\"]\n  max_wrapping_ttl = \"1.5\"\n}", "path \"a\": error parsing max_wrapping_ttl: time: missing unit in duration \"1.5\""),
    ("path \"a\" {\n  capabilities = [\"read\"]\n  pagination_limit = 1.5\n}", "path \"a\": path \"a\": At 3:22: root.pagination_limit: unknown type *ast.LiteralType"),
    ("path \"a\" {\n  capabilities = [\"read\"]\n  pagination_limit = true\n}", "path \"a\": path \"a\": At 3:22: root.pagination_limit: unknown type *ast.LiteralType"),
    ("path \"a\" {\n  capabilities = [\"read\"]\n  policy = true\n}", "path \"a\": path \"a\": At 3:12: root.Policy: unknown type for string *ast.LiteralType"),
    ("path \"a\" {\n  capabilities = [true]\n}", "path \"a\": path \"a\": At 2:19: root.Capabilities[0]: unknown type for string *ast.LiteralType"),
    ("path \"a\" {\n  capabilities = [\"read\", {x = 1}]\n}", "path \"a\": path \"a\": At 2:27: root.Capabilities[1]: unknown type for string *ast.ObjectType"),
    ("path \"a\" {\n  capabilities = [\"read\"]\n}\npath \"a\" {\n  capabilities = [\"bad\"]\n}", "path \"a\": path \"a\": invalid capability \"bad\""),
    ("path \"a\" \n  capabilities = [\"read\"]\n}", "At 2:16: nested object expected: LBRACE got: ASSIGN"),
    ("\"path\" = 1", "path \"path\": cannot check HCL keys of type *ast.LiteralType"),
    ("path \"a\" { capabilities = [\"read\"] list_scan_response_keys_filter_path = \"{{ printf .key }}\" }", "path \"a\": list_scan_response_keys_filter_path needs to be used on a path with the list capability"),
    ("{\"path\": {\"a\": {\"capabilities\": [\"read\"], \"required_parameters\": \"x\"}}}", "path \"a\": path \"a\": At -: unknown slice type: *ast.LiteralType"),
    ("{\"path\": {\"a\": {\"capabilities\": [\"read\"], \"allowed_parameters\": [\"x\"]}}}", "path \"a\": path \"a\": At -: root.allowed_parameters: not an object type for map (*ast.ListType)"),
];

/// Every refused text gets OpenBao's message, word for word, prefixed as OpenBao prefixes it.
#[test]
fn refused_policies_get_openbao_messages() {
    let mut failures = Vec::new();
    for (text, want) in REFUSED {
        let want = format!("failed to parse policy: {want}");
        match Policy::parse("p", text) {
            Ok(_) => failures.push(format!("{text:?}: accepted, OpenBao says {want:?}")),
            Err(e) => {
                assert!(matches!(e, PolicyError::Parse(_) | PolicyError::Invalid(_)), "{text:?}: {e:?}");
                if e.to_string() != want {
                    failures.push(format!("{text:?}:\n  OpenBao {want:?}\n  coffer  {:?}", e.to_string()));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

/// Texts OpenBao accepts, several of which HCL 2 would reject (attributes on one line, commas
/// between attributes, block-form parameter maps, unquoted labels, two labels, JSON lists of
/// path objects, an empty text).
const ACCEPTED: &[&str] = &[
    r#"path "{{identity.bogus}}" { capabilities = ["read"] }"#,
    r#"path "a" { capabilities = ["read", "deny"] }"#,
    r#"{"path": {"a": {"capabilities": ["read"]}}}"#,
    "name = \"x\"\npath \"a\" { capabilities = [\"read\"] }",
    "name = 5\npath \"a\" { capabilities = [\"read\"] }",
    r#"path "a" {}"#,
    r#"path "a" { capabilities = ["read",] }"#,
    r#"path "a" { capabilities = ["read"], policy = "read" }"#,
    r#"path "a" "b" { capabilities = ["read"] }"#,
    r#"path "a" { capabilities = ["read"] allowed_parameters = { "x" = ["a", 1, true] "*" = [] } }"#,
    r#"path "a" { capabilities = ["read"] allowed_parameters { "x" = ["a"] } }"#,
    r#"path a { capabilities = ["read"] }"#,
    r#"path "a" { capabilities = ["read"] min_wrapping_ttl = 30 }"#,
    r#"path "a" { capabilities = ["read"] allowed_parameters = { "x" = ["a", {b = 1}] } }"#,
    r#"path "a" { capabilities = ["read"] } path "a" { capabilities = ["list"] }"#,
    r#"{"path": [{"a": {"capabilities": ["read"]}}]}"#,
    r#"path "a" { capabilities = ["read"] expiration = "2020-01-01T00:00:00Z" }"#,
    "# only comment",
    r#"path "a" { capabilities = ["read"] mfa_methods = ["x"] }"#,
    r#"path "a" { capabilities = ["read"] required_parameters = [1] }"#,
    r#"path "a" { capabilities = ["list"] list_scan_response_keys_filter_path = "{{ .path }}/{{ .key }}" }"#,
    r#"path "a" { capabilities = ["list"] list_scan_response_keys_filter_path = "x/{{ .key }}" }"#,
    r#"path "a" { capabilities = ["read"] pagination_limit = 10 }"#,
    r#"path "a" { capabilities = ["read"] pagination_limit = "10" }"#,
    r#"path "a" { capabilities = ["read"] pagination_limit = -1 }"#,
    r#"{"path": {"a": {"capabilities": ["read"]}}"#,
    r#"path "a" { capabilities = [] }"#,
    r#"path "a" { capabilities = ["read"] min_wrapping_ttl = "-5s" }"#,
    r#"path "a" { capabilities = ["read"] min_wrapping_ttl = "1d" }"#,
    r#"path "a" { capabilities = ["read"] policy = "read" }"#,
    r#"path "a" { capabilities = ["deny"] policy = "write" }"#,
    r#"path "a" { capabilities = ["deny"] min_wrapping_ttl = "abc" }"#,
    r#"path "a" { capabilities = ["read"] comment = { x = [1] } }"#,
    r#"path "a" { capabilities = ["read"] expiration = "2999-01-01T00:00:00Z" }"#,
    "   ",
    "",
    r#"{"path": {"a": {"capabilities": ["read",]}}}"#,
    r#"{"path": {"a": {"capabilities": ["read"]}}} xx"#,
    r#"{"path": {"a": {"capabilities": ["read"], "min_wrapping_ttl": 5, "allowed_parameters": {"x": ["a", true, 1.5]}}}}"#,
    r#"{"path": {"a": {"capabilities": ["read"], "policy": null}}}"#,
    "{}",
    r#"{"path": {"a": {}}}"#,
    r#"  {"path": {"a": {"capabilities": ["read"]}},}"#,
    "path \"a\" {\n  capabilities = [\"read\"]\n  min_wrapping_ttl = 1.5\n  max_wrapping_ttl = 1\n}",
    "path \"a\" {\n  capabilities = [\"read\"]\n  expiration = 5\n}",
    "path { capabilities = [\"read\"] }",
];

/// Every accepted text parses.
#[test]
fn accepted_policies_parse() {
    let failures: Vec<String> =
        ACCEPTED.iter().filter_map(|text| Policy::parse("p", text).err().map(|e| format!("{text:?}: {e}"))).collect();
    assert!(failures.is_empty(), "{} refused:\n{}", failures.len(), failures.join("\n"));
}

/// `root` cannot be written and neither `root` nor `default` deleted, with OpenBao's texts;
/// names are compared lowercased.
#[test]
fn reserved_names() {
    let e = Policy::parse("ROOT", r#"path "a" { capabilities = ["read"] }"#).err();
    assert_eq!(e, Some(PolicyError::Reserved("cannot update \"root\" policy".into())));
    assert!(check_writable("Root").is_err());
    assert!(check_writable("default").is_ok());
    assert_eq!(check_deletable("root").err().map(|e| e.to_string()), Some("cannot delete \"root\" policy".into()));
    assert_eq!(check_deletable("DEFAULT").err().map(|e| e.to_string()), Some("cannot delete default policy".into()));
    assert!(check_deletable("dev").is_ok());
}

/// Names are stored lowercased and the raw text is kept as written.
#[test]
fn name_lowercased_raw_kept() {
    let text = "path \"A\" {\n  capabilities = [\"read\"]\n}\n";
    let p = Policy::parse("Dev-Team", text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.name, "dev-team");
    assert_eq!(p.raw, text);
}

/// Hostile input never panics: deep nesting is refused, odd bytes and truncations give errors.
#[test]
fn hostile_input_is_refused_not_fatal() {
    let deep = format!("path \"a\" {}{}", "{ x ".repeat(10_000), "}".repeat(10_000));
    assert!(Policy::parse("p", &deep).is_err());
    let deep_json = format!("{}{}", "{\"a\": ".repeat(10_000), "}".repeat(10_000));
    assert!(Policy::parse("p", &deep_json).is_err());
    let sample =
        r#"path "é/+/x*" { capabilities = ["read"] expiration = "2é99-01-01T00:00:00Z" min_wrapping_ttl = "1µs" }"#;
    for end in 0..sample.len() {
        if let Some(prefix) = sample.get(..end) {
            let _ = Policy::parse("p", prefix);
        }
    }
    for text in [
        "\0",
        "<<",
        "<<EOF",
        "<<-\n",
        "\"\\",
        "0x",
        "1e",
        "-",
        ".5",
        "{\"",
        "{\"a\":",
        "[",
        "path \"a\" { capabilities = [[[\"read\"]]] }",
    ] {
        let _ = Policy::parse("p", text);
    }
}
