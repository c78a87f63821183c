//! OpenBao's audit entry format (`audit/format.go` of OpenBao 2.7.2): field names, nesting,
//! omission of empty fields, and which values are HMAC'd.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Number, Value};
use time::OffsetDateTime;

use crate::error::AuditError;
use crate::gojson::{self, SortedMap};
use crate::input::{AuditInput, AuthInfo, RequestInfo, ResponseInfo};
use crate::salt::Salt;

/// Options every device type shares (OpenBao's common audit options).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatOptions {
    /// `hmac_accessor` (default true): HMAC token accessors.
    pub hmac_accessor: bool,
    /// `log_raw` (default false): write tokens, accessors and data in clear.
    pub log_raw: bool,
    /// `elide_list_responses` (default false): in responses to `list`, replace `keys` (and
    /// `key_info`) with their number of entries.
    pub elide_list_responses: bool,
    /// `prefix`: written before every entry, on the same line.
    pub prefix: String,
}

impl Default for FormatOptions {
    fn default() -> Self {
        FormatOptions { hmac_accessor: true, log_raw: false, elide_list_responses: false, prefix: String::new() }
    }
}

/// Turns an [`AuditInput`] into entry lines with a device's options and salt.
pub struct EntryFormatter {
    options: FormatOptions,
    salt: Salt,
}

impl EntryFormatter {
    pub fn new(options: FormatOptions, salt: Salt) -> Self {
        EntryFormatter { options, salt }
    }

    pub fn options(&self) -> &FormatOptions {
        &self.options
    }

    pub fn salt(&self) -> &Salt {
        &self.salt
    }

    /// The request entry as OpenBao writes it: `prefix` + JSON, no newline.
    pub fn request_line(&self, input: &AuditInput, now: OffsetDateTime) -> Result<Vec<u8>, AuditError> {
        let entry = RequestEntry {
            time: gojson::rfc3339_nano_utc(now),
            kind: "request",
            auth: self.entry_auth(input, false),
            request: self.request(input),
            error: input.error.clone().unwrap_or_default(),
            forwarded_from: input.request.forwarded_from.clone(),
        };
        self.encode(&entry)
    }

    /// The response entry as OpenBao writes it: `prefix` + JSON, no newline.
    pub fn response_line(&self, input: &AuditInput, now: OffsetDateTime) -> Result<Vec<u8>, AuditError> {
        let empty = ResponseInfo::default();
        let resp = input.response.as_ref().unwrap_or(&empty);
        let entry = ResponseEntry {
            time: gojson::rfc3339_nano_utc(now),
            kind: "response",
            auth: self.entry_auth(input, true),
            request: self.request(input),
            response: self.response(input, resp),
            error: input.error.clone().unwrap_or_default(),
            forwarded: !input.request.forwarded_from.is_empty(),
        };
        self.encode(&entry)
    }

    fn encode<T: Serialize>(&self, entry: &T) -> Result<Vec<u8>, AuditError> {
        let json = gojson::to_vec(entry).map_err(|e| AuditError::Encode(e.to_string()))?;
        let mut line = Vec::with_capacity(self.options.prefix.len() + json.len());
        line.extend_from_slice(self.options.prefix.as_bytes());
        line.extend_from_slice(&json);
        Ok(line)
    }

    fn hash(&self, s: &str) -> String {
        self.salt.hmac(s)
    }

    fn token(&self, t: Option<&coffer_hardening::secret::SecretString>) -> String {
        match t {
            Some(t) if !t.expose().is_empty() => {
                if self.options.log_raw {
                    t.expose().to_string()
                } else {
                    self.hash(t.expose())
                }
            }
            _ => String::new(),
        }
    }

    fn accessor(&self, a: &str) -> String {
        if !a.is_empty() && self.options.hmac_accessor && !self.options.log_raw {
            self.hash(a)
        } else {
            a.to_string()
        }
    }

    /// The entry's `auth` (the requesting token). OpenBao writes `remaining_uses` and
    /// `policy_results` here, `entity_created` only in response entries, never `num_uses`.
    fn entry_auth(&self, input: &AuditInput, response_entry: bool) -> WireAuth {
        let default = AuthInfo::default();
        let a = input.auth.as_ref().unwrap_or(&default);
        let mut w = self.auth_common(a);
        w.remaining_uses = a.remaining_uses;
        w.entity_created = response_entry && a.entity_created;
        w.policy_results = a.policy_results.as_ref().map(|p| WirePolicyResults {
            allowed: p.allowed,
            granting_policies: p
                .granting_policies
                .iter()
                .map(|g| WirePolicyInfo {
                    name: g.name.clone(),
                    namespace_id: g.namespace_id.clone(),
                    namespace_path: g.namespace_path.clone(),
                    policy_type: g.policy_type.clone(),
                })
                .collect(),
        });
        w
    }

    fn auth_common(&self, a: &AuthInfo) -> WireAuth {
        WireAuth {
            client_token: self.token(a.client_token.as_ref()),
            accessor: self.accessor(&a.accessor),
            display_name: a.display_name.clone(),
            policies: a.policies.clone(),
            token_policies: a.token_policies.clone(),
            identity_policies: a.identity_policies.clone(),
            external_namespace_policies: a.external_namespace_policies.clone(),
            no_default_policy: a.no_default_policy,
            policy_results: None,
            metadata: a.metadata.clone(),
            num_uses: 0,
            remaining_uses: 0,
            entity_id: a.entity_id.clone(),
            entity_created: false,
            token_type: if a.token_type.is_empty() { "default".to_string() } else { a.token_type.clone() },
            token_ttl: a.token_ttl,
            token_issue_time: a.token_issue_time.map(gojson::rfc3339_seconds).unwrap_or_default(),
        }
    }

    fn request(&self, input: &AuditInput) -> WireRequest {
        let r: &RequestInfo = &input.request;
        let data = r.data.as_ref().and_then(|d| {
            let d = if self.options.log_raw {
                d.clone()
            } else {
                let walk = Walk { non_hmac: &input.non_hmac_request_keys, times: &[] };
                self.hash_map(d, &walk, &mut Vec::new())
            };
            (!d.is_empty()).then_some(d)
        });
        WireRequest {
            id: r.id.clone(),
            client_id: r.client_id.clone(),
            operation: r.operation.clone(),
            mount_point: r.mount_point.clone(),
            mount_type: r.mount_type.clone(),
            mount_accessor: r.mount_accessor.clone(),
            mount_running_version: r.mount_running_version.clone(),
            mount_running_sha256: r.mount_running_sha256.clone(),
            mount_class: r.mount_class.clone(),
            mount_is_external_plugin: r.mount_is_external_plugin,
            client_token: self.token(r.client_token.as_ref()),
            client_token_accessor: self.accessor(&r.client_token_accessor),
            namespace: WireNamespace { id: r.namespace_id.clone(), path: r.namespace_path.clone() },
            path: r.path.clone(),
            data,
            policy_override: r.policy_override,
            remote_address: r.remote_address.clone(),
            remote_port: r.remote_port,
            wrap_ttl: r.wrap_ttl,
            headers: self.headers(&r.headers, &r.hmac_headers),
            client_certificate_serial_number: r.client_certificate_serial_number.clone(),
        }
    }

    /// Audited request headers; those configured with `hmac=true` are HMAC'd even with
    /// `log_raw` (OpenBao hashes them in the broker, before formatting).
    fn headers(&self, headers: &BTreeMap<String, Vec<String>>, hmac: &[String]) -> BTreeMap<String, Vec<String>> {
        headers
            .iter()
            .map(|(k, vals)| {
                let vals = if hmac.iter().any(|h| h.eq_ignore_ascii_case(k)) {
                    vals.iter().map(|v| self.hash(v)).collect()
                } else {
                    vals.clone()
                };
                (k.clone(), vals)
            })
            .collect()
    }

    fn response(&self, input: &AuditInput, resp: &ResponseInfo) -> WireResponse {
        let r = &input.request;
        let elide = self.options.elide_list_responses && r.operation == "list";
        let data = resp.data.as_ref().and_then(|d| {
            let mut d = if self.options.log_raw {
                d.clone()
            } else {
                let times: Vec<Vec<String>> = resp.time_paths.iter().map(|p| pointer(p)).collect();
                let walk = Walk { non_hmac: &input.non_hmac_response_keys, times: &times };
                self.hash_map(d, &walk, &mut Vec::new())
            };
            if elide {
                elide_list_data(&mut d);
            }
            (!d.is_empty()).then_some(d)
        });
        let auth = resp.auth.as_ref().map(|a| {
            let mut w = self.auth_common(a);
            w.num_uses = a.num_uses;
            w
        });
        let wrap_info = resp.wrap_info.as_ref().map(|w| {
            // OpenBao hashes the wrapping token always, the accessor whenever hmac_accessor is
            // set (even when empty), the wrapped accessor when set.
            let raw = self.options.log_raw;
            let hash_acc = self.options.hmac_accessor && !raw;
            WireWrapInfo {
                ttl: w.ttl,
                token: if raw { w.token.expose().to_string() } else { self.hash(w.token.expose()) },
                accessor: if hash_acc { self.hash(&w.accessor) } else { w.accessor.clone() },
                creation_time: gojson::rfc3339_nano_utc(w.creation_time),
                creation_path: w.creation_path.clone(),
                wrapped_accessor: if hash_acc && !w.wrapped_accessor.is_empty() {
                    self.hash(&w.wrapped_accessor)
                } else {
                    w.wrapped_accessor.clone()
                },
            }
        });
        WireResponse {
            auth,
            mount_point: r.mount_point.clone(),
            mount_type: r.mount_type.clone(),
            mount_accessor: r.mount_accessor.clone(),
            mount_running_plugin_version: r.mount_running_version.clone(),
            mount_running_sha256: r.mount_running_sha256.clone(),
            mount_class: r.mount_class.clone(),
            mount_is_external_plugin: r.mount_is_external_plugin,
            secret: resp.secret.as_ref().map(|s| WireSecret { lease_id: s.lease_id.clone() }),
            data,
            warnings: resp.warnings.clone(),
            redirect: resp.redirect.clone(),
            wrap_info,
            headers: resp.headers.clone(),
        }
    }

    /// OpenBao's `HashStructure` over a JSON round-trip copy: every string value (not keys) is
    /// HMAC'd unless its nearest enclosing key is in `non_hmac` or it is a timestamp (a Go
    /// `time.Time` in OpenBao); numbers become float64.
    fn hash_map(&self, m: &Map<String, Value>, walk: &Walk<'_>, path: &mut Vec<String>) -> Map<String, Value> {
        m.iter()
            .map(|(k, v)| {
                path.push(k.clone());
                let hashed = self.hash_value(v, k, walk, path);
                path.pop();
                (k.clone(), hashed)
            })
            .collect()
    }

    fn hash_value(&self, v: &Value, key: &str, walk: &Walk<'_>, path: &mut Vec<String>) -> Value {
        match v {
            Value::String(s) => {
                if walk.non_hmac.iter().any(|k| k == key) || walk.is_time(path) {
                    Value::String(s.clone())
                } else {
                    Value::String(self.hash(s))
                }
            }
            Value::Number(n) => as_go_float(n),
            Value::Array(a) => Value::Array(
                a.iter()
                    .enumerate()
                    .map(|(i, e)| {
                        path.push(i.to_string());
                        let hashed = self.hash_value(e, key, walk, path);
                        path.pop();
                        hashed
                    })
                    .collect(),
            ),
            Value::Object(m) => Value::Object(self.hash_map(m, walk, path)),
            other => other.clone(),
        }
    }
}

/// What the HMAC walk leaves clear.
struct Walk<'a> {
    non_hmac: &'a [String],
    times: &'a [Vec<String>],
}

impl Walk<'_> {
    fn is_time(&self, path: &[String]) -> bool {
        self.times
            .iter()
            .any(|p| p.len() == path.len() && p.iter().zip(path).all(|(want, got)| want == "*" || want == got))
    }
}

/// A JSON Pointer's reference tokens (`~1` is `/`, `~0` is `~`).
fn pointer(p: &str) -> Vec<String> {
    p.strip_prefix('/').unwrap_or(p).split('/').map(|t| t.replace("~1", "/").replace("~0", "~")).collect()
}

/// Go decodes every JSON number into a float64 when OpenBao copies data before hashing.
fn as_go_float(n: &Number) -> Value {
    match n.as_f64().and_then(Number::from_f64) {
        Some(f) => Value::Number(f),
        None => Value::Number(n.clone()),
    }
}

/// OpenBao's `doElideListResponseData`: top-level `keys` (a list) and `key_info` (a map)
/// become their lengths.
fn elide_list_data(d: &mut Map<String, Value>) {
    if let Some(v) = d.get_mut("keys") {
        if let Value::Array(a) = v {
            *v = Value::from(a.len());
        }
    }
    if let Some(v) = d.get_mut("key_info") {
        if let Value::Object(m) = v {
            *v = Value::from(m.len());
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

fn is_zero_u16(n: &u16) -> bool {
    *n == 0
}

fn ser_data<S: serde::Serializer>(d: &Option<Map<String, Value>>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(m) => SortedMap(m).serialize(s),
        None => s.serialize_none(),
    }
}

// The wire structs below mirror OpenBao's Go structs field for field, in declaration order, with
// Go's `omitempty` rules.

#[derive(Serialize)]
struct RequestEntry {
    #[serde(skip_serializing_if = "String::is_empty")]
    time: String,
    #[serde(rename = "type")]
    kind: &'static str,
    auth: WireAuth,
    request: WireRequest,
    #[serde(skip_serializing_if = "String::is_empty")]
    error: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    forwarded_from: String,
}

#[derive(Serialize)]
struct ResponseEntry {
    #[serde(skip_serializing_if = "String::is_empty")]
    time: String,
    #[serde(rename = "type")]
    kind: &'static str,
    auth: WireAuth,
    request: WireRequest,
    response: WireResponse,
    #[serde(skip_serializing_if = "String::is_empty")]
    error: String,
    #[serde(skip_serializing_if = "is_false")]
    forwarded: bool,
}

#[derive(Serialize)]
struct WireAuth {
    #[serde(skip_serializing_if = "String::is_empty")]
    client_token: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    accessor: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    display_name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    policies: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    token_policies: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    identity_policies: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    external_namespace_policies: BTreeMap<String, Vec<String>>,
    #[serde(skip_serializing_if = "is_false")]
    no_default_policy: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    policy_results: Option<WirePolicyResults>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    metadata: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "is_zero")]
    num_uses: i64,
    #[serde(skip_serializing_if = "is_zero")]
    remaining_uses: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    entity_id: String,
    #[serde(skip_serializing_if = "is_false")]
    entity_created: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    token_type: String,
    #[serde(skip_serializing_if = "is_zero")]
    token_ttl: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    token_issue_time: String,
}

#[derive(Serialize)]
struct WirePolicyResults {
    allowed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    granting_policies: Vec<WirePolicyInfo>,
}

#[derive(Serialize)]
struct WirePolicyInfo {
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    namespace_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    namespace_path: String,
    #[serde(rename = "type")]
    policy_type: String,
}

#[derive(Serialize)]
struct WireNamespace {
    #[serde(skip_serializing_if = "String::is_empty")]
    id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    path: String,
}

#[derive(Serialize)]
struct WireRequest {
    #[serde(skip_serializing_if = "String::is_empty")]
    id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    client_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    operation: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    mount_point: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    mount_type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    mount_accessor: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    mount_running_version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    mount_running_sha256: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    mount_class: String,
    #[serde(skip_serializing_if = "is_false")]
    mount_is_external_plugin: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    client_token: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    client_token_accessor: String,
    namespace: WireNamespace,
    #[serde(skip_serializing_if = "String::is_empty")]
    path: String,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser_data")]
    data: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "is_false")]
    policy_override: bool,
    #[serde(skip_serializing_if = "String::is_empty", rename = "remote_address")]
    remote_address: String,
    #[serde(skip_serializing_if = "is_zero_u16")]
    remote_port: u16,
    #[serde(skip_serializing_if = "is_zero")]
    wrap_ttl: i64,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    headers: BTreeMap<String, Vec<String>>,
    #[serde(skip_serializing_if = "String::is_empty")]
    client_certificate_serial_number: String,
}

#[derive(Serialize)]
struct WireResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    auth: Option<WireAuth>,
    #[serde(skip_serializing_if = "String::is_empty")]
    mount_point: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    mount_type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    mount_accessor: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    mount_running_plugin_version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    mount_running_sha256: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    mount_class: String,
    #[serde(skip_serializing_if = "is_false")]
    mount_is_external_plugin: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<WireSecret>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser_data")]
    data: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    redirect: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    wrap_info: Option<WireWrapInfo>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    headers: BTreeMap<String, Vec<String>>,
}

#[derive(Serialize)]
struct WireSecret {
    #[serde(skip_serializing_if = "String::is_empty")]
    lease_id: String,
}

#[derive(Serialize)]
struct WireWrapInfo {
    #[serde(skip_serializing_if = "is_zero")]
    ttl: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    token: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    accessor: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    creation_time: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    creation_path: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    wrapped_accessor: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::RequestInfo;

    fn formatter(opts: FormatOptions) -> EntryFormatter {
        EntryFormatter::new(opts, Salt::new(b"test-salt".to_vec()))
    }

    fn now() -> OffsetDateTime {
        time::macros::datetime!(2026-11-28 00:55:22.944165476 UTC)
    }

    /// With no token, OpenBao writes `"auth":{"token_type":"default"}` (its enable-test line).
    #[test]
    fn test_message_shape() {
        let f = formatter(FormatOptions::default());
        let input = AuditInput {
            request: RequestInfo {
                id: "b9bf8000-cae9-fb2a-ced4-a859931148a9".into(),
                operation: "update".into(),
                path: "sys/audit/test".into(),
                ..Default::default()
            },
            ..Default::default()
        };
        let line = f.request_line(&input, now()).expect("format");
        assert_eq!(
            String::from_utf8(line).expect("utf8"),
            r#"{"time":"2026-11-28T00:55:22.944165476Z","type":"request","auth":{"token_type":"default"},"request":{"id":"b9bf8000-cae9-fb2a-ced4-a859931148a9","operation":"update","namespace":{"id":"root"},"path":"sys/audit/test"}}"#
        );
    }
}
