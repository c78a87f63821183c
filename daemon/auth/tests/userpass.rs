//! userpass against an in-memory barrier: the paths, shapes and errors of OpenBao 2.7.2's
//! `bao auth enable userpass`, plus Coffer's Argon2id storage.
mod common;

use coffer_auth::{userpass_with_cost, PasswordCost};
use coffer_logical::{Auth, LogicalError, Operation};
use common::{data, err_text, harness, Harness};
use serde_json::json;
use std::time::{Duration, Instant};

/// Cheap hashes so debug-build tests stay fast (the cost is recorded in each hash).
const TEST_COST: PasswordCost = PasswordCost { memory_kib: 64, iterations: 1, parallelism: 1 };

async fn up() -> Harness {
    harness(userpass_with_cost(TEST_COST)).await
}

fn invalid_credentials(r: Result<coffer_logical::Response, LogicalError>) -> bool {
    matches!(r, Err(LogicalError::InvalidRequest(ref m)) if m == "invalid username or password")
}

async fn login(h: &Harness, user: &str, password: &str) -> Result<Auth, LogicalError> {
    let resp = h.write(&format!("login/{user}"), json!({ "password": password })).await?;
    resp.auth.ok_or_else(|| LogicalError::Internal("no auth".into()))
}

/// A user is created, read back in OpenBao's exact shape, listed, updated and deleted.
#[tokio::test]
async fn t10_user_crud_matches_openbao_shapes() {
    let h = up().await;
    assert!(h
        .write("users/alice", json!({"password": "pw1", "token_policies": "a,b", "token_ttl": "1h"}))
        .await
        .is_ok_and(|r| r.is_empty()));
    let read = h.read("users/alice").await.expect("read");
    assert_eq!(
        data(&read),
        json!({
            "token_bound_cidrs": [], "token_explicit_max_ttl": 0, "token_max_ttl": 0,
            "token_no_default_policy": false, "token_num_uses": 0, "token_period": 0,
            "token_policies": ["a", "b"], "token_strictly_bind_ip": false, "token_ttl": 3600,
            "token_type": "default"
        })
    );
    h.write("users/bob", json!({"password": "x"})).await.expect("bob");
    assert_eq!(data(&h.list("users").await.expect("list")), json!({"keys": ["alice", "bob"]}));

    // Update keeps unspecified fields; the policies endpoint replaces policies only.
    h.write("users/alice", json!({"token_max_ttl": "2h"})).await.expect("update");
    h.write("users/alice/policies", json!({"token_policies": "c"})).await.expect("policies");
    let read = data(&h.read("users/alice").await.expect("read"));
    assert_eq!(read["token_policies"], json!(["c"]));
    assert_eq!(read["token_ttl"], json!(3600));
    assert_eq!(read["token_max_ttl"], json!(7200));

    h.delete("users/alice", json!(null)).await.expect("delete");
    assert!(matches!(h.read("users/alice").await, Err(LogicalError::NotFound)));
    h.delete("users/bob", json!(null)).await.expect("delete");
    assert!(matches!(h.list("users/").await, Err(LogicalError::NotFound)), "empty list is a 404");
    // Deleting a missing user succeeds, as OpenBao.
    assert!(h.delete("users/nobody", json!(null)).await.is_ok());
}

/// Creation and the per-field endpoints refuse what OpenBao refuses, with its messages.
#[tokio::test]
async fn t11_user_write_errors_match_openbao() {
    let h = up().await;
    assert_eq!(
        err_text(h.write("users/bob", json!({"token_policies": "x"})).await),
        "InvalidRequest(\"must provide either password or password_hash\")"
    );
    assert!(matches!(h.read("users/bob").await, Err(LogicalError::NotFound)), "nothing stored");
    assert_eq!(
        err_text(h.write("users/nobody/password", json!({"password": "n"})).await),
        "Internal(\"username does not exist\")"
    );
    assert_eq!(
        err_text(h.write("users/nobody/policies", json!({"token_policies": "z"})).await),
        "Internal(\"username does not exist\")"
    );
    h.write("users/carl", json!({"password": "p"})).await.expect("carl");
    assert_eq!(
        err_text(h.write("users/carl/password", json!({})).await),
        "InvalidRequest(\"must provide either password or password_hash\")"
    );
    assert_eq!(
        err_text(h.write("users/carl", json!({"token_type": "bogus"})).await),
        "InvalidRequest(\"invalid 'token_type' value \\\"bogus\\\"\")"
    );
    assert_eq!(
        err_text(h.write("users/carl", json!({"password": "a", "password_hash": "b"})).await),
        "InvalidRequest(\"only one of password or password_hash may be provided\")"
    );
    // Names outside OpenBao's name pattern are not paths at all.
    for bad in ["users/-x", "users/x.", "users/a b", "users/a/b/c"] {
        assert!(matches!(h.write(bad, json!({"password": "x"})).await, Err(LogicalError::UnsupportedPath)), "{bad}");
    }
    assert!(matches!(h.read("login/carl").await, Err(LogicalError::UnsupportedOperation)));
    assert!(matches!(h.read("users/carl/password").await, Err(LogicalError::UnsupportedOperation)));
}

/// The legacy `policies`/`ttl`/`max_ttl`/`bound_cidrs` fields fill the token_* fields and are
/// shown on read until the token_* field replaces them, as OpenBao's tokenutil upgrade.
#[tokio::test]
async fn t12_legacy_fields_upgrade_like_openbao() {
    let h = up().await;
    h.write(
        "users/ed",
        json!({"password": "p", "policies": "B,a", "ttl": "5m", "max_ttl": "10m", "bound_cidrs": "10.1.0.0/16"}),
    )
    .await
    .expect("create");
    let read = data(&h.read("users/ed").await.expect("read"));
    assert_eq!(read["policies"], json!(["a", "b"]));
    assert_eq!(read["token_policies"], json!(["a", "b"]));
    assert_eq!((read["ttl"].clone(), read["token_ttl"].clone()), (json!(300), json!(300)));
    assert_eq!((read["max_ttl"].clone(), read["token_max_ttl"].clone()), (json!(600), json!(600)));
    assert_eq!(read["bound_cidrs"], json!(["10.1.0.0/16"]));

    h.write("users/ed/policies", json!({"token_policies": "z"})).await.expect("policies");
    let read = data(&h.read("users/ed").await.expect("read"));
    assert!(read.get("policies").is_none(), "policies cleared once token_policies is given");
    assert_eq!(read["token_policies"], json!(["z"]));
}

/// Login returns the token OpenBao would ask for: policies, metadata and internal data naming
/// the user, the configured TTLs; usernames are case-insensitive.
#[tokio::test]
async fn t20_login_success_returns_auth() {
    let h = up().await;
    h.write(
        "users/Dave",
        json!({"password": "pw", "token_policies": "a", "token_ttl": "1h", "token_max_ttl": "2h",
               "token_num_uses": 4, "token_no_default_policy": true, "token_explicit_max_ttl": "3h"}),
    )
    .await
    .expect("create");
    let auth = login(&h, "DAVE", "pw").await.expect("login");
    assert_eq!(auth.policies, vec!["a".to_string()]);
    assert_eq!(auth.metadata.get("username").map(String::as_str), Some("dave"));
    assert_eq!(auth.display_name, "dave");
    assert_eq!(auth.internal_data.get("username"), Some(&json!("dave")));
    assert_eq!(auth.ttl, Duration::from_secs(3600));
    assert_eq!(auth.max_ttl, Duration::from_secs(7200));
    assert_eq!(auth.explicit_max_ttl, Duration::from_secs(10800));
    assert_eq!(auth.num_uses, 4);
    assert!(auth.no_default_policy && auth.renewable);
}

/// A wrong password and an unknown user get the same 400 "invalid username or password"; a
/// missing password is OpenBao's 500 "missing password".
#[tokio::test]
async fn t21_login_failures() {
    let h = up().await;
    h.write("users/alice", json!({"password": "pw1"})).await.expect("create");
    assert!(invalid_credentials(h.write("login/alice", json!({"password": "bad"})).await));
    assert!(invalid_credentials(h.write("login/nobody", json!({"password": "bad"})).await));
    assert_eq!(err_text(h.write("login/alice", json!({})).await), "Internal(\"missing password\")");
    // A password change takes effect at once.
    h.write("users/alice/password", json!({"password": "pw2"})).await.expect("change");
    assert!(invalid_credentials(h.write("login/alice", json!({"password": "pw1"})).await));
    assert!(login(&h, "alice", "pw2").await.is_ok());
}

/// Only an Argon2id hash is stored: the password appears nowhere in the view's plaintext
/// records nor in the physical backend.
#[tokio::test]
async fn t30_password_stored_only_as_argon2id() {
    let h = up().await;
    let password = "correct horse battery staple";
    h.write("users/alice", json!({"password": password})).await.expect("create");
    let records = h.dump().await;
    assert_eq!(records.len(), 1, "one record per user");
    let record: serde_json::Value = serde_json::from_slice(&records[0].1).expect("json record");
    let hash = record["password_hash"].as_str().unwrap_or_default();
    assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{hash}");
    assert!(!h.stored_anywhere(password).await);
    assert!(login(&h, "alice", password).await.is_ok());
}

/// The production cost is OWASP's Argon2id (19 MiB, t=2, p=1) and a supplied `password_hash`
/// must be a bounded Argon2id PHC string (bcrypt, which OpenBao takes, is refused).
#[tokio::test]
async fn t31_password_hash_parameter() {
    assert_eq!(PasswordCost::RECOMMENDED, PasswordCost { memory_kib: 19456, iterations: 2, parallelism: 1 });
    let h = up().await;
    let bcrypt = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";
    assert_eq!(
        err_text(h.write("users/ph", json!({"password_hash": bcrypt})).await),
        "InvalidRequest(\"password_hash is not a valid argon2id hash\")"
    );
    // Take a real hash from another user and give it to a new one.
    h.write("users/src", json!({"password": "shared"})).await.expect("src");
    let record: serde_json::Value =
        serde_json::from_slice(&h.view.get("user/src").await.ok().flatten().unwrap_or_default()).expect("record");
    let phc = record["password_hash"].as_str().unwrap_or_default().to_string();
    h.write("users/ph", json!({"password_hash": phc})).await.expect("hash accepted");
    assert!(login(&h, "ph", "shared").await.is_ok());
    let huge = phc.replacen("m=64", "m=4194304", 1);
    assert!(matches!(h.write("users/ph", json!({"password_hash": huge})).await, Err(LogicalError::InvalidRequest(_))));
}

/// An unknown user costs a full Argon2id verification too, so timing does not reveal which
/// users exist (median of several tries, lenient bound for a shared machine).
#[tokio::test]
async fn t32_unknown_user_takes_as_long_as_wrong_password() {
    let cost = PasswordCost { memory_kib: 2048, iterations: 2, parallelism: 1 };
    let h = harness(userpass_with_cost(cost)).await;
    h.write("users/alice", json!({"password": "pw"})).await.expect("create");
    let _ = h.write("login/nobody", json!({"password": "warm-up"})).await;
    async fn median(h: &Harness, user: &str) -> Duration {
        let mut times = Vec::new();
        for _ in 0..5 {
            let start = Instant::now();
            let _ = h.write(&format!("login/{user}"), json!({"password": "wrong"})).await;
            times.push(start.elapsed());
        }
        times.sort();
        times[2]
    }
    let known = median(&h, "alice").await;
    let unknown = median(&h, "nobody").await;
    assert!(unknown * 3 >= known, "unknown {unknown:?} vs known {known:?}");
}

/// token_bound_cidrs restrict where a login may come from (403 outside) and are handed to the
/// token; token_strictly_bind_ip binds the token to the login's address.
#[tokio::test]
async fn t40_bound_cidrs_on_login() {
    let h = up().await;
    h.write("users/ed", json!({"password": "pw", "token_bound_cidrs": "10.0.0.0/8,192.0.2.1/32"}))
        .await
        .expect("create");
    assert!(matches!(
        h.write_from("127.0.0.1", "login/ed", json!({"password": "pw"})).await,
        Err(LogicalError::PermissionDenied)
    ));
    let ok = h.write_from("10.9.8.7", "login/ed", json!({"password": "pw"})).await.expect("inside");
    assert_eq!(ok.auth.map(|a| a.bound_cidrs), Some(vec!["10.0.0.0/8".to_string(), "192.0.2.1".to_string()]));
    // No address at all: refused.
    let mut req = h.request(Operation::Update, "login/ed", json!({"password": "pw"}));
    req.remote_addr = None;
    assert!(matches!(h.send(req).await, Err(LogicalError::PermissionDenied)));

    h.write("users/sb", json!({"password": "pw", "token_strictly_bind_ip": true})).await.expect("create");
    let auth = h.write_from("203.0.113.9", "login/sb", json!({"password": "pw"})).await.expect("login").auth;
    assert_eq!(auth.map(|a| a.bound_cidrs), Some(vec!["203.0.113.9".to_string()]));
}

/// Renewal re-reads the user: TTLs follow the user, changed policies refuse renewal (OpenBao:
/// "policies have changed, not renewing"), a deleted user cannot renew.
#[tokio::test]
async fn t50_renew_follows_the_user() {
    let h = up().await;
    h.write("users/dave", json!({"password": "pw", "token_policies": "a", "token_ttl": "1h"})).await.expect("create");
    let auth = login(&h, "dave", "pw").await.expect("login");

    h.write("users/dave", json!({"token_ttl": "30m", "token_period": "2h"})).await.expect("update");
    let renewed = h.backend.renew_auth(&auth, &h.view).await.expect("renew");
    assert_eq!((renewed.ttl, renewed.period), (Duration::from_secs(1800), Duration::from_secs(7200)));
    assert_eq!(renewed.policies, auth.policies);

    h.write("users/dave/policies", json!({"token_policies": "b"})).await.expect("policies");
    assert_eq!(
        err_text(h.backend.renew_auth(&auth, &h.view).await.map(|_| coffer_logical::Response::no_content())),
        "Internal(\"policies have changed, not renewing\")"
    );
    h.write("users/dave/policies", json!({"token_policies": "a,default"})).await.expect("policies");
    assert!(h.backend.renew_auth(&auth, &h.view).await.is_ok(), "default is ignored in the comparison");

    h.delete("users/dave", json!(null)).await.expect("delete");
    assert!(h.backend.renew_auth(&auth, &h.view).await.is_err(), "deleted user cannot renew");
}

/// The method names itself, exposes only login unauthenticated, and the factory knows it.
#[tokio::test]
async fn t60_backend_identity() {
    let b = coffer_auth::userpass();
    assert_eq!(b.kind(), "userpass");
    assert_eq!(b.unauthenticated_paths(), &["login/*"]);
    assert!(coffer_auth::factory("userpass").is_some_and(|b| b.kind() == "userpass"));
    assert!(coffer_auth::factory("approle").is_some_and(|b| b.kind() == "approle"));
    assert!(coffer_auth::factory("ldap").is_none());
}
