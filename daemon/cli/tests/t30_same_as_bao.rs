//! The property that matters most: for the same server, arguments and environment, coffer
//! prints exactly what the real `bao` CLI prints (stdout, stderr, exit code). Request IDs
//! and other per-request values are masked before comparing.

mod common;

use common::{bao, coffer, BaoServer, Outcome};

/// Masks what differs between two requests: request IDs (UUIDs) and timestamps.
fn mask(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        // A UUID: 8-4-4-4-12 hex digits.
        let is_uuid = i + 36 <= chars.len()
            && chars[i..i + 36].iter().enumerate().all(|(j, c)| match j {
                8 | 13 | 18 | 23 => *c == '-',
                _ => c.is_ascii_hexdigit(),
            });
        if is_uuid {
            out.push_str("<uuid>");
            i += 36;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

fn same(what: &str, b: &Outcome, c: &Outcome) {
    assert_eq!(c.code, b.code, "exit code of {what}\nbao: {b:?}\ncoffer: {c:?}");
    assert_eq!(mask(&c.out), mask(&b.out), "stdout of {what}");
    assert_eq!(mask(&c.err), mask(&b.err), "stderr of {what}");
}

/// Every client command's output and exit code equal bao's, in table and JSON format,
/// for successes, misses and server errors.
#[test]
fn output_is_byte_identical_to_bao() {
    if !common::bao_available("output_is_byte_identical_to_bao") {
        return;
    }
    let server = BaoServer::dev();
    let home = server.home();
    let home = home.to_string_lossy();
    let cases: &[(&[&str], &str, &[&str])] = &[
        // (args, token, extra env pairs as "K=V")
        (&["status"], "root", &[]),
        (&["status", "-format=json"], "root", &[]),
        (&["read", "sys/mounts/secret"], "root", &[]),
        (&["read", "-format=json", "sys/mounts/secret"], "root", &[]),
        (&["read", "sys/mounts/secret", "-format=json"], "root", &[]),
        (&["read", "-format=json", "sys/mounts/secret", "-format=table"], "root", &[]),
        (&["read", "sys/health"], "root", &[]),
        (&["read", "-format=json", "sys/auth/token/tune"], "root", &[]),
        (&["read", "sys/mounts/secret/tune"], "root", &[]),
        (&["read", "-field=type", "sys/mounts/secret"], "root", &[]),
        (&["read", "-field=nope", "sys/mounts/secret"], "root", &[]),
        (&["read", "sys/nonexistent"], "root", &[]),
        (&["read", "secret/data/missing"], "root", &[]),
        (&["read", "secret/data/x"], "bad-token", &[]),
        (&["read", "-format=json", "secret/data/x"], "bad-token", &[]),
        (&["list", "sys/policies/acl"], "root", &[]),
        (&["list", "-format=json", "sys/policies/acl"], "root", &[]),
        (&["list", "secret/metadata/none"], "root", &[]),
        (&["list", "-format=json", "secret/metadata/none"], "root", &[]),
        (&["list", "secret/metadata"], "bad-token", &[]),
        (&["write", "sys/policies/acl/p", "policy=path \"a/*\" { capabilities = [\"read\"] }"], "root", &[]),
        (&["read", "sys/policies/acl/p"], "root", &[]),
        (&["read", "-format=json", "sys/policies/acl/p"], "root", &[]),
        (&["delete", "sys/policies/acl/p"], "root", &[]),
        (&["delete", "-format=json", "sys/policies/acl/p"], "root", &[]),
        (&["write", "-force", "sys/bogus-path"], "root", &[]),
        (&["write", "secret/data/x", "a=b"], "bad-token", &[]),
        (&["delete", "secret/data/x"], "bad-token", &[]),
        (&["operator", "key-status"], "root", &[]),
        (&["operator", "key-status", "-format=json"], "bad-token", &[]),
        (&["operator", "init", "-status"], "root", &[]),
        (&["operator", "init", "-status", "-format=json"], "root", &[]),
        (&["operator", "init"], "root", &[]),
        (&["operator", "unseal", "-reset"], "root", &[]),
        (&["operator", "rotate"], "bad-token", &[]),
        (&["status"], "root", &["BAO_FORMAT=json"]),
        (&["status"], "root", &["VAULT_FORMAT=JSON"]),
        (&["read", "x", "-bogus"], "root", &[]),
        (&["read", "-format=bogus", "x"], "root", &[]),
        (&["status", "-address=127.0.0.1:8200"], "root", &[]),
    ];
    for (args, token, extra) in cases {
        let mut vars: Vec<(String, String)> = vec![
            ("BAO_ADDR".into(), server.addr.clone()),
            ("BAO_TOKEN".into(), token.to_string()),
            ("HOME".into(), home.to_string()),
        ];
        for kv in *extra {
            if let Some((k, v)) = kv.split_once('=') {
                vars.push((k.into(), v.into()));
            }
        }
        let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let b = bao(&pairs, b"", args);
        let mut env = coffer_cli::Env::empty().with_home(server.home());
        for (k, v) in &pairs {
            env = env.with_var(k, v);
        }
        let c = coffer(&env, args);
        same(&args.join(" "), &b, &c);
    }
}

/// kv v2 data written through `write -` reads back identically with both CLIs, including
/// the read of a deleted version (a 404 that still carries data).
#[test]
fn kv2_round_trip_matches_bao() {
    if !common::bao_available("kv2_round_trip_matches_bao") {
        return;
    }
    let server = BaoServer::dev();
    let vars = [("BAO_ADDR", server.addr.as_str()), ("BAO_TOKEN", "root")];
    let env = || coffer_cli::Env::empty().with_var("BAO_ADDR", &server.addr).with_var("BAO_TOKEN", "root");
    let body = r#"{"data":{"user":"alice","n":1,"tags":["a","b"],"html":"<&>"}}"#;
    let o = coffer(&env().with_stdin(body), &["write", "secret/data/app", "-"]);
    assert_eq!(o.code, 0, "{o:?}");
    for args in [
        &["read", "secret/data/app"][..],
        &["read", "-format=json", "secret/data/app"],
        &["read", "-field=data", "secret/data/app"],
        &["read", "-format=json", "-field=data", "secret/data/app"],
        &["read", "secret/data/app", "version=1"],
        &["list", "secret/metadata"],
        &["delete", "secret/data/app"],
        &["read", "secret/data/app"],
        &["read", "-format=json", "secret/data/app"],
    ] {
        let b = bao(&vars, b"", args);
        let c = coffer(&env(), args);
        // Creation and deletion times are the same data for both reads; only the
        // request IDs differ.
        same(&args.join(" "), &b, &c);
    }
}
