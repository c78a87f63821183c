//! OpenBao's ACL policy language: policies in HCL or JSON are parsed once into checked path
//! rules ([`Policy::parse`]), a token's set of policies is compiled once into an [`Acl`], and
//! the ACL answers each request ([`Acl::check`]) and `sys/capabilities` ([`Acl::capabilities`]).
//!
//! Behaviour follows OpenBao 2.7.2: HCL 1 syntax and its error texts, capabilities `create`,
//! `read`, `update`, `patch`, `delete`, `list`, `scan`, `sudo` and `deny` (which wins), exact
//! paths, `*` prefix globs at the end, `+` single-segment wildcards, Vault's priority order when
//! several patterns match, merging of identical patterns across policies, allowed / denied /
//! required parameters with value globs, wrapping TTL bounds, the legacy `policy = "..."`
//! shorthand, and the 2.x additions `expiration`, `pagination_limit` and
//! `list_scan_response_keys_filter_path`.
#![forbid(unsafe_code)]

mod acl;
mod filter;
mod goutil;
mod hcl1;
mod policy;
mod template;

pub use acl::{Acl, AclDecision, AclRequest};
pub use filter::FilterTemplate;
pub use policy::{PathRule, PatternKind};
pub use template::{Identity, IdentityAlias, IdentityGroup};

/// Capability bits of [`PathRule::capabilities`] (OpenBao's values).
pub mod caps {
    pub const DENY: u32 = 1 << 0;
    pub const CREATE: u32 = 1 << 1;
    pub const READ: u32 = 1 << 2;
    pub const UPDATE: u32 = 1 << 3;
    pub const DELETE: u32 = 1 << 4;
    pub const LIST: u32 = 1 << 5;
    pub const SUDO: u32 = 1 << 6;
    pub const PATCH: u32 = 1 << 7;
    pub const SCAN: u32 = 1 << 8;
    /// Number of capability bits.
    pub const COUNT: usize = 9;
}

/// Why a policy was refused. The text is OpenBao's, ready for `{"errors":[...]}`.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum PolicyError {
    /// The text is not valid HCL or JSON.
    #[error("{0}")]
    Parse(String),
    /// Valid syntax, but not a valid policy (unknown key or capability, bad value type, ...).
    #[error("{0}")]
    Invalid(String),
    /// The name is reserved for the operation (`root` cannot be written or deleted, `default`
    /// cannot be deleted).
    #[error("{0}")]
    Reserved(String),
}

/// A parsed policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Lowercased, as OpenBao stores names.
    pub name: String,
    /// The text as written (returned by `sys/policy/<name>`).
    pub raw: String,
    /// Some path uses `{{identity...}}` templates.
    pub templated: bool,
    /// Policy-store options for templates (OpenBao's `allow_slashes_in_identity_templates` and
    /// `allow_wildcards_in_identity_templates`); both false unless the core sets them.
    pub allow_slashes_in_identity_templates: bool,
    pub allow_wildcards_in_identity_templates: bool,
    paths: Vec<PathRule>,
}

impl Policy {
    /// Parses and validates `text` (HCL, or JSON when it starts with `{`) under `name`.
    /// Stanzas whose `expiration` has passed are dropped.
    pub fn parse(name: &str, text: &str) -> Result<Policy, PolicyError> {
        let name = name.to_lowercase();
        check_writable(&name)?;
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        let paths = policy::parse_rules(text, now)?;
        Ok(Policy {
            name,
            raw: text.to_string(),
            templated: paths.iter().any(|p| p.templated),
            allow_slashes_in_identity_templates: false,
            allow_wildcards_in_identity_templates: false,
            paths,
        })
    }

    /// The validated path stanzas, in the order written.
    pub fn paths(&self) -> &[PathRule] {
        &self.paths
    }
}

/// Refuses names that cannot be written: `root` (OpenBao: `cannot update "root" policy`).
pub fn check_writable(name: &str) -> Result<(), PolicyError> {
    if name.to_lowercase() == "root" {
        return Err(PolicyError::Reserved("cannot update \"root\" policy".into()));
    }
    Ok(())
}

/// Refuses names that cannot be deleted, with OpenBao's texts.
pub fn check_deletable(name: &str) -> Result<(), PolicyError> {
    match name.to_lowercase().as_str() {
        "root" => Err(PolicyError::Reserved("cannot delete \"root\" policy".into())),
        "default" => Err(PolicyError::Reserved("cannot delete default policy".into())),
        _ => Ok(()),
    }
}

/// The built-in `default` policy exactly as OpenBao 2.7.2 ships it (`bao policy read default`
/// on a fresh dev server; the stored text starts with a newline).
pub fn default_policy_text() -> &'static str {
    include_str!("default_policy.hcl")
}
