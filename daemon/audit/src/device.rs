//! An audit device: a formatter (options + salt), a sink, and the device's hash chain.

use time::OffsetDateTime;
use tokio::sync::Mutex;

use crate::chain::{self, ChainHead, ChainKey};
use crate::config::{DeviceConfig, DeviceKind, SinkConfig};
use crate::error::AuditError;
use crate::format::{EntryFormatter, FormatOptions};
use crate::input::{AuditInput, RequestInfo};
use crate::salt::{random_uuid, Salt};
use crate::sink::{AuditSink, FileSink, SocketSink, SyslogSink};

/// One enabled audit device.
pub struct AuditDevice {
    path: String,
    kind: DeviceKind,
    formatter: EntryFormatter,
    chain_key: ChainKey,
    sink: Box<dyn AuditSink>,
    head: Mutex<ChainHead>,
}

impl std::fmt::Debug for AuditDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditDevice").field("path", &self.path).field("kind", &self.kind).finish_non_exhaustive()
    }
}

impl AuditDevice {
    /// Creates a device at `path` (e.g. "file/") from checked options and the device's salt (the
    /// caller generates it with [`Salt::generate`] when the device is enabled and persists it).
    /// A file is opened now and its chain resumed from its last line; a syslog socket is
    /// connected now; a socket device connects on its first entry (all as OpenBao).
    pub async fn new(path: &str, config: DeviceConfig, salt: Salt) -> Result<Self, AuditError> {
        let kind = config.kind();
        let sink: Box<dyn AuditSink> = match &config.sink {
            SinkConfig::File(f) => Box::new(FileSink::open(path, f)?),
            SinkConfig::Socket(s) => Box::new(SocketSink::new(path, s.clone())),
            SinkConfig::Syslog(s) => Box::new(SyslogSink::connect(path, s.clone())?),
        };
        let device = AuditDevice::with_sink(path, kind, config.format, salt, sink);
        device.resume().await?;
        Ok(device)
    }

    /// A device over any sink (tests, fault injection). The chain starts at genesis; call
    /// [`AuditDevice::resume`] to continue one the sink can read back.
    pub fn with_sink(
        path: &str,
        kind: DeviceKind,
        format: FormatOptions,
        salt: Salt,
        sink: Box<dyn AuditSink>,
    ) -> Self {
        AuditDevice {
            path: path.to_string(),
            kind,
            chain_key: ChainKey::from_salt(&salt),
            formatter: EntryFormatter::new(format, salt),
            sink,
            head: Mutex::new(ChainHead::GENESIS),
        }
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn kind(&self) -> DeviceKind {
        self.kind
    }

    pub fn options(&self) -> &FormatOptions {
        self.formatter.options()
    }

    /// `sys/audit-hash`: the HMAC this device writes for `input`.
    pub fn hash(&self, input: &str) -> String {
        self.formatter.salt().hmac(input)
    }

    /// The key that authenticates this device's chain (for [`crate::verify_with`]).
    pub fn chain_key(&self) -> &ChainKey {
        &self.chain_key
    }

    /// The chain's current head: seq and SHA-256 of the last line written.
    pub async fn chain_head(&self) -> ChainHead {
        *self.head.lock().await
    }

    /// Continues the chain from a head kept elsewhere (sinks that cannot be read back).
    pub async fn set_chain_head(&self, head: ChainHead) {
        *self.head.lock().await = head;
    }

    /// Recovers the chain from the last line of the device's log (file devices): after a restart
    /// the next line continues its numbering and links to it. A last line without a link (a
    /// foreign or damaged line) makes the next line seq 1, still linked to it; an incomplete last
    /// line is terminated first. Sinks that cannot be read back keep the current head.
    pub async fn resume(&self) -> Result<ChainHead, AuditError> {
        let mut head = self.head.lock().await;
        if let Some(last) = self.sink.recover_last_line().await? {
            *head = chain::head_after(Some(&last));
        }
        Ok(*head)
    }

    /// Writes the request entry. `Ok` once the sink took the whole line.
    pub async fn log_request(&self, input: &AuditInput) -> Result<(), AuditError> {
        if self.sink.discards() {
            return Ok(());
        }
        let entry = self.formatter.request_line(input, OffsetDateTime::now_utc())?;
        self.append(&entry).await
    }

    /// Writes the response entry. `Ok` once the sink took the whole line.
    pub async fn log_response(&self, input: &AuditInput) -> Result<(), AuditError> {
        if self.sink.discards() {
            return Ok(());
        }
        let entry = self.formatter.response_line(input, OffsetDateTime::now_utc())?;
        self.append(&entry).await
    }

    /// The line OpenBao writes when a device is enabled: a request entry for `sys/audit/test`
    /// with a fresh id, HMAC'd with a throw-away salt.
    pub async fn log_test_message(&self) -> Result<(), AuditError> {
        if self.sink.discards() {
            return Ok(());
        }
        let input = AuditInput {
            request: RequestInfo {
                id: random_uuid(),
                operation: "update".into(),
                path: "sys/audit/test".into(),
                ..Default::default()
            },
            ..Default::default()
        };
        let temp = EntryFormatter::new(self.formatter.options().clone(), Salt::generate());
        let entry = temp.request_line(&input, OffsetDateTime::now_utc())?;
        self.append(&entry).await
    }

    /// Reopens the sink (SIGHUP / logrotate for files, reconnect for sockets). The chain goes
    /// on: the first line of a new file links to the last line of the rotated one.
    pub async fn reopen(&self) -> Result<(), AuditError> {
        let _head = self.head.lock().await;
        self.sink.reopen().await
    }

    async fn append(&self, entry: &[u8]) -> Result<(), AuditError> {
        let mut head = self.head.lock().await;
        let (mut line, next) = chain::link(entry, &head, &self.chain_key);
        line.push(b'\n');
        self.sink.write(line).await?;
        *head = next;
        Ok(())
    }
}
