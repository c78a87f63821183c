//! Response wrapping: a response is stored in the cubbyhole of a new single-use token that dies
//! at the wrap TTL; the client receives only `wrap_info`. `sys/wrapping/{wrap, unwrap, lookup,
//! rewrap}` operate on such tokens.
use super::error::{CoreError, Result};
use super::mounts::Table;
use super::request::{ClientRequest, Reply};
use super::{cubbyhole_view, Core};
use coffer_logical::{params, Response};
use coffer_token::TokenEntry;
use serde_json::{json, Value};
use std::time::Duration;

const RESPONSE_KEY: &str = "response";
const INFO_KEY: &str = "info";
const INVALID: &str = "wrapping token is not valid or does not exist";
/// OpenBao's bound on wrap TTLs when no policy says otherwise.
const MAX_WRAP_TTL: Duration = Duration::from_secs(768 * 3600);

impl Core {
    /// Wraps `reply` when the request asked for it (`X-Vault-Wrap-TTL`).
    pub(super) async fn maybe_wrap(
        &self,
        reply: Reply,
        req: &ClientRequest,
        caller: Option<&TokenEntry>,
    ) -> Result<Reply> {
        match req.wrap_ttl {
            Some(ttl) if !reply.is_empty() && reply.wrap_info.is_none() => {
                self.wrap(reply, ttl, &req.path, caller).await
            }
            _ => Ok(reply),
        }
    }

    /// Stores `reply` in a new wrapping token's cubbyhole and returns the wrap_info reply.
    pub(super) async fn wrap(
        &self,
        reply: Reply,
        ttl: Duration,
        path: &str,
        _caller: Option<&TokenEntry>,
    ) -> Result<Reply> {
        if ttl.is_zero() {
            return Err(CoreError::InvalidRequest("wrapping TTL must be greater than zero".into()));
        }
        if ttl > MAX_WRAP_TTL {
            return Err(CoreError::InvalidRequest("wrapping ttl exceeds the maximum allowed".into()));
        }
        let cubby = self
            .router
            .find(Table::Secrets, "cubbyhole/")
            .ok_or_else(|| CoreError::Internal("the cubbyhole mount is missing".into()))?;
        let wrapped_accessor = reply.auth.as_ref().and_then(|a| a.get("accessor")).cloned();
        let body = reply.body("");
        let issued = self
            .tokens
            .create(
                None,
                coffer_token::CreateRequest {
                    policies: vec!["response-wrapping".into()],
                    path: path.to_string(),
                    display_name: "response-wrapping".into(),
                    num_uses: 1,
                    ttl,
                    explicit_max_ttl: ttl,
                    orphan: true,
                    ..Default::default()
                },
            )
            .await?;
        let (token, entry) = (issued.token, issued.entry);
        let view = cubbyhole_view(&cubby, &entry.cubbyhole_id);
        let creation_time = time::OffsetDateTime::from_unix_timestamp(entry.creation_time)
            .ok()
            .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
            .unwrap_or_default();
        let info = json!({ "creation_path": path, "creation_time": creation_time, "creation_ttl": ttl.as_secs() });
        let stored = serde_json::to_vec(&body).map_err(|e| CoreError::Internal(e.to_string()))?;
        view.put(RESPONSE_KEY, &stored).await?;
        view.put(INFO_KEY, &serde_json::to_vec(&info).map_err(|e| CoreError::Internal(e.to_string()))?).await?;
        let mut wrap_info = json!({
            "token": token.expose(),
            "accessor": entry.accessor,
            "ttl": ttl.as_secs(),
            "creation_time": creation_time,
            "creation_path": path,
        });
        if let Some(acc) = wrapped_accessor {
            wrap_info["wrapped_accessor"] = acc;
        }
        Ok(Reply { wrap_info: Some(wrap_info), ..Default::default() })
    }

    /// The wrapping token's entry and its cubbyhole view, if the token is a live wrapping token.
    async fn wrapping_token(&self, token: &str) -> Result<(TokenEntry, coffer_storage::barrier::View)> {
        let entry = self.tokens.lookup(token).await?.ok_or_else(|| CoreError::InvalidRequest(INVALID.into()))?;
        if !entry.policies.iter().any(|p| p == "response-wrapping") {
            return Err(CoreError::InvalidRequest(INVALID.into()));
        }
        let cubby = self
            .router
            .find(Table::Secrets, "cubbyhole/")
            .ok_or_else(|| CoreError::Internal("the cubbyhole mount is missing".into()))?;
        Ok((entry.clone(), cubbyhole_view(&cubby, &entry.cubbyhole_id)))
    }

    async fn read_json(view: &coffer_storage::barrier::View, key: &str) -> Result<Value> {
        let raw = view.get(key).await?.ok_or_else(|| CoreError::InvalidRequest(INVALID.into()))?;
        serde_json::from_slice(&raw).map_err(|e| CoreError::Internal(format!("corrupt wrapped response: {e}")))
    }

    /// `sys/wrapping/unwrap`: the wrapping token from the body, or else the request's token.
    /// Single use: the token and its cubbyhole are gone afterwards.
    pub(super) async fn unwrap(&self, req: &ClientRequest, request_id: &str) -> Result<Reply> {
        let token = wrapping_token_of(req)?;
        let (_, view) = self.wrapping_token(&token).await?;
        let mut body = Self::read_json(&view, RESPONSE_KEY).await?;
        self.tokens.revoke_tree(&token).await?;
        if let Some(obj) = body.as_object_mut() {
            obj.insert("request_id".into(), json!(request_id));
        }
        Ok(Reply { raw: Some(body), ..Default::default() })
    }

    /// `sys/wrapping/lookup`: creation path, time and TTL; does not use the token up.
    pub(super) async fn wrapping_lookup(&self, req: &ClientRequest) -> Result<Reply> {
        let token = wrapping_token_of(req)?;
        let (_, view) = self.wrapping_token(&token).await?;
        let info = Self::read_json(&view, INFO_KEY).await?;
        let data = info.as_object().cloned().unwrap_or_default();
        Ok(Reply::from_response(Response::data(data)))
    }

    /// `sys/wrapping/rewrap`: the same response under a new wrapping token with the same TTL.
    pub(super) async fn rewrap(&self, req: &ClientRequest) -> Result<Reply> {
        let token = wrapping_token_of(req)?;
        let (_, view) = self.wrapping_token(&token).await?;
        let body = Self::read_json(&view, RESPONSE_KEY).await?;
        let info = Self::read_json(&view, INFO_KEY).await?;
        let ttl = Duration::from_secs(info["creation_ttl"].as_u64().unwrap_or(300));
        let path = info["creation_path"].as_str().unwrap_or("sys/wrapping/wrap").to_string();
        self.tokens.revoke_tree(&token).await?;
        let reply = Reply { raw: Some(body), ..Default::default() };
        self.wrap(reply, ttl, &path, None).await
    }

    /// `sys/wrapping/wrap`: wraps the request body itself.
    pub(super) async fn wrap_data(&self, req: &ClientRequest, caller: &TokenEntry) -> Result<Reply> {
        let ttl = req.wrap_ttl.unwrap_or(Duration::from_secs(300));
        if req.data.is_empty() {
            return Err(CoreError::InvalidRequest("empty request body".into()));
        }
        let reply = Reply::from_response(Response::data(req.data.clone()));
        self.wrap(reply, ttl, "sys/wrapping/wrap", Some(caller)).await
    }
}

fn wrapping_token_of(req: &ClientRequest) -> Result<String> {
    if let Some(t) = params::string(req.data.get("token"), "token")?.filter(|t| !t.is_empty()) {
        return Ok(t);
    }
    req.client_token.clone().filter(|t| !t.is_empty()).ok_or_else(|| CoreError::InvalidRequest(INVALID.into()))
}
