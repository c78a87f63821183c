//! `login`: authenticate with a token or with userpass, store the token in `~/.vault-token`
//! (bao's internal token helper) and print it.

use std::collections::BTreeMap;
use std::io::Write;

use coffer_hardening::secret::SecretString;
use serde_json::Value;

use super::operator::set_echo;
use super::render::{output_secret, print_raw_field};
use super::{client, command_flag, output_flags, Command, Ui};
use crate::client::{get_bool, get_str, get_str_list, Client, Extra, Method, Secret, SecretAuth, TokenChoice};
use crate::flags::{parse_bool, parse_duration_seconds, FlagDef, Group, Kind, Parsed};
use crate::kv::parse_args_string_map;
use crate::output::{go_json_compact, wrap_at_length, J};
use crate::tls::go_io_error;
use crate::Env;

pub(crate) const COMMAND: Command =
    Command { name: "login", synopsis: "Authenticate locally", usage, flags, parse_flags: true, run };

fn usage() -> String {
    "Usage: coffer login [options] [AUTH K=V...]

  Authenticates users or machines to Coffer using the provided arguments. A
  successful authentication results in a Coffer token - conceptually similar to
  a session token on a website. By default, this token is cached on the local
  machine for future requests.

  The default auth method is \"token\". If not supplied via the CLI,
  Coffer will prompt for input. If the argument is \"-\", the values are read
  from stdin.

  The -method flag allows using other auth methods, such as userpass. For these,
  additional \"K=V\" pairs may be required. For example, to authenticate to the
  userpass auth method:

      $ coffer login -method=userpass username=my-username

  If an auth method is enabled at a non-standard path, the -method flag still
  refers to the canonical type, but the -path flag refers to the enabled path.
  If a userpass auth method was enabled at \"userpass-prod\", authenticate like
  this:

      $ coffer login -method=userpass -path=userpass-prod username=my-username

  If the authentication is requested with response wrapping (via -wrap-ttl),
  the returned token is automatically unwrapped unless:

    - The -token-only flag is used, in which case this command will output
      the wrapping token.

    - The -no-store flag is used, in which case this command will output the
      details of the wrapping token."
        .to_string()
}

fn flags() -> Vec<FlagDef> {
    let c = |name, kind, default, usage| command_flag(name, &[], kind, Group::Command, default, usage);
    let mut f = output_flags(true);
    f.extend([
        c(
            "method",
            Kind::Str,
            "token",
            "Type of authentication to use such as \"userpass\". Note this corresponds to the \
             TYPE, not the enabled path. Use -path to specify the path where the authentication \
             is enabled.",
        ),
        c(
            "path",
            Kind::Str,
            "",
            "Remote path in Coffer where the auth method is enabled. This defaults to the TYPE of \
             method (e.g. userpass -> userpass/).",
        ),
        c(
            "no-store",
            Kind::Bool,
            "false",
            "Do not persist the token to the token helper (usually the local filesystem) after \
             authentication for use in future requests. The token will only be displayed in the \
             command output.",
        ),
        c(
            "no-print",
            Kind::Bool,
            "false",
            "Do not display the token. The token will be still be stored to the configured token \
             helper.",
        ),
        c(
            "token-only",
            Kind::Bool,
            "false",
            "Output only the token with no verification. This flag is a shortcut for \
             \"-field=token -no-store\". Setting those flags to other values will have no affect.",
        ),
    ]);
    f
}

/// Reads a secret from a terminal without echo; like bao, refuses anything but a terminal.
fn read_hidden(ui: &mut Ui<'_>, env: &Env, prompt: &str) -> Result<SecretString, String> {
    ui.raw_err(prompt);
    let result = if env.stdin_is_terminal() {
        set_echo(false);
        let line = env.read_stdin_line();
        set_echo(true);
        match line {
            Ok(l) => Ok(SecretString::new(l.unwrap_or_default())),
            Err(e) => Err(e.to_string()),
        }
    } else {
        Err("file descriptor 0 is not a terminal".to_string())
    };
    ui.raw_err("\n");
    result
}

/// bao's token auth handler: the token from the arguments (or a prompt), looked up with
/// `lookup-self` unless `lookup=false`, shaped like a login response.
fn token_auth(
    ui: &mut Ui<'_>,
    env: &Env,
    client: &Client,
    config: &BTreeMap<String, String>,
    non_interactive: bool,
) -> Result<Secret, String> {
    let lookup = match config.get("lookup") {
        Some(x) => parse_bool(x).map_err(|e| format!("Failed to parse \"lookup\" as boolean: {e}"))?,
        None => true,
    };
    let token = match config.get("token") {
        Some(t) => SecretString::new(t.clone()),
        None if non_interactive => return Err("'token' not supplied and refusing to pull from stdin".to_string()),
        None => read_hidden(ui, env, "Token (will be hidden): ").map_err(|e| {
            format!(
                "An error occurred attempting to ask for a token. The raw error message is shown below, but usually this is because you attempted to pipe a value into the command or you are executing outside of a terminal (tty). If you want to pipe the value, pass \"-\" as the argument to read from stdin. The raw error was: {e}"
            )
        })?,
    };
    let token = token.expose().trim();
    if token.is_empty() {
        return Err("a token must be passed to auth, please view the help for more information".to_string());
    }
    if !lookup {
        let auth = SecretAuth { client_token: token.to_string(), ..SecretAuth::default() };
        return Ok(Secret { auth: Some(auth), ..Secret::default() });
    }
    let extra = Extra { no_wrap: true, token: TokenChoice::Use(token), ..Extra::default() };
    let secret = client
        .request_secret(Method::Get, "auth/token/lookup-self", None, extra)
        .map_err(|e| format!("error looking up token: {e}"))?
        .ok_or_else(|| "empty response from lookup-self".to_string())?;
    let data = secret.data.unwrap_or_default();
    let token_policies = get_str_list(&data, "policies");
    let identity_policies = get_str_list(&data, "identity_policies");
    let policies = match (&token_policies, &identity_policies) {
        (None, None) => None,
        (t, i) => Some(t.iter().chain(i.iter()).flatten().cloned().collect()),
    };
    let metadata = match data.get("metadata").filter(|m| !m.is_null()).or_else(|| data.get("meta")) {
        Some(Value::Object(m)) => {
            Some(m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
        }
        _ => None,
    };
    let ttl = match data.get("ttl") {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => i64::try_from(parse_duration_seconds(s).unwrap_or(0) / 1_000_000_000).unwrap_or(0),
        _ => 0,
    };
    let renewable = match data.get("renewable") {
        Some(Value::String(s)) => parse_bool(s).unwrap_or(false),
        _ => get_bool(&data, "renewable"),
    };
    let auth = SecretAuth {
        client_token: get_str(&data, "id"),
        accessor: get_str(&data, "accessor"),
        policies,
        token_policies,
        identity_policies,
        metadata,
        lease_duration: ttl,
        renewable,
        ..SecretAuth::default()
    };
    Ok(Secret { auth: Some(auth), ..Secret::default() })
}

/// bao's userpass auth handler: `PUT auth/MOUNT/login/USERNAME` with the password.
fn userpass_auth(
    ui: &mut Ui<'_>,
    env: &Env,
    client: &Client,
    config: &BTreeMap<String, String>,
    non_interactive: bool,
) -> Result<Secret, String> {
    let username = config.get("username").cloned().unwrap_or_default();
    if username.is_empty() {
        return Err("'username' must be specified".to_string());
    }
    let password = match config.get("password").filter(|p| !p.is_empty()) {
        Some(p) => SecretString::new(p.clone()),
        None if non_interactive => {
            return Err("'password' must be specified and refusing to pull from stdin".to_string());
        }
        None => read_hidden(ui, env, "Password (will be hidden): ")?,
    };
    let mount = config.get("mount").cloned().unwrap_or_default();
    let body = go_json_compact(&J::Obj(vec![("password".to_string(), J::Str(password.expose().to_string()))]));
    let body = SecretString::new(body);
    let path = format!("auth/{mount}/login/{username}");
    let extra = Extra { token: TokenChoice::None, ..Extra::default() };
    match client.write_secret_ext(Method::Put, &path, Some(body.expose().as_bytes()), extra) {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err("empty response from credential provider".to_string()),
        Err(failure) => Err(failure.0.to_string()),
    }
}

/// bao's `extractToken`: the secret with the token, unwrapping wrapped logins when asked.
/// The flag is whether the secret returned is a wrapping that was left wrapped.
fn extract_token(client: &Client, secret: Secret, unwrap: bool) -> Result<(Secret, bool), String> {
    if secret.auth.is_some() {
        return Ok((secret, false));
    }
    let Some(wrap) = &secret.wrap_info else {
        return Err("no auth or wrapping info in response".to_string());
    };
    if wrap.wrapped_accessor.is_empty() {
        return Err("wrapped response does not contain a token".to_string());
    }
    if !unwrap {
        return Ok((secret, true));
    }
    let extra = Extra { no_wrap: true, token: TokenChoice::Use(&wrap.token), ..Extra::default() };
    let unwrapped = client
        .request_secret(Method::Put, "sys/wrapping/unwrap", Some(b"null"), extra)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "empty response from auth helper".to_string())?;
    extract_token(client, unwrapped, unwrap)
}

/// bao's internal token helper: the token written to `~/.vault-token` (mode 0600) through a
/// temporary file.
fn store_token(env: &Env, token: &str) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let Some(home) = env.home() else {
        return Err("Error initializing token helper. Please verify that the token helper is available and properly configured for your system. The error was: $HOME is not defined".to_string());
    };
    let path = home.join(".vault-token");
    let tmp = home.join(".vault-token.tmp");
    let tmp_text = tmp.display().to_string();
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| go_io_error("open", &tmp_text, &e))?;
    f.write_all(token.as_bytes()).map_err(|e| go_io_error("write", &tmp_text, &e))?;
    drop(f);
    std::fs::rename(&tmp, &path)
        .map_err(|e| format!("rename {tmp_text} {}: {}", path.display(), crate::tls::go_errno_text(&e)))
}

fn run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    let token_only = parsed.bool("token-only").unwrap_or(false);
    let no_store = token_only || parsed.bool("no-store").unwrap_or(false);
    let no_print = parsed.bool("no-print").unwrap_or(false);
    let field = if token_only { Some("token") } else { parsed.string("field").filter(|f| !f.is_empty()) };
    if no_store && no_print {
        ui.error(&wrap_at_length("-no-store and -no-print cannot be used together"));
        return 1;
    }
    let method = crate::paths::sanitize(parsed.string("method").unwrap_or("token"));
    let method = if method.is_empty() { "token".to_string() } else { method };
    let auth_path = match parsed.string("path").filter(|p| !p.is_empty()) {
        Some(p) => p.to_string(),
        None => crate::paths::ensure_trailing_slash(&method),
    };
    if method != "token" && method != "userpass" {
        ui.error(&wrap_at_length(&format!(
            "Unknown auth method: {method}. Use \"bao auth list\" to see the complete list of auth methods. Additionally, some auth methods are only available via the HTTP API."
        )));
        return 1;
    }
    let non_interactive = parsed.bool("non-interactive").unwrap_or(false);
    let input_env = if non_interactive { env.clone().with_stdin(Vec::new()) } else { env.clone() };
    let mut args = parsed.args.clone();
    if method == "token" && args.first().is_some_and(|a| !a.contains('=')) {
        args[0] = format!("token={}", args[0]);
    }
    let mut config = match parse_args_string_map(&input_env, &args) {
        Ok(c) => c,
        Err(e) => {
            ui.error(&format!("Error parsing configuration: {e}"));
            return 1;
        }
    };
    if config.get("mount").is_none_or(String::is_empty) && !auth_path.is_empty() {
        config.insert("mount".to_string(), auth_path);
    }
    let client = match client(parsed, env) {
        Ok(c) => c,
        Err(e) => {
            ui.error(&e);
            return 2;
        }
    };
    let result = if method == "token" {
        token_auth(ui, &input_env, &client, &config, non_interactive)
    } else {
        userpass_auth(ui, &input_env, &client, &config, non_interactive)
    };
    let secret = match result {
        Ok(s) => s,
        Err(e) => {
            ui.error(&format!("Error authenticating: {e}"));
            return 2;
        }
    };
    let (secret, wrapped) = match extract_token(&client, secret, !no_store) {
        Ok(r) => r,
        Err(e) => {
            ui.error(&format!("Error extracting token: {e}"));
            return 2;
        }
    };
    if wrapped {
        if token_only {
            return print_raw_field(ui, &secret, "wrapping_token");
        }
        if no_store {
            return output_secret(ui, &secret);
        }
    }
    let Some(auth) = &secret.auth else {
        ui.error(&wrap_at_length(
            "Vault returned a secret, but the secret has no authentication information attached. This should never happen and is likely a bug.",
        ));
        return 2;
    };
    if !no_store {
        if let Err(e) = store_token(env, &auth.client_token) {
            if e.starts_with("Error initializing token helper") {
                ui.error(&wrap_at_length(&e));
                return 1;
            }
            ui.error(&format!("Error storing token: {e}"));
            ui.error(&format!(
                "{}\n",
                wrap_at_length(
                    "Authentication was successful, but the token was not persisted. The resulting token is shown below for your records."
                )
            ));
            output_secret(ui, &secret);
            return 2;
        }
        if env.bao_var("BAO_TOKEN").is_some() {
            ui.warn(&format!(
                "{}\n",
                wrap_at_length(
                    "WARNING! The BAO_TOKEN environment variable is set! The value of this variable will take precedence; if this is unwanted please unset BAO_TOKEN or update its value accordingly."
                )
            ));
        }
    } else if !token_only {
        ui.warn(&format!(
            "{}\n",
            wrap_at_length(
                "The token was not stored in token helper. Set the BAO_TOKEN environment variable or pass the token below with each request to Vault."
            )
        ));
    }
    if no_print {
        return 0;
    }
    if let Some(field) = field {
        return print_raw_field(ui, &secret, field);
    }
    if ui.is_table() {
        ui.output(&format!(
            "{}\n",
            wrap_at_length(
                "Success! You are now authenticated. The token information displayed below is already stored in the token helper. You do NOT need to run \"bao login\" again. Future OpenBao requests will automatically use this token."
            )
        ));
    }
    output_secret(ui, &secret)
}
