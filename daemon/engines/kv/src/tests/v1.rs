use super::*;
use crate::Reply;
use coffer_logical::{LogicalBackend, LogicalError};
use serde_json::json;
use std::time::Duration;

/// A v1 write stores the body as given and a read returns it, with any JSON values nested.
#[tokio::test]
async fn v1_write_then_read_returns_the_object() {
    let kv = mount(1).await;
    let resp = kv.ok(Create, "app/db", json!({"user": "u", "n": {"z": [1, 2]}, "nil": null})).await;
    assert!(resp.is_empty(), "a v1 write answers 204");
    let resp = kv.ok(Read, "app/db", json!(null)).await;
    assert_eq!(resp.data.map(Value::Object), Some(json!({"user": "u", "n": {"z": [1, 2]}, "nil": null})));
}

/// A v1 read reports the secret's `ttl` (or `lease`) as lease_duration, else the mount's default
/// lease TTL, else 32 days; never as a lease (it goes in top_level).
#[tokio::test]
async fn v1_read_reports_ttl_as_lease_duration() {
    let kv = mount(1).await;
    kv.ok(Create, "a", json!({"x": 1})).await;
    kv.ok(Create, "b", json!({"x": 1, "ttl": "1h"})).await;
    kv.ok(Create, "c", json!({"x": 1, "ttl": 30})).await;
    kv.ok(Create, "d", json!({"x": 1, "lease": "2m"})).await;
    kv.ok(Create, "e", json!({"x": 1, "ttl": "abc"})).await;
    kv.ok(Create, "f", json!({"x": 1, "ttl": "-5s"})).await;
    kv.ok(Create, "g", json!({"x": 1, "ttl": "0"})).await;
    for (path, expected) in
        [("a", 2_764_800), ("b", 3600), ("c", 30), ("d", 120), ("e", 2_764_800), ("f", -5), ("g", 0)]
    {
        let resp = kv.ok(Read, path, json!(null)).await;
        assert_eq!(resp.top_level.get("lease_duration"), Some(&json!(expected)), "{path}");
        assert!(resp.lease.is_none(), "kv v1 reads are not leases");
    }
    let mut req = request(Read, "a", json!(null), &[]);
    req.mount.default_lease_ttl = Duration::from_secs(600);
    match kv.send(&req).await {
        Ok(Reply::Ok(resp)) => assert_eq!(resp.top_level.get("lease_duration"), Some(&json!(600))),
        other => panic!("{other:?}"),
    }
}

/// Writes with no fields, or to a path ending in '/', are refused with OpenBao's texts.
#[tokio::test]
async fn v1_refuses_empty_writes_and_folder_paths() {
    let kv = mount(1).await;
    assert_eq!(kv.bad(Create, "a", json!({})).await, "missing data fields");
    assert_eq!(kv.bad(Create, "dir/", json!({"a": 1})).await, "cannot write to a path ending in '/'");
    assert_eq!(kv.bad(Create, "", json!({"a": 1})).await, "cannot write to a path ending in '/'");
}

/// Reading or listing nothing is a plain 404; deleting nothing succeeds; PATCH is not supported.
#[tokio::test]
async fn v1_missing_paths() {
    let kv = mount(1).await;
    assert!(is_plain_not_found(&kv.call(Read, "nope", json!(null)).await));
    assert!(is_plain_not_found(&kv.call(Read, "", json!(null)).await));
    assert!(is_plain_not_found(&kv.call(List, "nope/", json!(null)).await));
    assert!(kv.ok(Delete, "nope", json!(null)).await.is_empty());
    assert!(matches!(kv.call(Patch, "nope", json!({"a": 1})).await, Err(LogicalError::UnsupportedOperation)));
}

/// A delete removes the secret; later reads are 404.
#[tokio::test]
async fn v1_delete_removes() {
    let kv = mount(1).await;
    kv.ok(Create, "a", json!({"x": 1})).await;
    kv.ok(Delete, "a", json!(null)).await;
    assert!(is_plain_not_found(&kv.call(Read, "a", json!(null)).await));
}

/// LIST returns sorted keys with folders suffixed by '/', with or without the trailing slash,
/// and `?list=true` on a read is a list; a scan returns every key below, depth-first as OpenBao.
#[tokio::test]
async fn v1_list_and_scan() {
    let kv = mount(1).await;
    for p in ["b", "a", "dir/e", "dir/sub/f", "c"] {
        kv.ok(Create, p, json!({"v": 1})).await;
    }
    let keys = |r: Response| r.data.and_then(|d| d.get("keys").cloned());
    assert_eq!(keys(kv.ok(List, "", json!(null)).await), Some(json!(["a", "b", "c", "dir/"])));
    assert_eq!(keys(kv.ok(List, "dir", json!(null)).await), Some(json!(["e", "sub/"])));
    assert_eq!(keys(kv.ok(List, "dir/", json!(null)).await), Some(json!(["e", "sub/"])));
    assert_eq!(keys(kv.ok_q(Read, "dir", &[("list", "true")]).await), Some(json!(["e", "sub/"])));
    assert_eq!(keys(kv.ok_q(Read, "", &[("scan", "true")]).await), Some(json!(["a", "b", "c", "dir/e", "dir/sub/f"])));
    assert_eq!(keys(kv.ok_q(Read, "dir", &[("scan", "true")]).await), Some(json!(["e", "sub/f"])));
    // A scan of nothing is an empty 200, not a 404.
    assert_eq!(kv.ok_q(Read, "nothing", &[("scan", "true")]).await.data, Some(Map::new()));
}

/// Query parameters a v1 read or list does not know are reported as ignored, as OpenBao does.
#[tokio::test]
async fn v1_warns_about_unknown_parameters() {
    let kv = mount(1).await;
    kv.ok(Create, "a", json!({"x": 1})).await;
    let resp = kv.ok_q(Read, "a", &[("foo", "1")]).await;
    assert_eq!(resp.warnings, vec!["Endpoint ignored these unrecognized parameters: [foo]".to_string()]);
    let resp = kv.ok_q(List, "", &[("list", "true"), ("limit", "2")]).await;
    assert_eq!(resp.warnings, vec!["Endpoint ignored these unrecognized parameters: [limit]".to_string()]);
}

/// The existence check reports whether a secret is stored at the path.
#[tokio::test]
async fn v1_exists() {
    let kv = mount(1).await;
    assert_eq!(kv.exists(Create, "a").await, Some(false));
    kv.ok(Create, "a", json!({"x": 1})).await;
    assert_eq!(kv.exists(Update, "a").await, Some(true));
    assert_eq!(kv.exists(Create, "").await, Some(false));
}

/// Through the LogicalBackend trait, every 404 is LogicalError::NotFound and kind() is "kv".
#[tokio::test]
async fn trait_maps_replies() {
    let kv = mount(1).await;
    assert_eq!(kv.kv.kind(), "kv");
    let r = kv.kv.handle(&request(Read, "nope", json!(null), &[]), &kv.view).await;
    assert!(matches!(r, Err(LogicalError::NotFound)));
    let v2 = mount(2).await;
    let r = v2.kv.handle(&request(Read, "nope", json!(null), &[]), &v2.view).await;
    assert!(matches!(r, Err(LogicalError::NotFound)), "an invalid v2 path is a 404");
}

/// The mount option `version` is read as OpenBao does: "", "1" and absent are v1, "2" is v2,
/// others are refused.
#[test]
fn version_option() {
    assert_eq!(KvBackend::from_version_option(None).map(|b| b.version()).ok(), Some(1));
    assert_eq!(KvBackend::from_version_option(Some("")).map(|b| b.version()).ok(), Some(1));
    assert_eq!(KvBackend::from_version_option(Some("2")).map(|b| b.version()).ok(), Some(2));
    match KvBackend::from_version_option(Some("3")) {
        Err(LogicalError::InvalidRequest(m)) => assert_eq!(m, "nil backend of type \"kv\" returned from factory"),
        other => panic!("{other:?}"),
    }
}
