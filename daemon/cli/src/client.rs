//! The HTTP client: bao's request shape (`X-Vault-Token`, `X-Vault-Request: true`, LIST as
//! `GET ?list=true`) and its response handling (404 bodies that still carry data, the
//! `errors` array of failures).

use std::io::Read;
use std::time::Duration;

use coffer_hardening::secret::SecretString;
use serde_json::{Map, Value};

use crate::error::{ApiError, Error};
use crate::tls::{self, TlsOptions};

/// The most of a response body the client reads.
const MAX_BODY: u64 = 64 * 1024 * 1024;

/// Everything needed to build a client (its `Debug` never shows the token).
#[derive(Debug, Default)]
pub(crate) struct ClientOptions {
    pub address: String,
    pub tls: TlsOptions,
    pub token: Option<SecretString>,
    pub namespace: Option<String>,
    pub headers: Vec<(String, String)>,
    pub wrap_ttl: Option<String>,
}

/// A server address split the way Go's `url.Parse` splits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Address {
    scheme: String,
    host: String,
    path: String,
}

impl Address {
    /// Parses an address; the error is Go's `url.Parse` wording.
    pub(crate) fn parse(raw: &str) -> Result<Address, String> {
        let scheme_end = raw.find(':').filter(|&i| {
            let s = &raw[..i];
            let mut chars = s.chars();
            matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.')
        });
        let (scheme, rest) = match scheme_end {
            Some(i) => (raw[..i].to_ascii_lowercase(), &raw[i + 1..]),
            None => {
                let first_segment = raw.split('/').next().unwrap_or("");
                if first_segment.contains(':') {
                    return Err(format!(
                        "parse {}: first path segment in URL cannot contain colon",
                        crate::flags::go_quote(raw)
                    ));
                }
                (String::new(), raw)
            }
        };
        let rest = rest.split(['?', '#']).next().unwrap_or("");
        let (host, path) = match rest.strip_prefix("//") {
            Some(authority_and_path) => match authority_and_path.find('/') {
                Some(i) => (authority_and_path[..i].to_string(), authority_and_path[i..].to_string()),
                None => (authority_and_path.to_string(), String::new()),
            },
            // An opaque URL ("host:port" parsed as scheme "host"): no host, no path.
            None if !scheme.is_empty() => (String::new(), String::new()),
            None => (String::new(), rest.to_string()),
        };
        Ok(Address { scheme, host, path })
    }

    /// The URL of an API path (`sys/health` → `<base>/v1/sys/health`) with its query.
    pub(crate) fn url(&self, api_path: &str, query: &[(String, String)]) -> String {
        let joined = path_join(&self.path, &format!("/v1/{api_path}"));
        let mut url = String::new();
        if !self.scheme.is_empty() {
            url.push_str(&self.scheme);
            url.push(':');
        }
        if !self.scheme.is_empty() || !self.host.is_empty() {
            url.push_str("//");
            url.push_str(&self.host);
        }
        url.push_str(&escape_path(&joined));
        if !query.is_empty() {
            url.push('?');
            url.push_str(&encode_query(query));
        }
        url
    }

    /// "host:port" with the scheme's default port, as Go's dialer reports it.
    fn dial_target(&self) -> String {
        if self.host.starts_with('[') || self.host.rsplit_once(':').is_some() {
            return self.host.clone();
        }
        let port = if self.scheme == "https" { 443 } else { 80 };
        format!("{}:{port}", self.host)
    }
}

/// Go's `path.Join(base, p)`: joined, then cleaned (no `.`, `..`, `//` or trailing `/`).
fn path_join(base: &str, p: &str) -> String {
    let joined = if base.is_empty() { p.to_string() } else { format!("{base}/{p}") };
    let rooted = joined.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in joined.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let body = parts.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_string(),
        (false, false) => body,
    }
}

/// Go's path escaping (`encodePath`): keeps unreserved characters and `$&+,/:;=@`.
fn escape_path(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    for b in p.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~' | b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'@');
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else if b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Go's `url.Values.Encode`: sorted by key (stable for repeated keys).
fn encode_query(query: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = query.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    sorted.iter().map(|(k, v)| format!("{}={}", query_escape(k), query_escape(v))).collect::<Vec<_>>().join("&")
}

/// An HTTP method the commands use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Put,
    Post,
    Delete,
    Patch,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Delete => "DELETE",
            Method::Patch => "PATCH",
        }
    }

    /// The name Go's `url.Error` uses ("Get", "Put", ...).
    fn go_op(self) -> &'static str {
        match self {
            Method::Get => "Get",
            Method::Put => "Put",
            Method::Post => "Post",
            Method::Delete => "Delete",
            Method::Patch => "Patch",
        }
    }
}

/// Which token a request carries.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) enum TokenChoice<'a> {
    /// The client's token.
    #[default]
    Client,
    /// No token at all.
    None,
    /// This token instead of the client's.
    Use(&'a str),
}

/// Per-request variations of bao's client (`SetWrappingLookupFunc(nil)`, `SetToken`,
/// extra headers).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Extra<'a> {
    /// Never ask for response wrapping (bao's KV preflight and login lookups).
    pub no_wrap: bool,
    pub token: TokenChoice<'a>,
    pub content_type: Option<&'a str>,
}

/// A response with any status.
#[derive(Debug)]
pub(crate) struct Response {
    pub method: Method,
    pub url: String,
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    /// bao's `Response.Error`: 2xx and 3xx succeed (and 429 from `sys/health`).
    pub(crate) fn error(&self) -> Option<ApiError> {
        let ok = (200..400).contains(&self.status) || (self.status == 429 && self.url.contains("/v1/sys/health"));
        if ok {
            return None;
        }
        let (raw, errors) = match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(m)) => {
                let errors = match m.get("errors") {
                    Some(Value::Array(items)) => items
                        .iter()
                        .map(|v| match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                (false, errors)
            }
            Ok(Value::Null) => (false, Vec::new()),
            _ => (true, vec![String::from_utf8_lossy(&self.body).into_owned()]),
        };
        Some(ApiError {
            method: self.method.as_str().to_string(),
            url: self.url.clone(),
            status: self.status,
            raw,
            errors,
        })
    }

    /// The body as a JSON object (`None` for an empty body).
    pub(crate) fn json_object(&self) -> Result<Option<Map<String, Value>>, Error> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(m)) => Ok(Some(m)),
            Ok(Value::Null) => Ok(None),
            Ok(other) => Err(Error::Decode(format!(
                "json: cannot unmarshal {} into Go value of type api.Secret",
                json_kind(&other)
            ))),
            Err(e) => Err(Error::Decode(e.to_string())),
        }
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The client.
pub(crate) struct Client {
    agent: ureq::Agent,
    address: Address,
    token: Option<SecretString>,
    namespace: Option<String>,
    headers: Vec<(String, String)>,
    wrap_ttl: Option<String>,
}

impl Client {
    /// Builds a client; errors are bao's ("failed to create client: ...").
    pub(crate) fn new(opts: &ClientOptions) -> Result<Client, String> {
        let address = Address::parse(&opts.address).map_err(|e| format!("failed to create client: {e}"))?;
        let forbidden: Vec<&str> =
            opts.headers.iter().filter(|(k, _)| k.starts_with("X-Vault-")).map(|(k, _)| k.as_str()).collect();
        if !forbidden.is_empty() {
            return Err(format!(
                "failed to setup Headers[{}]: Header starting by 'X-Vault-' are for internal usage only",
                forbidden.join(", ")
            ));
        }
        let mut builder = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("coffer-cli/", env!("CARGO_PKG_VERSION")));
        match tls::client_config(&opts.tls) {
            Ok(Some(config)) => builder = builder.tls_config(config),
            Ok(None) => {}
            Err(e) => return Err(format!("failed to setup TLS config: {e}")),
        }
        Ok(Client {
            agent: builder.build(),
            address,
            token: opts
                .token
                .as_ref()
                .filter(|t| !t.expose().is_empty())
                .map(|t| SecretString::new(t.expose().to_string())),
            namespace: opts.namespace.clone().filter(|n| !n.is_empty()),
            headers: opts.headers.clone(),
            wrap_ttl: opts.wrap_ttl.clone().filter(|w| !w.is_empty()),
        })
    }

    /// The URL a request for `path` goes to.
    pub(crate) fn url(&self, path: &str, query: &[(String, String)]) -> String {
        self.address.url(path, query)
    }

    /// The token requests carry, if any.
    pub(crate) fn token(&self) -> Option<&str> {
        self.token.as_ref().map(|t| t.expose())
    }

    /// Sends a request; any HTTP status is a `Response`, only transport failures are errors.
    pub(crate) fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&[u8]>,
    ) -> Result<Response, Error> {
        self.send_ext(method, path, query, body, Extra::default())
    }

    /// [`Client::send`] with per-request variations.
    pub(crate) fn send_ext(
        &self,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&[u8]>,
        extra: Extra<'_>,
    ) -> Result<Response, Error> {
        let url = self.url(path, query);
        if self.address.scheme != "http" && self.address.scheme != "https" {
            return Err(Error::Transport(format!(
                "{} \"{url}\": unsupported protocol scheme \"{}\"",
                method.go_op(),
                self.address.scheme
            )));
        }
        let mut req = self.agent.request(method.as_str(), &url).set("X-Vault-Request", "true");
        let token = match extra.token {
            TokenChoice::Client => self.token(),
            TokenChoice::None => None,
            TokenChoice::Use(t) => Some(t).filter(|t| !t.is_empty()),
        };
        if let Some(token) = token {
            req = req.set("X-Vault-Token", token);
        }
        if let Some(ct) = extra.content_type {
            req = req.set("Content-Type", ct);
        }
        if let Some(ns) = &self.namespace {
            req = req.set("X-Vault-Namespace", ns);
        }
        let wrap = match &self.wrap_ttl {
            _ if extra.no_wrap => None,
            Some(ttl) => Some(ttl.as_str()),
            // bao's default wrapping lookup: wrapping data always wraps, for 5 minutes.
            None if matches!(method, Method::Put | Method::Post) && path == "sys/wrapping/wrap" => Some("5m"),
            None => None,
        };
        if let Some(ttl) = wrap {
            req = req.set("X-Vault-Wrap-TTL", ttl);
        }
        for (k, v) in &self.headers {
            req = req.set(k, v);
        }
        let result = match body {
            Some(b) => req.send_bytes(b),
            None if matches!(method, Method::Put | Method::Post | Method::Patch) => req.send_bytes(&[]),
            None => req.call(),
        };
        let resp = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => {
                return Err(Error::Transport(format!("{} \"{url}\": {}", method.go_op(), self.transport_text(&t))));
            }
        };
        let status = resp.status();
        let mut body = Vec::new();
        resp.into_reader()
            .take(MAX_BODY)
            .read_to_end(&mut body)
            .map_err(|e| Error::Transport(format!("{} \"{url}\": {e}", method.go_op())))?;
        Ok(Response { method, url, status, body })
    }

    /// A transport failure in the words Go's HTTP client uses, where they are known.
    fn transport_text(&self, t: &ureq::Transport) -> String {
        let io_kind =
            std::error::Error::source(t).and_then(|s| s.downcast_ref::<std::io::Error>()).map(std::io::Error::kind);
        let target = self.address.dial_target();
        match (t.kind(), io_kind) {
            (ureq::ErrorKind::ConnectionFailed, Some(std::io::ErrorKind::ConnectionRefused)) => {
                format!("dial tcp {target}: connect: connection refused")
            }
            (ureq::ErrorKind::Dns, _) => {
                let host = target.rsplit_once(':').map_or(target.as_str(), |(h, _)| h);
                format!("dial tcp: lookup {host}: no such host")
            }
            _ => {
                let full = t.to_string();
                let text = full.strip_prefix("Connection Failed: ").unwrap_or(&full);
                let text = text.strip_prefix("tls connection init failed: ").unwrap_or(text);
                if text.contains("invalid peer certificate: UnknownIssuer") || text.contains("CaUsedAsEndEntity") {
                    "tls: failed to verify certificate: x509: certificate signed by unknown authority".to_string()
                } else if text.contains("InvalidContentType") {
                    "http: server gave HTTP response to HTTPS client".to_string()
                } else if let Some(rest) = text.strip_prefix("invalid peer certificate: ") {
                    format!("tls: failed to verify certificate: {rest}")
                } else {
                    text.to_string()
                }
            }
        }
    }

    /// bao's `Logical().Read`/`List`: a 404 yields `None` unless its body carries data or
    /// warnings; other failures are errors.
    pub(crate) fn read_secret(
        &self,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&[u8]>,
    ) -> Result<Option<Secret>, Error> {
        let resp = self.send(method, path, query, body)?;
        if resp.status == 404 {
            let secret = Secret::parse(resp.json_object()?)?;
            return Ok(secret.filter(Secret::has_data_or_warnings));
        }
        if let Some(e) = resp.error() {
            return Err(Error::Api(e));
        }
        Secret::parse(resp.json_object()?)
    }

    /// bao's `Logical().Write`/`Delete`: like a read, except that a 404 that carries data is
    /// returned alongside its error.
    pub(crate) fn write_secret(
        &self,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&[u8]>,
    ) -> Result<Option<Secret>, Box<(Error, Option<Secret>)>> {
        let resp = self.send(method, path, query, body).map_err(|e| Box::new((e, None)))?;
        Self::write_result(resp)
    }

    fn write_result(resp: Response) -> Result<Option<Secret>, Box<(Error, Option<Secret>)>> {
        if let Some(e) = resp.error() {
            if resp.status == 404 {
                if let Ok(Some(secret)) = resp.json_object().and_then(Secret::parse) {
                    if secret.has_data_or_warnings() {
                        return Err(Box::new((Error::Api(e), Some(secret))));
                    }
                }
            }
            return Err(Box::new((Error::Api(e), None)));
        }
        resp.json_object().and_then(Secret::parse).map_err(|e| Box::new((e, None)))
    }

    /// bao's `Logical().Write` with [`Extra`] variations.
    pub(crate) fn write_secret_ext(
        &self,
        method: Method,
        path: &str,
        body: Option<&[u8]>,
        extra: Extra<'_>,
    ) -> Result<Option<Secret>, Box<(Error, Option<Secret>)>> {
        let resp = self.send_ext(method, path, &[], body, extra).map_err(|e| Box::new((e, None)))?;
        Self::write_result(resp)
    }

    /// The typed `api.Sys`/`api.Auth` calls: any failure status is an error, otherwise the
    /// body is parsed as a secret (`None` for an empty body).
    pub(crate) fn request_secret(
        &self,
        method: Method,
        path: &str,
        body: Option<&[u8]>,
        extra: Extra<'_>,
    ) -> Result<Option<Secret>, Error> {
        let resp = self.send_ext(method, path, &[], body, extra)?;
        if let Some(e) = resp.error() {
            return Err(Error::Api(e));
        }
        Secret::parse(resp.json_object()?)
    }

    /// A request whose JSON object body is the whole answer (sys endpoints); errors on any
    /// failure status.
    pub(crate) fn json(&self, method: Method, path: &str, body: Option<&[u8]>) -> Result<Map<String, Value>, Error> {
        let resp = self.send(method, path, &[], body)?;
        if let Some(e) = resp.error() {
            return Err(Error::Api(e));
        }
        Ok(resp.json_object()?.unwrap_or_default())
    }
}

/// Token metadata of a response (`api.SecretAuth`).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct SecretAuth {
    pub client_token: String,
    pub accessor: String,
    pub policies: Option<Vec<String>>,
    pub token_policies: Option<Vec<String>>,
    pub identity_policies: Option<Vec<String>>,
    pub metadata: Option<Vec<(String, String)>>,
    pub orphan: bool,
    pub entity_id: String,
    pub lease_duration: i64,
    pub renewable: bool,
    pub mfa_requirement: Value,
}

/// Response-wrapping metadata (`api.SecretWrapInfo`).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct WrapInfo {
    pub token: String,
    pub accessor: String,
    pub ttl: i64,
    pub creation_time: String,
    pub creation_path: String,
    pub wrapped_accessor: String,
}

/// A logical response (`api.Secret`), decoded tolerantly.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Secret {
    pub request_id: String,
    pub lease_id: String,
    pub lease_duration: i64,
    pub renewable: bool,
    pub data: Option<Map<String, Value>>,
    pub warnings: Option<Vec<String>>,
    pub wrap_info: Option<WrapInfo>,
    pub auth: Option<SecretAuth>,
}

pub(crate) fn get_str(m: &Map<String, Value>, k: &str) -> String {
    match m.get(k) {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    }
}

pub(crate) fn get_i64(m: &Map<String, Value>, k: &str) -> i64 {
    match m.get(k) {
        Some(Value::Number(n)) => n.as_i64().unwrap_or_default(),
        _ => 0,
    }
}

pub(crate) fn get_bool(m: &Map<String, Value>, k: &str) -> bool {
    matches!(m.get(k), Some(Value::Bool(true)))
}

pub(crate) fn get_str_list(m: &Map<String, Value>, k: &str) -> Option<Vec<String>> {
    match m.get(k) {
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
        ),
        _ => None,
    }
}

impl Secret {
    /// bao's `ParseSecret`: a body with none of a secret's fields is taken whole as its
    /// data (as `sys/health` answers), unless it only carries `errors`.
    pub(crate) fn parse(body: Option<Map<String, Value>>) -> Result<Option<Secret>, Error> {
        let Some(m) = body else {
            return Ok(None);
        };
        let mut secret = Secret::from_map(&m);
        let zero = secret == Secret::default()
            && !matches!(m.get("data"), Some(Value::Object(_)))
            && !matches!(m.get("warnings"), Some(Value::Array(_)));
        if zero {
            if let Some(errors) = m.get("errors") {
                if m.len() == 1 {
                    return Ok(None);
                }
                let texts: Vec<String> = match errors {
                    Value::Array(items) => {
                        items.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)).collect()
                    }
                    other => vec![other.to_string()],
                };
                return Err(Error::Decode(texts.join(" ")));
            }
            if !m.is_empty() {
                secret.data = Some(m);
            }
        }
        Ok(Some(secret))
    }

    pub(crate) fn from_map(m: &Map<String, Value>) -> Secret {
        let wrap_info = match m.get("wrap_info") {
            Some(Value::Object(w)) => Some(WrapInfo {
                token: get_str(w, "token"),
                accessor: get_str(w, "accessor"),
                ttl: get_i64(w, "ttl"),
                creation_time: get_str(w, "creation_time"),
                creation_path: get_str(w, "creation_path"),
                wrapped_accessor: get_str(w, "wrapped_accessor"),
            }),
            _ => None,
        };
        let auth = match m.get("auth") {
            Some(Value::Object(a)) => Some(SecretAuth {
                client_token: get_str(a, "client_token"),
                accessor: get_str(a, "accessor"),
                policies: get_str_list(a, "policies"),
                token_policies: get_str_list(a, "token_policies"),
                identity_policies: get_str_list(a, "identity_policies"),
                metadata: match a.get("metadata") {
                    Some(Value::Object(md)) => {
                        let mut pairs: Vec<(String, String)> = md
                            .iter()
                            .map(|(k, v)| {
                                let v = match v {
                                    Value::String(s) => s.clone(),
                                    other => other.to_string(),
                                };
                                (k.clone(), v)
                            })
                            .collect();
                        pairs.sort();
                        Some(pairs)
                    }
                    _ => None,
                },
                orphan: get_bool(a, "orphan"),
                entity_id: get_str(a, "entity_id"),
                lease_duration: get_i64(a, "lease_duration"),
                renewable: get_bool(a, "renewable"),
                mfa_requirement: a.get("mfa_requirement").cloned().unwrap_or(Value::Null),
            }),
            _ => None,
        };
        Secret {
            request_id: get_str(m, "request_id"),
            lease_id: get_str(m, "lease_id"),
            lease_duration: get_i64(m, "lease_duration"),
            renewable: get_bool(m, "renewable"),
            data: match m.get("data") {
                Some(Value::Object(d)) => Some(d.clone()),
                _ => None,
            },
            warnings: get_str_list(m, "warnings"),
            wrap_info,
            auth,
        }
    }

    fn has_data_or_warnings(&self) -> bool {
        self.data.as_ref().is_some_and(|d| !d.is_empty()) || self.warnings.as_ref().is_some_and(|w| !w.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> Address {
        match Address::parse(s) {
            Ok(a) => a,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    /// URLs are built as Go's client builds them: prefix paths joined and cleaned, paths
    /// escaped, queries sorted and escaped.
    #[test]
    fn urls_match_go() {
        let a = addr("http://127.0.0.1:8200");
        assert_eq!(a.url("sys/health", &[]), "http://127.0.0.1:8200/v1/sys/health");
        assert_eq!(
            a.url("secret/metadata", &[("list".into(), "true".into())]),
            "http://127.0.0.1:8200/v1/secret/metadata?list=true"
        );
        assert_eq!(a.url("sys/a b!*()/x?y", &[]), "http://127.0.0.1:8200/v1/sys/a%20b%21%2A%28%29/x%3Fy");
        assert_eq!(
            a.url("sys/a+b", &[("z".into(), "é&".into()), ("a".into(), "1 2".into())]),
            "http://127.0.0.1:8200/v1/sys/a+b?a=1+2&z=%C3%A9%26"
        );
        assert_eq!(addr("HTTP://h:1/prefix/").url("secret//x/../y", &[]), "http://h:1/prefix/v1/secret/y");
        assert_eq!(addr("localhost").url("sys/seal-status", &[]), "localhost/v1/sys/seal-status");
        assert_eq!(addr("localhost:8200").url("sys/seal-status", &[]), "localhost:///v1/sys/seal-status");
        assert_eq!(
            Address::parse("127.0.0.1:8200").err(),
            Some("parse \"127.0.0.1:8200\": first path segment in URL cannot contain colon".into())
        );
        assert_eq!(addr("https://h").dial_target(), "h:443");
        assert_eq!(addr("http://h:9").dial_target(), "h:9");
    }

    fn resp(status: u16, body: &str) -> Response {
        Response { method: Method::Get, url: "http://h/v1/x".into(), status, body: body.as_bytes().to_vec() }
    }

    /// Error statuses become bao's error, JSON or raw.
    #[test]
    fn response_errors() {
        assert!(resp(200, "{}").error().is_none());
        assert!(resp(307, "").error().is_none());
        let e = resp(403, "{\"errors\":[\"permission denied\"]}").error();
        assert_eq!(e.map(|e| e.errors), Some(vec!["permission denied".to_string()]));
        let e = resp(502, "<html>").error();
        assert_eq!(e.map(|e| (e.raw, e.errors)), Some((true, vec!["<html>".to_string()])));
        let e = resp(500, "").error();
        assert_eq!(e.map(|e| e.raw), Some(true));
        let mut health = resp(429, "{}");
        health.url = "http://h/v1/sys/health".into();
        assert!(health.error().is_none());
    }

    /// Bodies that are not secrets become the data of one (sys/health); an errors-only
    /// body is no secret; errors alongside other fields are an error.
    #[test]
    fn parse_secret_like_bao() {
        let obj = |v: Value| match v {
            Value::Object(m) => Some(m),
            _ => None,
        };
        let health = Secret::parse(obj(serde_json::json!({"initialized": true, "version": "x"})));
        assert_eq!(health.ok().flatten().and_then(|s| s.data).map(|d| d.len()), Some(2));
        assert!(matches!(Secret::parse(obj(serde_json::json!({"errors": []}))), Ok(None)));
        assert_eq!(
            Secret::parse(obj(serde_json::json!({"errors": ["a", "b"], "x": 1}))).err().map(|e| e.to_string()),
            Some("a b".to_string())
        );
        let empty_data = Secret::parse(obj(serde_json::json!({"data": {}})));
        assert_eq!(empty_data.ok().flatten().and_then(|s| s.data).map(|d| d.len()), Some(0));
        assert!(matches!(Secret::parse(None), Ok(None)));
    }

    /// A secret decodes whatever shape the server sends without failing.
    #[test]
    fn secret_decoding_is_tolerant() {
        let m = match serde_json::json!({"data": "oops", "lease_duration": "x", "auth": {"metadata": {"b": "2", "a": 1}}})
        {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        let s = Secret::from_map(&m);
        assert_eq!(s.data, None);
        assert_eq!(s.lease_duration, 0);
        assert_eq!(
            s.auth.and_then(|a| a.metadata),
            Some(vec![("a".to_string(), "1".to_string()), ("b".to_string(), "2".to_string())])
        );
    }
}
