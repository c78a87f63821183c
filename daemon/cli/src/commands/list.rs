//! `list PATH`: GET with `?list=true` and print the `keys`.

use serde_json::{Map, Value};

use super::render::{output_list, output_map, output_secret};
use super::{client, command_flag, format_flag, http_flags, sanitize_path, Command, Ui};
use crate::client::Method;
use crate::flags::{FlagDef, Group, Kind, Parsed};
use crate::Env;

pub(crate) const COMMAND: Command =
    Command { name: "list", synopsis: "List data or secrets", usage, flags, parse_flags: true, run };

fn usage() -> String {
    "Usage: coffer list [options] PATH

  Lists data from Coffer at the given path. This can be used to list keys in a
  given secret engine.

  List values under the \"my-app\" folder of the generic secret engine:

      $ coffer list secret/my-app/

  Some paths support paginated listing. Use the -after and -limit flags to
  control the return of data:

      $ coffer list -after=last-serial -limit=50 pki/certs

  For a full list of examples and paths, please see the documentation that
  corresponds to the secret engine in use. Not all engines support listing."
        .to_string()
}

fn flags() -> Vec<FlagDef> {
    let mut f = http_flags();
    f.push(format_flag());
    f.push(command_flag(
        "after",
        &[],
        Kind::Str,
        Group::Command,
        "",
        "Last seen key on applicable endpoints; the next key alphabetically will be the \
         first returned.",
    ));
    f.push(command_flag(
        "limit",
        &[],
        Kind::Int,
        Group::Command,
        "-1",
        "Limits the number of list responses on applicable endpoints.",
    ));
    f
}

fn run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    let args = &parsed.args;
    match args.len() {
        0 => {
            ui.error("Not enough arguments (expected 1, got 0)");
            return 1;
        }
        1 => {}
        n => {
            ui.error(&format!("Too many arguments (expected 1, got {n})"));
            return 1;
        }
    }
    let client = match client(parsed, env) {
        Ok(c) => c,
        Err(e) => {
            ui.error(&e);
            return 2;
        }
    };
    let path = sanitize_path(&args[0]);
    let after = parsed.string("after").unwrap_or("");
    let limit = parsed.int("limit").unwrap_or(-1);
    let mut query = vec![("list".to_string(), "true".to_string())];
    if !after.is_empty() || limit > 0 {
        query.push(("after".to_string(), after.to_string()));
        query.push(("limit".to_string(), limit.to_string()));
    }
    let secret = match client.read_secret(Method::Get, &path, &query, None) {
        Ok(s) => s,
        Err(e) => {
            ui.error(&format!("Error listing {path}: {e}"));
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
    let Some(secret) = secret else {
        ui.error(&format!("No value found at {path}"));
        return 2;
    };
    if secret.data.is_none() {
        return output_secret(ui, &secret);
    }
    let Some(keys) = keys else {
        ui.error(&format!("No entries found at {path}"));
        return 2;
    };
    output_list(ui, &secret, &keys)
}
