//! The on-disk layout: one RocksDB database, four column families (see README.md).
use crate::error::{Error, Result};
use rocksdb::{BlockBasedOptions, ColumnFamily, ColumnFamilyDescriptor, Options, WriteOptions, DB};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::Path;

/// Raft log entries: key = log index as 8 bytes big-endian, value = bincode `Entry`.
pub(crate) const CF_LOGS: &str = "logs";
/// Raft's own state: vote, committed log id, last purged log id, node identity, format marker.
pub(crate) const CF_RAFT: &str = "raft";
/// The state machine's data: key = the storage key's UTF-8 bytes, value = the stored bytes.
pub(crate) const CF_KV: &str = "kv";
/// The state machine's metadata: last applied log id, membership, last snapshot meta.
pub(crate) const CF_SM: &str = "sm";

pub(crate) const ALL_CFS: [&str; 4] = [CF_LOGS, CF_RAFT, CF_KV, CF_SM];

/// Keys in [`CF_RAFT`].
pub(crate) mod raft_key {
    pub const FORMAT: &[u8] = b"format";
    pub const NODE: &[u8] = b"node";
    pub const VOTE: &[u8] = b"vote";
    pub const COMMITTED: &[u8] = b"committed";
    pub const LAST_PURGED: &[u8] = b"last_purged";
}

/// Keys in [`CF_SM`].
pub(crate) mod sm_key {
    pub const LAST_APPLIED: &[u8] = b"last_applied";
    pub const MEMBERSHIP: &[u8] = b"membership";
    pub const SNAPSHOT_META: &[u8] = b"snapshot_meta";
}

/// Value of `raft/format`. Bump it (and write a migration) when the layout changes.
pub(crate) const FORMAT_VERSION: &[u8] = b"coffer-raft/1";

fn options(create: bool) -> Options {
    let mut o = Options::default();
    o.create_if_missing(create);
    o.create_missing_column_families(create);
    // RocksDB's own info log lives in the data directory; keep it small.
    o.set_keep_log_file_num(4);
    o.set_max_log_file_size(4 << 20);
    // Bound the write-ahead log so restarts replay little; RocksDB flushes memtables to keep it so.
    o.set_max_total_wal_size(64 << 20);
    o
}

/// The state machine's data is read by key on every request, often for keys that do not exist
/// (a new KV secret's metadata): whole-key Bloom filters in the memtable and in the table files
/// answer most misses without searching the skip list or reading a block. Reads only; the
/// files stay readable by any RocksDB build.
fn kv_options() -> Options {
    let mut o = Options::default();
    o.set_memtable_whole_key_filtering(true);
    o.set_memtable_prefix_bloom_ratio(0.02);
    let mut table = BlockBasedOptions::default();
    table.set_bloom_filter(10.0, false);
    table.set_whole_key_filtering(true);
    o.set_block_based_table_factory(&table);
    o
}

fn descriptors() -> Vec<ColumnFamilyDescriptor> {
    ALL_CFS
        .iter()
        .map(|n| ColumnFamilyDescriptor::new(*n, if *n == CF_KV { kv_options() } else { Options::default() }))
        .collect()
}

/// Opens for read and write, taking RocksDB's lock on the directory.
pub(crate) fn open(path: &Path, create: bool) -> std::result::Result<DB, rocksdb::Error> {
    DB::open_cf_descriptors(&options(create), path, descriptors())
}

/// Opens without the lock and without writing (operator tools; works while a node runs).
pub(crate) fn open_read_only(path: &Path) -> std::result::Result<DB, rocksdb::Error> {
    DB::open_cf_for_read_only(&options(false), path, ALL_CFS, false)
}

pub(crate) fn cf<'a>(db: &'a DB, name: &str) -> Result<&'a ColumnFamily> {
    db.cf_handle(name).ok_or_else(|| Error::Corrupt(format!("column family {name:?} is missing")))
}

pub(crate) fn sync_write() -> WriteOptions {
    let mut w = WriteOptions::default();
    w.set_sync(true);
    w
}

pub(crate) fn index_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

pub(crate) fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    Ok(bincode::serialize(v)?)
}

pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    Ok(bincode::deserialize(bytes)?)
}

/// Reads and decodes one value, `None` if absent.
pub(crate) fn get<T: DeserializeOwned>(db: &DB, cf_name: &str, key: &[u8]) -> Result<Option<T>> {
    match db.get_pinned_cf(cf(db, cf_name)?, key)? {
        Some(v) => Ok(Some(decode(&v)?)),
        None => Ok(None),
    }
}

/// Checks (or, for a new directory, writes) the format marker.
pub(crate) fn check_format(db: &DB) -> Result<()> {
    let raft = cf(db, CF_RAFT)?;
    match db.get_pinned_cf(raft, raft_key::FORMAT)? {
        Some(v) if v.as_ref() == FORMAT_VERSION => Ok(()),
        Some(v) => Err(Error::Corrupt(format!(
            "unsupported raft data format {:?} (this build reads {:?})",
            String::from_utf8_lossy(&v),
            String::from_utf8_lossy(FORMAT_VERSION)
        ))),
        None => {
            db.put_cf_opt(raft, raft_key::FORMAT, FORMAT_VERSION, &sync_write())?;
            Ok(())
        }
    }
}
