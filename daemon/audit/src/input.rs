//! What the core knows about a request and its response, in the shape OpenBao's audit entries
//! need — independent of the core's own types. One `AuditInput` serves both the request entry
//! and the response entry of a request, as OpenBao's `logical.LogInput` does.
//!
//! Secrets (tokens) are [`SecretString`]s; request and response data are JSON values that may hold
//! secrets, so the types that carry them print only their request id, operation and path in
//! `Debug`.

use std::collections::BTreeMap;

use coffer_hardening::secret::SecretString;
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// Everything one request contributes to its audit entries.
#[derive(Default)]
pub struct AuditInput {
    /// The token that made the request (`auth` of both entries). `None` writes OpenBao's
    /// `{"token_type":"default"}`.
    pub auth: Option<AuthInfo>,
    pub request: RequestInfo,
    /// The response (only for `log_response`; `None` there writes an empty response).
    pub response: Option<ResponseInfo>,
    /// The error the request failed with (`error`), as OpenBao's `OuterErr.Error()` text.
    pub error: Option<String>,
    /// Keys of request data whose string values stay clear (`audit_non_hmac_request_keys`).
    pub non_hmac_request_keys: Vec<String>,
    /// Keys of response data whose string values stay clear (`audit_non_hmac_response_keys`).
    pub non_hmac_response_keys: Vec<String>,
}

impl std::fmt::Debug for AuditInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditInput")
            .field("request", &self.request)
            .field("has_response", &self.response.is_some())
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

/// A token's identity (OpenBao's `logical.Auth` as far as the audit log shows it). Used for the
/// requesting token (`auth`) and for a token a response creates (`response.auth`).
#[derive(Default, Debug)]
pub struct AuthInfo {
    /// HMAC'd unless `log_raw`.
    pub client_token: Option<SecretString>,
    /// HMAC'd when `hmac_accessor` (the default) and not `log_raw`.
    pub accessor: String,
    pub display_name: String,
    pub policies: Vec<String>,
    pub token_policies: Vec<String>,
    pub identity_policies: Vec<String>,
    pub external_namespace_policies: BTreeMap<String, Vec<String>>,
    pub no_default_policy: bool,
    /// The ACL decision; written in the entry's `auth`, never in `response.auth`.
    pub policy_results: Option<PolicyResults>,
    pub metadata: BTreeMap<String, String>,
    /// Written only in `response.auth` (a token created with a use limit).
    pub num_uses: i64,
    /// Uses left on the requesting token; written only in the entry's `auth`.
    pub remaining_uses: i64,
    pub entity_id: String,
    /// Written only in the `auth` of response entries.
    pub entity_created: bool,
    /// "service", "batch", … An empty string is written as OpenBao's zero value, "default".
    pub token_type: String,
    /// The token's TTL in whole seconds.
    pub token_ttl: i64,
    /// Written as RFC 3339 at second precision.
    pub token_issue_time: Option<OffsetDateTime>,
}

/// `policy_results` of an entry's `auth`.
#[derive(Default, Debug, Clone)]
pub struct PolicyResults {
    pub allowed: bool,
    pub granting_policies: Vec<PolicyInfo>,
}

/// One granting policy.
#[derive(Default, Debug, Clone)]
pub struct PolicyInfo {
    pub name: String,
    pub namespace_id: String,
    pub namespace_path: String,
    /// "acl", … (always written, even empty, as OpenBao does).
    pub policy_type: String,
}

/// The request half (OpenBao's `AuditRequest`).
pub struct RequestInfo {
    pub id: String,
    pub client_id: String,
    /// "create", "read", "update", "delete", "list", "patch", …
    pub operation: String,
    pub mount_point: String,
    pub mount_type: String,
    pub mount_accessor: String,
    /// Written as `mount_running_version` in `request` and `mount_running_plugin_version` in
    /// `response`, as OpenBao does (e.g. "v2.7.2+builtin.bao").
    pub mount_running_version: String,
    pub mount_running_sha256: String,
    /// "secret", "auth", …
    pub mount_class: String,
    pub mount_is_external_plugin: bool,
    /// HMAC'd unless `log_raw`.
    pub client_token: Option<SecretString>,
    /// HMAC'd when `hmac_accessor` and not `log_raw`.
    pub client_token_accessor: String,
    /// "root" unless namespaces are in use.
    pub namespace_id: String,
    pub namespace_path: String,
    pub path: String,
    /// Request body; every string in it is HMAC'd unless `log_raw`.
    pub data: Option<Map<String, Value>>,
    pub policy_override: bool,
    pub remote_address: String,
    pub remote_port: u16,
    /// Requested response-wrapping TTL in seconds (0 = none).
    pub wrap_ttl: i64,
    /// Request headers the operator chose to audit (`sys/config/auditing/request-headers`),
    /// names lower-case.
    pub headers: BTreeMap<String, Vec<String>>,
    /// Names (lower-case) among `headers` configured with `hmac=true`: their values are HMAC'd
    /// with each device's salt, even with `log_raw`, as OpenBao does.
    pub hmac_headers: Vec<String>,
    pub client_certificate_serial_number: String,
    /// Address of the standby that forwarded the request (`forwarded_from` / `forwarded`).
    pub forwarded_from: String,
}

impl Default for RequestInfo {
    fn default() -> Self {
        RequestInfo {
            id: String::new(),
            client_id: String::new(),
            operation: String::new(),
            mount_point: String::new(),
            mount_type: String::new(),
            mount_accessor: String::new(),
            mount_running_version: String::new(),
            mount_running_sha256: String::new(),
            mount_class: String::new(),
            mount_is_external_plugin: false,
            client_token: None,
            client_token_accessor: String::new(),
            namespace_id: "root".to_string(),
            namespace_path: String::new(),
            path: String::new(),
            data: None,
            policy_override: false,
            remote_address: String::new(),
            remote_port: 0,
            wrap_ttl: 0,
            headers: BTreeMap::new(),
            hmac_headers: Vec::new(),
            client_certificate_serial_number: String::new(),
            forwarded_from: String::new(),
        }
    }
}

impl std::fmt::Debug for RequestInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestInfo")
            .field("id", &self.id)
            .field("operation", &self.operation)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The response half (OpenBao's `AuditResponse`; the mount fields come from the request).
#[derive(Default)]
pub struct ResponseInfo {
    /// A token the response created (login, token create).
    pub auth: Option<AuthInfo>,
    /// The lease of a secret the response carries (`secret.lease_id`).
    pub secret: Option<SecretInfo>,
    /// Response data; every string in it is HMAC'd unless `log_raw`. For an error response the
    /// core passes `{"error": "<message>"}` as OpenBao does.
    pub data: Option<Map<String, Value>>,
    pub warnings: Vec<String>,
    pub redirect: String,
    pub wrap_info: Option<WrapInfo>,
    pub headers: BTreeMap<String, Vec<String>>,
    /// Where `data` holds timestamps that OpenBao keeps as Go `time.Time` values: its HMAC walk
    /// skips those, so they appear clear in its log while other strings are HMAC'd. JSON
    /// Pointers (`*` matches any key or index), e.g. for KV v2: a write `/created_time`, a read
    /// `/metadata/created_time` (but not `deletion_time`, which is a string in OpenBao and is
    /// HMAC'd), a metadata read `/created_time`, `/updated_time`, `/versions/*/created_time`.
    pub time_paths: Vec<String>,
}

impl std::fmt::Debug for ResponseInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseInfo")
            .field("has_auth", &self.auth.is_some())
            .field("has_data", &self.data.is_some())
            .finish_non_exhaustive()
    }
}

/// `response.secret`.
#[derive(Default, Debug, Clone)]
pub struct SecretInfo {
    pub lease_id: String,
}

/// `response.wrap_info` of a wrapped response.
#[derive(Debug)]
pub struct WrapInfo {
    pub ttl: i64,
    /// Always HMAC'd unless `log_raw`.
    pub token: SecretString,
    /// HMAC'd when `hmac_accessor` (even when empty, as OpenBao does).
    pub accessor: String,
    pub creation_time: OffsetDateTime,
    pub creation_path: String,
    /// Accessor of a wrapped token (token-creating responses), HMAC'd when `hmac_accessor`.
    pub wrapped_accessor: String,
}
