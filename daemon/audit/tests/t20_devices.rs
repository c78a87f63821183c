//! Devices: file (mode, rotation, discard), socket (tcp, udp, unix, blocked peer), syslog.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use coffer_audit::{
    verify, AuditDevice, AuditError, AuditInput, AuthInfo, DeviceConfig, EntryFormatter, FormatOptions, RequestInfo,
    ResponseInfo, Salt, SinkConfig, SyslogFormat,
};
use coffer_hardening::secret::SecretString;
use serde_json::{json, Value};
use tokio::io::AsyncBufReadExt;

fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn input(secret: &str) -> AuditInput {
    AuditInput {
        auth: Some(AuthInfo {
            client_token: Some(SecretString::new("s.tok".into())),
            token_type: "service".into(),
            ..Default::default()
        }),
        request: RequestInfo {
            id: "req-1".into(),
            operation: "update".into(),
            path: "secret/data/app".into(),
            data: json!({"password": secret}).as_object().cloned(),
            ..Default::default()
        },
        response: Some(ResponseInfo::default()),
        ..Default::default()
    }
}

async fn device(kind: &str, o: &[(&str, &str)]) -> Result<AuditDevice, AuditError> {
    let config = DeviceConfig::from_options(kind, &opts(o))?;
    AuditDevice::new(&format!("{kind}/"), config, Salt::new(b"device-salt".to_vec())).await
}

fn lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path).expect("read log").lines().map(str::to_string).collect()
}

/// A file device creates its log with mode 0600 by default, applies `mode`, and resets the mode
/// of a file that already existed (as OpenBao does).
#[tokio::test]
async fn t20_file_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("sub/audit.log");
    let d = device("file", &[("file_path", p.to_str().expect("utf8"))]).await.expect("device");
    d.log_request(&input("x")).await.expect("logged");
    let mode = |p: &std::path::Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o7777;
    assert_eq!(mode(&p), 0o600);

    let q = dir.path().join("existing.log");
    std::fs::write(&q, b"").expect("create");
    std::fs::set_permissions(&q, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let d = device("file", &[("file_path", q.to_str().expect("utf8")), ("mode", "0640")]).await.expect("device");
    d.log_request(&input("x")).await.expect("logged");
    assert_eq!(mode(&q), 0o640);
}

/// Entries are one line each, HMAC'd, chained; the secret never appears in the file.
#[tokio::test]
async fn t21_file_lines_are_hmacd_and_chained() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("audit.log");
    let d = device("file", &[("file_path", p.to_str().expect("utf8"))]).await.expect("device");
    d.log_request(&input("hunter2")).await.expect("request");
    d.log_response(&input("hunter2")).await.expect("response");
    let text = std::fs::read_to_string(&p).expect("read");
    assert!(!text.contains("hunter2") && !text.contains("s.tok"));
    let l = lines(&p);
    assert_eq!(l.len(), 2);
    let v: Value = serde_json::from_str(&l[0]).expect("a line is JSON");
    assert_eq!(v["request"]["data"]["password"], json!(d.hash("hunter2")));
    assert_eq!(v["coffer_chain"]["seq"], json!(1));
    let report = verify(std::io::BufReader::new(std::fs::File::open(&p).expect("open"))).expect("verify");
    assert!(report.is_intact() && report.starts_at_genesis && report.lines == 2, "{report:?}");
}

/// logrotate: after the file is renamed, entries still go to the renamed file until `reopen`;
/// then a new file is created, and the chain runs on across both files.
#[tokio::test]
async fn t22_reopen_after_rename() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("audit.log");
    let rotated = dir.path().join("audit.log.1");
    let d = device("file", &[("file_path", p.to_str().expect("utf8"))]).await.expect("device");
    d.log_request(&input("a")).await.expect("logged");
    std::fs::rename(&p, &rotated).expect("rotate");
    d.log_response(&input("a")).await.expect("logged to the renamed file");
    assert!(!p.exists());
    d.reopen().await.expect("reopen");
    d.log_request(&input("b")).await.expect("logged");
    assert_eq!(lines(&rotated).len(), 2);
    let new = lines(&p);
    assert_eq!(new.len(), 1);
    let v: Value = serde_json::from_str(&new[0]).expect("json");
    assert_eq!(v["coffer_chain"]["seq"], json!(3), "the chain continues in the new file");
    let both = format!("{}\n{}\n", lines(&rotated).join("\n"), new.join("\n"));
    let report = verify(both.as_bytes()).expect("verify");
    assert!(report.is_intact(), "{report:?}");
    let alone = verify(std::io::BufReader::new(std::fs::File::open(&p).expect("open"))).expect("verify");
    assert!(alone.is_intact() && alone.first_seq == Some(3) && !alone.starts_at_genesis);
}

/// `file_path=discard` records everything (for the broker) and writes nothing; `stdout` is
/// accepted.
#[tokio::test]
async fn t23_discard_and_stdout() {
    let d = device("file", &[("file_path", "discard")]).await.expect("device");
    d.log_request(&input("x")).await.expect("discard records");
    assert_eq!(d.chain_head().await.seq, 0, "nothing written, nothing chained");
    let s = device("file", &[("file_path", "stdout")]).await.expect("device");
    s.log_request(&input("x")).await.expect("stdout records");
}

/// A bad path fails when the device is created, as OpenBao's sanity check does.
#[tokio::test]
async fn t24_unopenable_file_fails_at_enable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("plain");
    std::fs::write(&file, b"").expect("create");
    let under_file = file.join("audit.log");
    let err = device("file", &[("file_path", under_file.to_str().expect("utf8"))]).await.expect_err("must fail");
    assert!(err.to_string().contains("sanity check failed"), "{err}");
}

/// tcp: both entries arrive as newline-terminated JSON lines on one connection.
#[tokio::test]
async fn t25_socket_tcp_delivery() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let d = device("socket", &[("address", &addr), ("socket_type", "tcp")]).await.expect("device");
    let reader = tokio::spawn(async move {
        let (conn, _) = listener.accept().await.expect("accept");
        let mut lines = tokio::io::BufReader::new(conn).lines();
        let a = lines.next_line().await.expect("read").expect("line 1");
        let b = lines.next_line().await.expect("read").expect("line 2");
        (a, b)
    });
    d.log_request(&input("x")).await.expect("request");
    d.log_response(&input("x")).await.expect("response");
    let (a, b) = reader.await.expect("reader");
    let a: Value = serde_json::from_str(&a).expect("json");
    let b: Value = serde_json::from_str(&b).expect("json");
    assert_eq!((a["type"].as_str(), b["type"].as_str()), (Some("request"), Some("response")));
    assert_eq!(b["coffer_chain"]["seq"], json!(2));
}

/// unix: entries arrive on a Unix stream socket.
#[tokio::test]
async fn t26_socket_unix_delivery() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.sock");
    let listener = tokio::net::UnixListener::bind(&path).expect("bind");
    let d =
        device("socket", &[("address", path.to_str().expect("utf8")), ("socket_type", "unix")]).await.expect("device");
    let reader = tokio::spawn(async move {
        let (conn, _) = listener.accept().await.expect("accept");
        tokio::io::BufReader::new(conn).lines().next_line().await.expect("read").expect("line")
    });
    d.log_request(&input("x")).await.expect("request");
    let line = reader.await.expect("reader");
    assert!(line.starts_with("{\"time\":") && line.contains("\"coffer_chain\""));
}

/// udp: each entry is one datagram holding the line and its newline.
#[tokio::test]
async fn t27_socket_udp_delivery() {
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let addr = sock.local_addr().expect("addr").to_string();
    let d = device("socket", &[("address", &addr), ("socket_type", "udp")]).await.expect("device");
    d.log_request(&input("x")).await.expect("request");
    let mut buf = vec![0u8; 65536];
    let n = tokio::time::timeout(Duration::from_secs(5), sock.recv(&mut buf)).await.expect("datagram").expect("recv");
    assert_eq!(buf[n - 1], b'\n');
    let v: Value = serde_json::from_slice(&buf[..n - 1]).expect("json");
    assert_eq!(v["request"]["path"], json!("secret/data/app"));
}

/// A peer that accepts but never reads blocks the entry for `write_timeout` (and once more after
/// reconnecting, as OpenBao); then the device fails with a timeout.
#[tokio::test]
async fn t28_blocked_socket_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    // Accept and hold connections without reading.
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((c, _)) = listener.accept().await {
            held.push(c);
        }
    });
    let d =
        device("socket", &[("address", &addr), ("write_timeout", "300ms"), ("log_raw", "true")]).await.expect("device");
    // log_raw keeps the data as is: 16 MiB cannot fit in the socket buffers (about 4 MB on
    // loopback here).
    let big = input(&"x".repeat(16 << 20));
    // Building a 16 MiB line takes a while in a debug build: measure it to bound the wait.
    let f = EntryFormatter::new(FormatOptions { log_raw: true, ..FormatOptions::default() }, Salt::new(b"s".to_vec()));
    let t0 = Instant::now();
    let _ = f.request_line(&big, time::OffsetDateTime::now_utc()).expect("format");
    let build = t0.elapsed();
    let started = Instant::now();
    let err = d.log_request(&big).await.expect_err("a blocked peer must fail the entry");
    let took = started.elapsed();
    assert!(matches!(err, AuditError::Timeout { .. }), "{err}");
    assert!(took >= Duration::from_millis(300), "blocked at least write_timeout: {took:?}");
    assert!(
        took < build * 4 + Duration::from_secs(3),
        "bounded by the timeouts: {took:?} (building the line: {build:?})"
    );
    holder.abort();
}

/// The same over a Unix stream socket whose peer never reads: the wait is two write timeouts
/// (first attempt, one retry after reconnecting), then the entry fails.
#[tokio::test]
async fn t28b_blocked_unix_socket_times_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("audit.sock");
    let listener = tokio::net::UnixListener::bind(&path).expect("bind");
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((c, _)) = listener.accept().await {
            held.push(c);
        }
    });
    let d = device(
        "socket",
        &[
            ("address", path.to_str().expect("utf8")),
            ("socket_type", "unix"),
            ("write_timeout", "200ms"),
            ("log_raw", "true"),
        ],
    )
    .await
    .expect("device");
    let big = input(&"x".repeat(8 << 20));
    let f = EntryFormatter::new(FormatOptions { log_raw: true, ..FormatOptions::default() }, Salt::new(b"s".to_vec()));
    let t0 = Instant::now();
    let _ = f.request_line(&big, time::OffsetDateTime::now_utc()).expect("format");
    let build = t0.elapsed();
    let started = Instant::now();
    let err = d.log_request(&big).await.expect_err("a blocked peer must fail the entry");
    let took = started.elapsed();
    assert!(matches!(err, AuditError::Timeout { .. }), "{err}");
    assert!(took >= Duration::from_millis(400), "two timeouts: {took:?}");
    assert!(took < build * 4 + Duration::from_secs(2), "{took:?} (building the line: {build:?})");
    holder.abort();
}

/// A socket device whose peer is gone fails the entry.
#[tokio::test]
async fn t29_socket_refused() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    drop(listener);
    let d = device("socket", &[("address", &addr)]).await.expect("device");
    assert!(matches!(d.log_request(&input("x")).await, Err(AuditError::Io { .. })));
}

async fn syslog_device(format: SyslogFormat, sock: &std::path::Path) -> AuditDevice {
    let mut config = DeviceConfig::from_options("syslog", &BTreeMap::new()).expect("config");
    if let SinkConfig::Syslog(s) = &mut config.sink {
        s.socket_path = Some(sock.to_path_buf());
        s.format = format;
    }
    AuditDevice::new("syslog/", config, Salt::new(b"s".to_vec())).await.expect("device")
}

/// syslog: one datagram per entry, framed like OpenBao's (`<38>Nov 28 04:27:48 vault[8311]: {…}\n`,
/// facility AUTH, severity info, tag "vault").
#[tokio::test]
async fn t30_syslog_rfc3164_like_openbao() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock_path = dir.path().join("log");
    let sock = tokio::net::UnixDatagram::bind(&sock_path).expect("bind");
    let d = syslog_device(SyslogFormat::Rfc3164, &sock_path).await;
    d.log_request(&input("x")).await.expect("logged");
    let mut buf = vec![0u8; 65536];
    let n = sock.recv(&mut buf).await.expect("datagram");
    let ours = String::from_utf8(buf[..n].to_vec()).expect("utf8");
    let theirs = common::read_fixture("syslog-first6.dgrams").lines().next().expect("datagram").to_string();
    let shape = |s: &str| -> (String, usize) {
        let json_at = s.find('{').expect("json");
        let header = &s[..json_at];
        // "<38>" + "Mmm dd hh:mm:ss" + " vault[" … "]: "
        let tag_at = header.find(" vault[").expect("tag");
        (format!("{}|{}|{}", &header[..4], &header[tag_at..tag_at + 7], &header[header.len() - 3..]), tag_at)
    };
    assert_eq!(shape(&ours), shape(&theirs));
    assert!(ours.ends_with("}\n"));
    assert!(ours[shape(&ours).1 - 15..].starts_with(|c: char| c.is_ascii_uppercase()));
}

/// syslog in RFC 5424 framing.
#[tokio::test]
async fn t31_syslog_rfc5424() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock_path = dir.path().join("log");
    let sock = tokio::net::UnixDatagram::bind(&sock_path).expect("bind");
    let d = syslog_device(SyslogFormat::Rfc5424, &sock_path).await;
    d.log_request(&input("x")).await.expect("logged");
    let mut buf = vec![0u8; 65536];
    let n = sock.recv(&mut buf).await.expect("datagram");
    let s = String::from_utf8(buf[..n].to_vec()).expect("utf8");
    let parts: Vec<&str> = s.splitn(8, ' ').collect();
    assert_eq!(parts[0], "<38>1");
    assert!(parts[1].ends_with('Z'));
    assert_eq!((parts[3], parts[5], parts[6]), ("vault", "-", "-"));
    assert!(parts[7].starts_with("{\"time\":"));
}

/// Without a syslog socket the device cannot be enabled (as in OpenBao).
#[tokio::test]
async fn t32_syslog_missing_socket_fails() {
    let mut config = DeviceConfig::from_options("syslog", &BTreeMap::new()).expect("config");
    if let SinkConfig::Syslog(s) = &mut config.sink {
        s.socket_path = Some("/nonexistent/coffer-test-log".into());
    }
    assert!(AuditDevice::new("syslog/", config, Salt::new(b"s".to_vec())).await.is_err());
}

/// The test message OpenBao writes on enable: a request for sys/audit/test, chained.
#[tokio::test]
async fn t33_test_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("audit.log");
    let d = Arc::new(device("file", &[("file_path", p.to_str().expect("utf8"))]).await.expect("device"));
    d.log_test_message().await.expect("logged");
    let v: Value = serde_json::from_str(&lines(&p)[0]).expect("json");
    assert_eq!(v["auth"], json!({"token_type": "default"}));
    assert_eq!(v["request"]["path"], json!("sys/audit/test"));
    assert_eq!(v["request"]["id"].as_str().map(str::len), Some(36));
}
