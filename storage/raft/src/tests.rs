//! Tests of the Raft backend. Each test's doc line states the property it proves.
use super::*;
use coffer_storage::testing::conformance;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use tempfile::TempDir;

fn cfg(dir: &Path) -> RaftConfig {
    RaftConfig { path: dir.to_path_buf(), node_id: "node-a".into() }
}

/// Opens, retrying while a just-dropped instance in this process still holds RocksDB's lock.
async fn open_retry(dir: &Path) -> Arc<RaftStorage> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match RaftStorage::open(cfg(dir)).await {
            Ok(s) => return s,
            Err(StorageError::Backend(m)) if m.contains("in use") && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("open {}: {e}", dir.display()),
        }
    }
}

async fn bootstrapped() -> (TempDir, Arc<RaftStorage>) {
    let dir = TempDir::new().expect("tempdir");
    let s = RaftStorage::open(cfg(dir.path())).await.expect("open");
    s.bootstrap().await.expect("bootstrap");
    (dir, s)
}

/// A bootstrapped node with its directory, as an owned `Backend` for the conformance suite.
struct Harness {
    s: Arc<RaftStorage>,
    _dir: TempDir,
}

#[async_trait]
impl Backend for Harness {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.s.get(key).await
    }
    async fn put(&self, key: &str, value: Vec<u8>) -> Result<()> {
        self.s.put(key, value).await
    }
    async fn delete(&self, key: &str) -> Result<()> {
        self.s.delete(key).await
    }
    async fn list_page(&self, prefix: &str, after: Option<&str>, limit: Option<usize>) -> Result<Vec<String>> {
        self.s.list_page(prefix, after, limit).await
    }
    async fn transaction(&self, ops: Vec<TxnOp>) -> Result<()> {
        self.s.transaction(ops).await
    }
    fn kind(&self) -> &'static str {
        self.s.kind()
    }
}

/// The Raft backend meets the physical backend contract (the shared conformance suite).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_conformance() {
    conformance::run(|| async {
        let (dir, s) = bootstrapped().await;
        Harness { s, _dir: dir }
    })
    .await;
}

/// Listing seeks past folders and honours `after` inside and at folder names.
#[tokio::test]
async fn t11_list_skips_folder_contents() {
    let (_dir, s) = bootstrapped().await;
    for k in ["a/x/1", "a/x/2", "a/x/deep/3", "a/x0", "a/y", "a/", "b"] {
        s.put(k, vec![1]).await.expect("put");
    }
    assert_eq!(s.list("a/").await.expect("list"), vec!["x/", "x0", "y"]);
    assert_eq!(s.list_page("a/", Some("x/"), None).await.expect("list"), vec!["x0", "y"]);
    assert_eq!(s.list_page("a/", Some("x"), Some(1)).await.expect("list"), vec!["x/"]);
    assert_eq!(s.list_page("", None, Some(1)).await.expect("list"), vec!["a/"]);
    assert_eq!(s.kind(), "raft");
}

/// Bootstrap makes the node leader in well under a second, and calling it again is harmless.
#[tokio::test]
async fn t20_bootstrap_is_fast_and_idempotent() {
    let dir = TempDir::new().expect("tempdir");
    let s = RaftStorage::open(cfg(dir.path())).await.expect("open");
    assert!(!s.is_initialized().await);
    let t = Instant::now();
    s.bootstrap().await.expect("bootstrap");
    let took = t.elapsed();
    eprintln!("bootstrap took {took:?}");
    assert!(took < Duration::from_secs(1), "bootstrap took {took:?}");
    assert!(s.is_initialized().await);
    s.bootstrap().await.expect("second bootstrap");
    s.put("k", b"v".to_vec()).await.expect("put after bootstrap");
    let st = s.status().expect("status");
    assert!(st.is_leader);
    assert_eq!(st.leader.as_deref(), Some("node-a"));
    assert_eq!(st.voters, vec!["node-a".to_string()]);
    s.shutdown().await.expect("shutdown");
    // Reopened, it is still initialized and bootstrap stays a no-op.
    let s = RaftStorage::open(cfg(dir.path())).await.expect("reopen");
    assert!(s.is_initialized().await);
    s.bootstrap().await.expect("bootstrap after reopen");
    assert_eq!(s.get("k").await.expect("get").as_deref(), Some(&b"v"[..]));
}

/// Before bootstrap, writes fail at once with Unavailable("... not initialized"); reads work.
#[tokio::test]
async fn t21_writes_before_bootstrap_fail_unavailable() {
    let dir = TempDir::new().expect("tempdir");
    let s = RaftStorage::open(cfg(dir.path())).await.expect("open");
    let t = Instant::now();
    let err = s.put("k", vec![1]).await;
    assert!(matches!(&err, Err(StorageError::Unavailable(m)) if m.contains("not initialized")), "{err:?}");
    let err = s.transaction(vec![TxnOp::Delete { key: "k".into() }]).await;
    assert!(matches!(&err, Err(StorageError::Unavailable(m)) if m.contains("not initialized")), "{err:?}");
    let err = s.wait_ready(Duration::from_secs(5)).await;
    assert!(matches!(&err, Err(StorageError::Unavailable(_))), "{err:?}");
    assert!(t.elapsed() < Duration::from_secs(1), "failing took {:?}", t.elapsed());
    assert_eq!(s.get("k").await.expect("get"), None);
    assert!(s.list("").await.expect("list").is_empty());
}

/// Data written before a clean shutdown is there after reopening, and the node leads again at once.
#[tokio::test]
async fn t30_data_survives_shutdown_and_reopen() {
    let (dir, s) = bootstrapped().await;
    for i in 0..50u8 {
        s.put(&format!("d/{i}"), vec![i; 3]).await.expect("put");
    }
    s.delete("d/7").await.expect("delete");
    s.shutdown().await.expect("shutdown");
    s.shutdown().await.expect("second shutdown is a no-op");
    assert!(matches!(s.get("d/1").await, Err(StorageError::Unavailable(_))), "reads fail after shutdown");
    assert!(matches!(s.put("d/1", vec![]).await, Err(StorageError::Unavailable(_))));

    // shutdown returned: the directory opens again without retrying.
    let s = RaftStorage::open(cfg(dir.path())).await.expect("reopen right after shutdown");
    let t = Instant::now();
    s.wait_ready(Duration::from_secs(5)).await.expect("ready");
    eprintln!("ready after reopen in {:?}", t.elapsed());
    assert_eq!(s.get("d/49").await.expect("get"), Some(vec![49; 3]));
    assert_eq!(s.get("d/7").await.expect("get"), None);
    assert_eq!(s.list("d/").await.expect("list").len(), 49);
    s.put("d/new", vec![9]).await.expect("write after reopen");
    assert!(t.elapsed() < Duration::from_secs(2), "first write after reopen took {:?}", t.elapsed());
    s.shutdown().await.expect("shutdown");
}

/// Data survives dropping the storage without calling shutdown (reopen once the lock is released).
#[tokio::test]
async fn t31_data_survives_drop_without_shutdown() {
    let (dir, s) = bootstrapped().await;
    s.transaction(vec![
        TxnOp::Put { key: "x/a".into(), value: b"1".to_vec() },
        TxnOp::Put { key: "x/b".into(), value: b"2".to_vec() },
    ])
    .await
    .expect("txn");
    drop(s);
    let s = open_retry(dir.path()).await;
    s.wait_ready(Duration::from_secs(5)).await.expect("ready");
    assert_eq!(s.get("x/a").await.expect("get").as_deref(), Some(&b"1"[..]));
    assert_eq!(s.get("x/b").await.expect("get").as_deref(), Some(&b"2"[..]));
    s.put("x/c", vec![]).await.expect("write after reopen");
}

/// Opening a directory that another open instance holds fails with a clear Backend error.
#[tokio::test]
async fn t32_second_open_of_held_directory_fails() {
    let (dir, _s) = bootstrapped().await;
    let err = RaftStorage::open(cfg(dir.path())).await.map(|_| ());
    match err {
        Err(StorageError::Backend(m)) => {
            assert!(m.contains("in use") && m.contains(&dir.path().display().to_string()), "{m}")
        }
        other => panic!("expected a Backend error, got {other:?}"),
    }
}

/// The node name is recorded: a different name is refused, an empty one uses the recorded name.
#[tokio::test]
async fn t33_node_identity_is_persisted() {
    let (dir, s) = bootstrapped().await;
    s.shutdown().await.expect("shutdown");
    let other = RaftConfig { path: dir.path().to_path_buf(), node_id: "node-b".into() };
    let err = RaftStorage::open(other).await.map(|_| ());
    assert!(matches!(&err, Err(StorageError::Backend(m)) if m.contains("node-a")), "{err:?}");
    let unnamed = RaftConfig { path: dir.path().to_path_buf(), node_id: String::new() };
    let s = open_retry_cfg(unnamed).await;
    assert_eq!(s.node_id(), "node-a");
    s.wait_ready(Duration::from_secs(5)).await.expect("ready");
    let fresh = TempDir::new().expect("tempdir");
    let err = RaftStorage::open(RaftConfig { path: fresh.path().into(), node_id: String::new() }).await.map(|_| ());
    assert!(matches!(err, Err(StorageError::InvalidInput(_))), "{err:?}");
}

async fn open_retry_cfg(c: RaftConfig) -> Arc<RaftStorage> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match RaftStorage::open(c.clone()).await {
            Ok(s) => return s,
            Err(StorageError::Backend(m)) if m.contains("in use") && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("open: {e}"),
        }
    }
}

/// A data directory that cannot be created is reported as a Backend error naming it.
#[tokio::test]
async fn t34_unusable_directory_is_a_clear_error() {
    let dir = TempDir::new().expect("tempdir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").expect("write");
    let err = RaftStorage::open(RaftConfig { path: file.join("sub"), node_id: "n".into() }).await.map(|_| ());
    assert!(matches!(&err, Err(StorageError::Backend(m)) if m.contains("a-file")), "{err:?}");
}

/// 64 concurrent writers x 20 writes all land, sharing log entries and fsyncs (group commit).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t40_concurrent_writes_share_fsyncs() {
    let (dir, s) = bootstrapped().await;
    let before = s.stats();
    let mut tasks = Vec::new();
    for t in 0..64u32 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..20u32 {
                s.put(&format!("c/{t:02}/{i:02}"), format!("{t}-{i}").into_bytes()).await.expect("put");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let after = s.stats();
    let writes = 64 * 20;
    let proposed = after.writes - before.writes;
    let entries = after.entries - before.entries;
    let syncs = after.log_syncs - before.log_syncs;
    eprintln!("{writes} writes: {proposed} proposed, {entries} log entries, {syncs} log fsyncs");
    assert_eq!(proposed, writes, "every write was proposed");
    assert!(entries * 2 < writes, "concurrent writes share entries: {entries} entries for {writes} writes");
    assert!(syncs * 2 < writes, "concurrent writes share fsyncs: {syncs} fsyncs for {writes} writes");
    assert_eq!(s.list("c/").await.expect("list").len(), 64);
    for t in 0..64u32 {
        assert_eq!(s.list(&format!("c/{t:02}/")).await.expect("list").len(), 20);
    }
    s.shutdown().await.expect("shutdown");
    let s = RaftStorage::open(cfg(dir.path())).await.expect("reopen");
    s.wait_ready(Duration::from_secs(5)).await.expect("ready");
    assert_eq!(s.get("c/63/19").await.expect("get"), Some(b"63-19".to_vec()));
}

/// A snapshot plus log purge keeps every value, across a reopen, and writes continue after it.
#[tokio::test]
async fn t50_snapshot_and_purge_keep_data() {
    let (dir, s) = bootstrapped().await;
    for i in 0..200u32 {
        s.put(&format!("s/{i:03}"), i.to_be_bytes().to_vec()).await.expect("put");
    }
    for i in (0..200u32).step_by(10) {
        s.delete(&format!("s/{i:03}")).await.expect("delete");
    }
    s.compact().await.expect("compact");
    let st = s.status().expect("status");
    let applied = st.applied_index.expect("applied");
    assert!(st.snapshot_index >= Some(applied), "{st:?}");
    assert!(st.purged_index >= Some(applied), "the log is purged up to the snapshot: {st:?}");
    let stats = s.stats();
    assert!(stats.snapshots >= 1 && stats.purges >= 1, "{stats:?}");
    s.put("s/after", b"a".to_vec()).await.expect("write after purge");
    s.shutdown().await.expect("shutdown");

    let s = RaftStorage::open(cfg(dir.path())).await.expect("reopen");
    s.wait_ready(Duration::from_secs(5)).await.expect("ready");
    let st = s.status().expect("status");
    assert!(st.purged_index >= Some(applied), "purge persisted: {st:?}");
    assert_eq!(s.list("s/").await.expect("list").len(), 181);
    for i in 0..200u32 {
        let want = if i % 10 == 0 { None } else { Some(i.to_be_bytes().to_vec()) };
        assert_eq!(s.get(&format!("s/{i:03}")).await.expect("get"), want, "s/{i:03}");
    }
    assert_eq!(s.get("s/after").await.expect("get").as_deref(), Some(&b"a"[..]));
    s.put("s/later", vec![]).await.expect("write after reopen");
    s.compact().await.expect("second compact");
    s.shutdown().await.expect("shutdown");
}

/// The snapshot format round-trips: installing a built snapshot replaces the state machine.
#[tokio::test]
async fn t51_snapshot_install_replaces_state() {
    use openraft::storage::RaftStateMachine;
    use openraft::RaftSnapshotBuilder;
    let (dir_a, a) = bootstrapped().await;
    a.put("only-in-a", b"a".to_vec()).await.expect("put");
    a.put("shared", b"from-a".to_vec()).await.expect("put");
    a.shutdown().await.expect("shutdown");
    let (dir_b, b) = bootstrapped().await;
    b.put("only-in-b", b"b".to_vec()).await.expect("put");
    b.put("shared", b"from-b".to_vec()).await.expect("put");
    b.shutdown().await.expect("shutdown");

    let stats = Arc::new(Stats::default());
    let db_a = Arc::new(db::open(dir_a.path(), false).expect("open a"));
    let mut sm_a = StateMachine::load(db_a, stats.clone()).expect("load a");
    let snap = sm_a.get_snapshot_builder().await.build_snapshot().await.expect("build");
    let db_b = Arc::new(db::open(dir_b.path(), false).expect("open b"));
    let mut sm_b = StateMachine::load(db_b.clone(), stats).expect("load b");
    sm_b.install_snapshot(&snap.meta, snap.snapshot).await.expect("install");
    assert_eq!(kv::keys(&db_b).expect("keys"), vec!["only-in-a", "shared"]);
    assert_eq!(kv::get(&db_b, "shared").expect("get").as_deref(), Some(&b"from-a"[..]));
    let (applied, _) = sm_b.applied_state().await.expect("applied");
    assert_eq!(applied, snap.meta.last_log_id);
    let current = sm_b.get_current_snapshot().await.expect("current").expect("some");
    assert_eq!(current.meta.last_log_id, snap.meta.last_log_id);
    // A damaged snapshot is refused, not half-installed.
    let bad = Box::new(std::io::Cursor::new(vec![1, 2, 3]));
    assert!(sm_b.install_snapshot(&snap.meta, bad).await.is_err());
    assert_eq!(kv::keys(&db_b).expect("keys"), vec!["only-in-a", "shared"]);
}

/// offline::put changes the bytes a reopened node reads; offline::get and keys see the data.
#[tokio::test]
async fn t60_offline_put_is_read_after_reopen() {
    let (dir, s) = bootstrapped().await;
    s.put("core/keyring", b"original".to_vec()).await.expect("put");
    s.put("logical/x", b"x".to_vec()).await.expect("put");
    s.shutdown().await.expect("shutdown");

    assert_eq!(offline::get(dir.path(), "core/keyring").expect("get").as_deref(), Some(&b"original"[..]));
    assert_eq!(offline::keys(dir.path()).expect("keys"), vec!["core/keyring", "logical/x"]);
    offline::put(dir.path(), "core/keyring", b"tampered").expect("offline put");
    assert_eq!(offline::get(dir.path(), "core/keyring").expect("get").as_deref(), Some(&b"tampered"[..]));

    let s = RaftStorage::open(cfg(dir.path())).await.expect("reopen");
    s.wait_ready(Duration::from_secs(5)).await.expect("ready");
    assert_eq!(s.get("core/keyring").await.expect("get").as_deref(), Some(&b"tampered"[..]));
    // While the node holds the directory, offline::put is refused; reads still work.
    let err = offline::put(dir.path(), "core/keyring", b"again");
    assert!(matches!(&err, Err(StorageError::Backend(m)) if m.contains("in use")), "{err:?}");
    assert!(offline::get(dir.path(), "logical/x").expect("get while running").is_some());
    let nothing = TempDir::new().expect("tempdir");
    assert!(matches!(offline::keys(nothing.path()), Err(StorageError::Backend(_))));
    assert!(matches!(offline::put(dir.path(), "", b""), Err(StorageError::InvalidInput(_))));
}

const CHILD_DIR_ENV: &str = "COFFER_RAFT_KILL9_DIR";

/// Not a test on its own: the child process of `t70`, writing until it is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run as a child process by t70_kill9_loses_no_acknowledged_write"]
async fn kill9_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR_ENV) else { return };
    let s = RaftStorage::open(cfg(Path::new(&dir))).await.expect("open");
    s.bootstrap().await.expect("bootstrap");
    let mut tasks = Vec::new();
    for t in 0..4u32 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0u32.. {
                s.put(&format!("k/{t}/{i:08}"), i.to_be_bytes().to_vec()).await.expect("put");
                println!("ACK {t} {i}");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
}

/// kill -9 during concurrent writes loses no acknowledged write, and the node restarts as leader.
#[tokio::test]
async fn t70_kill9_loses_no_acknowledged_write() {
    let dir = TempDir::new().expect("tempdir");
    for round in 0..2 {
        let exe = std::env::current_exe().expect("current exe");
        let mut child = Command::new(exe)
            .args(["tests::kill9_child", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("stdout");
        let mut acked = [None::<u32>; 4];
        let mut count = 0;
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("line");
            let mut parts = line.split_whitespace();
            if parts.next() != Some("ACK") {
                continue;
            }
            let t: usize = parts.next().and_then(|v| v.parse().ok()).expect("task");
            let i: u32 = parts.next().and_then(|v| v.parse().ok()).expect("index");
            acked[t] = Some(i);
            count += 1;
            if count == 400 {
                child.kill().expect("kill -9"); // SIGKILL on Unix
                break;
            }
        }
        child.wait().expect("wait");
        assert_eq!(count, 400, "the child acknowledged writes before it was killed");

        let s = RaftStorage::open(cfg(dir.path())).await.expect("reopen after kill");
        let t = Instant::now();
        s.wait_ready(Duration::from_secs(5)).await.expect("ready after kill");
        eprintln!("round {round}: ready {:?} after reopen; acked {acked:?}", t.elapsed());
        for (t, last) in acked.iter().enumerate() {
            for i in 0..=last.expect("every task acked something") {
                assert_eq!(
                    s.get(&format!("k/{t}/{i:08}")).await.expect("get"),
                    Some(i.to_be_bytes().to_vec()),
                    "acknowledged write k/{t}/{i:08} survived kill -9 (round {round})"
                );
            }
        }
        s.put("after-kill", vec![round]).await.expect("write after restart");
        s.shutdown().await.expect("shutdown");
    }
}

/// Entries in the log past the state machine's `last_applied` are applied on restart, whether
/// the saved committed index covers them (re-apply) or not (the restarted leader commits them).
#[tokio::test]
async fn t71_logged_but_unapplied_entries_are_applied_on_restart() {
    use crate::types::{Entry, LogId, Request};
    for mark_committed in [true, false] {
        let (dir, s) = bootstrapped().await;
        s.put("before", b"b".to_vec()).await.expect("put");
        s.shutdown().await.expect("shutdown");
        let ghost_index;
        {
            // Simulate a crash after the log write and before the state machine write.
            let raw = db::open(dir.path(), false).expect("open raw");
            let last = log_store::last_entry_id(&raw).expect("read log").expect("a last entry");
            let id = LogId::new(last.leader_id, last.index + 1);
            ghost_index = id.index;
            let entry = Entry {
                log_id: id,
                payload: openraft::EntryPayload::Normal(Request {
                    ops: vec![Op::Put { key: "ghost".into(), value: b"g".to_vec() }],
                }),
            };
            let logs = db::cf(&raw, db::CF_LOGS).expect("cf");
            raw.put_cf(logs, db::index_key(id.index), db::encode(&entry).expect("encode")).expect("write entry");
            if mark_committed {
                let r = db::cf(&raw, db::CF_RAFT).expect("cf");
                raw.put_cf(r, raft_key::COMMITTED, db::encode(&Some(id)).expect("encode")).expect("write committed");
            }
            raw.flush_wal(true).expect("sync");
        }
        let s = RaftStorage::open(cfg(dir.path())).await.expect("reopen");
        s.wait_ready(Duration::from_secs(5)).await.expect("ready");
        assert_eq!(s.get("ghost").await.expect("get").as_deref(), Some(&b"g"[..]), "committed={mark_committed}");
        assert_eq!(s.get("before").await.expect("get").as_deref(), Some(&b"b"[..]));
        let st = s.status().expect("status");
        assert!(st.applied_index >= Some(ghost_index), "{st:?}");
        s.put("after", vec![]).await.expect("write after restart");
        s.shutdown().await.expect("shutdown");
    }
}
