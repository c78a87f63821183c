//! JSON exactly as Go's `encoding/json` encoder writes it, so Coffer's lines are byte-compatible
//! with OpenBao's: `<`, `>`, `&`, U+2028 and U+2029 escaped as `\u003c`…; floats in Go's format
//! (`1e-7`, `1e+21`, `12345678901234567000`); map keys sorted bytewise; RFC 3339 times as Go's
//! `time.RFC3339Nano` / `time.RFC3339` print them.

use std::io;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::ser::Formatter;
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// serde_json formatter with Go's string escaping and float format (compact otherwise).
pub(crate) struct GoFormatter;

impl Formatter for GoFormatter {
    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(go_float(value).as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        writer.write_all(go_float(f64::from(value)).as_bytes())
    }

    fn write_string_fragment<W: ?Sized + io::Write>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()> {
        // serde_json already escapes `"`, `\` and control characters (with `\b`, `\f`, `\n`,
        // `\r`, `\t` and `\u00xx`, as Go does); Go's HTML-safe encoder also escapes these.
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let esc: &[u8] = match c {
                '<' => b"\\u003c",
                '>' => b"\\u003e",
                '&' => b"\\u0026",
                '\u{2028}' => b"\\u2028",
                '\u{2029}' => b"\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..i])?;
            writer.write_all(esc)?;
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

/// A float as Go's `encoding/json` writes a float64.
pub(crate) fn go_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Go: strconv 'e' format (`1e-07`, `1e+21`), then `e-07` trimmed to `e-7`.
        let s = format!("{f:e}");
        match s.split_once('e') {
            Some((mant, exp)) if !exp.starts_with('-') => format!("{mant}e+{exp}"),
            _ => s,
        }
    } else {
        // Rust's shortest round-trip digits, never with an exponent: Go's 'f' format.
        format!("{f}")
    }
}

/// Serializes a JSON value with object keys sorted (as Go sorts map keys), whatever the
/// `serde_json` map ordering features are.
pub(crate) struct Sorted<'a>(pub &'a Value);

impl Serialize for Sorted<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(m) => SortedMap(m).serialize(s),
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for v in a {
                    seq.serialize_element(&Sorted(v))?;
                }
                seq.end()
            }
            other => other.serialize(s),
        }
    }
}

/// An object with keys sorted.
pub(crate) struct SortedMap<'a>(pub &'a Map<String, Value>);

impl Serialize for SortedMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut keys: Vec<&String> = self.0.keys().collect();
        keys.sort_unstable();
        let mut map = s.serialize_map(Some(keys.len()))?;
        for k in keys {
            if let Some(v) = self.0.get(k) {
                map.serialize_entry(k, &Sorted(v))?;
            }
        }
        map.end()
    }
}

/// Encodes a value with [`GoFormatter`] (no trailing newline).
pub(crate) fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(2048);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
    value.serialize(&mut ser)?;
    Ok(out)
}

/// Go's `t.UTC().Format(time.RFC3339Nano)`: fraction with trailing zeros removed, none if zero.
pub(crate) fn rfc3339_nano_utc(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let nanos = t.nanosecond();
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Go's `t.Format(time.RFC3339)`: whole seconds, `Z` for UTC, `±hh:mm` otherwise.
pub(crate) fn rfc3339_seconds(t: OffsetDateTime) -> String {
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let off = t.offset();
    if off.is_utc() {
        s.push('Z');
    } else {
        let (h, m, _) = off.as_hms();
        let sign = if off.is_negative() { '-' } else { '+' };
        s.push_str(&format!("{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs()));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Floats print as Go prints float64 (values seen in OpenBao's own audit lines).
    #[test]
    fn floats_match_go() {
        assert_eq!(go_float(1.0), "1");
        assert_eq!(go_float(1.5), "1.5");
        assert_eq!(go_float(0.0), "0");
        assert_eq!(go_float(1e-7), "1e-7");
        assert_eq!(go_float(1.5e-10), "1.5e-10");
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(-2.5e300), "-2.5e+300");
        assert_eq!(go_float(12345678901234567890u64 as f64), "12345678901234567000");
        assert_eq!(go_float(1e20), "100000000000000000000");
        assert_eq!(go_float(0.000001), "0.000001");
    }

    /// Strings are escaped as Go's HTML-safe encoder does (seen in a raw OpenBao line).
    #[test]
    fn strings_escape_like_go() {
        let v = Value::String("<&>\u{2028}\u{8}\u{1}é\"\\\n\t\u{c}\u{7f}".into());
        let out = String::from_utf8(to_vec(&Sorted(&v)).expect("encode")).expect("utf8");
        assert_eq!(out, "\"\\u003c\\u0026\\u003e\\u2028\\b\\u0001é\\\"\\\\\\n\\t\\f\u{7f}\"");
    }

    /// Object keys come out sorted at every depth.
    #[test]
    fn keys_are_sorted() {
        let v: Value = serde_json::json!({"b": 1, "a": {"z": [ {"y": 1, "x": 2} ], "c": null}});
        let out = String::from_utf8(to_vec(&Sorted(&v)).expect("encode")).expect("utf8");
        assert_eq!(out, r#"{"a":{"c":null,"z":[{"x":2,"y":1}]},"b":1}"#);
    }

    /// Times print as Go's RFC3339Nano and RFC3339 layouts.
    #[test]
    fn times_match_go() {
        let t = time::macros::datetime!(2026-11-28 00:55:23.149401020 UTC);
        assert_eq!(rfc3339_nano_utc(t), "2026-11-28T00:55:23.14940102Z");
        let t0 = time::macros::datetime!(2026-11-28 00:55:11 UTC);
        assert_eq!(rfc3339_nano_utc(t0), "2026-11-28T00:55:11Z");
        assert_eq!(rfc3339_seconds(t), "2026-11-28T00:55:23Z");
        let t2 = time::macros::datetime!(2026-11-28 02:55:23.5 +02:00);
        assert_eq!(rfc3339_seconds(t2), "2026-11-28T02:55:23+02:00");
        assert_eq!(rfc3339_nano_utc(t2), "2026-11-28T00:55:23.5Z");
    }
}
