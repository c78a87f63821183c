//! `policy write | read | list | delete` over `sys/policies/acl` (`policy fmt` is in
//! `policy_fmt`).

use serde_json::Value;

use super::render::output_json;
use super::{check_args, connect, http_flags, output_flags, Command, CommandGroup, Ui};
use crate::client::Method;
use crate::flags::{FlagDef, Parsed};
use crate::output::{go_json_compact, J};
use crate::tls::go_io_error;
use crate::Env;

pub(crate) use super::policy_fmt::FMT;

pub(crate) const GROUP: CommandGroup =
    CommandGroup { name: "policy", synopsis: "Interact with policies", usage: group_usage };

fn group_usage() -> String {
    "Usage: coffer policy <subcommand> [options] [args]

  This command groups subcommands for interacting with policies.
  Users can write, read, and list policies in Coffer.

  List all enabled policies:

      $ coffer policy list

  Create a policy named \"my-policy\" from contents on local disk:

      $ coffer policy write my-policy ./my-policy.hcl

  Delete the policy named my-policy:

      $ coffer policy delete my-policy

  Please see the individual subcommand help for detailed usage information."
        .to_string()
}

pub(crate) const WRITE: Command = Command {
    name: "policy write",
    synopsis: "Uploads a named policy from a file",
    usage: write_usage,
    flags: http_flags,
    parse_flags: true,
    run: write_run,
};

fn write_usage() -> String {
    "Usage: coffer policy write [options] NAME PATH

  Uploads a policy with name NAME from the contents of a local file PATH or
  stdin. If PATH is \"-\", the policy is read from stdin. Otherwise, it is
  loaded from the file at the given path on the local disk.

  Upload a policy named \"my-policy\" from \"/tmp/policy.hcl\" on the local disk:

      $ coffer policy write my-policy /tmp/policy.hcl

  Upload a policy from stdin:

      $ cat my-policy.hcl | coffer policy write my-policy -"
        .to_string()
}

fn write_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    let args = &parsed.args;
    if !check_args(ui, args, 2, 2, "2") {
        return 1;
    }
    let client = match connect(ui, parsed, env) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let name = &args[0];
    let formatted = name.to_lowercase().trim().to_string();
    let path = args[1].trim();
    let rules = if path == "-" {
        match env.read_stdin() {
            Ok(b) => b,
            Err(e) => {
                ui.error(&format!("Error reading policy: {e}"));
                return 2;
            }
        }
    } else {
        match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                ui.error(&format!("Error opening policy file: {}", go_io_error("open", path, &e)));
                return 2;
            }
        }
    };
    let rules = String::from_utf8_lossy(&rules).into_owned();
    let body = go_json_compact(&J::Obj(vec![("policy".to_string(), J::Str(rules))]));
    let api_path = format!("sys/policies/acl/{formatted}");
    if let Err(e) = client.request_secret(Method::Put, &api_path, Some(body.as_bytes()), Default::default()) {
        ui.error(&format!("Error uploading policy: {e}"));
        return 2;
    }
    if *name != formatted {
        ui.warn(&format!("Policy name was converted from \"{name}\" to \"{formatted}\""));
    }
    ui.output(&format!("Success! Uploaded policy: {formatted}"));
    0
}

pub(crate) const READ: Command = Command {
    name: "policy read",
    synopsis: "Prints the contents of a policy",
    usage: read_usage,
    flags: read_flags,
    parse_flags: true,
    run: read_run,
};

fn read_usage() -> String {
    "Usage: coffer policy read [options] [NAME]

  Prints the contents and metadata of the Coffer policy named NAME. If the policy
  does not exist, an error is returned.

  Read the policy named \"my-policy\":

      $ coffer policy read my-policy"
        .to_string()
}

fn read_flags() -> Vec<FlagDef> {
    output_flags(false)
}

fn read_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    let args = &parsed.args;
    if !check_args(ui, args, 1, 1, "1") {
        return 1;
    }
    let client = match connect(ui, parsed, env) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let name = args[0].trim().to_lowercase();
    let rules = match get_policy(&client, &name) {
        Ok(r) => r,
        Err(e) => {
            ui.error(&format!("Error reading policy named {name}: {e}"));
            return 2;
        }
    };
    if rules.is_empty() {
        ui.error(&format!("No policy named: {name}"));
        return 2;
    }
    if ui.is_table() {
        ui.output(rules.trim());
        return 0;
    }
    output_json(ui, &J::Obj(vec![("policy".to_string(), J::Str(rules))]))
}

/// bao's `Sys().GetPolicy`: the rules, "" for a 404.
fn get_policy(client: &crate::client::Client, name: &str) -> Result<String, String> {
    let resp = client.send(Method::Get, &format!("sys/policies/acl/{name}"), &[], None).map_err(|e| e.to_string())?;
    if resp.status == 404 {
        return Ok(String::new());
    }
    if let Some(e) = resp.error() {
        return Err(e.to_string());
    }
    let secret = resp.json_object().and_then(crate::client::Secret::parse).map_err(|e| e.to_string())?;
    let Some(data) = secret.and_then(|s| s.data) else {
        return Err("data from server response is empty".to_string());
    };
    match data.get("policy") {
        Some(Value::String(p)) => Ok(p.clone()),
        Some(_) => Err("no policy found in response".to_string()),
        None => Err("no policy found in response".to_string()),
    }
}

pub(crate) const LIST: Command = Command {
    name: "policy list",
    synopsis: "Lists the installed policies",
    usage: list_usage,
    flags: read_flags,
    parse_flags: true,
    run: list_run,
};

fn list_usage() -> String {
    "Usage: coffer policy list [options]

  Lists the names of the policies that are installed on the Coffer server."
        .to_string()
}

fn list_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    if !check_args(ui, &parsed.args, 0, 0, "0") {
        return 1;
    }
    let client = match connect(ui, parsed, env) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let query = [("list".to_string(), "true".to_string())];
    let result = client.send(Method::Get, "sys/policies/acl", &query, None).map_err(|e| e.to_string()).and_then(|r| {
        if let Some(e) = r.error() {
            return Err(e.to_string());
        }
        r.json_object().and_then(crate::client::Secret::parse).map_err(|e| e.to_string())
    });
    let keys = match result {
        Ok(Some(crate::client::Secret { data: Some(d), .. })) => match d.get("keys") {
            Some(Value::Array(items)) => {
                Some(items.iter().map(|v| v.as_str().unwrap_or_default().to_string()).collect())
            }
            _ => None,
        },
        Ok(_) => {
            ui.error("Error listing policies: data from server response is empty");
            return 2;
        }
        Err(e) => {
            ui.error(&format!("Error listing policies: {e}"));
            return 2;
        }
    };
    let keys: Option<Vec<String>> = keys;
    if ui.is_table() {
        for k in keys.unwrap_or_default() {
            ui.output(&k);
        }
        return 0;
    }
    output_json(ui, &J::str_list(keys.as_deref()))
}

pub(crate) const DELETE: Command = Command {
    name: "policy delete",
    synopsis: "Deletes a policy by name",
    usage: delete_usage,
    flags: http_flags,
    parse_flags: true,
    run: delete_run,
};

fn delete_usage() -> String {
    "Usage: coffer policy delete [options] NAME

  Deletes the policy named NAME in the Coffer server. Once the policy is deleted,
  all tokens associated with the policy are affected immediately.

  Delete the policy named \"my-policy\":

      $ coffer policy delete my-policy

  Note that it is not possible to delete the \"default\" or \"root\" policies.
  These are built-in policies."
        .to_string()
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
    let name = args[0].to_lowercase().trim().to_string();
    let result = client.send(Method::Delete, &format!("sys/policies/acl/{name}"), &[], None);
    let failure = match result {
        Err(e) => Some(e.to_string()),
        Ok(r) => r.error().map(|e| e.to_string()),
    };
    if let Some(e) = failure {
        ui.error(&format!("Error deleting {name}: {e}"));
        return 2;
    }
    ui.output(&format!("Success! Deleted policy: {name}"));
    0
}
