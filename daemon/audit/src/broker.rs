//! The broker: every enabled device gets every entry; fail-closed when none records it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::device::AuditDevice;
use crate::error::AuditError;
use crate::input::AuditInput;

/// The set of enabled devices, keyed by path ("file/", "audit-socket/", …).
#[derive(Default)]
pub struct AuditBroker {
    devices: RwLock<BTreeMap<String, Arc<AuditDevice>>>,
    request_failures: AtomicU64,
    response_failures: AtomicU64,
}

impl std::fmt::Debug for AuditBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditBroker").field("devices", &self.paths()).finish_non_exhaustive()
    }
}

fn normalize(path: &str) -> String {
    let p = path.trim_start_matches('/');
    if p.ends_with('/') {
        p.to_string()
    } else {
        format!("{p}/")
    }
}

impl AuditBroker {
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<AuditDevice>>> {
        self.devices.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<AuditDevice>>> {
        self.devices.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Enables a device at its path (a trailing "/" is added).
    pub fn register(&self, device: Arc<AuditDevice>) -> Result<(), AuditError> {
        let path = normalize(device.path());
        let mut devices = self.write();
        if devices.contains_key(&path) {
            return Err(AuditError::PathInUse(path));
        }
        devices.insert(path, device);
        Ok(())
    }

    /// Disables the device at `path`, returning it.
    pub fn deregister(&self, path: &str) -> Option<Arc<AuditDevice>> {
        self.write().remove(&normalize(path))
    }

    pub fn get(&self, path: &str) -> Option<Arc<AuditDevice>> {
        self.read().get(&normalize(path)).cloned()
    }

    /// Paths of the enabled devices, sorted.
    pub fn paths(&self) -> Vec<String> {
        self.read().keys().cloned().collect()
    }

    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    fn snapshot(&self) -> Vec<Arc<AuditDevice>> {
        self.read().values().cloned().collect()
    }

    /// Records the request entry on every device. `Ok` when no device is enabled, or when at
    /// least one recorded it; otherwise [`AuditError::NotRecorded`] and the core must refuse
    /// the request. Devices are written one after another (as OpenBao): a blocked socket device
    /// delays the request up to its write timeout.
    pub async fn log_request(&self, input: &AuditInput) -> Result<(), AuditError> {
        let devices = self.snapshot();
        let mut failed = 0;
        for d in &devices {
            if let Err(e) = d.log_request(input).await {
                failed += 1;
                self.request_failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(device = %d.path(), error = %e, "audit device failed to log the request");
            }
        }
        if !devices.is_empty() && failed == devices.len() {
            return Err(AuditError::NotRecorded { kind: "request", failed });
        }
        Ok(())
    }

    /// Records the response entry on every device; same rule as [`AuditBroker::log_request`].
    pub async fn log_response(&self, input: &AuditInput) -> Result<(), AuditError> {
        let devices = self.snapshot();
        let mut failed = 0;
        for d in &devices {
            if let Err(e) = d.log_response(input).await {
                failed += 1;
                self.response_failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(device = %d.path(), error = %e, "audit device failed to log the response");
            }
        }
        if !devices.is_empty() && failed == devices.len() {
            return Err(AuditError::NotRecorded { kind: "response", failed });
        }
        Ok(())
    }

    /// `sys/audit-hash/:path`.
    pub fn hash(&self, path: &str, input: &str) -> Result<String, AuditError> {
        self.get(path).map(|d| d.hash(input)).ok_or_else(|| AuditError::UnknownDevice(normalize(path)))
    }

    /// Reopens every device (SIGHUP). Returns the failures (path, error); devices that
    /// failed to reopen try again on their next entry.
    pub async fn reopen_all(&self) -> Vec<(String, AuditError)> {
        let mut errors = Vec::new();
        for d in self.snapshot() {
            if let Err(e) = d.reopen().await {
                errors.push((d.path().to_string(), e));
            }
        }
        errors
    }

    /// Device failures while logging requests so far (`vault.audit.log_request_failure`).
    pub fn request_failures(&self) -> u64 {
        self.request_failures.load(Ordering::Relaxed)
    }

    /// Device failures while logging responses so far (`vault.audit.log_response_failure`).
    pub fn response_failures(&self) -> u64 {
        self.response_failures.load(Ordering::Relaxed)
    }
}
