//! Behaviour tests: each drives a [`KvBackend`] over a real barrier on in-memory storage, with a
//! clock that tests can move forward, and states the OpenBao behaviour it checks.
#![allow(clippy::unwrap_used)]

mod fixtures;
mod v1;
mod v2_config;
mod v2_data;
mod v2_metadata;
mod v2_versions;

use crate::{system_clock, KvBackend, Reply};
use coffer_hardening::secret::Key256;
use coffer_logical::{LogicalBackend, LogicalError, Operation, Request, Response, View};
use coffer_storage::{inmem::InmemBackend, Barrier};
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

pub use Operation::{Create, Delete, List, Patch, Read, Update};

pub struct Kv {
    pub kv: KvBackend,
    pub view: View,
    offset: Arc<AtomicI64>,
}

/// A fresh mount of the given KV version over an initialized, unsealed in-memory barrier.
pub async fn mount(version: u8) -> Kv {
    let barrier = Arc::new(Barrier::new(Arc::new(InmemBackend::new())));
    let key = Key256::generate();
    barrier.initialize(&key).await.unwrap();
    barrier.unseal(&key).await.unwrap();
    let view = View::new(barrier, "logical/test/");
    let offset = Arc::new(AtomicI64::new(0));
    let clock_offset = offset.clone();
    let kv = KvBackend::with_clock(version, Arc::new(move || system_clock() + clock_offset.load(Ordering::SeqCst)));
    Kv { kv, view, offset }
}

pub fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        Value::Null => Map::new(),
        other => panic!("not an object: {other}"),
    }
}

/// A request with a JSON body (an object) and a query string.
pub fn request(op: Operation, path: &str, body: Value, query: &[(&str, &str)]) -> Request {
    let mut req = Request::new(op, path);
    req.data = obj(body);
    req.query = query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    req
}

impl Kv {
    /// Moves this mount's clock forward.
    pub fn advance_secs(&self, secs: i64) {
        self.offset.fetch_add(secs * 1_000_000_000, Ordering::SeqCst);
    }

    pub async fn send(&self, req: &Request) -> Result<Reply, LogicalError> {
        self.kv.handle_reply(req, &self.view).await
    }

    pub async fn call(&self, op: Operation, path: &str, body: Value) -> Result<Reply, LogicalError> {
        self.send(&request(op, path, body, &[])).await
    }

    pub async fn call_q(&self, op: Operation, path: &str, query: &[(&str, &str)]) -> Result<Reply, LogicalError> {
        self.send(&request(op, path, Value::Null, query)).await
    }

    /// The response of a request that must succeed.
    pub async fn ok(&self, op: Operation, path: &str, body: Value) -> Response {
        expect_ok(self.call(op, path, body).await, op, path)
    }

    pub async fn ok_q(&self, op: Operation, path: &str, query: &[(&str, &str)]) -> Response {
        expect_ok(self.call_q(op, path, query).await, op, path)
    }

    /// The `data` of a request that must succeed (`null` when it has none).
    pub async fn data(&self, op: Operation, path: &str, body: Value) -> Value {
        self.ok(op, path, body).await.data.map(Value::Object).unwrap_or(Value::Null)
    }

    /// The message of a request that must fail with a 400.
    pub async fn bad(&self, op: Operation, path: &str, body: Value) -> String {
        bad_request(self.call(op, path, body).await)
    }

    pub async fn bad_q(&self, op: Operation, path: &str, query: &[(&str, &str)]) -> String {
        bad_request(self.call_q(op, path, query).await)
    }

    /// Writes `data` at `data/<path>` and returns the new version's description.
    pub async fn put(&self, path: &str, data: Value) -> Value {
        self.data(Create, &format!("data/{path}"), serde_json::json!({ "data": data })).await
    }

    pub async fn metadata(&self, path: &str) -> Value {
        self.data(Read, &format!("metadata/{path}"), Value::Null).await
    }

    pub async fn exists(&self, op: Operation, path: &str) -> Option<bool> {
        self.kv.exists(&Request::new(op, path), &self.view).await.unwrap()
    }
}

pub fn expect_ok(r: Result<Reply, LogicalError>, op: Operation, path: &str) -> Response {
    match r {
        Ok(Reply::Ok(resp)) => resp,
        other => panic!("{op:?} {path}: expected success, got {other:?}"),
    }
}

pub fn bad_request(r: Result<Reply, LogicalError>) -> String {
    match r {
        Err(LogicalError::InvalidRequest(msg)) => msg,
        other => panic!("expected a 400, got {other:?}"),
    }
}

/// The body of a 404 that carries one.
pub fn not_found_body(r: Result<Reply, LogicalError>) -> Response {
    match r {
        Ok(Reply::NotFoundWith(resp)) => resp,
        other => panic!("expected a 404 with a body, got {other:?}"),
    }
}

pub fn is_plain_not_found(r: &Result<Reply, LogicalError>) -> bool {
    matches!(r, Ok(Reply::NotFound))
}

/// Go's RFC3339Nano in UTC: seconds, then an optional fraction without trailing zeros.
pub fn is_go_time(s: &str) -> bool {
    let b = s.as_bytes();
    let shape_ok = b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && s.ends_with('Z');
    if !shape_ok {
        return false;
    }
    let rest = &s[19..s.len() - 1];
    rest.is_empty()
        || (rest.starts_with('.')
            && rest.len() <= 10
            && rest.len() >= 2
            && rest[1..].bytes().all(|c| c.is_ascii_digit())
            && !rest.ends_with('0'))
}
