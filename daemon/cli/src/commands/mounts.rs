//! What `secrets` and `auth` share: `api.MountOutput` as bao prints it (JSON in struct
//! order, simple and detailed tables), the enable and tune request bodies, and their flags.

use serde_json::{Map, Value};

use super::{command_flag, Ui};
use crate::client::{get_bool, get_i64, get_str, get_str_list, Client, Extra, Method, Secret};
use crate::error::Error;
use crate::flags::{go_duration_string, FlagDef, Group, Kind, Parsed};
use crate::output::{go_json_pretty, go_v, table_output, J};

/// The mounts of `sys/mounts` or `sys/auth`, by path (sorted).
pub(crate) fn list(client: &Client, path: &str) -> Result<Map<String, Value>, Error> {
    let secret = client.request_secret(Method::Get, path, None, Extra::default())?;
    match secret.and_then(|s| s.data) {
        Some(d) => Ok(d),
        None => Err(Error::Decode("data from server response is empty".to_string())),
    }
}

fn obj(m: &Map<String, Value>, k: &str) -> Map<String, Value> {
    m.get(k).and_then(Value::as_object).cloned().unwrap_or_default()
}

/// `map[string]string` as Go's `%v` prints it: `map[k:v]`, `map[]` when empty or nil.
fn options_v(m: &Map<String, Value>) -> String {
    match m.get("options") {
        Some(Value::Object(o)) => go_v(&Value::Object(o.clone())),
        _ => "map[]".to_string(),
    }
}

/// `api.MountConfigOutput` in struct order, `omitempty` fields left out when empty.
fn config_json(c: &Map<String, Value>) -> J {
    let mut f = vec![
        ("default_lease_ttl".to_string(), J::int(get_i64(c, "default_lease_ttl"))),
        ("max_lease_ttl".to_string(), J::int(get_i64(c, "max_lease_ttl"))),
        ("force_no_cache".to_string(), J::Bool(get_bool(c, "force_no_cache"))),
    ];
    let lists = |f: &mut Vec<(String, J)>, k: &str| {
        if let Some(l) = get_str_list(c, k).filter(|l| !l.is_empty()) {
            f.push((k.to_string(), J::str_list(Some(&l))));
        }
    };
    lists(&mut f, "audit_non_hmac_request_keys");
    lists(&mut f, "audit_non_hmac_response_keys");
    let lv = get_str(c, "listing_visibility");
    if !lv.is_empty() {
        f.push(("listing_visibility".to_string(), J::Str(lv)));
    }
    lists(&mut f, "passthrough_request_headers");
    lists(&mut f, "allowed_response_headers");
    let tt = get_str(c, "token_type");
    if !tt.is_empty() {
        f.push(("token_type".to_string(), J::Str(tt)));
    }
    lists(&mut f, "allowed_managed_keys");
    // `user_lockout_config` has no mapstructure tag in bao's client, so it never decodes
    // and is never shown.
    J::Obj(f)
}

/// `api.MountOutput` in struct order.
fn mount_json(m: &Map<String, Value>) -> J {
    let options = match m.get("options") {
        Some(Value::Object(o)) => J::from_value(&Value::Object(o.clone())),
        _ => J::Null,
    };
    let s = |k: &str| J::Str(get_str(m, k));
    J::Obj(vec![
        ("uuid".to_string(), s("uuid")),
        ("type".to_string(), s("type")),
        ("description".to_string(), s("description")),
        ("accessor".to_string(), s("accessor")),
        ("config".to_string(), config_json(&obj(m, "config"))),
        ("options".to_string(), options),
        ("local".to_string(), J::Bool(get_bool(m, "local"))),
        ("seal_wrap".to_string(), J::Bool(get_bool(m, "seal_wrap"))),
        ("external_entropy_access".to_string(), J::Bool(get_bool(m, "external_entropy_access"))),
        ("plugin_version".to_string(), s("plugin_version")),
        ("running_plugin_version".to_string(), s("running_plugin_version")),
        ("running_sha256".to_string(), s("running_sha256")),
        ("deprecation_status".to_string(), s("deprecation_status")),
    ])
}

/// The mounts as bao's JSON formatter writes `map[string]*api.MountOutput`.
pub(crate) fn output_json(ui: &mut Ui<'_>, mounts: &Map<String, Value>) -> i32 {
    let mut paths: Vec<&String> = mounts.keys().collect();
    paths.sort();
    let entries = paths
        .into_iter()
        .map(|p| {
            let m = mounts[p].as_object().cloned().unwrap_or_default();
            (p.clone(), mount_json(&m))
        })
        .collect();
    ui.output(&go_json_pretty(&J::Obj(entries)));
    0
}

/// The table: `simple` columns (the auth table adds Version), or every detail where the
/// sixth column is `detail_column` ("Force No Cache" or "Token Type").
pub(crate) fn output_table(ui: &mut Ui<'_>, mounts: &Map<String, Value>, detailed: bool, auth: bool) -> i32 {
    let mut paths: Vec<&String> = mounts.keys().collect();
    paths.sort();
    let mut out = Vec::with_capacity(paths.len() + 1);
    if !detailed {
        out.push(if auth {
            "Path | Type | Accessor | Description | Version".to_string()
        } else {
            "Path | Type | Accessor | Description".to_string()
        });
        for p in paths {
            let m = mounts[p].as_object().cloned().unwrap_or_default();
            let mut row =
                format!("{p} | {} | {} | {}", get_str(&m, "type"), get_str(&m, "accessor"), get_str(&m, "description"));
            if auth {
                row.push_str(&format!(" | {}", get_str(&m, "plugin_version")));
            }
            out.push(row);
        }
    } else {
        let sixth = if auth { "Token Type" } else { "Force No Cache" };
        out.push(format!(
            "Path | Plugin | Accessor | Default TTL | Max TTL | {sixth} | Replication | Seal Wrap | External Entropy Access | Options | Description | UUID | Version | Running Version | Running SHA256 | Deprecation Status"
        ));
        for p in paths {
            let m = mounts[p].as_object().cloned().unwrap_or_default();
            let c = obj(&m, "config");
            let typ = get_str(&m, "type");
            let ttl = |k: &str| match get_i64(&c, k) {
                _ if typ == "system" || typ == "cubbyhole" => String::new(),
                0 => "system".to_string(),
                n => n.to_string(),
            };
            let plugin = if typ == "plugin" { get_str(&c, "plugin_name") } else { typ.clone() };
            let detail = if auth { get_str(&c, "token_type") } else { get_bool(&c, "force_no_cache").to_string() };
            let replication = if get_bool(&m, "local") { "local" } else { "replicated" };
            out.push(format!(
                "{p} | {plugin} | {} | {} | {} | {detail} | {replication} | {} | {} | {} | {} | {} | {} | {} | {} | {}",
                get_str(&m, "accessor"),
                ttl("default_lease_ttl"),
                ttl("max_lease_ttl"),
                get_bool(&m, "seal_wrap"),
                get_bool(&m, "external_entropy_access"),
                options_v(&m),
                get_str(&m, "description"),
                get_str(&m, "uuid"),
                get_str(&m, "plugin_version"),
                get_str(&m, "running_plugin_version"),
                get_str(&m, "running_sha256"),
                get_str(&m, "deprecation_status"),
            ));
        }
    }
    ui.output(&table_output(&out, "|"));
    0
}

/// A `-options=k=v` map (with `-version` folded in as `version`), or JSON null.
fn options(parsed: &Parsed) -> J {
    let mut m = parsed.map("options");
    if let Some(v) = parsed.int("version").filter(|v| *v > 0) {
        m.get_or_insert_with(Default::default).insert("version".to_string(), v.to_string());
    }
    match m {
        Some(m) => J::Obj(m.into_iter().map(|(k, v)| (k, J::Str(v))).collect()),
        None => J::Null,
    }
}

/// bao's `ttlToAPI`: "" for zero, "system" for negative, else Go's duration text.
fn ttl_to_api(ns: i128) -> String {
    match ns {
        0 => String::new(),
        n if n < 0 => "system".to_string(),
        n => go_duration_string(n),
    }
}

/// `api.MountConfigInput` as Go encodes it (struct order, `omitempty`).
fn config_input(parsed: &Parsed, default_ttl: String, max_ttl: String, force_no_cache: bool, tune: bool) -> J {
    let mut f: Vec<(String, J)> = vec![("options".to_string(), if tune { options(parsed) } else { J::Null })];
    f.push(("default_lease_ttl".to_string(), J::Str(default_ttl)));
    if tune && parsed.is_set("description") {
        f.push(("description".to_string(), J::Str(parsed.string("description").unwrap_or("").to_string())));
    }
    f.push(("max_lease_ttl".to_string(), J::Str(max_ttl)));
    f.push(("force_no_cache".to_string(), J::Bool(force_no_cache)));
    let set_list = |f: &mut Vec<(String, J)>, flag: &str, key: &str| {
        if parsed.is_set(flag) && !parsed.strings(flag).is_empty() {
            f.push((key.to_string(), J::str_list(Some(parsed.strings(flag)))));
        }
    };
    let set_str = |f: &mut Vec<(String, J)>, flag: &str, key: &str| {
        if let Some(v) = parsed.string(flag).filter(|v| !v.is_empty()) {
            f.push((key.to_string(), J::Str(v.to_string())));
        }
    };
    set_list(&mut f, "audit-non-hmac-request-keys", "audit_non_hmac_request_keys");
    set_list(&mut f, "audit-non-hmac-response-keys", "audit_non_hmac_response_keys");
    set_str(&mut f, "listing-visibility", "listing_visibility");
    set_list(&mut f, "passthrough-request-headers", "passthrough_request_headers");
    set_list(&mut f, "allowed-response-headers", "allowed_response_headers");
    set_str(&mut f, "token-type", "token_type");
    set_list(&mut f, "allowed-managed-keys", "allowed_managed_keys");
    set_str(&mut f, "plugin-version", "plugin_version");
    let lockout = [
        "user-lockout-threshold",
        "user-lockout-duration",
        "user-lockout-counter-reset-duration",
        "user-lockout-disable",
    ];
    if tune && lockout.iter().any(|l| parsed.is_set(l)) {
        let mut l = Vec::new();
        if parsed.is_set("user-lockout-threshold") {
            l.push((
                "lockout_threshold".to_string(),
                J::Str(parsed.uint("user-lockout-threshold").unwrap_or(0).to_string()),
            ));
        }
        for (flag, key) in [
            ("user-lockout-duration", "lockout_duration"),
            ("user-lockout-counter-reset-duration", "lockout_counter_reset_duration"),
        ] {
            let v = ttl_to_api(parsed.duration_ns(flag));
            if parsed.is_set(flag) && !v.is_empty() {
                l.push((key.to_string(), J::Str(v)));
            }
        }
        if parsed.is_set("user-lockout-disable") {
            l.push(("lockout_disable".to_string(), J::Bool(parsed.bool("user-lockout-disable").unwrap_or(false))));
        }
        f.push(("user_lockout_config".to_string(), J::Obj(l)));
    }
    J::Obj(f)
}

/// `api.MountInput` for `secrets enable` / `auth enable`.
pub(crate) fn enable_body(parsed: &Parsed, mount_type: &str) -> J {
    let dur = |flag: &str| go_duration_string(parsed.duration_ns(flag));
    let config = config_input(
        parsed,
        dur("default-lease-ttl"),
        dur("max-lease-ttl"),
        parsed.bool("force-no-cache").unwrap_or(false),
        false,
    );
    let b = |flag: &str| J::Bool(parsed.bool(flag).unwrap_or(false));
    J::Obj(vec![
        ("type".to_string(), J::Str(mount_type.to_string())),
        ("description".to_string(), J::Str(parsed.string("description").unwrap_or("").to_string())),
        ("config".to_string(), config),
        ("local".to_string(), b("local")),
        ("seal_wrap".to_string(), b("seal-wrap")),
        ("external_entropy_access".to_string(), b("external-entropy-access")),
        ("options".to_string(), options(parsed)),
    ])
}

/// `api.MountConfigInput` for `secrets tune` / `auth tune`.
pub(crate) fn tune_body(parsed: &Parsed) -> J {
    config_input(
        parsed,
        ttl_to_api(parsed.duration_ns("default-lease-ttl")),
        ttl_to_api(parsed.duration_ns("max-lease-ttl")),
        false,
        true,
    )
}

/// A `sys/...` write whose answer is ignored; `Ok` on any success status.
pub(crate) fn write(client: &Client, method: Method, path: &str, body: &J) -> Result<Option<Secret>, Error> {
    let body = crate::output::go_json_compact(body);
    client.request_secret(method, path, Some(body.as_bytes()), Extra::default())
}

fn f(name: &'static str, kind: Kind, default: &'static str, usage: &'static str) -> FlagDef {
    command_flag(name, &[], kind, Group::Command, default, usage)
}

/// The flags `enable` and `tune` share (`what` is "secrets engine" or "auth method").
pub(crate) fn config_flags(tune: bool, auth: bool) -> Vec<FlagDef> {
    let mut v = vec![
        f(
            "audit-non-hmac-request-keys",
            Kind::StrSlice,
            "",
            "Key that will not be HMAC'd by audit devices in the request data object. To specify \
             multiple values, specify this flag multiple times.",
        ),
        f(
            "audit-non-hmac-response-keys",
            Kind::StrSlice,
            "",
            "Key that will not be HMAC'd by audit devices in the response data object. To \
             specify multiple values, specify this flag multiple times.",
        ),
        f(
            "default-lease-ttl",
            Kind::Duration,
            "",
            "The default lease TTL for this mount. If unspecified, this defaults to the Coffer \
             server's globally configured default lease TTL.",
        ),
        f(
            "description",
            Kind::Str,
            "",
            "Human-friendly description for the purpose of this mount. When tuning, this \
             overrides the current stored value, if any.",
        ),
        f(
            "listing-visibility",
            Kind::Str,
            "",
            "Determines the visibility of the mount in the UI-specific listing endpoint.",
        ),
        f(
            "max-lease-ttl",
            Kind::Duration,
            "",
            "The maximum lease TTL for this mount. If unspecified, this defaults to the Coffer \
             server's globally configured maximum lease TTL.",
        ),
        f(
            "passthrough-request-headers",
            Kind::StrSlice,
            "",
            "Request header value that will be sent to the plugin. To specify multiple values, \
             specify this flag multiple times.",
        ),
        f(
            "allowed-response-headers",
            Kind::StrSlice,
            "",
            "Response header value that plugins will be allowed to set. To specify multiple \
             values, specify this flag multiple times.",
        ),
        f(
            "options",
            Kind::KeyValue,
            "",
            "Key-value pair provided as key=value for the mount options. This can be specified \
             multiple times.",
        ),
        f("version", Kind::Int, "", "Select the version of the engine to run. Not supported by all engines."),
        f("plugin-version", Kind::Str, "", "Select the semantic version of the plugin to enable."),
    ];
    if !tune {
        v.extend([
            f(
                "path",
                Kind::Str,
                "",
                "Place where the mount will be accessible. This must be unique across all \
                 mounts of its kind. This defaults to the \"type\" of the mount.",
            ),
            f(
                "plugin-name",
                Kind::Str,
                "",
                "Name of the plugin. This plugin name must already exist in the Coffer server's \
                 plugin catalog.",
            ),
            f(
                "local",
                Kind::Bool,
                "false",
                "Mark the mount as local-only. Local mounts are not replicated or removed by \
                 replication.",
            ),
            f("seal-wrap", Kind::Bool, "false", "Enable seal wrapping of critical values in the mount."),
            f(
                "external-entropy-access",
                Kind::Bool,
                "false",
                "Enable the mount to access Coffer's external entropy source.",
            ),
        ]);
        if !auth {
            v.push(f(
                "force-no-cache",
                Kind::Bool,
                "false",
                "Force the secrets engine to disable caching. If unspecified, this defaults to \
                 the Coffer server's globally configured cache settings. This does not affect \
                 caching of the underlying encrypted data storage.",
            ));
        }
    }
    if auth {
        v.push(f("token-type", Kind::Str, "", "Sets a forced token type for the mount."));
    }
    if auth && tune {
        v.extend([
            f(
                "user-lockout-threshold",
                Kind::Uint,
                "",
                "The threshold for user lockout for this auth method. If unspecified, this \
                 defaults to the Coffer server's globally configured user lockout threshold, or \
                 a previously configured value for the auth method.",
            ),
            f(
                "user-lockout-duration",
                Kind::Duration,
                "",
                "The user lockout duration for this auth method. If unspecified, this defaults \
                 to the Coffer server's globally configured user lockout duration, or a \
                 previously configured value for the auth method.",
            ),
            f(
                "user-lockout-counter-reset-duration",
                Kind::Duration,
                "",
                "The user lockout counter reset duration for this auth method. If unspecified, \
                 this defaults to the Coffer server's globally configured user lockout counter \
                 reset duration, or a previously configured value for the auth method.",
            ),
            f(
                "user-lockout-disable",
                Kind::Bool,
                "false",
                "Disable user lockout for this auth method. If unspecified, this defaults to the \
                 Coffer server's globally configured user lockout disable, or a previously \
                 configured value for the auth method.",
            ),
        ]);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::go_json_compact;

    fn parse(defs: Vec<FlagDef>, a: &[&str]) -> Parsed {
        let args: Vec<String> = a.iter().map(|s| s.to_string()).collect();
        crate::flags::parse(&defs, &args).unwrap_or_default()
    }

    /// Enable bodies carry Go's zero values ("0s" TTLs, null options) as bao's do.
    #[test]
    fn enable_body_matches_go() {
        let p = parse(config_flags(false, false), &["-path=kv2", "-version=2", "-description=d", "kv"]);
        assert_eq!(
            go_json_compact(&enable_body(&p, "kv")),
            "{\"type\":\"kv\",\"description\":\"d\",\"config\":{\"options\":null,\"default_lease_ttl\":\"0s\",\"max_lease_ttl\":\"0s\",\"force_no_cache\":false},\"local\":false,\"seal_wrap\":false,\"external_entropy_access\":false,\"options\":{\"version\":\"2\"}}"
        );
    }

    /// Tune bodies leave unset TTLs empty and carry only the options given.
    #[test]
    fn tune_body_matches_go() {
        let p = parse(
            config_flags(true, true),
            &["-default-lease-ttl=1h", "-description=", "-user-lockout-threshold=5", "x"],
        );
        assert_eq!(
            go_json_compact(&tune_body(&p)),
            "{\"options\":null,\"default_lease_ttl\":\"1h0m0s\",\"description\":\"\",\"max_lease_ttl\":\"\",\"force_no_cache\":false,\"user_lockout_config\":{\"lockout_threshold\":\"5\"}}"
        );
        let p = parse(config_flags(true, false), &["-max-lease-ttl=system", "x"]);
        assert_eq!(
            go_json_compact(&tune_body(&p)),
            "{\"options\":null,\"default_lease_ttl\":\"\",\"max_lease_ttl\":\"system\",\"force_no_cache\":false}"
        );
    }
}
