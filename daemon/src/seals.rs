//! Builds the auto-unseal provider named by the configuration's `seal` stanzas.
use coffer_config::SealStanza;
use coffer_seal::Seal;
use std::sync::Arc;

/// The enabled auto-seal, if any (`None`: Shamir). Fails with a message naming the stanza.
pub async fn from_config(stanzas: &[SealStanza]) -> Result<Option<Arc<dyn Seal>>, String> {
    let Some(stanza) = stanzas.iter().find(|s| !s.disabled) else { return Ok(None) };
    match stanza.seal_type.as_str() {
        "shamir" => Ok(None),
        other => Err(format!("seal \"{other}\": this build has no {other} seal provider yet")),
    }
}
