//! One configuration file, HCL or JSON, read into the same format-neutral tree.
//!
//! OpenBao reads both formats with HCL v1, which sees JSON objects as blocks:
//! `{"storage": {"raft": {"path": "/d"}}}` is `storage "raft" { path = "/d" }`, and
//! `{"listener": [{"tcp": {...}}, {"tcp": {...}}]}` is two `listener "tcp"` blocks. This module
//! produces [`Item`]s for both, so the interpretation in `file.rs` is written once.
//!
//! HCL is parsed with `hcl-edit` (re-exported by `hcl-rs` as `hcl::edit`) because it keeps byte
//! spans, which become the line and column in warnings and errors. Values must be literals:
//! HCL v1 has no expressions, so interpolations, function calls and variables are refused rather
//! than evaluated.

use hcl::edit::expr::{Expression, ObjectKey, UnaryOperator};
use hcl::edit::structure::{Body, Structure};
use hcl::edit::template::{Element, Template};
use hcl::edit::Span;
use serde_json::{Map, Value};

use crate::error::{ConfigError, Pos};

/// One attribute (`key = value`) or block (`key "label" { ... }`).
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub key: String,
    pub labels: Vec<String>,
    pub pos: Option<Pos>,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Value(Value),
    Block(Vec<Item>),
}

/// How many labels the top-level blocks OpenBao knows take; used to read JSON (and HCL
/// attributes written as objects, e.g. `storage = { raft = { ... } }`) as blocks.
pub(crate) fn block_labels(key: &str) -> Option<usize> {
    match key {
        "storage"
        | "backend"
        | "ha_storage"
        | "ha_backend"
        | "service_registration"
        | "seal"
        | "kms"
        | "hsm"
        | "listener"
        | "user_lockout"
        | "initialize" => Some(1),
        "audit" => Some(2),
        "telemetry" => Some(0),
        _ => None,
    }
}

/// Whether `source_name` names a JSON file. OpenBao ignores the extension and sniffs the
/// content; we take the extension, and also read as JSON anything whose first character is `{`
/// (which can never be valid HCL).
fn is_json(src: &str, source_name: &str) -> bool {
    let by_name = std::path::Path::new(source_name).extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
    by_name || src.trim_start().starts_with('{')
}

/// Parses one file into its top-level items.
pub(crate) fn parse(src: &str, source_name: &str) -> Result<Vec<Item>, ConfigError> {
    if is_json(src, source_name) {
        parse_json(src, source_name)
    } else {
        parse_hcl(src, source_name)
    }
}

fn syntax(source_name: &str, pos: Option<Pos>, message: impl Into<String>) -> ConfigError {
    ConfigError::Syntax { file: source_name.to_string(), pos, message: message.into() }
}

// ---------------------------------------------------------------------------------------------
// JSON

fn parse_json(src: &str, source_name: &str) -> Result<Vec<Item>, ConfigError> {
    let value: Value = serde_json::from_str(src).map_err(|e| {
        let pos = (e.line() > 0).then(|| Pos { line: e.line(), column: e.column() });
        // serde_json appends " at line L column C"; we print the position ourselves.
        let text = e.to_string();
        let message = match text.rfind(" at line ") {
            Some(i) => text[..i].to_string(),
            None => text,
        };
        syntax(source_name, pos, message)
    })?;
    let Value::Object(top) = value else {
        return Err(syntax(source_name, None, "a JSON configuration must be an object at the top level"));
    };
    let mut items = Vec::new();
    for (key, value) in top {
        match block_labels(&key) {
            Some(n) => expand_blocks(&key, &value, n, Vec::new(), None, &mut items)
                .map_err(|reason| invalid(source_name, &key, reason, None))?,
            None => items.push(Item { key, labels: Vec::new(), pos: None, kind: Kind::Value(value) }),
        }
    }
    Ok(items)
}

fn invalid(source_name: &str, key: &str, reason: String, pos: Option<Pos>) -> ConfigError {
    ConfigError::Invalid { file: source_name.to_string(), key: key.to_string(), reason, pos }
}

/// Reads a JSON value as HCL v1 does for a block taking `labels` labels: one object level per
/// label, and arrays anywhere meaning "several blocks".
fn expand_blocks(
    key: &str,
    value: &Value,
    labels: usize,
    seen: Vec<String>,
    pos: Option<Pos>,
    out: &mut Vec<Item>,
) -> Result<(), String> {
    match value {
        Value::Array(elements) => {
            for element in elements {
                expand_blocks(key, element, labels, seen.clone(), pos, out)?;
            }
            Ok(())
        }
        Value::Object(map) if seen.len() < labels => {
            for (label, inner) in map {
                let mut next = seen.clone();
                next.push(label.clone());
                expand_blocks(key, inner, labels, next, pos, out)?;
            }
            Ok(())
        }
        Value::Object(map) => {
            let body = map
                .iter()
                .map(|(k, v)| Item { key: k.clone(), labels: Vec::new(), pos, kind: Kind::Value(v.clone()) })
                .collect();
            out.push(Item { key: key.to_string(), labels: seen, pos, kind: Kind::Block(body) });
            Ok(())
        }
        _ => Err(if labels == 0 {
            "expected an object".to_string()
        } else {
            format!("expected an object keyed by the {key} type, e.g. {{\"{key}\": {{\"<type>\": {{...}}}}}}")
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// HCL

/// Turns byte offsets into line and column.
struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    fn new(src: &str) -> Lines {
        let mut starts = vec![0];
        starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        Lines { starts }
    }

    fn pos(&self, offset: usize) -> Pos {
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts.get(line.saturating_sub(1)).copied().unwrap_or(0);
        Pos { line, column: offset.saturating_sub(start) + 1 }
    }
}

fn parse_hcl(src: &str, source_name: &str) -> Result<Vec<Item>, ConfigError> {
    let body = hcl::edit::parser::parse_body(src).map_err(|e| {
        let loc = e.location();
        syntax(source_name, Some(Pos { line: loc.line(), column: loc.column() }), e.message())
    })?;
    let lines = Lines::new(src);
    let mut items = Vec::new();
    for item in body_items(&body, &lines, source_name, "")? {
        // `storage = { raft = { ... } }` is how HCL v1 also lets blocks be written.
        if let (Kind::Value(value @ (Value::Object(_) | Value::Array(_))), Some(n)) =
            (&item.kind, block_labels(&item.key))
        {
            expand_blocks(&item.key, value, n, Vec::new(), item.pos, &mut items)
                .map_err(|reason| invalid(source_name, &item.key, reason, item.pos))?;
        } else {
            items.push(item);
        }
    }
    Ok(items)
}

fn body_items(body: &Body, lines: &Lines, source_name: &str, prefix: &str) -> Result<Vec<Item>, ConfigError> {
    let mut items = Vec::new();
    for structure in body.iter() {
        match structure {
            Structure::Attribute(attr) => {
                let key = attr.key.as_str().to_string();
                let pos = attr.span().map(|r| lines.pos(r.start));
                let value = literal(&attr.value)
                    .map_err(|reason| invalid(source_name, &format!("{prefix}{key}"), reason, pos))?;
                items.push(Item { key, labels: Vec::new(), pos, kind: Kind::Value(value) });
            }
            Structure::Block(block) => {
                let key = block.ident.as_str().to_string();
                let labels: Vec<String> = block.labels.iter().map(|l| l.as_str().to_string()).collect();
                let mut path = format!("{prefix}{key}.");
                for label in &labels {
                    path.push_str(label);
                    path.push('.');
                }
                items.push(Item {
                    key,
                    labels,
                    pos: block.span().map(|r| lines.pos(r.start)),
                    kind: Kind::Block(body_items(&block.body, lines, source_name, &path)?),
                });
            }
        }
    }
    Ok(items)
}

const NOT_LITERAL: &str = "only literal values are allowed here (strings, numbers, booleans, lists, objects); \
     OpenBao's HCL has no expressions";

/// The JSON value of a literal HCL expression.
fn literal(expr: &Expression) -> Result<Value, String> {
    Ok(match expr {
        Expression::Null(_) => Value::Null,
        Expression::Bool(b) => Value::Bool(*b.value()),
        Expression::Number(n) => number(n.value())?,
        Expression::String(s) => Value::String(s.value().clone()),
        Expression::Array(array) => Value::Array(array.iter().map(literal).collect::<Result<_, _>>()?),
        Expression::Object(object) => {
            let mut map = Map::new();
            for (key, value) in object.iter() {
                let key = match key {
                    ObjectKey::Ident(ident) => ident.as_str().to_string(),
                    ObjectKey::Expression(Expression::String(s)) => s.value().clone(),
                    ObjectKey::Expression(_) => return Err("object keys must be names or quoted strings".into()),
                };
                map.insert(key, literal(value.expr())?);
            }
            Value::Object(map)
        }
        Expression::StringTemplate(template) => Value::String(template_literal(template)?),
        Expression::HeredocTemplate(heredoc) => Value::String(template_literal(&heredoc.template)?),
        Expression::Parenthesis(inner) => literal(inner.inner())?,
        Expression::UnaryOp(op) if *op.operator.value() == UnaryOperator::Neg => match literal(&op.expr)? {
            Value::Number(n) => negate(&n)?,
            _ => return Err(NOT_LITERAL.into()),
        },
        Expression::Variable(name) => {
            return Err(format!(
                "expected a literal value, found the bare name `{}` (quote it if it is a string)",
                name.value().as_str()
            ))
        }
        _ => return Err(NOT_LITERAL.into()),
    })
}

fn number(n: &hcl::Number) -> Result<Value, String> {
    if let Some(i) = n.as_i64() {
        Ok(Value::from(i))
    } else if let Some(u) = n.as_u64() {
        Ok(Value::from(u))
    } else {
        n.as_f64()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| "number out of range".to_string())
    }
}

fn negate(n: &serde_json::Number) -> Result<Value, String> {
    if let Some(i) = n.as_i64() {
        i.checked_neg().map(Value::from).ok_or_else(|| "number out of range".to_string())
    } else if let Some(f) = n.as_f64() {
        serde_json::Number::from_f64(-f).map(Value::Number).ok_or_else(|| "number out of range".to_string())
    } else {
        Err("number out of range".into())
    }
}

/// A template without interpolations or directives is just its text; HCL v1 would have kept
/// `${...}` verbatim, HCL 2 would evaluate it, so we refuse it rather than guess.
fn template_literal(template: &Template) -> Result<String, String> {
    let mut out = String::new();
    for element in template.iter() {
        match element {
            Element::Literal(text) => out.push_str(text.value()),
            Element::Interpolation(_) | Element::Directive(_) => {
                return Err("template interpolations (\"${...}\") and directives (\"%{...}\") are not supported; \
                     write the value literally (escape a literal \"${\" as \"$${\")"
                    .into())
            }
        }
    }
    Ok(out)
}

/// A block body (or a JSON object standing for one) as a JSON object, for stanzas whose
/// attributes are kept raw (seals). Nested blocks become nested objects keyed by their labels;
/// a key given several times becomes a list.
pub(crate) fn items_to_json(items: &[Item]) -> Map<String, Value> {
    let mut map = Map::new();
    for item in items {
        let mut value = match &item.kind {
            Kind::Value(v) => v.clone(),
            Kind::Block(body) => Value::Object(items_to_json(body)),
        };
        for label in item.labels.iter().rev() {
            let mut wrapped = Map::new();
            wrapped.insert(label.clone(), value);
            value = Value::Object(wrapped);
        }
        match map.get_mut(&item.key) {
            None => {
                map.insert(item.key.clone(), value);
            }
            Some(Value::Array(existing)) if matches!(item.kind, Kind::Block(_)) => existing.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_value(src: &str) -> Result<Value, ConfigError> {
        let items = parse(src, "t.hcl")?;
        match items.into_iter().next().map(|i| i.kind) {
            Some(Kind::Value(v)) => Ok(v),
            other => panic!("expected a value, got {other:?}"),
        }
    }

    /// Literal HCL values become the JSON values OpenBao's decoder would see.
    #[test]
    fn hcl_literals_become_json() {
        let cases: &[(&str, Value)] = &[
            ("a = 1", Value::from(1)),
            ("a = -5", Value::from(-5)),
            ("a = -(5)", Value::from(-5)),
            ("a = 1.5", Value::from(1.5)),
            ("a = true", Value::Bool(true)),
            ("a = null", Value::Null),
            ("a = \"x\"", Value::from("x")),
            ("a = \"$${x}\"", Value::from("${x}")),
            ("a = [1, \"b\"]", serde_json::json!([1, "b"])),
            ("a = { b = 1, \"c\" = 2 }", serde_json::json!({"b": 1, "c": 2})),
            ("a = <<EOT\nhi\nEOT\n", Value::from("hi\n")),
            ("a = <<-EOT\n    hi\n      there\n    EOT\n", Value::from("hi\n  there\n")),
        ];
        for (src, want) in cases {
            assert_eq!(&one_value(src).expect(src), want, "{src}");
        }
    }

    /// Expressions HCL 2 would evaluate are refused, naming the key and position.
    #[test]
    fn hcl_expressions_are_refused() {
        for src in
            ["a = \"x${b}\"", "a = b", "a = 1 + 2", "a = f(1)", "a = true ? 1 : 2", "a = \"%{if true}x%{endif}\""]
        {
            let err = one_value(src).expect_err(src).to_string();
            assert!(err.contains("t.hcl: a: "), "{src}: {err}");
            assert!(err.contains("(line 1, column 1)"), "{src}: {err}");
        }
    }

    /// Positions of keys are one-based lines and columns.
    #[test]
    fn positions_are_line_and_column() {
        let items = parse("a = 1\n\n  listener \"tcp\" {\n    address = \"x\"\n  }\n", "t.hcl").expect("parses");
        assert_eq!(items[0].pos, Some(Pos { line: 1, column: 1 }));
        assert_eq!(items[1].pos, Some(Pos { line: 3, column: 3 }));
        let Kind::Block(body) = &items[1].kind else { panic!("block") };
        assert_eq!(body[0].pos, Some(Pos { line: 4, column: 5 }));
    }

    /// JSON objects under block keys become blocks, arrays become several blocks.
    #[test]
    fn json_objects_become_blocks() {
        let src = r#"{"listener": [{"tcp": {"address": "a"}}, {"tcp": {"address": "b"}}], "storage": {"raft": {"path": "/d"}}, "x": 1}"#;
        let items = parse(src, "t.json").expect("parses");
        let listeners: Vec<_> = items.iter().filter(|i| i.key == "listener").collect();
        assert_eq!(listeners.len(), 2);
        assert_eq!(listeners[0].labels, vec!["tcp".to_string()]);
        let storage = items.iter().find(|i| i.key == "storage").expect("storage");
        assert_eq!(storage.labels, vec!["raft".to_string()]);
        assert!(matches!(storage.kind, Kind::Block(_)));
    }

    /// Syntax errors carry the parser's line and column, for both formats.
    #[test]
    fn syntax_errors_have_positions() {
        let err = parse("storage \"inmem\" {\nlistener \"tcp\" {\n", "a.hcl").expect_err("bad");
        assert!(matches!(err, ConfigError::Syntax { pos: Some(Pos { line: 2, .. }), .. }), "{err}");
        let err = parse("{\n\"a\": 1,\n}", "a.json").expect_err("bad");
        assert!(matches!(err, ConfigError::Syntax { pos: Some(Pos { line: 3, .. }), .. }), "{err}");
        assert!(
            err.to_string().starts_with("error loading configuration from a.json: syntax error at line 3"),
            "{err}"
        );
    }
}
