//! ACL behaviour beyond what the captured reference covers: decisions' extra fields, sudo,
//! pagination, identity templates, mount visibility, HCL/JSON equivalence, the default policy.

use coffer_policy::{default_policy_text, Acl, AclRequest, Identity, IdentityAlias, Policy};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Duration;

fn pol(name: &str, text: &str) -> Arc<Policy> {
    Arc::new(Policy::parse(name, text).unwrap_or_else(|e| panic!("{name}: {e}")))
}

fn acl(policies: &[(&str, &str)]) -> Acl {
    let set: Vec<Arc<Policy>> = policies.iter().map(|(n, t)| pol(n, t)).collect();
    Acl::new(&set)
}

fn req<'a>(path: &'a str, operation: &'a str, params: Option<&'a Map<String, Value>>) -> AclRequest<'a> {
    AclRequest { path, operation, params, wrap_ttl: None }
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// The root ACL allows everything with sudo, reports `["root"]`, and a set containing the
/// `root` policy compiles to it.
#[test]
fn root_allows_everything() {
    for a in [Acl::root(), Acl::new(&[pol("dev", r#"path "x" { capabilities = ["deny"] }"#), Arc::new(root_policy())])]
    {
        assert!(a.is_root());
        let d = a.check(&req("x", "delete", None));
        assert!(d.allowed && d.sudo && d.is_root);
        assert_eq!(&*d.granting_policies, ["root".to_string()]);
        assert_eq!(a.capabilities("anything"), ["root"]);
        assert!(a.has_mount_access("secret/"));
    }
}

fn root_policy() -> Policy {
    // The store never parses "root" (it is reserved); a named empty policy stands in for it.
    let mut p = Policy::parse("stand-in", "").unwrap_or_else(|e| panic!("{e}"));
    p.name = "root".into();
    p
}

/// With no policy nothing is allowed and capabilities are `["deny"]`; `help` is always allowed.
#[test]
fn empty_acl_denies() {
    let a = Acl::new(&[]);
    assert!(!a.is_root());
    let d = a.check(&req("secret/x", "read", None));
    assert!(!d.allowed && !d.sudo && d.reason.is_some());
    assert_eq!(a.capabilities("secret/x"), ["deny"]);
    assert!(a.check(&req("secret/x", "help", None)).allowed);
    assert!(!a.check(&req("secret/x", "bogus-op", None)).allowed);
}

/// Each operation needs its own capability; revoke/renew/rollback need update; sudo is
/// reported from the matching rule whether or not the operation is allowed.
#[test]
fn operations_map_to_capabilities() {
    let a = acl(&[("p", r#"path "s/*" { capabilities = ["read", "sudo"] } path "u" { capabilities = ["update"] }"#)]);
    let d = a.check(&req("s/x", "read", None));
    assert!(d.allowed && d.sudo);
    let d = a.check(&req("s/x", "update", None));
    assert!(!d.allowed && d.sudo);
    for op in ["update", "revoke", "renew", "rollback"] {
        assert!(a.check(&req("u", op, None)).allowed, "{op}");
    }
    for op in ["read", "create", "delete", "list", "patch", "scan"] {
        assert!(!a.check(&req("u", op, None)).allowed, "{op}");
    }
    assert!(!a.check(&req("u", "read", None)).sudo);
}

/// A deny anywhere in the merged rule of a pattern wins over every grant, including sudo,
/// in whichever policy order.
#[test]
fn deny_wins_across_policies() {
    let grant = ("grant", r#"path "x/*" { capabilities = ["read", "update", "sudo"] }"#);
    let deny = ("deny", r#"path "x/*" { capabilities = ["deny"] }"#);
    for set in [[grant, deny], [deny, grant]] {
        let a = acl(&set);
        let d = a.check(&req("x/y", "read", None));
        assert!(!d.allowed && !d.sudo);
        assert_eq!(a.capabilities("x/y"), ["deny"]);
    }
}

/// The granting policies of a decision are those whose rule for the winning pattern holds the
/// capability used.
#[test]
fn granting_policies_name_the_grantors() {
    let a = acl(&[
        ("a", r#"path "m/*" { capabilities = ["read"] }"#),
        ("b", r#"path "m/*" { capabilities = ["read", "list"] }"#),
    ]);
    let mut read: Vec<String> = a.check(&req("m/x", "read", None)).granting_policies.to_vec();
    read.sort();
    assert_eq!(read, ["a", "b"]);
    assert_eq!(&*a.check(&req("m/x", "list", None)).granting_policies, ["b".to_string()]);
    assert!(a.check(&req("m/x", "delete", None)).granting_policies.is_empty());
}

/// Required parameters are looked up lowercased, and only for read/create/update/patch.
#[test]
fn required_parameters_apply_to_writes_and_reads() {
    let a = acl(&[(
        "p",
        r#"path "r" { capabilities = ["read", "update", "delete", "list"] required_parameters = ["Name"] }"#,
    )]);
    let with = obj(json!({"name": "x"}));
    let without = obj(json!({"other": "x"}));
    assert!(a.check(&req("r", "update", Some(&with))).allowed);
    assert!(!a.check(&req("r", "update", Some(&without))).allowed);
    assert!(!a.check(&req("r", "read", None)).allowed);
    assert!(a.check(&req("r", "delete", None)).allowed);
    assert!(a.check(&req("r", "list", None)).allowed);
}

/// Parameter rules do not apply to delete or list.
#[test]
fn parameter_rules_skip_delete_and_list() {
    let a =
        acl(&[("p", r#"path "d" { capabilities = ["delete", "list", "update"] denied_parameters = { "*" = [] } }"#)]);
    let body = obj(json!({"x": "1"}));
    assert!(a.check(&req("d", "delete", Some(&body))).allowed);
    assert!(a.check(&req("d", "list", Some(&body))).allowed);
    assert!(!a.check(&req("d", "update", Some(&body))).allowed);
    assert!(a.check(&req("d", "update", Some(&Map::new()))).allowed);
}

/// Wrapping bounds: below the minimum, above the maximum, or unwrapped when a bound is set are
/// denied; the bounds of merged rules are the lesser of each.
#[test]
fn wrapping_ttl_bounds() {
    let a = acl(&[("p", r#"path "w" { capabilities = ["read"] min_wrapping_ttl = "1s" max_wrapping_ttl = "90s" }"#)]);
    let at = |ttl: Option<u64>| {
        a.check(&AclRequest { path: "w", operation: "read", params: None, wrap_ttl: ttl.map(Duration::from_secs) })
            .allowed
    };
    assert!(!at(None));
    assert!(!at(Some(0)));
    assert!(at(Some(1)));
    assert!(at(Some(90)));
    assert!(!at(Some(91)));
}

/// Pagination: a list without `limit` gets the policy's limit set, a larger limit is denied,
/// `limit=max` becomes the policy's limit (or 0 without one), and a required `limit` must be
/// given.
#[test]
fn pagination_limit() {
    let a = acl(&[(
        "p",
        r#"path "l/*" { capabilities = ["list", "scan"] pagination_limit = 10 }
           path "q/*" { capabilities = ["list"] pagination_limit = 5 required_parameters = ["limit"] }
           path "n/*" { capabilities = ["list"] }"#,
    )]);
    let d = a.check(&req("l/", "list", None));
    assert!(d.allowed);
    assert_eq!(d.set_limit, Some(10));
    let small = obj(json!({"limit": "3"}));
    let d = a.check(&req("l/", "scan", Some(&small)));
    assert!(d.allowed && d.set_limit.is_none());
    let big = obj(json!({"limit": 11}));
    assert!(!a.check(&req("l/", "list", Some(&big))).allowed);
    let max = obj(json!({"limit": "max"}));
    assert_eq!(a.check(&req("l/", "list", Some(&max))).set_limit, Some(10));
    let junk = obj(json!({"limit": "lots"}));
    assert!(!a.check(&req("l/", "list", Some(&junk))).allowed);
    assert!(!a.check(&req("q/", "list", None)).allowed);
    assert!(a.check(&req("q/", "list", Some(&small))).allowed);
    assert_eq!(a.check(&req("n/", "list", Some(&max))).set_limit, Some(0));
    assert_eq!(a.check(&req("n/", "list", None)).set_limit, None);
}

/// A list's decision carries the rule's key filter template; other operations do not.
#[test]
fn list_filter_template_is_returned() {
    let a = acl(&[(
        "p",
        r#"path "kv/metadata/*" { capabilities = ["list", "read"] list_scan_response_keys_filter_path = "kv/data/{{ .key }}" }"#,
    )]);
    let d = a.check(&req("kv/metadata/", "list", None));
    assert_eq!(d.response_keys_filter_path.as_deref(), Some("kv/data/{{ .key }}"));
    assert!(a.check(&req("kv/metadata/x", "read", None)).response_keys_filter_path.is_none());
    let t = coffer_policy::FilterTemplate::compile("kv/data/{{ .key }}").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.render("kv/metadata/", "app"), "kv/data/app");
}

/// Templated paths apply only with an identity that fills them; values with `/` or globs are
/// refused unless the policy allows them.
#[test]
fn identity_templates() {
    let text = r#"path "secret/data/{{identity.entity.id}}/*" { capabilities = ["read"] }
                  path "secret/alias/{{identity.entity.aliases.auth_userpass_1.name}}" { capabilities = ["update"] }
                  path "secret/meta/{{identity.entity.metadata.team}}/*" { capabilities = ["list"] }"#;
    let p = pol("t", text);
    assert!(p.templated);
    let without = Acl::new(std::slice::from_ref(&p));
    assert_eq!(without.capabilities("secret/data/e1/x"), ["deny"]);
    let mut id = Identity { entity_id: "e1".into(), entity_name: "alice".into(), ..Identity::default() };
    id.aliases.push(IdentityAlias {
        mount_accessor: "auth_userpass_1".into(),
        name: "alice".into(),
        ..IdentityAlias::default()
    });
    id.entity_metadata.insert("team".into(), "a/b".into());
    let with = Acl::with_identity(std::slice::from_ref(&p), &id);
    assert_eq!(with.capabilities("secret/data/e1/x"), ["read"]);
    assert_eq!(with.capabilities("secret/data/e2/x"), ["deny"]);
    assert_eq!(with.capabilities("secret/alias/alice"), ["update"]);
    assert_eq!(with.capabilities("secret/meta/a/b/x"), ["deny"], "slash refused by default");
    let mut slashes = (*p).clone();
    slashes.allow_slashes_in_identity_templates = true;
    let with = Acl::with_identity(&[Arc::new(slashes)], &id);
    assert_eq!(with.capabilities("secret/meta/a/b/x"), ["list"]);
}

/// A mount is visible when some rule grants something at or under it, also through `+`.
#[test]
fn mount_visibility() {
    let a = acl(&[(
        "p",
        r#"path "secret/data/app" { capabilities = ["read"] }
           path "kv/*" { capabilities = ["deny"] }
           path "team/+/docs" { capabilities = ["list"] }
           path "+/shared/*" { capabilities = ["read"] }
           path "auth/userpass/login/*" { capabilities = ["create"] }"#,
    )]);
    assert!(a.has_mount_access("secret/"));
    assert!(a.has_mount_access("team/"));
    // `+/shared/*` could match under any one-segment mount, whatever `kv/*` says (as OpenBao).
    assert!(a.has_mount_access("kv/"));
    assert!(a.has_mount_access("other/"));
    assert!(!a.has_mount_access("other/nested/"));
    assert!(a.has_mount_access("auth/userpass/"));
    assert!(!a.has_mount_access("auth/ldap/"));
}

/// The same policy in HCL and in JSON gives the same capabilities and parameter decisions.
#[test]
fn hcl_and_json_are_equivalent() {
    let hcl = r#"
path "secret/*" {
  capabilities = ["create", "read", "update", "list"]
  allowed_parameters = {
    "bar" = ["zip", "zap*"]
    "*" = []
  }
  denied_parameters = {
    "secret" = []
  }
  min_wrapping_ttl = "1s"
  max_wrapping_ttl = "90s"
}
path "secret/super-secret" {
  capabilities = ["deny"]
}
path "team/+/docs/*" {
  policy = "write"
}
"#;
    let json = r#"{
  "path": {
    "secret/*": {
      "capabilities": ["create", "read", "update", "list"],
      "allowed_parameters": {"bar": ["zip", "zap*"], "*": []},
      "denied_parameters": {"secret": []},
      "min_wrapping_ttl": "1s",
      "max_wrapping_ttl": "90s"
    },
    "secret/super-secret": {"capabilities": ["deny"]},
    "team/+/docs/*": {"policy": "write"}
  }
}"#;
    let a = acl(&[("h", hcl)]);
    let b = acl(&[("j", json)]);
    for path in ["secret/x", "secret/super-secret", "team/a/docs/x", "team/a/b/docs/x", "other"] {
        assert_eq!(a.capabilities(path), b.capabilities(path), "{path}");
    }
    for body in
        [json!({"bar": "zip"}), json!({"bar": "zapper"}), json!({"bar": "no"}), json!({"secret": "1"}), json!({"x": 1})]
    {
        let body = obj(body);
        for ttl in [None, Some(30), Some(100)] {
            let r = AclRequest {
                path: "secret/x",
                operation: "update",
                params: Some(&body),
                wrap_ttl: ttl.map(Duration::from_secs),
            };
            assert_eq!(a.check(&r).allowed, b.check(&r).allowed, "{body:?} {ttl:?}");
        }
    }
}

/// The built-in default policy parses, keeps OpenBao's exact text, and grants what OpenBao's
/// does: token self-service, cubbyhole, capabilities-self, wrapping, leases, hash tools, OIDC
/// authorize; templated entity paths need an identity.
#[test]
fn default_policy_grants() {
    let text = default_policy_text();
    assert!(text.starts_with("\n# Allow tokens to look up their own properties\npath \"auth/token/lookup-self\""));
    assert!(
        text.ends_with("path \"identity/oidc/provider/+/authorize\" {\n    capabilities = [\"read\", \"update\"]\n}\n")
    );
    let p = pol("default", text);
    assert_eq!(p.paths().len(), 16);
    let a = Acl::new(std::slice::from_ref(&p));
    let can = |path: &str, op: &str| a.check(&req(path, op, None)).allowed;
    assert!(can("auth/token/lookup-self", "read"));
    assert!(can("auth/token/renew-self", "update"));
    assert!(can("auth/token/revoke-self", "update"));
    assert!(can("sys/capabilities-self", "update"));
    assert!(can("cubbyhole/my/secret", "create"));
    assert!(can("cubbyhole/", "list"));
    assert!(!can("cubbyhole/x", "patch"));
    assert!(can("sys/wrapping/unwrap", "update"));
    assert!(can("sys/leases/renew", "update"));
    assert!(can("sys/tools/hash/sha2-512", "update"));
    assert!(can("identity/oidc/provider/default/authorize", "read"));
    assert!(can("sys/internal/ui/resultant-acl", "read"));
    assert!(!can("auth/token/create", "update"));
    assert!(!can("sys/policy/default", "read"));
    assert!(!can("identity/entity/id/e1", "read"));
    let id = Identity { entity_id: "e1".into(), entity_name: "alice".into(), ..Identity::default() };
    let a = Acl::with_identity(&[p], &id);
    assert!(a.check(&req("identity/entity/id/e1", "read", None)).allowed);
    assert!(a.check(&req("identity/entity/name/alice", "read", None)).allowed);
    assert!(!a.check(&req("identity/entity/id/e2", "read", None)).allowed);
}

/// Micro benchmark (prints, asserts nothing about time): ns per `check` on a realistic ACL.
#[test]
fn bench_check_ns() {
    let mut text = String::from(default_policy_text());
    for i in 0..200 {
        text.push_str(&format!("path \"secret/data/team{i}/*\" {{ capabilities = [\"read\", \"list\"] }}\n"));
        text.push_str(&format!("path \"kv{i}/config\" {{ capabilities = [\"read\"] }}\n"));
    }
    text.push_str("path \"secret/+/shared/*\" { capabilities = [\"read\"] }\npath \"+/+/ops\" { capabilities = [\"sudo\", \"read\"] }\n");
    text.push_str(
        "path \"kv/restricted\" { capabilities = [\"update\"] allowed_parameters = { \"a\" = [\"x*\"] \"b\" = [] } }\n",
    );
    let a = Acl::new(&[pol("big", &text)]);
    let body = obj(json!({"a": "xyz", "b": 3}));
    let cases: Vec<AclRequest<'_>> = vec![
        req("secret/data/team150/app/config", "read", None),
        req("kv42/config", "read", None),
        req("secret/other/shared/x", "read", None),
        req("cubbyhole/a", "update", None),
        req("nowhere/at/all", "read", None),
        req("kv/restricted", "update", Some(&body)),
    ];
    let rounds = 20_000u32;
    let start = std::time::Instant::now();
    let mut allowed = 0u64;
    for _ in 0..rounds {
        for c in &cases {
            allowed += u64::from(std::hint::black_box(a.check(std::hint::black_box(c))).allowed);
        }
    }
    let per = start.elapsed().as_nanos() / u128::from(rounds * cases.len() as u32);
    for c in &cases {
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(a.check(std::hint::black_box(c)));
        }
        println!("  {:>6} ns  {} {}", start.elapsed().as_nanos() / u128::from(rounds), c.operation, c.path);
    }
    let profile = if cfg!(debug_assertions) { "debug build" } else { "release build" };
    println!("coffer-policy: {per} ns per check, 417 rules, {profile} ({allowed} allowed)");
    assert_eq!(allowed, u64::from(rounds) * 5);
}
