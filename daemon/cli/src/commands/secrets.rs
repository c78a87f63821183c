//! `secrets enable | disable | list | move | tune` over `sys/mounts` and `sys/remount`.

use std::time::Duration;

use serde_json::Value;

use super::{
    check_args, command_flag, connect, http_flags, mounts, output_flags, sanitize_path, Command, CommandGroup, Ui,
};
use crate::client::{Client, Method};
use crate::error::Error;
use crate::flags::{FlagDef, Group, Kind, Parsed};
use crate::output::J;
use crate::paths::ensure_trailing_slash;
use crate::Env;

pub(crate) const GROUP: CommandGroup =
    CommandGroup { name: "secrets", synopsis: "Interact with secrets engines", usage: group_usage };

fn group_usage() -> String {
    "Usage: coffer secrets <subcommand> [options] [args]

  This command groups subcommands for interacting with Coffer's secrets engines.
  Each secret engine behaves differently. Please see the documentation for
  more information.

  List all enabled secrets engines:

      $ coffer secrets list

  Enable a new secrets engine:

      $ coffer secrets enable database

  Please see the individual subcommand help for detailed usage information."
        .to_string()
}

pub(crate) const ENABLE: Command = Command {
    name: "secrets enable",
    synopsis: "Enable a secrets engine",
    usage: enable_usage,
    flags: enable_flags,
    parse_flags: true,
    run: enable_run,
};

fn enable_usage() -> String {
    "Usage: coffer secrets enable [options] TYPE

  Enables a secrets engine. By default, secrets engines are enabled at the path
  corresponding to their TYPE, but users can customize the path using the
  -path option.

  Once enabled, Coffer will route all requests which begin with the path to the
  secrets engine.

  Enable the key/value secrets engine at kv/:

      $ coffer secrets enable kv

  Enable version 2 of the key/value secrets engine at apps/:

      $ coffer secrets enable -path=apps -version=2 kv

  Enable a secrets engine with an explicit maximum TTL of 30m:

      $ coffer secrets enable -max-lease-ttl=30m kv

  For a full list of secrets engines and examples, please see the documentation."
        .to_string()
}

fn enable_flags() -> Vec<FlagDef> {
    let mut f = http_flags();
    f.extend(mounts::config_flags(false, false));
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
    let mut engine = args[0].trim().to_string();
    if engine == "plugin" {
        engine = plugin_name.to_string();
    }
    let mut mount_path = parsed.string("path").unwrap_or("").to_string();
    if mount_path.is_empty() {
        mount_path = if engine == "plugin" { plugin_name.to_string() } else { engine.clone() };
    }
    let mount_path = ensure_trailing_slash(&mount_path);
    let body = mounts::enable_body(parsed, &engine);
    if let Err(e) = mounts::write(&client, Method::Post, &format!("sys/mounts/{mount_path}"), &body) {
        ui.error(&format!("Error enabling: {e}"));
        return 2;
    }
    let mut thing =
        if engine == "plugin" { format!("{plugin_name} plugin") } else { format!("{engine} secrets engine") };
    if let Some(v) = parsed.string("plugin-version").filter(|v| !v.is_empty()) {
        thing.push_str(&format!(" version {v}"));
    }
    ui.output(&format!("Success! Enabled the {thing} at: {mount_path}"));
    0
}

pub(crate) const DISABLE: Command = Command {
    name: "secrets disable",
    synopsis: "Disable a secret engine",
    usage: disable_usage,
    flags: http_flags,
    parse_flags: true,
    run: disable_run,
};

fn disable_usage() -> String {
    "Usage: coffer secrets disable [options] PATH

  Disables a secrets engine at the given PATH. The argument corresponds to
  the enabled PATH of the engine, not the TYPE! All secrets created by this
  engine are revoked and its Coffer data is removed.

  Disable the secrets engine enabled at aws/:

      $ coffer secrets disable aws/"
        .to_string()
}

fn disable_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    let args = &parsed.args;
    if !check_args(ui, args, 1, 1, "1") {
        return 1;
    }
    let client = match connect(ui, parsed, env) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let path = ensure_trailing_slash(&sanitize_path(&args[0]));
    if let Err(e) = client.request_secret(Method::Delete, &format!("sys/mounts/{path}"), None, Default::default()) {
        ui.error(&format!("Error disabling secrets engine at {path}: {e}"));
        return 2;
    }
    ui.output(&format!("Success! Disabled the secrets engine (if it existed) at: {path}"));
    0
}

pub(crate) const LIST: Command = Command {
    name: "secrets list",
    synopsis: "List enabled secrets engines",
    usage: list_usage,
    flags: list_flags,
    parse_flags: true,
    run: list_run,
};

fn list_usage() -> String {
    "Usage: coffer secrets list [options]

  Lists the enabled secret engines on the Coffer server. This command also
  outputs information about the enabled path including configured TTLs and
  human-friendly descriptions. A TTL of \"system\" indicates that the system
  default is in use.

  List all enabled secrets engines:

      $ coffer secrets list

  List all enabled secrets engines with detailed output:

      $ coffer secrets list -detailed"
        .to_string()
}

pub(crate) fn detailed_flag(usage: &'static str) -> FlagDef {
    command_flag("detailed", &[], Kind::Bool, Group::Command, "false", usage)
}

fn list_flags() -> Vec<FlagDef> {
    let mut f = output_flags(false);
    f.push(detailed_flag(
        "Print detailed information such as TTLs and replication status about each secrets \
         engine.",
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
    let all = match mounts::list(&client, "sys/mounts") {
        Ok(m) => m,
        Err(e) => {
            ui.error(&format!("Error listing secrets engines: {e}"));
            return 2;
        }
    };
    if ui.is_table() {
        return mounts::output_table(ui, &all, parsed.bool("detailed").unwrap_or(false), false);
    }
    mounts::output_json(ui, &all)
}

pub(crate) const MOVE: Command = Command {
    name: "secrets move",
    synopsis: "Move a secrets engine to a new path",
    usage: move_usage,
    flags: http_flags,
    parse_flags: true,
    run: move_run,
};

fn move_usage() -> String {
    "Usage: coffer secrets move [options] SOURCE DESTINATION

  Moves an existing secrets engine to a new path. Any leases from the old
  secrets engine are revoked, but all configuration associated with the engine
  is preserved. It initiates the migration and intermittently polls its status,
  exiting if a final state is reached.

  WARNING! Moving a secrets engine will revoke any leases from the
  old engine.

  Move the secrets engine at secret/ to generic/:

      $ coffer secrets move secret/ generic/"
        .to_string()
}

/// The string under `key` of the data of a `sys/remount*` answer.
fn remount_field(client: &Client, method: Method, path: &str, body: Option<&J>, key: &[&str]) -> Result<String, Error> {
    let body = body.map(crate::output::go_json_compact);
    let secret = client.request_secret(method, path, body.as_deref().map(str::as_bytes), Default::default())?;
    let Some(data) = secret.and_then(|s| s.data) else {
        return Err(Error::Decode("data from server response is empty".to_string()));
    };
    let mut v = &Value::Object(data);
    for k in key {
        v = v.get(k).unwrap_or(&Value::Null);
    }
    Ok(v.as_str().unwrap_or_default().to_string())
}

fn move_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    let args = &parsed.args;
    if !check_args(ui, args, 2, 2, "2") {
        return 1;
    }
    let source = ensure_trailing_slash(&args[0]);
    let destination = ensure_trailing_slash(&args[1]);
    let client = match connect(ui, parsed, env) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let body =
        J::Obj(vec![("from".to_string(), J::Str(source.clone())), ("to".to_string(), J::Str(destination.clone()))]);
    let id = match remount_field(&client, Method::Post, "sys/remount", Some(&body), &["migration_id"]) {
        Ok(id) => id,
        Err(e) => {
            ui.error(&format!("Error moving secrets engine {source} to {destination}: {e}"));
            return 2;
        }
    };
    ui.output(&format!("Started moving secrets engine {source} to {destination}, with migration ID {id}"));
    loop {
        let status = match remount_field(
            &client,
            Method::Get,
            &format!("sys/remount/status/{id}"),
            None,
            &["migration_info", "status"],
        ) {
            Ok(s) => s,
            Err(e) => {
                ui.error(&format!("Error checking migration status of secrets engine {source} to {destination}: {e}"));
                return 2;
            }
        };
        match status.as_str() {
            "success" => {
                ui.output(&format!(
                    "Success! Finished moving secrets engine {source} to {destination}, with migration ID {id}"
                ));
                return 0;
            }
            "failure" => {
                ui.error(&format!(
                    "Failure! Error encountered moving secrets engine {source} to {destination}, with migration ID {id}"
                ));
                return 0;
            }
            _ => {
                ui.output(&format!(
                    "Waiting for terminal status in migration of secrets engine {source} to {destination}, with migration ID {id}"
                ));
                std::thread::sleep(Duration::from_secs(10));
            }
        }
    }
}

pub(crate) const TUNE: Command = Command {
    name: "secrets tune",
    synopsis: "Tune a secrets engine configuration",
    usage: tune_usage,
    flags: tune_flags,
    parse_flags: true,
    run: tune_run,
};

fn tune_usage() -> String {
    "Usage: coffer secrets tune [options] PATH

  Tunes the configuration options for the secrets engine at the given PATH.
  The argument corresponds to the PATH where the secrets engine is enabled,
  not the TYPE!

  Tune the default lease for the PKI secrets engine:

      $ coffer secrets tune -default-lease-ttl=72h pki/"
        .to_string()
}

fn tune_flags() -> Vec<FlagDef> {
    let mut f = http_flags();
    f.extend(mounts::config_flags(true, false));
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
    if let Err(e) = mounts::write(&client, Method::Post, &format!("sys/mounts/{mount_path}/tune"), &body) {
        ui.error(&format!("Error tuning secrets engine {mount_path}: {e}"));
        return 2;
    }
    ui.output(&format!("Success! Tuned the secrets engine at: {mount_path}"));
    0
}
