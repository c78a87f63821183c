//! `kv metadata get | put | delete` (kv v2 only).

use serde_json::Value;

use super::{header_for_map, mount_flag, output_path, resolve, Target};
use crate::client::{Client, Method};
use crate::commands::render::{output_map, output_secret};
use crate::commands::{check_args, command_flag, connect, http_flags, output_flags, Command, Ui};
use crate::flags::{go_duration_string, FlagDef, Group, Kind, Parsed};
use crate::output::{go_json_compact, J};
use crate::paths;
use crate::Env;

/// The steps every metadata command starts with: one argument, a client, a v2 mount.
fn metadata_target(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> Result<(Client, Target), i32> {
    if !check_args(ui, &parsed.args, 1, 1, "1") {
        return Err(1);
    }
    let client = connect(ui, parsed, env)?;
    let target = resolve(ui, &client, parsed, paths::sanitize(&parsed.args[0]))?;
    if !target.v2 {
        ui.error("Metadata not supported on KV Version 1");
        return Err(1);
    }
    Ok((client, target))
}

pub(crate) const METADATA_GET: Command = Command {
    name: "kv metadata get",
    synopsis: "Retrieves key metadata from the KV store",
    usage: get_usage,
    flags: get_flags,
    parse_flags: true,
    run: get_run,
};

fn get_usage() -> String {
    "Usage: coffer kv metadata get [options] KEY

  Retrieves the metadata from Coffer's key-value store at the given key name. If no
  key exists with that name, an error is returned.

      $ coffer kv metadata get -mount=secret foo

  The deprecated path-like syntax can also be used, but this should be avoided
  for KV v2, as the fact that it is not actually the full API path to
  the secret (secret/metadata/foo) can cause confusion:

      $ coffer kv metadata get secret/foo

  Additional flags and more advanced use cases are detailed below."
        .to_string()
}

fn get_flags() -> Vec<FlagDef> {
    let mut f = output_flags(false);
    f.push(mount_flag("metadata"));
    f
}

fn get_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    let (client, target) = match metadata_target(ui, env, parsed) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let full_path = target.api_path("metadata");
    let mut secret = match client.read_secret(Method::Get, &full_path, &[], None) {
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
    if secret.wrap_info.is_some() || !ui.is_table() {
        return output_secret(ui, &secret);
    }
    let versions = match secret.data.as_mut().and_then(|d| d.remove("versions")) {
        Some(Value::Object(v)) => v,
        _ => {
            ui.error(&format!("No value found at {full_path}"));
            output_secret(ui, &secret);
            return 2;
        }
    };
    output_path(ui, &full_path, "Metadata Path");
    ui.output(&header_for_map("Metadata", secret.data.as_ref()));
    output_secret(ui, &secret);
    let mut numbers = Vec::with_capacity(versions.len());
    for k in versions.keys() {
        match k.parse::<i64>() {
            Ok(n) => numbers.push((n, k)),
            Err(_) => {
                ui.error(&format!("Error parsing version {k}"));
                return 2;
            }
        }
    }
    numbers.sort();
    for (n, k) in numbers {
        let empty = serde_json::Map::new();
        let v = versions[k].as_object().unwrap_or(&empty);
        ui.output(&format!("\n{}", header_for_map(&format!("Version {n}"), Some(v))));
        output_map(ui, v);
    }
    0
}

pub(crate) const METADATA_PUT: Command = Command {
    name: "kv metadata put",
    synopsis: "Sets or updates key settings in the KV store",
    usage: put_usage,
    flags: put_flags,
    parse_flags: true,
    run: put_run,
};

fn put_usage() -> String {
    "Usage: coffer kv metadata put [options] KEY

  This command can be used to create a blank key in the key-value store or to
  update key configuration for a specified key.

  Create a key in the key-value store with no data:

      $ coffer kv metadata put -mount=secret foo

  The deprecated path-like syntax can also be used, but this should be avoided
  for KV v2, as the fact that it is not actually the full API path to
  the secret (secret/metadata/foo) can cause confusion:

      $ coffer kv metadata put secret/foo

  Set a max versions setting on the key:

      $ coffer kv metadata put -mount=secret -max-versions=5 foo

  Set delete-version-after on the key:

      $ coffer kv metadata put -mount=secret -delete-version-after=3h25m19s foo

  Require Check-and-Set for this key:

      $ coffer kv metadata put -mount=secret -cas-required foo

  Set custom metadata on the key:

      $ coffer kv metadata put -mount=secret -custom-metadata=foo=abc -custom-metadata=bar=123 foo

  Additional flags and more advanced use cases are detailed below."
        .to_string()
}

fn put_flags() -> Vec<FlagDef> {
    let mut f = output_flags(false);
    f.push(command_flag(
        "max-versions",
        &[],
        Kind::Int,
        Group::Common,
        "-1",
        "The number of versions to keep. If not set, the backend’s configured max version is \
         used.",
    ));
    f.push(command_flag(
        "cas-required",
        &[],
        Kind::BoolPtr,
        Group::Common,
        "",
        "If true the key will require the cas parameter to be set on all write requests. If \
         false, the backend’s configuration will be used.",
    ));
    f.push(command_flag(
        "delete-version-after",
        &[],
        Kind::Duration,
        Group::Common,
        "-1ns",
        "Specifies the length of time before a version is deleted. If not set, the backend's \
         configured delete-version-after is used. Cannot be greater than the backend's \
         delete-version-after. The delete-version-after is specified as a numeric string with \
         a suffix like \"30s\" or \"3h25m19s\".",
    ));
    f.push(command_flag(
        "custom-metadata",
        &[],
        Kind::KeyValue,
        Group::Common,
        "",
        "Specifies arbitrary version-agnostic key=value metadata meant to describe a \
         secret.This can be specified multiple times to add multiple pieces of metadata.",
    ));
    f.push(mount_flag("metadata"));
    f
}

/// The body bao builds from the flags that were given (keys sorted, as Go encodes a map).
fn put_body(parsed: &Parsed) -> String {
    let mut fields: Vec<(String, J)> = Vec::new();
    if parsed.is_set("cas-required") {
        fields.push(("cas_required".to_string(), J::Bool(parsed.bool("cas-required").unwrap_or(false))));
    }
    if let Some(m) = parsed.map("custom-metadata").filter(|m| !m.is_empty()) {
        fields.push(("custom_metadata".to_string(), J::Obj(m.into_iter().map(|(k, v)| (k, J::Str(v))).collect())));
    }
    let dva = if parsed.is_set("delete-version-after") { parsed.duration_ns("delete-version-after") } else { -1 };
    if dva >= 0 {
        fields.push(("delete_version_after".to_string(), J::Str(go_duration_string(dva))));
    }
    let max = parsed.int("max-versions").unwrap_or(-1);
    if max >= 0 {
        fields.push(("max_versions".to_string(), J::int(max)));
    }
    go_json_compact(&J::Obj(fields))
}

fn put_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    let (client, target) = match metadata_target(ui, env, parsed) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let full_path = target.api_path("metadata");
    let body = put_body(parsed);
    match client.write_secret(Method::Put, &full_path, &[], Some(body.as_bytes())) {
        Err(failure) => {
            let (e, secret) = *failure;
            ui.error(&format!("Error writing data to {full_path}: {e}"));
            if let Some(s) = secret {
                output_secret(ui, &s);
            }
            2
        }
        Ok(None) => {
            if ui.is_table() {
                ui.output(&format!("Success! Data written to: {full_path}"));
            }
            0
        }
        Ok(Some(secret)) => output_secret(ui, &secret),
    }
}

pub(crate) const METADATA_DELETE: Command = Command {
    name: "kv metadata delete",
    synopsis: "Deletes all versions and metadata for a key in the KV store",
    usage: delete_usage,
    flags: delete_flags,
    parse_flags: true,
    run: delete_run,
};

fn delete_usage() -> String {
    "Usage: coffer kv metadata delete [options] PATH

  Deletes all versions and metadata for the provided key.

      $ coffer kv metadata delete -mount=secret foo

  The deprecated path-like syntax can also be used, but this should be avoided
  for KV v2, as the fact that it is not actually the full API path to
  the secret (secret/metadata/foo) can cause confusion:

      $ coffer kv metadata delete secret/foo

  Additional flags and more advanced use cases are detailed below."
        .to_string()
}

fn delete_flags() -> Vec<FlagDef> {
    let mut f = http_flags();
    f.push(mount_flag("metadata"));
    f
}

fn delete_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    let (client, target) = match metadata_target(ui, env, parsed) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let full_path = target.api_path("metadata");
    if let Err(failure) = client.write_secret(Method::Delete, &full_path, &[], None) {
        let (e, secret) = *failure;
        ui.error(&format!("Error deleting {full_path}: {e}"));
        if let Some(s) = secret {
            output_secret(ui, &s);
        }
        return 2;
    }
    ui.output(&format!("Success! Data deleted (if it existed) at: {full_path}"));
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only the flags that were given go into the body; durations as Go prints them.
    #[test]
    fn put_body_has_given_flags_only() {
        let parse = |a: &[&str]| {
            let args: Vec<String> = a.iter().map(|s| s.to_string()).collect();
            crate::flags::parse(&put_flags(), &args).unwrap_or_default()
        };
        assert_eq!(put_body(&parse(&["k"])), "{}");
        assert_eq!(
            put_body(&parse(&[
                "-max-versions=5",
                "-cas-required=false",
                "-delete-version-after=90",
                "-custom-metadata=b=2",
                "-custom-metadata=a=1",
                "-custom-metadata=b=3",
                "k"
            ])),
            "{\"cas_required\":false,\"custom_metadata\":{\"a\":\"1\",\"b\":\"3\"},\"delete_version_after\":\"1m30s\",\"max_versions\":5}"
        );
        assert_eq!(put_body(&parse(&["-delete-version-after=system", "k"])), "{}");
    }
}
