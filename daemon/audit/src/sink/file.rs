//! The `file` device: appends lines to a file (or stdout), reopens it on demand (SIGHUP,
//! logrotate), and reads its last line back to continue the chain after a restart.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::AuditSink;
use crate::config::{FileConfig, FileTarget};
use crate::error::AuditError;

/// Longest last line `recover_last_line` reads back.
const MAX_LINE: u64 = 64 << 20;

/// A `file` device's sink.
pub struct FileSink {
    name: String,
    inner: Inner,
}

struct Inner {
    target: FileTarget,
    mode: Option<u32>,
    file: Mutex<Option<File>>,
}

impl FileSink {
    /// Opens the file now (creating it and its directories), so a bad path fails at enable time
    /// as in OpenBao. `mode` 0000 (`None`) requires the file to exist and keeps its mode.
    pub fn open(name: &str, config: &FileConfig) -> Result<Self, AuditError> {
        let inner = Inner { target: config.target.clone(), mode: config.mode, file: Mutex::new(None) };
        if let FileTarget::Path(p) = &config.target {
            if config.mode.is_none() {
                std::fs::metadata(p).map_err(|e| AuditError::io(name, e))?;
            }
            let f = open_file(p, config.mode).map_err(|e| {
                AuditError::InvalidConfig(format!(
                    "sanity check failed; unable to open {:?} for writing: {e}",
                    p.display().to_string()
                ))
            })?;
            *lock(&inner.file) = Some(f);
        }
        Ok(FileSink { name: name.to_string(), inner })
    }

    pub fn path(&self) -> Option<&Path> {
        match &self.inner.target {
            FileTarget::Path(p) => Some(p),
            _ => None,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn open_file(path: &Path, mode: Option<u32>) -> std::io::Result<File> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() && !dir.exists() {
            // OpenBao creates missing directories with the file's mode (0600: unusable as a
            // directory by anyone but root); 0700 keeps them private and usable.
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        }
    }
    let f = OpenOptions::new().append(true).create(true).mode(mode.unwrap_or(0o600)).open(path)?;
    // The file may have existed with another mode: set it, as OpenBao does (not /dev/null).
    if let Some(m) = mode {
        if path != Path::new("/dev/null") {
            f.set_permissions(Permissions::from_mode(m))?;
        }
    }
    Ok(f)
}

/// Appends all of `record`, or, when the write fails part way (a full disk), cuts the file back
/// to where it was so no partial line is left for the next entry to merge with.
fn append_whole(f: &mut File, record: &[u8]) -> std::io::Result<()> {
    let before = f.metadata().map(|m| m.len()).ok();
    match f.write_all(record) {
        Ok(()) => Ok(()),
        Err(e) => {
            if let Some(len) = before {
                if f.metadata().map(|m| m.len() > len).unwrap_or(false) {
                    // Best effort: a character device (/dev/full) cannot be truncated.
                    let _ = f.set_len(len);
                }
            }
            Err(e)
        }
    }
}

impl Inner {
    fn write_blocking(&self, record: &[u8]) -> std::io::Result<()> {
        let path: &PathBuf = match &self.target {
            FileTarget::Discard => return Ok(()),
            FileTarget::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(record)?;
                return out.flush();
            }
            FileTarget::Path(p) => p,
        };
        let mut guard = lock(&self.file);
        if guard.is_none() {
            *guard = Some(open_file(path, self.mode)?);
        }
        let first = match guard.as_mut() {
            Some(f) => append_whole(f, record),
            None => Ok(()),
        };
        if first.is_ok() {
            return Ok(());
        }
        // As OpenBao: close, reopen and try once more.
        *guard = None;
        let mut f = open_file(path, self.mode)?;
        append_whole(&mut f, record)?;
        *guard = Some(f);
        Ok(())
    }

    fn reopen_blocking(&self) -> std::io::Result<()> {
        if let FileTarget::Path(p) = &self.target {
            let mut guard = lock(&self.file);
            *guard = None;
            *guard = Some(open_file(p, self.mode)?);
        }
        Ok(())
    }

    fn recover_blocking(&self) -> std::io::Result<Option<Vec<u8>>> {
        let FileTarget::Path(p) = &self.target else {
            return Ok(None);
        };
        let mut f = match File::open(p) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let len = f.metadata()?.len();
        if len == 0 {
            return Ok(None);
        }
        let mut last = [0u8; 1];
        f.seek(SeekFrom::Start(len - 1))?;
        f.read_exact(&mut last)?;
        let torn = last[0] != b'\n';
        let end = if torn { len } else { len - 1 };
        // Scan back for the newline before the last line.
        let mut start = 0;
        let mut pos = end;
        let mut chunk = vec![0u8; 64 * 1024];
        'scan: while pos > 0 {
            let n = chunk.len().min(pos as usize);
            pos -= n as u64;
            f.seek(SeekFrom::Start(pos))?;
            f.read_exact(&mut chunk[..n])?;
            if let Some(i) = chunk[..n].iter().rposition(|&b| b == b'\n') {
                start = pos + i as u64 + 1;
                break 'scan;
            }
            if end - pos > MAX_LINE {
                return Err(std::io::Error::other("last line of the audit log is too long"));
            }
        }
        let mut line = vec![0u8; (end - start) as usize];
        f.seek(SeekFrom::Start(start))?;
        f.read_exact(&mut line)?;
        if torn {
            // Terminate the partial line so the next entry starts on a line of its own.
            let mut guard = lock(&self.file);
            if guard.is_none() {
                *guard = Some(open_file(p, self.mode)?);
            }
            if let Some(w) = guard.as_mut() {
                w.write_all(b"\n")?;
            }
        }
        Ok(Some(line))
    }
}

/// Runs a file operation. On a multi-threaded runtime it runs in place but tells Tokio this
/// worker blocks (a stalled disk then holds up audited requests, not the runtime's other tasks);
/// on a current-thread runtime it simply runs. Measured here: running in place costs a fraction
/// of a `spawn_blocking` round trip per write, which dominated one-at-a-time auditing.
fn blocking<T>(name: &str, f: impl FnOnce() -> std::io::Result<T>) -> Result<T, AuditError> {
    let multi = matches!(
        tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()),
        Ok(tokio::runtime::RuntimeFlavor::MultiThread)
    );
    let r = if multi { tokio::task::block_in_place(f) } else { f() };
    r.map_err(|e| AuditError::io(name, e))
}

#[async_trait::async_trait]
impl AuditSink for FileSink {
    async fn write(&self, record: Vec<u8>) -> Result<(), AuditError> {
        blocking(&self.name, || self.inner.write_blocking(&record))
    }

    async fn reopen(&self) -> Result<(), AuditError> {
        blocking(&self.name, || self.inner.reopen_blocking())
    }

    async fn recover_last_line(&self) -> Result<Option<Vec<u8>>, AuditError> {
        blocking(&self.name, || self.inner.recover_blocking())
    }

    fn discards(&self) -> bool {
        self.inner.target == FileTarget::Discard
    }

    fn takes_batches(&self) -> bool {
        true
    }
}
