//! Output formatting that reproduces the `bao` CLI byte for byte: Go's `json.MarshalIndent`,
//! Go's `%v` for decoded JSON values, `columnize` tables, `kr/text` word wrapping, and Go's
//! duration and time renderings.

use serde_json::Value;

/// The widest line the CLI wraps text to (`maxLineLength` in bao).
pub(crate) const MAX_LINE_LENGTH: usize = 78;

/// The column delimiter bao uses internally ("hope" it never appears in a secret).
pub(crate) const HOPE_DELIM: &str = "♨";

/// A JSON value whose object keys keep the order they were built in, so that Go structs
/// (fields in declaration order) and Go maps (keys sorted) can both be reproduced.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum J {
    Null,
    Bool(bool),
    /// A number as its literal text (Go decodes with `UseNumber`, keeping the literal).
    Num(String),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    pub(crate) fn str(s: impl Into<String>) -> J {
        J::Str(s.into())
    }

    pub(crate) fn int(i: i64) -> J {
        J::Num(i.to_string())
    }

    /// A decoded JSON value as Go re-encodes a `map[string]interface{}`: keys sorted.
    pub(crate) fn from_value(v: &Value) -> J {
        match v {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Number(n) => J::Num(n.to_string()),
            Value::String(s) => J::Str(s.clone()),
            Value::Array(a) => J::Arr(a.iter().map(J::from_value).collect()),
            Value::Object(m) => {
                let mut entries: Vec<(String, J)> = m.iter().map(|(k, v)| (k.clone(), J::from_value(v))).collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                J::Obj(entries)
            }
        }
    }

    /// An optional list of strings: `null` when absent, as Go encodes a nil slice.
    pub(crate) fn str_list(v: Option<&[String]>) -> J {
        match v {
            None => J::Null,
            Some(items) => J::Arr(items.iter().map(|s| J::Str(s.clone())).collect()),
        }
    }
}

/// `json.MarshalIndent(v, "", "  ")` (no trailing newline).
pub(crate) fn go_json_pretty(v: &J) -> String {
    let mut out = String::new();
    write_json(&mut out, v, 0);
    out
}

/// `json.Marshal(v)`: compact.
pub(crate) fn go_json_compact(v: &J) -> String {
    let mut out = String::new();
    write_json_compact(&mut out, v);
    out
}

fn write_json(out: &mut String, v: &J, depth: usize) {
    match v {
        J::Arr(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline_indent(out, depth + 1);
                write_json(out, item, depth + 1);
            }
            newline_indent(out, depth);
            out.push(']');
        }
        J::Obj(entries) if !entries.is_empty() => {
            out.push('{');
            for (i, (k, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline_indent(out, depth + 1);
                write_json_string(out, k);
                out.push_str(": ");
                write_json(out, item, depth + 1);
            }
            newline_indent(out, depth);
            out.push('}');
        }
        other => write_json_compact(out, other),
    }
}

fn newline_indent(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str("  ");
    }
}

fn write_json_compact(out: &mut String, v: &J) {
    match v {
        J::Null => out.push_str("null"),
        J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        J::Num(n) => out.push_str(n),
        J::Str(s) => write_json_string(out, s),
        J::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_compact(out, item);
            }
            out.push(']');
        }
        J::Obj(entries) => {
            out.push('{');
            for (i, (k, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(out, k);
                out.push(':');
                write_json_compact(out, item);
            }
            out.push('}');
        }
    }
}

/// Go's string encoding, including its HTML-safe escapes of `<`, `>`, `&`, U+2028 and U+2029.
fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Go's `fmt.Sprintf("%v", v)` for a value decoded from JSON with `UseNumber`.
pub(crate) fn go_v(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(go_v).collect();
            format!("[{}]", parts.join(" "))
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> =
                keys.iter().map(|k| format!("{}:{}", k, m.get(*k).map(go_v).unwrap_or_default())).collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

/// Go's `%q` of a `[]string`: `["a" "b"]`.
pub(crate) fn go_q_list(items: &[String]) -> String {
    let parts: Vec<String> = items.iter().map(|s| crate::flags::go_quote(s)).collect();
    format!("[{}]", parts.join(" "))
}

/// `columnize.Format` as bao configures it: cells split on `delim` and trimmed, empty cells
/// shown as "n/a", columns joined by four spaces, the last column unpadded. Widths count
/// characters (Go pads by runes).
pub(crate) fn columnize(lines: &[String], delim: &str) -> String {
    let rows: Vec<Vec<String>> = lines
        .iter()
        .map(|line| {
            line.split(delim)
                .map(|cell| {
                    let t = cell.trim();
                    if t.is_empty() {
                        "n/a".to_string()
                    } else {
                        t.to_string()
                    }
                })
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = Vec::new();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            let w = cell.chars().count();
            match widths.get_mut(i) {
                Some(existing) if *existing < w => *existing = w,
                Some(_) => {}
                None => widths.push(w),
            }
        }
    }
    let mut out = String::new();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if i + 1 == row.len() {
                out.push('\n');
            } else {
                let pad = widths[i].saturating_sub(cell.chars().count());
                out.push_str(&" ".repeat(pad));
                out.push_str("    ");
            }
        }
    }
    if out.ends_with('\n') {
        out.pop();
    }
    out
}

/// bao's `tableOutput`: the first line is the header, underlined with dashes per column.
pub(crate) fn table_output(lines: &[String], delim: &str) -> String {
    let Some(header) = lines.first() else {
        return String::new();
    };
    let underline: Vec<String> = header.split(delim).map(|h| "-".repeat(h.trim().len())).collect();
    let mut all = Vec::with_capacity(lines.len() + 1);
    all.push(header.clone());
    all.push(underline.join(delim));
    all.extend(lines[1..].iter().cloned());
    columnize(&all, delim)
}

/// `kr/text.Wrap`: splits on single spaces (newlines become spaces) and breaks lines with
/// minimal raggedness, lengths counted in bytes.
pub(crate) fn kr_wrap(s: &str, lim: usize) -> String {
    let text = s.trim().replace('\n', " ");
    let words: Vec<&str> = text.split(' ').collect();
    let n = words.len();
    if n == 0 {
        return String::new();
    }
    let lim = lim as i64;
    let pen: i64 = 100_000;
    // length(i, j) = bytes of words[i..=j] joined by single spaces.
    let mut prefix = vec![0i64; n + 1];
    for (i, w) in words.iter().enumerate() {
        prefix[i + 1] = prefix[i] + w.len() as i64;
    }
    let length = |i: usize, j: usize| prefix[j + 1] - prefix[i] + (j - i) as i64;
    let mut cost = vec![i64::from(i32::MAX); n];
    let mut nbrk = vec![n; n];
    for i in (0..n).rev() {
        if length(i, n - 1) <= lim || i == n - 1 {
            cost[i] = 0;
            nbrk[i] = n;
        } else {
            for j in (i + 1)..n {
                let d = lim - length(i, j - 1);
                let mut c = d * d + cost[j];
                if length(i, j - 1) > lim {
                    c += pen;
                }
                if c < cost[i] {
                    cost[i] = c;
                    nbrk[i] = j;
                }
            }
        }
    }
    let mut lines = Vec::new();
    let mut i = 0;
    while i < n {
        let end = nbrk[i].max(i + 1);
        lines.push(words[i..end].join(" "));
        i = end;
    }
    lines.join("\n")
}

/// bao's `wrapAtLengthWithPadding`.
pub(crate) fn wrap_at_length_with_padding(s: &str, pad: usize) -> String {
    let wrapped = kr_wrap(s, MAX_LINE_LENGTH.saturating_sub(pad));
    let padding = " ".repeat(pad);
    wrapped.split('\n').map(|l| format!("{padding}{l}")).collect::<Vec<_>>().join("\n")
}

/// bao's `wrapAtLength`.
pub(crate) fn wrap_at_length(s: &str) -> String {
    wrap_at_length_with_padding(s, 0)
}

/// Whether bao renders a field with this name as a duration.
pub(crate) fn looks_like_duration(k: &str) -> bool {
    k == "period"
        || k.ends_with("_period")
        || k == "ttl"
        || k.ends_with("_ttl")
        || k == "duration"
        || k.ends_with("_duration")
        || k == "lease_max"
        || k == "ttl_max"
}

/// Go's `time.Duration(secs * 1s).String()` with bao's `humanDuration` trimming of zero units.
pub(crate) fn human_duration_secs(secs: i64) -> String {
    if secs == 0 {
        return "0s".to_string();
    }
    let neg = secs < 0;
    let abs = secs.unsigned_abs();
    let (h, m, s) = (abs / 3600, (abs % 3600) / 60, abs % 60);
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if h > 0 {
        out.push_str(&format!("{h}h{m}m{s}s"));
    } else if m > 0 {
        out.push_str(&format!("{m}m{s}s"));
    } else {
        out.push_str(&format!("{s}s"));
    }
    if out.ends_with("m0s") {
        out.truncate(out.len() - 2);
    }
    if let Some(idx) = out.find("h0m") {
        if idx > 0 {
            out.replace_range(idx + 1..idx + 3, "");
        }
    }
    out
}

/// bao's `humanDurationInt`: integers become durations, anything else prints as `%v`.
pub(crate) fn human_duration_value(v: &Value) -> String {
    // Go overflows past ~292 years of seconds; such values are shown as they are.
    const MAX_SECS: i64 = i64::MAX / 1_000_000_000;
    match v {
        Value::Number(n) => match n.as_i64() {
            Some(i) if (-MAX_SECS..=MAX_SECS).contains(&i) => human_duration_secs(i),
            _ => go_v(v),
        },
        other => go_v(other),
    }
}

/// Go's `time.Time` renderings of an RFC 3339 timestamp from the server.
pub(crate) mod gotime {
    use time::format_description::well_known::Rfc3339;
    use time::{OffsetDateTime, UtcOffset};

    fn parse(s: &str) -> Option<OffsetDateTime> {
        OffsetDateTime::parse(s, &Rfc3339).ok()
    }

    fn frac(nanos: u32) -> String {
        if nanos == 0 {
            return String::new();
        }
        let digits = format!("{nanos:09}");
        format!(".{}", digits.trim_end_matches('0'))
    }

    fn offset_colon(o: UtcOffset) -> String {
        if o.is_utc() {
            return "Z".to_string();
        }
        let (h, m, _) = o.as_hms();
        let sign = if o.is_negative() { '-' } else { '+' };
        format!("{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs())
    }

    /// `time.RFC3339Nano` as Go marshals a `time.Time` (trailing zeros of the fraction
    /// dropped). Unparseable input is returned unchanged.
    pub(crate) fn rfc3339_nano(s: &str) -> String {
        let Some(t) = parse(s) else {
            return s.to_string();
        };
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}{}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            frac(t.nanosecond()),
            offset_colon(t.offset())
        )
    }

    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

    /// `t.UTC().Format(time.RFC822)`: "02 Jan 06 15:04 UTC".
    pub(crate) fn rfc822_utc(s: &str) -> String {
        let Some(t) = parse(s) else {
            return s.to_string();
        };
        let t = t.to_offset(UtcOffset::UTC);
        let month = MONTHS[usize::from(u8::from(t.month())) - 1];
        format!("{:02} {} {:02} {:02}:{:02} UTC", t.day(), month, t.year().rem_euclid(100), t.hour(), t.minute())
    }

    /// `t.String()`: "2006-01-02 15:04:05.999999999 -0700 MST" (zone "UTC" for UTC, the
    /// numeric offset otherwise).
    pub(crate) fn go_string(s: &str) -> String {
        let Some(t) = parse(s) else {
            return s.to_string();
        };
        let o = t.offset();
        let (h, m, _) = o.as_hms();
        let sign = if o.is_negative() { '-' } else { '+' };
        let num = format!("{sign}{:02}{:02}", h.unsigned_abs(), m.unsigned_abs());
        let zone = if o.is_utc() { "UTC".to_string() } else { num.clone() };
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}{} {} {}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            frac(t.nanosecond()),
            num,
            zone
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// JSON output matches Go's MarshalIndent: two-space indent, "{}"/"[]" for empties,
    /// sorted map keys and HTML-safe escapes.
    #[test]
    fn go_json_matches_marshal_indent() {
        let v = J::from_value(&json!({"b": [1, "x"], "a": {}, "c": [], "d": null, "e": "<&>\u{2028}\u{8}\u{1}"}));
        assert_eq!(
            go_json_pretty(&v),
            "{\n  \"a\": {},\n  \"b\": [\n    1,\n    \"x\"\n  ],\n  \"c\": [],\n  \"d\": null,\n  \"e\": \"\\u003c\\u0026\\u003e\\u2028\\b\\u0001\"\n}"
        );
        assert_eq!(
            go_json_compact(&v),
            "{\"a\":{},\"b\":[1,\"x\"],\"c\":[],\"d\":null,\"e\":\"\\u003c\\u0026\\u003e\\u2028\\b\\u0001\"}"
        );
    }

    /// `%v` renders nested maps sorted as `map[k:v]`, slices as `[a b]`, nil as `<nil>`.
    #[test]
    fn go_v_matches_fmt() {
        let v = json!({"metadata": {"version": 1, "custom_metadata": null, "deletion_time": "", "z": [1, true]}});
        assert_eq!(go_v(&v), "map[metadata:map[custom_metadata:<nil> deletion_time: version:1 z:[1 true]]]");
        assert_eq!(go_q_list(&["default".to_string()]), "[\"default\"]");
        assert_eq!(go_q_list(&[]), "[]");
    }

    /// A bao secret table: header, dashes, padded first column, "n/a" for empty cells.
    #[test]
    fn table_matches_bao() {
        let lines = vec![
            format!("Key{HOPE_DELIM}Value"),
            format!("created_time {HOPE_DELIM} 2026-11-28T03:01:09Z"),
            format!("deletion_time {HOPE_DELIM} "),
            format!("custom_metadata {HOPE_DELIM} <nil>"),
        ];
        assert_eq!(
            table_output(&lines, HOPE_DELIM),
            "Key                Value\n---                -----\ncreated_time       2026-11-28T03:01:09Z\ndeletion_time      n/a\ncustom_metadata    <nil>"
        );
        let list = vec!["Keys".to_string(), "foo".to_string()];
        assert_eq!(table_output(&list, HOPE_DELIM), "Keys\n----\nfoo");
        assert_eq!(table_output(&[], HOPE_DELIM), "");
    }

    /// Wrapping follows kr/text's minimum-raggedness breaks, which differ from greedy ones
    /// (this paragraph is bao's own init advice, as bao prints it).
    #[test]
    fn wrap_matches_kr_text() {
        let s = "It is possible to generate new unseal keys, provided you have a quorum of existing unseal keys shares. See \"bao operator rotate-keys\" for more information.";
        assert_eq!(
            wrap_at_length(s),
            "It is possible to generate new unseal keys, provided you have a quorum\nof existing unseal keys shares. See \"bao operator rotate-keys\" for more\ninformation."
        );
        let s = "Vault initialized with 3 key shares and a key threshold of 2. Please securely distribute the key shares printed above. When the Vault is re-sealed, restarted, or stopped, you must supply at least 2 of these keys to unseal it before it can start servicing requests.";
        assert_eq!(
            wrap_at_length(s),
            "Vault initialized with 3 key shares and a key threshold of 2. Please securely\ndistribute the key shares printed above. When the Vault is re-sealed,\nrestarted, or stopped, you must supply at least 2 of these keys to unseal it\nbefore it can start servicing requests."
        );
        assert_eq!(wrap_at_length_with_padding("* short", 2), "  * short");
        assert_eq!(wrap_at_length(""), "");
        let long = "x".repeat(100);
        assert_eq!(wrap_at_length(&long), long);
    }

    /// Durations read like Go's with bao's zero-unit trimming.
    #[test]
    fn durations_match_bao() {
        assert_eq!(human_duration_secs(0), "0s");
        assert_eq!(human_duration_secs(2_764_800), "768h");
        assert_eq!(human_duration_secs(3600), "1h");
        assert_eq!(human_duration_secs(3605), "1h5s");
        assert_eq!(human_duration_secs(3660), "1h1m");
        assert_eq!(human_duration_secs(90), "1m30s");
        assert_eq!(human_duration_secs(300), "5m");
        assert_eq!(human_duration_secs(-5), "-5s");
        assert_eq!(human_duration_value(&json!("1h")), "1h");
        assert_eq!(human_duration_value(&json!(1.5)), "1.5");
        assert_eq!(human_duration_value(&json!(i64::MAX)), i64::MAX.to_string());
    }

    /// Timestamps render as Go renders a parsed time.Time.
    #[test]
    fn times_match_go() {
        assert_eq!(gotime::rfc3339_nano("2026-11-28T03:00:45.089614670Z"), "2026-11-28T03:00:45.08961467Z");
        assert_eq!(gotime::rfc3339_nano("2026-11-28T03:00:45.000Z"), "2026-11-28T03:00:45Z");
        assert_eq!(gotime::rfc3339_nano("2026-11-28T03:00:45+02:00"), "2026-11-28T03:00:45+02:00");
        assert_eq!(gotime::rfc822_utc("2026-11-28T03:00:45.08Z"), "28 Nov 26 03:00 UTC");
        assert_eq!(gotime::rfc822_utc("2026-11-28T01:00:45+02:00"), "27 Nov 26 23:00 UTC");
        assert_eq!(gotime::go_string("2026-11-28T03:02:18.204277806Z"), "2026-11-28 03:02:18.204277806 +0000 UTC");
        assert_eq!(gotime::rfc3339_nano("garbage"), "garbage");
    }
}
