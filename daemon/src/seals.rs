//! Builds the auto-unseal provider named by the configuration's `seal` stanzas.
//!
//! The stanza is checked at start (a bad value stops the server before any port is bound), but
//! the provider itself is opened lazily: an HSM or KMS that is down at start must not keep the
//! server from starting. The node then stays sealed and the auto-unseal loop retries.
use async_trait::async_trait;
use coffer_config::SealStanza;
use coffer_hardening::secret::Key256;
use coffer_seal::{Seal, SealError};
use coffer_seal_awskms::{AwsKmsConfig, AwsKmsSeal};
use coffer_seal_pkcs11::{Pkcs11Config, Pkcs11Seal};
use std::sync::Arc;

/// The enabled auto-seal, if any (`None`: Shamir). Fails with a message naming the stanza.
pub async fn from_config(stanzas: &[SealStanza]) -> Result<Option<Arc<dyn Seal>>, String> {
    let Some(stanza) = stanzas.iter().find(|s| !s.disabled) else { return Ok(None) };
    let env = |name: &str| std::env::var(name).ok();
    // Checked now; parsed again when opened (the configs hold secrets and are not `Clone`).
    let provider = match stanza.seal_type.as_str() {
        "shamir" => return Ok(None),
        "pkcs11" => {
            Pkcs11Config::from_attrs(&stanza.attrs, &env).map_err(|e| e.to_string())?;
            Provider::Pkcs11
        }
        "awskms" => {
            AwsKmsConfig::from_attrs(&stanza.attrs, &env).map_err(|e| format!("seal \"awskms\": {e}"))?;
            Provider::AwsKms
        }
        other => return Err(format!("seal \"{other}\": unknown seal type")),
    };
    Ok(Some(Arc::new(LazySeal { provider, attrs: stanza.attrs.clone(), opened: tokio::sync::Mutex::new(None) })))
}

enum Provider {
    Pkcs11,
    AwsKms,
}

/// Opens the provider on first use, and again after a failed open.
struct LazySeal {
    provider: Provider,
    attrs: serde_json::Map<String, serde_json::Value>,
    opened: tokio::sync::Mutex<Option<Arc<dyn Seal>>>,
}

impl LazySeal {
    async fn get(&self) -> Result<Arc<dyn Seal>, SealError> {
        let mut opened = self.opened.lock().await;
        if let Some(s) = opened.as_ref() {
            return Ok(s.clone());
        }
        let env = |name: &str| std::env::var(name).ok();
        let seal: Arc<dyn Seal> = match &self.provider {
            Provider::Pkcs11 => {
                let cfg = Pkcs11Config::from_attrs(&self.attrs, &env)?;
                tokio::task::spawn_blocking(move || Pkcs11Seal::new(cfg))
                    .await
                    .map_err(|e| SealError::Backend(format!("pkcs11 open task failed: {e}")))?
                    .map(|s| Arc::new(s) as Arc<dyn Seal>)?
            }
            Provider::AwsKms => Arc::new(AwsKmsSeal::new(AwsKmsConfig::from_attrs(&self.attrs, &env)?).await?),
        };
        *opened = Some(seal.clone());
        Ok(seal)
    }
}

#[async_trait]
impl Seal for LazySeal {
    fn seal_type(&self) -> &'static str {
        match self.provider {
            Provider::Pkcs11 => "pkcs11",
            Provider::AwsKms => "awskms",
        }
    }

    async fn wrap(&self, root_key: &Key256) -> Result<Vec<u8>, SealError> {
        self.get().await?.wrap(root_key).await
    }

    async fn unwrap(&self, blob: &[u8]) -> Result<Key256, SealError> {
        self.get().await?.unwrap(blob).await
    }
}
