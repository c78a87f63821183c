use super::*;
use crate::v2::model::version_key;
use serde_json::json;

/// Each write creates the next version; a read returns the latest, `?version=` any kept one,
/// and the metadata of the version read.
#[tokio::test]
async fn writes_create_versions_and_reads_pick_them() {
    let kv = mount(2).await;
    let w1 = kv.put("app", json!({"v": 1})).await;
    assert_eq!(w1["version"], json!(1));
    assert_eq!(w1["destroyed"], json!(false));
    assert_eq!(w1["deletion_time"], json!(""));
    assert_eq!(w1["custom_metadata"], json!(null));
    assert!(is_go_time(w1["created_time"].as_str().unwrap_or("")));
    kv.put("app", json!({"v": 2})).await;

    let latest = kv.data(Read, "data/app", json!(null)).await;
    assert_eq!(latest["data"], json!({"v": 2}));
    assert_eq!(latest["metadata"]["version"], json!(2));
    let first = kv.ok_q(Read, "data/app", &[("version", "1")]).await.data.map(Value::Object).unwrap();
    assert_eq!(first["data"], json!({"v": 1}));
    assert_eq!(first["metadata"]["created_time"], w1["created_time"]);
    // 0 and negative versions mean the latest, as in OpenBao.
    for v in ["0", "-1"] {
        let r = kv.ok_q(Read, "data/app", &[("version", v)]).await.data.map(Value::Object).unwrap();
        assert_eq!(r["metadata"]["version"], json!(2));
    }
    assert!(is_plain_not_found(&kv.call_q(Read, "data/app", &[("version", "3")]).await));
    assert!(is_plain_not_found(&kv.call(Read, "data/nope", json!(null)).await));
    assert!(is_plain_not_found(&kv.call(Read, "data/", json!(null)).await));
}

/// A `version` that is not an integer is refused with OpenBao's field-validation text.
#[tokio::test]
async fn bad_version_parameter() {
    let kv = mount(2).await;
    kv.put("app", json!({"v": 1})).await;
    assert_eq!(
        kv.bad_q(Read, "data/app", &[("version", "abc")]).await,
        "Field validation failed: error converting input for field \"version\": '' cannot parse value as 'int': strconv.ParseInt: invalid syntax"
    );
}

/// Writes without `data`, or whose `data`/`options` are not objects, fail with OpenBao's texts;
/// `null` data and arrays of objects (merged) are accepted as OpenBao accepts them.
#[tokio::test]
async fn write_body_shapes() {
    let kv = mount(2).await;
    assert_eq!(kv.bad(Create, "data/a", json!({"x": 1})).await, "no data provided");
    assert_eq!(
        kv.bad(Create, "data/a", json!({"data": "str"})).await,
        "error converting input for field \"data\": '' expected type 'map[string]interface {}', got unconvertible type 'string'"
    );
    assert_eq!(
        kv.bad(Create, "data/a", json!({"data": [1, 2]})).await,
        "error converting input for field \"data\": '[0]' expected type 'map[string]interface {}', got unconvertible type 'json.Number'"
    );
    assert_eq!(
        kv.bad(Create, "data/a", json!({"data": {}, "options": 5})).await,
        "error converting input for field \"options\": '' expected type 'map[string]interface {}', got unconvertible type 'json.Number'"
    );
    kv.put("a", json!(null)).await;
    assert_eq!(kv.data(Read, "data/a", json!(null)).await["data"], json!(null));
    kv.put("a", json!([{"x": 1}, {"y": 2}])).await;
    assert_eq!(kv.data(Read, "data/a", json!(null)).await["data"], json!({"x": 1, "y": 2}));
    kv.put("a", json!({})).await;
    assert_eq!(kv.data(Read, "data/a", json!(null)).await["data"], json!({}));
}

/// Unknown body parameters are ignored with OpenBao's warning.
#[tokio::test]
async fn unknown_parameters_warn() {
    let kv = mount(2).await;
    let resp = kv.ok(Create, "data/a", json!({"data": {"k": "v"}, "extra": 1, "more": 2})).await;
    assert_eq!(resp.warnings, vec!["Endpoint ignored these unrecognized parameters: [extra more]".to_string()]);
}

/// Check-and-set: cas 0 writes only a new secret, cas n only over version n, with OpenBao's
/// error texts; cas values decode as Go's weak decoding does (strings, bools, null).
#[tokio::test]
async fn check_and_set() {
    let kv = mount(2).await;
    let with_cas = |cas: Value| json!({"data": {"k": "v"}, "options": {"cas": cas}});
    kv.ok(Create, "data/c", with_cas(json!(0))).await;
    let mismatch = "check-and-set parameter did not match the current version";
    assert_eq!(kv.bad(Update, "data/c", with_cas(json!(0))).await, mismatch);
    assert_eq!(kv.bad(Update, "data/c", with_cas(json!(2))).await, mismatch);
    assert_eq!(kv.bad(Update, "data/c", with_cas(json!(-1))).await, mismatch);
    assert_eq!(kv.bad(Update, "data/c", with_cas(json!(null))).await, mismatch);
    kv.ok(Update, "data/c", with_cas(json!(true))).await; // true is 1
    kv.ok(Update, "data/c", with_cas(json!("2"))).await;
    kv.ok(Update, "data/c", with_cas(json!("0x3"))).await;
    let parsing = "error parsing check-and-set parameter";
    for bad in [json!("abc"), json!(4.0), json!(" 4"), json!([4])] {
        assert_eq!(kv.bad(Update, "data/c", with_cas(bad.clone())).await, parsing, "{bad}");
    }
    assert_eq!(kv.metadata("c").await["current_version"], json!(4));
}

/// With cas_required on the key or the mount, a write without cas is refused.
#[tokio::test]
async fn cas_required() {
    let kv = mount(2).await;
    kv.ok(Create, "metadata/k", json!({"cas_required": true})).await;
    assert_eq!(
        kv.bad(Create, "data/k", json!({"data": {"a": 1}})).await,
        "check-and-set parameter required for this call"
    );
    kv.ok(Create, "data/k", json!({"data": {"a": 1}, "options": {"cas": 0}})).await;

    kv.ok(Update, "config", json!({"cas_required": true})).await;
    assert_eq!(
        kv.bad(Create, "data/other", json!({"data": {"a": 1}})).await,
        "check-and-set parameter required for this call"
    );
    kv.ok(Create, "data/other", json!({"data": {"a": 1}, "options": {"cas": 0}})).await;
}

/// PATCH is a JSON merge patch of the current version: null removes a key, objects merge
/// recursively, other values replace; the result is a new version.
#[tokio::test]
async fn patch_merges_into_a_new_version() {
    let kv = mount(2).await;
    kv.put("p", json!({"k": "v", "n": {"a": 1, "b": 2}, "list": [1, 2]})).await;
    let resp = kv
        .data(
            Patch,
            "data/p",
            json!({"data": {"k": null, "n": {"a": null, "c": 3}, "list": [3], "new": {"x": null, "y": 1}}}),
        )
        .await;
    assert_eq!(resp["version"], json!(2));
    let read = kv.data(Read, "data/p", json!(null)).await;
    assert_eq!(read["data"], json!({"n": {"b": 2, "c": 3}, "list": [3], "new": {"y": 1}}));
    // The previous version is untouched.
    let v1 = kv.ok_q(Read, "data/p", &[("version", "1")]).await.data.map(Value::Object).unwrap();
    assert_eq!(v1["data"], json!({"k": "v", "n": {"a": 1, "b": 2}, "list": [1, 2]}));
}

/// PATCH needs `data` and an existing, live current version: missing secrets are a 404 with no
/// body, deleted or destroyed ones a 404 with the version's metadata; cas applies as for writes.
#[tokio::test]
async fn patch_preconditions() {
    let kv = mount(2).await;
    assert!(not_found_body(kv.call(Patch, "data/none", json!({"data": {"a": 1}})).await).is_empty());
    kv.put("p", json!({"a": 1})).await;
    assert_eq!(kv.bad(Patch, "data/p", json!({"x": 1})).await, "no data provided");
    assert_eq!(
        kv.bad(Patch, "data/p", json!({"data": "s"})).await,
        "Field validation failed: error converting input for field \"data\": '' expected type 'map[string]interface {}', got unconvertible type 'string'"
    );
    assert_eq!(
        kv.bad(Patch, "data/p", json!({"data": {"a": 2}, "options": {"cas": 0}})).await,
        "check-and-set parameter did not match the current version"
    );
    kv.ok(Patch, "data/p", json!({"data": {"a": 2}, "options": {"cas": 1}})).await;

    kv.ok(Delete, "data/p", json!(null)).await;
    let body = not_found_body(kv.call(Patch, "data/p", json!({"data": {"a": 3}})).await);
    let body = body.data.map(Value::Object).unwrap();
    assert_eq!(body["version"], json!(2));
    assert!(is_go_time(body["deletion_time"].as_str().unwrap_or("")));

    kv.put("q", json!({"a": 1})).await;
    kv.ok(Create, "destroy/q", json!({"versions": [1]})).await;
    let body = not_found_body(kv.call(Patch, "data/q", json!({"data": {"a": 3}})).await);
    assert_eq!(body.data.map(Value::Object).unwrap()["destroyed"], json!(true));

    // Metadata without any version: nothing to patch.
    kv.ok(Create, "metadata/r", json!({"max_versions": 2})).await;
    assert!(not_found_body(kv.call(Patch, "data/r", json!({"data": {"a": 1}})).await).is_empty());
}

/// Patching with `data: null` stores null (RFC 7396), after which OpenBao refuses further patches
/// with a 500 "resource does not exist".
#[tokio::test]
async fn patch_to_null_then_patch_again() {
    let kv = mount(2).await;
    kv.put("n", json!({"a": 1})).await;
    kv.ok(Patch, "data/n", json!({"data": null})).await;
    assert_eq!(kv.data(Read, "data/n", json!(null)).await["data"], json!(null));
    match kv.call(Patch, "data/n", json!({"data": {"a": 1}})).await {
        Err(LogicalError::Internal(m)) => assert_eq!(m, "resource does not exist"),
        other => panic!("{other:?}"),
    }
}

/// DELETE on data/ soft-deletes the latest version: reads of it are a 404 whose body carries
/// `data: null` and the version's metadata (deletion_time set); older versions stay readable.
#[tokio::test]
async fn delete_latest_is_soft() {
    let kv = mount(2).await;
    kv.put("d", json!({"v": 1})).await;
    kv.put("d", json!({"v": 2})).await;
    assert!(kv.ok(Delete, "data/d", json!(null)).await.is_empty());
    let body = not_found_body(kv.call(Read, "data/d", json!(null)).await).data.map(Value::Object).unwrap();
    assert_eq!(body["data"], json!(null));
    assert_eq!(body["metadata"]["version"], json!(2));
    assert_eq!(body["metadata"]["destroyed"], json!(false));
    assert!(is_go_time(body["metadata"]["deletion_time"].as_str().unwrap_or("")));
    let v1 = kv.ok_q(Read, "data/d", &[("version", "1")]).await.data.map(Value::Object).unwrap();
    assert_eq!(v1["data"], json!({"v": 1}));
    // Deleting again keeps the first deletion time; deleting a missing secret succeeds.
    let before = kv.metadata("d").await["versions"]["2"]["deletion_time"].clone();
    kv.advance_secs(5);
    kv.ok(Delete, "data/d", json!(null)).await;
    assert_eq!(kv.metadata("d").await["versions"]["2"]["deletion_time"], before);
    assert!(kv.ok(Delete, "data/none", json!(null)).await.is_empty());
    // A new write after a delete is a live new version.
    kv.put("d", json!({"v": 3})).await;
    assert_eq!(kv.data(Read, "data/d", json!(null)).await["data"], json!({"v": 3}));
}

/// Beyond max_versions (the larger of the key's and the mount's, default 10) the oldest versions
/// leave the metadata and their data leaves storage, in the same write.
#[tokio::test]
async fn max_versions_prunes_old_versions() {
    let kv = mount(2).await;
    for i in 1..=11 {
        kv.put("m", json!({"v": i})).await;
    }
    let meta = kv.metadata("m").await;
    assert_eq!(meta["oldest_version"], json!(2));
    assert_eq!(meta["current_version"], json!(11));
    assert!(meta["versions"].get("1").is_none());
    assert!(kv.view.get(&version_key("m", 1)).await.unwrap().is_none(), "pruned data is deleted");
    assert!(kv.view.get(&version_key("m", 2)).await.unwrap().is_some());
    assert!(is_plain_not_found(&kv.call_q(Read, "data/m", &[("version", "1")]).await));

    // The key's setting shrinks the window at the next write; the mount's can widen it.
    kv.ok(Update, "metadata/m", json!({"max_versions": 2})).await;
    assert_eq!(kv.metadata("m").await["versions"].as_object().map(|m| m.len()), Some(10), "not before a write");
    kv.put("m", json!({"v": 12})).await;
    let meta = kv.metadata("m").await;
    assert_eq!(
        meta["versions"].as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["11".into(), "12".into()])
    );
    assert_eq!(meta["oldest_version"], json!(11));
    for n in 2..=10 {
        assert!(kv.view.get(&version_key("m", n)).await.unwrap().is_none(), "version {n} data");
    }
    kv.ok(Update, "config", json!({"max_versions": 4})).await;
    for i in 13..=16 {
        kv.put("m", json!({"v": i})).await;
    }
    let meta = kv.metadata("m").await;
    assert_eq!(meta["versions"].as_object().map(|m| m.len()), Some(4));
    assert_eq!(meta["oldest_version"], json!(13));
}

/// A version's data and its metadata are written in one transaction: the data key a version
/// names exists exactly while the metadata lists the version undestroyed.
#[tokio::test]
async fn data_and_metadata_stay_consistent() {
    let kv = mount(2).await;
    kv.ok(Update, "metadata/t", json!({"max_versions": 3})).await;
    for i in 1..=6 {
        kv.put("t", json!({"v": i})).await;
    }
    kv.ok(Create, "destroy/t", json!({"versions": [5]})).await;
    let meta = kv.metadata("t").await;
    for n in 1..=6u64 {
        let listed = meta["versions"].get(n.to_string()).map(|v| v["destroyed"] == json!(false)).unwrap_or(false);
        let stored = kv.view.get(&version_key("t", n)).await.unwrap().is_some();
        assert_eq!(listed, stored, "version {n}");
    }
}

/// The existence check of data/ and metadata/ paths is whether the secret's metadata exists.
#[tokio::test]
async fn exists_follows_metadata() {
    let kv = mount(2).await;
    assert_eq!(kv.exists(Create, "data/e").await, Some(false));
    assert_eq!(kv.exists(Create, "metadata/e").await, Some(false));
    kv.put("e", json!({"a": 1})).await;
    assert_eq!(kv.exists(Update, "data/e").await, Some(true));
    assert_eq!(kv.exists(Update, "metadata/e").await, Some(true));
    assert_eq!(kv.exists(Update, "config").await, None);
    assert_eq!(kv.exists(Update, "delete/e").await, None);
}

/// Concurrent writers with the same cas: exactly one wins, the others get the cas error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_cas_writers_serialize() {
    let kv = Arc::new(mount(2).await);
    kv.put("race", json!({"v": 0})).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let kv = kv.clone();
        tasks.push(tokio::spawn(async move {
            kv.call(Update, "data/race", json!({"data": {"v": i}, "options": {"cas": 1}})).await
        }));
    }
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(Reply::Ok(_)) => wins += 1,
            Err(LogicalError::InvalidRequest(m)) => {
                assert_eq!(m, "check-and-set parameter did not match the current version")
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(kv.metadata("race").await["current_version"], json!(2));
}

/// Writes to paths ending in '/' are refused as OpenBao's core refuses them.
#[tokio::test]
async fn writes_to_folders_refused() {
    let kv = mount(2).await;
    for (op, path) in
        [(Create, "data/a/"), (Patch, "data/a/"), (Update, "metadata/a/"), (Update, "delete/a/"), (Update, "")]
    {
        assert_eq!(kv.bad(op, path, json!({"data": {}})).await, "cannot write to a path ending in '/'", "{path}");
    }
}

/// Reads racing a destroy see the version either whole or destroyed, never metadata naming data
/// that is gone (OpenBao's read lock; here a shared stripe lock).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_racing_destroy_are_consistent() {
    let kv = Arc::new(mount(2).await);
    for round in 0..20 {
        let path = format!("r{round}");
        kv.put(&path, json!({"v": 1})).await;
        let readers: Vec<_> = (0..4)
            .map(|_| {
                let (kv, path) = (kv.clone(), path.clone());
                tokio::spawn(async move {
                    for _ in 0..10 {
                        match kv.call(Read, &format!("data/{path}"), json!(null)).await {
                            Ok(Reply::Ok(_)) | Ok(Reply::NotFoundWith(_)) => {}
                            other => panic!("{other:?}"),
                        }
                    }
                })
            })
            .collect();
        kv.ok(Create, &format!("destroy/{path}"), json!({"versions": [1]})).await;
        for r in readers {
            r.await.unwrap();
        }
    }
}
