//! TTL arithmetic and the time and duration formats OpenBao shows, written after OpenBao's
//! `framework.CalculateTTL`, Go's `time.ParseDuration`/`Duration.String` and `RFC3339Nano`.
use serde_json::Value;
use time::OffsetDateTime;

pub(crate) const NANOS: i64 = 1_000_000_000;

pub(crate) fn nanos(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos()).unwrap_or(i64::MAX)
}

pub(crate) fn from_nanos(n: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(n)).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Whole seconds, rounded down (Go's `Truncate(time.Second)`).
pub(crate) fn trunc_secs(n: i64) -> i64 {
    n.div_euclid(NANOS)
}

/// Go's `time.Time` JSON form in UTC: RFC 3339 with the fraction's trailing zeros dropped.
pub(crate) fn go_time(n: i64) -> String {
    let t = from_nanos(n);
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let frac = t.nanosecond();
    if frac != 0 {
        let digits = format!("{frac:09}");
        s.push('.');
        s.push_str(digits.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Go's `Duration.String()` for a whole number of seconds (the only durations TTLs take).
pub(crate) fn go_duration(secs: i64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let neg = secs < 0;
    let s = secs.unsigned_abs();
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if h > 0 {
        out.push_str(&format!("{h}h{m}m{sec}s"));
    } else if m > 0 {
        out.push_str(&format!("{m}m{sec}s"));
    } else {
        out.push_str(&format!("{sec}s"));
    }
    out
}

/// OpenBao's `humanDuration`: `Duration.String()` without zero elements ("2h", "1h30m").
pub(crate) fn human_duration(secs: i64) -> String {
    if secs == 0 {
        return "0s".into();
    }
    let mut s = go_duration(secs);
    if s.ends_with("m0s") {
        s.truncate(s.len() - 2);
    }
    if let Some(idx) = s.find("h0m") {
        if idx > 0 {
            s = format!("{}{}", &s[..=idx], &s[idx + 3..]);
        }
    }
    s
}

/// Go's `time.ParseDuration`, in nanoseconds, with Go's error texts.
pub(crate) fn parse_go_duration(orig: &str) -> Result<i128, String> {
    let invalid = || format!("time: invalid duration {orig:?}");
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
    let mut total: f64 = 0.0;
    while !s.is_empty() {
        let b = s.as_bytes()[0];
        if !(b == b'.' || b.is_ascii_digit()) {
            return Err(invalid());
        }
        let int_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let pre = int_end > 0;
        let mut num: f64 = if pre { s[..int_end].parse().map_err(|_| invalid())? } else { 0.0 };
        s = &s[int_end..];
        let mut post = false;
        if let Some(rest) = s.strip_prefix('.') {
            let frac_end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
            post = frac_end > 0;
            if post {
                let frac: f64 = format!("0.{}", &rest[..frac_end]).parse().map_err(|_| invalid())?;
                num += frac;
            }
            s = &rest[frac_end..];
        }
        if !pre && !post {
            return Err(invalid());
        }
        let unit_end = s.find(|c: char| c == '.' || c.is_ascii_digit()).unwrap_or(s.len());
        let unit = &s[..unit_end];
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration {orig:?}"));
        }
        let mult: f64 = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(format!("time: unknown unit {unit:?} in duration {orig:?}")),
        };
        total += num * mult;
        if total > 9.2e18 {
            return Err(invalid());
        }
        s = &s[unit_end..];
    }
    let n = total as i128;
    Ok(if neg { -n } else { n })
}

/// OpenBao's `parseutil.ParseDurationSecond` for a `TypeString` field: integer seconds, `Nd`
/// days, or a Go duration; whole seconds, possibly negative. Empty/absent is zero.
pub(crate) fn parse_duration_second(v: &Value) -> Result<i64, String> {
    match v {
        Value::Null => Ok(0),
        Value::Bool(_) | Value::Array(_) | Value::Object(_) => Err("could not parse duration from input".into()),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(i)
            } else {
                // A JSON number becomes a string first (TypeString), as OpenBao does.
                parse_duration_str(&n.to_string())
            }
        }
        Value::String(s) => parse_duration_str(s),
    }
}

pub(crate) fn parse_duration_str(s: &str) -> Result<i64, String> {
    if s.is_empty() {
        return Ok(0);
    }
    if let Ok(v) = s.parse::<i64>() {
        return Ok(v);
    }
    if let Some(days) = s.strip_suffix('d') {
        return days
            .parse::<i64>()
            .map(|d| d.saturating_mul(86400))
            .map_err(|_| format!("strconv.ParseInt: parsing {days:?}: invalid syntax"));
    }
    parse_go_duration(s).map(|n| i64::try_from(n / i128::from(NANOS)).unwrap_or(i64::MAX))
}

/// A `TypeDurationSecond` field (role fields, `increment`): negative values refused with
/// OpenBao's text.
pub(crate) fn duration_second_field(v: Option<&Value>, name: &str) -> Result<Option<i64>, String> {
    let Some(v) = v else { return Ok(None) };
    if v.is_null() {
        return Ok(None);
    }
    let raw = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let secs = parse_duration_second(v).map_err(|e| format!("error converting input {raw} for field {name:?}: {e}"))?;
    if secs < 0 {
        return Err(format!("error converting input for field {name:?}: cannot provide negative value '{raw}'"));
    }
    Ok(Some(secs))
}

/// The system view a TTL is computed against: the mount's default and max lease TTL.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SysView {
    pub default_ttl: i64,
    pub max_ttl: i64,
}

/// OpenBao's `framework.CalculateTTL`, all durations in seconds, times in nanoseconds.
/// `start` of `None` means "now".
#[allow(clippy::too_many_arguments)]
pub(crate) fn calculate_ttl(
    sys: SysView,
    now: i64,
    increment: i64,
    backend_ttl: i64,
    period: i64,
    backend_max_ttl: i64,
    explicit_max_ttl: i64,
    start: Option<i64>,
) -> Result<(i64, Vec<String>), String> {
    let now = trunc_secs(now);
    let start = start.map(trunc_secs).unwrap_or(now);
    let mut warnings = Vec::new();
    let mut max_ttl = sys.max_ttl;
    if backend_max_ttl > 0 && backend_max_ttl < max_ttl {
        max_ttl = backend_max_ttl;
    }
    if explicit_max_ttl > 0 && explicit_max_ttl < max_ttl {
        max_ttl = explicit_max_ttl;
    }
    if max_ttl <= 0 {
        return Err("max TTL must be greater than zero".into());
    }
    let mut ttl;
    let mut max_valid: Option<i64> = None;
    if period > 0 {
        let mut period = period;
        if period > max_ttl {
            warnings.push(format!(
                "period of {:?} exceeded the effective max_ttl of {:?}; period value is capped accordingly",
                human_duration(period),
                human_duration(max_ttl)
            ));
            period = max_ttl;
        }
        ttl = period;
        if explicit_max_ttl > 0 {
            max_valid = Some(start.saturating_add(explicit_max_ttl));
        }
    } else {
        ttl = if increment > 0 {
            increment
        } else if backend_ttl > 0 {
            backend_ttl
        } else {
            sys.default_ttl
        };
        max_valid = Some(start.saturating_add(max_ttl));
    }
    if let Some(max_valid) = max_valid {
        let max_valid_ttl = max_valid - now;
        if max_valid_ttl <= 0 {
            return Err("past the max TTL, cannot renew".into());
        }
        if max_valid_ttl < ttl {
            warnings.push(format!(
                "TTL of {:?} exceeded the effective max_ttl of {:?}; TTL value is capped accordingly",
                human_duration(ttl),
                human_duration(max_valid_ttl)
            ));
            ttl = max_valid_ttl;
        }
    }
    Ok((ttl, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Durations print as OpenBao prints them in its TTL warnings.
    #[test]
    fn human_durations_match_openbao() {
        assert_eq!(human_duration(7200), "2h");
        assert_eq!(human_duration(5400), "1h30m");
        assert_eq!(human_duration(768 * 3600), "768h");
        assert_eq!(human_duration(1800), "30m");
        assert_eq!(human_duration(3605), "1h5s");
        assert_eq!(human_duration(59), "59s");
        assert_eq!(human_duration(0), "0s");
    }

    /// Go's duration grammar and error texts.
    #[test]
    fn go_durations_parse_like_go() {
        assert_eq!(parse_duration_str("1h"), Ok(3600));
        assert_eq!(parse_duration_str("90m"), Ok(5400));
        assert_eq!(parse_duration_str("1.5h"), Ok(5400));
        assert_eq!(parse_duration_str("7d"), Ok(7 * 86400));
        assert_eq!(parse_duration_str("-5s"), Ok(-5));
        assert_eq!(parse_duration_str("120"), Ok(120));
        assert_eq!(parse_duration_str("abc"), Err("time: invalid duration \"abc\"".into()));
        assert_eq!(parse_duration_str("5x"), Err("time: unknown unit \"x\" in duration \"5x\"".into()));
        assert_eq!(parse_duration_str("60.5"), Err("time: missing unit in duration \"60.5\"".into()));
        assert_eq!(parse_duration_second(&json!(60)), Ok(60));
    }

    /// Times print as Go's RFC3339Nano in UTC.
    #[test]
    fn times_print_like_go() {
        assert_eq!(go_time(1_795_836_820 * NANOS), "2026-11-28T03:33:40Z");
        assert_eq!(go_time(1_795_836_820 * NANOS + 141_762_700), "2026-11-28T03:33:40.1417627Z");
    }

    /// The TTL rules: default, cap by mount max with a warning, explicit max, period.
    #[test]
    fn calculate_ttl_follows_openbao() {
        let sys = SysView { default_ttl: 768 * 3600, max_ttl: 768 * 3600 };
        let now = 1_000_000 * NANOS;
        assert_eq!(calculate_ttl(sys, now, 0, 0, 0, 0, 0, None), Ok((768 * 3600, vec![])));
        let (ttl, w) = calculate_ttl(sys, now, 0, 1000 * 3600, 0, 0, 0, None).expect("ok");
        assert_eq!(ttl, 768 * 3600);
        assert_eq!(
            w,
            vec!["TTL of \"1000h\" exceeded the effective max_ttl of \"768h\"; TTL value is capped accordingly"]
        );
        let (ttl, w) = calculate_ttl(sys, now, 0, 3600, 0, 0, 600, None).expect("ok");
        assert_eq!((ttl, w.len()), (600, 1));
        let (ttl, w) = calculate_ttl(sys, now, 0, 0, 1000 * 3600, 0, 0, None).expect("ok");
        assert_eq!(ttl, 768 * 3600);
        assert_eq!(
            w,
            vec!["period of \"1000h\" exceeded the effective max_ttl of \"768h\"; period value is capped accordingly"]
        );
        // A renewal 30 minutes into a 90-minute explicit max gets at most 60 minutes.
        let start = now - 1800 * NANOS;
        let (ttl, _) = calculate_ttl(sys, now, 7200, 3600, 0, 0, 5400, Some(start)).expect("ok");
        assert_eq!(ttl, 3600);
        assert!(calculate_ttl(sys, now, 0, 3600, 0, 0, 60, Some(now - 120 * NANOS)).is_err());
    }
}
