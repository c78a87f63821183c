//! Reading raw values the way OpenBao's `parseutil` does. Each error is the reason only; the
//! caller adds the file and key.

use std::time::Duration;

use serde_json::Value;

use crate::duration::{parse_duration, seconds};

/// `parseutil.ParseBool`: booleans, Go's `strconv.ParseBool` strings (`"1"`, `"t"`, `"true"`,
/// `"TRUE"`, ...), the empty string as false, numbers as "not zero".
pub(crate) fn as_bool(v: &Value) -> Result<bool, String> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) => Ok(n.as_f64().is_some_and(|f| f != 0.0)),
        Value::String(s) => match s.as_str() {
            "" | "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
            _ => Err(format!("invalid boolean {s:?} (expected true or false)")),
        },
        other => Err(format!("expected a boolean, found {}", kind(other))),
    }
}

/// A string setting; numbers are taken as their text, as HCL v1 decoding does.
pub(crate) fn as_string(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(format!("expected a string, found {}", kind(other))),
    }
}

/// `parseutil.ParseInt`: integers and integer strings.
pub(crate) fn as_int(v: &Value) -> Result<i64, String> {
    match v {
        Value::Number(n) => n.as_i64().ok_or_else(|| format!("expected a whole number, found {n}")),
        Value::String(s) => s.trim().parse().map_err(|_| format!("expected a whole number, found {s:?}")),
        other => Err(format!("expected a whole number, found {}", kind(other))),
    }
}

/// `parseutil.ParseDurationSecond`: duration strings (see [`parse_duration`]) and numbers of
/// seconds (fractions are truncated, as in Go). Negative values are refused.
pub(crate) fn as_duration(v: &Value) -> Result<Duration, String> {
    match v {
        Value::String(s) => parse_duration(s),
        Value::Number(n) => {
            let secs = match n.as_i64() {
                Some(i) => i,
                None => match n.as_f64() {
                    Some(f) if (0.0..9.3e9).contains(&f) => f.trunc() as i64,
                    Some(f) if f < 0.0 => -1,
                    _ => i64::MAX,
                },
            };
            seconds(secs).map_err(|why| format!("{why} {n}"))
        }
        other => {
            Err(format!("could not parse duration from {} (expected e.g. \"90s\" or a number of seconds)", kind(other)))
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Booleans are read as OpenBao reads `tls_disable = "1"` and friends.
    #[test]
    fn bools_follow_parseutil() {
        for v in [json!(true), json!("true"), json!("1"), json!("t"), json!("TRUE"), json!(1), json!(2)] {
            assert_eq!(as_bool(&v), Ok(true), "{v}");
        }
        for v in [json!(false), json!("false"), json!("0"), json!("F"), json!(""), json!(0)] {
            assert_eq!(as_bool(&v), Ok(false), "{v}");
        }
        for v in [json!("yes"), json!("on"), json!([true]), json!(null)] {
            assert!(as_bool(&v).is_err(), "{v}");
        }
    }

    /// Numbers of seconds work as durations; negative numbers do not.
    #[test]
    fn numeric_durations_are_seconds() {
        assert_eq!(as_duration(&json!(90)), Ok(Duration::from_secs(90)));
        assert_eq!(as_duration(&json!(1.9)), Ok(Duration::from_secs(1)));
        assert!(as_duration(&json!(-5)).is_err());
        assert!(as_duration(&json!(-0.5)).is_err());
        assert!(as_duration(&json!(1e300)).is_err());
        assert!(as_duration(&json!(true)).is_err());
    }

    /// Integers may be given as strings, as OpenBao allows for `max_request_size`.
    #[test]
    fn ints_accept_strings() {
        assert_eq!(as_int(&json!("-5")), Ok(-5));
        assert_eq!(as_int(&json!(100)), Ok(100));
        assert!(as_int(&json!("1k")).is_err());
        assert!(as_int(&json!(1.5)).is_err());
    }
}
