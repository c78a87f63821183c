//! Go library behaviour that OpenBao's policy parser relies on, reproduced with its error texts:
//! `time.ParseDuration`, `parseutil.ParseDurationSecond`, `parseutil.ParseAbsoluteTime`,
//! `strconv.ParseInt` and `strutil.GlobbedStringsMatch`.

/// Go's `strconv.Quote` for the strings that appear in error messages.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `strconv.ParseInt(s, base, 64)` for base 10 and base 0 (prefixes 0x, 0o, 0b, 0).
pub(crate) fn parse_int(s: &str, base0: bool) -> Result<i64, String> {
    let syntax = || format!("strconv.ParseInt: parsing {}: invalid syntax", go_quote(s));
    let range = || format!("strconv.ParseInt: parsing {}: value out of range", go_quote(s));
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return Err(syntax());
    }
    let (radix, digits) = if base0 {
        let lower = body.to_ascii_lowercase();
        if lower.starts_with("0x") {
            (16, &body[2..])
        } else if lower.starts_with("0o") {
            (8, &body[2..])
        } else if lower.starts_with("0b") {
            (2, &body[2..])
        } else if body.len() > 1 && body.starts_with('0') {
            (8, &body[1..])
        } else {
            (10, body)
        }
    } else {
        (10, body)
    };
    let digits: String = if base0 { digits.replace('_', "") } else { digits.to_string() };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(syntax());
    }
    let mag = u128::from_str_radix(&digits, radix).map_err(|_| range())?;
    let v: i128 = if neg { -(mag as i128) } else { mag as i128 };
    i64::try_from(v).map_err(|_| range())
}

const NS: i128 = 1;
const US: i128 = 1_000;
const MS: i128 = 1_000_000;
const SEC: i128 = 1_000_000_000;
const MIN: i128 = 60 * SEC;
const HOUR: i128 = 60 * MIN;

/// Go's `time.ParseDuration`, in nanoseconds.
pub(crate) fn go_parse_duration(orig: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", go_quote(orig));
    let mut s = orig;
    let mut neg = false;
    if let Some(rest) = s.strip_prefix('-') {
        neg = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: i128 = 0;
    while !s.is_empty() {
        let b = s.as_bytes();
        if !(b[0] == b'.' || b[0].is_ascii_digit()) {
            return Err(invalid());
        }
        let int_end = b.iter().position(|c| !c.is_ascii_digit()).unwrap_or(b.len());
        let int_part = &s[..int_end];
        s = &s[int_end..];
        let pre = !int_part.is_empty();
        let mut frac_part = "";
        if let Some(rest) = s.strip_prefix('.') {
            let fe = rest.as_bytes().iter().position(|c| !c.is_ascii_digit()).unwrap_or(rest.len());
            frac_part = &rest[..fe];
            s = &rest[fe..];
        }
        if !pre && frac_part.is_empty() {
            return Err(invalid());
        }
        let unit_end = s.as_bytes().iter().position(|c| *c == b'.' || c.is_ascii_digit()).unwrap_or(s.len());
        let unit = &s[..unit_end];
        s = &s[unit_end..];
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration {}", go_quote(orig)));
        }
        let mult = match unit {
            "ns" => NS,
            "us" | "µs" | "μs" => US,
            "ms" => MS,
            "s" => SEC,
            "m" => MIN,
            "h" => HOUR,
            _ => return Err(format!("time: unknown unit {} in duration {}", go_quote(unit), go_quote(orig))),
        };
        let v: i128 = if int_part.is_empty() { 0 } else { int_part.parse::<i128>().map_err(|_| invalid())? };
        let mut d = v.checked_mul(mult).ok_or_else(invalid)?;
        if !frac_part.is_empty() {
            let mut scale: i128 = 1;
            let mut f: i128 = 0;
            for c in frac_part.bytes().take(30) {
                f = f * 10 + i128::from(c - b'0');
                scale *= 10;
            }
            d += f * mult / scale;
        }
        total = total.checked_add(d).ok_or_else(invalid)?;
        if total > i128::from(i64::MAX) + 1 {
            return Err(invalid());
        }
    }
    if neg {
        total = -total;
    }
    i64::try_from(total).map_err(|_| invalid())
}

/// A duration value as written in a policy (`min_wrapping_ttl`): a string, an integer or a float.
pub(crate) enum DurationInput<'a> {
    Str(&'a str),
    Int(i64),
    Float(f64),
    Other,
}

/// `parseutil.ParseDurationSecond`: bare integers are seconds, `Nd` is days, otherwise Go's
/// duration syntax. Nanoseconds.
pub(crate) fn parse_duration_second(input: DurationInput<'_>) -> Result<i64, String> {
    match input {
        DurationInput::Str(s) => {
            let s = s.trim();
            if s.is_empty() {
                return Ok(0);
            }
            if let Ok(v) = parse_int(s, false) {
                return Ok(v.saturating_mul(1_000_000_000));
            }
            if let Some(days) = s.strip_suffix('d') {
                let v = parse_int(days, false)?;
                return Ok(v.saturating_mul(86_400_000_000_000));
            }
            go_parse_duration(s)
        }
        DurationInput::Int(v) => Ok(v.saturating_mul(1_000_000_000)),
        DurationInput::Float(f) => Ok((f.trunc() as i64).saturating_mul(1_000_000_000)),
        DurationInput::Other => Err("could not parse duration from input".into()),
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn num(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// RFC 3339 (with optional fractional seconds) to Unix seconds.
fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let year = i64::from(num(s.get(0..4)?)?);
    let month = num(s.get(5..7)?)?;
    let day = num(s.get(8..10)?)?;
    let hour = i64::from(num(s.get(11..13)?)?);
    let min = i64::from(num(s.get(14..16)?)?);
    let sec = i64::from(num(s.get(17..19)?)?);
    if !(1..=12).contains(&month) || day == 0 || day > 31 || hour > 23 || min > 59 || sec > 59 {
        return None;
    }
    let mut rest = s.get(19..)?;
    if let Some(r) = rest.strip_prefix('.') {
        let n = r.bytes().position(|c| !c.is_ascii_digit()).unwrap_or(r.len());
        if n == 0 {
            return None;
        }
        rest = &r[n..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return None;
            }
            let oh = i64::from(num(rest.get(1..3)?)?);
            let om = i64::from(num(rest.get(4..6)?)?);
            sign * (oh * 3600 + om * 60)
        }
    };
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec - offset)
}

/// `parseutil.ParseAbsoluteTime` for strings: RFC 3339 or integer Unix seconds.
pub(crate) fn parse_absolute_time(s: &str) -> Result<i64, String> {
    if let Some(t) = parse_rfc3339(s) {
        return Ok(t);
    }
    if let Ok(v) = parse_int(s, false) {
        return Ok(v);
    }
    Err("could not parse string as date and time".into())
}

/// `strutil.GlobbedStringsMatch`: `*` at the start and/or end of `item` globs; a one-character
/// item (including `"*"` alone) must match exactly.
pub(crate) fn globbed_strings_match(item: &str, val: &str) -> bool {
    if item.len() < 2 {
        return val == item;
    }
    let prefix = item.starts_with('*');
    let suffix = item.ends_with('*');
    match (prefix, suffix) {
        (true, true) => val.contains(&item[1..item.len() - 1]),
        (true, false) => val.ends_with(&item[1..]),
        (false, true) => val.starts_with(&item[..item.len() - 1]),
        (false, false) => val == item,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Go's duration grammar and its three error texts.
    #[test]
    fn durations_follow_go() {
        assert_eq!(go_parse_duration("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(go_parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(go_parse_duration("-5s"), Ok(-5_000_000_000));
        assert_eq!(go_parse_duration("abc"), Err("time: invalid duration \"abc\"".into()));
        assert_eq!(go_parse_duration("1.5"), Err("time: missing unit in duration \"1.5\"".into()));
        assert_eq!(go_parse_duration("5x"), Err("time: unknown unit \"x\" in duration \"5x\"".into()));
        assert_eq!(parse_duration_second(DurationInput::Str("90")), Ok(90_000_000_000));
        assert_eq!(parse_duration_second(DurationInput::Str("1d")), Ok(86_400_000_000_000));
        assert_eq!(
            parse_duration_second(DurationInput::Str("bad")),
            Err("strconv.ParseInt: parsing \"ba\": invalid syntax".into())
        );
        assert_eq!(parse_duration_second(DurationInput::Other), Err("could not parse duration from input".into()));
    }

    /// RFC 3339 and Unix seconds are absolute times; anything else is refused with OpenBao's text.
    #[test]
    fn absolute_times() {
        assert_eq!(parse_absolute_time("1970-01-02T00:00:00Z"), Ok(86_400));
        assert_eq!(parse_absolute_time("2020-01-01T01:00:00+01:00"), Ok(1_577_836_800));
        assert_eq!(parse_absolute_time("2020-01-01T00:00:00.123Z"), Ok(1_577_836_800));
        assert_eq!(parse_absolute_time("123"), Ok(123));
        assert_eq!(parse_absolute_time("nope"), Err("could not parse string as date and time".into()));
    }

    /// Value globs: prefix, suffix and infix `*`; a lone `*` matches only itself.
    #[test]
    fn value_globs() {
        assert!(globbed_strings_match("v2*", "v2-beta"));
        assert!(globbed_strings_match("*-beta", "v2-beta"));
        assert!(globbed_strings_match("*2-b*", "v2-beta"));
        assert!(!globbed_strings_match("v3*", "v2-beta"));
        assert!(globbed_strings_match("*", "*"));
        assert!(!globbed_strings_match("*", "anything"));
    }
}
