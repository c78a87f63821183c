//! The broker fails closed: an entry no enabled device recorded is an error.

use std::collections::BTreeMap;
use std::sync::Arc;

use coffer_audit::sink::AuditSink;
use coffer_audit::{
    AuditBroker, AuditDevice, AuditError, AuditInput, DeviceConfig, DeviceKind, FormatOptions, RequestInfo, Salt,
};

/// A sink that always fails (fault injection).
struct Broken;

#[async_trait::async_trait]
impl AuditSink for Broken {
    async fn write(&self, _record: Vec<u8>) -> Result<(), AuditError> {
        Err(AuditError::Io { device: "broken/".into(), source: std::io::Error::other("injected") })
    }
}

fn broken(path: &str) -> Arc<AuditDevice> {
    Arc::new(AuditDevice::with_sink(
        path,
        DeviceKind::File,
        FormatOptions::default(),
        Salt::generate(),
        Box::new(Broken),
    ))
}

async fn file_device(path: &str, file: &std::path::Path) -> Arc<AuditDevice> {
    let opts: BTreeMap<String, String> = [("file_path".to_string(), file.to_str().expect("utf8").to_string())].into();
    let config = DeviceConfig::from_options("file", &opts).expect("config");
    Arc::new(AuditDevice::new(path, config, Salt::generate()).await.expect("device"))
}

/// `/dev/full`: every write fails with ENOSPC, like a full disk. mode=0000 leaves the device
/// node's mode alone.
async fn full_disk_device(path: &str) -> Arc<AuditDevice> {
    let opts: BTreeMap<String, String> =
        [("file_path".to_string(), "/dev/full".to_string()), ("mode".to_string(), "0000".to_string())].into();
    let config = DeviceConfig::from_options("file", &opts).expect("config");
    Arc::new(AuditDevice::new(path, config, Salt::generate()).await.expect("device"))
}

fn input() -> AuditInput {
    AuditInput {
        request: RequestInfo {
            id: "r".into(),
            operation: "read".into(),
            path: "secret/data/x".into(),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// With no device enabled, requests are not audited and not refused (OpenBao's behaviour).
#[tokio::test]
async fn t30_no_devices_is_ok() {
    let b = AuditBroker::new();
    b.log_request(&input()).await.expect("nothing to record");
    b.log_response(&input()).await.expect("nothing to record");
}

/// Every enabled device failing (a full disk, an injected fault) fails the request and the
/// response, with OpenBao's message.
#[tokio::test]
async fn t31_all_failing_is_refused() {
    let b = AuditBroker::new();
    b.register(full_disk_device("full/").await).expect("register");
    b.register(broken("broken/")).expect("register");
    let err = b.log_request(&input()).await.expect_err("fail closed");
    assert!(matches!(err, AuditError::NotRecorded { kind: "request", failed: 2 }));
    assert_eq!(err.to_string(), "no audit backend succeeded in logging the request");
    let err = b.log_response(&input()).await.expect_err("fail closed");
    assert_eq!(err.to_string(), "no audit backend succeeded in logging the response");
    assert_eq!((b.request_failures(), b.response_failures()), (2, 2));
}

/// One of two devices failing is enough to go on: the other recorded the entry.
#[tokio::test]
async fn t32_one_of_two_failing_is_ok() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("audit.log");
    let b = AuditBroker::new();
    b.register(full_disk_device("full/").await).expect("register");
    b.register(file_device("file/", &log).await).expect("register");
    b.log_request(&input()).await.expect("recorded by file/");
    b.log_response(&input()).await.expect("recorded by file/");
    assert_eq!(std::fs::read_to_string(&log).expect("read").lines().count(), 2);
    assert_eq!(b.request_failures(), 1);
}

/// Registry: paths get a trailing slash, duplicates are refused, audit-hash uses the device's
/// salt, unknown paths are errors.
#[tokio::test]
async fn t33_registry_and_hash() {
    let b = AuditBroker::new();
    let salt = Salt::new(b"k".to_vec());
    let d = Arc::new(AuditDevice::with_sink(
        "file",
        DeviceKind::File,
        FormatOptions::default(),
        salt.duplicate(),
        Box::new(Broken),
    ));
    b.register(d).expect("register");
    assert!(matches!(b.register(broken("file/")), Err(AuditError::PathInUse(_))));
    assert_eq!(b.paths(), vec!["file/".to_string()]);
    assert_eq!(b.hash("file", "s3cr3t").expect("hash"), salt.hmac("s3cr3t"));
    assert!(matches!(b.hash("nope", "x"), Err(AuditError::UnknownDevice(_))));
    assert!(b.deregister("file/").is_some());
    assert!(b.is_empty());
}

/// A sink that fails while `down` is set, and otherwise appends to memory.
struct Flaky {
    buf: Arc<std::sync::Mutex<Vec<u8>>>,
    down: Arc<std::sync::atomic::AtomicBool>,
}

#[async_trait::async_trait]
impl AuditSink for Flaky {
    async fn write(&self, record: Vec<u8>) -> Result<(), AuditError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(AuditError::Io { device: "flaky/".into(), source: std::io::Error::other("disk full") });
        }
        self.buf.lock().expect("lock").extend_from_slice(&record);
        Ok(())
    }

    fn takes_batches(&self) -> bool {
        true
    }
}

/// While the only device fails, requests are refused; once it works again, entries resume and
/// the log is one intact chain holding exactly the entries that were accepted.
#[tokio::test]
async fn t34_outage_refuses_then_resumes_with_intact_chain() {
    let buf = Arc::new(std::sync::Mutex::new(Vec::new()));
    let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let device = AuditDevice::with_sink(
        "flaky/",
        DeviceKind::File,
        FormatOptions::default(),
        Salt::new(b"k".to_vec()),
        Box::new(Flaky { buf: Arc::clone(&buf), down: Arc::clone(&down) }),
    );
    let key = coffer_audit::ChainKey::from_salt(&Salt::new(b"k".to_vec()));
    let b = AuditBroker::new();
    b.register(Arc::new(device)).expect("register");
    b.log_request(&input()).await.expect("accepted");
    down.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(b.log_request(&input()).await.is_err(), "refused during the outage");
    assert!(b.log_request(&input()).await.is_err(), "refused during the outage");
    down.store(false, std::sync::atomic::Ordering::SeqCst);
    b.log_request(&input()).await.expect("accepted again");
    let log = buf.lock().expect("lock").clone();
    assert_eq!(log.iter().filter(|&&c| c == b'\n').count(), 2, "only accepted entries are in the log");
    let report = coffer_audit::verify_with(
        log.as_slice(),
        &coffer_audit::VerifyOptions { key: Some(&key), expected_head: None },
    )
    .expect("read");
    assert!(report.is_intact() && report.last.map(|h| h.seq) == Some(2), "{report:?}");
}
