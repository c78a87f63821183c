//! A flag parser with the conventions of Go's `flag` package, which the `bao` CLI uses.
//!
//! - `-flag`, `--flag`, `-flag=value`, `--flag=value`, and `-flag value` for non-boolean flags;
//! - boolean flags never consume the next argument (`-flag=false` to turn one off);
//! - parsing stops at the first positional argument, at a lone `-`, or after `--` (consumed);
//! - an undefined `-h`/`-help` asks for help; other undefined flags are errors with Go's texts.

use std::collections::BTreeMap;

/// What a flag holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Bool,
    Str,
    Int,
    /// A Go/OpenBao duration: plain seconds (`300`) or units (`5m`, `1h30m`, `1.5s`).
    Duration,
    /// Repeatable `key=value` pairs.
    KeyValue,
    /// Repeatable strings, each trimmed (Go's `StringSliceVar`).
    StrSlice,
    /// A boolean that knows whether it was given (`BoolPtrVar`).
    BoolPtr,
    /// An unsigned integer (`strconv.ParseUint(s, 0, 64)`).
    Uint,
}

/// The help section a flag is listed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Group {
    Http,
    Output,
    Command,
    Common,
    AutoUnseal,
}

impl Group {
    pub(crate) fn title(self) -> &'static str {
        match self {
            Group::Http => "HTTP Options",
            Group::Output => "Output Options",
            Group::Command => "Command Options",
            Group::Common => "Common Options",
            Group::AutoUnseal => "Auto Unseal Options",
        }
    }
}

/// One flag definition.
#[derive(Debug, Clone)]
pub(crate) struct FlagDef {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub kind: Kind,
    pub group: Group,
    /// The environment variable (BAO_ name; VAULT_ is its fallback) that supplies a default.
    pub env: Option<&'static str>,
    /// The default as shown in help ("" for none).
    pub default: &'static str,
    pub usage: &'static str,
}

/// A parsed flag value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Bool(bool),
    Str(String),
    Int(i64),
    /// The duration as written (validated); servers parse it themselves.
    Duration(String),
    Pairs(Vec<(String, String)>),
    Strings(Vec<String>),
    Uint(u64),
}

/// Why parsing stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FlagError {
    /// `-h` or `-help` was given and is not a defined flag.
    Help,
    /// A usage error, with Go's message text.
    Usage(String),
}

/// The result of a parse: flags that were given (by canonical name) and the remaining arguments.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    values: BTreeMap<&'static str, Value>,
    pub args: Vec<String>,
}

impl Parsed {
    pub(crate) fn string(&self, name: &str) -> Option<&str> {
        match self.values.get(name) {
            Some(Value::Str(s)) | Some(Value::Duration(s)) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn bool(&self, name: &str) -> Option<bool> {
        match self.values.get(name) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    pub(crate) fn int(&self, name: &str) -> Option<i64> {
        match self.values.get(name) {
            Some(Value::Int(i)) => Some(*i),
            _ => None,
        }
    }

    /// Whether the flag was given at all (Go's `FlagSet.Visit`).
    pub(crate) fn is_set(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    pub(crate) fn uint(&self, name: &str) -> Option<u64> {
        match self.values.get(name) {
            Some(Value::Uint(u)) => Some(*u),
            _ => None,
        }
    }

    /// A duration flag in nanoseconds ("system" is bao's spelling of -1s); 0 when not given.
    pub(crate) fn duration_ns(&self, name: &str) -> i128 {
        match self.values.get(name) {
            Some(Value::Duration(s)) => {
                let s = if s == "system" { "-1" } else { s.as_str() };
                parse_duration_seconds(s).unwrap_or(0)
            }
            _ => 0,
        }
    }

    /// A repeatable string flag, in the order given.
    pub(crate) fn strings(&self, name: &str) -> &[String] {
        match self.values.get(name) {
            Some(Value::Strings(v)) => v,
            _ => &[],
        }
    }

    /// A `key=value` flag as Go's `map[string]string`: later keys replace earlier ones;
    /// `None` when not given.
    pub(crate) fn map(&self, name: &str) -> Option<BTreeMap<String, String>> {
        match self.values.get(name) {
            Some(Value::Pairs(p)) => Some(p.iter().cloned().collect()),
            _ => None,
        }
    }

    pub(crate) fn pairs(&self, name: &str) -> &[(String, String)] {
        match self.values.get(name) {
            Some(Value::Pairs(v)) => v,
            _ => &[],
        }
    }
}

/// Parses `args` against `defs` the way Go's `flag.FlagSet.Parse` does.
pub(crate) fn parse(defs: &[FlagDef], args: &[String]) -> Result<Parsed, FlagError> {
    let mut parsed = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let s = args[i].as_str();
        if s.len() < 2 || !s.starts_with('-') {
            break;
        }
        let mut minuses = 1;
        if s.as_bytes()[1] == b'-' {
            minuses = 2;
            if s.len() == 2 {
                i += 1; // "--" terminates the flags and is consumed
                break;
            }
        }
        let name_part = &s[minuses..];
        if name_part.is_empty() || name_part.starts_with('-') || name_part.starts_with('=') {
            return Err(FlagError::Usage(format!("bad flag syntax: {s}")));
        }
        i += 1;
        let (name, inline) = match name_part.find('=') {
            Some(pos) => (&name_part[..pos], Some(&name_part[pos + 1..])),
            None => (name_part, None),
        };
        let Some(def) = defs.iter().find(|d| d.name == name || d.aliases.contains(&name)) else {
            if name == "help" || name == "h" {
                return Err(FlagError::Help);
            }
            return Err(FlagError::Usage(format!("flag provided but not defined: -{name}")));
        };
        if def.kind == Kind::Bool || def.kind == Kind::BoolPtr {
            let value = match inline {
                Some(v) => parse_bool(v)
                    .map_err(|e| FlagError::Usage(format!("invalid boolean value {} for -{name}: {e}", go_quote(v))))?,
                None => true,
            };
            parsed.values.insert(def.name, Value::Bool(value));
            continue;
        }
        let value = match inline {
            Some(v) => v.to_string(),
            None => match args.get(i) {
                Some(next) => {
                    i += 1;
                    next.clone()
                }
                None => {
                    return Err(FlagError::Usage(format!("flag needs an argument: -{name}")));
                }
            },
        };
        let invalid = |e: String| FlagError::Usage(format!("invalid value {} for flag -{name}: {e}", go_quote(&value)));
        let new = match def.kind {
            Kind::Str => Value::Str(value.clone()),
            Kind::Int => Value::Int(parse_int(&value).map_err(invalid)?),
            Kind::Duration => {
                let checked = if value == "system" { "-1" } else { value.as_str() };
                parse_duration_seconds(checked).map_err(invalid)?;
                Value::Duration(value.clone())
            }
            Kind::Uint => Value::Uint(parse_uint(&value).map_err(invalid)?),
            Kind::StrSlice => {
                let mut items = match parsed.values.remove(def.name) {
                    Some(Value::Strings(v)) => v,
                    _ => Vec::new(),
                };
                items.push(value.trim().to_string());
                Value::Strings(items)
            }
            Kind::KeyValue => {
                let Some((k, v)) = value.split_once('=') else {
                    return Err(invalid(format!("missing = in KV pair: {}", go_quote(&value))));
                };
                let mut pairs = match parsed.values.remove(def.name) {
                    Some(Value::Pairs(p)) => p,
                    _ => Vec::new(),
                };
                pairs.push((k.to_string(), v.to_string()));
                Value::Pairs(pairs)
            }
            Kind::Bool | Kind::BoolPtr => Value::Bool(true), // handled above
        };
        parsed.values.insert(def.name, new);
    }
    parsed.args = args[i..].to_vec();
    Ok(parsed)
}

/// `strconv.ParseBool`.
pub(crate) fn parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!("strconv.ParseBool: parsing {}: invalid syntax", go_quote(s))),
    }
}

/// `strconv.ParseInt(s, 0, 64)`: an optional sign, then decimal, `0x` hex, `0o`/`0` octal or
/// `0b` binary digits, with `_` separators allowed only after a base prefix.
pub(crate) fn parse_int(s: &str) -> Result<i64, String> {
    let syntax = || format!("strconv.ParseInt: parsing {}: invalid syntax", go_quote(s));
    let range = || format!("strconv.ParseInt: parsing {}: value out of range", go_quote(s));
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.to_string(), true)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.to_string(), true)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.to_string(), true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string(), true)
    } else {
        (10, lower.clone(), false)
    };
    if digits.contains('_') && (!prefixed || digits.starts_with('_') || digits.ends_with('_') || digits.contains("__"))
    {
        return Err(syntax());
    }
    let digits: String = digits.chars().filter(|c| *c != '_').collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(syntax());
    }
    let magnitude = u128::from_str_radix(&digits, radix).map_err(|_| range())?;
    let value: i128 = if neg { -(magnitude as i128) } else { magnitude as i128 };
    i64::try_from(value).map_err(|_| range())
}

/// `strconv.ParseUint(s, 0, 64)`.
pub(crate) fn parse_uint(s: &str) -> Result<u64, String> {
    if s.starts_with(['-', '+']) {
        return Err(format!("strconv.ParseUint: parsing {}: invalid syntax", go_quote(s)));
    }
    match parse_int(s) {
        Ok(v) => u64::try_from(v).map_err(|_| format!("strconv.ParseUint: parsing {}: invalid syntax", go_quote(s))),
        Err(e) if e.ends_with("value out of range") => {
            // Between i64::MAX and u64::MAX the signed parse overflows; retry unsigned.
            let digits: String = s.chars().filter(|c| *c != '_').collect();
            digits.parse::<u64>().map_err(|_| format!("strconv.ParseUint: parsing {}: value out of range", go_quote(s)))
        }
        Err(e) => Err(e.replace("ParseInt", "ParseUint")),
    }
}

/// Go's `time.Duration.String()` of a number of nanoseconds: "1h2m3s", "1.5s", "300ms", "0s".
pub(crate) fn go_duration_string(ns: i128) -> String {
    if ns == 0 {
        return "0s".to_string();
    }
    let neg = ns < 0;
    let u = ns.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (unit, scale) = if u < 1_000 {
            ("ns", 1u128)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&fmt_frac(u, scale));
        out.push_str(unit);
    } else {
        let secs_total = u / 1_000_000_000;
        let frac = u % 1_000_000_000;
        let h = secs_total / 3600;
        let m = (secs_total % 3600) / 60;
        let s = secs_total % 60;
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&fmt_frac(s * 1_000_000_000 + frac, 1_000_000_000));
        out.push('s');
    }
    if neg {
        format!("-{out}")
    } else {
        out
    }
}

/// `v / scale` with the remainder as a decimal fraction without trailing zeros.
fn fmt_frac(v: u128, scale: u128) -> String {
    let whole = v / scale;
    let rem = v % scale;
    if rem == 0 {
        return whole.to_string();
    }
    let width = scale.to_string().len() - 1;
    let digits = format!("{rem:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// OpenBao's `ParseDurationSecond`: a plain integer is seconds; otherwise Go's
/// `time.ParseDuration` syntax (plus `d` for days). Returns nanoseconds.
pub(crate) fn parse_duration_seconds(s: &str) -> Result<i128, String> {
    if s.is_empty() {
        return Ok(0);
    }
    if let Ok(secs) = s.parse::<i64>() {
        return Ok(i128::from(secs) * 1_000_000_000);
    }
    parse_go_duration(s)
}

fn parse_go_duration(orig: &str) -> Result<i128, String> {
    let invalid = || format!("time: invalid duration {}", go_quote(orig));
    let (neg, mut rest) = match orig.as_bytes().first() {
        Some(b'-') => (true, &orig[1..]),
        Some(b'+') => (false, &orig[1..]),
        _ => (false, orig),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let number = &rest[..num_len];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(invalid());
        }
        let value: f64 = number.parse().map_err(|_| invalid())?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale: f64 = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "d" => 86400e9,
            "" => return Err(format!("time: missing unit in duration {}", go_quote(orig))),
            other => return Err(format!("time: unknown unit {} in duration {}", go_quote(other), go_quote(orig))),
        };
        total += value * scale;
    }
    if total > 9.223_372_036_854_776e18 {
        return Err(invalid());
    }
    let ns = total as i128;
    Ok(if neg { -ns } else { ns })
}

/// Go's `%q` for the strings that appear in flag errors.
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
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defs() -> Vec<FlagDef> {
        let d = |name, aliases, kind| FlagDef {
            name,
            aliases,
            kind,
            group: Group::Command,
            env: None,
            default: "",
            usage: "",
        };
        vec![
            d("format", &[], Kind::Str),
            d("force", &["f"], Kind::Bool),
            d("key-shares", &["n"], Kind::Int),
            d("wrap-ttl", &[], Kind::Duration),
            d("header", &[], Kind::KeyValue),
        ]
    }

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn ok(v: &[&str]) -> Parsed {
        match parse(&defs(), &args(v)) {
            Ok(p) => p,
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }

    fn err(v: &[&str]) -> String {
        match parse(&defs(), &args(v)) {
            Err(FlagError::Usage(m)) => m,
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    /// All of Go's spellings of a string flag set the same value.
    #[test]
    fn string_flag_spellings_are_equivalent() {
        for form in
            [&["-format=json", "p"][..], &["--format=json", "p"], &["-format", "json", "p"], &["--format", "json", "p"]]
        {
            let p = ok(form);
            assert_eq!(p.string("format"), Some("json"), "{form:?}");
            assert_eq!(p.args, args(&["p"]));
        }
    }

    /// Booleans never take the next argument; `=false` turns them off; aliases resolve.
    #[test]
    fn booleans_follow_go_rules() {
        let p = ok(&["-force", "false"]);
        assert_eq!(p.bool("force"), Some(true));
        assert_eq!(p.args, args(&["false"]));
        assert_eq!(ok(&["-f=false"]).bool("force"), Some(false));
        assert_eq!(ok(&["--force=T"]).bool("force"), Some(true));
        assert_eq!(
            err(&["-force=maybe"]),
            "invalid boolean value \"maybe\" for -force: strconv.ParseBool: parsing \"maybe\": invalid syntax"
        );
    }

    /// Parsing stops at the first positional, at "-", and after a consumed "--".
    #[test]
    fn parsing_stops_where_go_stops() {
        assert_eq!(ok(&["p", "-force"]).args, args(&["p", "-force"]));
        assert_eq!(ok(&["-", "-force"]).args, args(&["-", "-force"]));
        let p = ok(&["-force", "--", "-format=x"]);
        assert_eq!(p.args, args(&["-format=x"]));
        assert_eq!(p.string("format"), None);
    }

    /// Go's error texts for the usual mistakes.
    #[test]
    fn errors_use_go_texts() {
        assert_eq!(err(&["-bogus"]), "flag provided but not defined: -bogus");
        assert_eq!(err(&["-format"]), "flag needs an argument: -format");
        assert_eq!(err(&["---format=json"]), "bad flag syntax: ---format=json");
        assert_eq!(err(&["-=x"]), "bad flag syntax: -=x");
        assert_eq!(
            err(&["-key-shares=abc"]),
            "invalid value \"abc\" for flag -key-shares: strconv.ParseInt: parsing \"abc\": invalid syntax"
        );
        assert_eq!(
            err(&["-n", "99999999999999999999"]),
            "invalid value \"99999999999999999999\" for flag -n: strconv.ParseInt: parsing \"99999999999999999999\": value out of range"
        );
        assert!(matches!(parse(&defs(), &args(&["-h"])), Err(FlagError::Help)));
        assert!(matches!(parse(&defs(), &args(&["--help"])), Err(FlagError::Help)));
    }

    /// Integers accept Go's base prefixes; durations accept seconds and units.
    #[test]
    fn numbers_and_durations() {
        assert_eq!(parse_int("0x10"), Ok(16));
        assert_eq!(parse_int("010"), Ok(8));
        assert_eq!(parse_int("-5"), Ok(-5));
        assert_eq!(parse_int("0b1_0"), Ok(2));
        assert!(parse_int("1_0").is_err());
        assert!(parse_int("").is_err());
        assert!(parse_int("-").is_err());
        assert_eq!(parse_duration_seconds("300"), Ok(300_000_000_000));
        assert_eq!(parse_duration_seconds("5m"), Ok(300_000_000_000));
        assert_eq!(parse_duration_seconds("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_duration_seconds("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration_seconds("abc"), Err("time: invalid duration \"abc\"".to_string()));
        assert_eq!(parse_duration_seconds("5x"), Err("time: unknown unit \"x\" in duration \"5x\"".to_string()));
        assert_eq!(ok(&["-wrap-ttl=5m"]).string("wrap-ttl"), Some("5m"));
    }

    /// Key-value flags accumulate in order; the last plain value wins for other flags.
    #[test]
    fn repeated_flags() {
        let p = ok(&["-header", "a=1", "-header=b=2=3", "-format=json", "-format=table"]);
        assert_eq!(p.pairs("header"), &[("a".to_string(), "1".to_string()), ("b".to_string(), "2=3".to_string())]);
        assert_eq!(p.string("format"), Some("table"));
        assert!(err(&["-header=novalue"]).contains("-header"));
    }

    /// Repeatable strings are trimmed and kept in order; key=value maps keep the last value
    /// of a key; `BoolPtr` flags know they were given; `Uint` refuses signs.
    #[test]
    fn slices_maps_bool_pointers_and_uints() {
        let d =
            |name, kind| FlagDef { name, aliases: &[], kind, group: Group::Command, env: None, default: "", usage: "" };
        let defs = vec![
            d("policy", Kind::StrSlice),
            d("meta", Kind::KeyValue),
            d("cas-required", Kind::BoolPtr),
            d("n", Kind::Uint),
        ];
        let p = match parse(
            &defs,
            &args(&["-policy= a ", "-policy=b,c", "-meta=k=1", "-meta=k=2", "-cas-required=false", "-n=0x10", "x"]),
        ) {
            Ok(p) => p,
            Err(e) => panic!("{e:?}"),
        };
        assert_eq!(p.strings("policy"), &["a".to_string(), "b,c".to_string()]);
        assert_eq!(
            p.map("meta").map(|m| m.into_iter().collect::<Vec<_>>()),
            Some(vec![("k".to_string(), "2".to_string())])
        );
        assert!(p.is_set("cas-required"));
        assert_eq!(p.bool("cas-required"), Some(false));
        assert_eq!(p.uint("n"), Some(16));
        assert!(!p.is_set("other"));
        assert!(matches!(parse(&defs, &args(&["-n=-1"])), Err(FlagError::Usage(m)) if m.contains("ParseUint")));
        assert_eq!(parse_uint("18446744073709551615"), Ok(u64::MAX));
    }

    /// Durations print as Go's `time.Duration.String()`; "system" means -1s.
    #[test]
    fn go_duration_strings() {
        assert_eq!(go_duration_string(0), "0s");
        assert_eq!(go_duration_string(300_000_000_000), "5m0s");
        assert_eq!(go_duration_string(5_400_000_000_000), "1h30m0s");
        assert_eq!(go_duration_string(1_500_000_000), "1.5s");
        assert_eq!(go_duration_string(1_500_000), "1.5ms");
        assert_eq!(go_duration_string(-1), "-1ns");
        assert_eq!(go_duration_string(-1_000_000_000), "-1s");
        assert_eq!(go_duration_string(90_061_000_000_000), "25h1m1s");
        let p = ok(&["-wrap-ttl=system"]);
        assert_eq!(p.duration_ns("wrap-ttl"), -1_000_000_000);
        assert_eq!(ok(&[]).duration_ns("wrap-ttl"), 0);
    }

    /// No input makes the parser panic: arbitrary byte-ish strings are accepted or rejected.
    #[test]
    fn odd_inputs_do_not_panic() {
        for a in ["-", "--", "-=", "--=", "-é", "-format=é", "-n=", "-n=0x", "-wrap-ttl=µs", "-wrap-ttl=1µs"] {
            let _ = parse(&defs(), &args(&[a, "x"]));
        }
    }
}
