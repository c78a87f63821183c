//! `token create | lookup | renew | revoke | capabilities` over `auth/token/*` and
//! `sys/capabilities`.

use serde_json::Value;

use super::render::{output_json, output_secret, print_raw_field};
use super::{command_flag, connect, http_flags, output_flags, Command, CommandGroup, Ui};
use crate::client::{Client, Extra, Method, Secret};
use crate::error::Error;
use crate::flags::{go_duration_string, FlagDef, Group, Kind, Parsed};
use crate::output::{go_json_compact, J};
use crate::Env;

pub(crate) const GROUP: CommandGroup =
    CommandGroup { name: "token", synopsis: "Interact with tokens", usage: group_usage };

fn group_usage() -> String {
    "Usage: coffer token <subcommand> [options] [args]

  This command groups subcommands for interacting with tokens. Users can
  create, lookup, renew, and revoke tokens.

  Create a new token:

      $ coffer token create

  Revoke a token:

      $ coffer token revoke 96ddf4bc-d217-f3ba-f9bd-017055595017

  Renew a token:

      $ coffer token renew 96ddf4bc-d217-f3ba-f9bd-017055595017

  Please see the individual subcommand help for detailed usage information."
        .to_string()
}

/// A typed `api.Auth().Token()` call: the body is JSON, failures are errors.
fn call(client: &Client, method: Method, path: &str, body: Option<&J>) -> Result<Option<Secret>, Error> {
    let body = body.map(go_json_compact);
    client.request_secret(method, path, body.as_deref().map(str::as_bytes), Extra::default())
}

/// bao's `OutputSecret` of a secret an API call returned (`nil` prints nothing).
fn output_optional(ui: &mut Ui<'_>, secret: Option<Secret>) -> i32 {
    match secret {
        Some(s) => output_secret(ui, &s),
        None => 0,
    }
}

/// bao's `truncateToSeconds`: whole seconds, 0 below one second.
fn whole_seconds(ns: i128) -> i64 {
    let secs = ns / 1_000_000_000;
    if secs < 1 {
        0
    } else {
        i64::try_from(secs).unwrap_or(i64::MAX)
    }
}

pub(crate) const CREATE: Command = Command {
    name: "token create",
    synopsis: "Create a new token",
    usage: create_usage,
    flags: create_flags,
    parse_flags: true,
    run: create_run,
};

fn create_usage() -> String {
    "Usage: coffer token create [options]

  Creates a new token that can be used for authentication. This token will be
  created as a child of the currently authenticated token. The generated token
  will inherit all policies and permissions of the currently authenticated
  token unless you explicitly define a subset list policies to assign to the
  token.

  A ttl can also be associated with the token. If a ttl is not associated
  with the token, then it cannot be renewed. If a ttl is associated with
  the token, it will expire after that amount of time unless it is renewed.

  Metadata associated with the token (specified with \"-metadata\") is written
  to the audit log when the token is used.

  If a role is specified, the role may override parameters specified here."
        .to_string()
}

fn create_flags() -> Vec<FlagDef> {
    let c = |name, kind, default, usage| command_flag(name, &[], kind, Group::Command, default, usage);
    let mut f = output_flags(true);
    f.extend([
        c(
            "id",
            Kind::Str,
            "",
            "Value for the token. By default, this is an auto-generated string. Specifying this \
             value requires sudo permissions.",
        ),
        c(
            "display-name",
            Kind::Str,
            "",
            "Name to associate with this token. This is a non-sensitive value that can be used \
             to help identify created secrets (e.g. prefixes).",
        ),
        c(
            "ttl",
            Kind::Duration,
            "",
            "Initial TTL to associate with the token. Token renewals may be able to extend \
             beyond this value, depending on the configured maximum TTLs. This is specified as \
             a numeric string with suffix like \"30s\" or \"5m\".",
        ),
        c(
            "explicit-max-ttl",
            Kind::Duration,
            "",
            "Explicit maximum lifetime for the token. Unlike normal TTLs, the maximum TTL is a \
             hard limit and cannot be exceeded. This is specified as a numeric string with \
             suffix like \"30s\" or \"5m\".",
        ),
        c(
            "period",
            Kind::Duration,
            "",
            "If specified, every renewal will use the given period. Periodic tokens do not \
             expire (unless -explicit-max-ttl is also provided). Setting this value requires \
             sudo permissions. This is specified as a numeric string with suffix like \"30s\" \
             or \"5m\".",
        ),
        c("renewable", Kind::Bool, "true", "Allow the token to be renewed up to it's maximum TTL."),
        c(
            "orphan",
            Kind::Bool,
            "false",
            "Create the token with no parent. This prevents the token from being revoked when \
             the token which created it expires. Setting this value requires root or sudo \
             permissions.",
        ),
        c(
            "no-default-policy",
            Kind::Bool,
            "false",
            "Detach the \"default\" policy from the policy set for this token.",
        ),
        c(
            "use-limit",
            Kind::Int,
            "",
            "Number of times this token can be used. After the last use, the token is \
             automatically revoked. By default, tokens can be used an unlimited number of times \
             until their expiration.",
        ),
        c(
            "role",
            Kind::Str,
            "",
            "Name of the role to create the token against. Specifying -role may override other \
             arguments. The locally authenticated Coffer token must have permission for \
             \"auth/token/create/<role>\".",
        ),
        c("type", Kind::Str, "service", "The type of token to create. Can be \"service\" or \"batch\"."),
        c(
            "metadata",
            Kind::KeyValue,
            "",
            "Arbitrary key=value metadata to associate with the token. This metadata will show \
             in the audit log when the token is used. This can be specified multiple times to \
             add multiple pieces of metadata.",
        ),
        c(
            "policy",
            Kind::StrSlice,
            "",
            "Name of a policy to associate with this token. This can be specified multiple times \
             to attach multiple policies.",
        ),
        c(
            "entity-alias",
            Kind::Str,
            "",
            "Name of the entity alias to associate with during token creation. Only works in \
             combination with -role argument and used entity alias must be listed in \
             allowed_entity_aliases. If this has been specified, the entity will not be \
             inherited from the parent.",
        ),
    ]);
    f
}

/// `api.TokenCreateRequest` as Go encodes it: struct order, `omitempty` fields left out.
fn create_body(parsed: &Parsed) -> J {
    let s = |name: &str| parsed.string(name).unwrap_or("").to_string();
    let token_type = parsed.string("type").unwrap_or("service").to_string();
    let renewable = token_type != "batch" && parsed.bool("renewable").unwrap_or(true);
    let mut f: Vec<(String, J)> = Vec::new();
    let mut push = |k: &str, v: J| f.push((k.to_string(), v));
    if !s("id").is_empty() {
        push("id", J::Str(s("id")));
    }
    let policies = parsed.strings("policy");
    if !policies.is_empty() {
        push("policies", J::str_list(Some(policies)));
    }
    if let Some(m) = parsed.map("metadata").filter(|m| !m.is_empty()) {
        push("meta", J::Obj(m.into_iter().map(|(k, v)| (k, J::Str(v))).collect()));
    }
    // Durations go out as Go prints them, "0s" included (never empty, so never omitted).
    push("ttl", J::Str(go_duration_string(parsed.duration_ns("ttl"))));
    push("explicit_max_ttl", J::Str(go_duration_string(parsed.duration_ns("explicit-max-ttl"))));
    push("period", J::Str(go_duration_string(parsed.duration_ns("period"))));
    if parsed.bool("orphan").unwrap_or(false) {
        push("no_parent", J::Bool(true));
    }
    if parsed.bool("no-default-policy").unwrap_or(false) {
        push("no_default_policy", J::Bool(true));
    }
    push("display_name", J::Str(s("display-name")));
    push("num_uses", J::int(parsed.int("use-limit").unwrap_or(0)));
    push("renewable", J::Bool(renewable));
    push("type", J::Str(token_type));
    push("entity_alias", J::Str(s("entity-alias")));
    J::Obj(f)
}

fn create_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    if !parsed.args.is_empty() {
        ui.error(&format!("Too many arguments (expected 0, got {})", parsed.args.len()));
        return 1;
    }
    let client = match connect(ui, parsed, env) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let body = create_body(parsed);
    let path = match parsed.string("role").filter(|r| !r.is_empty()) {
        Some(role) => format!("auth/token/create/{role}"),
        None => "auth/token/create".to_string(),
    };
    let secret = match call(&client, Method::Post, &path, Some(&body)) {
        Ok(s) => s,
        Err(e) => {
            ui.error(&format!("Error creating token: {e}"));
            return 2;
        }
    };
    if let Some(field) = parsed.string("field").filter(|f| !f.is_empty()) {
        return print_raw_field(ui, &secret.unwrap_or_default(), field);
    }
    output_optional(ui, secret)
}

fn accessor_flag(usage: &'static str) -> FlagDef {
    command_flag("accessor", &[], Kind::Bool, Group::Command, "false", usage)
}

pub(crate) const LOOKUP: Command = Command {
    name: "token lookup",
    synopsis: "Display information about a token",
    usage: lookup_usage,
    flags: lookup_flags,
    parse_flags: true,
    run: lookup_run,
};

fn lookup_usage() -> String {
    "Usage: coffer token lookup [options] [TOKEN | ACCESSOR]

  Displays information about a token or accessor. If a TOKEN is not provided,
  the locally authenticated token is used.

  Get information about the locally authenticated token (this uses the
  /auth/token/lookup-self endpoint and permission):

      $ coffer token lookup

  Get information about a particular token (this uses the /auth/token/lookup
  endpoint and permission):

      $ coffer token lookup 96ddf4bc-d217-f3ba-f9bd-017055595017

  Get information about a token via its accessor:

      $ coffer token lookup -accessor 9793c9b3-e04a-46f3-e7b8-748d7da248da

  For a full list of examples, please see the documentation."
        .to_string()
}

fn lookup_flags() -> Vec<FlagDef> {
    let mut f = output_flags(true);
    f.push(accessor_flag(
        "Treat the argument as an accessor instead of a token. When this option is selected, \
         the output will NOT include the token.",
    ));
    f
}

fn lookup_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    let args = &parsed.args;
    let accessor = parsed.bool("accessor").unwrap_or(false);
    if accessor && args.is_empty() {
        ui.error("Not enough arguments with -accessor (expected 1, got 0)");
        return 1;
    }
    if accessor && args.len() > 1 {
        ui.error(&format!("Too many arguments with -accessor (expected 1, got {})", args.len()));
        return 1;
    }
    if args.len() > 1 {
        ui.error(&format!("Too many arguments (expected 0-1, got {})", args.len()));
        return 1;
    }
    let token = args.first().map(|t| t.trim().to_string()).unwrap_or_default();
    let client = match connect(ui, parsed, env) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let result = if token.is_empty() {
        call(&client, Method::Get, "auth/token/lookup-self", None)
    } else if accessor {
        let body = J::Obj(vec![("accessor".to_string(), J::Str(token))]);
        call(&client, Method::Post, "auth/token/lookup-accessor", Some(&body))
    } else {
        let body = J::Obj(vec![("token".to_string(), J::Str(token))]);
        call(&client, Method::Post, "auth/token/lookup", Some(&body))
    };
    let secret = match result {
        Ok(s) => s,
        Err(e) => {
            ui.error(&format!("Error looking up token: {e}"));
            return 2;
        }
    };
    if let Some(field) = parsed.string("field").filter(|f| !f.is_empty()) {
        return print_raw_field(ui, &secret.unwrap_or_default(), field);
    }
    output_optional(ui, secret)
}

pub(crate) const RENEW: Command = Command {
    name: "token renew",
    synopsis: "Renew a token lease",
    usage: renew_usage,
    flags: renew_flags,
    parse_flags: true,
    run: renew_run,
};

fn renew_usage() -> String {
    "Usage: coffer token renew [options] [TOKEN]

  Renews a token's lease, extending the amount of time it can be used. If a
  TOKEN is not provided, the locally authenticated token is used. A token
  accessor can be used as well. Lease renewal will fail if the token is not
  renewable, the token has already been revoked, or if the token has already
  reached its maximum TTL.

  Renew a token (this uses the /auth/token/renew endpoint and permission):

      $ coffer token renew 96ddf4bc-d217-f3ba-f9bd-017055595017

  Renew the currently authenticated token (this uses the /auth/token/renew-self
  endpoint and permission):

      $ coffer token renew

  Renew a token requesting a specific increment value:

      $ coffer token renew -increment=30m 96ddf4bc-d217-f3ba-f9bd-017055595017

  For a full list of examples, please see the documentation."
        .to_string()
}

fn renew_flags() -> Vec<FlagDef> {
    let mut f = output_flags(false);
    f.push(accessor_flag(
        "Treat the argument as an accessor instead of a token. When this option is selected, \
         the output will NOT include the token.",
    ));
    f.push(command_flag(
        "increment",
        &["i"],
        Kind::Duration,
        Group::Command,
        "",
        "Request a specific increment for renewal. This increment may not be honored, for \
         instance in the case of periodic tokens. If not supplied, Coffer will use the default \
         TTL. This is specified as a numeric string with suffix like \"30s\" or \"5m\".",
    ));
    f
}

fn renew_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    let args = &parsed.args;
    if args.len() > 1 {
        ui.error(&format!("Too many arguments (expected 1, got {})", args.len()));
        return 1;
    }
    let token = args.first().map(|t| t.trim().to_string()).unwrap_or_default();
    let client = match connect(ui, parsed, env) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let inc = J::int(whole_seconds(parsed.duration_ns("increment")));
    let result = if token.is_empty() {
        let body = J::Obj(vec![("increment".to_string(), inc)]);
        call(&client, Method::Put, "auth/token/renew-self", Some(&body))
    } else if parsed.bool("accessor").unwrap_or(false) {
        let body = J::Obj(vec![("accessor".to_string(), J::Str(token)), ("increment".to_string(), inc)]);
        call(&client, Method::Post, "auth/token/renew-accessor", Some(&body))
    } else {
        let body = J::Obj(vec![("increment".to_string(), inc), ("token".to_string(), J::Str(token))]);
        call(&client, Method::Put, "auth/token/renew", Some(&body))
    };
    match result {
        Ok(s) => output_optional(ui, s),
        Err(e) => {
            ui.error(&format!("Error renewing token: {e}"));
            2
        }
    }
}

pub(crate) const REVOKE: Command = Command {
    name: "token revoke",
    synopsis: "Revoke a token and its children",
    usage: revoke_usage,
    flags: revoke_flags,
    parse_flags: true,
    run: revoke_run,
};

fn revoke_usage() -> String {
    "Usage: coffer token revoke [options] [TOKEN | ACCESSOR]

  Revokes authentication tokens and their children. If a TOKEN is not provided,
  the locally authenticated token is used. The \"-mode\" flag can be used to
  control the behavior of the revocation. See the \"-mode\" flag documentation
  for more information.

  Revoke a token and all the token's children:

      $ coffer token revoke 96ddf4bc-d217-f3ba-f9bd-017055595017

  Revoke a token leaving the token's children:

      $ coffer token revoke -mode=orphan 96ddf4bc-d217-f3ba-f9bd-017055595017

  Revoke a token by accessor:

      $ coffer token revoke -accessor 9793c9b3-e04a-46f3-e7b8-748d7da248da

  For a full list of examples, please see the documentation."
        .to_string()
}

fn revoke_flags() -> Vec<FlagDef> {
    let mut f = http_flags();
    f.push(accessor_flag("Treat the argument as an accessor instead of a token."));
    f.push(command_flag(
        "self",
        &[],
        Kind::Bool,
        Group::Command,
        "false",
        "Perform the revocation on the currently authenticated token.",
    ));
    f.push(command_flag(
        "mode",
        &[],
        Kind::Str,
        Group::Command,
        "",
        "Type of revocation to perform. If unspecified, Coffer will revoke the token and all of \
         the token's children. If \"orphan\", Coffer will revoke only the token, leaving the \
         children as orphans. If \"path\", tokens created from the given authentication path \
         prefix are deleted along with their children.",
    ));
    f
}

fn revoke_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    let args = &parsed.args;
    let token = args.first().map(|t| t.trim().to_string()).unwrap_or_default();
    let accessor = parsed.bool("accessor").unwrap_or(false);
    let this = parsed.bool("self").unwrap_or(false);
    let mode = parsed.string("mode").unwrap_or("");
    if !matches!(mode, "" | "orphan" | "path") {
        ui.error(&format!("Invalid mode: {mode}"));
        return 1;
    }
    let problem = if this && !args.is_empty() {
        Some(format!("Too many arguments with -self (expected 0, got {})", args.len()))
    } else if !this && args.len() > 1 {
        Some(format!("Too many arguments (expected 1 or -self, got {})", args.len()))
    } else if !this && args.is_empty() {
        Some("Not enough arguments (expected 1 or -self, got 0)".to_string())
    } else if this && accessor {
        Some("Cannot use -self with -accessor!".to_string())
    } else if this && !mode.is_empty() {
        Some("Cannot use -self with -mode!".to_string())
    } else if accessor && !mode.is_empty() {
        Some(format!("Cannot use -accessor with -mode={mode}!"))
    } else {
        None
    };
    if let Some(p) = problem {
        ui.error(&p);
        return 1;
    }
    let client = match connect(ui, parsed, env) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let token_body = J::Obj(vec![("token".to_string(), J::Str(token.clone()))]);
    let result = match (accessor, this, mode) {
        (false, true, _) => call(&client, Method::Put, "auth/token/revoke-self", None),
        (false, false, "orphan") => call(&client, Method::Put, "auth/token/revoke-orphan", Some(&token_body)),
        (false, false, "path") => call(&client, Method::Put, &format!("sys/leases/revoke-prefix/{token}"), None),
        (true, _, _) => {
            let body = J::Obj(vec![("accessor".to_string(), J::Str(token))]);
            call(&client, Method::Post, "auth/token/revoke-accessor", Some(&body))
        }
        _ => call(&client, Method::Put, "auth/token/revoke", Some(&token_body)),
    };
    if let Err(e) = result {
        ui.error(&format!("Error revoking token: {e}"));
        return 2;
    }
    ui.output("Success! Revoked token (if it existed)");
    0
}

pub(crate) const CAPABILITIES: Command = Command {
    name: "token capabilities",
    synopsis: "Print capabilities of a token on a path",
    usage: capabilities_usage,
    flags: capabilities_flags,
    parse_flags: true,
    run: capabilities_run,
};

fn capabilities_usage() -> String {
    "Usage: coffer token capabilities [options] [TOKEN] PATH

  Fetches the capabilities of a token for a given path. If a TOKEN is provided
  as an argument, the \"/sys/capabilities\" endpoint and permission is used. If
  no TOKEN is provided, the \"/sys/capabilities-self\" endpoint and permission
  is used with the locally authenticated token.

  List capabilities for the local token on the \"secret/foo\" path:

      $ coffer token capabilities secret/foo

  List capabilities for a token on the \"cubbyhole/foo\" path:

      $ coffer token capabilities 96ddf4bc-d217-f3ba-f9bd-017055595017 cubbyhole/foo

  For a full list of examples, please see the documentation."
        .to_string()
}

fn capabilities_flags() -> Vec<FlagDef> {
    output_flags(false)
}

/// bao's `Sys().Capabilities`: `sys/capabilities-self` when the token is the client's own.
fn capabilities(client: &Client, token: &str, path: &str) -> Result<Option<Vec<String>>, Error> {
    let api = if Some(token) == client.token() || (token.is_empty() && client.token().is_none()) {
        "sys/capabilities-self"
    } else {
        "sys/capabilities"
    };
    let body =
        J::Obj(vec![("path".to_string(), J::Str(path.to_string())), ("token".to_string(), J::Str(token.to_string()))]);
    let secret = call(client, Method::Post, api, Some(&body))?;
    let Some(data) = secret.and_then(|s| s.data) else {
        return Err(Error::Decode("data from server response is empty".to_string()));
    };
    let list = |v: Option<&Value>| -> Option<Vec<String>> {
        match v {
            Some(Value::Array(items)) => {
                Some(items.iter().map(|i| i.as_str().unwrap_or_default().to_string()).collect())
            }
            _ => None,
        }
    };
    let mut caps = list(data.get(path));
    if caps.as_ref().is_none_or(Vec::is_empty) && data.contains_key("capabilities") {
        caps = list(data.get("capabilities"));
    }
    Ok(caps)
}

fn capabilities_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    let args = &parsed.args;
    let (token, path) = match args.len() {
        0 => {
            ui.error("Not enough arguments (expected 1-2, got 0)");
            return 1;
        }
        1 => (None, args[0].clone()),
        2 => (Some(args[0].clone()), args[1].clone()),
        n => {
            ui.error(&format!("Too many arguments (expected 1-2, got {n})"));
            return 1;
        }
    };
    let client = match connect(ui, parsed, env) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let token = token.unwrap_or_else(|| client.token().unwrap_or_default().to_string());
    let caps = match capabilities(&client, &token, &path) {
        Ok(c) => c,
        Err(e) => {
            ui.error(&format!("Error listing capabilities: {e}"));
            return 2;
        }
    };
    let Some(mut caps) = caps else {
        ui.error("No capabilities found");
        return 1;
    };
    if ui.is_table() {
        caps.sort();
        ui.output(&caps.join(", "));
        return 0;
    }
    output_json(ui, &J::str_list(Some(&caps)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(a: &[&str]) -> Parsed {
        let args: Vec<String> = a.iter().map(|s| s.to_string()).collect();
        crate::flags::parse(&create_flags(), &args).unwrap_or_default()
    }

    /// The create request is encoded as bao's client encodes `TokenCreateRequest`.
    #[test]
    fn create_body_matches_go() {
        assert_eq!(
            go_json_compact(&create_body(&parse(&[]))),
            "{\"ttl\":\"0s\",\"explicit_max_ttl\":\"0s\",\"period\":\"0s\",\"display_name\":\"\",\"num_uses\":0,\"renewable\":true,\"type\":\"service\",\"entity_alias\":\"\"}"
        );
        assert_eq!(
            go_json_compact(&create_body(&parse(&[
                "-policy=a",
                "-policy= b ",
                "-metadata=k=v",
                "-ttl=90m",
                "-orphan",
                "-type=batch",
                "-use-limit=2"
            ]))),
            "{\"policies\":[\"a\",\"b\"],\"meta\":{\"k\":\"v\"},\"ttl\":\"1h30m0s\",\"explicit_max_ttl\":\"0s\",\"period\":\"0s\",\"no_parent\":true,\"display_name\":\"\",\"num_uses\":2,\"renewable\":false,\"type\":\"batch\",\"entity_alias\":\"\"}"
        );
    }

    /// Increments are whole seconds; anything under a second is none.
    #[test]
    fn increments_truncate_to_seconds() {
        assert_eq!(whole_seconds(0), 0);
        assert_eq!(whole_seconds(999_999_999), 0);
        assert_eq!(whole_seconds(90_500_000_000), 90);
    }
}
