//! The client side of the `coffer` binary: commands modelled on the `bao` CLI (OpenBao 2.7.2)
//! that speak the OpenBao HTTP API, with bao's flags, environment variables, output formats
//! and exit codes.
//!
//! [`run`] is the entry point for every subcommand but `server`; [`run_with`] is the same with
//! the environment, standard input and output injected, for tests.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

mod cli;
mod client;
mod commands;
mod error;
mod flags;
mod hcl1;
mod kv;
mod output;
mod paths;
mod tls;

/// Where a command's standard input comes from.
#[derive(Clone)]
pub enum Stdin {
    /// The process's standard input.
    Inherit,
    /// Fixed bytes (tests); never a terminal.
    Bytes(Vec<u8>),
}

/// The process context a command runs in: environment variables, home directory (for the
/// `~/.vault-token` token file) and standard input. Its `Debug` shows variable names only,
/// since values and input may hold tokens and unseal keys.
#[derive(Clone)]
pub struct Env {
    vars: BTreeMap<String, String>,
    home: Option<PathBuf>,
    stdin: Stdin,
    stdout_is_terminal: bool,
}

impl std::fmt::Debug for Stdin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stdin::Inherit => f.write_str("Inherit"),
            Stdin::Bytes(b) => write!(f, "Bytes(<{} bytes>)", b.len()),
        }
    }
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env")
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .field("home", &self.home)
            .field("stdin", &self.stdin)
            .finish()
    }
}

impl Env {
    /// The real process environment.
    pub fn from_process() -> Env {
        Env {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
            home: std::env::var_os("HOME").map(PathBuf::from),
            stdin: Stdin::Inherit,
            stdout_is_terminal: std::io::stdout().is_terminal(),
        }
    }

    /// An empty environment: no variables, no home directory, empty standard input.
    pub fn empty() -> Env {
        Env { vars: BTreeMap::new(), home: None, stdin: Stdin::Bytes(Vec::new()), stdout_is_terminal: false }
    }

    /// Sets an environment variable.
    pub fn with_var(mut self, key: &str, value: &str) -> Env {
        self.vars.insert(key.to_string(), value.to_string());
        self
    }

    /// Sets the home directory (where `.vault-token` is looked up).
    pub fn with_home(mut self, home: impl Into<PathBuf>) -> Env {
        self.home = Some(home.into());
        self
    }

    /// Sets standard input.
    pub fn with_stdin(mut self, bytes: impl Into<Vec<u8>>) -> Env {
        self.stdin = Stdin::Bytes(bytes.into());
        self
    }

    pub(crate) fn var(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str)
    }

    /// bao's `ReadBaoVariable`: `BAO_X`, or `VAULT_X` when `BAO_X` is unset or empty.
    pub(crate) fn bao_var(&self, name: &str) -> Option<&str> {
        if let Some(v) = self.var(name).filter(|v| !v.is_empty()) {
            return Some(v);
        }
        let rest = name.strip_prefix("BAO_")?;
        self.var(&format!("VAULT_{rest}")).filter(|v| !v.is_empty())
    }

    pub(crate) fn home(&self) -> Option<&PathBuf> {
        self.home.as_ref()
    }

    pub(crate) fn stdout_is_terminal(&self) -> bool {
        self.stdout_is_terminal
    }

    pub(crate) fn stdin_is_terminal(&self) -> bool {
        match self.stdin {
            Stdin::Inherit => std::io::stdin().is_terminal(),
            Stdin::Bytes(_) => false,
        }
    }

    /// All of standard input.
    pub(crate) fn read_stdin(&self) -> std::io::Result<Vec<u8>> {
        match &self.stdin {
            Stdin::Inherit => {
                let mut buf = Vec::new();
                std::io::stdin().lock().read_to_end(&mut buf)?;
                Ok(buf)
            }
            Stdin::Bytes(b) => Ok(b.clone()),
        }
    }

    /// One line of standard input (without its line ending); `None` at end of input.
    pub(crate) fn read_stdin_line(&self) -> std::io::Result<Option<String>> {
        let line = match &self.stdin {
            Stdin::Inherit => {
                let mut line = String::new();
                let n = std::io::stdin().read_line(&mut line)?;
                if n == 0 {
                    return Ok(None);
                }
                line
            }
            Stdin::Bytes(b) => {
                if b.is_empty() {
                    return Ok(None);
                }
                let text = String::from_utf8_lossy(b);
                text.split('\n').next().unwrap_or("").to_string()
            }
        };
        Ok(Some(line.trim_end_matches(['\n', '\r']).to_string()))
    }
}

/// Runs a client command; returns the process exit code (0 ok, 1 error, 2 failed request or
/// sealed, 127 unknown command — as bao does). `args` is everything after the binary name,
/// e.g. `["operator", "init", "-key-shares=5"]`.
pub fn run(args: &[String]) -> i32 {
    let env = Env::from_process();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let mut out = stdout.lock();
    let mut err = stderr.lock();
    let code = run_with(args, &env, &mut out, &mut err);
    let _ = out.flush();
    let _ = err.flush();
    code
}

/// [`run`] with the environment and output streams injected.
pub fn run_with(args: &[String], env: &Env, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    cli::dispatch(args, env, out, err)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Debug output of an environment never shows variable values or input bytes.
    #[test]
    fn env_debug_redacts_values() {
        let env = Env::empty().with_var("BAO_TOKEN", "s.topsecret").with_stdin("unseal-key");
        let shown = format!("{env:?}");
        assert!(shown.contains("BAO_TOKEN"));
        assert!(!shown.contains("topsecret"));
        assert!(!shown.contains("unseal-key"));
    }

    /// `VAULT_` variables stand in for unset or empty `BAO_` ones.
    #[test]
    fn bao_var_falls_back_to_vault() {
        let env = Env::empty().with_var("VAULT_ADDR", "v").with_var("BAO_TOKEN", "");
        assert_eq!(env.bao_var("BAO_ADDR"), Some("v"));
        let env = env.with_var("VAULT_TOKEN", "t");
        assert_eq!(env.bao_var("BAO_TOKEN"), Some("t"));
        assert_eq!(env.bao_var("OTHER"), None);
    }
}
