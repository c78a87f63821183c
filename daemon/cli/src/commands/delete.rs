//! `delete PATH [K=V...]`: DELETE a path (K=V pairs become query parameters).

use super::write::handle_write_output;
use super::{client, field_flag, format_flag, http_flags, sanitize_path, Command, Ui};
use crate::client::Method;
use crate::flags::{FlagDef, Parsed};
use crate::kv::parse_args_string_lists;
use crate::Env;

pub(crate) const COMMAND: Command =
    Command { name: "delete", synopsis: "Delete secrets and configuration", usage, flags, parse_flags: true, run };

fn usage() -> String {
    "Usage: coffer delete [options] PATH

  Deletes secrets and configuration from Coffer at the given path. The behavior
  of \"delete\" is delegated to the backend corresponding to the given path.

  Remove data in the status secret backend:

      $ coffer delete secret/my-secret

  For a full list of examples and paths, please see the documentation that
  corresponds to the secret backend in use."
        .to_string()
}

fn flags() -> Vec<FlagDef> {
    let mut f = http_flags();
    f.push(field_flag());
    f.push(format_flag());
    f
}

fn run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    let args = &parsed.args;
    if args.is_empty() {
        ui.error("Not enough arguments (expected at least 1, got 0)");
        return 1;
    }
    let client = match client(parsed, env) {
        Ok(c) => c,
        Err(e) => {
            ui.error(&e);
            return 2;
        }
    };
    let path = sanitize_path(&args[0]);
    let query = match parse_args_string_lists(env, &args[1..]) {
        Ok(q) => q,
        Err(e) => {
            ui.error(&format!("Failed to parse string list data: {e}"));
            return 1;
        }
    };
    let result = client.write_secret(Method::Delete, &path, &query, None);
    handle_write_output(ui, parsed, &path, result, "Success! Data deleted (if it existed) at")
}
