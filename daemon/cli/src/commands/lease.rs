//! `lease lookup | renew | revoke` over `sys/leases/*`.

use super::render::output_secret;
use super::{command_flag, connect, http_flags, output_flags, Command, CommandGroup, Ui};
use crate::client::{Extra, Method};
use crate::flags::{FlagDef, Group, Kind, Parsed};
use crate::output::{go_json_compact, wrap_at_length, J};
use crate::Env;

pub(crate) const GROUP: CommandGroup =
    CommandGroup { name: "lease", synopsis: "Interact with leases", usage: group_usage };

fn group_usage() -> String {
    "Usage: coffer lease <subcommand> [options] [args]

  This command groups subcommands for interacting with leases. Users can revoke
  or renew leases.

  Renew a lease:

      $ coffer lease renew database/creds/readonly/2f6a614c...

  Revoke a lease:

      $ coffer lease revoke database/creds/readonly/2f6a614c...

  Please see the individual subcommand help for detailed usage information."
        .to_string()
}

/// The one lease ID argument; `Missing ID!` when there is none.
fn lease_id(ui: &mut Ui<'_>, args: &[String], too_many: &str) -> Option<String> {
    match args {
        [] => {
            ui.error("Missing ID!");
            None
        }
        [id] => Some(id.trim().to_string()),
        _ => {
            ui.error(&format!("Too many arguments (expected {too_many}, got {})", args.len()));
            None
        }
    }
}

pub(crate) const LOOKUP: Command = Command {
    name: "lease lookup",
    synopsis: "Lookup the lease of a secret",
    usage: lookup_usage,
    flags: lookup_flags,
    parse_flags: true,
    run: lookup_run,
};

fn lookup_usage() -> String {
    "Usage: coffer lease lookup ID

  Lookup the lease information of a secret.

  Every secret in Coffer has a lease associated with it. Users can look up
  information on the lease by referencing the lease ID.

  Lookup lease of a secret:

      $ coffer lease lookup database/creds/readonly/2f6a614c..."
        .to_string()
}

fn lookup_flags() -> Vec<FlagDef> {
    output_flags(false)
}

fn lookup_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    let Some(id) = lease_id(ui, &parsed.args, "1") else {
        return 1;
    };
    let client = match connect(ui, parsed, env) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let body = go_json_compact(&J::Obj(vec![("lease_id".to_string(), J::Str(id.clone()))]));
    match client.request_secret(Method::Put, "sys/leases/lookup", Some(body.as_bytes()), Extra::default()) {
        Ok(s) => output_secret(ui, &s.unwrap_or_default()),
        Err(e) => {
            ui.error(&format!("error looking up lease id {id}: {e}"));
            2
        }
    }
}

pub(crate) const RENEW: Command = Command {
    name: "lease renew",
    synopsis: "Renews the lease of a secret",
    usage: renew_usage,
    flags: renew_flags,
    parse_flags: true,
    run: renew_run,
};

fn renew_usage() -> String {
    "Usage: coffer lease renew [options] ID

  Renews the lease on a secret, extending the time that it can be used before
  it is revoked by Coffer.

  Every secret in Coffer has a lease associated with it. If the owner of the
  secret wants to use it longer than the lease, then it must be renewed.
  Renewing the lease does not change the contents of the secret. The ID is the
  full path lease ID.

  Renew a secret:

      $ coffer lease renew database/creds/readonly/2f6a614c...

  Lease renewal will fail if the secret is not renewable, the secret has already
  been revoked, or if the secret has already reached its maximum TTL.

  For a full list of examples, please see the documentation."
        .to_string()
}

fn renew_flags() -> Vec<FlagDef> {
    let mut f = output_flags(false);
    f.push(command_flag(
        "increment",
        &[],
        Kind::Duration,
        Group::Command,
        "",
        "Request a specific increment in seconds. Coffer is not required to honor this request.",
    ));
    f
}

fn renew_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    let Some(id) = lease_id(ui, &parsed.args, "1-2") else {
        return 1;
    };
    let client = match connect(ui, parsed, env) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let secs = parsed.duration_ns("increment") / 1_000_000_000;
    let increment = if secs < 1 { 0 } else { i64::try_from(secs).unwrap_or(i64::MAX) };
    let body = go_json_compact(&J::Obj(vec![
        ("increment".to_string(), J::int(increment)),
        ("lease_id".to_string(), J::Str(id.clone())),
    ]));
    match client.request_secret(Method::Put, "sys/leases/renew", Some(body.as_bytes()), Extra::default()) {
        Ok(s) => output_secret(ui, &s.unwrap_or_default()),
        Err(e) => {
            ui.error(&format!("Error renewing {id}: {e}"));
            2
        }
    }
}

pub(crate) const REVOKE: Command = Command {
    name: "lease revoke",
    synopsis: "Revokes leases and secrets",
    usage: revoke_usage,
    flags: revoke_flags,
    parse_flags: true,
    run: revoke_run,
};

fn revoke_usage() -> String {
    "Usage: coffer lease revoke [options] ID

  Revokes secrets by their lease ID. This command can revoke a single secret
  or multiple secrets based on a path-matched prefix.

  The default behavior when not using -force is to revoke asynchronously; Coffer
  will queue the revocation and keep trying if it fails (including across
  restarts). The -sync flag can be used to force a synchronous operation, but
  it is then up to the caller to retry on failure. Force mode always operates
  synchronously.

  Revoke a single lease:

      $ coffer lease revoke database/creds/readonly/2f6a614c...

  Revoke all leases for a role:

      $ coffer lease revoke -prefix aws/creds/deploy

  Force delete leases from Coffer even if secret engine revocation fails:

      $ coffer lease revoke -force -prefix consul/creds

  For a full list of examples and paths, please see the documentation that
  corresponds to the secret engine in use."
        .to_string()
}

fn revoke_flags() -> Vec<FlagDef> {
    let mut f = http_flags();
    f.extend([
        command_flag(
            "force",
            &["f"],
            Kind::Bool,
            Group::Command,
            "false",
            "Delete the lease from Coffer even if the secret engine revocation fails. This is \
             meant for recovery situations where the secret in the target secret engine was \
             manually removed. If this flag is specified, -prefix is also required.",
        ),
        command_flag(
            "prefix",
            &[],
            Kind::Bool,
            Group::Command,
            "false",
            "Treat the ID as a prefix instead of an exact lease ID. This can revoke multiple \
             leases simultaneously.",
        ),
        command_flag(
            "sync",
            &[],
            Kind::Bool,
            Group::Command,
            "false",
            "Force a synchronous operation; on failure it is up to the client to retry.",
        ),
    ]);
    f
}

fn revoke_run(ui: &mut Ui<'_>, env: &Env, parsed: &Parsed) -> i32 {
    let args = &parsed.args;
    if !super::check_args(ui, args, 1, 1, "1") {
        return 1;
    }
    let force = parsed.bool("force").unwrap_or(false);
    let prefix = parsed.bool("prefix").unwrap_or(false);
    let sync = parsed.bool("sync").unwrap_or(false);
    if force && !prefix {
        ui.error("Specifying -force requires also specifying -prefix");
        return 1;
    }
    let client = match connect(ui, parsed, env) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let id = args[0].trim().to_string();
    if force {
        ui.warn(&wrap_at_length(
            "Warning! Force-removing leases can cause OpenBao to become out of sync with secret engines!",
        ));
    }
    let api = match (force, prefix) {
        (true, _) => "sys/leases/revoke-force/",
        (false, true) => "sys/leases/revoke-prefix/",
        (false, false) => "sys/leases/revoke/",
    };
    let body = (!force).then(|| go_json_compact(&J::Obj(vec![("sync".to_string(), J::Bool(sync))])));
    let result =
        client.request_secret(Method::Put, &format!("{api}{id}"), body.as_deref().map(str::as_bytes), Extra::default());
    if let Err(e) = result {
        let what = if force {
            format!("Error force revoking leases with prefix {id}")
        } else if prefix {
            format!("Error revoking leases with prefix {id}")
        } else {
            format!("Error revoking lease {id}")
        };
        ui.error(&format!("{what}: {e}"));
        return 2;
    }
    if force {
        ui.output(&format!("Success! Force revoked any leases with prefix: {id}"));
    } else if sync && prefix {
        ui.output(&format!("Success! Revoked any leases with prefix: {id}"));
    } else if sync {
        ui.output(&format!("Success! Revoked lease: {id}"));
    } else {
        ui.output("All revocation operations queued successfully!");
    }
    0
}
