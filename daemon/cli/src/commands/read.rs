//! `read PATH [K=V...]`: GET a path (K=V pairs become query parameters).

use super::render::{output_secret, print_raw_field};
use super::{client, field_flag, format_flag, http_flags, sanitize_path, Command, Ui};
use crate::client::Method;
use crate::flags::{FlagDef, Parsed};
use crate::kv::parse_args_string_lists;
use crate::Env;

pub(crate) const COMMAND: Command =
    Command { name: "read", synopsis: "Read data and retrieves secrets", usage, flags, parse_flags: true, run };

fn usage() -> String {
    "Usage: coffer read [options] PATH

  Reads data from Coffer at the given path. This can be used to read secrets,
  generate dynamic credentials, get configuration details, and more.

  Read a secret from the static secrets engine:

      $ coffer read secret/my-secret

  For a full list of examples and paths, please see the documentation that
  corresponds to the secrets engine in use."
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
        ui.error("Not enough arguments (expected 1, got 0)");
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
            ui.error(&format!("Failed to parse K=V data: {e}"));
            return 1;
        }
    };
    let secret = match client.read_secret(Method::Get, &path, &query, None) {
        Ok(Some(s)) => s,
        Ok(None) => {
            ui.error(&format!("No value found at {path}"));
            return 2;
        }
        Err(e) => {
            ui.error(&format!("Error reading {path}: {e}"));
            return 2;
        }
    };
    if let Some(field) = parsed.string("field").filter(|f| !f.is_empty()) {
        return print_raw_field(ui, &secret, field);
    }
    output_secret(ui, &secret)
}
