//! Test harness: a private `moto_server` (moto's AWS mock, with a KMS that implements
//! CreateKey, DescribeKey, Encrypt/Decrypt with encryption contexts, aliases, DisableKey)
//! on a free loopback port, killed when dropped.
//!
//! moto_server is required: it comes from `pip install 'moto[server]'`, which
//! scripts/install-deps runs. If it is missing the tests fail with a message saying so (set
//! COFFER_MOTO_SERVER to use a binary outside PATH).
#![allow(dead_code)]

use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kms::Client;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use coffer_seal_awskms::AwsKmsConfig;
use serde_json::{json, Map, Value};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    child: Option<Child>,
    pub port: u16,
    pub endpoint: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

impl Moto {
    pub fn start() -> Moto {
        Self::start_with_env(&[])
    }

    /// Starts moto_server with extra environment (e.g. `INITIAL_NO_AUTH_ACTION_COUNT`).
    pub fn start_with_env(env: &[(&str, &str)]) -> Moto {
        let bin = std::env::var("COFFER_MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("moto.log");
        // A port picked free can be taken before moto binds it: try a few.
        for _ in 0..3 {
            let port = free_port();
            let logf = std::fs::File::create(&log).expect("moto log");
            let spawned = Command::new(&bin)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .envs(env.iter().copied())
                // moto must not pick up a developer's real AWS settings.
                .env_remove("AWS_PROFILE")
                .stdin(Stdio::null())
                .stdout(logf.try_clone().expect("dup log"))
                .stderr(logf)
                .spawn();
            let mut child = match spawned {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                    "moto_server not found ({bin}): the AWS KMS seal tests need moto's server. \
                     Install it with `pip install 'moto[server]'` (scripts/install-deps does), \
                     or point COFFER_MOTO_SERVER at it."
                ),
                Err(e) => panic!("cannot start {bin}: {e}"),
            };
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Moto {
                        child: Some(child),
                        port,
                        endpoint: format!("http://127.0.0.1:{port}"),
                        log,
                        _dir: dir,
                    };
                }
                if let Ok(Some(status)) = child.try_wait() {
                    let out = std::fs::read_to_string(&log).unwrap_or_default();
                    if out.contains("Address already in use") {
                        break;
                    }
                    panic!("moto_server exited with {status} before listening:\n{out}");
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "moto_server did not listen on port {port} within 60 s:\n{}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        panic!("moto_server: no free port after 3 tries");
    }

    /// Kills the server now (a KMS outage mid-test).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A KMS client for setting up keys (any credentials: moto does not check them unless
    /// started with INITIAL_NO_AUTH_ACTION_COUNT).
    pub fn admin(&self) -> Client {
        let http =
            aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::Ring)).build_https();
        let conf = aws_sdk_kms::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .endpoint_url(&self.endpoint)
            .http_client(http)
            .build();
        Client::from_conf(conf)
    }

    /// Creates a symmetric key; returns its ARN.
    pub async fn create_key(&self) -> String {
        let out = self.admin().create_key().description("coffer seal test key").send().await.expect("CreateKey");
        out.key_metadata().and_then(|m| m.arn()).expect("key ARN").to_string()
    }

    /// Seal configuration for `key` on this server, static test credentials, short timeouts.
    pub fn config(&self, key: &str) -> AwsKmsConfig {
        config_for(&self.endpoint, key, &[])
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn stanza(endpoint: &str, key: &str) -> Map<String, Value> {
    match json!({"region": "us-east-1", "kms_key_id": key, "endpoint": endpoint,
                 "access_key": "test", "secret_key": "test"})
    {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A config from the stanza for `endpoint`/`key` plus `extra` attributes, with an empty
/// environment and test-sized timeouts.
pub fn config_for(endpoint: &str, key: &str, extra: &[(&str, &str)]) -> AwsKmsConfig {
    let mut attrs = stanza(endpoint, key);
    for (k, v) in extra {
        attrs.insert(k.to_string(), Value::String(v.to_string()));
    }
    let mut cfg = AwsKmsConfig::from_attrs(&attrs, &|_| None).expect("config");
    shorten(&mut cfg);
    cfg
}

pub fn shorten(cfg: &mut AwsKmsConfig) {
    cfg.max_attempts = 3;
    cfg.initial_backoff = Duration::from_millis(100);
    cfg.max_backoff = Duration::from_millis(500);
    cfg.connect_timeout = Duration::from_secs(2);
    cfg.attempt_timeout = Duration::from_secs(3);
    cfg.operation_timeout = Duration::from_secs(10);
}

/// One unsigned IAM query-API call to moto (its IAM accepts it while it does not yet enforce
/// authentication); returns the XML answer.
pub fn iam_call(port: u16, params: &[(&str, &str)]) -> String {
    let mut body = String::from("Version=2010-05-08");
    for (k, v) in params {
        body.push('&');
        body.push_str(k);
        body.push('=');
        body.push_str(&form_encode(v));
    }
    let req = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect moto");
    s.write_all(req.as_bytes()).expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    assert!(out.starts_with("HTTP/1.1 200") || out.starts_with("HTTP/1.0 200"), "IAM call {params:?} failed:\n{out}");
    out
}

fn form_encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn xml_field(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open).map(|i| i + open.len()).expect(tag);
    let end = xml[start..].find(&close).expect(tag) + start;
    xml[start..end].to_string()
}

/// A TCP proxy on a fixed loopback port in front of `target`, that can be cut (listener closed,
/// open connections dropped) and restored on the same port: a KMS outage and its end, seen
/// by a client that keeps its connection pool.
pub struct Proxy {
    pub port: u16,
    target: u16,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Proxy {
    pub async fn start(target: u16) -> Proxy {
        let mut p = Proxy { port: free_port(), target, task: None };
        p.restore().await;
        p
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn cut(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }

    pub async fn restore(&mut self) {
        self.cut();
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await.expect("proxy bind");
        let target = self.target;
        self.task = Some(tokio::spawn(async move {
            // Connections live in this set: aborting the accept loop drops them all.
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    break;
                };
                conns.spawn(async move {
                    if let Ok(mut out) = tokio::net::TcpStream::connect(("127.0.0.1", target)).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                    }
                });
            }
        }));
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
    }
}
