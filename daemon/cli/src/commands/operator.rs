//! `operator init | unseal | seal | key-status | rotate`.

use coffer_hardening::secret::SecretString;
use serde_json::{Map, Value};

use super::render::{key_status_output, output_seal_status, SealStatus};
use super::{client, command_flag, format_flag, http_flags, Command, Ui};
use crate::client::{get_str, get_str_list, Client, Method};
use crate::flags::{FlagDef, Group, Kind, Parsed};
use crate::output::{go_json_compact, go_json_pretty, wrap_at_length, J};
use crate::Env;

pub(crate) fn group_usage() -> String {
    "Usage: coffer operator <subcommand> [options] [args]

  This command groups subcommands for operators interacting with Coffer. Most
  users will not need to interact with these commands. Here are a few examples
  of the operator commands:

  Initialize a new Coffer cluster:

      $ coffer operator init

  Rotate Coffer's underlying encryption key:

      $ coffer operator rotate

  Please see the individual subcommand help for detailed usage information."
        .to_string()
}

fn with_format() -> Vec<FlagDef> {
    let mut f = http_flags();
    f.push(format_flag());
    f
}

fn make_client(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> Option<Client> {
    match client(parsed, env) {
        Ok(c) => Some(c),
        Err(e) => {
            ui.error(&e);
            None
        }
    }
}

fn no_args(ui: &mut Ui<'_>, parsed: &Parsed) -> bool {
    if parsed.args.is_empty() {
        return true;
    }
    ui.error(&format!("Too many arguments (expected 0, got {})", parsed.args.len()));
    false
}

// ---------------------------------------------------------------------------------------
// init

pub(crate) const INIT: Command = Command {
    name: "operator init",
    synopsis: "Initializes a server",
    usage: init_usage,
    flags: init_flags,
    parse_flags: true,
    run: init_run,
};

fn init_usage() -> String {
    "Usage: coffer operator init [options]

  Initializes a Coffer server. Initialization is the process by which Coffer's
  storage backend is prepared to receive data. Since Coffer servers share the
  same storage backend in HA mode, you only need to initialize one Coffer
  instance to initialize the storage backend.

  During initialization, Coffer generates an in-memory root key and applies
  Shamir's secret sharing algorithm to disassemble that root key into a
  configuration number of key shares such that a configurable subset of those
  key shares must come together to regenerate the root key. These keys are
  often called \"unseal keys\" in Coffer's documentation.

  This command cannot be run against an already-initialized Coffer cluster.

  Start initialization with the default options:

      $ coffer operator init

  Initialize with 3 key shares, any 2 of which unseal:

      $ coffer operator init -key-shares=3 -key-threshold=2"
        .to_string()
}

fn init_flags() -> Vec<FlagDef> {
    let mut f = with_format();
    f.push(command_flag(
        "status",
        &[],
        Kind::Bool,
        Group::Command,
        "false",
        "Print the current initialization status. An exit code of 0 means the Coffer is \
         already initialized. An exit code of 1 means an error occurred. An exit code of 2 \
         means the Coffer is not initialized.",
    ));
    f.push(command_flag(
        "key-shares",
        &["n"],
        Kind::Int,
        Group::Command,
        "",
        "Number of key shares to split the generated root key into. This is the number of \
         \"unseal keys\" to generate.",
    ));
    f.push(command_flag(
        "key-threshold",
        &["t"],
        Kind::Int,
        Group::Command,
        "",
        "Number of key shares required to reconstruct the root key. This must be less than \
         or equal to -key-shares.",
    ));
    f.push(command_flag(
        "recovery-shares",
        &[],
        Kind::Int,
        Group::AutoUnseal,
        "5",
        "Number of key shares to split the recovery key into. This is only used in \
         auto-unseal mode.",
    ));
    f.push(command_flag(
        "recovery-threshold",
        &[],
        Kind::Int,
        Group::AutoUnseal,
        "3",
        "Number of key shares required to reconstruct the recovery key. This is only used \
         in Auto Unseal mode.",
    ));
    f
}

fn init_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    if !no_args(ui, parsed) {
        return 1;
    }
    let Some(client) = make_client(ui, env, parsed) else {
        return 2;
    };
    let seal = match client.json(Method::Get, "sys/seal-status", None) {
        Ok(s) => SealStatus::new(s),
        Err(e) => {
            ui.error(&e.to_string());
            return 2;
        }
    };
    let mut shares = parsed.int("key-shares").unwrap_or(0);
    let mut threshold = parsed.int("key-threshold").unwrap_or(0);
    let mut recovery_shares = parsed.int("recovery-shares").unwrap_or(0);
    let mut recovery_threshold = parsed.int("recovery-threshold").unwrap_or(0);
    if seal.recovery_seal() {
        if recovery_shares == 0 {
            recovery_shares = 5;
        }
        if recovery_threshold == 0 {
            recovery_threshold = 3;
        }
    } else {
        if shares == 0 {
            shares = 5;
        }
        if threshold == 0 {
            threshold = 3;
        }
    }
    if parsed.bool("status").unwrap_or(false) {
        return init_status(ui, &client);
    }
    let request = J::Obj(vec![
        ("secret_shares".to_string(), J::int(shares)),
        ("secret_threshold".to_string(), J::int(threshold)),
        ("pgp_keys".to_string(), J::Null),
        ("recovery_shares".to_string(), J::int(recovery_shares)),
        ("recovery_threshold".to_string(), J::int(recovery_threshold)),
        ("recovery_pgp_keys".to_string(), J::Null),
        ("root_token_pgp_key".to_string(), J::str("")),
    ]);
    let body = go_json_compact(&request);
    let resp = match client.json(Method::Put, "sys/init", Some(body.as_bytes())) {
        Ok(r) => r,
        Err(e) => {
            ui.error(&format!("Error initializing: {e}"));
            return 2;
        }
    };
    let keys = get_str_list(&resp, "keys");
    let keys_b64 = get_str_list(&resp, "keys_base64");
    let recovery = get_str_list(&resp, "recovery_keys");
    let recovery_b64 = get_str_list(&resp, "recovery_keys_base64");
    let root_token = get_str(&resp, "root_token");
    let n_keys = keys.as_ref().map_or(0, Vec::len);

    if !ui.is_table() {
        let (unseal_shares, unseal_threshold) = if n_keys == 0 { (1, 1) } else { (shares, threshold) };
        let j = J::Obj(vec![
            ("unseal_keys_b64".to_string(), J::str_list(keys_b64.as_deref())),
            ("unseal_keys_hex".to_string(), J::str_list(keys.as_deref())),
            ("unseal_shares".to_string(), J::int(unseal_shares)),
            ("unseal_threshold".to_string(), J::int(unseal_threshold)),
            ("recovery_keys_b64".to_string(), J::str_list(recovery_b64.as_deref())),
            ("recovery_keys_hex".to_string(), J::str_list(recovery.as_deref())),
            ("recovery_keys_shares".to_string(), J::int(recovery_shares)),
            ("recovery_keys_threshold".to_string(), J::int(recovery_threshold)),
            ("root_token".to_string(), J::str(root_token)),
        ]);
        ui.output(&go_json_pretty(&j));
        return 0;
    }

    let pick = |hex: &Option<Vec<String>>, b64: &Option<Vec<String>>| -> Vec<String> {
        let hex = hex.clone().unwrap_or_default();
        match b64 {
            Some(b) if b.len() == hex.len() => b.clone(),
            _ => hex,
        }
    };
    for (i, k) in pick(&keys, &keys_b64).iter().enumerate() {
        ui.output(&format!("Unseal Key {}: {k}", i + 1));
    }
    let recovery_shown = pick(&recovery, &recovery_b64);
    for (i, k) in recovery_shown.iter().enumerate() {
        ui.output(&format!("Recovery Key {}: {k}", i + 1));
    }
    ui.output("");
    ui.output(&format!("Initial Root Token: {root_token}"));
    if n_keys > 0 {
        ui.output("");
        ui.output(&wrap_at_length(&format!(
            "Vault initialized with {shares} key shares and a key threshold of {threshold}. \
             Please securely distribute the key shares printed above. When the Vault is \
             re-sealed, restarted, or stopped, you must supply at least {threshold} of these \
             keys to unseal it before it can start servicing requests."
        )));
        ui.output("");
        ui.output(&wrap_at_length(&format!(
            "Vault does not store the generated root key. Without at least {threshold} keys \
             to reconstruct the root key, Vault will remain permanently sealed!"
        )));
        ui.output("");
        ui.output(&wrap_at_length(
            "It is possible to generate new unseal keys, provided you have a quorum of \
             existing unseal keys shares. See \"bao operator rotate-keys\" for more \
             information.",
        ));
    } else {
        ui.output("");
        ui.output("Success! Vault is initialized");
    }
    if !recovery_shown.is_empty() {
        ui.output("");
        ui.output(&wrap_at_length(&format!(
            "Recovery key initialized with {recovery_shares} key shares and a key threshold \
             of {recovery_threshold}. Please securely distribute the key shares printed above."
        )));
    }
    0
}

fn init_status(ui: &mut Ui<'_>, client: &Client) -> i32 {
    let initialized = match client.json(Method::Get, "sys/init", None) {
        Ok(m) => matches!(m.get("initialized"), Some(Value::Bool(true))),
        Err(e) => {
            ui.error(&format!("Error checking init status: {e}"));
            return 1;
        }
    };
    if ui.is_table() {
        ui.output(if initialized { "Vault is initialized" } else { "Vault is not initialized" });
    } else {
        let j = J::Obj(vec![("Initialized".to_string(), J::Bool(initialized))]);
        ui.output(&go_json_pretty(&j));
    }
    if initialized {
        0
    } else {
        2
    }
}

// ---------------------------------------------------------------------------------------
// unseal

pub(crate) const UNSEAL: Command = Command {
    name: "operator unseal",
    synopsis: "Unseals the Coffer server",
    usage: unseal_usage,
    flags: unseal_flags,
    parse_flags: true,
    run: unseal_run,
};

fn unseal_usage() -> String {
    "Usage: coffer operator unseal [options] [KEY]

  Provide a portion of the root key to unseal a Coffer server. Coffer starts
  in a sealed state. It cannot perform operations until it is unsealed. This
  command accepts a portion of the root key (an \"unseal key\").

  The unseal key can be supplied as an argument to the command, but this is
  not recommended as the unseal key will be available in your history:

      $ coffer operator unseal IXyR0OJnSFobekZMMCKCoVEpT7wI6l+USMzE3IcyDyo=

  Instead, run the command with no arguments and it will prompt for the key
  (or read one line from standard input when it is not a terminal):

      $ coffer operator unseal
      Unseal Key (will be hidden): IXyR0OJnSFobekZMMCKCoVEpT7wI6l+USMzE3IcyDyo="
        .to_string()
}

fn unseal_flags() -> Vec<FlagDef> {
    let mut f = with_format();
    f.push(command_flag(
        "reset",
        &[],
        Kind::Bool,
        Group::Command,
        "false",
        "Discard any previously entered keys to the unseal process.",
    ));
    f.push(command_flag(
        "migrate",
        &[],
        Kind::Bool,
        Group::Command,
        "false",
        "Indicate that this share is provided with the intent that it is part of a seal \
         migration process.",
    ));
    f
}

/// Runs `stty` on the inherited terminal to turn echo off or back on.
pub(super) fn set_echo(on: bool) {
    let _ = std::process::Command::new("stty")
        .arg(if on { "echo" } else { "-echo" })
        .stdin(std::process::Stdio::inherit())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}

/// Reads the key: without echo from a terminal, else one line of standard input.
fn prompt_key(ui: &mut Ui<'_>, env: &Env) -> Result<SecretString, String> {
    ui.raw("Unseal Key (will be hidden): ");
    let tty = env.stdin_is_terminal();
    if tty {
        set_echo(false);
    }
    let line = env.read_stdin_line();
    if tty {
        set_echo(true);
    }
    ui.output("");
    match line {
        Ok(Some(l)) => {
            let l = SecretString::new(l);
            let key = l.expose().trim();
            if key.is_empty() {
                Err("EOF".to_string())
            } else {
                Ok(SecretString::new(key.to_string()))
            }
        }
        Ok(_) => Err("EOF".to_string()),
        Err(e) => Err(e.to_string()),
    }
}

fn unseal_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    let mut key = match parsed.args.len() {
        0 => SecretString::new(String::new()),
        1 => SecretString::new(parsed.args[0].trim().to_string()),
        n => {
            ui.error(&format!("Too many arguments (expected 1, got {n})"));
            return 1;
        }
    };
    let Some(client) = make_client(ui, env, parsed) else {
        return 2;
    };
    if parsed.bool("reset").unwrap_or(false) {
        let body = go_json_compact(&J::Obj(vec![("reset".to_string(), J::Bool(true))]));
        return match client.json(Method::Put, "sys/unseal", Some(body.as_bytes())) {
            Ok(s) => output_seal_status(ui, &client, SealStatus::new(s)),
            Err(e) => {
                ui.error(&format!("Error resetting unseal process: {e}"));
                2
            }
        };
    }
    if key.expose().is_empty() {
        if parsed.bool("non-interactive").unwrap_or(false) {
            ui.error(&wrap_at_length(
                "Refusing to read from stdin with -non-interactive specified; specify unseal \
                 key as an argument to this command",
            ));
            return 1;
        }
        key = match prompt_key(ui, env) {
            Ok(k) => k,
            Err(e) => {
                ui.error(&wrap_at_length(&format!(
                    "An error occurred attempting to ask for an unseal key. The raw error \
                     message is shown below, but usually this is because you attempted to \
                     pipe a value into the unseal command or you are executing outside of a \
                     terminal (tty). You should run the unseal command from a terminal for \
                     maximum security. If this is not an option, the unseal key can be \
                     provided as the first argument to the unseal command. The raw error \
                     was:\n\n{e}"
                )));
                return 1;
            }
        };
    }
    let body = SecretString::new(go_json_compact(&J::Obj(vec![
        ("key".to_string(), J::str(key.expose())),
        ("reset".to_string(), J::Bool(false)),
        ("migrate".to_string(), J::Bool(parsed.bool("migrate").unwrap_or(false))),
    ])));
    match client.json(Method::Put, "sys/unseal", Some(body.expose().as_bytes())) {
        Ok(s) => output_seal_status(ui, &client, SealStatus::new(s)),
        Err(e) => {
            ui.error(&format!("Error unsealing: {e}"));
            2
        }
    }
}

// ---------------------------------------------------------------------------------------
// seal

pub(crate) const SEAL: Command = Command {
    name: "operator seal",
    synopsis: "Seals the Coffer server",
    usage: seal_usage,
    flags: http_flags,
    parse_flags: true,
    run: seal_run,
};

fn seal_usage() -> String {
    "Usage: coffer operator seal [options]

  Seals the Coffer server. Sealing tells the Coffer server to stop responding
  to any operations until it is unsealed. When sealed, the Coffer server
  discards its in-memory root key to unlock the data, so it is physically
  blocked from responding to operations unsealed.

  If an unseal is in progress, sealing Coffer will reset the unsealing
  process. Users will have to re-enter their portions of the root key again.

  This command does nothing if the Coffer server is already sealed.

  Seal the Coffer server:

      $ coffer operator seal"
        .to_string()
}

fn seal_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    if !no_args(ui, parsed) {
        return 1;
    }
    let Some(client) = make_client(ui, env, parsed) else {
        return 2;
    };
    match client.send(Method::Put, "sys/seal", &[], None) {
        Ok(resp) => {
            if let Some(e) = resp.error() {
                ui.error(&format!("Error sealing: {e}"));
                return 2;
            }
        }
        Err(e) => {
            ui.error(&format!("Error sealing: {e}"));
            return 2;
        }
    }
    ui.output("Success! Vault is sealed.");
    0
}

// ---------------------------------------------------------------------------------------
// key-status and rotate

pub(crate) const KEY_STATUS: Command = Command {
    name: "operator key-status",
    synopsis: "Provides information about the active encryption key",
    usage: key_status_usage,
    flags: with_format,
    parse_flags: true,
    run: key_status_run,
};

fn key_status_usage() -> String {
    "Usage: coffer operator key-status [options]

  Provides information about the active barrier encryption key. Specifically
  the current key term, installation time and encryption count."
        .to_string()
}

fn read_key_status(ui: &mut Ui<'_>, client: &Client) -> Option<Map<String, Value>> {
    match client.json(Method::Get, "sys/key-status", None) {
        Ok(m) => Some(m),
        Err(e) => {
            ui.error(&format!("Error reading key status: {e}"));
            None
        }
    }
}

fn key_status_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    if !no_args(ui, parsed) {
        return 1;
    }
    let Some(client) = make_client(ui, env, parsed) else {
        return 2;
    };
    let Some(status) = read_key_status(ui, &client) else {
        return 2;
    };
    key_status_output(ui, &status, "");
    0
}

pub(crate) const ROTATE: Command = Command {
    name: "operator rotate",
    synopsis: "Rotates the underlying encryption key",
    usage: rotate_usage,
    flags: with_format,
    parse_flags: true,
    run: rotate_run,
};

fn rotate_usage() -> String {
    "Usage: coffer operator rotate [options]

  Rotates the underlying encryption key which is used to secure data written
  to the storage backend. This installs a new key in the keyring. This new
  key is used to encrypted new data, while older keys in the ring are used to
  decrypt older data.

  This is an online operation and does not cause downtime. This command is run
  per-cluster (not per-server), since Coffer servers in HA mode share the same
  storage backend.

  Rotate Coffer's encryption key:

      $ coffer operator rotate"
        .to_string()
}

fn rotate_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    if !no_args(ui, parsed) {
        return 1;
    }
    let Some(client) = make_client(ui, env, parsed) else {
        return 2;
    };
    // OpenBao 2.7 rotates with POST sys/rotate/keyring; older servers only know PUT
    // sys/rotate, so that is tried when the new path does not exist.
    let mut result = client.send(Method::Post, "sys/rotate/keyring", &[], None);
    if matches!(&result, Ok(r) if r.status == 404 || r.status == 405) {
        result = client.send(Method::Put, "sys/rotate", &[], None);
    }
    let failure = match result {
        Ok(r) => r.error().map(|e| e.to_string()),
        Err(e) => Some(e.to_string()),
    };
    if let Some(e) = failure {
        ui.error(&format!("Error rotating key: {e}"));
        return 2;
    }
    let Some(status) = read_key_status(ui, &client) else {
        return 2;
    };
    let prefix = if ui.is_table() { "Success! Rotated key\n\n" } else { "" };
    key_status_output(ui, &status, prefix);
    0
}
