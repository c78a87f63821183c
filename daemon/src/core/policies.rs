//! ACL policies: stored behind the barrier at `sys/policy/<name>`, compiled once when written
//! or first loaded, and combined into cached ACLs per set of policy names.
use super::error::{CoreError, Result};
use coffer_policy::{Acl, Policy, PolicyError};
use coffer_storage::barrier::Barrier;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

const PREFIX: &str = "sys/policy/";

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
            self.barrier.put(&format!("{PREFIX}default"), coffer_policy::default_policy_text().as_bytes()).await?;
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
        let Some(raw) = self.barrier.get(&format!("{PREFIX}{name}")).await? else {
            return Ok(None);
        };
        let text = String::from_utf8(raw).map_err(|_| CoreError::Internal(format!("policy {name:?} is not UTF-8")))?;
        let p = Arc::new(
            Policy::parse(&name, &text).map_err(|e| CoreError::Internal(format!("stored policy {name:?}: {e}")))?,
        );
        self.compiled.write().unwrap_or_else(|e| e.into_inner()).insert(name, p.clone());
        Ok(Some(p))
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
        self.barrier.put(&format!("{PREFIX}{name}"), text.as_bytes()).await?;
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
            return Ok(Arc::new(Acl::root()));
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
