//! Durations as OpenBao writes them (`parseutil.ParseDurationSecond`), minus negative values.
//!
//! Accepted: Go duration strings (`"90s"`, `"1h30m"`, `"1.5h"`, `"500ms"`, `"5us"`, `"5µs"`),
//! a whole number of days (`"7d"`; `d` is only valid alone, as in OpenBao), and a bare integer
//! or integer string meaning seconds (`3600`, `"3600"`). The empty string is zero, as in
//! OpenBao, where zero means "use the default". Negative durations are refused: OpenBao accepts
//! some of them and then behaves inconsistently, and no Coffer setting means anything negative.

use std::time::Duration;

/// Go's `time.Duration` is an `i64` of nanoseconds; nothing larger is meaningful to OpenBao.
const MAX_NANOS: u128 = i64::MAX as u128;

/// Parses an OpenBao duration. The error is the reason only (the caller adds file and key).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    if s.is_empty() {
        return Ok(Duration::ZERO);
    }
    if let Ok(secs) = s.parse::<i64>() {
        return seconds(secs).map_err(|why| format!("{why} {s:?}"));
    }
    if let Some(days) = s.strip_suffix('d') {
        let days: i64 = days.parse().map_err(|_| format!("invalid duration {s:?}"))?;
        let secs = days.checked_mul(86_400).ok_or_else(|| format!("duration {s:?} is out of range"))?;
        return seconds(secs).map_err(|why| format!("{why} {s:?}"));
    }
    go_duration(s)
}

/// Whole seconds, as OpenBao reads integers; refuses negatives and values Go cannot hold.
pub(crate) fn seconds(secs: i64) -> Result<Duration, &'static str> {
    if secs < 0 {
        return Err("negative duration is not allowed:");
    }
    let secs = secs.unsigned_abs();
    if u128::from(secs) * 1_000_000_000 > MAX_NANOS {
        return Err("duration is out of range:");
    }
    Ok(Duration::from_secs(secs))
}

/// Go's `time.ParseDuration`: `[-+]?(\d*(\.\d*)?unit)+`, or `0`.
fn go_duration(s: &str) -> Result<Duration, String> {
    let invalid = || format!("invalid duration {s:?}");
    let (negative, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        // Integer part.
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_digits, after_int) = rest.split_at(int_len);
        // Optional fraction.
        let (frac_digits, after_num) = match after_int.strip_prefix('.') {
            Some(f) => {
                let frac_len = f.bytes().take_while(u8::is_ascii_digit).count();
                f.split_at(frac_len)
            }
            None => ("", after_int),
        };
        if int_digits.is_empty() && frac_digits.is_empty() {
            return Err(invalid());
        }
        // Unit: everything up to the next digit or '.'.
        let unit_len =
            after_num.char_indices().find(|(_, c)| c.is_ascii_digit() || *c == '.').map_or(after_num.len(), |(i, _)| i);
        let (unit, next) = after_num.split_at(unit_len);
        if unit.is_empty() {
            return Err(format!("missing unit in duration {s:?}"));
        }
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "\u{00b5}s" | "\u{03bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60 * 1_000_000_000,
            "h" => 3_600 * 1_000_000_000,
            _ => return Err(format!("unknown unit {unit:?} in duration {s:?}")),
        };
        let out_of_range = || format!("duration {s:?} is out of range");
        let int_value: u128 = if int_digits.is_empty() { 0 } else { int_digits.parse().map_err(|_| out_of_range())? };
        let mut nanos = int_value.checked_mul(unit_nanos).ok_or_else(out_of_range)?;
        if !frac_digits.is_empty() {
            // Only as many fraction digits as can matter at nanosecond precision.
            let digits = &frac_digits[..frac_digits.len().min(18)];
            let frac: u128 = digits.parse().map_err(|_| invalid())?;
            let scale = 10u128.pow(u32::try_from(digits.len()).map_err(|_| invalid())?);
            nanos += frac * unit_nanos / scale;
        }
        total = total.checked_add(nanos).ok_or_else(out_of_range)?;
        if total > MAX_NANOS {
            return Err(out_of_range());
        }
        rest = next;
    }
    if negative && total > 0 {
        return Err(format!("negative duration is not allowed: {s:?}"));
    }
    let total = u64::try_from(total).map_err(|_| format!("duration {s:?} is out of range"))?;
    Ok(Duration::from_nanos(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    /// Every form OpenBao's parseutil accepts (and we keep) maps to the same value it does.
    #[test]
    fn accepted_forms_match_openbao() {
        let table: &[(&str, Duration)] = &[
            ("", Duration::ZERO),
            ("0", Duration::ZERO),
            ("+0", Duration::ZERO),
            ("-0", Duration::ZERO),
            ("0s", Duration::ZERO),
            ("90s", secs(90)),
            ("90", secs(90)),
            ("3600", secs(3600)),
            ("+5s", secs(5)),
            ("1h30m", secs(5400)),
            ("1h30m15s", secs(5415)),
            ("1.5h", secs(5400)),
            (".5s", Duration::from_millis(500)),
            ("1.s", secs(1)),
            ("500ms", Duration::from_millis(500)),
            ("5us", Duration::from_micros(5)),
            ("5\u{00b5}s", Duration::from_micros(5)),
            ("5\u{03bc}s", Duration::from_micros(5)),
            ("7ns", Duration::from_nanos(7)),
            ("7d", secs(7 * 86_400)),
            ("0d", Duration::ZERO),
            ("768h", secs(768 * 3600)),
            ("2562047h", secs(2_562_047 * 3600)),
        ];
        for (input, want) in table {
            assert_eq!(parse_duration(input).as_ref(), Ok(want), "input {input:?}");
        }
    }

    /// Everything OpenBao rejects is rejected, and so is every negative duration; each reason
    /// quotes the input.
    #[test]
    fn rejected_forms_say_why() {
        let table: &[(&str, &str)] = &[
            ("ten", "invalid duration"),
            ("1h 30m", "unknown unit \"h \""),
            ("1.5", "missing unit"),
            ("30S", "unknown unit \"S\""),
            ("2y", "unknown unit \"y\""),
            ("1d12h", "unknown unit \"d\""),
            ("1.5d", "invalid duration"),
            ("d", "invalid duration"),
            ("-5s", "negative duration"),
            ("-5", "negative duration"),
            ("-1d", "negative duration"),
            ("-1h30m", "negative duration"),
            ("s", "invalid duration"),
            (".s", "invalid duration"),
            ("-", "invalid duration"),
            (" 5s", "invalid duration"),
            ("9999999999999999999999h", "out of range"),
            ("2562048h", "out of range"),
            ("9223372037", "out of range"),
            ("106751992d", "out of range"),
        ];
        for (input, want) in table {
            let err = parse_duration(input).expect_err(input);
            assert!(err.contains(want), "input {input:?}: {err}");
            assert!(err.contains(&format!("{input:?}")), "input {input:?}: {err}");
        }
    }
}
