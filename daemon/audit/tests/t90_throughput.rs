//! Cost of auditing (run with `cargo test --release -p coffer-audit --test t90_throughput --
//! --ignored --nocapture`): a KV v2 write's request and response entries on one file device.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use coffer_audit::{AuditBroker, AuditDevice, AuditInput, AuthInfo, DeviceConfig, RequestInfo, ResponseInfo, Salt};
use coffer_hardening::secret::SecretString;
use serde_json::json;

fn kv_write() -> AuditInput {
    AuditInput {
        auth: Some(AuthInfo {
            client_token: Some(SecretString::new("s.0123456789abcdefghijklmn".into())),
            accessor: "abcdefghijklmnopqrstuvwx".into(),
            display_name: "root".into(),
            policies: vec!["root".into()],
            token_policies: vec!["root".into()],
            token_type: "service".into(),
            ..Default::default()
        }),
        request: RequestInfo {
            id: "3b2e4fe1-3e99-411b-75cc-44470c1a0f49".into(),
            operation: "create".into(),
            mount_point: "secret/".into(),
            mount_type: "kv".into(),
            mount_accessor: "kv_46a0328c".into(),
            client_token: Some(SecretString::new("s.0123456789abcdefghijklmn".into())),
            client_token_accessor: "abcdefghijklmnopqrstuvwx".into(),
            path: "secret/data/bench".into(),
            data: json!({"data": {"password": "s3cr3t", "username": "admin"}}).as_object().cloned(),
            remote_address: "127.0.0.1".into(),
            remote_port: 40000,
            ..Default::default()
        },
        response: Some(ResponseInfo {
            data: json!({"created_time": "2026-11-28T00:55:22.944526352Z", "custom_metadata": null,
                         "deletion_time": "", "destroyed": false, "version": 1})
            .as_object()
            .cloned(),
            time_paths: vec!["/created_time".into()],
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Prints requests per second through the broker with one file device, 1 and 64 concurrent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement, not a check"]
async fn t90_file_device_throughput() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts: BTreeMap<String, String> =
        [("file_path".into(), dir.path().join("a.log").to_str().expect("utf8").to_string())].into();
    let device =
        AuditDevice::new("file/", DeviceConfig::from_options("file", &opts).expect("config"), Salt::generate())
            .await
            .expect("device");
    let f = coffer_audit::EntryFormatter::new(coffer_audit::FormatOptions::default(), Salt::generate());
    let input = kv_write();
    let started = Instant::now();
    for _ in 0..20_000 {
        let now = time::OffsetDateTime::now_utc();
        std::hint::black_box(f.request_line(&input, now).expect("format"));
        std::hint::black_box(f.response_line(&input, now).expect("format"));
    }
    println!("formatting only: {:.0} requests/s", 20_000.0 / started.elapsed().as_secs_f64());
    let broker = Arc::new(AuditBroker::new());
    broker.register(Arc::new(device)).expect("register");
    for conc in [1usize, 64] {
        let n = 20_000 / conc;
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..conc {
            let b = Arc::clone(&broker);
            tasks.push(tokio::spawn(async move {
                let input = kv_write();
                for _ in 0..n {
                    b.log_request(&input).await.expect("request");
                    b.log_response(&input).await.expect("response");
                }
            }));
        }
        for t in tasks {
            t.await.expect("task");
        }
        let secs = started.elapsed().as_secs_f64();
        println!("c{conc}: {:.0} audited requests/s ({} requests, 2 lines each)", (n * conc) as f64 / secs, n * conc);
    }
}
