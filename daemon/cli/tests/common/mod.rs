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

/// Masks what differs between two servers or two requests: UUIDs, timestamps, tokens and
/// accessors, mount accessors, lease hashes, epoch seconds and remaining TTLs.
pub fn mask(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let run_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-';
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if let Some(n) = uuid_at(&chars, i) {
            out.push_str("<uuid>");
            i += n;
            continue;
        }
        if let Some(n) = time_at(&chars, i) {
            out.push_str("<time>");
            i += n;
            continue;
        }
        if run_char(chars[i]) && (i == 0 || !run_char(chars[i - 1])) {
            let mut j = i;
            while j < chars.len() && run_char(chars[j]) {
                j += 1;
            }
            let word: String = chars[i..j].iter().collect();
            out.push_str(&classify(&word));
            i = j;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out.lines()
        .map(|line| {
            let trimmed = line.trim_start();
            if let Some(rest) = trimmed.strip_prefix("ttl ") {
                let pad = rest.len() - rest.trim_start().len();
                return format!("{}ttl {}<ttl>", &line[..line.len() - trimmed.len()], " ".repeat(pad));
            }
            if let Some(rest) = trimmed.strip_prefix("\"ttl\": ") {
                let comma = if rest.ends_with(',') { "," } else { "" };
                return format!("{}\"ttl\": <ttl>{comma}", &line[..line.len() - trimmed.len()]);
            }
            line.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
        + if s.ends_with('\n') { "\n" } else { "" }
}

fn classify(word: &str) -> String {
    let alnum = |s: &str| s.chars().all(|c| c.is_ascii_alphanumeric());
    if let Some(rest) = word.strip_prefix("s.").or_else(|| word.strip_prefix("b.")) {
        if rest.len() >= 20 {
            return "<token>".to_string();
        }
    }
    if word.len() == 24 && alnum(word) && word.chars().any(|c| c.is_ascii_digit() || c.is_ascii_uppercase()) {
        return "<acc>".to_string();
    }
    if let Some((prefix, suffix)) = word.rsplit_once('_') {
        if suffix.len() == 8 && suffix.chars().all(|c| c.is_ascii_hexdigit()) && !prefix.is_empty() {
            return format!("{prefix}_<x>");
        }
    }
    if word.len() == 65 && word.starts_with('h') && word[1..].chars().all(|c| c.is_ascii_hexdigit()) {
        return "<hash>".to_string();
    }
    if word.len() == 10 && word.chars().all(|c| c.is_ascii_digit()) {
        return "<epoch>".to_string();
    }
    word.to_string()
}

fn uuid_at(chars: &[char], i: usize) -> Option<usize> {
    let ok = i + 36 <= chars.len()
        && chars[i..i + 36].iter().enumerate().all(|(j, c)| match j {
            8 | 13 | 18 | 23 => *c == '-',
            _ => c.is_ascii_hexdigit(),
        });
    ok.then_some(36)
}

/// `2026-11-28T03:35:04.04Z` or `2026-11-28 03:35:39.99 +0000 UTC`.
fn time_at(chars: &[char], i: usize) -> Option<usize> {
    let digits =
        |from: usize, n: usize| from + n <= chars.len() && chars[from..from + n].iter().all(char::is_ascii_digit);
    let is = |at: usize, c: char| chars.get(at) == Some(&c);
    if !(digits(i, 4) && is(i + 4, '-') && digits(i + 5, 2) && is(i + 7, '-') && digits(i + 8, 2)) {
        return None;
    }
    if !(is(i + 10, 'T') || is(i + 10, ' ')) || !(digits(i + 11, 2) && is(i + 13, ':') && digits(i + 14, 2)) {
        return None;
    }
    let mut j = i + 16;
    if is(j, ':') && digits(j + 1, 2) {
        j += 3;
    }
    if is(j, '.') {
        j += 1;
        while j < chars.len() && chars[j].is_ascii_digit() {
            j += 1;
        }
    }
    if is(j, 'Z') {
        j += 1;
    } else {
        let utc: Vec<char> = " +0000 UTC".chars().collect();
        if j + utc.len() <= chars.len() && chars[j..j + utc.len()] == utc[..] {
            j += utc.len();
        }
    }
    Some(j - i)
}

/// Two dev servers started alike: `bao` talks to one, coffer to the other, so that commands
/// that change state can run with both CLIs and their outputs be compared.
pub struct Twin {
    pub bao: BaoServer,
    pub coffer: BaoServer,
}

/// What a command needs besides its arguments.
#[derive(Clone, Copy)]
pub struct Call<'a> {
    /// `BAO_TOKEN` (unset when `None`).
    pub token: Option<&'a str>,
    pub stdin: &'a [u8],
}

impl Default for Call<'_> {
    fn default() -> Self {
        Call { token: Some("root"), stdin: b"" }
    }
}

impl Twin {
    pub fn start() -> Twin {
        Twin { bao: BaoServer::dev(), coffer: BaoServer::dev() }
    }

    /// Runs `bao_args` with bao against its server and `coffer_args` with coffer against
    /// the other; returns both outcomes, addresses replaced by `<addr>`.
    pub fn run_each(&self, call: Call<'_>, bao_args: &[&str], coffer_args: &[&str]) -> (Outcome, Outcome) {
        let bao_home = self.bao.home();
        let bao_home = bao_home.to_string_lossy();
        let mut vars: Vec<(&str, &str)> = vec![("BAO_ADDR", &self.bao.addr), ("HOME", &bao_home)];
        if let Some(t) = call.token {
            vars.push(("BAO_TOKEN", t));
        }
        let mut b = bao(&vars, call.stdin, bao_args);
        let mut env =
            Env::empty().with_var("BAO_ADDR", &self.coffer.addr).with_home(self.coffer.home()).with_stdin(call.stdin);
        if let Some(t) = call.token {
            env = env.with_var("BAO_TOKEN", t);
        }
        let mut c = coffer(&env, coffer_args);
        for (o, addr) in [(&mut b, &self.bao.addr), (&mut c, &self.coffer.addr)] {
            let bare = addr.trim_start_matches("http://");
            o.out = o.out.replace(bare, "<addr>");
            o.err = o.err.replace(bare, "<addr>");
        }
        (b, c)
    }

    /// Asserts that both CLIs print the same (masked) output and exit alike.
    pub fn same_each(&self, call: Call<'_>, bao_args: &[&str], coffer_args: &[&str]) -> Outcome {
        let (b, c) = self.run_each(call, bao_args, coffer_args);
        let what = bao_args.join(" ");
        assert_eq!(c.code, b.code, "exit code of `{what}`\nbao: {b:#?}\ncoffer: {c:#?}");
        assert_eq!(mask(&c.out), mask(&b.out), "stdout of `{what}`");
        assert_eq!(mask(&c.err), mask(&b.err), "stderr of `{what}`");
        c
    }

    /// [`Twin::same_each`] with the same arguments for both.
    pub fn same(&self, call: Call<'_>, args: &[&str]) -> Outcome {
        self.same_each(call, args, args)
    }

    /// Many commands, each with the root token and no input.
    pub fn same_all(&self, cases: &[&[&str]]) {
        for args in cases {
            self.same(Call::default(), args);
        }
    }

    /// A value from the bao server and the coffer server (set up with the bao CLI on each).
    pub fn field_each(&self, args: &[&str]) -> (String, String) {
        let get = |s: &BaoServer| {
            let o = bao(&[("BAO_ADDR", &s.addr), ("BAO_TOKEN", "root")], b"", args);
            assert_eq!(o.code, 0, "setup `{}` failed: {o:?}", args.join(" "));
            o.out.trim().to_string()
        };
        (get(&self.bao), get(&self.coffer))
    }

    /// Runs a setup command with the bao CLI on both servers.
    pub fn setup(&self, args: &[&str]) {
        self.field_each(args);
    }
}
