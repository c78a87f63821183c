//! `status`: seal and HA status; exit code 2 when sealed.

use super::render::{output_seal_status, SealStatus};
use super::{client, format_flag, http_flags, Command, Ui};
use crate::client::Method;
use crate::flags::{FlagDef, Parsed};
use crate::Env;

pub(crate) const COMMAND: Command =
    Command { name: "status", synopsis: "Print seal and HA status", usage, flags, parse_flags: true, run };

fn usage() -> String {
    "Usage: coffer status [options]

  Prints the current state of Coffer including whether it is sealed and if HA
  mode is enabled. This command prints regardless of whether Coffer is sealed.

  The exit code reflects the seal status:

      - 0 - unsealed
      - 1 - error
      - 2 - sealed"
        .to_string()
}

fn flags() -> Vec<FlagDef> {
    let mut f = http_flags();
    f.push(format_flag());
    f
}

fn run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    if !parsed.args.is_empty() {
        ui.error(&format!("Too many arguments (expected 0, got {})", parsed.args.len()));
        return 1;
    }
    let client = match client(parsed, env) {
        Ok(c) => c,
        Err(e) => {
            // bao returns 2 elsewhere, but 2 means "sealed" here.
            ui.error(&e);
            return 1;
        }
    };
    let status = match client.json(Method::Get, "sys/seal-status", None) {
        Ok(s) => SealStatus::new(s),
        Err(e) => {
            ui.error(&format!("Error checking seal status: {e}"));
            return 1;
        }
    };
    let sealed = status.sealed();
    let code = output_seal_status(ui, &client, status);
    if sealed {
        2
    } else {
        code
    }
}
