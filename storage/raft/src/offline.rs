//! Offline access to a closed data directory's state machine, for operators and tamper tests.
//!
//! `get` and `keys` open the database read-only (no lock, nothing written; they also work on a
//! running node's directory and see what it has written so far). `put` opens it for writing,
//! so it fails while a node holds the directory, and writes the state machine directly with an
//! fsync, bypassing Raft: the value is what a node reads after it next opens the directory.
use crate::error::open_failed;
use crate::{db, kv};
use coffer_storage::physical::check_key;
use coffer_storage::StorageError;
use std::path::Path;

fn missing(dir: &Path) -> Result<(), StorageError> {
    if dir.join("CURRENT").is_file() {
        Ok(())
    } else {
        Err(StorageError::Backend(format!("{} is not a raft data directory", dir.display())))
    }
}

/// The bytes stored under `key`.
pub fn get(dir: &Path, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
    check_key(key)?;
    missing(dir)?;
    let db = db::open_read_only(dir).map_err(|e| open_failed(dir, e))?;
    Ok(kv::get(&db, key)?)
}

/// Stores `value` under `key`, outside Raft. The directory must not be open elsewhere.
pub fn put(dir: &Path, key: &str, value: &[u8]) -> Result<(), StorageError> {
    check_key(key)?;
    missing(dir)?;
    let db = db::open(dir, false).map_err(|e| open_failed(dir, e))?;
    let kv = db::cf(&db, db::CF_KV)?;
    db.put_cf_opt(kv, key.as_bytes(), value, &db::sync_write()).map_err(crate::error::Error::from)?;
    Ok(())
}

/// Every key in the state machine, in order.
pub fn keys(dir: &Path) -> Result<Vec<String>, StorageError> {
    missing(dir)?;
    let db = db::open_read_only(dir).map_err(|e| open_failed(dir, e))?;
    Ok(kv::keys(&db)?)
}
