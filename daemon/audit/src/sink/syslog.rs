//! The `syslog` device: sends each line as one datagram to the local syslog socket, framed as
//! OpenBao's Go `log/syslog` frames it (RFC 3164 style without hostname), or as RFC 5424.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;
use tokio::net::UnixDatagram;
use tokio::sync::Mutex;

use super::AuditSink;
use crate::config::{SyslogConfig, SyslogFormat};
use crate::error::AuditError;

/// Sockets OpenBao (go-syslog) tries, in order.
const CANDIDATES: [&str; 3] = ["/dev/log", "/var/run/syslog", "/var/run/log"];

/// Severity of every audit entry: informational.
const SEVERITY_INFO: u8 = 6;

/// A `syslog` device's sink.
pub struct SyslogSink {
    name: String,
    config: SyslogConfig,
    path: PathBuf,
    sock: Mutex<Option<UnixDatagram>>,
    pid: u32,
    hostname: String,
}

fn connect(path: &Path) -> std::io::Result<UnixDatagram> {
    let s = UnixDatagram::unbound()?;
    s.connect(path)?;
    Ok(s)
}

impl SyslogSink {
    /// Connects now, so a host without a syslog socket fails at enable time, as in OpenBao.
    pub fn connect(name: &str, config: SyslogConfig) -> Result<Self, AuditError> {
        let candidates: Vec<PathBuf> = match &config.socket_path {
            Some(p) => vec![p.clone()],
            None => CANDIDATES.iter().map(PathBuf::from).collect(),
        };
        let (path, sock) =
            candidates.iter().find_map(|p| connect(p).ok().map(|s| (p.clone(), s))).ok_or_else(|| {
                AuditError::io(name, std::io::Error::new(std::io::ErrorKind::NotFound, "Unix syslog delivery error"))
            })?;
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty() && h.is_ascii() && !h.contains(' '))
            .unwrap_or_else(|| "-".to_string());
        Ok(SyslogSink {
            name: name.to_string(),
            config,
            path,
            sock: Mutex::new(Some(sock)),
            pid: std::process::id(),
            hostname,
        })
    }

    /// The datagram for one line (`record` ends with its newline).
    pub(crate) fn frame(&self, record: &[u8], now: OffsetDateTime) -> Vec<u8> {
        let pri = u16::from(self.config.facility) * 8 + u16::from(SEVERITY_INFO);
        let line = record.strip_suffix(b"\n").unwrap_or(record);
        let header = match self.config.format {
            // Go: "<%d>%s %s[%d]: %s%s" with time.Stamp ("Jan _2 15:04:05"); the message
            // keeps its newline.
            SyslogFormat::Rfc3164 => format!(
                "<{pri}>{} {:>2} {:02}:{:02}:{:02} {}[{}]: ",
                MONTHS[usize::from(u8::from(now.month())) - 1],
                now.day(),
                now.hour(),
                now.minute(),
                now.second(),
                self.config.tag,
                self.pid
            ),
            SyslogFormat::Rfc5424 => format!(
                "<{pri}>1 {} {} {} {} - - ",
                crate::gojson::rfc3339_nano_utc(now.replace_nanosecond(now.microsecond() * 1000).unwrap_or(now)),
                self.hostname,
                self.config.tag,
                self.pid
            ),
        };
        let mut out = Vec::with_capacity(header.len() + record.len());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(line);
        if self.config.format == SyslogFormat::Rfc3164 {
            out.push(b'\n');
        }
        out
    }

    async fn attempt(&self, slot: &mut Option<UnixDatagram>, datagram: &[u8]) -> Result<(), AuditError> {
        if slot.is_none() {
            *slot = Some(connect(&self.path).map_err(|e| AuditError::io(&self.name, e))?);
        }
        let Some(sock) = slot.as_ref() else {
            return Ok(());
        };
        let result = match tokio::time::timeout(self.config.write_timeout, sock.send(datagram)).await {
            Ok(Ok(n)) if n == datagram.len() => Ok(()),
            Ok(Ok(_)) => {
                Err(AuditError::io(&self.name, std::io::Error::new(std::io::ErrorKind::WriteZero, "short datagram")))
            }
            Ok(Err(e)) => Err(AuditError::io(&self.name, e)),
            Err(_) => Err(AuditError::Timeout { device: self.name.clone(), after: self.config.write_timeout }),
        };
        if result.is_err() {
            *slot = None;
        }
        result
    }
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

#[async_trait::async_trait]
impl AuditSink for SyslogSink {
    async fn write(&self, record: Vec<u8>) -> Result<(), AuditError> {
        // The syslog header carries the local time; Coffer uses UTC (no local-offset lookup in a
        // multi-threaded process).
        let datagram = self.frame(&record, OffsetDateTime::now_utc());
        let mut slot = self.sock.lock().await;
        match self.attempt(&mut slot, &datagram).await {
            Ok(()) => Ok(()),
            Err(_) => self.attempt(&mut slot, &datagram).await,
        }
    }

    async fn reopen(&self) -> Result<(), AuditError> {
        let mut slot = self.sock.lock().await;
        *slot = Some(connect(&self.path).map_err(|e| AuditError::io(&self.name, e))?);
        Ok(())
    }
}
