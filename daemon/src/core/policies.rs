//! ACL policies: stored behind the barrier at `sys/policy/<name>`, compiled once when written
//! or first loaded, and combined into cached ACLs per set of policy names.
use super::error::{CoreError, Result};
use coffer_policy::{Acl, Policy, PolicyError};
use coffer_storage::barrier::Barrier;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

const PREFIX: &str = "sys/policy/";

/// What is stored per policy: its text and OpenBao's bookkeeping.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PolicyRecord {
    pub policy: String,
    pub version: u64,
    /// RFC 3339.
    pub modified: String,
}

impl PolicyRecord {
    /// The fields `sys/policies/acl/:name` reads back (`text_key` "policy", or "rules" for the
    /// legacy `sys/policy/:name`).
    pub fn json(&self, name: &str, text_key: &str) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::json;
        coffer_logical::obj([
            ("allow_slashes_in_identity_templates", json!(false)),
            ("allow_wildcards_in_identity_templates", json!(false)),
            ("cas_required", json!(false)),
            ("modified", json!(self.modified)),
            ("name", json!(name)),
            (text_key, json!(self.policy)),
            ("version", json!(self.version)),
        ])
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

pub struct PolicyStore {
    barrier: Arc<Barrier>,
    compiled: RwLock<HashMap<String, Arc<Policy>>>,
    /// ACLs by their sorted, comma-joined policy names.
    acls: RwLock<HashMap<String, Arc<Acl>>>,
}

fn policy_error(e: PolicyError) -> CoreError {
    CoreError::InvalidRequest(e.to_string())
}

pub fn normalize_name(name: &str) -> String {
    name.trim().to_lowercase()
}

impl PolicyStore {
    pub fn new(barrier: Arc<Barrier>) -> Self {
        PolicyStore { barrier, compiled: RwLock::new(HashMap::new()), acls: RwLock::new(HashMap::new()) }
    }

    /// After unseal: makes sure the built-in `default` policy exists.
    pub async fn load(&self) -> Result<()> {
        if self.barrier.get(&format!("{PREFIX}default")).await?.is_none() {
            self.store(
                "default",
                &PolicyRecord {
                    policy: coffer_policy::default_policy_text().into(),
                    version: 1,
                    modified: now_rfc3339(),
                },
            )
            .await?;
        }
        Ok(())
    }

    pub fn unload(&self) {
        self.compiled.write().unwrap_or_else(|e| e.into_inner()).clear();
        self.acls.write().unwrap_or_else(|e| e.into_inner()).clear();
    }

    fn invalidate(&self, name: &str) {
        self.compiled.write().unwrap_or_else(|e| e.into_inner()).remove(name);
        self.acls.write().unwrap_or_else(|e| e.into_inner()).clear();
    }

    pub async fn get(&self, name: &str) -> Result<Option<Arc<Policy>>> {
        let name = normalize_name(name);
        if name == "root" {
            return Ok(None);
        }
        if let Some(p) = self.compiled.read().unwrap_or_else(|e| e.into_inner()).get(&name) {
            return Ok(Some(p.clone()));
        }
        let Some(record) = self.record(&name).await? else {
            return Ok(None);
        };
        let p = Arc::new(
            Policy::parse(&name, &record.policy)
                .map_err(|e| CoreError::Internal(format!("stored policy {name:?}: {e}")))?,
        );
        self.compiled.write().unwrap_or_else(|e| e.into_inner()).insert(name, p.clone());
        Ok(Some(p))
    }

    /// The stored record of a policy (not `root`).
    pub async fn record(&self, name: &str) -> Result<Option<PolicyRecord>> {
        let name = normalize_name(name);
        let Some(raw) = self.barrier.get(&format!("{PREFIX}{name}")).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&raw)
            .map(Some)
            .map_err(|e| CoreError::Internal(format!("corrupt policy record {name:?}: {e}")))
    }

    async fn store(&self, name: &str, record: &PolicyRecord) -> Result<()> {
        let raw = serde_json::to_vec(record).map_err(|e| CoreError::Internal(e.to_string()))?;
        self.barrier.put(&format!("{PREFIX}{name}"), &raw).await?;
        Ok(())
    }

    pub async fn put(&self, name: &str, text: &str) -> Result<()> {
        let name = normalize_name(name);
        if name.is_empty() {
            return Err(CoreError::InvalidRequest("policy name must be provided".into()));
        }
        coffer_policy::check_writable(&name).map_err(policy_error)?;
        if name.contains('/') || name.split('/').any(|s| s == "..") {
            return Err(CoreError::InvalidRequest(format!("invalid policy name {name:?}")));
        }
        let compiled = Policy::parse(&name, text).map_err(policy_error)?;
        let version = self.record(&name).await?.map(|r| r.version + 1).unwrap_or(1);
        self.store(&name, &PolicyRecord { policy: text.to_string(), version, modified: now_rfc3339() }).await?;
        self.invalidate(&name);
        self.compiled.write().unwrap_or_else(|e| e.into_inner()).insert(name, Arc::new(compiled));
        Ok(())
    }

    pub async fn delete(&self, name: &str) -> Result<()> {
        let name = normalize_name(name);
        coffer_policy::check_deletable(&name).map_err(policy_error)?;
        self.barrier.delete(&format!("{PREFIX}{name}")).await?;
        self.invalidate(&name);
        Ok(())
    }

    pub async fn list(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> =
            self.barrier.list(PREFIX).await?.into_iter().filter(|n| !n.ends_with('/')).collect();
        names.push("root".into());
        names.sort();
        Ok(names)
    }

    /// The ACL for a token's policies (cached; unknown names are skipped as in OpenBao).
    pub async fn acl(&self, policies: &[String]) -> Result<Arc<Acl>> {
        if policies.iter().any(|p| p == "root") {
            static ROOT: std::sync::OnceLock<Arc<Acl>> = std::sync::OnceLock::new();
            return Ok(ROOT.get_or_init(|| Arc::new(Acl::root())).clone());
        }
        let mut names: Vec<&str> = policies.iter().map(String::as_str).collect();
        names.sort_unstable();
        names.dedup();
        let key = names.join(",");
        if let Some(a) = self.acls.read().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(a.clone());
        }
        let mut compiled = Vec::with_capacity(names.len());
        for n in &names {
            if let Some(p) = self.get(n).await? {
                compiled.push(p);
            }
        }
        let acl = Arc::new(Acl::new(&compiled));
        self.acls.write().unwrap_or_else(|e| e.into_inner()).insert(key, acl.clone());
        Ok(acl)
    }
}
