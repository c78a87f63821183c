//! `coffer audit verify` checks the tamper-evident chain of a file audit log: an intact log
//! passes (exit 0), a log with a deleted or edited line fails (exit 2) naming the line.
mod common;

use coffer_audit::{AuditDevice, DeviceConfig, Salt};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

async fn write_log(path: &Path, entries: usize) {
    let mut options = BTreeMap::new();
    options.insert("file_path".to_string(), path.display().to_string());
    let config = DeviceConfig::from_options("file", &options).expect("file device options");
    let device = AuditDevice::new("file/", config, Salt::generate()).await.expect("device");
    for _ in 0..entries {
        device.log_test_message().await.expect("audit line written");
    }
}

fn verify(path: &Path) -> (i32, String) {
    let out = Command::new(common::coffer_bin()).args(["audit", "verify"]).arg(path).output().expect("run coffer");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// An intact log verifies; deleting a line or editing one is reported with exit code 2.
#[tokio::test]
async fn audit_verify_detects_deleted_and_edited_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("audit.log");
    write_log(&log, 5).await;
    let (code, out) = verify(&log);
    assert_eq!(code, 0, "intact log: {out}");

    let text = std::fs::read_to_string(&log).expect("read log");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5);

    let deleted = dir.path().join("deleted.log");
    let mut kept = lines.clone();
    kept.remove(2);
    std::fs::write(&deleted, kept.join("\n") + "\n").expect("write");
    let (code, out) = verify(&deleted);
    assert_eq!(code, 2, "deleted line: {out}");

    let edited = dir.path().join("edited.log");
    let mut changed: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    changed[1] = changed[1].replacen("\"type\"", "\"typ3\"", 1);
    std::fs::write(&edited, changed.join("\n") + "\n").expect("write");
    let (code, out) = verify(&edited);
    assert_eq!(code, 2, "edited line: {out}");
}
