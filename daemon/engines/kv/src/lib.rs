//! The KV secrets engine, versions 1 and 2, behaving as OpenBao 2.7.2's `kv` plugin.
//!
//! A mount is v1 or v2 from the start ([`KvBackend::new`], or [`KvBackend::from_version_option`]
//! with the mount's `version` option); there is no upgrade path.
//!
//! **KV v1** stores each secret as one JSON object at its path in the view. A read answers with
//! `lease_duration` equal to the secret's `ttl` (or `lease`) field, else the mount's default
//! lease TTL, but with no lease: OpenBao's kv v1 is not lease-generating. The duration is put in
//! [`Response::top_level`] as `"lease_duration"`, which the core must let override its default 0,
//! and the core must not create a lease for it.
//!
//! **KV v2** keeps, in the mount's view:
//!
//! | key                               | value                                                      |
//! |-----------------------------------|------------------------------------------------------------|
//! | `config`                          | the mount settings, JSON                                   |
//! | `metadata/<path>`                 | the secret's metadata, JSON, with its map of versions      |
//! | `versions/<sha256(path) hex>/<n>` | version `n`'s data: the JSON value as written              |
//!
//! Metadata keys keep the secret's path, so LIST and scan are a storage list of
//! `metadata/<prefix>`; version data is addressed by a digest of the path (fixed-length keys,
//! whatever the path holds). Every change that touches both metadata and version data (write,
//! patch, pruning beyond `max_versions`, destroy, metadata delete) is one view transaction, so a
//! crash never leaves metadata naming data that is gone, or data no metadata names. Timestamps
//! are kept as Unix nanoseconds and shown as Go's RFC 3339 with nanoseconds.
//!
//! What coffer-logical cannot express yet, and how this crate copes:
//! - OpenBao answers some requests with a 404 that has a body (a deleted or destroyed version's
//!   metadata; a warning for paths that are not KV v2 paths; an empty body for PATCH of a missing
//!   secret). [`KvBackend::handle_reply`] returns those as [`Reply::NotFoundWith`];
//!   [`LogicalBackend::handle`] turns every 404 into [`LogicalError::NotFound`].
//! - OpenBao's `scan` operation (`GET ...?scan=true`, a recursive list) has no [`Operation`]:
//!   a Read or List whose query has `scan=true` is taken as a scan.
#![forbid(unsafe_code)]

mod go;
mod input;
mod merge;
mod v1;
mod v2;

#[cfg(test)]
mod tests;

use async_trait::async_trait;
use coffer_logical::{LogicalBackend, LogicalError, Operation, Request, Response, Result, View};
use std::sync::Arc;
use tokio::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// What OpenBao answers, including the 404s with a body that [`LogicalError`] cannot carry.
#[derive(Debug)]
pub enum Reply {
    /// 200 with this body, or 204 when the response is empty.
    Ok(Response),
    /// 404 with `{"errors":[]}`: nothing at this path.
    NotFound,
    /// 404 with this response as the body; an empty response is a 404 with no body at all.
    NotFoundWith(Response),
}

/// Where "now" comes from (Unix nanoseconds); replaceable in tests.
pub(crate) type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

fn system_clock() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(now.as_nanos()).unwrap_or(i64::MAX)
}

/// Number of striped locks serializing writers of the same secret.
const LOCK_STRIPES: usize = 256;

pub struct KvBackend {
    version: u8,
    /// Writers of one secret take its stripe exclusively; readers that read metadata and then
    /// version data share it, so a version cannot vanish between the two reads.
    locks: Vec<RwLock<()>>,
    /// Writers of the mount's `config`.
    config_lock: Mutex<()>,
    clock: Clock,
}

impl std::fmt::Debug for KvBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvBackend").field("version", &self.version).finish_non_exhaustive()
    }
}

impl KvBackend {
    /// A KV engine of `version` 2, or of version 1 for any other value (use
    /// [`KvBackend::from_version_option`] to refuse unknown versions as OpenBao does).
    pub fn new(version: u8) -> Self {
        Self::with_clock(version, Arc::new(system_clock))
    }

    /// From the mount's `version` option as OpenBao reads it: absent, `""` or `"1"` is v1, `"2"`
    /// is v2, anything else is refused with OpenBao's mount error.
    pub fn from_version_option(version: Option<&str>) -> Result<Self> {
        match version {
            None | Some("") | Some("1") => Ok(Self::new(1)),
            Some("2") => Ok(Self::new(2)),
            Some(_) => Err(LogicalError::InvalidRequest("nil backend of type \"kv\" returned from factory".into())),
        }
    }

    pub(crate) fn with_clock(version: u8, clock: Clock) -> Self {
        KvBackend {
            version: if version == 2 { 2 } else { 1 },
            locks: (0..LOCK_STRIPES).map(|_| RwLock::new(())).collect(),
            config_lock: Mutex::new(()),
            clock,
        }
    }

    /// 1 or 2.
    pub fn version(&self) -> u8 {
        self.version
    }

    pub(crate) fn now(&self) -> i64 {
        (self.clock)()
    }

    fn stripe(&self, path: &str) -> &RwLock<()> {
        // FNV-1a: stable, and good enough to spread paths over the stripes.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in path.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        &self.locks[(h % LOCK_STRIPES as u64) as usize]
    }

    /// Held by every change to the secret at `path`.
    pub(crate) async fn lock(&self, path: &str) -> RwLockWriteGuard<'_, ()> {
        self.stripe(path).write().await
    }

    /// Held by reads that need the metadata and a version's data to agree.
    pub(crate) async fn read_lock(&self, path: &str) -> RwLockReadGuard<'_, ()> {
        self.stripe(path).read().await
    }

    pub(crate) async fn lock_config(&self) -> MutexGuard<'_, ()> {
        self.config_lock.lock().await
    }

    /// Handles a request with OpenBao's full answer, 404 bodies included.
    pub async fn handle_reply(&self, req: &Request, storage: &View) -> Result<Reply> {
        let op = effective_operation(req);
        let writes = matches!(op, Op::Basic(Operation::Create | Operation::Update | Operation::Patch));
        if writes && (req.path.is_empty() || req.path.ends_with('/')) {
            // The request path (mount included) ends in '/': OpenBao refuses every write there.
            return Err(LogicalError::InvalidRequest("cannot write to a path ending in '/'".into()));
        }
        if self.version == 2 {
            v2::handle(self, req, op, storage).await
        } else {
            v1::handle(req, op, storage).await
        }
    }
}

/// The operation as OpenBao's router sees it: a scan when the query says `scan=true`; a List
/// when a Read's query says `list=true` (normally the core has already done this).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Basic(Operation),
    Scan,
}

pub(crate) fn query_flag(req: &Request, name: &str) -> bool {
    req.query.iter().any(|(k, v)| k == name && go::parse_bool(v).unwrap_or(false))
}

fn effective_operation(req: &Request) -> Op {
    match req.operation {
        Operation::Read | Operation::List if query_flag(req, "scan") => Op::Scan,
        Operation::Read if query_flag(req, "list") => Op::Basic(Operation::List),
        op => Op::Basic(op),
    }
}

#[async_trait]
impl LogicalBackend for KvBackend {
    fn kind(&self) -> &'static str {
        "kv"
    }

    async fn handle(&self, req: &Request, storage: &View) -> Result<Response> {
        match self.handle_reply(req, storage).await? {
            Reply::Ok(resp) => Ok(resp),
            Reply::NotFound | Reply::NotFoundWith(_) => Err(LogicalError::NotFound),
        }
    }

    /// v1: whether a secret is stored at the path. v2: for `data/` and `metadata/` paths,
    /// whether the secret's metadata exists; other paths have no existence check.
    async fn exists(&self, req: &Request, storage: &View) -> Result<Option<bool>> {
        if self.version == 2 {
            v2::exists(req, storage).await
        } else {
            v1::exists(req, storage).await
        }
    }
}
