//! A read cache in front of the state machine's data ([`crate::db::CF_KV`]).
//!
//! Every request reads a few keys (a token, a KV secret's metadata and data); a RocksDB `get`
//! searches the memtable's skip list, which costs microseconds once it holds many keys. The
//! cache answers repeated reads from a hash map.
//!
//! Consistency: the state machine is the only writer of `CF_KV`, and it writes while holding the
//! cache's lock, dropping the keys it writes and bumping `epoch`. A reader that missed records
//! `epoch`, reads RocksDB without the lock, and stores what it read only if `epoch` did not move
//! meanwhile, so a value read before a write is never stored after it.
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// The cache is emptied when it would hold more than this many entries...
const MAX_ENTRIES: usize = 16_384;
/// ...or about this many bytes of keys and values. Larger values are not cached.
const MAX_BYTES: usize = 32 << 20;
const MAX_VALUE: usize = 64 << 10;

#[derive(Default)]
struct Inner {
    /// `None`: the key is known to be absent.
    map: HashMap<String, Option<Vec<u8>>>,
    bytes: usize,
    epoch: u64,
}

#[derive(Default)]
pub(crate) struct ReadCache {
    inner: Mutex<Inner>,
}

/// What a miss needs to store its result later.
pub(crate) struct Miss(u64);

/// Proof that the caller holds the cache for a write.
pub(crate) struct WriteGuard<'a>(MutexGuard<'a, Inner>);

impl WriteGuard<'_> {
    /// Forgets `key` (call for every key the write touches).
    pub(crate) fn invalidate(&mut self, key: &str) {
        if let Some(old) = self.0.map.remove(key) {
            self.0.bytes -= key.len() + old.map(|v| v.len()).unwrap_or(0);
        }
    }

    /// Forgets everything (a snapshot replaced the data).
    pub(crate) fn clear(&mut self) {
        self.0.map.clear();
        self.0.bytes = 0;
    }
}

impl Drop for WriteGuard<'_> {
    fn drop(&mut self) {
        self.0.epoch = self.0.epoch.wrapping_add(1);
    }
}

impl ReadCache {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached value (`Ok`), or a [`Miss`] to pass to [`ReadCache::store`].
    pub(crate) fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Miss> {
        let inner = self.lock();
        match inner.map.get(key) {
            Some(v) => Ok(v.clone()),
            None => Err(Miss(inner.epoch)),
        }
    }

    /// Stores what a miss read, unless a write happened since the miss.
    pub(crate) fn store(&self, miss: Miss, key: &str, value: &Option<Vec<u8>>) {
        let size = key.len() + value.as_ref().map(|v| v.len()).unwrap_or(0);
        if value.as_ref().is_some_and(|v| v.len() > MAX_VALUE) {
            return;
        }
        let mut inner = self.lock();
        if inner.epoch != miss.0 {
            return;
        }
        if inner.map.len() >= MAX_ENTRIES || inner.bytes + size > MAX_BYTES {
            inner.map.clear();
            inner.bytes = 0;
        }
        if let Some(old) = inner.map.insert(key.to_string(), value.clone()) {
            inner.bytes -= key.len() + old.map(|v| v.len()).unwrap_or(0);
        }
        inner.bytes += size;
    }

    /// Holds the cache for a write of the data: readers wait until it is dropped.
    pub(crate) fn write(&self) -> WriteGuard<'_> {
        WriteGuard(self.lock())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value read before a write is not stored after it: the next read misses.
    #[test]
    fn a_read_overtaken_by_a_write_is_not_stored() {
        let c = ReadCache::default();
        let miss = c.get("k").expect_err("empty cache misses");
        {
            let mut w = c.write();
            w.invalidate("k");
        }
        c.store(miss, "k", &Some(b"old".to_vec()));
        assert!(c.get("k").is_err());
    }

    /// Stored values (and absences) are returned until a write drops them.
    #[test]
    fn stored_reads_hit_until_invalidated() {
        let c = ReadCache::default();
        let miss = c.get("k").expect_err("miss");
        c.store(miss, "k", &Some(b"v".to_vec()));
        let miss = c.get("gone").expect_err("miss");
        c.store(miss, "gone", &None);
        assert_eq!(c.get("k").ok(), Some(Some(b"v".to_vec())));
        assert_eq!(c.get("gone").ok(), Some(None));
        c.write().invalidate("k");
        assert!(c.get("k").is_err());
        assert_eq!(c.get("gone").ok(), Some(None));
        c.write().clear();
        assert!(c.get("gone").is_err());
    }
}
