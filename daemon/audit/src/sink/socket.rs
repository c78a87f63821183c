//! The `socket` device: writes each line to a TCP, UDP or Unix stream socket. A peer that does
//! not read blocks the write up to `write_timeout`; then the device reconnects and tries once
//! more (as OpenBao), and fails.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket, UnixStream};
use tokio::sync::Mutex;

use super::AuditSink;
use crate::config::{SocketConfig, SocketType};
use crate::error::AuditError;

/// A `socket` device's sink. Connects lazily, on the first entry.
pub struct SocketSink {
    name: String,
    config: SocketConfig,
    conn: Mutex<Option<Conn>>,
}

enum Conn {
    Tcp(TcpStream),
    Udp(UdpSocket),
    Unix(UnixStream),
}

impl SocketSink {
    pub fn new(name: &str, config: SocketConfig) -> Self {
        SocketSink { name: name.to_string(), config, conn: Mutex::new(None) }
    }

    fn timeout_err(&self) -> AuditError {
        AuditError::Timeout { device: self.name.clone(), after: self.config.write_timeout }
    }

    async fn with_timeout<T>(
        &self,
        fut: impl std::future::Future<Output = std::io::Result<T>>,
    ) -> Result<T, AuditError> {
        match tokio::time::timeout(self.config.write_timeout, fut).await {
            Ok(r) => r.map_err(|e| AuditError::io(&self.name, e)),
            Err(_) => Err(self.timeout_err()),
        }
    }

    async fn connect(&self) -> Result<Conn, AuditError> {
        let addr = &self.config.address;
        match self.config.socket_type {
            SocketType::Tcp => {
                let s = self.with_timeout(TcpStream::connect(addr.as_str())).await?;
                // Each entry is one write; do not hold it back.
                s.set_nodelay(true).map_err(|e| AuditError::io(&self.name, e))?;
                Ok(Conn::Tcp(s))
            }
            SocketType::Udp => {
                let target: SocketAddr =
                    self.with_timeout(tokio::net::lookup_host(addr.as_str())).await?.next().ok_or_else(|| {
                        AuditError::io(
                            &self.name,
                            std::io::Error::new(std::io::ErrorKind::NotFound, "address did not resolve"),
                        )
                    })?;
                let local = if target.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
                let s = UdpSocket::bind(local).await.map_err(|e| AuditError::io(&self.name, e))?;
                s.connect(target).await.map_err(|e| AuditError::io(&self.name, e))?;
                Ok(Conn::Udp(s))
            }
            SocketType::Unix => Ok(Conn::Unix(self.with_timeout(UnixStream::connect(addr.as_str())).await?)),
        }
    }

    async fn send(&self, conn: &mut Conn, record: &[u8]) -> Result<(), AuditError> {
        match conn {
            Conn::Tcp(s) => self.with_timeout(s.write_all(record)).await,
            Conn::Unix(s) => self.with_timeout(s.write_all(record)).await,
            Conn::Udp(s) => {
                let n = self.with_timeout(s.send(record)).await?;
                if n == record.len() {
                    Ok(())
                } else {
                    Err(AuditError::io(
                        &self.name,
                        std::io::Error::new(std::io::ErrorKind::WriteZero, "short datagram"),
                    ))
                }
            }
        }
    }

    async fn attempt(&self, slot: &mut Option<Conn>, record: &[u8]) -> Result<(), AuditError> {
        if slot.is_none() {
            *slot = Some(self.connect().await?);
        }
        let result = match slot.as_mut() {
            Some(conn) => self.send(conn, record).await,
            None => Ok(()),
        };
        if result.is_err() {
            *slot = None;
        }
        result
    }

    pub fn write_timeout(&self) -> Duration {
        self.config.write_timeout
    }
}

#[async_trait::async_trait]
impl AuditSink for SocketSink {
    async fn write(&self, record: Vec<u8>) -> Result<(), AuditError> {
        let mut slot = self.conn.lock().await;
        match self.attempt(&mut slot, &record).await {
            Ok(()) => Ok(()),
            Err(first) => {
                tracing::warn!(device = %self.name, error = %first, "audit socket write failed; reconnecting");
                // Reconnect and try once more, as OpenBao does.
                self.attempt(&mut slot, &record).await
            }
        }
    }

    fn takes_batches(&self) -> bool {
        self.config.socket_type != SocketType::Udp
    }

    async fn reopen(&self) -> Result<(), AuditError> {
        let mut slot = self.conn.lock().await;
        *slot = None;
        *slot = Some(self.connect().await?);
        Ok(())
    }
}
