//! Commands against a real `bao server -dev` (initialized, unsealed, root token "root").

mod common;

use common::{coffer, BaoServer};
use serde_json::Value;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// `status` on an unsealed server: exit 0, bao's rows in bao's order, and JSON with the
/// seal-status fields followed by `ha_enabled`.
#[test]
fn status_unsealed() {
    if !common::bao_available("status_unsealed") {
        return;
    }
    let server = BaoServer::dev();
    let env = server.env(Some("root"));
    let o = coffer(&env, &["status"]);
    assert_eq!(o.code, 0, "{o:?}");
    let keys: Vec<&str> = o.out.lines().map(|l| l.split("  ").next().unwrap_or("").trim()).collect();
    assert_eq!(
        keys,
        [
            "Key",
            "---",
            "Seal Type",
            "Initialized",
            "Sealed",
            "Total Shares",
            "Threshold",
            "Version",
            "Commit Date",
            "Storage Type",
            "Cluster Name",
            "Cluster ID",
            "HA Enabled"
        ]
    );
    assert!(o.out.contains("\nSealed          false\n"));
    let o = coffer(&env, &["status", "-format=json"]);
    assert_eq!(o.code, 0);
    let v = json(&o.out);
    assert_eq!(v["sealed"], Value::Bool(false));
    assert_eq!(v["storage_type"], "inmem");
    assert!(o.out.trim_end().ends_with("\"ha_enabled\": false\n}"));
}

/// A kv v2 secret written from stdin JSON reads back in table and JSON form, lists under
/// its metadata path, deletes, and then reads as deleted (data <nil>), as with bao.
#[test]
fn kv2_write_read_list_delete() {
    if !common::bao_available("kv2_write_read_list_delete") {
        return;
    }
    let server = BaoServer::dev();
    let env = server.env(Some("root")).with_stdin(r#"{"data":{"user":"alice","pass":"s3cret"}}"#);
    let o = coffer(&env, &["write", "secret/data/app", "-"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(o.out.starts_with("Key                Value\n---                -----\ncreated_time       "));
    assert!(o.out.contains("\ndeletion_time      n/a\ndestroyed          false\nversion            1\n"));

    let o = coffer(&env, &["read", "secret/data/app"]);
    assert_eq!(o.code, 0);
    let lines: Vec<&str> = o.out.lines().collect();
    assert_eq!(lines[..3], ["Key         Value", "---         -----", "data        map[pass:s3cret user:alice]"]);
    assert!(lines[3].starts_with("metadata    map[created_time:"));

    let o = coffer(&env, &["read", "-format=json", "secret/data/app"]);
    let v = json(&o.out);
    assert_eq!(v["data"]["data"]["user"], "alice");
    assert!(o.out.starts_with("{\n  \"request_id\": \""));
    assert!(o
        .out
        .contains("\n  \"lease_id\": \"\",\n  \"lease_duration\": 0,\n  \"renewable\": false,\n  \"data\": {\n"));

    let o = coffer(&env, &["read", "-field=data", "secret/data/app"]);
    assert_eq!(o.out, "map[pass:s3cret user:alice]");

    let o = coffer(&env, &["list", "secret/metadata"]);
    assert_eq!((o.code, o.out.as_str()), (0, "Keys\n----\napp\n"));
    let o = coffer(&env, &["list", "-format=json", "secret/metadata/"]);
    assert_eq!(o.out, "[\n  \"app\"\n]\n");

    let o = coffer(&env, &["delete", "secret/data/app"]);
    assert_eq!((o.code, o.out.as_str()), (0, "Success! Data deleted (if it existed) at: secret/data/app\n"));
    let o = coffer(&env, &["read", "secret/data/app"]);
    assert_eq!(o.code, 0);
    assert!(o.out.contains("\ndata        <nil>\n"));

    let o = coffer(&env, &["list", "secret/metadata/nothing"]);
    assert_eq!((o.code, o.err.as_str()), (2, "No value found at secret/metadata/nothing\n"));
    let o = coffer(&env, &["list", "-format=json", "secret/metadata/nothing"]);
    assert_eq!((o.code, o.out.as_str()), (2, "{}\n"));
    let o = coffer(&env, &["read", "secret/data/never"]);
    assert_eq!((o.code, o.err.as_str()), (2, "No value found at secret/data/never\n"));
}

/// sys paths: policies written with k=v, read, listed and deleted; non-secret bodies
/// (sys/health) become the data of the table.
#[test]
fn sys_paths() {
    if !common::bao_available("sys_paths") {
        return;
    }
    let server = BaoServer::dev();
    let env = server.env(Some("root"));
    let policy = "path \"secret/*\" { capabilities = [\"read\"] }";
    let o = coffer(&env, &["write", "sys/policies/acl/reader", &format!("policy={policy}")]);
    assert_eq!((o.code, o.out.as_str()), (0, "Success! Data written to: sys/policies/acl/reader\n"));
    let o = coffer(&env, &["read", "sys/policies/acl/reader"]);
    assert!(o.out.starts_with("Key                                      Value\n"), "{}", o.out);
    assert!(o.out.contains("\nname                                     reader\n"));
    assert!(o.out.contains(&format!("\npolicy                                   {policy}\n")));
    let o = coffer(&env, &["list", "sys/policies/acl"]);
    assert_eq!(o.out, "Keys\n----\ndefault\nreader\nroot\n");
    let o = coffer(&env, &["delete", "sys/policies/acl/reader"]);
    assert_eq!(o.code, 0);
    let o = coffer(&env, &["read", "sys/health"]);
    assert_eq!(o.code, 0);
    assert!(o.out.contains("\ninitialized                     true\n"));
    let o = coffer(&env, &["read", "sys/mounts/secret/tune"]);
    assert!(o.out.contains("\ndefault_lease_ttl    768h\n"), "{}", o.out);
}

/// Server errors show bao's block (URL, code, `* error`) on stderr with exit 2; a bad
/// token is a 403.
#[test]
fn server_errors_have_bao_shape() {
    if !common::bao_available("server_errors_have_bao_shape") {
        return;
    }
    let server = BaoServer::dev();
    let env = server.env(Some("not-a-token"));
    let o = coffer(&env, &["read", "secret/data/x"]);
    assert_eq!(o.code, 2);
    assert_eq!(
        o.err,
        format!(
            "Error reading secret/data/x: Error making API request.\n\nURL: GET {}/v1/secret/data/x\nCode: 403. Errors:\n\n* permission denied\n",
            server.addr
        )
    );
    let o = coffer(&env, &["list", "secret/metadata"]);
    assert!(o.err.contains(&format!("URL: GET {}/v1/secret/metadata?list=true\nCode: 403.", server.addr)));
    let o = coffer(&env, &["write", "secret/data/x", "a=b"]);
    assert!(o.err.starts_with("Error writing data to secret/data/x: Error making API request.\n\nURL: PUT "));
    let o = coffer(&env, &["delete", "secret/data/x"]);
    assert!(o.err.starts_with("Error deleting secret/data/x: Error making API request.\n\nURL: DELETE "));
    let env = server.env(Some("root"));
    let o = coffer(&env, &["write", "-force", "sys/seal-bogus"]);
    assert_eq!(o.code, 2);
    assert!(o.err.contains("Code: 404. Errors:\n\n* "));
}

/// `operator key-status` and `operator rotate`: the term goes up by one per rotation, the
/// count restarts at zero, in bao's three-row table and its JSON.
#[test]
fn key_status_and_rotate() {
    if !common::bao_available("key_status_and_rotate") {
        return;
    }
    let server = BaoServer::dev();
    let env = server.env(Some("root"));
    let o = coffer(&env, &["operator", "key-status", "-format=json"]);
    assert_eq!(o.code, 0, "{o:?}");
    let before = json(&o.out)["term"].as_i64().unwrap_or(-1);
    assert!(before >= 1);
    let o = coffer(&env, &["operator", "rotate"]);
    assert_eq!(o.code, 0, "{o:?}");
    let lines: Vec<&str> = o.out.lines().collect();
    assert_eq!(lines[0], "Success! Rotated key");
    assert_eq!(lines[1], "");
    assert_eq!(lines[2], format!("Key Term            {}", before + 1));
    assert!(lines[3].starts_with("Install Time        ") && lines[3].ends_with(" UTC"));
    assert_eq!(lines[4], "Encryption Count    0");
    let o = coffer(&env, &["operator", "rotate", "-format=json"]);
    let v = json(&o.out);
    assert_eq!(v["term"].as_i64(), Some(before + 2));
    let keys: Vec<&String> = v.as_object().map(|m| m.keys().collect()).unwrap_or_default();
    assert_eq!(keys.len(), 3);
    let o = coffer(&env, &["operator", "key-status"]);
    assert!(o.out.starts_with(&format!("Key Term            {}\n", before + 2)));
}

/// After `operator seal`, `status` exits 2 and shows the sealed rows; commands needing an
/// unsealed server fail with "Vault is sealed".
#[test]
fn seal_then_status_shows_sealed() {
    if !common::bao_available("seal_then_status_shows_sealed") {
        return;
    }
    let server = BaoServer::dev();
    let env = server.env(Some("root"));
    let o = coffer(&env, &["operator", "seal"]);
    assert_eq!((o.code, o.out.as_str()), (0, "Success! Vault is sealed.\n"));
    let o = coffer(&env, &["status"]);
    assert_eq!(o.code, 2);
    assert!(o.out.contains("\nSealed             true\n"));
    assert!(o.out.contains("\nUnseal Progress    0/1\nUnseal Nonce       n/a\n"));
    let o = coffer(&env, &["status", "-format=json"]);
    assert_eq!(o.code, 2);
    assert_eq!(json(&o.out)["sealed"], Value::Bool(true));
    let o = coffer(&env, &["operator", "key-status"]);
    assert_eq!(o.code, 2);
    assert!(o.err.starts_with("Error reading key status: Error making API request."));
    assert!(o.err.ends_with("Code: 503. Errors:\n\n* Vault is sealed\n"));
}
