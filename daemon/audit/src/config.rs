//! Device options as OpenBao takes them (`bao audit enable file file_path=… mode=…`, or the
//! `options { … }` of a declarative `audit` stanza): a string map, checked once into types.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::AuditError;
use crate::format::FormatOptions;

/// The three device types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    File,
    Socket,
    Syslog,
}

impl DeviceKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            DeviceKind::File => "file",
            DeviceKind::Socket => "socket",
            DeviceKind::Syslog => "syslog",
        }
    }
}

/// A checked device configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceConfig {
    pub format: FormatOptions,
    pub sink: SinkConfig,
}

/// Type-specific options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkConfig {
    File(FileConfig),
    Socket(SocketConfig),
    Syslog(SyslogConfig),
}

impl DeviceConfig {
    pub fn kind(&self) -> DeviceKind {
        match self.sink {
            SinkConfig::File(_) => DeviceKind::File,
            SinkConfig::Socket(_) => DeviceKind::Socket,
            SinkConfig::Syslog(_) => DeviceKind::Syslog,
        }
    }

    /// Checks OpenBao's options for a device type (`file`, `socket`, `syslog`). Unknown keys are
    /// ignored, as OpenBao ignores them. Error texts are OpenBao's.
    pub fn from_options(kind: &str, options: &BTreeMap<String, String>) -> Result<Self, AuditError> {
        let format = format_options(options)?;
        let sink = match kind {
            "file" => SinkConfig::File(FileConfig::from_options(options)?),
            "socket" => SinkConfig::Socket(SocketConfig::from_options(options)?),
            "syslog" => SinkConfig::Syslog(SyslogConfig::from_options(options)?),
            other => return Err(AuditError::InvalidConfig(format!("unknown backend type: {other:?}"))),
        };
        Ok(DeviceConfig { format, sink })
    }
}

fn format_options(options: &BTreeMap<String, String>) -> Result<FormatOptions, AuditError> {
    match options.get("format").map(String::as_str) {
        None | Some("json") => {}
        Some("jsonx") => {
            return Err(AuditError::InvalidConfig("format \"jsonx\" is not supported by Coffer; use \"json\"".into()))
        }
        Some(other) => return Err(AuditError::InvalidConfig(format!("unknown format type {other:?}"))),
    }
    let defaults = FormatOptions::default();
    Ok(FormatOptions {
        hmac_accessor: bool_opt(options, "hmac_accessor", defaults.hmac_accessor)?,
        log_raw: bool_opt(options, "log_raw", defaults.log_raw)?,
        elide_list_responses: bool_opt(options, "elide_list_responses", defaults.elide_list_responses)?,
        prefix: options.get("prefix").cloned().unwrap_or_default(),
    })
}

/// Go's `strconv.ParseBool`.
fn bool_opt(options: &BTreeMap<String, String>, key: &str, default: bool) -> Result<bool, AuditError> {
    match options.get(key).map(String::as_str) {
        None => Ok(default),
        Some("1" | "t" | "T" | "true" | "TRUE" | "True") => Ok(true),
        Some("0" | "f" | "F" | "false" | "FALSE" | "False") => Ok(false),
        Some(other) => Err(AuditError::InvalidConfig(format!("strconv.ParseBool: parsing {other:?}: invalid syntax"))),
    }
}

/// Where a file device writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileTarget {
    Stdout,
    /// Accepts and drops every entry (counts as recorded, as in OpenBao).
    Discard,
    Path(PathBuf),
}

/// `file` options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileConfig {
    /// `file_path` (or `path`); `stdout` and `discard` in any case are the special targets.
    pub target: FileTarget,
    /// `mode` (octal, default 0600). `None` for `mode=0000`: leave the existing file's mode.
    pub mode: Option<u32>,
}

impl FileConfig {
    fn from_options(options: &BTreeMap<String, String>) -> Result<Self, AuditError> {
        let path = options
            .get("file_path")
            .or_else(|| options.get("path"))
            .ok_or_else(|| AuditError::InvalidConfig("file_path is required".into()))?;
        let target = if path.eq_ignore_ascii_case("stdout") {
            FileTarget::Stdout
        } else if path.eq_ignore_ascii_case("discard") {
            FileTarget::Discard
        } else {
            FileTarget::Path(PathBuf::from(path))
        };
        let mode = match options.get("mode") {
            None => Some(0o600),
            Some(raw) => {
                let m = u32::from_str_radix(raw, 8).map_err(|_| {
                    AuditError::InvalidConfig(format!("strconv.ParseUint: parsing {raw:?}: invalid syntax"))
                })?;
                if m > 0o7777 {
                    return Err(AuditError::InvalidConfig(format!("invalid file mode {raw:?}")));
                }
                (m != 0).then_some(m)
            }
        };
        Ok(FileConfig { target, mode })
    }
}

/// `socket_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketType {
    Tcp,
    Udp,
    /// A Unix stream socket (Go's "unix").
    Unix,
}

/// `socket` options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketConfig {
    /// `address`: host:port, or a socket path for `unix`.
    pub address: String,
    /// `socket_type` (default tcp).
    pub socket_type: SocketType,
    /// `write_timeout` (default 2s): how long a write (and a connect) may block.
    pub write_timeout: Duration,
}

impl SocketConfig {
    fn from_options(options: &BTreeMap<String, String>) -> Result<Self, AuditError> {
        let address =
            options.get("address").cloned().ok_or_else(|| AuditError::InvalidConfig("address is required".into()))?;
        let socket_type = match options.get("socket_type").map(String::as_str) {
            None | Some("tcp") => SocketType::Tcp,
            Some("udp") => SocketType::Udp,
            Some("unix") => SocketType::Unix,
            Some(other) => {
                return Err(AuditError::InvalidConfig(format!("unknown socket_type {other:?} (tcp, udp or unix)")))
            }
        };
        let write_timeout = match options.get("write_timeout") {
            None => Duration::from_secs(2),
            Some(raw) => parse_duration_second(raw)?,
        };
        Ok(SocketConfig { address, socket_type, write_timeout })
    }
}

/// Syslog line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyslogFormat {
    /// `<PRI>Mmm dd hh:mm:ss TAG[PID]: MSG`, what OpenBao (Go's log/syslog) sends to the
    /// local daemon.
    Rfc3164,
    /// `<PRI>1 TIMESTAMP HOSTNAME TAG PID - - MSG`.
    Rfc5424,
}

/// `syslog` options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogConfig {
    /// `facility` (default AUTH), as its code (AUTH = 4).
    pub facility: u8,
    /// `tag`. OpenBao 2.7.2 documents "openbao" but sends "vault" (its code default); Coffer
    /// sends what OpenBao sends so existing syslog rules keep matching.
    pub tag: String,
    /// `syslog_format` (a Coffer option): `rfc3164` (default) or `rfc5424`.
    pub format: SyslogFormat,
    /// The local syslog socket (a Unix datagram socket). Not an OpenBao option: OpenBao tries
    /// /dev/log, /var/run/syslog and /var/run/log; set it to use another socket.
    pub socket_path: Option<PathBuf>,
    /// How long a send may block when the syslog daemon does not keep up (default 2s).
    pub write_timeout: Duration,
}

impl SyslogConfig {
    fn from_options(options: &BTreeMap<String, String>) -> Result<Self, AuditError> {
        let facility = match options.get("facility") {
            None => 4,
            Some(f) => facility_code(f).ok_or_else(|| {
                AuditError::InvalidConfig(format!("invalid syslog facility: {}", f.to_ascii_uppercase()))
            })?,
        };
        let format = match options.get("syslog_format").map(String::as_str) {
            None | Some("rfc3164") => SyslogFormat::Rfc3164,
            Some("rfc5424") => SyslogFormat::Rfc5424,
            Some(other) => {
                return Err(AuditError::InvalidConfig(format!("unknown syslog_format {other:?} (rfc3164 or rfc5424)")))
            }
        };
        Ok(SyslogConfig {
            facility,
            tag: options.get("tag").cloned().unwrap_or_else(|| "vault".into()),
            format,
            socket_path: None,
            write_timeout: Duration::from_secs(2),
        })
    }
}

/// Syslog facility names (case-insensitive) to codes.
pub fn facility_code(name: &str) -> Option<u8> {
    Some(match name.to_ascii_uppercase().as_str() {
        "KERN" => 0,
        "USER" => 1,
        "MAIL" => 2,
        "DAEMON" => 3,
        "AUTH" => 4,
        "SYSLOG" => 5,
        "LPR" => 6,
        "NEWS" => 7,
        "UUCP" => 8,
        "CRON" => 9,
        "AUTHPRIV" => 10,
        "FTP" => 11,
        "LOCAL0" => 16,
        "LOCAL1" => 17,
        "LOCAL2" => 18,
        "LOCAL3" => 19,
        "LOCAL4" => 20,
        "LOCAL5" => 21,
        "LOCAL6" => 22,
        "LOCAL7" => 23,
        _ => return None,
    })
}

/// OpenBao's `parseutil.ParseDurationSecond`: a bare integer is seconds, otherwise Go duration
/// syntax (`2s`, `500ms`, `1m30s`, `1.5h`).
pub fn parse_duration_second(raw: &str) -> Result<Duration, AuditError> {
    let bad = || AuditError::InvalidConfig(format!("time: invalid duration {raw:?}"));
    let s = raw.trim();
    if s.is_empty() {
        return Ok(Duration::ZERO);
    }
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(bad)?;
        let num: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += num * scale;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// Defaults are OpenBao's: hmac_accessor on, log_raw and elision off, mode 0600, tcp, 2s.
    #[test]
    fn defaults_match_openbao() {
        let c = DeviceConfig::from_options("file", &opts(&[("file_path", "/tmp/x.log")])).expect("valid");
        assert_eq!(c.format, FormatOptions::default());
        assert_eq!(
            c.sink,
            SinkConfig::File(FileConfig { target: FileTarget::Path("/tmp/x.log".into()), mode: Some(0o600) })
        );
        let s = DeviceConfig::from_options("socket", &opts(&[("address", "127.0.0.1:9090")])).expect("valid");
        assert_eq!(
            s.sink,
            SinkConfig::Socket(SocketConfig {
                address: "127.0.0.1:9090".into(),
                socket_type: SocketType::Tcp,
                write_timeout: Duration::from_secs(2)
            })
        );
        let l = DeviceConfig::from_options("syslog", &BTreeMap::new()).expect("valid");
        let SinkConfig::Syslog(l) = l.sink else { panic!("syslog") };
        assert_eq!((l.facility, l.tag.as_str()), (4, "vault"));
    }

    /// Malformed options are refused with OpenBao's messages.
    #[test]
    fn bad_options_refused() {
        let err = |k, o: &[(&str, &str)]| DeviceConfig::from_options(k, &opts(o)).expect_err("invalid").to_string();
        assert_eq!(err("file", &[]), "file_path is required");
        assert_eq!(err("socket", &[]), "address is required");
        assert_eq!(err("file", &[("file_path", "x"), ("format", "xml")]), "unknown format type \"xml\"");
        assert_eq!(
            err("file", &[("file_path", "x"), ("log_raw", "yes")]),
            "strconv.ParseBool: parsing \"yes\": invalid syntax"
        );
        assert_eq!(
            err("file", &[("file_path", "x"), ("mode", "rw")]),
            "strconv.ParseUint: parsing \"rw\": invalid syntax"
        );
        assert_eq!(err("syslog", &[("facility", "nope")]), "invalid syslog facility: NOPE");
    }

    /// `stdout`/`discard` are special in any case; mode 0000 keeps the file's mode.
    #[test]
    fn special_targets_and_mode_zero() {
        let c = DeviceConfig::from_options("file", &opts(&[("file_path", "STDOUT"), ("mode", "0000")])).expect("valid");
        assert_eq!(c.sink, SinkConfig::File(FileConfig { target: FileTarget::Stdout, mode: None }));
        let c = DeviceConfig::from_options("file", &opts(&[("path", "Discard"), ("mode", "0640")])).expect("valid");
        assert_eq!(c.sink, SinkConfig::File(FileConfig { target: FileTarget::Discard, mode: Some(0o640) }));
    }

    /// write_timeout takes seconds or Go durations.
    #[test]
    fn durations() {
        assert_eq!(parse_duration_second("5").expect("ok"), Duration::from_secs(5));
        assert_eq!(parse_duration_second("250ms").expect("ok"), Duration::from_millis(250));
        assert_eq!(parse_duration_second("1m30s").expect("ok"), Duration::from_secs(90));
        assert!(parse_duration_second("soon").is_err());
    }
}
