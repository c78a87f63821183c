//! Rendering of responses in bao's table and JSON formats.

use serde_json::{Map, Value};

use super::Ui;
use crate::client::{get_bool, get_i64, get_str, get_str_list, Secret};
use crate::output::{
    self, go_json_pretty, go_q_list, go_v, gotime, human_duration_secs, human_duration_value, looks_like_duration,
    table_output, wrap_at_length_with_padding, HOPE_DELIM, J,
};

/// A secret as bao's JSON formatter writes an `api.Secret`.
pub(crate) fn secret_json(s: &Secret) -> J {
    let mut fields = vec![
        ("request_id".to_string(), J::str(&s.request_id)),
        ("lease_id".to_string(), J::str(&s.lease_id)),
        ("lease_duration".to_string(), J::int(s.lease_duration)),
        ("renewable".to_string(), J::Bool(s.renewable)),
        (
            "data".to_string(),
            match &s.data {
                Some(d) => J::from_value(&Value::Object(d.clone())),
                None => J::Null,
            },
        ),
        ("warnings".to_string(), J::str_list(s.warnings.as_deref())),
    ];
    if let Some(w) = &s.wrap_info {
        fields.push((
            "wrap_info".to_string(),
            J::Obj(vec![
                ("token".to_string(), J::str(&w.token)),
                ("accessor".to_string(), J::str(&w.accessor)),
                ("ttl".to_string(), J::int(w.ttl)),
                ("creation_time".to_string(), J::str(go_time_json(&w.creation_time))),
                ("creation_path".to_string(), J::str(&w.creation_path)),
                ("wrapped_accessor".to_string(), J::str(&w.wrapped_accessor)),
            ]),
        ));
    }
    if let Some(a) = &s.auth {
        let metadata = match &a.metadata {
            Some(pairs) => J::Obj(pairs.iter().map(|(k, v)| (k.clone(), J::str(v))).collect()),
            None => J::Null,
        };
        fields.push((
            "auth".to_string(),
            J::Obj(vec![
                ("client_token".to_string(), J::str(&a.client_token)),
                ("accessor".to_string(), J::str(&a.accessor)),
                ("policies".to_string(), J::str_list(a.policies.as_deref())),
                ("token_policies".to_string(), J::str_list(a.token_policies.as_deref())),
                ("identity_policies".to_string(), J::str_list(a.identity_policies.as_deref())),
                ("metadata".to_string(), metadata),
                ("orphan".to_string(), J::Bool(a.orphan)),
                ("entity_id".to_string(), J::str(&a.entity_id)),
                ("lease_duration".to_string(), J::int(a.lease_duration)),
                ("renewable".to_string(), J::Bool(a.renewable)),
                ("mfa_requirement".to_string(), J::from_value(&a.mfa_requirement)),
            ]),
        ));
    }
    J::Obj(fields)
}

/// A `time.Time` field as Go marshals it; Go's zero time when the server sent none.
fn go_time_json(s: &str) -> String {
    if s.is_empty() {
        "0001-01-01T00:00:00Z".to_string()
    } else {
        gotime::rfc3339_nano(s)
    }
}

/// bao's `printWarnings` (table format only), on standard error.
pub(crate) fn print_warnings(ui: &mut Ui<'_>, warnings: Option<&[String]>) {
    let Some(warnings) = warnings.filter(|w| !w.is_empty()) else {
        return;
    };
    ui.warn("WARNING! The following warnings were returned from OpenBao:\n");
    for w in warnings {
        ui.warn(&wrap_at_length_with_padding(&format!("* {w}"), 2));
        ui.warn("");
    }
}

fn row(k: &str, v: &str) -> String {
    format!("{k} {HOPE_DELIM} {v}")
}

/// bao's `OutputSecret` in the UI's format.
pub(crate) fn output_secret(ui: &mut Ui<'_>, s: &Secret) -> i32 {
    if !ui.is_table() {
        ui.output(&go_json_pretty(&secret_json(s)));
        return 0;
    }
    print_warnings(ui, s.warnings.as_deref());
    let mut rows = Vec::new();
    if s.lease_duration > 0 {
        if !s.lease_id.is_empty() {
            rows.push(row("lease_id", &s.lease_id));
            rows.push(row("lease_duration", &human_duration_secs(s.lease_duration)));
            rows.push(row("lease_renewable", &s.renewable.to_string()));
        } else {
            rows.push(row("refresh_interval", &human_duration_secs(s.lease_duration)));
        }
    }
    if let Some(a) = &s.auth {
        if let Some(req) = a.mfa_requirement.as_object() {
            rows.push(row("mfa_request_id", &get_str(req, "mfa_request_id")));
        } else {
            rows.push(row("token", &a.client_token));
            rows.push(row("token_accessor", &a.accessor));
            let duration =
                if a.lease_duration == 0 { "∞".to_string() } else { human_duration_secs(a.lease_duration) };
            rows.push(row("token_duration", &duration));
            rows.push(row("token_renewable", &a.renewable.to_string()));
            let q = |l: &Option<Vec<String>>| go_q_list(l.as_deref().unwrap_or(&[]));
            rows.push(row("token_policies", &q(&a.token_policies)));
            rows.push(row("identity_policies", &q(&a.identity_policies)));
            rows.push(row("policies", &q(&a.policies)));
            for (k, v) in a.metadata.as_deref().unwrap_or(&[]) {
                rows.push(row(&format!("token_meta_{k}"), v));
            }
        }
    }
    if let Some(w) = &s.wrap_info {
        rows.push(row("wrapping_token:", &w.token));
        rows.push(row("wrapping_accessor:", &w.accessor));
        rows.push(row("wrapping_token_ttl:", &human_duration_secs(w.ttl)));
        let created = if w.creation_time.is_empty() {
            "0001-01-01 00:00:00 +0000 UTC".to_string()
        } else {
            gotime::go_string(&w.creation_time)
        };
        rows.push(row("wrapping_token_creation_time:", &created));
        rows.push(row("wrapping_token_creation_path:", &w.creation_path));
        if !w.wrapped_accessor.is_empty() {
            rows.push(row("wrapped_accessor:", &w.wrapped_accessor));
        }
    }
    if let Some(data) = &s.data {
        rows.extend(map_rows(data));
    }
    if rows.is_empty() {
        return 0;
    }
    let mut lines = vec![format!("Key{HOPE_DELIM}Value")];
    lines.extend(rows);
    ui.output(&table_output(&lines, HOPE_DELIM));
    0
}

/// Sorted `key ♨ value` rows of a map, durations humanized as bao does.
fn map_rows(data: &Map<String, Value>) -> Vec<String> {
    let mut keys: Vec<&String> = data.keys().collect();
    keys.sort();
    keys.into_iter()
        .map(|k| {
            let v = &data[k];
            let shown = if looks_like_duration(k) { human_duration_value(v) } else { go_v(v) };
            row(k, &shown)
        })
        .collect()
}

/// bao's `OutputData` of a map (`{}` in JSON, nothing in a table when empty).
pub(crate) fn output_map(ui: &mut Ui<'_>, data: &Map<String, Value>) -> i32 {
    if !ui.is_table() {
        ui.output(&go_json_pretty(&J::from_value(&Value::Object(data.clone()))));
        return 0;
    }
    if data.is_empty() {
        return 0;
    }
    let mut lines = vec![format!("Key{HOPE_DELIM}Value")];
    lines.extend(map_rows(data));
    ui.output(&table_output(&lines, HOPE_DELIM));
    0
}

/// bao's `OutputData` of a value that is not a map, in JSON (`MarshalIndent`).
pub(crate) fn output_json(ui: &mut Ui<'_>, v: &J) -> i32 {
    ui.output(&go_json_pretty(v));
    0
}

/// bao's `OutputList` of a secret whose `data.keys` is a list.
pub(crate) fn output_list(ui: &mut Ui<'_>, s: &Secret, keys: &[Value]) -> i32 {
    if !ui.is_table() {
        ui.output(&go_json_pretty(&J::from_value(&Value::Array(keys.to_vec()))));
        return 0;
    }
    print_warnings(ui, s.warnings.as_deref());
    if keys.is_empty() {
        return 0;
    }
    let mut names = Vec::with_capacity(keys.len());
    for k in keys {
        match k {
            Value::String(s) => names.push(s.clone()),
            other => {
                ui.error(&format!("Could not parse output: {} is not a string", go_v(other)));
                return 1;
            }
        }
    }
    names.sort();
    let mut lines = vec!["Keys".to_string()];
    lines.extend(names);
    ui.output(&table_output(&lines, HOPE_DELIM));
    0
}

/// bao's `RawField`: the value `-field` selects.
fn raw_field(s: &Secret, field: &str) -> Option<Value> {
    let data_field = || s.data.as_ref().and_then(|d| d.get(field)).cloned();
    let strs = |l: &Option<Vec<String>>| match l {
        Some(items) => Value::Array(items.iter().cloned().map(Value::String).collect()),
        None => Value::Null,
    };
    let v = if let Some(a) = &s.auth {
        match field {
            "token" => Value::String(a.client_token.clone()),
            "token_accessor" => Value::String(a.accessor.clone()),
            "token_duration" => Value::from(a.lease_duration),
            "token_renewable" => Value::Bool(a.renewable),
            "token_policies" => strs(&a.token_policies),
            "identity_policies" => strs(&a.identity_policies),
            "policies" => strs(&a.policies),
            _ => data_field()?,
        }
    } else if let Some(w) = &s.wrap_info {
        match field {
            "wrapping_token" => Value::String(w.token.clone()),
            "wrapping_accessor" => Value::String(w.accessor.clone()),
            "wrapping_token_ttl" => Value::from(w.ttl),
            "wrapping_token_creation_time" => Value::String(go_time_json(&w.creation_time)),
            "wrapping_token_creation_path" => Value::String(w.creation_path.clone()),
            "wrapped_accessor" => Value::String(w.wrapped_accessor.clone()),
            _ => data_field()?,
        }
    } else {
        match field {
            "lease_duration" | "refresh_interval" => Value::from(s.lease_duration),
            "lease_id" => Value::String(s.lease_id.clone()),
            "request_id" => Value::String(s.request_id.clone()),
            "renewable" => Value::Bool(s.renewable),
            "data" => match s.data.as_ref().and_then(|d| d.get("data")) {
                Some(inner) => inner.clone(),
                None => match &s.data {
                    Some(d) => Value::Object(d.clone()),
                    None => Value::Null,
                },
            },
            _ => data_field()?,
        }
    };
    (!v.is_null()).then_some(v)
}

/// bao's `PrintRawField`: the value alone, without a trailing newline unless stdout is a
/// terminal.
pub(crate) fn print_raw_field(ui: &mut Ui<'_>, s: &Secret, field: &str) -> i32 {
    let v = raw_field(s, field);
    // bao 2.7 shows a secret's warnings (table format only) before a field it found.
    if v.is_some() && ui.is_table() {
        print_warnings(ui, s.warnings.as_deref());
    }
    print_raw_value(ui, v, field, "secret")
}

/// `PrintRawField` of a plain map (kv v2 data): the value under `field`.
pub(crate) fn print_raw_map_field(ui: &mut Ui<'_>, m: &Map<String, Value>, field: &str) -> i32 {
    print_raw_value(ui, m.get(field).filter(|v| !v.is_null()).cloned(), field, "map")
}

/// Prints the value, or bao's error naming what it looked in (`secret` or `map`).
fn print_raw_value(ui: &mut Ui<'_>, v: Option<Value>, field: &str, container: &str) -> i32 {
    let Some(v) = v else {
        ui.error(&format!("Field {} not present in {container}", crate::flags::go_quote(field)));
        return 1;
    };
    let text = if ui.is_table() { go_v(&v) } else { go_json_pretty(&J::from_value(&v)) };
    if ui.stdout_is_terminal {
        ui.output(&text);
    } else {
        ui.raw(&text);
    }
    0
}

/// bao's `SealStatusOutput`: seal status merged with leader status.
#[derive(Debug, Default)]
pub(crate) struct SealStatus {
    status: Map<String, Value>,
    leader: Map<String, Value>,
}

impl SealStatus {
    pub(crate) fn new(status: Map<String, Value>) -> SealStatus {
        SealStatus { status, leader: Map::new() }
    }

    pub(crate) fn sealed(&self) -> bool {
        get_bool(&self.status, "sealed")
    }

    pub(crate) fn recovery_seal(&self) -> bool {
        get_bool(&self.status, "recovery_seal")
    }

    fn ha_enabled(&self) -> bool {
        get_bool(&self.leader, "ha_enabled")
    }

    fn active_time(&self) -> Option<String> {
        let t = get_str(&self.leader, "active_time");
        let t = gotime::rfc3339_nano(&t);
        (!t.is_empty() && !t.starts_with("0001-01-01T00:00:00")).then_some(t)
    }

    fn json(&self) -> J {
        let s = &self.status;
        let l = &self.leader;
        let mut f: Vec<(String, J)> = Vec::new();
        let mut push = |k: &str, v: J| f.push((k.to_string(), v));
        push("type", J::str(get_str(s, "type")));
        push("initialized", J::Bool(get_bool(s, "initialized")));
        push("sealed", J::Bool(get_bool(s, "sealed")));
        push("t", J::int(get_i64(s, "t")));
        push("n", J::int(get_i64(s, "n")));
        push("progress", J::int(get_i64(s, "progress")));
        push("nonce", J::str(get_str(s, "nonce")));
        push("version", J::str(get_str(s, "version")));
        push("commit_date", J::str(get_str(s, "commit_date")));
        push("migration", J::Bool(get_bool(s, "migration")));
        for k in ["cluster_name", "cluster_id"] {
            let v = get_str(s, k);
            if !v.is_empty() {
                push(k, J::str(v));
            }
        }
        push("recovery_seal", J::Bool(get_bool(s, "recovery_seal")));
        for k in ["recovery_seal_type", "storage_type"] {
            let v = get_str(s, k);
            if !v.is_empty() {
                push(k, J::str(v));
            }
        }
        if let Some(w) = get_str_list(s, "warnings").filter(|w| !w.is_empty()) {
            push("warnings", J::str_list(Some(&w)));
        }
        push("build_date", J::str(get_str(s, "build_date")));
        push("ha_enabled", J::Bool(get_bool(l, "ha_enabled")));
        if get_bool(l, "is_self") {
            push("is_self", J::Bool(true));
        }
        if let Some(t) = self.active_time() {
            push("active_time", J::str(t));
        }
        for k in ["leader_address", "leader_cluster_address"] {
            let v = get_str(l, k);
            if !v.is_empty() {
                push(k, J::str(v));
            }
        }
        for k in ["raft_committed_index", "raft_applied_index"] {
            let v = get_i64(l, k);
            if v != 0 {
                push(k, J::int(v));
            }
        }
        J::Obj(f)
    }

    fn table(&self) -> String {
        let s = &self.status;
        let l = &self.leader;
        let mut out = vec!["Key | Value".to_string()];
        out.push(format!("Seal Type | {}", get_str(s, "type")));
        let mut prefix = "";
        if get_bool(s, "recovery_seal") {
            prefix = "Recovery ";
            out.push(format!("Recovery Seal Type | {}", get_str(s, "recovery_seal_type")));
        }
        out.push(format!("Initialized | {}", get_bool(s, "initialized")));
        out.push(format!("Sealed | {}", self.sealed()));
        out.push(format!("Total {prefix}Shares | {}", get_i64(s, "n")));
        out.push(format!("Threshold | {}", get_i64(s, "t")));
        if self.sealed() {
            out.push(format!("Unseal Progress | {}/{}", get_i64(s, "progress"), get_i64(s, "t")));
            out.push(format!("Unseal Nonce | {}", get_str(s, "nonce")));
        }
        if get_bool(s, "migration") {
            out.push("Seal Migration in Progress | true".to_string());
        }
        for (label, key) in [("Version", "version"), ("Commit Date", "commit_date"), ("Storage Type", "storage_type")] {
            let v = get_str(s, key);
            if !v.is_empty() {
                out.push(format!("{label} | {v}"));
            }
        }
        let (name, id) = (get_str(s, "cluster_name"), get_str(s, "cluster_id"));
        if !name.is_empty() && !id.is_empty() {
            out.push(format!("Cluster Name | {name}"));
            out.push(format!("Cluster ID | {id}"));
        }
        out.push(format!("HA Enabled | {}", self.ha_enabled()));
        if self.ha_enabled() && !self.sealed() {
            out.push(format!("HA Cluster | {}", get_str(l, "leader_cluster_address")));
            let is_self = get_bool(l, "is_self");
            out.push(format!("HA Mode | {}", if is_self { "active" } else { "standby" }));
            if is_self {
                if let Some(t) = self.active_time() {
                    out.push(format!("Active Since | {t}"));
                }
            }
            let leader = get_str(l, "leader_address");
            if !is_self && !leader.is_empty() {
                out.push(format!("Active Node Address | {leader}"));
            }
        }
        for (label, key) in
            [("Raft Committed Index", "raft_committed_index"), ("Raft Applied Index", "raft_applied_index")]
        {
            let v = get_i64(l, key);
            if v > 0 {
                out.push(format!("{label} | {v}"));
            }
        }
        table_output(&out, "|")
    }
}

/// bao's `OutputSealStatus`: looks up the leader (a sealed server's "Vault is sealed" error
/// means HA is enabled), then prints. Returns 0, or 1 if the leader lookup failed.
pub(crate) fn output_seal_status(ui: &mut Ui<'_>, client: &crate::client::Client, mut status: SealStatus) -> i32 {
    match client.json(crate::client::Method::Get, "sys/leader", None) {
        Ok(leader) => status.leader = leader,
        Err(e) if e.mentions_sealed() => {
            status.leader = Map::new();
            status.leader.insert("ha_enabled".to_string(), Value::Bool(true));
        }
        Err(e) => {
            ui.error(&format!("Error checking leader status: {e}"));
            return 1;
        }
    }
    if ui.is_table() {
        ui.output(&status.table());
    } else {
        ui.output(&go_json_pretty(&status.json()));
    }
    0
}

/// The barrier key status (`api.KeyStatus`), from `data` or the top level.
pub(crate) fn key_status_output(ui: &mut Ui<'_>, body: &Map<String, Value>, prefix: &str) {
    let m = match body.get("data") {
        Some(Value::Object(d)) => d,
        _ => body,
    };
    let install = get_str(m, "install_time");
    if ui.is_table() {
        let lines = vec![
            format!("Key Term | {}", get_i64(m, "term")),
            format!("Install Time | {}", gotime::rfc822_utc(&go_time_json(&install))),
            format!("Encryption Count | {}", get_i64(m, "encryptions")),
        ];
        ui.output(&format!("{prefix}{}", output::columnize(&lines, "|")));
    } else {
        let j = J::Obj(vec![
            ("term".to_string(), J::int(get_i64(m, "term"))),
            ("install_time".to_string(), J::str(go_time_json(&install))),
            ("encryptions".to_string(), J::int(get_i64(m, "encryptions"))),
        ]);
        ui.output(&go_json_pretty(&j));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn render(format: &str, f: impl FnOnce(&mut Ui<'_>)) -> (String, String) {
        let mut out = Vec::new();
        let mut err = Vec::new();
        {
            let mut ui = Ui { out: &mut out, err: &mut err, format: format.to_string(), stdout_is_terminal: false };
            f(&mut ui);
        }
        (String::from_utf8_lossy(&out).into_owned(), String::from_utf8_lossy(&err).into_owned())
    }

    /// A kv v2 read renders as bao renders it, in both formats.
    #[test]
    fn kv2_read_renders_like_bao() {
        let s = Secret::from_map(&obj(json!({
            "request_id": "r", "lease_id": "", "lease_duration": 0, "renewable": false,
            "data": {"data": {"a": "b", "c": "d"}, "metadata": {"created_time": "t", "custom_metadata": null, "deletion_time": "", "destroyed": false, "version": 1}},
            "wrap_info": null, "warnings": null, "auth": null, "mount_type": "kv"
        })));
        let (out, _) = render("table", |ui| {
            output_secret(ui, &s);
        });
        assert_eq!(
            out,
            "Key         Value\n---         -----\ndata        map[a:b c:d]\nmetadata    map[created_time:t custom_metadata:<nil> deletion_time: destroyed:false version:1]\n"
        );
        let (out, _) = render("json", |ui| {
            output_secret(ui, &s);
        });
        assert_eq!(
            out,
            "{\n  \"request_id\": \"r\",\n  \"lease_id\": \"\",\n  \"lease_duration\": 0,\n  \"renewable\": false,\n  \"data\": {\n    \"data\": {\n      \"a\": \"b\",\n      \"c\": \"d\"\n    },\n    \"metadata\": {\n      \"created_time\": \"t\",\n      \"custom_metadata\": null,\n      \"deletion_time\": \"\",\n      \"destroyed\": false,\n      \"version\": 1\n    }\n  },\n  \"warnings\": null\n}\n"
        );
    }

    /// Token responses show bao's token rows; warnings go to stderr.
    #[test]
    fn auth_and_warnings_render_like_bao() {
        let s = Secret::from_map(&obj(json!({
            "warnings": ["be careful"],
            "auth": {"client_token": "s.x", "accessor": "acc", "policies": ["default"], "token_policies": ["default"], "identity_policies": null, "metadata": {"a": "b"}, "lease_duration": 3600, "renewable": true}
        })));
        let (out, err) = render("table", |ui| {
            output_secret(ui, &s);
        });
        assert_eq!(
            out,
            "Key                  Value\n---                  -----\ntoken                s.x\ntoken_accessor       acc\ntoken_duration       1h\ntoken_renewable      true\ntoken_policies       [\"default\"]\nidentity_policies    []\npolicies             [\"default\"]\ntoken_meta_a         b\n"
        );
        assert_eq!(err, "WARNING! The following warnings were returned from OpenBao:\n\n  * be careful\n\n");
    }

    /// A sealed status renders progress and nonce ("n/a" when empty) and no cluster rows.
    #[test]
    fn sealed_status_table() {
        let st = SealStatus::new(obj(json!({
            "type": "shamir", "initialized": true, "sealed": true, "t": 2, "n": 3, "progress": 0,
            "nonce": "", "version": "2.7.2", "commit_date": "2026-10-26T20:32:27Z", "migration": false,
            "recovery_seal": false, "storage_type": "inmem"
        })));
        assert_eq!(
            st.table(),
            "Key                Value\n---                -----\nSeal Type          shamir\nInitialized        true\nSealed             true\nTotal Shares       3\nThreshold          2\nUnseal Progress    0/2\nUnseal Nonce       n/a\nVersion            2.7.2\nCommit Date        2026-10-26T20:32:27Z\nStorage Type       inmem\nHA Enabled         false"
        );
        assert_eq!(
            go_json_pretty(&st.json()),
            "{\n  \"type\": \"shamir\",\n  \"initialized\": true,\n  \"sealed\": true,\n  \"t\": 2,\n  \"n\": 3,\n  \"progress\": 0,\n  \"nonce\": \"\",\n  \"version\": \"2.7.2\",\n  \"commit_date\": \"2026-10-26T20:32:27Z\",\n  \"migration\": false,\n  \"recovery_seal\": false,\n  \"storage_type\": \"inmem\",\n  \"build_date\": \"\",\n  \"ha_enabled\": false\n}"
        );
    }

    /// `-field` picks data fields, prints `%v`, and reports missing ones.
    #[test]
    fn raw_fields() {
        let s = Secret::from_map(&obj(json!({"data": {"data": {"a": "b"}, "n": null}})));
        let (out, _) = render("table", |ui| {
            print_raw_field(ui, &s, "data");
        });
        assert_eq!(out, "map[a:b]");
        let (out, _) = render("json", |ui| {
            print_raw_field(ui, &s, "data");
        });
        assert_eq!(out, "{\n  \"a\": \"b\"\n}");
        let (_, err) = render("table", |ui| {
            assert_eq!(print_raw_field(ui, &s, "n"), 1);
        });
        assert_eq!(err, "Field \"n\" not present in secret\n");
    }

    /// Key status renders bao's three rows and its JSON.
    #[test]
    fn key_status_renders() {
        let body = obj(json!({"term": 1, "install_time": "2026-11-28T03:00:45.089614679Z", "encryptions": 34}));
        let (out, _) = render("table", |ui| key_status_output(ui, &body, ""));
        assert_eq!(out, "Key Term            1\nInstall Time        28 Nov 26 03:00 UTC\nEncryption Count    34\n");
        let (out, _) = render("json", |ui| key_status_output(ui, &body, ""));
        assert_eq!(
            out,
            "{\n  \"term\": 1,\n  \"install_time\": \"2026-11-28T03:00:45.089614679Z\",\n  \"encryptions\": 34\n}\n"
        );
    }
}
