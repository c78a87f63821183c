//! Identity templates in policy paths (`path "secret/data/{{identity.entity.id}}/*"`).
//!
//! A templated stanza applies only to tokens with an identity; a parameter that cannot be
//! resolved drops the stanza (OpenBao skips paths whose templating fails).

use crate::Policy;
use std::collections::HashMap;

/// What templates can refer to.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub entity_id: String,
    pub entity_name: String,
    pub entity_metadata: HashMap<String, String>,
    pub aliases: Vec<IdentityAlias>,
    pub groups: Vec<IdentityGroup>,
}

/// An entity alias, looked up by its auth mount's accessor.
#[derive(Debug, Clone, Default)]
pub struct IdentityAlias {
    pub mount_accessor: String,
    pub id: String,
    pub name: String,
    pub metadata: HashMap<String, String>,
    pub custom_metadata: HashMap<String, String>,
}

#[derive(Debug, Clone, Default)]
pub struct IdentityGroup {
    pub id: String,
    pub name: String,
    pub metadata: HashMap<String, String>,
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

fn resolve(expr: &str, id: &Identity) -> Option<String> {
    if id.entity_id.is_empty() {
        return None;
    }
    if let Some(rest) = expr.strip_prefix("identity.entity.") {
        return match rest {
            "id" => non_empty(&id.entity_id),
            "name" => non_empty(&id.entity_name),
            _ => {
                if let Some(k) = rest.strip_prefix("metadata.") {
                    return id.entity_metadata.get(k).cloned();
                }
                let rest = rest.strip_prefix("aliases.")?;
                // The accessor never holds a dot; the field follows it.
                let (accessor, field) = rest.split_once('.')?;
                let alias = id.aliases.iter().find(|a| a.mount_accessor == accessor)?;
                match field {
                    "id" => non_empty(&alias.id),
                    "name" => non_empty(&alias.name),
                    f => {
                        if let Some(k) = f.strip_prefix("metadata.") {
                            alias.metadata.get(k).cloned()
                        } else if let Some(k) = f.strip_prefix("custom_metadata.") {
                            alias.custom_metadata.get(k).cloned()
                        } else {
                            None
                        }
                    }
                }
            }
        };
    }
    if let Some(rest) = expr.strip_prefix("identity.groups.ids.") {
        let (gid, field) = rest.split_once('.')?;
        let g = id.groups.iter().find(|g| g.id == gid)?;
        return match field {
            "name" => non_empty(&g.name),
            f => g.metadata.get(f.strip_prefix("metadata.")?).cloned(),
        };
    }
    if let Some(rest) = expr.strip_prefix("identity.groups.names.") {
        let (name, field) = rest.split_once('.')?;
        let g = id.groups.iter().find(|g| g.name == name)?;
        return match field {
            "id" => non_empty(&g.id),
            f => g.metadata.get(f.strip_prefix("metadata.")?).cloned(),
        };
    }
    None
}

/// The path with every `{{...}}` filled from `id`, or `None` when one cannot be.
pub(crate) fn fill(path: &str, id: &Identity, policy: &Policy) -> Option<String> {
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after.find("}}")?;
        let value = resolve(after[..close].trim(), id)?;
        if !policy.allow_slashes_in_identity_templates && value.contains('/') {
            return None;
        }
        if !policy.allow_wildcards_in_identity_templates && (value.contains('*') || value.contains('+')) {
            return None;
        }
        out.push_str(&value);
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Some(out)
}
