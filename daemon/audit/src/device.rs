//! An audit device: a formatter (options + salt), a sink, and the device's hash chain.
//!
//! Callers format their entries concurrently; a writer task owned by the device links them into
//! the chain in arrival order and writes them. Lines that queue up while a write is running go
//! out together in the next write (for sinks that take batches), so many concurrent requests
//! cost one system call, not one each. The chain is computed at write time: a failed write
//! leaves the head where it was, and the next line links to the last line actually written.

use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use crate::chain::{self, ChainHead, ChainKey};
use crate::config::{DeviceConfig, DeviceKind, SinkConfig};
use crate::error::AuditError;
use crate::format::{EntryFormatter, FormatOptions};
use crate::input::{AuditInput, RequestInfo};
use crate::salt::{random_uuid, Salt};
use crate::sink::{AuditSink, FileSink, SocketSink, SyslogSink};

/// Most lines in one write.
const MAX_BATCH_LINES: usize = 512;
/// Most bytes in one write (a batch always takes at least one line).
const MAX_BATCH_BYTES: usize = 4 << 20;
/// Entries that may wait for the writer before callers wait to queue.
const QUEUE: usize = 4096;

/// One enabled audit device.
pub struct AuditDevice {
    path: String,
    kind: DeviceKind,
    formatter: EntryFormatter,
    chain_key: ChainKey,
    discards: bool,
    tx: mpsc::Sender<Msg>,
}

enum Msg {
    Line(Vec<u8>, oneshot::Sender<Result<(), AuditError>>),
    Head(oneshot::Sender<ChainHead>),
    SetHead(ChainHead, oneshot::Sender<()>),
    Reopen(oneshot::Sender<Result<(), AuditError>>),
    Resume(oneshot::Sender<Result<ChainHead, AuditError>>),
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
    /// [`AuditDevice::resume`] to continue one the sink can read back. Must be called within a
    /// Tokio runtime (it starts the device's writer task).
    pub fn with_sink(
        path: &str,
        kind: DeviceKind,
        format: FormatOptions,
        salt: Salt,
        sink: Box<dyn AuditSink>,
    ) -> Self {
        let chain_key = ChainKey::from_salt(&salt);
        let (tx, rx) = mpsc::channel(QUEUE);
        let discards = sink.discards();
        let writer = Writer { path: path.to_string(), sink, key: ChainKey::from_salt(&salt), head: ChainHead::GENESIS };
        let device = AuditDevice {
            path: path.to_string(),
            kind,
            chain_key,
            formatter: EntryFormatter::new(format, salt),
            discards,
            tx,
        };
        // The writer ends when the device is dropped and the queued lines are written.
        tokio::spawn(writer.run(rx));
        device
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

    fn stopped(&self) -> AuditError {
        AuditError::io(&self.path, std::io::Error::other("the audit device's writer has stopped"))
    }

    async fn ask<T>(&self, msg: impl FnOnce(oneshot::Sender<T>) -> Msg) -> Result<T, AuditError> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(msg(tx)).await.map_err(|_| self.stopped())?;
        rx.await.map_err(|_| self.stopped())
    }

    /// The chain's current head: seq and SHA-256 of the last line written.
    pub async fn chain_head(&self) -> ChainHead {
        self.ask(Msg::Head).await.unwrap_or(ChainHead::GENESIS)
    }

    /// Continues the chain from a head kept elsewhere (sinks that cannot be read back).
    pub async fn set_chain_head(&self, head: ChainHead) {
        let _ = self.ask(|tx| Msg::SetHead(head, tx)).await;
    }

    /// Recovers the chain from the last line of the device's log (file devices): after a restart
    /// the next line continues its numbering and links to it. A last line without a link (a
    /// foreign or damaged line) makes the next line seq 1, still linked to it; an incomplete last
    /// line is terminated first. Sinks that cannot be read back keep the current head.
    pub async fn resume(&self) -> Result<ChainHead, AuditError> {
        self.ask(Msg::Resume).await?
    }

    /// Writes the request entry. `Ok` once the sink took the whole line.
    pub async fn log_request(&self, input: &AuditInput) -> Result<(), AuditError> {
        if self.discards {
            return Ok(());
        }
        let entry = self.formatter.request_line(input, OffsetDateTime::now_utc())?;
        self.append(entry).await
    }

    /// Writes the response entry. `Ok` once the sink took the whole line.
    pub async fn log_response(&self, input: &AuditInput) -> Result<(), AuditError> {
        if self.discards {
            return Ok(());
        }
        let entry = self.formatter.response_line(input, OffsetDateTime::now_utc())?;
        self.append(entry).await
    }

    /// The line OpenBao writes when a device is enabled: a request entry for `sys/audit/test`
    /// with a fresh id, HMAC'd with a throw-away salt.
    pub async fn log_test_message(&self) -> Result<(), AuditError> {
        if self.discards {
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
        self.append(entry).await
    }

    /// Reopens the sink (SIGHUP / logrotate for files, reconnect for sockets). The chain goes
    /// on: the first line of a new file links to the last line of the rotated one.
    pub async fn reopen(&self) -> Result<(), AuditError> {
        self.ask(Msg::Reopen).await?
    }

    async fn append(&self, entry: Vec<u8>) -> Result<(), AuditError> {
        self.ask(|tx| Msg::Line(entry, tx)).await?
    }
}

/// The device's writer task: owns the sink and the chain head.
struct Writer {
    path: String,
    sink: Box<dyn AuditSink>,
    key: ChainKey,
    head: ChainHead,
}

type Waiter = oneshot::Sender<Result<(), AuditError>>;

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<Msg>) {
        let batches = self.sink.takes_batches();
        let mut deferred: Option<Msg> = None;
        loop {
            let msg = match deferred.take() {
                Some(m) => m,
                None => match rx.recv().await {
                    Some(m) => m,
                    None => return,
                },
            };
            match msg {
                Msg::Line(entry, tx) => {
                    let mut batch = vec![(entry, tx)];
                    let mut bytes = batch[0].0.len();
                    while batches && batch.len() < MAX_BATCH_LINES && bytes < MAX_BATCH_BYTES {
                        match rx.try_recv() {
                            Ok(Msg::Line(e, t)) => {
                                bytes += e.len();
                                batch.push((e, t));
                            }
                            Ok(other) => {
                                deferred = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    self.write(batch).await;
                }
                Msg::Head(tx) => {
                    let _ = tx.send(self.head);
                }
                Msg::SetHead(head, tx) => {
                    self.head = head;
                    let _ = tx.send(());
                }
                Msg::Reopen(tx) => {
                    let _ = tx.send(self.sink.reopen().await);
                }
                Msg::Resume(tx) => {
                    let r = match self.sink.recover_last_line().await {
                        Ok(Some(last)) => {
                            self.head = chain::head_after(Some(&last));
                            Ok(self.head)
                        }
                        Ok(None) => Ok(self.head),
                        Err(e) => Err(e),
                    };
                    let _ = tx.send(r);
                }
            }
        }
    }

    /// Links and writes a batch; every waiter gets the batch's outcome.
    async fn write(&mut self, batch: Vec<(Vec<u8>, Waiter)>) {
        let mut head = self.head;
        let mut record = Vec::with_capacity(batch.iter().map(|(e, _)| e.len() + 200).sum());
        let mut waiters = Vec::with_capacity(batch.len());
        for (entry, tx) in batch {
            let (line, next) = chain::link(&entry, &head, &self.key);
            record.extend_from_slice(&line);
            record.push(b'\n');
            head = next;
            waiters.push(tx);
        }
        match self.sink.write(record).await {
            Ok(()) => {
                self.head = head;
                for w in waiters {
                    let _ = w.send(Ok(()));
                }
            }
            Err(e) => {
                for w in waiters {
                    let _ = w.send(Err(replicate(&self.path, &e)));
                }
            }
        }
    }
}

/// The same failure for every entry of a failed batch.
fn replicate(path: &str, e: &AuditError) -> AuditError {
    match e {
        AuditError::Io { device, source } => {
            AuditError::Io { device: device.clone(), source: std::io::Error::new(source.kind(), source.to_string()) }
        }
        AuditError::Timeout { device, after } => AuditError::Timeout { device: device.clone(), after: *after },
        other => AuditError::io(path, std::io::Error::other(other.to_string())),
    }
}
