//! `sys/leases/*`. Coffer's secrets engines issue no dynamic secrets yet, so the leases that
//! exist are those of tokens with a TTL (logins and created tokens), as in OpenBao's expiration
//! manager: lease id = the token's creation path + "/h" + its storage hash.
use super::error::{CoreError, Result};
use super::request::{ClientRequest, Reply};
use super::Core;
use coffer_logical::{obj, params, Operation, Response};
use serde_json::json;

fn lease_id_param(req: &ClientRequest, from_path: &str) -> Result<String> {
    let id = params::string(req.data.get("lease_id"), "lease_id")?
        .or(params::string(req.data.get("url_lease_id"), "url_lease_id")?)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| from_path.to_string());
    if id.is_empty() {
        return Err(CoreError::InvalidRequest("lease_id must be specified".into()));
    }
    Ok(id)
}

fn now_nanos() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos()).unwrap_or(i64::MAX)
}

/// `rest` is the path after "sys/leases/".
pub async fn handle(core: &Core, rest: &str, req: &ClientRequest) -> Result<Reply> {
    use Operation::*;
    let op = req.operation;
    let write = matches!(op, Create | Update);
    let (verb, tail) = rest.split_once('/').unwrap_or((rest, ""));
    match (verb, op) {
        ("lookup", List) => {
            let ids = core.tokens.lease_ids(tail).await?;
            let mut keys: Vec<String> = ids
                .iter()
                .filter_map(|id| id.strip_prefix(tail))
                .map(|r| match r.find('/') {
                    Some(i) => r[..=i].to_string(),
                    None => r.to_string(),
                })
                .collect();
            keys.dedup();
            if keys.is_empty() {
                return Err(CoreError::NotFound);
            }
            Ok(Reply::from_response(Response::data(obj([("keys", json!(keys))]))))
        }
        ("lookup", Create | Update) => {
            let id = lease_id_param(req, tail)?;
            let entry = core
                .tokens
                .lookup_lease(&id)
                .await?
                .ok_or_else(|| CoreError::InvalidRequest("invalid lease".into()))?;
            let data = entry
                .lease_lookup_data(&id, now_nanos())
                .ok_or_else(|| CoreError::InvalidRequest("invalid lease".into()))?;
            Ok(Reply::from_response(Response::data(data)))
        }
        ("renew", Create | Update) => {
            let id = lease_id_param(req, tail)?;
            if core.tokens.lookup_lease(&id).await?.is_some() {
                return Err(CoreError::InvalidRequest("tokens cannot be renewed through this endpoint".into()));
            }
            Err(CoreError::InvalidRequest("lease not found".into()))
        }
        ("revoke", Create | Update) => {
            let id = lease_id_param(req, tail)?;
            core.tokens.revoke_lease(&id).await?;
            Ok(Reply::default())
        }
        ("revoke-prefix" | "revoke-force", Create | Update) => {
            let prefix = tail;
            if prefix.is_empty() {
                return Err(CoreError::InvalidRequest("prefix must be specified".into()));
            }
            for id in core.tokens.lease_ids(prefix).await? {
                core.tokens.revoke_lease(&id).await?;
            }
            Ok(Reply::default())
        }
        ("tidy", Create | Update) if tail.is_empty() => {
            core.tokens.tidy().await?;
            Ok(Reply {
                status: Some(202),
                ..Reply::from_response(Response::default().with_warning(
                    "Tidy operation successfully started. Any information from the operation will be printed to Coffer's server logs.",
                ))
            })
        }
        _ if write || op == Read || op == List => Err(CoreError::UnsupportedPath),
        _ => Err(CoreError::UnsupportedOperation),
    }
}
