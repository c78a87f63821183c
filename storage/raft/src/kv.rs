//! Reads of the state machine's data ([`crate::db::CF_KV`]), shared by the live node and the
//! offline tools.
use crate::db::{cf, CF_KV};
use crate::error::{Error, Result};
use rocksdb::DB;

pub(crate) fn get(db: &DB, key: &str) -> Result<Option<Vec<u8>>> {
    Ok(db.get_pinned_cf(cf(db, CF_KV)?, key.as_bytes())?.map(|v| v.to_vec()))
}

fn utf8(key: &[u8]) -> Result<&str> {
    std::str::from_utf8(key).map_err(|_| Error::Corrupt("a stored key is not UTF-8".into()))
}

/// The immediate children of `prefix` (see the `Backend::list_page` contract).
///
/// Walks the keys from `prefix` (or from `prefix + after`, which no later name can precede) and,
/// on meeting a folder, seeks past everything inside it: one iterator step per returned name,
/// however deep the tree below is. The collected keys go through `physical::children`.
pub(crate) fn list_page(db: &DB, prefix: &str, after: Option<&str>, limit: Option<usize>) -> Result<Vec<String>> {
    let mut it = db.raw_iterator_cf(cf(db, CF_KV)?);
    let start = match after {
        Some(a) => format!("{prefix}{a}"),
        None => prefix.to_string(),
    };
    it.seek(start.as_bytes());
    let mut keys: Vec<String> = Vec::new();
    let mut names = 0usize;
    while it.valid() {
        let Some(raw) = it.key() else { break };
        let key = utf8(raw)?;
        let Some(rest) = key.strip_prefix(prefix) else { break };
        let folder = rest.find('/').map(|i| &rest[..i]);
        let name_len = folder.map(|f| f.len() + 1).unwrap_or(rest.len());
        let counts = !rest.is_empty() && after.map(|a| &rest[..name_len] > a).unwrap_or(true);
        keys.push(key.to_string());
        if counts {
            names += 1;
            if limit.map(|l| names >= l).unwrap_or(false) {
                break;
            }
        }
        match folder {
            // '0' is the byte after '/': the first key past this folder.
            Some(f) => it.seek(format!("{prefix}{f}0").as_bytes()),
            None => it.next(),
        }
    }
    it.status()?;
    Ok(coffer_storage::physical::children(keys.iter().map(String::as_str), prefix, after, limit))
}

pub(crate) fn keys(db: &DB) -> Result<Vec<String>> {
    let mut it = db.raw_iterator_cf(cf(db, CF_KV)?);
    it.seek_to_first();
    let mut out = Vec::new();
    while it.valid() {
        let Some(raw) = it.key() else { break };
        out.push(utf8(raw)?.to_string());
        it.next();
    }
    it.status()?;
    Ok(out)
}
