//! Token roles (`auth/token/roles/:name`): stored settings that `create/:name` applies.
use crate::error::{Result, TokenError};
use crate::policy::{remove_duplicates, sanitize};
use crate::ttl::duration_second_field;
use coffer_logical::params;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// OpenBao's role token types: a fixed type, or a default the request may override.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum RoleTokenType {
    #[serde(rename = "service")]
    Service,
    #[serde(rename = "batch")]
    Batch,
    #[default]
    #[serde(rename = "default-service")]
    DefaultService,
    #[serde(rename = "default-batch")]
    DefaultBatch,
}

impl RoleTokenType {
    pub fn as_str(&self) -> &'static str {
        match self {
            RoleTokenType::Service => "service",
            RoleTokenType::Batch => "batch",
            RoleTokenType::DefaultService => "default-service",
            RoleTokenType::DefaultBatch => "default-batch",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct Role {
    pub name: String,
    pub allowed_policies: Vec<String>,
    pub disallowed_policies: Vec<String>,
    pub allowed_policies_glob: Vec<String>,
    pub disallowed_policies_glob: Vec<String>,
    pub orphan: bool,
    /// Deprecated `period`, kept as set so a read shows it.
    pub period: u64,
    pub path_suffix: String,
    pub renewable: bool,
    /// Deprecated `explicit_max_ttl`.
    pub explicit_max_ttl: u64,
    /// Deprecated `bound_cidrs`.
    pub bound_cidrs: Vec<String>,
    /// Accepted and shown; entity aliases are not supported (no identity store).
    pub allowed_entity_aliases: Option<Vec<String>>,
    pub token_period: u64,
    pub token_explicit_max_ttl: u64,
    pub token_type: RoleTokenType,
    pub token_no_default_policy: bool,
    pub token_num_uses: i64,
    pub token_bound_cidrs: Vec<String>,
}

/// `framework.GenericNameRegex`: `\w(([\w-.@]+)?\w)?`.
pub(crate) fn valid_name(name: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let chars: Vec<char> = name.chars().collect();
    match chars.len() {
        0 => false,
        1 => word(chars[0]),
        n => word(chars[0]) && word(chars[n - 1]) && chars[1..n - 1].iter().all(|&c| word(c) || "-.@".contains(c)),
    }
}

/// `\w[\w-.]+\w` found anywhere in the suffix (OpenBao uses `MatchString`, unanchored).
fn suffix_ok(s: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let chars: Vec<char> = s.chars().collect();
    // Any window start..end with word at both ends and [\w-.] inside, at least 3 long.
    let mut i = 0;
    while i < chars.len() {
        if word(chars[i]) {
            let mut j = i + 1;
            while j < chars.len() && (word(chars[j]) || chars[j] == '-' || chars[j] == '.') {
                j += 1;
            }
            // chars[i..j] is a maximal run; it matches if it has a word char at position >= i+2.
            if (i + 2..j).any(|k| word(chars[k])) {
                return true;
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    false
}

fn comma_list(v: Option<&Value>, name: &str) -> Result<Option<Vec<String>>> {
    params::string_list(v, name).map_err(TokenError::from)
}

fn cidrs(list: &[String]) -> std::result::Result<Vec<String>, String> {
    let mut out = Vec::with_capacity(list.len());
    for c in list {
        let c = c.trim();
        let ok = match c.split_once('/') {
            Some((addr, len)) => {
                let ip: Option<std::net::IpAddr> = addr.parse().ok();
                let max = if matches!(ip, Some(std::net::IpAddr::V4(_))) { 32 } else { 128 };
                ip.is_some() && len.parse::<u8>().is_ok_and(|l| l <= max)
            }
            None => c.parse::<std::net::IpAddr>().is_ok(),
        };
        if !ok {
            return Err(format!("invalid CIDR {c:?}"));
        }
        out.push(c.to_string());
    }
    Ok(out)
}

impl Role {
    /// `tokenStoreRoleCreateUpdate`: applies the request's fields to `existing` (or to a new
    /// role), returning the role to store and any warnings. `max_lease_ttl` is the mount's.
    pub(crate) fn apply(
        name: &str,
        existing: Option<Role>,
        data: &Map<String, Value>,
        max_lease_ttl: u64,
    ) -> Result<(Role, Vec<String>)> {
        let create = existing.is_none();
        let mut r = existing.unwrap_or_else(|| Role { name: name.to_string(), renewable: true, ..Role::default() });
        let mut warnings = Vec::new();
        let get = |k: &str| data.get(k);

        if let Some(b) = params::boolean(get("orphan"), "orphan")? {
            r.orphan = b;
        }
        match params::boolean(get("renewable"), "renewable")? {
            Some(b) => r.renewable = b,
            None if create => r.renewable = true,
            None => {}
        }
        if let Some(s) = params::string(get("path_suffix"), "path_suffix")? {
            if !s.is_empty() && !suffix_ok(&s) {
                return Err(TokenError::bad(
                    "given role path suffix contains invalid characters; must match \\w[\\w-.]+\\w",
                ));
            }
            r.path_suffix = s;
        }
        if r.path_suffix.contains("..") {
            return Err(TokenError::bad("error registering path suffix: path cannot contain parent references"));
        }
        if let Some(l) = comma_list(get("allowed_policies"), "allowed_policies")? {
            r.allowed_policies = sanitize(&l, false);
        }
        if let Some(l) = comma_list(get("disallowed_policies"), "disallowed_policies")? {
            r.disallowed_policies = remove_duplicates(&l, true);
        }
        if let Some(l) = comma_list(get("allowed_policies_glob"), "allowed_policies_glob")? {
            r.allowed_policies_glob = sanitize(&l, false);
        }
        if let Some(l) = comma_list(get("disallowed_policies_glob"), "disallowed_policies_glob")? {
            r.disallowed_policies_glob = remove_duplicates(&l, true);
        }

        let new_type = match data.get("token_type") {
            None => None,
            Some(Value::Null) => return Err(TokenError::bad("Invalid 'token_type' value: null")),
            Some(Value::String(s)) => Some(match s.as_str() {
                "service" => RoleTokenType::Service,
                "batch" => RoleTokenType::Batch,
                "default-service" | "default" | "" => RoleTokenType::DefaultService,
                "default-batch" => RoleTokenType::DefaultBatch,
                other => return Err(TokenError::bad(format!("invalid 'token_type' value {other:?}"))),
            }),
            Some(other) => return Err(TokenError::bad(format!("invalid 'token_type' value {:?}", other.to_string()))),
        };
        if let Some(t) = new_type {
            r.token_type = t;
        }
        if let Some(b) = params::boolean(get("token_no_default_policy"), "token_no_default_policy")? {
            r.token_no_default_policy = b;
        }

        let dur = |k: &str| duration_second_field(get(k), k).map_err(TokenError::InvalidRequest);
        match dur("token_period")? {
            Some(p) => {
                if get("period").is_some() {
                    warnings.push(
                        "Both 'token_period' and deprecated 'period' value supplied, ignoring the deprecated value"
                            .to_string(),
                    );
                }
                r.token_period = p as u64;
                r.period = 0;
            }
            None => {
                if let Some(p) = dur("period")? {
                    r.period = p as u64;
                    r.token_period = p as u64;
                }
            }
        }

        let list_cidrs = |k: &str| -> Result<Option<Vec<String>>> {
            match comma_list(get(k), k)? {
                Some(l) => cidrs(&l).map(Some).map_err(|e| TokenError::bad(format!("error parsing role fields: {e}"))),
                None => Ok(None),
            }
        };
        match list_cidrs("token_bound_cidrs")? {
            Some(c) => {
                if get("bound_cidrs").is_some() {
                    warnings.push("Both 'token_bound_cidrs' and deprecated 'bound_cidrs' value supplied, ignoring the deprecated value".to_string());
                }
                r.token_bound_cidrs = c;
                r.bound_cidrs = Vec::new();
            }
            None => {
                if let Some(c) = list_cidrs("bound_cidrs")? {
                    r.bound_cidrs = c.clone();
                    r.token_bound_cidrs = c;
                }
            }
        }

        let final_explicit = match dur("token_explicit_max_ttl")? {
            Some(e) => {
                if get("explicit_max_ttl").is_some() {
                    warnings.push("Both 'token_explicit_max_ttl' and deprecated 'explicit_max_ttl' value supplied, ignoring the deprecated value".to_string());
                }
                r.token_explicit_max_ttl = e as u64;
                r.explicit_max_ttl = 0;
                r.token_explicit_max_ttl
            }
            None => {
                if let Some(e) = dur("explicit_max_ttl")? {
                    r.explicit_max_ttl = e as u64;
                    r.token_explicit_max_ttl = e as u64;
                }
                r.explicit_max_ttl
            }
        };
        if final_explicit != 0 && max_lease_ttl != 0 && final_explicit > max_lease_ttl {
            warnings.push(format!(
                "Given explicit max TTL of {final_explicit} is greater than system/mount allowed value of {max_lease_ttl} seconds; until this is fixed attempting to create tokens against this role will result in an error"
            ));
        }

        if let Some(n) = params::int(get("token_num_uses"), "token_num_uses")? {
            if n < 0 {
                return Err(TokenError::bad("error parsing role fields: 'token_num_uses' cannot be negative"));
            }
            r.token_num_uses = n;
        }

        if r.token_type == RoleTokenType::Batch {
            if !r.orphan {
                return Err(TokenError::bad(
                    "'token_type' cannot be 'batch' when role is set to generate non-orphan tokens",
                ));
            }
            if r.period != 0 || r.token_period != 0 {
                return Err(TokenError::bad(
                    "'token_type' cannot be 'batch' when role is set to generate periodic tokens",
                ));
            }
            if r.renewable {
                return Err(TokenError::bad(
                    "'token_type' cannot be 'batch' when role is set to generate renewable tokens",
                ));
            }
            if r.explicit_max_ttl != 0 || r.token_explicit_max_ttl != 0 {
                return Err(TokenError::bad(
                    "'token_type' cannot be 'batch' when role is set to generate tokens with an explicit max TTL",
                ));
            }
        }

        if let Some(l) = comma_list(get("allowed_entity_aliases"), "allowed_entity_aliases")? {
            r.allowed_entity_aliases = Some(remove_duplicates(&l, true));
        }
        Ok((r, warnings))
    }

    /// The `data` of a role read.
    pub(crate) fn to_data(&self) -> Map<String, Value> {
        let arr = |v: &[String]| Value::Array(v.iter().cloned().map(Value::String).collect());
        let mut d = Map::new();
        d.insert("period".into(), Value::from(self.period));
        d.insert("token_period".into(), Value::from(self.token_period));
        d.insert("explicit_max_ttl".into(), Value::from(self.explicit_max_ttl));
        d.insert("token_explicit_max_ttl".into(), Value::from(self.token_explicit_max_ttl));
        d.insert("disallowed_policies".into(), arr(&self.disallowed_policies));
        d.insert("allowed_policies".into(), arr(&self.allowed_policies));
        d.insert("disallowed_policies_glob".into(), arr(&self.disallowed_policies_glob));
        d.insert("allowed_policies_glob".into(), arr(&self.allowed_policies_glob));
        d.insert("name".into(), Value::String(self.name.clone()));
        d.insert("orphan".into(), Value::Bool(self.orphan));
        d.insert("path_suffix".into(), Value::String(self.path_suffix.clone()));
        d.insert("renewable".into(), Value::Bool(self.renewable));
        d.insert("token_type".into(), Value::String(self.token_type.as_str().into()));
        d.insert(
            "allowed_entity_aliases".into(),
            self.allowed_entity_aliases.as_ref().map(|a| arr(a)).unwrap_or(Value::Null),
        );
        d.insert("token_no_default_policy".into(), Value::Bool(self.token_no_default_policy));
        if !self.token_bound_cidrs.is_empty() {
            d.insert("token_bound_cidrs".into(), arr(&self.token_bound_cidrs));
        }
        if !self.bound_cidrs.is_empty() {
            d.insert("bound_cidrs".into(), arr(&self.bound_cidrs));
        }
        if self.token_num_uses > 0 {
            d.insert("token_num_uses".into(), Value::from(self.token_num_uses));
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Role names follow OpenBao's generic name pattern.
    #[test]
    fn role_names_follow_generic_name_regex() {
        assert!(valid_name("r1") && valid_name("a") && valid_name("my-role.v2@x"));
        assert!(!valid_name("") && !valid_name("-a") && !valid_name("a b") && !valid_name("a/b"));
    }

    /// Path suffixes follow OpenBao's (unanchored) check.
    #[test]
    fn path_suffix_check() {
        assert!(suffix_ok("sfx") && suffix_ok("v1.2") && suffix_ok("a-b"));
        assert!(!suffix_ok("ab") && !suffix_ok("a b") && !suffix_ok("!!"));
    }
}
