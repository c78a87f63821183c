use super::*;
use crate::v2::model::version_key;
use serde_json::json;

/// Metadata reads show every OpenBao field; created_time stays, updated_time follows the last
/// write, versions lists each kept version.
#[tokio::test]
async fn metadata_read_fields() {
    let kv = mount(2).await;
    let w1 = kv.put("app", json!({"a": 1})).await;
    kv.advance_secs(1);
    let w2 = kv.put("app", json!({"a": 2})).await;
    let meta = kv.metadata("app").await;
    let keys: Vec<&str> = meta.as_object().map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default();
    assert_eq!(
        keys,
        vec![
            "cas_required",
            "created_time",
            "current_metadata_version",
            "current_version",
            "custom_metadata",
            "delete_version_after",
            "max_versions",
            "metadata_cas_required",
            "oldest_version",
            "updated_time",
            "versions"
        ]
    );
    assert_eq!(meta["created_time"], w1["created_time"]);
    assert_eq!(meta["updated_time"], w2["created_time"]);
    assert_eq!(meta["current_version"], json!(2));
    assert_eq!(meta["delete_version_after"], json!("0s"));
    assert_eq!(meta["current_metadata_version"], json!(0));
    assert_eq!(
        meta["versions"]["1"],
        json!({"created_time": w1["created_time"], "deletion_time": "", "destroyed": false})
    );
    assert!(is_plain_not_found(&kv.call(Read, "metadata/nope", json!(null)).await));
}

/// A metadata write creates metadata without versions, converts custom_metadata values to
/// strings as Go does, bumps current_metadata_version, and an empty map reads as null.
#[tokio::test]
async fn metadata_write_settings() {
    let kv = mount(2).await;
    kv.ok(Create, "metadata/m", json!({"max_versions": 2, "custom_metadata": {"a": "b", "n": 5, "t": true, "f": 1.5}}))
        .await;
    let meta = kv.metadata("m").await;
    assert_eq!(meta["current_version"], json!(0));
    assert_eq!(meta["versions"], json!({}));
    assert_eq!(meta["current_metadata_version"], json!(1));
    assert_eq!(meta["custom_metadata"], json!({"a": "b", "n": "5", "t": "1", "f": "1.5"}));
    assert!(is_plain_not_found(&kv.call(Read, "data/m", json!(null)).await), "no version to read");
    let w = kv.put("m", json!({"x": 1})).await;
    assert_eq!(w["custom_metadata"], meta["custom_metadata"], "writes report the custom metadata");

    kv.advance_secs(1);
    kv.ok(Update, "metadata/m", json!({"delete_version_after": "2h", "cas_required": true, "custom_metadata": {}}))
        .await;
    let after = kv.metadata("m").await;
    assert_eq!(after["delete_version_after"], json!("2h0m0s"));
    assert_eq!(after["cas_required"], json!(true));
    assert_eq!(after["custom_metadata"], json!(null));
    assert_eq!(after["current_metadata_version"], json!(2));
    assert_ne!(after["updated_time"], meta["updated_time"]);
    assert_eq!(after["created_time"], meta["created_time"]);

    // Nothing settable given: no change at all.
    assert!(kv.ok(Update, "metadata/m", json!({"foo": 1})).await.is_empty());
    assert_eq!(kv.metadata("m").await["current_metadata_version"], json!(2));
    // null max_versions and custom_metadata reset them; a null duration is ignored.
    kv.ok(Update, "metadata/m", json!({"max_versions": null, "delete_version_after": null})).await;
    let after = kv.metadata("m").await;
    assert_eq!(after["max_versions"], json!(0));
    assert_eq!(after["delete_version_after"], json!("2h0m0s"));
}

/// custom_metadata is validated with OpenBao's limits and texts (all failures listed).
#[tokio::test]
async fn custom_metadata_limits() {
    let kv = mount(2).await;
    assert_eq!(
        kv.bad(Create, "metadata/c", json!({"custom_metadata": {"": "v", "k": ""}})).await,
        "2 errors occurred:\n\t* custom_metadata validation failed: length of key \"\" is 0 but must be 0 < len(key) <= 128\n\t* custom_metadata validation failed: length of value for key \"k\" is 0 but must be 0 < len(value) <= 512\n\n"
    );
    assert_eq!(
        kv.bad(Create, "metadata/c", json!({"custom_metadata": {"x": null}})).await,
        "1 error occurred:\n\t* custom_metadata validation failed: length of value for key \"x\" is 0 but must be 0 < len(value) <= 512\n\n"
    );
    assert_eq!(
        kv.bad(Create, "metadata/c", json!({"custom_metadata": {"x": [1]}})).await,
        "custom_metadata validation failed: '' expected type 'string', got unconvertible type '[]interface {}'"
    );
    assert_eq!(
        kv.bad(Create, "metadata/c", json!({"custom_metadata": "a=b"})).await,
        "error converting input for field \"custom_metadata\": '' expected type 'map[string]interface {}', got unconvertible type 'string'"
    );
    let many: Map<String, Value> = (0..65).map(|i| (format!("k{i}"), json!("v"))).collect();
    assert_eq!(
        kv.bad(Create, "metadata/c", json!({"custom_metadata": many})).await,
        "1 error occurred:\n\t* custom_metadata validation failed: payload must contain at most 64 keys, provided 65\n\n"
    );
    let long_key = "k".repeat(129);
    let long_value = "v".repeat(513);
    let msg = kv.bad(Create, "metadata/c", json!({"custom_metadata": {long_key.clone(): long_value}})).await;
    assert!(msg.contains("is 129 but must be 0 < len(key) <= 128"), "{msg}");
    assert!(msg.contains("is 513 but must be 0 < len(value) <= 512"), "{msg}");
    let msg = kv.bad(Create, "metadata/c", json!({"custom_metadata": {"a\u{1}": "v\n"}})).await;
    assert!(msg.contains("key \"a\\x01\" (a\u{1}) contains unprintable characters"), "{msg}");
    assert!(msg.contains("value for key \"a\\x01\" contains unprintable characters"), "{msg}");
    assert_eq!(
        kv.bad(Create, "metadata/c", json!({"custom_metadata": {"\u{e9}\u{a0}": "x"}})).await,
        "1 error occurred:\n\t* custom_metadata validation failed: key \"\u{e9}\\u00a0\" (\u{e9}\u{a0}) contains unprintable characters\n\n"
    );
    let ok: Map<String, Value> = (0..64).map(|i| (format!("k{i}"), json!("v"))).collect();
    kv.ok(Create, "metadata/c", json!({"custom_metadata": ok, "max_versions": 1})).await;
}

/// delete_version_after on a key must not be negative (the mount config's may be).
#[tokio::test]
async fn metadata_duration_not_negative() {
    let kv = mount(2).await;
    assert_eq!(
        kv.bad(Create, "metadata/d", json!({"delete_version_after": "-5s"})).await,
        "error converting input for field \"delete_version_after\": cannot provide negative value '-5'"
    );
}

/// Metadata check-and-set: metadata_cas must equal current_metadata_version; once required (by
/// the key or the mount) a settings change without it is refused; turning requirements off
/// against the mount's mandate succeeds with OpenBao's warnings (then ignored parameters named).
#[tokio::test]
async fn metadata_check_and_set() {
    let kv = mount(2).await;
    kv.ok(Create, "metadata/mc", json!({"metadata_cas": 0, "max_versions": 5})).await;
    assert_eq!(
        kv.bad(Update, "metadata/mc", json!({"metadata_cas": 0, "max_versions": 6})).await,
        "metadata check-and-set parameter does not match the current version"
    );
    kv.ok(Update, "metadata/mc", json!({"metadata_cas": 1, "max_versions": 6})).await;
    // metadata_cas alone changes nothing and is not checked.
    assert!(kv.ok(Update, "metadata/mc", json!({"metadata_cas": 9})).await.is_empty());
    kv.ok(Update, "metadata/mc", json!({"metadata_cas_required": true})).await;
    assert_eq!(
        kv.bad(Update, "metadata/mc", json!({"max_versions": 7})).await,
        "metadata check-and-set parameter required for this call"
    );
    kv.ok(Update, "metadata/mc", json!({"max_versions": 7, "metadata_cas": 3})).await;
    // Data writes are not subject to metadata cas.
    kv.put("mc", json!({"a": 1})).await;
    assert_eq!(kv.metadata("mc").await["current_metadata_version"], json!(4));
    assert_eq!(
        kv.bad(Update, "metadata/mc", json!({"max_versions": 7, "metadata_cas": "x"})).await,
        "error converting input for field \"metadata_cas\": '' cannot parse value as 'int': strconv.ParseInt: invalid syntax"
    );

    kv.ok(Update, "config", json!({"metadata_cas_required": true, "cas_required": true})).await;
    assert_eq!(
        kv.bad(Create, "metadata/mc2", json!({"max_versions": 3})).await,
        "metadata check-and-set parameter required for this call"
    );
    kv.ok(Create, "metadata/mc2", json!({"max_versions": 3, "metadata_cas": 0})).await;
    let resp = kv
        .ok(
            Update,
            "metadata/mc2",
            json!({"metadata_cas_required": false, "cas_required": false, "metadata_cas": 1, "foo": 1}),
        )
        .await;
    assert_eq!(resp.data, None);
    assert_eq!(
        resp.warnings,
        vec![
            "\"cas_required\" set to false, but is mandated by backend config. This value will be ignored.".to_string(),
            "\"metadata_cas_required\" set to false, but is mandated by backend config. This value will be ignored."
                .to_string(),
            "Endpoint ignored these unrecognized parameters: [foo]".to_string(),
        ]
    );
}

/// PATCH of metadata merges: custom_metadata keys set or removed (null), other given fields
/// replaced, a zero delete_version_after leaves it (as OpenBao); a missing secret is a 404 with no
/// body; non-string custom values fail as OpenBao's typed decoding does.
#[tokio::test]
async fn metadata_patch() {
    let kv = mount(2).await;
    assert!(not_found_body(kv.call(Patch, "metadata/none", json!({"max_versions": 1})).await).is_empty());
    kv.ok(
        Create,
        "metadata/mp",
        json!({"custom_metadata": {"a": "1", "b": "2"}, "max_versions": 2, "delete_version_after": "1h"}),
    )
    .await;
    kv.ok(Patch, "metadata/mp", json!({"custom_metadata": {"a": null, "c": "3"}, "cas_required": true})).await;
    let meta = kv.metadata("mp").await;
    assert_eq!(meta["custom_metadata"], json!({"b": "2", "c": "3"}));
    assert_eq!(meta["cas_required"], json!(true));
    assert_eq!(meta["max_versions"], json!(2));
    assert_eq!(meta["current_metadata_version"], json!(2));
    kv.ok(Patch, "metadata/mp", json!({"delete_version_after": 0, "max_versions": "3"})).await;
    let meta = kv.metadata("mp").await;
    assert_eq!(meta["delete_version_after"], json!("1h0m0s"));
    assert_eq!(meta["max_versions"], json!(3));
    kv.ok(Patch, "metadata/mp", json!({"custom_metadata": null})).await;
    assert_eq!(kv.metadata("mp").await["custom_metadata"], json!(null));
    assert!(kv.ok(Patch, "metadata/mp", json!({"foo": 1})).await.is_empty());
    assert_eq!(kv.metadata("mp").await["current_metadata_version"], json!(4));
    match kv.call(Patch, "metadata/mp", json!({"custom_metadata": {"x": 5}})).await {
        Err(LogicalError::Internal(m)) => {
            assert_eq!(m, "json: cannot unmarshal number into Go struct field .custom_metadata.x of type string")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        kv.bad(Patch, "metadata/mp", json!({"delete_version_after": "-1s"})).await,
        "Field validation failed: error converting input for field \"delete_version_after\": cannot provide negative value '-1'"
    );
    assert_eq!(kv.metadata("mp").await["current_metadata_version"], json!(4), "failed patches change nothing");
}

/// Deleting metadata removes the secret and the data of every version; it is idempotent.
#[tokio::test]
async fn metadata_delete_removes_everything() {
    let kv = mount(2).await;
    for i in 1..=3 {
        kv.put("gone", json!({"v": i})).await;
    }
    kv.put("kept", json!({"v": 1})).await;
    assert!(kv.ok(Delete, "metadata/gone", json!(null)).await.is_empty());
    assert!(is_plain_not_found(&kv.call(Read, "metadata/gone", json!(null)).await));
    assert!(is_plain_not_found(&kv.call(Read, "data/gone", json!(null)).await));
    for n in 1..=3 {
        assert!(kv.view.get(&version_key("gone", n)).await.unwrap().is_none());
    }
    assert!(kv.ok(Delete, "metadata/gone", json!(null)).await.is_empty());
    assert_eq!(kv.data(Read, "data/kept", json!(null)).await["data"], json!({"v": 1}));
    // A new write starts again at version 1.
    assert_eq!(kv.put("gone", json!({"v": 9})).await["version"], json!(1));
}

/// LIST of metadata returns sorted keys with folders ('a' and 'a/' both when both exist), honours
/// after/limit, and is a 404 when empty; LIST on data/ is not supported.
#[tokio::test]
async fn metadata_list() {
    let kv = mount(2).await;
    for p in ["l/b", "l/a", "l/a/x", "l/c/d/e", "top"] {
        kv.put(p, json!({"a": 1})).await;
    }
    kv.ok(Create, "metadata/l/m", json!({"max_versions": 3})).await;
    let keys = |r: Response| r.data.and_then(|d| d.get("keys").cloned());
    assert_eq!(keys(kv.ok(List, "metadata/l", json!(null)).await), Some(json!(["a", "a/", "b", "c/", "m"])));
    assert_eq!(keys(kv.ok(List, "metadata/l/", json!(null)).await), Some(json!(["a", "a/", "b", "c/", "m"])));
    assert_eq!(keys(kv.ok(List, "metadata/", json!(null)).await), Some(json!(["l/", "top"])));
    assert_eq!(keys(kv.ok(List, "metadata", json!(null)).await), Some(json!(["l/", "top"])));
    assert_eq!(keys(kv.ok_q(List, "metadata/l", &[("limit", "2")]).await), Some(json!(["a", "a/"])));
    assert_eq!(keys(kv.ok_q(List, "metadata/l", &[("after", "a"), ("limit", "2")]).await), Some(json!(["a/", "b"])));
    assert_eq!(keys(kv.ok_q(List, "metadata/l", &[("after", "a/")]).await), Some(json!(["b", "c/", "m"])));
    assert_eq!(keys(kv.ok_q(List, "metadata/l", &[("limit", "-1")]).await), Some(json!(["a", "a/", "b", "c/", "m"])));
    assert_eq!(keys(kv.ok_q(Read, "metadata/l", &[("list", "true")]).await), Some(json!(["a", "a/", "b", "c/", "m"])));
    assert_eq!(
        kv.bad_q(List, "metadata/l", &[("limit", "x")]).await,
        "Field validation failed: error converting input for field \"limit\": '' cannot parse value as 'int': strconv.ParseInt: invalid syntax"
    );
    assert!(is_plain_not_found(&kv.call(List, "metadata/nothing", json!(null)).await));
    assert!(matches!(kv.call(List, "data/l", json!(null)).await, Err(LogicalError::UnsupportedOperation)));
    assert!(matches!(kv.call(List, "data/", json!(null)).await, Err(LogicalError::UnsupportedOperation)));
}

/// A scan lists every secret below a folder in OpenBao's order; detailed-metadata adds each
/// key's metadata (a folder shows the same-named secret's metadata, or {}), and only lists.
#[tokio::test]
async fn scan_and_detailed_metadata() {
    let kv = mount(2).await;
    for p in ["l/b", "l/a", "l/a/x", "l/c/d/e", "d"] {
        kv.put(p, json!({"a": 1})).await;
    }
    kv.ok(Create, "metadata/l/m", json!({"max_versions": 3})).await;
    let keys = |r: Response| r.data.and_then(|d| d.get("keys").cloned());
    assert_eq!(
        keys(kv.ok_q(Read, "metadata/l", &[("scan", "true")]).await),
        Some(json!(["a", "b", "m", "c/d/e", "a/x"]))
    );
    assert_eq!(
        keys(kv.ok_q(Read, "metadata/", &[("scan", "true")]).await),
        Some(json!(["d", "l/a", "l/b", "l/m", "l/c/d/e", "l/a/x"]))
    );
    assert_eq!(kv.ok_q(Read, "metadata/nothing", &[("scan", "true")]).await.data, Some(Map::new()));

    let detailed = kv.ok(List, "detailed-metadata/l", json!(null)).await.data.map(Value::Object).unwrap();
    assert_eq!(detailed["keys"], json!(["a", "a/", "b", "c/", "m"]));
    assert_eq!(detailed["key_info"]["a"], kv.metadata("l/a").await);
    assert_eq!(detailed["key_info"]["a/"], kv.metadata("l/a").await);
    assert_eq!(detailed["key_info"]["c/"], json!({}));
    assert_eq!(detailed["key_info"]["m"]["max_versions"], json!(3));
    let scanned = kv.ok_q(Read, "detailed-metadata/l/", &[("scan", "true")]).await.data.map(Value::Object).unwrap();
    assert_eq!(scanned["keys"], json!(["a", "b", "m", "c/d/e", "a/x"]));
    assert_eq!(scanned["key_info"]["c/d/e"], kv.metadata("l/c/d/e").await);
    assert!(matches!(kv.call(Read, "detailed-metadata/l", json!(null)).await, Err(LogicalError::UnsupportedOperation)));
    assert!(is_plain_not_found(&kv.call(List, "detailed-metadata/nothing", json!(null)).await));
}

/// A metadata read warns about parameters it does not take, as OpenBao does.
#[tokio::test]
async fn metadata_read_warns_unknown() {
    let kv = mount(2).await;
    kv.put("w", json!({"a": 1})).await;
    let resp = kv.ok_q(Read, "metadata/w", &[("version", "1")]).await;
    assert_eq!(resp.warnings, vec!["Endpoint ignored these unrecognized parameters: [version]".to_string()]);
}
