//! A harness that runs real `coffer` processes on free loopback ports.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The coffer binary: `COFFER_BIN`, else beside this test executable (`target/debug/deps/..`).
pub fn coffer_bin() -> PathBuf {
    if let Ok(p) = std::env::var("COFFER_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>");
    profile_dir.join("coffer")
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

pub struct Node {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub child: Option<Child>,
}

impl Node {
    /// A node with Raft storage in a fresh directory and `sys/raw` enabled.
    pub fn raft() -> Node {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let config = format!(
            "storage \"raft\" {{\n  path = \"{}\"\n  node_id = \"n1\"\n}}\nlistener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  tls_disable = true\n}}\ndisable_mlock = true\nraw_storage_endpoint = true\napi_addr = \"http://127.0.0.1:{port}\"\n",
            dir.path().join("data").display()
        );
        std::fs::write(dir.path().join("coffer.hcl"), config).expect("write config");
        let mut n = Node { dir, port, child: None };
        n.start();
        n
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn addr(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn start(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("coffer.log")).expect("log file");
        let child = Command::new(coffer_bin())
            .arg("server")
            .arg(format!("-config={}", self.dir.path().join("coffer.hcl").display()))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", coffer_bin().display()));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if ureq::get(&format!("{}/v1/sys/seal-status", self.addr())).call().is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("coffer did not answer within 20 s; log:\n{}", self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("coffer.log")).unwrap_or_default()
    }

    /// SIGTERM and wait: a clean stop.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
            let _ = c.wait();
        }
    }

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends a request; returns the status and the parsed body (Null when empty).
    pub fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let mut req = ureq::request(method, &format!("{}/v1/{path}", self.addr()));
        if let Some(t) = token {
            req = req.set("X-Vault-Token", t);
        }
        let result = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        let resp = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = resp.status();
        let text = resp.into_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `sys/init` with one share; returns (unseal key, root token).
    pub fn init(&self) -> (String, String) {
        let (s, b) = self.call("PUT", "sys/init", None, Some(json!({"secret_shares": 1, "secret_threshold": 1})));
        assert_eq!(s, 200, "init: {b}");
        (b["keys"][0].as_str().expect("key").to_string(), b["root_token"].as_str().expect("token").to_string())
    }

    pub fn unseal(&self, key: &str) {
        let (s, b) = self.call("PUT", "sys/unseal", None, Some(json!({ "key": key })));
        assert_eq!(s, 200, "unseal: {b}\nlog:\n{}", self.log());
        assert_eq!(b["sealed"], json!(false), "{b}");
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
    }
}
