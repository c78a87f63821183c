//! The `auth/token/*` endpoints, after OpenBao 2.7.2's token store paths: same parameters,
//! same checks in the same order, same error texts.
use crate::entry::{AuthBlock, Revoked, TokenEntry, TokenType};
use crate::error::{Result, TokenError};
use crate::policy::{contains_glob, go_q_list, remove_duplicates, sanitize, subset, NON_ASSIGNABLE};
use crate::role::{self, Role, RoleTokenType};
use crate::ttl::{calculate_ttl, duration_second_field, parse_duration_second, trunc_secs, NANOS};
use crate::{role_key, CreateRequest, TokenStore};
use coffer_hardening::secret::SecretString;
use coffer_logical::{params, Operation, Request, Response};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// The authenticated caller of an `auth/token/*` request.
pub struct Caller<'a> {
    /// The caller's entry as [`TokenStore::use_token`] returned it.
    pub entry: &'a TokenEntry,
    /// The caller's token (for `*-self` and for `lookup` without a token).
    pub token: &'a str,
    /// Whether the caller's ACL grants `sudo` on this request's path (root always does).
    pub sudo: bool,
}

impl std::fmt::Debug for Caller<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller").field("entry", self.entry).field("sudo", &self.sudo).finish_non_exhaustive()
    }
}

/// What an `auth/token/*` request produced.
#[derive(Debug, Default)]
pub struct TokenReply {
    /// `data` and `warnings` of the body (the core adds the envelope).
    pub response: Response,
    /// The body's `auth` block (create, renew).
    pub auth: Option<AuthBlock>,
    /// Tokens this request revoked (also reported to [`crate::TokenHooks::on_revoke`]).
    pub revoked: Vec<Revoked>,
    /// A status other than 200/204 (tidy answers 202).
    pub status: Option<u16>,
}

impl TokenReply {
    fn data(d: Map<String, Value>) -> Self {
        TokenReply { response: Response::data(d), ..Default::default() }
    }
    fn empty() -> Self {
        TokenReply::default()
    }
    fn warning(w: &str) -> Self {
        TokenReply { response: Response::default().with_warning(w), ..Default::default() }
    }
    fn list(keys: Vec<String>) -> Result<Self> {
        if keys.is_empty() {
            return Err(TokenError::NotFound);
        }
        let mut d = Map::new();
        d.insert("keys".into(), Value::Array(keys.into_iter().map(Value::String).collect()));
        Ok(TokenReply::data(d))
    }
}

/// OpenBao's `TypeString` conversion (numbers and booleans become their text).
fn field_str(req: &Request, name: &str) -> Result<String> {
    Ok(params::string(req.get(name).as_ref(), name)?.unwrap_or_default())
}

fn field_bool(req: &Request, name: &str, default: bool) -> Result<bool> {
    Ok(params::boolean(req.get(name).as_ref(), name)?.unwrap_or(default))
}

/// `TypeStringSlice`: a string is one element (no comma splitting), an array its elements.
fn string_slice(v: Option<&Value>, name: &str) -> Result<Vec<String>> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(a)) => a
            .iter()
            .map(|e| match e {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                Value::Bool(b) => Ok(b.to_string()),
                _ => Err(TokenError::bad(format!(
                    "error converting input for field {name:?}: expected a list of strings"
                ))),
            })
            .collect(),
        Some(Value::Number(n)) => Ok(vec![n.to_string()]),
        Some(_) => {
            Err(TokenError::bad(format!("error converting input for field {name:?}: expected a list of strings")))
        }
    }
}

/// `TypeKVPairs`: an object (values weakly turned into strings), or `k=v` strings.
fn kv_pairs(v: Option<&Value>) -> Result<Option<BTreeMap<String, String>>> {
    let bad = |s: &str| TokenError::bad(format!("error converting input for field \"meta\": invalid key pair {s:?}"));
    let pair = |s: &str| -> Result<(String, String)> {
        let (k, v) = s.split_once('=').ok_or_else(|| bad(s))?;
        Ok((k.trim().to_string(), v.trim().to_string()))
    };
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => {
            let mut out = BTreeMap::new();
            for (k, v) in m {
                let s = match v {
                    Value::String(s) => s.clone(),
                    Value::Bool(b) => if *b { "1" } else { "0" }.to_string(),
                    Value::Number(n) => n.to_string(),
                    Value::Null => String::new(),
                    _ => return Err(bad(k)),
                };
                out.insert(k.clone(), s);
            }
            Ok(Some(out))
        }
        Some(Value::String(s)) => {
            let mut out = BTreeMap::new();
            for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (k, v) = pair(part)?;
                out.insert(k, v);
            }
            Ok(Some(out))
        }
        Some(Value::Array(a)) => {
            let mut out = BTreeMap::new();
            for e in a {
                let Value::String(s) = e else { return Err(bad(&e.to_string())) };
                let (k, v) = pair(s)?;
                out.insert(k, v);
            }
            Ok(Some(out))
        }
        Some(other) => Err(bad(&other.to_string())),
    }
}

/// OpenBao's `displayNameSanitize` ([^a-zA-Z0-9-] → "-") and one trailing "-" trimmed.
fn display_name(raw: &str) -> String {
    let full: String =
        format!("token-{raw}").chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect();
    full.strip_suffix('-').map(str::to_string).unwrap_or(full)
}

fn is_write(op: Operation) -> bool {
    matches!(op, Operation::Create | Operation::Update)
}

fn increment(req: &Request) -> Result<Duration> {
    let secs = duration_second_field(req.get("increment").as_ref(), "increment").map_err(TokenError::InvalidRequest)?;
    Ok(Duration::from_secs(secs.unwrap_or(0) as u64))
}

impl TokenStore {
    /// Paths (relative to `auth/token/`, `*` = prefix) whose every operation needs `sudo`, as
    /// OpenBao's `PathsSpecial.Root`. The handler checks `revoke-orphan` and `accessors` too.
    pub fn sudo_paths() -> &'static [&'static str] {
        &["revoke-orphan/*", "accessors*"]
    }

    /// For the core's create-versus-update ACL check: whether a write's target exists
    /// (`roles/:name` only; `None` for paths with no existence check).
    pub async fn exists(&self, req: &Request) -> Result<Option<bool>> {
        match req.path.strip_prefix("roles/") {
            Some(name) if role::valid_name(name) => Ok(Some(self.role(name).await?.is_some())),
            _ => Ok(None),
        }
    }

    /// Handles one `auth/token/*` request (`req.path` relative to the mount) for `caller`.
    pub async fn handle(&self, req: &Request, caller: &Caller<'_>) -> Result<TokenReply> {
        let op = req.operation;
        let path = req.path.as_str();
        let write = is_write(op);
        match path {
            "create" | "create-orphan" => {
                if !write {
                    return Err(TokenError::UnsupportedOperation);
                }
                self.handle_create(req, caller, path == "create-orphan", None).await
            }
            "lookup" => match op {
                Operation::Read | Operation::Create | Operation::Update => self.handle_lookup(req, caller).await,
                _ => Err(TokenError::UnsupportedOperation),
            },
            "lookup-self" => match op {
                Operation::Read | Operation::Create | Operation::Update => {
                    Ok(TokenReply::data(caller.entry.lookup_data(caller.token, self.now())))
                }
                _ => Err(TokenError::UnsupportedOperation),
            },
            "lookup-accessor" if write => self.handle_lookup_accessor(req).await,
            "renew" if write => {
                let token = field_str(req, "token")?;
                if token.is_empty() {
                    return Err(TokenError::bad("missing token ID"));
                }
                self.handle_renew(&token, increment(req)?).await
            }
            "renew-self" if write => self.handle_renew(caller.token, increment(req)?).await,
            "renew-accessor" if write => self.handle_renew_accessor(req).await,
            "revoke" if write => {
                let token = field_str(req, "token")?;
                if token.is_empty() {
                    return Err(TokenError::bad("missing token ID"));
                }
                self.reply_revoked(self.revoke_tree(&token).await?)
            }
            "revoke-self" if write => self.reply_revoked(self.revoke_tree(caller.token).await?),
            "revoke-orphan" if write => {
                let token = field_str(req, "token")?;
                if token.is_empty() {
                    return Err(TokenError::bad("missing token ID"));
                }
                if !(caller.sudo || caller.entry.is_root()) {
                    return Err(TokenError::bad("root or sudo privileges required to revoke and orphan"));
                }
                self.reply_revoked(self.revoke_orphan(&token).await?)
            }
            "revoke-accessor" if write => {
                let accessor = field_str(req, "accessor")?;
                if accessor.is_empty() {
                    return Err(TokenError::multi("missing accessor"));
                }
                match self.revoke_accessor(&accessor).await? {
                    Some(r) => self.reply_revoked(r),
                    None => Ok(TokenReply::warning("No token found with this accessor")),
                }
            }
            "accessors" | "accessors/" => {
                if op != Operation::List {
                    return Err(TokenError::UnsupportedOperation);
                }
                if !(caller.sudo || caller.entry.is_root()) {
                    return Err(TokenError::Forbidden("permission denied".into()));
                }
                TokenReply::list(self.accessors().await?)
            }
            "roles" | "roles/" => {
                if op != Operation::List {
                    return Err(TokenError::UnsupportedOperation);
                }
                TokenReply::list(self.view().list("roles/").await?.into_iter().filter(|k| !k.ends_with('/')).collect())
            }
            "tidy" if write => {
                let Ok(_g) = self.inner.tidy.try_lock() else {
                    return Ok(TokenReply::warning("Tidy operation already in progress."));
                };
                let stats = self.tidy().await?;
                tracing::info!(?stats, "finished tidy operation on tokens");
                let mut r = TokenReply::warning(
                    "Tidy operation successfully started. Any information from the operation will be printed to OpenBao's server logs.",
                );
                r.status = Some(202);
                Ok(r)
            }
            "lookup-accessor" | "renew" | "renew-self" | "renew-accessor" | "revoke" | "revoke-self"
            | "revoke-orphan" | "revoke-accessor" | "tidy" => Err(TokenError::UnsupportedOperation),
            _ => {
                if let Some(name) = path.strip_prefix("create/") {
                    if !role::valid_name(name) {
                        return Err(TokenError::UnsupportedPath);
                    }
                    if !write {
                        return Err(TokenError::UnsupportedOperation);
                    }
                    let Some(r) = self.role(name).await? else {
                        return Err(TokenError::bad(format!("unknown role {name}")));
                    };
                    return self.handle_create(req, caller, false, Some(r)).await;
                }
                if let Some(name) = path.strip_prefix("roles/") {
                    if !role::valid_name(name) {
                        return Err(TokenError::UnsupportedPath);
                    }
                    return self.handle_role(req, name).await;
                }
                Err(TokenError::UnsupportedPath)
            }
        }
    }

    fn reply_revoked(&self, revoked: Vec<Revoked>) -> Result<TokenReply> {
        Ok(TokenReply { revoked, ..TokenReply::empty() })
    }

    async fn handle_lookup(&self, req: &Request, caller: &Caller<'_>) -> Result<TokenReply> {
        let mut token = field_str(req, "token")?;
        if token.is_empty() {
            token = caller.token.to_string();
        }
        if token.is_empty() {
            return Err(TokenError::bad("missing token ID"));
        }
        let now = self.now();
        // The caller's own entry is the one this request used (its use already counted).
        if token == caller.token {
            return Ok(TokenReply::data(caller.entry.lookup_data(&token, now)));
        }
        match self.lookup(&token).await? {
            Some(e) => Ok(TokenReply::data(e.lookup_data(&token, now))),
            None => Err(TokenError::Forbidden("bad token".into())),
        }
    }

    async fn handle_lookup_accessor(&self, req: &Request) -> Result<TokenReply> {
        let accessor = field_str(req, "accessor")?;
        if accessor.is_empty() {
            return Err(TokenError::multi("missing accessor"));
        }
        match self.lookup_accessor(&accessor).await? {
            Some(e) => Ok(TokenReply::data(e.lookup_data("", self.now()))),
            None => Err(TokenError::multi("invalid accessor")),
        }
    }

    async fn handle_renew(&self, token: &str, inc: Duration) -> Result<TokenReply> {
        let renewed = self.renew(token, inc).await?;
        let mut r = TokenReply {
            auth: Some(AuthBlock::new(Some(SecretString::new(token.to_string())), &renewed.entry)),
            ..TokenReply::empty()
        };
        r.response.warnings = renewed.warnings;
        Ok(r)
    }

    async fn handle_renew_accessor(&self, req: &Request) -> Result<TokenReply> {
        let accessor = field_str(req, "accessor")?;
        if accessor.is_empty() {
            return Err(TokenError::multi("missing accessor"));
        }
        let Some(e) = self.lookup_accessor(&accessor).await? else {
            return Err(TokenError::multi("invalid accessor"));
        };
        let renewed = self.renew_hash(e.hash(), increment(req)?).await?;
        let mut r = TokenReply { auth: Some(AuthBlock::new(None, &renewed.entry)), ..TokenReply::empty() };
        r.response.warnings = renewed.warnings;
        Ok(r)
    }

    async fn handle_role(&self, req: &Request, name: &str) -> Result<TokenReply> {
        match req.operation {
            Operation::Read => match self.role(name).await? {
                Some(r) => Ok(TokenReply::data(r.to_data())),
                None => Err(TokenError::NotFound),
            },
            Operation::Create | Operation::Update => {
                let existing = self.role(name).await?;
                let (r, warnings) = Role::apply(name, existing, &req.data, self.config().max_ttl.as_secs())?;
                let raw = serde_json::to_vec(&r).map_err(TokenError::internal)?;
                self.view().put(&role_key(name), &raw).await?;
                let mut reply = TokenReply::empty();
                reply.response.warnings = warnings;
                Ok(reply)
            }
            Operation::Delete => {
                self.view().delete(&role_key(name)).await?;
                Ok(TokenReply::empty())
            }
            _ => Err(TokenError::UnsupportedOperation),
        }
    }

    /// `handleCreateCommon`.
    async fn handle_create(
        &self,
        req: &Request,
        caller: &Caller<'_>,
        orphan: bool,
        role: Option<Role>,
    ) -> Result<TokenReply> {
        let parent = caller.entry;
        if parent.num_uses < 0 {
            return Err(TokenError::bad("parent token lookup failed: no parent found"));
        }
        if parent.is_batch() {
            return Err(TokenError::bad("batch tokens cannot create more tokens"));
        }
        if parent.num_uses > 0 {
            return Err(TokenError::bad("restricted use token cannot generate child tokens"));
        }
        let is_sudo = caller.sudo || parent.is_root();
        let policies = string_slice(req.data.get("policies"), "policies")?;

        let mut type_str = field_str(req, "type")?;
        if let Some(r) = &role {
            match r.token_type {
                RoleTokenType::DefaultService => {}
                RoleTokenType::DefaultBatch => {
                    if type_str.is_empty() {
                        type_str = "batch".into();
                    }
                }
                RoleTokenType::Service => type_str = "service".into(),
                RoleTokenType::Batch => type_str = "batch".into(),
            }
        }
        let mut renewable = field_bool(req, "renewable", true)?;
        let explicit_raw = req.get("explicit_max_ttl").unwrap_or(Value::Null);
        let num_uses = params::int(req.get("num_uses").as_ref(), "num_uses")?.unwrap_or(0);
        let period_raw = req.get("period").unwrap_or(Value::Null);
        let is_set = |v: &Value| !(v.is_null() || v.as_str() == Some(""));
        let token_type = match type_str.as_str() {
            "" | "service" => TokenType::Service,
            "batch" => {
                let mut bad_reason = None;
                if is_set(&explicit_raw) {
                    let d = parse_duration_second(&explicit_raw)
                        .map_err(|_| TokenError::bad("\"explicit_max_ttl\" value could not be parsed"))?;
                    if d != 0 {
                        bad_reason = Some("explicit_max_ttl");
                    }
                } else if num_uses != 0 {
                    bad_reason = Some("num_uses");
                } else if is_set(&period_raw) {
                    let d = parse_duration_second(&period_raw)
                        .map_err(|_| TokenError::bad("\"period\" value could not be parsed"))?;
                    if d != 0 {
                        bad_reason = Some("period");
                    }
                }
                if let Some(reason) = bad_reason {
                    return Err(TokenError::bad(format!("batch tokens cannot have {reason:?} set")));
                }
                renewable = false;
                TokenType::Batch
            }
            _ => return Err(TokenError::bad("invalid 'token_type' value")),
        };
        if num_uses < 0 {
            return Err(TokenError::bad("number of uses cannot be negative"));
        }
        let entity_alias = field_str(req, "entity_alias")?;
        if !entity_alias.is_empty() {
            let Some(r) = &role else {
                return Err(TokenError::bad("'entity_alias' is only allowed in combination with token role"));
            };
            let alias = entity_alias.to_lowercase();
            let allowed = r.allowed_entity_aliases.clone().unwrap_or_default();
            if !allowed.contains(&alias) && !contains_glob(&allowed, &alias) {
                return Err(TokenError::bad("invalid 'entity_alias' value"));
            }
            return Err(TokenError::bad("entity aliases are not supported: this server has no identity store"));
        }
        let meta = kv_pairs(req.data.get("meta"))?;

        let now = self.now();
        let creation_time = trunc_secs(now);
        let mut path = format!("auth/token/{}", req.path);
        let mut num_uses = num_uses;
        let mut role_name = String::new();
        if let Some(r) = &role {
            role_name = r.name.clone();
            if renewable && !r.renewable {
                renewable = false;
            }
            if r.token_num_uses != 0 && (num_uses == 0 || r.token_num_uses < num_uses) {
                num_uses = r.token_num_uses;
            }
            if !r.path_suffix.is_empty() {
                path = format!("{path}/{}", r.path_suffix);
            }
        }
        let display = {
            let d = field_str(req, "display_name")?;
            if d.is_empty() {
                "token".to_string()
            } else {
                display_name(&d)
            }
        };
        let id = field_str(req, "id")?;
        if !id.is_empty() && !is_sudo {
            return Err(TokenError::bad("root or sudo privileges required to specify token id"));
        }

        let mut warnings: Vec<String> = Vec::new();
        let no_default = field_bool(req, "no_default_policy", false)?;
        let mut add_default = false;
        let final_input: Vec<String>;
        let role_restricts = role.as_ref().is_some_and(|r| {
            !r.allowed_policies.is_empty()
                || !r.disallowed_policies.is_empty()
                || !r.allowed_policies_glob.is_empty()
                || !r.disallowed_policies_glob.is_empty()
        });
        if let (true, Some(r)) = (role_restricts, &role) {
            let local_add_default = !no_default
                && !r.token_no_default_policy
                && !r.disallowed_policies.iter().any(|p| p == "default")
                && !contains_glob(&r.disallowed_policies_glob, "default");
            let mut fin: Vec<String> =
                if policies.is_empty() { Vec::new() } else { sanitize(&policies, local_add_default) };
            if !r.allowed_policies.is_empty() || !r.allowed_policies_glob.is_empty() {
                let role_pols = sanitize(&r.allowed_policies, local_add_default);
                if fin.is_empty() {
                    fin = role_pols;
                } else {
                    let role_globs = sanitize(&r.allowed_policies_glob, false);
                    for p in &fin {
                        if !role_pols.contains(p) && !contains_glob(&role_globs, p) {
                            return Err(TokenError::bad(format!(
                                "token policies ({}) must be subset of the role's allowed policies ({}) or glob policies ({})",
                                go_q_list(&fin),
                                go_q_list(&role_pols),
                                go_q_list(&role_globs)
                            )));
                        }
                    }
                }
            } else if fin.is_empty() {
                fin = sanitize(&parent.policies, local_add_default);
            }
            if !r.disallowed_policies.is_empty() || !r.disallowed_policies_glob.is_empty() {
                let dis = remove_duplicates(&r.disallowed_policies, true);
                let dis_glob = remove_duplicates(&r.disallowed_policies_glob, true);
                for p in &fin {
                    if dis.contains(p) || contains_glob(&dis_glob, p) {
                        return Err(TokenError::bad(format!("token policy {p:?} is disallowed by this role")));
                    }
                }
            }
            final_input = fin;
        } else if policies.is_empty() {
            final_input = sanitize(&parent.policies, false);
        } else if !is_sudo {
            let input = sanitize(&policies, false);
            let parent_pols = sanitize(&parent.policies, false);
            if !subset(&parent_pols, &input) {
                return Err(TokenError::bad("child policies must be subset of parent"));
            }
            if !no_default && parent.policies.iter().any(|p| p == "default") {
                add_default = true;
            }
            final_input = policies.clone();
        } else {
            add_default = !no_default;
            final_input = policies.clone();
        }
        let mut te_policies = sanitize(&final_input, add_default);
        if no_default {
            te_policies.retain(|p| p != "default");
        }
        for p in &te_policies {
            if NON_ASSIGNABLE.contains(&p.as_str()) {
                return Err(TokenError::bad(format!("cannot assign policy {p:?}")));
            }
        }
        let te_is_root = te_policies.iter().any(|p| p == "root");
        if te_is_root {
            if !parent.is_root() {
                return Err(TokenError::bad("root tokens may not be created without parent token being root"));
            }
            if token_type == TokenType::Batch {
                return Err(TokenError::bad("batch tokens cannot be root tokens"));
            }
        }

        let mut bound_cidrs: Vec<String> = Vec::new();
        let te_orphan = match &role {
            Some(r) => {
                if !r.token_bound_cidrs.is_empty() {
                    bound_cidrs = r.token_bound_cidrs.clone();
                }
                r.orphan
            }
            None if field_bool(req, "no_parent", false)? => {
                if !is_sudo {
                    return Err(TokenError::bad("root or sudo privileges required to create orphan token"));
                }
                true
            }
            None => orphan,
        };
        let mut entity_id = String::new();
        if !te_orphan {
            entity_id = parent.entity_id.clone();
            if role.is_none() {
                bound_cidrs = parent.bound_cidrs.clone();
            }
        }

        let mut explicit_to_use = 0i64;
        let mut te_explicit = 0i64;
        if is_set(&explicit_raw) {
            let d = parse_duration_second(&explicit_raw).map_err(TokenError::InvalidRequest)?;
            if d < 0 {
                return Err(TokenError::bad("explicit_max_ttl must be positive"));
            }
            te_explicit = d;
            explicit_to_use = d;
        }
        let mut period_to_use = 0i64;
        let mut te_period = 0i64;
        if is_set(&period_raw) {
            let d = parse_duration_second(&period_raw).map_err(TokenError::InvalidRequest)?;
            if d < 0 {
                return Err(TokenError::bad("period must be positive"));
            }
            if d > 0 {
                if !is_sudo {
                    return Err(TokenError::bad("root or sudo privileges required to create periodic token"));
                }
                te_period = d;
                period_to_use = d;
            }
        }
        let mut te_ttl = 0i64;
        let ttl_raw = req.get("ttl").unwrap_or(Value::Null);
        let lease_raw = req.get("lease").unwrap_or(Value::Null);
        if is_set(&ttl_raw) {
            te_ttl = parse_duration_second(&ttl_raw).map_err(TokenError::InvalidRequest)?;
            if te_ttl < 0 {
                return Err(TokenError::bad("ttl must be positive"));
            }
        } else if is_set(&lease_raw) {
            te_ttl = parse_duration_second(&lease_raw).map_err(TokenError::InvalidRequest)?;
            if te_ttl < 0 {
                return Err(TokenError::bad("lease must be positive"));
            }
        }
        if let Some(r) = role.as_ref().filter(|_| token_type != TokenType::Batch) {
            if r.token_explicit_max_ttl != 0 {
                if explicit_to_use == 0 {
                    explicit_to_use = r.token_explicit_max_ttl as i64;
                } else {
                    explicit_to_use = explicit_to_use.min(r.token_explicit_max_ttl as i64);
                    warnings.push(format!(
                        "Explicit max TTL specified both during creation call and in role; using the lesser value of {explicit_to_use} seconds"
                    ));
                }
            }
            if r.token_period != 0 {
                if period_to_use == 0 {
                    period_to_use = r.token_period as i64;
                } else {
                    period_to_use = period_to_use.min(r.token_period as i64);
                    warnings.push(format!(
                        "Period specified both during creation call and in role; using the lesser value of {period_to_use} seconds"
                    ));
                }
            }
        }
        if period_to_use > 0 || te_ttl > 0 || !te_is_root {
            let (t, w) = calculate_ttl(
                self.sys_view(),
                now,
                0,
                te_ttl,
                period_to_use,
                0,
                explicit_to_use,
                Some(creation_time.saturating_mul(NANOS)),
            )
            .map_err(TokenError::Internal)?;
            warnings.extend(w);
            te_ttl = t;
        }
        if te_ttl == 0 && explicit_to_use > 0 {
            te_ttl = explicit_to_use;
        }
        if te_ttl == 0 {
            if parent.ttl != 0 {
                return Err(TokenError::bad("expiring root tokens cannot create non-expiring root tokens"));
            }
            renewable = false;
            bound_cidrs.clear();
        }
        if !id.is_empty() {
            warnings.push("Supplying a custom ID for the token uses the weaker SHA1 hashing instead of the more secure SHA2-256 HMAC for token obfuscation. SHA1 hashed tokens on the wire leads to less secure lookups.".to_string());
        }

        let create = CreateRequest {
            id: (!id.is_empty()).then(|| SecretString::new(id)),
            policies: te_policies.clone(),
            path,
            display_name: display,
            meta,
            num_uses,
            ttl: Duration::from_secs(te_ttl.max(0) as u64),
            explicit_max_ttl: Duration::from_secs(te_explicit.max(0) as u64),
            period: Duration::from_secs(te_period.max(0) as u64),
            renewable,
            token_type,
            role: role_name,
            entity_id,
            bound_cidrs,
            orphan: te_orphan,
        };
        let issued = self.create_inner(Some(parent), create, None, true, now).await?;

        let hooks = self.hooks();
        for p in &issued.entry.policies {
            if p == "default" || p == "root" {
                continue;
            }
            if hooks.policy_exists(p).await == Some(false) {
                warnings.push(format!("Policy {p:?} does not exist"));
            }
        }
        let mut reply = TokenReply { auth: Some(issued.auth_block()), ..TokenReply::empty() };
        reply.response.warnings = warnings;
        Ok(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Display names are sanitized as OpenBao does.
    #[test]
    fn display_names_are_sanitized() {
        assert_eq!(display_name("My App"), "token-My-App");
        assert_eq!(display_name("a b_c.d-"), "token-a-b-c-d");
        assert_eq!(display_name("x"), "token-x");
    }

    /// `meta` accepts an object (weakly typed values) or k=v strings.
    #[test]
    fn meta_parses_like_kvpairs() {
        let m = kv_pairs(Some(&json!({"n": 1, "b": true, "s": "v"}))).ok().flatten().unwrap_or_default();
        assert_eq!(m.get("n").map(String::as_str), Some("1"));
        assert_eq!(m.get("b").map(String::as_str), Some("1"));
        assert_eq!(m.get("s").map(String::as_str), Some("v"));
        let m = kv_pairs(Some(&json!("x=y"))).ok().flatten().unwrap_or_default();
        assert_eq!(m.get("x").map(String::as_str), Some("y"));
        assert!(kv_pairs(Some(&json!("novalue"))).is_err());
    }

    /// `policies` as a string is one policy, not a comma list (OpenBao's TypeStringSlice).
    #[test]
    fn policies_string_is_one_element() {
        assert_eq!(string_slice(Some(&json!("a,b")), "policies").ok(), Some(vec!["a,b".to_string()]));
        assert_eq!(
            string_slice(Some(&json!(["a", "b"])), "policies").ok(),
            Some(vec!["a".to_string(), "b".to_string()])
        );
    }
}
