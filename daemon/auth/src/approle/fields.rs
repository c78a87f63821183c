//! `role/<name>/<field>`: OpenBao's per-field endpoints, which read, set or reset one property
//! of an existing role (`policies`, `secret-id-num-uses`, `secret-id-ttl`, `token-ttl`,
//! `token-max-ttl`, `token-num-uses`, `bound-cidr-list`, `secret-id-bound-cidrs`,
//! `token-bound-cidrs`, `period`).
use super::{max_lease_ttl, AppRole};
use crate::cidr;
use crate::token_params::{bad, field_duration, field_int, field_string_list, parse_policies, upgrade};
use coffer_logical::{LogicalError, Request, Response, Result, View};
use serde_json::{json, Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    Policies,
    SecretIdNumUses,
    SecretIdTtl,
    TokenTtl,
    TokenMaxTtl,
    TokenNumUses,
    BoundCidrList,
    SecretIdBoundCidrs,
    TokenBoundCidrs,
    Period,
}

impl Field {
    pub(super) fn from_segment(seg: &str) -> Option<Field> {
        Some(match seg {
            "policies" => Field::Policies,
            "secret-id-num-uses" => Field::SecretIdNumUses,
            "secret-id-ttl" => Field::SecretIdTtl,
            "token-ttl" => Field::TokenTtl,
            "token-max-ttl" => Field::TokenMaxTtl,
            "token-num-uses" => Field::TokenNumUses,
            "bound-cidr-list" => Field::BoundCidrList,
            "secret-id-bound-cidrs" => Field::SecretIdBoundCidrs,
            "token-bound-cidrs" => Field::TokenBoundCidrs,
            "period" => Field::Period,
            _ => return None,
        })
    }
}

fn one(name: &str, value: Value) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(name.into(), value);
    m
}

impl AppRole {
    pub(super) async fn read_field(&self, view: &View, name: &str, field: Field) -> Result<Response> {
        let role = self.load_role(view, name).await?.ok_or(LogicalError::NotFound)?;
        let t = &role.token;
        let nullable = |l: &Vec<String>| if l.is_empty() { Value::Null } else { json!(l) };
        let data = match field {
            Field::Policies => {
                let mut m = one("token_policies", json!(t.token_policies));
                if !role.policies.is_empty() {
                    m.insert("policies".into(), json!(role.policies));
                }
                m
            }
            Field::SecretIdNumUses => one("secret_id_num_uses", json!(role.secret_id_num_uses)),
            Field::SecretIdTtl => one("secret_id_ttl", json!(role.secret_id_ttl)),
            Field::TokenTtl => one("token_ttl", json!(t.token_ttl)),
            Field::TokenMaxTtl => one("token_max_ttl", json!(t.token_max_ttl)),
            Field::TokenNumUses => one("token_num_uses", json!(t.token_num_uses)),
            Field::BoundCidrList => {
                // Stored lists were upgraded to secret_id_bound_cidrs; the old field reads empty.
                return Ok(Response::data(one("bound_cidr_list", Value::Null)).with_warning(
                    "The \"bound_cidr_list\" field is deprecated and will be removed. Please use \"secret_id_bound_cidrs\" instead.",
                ));
            }
            Field::SecretIdBoundCidrs => one("secret_id_bound_cidrs", json!(role.secret_id_bound_cidrs)),
            Field::TokenBoundCidrs => one("token_bound_cidrs", nullable(&t.token_bound_cidrs)),
            Field::Period => {
                let mut m = one("token_period", json!(t.token_period));
                if role.period != 0 {
                    m.insert("period".into(), json!(role.period));
                }
                m
            }
        };
        Ok(Response::data(data))
    }

    pub(super) async fn write_field(&self, req: &Request, view: &View, name: &str, field: Field) -> Result<Response> {
        let _guard = self.role_lock(view, name).lock().await;
        let mut role = self.load_role(view, name).await?.ok_or(LogicalError::UnsupportedPath)?;
        let given = |n: &str| req.get(n).is_some_and(|v| !v.is_null());
        let missing = |n: &str| bad(format!("missing {n}"));
        match field {
            Field::Policies => {
                let new = field_string_list(req, "token_policies")?;
                let old = field_string_list(req, "policies")?.map(parse_policies);
                if new.is_none() && old.is_none() {
                    return Err(missing("token_policies"));
                }
                let new_given = new.is_some();
                if let Some(p) = new {
                    role.token.token_policies = p;
                }
                upgrade(old, new_given, &mut role.policies, &mut role.token.token_policies);
            }
            Field::SecretIdNumUses => {
                let n = field_int(req, "secret_id_num_uses")?.ok_or_else(|| missing("secret_id_num_uses"))?;
                if n < 0 {
                    return Err(bad("secret_id_num_uses cannot be negative"));
                }
                role.secret_id_num_uses = n;
            }
            Field::SecretIdTtl => {
                role.secret_id_ttl = field_duration(req, "secret_id_ttl")?.ok_or_else(|| missing("secret_id_ttl"))?;
            }
            Field::TokenTtl => {
                let ttl = field_duration(req, "token_ttl")?.ok_or_else(|| missing("token_ttl"))?;
                if role.token.token_max_ttl > 0 && ttl > role.token.token_max_ttl {
                    return Err(bad("token_ttl should not be greater than token_max_ttl"));
                }
                role.token.token_ttl = ttl;
            }
            Field::TokenMaxTtl => {
                let max = field_duration(req, "token_max_ttl")?.ok_or_else(|| missing("token_max_ttl"))?;
                if max > 0 && role.token.token_ttl > max {
                    return Err(bad("token_max_ttl should be greater than or equal to token_ttl"));
                }
                role.token.token_max_ttl = max;
            }
            Field::TokenNumUses => {
                let n = field_int(req, "token_num_uses")?.ok_or_else(|| missing("token_num_uses"))?;
                role.token.token_num_uses = u32::try_from(n).map_err(|_| bad("'token_num_uses' cannot be negative"))?;
            }
            Field::BoundCidrList | Field::SecretIdBoundCidrs => {
                let list = match field_string_list(req, "secret_id_bound_cidrs")? {
                    Some(l) => Some(l),
                    None => field_string_list(req, "bound_cidr_list")?,
                };
                if let Some(list) = list {
                    if list.is_empty() {
                        return Err(missing("bound_cidr_list"));
                    }
                    cidr::validate_cidr_list(&list).map_err(|e| bad(format!("failed to validate CIDR blocks: {e}")))?;
                    role.secret_id_bound_cidrs = Some(list);
                }
            }
            Field::TokenBoundCidrs => {
                if let Some(list) = field_string_list(req, "token_bound_cidrs")? {
                    role.token.token_bound_cidrs =
                        cidr::parse_addrs(&list).map_err(|e| bad(format!("failed to parse token_bound_cidrs: {e}")))?;
                }
            }
            Field::Period => {
                let new = field_duration(req, "token_period")?;
                let old = field_duration(req, "period")?;
                if new.is_none() && old.is_none() {
                    return Err(missing("period"));
                }
                if let Some(p) = new {
                    role.token.token_period = p;
                }
                upgrade(old, given("token_period"), &mut role.period, &mut role.token.token_period);
                let max = max_lease_ttl(req);
                if role.token.token_period > max {
                    return Err(bad(format!(
                        "period of {:?} is greater than the backend's maximum lease TTL of {:?}",
                        super::go_duration(role.token.token_period),
                        super::go_duration(max)
                    )));
                }
            }
        }
        let role_id = role.role_id.clone();
        self.save_role(view, &role, &role_id).await?;
        Ok(Response::no_content())
    }

    pub(super) async fn delete_field(&self, view: &View, name: &str, field: Field) -> Result<Response> {
        let _guard = self.role_lock(view, name).lock().await;
        let Some(mut role) = self.load_role(view, name).await? else {
            return Ok(Response::no_content());
        };
        match field {
            Field::Policies => {
                role.token.token_policies.clear();
                role.policies.clear();
            }
            Field::SecretIdNumUses => role.secret_id_num_uses = 0,
            Field::SecretIdTtl => role.secret_id_ttl = 0,
            Field::TokenTtl => role.token.token_ttl = 0,
            Field::TokenMaxTtl => role.token.token_max_ttl = 0,
            Field::TokenNumUses => role.token.token_num_uses = 0,
            Field::BoundCidrList | Field::SecretIdBoundCidrs => role.secret_id_bound_cidrs = None,
            Field::TokenBoundCidrs => role.token.token_bound_cidrs.clear(),
            Field::Period => {
                role.token.token_period = 0;
                role.period = 0;
            }
        }
        let role_id = role.role_id.clone();
        self.save_role(view, &role, &role_id).await?;
        Ok(Response::no_content())
    }
}
