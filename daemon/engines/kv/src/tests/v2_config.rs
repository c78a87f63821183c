use super::*;
use serde_json::json;

/// The mount config reads with OpenBao's defaults and durations in Go's notation, and a write
/// changes only the fields given.
#[tokio::test]
async fn config_defaults_and_updates() {
    let kv = mount(2).await;
    assert_eq!(
        kv.data(Read, "config", json!(null)).await,
        json!({"cas_required": false, "delete_version_after": "0s", "max_versions": 0, "metadata_cas_required": false})
    );
    assert!(kv.ok(Update, "config", json!({"max_versions": 3, "delete_version_after": "1h"})).await.is_empty());
    assert_eq!(
        kv.data(Read, "config", json!(null)).await,
        json!({"cas_required": false, "delete_version_after": "1h0m0s", "max_versions": 3, "metadata_cas_required": false})
    );
    kv.ok(Update, "config", json!({"cas_required": "T"})).await;
    let c = kv.data(Read, "config", json!(null)).await;
    assert_eq!((c["cas_required"].clone(), c["max_versions"].clone()), (json!(true), json!(3)));
    // Nothing known given: nothing changes, and no warning on an empty answer.
    assert!(kv.ok(Update, "config", json!({"foo": 1})).await.is_empty());
}

/// delete_version_after: seconds, Go durations and day suffixes, truncated to whole seconds;
/// any negative value disables it (shown as "-1s"); zero clears it.
#[tokio::test]
async fn config_delete_version_after_forms() {
    let kv = mount(2).await;
    for (given, shown) in [
        (json!("90m30s"), "1h30m30s"),
        (json!("5d"), "120h0m0s"),
        (json!("1.5h"), "1h30m0s"),
        (json!(10), "10s"),
        (json!("10"), "10s"),
        (json!("-5s"), "-1s"),
        (json!("100ms"), "0s"),
        (json!(0), "0s"),
        (json!(""), "0s"),
    ] {
        kv.ok(Update, "config", json!({ "delete_version_after": given })).await;
        assert_eq!(kv.data(Read, "config", json!(null)).await["delete_version_after"], json!(shown), "{given}");
    }
}

/// max_versions is stored as Go's uint32 (wrapping), as OpenBao does.
#[tokio::test]
async fn config_max_versions_wraps_like_go() {
    let kv = mount(2).await;
    kv.ok(Update, "config", json!({"max_versions": -1})).await;
    assert_eq!(kv.data(Read, "config", json!(null)).await["max_versions"], json!(4_294_967_295u64));
    kv.ok(Update, "config", json!({"max_versions": 4_294_967_297u64})).await;
    assert_eq!(kv.data(Read, "config", json!(null)).await["max_versions"], json!(1));
    kv.ok(Update, "config", json!({"max_versions": "0x10"})).await;
    assert_eq!(kv.data(Read, "config", json!(null)).await["max_versions"], json!(16));
}

/// Bad config values are refused with OpenBao's field-validation texts.
#[tokio::test]
async fn config_bad_values() {
    let kv = mount(2).await;
    let cases = [
        (json!({"max_versions": "x"}), "Field validation failed: error converting input for field \"max_versions\": '' cannot parse value as 'int': strconv.ParseInt: invalid syntax"),
        (json!({"max_versions": 1.5}), "Field validation failed: error converting input for field \"max_versions\": '' cannot parse value as 'int': strconv.ParseInt: invalid syntax"),
        (json!({"max_versions": [1]}), "Field validation failed: error converting input for field \"max_versions\": '' expected type 'int', got unconvertible type '[]interface {}'"),
        (serde_json::from_str::<Value>(r#"{"max_versions": 99999999999999999999}"#).unwrap(), "Field validation failed: error converting input for field \"max_versions\": '' cannot parse value as 'int': strconv.ParseInt: value out of range"),
        (json!({"cas_required": "x"}), "Field validation failed: error converting input for field \"cas_required\": '' cannot parse value as 'bool': strconv.ParseBool: invalid syntax"),
        (json!({"cas_required": 0.5}), "Field validation failed: error converting input for field \"cas_required\": '' cannot parse value as 'bool': strconv.ParseBool: invalid syntax"),
        (json!({"cas_required": {}}), "Field validation failed: error converting input for field \"cas_required\": '' expected type 'bool', got unconvertible type 'map[string]interface {}'"),
        (json!({"delete_version_after": "abc"}), "Field validation failed: error converting input for field \"delete_version_after\": time: invalid duration \"abc\""),
        (json!({"delete_version_after": 3600.5}), "Field validation failed: error converting input for field \"delete_version_after\": time: missing unit in duration \"3600.5\""),
        (json!({"delete_version_after": true}), "Field validation failed: error converting input for field \"delete_version_after\": could not parse duration from input"),
    ];
    for (body, msg) in cases {
        assert_eq!(kv.bad(Update, "config", body.clone()).await, msg, "{body}");
    }
}
