//! Tamper evidence: the hash chain finds deleted, inserted, reordered and edited lines, and
//! survives restarts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use coffer_audit::chain::strip_link;
use coffer_audit::{
    verify, verify_with, AuditDevice, AuditInput, ChainHead, ChainKey, DeviceConfig, FindingKind, InsertedHow,
    RequestInfo, Salt, VerifyOptions, VerifyReport,
};
use serde_json::{json, Value};

const SALT: &[u8] = b"chain-test-salt";

async fn device(path: &Path) -> AuditDevice {
    let opts: BTreeMap<String, String> = [("file_path".to_string(), path.to_str().expect("utf8").to_string())].into();
    let config = DeviceConfig::from_options("file", &opts).expect("config");
    AuditDevice::new("file/", config, Salt::new(SALT.to_vec())).await.expect("device")
}

fn input(n: usize) -> AuditInput {
    AuditInput {
        request: RequestInfo {
            id: format!("req-{n}"),
            operation: "update".into(),
            path: format!("secret/data/item{n}"),
            data: json!({"value": format!("v{n}"), "coffer_chain": "a data key of that name"}).as_object().cloned(),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// A log of `n` chained lines written by a real file device.
async fn log_with(n: usize) -> (tempfile::TempDir, PathBuf, Vec<String>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("audit.log");
    let d = device(&p).await;
    for i in 1..=n {
        d.log_request(&input(i)).await.expect("logged");
    }
    let lines = read_lines(&p);
    (dir, p, lines)
}

fn read_lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p).expect("read").lines().map(str::to_string).collect()
}

fn check(lines: &[String]) -> VerifyReport {
    let text = lines.iter().map(|l| format!("{l}\n")).collect::<String>();
    verify(text.as_bytes()).expect("readable")
}

fn check_keyed(lines: &[String]) -> VerifyReport {
    let text = lines.iter().map(|l| format!("{l}\n")).collect::<String>();
    let key = ChainKey::from_salt(&Salt::new(SALT.to_vec()));
    verify_with(text.as_bytes(), &VerifyOptions { key: Some(&key), expected_head: None }).expect("readable")
}

fn finding(r: &VerifyReport) -> (u64, FindingKind) {
    let f = r.finding.clone().expect("a finding");
    (f.line, f.kind)
}

/// An intact log verifies, with and without the key, from genesis; each line is an OpenBao
/// entry plus one trailing member, which stripping removes exactly.
#[tokio::test]
async fn t40_intact_log_verifies() {
    let (_d, _p, lines) = log_with(6).await;
    assert_eq!(check(&lines).to_string(), "intact: 6 lines, seq 1..6, links verified (HMACs not checked: no key)");
    assert_eq!(check_keyed(&lines).to_string(), "intact: 6 lines, seq 1..6, HMACs verified");
    for r in [check(&lines), check_keyed(&lines)] {
        assert!(r.is_intact(), "{r:?}");
        assert_eq!((r.lines, r.first_seq, r.starts_at_genesis), (6, Some(1), true));
        assert_eq!(r.last.map(|h| h.seq), Some(6));
    }
    let v: Value = serde_json::from_str(&lines[0]).expect("a chained line is JSON");
    assert_eq!(v["type"], json!("request"));
    let openbao: Value = serde_json::from_slice(&strip_link(lines[0].as_bytes()).expect("linked")).expect("json");
    let mut without = v.clone();
    without.as_object_mut().expect("object").remove("coffer_chain");
    assert_eq!(openbao, without);
    assert_eq!(
        strip_link(lines[0].as_bytes()).expect("linked").last(),
        Some(&b'}'),
        "the stripped line is the OpenBao entry"
    );
}

/// A deleted line is reported at the line after the gap, with the missing sequence numbers.
#[tokio::test]
async fn t41_deletion_detected() {
    let (_d, _p, mut lines) = log_with(6).await;
    lines.remove(2); // seq 3
    assert_eq!(finding(&check(&lines)), (3, FindingKind::Deleted { first_missing: 3, count: 1 }));
    lines.remove(2); // seq 4 too
    let r = check(&lines);
    assert_eq!(finding(&r), (3, FindingKind::Deleted { first_missing: 3, count: 2 }));
    assert_eq!(
        r.finding.expect("finding").to_string(),
        "line 3: 2 entries deleted before this line (seq 3..4 missing)"
    );
}

/// An inserted line is found: a plain OpenBao line (no link), a replayed copy of an earlier line,
/// or a line with a made-up link.
#[tokio::test]
async fn t42_insertion_detected() {
    let (_d, _p, lines) = log_with(5).await;
    let openbao_line = String::from_utf8(strip_link(lines[1].as_bytes()).expect("linked")).expect("utf8");
    let mut a = lines.clone();
    a.insert(3, openbao_line);
    assert_eq!(finding(&check(&a)), (4, FindingKind::Inserted(InsertedHow::NoChainLink)));

    let mut b = lines.clone();
    b.insert(3, lines[0].clone());
    assert_eq!(finding(&check(&b)), (4, FindingKind::Inserted(InsertedHow::ReplayedSeq(1))));

    // A forged line claiming seq 4 with a wrong prev, before the real seq 4.
    let forged = lines[3].replace(&lines[3][lines[3].find("\"prev\":\"").expect("prev") + 8..][..64], &"ab".repeat(32));
    let mut c = lines.clone();
    c.insert(3, forged.clone());
    assert_eq!(finding(&check(&c)), (4, FindingKind::Inserted(InsertedHow::NotLinked)));
    // With the key, the forged line's HMAC fails at once.
    assert_eq!(finding(&check_keyed(&c)), (4, FindingKind::BadMac));
}

/// An edited line is found: without the key at the edited line (its hash no longer matches the
/// next line's prev), with the key by its own HMAC — also for the last line.
#[tokio::test]
async fn t43_edit_detected() {
    let (_d, _p, lines) = log_with(5).await;
    let mut e = lines.clone();
    e[2] = e[2].replace("secret/data/item3", "secret/data/itemX");
    assert_ne!(e[2], lines[2]);
    assert_eq!(finding(&check(&e)), (3, FindingKind::Edited));
    assert_eq!(finding(&check_keyed(&e)), (3, FindingKind::BadMac));

    let mut last = lines.clone();
    last[4] = last[4].replace("item5", "item9");
    assert!(check(&last).is_intact(), "without the key the last line cannot be checked");
    assert_eq!(finding(&check_keyed(&last)), (5, FindingKind::BadMac));

    // Editing the link itself (seq) does not go unnoticed either.
    let mut s = lines.clone();
    s[2] = s[2].replace("\"seq\":3,", "\"seq\":7,");
    assert!(!check(&s).is_intact());
    assert_eq!(finding(&check_keyed(&s)), (3, FindingKind::BadMac));
}

/// Swapped lines are reported as reordered at the first line out of place.
#[tokio::test]
async fn t44_reorder_detected() {
    let (_d, _p, mut lines) = log_with(6).await;
    lines.swap(2, 3);
    let r = check(&lines);
    assert_eq!(finding(&r), (3, FindingKind::Reordered { seq: 4, other_seq: 3, other_line: 4 }));
    // Moved far down.
    let (_d2, _p2, mut far) = log_with(6).await;
    let moved = far.remove(1);
    far.push(moved);
    assert_eq!(finding(&check(&far)), (2, FindingKind::Reordered { seq: 3, other_seq: 2, other_line: 6 }));
}

/// Lines cut from the end are found when the device's head is known; a partial last line is
/// reported.
#[tokio::test]
async fn t45_truncation_and_torn_line() {
    let (_d, p, mut lines) = log_with(4).await;
    let d = device(&p).await; // resumes: knows the head
    let head = d.chain_head().await;
    assert_eq!(head.seq, 4);
    lines.pop();
    let text = lines.iter().map(|l| format!("{l}\n")).collect::<String>();
    let r = verify_with(text.as_bytes(), &VerifyOptions { key: None, expected_head: Some(head) }).expect("read");
    assert!(matches!(finding(&r).1, FindingKind::Truncated { expected, .. } if expected == head));

    let torn = format!("{}{}", text, &lines[0][..40]);
    assert_eq!(finding(&verify(torn.as_bytes()).expect("read")), (4, FindingKind::Torn));
}

/// After a restart the device reads the last line back and continues the chain: numbering goes
/// on and the whole file verifies, with the key too.
#[tokio::test]
async fn t46_resume_continues_chain() {
    let (_dir, p, _) = log_with(3).await;
    let d = device(&p).await;
    let head = d.chain_head().await;
    assert_eq!(head.seq, 3);
    assert_eq!(head, ChainHead { seq: 3, hash: head.hash });
    d.log_request(&input(4)).await.expect("logged");
    drop(d);
    let d = device(&p).await;
    assert_eq!(d.resume().await.expect("resume").seq, 4);
    d.log_request(&input(5)).await.expect("logged");
    let lines = read_lines(&p);
    assert_eq!(lines.len(), 5);
    let r = check_keyed(&lines);
    assert!(r.is_intact() && r.starts_at_genesis && r.last.map(|h| h.seq) == Some(5), "{r:?}");
}

/// A log whose last line is partial (a crash mid-write) is terminated on restart; the chain then
/// restarts at seq 1 linked to that line, and verify points at the damaged line.
#[tokio::test]
async fn t47_resume_after_torn_line() {
    let (_dir, p, lines) = log_with(2).await;
    let mut f = std::fs::OpenOptions::new().append(true).open(&p).expect("open");
    std::io::Write::write_all(&mut f, &lines[0].as_bytes()[..30]).expect("write");
    drop(f);
    let d = device(&p).await;
    assert_eq!(d.chain_head().await.seq, 0);
    d.log_request(&input(3)).await.expect("logged");
    let lines = read_lines(&p);
    assert_eq!(lines.len(), 4);
    let v: Value = serde_json::from_str(&lines[3]).expect("json");
    assert_eq!(v["coffer_chain"]["seq"], json!(1));
    assert_eq!(finding(&check(&lines)), (3, FindingKind::Inserted(InsertedHow::NoChainLink)));
    let tail = check(&lines[3..]);
    assert!(tail.is_intact());
}

/// Concurrent requests on one device still produce one intact chain: lines are linked in the
/// order they reach the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t48_concurrent_writers_keep_the_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("audit.log");
    let d = std::sync::Arc::new(device(&p).await);
    let mut tasks = Vec::new();
    for i in 0..64 {
        let d = std::sync::Arc::clone(&d);
        tasks.push(tokio::spawn(async move {
            d.log_request(&input(i)).await.expect("request");
            d.log_response(&input(i)).await.expect("response");
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let lines = read_lines(&p);
    assert_eq!(lines.len(), 128);
    let r = check_keyed(&lines);
    assert!(r.is_intact() && r.last.map(|h| h.seq) == Some(128), "{r:?}");
}
