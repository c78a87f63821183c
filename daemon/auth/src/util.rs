//! Small helpers shared by the auth methods: JSON records in a view, names, list responses.
use crate::token_params::internal;
use coffer_logical::{LogicalError, Response, Result, View};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::{json, Map};

/// Reads a JSON record; a record that does not decode is an internal error naming the key.
pub async fn get_json<T: DeserializeOwned>(view: &View, key: &str) -> Result<Option<T>> {
    match view.get(key).await? {
        None => Ok(None),
        Some(bytes) => {
            serde_json::from_slice(&bytes).map(Some).map_err(|e| internal(format!("failed to decode {key:?}: {e}")))
        }
    }
}

pub fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| internal(format!("failed to encode record: {e}")))
}

pub async fn put_json<T: Serialize>(view: &View, key: &str, value: &T) -> Result<()> {
    view.put(key, &to_json(value)?).await?;
    Ok(())
}

/// OpenBao's `framework.GenericNameRegex`: `\w(([\w-.]+)?\w)?` (ASCII word characters, with
/// `-` and `.` allowed inside).
pub fn valid_name(s: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let bytes: Vec<char> = s.chars().collect();
    match (bytes.first(), bytes.last()) {
        (Some(&first), Some(&last)) => {
            word(first) && word(last) && bytes.iter().all(|&c| word(c) || c == '-' || c == '.')
        }
        _ => false,
    }
}

/// A LIST response; OpenBao answers an empty list with 404 and no errors.
pub fn list_response(keys: Vec<String>) -> Result<Response> {
    if keys.is_empty() {
        return Err(LogicalError::NotFound);
    }
    let mut data = Map::new();
    data.insert("keys".into(), json!(keys));
    Ok(Response::data(data))
}

#[cfg(test)]
mod tests {
    use super::valid_name;

    #[test]
    fn names_follow_generic_name_regex() {
        for ok in ["a", "a.b-c_d", "UPPER", "x1", "_"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "-x", "x.", "a b", "a/b", "é"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
