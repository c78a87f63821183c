//! The compiled form of a set of policies and the per-request decision.
//!
//! Rules of the same pattern are merged across all policies once, when the ACL is built
//! (union of capabilities, deny absorbing everything, parameter lists joined, the lesser
//! wrapping TTLs kept). A request is then answered from three structures:
//! - exact and `*` prefix patterns share one radix tree, walked once over the request path;
//! - `+` patterns are kept sorted from highest to lowest priority, so the first that matches is
//!   the best one, and only it is compared with the longest prefix match.
//!
//! No allocation happens on the allowed path of [`Acl::check`] unless a parameter name has
//! upper-case letters (it is lowercased for the lookup).

use crate::goutil::{globbed_strings_match, parse_int};
use crate::policy::{PathRule, PatternKind};
use crate::{caps, Policy};
use serde_json::{Map, Value};
use std::cmp::{Ordering, Reverse};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// One request as the ACL sees it.
#[derive(Debug, Clone, Copy)]
pub struct AclRequest<'a> {
    /// The request path without `/v1/` (a leading `/` is ignored).
    pub path: &'a str,
    /// The capability the operation needs: `read`, `create`, `update`, `delete`, `list`,
    /// `patch` or `scan` (`revoke`, `renew` and `rollback` count as `update`; `help` is always
    /// allowed).
    pub operation: &'a str,
    /// The request's parameters (body or query), checked against the parameter rules.
    pub params: Option<&'a Map<String, Value>>,
    /// The response-wrapping TTL the client asked for, if any.
    pub wrap_ttl: Option<Duration>,
}

/// The outcome for one request.
#[derive(Debug, Clone)]
pub struct AclDecision {
    pub allowed: bool,
    /// The matching rule also grants `sudo` (needed on root-protected paths).
    pub sudo: bool,
    /// Why the request was denied, for logs only: clients see "permission denied".
    pub reason: Option<String>,
    /// The policies whose rules granted the operation (for audit `policy_results`).
    pub granting_policies: Arc<[String]>,
    /// The token is a root token (the ACL allows everything).
    pub is_root: bool,
    /// For list and scan: the value the core must put into the request's `limit` parameter
    /// before routing (`pagination_limit` applied, or `0` for `limit=max` without one).
    pub set_limit: Option<i64>,
    /// For list and scan: the rule's `list_scan_response_keys_filter_path` template.
    pub response_keys_filter_path: Option<Arc<str>>,
}

/// Merged permissions of one pattern.
#[derive(Debug, Clone)]
struct Perms {
    caps: u32,
    min_wrap: i64,
    max_wrap: i64,
    allowed: Option<HashMap<String, Vec<Value>>>,
    denied: Option<HashMap<String, Vec<Value>>>,
    required: Vec<String>,
    pagination_limit: i64,
    filter_path: Option<Arc<str>>,
    /// Policy names granting each capability bit (index = bit position), during the build.
    granting: [Vec<String>; caps::COUNT],
    /// The same, frozen for cheap clones into decisions.
    granting_frozen: [Arc<[String]>; caps::COUNT],
}

const NONE: u32 = u32::MAX;

/// A radix tree over bytes holding exact and prefix patterns.
#[derive(Debug, Clone)]
struct Radix {
    nodes: Vec<RNode>,
}

#[derive(Debug, Clone)]
struct RNode {
    label: Box<[u8]>,
    first: Vec<u8>,
    children: Vec<u32>,
    exact: u32,
    prefix: u32,
}

impl RNode {
    fn new(label: &[u8]) -> Self {
        RNode { label: label.into(), first: Vec::new(), children: Vec::new(), exact: NONE, prefix: NONE }
    }
}

/// What one walk of the tree found.
struct Walk {
    exact: u32,
    /// The exact value for the path without its last byte (for list's trailing `/`).
    exact_trimmed: u32,
    /// Longest prefix pattern: (perms index, pattern length).
    prefix: Option<(u32, usize)>,
}

impl Radix {
    fn new() -> Self {
        Radix { nodes: vec![RNode::new(b"")] }
    }

    fn child(&self, n: usize, b: u8) -> Option<usize> {
        let node = &self.nodes[n];
        node.first.iter().position(|&f| f == b).map(|i| node.children[i] as usize)
    }

    /// The node for `key`, created (splitting edges) when missing.
    fn insert(&mut self, key: &[u8]) -> usize {
        let mut n = 0;
        let mut rest = key;
        loop {
            if rest.is_empty() {
                return n;
            }
            let Some(c) = self.child(n, rest[0]) else {
                let id = self.nodes.len();
                self.nodes.push(RNode::new(rest));
                self.nodes[n].first.push(rest[0]);
                self.nodes[n].children.push(id as u32);
                return id;
            };
            let label = self.nodes[c].label.clone();
            let common = label.iter().zip(rest).take_while(|(a, b)| a == b).count();
            if common == label.len() {
                n = c;
                rest = &rest[common..];
                continue;
            }
            // Split the edge: n -> mid (label[..common]) -> c (label[common..]).
            let mid = self.nodes.len();
            let mut m = RNode::new(&label[..common]);
            m.first.push(label[common]);
            m.children.push(c as u32);
            self.nodes.push(m);
            self.nodes[c].label = label[common..].into();
            if let Some(slot) = self.nodes[n].children.iter_mut().find(|x| **x == c as u32) {
                *slot = mid as u32;
            }
            n = mid;
            rest = &rest[common..];
        }
    }

    fn walk(&self, path: &[u8]) -> Walk {
        let mut w = Walk { exact: NONE, exact_trimmed: NONE, prefix: None };
        let mut n = 0;
        let mut i = 0;
        loop {
            let node = &self.nodes[n];
            if node.prefix != NONE {
                w.prefix = Some((node.prefix, i));
            }
            if i + 1 == path.len() {
                w.exact_trimmed = node.exact;
            }
            if i == path.len() {
                w.exact = node.exact;
                return w;
            }
            let Some(c) = self.child(n, path[i]) else { return w };
            let label = &self.nodes[c].label;
            if path.len() - i < label.len() || path[i..i + label.len()] != label[..] {
                return w;
            }
            i += label.len();
            n = c;
        }
    }

    /// Every value stored at or below keys starting with `prefix`, in no particular order.
    fn values_under(&self, prefix: &[u8], exact: bool, out: &mut Vec<u32>) {
        let mut n = 0;
        let mut i = 0;
        while i < prefix.len() {
            let Some(c) = self.child(n, prefix[i]) else { return };
            let label = &self.nodes[c].label;
            let take = label.len().min(prefix.len() - i);
            if label[..take] != prefix[i..i + take] {
                return;
            }
            i += take;
            n = c;
        }
        let mut stack = vec![n];
        while let Some(n) = stack.pop() {
            let node = &self.nodes[n];
            let v = if exact { node.exact } else { node.prefix };
            if v != NONE {
                out.push(v);
            }
            stack.extend(node.children.iter().map(|c| *c as usize));
        }
    }
}

#[derive(Debug, Clone)]
enum Seg {
    Any,
    Lit(Box<str>),
}

/// A pattern with `+` segments.
#[derive(Debug, Clone)]
struct SegPattern {
    segs: Box<[Seg]>,
    is_prefix: bool,
    /// Byte index of the first `+` in the pattern as written.
    first_wc: usize,
    wildcards: usize,
    /// The pattern without its trailing `*`.
    wc_path: Box<str>,
    perms: u32,
}

/// Vault's priority order: a later first wildcard wins, then no trailing `*`, then fewer `+`,
/// then a longer pattern, then the lexically greater one.
type Priority<'a> = (usize, bool, Reverse<usize>, usize, &'a str);

fn priority(first_wc: usize, is_prefix: bool, wildcards: usize, wc_path: &str) -> Priority<'_> {
    (first_wc, !is_prefix, Reverse(wildcards), wc_path.len(), wc_path)
}

impl SegPattern {
    fn priority(&self) -> Priority<'_> {
        priority(self.first_wc, self.is_prefix, self.wildcards, &self.wc_path)
    }

    fn matches(&self, parts: &[&str]) -> bool {
        if parts.len() < self.segs.len() || (!self.is_prefix && parts.len() != self.segs.len()) {
            return false;
        }
        let last = self.segs.len() - 1;
        self.segs.iter().zip(parts).enumerate().all(|(i, (seg, part))| match seg {
            Seg::Any => true,
            Seg::Lit(l) => **l == **part || (self.is_prefix && i == last && part.starts_with(&**l)),
        })
    }

    /// The mount-visibility variant (OpenBao's `bareMount`): does a path this pattern allows
    /// lie under `mount` (which ends with `/`, split into `parts`)?
    fn reaches_under(&self, mount: &str, parts: &[&str]) -> bool {
        if parts.len() < 2 {
            return false;
        }
        let stop = parts.len() - 2;
        let last = self.segs.len() - 1;
        let mut taken: Vec<&str> = Vec::new();
        for (i, seg) in self.segs.iter().enumerate() {
            let Some(&part) = parts.get(i) else { return false };
            match seg {
                Seg::Any => taken.push(part),
                Seg::Lit(l) if **l == *part => taken.push(part),
                Seg::Lit(l) if self.is_prefix && i == last && part.starts_with(&**l) => taken.extend(&parts[i..]),
                Seg::Lit(_) => {}
            }
            if i == stop {
                let mut joined = taken.join("/");
                joined.push('/');
                return joined.starts_with(mount);
            }
        }
        false
    }
}

/// A compiled set of policies.
#[derive(Debug, Clone)]
pub struct Acl {
    root: bool,
    perms: Vec<Perms>,
    tree: Radix,
    segments: Vec<SegPattern>,
    empty: Arc<[String]>,
    root_granting: Arc<[String]>,
}

fn op_bit(op: &str) -> Option<u32> {
    Some(match op {
        "read" => caps::READ,
        "create" => caps::CREATE,
        "update" | "revoke" | "renew" | "rollback" => caps::UPDATE,
        "delete" => caps::DELETE,
        "list" => caps::LIST,
        "patch" => caps::PATCH,
        "scan" => caps::SCAN,
        _ => return None,
    })
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Merges `src` into the parameter map `dst` as OpenBao does: an empty list (any value)
/// absorbs values, otherwise the value lists are joined.
fn merge_params(dst: &mut Option<HashMap<String, Vec<Value>>>, src: &Option<HashMap<String, Vec<Value>>>) {
    let Some(src) = src.as_ref().filter(|s| !s.is_empty()) else { return };
    let Some(d) = dst.as_mut() else {
        *dst = Some(src.clone());
        return;
    };
    for (k, v) in src {
        let existing_empty = d.get(k).is_some_and(|e| e.is_empty());
        if v.is_empty() || existing_empty {
            d.insert(k.clone(), Vec::new());
        } else {
            let mut joined = v.clone();
            joined.extend(d.remove(k).unwrap_or_default());
            d.insert(k.clone(), joined);
        }
    }
}

/// Go's `reflect.DeepEqual` between a policy value and a request value. Request numbers reach
/// OpenBao's ACL as `json.Number`, which never equals a policy's int or float.
fn deep_equal(policy: &Value, req: &Value) -> bool {
    match (policy, req) {
        (Value::Null, Value::Null) => true,
        (Value::String(a), Value::String(b)) => a == b,
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Array(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| deep_equal(x, y)),
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        _ => false,
    }
}

/// `valueInParameterList`: an empty list allows any value; strings match with globs.
fn value_in_list(v: &Value, list: &[Value]) -> bool {
    if list.is_empty() {
        return true;
    }
    list.iter().any(|el| match (el, v) {
        (Value::String(item), Value::String(val)) => globbed_strings_match(item, val),
        _ => deep_equal(el, v),
    })
}

fn lookup_param<'m>(map: &'m HashMap<String, Vec<Value>>, key: &str) -> Option<&'m Vec<Value>> {
    if key.bytes().any(|b| b.is_ascii_uppercase() || b >= 0x80) {
        map.get(&key.to_lowercase())
    } else {
        map.get(key)
    }
}

/// `parseutil.SafeParseInt` for a `limit` parameter.
fn limit_value(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => parse_int(s, false).ok(),
        _ => None,
    }
}

impl Acl {
    /// The ACL of a root token: every request is allowed, with sudo.
    pub fn root() -> Acl {
        Acl {
            root: true,
            perms: Vec::new(),
            tree: Radix::new(),
            segments: Vec::new(),
            empty: Arc::from(Vec::new()),
            root_granting: Arc::from(vec!["root".to_string()]),
        }
    }

    /// Compiles a set of policies. A policy named `root` makes it a root ACL. Stanzas with
    /// identity templates are left out (there is no identity to fill them from); use
    /// [`Acl::with_identity`] for tokens that have one.
    pub fn new(policies: &[Arc<Policy>]) -> Acl {
        Acl::build(policies, None)
    }

    /// Like [`Acl::new`], filling `{{identity...}}` templates in paths from `identity`;
    /// stanzas whose templates cannot be filled are left out, as OpenBao does.
    pub fn with_identity(policies: &[Arc<Policy>], identity: &crate::template::Identity) -> Acl {
        Acl::build(policies, Some(identity))
    }

    fn build(policies: &[Arc<Policy>], identity: Option<&crate::template::Identity>) -> Acl {
        if policies.iter().any(|p| p.name == "root") {
            return Acl::root();
        }
        let now = unix_now();
        let mut perms: Vec<Perms> = Vec::new();
        let mut index: HashMap<(PatternKind, String), usize> = HashMap::new();
        for policy in policies {
            for rule in policy.paths() {
                if rule.expiration.is_some_and(|t| now > t) {
                    continue;
                }
                let (path, kind) = if rule.templated {
                    let Some(id) = identity else { continue };
                    let Some(filled) = crate::template::fill(&rule.key, id, policy) else { continue };
                    match crate::policy::classify(&filled) {
                        Ok(pk) => pk,
                        Err(_) => continue,
                    }
                } else {
                    (rule.path.clone(), rule.kind)
                };
                match index.get(&(kind, path.clone())) {
                    None => {
                        let mut p = Perms::from_rule(rule);
                        p.grant(&policy.name, rule.capabilities);
                        index.insert((kind, path), perms.len());
                        perms.push(p);
                    }
                    Some(&i) => perms[i].merge(rule, &policy.name),
                }
            }
        }
        for p in &mut perms {
            p.freeze();
        }
        let mut tree = Radix::new();
        let mut segments = Vec::new();
        for ((kind, path), i) in index {
            match kind {
                PatternKind::Exact => {
                    let n = tree.insert(path.as_bytes());
                    tree.nodes[n].exact = i as u32;
                }
                PatternKind::Prefix => {
                    let n = tree.insert(path.as_bytes());
                    tree.nodes[n].prefix = i as u32;
                }
                PatternKind::Segments => {
                    let first_wc = path.find('+').unwrap_or(0);
                    let (wc_path, is_prefix) = match path.strip_suffix('*') {
                        Some(p) => (p.to_string(), true),
                        None => (path.clone(), false),
                    };
                    let segs: Box<[Seg]> =
                        wc_path.split('/').map(|s| if s == "+" { Seg::Any } else { Seg::Lit(s.into()) }).collect();
                    let wildcards = segs.iter().filter(|s| matches!(s, Seg::Any)).count();
                    segments.push(SegPattern {
                        segs,
                        is_prefix,
                        first_wc,
                        wildcards,
                        wc_path: wc_path.into(),
                        perms: i as u32,
                    });
                }
            }
        }
        segments.sort_by(|a, b| b.priority().cmp(&a.priority()));
        Acl {
            root: false,
            perms,
            tree,
            segments,
            empty: Arc::from(Vec::new()),
            root_granting: Arc::from(vec!["root".to_string()]),
        }
    }

    pub fn is_root(&self) -> bool {
        self.root
    }

    /// The best non-exact match: the longest prefix pattern or the highest-priority `+` pattern.
    fn non_exact(&self, path: &str, prefix: Option<(u32, usize)>) -> Option<u32> {
        if self.segments.is_empty() {
            return prefix.map(|(i, _)| i);
        }
        let mut buf = [""; 32];
        let heap: Vec<&str>;
        let parts: &[&str] = if path.bytes().filter(|b| *b == b'/').count() < buf.len() {
            let mut n = 0;
            for (slot, part) in buf.iter_mut().zip(path.split('/')) {
                *slot = part;
                n += 1;
            }
            &buf[..n]
        } else {
            heap = path.split('/').collect();
            &heap
        };
        let seg = self.segments.iter().find(|s| s.matches(parts));
        match (seg, prefix) {
            (None, p) => p.map(|(i, _)| i),
            (Some(s), None) => Some(s.perms),
            (Some(s), Some((i, len))) => {
                let prefix_prio = priority(len, true, 0, path.get(..len).unwrap_or(path));
                match s.priority().cmp(&prefix_prio) {
                    Ordering::Greater => Some(s.perms),
                    _ => Some(i),
                }
            }
        }
    }

    /// The merged permissions that decide `path` for an operation (OpenBao's lookup order).
    fn find(&self, path: &str, list_or_scan: bool) -> Option<&Perms> {
        let w = self.tree.walk(path.as_bytes());
        if w.exact != NONE {
            return self.perms.get(w.exact as usize);
        }
        let trailing = path.ends_with('/');
        if list_or_scan && trailing && w.exact_trimmed != NONE {
            return self.perms.get(w.exact_trimmed as usize);
        }
        if let Some(i) = self.non_exact(path, w.prefix) {
            return self.perms.get(i as usize);
        }
        // Vault tries a list's path without its trailing `/` against prefix and `+` patterns
        // before the path itself; OpenBao 2.7.2 only falls back to it (a LIST of `s/a/` under
        // `s/a*` and `s/a/*` is decided by `s/a/*`, while `secret/a/teamb/` still reaches
        // `secret/+/teamb`).
        if list_or_scan && trailing {
            let trimmed = &path[..path.len() - 1];
            let tw = self.tree.walk(trimmed.as_bytes());
            return self.non_exact(trimmed, tw.prefix).and_then(|i| self.perms.get(i as usize));
        }
        None
    }

    fn deny(&self, reason: impl Into<String>, sudo: bool) -> AclDecision {
        AclDecision {
            allowed: false,
            sudo,
            reason: Some(reason.into()),
            granting_policies: self.empty.clone(),
            is_root: false,
            set_limit: None,
            response_keys_filter_path: None,
        }
    }

    /// Decides one request.
    pub fn check(&self, req: &AclRequest<'_>) -> AclDecision {
        if self.root {
            return AclDecision {
                allowed: true,
                sudo: true,
                reason: None,
                granting_policies: self.root_granting.clone(),
                is_root: true,
                set_limit: None,
                response_keys_filter_path: None,
            };
        }
        if req.operation == "help" {
            return AclDecision {
                allowed: true,
                sudo: false,
                reason: None,
                granting_policies: self.empty.clone(),
                is_root: false,
                set_limit: None,
                response_keys_filter_path: None,
            };
        }
        let Some(bit) = op_bit(req.operation) else {
            return self.deny(format!("unknown operation {:?}", req.operation), false);
        };
        let path = req.path.trim_start_matches('/');
        let list = bit == caps::LIST;
        let list_or_scan = list || bit == caps::SCAN;
        let Some(p) = self.find(path, list_or_scan) else {
            return self.deny("no policy rule matches the path", false);
        };
        let sudo = p.caps & caps::SUDO != 0;
        if p.caps & bit == 0 {
            let why = if p.caps & caps::DENY != 0 {
                "the path is explicitly denied"
            } else {
                "the capability is not granted"
            };
            return self.deny(why, sudo);
        }

        if p.max_wrap > 0 {
            match req.wrap_ttl {
                None => return self.deny("response wrapping is required", sudo),
                Some(t) if t.as_nanos() > p.max_wrap as u128 => {
                    return self.deny("wrapping TTL above max_wrapping_ttl", sudo)
                }
                _ => {}
            }
        }
        if p.min_wrap > 0 {
            match req.wrap_ttl {
                None => return self.deny("response wrapping is required", sudo),
                Some(t) if t.as_nanos() < p.min_wrap as u128 => {
                    return self.deny("wrapping TTL below min_wrapping_ttl", sudo)
                }
                _ => {}
            }
        }
        if p.min_wrap != 0 && p.max_wrap != 0 && p.max_wrap < p.min_wrap {
            return self.deny("merged max_wrapping_ttl is below min_wrapping_ttl", sudo);
        }

        let mut set_limit = None;
        let empty = Map::new();
        let data = req.params.unwrap_or(&empty);
        if matches!(bit, caps::READ | caps::UPDATE | caps::CREATE | caps::PATCH) {
            if let Some(missing) = p.required.iter().find(|r| !data.contains_key(r.as_str())) {
                return self.deny(format!("required parameter {missing:?} is missing"), sudo);
            }
            if !data.is_empty() {
                if let Some(denied) = p.denied.as_ref().filter(|d| !d.is_empty()) {
                    if denied.contains_key("*") {
                        return self.deny("all parameters are denied", sudo);
                    }
                    for (k, v) in data {
                        if lookup_param(denied, k).is_some_and(|list| value_in_list(v, list)) {
                            return self.deny(format!("parameter {k:?} is denied"), sudo);
                        }
                    }
                }
                if let Some(allowed) = p.allowed.as_ref().filter(|a| !a.is_empty()) {
                    let all = allowed.contains_key("*");
                    if !(all && allowed.len() == 1) {
                        for (k, v) in data {
                            match lookup_param(allowed, k) {
                                None if !all => return self.deny(format!("parameter {k:?} is not allowed"), sudo),
                                Some(list) if !value_in_list(v, list) => {
                                    return self.deny(format!("value of parameter {k:?} is not allowed"), sudo)
                                }
                                _ => {}
                            }
                        }
                    }
                }
            }
        } else if list_or_scan {
            if p.pagination_limit > 0 {
                match data.get("limit") {
                    None => {
                        if p.required.iter().any(|r| r == "limit") {
                            return self.deny("required parameter \"limit\" is missing", sudo);
                        }
                        set_limit = Some(p.pagination_limit);
                    }
                    Some(v) => match limit_value(v) {
                        Some(n) if n > p.pagination_limit => {
                            return self.deny("limit above the policy's pagination_limit", sudo)
                        }
                        Some(_) => {}
                        None if v.as_str() == Some("max") => set_limit = Some(p.pagination_limit),
                        None => return self.deny("limit is not an integer", sudo),
                    },
                }
            } else if data.get("limit").and_then(Value::as_str) == Some("max") {
                set_limit = Some(0);
            }
        }

        AclDecision {
            allowed: true,
            sudo,
            reason: None,
            granting_policies: p.granting_frozen[bit.trailing_zeros() as usize].clone(),
            is_root: false,
            set_limit,
            response_keys_filter_path: if list_or_scan { p.filter_path.clone() } else { None },
        }
    }

    /// What `sys/capabilities` reports for `path`: `["root"]` for root, `["deny"]` when nothing
    /// or an explicit deny applies, else the granted capability names sorted.
    pub fn capabilities(&self, path: &str) -> Vec<String> {
        if self.root {
            return vec!["root".to_string()];
        }
        let path = path.trim_start_matches('/');
        let bits = self.find(path, true).map(|p| p.caps).unwrap_or(0);
        if bits == 0 || bits & caps::DENY != 0 {
            return vec!["deny".to_string()];
        }
        // Alphabetical, as the sys/capabilities endpoints return them.
        const ORDER: [(u32, &str); 8] = [
            (caps::CREATE, "create"),
            (caps::DELETE, "delete"),
            (caps::LIST, "list"),
            (caps::PATCH, "patch"),
            (caps::READ, "read"),
            (caps::SCAN, "scan"),
            (caps::SUDO, "sudo"),
            (caps::UPDATE, "update"),
        ];
        ORDER.iter().filter(|(b, _)| bits & b != 0).map(|(_, n)| n.to_string()).collect()
    }

    /// Whether the mount at `mount_path` (ending with `/`) should be visible to this token in
    /// `sys/internal/ui/mounts`: some rule grants something at or under it.
    pub fn has_mount_access(&self, mount_path: &str) -> bool {
        if self.root {
            return true;
        }
        let path = mount_path.trim_start_matches('/');
        if self.capabilities(path) != ["deny"] {
            return true;
        }
        let useful = caps::CREATE
            | caps::DELETE
            | caps::LIST
            | caps::READ
            | caps::SUDO
            | caps::UPDATE
            | caps::PATCH
            | caps::SCAN;
        let mut found = Vec::new();
        self.tree.values_under(path.as_bytes(), true, &mut found);
        self.tree.values_under(path.as_bytes(), false, &mut found);
        if found
            .iter()
            .filter_map(|i| self.perms.get(*i as usize))
            .any(|p| p.caps & caps::DENY == 0 && p.caps & useful != 0)
        {
            return true;
        }
        let parts: Vec<&str> = path.split('/').collect();
        self.segments.iter().any(|s| {
            self.perms.get(s.perms as usize).is_some_and(|p| p.caps & caps::DENY == 0 && p.caps != 0)
                && s.reaches_under(path, &parts)
        })
    }
}

impl Perms {
    fn from_rule(rule: &PathRule) -> Perms {
        Perms {
            caps: rule.capabilities,
            min_wrap: rule.min_wrapping_ttl_ns,
            max_wrap: rule.max_wrapping_ttl_ns,
            allowed: rule.allowed_parameters.clone(),
            denied: rule.denied_parameters.clone(),
            required: rule.required_parameters.iter().map(|r| r.to_lowercase()).collect(),
            pagination_limit: rule.pagination_limit,
            filter_path: rule.response_keys_filter_path.as_deref().map(Arc::from),
            granting: Default::default(),
            granting_frozen: Default::default(),
        }
    }

    fn grant(&mut self, policy: &str, bits: u32) {
        for (i, names) in self.granting.iter_mut().enumerate() {
            if bits & (1 << i) != 0 && !names.iter().any(|n| n == policy) {
                names.push(policy.to_string());
            }
        }
    }

    fn merge(&mut self, rule: &PathRule, policy: &str) {
        if self.caps & caps::DENY != 0 {
            return;
        }
        if rule.capabilities & caps::DENY != 0 {
            self.caps = caps::DENY;
            self.allowed = None;
            self.denied = None;
            return;
        }
        self.caps |= rule.capabilities;
        self.grant(policy, rule.capabilities);
        // The lesser of two set TTLs wins, for both bounds.
        if rule.max_wrapping_ttl_ns > 0 && (self.max_wrap == 0 || rule.max_wrapping_ttl_ns < self.max_wrap) {
            self.max_wrap = rule.max_wrapping_ttl_ns;
        }
        if rule.min_wrapping_ttl_ns > 0 && (self.min_wrap == 0 || rule.min_wrapping_ttl_ns < self.min_wrap) {
            self.min_wrap = rule.min_wrapping_ttl_ns;
        }
        merge_params(&mut self.allowed, &rule.allowed_parameters);
        merge_params(&mut self.denied, &rule.denied_parameters);
        for r in &rule.required_parameters {
            let r = r.to_lowercase();
            if !self.required.contains(&r) {
                self.required.push(r);
            }
        }
        if rule.pagination_limit > 0 && (self.pagination_limit <= 0 || rule.pagination_limit < self.pagination_limit) {
            self.pagination_limit = rule.pagination_limit;
        }
        if self.filter_path.is_none() {
            self.filter_path = rule.response_keys_filter_path.as_deref().map(Arc::from);
        }
    }

    fn freeze(&mut self) {
        for (slot, names) in self.granting_frozen.iter_mut().zip(self.granting.iter_mut()) {
            *slot = Arc::from(std::mem::take(names));
        }
    }
}
