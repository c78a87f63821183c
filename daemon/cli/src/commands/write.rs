//! `write PATH [K=V...]`: PUT a JSON object built from K=V pairs, files and stdin.

use serde_json::Value;

use super::render::{output_secret, print_raw_field};
use super::{client, command_flag, field_flag, format_flag, http_flags, sanitize_path, Command, Ui};
use crate::client::{Method, Secret};
use crate::flags::{FlagDef, Group, Kind, Parsed};
use crate::kv::parse_args_data;
use crate::output::{go_json_compact, J};
use crate::Env;

pub(crate) const COMMAND: Command =
    Command { name: "write", synopsis: "Write data, configuration, and secrets", usage, flags, parse_flags: true, run };

fn usage() -> String {
    "Usage: coffer write [options] PATH [DATA K=V...]

  Writes data to Coffer at the given path. The data can be credentials, secrets,
  configuration, or arbitrary data. The specific behavior of this command is
  determined at the thing mounted at the path.

  Data is specified as \"key=value\" pairs. If the value begins with an \"@\", then
  it is loaded from a file. If the value is \"-\", Coffer will read the value from
  stdin. A lone \"-\" reads a JSON object of all the data from stdin.

  Persist data in the generic secrets engine:

      $ coffer write secret/my-secret foo=bar

  Write a key/value version 2 secret from JSON on stdin:

      $ echo '{\"data\": {\"foo\": \"bar\"}}' | coffer write secret/data/my-secret -

  For a full list of examples and paths, please see the documentation that
  corresponds to the secret engines in use."
        .to_string()
}

fn flags() -> Vec<FlagDef> {
    let mut f = http_flags();
    f.push(field_flag());
    f.push(format_flag());
    f.push(command_flag(
        "force",
        &["f"],
        Kind::Bool,
        Group::Command,
        "false",
        "Allow the operation to continue with no key=value pairs. This allows writing to \
         keys that do not need or expect data.",
    ));
    f
}

fn run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    let args = &parsed.args;
    if args.is_empty() {
        ui.error("Not enough arguments (expected 1, got 0)");
        return 1;
    }
    if args.len() == 1 && !parsed.bool("force").unwrap_or(false) {
        ui.error("Must supply data or use -force");
        return 1;
    }
    let path = sanitize_path(&args[0]);
    let data = match parse_args_data(env, &args[1..]) {
        Ok(d) => d,
        Err(e) => {
            ui.error(&format!("Failed to parse K=V data: {e}"));
            return 1;
        }
    };
    let client = match client(parsed, env) {
        Ok(c) => c,
        Err(e) => {
            ui.error(&e);
            return 2;
        }
    };
    // With no data arguments bao sends no body at all.
    let body = (args.len() > 1).then(|| go_json_compact(&J::from_value(&Value::Object(data))));
    let result = client.write_secret(Method::Put, &path, &[], body.as_deref().map(str::as_bytes));
    handle_write_output(ui, parsed, &path, result, "Success! Data written to")
}

/// bao's `handleWriteSecretOutput` (shared with delete, which words success differently).
pub(crate) fn handle_write_output(
    ui: &mut Ui<'_>,
    parsed: &Parsed,
    path: &str,
    result: Result<Option<Secret>, Box<(crate::error::Error, Option<Secret>)>>,
    success: &str,
) -> i32 {
    let verb = if success.contains("deleted") { "Error deleting" } else { "Error writing data to" };
    match result {
        Err(failure) => {
            let (e, secret) = *failure;
            ui.error(&format!("{verb} {path}: {e}"));
            if let Some(s) = secret {
                output_secret(ui, &s);
            }
            2
        }
        Ok(None) => {
            if ui.is_table() {
                ui.output(&format!("{success}: {path}"));
            }
            0
        }
        Ok(Some(secret)) => {
            if let Some(field) = parsed.string("field").filter(|f| !f.is_empty()) {
                return print_raw_field(ui, &secret, field);
            }
            output_secret(ui, &secret)
        }
    }
}
