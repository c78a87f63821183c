//! `auth enable | disable | list | tune` over `sys/auth` and `sys/mounts/auth/*/tune`.

use super::secrets::detailed_flag;
use super::{check_args, connect, http_flags, mounts, output_flags, sanitize_path, Command, CommandGroup, Ui};
use crate::client::Method;
use crate::flags::{FlagDef, Parsed};
use crate::paths::ensure_trailing_slash;
use crate::Env;

pub(crate) const GROUP: CommandGroup =
    CommandGroup { name: "auth", synopsis: "Interact with auth methods", usage: group_usage };

fn group_usage() -> String {
    "Usage: coffer auth <subcommand> [options] [args]

  This command groups subcommands for interacting with Coffer's auth methods.
  Users can list, enable, disable, and get help for different auth methods.

  To authenticate to Coffer as a user or machine, use the \"coffer login\" command
  instead. This command is for interacting with the auth methods themselves, not
  authenticating to Coffer.

  List all enabled auth methods:

      $ coffer auth list

  Enable a new auth method \"userpass\";

      $ coffer auth enable userpass

  Please see the individual subcommand help for detailed usage information."
        .to_string()
}

pub(crate) const ENABLE: Command = Command {
    name: "auth enable",
    synopsis: "Enables a new auth method",
    usage: enable_usage,
    flags: enable_flags,
    parse_flags: true,
    run: enable_run,
};

fn enable_usage() -> String {
    "Usage: coffer auth enable [options] TYPE

  Enables a new auth method. An auth method is responsible for authenticating
  users or machines and assigning them policies with which they can access
  Coffer.

  Enable the userpass auth method at userpass/:

      $ coffer auth enable userpass

  Enable the userpass auth method at auth-prod/:

      $ coffer auth enable -path=auth-prod userpass"
        .to_string()
}

fn enable_flags() -> Vec<FlagDef> {
    let mut f = http_flags();
    f.extend(mounts::config_flags(false, true));
    f
}

fn enable_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    let args = &parsed.args;
    if !check_args(ui, args, 1, 1, "1") {
        return 1;
    }
    let client = match connect(ui, parsed, env) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let plugin_name = parsed.string("plugin-name").unwrap_or("");
    let mut auth_type = args[0].trim().to_string();
    if auth_type == "plugin" {
        auth_type = plugin_name.to_string();
    }
    let mut auth_path = parsed.string("path").unwrap_or("").to_string();
    if auth_path.is_empty() {
        auth_path = if auth_type == "plugin" { plugin_name.to_string() } else { auth_type.clone() };
    }
    let auth_path = ensure_trailing_slash(&auth_path);
    let body = mounts::enable_body(parsed, &auth_type);
    if let Err(e) = mounts::write(&client, Method::Post, &format!("sys/auth/{auth_path}"), &body) {
        ui.error(&format!("Error enabling {auth_type} auth: {e}"));
        return 2;
    }
    let mut thing =
        if auth_type == "plugin" { format!("{plugin_name} plugin") } else { format!("{auth_type} auth method") };
    if let Some(v) = parsed.string("plugin-version").filter(|v| !v.is_empty()) {
        thing.push_str(&format!(" version {v}"));
    }
    ui.output(&format!("Success! Enabled {thing} at: {auth_path}"));
    0
}

pub(crate) const DISABLE: Command = Command {
    name: "auth disable",
    synopsis: "Disables an auth method",
    usage: disable_usage,
    flags: http_flags,
    parse_flags: true,
    run: disable_run,
};

fn disable_usage() -> String {
    "Usage: coffer auth disable [options] PATH

  Disables an existing auth method at the given PATH. The argument corresponds
  to the PATH of the mount, not the TYPE!. Once the auth method is disabled its
  path can no longer be used to authenticate.

  All access tokens generated via the disabled auth method are immediately
  revoked. This command will block until all tokens are revoked.

  Disable the auth method at userpass/:

      $ coffer auth disable userpass/"
        .to_string()
}

fn disable_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    let args = &parsed.args;
    if !check_args(ui, args, 1, 1, "1") {
        return 1;
    }
    let path = ensure_trailing_slash(&sanitize_path(&args[0]));
    let client = match connect(ui, parsed, env) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Err(e) = client.request_secret(Method::Delete, &format!("sys/auth/{path}"), None, Default::default()) {
        ui.error(&format!("Error disabling auth method at {path}: {e}"));
        return 2;
    }
    ui.output(&format!("Success! Disabled the auth method (if it existed) at: {path}"));
    0
}

pub(crate) const LIST: Command = Command {
    name: "auth list",
    synopsis: "Lists enabled auth methods",
    usage: list_usage,
    flags: list_flags,
    parse_flags: true,
    run: list_run,
};

fn list_usage() -> String {
    "Usage: coffer auth list [options]

  Lists the enabled auth methods on the Coffer server. This command also outputs
  information about the method including configuration and human-friendly
  descriptions. A TTL of \"system\" indicates that the system default is in use.

  List all enabled auth methods:

      $ coffer auth list

  List all enabled auth methods with detailed output:

      $ coffer auth list -detailed"
        .to_string()
}

fn list_flags() -> Vec<FlagDef> {
    let mut f = output_flags(false);
    f.push(detailed_flag(
        "Print detailed information such as configuration and replication status about each \
         auth method. This option is only applicable to table-formatted output.",
    ));
    f
}

fn list_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    if !check_args(ui, &parsed.args, 0, 0, "0") {
        return 1;
    }
    let client = match connect(ui, parsed, env) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let all = match mounts::list(&client, "sys/auth") {
        Ok(m) => m,
        Err(e) => {
            ui.error(&format!("Error listing enabled authentications: {e}"));
            return 2;
        }
    };
    if ui.is_table() {
        return mounts::output_table(ui, &all, parsed.bool("detailed").unwrap_or(false), true);
    }
    mounts::output_json(ui, &all)
}

pub(crate) const TUNE: Command = Command {
    name: "auth tune",
    synopsis: "Tunes an auth method configuration",
    usage: tune_usage,
    flags: tune_flags,
    parse_flags: true,
    run: tune_run,
};

fn tune_usage() -> String {
    "Usage: coffer auth tune [options] PATH

  Tunes the configuration options for the auth method at the given PATH. The
  argument corresponds to the PATH where the auth method is enabled, not the
  TYPE!

  Tune the default lease for the userpass auth method:

      $ coffer auth tune -default-lease-ttl=72h userpass/"
        .to_string()
}

fn tune_flags() -> Vec<FlagDef> {
    let mut f = http_flags();
    f.extend(mounts::config_flags(true, true));
    f
}

fn tune_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    let args = &parsed.args;
    if !check_args(ui, args, 1, 1, "1") {
        return 1;
    }
    let client = match connect(ui, parsed, env) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mount_path = ensure_trailing_slash(&sanitize_path(&args[0]));
    let body = mounts::tune_body(parsed);
    if let Err(e) = mounts::write(&client, Method::Post, &format!("sys/mounts/auth/{mount_path}/tune"), &body) {
        ui.error(&format!("Error tuning auth method {mount_path}: {e}"));
        return 2;
    }
    ui.output(&format!("Success! Tuned the auth method at: {mount_path}"));
    0
}
