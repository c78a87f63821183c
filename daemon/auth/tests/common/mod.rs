//! Test harness: a backend over an unsealed in-memory barrier, and requests shaped as the core
//! sends them (existence check deciding create versus update).
#![allow(dead_code)]

use coffer_hardening::secret::Key256;
use coffer_logical::{LogicalBackend, LogicalError, Operation, Request, Response, View};
use coffer_storage::inmem::InmemBackend;
use coffer_storage::{Backend, Barrier};
use serde_json::{Map, Value};
use std::net::IpAddr;
use std::sync::Arc;

pub struct Harness {
    pub backend: Arc<dyn LogicalBackend>,
    pub view: View,
    pub physical: Arc<InmemBackend>,
    pub remote: Option<IpAddr>,
}

pub async fn harness(backend: Arc<dyn LogicalBackend>) -> Harness {
    let physical = Arc::new(InmemBackend::new());
    let barrier = Arc::new(Barrier::new(physical.clone()));
    let key = Key256::generate();
    barrier.initialize(&key).await.expect("initialize");
    barrier.unseal(&key).await.expect("unseal");
    let view = View::new(barrier, "logical/test/");
    backend.initialize(&view).await.expect("backend initialize");
    Harness { backend, view, physical, remote: Some([127, 0, 0, 1].into()) }
}

pub fn body(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

impl Harness {
    pub fn request(&self, op: Operation, path: &str, data: Value) -> Request {
        let mut r = Request::new(op, path);
        r.data = body(data);
        r.remote_addr = self.remote;
        r.mount.path = format!("auth/{}/", self.backend.kind());
        r.mount.kind = self.backend.kind().to_string();
        r
    }

    pub async fn send(&self, req: Request) -> Result<Response, LogicalError> {
        self.backend.handle(&req, &self.view).await
    }

    /// A POST/PUT: create if the backend's existence check says the target is absent.
    pub async fn write(&self, path: &str, data: Value) -> Result<Response, LogicalError> {
        let mut req = self.request(Operation::Update, path, data);
        if self.backend.exists(&req, &self.view).await? == Some(false) {
            req.operation = Operation::Create;
        }
        self.send(req).await
    }

    pub async fn write_from(&self, ip: &str, path: &str, data: Value) -> Result<Response, LogicalError> {
        let mut req = self.request(Operation::Update, path, data);
        req.remote_addr = Some(ip.parse().expect("ip"));
        self.send(req).await
    }

    pub async fn read(&self, path: &str) -> Result<Response, LogicalError> {
        self.send(self.request(Operation::Read, path, Value::Null)).await
    }

    pub async fn list(&self, path: &str) -> Result<Response, LogicalError> {
        self.send(self.request(Operation::List, path, Value::Null)).await
    }

    pub async fn delete(&self, path: &str, data: Value) -> Result<Response, LogicalError> {
        self.send(self.request(Operation::Delete, path, data)).await
    }

    /// Every key stored in the mount's view, with its plaintext (as the barrier decrypts it).
    pub async fn dump(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let mut pending = vec![String::new()];
        while let Some(prefix) = pending.pop() {
            for child in self.view.list(&prefix).await.expect("list") {
                let full = format!("{prefix}{child}");
                if full.ends_with('/') {
                    pending.push(full);
                } else {
                    let value = self.view.get(&full).await.expect("get").unwrap_or_default();
                    out.push((full, value));
                }
            }
        }
        out.sort();
        out
    }

    /// Whether `needle` appears anywhere in the mount's plaintext records or in the physical
    /// backend's raw bytes.
    pub async fn stored_anywhere(&self, needle: &str) -> bool {
        let n = needle.as_bytes();
        let has = |hay: &[u8]| hay.windows(n.len()).any(|w| w == n);
        if self.dump().await.iter().any(|(k, v)| has(k.as_bytes()) || has(v)) {
            return true;
        }
        let mut pending = vec![String::new()];
        while let Some(prefix) = pending.pop() {
            for child in self.physical.list(&prefix).await.expect("physical list") {
                let full = format!("{prefix}{child}");
                if full.ends_with('/') {
                    pending.push(full);
                } else if let Some(v) = self.physical.get(&full).await.expect("physical get") {
                    if has(&v) || has(full.as_bytes()) {
                        return true;
                    }
                }
            }
        }
        false
    }
}

pub fn data(resp: &Response) -> Value {
    Value::Object(resp.data.clone().unwrap_or_default())
}

pub fn err_text(r: Result<Response, LogicalError>) -> String {
    match r {
        Ok(_) => "<ok>".into(),
        Err(e) => format!("{e:?}"),
    }
}
