//! Requests and responses as the core sees them: no HTTP types.
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    Read,
    /// A write (POST/PUT). Create-versus-update is told apart when ACL policies land.
    Update,
    Delete,
    List,
    Patch,
}

#[derive(Debug, Clone)]
pub struct Request {
    pub id: String,
    pub operation: Operation,
    /// The path below `/v1/`, without a leading slash.
    pub path: String,
    pub data: Map<String, Value>,
    /// Query parameters (GET requests carry their parameters here).
    pub query: Vec<(String, String)>,
    pub client_token: Option<String>,
}

impl Request {
    pub fn new(operation: Operation, path: impl Into<String>) -> Self {
        Request {
            id: uuid::Uuid::new_v4().to_string(),
            operation,
            path: path.into(),
            data: Map::new(),
            query: Vec::new(),
            client_token: None,
        }
    }
}

/// A logical response. `data: None` with nothing else set is sent as 204 No Content.
#[derive(Debug, Clone, Default)]
pub struct Response {
    pub data: Option<Map<String, Value>>,
    pub warnings: Vec<String>,
    /// Fields OpenBao repeats at the top level of the body for some sys endpoints.
    pub top_level: Map<String, Value>,
}

impl Response {
    pub fn no_content() -> Self {
        Response::default()
    }

    pub fn data(data: Map<String, Value>) -> Self {
        Response { data: Some(data), ..Default::default() }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_none() && self.warnings.is_empty() && self.top_level.is_empty()
    }
}

/// Builds a JSON object from pairs: `obj([("a", json!(1))])`.
pub fn obj<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}
