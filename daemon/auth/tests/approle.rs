//! approle against an in-memory barrier: the paths, shapes and errors of OpenBao 2.7.2's
//! `bao auth enable approle`, with time driven by a manual clock.
mod common;

use coffer_auth::{approle_with_clock, ManualClock};
use coffer_logical::{Auth, LogicalError, Response};
use common::{data, err_text, harness, Harness};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

async fn up() -> (Harness, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::starting_now());
    (harness(approle_with_clock(clock.clone())).await, clock)
}

async fn role_id(h: &Harness, role: &str) -> String {
    let resp = h.read(&format!("role/{role}/role-id")).await.expect("role-id");
    data(&resp)["role_id"].as_str().unwrap_or_default().to_string()
}

/// (secret_id, accessor)
async fn new_secret(h: &Harness, role: &str, body: Value) -> (String, String) {
    let resp = h.write(&format!("role/{role}/secret-id"), body).await.expect("secret-id");
    let d = data(&resp);
    (d["secret_id"].as_str().unwrap_or_default().into(), d["secret_id_accessor"].as_str().unwrap_or_default().into())
}

async fn login(h: &Harness, role_id: &str, secret_id: &str) -> Result<Auth, LogicalError> {
    let resp = h.write("login", json!({"role_id": role_id, "secret_id": secret_id})).await?;
    resp.auth.ok_or_else(|| LogicalError::Internal("no auth".into()))
}

fn invalid_credentials(r: &Result<Auth, LogicalError>) -> bool {
    matches!(r, Err(LogicalError::InvalidRequest(m)) if m == "invalid role or secret ID")
}

/// A role is created, read back in OpenBao's exact shape, listed, and deleted; its role ID can
/// be read and replaced by a custom one.
#[tokio::test]
async fn t10_role_crud_matches_openbao_shapes() {
    let (h, _) = up().await;
    let resp = h
        .write("role/r1", json!({"token_policies": "p1", "secret_id_ttl": "10m", "secret_id_num_uses": 3}))
        .await
        .expect("create");
    assert!(resp.is_empty());
    assert_eq!(
        data(&h.read("role/r1").await.expect("read")),
        json!({
            "bind_secret_id": true, "local_secret_ids": false, "secret_id_bound_cidrs": null,
            "secret_id_num_uses": 3, "secret_id_ttl": 600, "token_bound_cidrs": [],
            "token_explicit_max_ttl": 0, "token_max_ttl": 0, "token_no_default_policy": false,
            "token_num_uses": 0, "token_period": 0, "token_policies": ["p1"],
            "token_strictly_bind_ip": false, "token_ttl": 0, "token_type": "default"
        })
    );
    h.write("role/R2", json!({})).await.expect("create r2");
    assert_eq!(data(&h.list("role").await.expect("list")), json!({"keys": ["r1", "r2"]}));
    assert!(h.read("role/r2").await.is_ok(), "names are case-insensitive");

    let generated = role_id(&h, "r1").await;
    assert_eq!(generated.len(), 36, "a UUID");
    h.write("role/r1/role-id", json!({"role_id": "my-custom-role-id"})).await.expect("custom role id");
    assert_eq!(role_id(&h, "r1").await, "my-custom-role-id");
    assert_eq!(
        err_text(h.write("role/r2", json!({"role_id": "my-custom-role-id"})).await),
        "Internal(\"role_id already in use\")"
    );
    assert_eq!(err_text(h.write("role/r1/role-id", json!({})).await), "InvalidRequest(\"missing role_id\")");
    assert!(matches!(h.write("role/nope/role-id", json!({"role_id": "x"})).await, Err(LogicalError::UnsupportedPath)));
    assert!(matches!(h.read("role/nope/role-id").await, Err(LogicalError::NotFound)));

    h.delete("role/r1", json!(null)).await.expect("delete");
    h.delete("role/r1", json!(null)).await.expect("delete again is fine");
    assert!(matches!(h.read("role/r1").await, Err(LogicalError::NotFound)));
    h.delete("role/r2", json!(null)).await.expect("delete");
    assert!(matches!(h.list("role/").await, Err(LogicalError::NotFound)));
    // Only the mount's salt is left: indexes and secret IDs went with their roles.
    assert_eq!(h.dump().await.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), vec!["salt"]);
}

/// Role writes refuse what OpenBao refuses, with its messages, and warn where it warns.
#[tokio::test]
async fn t11_role_write_rules() {
    let (h, _) = up().await;
    assert_eq!(
        err_text(h.write("role/r", json!({"bind_secret_id": false})).await),
        "Internal(\"at least one constraint should be enabled on the role\")"
    );
    assert_eq!(
        err_text(h.write("role/r", json!({"secret_id_bound_cidrs": "bad"})).await),
        "Internal(\"failed to validate CIDR blocks: invalid CIDR address: bad\")"
    );
    assert_eq!(
        err_text(h.write("role/r", json!({"secret_id_num_uses": -1})).await),
        "InvalidRequest(\"secret_id_num_uses cannot be negative\")"
    );
    let resp =
        h.write("role/r", json!({"token_type": "default-service", "local_secret_ids": true})).await.expect("create");
    assert_eq!(resp.warnings, vec!["default-service has no useful meaning; adjusting to service".to_string()]);
    let read = data(&h.read("role/r").await.expect("read"));
    assert_eq!((read["token_type"].clone(), read["local_secret_ids"].clone()), (json!("service"), json!(true)));
    assert_eq!(
        err_text(h.write("role/r", json!({"local_secret_ids": false})).await),
        "InvalidRequest(\"local_secret_ids can only be modified during role creation\")"
    );
    // Legacy policies/period are upgraded and shown until replaced.
    h.write("role/l", json!({"policies": "B,a", "period": "1h"})).await.expect("legacy");
    let read = data(&h.read("role/l").await.expect("read"));
    assert_eq!((read["policies"].clone(), read["token_policies"].clone()), (json!(["a", "b"]), json!(["a", "b"])));
    assert_eq!((read["period"].clone(), read["token_period"].clone()), (json!(3600), json!(3600)));
    h.write("role/l", json!({"token_period": "2h"})).await.expect("update");
    let read = data(&h.read("role/l").await.expect("read"));
    assert!(read.get("period").is_none());
    assert_eq!(read["token_period"], json!(7200));
}

/// The per-field endpoints read, set and reset one property, with OpenBao's shapes and checks.
#[tokio::test]
async fn t12_role_field_endpoints() {
    let (h, _) = up().await;
    h.write("role/f1", json!({"token_bound_cidrs": "127.0.0.1,10.0.0.0/8", "token_policies": "x"}))
        .await
        .expect("role");
    assert_eq!(data(&h.read("role/f1/policies").await.expect("read")), json!({"token_policies": ["x"]}));
    assert_eq!(
        data(&h.read("role/f1/token-bound-cidrs").await.expect("read")),
        json!({"token_bound_cidrs": ["127.0.0.1", "10.0.0.0/8"]})
    );
    assert_eq!(
        data(&h.read("role/f1/secret-id-bound-cidrs").await.expect("read")),
        json!({"secret_id_bound_cidrs": null})
    );
    let legacy = h.read("role/f1/bound-cidr-list").await.expect("read");
    assert_eq!((data(&legacy), legacy.warnings.len()), (json!({"bound_cidr_list": null}), 1));
    for (seg, field) in [
        ("token-ttl", "token_ttl"),
        ("token-max-ttl", "token_max_ttl"),
        ("secret-id-ttl", "secret_id_ttl"),
        ("token-num-uses", "token_num_uses"),
        ("secret-id-num-uses", "secret_id_num_uses"),
    ] {
        assert_eq!(data(&h.read(&format!("role/f1/{seg}")).await.expect("read")), json!({ field: 0 }));
        assert_eq!(
            err_text(h.write(&format!("role/f1/{seg}"), json!({})).await),
            format!("InvalidRequest(\"missing {field}\")")
        );
    }
    h.write("role/f1/token-ttl", json!({"token_ttl": "2h"})).await.expect("ttl");
    assert_eq!(
        err_text(h.write("role/f1/token-max-ttl", json!({"token_max_ttl": "1h"})).await),
        "InvalidRequest(\"token_max_ttl should be greater than or equal to token_ttl\")"
    );
    h.write("role/f1/token-max-ttl", json!({"token_max_ttl": "3h"})).await.expect("max");
    assert_eq!(
        err_text(h.write("role/f1/token-ttl", json!({"token_ttl": "4h"})).await),
        "InvalidRequest(\"token_ttl should not be greater than token_max_ttl\")"
    );
    h.write("role/f1/period", json!({"period": "5m"})).await.expect("period");
    assert_eq!(data(&h.read("role/f1/period").await.expect("read")), json!({"period": 300, "token_period": 300}));
    h.write("role/f1/policies", json!({"policies": "Z,y"})).await.expect("policies");
    assert_eq!(
        data(&h.read("role/f1/policies").await.expect("read")),
        json!({"policies": ["y", "z"], "token_policies": ["y", "z"]})
    );
    h.delete("role/f1/period", json!(null)).await.expect("reset");
    h.delete("role/f1/token-ttl", json!(null)).await.expect("reset");
    let read = data(&h.read("role/f1").await.expect("read"));
    assert_eq!(
        (read["token_period"].clone(), read["token_ttl"].clone(), read["token_max_ttl"].clone()),
        (json!(0), json!(0), json!(10800))
    );
    assert!(matches!(h.read("role/nope/token-ttl").await, Err(LogicalError::NotFound)));
    assert!(matches!(
        h.write("role/nope/token-ttl", json!({"token_ttl": 5})).await,
        Err(LogicalError::UnsupportedPath)
    ));
    assert!(
        matches!(h.read("role/f1/bind-secret-id").await, Err(LogicalError::UnsupportedPath)),
        "not in OpenBao 2.7.2"
    );
}

/// Login with a generated secret ID returns the role's token parameters, the secret ID's
/// metadata plus role_name, and internal data naming the role for renewal.
#[tokio::test]
async fn t20_login_success_returns_auth() {
    let (h, _) = up().await;
    h.write("role/r1", json!({"token_policies": "p1", "token_ttl": "20m", "token_max_ttl": "1h"})).await.expect("role");
    let rid = role_id(&h, "r1").await;
    let (sid, _) = new_secret(&h, "r1", json!({"metadata": "{\"team\":\"x\"}"})).await;
    let auth = login(&h, &rid, &sid).await.expect("login");
    assert_eq!(auth.policies, vec!["p1".to_string()]);
    assert_eq!(
        auth.metadata,
        [("role_name".to_string(), "r1".to_string()), ("team".to_string(), "x".to_string())].into()
    );
    assert_eq!(auth.internal_data.get("role_name"), Some(&json!("r1")));
    assert_eq!((auth.ttl, auth.max_ttl), (Duration::from_secs(1200), Duration::from_secs(3600)));
    assert!(auth.renewable);
    // Unlimited secret IDs stay valid.
    assert!(login(&h, &rid, &sid).await.is_ok());
}

/// Wrong secret IDs, wrong role IDs and missing fields fail as in OpenBao.
#[tokio::test]
async fn t21_login_failures() {
    let (h, _) = up().await;
    h.write("role/r1", json!({})).await.expect("role");
    let rid = role_id(&h, "r1").await;
    let (sid, _) = new_secret(&h, "r1", json!({})).await;
    assert!(invalid_credentials(&login(&h, &rid, "wrong").await));
    assert!(invalid_credentials(&login(&h, "wrong", &sid).await));
    assert_eq!(err_text(h.write("login", json!({"role_id": rid})).await), "InvalidRequest(\"missing secret_id\")");
    assert_eq!(err_text(h.write("login", json!({})).await), "Internal(\"missing role_id\")");
    // A secret ID of one role does not open another.
    h.write("role/r2", json!({})).await.expect("role");
    assert!(invalid_credentials(&login(&h, &role_id(&h, "r2").await, &sid).await));
}

/// Secret-ID creation and lookup: OpenBao's response fields, limits relative to the role, and
/// lookup by secret ID or accessor showing the stored properties.
#[tokio::test]
async fn t30_secret_id_create_and_lookup() {
    let (h, _) = up().await;
    h.write("role/r1", json!({"secret_id_ttl": "10m", "secret_id_num_uses": 3})).await.expect("role");
    let resp = h.write("role/r1/secret-id", json!({})).await.expect("create");
    let d = data(&resp);
    assert_eq!((d["secret_id_num_uses"].clone(), d["secret_id_ttl"].clone()), (json!(3), json!(600)));
    let mut keys: Vec<&String> = resp.data.as_ref().map(|m| m.keys().collect()).unwrap_or_default();
    keys.sort();
    assert_eq!(keys, ["secret_id", "secret_id_accessor", "secret_id_num_uses", "secret_id_ttl"]);

    assert_eq!(
        err_text(h.write("role/r1/secret-id", json!({"ttl": "20m"})).await),
        "InvalidRequest(\"ttl cannot be longer than the role's secret_id_ttl\")"
    );
    assert_eq!(
        err_text(h.write("role/r1/secret-id", json!({"num_uses": 5})).await),
        "InvalidRequest(\"num_uses cannot be higher than the role's secret_id_num_uses\")"
    );
    assert_eq!(
        err_text(h.write("role/r1/secret-id", json!({"metadata": "notjson"})).await),
        "InvalidRequest(\"failed to parse metadata: failed to parse the input: invalid <key,value> format\")"
    );
    assert!(matches!(h.write("role/nope/secret-id", json!({})).await, Err(LogicalError::NotFound)));

    let (sid, acc) =
        new_secret(&h, "r1", json!({"num_uses": 2, "ttl": "5m", "cidr_list": "127.0.0.0/8", "metadata": "a=b"})).await;
    let by_secret = data(&h.write("role/r1/secret-id/lookup", json!({"secret_id": sid})).await.expect("lookup"));
    let by_accessor =
        data(&h.write("role/r1/secret-id-accessor/lookup", json!({"secret_id_accessor": acc})).await.expect("lookup"));
    assert_eq!(by_secret, by_accessor);
    assert_eq!(by_secret["secret_id_accessor"], json!(acc));
    assert_eq!(by_secret["secret_id_num_uses"], json!(2));
    assert_eq!(by_secret["secret_id_ttl"], json!(300));
    assert_eq!(by_secret["cidr_list"], json!(["127.0.0.0/8"]));
    assert_eq!(by_secret["metadata"], json!({"a": "b"}));
    assert_eq!(by_secret["token_bound_cidrs"], json!([]));
    let created = by_secret["creation_time"].as_str().unwrap_or_default();
    assert!(created.ends_with('Z') && created.contains('T'), "{created}");
    assert_ne!(by_secret["expiration_time"], json!("0001-01-01T00:00:00Z"));

    // No TTL: Go's zero time, as OpenBao.
    h.write("role/forever", json!({})).await.expect("role");
    let (sid2, _) = new_secret(&h, "forever", json!({})).await;
    let d = data(&h.write("role/forever/secret-id/lookup", json!({"secret_id": sid2})).await.expect("lookup"));
    assert_eq!(d["expiration_time"], json!("0001-01-01T00:00:00Z"));
    assert_eq!((d["cidr_list"].clone(), d["metadata"].clone()), (json!([]), json!({})));

    // A TTL beyond the mount's max lease TTL (default 768h) is capped in effect, stored as asked.
    h.write("role/big", json!({"secret_id_ttl": "1000h"})).await.expect("role");
    let resp = h.write("role/big/secret-id", json!({})).await.expect("create");
    assert_eq!(data(&resp)["secret_id_ttl"], json!(2_764_800));
    let sid3 = data(&resp)["secret_id"].as_str().unwrap_or_default().to_string();
    let d = data(&h.write("role/big/secret-id/lookup", json!({"secret_id": sid3})).await.expect("lookup"));
    assert_eq!(d["secret_id_ttl"], json!(3_600_000));

    // Unknown secret: 204; missing field: 400; unknown role: OpenBao's 500.
    assert!(h.write("role/r1/secret-id/lookup", json!({"secret_id": "nope"})).await.is_ok_and(|r| r.is_empty()));
    assert_eq!(err_text(h.write("role/r1/secret-id/lookup", json!({})).await), "InvalidRequest(\"missing secret_id\")");
    assert_eq!(
        err_text(h.write("role/nope/secret-id/lookup", json!({"secret_id": "x"})).await),
        "Internal(\"role \\\"nope\\\" does not exist\")"
    );
}

/// A secret ID expires after its TTL (clock moved, no sleeping): login refuses it, lookup no
/// longer finds it, and tidy removes it and its accessor.
#[tokio::test]
async fn t31_secret_id_ttl_expiry_and_tidy() {
    let (h, clock) = up().await;
    h.write("role/r4", json!({"secret_id_ttl": "60s"})).await.expect("role");
    let rid = role_id(&h, "r4").await;
    let (sid, acc) = new_secret(&h, "r4", json!({})).await;
    let (keep, _) = new_secret(&h, "r4", json!({})).await;
    clock.advance(Duration::from_secs(59));
    assert!(login(&h, &rid, &sid).await.is_ok(), "valid just before expiry");
    clock.advance(Duration::from_secs(2));
    assert!(invalid_credentials(&login(&h, &rid, &sid).await));
    assert!(h.write("role/r4/secret-id/lookup", json!({"secret_id": sid})).await.is_ok_and(|r| r.is_empty()));
    assert!(h
        .write("role/r4/secret-id-accessor/lookup", json!({"secret_id_accessor": acc}))
        .await
        .is_ok_and(|r| r.is_empty()));
    // Listed until tidied, as OpenBao.
    assert_eq!(data(&h.list("role/r4/secret-id").await.expect("list"))["keys"].as_array().map(Vec::len), Some(2));

    let resp = h.write("tidy/secret-id", json!({})).await.expect("tidy");
    assert_eq!(
        resp.warnings,
        vec!["Tidy operation successfully started. Any information from the operation will be printed to OpenBao's server logs.".to_string()]
    );
    assert!(matches!(h.list("role/r4/secret-id").await, Err(LogicalError::NotFound)));
    assert!(h.dump().await.iter().all(|(k, _)| !k.starts_with("secret_id/") && !k.starts_with("accessor/")));
    assert!(invalid_credentials(&login(&h, &rid, &keep).await), "both expired");
}

/// Tidy also removes accessors whose secret ID is gone and leaves live secret IDs alone.
#[tokio::test]
async fn t32_tidy_removes_dangling_accessors_only() {
    let (h, _) = up().await;
    h.write("role/r", json!({})).await.expect("role");
    let rid = role_id(&h, "r").await;
    let (live, live_acc) = new_secret(&h, "r", json!({})).await;
    let (_gone, _) = new_secret(&h, "r", json!({})).await;
    // Remove one secret-ID record behind the backend's back, leaving its accessor dangling.
    let dump = h.dump().await;
    let victim = dump
        .iter()
        .find(|(k, v)| k.starts_with("secret_id/") && !String::from_utf8_lossy(v).contains(&live_acc))
        .map(|(k, _)| k.clone())
        .expect("second secret");
    h.view.delete(&victim).await.expect("delete");
    let accessors = |d: &Vec<(String, Vec<u8>)>| d.iter().filter(|(k, _)| k.starts_with("accessor/")).count();
    assert_eq!(accessors(&h.dump().await), 2);
    h.write("tidy/secret-id", json!({})).await.expect("tidy");
    assert_eq!(accessors(&h.dump().await), 1);
    assert!(login(&h, &rid, &live).await.is_ok());
    assert_eq!(data(&h.list("role/r/secret-id").await.expect("list")), json!({"keys": [live_acc]}));
}

/// num_uses counts down on each login and the secret ID (and its accessor) is deleted when the
/// last use is spent.
#[tokio::test]
async fn t33_num_uses_exhaustion() {
    let (h, _) = up().await;
    h.write("role/r", json!({"secret_id_num_uses": 3})).await.expect("role");
    let rid = role_id(&h, "r").await;
    let (sid, _) = new_secret(&h, "r", json!({"num_uses": 2})).await;
    assert!(login(&h, &rid, &sid).await.is_ok());
    let d = data(&h.write("role/r/secret-id/lookup", json!({"secret_id": sid})).await.expect("lookup"));
    assert_eq!(d["secret_id_num_uses"], json!(1));
    assert!(login(&h, &rid, &sid).await.is_ok());
    assert!(invalid_credentials(&login(&h, &rid, &sid).await));
    assert!(matches!(h.list("role/r/secret-id").await, Err(LogicalError::NotFound)));
    assert!(h.dump().await.iter().all(|(k, _)| !k.starts_with("accessor/")));
}

/// Concurrent logins never spend more uses than a secret ID has: exactly num_uses succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn t33b_num_uses_hold_under_concurrent_logins() {
    let (h, _) = up().await;
    h.write("role/r", json!({})).await.expect("role");
    let rid = role_id(&h, "r").await;
    let (sid, _) = new_secret(&h, "r", json!({"num_uses": 3})).await;
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let (backend, view) = (h.backend.clone(), h.view.clone());
        let req = h.request(coffer_logical::Operation::Update, "login", json!({"role_id": rid, "secret_id": sid}));
        tasks.push(tokio::spawn(async move { backend.handle(&req, &view).await.is_ok() }));
    }
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap_or(false) {
            ok += 1;
        }
    }
    assert_eq!(ok, 3);
}

/// CIDR restrictions on the secret ID and on the role: a login from outside is refused with
/// OpenBao's message and spends no use; from inside it succeeds. Token CIDRs of the secret ID
/// replace the role's on the token.
#[tokio::test]
async fn t34_cidr_rejection_and_acceptance() {
    let (h, _) = up().await;
    h.write("role/r", json!({"secret_id_bound_cidrs": "10.0.0.0/8", "token_bound_cidrs": "10.0.0.0/8"}))
        .await
        .expect("role");
    let rid = role_id(&h, "r").await;
    assert!(
        matches!(h.write("role/r/secret-id", json!({"cidr_list": "192.168.0.0/16"})).await, Err(LogicalError::Internal(m)) if m.starts_with("failed to verify subset relationship")),
        "secret-ID CIDRs must lie within the role's"
    );
    assert_eq!(
        err_text(h.write("role/r/secret-id", json!({"token_bound_cidrs": "10.1.1.1"})).await),
        "Internal(\"failed to validate token CIDR blocks: invalid CIDR address: 10.1.1.1\")"
    );
    let (sid, _) =
        new_secret(&h, "r", json!({"num_uses": 1, "cidr_list": "10.1.0.0/16", "token_bound_cidrs": "10.1.2.0/24"}))
            .await;
    let creds = json!({"role_id": rid, "secret_id": sid});
    assert_eq!(
        err_text(h.write_from("10.2.0.1", "login", creds.clone()).await),
        "InvalidRequest(\"source address \\\"10.2.0.1\\\" unauthorized through CIDR restrictions on the secret ID\")"
    );
    assert_eq!(
        err_text(h.write_from("127.0.0.1", "login", creds.clone()).await),
        "InvalidRequest(\"source address \\\"127.0.0.1\\\" unauthorized through CIDR restrictions on the secret ID\")"
    );
    let auth = h.write_from("10.1.9.9", "login", creds.clone()).await.expect("inside").auth;
    assert_eq!(auth.map(|a| a.bound_cidrs), Some(vec!["10.1.2.0/24".to_string()]), "refused logins spent no use");
    assert!(h.write_from("10.1.9.9", "login", creds).await.is_err(), "the single use is now spent");

    // Role-level restriction alone.
    let (sid2, _) = new_secret(&h, "r", json!({})).await;
    let creds = json!({"role_id": rid, "secret_id": sid2});
    assert_eq!(
        err_text(h.write_from("127.0.0.1", "login", creds.clone()).await),
        "InvalidRequest(\"source address \\\"127.0.0.1\\\" unauthorized by CIDR restrictions on the role\")"
    );
    let auth = h.write_from("10.0.0.1", "login", creds).await.expect("inside").auth;
    assert_eq!(auth.map(|a| a.bound_cidrs), Some(vec!["10.0.0.0/8".to_string()]));
}

/// bind_secret_id=false: the role ID alone logs in (any secret_id is ignored), provided another
/// constraint (here a CIDR) holds; such a role issues no secret IDs.
#[tokio::test]
async fn t35_bind_secret_id_false() {
    let (h, _) = up().await;
    h.write("role/r2", json!({"bind_secret_id": false, "secret_id_bound_cidrs": "127.0.0.0/8"})).await.expect("role");
    let rid = role_id(&h, "r2").await;
    let auth = h.write("login", json!({"role_id": rid})).await.expect("login").auth.expect("auth");
    assert_eq!(auth.metadata, [("role_name".to_string(), "r2".to_string())].into());
    assert!(h.write("login", json!({"role_id": rid, "secret_id": "junk"})).await.is_ok());
    assert!(h.write_from("10.0.0.1", "login", json!({"role_id": rid})).await.is_err());
    assert_eq!(
        err_text(h.write("role/r2/secret-id", json!({})).await),
        "InvalidRequest(\"bind_secret_id is not set on the role\")"
    );
}

/// A custom secret ID works like a generated one, cannot be registered twice, and is stored
/// only as an HMAC: neither it nor a generated one appears in any record or on disk.
#[tokio::test]
async fn t36_custom_secret_id_stored_as_hmac() {
    let (h, _) = up().await;
    h.write("role/r", json!({})).await.expect("role");
    let rid = role_id(&h, "r").await;
    let custom = "my-very-own-secret-value";
    let resp = h.write("role/r/custom-secret-id", json!({"secret_id": custom})).await.expect("custom");
    assert_eq!(data(&resp)["secret_id"], json!(custom));
    assert_eq!(
        err_text(h.write("role/r/custom-secret-id", json!({"secret_id": custom})).await),
        "Internal(\"failed to store secret_id: SecretID is already registered\")"
    );
    assert_eq!(err_text(h.write("role/r/custom-secret-id", json!({})).await), "InvalidRequest(\"missing secret_id\")");
    assert!(login(&h, &rid, custom).await.is_ok());
    let (generated, accessor) = new_secret(&h, "r", json!({})).await;
    assert!(!h.stored_anywhere(custom).await);
    assert!(!h.stored_anywhere(&generated).await);
    // Accessors are not secret (the record holds it), but their index key is a salted HMAC.
    assert!(h.dump().await.iter().all(|(k, _)| !k.contains(&accessor)));
}

/// Accessors list a role's secret IDs; destroying by accessor or by secret ID ends logins;
/// destroying an unknown accessor is OpenBao's 500.
#[tokio::test]
async fn t37_accessor_lookup_and_destroy() {
    let (h, _) = up().await;
    h.write("role/r", json!({})).await.expect("role");
    let rid = role_id(&h, "r").await;
    let (s1, a1) = new_secret(&h, "r", json!({})).await;
    let (s2, a2) = new_secret(&h, "r", json!({})).await;
    let mut listed: Vec<String> = data(&h.list("role/r/secret-id").await.expect("list"))["keys"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .unwrap_or_default();
    listed.sort();
    let mut want = vec![a1.clone(), a2.clone()];
    want.sort();
    assert_eq!(listed, want);

    h.write("role/r/secret-id-accessor/destroy", json!({"secret_id_accessor": a1})).await.expect("destroy");
    assert!(invalid_credentials(&login(&h, &rid, &s1).await));
    assert!(matches!(
        h.write("role/r/secret-id-accessor/lookup", json!({"secret_id_accessor": a1})).await,
        Err(LogicalError::NotFound)
    ));
    assert_eq!(
        err_text(h.write("role/r/secret-id-accessor/destroy", json!({"secret_id_accessor": a1})).await),
        format!("Internal(\"failed to find accessor entry for secret_id_accessor: \\\"{a1}\\\"\")")
    );
    assert_eq!(
        err_text(h.write("role/r/secret-id-accessor/lookup", json!({})).await),
        "InvalidRequest(\"missing secret_id_accessor\")"
    );

    // Destroy by secret ID, via DELETE with a body as OpenBao allows.
    h.delete("role/r/secret-id/destroy", json!({"secret_id": s2})).await.expect("destroy");
    assert!(invalid_credentials(&login(&h, &rid, &s2).await));
    assert!(h.write("role/r/secret-id/destroy", json!({"secret_id": "nonexistent"})).await.is_ok_and(|r| r.is_empty()));
    assert!(matches!(h.list("role/r/secret-id").await, Err(LogicalError::NotFound)));

    // Another role's accessor finds nothing here.
    h.write("role/other", json!({})).await.expect("role");
    let (_, foreign) = new_secret(&h, "other", json!({})).await;
    assert!(h
        .write("role/r/secret-id-accessor/lookup", json!({"secret_id_accessor": foreign}))
        .await
        .is_ok_and(|r| r.is_empty()));
}

/// Renewal needs the role to exist and takes the role's current TTLs.
#[tokio::test]
async fn t40_renew_follows_the_role() {
    let (h, _) = up().await;
    h.write("role/r", json!({"token_ttl": "1h"})).await.expect("role");
    let rid = role_id(&h, "r").await;
    let (sid, _) = new_secret(&h, "r", json!({})).await;
    let auth = login(&h, &rid, &sid).await.expect("login");
    h.write("role/r", json!({"token_ttl": "10m", "token_period": "1h"})).await.expect("update");
    let renewed = h.backend.renew_auth(&auth, &h.view).await.expect("renew");
    assert_eq!((renewed.ttl, renewed.period), (Duration::from_secs(600), Duration::from_secs(3600)));
    h.delete("role/r", json!(null)).await.expect("delete");
    assert_eq!(
        err_text(h.backend.renew_auth(&auth, &h.view).await.map(|_| Response::no_content())),
        "Internal(\"role \\\"r\\\" does not exist during renewal\")"
    );
    assert!(invalid_credentials(&login(&h, &rid, &sid).await), "deleting a role ends its credentials");
}

/// Paths and operations outside the API are refused; login is the only unauthenticated path.
#[tokio::test]
async fn t50_routing() {
    let (h, _) = up().await;
    assert_eq!(h.backend.unauthenticated_paths(), &["login"]);
    assert!(matches!(h.read("login").await, Err(LogicalError::UnsupportedOperation)));
    assert!(matches!(h.read("role/r/secret-id/lookup").await, Err(LogicalError::UnsupportedOperation)));
    assert!(matches!(h.read("role/-bad").await, Err(LogicalError::UnsupportedPath)));
    assert!(matches!(h.read("nothing/here").await, Err(LogicalError::UnsupportedPath)));
    assert_eq!(err_text(h.list("role/nope/secret-id").await), "InvalidRequest(\"role \\\"nope\\\" does not exist\")");
}
