//! JSON merge patch (RFC 7396), as KV v2's PATCH applies it to the current version.
use serde_json::{Map, Value};

/// Applies `patch` to `target`: an object patch merges key by key (a `null` member removes the
/// key, nested objects merge recursively); any other patch replaces the target.
pub fn merge_patch(target: Value, patch: &Value) -> Value {
    match patch {
        Value::Object(members) => {
            let mut out = match target {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            for (k, v) in members {
                if v.is_null() {
                    out.remove(k);
                } else {
                    let current = out.remove(k).unwrap_or(Value::Null);
                    out.insert(k.clone(), merge_patch(current, v));
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::merge_patch;
    use serde_json::json;

    /// The examples of RFC 7396 appendix A hold.
    #[test]
    fn rfc7396_examples() {
        let cases = [
            (json!({"a":"b"}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"b"}), json!({"b":"c"}), json!({"a":"b","b":"c"})),
            (json!({"a":"b"}), json!({"a":null}), json!({})),
            (json!({"a":"b","b":"c"}), json!({"a":null}), json!({"b":"c"})),
            (json!({"a":["b"]}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"c"}), json!({"a":["b"]}), json!({"a":["b"]})),
            (json!({"a":{"b":"c"}}), json!({"a":{"b":"d","c":null}}), json!({"a":{"b":"d"}})),
            (json!({"a":[{"b":"c"}]}), json!({"a":[1]}), json!({"a":[1]})),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a":"b"}), json!(["c"]), json!(["c"])),
            (json!({"a":"foo"}), json!(null), json!(null)),
            (json!({"a":"foo"}), json!("bar"), json!("bar")),
            (json!({"e":null}), json!({"a":1}), json!({"e":null,"a":1})),
            (json!([1, 2]), json!({"a":"b","c":null}), json!({"a":"b"})),
            (json!({}), json!({"a":{"bb":{"ccc":null}}}), json!({"a":{"bb":{}}})),
        ];
        for (target, patch, expected) in cases {
            assert_eq!(merge_patch(target.clone(), &patch), expected, "{target} + {patch}");
        }
    }
}
