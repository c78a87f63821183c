//! Batch tokens: the entry itself, sealed with AES-256-GCM under a key kept in the store's
//! view, as `b.` + base64url. Nothing is persisted per batch token; a token whose tag does not
//! verify is simply unknown.
use crate::entry::{LeaseTimes, TokenEntry, TokenType};
use crate::ttl::NANOS;
use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub(crate) const PREFIX: &str = "b.";
const VERSION: u8 = 1;
const AAD: &[u8] = b"coffer/batch-token/v1";

/// The sealed fields (a batch token has no accessor, cubbyhole, uses or renewals).
#[derive(Serialize, Deserialize)]
struct Payload1 {
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    parent: Option<String>,
    #[serde(rename = "po")]
    policies: Vec<String>,
    #[serde(rename = "pa")]
    path: String,
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    meta: Option<BTreeMap<String, String>>,
    #[serde(rename = "d")]
    display_name: String,
    #[serde(rename = "c")]
    creation_time: i64,
    #[serde(rename = "t")]
    ttl: u64,
    #[serde(rename = "r", default, skip_serializing_if = "String::is_empty")]
    role: String,
    #[serde(rename = "e", default, skip_serializing_if = "String::is_empty")]
    entity_id: String,
    #[serde(rename = "b", default, skip_serializing_if = "Vec::is_empty")]
    bound_cidrs: Vec<String>,
}

pub(crate) fn seal(cipher: &Aes256Gcm, e: &TokenEntry) -> Result<String, String> {
    let p = Payload1 {
        parent: e.parent.clone(),
        policies: e.policies.clone(),
        path: e.path.clone(),
        meta: e.meta.clone(),
        display_name: e.display_name.clone(),
        creation_time: e.creation_time,
        ttl: e.ttl,
        role: e.role.clone(),
        entity_id: e.entity_id.clone(),
        bound_cidrs: e.bound_cidrs.clone(),
    };
    let plain = serde_json::to_vec(&p).map_err(|e| e.to_string())?;
    let mut nonce = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let ct = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: &plain, aad: AAD })
        .map_err(|_| "batch token encryption failed".to_string())?;
    let mut raw = Vec::with_capacity(1 + 12 + ct.len());
    raw.push(VERSION);
    raw.extend_from_slice(&nonce);
    raw.extend_from_slice(&ct);
    Ok(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(raw)))
}

/// The entry of a batch token, or `None` if it is not one of ours (bad encoding, wrong key,
/// altered bytes). Expiry and the parent are checked by the caller.
pub(crate) fn open(cipher: &Aes256Gcm, token: &str) -> Option<TokenEntry> {
    let body = token.strip_prefix(PREFIX)?;
    let raw = URL_SAFE_NO_PAD.decode(body).ok()?;
    if raw.len() < 1 + 12 + 16 || raw[0] != VERSION {
        return None;
    }
    let plain = cipher.decrypt(Nonce::from_slice(&raw[1..13]), Payload { msg: &raw[13..], aad: AAD }).ok()?;
    let p: Payload1 = serde_json::from_slice(&plain).ok()?;
    let issue = p.creation_time.saturating_mul(NANOS);
    Some(TokenEntry {
        hash: String::new(),
        accessor: String::new(),
        parent: p.parent,
        policies: p.policies,
        path: p.path,
        meta: p.meta,
        display_name: p.display_name,
        num_uses: 0,
        creation_time: p.creation_time,
        ttl: p.ttl,
        explicit_max_ttl: 0,
        period: 0,
        role: p.role,
        entity_id: p.entity_id,
        token_type: TokenType::Batch,
        cubbyhole_id: String::new(),
        bound_cidrs: p.bound_cidrs,
        lease: Some(LeaseTimes {
            issue_time: issue,
            expire_time: Some(issue.saturating_add((p.ttl as i64).saturating_mul(NANOS))),
            last_renewal: None,
            renewable: false,
            ttl: p.ttl,
            max_ttl: 0,
        }),
        login: None,
        revoking: false,
    })
}
