//! `kv delete`, `kv undelete` and `kv destroy`: operations on versions.

use super::{mount_flag, preflight, resolve, versions_body, versions_flag};
use crate::client::Method;
use crate::commands::render::{output_secret, print_raw_field};
use crate::commands::{check_args, connect, output_flags, Command, Ui};
use crate::flags::{FlagDef, Parsed};
use crate::paths;
use crate::Env;

pub(crate) const DELETE: Command = Command {
    name: "kv delete",
    synopsis: "Deletes versions in the KV store",
    usage: delete_usage,
    flags: delete_flags,
    parse_flags: true,
    run: delete_run,
};

fn delete_usage() -> String {
    "Usage: coffer kv delete [options] PATH

  Deletes the data for the provided version and path in the key-value store. The
  versioned data will not be fully removed, but marked as deleted and will no
  longer be returned in normal get requests.

  To delete the latest version of the key \"foo\":

      $ coffer kv delete -mount=secret foo

  The deprecated path-like syntax can also be used, but this should be avoided
  for KV v2, as the fact that it is not actually the full API path to
  the secret (secret/data/foo) can cause confusion:

      $ coffer kv delete secret/foo

  To delete version 3 of key foo:

      $ coffer kv delete -mount=secret -versions=3 foo

  To delete all versions and metadata, see the \"coffer kv metadata\" subcommand.

  Additional flags and more advanced use cases are detailed below."
        .to_string()
}

fn delete_flags() -> Vec<FlagDef> {
    let mut f = output_flags(true);
    f.push(versions_flag("Specifies the version numbers to delete."));
    f.push(mount_flag("data"));
    f
}

fn delete_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    let args = &parsed.args;
    if !check_args(ui, args, 1, 1, "1") {
        return 1;
    }
    let client = match connect(ui, parsed, env) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let target = match resolve(ui, &client, parsed, paths::sanitize(&args[0])) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let versions = parsed.strings("versions");
    let (full_path, result) = if target.v2 {
        let result = if versions.is_empty() {
            client.write_secret(Method::Delete, &target.api_path("data"), &[], None)
        } else {
            let body = versions_body(versions);
            client.write_secret(Method::Put, &target.api_path("delete"), &[], Some(body.as_bytes()))
        };
        (target.api_path("data"), result)
    } else {
        let path = target.v1_path();
        let result = client.write_secret(Method::Delete, &path, &[], None);
        (path, result)
    };
    match result {
        Err(failure) => {
            let (e, secret) = *failure;
            ui.error(&format!("Error deleting {full_path}: {e}"));
            if let Some(s) = secret {
                output_secret(ui, &s);
            }
            2
        }
        Ok(None) => {
            if ui.is_table() {
                ui.output(&format!("Success! Data deleted (if it existed) at: {full_path}"));
            }
            0
        }
        Ok(Some(secret)) => match parsed.string("field").filter(|f| !f.is_empty()) {
            Some(field) => print_raw_field(ui, &secret, field),
            None => output_secret(ui, &secret),
        },
    }
}

pub(crate) const UNDELETE: Command = Command {
    name: "kv undelete",
    synopsis: "Undeletes versions in the KV store",
    usage: undelete_usage,
    flags: undelete_flags,
    parse_flags: true,
    run: undelete_run,
};

fn undelete_usage() -> String {
    "Usage: coffer kv undelete [options] KEY

  Undeletes the data for the provided version and path in the key-value store.
  This restores the data, allowing it to be returned on get requests.

  To undelete version 3 of key \"foo\":

      $ coffer kv undelete -mount=secret -versions=3 foo

  The deprecated path-like syntax can also be used, but this should be avoided,
  as the fact that it is not actually the full API path to
  the secret (secret/data/foo) can cause confusion:

      $ coffer kv undelete -versions=3 secret/foo

  Additional flags and more advanced use cases are detailed below."
        .to_string()
}

fn undelete_flags() -> Vec<FlagDef> {
    let mut f = output_flags(false);
    f.push(versions_flag("Specifies the version numbers to undelete."));
    f.push(mount_flag("data"));
    f
}

fn undelete_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    versions_op(ui, env, parsed, "undelete", "Undelete")
}

pub(crate) const DESTROY: Command = Command {
    name: "kv destroy",
    synopsis: "Permanently removes one or more versions in the KV store",
    usage: destroy_usage,
    flags: destroy_flags,
    parse_flags: true,
    run: destroy_run,
};

fn destroy_usage() -> String {
    "Usage: coffer kv destroy [options] KEY

  Permanently removes the specified versions' data from the key-value store. If
  no key exists at the path, no action is taken.

  To destroy version 3 of key foo:

      $ coffer kv destroy -mount=secret -versions=3 foo

  The deprecated path-like syntax can also be used, but this should be avoided
  for KV v2, as the fact that it is not actually the full API path to
  the secret (secret/data/foo) can cause confusion:

      $ coffer kv destroy -versions=3 secret/foo

  Additional flags and more advanced use cases are detailed below."
        .to_string()
}

fn destroy_flags() -> Vec<FlagDef> {
    let mut f = output_flags(false);
    f.push(versions_flag("Specifies the version numbers to destroy."));
    f.push(mount_flag("data"));
    f
}

fn destroy_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    versions_op(ui, env, parsed, "destroy", "Destroy")
}

/// undelete and destroy: `{"versions": [...]}` written to `MOUNT/<op>/KEY`. Unlike the other
/// kv commands, `-mount` is used as the mount path as given.
fn versions_op(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed, op: &str, title: &str) -> i32 {
    let args = &parsed.args;
    if !check_args(ui, args, 1, 1, "1") {
        return 1;
    }
    let versions = parsed.strings("versions");
    if versions.is_empty() {
        ui.error(&format!("No versions provided, use the \"-versions\" flag to specify the version to {op}."));
        return 1;
    }
    let client = match connect(ui, parsed, env) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let partial = paths::sanitize(&args[0]);
    let lookup = parsed.string("mount").filter(|m| !m.is_empty()).map(paths::sanitize);
    let (mount_path, v2) = match preflight(&client, lookup.as_deref().unwrap_or(&partial)) {
        Ok((found, v2)) => (lookup.unwrap_or(found), v2),
        Err(e) => {
            ui.error(&e);
            return 2;
        }
    };
    if !v2 {
        ui.error(&format!("{title} not supported on KV Version 1"));
        return 1;
    }
    let path = super::add_prefix(&partial, &mount_path, op);
    let body = versions_body(versions);
    match client.write_secret(Method::Put, &path, &[], Some(body.as_bytes())) {
        Err(failure) => {
            let (e, secret) = *failure;
            ui.error(&format!("Error writing data to {path}: {e}"));
            if let Some(s) = secret {
                output_secret(ui, &s);
            }
            2
        }
        Ok(None) => {
            if ui.is_table() {
                ui.output(&format!("Success! Data written to: {path}"));
            }
            0
        }
        Ok(Some(secret)) => output_secret(ui, &secret),
    }
}
