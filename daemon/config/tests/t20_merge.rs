//! Several `-config` paths, and directories, merge as OpenBao merges them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use coffer_config::{load, ConfigError, LogLevel, Storage};

fn write(dir: &Path, name: &str, src: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, src).expect("write");
    path
}

const LISTENER: &str = "listener \"tcp\" {\n  address = \"127.0.0.1:0\"\n  tls_disable = true\n}\n";

/// Two files: listeners and seals are appended in order, later strings win, lease TTLs take
/// the largest, booleans are true if any file says so.
#[test]
fn t20_two_files_merge() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = write(
        dir.path(),
        "a.hcl",
        &format!(
            "storage \"inmem\" {{}}\n{LISTENER}log_level = \"debug\"\ncluster_name = \"one\"\napi_addr = \"https://a:8200\"\n\
             default_lease_ttl = \"2h\"\nmax_lease_ttl = \"100h\"\nraw_storage_endpoint = true\nseal \"shamir\" {{}}\n"
        ),
    );
    let b = write(
        dir.path(),
        "b.json",
        r#"{"listener": {"tcp": {"address": "127.0.0.1:1", "tls_disable": true}}, "log_level": "error",
            "default_lease_ttl": "1h", "max_lease_ttl": "200h", "raw_storage_endpoint": false,
            "seal": {"pkcs11": {"disabled": "true", "lib": "/x.so"}}}"#,
    );
    let c = load(&[a, b]).expect("valid");
    assert_eq!(c.storage, Storage::Inmem);
    let addrs: Vec<_> = c.listeners.iter().map(|l| l.address.as_str()).collect();
    assert_eq!(addrs, ["127.0.0.1:0", "127.0.0.1:1"]);
    assert_eq!(c.log_level, Some(LogLevel::Error), "later file wins");
    assert_eq!(c.cluster_name.as_deref(), Some("one"), "unset in the later file: kept");
    assert_eq!(c.api_addr.as_deref(), Some("https://a:8200"));
    assert_eq!(c.default_lease_ttl, Duration::from_secs(2 * 3600), "largest wins, as OpenBao");
    assert_eq!(c.max_lease_ttl, Duration::from_secs(200 * 3600));
    assert!(c.raw_storage_endpoint, "true in any file stays true, as OpenBao");
    let seals: Vec<_> = c.seals.iter().map(|s| (s.seal_type.as_str(), s.disabled)).collect();
    assert_eq!(seals, [("shamir", false), ("pkcs11", true)]);
}

/// A directory: its *.hcl and *.json files in lexical order; other files, editor temporary
/// files and subdirectories are ignored.
#[test]
fn t21_directory_loads_in_lexical_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "10-storage.hcl", "storage \"inmem\" {}\nlog_level = \"info\"\n");
    write(
        dir.path(),
        "20-listener.json",
        r#"{"listener": {"tcp": {"address": "127.0.0.1:2", "tls_disable": true}}, "log_level": "debug"}"#,
    );
    write(
        dir.path(),
        "30-more.hcl",
        "listener \"tcp\" {\n  address = \"127.0.0.1:3\"\n  tls_disable = true\n}\nlog_level = \"trace\"\n",
    );
    write(
        dir.path(),
        "03-first.hcl",
        "listener \"tcp\" {\n  address = \"127.0.0.1:1\"\n  tls_disable = true\n}\nlog_level = \"error\"\n",
    );
    // Ignored: wrong extension, editor files, a directory named like a config file.
    write(dir.path(), "README.md", "this is not = = config");
    write(dir.path(), "99-backup.hcl~", "garbage {");
    write(dir.path(), ".#99-lock.hcl", "garbage {");
    write(dir.path(), "#99-autosave.hcl#", "garbage {");
    std::fs::create_dir(dir.path().join("sub.hcl")).expect("mkdir");
    write(&dir.path().join("sub.hcl"), "x.hcl", "storage \"raft\" {}\n");

    let c = load(&[dir.path().to_path_buf()]).expect("valid");
    let addrs: Vec<_> = c.listeners.iter().map(|l| l.address.as_str()).collect();
    assert_eq!(addrs, ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"]);
    assert_eq!(c.log_level, Some(LogLevel::Trace), "the lexically last file wins");
}

/// A file given next to its own directory is read once, as OpenBao's checkSkipPaths does.
#[test]
fn t22_file_inside_given_directory_is_read_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "a.hcl", &format!("storage \"inmem\" {{}}\n{LISTENER}"));
    let c = load(&[dir.path().to_path_buf(), file]).expect("valid, storage not duplicated");
    assert_eq!(c.listeners.len(), 1);
}

/// Storage may be given in one file only; the message names both files.
#[test]
fn t23_storage_in_two_files_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = write(dir.path(), "a.hcl", "storage \"inmem\" {}\n");
    let b = write(dir.path(), "b.hcl", "\n\nstorage \"raft\" {\n  path = \"/d\"\n}\n");
    let err = load(&[a.clone(), b.clone()]).expect_err("two storages");
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "error loading configuration from {}: storage: only one \"storage\" block",
            b.display()
        )),
        "{msg}"
    );
    assert!(msg.contains(&a.display().to_string()), "{msg}");
    assert!(msg.ends_with("(line 3, column 1)"), "{msg}");
}

/// With no storage anywhere, the message is OpenBao's and names every path given.
#[test]
fn t24_missing_storage_names_all_paths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = write(dir.path(), "a.hcl", LISTENER);
    let b = write(dir.path(), "b.hcl", "log_level = \"info\"\n");
    let err = load(&[a.clone(), b.clone()]).expect_err("no storage");
    assert_eq!(
        err.to_string(),
        format!(
            "error loading configuration from {}, {}: storage: a storage backend must be specified, e.g. storage \"raft\" {{ path = \"/var/lib/coffer\" }}",
            a.display(),
            b.display()
        )
    );
    assert_eq!(err.key(), Some("storage"));
}

/// A path that does not exist, or no path at all, is an error naming the path.
#[test]
fn t25_unreadable_paths() {
    let missing = PathBuf::from("/nonexistent/coffer.hcl");
    let err = load(std::slice::from_ref(&missing)).expect_err("missing");
    assert!(matches!(err, ConfigError::Io { .. }));
    assert!(err.to_string().starts_with("error loading configuration from /nonexistent/coffer.hcl: "), "{err}");
    assert!(matches!(load(&[]), Err(ConfigError::NoConfig)));
}

/// An error in the second file names the second file, not the first.
#[test]
fn t26_errors_name_the_file_they_are_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = write(dir.path(), "a.hcl", &format!("storage \"inmem\" {{}}\n{LISTENER}"));
    let b = write(dir.path(), "b.hcl", "max_lease_ttl = \"forever\"\n");
    let err = load(&[a, b.clone()]).expect_err("bad duration");
    assert_eq!(
        err.to_string(),
        format!(
            "error loading configuration from {}: max_lease_ttl: invalid duration \"forever\" (line 1, column 1)",
            b.display()
        )
    );
}

/// Two seals across files: exactly one must be disabled (OpenBao's rule), and at most two.
#[test]
fn t27_seal_pairs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = write(dir.path(), "a.hcl", "storage \"inmem\" {}\nseal \"shamir\" {}\n");
    let b = write(dir.path(), "b.hcl", "seal \"pkcs11\" {}\n");
    let err = load(&[a.clone(), b.clone()]).expect_err("neither disabled").to_string();
    assert!(
        err.contains(&format!("{}, {}: seal: two seals provided but neither is disabled", a.display(), b.display())),
        "{err}"
    );
    let c = write(dir.path(), "c.hcl", "seal \"awskms\" {\n  disabled = true\n}\n");
    assert_eq!(load(&[a.clone(), c.clone()]).expect("one disabled").seals.len(), 2);
    let err = load(&[a, b, c.clone()]).expect_err("three seals").to_string();
    assert!(err.contains(&format!("{}: seal: at most two seal stanzas", c.display())), "{err}");
}

const DEV: &str = "storage \"inmem\" {}\nlistener \"tcp\" {\n  address = \"127.0.0.1:8200\"\n  tls_disable = true\n}\n";

/// `-dev -config=...`: files merge onto the dev configuration; a file's storage replaces the
/// dev storage (as OpenBao), files without storage are fine, and errors still name the file.
#[test]
fn t28_load_onto_a_base() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = write(dir.path(), "extra.hcl", &format!("{LISTENER}log_level = \"debug\"\n"));
    let c = coffer_config::load_onto(DEV, "dev-mode", std::slice::from_ref(&extra)).expect("valid");
    assert_eq!(c.storage, Storage::Inmem);
    assert_eq!(c.listeners.len(), 2);
    assert_eq!(c.log_level, Some(LogLevel::Debug));

    let raft = write(dir.path(), "raft.hcl", "storage \"raft\" {\n  path = \"/d\"\n}\n");
    let c = coffer_config::load_onto(DEV, "dev-mode", &[raft]).expect("valid");
    assert!(matches!(c.storage, Storage::Raft { .. }));

    assert_eq!(coffer_config::load_onto(DEV, "dev-mode", &[]).expect("valid").listeners.len(), 1);

    let bad = write(dir.path(), "bad.hcl", "max_lease_ttl = \"x\"\n");
    let err = coffer_config::load_onto(DEV, "dev-mode", std::slice::from_ref(&bad)).expect_err("bad");
    assert!(
        err.to_string().starts_with(&format!("error loading configuration from {}: max_lease_ttl:", bad.display())),
        "{err}"
    );
}
