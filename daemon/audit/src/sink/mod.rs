//! Where a device's lines go. The file, socket and syslog sinks are OpenBao's three device types;
//! [`AuditSink`] is public so tests (and fault injection) can put any sink behind a device.

mod file;
mod socket;
mod syslog;

pub use file::FileSink;
pub use socket::SocketSink;
pub use syslog::SyslogSink;

use crate::error::AuditError;

/// The contract of a sink.
///
/// * `write` gets one complete record (a line and its final `\n`; several when
///   [`AuditSink::takes_batches`]) and returns `Ok` only once all of it was handed to the
///   operating system (file, socket, syslog socket). On `Err` the device counts the entries as
///   not recorded; a sink may retry once internally (OpenBao reopens or reconnects once), should
///   not leave a partial record behind when it can avoid it, and must bound how long it blocks
///   when it can.
/// * Records reach `write` one at a time per device, in chain order.
#[async_trait::async_trait]
pub trait AuditSink: Send + Sync {
    async fn write(&self, record: Vec<u8>) -> Result<(), AuditError>;

    /// Reopens the target (SIGHUP, log rotation). Default: nothing to do.
    async fn reopen(&self) -> Result<(), AuditError> {
        Ok(())
    }

    /// The last line previously written to the target (without its newline), if the sink can
    /// read its target back; used to continue the hash chain after a restart. A sink that finds
    /// an incomplete last line terminates it first.
    async fn recover_last_line(&self) -> Result<Option<Vec<u8>>, AuditError> {
        Ok(None)
    }

    /// True when the sink drops everything (`file_path=discard`): nothing is formatted or
    /// chained, and the entry counts as recorded (as in OpenBao).
    fn discards(&self) -> bool {
        false
    }

    /// True when one `write` may carry several records back to back (a file, a stream). The
    /// device then writes the lines queued while the previous write ran in one call; the
    /// records of that call succeed or fail together. Datagram sinks (UDP, syslog) keep one
    /// record per write.
    fn takes_batches(&self) -> bool {
        false
    }
}
