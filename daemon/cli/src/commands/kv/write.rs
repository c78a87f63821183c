//! `kv put`, `kv patch` and `kv rollback`: writes of new versions.

use serde_json::{Map, Value};

use super::{header_for_map, mount_flag, output_path, resolve};
use crate::client::{Client, Extra, Method, Secret};
use crate::commands::render::{output_map, output_secret, print_raw_field};
use crate::commands::{command_flag, connect, output_flags, Command, Ui};
use crate::flags::{FlagDef, Group, Kind, Parsed};
use crate::kv::parse_args_data;
use crate::output::{go_json_compact, J};
use crate::Env;

/// `{"data": data, "options": {"cas": cas}}` (options empty without a cas), as Go encodes
/// the map: keys sorted.
fn v2_body(data: &Map<String, Value>, cas: Option<J>) -> String {
    let options = match cas {
        Some(c) => J::Obj(vec![("cas".to_string(), c)]),
        None => J::Obj(Vec::new()),
    };
    go_json_compact(&J::Obj(vec![
        ("data".to_string(), J::from_value(&Value::Object(data.clone()))),
        ("options".to_string(), options),
    ]))
}

/// What a successful write prints: the field, the wrapped response, or (table) the secret
/// path and the new version's metadata.
fn output_written(ui: &mut Ui<'_>, parsed: &Parsed, full_path: &str, secret: &Secret) -> i32 {
    if let Some(field) = parsed.string("field").filter(|f| !f.is_empty()) {
        return print_raw_field(ui, secret, field);
    }
    if secret.wrap_info.as_ref().is_some_and(|w| w.ttl != 0) {
        return output_secret(ui, secret);
    }
    if ui.is_table() {
        output_path(ui, full_path, "Secret Path");
        ui.output(&header_for_map("Metadata", secret.data.as_ref()));
        return match &secret.data {
            Some(d) => output_map(ui, d),
            None => 0,
        };
    }
    output_secret(ui, secret)
}

fn cas_flag(default: &'static str, usage: &'static str) -> FlagDef {
    command_flag("cas", &[], Kind::Int, Group::Common, default, usage)
}

pub(crate) const PUT: Command = Command {
    name: "kv put",
    synopsis: "Sets or updates data in the KV store",
    usage: put_usage,
    flags: put_flags,
    parse_flags: true,
    run: put_run,
};

fn put_usage() -> String {
    "Usage: coffer kv put [options] KEY [DATA]

  Writes the data to the given path in the key-value store. The data can be of
  any type.

      $ coffer kv put -mount=secret foo bar=baz

  The deprecated path-like syntax can also be used, but this should be avoided
  for KV v2, as the fact that it is not actually the full API path to
  the secret (secret/data/foo) can cause confusion:

      $ coffer kv put secret/foo bar=baz

  The data can also be consumed from a file on disk by prefixing with the \"@\"
  symbol. For example:

      $ coffer kv put -mount=secret foo @data.json

  Or it can be read from stdin using the \"-\" symbol:

      $ echo \"abcd1234\" | coffer kv put -mount=secret foo bar=-

  To perform a Check-And-Set operation, specify the -cas flag with the
  appropriate version number corresponding to the key you want to perform
  the CAS operation on:

      $ coffer kv put -mount=secret -cas=1 foo bar=baz

  Additional flags and more advanced use cases are detailed below."
        .to_string()
}

fn put_flags() -> Vec<FlagDef> {
    let mut f = output_flags(true);
    f.push(cas_flag(
        "-1",
        "Specifies to use a Check-And-Set operation. If not set the write will be allowed. If \
         set to 0 a write will only be allowed if the key doesn’t exist. If the index is \
         non-zero the write will only be allowed if the key’s current version matches the \
         version specified in the cas parameter.",
    ));
    f.push(mount_flag("data"));
    f
}

fn put_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    let args = &parsed.args;
    match args.len() {
        0 => {
            ui.error("Not enough arguments (expected >1, got 0)");
            return 1;
        }
        1 => {
            ui.error("Must supply data");
            return 1;
        }
        _ => {}
    }
    let client = match connect(ui, parsed, env) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let data = match parse_args_data(env, &args[1..]) {
        Ok(d) => d,
        Err(e) => {
            ui.error(&format!("Failed to parse K=V data: {e}"));
            return 1;
        }
    };
    let target = match resolve(ui, &client, parsed, crate::paths::sanitize(&args[0])) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let (full_path, body) = if target.v2 {
        let cas = parsed.int("cas").unwrap_or(-1);
        (target.api_path("data"), v2_body(&data, (cas > -1).then(|| J::int(cas))))
    } else {
        (target.v1_path(), go_json_compact(&J::from_value(&Value::Object(data))))
    };
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
        Ok(Some(secret)) => output_written(ui, parsed, &full_path, &secret),
    }
}

pub(crate) const PATCH: Command = Command {
    name: "kv patch",
    synopsis: "Sets or updates data in the KV store without overwriting",
    usage: patch_usage,
    flags: patch_flags,
    parse_flags: true,
    run: patch_run,
};

fn patch_usage() -> String {
    "Usage: coffer kv patch [options] KEY [DATA]

  *NOTE*: This is only supported for KV v2 engine mounts.

  Writes the data to the corresponding path in the key-value store. The data can be of
  any type.

      $ coffer kv patch -mount=secret foo bar=baz

  The deprecated path-like syntax can also be used, but this should be avoided,
  as the fact that it is not actually the full API path to
  the secret (secret/data/foo) can cause confusion:

      $ coffer kv patch secret/foo bar=baz

  The data can also be consumed from a file on disk by prefixing with the \"@\"
  symbol. For example:

      $ coffer kv patch -mount=secret foo @data.json

  Or it can be read from stdin using the \"-\" symbol:

      $ echo \"abcd1234\" | coffer kv patch -mount=secret foo bar=-

  To perform a Check-And-Set operation, specify the -cas flag with the
  appropriate version number corresponding to the key you want to perform
  the CAS operation on:

      $ coffer kv patch -mount=secret -cas=1 foo bar=baz

  By default, this operation will attempt an HTTP PATCH operation. If your
  policy does not allow that, it will fall back to a read/local update/write approach.
  If you wish to specify which method this command should use, you may do so
  with the -method flag. When -method=patch is specified, only an HTTP PATCH
  operation will be tried. If it fails, the entire command will fail.

      $ coffer kv patch -mount=secret -method=patch foo bar=baz

  When -method=rw is specified, only a read/local update/write approach will be tried.

      $ coffer kv patch -mount=secret -method=rw foo bar=baz

  To remove data from the corresponding path in the key-value store, kv patch can be used.

      $ coffer kv patch -mount=secret -remove-data=bar foo

  Additional flags and more advanced use cases are detailed below."
        .to_string()
}

fn patch_flags() -> Vec<FlagDef> {
    let mut f = output_flags(true);
    f.push(cas_flag(
        "",
        "Specifies to use a Check-And-Set operation. If set to 0 or not set, the patch will be \
         allowed. If the index is non-zero the patch will only be allowed if the key’s current \
         version matches the version specified in the cas parameter.",
    ));
    f.push(command_flag(
        "method",
        &[],
        Kind::Str,
        Group::Common,
        "",
        "Specifies which method of patching to use. If set to \"patch\", then an HTTP PATCH \
         request will be issued. If set to \"rw\", then a read will be performed, then a local \
         update, followed by a remote update.",
    ));
    f.push(mount_flag("data"));
    f.push(command_flag(
        "remove-data",
        &[],
        Kind::StrSlice,
        Group::Common,
        "",
        "Key to remove from data. To specify multiple values, specify this flag multiple times.",
    ));
    f
}

fn patch_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    let args = &parsed.args;
    let remove = parsed.strings("remove-data");
    if args.is_empty() {
        ui.error("Not enough arguments (expected >1, got 0)");
        return 1;
    }
    if remove.is_empty() && args.len() == 1 {
        ui.error("Must supply data");
        return 1;
    }
    let client = match connect(ui, parsed, env) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut new_data = match parse_args_data(env, &args[1..]) {
        Ok(d) => d,
        Err(e) => {
            ui.error(&format!("Failed to parse K=V data: {e}"));
            return 1;
        }
    };
    let target = match resolve(ui, &client, parsed, crate::paths::sanitize(&args[0])) {
        Ok(t) => t,
        Err(code) => return code,
    };
    if !target.v2 {
        ui.error("K/V engine mount must be version 2 for patch support");
        return 2;
    }
    let full_path = target.api_path("data");
    for key in remove {
        // A null in a JSON merge patch removes the key.
        new_data.insert(key.clone(), Value::Null);
    }
    let method = parsed.string("method").unwrap_or("");
    let result = match method {
        "rw" => read_then_write(ui, &client, &full_path, &new_data, "patch"),
        "patch" => merge_patch(ui, parsed, &client, &full_path, &new_data, false),
        "" => merge_patch(ui, parsed, &client, &full_path, &new_data, true),
        other => {
            ui.error(&format!("Unsupported method provided to -method flag: {other}"));
            return 2;
        }
    };
    match result {
        Err(code) => code,
        Ok(None) => 0,
        Ok(Some(secret)) => output_written(ui, parsed, &full_path, &secret),
    }
}

/// An HTTP PATCH with a JSON merge patch; on 405 (or 403, with a warning) and `fallback`,
/// the read-then-write way instead.
fn merge_patch(
    ui: &mut Ui<'_>,
    parsed: &Parsed,
    client: &Client,
    path: &str,
    new_data: &Map<String, Value>,
    fallback: bool,
) -> Result<Option<Secret>, i32> {
    let cas = parsed.int("cas").filter(|c| *c > 0).map(J::int);
    let body = v2_body(new_data, cas);
    let extra = Extra { content_type: Some("application/merge-patch+json"), ..Extra::default() };
    match client.write_secret_ext(Method::Patch, path, Some(body.as_bytes()), extra) {
        Err(failure) => {
            let (e, _) = *failure;
            let status = match &e {
                crate::error::Error::Api(api) => api.status,
                _ => 0,
            };
            if status == 405 && fallback {
                return read_then_write(ui, client, path, new_data, "patch");
            }
            if status == 403 && fallback {
                ui.warn(&format!(
                    "Data was written to {path} but we recommend that you add the \"patch\" capability to your ACL policy in order to use HTTP PATCH in the future."
                ));
                return read_then_write(ui, client, path, new_data, "patch");
            }
            ui.error(&format!("Error writing data to {path}: {e}"));
            Err(2)
        }
        Ok(None) => {
            if ui.is_table() {
                ui.output(&format!("Success! Data written to: {path}"));
            }
            Ok(None)
        }
        Ok(Some(secret)) => Ok(Some(secret)),
    }
}

/// A version read back: its metadata and (when present) its data.
type Version = (Map<String, Value>, Option<Map<String, Value>>);

/// Reads the current version at `path` and checks it has metadata and data, with bao's
/// messages (`what` is the operation named in them: "patch" or "rollback").
fn pre_read(
    ui: &mut Ui<'_>,
    client: &Client,
    path: &str,
    query: &[(String, String)],
    what: &str,
    check_deleted: bool,
) -> Result<Version, i32> {
    let secret = match client.read_secret(Method::Get, path, query, None) {
        Ok(s) => s,
        Err(e) => {
            ui.error(&format!("Error doing pre-read at {path}: {e}"));
            return Err(2);
        }
    };
    let Some(data) = secret.and_then(|s| s.data) else {
        ui.error(&format!("No value found at {path}"));
        return Err(2);
    };
    let meta = match data.get("metadata") {
        None | Some(Value::Null) => {
            ui.error(&format!("No metadata found at {path}; {what} only works on existing data"));
            return Err(2);
        }
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            ui.error(&format!("Metadata found at {path} is not the expected type (JSON object)"));
            return Err(2);
        }
    };
    if check_deleted {
        if meta.get("deletion_time").and_then(Value::as_str).is_some_and(|t| !t.is_empty()) {
            ui.error("Cannot roll back to a version that has been deleted");
            return Err(2);
        }
        if meta.get("destroyed").and_then(Value::as_bool) == Some(true) {
            ui.error("Cannot roll back to a version that has been destroyed");
            return Err(2);
        }
    }
    let inner = match data.get("data") {
        None | Some(Value::Null) => None,
        Some(Value::Object(d)) => Some(d.clone()),
        Some(_) => {
            ui.error(&format!("Data found at {path} is not the expected type (JSON object)"));
            return Err(2);
        }
    };
    Ok((meta, inner))
}

/// Reads the current version, merges `new_data` in locally and writes it back with the read
/// version as check-and-set.
fn read_then_write(
    ui: &mut Ui<'_>,
    client: &Client,
    path: &str,
    new_data: &Map<String, Value>,
    what: &str,
) -> Result<Option<Secret>, i32> {
    let (meta, data) = pre_read(ui, client, path, &[], what, false)?;
    let Some(mut data) = data else {
        ui.error(&format!("No data found at {path}; {what} only works on existing data"));
        return Err(2);
    };
    for (k, v) in new_data {
        data.insert(k.clone(), v.clone());
    }
    let cas = J::from_value(meta.get("version").unwrap_or(&Value::Null));
    let body = v2_body(&data, Some(cas));
    match client.write_secret(Method::Put, path, &[], Some(body.as_bytes())) {
        Err(failure) => {
            ui.error(&format!("Error writing data to {path}: {}", failure.0));
            Err(2)
        }
        Ok(None) => {
            if ui.is_table() {
                ui.output(&format!("Success! Data written to: {path}"));
            }
            Ok(None)
        }
        Ok(Some(secret)) => Ok(Some(secret)),
    }
}

pub(crate) const ROLLBACK: Command = Command {
    name: "kv rollback",
    synopsis: "Rolls back to a previous version of data",
    usage: rollback_usage,
    flags: rollback_flags,
    parse_flags: true,
    run: rollback_run,
};

fn rollback_usage() -> String {
    "Usage: coffer kv rollback [options] KEY

  *NOTE*: This is only supported for KV v2 engine mounts.

  Restores a given previous version to the current version at the given path.
  The value is written as a new version; for instance, if the current version
  is 5 and the rollback version is 2, the data from version 2 will become
  version 6.

      $ coffer kv rollback -mount=secret -version=2 foo

  The deprecated path-like syntax can also be used, but this should be avoided,
  as the fact that it is not actually the full API path to
  the secret (secret/data/foo) can cause confusion:

      $ coffer kv rollback -version=2 secret/foo

  Additional flags and more advanced use cases are detailed below."
        .to_string()
}

fn rollback_flags() -> Vec<FlagDef> {
    let mut f = output_flags(false);
    f.push(command_flag(
        "version",
        &[],
        Kind::Int,
        Group::Common,
        "",
        "Specifies the version number that should be made current again.",
    ));
    f.push(mount_flag("data"));
    f
}

fn rollback_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    let args = &parsed.args;
    let version = parsed.int("version").unwrap_or(0);
    if args.len() != 1 {
        ui.error(&format!("Invalid number of arguments (expected 1, got {})", args.len()));
        return 1;
    }
    if !parsed.is_set("version") {
        ui.error("Version flag must be specified");
        return 1;
    }
    if version <= 0 {
        ui.error(&format!("Invalid value {version} for the version flag"));
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
    if !target.v2 {
        ui.error("K/V engine mount must be version 2 for rollback support");
        return 2;
    }
    let path = target.api_path("data");
    let (current, _) = match pre_read(ui, &client, &path, &[], "rollback", false) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let cas = J::from_value(current.get("version").unwrap_or(&Value::Null));
    let query = [("version".to_string(), version.to_string())];
    let data = match pre_read(ui, &client, &path, &query, "rollback", true) {
        Ok((_, Some(d))) => d,
        Ok((_, None)) => {
            ui.error(&format!("No data found at {path}; rollback only works on existing data"));
            return 2;
        }
        Err(code) => return code,
    };
    let body = v2_body(&data, Some(cas));
    match client.write_secret(Method::Put, &path, &[], Some(body.as_bytes())) {
        Err(failure) => {
            ui.error(&format!("Error writing data to {path}: {}", failure.0));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// kv v2 write bodies are encoded as Go encodes the map bao builds.
    #[test]
    fn v2_bodies_match_go() {
        let mut data = Map::new();
        data.insert("b".to_string(), Value::String("<x>".to_string()));
        data.insert("a".to_string(), Value::Null);
        assert_eq!(v2_body(&data, None), "{\"data\":{\"a\":null,\"b\":\"\\u003cx\\u003e\"},\"options\":{}}");
        assert_eq!(v2_body(&Map::new(), Some(J::int(3))), "{\"data\":{},\"options\":{\"cas\":3}}");
    }
}
