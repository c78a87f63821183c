//! Go's spellings, so that responses and error texts read exactly as OpenBao's: RFC 3339 times
//! with trimmed nanoseconds, `time.Duration.String()`, `strconv.ParseInt(s, 0, 64)`,
//! `strconv.ParseBool`, `time.ParseDuration`, `strconv.Quote` and go-multierror's list format.

/// Unix nanoseconds as Go's `time.RFC3339Nano` prints a UTC time: trailing zeros of the
/// fraction dropped, no fraction at all when it is zero.
pub fn rfc3339_nano(unix_nanos: i64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_nanos)) else {
        return String::new();
    };
    if !(0..=9999).contains(&t.year()) {
        let mut out = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
        push_fraction(&mut out, t.nanosecond());
        out.push('Z');
        return out;
    }
    // Every response of a KV v2 secret carries such times: digits are written directly rather
    // than through `format!`.
    let mut out = String::with_capacity(30);
    push_digits(&mut out, t.year() as u32, 4);
    out.push('-');
    push_digits(&mut out, u32::from(u8::from(t.month())), 2);
    out.push('-');
    push_digits(&mut out, u32::from(t.day()), 2);
    out.push('T');
    push_digits(&mut out, u32::from(t.hour()), 2);
    out.push(':');
    push_digits(&mut out, u32::from(t.minute()), 2);
    out.push(':');
    push_digits(&mut out, u32::from(t.second()), 2);
    push_fraction(&mut out, t.nanosecond());
    out.push('Z');
    out
}

/// `.` and the nanoseconds without trailing zeros; nothing when they are zero.
fn push_fraction(out: &mut String, nanos: u32) {
    if nanos == 0 {
        return;
    }
    let mut digits = 9;
    let mut n = nanos;
    while n.is_multiple_of(10) {
        n /= 10;
        digits -= 1;
    }
    out.push('.');
    push_digits(out, n, digits);
}

/// `n` in decimal, zero-padded to `width` digits (`n` must fit in them).
fn push_digits(out: &mut String, n: u32, width: usize) {
    let mut buf = [b'0'; 10];
    let mut n = n;
    for slot in buf[..width].iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend(buf[..width].iter().map(|&b| char::from(b)));
}

/// `time.Duration.String()` for a whole number of seconds: "0s", "10s", "1m30s", "2h0m0s", "-1s".
pub fn duration_secs_string(secs: i64) -> String {
    if secs == 0 {
        return "0s".to_string();
    }
    let sign = if secs < 0 { "-" } else { "" };
    let abs = secs.unsigned_abs();
    let (h, m, s) = (abs / 3600, (abs % 3600) / 60, abs % 60);
    if h > 0 {
        format!("{sign}{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{sign}{m}m{s}s")
    } else {
        format!("{sign}{s}s")
    }
}

/// Why `strconv.ParseInt` refused its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntError {
    Syntax,
    Range,
}

impl IntError {
    pub fn text(self) -> &'static str {
        match self {
            IntError::Syntax => "invalid syntax",
            IntError::Range => "value out of range",
        }
    }
}

/// `strconv.ParseInt(s, 0, 64)`: optional sign, then `0x`/`0o`/`0b`/leading-`0` (octal) prefixes,
/// underscores allowed between digits when a prefix gives the base.
pub fn parse_int_base0(s: &str) -> Result<i64, IntError> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return Err(IntError::Syntax);
    }
    let lower = body.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(rest) = lower.strip_prefix("0x") {
        (16, rest.to_string(), true)
    } else if let Some(rest) = lower.strip_prefix("0o") {
        (8, rest.to_string(), true)
    } else if let Some(rest) = lower.strip_prefix("0b") {
        (2, rest.to_string(), true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string(), true)
    } else {
        (10, lower, false)
    };
    // Go's integer-literal syntax: underscores between digits (or right after a base prefix),
    // never doubled or trailing.
    if digits.ends_with('_') || digits.contains("__") || (!prefixed && digits.starts_with('_')) {
        return Err(IntError::Syntax);
    }
    let digits = digits.replace('_', "");
    if digits.is_empty() {
        return Err(IntError::Syntax);
    }
    let mut value: u128 = 0;
    for c in digits.chars() {
        let d = c.to_digit(radix).ok_or(IntError::Syntax)?;
        value = value * u128::from(radix) + u128::from(d);
        if value > u128::from(u64::MAX) {
            // Keep scanning for syntax errors, as Go reports those first.
            value = u128::from(u64::MAX) + 1;
        }
    }
    if neg {
        if value > i64::MAX as u128 + 1 {
            return Err(IntError::Range);
        }
        Ok((-(value as i128)) as i64)
    } else {
        i64::try_from(value).map_err(|_| IntError::Range)
    }
}

/// `strconv.ParseInt(s, 10, 64)`.
pub fn parse_int_base10(s: &str) -> Result<i64, IntError> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IntError::Syntax);
    }
    s.parse::<i64>().map_err(|_| IntError::Range)
}

/// `strconv.ParseBool`.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// `time.ParseDuration`, in nanoseconds (an `i128`, so no overflow for Go's range).
pub fn parse_duration(orig: &str) -> Result<i128, String> {
    let invalid = || format!("time: invalid duration {}", quote(orig));
    let mut s = orig;
    let mut neg = false;
    if let Some(c) = s.chars().next() {
        if c == '-' || c == '+' {
            neg = c == '-';
            s = &s[1..];
        }
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: i128 = 0;
    while !s.is_empty() {
        let first = s.as_bytes()[0];
        if !(first == b'.' || first.is_ascii_digit()) {
            return Err(invalid());
        }
        let int_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let int_part = &s[..int_end];
        s = &s[int_end..];
        let mut frac_part = "";
        if let Some(rest) = s.strip_prefix('.') {
            let frac_end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
            frac_part = &rest[..frac_end];
            s = &rest[frac_end..];
            if int_part.is_empty() && frac_part.is_empty() {
                return Err(invalid());
            }
        } else if int_part.is_empty() {
            return Err(invalid());
        }
        let unit_end = s.find(|c: char| c == '.' || c.is_ascii_digit()).unwrap_or(s.len());
        if unit_end == 0 {
            return Err(format!("time: missing unit in duration {}", quote(orig)));
        }
        let unit = &s[..unit_end];
        s = &s[unit_end..];
        let unit_nanos: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(format!("time: unknown unit {} in duration {}", quote(unit), quote(orig))),
        };
        let whole: i128 = if int_part.is_empty() { 0 } else { int_part.parse().map_err(|_| invalid())? };
        let mut value = whole.checked_mul(unit_nanos).ok_or_else(invalid)?;
        if !frac_part.is_empty() {
            let frac: f64 = format!("0.{frac_part}").parse().map_err(|_| invalid())?;
            value += (frac * unit_nanos as f64) as i128;
        }
        total = total.checked_add(value).ok_or_else(invalid)?;
        if total > i128::from(i64::MAX) {
            return Err(invalid());
        }
    }
    Ok(if neg { -total } else { total })
}

/// Go's `unicode.IsPrint` (close enough: controls, non-ASCII spaces, format characters and
/// private-use characters are not printable).
pub fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    !matches!(u,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E
        | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB | 0xE000..=0xF8FF
        | 0xF0000..=0x10FFFF)
}

/// `strconv.Quote`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if is_print(c) => out.push(c),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// go-multierror's `Error()` text.
pub fn multierror(errors: &[String]) -> String {
    let head =
        if errors.len() == 1 { "1 error occurred:".to_string() } else { format!("{} errors occurred:", errors.len()) };
    let mut out = head;
    for e in errors {
        out.push_str("\n\t* ");
        out.push_str(e);
    }
    out.push_str("\n\n");
    out
}

/// The Go type mapstructure names when it cannot convert a JSON value.
pub fn type_name(v: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(_) => "json.Number",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Times print as Go's RFC3339Nano: trailing zeros trimmed, no dot for whole seconds.
    #[test]
    fn rfc3339_matches_go() {
        assert_eq!(rfc3339_nano(1_795_827_322_944_526_352), "2026-11-28T00:55:22.944526352Z");
        assert_eq!(rfc3339_nano(1_795_827_322_944_526_000), "2026-11-28T00:55:22.944526Z");
        assert_eq!(rfc3339_nano(1_795_827_322_000_000_000), "2026-11-28T00:55:22Z");
        assert_eq!(rfc3339_nano(1_795_827_322_284_080_830), "2026-11-28T00:55:22.28408083Z");
    }

    /// The digit-by-digit writer prints exactly what `format!` does, over times spread from
    /// 1970 to 2262 with every count of trailing zeros in the fraction.
    #[test]
    fn rfc3339_fast_path_equals_format() {
        let reference = |unix_nanos: i64| {
            let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_nanos)).expect("in range");
            let mut out = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            );
            if t.nanosecond() != 0 {
                out.push('.');
                out.push_str(format!("{:09}", t.nanosecond()).trim_end_matches('0'));
            }
            out.push('Z');
            out
        };
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..20_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let nanos = (x % (i64::MAX as u64)) as i64;
            let rounded = nanos - nanos % 10_i64.pow((i % 10) as u32);
            assert_eq!(rfc3339_nano(rounded), reference(rounded), "{rounded}");
        }
        assert_eq!(rfc3339_nano(0), "1970-01-01T00:00:00Z");
    }

    /// Durations print as Go's `Duration.String()` does for whole seconds.
    #[test]
    fn durations_match_go() {
        assert_eq!(duration_secs_string(0), "0s");
        assert_eq!(duration_secs_string(10), "10s");
        assert_eq!(duration_secs_string(90), "1m30s");
        assert_eq!(duration_secs_string(3600), "1h0m0s");
        assert_eq!(duration_secs_string(5430), "1h30m30s");
        assert_eq!(duration_secs_string(432_000), "120h0m0s");
        assert_eq!(duration_secs_string(-1), "-1s");
    }

    /// ParseInt with base 0 accepts Go's prefixes and refuses what Go refuses.
    #[test]
    fn parse_int_like_go() {
        assert_eq!(parse_int_base0("12"), Ok(12));
        assert_eq!(parse_int_base0("-3"), Ok(-3));
        assert_eq!(parse_int_base0("0x10"), Ok(16));
        assert_eq!(parse_int_base0("010"), Ok(8));
        assert_eq!(parse_int_base0("0b11"), Ok(3));
        assert_eq!(parse_int_base0("1_000"), Ok(1000));
        assert_eq!(parse_int_base0("1__0"), Err(IntError::Syntax));
        assert_eq!(parse_int_base0("0x1_0"), Ok(16));
        assert_eq!(parse_int_base0(" 2"), Err(IntError::Syntax));
        assert_eq!(parse_int_base0("2.0"), Err(IntError::Syntax));
        assert_eq!(parse_int_base0("99999999999999999999"), Err(IntError::Range));
        assert_eq!(parse_int_base0("-9223372036854775808"), Ok(i64::MIN));
    }

    /// ParseDuration accepts Go's units and names its failures as Go does.
    #[test]
    fn parse_duration_like_go() {
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_duration("1.5h"), Ok(5_400_000_000_000));
        assert_eq!(parse_duration("100ms"), Ok(100_000_000));
        assert_eq!(parse_duration("-1s"), Ok(-1_000_000_000));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("abc"), Err("time: invalid duration \"abc\"".into()));
        assert_eq!(parse_duration("3600.5"), Err("time: missing unit in duration \"3600.5\"".into()));
        assert_eq!(parse_duration("5x"), Err("time: unknown unit \"x\" in duration \"5x\"".into()));
    }

    /// go-multierror's layout, singular and plural.
    #[test]
    fn multierror_layout() {
        assert_eq!(multierror(&["a".into()]), "1 error occurred:\n\t* a\n\n");
        assert_eq!(multierror(&["a".into(), "b".into()]), "2 errors occurred:\n\t* a\n\t* b\n\n");
    }

    /// strconv.Quote escapes controls and keeps printable text.
    #[test]
    fn quote_like_go() {
        assert_eq!(quote("a\"b"), "\"a\\\"b\"");
        assert_eq!(quote("x\u{1}"), "\"x\\x01\"");
        assert_eq!(quote("é"), "\"é\"");
    }
}
