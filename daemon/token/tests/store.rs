//! The token store against OpenBao 2.7.2's behaviour, over an in-memory barrier view with a
//! manual clock. Each test's doc line states the property it proves. Sections: t10 create and
//! lookup, t20 revocation, t30 TTLs and renewal, t40 batch tokens, t50 roles, t60 tidy and
//! storage, t70 logins and hooks.
#![allow(clippy::unwrap_used)]

use async_trait::async_trait;
use coffer_hardening::secret::{Key256, SecretString};
use coffer_logical::{Auth, MountInfo, Operation, Request, View};
use coffer_storage::barrier::Barrier;
use coffer_storage::inmem::InmemBackend;
use coffer_storage::physical::Backend;
use coffer_token::*;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct Env {
    store: TokenStore,
    view: View,
    barrier: Arc<Barrier>,
    backend: Arc<InmemBackend>,
    clock: Arc<ManualClock>,
    root: SecretString,
}

async fn env() -> Env {
    env_with(TokenConfig::default()).await
}

async fn env_with(config: TokenConfig) -> Env {
    let backend = Arc::new(InmemBackend::new());
    let barrier = Arc::new(Barrier::new(backend.clone()));
    let key = Key256::generate();
    barrier.initialize(&key).await.unwrap();
    barrier.unseal(&key).await.unwrap();
    let view = View::new(barrier.clone(), "sys/token/");
    let clock = Arc::new(ManualClock::starting_now());
    let store = TokenStore::new(view.clone(), config).with_clock(clock.clone());
    store.load().await.unwrap();
    let root = store.create_root(None).await.unwrap();
    Env { store, view, barrier, backend, clock, root }
}

fn req(op: Operation, path: &str, data: Value) -> Request {
    let mut r = Request::new(op, path);
    if let Value::Object(m) = data {
        r.data = m;
    }
    r
}

impl Env {
    /// A request as the core makes it: the caller's use counted, sudo for root callers
    /// (or as given), the last use finished afterwards.
    async fn call_as(&self, token: &str, sudo: bool, op: Operation, path: &str, data: Value) -> Result<TokenReply> {
        let entry =
            self.store.use_token(token).await?.ok_or_else(|| TokenError::Forbidden("permission denied".into()))?;
        let caller = Caller { entry: &entry, token, sudo: sudo || entry.is_root() };
        let out = self.store.handle(&req(op, path, data), &caller).await;
        self.store.finish_use(&entry).await?;
        out
    }
    async fn call(&self, token: &str, op: Operation, path: &str, data: Value) -> Result<TokenReply> {
        self.call_as(token, false, op, path, data).await
    }
    async fn root_call(&self, op: Operation, path: &str, data: Value) -> Result<TokenReply> {
        let root = self.root.expose().to_string();
        self.call(&root, op, path, data).await
    }
    /// `auth/token/create` as root; returns (token, auth block JSON).
    async fn create(&self, data: Value) -> (String, Map<String, Value>) {
        let root = self.root.expose().to_string();
        self.create_as(&root, data).await
    }
    async fn create_as(&self, parent: &str, data: Value) -> (String, Map<String, Value>) {
        let r = self.call(parent, Operation::Update, "create", data).await.unwrap();
        let auth = r.auth.unwrap().to_json();
        let Value::Object(a) = auth else { panic!("auth is an object") };
        (a["client_token"].as_str().unwrap().to_string(), a)
    }
    async fn lookup_data(&self, token: &str) -> Map<String, Value> {
        let r = self.root_call(Operation::Update, "lookup", json!({ "token": token })).await.unwrap();
        r.response.data.unwrap()
    }
    async fn alive(&self, token: &str) -> bool {
        self.store.lookup(token).await.unwrap().is_some()
    }
    /// Every physical key under the store's view.
    async fn physical_keys(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec!["sys/token/".to_string()];
        while let Some(prefix) = stack.pop() {
            for k in self.backend.list(&prefix).await.unwrap() {
                if k.ends_with('/') {
                    stack.push(format!("{prefix}{k}"));
                } else {
                    out.push(format!("{prefix}{k}"));
                }
            }
        }
        out.sort();
        out
    }
}

fn err_text(r: Result<TokenReply>) -> (u16, String) {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => (e.status(), e.to_string()),
    }
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect()
}

fn is_base62(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_alphanumeric())
}

// ----- t10: create and lookup ------------------------------------------------------------

/// `create` answers with OpenBao's auth block: an `s.` + 24 base62 token, a 24-char accessor,
/// sorted policies with "default" added, the TTL as lease_duration, metadata as given.
#[tokio::test]
async fn t10_create_returns_openbao_auth_block() {
    let e = env().await;
    let r = e
        .root_call(
            Operation::Update,
            "create",
            json!({"ttl":"1h","policies":["b","a"],"meta":{"k":"v"},"display_name":"My App","num_uses":3}),
        )
        .await
        .unwrap();
    let a = r.auth.as_ref().unwrap().to_json();
    let tok = a["client_token"].as_str().unwrap();
    assert!(tok.starts_with("s.") && tok.len() == 26 && is_base62(&tok[2..]), "{tok}");
    let acc = a["accessor"].as_str().unwrap();
    assert!(acc.len() == 24 && is_base62(acc));
    assert_eq!(strs(&a["policies"]), ["a", "b", "default"]);
    assert_eq!(a["token_policies"], a["policies"]);
    assert_eq!(a["metadata"], json!({"k":"v"}));
    assert_eq!(a["lease_duration"], json!(3600));
    assert_eq!(a["renewable"], json!(true));
    assert_eq!(a["entity_id"], json!(""));
    assert_eq!(a["token_type"], json!("service"));
    assert_eq!(a["orphan"], json!(false));
    assert_eq!(a["mfa_requirement"], Value::Null);
    assert_eq!(a["num_uses"], json!(3));
    let keys: Vec<&String> = a.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 12, "exactly OpenBao's auth fields: {keys:?}");
    assert!(r.response.data.is_none());
}

/// A root caller creating a token without policies gets a root token: no TTL, not renewable.
#[tokio::test]
async fn t10_root_child_inherits_root_without_ttl() {
    let e = env().await;
    let (_, a) = e.create(json!({})).await;
    assert_eq!(strs(&a["policies"]), ["root"]);
    assert_eq!(a["lease_duration"], json!(0));
    assert_eq!(a["renewable"], json!(false));
}

/// `lookup` (POST token, GET ?token=), `lookup-self` and `lookup-accessor` show OpenBao's
/// fields: display name "token-<name>", creation_ttl, ttl counting down, RFC 3339 times, and
/// `id` only where the token was given.
#[tokio::test]
async fn t10_lookup_shapes() {
    let e = env().await;
    let (tok, a) = e.create(json!({"ttl":"1h","policies":["x"],"meta":{"k":"v"},"display_name":"My App"})).await;
    e.clock.advance(Duration::from_secs(10));
    let d = e.lookup_data(&tok).await;
    let mut keys: Vec<&str> = d.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "accessor",
            "creation_time",
            "creation_ttl",
            "display_name",
            "entity_id",
            "expire_time",
            "explicit_max_ttl",
            "id",
            "issue_time",
            "meta",
            "num_uses",
            "orphan",
            "path",
            "policies",
            "renewable",
            "ttl",
            "type"
        ]
    );
    assert_eq!(d["id"], json!(tok));
    assert_eq!(d["accessor"], a["accessor"]);
    assert_eq!(d["display_name"], json!("token-My-App"));
    assert_eq!(d["path"], json!("auth/token/create"));
    assert_eq!(d["policies"], json!(["default", "x"]));
    assert_eq!(d["creation_ttl"], json!(3600));
    assert_eq!(d["ttl"], json!(3590));
    assert_eq!(d["meta"], json!({"k":"v"}));
    assert_eq!(d["orphan"], json!(false));
    assert_eq!(d["renewable"], json!(true));
    assert_eq!(d["type"], json!("service"));
    let expire = d["expire_time"].as_str().unwrap();
    let issue = d["issue_time"].as_str().unwrap();
    assert!(expire.ends_with('Z') && issue.ends_with('Z') && expire > issue);

    // GET with the token in the query string.
    let mut get = req(Operation::Read, "lookup", json!({}));
    get.query.push(("token".into(), tok.clone()));
    let root = e.store.lookup(e.root.expose()).await.unwrap().unwrap();
    let caller = Caller { entry: &root, token: e.root.expose(), sudo: true };
    let g = e.store.handle(&get, &caller).await.unwrap().response.data.unwrap();
    assert_eq!(g["accessor"], d["accessor"]);

    // lookup-self by the token itself.
    let s = e.call(&tok, Operation::Read, "lookup-self", json!({})).await.unwrap().response.data.unwrap();
    assert_eq!(s["id"], json!(tok));
    // lookup-accessor hides the id.
    let la = e.root_call(Operation::Update, "lookup-accessor", json!({"accessor": a["accessor"]})).await.unwrap();
    let la = la.response.data.unwrap();
    assert_eq!(la["id"], json!(""));
    assert_eq!(la["display_name"], json!("token-My-App"));
    // lookup without a token looks up the caller.
    let me = e.root_call(Operation::Update, "lookup", json!({})).await.unwrap().response.data.unwrap();
    assert_eq!(me["id"], json!(e.root.expose()));
}

/// A root token from `create_root` looks like OpenBao's init root token: display name and
/// path "root", orphan, no expiry, and no lease fields (issue_time, renewable).
#[tokio::test]
async fn t10_root_token_lookup_matches_init_root() {
    let e = env().await;
    let d = e.root_call(Operation::Read, "lookup-self", json!({})).await.unwrap().response.data.unwrap();
    assert_eq!(d["display_name"], json!("root"));
    assert_eq!(d["path"], json!("auth/token/root"));
    assert_eq!(d["policies"], json!(["root"]));
    assert_eq!(d["orphan"], json!(true));
    assert_eq!(d["expire_time"], Value::Null);
    assert_eq!(d["ttl"], json!(0));
    assert_eq!(d["creation_ttl"], json!(0));
    assert!(!d.contains_key("issue_time") && !d.contains_key("renewable"));
    assert!(e.root.expose().starts_with("s."));
    // A chosen id (dev mode's "root") works as a token.
    let dev = e.store.create_root(Some("root")).await.unwrap();
    assert_eq!(dev.expose(), "root");
    assert!(e.alive("root").await);
}

/// Lookup errors carry OpenBao's texts and statuses: 403 "bad token", 400 multierror texts
/// for accessors.
#[tokio::test]
async fn t10_lookup_errors() {
    let e = env().await;
    assert_eq!(
        err_text(e.root_call(Operation::Update, "lookup", json!({"token":"s.nope"})).await),
        (403, "bad token".into())
    );
    assert_eq!(
        err_text(e.root_call(Operation::Update, "lookup-accessor", json!({})).await),
        (400, "1 error occurred:\n\t* missing accessor\n\n".into())
    );
    assert_eq!(
        err_text(e.root_call(Operation::Update, "lookup-accessor", json!({"accessor":"nope"})).await),
        (400, "1 error occurred:\n\t* invalid accessor\n\n".into())
    );
    assert_eq!(e.store.lookup("").await.unwrap(), None);
    assert_eq!(e.store.lookup("b.garbage").await.unwrap(), None);
}

/// Creation refusals, with OpenBao's texts: policy escalation, orphans/periods/ids without
/// sudo, negative uses or TTLs, unknown types, reserved policies, custom ids, restricted-use
/// parents, expiring roots making non-expiring roots.
#[tokio::test]
async fn t10_create_errors() {
    let e = env().await;
    let (p, _) = e.create(json!({"policies":["tok"],"ttl":"1h"})).await;
    let c = |data: Value| {
        let p = p.clone();
        let e = &e;
        async move { err_text(e.call(&p, Operation::Update, "create", data).await) }
    };
    assert_eq!(c(json!({"policies":["tok","other"]})).await, (400, "child policies must be subset of parent".into()));
    assert_eq!(c(json!({"policies":["root"]})).await, (400, "child policies must be subset of parent".into()));
    assert_eq!(
        c(json!({"no_parent":true})).await,
        (400, "root or sudo privileges required to create orphan token".into())
    );
    assert_eq!(
        c(json!({"period":"1h"})).await,
        (400, "root or sudo privileges required to create periodic token".into())
    );
    assert_eq!(c(json!({"id":"custom"})).await, (400, "root or sudo privileges required to specify token id".into()));
    let r = |data: Value| {
        let e = &e;
        async move { err_text(e.root_call(Operation::Update, "create", data).await) }
    };
    assert_eq!(r(json!({"num_uses":-1})).await, (400, "number of uses cannot be negative".into()));
    assert_eq!(r(json!({"ttl":"-5s"})).await, (400, "ttl must be positive".into()));
    assert_eq!(r(json!({"ttl":"abc"})).await, (400, "time: invalid duration \"abc\"".into()));
    assert_eq!(r(json!({"type":"weird"})).await, (400, "invalid 'token_type' value".into()));
    assert_eq!(
        r(json!({"policies":["response-wrapping"]})).await,
        (400, "cannot assign policy \"response-wrapping\"".into())
    );
    assert_eq!(r(json!({"id":"s.abc"})).await, (400, "custom token ID cannot have the 's.' prefix".into()));
    assert_eq!(r(json!({"id":"a.b"})).await, (400, "custom token ID cannot have a '.' in the value".into()));
    e.root_call(Operation::Update, "create", json!({"id":"dup1"})).await.unwrap();
    assert_eq!(r(json!({"id":"dup1"})).await, (400, "cannot create a token with a duplicate ID".into()));
    assert_eq!(r(json!({"type":"batch"})).await, (400, "batch tokens cannot be root tokens".into()));
    assert_eq!(
        r(json!({"type":"batch","policies":["x"],"num_uses":2})).await,
        (400, "batch tokens cannot have \"num_uses\" set".into())
    );
    assert_eq!(
        r(json!({"type":"batch","policies":["x"],"period":"1h"})).await,
        (400, "batch tokens cannot have \"period\" set".into())
    );
    assert_eq!(
        r(json!({"type":"batch","policies":["x"],"explicit_max_ttl":"1h"})).await,
        (400, "batch tokens cannot have \"explicit_max_ttl\" set".into())
    );
    // A token with uses left cannot make children.
    let (u, _) = e.create(json!({"policies":["x"],"num_uses":5})).await;
    assert_eq!(
        err_text(e.call(&u, Operation::Update, "create", json!({})).await),
        (400, "restricted use token cannot generate child tokens".into())
    );
    // An expiring root token cannot create a non-expiring root token.
    let (er, _) = e.create(json!({"ttl":"1h"})).await;
    assert_eq!(
        err_text(e.call(&er, Operation::Update, "create", json!({})).await),
        (400, "expiring root tokens cannot create non-expiring root tokens".into())
    );
}

/// A non-sudo child keeps a subset of its parent's policies and gets "default" only if the
/// parent has it (or `no_default_policy` removes it); `create-orphan` needs no sudo.
#[tokio::test]
async fn t10_child_policies_and_create_orphan() {
    let e = env().await;
    let (p, _) = e.create(json!({"policies":["tok","b"],"ttl":"1h"})).await;
    let (_, a) = e.create_as(&p, json!({"policies":["tok"]})).await;
    assert_eq!(strs(&a["policies"]), ["default", "tok"]);
    assert_eq!(a["lease_duration"], json!(768 * 3600), "mount default TTL");
    let (_, a) = e.create_as(&p, json!({"policies":["tok"],"no_default_policy":true})).await;
    assert_eq!(strs(&a["policies"]), ["tok"]);
    let (_, a) = e.create_as(&p, json!({})).await;
    assert_eq!(strs(&a["policies"]), ["b", "default", "tok"], "inherits the parent's");
    let r = e.call(&p, Operation::Update, "create-orphan", json!({"policies":["tok"]})).await.unwrap();
    assert_eq!(r.auth.unwrap().to_json()["orphan"], json!(true));
    // policies given as one string are one policy (OpenBao's TypeStringSlice).
    let (_, a) = e.create(json!({"policies":"a,b","ttl":60,"no_default_policy":true})).await;
    assert_eq!(strs(&a["policies"]), ["a,b"]);
    assert_eq!(a["lease_duration"], json!(60));
}

/// `Policy "x" does not exist` warnings come from the policy hook, after TTL warnings.
#[tokio::test]
async fn t10_policy_warnings_from_hook() {
    struct Policies;
    #[async_trait]
    impl TokenHooks for Policies {
        async fn policy_exists(&self, name: &str) -> Option<bool> {
            Some(name == "known")
        }
    }
    let e = env().await;
    e.store.set_hooks(Arc::new(Policies));
    let r =
        e.root_call(Operation::Update, "create", json!({"policies":["known","b","a"],"ttl":"1000h"})).await.unwrap();
    assert_eq!(
        r.response.warnings,
        [
            "TTL of \"1000h\" exceeded the effective max_ttl of \"768h\"; TTL value is capped accordingly",
            "Policy \"a\" does not exist",
            "Policy \"b\" does not exist"
        ]
    );
}

/// Unknown paths are 404 "unsupported path", known paths with the wrong operation 405.
#[tokio::test]
async fn t10_unknown_paths_and_operations() {
    let e = env().await;
    assert_eq!(err_text(e.root_call(Operation::Update, "foo", json!({})).await).0, 404);
    assert_eq!(err_text(e.root_call(Operation::Update, "lookup/abc", json!({})).await).0, 404);
    assert_eq!(err_text(e.root_call(Operation::Update, "roles/a b", json!({})).await).0, 404);
    assert_eq!(err_text(e.root_call(Operation::Read, "create", json!({})).await).0, 405);
    assert_eq!(err_text(e.root_call(Operation::Read, "lookup-accessor", json!({})).await).0, 405);
    assert_eq!(err_text(e.root_call(Operation::Read, "roles", json!({})).await).0, 405);
    assert_eq!(err_text(e.root_call(Operation::Read, "accessors", json!({})).await).0, 405);
    assert_eq!(err_text(e.root_call(Operation::Read, "tidy", json!({})).await).0, 405);
}

/// `accessors` lists every accessor for sudo callers and refuses others.
#[tokio::test]
async fn t10_accessor_list_needs_sudo() {
    let e = env().await;
    let (t, a) = e.create(json!({"policies":["x"]})).await;
    let r = e.root_call(Operation::List, "accessors", json!({})).await.unwrap();
    let keys = strs(&r.response.data.unwrap()["keys"]);
    assert!(keys.contains(&a["accessor"].as_str().unwrap().to_string()));
    assert_eq!(keys.len(), 2);
    assert_eq!(err_text(e.call(&t, Operation::List, "accessors", json!({})).await).0, 403);
    assert!(e.call_as(&t, true, Operation::List, "accessors/", json!({})).await.is_ok());
    assert_eq!(TokenStore::sudo_paths(), ["revoke-orphan/*", "accessors*"]);
}

// ----- t20: revocation -------------------------------------------------------------------

/// Revoking a token revokes its children and grandchildren; every revoked token is reported
/// with its accessor and cubbyhole id, and all its records leave storage.
#[tokio::test]
async fn t20_tree_revocation_three_levels() {
    let e = env().await;
    let (p, pa) = e.create(json!({"policies":["tok"],"ttl":"1h"})).await;
    let (c, ca) = e.create_as(&p, json!({"policies":["tok"],"ttl":"1h"})).await;
    let (g, ga) = e.create_as(&c, json!({"policies":["tok"],"ttl":"1h"})).await;
    let (g2, _) = e.create_as(&c, json!({"policies":["tok"]})).await;
    let (other, _) = e.create(json!({"policies":["tok"]})).await;
    assert!(e.alive(&g).await, "cached before the revocation");
    let before = e.physical_keys().await;
    let r = e.root_call(Operation::Update, "revoke", json!({"token": p})).await.unwrap();
    assert!(r.response.is_empty() && r.auth.is_none(), "204");
    assert_eq!(r.revoked.len(), 4);
    let accs: Vec<&str> = r.revoked.iter().map(|x| x.accessor.as_str()).collect();
    for a in [&pa, &ca, &ga] {
        assert!(accs.contains(&a["accessor"].as_str().unwrap()));
    }
    assert_eq!(r.revoked.last().unwrap().accessor, pa["accessor"].as_str().unwrap(), "parent revoked last");
    assert!(r.revoked.iter().all(|x| x.cubbyhole_id.len() == 24));
    for t in [&p, &c, &g, &g2] {
        assert!(!e.alive(t).await);
    }
    assert!(e.alive(&other).await);
    assert_eq!(
        err_text(e.root_call(Operation::Update, "lookup", json!({"token": c})).await),
        (403, "bad token".into())
    );
    let after = e.physical_keys().await;
    assert_eq!(before.len() - after.len(), 4 * 4, "per token: id, accessor, parent link, expiry entry");
    assert!(!after.iter().any(|k| k.contains("/revoking/")));
}

/// `revoke-orphan` (sudo) revokes only the token: its children live on as orphans.
#[tokio::test]
async fn t20_revoke_orphan_keeps_children() {
    let e = env().await;
    let (p, _) = e.create(json!({"policies":["tok"],"ttl":"1h"})).await;
    let (c, _) = e.create_as(&p, json!({"policies":["tok"]})).await;
    let (g, _) = e.create_as(&c, json!({"policies":["tok"]})).await;
    assert_eq!(
        err_text(e.call(&p, Operation::Update, "revoke-orphan", json!({"token": c})).await),
        (400, "root or sudo privileges required to revoke and orphan".into())
    );
    assert_eq!(
        err_text(e.root_call(Operation::Update, "revoke-orphan", json!({})).await),
        (400, "missing token ID".into())
    );
    assert_eq!(
        err_text(e.root_call(Operation::Update, "revoke-orphan", json!({"token":"s.nope"})).await),
        (400, "token to revoke not found".into())
    );
    let r = e.root_call(Operation::Update, "revoke-orphan", json!({"token": p})).await.unwrap();
    assert_eq!(r.revoked.len(), 1);
    assert!(!e.alive(&p).await);
    assert!(e.alive(&c).await && e.alive(&g).await);
    assert_eq!(e.lookup_data(&c).await["orphan"], json!(true));
    assert_eq!(e.lookup_data(&g).await["orphan"], json!(false));
    // The orphaned subtree still revokes as a tree.
    let r = e.root_call(Operation::Update, "revoke", json!({"token": c})).await.unwrap();
    assert_eq!(r.revoked.len(), 2);
}

/// Orphans (create-orphan, no_parent) survive their creator's revocation.
#[tokio::test]
async fn t20_orphans_survive() {
    let e = env().await;
    let (p, _) = e.create(json!({"policies":["tok"],"ttl":"1h"})).await;
    let (o1, _) = e.create_as(&p, json!({"policies":["tok"]})).await;
    let o2 = {
        let r = e.call(&p, Operation::Update, "create-orphan", json!({"policies":["tok"]})).await.unwrap();
        r.auth.unwrap().to_json()["client_token"].as_str().unwrap().to_string()
    };
    let o3 = {
        let r = e
            .call_as(&p, true, Operation::Update, "create", json!({"policies":["tok"],"no_parent":true}))
            .await
            .unwrap();
        r.auth.unwrap().to_json()["client_token"].as_str().unwrap().to_string()
    };
    e.call(&p, Operation::Update, "revoke-self", json!({})).await.unwrap();
    assert!(!e.alive(&p).await && !e.alive(&o1).await);
    assert!(e.alive(&o2).await && e.alive(&o3).await);
}

/// `revoke-accessor` revokes the tree; an unknown accessor answers with OpenBao's warning;
/// `revoke` of an unknown token is a silent success; missing parameters are 400s.
#[tokio::test]
async fn t20_revoke_accessor_and_edge_cases() {
    let e = env().await;
    let (t, a) = e.create(json!({"policies":["tok"]})).await;
    let (c, _) = e.create_as(&t, json!({"policies":["tok"]})).await;
    let acc = a["accessor"].clone();
    let r = e.root_call(Operation::Update, "revoke-accessor", json!({"accessor": acc})).await.unwrap();
    assert_eq!(r.revoked.len(), 2);
    assert!(!e.alive(&t).await && !e.alive(&c).await);
    let r = e.root_call(Operation::Update, "revoke-accessor", json!({"accessor": acc})).await.unwrap();
    assert_eq!(r.response.warnings, ["No token found with this accessor"]);
    assert_eq!(
        err_text(e.root_call(Operation::Update, "revoke-accessor", json!({})).await),
        (400, "1 error occurred:\n\t* missing accessor\n\n".into())
    );
    assert!(e.root_call(Operation::Update, "revoke", json!({"token":"s.nope"})).await.unwrap().revoked.is_empty());
    assert_eq!(err_text(e.root_call(Operation::Update, "revoke", json!({})).await), (400, "missing token ID".into()));
}

/// A token with `num_uses` is refused after its last use and then revoked: the last use still
/// sees its entry (num_uses -1, as OpenBao's lookup-self shows), `finish_use` revokes it and
/// its records leave storage; `expire_due` revokes it if the core never calls `finish_use`.
#[tokio::test]
async fn t20_num_uses_exhaustion_revokes() {
    let e = env().await;
    let (t, _) = e.create(json!({"policies":["x"],"num_uses":3})).await;
    let d = e.call(&t, Operation::Read, "lookup-self", json!({})).await.unwrap().response.data.unwrap();
    assert_eq!(d["num_uses"], json!(2));
    let d = e.call(&t, Operation::Read, "lookup-self", json!({})).await.unwrap().response.data.unwrap();
    assert_eq!(d["num_uses"], json!(1));
    let last = e.store.use_token(&t).await.unwrap().unwrap();
    assert_eq!(last.num_uses, -1);
    assert!(!e.alive(&t).await, "refused as soon as the last use began");
    assert!(e.store.use_token(&t).await.unwrap().is_none());
    let revoked = e.store.finish_use(&last).await.unwrap();
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].accessor, last.accessor);
    assert!(e.store.lookup_accessor(&last.accessor).await.unwrap().is_none());

    let (t2, _) = e.create(json!({"policies":["x"],"num_uses":1})).await;
    let last = e.store.use_token(&t2).await.unwrap().unwrap();
    let keys = e.physical_keys().await;
    assert!(keys.iter().any(|k| k.contains("/id/")), "still stored until revoked");
    let revoked = e.store.expire_due(time::OffsetDateTime::now_utc()).await.unwrap();
    assert!(revoked.iter().any(|r| r.accessor == last.accessor));
    assert!(!e.physical_keys().await.iter().any(|k| k.ends_with(last.hash())));
}

/// A revocation interrupted by a failing hook (a crash stand-in) leaves the tree marked and
/// unusable, and is finished by the next `expire_due` or `load`, calling the hook again.
#[tokio::test]
async fn t20_interrupted_revocation_resumes() {
    struct Flaky {
        fail: Mutex<bool>,
        seen: Mutex<Vec<String>>,
    }
    #[async_trait]
    impl TokenHooks for Flaky {
        async fn on_revoke(&self, r: &Revoked) -> std::result::Result<(), String> {
            if *self.fail.lock().unwrap() {
                return Err("cubbyhole destruction failed".into());
            }
            self.seen.lock().unwrap().push(r.accessor.clone());
            Ok(())
        }
    }
    let e = env().await;
    let hooks = Arc::new(Flaky { fail: Mutex::new(true), seen: Mutex::new(Vec::new()) });
    e.store.set_hooks(hooks.clone());
    let (p, _) = e.create(json!({"policies":["tok"]})).await;
    let (c, _) = e.create_as(&p, json!({"policies":["tok"]})).await;
    let pe = e.store.lookup(&p).await.unwrap().unwrap();
    let ce = e.store.lookup(&c).await.unwrap().unwrap();
    let err = e.store.revoke_tree(&p).await.unwrap_err();
    assert_eq!(err.status(), 500);
    assert!(!e.alive(&p).await && !e.alive(&c).await, "marked tokens are refused");
    assert!(e.physical_keys().await.iter().any(|k| k.contains("/revoking/")));
    // Nothing can be created under a token being revoked.
    let refused = e.store.create(Some(&ce), CreateRequest { policies: vec!["tok".into()], ..Default::default() }).await;
    assert_eq!(refused.unwrap_err().to_string(), "parent token lookup failed: no parent found");

    *hooks.fail.lock().unwrap() = false;
    // A fresh store over the same view (a restart) finishes the job on load.
    let again = TokenStore::new(e.view.clone(), TokenConfig::default());
    again.set_hooks(hooks.clone());
    let revoked = again.load().await.unwrap();
    assert_eq!(revoked.len(), 2);
    assert_eq!(hooks.seen.lock().unwrap().len(), 2);
    let keys = e.physical_keys().await;
    assert!(
        !keys.iter().any(|k| k.contains("/revoking/") || k.contains(pe.hash()) || k.contains(ce.hash())),
        "{keys:?}"
    );
}

// ----- t30: TTLs and renewal -------------------------------------------------------------

/// `expire_due` revokes exactly the tokens whose time has come (with their children): an
/// expired token is refused at once and gone from storage after the sweep; others stay.
#[tokio::test]
async fn t30_expire_due_removes_expired_tokens() {
    let e = env().await;
    let (short, sa) = e.create(json!({"policies":["x"],"ttl":"1s"})).await;
    let (child, _) = e.create(json!({"policies":["x"],"ttl":"1h"})).await;
    let (long, _) = e.create(json!({"policies":["x"],"ttl":"1h"})).await;
    let (p, _) = e.create(json!({"policies":["tok"],"ttl":"2s"})).await;
    let (pc, _) = e.create_as(&p, json!({"policies":["tok"],"ttl":"1h"})).await;
    assert!(e.store.expire_due(Clock::now(&*e.clock)).await.unwrap().is_empty());
    e.clock.advance(Duration::from_secs(1));
    assert!(!e.alive(&short).await, "expired: refused before any sweep");
    let revoked = e.store.expire_due(Clock::now(&*e.clock)).await.unwrap();
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].accessor, sa["accessor"].as_str().unwrap());
    assert!(e.store.lookup_accessor(sa["accessor"].as_str().unwrap()).await.unwrap().is_none());
    e.clock.advance(Duration::from_secs(1));
    let revoked = e.store.expire_due(Clock::now(&*e.clock)).await.unwrap();
    assert_eq!(revoked.len(), 2, "the expired parent and its child");
    assert!(!e.alive(&pc).await);
    assert!(e.alive(&child).await && e.alive(&long).await);
    let keys = e.physical_keys().await;
    assert_eq!(keys.iter().filter(|k| k.contains("/expiry/")).count(), 2);
}

/// A renewal moves the token's expiry: a sweep at the old expiry leaves it alone.
#[tokio::test]
async fn t30_renewal_moves_expiry() {
    let e = env().await;
    let (t, _) = e.create(json!({"policies":["x"],"ttl":"10s"})).await;
    e.clock.advance(Duration::from_secs(8));
    e.call(&t, Operation::Update, "renew-self", json!({"increment":"10s"})).await.unwrap();
    e.clock.advance(Duration::from_secs(5));
    assert!(e.store.expire_due(Clock::now(&*e.clock)).await.unwrap().is_empty());
    assert!(e.alive(&t).await);
    e.clock.advance(Duration::from_secs(6));
    assert_eq!(e.store.expire_due(Clock::now(&*e.clock)).await.unwrap().len(), 1);
}

/// Periodic tokens renew to their period whatever the increment, indefinitely.
#[tokio::test]
async fn t30_periodic_renew() {
    let e = env().await;
    let (t, a) = e.create(json!({"period":"30m","explicit_max_ttl":"0","renewable":true})).await;
    assert_eq!(a["lease_duration"], json!(1800));
    assert_eq!(e.lookup_data(&t).await["period"], json!(1800));
    for _ in 0..5 {
        e.clock.advance(Duration::from_secs(1700));
        let r = e.call(&t, Operation::Update, "renew-self", json!({"increment":"10m"})).await.unwrap();
        assert_eq!(r.auth.unwrap().to_json()["lease_duration"], json!(1800));
        assert!(e.store.expire_due(Clock::now(&*e.clock)).await.unwrap().is_empty());
    }
    let d = e.lookup_data(&t).await;
    assert_eq!(d["ttl"], json!(1800));
    assert!(d.contains_key("last_renewal") && d.contains_key("last_renewal_time"));
}

/// Renewal follows OpenBao: an increment sets the TTL (and is granted again without one),
/// and nothing goes past explicit_max_ttl, with OpenBao's warning.
#[tokio::test]
async fn t30_explicit_max_ttl_caps_renewal() {
    let e = env().await;
    let (t, _) = e.create(json!({"ttl":"1h","explicit_max_ttl":"90m","policies":["tok"]})).await;
    let auth = |r: TokenReply| r.auth.unwrap().to_json();
    let r = e.call(&t, Operation::Update, "renew-self", json!({"increment":"10m"})).await.unwrap();
    assert_eq!(auth(r)["lease_duration"], json!(600));
    let r = e.call(&t, Operation::Update, "renew-self", json!({})).await.unwrap();
    assert_eq!(auth(r)["lease_duration"], json!(600), "the last granted TTL again");
    let r = e.root_call(Operation::Update, "renew", json!({"token": t, "increment": 7200})).await.unwrap();
    assert_eq!(
        r.response.warnings,
        ["TTL of \"2h\" exceeded the effective max_ttl of \"1h30m\"; TTL value is capped accordingly"]
    );
    let a = auth(r);
    assert_eq!(a["lease_duration"], json!(5400));
    assert_eq!(a["client_token"], json!(t));
    e.clock.advance(Duration::from_secs(3600));
    let r = e.root_call(Operation::Update, "renew", json!({"token": t, "increment": "1h"})).await.unwrap();
    assert_eq!(auth(r)["lease_duration"], json!(1800));
    // Creation is capped the same way.
    let r = e
        .root_call(Operation::Update, "create", json!({"explicit_max_ttl":"10m","ttl":"1h","policies":["tok"]}))
        .await
        .unwrap();
    assert_eq!(
        r.response.warnings,
        ["TTL of \"1h\" exceeded the effective max_ttl of \"10m\"; TTL value is capped accordingly"]
    );
    assert_eq!(auth(r)["lease_duration"], json!(600));
    // And a token's life ends at the explicit max.
    e.clock.advance(Duration::from_secs(1800));
    assert!(!e.alive(&t).await);
}

/// The mount's max TTL caps TTLs and periods with OpenBao's warnings; a small configured
/// default applies to tokens created without a TTL.
#[tokio::test]
async fn t30_mount_limits() {
    let e = env_with(TokenConfig { default_ttl: Duration::from_secs(300), max_ttl: Duration::from_secs(3600) }).await;
    let r = e.root_call(Operation::Update, "create", json!({"policies":["x"]})).await.unwrap();
    assert_eq!(r.auth.unwrap().to_json()["lease_duration"], json!(300));
    let r = e.root_call(Operation::Update, "create", json!({"policies":["x"],"period":"2h"})).await.unwrap();
    assert_eq!(
        r.response.warnings,
        ["period of \"2h\" exceeded the effective max_ttl of \"1h\"; period value is capped accordingly"]
    );
    assert_eq!(r.auth.unwrap().to_json()["lease_duration"], json!(3600));
    let (t, _) = e.create(json!({"policies":["x"],"ttl":"30m"})).await;
    e.clock.advance(Duration::from_secs(1700));
    let r = e.call(&t, Operation::Update, "renew-self", json!({"increment":"1h"})).await.unwrap();
    assert_eq!(r.auth.unwrap().to_json()["lease_duration"], json!(1900), "mount max counted from issue");
}

/// Renewal refusals, with OpenBao's texts.
#[tokio::test]
async fn t30_renew_errors() {
    let e = env().await;
    let (t, _) = e.create(json!({"ttl":"1h","renewable":false,"policies":["tok"]})).await;
    assert_eq!(
        err_text(e.call(&t, Operation::Update, "renew-self", json!({})).await),
        (400, "lease is not renewable".into())
    );
    let (rt, _) = e.create(json!({})).await;
    assert_eq!(
        err_text(e.call(&rt, Operation::Update, "renew-self", json!({})).await),
        (400, "lease is not renewable".into())
    );
    assert_eq!(
        err_text(e.root_call(Operation::Update, "renew-self", json!({})).await),
        (400, "invalid lease ID".into())
    );
    assert_eq!(
        err_text(e.root_call(Operation::Update, "renew", json!({"token":"s.nope"})).await),
        (400, "token not found".into())
    );
    assert_eq!(err_text(e.root_call(Operation::Update, "renew", json!({})).await), (400, "missing token ID".into()));
    assert_eq!(
        err_text(e.root_call(Operation::Update, "renew-accessor", json!({"accessor":"nope"})).await),
        (400, "1 error occurred:\n\t* invalid accessor\n\n".into())
    );
}

/// `renew-accessor` renews and hides the token in the auth block.
#[tokio::test]
async fn t30_renew_accessor_hides_token() {
    let e = env().await;
    let (_, a) = e.create(json!({"policies":["tok"],"ttl":"1h"})).await;
    let r = e
        .root_call(Operation::Update, "renew-accessor", json!({"accessor": a["accessor"], "increment":"20m"}))
        .await
        .unwrap();
    let j = r.auth.unwrap().to_json();
    assert_eq!(j["client_token"], json!(""));
    assert_eq!(j["lease_duration"], json!(1200));
    assert_eq!(j["accessor"], a["accessor"]);
}

// ----- t40: batch tokens -----------------------------------------------------------------

/// Batch tokens round-trip: `b.` tokens work for lookup and lookup-self with no accessor,
/// cannot be renewed, revoked or have children, and nothing about them is stored.
#[tokio::test]
async fn t40_batch_round_trip() {
    let e = env().await;
    let before = e.physical_keys().await;
    let (b, a) = e.create(json!({"type":"batch","ttl":"5m","policies":["x"]})).await;
    assert!(b.starts_with("b."));
    assert_eq!(a["accessor"], json!(""));
    assert_eq!(a["token_type"], json!("batch"));
    assert_eq!(a["renewable"], json!(false));
    assert_eq!(a["lease_duration"], json!(300));
    assert_eq!(e.physical_keys().await, before, "batch tokens are not persisted");
    let d = e.lookup_data(&b).await;
    assert_eq!(d["type"], json!("batch"));
    assert_eq!(d["id"], json!(b));
    assert_eq!(d["accessor"], json!(""));
    assert_eq!(d["ttl"], json!(300));
    assert_eq!(d["renewable"], json!(false));
    assert!(d["expire_time"].as_str().unwrap().ends_with('Z'));
    let s = e.call(&b, Operation::Read, "lookup-self", json!({})).await.unwrap().response.data.unwrap();
    assert_eq!(s["policies"], json!(["default", "x"]));
    assert_eq!(
        err_text(e.root_call(Operation::Update, "renew", json!({"token": b})).await),
        (400, "batch tokens cannot be renewed".into())
    );
    assert_eq!(
        err_text(e.call(&b, Operation::Update, "revoke-self", json!({})).await),
        (400, "batch tokens cannot be revoked".into())
    );
    for path in ["create", "create-orphan"] {
        assert_eq!(
            err_text(e.call(&b, Operation::Update, path, json!({})).await),
            (400, "batch tokens cannot create more tokens".into())
        );
    }
    // Default TTL for a batch token: the mount default (768h).
    let (_, a) = e.create(json!({"type":"batch","policies":["x"]})).await;
    assert_eq!(a["lease_duration"], json!(2_764_800));
}

/// A batch token whose bytes were altered, or made under another store's key, is unknown;
/// one past its TTL is dead; one whose parent was revoked dies with it.
#[tokio::test]
async fn t40_batch_tamper_expiry_and_parent() {
    let e = env().await;
    let (b, _) = e.create(json!({"type":"batch","ttl":"5m","policies":["x"]})).await;
    assert!(e.alive(&b).await);
    // Flip one character of the sealed part in several places.
    for pos in [3, b.len() / 2, b.len() - 2] {
        let mut chars: Vec<char> = b.chars().collect();
        chars[pos] = if chars[pos] == 'A' { 'B' } else { 'A' };
        let bad: String = chars.into_iter().collect();
        assert!(!e.alive(&bad).await, "tampered at {pos}");
    }
    assert!(!e.alive(&b[..b.len() - 4]).await, "truncated");
    let other = env().await;
    assert!(!other.alive(&b).await, "another store's key");
    e.clock.advance(Duration::from_secs(300));
    assert!(!e.alive(&b).await, "expired");

    let (p, _) = e.create(json!({"policies":["tok"],"ttl":"1h"})).await;
    let (cb, _) = e.create_as(&p, json!({"type":"batch","policies":["tok"]})).await;
    assert!(e.alive(&cb).await);
    e.root_call(Operation::Update, "revoke", json!({"token": p})).await.unwrap();
    assert!(!e.alive(&cb).await, "parent revoked");
    // A restart (new store, same view) still opens batch tokens.
    let (b2, _) = e.create(json!({"type":"batch","policies":["x"]})).await;
    let again = TokenStore::new(e.view.clone(), TokenConfig::default()).with_clock(e.clock.clone());
    again.load().await.unwrap();
    assert!(again.lookup(&b2).await.unwrap().is_some());
}

// ----- t50: roles ------------------------------------------------------------------------

/// Role CRUD answers as OpenBao: read shape and defaults, partial updates, list, 404s.
#[tokio::test]
async fn t50_role_crud() {
    let e = env().await;
    let r = e
        .root_call(Operation::Update, "roles/r1", json!({"allowed_policies":["tok","b"],"orphan":true,"token_period":"1h","path_suffix":"sfx","renewable":true}))
        .await
        .unwrap();
    assert!(r.response.is_empty());
    let d = e.root_call(Operation::Read, "roles/r1", json!({})).await.unwrap().response.data.unwrap();
    assert_eq!(
        Value::Object(d),
        json!({"allowed_entity_aliases":null,"allowed_policies":["b","tok"],"allowed_policies_glob":[],"disallowed_policies":[],
               "disallowed_policies_glob":[],"explicit_max_ttl":0,"name":"r1","orphan":true,"path_suffix":"sfx","period":0,
               "renewable":true,"token_explicit_max_ttl":0,"token_no_default_policy":false,"token_period":3600,"token_type":"default-service"})
    );
    e.root_call(Operation::Update, "roles/r1", json!({"orphan":false})).await.unwrap();
    let d = e.root_call(Operation::Read, "roles/r1", json!({})).await.unwrap().response.data.unwrap();
    assert_eq!(d["orphan"], json!(false));
    assert_eq!(d["token_period"], json!(3600), "kept by a partial update");
    e.root_call(Operation::Update, "roles/r4", json!({"period":"5m","explicit_max_ttl":"1h"})).await.unwrap();
    let d = e.root_call(Operation::Read, "roles/r4", json!({})).await.unwrap().response.data.unwrap();
    assert_eq!((d["period"].clone(), d["token_period"].clone()), (json!(300), json!(300)));
    assert_eq!((d["explicit_max_ttl"].clone(), d["token_explicit_max_ttl"].clone()), (json!(3600), json!(3600)));
    let l = e.root_call(Operation::List, "roles", json!({})).await.unwrap().response.data.unwrap();
    assert_eq!(l["keys"], json!(["r1", "r4"]));
    assert_eq!(err_text(e.root_call(Operation::Read, "roles/nope", json!({})).await).0, 404);
    e.root_call(Operation::Delete, "roles/r1", json!({})).await.unwrap();
    e.root_call(Operation::Delete, "roles/r1", json!({})).await.unwrap();
    e.root_call(Operation::Delete, "roles/r4", json!({})).await.unwrap();
    assert_eq!(err_text(e.root_call(Operation::List, "roles", json!({})).await).0, 404);
    let exists = e.store.exists(&req(Operation::Update, "roles/r1", json!({}))).await.unwrap();
    assert_eq!(exists, Some(false));
}

/// Role writes refuse what OpenBao refuses, with its texts.
#[tokio::test]
async fn t50_role_validation() {
    let e = env().await;
    let w = |name: &str, data: Value| {
        let e = &e;
        let path = format!("roles/{name}");
        async move { err_text(e.root_call(Operation::Update, &path, data).await) }
    };
    assert_eq!(
        w("r2", json!({"token_type":"batch"})).await,
        (400, "'token_type' cannot be 'batch' when role is set to generate non-orphan tokens".into())
    );
    assert_eq!(
        w("r3", json!({"orphan":true,"token_type":"batch"})).await,
        (400, "'token_type' cannot be 'batch' when role is set to generate renewable tokens".into())
    );
    assert_eq!(w("r2", json!({"token_type":"foo"})).await, (400, "invalid 'token_type' value \"foo\"".into()));
    assert_eq!(
        w("r2", json!({"path_suffix":"a/../b"})).await,
        (400, "given role path suffix contains invalid characters; must match \\w[\\w-.]+\\w".into())
    );
    assert_eq!(
        w("r2", json!({"token_period":"-5"})).await,
        (400, "error converting input for field \"token_period\": cannot provide negative value '-5'".into())
    );
    assert!(e
        .root_call(Operation::Update, "roles/r5", json!({"orphan":true,"renewable":false,"token_type":"batch"}))
        .await
        .is_ok());
}

/// `create/:role` applies the role: allowed/disallowed/glob policy checks with OpenBao's
/// texts, orphan, path suffix, role name in lookup, period, explicit max (the lesser, with a
/// warning), fixed token type; an unknown role is a 400.
#[tokio::test]
async fn t50_create_against_role() {
    let e = env().await;
    e.root_call(
        Operation::Update,
        "roles/r1",
        json!({"allowed_policies":["tok","b"],"orphan":true,"token_period":"1h","path_suffix":"sfx"}),
    )
    .await
    .unwrap();
    let c = |path: &str, data: Value| {
        let e = &e;
        let path = path.to_string();
        async move { e.root_call(Operation::Update, &path, data).await }
    };
    let a = c("create/r1", json!({})).await.unwrap().auth.unwrap().to_json();
    assert_eq!(strs(&a["policies"]), ["b", "default", "tok"]);
    assert_eq!(a["orphan"], json!(true));
    assert_eq!(a["lease_duration"], json!(3600));
    assert_eq!(
        err_text(c("create/r1", json!({"policies":["c"]})).await),
        (
            400,
            "token policies ([\"c\" \"default\"]) must be subset of the role's allowed policies ([\"b\" \"default\" \"tok\"]) or glob policies ([])"
                .into()
        )
    );
    let a = c("create/r1", json!({"policies":["tok"]})).await.unwrap().auth.unwrap().to_json();
    let tok = a["client_token"].as_str().unwrap().to_string();
    let d = e.lookup_data(&tok).await;
    assert_eq!(d["path"], json!("auth/token/create/r1/sfx"));
    assert_eq!(d["role"], json!("r1"));
    assert_eq!(d["orphan"], json!(true));
    assert!(!d.contains_key("period"), "the role's period is not the token's own");
    // Renewal uses the role's period.
    e.clock.advance(Duration::from_secs(600));
    let r = e.call(&tok, Operation::Update, "renew-self", json!({"increment":"1m"})).await.unwrap();
    assert_eq!(r.auth.unwrap().to_json()["lease_duration"], json!(3600));

    e.root_call(Operation::Update, "roles/r5", json!({"token_type":"service","allowed_policies_glob":["ab*"],"disallowed_policies_glob":["x*"],"token_explicit_max_ttl":"30m"}))
        .await
        .unwrap();
    assert_eq!(
        err_text(c("create/r5", json!({"policies":["abc","xy"]})).await).1,
        "token policies ([\"abc\" \"default\" \"xy\"]) must be subset of the role's allowed policies ([\"default\"]) or glob policies ([\"ab*\"])"
    );
    let r = c("create/r5", json!({"policies":["abc"],"explicit_max_ttl":"1h","type":"batch"})).await.unwrap();
    assert_eq!(
        r.response.warnings,
        [
            "Explicit max TTL specified both during creation call and in role; using the lesser value of 1800 seconds",
            "TTL of \"768h\" exceeded the effective max_ttl of \"30m\"; TTL value is capped accordingly"
        ]
    );
    let a = r.auth.unwrap().to_json();
    assert_eq!(a["token_type"], json!("service"), "the role fixes the type");
    assert_eq!(a["lease_duration"], json!(1800));
    e.root_call(Operation::Update, "roles/d", json!({"disallowed_policies":"tok, zz"})).await.unwrap();
    assert_eq!(
        err_text(c("create/d", json!({"policies":["zz"]})).await),
        (400, "token policy \"zz\" is disallowed by this role".into())
    );
    assert_eq!(err_text(c("create/nope", json!({})).await), (400, "unknown role nope".into()));
    // A default-batch role makes batch tokens unless asked otherwise.
    e.root_call(Operation::Update, "roles/b", json!({"orphan":true,"renewable":false,"token_type":"default-batch"}))
        .await
        .unwrap();
    let a = c("create/b", json!({"policies":["x"]})).await.unwrap().auth.unwrap().to_json();
    assert_eq!(a["token_type"], json!("batch"));
    let a = c("create/b", json!({"policies":["x"],"type":"service"})).await.unwrap().auth.unwrap().to_json();
    assert_eq!(a["token_type"], json!("service"));
    assert_eq!(a["renewable"], json!(false), "the role forbids renewal");
}

// ----- t60: tidy and storage ---------------------------------------------------------------

/// Tokens are stored by salted hash only: no key and no stored (decrypted) value under the
/// store's view contains a token, custom ids included; the stored entry's key is its hash.
#[tokio::test]
async fn t60_tokens_are_stored_by_hash_only() {
    let e = env().await;
    let mut tokens = vec![e.root.expose().to_string()];
    let (p, _) = e.create(json!({"policies":["tok"],"ttl":"1h"})).await;
    tokens.push(p.clone());
    tokens.push(e.create_as(&p, json!({"policies":["tok"]})).await.0);
    tokens.push(e.create(json!({"id":"mycustomtokenvalue","policies":["x"]})).await.0);
    let (b, _) = e.create(json!({"type":"batch","policies":["x"]})).await;
    tokens.push(b);
    let keys = e.physical_keys().await;
    assert!(keys.iter().any(|k| k.starts_with("sys/token/id/")));
    for k in &keys {
        let value = e.barrier.get(k).await.unwrap().unwrap_or_default();
        let text = String::from_utf8_lossy(&value);
        let raw = e.backend.get(k).await.unwrap().unwrap_or_default();
        for t in &tokens {
            assert!(!k.contains(t.as_str()), "token in key {k}");
            assert!(!text.contains(t.as_str()), "token in the value of {k}");
            assert!(!String::from_utf8_lossy(&raw).contains(t.as_str()));
            let bare = t.trim_start_matches("s.");
            assert!(!text.contains(bare), "token body in the value of {k}");
        }
    }
    let entry = e.store.lookup(&p).await.unwrap().unwrap();
    assert!(keys.contains(&format!("sys/token/id/{}", entry.hash())));
    assert_eq!(entry.hash().len(), 64);
}

/// `Debug` of entries, issued tokens, auth blocks and callers never shows a token.
#[tokio::test]
async fn t60_debug_never_shows_tokens() {
    let e = env().await;
    let issued = e
        .store
        .create(
            None,
            CreateRequest {
                policies: vec!["x".into()],
                ttl: Duration::from_secs(60),
                renewable: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let tok = issued.token.expose().to_string();
    let text = format!("{issued:?} {:?} {:?}", issued.entry, issued.auth_block());
    assert!(!text.contains(&tok) && !text.contains(&tok[2..]), "{text}");
    assert!(!text.contains(issued.entry.hash()));
    let caller = Caller { entry: &issued.entry, token: &tok, sudo: false };
    assert!(!format!("{caller:?}").contains(&tok));
    assert!(issued.auth_block().to_json()["client_token"].as_str() == Some(tok.as_str()));
}

/// `tidy` removes dangling accessors, parent links and expiry entries, orphans the children
/// of a vanished parent, and answers 202 with OpenBao's warning.
#[tokio::test]
async fn t60_tidy() {
    let e = env().await;
    let (p, _) = e.create(json!({"policies":["tok"],"ttl":"1h"})).await;
    let (c, _) = e.create_as(&p, json!({"policies":["tok"]})).await;
    let pe = e.store.lookup(&p).await.unwrap().unwrap();
    // Simulate leftovers: the parent's entry vanished without its indexes.
    e.view.delete(&format!("id/{}", pe.hash())).await.unwrap();
    e.view.put("accessor/DanglingAccessor0000000000", b"0000").await.unwrap();
    e.view.put("parent/deadbeef/cafebabe", b"").await.unwrap();
    e.view.put("expiry/00000000000000000001-deadbeef", b"").await.unwrap();
    e.store.clear_cache();
    let r = e.root_call(Operation::Update, "tidy", json!({})).await.unwrap();
    assert_eq!(r.status, Some(202));
    assert_eq!(
        r.response.warnings,
        ["Tidy operation successfully started. Any information from the operation will be printed to OpenBao's server logs."]
    );
    let keys = e.physical_keys().await;
    assert!(!keys.iter().any(|k| k.contains("/parent/")), "{keys:?}");
    assert!(!keys.iter().any(|k| k.contains("Dangling") || k.contains(&pe.accessor)));
    assert!(!keys.iter().any(|k| k.contains("deadbeef") || k.contains(pe.hash())));
    assert!(e.alive(&c).await);
    assert_eq!(e.lookup_data(&c).await["orphan"], json!(true));
    assert_eq!(e.store.tidy().await.unwrap(), TidyStats::default(), "nothing left to tidy");
}

/// The salt persists: a new store over the same view (a restart) finds existing tokens; a
/// sealed (unloaded) store refuses to work rather than guess.
#[tokio::test]
async fn t60_reload_and_unload() {
    let e = env().await;
    let (t, _) = e.create(json!({"policies":["x"]})).await;
    let again = TokenStore::new(e.view.clone(), TokenConfig::default()).with_clock(e.clock.clone());
    again.load().await.unwrap();
    assert!(again.lookup(&t).await.unwrap().is_some());
    assert!(again.lookup(e.root.expose()).await.unwrap().unwrap().is_root());
    again.unload();
    assert_eq!(again.lookup(&t).await.unwrap_err().status(), 503);
}

// ----- t70: logins and hooks -----------------------------------------------------------------

/// A login's token (`from_auth`): "default" added, display name prefixed with the mount,
/// the login path, an orphan, TTL from the mount; renewal asks the auth method through the
/// hook, which may change the TTL.
#[tokio::test]
async fn t70_login_tokens() {
    struct Renewer(Mutex<Vec<String>>);
    #[async_trait]
    impl TokenHooks for Renewer {
        async fn renew_auth(&self, mount: &str, auth: &Auth) -> coffer_logical::Result<Auth> {
            self.0.lock().unwrap().push(format!("{mount} {}", auth.internal_data["user"]));
            let mut a = auth.clone();
            a.ttl = Duration::from_secs(120);
            Ok(a)
        }
    }
    let e = env().await;
    let hooks = Arc::new(Renewer(Mutex::new(Vec::new())));
    e.store.set_hooks(hooks.clone());
    let mut internal = Map::new();
    internal.insert("user".into(), json!("bob"));
    let auth = Auth {
        policies: vec!["dev".into()],
        metadata: BTreeMap::from([("username".to_string(), "bob".to_string())]),
        display_name: "bob".into(),
        ttl: Duration::from_secs(600),
        renewable: true,
        internal_data: internal,
        ..Default::default()
    };
    let mount = MountInfo {
        path: "auth/userpass/".into(),
        kind: "userpass".into(),
        max_lease_ttl: Duration::from_secs(3600),
        ..Default::default()
    };
    let issued = e.store.from_auth(&auth, "auth/userpass/login/bob", &mount).await.unwrap();
    let a = issued.auth_block().to_json();
    assert_eq!(a["policies"], json!(["default", "dev"]));
    assert_eq!(a["lease_duration"], json!(600));
    assert_eq!(a["orphan"], json!(true));
    assert_eq!(a["metadata"], json!({"username":"bob"}));
    let tok = issued.token.expose().to_string();
    let d = e.lookup_data(&tok).await;
    assert_eq!(d["display_name"], json!("userpass-bob"));
    assert_eq!(d["path"], json!("auth/userpass/login/bob"));
    let r = e.call(&tok, Operation::Update, "renew-self", json!({})).await.unwrap();
    assert_eq!(r.auth.unwrap().to_json()["lease_duration"], json!(120));
    assert_eq!(hooks.0.lock().unwrap().as_slice(), ["auth/userpass/ \"bob\""]);
    // Auth methods cannot make root tokens.
    let root_auth = Auth { policies: vec!["root".into()], ..auth.clone() };
    assert_eq!(
        e.store.from_auth(&root_auth, "auth/userpass/login/x", &mount).await.unwrap_err().to_string(),
        "auth methods cannot create root tokens"
    );
    // The mount's max TTL caps the login.
    let long = Auth { ttl: Duration::from_secs(7200), ..auth };
    let issued = e.store.from_auth(&long, "auth/userpass/login/bob", &mount).await.unwrap();
    assert_eq!(issued.auth_block().to_json()["lease_duration"], json!(3600));
    assert_eq!(issued.warnings.len(), 1);
}

/// Every revocation path reports to the hook before deleting: revoke, expiry and last use.
#[tokio::test]
async fn t70_revocation_hook_sees_every_path() {
    struct Seen(Mutex<Vec<String>>);
    #[async_trait]
    impl TokenHooks for Seen {
        async fn on_revoke(&self, r: &Revoked) -> std::result::Result<(), String> {
            self.0.lock().unwrap().push(r.cubbyhole_id.clone());
            Ok(())
        }
    }
    let e = env().await;
    let seen = Arc::new(Seen(Mutex::new(Vec::new())));
    e.store.set_hooks(seen.clone());
    let (a, _) = e.create(json!({"policies":["x"]})).await;
    let (_b, _) = e.create(json!({"policies":["x"],"ttl":"1s"})).await;
    let (c, _) = e.create(json!({"policies":["x"],"num_uses":1})).await;
    let ca = e.store.lookup(&a).await.unwrap().unwrap().cubbyhole_id;
    let cc = e.store.lookup(&c).await.unwrap().unwrap().cubbyhole_id;
    e.store.revoke_tree(&a).await.unwrap();
    e.clock.advance(Duration::from_secs(2));
    e.store.expire_due(Clock::now(&*e.clock)).await.unwrap();
    e.call(&c, Operation::Read, "lookup-self", json!({})).await.unwrap();
    let seen = seen.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    assert!(seen.contains(&ca) && seen.contains(&cc));
    assert!(ca != cc);
}

// ----- t80: concurrency and cost -----------------------------------------------------------

/// Concurrent uses of a limited token never lose a decrement: exactly `num_uses` succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn t80_concurrent_uses_are_counted_exactly() {
    let e = env().await;
    let (t, _) = e.create(json!({"policies":["x"],"num_uses":5})).await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let store = e.store.clone();
        let t = t.clone();
        tasks.push(tokio::spawn(async move { store.use_token(&t).await.unwrap().is_some() }));
    }
    let mut ok = 0;
    for task in tasks {
        if task.await.unwrap() {
            ok += 1;
        }
    }
    assert_eq!(ok, 5);
}

/// Children created while their parent is being revoked either are revoked with it or are
/// refused: no live token is left under a revoked parent.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn t80_no_child_escapes_a_concurrent_revocation() {
    let e = env().await;
    for round in 0..5 {
        let (p, _) = e.create(json!({"policies":["tok"]})).await;
        let pe = e.store.lookup(&p).await.unwrap().unwrap();
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let store = e.store.clone();
            let pe = pe.clone();
            tasks.push(tokio::spawn(async move {
                let r =
                    store.create(Some(&pe), CreateRequest { policies: vec!["tok".into()], ..Default::default() }).await;
                r.ok().map(|i| i.token.expose().to_string())
            }));
        }
        let store = e.store.clone();
        let p2 = p.clone();
        let revoker = tokio::spawn(async move { store.revoke_tree(&p2).await.unwrap() });
        let mut created = Vec::new();
        for task in tasks {
            created.extend(task.await.unwrap());
        }
        revoker.await.unwrap();
        // Whatever was created before the mark is revoked by this or a later sweep.
        e.store.expire_due(Clock::now(&*e.clock)).await.unwrap();
        for c in &created {
            assert!(!e.alive(c).await, "round {round}: a child outlived its revoked parent");
        }
    }
}

/// The expiry sweep reads the index in order and stops at the first future entry: with many
/// long-lived tokens and one due, it lists far fewer index entries than there are tokens.
#[tokio::test]
async fn t80_expiry_sweep_costs_what_is_due() {
    struct Counting {
        inner: InmemBackend,
        expiry_keys_listed: Mutex<usize>,
    }
    #[async_trait]
    impl Backend for Counting {
        async fn get(&self, key: &str) -> coffer_storage::error::Result<Option<Vec<u8>>> {
            self.inner.get(key).await
        }
        async fn put(&self, key: &str, value: Vec<u8>) -> coffer_storage::error::Result<()> {
            self.inner.put(key, value).await
        }
        async fn delete(&self, key: &str) -> coffer_storage::error::Result<()> {
            self.inner.delete(key).await
        }
        async fn list_page(
            &self,
            prefix: &str,
            after: Option<&str>,
            limit: Option<usize>,
        ) -> coffer_storage::error::Result<Vec<String>> {
            let out = self.inner.list_page(prefix, after, limit).await?;
            if prefix.ends_with("expiry/") {
                *self.expiry_keys_listed.lock().unwrap() += out.len();
            }
            Ok(out)
        }
        async fn transaction(&self, ops: Vec<coffer_storage::physical::TxnOp>) -> coffer_storage::error::Result<()> {
            self.inner.transaction(ops).await
        }
        fn kind(&self) -> &'static str {
            "counting"
        }
    }
    let backend = Arc::new(Counting { inner: InmemBackend::new(), expiry_keys_listed: Mutex::new(0) });
    let barrier = Arc::new(Barrier::new(backend.clone()));
    let key = Key256::generate();
    barrier.initialize(&key).await.unwrap();
    barrier.unseal(&key).await.unwrap();
    let clock = Arc::new(ManualClock::starting_now());
    let store = TokenStore::new(View::new(barrier, "sys/token/"), TokenConfig::default()).with_clock(clock.clone());
    store.load().await.unwrap();
    let due = store
        .create(None, CreateRequest { policies: vec!["x".into()], ttl: Duration::from_secs(1), ..Default::default() })
        .await
        .unwrap();
    for _ in 0..1000 {
        store
            .create(
                None,
                CreateRequest { policies: vec!["x".into()], ttl: Duration::from_secs(3600), ..Default::default() },
            )
            .await
            .unwrap();
    }
    clock.advance(Duration::from_secs(2));
    *backend.expiry_keys_listed.lock().unwrap() = 0;
    let revoked = store.expire_due(Clock::now(&*clock)).await.unwrap();
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].accessor, due.entry.accessor);
    let listed = *backend.expiry_keys_listed.lock().unwrap();
    assert!(listed <= 256, "listed {listed} index entries for 1 due token among 1001");
}

// ----- t90: input never panics ---------------------------------------------------------------

fn arb_json() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        "[a-z0-9=,. -]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("1h"),
            Just("-5s"),
            Just("7d"),
            Just("0"),
            Just("1.5h"),
            Just("µs"),
            Just("99999999999h"),
            Just("root")
        ]
        .prop_map(|s| Value::String(s.to_string())),
        ".{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z]{1,4}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]
    /// Any parameter values on create, roles and renew give an answer, never a panic.
    #[test]
    fn t90_arbitrary_parameters_never_panic(
        vals in proptest::collection::vec(arb_json(), 14),
        path_pick in 0usize..6,
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let e = env().await;
            let names = ["ttl", "period", "explicit_max_ttl", "policies", "meta", "display_name", "type", "num_uses",
                         "renewable", "no_parent", "id", "no_default_policy", "increment", "token"];
            let data: Map<String, Value> = names.iter().zip(vals.iter()).map(|(k, v)| (k.to_string(), v.clone())).collect();
            let path = ["create", "create-orphan", "roles/r", "renew-self", "lookup", "revoke-accessor"][path_pick];
            let _ = e.root_call(Operation::Update, path, Value::Object(data.clone())).await;
            let role: Map<String, Value> = ["allowed_policies", "token_type", "orphan", "renewable", "token_period",
                "path_suffix", "token_explicit_max_ttl", "token_num_uses", "token_bound_cidrs", "disallowed_policies_glob",
                "period", "explicit_max_ttl", "bound_cidrs", "allowed_entity_aliases"]
                .iter().zip(vals.iter()).map(|(k, v)| (k.to_string(), v.clone())).collect();
            if e.root_call(Operation::Update, "roles/p", Value::Object(role)).await.is_ok() {
                let _ = e.root_call(Operation::Update, "create/p", Value::Object(data)).await;
            }
        });
    }
}
