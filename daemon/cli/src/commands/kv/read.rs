//! `kv get` and `kv list`.

use serde_json::{Map, Value};

use super::{header_for_map, mount_flag, output_path, resolve};
use crate::client::Method;
use crate::commands::render::{
    output_list, output_map, output_secret, print_raw_field, print_raw_map_field, print_warnings,
};
use crate::commands::{check_args, command_flag, connect, output_flags, Command, Ui};
use crate::flags::{FlagDef, Group, Kind, Parsed};
use crate::Env;

pub(crate) const GET: Command = Command {
    name: "kv get",
    synopsis: "Retrieves data from the KV store",
    usage: get_usage,
    flags: get_flags,
    parse_flags: true,
    run: get_run,
};

fn get_usage() -> String {
    "Usage: coffer kv get [options] KEY

  Retrieves the value from Coffer's key-value store at the given key name. If no
  key exists with that name, an error is returned. If a key exists with that
  name but has no data, nothing is returned.

      $ coffer kv get -mount=secret foo

  The deprecated path-like syntax can also be used, but this should be avoided
  for KV v2, as the fact that it is not actually the full API path to
  the secret (secret/data/foo) can cause confusion:

      $ coffer kv get secret/foo

  To view the given key name at a specific version in time, specify the \"-version\"
  flag:

      $ coffer kv get -mount=secret -version=1 foo

  Additional flags and more advanced use cases are detailed below."
        .to_string()
}

fn get_flags() -> Vec<FlagDef> {
    let mut f = output_flags(true);
    f.push(command_flag(
        "version",
        &[],
        Kind::Int,
        Group::Common,
        "",
        "If passed, the value at the version number will be returned.",
    ));
    f.push(mount_flag("data"));
    f
}

fn get_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    let args = &parsed.args;
    if !check_args(ui, args, 1, 1, "1") {
        return 1;
    }
    let client = match connect(ui, parsed, env) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // kv get drops one leading slash only (the other commands sanitize).
    let partial = args[0].strip_prefix('/').unwrap_or(&args[0]).to_string();
    let target = match resolve(ui, &client, parsed, partial) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let mut query = Vec::new();
    let full_path = if target.v2 {
        if let Some(v) = parsed.int("version").filter(|v| *v > 0) {
            query.push(("version".to_string(), v.to_string()));
        }
        target.api_path("data")
    } else {
        target.v1_path()
    };
    let secret = match client.read_secret(Method::Get, &full_path, &query, None) {
        Ok(Some(s)) => s,
        Ok(None) => {
            ui.error(&format!("No value found at {full_path}"));
            return 2;
        }
        Err(e) => {
            ui.error(&format!("Error reading {full_path}: {e}"));
            return 2;
        }
    };
    let data = secret.data.clone().unwrap_or_default();
    if let Some(field) = parsed.string("field").filter(|f| !f.is_empty()) {
        if !target.v2 {
            return print_raw_field(ui, &secret, field);
        }
        return match data.get("data").filter(|d| !d.is_null()) {
            Some(Value::Object(inner)) if field == "data" && inner.contains_key("data") => {
                print_raw_map_field(ui, inner, field)
            }
            Some(_) if field == "data" => print_raw_field(ui, &secret, field),
            Some(Value::Object(inner)) => print_raw_map_field(ui, inner, field),
            Some(_) => print_raw_map_field(ui, &Map::new(), field),
            None => {
                ui.error(&format!("No data found at {full_path}"));
                2
            }
        };
    }
    if secret.wrap_info.is_some() || !ui.is_table() {
        return output_secret(ui, &secret);
    }
    print_warnings(ui, secret.warnings.as_deref());
    if target.v2 {
        output_path(ui, &full_path, "Secret Path");
    }
    if let Some(metadata) = data.get("metadata").filter(|m| !m.is_null()) {
        let empty = Map::new();
        let m = metadata.as_object().unwrap_or(&empty);
        ui.output(&header_for_map("Metadata", Some(m)));
        output_map(ui, m);
        ui.output("");
    }
    let shown: Option<Map<String, Value>> = match (&secret.data, target.v2) {
        (None, _) => None,
        (Some(d), false) => Some(d.clone()),
        (Some(d), true) => d.get("data").and_then(Value::as_object).cloned(),
    };
    if let Some(d) = shown {
        ui.output(&header_for_map("Data", Some(&d)));
        output_map(ui, &d);
    }
    0
}

pub(crate) const LIST: Command = Command {
    name: "kv list",
    synopsis: "List data or secrets",
    usage: list_usage,
    flags: list_flags,
    parse_flags: true,
    run: list_run,
};

fn list_usage() -> String {
    "Usage: coffer kv list [options] PATH

  Lists data from Coffer's key-value store at the given path.

  List values under the \"my-app\" folder of the key-value store:

      $ coffer kv list secret/my-app/

  Additional flags and more advanced use cases are detailed below."
        .to_string()
}

fn list_flags() -> Vec<FlagDef> {
    let mut f = output_flags(false);
    f.push(mount_flag("data"));
    f
}

fn list_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    let mut args = parsed.args.clone();
    if args.is_empty() && parsed.string("mount").is_some_and(|m| !m.is_empty()) {
        args.push(String::new());
    }
    if !check_args(ui, &args, 1, 1, "1") {
        return 1;
    }
    let client = match connect(ui, parsed, env) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let target = match resolve(ui, &client, parsed, crate::paths::sanitize(&args[0])) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let full_path = if target.v2 { target.api_path("metadata") } else { target.v1_path() };
    let query = [("list".to_string(), "true".to_string())];
    let secret = match client.read_secret(Method::Get, &full_path, &query, None) {
        Ok(s) => s,
        Err(e) => {
            ui.error(&format!("Error listing {full_path}: {e}"));
            return 2;
        }
    };
    if let Some(s) = &secret {
        if s.wrap_info.as_ref().is_some_and(|w| w.ttl != 0) {
            return output_secret(ui, s);
        }
    }
    let keys = secret.as_ref().and_then(|s| s.data.as_ref()).and_then(|d| match d.get("keys") {
        Some(Value::Array(items)) => Some(items.clone()),
        _ => None,
    });
    if !ui.is_table() && keys.is_none() {
        output_map(ui, &Map::new());
        return 2;
    }
    let Some(secret) = secret.filter(|s| s.data.is_some()) else {
        ui.error(&format!("No value found at {full_path}"));
        return 2;
    };
    let Some(keys) = keys else {
        ui.error(&format!("No entries found at {full_path}"));
        return 2;
    };
    output_list(ui, &secret, &keys)
}
