//! The commands, their flags, and what they share: the UI streams, client construction from
//! flags and environment, and the rendering of secrets and seal status.

use std::io::Write;

use coffer_hardening::secret::SecretString;

use crate::client::{Client, ClientOptions};
use crate::flags::{FlagDef, Group, Kind, Parsed};
use crate::tls::TlsOptions;
use crate::Env;

mod auth;
mod delete;
mod kv;
mod lease;
mod list;
mod login;
mod mounts;
mod operator;
mod policy;
mod policy_fmt;
mod read;
pub(crate) mod render;
mod secrets;
mod status;
mod token;
mod unwrap;
mod version;
mod write;

/// Output streams and the output format (bao's `VaultUI`).
pub(crate) struct Ui<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    pub format: String,
    pub stdout_is_terminal: bool,
}

impl Ui<'_> {
    /// A line on standard output.
    pub(crate) fn output(&mut self, s: &str) {
        let _ = writeln!(self.out, "{s}");
    }

    /// Text on standard output without a newline.
    pub(crate) fn raw(&mut self, s: &str) {
        let _ = write!(self.out, "{s}");
        let _ = self.out.flush();
    }

    /// Text on standard error without a newline (prompts).
    pub(crate) fn raw_err(&mut self, s: &str) {
        let _ = write!(self.err, "{s}");
        let _ = self.err.flush();
    }

    /// A line on standard error.
    pub(crate) fn error(&mut self, s: &str) {
        let _ = writeln!(self.err, "{s}");
    }

    /// A warning line on standard error.
    pub(crate) fn warn(&mut self, s: &str) {
        let _ = writeln!(self.err, "{s}");
    }

    pub(crate) fn is_table(&self) -> bool {
        self.format == "table"
    }
}

/// A command: name (words separated by spaces), help, flags and what it does.
pub(crate) struct Command {
    pub name: &'static str,
    pub synopsis: &'static str,
    pub usage: fn() -> String,
    pub flags: fn() -> Vec<FlagDef>,
    /// `false` for commands that ignore their arguments (`version`).
    pub parse_flags: bool,
    pub run: fn(&mut Ui<'_>, &Env, &Parsed) -> i32,
}

/// Every command.
pub(crate) const ALL: &[Command] = &[
    read::COMMAND,
    write::COMMAND,
    delete::COMMAND,
    list::COMMAND,
    status::COMMAND,
    version::COMMAND,
    login::COMMAND,
    unwrap::COMMAND,
    operator::INIT,
    operator::UNSEAL,
    operator::SEAL,
    operator::KEY_STATUS,
    operator::ROTATE,
    kv::GET,
    kv::PUT,
    kv::PATCH,
    kv::LIST,
    kv::DELETE,
    kv::UNDELETE,
    kv::DESTROY,
    kv::ROLLBACK,
    kv::METADATA_GET,
    kv::METADATA_PUT,
    kv::METADATA_DELETE,
    policy::WRITE,
    policy::READ,
    policy::LIST,
    policy::DELETE,
    policy::FMT,
    token::CREATE,
    token::LOOKUP,
    token::RENEW,
    token::REVOKE,
    token::CAPABILITIES,
    secrets::ENABLE,
    secrets::DISABLE,
    secrets::LIST,
    secrets::MOVE,
    secrets::TUNE,
    auth::ENABLE,
    auth::DISABLE,
    auth::LIST,
    auth::TUNE,
    lease::LOOKUP,
    lease::RENEW,
    lease::REVOKE,
];

/// A command group: a name that only prefixes other commands (`kv`, `kv metadata`).
pub(crate) struct CommandGroup {
    pub name: &'static str,
    pub synopsis: &'static str,
    pub usage: fn() -> String,
}

/// Every command group.
pub(crate) const GROUPS: &[CommandGroup] = &[
    CommandGroup { name: "operator", synopsis: "Perform operator-specific tasks", usage: operator::group_usage },
    kv::GROUP,
    kv::METADATA_GROUP,
    policy::GROUP,
    token::GROUP,
    secrets::GROUP,
    auth::GROUP,
    lease::GROUP,
];

/// The top-level list: common commands first, then the others (bao hides `version`).
pub(crate) const COMMON: &[&str] = &["read", "write", "delete", "list", "login", "server", "status", "unwrap"];
pub(crate) const OTHER: &[&str] = &["auth", "kv", "lease", "operator", "policy", "secrets", "token"];

/// The one-line description of a command or group name.
pub(crate) fn synopsis(name: &str) -> Option<&'static str> {
    if name == "server" {
        return Some("Start a Coffer server");
    }
    if let Some(g) = GROUPS.iter().find(|g| g.name == name) {
        return Some(g.synopsis);
    }
    ALL.iter().find(|c| c.name == name).map(|c| c.synopsis)
}

/// The usage text of a command group.
pub(crate) fn group_usage(group: &str) -> Option<String> {
    GROUPS.iter().find(|g| g.name == group).map(|g| (g.usage)())
}

fn flag(
    name: &'static str,
    kind: Kind,
    group: Group,
    env: Option<&'static str>,
    default: &'static str,
    usage: &'static str,
) -> FlagDef {
    FlagDef { name, aliases: &[], kind, group, env, default, usage }
}

/// The HTTP options every server-talking command accepts.
pub(crate) fn http_flags() -> Vec<FlagDef> {
    vec![
        flag(
            "address",
            Kind::Str,
            Group::Http,
            Some("BAO_ADDR"),
            "https://127.0.0.1:8200",
            "Address of the Coffer server.",
        ),
        flag(
            "ca-cert",
            Kind::Str,
            Group::Http,
            Some("BAO_CACERT"),
            "",
            "Path on the local disk to a single PEM-encoded CA certificate to verify the \
             Coffer server's SSL certificate. This takes precedence over -ca-path.",
        ),
        flag(
            "ca-path",
            Kind::Str,
            Group::Http,
            Some("BAO_CAPATH"),
            "",
            "Path on the local disk to a directory of PEM-encoded CA certificates to verify \
             the Coffer server's SSL certificate.",
        ),
        flag(
            "client-cert",
            Kind::Str,
            Group::Http,
            Some("BAO_CLIENT_CERT"),
            "",
            "Path on the local disk to a single PEM-encoded CA certificate to use for TLS \
             authentication to the Coffer server. If this flag is specified, -client-key is \
             also required.",
        ),
        flag(
            "client-key",
            Kind::Str,
            Group::Http,
            Some("BAO_CLIENT_KEY"),
            "",
            "Path on the local disk to a single PEM-encoded private key matching the client \
             certificate from -client-cert.",
        ),
        flag(
            "header",
            Kind::KeyValue,
            Group::Http,
            None,
            "",
            "Key-value pair provided as key=value to provide http header added to any request \
             done by the CLI. Trying to add headers starting with 'X-Vault-' is forbidden and \
             will make the command fail. This can be specified multiple times.",
        ),
        flag(
            "namespace",
            Kind::Str,
            Group::Http,
            Some("BAO_NAMESPACE"),
            "",
            "The namespace to use for the command. Setting this is not necessary but allows \
             using relative paths.",
        ),
        flag(
            "non-interactive",
            Kind::Bool,
            Group::Http,
            None,
            "false",
            "When set true, prevents asking the user for input via the terminal.",
        ),
        flag(
            "tls-skip-verify",
            Kind::Bool,
            Group::Http,
            Some("BAO_SKIP_VERIFY"),
            "false",
            "Disable verification of TLS certificates. Using this option is highly \
             discouraged as it decreases the security of data transmissions to and from the \
             Coffer server.",
        ),
        flag(
            "wrap-ttl",
            Kind::Duration,
            Group::Http,
            Some("BAO_WRAP_TTL"),
            "",
            "Wraps the response in a cubbyhole token with the requested TTL. The TTL is \
             specified as a numeric string with suffix like \"30s\" or \"5m\".",
        ),
    ]
}

/// `-format`.
pub(crate) fn format_flag() -> FlagDef {
    flag(
        "format",
        Kind::Str,
        Group::Output,
        Some("BAO_FORMAT"),
        "table",
        "Print the output in the given format. Valid formats are \"table\" or \"json\".",
    )
}

/// `-field`.
pub(crate) fn field_flag() -> FlagDef {
    flag(
        "field",
        Kind::Str,
        Group::Output,
        None,
        "",
        "Print only the field with the given name. Specifying this option will take \
         precedence over other formatting directives. The result will not have a trailing \
         newline making it ideal for piping to other processes.",
    )
}

/// A command-specific flag.
pub(crate) fn command_flag(
    name: &'static str,
    aliases: &'static [&'static str],
    kind: Kind,
    group: Group,
    default: &'static str,
    usage: &'static str,
) -> FlagDef {
    FlagDef { name, aliases, kind, group, env: None, default, usage }
}

/// The token: `BAO_TOKEN`/`VAULT_TOKEN`, else the token file `~/.vault-token` (the file bao
/// reads and `bao login` writes).
fn token(env: &Env) -> Option<SecretString> {
    if let Some(t) = env.bao_var("BAO_TOKEN") {
        return Some(SecretString::new(t.to_string()));
    }
    let path = env.home()?.join(".vault-token");
    let text = SecretString::new(std::fs::read_to_string(path).ok()?);
    let t = text.expose().trim();
    (!t.is_empty()).then(|| SecretString::new(t.to_string()))
}

/// A string setting: the flag if given, else its environment variable.
fn setting(parsed: &Parsed, env: &Env, name: &str, var: &str) -> Option<String> {
    parsed.string(name).map(str::to_string).or_else(|| env.bao_var(var).map(str::to_string)).filter(|s| !s.is_empty())
}

/// Builds the client from HTTP flags and environment; errors are printed as bao prints them.
pub(crate) fn client(parsed: &Parsed, env: &Env) -> Result<Client, String> {
    let skip_verify = match parsed.bool("tls-skip-verify") {
        Some(b) => b,
        None => match env.bao_var("BAO_SKIP_VERIFY") {
            Some(v) => crate::flags::parse_bool(v)
                .map_err(|_| "failed to read environment: could not parse BAO_SKIP_VERIFY".to_string())?,
            None => false,
        },
    };
    let wrap_ttl = wrap_ttl(parsed, env);
    let opts = ClientOptions {
        address: setting(parsed, env, "address", "BAO_ADDR").unwrap_or_else(|| "https://127.0.0.1:8200".to_string()),
        tls: TlsOptions {
            ca_cert: setting(parsed, env, "ca-cert", "BAO_CACERT"),
            ca_path: setting(parsed, env, "ca-path", "BAO_CAPATH"),
            client_cert: setting(parsed, env, "client-cert", "BAO_CLIENT_CERT"),
            client_key: setting(parsed, env, "client-key", "BAO_CLIENT_KEY"),
            skip_verify,
        },
        token: token(env),
        namespace: setting(parsed, env, "namespace", "BAO_NAMESPACE"),
        headers: parsed.pairs("header").to_vec(),
        wrap_ttl,
    };
    Client::new(&opts)
}

/// The `X-Vault-Wrap-TTL` bao sends: the flag (or a parseable `BAO_WRAP_TTL`) as Go prints
/// a duration, else the variable as written.
fn wrap_ttl(parsed: &Parsed, env: &Env) -> Option<String> {
    let from_env = env.bao_var("BAO_WRAP_TTL");
    let ns = if parsed.is_set("wrap-ttl") {
        parsed.duration_ns("wrap-ttl")
    } else {
        from_env.and_then(|v| crate::flags::parse_duration_seconds(v).ok()).unwrap_or(0)
    };
    if ns != 0 {
        return Some(crate::flags::go_duration_string(ns));
    }
    from_env.map(str::to_string)
}

/// bao's `sanitizePath`: no leading or trailing slashes (and no surrounding whitespace).
pub(crate) fn sanitize_path(s: &str) -> String {
    crate::paths::sanitize(s)
}

/// Builds the client, printing bao's error (exit code 2) when that fails.
pub(crate) fn connect(ui: &mut Ui<'_>, parsed: &Parsed, env: &Env) -> Result<Client, i32> {
    client(parsed, env).map_err(|e| {
        ui.error(&e);
        2
    })
}

/// bao's argument-count errors: `Not enough arguments (expected N, got M)` and
/// `Too many arguments (...)`; `expected` is the text in the parentheses.
pub(crate) fn check_args(ui: &mut Ui<'_>, args: &[String], min: usize, max: usize, expected: &str) -> bool {
    if args.len() < min {
        ui.error(&format!("Not enough arguments (expected {expected}, got {})", args.len()));
        return false;
    }
    if args.len() > max {
        ui.error(&format!("Too many arguments (expected {expected}, got {})", args.len()));
        return false;
    }
    true
}

/// HTTP options plus `-format` (and `-field` when `field` is set).
pub(crate) fn output_flags(field: bool) -> Vec<FlagDef> {
    let mut f = http_flags();
    if field {
        f.push(field_flag());
    }
    f.push(format_flag());
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The token comes from the environment first, then from `~/.vault-token`.
    #[test]
    fn token_sources() {
        let token = |env: &Env| token(env).map(|t| t.expose().to_string());
        assert_eq!(token(&Env::empty()), None);
        assert_eq!(token(&Env::empty().with_var("VAULT_TOKEN", "v")), Some("v".into()));
        assert_eq!(token(&Env::empty().with_var("VAULT_TOKEN", "v").with_var("BAO_TOKEN", "b")), Some("b".into()));
        if let Ok(dir) = tempfile::tempdir() {
            let _ = std::fs::write(dir.path().join(".vault-token"), "file-token\n");
            let env = Env::empty().with_home(dir.path());
            assert_eq!(token(&env), Some("file-token".into()));
            assert_eq!(token(&env.with_var("BAO_TOKEN", "b")), Some("b".into()));
        }
    }

    #[test]
    fn sanitize_path_trims_slashes() {
        assert_eq!(sanitize_path(" /secret//x/ "), "secret//x");
        assert_eq!(sanitize_path("///"), "");
    }

    /// The wrap TTL goes out as Go prints a duration; an unparseable variable as written.
    #[test]
    fn wrap_ttl_matches_bao() {
        let defs = http_flags();
        let parse = |a: &[&str]| {
            let args: Vec<String> = a.iter().map(|s| s.to_string()).collect();
            crate::flags::parse(&defs, &args).unwrap_or_default()
        };
        let env = Env::empty();
        assert_eq!(wrap_ttl(&parse(&["-wrap-ttl=5m"]), &env).as_deref(), Some("5m0s"));
        assert_eq!(wrap_ttl(&parse(&["-wrap-ttl=90"]), &env).as_deref(), Some("1m30s"));
        assert_eq!(wrap_ttl(&parse(&[]), &env), None);
        let env = Env::empty().with_var("BAO_WRAP_TTL", "2h");
        assert_eq!(wrap_ttl(&parse(&[]), &env).as_deref(), Some("2h0m0s"));
        let env = Env::empty().with_var("VAULT_WRAP_TTL", "junk");
        assert_eq!(wrap_ttl(&parse(&[]), &env).as_deref(), Some("junk"));
    }
}
