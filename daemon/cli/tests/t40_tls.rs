//! TLS: CA files and directories (flags and environment), self-signed certificates, and
//! `-tls-skip-verify`, against `bao server` TLS listeners.

mod common;

use std::path::PathBuf;

use common::{coffer, BaoServer};

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name).display().to_string()
}

/// A server certificate issued by a CA is trusted through `-ca-cert`, `BAO_CACERT`,
/// `VAULT_CACERT` and `-ca-path`; without them it is rejected in Go's words; and
/// `-tls-skip-verify`/`VAULT_SKIP_VERIFY` connect regardless.
#[test]
fn ca_issued_certificate() {
    if !common::bao_available("ca_issued_certificate") {
        return;
    }
    let server = BaoServer::inmem_tls("leaf.pem", "leaf.key");
    let env = server.env(None);
    let ca = fixture("ca.pem");
    // Sealed and uninitialized: a successful status exits 2.
    let o = coffer(&env, &["status", &format!("-ca-cert={ca}")]);
    assert_eq!(o.code, 2, "{o:?}");
    assert!(o.out.contains("\nInitialized        false\n"));
    for var in ["BAO_CACERT", "VAULT_CACERT"] {
        let o = coffer(&server.env(None).with_var(var, &ca), &["status"]);
        assert_eq!(o.code, 2, "{var}: {o:?}");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(&ca, dir.path().join("ca.pem")).expect("copy");
    let o = coffer(&env, &["status", &format!("-ca-path={}", dir.path().display())]);
    assert_eq!(o.code, 2, "{o:?}");

    let o = coffer(&env, &["status", &format!("-ca-cert={}", fixture("self-signed.pem"))]);
    assert_eq!(o.code, 1);
    assert_eq!(
        o.err,
        format!(
            "Error checking seal status: Get \"{}/v1/sys/seal-status\": tls: failed to verify certificate: x509: certificate signed by unknown authority\n",
            server.addr
        )
    );
    let o = coffer(&env, &["status", "-tls-skip-verify"]);
    assert_eq!(o.code, 2, "{o:?}");
    let o = coffer(&server.env(None).with_var("VAULT_SKIP_VERIFY", "true"), &["status"]);
    assert_eq!(o.code, 2, "{o:?}");
    let o = coffer(&server.env(None).with_var("BAO_SKIP_VERIFY", "true"), &["status", "-tls-skip-verify=false"]);
    assert_eq!(o.code, 1, "an explicit -tls-skip-verify=false wins over the environment");
}

/// A self-signed certificate marked as a CA (what `openssl req -x509` makes) is trusted
/// when given as the CA file, as the Go client trusts it; the name must still match.
#[test]
fn self_signed_certificate_as_its_own_ca() {
    if !common::bao_available("self_signed_certificate_as_its_own_ca") {
        return;
    }
    let server = BaoServer::inmem_tls("self-signed.pem", "self-signed.key");
    let cert = fixture("self-signed.pem");
    let o = coffer(&server.env(None), &["status", &format!("-ca-cert={cert}")]);
    assert_eq!(o.code, 2, "{o:?}");
    let localhost = server.addr.replace("127.0.0.1", "localhost");
    let o = coffer(&server.env(None), &["status", &format!("-address={localhost}"), &format!("-ca-cert={cert}")]);
    assert_eq!(o.code, 2, "{o:?}");
    let o = coffer(&server.env(None), &["status"]);
    assert_eq!(o.code, 1);
    assert!(o.err.contains("x509: certificate signed by unknown authority"), "{}", o.err);
}
