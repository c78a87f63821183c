//! `key=value` arguments as bao's `kv-builder` reads them: `k=v`, `k=@file`, `k=\@literal`,
//! `k=-` (all of stdin), a lone `-` or `@file` (a JSON object merged in), and repeated keys
//! collected into lists.

use serde_json::{Map, Value};

use crate::tls::go_io_error;
use crate::Env;

struct Builder<'a> {
    env: &'a Env,
    result: Map<String, Value>,
    stdin_used: bool,
}

/// Parses the arguments into a JSON object; errors have bao's wording
/// (`invalid key/value pair "b": format must be key=value`).
pub(crate) fn parse_args_data(env: &Env, args: &[String]) -> Result<Map<String, Value>, String> {
    let mut b = Builder { env, result: Map::new(), stdin_used: false };
    for a in args {
        b.add(a).map_err(|e| format!("invalid key/value pair {}: {e}", crate::flags::go_quote(a)))?;
    }
    Ok(b.result)
}

/// The same arguments as lists of strings (for query parameters of read and delete).
pub(crate) fn parse_args_string_lists(env: &Env, args: &[String]) -> Result<Vec<(String, String)>, String> {
    let map = parse_args_data(env, args)?;
    let mut out = Vec::new();
    for (k, v) in map {
        match v {
            Value::Array(items) => {
                for item in items {
                    out.push((k.clone(), weak_string(&item)?));
                }
            }
            other => out.push((k, weak_string(&other)?)),
        }
    }
    Ok(out)
}

/// The arguments as bao's `parseArgsDataString`: each value weakly converted to a string
/// (a repeated key cannot be).
pub(crate) fn parse_args_string_map(
    env: &Env,
    args: &[String],
) -> Result<std::collections::BTreeMap<String, String>, String> {
    let map = parse_args_data(env, args)?;
    let mut out = std::collections::BTreeMap::new();
    for (k, v) in map {
        let text = match &v {
            Value::Array(_) | Value::Object(_) => Err(format!(
                "failed to convert values to strings: 1 error(s) decoding:\n\n* '[{k}]' expected type 'string', got unconvertible type '{}', value: '{}'",
                if v.is_array() { "[]interface {}" } else { "map[string]interface {}" },
                crate::output::go_v(&v)
            )),
            other => weak_string(other),
        }?;
        out.insert(k, text);
    }
    Ok(out)
}

/// mapstructure's weak decoding of a scalar into a string.
fn weak_string(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(if *b { "1" } else { "0" }.to_string()),
        Value::Null => Ok(String::new()),
        _ => Err("failed to convert values to strings: unsupported type for a query parameter".to_string()),
    }
}

impl Builder<'_> {
    fn add(&mut self, raw: &str) -> Result<(), String> {
        if raw.is_empty() {
            return Ok(());
        }
        let Some((key, value)) = raw.split_once('=') else {
            if raw == "-" {
                self.take_stdin()?;
                let bytes = self.env.read_stdin().map_err(|e| e.to_string())?;
                return self.merge_json(&bytes);
            }
            if let Some(path) = raw.strip_prefix('@') {
                let bytes = std::fs::read(path).map_err(|e| go_io_error("open", path, &e))?;
                return self.merge_json(&bytes);
            }
            return Err("format must be key=value".to_string());
        };
        let value = if let Some(path) = value.strip_prefix('@') {
            let bytes =
                std::fs::read(path).map_err(|e| format!("error reading file: {}", go_io_error("open", path, &e)))?;
            String::from_utf8_lossy(&bytes).into_owned()
        } else if value.starts_with("\\@") {
            value[1..].to_string()
        } else if value == "-" {
            self.take_stdin()?;
            let bytes = self.env.read_stdin().map_err(|e| e.to_string())?;
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            value.to_string()
        };
        match self.result.remove(key) {
            Some(Value::Array(mut items)) => {
                items.push(Value::String(value));
                self.result.insert(key.to_string(), Value::Array(items));
            }
            Some(existing) => {
                self.result.insert(key.to_string(), Value::Array(vec![existing, Value::String(value)]));
            }
            None => {
                self.result.insert(key.to_string(), Value::String(value));
            }
        }
        Ok(())
    }

    fn take_stdin(&mut self) -> Result<(), String> {
        if self.stdin_used {
            return Err("stdin already consumed".to_string());
        }
        self.stdin_used = true;
        Ok(())
    }

    /// Decodes one JSON object and merges its keys in (Go's `Decoder.Decode` into a map).
    fn merge_json(&mut self, bytes: &[u8]) -> Result<(), String> {
        let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<Value>();
        match stream.next() {
            None => Err("EOF".to_string()),
            Some(Err(e)) if e.is_eof() => Err("unexpected EOF".to_string()),
            Some(Err(e)) => Err(e.to_string()),
            Some(Ok(Value::Object(m))) => {
                self.result.extend(m);
                Ok(())
            }
            Some(Ok(Value::Null)) => Ok(()),
            Some(Ok(other)) => Err(format!(
                "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                match other {
                    Value::Bool(_) => "bool",
                    Value::Number(_) => "number",
                    Value::String(_) => "string",
                    _ => "array",
                }
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// Plain pairs, repeated keys, escaped `@` and stdin values behave as in bao.
    #[test]
    fn pairs_files_and_stdin() {
        let env = Env::empty().with_stdin("from stdin");
        let m = parse_args_data(&env, &args(&["a=b", "c=1", "c=2", "c=3", "d=\\@x", "e=-", "", "f=x=y"]));
        assert_eq!(
            m.map(Value::Object),
            Ok(json!({"a": "b", "c": ["1", "2", "3"], "d": "@x", "e": "from stdin", "f": "x=y"}))
        );
        let dir = tempfile::tempdir().ok();
        if let Some(dir) = dir {
            let p = dir.path().join("v.txt");
            let _ = std::fs::write(&p, "file value\n");
            let arg = format!("k=@{}", p.display());
            assert_eq!(parse_args_data(&env, &[arg]).map(Value::Object), Ok(json!({"k": "file value\n"})));
            let j = dir.path().join("v.json");
            let _ = std::fs::write(&j, "{\"data\": {\"x\": 1}}");
            let arg = format!("@{}", j.display());
            assert_eq!(
                parse_args_data(&env, &[arg, "z=1".into()]).map(Value::Object),
                Ok(json!({"data": {"x": 1}, "z": "1"}))
            );
        }
    }

    /// A lone "-" merges a JSON object from stdin; errors carry bao's wording.
    #[test]
    fn stdin_json_and_errors() {
        let env = Env::empty().with_stdin("{\"data\":{\"x\":\"y\"}}");
        assert_eq!(parse_args_data(&env, &args(&["-"])).map(Value::Object), Ok(json!({"data": {"x": "y"}})));
        assert_eq!(
            parse_args_data(&env, &args(&["-", "a=-"])),
            Err("invalid key/value pair \"a=-\": stdin already consumed".to_string())
        );
        assert_eq!(parse_args_data(&Env::empty(), &args(&["-"])), Err("invalid key/value pair \"-\": EOF".to_string()));
        assert_eq!(
            parse_args_data(&Env::empty(), &args(&["b"])),
            Err("invalid key/value pair \"b\": format must be key=value".to_string())
        );
        assert_eq!(
            parse_args_data(&Env::empty(), &args(&["k=@/nonexistent"])),
            Err("invalid key/value pair \"k=@/nonexistent\": error reading file: open /nonexistent: no such file or directory".to_string())
        );
        let env = Env::empty().with_stdin("[1]");
        assert!(parse_args_data(&env, &args(&["-"])).is_err());
    }

    /// Query parameters are flattened lists of strings.
    #[test]
    fn string_lists() {
        let env = Env::empty();
        assert_eq!(
            parse_args_string_lists(&env, &args(&["x=1", "x=2", "y=3"])),
            Ok(vec![
                ("x".to_string(), "1".to_string()),
                ("x".to_string(), "2".to_string()),
                ("y".to_string(), "3".to_string())
            ])
        );
    }
}
