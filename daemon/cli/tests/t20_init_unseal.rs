//! Initialization and unsealing against an uninitialized `bao server` (in-memory storage).

mod common;

use common::{coffer, line_value, BaoServer};
use std::collections::BTreeSet;

use serde_json::Value;

/// status (exit 2, uninitialized) → init -status (exit 2) → init 3/2 (bao's key block and
/// advice) → unseal key 1 (still sealed, 1/2) → unseal key 2 from stdin (unsealed) →
/// status exit 0 → init -status exit 0 → init again fails with exit 2.
#[test]
fn init_then_unseal_to_threshold() {
    if !common::bao_available("init_then_unseal_to_threshold") {
        return;
    }
    let server = BaoServer::inmem();
    let env = server.env(None);

    let o = coffer(&env, &["status"]);
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.out.contains("\nInitialized        false\nSealed             true\n"));
    let o = coffer(&env, &["operator", "init", "-status"]);
    assert_eq!((o.code, o.out.as_str()), (2, "Vault is not initialized\n"));
    let o = coffer(&env, &["operator", "init", "-status", "-format=json"]);
    assert_eq!((o.code, o.out.as_str()), (2, "{\n  \"Initialized\": false\n}\n"));

    let o = coffer(&env, &["operator", "init", "-key-shares=3", "-key-threshold=2"]);
    assert_eq!(o.code, 0, "{o:?}");
    let keys: Vec<String> =
        (1..=3).map(|i| line_value(&o.out, &format!("Unseal Key {i}: ")).unwrap_or_default()).collect();
    assert!(keys.iter().all(|k| k.len() == 44), "{keys:?}");
    let token = line_value(&o.out, "Initial Root Token: ").unwrap_or_default();
    assert!(token.starts_with("s."));
    let tail = o.out.split(&format!("Initial Root Token: {token}\n")).nth(1).unwrap_or("");
    assert_eq!(
        tail,
        "\nVault initialized with 3 key shares and a key threshold of 2. Please securely\n\
         distribute the key shares printed above. When the Vault is re-sealed,\n\
         restarted, or stopped, you must supply at least 2 of these keys to unseal it\n\
         before it can start servicing requests.\n\n\
         Vault does not store the generated root key. Without at least 2 keys to\n\
         reconstruct the root key, Vault will remain permanently sealed!\n\n\
         It is possible to generate new unseal keys, provided you have a quorum\n\
         of existing unseal keys shares. See \"bao operator rotate-keys\" for more\n\
         information.\n"
    );

    let o = coffer(&env, &["status"]);
    assert_eq!(o.code, 2);
    assert!(o.out.contains("\nTotal Shares       3\nThreshold          2\nUnseal Progress    0/2\n"));

    let o = coffer(&env, &["operator", "unseal", &keys[0]]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(o.out.contains("\nSealed             true\n"));
    assert!(o.out.contains("\nUnseal Progress    1/2\n"));

    let piped = server.env(None).with_stdin(format!("{}\n", keys[1]));
    let o = coffer(&piped, &["operator", "unseal"]);
    assert_eq!(o.code, 0, "{o:?}");
    assert!(o.out.starts_with("Unseal Key (will be hidden): \nKey             Value\n"));
    assert!(o.out.contains("\nSealed          false\n"));

    let o = coffer(&env, &["status"]);
    assert_eq!(o.code, 0);
    let o = coffer(&env, &["operator", "init", "-status"]);
    assert_eq!((o.code, o.out.as_str()), (0, "Vault is initialized\n"));
    let o = coffer(&env, &["operator", "init"]);
    assert_eq!(o.code, 2);
    assert!(o.err.starts_with("Error initializing: Error making API request."));
    assert!(o.err.ends_with("* Vault is already initialized\n"));

    let root = server.env(Some(&token));
    let o = coffer(&root, &["read", "sys/policies/acl/default"]);
    assert_eq!(o.code, 0, "{o:?}");
}

/// JSON init gives bao's machine-readable object; its base64 keys unseal; `-reset` clears
/// progress; a bad key is the server's 400.
#[test]
fn json_init_and_unseal_reset() {
    if !common::bao_available("json_init_and_unseal_reset") {
        return;
    }
    let server = BaoServer::inmem();
    let env = server.env(None);
    let o = coffer(&env, &["operator", "init", "-format=json", "-n", "2", "-t=2"]);
    assert_eq!(o.code, 0, "{o:?}");
    let v: Value = serde_json::from_str(&o.out).unwrap_or(Value::Null);
    let keys: BTreeSet<&str> = v.as_object().map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default();
    let expected: BTreeSet<&str> = [
        "unseal_keys_b64",
        "unseal_keys_hex",
        "unseal_shares",
        "unseal_threshold",
        "recovery_keys_b64",
        "recovery_keys_hex",
        "recovery_keys_shares",
        "recovery_keys_threshold",
        "root_token",
    ]
    .into_iter()
    .collect();
    assert_eq!(keys, expected);
    assert!(o.out.starts_with("{\n  \"unseal_keys_b64\": [\n"));
    assert!(o.out.contains("\n  \"unseal_shares\": 2,\n  \"unseal_threshold\": 2,\n  \"recovery_keys_b64\": null,\n"));
    let b64: Vec<String> = v["unseal_keys_b64"]
        .as_array()
        .map(|a| a.iter().filter_map(|k| k.as_str().map(String::from)).collect())
        .unwrap_or_default();
    assert_eq!(b64.len(), 2);

    let o = coffer(&env, &["operator", "unseal", "-format=json", &b64[0]]);
    assert_eq!(o.code, 0);
    let s: Value = serde_json::from_str(&o.out).unwrap_or(Value::Null);
    assert_eq!(s["progress"], 1);
    let o = coffer(&env, &["operator", "unseal", "-reset"]);
    assert_eq!(o.code, 0);
    assert!(o.out.contains("\nUnseal Progress    0/2\nUnseal Nonce       n/a\n"));

    let o = coffer(&env, &["operator", "unseal", "not-a-key"]);
    assert_eq!(o.code, 2);
    assert!(o.err.starts_with("Error unsealing: Error making API request."));
    assert!(o.err.contains("Code: 400. Errors:"));

    let o = coffer(&env, &["operator", "unseal", "-non-interactive"]);
    assert_eq!(o.code, 1);
    assert!(o.err.starts_with("Refusing to read from stdin with -non-interactive specified"));
    let o = coffer(&env, &["operator", "unseal"]);
    assert_eq!(o.code, 1);
    assert!(o.err.starts_with("An error occurred attempting to ask for an unseal key."));

    for k in &b64 {
        let o = coffer(&env, &["operator", "unseal", k]);
        assert_eq!(o.code, 0);
    }
    let o = coffer(&env, &["status", "-format=json"]);
    assert_eq!(o.code, 0);
}
