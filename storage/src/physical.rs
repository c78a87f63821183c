//! The physical backend contract.
//!
//! Every implementation must guarantee, and `testing::conformance` checks:
//! - `put` and `transaction` return only once the data is durable: a process killed right after
//!   the call returned `Ok` still has it after restart.
//! - a read issued after a write returned sees that write (read-your-writes on one node).
//! - `transaction` applies all of its operations or none, atomically for concurrent readers.
//! - `list(prefix, ..)` returns the immediate children of `prefix` in lexicographic order: keys
//!   as their last segment, deeper keys as one `segment/` folder entry, each name once.
//!   `after` skips names up to and including it; `limit` caps how many are returned.
//! - keys are non-empty UTF-8 strings; values are opaque bytes (possibly empty).
use crate::error::Result;
use async_trait::async_trait;

/// One operation of an atomic [`Backend::transaction`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnOp {
    Put { key: String, value: Vec<u8> },
    Delete { key: String },
}

#[async_trait]
pub trait Backend: Send + Sync + 'static {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;
    async fn put(&self, key: &str, value: Vec<u8>) -> Result<()>;
    /// Deleting a missing key is not an error.
    async fn delete(&self, key: &str) -> Result<()>;
    async fn list_page(&self, prefix: &str, after: Option<&str>, limit: Option<usize>) -> Result<Vec<String>>;
    async fn transaction(&self, ops: Vec<TxnOp>) -> Result<()>;

    /// All immediate children of `prefix`.
    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        self.list_page(prefix, None, None).await
    }

    /// A short name for `storage_type` in status responses ("raft", "inmem").
    fn kind(&self) -> &'static str;
}

/// Shared helper for backends that keep keys in a sorted map: turns the keys that start with
/// `prefix` (in order) into the child names `list_page` must return.
pub fn children<'a>(
    keys_with_prefix: impl Iterator<Item = &'a str>,
    prefix: &str,
    after: Option<&str>,
    limit: Option<usize>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for key in keys_with_prefix {
        let Some(rest) = key.strip_prefix(prefix) else { continue };
        if rest.is_empty() {
            continue;
        }
        let name = match rest.find('/') {
            Some(i) => &rest[..=i],
            None => rest,
        };
        if out.last().map(|l| l == name).unwrap_or(false) {
            continue;
        }
        if let Some(a) = after {
            if name <= a {
                continue;
            }
        }
        if limit.map(|l| out.len() >= l).unwrap_or(false) {
            break;
        }
        out.push(name.to_string());
    }
    // All keys under one folder share its prefix, so they are contiguous in sorted order and
    // each folder name appears in one run: the output is sorted and unique as built.
    out
}

pub fn check_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(crate::StorageError::InvalidInput("storage key must not be empty".into()));
    }
    Ok(())
}
