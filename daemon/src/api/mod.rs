//! The HTTP API: the only module that speaks HTTP. It turns hyper requests into core requests,
//! answers the endpoints that work while sealed, and turns results into OpenBao's JSON shapes.
pub mod error;
pub mod listener;
pub mod tls;

use crate::core::seal::InitRequest;
use crate::core::{ClientRequest, Core, CoreError, Reply};
use bytes::Bytes;
use coffer_logical::Operation;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Method, StatusCode};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Duration;

pub type HttpResponse = hyper::Response<Full<Bytes>>;

/// Per-listener request limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `None`: no limit.
    pub max_request_size: Option<u64>,
    pub max_request_duration: Duration,
}

pub struct Api {
    pub core: Arc<Core>,
}

impl Api {
    pub async fn serve(
        &self,
        req: hyper::Request<Incoming>,
        limits: Limits,
        peer: Option<std::net::IpAddr>,
    ) -> HttpResponse {
        let work = self.route(req, limits, peer);
        match tokio::time::timeout(limits.max_request_duration, work).await {
            Ok(resp) => resp,
            Err(_) => error_response(StatusCode::SERVICE_UNAVAILABLE, vec!["context deadline exceeded".into()]),
        }
    }

    async fn route(
        &self,
        req: hyper::Request<Incoming>,
        limits: Limits,
        peer: Option<std::net::IpAddr>,
    ) -> HttpResponse {
        let raw_path = req.uri().path().to_string();
        let Some(rel) = raw_path.strip_prefix("/v1/") else {
            return error_response(StatusCode::NOT_FOUND, vec![]);
        };
        let path = match percent_decode(rel) {
            Some(p) => p,
            None => return error_response(StatusCode::BAD_REQUEST, vec!["invalid percent-encoding in path".into()]),
        };
        let query = parse_query(req.uri().query().unwrap_or(""));
        let method = req.method().clone();
        let token = client_token(req.headers());
        let wrap_ttl = match wrap_ttl(req.headers()) {
            Ok(t) => t,
            Err(resp) => return resp,
        };
        let body = match read_body(req.into_body(), limits.max_request_size).await {
            Ok(b) => b,
            Err(resp) => return resp,
        };

        // Endpoints served outside the logical router: they work while sealed.
        match path.as_str() {
            "sys/health" => return self.health(&method, &query).await,
            "sys/init" => return self.init(&method, &body).await,
            "sys/seal-status" => {
                return match method {
                    Method::GET => self.seal_status().await,
                    _ => error_response(StatusCode::METHOD_NOT_ALLOWED, vec![]),
                }
            }
            "sys/unseal" => return self.unseal(&method, &body).await,
            "sys/leader" => {
                return match method {
                    Method::GET => result_json(self.core.leader().await),
                    _ => error_response(StatusCode::METHOD_NOT_ALLOWED, vec![]),
                }
            }
            _ => {}
        }

        let list_param = query.iter().any(|(k, v)| k == "list" && (v == "true" || v == "1"));
        let operation = match method.as_str() {
            "GET" if list_param => Operation::List,
            "GET" => Operation::Read,
            "LIST" => Operation::List,
            "POST" | "PUT" => Operation::Update,
            "DELETE" => Operation::Delete,
            "PATCH" => Operation::Patch,
            _ => return error_response(StatusCode::METHOD_NOT_ALLOWED, vec![]),
        };
        if self.core.is_sealed() {
            return core_error(&CoreError::Sealed);
        }
        let data = match parse_object(&body) {
            Ok(d) => d,
            Err(resp) => return resp,
        };
        let request = ClientRequest {
            id: request_id(),
            operation,
            path,
            data,
            query,
            client_token: token,
            wrap_ttl,
            remote_addr: peer,
        };
        let id = request.id.clone();
        match self.core.handle(request).await {
            Ok(reply) => reply_response(&id, &reply),
            Err(e) => core_error(&e),
        }
    }

    async fn health(&self, method: &Method, query: &[(String, String)]) -> HttpResponse {
        let head = match *method {
            Method::GET => false,
            Method::HEAD => true,
            _ => return error_response(StatusCode::METHOD_NOT_ALLOWED, vec![]),
        };
        let h = match self.core.health().await {
            Ok(h) => h,
            Err(e) => return core_error(&e),
        };
        let q = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let code = |name: &str, default: u16| q(name).and_then(|v| v.parse::<u16>().ok()).unwrap_or(default);
        let standbyok = q("standbyok").map(|v| v == "true" || v == "1" || v.is_empty()).unwrap_or(false);
        let status = if !h.initialized {
            code("uninitcode", 501)
        } else if h.sealed {
            code("sealedcode", 503)
        } else if h.standby {
            if standbyok {
                code("activecode", 200)
            } else {
                code("standbycode", 429)
            }
        } else {
            code("activecode", 200)
        };
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
        if head {
            let mut r = hyper::Response::new(Full::new(Bytes::new()));
            *r.status_mut() = status;
            add_headers(&mut r);
            return r;
        }
        json_response(status, &Value::Object(h.body()))
    }

    async fn init(&self, method: &Method, body: &Bytes) -> HttpResponse {
        match *method {
            Method::GET => match self.core.is_initialized().await {
                Ok(i) => json_response(StatusCode::OK, &json!({ "initialized": i })),
                Err(e) => core_error(&e),
            },
            Method::PUT | Method::POST => {
                let data = match parse_object(body) {
                    Ok(d) => d,
                    Err(resp) => return resp,
                };
                let req = match InitRequest::from_body(&data) {
                    Ok(r) => r,
                    Err(e) => return core_error(&e),
                };
                match self.core.initialize(req).await {
                    Ok(result) => json_response(StatusCode::OK, &result.to_json()),
                    Err(e) => core_error(&e),
                }
            }
            _ => error_response(StatusCode::METHOD_NOT_ALLOWED, vec![]),
        }
    }

    async fn seal_status(&self) -> HttpResponse {
        result_json(self.core.seal_status().await)
    }

    async fn unseal(&self, method: &Method, body: &Bytes) -> HttpResponse {
        if !matches!(*method, Method::PUT | Method::POST) {
            return error_response(StatusCode::METHOD_NOT_ALLOWED, vec![]);
        }
        let data = match parse_object(body) {
            Ok(d) => d,
            Err(resp) => return resp,
        };
        let reset = matches!(data.get("reset"), Some(Value::Bool(true)));
        let key = data.get("key").and_then(Value::as_str).filter(|k| !k.is_empty());
        if let Err(e) = self.core.submit_unseal_key(key, reset).await {
            return core_error(&e);
        }
        self.seal_status().await
    }
}

/// A random (version 4) UUID for the request, from the thread-local CSPRNG: `Uuid::new_v4`
/// asks the kernel (a `getrandom` syscall) for every request.
fn request_id() -> String {
    uuid::Builder::from_random_bytes(rand::random::<[u8; 16]>()).into_uuid().to_string()
}

fn client_token(headers: &hyper::HeaderMap) -> Option<String> {
    if let Some(t) = headers.get("x-vault-token").and_then(|v| v.to_str().ok()) {
        return Some(t.trim().to_string());
    }
    let auth = headers.get(hyper::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = auth.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim().to_string())
}

#[allow(clippy::result_large_err)] // an early answer on a cold path; boxing buys nothing
async fn read_body(body: Incoming, limit: Option<u64>) -> Result<Bytes, HttpResponse> {
    let collected = match limit {
        Some(max) => Limited::new(body, usize::try_from(max).unwrap_or(usize::MAX)).collect().await.map_err(|e| {
            if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                error_response(StatusCode::PAYLOAD_TOO_LARGE, vec!["http: request body too large".into()])
            } else {
                error_response(StatusCode::BAD_REQUEST, vec![format!("failed to read request body: {e}")])
            }
        })?,
        None => body
            .collect()
            .await
            .map_err(|e| error_response(StatusCode::BAD_REQUEST, vec![format!("failed to read request body: {e}")]))?,
    };
    Ok(collected.to_bytes())
}

/// A JSON object body; an empty body is an empty object.
#[allow(clippy::result_large_err)] // an early answer on a cold path; boxing buys nothing
fn parse_object(body: &Bytes) -> Result<Map<String, Value>, HttpResponse> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        // Go decodes `null` into an empty map without complaint; clients send it.
        Ok(Value::Null) => Ok(Map::new()),
        Ok(other) => Err(error_response(
            StatusCode::BAD_REQUEST,
            vec![format!(
                "failed to decode JSON input: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                json_kind(&other)
            )],
        )),
        Err(e) => Err(error_response(StatusCode::BAD_REQUEST, vec![format!("failed to decode JSON input: {e}")])),
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

fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((percent_decode(&k.replace('+', " "))?, percent_decode(&v.replace('+', " "))?))
        })
        .collect()
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let v = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
            out.push(v);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn add_headers(r: &mut HttpResponse) {
    let h = r.headers_mut();
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(hyper::header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
}

pub fn json_response(status: StatusCode, body: &Value) -> HttpResponse {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut r = hyper::Response::new(Full::new(Bytes::from(bytes)));
    *r.status_mut() = status;
    add_headers(&mut r);
    r
}

pub fn error_response(status: StatusCode, errors: Vec<String>) -> HttpResponse {
    json_response(status, &json!({ "errors": errors }))
}

fn core_error(e: &CoreError) -> HttpResponse {
    if matches!(e, CoreError::Internal(_) | CoreError::Integrity(_)) {
        tracing::error!(error = %e, "request failed");
    }
    error_response(error::status_of(e), error::messages_of(e))
}

fn result_json(r: Result<Map<String, Value>, CoreError>) -> HttpResponse {
    match r {
        Ok(m) => json_response(StatusCode::OK, &Value::Object(m)),
        Err(e) => core_error(&e),
    }
}

fn reply_response(request_id: &str, reply: &Reply) -> HttpResponse {
    if reply.is_empty() {
        let mut r = hyper::Response::new(Full::new(Bytes::new()));
        // An empty reply is 204, unless the handler named another status (an empty 404).
        *r.status_mut() = reply.status.and_then(|s| StatusCode::from_u16(s).ok()).unwrap_or(StatusCode::NO_CONTENT);
        add_headers(&mut r);
        return r;
    }
    let id = if reply.wrap_info.is_some() { "" } else { request_id };
    let status = reply.status.and_then(|s| StatusCode::from_u16(s).ok()).unwrap_or(StatusCode::OK);
    json_response(status, &reply.body(id))
}

/// `X-Vault-Wrap-TTL`: seconds or a duration string.
#[allow(clippy::result_large_err)] // an early answer on a cold path; boxing buys nothing
fn wrap_ttl(headers: &hyper::HeaderMap) -> Result<Option<Duration>, HttpResponse> {
    let Some(v) = headers.get("x-vault-wrap-ttl") else { return Ok(None) };
    let text = v.to_str().unwrap_or("").trim();
    if text.is_empty() {
        return Ok(None);
    }
    coffer_logical::params::parse_duration(text).map(Some).map_err(|e| {
        error_response(StatusCode::BAD_REQUEST, vec![format!("error parsing X-Vault-Wrap-TTL header: {e}")])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_rejects_bad_escapes() {
        assert_eq!(percent_decode("a%2Fb").as_deref(), Some("a/b"));
        assert_eq!(percent_decode("a%zz"), None);
        assert_eq!(percent_decode("a%2"), None);
    }

    #[test]
    fn query_pairs_decode() {
        assert_eq!(
            parse_query("list=true&x=a%20b&flag"),
            vec![("list".into(), "true".into()), ("x".into(), "a b".into()), ("flag".into(), "".into())]
        );
    }

    #[test]
    fn bodies_must_be_objects() {
        assert!(parse_object(&Bytes::from_static(b"")).is_ok());
        assert!(parse_object(&Bytes::from_static(b"{\"a\":1}")).is_ok());
        assert!(parse_object(&Bytes::from_static(b"\"str\"")).is_err());
        assert!(parse_object(&Bytes::from_static(b"{bad")).is_err());
    }

    #[test]
    fn request_ids_are_distinct_v4_uuids() {
        let a = request_id();
        let b = request_id();
        assert_ne!(a, b);
        for id in [&a, &b] {
            let u = uuid::Uuid::parse_str(id).expect("uuid");
            assert_eq!(u.get_version(), Some(uuid::Version::Random));
            assert_eq!(u.get_variant(), uuid::Variant::RFC4122);
        }
    }

    #[test]
    fn bearer_tokens_are_accepted() {
        let mut h = hyper::HeaderMap::new();
        h.insert(hyper::header::AUTHORIZATION, HeaderValue::from_static("Bearer s.abc"));
        assert_eq!(client_token(&h).as_deref(), Some("s.abc"));
        h.insert("x-vault-token", HeaderValue::from_static("s.def"));
        assert_eq!(client_token(&h).as_deref(), Some("s.def"));
    }
}
