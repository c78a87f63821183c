//! From the HCL 1 tree to checked path rules, with OpenBao's validation order and error texts.

use crate::goutil::{go_quote, parse_absolute_time, parse_duration_second, parse_int, DurationInput};
use crate::hcl1::{self, Item, LitKind, Node};
use crate::{caps, PolicyError};
use serde_json::Value;
use std::collections::HashMap;

/// How a rule's path is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatternKind {
    /// The request path must equal the rule path.
    Exact,
    /// Trailing `*`: the request path must start with the rule path (stored without the `*`).
    Prefix,
    /// Contains a `+` segment (and maybe a trailing `*`, kept in the stored path).
    Segments,
}

/// One `path "..." { ... }` stanza after validation.
#[derive(Debug, Clone)]
pub struct PathRule {
    /// The path as written in the policy (before identity templates are filled in).
    pub key: String,
    /// The path the matcher uses: leading `/` removed, trailing `*` removed for prefixes.
    pub path: String,
    pub kind: PatternKind,
    /// Bitmap of [`caps`] values; a rule that denies holds exactly [`caps::DENY`].
    pub capabilities: u32,
    /// Nanoseconds; 0 when unset (negative values are accepted and ignored, as in OpenBao).
    pub min_wrapping_ttl_ns: i64,
    pub max_wrapping_ttl_ns: i64,
    /// Parameter names lowercased; `None` when the stanza does not set the field.
    pub allowed_parameters: Option<HashMap<String, Vec<Value>>>,
    pub denied_parameters: Option<HashMap<String, Vec<Value>>>,
    pub required_parameters: Vec<String>,
    /// Accepted and kept for compatibility; Coffer has no MFA enforcement.
    pub mfa_methods: Vec<String>,
    /// Largest `limit` a list/scan may ask for; 0 when unset.
    pub pagination_limit: i64,
    pub response_keys_filter_path: Option<String>,
    /// Unix seconds after which the stanza no longer applies.
    pub expiration: Option<i64>,
    /// The path holds `{{identity...}}` templates and needs an identity to apply.
    pub templated: bool,
}

const VALID_PATH_KEYS: &[&str] = &[
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
];

/// go-multierror's text.
fn multierror(errs: &[String]) -> String {
    let mut s =
        if errs.len() == 1 { "1 error occurred:\n".to_string() } else { format!("{} errors occurred:\n", errs.len()) };
    for e in errs {
        s.push_str("\t* ");
        s.push_str(e);
        s.push('\n');
    }
    s.push('\n');
    s
}

fn check_keys(node: &Node, valid: &[&str]) -> Result<(), String> {
    let Node::Object { items, .. } = node else {
        return Err(format!("cannot check HCL keys of type {}", node.go_type()));
    };
    let errs: Vec<String> = items
        .iter()
        .filter_map(|i| {
            let k = i.keys.first().map(|k| k.value.as_str()).unwrap_or("");
            (!valid.contains(&k)).then(|| format!("invalid key {} on line {}", go_quote(k), i.assign.line))
        })
        .collect();
    if errs.is_empty() {
        Ok(())
    } else {
        Err(multierror(&errs))
    }
}

/// Parses policy text (HCL or JSON) into its path rules. `now` is Unix seconds, for expirations.
pub(crate) fn parse_rules(text: &str, now: i64) -> Result<Vec<PathRule>, PolicyError> {
    let items = hcl1::parse(text).map_err(|e| PolicyError::Parse(format!("failed to parse policy: {}", e.0)))?;
    let top = Node::Object { items, pos: hcl1::Pos::default() };
    check_keys(&top, &["name", "path"]).map_err(|e| PolicyError::Invalid(format!("failed to parse policy: {e}")))?;
    let Node::Object { items, .. } = top else { return Ok(Vec::new()) };
    let mut rules = Vec::new();
    for item in items.into_iter().filter(|i| i.keys.first().is_some_and(|k| k.value == "path")) {
        let key = item.keys.get(1).map(|k| k.value.clone()).unwrap_or_else(|| "path".to_string());
        match parse_path(&key, &item.val, now) {
            Ok(Some(rule)) => rules.push(rule),
            Ok(None) => {}
            Err(e) => {
                return Err(PolicyError::Invalid(format!("failed to parse policy: path {}: {e}", go_quote(&key))));
            }
        }
    }
    Ok(rules)
}

/// The fields of one stanza as HCL 1's decoder would fill them.
#[derive(Default)]
struct Raw<'a> {
    policy: Option<String>,
    capabilities: Vec<String>,
    expiration: Option<String>,
    min_ttl: Option<&'a Node>,
    max_ttl: Option<&'a Node>,
    allowed: Option<HashMap<String, Vec<Value>>>,
    denied: Option<HashMap<String, Vec<Value>>>,
    required: Vec<String>,
    mfa: Vec<String>,
    pagination: i64,
    filter_path: Option<String>,
}

fn items_named<'a>(body: &'a [Item], name: &'a str) -> impl Iterator<Item = &'a Item> + 'a {
    body.iter().filter(move |i| i.keys.first().is_some_and(|k| k.value == name))
}

/// The value of an item, with extra keys turned into nested objects (`a "b" {..}` = `a = {b {..}}`).
fn item_value(item: &Item) -> Node {
    if item.keys.len() <= 1 {
        return item.val.clone();
    }
    let inner = Item { keys: item.keys[1..].to_vec(), assign: item.assign, val: item.val.clone() };
    Node::Object { items: vec![inner], pos: item.keys[1].pos }
}

fn decode_string(node: &Node, field: &str) -> Result<String, String> {
    match node {
        Node::Lit(l) if l.kind == LitKind::Null => Ok(String::new()),
        Node::Lit(l) if l.kind == LitKind::Bool => {
            Err(format!("At {}: root.{field}: unknown type for string *ast.LiteralType", l.pos))
        }
        Node::Lit(l) => Ok(l.value.clone()),
        other => Err(format!("At {}: root.{field}: unknown type for string {}", other.pos(), other.go_type())),
    }
}

fn decode_string_list(node: &Node, field: &str, out: &mut Vec<String>) -> Result<(), String> {
    match node {
        Node::List { items, .. } => {
            for elem in items {
                let i = out.len();
                match elem {
                    Node::Lit(l) if l.kind != LitKind::Bool => out.push(l.value.clone()),
                    other => {
                        return Err(format!(
                            "At {}: root.{field}[{i}]: unknown type for string {}",
                            other.pos(),
                            other.go_type()
                        ))
                    }
                }
            }
            Ok(())
        }
        Node::Object { items, .. } => match items.first() {
            None => Ok(()),
            Some(first) => {
                Err(format!("At {}: root.{field}[{}]: unknown type for string *ast.ObjectItem", first.pos(), out.len()))
            }
        },
        Node::Lit(l) => Err(format!("At {}: unknown slice type: *ast.LiteralType", l.pos)),
    }
}

/// A literal or structure as Go's `interface{}` decoding of HCL 1 would hold it.
fn to_value(node: &Node) -> Value {
    match node {
        Node::Lit(l) => match l.kind {
            LitKind::String | LitKind::Heredoc => Value::String(l.value.clone()),
            LitKind::Bool => Value::Bool(l.value == "true"),
            LitKind::Null => Value::Null,
            LitKind::Number => match parse_int(&l.value, true) {
                Ok(v) => Value::from(v),
                Err(_) => Value::String(l.value.clone()),
            },
            LitKind::Float => l
                .value
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .unwrap_or(Value::Null),
        },
        Node::List { items, .. } => Value::Array(items.iter().map(to_value).collect()),
        Node::Object { items, .. } => {
            let mut m = serde_json::Map::new();
            for i in items {
                if let Some(k) = i.keys.first() {
                    m.insert(k.value.clone(), to_value(&item_value(i)));
                }
            }
            Value::Object(m)
        }
    }
}

fn decode_param_map(node: &Node, field: &str, out: &mut HashMap<String, Vec<Value>>) -> Result<(), String> {
    let Node::Object { items, .. } = node else {
        return Err(format!("At {}: root.{field}: not an object type for map ({})", node.pos(), node.go_type()));
    };
    for item in items {
        let Some(k) = item.keys.first() else { continue };
        let values = match item_value(item) {
            Node::List { items, .. } => items.iter().map(to_value).collect(),
            Node::Object { items, .. } => {
                items.iter().map(|i| to_value(&Node::Object { items: vec![i.clone()], pos: i.pos() })).collect()
            }
            Node::Lit(l) => return Err(format!("At {}: unknown slice type: *ast.LiteralType", l.pos)),
        };
        out.insert(k.value.to_lowercase(), values);
    }
    Ok(())
}

fn decode(body: &[Item]) -> Result<Raw<'_>, String> {
    let mut raw = Raw::default();
    for i in items_named(body, "policy") {
        raw.policy = Some(decode_string(&item_value(i), "Policy")?);
    }
    for i in items_named(body, "capabilities") {
        decode_string_list(&item_value(i), "Capabilities", &mut raw.capabilities)?;
    }
    for i in items_named(body, "expiration") {
        raw.expiration = Some(decode_string(&item_value(i), "expiration")?);
    }
    raw.min_ttl = items_named(body, "min_wrapping_ttl").last().map(|i| &i.val);
    raw.max_ttl = items_named(body, "max_wrapping_ttl").last().map(|i| &i.val);
    for (field, slot) in [("allowed_parameters", &mut raw.allowed), ("denied_parameters", &mut raw.denied)] {
        for i in items_named(body, field) {
            decode_param_map(&item_value(i), field, slot.get_or_insert_with(HashMap::new))?;
        }
    }
    for i in items_named(body, "required_parameters") {
        decode_string_list(&item_value(i), "required_parameters", &mut raw.required)?;
    }
    for i in items_named(body, "mfa_methods") {
        decode_string_list(&item_value(i), "mfa_methods", &mut raw.mfa)?;
    }
    for i in items_named(body, "pagination_limit") {
        raw.pagination = match &i.val {
            Node::Lit(l) if matches!(l.kind, LitKind::Number | LitKind::String | LitKind::Heredoc) => {
                parse_int(&l.value, true)?
            }
            other => {
                return Err(format!("At {}: root.pagination_limit: unknown type {}", other.pos(), other.go_type()))
            }
        };
    }
    for i in items_named(body, "list_scan_response_keys_filter_path") {
        raw.filter_path = Some(decode_string(&item_value(i), "list_scan_response_keys_filter_path")?);
    }
    Ok(raw)
}

fn duration_input(node: &Node) -> DurationInput<'_> {
    match node {
        Node::Lit(l) => match l.kind {
            LitKind::String | LitKind::Heredoc => DurationInput::Str(&l.value),
            LitKind::Null => DurationInput::Str(""),
            LitKind::Number => parse_int(&l.value, true).map(DurationInput::Int).unwrap_or(DurationInput::Other),
            LitKind::Float => l.value.parse().map(DurationInput::Float).unwrap_or(DurationInput::Other),
            LitKind::Bool => DurationInput::Other,
        },
        _ => DurationInput::Other,
    }
}

/// Where a path's wildcards put it: exact, prefix (`*` stripped) or segment pattern.
pub(crate) fn classify(path: &str) -> Result<(String, PatternKind), String> {
    let path = path.strip_prefix('/').unwrap_or(path);
    if path.contains("+*") {
        return Err(format!("path {}: invalid use of wildcards ('+*' is forbidden)", go_quote(path)));
    }
    let segments = path == "+" || path.contains("/+") || path.starts_with("+/");
    if segments {
        return Ok((path.to_string(), PatternKind::Segments));
    }
    match path.strip_suffix('*') {
        Some(p) => Ok((p.to_string(), PatternKind::Prefix)),
        None => Ok((path.to_string(), PatternKind::Exact)),
    }
}

fn cap_bit(name: &str) -> Option<u32> {
    Some(match name {
        "deny" => caps::DENY,
        "create" => caps::CREATE,
        "read" => caps::READ,
        "update" => caps::UPDATE,
        "delete" => caps::DELETE,
        "list" => caps::LIST,
        "sudo" => caps::SUDO,
        "patch" => caps::PATCH,
        "scan" => caps::SCAN,
        _ => return None,
    })
}

/// One stanza; `Ok(None)` when it has expired. Errors are the text after `path "KEY": `.
fn parse_path(key: &str, val: &Node, now: i64) -> Result<Option<PathRule>, String> {
    let templated = key.contains("{{") && key.contains("}}");
    check_keys(val, VALID_PATH_KEYS)?;
    let Node::Object { items: body, .. } = val else { return Ok(None) };
    let double = |e: String| format!("path {}: {e}", go_quote(key));

    if let Some(cg) = items_named(body, "control_group").next() {
        let has_factor = match &cg.val {
            Node::Object { items, .. } => items.iter().any(|i| i.keys.first().is_some_and(|k| k.value == "factor")),
            _ => false,
        };
        if !has_factor {
            return Err(format!(
                "error handling control_group: {}",
                multierror(&["requires at least one factor but had none".to_string()])
            ));
        }
    }

    let raw = decode(body).map_err(double)?;

    let mut expiration = None;
    if let Some(e) = raw.expiration.as_deref().filter(|e| !e.is_empty()) {
        let t = parse_absolute_time(e).map_err(|err| double(format!("invalid expiration time: {err}")))?;
        if now > t {
            return Ok(None);
        }
        expiration = Some(t);
    }

    let (path, kind) = classify(key)?;

    let mut cap_names = raw.capabilities;
    if let Some(p) = raw.policy.as_deref().filter(|p| !p.is_empty()) {
        let extra: &[&str] = match p {
            "deny" => {
                cap_names = vec!["deny".to_string()];
                &[]
            }
            "read" => &["read", "list"],
            "write" => &["create", "read", "update", "delete", "list"],
            "sudo" => &["create", "read", "update", "delete", "list", "sudo"],
            other => return Err(double(format!("invalid policy {}", go_quote(other)))),
        };
        cap_names.extend(extra.iter().map(|s| s.to_string()));
    }

    let mut rule = PathRule {
        key: key.to_string(),
        path,
        kind,
        capabilities: 0,
        min_wrapping_ttl_ns: 0,
        max_wrapping_ttl_ns: 0,
        allowed_parameters: None,
        denied_parameters: None,
        required_parameters: Vec::new(),
        mfa_methods: Vec::new(),
        pagination_limit: 0,
        response_keys_filter_path: None,
        expiration,
        templated,
    };

    for name in &cap_names {
        match cap_bit(name) {
            Some(caps::DENY) => {
                // Deny stands alone: nothing after it in the stanza is read.
                rule.capabilities = caps::DENY;
                return Ok(Some(rule));
            }
            Some(bit) => rule.capabilities |= bit,
            None => return Err(double(format!("invalid capability {}", go_quote(name)))),
        }
    }

    rule.allowed_parameters = raw.allowed;
    rule.denied_parameters = raw.denied;
    if let Some(n) = raw.min_ttl {
        rule.min_wrapping_ttl_ns =
            parse_duration_second(duration_input(n)).map_err(|e| format!("error parsing min_wrapping_ttl: {e}"))?;
    }
    if let Some(n) = raw.max_ttl {
        rule.max_wrapping_ttl_ns =
            parse_duration_second(duration_input(n)).map_err(|e| format!("error parsing max_wrapping_ttl: {e}"))?;
    }
    rule.mfa_methods = raw.mfa;
    if rule.min_wrapping_ttl_ns != 0
        && rule.max_wrapping_ttl_ns != 0
        && rule.max_wrapping_ttl_ns < rule.min_wrapping_ttl_ns
    {
        return Err("max_wrapping_ttl cannot be less than min_wrapping_ttl".into());
    }
    rule.required_parameters = raw.required;
    if let Some(fp) = raw.filter_path.filter(|f| !f.is_empty()) {
        if rule.capabilities & caps::LIST == 0 {
            return Err(
                "list_scan_response_keys_filter_path needs to be used on a path with the list capability".into()
            );
        }
        let tpl = crate::filter::FilterTemplate::compile(&fp)
            .map_err(|e| format!("unable to compile template for list_scan_response_keys_filter_path: {e}"))?;
        if !tpl.uses_key() {
            return Err("list_scan_response_keys_filter_path resulted in same path for two different keys".into());
        }
        rule.response_keys_filter_path = Some(fp);
    }
    rule.pagination_limit = raw.pagination;
    Ok(Some(rule))
}
