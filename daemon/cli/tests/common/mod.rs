//! Test support: real OpenBao servers on free loopback ports, and `coffer_cli::run_with`
//! with captured output.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use coffer_cli::Env;

/// Whether the `bao` binary is on PATH; tests that need it print why they skip.
pub fn bao_available(test: &str) -> bool {
    let ok = Command::new("bao")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIP {test}: `bao` is not on PATH");
    }
    ok
}

/// A loopback port that is free, with the next one free too (OpenBao's cluster port).
fn free_port_pair() -> u16 {
    for _ in 0..50 {
        let Ok(l) = TcpListener::bind("127.0.0.1:0") else { continue };
        let Ok(addr) = l.local_addr() else { continue };
        let port = addr.port();
        if port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("no free port pair on 127.0.0.1");
}

/// A running `bao server`, stopped (by its own process handle) when dropped.
pub struct BaoServer {
    child: Child,
    pub addr: String,
    pub dir: tempfile::TempDir,
}

impl Drop for BaoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl BaoServer {
    /// `bao server -dev` (initialized, unsealed, root token "root", kv v2 at secret/).
    pub fn dev() -> BaoServer {
        let port = free_port_pair();
        let dir = tempfile::tempdir().expect("tempdir");
        let child = Command::new("bao")
            .args(["server", "-dev", "-dev-root-token-id=root", &format!("-dev-listen-address=127.0.0.1:{port}")])
            .env("HOME", dir.path()) // the dev server writes ~/.vault-token
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start bao server -dev");
        let server = BaoServer { child, addr: format!("http://127.0.0.1:{port}"), dir };
        server.wait_ready(true);
        server
    }

    /// `bao server` on in-memory storage: uninitialized and sealed.
    pub fn inmem() -> BaoServer {
        BaoServer::inmem_with_listener("tls_disable = true", "http")
    }

    /// Like [`BaoServer::inmem`], serving TLS with a certificate and key from
    /// `tests/fixtures`.
    pub fn inmem_tls(cert: &str, key: &str) -> BaoServer {
        let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let listener = format!(
            "tls_cert_file = \"{}\"\n  tls_key_file = \"{}\"",
            fixtures.join(cert).display(),
            fixtures.join(key).display()
        );
        BaoServer::inmem_with_listener(&listener, "https")
    }

    fn inmem_with_listener(listener: &str, scheme: &str) -> BaoServer {
        let port = free_port_pair();
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("server.hcl");
        std::fs::write(
            &config,
            format!(
                "storage \"inmem\" {{}}\nlistener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  cluster_address = \"127.0.0.1:{}\"\n  {listener}\n}}\ndisable_mlock = true\n",
                port + 1
            ),
        )
        .expect("write config");
        let child = Command::new("bao")
            .arg("server")
            .arg(format!("-config={}", config.display()))
            .env("HOME", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start bao server");
        let server = BaoServer { child, addr: format!("{scheme}://127.0.0.1:{port}"), dir };
        server.wait_ready(false);
        server
    }

    /// Waits until the server answers: `sys/health` 200 for a dev server (it unseals
    /// itself), any HTTP answer otherwise.
    fn wait_ready(&self, dev: bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        if let Some(target) = self.addr.strip_prefix("https://") {
            // No TLS client here: wait for the port to accept connections.
            while Instant::now() < deadline {
                if std::net::TcpStream::connect(target).is_ok() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            panic!("bao server at {} did not become ready", self.addr);
        }
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(2)).build();
        let url = format!("{}/v1/sys/health", self.addr);
        while Instant::now() < deadline {
            match agent.get(&url).call() {
                Ok(r) if r.status() == 200 => return,
                Err(ureq::Error::Status(..)) if !dev => return,
                _ => {}
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("bao server at {} did not become ready", self.addr);
    }

    /// An environment pointing at this server, with `token` (if any) and an empty home.
    pub fn env(&self, token: Option<&str>) -> Env {
        let env = Env::empty().with_var("BAO_ADDR", &self.addr).with_home(self.dir.path());
        match token {
            Some(t) => env.with_var("BAO_TOKEN", t),
            None => env,
        }
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

/// The outcome of one command.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub out: String,
    pub err: String,
}

/// Runs a command through `coffer_cli::run_with` with captured output.
pub fn coffer(env: &Env, args: &[&str]) -> Outcome {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = coffer_cli::run_with(&args, env, &mut out, &mut err);
    Outcome { code, out: String::from_utf8_lossy(&out).into_owned(), err: String::from_utf8_lossy(&err).into_owned() }
}

/// Runs the real `bao` CLI with only the given environment (plus PATH).
pub fn bao(vars: &[(&str, &str)], stdin: &[u8], args: &[&str]) -> Outcome {
    use std::io::Write;
    let mut cmd = Command::new("bao");
    cmd.args(args).env_clear();
    if let Ok(path) = std::env::var("PATH") {
        cmd.env("PATH", path);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("run bao");
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin);
    }
    let output = child.wait_with_output().expect("bao output");
    Outcome {
        code: output.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&output.stdout).into_owned(),
        err: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The value after "Label: " on the line that starts with it.
pub fn line_value(text: &str, label: &str) -> Option<String> {
    text.lines().find_map(|l| l.strip_prefix(label)).map(|v| v.trim().to_string())
}
