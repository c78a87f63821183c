//! Request fields converted as OpenBao's framework converts them (mapstructure's weak decoding),
//! with its error texts. OpenBao validates some routes' fields up front and prefixes their errors
//! with "Field validation failed: " ([`Input::strict`]); data and metadata writes convert lazily
//! and do not ([`Input::lazy`]).
use crate::go;
use coffer_logical::{LogicalError, Request, Response, Result};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

pub struct Input<'a> {
    req: &'a Request,
    strict: bool,
}

/// A map field: absent, JSON `null` (Go's nil map), or an object.
pub enum MapField {
    Absent,
    Null,
    Map(Map<String, Value>),
}

impl<'a> Input<'a> {
    pub fn strict(req: &'a Request) -> Self {
        Input { req, strict: true }
    }

    pub fn lazy(req: &'a Request) -> Self {
        Input { req, strict: false }
    }

    pub fn raw(&self, name: &str) -> Option<Value> {
        self.req.get(name)
    }

    pub fn error(&self, name: &str, msg: impl std::fmt::Display) -> LogicalError {
        LogicalError::InvalidRequest(format!(
            "{}error converting input for field {}: {msg}",
            if self.strict { "Field validation failed: " } else { "" },
            go::quote(name)
        ))
    }

    /// A `TypeInt` field; `null` and `""` read as 0.
    pub fn int(&self, name: &str) -> Result<Option<i64>> {
        match self.raw(name) {
            None => Ok(None),
            Some(v) => weak_int(&v).map(Some).map_err(|m| self.error(name, m)),
        }
    }

    /// A `TypeBool` field; `null` and `""` read as false.
    pub fn boolean(&self, name: &str) -> Result<Option<bool>> {
        let Some(v) = self.raw(name) else { return Ok(None) };
        let bad = || self.error(name, "'' cannot parse value as 'bool': strconv.ParseBool: invalid syntax");
        match &v {
            Value::Null => Ok(Some(false)),
            Value::Bool(b) => Ok(Some(*b)),
            Value::Number(n) => go::parse_bool(&n.to_string()).map(Some).ok_or_else(bad),
            Value::String(s) if s.is_empty() => Ok(Some(false)),
            Value::String(s) => go::parse_bool(s).map(Some).ok_or_else(bad),
            other => {
                Err(self
                    .error(name, format!("'' expected type 'bool', got unconvertible type '{}'", go::type_name(other))))
            }
        }
    }

    /// A `TypeDurationSecond` (`signed == false`) or `TypeSignedDurationSecond` field, in whole
    /// seconds; `null` counts as absent, as in OpenBao.
    pub fn duration_secs(&self, name: &str, signed: bool) -> Result<Option<i64>> {
        let Some(v) = self.raw(name) else { return Ok(None) };
        let secs = match &v {
            Value::Null => return Ok(None),
            Value::Number(n) => parse_duration_second(&n.to_string()),
            Value::String(s) => parse_duration_second(s),
            _ => Err("could not parse duration from input".to_string()),
        }
        .map_err(|m| self.error(name, m))?;
        if !signed && secs < 0 {
            return Err(self.error(name, format!("cannot provide negative value '{secs}'")));
        }
        Ok(Some(secs))
    }

    /// A `TypeMap` field.
    pub fn map(&self, name: &str) -> Result<MapField> {
        match self.raw(name) {
            None => Ok(MapField::Absent),
            Some(Value::Null) => Ok(MapField::Null),
            Some(v) => weak_map(&v).map(MapField::Map).map_err(|m| self.error(name, m)),
        }
    }

    /// A `TypeCommaIntSlice` field: an array, a comma-separated string or a single value.
    pub fn comma_ints(&self, name: &str) -> Result<Vec<i64>> {
        let items: Vec<Value> = match self.raw(name) {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(a)) => a,
            Some(Value::String(s)) => {
                s.split(',').map(str::trim).filter(|p| !p.is_empty()).map(|p| Value::String(p.into())).collect()
            }
            Some(other) => vec![other],
        };
        let mut out = Vec::with_capacity(items.len());
        let mut errors = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match weak_int(item) {
                Ok(n) => out.push(n),
                Err(m) => errors.push(m.replacen("''", &format!("'[{i}]'"), 1)),
            }
        }
        if !errors.is_empty() {
            return Err(
                self.error(name, format!("decoding failed due to the following error(s):\n\n{}", errors.join("\n")))
            );
        }
        Ok(out)
    }
}

/// mapstructure's weak decoding of a JSON value into a Go `int`, with its error text.
pub fn weak_int(v: &Value) -> std::result::Result<i64, String> {
    let parse = |s: &str| {
        go::parse_int_base0(s).map_err(|e| format!("'' cannot parse value as 'int': strconv.ParseInt: {}", e.text()))
    };
    match v {
        Value::Null => Ok(0),
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(i)
            } else if n.is_u64() {
                Err("'' cannot parse value as 'int': strconv.ParseInt: value out of range".into())
            } else {
                // A float: Go's ParseInt refuses "1.5" and "1e3" as syntax; serde keeps no text,
                // so an integral value beyond 64 bits is taken for a long integer literal.
                let f = n.as_f64().unwrap_or(0.0);
                if f.fract() == 0.0 && f.abs() >= 9.2e18 {
                    Err("'' cannot parse value as 'int': strconv.ParseInt: value out of range".into())
                } else {
                    Err("'' cannot parse value as 'int': strconv.ParseInt: invalid syntax".into())
                }
            }
        }
        Value::String(s) if s.is_empty() => Ok(0),
        Value::String(s) => parse(s),
        other => Err(format!("'' expected type 'int', got unconvertible type '{}'", go::type_name(other))),
    }
}

/// mapstructure's weak decoding into `map[string]interface{}`: an object, or an array of objects
/// merged in order (as Go's decoder does).
pub fn weak_map(v: &Value) -> std::result::Result<Map<String, Value>, String> {
    fn merge_into(out: &mut Map<String, Value>, v: &Value, at: &str) -> std::result::Result<(), String> {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    out.insert(k.clone(), v.clone());
                }
                Ok(())
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    merge_into(out, item, &format!("{at}[{i}]"))?;
                }
                Ok(())
            }
            other => Err(format!(
                "'{at}' expected type 'map[string]interface {{}}', got unconvertible type '{}'",
                go::type_name(other)
            )),
        }
    }
    let mut out = Map::new();
    merge_into(&mut out, v, "")?;
    Ok(out)
}

/// go-secure-stdlib's `ParseDurationSecond` on a string (JSON numbers arrive as their text),
/// truncated to whole seconds as the framework does.
pub fn parse_duration_second(s: &str) -> std::result::Result<i64, String> {
    if s.is_empty() {
        return Ok(0);
    }
    if let Ok(v) = go::parse_int_base10(s) {
        return Ok(v);
    }
    if let Some(days) = s.strip_suffix('d') {
        return match go::parse_int_base10(days) {
            Ok(v) => Ok(v.saturating_mul(86_400)),
            Err(e) => Err(format!("strconv.ParseInt: parsing {}: {}", go::quote(days), e.text())),
        };
    }
    let nanos = go::parse_duration(s)?;
    Ok((nanos / 1_000_000_000) as i64)
}

/// A value of a `custom_metadata` map, weakly decoded to a Go string.
pub fn weak_string(v: &Value) -> std::result::Result<String, String> {
    match v {
        Value::Null => Ok(String::new()),
        Value::Bool(b) => Ok(if *b { "1" } else { "0" }.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        Value::String(s) => Ok(s.clone()),
        other => Err(format!("'' expected type 'string', got unconvertible type '{}'", go::type_name(other))),
    }
}

/// The request's parameter names (body and query) that are not among `known`, sorted.
/// `consumed` names query parameters the HTTP layer already acted on (`list`, `scan`).
pub fn unknown_params(req: &Request, known: &[&str], consumed: &[&str]) -> Vec<String> {
    let mut names: BTreeSet<String> = req.data.keys().filter(|k| !known.contains(&k.as_str())).cloned().collect();
    for (k, _) in &req.query {
        if !known.contains(&k.as_str()) && !consumed.contains(&k.as_str()) {
            names.insert(k.clone());
        }
    }
    names.into_iter().collect()
}

/// Adds OpenBao's warning about ignored parameters to a response that has a body (OpenBao adds
/// none to an empty 204 response).
pub fn warn_unknown(mut resp: Response, unknown: &[String]) -> Response {
    if !unknown.is_empty() && !resp.is_empty() {
        resp.warnings.push(format!("Endpoint ignored these unrecognized parameters: [{}]", unknown.join(" ")));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Integers decode weakly (bools, numeric strings, "" as 0) and refuse floats as Go does.
    #[test]
    fn weak_ints() {
        assert_eq!(weak_int(&json!(true)), Ok(1));
        assert_eq!(weak_int(&json!("0x10")), Ok(16));
        assert_eq!(weak_int(&json!("")), Ok(0));
        assert_eq!(weak_int(&json!(null)), Ok(0));
        assert_eq!(
            weak_int(&json!(1.5)),
            Err("'' cannot parse value as 'int': strconv.ParseInt: invalid syntax".into())
        );
        assert_eq!(
            weak_int(&json!([1])),
            Err("'' expected type 'int', got unconvertible type '[]interface {}'".into())
        );
    }

    /// Maps decode from objects and from arrays of objects (merged), and name the failing element.
    #[test]
    fn weak_maps() {
        assert_eq!(
            weak_map(&json!([{"a": 1}, {"b": 2}])),
            Ok(json!({"a": 1, "b": 2}).as_object().cloned().unwrap_or_default())
        );
        assert_eq!(weak_map(&json!([])), Ok(Map::new()));
        assert_eq!(
            weak_map(&json!([[1]])),
            Err("'[0][0]' expected type 'map[string]interface {}', got unconvertible type 'json.Number'".into())
        );
        assert_eq!(
            weak_map(&json!("s")),
            Err("'' expected type 'map[string]interface {}', got unconvertible type 'string'".into())
        );
    }

    /// Durations in seconds accept integers, day suffixes and Go durations, truncating to seconds.
    #[test]
    fn duration_seconds() {
        assert_eq!(parse_duration_second("10"), Ok(10));
        assert_eq!(parse_duration_second("5d"), Ok(432_000));
        assert_eq!(parse_duration_second("1.5h"), Ok(5400));
        assert_eq!(parse_duration_second("100ms"), Ok(0));
        assert_eq!(parse_duration_second("-1"), Ok(-1));
        assert_eq!(parse_duration_second("abc"), Err("time: invalid duration \"abc\"".into()));
    }
}
