//! `kv ...`: the key/value commands. Like bao, every command first asks
//! `sys/internal/ui/mounts/PATH` which mount a path is in and whether it is kv version 2,
//! then turns `secret/foo` into `secret/data/foo` (or `metadata/`, `delete/`, ...) for v2.

use serde_json::{Map, Value};

use super::{command_flag, CommandGroup, Ui};
use crate::client::{Client, Extra, Method, Secret};
use crate::flags::{FlagDef, Group, Kind, Parsed};
use crate::output::J;
use crate::paths;

mod metadata;
mod read;
mod versions;
mod write;

pub(crate) use metadata::{METADATA_DELETE, METADATA_GET, METADATA_PUT};
pub(crate) use read::{GET, LIST};
pub(crate) use versions::{DELETE, DESTROY, UNDELETE};
pub(crate) use write::{PATCH, PUT, ROLLBACK};

pub(crate) const GROUP: CommandGroup =
    CommandGroup { name: "kv", synopsis: "Interact with Coffer's Key-Value storage", usage: group_usage };

pub(crate) const METADATA_GROUP: CommandGroup = CommandGroup {
    name: "kv metadata",
    synopsis: "Interact with Coffer's Key-Value storage",
    usage: metadata_group_usage,
};

fn group_usage() -> String {
    "Usage: coffer kv <subcommand> [options] [args]

  This command has subcommands for interacting with Coffer's key-value
  store. Here are some simple examples; more detailed examples are available
  in the subcommands or the documentation.

  Create or update the key named \"foo\" in the \"secret\" mount with the value
  \"bar=baz\":

      $ coffer kv put -mount=secret foo bar=baz

  Read this value back:

      $ coffer kv get -mount=secret foo

  Get metadata for the key:

      $ coffer kv metadata get -mount=secret foo

  Get a specific version of the key:

      $ coffer kv get -mount=secret -version=1 foo

  The deprecated path-like syntax can also be used, but this should be avoided
  for KV v2, as the fact that it is not actually the full API path to
  the secret (secret/data/foo) can cause confusion:

      $ coffer kv get secret/foo

  Please see the individual subcommand help for detailed usage information."
        .to_string()
}

fn metadata_group_usage() -> String {
    "Usage: coffer kv metadata <subcommand> [options] [args]

  This command has subcommands for interacting with the metadata endpoint in
  Coffer's key-value store. Here are some simple examples; more detailed
  examples are available in the subcommands or the documentation.

  Create or update a metadata entry for a key:

      $ coffer kv metadata put -mount=secret -max-versions=5 -delete-version-after=3h25m19s foo

  Get the metadata for a key; this provides information about each existing
  version:

      $ coffer kv metadata get -mount=secret foo

  Delete a key and all existing versions:

      $ coffer kv metadata delete -mount=secret foo

  Please see the individual subcommand help for detailed usage information."
        .to_string()
}

/// `-mount`; `api` is the path part v2 inserts ("data" or "metadata"), as named in the help.
fn mount_flag(api: &'static str) -> FlagDef {
    let usage = if api == "metadata" {
        "Specifies the path where the KV backend is mounted. If specified, the next argument \
         will be interpreted as the secret path. If this flag is not specified, the next \
         argument will be interpreted as the combined mount path and secret path, with \
         /metadata/ automatically appended between KV v2 secrets."
    } else {
        "Specifies the path where the KV backend is mounted. If specified, the next argument \
         will be interpreted as the secret path. If this flag is not specified, the next \
         argument will be interpreted as the combined mount path and secret path, with /data/ \
         automatically appended between KV v2 secrets."
    };
    command_flag("mount", &[], Kind::Str, Group::Common, "", usage)
}

/// `-versions`.
fn versions_flag(usage: &'static str) -> FlagDef {
    command_flag("versions", &[], Kind::StrSlice, Group::Common, "", usage)
}

/// bao's `kvPreflightVersionRequest`: the mount holding `path` and its kv version. A 404
/// means a server without the endpoint: version 1, no mount path. Errors are printed as bao
/// prints them.
fn preflight(client: &Client, path: &str) -> Result<(String, bool), String> {
    let extra = Extra { no_wrap: true, ..Extra::default() };
    let resp = client
        .send_ext(Method::Get, &format!("sys/internal/ui/mounts/{path}"), &[], None, extra)
        .map_err(|e| e.to_string())?;
    if let Some(e) = resp.error() {
        if resp.status == 404 {
            return Ok((String::new(), false));
        }
        return Err(e.to_string());
    }
    let secret = resp.json_object().and_then(Secret::parse).map_err(|e| e.to_string())?;
    let Some(secret) = secret else {
        return Err("nil response from pre-flight request".to_string());
    };
    let data = secret.data.unwrap_or_default();
    let mount_path = data.get("path").and_then(Value::as_str).unwrap_or_default().to_string();
    let version = data.get("options").and_then(|o| o.get("version")).and_then(Value::as_str).unwrap_or_default();
    Ok((mount_path, version == "2"))
}

/// Where a kv command's path argument points: the mount, whether it is v2, and the path
/// (mount included) that the API prefix is inserted into.
struct Target {
    mount_path: String,
    v2: bool,
    partial: String,
    /// `-mount` was given.
    mount_flag: bool,
}

impl Target {
    /// The v2 path with `api` inserted after the mount (`secret/data/foo`).
    fn api_path(&self, api: &str) -> String {
        add_prefix(&self.partial, &self.mount_path, api)
    }

    /// The v1 path: the mount joined with the argument under `-mount`, else the argument.
    fn v1_path(&self) -> String {
        if self.mount_flag {
            paths::join(&[&self.mount_path, &self.partial])
        } else {
            self.partial.clone()
        }
    }
}

/// Resolves `partial` (the path argument, already trimmed as the command trims it) with or
/// without `-mount`, as every kv command but undelete and destroy does. Prints the preflight
/// error and returns exit code 2 on failure.
fn resolve(ui: &mut Ui<'_>, client: &Client, parsed: &Parsed, partial: String) -> Result<Target, i32> {
    let mount = parsed.string("mount").filter(|m| !m.is_empty());
    let lookup = match mount {
        Some(m) => paths::sanitize(m),
        None => partial.clone(),
    };
    let (mount_path, v2) = preflight(client, &lookup).map_err(|e| {
        ui.error(&e);
        2
    })?;
    let partial = if mount.is_some() && v2 { paths::join(&[&mount_path, &partial]) } else { partial };
    Ok(Target { mount_path, v2, partial, mount_flag: mount.is_some() })
}

/// bao's `addPrefixToKVPath`: `path` with `api` inserted after the mount; parts of the mount
/// path the argument leaves out (namespaces) are dropped from the front until it matches.
fn add_prefix(path: &str, mount_path: &str, api: &str) -> String {
    if path == mount_path || path == mount_path.strip_suffix('/').unwrap_or(mount_path) {
        return paths::join(&[mount_path, api]);
    }
    let mut mount = mount_path.to_string();
    let mut suffix = path.strip_prefix(mount.as_str()).unwrap_or(path).to_string();
    while suffix == path {
        let Some((_, rest)) = mount.split_once('/') else {
            break;
        };
        if rest.is_empty() {
            break;
        }
        mount = rest.strip_suffix('/').unwrap_or(rest).to_string();
        suffix = suffix.strip_prefix(mount.as_str()).unwrap_or(&suffix).to_string();
    }
    paths::join(&[&mount, api, &suffix])
}

/// bao's `padEqualSigns`: the header centred in equal signs, at least two a side.
fn pad_equal_signs(header: &str, total: usize) -> String {
    let mut n = total as i64 - (header.len() as i64 + 2);
    if n <= 0 {
        n = 4;
    }
    if n % 2 != 0 {
        n += 1;
    }
    let side = "=".repeat((n / 2) as usize);
    format!("{side} {header} {side}")
}

/// bao's `getHeaderForMap`: a header as wide as the map's table.
fn header_for_map(header: &str, data: Option<&Map<String, Value>>) -> String {
    let longest = data.map(|d| d.keys().map(String::len).max().unwrap_or(0)).unwrap_or(0);
    pad_equal_signs(header, longest + 4 + 5)
}

/// bao's `outputPath`: a titled path and a blank line.
fn output_path(ui: &mut Ui<'_>, path: &str, title: &str) {
    ui.output(&pad_equal_signs(title, path.len()));
    ui.output(path);
    ui.output("");
}

/// bao's `kvParseVersionsFlags`: every `-versions` value split on commas and trimmed.
fn parse_versions(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| {
            let v = v.trim();
            if v.is_empty() {
                Vec::new()
            } else {
                v.split(',').map(|p| p.trim().to_string()).collect()
            }
        })
        .collect()
}

/// `{"versions": [...]}`.
fn versions_body(values: &[String]) -> String {
    let list = parse_versions(values).into_iter().map(J::Str).collect();
    crate::output::go_json_compact(&J::Obj(vec![("versions".to_string(), J::Arr(list))]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The API prefix goes after the mount, also when the argument names only part of it.
    #[test]
    fn add_prefix_matches_bao() {
        assert_eq!(add_prefix("secret/foo", "secret/", "data"), "secret/data/foo");
        assert_eq!(add_prefix("secret/a/b", "secret/", "metadata"), "secret/metadata/a/b");
        assert_eq!(add_prefix("secret", "secret/", "metadata"), "secret/metadata");
        assert_eq!(add_prefix("secret/", "secret/", "data"), "secret/data");
        assert_eq!(add_prefix("foo", "secret", "undelete"), "secret/undelete/foo");
        assert_eq!(add_prefix("team/foo", "ns1/team/", "data"), "team/data/foo");
    }

    /// Headers are centred in equal signs as wide as bao makes them.
    #[test]
    fn headers_match_bao() {
        assert_eq!(pad_equal_signs("Secret Path", "secret/data/foo".len()), "= Secret Path =");
        assert_eq!(pad_equal_signs("Metadata Path", "secret/metadata/foo".len()), "== Metadata Path ==");
        let mut m = Map::new();
        m.insert("custom_metadata".to_string(), Value::Null);
        assert_eq!(header_for_map("Metadata", Some(&m)), "======= Metadata =======");
        assert_eq!(header_for_map("Data", None), "== Data ==");
        m.insert("current_metadata_version".to_string(), Value::Null);
        assert_eq!(header_for_map("Metadata", Some(&m)), "============ Metadata ============");
    }

    /// `-versions=1,2 -versions=3` is three versions.
    #[test]
    fn versions_are_split_on_commas() {
        let v = vec!["1, 2".to_string(), "3".to_string(), " ".to_string()];
        assert_eq!(parse_versions(&v), vec!["1", "2", "3"]);
        assert_eq!(versions_body(&v), "{\"versions\":[\"1\",\"2\",\"3\"]}");
    }
}
