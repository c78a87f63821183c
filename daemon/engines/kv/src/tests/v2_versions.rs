use super::*;
use crate::v2::model::version_key;
use serde_json::json;

async fn three_versions(kv: &Kv, path: &str) {
    for i in 1..=3 {
        kv.put(path, json!({"v": i})).await;
    }
}

fn deletion_time(meta: &Value, n: u32) -> Value {
    meta["versions"][n.to_string()]["deletion_time"].clone()
}

/// delete/ soft-deletes the listed versions; undelete/ restores them; neither touches destroyed
/// versions; versions may be given as an array, a comma list or one number; unknown ones are
/// ignored; a missing secret is a silent success.
#[tokio::test]
async fn delete_and_undelete_versions() {
    let kv = mount(2).await;
    three_versions(&kv, "d").await;
    assert!(kv.ok(Create, "delete/d", json!({"versions": [1, 3, 99, -1, 0]})).await.is_empty());
    let meta = kv.metadata("d").await;
    assert!(is_go_time(deletion_time(&meta, 1).as_str().unwrap_or("")));
    assert_eq!(deletion_time(&meta, 2), json!(""));
    assert!(not_found_body(kv.call_q(Read, "data/d", &[("version", "1")]).await).data.is_some());
    assert!(not_found_body(kv.call(Read, "data/d", json!(null)).await).data.is_some());

    // Deleting an already deleted version keeps its first deletion time.
    kv.advance_secs(3);
    kv.ok(Create, "delete/d", json!({"versions": "1,2"})).await;
    let meta2 = kv.metadata("d").await;
    assert_eq!(deletion_time(&meta2, 1), deletion_time(&meta, 1));
    assert!(is_go_time(deletion_time(&meta2, 2).as_str().unwrap_or("")));

    kv.ok(Create, "undelete/d", json!({"versions": ["1", 3]})).await;
    let meta3 = kv.metadata("d").await;
    assert_eq!(deletion_time(&meta3, 1), json!(""));
    assert_eq!(deletion_time(&meta3, 3), json!(""));
    assert_eq!(kv.data(Read, "data/d", json!(null)).await["data"], json!({"v": 3}));

    kv.ok(Create, "destroy/d", json!({"versions": 3})).await;
    kv.ok(Create, "delete/d", json!({"versions": [3]})).await;
    kv.ok(Create, "undelete/d", json!({"versions": [3]})).await;
    let meta4 = kv.metadata("d").await;
    assert_eq!(
        meta4["versions"]["3"],
        json!({"created_time": meta3["versions"]["3"]["created_time"], "deletion_time": "", "destroyed": true})
    );
    let body = not_found_body(kv.call(Read, "data/d", json!(null)).await).data.map(Value::Object).unwrap();
    assert_eq!(body["metadata"]["destroyed"], json!(true));

    assert!(kv.ok(Create, "delete/none", json!({"versions": [1]})).await.is_empty());
    assert!(kv.ok(Create, "undelete/none", json!({"versions": [1]})).await.is_empty());
    assert!(kv.ok(Create, "destroy/none", json!({"versions": [1]})).await.is_empty());
}

/// delete/undelete/destroy need version numbers; bad numbers fail with OpenBao's texts; these
/// endpoints accept only writes.
#[tokio::test]
async fn version_lists_validated() {
    let kv = mount(2).await;
    three_versions(&kv, "v").await;
    for path in ["delete/v", "undelete/v"] {
        assert_eq!(kv.bad(Create, path, json!({})).await, "No version number provided");
        assert_eq!(kv.bad(Create, path, json!({"versions": []})).await, "No version number provided");
    }
    assert_eq!(kv.bad(Create, "destroy/v", json!({"versions": []})).await, "no version number provided");
    assert_eq!(
        kv.bad(Create, "delete/v", json!({"versions": "a"})).await,
        "Field validation failed: error converting input for field \"versions\": decoding failed due to the following error(s):\n\n'[0]' cannot parse value as 'int': strconv.ParseInt: invalid syntax"
    );
    assert_eq!(
        kv.bad(Create, "destroy/v", json!({"versions": [1.5]})).await,
        "Field validation failed: error converting input for field \"versions\": decoding failed due to the following error(s):\n\n'[0]' cannot parse value as 'int': strconv.ParseInt: invalid syntax"
    );
    assert_eq!(
        kv.bad(Create, "delete/v", json!({"versions": {"a": 1}})).await,
        "Field validation failed: error converting input for field \"versions\": decoding failed due to the following error(s):\n\n'[0]' expected type 'int', got unconvertible type 'map[string]interface {}'"
    );
    for path in ["delete/v", "undelete/v", "destroy/v"] {
        for op in [Read, Delete, List, Patch] {
            assert!(
                matches!(kv.call(op, path, json!({})).await, Err(LogicalError::UnsupportedOperation)),
                "{op:?} {path}"
            );
        }
    }
}

/// destroy/ marks versions destroyed and removes their data for good; reads of them are a 404
/// with the version's metadata; other versions are untouched.
#[tokio::test]
async fn destroy_removes_data() {
    let kv = mount(2).await;
    three_versions(&kv, "x").await;
    kv.ok(Create, "destroy/x", json!({"versions": [1, 3]})).await;
    assert!(kv.view.get(&version_key("x", 1)).await.unwrap().is_none());
    assert!(kv.view.get(&version_key("x", 2)).await.unwrap().is_some());
    assert!(kv.view.get(&version_key("x", 3)).await.unwrap().is_none());
    let meta = kv.metadata("x").await;
    assert_eq!(meta["versions"]["1"]["destroyed"], json!(true));
    assert_eq!(meta["versions"]["2"]["destroyed"], json!(false));
    let body = not_found_body(kv.call_q(Read, "data/x", &[("version", "1")]).await).data.map(Value::Object).unwrap();
    assert_eq!(body["data"], json!(null));
    assert_eq!(body["metadata"]["destroyed"], json!(true));
    assert_eq!(
        kv.ok_q(Read, "data/x", &[("version", "2")]).await.data.map(|d| d["data"].clone()),
        Some(json!({"v": 2}))
    );
}

/// delete_version_after sets a future deletion_time on new versions (the smaller of the mount's
/// and the key's); the version reads normally until then and as deleted after; undelete starts
/// the delay again; the mount can disable it.
#[tokio::test]
async fn delete_version_after_expires_versions() {
    let kv = mount(2).await;
    kv.ok(Create, "metadata/dv", json!({"delete_version_after": "2s"})).await;
    let w = kv.put("dv", json!({"v": 1})).await;
    assert!(is_go_time(w["deletion_time"].as_str().unwrap_or("")));
    assert_eq!(kv.data(Read, "data/dv", json!(null)).await["data"], json!({"v": 1}));
    kv.advance_secs(3);
    let body = not_found_body(kv.call(Read, "data/dv", json!(null)).await).data.map(Value::Object).unwrap();
    assert_eq!(body["metadata"]["deletion_time"], w["deletion_time"]);

    kv.ok(Create, "undelete/dv", json!({"versions": [1]})).await;
    let restarted = kv.metadata("dv").await["versions"]["1"]["deletion_time"].clone();
    assert_ne!(restarted, w["deletion_time"]);
    assert_eq!(kv.data(Read, "data/dv", json!(null)).await["data"], json!({"v": 1}), "undeleted, due again later");

    // The mount's shorter delay wins; deleting a version that is due later deletes it now.
    kv.ok(Update, "config", json!({"delete_version_after": "1s"})).await;
    let w2 = kv.put("dv", json!({"v": 2})).await;
    let created = w2["created_time"].as_str().unwrap_or("").to_string();
    let deletion = w2["deletion_time"].as_str().unwrap_or("").to_string();
    assert!(deletion > created);
    kv.ok(Delete, "data/dv", json!(null)).await;
    assert!(not_found_body(kv.call(Read, "data/dv", json!(null)).await).data.is_some());

    // Disabled on the mount: no deletion time even though the key sets one.
    kv.ok(Update, "config", json!({"delete_version_after": "-1"})).await;
    let w3 = kv.put("dv", json!({"v": 3})).await;
    assert_eq!(w3["deletion_time"], json!(""));
    kv.advance_secs(10);
    assert_eq!(kv.data(Read, "data/dv", json!(null)).await["data"], json!({"v": 3}));
}

/// subkeys/ returns the data's structure with leaves as null, limited by depth (0 = all), for the
/// current or a given version; deleted versions are a 404 with the metadata and null subkeys.
#[tokio::test]
async fn subkeys_structure_and_depth() {
    let kv = mount(2).await;
    kv.put("sk", json!({"a": 1, "b": {"c": {"d": 1}, "e": {}}, "f": [1, {"g": 1}], "h": null})).await;
    let sub = |r: Response| r.data.map(Value::Object).unwrap_or(Value::Null);
    let all = sub(kv.ok(Read, "subkeys/sk", json!(null)).await);
    assert_eq!(all["subkeys"], json!({"a": null, "b": {"c": {"d": null}, "e": null}, "f": null, "h": null}));
    assert_eq!(all["metadata"]["version"], json!(1));
    assert_eq!(
        sub(kv.ok_q(Read, "subkeys/sk", &[("depth", "1")]).await)["subkeys"],
        json!({"a": null, "b": null, "f": null, "h": null})
    );
    assert_eq!(
        sub(kv.ok_q(Read, "subkeys/sk", &[("depth", "2")]).await)["subkeys"],
        json!({"a": null, "b": {"c": null, "e": null}, "f": null, "h": null})
    );
    assert_eq!(
        kv.bad_q(Read, "subkeys/sk", &[("depth", "x")]).await,
        "Field validation failed: error converting input for field \"depth\": '' cannot parse value as 'int': strconv.ParseInt: invalid syntax"
    );
    kv.put("sk", json!({"z": 1})).await;
    assert_eq!(sub(kv.ok_q(Read, "subkeys/sk", &[("version", "1")]).await)["metadata"]["version"], json!(1));
    assert!(is_plain_not_found(&kv.call_q(Read, "subkeys/sk", &[("version", "3")]).await));
    assert!(is_plain_not_found(&kv.call(Read, "subkeys/nope", json!(null)).await));
    kv.ok(Delete, "data/sk", json!(null)).await;
    let body = sub(not_found_body(kv.call(Read, "subkeys/sk", json!(null)).await));
    assert_eq!(body["subkeys"], json!(null));
    assert_eq!(body["metadata"]["version"], json!(2));
    assert!(matches!(kv.call(Create, "subkeys/sk", json!({})).await, Err(LogicalError::UnsupportedOperation)));
}

/// Paths outside KV v2's endpoints are a 404 with OpenBao's warning naming the `bao kv`
/// subcommand; the bare endpoint names get the "root of a K/V v2 mount" warning.
#[tokio::test]
async fn invalid_paths_warn() {
    let kv = mount(2).await;
    let warning = |r| not_found_body(r).warnings;
    let hint = |sub: &str| {
        vec![format!("Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the OpenBao CLI, use 'bao kv {sub}' for this operation.")]
    };
    assert_eq!(warning(kv.call(Read, "foo", json!(null)).await), hint("get"));
    assert_eq!(warning(kv.call(Create, "foo", json!({"a": 1})).await), hint("put"));
    assert_eq!(warning(kv.call(Delete, "foo", json!(null)).await), hint("delete"));
    assert_eq!(warning(kv.call(List, "", json!(null)).await), hint("list"));
    assert_eq!(warning(kv.call(List, "config", json!(null)).await), hint("list"));
    assert_eq!(warning(kv.call(Read, "config/x", json!(null)).await), hint("get"));
    assert_eq!(warning(kv.call(Read, "subkeys", json!(null)).await), hint("get"));
    for path in ["data", "metadata", "delete", "undelete", "destroy"] {
        assert_eq!(
            warning(kv.call(Read, path, json!(null)).await),
            vec!["Non-listing operations on the root of a K/V v2 mount are not supported.".to_string()]
        );
    }
    assert!(matches!(kv.call(Delete, "config", json!(null)).await, Err(LogicalError::UnsupportedOperation)));
    assert!(matches!(kv.call(Patch, "config", json!({})).await, Err(LogicalError::UnsupportedOperation)));
}
