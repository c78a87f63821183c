//! What the API layer hands the core, and what the core hands back: no HTTP types. Backends see
//! `coffer_logical::Request`; these carry what only the core may see (the client token) and
//! what only the core produces (tokens issued, lease ids, wrapping).
use coffer_logical::{Operation, Response};
use serde_json::{Map, Value};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct ClientRequest {
    pub id: String,
    /// Read, Update (POST/PUT), Delete, List or Patch; the core decides Create vs Update.
    pub operation: Operation,
    /// The path below `/v1/`, without a leading slash.
    pub path: String,
    pub data: Map<String, Value>,
    pub query: Vec<(String, String)>,
    pub client_token: Option<String>,
    /// `X-Vault-Wrap-TTL`.
    pub wrap_ttl: Option<Duration>,
    pub remote_addr: Option<std::net::IpAddr>,
}

/// A reply in OpenBao's response envelope.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    pub response: Response,
    /// The `auth` block of a login or token creation.
    pub auth: Option<Value>,
    pub lease_id: String,
    pub lease_duration: u64,
    pub renewable: bool,
    pub wrap_info: Option<Value>,
    /// Sent as the whole body (an unwrapped response is the original body).
    pub raw: Option<Value>,
    /// A status other than 200/204 that OpenBao answers with (202 for tidy, 404 with a body
    /// for a deleted KV version).
    pub status: Option<u16>,
}

impl Reply {
    pub fn from_response(response: Response) -> Self {
        Reply { response, ..Default::default() }
    }

    pub fn is_empty(&self) -> bool {
        self.response.is_empty() && self.auth.is_none() && self.wrap_info.is_none() && self.raw.is_none()
    }

    /// The JSON body OpenBao sends for this reply.
    pub fn body(&self, request_id: &str) -> Value {
        if let Some(raw) = &self.raw {
            return raw.clone();
        }
        let mut body = self.response.top_level.clone();
        body.insert("request_id".into(), Value::String(request_id.to_string()));
        body.insert("lease_id".into(), Value::String(self.lease_id.clone()));
        body.insert("renewable".into(), Value::Bool(self.renewable));
        body.insert("lease_duration".into(), Value::from(self.lease_duration));
        let data = if self.wrap_info.is_some() { None } else { self.response.data.clone() };
        body.insert("data".into(), data.map(Value::Object).unwrap_or(Value::Null));
        body.insert("wrap_info".into(), self.wrap_info.clone().unwrap_or(Value::Null));
        body.insert(
            "warnings".into(),
            if self.response.warnings.is_empty() {
                Value::Null
            } else {
                Value::Array(self.response.warnings.iter().cloned().map(Value::String).collect())
            },
        );
        body.insert("auth".into(), self.auth.clone().unwrap_or(Value::Null));
        Value::Object(body)
    }
}
