//! Storage is hostile: what Coffer reads back from Raft's RocksDB is authenticated, and rotation
//! is visible in what it writes. These tests edit the closed data directory directly.
mod common;

use coffer_raft::offline;
use common::Node;
use serde_json::json;

/// Writes `value` through `sys/raw`, stops the node, and returns the stored (encrypted) bytes.
fn write_and_stop(node: &mut Node, token: &str, path: &str, value: &str) -> Vec<u8> {
    let (s, b) = node.call("PUT", &format!("sys/raw/{path}"), Some(token), Some(json!({ "value": value })));
    assert_eq!(s, 204, "{b}");
    node.stop();
    offline::get(&node.data_dir(), path).expect("offline read").expect("value stored under its path")
}

/// A flipped byte in a stored value makes the read fail with an integrity error, not wrong data
/// and not "not found".
#[test]
fn flipped_byte_in_rocksdb_is_an_integrity_error() {
    let mut node = Node::raft();
    let (key, token) = node.init();
    node.unseal(&key);
    let stored = write_and_stop(&mut node, &token, "tamper/flip", "the-secret-value");
    assert!(!String::from_utf8_lossy(&stored).contains("the-secret-value"), "plaintext reached storage");
    let mut flipped = stored.clone();
    let last = flipped.len() - 1;
    flipped[last / 2] ^= 0x01;
    offline::put(&node.data_dir(), "tamper/flip", &flipped).expect("offline write");

    node.start();
    node.unseal(&key);
    let (s, b) = node.call("GET", "sys/raw/tamper/flip", Some(&token), None);
    assert_eq!(s, 500, "{b}");
    let msg = b["errors"][0].as_str().unwrap_or_default();
    assert!(msg.contains("integrity check failed") && msg.contains("tamper/flip"), "{msg}");
}

/// A valid ciphertext copied to another path does not decrypt there: the path is bound in as
/// associated data.
#[test]
fn value_copied_to_another_path_is_an_integrity_error() {
    let mut node = Node::raft();
    let (key, token) = node.init();
    node.unseal(&key);
    let stored = write_and_stop(&mut node, &token, "tamper/original", "moved-secret");
    offline::put(&node.data_dir(), "tamper/copy", &stored).expect("offline write");

    node.start();
    node.unseal(&key);
    let (s, _) = node.call("GET", "sys/raw/tamper/original", Some(&token), None);
    assert_eq!(s, 200, "the original still reads");
    let (s, b) = node.call("GET", "sys/raw/tamper/copy", Some(&token), None);
    assert_eq!(s, 500, "{b}");
    assert!(b["errors"][0].as_str().unwrap_or_default().contains("integrity check failed"), "{b}");
}

/// After `sys/rotate`, key-status shows term 2, old values still read, and new values are stored
/// under term 2 (the first four bytes of the stored value, big-endian).
#[test]
fn rotation_writes_new_values_under_the_new_term() {
    let mut node = Node::raft();
    let (key, token) = node.init();
    node.unseal(&key);
    let (s, _) = node.call("PUT", "sys/raw/rot/old", Some(&token), Some(json!({"value": "before"})));
    assert_eq!(s, 204);
    let (s, _) = node.call("PUT", "sys/rotate", Some(&token), None);
    assert_eq!(s, 204);
    let (s, b) = node.call("GET", "sys/key-status", Some(&token), None);
    assert_eq!(s, 200);
    assert_eq!(b["data"]["term"], json!(2), "{b}");
    let stored_new = write_and_stop(&mut node, &token, "rot/new", "after");
    let stored_old = offline::get(&node.data_dir(), "rot/old").expect("read").expect("present");
    assert_eq!(u32::from_be_bytes([stored_old[0], stored_old[1], stored_old[2], stored_old[3]]), 1);
    assert_eq!(u32::from_be_bytes([stored_new[0], stored_new[1], stored_new[2], stored_new[3]]), 2);

    node.start();
    node.unseal(&key);
    let (s, b) = node.call("GET", "sys/raw/rot/old", Some(&token), None);
    assert_eq!((s, b["data"]["value"].clone()), (200, json!("before")));
    let (_, b) = node.call("GET", "sys/key-status", Some(&token), None);
    assert_eq!(b["data"]["term"], json!(2), "rotation survives restart: {b}");
}
