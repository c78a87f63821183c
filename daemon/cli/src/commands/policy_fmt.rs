//! `policy fmt PATH`: checks a policy file as OpenBao parses ACL policies, then rewrites it
//! in HCL's canonical layout (bao's `vault.ParseACLPolicy` + `printer.Format`).

use super::{check_args, Command, Ui};
use crate::flags::{go_quote, parse_duration_seconds, FlagDef, Parsed};
use crate::hcl1::{self, Node, ObjectItem, TokenType};
use crate::tls::go_io_error;
use crate::Env;

pub(crate) const FMT: Command =
    Command { name: "policy fmt", synopsis: "Formats a policy on disk", usage, flags, parse_flags: true, run };

fn usage() -> String {
    "Usage: coffer policy fmt [options] PATH

  Formats a local policy file to the policy specification. This command will
  overwrite the file at the given PATH with the properly-formatted policy
  file contents.

  Format the local file \"my-policy.hcl\" as a policy file:

      $ coffer policy fmt my-policy.hcl"
        .to_string()
}

fn flags() -> Vec<FlagDef> {
    Vec::new()
}

/// Go's `multierror` text.
fn multierror(errors: &[String]) -> String {
    if errors.len() == 1 {
        return format!("1 error occurred:\n\t* {}\n\n", errors[0]);
    }
    let points: Vec<String> = errors.iter().map(|e| format!("* {e}")).collect();
    format!("{} errors occurred:\n\t{}\n\n", errors.len(), points.join("\n\t"))
}

/// `hclutil.CheckHCLKeys`: every item's first key must be valid (the line reported is
/// that of its `=`, 0 for blocks).
fn check_keys(items: &[ObjectItem], valid: &[&str]) -> Result<(), String> {
    let errors: Vec<String> = items
        .iter()
        .filter_map(|item| {
            let key = item.keys.first().map(|k| k.value()).unwrap_or_default();
            (!valid.contains(&key.as_str()))
                .then(|| format!("invalid key {} on line {}", go_quote(&key), item.assign.line))
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(multierror(&errors))
    }
}

/// hcl's `decodeString`: literals become strings, anything else is an error.
fn decode_string(node: &Node, name: &str) -> Result<String, String> {
    match node {
        Node::Literal(l) => Ok(match l.token.typ {
            TokenType::String | TokenType::Heredoc => l.token.value(),
            _ => l.token.text.clone(),
        }),
        other => Err(format!("At {}: {name}: unknown type for string {}", other.pos(), other.go_type())),
    }
}

/// hcl's `decodeSlice` of strings: a list (or an object, as one element).
fn decode_strings(node: &Node, name: &str) -> Result<Vec<String>, String> {
    match node {
        Node::List(l) => l.list.iter().enumerate().map(|(i, n)| decode_string(n, &format!("{name}[{i}]"))).collect(),
        Node::Object(_) => decode_string(node, &format!("{name}[0]")).map(|s| vec![s]),
        Node::Literal(l) => Err(format!("At {}: unknown slice type: *ast.LiteralType", l.token.pos)),
    }
}

/// hcl's decoding of `map[string][]interface{}`.
fn decode_param_map(node: &Node, name: &str) -> Result<(), String> {
    let Node::Object(o) = node else {
        return Err(format!("At {}: {name}: not an object type for map ({})", node.pos(), node.go_type()));
    };
    for item in &o.list.items {
        if let Node::Literal(l) = &item.val {
            return Err(format!("At {}: unknown slice type: *ast.LiteralType", l.token.pos));
        }
    }
    Ok(())
}

/// hcl's `decodeInt`.
fn decode_int(node: &Node, name: &str) -> Result<(), String> {
    match node {
        Node::Literal(l) if l.token.typ == TokenType::Number => crate::flags::parse_int(&l.token.text).map(|_| ()),
        Node::Literal(l) if l.token.typ == TokenType::String => crate::flags::parse_int(&l.token.value()).map(|_| ()),
        other => Err(format!("At {}: {name}: unknown type {}", other.pos(), other.go_type())),
    }
}

/// A wrapping TTL as `parseutil.ParseDurationSecond` reads the decoded value (seconds).
fn wrapping_ttl(node: &Node, name: &str) -> Result<i128, String> {
    match node {
        Node::Literal(l) if l.token.typ == TokenType::String => parse_duration_seconds(&l.token.value())
            .map(|ns| ns / 1_000_000_000)
            .map_err(|e| format!("error parsing {name}: {e}")),
        Node::Literal(l) if l.token.typ == TokenType::Number => Ok(l.token.text.parse::<i128>().unwrap_or(0)),
        _ => Ok(0),
    }
}

/// `parseutil.ParseAbsoluteTime`: RFC 3339 or seconds since the epoch; the time as seconds.
fn absolute_time(s: &str) -> Option<i64> {
    if let Ok(secs) = s.parse::<i64>() {
        return Some(secs);
    }
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok().map(|t| t.unix_timestamp())
}

/// The checks of one `path "KEY" { ... }` stanza, in the order OpenBao makes them. The
/// caller prefixes errors with `path "KEY": `.
fn check_path(key: &str, val: &Node) -> Result<(), String> {
    let Node::Object(o) = val else {
        return Err(format!("cannot check HCL keys of type {}", val.go_type()));
    };
    let items = &o.list.items;
    check_keys(
        items,
        &[
            "comment",
            "policy",
            "capabilities",
            "allowed_parameters",
            "denied_parameters",
            "required_parameters",
            "min_wrapping_ttl",
            "max_wrapping_ttl",
            "mfa_methods",
            "pagination_limit",
            "expiration",
            "list_scan_response_keys_filter_path",
            "control_group",
        ],
    )?;
    let prefixed = |e: String| format!("path {}: {e}", go_quote(key));
    let named = |k: &'static str| {
        items.iter().filter(move |i| i.keys.first().is_some_and(|t| t.value().eq_ignore_ascii_case(k)))
    };
    let mut policy = String::new();
    let mut capabilities: Vec<String> = Vec::new();
    let mut expiration = String::new();
    // hcl decodes the struct's fields in declaration order.
    for item in named("policy") {
        policy = decode_string(&item.val, "root.Policy").map_err(prefixed)?;
    }
    for item in named("capabilities") {
        capabilities.extend(decode_strings(&item.val, "root.Capabilities").map_err(prefixed)?);
    }
    for item in named("expiration") {
        expiration = decode_string(&item.val, "root.expiration").map_err(prefixed)?;
    }
    for field in ["allowed_parameters", "denied_parameters"] {
        for item in named(field) {
            decode_param_map(&item.val, &format!("root.{field}")).map_err(prefixed)?;
        }
    }
    for field in ["required_parameters", "mfa_methods"] {
        for item in named(field) {
            decode_strings(&item.val, &format!("root.{field}")).map_err(prefixed)?;
        }
    }
    for item in named("pagination_limit") {
        decode_int(&item.val, "root.pagination_limit").map_err(prefixed)?;
    }
    let mut filter_path = String::new();
    for item in named("list_scan_response_keys_filter_path") {
        filter_path = decode_string(&item.val, "root.list_scan_response_keys_filter_path").map_err(prefixed)?;
    }
    if !expiration.is_empty() {
        let Some(at) = absolute_time(&expiration) else {
            return Err(format!(
                "path {}: invalid expiration time: could not parse string as date and time",
                go_quote(key)
            ));
        };
        if at < time::OffsetDateTime::now_utc().unix_timestamp() {
            return Ok(());
        }
    }
    let path = key.strip_prefix('/').unwrap_or(key);
    if path.contains("+*") {
        return Err(format!("path {}: invalid use of wildcards ('+*' is forbidden)", go_quote(path)));
    }
    let old: &[&str] = match policy.as_str() {
        "" => &[],
        "deny" => {
            capabilities = vec!["deny".to_string()];
            &[]
        }
        "read" => &["read", "list"],
        "write" => &["create", "read", "update", "delete", "list"],
        "sudo" => &["create", "read", "update", "delete", "list", "sudo"],
        other => return Err(format!("path {}: invalid policy {}", go_quote(key), go_quote(other))),
    };
    capabilities.extend(old.iter().map(|s| s.to_string()));
    const VALID: &[&str] =
        &["create", "read", "update", "delete", "list", "sudo", "patch", "scan", "subscribe", "recover"];
    for cap in &capabilities {
        if cap == "deny" {
            return Ok(());
        }
        if !VALID.contains(&cap.as_str()) {
            return Err(format!("path {}: invalid capability {}", go_quote(key), go_quote(cap)));
        }
    }
    let mut min = 0;
    let mut max = 0;
    for item in named("min_wrapping_ttl") {
        min = wrapping_ttl(&item.val, "min_wrapping_ttl")?;
    }
    for item in named("max_wrapping_ttl") {
        max = wrapping_ttl(&item.val, "max_wrapping_ttl")?;
    }
    if min != 0 && max != 0 && max < min {
        return Err("max_wrapping_ttl cannot be less than min_wrapping_ttl".to_string());
    }
    if !filter_path.is_empty() && !capabilities.iter().any(|c| c == "list") {
        return Err(
            "list_scan_response_keys_filter_path needs to be used on a path with the list capability".to_string()
        );
    }
    Ok(())
}

/// OpenBao's ACL policy parse, for its errors (`failed to parse policy: ...`).
fn check_policy(src: &str) -> Result<(), String> {
    let fail = |e: String| format!("failed to parse policy: {e}");
    let file = hcl1::parse(src, false).map_err(|e| fail(e.0))?;
    let items = &file.node.items;
    check_keys(items, &["name", "path"]).map_err(fail)?;
    for item in items.iter().filter(|i| i.keys.first().is_some_and(|k| k.value() == "name")) {
        decode_string(&item.val, "root.name").map_err(fail)?;
    }
    for item in items.iter().filter(|i| i.keys.first().is_some_and(|k| k.value().eq_ignore_ascii_case("path"))) {
        let key = item.keys.get(1).map(|k| k.value()).unwrap_or_else(|| "path".to_string());
        if let Err(e) = check_path(&key, &item.val) {
            return Err(fail(format!("path {}: {e}", go_quote(&key))));
        }
    }
    Ok(())
}

/// `~` expanded as `go-homedir` expands it.
fn expand_home(path: &str, env: &Env) -> Result<String, String> {
    let Some(rest) = path.strip_prefix('~') else {
        return Ok(path.to_string());
    };
    if !rest.is_empty() && !rest.starts_with('/') {
        return Err("cannot expand user-specific home dir".to_string());
    }
    match env.home() {
        Some(h) => Ok(format!("{}{rest}", h.display())),
        None => Err("$HOME is not defined".to_string()),
    }
}

fn run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    if !check_args(ui, &parsed.args, 1, 1, "1") {
        return 1;
    }
    let path = match expand_home(parsed.args[0].trim(), env) {
        Ok(p) => p,
        Err(e) => {
            ui.error(&format!("Failed to expand path: {e}"));
            return 1;
        }
    };
    let src = match std::fs::read(&path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => {
            ui.error(&format!("Error reading source file: {}", go_io_error("open", &path, &e)));
            return 1;
        }
    };
    if let Err(e) = check_policy(&src) {
        ui.error(&e);
        return 1;
    }
    let formatted = match hcl1::format(&src) {
        Ok(f) => f,
        Err(e) => {
            ui.error(&format!("Error printing result: {e}"));
            return 1;
        }
    };
    if let Err(e) = std::fs::write(&path, formatted) {
        ui.error(&format!("Error writing result: {}", go_io_error("open", &path, &e)));
        return 1;
    }
    ui.output(&format!("Success! Formatted policy: {path}"));
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(src: &str) -> Result<(), String> {
        check_policy(src)
    }

    /// Invalid policies are refused with OpenBao's messages (taken from bao 2.7.2).
    #[test]
    fn policy_errors_match_bao() {
        assert_eq!(check("path \"a\" {\n  capabilities = [\"read\"]\n}\n"), Ok(()));
        assert_eq!(
            check("path \"a\" {\n  capabilities = [\"foo\"]\n}\n"),
            Err("failed to parse policy: path \"a\": path \"a\": invalid capability \"foo\"".to_string())
        );
        assert_eq!(
            check("path \"a\" {\n  bogus = [\"read\"]\n  bogus2 = 1\n}\n"),
            Err("failed to parse policy: path \"a\": 2 errors occurred:\n\t* invalid key \"bogus\" on line 2\n\t* invalid key \"bogus2\" on line 3\n\n".to_string())
        );
        assert_eq!(
            check("bogus \"a\" {\n  capabilities = [\"read\"]\n}\n"),
            Err("failed to parse policy: 1 error occurred:\n\t* invalid key \"bogus\" on line 0\n\n".to_string())
        );
        assert_eq!(
            check("path \"a\" { capabilities = \"read\" }\n"),
            Err("failed to parse policy: path \"a\": path \"a\": At 1:27: unknown slice type: *ast.LiteralType"
                .to_string())
        );
        assert_eq!(
            check("path \"a\" {\n  min_wrapping_ttl = \"abc\"\n}\n"),
            Err("failed to parse policy: path \"a\": error parsing min_wrapping_ttl: time: invalid duration \"abc\""
                .to_string())
        );
        assert_eq!(
            check("path \"a\" {\n  policy = [\"read\"]\n}\n"),
            Err("failed to parse policy: path \"a\": path \"a\": At 2:12: root.Policy: unknown type for string *ast.ListType".to_string())
        );
        assert_eq!(
            check("path \"a\" {\n  capabilities = [\"read\"]\n  pagination_limit = 1.5\n}\n"),
            Err("failed to parse policy: path \"a\": path \"a\": At 3:22: root.pagination_limit: unknown type *ast.LiteralType".to_string())
        );
        assert_eq!(
            check("path \"a\" {\n  capabilities = [\"deny\", \"bogus\"]\n  min_wrapping_ttl = \"x\"\n}\n"),
            Ok(())
        );
        assert_eq!(
            check("path \"a\" {\n  min_wrapping_ttl = 5\n  max_wrapping_ttl = \"1s\"\n}\n"),
            Err("failed to parse policy: path \"a\": max_wrapping_ttl cannot be less than min_wrapping_ttl".to_string())
        );
        assert_eq!(
            check("path \"a\" {\n  allowed_parameters = \"x\"\n}\n"),
            Err("failed to parse policy: path \"a\": path \"a\": At 2:24: root.allowed_parameters: not an object type for map (*ast.LiteralType)".to_string())
        );
    }
}
