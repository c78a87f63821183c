//! Durations in OpenBao's wire formats.
use serde_json::Value;
use std::time::Duration;

/// Formats as Go's `time.Duration.String()`: "48h0m0s", "1m30s", "500ms", "0s".
pub fn format_go_duration(d: Duration) -> String {
    let total = d.as_nanos();
    if total == 0 {
        return "0s".into();
    }
    if total < 1_000_000_000 {
        return if total.is_multiple_of(1_000_000) {
            format!("{}ms", total / 1_000_000)
        } else if total.is_multiple_of(1_000) {
            format!("{}µs", total / 1_000)
        } else {
            format!("{total}ns")
        };
    }
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let frac = d.subsec_nanos();
    let sec_part = if frac == 0 {
        format!("{s}")
    } else {
        let f = format!("{frac:09}");
        format!("{s}.{}", f.trim_end_matches('0'))
    };
    if h > 0 {
        format!("{h}h{m}m{sec_part}s")
    } else if m > 0 {
        format!("{m}m{sec_part}s")
    } else {
        format!("{sec_part}s")
    }
}

/// A duration given in a request body: a number of seconds or a duration string.
pub fn parse_duration_value(v: &Value) -> Result<Duration, String> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .map(Duration::from_secs)
            .ok_or_else(|| format!("invalid duration {n}: must be a non-negative number of seconds")),
        Value::String(s) => coffer_config::parse_duration(s),
        other => Err(format!("invalid duration {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        for (d, s) in [
            (Duration::from_secs(0), "0s"),
            (Duration::from_secs(48 * 3600), "48h0m0s"),
            (Duration::from_secs(90), "1m30s"),
            (Duration::from_secs(5), "5s"),
            (Duration::from_millis(500), "500ms"),
            (Duration::from_millis(1500), "1.5s"),
            (Duration::from_secs(3600 + 1), "1h0m1s"),
        ] {
            assert_eq!(format_go_duration(d), s);
        }
    }

    #[test]
    fn request_durations_take_seconds_or_strings() {
        assert_eq!(parse_duration_value(&serde_json::json!(30)), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration_value(&serde_json::json!("2h")), Ok(Duration::from_secs(7200)));
        assert!(parse_duration_value(&serde_json::json!(-1)).is_err());
        assert!(parse_duration_value(&serde_json::json!(true)).is_err());
    }
}
