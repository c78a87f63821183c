//! A barrier view: the barrier's operations confined under a prefix. Each mount gets one, so
//! an engine cannot name a path outside its own storage.
use super::{Barrier, BarrierOp};
use crate::error::{Result, StorageError};
use std::sync::Arc;

#[derive(Clone)]
pub struct View {
    barrier: Arc<Barrier>,
    prefix: String,
}

impl std::fmt::Debug for View {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("View").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

/// Refuses `.` and `..` segments (a flat key space has no parent directory, but backends and
/// readers may think otherwise).
fn check_segments(path: &str) -> Result<()> {
    if path.split('/').any(|seg| seg == "." || seg == "..") {
        return Err(StorageError::InvalidInput(format!(
            "invalid path {path:?}: \".\" and \"..\" segments are not allowed"
        )));
    }
    Ok(())
}

impl View {
    /// A view of every path under `prefix` (normally ending in `/`, e.g. `logical/<uuid>/`).
    pub fn new(barrier: Arc<Barrier>, prefix: impl Into<String>) -> Self {
        View { barrier, prefix: prefix.into() }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn barrier(&self) -> &Arc<Barrier> {
        &self.barrier
    }

    /// A narrower view under `sub` (relative to this view's prefix).
    pub fn sub_view(&self, sub: &str) -> Result<View> {
        check_segments(sub)?;
        Ok(View { barrier: self.barrier.clone(), prefix: format!("{}{sub}", self.prefix) })
    }

    /// The physical path of a key relative to this view.
    fn key(&self, key: &str) -> Result<String> {
        if key.is_empty() {
            return Err(StorageError::InvalidInput("storage key must not be empty".into()));
        }
        check_segments(key)?;
        Ok(format!("{}{key}", self.prefix))
    }

    fn list_prefix(&self, prefix: &str) -> Result<String> {
        check_segments(prefix)?;
        Ok(format!("{}{prefix}", self.prefix))
    }

    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.barrier.get(&self.key(key)?).await
    }

    pub async fn put(&self, key: &str, value: &[u8]) -> Result<()> {
        self.barrier.put(&self.key(key)?, value).await
    }

    pub async fn delete(&self, key: &str) -> Result<()> {
        self.barrier.delete(&self.key(key)?).await
    }

    /// Immediate children of `prefix` (relative to the view; `""` is the view's root).
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        self.barrier.list(&self.list_prefix(prefix)?).await
    }

    pub async fn list_page(&self, prefix: &str, after: Option<&str>, limit: Option<usize>) -> Result<Vec<String>> {
        self.barrier.list_page(&self.list_prefix(prefix)?, after, limit).await
    }

    /// An atomic transaction with paths relative to the view.
    pub async fn transaction(&self, ops: Vec<BarrierOp>) -> Result<()> {
        let mut full = Vec::with_capacity(ops.len());
        for op in ops {
            full.push(match op {
                BarrierOp::Put { path, value } => BarrierOp::Put { path: self.key(&path)?, value },
                BarrierOp::Delete { path } => BarrierOp::Delete { path: self.key(&path)? },
            });
        }
        self.barrier.transaction(full).await
    }
}
