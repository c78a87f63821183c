//! The seal lifecycle: init, unseal, seal, and the status endpoints that work while sealed.
//!
//! Physical records written outside the barrier (the seal needs them before the barrier opens):
//! - `core/seal-config`: the seal configuration as JSON; its presence means "initialized".
//! - `core/root-key`: the root key wrapped by the seal.
//!
//! The barrier's keyring (`core/keyring`) is encrypted under the root key.
use super::error::{CoreError, Result};
use super::{Core, API_VERSION};
use coffer_hardening::secret::{Key256, SecretString};
use coffer_logical::obj;
use coffer_seal::{
    decode_share, generate_shares, share_base64, share_hex, Seal, SealConfig, ShamirSeal, UnsealProgress,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Duration;

pub const SEAL_CONFIG_PATH: &str = "core/seal-config";
pub const ROOT_KEY_PATH: &str = "core/root-key";
/// Auto-seal only: the recovery key, wrapped by the seal, and how it is split.
pub const RECOVERY_KEY_PATH: &str = "core/seal/recovery-key";
pub const RECOVERY_CONFIG_PATH: &str = "core/seal/recovery-config";
const CLUSTER_INFO_PATH: &str = "core/cluster/local/info";

/// How long an unseal waits for Raft to elect a leader and catch up after a restart.
const STORAGE_READY_TIMEOUT: Duration = Duration::from_secs(30);

/// State kept between `sys/unseal` calls.
#[derive(Default)]
pub struct Lifecycle {
    progress: Option<UnsealProgress>,
    active_since: Option<time::OffsetDateTime>,
    /// The auto-unseal provider (PKCS#11, AWS KMS) when one is configured; `None`: Shamir.
    auto_seal: Option<Arc<dyn Seal>>,
    /// Why the last auto-unseal attempt failed (shown in `sys/seal-status` until it succeeds).
    auto_unseal_error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterInfo {
    pub name: String,
    pub id: String,
}

/// What `sys/init` was asked for, checked.
pub struct InitRequest {
    pub config: SealConfig,
    /// How to split the recovery key (auto-seal only).
    pub recovery: Option<SealConfig>,
    /// Dev mode fixes the root token's value.
    pub root_token_id: Option<String>,
}

impl InitRequest {
    pub fn from_body(body: &Map<String, Value>) -> Result<Self> {
        for unsupported in ["pgp_keys", "root_token_pgp_key", "recovery_pgp_keys"] {
            if body.get(unsupported).map(|v| !v.is_null() && v != &json!([]) && v != &json!("")).unwrap_or(false) {
                return Err(CoreError::InvalidRequest(format!("{unsupported} is not supported yet by Coffer")));
            }
        }
        let shares = int_param(body, "secret_shares")?;
        let threshold = int_param(body, "secret_threshold")?;
        let recovery = match (int_param(body, "recovery_shares")?, int_param(body, "recovery_threshold")?) {
            (None | Some(0), None | Some(0)) => None,
            (s, t) => Some(SealConfig::shamir(s.unwrap_or(0), t.unwrap_or(0)).map_err(|e| {
                CoreError::InvalidRequest(
                    e.to_string().replace("invalid seal configuration", "invalid recovery configuration"),
                )
            })?),
        };
        // With an auto-seal the unseal shares are not used; OpenBao accepts their absence.
        let config = match (shares, threshold, &recovery) {
            (None | Some(0), None | Some(0), Some(_)) => SealConfig::shamir(1, 1)?,
            (s, t, _) => SealConfig::shamir(s.unwrap_or(0), t.unwrap_or(0))?,
        };
        Ok(InitRequest { config, recovery, root_token_id: None })
    }
}

fn int_param(body: &Map<String, Value>, name: &str) -> Result<Option<i64>> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            n.as_i64().map(Some).ok_or_else(|| CoreError::InvalidRequest(format!("{name} must be an integer")))
        }
        Some(Value::String(s)) => {
            s.trim().parse().map(Some).map_err(|_| CoreError::InvalidRequest(format!("{name} must be an integer")))
        }
        Some(_) => Err(CoreError::InvalidRequest(format!("{name} must be an integer"))),
    }
}

/// What `sys/init` hands back, once.
pub struct InitResult {
    pub shares: Vec<coffer_hardening::secret::SecretBytes>,
    /// Auto-seal only.
    pub recovery_shares: Option<Vec<coffer_hardening::secret::SecretBytes>>,
    pub root_token: SecretString,
}

impl InitResult {
    pub fn to_json(&self) -> Value {
        let hex: Vec<String> = self.shares.iter().map(|s| share_hex(s).expose().to_string()).collect();
        let b64: Vec<String> = self.shares.iter().map(|s| share_base64(s).expose().to_string()).collect();
        let mut out = json!({ "keys": hex, "keys_base64": b64, "root_token": self.root_token.expose() });
        if let Some(rec) = &self.recovery_shares {
            out["recovery_keys"] = json!(rec.iter().map(|s| share_hex(s).expose().to_string()).collect::<Vec<_>>());
            out["recovery_keys_base64"] =
                json!(rec.iter().map(|s| share_base64(s).expose().to_string()).collect::<Vec<_>>());
        }
        out
    }
}

impl Core {
    pub async fn is_initialized(&self) -> Result<bool> {
        Ok(self.physical.get(SEAL_CONFIG_PATH).await?.is_some())
    }

    async fn seal_config(&self) -> Result<Option<SealConfig>> {
        match self.physical.get(SEAL_CONFIG_PATH).await? {
            None => Ok(None),
            Some(raw) => Ok(Some(SealConfig::from_json(&raw)?)),
        }
    }

    /// `sys/init`: creates the root key, the keyring, the shares and a root token. Leaves the
    /// node sealed, as OpenBao does with a Shamir seal.
    pub async fn initialize(&self, req: InitRequest) -> Result<InitResult> {
        let mut lc = self.lifecycle.lock().await;
        let auto = lc.auto_seal.clone();
        if auto.is_some() && req.recovery.is_none() {
            return Err(CoreError::InvalidRequest(
                "invalid recovery configuration: recovery_shares and recovery_threshold are required with an auto-seal"
                    .into(),
            ));
        }
        if self.is_initialized().await? {
            return Err(CoreError::InvalidRequest("Vault is already initialized".into()));
        }
        if let Some(raft) = &self.raft {
            raft.bootstrap().await?;
        }
        if self.barrier.is_initialized().await? {
            // A keyring without a seal configuration is what an init interrupted by a crash
            // leaves: nothing was ever handed out for it, so it is safe to start again.
            tracing::warn!("removing the keyring of an interrupted initialization");
            self.physical.delete("core/keyring").await?;
        }
        let root_key = Key256::generate();
        // With an auto-seal the provider wraps the root key and the recovery key, and the
        // operator gets recovery shares; with Shamir the shares rebuild the unseal key.
        let (shares, recovery, wrapped, stored_config) = match &auto {
            None => {
                let new = generate_shares(&req.config)?;
                let wrapped = ShamirSeal::new(new.unseal_key.duplicate()).wrap(&root_key).await?;
                (new.shares, None, wrapped, req.config.clone())
            }
            Some(seal) => {
                let rec_config = req.recovery.clone().ok_or(CoreError::Internal("checked above".into()))?;
                let rec = generate_shares(&rec_config)?;
                let wrapped = seal.wrap(&root_key).await?;
                let wrapped_recovery = seal.wrap(&rec.unseal_key).await?;
                let stored =
                    SealConfig { seal_type: seal.seal_type().to_string(), secret_shares: 1, secret_threshold: 1 };
                (Vec::new(), Some((rec.shares, wrapped_recovery, rec_config)), wrapped, stored)
            }
        };
        self.barrier.initialize(&root_key).await?;

        // Open the barrier once to create what must exist behind it.
        self.barrier.unseal(&root_key).await?;
        let setup = async {
            self.post_unseal().await?;
            Ok::<_, CoreError>(self.tokens.create_root(req.root_token_id.as_deref()).await?)
        }
        .await;
        self.pre_seal();
        self.barrier.seal().await;
        *self.cluster.write().unwrap_or_else(|e| e.into_inner()) = None;
        let root_token = setup?;

        // The seal configuration is written last: it is what marks the node initialized.
        self.physical.put(ROOT_KEY_PATH, wrapped).await?;
        let recovery_shares = match recovery {
            None => None,
            Some((rec_shares, wrapped_recovery, rec_config)) => {
                self.physical.put(RECOVERY_KEY_PATH, wrapped_recovery).await?;
                self.physical.put(RECOVERY_CONFIG_PATH, rec_config.to_json()).await?;
                Some(rec_shares)
            }
        };
        self.physical.put(SEAL_CONFIG_PATH, stored_config.to_json()).await?;
        tracing::info!(seal = %stored_config.seal_type, "initialized");
        if auto.is_some() {
            // An auto-sealed node unseals itself right away, as OpenBao's does.
            self.unseal_with_root_key(&mut lc, &root_key).await?;
        }
        Ok(InitResult { shares, recovery_shares, root_token })
    }

    /// `sys/unseal` with a key; `None` with `reset` clears the progress.
    pub async fn submit_unseal_key(&self, key: Option<&str>, reset: bool) -> Result<()> {
        let mut lc = self.lifecycle.lock().await;
        let Some(config) = self.seal_config().await? else {
            return Err(CoreError::InvalidRequest("Vault is not initialized".into()));
        };
        if !self.is_sealed() {
            // A share for an unsealed node is harmless and answered with the status; a reset
            // is refused, as OpenBao does.
            return if reset { Err(CoreError::InvalidRequest("vault is unsealed".into())) } else { Ok(()) };
        }
        if reset {
            lc.progress = None;
            return Ok(());
        }
        let Some(key) = key else {
            return Err(CoreError::InvalidRequest(
                "'key' must be specified in request body as JSON, or 'reset' set to true".into(),
            ));
        };
        let share = decode_share(key)?;
        let threshold = match &lc.auto_seal {
            None => config.secret_threshold,
            Some(_) => self.recovery_config().await?.map(|c| c.secret_threshold).unwrap_or(1),
        };
        let progress = lc.progress.get_or_insert_with(|| UnsealProgress::new(threshold));
        // UnsealProgress resets itself where OpenBao does (a failed combine) and keeps the
        // progress for a share that is merely malformed.
        let Some(candidate) = progress.add(share)? else {
            return Ok(());
        };
        lc.progress = None;
        let root_key = match lc.auto_seal.clone() {
            None => self.unwrap_root_key(candidate).await?,
            Some(seal) => {
                // After a manual seal, an auto-sealed node unseals with its recovery shares.
                self.check_recovery_key(&seal, &candidate).await?;
                self.unwrap_with(&seal, ROOT_KEY_PATH).await?
            }
        };
        self.unseal_with_root_key(&mut lc, &root_key).await
    }

    /// Installs the auto-unseal provider (before serving).
    pub async fn set_auto_seal(&self, seal: Arc<dyn Seal>) {
        self.lifecycle.lock().await.auto_seal = Some(seal);
    }

    async fn recovery_config(&self) -> Result<Option<SealConfig>> {
        match self.physical.get(RECOVERY_CONFIG_PATH).await? {
            None => Ok(None),
            Some(raw) => Ok(Some(SealConfig::from_json(&raw)?)),
        }
    }

    async fn unwrap_with(&self, seal: &Arc<dyn Seal>, path: &str) -> Result<Key256> {
        let wrapped = self
            .physical
            .get(path)
            .await?
            .ok_or_else(|| CoreError::Internal(format!("{path} is missing from storage")))?;
        Ok(seal.unwrap(&wrapped).await?)
    }

    async fn check_recovery_key(&self, seal: &Arc<dyn Seal>, candidate: &Key256) -> Result<()> {
        let stored = self.unwrap_with(seal, RECOVERY_KEY_PATH).await?;
        let same = stored.expose().iter().zip(candidate.expose()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        if same {
            Ok(())
        } else {
            Err(CoreError::InvalidRequest("invalid key: the recovery shares do not rebuild the recovery key".into()))
        }
    }

    /// With an auto-seal: unseals from the provider if the node is initialized and sealed.
    /// `Ok(false)`: nothing to do (no auto-seal, not initialized, or already unsealed).
    pub async fn auto_unseal(&self) -> Result<bool> {
        let mut lc = self.lifecycle.lock().await;
        let Some(seal) = lc.auto_seal.clone() else { return Ok(false) };
        let Some(config) = self.seal_config().await? else { return Ok(false) };
        if !self.is_sealed() {
            return Ok(false);
        }
        if config.seal_type != seal.seal_type() {
            return Err(CoreError::SealMigrationRequired(format!(
                "the stored seal is {:?} but the configured seal is {:?}: seal migration is not supported yet",
                config.seal_type,
                seal.seal_type()
            )));
        }
        let attempt = match self.unwrap_with(&seal, ROOT_KEY_PATH).await {
            Ok(root_key) => self.unseal_with_root_key(&mut lc, &root_key).await,
            Err(e) => Err(e),
        };
        match attempt {
            Ok(()) => {
                lc.auto_unseal_error = None;
                Ok(true)
            }
            Err(e) => {
                lc.auto_unseal_error = Some(e.to_string());
                Err(e)
            }
        }
    }

    async fn unwrap_root_key(&self, unseal_key: Key256) -> Result<Key256> {
        let wrapped = self
            .physical
            .get(ROOT_KEY_PATH)
            .await?
            .ok_or_else(|| CoreError::Internal("the wrapped root key is missing from storage".into()))?;
        Ok(ShamirSeal::new(unseal_key).unwrap(&wrapped).await?)
    }

    async fn unseal_with_root_key(&self, lc: &mut Lifecycle, root_key: &Key256) -> Result<()> {
        if let Some(raft) = &self.raft {
            raft.wait_ready(STORAGE_READY_TIMEOUT).await?;
        }
        self.barrier.unseal(root_key).await?;
        if let Err(e) = self.post_unseal().await {
            self.pre_seal();
            self.barrier.seal().await;
            return Err(e);
        }
        lc.active_since = Some(time::OffsetDateTime::now_utc());
        tracing::info!("unsealed; this node is active");
        Ok(())
    }

    /// Dev mode and tests: unseal directly with the shares of an [`InitResult`].
    pub async fn unseal_with_shares(&self, shares: &[coffer_hardening::secret::SecretBytes]) -> Result<()> {
        for s in shares {
            self.submit_unseal_key(Some(share_hex(s).expose()), false).await?;
            if !self.is_sealed() {
                break;
            }
        }
        if self.is_sealed() {
            return Err(CoreError::Internal("the shares given did not unseal".into()));
        }
        Ok(())
    }

    /// `sys/seal`: wipes the keys from memory.
    pub async fn seal_now(&self) {
        let mut lc = self.lifecycle.lock().await;
        lc.progress = None;
        lc.active_since = None;
        if self.is_sealed() {
            return;
        }
        self.pre_seal();
        self.barrier.seal().await;
        *self.cluster.write().unwrap_or_else(|e| e.into_inner()) = None;
        tracing::info!("sealed");
    }

    pub(super) async fn load_or_create_cluster_info(&self) -> Result<()> {
        let info = match self.barrier.get(CLUSTER_INFO_PATH).await? {
            Some(raw) => serde_json::from_slice::<ClusterInfo>(&raw)
                .map_err(|e| CoreError::Internal(format!("corrupt cluster info: {e}")))?,
            None => {
                let id = uuid::Uuid::new_v4().to_string();
                let name = self
                    .settings
                    .cluster_name
                    .clone()
                    .unwrap_or_else(|| format!("vault-cluster-{}", &id.replace('-', "")[..8]));
                let info = ClusterInfo { name, id };
                let raw = serde_json::to_vec(&info).map_err(|e| CoreError::Internal(e.to_string()))?;
                self.barrier.put(CLUSTER_INFO_PATH, &raw).await?;
                info
            }
        };
        *self.cluster.write().unwrap_or_else(|e| e.into_inner()) = Some(info);
        Ok(())
    }

    pub fn cluster_info(&self) -> Option<ClusterInfo> {
        self.cluster.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// `sys/seal-status` (also the body of `sys/unseal`).
    pub async fn seal_status(&self) -> Result<Map<String, Value>> {
        let config = self.seal_config().await?;
        let lc = self.lifecycle.lock().await;
        let auto = lc.auto_seal.clone();
        let (t, n) = match (&auto, &config) {
            (Some(_), Some(_)) => {
                self.recovery_config().await?.map(|c| (c.secret_threshold, c.secret_shares)).unwrap_or((0, 0))
            }
            _ => config.as_ref().map(|c| (c.secret_threshold, c.secret_shares)).unwrap_or((0, 0)),
        };
        let seal_type = auto.as_ref().map(|s| s.seal_type()).unwrap_or("shamir");
        let (progress, nonce) =
            lc.progress.as_ref().map(|p| (p.progress(), p.nonce().to_string())).unwrap_or((0, String::new()));
        let mut m = obj([
            ("type", json!(seal_type)),
            ("initialized", json!(config.is_some())),
            ("sealed", json!(self.is_sealed())),
            ("t", json!(t)),
            ("n", json!(n)),
            ("progress", json!(progress)),
            ("nonce", json!(nonce)),
            ("recovery_seal", json!(auto.is_some())),
            ("version", json!(API_VERSION)),
            ("commit_date", json!(option_env!("COFFER_COMMIT_DATE").unwrap_or(""))),
            ("migration", json!(false)),
        ]);
        if auto.is_some() {
            m.insert("recovery_seal_type".into(), json!("shamir"));
        }
        if let Some(e) = &lc.auto_unseal_error {
            // Coffer's addition: why an auto-sealed node is still sealed.
            m.insert("auto_unseal_error".into(), json!(e));
        }
        if let Some(info) = self.cluster_info() {
            m.insert("cluster_name".into(), json!(info.name));
            m.insert("cluster_id".into(), json!(info.id));
        }
        m.insert("storage_type".into(), json!(self.storage_type()));
        Ok(m)
    }

    /// The state `sys/health` reports; the API layer picks the status code.
    pub async fn health(&self) -> Result<Health> {
        let initialized = self.is_initialized().await?;
        let sealed = self.is_sealed();
        Ok(Health { initialized, sealed, standby: sealed, cluster: self.cluster_info() })
    }

    /// `sys/leader`.
    pub async fn leader(&self) -> Result<Map<String, Value>> {
        let lc = self.lifecycle.lock().await;
        let ha = self.raft.is_some();
        if !ha {
            return Ok(obj([("ha_enabled", json!(false))]));
        }
        let is_self = ha && !self.is_sealed();
        let active_time = lc
            .active_since
            .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
            .unwrap_or_else(|| "0001-01-01T00:00:00Z".into());
        let mut m = obj([
            ("ha_enabled", json!(ha)),
            ("is_self", json!(is_self)),
            ("active_time", json!(active_time)),
            (
                "leader_address",
                json!(if is_self { self.settings.api_addr.clone().unwrap_or_default() } else { String::new() }),
            ),
            (
                "leader_cluster_address",
                json!(if is_self { self.settings.cluster_addr.clone().unwrap_or_default() } else { String::new() }),
            ),
        ]);
        if let Some(raft) = self.raft.as_ref().filter(|_| is_self) {
            let status = raft.status();
            let applied = status.as_ref().and_then(|s| s.applied_index).unwrap_or(0);
            let committed = status.as_ref().and_then(|s| s.last_log_index).unwrap_or(0).max(applied);
            m.insert("raft_committed_index".into(), json!(committed));
            m.insert("raft_applied_index".into(), json!(applied));
        }
        Ok(m)
    }
}

pub struct Health {
    pub initialized: bool,
    pub sealed: bool,
    pub standby: bool,
    pub cluster: Option<ClusterInfo>,
}

impl Health {
    pub fn body(&self) -> Map<String, Value> {
        let replication = if self.sealed || !self.initialized { "unknown" } else { "primary" };
        let dr = if self.sealed || !self.initialized { "unknown" } else { "disabled" };
        let mut m = obj([
            ("initialized", json!(self.initialized)),
            ("sealed", json!(self.sealed)),
            ("standby", json!(self.standby)),
            ("replication_performance_mode", json!(replication)),
            ("replication_dr_mode", json!(dr)),
            ("server_time_utc", json!(time::OffsetDateTime::now_utc().unix_timestamp())),
            ("version", json!(API_VERSION)),
        ]);
        if let Some(c) = &self.cluster {
            m.insert("cluster_name".into(), json!(c.name));
            m.insert("cluster_id".into(), json!(c.id));
        }
        m
    }
}
