//! `version`: the CLI's own version; arguments and flags are ignored, as bao ignores them.

use super::{Command, Ui};
use crate::flags::{FlagDef, Parsed};
use crate::Env;

pub(crate) const COMMAND: Command =
    Command { name: "version", synopsis: "Prints the Coffer CLI version", usage, flags, parse_flags: false, run };

fn usage() -> String {
    "Usage: coffer version

  Prints the version of this Coffer CLI. This does not print the target Coffer
  server version.

  Print the version:

      $ coffer version

  There are no arguments or flags to this command. Any additional arguments or
  flags are ignored."
        .to_string()
}

fn flags() -> Vec<FlagDef> {
    Vec::new()
}

fn run(ui: &mut Ui<'_>, _env: &Env, _parsed: &Parsed) -> i32 {
    ui.output(&format!("Coffer v{}", env!("CARGO_PKG_VERSION")));
    0
}
